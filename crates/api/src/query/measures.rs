//! The measures the county watches (domain README section 9), per authority and district,
//! January by January: share of plans met in mainstream, placements out of the authority and
//! in independent special schools with their annual cost, new plans issued within 20 weeks,
//! and growth by primary need.

use std::collections::BTreeMap;

use async_graphql::{Context, Object, SimpleObject};
use chrono::{Datelike, Utc};
use placeledger_caseload::{Measures, PublishedMeasures, census_day};
use placeledger_domain::{AuthorityCode, GssCode, PrimaryNeed, ProvisionKind};
use rust_decimal::Decimal;

use placeledger_app::ReadModels;
use placeledger_app::access::may_read;

use crate::context::{services, viewer};
use crate::error::{AppError, Gql};

/// How many Januaries `countyMeasures` gives when not told.
const DEFAULT_YEARS: i32 = 10;

#[derive(Debug, Default)]
pub struct MeasuresQuery;

/// One area's measures for one January.
#[derive(Debug, Clone, SimpleObject)]
pub struct CountyMeasure {
    /// The January census year: stocks are counted on its census day, flows (new plans) are
    /// those of the calendar year before it, as SEN2 reports them.
    pub year: i32,
    pub authority: String,
    /// None: the whole authority.
    pub district: Option<String>,
    pub district_name: Option<String>,
    /// Where the figures come from: `recorded_children` (counted from the children on
    /// record), `published_tables` (DfE's published SEN2 tables: the authority records no
    /// children that January; none of what the tables do not hold is given), or `none`
    /// (nothing on record: every count is 0).
    pub source: String,
    /// Plans in force on the census day, and the change on the January before (%).
    pub plans: u64,
    pub plans_growth_percent: Option<Decimal>,
    /// The authority's plans in force that January as DfE published them (SEN2), where a
    /// published table is on record: beside `plans` when those are counted from children
    /// (the authority as a whole only).
    pub published_plans: Option<u64>,
    /// Placed in state-funded mainstream (including resourced provision and SEN units), and
    /// as a share of all plans (%). None: not published.
    pub in_mainstream: Option<u64>,
    pub mainstream_share_percent: Option<Decimal>,
    /// Placed in independent or non-maintained special schools (INMSS). None: not published.
    pub independent_special: Option<u64>,
    /// Placed at a setting of another authority (out of county, or a partner's). None: not
    /// in the published tables.
    pub out_of_authority: Option<u64>,
    /// What the out-of-authority placements cost a year, at the authority's costs in force on
    /// the census day, and how many of them are of a kind with no cost on record (not in
    /// the sum).
    pub out_of_authority_annual_cost: Option<Decimal>,
    pub out_of_authority_uncosted: Option<u64>,
    /// New plans issued in the calendar year before (transfers in are not new), those within
    /// 20 weeks of the request, and the share (%). None: not in the published tables.
    pub new_plans: Option<u64>,
    pub new_plans_within_20_weeks: Option<u64>,
    pub within_20_weeks_percent: Option<Decimal>,
    /// Plans by primary need, with their growth on the January before.
    pub by_need: Vec<NeedMeasure>,
}

#[derive(Debug, Clone, SimpleObject)]
pub struct NeedMeasure {
    /// SEN2 code.
    pub need: String,
    pub plans: u64,
    pub growth_percent: Option<Decimal>,
}

/// `part` of `whole` in percent, to one decimal place.
fn percent(part: u32, whole: u32) -> Option<Decimal> {
    (whole > 0)
        .then(|| (Decimal::from(part) * Decimal::from(100) / Decimal::from(whole)).round_dp(1))
}

/// The change from `before` to `now` in percent, to one decimal place.
fn growth(now: u32, before: Option<u32>) -> Option<Decimal> {
    let before = before.filter(|b| *b > 0)?;
    Some(
        ((Decimal::from(now) - Decimal::from(before)) * Decimal::from(100) / Decimal::from(before))
            .round_dp(1),
    )
}

/// One area's figures for one January, from recorded children or published tables (`None`:
/// not in the source).
#[derive(Debug, Clone, Default)]
struct Figures {
    source: &'static str,
    plans: u32,
    published_plans: Option<u32>,
    in_mainstream: Option<u32>,
    independent_special: Option<u32>,
    out_of_authority: Option<BTreeMap<ProvisionKind, u32>>,
    by_need: BTreeMap<PrimaryNeed, u32>,
    /// New plans, and those within 20 weeks.
    new_plans: Option<(u32, u32)>,
}

impl Figures {
    fn recorded(m: &Measures, source: &'static str) -> Figures {
        Figures {
            source,
            plans: m.plans,
            published_plans: None,
            in_mainstream: Some(m.in_mainstream),
            independent_special: Some(m.independent_special),
            out_of_authority: Some(m.out_of_authority.clone()),
            by_need: m.by_need.clone(),
            new_plans: Some((m.new_plans, m.new_plans_within_20_weeks)),
        }
    }

    fn published(m: PublishedMeasures) -> Figures {
        Figures {
            source: "published_tables",
            plans: m.plans,
            published_plans: Some(m.plans),
            in_mainstream: m.in_mainstream,
            independent_special: m.independent_special,
            out_of_authority: None,
            by_need: m.by_need,
            new_plans: None,
        }
    }
}

fn row(
    models: &ReadModels,
    year: i32,
    authority: &AuthorityCode,
    district: Option<(&GssCode, &str)>,
    m: &Figures,
    before: Option<&Figures>,
) -> CountyMeasure {
    let on = census_day(year);
    let out = m.out_of_authority.as_ref().map(|o| {
        let (mut cost, mut uncosted) = (Decimal::ZERO, 0);
        for (kind, n) in o {
            match models.costs.annual_cost(authority, *kind, on) {
                Some(c) => cost += c * Decimal::from(*n),
                None => uncosted += u64::from(*n),
            }
        }
        (u64::from(o.values().sum::<u32>()), cost, uncosted)
    });
    CountyMeasure {
        year,
        authority: authority.as_str().to_owned(),
        district: district.map(|(d, _)| d.as_str().to_owned()),
        district_name: district.map(|(_, n)| n.to_owned()),
        source: m.source.to_owned(),
        plans: u64::from(m.plans),
        plans_growth_percent: growth(m.plans, before.map(|b| b.plans)),
        published_plans: m.published_plans.map(u64::from),
        in_mainstream: m.in_mainstream.map(u64::from),
        mainstream_share_percent: m.in_mainstream.and_then(|n| percent(n, m.plans)),
        independent_special: m.independent_special.map(u64::from),
        out_of_authority: out.map(|o| o.0),
        out_of_authority_annual_cost: out.map(|o| o.1),
        out_of_authority_uncosted: out.map(|o| o.2),
        new_plans: m.new_plans.map(|n| u64::from(n.0)),
        new_plans_within_20_weeks: m.new_plans.map(|n| u64::from(n.1)),
        within_20_weeks_percent: m.new_plans.and_then(|(all, within)| percent(within, all)),
        by_need: m
            .by_need
            .iter()
            .map(|(need, n)| NeedMeasure {
                need: need.code().to_owned(),
                plans: u64::from(*n),
                growth_percent: growth(*n, before.and_then(|b| b.by_need.get(need).copied())),
            })
            .collect(),
    }
}

#[Object]
impl MeasuresQuery {
    /// The measures the county watches for one authority (its own data; admins: any), January
    /// by January: the authority as a whole and, with `byDistrict`, each of its districts
    /// (or only `district`). Years default to the last ten Januaries up to this one.
    async fn county_measures(
        &self,
        ctx: &Context<'_>,
        authority: String,
        district: Option<String>,
        #[graphql(default)] by_district: bool,
        from_year: Option<i32>,
        to_year: Option<i32>,
    ) -> Result<Vec<CountyMeasure>, Gql> {
        let v = viewer(ctx)?;
        let a =
            AuthorityCode::parse(&authority).map_err(|e| AppError::bad_input("authority", e))?;
        may_read(v, &a)?;
        let models = services(ctx)?.app.live.now();
        let names = models
            .mainstream
            .authorities()
            .get(&a)
            .map(|x| x.districts.clone())
            .ok_or_else(|| AppError::NotFound(format!("there is no authority {a}")))?;
        let only = district
            .as_deref()
            .map(|d| GssCode::parse(d).map_err(|e| AppError::bad_input("district", e)))
            .transpose()?;
        if let Some(d) = &only
            && !names.contains_key(d)
        {
            return Err(
                AppError::NotFound(format!("there is no district {d} in authority {a}")).into(),
            );
        }
        let this_year = Utc::now().date_naive().year();
        let to = to_year.unwrap_or(this_year);
        let from = from_year.unwrap_or(to - DEFAULT_YEARS + 1);
        if from > to || to - from >= 50 || !(1990..=2100).contains(&from) {
            return Err(AppError::bad_input(
                "fromYear",
                format!("{from} to {to} is not a span of 1-50 years from 1990 on"),
            )
            .into());
        }
        // Each January's measures per district of this authority (and the January before, for
        // growth).
        let per_year: BTreeMap<i32, BTreeMap<GssCode, Measures>> = (from - 1..=to)
            .map(|y| {
                let districts = models
                    .caseload
                    .measures(y)
                    .into_iter()
                    .filter(|((auth, _), _)| *auth == a)
                    .map(|((_, d), m)| (d, m))
                    .collect();
                (y, districts)
            })
            .collect();
        // The authority (or `only` district) as a whole: its recorded children where it
        // has any that January, else (the authority as a whole) its published tables.
        let total = |y: i32| -> Figures {
            let ds = per_year.get(&y);
            if ds.is_some_and(|ds| !ds.is_empty()) {
                let mut t = Measures::default();
                for (d, m) in ds.into_iter().flatten() {
                    if only.as_ref().is_none_or(|o| o == d) {
                        t.add(m);
                    }
                }
                let mut f = Figures::recorded(&t, "recorded_children");
                if only.is_none() {
                    f.published_plans = models.caseload.published_measures(&a, y).map(|p| p.plans);
                }
                return f;
            }
            match models.caseload.published_measures(&a, y) {
                Some(p) if only.is_none() => Figures::published(p),
                _ => Figures::recorded(&Measures::default(), "none"),
            }
        };
        let mut out = Vec::new();
        for year in from..=to {
            let now = total(year);
            let before = Some(total(year - 1)).filter(|b| b.source != "none");
            let area = only
                .as_ref()
                .map(|d| (d, names.get(d).map_or("", String::as_str)));
            out.push(row(&models, year, &a, area, &now, before.as_ref()));
            // Districts are counted from recorded children only: DfE publishes none.
            if by_district && only.is_none() && now.source == "recorded_children" {
                let empty = Measures::default();
                for (d, name) in &names {
                    let m = per_year.get(&year).and_then(|x| x.get(d)).unwrap_or(&empty);
                    let b = per_year
                        .get(&(year - 1))
                        .and_then(|x| x.get(d))
                        .map(|b| Figures::recorded(b, "recorded_children"));
                    let m = Figures::recorded(m, "recorded_children");
                    out.push(row(&models, year, &a, Some((d, name)), &m, b.as_ref()));
                }
            }
        }
        Ok(out)
    }
}

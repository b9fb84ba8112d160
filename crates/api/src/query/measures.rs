//! The measures the county watches (domain README section 9), per authority and district,
//! January by January: share of plans met in mainstream, placements out of the authority and
//! in independent special schools with their annual cost, new plans issued within 20 weeks,
//! and growth by primary need.

use std::collections::BTreeMap;

use async_graphql::{Context, Object, SimpleObject};
use chrono::{Datelike, Utc};
use placeledger_caseload::{Measures, census_day};
use placeledger_domain::{AuthorityCode, GssCode};
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
    /// Plans in force on the census day, and the change on the January before (%).
    pub plans: u64,
    pub plans_growth_percent: Option<Decimal>,
    /// Placed in state-funded mainstream (including resourced provision and SEN units), and
    /// as a share of all plans (%).
    pub in_mainstream: u64,
    pub mainstream_share_percent: Option<Decimal>,
    /// Placed in independent or non-maintained special schools (INMSS).
    pub independent_special: u64,
    /// Placed at a setting of another authority (out of county, or a partner's).
    pub out_of_authority: u64,
    /// What the out-of-authority placements cost a year, at the authority's costs in force on
    /// the census day, and how many of them are of a kind with no cost on record (not in
    /// the sum).
    pub out_of_authority_annual_cost: Decimal,
    pub out_of_authority_uncosted: u64,
    /// New plans issued in the calendar year before (transfers in are not new), those within
    /// 20 weeks of the request, and the share (%).
    pub new_plans: u64,
    pub new_plans_within_20_weeks: u64,
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

fn row(
    models: &ReadModels,
    year: i32,
    authority: &AuthorityCode,
    district: Option<(&GssCode, &str)>,
    m: &Measures,
    before: Option<&Measures>,
) -> CountyMeasure {
    let on = census_day(year);
    let out: u32 = m.out_of_authority.values().sum();
    let (mut cost, mut uncosted) = (Decimal::ZERO, 0);
    for (kind, n) in &m.out_of_authority {
        match models.costs.annual_cost(authority, *kind, on) {
            Some(c) => cost += c * Decimal::from(*n),
            None => uncosted += u64::from(*n),
        }
    }
    CountyMeasure {
        year,
        authority: authority.as_str().to_owned(),
        district: district.map(|(d, _)| d.as_str().to_owned()),
        district_name: district.map(|(_, n)| n.to_owned()),
        plans: u64::from(m.plans),
        plans_growth_percent: growth(m.plans, before.map(|b| b.plans)),
        in_mainstream: u64::from(m.in_mainstream),
        mainstream_share_percent: percent(m.in_mainstream, m.plans),
        independent_special: u64::from(m.independent_special),
        out_of_authority: u64::from(out),
        out_of_authority_annual_cost: cost,
        out_of_authority_uncosted: uncosted,
        new_plans: u64::from(m.new_plans),
        new_plans_within_20_weeks: u64::from(m.new_plans_within_20_weeks),
        within_20_weeks_percent: percent(m.new_plans_within_20_weeks, m.new_plans),
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
        let total = |y: i32| {
            per_year.get(&y).map(|ds| {
                let mut t = Measures::default();
                for (d, m) in ds {
                    if only.as_ref().is_none_or(|o| o == d) {
                        t.add(m);
                    }
                }
                t
            })
        };
        let mut out = Vec::new();
        for year in from..=to {
            let now = total(year).unwrap_or_default();
            let before = total(year - 1);
            let area = only
                .as_ref()
                .map(|d| (d, names.get(d).map_or("", String::as_str)));
            out.push(row(&models, year, &a, area, &now, before.as_ref()));
            if by_district && only.is_none() {
                let empty = Measures::default();
                for (d, name) in &names {
                    let m = per_year.get(&year).and_then(|x| x.get(d)).unwrap_or(&empty);
                    let b = per_year.get(&(year - 1)).and_then(|x| x.get(d));
                    out.push(row(&models, year, &a, Some((d, name)), m, b));
                }
            }
        }
        Ok(out)
    }
}

//! The query root: the planners' queries, the shared data partners may see, and the
//! county's measures. A resolver checks its arguments' shape and calls the application.

mod measures;
mod types;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Json, MergedObject, Object};
use chrono::Utc;
use placeledger_app::Role as AppRole;
use placeledger_app::access::may_read;
use placeledger_app::service::{
    ForecastQuery, MainstreamQuery, Narrowing, SettingsQuery, TrackScope, may_read_forecast,
    readable_scenario, scenario_error,
};
use placeledger_domain::{
    AuthorityCode, GssCode, Phase, PlanningAreaCode, PrimaryNeed, ScenarioId,
};
use placeledger_forecast::PlaceKind;

pub use measures::MeasuresQuery;
pub use types::*;

use crate::context::{authority_code, services, viewer};
use crate::error::{AppError, Gql};

/// The query root: the planners' queries, and the county's measures.
#[derive(Debug, Default, MergedObject)]
pub struct Query(PlanningQuery, MeasuresQuery);

#[derive(Debug, Default)]
pub struct PlanningQuery;

fn parse_opt<T>(
    field: &str,
    v: Option<&String>,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, AppError> {
    v.map(|s| parse(s).ok_or_else(|| AppError::bad_input(field, format!("{s:?} is not a {what}"))))
        .transpose()
}

/// The filter fields the forecast and the settings both take, parsed (the authority
/// already is: access to it is checked first).
/// The authority a forecast filter names (`filter.authority`), once the caller may read its
/// forecast (none named: admins only).
fn forecast_authority(
    v: &placeledger_app::Viewer,
    authority: Option<&str>,
) -> Result<Option<AuthorityCode>, AppError> {
    let only = authority
        .map(|s| authority_code("filter.authority", s))
        .transpose()?;
    may_read_forecast(v, only.as_ref())?;
    Ok(only)
}

/// The prices a request asks for, checked (`prices` is the argument's name in errors).
fn prices(input: Option<PricesInput>) -> Result<placeledger_forecast::Prices, AppError> {
    let Some(input) = input else {
        return Ok(placeledger_forecast::Prices::default());
    };
    let transport = input
        .transport
        .iter()
        .map(|t| {
            PlaceKind::parse(&t.kind)
                .map(|k| (k, t.per_child))
                .ok_or_else(|| {
                    AppError::bad_input(
                        "prices.transport.kind",
                        format!(
                            "{:?} is not a kind of place: {}",
                            t.kind,
                            PlaceKind::ALL.map(|k| k.code()).join(", ")
                        ),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    placeledger_forecast::Prices::new(input.inflation_percent, transport)
        .map_err(|e| AppError::bad_input("prices", e))
}

fn narrowing(
    authority: Option<AuthorityCode>,
    district: &Option<String>,
    phase: &Option<String>,
    need: &Option<String>,
) -> Result<Narrowing, AppError> {
    Ok(Narrowing {
        authority,
        district: district
            .as_deref()
            .map(|d| GssCode::parse(d).map_err(|e| AppError::bad_input("filter.district", e)))
            .transpose()?,
        phase: parse_opt(
            "filter.phase",
            phase.as_ref(),
            |s| Phase::parse(s).ok(),
            "phase",
        )?,
        need: parse_opt(
            "filter.need",
            need.as_ref(),
            |s| PrimaryNeed::parse(s).ok(),
            "primary need",
        )?,
    })
}

#[Object]
impl PlanningQuery {
    /// Who the token belongs to.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<ViewerInfo, Gql> {
        let v = viewer(ctx)?;
        Ok(ViewerInfo {
            role: v.role.into(),
            authority: v.authority.as_ref().map(|a| a.as_str().to_owned()),
        })
    }

    /// The authorities in the store, their districts and planning areas (public geography).
    async fn authorities(&self, ctx: &Context<'_>) -> Result<Vec<AuthorityInfo>, Gql> {
        viewer(ctx)?;
        let models = services(ctx)?.app.live.now();
        Ok(models
            .mainstream
            .authorities()
            .iter()
            .map(|(code, a)| AuthorityInfo {
                code: code.as_str().to_owned(),
                name: a.name.clone(),
                districts: a
                    .districts
                    .iter()
                    .map(|(d, name)| District {
                        code: d.as_str().to_owned(),
                        name: name.clone(),
                        planning_areas: models
                            .mainstream
                            .planning_areas()
                            .iter()
                            .filter(|(_, (district, _, _))| district == d)
                            .map(|(code, (_, phase, name))| PlanningArea {
                                code: code.as_str().to_owned(),
                                name: name.clone(),
                                phase: phase.code().to_owned(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect())
    }

    /// January plans per census year of one authority (its own data).
    #[graphql(complexity = "10 * child_complexity")]
    async fn caseload_history(
        &self,
        ctx: &Context<'_>,
        authority: String,
    ) -> Result<Vec<CaseloadYear>, Gql> {
        let v = viewer(ctx)?;
        let a = authority_code("authority", &authority)?;
        may_read(v, &a)?;
        let live = &services(ctx)?.app.live;
        let inputs = live.inputs(&live.now());
        let history = inputs
            .send
            .get(&a)
            .ok_or_else(|| AppError::NotFound(format!("there is no SEN history for {a}")))?;
        Ok(history
            .totals()
            .into_iter()
            .map(|(year, plans)| CaseloadYear {
                year,
                plans: i64::from(plans),
            })
            .collect())
    }

    /// The place sufficiency forecast: rows district x year x phase x kind (x need for
    /// specialist places), with P10 / P50 / P90, capacity, surplus or deficit and cost.
    /// Costs are at each authority's price base unless `prices` sets inflation a year and
    /// home-to-school transport per child (then the forecast is made for the request).
    #[graphql(complexity = "20 * child_complexity")]
    async fn forecast(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] filter: ForecastFilter,
        #[graphql(name = "prices")] prices_input: Option<PricesInput>,
    ) -> Result<ForecastResult, Gql> {
        let v = viewer(ctx)?;
        let only = forecast_authority(v, filter.authority.as_deref())?;
        let narrowing = narrowing(only, &filter.district, &filter.phase, &filter.need)?;
        let kind = parse_opt(
            "filter.kind",
            filter.kind.as_ref(),
            PlaceKind::parse,
            "kind of place",
        )?;
        let scenario = filter
            .scenario
            .as_deref()
            .map(|s| ScenarioId::parse(s).map_err(|e| AppError::bad_input("filter.scenario", e)))
            .transpose()?;
        let query = ForecastQuery {
            narrowing,
            kind,
            years: filter.years,
            scenario,
            prices: prices(prices_input)?,
        };
        let answer = services(ctx)?.app.forecast(v, &query).await?;
        Ok(ForecastResult::of(&answer))
    }

    /// How one cell of the sufficiency forecast was made: the plans and rates it came from,
    /// the residents, the children keeping today's placement and the new ones, the steps
    /// that placed its demand, the cost rate and the placement types behind it, the sources
    /// and the warnings. Of the baseline, or of `scenario`.
    #[graphql(complexity = 50)]
    async fn explain_forecast_cell(
        &self,
        ctx: &Context<'_>,
        cell: ForecastCellInput,
        scenario: Option<String>,
    ) -> Result<ForecastExplanation, Gql> {
        let v = viewer(ctx)?;
        let authority = authority_code("cell.authority", &cell.authority)?;
        may_read_forecast(v, Some(&authority))?;
        let key = placeledger_forecast::CellKey {
            authority,
            district: GssCode::parse(&cell.district)
                .map_err(|e| AppError::bad_input("cell.district", e))?,
            year: cell.year,
            phase: Phase::parse(&cell.phase).map_err(|e| AppError::bad_input("cell.phase", e))?,
            kind: PlaceKind::parse(&cell.kind).ok_or_else(|| {
                AppError::bad_input(
                    "cell.kind",
                    format!("{:?} is not a kind of place", cell.kind),
                )
            })?,
        };
        let scenario = scenario
            .as_deref()
            .map(|s| ScenarioId::parse(s).map_err(|e| AppError::bad_input("scenario", e)))
            .transpose()?;
        let (e, models) = services(ctx)?
            .app
            .explain_forecast_cell(v, &key, scenario.as_ref())
            .await?;
        Ok(ForecastExplanation::of(&e, &models))
    }

    /// The mainstream pupil forecast per planning area, as the DfE SCAP return counts it:
    /// Reception-Y6, Y7-Y11 and sixth forms apart, the Reception and Year 7 intakes, net
    /// capacity on the same base, surplus and headroom, and a `warnings` list where a figure
    /// is doubtful (a quarter of places spare, a deficit, capacity missing, a roll that moved
    /// over 10% in a year, cohort survival outside 0.9-1.1).
    #[graphql(complexity = "10 * child_complexity")]
    async fn mainstream_forecast(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] filter: MainstreamFilter,
    ) -> Result<MainstreamForecast, Gql> {
        let v = viewer(ctx)?;
        let only = forecast_authority(v, filter.authority.as_deref())?;
        let narrowing = narrowing(only, &filter.district, &filter.phase, &None)?;
        let planning_area = filter
            .planning_area
            .as_deref()
            .map(|p| {
                PlanningAreaCode::parse(p)
                    .map_err(|e| AppError::bad_input("filter.planningArea", e))
            })
            .transpose()?;
        let query = MainstreamQuery {
            narrowing,
            planning_area,
            years: filter.years,
        };
        let answer = services(ctx)?.app.mainstream_forecast(v, &query).await?;
        Ok(MainstreamForecast::of(&answer))
    }

    /// The High Needs Block view: forecast spend on placements per financial year (April to
    /// March) against the High Needs Block allocation, the in-year gap and the cumulative
    /// DSG balance, each figure with where it comes from and warnings where it is doubtful.
    /// One authority (admins: every authority when none is named); of the baseline, or of
    /// `scenario`, at `prices`. `allocationGrowthPercent` (-20 to 50, default 0: in cash) is
    /// how much an allocation carried forward grows a year.
    #[graphql(complexity = 50)]
    async fn high_needs(
        &self,
        ctx: &Context<'_>,
        authority: Option<String>,
        scenario: Option<String>,
        #[graphql(name = "prices")] prices_input: Option<PricesInput>,
        #[graphql(default)] allocation_growth_percent: f64,
    ) -> Result<Vec<HighNeedsView>, Gql> {
        let v = viewer(ctx)?;
        let authority = authority
            .as_deref()
            .map(|a| authority_code("authority", a))
            .transpose()?;
        let scenario = scenario
            .as_deref()
            .map(|s| ScenarioId::parse(s).map_err(|e| AppError::bad_input("scenario", e)))
            .transpose()?;
        let (views, models) = services(ctx)?
            .app
            .high_needs(
                v,
                authority.as_ref(),
                scenario.as_ref(),
                &prices(prices_input)?,
                allocation_growth_percent / 100.0,
            )
            .await?;
        Ok(views
            .iter()
            .map(|h| HighNeedsView::of(h, &models))
            .collect())
    }

    /// Settings with their places, occupancy and vacancies as at a date, filtered, in URN
    /// order, a page at a time (Relay cursor connection; at most 100 a page). Own authority
    /// (admins: any); geography and places are read from one snapshot, so a page of 100 is
    /// no more work than one.
    #[graphql(complexity = "(first.unwrap_or(50).clamp(1, 200) as usize) * child_complexity")]
    async fn settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] filter: SettingsFilter,
        after: Option<String>,
        first: Option<i32>,
    ) -> Result<Connection<String, SettingInfo>, Gql> {
        use placeledger_domain::{SettingKind, Urn};
        let v = viewer(ctx)?;
        let authority = filter
            .authority
            .as_deref()
            .map(|a| authority_code("filter.authority", a))
            .transpose()?;
        let narrowing = narrowing(authority, &filter.district, &filter.phase, &filter.need)?;
        let kind = parse_opt(
            "filter.kind",
            filter.kind.as_ref(),
            |s| SettingKind::parse(s).ok(),
            "setting kind",
        )?;
        let first = usize::try_from(first.unwrap_or(50))
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| AppError::bad_input("first", "must be 1 to 100"))?;
        let after = after
            .as_deref()
            .map(|c| {
                Urn::parse(c)
                    .map_err(|_| AppError::bad_input("after", "not a cursor from this connection"))
            })
            .transpose()?;
        let on = filter.on.unwrap_or_else(|| Utc::now().date_naive());
        let query = SettingsQuery {
            narrowing,
            kind,
            on,
            include_closed: filter.include_closed,
        };
        let page = services(ctx)?.app.settings(v, &query, after, first)?;
        let mut connection = Connection::new(after.is_some(), page.has_next);
        for urn in page.urns {
            let Some(s) = page.models.capacity.setting(urn) else {
                continue;
            };
            connection
                .edges
                .push(Edge::new(urn.to_string(), SettingInfo::of(urn, s, on)));
        }
        Ok(connection)
    }

    /// A child's events, oldest first (the child's current home authority only; admins:
    /// any).
    #[graphql(complexity = "10 * child_complexity")]
    async fn child_history(
        &self,
        ctx: &Context<'_>,
        child: String,
    ) -> Result<Vec<HistoryEvent>, Gql> {
        let v = viewer(ctx)?;
        let id = placeledger_domain::ChildId::parse(&child)
            .map_err(|e| AppError::bad_input("child", e))?;
        let entries = services(ctx)?.app.child_history(v, &id).await?;
        Ok(HistoryEvent::all(entries)?)
    }

    /// A setting's events, oldest first (the setting's authority only; admins: any).
    #[graphql(complexity = "10 * child_complexity")]
    async fn setting_history(
        &self,
        ctx: &Context<'_>,
        urn: String,
    ) -> Result<Vec<HistoryEvent>, Gql> {
        let v = viewer(ctx)?;
        let u = placeledger_domain::Urn::parse(&urn).map_err(|e| AppError::bad_input("urn", e))?;
        let entries = services(ctx)?.app.setting_history(v, u).await?;
        Ok(HistoryEvent::all(entries)?)
    }

    /// An authority's current placements by any of district, kind, need, NCY and location
    /// class, with imports and exports. Its own readers see every count; a partner its
    /// agreement shares placements with sees them with small numbers withheld (audited).
    #[graphql(complexity = "(1 + 4 * group_by.len()) * child_complexity")]
    async fn placement_summary(
        &self,
        ctx: &Context<'_>,
        authority: String,
        group_by: Vec<PlacementDimension>,
    ) -> Result<PlacementSummary, Gql> {
        let v = viewer(ctx)?;
        let a = authority_code("authority", &authority)?;
        let by = grouping(&group_by);
        let s = services(ctx)?;
        Ok(s.app
            .placement_summary(v, &a, by, "placementSummary")
            .await?
            .into())
    }

    /// The scenarios of an authority (own authority; admins: all, or one).
    async fn scenarios(
        &self,
        ctx: &Context<'_>,
        authority: Option<String>,
    ) -> Result<Vec<ScenarioInfo>, Gql> {
        let v = viewer(ctx)?;
        let only = authority
            .as_deref()
            .map(|a| authority_code("authority", a))
            .transpose()?;
        let only = match (only, v.role) {
            (Some(a), _) => {
                may_read(v, &a)?;
                Some(a)
            }
            (None, AppRole::Admin) => None,
            (None, _) => {
                let own = v.authority.clone().ok_or(AppError::Unauthenticated)?;
                may_read(v, &own)?;
                Some(own)
            }
        };
        let models = services(ctx)?.app.live.now();
        Ok(models
            .scenarios
            .all()
            .iter()
            .filter(|(_, s)| only.as_ref().is_none_or(|a| a == &s.authority))
            .map(|(id, s)| ScenarioInfo {
                id: id.to_string(),
                name: s.name.clone(),
                author: s.author.clone(),
                authority: s.authority.as_str().to_owned(),
                base: s.base.as_ref().map(ToString::to_string),
                created_on: s.created_on,
                levers: s
                    .levers
                    .iter()
                    .map(|l| Json(serde_json::to_value(l).unwrap_or_default()))
                    .collect(),
            })
            .collect())
    }

    /// Runs `scenario` and `against` (none: the baseline) and gives every cell that differs
    /// and the difference in cost per year and over the horizon.
    #[graphql(complexity = "20 * child_complexity")]
    async fn compare_scenarios(
        &self,
        ctx: &Context<'_>,
        scenario: String,
        against: Option<String>,
    ) -> Result<ScenarioComparison, Gql> {
        let v = viewer(ctx)?;
        let s = services(ctx)?;
        let models = s.app.live.now();
        let mut ids = Vec::new();
        for (field, name) in [("scenario", Some(&scenario)), ("against", against.as_ref())] {
            let Some(name) = name else {
                ids.push(None);
                continue;
            };
            let id = ScenarioId::parse(name).map_err(|e| AppError::bad_input(field, e))?;
            readable_scenario(v, &models, Some(&id))?;
            ids.push(Some(id));
        }
        let other = s
            .app
            .live
            .forecast(ids[0].as_ref())
            .await
            .map_err(scenario_error)?;
        let base = s
            .app
            .live
            .forecast(ids[1].as_ref())
            .await
            .map_err(scenario_error)?;
        let c = placeledger_forecast::compare(&base, &other);
        let capital = match &ids[0] {
            Some(id) => models.capital_cost(id, ids[1].as_ref()),
            None => placeledger_forecast::CapitalCost::default(),
        };
        Ok(ScenarioComparison {
            scenario,
            against,
            position: models.position,
            changes: c
                .changes
                .iter()
                .map(|x| CellDifference {
                    district: x.district.as_str().to_owned(),
                    year: x.year,
                    phase: x.phase.code().to_owned(),
                    kind: x.kind.code().to_owned(),
                    sector: x.kind.sector().to_owned(),
                    need: x.need.map(|n| n.code().to_owned()),
                    demand: x.demand,
                    capacity: x.capacity,
                    surplus: x.surplus,
                    out_of_county: x.out_of_county,
                    annual_cost: x.annual_cost,
                    deficit_before: x.deficit_before,
                    deficit_after: x.deficit_after,
                })
                .collect(),
            cost_by_year: c
                .cost_by_year
                .iter()
                .map(|(year, cost)| YearCost {
                    year: *year,
                    annual_cost: *cost,
                })
                .collect(),
            total_cost: c.total_cost,
            capital_cost: capital.total,
            capital_items: capital
                .items
                .iter()
                .map(|i| CapitalItem {
                    lever: i.lever.clone(),
                    kind: i.kind.code().to_owned(),
                    places: i.places,
                    per_place: i.rate.as_ref().map(|r| r.per_place),
                    cost: i.cost,
                    price_year: i.rate.as_ref().map(|r| r.price_year.clone()),
                    source: i.rate.as_ref().map(|r| r.source.clone()),
                })
                .collect(),
        })
    }

    /// The forecast's back-test: forecasts made from past origins (the last January each
    /// saw) against the Januaries that followed, per horizon, beside the last-value,
    /// compound-growth and linear-trend baselines: MAPE, bias and how often the actual fell
    /// inside P10-P90. `scope: AUTHORITY` (the default) gives `authority`'s own record over
    /// every origin (own authority; admins: any). `scope: ALL` pools every authority in the
    /// store (no `authority`; `origins` picks the origins, all by default), with the median
    /// APE and the spread the ranges are sized on: any reader but a partner.
    #[graphql(complexity = "10 * child_complexity")]
    async fn backtest(
        &self,
        ctx: &Context<'_>,
        authority: Option<String>,
        #[graphql(default)] scope: BacktestScope,
        #[graphql(default = 5, validator(minimum = 1, maximum = 10))] horizon: i32,
        origins: Option<Vec<i32>>,
    ) -> Result<Vec<BacktestLine>, Gql> {
        let v = viewer(ctx)?;
        let scope = match (scope, authority) {
            (BacktestScope::Authority, Some(a)) if origins.is_none() => {
                TrackScope::Authority(authority_code("authority", &a)?)
            }
            (BacktestScope::Authority, Some(_)) => {
                return Err(AppError::bad_input(
                    "origins",
                    "origins pick what scope: ALL pools; one authority's record covers every origin",
                )
                .into());
            }
            (BacktestScope::Authority, None) => {
                return Err(AppError::bad_input(
                    "authority",
                    "give the authority, or scope: ALL for every authority pooled",
                )
                .into());
            }
            (BacktestScope::All, None) => TrackScope::All { origins },
            (BacktestScope::All, Some(_)) => {
                return Err(AppError::bad_input(
                    "authority",
                    "scope: ALL pools every authority: leave authority out",
                )
                .into());
            }
        };
        let s = services(ctx)?;
        let lines = s
            .app
            .backtest(v, &scope, u8::try_from(horizon).unwrap_or(5))
            .await?;
        Ok(lines.into_iter().map(BacktestLine::from).collect())
    }

    /// Every forecast behind `authority`'s track record: from each past origin (the last
    /// January it saw), each January up to `horizon` years ahead, by the model and the three
    /// baselines, beside the actual and the model's P10-P90 (own authority; admins: any).
    #[graphql(complexity = "10 * child_complexity")]
    async fn backtest_forecasts(
        &self,
        ctx: &Context<'_>,
        authority: String,
        #[graphql(default = 5, validator(minimum = 1, maximum = 10))] horizon: i32,
    ) -> Result<Vec<BacktestForecast>, Gql> {
        let v = viewer(ctx)?;
        let a = authority_code("authority", &authority)?;
        let s = services(ctx)?;
        let rows = s
            .app
            .backtest_forecasts(v, &a, u8::try_from(horizon).unwrap_or(5))
            .await?;
        Ok(rows.into_iter().map(BacktestForecast::from).collect())
    }

    /// What `authority` shares with the caller's authority under their data-sharing
    /// agreement: its sufficiency forecast by district, phase, kind and year (medians), small
    /// numbers withheld. Partner tokens only see authorities whose agreement names them;
    /// every read is audited.
    #[graphql(complexity = "20 * child_complexity")]
    async fn shared_place_data(
        &self,
        ctx: &Context<'_>,
        authority: String,
    ) -> Result<SharedPlaceData, Gql> {
        let v = viewer(ctx)?;
        let a = authority_code("authority", &authority)?;
        let s = services(ctx)?;
        Ok(s.app
            .shared_place_data(v, &a, "sharedPlaceData")
            .await?
            .into())
    }
}

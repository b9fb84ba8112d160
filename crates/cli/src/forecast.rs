//! `placeledger forecast run|backtest`: the sufficiency table a planner pastes into a report,
//! and the forecast's track record beside the naive baselines.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, bail};
use placeledger_app::ReadModels;
use placeledger_app::live::ScenarioRunError;
use placeledger_domain::ScenarioId;
use placeledger_domain::{AuthorityCode, GssCode, Phase};
use placeledger_forecast::Comparison;
use placeledger_forecast::backtest::{Backtest, Method};
use placeledger_forecast::{Flag, Forecast, Inputs, Options, PlaceKind, Row};
use placeledger_store::EventStore;

use crate::projections::read_models;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table: rows district x kind x phase, columns years.
    Table,
    /// One line per cell, every figure (for spreadsheets).
    Csv,
    /// The whole forecast, as the API serves it.
    Json,
}

/// The read models a forecast is made from, and the inputs they give.
pub struct Loaded {
    pub models: ReadModels,
    pub inputs: Inputs,
}

/// Brings the projections up to date (a progress bar each) and builds the forecast inputs.
pub async fn load_inputs(store: &Arc<dyn EventStore>) -> anyhow::Result<Loaded> {
    let models = read_models(store).await?;
    let inputs = models.inputs();
    Ok(Loaded { models, inputs })
}

/// The forecast of `scenario` (`None`: the baseline): its levers applied, every other
/// authority's cells the baseline's (`baseline` when given, made with the same options).
fn forecast_of(
    loaded: &Loaded,
    scenario: Option<&str>,
    options: &Options,
    baseline: Option<&Forecast>,
) -> anyhow::Result<Forecast> {
    let id = scenario
        .map(|name| ScenarioId::parse(name).with_context(|| format!("--scenario {name:?}")))
        .transpose()?;
    match loaded
        .models
        .forecast_on(loaded.inputs.clone(), id.as_ref(), options, baseline)
    {
        Err(ScenarioRunError::NotFound(_)) => bail!(
            "there is no scenario {:?}; the scenarios are: {}",
            scenario.unwrap_or_default(),
            loaded
                .models
                .scenarios
                .all()
                .keys()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => Ok(other?),
    }
}

fn authority_filter(
    inputs: &Inputs,
    authority: Option<&str>,
) -> anyhow::Result<Option<AuthorityCode>> {
    let Some(a) = authority else { return Ok(None) };
    let code = AuthorityCode::parse(a).with_context(|| format!("--authority {a:?}"))?;
    if !inputs.authorities.contains_key(&code) {
        bail!(
            "there is no authority {a:?} in the store; the authorities are: {}",
            inputs
                .authorities
                .keys()
                .map(|c| c.as_str().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(Some(code))
}

/// `placeledger forecast run`.
pub async fn run(
    store: Arc<dyn EventStore>,
    options: Options,
    scenario: Option<&str>,
    authority: Option<&str>,
    format: Format,
) -> anyhow::Result<()> {
    let loaded = load_inputs(&store).await?;
    let only = authority_filter(&loaded.inputs, authority)?;
    let mut forecast = forecast_of(&loaded, scenario, &options, None)?;
    if let Some(a) = &only {
        forecast.rows.retain(|r| &r.authority == a);
        forecast.mainstream.retain(|r| &r.authority == a);
        forecast
            .mainstream_totals
            .retain(|t| t.authority.as_ref() == Some(a));
        forecast.totals.retain(|t| t.authority.as_ref() == Some(a));
        forecast.caseload.retain(|k, _| k == a);
        forecast.flags.retain(|k, _| k == a);
        forecast.rates.retain(|k, _| k == a);
    }
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &forecast)?;
            writeln!(out)?;
        }
        Format::Csv => write_csv(&mut out, &forecast, &loaded.inputs)?,
        Format::Table => write_table(&mut out, &forecast, &loaded.inputs)?,
    }
    Ok(())
}

fn authority_name(inputs: &Inputs, a: &AuthorityCode) -> String {
    inputs
        .authorities
        .get(a)
        .map_or_else(|| a.as_str().to_owned(), |x| x.name.clone())
}

fn district_name(inputs: &Inputs, a: &AuthorityCode, d: &GssCode) -> String {
    inputs
        .authorities
        .get(a)
        .and_then(|x| x.districts.get(d))
        .cloned()
        .unwrap_or_else(|| d.as_str().to_owned())
}

fn r(v: Option<placeledger_forecast::Range>, f: fn(&placeledger_forecast::Range) -> i64) -> String {
    v.map(|x| f(&x).to_string()).unwrap_or_default()
}

fn write_csv(out: &mut impl Write, f: &Forecast, inputs: &Inputs) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "authority",
        "district",
        "district_name",
        "year",
        "phase",
        "kind",
        "need",
        "demand_p10",
        "demand_p50",
        "demand_p90",
        "capacity",
        "surplus_p10",
        "surplus_p50",
        "surplus_p90",
        "surplus_pct",
        "met_in_authority_p50",
        "met_by_partner_p50",
        "out_of_county_p10",
        "out_of_county_p50",
        "out_of_county_p90",
        "annual_cost",
        "sector",
        "own_authority_p50",
        "partner_authority_p50",
        "elsewhere_p50",
        "warnings",
    ])?;
    for row in &f.rows {
        let [own, partner, elsewhere] = row.by_location().map(|(_, n)| n.to_string());
        w.write_record([
            row.authority.as_str().to_owned(),
            row.district.as_str().to_owned(),
            district_name(inputs, &row.authority, &row.district),
            row.year.to_string(),
            row.phase.code().to_owned(),
            row.kind.code().to_owned(),
            row.need.map(|n| n.code().to_owned()).unwrap_or_default(),
            row.demand.p10.to_string(),
            row.demand.p50.to_string(),
            row.demand.p90.to_string(),
            row.capacity.map(|c| c.to_string()).unwrap_or_default(),
            r(row.surplus, |x| x.p10),
            r(row.surplus, |x| x.p50),
            r(row.surplus, |x| x.p90),
            row.surplus_pct.map(|p| p.to_string()).unwrap_or_default(),
            r(row.met_in_authority, |x| x.p50),
            r(row.met_by_partner, |x| x.p50),
            row.out_of_county.p10.to_string(),
            row.out_of_county.p50.to_string(),
            row.out_of_county.p90.to_string(),
            row.annual_cost.map(|c| c.to_string()).unwrap_or_default(),
            row.kind.sector().to_owned(),
            own,
            partner,
            elsewhere,
            row.warnings()
                .iter()
                .map(|w| w.code)
                .collect::<Vec<_>>()
                .join(";"),
        ])?;
    }
    // Each authority's whole: its plans in force (P10-P90 of the total, not a sum of the
    // rows' ranges), where they are placed and what they cost (sums of the rows' medians;
    // the cost of the rows with a cost on record, `cost_partial` where children are in rows
    // without one).
    for (authority, years) in &f.caseload {
        for (year, plans) in years {
            let mut warnings: Vec<&str> = f
                .authority_warnings(authority)
                .iter()
                .map(|w| w.code)
                .collect();
            let totals: Vec<&placeledger_forecast::Total> = f
                .totals
                .iter()
                .filter(|t| t.authority.as_ref() == Some(authority) && t.year == *year)
                .collect();
            let sum = |by: fn(&placeledger_forecast::Total) -> i64| -> String {
                totals.iter().map(|t| by(t)).sum::<i64>().to_string()
            };
            let rows = f
                .rows
                .iter()
                .filter(|r| &r.authority == authority && r.year == *year && r.need.is_none());
            let cost: rust_decimal::Decimal = rows.clone().filter_map(|r| r.annual_cost).sum();
            if rows
                .clone()
                .any(|r| r.annual_cost.is_none() && r.demand.p50 > 0)
            {
                warnings.push("cost_partial");
            }
            let cost = cost.to_string();
            w.write_record([
                authority.as_str().to_owned(),
                String::new(),
                format!("{} (whole authority)", authority_name(inputs, authority)),
                year.to_string(),
                "all".to_owned(),
                "all_plans".to_owned(),
                String::new(),
                plans.p10.to_string(),
                plans.p50.to_string(),
                plans.p90.to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                sum(|t| t.met_by_partner),
                String::new(),
                sum(|t| t.out_of_county),
                String::new(),
                cost,
                "all".to_owned(),
                sum(|t| t.by_location()[0].1),
                sum(|t| t.by_location()[1].1),
                sum(|t| t.by_location()[2].1),
                warnings.join(";"),
            ])?;
        }
    }
    for m in &f.mainstream {
        w.write_record([
            m.authority.as_str().to_owned(),
            m.district.as_str().to_owned(),
            district_name(inputs, &m.authority, &m.district),
            m.year.to_string(),
            m.phase.code().to_owned(),
            "mainstream_pupils".to_owned(),
            String::new(),
            m.pupils.p10.to_string(),
            m.pupils.p50.to_string(),
            m.pupils.p90.to_string(),
            m.net_capacity.map(|c| c.to_string()).unwrap_or_default(),
            r(m.surplus, |x| x.p10),
            r(m.surplus, |x| x.p50),
            r(m.surplus, |x| x.p90),
            m.surplus_pct.map(|p| p.to_string()).unwrap_or_default(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            "mainstream".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            m.warnings
                .iter()
                .map(|w| w.code)
                .collect::<Vec<_>>()
                .join(";"),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn write_table(out: &mut impl Write, f: &Forecast, inputs: &Inputs) -> anyhow::Result<()> {
    writeln!(
        out,
        "Place sufficiency forecast from January {} ({}; {} runs, seed {}). Figures are \
         medians; for resourced provision, special and AP places the second line is capacity \
         minus demand, and a deficit is marked !.",
        f.origin,
        f.scenario
            .as_deref()
            .map_or("baseline".to_owned(), |s| format!("scenario {s}")),
        f.runs,
        f.seed
    )?;
    let years = &f.years;
    let mut by_row: BTreeMap<(AuthorityCode, GssCode, PlaceKind, usize), BTreeMap<i32, &Row>> =
        BTreeMap::new();
    for row in f.rows.iter().filter(|r| r.need.is_none()) {
        let phase = placeledger_forecast::PHASES
            .iter()
            .position(|p| *p == row.phase)
            .unwrap_or(0);
        by_row
            .entry((row.authority.clone(), row.district.clone(), row.kind, phase))
            .or_default()
            .insert(row.year, row);
    }
    let mut header = format!(
        "{:<22} {:<22} {:<10} {:<8}",
        "district", "kind", "phase", ""
    );
    for y in years {
        header.push_str(&format!(" {:>8}", format!("Jan {y}")));
    }
    let mut last_authority = None;
    for ((authority, district, kind, phase), cells) in &by_row {
        if cells
            .values()
            .all(|r| r.demand.p50 == 0 && r.capacity.unwrap_or(0) == 0)
        {
            continue;
        }
        if last_authority.as_ref() != Some(authority) {
            let name = inputs
                .authorities
                .get(authority)
                .map(|a| a.name.clone())
                .unwrap_or_default();
            writeln!(out, "\n{name} ({authority})")?;
            let flags = f.flags.get(authority);
            let thin: Vec<&str> = flags
                .into_iter()
                .flatten()
                .filter(|x| **x != Flag::PublishedStart)
                .map(|x| x.code())
                .collect();
            if !thin.is_empty() {
                writeln!(out, "  inputs missing or thin: {}", thin.join(", "))?;
            }
            if flags.is_some_and(|x| x.contains(&Flag::PublishedStart)) {
                writeln!(
                    out,
                    "  starts from DfE's published January {} ({} plans): the children on record end earlier and were aged on and scaled to it (published_start)",
                    f.origin,
                    inputs
                        .send
                        .get(authority)
                        .and_then(|h| h.totals().get(&f.origin).copied())
                        .map_or_else(|| "?".into(), |n| n.to_string()),
                )?;
            }
            if let Some(base) = inputs.price_base.get(authority) {
                writeln!(
                    out,
                    "  costs at {base}-{:02} prices (the latest on record), plus any --inflation and --transport",
                    (base + 1) % 100
                )?;
            }
            if let Some(r) = f.rates.get(authority)
                && let Some(g) = r.england_growth
            {
                writeln!(
                    out,
                    "  total follows England's growth: {:+.1}% a year; its own flows share it out by district, age and need",
                    (g.exp() - 1.0) * 100.0
                )?;
            }
            if let Some(r) = f.rates.get(authority)
                && let Some(e) = r.past_error_per_year
            {
                writeln!(
                    out,
                    "  ranges sized on this model's forecasts from {} earlier Januaries: they missed by {:.1}% per year ahead (root mean square)",
                    r.past_forecasts,
                    e * 100.0
                )?;
            }
            writeln!(out, "{header}")?;
            last_authority = Some(authority.clone());
        }
        let phase: Phase = placeledger_forecast::PHASES[*phase];
        let mut line = format!(
            "{:<22} {:<22} {:<10} {:<8}",
            district_name(inputs, authority, district),
            kind.code(),
            phase.code(),
            "demand"
        );
        for y in years {
            let v = cells.get(y).map(|r| r.demand.p50).unwrap_or(0);
            line.push_str(&format!(" {v:>8}"));
        }
        writeln!(out, "{line}")?;
        if PlaceKind::COMMISSIONED.contains(kind) {
            let mut line = format!("{:<22} {:<22} {:<10} {:<8}", "", "", "", "surplus");
            for y in years {
                let cell = cells
                    .get(y)
                    .and_then(|r| r.surplus.map(|s| (s.p50, r.is_deficit())));
                let text = match cell {
                    Some((v, true)) => format!("{v}!"),
                    Some((v, false)) => format!("{v:+}"),
                    None => String::new(),
                };
                line.push_str(&format!(" {text:>8}"));
            }
            writeln!(out, "{line}")?;
        }
    }
    write_mainstream_table(out, f, inputs)?;
    writeln!(out, "\nJanuary plans (P10 / P50 / P90)")?;
    for (authority, years) in &f.caseload {
        let mut line = format!("{:<8}", authority.as_str());
        for (y, range) in years {
            line.push_str(&format!(
                "  {y}: {} / {} / {}",
                range.p10, range.p50, range.p90
            ));
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The mainstream part of the table: each planning area's pupils, intake and surplus a
/// January at a time, with its warnings below it.
fn write_mainstream_table(
    out: &mut impl Write,
    f: &Forecast,
    inputs: &Inputs,
) -> anyhow::Result<()> {
    if !f.mainstream.is_empty() {
        writeln!(
            out,
            "\nMainstream pupils by planning area as the SCAP return counts them (Reception-Y6, \
             Y7-Y11, and sixth forms apart; medians), the intake year group (Reception or Y7), \
             and net capacity minus pupils: ! a deficit, ~ under {}% headroom, + a surplus over \
             {}%; warnings below each area",
            placeledger_forecast::mainstream::HEADROOM_PCT,
            placeledger_forecast::mainstream::LARGE_SURPLUS_PCT
        )?;
        let mut by_area: BTreeMap<
            (AuthorityCode, String, Phase),
            Vec<&placeledger_forecast::MainstreamRow>,
        > = BTreeMap::new();
        for m in &f.mainstream {
            by_area
                .entry((
                    m.authority.clone(),
                    inputs
                        .mainstream
                        .get(&m.planning_area)
                        .map_or_else(|| m.planning_area.to_string(), |a| a.name.clone()),
                    m.phase,
                ))
                .or_default()
                .push(m);
        }
        let years: Vec<i32> = f
            .mainstream
            .iter()
            .map(|m| m.year)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut header = format!("{:<32} {:<10} {:<8}", "planning area", "years", "");
        for y in &years {
            header.push_str(&format!(" {:>8}", format!("Jan {y}")));
        }
        writeln!(out, "{header}")?;
        for ((_, area, phase), cells) in &by_area {
            let band = match phase {
                Phase::Primary => "R-Y6",
                Phase::Secondary => "Y7-Y11",
                Phase::Post16 => "sixth form",
                _ => "",
            };
            let mut pupils = format!("{area:<32} {band:<10} {:<8}", "pupils");
            let mut intake = format!("{:<32} {:<10} {:<8}", "", "", "intake");
            let mut surplus = format!("{:<32} {:<10} {:<8}", "", "", "surplus");
            for y in &years {
                match cells.iter().find(|m| m.year == *y) {
                    Some(m) => {
                        pupils.push_str(&format!(" {:>8}", m.pupils.p50));
                        intake.push_str(&format!(
                            " {:>8}",
                            m.intake.map(|i| i.p50.to_string()).unwrap_or_default()
                        ));
                        let mark = match m.headroom {
                            Some(placeledger_forecast::Headroom::Deficit) => "!",
                            Some(placeledger_forecast::Headroom::BelowHeadroom) => "~",
                            Some(placeledger_forecast::Headroom::LargeSurplus) => "+",
                            _ => "",
                        };
                        let text = m
                            .surplus
                            .map(|s| format!("{}{mark}", s.p50))
                            .unwrap_or_default();
                        surplus.push_str(&format!(" {text:>8}"));
                    }
                    None => {
                        for line in [&mut pupils, &mut intake, &mut surplus] {
                            line.push_str(&format!(" {:>8}", ""));
                        }
                    }
                }
            }
            writeln!(out, "{pupils}")?;
            if cells.iter().any(|m| m.intake.is_some()) {
                writeln!(out, "{intake}")?;
            }
            writeln!(out, "{surplus}")?;
            // Each warning once, with the years it holds in.
            let mut warnings: BTreeMap<&str, (Vec<i32>, &str)> = BTreeMap::new();
            for m in cells {
                for w in &m.warnings {
                    let e = warnings.entry(w.code).or_insert((Vec::new(), &w.message));
                    e.0.push(m.year);
                }
            }
            for (code, (years, message)) in warnings {
                let (first, last) = (years[0], years[years.len() - 1]);
                let when = if first == last {
                    String::new()
                } else {
                    format!(" (Jan {first}-{last})")
                };
                writeln!(
                    out,
                    "{:<32}   warning {code}{when}: Jan {first}, {message}",
                    ""
                )?;
            }
        }
    }
    Ok(())
}

/// What `forecast backtest` shows: one origin year by year, or the track record pooled over
/// every authority (`all`), over some origins only (`origins`, empty: all).
pub struct Scope {
    pub origin: Option<i32>,
    pub all: bool,
    pub origins: Vec<i32>,
}

/// `placeledger forecast backtest`.
pub async fn backtest(
    store: Arc<dyn EventStore>,
    scope: Scope,
    horizon: u8,
    options: Options,
    format: Format,
) -> anyhow::Result<()> {
    let inputs = load_inputs(&store).await?.inputs;
    let result = placeledger_forecast::backtest(&inputs, horizon, &options);
    if result.origins.is_empty() {
        bail!(
            "no origin has enough history to back-test: each needs {} Januaries up to it and one after",
            placeledger_forecast::backtest::MIN_JANUARIES
        );
    }
    let possible = || {
        result
            .origins
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    for o in scope.origin.iter().chain(&scope.origins) {
        if !result.origins.contains(o) {
            bail!(
                "origin {o} cannot be back-tested; the origins with enough history are {}",
                possible()
            );
        }
    }
    let (origin, all) = (scope.origin, scope.all);
    let origins = (!scope.origins.is_empty()).then_some(scope.origins.as_slice());
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &result)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "authority",
                "origin",
                "horizon",
                "year",
                "method",
                "forecast",
                "actual",
                "error_pct",
                "p10",
                "p90",
                "inside_p10_p90",
            ])?;
            for row in &result.rows {
                w.write_record([
                    row.authority.as_str().to_owned(),
                    row.origin.to_string(),
                    row.horizon.to_string(),
                    row.year.to_string(),
                    row.method.code().to_owned(),
                    format!("{:.0}", row.forecast),
                    row.actual.to_string(),
                    format!("{:.2}", row.error_pct),
                    row.p10.map(|v| format!("{v:.0}")).unwrap_or_default(),
                    row.p90.map(|v| format!("{v:.0}")).unwrap_or_default(),
                    row.inside.map(|b| b.to_string()).unwrap_or_default(),
                ])?;
            }
            w.flush()?;
        }
        Format::Table if all => write_pooled(&mut out, &result, origins)?,
        Format::Table => write_backtest(&mut out, &result, origin)?,
    }
    Ok(())
}

/// `forecast backtest --all`: each method's errors per horizon, pooled over every authority
/// and origin, side by side.
fn write_pooled(out: &mut impl Write, b: &Backtest, origins: Option<&[i32]>) -> anyhow::Result<()> {
    let pooled = placeledger_forecast::pooled(b, origins);
    let authorities = pooled.iter().map(|p| p.authorities).max().unwrap_or(0);
    writeln!(
        out,
        "Track record pooled over {authorities} authorities and origins {} (the last January each \
         forecast saw): absolute % error (mean and median), bias (negative: too low), how \
         often the actual fell inside the model's P10-P90, and the spread of its misses (log \
         P10-P90 half-width in standard normal units; the ranges are sized on it)",
        origins
            .unwrap_or(&b.origins)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(
        out,
        "{:>3} {:<16} {:>9} {:>7} {:>10} {:>7} {:>9} {:>7}",
        "h", "method", "forecasts", "MAPE", "median APE", "bias", "coverage", "spread"
    )?;
    for p in &pooled {
        writeln!(
            out,
            "{:>3} {:<16} {:>9} {:>6.1}% {:>9.1}% {:>+6.1}% {:>9} {:>7}",
            p.horizon,
            p.method.code(),
            p.forecasts,
            p.mape,
            p.median_ape,
            p.bias,
            p.coverage
                .map_or_else(|| "-".to_owned(), |c| format!("{:.0}%", c * 100.0)),
            p.spread
                .map_or_else(|| "-".to_owned(), |s| format!("{s:.3}"))
        )?;
    }
    Ok(())
}

fn write_backtest(out: &mut impl Write, b: &Backtest, origin: Option<i32>) -> anyhow::Result<()> {
    if let Some(o) = origin {
        writeln!(
            out,
            "Origin {o}: forecast from January {o} and everything known by then (nothing dated 1 January {} or later), against the January caseloads that followed",
            o + 1
        )?;
        writeln!(
            out,
            "{:<8} {:>3} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10}",
            "LA", "h", "Jan", "actual", "model", "err %", "last", "growth", "in P10-P90"
        )?;
        let rows = b.rows.iter().filter(|r| r.origin == o);
        for ((authority, h), [model, last, growth]) in
            by_method(rows, |r| (r.authority.clone(), r.horizon, r.method))
        {
            writeln!(
                out,
                "{:<8} {:>3} {:>6} {:>8} {:>8.0} {:>+8.1} {:>8.0} {:>8.0} {:>10}",
                authority.as_str(),
                h,
                model.year,
                model.actual,
                model.forecast,
                model.error_pct,
                last.forecast,
                growth.forecast,
                if model.inside == Some(true) {
                    "yes"
                } else {
                    "no"
                }
            )?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Over every origin with enough history ({}): mean absolute % error (MAPE), bias, and how often the actual fell inside P10-P90",
        b.origins
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(
        out,
        "{:<8} {:>3} {:>7} {:>11} {:>10} {:>12} {:>11} {:>9}",
        "LA", "h", "origins", "model MAPE", "last MAPE", "growth MAPE", "model bias", "coverage"
    )?;
    for ((authority, h), [model, last, growth]) in by_method(b.summary.iter(), |s| {
        (s.authority.clone(), s.horizon, s.method)
    }) {
        writeln!(
            out,
            "{:<8} {:>3} {:>7} {:>10.1}% {:>9.1}% {:>11.1}% {:>+10.1}% {:>8.0}%",
            authority.as_str(),
            h,
            model.origins,
            model.mape,
            last.mape,
            growth.mape,
            model.bias,
            model.coverage.unwrap_or(0.0) * 100.0
        )?;
    }
    Ok(())
}

/// `placeledger forecast compare`: what `scenario` changes against `against` (the baseline
/// if absent), cell by cell, and in cost over the horizon.
pub async fn compare(
    store: Arc<dyn EventStore>,
    options: Options,
    scenario: &str,
    against: Option<&str>,
    format: Format,
) -> anyhow::Result<()> {
    let loaded = load_inputs(&store).await?;
    let baseline = forecast_of(&loaded, None, &options, None)?;
    let base = match against {
        Some(_) => forecast_of(&loaded, against, &options, Some(&baseline))?,
        None => baseline.clone(),
    };
    let other = forecast_of(&loaded, Some(scenario), &options, Some(&baseline))?;
    let diff = placeledger_forecast::compare(&base, &other);
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &diff)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "authority",
                "district",
                "year",
                "phase",
                "kind",
                "need",
                "demand",
                "capacity",
                "surplus",
                "out_of_county",
                "annual_cost",
                "deficit_before",
                "deficit_after",
            ])?;
            for c in &diff.changes {
                w.write_record([
                    c.authority.as_str().to_owned(),
                    c.district.as_str().to_owned(),
                    c.year.to_string(),
                    c.phase.code().to_owned(),
                    c.kind.code().to_owned(),
                    c.need.map(|n| n.code().to_owned()).unwrap_or_default(),
                    c.demand.to_string(),
                    c.capacity.to_string(),
                    c.surplus.to_string(),
                    c.out_of_county.to_string(),
                    c.annual_cost.map(|x| x.to_string()).unwrap_or_default(),
                    c.deficit_before.to_string(),
                    c.deficit_after.to_string(),
                ])?;
            }
            w.flush()?;
        }
        Format::Table => {
            write_comparison(&mut out, &diff, &loaded.inputs)?;
            // Parsed above by forecast_of: a name that is no scenario id has been refused.
            let id = ScenarioId::parse(scenario)?;
            let against = against.map(ScenarioId::parse).transpose()?;
            let capital = loaded.models.capital_cost(&id, against.as_ref());
            writeln!(
                out,
                "capital cost of the places it adds: GBP {}",
                capital.total.round_dp(0)
            )?;
            for item in &capital.items {
                match (&item.rate, item.cost) {
                    (Some(rate), Some(cost)) => writeln!(
                        out,
                        "  {}: {} {} places x GBP {} ({} prices; {}) = GBP {}",
                        item.lever,
                        item.places,
                        item.kind,
                        rate.per_place,
                        rate.price_year,
                        rate.source,
                        cost.round_dp(0)
                    )?,
                    _ => writeln!(
                        out,
                        "  {}: {} {} places, no capital cost per place on record",
                        item.lever, item.places, item.kind
                    )?,
                }
            }
        }
    }
    Ok(())
}

fn write_comparison(out: &mut impl Write, c: &Comparison, inputs: &Inputs) -> anyhow::Result<()> {
    let name = |s: &Option<String>| s.clone().unwrap_or_else(|| "the baseline".to_owned());
    writeln!(
        out,
        "Scenario {} against {}: {} cell(s) change (medians; other minus base)",
        name(&c.other),
        name(&c.base),
        c.changes.len()
    )?;
    writeln!(
        out,
        "{:<22} {:>6} {:<10} {:<22} {:<5} {:>7} {:>8} {:>8} {:>8}  deficit",
        "district", "Jan", "phase", "kind", "need", "demand", "capacity", "surplus", "out"
    )?;
    for ch in &c.changes {
        let turn = match (ch.deficit_before, ch.deficit_after) {
            (true, false) => "deficit -> surplus",
            (false, true) => "surplus -> deficit",
            (true, true) => "still a deficit",
            (false, false) => "",
        };
        writeln!(
            out,
            "{:<22} {:>6} {:<10} {:<22} {:<5} {:>+7} {:>+8} {:>+8} {:>+8}  {}",
            district_name(inputs, &ch.authority, &ch.district),
            ch.year,
            ch.phase.code(),
            ch.kind.code(),
            ch.need.map(|n| n.code()).unwrap_or("all"),
            ch.demand,
            ch.capacity,
            ch.surplus,
            ch.out_of_county,
            turn
        )?;
    }
    writeln!(
        out,
        "\nAnnual cost, change by January (where costs are recorded):"
    )?;
    for (year, cost) in &c.cost_by_year {
        writeln!(out, "  {year}: {cost:+}")?;
    }
    writeln!(out, "Over the horizon: {:+}", c.total_cost)?;
    Ok(())
}

/// Back-test lines grouped by authority and horizon, as (model, last value, compound growth);
/// a group missing one of the three is left out.
fn by_method<'a, T>(
    items: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> (AuthorityCode, u8, Method),
) -> BTreeMap<(AuthorityCode, u8), [&'a T; 3]>
where
    T: 'a,
{
    let mut groups: BTreeMap<(AuthorityCode, u8), BTreeMap<Method, &T>> = BTreeMap::new();
    for item in items {
        let (authority, h, method) = key(item);
        groups
            .entry((authority, h))
            .or_default()
            .insert(method, item);
    }
    groups
        .into_iter()
        .filter_map(|(k, m)| {
            Some((
                k,
                [
                    *m.get(&Method::Model)?,
                    *m.get(&Method::LastValue)?,
                    *m.get(&Method::CompoundGrowth)?,
                ],
            ))
        })
        .collect()
}

/// The cell `forecast explain` is asked about, as typed.
pub struct Cell<'a> {
    pub authority: &'a str,
    pub district: &'a str,
    pub year: i32,
    pub phase: &'a str,
    pub kind: &'a str,
}

/// `placeledger forecast explain`.
pub async fn explain(
    store: Arc<dyn EventStore>,
    options: Options,
    cell: Cell<'_>,
    scenario: Option<&str>,
    format: Format,
) -> anyhow::Result<()> {
    let loaded = load_inputs(&store).await?;
    let authority = authority_filter(&loaded.inputs, Some(cell.authority))?
        .context("--authority is required")?;
    let key = placeledger_forecast::CellKey {
        authority,
        district: GssCode::parse(cell.district)
            .with_context(|| format!("--district {:?}", cell.district))?,
        year: cell.year,
        phase: Phase::parse(cell.phase).with_context(|| format!("--phase {:?}", cell.phase))?,
        kind: PlaceKind::parse(cell.kind).with_context(|| {
            format!(
                "--kind {:?}: the kinds are {}",
                cell.kind,
                PlaceKind::ALL.map(|k| k.code()).join(", ")
            )
        })?,
    };
    let forecast = forecast_of(&loaded, scenario, &options, None)?;
    let id = scenario.map(ScenarioId::parse).transpose()?;
    let (inputs, options) = loaded.models.scenario(id.as_ref(), &options)?;
    let Some(e) = placeledger_forecast::explain(&forecast, &inputs, &options, &key) else {
        bail!(
            "the forecast has no {} {} cell for {} in {} in January {} (it runs January {}-{})",
            cell.phase,
            cell.kind,
            cell.authority,
            cell.district,
            cell.year,
            forecast.years.first().copied().unwrap_or_default(),
            forecast.years.last().copied().unwrap_or_default(),
        );
    };
    let mut out = std::io::stdout().lock();
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &e)?;
        writeln!(out)?;
        return Ok(());
    }
    let r = &e.row;
    writeln!(
        out,
        "{} {} places in {} ({}), January {}: demand {} (P10 {}, P90 {}){}",
        cell.phase,
        cell.kind,
        district_name(&inputs, &r.authority, &r.district),
        r.district,
        r.year,
        r.demand.p50,
        r.demand.p10,
        r.demand.p90,
        r.capacity
            .map(|c| format!(", {c} places"))
            .unwrap_or_default()
    )?;
    writeln!(
        out,
        "started from January {}: {} plans in the authority; {} forecast for January {}",
        e.origin,
        e.plans_at_origin
            .map_or_else(|| "?".into(), |n| n.to_string()),
        e.plans_that_year
            .map_or_else(|| "?".into(), |p| p.p50.to_string()),
        r.year
    )?;
    if let Some(rates) = &e.rates {
        writeln!(
            out,
            "method {}: {} new plans a year per 1,000 residents aged 0-25, {} ceasing a year per plan, growth {:+.1}% a year{} (rates from Januaries {:?})",
            rates.method,
            rates
                .incidence_per_1000
                .map_or_else(|| "?".into(), |x| format!("{x:.2}")),
            rates
                .cessation
                .map_or_else(|| "?".into(), |x| format!("{x:.3}")),
            (rates.growth.exp() - 1.0) * 100.0,
            rates
                .england_growth
                .map(|g| format!(", following England's {:+.1}%", (g.exp() - 1.0) * 100.0))
                .unwrap_or_default(),
            rates.from_januaries
        )?;
    }
    if let Some(n) = e.residents {
        writeln!(out, "residents of the phase's ages in the district: {n:.0}")?;
    }
    if let (Some(a), Some(p), Some(o), Some(n)) = (
        e.keeping_in_authority,
        e.keeping_with_partner,
        e.keeping_outside,
        e.new_or_transferring,
    ) {
        writeln!(
            out,
            "keeping today's placement: {a:.0} in the authority, {p:.0} with a partner, {o:.0} outside; new plans and phase transfers: {n:.0}"
        )?;
    }
    for step in &e.allocation {
        writeln!(out, "  placed {}: {}", step.step, step.children)?;
    }
    if let Some(c) = e.cost_per_place {
        writeln!(
            out,
            "cost per place GBP {}{}; annual cost GBP {}",
            c.round_dp(2),
            e.overflow_cost_per_place
                .map(|o| format!(" (out of county: GBP {})", o.round_dp(2)))
                .unwrap_or_default(),
            r.annual_cost.map_or_else(|| "?".into(), |c| c.to_string())
        )?;
    }
    for t in &e.cost_types {
        writeln!(
            out,
            "  {} at GBP {} a year, {} children today",
            t.provision.code(),
            t.annual_cost.round_dp(2),
            t.children
        )?;
    }
    for s in &e.sources {
        writeln!(out, "source: {s}")?;
    }
    for w in &e.warnings {
        writeln!(out, "warning {}: {}", w.code, w.message)?;
    }
    Ok(())
}

/// `placeledger forecast high-needs`: forecast spend on placements per financial year against
/// the High Needs Block allocation, and the DSG balance, for one authority or every one.
/// What `forecast high-needs` is asked for.
pub struct HighNeedsAsk<'a> {
    pub authority: Option<&'a str>,
    pub scenario: Option<&'a str>,
    /// A fraction a year.
    pub allocation_growth: f64,
}

pub async fn high_needs(
    store: Arc<dyn EventStore>,
    options: Options,
    ask: HighNeedsAsk<'_>,
    format: Format,
) -> anyhow::Result<()> {
    let HighNeedsAsk {
        authority,
        scenario,
        allocation_growth,
    } = ask;
    use placeledger_forecast::high_needs::{Basis, HighNeeds};
    let loaded = load_inputs(&store).await?;
    let only = authority_filter(&loaded.inputs, authority)?;
    let forecast = forecast_of(&loaded, scenario, &options, None)?;
    let authorities: Vec<AuthorityCode> = match only {
        Some(a) => vec![a],
        None => forecast.caseload.keys().cloned().collect(),
    };
    let views: Vec<HighNeeds> = authorities
        .iter()
        .map(|a| {
            placeledger_forecast::high_needs_with(
                &forecast,
                a,
                &loaded.models.costs.funding(a),
                allocation_growth,
            )
        })
        .collect();
    let basis = |b: &Basis| -> (&'static str, String, String) {
        match b {
            Basis::Recorded { status, source } => {
                ("recorded", status.code().into(), source.clone())
            }
            Basis::CarriedForward { from_year } => (
                "carried_forward",
                String::new(),
                format!(
                    "from {}",
                    placeledger_forecast::high_needs::label(*from_year)
                ),
            ),
            Basis::Projected => ("projected", String::new(), String::new()),
            Basis::Missing => ("missing", String::new(), String::new()),
        }
    };
    let amount = |d: Option<rust_decimal::Decimal>| d.map(|d| d.round_dp(0).to_string());
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &views)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record([
                "authority",
                "financial_year",
                "spend",
                "allocation",
                "allocation_basis",
                "allocation_status",
                "allocation_source",
                "in_year",
                "dsg_balance",
                "balance_basis",
                "balance_status",
                "balance_source",
                "warnings",
            ])?;
            for view in &views {
                for y in &view.years {
                    let (ab, ast, asrc) = basis(&y.allocation_basis);
                    let (bb, bst, bsrc) = basis(&y.balance_basis);
                    let codes: Vec<&str> = y.warnings.iter().map(|w| w.code).collect();
                    w.write_record([
                        view.authority.as_str(),
                        &y.label(),
                        &y.spend.map(|d| d.to_string()).unwrap_or_default(),
                        &y.allocation.map(|d| d.to_string()).unwrap_or_default(),
                        ab,
                        &ast,
                        &asrc,
                        &y.in_year.map(|d| d.to_string()).unwrap_or_default(),
                        &y.dsg_balance.map(|d| d.to_string()).unwrap_or_default(),
                        bb,
                        &bst,
                        &bsrc,
                        &codes.join(";"),
                    ])?;
                }
            }
            w.flush()?;
        }
        Format::Table => {
            for view in &views {
                let name = loaded
                    .models
                    .mainstream
                    .authorities()
                    .get(&view.authority)
                    .map_or(view.authority.as_str(), |a| a.name.as_str());
                writeln!(
                    out,
                    "{name} ({}): High Needs Block, forecast from January {}{} (GBP)",
                    view.authority,
                    view.origin,
                    scenario
                        .map(|s| format!(", scenario {s}"))
                        .unwrap_or_default()
                )?;
                writeln!(
                    out,
                    "{:<9} {:>14} {:>14} {:<16} {:>14} {:>14} {:<10}",
                    "year", "spend", "allocation", "(basis)", "in year", "DSG balance", "(basis)"
                )?;
                for y in &view.years {
                    let dash = || "-".to_owned();
                    let (ab, ast, _) = basis(&y.allocation_basis);
                    let (bb, bst, _) = basis(&y.balance_basis);
                    let shown = |b: &str, st: String| {
                        if st.is_empty() { b.to_owned() } else { st }
                    };
                    writeln!(
                        out,
                        "{:<9} {:>14} {:>14} {:<16} {:>14} {:>14} {:<10}",
                        y.label(),
                        amount(y.spend).unwrap_or_else(dash),
                        amount(y.allocation).unwrap_or_else(dash),
                        shown(ab, ast),
                        amount(y.in_year).unwrap_or_else(dash),
                        amount(y.dsg_balance).unwrap_or_else(dash),
                        shown(bb, bst),
                    )?;
                }
                let mut sources = BTreeSet::new();
                // Each warning once, with the years it is on and its first year's words.
                let mut warned: Vec<(&str, Vec<String>, &str)> = Vec::new();
                for y in &view.years {
                    for b in [&y.allocation_basis, &y.balance_basis] {
                        if let Basis::Recorded { source, .. } = b {
                            sources.insert(source.clone());
                        }
                    }
                    for w in &y.warnings {
                        match warned.iter_mut().find(|(c, _, _)| *c == w.code) {
                            Some((_, years, _)) => years.push(y.label()),
                            None => warned.push((w.code, vec![y.label()], &w.message)),
                        }
                    }
                }
                for (code, years, message) in warned {
                    writeln!(out, "  ! {code} ({}): {message}", years.join(", "))?;
                }
                for s in sources {
                    writeln!(out, "  source: {s}")?;
                }
                writeln!(
                    out,
                    "  spend covers {}\n",
                    placeledger_forecast::high_needs::COVERS
                )?;
            }
        }
    }
    Ok(())
}

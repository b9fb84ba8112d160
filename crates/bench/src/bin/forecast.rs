//! `placeledger-bench-forecast`: projection rebuild throughput and forecast speed on the
//! seeded pan-Lancashire history, and a synthetic national forecast of 150 authorities.
//! Writes its section of `BENCHMARKS.md` (the store benchmark's is left alone).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use placeledger_app::ReadModels;
use placeledger_app::read::{Mode, PROJECTIONS, run_projection};
use placeledger_domain::{AuthorityCode, GssCode};
use placeledger_forecast::from_projections::{Projections, inputs};
use placeledger_forecast::{
    Authority, ChildHistory, Inputs, Options, Population, SendHistory, forecast,
};
use placeledger_store::{EventStore, Pages};

/// Times each national forecast is made (the median is reported).
const NATIONAL_REPEAT: usize = 3;

/// The same allocator as the `placeledger` binary, so the figures are the service's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "placeledger-bench-forecast",
    about = "Benchmarks projection rebuilds and the sufficiency forecast"
)]
struct Args {
    /// The reference figures the seed history is generated from.
    #[arg(long, default_value = "seeds/reference")]
    reference: PathBuf,
    /// Simulation runs per forecast.
    #[arg(long, default_value_t = 1_000)]
    runs: u32,
    /// Times each pan-Lancashire forecast is repeated (the median is reported).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Authorities in the synthetic national forecast (copies of the three seeded ones).
    #[arg(long, default_value_t = 150)]
    national: usize,
    /// Where to write the report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    output: PathBuf,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn read_and_decode(store: &Arc<dyn EventStore>) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut n = 0;
    // Read as the runner reads: the next page on its way while this one is decoded.
    let mut pages = Pages::new(store, 0, 5_000);
    while let Some(batch) = pages.next().await? {
        for e in &batch {
            std::hint::black_box(placeledger_codec::decode_at(e.stored_form())?);
        }
        n += batch.len() as u64;
    }
    Ok((n, started.elapsed().as_secs_f64()))
}

/// Rebuilds every projection of the application's one list, from position 0, timing each.
async fn rebuild_all(store: &Arc<dyn EventStore>) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let mut out = Vec::new();
    for name in PROJECTIONS {
        let started = Instant::now();
        run_projection(store, name, Mode::Rebuild, &|_, _, _| {}).await?;
        out.push((*name, started.elapsed().as_secs_f64()));
    }
    Ok(out)
}

/// `copies` authorities made from the seeded ones, with their own codes and districts.
fn national(base: &Inputs, copies: usize) -> anyhow::Result<Inputs> {
    let originals: Vec<&AuthorityCode> = base
        .authorities
        .keys()
        .filter(|a| base.send.contains_key(*a))
        .collect();
    let mut out = Inputs::default();
    let mut district_no = 0;
    for i in 0..copies {
        let from = originals[i % originals.len()];
        let code = AuthorityCode::parse(&format!("{}", 100 + i))?;
        let mut rename: BTreeMap<GssCode, GssCode> = BTreeMap::new();
        let mut districts = BTreeMap::new();
        for (d, name) in &base.authorities[from].districts {
            district_no += 1;
            let new = GssCode::parse(&format!("E0{district_no:07}"))?;
            rename.insert(d.clone(), new.clone());
            districts.insert(new, format!("{name} {i}"));
        }
        out.authorities.insert(
            code.clone(),
            Authority {
                name: format!("Synthetic authority {i}"),
                districts,
            },
        );
        let send = match &base.send[from] {
            SendHistory::Children(c) => {
                let map =
                    |m: &BTreeMap<i32, BTreeMap<placeledger_forecast::inputs::SendKey, u32>>| {
                        m.iter()
                            .map(|(y, cells)| {
                                (
                                    *y,
                                    cells
                                        .iter()
                                        .map(|((d, a, n), v)| ((rename[d].clone(), *a, *n), *v))
                                        .collect(),
                                )
                            })
                            .collect()
                    };
                SendHistory::Children(ChildHistory {
                    january: map(&c.january),
                    new_plans: map(&c.new_plans),
                    ceased: c.ceased.clone(),
                    placements: c.placements.clone(),
                    published: c.published.clone(),
                    located: c
                        .located
                        .iter()
                        .map(|(y, cells)| {
                            (
                                *y,
                                cells
                                    .iter()
                                    .map(|((d, p, k), v)| ((rename[d].clone(), *p, *k), *v))
                                    .collect(),
                            )
                        })
                        .collect(),
                })
            }
            other => other.clone(),
        };
        out.send.insert(code.clone(), send);
        for (old, new) in &rename {
            if let Some(years) = base.population.by_area.get(old) {
                out.population.by_area.insert(new.clone(), years.clone());
            }
        }
        for ((d, k, p), years) in &base.capacity {
            if let Some(new) = rename.get(d) {
                out.capacity.insert((new.clone(), *k, *p), years.clone());
            }
        }
        for ((a, k), c) in &base.costs {
            if a == from {
                out.costs.insert((code.clone(), *k), *c);
            }
        }
    }
    let _ = Population::default();
    out.sharing = BTreeSet::new();
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The seeded history, as `placeledger seed load` records it.
    let (_dir, backend, seed_seconds) = placeledger_bench::seeded_store(&args.reference).await?;
    let store = backend.events;
    eprintln!("seeded in {seed_seconds:.1} s");

    let (events, read_seconds) = read_and_decode(&store).await?;
    let rebuilds = rebuild_all(&store).await?;
    eprintln!("projections rebuilt");
    // Every checkpoint is at the head now: loading them is quick.
    let ReadModels {
        caseload,
        capacity,
        mainstream,
        costs,
        ..
    } = ReadModels::load(&store, &|_, _, _| {}).await?;

    let started = Instant::now();
    let pan = inputs(
        Projections {
            caseload: &caseload,
            capacity: &capacity,
            mainstream: &mainstream,
            costs: &costs,
        },
        BTreeSet::new(),
    );
    let inputs_seconds = started.elapsed().as_secs_f64();
    let options = Options {
        runs: args.runs,
        ..Options::default()
    };
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..args.repeat.max(1) {
        let started = Instant::now();
        let f = forecast(&pan, &options)?;
        times.push(started.elapsed().as_secs_f64());
        rows = f.rows.len();
    }
    let pan_seconds = median(times);
    eprintln!("pan-Lancashire forecast {pan_seconds:.3} s");
    // The same without sizing the ranges on the model's track record: what calibration costs.
    let uncalibrated = Options {
        calibrate: false,
        ..options.clone()
    };
    let mut times = Vec::new();
    for _ in 0..args.repeat.max(1) {
        let started = Instant::now();
        forecast(&pan, &uncalibrated)?;
        times.push(started.elapsed().as_secs_f64());
    }
    let pan_uncalibrated = median(times);

    let nation = national(&pan, args.national)?;
    let districts: usize = nation.authorities.values().map(|a| a.districts.len()).sum();
    // The median of three: this machine's speed wanders from one run to the next.
    let mut times = Vec::new();
    let mut national_rows = 0;
    for _ in 0..NATIONAL_REPEAT {
        let started = Instant::now();
        let f = forecast(&nation, &options)?;
        times.push(started.elapsed().as_secs_f64());
        national_rows = f.rows.len();
    }
    let national_seconds = median(times);
    eprintln!("national forecast {national_seconds:.1} s");
    let mut times = Vec::new();
    for _ in 0..NATIONAL_REPEAT {
        let started = Instant::now();
        forecast(&nation, &uncalibrated)?;
        times.push(started.elapsed().as_secs_f64());
    }
    let national_uncalibrated = median(times);

    let rate = |n: u64, s: f64| n as f64 / s;
    let read_rate = rate(events, read_seconds);
    let mut md = String::new();
    md.push_str("## Projections and forecast\n\n");
    md.push_str("Written by `placeledger-bench-forecast`; reproduce with:\n\n```\ncargo run --release -p placeledger-bench --bin placeledger-bench-forecast -- --output BENCHMARKS.md\n```\n\n");
    md.push_str(&format!(
        "- when: {}\n- machine: {}\n- build: release profile; SQLite store in a temporary folder\n- history: the seeded pan-Lancashire history, {events} events (seed load {seed_seconds:.1} s)\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        placeledger_bench::machine()
    ));
    let slowest = rebuilds.iter().map(|r| r.1).fold(0.0, f64::max);
    let slowest_rate = rate(events, slowest);
    md.push_str("| goal | measured | met |\n|---|---|---|\n");
    let yes = |b: bool| if b { "yes" } else { "**no**" };
    md.push_str(&format!(
        "| full pan-Lancashire forecast, {} runs, under 200 ms | {:.0} ms (median of {}) | {} |\n",
        args.runs,
        pan_seconds * 1000.0,
        args.repeat.max(1),
        yes(pan_seconds < 0.2)
    ));
    md.push_str(&format!(
        "| synthetic national forecast, {} authorities, under 5 s | {:.2} s (median of {NATIONAL_REPEAT}) | {} |\n",
        args.national,
        national_seconds,
        yes(national_seconds < 5.0)
    ));
    md.push_str(&format!(
        "| every projection rebuilds at >= 200,000 events/s | slowest {:.0} events/s | {} |\n",
        slowest_rate,
        yes(slowest_rate >= 200_000.0)
    ));
    md.push_str(&format!(
        "| every rebuild within 2x the time to read and decode the same events | slowest {:.1}x | {} |\n\n",
        slowest / read_seconds,
        yes(slowest <= 2.0 * read_seconds)
    ));
    md.push_str("| step | seconds | events/s | x read+decode |\n|---|---:|---:|---:|\n");
    md.push_str(&format!(
        "| read and decode every event (pages of 5,000) | {read_seconds:.2} | {:.0} | 1.0 |\n",
        read_rate
    ));
    for (name, s) in rebuilds {
        md.push_str(&format!(
            "| rebuild `{name}` from position 0 (read, decode, fold, save) | {s:.2} | {:.0} | {:.1} |\n",
            rate(events, s),
            s / read_seconds
        ));
    }
    md.push_str(&format!(
        "| forecast inputs from the projections | {inputs_seconds:.3} | - | - |\n"
    ));
    md.push_str(&format!(
        "| pan-Lancashire forecast without sizing ranges on the track record (`calibrate: false`) | {pan_uncalibrated:.3} | - | - |\n"
    ));
    md.push_str(&format!(
        "| national forecast without sizing ranges on the track record (median of {NATIONAL_REPEAT}) | {national_uncalibrated:.2} | - | - |\n\n"
    ));
    md.push_str(&format!(
        "The rebuilds cover every projection of the application's one list (`placeledger_app::PROJECTIONS`: {}), each run through `run_projection` as `placeledger projections rebuild` runs it.\n\n",
        PROJECTIONS.join(", ")
    ));
    md.push_str(&format!(
        "The pan-Lancashire forecast: 3 authorities, 14 districts, 10 years, {} runs, {rows} rows. The national one: {} copies of the seeded authorities with their own codes ({districts} districts), the same options, {national_rows} rows.\n",
        args.runs, args.national
    ));
    let existing = std::fs::read_to_string(&args.output).unwrap_or_default();
    let out = placeledger_bench::splice_section(&existing, "forecast", &md);
    std::fs::write(&args.output, &out)
        .with_context(|| format!("writing {}", args.output.display()))?;
    print!("{md}");
    Ok(())
}

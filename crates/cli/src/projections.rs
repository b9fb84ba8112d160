//! `placeledger projections rebuild|update|status`.

use std::sync::Arc;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use placeledger_api::ReadModels;
use placeledger_capacity::Capacity;
use placeledger_caseload::Caseload;
use placeledger_costs::Costs;
use placeledger_mainstream::Mainstream;
use placeledger_placements::Placements;
use placeledger_projection::Projection;
use placeledger_runner::Run;
use placeledger_scenarios::Scenarios;
use placeledger_sharing::Sharing;
use placeledger_store::EventStore;

/// Every projection, by name.
pub const NAMES: &[&str] = &[
    Caseload::NAME,
    Capacity::NAME,
    Mainstream::NAME,
    Costs::NAME,
    Sharing::NAME,
    Scenarios::NAME,
    Placements::NAME,
];

fn bar(name: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} events")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(name.to_owned());
    bar
}

/// Every projection brought up to date from its checkpoint (a progress bar each, on standard
/// error) and levelled at one position: what the API and the forecast read.
pub async fn read_models(store: &Arc<dyn EventStore>) -> anyhow::Result<ReadModels> {
    let bars = std::sync::Mutex::new(Vec::<(String, ProgressBar)>::new());
    let progress = |name: &str, position: u64, head: u64| {
        if let Ok(mut bars) = bars.lock() {
            if bars.last().is_none_or(|(n, _)| n != name) {
                if let Some((_, b)) = bars.last() {
                    b.finish_and_clear();
                }
                bars.push((name.to_owned(), bar(name)));
            }
            if let Some((_, b)) = bars.last() {
                b.set_length(head);
                b.set_position(position);
            }
        }
    };
    let models = ReadModels::load(store, &progress).await?;
    if let Ok(bars) = bars.lock() {
        for (_, b) in bars.iter() {
            b.finish_and_clear();
        }
    }
    Ok(models)
}

/// Brings `P` up to date (or rebuilds it) with a progress bar on standard error.
pub async fn drive<P: Projection>(
    store: &Arc<dyn EventStore>,
    rebuild: bool,
) -> anyhow::Result<Run<P>> {
    let progress = bar(P::NAME);
    let tick = |position: u64, head: u64| {
        progress.set_length(head);
        progress.set_position(position);
    };
    let run = if rebuild {
        placeledger_runner::rebuild::<P>(store, tick).await?
    } else {
        placeledger_runner::catch_up::<P>(store, tick).await?
    };
    progress.finish_and_clear();
    Ok(run)
}

async fn one_of<P: Projection>(store: &Arc<dyn EventStore>, rebuild: bool) -> anyhow::Result<()> {
    let run = drive::<P>(store, rebuild).await?;
    let verb = if rebuild {
        "rebuilt"
    } else {
        "brought up to date"
    };
    println!(
        "{}: {verb} from position {} to {}{}",
        P::NAME,
        run.from,
        run.position,
        if run.rebuilt && !rebuild {
            " (the saved state was of another shape: rebuilt)"
        } else {
            ""
        }
    );
    Ok(())
}

async fn one(store: &Arc<dyn EventStore>, name: &str, rebuild: bool) -> anyhow::Result<()> {
    match name {
        n if n == Caseload::NAME => one_of::<Caseload>(store, rebuild).await,
        n if n == Capacity::NAME => one_of::<Capacity>(store, rebuild).await,
        n if n == Mainstream::NAME => one_of::<Mainstream>(store, rebuild).await,
        n if n == Costs::NAME => one_of::<Costs>(store, rebuild).await,
        n if n == Sharing::NAME => one_of::<Sharing>(store, rebuild).await,
        n if n == Scenarios::NAME => one_of::<Scenarios>(store, rebuild).await,
        n if n == Placements::NAME => one_of::<Placements>(store, rebuild).await,
        other => bail!(
            "there is no projection {other:?}; the projections are: {}",
            NAMES.join(", ")
        ),
    }
}

/// Rebuilds (from position 0) or brings up to date one projection, or all.
pub async fn run(
    store: Arc<dyn EventStore>,
    name: Option<&str>,
    rebuild: bool,
) -> anyhow::Result<()> {
    match name {
        Some(name) => one(&store, name, rebuild).await,
        None => {
            for name in NAMES {
                one(&store, name, rebuild).await?;
            }
            Ok(())
        }
    }
}

/// Prints each projection's saved position against the head of the log.
pub async fn status(store: Arc<dyn EventStore>) -> anyhow::Result<()> {
    let head = store.head_position().await?;
    for name in NAMES {
        match store.load_checkpoint(name).await? {
            Some(c) => println!(
                "{name}: position {} of {head} (state version {})",
                c.position, c.version
            ),
            None => println!("{name}: never run (head {head})"),
        }
    }
    Ok(())
}

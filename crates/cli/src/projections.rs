//! `placeledger projections rebuild|update|status`.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use placeledger_app::ReadModels;
use placeledger_app::read::{Mode, PROJECTIONS, run_projection};
use placeledger_projection::Projection;
use placeledger_store::EventStore;

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

/// One projection brought up to date from its checkpoint, with a progress bar on standard
/// error (for a command that needs only that one).
pub async fn caught_up<P: Projection>(store: &Arc<dyn EventStore>) -> anyhow::Result<P> {
    let progress = bar(P::NAME);
    let run = placeledger_runner::catch_up::<P>(store, |position, head| {
        progress.set_length(head);
        progress.set_position(position);
    })
    .await?;
    progress.finish_and_clear();
    Ok(run.projection)
}

/// Rebuilds (from position 0) or brings up to date one projection, or all.
pub async fn run(
    store: Arc<dyn EventStore>,
    name: Option<&str>,
    rebuild: bool,
) -> anyhow::Result<()> {
    let mode = if rebuild {
        Mode::Rebuild
    } else {
        Mode::CatchUp
    };
    let names = match name {
        Some(n) => vec![n],
        None => PROJECTIONS.to_vec(),
    };
    for name in names {
        let bar = bar(name);
        let tick = |_: &str, position: u64, head: u64| {
            bar.set_length(head);
            bar.set_position(position);
        };
        let run = run_projection(&store, name, mode, &tick).await?;
        bar.finish_and_clear();
        let verb = if rebuild {
            "rebuilt"
        } else {
            "brought up to date"
        };
        println!(
            "{}: {verb} from position {} to {}{}",
            run.name,
            run.from,
            run.position,
            if run.rebuilt && !rebuild {
                " (the saved state was of another shape: rebuilt)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Prints each projection's saved position against the head of the log.
pub async fn status(store: Arc<dyn EventStore>) -> anyhow::Result<()> {
    let head = store.head_position().await?;
    for name in PROJECTIONS {
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

//! `placeledger projections rebuild|update|status`.

use std::sync::Arc;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use placeledger_caseload::Caseload;
use placeledger_projection::Projection;
use placeledger_runner::Run;
use placeledger_store::EventStore;

/// Every projection, by name.
pub const NAMES: &[&str] = &[Caseload::NAME];

fn bar(name: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} events")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(name.to_owned());
    bar
}

fn report<P>(name: &str, verb: &str, run: &Run<P>) {
    println!(
        "{name}: {verb} from position {} to {}{}",
        run.from,
        run.position,
        if run.rebuilt && verb != "rebuilt" {
            " (the saved state was of another shape: rebuilt)"
        } else {
            ""
        }
    );
}

async fn one(store: &Arc<dyn EventStore>, name: &str, rebuild: bool) -> anyhow::Result<()> {
    let progress = bar(name);
    let tick = |position: u64, head: u64| {
        progress.set_length(head);
        progress.set_position(position);
    };
    match name {
        n if n == Caseload::NAME => {
            let run = if rebuild {
                placeledger_runner::rebuild::<Caseload>(store, tick).await?
            } else {
                placeledger_runner::catch_up::<Caseload>(store, tick).await?
            };
            progress.finish_and_clear();
            report(
                name,
                if rebuild {
                    "rebuilt"
                } else {
                    "brought up to date"
                },
                &run,
            );
        }
        other => bail!(
            "there is no projection {other:?}; the projections are: {}",
            NAMES.join(", ")
        ),
    }
    Ok(())
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

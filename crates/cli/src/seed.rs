//! `placeledger seed load|check`: the synthetic pan-Lancashire history.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use placeledger_ledger::{Context, EventIds, Ledger};
use placeledger_seed::{Geography, Observed, Reference, ReferenceFiles};
use placeledger_store::{EventStore, Pages};
use uuid::Uuid;

/// The reference figures in `dir`, or the ones built in.
pub fn files(dir: Option<PathBuf>) -> ReferenceFiles {
    dir.map_or(ReferenceFiles::BuiltIn, ReferenceFiles::Dir)
}

fn reference(files: &ReferenceFiles) -> anyhow::Result<(Reference, Geography)> {
    let geography = Geography::pan_lancashire()?;
    let reference = Reference::load(files, &geography).with_context(|| match files {
        ReferenceFiles::BuiltIn => "reading the built-in reference figures".to_owned(),
        ReferenceFiles::Dir(dir) => format!("reading the reference figures in {}", dir.display()),
    })?;
    Ok((reference, geography))
}

fn spinner(message: String) -> ProgressBar {
    let progress = ProgressBar::new_spinner();
    progress.enable_steady_tick(Duration::from_millis(120));
    progress.set_message(message);
    progress
}

/// Generates the history from `seed` and records it in an empty database. A database that
/// already holds this seed's history is left as it is; any other non-empty one is refused
/// (the seeds are a whole history, not something to mix into real data).
pub async fn load(
    store: Arc<dyn EventStore>,
    files: &ReferenceFiles,
    seed: u64,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let actor = format!("seed:{seed}");
    let head = store.head_position().await?;
    if head > 0 {
        let first = store.read_all(0, 1).await?;
        let loaded_by = first.first().and_then(|e| e.metadata.actor.clone());
        if loaded_by.as_deref() == Some(actor.as_str()) {
            println!("seed {seed}: already loaded ({head} events); nothing recorded");
            return Ok(());
        }
        bail!(
            "seed load fills an empty database, and this one holds {head} events{}; \
             use another --database-url",
            loaded_by.map_or(String::new(), |a| format!(" (the first recorded by {a})"))
        );
    }
    let (reference, geography) = reference(files)?;
    let progress = spinner(format!("generating the seeded history (seed {seed})"));
    let commands = placeledger_seed::generate(&reference, &geography, seed)?;
    progress.set_message(format!(
        "recording {} facts in one transaction",
        commands.len()
    ));
    let mut ledger = Ledger::open(store).await?;
    let namespace = Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("placeledger:seed:{seed}").as_bytes(),
    );
    let context = Context::actor(actor).with_event_ids(EventIds::Derived(namespace));
    let recorded = ledger.execute(&commands, &context).await?;
    progress.finish_and_clear();
    println!(
        "seed {seed}: {} facts: {} new events recorded, {} already stored ({:.1} s)",
        commands.len(),
        recorded.new_events(),
        recorded.already_stored(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Folds every event in the store and compares it with the reference figures.
pub async fn check(store: Arc<dyn EventStore>, files: &ReferenceFiles) -> anyhow::Result<()> {
    let (reference, _) = reference(files)?;
    let head = store.head_position().await?;
    let progress = ProgressBar::new(head);
    progress.set_style(
        ProgressStyle::with_template("reading events {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut observed = Observed::default();
    let mut pages = Pages::new(&store, 0, 10_000);
    while let Some(batch) = pages.next().await? {
        let after = batch.last().map_or(0, |e| e.position);
        for e in &batch {
            let event = placeledger_codec::decode(&e.event_type, e.schema_version, &e.payload)
                .with_context(|| format!("decoding event at position {}", e.position))?;
            observed.apply(&event);
        }
        progress.set_position(after);
    }
    progress.finish_and_clear();
    let comparisons = placeledger_seed::check(&reference, &observed);
    print!("{}", placeledger_seed::render(&comparisons));
    let failed = comparisons.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        bail!("{failed} figure(s) out of tolerance");
    }
    Ok(())
}

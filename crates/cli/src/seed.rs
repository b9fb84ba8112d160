//! `placeledger seed load|check`: the synthetic pan-Lancashire history.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use placeledger_ledger::{Context, EventIds, Ledger};
use placeledger_seed::{Geography, Observed, Reference, ReferenceFiles};
use placeledger_store::{EventStore, MAX_BATCH, Pages};
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

/// The actor of the national history's events: `seed:national:SEED`.
fn national_actor(seed: u64) -> String {
    format!("seed:national:{seed}")
}

/// Generates every English authority's history from `seed` and records it: England's
/// geography and totals first, then one authority at a time, each decided against the
/// geography alone and appended in one transaction (by COPY on PostgreSQL). Memory holds one
/// authority's history at a time. Event ids derive from the seed, so a load cut off part-way
/// is run again to finish: what is stored comes back as a retry and is skipped.
pub async fn load_national(
    store: Arc<dyn EventStore>,
    files: &ReferenceFiles,
    seed: u64,
    limit: Option<usize>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let actor = national_actor(seed);
    let head = store.head_position().await?;
    if head > 0 {
        let first = store.read_all(0, 1).await?;
        let loaded_by = first.first().and_then(|e| e.metadata.actor.clone());
        if loaded_by.as_deref() != Some(actor.as_str()) {
            bail!(
                "seed load --national fills an empty database, and this one holds {head} events{}; \
                 use another --database-url",
                loaded_by.map_or(String::new(), |a| format!(" (the first recorded by {a})"))
            );
        }
    }
    let england = Geography::england()?;
    let reference = Reference::load_national(files, &england).with_context(|| match files {
        ReferenceFiles::BuiltIn => "reading the national reference figures".to_owned(),
        ReferenceFiles::Dir(dir) => format!(
            "reading the national reference figures in {} (run from the repository's root, \
             or pass --reference)",
            dir.display()
        ),
    })?;
    let namespace = Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("placeledger:seed:national:{seed}").as_bytes(),
    );
    let context = Context::actor(actor).with_event_ids(EventIds::Derived(namespace));

    // England's geography and totals: the streams every authority's history may touch.
    let prologue = placeledger_seed::national_prologue(&reference, &england)?;
    let (appends, base) = placeledger_ledger::plan(
        placeledger_domain::State::default(),
        &HashMap::new(),
        &prologue,
        &context,
    )?;
    let mut versions: HashMap<String, u64> = HashMap::new();
    let results = store.append_batch(appends.clone()).await?;
    for (a, r) in appends.iter().zip(&results) {
        versions.insert(a.stream.to_string(), r.last_version);
    }
    let mut events: u64 = appends.iter().map(|a| a.events.len() as u64).sum();
    let mut new_events: u64 = appends
        .iter()
        .zip(&results)
        .filter(|(_, r)| !r.duplicate)
        .map(|(a, _)| a.events.len() as u64)
        .sum();

    let count = limit
        .unwrap_or(england.partners.len())
        .min(england.partners.len());
    let progress = ProgressBar::new(count as u64);
    progress.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} authorities, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut generating = Duration::ZERO;
    let mut appending = Duration::ZERO;
    for index in 0..count {
        let (la, _, name) = &england.partners[index];
        progress.set_message(format!("{la} {name}"));
        let t = Instant::now();
        let commands = placeledger_seed::generate_authority(&reference, &england, index, seed)?;
        let (appends, _) = placeledger_ledger::plan(base.clone(), &versions, &commands, &context)
            .with_context(|| format!("deciding {la} {name}'s history"))?;
        generating += t.elapsed();
        let t = Instant::now();
        // At most MAX_BATCH events per transaction (whole streams each).
        let mut start = 0;
        while start < appends.len() {
            let mut end = start;
            let mut size = 0;
            while end < appends.len()
                && (end == start || size + appends[end].events.len() <= MAX_BATCH)
            {
                size += appends[end].events.len();
                end += 1;
            }
            let chunk = appends[start..end].to_vec();
            let results = store
                .append_batch(chunk.clone())
                .await
                .with_context(|| format!("recording {la} {name}'s history"))?;
            for (a, r) in chunk.iter().zip(&results) {
                events += a.events.len() as u64;
                if !r.duplicate {
                    new_events += a.events.len() as u64;
                }
                if let Some(v) = versions.get_mut(a.stream.as_str()) {
                    *v = r.last_version;
                }
            }
            start = end;
        }
        appending += t.elapsed();
        progress.inc(1);
    }
    progress.finish_and_clear();
    println!(
        "seed {seed} national: {count} authorities: {new_events} new events recorded, {} already \
         stored ({:.1} s: generating and deciding {:.1} s, appending {:.1} s)",
        events - new_events,
        started.elapsed().as_secs_f64(),
        generating.as_secs_f64(),
        appending.as_secs_f64()
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

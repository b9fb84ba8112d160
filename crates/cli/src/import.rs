//! `placeledger import KIND FILE`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use indicatif::ProgressBar;
use placeledger_import::{Parsed, Problem};
use placeledger_ledger::{Context, EventIds, Ledger};
use placeledger_store::EventStore;
use uuid::Uuid;

use crate::ImportKind;

impl ImportKind {
    fn name(self) -> &'static str {
        match self {
            ImportKind::OnsSnpp => "ons-snpp",
            ImportKind::DfeEhcp => "dfe-ehcp",
        }
    }

    /// The namespace of the importer's content-derived event ids: the same row imported
    /// again gets the same id, so the store recognises it and records nothing.
    fn namespace(self) -> Uuid {
        Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("placeledger:import:{}", self.name()).as_bytes(),
        )
    }
}

pub async fn run(store: Arc<dyn EventStore>, kind: ImportKind, path: &Path) -> anyhow::Result<()> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("reading {file}"))?;
    let progress = ProgressBar::new_spinner();
    progress.enable_steady_tick(Duration::from_millis(120));
    progress.set_message(format!("reading {file}"));

    let mut ledger = Ledger::open(store).await?;
    let parsed = match kind {
        ImportKind::OnsSnpp => placeledger_import::ons_snpp::parse(&file, &bytes, ledger.state()),
        ImportKind::DfeEhcp => placeledger_import::dfe_ehcp::parse(&file, &bytes, ledger.state()),
    };
    let parsed: Parsed = match parsed {
        Ok(p) => p,
        Err(problems) => {
            progress.finish_and_clear();
            return refuse(&file, &problems);
        }
    };

    progress.set_message(format!("checking {} facts", parsed.commands.len()));
    let refused = ledger.check(&parsed.commands).await?;
    if !refused.is_empty() {
        progress.finish_and_clear();
        let problems: Vec<Problem> = refused
            .into_iter()
            .map(|(i, e)| parsed.problem_at(&file, i, None, e.to_string()))
            .collect();
        return refuse(&file, &problems);
    }

    progress.set_message(format!(
        "recording {} facts in one transaction",
        parsed.commands.len()
    ));
    let context = Context::actor(format!("import:{}", kind.name()))
        .with_event_ids(EventIds::Derived(kind.namespace()));
    let recorded = ledger.execute(&parsed.commands, &context).await?;
    progress.finish_and_clear();

    let count = |duplicate: bool| -> u64 {
        recorded
            .streams
            .iter()
            .filter(|(_, r)| r.duplicate == duplicate)
            .map(|(_, r)| r.last_version - r.first_version + 1)
            .sum()
    };
    println!(
        "{file}: {} rows, {} facts: {} new events recorded, {} already stored",
        parsed.rows,
        parsed.commands.len(),
        count(false),
        count(true)
    );
    for note in &parsed.notes {
        println!("{file}: {note}");
    }
    Ok(())
}

fn refuse(file: &str, problems: &[Problem]) -> anyhow::Result<()> {
    for p in problems {
        eprintln!("{p}");
    }
    bail!(
        "{} problem{} in {file}; nothing was imported",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    )
}

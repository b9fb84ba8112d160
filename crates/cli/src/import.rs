//! `placeledger import KIND FILE`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use placeledger_import::table::Table;
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
            ImportKind::Children => "children",
            ImportKind::Settings => "settings",
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
    // Reading (the slow part of a large file) shows a bar over the file's bytes.
    let progress = ProgressBar::new(bytes.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("reading {msg} {bar:40} {bytes}/{total_bytes}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message(file.clone());
    let table = Table::read_with_progress(&file, &bytes, |done| progress.set_position(done));
    progress.set_position(bytes.len() as u64);
    let progress = spinner(&progress);

    let mut ledger = Ledger::open(store).await?;
    let parsed = table.and_then(|table| {
        progress.set_message(format!("checking the rows of {file}"));
        let state = ledger.state();
        match kind {
            ImportKind::OnsSnpp => placeledger_import::ons_snpp::parse_table(&table, state),
            ImportKind::DfeEhcp => placeledger_import::dfe_ehcp::parse_table(&table, state),
            ImportKind::Children => placeledger_import::children::parse_table(&table, state),
            ImportKind::Settings => placeledger_import::settings::parse_table(&table, state),
        }
    });
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

    println!(
        "{file}: {} rows, {} facts: {} new events recorded, {} already stored",
        parsed.rows,
        parsed.commands.len(),
        recorded.new_events(),
        recorded.already_stored()
    );
    for note in &parsed.notes {
        println!("{file}: {note}");
    }
    Ok(())
}

/// A spinner for the stages after reading, replacing the reading bar.
fn spinner(bar: &ProgressBar) -> ProgressBar {
    bar.finish_and_clear();
    let progress = ProgressBar::new_spinner();
    progress.enable_steady_tick(Duration::from_millis(120));
    progress
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

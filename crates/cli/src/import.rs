//! `placeledger import KIND FILE`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use placeledger_import::table::Table;
use placeledger_import::{Format, Parsed, Problem};
use placeledger_ledger::{Context, EventIds, Ledger};
use placeledger_store::EventStore;

use crate::ImportKind;

impl ImportKind {
    fn format(self) -> Format {
        match self {
            ImportKind::OnsSnpp => Format::OnsSnpp,
            ImportKind::DfeEhcp => Format::DfeEhcp,
            ImportKind::Children => Format::Children,
            ImportKind::Settings => Format::Settings,
        }
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
        kind.format().parse(&table, ledger.state())
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
    let format = kind.format();
    let context = Context::actor(format!("import:{}", format.name()))
        .with_event_ids(EventIds::Derived(format.namespace()));
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

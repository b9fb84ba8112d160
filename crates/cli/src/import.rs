//! `placeledger import KIND FILE`: the application's import step, with a progress bar.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use placeledger_app::commands::{Commands, ImportFile, ImportProgress};
use placeledger_app::{AppError, Viewer};
use placeledger_import::Format;
use placeledger_store::EventStore;

use crate::ImportKind;

impl ImportKind {
    fn format(self) -> Format {
        match self {
            ImportKind::OnsSnpp => Format::OnsSnpp,
            ImportKind::DfeEhcp => Format::DfeEhcp,
            ImportKind::Children => Format::Children,
            ImportKind::Settings => Format::Settings,
            ImportKind::HighNeeds => Format::HighNeeds,
            ImportKind::Geography => Format::Geography,
            ImportKind::PlanningAreas => Format::PlanningAreas,
        }
    }
}

/// A bar over the file's bytes while it is read (the slow part of a large file), then a
/// spinner naming each stage.
#[derive(Debug)]
struct Bars {
    reading: ProgressBar,
    stages: std::sync::OnceLock<ProgressBar>,
}

impl Bars {
    fn new(file: &str, total: u64) -> Self {
        let reading = ProgressBar::new(total);
        reading.set_style(
            ProgressStyle::with_template("reading {msg} {bar:40} {bytes}/{total_bytes}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        reading.set_message(file.to_owned());
        Bars {
            reading,
            stages: std::sync::OnceLock::new(),
        }
    }

    fn finish(&self) {
        self.reading.finish_and_clear();
        if let Some(s) = self.stages.get() {
            s.finish_and_clear();
        }
    }
}

impl ImportProgress for Bars {
    fn reading(&self, done: u64, _total: u64) {
        self.reading.set_position(done);
    }

    fn stage(&self, message: &str) {
        let spinner = self.stages.get_or_init(|| {
            self.reading.finish_and_clear();
            let s = ProgressBar::new_spinner();
            s.enable_steady_tick(Duration::from_millis(120));
            s
        });
        spinner.set_message(message.to_owned());
    }
}

pub async fn run(
    store: Arc<dyn EventStore>,
    kind: ImportKind,
    path: &Path,
    register: bool,
) -> anyhow::Result<()> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("reading {file}"))?;
    let format = kind.format();
    let bars = Bars::new(&file, bytes.len() as u64);
    let what = ImportFile {
        format,
        options: placeledger_import::Options { register },
        file: &file,
        bytes: &bytes,
    };
    let imported = Commands::new(store, None)
        .import_file(
            &Viewer::operator("cli"),
            format!("import:{}", format.name()),
            what,
            &bars,
        )
        .await;
    bars.finish();
    let imported = match imported {
        Ok(i) => i,
        Err(AppError::BadFile { problems }) => {
            for p in &problems {
                eprintln!("{p}");
            }
            bail!(
                "{} problem{} in {file}; nothing was imported",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            )
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "{file}: {} rows, {} facts: {} new events recorded, {} already stored",
        imported.rows, imported.facts, imported.new_events, imported.already_stored
    );
    for note in &imported.notes {
        println!("{file}: {note}");
    }
    Ok(())
}

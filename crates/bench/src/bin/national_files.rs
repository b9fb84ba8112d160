//! `make bench-national-files`: every English authority from the published files, through the
//! `placeledger` binary as a data engineer runs it, from an empty directory into a fresh
//! SQLite database: England's geography, every authority's plans in force (January
//! 2019-2025), January 2025's caseload by need, age and placement, a forecast of every
//! authority, and the pooled national back-test. Times each step and writes the "national
//! files" section of BENCHMARKS.md (the back-test's table is FORECAST.md's).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// The `placeledger` binary (a release build).
    #[arg(long, default_value = "target/release/placeledger")]
    bin: PathBuf,
    /// The directory holding `ons/` and `national/` as in seeds/reference/.
    #[arg(long, default_value = "seeds/reference")]
    reference: PathBuf,
    /// Where the section goes.
    #[arg(long, default_value = "BENCHMARKS.md")]
    output: PathBuf,
}

/// One step: what was run, how long it took, and what it printed.
struct Step {
    name: &'static str,
    args: Vec<String>,
    seconds: f64,
    stdout: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = std::fs::canonicalize(&args.bin).with_context(|| {
        format!(
            "{}: build it first (make bench-national-files)",
            args.bin.display()
        )
    })?;
    let reference = std::fs::canonicalize(&args.reference)?;
    let file = |p: &str| reference.join(p).display().to_string();
    let dir = tempfile::tempdir()?;
    let plan: Vec<(&'static str, Vec<String>)> = vec![
        (
            "geography import (ONS lookup, 296 districts)",
            vec![
                "geography".into(),
                "import".into(),
                file("ons/lad25_ctyua25_england.csv"),
            ],
        ),
        (
            "import plans in force, every authority, January 2019-2025",
            vec![
                "import".into(),
                "dfe-ehcp".into(),
                file("national/ehcp_plans_in_force_all_las.csv"),
            ],
        ),
        (
            "import January 2025 caseload by need, age, placement (3 MB)",
            vec![
                "import".into(),
                "dfe-ehcp".into(),
                file("national/sen_needs_all_plans.csv"),
            ],
        ),
        (
            "forecast every authority, 10 years, 1,000 runs (CSV)",
            vec![
                "forecast".into(),
                "run".into(),
                "--format".into(),
                "csv".into(),
            ],
        ),
        (
            "back-test every authority, pooled (3 years ahead)",
            vec![
                "forecast".into(),
                "backtest".into(),
                "--all".into(),
                "--horizon".into(),
                "3".into(),
            ],
        ),
    ];
    let mut steps = Vec::new();
    for (name, a) in plan {
        let started = Instant::now();
        let out = Command::new(&bin)
            .args(&a)
            .current_dir(dir.path())
            .env_remove("PLACELEDGER_DATABASE_URL")
            .output()?;
        let seconds = started.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!("{name}: {}", String::from_utf8_lossy(&out.stderr));
        }
        eprintln!("{name}: {seconds:.1} s");
        steps.push(Step {
            name,
            args: a,
            seconds,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        });
    }
    let total: f64 = steps.iter().map(|s| s.seconds).sum();
    let forecast_rows = steps[3].stdout.lines().count().saturating_sub(1);
    let authorities: std::collections::BTreeSet<&str> = steps[3]
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    let db_bytes = std::fs::metadata(dir.path().join("data/placeledger.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    let mut body = String::new();
    body.push_str("## National files: any English authority from the published files\n\n");
    body.push_str(&format!(
        "Machine: {}. Measured {} with a release build.\n\n",
        placeledger_bench::machine(),
        chrono::Utc::now().format("%Y-%m-%d")
    ));
    body.push_str(
        "Command: `make bench-national-files` (the `placeledger` binary, run from an empty \
         directory on its default SQLite database, as README's \"Any English authority\" \
         says). Goal (issue 20): the published files loaded into a fresh database and every \
         authority forecast in under two minutes.\n\n",
    );
    body.push_str("| step | seconds |\n|---|---|\n");
    for s in &steps {
        body.push_str(&format!(
            "| {} (`placeledger {}`) | {:.2} |\n",
            s.name,
            s.args
                .iter()
                .map(|a| a.rsplit('/').next().unwrap_or(a))
                .collect::<Vec<_>>()
                .join(" "),
            s.seconds
        ));
    }
    body.push_str(&format!(
        "| **all five** | **{total:.1}** ({}) |\n\n",
        if total < 120.0 {
            "goal met"
        } else {
            "goal NOT met"
        }
    ));
    body.push_str(&format!(
        "The forecast has {forecast_rows} rows for {} authorities; the database holds {:.1} MB. \
         The back-test's pooled table (FORECAST.md has it with the method):\n\n```\n{}```\n",
        authorities.len(),
        db_bytes as f64 / 1e6,
        steps[4].stdout
    ));
    let existing = std::fs::read_to_string(&args.output).unwrap_or_default();
    std::fs::write(
        &args.output,
        placeledger_bench::splice_section(&existing, "national-files", &body),
    )?;
    println!("{}", body);
    Ok(())
}

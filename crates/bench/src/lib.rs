//! What the benchmark programs share: the machine description, the seeded store, and
//! splicing one program's section into `BENCHMARKS.md` without touching the others'.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use placeledger_app::Backend;
use placeledger_ledger::{Context, EventIds, Ledger};
use placeledger_seed::{Geography, Reference, ReferenceFiles};

/// A temporary SQLite store holding the seeded pan-Lancashire history, as `placeledger seed
/// load` records it; and how long recording it took (seconds).
pub async fn seeded_store(reference: &Path) -> anyhow::Result<(tempfile::TempDir, Backend, f64)> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let backend = Backend::connect(&url).await?;
    let store = backend.events.clone();
    let started = Instant::now();
    let geography = Geography::pan_lancashire()?;
    let reference = Reference::load(&ReferenceFiles::Dir(reference.to_owned()), &geography)
        .with_context(|| format!("reading {}", reference.display()))?;
    let commands =
        placeledger_seed::generate(&reference, &geography, placeledger_seed::DEFAULT_SEED)?;
    let mut ledger = Ledger::open(store.clone()).await?;
    let namespace = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, b"placeledger:bench");
    ledger
        .execute(
            &commands,
            &Context::actor("bench").with_event_ids(EventIds::Derived(namespace)),
        )
        .await?;
    Ok((dir, backend, started.elapsed().as_secs_f64()))
}

/// The machine the figures come from.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({cpu}), {mem_gib:.0} GiB memory, Linux {}",
        kernel.trim()
    )
}

/// `existing` with the section `name` (between `<!-- bench:NAME -->` and
/// `<!-- /bench:NAME -->`) replaced by `body`, or `body` appended as that section.
pub fn splice_section(existing: &str, name: &str, body: &str) -> String {
    let open = format!("<!-- bench:{name} -->");
    let close = format!("<!-- /bench:{name} -->");
    let section = format!("{open}\n{}\n{close}\n", body.trim_end());
    match (existing.find(&open), existing.find(&close)) {
        (Some(i), Some(j)) if i < j => {
            let end = j + close.len();
            let rest = existing[end..]
                .strip_prefix('\n')
                .unwrap_or(&existing[end..]);
            format!("{}{section}{rest}", &existing[..i])
        }
        _ if existing.trim().is_empty() => section,
        _ => format!("{}\n\n{section}", existing.trim_end()),
    }
}

/// The section `name` of `existing`, markers included, if it has one.
pub fn section(existing: &str, name: &str) -> Option<String> {
    let open = format!("<!-- bench:{name} -->");
    let close = format!("<!-- /bench:{name} -->");
    let i = existing.find(&open)?;
    let j = existing.find(&close)?;
    (i < j).then(|| existing[i..j + close.len()].to_owned())
}

/// POSTs a GraphQL request with a bearer token; the answer, or an error if the status is not
/// a success or the answer has `errors`.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let res = client
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(body.to_string())
        .send()
        .await?;
    let status = res.status();
    let v: serde_json::Value = serde_json::from_slice(&res.bytes().await?)?;
    if !status.is_success() || !v["errors"].is_null() {
        anyhow::bail!("{status}: {v}");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_is_replaced_in_place_or_appended() {
        let first = splice_section("# Benchmarks\n\nstore figures\n", "forecast", "one");
        assert_eq!(
            first,
            "# Benchmarks\n\nstore figures\n\n<!-- bench:forecast -->\none\n<!-- /bench:forecast -->\n"
        );
        let second = splice_section(&first, "forecast", "two");
        assert_eq!(second, first.replace("\none\n", "\ntwo\n"));
        assert_eq!(
            section(&second, "forecast").as_deref(),
            Some("<!-- bench:forecast -->\ntwo\n<!-- /bench:forecast -->")
        );
    }
}

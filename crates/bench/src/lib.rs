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

/// Every section of `existing`, markers included, in order.
pub fn sections(existing: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = existing;
    while let Some(i) = rest.find("<!-- bench:") {
        let Some(name) = rest[i + 11..].split(" -->").next() else {
            break;
        };
        let Some(s) = section(&rest[i..], name) else {
            break;
        };
        rest = &rest[i + s.len()..];
        out.push(s);
    }
    out
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

/// A load request: the answer is checked (status, no `errors`) but not parsed, as a client
/// that streams the JSON into its own types would not pay for a generic tree.
async fn post_checked(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &str,
) -> anyhow::Result<()> {
    let res = client
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(body.to_owned())
        .send()
        .await?;
    let status = res.status();
    let bytes = res.bytes().await?;
    if !status.is_success() || bytes.windows(9).any(|w| w == b"\"errors\"") {
        anyhow::bail!("{status}: {}", String::from_utf8_lossy(&bytes));
    }
    Ok(())
}

/// What [`load`] measured.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub requests: u64,
    pub seconds: f64,
    pub per_second: f64,
    /// Latency, milliseconds.
    pub p50: f64,
    pub p99: f64,
}

/// `connections` clients, each on its own connection, POSTing `body` one after another for
/// `seconds`.
pub async fn load(
    url: &str,
    token: &str,
    body: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<Load> {
    let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, token, body) = (url.to_owned(), token.to_owned(), body.to_owned());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()?;
            let mut h = hdrhistogram::Histogram::<u64>::new(3)?;
            while Instant::now() < deadline {
                let t = Instant::now();
                post_checked(&client, &url, &token, &body).await?;
                h.record(u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX))?;
            }
            anyhow::Ok(h)
        }));
    }
    let started = Instant::now();
    let mut h = hdrhistogram::Histogram::<u64>::new(3)?;
    for t in tasks {
        h.add(t.await??)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Load {
        requests: h.len(),
        seconds,
        per_second: h.len() as f64 / seconds,
        p50: h.value_at_quantile(0.5) as f64 / 1e3,
        p99: h.value_at_quantile(0.99) as f64 / 1e3,
    })
}

/// What [`fan_out`] measured, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct FanOut {
    pub subscribers: usize,
    /// How long the change (the trigger) took to be answered.
    pub trigger_ms: f64,
    /// After the trigger's answer: when the last subscriber and the median one had it.
    pub last_ms: f64,
    pub median_ms: f64,
}

/// `n` WebSocket subscribers (graphql-transport-ws) of `subscription` on `ws_url`; once every
/// one has its first message, `trigger` runs (a mutation, on this node or another), and each
/// subscriber's second message is timed against the trigger's answer.
pub async fn fan_out<F>(
    ws_url: &str,
    token: &str,
    subscription: &str,
    n: usize,
    trigger: F,
) -> anyhow::Result<FanOut>
where
    F: Future<Output = anyhow::Result<()>>,
{
    use futures::{SinkExt, StreamExt};
    use serde_json::json;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    // Each subscriber says once whether it had its first message or failed before it.
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Result<(), String>>(n.max(1));
    let mut subs = Vec::new();
    for i in 0..n {
        let (ws_url, token, ready) = (ws_url.to_owned(), token.to_owned(), ready_tx.clone());
        let subscription = subscription.to_owned();
        subs.push(tokio::spawn(async move {
            let mut nexts = 0;
            let subscriber = async {
                let mut request = ws_url.into_client_request()?;
                request
                    .headers_mut()
                    .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
                let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
                ws.send(
                    json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })
                        .to_string()
                        .into(),
                )
                .await?;
                ws.send(
                    json!({ "id": format!("{i}"), "type": "subscribe", "payload": { "query": subscription } })
                        .to_string()
                        .into(),
                )
                .await?;
                while let Some(msg) = ws.next().await {
                    if let Message::Text(t) = msg? {
                        let v: serde_json::Value = serde_json::from_str(&t)?;
                        if v["type"] == "next" {
                            if let Some(errors) = v["payload"].get("errors") {
                                anyhow::bail!("subscriber {i}: {errors}");
                            }
                            nexts += 1;
                            if nexts == 1 {
                                ready.send(Ok(())).await?;
                            } else {
                                return anyhow::Ok(Instant::now());
                            }
                        } else if v["type"] == "error" || v["type"] == "complete" {
                            // Refused, or the server ended the subscription: no answer comes.
                            anyhow::bail!("subscriber {i}: {v}");
                        }
                    }
                }
                anyhow::bail!("subscriber {i}: the socket closed")
            };
            let answered = subscriber.await;
            if let (Err(e), 0) = (&answered, nexts) {
                let _ = ready.send(Err(format!("{e:#}"))).await;
            }
            answered
        }));
    }
    drop(ready_tx);
    for _ in 0..n {
        match ready_rx.recv().await {
            Some(Ok(())) => {}
            Some(Err(e)) => anyhow::bail!("a subscriber failed before its first message: {e}"),
            None => anyhow::bail!("a subscriber failed before its first message"),
        }
    }
    let sent = Instant::now();
    trigger.await?;
    let answered = Instant::now();
    let mut ms = Vec::with_capacity(n);
    for s in subs {
        let at: Instant = s.await??;
        ms.push(at.saturating_duration_since(answered).as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok(FanOut {
        subscribers: n,
        trigger_ms: answered.duration_since(sent).as_secs_f64() * 1e3,
        last_ms: ms.last().copied().unwrap_or(0.0),
        median_ms: ms.get(ms.len() / 2).copied().unwrap_or(0.0),
    })
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
        // The store benchmark, which rewrites the file, keeps every other section.
        let third = splice_section(&second, "national", "three");
        assert_eq!(
            sections(&third),
            vec![
                "<!-- bench:forecast -->\ntwo\n<!-- /bench:forecast -->".to_owned(),
                "<!-- bench:national -->\nthree\n<!-- /bench:national -->".to_owned(),
            ]
        );
    }
}

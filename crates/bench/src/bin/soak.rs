//! `placeledger-soak`: a bounded soak of `placeledger serve` on loopback. For a fixed time
//! (default 60 s) it mixes district forecast queries from several connections, a steady
//! stream of mutations, and 1,000 WebSocket subscribers of `sufficiencyChanged` for a
//! scenario that a lever changes every few seconds. It fails on any unexpected error, on a
//! subscriber that misses an update or receives one out of order, and reports the server's
//! resident memory at the start and the end. The server is a separate process (the release
//! `placeledger` next to this binary), so its memory is its own. Writes its section of
//! `RELIABILITY.md`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use placeledger_app::{Role, tokens};
use placeledger_bench::post;
use placeledger_domain::AuthorityCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Debug, Parser)]
#[command(name = "placeledger-soak", about = "Soaks the GraphQL server")]
struct Args {
    #[arg(long, default_value = "seeds/reference")]
    reference: PathBuf,
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Query connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// WebSocket subscribers.
    #[arg(long, default_value_t = 1_000)]
    subscribers: usize,
    /// Seconds between the levers that change what the subscribers watch.
    #[arg(long, default_value_t = 4)]
    lever_every: u64,
    #[arg(long, default_value = "RELIABILITY.md")]
    output: PathBuf,
}

const PRESTON: &str = "E07000123";
const QUERY: &str = "query($f: ForecastFilter!) { forecast(filter: $f) { position rows { year kind demand { p50 } capacity } } }";

/// The server's resident set, in MiB, from /proc.
fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (dir, backend, seed_seconds) = placeledger_bench::seeded_store(&args.reference).await?;
    eprintln!("seeded in {seed_seconds:.1} s");
    let planner = AuthorityCode::parse("888")?;
    let (_, token) = tokens::create(&*backend.access, Role::Planner, Some(planner), "soak").await?;

    let db = format!("sqlite:{}", dir.path().join("bench.db").display());
    let (mut server, addr) = start_server(&db)?;
    let pid = server.id();
    let url = format!("http://{addr}/graphql");
    let client = reqwest::Client::new();
    post(&client, &url, &token, &json!({ "query": "mutation { createScenario(input: { id: \"soak\", name: \"soak\", authority: \"888\" }) { version } }" })).await?;

    // Subscribers: each records the positions of the messages it receives.
    let ws_url = format!("ws://{addr}/graphql/ws");
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(args.subscribers);
    let stop = Arc::new(tokio::sync::Notify::new());
    // Once the last lever is in: its position, and each subscriber says when it has it.
    let (target_tx, target_rx) = tokio::sync::watch::channel(u64::MAX);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<Instant>(args.subscribers);
    let mut subs = Vec::new();
    for i in 0..args.subscribers {
        let (ws_url, token, ready, stop) = (
            ws_url.clone(),
            token.clone(),
            ready_tx.clone(),
            stop.clone(),
        );
        let (target, done) = (target_rx.clone(), done_tx.clone());
        subs.push(tokio::spawn(subscriber(
            i, ws_url, token, ready, stop, target, done,
        )));
    }
    drop(ready_tx);
    drop(done_tx);
    for _ in 0..args.subscribers {
        ready_rx
            .recv()
            .await
            .context("a subscriber failed before its first message")?;
    }
    let rss_start = rss_mib(pid);
    eprintln!(
        "{} subscribers ready; server RSS {rss_start:.0} MiB",
        args.subscribers
    );

    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let queries = Arc::new(AtomicU64::new(0));
    let mutations = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    // Forecast queries.
    for c in 0..args.connections {
        let (url, token, queries) = (url.clone(), token.clone(), queries.clone());
        load.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let years = [2026 + (c as i32 % 3), 2027 + (c as i32 % 3)];
            let body = json!({ "query": QUERY, "variables": { "f": { "authority": "888", "district": PRESTON, "years": years } } });
            while Instant::now() < deadline {
                post(&client, &url, &token, &body).await?;
                queries.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    // A steady stream of other planners' work: new scenarios and their levers, twice a second.
    {
        let (url, token, mutations) = (url.clone(), token.clone(), mutations.clone());
        load.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0;
            while Instant::now() < deadline {
                post(&client, &url, &token, &json!({ "query": format!("mutation {{ createScenario(input: {{ id: \"soak-bg-{n}\", name: \"background\", authority: \"888\" }}) {{ version }} }}") })).await?;
                post(&client, &url, &token, &json!({ "query": "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { version } }", "variables": { "i": { "scenario": format!("soak-bg-{n}"), "expectedVersion": 1, "lever": { "lever": "incidence_multiplier", "authority": "888", "multiplier": "1.05" } } } })).await?;
                mutations.fetch_add(2, Ordering::Relaxed);
                n += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            anyhow::Ok(())
        }));
    }
    // The levers the subscribers watch: one more special place in Preston each time.
    let mut lever_positions = Vec::new();
    let mut rss_max = rss_start;
    let mut k = 0;
    while Instant::now() + Duration::from_secs(args.lever_every) < deadline {
        tokio::time::sleep(Duration::from_secs(args.lever_every)).await;
        k += 1;
        let lever = json!({ "lever": "open_places", "district": PRESTON, "kind": "special_la_maintained", "low_age": 4, "high_age": 10, "from": "2026-09-01", "places": [{ "need": "ASD", "places": k }] });
        let v = post(&client, &url, &token, &json!({ "query": "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { position } }", "variables": { "i": { "scenario": "soak", "lever": lever } } })).await?;
        lever_positions.push(
            v["data"]["addScenarioLever"]["position"]
                .as_u64()
                .context("a position")?,
        );
        mutations.fetch_add(1, Ordering::Relaxed);
        rss_max = rss_max.max(rss_mib(pid));
    }
    let last_lever_at = Instant::now();
    target_tx.send_replace(lever_positions.last().copied().unwrap_or(0));
    for t in load {
        t.await??;
    }
    // Every subscriber has the last lever's update (or a minute has passed).
    let mut last_arrival = last_lever_at;
    for n in 0..args.subscribers {
        match tokio::time::timeout(Duration::from_secs(60), done_rx.recv()).await {
            Ok(Some(t)) => last_arrival = last_arrival.max(t),
            _ => bail!(
                "{n} of {} subscribers had the last lever's update a minute later",
                args.subscribers
            ),
        }
    }
    let last_lag_ms = last_arrival.duration_since(last_lever_at).as_secs_f64() * 1e3;
    let rss_end = rss_mib(pid);
    stop.notify_waiters();
    let mut received = 0u64;
    for (i, s) in subs.into_iter().enumerate() {
        let positions = s.await??;
        received += positions.len() as u64;
        ensure!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "subscriber {i}: out of order {positions:?}"
        );
        // The first message is the state before any lever; then one per lever, each at or
        // after the lever's position and before the next lever's.
        for (j, lp) in lever_positions.iter().enumerate() {
            let next = lever_positions.get(j + 1).copied().unwrap_or(u64::MAX);
            ensure!(
                positions.iter().any(|p| p >= lp && *p < next),
                "subscriber {i} missed the update of lever {j} (position {lp}): {positions:?}"
            );
        }
    }
    let _ = server.kill();
    let _ = server.wait();

    let q = queries.load(Ordering::Relaxed);
    let m = mutations.load(Ordering::Relaxed);
    eprintln!(
        "{q} queries, {m} mutations, {} levers watched, {received} messages; RSS {rss_start:.0} -> {rss_end:.0} MiB (max {rss_max:.0})",
        lever_positions.len()
    );
    let md = report(
        &args,
        Figures {
            queries: q,
            mutations: m,
            levers: lever_positions.len(),
            received,
            last_lag_ms,
            rss: (rss_start, rss_end, rss_max),
        },
    );
    let existing = std::fs::read_to_string(&args.output).unwrap_or_default();
    let out = placeledger_bench::splice_section(&existing, "soak", &md);
    std::fs::write(&args.output, &out)
        .with_context(|| format!("writing {}", args.output.display()))?;
    print!("{md}");
    Ok(())
}

/// Starts the release `placeledger serve` next to this binary on `db`, on a free port of
/// loopback; returns the process and the address it printed.
fn start_server(db: &str) -> anyhow::Result<(std::process::Child, String)> {
    let bin = std::env::current_exe()?.with_file_name("placeledger");
    ensure!(
        bin.exists(),
        "{} is missing: build placeledger-cli in release first",
        bin.display()
    );
    let mut server = Command::new(&bin)
        .args([
            "--database-url",
            db,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rate-limit",
            "1000000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let stdout = server.stdout.take().context("the server's output")?;
    let addr = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("GraphQL:").map(|r| {
                r.trim()
                    .trim_start_matches("http://")
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .context("the server printed no address")?;
    Ok((server, addr))
}

/// One subscriber: subscribes to Preston's sufficiency under the soak scenario, says when it
/// has its first message (`ready`) and when it has the last lever's (`done`, once `target`
/// is known), and returns the positions of every message it got until `stop`.
#[allow(clippy::too_many_arguments)]
async fn subscriber(
    i: usize,
    ws_url: String,
    token: String,
    ready: tokio::sync::mpsc::Sender<()>,
    stop: Arc<tokio::sync::Notify>,
    mut target: tokio::sync::watch::Receiver<u64>,
    done: tokio::sync::mpsc::Sender<Instant>,
) -> anyhow::Result<Vec<u64>> {
    let mut request = ws_url.into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }).to_string().into()).await?;
    ws.send(json!({ "id": format!("{i}"), "type": "subscribe", "payload": { "query": format!("subscription {{ sufficiencyChanged(district: \"{PRESTON}\", scenario: \"soak\") {{ position rows {{ capacity }} }} }}") } }).to_string().into()).await?;
    let mut positions: Vec<u64> = Vec::new();
    let mut told = false;
    loop {
        if !told && positions.last().is_some_and(|p| *p >= *target.borrow()) {
            done.send(Instant::now()).await?;
            told = true;
        }
        tokio::select! {
            () = stop.notified() => break,
            _ = target.changed(), if !told => {}
            msg = ws.next() => {
                let Some(msg) = msg else { bail!("subscriber {i}: the socket closed") };
                if let Message::Text(t) = msg? {
                    let v: Value = serde_json::from_str(&t)?;
                    match v["type"].as_str() {
                        Some("next") => {
                            ensure!(v["payload"]["errors"].is_null(), "subscriber {i}: {v}");
                            let p = v["payload"]["data"]["sufficiencyChanged"]["position"].as_u64().context("a position")?;
                            if positions.is_empty() {
                                ready.send(()).await?;
                            }
                            positions.push(p);
                        }
                        Some("connection_ack" | "ping" | "pong" | "ka") | None => {}
                        _ => bail!("subscriber {i}: {v}"),
                    }
                }
            }
        }
    }
    Ok(positions)
}

/// What the soak measured.
struct Figures {
    queries: u64,
    mutations: u64,
    levers: usize,
    received: u64,
    last_lag_ms: f64,
    /// Server resident memory at the start, the end, and the most seen (MiB).
    rss: (f64, f64, f64),
}

/// The soak's section of `RELIABILITY.md`.
fn report(args: &Args, f: Figures) -> String {
    let Figures {
        queries: q,
        mutations: m,
        levers,
        received,
        last_lag_ms,
        rss: (rss_start, rss_end, rss_max),
    } = f;
    let mut md = String::from("## Soak\n\n");
    md.push_str(&format!(
        "- when: {}\n- machine: {}\n- command: `make soak` (release build; `placeledger serve` as its own process on loopback, the seeded SQLite store)\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        placeledger_bench::machine()
    ));
    md.push_str("| measure | figure |\n|---|---|\n");
    md.push_str(&format!("| duration | {} s |\n", args.seconds));
    md.push_str(&format!(
        "| forecast queries ({} connections) | {q} |\n",
        args.connections
    ));
    md.push_str(&format!("| mutations | {m} |\n"));
    md.push_str(&format!(
        "| subscribers / levers each must see / messages received | {} / {} / {received} |\n",
        args.subscribers, levers
    ));
    md.push_str("| unexpected errors, missed or out-of-order updates | 0 |\n");
    md.push_str(&format!("| the last lever's update at every subscriber, after its answer (while the load ran) | {last_lag_ms:.0} ms |\n"));
    md.push_str(&format!("| server resident memory: start / end / max | {rss_start:.0} / {rss_end:.0} / {rss_max:.0} MiB |\n"));
    md
}

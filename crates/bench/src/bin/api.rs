//! `placeledger-bench-api`: the GraphQL API under load on the seeded pan-Lancashire history.
//! A district forecast query from 32 concurrent connections (requests/s, p50/p99 latency),
//! and a subscription fan-out: 1,000 WebSocket subscribers of `sufficiencyChanged`, one
//! mutation, and how long until the last of them has the change. The server runs in this
//! process on loopback, as `placeledger serve` would. Writes its section of `BENCHMARKS.md`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use placeledger_api::http::App;
use placeledger_api::limit::Rate;
use placeledger_app::{Live, ReadModels};
use placeledger_app::{Role, tokens};
use placeledger_bench::post;
use placeledger_domain::AuthorityCode;
use serde_json::json;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "placeledger-bench-api", about = "Benchmarks the GraphQL API")]
struct Args {
    #[arg(long, default_value = "seeds/reference")]
    reference: PathBuf,
    /// Seconds of load.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Concurrent connections of the load.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// WebSocket subscribers of the fan-out.
    #[arg(long, default_value_t = 1_000)]
    subscribers: usize,
    #[arg(long, default_value = "BENCHMARKS.md")]
    output: PathBuf,
}

const PRESTON: &str = "E07000123";
const QUERY: &str = "query($f: ForecastFilter!) { forecast(filter: $f) { position
  rows { districtName year phase kind need demand { p10 p50 p90 } capacity surplus { p50 } deficit annualCost } } }";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (_dir, backend, seed_seconds) = placeledger_bench::seeded_store(&args.reference).await?;
    let store = backend.events.clone();
    eprintln!("seeded in {seed_seconds:.1} s");
    let models = ReadModels::load(&store, &|_, _, _| {}).await?;
    let live = Live::following(models, store.clone());
    // The limiter runs, set above the load: this measures the server, not the limit.
    let app = App::new(
        backend.clone(),
        live,
        Rate {
            per_second: 1e9,
            burst: 1e9,
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app.into_service()).await });
    let url = format!("http://{addr}/graphql");
    let la = AuthorityCode::parse("888")?;
    let (_, token) = tokens::create(&*backend.access, Role::Planner, Some(la), "bench").await?;

    // The district forecast query, warmed once (the forecast is made once per position).
    let body = json!({ "query": QUERY, "variables": { "f": { "authority": "888", "district": PRESTON, "years": [2027, 2028, 2029] } } });
    let client = reqwest::Client::new();
    let started = Instant::now();
    let first = post(&client, &url, &token, &body).await?;
    let cold_ms = started.elapsed().as_secs_f64() * 1e3;
    let rows = first["data"]["forecast"]["rows"]
        .as_array()
        .map_or(0, Vec::len);
    eprintln!("first forecast query (makes the forecast): {cold_ms:.0} ms, {rows} rows");

    let measured = placeledger_bench::load(
        &url,
        &token,
        &body.to_string(),
        args.connections,
        args.seconds,
    )
    .await?;
    let (rps, p50, p99) = (measured.per_second, measured.p50, measured.p99);
    eprintln!(
        "load: {} requests in {:.1} s: {rps:.0}/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
        measured.requests, measured.seconds
    );

    // Fan-out: every subscriber has its first message before the mutation is sent.
    post(&client, &url, &token, &json!({ "query": "mutation { createScenario(input: { id: \"bench-fanout\", name: \"fan-out\", authority: \"888\" }) { version } }" })).await?;
    let ws_url = format!("ws://{addr}/graphql/ws");
    let lever = json!({ "lever": "open_places", "district": PRESTON, "kind": "special_la_maintained", "low_age": 4, "high_age": 10, "from": "2026-09-01", "places": [{ "need": "ASD", "places": 70 }] });
    let mutation = json!({ "query": "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { position } }", "variables": { "i": { "scenario": "bench-fanout", "lever": lever } } });
    let fan = placeledger_bench::fan_out(
        &ws_url,
        &token,
        "subscription { sufficiencyChanged(district: \"E07000123\", scenario: \"bench-fanout\") { position } }",
        args.subscribers,
        async {
            post(&client, &url, &token, &mutation).await?;
            Ok(())
        },
    )
    .await?;
    let (last, median, mutation_ms) = (fan.last_ms, fan.median_ms, fan.trigger_ms);
    eprintln!(
        "fan-out: mutation answered in {mutation_ms:.0} ms; last of {} subscribers {last:.0} ms after it (median {median:.0} ms)",
        fan.subscribers
    );

    let ok = |b: bool| if b { "met" } else { "not met" };
    let mut md = String::new();
    md.push_str("## GraphQL API\n\n");
    md.push_str(&format!(
        "- when: {}\n- machine: {}\n- command: `make bench-api` (release build; the server in the same process on loopback, the seeded SQLite store)\n\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        placeledger_bench::machine()
    ));
    md.push_str("| measure | figure | goal | |\n|---|---|---|---|\n");
    md.push_str(&format!("| district forecast query (Preston, 3 years, {rows} rows), {} connections, {} s | {rps:.0} requests/s | >= 5,000 requests/s | {} |\n", args.connections, args.seconds, ok(rps >= 5_000.0)));
    md.push_str(&format!(
        "| ... latency p50 / p99 | {p50:.2} / {p99:.2} ms | p99 < 20 ms | {} |\n",
        ok(p99 < 20.0)
    ));
    md.push_str(&format!(
        "| first query after a change (makes the forecast) | {cold_ms:.0} ms | - | |\n"
    ));
    md.push_str(&format!("| fan-out: {} subscribers of `sufficiencyChanged`, last one has the change after the mutation's answer | {last:.0} ms (median {median:.0} ms) | < 500 ms | {} |\n", fan.subscribers, ok(last < 500.0)));
    md.push_str(&format!(
        "| ... the mutation itself (`addScenarioLever`) | {mutation_ms:.0} ms | - | |\n"
    ));
    let existing = std::fs::read_to_string(&args.output).unwrap_or_default();
    let out = placeledger_bench::splice_section(&existing, "api", &md);
    std::fs::write(&args.output, &out)
        .with_context(|| format!("writing {}", args.output.display()))?;
    print!("{md}");
    Ok(())
}

//! `make bench-national`: Placeledger at national size on one PostgreSQL, through the
//! `placeledger` binary as a deployment runs it. Into a fresh database: the national synthetic
//! history (`seed load --national`, every English authority), a rebuild of every projection,
//! two API nodes started on it (time to ready, memory), a forecast of one authority (GraphQL)
//! and of all (CLI), the district forecast query from 32 connections, and subscribers of one
//! node (1,000, then 10,000) waiting for a change made through the other. Writes the
//! "national" section of BENCHMARKS.md; SCALING.md's figures are taken from it.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use placeledger_bench::post;
use serde_json::json;
use sqlx::Connection as _;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "placeledger-bench-national",
    about = "Placeledger at national size"
)]
struct Args {
    /// The `placeledger` binary (a release build).
    #[arg(long, default_value = "target/release/placeledger")]
    bin: PathBuf,
    /// The PostgreSQL server; the database `--database` on it is dropped and made again.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    server: String,
    #[arg(long, default_value = "placeledger_national")]
    database: String,
    /// Only the first N authorities (default: every one).
    #[arg(long)]
    authorities: Option<usize>,
    /// Keep what the database holds (a load made before) instead of loading again.
    #[arg(long)]
    keep: bool,
    /// Seconds of query load.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Subscriber counts of the fan-out, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    subscribers: Vec<usize>,
    #[arg(long, default_value = "BENCHMARKS.md")]
    output: PathBuf,
    /// Where the API nodes' logs go (`node-PORT.log`); by default nowhere.
    #[arg(long)]
    node_logs: Option<PathBuf>,
}

/// A `placeledger` process's resident memory now and at its peak (MiB), from /proc.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Runs `placeledger` to the end: seconds, stdout, and its peak memory (MiB, sampled).
fn run(bin: &PathBuf, url: &str, args: &[&str]) -> anyhow::Result<(f64, String, f64)> {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("running {}", bin.display()))?;
    let pid = child.id();
    // Read its output as it comes, so it never blocks on a full pipe.
    let mut stdout = child.stdout.take().context("the child's stdout")?;
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).map(|_| out)
    });
    let mut peak: f64 = 0.0;
    loop {
        if let Some(status) = child.try_wait()? {
            let seconds = started.elapsed().as_secs_f64();
            let out = reader
                .join()
                .map_err(|_| anyhow::anyhow!("reading the child's output"))??;
            if !status.success() {
                bail!("placeledger {}: {status}\n{out}", args.join(" "));
            }
            return Ok((seconds, out, peak));
        }
        peak = peak.max(memory(pid).1);
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A serving node: its process, address and time from start to ready.
struct Node {
    child: Child,
    addr: String,
    started: Instant,
    ready_seconds: f64,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Starts `placeledger serve` and waits until it prints its GraphQL address (it has loaded
/// its read models and listens).
fn start_node(bin: &PathBuf, url: &str, logs: Option<&PathBuf>) -> anyhow::Result<Node> {
    let port = free_port()?;
    let stderr = match logs {
        Some(dir) => Stdio::from(std::fs::File::create(dir.join(format!("node-{port}.log")))?),
        None => Stdio::null(),
    };
    let started = Instant::now();
    let mut child = Command::new(bin)
        .arg("--database-url")
        .arg(url)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--rate-limit",
            "1000000000",
        ])
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()?;
    let stdout = child.stdout.take().context("serve's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(line) => {
                if line?.starts_with("GraphQL:") {
                    break;
                }
            }
            None => bail!("placeledger serve stopped before it was ready"),
        }
    }
    let ready_seconds = started.elapsed().as_secs_f64();
    // Keep reading its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Node {
        child,
        addr: format!("127.0.0.1:{port}"),
        started,
        ready_seconds,
    })
}

/// Sends a node its first command, asking again while it answers TIMEOUT (its ledger is
/// still folding the log; at most half an hour from the node's start).
async fn first_command(
    client: &reqwest::Client,
    node: &Node,
    token: &str,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    let url = format!("http://{}/graphql", node.addr);
    loop {
        match post(client, &url, token, body).await {
            Ok(_) => return Ok(()),
            Err(e)
                if e.to_string().contains("TIMEOUT")
                    && node.started.elapsed() < Duration::from_secs(1_800) => {}
            Err(e) => return Err(e),
        }
    }
}

fn token(bin: &PathBuf, url: &str, role: &str, authority: Option<&str>) -> anyhow::Result<String> {
    let mut args = vec![
        "token",
        "create",
        "--role",
        role,
        "--label",
        "bench-national",
    ];
    if let Some(a) = authority {
        args.extend(["--authority", a]);
    }
    let (_, out, _) = run(bin, url, &args)?;
    Ok(out.trim().to_owned())
}

/// How long a fan-out may take, subscribing included, before it is reported unmeasured.
const FAN_OUT_LIMIT: Duration = Duration::from_secs(300);

const FORECAST: &str = "query($f: ForecastFilter!) { forecast(filter: $f) { position
  rows { districtName year phase kind need demand { p10 p50 p90 } capacity surplus { p50 } deficit annualCost } } }";

/// The "national" section, written again as each row comes.
struct Report {
    md: String,
    output: PathBuf,
}

impl Report {
    fn new(output: PathBuf) -> Report {
        let mut md = String::from("## National\n\n");
        md.push_str(&format!(
            "- when: {}\n- machine: {}\n- command: `make bench-national` (release build; PostgreSQL 15 on the same machine, default settings; every step through the `placeledger` binary)\n\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            placeledger_bench::machine()
        ));
        md.push_str("| measure | figure | goal |\n|---|---|---|\n");
        Report { md, output }
    }

    /// Adds a row and writes the section: a run cut short keeps what it had measured.
    fn row(&mut self, what: &str, figure: String, goal: &str) {
        eprintln!("{what}: {figure}");
        self.md
            .push_str(&format!("| {what} | {figure} | {goal} |\n"));
        let existing = std::fs::read_to_string(&self.output).unwrap_or_default();
        let out = placeledger_bench::splice_section(&existing, "national", &self.md);
        if let Err(e) = std::fs::write(&self.output, &out) {
            eprintln!("writing {}: {e}", self.output.display());
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = std::fs::canonicalize(&args.bin).with_context(|| {
        format!(
            "{}: build it first (make bench-national)",
            args.bin.display()
        )
    })?;
    let url = format!("{}/{}", args.server, args.database);
    let mut report = Report::new(args.output.clone());
    // 1. The national synthetic history, into a fresh database.
    if !args.keep {
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", args.server)).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            args.database
        )))
        .execute(&mut admin)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {}",
            args.database
        )))
        .execute(&mut admin)
        .await?;
        let limit = args.authorities.map(|n| n.to_string());
        let mut load = vec!["seed", "load", "--national"];
        if let Some(n) = &limit {
            load.extend(["--authorities", n.as_str()]);
        }
        let (seconds, out, peak) = run(&bin, &url, &load)?;
        eprint!("{out}");
        report.row(
            "national synthetic history: `seed load --national`",
            format!(
                "{seconds:.0} s ({}); loader peak memory {peak:.0} MiB",
                out.trim().replace('|', "/")
            ),
            "-",
        );
    }
    let mut db = sqlx::PgConnection::connect(&url).await?;
    let (events, streams, authorities): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT coalesce(max(position), 0) FROM events), \
                (SELECT count(DISTINCT stream_id) FROM events), \
                (SELECT count(*) FROM events WHERE event_type = 'AuthorityRegistered')",
    )
    .fetch_one(&mut db)
    .await?;
    let (plans,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM events WHERE event_type = 'PlanIssued'")
            .fetch_one(&mut db)
            .await?;
    let (db_bytes, events_bytes): (i64, i64) = sqlx::query_as(
        "SELECT pg_database_size(current_database()), pg_total_relation_size('events')",
    )
    .fetch_one(&mut db)
    .await?;
    let mib = |b: i64| b as f64 / 1024.0 / 1024.0;
    report.row(
        "events / streams / plans issued / authorities registered",
        format!("{events} / {streams} / {plans} / {authorities}"),
        "15-20 million events, ~150 authorities",
    );
    report.row(
        "database size (events table with its indexes)",
        format!(
            "{:.0} MiB ({:.0} MiB); {:.0} bytes an event",
            mib(db_bytes),
            mib(events_bytes),
            events_bytes as f64 / events.max(1) as f64
        ),
        "-",
    );

    // Events a year: each event's own date (when the review was held, the placement started,
    // ...), the figure SCALING.md grows from.
    let by_year: Vec<(String, i64)> = sqlx::query_as(
        "SELECT y, count(*) FROM (SELECT substr(coalesce(payload->>'held_on', \
            payload->>'started_on', payload->>'ended_on', payload->>'registered_on', \
            payload->>'requested_on', payload->>'decided_on', payload->>'issued_on', \
            payload->>'ceased_on', payload->>'opened_on', payload->>'closed_on', \
            payload->>'from'), 1, 4) AS y FROM events) d \
         WHERE y BETWEEN '2016' AND '2025' GROUP BY y ORDER BY y",
    )
    .fetch_all(&mut db)
    .await?;
    if let (Some(first), Some(last)) = (by_year.first(), by_year.last()) {
        let years = by_year.len().saturating_sub(1).max(1) as f64;
        let growth = ((last.1 as f64 / first.1.max(1) as f64).powf(1.0 / years) - 1.0) * 100.0;
        report.row(
            "dated events a year (the date each event is about), by calendar year",
            format!(
                "{}; {growth:.1}% a year {}-{}",
                by_year
                    .iter()
                    .map(|(y, n)| format!("{y}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                first.0,
                last.0
            ),
            "-",
        );
    }

    // 2. Every projection folded again from position 0.
    let (seconds, _, peak) = run(&bin, &url, &["projections", "rebuild"])?;
    report.row(
        "projection rebuild, every projection from position 0",
        format!(
            "{seconds:.0} s ({:.1} min), {:.0} events/s; peak memory {peak:.0} MiB",
            seconds / 60.0,
            events as f64 / seconds
        ),
        "-",
    );

    serve_and_query(&args, &bin, &url, &mut db, &mut report).await
}

/// Two API nodes on the national database: start, memory, commands, forecasts, query load and
/// subscribers.
async fn serve_and_query(
    args: &Args,
    bin: &PathBuf,
    url: &str,
    db: &mut sqlx::PgConnection,
    report: &mut Report,
) -> anyhow::Result<()> {
    // 3. Two API nodes on the one database.
    let logs = args.node_logs.as_ref();
    let first = start_node(bin, url, logs)?;
    let second = start_node(bin, url, logs)?;
    let (rss_first, _) = memory(first.child.id());
    let (rss_second, _) = memory(second.child.id());
    report.row(
        "API node: start to ready (read models from their checkpoints), first / second node",
        format!(
            "{:.1} s / {:.1} s",
            first.ready_seconds, second.ready_seconds
        ),
        "-",
    );
    report.row(
        "API node resident memory when ready, first / second",
        format!("{rss_first:.0} / {rss_second:.0} MiB"),
        "bounded: not all events held",
    );

    // 4. Forecasts: one authority through GraphQL, every authority through the CLI.
    // The authority with the most plans issued, and its most populous district (by plans'
    // children registered there): the largest forecast and the busiest query.
    let (authority, name): (String, String) = sqlx::query_as(
        "SELECT a.payload->>'authority', a.payload->>'name' FROM events a \
         JOIN (SELECT substr(payload->>'child', 5, 3) AS la, count(*) AS n FROM events \
               WHERE event_type = 'PlanIssued' GROUP BY 1) p ON p.la = a.payload->>'authority' \
         WHERE a.event_type = 'AuthorityRegistered' ORDER BY p.n DESC LIMIT 1",
    )
    .fetch_one(&mut *db)
    .await?;
    let (district, district_name): (String, String) = sqlx::query_as(
        "SELECT c.payload->>'district', d.payload->>'name' FROM events c \
         JOIN events d ON d.event_type = 'DistrictRegistered' \
              AND d.payload->>'district' = c.payload->>'district' \
         WHERE c.event_type = 'ChildRegistered' AND c.payload->>'authority' = $1 \
         GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1",
    )
    .bind(&authority)
    .fetch_one(&mut *db)
    .await?;
    let planner = token(bin, url, "planner", Some(&authority))?;
    let client = reqwest::Client::new();
    let http = |n: &Node| format!("http://{}/graphql", n.addr);
    // The first command on the second node waits for its ledger (the domain state commands
    // are decided on, folded from the whole log when the node starts); a request that gives
    // up after 30 s is asked again.
    let scenario = format!("bench-national-{}", chrono::Utc::now().timestamp());
    let create = |id: &str, name: &str| json!({ "query": format!("mutation {{ createScenario(input: {{ id: \"{id}\", name: \"{name}\", authority: \"{authority}\" }}) {{ version }} }}") });
    first_command(
        &client,
        &second,
        &planner,
        &create(&scenario, "national fan-out"),
    )
    .await?;
    let commands_ready = second.started.elapsed().as_secs_f64();
    // And the first node's, so nothing below is measured while a node is still folding.
    first_command(
        &client,
        &first,
        &planner,
        &create(&format!("{scenario}-warm"), "warm-up"),
    )
    .await?;
    let (rss_ledger, _) = memory(second.child.id());
    report.row(
        "API node: start to its first command answered (no ledger snapshot yet: its ledger folds the whole log once, in the background, then saves a snapshot)",
        format!("{commands_ready:.0} s; node memory then {rss_ledger:.0} MiB"),
        "-",
    );
    // A node started now (a restart, or one more node) finds the snapshot the others saved:
    // its ledger starts from it and folds only what came after.
    let third = start_node(bin, url, logs)?;
    first_command(
        &client,
        &third,
        &planner,
        &create(&format!("{scenario}-snapshot"), "after the snapshot"),
    )
    .await?;
    let from_snapshot = third.started.elapsed().as_secs_f64();
    let (rss_third, _) = memory(third.child.id());
    drop(third);
    report.row(
        "API node started once a ledger snapshot is saved: start to its first command answered",
        format!("{from_snapshot:.1} s; node memory then {rss_third:.0} MiB"),
        "-",
    );
    let district = district.as_str();
    let body = json!({ "query": FORECAST, "variables": { "f": { "authority": authority, "district": district, "years": [2027, 2028, 2029] } } });
    let started = Instant::now();
    let answer = post(
        &client,
        &http(&second),
        &planner,
        &json!({ "query": FORECAST, "variables": { "f": { "authority": authority } } }),
    )
    .await?;
    let one_ms = started.elapsed().as_secs_f64() * 1e3;
    let rows = answer["data"]["forecast"]["rows"]
        .as_array()
        .map_or(0, Vec::len);
    report.row(
        &format!(
            "forecast of one authority (the largest: {authority} {name}; GraphQL `forecast`, first ask on a node)"
        ),
        format!("{one_ms:.0} ms ({rows} rows)"),
        "-",
    );
    let (seconds, out, peak) = run(bin, url, &["forecast", "run", "--format", "csv"])?;
    report.row(
        "forecast of every authority (`forecast run --format csv`)",
        format!(
            "{seconds:.1} s ({} rows); peak memory {peak:.0} MiB",
            out.lines().count().saturating_sub(1)
        ),
        "-",
    );

    // 5. The district forecast query from 32 connections, on national data.
    post(&client, &http(&second), &planner, &body).await?;
    let measured = placeledger_bench::load(
        &http(&second),
        &planner,
        &body.to_string(),
        args.connections,
        args.seconds,
    )
    .await?;
    report.row(
        &format!(
            "district forecast query ({district_name}, 3 years), {} connections, {} s, one node",
            args.connections, args.seconds
        ),
        format!(
            "{:.0} requests/s; p50 {:.2} ms, p99 {:.2} ms",
            measured.per_second, measured.p50, measured.p99
        ),
        "p99 < 20 ms",
    );

    // 6. Subscribers of the first node; the change is made through the second.
    for (round, n) in args.subscribers.iter().enumerate() {
        let lever = json!({ "lever": "open_places", "district": district, "kind": "special_la_maintained", "low_age": 4, "high_age": 10, "from": "2026-09-01", "places": [{ "need": "ASD", "places": 10 + round }] });
        let mutation = json!({ "query": "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { position } }", "variables": { "i": { "scenario": scenario, "lever": lever } } });
        let fan = tokio::time::timeout(FAN_OUT_LIMIT, placeledger_bench::fan_out(
            &format!("ws://{}/graphql/ws", first.addr),
            &planner,
            &format!("subscription {{ sufficiencyChanged(district: \"{district}\", scenario: \"{scenario}\") {{ position }} }}"),
            *n,
            async {
                post(&client, &http(&second), &planner, &mutation).await?;
                Ok(())
            },
        ))
        .await;
        let (rss, _) = memory(first.child.id());
        let Ok(fan) = fan else {
            report.row(
                &format!(
                    "{n} subscribers on one node, change made through the other: the last has it"
                ),
                format!(
                    "not measured: not every subscriber had its first answer within {} s; node memory {rss:.0} MiB",
                    FAN_OUT_LIMIT.as_secs()
                ),
                "-",
            );
            break;
        };
        let fan = fan?;
        report.row(
            &format!("{n} subscribers on one node, change made through the other: the last has it"),
            format!(
                "{:.0} ms after the mutation's answer (median {:.0} ms; mutation {:.0} ms); node memory {rss:.0} MiB",
                fan.last_ms, fan.median_ms, fan.trigger_ms
            ),
            "-",
        );
    }
    drop(first);
    drop(second);
    Ok(())
}

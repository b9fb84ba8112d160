//! Store benchmark. Not a test: it measures, and writes what it measured to BENCHMARKS.md.
//!
//! For each backend, on a fresh database each time:
//! - batched appends: 1,000,000 events in batches of 1,000, with 1, 8 and 32 writers;
//! - one event per append, with 1, 8 and 32 writers (bounded by a count and a time);
//! - reading every event back in position order;
//! - the delay before a live subscriber (on a second store handle, as another API node
//!   would be) sees an event, while 1,000 events/s are appended.
//!
//! `pg_test_fsync`'s fdatasync figure is recorded before and after each backend's run,
//! because fsync speed on shared disks swings widely.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Parser;
use futures::StreamExt;
use hdrhistogram::Histogram;
use placeledger_store::{
    EventStore, ExpectedVersion, NewEvent, PgStore, SqliteStore, StreamId, subscribe,
};
use serde_json::json;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::SqliteConnectOptions;

/// The allocator `placeledger` itself runs with (crates/cli), so the store is measured as it
/// runs in the product: under glibc's malloc a fifth of a batched append was malloc and free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "placeledger-bench",
    about = "Benchmarks the event store on both backends"
)]
struct Args {
    /// Which backends to run.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<Backend>,
    /// Events appended in each batched scenario.
    #[arg(long, default_value_t = 1_000_000)]
    batched_events: usize,
    /// Events per batched append.
    #[arg(long, default_value_t = 1_000)]
    batch_size: usize,
    /// At most this many events in each one-event-per-append scenario...
    #[arg(long, default_value_t = 1_000_000)]
    single_events: usize,
    /// ...and at most this many seconds.
    #[arg(long, default_value_t = 20)]
    single_seconds: u64,
    /// Concurrent writers, one scenario each.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    writers: Vec<usize>,
    /// Seconds of appending at `--live-rate` while a subscriber measures its delay.
    #[arg(long, default_value_t = 10)]
    live_seconds: u64,
    /// Events per second appended during the subscriber measurement.
    #[arg(long, default_value_t = 1_000)]
    live_rate: u64,
    /// PostgreSQL server to use (a schema of its own is created and dropped).
    #[arg(
        long,
        env = "PLACELEDGER_TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg_url: String,
    /// Folder for SQLite files and pg_test_fsync's test file (same disk as the databases).
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Skip pg_test_fsync (for quick experiments; a report for BENCHMARKS.md should have it).
    #[arg(long)]
    skip_fsync_probe: bool,
    /// Where to write the report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" => Ok(Self::Postgres),
            _ => Err(format!("unknown backend {s:?}: sqlite or postgres")),
        }
    }
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// One measured scenario.
#[derive(Debug)]
struct Row {
    scenario: String,
    writers: usize,
    events: u64,
    seconds: f64,
    p50_us: Option<u64>,
    p99_us: Option<u64>,
}

impl Row {
    fn rate(&self) -> f64 {
        self.events as f64 / self.seconds
    }
}

#[derive(Debug)]
struct BackendReport {
    backend: Backend,
    fsync_before: Option<f64>,
    fsync_after: Option<f64>,
    rows: Vec<Row>,
    live: Option<Live>,
    settings: String,
    reference: Option<Reference>,
}

/// What the PostgreSQL server does with no store in the way, measured in the same run on the
/// same server, so the store's figures can be read against this machine rather than another.
#[derive(Debug)]
struct Reference {
    /// Rows per second through `COPY`, 1,000 rows a transaction, the text prepared in advance.
    copy_rows_per_s: f64,
    /// Rows per second of one-row `INSERT`s, one per transaction, from 8 connections.
    insert_rows_per_s: f64,
}

#[derive(Debug)]
struct Live {
    events: u64,
    p50_us: u64,
    p99_us: u64,
    max_us: u64,
}

/// A fresh database per scenario, and a way to drop it afterwards.
struct Fresh {
    store: Arc<dyn EventStore>,
    second: Option<Arc<dyn EventStore>>,
    drop_schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl Fresh {
    async fn new(args: &Args, backend: Backend, second_handle: bool) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => {
                std::fs::create_dir_all(&args.work_dir)?;
                let dir = tempfile::tempdir_in(&args.work_dir)?;
                let url = format!("sqlite:{}", dir.path().join("bench.db").display());
                let open = || async {
                    SqliteStore::open_with(
                        SqliteConnectOptions::from_str(&url)?,
                        Duration::from_millis(10),
                    )
                    .await
                };
                let store: Arc<dyn EventStore> = Arc::new(open().await?);
                let second = if second_handle {
                    Some(Arc::new(open().await?) as Arc<dyn EventStore>)
                } else {
                    None
                };
                Ok(Self {
                    store,
                    second,
                    drop_schema: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::connect(&args.pg_url)
                    .await
                    .context("connecting to PostgreSQL")?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&mut admin)
                    .await?;
                let options = PgConnectOptions::from_str(&args.pg_url)?
                    .options([("search_path", schema.as_str())]);
                let writers = args.writers.iter().copied().max().unwrap_or(1) as u32;
                let store: Arc<dyn EventStore> = Arc::new(
                    PgStore::connect_with(options.clone(), writers + 4, Duration::from_millis(10))
                        .await?,
                );
                let second = if second_handle {
                    Some(Arc::new(
                        PgStore::connect_with(options, 4, Duration::from_millis(10)).await?,
                    ) as Arc<dyn EventStore>)
                } else {
                    None
                };
                Ok(Self {
                    store,
                    second,
                    drop_schema: Some(schema),
                    _dir: None,
                })
            }
        }
    }

    async fn finish(self, args: &Args) -> anyhow::Result<()> {
        drop(self.store);
        drop(self.second);
        if let Some(schema) = self.drop_schema {
            let mut admin = PgConnection::connect(&args.pg_url).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut admin)
                .await?;
        }
        Ok(())
    }
}

/// An event the size of a typical Placeledger event (about 300 bytes of JSON).
fn payload(writer: usize, n: usize) -> serde_json::Value {
    json!({
        "type": "PlacementStarted",
        "child": format!("BENCH-{writer:03}-{n:08}"),
        "started_on": "2025-09-03",
        "at": "setting",
        "urn": "119384",
        "facility": "resourced_provision",
        "note": "synthetic benchmark event; the payload is sized like a real placement event",
    })
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds are valid")
}

/// `writers` tasks append `total` events between them, `per_append` at a time, for at most
/// `limit`. Each writer appends to streams of its own with an exact expected version. Each
/// writer's events are built by a producer task while the previous append is in flight, as
/// an importer parses while the store writes, so building them is not timed as the store's.
async fn appends(
    store: Arc<dyn EventStore>,
    writers: usize,
    total: usize,
    per_append: usize,
    limit: Duration,
) -> anyhow::Result<(u64, f64, Histogram<u64>)> {
    let started = Instant::now();
    let deadline = started + limit;
    let per_writer = total.div_ceil(writers);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            let (tx, mut rx) =
                tokio::sync::mpsc::channel::<(StreamId, ExpectedVersion, Vec<NewEvent>)>(2);
            tokio::spawn(async move {
                let mut written = 0_usize;
                let mut append_no = 0_usize;
                while written < per_writer {
                    let n = per_append.min(per_writer - written);
                    // Streams of ten appends, like a child's or a setting's history.
                    let Ok(stream) = StreamId::parse(format!("bench-{w}-{}", append_no / 10))
                    else {
                        return;
                    };
                    let expected = match append_no % 10 {
                        0 => ExpectedVersion::NoStream,
                        k => ExpectedVersion::Exact((k * per_append) as u64),
                    };
                    let events = (0..n)
                        .map(|i| NewEvent::new("PlacementStarted", 1, payload(w, written + i)))
                        .collect();
                    if tx.send((stream, expected, events)).await.is_err() {
                        return; // the writer stopped at its deadline
                    }
                    written += n;
                    append_no += 1;
                }
            });
            tokio::spawn(async move {
                let mut hist = histogram();
                let mut written = 0_u64;
                while Instant::now() < deadline {
                    let Some((stream, expected, events)) = rx.recv().await else {
                        break;
                    };
                    let n = events.len() as u64;
                    let t = Instant::now();
                    store.append(&stream, expected, events).await?;
                    hist.record(t.elapsed().as_micros().max(1) as u64)?;
                    written += n;
                }
                anyhow::Ok((written, hist))
            })
        })
        .collect();
    let mut events = 0;
    let mut hist = histogram();
    for t in tasks {
        let (n, h) = t.await??;
        events += n;
        hist.add(h)?;
    }
    Ok((events, started.elapsed().as_secs_f64(), hist))
}

async fn read_back(store: &dyn EventStore) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut after = 0;
    let mut count = 0;
    loop {
        let batch = store.read_all(after, 10_000).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        count += batch.len() as u64;
    }
    Ok((count, started.elapsed().as_secs_f64()))
}

fn micros_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Appends at `rate` per second for `seconds` through one handle, while a subscriber on a
/// second handle records how long each event took to reach it.
async fn live(
    writer: Arc<dyn EventStore>,
    reader: Arc<dyn EventStore>,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Live> {
    let start = reader.head_position().await?;
    let total = rate * seconds;
    let mut sub = subscribe(reader, start);
    let receiver = tokio::spawn(async move {
        let mut hist = histogram();
        for _ in 0..total {
            let e = tokio::time::timeout(Duration::from_secs(30), sub.next())
                .await
                .context("the subscriber stalled")?
                .context("the subscription ended")??;
            let sent = e.payload["sent_at_us"].as_u64().unwrap_or(0);
            hist.record(micros_now().saturating_sub(sent).max(1))?;
        }
        anyhow::Ok(hist)
    });
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for i in 0..total {
        tick.tick().await;
        let stream = StreamId::parse(format!("live-{}", i / 10))?;
        let event = NewEvent::new(
            "PlacementStarted",
            1,
            json!({"type": "PlacementStarted", "n": i, "sent_at_us": micros_now()}),
        );
        writer
            .append(&stream, ExpectedVersion::Any, vec![event])
            .await?;
    }
    let hist = receiver.await??;
    Ok(Live {
        events: hist.len(),
        p50_us: hist.value_at_quantile(0.5),
        p99_us: hist.value_at_quantile(0.99),
        max_us: hist.max(),
    })
}

/// The reference points: the same table and indexes as `events` (`LIKE events INCLUDING
/// ALL`, without the append-only trigger), written with no store code in the way. `COPY` gets
/// `total` rows in transactions of `batch` rows, the text of every row prepared before the
/// clock starts; the `INSERT`s are one row per transaction from 8 connections for `seconds`.
async fn pg_reference(
    args: &Args,
    schema: &str,
    total: usize,
    batch: usize,
    seconds: u64,
) -> anyhow::Result<Reference> {
    let options = PgConnectOptions::from_str(&args.pg_url)?.options([("search_path", schema)]);
    let mut conn = PgConnection::connect_with(&options).await?;
    sqlx::query("CREATE TABLE reference_events (LIKE events INCLUDING ALL)")
        .execute(&mut conn)
        .await?;
    let recorded_at = chrono::Utc::now().to_rfc3339();
    let chunks: Vec<String> = (0..total)
        .collect::<Vec<_>>()
        .chunks(batch.max(1))
        .map(|rows| {
            let mut text = String::new();
            for &n in rows {
                let payload = payload(0, n).to_string().replace('\\', "\\\\");
                let _ = writeln!(
                    text,
                    "{}\tcopy-{}\t{}\t{}\tPlacementStarted\t1\t{payload}\t\\N\t\\N\t\\N\t{recorded_at}\t1",
                    n + 1,
                    n / batch.max(1),
                    n % batch.max(1) + 1,
                    uuid::Uuid::now_v7(),
                );
            }
            text
        })
        .collect();
    let started = Instant::now();
    for text in chunks {
        let mut tx = conn.begin().await?;
        let mut copy = tx
            .copy_in_raw(
                "COPY reference_events (position, stream_id, stream_version, event_id, \
                 event_type, schema_version, payload, correlation_id, causation_id, actor, \
                 recorded_at, transaction_id) FROM STDIN",
            )
            .await?;
        // In pieces of 64 kB, as the store sends them: the server parses one while the
        // next is on its way.
        for piece in text.as_bytes().chunks(1 << 16) {
            copy.send(piece).await?;
        }
        copy.finish().await?;
        tx.commit().await?;
    }
    let copy_rows_per_s = total as f64 / started.elapsed().as_secs_f64();

    let next = Arc::new(std::sync::atomic::AtomicI64::new(total as i64 + 1));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let options = options.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut conn = PgConnection::connect_with(&options).await?;
                let mut rows = 0_u64;
                while Instant::now() < deadline {
                    let position = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    sqlx::query(
                        "INSERT INTO reference_events (position, stream_id, stream_version, \
                         event_id, event_type, schema_version, payload, recorded_at, \
                         transaction_id) VALUES ($1, $2, 1, $3, 'PlacementStarted', 1, $4, now(), \
                         pg_current_xact_id())",
                    )
                    .bind(position)
                    .bind(format!("insert-{position}"))
                    .bind(uuid::Uuid::now_v7())
                    .bind(payload(w, position as usize))
                    .execute(&mut conn)
                    .await?;
                    rows += 1;
                }
                anyhow::Ok(rows)
            })
        })
        .collect();
    let mut inserted = 0;
    for w in writers {
        inserted += w.await??;
    }
    let insert_rows_per_s = inserted as f64 / started.elapsed().as_secs_f64();
    Ok(Reference {
        copy_rows_per_s,
        insert_rows_per_s,
    })
}

/// pg_test_fsync's "one 8kB write" fdatasync figure, in operations per second.
fn fdatasync_ops(work_dir: &std::path::Path) -> Option<f64> {
    let binary = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|d| d.path().join("bin/pg_test_fsync"))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("pg_test_fsync"));
    std::fs::create_dir_all(work_dir).ok()?;
    let file = work_dir.join("pg_test_fsync.out");
    let out = std::process::Command::new(binary)
        .args(["-s", "1", "-f"])
        .arg(&file)
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.trim_start().starts_with("fdatasync"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

async fn pg_settings(url: &str) -> anyhow::Result<String> {
    let mut c = PgConnection::connect(url).await?;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, current_setting(name) FROM pg_settings WHERE name IN \
         ('server_version', 'synchronous_commit', 'fsync', 'wal_sync_method', 'shared_buffers', \
          'commit_delay', 'max_wal_size') ORDER BY name",
    )
    .fetch_all(&mut c)
    .await?;
    Ok(rows
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", "))
}

async fn run_backend(args: &Args, backend: Backend) -> anyhow::Result<BackendReport> {
    eprintln!("== {}", backend.name());
    let fsync_before = (!args.skip_fsync_probe)
        .then(|| fdatasync_ops(&args.work_dir))
        .flatten();
    let settings = match backend {
        Backend::Sqlite => "journal_mode=WAL, synchronous=FULL, one writer connection".to_owned(),
        Backend::Postgres => pg_settings(&args.pg_url).await?,
    };
    let mut rows = Vec::new();
    for &writers in &args.writers {
        let fresh = Fresh::new(args, backend, false).await?;
        eprintln!("batched, {writers} writers");
        let (events, seconds, hist) = appends(
            fresh.store.clone(),
            writers,
            args.batched_events,
            args.batch_size,
            Duration::from_secs(3_600),
        )
        .await?;
        rows.push(Row {
            scenario: format!("append, batches of {}", args.batch_size),
            writers,
            events,
            seconds,
            p50_us: Some(hist.value_at_quantile(0.5)),
            p99_us: Some(hist.value_at_quantile(0.99)),
        });
        if writers == args.writers[0] {
            eprintln!("read back");
            let (events, seconds) = read_back(&*fresh.store).await?;
            rows.push(Row {
                scenario: "read all back, pages of 10,000".into(),
                writers: 1,
                events,
                seconds,
                p50_us: None,
                p99_us: None,
            });
        }
        fresh.finish(args).await?;
    }
    for &writers in &args.writers {
        let fresh = Fresh::new(args, backend, false).await?;
        eprintln!("one event per append, {writers} writers");
        let (events, seconds, hist) = appends(
            fresh.store.clone(),
            writers,
            args.single_events,
            1,
            Duration::from_secs(args.single_seconds),
        )
        .await?;
        rows.push(Row {
            scenario: "append, one event each".into(),
            writers,
            events,
            seconds,
            p50_us: Some(hist.value_at_quantile(0.5)),
            p99_us: Some(hist.value_at_quantile(0.99)),
        });
        fresh.finish(args).await?;
    }
    let reference = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            eprintln!("reference: COPY and one-row INSERTs with no store code");
            let fresh = Fresh::new(args, backend, false).await?;
            let schema = fresh.drop_schema.clone().context("a PostgreSQL schema")?;
            let reference = pg_reference(
                args,
                &schema,
                args.batched_events,
                args.batch_size,
                args.single_seconds,
            )
            .await?;
            fresh.finish(args).await?;
            Some(reference)
        }
    };
    eprintln!("live subscriber");
    let fresh = Fresh::new(args, backend, true).await?;
    let second = fresh.second.clone().context("second handle")?;
    let live = live(
        fresh.store.clone(),
        second,
        args.live_rate,
        args.live_seconds,
    )
    .await?;
    fresh.finish(args).await?;
    let fsync_after = (!args.skip_fsync_probe)
        .then(|| fdatasync_ops(&args.work_dir))
        .flatten();
    Ok(BackendReport {
        backend,
        fsync_before,
        fsync_after,
        rows,
        live: Some(live),
        settings,
        reference,
    })
}

fn fmt_rate(r: f64) -> String {
    let r = r.round() as u64;
    let s = r.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_us(us: Option<u64>) -> String {
    match us {
        None => "-".into(),
        Some(us) if us >= 10_000 => format!("{:.0} ms", us as f64 / 1000.0),
        Some(us) if us >= 1_000 => format!("{:.1} ms", us as f64 / 1000.0),
        Some(us) => format!("{us} µs"),
    }
}

fn find(rep: &BackendReport, scenario: &str, writers: usize) -> Option<f64> {
    rep.rows
        .iter()
        .find(|r| r.scenario.starts_with(scenario) && r.writers == writers)
        .map(Row::rate)
}

fn report(args: &Args, command: &str, reports: &[BackendReport]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `placeledger-bench`; do not edit by hand. Reproduce with:\n\n```\n{command}\n```\n"
    );
    let _ = writeln!(
        md,
        "- when: {}\n- machine: {}\n- build: release profile\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        placeledger_bench::machine()
    );
    let _ = writeln!(md, "## Goals\n");
    let _ = writeln!(md, "| goal | measured | met |\n|---|---|---|");
    let pg = reports.iter().find(|r| r.backend == Backend::Postgres);
    let lite = reports.iter().find(|r| r.backend == Backend::Sqlite);
    let mut goal = |name: &str, figure: Option<f64>, target: f64, unit: &str, higher: bool| {
        let (measured, met) = match figure {
            Some(f) => (
                format!("{} {unit}", fmt_rate(f)),
                if (higher && f >= target) || (!higher && f <= target) {
                    "yes"
                } else {
                    "**no**"
                },
            ),
            None => ("not run".into(), "-"),
        };
        let _ = writeln!(md, "| {name} | {measured} | {met} |");
    };
    goal(
        "PostgreSQL batched appends >= 100,000 events/s (1 writer)",
        pg.and_then(|r| find(r, "append, batches", 1)),
        100_000.0,
        "events/s",
        true,
    );
    goal(
        "PostgreSQL one event per append, 8 writers >= 6,000 events/s",
        pg.and_then(|r| find(r, "append, one event", 8)),
        6_000.0,
        "events/s",
        true,
    );
    goal(
        "SQLite batched appends >= 200,000 events/s (1 writer)",
        lite.and_then(|r| find(r, "append, batches", 1)),
        200_000.0,
        "events/s",
        true,
    );
    for r in reports {
        goal(
            &format!(
                "{}: live subscriber sees an event within 50 ms p99 at {} events/s",
                r.backend.name(),
                args.live_rate
            ),
            r.live.as_ref().map(|l| l.p99_us as f64 / 1000.0),
            50.0,
            "ms p99",
            false,
        );
    }
    if let Some(r) = pg.and_then(|r| r.reference.as_ref()) {
        let _ = writeln!(
            md,
            "\nReference points from this run, on this machine and server, with no store code in \
             the way (`LIKE events INCLUDING ALL`: the same columns, checks and indexes): `COPY` \
             of {} rows in transactions of {} rows, the text prepared before the clock started, \
             {} rows/s; one-row `INSERT`s, one per transaction, from 8 connections, {} rows/s.",
            fmt_rate(args.batched_events as f64),
            fmt_rate(args.batch_size as f64),
            fmt_rate(r.copy_rows_per_s),
            fmt_rate(r.insert_rows_per_s)
        );
    }
    let _ = writeln!(
        md,
        "\nReference points the issue measured on another machine of this kind: raw `COPY` into \
         an events table about 137,000 rows/s, multi-row `INSERT` about 37,000, Message DB's \
         one-message-per-transaction `write_message` about 5,700/s with 8 clients.\n"
    );
    for r in reports {
        let _ = writeln!(md, "## {}\n", r.backend.name());
        let _ = writeln!(md, "- settings: {}", r.settings);
        let f =
            |x: Option<f64>| x.map_or("not measured".into(), |v| format!("{} ops/s", fmt_rate(v)));
        let _ = writeln!(
            md,
            "- pg_test_fsync fdatasync (one 8 kB write): {} before, {} after\n",
            f(r.fsync_before),
            f(r.fsync_after)
        );
        let _ = writeln!(
            md,
            "| scenario | writers | events | seconds | events/s | p50 per append | p99 per append |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        for row in &r.rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.1} | {} | {} | {} |",
                row.scenario,
                row.writers,
                fmt_rate(row.events as f64),
                row.seconds,
                fmt_rate(row.rate()),
                fmt_us(row.p50_us),
                fmt_us(row.p99_us)
            );
        }
        if let Some(l) = &r.live {
            let _ = writeln!(
                md,
                "\nLive subscriber on a second store handle (as another API node), {} events at {} events/s: \
                 delay from the start of the append to delivery p50 {}, p99 {}, max {}.\n",
                fmt_rate(l.events as f64),
                args.live_rate,
                fmt_us(Some(l.p50_us)),
                fmt_us(Some(l.p99_us)),
                fmt_us(Some(l.max_us))
            );
        }
    }
    let _ = writeln!(
        md,
        "One-event-per-append scenarios stop at {} events or {} seconds, whichever comes first; \
         every scenario starts on an empty database. Latency is per append call, including the \
         commit's fsync.",
        fmt_rate(args.single_events as f64),
        args.single_seconds
    );
    md
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.writers.is_empty() || args.writers.contains(&0) {
        bail!("--writers needs counts of at least 1");
    }
    let command = std::iter::once(
        "cargo run --release -p placeledger-bench --bin placeledger-bench --".to_owned(),
    )
    .chain(std::env::args().skip(1))
    .collect::<Vec<_>>()
    .join(" ");
    let mut reports = Vec::new();
    for &backend in &args.backends {
        reports.push(run_backend(&args, backend).await?);
    }
    let mut md = report(&args, &command, &reports);
    // The other benchmarks' sections (forecast, api, national files, national) are kept.
    let old = std::fs::read_to_string(&args.output).unwrap_or_default();
    for section in placeledger_bench::sections(&old) {
        md = format!("{}\n\n{section}\n", md.trim_end());
    }
    std::fs::write(&args.output, &md)
        .with_context(|| format!("writing {}", args.output.display()))?;
    print!("{md}");
    Ok(())
}

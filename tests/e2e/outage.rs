//! PostgreSQL stopped (immediate shutdown, as a crash) and started again under load. The test
//! runs a PostgreSQL server of its own (initdb in a temporary folder, a free port), so
//! stopping it disturbs no other test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use placeledger_store::StreamId;
use serde_json::json;

use crate::PRESTON;
use crate::crash as crash_support;
use crate::harness::{self, Server};

/// PostgreSQL's binaries: `PG_BIN`, or the newest under /usr/lib/postgresql.
fn pg_bin(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Path::new(&dir).join(name);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's binaries under /usr/lib/postgresql (or set PG_BIN)")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    versions.sort();
    versions.last().unwrap().join("bin").join(name)
}

/// A throwaway PostgreSQL server; stopped and removed when dropped.
struct PrivatePg {
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePg {
    /// `initdb` and `pg_ctl` refuse to run as root: as root, run them as `postgres`.
    fn run(&self, bin: &str, args: &[&str]) -> bool {
        let root = std::env::var("USER").is_ok_and(|u| u == "root")
            || Command::new("id")
                .arg("-u")
                .output()
                .is_ok_and(|o| o.stdout.starts_with(b"0"));
        let mut cmd = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_bin(bin));
            c
        } else {
            Command::new(pg_bin(bin))
        };
        cmd.args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn start_new() -> PrivatePg {
        let dir = tempfile::tempdir().unwrap();
        // The postgres user must own the folder when the test runs as root.
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = PrivatePg { dir, port };
        let data = pg.data();
        assert!(
            pg.run(
                "initdb",
                &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"]
            ),
            "initdb"
        );
        pg.start();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on",
            self.port,
            self.dir.path().display()
        );
        assert!(
            self.run(
                "pg_ctl",
                &["-D", &self.data(), "-o", &options, "-w", "start"]
            ),
            "pg_ctl start"
        );
    }

    /// Stops at once, as a crash would (no checkpoint, connections cut).
    fn stop_immediately(&self) {
        assert!(
            self.run(
                "pg_ctl",
                &["-D", &self.data(), "-m", "immediate", "-w", "stop"]
            ),
            "pg_ctl stop"
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
    }
}

const REGISTER: &str =
    "mutation($i: RegisterChildInput!) { registerChild(input: $i) { stream version } }";

#[derive(Default)]
struct Outcomes {
    acknowledged: Vec<String>,
    /// When each acknowledged write was sent.
    acknowledged_sent: Vec<std::time::Instant>,
    refused: Vec<String>,
    unavailable: Vec<String>,
    outcome_unknown: Vec<String>,
    ready_codes: Vec<u16>,
}

/// The database goes down under a steady stream of mutations and comes back: the server
/// says so on `/readyz` and to clients (`UNAVAILABLE`), reconnects by itself, and keeps every
/// write it acknowledged, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_started_under_load_loses_no_acknowledged_write() {
    let pg = PrivatePg::start_new();
    let url = pg.url();
    crash_support::geography(&url).await;
    let token = crash_support::planner(&url);
    let server = Server::start(&url);
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = Server::client_for(&server.base);
    let (o, t, s) = (outcomes.clone(), token.clone(), stop.clone());
    let writer = tokio::spawn(async move {
        for i in 0.. {
            if s.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            let child = format!("OUTAGE-{i:05}");
            let born = if i % 7 == 6 { "2030-01" } else { "2016-05" };
            let vars = json!({ "i": { "child": child, "authority": "888", "born": born,
                "district": PRESTON, "on": "2025-01-06" } });
            let sent = std::time::Instant::now();
            let body = client.try_gql(Some(&t), REGISTER, vars).await.unwrap();
            {
                let mut o = o.lock().unwrap();
                match harness::code(&body) {
                    None => {
                        o.acknowledged.push(child);
                        o.acknowledged_sent.push(sent);
                    }
                    Some("BAD_USER_INPUT") => o.refused.push(child),
                    Some("UNAVAILABLE")
                        if body["errors"][0]["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("may or may not")) =>
                    {
                        o.outcome_unknown.push(child)
                    }
                    Some("UNAVAILABLE") => o.unavailable.push(child),
                    other => panic!("{other:?}: {body}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let ready = |server_base: String, o: Arc<Mutex<Outcomes>>| async move {
        let code = reqwest::get(format!("{server_base}/readyz"))
            .await
            .map_or(0, |r| r.status().as_u16());
        o.lock().unwrap().ready_codes.push(code);
        code
    };
    let acknowledged = |o: &Arc<Mutex<Outcomes>>| o.lock().unwrap().acknowledged.len();
    while acknowledged(&outcomes) < 30 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ready(server.base.clone(), outcomes.clone()).await, 200);

    pg.stop_immediately();
    // While it is down: /readyz says so, and writes are refused as unavailable.
    let mut saw_down = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if ready(server.base.clone(), outcomes.clone()).await == 503 {
            saw_down = true;
            break;
        }
    }
    assert!(saw_down, "/readyz never reported the outage");
    // Writes go on while it is down: once three more have been answered unavailable (or of
    // unknown outcome), none was acknowledged in between.
    let refused = |o: &Arc<Mutex<Outcomes>>| {
        let o = o.lock().unwrap();
        o.unavailable.len() + o.outcome_unknown.len()
    };
    // (A write sent before the outage may be answered during it: it committed first. What
    // must not happen is a write sent while the database is down being acknowledged.)
    let down_seen = std::time::Instant::now();
    let refused_before = refused(&outcomes);
    crate::crash::until(Duration::from_secs(90), || async {
        refused(&outcomes) >= refused_before + 3
    })
    .await;
    let during = acknowledged(&outcomes);
    let sent_while_down = outcomes
        .lock()
        .unwrap()
        .acknowledged_sent
        .iter()
        .filter(|t| **t > down_seen)
        .count();
    assert_eq!(
        sent_while_down, 0,
        "nothing sent while down was acknowledged"
    );

    pg.start();
    // The server reconnects by itself: ready again, and writes are acknowledged again.
    let mut back = false;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if ready(server.base.clone(), outcomes.clone()).await == 200
            && acknowledged(&outcomes) > during + 10
        {
            back = true;
            break;
        }
    }
    assert!(back, "the server did not come back by itself");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();

    let o = std::mem::take(&mut *outcomes.lock().unwrap());
    eprintln!(
        "acknowledged {}, refused {}, unavailable {}, outcome unknown {}; /readyz codes {:?}",
        o.acknowledged.len(),
        o.refused.len(),
        o.unavailable.len(),
        o.outcome_unknown.len(),
        o.ready_codes
    );
    assert!(
        !o.unavailable.is_empty() || !o.outcome_unknown.is_empty(),
        "the outage was felt"
    );
    let store = placeledger_store::connect(&url).await.unwrap();
    let version = |child: &String| {
        let store = store.clone();
        let stream = StreamId::parse(format!("child-{child}")).unwrap();
        async move { store.stream_version(&stream).await.unwrap() }
    };
    for child in &o.acknowledged {
        assert_eq!(
            version(child).await,
            1,
            "{child}: acknowledged, stored once"
        );
    }
    for child in o.refused.iter().chain(&o.unavailable) {
        assert_eq!(version(child).await, 0, "{child}: refused, not stored");
    }
    for child in &o.outcome_unknown {
        assert!(version(child).await <= 1, "{child}: at most once");
    }
    // The read models followed the log through the outage: the last acknowledged child is
    // served.
    let (_, body) = server
        .gql(
            Some(&token),
            "query($c: String!) { childHistory(child: $c) { type } }",
            json!({ "c": o.acknowledged.last().unwrap() }),
        )
        .await;
    assert_eq!(
        body["data"]["childHistory"],
        json!([{ "type": "ChildRegistered" }]),
        "{body}"
    );
}

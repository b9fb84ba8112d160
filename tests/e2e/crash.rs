//! Crashes: `placeledger serve` killed with SIGKILL in the middle of a burst of mutations, of
//! a large import and of bringing its projections up to date, and `placeledger projections
//! rebuild` killed in the middle, on both backends. Every write that was answered with success is stored exactly once; nothing
//! that was answered with an error is; an import is all or nothing; and the projections a
//! restart resumes equal a fresh fold of the whole log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use placeledger_domain::{AuthorityCode, Command, Event, GssCode};
use placeledger_projection::Projection;
use placeledger_store::{EventStore, Pages, StreamId};
use serde_json::{Value, json};

use crate::harness::{self, Server};
use crate::{PRESTON, PgSchema, record};

/// An empty store with Lancashire and Preston registered: enough to record children and open
/// settings.
pub(crate) async fn geography(url: &str) {
    record(
        url,
        vec![
            Command::RegisterAuthority {
                authority: AuthorityCode::parse("888").unwrap(),
                gss: GssCode::parse("E10000017").unwrap(),
                name: "Lancashire".into(),
            },
            Command::RegisterDistrict {
                district: GssCode::parse(PRESTON).unwrap(),
                authority: AuthorityCode::parse("888").unwrap(),
                name: "Preston".into(),
            },
        ],
    )
    .await;
}

pub(crate) fn planner(url: &str) -> String {
    harness::cli(
        url,
        &["token", "create", "--role", "planner", "--authority", "888"],
    )
    .trim()
    .to_owned()
}

async fn store(url: &str) -> Arc<dyn EventStore> {
    placeledger_store::connect(url).await.unwrap()
}

async fn version(store: &Arc<dyn EventStore>, stream: &str) -> u64 {
    store
        .stream_version(&StreamId::parse(stream).unwrap())
        .await
        .unwrap()
}

/// Every event stored after `position`, decoded.
async fn log_after(store: &Arc<dyn EventStore>, position: u64) -> Vec<Event> {
    let mut out = Vec::new();
    let mut pages = Pages::new(store, position, 5_000);
    while let Some(batch) = pages.next().await.unwrap() {
        for e in &batch {
            out.push(
                placeledger_codec::decode(&e.event_type, e.schema_version, &e.payload).unwrap(),
            );
        }
    }
    out
}

/// Every event of the log, decoded.
async fn log(store: &Arc<dyn EventStore>) -> Vec<Event> {
    log_after(store, 0).await
}

/// Events stored after `position`. Not a difference of head positions: on PostgreSQL a
/// transaction cut off after it took its positions rolls back and leaves them as a gap.
async fn stored_after(store: &Arc<dyn EventStore>, position: u64) -> u64 {
    log_after(store, position).await.len() as u64
}

/// The saved state of projection `P` equals a fresh fold of the whole log, at the head.
async fn saved_equals_fresh<P: Projection>(store: &Arc<dyn EventStore>, events: &[Event]) {
    let head = store.head_position().await.unwrap();
    let saved = store.load_checkpoint(P::NAME).await.unwrap().unwrap();
    assert_eq!(saved.position, head, "{} resumed to the head", P::NAME);
    let mut fresh = P::default();
    fresh.apply_all(events);
    let saved: Value = serde_json::from_str(&saved.state).unwrap();
    assert!(
        saved == serde_json::to_value(&fresh).unwrap(),
        "{}: the saved state differs from a fresh fold",
        P::NAME
    );
}

async fn every_projection_equals_a_fresh_fold(url: &str) {
    let store = store(url).await;
    let events = log(&store).await;
    saved_equals_fresh::<placeledger_caseload::Caseload>(&store, &events).await;
    saved_equals_fresh::<placeledger_capacity::Capacity>(&store, &events).await;
    saved_equals_fresh::<placeledger_mainstream::Mainstream>(&store, &events).await;
    saved_equals_fresh::<placeledger_costs::Costs>(&store, &events).await;
    saved_equals_fresh::<placeledger_sharing::Sharing>(&store, &events).await;
    saved_equals_fresh::<placeledger_scenarios::Scenarios>(&store, &events).await;
    saved_equals_fresh::<placeledger_placements::Placements>(&store, &events).await;
}

const REGISTER: &str =
    "mutation($i: RegisterChildInput!) { registerChild(input: $i) { stream version } }";

/// Four clients register children as fast as they can (one request in five refused by the
/// domain: born after the date it is recorded); the server is killed once 80 have been
/// acknowledged, then started again.
async fn killed_mid_burst(url: &str) {
    geography(url).await;
    let token = planner(url);
    let mut server = Server::start(url);
    #[derive(Default)]
    struct Outcomes {
        acknowledged: Vec<String>,
        refused: Vec<String>,
        unanswered: Vec<String>,
    }
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let server_ref = Arc::new(server.base.clone());
    let mut writers = Vec::new();
    for w in 0..4 {
        let (outcomes, token, base) = (outcomes.clone(), token.clone(), server_ref.clone());
        writers.push(tokio::spawn(async move {
            let client = Server::client_for(&base);
            for i in 0.. {
                let child = format!("CRASH-{w}-{i:05}");
                let born = if i % 5 == 4 { "2030-01" } else { "2016-05" };
                let vars = json!({ "i": { "child": child, "authority": "888", "born": born,
                    "district": PRESTON, "on": "2025-01-06" } });
                match client.try_gql(Some(&token), REGISTER, vars).await {
                    Ok(body) if body["errors"].is_null() => {
                        assert_eq!(body["data"]["registerChild"]["version"], 1, "{body}");
                        outcomes.lock().unwrap().acknowledged.push(child);
                    }
                    Ok(body) => {
                        assert_eq!(harness::code(&body), Some("BAD_USER_INPUT"), "{body}");
                        outcomes.lock().unwrap().refused.push(child);
                    }
                    Err(_) => {
                        outcomes.lock().unwrap().unanswered.push(child);
                        return;
                    }
                }
            }
        }));
    }
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if outcomes.lock().unwrap().acknowledged.len() >= 80 {
            break;
        }
    }
    server.kill();
    for w in writers {
        w.await.unwrap();
    }
    let server = Server::start(url);
    let store = store(url).await;
    let o = std::mem::take(&mut *outcomes.lock().unwrap());
    eprintln!(
        "killed after {} acknowledged, {} refused, {} unanswered",
        o.acknowledged.len(),
        o.refused.len(),
        o.unanswered.len()
    );
    assert!(o.refused.len() >= 10, "the burst had refusals in it");
    for child in &o.acknowledged {
        assert_eq!(
            version(&store, &format!("child-{child}")).await,
            1,
            "{child}: acknowledged, stored once"
        );
    }
    for child in &o.refused {
        assert_eq!(
            version(&store, &format!("child-{child}")).await,
            0,
            "{child}: refused, not stored"
        );
    }
    for child in &o.unanswered {
        assert!(
            version(&store, &format!("child-{child}")).await <= 1,
            "{child}: at most once"
        );
    }
    // The restarted server serves what was acknowledged.
    let (_, body) = server
        .gql(
            Some(&token),
            "query($c: String!) { childHistory(child: $c) { type } }",
            json!({ "c": o.acknowledged[0] }),
        )
        .await;
    assert_eq!(
        body["data"]["childHistory"],
        json!([{ "type": "ChildRegistered" }]),
        "{body}"
    );
    every_projection_equals_a_fresh_fold(url).await;
}

/// A settings file of `rows` new special schools in Preston.
fn settings_file(rows: u32) -> String {
    let mut csv = String::from(
        "urn,name,la_code,district,kind,phase,low_age,high_age,opened_on,commissioned_year,commissioned_places\n",
    );
    for i in 0..rows {
        csv.push_str(&format!(
            "{},Crash School {i} (synthetic),888,{PRESTON},special_la_maintained,all_through,4,19,2021-09-01,2025/26,ASD={}\n",
            800_000 + i,
            1 + i % 20
        ));
    }
    csv
}

const IMPORT: &str =
    "mutation($i: ImportInput!) { importFile(input: $i) { facts newEvents position } }";

/// A large import through the API, the server killed while it runs: after the restart the
/// file is there whole or not at all; importing it again then leaves it there whole, once.
/// Then a projection rebuild is killed half-way, and `projections update` resumes it.
async fn killed_mid_import_and_mid_rebuild(url: &str) {
    geography(url).await;
    let token = planner(url);
    let mut server = Server::start(url);
    let store = store(url).await;
    let before = store.head_position().await.unwrap();
    let rows = 6_000;
    let vars = json!({ "i": { "format": "SETTINGS", "content": settings_file(rows), "fileName": "big.csv" } });
    let client = Server::client_for(&server.base);
    let (t, v) = (token.clone(), vars.clone());
    let requests = requests_received(&server.base).await;
    let import = tokio::spawn(async move { client.try_gql(Some(&t), IMPORT, v).await });
    // Killed once the server has the import (it is then reading, checking or recording the
    // file; where it is does not matter: the outcome must be all or nothing).
    until(Duration::from_secs(60), || async {
        requests_received(&server.base).await > requests
    })
    .await;
    server.kill();
    let answered = import.await.unwrap();
    let stored = stored_after(&store, before).await;
    let facts = u64::from(rows) * 2;
    eprintln!(
        "import killed: answered {:?}; {stored} events stored",
        answered.as_ref().map(|b| b["data"].clone()),
    );
    assert!(stored == 0 || stored == facts, "all or nothing: {stored}");
    if let Ok(body) = &answered
        && body["errors"].is_null()
    {
        assert_eq!(stored, facts, "acknowledged, so stored");
    }
    let server = Server::start(url);
    let (_, body) = server
        .gql(
            Some(&token),
            "mutation($i: ImportInput!) { importFile(input: $i) { newEvents alreadyStored } }",
            vars,
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        stored_after(&store, before).await,
        facts,
        "whole, once: {body}"
    );
    drop(server);

    // `serve` starts by bringing every projection up to the head from its checkpoint (saved
    // when the last server started, before the import), saving as it goes: killed while it
    // does, the next start resumes, and ends where a fresh fold does.
    let starting = std::process::Command::new(harness::BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("PLACELEDGER_DATABASE_URL", url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut starting = starting.unwrap();
    // Killed once a checkpoint has moved but not every one has reached the head (or after
    // 20 s, if that moment was missed).
    let head = store.head_position().await.unwrap();
    for _ in 0..400 {
        let status = harness::cli(url, &["projections", "status"]);
        let positions: Vec<u64> = status
            .lines()
            .filter_map(|l| l.split("position ").nth(1)?.split(' ').next()?.parse().ok())
            .collect();
        if positions.iter().any(|p| *p > 2) && positions.iter().any(|p| *p < head) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = starting.kill();
    let _ = starting.wait();
    eprintln!(
        "serve killed while catching up:\n{}",
        harness::cli(url, &["projections", "status"])
    );
    drop(Server::start(url));
    every_projection_equals_a_fresh_fold(url).await;

    // A rebuild killed part-way (once its first projection is rebuilt, the others not yet),
    // then resumed.
    let mut rebuild = std::process::Command::new(harness::BIN)
        .args(["projections", "rebuild"])
        .env("PLACELEDGER_DATABASE_URL", url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first =
        std::io::BufRead::lines(std::io::BufReader::new(rebuild.stdout.take().unwrap())).next();
    eprintln!("rebuild killed after: {first:?}");
    let _ = rebuild.kill();
    let _ = rebuild.wait();
    eprintln!(
        "after the kill:\n{}",
        harness::cli(url, &["projections", "status"])
    );
    harness::cli(url, &["projections", "update"]);
    every_projection_equals_a_fresh_fold(url).await;
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite:{}", dir.path().join("crash.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_serve_killed_mid_burst_keeps_every_acknowledged_write_once() {
    let dir = tempfile::tempdir().unwrap();
    killed_mid_burst(&sqlite_url(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serve_killed_mid_burst_keeps_every_acknowledged_write_once() {
    let pg = PgSchema::new().await;
    killed_mid_burst(&pg.url).await;
    pg.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_import_and_rebuild_killed_midway_are_all_or_nothing_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    killed_mid_import_and_mid_rebuild(&sqlite_url(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_import_and_rebuild_killed_midway_are_all_or_nothing_and_resume() {
    let pg = PgSchema::new().await;
    killed_mid_import_and_mid_rebuild(&pg.url).await;
    pg.drop_schema().await;
}

/// GraphQL requests the server has received, from its `/metrics`.
async fn requests_received(base: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("placeledger_http_requests_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits until `condition` holds (looking every few milliseconds), failing the test if it
/// does not within `limit`.
pub(crate) async fn until<F, Fut>(limit: Duration, condition: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the condition did not hold within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

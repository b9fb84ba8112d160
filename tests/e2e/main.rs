//! End-to-end: the real `placeledger serve` over HTTP, on a copy of the seeded
//! pan-Lancashire history. Each test starts its own server on its own copy.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod abuse;
mod crash;
mod dimensions;
mod disclosure;
mod harness;
mod high_needs;
mod mainstream;
mod measures;
mod mutations;
mod national;
mod outage;
mod refresh;
mod roles;
mod web;

use harness::{Database, Server, Ws, cli, code};
use reqwest::Method;
use serde_json::{Value, json};

/// Preston, a district of Lancashire (888).
const PRESTON: &str = "E07000123";

fn head(db: &Database) -> u64 {
    head_at(&db.url)
}

/// The store's head position, as `placeledger db status` prints it.
fn head_at(url: &str) -> u64 {
    let out = cli(url, &["db", "status"]);
    out.lines()
        .find_map(|l| l.strip_prefix("head position: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_planner_gets_a_sufficiency_forecast_for_preston() {
    let db = Database::seeded();
    let token = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let (status, body) = server
        .gql(
            Some(&token),
            "query($f: ForecastFilter!) { forecast(filter: $f) { origin position years
               rows { district districtName year phase kind need demand { p10 p50 p90 }
                      capacity surplus { p50 } surplusPct deficit outOfCounty { p50 } annualCost
                      warnings { code message } }
               warnings { authority code message } } }",
            json!({ "f": { "authority": "888", "district": PRESTON } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let f = &body["data"]["forecast"];
    let rows = f["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "{body}");
    assert!(
        rows.iter()
            .all(|r| r["district"] == PRESTON && r["districtName"] == "Preston")
    );
    // Every cell carries a range that contains its median.
    for r in rows {
        let d = &r["demand"];
        assert!(d["p10"].as_i64() <= d["p50"].as_i64() && d["p50"].as_i64() <= d["p90"].as_i64());
    }
    // Specialist places by need, and deficits where the median outruns the places.
    assert!(
        rows.iter()
            .any(|r| r["kind"] == "special" && r["need"].is_string())
    );
    assert!(f["position"].as_u64().unwrap() > 0);
    assert_eq!(f["years"].as_array().unwrap().len(), 10);
    // A deficit, or more than a quarter of the places spare, says so; nothing else does.
    for r in rows {
        let codes: Vec<&str> = r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["code"].as_str().unwrap())
            .collect();
        assert_eq!(r["deficit"] == true, codes.contains(&"deficit"), "{r}");
        let spare = r["surplusPct"]
            .as_str()
            .is_some_and(|p| p.parse::<f64>().unwrap() > 25.0);
        assert_eq!(spare, codes.contains(&"surplus_over_25_percent"), "{r}");
    }
    assert!(
        rows.iter().any(|r| r["deficit"] == true),
        "the seed has deficits in Preston"
    );
    // Lancashire's children are on record: no authority-wide warning.
    assert_eq!(f["warnings"], json!([]), "{}", f["warnings"]);

    // Any cell says how it was made: its steps add up to its demand, its cost rate is its
    // placement types' rates weighted by the children in each, and it names its sources.
    let (_, body) = server
        .gql(
            Some(&token),
            "{ explainForecastCell(cell: { authority: \"888\", district: \"E07000123\", year: 2027,
                                         phase: \"primary\", kind: \"special\" }) {
                 row { demand { p50 } annualCost } origin plansAtOrigin residents method
                 incidencePer1000 keepingInAuthority keepingWithPartner keepingOutside
                 newOrTransferring allocation { step children } costPerPlace
                 costTypes { provision annualCost children } sources warnings { code } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let e = &body["data"]["explainForecastCell"];
    let demand = e["row"]["demand"]["p50"].as_i64().unwrap();
    let steps: i64 = e["allocation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["children"].as_i64().unwrap())
        .sum();
    assert_eq!(steps, demand, "{e}");
    let kept_and_new: f64 = [
        "keepingInAuthority",
        "keepingWithPartner",
        "keepingOutside",
        "newOrTransferring",
    ]
    .iter()
    .map(|k| e[k].as_f64().unwrap())
    .sum();
    assert!((kept_and_new - demand as f64).abs() < 0.5, "{e}");
    assert!(e["residents"].as_f64().unwrap() > 0.0, "{e}");
    assert_eq!(e["method"], "stock_flow");
    let (weighted, children) =
        e["costTypes"]
            .as_array()
            .unwrap()
            .iter()
            .fold((0.0, 0.0), |(w, n), t| {
                let c = t["children"].as_f64().unwrap();
                let cost: f64 = t["annualCost"].as_str().unwrap().parse().unwrap();
                (w + cost * c, n + c)
            });
    let rate: f64 = e["costPerPlace"].as_str().unwrap().parse().unwrap();
    assert!((weighted / children - rate).abs() < 0.01, "{e}");
    assert!(e["sources"].as_array().unwrap().len() >= 3, "{e}");
    // A cell the forecast does not have is not found, in words.
    let (_, body) = server
        .gql(
            Some(&token),
            "{ explainForecastCell(cell: { authority: \"888\", district: \"E07000123\", year: 1990,
                                         phase: \"primary\", kind: \"special\" }) { origin } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );

    // The geography the planner navigates: Preston and its primary and secondary planning
    // areas.
    let (_, body) = server
        .gql(
            Some(&token),
            "{ authorities { code districts { code name planningAreas { code name phase } } } }",
            json!({}),
        )
        .await;
    let lancashire = body["data"]["authorities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "888")
        .unwrap();
    let preston = lancashire["districts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == PRESTON)
        .unwrap();
    let phases: Vec<&str> = preston["planningAreas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert!(
        phases.contains(&"primary") && phases.contains(&"secondary"),
        "{preston}"
    );
}

#[tokio::test]
async fn a_partner_sees_only_suppressed_aggregates_and_is_audited() {
    let db = Database::seeded();
    let partner = db.token("partner", Some("890"));
    let server = Server::start(&db.url);
    let (status, body) = server
        .gql(
            Some(&partner),
            "{ sharedPlaceData(authority: \"888\") { authority position
                 cells { district year phase kind demand capacity suppressed }
                 totals { year phase kind demand capacity } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"]["sharedPlaceData"];
    let cells = data["cells"].as_array().unwrap();
    assert!(!cells.is_empty());
    let small = |v: &Value| v.as_i64().is_some_and(|n| (1..=4).contains(&n));
    for c in cells {
        for f in ["demand", "capacity"] {
            assert!(!small(&c[f]), "a count of 1-4 reached a partner: {c}");
        }
    }
    for t in data["totals"].as_array().unwrap() {
        assert!(!small(&t["demand"]) && !small(&t["capacity"]), "{t}");
        // Secondary suppression: no group has exactly one withheld count beside its total.
        let group: Vec<&Value> = cells
            .iter()
            .filter(|c| {
                c["year"] == t["year"] && c["phase"] == t["phase"] && c["kind"] == t["kind"]
            })
            .collect();
        for f in ["demand", "capacity"] {
            let withheld = group.iter().filter(|c| c[f].is_null()).count();
            assert!(
                withheld != 1 || t[f].is_null(),
                "{f} of {t}: one withheld cell"
            );
        }
    }
    assert!(
        cells.iter().any(|c| c["suppressed"] == true),
        "the seeds have small cells"
    );
    // Placements, shared too: every count of 1-4 withheld, with a second one.
    let (_, body) = server
        .gql(
            Some(&partner),
            "{ placementSummary(authority: \"888\", groupBy: [DISTRICT, KIND]) {
                 suppressed total imports exports cells { district kind ncy count } } }",
            json!({}),
        )
        .await;
    let p = &body["data"]["placementSummary"];
    assert_eq!(p["suppressed"], true, "{body}");
    let counts: Vec<&Value> = p["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["count"])
        .collect();
    assert!(counts.iter().all(|c| !small(c)), "{body}");
    let withheld = counts.iter().filter(|c| c.is_null()).count();
    assert!(withheld >= 2, "the seeds have small cells: {withheld}");
    assert!(!small(&p["imports"]) && !small(&p["exports"]) && !small(&p["total"]));
    // Nothing child-level is reachable for a partner.
    let (_, body) = server
        .gql(
            Some(&partner),
            "{ caseloadHistory(authority: \"890\") { year plans } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    // The read is in the audit log.
    let backend = placeledger_app::Backend::connect(&db.url).await.unwrap();
    let audit = backend.access.audit_entries().await.unwrap();
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert_eq!(
        (audit[2].field.as_str(), audit[2].outcome.as_str()),
        ("caseloadHistory", "refused: FORBIDDEN")
    );
    assert_eq!(audit[0].field, "sharedPlaceData");
    assert_eq!(audit[1].field, "placementSummary");
    assert_eq!(audit[0].subjects, "888");
    assert_eq!(audit[0].authority.as_deref(), Some("890"));
}

#[tokio::test]
async fn a_rejected_mutation_leaves_the_store_unchanged() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let create = "mutation($i: CreateScenarioInput!) { createScenario(input: $i) { stream version position } }";
    let (_, body) = server
        .gql(
            Some(&planner),
            create,
            json!({ "i": { "id": "preston-rp", "name": "Preston RP", "authority": "888" } }),
        )
        .await;
    assert_eq!(body["data"]["createScenario"]["version"], 1, "{body}");
    let before = head(&db);
    // The same id again: the stream is already there.
    let (_, body) = server
        .gql(
            Some(&planner),
            create,
            json!({ "i": { "id": "preston-rp", "name": "again", "authority": "888" } }),
        )
        .await;
    assert_eq!(code(&body), Some("CONFLICT"), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["actualVersion"], 1,
        "{body}"
    );
    // A bad id names its field.
    let (_, body) = server
        .gql(
            Some(&planner),
            create,
            json!({ "i": { "id": "Not An Id!", "name": "x", "authority": "888" } }),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "input.id",
        "{body}"
    );
    let add = "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { version } }";
    // A lever that is not a lever.
    let (_, body) = server
        .gql(
            Some(&planner),
            add,
            json!({ "i": { "scenario": "preston-rp", "lever": { "grow": 2 } } }),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["field"], "input.lever",
        "{body}"
    );
    // A stale expected version.
    let lever = json!({ "lever": "incidence_multiplier", "authority": "888", "multiplier": "1.1" });
    let (_, body) = server
        .gql(
            Some(&planner),
            add,
            json!({ "i": { "scenario": "preston-rp", "lever": lever, "expectedVersion": 7 } }),
        )
        .await;
    assert_eq!(code(&body), Some("CONFLICT"), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["actualVersion"], 1,
        "{body}"
    );
    // An unknown scenario.
    let (_, body) = server
        .gql(
            Some(&planner),
            add,
            json!({ "i": { "scenario": "nowhere", "lever": lever } }),
        )
        .await;
    assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    assert_eq!(head(&db), before, "a refused mutation wrote something");
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let db = Database::seeded();
    let token = db.token("analyst", Some("888"));
    let server = Server::start(&db.url);
    let auth = format!("Bearer {token}");
    let json_ct = ("content-type", "application/json");
    let gr = ("accept", "application/graphql-response+json");
    // Malformed JSON.
    let (status, ct, body) = server
        .raw(
            Method::POST,
            "/graphql",
            &[json_ct, ("authorization", &auth)],
            b"{\"query\": ".to_vec(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(ct.starts_with("application/json"));
    assert!(body.contains("BAD_REQUEST"), "{body}");
    // The wrong content type.
    let (status, _, body) = server
        .raw(
            Method::POST,
            "/graphql",
            &[("content-type", "text/plain")],
            b"{ viewer { role } }".to_vec(),
        )
        .await;
    assert_eq!(status, 415, "{body}");
    // A syntax error: 400 with graphql-response+json, 200 with application/json.
    let bad = json!({ "query": "{ viewer { role }" })
        .to_string()
        .into_bytes();
    let (status, ct, body) = server
        .raw(Method::POST, "/graphql", &[json_ct, gr], bad.clone())
        .await;
    assert_eq!(
        (status, ct.as_str()),
        (400, "application/graphql-response+json"),
        "{body}"
    );
    assert!(body.contains("GRAPHQL_PARSE_FAILED"), "{body}");
    let (status, _, body) = server.raw(Method::POST, "/graphql", &[json_ct], bad).await;
    assert_eq!(status, 200, "{body}");
    // Too deep (introspection alone is not limited, for signed-in callers: this asks for
    // more).
    let deep = "{ viewer { role } __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }";
    let (status, _, body) = server
        .raw(
            Method::POST,
            "/graphql",
            &[json_ct, gr, ("authorization", &auth)],
            json!({ "query": deep }).to_string().into_bytes(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("GRAPHQL_VALIDATION_FAILED"), "{body}");
    // Too complex: thousands of aliases.
    let wide: String = (0..3_000)
        .map(|i| format!("a{i}: viewer {{ role }} "))
        .collect();
    let (status, _, body) = server
        .raw(
            Method::POST,
            "/graphql",
            &[json_ct, gr, ("authorization", &auth)],
            json!({ "query": format!("{{ {wide} }}") })
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("GRAPHQL_VALIDATION_FAILED"), "{body}");
    // Too large.
    let huge = json!({ "query": format!("{{ viewer {{ role }} }} #{}", "x".repeat(9_000_000)) })
        .to_string()
        .into_bytes();
    let (status, _, _) = server.raw(Method::POST, "/graphql", &[json_ct], huge).await;
    assert_eq!(status, 413);
    // GET reads, but never mutates.
    let (status, _, body) = server
        .raw(
            Method::GET,
            "/graphql?query=%7Bviewer%7Brole%7D%7D",
            &[("authorization", &auth)],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ANALYST"), "{body}");
    let (status, _, body) = server
        .raw(Method::GET, "/graphql?query=mutation%7BcreateScenario(input%3A%7Bid%3A%22x%22%2Cname%3A%22x%22%2Cauthority%3A%22888%22%7D)%7Bversion%7D%7D", &[("authorization", &auth)], Vec::new())
        .await;
    assert_eq!(status, 405, "{body}");
    // An unknown or malformed token is refused outright.
    let (status, _, body) = server
        .raw(
            Method::POST,
            "/graphql",
            &[json_ct, ("authorization", "Bearer plg_0000")],
            json!({ "query": "{ viewer { role } }" })
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("UNAUTHENTICATED"), "{body}");
    // Health, readiness, metrics and GraphiQL.
    let (status, _, _) = server.raw(Method::GET, "/healthz", &[], Vec::new()).await;
    assert_eq!(status, 200);
    // Readiness also says whether commands can be decided yet: the node opens its ledger in
    // the background as it starts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (status, _, body) = server.raw(Method::GET, "/readyz", &[], Vec::new()).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.starts_with("ready: store head "), "{body}");
        if body.contains("; ledger open (folded the whole log)") {
            break;
        }
        assert!(body.contains("; ledger not open yet"), "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "the ledger never opened: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, _, body) = server.raw(Method::GET, "/metrics", &[], Vec::new()).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("placeledger_graphql_errors_total{code=\"GRAPHQL_VALIDATION_FAILED\"}"),
        "{body}"
    );
    let (status, ct, body) = server.raw(Method::GET, "/graphiql", &[], Vec::new()).await;
    assert_eq!(status, 200);
    assert!(
        ct.starts_with("text/html") && body.contains("graphiql"),
        "{ct}"
    );
}

/// Records commands straight into the store (another process, as an importer would).
async fn record(url: &str, commands: Vec<placeledger_domain::Command>) {
    let store = placeledger_store::connect(url).await.unwrap();
    let mut ledger = placeledger_ledger::Ledger::open(store).await.unwrap();
    ledger
        .execute(&commands, &placeledger_ledger::Context::actor("e2e"))
        .await
        .unwrap();
}

/// A new special school in Preston with `places` commissioned places.
fn new_special_school(urn: &str, places: i64) -> Vec<placeledger_domain::Command> {
    use placeledger_domain::*;
    let urn = Urn::parse(urn).unwrap();
    vec![
        Command::OpenSetting(OpenSetting {
            urn,
            name: format!("Test special school {urn}"),
            authority: AuthorityCode::parse("888").unwrap(),
            district: GssCode::parse(PRESTON).unwrap(),
            planning_area: None,
            kind: SettingKind::SpecialMaintained,
            phase: Phase::Primary,
            low_age: 4,
            high_age: 11,
            facility: None,
            designated_needs: vec![PrimaryNeed::Asd],
            on: chrono::NaiveDate::from_ymd_opt(2025, 9, 1).unwrap(),
        }),
        Command::CommissionPlaces {
            urn,
            year: AcademicYear::new(2025).unwrap(),
            places: vec![(Some(PrimaryNeed::Asd), places)],
        },
    ]
}

const SHARED: &str = "subscription($a: String!, $from: Int) {
    sharedPlaceData(authority: $a, fromPosition: $from) {
      authority position cells { district year phase kind demand capacity suppressed } } }";

/// Preston's primary special places in the first forecast year, as a partner sees them.
fn preston_special(data: &Value) -> Value {
    let cells = data["sharedPlaceData"]["cells"].as_array().unwrap();
    let first = cells
        .iter()
        .map(|c| c["year"].as_i64().unwrap())
        .min()
        .unwrap();
    cells
        .iter()
        .find(|c| {
            c["district"] == PRESTON
                && c["phase"] == "primary"
                && c["kind"] == "special"
                && c["year"] == first
        })
        .unwrap()["capacity"]
        .clone()
}

#[tokio::test]
async fn a_partner_subscribes_and_resumes_from_the_last_position_over_both_protocols() {
    let db = Database::seeded();
    let partner = db.token("partner", Some("890"));
    // A partner is sent publications, made every two seconds here (daily by default).
    let server = Server::start_with(&db.url, &["--publish-every", "2"]);
    let auth = json!({ "Authorization": format!("Bearer {partner}") });
    let vars = |from: Option<u64>| json!({ "a": "888", "from": from });
    let position = |d: &Value| d["sharedPlaceData"]["position"].as_u64().unwrap();

    // The current data at once, then again when the places change.
    let (mut ws, ack) = Ws::connect(&server, "graphql-transport-ws", auth.clone()).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws.subscribe("1", SHARED, vars(None)).await;
    let first = ws.data().await;
    let p0 = position(&first);
    record(&db.url, new_special_school("990001", 60)).await;
    let second = ws.data().await;
    let p1 = position(&second);
    assert!(p1 > p0, "{p0} then {p1}");
    assert_ne!(
        preston_special(&first),
        preston_special(&second),
        "the new places show"
    );
    ws.close().await;

    // Missed while away: a client back with the last position it saw gets what changed since,
    // once; one that saw everything gets only what comes next.
    let (mut behind, _) = Ws::connect(&server, "graphql-ws", auth.clone()).await;
    behind.subscribe("a", SHARED, vars(Some(p0))).await;
    assert_eq!(position(&behind.data().await), p1);
    let (mut current, ack) = Ws::connect(&server, "graphql-ws", auth.clone()).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    current.subscribe("b", SHARED, vars(Some(p1))).await;
    record(&db.url, new_special_school("990002", 40)).await;
    let p2 = position(&current.data().await);
    assert!(p2 > p1, "{p1} then {p2}");
    assert_eq!(position(&behind.data().await), p2);
    behind.close().await;
    current.close().await;

    // Refused: no token, a partner its agreement does not name, an unknown token.
    let (mut anon, _) = Ws::connect(&server, "graphql-transport-ws", json!({})).await;
    anon.subscribe("x", SHARED, vars(None)).await;
    // A refused subscription answers with its error, then completes.
    let refused = anon.next().await;
    assert_eq!(refused["payload"]["data"], Value::Null, "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
    assert_eq!(anon.next().await["type"], "complete");
    let outsider = db.token("partner", Some("340"));
    let (mut other, _) = Ws::connect(
        &server,
        "graphql-transport-ws",
        json!({ "Authorization": format!("Bearer {outsider}") }),
    )
    .await;
    other.subscribe("y", SHARED, vars(None)).await;
    let refused = other.next().await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    assert_eq!(other.next().await["type"], "complete");
    let (_, answer) = Ws::connect(
        &server,
        "graphql-transport-ws",
        json!({ "Authorization": "Bearer plg_nope" }),
    )
    .await;
    assert_ne!(answer["type"], "connection_ack", "{answer}");
}

/// A PostgreSQL schema of its own holding the seeded history, its projections up to date.
async fn seeded_postgres() -> PgSchema {
    let pg = PgSchema::new().await;
    cli(&pg.url, &["seed", "load"]);
    cli(&pg.url, &["projections", "update"]);
    pg
}

/// A PostgreSQL schema of its own for one test, dropped at the end.
struct PgSchema {
    url: String,
    schema: String,
}

fn pg_base() -> String {
    std::env::var("PLACELEDGER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl PgSchema {
    async fn new() -> PgSchema {
        use sqlx::Connection;
        let schema = format!("e2e_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(&pg_base())
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {}: {e}", pg_base()));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut c)
            .await
            .unwrap();
        let url = format!("{}?options=-csearch_path%3D{schema}", pg_base());
        PgSchema { url, schema }
    }

    async fn drop_schema(self) {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&pg_base()).await.unwrap();
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.schema
        )))
        .execute(&mut c)
        .await;
    }
}

/// Two API nodes on one PostgreSQL database: a lever added through one reaches a subscriber
/// of the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_a_mutation_on_one_reaches_a_subscriber_on_the_other() {
    let pg = seeded_postgres().await;
    let planner = cli(
        &pg.url,
        &["token", "create", "--role", "planner", "--authority", "888"],
    );
    let planner = planner.trim().to_owned();
    let a = Server::start(&pg.url);
    let b = Server::start(&pg.url);

    let (_, body) = a
        .gql(
            Some(&planner),
            "mutation($i: CreateScenarioInput!) { createScenario(input: $i) { version position } }",
            json!({ "i": { "id": "preston-70", "name": "70 places in Preston", "authority": "888" } }),
        )
        .await;
    assert_eq!(body["data"]["createScenario"]["version"], 1, "{body}");

    // Node B learns of the scenario from the shared database, then serves its forecast.
    let auth = json!({ "Authorization": format!("Bearer {planner}") });
    let query =
        "subscription { sufficiencyChanged(district: \"E07000123\", scenario: \"preston-70\") {
                   position rows { year phase kind need capacity surplus { p50 } } } }";
    let mut first = Value::Null;
    for attempt in 0..100 {
        let (mut ws, _) = Ws::connect(&b, "graphql-transport-ws", auth.clone()).await;
        ws.subscribe("s", query, json!({})).await;
        let msg = ws.next().await;
        if msg["type"] == "next" && msg["payload"]["errors"].is_null() {
            first = msg["payload"]["data"]["sufficiencyChanged"].clone();
            // Keep this subscription: the change must reach it.
            let capacity = |d: &Value| -> i64 {
                d["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["kind"] == "special" && r["need"].is_null() && r["year"] == 2028)
                    .map(|r| r["capacity"].as_i64().unwrap_or(0))
                    .sum()
            };
            let lever = json!({ "lever": "open_places", "district": PRESTON, "kind": "special_la_maintained",
                                "low_age": 4, "high_age": 10, "from": "2026-09-01",
                                "places": [{ "need": "ASD", "places": 70 }] });
            let (_, body) = a
                .gql(
                    Some(&planner),
                    "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { version position } }",
                    json!({ "i": { "scenario": "preston-70", "lever": lever, "expectedVersion": 1 } }),
                )
                .await;
            let written = body["data"]["addScenarioLever"]["position"]
                .as_u64()
                .unwrap();
            let next = ws.data().await["sufficiencyChanged"].clone();
            assert!(next["position"].as_u64().unwrap() >= written, "{next}");
            assert_eq!(
                capacity(&next) - capacity(&first),
                70,
                "the 70 places reached node B"
            );
            ws.close().await;
            break;
        }
        assert_eq!(
            msg["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "attempt {attempt}: {msg}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!first.is_null(), "node B never saw the scenario");

    // A partner's open subscription on node B ends within a second of the token being
    // revoked (by the CLI, as an administrator would), with 4403, and the ending is audited;
    // node A refuses the token on its next request.
    let (id, secret) = abuse::token_with_id(&pg.url, "partner", "890");
    let auth = json!({ "Authorization": format!("Bearer {secret}") });
    let (mut ws, ack) = Ws::connect(&b, "graphql-transport-ws", auth).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws.subscribe(
        "p",
        "subscription { placementsChanged(authority: \"888\", groupBy: [DISTRICT]) { total } }",
        json!({}),
    )
    .await;
    let message = ws.next().await;
    assert_eq!(message["type"], "next", "{message}");
    abuse::revoke_and_see_it_hold(&pg.url, &id, &secret, &mut ws, &a).await;
    drop((a, b));
    pg.drop_schema().await;
}

#[tokio::test]
async fn a_planner_opens_70_places_in_a_scenario_and_compares_it_with_the_baseline() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let (_, body) = server
        .gql(
            Some(&planner),
            "mutation($i: CreateScenarioInput!) { createScenario(input: $i) { version } }",
            json!({ "i": { "id": "preston-70", "name": "70 ASD places in Preston", "authority": "888" } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let lever = json!({ "lever": "open_places", "district": PRESTON, "kind": "special_la_maintained",
                        "low_age": 4, "high_age": 10, "from": "2026-09-01",
                        "places": [{ "need": "ASD", "places": 70 }] });
    let (_, body) = server
        .gql(
            Some(&planner),
            "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { version } }",
            json!({ "i": { "scenario": "preston-70", "lever": lever, "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(body["data"]["addScenarioLever"]["version"], 2, "{body}");
    let (_, body) = server
        .gql(
            Some(&planner),
            "{ scenarios { id authority levers } }",
            json!({}),
        )
        .await;
    let scenarios = body["data"]["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 1, "{body}");
    assert_eq!(
        scenarios[0]["levers"][0]["places"][0]["places"], 70,
        "{body}"
    );
    let (_, body) = server
        .gql(
            Some(&planner),
            "{ compareScenarios(scenario: \"preston-70\") { against totalCost costByYear { year annualCost }
                 capitalCost capitalItems { kind places perPlace cost priceYear source }
                 changes { district year phase kind need capacity surplus deficitBefore deficitAfter } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let c = &body["data"]["compareScenarios"];
    assert!(c["against"].is_null());
    // 70 special places cost what one cost in Lancashire's 2025 expansion, with its source.
    let item = &c["capitalItems"][0];
    assert_eq!(
        (&item["kind"], &item["places"]),
        (&json!("special"), &json!(70)),
        "{c}"
    );
    let per_place: f64 = item["perPlace"].as_str().unwrap().parse().unwrap();
    let capital: f64 = c["capitalCost"].as_str().unwrap().parse().unwrap();
    assert!((capital - 70.0 * per_place).abs() < 0.01, "{c}");
    assert!(
        item["source"]
            .as_str()
            .unwrap()
            .contains("cabinet decision"),
        "{c}"
    );
    let changes = c["changes"].as_array().unwrap();
    // Exactly Preston's primary special places change, by 70, from the first January after
    // they open.
    let capacity: Vec<&Value> = changes.iter().filter(|x| x["capacity"] != 0).collect();
    assert!(!capacity.is_empty(), "{body}");
    for x in &capacity {
        assert_eq!(
            (&x["district"], &x["phase"], &x["kind"], &x["capacity"]),
            (
                &json!(PRESTON),
                &json!("primary"),
                &json!("special"),
                &json!(70)
            ),
            "{x}"
        );
        assert!(x["year"].as_i64().unwrap() >= 2027, "{x}");
    }
    // A scenario is its authority's: with demand levers for "every authority" and more
    // places in Preston, Blackburn with Darwen's and Blackpool's forecasts are the same to
    // the byte, over GraphQL and from the CLI; Lancashire's are not.
    for (version, lever) in [
        (
            2,
            json!({ "lever": "incidence_multiplier", "multiplier": "1.3" }),
        ),
        (
            3,
            json!({ "lever": "shift_new_plans", "need": "ASD", "ages": { "from": 4, "to": 15 },
                    "to": "mainstream_academy_resourced_provision", "percent": "50" }),
        ),
    ] {
        let (_, body) = server
            .gql(
                Some(&planner),
                "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { version } }",
                json!({ "i": { "scenario": "preston-70", "lever": lever, "expectedVersion": version } }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let admin = db.token("admin", None);
    let rows = |authority: &'static str, scenario: Option<&'static str>| {
        let (server, admin) = (&server, &admin);
        async move {
            let (_, body) = server
                .gql(
                    Some(admin),
                    "query($f: ForecastFilter!) { forecast(filter: $f) { rows { district year phase
                       kind need demand { p10 p50 p90 } capacity surplus { p10 p50 p90 }
                       metInAuthority { p50 } metByPartner { p50 } outOfCounty { p10 p50 p90 }
                       annualCost } } }",
                    json!({ "f": { "authority": authority, "scenario": scenario } }),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
            body["data"]["forecast"]["rows"].to_string()
        }
    };
    for authority in ["889", "890"] {
        assert_eq!(
            rows(authority, None).await,
            rows(authority, Some("preston-70")).await,
            "{authority}'s forecast moved with Lancashire's scenario"
        );
    }
    assert_ne!(
        rows("888", None).await,
        rows("888", Some("preston-70")).await
    );
    let csv = |scenario: Option<&str>| {
        let mut args = vec!["forecast", "run", "--authority", "889", "--format", "csv"];
        args.extend(scenario.map(|s| ["--scenario", s]).into_iter().flatten());
        cli(&db.url, &args)
    };
    assert_eq!(csv(None), csv(Some("preston-70")));

    // The back-test, beside its baselines, for horizons 1 to 3.
    let (_, body) = server
        .gql(
            Some(&planner),
            "{ backtest(authority: \"888\", horizon: 3) { horizon method origins mape bias coverage } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let lines = body["data"]["backtest"].as_array().unwrap();
    for method in ["model", "last_value", "compound_growth"] {
        for h in 1..=3 {
            let line = lines
                .iter()
                .find(|l| l["method"] == method && l["horizon"] == h);
            let line = line.unwrap_or_else(|| panic!("{method} h{h}: {body}"));
            assert!(
                line["origins"].as_i64().unwrap() >= 1 && line["mape"].as_f64().unwrap() >= 0.0
            );
        }
    }
}

#[tokio::test]
async fn a_token_over_its_rate_is_told_to_slow_down() {
    let db = Database::seeded();
    let token = db.token("analyst", Some("888"));
    let other = db.token("analyst", Some("888"));
    let server = Server::start_with(&db.url, &["--rate-limit", "0.5"]);
    let auth = format!("Bearer {token}");
    let body = json!({ "query": "{ viewer { role } }" })
        .to_string()
        .into_bytes();
    let mut limited = 0;
    for _ in 0..6 {
        let (status, _, text) = server
            .raw(
                Method::POST,
                "/graphql",
                &[
                    ("content-type", "application/json"),
                    ("authorization", &auth),
                ],
                body.clone(),
            )
            .await;
        if status == 429 {
            assert!(text.contains("RATE_LIMITED"), "{text}");
            limited += 1;
        } else {
            assert_eq!(status, 200, "{text}");
        }
    }
    // One request, then one every two seconds: six in a row cannot all pass.
    assert!(limited >= 1, "no request was limited");
    // Another token has its own allowance.
    let (status, _) = server
        .gql(Some(&other), "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(status, 200);
}

/// A child of Lancashire's who has never moved: from the store, as a caseworker would know it.
async fn a_lancashire_child(url: &str) -> String {
    let store = placeledger_store::connect(url).await.unwrap();
    let mut after = 0;
    loop {
        let batch = store.read_all(after, 5_000).await.unwrap();
        assert!(!batch.is_empty(), "no Lancashire child in the seeds");
        for e in &batch {
            if e.event_type == "ChildRegistered" && e.payload["authority"] == "888" {
                let stream = placeledger_store::StreamId::parse(&e.stream_id).unwrap();
                let events = store.read_stream(&stream, 0, 1_000).await.unwrap();
                if events.iter().all(|x| x.event_type != "ChildMovedHome") && events.len() >= 3 {
                    return e.payload["child"].as_str().unwrap().to_owned();
                }
            }
        }
        after = batch.last().unwrap().position;
    }
}

#[tokio::test]
async fn settings_page_by_cursor_and_histories_stay_with_their_authority() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let blackpool = db.token("planner", Some("890"));
    let partner = db.token("partner", Some("890"));
    let server = Server::start(&db.url);
    let page = "query($f: SettingsFilter, $after: String) {
        settings(filter: $f, first: 10, after: $after) {
          pageInfo { hasNextPage endCursor }
          edges { cursor node { urn name authority district kind phase places occupancy vacancies open } } } }";
    let filter = json!({ "authority": "888", "kind": "special_la_maintained", "on": "2026-01-15" });
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (_, body) = server
            .gql(Some(&planner), page, json!({ "f": filter, "after": after }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let c = &body["data"]["settings"];
        for e in c["edges"].as_array().unwrap() {
            let n = &e["node"];
            assert_eq!(
                (&n["authority"], &n["kind"], &n["open"]),
                (&json!("888"), &json!("special_la_maintained"), &json!(true)),
                "{n}"
            );
            if let (Some(p), Some(o), Some(v)) = (
                n["places"].as_i64(),
                n["occupancy"].as_i64(),
                n["vacancies"].as_i64(),
            ) {
                assert_eq!(p - o, v, "{n}");
            }
            seen.push(n["urn"].as_str().unwrap().to_owned());
        }
        if c["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = c["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert!(seen.len() > 10, "more than one page: {}", seen.len());
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "every setting once, in URN order");
    // Too big a page, a cursor from elsewhere, another authority's settings.
    let (_, body) = server
        .gql(
            Some(&planner),
            "{ settings(first: 1000) { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "first", "{body}");
    let (_, body) = server
        .gql(
            Some(&planner),
            "{ settings(after: \"not-a-cursor\") { edges { cursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    for token in [&blackpool, &partner] {
        let (_, body) = server.gql(Some(token), page, json!({ "f": filter })).await;
        assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    }

    // A setting's history: its own authority only.
    let urn = &seen[0];
    let q = "query($u: String!) { settingHistory(urn: $u) { position version type actor event } }";
    let (_, body) = server.gql(Some(&planner), q, json!({ "u": urn })).await;
    let events = body["data"]["settingHistory"].as_array().unwrap();
    assert_eq!(events[0]["type"], "SettingOpened", "{body}");
    assert_eq!(events[0]["version"], 1);
    for token in [&blackpool, &partner] {
        let (_, body) = server.gql(Some(token), q, json!({ "u": urn })).await;
        assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    }
    // A child's history: its home authority only; to anyone else the child is not there.
    let child = a_lancashire_child(&db.url).await;
    let q = "query($c: String!) { childHistory(child: $c) { position type event } }";
    let (_, body) = server.gql(Some(&planner), q, json!({ "c": child })).await;
    let events = body["data"]["childHistory"].as_array().unwrap();
    assert_eq!(events[0]["type"], "ChildRegistered", "{body}");
    assert!(
        events
            .windows(2)
            .all(|w| w[0]["position"].as_u64() < w[1]["position"].as_u64())
    );
    for token in [&blackpool, &partner] {
        let (_, body) = server.gql(Some(token), q, json!({ "c": child })).await;
        assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
        assert!(
            body["data"].is_null() || body["data"]["childHistory"].is_null(),
            "{body}"
        );
    }
}

#[tokio::test]
async fn placements_changed_sends_the_summary_and_keeps_to_the_agreement() {
    let db = Database::seeded();
    let analyst = db.token("analyst", Some("888"));
    let partner = db.token("partner", Some("890"));
    let outsider = db.token("partner", Some("340"));
    let server = Server::start(&db.url);
    let q = "subscription { placementsChanged(authority: \"888\", groupBy: [LOCATION]) {
               position suppressed total cells { location count } } }";
    let (mut ws, _) = Ws::connect(
        &server,
        "graphql-transport-ws",
        json!({ "Authorization": format!("Bearer {analyst}") }),
    )
    .await;
    ws.subscribe("1", q, json!({})).await;
    let own = ws.data().await["placementsChanged"].clone();
    assert_eq!(own["suppressed"], false, "{own}");
    let total: i64 = own["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(Some(total), own["total"].as_i64(), "{own}");
    assert!(own["position"].as_u64().unwrap() > 0);
    ws.close().await;
    let (mut ws, _) = Ws::connect(
        &server,
        "graphql-ws",
        json!({ "Authorization": format!("Bearer {partner}") }),
    )
    .await;
    ws.subscribe("2", q, json!({})).await;
    let shared = ws.data().await["placementsChanged"].clone();
    assert_eq!(shared["suppressed"], true, "{shared}");
    ws.close().await;
    let (mut ws, _) = Ws::connect(
        &server,
        "graphql-transport-ws",
        json!({ "Authorization": format!("Bearer {outsider}") }),
    )
    .await;
    ws.subscribe("3", q, json!({})).await;
    let refused = ws.next().await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
}

//! The API under abuse, as an attacker with a partner token (or none) would try it: each
//! test is one of the attacks in RELIABILITY.md's security table, through real HTTP and
//! WebSocket.

use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{self, Database, Server, Ws, code};

const JSON: (&str, &str) = ("content-type", "application/json");
const GR: (&str, &str) = ("accept", "application/graphql-response+json");

/// A new token: (its id, its secret).
pub fn token_with_id(url: &str, role: &str, authority: &str) -> (String, String) {
    let (out, err) = harness::cli_said(
        url,
        &["token", "create", "--role", role, "--authority", authority],
    );
    let word = |text: &str, prefix: &str| {
        text.split_whitespace()
            .find(|w| w.starts_with(prefix))
            .map(str::to_owned)
    };
    let id = word(&err, "tok_").or_else(|| word(&out, "tok_")).unwrap();
    (id, word(&out, "plg_").unwrap())
}

/// Revokes token `id` with the CLI (as an administrator would) while `ws` is open on one node:
/// `ws` closes with 4403, `other` (another node) refuses the token, and the closing is in the
/// audit log. How long the close took is printed (the goal is under 1 s; REVOCATION_POLL is
/// 250 ms): measured, not asserted; the close code within 5 s is.
pub async fn revoke_and_see_it_hold(
    url: &str,
    id: &str,
    secret: &str,
    ws: &mut Ws,
    other: &Server,
) {
    harness::cli(url, &["token", "revoke", id]);
    let revoked = Instant::now();
    let closed = ws.close_code(Duration::from_secs(5)).await;
    let took = revoked.elapsed();
    assert_eq!(closed, Some(4403));
    eprintln!("the revoked token's socket closed {took:?} after the revocation");
    let (status, _) = other
        .gql(Some(secret), "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(status, 401, "the other node refuses it at once");
    let entries = audit(url).await;
    assert!(
        entries
            .iter()
            .any(|e| e.token_id == id && e.outcome == "refused: UNAUTHENTICATED"),
        "{entries:?}"
    );
}

async fn audit(url: &str) -> Vec<placeledger_app::storage::AuditEntry> {
    let backend = placeledger_app::Backend::connect(url).await.unwrap();
    backend.access.audit_entries().await.unwrap()
}

/// 4. A revoked token is refused on its next request, at once.
#[tokio::test]
async fn a_revoked_token_is_refused_at_once() {
    let db = Database::seeded();
    let (id, secret) = token_with_id(&db.url, "partner", "890");
    let server = Server::start(&db.url);
    let q = "{ viewer { role } }";
    let (status, _) = server.gql(Some(&secret), q, json!({})).await;
    assert_eq!(status, 200);
    harness::cli(&db.url, &["token", "revoke", &id]);
    let (status, body) = server.gql(Some(&secret), q, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("UNAUTHENTICATED")),
        "{body}"
    );
    // The refusal is audited (a partner's token).
    let entries = audit(&db.url).await;
    assert!(
        entries.iter().any(|e| e.token_id == id
            && e.arguments == "token revoked"
            && e.outcome == "refused: UNAUTHENTICATED"),
        "{entries:?}"
    );
}

/// 4. A revoked partner's open WebSocket on another node sharing PostgreSQL is closed within
/// a second (4403), and the closing is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_partners_socket_closes_within_a_second_on_another_node() {
    let pg = crate::PgSchema::new().await;
    harness::cli(&pg.url, &["db", "status"]);
    let (id, secret) = token_with_id(&pg.url, "partner", "890");
    let a = Server::start(&pg.url);
    let b = Server::start(&pg.url);
    let auth = json!({ "Authorization": format!("Bearer {secret}") });
    let (mut ws, ack) = Ws::connect(&b, "graphql-transport-ws", auth).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    revoke_and_see_it_hold(&pg.url, &id, &secret, &mut ws, &a).await;
    drop((a, b));
    pg.drop_schema().await;
}

/// 5. An error never carries a large input back: a megabyte in each of 20 aliases gives a
/// small answer.
#[tokio::test]
async fn errors_do_not_echo_the_input() {
    let db = Database::seeded();
    let server = Server::start(&db.url);
    let token = db.token("analyst", Some("888"));
    let fields: String = (0..20)
        .map(|i| format!("a{i}: placementSummary(authority: $a, groupBy: []) {{ total }} "))
        .collect();
    let query = format!("query($a: String!) {{ {fields} }}");
    let big = "9".repeat(1_000_000);
    let (status, body) = server.gql(Some(&token), &query, json!({ "a": big })).await;
    assert_eq!(status, 200);
    let size = body.to_string().len();
    assert!(size < 64 * 1024, "the answer is {size} bytes");
    assert_eq!(
        code(&body),
        Some("BAD_USER_INPUT"),
        "{}",
        &body.to_string()[..300]
    );
}

/// 6. 200 aliases of a list field: refused before it runs; the server's memory stays low.
#[tokio::test]
async fn two_hundred_aliases_of_a_list_are_refused_and_memory_stays_low() {
    let db = Database::seeded();
    let server = Server::start(&db.url);
    let token = db.token("analyst", Some("888"));
    let fields: String = (0..200)
        .map(|i| {
            format!(
                "a{i}: forecast(filter: {{ authority: \"888\" }}) {{ rows {{ district year demand {{ p50 }} }} }} "
            )
        })
        .collect();
    let (status, ct, body) = server
        .raw(
            Method::POST,
            "/graphql",
            &[JSON, GR, ("authorization", &format!("Bearer {token}"))],
            json!({ "query": format!("{{ {fields} }}") })
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(ct, "application/graphql-response+json");
    assert!(body.contains("GRAPHQL_VALIDATION_FAILED"), "{body}");
    // Within the root-field limit, the complexity counts list sizes: twenty forecasts with
    // their rows are too much for one request.
    let fields: String = (0..20)
        .map(|i| {
            format!(
                "a{i}: forecast(filter: {{ authority: \"888\" }}) {{ rows {{ district districtName year phase kind need demand {{ p10 p50 p90 }} capacity }} }} "
            )
        })
        .collect();
    let (_, body) = server
        .gql(Some(&token), &format!("{{ {fields} }}"), json!({}))
        .await;
    assert_eq!(code(&body), Some("GRAPHQL_VALIDATION_FAILED"), "{body}");
    let peak = server.peak_rss();
    eprintln!(
        "peak RSS after the 200-alias request: {} MB",
        peak / (1024 * 1024)
    );
    assert!(
        peak < 300 * 1024 * 1024,
        "peak RSS {} MB",
        peak / (1024 * 1024)
    );
}

/// 7. A thousand aliases are not a thousand audited reads: refused before they run (and the
/// refusal audited); each partner read is audited with its grouping; refused partner
/// requests are audited.
#[tokio::test]
async fn partner_reads_and_refusals_are_audited_once_each() {
    let db = Database::seeded();
    let server = Server::start(&db.url);
    let partner = db.token("partner", Some("890"));
    let fields: String = (0..1_000)
        .map(|i| {
            format!("a{i}: placementSummary(authority: \"888\", groupBy: [DISTRICT]) {{ total }} ")
        })
        .collect();
    let (_, body) = server
        .gql(Some(&partner), &format!("{{ {fields} }}"), json!({}))
        .await;
    assert_eq!(code(&body), Some("GRAPHQL_VALIDATION_FAILED"), "{body}");
    let (_, body) = server
        .gql(
            Some(&partner),
            "{ placementSummary(authority: \"888\", groupBy: [DISTRICT, NEED]) { total } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = server
        .gql(
            Some(&partner),
            "{ forecast(filter: { authority: \"888\" }) { position } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    let (_, body) = server
        .gql(
            Some(&partner),
            "{ placementSummary(authority: \"888\", groupBy: [NEED, NCY]) { total } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    let entries = audit(&db.url).await;
    let seen: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| (e.field.as_str(), e.arguments.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("placementSummary", "", "refused: GRAPHQL_VALIDATION_FAILED"),
            ("placementSummary", "groupBy=district+need", "read"),
            (
                "forecast",
                "filter: {authority: \"888\"}",
                "refused: FORBIDDEN"
            ),
            (
                "placementSummary",
                "groupBy=need+ncy",
                "refused: BAD_USER_INPUT"
            ),
        ],
        "{entries:?}"
    );
}

/// 8. Requests without a valid token are limited by address; a socket that never says hello
/// is closed (4408): a thousand of them within 15 s.
#[tokio::test]
async fn anonymous_and_bad_token_requests_are_limited_and_silent_sockets_closed() {
    let db = Database::seeded();
    let limited = Server::start_with(&db.url, &["--rate-limit", "0.5"]);
    for auth in [None, Some("Bearer plg_0000")] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let mut headers = vec![JSON];
            if let Some(a) = auth {
                headers.push(("authorization", a));
            }
            let (status, _, _) = limited
                .raw(
                    Method::POST,
                    "/graphql",
                    &headers,
                    json!({ "query": "{ __typename }" })
                        .to_string()
                        .into_bytes(),
                )
                .await;
            statuses.push(status);
        }
        assert!(statuses.contains(&429), "{auth:?}: {statuses:?}");
    }
    drop(limited);

    let server = Server::start_with(&db.url, &["--rate-limit", "10000"]);
    let url = format!("{}/graphql/ws", server.base.replace("http://", "ws://"));
    let started = Instant::now();
    let mut sockets = Vec::new();
    for _ in 0..1_000 {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.as_str().into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        sockets.push(socket);
    }
    let closes = futures::future::join_all(sockets.into_iter().map(|mut s| async move {
        loop {
            match tokio::time::timeout(Duration::from_secs(20), s.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => {}
                _ => return None,
            }
        }
    }))
    .await;
    let took = started.elapsed();
    assert!(
        closes.iter().all(|c| *c == Some(4408)),
        "{:?}",
        &closes[..5]
    );
    // Measured, not asserted: the server closes each at 10 s (CONNECTION_INIT_TIMEOUT); the
    // goal for all of them is 15 s.
    eprintln!("1,000 silent sockets opened and all closed with 4408 in {took:?}");
}

/// 9. No oracle: another authority's child id answers a CONFLICT without its version, and
/// another authority's scenario is reported exactly as one that does not exist.
#[tokio::test]
async fn another_authoritys_children_and_scenarios_are_not_told() {
    let db = Database::seeded();
    let server = Server::start(&db.url);
    let lancashire = db.token("planner", Some("888"));
    let blackpool = db.token("planner", Some("890"));
    // Registering a child under an id in use says only that the id is taken: the same
    // words whoever's child it is (no version, no owner, no history).
    let child = crate::a_lancashire_child(&db.url).await;
    let register = "mutation($i: RegisterChildInput!) { registerChild(input: $i) { version } }";
    let mine = "E2E-MINE-1";
    let input = |id: &str| {
        json!({ "i": { "child": id, "authority": "890", "born": "2016-07",
            "district": "E06000009", "on": "2026-03-03" } })
    };
    let (_, body) = server.gql(Some(&blackpool), register, input(mine)).await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, own) = server.gql(Some(&blackpool), register, input(mine)).await;
    let (_, theirs) = server.gql(Some(&blackpool), register, input(&child)).await;
    let strip = |b: &Value, id: &str| {
        b["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace(id, "ID")
    };
    assert_eq!(code(&theirs), code(&own), "{theirs}");
    assert_eq!(strip(&theirs, &child), strip(&own, mine));
    assert!(
        theirs["errors"][0]["extensions"]["actualVersion"].is_null(),
        "{theirs}"
    );
    let (_, body) = server
        .gql(
            Some(&lancashire),
            "mutation($i: CreateScenarioInput!) { createScenario(input: $i) { version } }",
            json!({ "i": { "id": "lancs-secret", "name": "Secret plan", "authority": "888" } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    // A scenario id another authority uses: taken, and nothing more.
    let (_, body) = server
        .gql(
            Some(&blackpool),
            "mutation($i: CreateScenarioInput!) { createScenario(input: $i) { version } }",
            json!({ "i": { "id": "lancs-secret", "name": "Mine", "authority": "890" } }),
        )
        .await;
    assert_eq!(code(&body), Some("CONFLICT"), "{body}");
    assert!(
        body["errors"][0]["extensions"]["actualVersion"].is_null(),
        "{body}"
    );
    assert!(!body.to_string().contains("888"), "{body}");
    let compare = |id: &str| format!("{{ compareScenarios(scenario: \"{id}\") {{ position }} }}");
    let (_, theirs) = server
        .gql(Some(&blackpool), &compare("lancs-secret"), json!({}))
        .await;
    let (_, nobodys) = server
        .gql(Some(&blackpool), &compare("no-such-plan"), json!({}))
        .await;
    assert_eq!(code(&theirs), Some("NOT_FOUND"), "{theirs}");
    let strip = |b: &Value, id: &str| {
        b["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace(id, "ID")
    };
    assert_eq!(
        strip(&theirs, "lancs-secret"),
        strip(&nobodys, "no-such-plan")
    );
    let lever = json!({ "lever": "incidence_multiplier", "authority": "888", "multiplier": "1.1" });
    let add = "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { version } }";
    let (_, theirs) = server
        .gql(
            Some(&blackpool),
            add,
            json!({ "i": { "scenario": "lancs-secret", "lever": lever } }),
        )
        .await;
    let (_, nobodys) = server
        .gql(
            Some(&blackpool),
            add,
            json!({ "i": { "scenario": "no-such-plan", "lever": lever } }),
        )
        .await;
    assert_eq!(code(&theirs), Some("NOT_FOUND"), "{theirs}");
    assert_eq!(
        strip(&theirs, "lancs-secret"),
        strip(&nobodys, "no-such-plan")
    );
}

/// 10. Introspection works for signed-in callers (GraphiQL's own query, deeper than the depth
/// limit) and not for anonymous ones; names refuse control and text-direction characters;
/// a request that ran answers 200 even when its root field failed.
#[tokio::test]
async fn introspection_for_the_signed_in_and_clean_names() {
    let db = Database::seeded();
    let server = Server::start(&db.url);
    let planner = db.token("planner", Some("888"));
    let introspection = "query IntrospectionQuery { __schema { queryType { name } mutationType { name }
        subscriptionType { name } types { ...FullType } directives { name locations args { ...InputValue } } } }
      fragment FullType on __Type { kind name description specifiedByURL
        fields(includeDeprecated: true) { name args { ...InputValue } type { ...TypeRef } isDeprecated }
        inputFields { ...InputValue } interfaces { ...TypeRef }
        enumValues(includeDeprecated: true) { name } possibleTypes { ...TypeRef } }
      fragment InputValue on __InputValue { name type { ...TypeRef } defaultValue }
      fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let (status, body) = server.gql(Some(&planner), introspection, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let types = body["data"]["__schema"]["types"].as_array().unwrap();
    let datetime = types.iter().find(|t| t["name"] == "DateTime").unwrap();
    assert_eq!(
        datetime["specifiedByURL"],
        "https://datatracker.ietf.org/doc/html/rfc3339"
    );
    let (status, body) = server.gql(None, introspection, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("UNAUTHENTICATED")),
        "{body}"
    );

    let create = "mutation($i: CreateScenarioInput!) { createScenario(input: $i) { version } }";
    for (id, name) in [
        ("rlo", "Preston \u{202E}gnissolc"),
        ("nul", "Preston\u{0}"),
        ("isolate", "Preston \u{2066}x\u{2069}"),
    ] {
        let (_, body) = server
            .gql(
                Some(&planner),
                create,
                json!({ "i": { "id": id, "name": name, "authority": "888" } }),
            )
            .await;
        assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{name:?}: {body}");
    }
    // A root field that fails in a request that ran: 200, with the error.
    let (status, _, body) = server
        .raw(
            Method::POST,
            "/graphql",
            &[JSON, GR, ("authorization", &format!("Bearer {planner}"))],
            json!({ "query": "{ forecast(filter: { authority: \"890\" }) { position } }" })
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("FORBIDDEN"), "{body}");
}

/// Open sockets that have said hello and wait cost the server nothing: a socket's loop must
/// not spin (one did, once its `connection_init` callback had gone: `make bench-api` found
/// it as a 16 s fan-out).
#[tokio::test]
async fn idle_sockets_cost_no_cpu() {
    let db = Database::seeded();
    let server = Server::start(&db.url);
    // The node opens its ledger in a task of its own when it starts (App::serving), folding
    // the log; a first command waits for it, so once one is answered the node has finished
    // starting and what follows measures the sockets alone.
    let planner = db.token("planner", Some("888"));
    let (_, body) = server
        .gql(
            Some(&planner),
            "mutation($i: CreateScenarioInput!) { createScenario(input: $i) { version } }",
            json!({ "i": { "id": "idle-sockets", "name": "idle sockets", "authority": "888" } }),
        )
        .await;
    assert_eq!(body["data"]["createScenario"]["version"], 1, "{body}");
    let token = db.token("analyst", Some("888"));
    let auth = json!({ "Authorization": format!("Bearer {token}") });
    let mut sockets = Vec::new();
    for _ in 0..20 {
        let (ws, ack) = Ws::connect(&server, "graphql-transport-ws", auth.clone()).await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        sockets.push(ws);
    }
    let before = server.cpu_seconds();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = server.cpu_seconds() - before;
    let share = used / started.elapsed().as_secs_f64();
    // A spinning loop takes a whole core (1.0); waiting takes next to nothing.
    assert!(share < 0.3, "20 idle sockets used {share:.2} of a core");
    for ws in sockets {
        ws.close().await;
    }
}

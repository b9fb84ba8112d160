//! Who may call what: every role (and no token) against every root query and mutation field
//! of the served schema. Subscriptions are tried role by role in their own tests.

use serde_json::{Value, json};

use crate::harness::{self, Database, Server, Ws, code};
use crate::{PRESTON, a_lancashire_child, head_at};

/// Who may: the callers allowed, by name.
const EVERYONE: &[&str] = &[
    "admin",
    "planner 888",
    "analyst 888",
    "planner 889",
    "partner 890",
    "partner 340",
];
const LANCASHIRE_READERS: &[&str] = &["admin", "planner 888", "analyst 888"];
const LANCASHIRE_WRITERS: &[&str] = &["admin", "planner 888"];
/// Mutations about an existing child or scenario: another authority's planner is told it is
/// not there, as for an unknown id (analysts and partners may not record at all: FORBIDDEN).
const CHILD_MUTATIONS: &[&str] = &[
    "addScenarioLever",
    "removeScenarioLever",
    "requestAssessment",
    "decideAssessment",
    "issuePlan",
    "startPlacement",
    "holdAnnualReview",
    "changePrimaryNeed",
    "endPlacement",
    "moveHome",
    "ceasePlan",
];

/// The callers every field is tried by: a token of each role, and no token.
fn callers(url: &str) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("admin", Some(harness::token(url, "admin", None))),
        (
            "planner 888",
            Some(harness::token(url, "planner", Some("888"))),
        ),
        (
            "analyst 888",
            Some(harness::token(url, "analyst", Some("888"))),
        ),
        (
            "planner 889",
            Some(harness::token(url, "planner", Some("889"))),
        ),
        (
            "partner 890",
            Some(harness::token(url, "partner", Some("890"))),
        ),
        (
            "partner 340",
            Some(harness::token(url, "partner", Some("340"))),
        ),
        ("no token", None),
    ]
}

/// One root field tried by every caller: the query, its variables for caller `n` (callers
/// allowed to write get objects of their own, `n` = 0 for admin, 1 for planner 888; the
/// others are given admin's, which exist), and who may.
struct Field {
    name: &'static str,
    query: &'static str,
    vars: Box<dyn Fn(usize) -> Value>,
    allowed: &'static [&'static str],
}

fn field(
    name: &'static str,
    query: &'static str,
    vars: impl Fn(usize) -> Value + 'static,
    allowed: &'static [&'static str],
) -> Field {
    Field {
        name,
        query,
        vars: Box::new(vars),
        allowed,
    }
}

/// A mutation taking one `input` argument of type `ty`, returning `Recorded`.
macro_rules! recorded {
    ($name:literal, $ty:literal) => {
        concat!(
            "mutation($i: ",
            $ty,
            "!) { ",
            $name,
            "(input: $i) { stream version position eventType } }"
        )
    };
}

/// The root fields of a type in the schema file (which a test keeps equal to the served
/// schema).
fn schema_fields(ty: &str) -> Vec<String> {
    let sdl = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/graphql/schema.graphql"
    ))
    .unwrap();
    let start = sdl.find(&format!("type {ty} {{")).unwrap();
    let body = &sdl[start..];
    let body = &body[..body.find("\n}").unwrap()];
    let mut fields = Vec::new();
    let mut in_description = false;
    for line in body.lines().skip(1) {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("\"\"\"") {
            // `"""text"""` on one line opens and closes; `"""` alone toggles.
            if !(rest.len() >= 3 && rest.ends_with("\"\"\"")) {
                in_description = !in_description;
            }
            continue;
        }
        if in_description || t.is_empty() {
            continue;
        }
        let name = t.split(['(', ':']).next().unwrap_or_default();
        fields.push(name.to_owned());
    }
    fields
}

#[tokio::test]
async fn each_role_against_each_root_field() {
    let db = Database::seeded();
    root_fields(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_each_role_against_each_root_and_subscription_field() {
    let pg = crate::seeded_postgres().await;
    root_fields(&pg.url).await;
    subscription_fields(&pg.url).await;
    pg.drop_schema().await;
}

// A table with a row per root field of the schema file: longer than a function should be,
// but one list to read (a test; the 200-line rule is for the code under test).
#[allow(clippy::too_many_lines)]
async fn root_fields(url: &str) {
    let tokens = callers(url);
    let server = Server::start(url);
    let child = a_lancashire_child(url).await;
    let (_, body) = server
        .gql(
            tokens[0].1.as_deref(),
            "{ settings(filter: { authority: \"888\" }, first: 1) { edges { node { urn } } } }",
            json!({}),
        )
        .await;
    let urn = body["data"]["settings"]["edges"][0]["node"]["urn"]
        .as_str()
        .unwrap()
        .to_owned();
    let forecast = json!({ "authority": "888", "district": PRESTON, "years": [2027] });
    let kid = |n: usize| format!("E2E-MATRIX-{n}");
    let school = |n: usize| format!("99990{n}");
    let fields: Vec<Field> = vec![
        field(
            "viewer",
            "{ viewer { role authority } }",
            |_| json!({}),
            EVERYONE,
        ),
        field(
            "authorities",
            "{ authorities { code name districts { code name planningAreas { code name phase } } } }",
            |_| json!({}),
            EVERYONE,
        ),
        field(
            "caseloadHistory",
            "{ caseloadHistory(authority: \"888\") { year plans } }",
            |_| json!({}),
            LANCASHIRE_READERS,
        ),
        field(
            "forecast",
            "query($f: ForecastFilter!) { forecast(filter: $f) { rows { kind } } }",
            move |_| json!({ "f": forecast }),
            LANCASHIRE_READERS,
        ),
        field(
            "explainForecastCell",
            "{ explainForecastCell(cell: { authority: \"888\", district: \"E07000123\", year: 2027, phase: \"primary\", kind: \"special\" }) { origin } }",
            |_| json!({}),
            LANCASHIRE_READERS,
        ),
        field(
            "mainstreamForecast",
            "{ mainstreamForecast(filter: { authority: \"888\", years: [2027] }) { rows { pupils { p50 } } } }",
            |_| json!({}),
            LANCASHIRE_READERS,
        ),
        field(
            "highNeeds",
            "{ highNeeds(authority: \"888\") { years { spend allocation dsgBalance } } }",
            |_| json!({}),
            LANCASHIRE_READERS,
        ),
        field(
            "sharedPlaceData",
            "{ sharedPlaceData(authority: \"888\") { cells { demand } } }",
            |_| json!({}),
            &["admin", "planner 888", "analyst 888", "partner 890"],
        ),
        field(
            "settings",
            "{ settings(filter: { authority: \"888\" }, first: 5) { edges { node { urn places } } } }",
            |_| json!({}),
            LANCASHIRE_READERS,
        ),
        field(
            "settingHistory",
            "query($u: String!) { settingHistory(urn: $u) { type } }",
            move |_| json!({ "u": urn }),
            LANCASHIRE_READERS,
        ),
        field(
            "childHistory",
            "query($c: String!) { childHistory(child: $c) { type } }",
            move |_| json!({ "c": child }),
            LANCASHIRE_READERS,
        ),
        field(
            "placementSummary",
            "{ placementSummary(authority: \"888\", groupBy: [KIND, LOCATION]) { total cells { count } } }",
            |_| json!({}),
            &["admin", "planner 888", "analyst 888", "partner 890"],
        ),
        field(
            "countyMeasures",
            "{ countyMeasures(authority: \"888\", fromYear: 2024, toYear: 2025) { year plans mainstreamSharePercent } }",
            |_| json!({}),
            LANCASHIRE_READERS,
        ),
        field(
            "scenarios",
            "{ scenarios(authority: \"888\") { id name levers } }",
            |_| json!({}),
            LANCASHIRE_READERS,
        ),
        field(
            "backtest",
            "{ backtest(authority: \"888\", horizon: 1) { horizon method mape } }",
            |_| json!({}),
            LANCASHIRE_READERS,
        ),
        field(
            "backtestForecasts",
            "{ backtestForecasts(authority: \"888\", horizon: 1) { origin year method forecast actual } }",
            |_| json!({}),
            LANCASHIRE_READERS,
        ),
        // Geography: an authority (administrators), a district and a planning area.
        field(
            "registerAuthority",
            recorded!("registerAuthority", "RegisterAuthorityInput"),
            |n| {
                json!({ "i": { "authority": format!("97{n}"), "gss": format!("E0600097{n}"),
                    "name": format!("E2E Authority {n} (synthetic)") } })
            },
            &["admin"],
        ),
        field(
            "registerDistrict",
            recorded!("registerDistrict", "RegisterDistrictInput"),
            |n| {
                json!({ "i": { "district": format!("E0700097{n}"), "authority": "888",
                    "name": format!("E2E District {n} (synthetic)") } })
            },
            LANCASHIRE_WRITERS,
        ),
        field(
            "registerPlanningArea",
            recorded!("registerPlanningArea", "RegisterPlanningAreaInput"),
            |n| {
                json!({ "i": { "planningArea": format!("E2E-PA-{n}"), "district": PRESTON,
                    "phase": "primary", "name": format!("E2E Planning Area {n} (synthetic)") } })
            },
            LANCASHIRE_WRITERS,
        ),
        // Capacity: a special school opens, is commissioned, counted, converted and closed.
        field(
            "openSetting",
            recorded!("openSetting", "OpenSettingInput"),
            move |n| {
                json!({ "i": {
                    "urn": school(n), "name": format!("E2E Special School {n} (synthetic)"),
                    "authority": "888", "district": PRESTON, "kind": "special_la_maintained",
                    "phase": "all_through", "lowAge": 4, "highAge": 19,
                    "designatedNeeds": ["ASD"], "on": "2020-09-01",
                } })
            },
            LANCASHIRE_WRITERS,
        ),
        field(
            "commissionPlaces",
            recorded!("commissionPlaces", "CommissionPlacesInput"),
            move |n| {
                json!({ "i": { "urn": school(n), "year": "2025/26",
                    "places": [{ "need": "ASD", "places": 40 }, { "places": 5 }] } })
            },
            LANCASHIRE_WRITERS,
        ),
        field(
            "setNetCapacity",
            recorded!("setNetCapacity", "SetNetCapacityInput"),
            move |n| {
                json!({ "i": { "urn": school(n), "from": "2020-09-01",
                    "capacity": [{ "ncy": "7", "count": 10 }, { "ncy": "8", "count": 10 }] } })
            },
            LANCASHIRE_WRITERS,
        ),
        field(
            "recordCensusRoll",
            recorded!("recordCensusRoll", "RecordCensusRollInput"),
            move |n| {
                json!({ "i": { "urn": school(n), "census": "2025/26",
                    "rolls": [{ "ncy": "7", "count": 8 }] } })
            },
            LANCASHIRE_WRITERS,
        ),
        // The lifecycle of section 4, one child per caller allowed.
        field(
            "registerChild",
            recorded!("registerChild", "RegisterChildInput"),
            move |n| {
                json!({ "i": { "child": kid(n), "authority": "888", "born": "2014-03",
                    "district": PRESTON, "on": "2025-01-06", "expectedVersion": 0 } })
            },
            LANCASHIRE_WRITERS,
        ),
        field(
            "requestAssessment",
            recorded!("requestAssessment", "ChildDateInput"),
            move |n| json!({ "i": { "child": kid(n), "on": "2025-01-10", "expectedVersion": 1 } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "decideAssessment",
            recorded!("decideAssessment", "DecideAssessmentInput"),
            move |n| json!({ "i": { "child": kid(n), "on": "2025-02-14", "decision": "assess" } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "issuePlan",
            recorded!("issuePlan", "IssuePlanInput"),
            move |n| {
                json!({ "i": { "child": kid(n), "on": "2025-05-20", "primaryNeed": "ASD",
                    "secondaryNeeds": ["SLCN"] } })
            },
            LANCASHIRE_WRITERS,
        ),
        field(
            "startPlacement",
            recorded!("startPlacement", "StartPlacementInput"),
            move |n| json!({ "i": { "child": kid(n), "on": "2025-09-03", "urn": school(n) } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "holdAnnualReview",
            recorded!("holdAnnualReview", "AnnualReviewInput"),
            move |n| json!({ "i": { "child": kid(n), "on": "2026-05-01", "outcome": "amend" } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "changePrimaryNeed",
            recorded!("changePrimaryNeed", "ChangePrimaryNeedInput"),
            move |n| json!({ "i": { "child": kid(n), "on": "2026-05-02", "primaryNeed": "SEMH" } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "endPlacement",
            recorded!("endPlacement", "EndPlacementInput"),
            move |n| json!({ "i": { "child": kid(n), "on": "2026-07-20", "reason": "moved_setting" } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "moveHome",
            recorded!("moveHome", "MoveHomeInput"),
            // Lancaster, another Lancashire district.
            move |n| json!({ "i": { "child": kid(n), "on": "2026-08-01", "district": "E07000121" } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "ceasePlan",
            recorded!("ceasePlan", "CeasePlanInput"),
            move |n| json!({ "i": { "child": kid(n), "on": "2026-08-15", "reason": "needs_met" } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "convertToAcademy",
            recorded!("convertToAcademy", "ConvertToAcademyInput"),
            move |n| {
                json!({ "i": { "urn": school(n), "newUrn": format!("99991{n}"),
                    "newName": format!("E2E Special Academy {n} (synthetic)"), "on": "2026-09-01" } })
            },
            LANCASHIRE_WRITERS,
        ),
        field(
            "closeSetting",
            recorded!("closeSetting", "CloseSettingInput"),
            |n| json!({ "i": { "urn": format!("99991{n}"), "on": "2027-08-31" } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "setPlacementCost",
            recorded!("setPlacementCost", "SetPlacementCostInput"),
            |n| {
                json!({ "i": { "authority": "888", "kind": "special_independent",
                    "from": format!("2026-0{}-01", n + 4), "annualCost": "66000" } })
            },
            LANCASHIRE_WRITERS,
        ),
        // Scenarios: create, change, run (forecast), compare.
        field(
            "createScenario",
            "mutation($i: CreateScenarioInput!) { createScenario(input: $i) { stream version position } }",
            |n| json!({ "i": { "id": format!("matrix-{n}"), "name": "matrix", "authority": "888" } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "addScenarioLever",
            recorded!("addScenarioLever", "AddLeverInput"),
            |n| {
                json!({ "i": { "scenario": format!("matrix-{n}"), "expectedVersion": 1,
                    "lever": { "lever": "incidence_multiplier", "multiplier": "1.1" } } })
            },
            LANCASHIRE_WRITERS,
        ),
        field(
            "removeScenarioLever",
            recorded!("removeScenarioLever", "RemoveLeverInput"),
            |n| json!({ "i": { "scenario": format!("matrix-{n}"), "index": 0, "expectedVersion": 2 } }),
            LANCASHIRE_WRITERS,
        ),
        field(
            "compareScenarios",
            "{ compareScenarios(scenario: \"matrix-0\") { totalCost changes { kind } } }",
            |_| json!({}),
            LANCASHIRE_READERS,
        ),
        field(
            "importFile",
            "mutation($i: ImportInput!) { importFile(input: $i) { rows facts newEvents alreadyStored } }",
            |n| {
                let csv = format!(
                    "urn,name,la_code,district,kind,phase,low_age,high_age,opened_on,commissioned_year,commissioned_places\r\n\
                     99992{n},E2E Imported School {n} (synthetic),888,{PRESTON},special_la_maintained,all_through,4,19,2021-09-01,2025/26,ASD=10\r\n"
                );
                json!({ "i": { "format": "SETTINGS", "content": csv, "fileName": "matrix.csv" } })
            },
            LANCASHIRE_WRITERS,
        ),
        // Sharing agreements last: they change what partners may see.
        field(
            "agreeDataSharing",
            recorded!("agreeDataSharing", "AgreeDataSharingInput"),
            |n| {
                json!({ "i": { "authority": "888", "partner": "889", "shares": ["capacity"],
                    "from": format!("203{n}-01-01") } })
            },
            LANCASHIRE_WRITERS,
        ),
        field(
            "endDataSharing",
            recorded!("endDataSharing", "EndDataSharingInput"),
            // Each caller ends the agreement earlier than the last end: still in force.
            |n| json!({ "i": { "authority": "888", "partner": "889", "on": format!("2031-0{}-01", 6 - n) } }),
            LANCASHIRE_WRITERS,
        ),
    ];

    // Every root query and mutation field of the schema is in the matrix.
    let tried: Vec<&str> = fields.iter().map(|f| f.name).collect();
    for ty in ["Query", "Mutation"] {
        let listed = schema_fields(ty);
        assert!(listed.len() > 5, "{ty}: {listed:?}");
        for f in listed {
            assert!(
                tried.contains(&f.as_str()),
                "{ty}.{f} is not tried by every role"
            );
        }
    }

    for f in &fields {
        for (n, (who, token)) in tokens.iter().enumerate() {
            let may = f.allowed.contains(who);
            let vars = (f.vars)(if may { n } else { 0 });
            let before = head_at(url);
            let (status, body) = server.gql(token.as_deref(), f.query, vars).await;
            let field = f.name;
            assert_eq!(status, 200, "{field} as {who}: {body}");
            if may {
                assert!(body["errors"].is_null(), "{field} as {who}: {body}");
                assert!(!body["data"][field].is_null(), "{field} as {who}: {body}");
                if who.starts_with("partner") {
                    partner_safe(&body["data"], &format!("{field} as {who}"));
                }
            } else {
                // Another authority's child or scenario is not there (an id tells nothing).
                let expected = if token.is_none() {
                    "UNAUTHENTICATED"
                } else if field == "childHistory"
                    || field == "compareScenarios"
                    || (CHILD_MUTATIONS.contains(&field) && *who == "planner 889")
                {
                    "NOT_FOUND"
                } else {
                    "FORBIDDEN"
                };
                assert_eq!(code(&body), Some(expected), "{field} as {who}: {body}");
                assert!(
                    body["data"].is_null() || body["data"][field].is_null(),
                    "{field} as {who}: {body}"
                );
                assert_eq!(head_at(url), before, "{field} as {who} wrote something");
            }
        }
    }
}

/// What a partner receives holds no child-level data and no count of 1-4: no child id, no
/// field about a child, no date of birth, and every number that counts something is 0, 5 or
/// more (or withheld: null).
fn partner_safe(v: &Value, context: &str) {
    fn walk(v: &Value, key: &str, context: &str) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let lower = k.to_lowercase();
                    assert!(
                        !lower.contains("child")
                            && !lower.contains("born")
                            && !lower.contains("urn"),
                        "{context}: a partner was sent `{k}`"
                    );
                    walk(x, k, context);
                }
            }
            Value::Array(xs) => xs.iter().for_each(|x| walk(x, key, context)),
            Value::String(s) => assert!(
                !s.starts_with("SYN-") && !s.starts_with("E2E-"),
                "{context}: a child's id {s} was sent to a partner"
            ),
            Value::Number(n) => {
                // Years, positions and percentages are not counts.
                let not_a_count =
                    ["year", "position", "horizon"].contains(&key) || key.ends_with("Percent");
                if !not_a_count && let Some(n) = n.as_i64() {
                    assert!(
                        !(1..=4).contains(&n),
                        "{context}: `{key}` = {n} is a small count a partner must not see"
                    );
                }
            }
            _ => {}
        }
    }
    walk(v, "", context);
}

/// Every subscription field of the schema, by every role: allowed ones send their data
/// (for a partner: suppressed, no child-level data), denied ones an error with its code and
/// then `complete`.
#[tokio::test]
async fn each_role_against_each_subscription_field() {
    let db = Database::seeded();
    subscription_fields(&db.url).await;
}

async fn subscription_fields(url: &str) {
    let tokens = callers(url);
    let server = Server::start(url);
    let fields: Vec<(&str, String, &[&str])> = vec![
        (
            "sharedPlaceData",
            "subscription { sharedPlaceData(authority: \"888\") { authority position cells { year phase kind demand capacity suppressed } totals { year demand capacity } } }".into(),
            &["admin", "planner 888", "analyst 888", "partner 890"],
        ),
        (
            "placementsChanged",
            "subscription { placementsChanged(authority: \"888\", groupBy: [KIND, NEED]) { position total imports exports suppressed cells { count } } }".into(),
            &["admin", "planner 888", "analyst 888", "partner 890"],
        ),
        (
            "sufficiencyChanged",
            format!("subscription {{ sufficiencyChanged(district: \"{PRESTON}\") {{ position rows {{ year kind demand {{ p50 }} }} }} }}"),
            LANCASHIRE_READERS,
        ),
    ];
    let listed = schema_fields("SubscriptionRoot");
    let tried: Vec<&str> = fields.iter().map(|f| f.0).collect();
    assert_eq!(listed.len(), tried.len(), "{listed:?}");
    for f in &listed {
        assert!(
            tried.contains(&f.as_str()),
            "Subscription.{f} is not tried by every role"
        );
    }
    for (field, query, allowed) in &fields {
        for (who, token) in &tokens {
            let payload = token.as_ref().map_or(
                json!({}),
                |t| json!({ "Authorization": format!("Bearer {t}") }),
            );
            let (mut ws, _) = Ws::connect(&server, "graphql-transport-ws", payload).await;
            ws.subscribe("m", query, json!({})).await;
            let first = ws.next().await;
            if allowed.contains(who) {
                assert_eq!(first["type"], "next", "{field} as {who}: {first}");
                assert!(
                    first["payload"]["errors"].is_null(),
                    "{field} as {who}: {first}"
                );
                assert!(
                    !first["payload"]["data"][field].is_null(),
                    "{field} as {who}: {first}"
                );
                if who.starts_with("partner") {
                    partner_safe(&first["payload"]["data"], &format!("{field} as {who}"));
                }
            } else {
                let expected = if token.is_none() {
                    "UNAUTHENTICATED"
                } else {
                    "FORBIDDEN"
                };
                assert_eq!(
                    first["payload"]["errors"][0]["extensions"]["code"], expected,
                    "{field} as {who}: {first}"
                );
                assert_eq!(ws.next().await["type"], "complete", "{field} as {who}");
            }
            ws.close().await;
        }
    }
}

//! Commands and imports through the API: a refused one writes nothing and says why.

use serde_json::json;

use crate::harness::{Database, Server, code};
use crate::{PRESTON, head};

const IMPORT: &str = "mutation($i: ImportInput!) { importFile(input: $i) { rows facts newEvents alreadyStored position notes } }";

fn settings_csv(rows: &[&str]) -> String {
    let mut csv = String::from(
        "urn,name,la_code,district,kind,phase,low_age,high_age,opened_on,commissioned_year,commissioned_places\r\n",
    );
    for r in rows {
        csv.push_str(r);
        csv.push_str("\r\n");
    }
    csv
}

/// A settings file through `importFile`: a bad one imports nothing and lists every problem by
/// line; a good one is recorded once (importing it again records nothing); a planner may not
/// import another authority's facts.
#[tokio::test]
async fn an_import_records_a_good_file_once_and_nothing_of_a_bad_one() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let before = head(&db);

    let bad = settings_csv(&[
        &format!(
            "999301,Good School (synthetic),888,{PRESTON},special_la_maintained,all_through,4,19,2021-09-01,2025/26,ASD=10"
        ),
        &format!(
            "999302,Negative School (synthetic),888,{PRESTON},special_la_maintained,all_through,4,19,2021-09-01,2025/26,ASD=-3"
        ),
        "999303,Nowhere School (synthetic),888,E07999999,special_la_maintained,all_through,4,19,2021-09-01,2025/26,ASD=10",
    ]);
    let (_, body) = server
        .gql(
            Some(&planner),
            IMPORT,
            json!({ "i": { "format": "SETTINGS", "content": bad, "fileName": "bad.csv" } }),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    let ext = &body["errors"][0]["extensions"];
    assert_eq!(ext["field"], "input.content", "{body}");
    let mut lines: Vec<u64> = ext["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    lines.dedup();
    assert_eq!(lines, vec![3, 4], "every bad row, by line: {body}");
    assert_eq!(head(&db), before, "a bad file imported something");

    // A row of Blackburn with Darwen's (889) in a Lancashire planner's file.
    let theirs = settings_csv(&[
        "999304,Their School (synthetic),889,E06000008,special_la_maintained,all_through,4,19,2021-09-01,2025/26,ASD=10",
    ]);
    let (_, body) = server
        .gql(
            Some(&planner),
            IMPORT,
            json!({ "i": { "format": "SETTINGS", "content": theirs, "fileName": "theirs.csv" } }),
        )
        .await;
    assert_eq!(code(&body), Some("FORBIDDEN"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("theirs.csv:2:"),
        "{body}"
    );
    assert_eq!(head(&db), before);

    // Not CSV at all.
    let (_, body) = server
        .gql(
            Some(&planner),
            IMPORT,
            json!({ "i": { "format": "DFE_EHCP", "content": "" } }),
        )
        .await;
    assert_eq!(code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert_eq!(head(&db), before);

    let good = settings_csv(&[&format!(
        "999305,New Special School (synthetic),888,{PRESTON},special_la_maintained,all_through,4,19,2021-09-01,2025/26,ASD=12;SEMH=8"
    )]);
    let vars = json!({ "i": { "format": "SETTINGS", "content": good, "fileName": "good.csv" } });
    let (_, body) = server.gql(Some(&planner), IMPORT, vars.clone()).await;
    assert!(body["errors"].is_null(), "{body}");
    let first = &body["data"]["importFile"];
    assert_eq!(
        (first["rows"].as_u64(), first["facts"].as_u64()),
        (Some(1), Some(2)),
        "{body}"
    );
    assert_eq!(first["newEvents"], 2, "{body}");
    assert_eq!(head(&db), before + 2);
    // The answer left once the read models showed the write: the setting is there with its
    // commissioned places.
    let (_, body) = server
        .gql(
            Some(&planner),
            "{ settingHistory(urn: \"999305\") { type } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["settingHistory"],
        json!([{ "type": "SettingOpened" }, { "type": "PlacesCommissioned" }]),
        "{body}"
    );
    // Again: nothing new (the setting is left as it is; its places are already stored).
    let (_, body) = server.gql(Some(&planner), IMPORT, vars).await;
    assert_eq!(body["data"]["importFile"]["newEvents"], 0, "{body}");
    assert_eq!(body["data"]["importFile"]["alreadyStored"], 1, "{body}");
    assert_eq!(head(&db), before + 2);
}

/// England's total row in a DfE caseload file: a planner's import records the authority's rows
/// and passes England's over, saying so; an administrator's records it.
#[tokio::test]
async fn england_s_total_in_a_dfe_file_is_recorded_by_an_administrator_only() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let admin = db.token("admin", None);
    let server = Server::start(&db.url);
    let before = head(&db);
    let needs = ",".repeat(13);
    let csv = format!(
        "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,new_la_code,old_la_code,la_name,breakdown_topic,breakdown,ehc_plans,number_asd,number_hi,number_mld,number_msi,number_oth,number_pd,number_pmld,number_semh,number_slcn,number_sld,number_spld,number_vi,number_need_unknown\r\n\
         202526,Academic year,National,E92000001,England,,,,,,All EHC plans,All EHC plans,700000{needs}\r\n\
         202526,Academic year,Local authority,E92000001,England,E12000002,North West,E10000017,888,Lancashire,All EHC plans,All EHC plans,13000{needs}\r\n"
    );
    let vars = json!({ "i": { "format": "DFE_EHCP", "content": csv, "fileName": "caseload.csv" } });

    let (_, body) = server.gql(Some(&planner), IMPORT, vars.clone()).await;
    assert!(body["errors"].is_null(), "{body}");
    let got = &body["data"]["importFile"];
    assert_eq!(
        (got["facts"].as_u64(), got["newEvents"].as_u64()),
        (Some(1), Some(1)),
        "{body}"
    );
    assert!(
        got["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("England's plans for 1 census")),
        "{body}"
    );
    assert_eq!(head(&db), before + 1);

    let (_, body) = server.gql(Some(&admin), IMPORT, vars).await;
    assert!(body["errors"].is_null(), "{body}");
    let got = &body["data"]["importFile"];
    assert_eq!(
        (
            got["facts"].as_u64(),
            got["newEvents"].as_u64(),
            got["alreadyStored"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "the authority's caseload was already stored; England's is new: {body}"
    );
    assert_eq!(head(&db), before + 2);
}

/// The lifecycle refuses steps out of order, stale versions and bad codes, naming the field,
/// and writes nothing for any of them.
#[tokio::test]
async fn lifecycle_mutations_refuse_what_the_domain_refuses() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let register = "mutation($i: RegisterChildInput!) { registerChild(input: $i) { stream version eventType } }";
    let (_, body) = server
        .gql(
            Some(&planner),
            register,
            json!({ "i": { "child": "E2E-LIFE-1", "authority": "888", "born": "2016-07",
                "district": PRESTON, "on": "2025-03-03" } }),
        )
        .await;
    assert_eq!(
        body["data"]["registerChild"],
        json!({ "stream": "child-E2E-LIFE-1", "version": 1, "eventType": "ChildRegistered" }),
        "{body}"
    );
    let before = head(&db);
    let cases = [
        // A plan before any decision to assess.
        (
            "mutation($i: IssuePlanInput!) { issuePlan(input: $i) { version } }",
            json!({ "i": { "child": "E2E-LIFE-1", "on": "2025-06-01", "primaryNeed": "ASD" } }),
            "BAD_USER_INPUT",
            Some("child"),
        ),
        // A need that is not an SEN2 code.
        (
            "mutation($i: IssuePlanInput!) { issuePlan(input: $i) { version } }",
            json!({ "i": { "child": "E2E-LIFE-1", "on": "2025-06-01", "primaryNeed": "SAD" } }),
            "BAD_USER_INPUT",
            Some("input.primaryNeed"),
        ),
        // A stale version of the child's stream.
        (
            "mutation($i: ChildDateInput!) { requestAssessment(input: $i) { version } }",
            json!({ "i": { "child": "E2E-LIFE-1", "on": "2025-03-10", "expectedVersion": 0 } }),
            "CONFLICT",
            None,
        ),
        // A placement both at a school and elsewhere.
        (
            "mutation($i: StartPlacementInput!) { startPlacement(input: $i) { version } }",
            json!({ "i": { "child": "E2E-LIFE-1", "on": "2025-09-01", "urn": "999999",
                "elsewhere": "elective_home_education" } }),
            "BAD_USER_INPUT",
            Some("input.urn"),
        ),
        // A child nobody registered.
        (
            "mutation($i: ChildDateInput!) { requestAssessment(input: $i) { version } }",
            json!({ "i": { "child": "E2E-NOBODY-9", "on": "2025-03-10" } }),
            "NOT_FOUND",
            None,
        ),
        // Capacity of a setting that is not there.
        (
            "mutation($i: SetNetCapacityInput!) { setNetCapacity(input: $i) { version } }",
            json!({ "i": { "urn": "999998", "from": "2025-09-01", "capacity": [{ "ncy": "R", "count": 30 }] } }),
            "NOT_FOUND",
            None,
        ),
        // A negative count.
        (
            "mutation($i: SetPlacementCostInput!) { setPlacementCost(input: $i) { version } }",
            json!({ "i": { "authority": "888", "kind": "special_independent", "from": "2026-04-01", "annualCost": "-5" } }),
            "BAD_USER_INPUT",
            Some("annual_cost"),
        ),
    ];
    for (query, vars, expected, field) in &cases {
        let (status, body) = server.gql(Some(&planner), query, vars.clone()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(code(&body), Some(*expected), "{vars}: {body}");
        if let Some(field) = field {
            assert_eq!(body["errors"][0]["extensions"]["field"], *field, "{body}");
        }
        if *expected == "CONFLICT" {
            assert_eq!(
                body["errors"][0]["extensions"]["actualVersion"], 1,
                "{body}"
            );
        }
        assert_eq!(head(&db), before, "{vars} wrote something");
    }
    // With the version it has, the request is recorded.
    let (_, body) = server
        .gql(
            Some(&planner),
            "mutation($i: ChildDateInput!) { requestAssessment(input: $i) { version eventType } }",
            json!({ "i": { "child": "E2E-LIFE-1", "on": "2025-03-10", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(
        body["data"]["requestAssessment"],
        json!({ "version": 2, "eventType": "AssessmentRequested" }),
        "{body}"
    );
}

/// Hostile GraphQL inputs: generated values (unicode, SQL-looking, enormous, negative, huge,
/// of the wrong type) in the fields of mutations and queries. Every answer is JSON with
/// stable codes, never `INTERNAL`; a refused mutation writes nothing; the server stays up.
#[tokio::test]
async fn hostile_graphql_inputs_get_clear_errors_and_write_nothing() {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let value = prop_oneof![
        any::<String>().prop_map(serde_json::Value::from),
        "[ -~]{0,40}".prop_map(serde_json::Value::from),
        Just(json!("'); DROP TABLE events; --")),
        Just(json!("x".repeat(20_000))),
        Just(json!("2099-02-30")),
        Just(json!("\u{0}\u{202e}")),
        any::<i64>().prop_map(serde_json::Value::from),
        Just(json!(-1)),
        Just(json!(1e300)),
        Just(json!(null)),
        Just(json!([1, 2, 3])),
        Just(json!({ "nested": { "deeper": [] } })),
    ];
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            "registerChild",
            "mutation($i: RegisterChildInput!) { registerChild(input: $i) { version } }",
            vec!["child", "authority", "born", "district", "on"],
        ),
        (
            "issuePlan",
            "mutation($i: IssuePlanInput!) { issuePlan(input: $i) { version } }",
            vec!["child", "on", "primaryNeed"],
        ),
        (
            "startPlacement",
            "mutation($i: StartPlacementInput!) { startPlacement(input: $i) { version } }",
            vec!["child", "on", "urn", "facility"],
        ),
        (
            "openSetting",
            "mutation($i: OpenSettingInput!) { openSetting(input: $i) { version } }",
            vec![
                "urn",
                "name",
                "authority",
                "district",
                "kind",
                "phase",
                "lowAge",
                "highAge",
                "on",
            ],
        ),
        (
            "commissionPlaces",
            "mutation($i: CommissionPlacesInput!) { commissionPlaces(input: $i) { version } }",
            vec!["urn", "year", "places"],
        ),
        (
            "setPlacementCost",
            "mutation($i: SetPlacementCostInput!) { setPlacementCost(input: $i) { version } }",
            vec!["authority", "kind", "from", "annualCost"],
        ),
        (
            "addScenarioLever",
            "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { version } }",
            vec!["scenario", "lever", "expectedVersion"],
        ),
        (
            "importFile",
            "mutation($i: ImportInput!) { importFile(input: $i) { newEvents } }",
            vec!["format", "content", "fileName"],
        ),
    ];
    let base: Vec<serde_json::Value> = vec![
        json!({ "child": "HOSTILE-1", "authority": "888", "born": "2016-01", "district": PRESTON, "on": "2025-01-06" }),
        json!({ "child": "HOSTILE-1", "on": "2025-06-01", "primaryNeed": "ASD" }),
        json!({ "child": "HOSTILE-1", "on": "2025-09-01", "urn": "999999" }),
        json!({ "urn": "999990", "name": "H (synthetic)", "authority": "888", "district": PRESTON, "kind": "special_la_maintained", "phase": "all_through", "lowAge": 4, "highAge": 19, "on": "2020-09-01" }),
        json!({ "urn": "999990", "year": "2025/26", "places": [{ "need": "ASD", "places": 4 }] }),
        json!({ "authority": "888", "kind": "special_independent", "from": "2026-04-01", "annualCost": "66000" }),
        json!({ "scenario": "nowhere", "lever": { "lever": "incidence_multiplier", "multiplier": "1.1" } }),
        json!({ "format": "SETTINGS", "content": "urn\n1\n" }),
    ];
    let allowed = [
        "BAD_USER_INPUT",
        "NOT_FOUND",
        "CONFLICT",
        "FORBIDDEN",
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_PARSE_FAILED",
        "BAD_REQUEST",
    ];
    let mut runner = TestRunner::deterministic();
    let mut refused = 0;
    for n in 0..160 {
        let k = n % cases.len();
        let (name, query, fields) = &cases[k];
        let mut input = base[k].clone();
        let field = fields[(n / cases.len()) % fields.len()];
        let v = value.new_tree(&mut runner).unwrap().current();
        input[field] = v;
        let before = head(&db);
        let body = Server::client_for(&server.base)
            .try_gql(Some(&planner), query, json!({ "i": input }))
            .await
            .unwrap_or_else(|e| panic!("{name}.{field}: no answer: {e}"));
        if let Some(errors) = body["errors"].as_array() {
            refused += 1;
            for e in errors {
                let code = e["extensions"]["code"].as_str().unwrap_or("(none)");
                assert!(
                    allowed.contains(&code),
                    "{name}.{field} = {}: {e}",
                    input[field]
                );
            }
            assert_eq!(
                head(&db),
                before,
                "{name}.{field}: a refused mutation wrote"
            );
        }
    }
    assert!(refused > 100, "most hostile inputs are refused ({refused})");
    let (status, _, _) = server
        .raw(reqwest::Method::GET, "/healthz", &[], Vec::new())
        .await;
    assert_eq!(status, 200, "the server is still up");
}

/// A command on a stream that does not exist is NOT_FOUND, whatever version the caller says
/// it is at (never version 0, never a conflict), and records nothing.
#[tokio::test]
async fn a_command_on_a_missing_stream_is_not_found() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let before = head(&db);
    let lever = json!({ "lever": "incidence_multiplier", "multiplier": "1.1" });
    for expected in [json!(3), json!(1), json!(null)] {
        let (_, body) = server
            .gql(
                Some(&planner),
                "mutation($i: AddLeverInput!) { addScenarioLever(input: $i) { stream version position } }",
                json!({ "i": { "scenario": "no-such-scenario", "lever": lever, "expectedVersion": expected } }),
            )
            .await;
        assert_eq!(
            code(&body),
            Some("NOT_FOUND"),
            "expected {expected}: {body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("no-such-scenario"),
            "{body}"
        );
    }
    let (_, body) = server
        .gql(
            Some(&planner),
            "mutation($i: CloseSettingInput!) { closeSetting(input: $i) { version } }",
            json!({ "i": { "urn": "199999", "on": "2026-08-31", "expectedVersion": 2 } }),
        )
        .await;
    assert_eq!(code(&body), Some("NOT_FOUND"), "{body}");
    assert_eq!(
        head(&db),
        before,
        "a command on a missing stream recorded something"
    );
}

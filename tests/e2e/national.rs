//! Any English authority: England's geography from ONS's lookup and every authority's plans
//! from DfE's published totals, then a forecast of an authority outside Lancashire, over
//! GraphQL and in the CLI.

use serde_json::json;

use crate::harness::{BIN, Database, Server, cli};

const LOOKUP: &str = "seeds/reference/ons/lad25_ctyua25_england.csv";
const TOTALS: &str = "seeds/reference/national/ehcp_plans_in_force_all_las.csv";

#[tokio::test]
async fn an_authority_outside_lancashire_is_forecast_from_the_published_files() {
    let db = Database::seeded();
    // Before the geography, the national file names authorities Placeledger does not hold:
    // it imports nothing and says what to run.
    let out = std::process::Command::new(BIN)
        .args(["import", "dfe-ehcp", TOTALS])
        .env("PLACELEDGER_DATABASE_URL", &db.url)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let refused = String::from_utf8_lossy(&out.stderr);
    assert!(
        refused.contains("authority 935 (Suffolk, E10000029)"),
        "{refused}"
    );
    assert!(refused.contains("geography import"), "{refused}");
    let geography = cli(&db.url, &["geography", "import", LOOKUP]);
    // Pan-Lancashire's fourteen districts and four neighbouring authorities were there.
    assert!(geography.contains("new events recorded"), "{geography}");
    let national = cli(&db.url, &["import", "dfe-ehcp", TOTALS]);
    assert!(
        national.contains("passed over retired authorities"),
        "{national}"
    );

    let planner = db.token("planner", Some("935"));
    let server = Server::start(&db.url);
    let (status, body) = server
        .gql(
            Some(&planner),
            "{ forecast(filter: { authority: \"935\", years: [2026] }) { origin
               rows { authority district districtName demand { p50 } capacity surplus { p50 }
                      warnings { code } }
               totals { authority year demand }
               warnings { authority code } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let f = &body["data"]["forecast"];
    assert_eq!(f["origin"], 2025, "{body}");
    let rows = f["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["authority"] == "935"));
    // Suffolk's five districts, by name.
    let mut districts: Vec<&str> = rows
        .iter()
        .map(|r| r["districtName"].as_str().unwrap())
        .collect();
    districts.sort_unstable();
    districts.dedup();
    assert_eq!(
        districts,
        [
            "Babergh",
            "East Suffolk",
            "Ipswich",
            "Mid Suffolk",
            "West Suffolk"
        ]
    );
    // Its January 2026 follows its published 2025 total (8,837) at England's growth, and
    // says so.
    let total: i64 = f["totals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["authority"] == "935")
        .map(|t| t["demand"].as_i64().unwrap())
        .sum();
    assert!(total > 8_837 && total < 11_000, "{total}");
    let codes: Vec<&str> = f["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"england_growth_only"), "{codes:?}");
    assert!(codes.contains(&"no_population"), "{codes:?}");
    // No settings of Suffolk's are on record: its places are not known, and no row shows a
    // deficit against places nobody recorded.
    assert!(codes.contains(&"capacity_missing"), "{codes:?}");
    assert!(
        rows.iter().all(|r| r["capacity"].is_null()
            && r["surplus"].is_null()
            && r["warnings"].as_array().unwrap().is_empty()),
        "{body}"
    );

    // Its county measures are its published figures, and say so.
    let (status, body) = server
        .gql(
            Some(&planner),
            "{ countyMeasures(authority: \"935\", fromYear: 2024, toYear: 2025) {
               year source plans plansGrowthPercent outOfAuthority newPlans } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let measures = body["data"]["countyMeasures"].as_array().unwrap();
    let jan_2025 = measures.iter().find(|m| m["year"] == 2025).unwrap();
    assert_eq!(jan_2025["source"], "published_tables", "{body}");
    assert_eq!(jan_2025["plans"], 8_837);
    // 7,860 in January 2024.
    assert_eq!(jan_2025["plansGrowthPercent"], "12.4", "{body}");
    assert!(jan_2025["outOfAuthority"].is_null() && jan_2025["newPlans"].is_null());

    // The CLI gives the same authority.
    let table = cli(
        &db.url,
        &["forecast", "run", "--authority", "935", "--runs", "100"],
    );
    assert!(table.contains("Suffolk (935)"), "{table}");
}

/// Runs the CLI in `dir` on its default database (`./data/placeledger.db` there): whether it
/// succeeded, and what it printed on stdout and stderr.
fn cli_in(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("PLACELEDGER_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A data engineer onboarding authorities outside Lancashire, from an empty directory, as
/// README's "Any English authority" says: the geography, the published totals, the national
/// track record and a forecast, in the CLI and over GraphQL. (A small fixture: Suffolk,
/// Rutland, Cumbria and its successors, and England; the full files are `make national`'s.)
#[tokio::test]
async fn from_an_empty_directory_any_authority_is_onboarded_and_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = |name: &str| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/national")
            .join(name)
            .display()
            .to_string()
    };
    let (lookup, totals) = (
        fixture("lad_ctyua_lookup.csv"),
        fixture("ehcp_plans_in_force.csv"),
    );

    // The totals first: nothing is registered, so nothing is imported, and it says what to
    // run.
    let (ok, _, refused) = cli_in(dir.path(), &["import", "dfe-ehcp", &totals]);
    assert!(!ok);
    assert!(
        refused.contains("authority 857 (Rutland, E06000017)"),
        "{refused}"
    );
    assert!(refused.contains("geography import"), "{refused}");
    let (ok, events, err) = cli_in(dir.path(), &["events", "tail"]);
    assert!(ok, "{err}");
    assert_eq!(events.trim(), "", "nothing was recorded");

    // Suffolk's five districts, Rutland, Cumberland, Westmorland and Furness.
    let (ok, out, err) = cli_in(dir.path(), &["geography", "import", &lookup]);
    assert!(ok, "{err}");
    assert!(out.contains("12 facts: 12 new events recorded"), "{out}");
    let (ok, out, err) = cli_in(dir.path(), &["import", "dfe-ehcp", &totals]);
    assert!(ok, "{err}");
    // Cumbria's rows (909, until 2023) are its successors' history, not an authority now.
    assert!(out.contains("passed over retired authorities"), "{out}");
    assert!(out.contains("909"), "{out}");

    // Rutland's planning areas, from a CSV; again, nothing new.
    let areas = dir.path().join("areas.csv");
    std::fs::write(
        &areas,
        "planning_area,district,phase,name\n\
         857-P,E06000017,primary,Rutland primary\n\
         857-S,E06000017,secondary,Rutland secondary\n",
    )
    .unwrap();
    let areas = areas.display().to_string();
    let (ok, out, err) = cli_in(dir.path(), &["geography", "planning-areas", &areas]);
    assert!(ok, "{err}");
    assert!(out.contains("2 new events recorded"), "{out}");
    let (ok, out, _) = cli_in(dir.path(), &["geography", "planning-areas", &areas]);
    assert!(ok && out.contains("0 new events"), "{out}");

    // The track record: Suffolk and Rutland have enough Januaries; the new unitaries not.
    let (ok, table, err) = cli_in(
        dir.path(),
        &[
            "forecast",
            "backtest",
            "--all",
            "--horizon",
            "2",
            "--runs",
            "100",
        ],
    );
    assert!(ok, "{err}");
    assert!(table.contains("pooled over 2 authorities"), "{table}");
    let model_1 = table
        .lines()
        .find(|l| l.split_whitespace().take(2).eq(["1", "model"]))
        .unwrap_or_else(|| panic!("{table}"));
    let (ok, run, err) = cli_in(
        dir.path(),
        &["forecast", "run", "--authority", "857", "--runs", "100"],
    );
    assert!(ok, "{err}");
    assert!(run.contains("Rutland (857)"), "{run}");

    let (ok, planner, err) = cli_in(
        dir.path(),
        &["token", "create", "--role", "planner", "--authority", "857"],
    );
    assert!(ok, "{err}");
    let (ok, partner, err) = cli_in(
        dir.path(),
        &["token", "create", "--role", "partner", "--authority", "935"],
    );
    assert!(ok, "{err}");
    let server = Server::start_in(dir.path());
    let (status, body) = server
        .gql(
            Some(planner.trim()),
            "{ forecast(filter: { authority: \"857\", years: [2026, 2027] }) { origin
               totals { authority year demand }
               caseload { authority year plans { p10 p50 p90 } basis }
               warnings { authority code } }
               backtest(scope: ALL, horizon: 2) { authority horizon method forecasts
               authorities mape medianApe bias coverage spread originYears } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let f = &body["data"]["forecast"];
    assert_eq!(f["origin"], 2025, "{body}");
    // Rutland's 376 plans of January 2025, grown: a range around a median above them.
    let jan_2026 = f["caseload"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["authority"] == "857" && c["year"] == 2026)
        .unwrap_or_else(|| panic!("{body}"));
    let (p10, p50, p90) = (
        jan_2026["plans"]["p10"].as_i64().unwrap(),
        jan_2026["plans"]["p50"].as_i64().unwrap(),
        jan_2026["plans"]["p90"].as_i64().unwrap(),
    );
    assert!(
        p10 < p50 && p50 < p90 && p50 > 376 && p50 < 480,
        "{jan_2026}"
    );
    // Known from DfE's tables alone, and the answer says so.
    assert_eq!(jan_2026["basis"], "published_totals");
    assert!(
        f["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "england_growth_only"),
        "{body}"
    );
    // The pooled track record over GraphQL is the CLI's table.
    let lines = body["data"]["backtest"].as_array().unwrap();
    assert_eq!(lines.len(), 8, "{body}");
    let model = lines
        .iter()
        .find(|l| l["method"] == "model" && l["horizon"] == 1)
        .unwrap();
    assert!(model["authority"].is_null());
    assert_eq!(model["authorities"], 2);
    let cli_mape: f64 = model_1
        .split_whitespace()
        .nth(3)
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(
        (model["mape"].as_f64().unwrap() - cli_mape).abs() < 0.05,
        "{model} {model_1}"
    );
    assert!(model["spread"].as_f64().is_some() && model["coverage"].as_f64().is_some());
    assert!(
        lines
            .iter()
            .filter(|l| l["method"] != "model")
            .all(|l| l["coverage"].is_null() && l["spread"].is_null())
    );

    // A partner reads only what agreements share: not the pooled record; refused, audited.
    let (_, body) = server
        .gql(
            Some(partner.trim()),
            "{ backtest(scope: ALL, horizon: 1) { method mape } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    // Asking for one authority's record and all at once is a mistake, said so.
    let (_, body) = server
        .gql(
            Some(planner.trim()),
            "{ backtest(scope: ALL, authority: \"857\") { method } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    let url = format!(
        "sqlite:{}",
        dir.path().join("data/placeledger.db").display()
    );
    let backend = placeledger_app::Backend::connect(&url).await.unwrap();
    let entries = backend.access.audit_entries().await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.field == "backtest" && e.outcome == "refused: FORBIDDEN"),
        "{entries:?}"
    );
}

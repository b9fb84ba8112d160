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
               rows { authority district districtName demand { p50 } }
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

    // The CLI gives the same authority.
    let table = cli(
        &db.url,
        &["forecast", "run", "--authority", "935", "--runs", "100"],
    );
    assert!(table.contains("Suffolk (935)"), "{table}");
}

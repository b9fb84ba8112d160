//! The mainstream forecast as a planner reads it: per planning area, as the DfE SCAP return
//! counts pupils, with its warnings, over GraphQL and in the CLI.

use serde_json::{Value, json};

use crate::harness::{Database, Server, cli};

const LANCASTER_SECONDARY: &str = "E07000121-secondary";

#[tokio::test]
async fn the_mainstream_forecast_counts_as_scap_does_and_warns() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let (status, body) = server
        .gql(
            Some(&planner),
            "query($f: MainstreamFilter!) { mainstreamForecast(filter: $f) { origin rows {
               planningArea planningAreaName districtName phase year pupils { p10 p50 p90 }
               intake { p50 } netCapacity surplus { p50 } surplusPct headroom
               warnings { code message } } } }",
            json!({ "f": { "authority": "888" } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let rows = body["data"]["mainstreamForecast"]["rows"]
        .as_array()
        .unwrap();
    assert!(!rows.is_empty(), "{body}");
    // Primary, Y7-Y11 and the sixth forms apart; intakes for the first two.
    for phase in ["primary", "secondary", "post_16"] {
        assert!(rows.iter().any(|r| r["phase"] == phase), "{phase}");
    }
    for r in rows {
        assert_eq!(r["intake"].is_null(), r["phase"] == "post_16", "{r}");
        assert!(r["pupils"]["p10"].as_i64() <= r["pupils"]["p50"].as_i64());
    }
    // Lancaster's secondary schools no longer show two-thirds of their places empty (the
    // seed read university students back into its child population).
    let lancaster: Vec<&Value> = rows
        .iter()
        .filter(|r| r["planningArea"] == LANCASTER_SECONDARY && r["phase"] == "secondary")
        .collect();
    assert!(!lancaster.is_empty());
    for r in &lancaster {
        let pct: f64 = r["surplusPct"].as_str().unwrap().parse().unwrap();
        assert!(pct < 25.0, "{r}");
    }
    // Every area over 25% surplus says so, and no other.
    let mut warned = 0;
    for r in rows {
        let over = r["surplusPct"]
            .as_str()
            .is_some_and(|p| p.parse::<f64>().unwrap() > 25.0);
        let says = r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "surplus_over_25_percent");
        assert_eq!(over, says, "{r}");
        warned += usize::from(says);
    }
    assert!(warned > 0, "the seed has areas over 25% surplus");
    // A phase that is no phase of the forecast is refused with its field.
    let (_, body) = server
        .gql(
            Some(&planner),
            "{ mainstreamForecast(filter: { authority: \"888\", phase: \"sixth\" }) { origin } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );

    // The CLI prints the same warnings under the areas.
    let table = cli(
        &db.url,
        &["forecast", "run", "--authority", "888", "--runs", "200"],
    );
    assert!(table.contains("sixth form"), "{table}");
    assert!(table.contains("warning surplus_over_25_percent"), "{table}");
    let csv = cli(
        &db.url,
        &[
            "forecast",
            "run",
            "--authority",
            "888",
            "--runs",
            "200",
            "--format",
            "csv",
        ],
    );
    assert!(csv.lines().next().unwrap().ends_with(",warnings"));
    assert!(csv.contains("surplus_over_25_percent"));
}

//! Two dimensions, named: `sector` (what a place is) and `location` (where it is: own
//! authority, partner authority, elsewhere). "Out of county" is a location and nothing else.

use serde_json::json;

use crate::harness::{Database, Server, cli};

#[tokio::test]
async fn every_forecast_figure_has_its_sector_and_its_location() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let (_, body) = server
        .gql(
            Some(&planner),
            "{ forecast(filter: { authority: \"888\", years: [2026] }) {
               rows { kind sector need demand { p50 } metByPartner { p50 } outOfCounty { p50 }
                      byLocation { location children } }
               totals { kind sector demand outOfCounty byLocation { location children } } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let f = &body["data"]["forecast"];
    let rows = f["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    let sector_of = |kind: &str| match kind {
        "mainstream" => "mainstream",
        "resourced_provision" => "resourced_provision_or_sen_unit",
        "special" => "state_special",
        "independent" => "independent_or_non_maintained_special",
        "alternative_provision" => "alternative_provision",
        "fe_college" => "fe_or_sixth_form_college",
        "specialist_post_16" => "specialist_post_16",
        "elsewhere" => "other",
        other => panic!("a kind of place the test does not know: {other}"),
    };
    let mut independent_in_county = 0;
    for r in rows {
        assert_eq!(r["sector"], sector_of(r["kind"].as_str().unwrap()), "{r}");
        let by: Vec<(&str, i64)> = r["byLocation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["location"].as_str().unwrap(),
                    l["children"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            by.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            ["own_authority", "partner_authority", "elsewhere"]
        );
        // Out of county is the location `elsewhere`, exactly.
        assert_eq!(by[2].1, r["outOfCounty"]["p50"].as_i64().unwrap(), "{r}");
        // Medians of parts need not add up: the partners' share is cut where they would not.
        assert!(
            by[1].1 <= r["metByPartner"]["p50"].as_i64().unwrap_or(0),
            "{r}"
        );
        let demand = r["demand"]["p50"].as_i64().unwrap();
        assert_eq!(by.iter().map(|(_, n)| n).sum::<i64>(), demand, "{r}");
        if r["sector"] == "independent_or_non_maintained_special" && r["need"].is_null() {
            independent_in_county += by[0].1;
        }
    }
    // Independent special schools inside Lancashire are independent and in the authority:
    // the sector and the location are two things.
    assert!(
        independent_in_county > 0,
        "no independent places in the county"
    );
    for t in f["totals"].as_array().unwrap() {
        assert_eq!(t["sector"], sector_of(t["kind"].as_str().unwrap()), "{t}");
        let elsewhere = &t["byLocation"][2];
        assert_eq!(elsewhere["location"], "elsewhere");
        assert_eq!(elsewhere["children"], t["outOfCounty"], "{t}");
    }

    // The placement summary names the sector of each placement type.
    let (_, summary) = server
        .gql(
            Some(&planner),
            "{ placementSummary(authority: \"888\", groupBy: [KIND, LOCATION]) { cells { kind sector location count } } }",
            json!({}),
        )
        .await;
    let cells = summary["data"]["placementSummary"]["cells"]
        .as_array()
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(
        cells
            .iter()
            .any(|c| c["kind"] == "ISS" || c["sector"] == "independent_or_non_maintained_special"),
        "{summary}"
    );
    for c in cells {
        assert!(c["sector"].is_string(), "{c}");
    }

    // The CSV carries both.
    let csv = cli(
        &db.url,
        &[
            "forecast",
            "run",
            "--authority",
            "888",
            "--runs",
            "100",
            "--format",
            "csv",
        ],
    );
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    for column in [
        "sector",
        "own_authority_p50",
        "partner_authority_p50",
        "elsewhere_p50",
    ] {
        assert!(headers.iter().any(|h| h == column), "{column}");
    }
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    for record in reader.records().map(Result::unwrap) {
        if record[col("kind")] == *"mainstream_pupils" {
            continue;
        }
        assert_eq!(
            record[col("elsewhere_p50")],
            record[col("out_of_county_p50")]
        );
    }
}

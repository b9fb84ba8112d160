//! The measures the county watches, over the seeded history.

use serde_json::{Value, json};

use crate::harness::{Database, Server};

/// Lancashire's measures January by January: the authority's rows are the sums of its
/// districts', its plans are the caseload history's, and the shares are shares.
#[tokio::test]
async fn the_county_measures_add_up_over_districts_and_agree_with_the_caseload() {
    let db = Database::seeded();
    let analyst = db.token("analyst", Some("888"));
    let server = Server::start(&db.url);
    let (_, body) = server
        .gql(
            Some(&analyst),
            "{ countyMeasures(authority: \"888\", fromYear: 2020, toYear: 2025, byDistrict: true) {
                year district source plans inMainstream mainstreamSharePercent independentSpecial
                outOfAuthority outOfAuthorityAnnualCost outOfAuthorityUncosted
                newPlans newPlansWithin20Weeks within20WeeksPercent byNeed { need plans } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let rows = body["data"]["countyMeasures"].as_array().unwrap();
    let (_, history) = server
        .gql(
            Some(&analyst),
            "{ caseloadHistory(authority: \"888\") { year plans } }",
            json!({}),
        )
        .await;
    let n = |v: &Value| v.as_u64().unwrap();
    for year in 2020..=2025 {
        let of_year: Vec<&Value> = rows.iter().filter(|r| r["year"] == year).collect();
        let (whole, districts): (Vec<&Value>, Vec<&Value>) =
            of_year.iter().partition(|r| r["district"].is_null());
        assert_eq!(whole.len(), 1, "{year}");
        assert_eq!(
            districts.len(),
            12,
            "Lancashire's twelve districts in {year}"
        );
        let whole = whole[0];
        // Lancashire records its children: every figure is counted from them.
        assert!(
            of_year.iter().all(|r| r["source"] == "recorded_children"),
            "{year}"
        );
        for field in [
            "plans",
            "inMainstream",
            "independentSpecial",
            "outOfAuthority",
            "newPlans",
            "newPlansWithin20Weeks",
        ] {
            let sum: u64 = districts.iter().map(|d| n(&d[field])).sum();
            assert_eq!(sum, n(&whole[field]), "{field} in {year}");
        }
        let by_need: u64 = whole["byNeed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| n(&x["plans"]))
            .sum();
        assert_eq!(by_need, n(&whole["plans"]), "needs add up in {year}");
        let recorded = history["data"]["caseloadHistory"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["year"] == year)
            .map(|h| n(&h["plans"]))
            .unwrap();
        assert_eq!(n(&whole["plans"]), recorded, "January {year}");
        let share: f64 = whole["mainstreamSharePercent"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let expected = 100.0 * n(&whole["inMainstream"]) as f64 / n(&whole["plans"]) as f64;
        assert!((share - expected).abs() < 0.051, "{share} vs {expected}");
        assert!(n(&whole["newPlansWithin20Weeks"]) <= n(&whole["newPlans"]));
        assert!(n(&whole["outOfAuthority"]) > 0, "{year}: {whole}");
        let cost: f64 = whole["outOfAuthorityAnnualCost"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(cost > 0.0, "{year}: {whole}");
    }
    // Seeded from the real January 2025 table: Lancashire's 12,317 plans.
    let jan_2025 = rows
        .iter()
        .find(|r| r["year"] == 2025 && r["district"].is_null())
        .unwrap();
    assert_eq!(jan_2025["plans"], 12_317);

    // Another authority's measures are not an analyst's to see.
    let (_, body) = server
        .gql(
            Some(&analyst),
            "{ countyMeasures(authority: \"890\") { year plans } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::harness::code(&body), Some("FORBIDDEN"), "{body}");
}

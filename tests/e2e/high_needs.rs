//! The High Needs Block view as a finance officer and a planner read it: forecast spend per
//! financial year against the allocation and the DSG balance, each figure with its basis, over
//! GraphQL and in the CLI; the authority's own figures imported through `importFile`.

use serde_json::{Value, json};

use crate::harness::{Database, Server, cli};

const QUERY: &str = "query($a: String) { highNeeds(authority: $a) { authority authorityName
    origin covers years { financialYear label spend allocation inYear dsgBalance
    allocationBasis { basis status source fromYear } balanceBasis { basis status source }
    warnings { code message } } } }";

const IMPORT: &str =
    "mutation($i: ImportInput!) { importFile(input: $i) { facts newEvents alreadyStored } }";

fn pounds(v: &Value) -> f64 {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not an amount"))
        .parse()
        .unwrap()
}

fn codes(year: &Value) -> Vec<&str> {
    year["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn high_needs_spend_meets_the_allocation_and_the_dsg_balance_year_by_year() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let (status, body) = server
        .gql(Some(&planner), QUERY, json!({ "a": "888" }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let view = &body["data"]["highNeeds"][0];
    assert_eq!(view["authority"], "888");
    assert_eq!(view["authorityName"], "Lancashire");
    assert!(view["covers"].as_str().unwrap().contains("EHC plans"));
    let years = view["years"].as_array().unwrap();
    assert!(years.len() >= 4, "{view}");
    let first = &years[0];
    assert_eq!(first["label"], "2026-27", "{view}");
    // The seed's allocation is an estimate carried forward from 2024-25, and says so.
    assert_eq!(first["allocationBasis"]["basis"], "carried_forward");
    assert_eq!(first["allocationBasis"]["fromYear"], 2024);
    assert!(codes(first).contains(&"allocation_estimated"), "{first}");
    assert_eq!(pounds(&first["allocation"]), 208_960_000.0);
    // Lancashire's own projection of its DSG deficit at March 2027 is the balance of the
    // first year, and each later year carries it on: last year's, plus allocation, less spend.
    assert_eq!(first["balanceBasis"]["basis"], "recorded");
    assert_eq!(first["balanceBasis"]["status"], "forecast");
    assert_eq!(pounds(&first["dsgBalance"]), -171_410_000.0);
    for pair in years.windows(2) {
        let (last, this) = (&pair[0], &pair[1]);
        assert_eq!(this["balanceBasis"]["basis"], "projected", "{this}");
        let expected = pounds(&last["dsgBalance"]) + pounds(&this["inYear"]);
        assert!(
            (pounds(&this["dsgBalance"]) - expected).abs() < 0.01,
            "{last} then {this}"
        );
        let gap = pounds(&this["allocation"]) - pounds(&this["spend"]);
        assert!((pounds(&this["inYear"]) - gap).abs() < 0.01, "{this}");
    }
    // The spend is the forecast's: 5/12 of January 2026's annual cost and 7/12 of 2027's.
    let (_, f) = server
        .gql(
            Some(&planner),
            "{ forecast(filter: { authority: \"888\", years: [2026, 2027] }) { totals { authority year annualCost } } }",
            json!({}),
        )
        .await;
    let january = |y: i64| -> f64 {
        f["data"]["forecast"]["totals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["authority"] == "888" && t["year"] == y)
            .filter_map(|t| t["annualCost"].as_str())
            .map(|c| c.parse::<f64>().unwrap())
            .sum()
    };
    let expected = (january(2026) * 5.0 + january(2027) * 7.0) / 12.0;
    assert!(
        (pounds(&first["spend"]) - expected).abs() < 1.0,
        "{} vs {expected}",
        first["spend"]
    );

    // Blackpool's opening balance is the seed's estimate (England's deficits shared by
    // plans): carried on, and said to be an estimate on every year.
    let admin = db.token("admin", None);
    let (_, all) = server.gql(Some(&admin), QUERY, json!({})).await;
    let views = all["data"]["highNeeds"].as_array().unwrap();
    assert_eq!(views.len(), 3, "{all}");
    let blackpool = views.iter().find(|v| v["authority"] == "890").unwrap();
    let y = &blackpool["years"][0];
    assert_eq!(y["balanceBasis"]["basis"], "projected", "{y}");
    let expected = -11_960_000.0 + pounds(&y["inYear"]);
    assert!((pounds(&y["dsgBalance"]) - expected).abs() < 0.01, "{y}");
    for y in blackpool["years"].as_array().unwrap() {
        assert!(codes(y).contains(&"dsg_balance_estimated"), "{y}");
    }

    // Blackpool's finance officer imports its figures; a bad file imports nothing.
    let blackpool_planner = db.token("planner", Some("890"));
    let bad = "la_code,financial_year,hnb_allocation,dsg_balance,status,source\n\
               890,2026-28,31000000,,final,DSG 2026-27\n\
               890,2025-26,,,final,nothing given\n";
    let (_, refused) = server
        .gql(
            Some(&blackpool_planner),
            IMPORT,
            json!({ "i": { "format": "HIGH_NEEDS", "content": bad, "fileName": "bad.csv" } }),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
    let good = "la_code,financial_year,hnb_allocation,dsg_balance,status,source\n\
                890,2025-26,,-4000000,final,\"DSG outturn 2025-26, Schools Forum\"\n\
                890,2026-27,31000000,,final,DSG allocations 2026 to 2027\n";
    let (_, imported) = server
        .gql(
            Some(&blackpool_planner),
            IMPORT,
            json!({ "i": { "format": "HIGH_NEEDS", "content": good, "fileName": "dsg.csv" } }),
        )
        .await;
    assert_eq!(imported["data"]["importFile"]["newEvents"], 2, "{imported}");
    // Another authority's figures are not Blackpool's to record.
    let (_, forbidden) = server
        .gql(
            Some(&blackpool_planner),
            IMPORT,
            json!({ "i": { "format": "HIGH_NEEDS",
              "content": "la_code,financial_year,hnb_allocation,dsg_balance,status,source\n888,2026-27,1,,final,x\n",
              "fileName": "lcc.csv" } }),
        )
        .await;
    assert_eq!(
        forbidden["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{forbidden}"
    );
    let (_, after) = server
        .gql(Some(&blackpool_planner), QUERY, json!({ "a": "890" }))
        .await;
    let y = &after["data"]["highNeeds"][0]["years"][0];
    assert_eq!(y["allocationBasis"]["basis"], "recorded", "{y}");
    assert_eq!(pounds(&y["allocation"]), 31_000_000.0);
    assert_eq!(y["balanceBasis"]["basis"], "projected", "{y}");
    let expected = -4_000_000.0 + 31_000_000.0 - pounds(&y["spend"]);
    assert!((pounds(&y["dsgBalance"]) - expected).abs() < 0.01, "{y}");
    assert!(!codes(y).contains(&"dsg_balance_estimated"), "{y}");

    // The CLI prints the same view: a table with sources and warnings, and a CSV.
    let table = cli(&db.url, &["forecast", "high-needs", "--authority", "888"]);
    assert!(
        table.contains("Lancashire (888): High Needs Block"),
        "{table}"
    );
    assert!(table.contains("-171410000"), "{table}");
    assert!(table.contains("allocation_estimated"), "{table}");
    assert!(
        table.contains("source: Lancashire County Council"),
        "{table}"
    );
    let csv = cli(
        &db.url,
        &[
            "forecast",
            "high-needs",
            "--authority",
            "890",
            "--format",
            "csv",
        ],
    );
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[col("financial_year")], "2026-27");
    assert_eq!(&row[col("allocation")], "31000000");
    assert_eq!(
        &row[col("allocation_source")],
        "DSG allocations 2026 to 2027"
    );
    let spend: f64 = row[col("spend")].parse().unwrap();
    assert!((spend - pounds(&y["spend"])).abs() < 0.01, "{csv}");
}

/// Inflation and transport are parameters of the API's forecast and High Needs view, as of
/// the CLI's; prices that make no sense are refused in words, with the field.
#[tokio::test]
async fn prices_are_parameters_of_the_api() {
    let db = Database::seeded();
    let planner = db.token("planner", Some("888"));
    let server = Server::start(&db.url);
    let total_2030 = |body: &Value| -> f64 {
        body["data"]["forecast"]["totals"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .filter(|t| t["authority"] == "888" && t["year"] == 2030)
            .filter_map(|t| t["annualCost"].as_str())
            .map(|c| c.parse::<f64>().unwrap())
            .sum()
    };
    let query = "query($p: PricesInput) { forecast(filter: { authority: \"888\", years: [2030] }, prices: $p) { totals { authority year annualCost } } }";
    let (_, plain) = server
        .gql(Some(&planner), query, json!({ "p": null }))
        .await;
    let (_, inflated) = server
        .gql(
            Some(&planner),
            query,
            json!({ "p": { "inflationPercent": 3.0 } }),
        )
        .await;
    let (_, transported) = server
        .gql(
            Some(&planner),
            query,
            json!({ "p": { "transport": [{ "kind": "special", "perChild": "7500" }] } }),
        )
        .await;
    let plain = total_2030(&plain);
    assert!(plain > 0.0);
    assert!(total_2030(&inflated) > plain * 1.03, "{inflated}");
    assert!(total_2030(&transported) > plain, "{transported}");
    for (prices, says) in [
        (
            json!({ "inflationPercent": 90.0 }),
            "inflation must be from -20 to 50",
        ),
        (
            json!({ "transport": [{ "kind": "taxi", "perChild": "10" }] }),
            "is not a kind of place",
        ),
        (
            json!({ "transport": [{ "kind": "special", "perChild": "-10" }] }),
            "never negative",
        ),
    ] {
        let (_, body) = server
            .gql(Some(&planner), query, json!({ "p": prices }))
            .await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert!(error["message"].as_str().unwrap().contains(says), "{body}");
    }
    // The High Needs view spends more at 3% a year than at the price base.
    let hn =
        "query($p: PricesInput) { highNeeds(authority: \"888\", prices: $p) { years { spend } } }";
    let (_, base) = server.gql(Some(&planner), hn, json!({ "p": null })).await;
    let (_, up) = server
        .gql(
            Some(&planner),
            hn,
            json!({ "p": { "inflationPercent": 3.0 } }),
        )
        .await;
    let last = |b: &Value| {
        let years = b["data"]["highNeeds"][0]["years"].as_array().unwrap();
        pounds(&years.last().unwrap()["spend"])
    };
    assert!(last(&up) > last(&base), "{up} vs {base}");

    // An allocation carried forward can grow a year (default: in cash); 90% is refused.
    let grown = "query($g: Float!) { highNeeds(authority: \"888\", allocationGrowthPercent: $g) { years { allocation warnings { code message } } } }";
    let (_, flat) = server.gql(Some(&planner), grown, json!({ "g": 0.0 })).await;
    let (_, four) = server.gql(Some(&planner), grown, json!({ "g": 4.0 })).await;
    let first = |b: &Value| pounds(&b["data"]["highNeeds"][0]["years"][0]["allocation"]);
    // 2026-27 is two years on from the 2024-25 allocation.
    assert!(
        (first(&four) - first(&flat) * 1.04 * 1.04).abs() < 1.0,
        "{four}"
    );
    let (_, refused) = server
        .gql(Some(&planner), grown, json!({ "g": 90.0 }))
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
}

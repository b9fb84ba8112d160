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

/// Prices are parameters a finance officer sets: inflation from the price base and
/// home-to-school transport per child, each refused in words when it makes no sense.
#[test]
fn inflation_and_transport_are_parameters_of_the_forecast() {
    let db = Database::seeded();
    let total_2030 = |extra: &[&str]| -> f64 {
        let mut args = vec![
            "forecast",
            "run",
            "--authority",
            "888",
            "--runs",
            "100",
            "--format",
            "csv",
        ];
        args.extend(extra);
        let csv = cli(&db.url, &args);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
        reader
            .records()
            .map(Result::unwrap)
            .filter(|r| &r[col("year")] == "2030" && r[col("need")].is_empty())
            .filter_map(|r| r[col("annual_cost")].parse::<f64>().ok())
            .sum()
    };
    let plain = total_2030(&[]);
    let inflated = total_2030(&["--inflation", "3"]);
    let transported = total_2030(&["--transport", "special=7500"]);
    assert!(plain > 0.0);
    assert!(inflated > plain * 1.03, "{inflated} vs {plain}");
    assert!(transported > plain, "{transported} vs {plain}");
    for (flag, value, says) in [
        (
            "--inflation",
            "90",
            "inflation must be from -20 to 50 percent a year",
        ),
        (
            "--transport",
            "speshul=1",
            "\"speshul\" is not a kind of place",
        ),
        ("--transport", "special=-5", "a cost is never negative"),
    ] {
        let out = std::process::Command::new(crate::harness::BIN)
            .args(["forecast", "run", flag, value])
            .env("PLACELEDGER_DATABASE_URL", &db.url)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
}

/// A planner asks the CLI how a cell was made: its steps add up to its demand, its sources
/// are named, and a cell the forecast does not have is refused in words.
#[test]
fn a_cell_explains_itself_in_the_cli() {
    let db = Database::seeded();
    let args = [
        "forecast",
        "explain",
        "--authority",
        "888",
        "--district",
        "E07000123",
        "--phase",
        "primary",
        "--kind",
        "special",
        "--runs",
        "100",
        "--year",
    ];
    let mut with_year = args.to_vec();
    with_year.push("2027");
    let said = cli(&db.url, &with_year);
    let number = |line: &str| -> i64 { line.rsplit(' ').next().unwrap().parse().unwrap() };
    let demand: i64 = said
        .lines()
        .next()
        .and_then(|l| l.split("demand ").nth(1))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let placed: i64 = said
        .lines()
        .filter(|l| l.trim_start().starts_with("placed "))
        .map(number)
        .sum();
    assert_eq!(placed, demand, "{said}");
    assert!(said.contains("cost per place GBP"), "{said}");
    assert!(
        said.lines().filter(|l| l.starts_with("source: ")).count() >= 3,
        "{said}"
    );
    let mut far = args.to_vec();
    far.push("2050");
    let out = std::process::Command::new(crate::harness::BIN)
        .args(&far)
        .env("PLACELEDGER_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the forecast has no primary special cell"),
        "{err}"
    );
}

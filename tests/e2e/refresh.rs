//! The January refresh: DfE's release of the year imported from its published file, and
//! the forecast starting from it, its miss on the record.

use crate::harness::{Database, cli};

fn release_2026() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../seeds/reference/dfe-2026/caseload.csv")
        .display()
        .to_string()
}

#[test]
fn the_2026_release_is_imported_and_the_forecast_starts_from_january_2026() {
    let db = Database::seeded();
    let before = cli(
        &db.url,
        &["forecast", "run", "--authority", "888", "--runs", "200"],
    );
    assert!(before.contains("from January 2025"), "{before}");

    let said = cli(&db.url, &["import", "dfe-ehcp", &release_2026()]);
    assert!(said.contains("32 new events recorded"), "{said}");
    // Taken twice, nothing is recorded twice.
    let again = cli(&db.url, &["import", "dfe-ehcp", &release_2026()]);
    assert!(again.contains("0 new events recorded"), "{again}");

    let after = cli(
        &db.url,
        &["forecast", "run", "--authority", "888", "--runs", "200"],
    );
    assert!(after.contains("from January 2026"), "{after}");
    assert!(
        after.contains("starts from DfE's published January 2026 (14728 plans)"),
        "{after}"
    );
    let years = after.lines().find(|l| l.starts_with("district")).unwrap();
    assert!(
        years.contains("Jan 2027") && !years.contains("Jan 2026"),
        "{years}"
    );

    // The track record has January 2026: the forecast from January 2025 missed it,
    // outside its P10-P90 range.
    let record = cli(
        &db.url,
        &["forecast", "backtest", "--origin", "2025", "--horizon", "1"],
    );
    let lancashire = record
        .lines()
        .find(|l| l.starts_with("888") && l.contains(" 2026 "))
        .unwrap_or_else(|| panic!("{record}"));
    let fields: Vec<&str> = lancashire.split_whitespace().collect();
    assert_eq!(fields[3], "14728", "{lancashire}");
    let model: i64 = fields[4].parse().unwrap();
    assert!(model < 14_728, "{lancashire}");
    assert_eq!(fields.last(), Some(&"no"), "{lancashire}");
}

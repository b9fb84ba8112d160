//! Costs: effective-dated, and the annual cost of current placements.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::NaiveDate;
use placeledger_costs::Costs;
use placeledger_domain::*;
use placeledger_projection::Projection;
use rust_decimal::Decimal;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[test]
fn a_cost_applies_from_its_date_and_prices_current_placements() {
    let la = AuthorityCode::parse("888").unwrap();
    let set = |from: &str, pounds: i64| Event::PlacementCostSet {
        authority: la.clone(),
        kind: ProvisionKind::SpecialIndependent,
        from: d(from),
        annual_cost: Money::new(Decimal::from(pounds)).unwrap(),
    };
    let mut costs = Costs::default();
    costs.apply_all(&[set("2022-04-01", 45_000), set("2025-04-01", 65_000)]);
    let on = |s: &str| costs.annual_cost(&la, ProvisionKind::SpecialIndependent, d(s));
    assert_eq!(on("2022-03-31"), None);
    assert_eq!(on("2024-12-01"), Some(Decimal::from(45_000)));
    assert_eq!(on("2025-04-01"), Some(Decimal::from(65_000)));

    let placed = vec![
        (la.clone(), ProvisionKind::SpecialIndependent),
        (la.clone(), ProvisionKind::SpecialIndependent),
        (la.clone(), ProvisionKind::SpecialMaintained),
    ];
    let priced = costs.annual_cost_of(placed, d("2025-09-01"));
    assert_eq!(
        priced[&(la.clone(), ProvisionKind::SpecialIndependent)],
        (2, Some(Decimal::from(130_000)))
    );
    // No cost on record for maintained special places: counted, not priced.
    assert_eq!(priced[&(la, ProvisionKind::SpecialMaintained)], (1, None));
}

#[test]
fn a_later_funding_record_replaces_only_the_figures_it_carries() {
    let la = AuthorityCode::parse("888").unwrap();
    let record = |allocation: Option<i64>, balance: Option<i64>, status, source: &str| {
        Event::HighNeedsFundingRecorded {
            authority: la.clone(),
            financial_year: 2025,
            allocation: allocation.map(|a| Money::new(Decimal::from(a)).unwrap()),
            dsg_balance: balance.map(Decimal::from),
            status,
            source: source.to_owned(),
        }
    };
    let mut costs = Costs::default();
    costs.apply_all(&[
        record(Some(200_000_000), None, FundingStatus::Estimate, "estimate"),
        record(
            None,
            Some(-50_000_000),
            FundingStatus::Forecast,
            "Q3 report",
        ),
        record(Some(210_000_000), None, FundingStatus::Final, "DSG 2025-26"),
    ]);
    let funding = costs.funding(&la);
    let year = &funding[&2025];
    let allocation = year.allocation.as_ref().unwrap();
    assert_eq!(allocation.amount, Decimal::from(210_000_000));
    assert_eq!(allocation.status, FundingStatus::Final);
    assert_eq!(allocation.source, "DSG 2025-26");
    let balance = year.dsg_balance.as_ref().unwrap();
    assert_eq!(balance.amount, Decimal::from(-50_000_000));
    assert_eq!(balance.source, "Q3 report");
    assert!(
        costs
            .funding(&AuthorityCode::parse("890").unwrap())
            .is_empty()
    );
}

//! The High Needs Block view: what a forecast's placements cost per financial year, against
//! the authority's High Needs Block allocation, and the DSG balance carried year by year.
//!
//! A financial year runs April to March, so it is five months of one January's children
//! (April to August) and seven of the next (September to March): financial year `Y` spends
//! 5/12 of January `Y`'s annual cost and 7/12 of January `Y + 1`'s. The first financial year
//! shown is the one starting after the forecast's first January.
//!
//! The spend is the placements of children with EHC plans at the authority's rates (the
//! forecast's `annual_cost`), not the whole block: central services, top-ups without a plan
//! and hospital education are outside it. The balance carried is the DSG's, as if the other
//! blocks balance: last year's balance, plus the allocation, less the spend.

use std::collections::BTreeMap;

use placeledger_costs::FundingYear;
use placeledger_domain::{AuthorityCode, FundingStatus};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::engine::Forecast;
use crate::kind::PlaceKind;
use crate::mainstream::Warning;

/// What the spend covers (and leaves out), in words: the same in every answer.
pub const COVERS: &str = "placements of children and young people with EHC plans, at the \
    authority's rates per kind of place (home-to-school transport, central high-needs \
    services, top-ups without a plan and hospital education are not in it); the DSG balance \
    is carried as if the other blocks balance";

/// Where a year's allocation or balance comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum Basis {
    /// As recorded (published or reported), with how final it is and its source.
    Recorded {
        status: FundingStatus,
        source: String,
    },
    /// No figure for the year: the latest allocation recorded, for `from_year`, in cash.
    CarriedForward { from_year: i32 },
    /// The balance worked out here: last year's, plus the allocation, less the spend.
    Projected,
    /// Not on record, and nothing to work it out from.
    Missing,
}

/// One financial year of the High Needs Block view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HighNeedsYear {
    /// By its first calendar year: 2026 is April 2026 to March 2027.
    pub financial_year: i32,
    /// The forecast's spend on placements (median), `None` when a January in it is unpriced.
    pub spend: Option<Decimal>,
    pub allocation: Option<Decimal>,
    pub allocation_basis: Basis,
    /// Allocation less spend: negative is an overspend.
    pub in_year: Option<Decimal>,
    /// The cumulative DSG balance on 31 March at the year's end: negative is a deficit.
    pub dsg_balance: Option<Decimal>,
    pub balance_basis: Basis,
    pub warnings: Vec<Warning>,
}

impl HighNeedsYear {
    /// "2026-27".
    pub fn label(&self) -> String {
        label(self.financial_year)
    }
}

/// "2026-27" for 2026.
pub fn label(financial_year: i32) -> String {
    format!(
        "{financial_year}-{:02}",
        (financial_year + 1).rem_euclid(100)
    )
}

/// An authority's High Needs Block view over a forecast's years.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HighNeeds {
    pub authority: AuthorityCode,
    /// The forecast's last January known.
    pub origin: i32,
    pub years: Vec<HighNeedsYear>,
}

/// What one January's placements cost a year for `authority`, summed over the kinds with a
/// cost, and the kinds without one with their children (`None`: the January is not in the
/// forecast, or no kind has a cost).
fn january_cost(
    forecast: &Forecast,
    authority: &AuthorityCode,
    year: i32,
) -> Option<(Decimal, Vec<(PlaceKind, i64)>)> {
    let mut sum = None;
    let mut unpriced = Vec::new();
    for t in forecast
        .totals
        .iter()
        .filter(|t| t.authority.as_ref() == Some(authority) && t.year == year)
    {
        match t.annual_cost {
            Some(c) => *sum.get_or_insert(Decimal::ZERO) += c,
            None if t.demand > 0 => unpriced.push((t.kind, t.demand)),
            None => {}
        }
    }
    sum.map(|s| (s, unpriced))
}

/// The High Needs Block view of `authority` in `forecast`, with its recorded `funding` per
/// financial year; a year without an allocation carries the latest one forward in cash.
pub fn high_needs(
    forecast: &Forecast,
    authority: &AuthorityCode,
    funding: &BTreeMap<i32, FundingYear>,
) -> HighNeeds {
    high_needs_with(forecast, authority, funding, 0.0)
}

/// [`high_needs`], with an allocation carried forward grown by `allocation_growth` (a
/// fraction) a year from the year it was recorded for.
pub fn high_needs_with(
    forecast: &Forecast,
    authority: &AuthorityCode,
    funding: &BTreeMap<i32, FundingYear>,
    allocation_growth: f64,
) -> HighNeeds {
    let five = Decimal::from(5);
    let seven = Decimal::from(7);
    let twelve = Decimal::from(12);
    let mut years = Vec::new();
    let financial_years: Vec<i32> = forecast
        .years
        .iter()
        .copied()
        .filter(|y| forecast.years.contains(&(y + 1)))
        .collect();
    // The balance the first year opens with: the one recorded for the year before it, and
    // whether it is an estimate (a balance carried on from an estimate is one too).
    let opening = financial_years
        .first()
        .and_then(|first| funding.get(&(first - 1)))
        .and_then(|f| f.dsg_balance.as_ref());
    let mut balance: Option<Decimal> = opening.map(|b| b.amount);
    let mut estimated = opening.is_some_and(|b| b.status == FundingStatus::Estimate);
    for fy in financial_years {
        let mut warnings = Vec::new();
        let spend = match (
            january_cost(forecast, authority, fy),
            january_cost(forecast, authority, fy + 1),
        ) {
            (Some((a, left_a)), Some((b, left_b))) => {
                let mut left: BTreeMap<PlaceKind, i64> = BTreeMap::new();
                for (kind, children) in left_a.into_iter().chain(left_b) {
                    let e = left.entry(kind).or_default();
                    *e = (*e).max(children);
                }
                if !left.is_empty() {
                    let kinds: Vec<String> = left
                        .iter()
                        .map(|(k, n)| format!("{} (up to {n} children)", k.code()))
                        .collect();
                    warnings.push(Warning {
                        code: "kind_unpriced",
                        message: format!(
                            "no cost on record for {}: not in the spend",
                            kinds.join(", ")
                        ),
                    });
                }
                Some(((a * five + b * seven) / twelve).round_dp(2))
            }
            _ => {
                warnings.push(Warning {
                    code: "spend_unpriced",
                    message: "no placement has a cost on record: no spend".into(),
                });
                None
            }
        };
        let recorded = funding.get(&fy);
        let (allocation, allocation_basis) = match recorded.and_then(|f| f.allocation.as_ref()) {
            Some(a) => (
                Some(a.amount),
                Basis::Recorded {
                    status: a.status,
                    source: a.source.clone(),
                },
            ),
            None => match funding
                .range(..fy)
                .rev()
                .find_map(|(y, f)| f.allocation.as_ref().map(|a| (*y, a.amount)))
            {
                Some((from_year, amount)) => {
                    let (grown, how) = if allocation_growth == 0.0 {
                        (amount, "in cash".to_owned())
                    } else {
                        let factor =
                            Decimal::try_from((1.0 + allocation_growth).powi(fy - from_year))
                                .unwrap_or(Decimal::ONE);
                        (
                            (amount * factor).round_dp(2),
                            format!("grown {}% a year", allocation_growth * 100.0),
                        )
                    };
                    warnings.push(Warning {
                        code: "allocation_carried_forward",
                        message: format!(
                            "no allocation on record for {}: {}'s, {how}",
                            label(fy),
                            label(from_year)
                        ),
                    });
                    (Some(grown), Basis::CarriedForward { from_year })
                }
                None => {
                    warnings.push(Warning {
                        code: "allocation_missing",
                        message: format!(
                            "no High Needs Block allocation on record for {} or before",
                            label(fy)
                        ),
                    });
                    (None, Basis::Missing)
                }
            },
        };
        // The allocation used (recorded for the year, or the one carried forward) is an
        // estimate: say so on every year it reaches.
        let used = recorded.and_then(|f| f.allocation.as_ref()).or_else(|| {
            funding
                .range(..fy)
                .rev()
                .find_map(|(_, f)| f.allocation.as_ref())
        });
        if let Some(a) = used
            && a.status == FundingStatus::Estimate
        {
            warnings.push(Warning {
                code: "allocation_estimated",
                message: format!(
                    "the allocation is an estimate, not DfE's figure: {}",
                    a.source
                ),
            });
        }
        let in_year = allocation.zip(spend).map(|(a, s)| a - s);
        let (dsg_balance, balance_basis) = match recorded.and_then(|f| f.dsg_balance.as_ref()) {
            Some(b) => {
                estimated = b.status == FundingStatus::Estimate;
                (
                    Some(b.amount),
                    Basis::Recorded {
                        status: b.status,
                        source: b.source.clone(),
                    },
                )
            }
            None => match balance.zip(in_year) {
                Some((last, gap)) => (Some(last + gap), Basis::Projected),
                None => {
                    warnings.push(Warning {
                        code: "dsg_balance_missing",
                        message: format!(
                            "no DSG balance on record for the end of {} or the year before \
                             to carry forward",
                            label(fy)
                        ),
                    });
                    (None, Basis::Missing)
                }
            },
        };
        if dsg_balance.is_some() && estimated {
            warnings.push(Warning {
                code: "dsg_balance_estimated",
                message: "the DSG balance is, or is carried on from, an estimate, not the \
                          council's figure"
                    .into(),
            });
        }
        if in_year.is_some_and(|g| g.is_sign_negative() && !g.is_zero()) {
            warnings.push(Warning {
                code: "overspend",
                message: "forecast spend on placements is more than the allocation".into(),
            });
        }
        balance = dsg_balance;
        years.push(HighNeedsYear {
            financial_year: fy,
            spend,
            allocation,
            allocation_basis,
            in_year,
            dsg_balance,
            balance_basis,
            warnings,
        });
    }
    HighNeeds {
        authority: authority.clone(),
        origin: forecast.origin,
        years,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::collections::BTreeMap;

    use placeledger_costs::{FundingFigure, FundingYear};
    use placeledger_domain::{AuthorityCode, FundingStatus};
    use rust_decimal::Decimal;

    use super::{Basis, high_needs};
    use crate::engine::{Forecast, Total};
    use crate::kind::PlaceKind;

    fn la(code: &str) -> AuthorityCode {
        AuthorityCode::parse(code).unwrap()
    }

    fn total(authority: &str, year: i32, kind: PlaceKind, cost: Option<i64>) -> Total {
        Total {
            authority: Some(la(authority)),
            year,
            kind,
            demand: 10,
            capacity: None,
            met_by_partner: 0,
            out_of_county: 0,
            annual_cost: cost.map(Decimal::from),
        }
    }

    fn forecast(totals: Vec<Total>) -> Forecast {
        Forecast {
            scenario: None,
            origin: 2025,
            years: vec![2026, 2027, 2028],
            runs: 1,
            seed: 1,
            rows: Vec::new(),
            totals,
            mainstream: Vec::new(),
            mainstream_totals: Vec::new(),
            caseload: BTreeMap::new(),
            flags: BTreeMap::new(),
            rates: BTreeMap::new(),
        }
    }

    fn figure(pounds: i64, status: FundingStatus) -> Option<FundingFigure> {
        Some(FundingFigure {
            amount: Decimal::from(pounds),
            status,
            source: "test".into(),
        })
    }

    #[test]
    fn a_financial_year_spends_five_twelfths_of_one_january_and_seven_of_the_next() {
        let f = forecast(vec![
            total("888", 2026, PlaceKind::Special, Some(600_000)),
            total("888", 2026, PlaceKind::Independent, Some(600_000)),
            total("888", 2027, PlaceKind::Special, Some(2_400_000)),
            total("888", 2028, PlaceKind::Special, Some(3_600_000)),
        ]);
        let mut funding = BTreeMap::new();
        funding.insert(
            2025,
            FundingYear {
                allocation: None,
                dsg_balance: figure(-1_000_000, FundingStatus::Final),
            },
        );
        funding.insert(
            2026,
            FundingYear {
                allocation: figure(2_000_000, FundingStatus::Final),
                dsg_balance: None,
            },
        );
        let view = high_needs(&f, &la("888"), &funding);
        let years: Vec<i32> = view.years.iter().map(|y| y.financial_year).collect();
        assert_eq!(years, vec![2026, 2027], "a year needs both its Januaries");

        let y26 = &view.years[0];
        assert_eq!(y26.label(), "2026-27");
        // 5/12 of 1.2m + 7/12 of 2.4m.
        assert_eq!(y26.spend, Some(Decimal::from(1_900_000)));
        assert_eq!(y26.in_year, Some(Decimal::from(100_000)));
        assert_eq!(y26.dsg_balance, Some(Decimal::from(-900_000)));
        assert_eq!(y26.balance_basis, Basis::Projected);
        assert!(matches!(y26.allocation_basis, Basis::Recorded { .. }));
        assert!(y26.warnings.is_empty(), "{:?}", y26.warnings);

        let y27 = &view.years[1];
        // 5/12 of 2.4m + 7/12 of 3.6m.
        assert_eq!(y27.spend, Some(Decimal::from(3_100_000)));
        assert_eq!(y27.allocation, Some(Decimal::from(2_000_000)));
        assert_eq!(
            y27.allocation_basis,
            Basis::CarriedForward { from_year: 2026 }
        );
        assert_eq!(y27.in_year, Some(Decimal::from(-1_100_000)));
        assert_eq!(y27.dsg_balance, Some(Decimal::from(-2_000_000)));
        let codes: Vec<&str> = y27.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, vec!["allocation_carried_forward", "overspend"]);
    }

    #[test]
    fn a_carried_allocation_can_grow_a_year() {
        let f = forecast(
            [2026, 2027, 2028]
                .into_iter()
                .map(|y| total("888", y, PlaceKind::Special, Some(1_200_000)))
                .collect(),
        );
        let mut funding = BTreeMap::new();
        funding.insert(
            2025,
            FundingYear {
                allocation: figure(1_000_000, FundingStatus::Final),
                dsg_balance: None,
            },
        );
        let view = super::high_needs_with(&f, &la("888"), &funding, 0.05);
        // 2026-27 is one year on from 2025-26, 2027-28 two.
        assert_eq!(view.years[0].allocation, Some(Decimal::from(1_050_000)));
        assert_eq!(view.years[1].allocation, Some(Decimal::from(1_102_500)));
        assert!(
            view.years[1].warnings[0]
                .message
                .contains("grown 5% a year")
        );
    }

    #[test]
    fn a_balance_carried_on_from_an_estimate_says_so_until_a_real_one_is_recorded() {
        let f = forecast(
            [2026, 2027, 2028]
                .into_iter()
                .map(|y| total("889", y, PlaceKind::Special, Some(1_200_000)))
                .collect(),
        );
        let mut funding = BTreeMap::new();
        funding.insert(
            2025,
            FundingYear {
                allocation: figure(1_000_000, FundingStatus::Final),
                dsg_balance: figure(-3_000_000, FundingStatus::Estimate),
            },
        );
        let view = high_needs(&f, &la("889"), &funding);
        let y26 = &view.years[0];
        assert_eq!(y26.dsg_balance, Some(Decimal::from(-3_200_000)));
        assert!(
            y26.warnings
                .iter()
                .any(|w| w.code == "dsg_balance_estimated")
        );
        funding.insert(
            2026,
            FundingYear {
                allocation: None,
                dsg_balance: figure(-2_500_000, FundingStatus::Final),
            },
        );
        let view = high_needs(&f, &la("889"), &funding);
        for y in &view.years {
            assert!(
                !y.warnings.iter().any(|w| w.code == "dsg_balance_estimated"),
                "{:?}",
                y.warnings
            );
        }
        assert_eq!(view.years[1].dsg_balance, Some(Decimal::from(-2_700_000)));
    }

    #[test]
    fn a_recorded_balance_wins_and_missing_figures_are_said_not_guessed() {
        let f = forecast(vec![
            total("890", 2026, PlaceKind::Special, Some(1_200_000)),
            total("890", 2027, PlaceKind::Special, Some(1_200_000)),
            total("890", 2027, PlaceKind::Independent, None),
            total("890", 2028, PlaceKind::Special, None),
        ]);
        let view = high_needs(&f, &la("890"), &BTreeMap::new());
        let y26 = &view.years[0];
        // 5/12 of 1.2m + 7/12 of 1.2m: the unpriced kind is named, not costed at 0.
        assert_eq!(y26.spend, Some(Decimal::from(1_200_000)));
        assert_eq!(y26.allocation, None);
        assert_eq!(y26.dsg_balance, None);
        let codes: Vec<&str> = y26.warnings.iter().map(|w| w.code).collect();
        assert_eq!(
            codes,
            vec!["kind_unpriced", "allocation_missing", "dsg_balance_missing"]
        );
        assert!(
            y26.warnings[0]
                .message
                .contains("independent (up to 10 children)")
        );
        // January 2028 has no cost at all: no spend.
        let y27 = &view.years[1];
        assert_eq!(y27.spend, None);
        assert_eq!(y27.warnings[0].code, "spend_unpriced");

        let mut funding = BTreeMap::new();
        funding.insert(
            2026,
            FundingYear {
                allocation: figure(1_000_000, FundingStatus::Estimate),
                dsg_balance: figure(-5_000_000, FundingStatus::Forecast),
            },
        );
        let priced = forecast(
            [2026, 2027, 2028]
                .into_iter()
                .map(|y| total("890", y, PlaceKind::Special, Some(1_200_000)))
                .collect(),
        );
        let view = high_needs(&priced, &la("890"), &funding);
        let y26 = &view.years[0];
        assert_eq!(y26.dsg_balance, Some(Decimal::from(-5_000_000)));
        assert!(matches!(
            y26.balance_basis,
            Basis::Recorded {
                status: FundingStatus::Forecast,
                ..
            }
        ));
        assert!(
            y26.warnings
                .iter()
                .any(|w| w.code == "allocation_estimated")
        );
        // 2027-28 carries the recorded balance on: 1.2m spent against the 1.0m carried.
        let y27 = &view.years[1];
        assert_eq!(y27.spend, Some(Decimal::from(1_200_000)));
        assert_eq!(y27.dsg_balance, Some(Decimal::from(-5_200_000)));
    }
}

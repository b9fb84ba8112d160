//! The capital cost of the places a scenario adds: places opened or added to a setting, times
//! a cost per place from `seeds/reference/capital_costs.csv` (each with its source and price
//! year). A kind of place with no cost on record is listed as unpriced, never costed at 0.

use placeledger_capacity::Capacity;
use placeledger_domain::Lever;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::kind::PlaceKind;

/// The reference file, in the binary: a forecast never depends on the working directory.
const CAPITAL_COSTS: &str = include_str!("../../../seeds/reference/capital_costs.csv");

/// What a new place of a kind costs to build, and where the figure comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapitalRate {
    pub kind: PlaceKind,
    pub per_place: Decimal,
    pub price_year: String,
    pub source: String,
}

/// The rates in `seeds/reference/capital_costs.csv`: a programme's cost over its places.
pub fn capital_rates() -> Vec<CapitalRate> {
    let mut reader = csv::Reader::from_reader(CAPITAL_COSTS.as_bytes());
    reader
        .records()
        .filter_map(Result::ok)
        .filter_map(|r| {
            let kind = PlaceKind::parse(r.get(0)?)?;
            let places: Decimal = r.get(1)?.parse().ok()?;
            let cost: Decimal = r.get(2)?.parse().ok()?;
            (places > Decimal::ZERO).then(|| CapitalRate {
                kind,
                per_place: (cost / places).round_dp(2),
                price_year: r.get(3).unwrap_or_default().to_owned(),
                source: r.get(4).unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// One lever's new places and what they cost (`None`: no rate on record for the kind).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapitalItem {
    /// The lever, in words.
    pub lever: String,
    pub kind: PlaceKind,
    pub places: u32,
    pub rate: Option<CapitalRate>,
    pub cost: Option<Decimal>,
}

/// The capital cost of the places `levers` add.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CapitalCost {
    pub items: Vec<CapitalItem>,
    /// The sum of the priced items.
    pub total: Decimal,
}

/// What the places `levers` open or add cost to build, at `rates`. Closing places or
/// taking them away costs nothing here (and saves no capital).
pub fn capital_cost(levers: &[Lever], capacity: &Capacity, rates: &[CapitalRate]) -> CapitalCost {
    let mut out = CapitalCost::default();
    for lever in levers {
        let (what, kind, places) = match lever {
            Lever::OpenPlaces {
                district,
                kind,
                places,
                ..
            } => (
                format!("new places in {district}"),
                PlaceKind::of(*kind),
                places.iter().map(|p| p.places).sum::<u32>(),
            ),
            Lever::ChangePlaces { urn, change, .. } if *change > 0 => {
                let Some(s) = capacity.setting(*urn) else {
                    continue;
                };
                (
                    format!("more places at {urn}"),
                    PlaceKind::of(s.provision()),
                    change.unsigned_abs(),
                )
            }
            _ => continue,
        };
        if places == 0 {
            continue;
        }
        let rate = rates.iter().find(|r| r.kind == kind).cloned();
        let cost = rate.as_ref().map(|r| r.per_place * Decimal::from(places));
        out.total += cost.unwrap_or_default();
        out.items.push(CapitalItem {
            lever: what,
            kind,
            places,
            rate,
            cost,
        });
    }
    out
}

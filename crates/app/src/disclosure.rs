//! Disclosure control: exactly what a partner authority may be shown. Small-number
//! suppression for everything a partner sees: a count of 1 to 4 children (or places) is
//! withheld, and where a group of cells is published with its total, a second cell is
//! withheld too (secondary suppression), so no withheld count can be worked out by
//! subtraction. The partner-facing views (placement summaries, shared place data) are made
//! here and nowhere else.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use placeledger_domain::{AcademicYear, AuthorityCode, GssCode, Phase};
use placeledger_forecast::{Forecast, PlaceKind};
use placeledger_placements::{Group, GroupBy};

use crate::access::Sight;
use crate::read::ReadModels;

/// A count as published to a partner: the value, or `None` where it is withheld.
pub type Published = Option<i64>;

/// Whether a count is small enough to identify children: 1 to 4.
pub fn is_small(v: i64) -> bool {
    (1..=4).contains(&v)
}

/// Suppresses a group of counts that is published beside its total. Primary: every count of
/// 1-4. Secondary: if exactly one count is withheld, the smallest other non-zero count is
/// withheld too (or, if there is none, the total). Returns the cells and the total as
/// published.
pub fn group(values: &[i64]) -> (Vec<Published>, Published) {
    let total: i64 = values.iter().sum();
    let mut out: Vec<Published> = values
        .iter()
        .map(|v| (!is_small(*v)).then_some(*v))
        .collect();
    let mut total_out = (!is_small(total)).then_some(total);
    let withheld = out.iter().filter(|v| v.is_none()).count();
    if withheld == 1 {
        let partner = values
            .iter()
            .enumerate()
            .filter(|(i, v)| out[*i].is_some() && **v != 0)
            .min_by_key(|(_, v)| **v)
            .map(|(i, _)| i);
        match partner {
            Some(i) => out[i] = None,
            None => total_out = None,
        }
    }
    (out, total_out)
}

/// An authority's current placements, as the caller may see them.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementSummary {
    pub authority: AuthorityCode,
    pub position: u64,
    /// Each group (dimensions not grouped by are `None`) and its count as published.
    pub cells: Vec<(Group, Published)>,
    pub total: Published,
    /// Other authorities' residents placed in this authority's settings.
    pub imports: Published,
    /// This authority's residents placed in other authorities' settings.
    pub exports: Published,
    /// Whether small numbers were withheld (partners).
    pub suppressed: bool,
}

/// `a`'s current placements (in `year`) grouped by `by` (always within `a`, its resident
/// authority), as `sight` may see them.
pub fn placement_summary(
    models: &ReadModels,
    a: &AuthorityCode,
    by: GroupBy,
    sight: Sight,
    year: AcademicYear,
) -> PlacementSummary {
    let group = GroupBy {
        authority: true,
        ..by
    };
    let summary: Vec<_> = models
        .placements
        .summary(group, year)
        .into_iter()
        .filter(|(g, _)| g.authority.as_ref() == Some(a))
        .collect();
    let counts: Vec<i64> = summary.iter().map(|(_, n)| i64::from(*n)).collect();
    let suppress_small = sight == Sight::Partner;
    let (published, total) = if suppress_small {
        self::group(&counts)
    } else {
        (
            counts.iter().map(|c| Some(*c)).collect(),
            Some(counts.iter().sum()),
        )
    };
    let (imports, exports) = models
        .placements
        .imports_and_exports()
        .get(a)
        .map_or((0, 0), |(i, e)| (i64::from(*i), i64::from(*e)));
    let small = |v: i64| (!(suppress_small && is_small(v))).then_some(v);
    PlacementSummary {
        authority: a.clone(),
        position: models.position,
        cells: summary
            .into_iter()
            .zip(published)
            .map(|((g, _), count)| (g, count))
            .collect(),
        total,
        imports: small(imports),
        exports: small(exports),
        suppressed: suppress_small,
    }
}

/// A partner's view of one cell of another authority's sufficiency forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedCell {
    pub district: GssCode,
    pub district_name: String,
    pub year: i32,
    pub phase: Phase,
    pub kind: PlaceKind,
    /// Children needing this kind of place (median).
    pub demand: Published,
    /// Places in the district's settings of this kind.
    pub capacity: Published,
}

impl SharedCell {
    /// True where any figure of this cell is withheld.
    pub fn suppressed(&self) -> bool {
        self.demand.is_none() || self.capacity.is_none()
    }
}

/// The authority's total of one (year, phase, kind) over its districts.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedTotal {
    pub year: i32,
    pub phase: Phase,
    pub kind: PlaceKind,
    pub demand: Published,
    pub capacity: Published,
}

/// What an authority shares with a partner under their agreement: aggregates only.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedPlaceData {
    pub authority: AuthorityCode,
    /// The event position the figures reflect.
    pub position: u64,
    pub cells: Vec<SharedCell>,
    pub totals: Vec<SharedTotal>,
}

/// `a`'s sufficiency by district x phase x kind x year (all needs, medians), suppressed as a
/// partner sees it, labelled with the event `position` it reflects.
pub fn shared_place_data(
    f: &Forecast,
    models: &ReadModels,
    a: &AuthorityCode,
    position: u64,
) -> SharedPlaceData {
    /// (year, phase, kind) -> district -> (demand, capacity)
    type Groups = BTreeMap<(i32, Phase, PlaceKind), BTreeMap<GssCode, (i64, i64)>>;
    let mut groups = Groups::new();
    for r in f
        .rows
        .iter()
        .filter(|r| &r.authority == a && r.need.is_none())
    {
        let cell = groups
            .entry((r.year, r.phase, r.kind))
            .or_default()
            .entry(r.district.clone())
            .or_default();
        cell.0 += r.demand.p50;
        cell.1 += i64::from(r.capacity.unwrap_or(0));
    }
    let mut cells = Vec::new();
    let mut totals = Vec::new();
    for ((year, phase, kind), districts) in groups {
        let demand: Vec<i64> = districts.values().map(|c| c.0).collect();
        let capacity: Vec<i64> = districts.values().map(|c| c.1).collect();
        let (demand_out, demand_total) = group(&demand);
        let (capacity_out, capacity_total) = group(&capacity);
        for ((d, demand), capacity) in districts.keys().zip(demand_out).zip(capacity_out) {
            cells.push(SharedCell {
                district: d.clone(),
                district_name: models.district_name(a, d),
                year,
                phase,
                kind,
                demand,
                capacity,
            });
        }
        totals.push(SharedTotal {
            year,
            phase,
            kind,
            demand: demand_total,
            capacity: capacity_total,
        });
    }
    SharedPlaceData {
        authority: a.clone(),
        position,
        cells,
        totals,
    }
}

/// The date access to shared data is judged on.
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No withheld cell can be recovered from the published cells and total.
    fn recoverable(values: &[i64], cells: &[Published], total: Published) -> bool {
        let hidden = cells.iter().filter(|c| c.is_none()).count();
        hidden == 1 && total.is_some()
            || values
                .iter()
                .zip(cells)
                .any(|(v, c)| c.is_some_and(|c| c != *v))
    }

    #[test]
    fn counts_of_one_to_four_are_withheld_with_a_second_cell() {
        let (cells, total) = group(&[3, 40, 12, 0]);
        assert_eq!(cells, vec![None, Some(40), None, Some(0)]);
        assert_eq!(total, Some(55));
        assert!(!recoverable(&[3, 40, 12, 0], &cells, total));
    }

    #[test]
    fn two_small_counts_need_no_secondary_cell() {
        let (cells, total) = group(&[2, 4, 30]);
        assert_eq!(cells, vec![None, None, Some(30)]);
        assert_eq!(total, Some(36));
    }

    #[test]
    fn a_lone_small_count_withholds_the_total() {
        let (cells, total) = group(&[0, 3, 0]);
        assert_eq!(cells, vec![Some(0), None, Some(0)]);
        assert_eq!(total, None);
    }

    #[test]
    fn nothing_small_is_published_whatever_the_group() {
        for a in 0..8 {
            for b in 0..8 {
                for c in [0, 5, 9] {
                    let values = [a, b, c];
                    let (cells, total) = group(&values);
                    assert!(cells.iter().flatten().all(|v| !is_small(*v)), "{values:?}");
                    assert!(total.is_none_or(|t| !is_small(t)), "{values:?}");
                    assert!(
                        !recoverable(&values, &cells, total),
                        "{values:?}: {cells:?} {total:?}"
                    );
                }
            }
        }
    }
}

//! Small-number suppression for everything a partner authority sees: a count of 1 to 4
//! children (or places) is withheld, and where a group of cells is published with its total,
//! a second cell is withheld too (secondary suppression), so no withheld count can be worked
//! out by subtraction.

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

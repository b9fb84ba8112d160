//! Cell suppression over a set of linked tables, solved over all of them at once.
//!
//! The tables a partner may see are cells tied together by *relations*: a cell of a coarser
//! table is the sum of the cells of a finer one that fall in it (a district's count is the
//! sum of its district x kind counts; the total is the sum of the districts). Suppressing each
//! table on its own leaves withheld cells that can be worked out by subtracting across
//! tables. Here every sensitive cell (primary suppression) is withheld, and then the whole set
//! is *audited* as an attacker who knows every published figure and every relation would:
//!
//! - **linear**: a withheld cell is exposed if it is a linear combination of published
//!   figures (the relations reduced to row echelon form, over the withheld cells; this covers
//!   peeling a single unknown from a line and any longer chain of subtractions);
//! - **bounds**: a withheld cell is exposed if the relations, with every withheld cell at least
//!   1 (zeros are always published), leave it one possible value (two withheld cells of a
//!   line that must add up to 2 are both 1).
//!
//! Each exposed cell gets one more cell withheld beside it (secondary suppression), chosen by
//! a key fixed for the cell and independent of its value (so the choice tells an attacker
//! nothing about the value), and the audit runs again until nothing is exposed. This is the
//! audit-and-repair approach of the ESSnet *Handbook on Statistical Disclosure Control*
//! (Hundepool et al., 2010), ch. 5 (frequency tables: linked tables, secondary suppression,
//! the audit); the same result is exact for the linear attack, and for the bounds attack
//! within each relation (interval propagation, not a full linear programme).

/// One relation: `cells[total]` is the sum of `cells[parts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub total: usize,
    pub parts: Vec<usize>,
}

/// Linked cells to protect.
#[derive(Debug, Clone, Default)]
pub struct Cells {
    pub values: Vec<i64>,
    /// Must be withheld (primary suppression). A sensitive cell is never 0.
    pub sensitive: Vec<bool>,
    /// How many dimensions the cell's table has: a secondary cell is sought first beside the
    /// exposed cell in its own table, then in finer tables, then coarser.
    pub level: Vec<u8>,
    /// A key fixed for the cell whatever its value: the order secondary cells are chosen in.
    pub key: Vec<u64>,
    pub relations: Vec<Relation>,
}

impl Cells {
    /// Adds a cell; returns its index.
    pub fn push(&mut self, value: i64, sensitive: bool, level: u8, key: u64) -> usize {
        self.values.push(value);
        self.sensitive.push(sensitive && value != 0);
        self.level.push(level);
        self.key.push(key);
        self.values.len() - 1
    }
}

/// Which cells to withhold: every sensitive one, and as many more as the audit needs.
///
/// First the line rule (no relation may have exactly one withheld cell: add a second, the
/// one that closes most other lines and opens fewest), then the audit; each cell the audit
/// still finds exposed gets one more cell withheld beside it, and both run again.
pub fn protect(cells: &Cells) -> Vec<bool> {
    let mut withheld = cells.sensitive.clone();
    let mut touching: Vec<Vec<usize>> = vec![Vec::new(); cells.values.len()];
    for (r, rel) in cells.relations.iter().enumerate() {
        touching[rel.total].push(r);
        for p in &rel.parts {
            touching[*p].push(r);
        }
    }
    loop {
        line_rule(cells, &mut withheld, &touching);
        let exposed = exposed(cells, &withheld);
        if exposed.is_empty() {
            return withheld;
        }
        let next = exposed
            .iter()
            .find_map(|e| secondary(cells, &withheld, &touching, *e));
        match next {
            Some(c) => withheld[c] = true,
            None => {
                // Nothing beside any exposed cell can be withheld (every other cell of their
                // relations is withheld or zero): withhold every non-zero cell. Not reached
                // on real tables; the audit holds either way.
                for (i, v) in cells.values.iter().enumerate() {
                    withheld[i] |= *v != 0;
                }
                return withheld;
            }
        }
    }
}

fn members(rel: &Relation) -> impl Iterator<Item = usize> + '_ {
    rel.parts.iter().copied().chain([rel.total])
}

/// Until no relation has exactly one withheld cell, withholds a second in each that has.
fn line_rule(cells: &Cells, withheld: &mut [bool], touching: &[Vec<usize>]) {
    let count = |w: &[bool], r: usize| members(&cells.relations[r]).filter(|c| w[*c]).count();
    let mut stuck = vec![false; cells.relations.len()];
    loop {
        let Some(r) = (0..cells.relations.len()).find(|r| !stuck[*r] && count(withheld, *r) == 1)
        else {
            return;
        };
        let lone = members(&cells.relations[r])
            .find(|c| withheld[*c])
            .unwrap_or(usize::MAX);
        let level = cells.level.get(lone).copied().unwrap_or(0);
        let best = members(&cells.relations[r])
            .filter(|c| !withheld[*c] && cells.values[*c] != 0)
            .min_by_key(|c| {
                // Lines it would close (one withheld now) less lines it would open (none now).
                let (mut opens, mut closes) = (0i64, 0i64);
                for other in touching[*c].iter().filter(|o| **o != r) {
                    match count(withheld, *other) {
                        0 => opens += 1,
                        1 => closes += 1,
                        _ => {}
                    }
                }
                // Never a coarser cell (a total) while a cell of the line's own or a finer
                // table will do: totals are what planners read first.
                (cells.level[*c] < level, opens - closes, cells.key[*c], *c)
            });
        match best {
            Some(c) => withheld[c] = true,
            // Every other cell of the line is zero: the audit deals with it.
            None => stuck[r] = true,
        }
    }
}

/// The cell to withhold next to protect `e`: a published non-zero cell of one of its
/// relations, the first (beside it in its own table first, then finer, then coarser; by key)
/// whose withholding leaves `e` unexposed, or failing that the first.
fn secondary(cells: &Cells, withheld: &[bool], touching: &[Vec<usize>], e: usize) -> Option<usize> {
    let level = cells.level[e];
    let mut candidates: Vec<usize> = touching[e]
        .iter()
        .flat_map(|r| {
            let rel = &cells.relations[*r];
            rel.parts.iter().copied().chain([rel.total])
        })
        .filter(|c| *c != e && !withheld[*c] && cells.values[*c] != 0)
        .collect();
    candidates.sort_by_key(|c| {
        let l = cells.level[*c];
        let rank = if l == level {
            0
        } else if l > level {
            1
        } else {
            2
        };
        (rank, cells.key[*c], *c)
    });
    candidates.dedup();
    let mut trial = withheld.to_vec();
    for c in candidates.iter().take(TRIALS) {
        trial[*c] = true;
        if !exposed(cells, &trial).contains(&e) {
            return Some(*c);
        }
        trial[*c] = false;
    }
    candidates.first().copied()
}

/// How many candidates are tried for each secondary cell.
const TRIALS: usize = 16;

/// The withheld cells an attacker could pin to one value (linear or bounds), in index order.
pub fn exposed(cells: &Cells, withheld: &[bool]) -> Vec<usize> {
    let unknowns: Vec<usize> = (0..cells.values.len()).filter(|c| withheld[*c]).collect();
    let mut column = vec![usize::MAX; cells.values.len()];
    for (i, c) in unknowns.iter().enumerate() {
        column[*c] = i;
    }
    let mut out = linear::determined(cells, withheld, &column, unknowns.len());
    for (i, pinned) in bounds::pinned(cells, withheld, &column, unknowns.len())
        .into_iter()
        .enumerate()
    {
        if pinned {
            out.push(i);
        }
    }
    out.sort_unstable();
    out.dedup();
    out.into_iter().map(|i| unknowns[i]).collect()
}

mod linear {
    //! Row reduction over GF(p), p = 2^61 - 1: the relations' coefficients are 0 and +-1, so
    //! rank over this field is the rank over the rationals except with negligible chance.

    use super::Cells;

    const P: u64 = (1 << 61) - 1;

    fn mul(a: u64, b: u64) -> u64 {
        u64::try_from((u128::from(a) * u128::from(b)) % u128::from(P)).unwrap_or(0)
    }

    fn inverse(a: u64) -> u64 {
        let (mut base, mut exp, mut acc) = (a, P - 2, 1);
        while exp > 0 {
            if exp & 1 == 1 {
                acc = mul(acc, base);
            }
            base = mul(base, base);
            exp >>= 1;
        }
        acc
    }

    /// The unknowns (columns) whose value follows from the relations and the published cells.
    pub fn determined(cells: &Cells, withheld: &[bool], column: &[usize], n: usize) -> Vec<usize> {
        let mut rows: Vec<Vec<u64>> = Vec::new();
        for rel in &cells.relations {
            let mut row = vec![0u64; n];
            let mut any = false;
            if withheld[rel.total] {
                row[column[rel.total]] = 1;
                any = true;
            }
            for p in &rel.parts {
                if withheld[*p] {
                    row[column[*p]] = P - 1;
                    any = true;
                }
            }
            if any {
                rows.push(row);
            }
        }
        // Reduced row echelon form.
        let mut pivots: Vec<(usize, usize)> = Vec::new();
        let mut r = 0;
        for col in 0..n {
            let Some(found) = (r..rows.len()).find(|i| rows[*i][col] != 0) else {
                continue;
            };
            rows.swap(r, found);
            let inv = inverse(rows[r][col]);
            for x in &mut rows[r] {
                *x = mul(*x, inv);
            }
            let pivot = rows[r].clone();
            for (i, row) in rows.iter_mut().enumerate() {
                let f = row[col];
                if i != r && f != 0 {
                    for (x, p) in row.iter_mut().zip(&pivot) {
                        if *p != 0 {
                            *x = (*x + P - mul(f, *p)) % P;
                        }
                    }
                }
            }
            pivots.push((r, col));
            r += 1;
            if r == rows.len() {
                break;
            }
        }
        pivots
            .into_iter()
            .filter(|(row, _)| rows[*row].iter().filter(|x| **x != 0).count() == 1)
            .map(|(_, col)| col)
            .collect()
    }
}

mod bounds {
    //! Interval propagation: every withheld cell is at least 1; each relation bounds each of
    //! its unknowns by the others' bounds; repeated until nothing tightens.

    use super::Cells;

    const UNBOUNDED: i128 = 1 << 80;

    /// For each unknown (column): whether its bounds meet.
    pub fn pinned(cells: &Cells, withheld: &[bool], column: &[usize], n: usize) -> Vec<bool> {
        // Each relation as sum(coefficient x unknown) = constant.
        let mut equations: Vec<(Vec<(usize, i128)>, i128)> = Vec::new();
        for rel in &cells.relations {
            let mut terms = Vec::new();
            let mut constant: i128 = 0;
            if withheld[rel.total] {
                terms.push((column[rel.total], -1));
            } else {
                constant += i128::from(cells.values[rel.total]);
            }
            for p in &rel.parts {
                if withheld[*p] {
                    terms.push((column[*p], 1));
                } else {
                    constant -= i128::from(cells.values[*p]);
                }
            }
            if !terms.is_empty() {
                equations.push((terms, constant));
            }
        }
        let mut lo = vec![1i128; n];
        let mut hi = vec![UNBOUNDED; n];
        for _ in 0..64 {
            let mut changed = false;
            for (terms, b) in &equations {
                let (mut min, mut max) = (0i128, 0i128);
                for (x, c) in terms {
                    if *c > 0 {
                        min += lo[*x];
                        max += hi[*x];
                    } else {
                        min -= hi[*x];
                        max -= lo[*x];
                    }
                }
                for (x, c) in terms {
                    // The others' sum, without x.
                    let (omin, omax) = if *c > 0 {
                        (min - lo[*x], max - hi[*x])
                    } else {
                        (min + hi[*x], max + lo[*x])
                    };
                    let finite = |v: i128| v.abs() < UNBOUNDED / 2;
                    // c > 0: x = b - others; c < 0: x = others - b.
                    let (new_lo, new_hi) = if *c > 0 {
                        (
                            finite(omax).then(|| b - omax),
                            finite(omin).then(|| b - omin),
                        )
                    } else {
                        (
                            finite(omin).then(|| omin - b),
                            finite(omax).then(|| omax - b),
                        )
                    };
                    if let Some(l) = new_lo.filter(|l| *l > lo[*x]) {
                        lo[*x] = l;
                        changed = true;
                    }
                    if let Some(h) = new_hi.filter(|h| *h < hi[*x]) {
                        hi[*x] = h;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        lo.iter().zip(&hi).map(|(l, h)| l == h).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of `rows` x `cols` with its row, column and grand totals.
    fn table(values: &[&[i64]]) -> Cells {
        let mut c = Cells::default();
        let sensitive = |v: i64| (1..=4).contains(&v);
        let inner: Vec<Vec<usize>> = values
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, v)| c.push(*v, sensitive(*v), 2, (i * 31 + j) as u64))
                    .collect()
            })
            .collect();
        let rows: Vec<usize> = values
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let s = row.iter().sum();
                c.push(s, sensitive(s), 1, 1000 + i as u64)
            })
            .collect();
        let cols: Vec<usize> = (0..values[0].len())
            .map(|j| {
                let s = values.iter().map(|r| r[j]).sum();
                c.push(s, sensitive(s), 1, 2000 + j as u64)
            })
            .collect();
        let grand = c.push(values.iter().flat_map(|r| r.iter()).sum(), false, 0, 3000);
        for (i, r) in rows.iter().enumerate() {
            c.relations.push(Relation {
                total: *r,
                parts: inner[i].clone(),
            });
        }
        for (j, col) in cols.iter().enumerate() {
            c.relations.push(Relation {
                total: *col,
                parts: inner.iter().map(|r| r[j]).collect(),
            });
        }
        c.relations.push(Relation {
            total: grand,
            parts: rows.clone(),
        });
        c.relations.push(Relation {
            total: grand,
            parts: cols,
        });
        c
    }

    #[test]
    fn a_lone_small_cell_of_a_line_is_exposed_until_a_second_is_withheld() {
        let c = table(&[&[3, 40, 12], &[20, 30, 25]]);
        let primary = c.sensitive.clone();
        assert_eq!(exposed(&c, &primary), vec![0]);
        let w = protect(&c);
        assert!(exposed(&c, &w).is_empty());
        assert!(w[0]);
        // A row and a column each need a second cell: at least four withheld.
        assert!(w.iter().filter(|x| **x).count() >= 4, "{w:?}");
    }

    #[test]
    fn two_ones_that_must_add_up_to_two_are_pinned_by_bounds() {
        // Row 0: 1 + 1 + 30 = 32, published total: both ones withheld, sum 2, count 2.
        let c = table(&[&[1, 1, 30], &[9, 9, 30]]);
        let mut w = c.sensitive.clone();
        // Protect the columns by hand so only the bounds attack is left.
        w[3] = true;
        w[4] = true;
        assert!(exposed(&c, &w).contains(&0));
        let w = protect(&c);
        assert!(exposed(&c, &w).is_empty());
    }

    #[test]
    fn differencing_across_a_margin_is_caught() {
        // Two tables sharing a margin, as district x kind and district x need do: protected
        // together, no withheld cell follows from the published ones.
        let c = table(&[&[2, 7, 11, 0], &[5, 6, 1, 13], &[0, 4, 25, 9]]);
        let w = protect(&c);
        assert!(exposed(&c, &w).is_empty());
        for (i, s) in c.sensitive.iter().enumerate() {
            assert!(!s || w[i]);
        }
    }

    #[test]
    fn nothing_sensitive_withholds_nothing() {
        let c = table(&[&[10, 20], &[30, 0]]);
        assert!(protect(&c).iter().all(|w| !w));
    }
}

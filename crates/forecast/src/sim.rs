//! The deterministic part of the simulation, worked out once per forecast.
//!
//! A run differs from the central path only by a few numbers per authority and year: the
//! multiplier on each year's new plans (trend, this run's slope, the year's shock) and the
//! shock to continuation. Plans held at the origin scale with the product of continuation
//! shocks; plans entering in year s scale with that year's multiplier and the continuation
//! shocks after it. So each forecast year's demand is a weighted sum of a few fixed vectors
//! ("terms", one per vintage), and a run only computes the weights. The same holds for a
//! trend forecast, with one term scaled by the run's total.

use crate::kind::PlaceKind;
use crate::kind::{AGES, phase_index, phase_of};
use crate::model::{KINDS, Model, PH, Start, needs};
use crate::scenario::{Levers, step_mix, step_shares};

/// One authority's fixed vectors for each forecast year.
#[derive(Debug, Clone)]
pub(crate) struct Prep {
    /// Per year: the terms, each `districts x PH x KINDS` long, one after another. Term 0
    /// is the plans held at the origin (or a trend forecast's shares); term 1 + s the plans
    /// that entered in forecast year s.
    pub kind_terms: Vec<Vec<f64>>,
    /// Per year: plans in each term.
    pub plan_terms: Vec<Vec<f64>>,
    /// Per year: the central path's demand by kind `[d][p][k]` and, for specialist kinds,
    /// by need `[d][p][n][s]`.
    pub kind_central: Vec<Vec<f64>>,
    pub need_central: Vec<Vec<f64>>,
    /// Per year: the central path's demand `[d][p][k]` of the plans held at the origin that
    /// are still in the phase they were in then (they keep their placement). Empty for a
    /// trend forecast, which knows no children.
    pub stayers_central: Vec<Vec<f64>>,
}

fn age_on(stock: &[f64], cont: &[f64], districts: usize) -> Vec<f64> {
    let nn = needs();
    let mut out = vec![0.0; stock.len()];
    for d in 0..districts {
        for a in 1..AGES {
            for n in 0..nn {
                let i = (d * AGES + a) * nn + n;
                out[i] = stock[i - nn] * cont[(a - 1) * nn + n];
            }
        }
    }
    out
}

/// Adds `stock` placed by `mix` (`[a][n][k]`) to the kind cells and the need cells.
fn place(stock: &[f64], mix: &[f64], districts: usize, kind: &mut [f64], need: &mut [f64]) -> f64 {
    let nn = needs();
    let ns = PlaceKind::SPECIALIST.len();
    let mut total = 0.0;
    for d in 0..districts {
        for a in 0..AGES {
            let p = phase_index(phase_of(a)).unwrap_or(PH - 1);
            for n in 0..nn {
                let v = stock[(d * AGES + a) * nn + n];
                if v == 0.0 {
                    continue;
                }
                total += v;
                let row = &mix[(a * nn + n) * KINDS..(a * nn + n + 1) * KINDS];
                let cell = (d * PH + p) * KINDS;
                for k in 0..KINDS {
                    kind[cell + k] += v * row[k];
                }
                for (si, s) in PlaceKind::SPECIALIST.iter().enumerate() {
                    need[((d * PH + p) * nn + n) * ns + si] += v * row[s.index()];
                }
            }
        }
    }
    total
}

/// The fixed vectors of `m` for `horizon` years. `pop` is the population `[step][d][a]`
/// (or none: incidence is a count), `incidence` the scenario's multiplier on new plans.
/// Without `places`, only the plans in each term are worked out (the kind and need vectors
/// stay empty): all a caseload forecast needs.
pub(crate) fn prepare(
    m: &Model,
    levers: &Levers,
    horizon: usize,
    incidence: f64,
    places: bool,
) -> Prep {
    let nn = needs();
    let ns = PlaceKind::SPECIALIST.len();
    let nd = m.districts.len();
    let len = nd * PH * KINDS;
    let need_len = nd * PH * nn * ns;
    let mut prep = Prep {
        kind_terms: Vec::with_capacity(horizon),
        plan_terms: Vec::with_capacity(horizon),
        kind_central: Vec::with_capacity(horizon),
        need_central: Vec::with_capacity(horizon),
        stayers_central: Vec::with_capacity(horizon),
    };
    match &m.start {
        Start::Flow {
            stock,
            cont,
            inc,
            pop,
            ..
        } => {
            let mut held = stock.clone();
            let mut vintages: Vec<Vec<f64>> = Vec::new();
            for step in 0..horizon {
                let (mix_old, mix_new) = step_mix(&m.mix, &m.authority, levers, step);
                held = age_on(&held, cont, nd);
                for v in &mut vintages {
                    *v = age_on(v, cont, nd);
                }
                let mut entering = vec![0.0; stock.len()];
                for d in 0..nd {
                    for a in 0..AGES {
                        let persons = pop.as_ref().map_or(1.0, |p| p[(step * nd + d) * AGES + a]);
                        for n in 0..nn {
                            let i = (d * AGES + a) * nn + n;
                            entering[i] = inc[i] * persons * incidence;
                        }
                    }
                }
                vintages.push(entering);
                if !places {
                    let mut plans = vec![held.iter().sum()];
                    plans.extend(vintages.iter().map(|v| v.iter().sum::<f64>()));
                    prep.plan_terms.push(plans);
                    continue;
                }
                let mut terms = vec![0.0; (1 + vintages.len()) * len];
                let mut plans = Vec::with_capacity(1 + vintages.len());
                let mut central = vec![0.0; len];
                let mut need = vec![0.0; need_len];
                plans.push(place(&held, &mix_old, nd, &mut terms[..len], &mut need));
                for (s, v) in vintages.iter().enumerate() {
                    let slot = &mut terms[(1 + s) * len..(2 + s) * len];
                    plans.push(place(v, &mix_new, nd, slot, &mut need));
                }
                for t in terms.chunks(len) {
                    for (c, x) in central.iter_mut().zip(t) {
                        *c += x;
                    }
                }
                // Held since the origin and not yet past a phase transfer.
                let mut stayers = held.clone();
                for d in 0..nd {
                    for a in 0..AGES {
                        let stayed = a > step && phase_of(a - step - 1) == phase_of(a);
                        if !stayed {
                            let i = (d * AGES + a) * nn;
                            stayers[i..i + nn].iter_mut().for_each(|x| *x = 0.0);
                        }
                    }
                }
                let mut stayers_kind = vec![0.0; len];
                place(
                    &stayers,
                    &mix_old,
                    nd,
                    &mut stayers_kind,
                    &mut vec![0.0; need_len],
                );
                prep.kind_terms.push(terms);
                prep.plan_terms.push(plans);
                prep.kind_central.push(central);
                prep.need_central.push(need);
                prep.stayers_central.push(stayers_kind);
            }
        }
        Start::Trend { total, share } => {
            for step in 0..horizon {
                let shares = step_shares(share, nd, &m.authority, levers, step);
                let mut kind = vec![0.0; len];
                let mut need = vec![0.0; need_len];
                if shares.len() == nd * PH * nn * KINDS {
                    for d in 0..nd {
                        for p in 0..PH {
                            for n in 0..nn {
                                let i = ((d * PH + p) * nn + n) * KINDS;
                                for k in 0..KINDS {
                                    kind[(d * PH + p) * KINDS + k] += shares[i + k];
                                }
                                for (si, s) in PlaceKind::SPECIALIST.iter().enumerate() {
                                    need[((d * PH + p) * nn + n) * ns + si] =
                                        shares[i + s.index()] * total;
                                }
                            }
                        }
                    }
                }
                let central = kind.iter().map(|x| x * total).collect();
                prep.kind_terms.push(kind);
                prep.plan_terms.push(vec![1.0]);
                prep.kind_central.push(central);
                prep.need_central.push(need);
            }
        }
    }
    prep
}

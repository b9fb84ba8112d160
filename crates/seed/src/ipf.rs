//! Iterative proportional fitting: a need x stage x kind table that agrees with the published
//! need x age and need x placement tables, with zeros where a kind cannot serve a stage (no
//! FE college at seven, no primary school at twenty).

/// `x[need][stage][kind]`, fitted to `by_stage[need][stage]` and `by_kind[need][kind]`,
/// starting from `allowed[stage][kind]` (1 or 0).
pub fn fit(
    by_stage: &[Vec<f64>],
    by_kind: &[Vec<f64>],
    allowed: &[Vec<bool>],
    rounds: usize,
) -> Vec<Vec<Vec<f64>>> {
    let needs = by_stage.len();
    let stages = allowed.len();
    let kinds = allowed.first().map_or(0, Vec::len);
    let mut x: Vec<Vec<Vec<f64>>> = (0..needs)
        .map(|_| {
            (0..stages)
                .map(|s| {
                    (0..kinds)
                        .map(|k| f64::from(u8::from(allowed[s][k])))
                        .collect()
                })
                .collect()
        })
        .collect();
    for n in 0..needs {
        // The two published tables count slightly different totals (suppression): fit the
        // placement margin to the age margin's total.
        let stage_total: f64 = by_stage[n].iter().sum();
        let kind_total: f64 = by_kind[n].iter().sum();
        let scale = if kind_total > 0.0 {
            stage_total / kind_total
        } else {
            0.0
        };
        for _ in 0..rounds {
            for s in 0..stages {
                let sum: f64 = x[n][s].iter().sum();
                if sum > 0.0 {
                    let r = by_stage[n][s] / sum;
                    x[n][s].iter_mut().for_each(|v| *v *= r);
                }
            }
            for k in 0..kinds {
                let sum: f64 = (0..stages).map(|s| x[n][s][k]).sum();
                if sum > 0.0 {
                    let r = by_kind[n][k] * scale / sum;
                    (0..stages).for_each(|s| x[n][s][k] *= r);
                }
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_margins_hold_where_they_can() {
        // Two stages, three kinds; kind 2 only serves stage 1.
        let allowed = vec![vec![true, true, false], vec![true, true, true]];
        let by_stage = vec![vec![60.0, 40.0]];
        let by_kind = vec![vec![50.0, 30.0, 20.0]];
        let x = fit(&by_stage, &by_kind, &allowed, 200);
        let stage0: f64 = x[0][0].iter().sum();
        let kind2: f64 = x[0][0][2] + x[0][1][2];
        assert!((stage0 - 60.0).abs() < 1e-6, "{stage0}");
        assert!((kind2 - 20.0).abs() < 1e-6, "{kind2}");
        assert_eq!(x[0][0][2], 0.0, "a structural zero stays zero");
    }
}

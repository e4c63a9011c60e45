//! The G-rho family of k-sample tests (log-rank, Peto-Peto), plain and stratified, as R's
//! `survdiff`.

use crate::distributions::pchisq_upper;
use crate::km::near_tie_representatives;
use crate::linalg::{Cholesky, Matrix};

/// Events and censorings of one group at one time (within a stratum).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupTimeCount {
    pub time: f64,
    /// Index of the group, `0..n_groups`.
    pub group: usize,
    pub events: u64,
    pub censored: u64,
}

/// The result of `survdiff`.
#[derive(Debug, Clone, PartialEq)]
pub struct Survdiff {
    /// Subjects per group.
    pub n: Vec<u64>,
    /// Observed (weighted) events per group, summed over strata (`sd$obs`).
    pub observed: Vec<f64>,
    /// Expected (weighted) events per group, summed over strata (`sd$exp`).
    pub expected: Vec<f64>,
    /// Observed per stratum and group: `observed_by_stratum[s][g]`.
    pub observed_by_stratum: Vec<Vec<f64>>,
    /// Expected per stratum and group.
    pub expected_by_stratum: Vec<Vec<f64>>,
    /// Variance matrix of O - E (`sd$var`), groups × groups.
    pub var: Matrix,
    /// (O - E)ᵀ V⁻ (O - E) over the groups with expected > 0, the first one dropped.
    /// `None` when fewer than two groups have expected > 0.
    pub chisq: Option<f64>,
    /// Number of groups with expected > 0, minus 1 (as `print.survdiff`).
    pub df: i64,
    /// `pchisq(chisq, df, lower.tail = FALSE)`; `None` with `chisq`.
    pub p_value: Option<f64>,
}

/// The weight a weighted log-rank test gives the events at time t, computed from the pooled
/// sample of the stratum: n(t) at risk, Ŝ the pooled Kaplan-Meier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Weighting {
    /// w = 1: the log-rank test.
    LogRank,
    /// w = n(t): Gehan-Breslow generalised Wilcoxon (SAS `WILCOXON`, lifelines `wilcoxon`).
    Gehan,
    /// w = √n(t): Tarone-Ware (SAS `TARONE`, lifelines `tarone-ware`).
    TaroneWare,
    /// w = S̃(t) = Π_{t_j ≤ t} (1 − d_j / (n_j + 1)), Peto and Peto's survival estimate *including*
    /// the deaths at t: Klein & Moeschberger (2003) §7.3, SAS LIFETEST `PETO`, lifelines `peto`.
    /// (R's `survdiff(rho = 1)`, also called Peto-Peto, is `FlemingHarrington { p: 1, q: 0 }`.)
    Peto,
    /// w = Ŝ(t−)^p (1 − Ŝ(t−))^q: Fleming-Harrington G(p, q) (SAS `FLEMING(p, q)`, lifelines
    /// `fleming-harrington`); G(ρ, 0) is R's `survdiff(rho = ρ)`.
    FlemingHarrington { p: f64, q: f64 },
}

impl Weighting {
    /// The names [`Weighting::parse`] accepts.
    pub const NAMES: &'static str = "'logrank', 'gehan', 'tarone-ware', 'peto', 'fh(p,q)'";

    /// `'logrank'`, `'gehan'`, `'tarone-ware'`, `'peto'` or `'fh(p,q)'` (p, q ≥ 0, finite),
    /// case and spaces ignored; `None` for anything else.
    pub fn parse(text: &str) -> Option<Weighting> {
        let t: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        match t.as_str() {
            "logrank" | "log-rank" => return Some(Weighting::LogRank),
            "gehan" | "gehan-breslow" | "wilcoxon" => return Some(Weighting::Gehan),
            "tarone-ware" | "tarone" => return Some(Weighting::TaroneWare),
            "peto" | "peto-peto" => return Some(Weighting::Peto),
            _ => {}
        }
        let inner = t.strip_prefix("fh(")?.strip_suffix(')')?;
        let (p, q) = inner.split_once(',')?;
        let (p, q): (f64, f64) = (p.parse().ok()?, q.parse().ok()?);
        let valid = |x: f64| x.is_finite() && x >= 0.0;
        (valid(p) && valid(q)).then_some(Weighting::FlemingHarrington { p, q })
    }

    /// R's `survdiff(rho = rho)`.
    pub fn rho(rho: f64) -> Weighting {
        Weighting::FlemingHarrington { p: rho, q: 0.0 }
    }
}

/// The G-rho test of `n_groups` survival curves, as
/// `survdiff(Surv(time, event) ~ group [+ strata(s)], rho = rho)` (R's `survdiff2.c`): the
/// weighted test with w = S(t-)^rho, see [`survdiff_weighted`].
pub fn survdiff(strata: &[Vec<GroupTimeCount>], n_groups: usize, rho: f64) -> Survdiff {
    survdiff_weighted(strata, n_groups, Weighting::rho(rho))
}

/// The weighted log-rank test of `n_groups` survival curves: R's `survdiff2.c` with the
/// weights of [`Weighting`] (for G(ρ, 0) exactly `survdiff(..., rho = ρ)`; the others as
/// lifelines' `multivariate_logrank_test(weightings = ...)` and SAS LIFETEST `TEST=`).
///
/// `strata[s]` holds the counts of stratum `s`. At each event time t of a stratum, with
/// n_j(t) at risk and d_j(t) events in group j (n, d the totals) and weight w(t) from the
/// pooled sample of the stratum:
///
/// * O_j += w d_j,  E_j += w d n_j / n,
/// * V_jk += w² d (n - d) / (n (n - 1)) · n_j (δ_jk - n_k / n)   (n > 1).
///
/// Strata add up O, E and V. Times within sqrt(eps) are merged first (`aeqSurv`).
/// chisq = (O - E)ᵀ V⁻ (O - E) on the groups with E > 0 minus the first, with V⁻ the
/// generalised inverse of R's `cholesky2`; p from the chi-square with `df` degrees of freedom.
pub fn survdiff_weighted(
    strata: &[Vec<GroupTimeCount>],
    n_groups: usize,
    weighting: Weighting,
) -> Survdiff {
    // Near-tie merging over every time of the data, as survdiff applies aeqSurv to all of y.
    let mut all_times: Vec<f64> = strata.iter().flatten().map(|r| r.time).collect();
    all_times.sort_unstable_by(f64::total_cmp);
    all_times.dedup();
    let reps = near_tie_representatives(&all_times);
    let merged = all_times.iter().zip(&reps).any(|(a, b)| a != b);

    let mut n = vec![0u64; n_groups];
    let mut observed = vec![0.0; n_groups];
    let mut expected = vec![0.0; n_groups];
    let mut observed_by_stratum = vec![];
    let mut expected_by_stratum = vec![];
    let mut var = Matrix::zeros(n_groups);

    for records in strata {
        let mut recs: Vec<GroupTimeCount> = records.clone();
        if merged {
            for r in &mut recs {
                let i = all_times.partition_point(|&t| t < r.time);
                r.time = reps[i];
            }
        }
        // A total order (a near-tie merge can give one group two records at a time): the
        // floating-point sums below must not depend on the order the counts arrived in.
        recs.sort_unstable_by(|a, b| {
            a.time
                .total_cmp(&b.time)
                .then(a.group.cmp(&b.group))
                .then(a.events.cmp(&b.events))
                .then(a.censored.cmp(&b.censored))
        });
        for r in &recs {
            n[r.group] += r.events + r.censored;
        }
        // Distinct times, ascending: [start, end) ranges of recs.
        let mut ranges = vec![];
        let mut i = 0;
        while i < recs.len() {
            let mut j = i + 1;
            while j < recs.len() && recs[j].time == recs[i].time {
                j += 1;
            }
            ranges.push((i, j));
            i = j;
        }
        let total: u64 = recs.iter().map(|r| r.events + r.censored).sum();
        // The weight at each time, from the pooled sample: n at risk, the left-continuous
        // Kaplan-Meier Ŝ(t-) and Peto's S̃(t).
        let mut weight = vec![1.0; ranges.len()];
        if weighting != Weighting::LogRank && weighting != Weighting::rho(0.0) {
            let mut km = 1.0_f64;
            let mut peto = 1.0_f64;
            let mut at_risk = total as f64;
            for (k, &(a, b)) in ranges.iter().enumerate() {
                let deaths: u64 = recs[a..b].iter().map(|r| r.events).sum();
                let leaving: u64 = recs[a..b].iter().map(|r| r.events + r.censored).sum();
                peto *= 1.0 - deaths as f64 / (at_risk + 1.0);
                weight[k] = match weighting {
                    Weighting::LogRank => 1.0,
                    Weighting::Gehan => at_risk,
                    Weighting::TaroneWare => at_risk.sqrt(),
                    Weighting::Peto => peto,
                    Weighting::FlemingHarrington { p, q } => {
                        // Powers only when asked for: G(rho, 0) is bit for bit survdiff's.
                        let mut w = if p == 0.0 { 1.0 } else { km.powf(p) };
                        if q != 0.0 {
                            w *= (1.0 - km).powf(q);
                        }
                        w
                    }
                };
                km *= (at_risk - deaths as f64) / at_risk;
                at_risk -= leaving as f64;
            }
        }
        // Backwards over time, accumulating the risk sets.
        let mut risk = vec![0.0; n_groups];
        let mut obs = vec![0.0; n_groups];
        let mut exp = vec![0.0; n_groups];
        let mut nrisk = 0.0;
        for (k, &(a, b)) in ranges.iter().enumerate().rev() {
            let wt = weight[k];
            let mut deaths = 0.0;
            for r in &recs[a..b] {
                let c = (r.events + r.censored) as f64;
                risk[r.group] += c;
                nrisk += c;
                deaths += r.events as f64;
                obs[r.group] += r.events as f64 * wt;
            }
            if deaths > 0.0 {
                for g in 0..n_groups {
                    exp[g] += wt * deaths * risk[g] / nrisk;
                }
                if nrisk == 1.0 {
                    continue;
                }
                let w2 = wt * wt;
                for j in 0..n_groups {
                    let tmp = w2 * deaths * risk[j] * (nrisk - deaths) / (nrisk * (nrisk - 1.0));
                    var.add(j, j, tmp);
                    for g in 0..n_groups {
                        var.add(j, g, -tmp * risk[g] / nrisk);
                    }
                }
            }
        }
        for g in 0..n_groups {
            observed[g] += obs[g];
            expected[g] += exp[g];
        }
        observed_by_stratum.push(obs);
        expected_by_stratum.push(exp);
    }

    let with_expected: Vec<usize> = (0..n_groups).filter(|&g| expected[g] > 0.0).collect();
    let df = with_expected.len() as i64 - 1;
    let (chisq, p_value) = if with_expected.len() < 2 {
        (None, None)
    } else {
        let keep = &with_expected[1..];
        let diff: Vec<f64> = keep.iter().map(|&g| observed[g] - expected[g]).collect();
        let vv = var.select(keep);
        let solved = Cholesky::new(&vv, f64::EPSILON.powf(0.75)).solve(&diff);
        let chi: f64 = solved.iter().zip(&diff).map(|(a, b)| a * b).sum();
        (Some(chi), Some(pchisq_upper(chi, df as f64)))
    };
    Survdiff {
        n,
        observed,
        expected,
        observed_by_stratum,
        expected_by_stratum,
        var,
        chisq,
        df,
        p_value,
    }
}

/// The log-rank test for trend across ordered groups (Klein & Moeschberger 2003, §7.4;
/// SAS LIFETEST `TREND`): with a numeric score a_j per group and O, E, V of
/// [`survdiff_weighted`] (summed over strata),
///
/// * U = Σ_j a_j (O_j − E_j),  var(U) = Σ_j Σ_k a_j a_k V_jk = a'Va,
/// * z = U / √var(U) (positive when the hazard rises with the score), statistic = z² on one
///   degree of freedom, p = `pchisq(z², 1, lower.tail = FALSE)` (two-sided).
///
/// R's survival has no trend test; this is the formula applied to `survdiff`'s `obs`, `exp` and
/// `var` (K&M Example 7.6, larynx cancer stages 1-4: z = 3.72). Because V·1 = 0, adding a
/// constant to every score changes nothing; scaling them changes neither z nor p.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendTest {
    /// U = a'(O − E).
    pub score_statistic: f64,
    /// a'Va.
    pub variance: f64,
    /// U / √(a'Va); `None` when the variance is zero (one score, no events).
    pub z: Option<f64>,
    /// z²; `None` with `z`.
    pub statistic: Option<f64>,
    /// Two-sided p-value; `None` with `z`.
    pub p_value: Option<f64>,
}

/// The trend test of the groups of `sd` with scores `scores[g]` (see [`TrendTest`]).
pub fn trend_test(sd: &Survdiff, scores: &[f64]) -> TrendTest {
    let k = scores.len();
    let u: f64 = (0..k)
        .map(|g| scores[g] * (sd.observed[g] - sd.expected[g]))
        .sum();
    let mut variance = 0.0;
    // The size of the terms, to tell a zero variance from rounding (V·1 = 0: with one distinct
    // score a'Va cancels to a few ulps of this).
    let mut scale = 0.0;
    for j in 0..k {
        for g in 0..k {
            let term = scores[j] * scores[g] * sd.var.get(j, g);
            variance += term;
            scale += term.abs();
        }
    }
    let defined = variance > 1e-10 * scale && variance.is_finite();
    let z = defined.then(|| u / variance.sqrt());
    let statistic = z.map(|z| z * z);
    TrendTest {
        score_statistic: u,
        variance,
        z,
        statistic,
        p_value: statistic.map(|s| pchisq_upper(s, 1.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_groups_simple() {
        // Group 0 dies early, group 1 late: E for group 0 is below its O.
        let recs = vec![
            GroupTimeCount {
                time: 1.0,
                group: 0,
                events: 1,
                censored: 0,
            },
            GroupTimeCount {
                time: 2.0,
                group: 0,
                events: 1,
                censored: 0,
            },
            GroupTimeCount {
                time: 3.0,
                group: 1,
                events: 1,
                censored: 0,
            },
            GroupTimeCount {
                time: 4.0,
                group: 1,
                events: 0,
                censored: 1,
            },
        ];
        let sd = survdiff(&[recs], 2, 0.0);
        assert_eq!(sd.observed, vec![2.0, 1.0]);
        // E_0 = 2/4 + 1/3 + 0/2... at t=3 only group 1 is at risk.
        assert!((sd.expected[0] - (0.5 + 1.0 / 3.0)).abs() < 1e-15);
        assert_eq!(sd.df, 1);
        assert!(sd.chisq.unwrap() > 0.0);
    }

    #[test]
    fn trend_with_two_groups_is_the_logrank_test() {
        let rec = |time, group, events, censored| GroupTimeCount {
            time,
            group,
            events,
            censored,
        };
        let recs = vec![
            rec(1.0, 0, 1, 0),
            rec(2.0, 1, 1, 1),
            rec(3.0, 0, 2, 0),
            rec(4.0, 1, 1, 0),
            rec(5.0, 0, 0, 1),
        ];
        let sd = survdiff(&[recs], 2, 0.0);
        // Any two distinct scores: the same statistic; the sign of z follows the order.
        for (scores, sign) in [([1.0, 2.0], 1.0), ([7.5, -3.0], -1.0)] {
            let t = trend_test(&sd, &scores);
            let chisq = sd.chisq.unwrap();
            assert!((t.statistic.unwrap() - chisq).abs() < 1e-12 * chisq);
            let o_minus_e = sd.observed[1] - sd.expected[1];
            assert_eq!(t.z.unwrap().signum(), sign * o_minus_e.signum());
        }
        // One distinct score: no test.
        assert_eq!(trend_test(&sd, &[2.0, 2.0]).z, None);
    }
}

//! Validation of a risk prediction against censored outcomes, with inverse probability of
//! censoring weights (IPCW), as scikit-survival's `sksurv.metrics`:
//!
//! * [`CensoringCurve`]: the censoring distribution G, `CensoringDistributionEstimator` — the
//!   Kaplan-Meier curve of the censorings, a death at a time counted before a censoring at it
//!   (at risk n(t) − d(t)), G(t) the value after the step at t.
//! * [`uno_concordance`]: Uno's C, `concordance_index_ipcw(train, test, score, tau)`: over the
//!   pairs (i, j) with δ_i = 1, T_i < tau and T_j > T_i (or T_j = T_i censored), weight
//!   1/G(T_i)² per pair, concordant when score_i > score_j, half when within 1e-8.
//! * [`cumulative_dynamic_auc`]: the cumulative/dynamic AUC at t, `cumulative_dynamic_auc`:
//!   cases T_i ≤ t with an event, weighted 1/G(T_i), against controls T_j > t;
//!   AUC = Σ_i w_i (#{s_j < s_i} + ½ #{s_j = s_i}) / (Σ_i w_i · #controls).
//! * [`brier_score`]: the IPCW Brier score at t, `brier_score`: mean over subjects of
//!   S_i(t)² 1{T_i ≤ t, δ_i}/G(T_i) + (1 − S_i(t))² 1{T_i > t}/G(t) (a term whose G is 0
//!   counts 0).
//!
//! Scores within [`TIED_TOL`] of each other are tied, as sksurv's `tied_tol`.

use crate::km::{ConfType, KaplanMeier, TimeCounts};

/// sksurv's `tied_tol`: scores closer than this are ties.
pub const TIED_TOL: f64 = 1e-8;

/// The censoring distribution's step function.
#[derive(Debug, Clone, PartialEq)]
pub struct CensoringCurve {
    pub time: Vec<f64>,
    pub surv: Vec<f64>,
}

impl CensoringCurve {
    /// sksurv's `CensoringDistributionEstimator().fit((event, time))`.
    pub fn fit(time: &[f64], event: &[bool]) -> CensoringCurve {
        let mut order: Vec<usize> = (0..time.len()).collect();
        // (Rows usually come sorted by time: the sort is then one pass.)
        if !time.is_sorted_by(|a, b| a <= b) {
            order.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
        }
        let n = time.len();
        let mut out = CensoringCurve {
            time: vec![],
            surv: vec![],
        };
        let all_events = event.iter().all(|&e| e);
        let mut at_risk = n as f64;
        let mut g = 1.0;
        let mut k = 0;
        while k < n {
            let t = time[order[k]];
            let (mut deaths, mut censored) = (0.0, 0.0);
            let mut m = k;
            while m < n && time[order[m]] == t {
                if event[order[m]] {
                    deaths += 1.0;
                } else {
                    censored += 1.0;
                }
                m += 1;
            }
            if !all_events {
                let risk = at_risk - deaths;
                if risk > 0.0 {
                    g *= 1.0 - censored / risk;
                }
            }
            out.time.push(t);
            out.surv.push(g);
            at_risk -= deaths + censored;
            k = m;
        }
        out
    }

    /// G(t): the value after the last step at or before t (1 before the first).
    pub fn at(&self, t: f64) -> f64 {
        let k = self.time.partition_point(|&s| s <= t);
        if k == 0 {
            1.0
        } else {
            self.surv[k - 1]
        }
    }

    /// The last time, and whether G is still positive there (then G is unknown past it:
    /// sksurv refuses such times).
    fn last(&self) -> Option<(f64, bool)> {
        Some((*self.time.last()?, *self.surv.last()? > 0.0))
    }

    /// G at each event time of (time, event) for sksurv's IPCW, an error text when it is 0
    /// or the time lies past a positive curve's end.
    fn at_event(&self, t: f64) -> Result<f64, String> {
        if let Some((last, positive)) = self.last() {
            if t > last && positive {
                return Err(format!(
                    "time {t} is past the censoring distribution's last time {last}"
                ));
            }
        }
        let g = if self.last().is_some_and(|(last, _)| t > last) {
            0.0
        } else {
            self.at(t)
        };
        if g == 0.0 {
            return Err(format!(
                "the censoring survival function is 0 at time {t} (every subject censored or \
                 dead by then): the weights 1/G are infinite"
            ));
        }
        Ok(g)
    }
}

/// Scores sorted ascending, counting how many lie below or within [`TIED_TOL`] of a value.
struct SortedScores(Vec<f64>);

impl SortedScores {
    /// (#{s < v − tol}, #{|s − v| ≤ tol}).
    fn below_and_tied(&self, v: f64) -> (usize, usize) {
        let below = self.0.partition_point(|&s| s < v - TIED_TOL);
        let upto = self.0.partition_point(|&s| s <= v + TIED_TOL);
        (below, upto - below)
    }
}

/// Uno's concordance: the value, the weighted concordant-plus-half-tied sum and the weighted
/// number of comparable pairs, and the unweighted counts.
#[derive(Debug, Clone, PartialEq)]
pub struct UnoConcordance {
    pub c_index: f64,
    pub concordant: u64,
    pub discordant: u64,
    pub tied_risk: u64,
    pub comparable: u64,
}

/// Uno's C (see the module documentation); `cens` the censoring distribution (of the same
/// rows, or of training data). An error text when a weight is infinite.
pub fn uno_concordance(
    time: &[f64],
    event: &[bool],
    score: &[f64],
    tau: Option<f64>,
    cens: &CensoringCurve,
) -> Result<Option<UnoConcordance>, String> {
    let n = time.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    // From the latest time backwards, a Fenwick tree over the score ranks of the rows later
    // than the current time; at each time the censored rows join before its events are
    // scored (a censoring at T_i is comparable), the events after.
    let mut sorted: Vec<f64> = score.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |v: f64| sorted.partition_point(|&s| s < v);
    let mut tree = Fenwick::new(n);
    let (mut numerator, mut denominator) = (0.0, 0.0);
    let (mut concordant, mut discordant, mut tied, mut comparable) = (0u64, 0u64, 0u64, 0u64);
    let mut k = n;
    while k > 0 {
        let t = time[order[k - 1]];
        let mut start = k;
        while start > 0 && time[order[start - 1]] == t {
            start -= 1;
        }
        let group = &order[start..k];
        for &i in group.iter().filter(|&&i| !event[i]) {
            tree.add(rank(score[i]));
        }
        {
            for &i in group.iter().filter(|&&i| event[i]) {
                let later = tree.total();
                if later == 0 {
                    continue;
                }
                let w = match tau {
                    Some(tau) if t >= tau => 0.0,
                    _ => {
                        let g = cens.at_event(t)?;
                        1.0 / (g * g)
                    }
                };
                let lo = sorted.partition_point(|&s| s < score[i] - TIED_TOL);
                let hi = sorted.partition_point(|&s| s <= score[i] + TIED_TOL);
                let below = tree.prefix(lo);
                let ties = tree.prefix(hi) - below;
                numerator += w * (below as f64 + 0.5 * ties as f64);
                denominator += w * later as f64;
                concordant += below;
                tied += ties;
                discordant += later - below - ties;
                comparable += later;
            }
        }
        for &i in group.iter().filter(|&&i| event[i]) {
            tree.add(rank(score[i]));
        }
        k = start;
    }
    if denominator == 0.0 {
        return Ok(None);
    }
    Ok(Some(UnoConcordance {
        c_index: numerator / denominator,
        concordant,
        discordant,
        tied_risk: tied,
        comparable,
    }))
}

/// The cumulative/dynamic AUC at `t` (see the module documentation). `None` without cases
/// or controls.
pub fn cumulative_dynamic_auc(
    time: &[f64],
    event: &[bool],
    score: &[f64],
    t: f64,
    cens: &CensoringCurve,
) -> Result<Option<f64>, String> {
    let controls = SortedScores({
        let mut c: Vec<f64> = (0..time.len())
            .filter(|&j| time[j] > t)
            .map(|j| score[j])
            .collect();
        c.sort_by(f64::total_cmp);
        c
    });
    let n_controls = controls.0.len() as f64;
    let (mut numerator, mut weights) = (0.0, 0.0);
    for i in (0..time.len()).filter(|&i| event[i] && time[i] <= t) {
        let w = 1.0 / cens.at_event(time[i])?;
        let (below, ties) = controls.below_and_tied(score[i]);
        numerator += w * (below as f64 + 0.5 * ties as f64);
        weights += w;
    }
    if weights == 0.0 || n_controls == 0.0 {
        return Ok(None);
    }
    Ok(Some(numerator / (weights * n_controls)))
}

/// The IPCW Brier score at `t` of predicted survival probabilities `surv` (see the module
/// documentation).
pub fn brier_score(
    time: &[f64],
    event: &[bool],
    surv: &[f64],
    t: f64,
    cens: &CensoringCurve,
) -> f64 {
    let inverse = |g: f64| if g == 0.0 { 0.0 } else { 1.0 / g };
    let g_t = inverse(cens.at(t));
    let n = time.len();
    let total: f64 = (0..n)
        .map(|i| {
            if time[i] <= t && event[i] {
                surv[i] * surv[i] * inverse(cens.at(time[i]))
            } else if time[i] > t {
                (1.0 - surv[i]) * (1.0 - surv[i]) * g_t
            } else {
                0.0
            }
        })
        .sum();
    total / n as f64
}

/// One risk group of [`calibration`].
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationGroup {
    /// 1-based, in increasing predicted risk.
    pub group: usize,
    pub n: usize,
    pub mean_predicted: f64,
    /// 1 − S(t) of the group's Kaplan-Meier curve, with the limits of S's log interval.
    pub observed: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Observed against predicted risk at `t` by risk group: the groups are R's
/// `cut(p, unique(quantile(p, seq(0, 1, 1/groups))), include.lowest = TRUE)` (type 7
/// quantiles; equal predictions share a group), and each group's observed risk is
/// 1 − S(t) of its Kaplan-Meier curve (`summary(survfit(...), times = t, extend = TRUE)`,
/// 95% log limits turned around). Rows in any order.
pub fn calibration(
    time: &[f64],
    event: &[bool],
    risk: &[f64],
    t: f64,
    groups: usize,
) -> Vec<CalibrationGroup> {
    let n = risk.len();
    if n == 0 {
        return vec![];
    }
    let mut sorted = risk.to_vec();
    sorted.sort_by(f64::total_cmp);
    // Type 7 quantiles at k/groups.
    let mut breaks: Vec<f64> = (0..=groups)
        .map(|k| {
            let h = (n - 1) as f64 * k as f64 / groups as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        })
        .collect();
    breaks.dedup();
    let intervals = breaks.len().saturating_sub(1).max(1);
    // cut(..., include.lowest = TRUE): (b_{k-1}, b_k], the first [b_0, b_1].
    let group_of = |p: f64| -> usize {
        let k = breaks.partition_point(|&b| b < p);
        k.clamp(1, intervals)
    };
    let mut members: Vec<Vec<usize>> = vec![vec![]; intervals];
    for i in 0..n {
        members[group_of(risk[i]) - 1].push(i);
    }
    members
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.is_empty())
        .map(|(k, m)| {
            let times: Vec<f64> = m.iter().map(|&i| time[i]).collect();
            let events: Vec<bool> = m.iter().map(|&i| event[i]).collect();
            let mut counts = TimeCounts::from_subjects(&times, &events);
            counts.merge_near_ties();
            let at = KaplanMeier::from_counts(&counts).at(t, ConfType::Log, 0.95);
            CalibrationGroup {
                group: k + 1,
                n: m.len(),
                mean_predicted: m.iter().map(|&i| risk[i]).sum::<f64>() / m.len() as f64,
                observed: 1.0 - at.surv,
                lower: at.upper.map(|u| 1.0 - u),
                upper: at.lower.map(|l| 1.0 - l),
            }
        })
        .collect()
}

/// A Fenwick (binary indexed) tree of counts over ranks 0..n.
struct Fenwick {
    tree: Vec<u64>,
    total: u64,
}

impl Fenwick {
    fn new(n: usize) -> Self {
        Fenwick {
            tree: vec![0; n + 1],
            total: 0,
        }
    }

    fn add(&mut self, rank: usize) {
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] += 1;
            i += i & i.wrapping_neg();
        }
        self.total += 1;
    }

    /// Count of ranks < `end`.
    fn prefix(&self, end: usize) -> u64 {
        let mut i = end;
        let mut s = 0;
        while i > 0 {
            s += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        s
    }

    fn total(&self) -> u64 {
        self.total
    }
}

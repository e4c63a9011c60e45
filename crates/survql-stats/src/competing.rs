//! Competing risks: the Aalen-Johansen cumulative incidence of one cause with R's
//! infinitesimal-jackknife standard error (`survfit(Surv(time, factor(status)) ~ 1)`), and
//! Gray's k-sample test (`cmprsk::cuminc(...)$Tests`).

use crate::distributions::pchisq_upper;
use crate::distributions::z_for_level;
use crate::km::{confint, near_tie_representatives, Bands, ConfType};
use crate::linalg::{Cholesky, Matrix};

/// Observations that share an entry time, an exit time, a status and a case weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompetingCount {
    /// Start of observation (left truncation): the subjects are at risk at the exit times
    /// t > entry, as R's `Surv(entry, time, status)`. `f64::NEG_INFINITY`: from the start.
    pub entry: f64,
    /// Exit time: an event or the end of follow-up.
    pub time: f64,
    /// 0 = censored, k > 0 = an event of cause k.
    pub status: u32,
    /// Case weight of each of the `count` observations (1 without weights).
    pub weight: f64,
    pub count: u64,
}

impl CompetingCount {
    /// `count` unweighted observations at risk from the start.
    pub fn new(time: f64, status: u32, count: u64) -> CompetingCount {
        CompetingCount {
            entry: f64::NEG_INFINITY,
            time,
            status,
            weight: 1.0,
            count,
        }
    }
}

/// The cumulative incidence curve of one cause: one element per distinct exit time, as the
/// components of R's multi-state `survfit` object for that state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CifCurve {
    pub time: Vec<f64>,
    /// Subjects at risk (in the initial state) just before the time (`fit$n.risk[, 1]`).
    pub n_risk: Vec<u64>,
    /// Events of the cause at the time (`fit$n.event` for the cause's state).
    pub n_event: Vec<u64>,
    /// The Aalen-Johansen estimate F_k(t) (`fit$pstate` for the cause's state).
    pub cif: Vec<f64>,
    /// Its infinitesimal-jackknife standard error (`fit$std.err`).
    pub std_err: Vec<f64>,
}

impl CifCurve {
    /// Pointwise confidence limits as R's `survfit_confint(pstate, std.err, logse = FALSE)`:
    /// the standard error goes to the log scale as se / F (0 where se is 0), then the limits
    /// of [`ConfType`] (`'log'` is R's default for multi-state curves); undefined (NaN) where
    /// the transform is, e.g. F = 0 on the log scale.
    pub fn bands(&self, conf_type: ConfType, level: f64) -> Bands {
        let z = z_for_level(level);
        let (lower, upper) = self
            .cif
            .iter()
            .zip(&self.std_err)
            .map(|(&p, &se)| {
                let se_log = if se == 0.0 { 0.0 } else { se / p };
                confint(p, se_log, conf_type, z)
            })
            .unzip();
        Bands { lower, upper }
    }
}

/// The Aalen-Johansen estimate of the cumulative incidence of `cause`, with the standard error
/// R's `survfit(Surv(time, factor(status)) ~ 1)` reports (survival 3.5-3, `survfitci.c`).
///
/// At each distinct exit time t with n(t) weighted subjects at risk, d_k(t) weighted events of
/// the cause and d(t) of any cause, S(t−) the all-cause Kaplan-Meier:
///
/// * F_k(t) = F_k(t−) + S(t−) d_k(t) / n(t),  S(t) = S(t−) (1 − d(t)/n(t)).
///
/// The variance is the infinitesimal jackknife Σ_i w_i² U_i(t)² over subjects, where U_i is the
/// influence of subject i on F_k(t). R carries the n × states influence matrix through every
/// time (U ← U·H + dH); for a single initial state and absorbing causes it has a closed form
/// that is affine in F_k(t): with c(s) = S(s−)/n(s), λ = d/n, λ_k = d_k/n at each event time s
/// the subject was at risk (entry < s ≤ exit),
///
/// * U_i(t) = Σ_s [ −λ_k c + λ c (F_k(t) − F_k(s)) / S(s) ]
///   + (if i had an event of cause m at its exit x) c(x) [m = k] − c(x) (F_k(t) − F_k(x)) / S(x),
///
/// so per-time sums over the subjects at risk and over those gone (Σ w²P², Σ w²PQ, Σ w²Q² of
/// U = P + Q·F_k(t)) give R's numbers in O(times) instead of O(times × subjects). Terms divided
/// by S(s) = 0 vanish (F_k no longer moves). Times within sqrt(eps) are merged first, as
/// `aeqSurv`. Entries (left truncation) follow `survfitci.c`: a subject joins the risk set at
/// the first exit time strictly after its entry.
///
/// # Errors
/// When a subject's entry and time fall into one run of near-ties (R: "aeqSurv exception, an
/// interval has effective length 0").
pub fn aalen_johansen(counts: &[CompetingCount], cause: u32) -> Result<CifCurve, String> {
    let counts = merge_near_ties(counts)?;
    // Observations by exit time, and those with a delayed entry by entry time.
    let mut by_exit: Vec<usize> = (0..counts.len()).collect();
    by_exit.sort_by(|&a, &b| counts[a].time.total_cmp(&counts[b].time));
    let mut by_entry: Vec<usize> = (0..counts.len())
        .filter(|&i| counts[i].entry > f64::NEG_INFINITY)
        .collect();
    by_entry.sort_by(|&a, &b| counts[a].entry.total_cmp(&counts[b].entry));

    // (A, B) at each observation's entry: its influence is U = (A(t) − a) + (B(t) − b)·F(t)
    // plus its own event term.
    let mut at_entry = vec![(0.0, 0.0); counts.len()];
    let mut active = ActiveSums::default();
    for c in counts.iter().filter(|c| c.entry == f64::NEG_INFINITY) {
        active.add(c, 0.0, 0.0, 1.0);
    }
    let mut gone = GoneSums::default();
    let (mut s, mut f) = (1.0_f64, 0.0_f64);
    let (mut a_sum, mut b_sum) = (0.0_f64, 0.0_f64);
    let mut out = CifCurve::default();
    let mut next_entry = 0;
    let mut i = 0;
    while i < by_exit.len() {
        let t = counts[by_exit[i]].time;
        let mut j = i;
        while j < by_exit.len() && counts[by_exit[j]].time == t {
            j += 1;
        }
        while next_entry < by_entry.len() && counts[by_entry[next_entry]].entry < t {
            let k = by_entry[next_entry];
            at_entry[k] = (a_sum, b_sum);
            active.add(&counts[k], a_sum, b_sum, 1.0);
            next_entry += 1;
        }
        let n_risk = active.count;
        let at_risk = active.weight;
        let (mut d_cause, mut d_all, mut n_cause) = (0.0, 0.0, 0u64);
        let mut weighted_events = 0u64;
        for &k in &by_exit[i..j] {
            let c = &counts[k];
            if c.status != 0 {
                if c.weight > 0.0 {
                    weighted_events += c.count;
                }
                d_all += c.weight * c.count as f64;
                if c.status == cause {
                    d_cause += c.weight * c.count as f64;
                    n_cause += c.count;
                }
            }
        }
        // The jump at t: c = S(t−)/n(t), and 1/S(t) (0 once S is 0: nothing moves after).
        let (mut jump, mut inv_s) = (0.0, 0.0);
        if d_all > 0.0 {
            // Everyone at risk (with a weight) has an event: S drops to exactly 0. The weighted
            // risk set is a running sum whose rounding would otherwise leave S a few ulps
            // above 0, and the terms divided by S(t) would blow up.
            let lambda = if weighted_events == active.weighted {
                1.0
            } else {
                d_all / at_risk
            };
            let lambda_k = if lambda == 1.0 && d_cause == d_all {
                1.0
            } else {
                d_cause / at_risk
            };
            jump = s / at_risk;
            f += s * lambda_k;
            s *= 1.0 - lambda;
            if s > 0.0 {
                inv_s = 1.0 / s;
            }
            let beta = lambda * jump * inv_s;
            a_sum += -lambda_k * jump - beta * f;
            b_sum += beta;
        }
        for &k in &by_exit[i..j] {
            let c = &counts[k];
            let (a, b) = at_entry[k];
            let (mut p, mut q) = (a_sum - a, b_sum - b);
            if c.status != 0 && d_all > 0.0 {
                if c.status == cause {
                    p += jump;
                }
                p += jump * f * inv_s;
                q -= jump * inv_s;
            }
            gone.add(c, p, q);
            active.add(c, a, b, -1.0);
        }
        let g = a_sum + b_sum * f;
        let variance = gone.at(f) + active.at(g, f);
        out.time.push(t);
        out.n_risk.push(n_risk);
        out.n_event.push(n_cause);
        out.cif.push(f);
        out.std_err.push(variance.max(0.0).sqrt());
        i = j;
    }
    Ok(out)
}

/// Σ w² and the moments of (a, b) over the subjects at risk, whose influence at t is
/// g − a − b·F(t) with g = A(t) + B(t)·F(t).
#[derive(Debug, Default)]
struct ActiveSums {
    count: u64,
    /// Observations with a weight > 0.
    weighted: u64,
    weight: f64,
    w2: f64,
    w2a: f64,
    w2b: f64,
    w2aa: f64,
    w2ab: f64,
    w2bb: f64,
}

impl ActiveSums {
    fn add(&mut self, c: &CompetingCount, a: f64, b: f64, sign: f64) {
        let weighted = if c.weight > 0.0 { c.count } else { 0 };
        if sign > 0.0 {
            self.count += c.count;
            self.weighted += weighted;
        } else {
            self.count -= c.count;
            self.weighted -= weighted;
        }
        let n = sign * c.count as f64;
        self.weight += n * c.weight;
        let w2 = n * c.weight * c.weight;
        self.w2 += w2;
        // Without delayed entry a = b = 0: only w² moves, and integer weights stay exact.
        if a != 0.0 || b != 0.0 {
            self.w2a += w2 * a;
            self.w2b += w2 * b;
            self.w2aa += w2 * a * a;
            self.w2ab += w2 * a * b;
            self.w2bb += w2 * b * b;
        }
    }

    /// Σ w² (g − a − b·f)².
    fn at(&self, g: f64, f: f64) -> f64 {
        g * g * self.w2 - 2.0 * g * (self.w2a + f * self.w2b)
            + self.w2aa
            + 2.0 * f * self.w2ab
            + f * f * self.w2bb
    }
}

/// Σ w²P², Σ w²PQ, Σ w²Q² over the subjects no longer at risk (influence P + Q·F(t)).
#[derive(Debug, Default)]
struct GoneSums {
    pp: f64,
    pq: f64,
    qq: f64,
}

impl GoneSums {
    fn add(&mut self, c: &CompetingCount, p: f64, q: f64) {
        let w2 = c.count as f64 * c.weight * c.weight;
        self.pp += w2 * p * p;
        self.pq += w2 * p * q;
        self.qq += w2 * q * q;
    }

    fn at(&self, f: f64) -> f64 {
        self.pp + 2.0 * f * self.pq + f * f * self.qq
    }
}

/// Entry and exit times within sqrt(eps) of each other binned as R's `aeqSurv` does (over both
/// columns of a counting-process response).
fn merge_near_ties(counts: &[CompetingCount]) -> Result<Vec<CompetingCount>, String> {
    let mut times: Vec<f64> = counts
        .iter()
        .flat_map(|c| [c.entry, c.time])
        .filter(|t| t.is_finite())
        .collect();
    times.sort_unstable_by(f64::total_cmp);
    times.dedup();
    let reps = near_tie_representatives(&times);
    if times.iter().zip(&reps).all(|(a, b)| a == b) {
        return Ok(counts.to_vec());
    }
    let rep = |t: f64| {
        if t.is_finite() {
            reps[times.partition_point(|&x| x < t)]
        } else {
            t
        }
    };
    counts
        .iter()
        .map(|c| {
            let (entry, time) = (rep(c.entry), rep(c.time));
            if entry >= time {
                return Err(format!(
                    "entry {} and time {} are closer than R's tie tolerance (aeqSurv merges \
                     them; R stops with 'an interval has effective length 0')",
                    c.entry, c.time
                ));
            }
            Ok(CompetingCount { entry, time, ..*c })
        })
        .collect()
}

/// Events and censorings of one group at one time, for [`gray_test`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupCauseCount {
    pub time: f64,
    /// Index of the group, `0..n_groups`.
    pub group: usize,
    /// 0 = censored, k > 0 = an event of cause k.
    pub status: u32,
    pub count: u64,
}

/// The result of [`gray_test`].
#[derive(Debug, Clone, PartialEq)]
pub struct GrayTest {
    /// s' V⁻¹ s; `None` when V is singular (cmprsk reports −1 then) or there is one group.
    pub statistic: Option<f64>,
    /// Groups − 1 (as cmprsk: every group with observations counts).
    pub df: i64,
    pub p_value: Option<f64>,
}

/// Gray's (1988) k-sample test for equality of the cumulative incidence of `cause` across
/// `n_groups` groups, with weight (1 − F(t−))^rho, as `cmprsk::cuminc(time, status, group,
/// rho = rho)$Tests` (cmprsk 2.2, Fortran `crstm`/`crst`), unstratified.
///
/// At each distinct time, per group j with R_j at risk, left-continuous all-cause Kaplan-Meier
/// S_j(t−) and cumulative incidence F_j(t−): h_j = R_j / S_j(t−) ("R_j/Ŝ_j"), the pooled
/// F(t) = F(t−) + d_1 / Σ h_j, and the score of group j adds
/// w (d_1j − d_1 R_j (1 − F_j(t−)) / (S_j(t−) Σ_j R_j (1 − F_j(t−))/S_j(t−))), with w =
/// (1 − F(t−))^rho. Its variance follows Gray's estimator (the martingale representation with
/// the a, c matrices and the v3, v2 terms of the paper's appendix). The statistic is s' V⁻¹ s
/// on the first n_groups − 1 scores, chi-square with n_groups − 1 df. Times are compared
/// exactly (cmprsk does not merge near-ties).
pub fn gray_test(counts: &[GroupCauseCount], n_groups: usize, cause: u32, rho: f64) -> GrayTest {
    let df = n_groups as i64 - 1;
    if n_groups < 2 {
        return GrayTest {
            statistic: None,
            df,
            p_value: None,
        };
    }
    let ng = n_groups;
    let ng1 = ng - 1;
    let mut recs = counts.to_vec();
    recs.sort_by(|a, b| a.time.total_cmp(&b.time).then(a.group.cmp(&b.group)));
    let mut at_risk = vec![0.0_f64; ng];
    for r in &recs {
        at_risk[r.group] += r.count as f64;
    }
    let mut score = vec![0.0; ng1];
    let mut var = Matrix::zeros(ng1);
    let mut f_left = vec![0.0_f64; ng]; // F_j(t−)
    let mut s_left = vec![1.0_f64; ng]; // S_j(t−)
    let mut f_pooled_left = 0.0_f64;
    let mut c_mat = Matrix::zeros(ng);
    let mut v3 = vec![0.0; ng];
    let mut v2 = vec![vec![0.0; ng]; ng1];
    let mut a_mat = Matrix::zeros(ng);
    let mut i = 0;
    while i < recs.len() {
        let t = recs[i].time;
        let mut j = i;
        // d[g] = (censored, cause, other cause) at t.
        let mut d = vec![[0.0_f64; 3]; ng];
        while j < recs.len() && recs[j].time == t {
            let r = &recs[j];
            let kind = match r.status {
                0 => 0,
                s if s == cause => 1,
                _ => 2,
            };
            d[r.group][kind] += r.count as f64;
            j += 1;
        }
        let d1: f64 = d.iter().map(|x| x[1]).sum();
        let d2: f64 = d.iter().map(|x| x[2]).sum();
        let mut s_right = s_left.clone();
        if d1 > 0.0 || d2 > 0.0 {
            let mut f_right = f_left.clone();
            let (mut tr, mut tq) = (0.0, 0.0);
            for g in 0..ng {
                if at_risk[g] <= 0.0 {
                    continue;
                }
                s_right[g] = s_left[g] * (at_risk[g] - d[g][1] - d[g][2]) / at_risk[g];
                f_right[g] = f_left[g] + s_left[g] * d[g][1] / at_risk[g];
                tr += at_risk[g] / s_left[g];
                tq += at_risk[g] * (1.0 - f_left[g]) / s_left[g];
            }
            let f_pooled = f_pooled_left + d1 / tr;
            let w = (1.0 - f_pooled_left).powf(rho);
            for g in 0..ng {
                for h in g..ng {
                    a_mat.set(g, h, 0.0);
                }
                if at_risk[g] <= 0.0 {
                    continue;
                }
                let t1 = at_risk[g] / s_left[g];
                a_mat.set(g, g, w * t1 * (1.0 - t1 / tr));
                if a_mat.get(g, g) != 0.0 {
                    c_mat.add(g, g, a_mat.get(g, g) * d1 / (tr * (1.0 - f_pooled_left)));
                }
                for h in g + 1..ng {
                    if at_risk[h] <= 0.0 {
                        continue;
                    }
                    a_mat.set(g, h, -w * t1 * at_risk[h] / (s_left[h] * tr));
                    if a_mat.get(g, h) != 0.0 {
                        c_mat.add(g, h, a_mat.get(g, h) * d1 / (tr * (1.0 - f_pooled_left)));
                    }
                }
            }
            for g in 1..ng {
                for h in 0..g {
                    a_mat.set(g, h, a_mat.get(h, g));
                    c_mat.set(g, h, c_mat.get(h, g));
                }
            }
            for g in 0..ng1 {
                if at_risk[g] > 0.0 {
                    score[g] +=
                        w * (d[g][1] - d1 * at_risk[g] * (1.0 - f_left[g]) / (s_left[g] * tq));
                }
            }
            if d1 > 0.0 {
                for k in 0..ng {
                    if at_risk[k] <= 0.0 {
                        continue;
                    }
                    let t4 = if s_right[k] > 0.0 {
                        1.0 - (1.0 - f_pooled) / s_right[k]
                    } else {
                        1.0
                    };
                    let t5 = if d1 > 1.0 {
                        1.0 - (d1 - 1.0) / (tr * s_left[k] - 1.0)
                    } else {
                        1.0
                    };
                    let t3 = t5 * s_left[k] * d1 / (tr * at_risk[k]);
                    v3[k] += t4 * t4 * t3;
                    for g in 0..ng1 {
                        let t1 = a_mat.get(g, k) - t4 * c_mat.get(g, k);
                        v2[g][k] += t1 * t4 * t3;
                        for h in 0..=g {
                            let t2 = a_mat.get(h, k) - t4 * c_mat.get(h, k);
                            var.add(g, h, t1 * t2 * t3);
                        }
                    }
                }
            }
            if d2 > 0.0 {
                for k in 0..ng {
                    if s_right[k] <= 0.0 || d[k][2] <= 0.0 {
                        continue;
                    }
                    let t4 = (1.0 - f_pooled) / s_right[k];
                    let t5 = if d[k][2] > 1.0 {
                        1.0 - (d[k][2] - 1.0) / (at_risk[k] - 1.0)
                    } else {
                        1.0
                    };
                    let t3 = t5 * s_left[k] * s_left[k] * d[k][2] / (at_risk[k] * at_risk[k]);
                    v3[k] += t4 * t4 * t3;
                    for g in 0..ng1 {
                        let t1 = t4 * c_mat.get(g, k);
                        v2[g][k] -= t1 * t4 * t3;
                        for h in 0..=g {
                            let t2 = t4 * c_mat.get(h, k);
                            var.add(g, h, t1 * t2 * t3);
                        }
                    }
                }
            }
            f_pooled_left = f_pooled;
            f_left = f_right;
        }
        for r in &recs[i..j] {
            at_risk[r.group] -= r.count as f64;
        }
        s_left = s_right;
        i = j;
    }
    for g in 0..ng1 {
        for h in 0..=g {
            let mut v = var.get(g, h);
            for k in 0..ng {
                v += c_mat.get(g, k) * c_mat.get(h, k) * v3[k];
                v += c_mat.get(g, k) * v2[h][k];
                v += c_mat.get(h, k) * v2[g][k];
            }
            var.set(g, h, v);
            var.set(h, g, v);
        }
    }
    let chol = Cholesky::new(&var, 1e-9);
    if chol.rank < ng1 {
        return GrayTest {
            statistic: None,
            df,
            p_value: None,
        };
    }
    let solved = chol.solve(&score);
    let statistic: f64 = solved.iter().zip(&score).map(|(a, b)| a * b).sum();
    GrayTest {
        statistic: Some(statistic),
        df,
        p_value: Some(pchisq_upper(statistic, df as f64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without competing events the cumulative incidence is 1 − KM, and its standard error
    /// the infinitesimal-jackknife one (R: survfit(Surv(t, factor(s)) ~ 1) with one cause).
    #[test]
    fn one_cause_is_one_minus_kaplan_meier() {
        let counts = vec![
            CompetingCount::new(1.0, 1, 1),
            CompetingCount::new(2.0, 0, 1),
            CompetingCount::new(3.0, 1, 2),
            CompetingCount::new(4.0, 0, 1),
        ];
        let cif = aalen_johansen(&counts, 1).unwrap();
        assert_eq!(cif.time, vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(cif.n_risk, vec![5, 4, 3, 1]);
        let km = [0.8, 0.8, 0.8 / 3.0, 0.8 / 3.0];
        for (f, s) in cif.cif.iter().zip(km) {
            assert!((f - (1.0 - s)).abs() < 1e-15);
        }
        // At t = 1 the influence is −1/25 for the four others and 4/25 for the event: the
        // variance 4·(1/25)² + (4/25)² = S·(1 − S)/n = 0.8·0.2/5.
        assert!((cif.std_err[0] - (0.8_f64 * 0.2 / 5.0).sqrt()).abs() < 1e-15);
    }
}

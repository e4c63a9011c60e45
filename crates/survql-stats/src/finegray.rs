//! The Fine-Gray proportional subdistribution hazards model, as `cmprsk::crr` (cmprsk 2.2).
//!
//! Fine & Gray (1999): for the cause of interest, subjects who failed from another cause stay
//! in the risk set after their failure with the inverse-probability-of-censoring weight
//! `G(u−) / G(t_j−)`, where `G` is the Kaplan-Meier estimate of the censoring distribution
//! (censorings as events; `survfit(Surv(time, status == 0) ~ 1)`). With
//! `w_j(u) = 1` for `t_j ≥ u`, `G(u−)/G(t_j−)` for a competing failure before `u` and 0
//! otherwise, `S0(u) = Σ w_j(u) e^{x_j'β}`, `S1`, `S2` the first and second moments and
//! `x̄ = S1/S0`, the pseudo log-likelihood, score and information are (Breslow ties)
//!
//! ```text
//! l(β) = Σ_{i: cause} (x_i'β − log S0(t_i)),  U(β) = Σ_{i: cause} (x_i − x̄(t_i)),
//! H(β) = Σ_{i: cause} (S2/S0 − x̄ x̄')(t_i).
//! ```
//!
//! `crr` maximises it by Newton-Raphson from β = 0 with its own rules (step halving until
//! `l` rises by at least 1e-4 of the predicted change; stop when
//! `max |U_j| max(|β_j|, 1) < max(|l|, 1) · gtol`, gtol 1e-6, at most 10 iterations); they are
//! followed here so that the coefficients are crr's (not a more converged optimum).
//!
//! The variance is crr's sandwich `H⁻¹ Σ_i (η_i + ψ_i)(η_i + ψ_i)' H⁻¹` (Fine & Gray, §3;
//! `crrvv`): `η_i = dN_i (x_i − x̄) − ∫ w_i(u) e^{x_i'β} (x_i − x̄(u)) dΛ̂(u)` and
//! `ψ_i = ∫ q(u)/Y(u) dM^c_i(u)`, the correction for the estimated censoring distribution,
//! with `q(u) = Σ_{t_k ≥ u} dΛ̂(t_k) Σ_{j: competing, t_j < u} e^{x_j'β} G(t_k−)/G(t_j−)
//! (x_j − x̄(t_k))`. `crrvv` loops over pairs and triples of subjects (O(n³)); every sum here
//! is a running sum over time, so the whole variance costs O(n p²) after one sort.

use crate::km::near_tie_representatives;
use crate::linalg::{Cholesky, Matrix};

/// Fitting options (`crr`'s `maxiter`, `gtol`).
#[derive(Debug, Clone, Copy)]
pub struct FineGrayOptions {
    pub max_iter: usize,
    pub gtol: f64,
    /// Tolerance of the Cholesky decomposition used to solve for steps and the variance.
    pub toler_chol: f64,
}

impl Default for FineGrayOptions {
    fn default() -> Self {
        FineGrayOptions {
            max_iter: 10,
            gtol: 1e-6,
            toler_chol: f64::EPSILON.powf(0.75),
        }
    }
}

/// The data: one row per subject.
#[derive(Debug, Clone, Default)]
pub struct FineGrayData {
    pub time: Vec<f64>,
    /// 0 = censored, k > 0 = failure from cause k.
    pub status: Vec<u32>,
    /// Covariate columns, each of length n.
    pub x: Vec<Vec<f64>>,
}

/// A fitted Fine-Gray model (`crr`'s `coef`, `var`, `loglik`, `loglik.null`, `converged`).
#[derive(Debug, Clone)]
pub struct FineGrayFit {
    pub n: usize,
    /// Failures from the cause of interest.
    pub events: usize,
    /// Newton-Raphson steps taken.
    pub iterations: usize,
    pub converged: bool,
    /// Coefficients; `None` where the information matrix is singular (aliased covariates).
    pub coef: Vec<Option<f64>>,
    /// crr's sandwich variance (zero rows and columns for aliased coefficients).
    pub var: Matrix,
    /// The pseudo log-likelihood at the estimate and at β = 0.
    pub loglik: f64,
    pub loglik_null: f64,
}

/// Subjects sorted by time, with the censoring distribution at each time.
struct Prepared {
    n: usize,
    p: usize,
    time: Vec<f64>,
    /// 1 = cause of interest, 2 = competing cause, 0 = censored (crr's `ici`).
    kind: Vec<u8>,
    /// Row-major covariates in time order.
    x: Vec<f64>,
    /// G(t_i−): the censoring Kaplan-Meier just before each subject's time.
    g_before: Vec<f64>,
    /// Start of each subject's run of equal times, and its end (exclusive).
    run: Vec<(usize, usize)>,
}

impl Prepared {
    fn new(data: &FineGrayData, cause: u32) -> Prepared {
        let n = data.time.len();
        let p = data.x.len();
        // By time, then by every value: a total order on the rows' contents, so that sums are
        // formed in the same order whatever order the rows came in (bit-identical fits).
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            let mut o = data.time[a]
                .total_cmp(&data.time[b])
                .then(data.status[a].cmp(&data.status[b]));
            for col in &data.x {
                o = o.then(col[a].total_cmp(&col[b]));
            }
            o
        });
        let time: Vec<f64> = order.iter().map(|&i| data.time[i]).collect();
        let kind: Vec<u8> = order
            .iter()
            .map(|&i| match data.status[i] {
                0 => 0,
                s if s == cause => 1,
                _ => 2,
            })
            .collect();
        let mut x = vec![0.0; n * p];
        for (k, &row) in order.iter().enumerate() {
            for j in 0..p {
                x[k * p + j] = data.x[j][row];
            }
        }
        // Runs of equal times (crr's risk sets use the raw times).
        let mut run = vec![(0, 0); n];
        let mut start = 0;
        while start < n {
            let mut end = start;
            while end < n && time[end] == time[start] {
                end += 1;
            }
            run[start..end].fill((start, end));
            start = end;
        }
        let g_before = censoring_before(&time, &kind);
        Prepared {
            n,
            p,
            time,
            kind,
            x,
            g_before,
            run,
        }
    }

    #[inline]
    fn row(&self, k: usize) -> &[f64] {
        &self.x[k * self.p..(k + 1) * self.p]
    }
}

/// G(t_i−) for each subject (sorted by time) as crr reads it: the censoring Kaplan-Meier
/// `survfit(Surv(ftime, cenind) ~ 1)`, which merges times closer than R's tolerance
/// (`aeqSurv`, `timefix = TRUE`) into the first time of their run (crr's own risk sets keep
/// the raw times), evaluated by `approx(..., method = "constant")` at `t_i (1 − 100 ε)`.
/// At a merged time c, Y(c) = #{t ≥ c} and the censorings whose time merges into c leave
/// after it (survfit: events before censorings at a tie). For t ≤ 0, where crr's
/// `t (1 − 100 ε)` is not before t, the curve is read just before t (documented).
fn censoring_before(time: &[f64], kind: &[u8]) -> Vec<f64> {
    let n = time.len();
    let mut distinct: Vec<f64> = time.iter().copied().filter(|t| t.is_finite()).collect();
    distinct.dedup();
    let reps = near_tie_representatives(&distinct);
    // Each merged time with the factor the censoring curve takes there.
    let mut cuts: Vec<(f64, f64)> = vec![];
    let mut i = 0;
    while i < n {
        if !time[i].is_finite() {
            i += 1;
            continue;
        }
        let cut = reps[distinct.partition_point(|&t| t < time[i])];
        let at_risk = (n - i) as f64;
        let mut censored = 0usize;
        while i < n
            && time[i].is_finite()
            && reps[distinct.partition_point(|&t| t < time[i])] == cut
        {
            censored += usize::from(kind[i] == 0);
            i += 1;
        }
        cuts.push((cut, 1.0 - censored as f64 / at_risk));
    }
    let mut g_before = vec![1.0; n];
    let (mut g, mut next) = (1.0, 0);
    for (k, &t) in time.iter().enumerate() {
        let read_at = if t > 0.0 {
            t * (1.0 - 100.0 * f64::EPSILON)
        } else {
            t
        };
        while next < cuts.len() && (cuts[next].0 < read_at || (t > 0.0 && cuts[next].0 == read_at))
        {
            g *= cuts[next].1;
            next += 1;
        }
        g_before[k] = g;
    }
    g_before
}

/// Σ r, Σ r x, Σ r x x' (lower triangle, row-major; empty when not needed) over a set.
type Moments = (f64, Vec<f64>, Vec<f64>);

/// One distinct failure time of the cause of interest with its risk-set moments.
struct FailureTime {
    /// First subject index of the time's run.
    first: usize,
    /// Failures from the cause at this time.
    d: f64,
    g: f64,
    s0: f64,
    xbar: Vec<f64>,
}

/// Negated pseudo log-likelihood (crr minimises), negated score and information at `beta`;
/// with `moments`, the failure times and their moments for the variance.
struct Pass {
    neg_loglik: f64,
    neg_score: Vec<f64>,
    info: Matrix,
    times: Vec<FailureTime>,
}

fn pass(d: &Prepared, beta: &[f64], second: bool) -> Pass {
    let (n, p) = (d.n, d.p);
    let eta: Vec<f64> = (0..n)
        .map(|k| d.row(k).iter().zip(beta).map(|(x, b)| x * b).sum())
        .collect();
    let risk: Vec<f64> = eta.iter().map(|e| e.exp()).collect();
    // Competing failures before u, weighted e^η / G(t_j−): running sums forward in time.
    // Subjects still under observation (t ≥ u): running sums backward. Both at every run.
    let runs: Vec<(usize, usize)> = {
        let mut v = vec![];
        let mut k = 0;
        while k < n {
            v.push(d.run[k]);
            k = d.run[k].1;
        }
        v
    };
    // Moments of the subjects with t ≥ each failure run's time, from a backward sweep (kept
    // for the failure runs only: O(failure times × p²) memory).
    let mut at_risk: Vec<Option<Moments>> = vec![None; runs.len()];
    {
        let (mut s0, mut s1, mut s2) = (0.0, vec![0.0; p], vec![0.0; p * p]);
        for (r, &(a, b)) in runs.iter().enumerate().rev() {
            for k in a..b {
                add_moments(&mut s0, &mut s1, &mut s2, d.row(k), risk[k], second);
            }
            if (a..b).any(|k| d.kind[k] == 1) {
                at_risk[r] = Some((s0, s1.clone(), if second { s2.clone() } else { vec![] }));
            }
        }
    }
    let mut neg_loglik = 0.0;
    let mut neg_score = vec![0.0; p];
    let mut info = Matrix::zeros(p);
    let mut times = vec![];
    let (mut c0, mut c1, mut c2) = (0.0, vec![0.0; p], vec![0.0; p * p]);
    for (r, &(a, b)) in runs.iter().enumerate() {
        let failures = (a..b).filter(|&k| d.kind[k] == 1).count();
        if failures > 0 {
            let g = d.g_before[a];
            let (r0, r1, r2) = at_risk[r].as_ref().expect("a failure run");
            let s0 = r0 + g * c0;
            let s1: Vec<f64> = (0..p).map(|j| r1[j] + g * c1[j]).collect();
            let xbar: Vec<f64> = s1.iter().map(|v| v / s0).collect();
            let df = failures as f64;
            for k in (a..b).filter(|&k| d.kind[k] == 1) {
                neg_loglik -= eta[k];
                for j in 0..p {
                    neg_score[j] -= d.row(k)[j];
                }
            }
            neg_loglik += df * s0.ln();
            for j in 0..p {
                neg_score[j] += df * xbar[j];
            }
            if second {
                for i in 0..p {
                    for j in 0..=i {
                        let s2 = r2[i * p + j] + g * c2[i * p + j];
                        let v = df * (s2 / s0 - xbar[i] * xbar[j]);
                        info.add(i, j, v);
                        if i != j {
                            info.add(j, i, v);
                        }
                    }
                }
            }
            times.push(FailureTime {
                first: a,
                d: df,
                g,
                s0,
                xbar,
            });
        }
        // Competing failures at this time join the weighted sums for later times.
        for k in (a..b).filter(|&k| d.kind[k] == 2) {
            add_moments(
                &mut c0,
                &mut c1,
                &mut c2,
                d.row(k),
                risk[k] / d.g_before[k],
                second,
            );
        }
    }
    Pass {
        neg_loglik,
        neg_score,
        info,
        times,
    }
}

#[inline]
fn add_moments(s0: &mut f64, s1: &mut [f64], s2: &mut [f64], x: &[f64], r: f64, second: bool) {
    let p = x.len();
    *s0 += r;
    for i in 0..p {
        s1[i] += r * x[i];
        if second {
            for j in 0..=i {
                s2[i * p + j] += r * x[i] * x[j];
            }
        }
    }
}

/// Fits the Fine-Gray model for failures of `cause`, as
/// `crr(time, status, x, failcode = cause, cencode = 0)`.
pub fn fine_gray(data: &FineGrayData, cause: u32, opts: &FineGrayOptions) -> FineGrayFit {
    let d = Prepared::new(data, cause);
    let (n, p) = (d.n, d.p);
    let events = d.kind.iter().filter(|&&k| k == 1).count();
    let null = pass(&d, &vec![0.0; p], false).neg_loglik;
    let mut beta = vec![0.0; p];
    let mut converged = false;
    let mut iterations = 0;
    let mut last = pass(&d, &beta, true);
    if events == 0 {
        return FineGrayFit {
            n,
            events,
            iterations: 0,
            converged: true,
            coef: vec![None; p],
            var: Matrix::zeros(p),
            loglik: -last.neg_loglik,
            loglik_null: -null,
        };
    }
    for ll in 0..=opts.max_iter {
        if ll > 0 {
            last = pass(&d, &beta, true);
        }
        let gradient = (0..p)
            .map(|j| last.neg_score[j].abs() * beta[j].abs().max(1.0))
            .fold(0.0_f64, f64::max);
        if gradient < last.neg_loglik.abs().max(1.0) * opts.gtol {
            converged = true;
            break;
        }
        if ll == opts.max_iter {
            break;
        }
        let chol = Cholesky::new(&last.info, opts.toler_chol);
        let mut step: Vec<f64> = chol.solve(&last.neg_score).iter().map(|s| -s).collect();
        let expected: f64 = step.iter().zip(&last.neg_score).map(|(s, u)| s * u).sum();
        let mut halvings = 0;
        let mut candidate: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
        let mut value = pass(&d, &candidate, false).neg_loglik;
        while value.is_nan() || value > last.neg_loglik + 1e-4 * expected * halving(halvings) {
            halvings += 1;
            if halvings > 20 {
                break;
            }
            step.iter_mut().for_each(|s| *s *= 0.5);
            candidate = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
            value = pass(&d, &candidate, false).neg_loglik;
        }
        iterations += 1;
        if halvings > 20 {
            break;
        }
        beta = candidate;
    }
    let chol = Cholesky::new(&last.info, opts.toler_chol);
    let singular: Vec<bool> = (0..p)
        .map(|i| chol.rank < p && chol.inverse().get(i, i) == 0.0)
        .collect();
    let var = sandwich(&d, &beta, &last, &chol);
    FineGrayFit {
        n,
        events,
        iterations,
        converged,
        coef: (0..p).map(|j| (!singular[j]).then_some(beta[j])).collect(),
        var,
        loglik: -last.neg_loglik,
        loglik_null: -null,
    }
}

/// crr tests `fbn > lik + 1e-4 * sum(sc * s)` with the current (halved) step `sc`: the
/// predicted change halves with the step.
fn halving(halvings: u32) -> f64 {
    0.5_f64.powi(halvings as i32)
}

/// crr's variance `H⁻¹ V H⁻¹` (see the module documentation).
fn sandwich(d: &Prepared, beta: &[f64], at: &Pass, chol: &Cholesky) -> Matrix {
    let (n, p) = (d.n, d.p);
    let times = &at.times;
    let m = times.len();
    let risk: Vec<f64> = (0..n)
        .map(|k| {
            d.row(k)
                .iter()
                .zip(beta)
                .map(|(x, b)| x * b)
                .sum::<f64>()
                .exp()
        })
        .collect();
    // dΛ̂ at each failure time; prefix sums A = Σ dΛ, B = Σ x̄ dΛ over times ≤ t and suffix
    // sums C = Σ G dΛ, D = Σ G x̄ dΛ over times > t (index k: times[k..]).
    let dl: Vec<f64> = times.iter().map(|t| t.d / t.s0).collect();
    let mut pa = vec![0.0; m + 1];
    let mut pb = vec![vec![0.0; p]; m + 1];
    for k in 0..m {
        pa[k + 1] = pa[k] + dl[k];
        for j in 0..p {
            pb[k + 1][j] = pb[k][j] + times[k].xbar[j] * dl[k];
        }
    }
    let mut sc = vec![0.0; m + 1];
    let mut sd = vec![vec![0.0; p]; m + 1];
    for k in (0..m).rev() {
        sc[k] = sc[k + 1] + times[k].g * dl[k];
        for j in 0..p {
            sd[k][j] = sd[k + 1][j] + times[k].g * times[k].xbar[j] * dl[k];
        }
    }
    // The first failure time after each subject's time (index into `times`).
    let first_after = |t: f64| times.partition_point(|ft| d.time[ft.first] <= t);
    // ψ: running over distinct times; E0/E1: competing failures before the time, weighted
    // e^η / G(t_j−); the censoring integral's accumulated part.
    let mut e0 = 0.0;
    let mut e1 = vec![0.0; p];
    let mut psi_acc = vec![0.0; p];
    let mut v2 = Matrix::zeros(p);
    let mut total = vec![0.0; p];
    let mut k = 0;
    while k < n {
        let (a, b) = d.run[k];
        let t = d.time[a];
        let y = (n - a) as f64;
        let censored = (a..b).filter(|&i| d.kind[i] == 0).count() as f64;
        // q(t): failure times at or after t (index from the first ≥ t).
        let from = times.partition_point(|ft| d.time[ft.first] < t);
        let mut q = vec![0.0; p];
        if censored > 0.0 {
            for j in 0..p {
                q[j] = e1[j] * sc[from] - e0 * sd[from][j];
            }
            for j in 0..p {
                psi_acc[j] -= q[j] * censored / (y * y);
            }
        }
        let after = first_after(t);
        for i in a..b {
            let x = d.row(i);
            for j in 0..p {
                // dΛ over failure times ≤ t, weight 1.
                let mut eta_j = -risk[i] * (x[j] * pa[after] - pb[after][j]);
                if d.kind[i] == 1 {
                    // times[from] is this run's failure time.
                    eta_j += x[j] - times[from].xbar[j];
                }
                if d.kind[i] == 2 {
                    // A competing failure stays at risk after t, weight G(u−)/G(t−).
                    eta_j -= risk[i] * (x[j] * sc[after] - sd[after][j]) / d.g_before[i];
                }
                let mut psi = psi_acc[j];
                if d.kind[i] == 0 {
                    psi += q[j] / y;
                }
                total[j] = eta_j + psi;
            }
            for r in 0..p {
                for c in 0..p {
                    v2.add(r, c, total[r] * total[c]);
                }
            }
        }
        // Competing failures at t enter E for later times.
        for i in (a..b).filter(|&i| d.kind[i] == 2) {
            let w = risk[i] / d.g_before[i];
            e0 += w;
            for j in 0..p {
                e1[j] += w * d.row(i)[j];
            }
        }
        k = b;
    }
    let hinv = chol.inverse();
    let mut out = Matrix::zeros(p);
    for r in 0..p {
        for c in 0..p {
            let mut s = 0.0;
            for a in 0..p {
                for b in 0..p {
                    s += hinv.get(r, a) * v2.get(a, b) * hinv.get(b, c);
                }
            }
            out.set(r, c, s);
        }
    }
    out
}

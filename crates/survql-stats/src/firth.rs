//! Firth's penalised Cox regression (Heinze & Schemper 2001; SAS PHREG `FIRTH`, R `coxphf`,
//! Python `firthmodels`), which gives finite estimates under monotone likelihood (separation).
//!
//! The penalised log partial likelihood is `l*(β) = l(β) + ½ log det I(β)` (Breslow ties), with
//! the modified score `U*_t = U_t + ½ tr(I⁻¹ ∂I/∂β_t)`. At each event time with d deaths and
//! risk-set moments S0, S1, S2 (x̄ = S1/S0, V = S2/S0 − x̄x̄'), `∂I/∂β_t` contracted with `I⁻¹`
//! is `d [A_t/S0 − B S1_t/S0² − 2 (V I⁻¹ x̄)_t]` with `h_i = x_i' I⁻¹ x_i`,
//! `A = Σ_risk r_i x_i h_i` and `B = Σ_risk r_i h_i` (the third moments never formed, as
//! `firthmodels` computes them). Newton-Raphson with the information as the Hessian and step
//! halving on `l*`, to `max |U*| < 1e-9`; standard errors `sqrt(diag I⁻¹)` at the estimate, z
//! and p Wald as `firthmodels`' `bse_`, `pvalues_`; the confidence limits are profile
//! penalised-likelihood limits: the β_j with `2 (l*(β̂) − max_{β_-j} l*(β_j, β_-j))` equal to
//! the χ²₁ quantile.

use crate::cox::{CoxData, Ties};
use crate::distributions::{qnorm, two_sided_normal_p};
use crate::linalg::{Cholesky, Matrix};

/// The penalised likelihood and its derivatives at one β.
struct Penalised {
    loglik: f64,
    score: Vec<f64>,
    info: Matrix,
}

/// Rows in decreasing time order within strata, covariates row-major.
struct Rows {
    p: usize,
    x: Vec<f64>,
    stop: Vec<f64>,
    event: Vec<bool>,
    strata: Vec<(usize, usize)>,
}

impl Rows {
    fn new(data: &CoxData) -> Rows {
        let n = data.n();
        let p = data.nvar();
        let (stop, _) = crate::cox::merged_times(data);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            data.strata[a]
                .cmp(&data.strata[b])
                .then(stop[b].total_cmp(&stop[a]))
                .then(data.event[a].cmp(&data.event[b]))
                .then(a.cmp(&b))
        });
        let mut x = vec![0.0; n * p];
        for (k, &r) in order.iter().enumerate() {
            for j in 0..p {
                x[k * p + j] = data.x[j][r];
            }
        }
        let mut strata = vec![];
        let mut k = 0;
        while k < n {
            let s = data.strata[order[k]];
            let mut e = k;
            while e < n && data.strata[order[e]] == s {
                e += 1;
            }
            strata.push((k, e));
            k = e;
        }
        Rows {
            p,
            x,
            stop: order.iter().map(|&r| stop[r]).collect(),
            event: order.iter().map(|&r| data.event[r]).collect(),
            strata,
        }
    }

    fn row(&self, k: usize) -> &[f64] {
        &self.x[k * self.p..(k + 1) * self.p]
    }
}

/// l*, U* and I at `beta`; `None` when I is singular (no penalty defined).
fn penalised(rows: &Rows, beta: &[f64]) -> Option<Penalised> {
    let p = rows.p;
    let n = rows.stop.len();
    let eta: Vec<f64> = (0..n)
        .map(|k| rows.row(k).iter().zip(beta).map(|(x, b)| x * b).sum())
        .collect();
    // exp(η − max η): ratios are unchanged, log S0 gets the shift back.
    let shift = eta.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let risk: Vec<f64> = eta.iter().map(|e| (e - shift).exp()).collect();
    // Pass 1: l, U, I (Breslow) and, per event block, (d, S0, x̄, V) for pass 2.
    struct Block {
        d: f64,
        s0: f64,
        s1: Vec<f64>,
        xbar: Vec<f64>,
        v: Vec<f64>,
        end: usize,
    }
    let mut loglik = 0.0;
    let mut u = vec![0.0; p];
    let mut info = Matrix::zeros(p);
    let mut blocks: Vec<Block> = vec![];
    for &(lo, hi) in &rows.strata {
        let (mut s0, mut s1, mut s2) = (0.0, vec![0.0; p], vec![0.0; p * p]);
        let mut k = lo;
        while k < hi {
            let t = rows.stop[k];
            let mut d = 0.0;
            while k < hi && rows.stop[k] == t {
                let x = rows.row(k);
                let r = risk[k];
                s0 += r;
                for i in 0..p {
                    s1[i] += r * x[i];
                    for j in 0..p {
                        s2[i * p + j] += r * x[i] * x[j];
                    }
                }
                if rows.event[k] {
                    d += 1.0;
                    loglik += eta[k];
                    for i in 0..p {
                        u[i] += x[i];
                    }
                }
                k += 1;
            }
            if d == 0.0 {
                continue;
            }
            loglik -= d * (s0.ln() + shift);
            let xbar: Vec<f64> = s1.iter().map(|v| v / s0).collect();
            let mut v = vec![0.0; p * p];
            for i in 0..p {
                u[i] -= d * xbar[i];
                for j in 0..p {
                    v[i * p + j] = s2[i * p + j] / s0 - xbar[i] * xbar[j];
                    info.add(i, j, d * v[i * p + j]);
                }
            }
            blocks.push(Block {
                d,
                s0,
                s1: s1.clone(),
                xbar,
                v,
                end: k,
            });
        }
    }
    let chol = Cholesky::new(&info, 1e-12);
    if chol.rank < p {
        return None;
    }
    let inv = chol.inverse();
    let logdet: f64 = log_det(&info)?;
    // Pass 2: A = Σ r x h and B = Σ r h over each block's risk set.
    let h: Vec<f64> = (0..n)
        .map(|k| {
            let x = rows.row(k);
            (0..p)
                .map(|i| (0..p).map(|j| x[i] * inv.get(i, j) * x[j]).sum::<f64>())
                .sum()
        })
        .collect();
    let mut correction = vec![0.0; p];
    let mut b_iter = blocks.iter().peekable();
    for &(lo, hi) in &rows.strata {
        let (mut a, mut b) = (vec![0.0; p], 0.0);
        for k in lo..hi {
            let x = rows.row(k);
            let w = risk[k] * h[k];
            b += w;
            for i in 0..p {
                a[i] += w * x[i];
            }
            while let Some(block) = b_iter.peek() {
                if block.end != k + 1 {
                    break;
                }
                let ix: Vec<f64> = (0..p)
                    .map(|i| (0..p).map(|j| inv.get(i, j) * block.xbar[j]).sum())
                    .collect();
                for t in 0..p {
                    let term1 = a[t] / block.s0 - b * block.s1[t] / (block.s0 * block.s0);
                    let term23: f64 = (0..p).map(|r| block.v[r * p + t] * ix[r]).sum();
                    correction[t] += 0.5 * block.d * (term1 - 2.0 * term23);
                }
                b_iter.next();
            }
        }
    }
    let score = u.iter().zip(&correction).map(|(a, b)| a + b).collect();
    Some(Penalised {
        loglik: loglik + 0.5 * logdet,
        score,
        info,
    })
}

/// log det of a symmetric positive definite matrix (Cholesky), `None` if it is not.
fn log_det(m: &Matrix) -> Option<f64> {
    let n = m.n;
    let mut l = vec![0.0; n * n];
    let mut sum = 0.0;
    for i in 0..n {
        for j in 0..=i {
            let mut s = m.get(i, j);
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
                sum += s.ln();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(sum)
}

/// Maximises l* over the coefficients not in `fixed` (their values given), from `start`.
/// Returns (β, l*, iterations, converged).
fn maximise(
    rows: &Rows,
    start: &[f64],
    fixed: Option<usize>,
    max_iter: usize,
) -> Option<(Vec<f64>, Penalised, usize, bool)> {
    let p = rows.p;
    let free: Vec<usize> = (0..p).filter(|&j| Some(j) != fixed).collect();
    let mut beta = start.to_vec();
    let mut at = penalised(rows, &beta)?;
    for iter in 1..=max_iter {
        let g: Vec<f64> = free.iter().map(|&j| at.score[j]).collect();
        if g.iter().all(|v| v.abs() < 1e-9) {
            return Some((beta, at, iter - 1, true));
        }
        let sub = at.info.select(&free);
        let mut step = Cholesky::new(&sub, 1e-12).solve(&g);
        // Steps of at most 5 per coefficient (firthmodels' max_step), then halving on l*.
        let largest = step.iter().fold(0.0_f64, |m, s| m.max(s.abs()));
        if largest > 5.0 {
            step.iter_mut().for_each(|s| *s *= 5.0 / largest);
        }
        let mut accepted = None;
        for _ in 0..30 {
            let mut candidate = beta.clone();
            for (k, &j) in free.iter().enumerate() {
                candidate[j] += step[k];
            }
            if let Some(next) = penalised(rows, &candidate) {
                if next.loglik >= at.loglik - 1e-12 * at.loglik.abs() {
                    accepted = Some((candidate, next));
                    break;
                }
            }
            step.iter_mut().for_each(|s| *s *= 0.5);
        }
        let (candidate, next) = accepted?;
        let moved = candidate
            .iter()
            .zip(&beta)
            .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
        beta = candidate;
        at = next;
        if moved < 1e-12 {
            return Some((beta, at, iter, true));
        }
    }
    let converged = free.iter().all(|&j| at.score[j].abs() < 1e-6);
    Some((beta, at, max_iter, converged))
}

/// A Firth fit: coefficients, `sqrt(diag I⁻¹)`, Wald z and p, profile-likelihood limits of
/// exp(coef), penalised log-likelihoods at the estimate and at β = 0, iterations.
#[derive(Debug, Clone)]
pub struct FirthFit {
    pub coef: Vec<f64>,
    pub se: Vec<f64>,
    pub z: Vec<f64>,
    pub p_value: Vec<f64>,
    /// Profile penalised-likelihood limits of exp(coef); `None` where the profile does not
    /// reach the cut-off (an infinite limit).
    pub lower: Vec<Option<f64>>,
    pub upper: Vec<Option<f64>>,
    pub loglik: f64,
    pub loglik_null: f64,
    /// `b' I b` at the estimate.
    pub wald: f64,
    pub iterations: usize,
    pub converged: bool,
    pub var: Matrix,
}

/// Fits Firth's penalised Cox model (Breslow ties) on `data` (`data.weights` must be `None`).
/// `None` when the information matrix is singular at β = 0 (e.g. a constant covariate).
pub fn firth_fit(data: &CoxData, conf_level: f64, max_iter: usize) -> Option<FirthFit> {
    let rows = Rows::new(data);
    let p = rows.p;
    let null = penalised(&rows, &vec![0.0; p])?;
    let (beta, at, iterations, converged) = maximise(&rows, &vec![0.0; p], None, max_iter)?;
    let var = Cholesky::new(&at.info, 1e-12).inverse();
    let se: Vec<f64> = (0..p).map(|j| var.get(j, j).sqrt()).collect();
    let z: Vec<f64> = (0..p).map(|j| beta[j] / se[j]).collect();
    let p_value = z.iter().map(|&z| two_sided_normal_p(z)).collect();
    let wald = (0..p)
        .map(|i| {
            (0..p)
                .map(|j| beta[i] * at.info.get(i, j) * beta[j])
                .sum::<f64>()
        })
        .sum();
    // The χ²₁ quantile: qnorm(1 − α/2)².
    let q = qnorm(1.0 - (1.0 - conf_level) / 2.0).powi(2);
    let mut lower = vec![None; p];
    let mut upper = vec![None; p];
    for j in 0..p {
        for (side, out) in [(-1.0, &mut lower), (1.0, &mut upper)] {
            out[j] =
                profile_limit(&rows, &beta, at.loglik, j, side, se[j], q, max_iter).map(f64::exp);
        }
    }
    Some(FirthFit {
        coef: beta,
        se,
        z,
        p_value,
        lower,
        upper,
        loglik: at.loglik,
        loglik_null: null.loglik,
        wald,
        iterations,
        converged,
        var,
    })
}

/// The β_j on `side` of the estimate where the profile deviance
/// `2 (l*max − l*_profile(β_j))` reaches `q`: bracketed by doubling steps from the estimate,
/// then the Illinois method to 1e-10. `None` if no bracket within 2⁴⁰ standard errors.
#[allow(clippy::too_many_arguments)]
fn profile_limit(
    rows: &Rows,
    beta: &[f64],
    lmax: f64,
    j: usize,
    side: f64,
    se: f64,
    q: f64,
    max_iter: usize,
) -> Option<f64> {
    let mut warm = beta.to_vec();
    let deviance = |b: f64, warm: &mut Vec<f64>| -> Option<f64> {
        let mut start = warm.clone();
        start[j] = b;
        let (fit, at, _, _) = maximise(rows, &start, Some(j), max_iter.max(50))?;
        *warm = fit;
        Some(2.0 * (lmax - at.loglik) - q)
    };
    let step0 = if se.is_finite() && se > 0.0 { se } else { 1.0 };
    // f(estimate) = -q < 0; find b with f(b) > 0 by doubling steps.
    let (mut inside, mut f_in) = (beta[j], -q);
    let mut bracket = None;
    let mut step = 2.0 * step0;
    for _ in 0..40 {
        let b = beta[j] + side * step;
        let f = deviance(b, &mut warm)?;
        if f > 0.0 {
            bracket = Some((b, f));
            break;
        }
        (inside, f_in) = (b, f);
        step *= 2.0;
    }
    let (mut outside, mut f_out) = bracket?;
    // The Illinois variant of regula falsi: superlinear, and the bracket always holds.
    let mut last_side = 0;
    for _ in 0..100 {
        if (outside - inside).abs() <= 1e-10 * (1.0 + inside.abs()) {
            break;
        }
        let b = inside - f_in * (outside - inside) / (f_out - f_in);
        let f = deviance(b, &mut warm)?;
        if f == 0.0 {
            return Some(b);
        }
        if f > 0.0 {
            (outside, f_out) = (b, f);
            if last_side == 1 {
                f_in /= 2.0;
            }
            last_side = 1;
        } else {
            (inside, f_in) = (b, f);
            if last_side == -1 {
                f_out /= 2.0;
            }
            last_side = -1;
        }
        if f.abs() < 1e-11 {
            return Some(b);
        }
    }
    Some(if f_in.abs() < f_out.abs() {
        inside
    } else {
        outside
    })
}

/// The ties Firth's model uses (the penalty is defined for Breslow's partial likelihood, as
/// `coxphf` and `firthmodels` use it).
pub const FIRTH_TIES: Ties = Ties::Breslow;

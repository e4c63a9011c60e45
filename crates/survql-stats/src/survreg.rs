//! Parametric (accelerated failure time) survival regression, as R's `survreg` (survival
//! 3.5-3) for right-censored data.
//!
//! The model is `g(T) = x'β + σ W`, with `g = log` for the Weibull, exponential, log-normal and
//! log-logistic distributions (W extreme-value, extreme-value with σ = 1, normal, logistic)
//! and `g` the identity for the Gaussian and logistic ones. With `z_i = (g(t_i) − x_i'β)/σ`
//! the log-likelihood is
//!
//! ```text
//! l = Σ_events (log f(z_i) − log σ) + Σ_censored log S(z_i)  −  Σ_events log g'(t_i)⁻¹
//! ```
//!
//! (the last term, `Σ_events log t_i` for the log-transformed distributions, puts `l` on the
//! scale of T, as R's `fit$loglik`). It is maximised over (β, log σ) by Newton-Raphson with
//! step halving, from least-squares starting values, to R's convergence criterion
//! (|1 − l_old / l_new| ≤ 1e-9); the variance is the inverse of the observed information in
//! (β, log σ), R's `fit$var`. `loglik_null` is the same model with the intercept alone (R's
//! `fit$loglik[1]`), and the likelihood-ratio chi-square compares the two.

use crate::distributions::{pchisq_upper, two_sided_normal_p, z_for_level};
use crate::linalg::{Cholesky, Matrix};

/// The error distribution (R's `dist =`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dist {
    Weibull,
    Exponential,
    LogNormal,
    LogLogistic,
    Gaussian,
    Logistic,
}

impl Dist {
    pub fn parse(s: &str) -> Option<Dist> {
        Some(match s {
            "weibull" => Dist::Weibull,
            "exponential" => Dist::Exponential,
            "lognormal" => Dist::LogNormal,
            "loglogistic" => Dist::LogLogistic,
            "gaussian" => Dist::Gaussian,
            "logistic" => Dist::Logistic,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Dist::Weibull => "weibull",
            Dist::Exponential => "exponential",
            Dist::LogNormal => "lognormal",
            Dist::LogLogistic => "loglogistic",
            Dist::Gaussian => "gaussian",
            Dist::Logistic => "logistic",
        }
    }

    /// Times are modelled on the log scale.
    pub fn log_time(self) -> bool {
        !matches!(self, Dist::Gaussian | Dist::Logistic)
    }

    /// The scale is fixed at 1 (R's exponential: a Weibull with scale 1).
    fn fixed_scale(self) -> bool {
        self == Dist::Exponential
    }

    /// log f(w) or log S(w) of the standard error distribution with their first two
    /// derivatives in w.
    fn log_density(self, w: f64, event: bool) -> [f64; 3] {
        match self {
            Dist::Weibull | Dist::Exponential => {
                // Extreme value (minimum): S = exp(-e^w), f = e^w S.
                let ew = w.exp();
                if event {
                    [w - ew, 1.0 - ew, -ew]
                } else {
                    [-ew, -ew, -ew]
                }
            }
            Dist::LogLogistic | Dist::Logistic => {
                // F = 1 / (1 + e^-w); f = F (1 - F).
                let f_cdf = logistic(w);
                if event {
                    // log f = w - 2 log(1 + e^w), written stably.
                    let lf = -w.abs() - 2.0 * (-w.abs()).exp().ln_1p();
                    [lf, 1.0 - 2.0 * f_cdf, -2.0 * f_cdf * (1.0 - f_cdf)]
                } else {
                    // log S = -log(1 + e^w).
                    let ls = -(w.max(0.0) + (-w.abs()).exp().ln_1p());
                    [ls, -f_cdf, -f_cdf * (1.0 - f_cdf)]
                }
            }
            Dist::LogNormal | Dist::Gaussian => {
                if event {
                    [
                        -0.5 * w * w - 0.5 * (2.0 * std::f64::consts::PI).ln(),
                        -w,
                        -1.0,
                    ]
                } else {
                    // log S = log Φ(-w); its derivative is minus the inverse Mills ratio.
                    let ls = log_pnorm_upper(w);
                    let lambda = (log_dnorm(w) - ls).exp();
                    [ls, -lambda, -lambda * (lambda - w)]
                }
            }
        }
    }
}

/// log φ(w).
fn log_dnorm(w: f64) -> f64 {
    -0.5 * w * w - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// log(1 − Φ(w)), accurate in the far tail (Mills' ratio series past w = 30, where the
/// tail underflows).
fn log_pnorm_upper(w: f64) -> f64 {
    if w < 30.0 {
        crate::distributions::pnorm_upper(w).ln()
    } else {
        let w2 = w * w;
        log_dnorm(w) - w.ln() + (1.0 - 1.0 / w2 + 3.0 / (w2 * w2) - 15.0 / (w2 * w2 * w2)).ln()
    }
}

fn logistic(w: f64) -> f64 {
    if w >= 0.0 {
        1.0 / (1.0 + (-w).exp())
    } else {
        let e = w.exp();
        e / (1.0 + e)
    }
}

/// Fitting options (R's `survreg.control`).
#[derive(Debug, Clone, Copy)]
pub struct SurvregOptions {
    pub dist: Dist,
    pub max_iter: usize,
    /// Relative change of the log-likelihood at convergence (R's `rel.tolerance`).
    pub eps: f64,
    pub toler_chol: f64,
    pub conf_level: f64,
}

impl Default for SurvregOptions {
    fn default() -> Self {
        SurvregOptions {
            dist: Dist::Weibull,
            max_iter: 30,
            eps: 1e-9,
            toler_chol: 1e-10,
            conf_level: 0.95,
        }
    }
}

/// One coefficient of `summary(survreg)`'s table (with `confint` limits).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurvregTerm {
    pub coef: Option<f64>,
    pub se: Option<f64>,
    pub z: Option<f64>,
    pub p_value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A fitted model.
#[derive(Debug, Clone)]
pub struct SurvregFit {
    pub n: usize,
    pub events: usize,
    pub dist: Dist,
    /// σ (1 for the exponential).
    pub scale: f64,
    /// Standard error of log σ (`None` for the exponential).
    pub log_scale_se: Option<f64>,
    /// With strata: σ of each stratum (`scale` is the first), R's `fit$scale`.
    pub scales: Vec<f64>,
    /// With strata: the standard error of each stratum's log σ.
    pub log_scale_ses: Vec<Option<f64>>,
    pub loglik: f64,
    /// The intercept-only model's log-likelihood.
    pub loglik_null: f64,
    pub chisq: f64,
    pub df: usize,
    pub p_value: Option<f64>,
    pub iterations: usize,
    pub converged: bool,
    pub warning: Option<String>,
    /// `(Intercept)` first, then the covariates' coefficients.
    pub terms: Vec<SurvregTerm>,
    /// The variance of (β, log σ) (R's `fit$var`).
    pub var: Matrix,
}

/// R's `strata()` term of `survreg`: one scale per stratum (the coefficients are shared).
struct Strata<'a> {
    /// Stratum of each row, 0..count (empty: one stratum).
    ids: &'a [u32],
    count: usize,
}

impl Strata<'_> {
    #[inline]
    fn of(&self, i: usize) -> usize {
        self.ids.get(i).map_or(0, |&s| s as usize)
    }
}

/// The log-likelihood on the transformed scale, its score and information (minus the
/// Hessian) in (β, log σ_1, ..., log σ_K), at `theta`: R's `survregc1` for exact and
/// right-censored rows.
struct Evaluation {
    loglik: f64,
    score: Vec<f64>,
    info: Matrix,
}

/// The rows of one fit: design (intercept first), transformed times, events, strata.
struct Design<'a> {
    x: &'a [Vec<f64>],
    y: &'a [f64],
    event: &'a [bool],
    strata: &'a Strata<'a>,
    dist: Dist,
}

impl Design<'_> {
    fn p(&self) -> usize {
        self.x.len()
    }

    /// Number of parameters: β and one log σ per stratum (none for a fixed scale).
    fn k(&self) -> usize {
        self.p()
            + if self.dist.fixed_scale() {
                0
            } else {
                self.strata.count
            }
    }

    /// Row i's derivatives of its log-likelihood term: (term, d/dη, d/dlog σ, d²/dη²,
    /// d²/dη dlog σ, d²/dlog σ², index of its log σ).
    #[inline]
    fn row(&self, theta: &[f64], i: usize) -> [f64; 6] {
        let p = self.p();
        let tau = if self.dist.fixed_scale() {
            0.0
        } else {
            theta[p + self.strata.of(i)]
        };
        let sigma = tau.exp();
        let eta: f64 = (0..p).map(|a| self.x[a][i] * theta[a]).sum();
        let z = (self.y[i] - eta) / sigma;
        let [g, g1, g2] = self.dist.log_density(z, self.event[i]);
        let d = f64::from(u8::from(self.event[i]));
        [
            g - d * tau,
            -g1 / sigma,
            -g1 * z - d,
            g2 / (sigma * sigma),
            (g2 * z + g1) / sigma,
            g2 * z * z + g1 * z,
        ]
    }

    /// The log-likelihood alone (R's `whichcase = 1`).
    fn loglik(&self, theta: &[f64]) -> f64 {
        (0..self.y.len()).map(|i| self.row(theta, i)[0]).sum()
    }

    fn evaluate(&self, theta: &[f64]) -> Evaluation {
        let (p, k) = (self.p(), self.k());
        let fixed = self.dist.fixed_scale();
        let mut loglik = 0.0;
        let mut score = vec![0.0; k];
        let mut hess = Matrix::zeros(k);
        for i in 0..self.y.len() {
            let at = p + self.strata.of(i);
            let [g, d_eta, d_tau, h_ee, h_et, h_tt] = self.row(theta, i);
            loglik += g;
            for a in 0..p {
                score[a] += d_eta * self.x[a][i];
                for b in 0..=a {
                    hess.add(a, b, h_ee * self.x[a][i] * self.x[b][i]);
                }
                if !fixed {
                    hess.add(at, a, h_et * self.x[a][i]);
                }
            }
            if !fixed {
                score[at] += d_tau;
                hess.add(at, at, h_tt);
            }
        }
        Evaluation {
            loglik,
            score,
            info: symmetric(&hess, -1.0),
        }
    }

    /// J'J, the sum of the rows' outer products of their scores: R's fallback matrix `JJ`
    /// when the information is not positive definite (always non-negative definite).
    fn outer_product(&self, theta: &[f64]) -> Matrix {
        let (p, k) = (self.p(), self.k());
        let fixed = self.dist.fixed_scale();
        let mut jj = Matrix::zeros(k);
        let mut s = vec![0.0; k];
        for i in 0..self.y.len() {
            let at = p + self.strata.of(i);
            let [_, d_eta, d_tau, ..] = self.row(theta, i);
            s.fill(0.0);
            for a in 0..p {
                s[a] = d_eta * self.x[a][i];
            }
            if !fixed {
                s[at] = d_tau;
            }
            for a in 0..k {
                for b in 0..=a {
                    jj.add(a, b, s[a] * s[b]);
                }
            }
        }
        symmetric(&jj, 1.0)
    }

    /// The Newton step from `theta`: information⁻¹ score, or (J'J)⁻¹ score when the
    /// information is not non-negative definite (R's `cholesky3` flag < 0); both factorised
    /// as `cholesky3`, whose tolerance is not `cholesky2`'s.
    fn newton_step(&self, theta: &[f64], at: &Evaluation, toler: f64) -> Vec<f64> {
        let chol = Cholesky::new_cholesky3(&at.info, toler);
        if chol.non_negative {
            chol.solve(&at.score)
        } else {
            Cholesky::new_cholesky3(&self.outer_product(theta), toler).solve(&at.score)
        }
    }
}

/// The full symmetric matrix of `sign ×` a lower triangle.
fn symmetric(lower: &Matrix, sign: f64) -> Matrix {
    let mut m = Matrix::zeros(lower.n);
    for a in 0..lower.n {
        for b in 0..=a {
            let v = sign * lower.get(a, b);
            m.set(a, b, v);
            m.set(b, a, v);
        }
    }
    m
}

/// What R's `survreg6` returns: the parameters, the log-likelihood it reports (on the
/// transformed scale), the information at the parameters, iterations and convergence.
struct Newton {
    theta: Vec<f64>,
    loglik: f64,
    info: Matrix,
    iterations: usize,
    converged: bool,
}

/// Newton-Raphson from `init`, step for step R's `survreg6` (survival 3.5-3, the version
/// the references come from; later versions changed the back-off):
///
/// - the step solves information · u = score, or J'J · u = score when the information is
///   not non-negative definite (so a log σ whose curvature is wrong still moves);
/// - convergence is `|1 − l_old/l_new| ≤ eps` after a full Newton step only, never right
///   after a step was halved;
/// - a step that lowers the log-likelihood (or gives a non-finite one) is halved toward the
///   last good point, up to five times an iteration; at the first halving after a full
///   step no log σ may fall more than 1.1 below its last good value;
/// - out of iterations, the last point tried is kept with its log-likelihood.
///
/// One deliberate difference: a NaN log-likelihood is halved away from as an infinite one is
/// (3.5-3 compares NaN with `<`, never halves and stays there; survival 3.7 fixed this).
fn survreg6(design: &Design, init: Vec<f64>, max_iter: usize, eps: f64, toler: f64) -> Newton {
    let k = design.k();
    let p = design.p();
    let scales = k - p;
    let mut beta = init;
    let first = design.evaluate(&beta);
    let mut loglik = first.loglik;
    let u = design.newton_step(&beta, &first, toler);
    if max_iter == 0 {
        return Newton {
            theta: beta,
            loglik,
            info: first.info,
            iterations: 0,
            converged: false,
        };
    }
    let mut new_beta: Vec<f64> = beta.iter().zip(&u).map(|(b, s)| b + s).collect();
    let mut new = design.evaluate(&new_beta);
    let mut halving = 0usize;
    // Below the last accepted log-likelihood, or not a number.
    let worse = |l: f64, than: f64| !l.is_finite() || l < than;
    for iter in 1..=max_iter {
        if new.loglik.is_finite() && (1.0 - loglik / new.loglik).abs() <= eps && halving == 0 {
            return Newton {
                theta: new_beta,
                loglik: new.loglik,
                info: new.info,
                iterations: iter,
                converged: true,
            };
        }
        if worse(new.loglik, loglik) {
            let mut tried = new.loglik;
            for _ in 0..5 {
                if !worse(tried, loglik) {
                    break;
                }
                halving += 1;
                for (nb, b) in new_beta.iter_mut().zip(&beta) {
                    *nb = (*nb + b) / 2.0;
                }
                if halving == 1 {
                    for s in p..p + scales {
                        if beta[s] - new_beta[s] > 1.1 {
                            new_beta[s] = beta[s] - 1.1;
                        }
                    }
                }
                tried = design.loglik(&new_beta);
            }
        } else {
            halving = 0;
            loglik = new.loglik;
            let u = design.newton_step(&new_beta, &new, toler);
            beta.clone_from(&new_beta);
            for (nb, s) in new_beta.iter_mut().zip(&u) {
                *nb += s;
            }
        }
        new = design.evaluate(&new_beta);
    }
    Newton {
        theta: new_beta,
        loglik: new.loglik,
        info: new.info,
        iterations: max_iter,
        converged: false,
    }
}

/// The first five columns of R's `survreg.distributions[[d]]$density(z)`: F, S, f, f'/f,
/// f''/f of the standard error distribution.
fn density_summary(dist: Dist, z: f64) -> [f64; 5] {
    match dist {
        Dist::Weibull | Dist::Exponential => {
            let w = z.exp();
            let ww = (-w).exp();
            [1.0 - ww, ww, w * ww, 1.0 - w, w * (w - 3.0) + 1.0]
        }
        Dist::LogLogistic | Dist::Logistic => {
            let w = z.exp();
            [
                w / (1.0 + w),
                1.0 / (1.0 + w),
                w / (1.0 + w).powi(2),
                (1.0 - w) / (1.0 + w),
                (w * (w - 4.0) + 1.0) / (1.0 + w).powi(2),
            ]
        }
        Dist::LogNormal | Dist::Gaussian => [
            crate::distributions::pnorm_upper(-z),
            crate::distributions::pnorm_upper(z),
            log_dnorm(z).exp(),
            -z,
            z * z - 1.0,
        ],
    }
}

/// R's `survreg.fit` `derfun` at η = y (where both of its calls evaluate it: z = 0): the
/// first derivative of each row's log-likelihood in η and the second minus the first squared,
/// for exact and right-censored rows with scale `sigma[i]`.
fn glim_derivatives(dist: Dist, event: &[bool], sigma: &[f64]) -> Vec<[f64; 2]> {
    let [_, s, f, f1, f2] = density_summary(dist, 0.0);
    (0..event.len())
        .map(|i| {
            let tdenom = 1.0 / (if event[i] { 1.0 } else { s } * sigma[i]);
            let dg = -tdenom * if event[i] { f1 } else { -f };
            let ddg = (tdenom / sigma[i]) * if event[i] { f2 } else { -(f * f1) };
            [dg, ddg - dg * dg]
        })
        .collect()
}

/// R's `sd$init(y)`: the location and the variance of the error distribution from the mean
/// and variance of y.
fn init_location_variance(dist: Dist, y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let var = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    match dist {
        Dist::Weibull | Dist::Exponential => (mean + 0.572, var / 1.64),
        Dist::LogLogistic | Dist::Logistic => (mean, var / 3.2),
        Dist::LogNormal | Dist::Gaussian => (mean, var),
    }
}

/// Fits `survreg(Surv(time, event) ~ x1 + ..., dist = opts.dist)`; `x` are the covariate
/// columns (an intercept is added first). With `strata` (each row's stratum, numbered from 0)
/// it is `survreg(Surv(time, event) ~ x1 + ... + strata(s))`: one scale σ_s per stratum, the
/// parameters (β, log σ_1, ..., log σ_K); the null model keeps the strata's scales.
///
/// # Errors
/// When a time is not positive for a log-scale distribution (R: "Invalid survival times for
/// this distribution"); strata with the exponential distribution, whose scale is fixed (R:
/// "The scale argument is not valid with multiple strata").
pub fn survreg(
    time: &[f64],
    event: &[bool],
    x: &[Vec<f64>],
    strata: Option<&[u32]>,
    opts: &SurvregOptions,
) -> Result<SurvregFit, String> {
    let n = time.len();
    let dist = opts.dist;
    let strata = Strata {
        ids: strata.unwrap_or(&[]),
        count: strata.map_or(1, |s| s.iter().max().map_or(1, |&m| m as usize + 1)),
    };
    if dist.fixed_scale() && strata.count > 1 {
        return Err(format!(
            "the {} distribution has its scale fixed at 1: it cannot have one scale per stratum",
            dist.name()
        ));
    }
    if dist.log_time() {
        if let Some(t) = time.iter().find(|&&t| t <= 0.0) {
            return Err(format!(
                "time must be > 0 for the {} distribution (it models log time), found {t}",
                dist.name()
            ));
        }
    }
    let y: Vec<f64> = if dist.log_time() {
        time.iter().map(|t| t.ln()).collect()
    } else {
        time.to_vec()
    };
    let events = event.iter().filter(|&&e| e).count();
    // The Jacobian of the transform: R's loglik is on the scale of T.
    let correction: f64 = if dist.log_time() {
        -(0..n).filter(|&i| event[i]).map(|i| y[i]).sum::<f64>()
    } else {
        0.0
    };
    let fixed = dist.fixed_scale();
    let scales = if fixed { 0 } else { strata.count };
    // R rescales the covariates that are not all 0/1 to mean 0, standard deviation 1 for the
    // iteration (and maps the estimates back), which changes the path, so we do too. A
    // constant column (R: NaN, then an error) is left as it is: the fit aliases it.
    let mut center = vec![0.0; x.len() + 1];
    let mut stdev = vec![1.0; x.len() + 1];
    let mut design = vec![vec![1.0; n]];
    for (j, col) in x.iter().enumerate() {
        let binary = col.iter().all(|&v| v == 0.0 || v == 1.0);
        let mean = col.iter().sum::<f64>() / n as f64;
        let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
        if binary || !(sd.is_finite() && sd > 0.0) {
            design.push(col.clone());
        } else {
            center[j + 1] = mean;
            stdev[j + 1] = sd;
            design.push(col.iter().map(|v| (v - mean) / sd).collect());
        }
    }
    let p = design.len();
    let k = p + scales;
    let full = Design {
        x: &design,
        y: &y,
        event,
        strata: &strata,
        dist,
    };
    let null = Design {
        x: &design[..1],
        y: &y,
        event,
        strata: &strata,
        dist,
    };
    // R overwrites the location with the glim value below: only the variance is used.
    let (_, variance) = init_location_variance(dist, &y);
    // R's start for the scale: log(2 sd) ("a small σ gets into trouble, a large one never").
    // With no rows or every time equal R stops ("initial iteration failed"); we start from
    // σ = 1 instead and let the degenerate fit come out as NULLs with a warning.
    let start_log_scale = match (4.0 * variance).ln() / 2.0 {
        _ if fixed => 0.0,
        v if v.is_finite() => v,
        _ => 0.0,
    };
    let row_sigmas = |log_scales: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| log_scales.get(strata.of(i)).map_or(1.0, |t| t.exp()))
            .collect()
    };
    let meanonly = p == 1;
    // The intercept-only fit (R's fit0, at most 20 iterations): the null log-likelihood and
    // the scales the full fit starts from.
    let fit0 = (!meanonly).then(|| {
        let log_scales = vec![start_log_scale; scales];
        let deriv = glim_derivatives(dist, event, &row_sigmas(&log_scales));
        let wt_sum: f64 = deriv.iter().map(|d| -d[1]).sum();
        let intercept = (0..n)
            .map(|i| deriv[i][0] - deriv[i][1] * y[i])
            .sum::<f64>()
            / wt_sum;
        let mut init = vec![intercept];
        init.extend(&log_scales);
        survreg6(&null, init, 20, opts.eps, opts.toler_chol)
    });
    let log_scales: Vec<f64> = match &fit0 {
        Some(f0) if f0.theta.iter().all(|t| t.is_finite()) => f0.theta[1..].to_vec(),
        _ => vec![start_log_scale; scales],
    };
    // R's "glim" start: one weighted least-squares step at η = y.
    let deriv = glim_derivatives(dist, event, &row_sigmas(&log_scales));
    let mut xtwx = Matrix::zeros(p);
    let mut xtz = vec![0.0; p];
    for i in 0..n {
        let [dg, ddg] = deriv[i];
        let wt = -ddg;
        for a in 0..p {
            xtz[a] += (wt * y[i] + dg) * full.x[a][i];
            for b in 0..p {
                xtwx.add(a, b, wt * full.x[a][i] * full.x[b][i]);
            }
        }
    }
    let mut init = Cholesky::new(&xtwx, opts.toler_chol).solve(&xtz);
    init.extend(&log_scales);
    if init.iter().any(|v| !v.is_finite()) {
        // No data, or every time equal: R stops; we return the degenerate fit (NULLs).
        init = vec![0.0; k];
    }
    let fit = survreg6(&full, init, opts.max_iter, opts.eps, opts.toler_chol);
    let (theta_scaled, ll, info, iterations, converged) = (
        fit.theta,
        fit.loglik,
        fit.info,
        fit.iterations,
        fit.converged,
    );
    let ll_null = fit0.as_ref().map_or(ll, |f0| f0.loglik);
    let chol = Cholesky::new_cholesky3(&info, opts.toler_chol);
    let var_scaled = chol.inverse();
    // Back to the covariates' own units: θ = V θ_scaled, var = V var_scaled Vᵀ with V the
    // identity but V[j][j] = 1/sd_j and V[0][j] = −center_j/sd_j.
    let transform = |i: usize, j: usize| -> f64 {
        if i == j && i < p {
            1.0 / stdev[i]
        } else if i == j {
            1.0
        } else if i == 0 && j < p {
            -center[j] / stdev[j]
        } else {
            0.0
        }
    };
    let theta: Vec<f64> = (0..k)
        .map(|i| (0..k).map(|j| transform(i, j) * theta_scaled[j]).sum())
        .collect();
    let mut var = Matrix::zeros(k);
    for i in 0..k {
        for j in 0..k {
            let mut v = 0.0;
            for a in 0..k {
                let ta = transform(i, a);
                if ta == 0.0 {
                    continue;
                }
                for b in 0..k {
                    v += ta * var_scaled.get(a, b) * transform(j, b);
                }
            }
            var.set(i, j, v);
        }
    }
    let z_crit = z_for_level(opts.conf_level);
    let aliased: Vec<bool> = (0..p)
        .map(|j| chol.rank < info.n && var_scaled.get(j, j) == 0.0)
        .collect();
    let terms = (0..p)
        .map(|j| {
            if aliased[j] {
                return SurvregTerm {
                    coef: None,
                    se: None,
                    z: None,
                    p_value: None,
                    lower: None,
                    upper: None,
                };
            }
            let (b, se) = (theta[j], var.get(j, j).sqrt());
            let z = b / se;
            SurvregTerm {
                coef: Some(b),
                se: Some(se),
                z: Some(z),
                p_value: Some(two_sided_normal_p(z)),
                lower: Some(b - z_crit * se),
                upper: Some(b + z_crit * se),
            }
        })
        .collect();
    let df = (1..p).filter(|&j| !aliased[j]).count();
    let (loglik, loglik_null) = (ll + correction, ll_null + correction);
    let chisq = 2.0 * (loglik - loglik_null);
    let warning = (!converged).then(|| {
        format!(
            "did not converge in {iterations} iterations (relative loglik change > {}); \
             R: \"Ran out of iterations and did not converge\"",
            opts.eps
        )
    });
    Ok(SurvregFit {
        n,
        events,
        dist,
        scale: if fixed { 1.0 } else { theta[p].exp() },
        log_scale_se: (!fixed).then(|| var.get(p, p).sqrt()),
        scales: (0..strata.count)
            .map(|s| if fixed { 1.0 } else { theta[p + s].exp() })
            .collect(),
        log_scale_ses: (0..strata.count)
            .map(|s| (!fixed).then(|| var.get(p + s, p + s).sqrt()))
            .collect(),
        loglik,
        loglik_null,
        chisq,
        df,
        p_value: (df > 0).then(|| pchisq_upper(chisq, df as f64)),
        iterations,
        converged,
        warning,
        terms,
        var,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, tol: f64) -> bool {
        (got - want).abs() <= tol * want.abs().max(1e-300)
    }

    /// The six rows of issue 41: the information is not positive definite on the way, where
    /// R's survreg6 steps with J'J. R: survreg(Surv(time, event) ~ x1 + strata(grp)), the
    /// oracle in tests/oracle/survreg.R (entry sr_six), to 1e-6 as an iterative fit.
    #[test]
    fn six_rows_reach_r_maximum_with_r_iterations() {
        let time = [10.0, 2.0, 2.0, 1.0, 7.0, 3.0];
        let event = [true; 6];
        let x1 = vec![vec![-0.1, -0.7, 1.1, -0.9, 1.9, 0.8]];
        let strata = [1, 0, 1, 0, 1, 0];
        let fit = survreg(
            &time,
            &event,
            &x1,
            Some(&strata),
            &SurvregOptions::default(),
        )
        .unwrap();
        assert!(fit.converged && fit.warning.is_none(), "{fit:?}");
        assert_eq!(fit.iterations, 7);
        for (got, want) in [
            (fit.loglik, -11.64371664312016),
            (fit.loglik_null, -14.01926288334330),
            (fit.terms[0].coef.unwrap(), 0.8483296665677370),
            (fit.terms[1].coef.unwrap(), 0.3924905608158315),
            (fit.scales[0], 0.1926527184786384),
            (fit.scales[1], 1.2529865160083828),
            (fit.terms[0].se.unwrap(), 0.1263690157826421),
            (fit.terms[1].se.unwrap(), 0.1726039722896670),
            (fit.log_scale_ses[0].unwrap(), 0.5080874150324582),
            (fit.log_scale_ses[1].unwrap(), 0.3640648315887043),
        ] {
            assert!(close(got, want, 1e-6), "got {got}, want {want}");
        }
    }
}

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

/// Newton-Raphson for one design; returns (parameters, log-likelihood on the transformed
/// scale, information matrix, iterations, converged).
fn maximise(
    x: &[Vec<f64>],
    y: &[f64],
    event: &[bool],
    strata: &Strata,
    dist: Dist,
    opts: &SurvregOptions,
) -> (Vec<f64>, f64, Matrix, usize, bool) {
    let n = y.len();
    let p = x.len();
    let fixed = dist.fixed_scale();
    let k = p + if fixed { 0 } else { strata.count };
    // Starting values: least squares of y on x, σ from the residuals (for the extreme-value
    // distribution its standard deviation is π/√6 σ).
    let mut theta = vec![0.0; k];
    {
        let mut xtx = Matrix::zeros(p);
        let mut xty = vec![0.0; p];
        for i in 0..n {
            for a in 0..p {
                xty[a] += x[a][i] * y[i];
                for b in 0..p {
                    xtx.add(a, b, x[a][i] * x[b][i]);
                }
            }
        }
        let beta = Cholesky::new(&xtx, opts.toler_chol).solve(&xty);
        let rss: f64 = (0..n)
            .map(|i| {
                let fit: f64 = (0..p).map(|a| x[a][i] * beta[a]).sum();
                (y[i] - fit).powi(2)
            })
            .sum();
        let sd = (rss / n.max(1) as f64).sqrt().max(1e-3);
        theta[..p].copy_from_slice(&beta);
        if !fixed {
            let sigma = match dist {
                Dist::Weibull => sd * 6f64.sqrt() / std::f64::consts::PI,
                Dist::LogLogistic | Dist::Logistic => sd * 3f64.sqrt() / std::f64::consts::PI,
                _ => sd,
            };
            theta[p..].fill(sigma.ln());
        }
    }
    let evaluate = |theta: &[f64], second: bool| -> (f64, Vec<f64>, Matrix) {
        let mut ll = 0.0;
        let mut grad = vec![0.0; k];
        let mut hess = Matrix::zeros(k);
        for i in 0..n {
            // The log-scale parameter of the row's stratum.
            let at = p + strata.of(i);
            let tau = if fixed { 0.0 } else { theta[at] };
            let sigma = tau.exp();
            let eta: f64 = (0..p).map(|a| x[a][i] * theta[a]).sum();
            let z = (y[i] - eta) / sigma;
            let [g, g1, g2] = dist.log_density(z, event[i]);
            let d = f64::from(u8::from(event[i]));
            ll += g - d * tau;
            let d_eta = -g1 / sigma;
            let d_tau = -g1 * z - d;
            for a in 0..p {
                grad[a] += d_eta * x[a][i];
            }
            if !fixed {
                grad[at] += d_tau;
            }
            if second {
                let h_ee = g2 / (sigma * sigma);
                let h_et = (g2 * z + g1) / sigma;
                let h_tt = g2 * z * z + g1 * z;
                for a in 0..p {
                    for b in 0..=a {
                        hess.add(a, b, h_ee * x[a][i] * x[b][i]);
                    }
                    if !fixed {
                        hess.add(at, a, h_et * x[a][i]);
                    }
                }
                if !fixed {
                    hess.add(at, at, h_tt);
                }
            }
        }
        // Symmetric information = -Hessian.
        let mut info = Matrix::zeros(k);
        for a in 0..k {
            for b in 0..=a {
                let v = -hess.get(a, b);
                info.set(a, b, v);
                info.set(b, a, v);
            }
        }
        (ll, grad, info)
    };
    let (mut ll, mut grad, mut info) = evaluate(&theta, true);
    let mut converged = false;
    let mut iterations = 0;
    for iter in 1..=opts.max_iter {
        iterations = iter;
        let step = Cholesky::new(&info, opts.toler_chol).solve(&grad);
        let mut scale = 1.0;
        let mut accepted = None;
        for _ in 0..30 {
            let candidate: Vec<f64> = theta
                .iter()
                .zip(&step)
                .map(|(t, s)| t + scale * s)
                .collect();
            let (new_ll, _, _) = evaluate(&candidate, false);
            if new_ll.is_finite() && new_ll >= ll - 1e-12 * ll.abs() {
                accepted = Some((candidate, new_ll));
                break;
            }
            scale /= 2.0;
        }
        let Some((candidate, new_ll)) = accepted else {
            break;
        };
        let done = (1.0 - ll / new_ll).abs() <= opts.eps;
        theta = candidate;
        let (l2, g2, i2) = evaluate(&theta, true);
        ll = l2;
        grad = g2;
        info = i2;
        if done {
            converged = true;
            break;
        }
    }
    (theta, ll, info, iterations, converged)
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
    let mut design = vec![vec![1.0; n]];
    design.extend(x.iter().cloned());
    let p = design.len();
    let (theta, ll, info, iterations, converged) =
        maximise(&design, &y, event, &strata, dist, opts);
    let (_, ll_null, _, _, _) = maximise(&design[..1], &y, event, &strata, dist, opts);
    let chol = Cholesky::new(&info, opts.toler_chol);
    let var = chol.inverse();
    let z_crit = z_for_level(opts.conf_level);
    let aliased: Vec<bool> = (0..p)
        .map(|j| chol.rank < info.n && var.get(j, j) == 0.0)
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
    let fixed = dist.fixed_scale();
    let warning = (!converged).then(|| {
        format!(
            "did not converge in {} iterations (relative loglik change > {})",
            opts.max_iter, opts.eps
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

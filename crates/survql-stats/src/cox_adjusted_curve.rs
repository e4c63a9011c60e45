//! Direct-standardised (g-computation) survival curves after a Cox fit, as R's
//! `riskRegression::ate(coxph, treatment = grp, estimator = "GFORMULA")` and
//! `adjustedCurves(method = "direct")`.
//!
//! The adjusted survival of level a of a factor grp at time t is the mean, over every subject
//! of the sample, of the model's predicted survival with grp set to a:
//!
//! θ_a(t) = (1/n) Σ_j S(t | z_j^a),  S(t | z) = exp(−Λ₀(t) exp(z'β)),
//!
//! z_j^a the covariates of subject j with grp's indicator columns set to level a, Λ₀ the
//! Breslow or Efron baseline cumulative hazard of the fit (`survfit.coxph`'s, as
//! [`crate::cox_curve`]).
//!
//! Its standard error is the infinitesimal jackknife: the derivative of θ_a(t) with respect to
//! each subject's case weight, IF_i, with SE² = Σ_i IF_i². With x centred at the fit's means
//! (the centring cancels in S), r_i = exp(x_i'β), Λ₀ and A(t) = ∫ E dΛ₀ (E the risk-set
//! mean of x; Efron: the mean over the tied deaths' steps) as in `coxsurv.fit`, and
//! dfbeta_i = U_i V (R's `residuals(fit, type = "dfbeta")`), the derivative of β:
//!
//! IF_i = (S_i − θ)/n − m₀ IFΛ_i(t) − m₁'dfbeta_i,  m₀ = mean_j S_j exp(z_j'β),
//! m₁ = mean_j S_j Λ₀(t) exp(z_j'β) z_j,
//!
//! IFΛ_i(t) = δ_i 1{T_i ≤ t} (dΛ₀(T_i)/d(T_i) + r_i k(T_i)) − r_i H(min(T_i, t)) − A(t)'dfbeta_i,
//!
//! the derivative of the baseline hazard: at an event time with d deaths, risk sums S₀ over the
//! risk set and S_d over the deaths, and f_j = j/d for Efron (0 for Breslow), j = 0..d−1,
//! dΛ₀ = Σ_j 1/(S₀ − f_j S_d), h = Σ_j 1/(S₀ − f_j S_d)² (each risk-set member's share, H its
//! cumulative sum) and k = Σ_j f_j/(S₀ − f_j S_d)² (a death's own share of the Efron
//! correction). Without tied event
//! times this is riskRegression's influence function exactly (`iidCox`); with ties
//! riskRegression counts each distinct event time once in β's score compensator where the
//! weight derivative (and R's dfbeta) counts every death — survql follows the derivative
//! (checked against finite differences of weighted `coxph` fits).

use rayon::prelude::*;

use crate::cox::{CoxData, CoxFit, Ties};

/// The adjusted curve of one level: θ and its SE at each requested time.
#[derive(Debug, Clone, PartialEq)]
pub struct AdjustedCurve {
    pub time: Vec<f64>,
    pub surv: Vec<f64>,
    pub std_err: Vec<f64>,
}

/// The risk-set quantities of the fit at each distinct event time.
struct BaselineSteps {
    time: Vec<f64>,
    /// dΛ₀, per tied death dΛ₀/d, the risk-set share h, the deaths' Efron share k.
    hazard: Vec<f64>,
    per_death: Vec<f64>,
    risk_share: Vec<f64>,
    death_share: Vec<f64>,
    /// The increment of A(t) (p per time, row-major).
    mean_x: Vec<f64>,
}

/// The step quantities of [`BaselineSteps`] from centred risks `risk` and covariates `xc`.
fn baseline_steps(data: &CoxData, ties: Ties, risk: &[f64], xc: &[Vec<f64>]) -> BaselineSteps {
    let (n, p) = (data.n(), xc.len());
    let mut time: Vec<f64> = (0..n)
        .filter(|&i| data.event[i])
        .map(|i| data.stop[i])
        .collect();
    time.sort_unstable_by(f64::total_cmp);
    time.dedup();
    let m = time.len();
    // Risk sums of the rows leaving at each event time (a row at risk at every event time
    // ≤ its own), then reverse cumulative sums; the deaths' own sums.
    let (mut s0, mut s1) = (vec![0.0; m + 1], vec![0.0; (m + 1) * p]);
    let (mut d0, mut d1, mut deaths) = (vec![0.0; m], vec![0.0; m * p], vec![0usize; m]);
    for i in 0..n {
        // Index of the first event time ≥ T_i: the row is in every risk set up to it.
        let k = time.partition_point(|&t| t < data.stop[i]);
        let last = if k < m && time[k] == data.stop[i] {
            k
        } else {
            // Censored between event times (or after the last): at risk up to k − 1.
            if k == 0 {
                continue;
            }
            k - 1
        };
        s0[last] += risk[i];
        for j in 0..p {
            s1[last * p + j] += risk[i] * xc[j][i];
        }
        if data.event[i] {
            d0[last] += risk[i];
            deaths[last] += 1;
            for j in 0..p {
                d1[last * p + j] += risk[i] * xc[j][i];
            }
        }
    }
    for k in (0..m.saturating_sub(1)).rev() {
        s0[k] += s0[k + 1];
        for j in 0..p {
            s1[k * p + j] += s1[(k + 1) * p + j];
        }
    }
    let mut steps = BaselineSteps {
        time,
        hazard: vec![0.0; m],
        per_death: vec![0.0; m],
        risk_share: vec![0.0; m],
        death_share: vec![0.0; m],
        mean_x: vec![0.0; m * p],
    };
    for k in 0..m {
        let d = deaths[k];
        let df = d as f64;
        for step in 0..d {
            let f = if ties == Ties::Efron {
                step as f64 / df
            } else {
                0.0
            };
            let inv = 1.0 / (s0[k] - f * d0[k]);
            steps.hazard[k] += inv;
            steps.risk_share[k] += inv * inv;
            steps.death_share[k] += f * inv * inv;
            for j in 0..p {
                steps.mean_x[k * p + j] += (s1[k * p + j] - f * d1[k * p + j]) * inv * inv;
            }
        }
        steps.per_death[k] = steps.hazard[k] / df;
    }
    steps
}

/// The adjusted curves of every level of a factor whose indicator columns (treatment coding,
/// the first level the reference) are `level_columns` of `data.x`: one curve per level (the
/// reference first), evaluated at `times` (ascending). `data` is right-censored, unweighted
/// and unstratified; `dfbeta` is [`crate::cox::cox_dfbeta`] of the fit (n × p, row-major).
/// See the module documentation for the formulas.
pub fn cox_adjusted_curves(
    data: &CoxData,
    fit: &CoxFit,
    dfbeta: &[f64],
    level_columns: &[usize],
    times: &[f64],
) -> Vec<AdjustedCurve> {
    let (n, p) = (data.n(), data.nvar());
    let nf = n as f64;
    let beta: Vec<f64> = fit.coef.iter().map(|c| c.unwrap_or(0.0)).collect();
    let xc: Vec<Vec<f64>> = (0..p)
        .map(|j| data.x[j].iter().map(|v| v - fit.means[j]).collect())
        .collect();
    let risk: Vec<f64> = (0..n)
        .map(|i| (0..p).map(|j| xc[j][i] * beta[j]).sum::<f64>().exp())
        .collect();
    let ties = if fit.ties == Ties::Efron {
        Ties::Efron
    } else {
        Ties::Breslow
    };
    let steps = baseline_steps(data, ties, &risk, &xc);
    let m = steps.time.len();
    // Cumulative Λ₀, H and A at each event time (index k: through time k).
    let (mut cum_hazard, mut cum_share, mut cum_a) = (vec![0.0; m], vec![0.0; m], vec![0.0; m * p]);
    let (mut h, mut s) = (0.0, 0.0);
    for k in 0..m {
        h += steps.hazard[k];
        s += steps.risk_share[k];
        cum_hazard[k] = h;
        cum_share[k] = s;
        for j in 0..p {
            cum_a[k * p + j] =
                steps.mean_x[k * p + j] + if k > 0 { cum_a[(k - 1) * p + j] } else { 0.0 };
        }
    }
    // Per row: how many event times are ≤ T_i, and its event's time index.
    let through: Vec<usize> = (0..n)
        .map(|i| steps.time.partition_point(|&t| t <= data.stop[i]))
        .collect();
    let levels = level_columns.len() + 1;
    let mut out = Vec::with_capacity(levels);
    for level in 0..levels {
        // z_j^a − x̄ and exp(z_j^a'β): the level's indicators replace the row's.
        let mut zc = xc.clone();
        for (c, &col) in level_columns.iter().enumerate() {
            let set = f64::from(u8::from(c + 1 == level)) - fit.means[col];
            zc[col].iter_mut().for_each(|v| *v = set);
        }
        let level_risk: Vec<f64> = (0..n)
            .map(|i| (0..p).map(|j| zc[j][i] * beta[j]).sum::<f64>().exp())
            .collect();
        let point = |t: f64| -> (f64, f64) {
            let q = steps.time.partition_point(|&s| s <= t);
            if q == 0 {
                return (1.0, 0.0);
            }
            let lambda = cum_hazard[q - 1];
            let a_t = &cum_a[(q - 1) * p..q * p];
            let surv: Vec<f64> = level_risk.iter().map(|r| (-lambda * r).exp()).collect();
            let theta = surv.iter().sum::<f64>() / nf;
            let m0 = surv
                .iter()
                .zip(&level_risk)
                .map(|(s, r)| s * r)
                .sum::<f64>()
                / nf;
            let m1: Vec<f64> = (0..p)
                .map(|j| {
                    (0..n)
                        .map(|i| surv[i] * level_risk[i] * zc[j][i])
                        .sum::<f64>()
                        * lambda
                        / nf
                })
                .collect();
            // IF_i = (S_i − θ)/n − m₀ (own_i − r_i H_i) + (m₀ A(t) − m₁)'dfbeta_i.
            let coef: Vec<f64> = (0..p).map(|j| m0 * a_t[j] - m1[j]).collect();
            let mut sum_sq = 0.0;
            for i in 0..n {
                let k = through[i].min(q);
                let own = if data.event[i] && through[i] <= q {
                    let e = through[i] - 1;
                    steps.per_death[e] + risk[i] * steps.death_share[e]
                } else {
                    0.0
                };
                let shared = if k == 0 {
                    0.0
                } else {
                    risk[i] * cum_share[k - 1]
                };
                let mut v = (surv[i] - theta) / nf - m0 * (own - shared);
                for j in 0..p {
                    v += coef[j] * dfbeta[i * p + j];
                }
                sum_sq += v * v;
            }
            (theta, sum_sq.sqrt())
        };
        let points: Vec<(f64, f64)> = times.par_iter().map(|&t| point(t)).collect();
        out.push(AdjustedCurve {
            time: times.to_vec(),
            surv: points.iter().map(|p| p.0).collect(),
            std_err: points.iter().map(|p| p.1).collect(),
        });
    }
    out
}

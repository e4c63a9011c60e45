//! Predicted survival curves after a Cox fit, as R's `survfit(coxfit, newdata = ...)`
//! (`survfit.coxph` with its defaults `stype = 2`, `censor = TRUE`: internal `agsurv` and
//! `coxsurv.fit`, survival 3.5-3) and `basehaz(coxfit, centered =)`.
//!
//! Within the stratum, at each distinct time t (after `aeqSurv`, as the fit), with case
//! weights w, risk scores r = exp(x'β − x̄'β) (x̄ = `fit$means`, aliased β taken as 0), the
//! risk-set sums R(t) = Σ w r and X(t) = Σ w r x over the rows at risk (start < t ≤ stop),
//! e(t) the weighted events and d(t) the number of events:
//!
//! * Breslow (the fit's ties breslow or exact): dΛ = e/R, variance increment e/R², and
//!   the increment of the mean-covariate term a(t) = (X/R)·dΛ.
//! * Efron (R's `agsurv5`): with R_d, X_d the sums over the d tied events,
//!   dΛ = (e/d) Σ_{j<d} 1/(R − j R_d/d), variance (e/d) Σ 1/(R − j R_d/d)²,
//!   a = (e/d) Σ (X − j X_d/d)/(R − j R_d/d)².
//!
//! For a covariate profile z, with Λ₀, A the cumulative sums and V the fit's variance (the
//! robust one when the fit has it, as `fit$var`): the cumulative hazard Λ(t) = Λ₀(t)·exp(z'β −
//! x̄'β), S(t) = exp(−Λ(t)), and the variance of Λ(t) (Tsiatis; `coxsurv.fit`)
//! [Σ var increments + (Λ₀ z − A)' V (Λ₀ z − A)]·exp(z'β − x̄'β)². R's default curve is at
//! z = x̄ (`basehaz(fit, centered = TRUE)`); z = 0 gives `basehaz(fit, centered = FALSE)`.

use crate::cox::{merged_times, CoxData, CoxFit, Ties};

/// A predicted survival curve: one point per distinct time of the stratum (events and
/// censorings), as `survfit.coxph`'s `time`, `surv`, `cumhaz`.
#[derive(Debug, Clone, PartialEq)]
pub struct CoxCurve {
    pub time: Vec<f64>,
    pub surv: Vec<f64>,
    pub cumhaz: Vec<f64>,
    /// Standard error of the cumulative hazard (R's `fit$std.err`, the SE of −log S).
    pub std_err_cumhaz: Vec<f64>,
}

impl CoxCurve {
    /// Standard error of S (`summary(fit)$std.err`): S × SE of the cumulative hazard.
    pub fn std_err_surv(&self) -> Vec<f64> {
        self.surv
            .iter()
            .zip(&self.std_err_cumhaz)
            .map(|(s, se)| s * se)
            .collect()
    }
}

/// The curve of covariate profile `z` (one value per column of `data.x`, on the data's
/// scale: 0/1 for a factor level's column) in stratum `stratum` of the fitted model `fit`
/// of `data`. See the module documentation for the formulas.
pub fn cox_curve(data: &CoxData, fit: &CoxFit, z: &[f64], stratum: u32) -> CoxCurve {
    let p = data.nvar();
    let beta: Vec<f64> = fit.coef.iter().map(|c| c.unwrap_or(0.0)).collect();
    let center: f64 = (0..p).map(|j| beta[j] * fit.means[j]).sum();
    let var = fit.robust_var.as_ref().unwrap_or(&fit.var);
    let (stop, start) = merged_times(data);
    let rows: Vec<usize> = (0..data.n())
        .filter(|&i| data.strata[i] == stratum)
        .collect();
    let mut time: Vec<f64> = rows.iter().map(|&i| stop[i]).collect();
    time.sort_unstable_by(f64::total_cmp);
    time.dedup();
    let m = time.len();

    // Per distinct time: weighted events, events, and the sums leaving the risk set there
    // (by stop) or not yet in it (by start), which reverse cumulative sums turn into R, X.
    let mut events_w = vec![0.0; m];
    let mut deaths = vec![0usize; m];
    let mut death_risk = vec![0.0; m];
    let mut death_x = vec![0.0; m * p];
    let mut risk_at = vec![0.0; m];
    let mut x_at = vec![0.0; m * p];
    let mut x = vec![0.0; p];
    for &i in &rows {
        for j in 0..p {
            x[j] = data.x[j][i];
        }
        let wr =
            data.weight(i) * (x.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>() - center).exp();
        let k = time.partition_point(|&t| t < stop[i]);
        risk_at[k] += wr;
        for j in 0..p {
            x_at[k * p + j] += wr * x[j];
        }
        if data.event[i] {
            events_w[k] += data.weight(i);
            deaths[k] += 1;
            death_risk[k] += wr;
            for j in 0..p {
                death_x[k * p + j] += wr * x[j];
            }
        }
        if let Some(start) = &start {
            // At risk at t only when start < t: the row is out for every time ≤ start.
            let after = time.partition_point(|&t| t <= start[i]);
            if after > 0 {
                risk_at[after - 1] -= wr;
                for j in 0..p {
                    x_at[(after - 1) * p + j] -= wr * x[j];
                }
            }
        }
    }
    for k in (0..m.saturating_sub(1)).rev() {
        risk_at[k] += risk_at[k + 1];
        for j in 0..p {
            x_at[k * p + j] += x_at[(k + 1) * p + j];
        }
    }

    let risk2 = (z.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>() - center).exp();
    let mut cumhaz0 = 0.0;
    let mut cumvar = 0.0;
    let mut cum_a = vec![0.0; p];
    let mut a = vec![0.0; p];
    let mut dt = vec![0.0; p];
    let mut out = CoxCurve {
        time: time.clone(),
        surv: Vec::with_capacity(m),
        cumhaz: Vec::with_capacity(m),
        std_err_cumhaz: Vec::with_capacity(m),
    };
    for k in 0..m {
        let (r, e, d) = (risk_at[k], events_w[k], deaths[k]);
        let xs = &x_at[k * p..(k + 1) * p];
        let (haz, varhaz) = if d == 0 {
            a.fill(0.0);
            (0.0, 0.0)
        } else if fit.ties == Ties::Efron && d > 1 {
            let (rd, xd) = (death_risk[k], &death_x[k * p..(k + 1) * p]);
            let (mut s1, mut s2) = (0.0, 0.0);
            a.fill(0.0);
            let df = d as f64;
            for jj in 0..d {
                let frac = jj as f64 / df;
                let inv = 1.0 / (r - rd * frac);
                s1 += inv / df;
                s2 += inv * inv / df;
                for j in 0..p {
                    a[j] += (xs[j] - xd[j] * frac) * inv * inv / df;
                }
            }
            a.iter_mut().for_each(|v| *v *= e);
            (e * s1, e * s2)
        } else {
            // Breslow, and Efron with one event (the same increments).
            let haz = e / r;
            for j in 0..p {
                a[j] = xs[j] / r * haz;
            }
            (haz, e / (r * r))
        };
        cumhaz0 += haz;
        cumvar += varhaz;
        for j in 0..p {
            cum_a[j] += a[j];
            dt[j] = cumhaz0 * z[j] - cum_a[j];
        }
        let var_h = (cumvar + var.quad(&dt, &dt)) * risk2 * risk2;
        let cumhaz = cumhaz0 * risk2;
        out.cumhaz.push(cumhaz);
        out.surv.push((-cumhaz).exp());
        out.std_err_cumhaz.push(var_h.max(0.0).sqrt());
    }
    out
}

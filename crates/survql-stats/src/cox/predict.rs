//! One value per row of a fitted Cox model: expected events and martingale / deviance residuals
//! (R's `coxmart.c`, `agmart3.c`), score and dfbeta residuals (`coxscore2` / `agscore3`),
//! Schoenfeld residuals, and the predictions of `predict.coxph` (lp, risk, expected,
//! survival).

use super::*;

/// The expected number of events of each row (data order) under the fitted model:
/// r_i · (Λ₀(stop_i) − Λ₀(start_i)), r_i = exp(lp_i), Λ₀ the Breslow (or Efron) cumulative
/// baseline hazard of the row's stratum, with Efron's correction for a row that dies at a
/// tied time (its own share of the tied deaths' hazard: Σ_j (1 − j/d)·(w/d) / (D − j/d·E)),
/// as R's `coxmart` / `agmart3`: `predict(fit, type = "expected")`, and the martingale
/// residual is event − expected. Times are those of the fit (near-ties merged, `aeqSurv`).
/// `ties = exact` uses Breslow's hazard, as R.
pub fn cox_expected(data: &CoxData, fit: &CoxFit, ties: Ties) -> Vec<f64> {
    let n = data.n();
    let (stop, start) = merged_times(data);
    let risk: Vec<f64> = fit.linear_predictors.iter().map(|lp| lp.exp()).collect();
    let mut expected = vec![0.0; n];
    for rows in rows_by_stratum(&data.strata) {
        // Event times of the stratum, ascending, with the deaths' counts and sums.
        let mut deaths: Vec<usize> = rows.iter().copied().filter(|&i| data.event[i]).collect();
        deaths.sort_by(|&a, &b| stop[a].total_cmp(&stop[b]));
        let mut times: Vec<f64> = vec![];
        let (mut count, mut wsum, mut esum) = (vec![], vec![], vec![]);
        for &i in &deaths {
            if times.last() != Some(&stop[i]) {
                times.push(stop[i]);
                count.push(0.0);
                wsum.push(0.0);
                esum.push(0.0);
            }
            let k = times.len() - 1;
            count[k] += 1.0;
            wsum[k] += data.weight(i);
            esum[k] += data.weight(i) * risk[i];
        }
        let kk = times.len();
        if kk == 0 {
            continue;
        }
        // Risk-set sums D_k = Σ w r over start < t_k ≤ stop, from the latest time back.
        let (by_stop, by_start) = latest_first(&rows, &stop, start.as_deref());
        let mut denom = vec![0.0; kk];
        let (mut a, mut b, mut sum) = (0, 0, 0.0);
        for k in (0..kk).rev() {
            while a < by_stop.len() && stop[by_stop[a]] >= times[k] {
                sum += data.weight(by_stop[a]) * risk[by_stop[a]];
                a += 1;
            }
            if let Some(s) = &start {
                while b < by_start.len() && s[by_start[b]] >= times[k] {
                    sum -= data.weight(by_start[b]) * risk[by_start[b]];
                    b += 1;
                }
            }
            denom[k] = sum;
        }
        // Hazard increments: everyone at risk gets h_k, a death at t_k its own share.
        let efron = ties == Ties::Efron;
        let (mut hazard, mut own) = (vec![0.0; kk], vec![0.0; kk]);
        for k in 0..kk {
            if !efron || count[k] < 2.0 {
                hazard[k] = wsum[k] / denom[k];
                own[k] = hazard[k];
            } else {
                let d = count[k];
                let w = wsum[k] / d;
                let (mut h, mut o) = (0.0, 0.0);
                let mut j = 0.0;
                while j < d {
                    let down = j / d;
                    h += w / (denom[k] - esum[k] * down);
                    o += w * (1.0 - down) / (denom[k] - esum[k] * down);
                    j += 1.0;
                }
                hazard[k] = h;
                own[k] = o;
            }
        }
        let mut cumulative = Vec::with_capacity(kk);
        let mut total = 0.0;
        for h in &hazard {
            total += h;
            cumulative.push(total);
        }
        // Λ₀ at x: the cumulative hazard of the event times ≤ x.
        let at = |x: f64| -> f64 {
            let k = times.partition_point(|&t| t <= x);
            if k == 0 {
                0.0
            } else {
                cumulative[k - 1]
            }
        };
        for &i in &rows {
            let entry = start.as_ref().map_or(0.0, |s| at(s[i]));
            let mut e = risk[i] * (at(stop[i]) - entry);
            if data.event[i] {
                let k = times.partition_point(|&t| t < stop[i]);
                e -= risk[i] * (hazard[k] - own[k]);
            }
            expected[i] = e;
        }
    }
    expected
}

/// The rows of a stratum by decreasing stop and by decreasing start (none for right-censored
/// data): a sweep from the latest event time back adds the rows whose stop is ≥ t and takes
/// away those whose start is ≥ t, leaving the risk set start < t ≤ stop.
fn latest_first(rows: &[usize], stop: &[f64], start: Option<&[f64]>) -> (Vec<usize>, Vec<usize>) {
    let mut by_stop = rows.to_vec();
    by_stop.sort_by(|&a, &b| stop[b].total_cmp(&stop[a]));
    let by_start = match start {
        Some(s) => {
            let mut v = rows.to_vec();
            v.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
            v
        }
        None => vec![],
    };
    (by_stop, by_start)
}

/// Martingale residuals (data order): event − expected ([`cox_expected`]), R's
/// `residuals(fit, type = "martingale")`.
pub fn cox_martingale(data: &CoxData, fit: &CoxFit, ties: Ties) -> Vec<f64> {
    cox_expected(data, fit, ties)
        .iter()
        .zip(&data.event)
        .map(|(e, &d)| f64::from(u8::from(d)) - e)
        .collect()
}

/// Deviance residuals from martingale residuals m: sign(m)·sqrt(−2 (m + δ log(δ − m))), R's
/// `residuals(fit, type = "deviance")`.
pub fn deviance_from_martingale(martingale: &[f64], event: &[bool]) -> Vec<f64> {
    martingale
        .iter()
        .zip(event)
        .map(|(&m, &d)| {
            let delta = f64::from(u8::from(d));
            let log_term = if d { delta * (delta - m).ln() } else { 0.0 };
            // R's sign(): 0 for a residual of 0 (f64::signum would give ±1, hence -0).
            let sign = if m == 0.0 { 0.0 } else { m.signum() };
            sign * (-2.0 * (m + log_term)).sqrt()
        })
        .collect()
}

/// The linear predictor of each row as R's `predict(fit, type = "lp")` without newdata: the
/// fit's `linear.predictors` (x centred at `fit$means`), and for a stratified model (R's
/// default `reference = "strata"`) x centred at its stratum's case-weighted means,
/// Σ_j (x_ij − x̄_sj) β_j (aliased β as 0).
pub fn cox_linear_predictor(data: &CoxData, fit: &CoxFit) -> Vec<f64> {
    let n = data.n();
    let stratified = data.strata.iter().any(|&s| s != data.strata[0]);
    if !stratified {
        return fit.linear_predictors.clone();
    }
    let beta: Vec<f64> = fit.coef.iter().map(|c| c.unwrap_or(0.0)).collect();
    let strata = data
        .strata
        .iter()
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1);
    // Σ_i w_i x_i'β and Σ_i w_i per stratum: the weighted mean of x'β is x̄_s'β.
    let (mut sum, mut weight) = (vec![0.0; strata], vec![0.0; strata]);
    let xb: Vec<f64> = (0..n)
        .map(|i| (0..data.nvar()).map(|j| data.x[j][i] * beta[j]).sum())
        .collect();
    for i in 0..n {
        let s = data.strata[i] as usize;
        sum[s] += data.weight(i) * xb[i];
        weight[s] += data.weight(i);
    }
    (0..n)
        .map(|i| {
            let s = data.strata[i] as usize;
            xb[i] - sum[s] / weight[s]
        })
        .collect()
}

/// Score residuals (n × p, row-major, data order) at the fitted coefficients (aliased ones at
/// 0), R's `residuals(fit, type = "score")`: unweighted.
pub fn cox_score_residuals(data: &CoxData, fit: &CoxFit, ties: Ties) -> Vec<f64> {
    let beta: Vec<f64> = fit.coef.iter().map(|c| c.unwrap_or(0.0)).collect();
    let d = Prepared::new(data);
    // R's residuals use Efron's or Breslow's form; exact ties are scored as Breslow.
    let ties = if ties == Ties::Exact {
        Ties::Breslow
    } else {
        ties
    };
    score_residuals(&d, &beta, ties, data)
}

/// dfbeta residuals (n × p, row-major): the score residuals times the variance, each row
/// times its case weight, R's `residuals(fit, type = "dfbeta")` (weighted by default);
/// `scaled` divides column j by the coefficient's standard error (`type = "dfbetas"`).
pub fn cox_dfbeta(data: &CoxData, fit: &CoxFit, ties: Ties, scaled: bool) -> Vec<f64> {
    let p = fit.coef.len();
    let score = cox_score_residuals(data, fit, ties);
    let mut out = vec![0.0; score.len()];
    for r in 0..data.n() {
        let w = data.weight(r);
        for j in 0..p {
            let v: f64 = (0..p).map(|i| score[r * p + i] * fit.var.get(i, j)).sum();
            let scale = if scaled {
                fit.var.get(j, j).sqrt()
            } else {
                1.0
            };
            out[r * p + j] = w * v / scale;
        }
    }
    out
}

/// Schoenfeld residuals (n × p, row-major, data order; NaN on rows without an event): for a
/// death at time t, x − x̄(t), the mean of x over the risk set weighted by w·r (Efron: the
/// mean over the tied deaths' steps, Σ_j (A − j/d·A_d) / (D − j/d·E) / d), R's `coxscho` —
/// `residuals(fit, type = "schoenfeld")` (unweighted), whose rows are the events.
pub fn cox_schoenfeld(data: &CoxData, fit: &CoxFit, ties: Ties) -> Vec<f64> {
    let (n, p) = (data.n(), fit.coef.len());
    let (stop, start) = merged_times(data);
    let risk: Vec<f64> = fit.linear_predictors.iter().map(|lp| lp.exp()).collect();
    let mut out = vec![f64::NAN; n * p];
    let efron = ties == Ties::Efron;
    for rows in rows_by_stratum(&data.strata) {
        let mut deaths: Vec<usize> = rows.iter().copied().filter(|&i| data.event[i]).collect();
        deaths.sort_by(|&a, &b| stop[a].total_cmp(&stop[b]));
        if deaths.is_empty() {
            continue;
        }
        let (by_stop, by_start) = latest_first(&rows, &stop, start.as_deref());
        // From the latest event time back: the risk set's Σ w r and Σ w r x.
        let (mut a, mut b) = (0, 0);
        let mut denom = 0.0;
        let mut sum_x = vec![0.0; p];
        let mut hi = deaths.len();
        while hi > 0 {
            let t = stop[deaths[hi - 1]];
            let mut lo = hi - 1;
            while lo > 0 && stop[deaths[lo - 1]] == t {
                lo -= 1;
            }
            while a < by_stop.len() && stop[by_stop[a]] >= t {
                let i = by_stop[a];
                let wr = data.weight(i) * risk[i];
                denom += wr;
                for j in 0..p {
                    sum_x[j] += wr * data.x[j][i];
                }
                a += 1;
            }
            if let Some(s) = &start {
                while b < by_start.len() && s[by_start[b]] >= t {
                    let i = by_start[b];
                    let wr = data.weight(i) * risk[i];
                    denom -= wr;
                    for j in 0..p {
                        sum_x[j] -= wr * data.x[j][i];
                    }
                    b += 1;
                }
            }
            let tied = &deaths[lo..hi];
            let d = tied.len() as f64;
            let (mut dead_wr, mut dead_x) = (0.0, vec![0.0; p]);
            for &i in tied {
                let wr = data.weight(i) * risk[i];
                dead_wr += wr;
                for j in 0..p {
                    dead_x[j] += wr * data.x[j][i];
                }
            }
            let mut mean = vec![0.0; p];
            let mut k = 0.0;
            while k < d {
                let down = if efron { k / d } else { 0.0 };
                for j in 0..p {
                    mean[j] += (sum_x[j] - down * dead_x[j]) / (d * (denom - down * dead_wr));
                }
                k += 1.0;
            }
            for &i in tied {
                for j in 0..p {
                    out[i * p + j] = data.x[j][i] - mean[j];
                }
            }
            hi = lo;
        }
    }
    out
}

/// Scaled Schoenfeld residuals (n × p, NaN on rows without an event): β + d · V s_i, with s_i
/// the Schoenfeld residual, V the model-based variance and d the number of events, R's
/// `residuals(fit, type = "scaledsch")` (what `plot(cox.zph(fit))` draws against time).
pub fn cox_scaled_schoenfeld(data: &CoxData, fit: &CoxFit, ties: Ties) -> Vec<f64> {
    let p = fit.coef.len();
    let sch = cox_schoenfeld(data, fit, ties);
    let deaths = data.event.iter().filter(|&&e| e).count() as f64;
    let mut out = vec![f64::NAN; sch.len()];
    for r in 0..data.n() {
        if !data.event[r] {
            continue;
        }
        for j in 0..p {
            let v: f64 = (0..p).map(|i| sch[r * p + i] * fit.var.get(i, j)).sum();
            out[r * p + j] = v * deaths + fit.coef[j].unwrap_or(0.0);
        }
    }
    out
}

//! Score residuals, the rows of the robust (sandwich) variance (R's `coxscore2` /
//! `agscore3`).

use super::*;

/// What the score residual of a death at one event time adds for its own death (the rest of
/// its residual is the hazard it was at risk for): per covariate, a function of the death's
/// x and risk score r = exp(η).
pub(super) enum DeathTerms {
    /// Breslow (or a single death): (x − x̄) − (x − x̄) r haz.
    Breslow { xbar: Vec<f64>, haz: f64 },
    /// Efron's steps summed: x − mean − r (x haz_kept − mean_haz_kept) ([`score_residuals`]).
    Efron {
        mean: Vec<f64>,
        haz_kept: f64,
        mean_haz_kept: Vec<f64>,
    },
}

/// Score residuals at `beta` (original scale), row-major n × p in data order, as R's
/// `residuals(fit, type = "score")` (`coxscore2` / `agscore`), computed in O(n p) with
/// cumulative hazard sums instead of R's O(n²) loop.
pub(super) fn score_residuals(d: &Prepared, beta: &[f64], ties: Ties, data: &CoxData) -> Vec<f64> {
    let (n, p) = (d.n, d.p);
    // Unscaled, uncentred covariates in prepared order.
    let xrow = |k: usize, j: usize| data.x[j][d.order.row(k)];
    let eta: Vec<f64> = (0..n)
        .map(|k| (0..p).map(|j| xrow(k, j) * beta[j]).sum())
        .collect();
    let score: Vec<f64> = eta.iter().map(|e| e.exp()).collect();
    let mut resid = vec![0.0; n * p];
    for (s, &(lo, hi)) in d.strata.iter().enumerate() {
        // Event times of the stratum in decreasing order, with the risk-set sums at each.
        // For each event time: hazard increments h and h·xbar (Σ over Efron steps) for the
        // subjects at risk that are not among its deaths, and what its deaths' own terms
        // are made of.
        struct EventTime {
            t: f64,
            h: f64,
            hx: Vec<f64>,
            deaths: DeathTerms,
        }
        let mut times: Vec<EventTime> = vec![];
        let mut denom = 0.0;
        let mut a = vec![0.0; p];
        let mut k = lo;
        let mut rem = 0usize;
        while k < hi {
            let t = d.stop[k];
            let (mut e_denom, mut a2) = (0.0, vec![0.0; p]);
            let mut dead = vec![];
            // Σ weights of the deaths (coxscore2's meanwt before it is averaged).
            let mut deadwt = 0.0;
            while k < hi && d.stop[k] == t {
                let r = score[k] * d.weight(k);
                denom += r;
                for j in 0..p {
                    a[j] += r * xrow(k, j);
                }
                if d.event[k] {
                    e_denom += r;
                    deadwt += d.weight(k);
                    for j in 0..p {
                        a2[j] += r * xrow(k, j);
                    }
                    dead.push(k);
                }
                k += 1;
            }
            if d.counting && !dead.is_empty() {
                let starts = &d.by_start[s];
                while rem < starts.len() && d.start[starts[rem]] >= t {
                    let j = starts[rem];
                    let r = score[j] * d.weight(j);
                    denom -= r;
                    for c in 0..p {
                        a[c] -= r * xrow(j, c);
                    }
                    rem += 1;
                }
            }
            if dead.is_empty() {
                continue;
            }
            let nd = dead.len() as f64;
            let mut h = 0.0;
            let mut hx = vec![0.0; p];
            let deaths = if ties == Ties::Breslow || dead.len() == 1 {
                let haz = deadwt / denom;
                h += haz;
                let xbar: Vec<f64> = a.iter().map(|a| a / denom).collect();
                for j in 0..p {
                    hx[j] += haz * xbar[j];
                }
                DeathTerms::Breslow { xbar, haz }
            } else {
                // Death k's term, Σ over the Efron steps dd of
                // (x_k − mean_dd)/nd − (x_k − mean_dd) r_k haz_dd (1 − dd/nd), is
                // x_k − Σ mean_dd/nd
                //     − r_k (x_k Σ haz_dd (1 − dd/nd) − Σ mean_dd haz_dd (1 − dd/nd)):
                // three sums over the steps, not a loop over the deaths in each step.
                let mut mean_sum = vec![0.0; p];
                let mut haz_kept = 0.0;
                let mut mean_haz_kept = vec![0.0; p];
                for dd in 0..dead.len() {
                    let downwt = dd as f64 / nd;
                    let temp = denom - downwt * e_denom;
                    let haz = deadwt / nd / temp; // the deaths' mean weight
                    h += haz;
                    haz_kept += haz * (1.0 - downwt);
                    for j in 0..p {
                        let mean = (a[j] - downwt * a2[j]) / temp;
                        hx[j] += haz * mean;
                        mean_sum[j] += mean;
                        mean_haz_kept[j] += mean * haz * (1.0 - downwt);
                    }
                }
                DeathTerms::Efron {
                    mean: mean_sum.iter().map(|m| m / nd).collect(),
                    haz_kept,
                    mean_haz_kept,
                }
            };
            times.push(EventTime { t, h, hx, deaths });
        }
        // Forward in time: cumulative H and Σ h xbar over event times < t.
        times.reverse();
        let mut cum_h = vec![0.0; times.len() + 1];
        let mut cum_hx = vec![vec![0.0; p]; times.len() + 1];
        for (i, et) in times.iter().enumerate() {
            cum_h[i + 1] = cum_h[i] + et.h;
            for j in 0..p {
                cum_hx[i + 1][j] = cum_hx[i][j] + et.hx[j];
            }
        }
        let event_times: Vec<f64> = times.iter().map(|e| e.t).collect();
        // Contribution of event times in (start, stop) plus, for non-deaths, the event at stop.
        for k in lo..hi {
            let t = d.stop[k];
            let st = if d.counting {
                d.start[k]
            } else {
                f64::NEG_INFINITY
            };
            let lo_idx = if d.counting {
                event_times.partition_point(|&v| v <= st)
            } else {
                0
            };
            let before = event_times.partition_point(|&v| v < t); // events strictly before t
            let at_t = before < event_times.len() && event_times[before] == t;
            let is_dead = d.event[k];
            let hi_idx = if at_t && !is_dead { before + 1 } else { before };
            let row = d.order.row(k);
            for j in 0..p {
                let h = cum_h[hi_idx] - cum_h[lo_idx.min(hi_idx)];
                let hx = cum_hx[hi_idx][j] - cum_hx[lo_idx.min(hi_idx)][j];
                resid[row * p + j] = -score[k] * (xrow(k, j) * h - hx);
            }
            if is_dead && at_t {
                for j in 0..p {
                    let x = xrow(k, j);
                    resid[row * p + j] += match &times[before].deaths {
                        DeathTerms::Breslow { xbar, haz } => {
                            (x - xbar[j]) - (x - xbar[j]) * score[k] * haz
                        }
                        DeathTerms::Efron {
                            mean,
                            haz_kept,
                            mean_haz_kept,
                        } => x - mean[j] - score[k] * (x * haz_kept - mean_haz_kept[j]),
                    };
                }
            }
        }
    }
    resid
}

//! The exact partial likelihood for tied times (R's `coxexact.c`, `ties = "exact"`).

use super::*;

/// The work of the exact partial likelihood: Σ over strata of (rows × most tied deaths ×
/// the p(p+3)/2 + 1 running sums); R's `coxexact` needs as much memory.
pub fn exact_ties_cost(data: &CoxData) -> f64 {
    let p = data.nvar() as f64;
    let mut cost = 0.0;
    for rows in rows_by_stratum(&data.strata) {
        let mut deaths: std::collections::HashMap<u64, usize> = Default::default();
        for &r in &rows {
            if data.event[r] {
                *deaths.entry(data.stop[r].to_bits()).or_insert(0) += 1;
            }
        }
        let most = deaths.values().copied().max().unwrap_or(0) as f64;
        cost += rows.len() as f64 * most * (p * (p + 3.0) / 2.0 + 1.0);
    }
    cost
}

/// The exact partial likelihood pass (`coxexact`): rows enter the risk set in decreasing time;
/// `b[k]` is the k-th elementary symmetric polynomial of the scores at risk, `b1`, `b2` its
/// first and second derivatives, updated in place as each row enters
/// (`B(k, n) = B(k, n−1) + r_n B(k−1, n−1)`, R's `coxd0`/`coxd1`/`coxd2` recursions, one
/// column kept instead of R's whole table). At a time with d deaths the likelihood gains
/// `Σ η_deaths − log B(d)`, the score `Σ x_deaths − B1(d)/B(d)` and the information
/// `B2(d)/B(d) − (B1/B)(B1/B)'`.
pub(super) fn exact_pass(d: &Prepared, beta: &[f64]) -> Pass {
    let p = d.p;
    let mut row_buf = vec![0.0; p];
    let mut u = vec![0.0; p];
    let mut imat = Matrix::zeros(p);
    let mut loglik = 0.0;
    for &(lo, hi) in &d.strata {
        // Most tied deaths at a time in the stratum: the order of the polynomials kept.
        let mut most = 0;
        let mut k = lo;
        while k < hi {
            let t = d.stop[k];
            let mut deaths = 0;
            while k < hi && d.stop[k] == t {
                deaths += usize::from(d.event[k]);
                k += 1;
            }
            most = most.max(deaths);
        }
        if most == 0 {
            continue;
        }
        let mut b = vec![0.0; most + 1];
        b[0] = 1.0;
        let mut b1 = vec![0.0; (most + 1) * p];
        let mut b2 = vec![0.0; (most + 1) * p * p];
        let mut k = lo;
        while k < hi {
            let t = d.stop[k];
            let mut deaths = 0;
            while k < hi && d.stop[k] == t {
                let eta = d.linear_predictor(k, beta);
                let r = eta.exp();
                let x = d.row(k, &mut row_buf);
                // Descending order: each update reads the (k−1) polynomials before they change.
                for m in (1..=most).rev() {
                    let (prev, prev1) = (b[m - 1], m - 1);
                    for i in 0..p {
                        for j in 0..=i {
                            let v = r
                                * (x[i] * x[j] * prev
                                    + x[i] * b1[prev1 * p + j]
                                    + x[j] * b1[prev1 * p + i]
                                    + b2[(prev1 * p + i) * p + j]);
                            b2[(m * p + i) * p + j] += v;
                        }
                    }
                    for i in 0..p {
                        b1[m * p + i] += r * (x[i] * prev + b1[prev1 * p + i]);
                    }
                    b[m] += r * prev;
                }
                if d.event[k] {
                    deaths += 1;
                    loglik += eta;
                    for i in 0..p {
                        u[i] += x[i];
                    }
                }
                k += 1;
            }
            if deaths == 0 {
                continue;
            }
            let d0 = b[deaths];
            loglik -= d0.ln();
            let mean: Vec<f64> = (0..p).map(|i| b1[deaths * p + i] / d0).collect();
            for i in 0..p {
                u[i] -= mean[i];
                for j in 0..=i {
                    let v = b2[(deaths * p + i) * p + j] / d0 - mean[i] * mean[j];
                    imat.add(i, j, v);
                    if i != j {
                        imat.add(j, i, v);
                    }
                }
            }
        }
    }
    Pass { loglik, u, imat }
}

//! Newton-Raphson to the maximum of the partial likelihood, the tests and the robust
//! variance (R's `coxph.fit` / `agreg.fit` around `coxfit6` / `agfit4`).

use super::*;

/// A pass gone seriously awry (coxfit6's `notfinite`): a non-finite log-likelihood, score
/// or information.
fn not_finite(pass: &Pass) -> bool {
    !pass.loglik.is_finite()
        || pass.u.iter().any(|v| !v.is_finite())
        || pass.imat.data.iter().any(|v| !v.is_finite())
}

/// coxfit6's step halving, more aggressive each time: `newbeta` moves toward the last good
/// `beta` by the `halving`-th fraction.
fn halve_toward(newbeta: &mut [f64], beta: &[f64], halving: f64) {
    for (nb, b) in newbeta.iter_mut().zip(beta) {
        *nb = (*nb + halving * b) / (halving + 1.0);
    }
}

/// A full Newton step: the last good point becomes `newbeta`, and `newbeta` moves by `step`.
fn newton_step(beta: &mut [f64], newbeta: &mut [f64], step: &[f64]) {
    beta.copy_from_slice(newbeta);
    for (nb, s) in newbeta.iter_mut().zip(step) {
        *nb += s;
    }
}

/// Continues `coxfit6`'s Newton-Raphson from `beta` (log-likelihood `loglik`) to R's rule,
/// |1 − l_old/l_new| ≤ eps, and returns the point where it stops (the last good one if it
/// does not within `max_iter` more iterations) with its pass.
pub(super) fn iterate_to_r_rule(
    d: &Prepared,
    beta: &[f64],
    loglik: f64,
    opts: &CoxOptions,
    risk: &mut [f64],
) -> (Vec<f64>, Pass) {
    let mut beta = beta.to_vec();
    let mut best_loglik = loglik;
    let mut last = likelihood_pass(d, &beta, opts.ties, risk);
    let step = Cholesky::new(&last.imat, opts.toler_chol).solve(&last.u);
    let mut newbeta: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
    let mut halving = 0.0;
    for _ in 0..opts.max_iter {
        let pass = likelihood_pass(d, &newbeta, opts.ties, risk);
        let notfinite = not_finite(&pass);
        if !notfinite && (1.0 - best_loglik / pass.loglik).abs() <= opts.eps {
            return (newbeta, pass);
        }
        if notfinite || pass.loglik < best_loglik {
            halving += 1.0;
            halve_toward(&mut newbeta, &beta, halving);
        } else {
            halving = 0.0;
            best_loglik = pass.loglik;
            let step = Cholesky::new(&pass.imat, opts.toler_chol).solve(&pass.u);
            newton_step(&mut beta, &mut newbeta, &step);
            last = pass;
        }
    }
    (beta, last)
}

/// Fits `coxph(Surv([start,] stop, event) ~ x + strata(s), ties = ..., robust = ...)`.
pub fn cox_fit(data: &CoxData, opts: &CoxOptions) -> CoxFit {
    let n = data.n();
    let p = data.nvar();
    let events = data.event.iter().filter(|&&e| e).count();
    let z = z_for_level(opts.conf_level);
    if events == 0 || p == 0 {
        // R's special case: no events, no fit.
        let means = data
            .x
            .iter()
            .map(|c| c.iter().sum::<f64>() / n.max(1) as f64)
            .collect();
        return CoxFit {
            n,
            events,
            ties: opts.ties,
            iterations: 0,
            converged: true,
            warning: (events == 0).then(|| "no events: the model cannot be fitted".to_owned()),
            infinite: vec![],
            coef: vec![None; p],
            var: Matrix::zeros(p),
            robust_var: None,
            loglik_null: 0.0,
            loglik: 0.0,
            lr_test: ChisqStat::new(Some(0.0), 0),
            wald_test: ChisqStat::new(Some(0.0), 0),
            score_test: ChisqStat::new(Some(0.0), 0),
            concordance: Concordance::NOT_COMPUTED,
            terms: vec![
                CoxTerm {
                    coef: None,
                    exp_coef: None,
                    se: Some(0.0),
                    robust_se: None,
                    z: None,
                    p_value: None,
                    lower: None,
                    upper: None,
                };
                p
            ],
            linear_predictors: vec![0.0; n],
            means,
        };
    }
    let mut d = Prepared::new(data);
    let mut risk = if opts.ties == Ties::Exact {
        vec![]
    } else {
        vec![0.0; n]
    };
    let mut beta = vec![0.0; p];

    // Iteration 0: the null model, the score test.
    let pass = likelihood_pass(&d, &beta, opts.ties, &mut risk);
    let loglik_null = pass.loglik;
    let chol = Cholesky::new(&pass.imat, opts.toler_chol);
    let step = chol.solve(&pass.u);
    let score = pass.u.iter().zip(&step).map(|(a, b)| a * b).sum::<f64>();
    let mut best_loglik = loglik_null;
    let mut newbeta: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
    let mut halving = 0.0;
    let mut iterations = 0;
    let mut converged = false;
    let mut last = pass;
    let mut last_chol = chol;
    for iter in 1..=opts.max_iter {
        iterations = iter;
        let pass = likelihood_pass(&d, &newbeta, opts.ties, &mut risk);
        let chol = Cholesky::new(&pass.imat, opts.toler_chol);
        let notfinite = not_finite(&pass);
        let done = match opts.gconv {
            Some(gconv) if !notfinite && pass.loglik >= best_loglik => {
                let step = chol.solve(&pass.u);
                let g: f64 = pass.u.iter().zip(&step).map(|(a, b)| a * b).sum();
                g / (pass.loglik.abs() + 1e-6) < gconv
            }
            Some(_) => false,
            None => !notfinite && (1.0 - best_loglik / pass.loglik).abs() <= opts.eps,
        };
        if done {
            beta = newbeta.clone();
            best_loglik = pass.loglik;
            last = pass;
            last_chol = chol;
            converged = true;
            break;
        }
        if notfinite || pass.loglik < best_loglik {
            // Not converging: step halving, more aggressive each time.
            halving += 1.0;
            halve_toward(&mut newbeta, &beta, halving);
        } else {
            halving = 0.0;
            best_loglik = pass.loglik;
            let step = chol.solve(&pass.u);
            newton_step(&mut beta, &mut newbeta, &step);
            last = pass;
            last_chol = chol;
        }
    }
    if !converged {
        // Recompute at the last good beta, as coxfit6.
        let pass = likelihood_pass(&d, &beta, opts.ties, &mut risk);
        best_loglik = pass.loglik;
        last_chol = Cholesky::new(&pass.imat, opts.toler_chol);
        last = pass;
    }
    let loglik = best_loglik;
    // R's test for infinite coefficients asks whether one more Newton step would still move
    // a coefficient. PHREG's GCONV rule stops earlier than R's, where that step is not yet
    // negligible on a finite, well-determined fit: make the test where R's rule would have
    // stopped, reached by iterating on from the reported estimate (the estimate itself is
    // PHREG's).
    let r_rule = if converged && opts.gconv.is_some() && opts.max_iter > 1 {
        Some(iterate_to_r_rule(&d, &beta, best_loglik, opts, &mut risk))
    } else {
        None
    };
    // The rest reads neither the risk weights nor the covariates' copy (n × p numbers, when
    // the rows needed one): freed before the linear predictors and the concordance allocate
    // theirs.
    drop(risk);
    d.release_covariates();
    // Back to the original scale.
    let inv = last_chol.inverse();
    let mut var = Matrix::zeros(p);
    for i in 0..p {
        for j in 0..p {
            var.set(i, j, inv.get(i, j) * d.scale[i] * d.scale[j]);
        }
    }
    let coef_all: Vec<f64> = (0..p).map(|i| beta[i] * d.scale[i]).collect();
    let u: Vec<f64> = (0..p).map(|i| last.u[i] / d.scale[i]).collect();
    let singular: Vec<bool> = (0..p)
        .map(|i| last_chol.rank < p && var.get(i, i) == 0.0)
        .collect();

    let mut warning = None;
    let mut infinite = vec![];
    if !converged {
        warning = Some(format!(
            "did not converge in {} iterations (relative loglik change > {})",
            opts.max_iter, opts.eps
        ));
    } else if opts.max_iter > 1 {
        let toler_inf = opts.eps.sqrt();
        // At R's stopping point (the estimate itself under R's rule).
        let (u, var, coef_all) = match &r_rule {
            Some((beta_r, pass_r)) => {
                let inv = Cholesky::new(&pass_r.imat, opts.toler_chol).inverse();
                let mut var_r = Matrix::zeros(p);
                for i in 0..p {
                    for j in 0..p {
                        var_r.set(i, j, inv.get(i, j) * d.scale[i] * d.scale[j]);
                    }
                }
                let u_r: Vec<f64> = (0..p).map(|i| pass_r.u[i] / d.scale[i]).collect();
                let coef_r: Vec<f64> = (0..p).map(|i| beta_r[i] * d.scale[i]).collect();
                (u_r, var_r, coef_r)
            }
            None => (u.clone(), var.clone(), coef_all.clone()),
        };
        infinite = (0..p)
            .filter(|&j| {
                let v: f64 = (0..p).map(|i| u[i] * var.get(i, j)).sum::<f64>().abs();
                !u[j].is_finite() || (v > opts.eps && v > toler_inf * coef_all[j].abs())
            })
            .collect();
    }

    // Linear predictors as R: X b - sum(b * means), aliased coefficients at 0. (Data row
    // r's; the concordance computes them as it reads them, and the n-long vector is
    // allocated after it, where it does not add to the concordance's memory.)
    let center: f64 = (0..p).map(|j| coef_all[j] * d.means[j]).sum();
    let lp_of = |r: usize| (0..p).map(|j| data.x[j][r] * coef_all[j]).sum::<f64>() - center;
    let coef: Vec<Option<f64>> = (0..p)
        .map(|i| (!singular[i]).then_some(coef_all[i]))
        .collect();
    let kept: Vec<usize> = (0..p).filter(|&i| !singular[i]).collect();
    let df = kept.len();

    let robust_var = opts.robust.then(|| {
        let resid = score_residuals(&d, &coef_all, opts.ties, data);
        // dfbeta = resid %*% var (residuals(fit, type = "dfbeta", weighted = TRUE): each row
        // times its weight), summed within clusters (collapse = cluster); robust var =
        // t(dfbeta) %*% dfbeta.
        let clusters = data
            .cluster
            .as_ref()
            .map_or(n, |c| c.iter().map(|&k| k as usize + 1).max().unwrap_or(0));
        let mut dfb = vec![0.0; clusters * p];
        for r in 0..n {
            let w = data.weight(r);
            let k = data.cluster.as_ref().map_or(r, |c| c[r] as usize);
            for j in 0..p {
                dfb[k * p + j] += w
                    * (0..p)
                        .map(|i| resid[r * p + i] * var.get(i, j))
                        .sum::<f64>();
            }
        }
        let mut rv = Matrix::zeros(p);
        for k in 0..clusters {
            let row = &dfb[k * p..(k + 1) * p];
            for i in 0..p {
                for j in 0..p {
                    rv.add(i, j, row[i] * row[j]);
                }
            }
        }
        rv
    });
    let used_var = robust_var.as_ref().unwrap_or(&var);
    let wald = if df == 0 {
        None
    } else {
        let vv = used_var.select(&kept);
        let b: Vec<f64> = kept.iter().map(|&i| coef_all[i]).collect();
        let sol = Cholesky::new(&vv, opts.toler_chol).solve(&b);
        Some(sol.iter().zip(&b).map(|(a, b)| a * b).sum())
    };
    let terms = (0..p)
        .map(|i| {
            if singular[i] {
                return CoxTerm {
                    coef: None,
                    exp_coef: None,
                    se: Some(0.0),
                    robust_se: robust_var.as_ref().map(|_| 0.0),
                    z: None,
                    p_value: None,
                    lower: None,
                    upper: None,
                };
            }
            let b = coef_all[i];
            let se = var.get(i, i).sqrt();
            let rse = robust_var.as_ref().map(|v| v.get(i, i).sqrt());
            let s = rse.unwrap_or(se);
            let zval = b / s;
            CoxTerm {
                coef: Some(b),
                exp_coef: Some(b.exp()),
                se: Some(se),
                robust_se: rse,
                z: Some(zval),
                p_value: Some(two_sided_normal_p(zval)),
                lower: Some((b - z * s).exp()),
                upper: Some((b + z * s).exp()),
            }
        })
        .collect();
    let means = d.means.clone();
    let concordance = if opts.concordance {
        concordance_sorted(d, &lp_of, data.cluster.as_deref())
    } else {
        Concordance::NOT_COMPUTED
    };
    let lp: Vec<f64> = if n < PARALLEL_ROWS {
        (0..n).map(lp_of).collect()
    } else {
        (0..n).into_par_iter().map(lp_of).collect()
    };
    CoxFit {
        n,
        events,
        ties: opts.ties,
        iterations,
        converged,
        warning,
        infinite,
        coef,
        var,
        robust_var,
        loglik_null,
        loglik,
        lr_test: ChisqStat::new(Some(2.0 * (loglik - loglik_null)), df),
        wald_test: ChisqStat::new(wald, df),
        score_test: ChisqStat::new(Some(score), df),
        concordance,
        terms,
        linear_predictors: lp,
        means,
    }
}

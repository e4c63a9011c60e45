//! Evaluating `finegray_ph` (cmprsk's `crr`) from the model rows' status codes.

use super::*;

/// `finegray_ph`: the Fine-Gray model of each group, as `cmprsk::crr`, in the `cox_ph`
/// struct: `loglik`/`loglik_null` are crr's pseudo log-likelihoods, `lr_*` summary.crr's
/// pseudo likelihood-ratio test, `wald_*` b' V⁻¹ b with crr's sandwich V, `se` crr's
/// standard error; the score test, concordance and `robust_se` are NULL (crr has none).
pub(super) fn evaluate_fine_gray(call: &ModelOps, states: &[ModelRows]) -> Result<ArrayRef> {
    let mut c = FitColumns::default();
    let mut lengths = vec![];
    let mut t = TermColumns::default();
    let z = survql_stats::distributions::z_for_level(call.options.fit.conf_level);
    for rows in states {
        let (x, names, _, mut warnings) = model_columns(call, rows, None, &mut |k| {
            rows.num.get(k).cloned().unwrap_or_default()
        });
        let data = FineGrayData {
            time: rows.stop.clone(),
            status: rows.status.clone(),
            x,
        };
        let fit = fine_gray(&data, call.cause, &call.options.fine_gray);
        if !fit.converged {
            warnings.push(format!(
                "did not converge in {} iterations (crr's gradient criterion, gtol {})",
                call.options.fine_gray.max_iter, call.options.fine_gray.gtol
            ));
        }
        if fit.events == 0 && !rows.stop.is_empty() {
            warnings.push(format!("no failures of cause {}: no fit", call.cause));
        }
        let aliased: Vec<&str> = (0..names.len())
            .filter(|&i| fit.coef[i].is_none() && fit.events > 0)
            .map(|i| names[i].as_str())
            .collect();
        if !aliased.is_empty() {
            warnings.push(format!(
                "{} not estimable (zero variance or collinear): coefficient NULL",
                aliased.join(", ")
            ));
        }
        let warning = (!warnings.is_empty()).then(|| warnings.join("; "));
        if let Some(w) = &warning {
            call.sink.push(format!("{}: {w}", call.expression));
        }
        let kept: Vec<usize> = (0..names.len())
            .filter(|&i| fit.coef[i].is_some())
            .collect();
        let df = kept.len();
        let b: Vec<f64> = kept.iter().map(|&i| fit.coef[i].unwrap_or(0.0)).collect();
        let fitted = fit.events > 0;
        let lr = (fitted && df > 0).then_some(2.0 * (fit.loglik - fit.loglik_null));
        let wald = (fitted && df > 0).then(|| {
            let v = fit.var.select(&kept);
            let sol = survql_stats::linalg::Cholesky::new(&v, f64::EPSILON.powf(0.75)).solve(&b);
            sol.iter().zip(&b).map(|(a, b)| a * b).sum::<f64>()
        });
        let p_of = |stat: Option<f64>| {
            stat.map(|s| survql_stats::distributions::pchisq_upper(s, df as f64))
        };
        c.n.push(fit.n as i64);
        c.events.push(fit.events as i64);
        c.ties.push("breslow".to_owned());
        c.iterations.push(fit.iterations as i64);
        c.converged.push(fit.converged);
        c.warning.push(warning);
        c.loglik_null.push(fit.loglik_null);
        c.loglik.push(fit.loglik);
        c.lr.push(lr.and_then(finite_or_null));
        c.lr_df.push(df as i64);
        c.lr_p.push(p_of(lr).and_then(finite_or_null));
        c.wald.push(wald.and_then(finite_or_null));
        c.wald_p.push(p_of(wald).and_then(finite_or_null));
        c.score.push(None);
        c.score_p.push(None);
        c.conc.push(None);
        c.conc_se.push(None);
        lengths.push(names.len());
        for (i, name) in names.iter().enumerate() {
            t.term.push(name.clone());
            t.robust_se.push(None);
            match fit.coef[i] {
                Some(b) => {
                    let se = fit.var.get(i, i).sqrt();
                    let zval = b / se;
                    t.coef.push(Some(b));
                    t.exp_coef.push(finite_or_null(b.exp()));
                    t.se.push(finite_or_null(se));
                    t.z.push(finite_or_null(zval));
                    t.p.push(finite_or_null(
                        survql_stats::distributions::two_sided_normal_p(zval),
                    ));
                    t.lower.push(finite_or_null((b - z * se).exp()));
                    t.upper.push(finite_or_null((b + z * se).exp()));
                }
                None => {
                    t.coef.push(None);
                    t.exp_coef.push(None);
                    t.se.push(None);
                    t.z.push(None);
                    t.p.push(None);
                    t.lower.push(None);
                    t.upper.push(None);
                }
            }
        }
    }
    fit_struct(c, &lengths, t)
}

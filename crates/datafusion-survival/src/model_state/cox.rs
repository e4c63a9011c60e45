//! Evaluating `cox_ph`, `cox_ph_strat`, `cox_ph_counting` (and Firth's penalised fit):
//! one fitted row per group, terms as a list.

use super::*;

/// The most work `ties=exact` may take (see [`survql_stats::cox::exact_ties_cost`]): about
/// ten seconds per iteration; R's `coxexact` would need as many numbers of memory.
pub(super) const EXACT_TIES_MAX_COST: f64 = 2e9;

/// A group's fit: the fit, coefficient names, its warning, the model data and each
/// covariate argument's coefficients.
pub(super) type FittedRow = (
    CoxFit,
    Vec<String>,
    Option<String>,
    CoxData,
    Vec<Vec<usize>>,
);

pub(super) fn fit_row(call: &ModelOps, rows: &ModelRows) -> Result<FittedRow> {
    fit_model_data(call, model_data(call, rows))
}

/// The fit of [`fit_row`] on model data already built.
pub(super) fn fit_model_data(call: &ModelOps, data: ModelData) -> Result<FittedRow> {
    // Predicted curves and cox.zph do not report the concordance.
    fit_model_data_with(
        call,
        data,
        !(call.kind.curve() || matches!(call.kind, ModelKind::Zph | ModelKind::AdjustedCurve)),
    )
}

/// [`fit_model_data`], computing the concordance only when `concordance` (the window
/// functions' per-row values do not need it).
pub(super) fn fit_model_data_with(
    call: &ModelOps,
    (mut data, names, groups, mut notes): ModelData,
    concordance: bool,
) -> Result<FittedRow> {
    if call.options.fit.ties == Ties::Exact {
        let cost = survql_stats::cox::exact_ties_cost(&data);
        if cost > EXACT_TIES_MAX_COST {
            return exec_err!(
                "{}: ties=exact on these data needs (rows × most tied deaths × running sums) = \
                 {cost:.3e} operations per iteration, more than the {EXACT_TIES_MAX_COST:e} \
                 allowed; use ties=efron (R's default, close to exact when ties are few)",
                call.function
            );
        }
    }
    // R's coxph: robust by default with a cluster or when some weight is not a whole number
    // (has.rwt); a cluster with robust=false is ignored with a warning, as R.
    let robust = call
        .options
        .robust
        .unwrap_or_else(|| data.cluster.is_some() || data.has_fractional_weights());
    if !robust && data.cluster.take().is_some() {
        notes.push("cluster specified with robust=false, cluster ignored".to_owned());
    }
    let options = CoxOptions {
        robust,
        concordance,
        ..call.options.fit
    };
    let fit = cox_fit(&data, &options);
    let mut warnings: Vec<String> = notes;
    if let Some(w) = &fit.warning {
        warnings.push(w.clone());
    }
    if !fit.infinite.is_empty() {
        let which: Vec<&str> = fit.infinite.iter().map(|&i| names[i].as_str()).collect();
        warnings.push(format!(
            "coefficient for {} may be infinite (monotone likelihood)",
            which.join(", ")
        ));
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
    Ok((fit, names, warning, data, groups))
}

pub(super) fn evaluate(call: &ModelOps, states: &mut [ModelRows]) -> Result<ArrayRef> {
    settle_all(states);
    if call.kind == ModelKind::Zph {
        return evaluate_zph(call, states);
    }
    if call.kind == ModelKind::FineGray {
        return evaluate_fine_gray(call, states);
    }
    if call.kind.parametric() {
        return evaluate_survreg(call, states);
    }
    if call.kind.curve() {
        return evaluate_curve(call, states);
    }
    if call.kind == ModelKind::AdjustedCurve {
        return evaluate_adjusted_curve(call, states);
    }
    let mut c = FitColumns::default();
    let mut lengths = vec![];
    let mut t = TermColumns::default();
    for rows in states {
        if call.options.firth {
            lengths.push(firth_row(call, rows, &mut c, &mut t));
            continue;
        }
        let (fit, names, warning, data, groups) =
            fit_model_data(call, lend_model_data(call, rows))?;
        give_back_model_data(call, rows, data, &groups);
        c.n.push(fit.n as i64);
        c.events.push(fit.events as i64);
        c.ties.push(fit.ties.name().to_owned());
        c.iterations.push(fit.iterations as i64);
        c.converged.push(fit.converged);
        c.warning.push(warning);
        c.loglik_null.push(fit.loglik_null);
        c.loglik.push(fit.loglik);
        c.lr.push(fit.lr_test.statistic.and_then(finite_or_null));
        c.lr_df.push(fit.lr_test.df as i64);
        c.lr_p.push(fit.lr_test.p_value.and_then(finite_or_null));
        c.wald
            .push(fit.wald_test.statistic.and_then(finite_or_null));
        c.wald_p
            .push(fit.wald_test.p_value.and_then(finite_or_null));
        c.score
            .push(fit.score_test.statistic.and_then(finite_or_null));
        c.score_p
            .push(fit.score_test.p_value.and_then(finite_or_null));
        c.conc.push(fit.concordance.concordance);
        c.conc_se.push(fit.concordance.std_err);
        lengths.push(names.len());
        for (i, name) in names.iter().enumerate() {
            let term = &fit.terms[i];
            t.term.push(name.clone());
            t.coef.push(term.coef);
            t.exp_coef.push(term.exp_coef.and_then(finite_or_null));
            t.se.push(term.se.and_then(finite_or_null));
            t.robust_se.push(term.robust_se);
            t.z.push(term.z.and_then(finite_or_null));
            t.p.push(term.p_value.and_then(finite_or_null));
            t.lower.push(term.lower.and_then(finite_or_null));
            t.upper.push(term.upper.and_then(finite_or_null));
        }
    }
    fit_struct(c, &lengths, t)
}

/// `firth=true`: Firth's penalised fit of one group into the result columns (`ties` says
/// "breslow (firth)"; `loglik*` are penalised, `lr_*` their likelihood-ratio test, `wald_*`
/// b' I b, the score test NULL; `lower`/`upper` profile penalised-likelihood limits).
/// Returns the number of terms.
pub(super) fn firth_row(
    call: &ModelOps,
    rows: &ModelRows,
    c: &mut FitColumns,
    t: &mut TermColumns,
) -> usize {
    let (data, names, _, mut notes) = model_data(call, rows);
    let events = data.event.iter().filter(|&&e| e).count();
    let fit = (events > 0)
        .then(|| {
            survql_stats::firth::firth_fit(
                &data,
                call.options.fit.conf_level,
                call.options.fit.max_iter.max(50),
            )
        })
        .flatten();
    if events == 0 {
        notes.push("no events: the model cannot be fitted".to_owned());
    } else if fit.is_none() {
        notes.push(
            "the information matrix is singular (a constant or collinear covariate): no Firth fit"
                .to_owned(),
        );
    }
    if let Some(f) = &fit {
        if !f.converged {
            notes.push("the penalised fit did not converge".to_owned());
        }
        for (j, name) in names.iter().enumerate() {
            if f.lower[j].is_none() || f.upper[j].is_none() {
                notes.push(format!(
                    "the profile likelihood of {name} does not reach its limit on one side (infinite limit)"
                ));
            }
        }
    }
    let warning = (!notes.is_empty()).then(|| notes.join("; "));
    if let Some(w) = &warning {
        call.sink.push(format!("{}: {w}", call.expression));
    }
    let p = names.len();
    c.n.push(data.n() as i64);
    c.events.push(events as i64);
    c.ties.push("breslow (firth)".to_owned());
    c.iterations
        .push(fit.as_ref().map_or(0, |f| f.iterations as i64));
    c.converged.push(fit.as_ref().is_some_and(|f| f.converged));
    c.warning.push(warning);
    c.loglik_null
        .push(fit.as_ref().map_or(f64::NAN, |f| f.loglik_null));
    c.loglik.push(fit.as_ref().map_or(f64::NAN, |f| f.loglik));
    let chi = |s: Option<f64>| s.map(|s| survql_stats::distributions::pchisq_upper(s, p as f64));
    let lr = fit.as_ref().map(|f| 2.0 * (f.loglik - f.loglik_null));
    let wald = fit.as_ref().map(|f| f.wald);
    c.lr.push(lr.and_then(finite_or_null));
    c.lr_df.push(p as i64);
    c.lr_p.push(chi(lr).and_then(finite_or_null));
    c.wald.push(wald.and_then(finite_or_null));
    c.wald_p.push(chi(wald).and_then(finite_or_null));
    c.score.push(None);
    c.score_p.push(None);
    let concordance = fit.as_ref().map(|f| {
        let lp: Vec<f64> = (0..data.n())
            .map(|r| (0..p).map(|j| data.x[j][r] * f.coef[j]).sum())
            .collect();
        survql_stats::cox::concordance(&data, &lp)
    });
    c.conc.push(concordance.and_then(|k| k.concordance));
    c.conc_se.push(concordance.and_then(|k| k.std_err));
    for (j, name) in names.iter().enumerate() {
        t.term.push(name.clone());
        t.robust_se.push(None);
        match &fit {
            Some(f) => {
                t.coef.push(finite_or_null(f.coef[j]));
                t.exp_coef.push(finite_or_null(f.coef[j].exp()));
                t.se.push(finite_or_null(f.se[j]));
                t.z.push(finite_or_null(f.z[j]));
                t.p.push(finite_or_null(f.p_value[j]));
                t.lower.push(f.lower[j].and_then(finite_or_null));
                t.upper.push(f.upper[j].and_then(finite_or_null));
            }
            None => {
                for col in [
                    &mut t.coef,
                    &mut t.exp_coef,
                    &mut t.se,
                    &mut t.z,
                    &mut t.p,
                    &mut t.lower,
                    &mut t.upper,
                ] {
                    col.push(None);
                }
            }
        }
    }
    p
}

/// The result struct of `cox_ph*` and `finegray_ph` from its columns.
pub(super) fn fit_struct(c: FitColumns, lengths: &[usize], t: TermColumns) -> Result<ArrayRef> {
    let terms = struct_array(
        &term_fields(),
        vec![
            string_array(&t.term)?,
            Arc::new(Float64Array::from(t.coef)),
            Arc::new(Float64Array::from(t.exp_coef)),
            Arc::new(Float64Array::from(t.se)),
            Arc::new(Float64Array::from(t.robust_se)),
            Arc::new(Float64Array::from(t.z)),
            Arc::new(Float64Array::from(t.p)),
            Arc::new(Float64Array::from(t.lower)),
            Arc::new(Float64Array::from(t.upper)),
        ],
    );
    Ok(struct_array(
        &fit_fields(),
        vec![
            Arc::new(Int64Array::from(c.n)),
            Arc::new(Int64Array::from(c.events)),
            string_array(&c.ties)?,
            Arc::new(Int64Array::from(c.iterations)),
            Arc::new(BooleanArray::from(c.converged)),
            Arc::new(StringArray::from(c.warning)),
            Arc::new(Float64Array::from(c.loglik_null)),
            Arc::new(Float64Array::from(c.loglik)),
            Arc::new(Float64Array::from(c.lr)),
            Arc::new(Int64Array::from(c.lr_df)),
            Arc::new(Float64Array::from(c.lr_p)),
            Arc::new(Float64Array::from(c.wald)),
            Arc::new(Float64Array::from(c.wald_p)),
            Arc::new(Float64Array::from(c.score)),
            Arc::new(Float64Array::from(c.score_p)),
            Arc::new(Float64Array::from(c.conc)),
            Arc::new(Float64Array::from(c.conc_se)),
            list_array(lengths, terms)?,
        ],
    ))
}

#[derive(Default)]
pub(super) struct FitColumns {
    pub(super) n: Vec<i64>,
    pub(super) events: Vec<i64>,
    pub(super) ties: Vec<String>,
    pub(super) iterations: Vec<i64>,
    pub(super) converged: Vec<bool>,
    pub(super) warning: Vec<Option<String>>,
    pub(super) loglik_null: Vec<f64>,
    pub(super) loglik: Vec<f64>,
    pub(super) lr: Vec<Option<f64>>,
    pub(super) lr_df: Vec<i64>,
    pub(super) lr_p: Vec<Option<f64>>,
    pub(super) wald: Vec<Option<f64>>,
    pub(super) wald_p: Vec<Option<f64>>,
    pub(super) score: Vec<Option<f64>>,
    pub(super) score_p: Vec<Option<f64>>,
    pub(super) conc: Vec<Option<f64>>,
    pub(super) conc_se: Vec<Option<f64>>,
}

#[derive(Default)]
pub(super) struct TermColumns {
    pub(super) term: Vec<String>,
    pub(super) coef: Vec<Option<f64>>,
    pub(super) exp_coef: Vec<Option<f64>>,
    pub(super) se: Vec<Option<f64>>,
    pub(super) robust_se: Vec<Option<f64>>,
    pub(super) z: Vec<Option<f64>>,
    pub(super) p: Vec<Option<f64>>,
    pub(super) lower: Vec<Option<f64>>,
    pub(super) upper: Vec<Option<f64>>,
}

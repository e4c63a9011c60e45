//! Evaluating `survreg` and `survreg_strat` (R's `survreg`) from the model rows.

use super::*;

/// `survreg`: the parametric model of each group, as R's `survreg`.
pub(super) fn evaluate_survreg(call: &ModelOps, states: &[ModelRows]) -> Result<ArrayRef> {
    let mut n = vec![];
    let mut events = vec![];
    let mut dist = vec![];
    let (mut scale, mut log_scale_se, mut loglik, mut loglik_null) =
        (vec![], vec![], vec![], vec![]);
    let (mut chisq, mut df, mut p, mut iterations, mut converged, mut warning) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut lengths = vec![];
    let (mut term, mut coef, mut se, mut z, mut tp, mut lower, mut upper) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut stratum, mut stratum_scale, mut stratum_se, mut strata_lengths) =
        (vec![], vec![], vec![], vec![]);
    for rows in states {
        // The rows in canonical order: sums formed in the same order whatever the partitioning.
        let (data, names, _, mut notes) = model_data(call, rows);
        let opts = call.options.survreg;
        let strata = call.kind.stratified().then_some(&data.strata[..]);
        let fit = survql_stats::survreg(&data.stop, &data.event, &data.x, strata, &opts)
            .map_err(|e| datafusion::common::exec_datafusion_err!("{}: {e}", call.function))?;
        if strata.is_some() {
            // data.strata are the ranks of the labels in sorted order.
            let names = &rows.strata_labels.names;
            for (rank, &id) in sorted_label_order(names).iter().enumerate() {
                stratum.push(names[id].to_string());
                stratum_scale.push(fit.scales.get(rank).copied().and_then(finite_or_null));
                stratum_se.push(fit.log_scale_ses.get(rank).copied().flatten());
            }
            strata_lengths.push(names.len());
        }
        if let Some(w) = &fit.warning {
            notes.push(w.clone());
        }
        if rows.stop.is_empty() {
            notes.push("no rows: no fit".to_owned());
        }
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        if let Some(w) = &note {
            call.sink.push(format!("{}: {w}", call.expression));
        }
        let fitted = !rows.stop.is_empty();
        let keep = |v: Option<f64>| v.filter(|_| fitted).and_then(finite_or_null);
        n.push(fit.n as i64);
        events.push(fit.events as i64);
        dist.push(fit.dist.name().to_owned());
        // With strata the scales are per stratum (the `strata` field).
        let single = strata.is_none();
        scale.push(keep(Some(fit.scale).filter(|_| single)));
        log_scale_se.push(keep(fit.log_scale_se.filter(|_| single)));
        loglik.push(keep(Some(fit.loglik)));
        loglik_null.push(keep(Some(fit.loglik_null)));
        chisq.push(keep(Some(fit.chisq)));
        df.push(fit.df as i64);
        p.push(keep(fit.p_value));
        iterations.push(fit.iterations as i64);
        converged.push(fit.converged);
        warning.push(note);
        let all_names = std::iter::once("(Intercept)".to_owned()).chain(names);
        let mut count = 0;
        for (name, t) in all_names.zip(&fit.terms) {
            term.push(name);
            coef.push(keep(t.coef));
            se.push(keep(t.se));
            z.push(keep(t.z));
            tp.push(keep(t.p_value));
            lower.push(keep(t.lower));
            upper.push(keep(t.upper));
            count += 1;
        }
        lengths.push(count);
    }
    let f64s = |v: Vec<Option<f64>>| -> ArrayRef { Arc::new(Float64Array::from(v)) };
    let terms = struct_array(
        &survreg_term_fields(),
        vec![
            string_array(&term)?,
            f64s(coef),
            f64s(se),
            f64s(z),
            f64s(tp),
            f64s(lower),
            f64s(upper),
        ],
    );
    let mut columns = vec![
        Arc::new(Int64Array::from(n)) as ArrayRef,
        Arc::new(Int64Array::from(events)),
        string_array(&dist)?,
        f64s(scale),
        f64s(log_scale_se),
        f64s(loglik),
        f64s(loglik_null),
        f64s(chisq),
        Arc::new(Int64Array::from(df)),
        f64s(p),
        Arc::new(Int64Array::from(iterations)),
        Arc::new(BooleanArray::from(converged)),
        Arc::new(StringArray::from(warning)),
        list_array(&lengths, terms)?,
    ];
    if !call.kind.stratified() {
        return Ok(struct_array(&survreg_fields(), columns));
    }
    let scales = struct_array(
        &stratum_scale_fields(),
        vec![
            string_array(&stratum)?,
            f64s(stratum_scale),
            f64s(stratum_se),
        ],
    );
    columns.push(list_array(&strata_lengths, scales)?);
    Ok(struct_array(&survreg_strat_fields(), columns))
}

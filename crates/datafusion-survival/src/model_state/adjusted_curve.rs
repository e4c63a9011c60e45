//! Evaluating `cox_adjusted_curve` (R's `riskRegression::ate`, g-formula): the fit with grp
//! as a factor, then each level's direct-standardised curve at the requested times.

use super::*;

/// The most work the standard errors may take: seconds on one core.
const ADJUSTED_MAX_COST: f64 = 5e9;

/// Per group: the fit, then one curve per level of grp (its factor order) at `times=` or at
/// every event time; see [`survql_stats::cox_adjusted_curve`]. A group without rows or events
/// gives NULL with a warning; a time past the last follow-up is an error naming it.
pub(super) fn evaluate_adjusted_curve(call: &ModelOps, states: &[ModelRows]) -> Result<ArrayRef> {
    let mut points = AdjustedPoints::default();
    let mut lengths = Vec::with_capacity(states.len());
    let mut valid = Vec::with_capacity(states.len());
    for rows in states {
        let before = points.time.len();
        let ok = rows.len() > 0 && adjusted_row(call, rows, &mut points)?;
        lengths.push(points.time.len() - before);
        valid.push(ok);
    }
    let items = struct_array(
        &adjusted_curve_fields(),
        vec![
            Arc::new(StringArray::from(points.grp)),
            Arc::new(Float64Array::from(points.time)),
            Arc::new(Float64Array::from(points.surv)),
            Arc::new(Float64Array::from(points.std_err)),
            Arc::new(Float64Array::from(points.lower)),
            Arc::new(Float64Array::from(points.upper)),
        ],
    );
    nullable_list_array(&lengths, &valid, items)
}

/// The result's columns, every group's points one after the other.
#[derive(Default)]
struct AdjustedPoints {
    grp: Vec<String>,
    time: Vec<f64>,
    surv: Vec<f64>,
    std_err: Vec<Option<f64>>,
    lower: Vec<Option<f64>>,
    upper: Vec<Option<f64>>,
}

/// One group's curves appended to `points`; false (NULL, with a warning) when the group has
/// no event.
fn adjusted_row(call: &ModelOps, rows: &ModelRows, points: &mut AdjustedPoints) -> Result<bool> {
    let (fit, _, warning, data, columns) = fit_row(call, rows)?;
    if let Some(w) = warning {
        call.sink.push(format!("{}: {w}", call.expression));
    }
    if fit.events == 0 {
        call.sink
            .push(format!("{}: no events: NULL", call.expression));
        return Ok(false);
    }
    let labels = rows.fac_labels.first().map_or(&[][..], |l| &l.names[..]);
    let levels: Vec<&str> = sorted_label_order(labels)
        .into_iter()
        .map(|id| &*labels[id])
        .collect();
    if levels.len() < 2 {
        call.sink.push(format!(
            "{}: grp has one level ({}): its curve is the model's mean predicted curve",
            call.expression,
            levels.first().copied().unwrap_or("")
        ));
    }
    let last = data.stop.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let times = match &call.options.times {
        Some(times) => {
            if let Some(&t) = times.iter().find(|&&t| t > last) {
                return exec_err!(
                    "{}: option 'times' must be at most the last follow-up time {last}, found {t} \
                     (the model predicts nothing past it)",
                    call.function
                );
            }
            times.clone()
        }
        None => {
            let mut t: Vec<f64> = (0..data.n())
                .filter(|&i| data.event[i])
                .map(|i| data.stop[i])
                .collect();
            t.sort_unstable_by(f64::total_cmp);
            t.dedup();
            t
        }
    };
    // Every (level, time) point sums n influence terms of p + 2 parts each: the work is that
    // product, bounded as ties=exact's (a default grid of every event time over millions of
    // rows would take hours; a chosen grid does not).
    let cost =
        data.n() as f64 * times.len() as f64 * levels.len() as f64 * (fit.coef.len() + 2) as f64;
    if cost > ADJUSTED_MAX_COST {
        return exec_err!(
            "{}: {} rows × {} times × {} levels × {} terms = {cost:.3e} operations, more than \
             the {ADJUSTED_MAX_COST:e} allowed; choose the times with the option times=t1 t2 ...",
            call.function,
            data.n(),
            times.len(),
            levels.len(),
            fit.coef.len() + 2
        );
    }
    let dfbeta = survql_stats::cox::cox_dfbeta(&data, &fit, fit.ties, false);
    let curves = survql_stats::cox_adjusted_curve::cox_adjusted_curves(
        &data,
        &fit,
        &dfbeta,
        &columns[0],
        &times,
    );
    let z = survql_stats::distributions::z_for_level(call.options.fit.conf_level);
    for (level, curve) in levels.iter().zip(&curves) {
        for k in 0..curve.time.len() {
            let (s, se) = (curve.surv[k], curve.std_err[k]);
            // km::confint takes the SE of −log S.
            let (lo, hi) = survql_stats::km::confint(s, se / s, call.options.conf_type, z);
            points.grp.push((*level).to_owned());
            points.time.push(curve.time[k]);
            points.surv.push(s);
            points.std_err.push(finite_or_null(se));
            points.lower.push(finite_or_null(lo));
            points.upper.push(finite_or_null(hi));
        }
    }
    Ok(true)
}

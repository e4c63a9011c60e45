//! Evaluating `cox_curve` (R's `survfit(coxph, newdata)`): the fit, then the curve at the
//! call's covariate profile.

use super::*;

/// `cox_curve` / `cox_curve_strat`: per group the fit, then the predicted curve of the
/// call's profile (see [`survql_stats::cox_curve`]). A group without rows, or whose data lack
/// the profile's factor level or stratum, gives NULL with a warning.
pub(super) fn evaluate_curve(call: &ModelOps, states: &[ModelRows]) -> Result<ArrayRef> {
    let (mut time, mut surv, mut se, mut lower, mut upper, mut cumhaz) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut lengths = Vec::with_capacity(states.len());
    let mut valid = Vec::with_capacity(states.len());
    let z_level = survql_stats::distributions::z_for_level(call.options.fit.conf_level);
    for rows in states {
        if rows.len() == 0 {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let (fit, _, _, data, columns) = fit_row(call, rows)?;
        let target = match curve_target(call, rows, &fit, &columns) {
            Ok(t) => t,
            Err(why) => {
                call.sink.push(format!("{}: {why}: NULL", call.expression));
                lengths.push(0);
                valid.push(false);
                continue;
            }
        };
        let curve = survql_stats::cox_curve::cox_curve(&data, &fit, &target.0, target.1);
        lengths.push(curve.time.len());
        valid.push(true);
        for k in 0..curve.time.len() {
            let (s, se_h) = (curve.surv[k], curve.std_err_cumhaz[k]);
            let (lo, hi) = survql_stats::km::confint(s, se_h, call.options.conf_type, z_level);
            time.push(curve.time[k]);
            surv.push(s);
            se.push(finite_or_null(s * se_h));
            lower.push(finite_or_null(lo));
            upper.push(finite_or_null(hi));
            cumhaz.push(curve.cumhaz[k]);
        }
    }
    let items = struct_array(
        &curve_fields(),
        vec![
            Arc::new(Float64Array::from(time)),
            Arc::new(Float64Array::from(surv)),
            Arc::new(Float64Array::from(se)),
            Arc::new(Float64Array::from(lower)),
            Arc::new(Float64Array::from(upper)),
            Arc::new(Float64Array::from(cumhaz)),
        ],
    );
    nullable_list_array(&lengths, &valid, items)
}

/// Whether a label of the data is the one a profile names: the same text, or the same
/// number (a numeric column's stratum "2" may be written 2.0).
pub(super) fn same_label(label: &str, wanted: &str) -> bool {
    label == wanted
        || matches!((label.parse::<f64>(), wanted.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
}

/// The covariate vector z (one value per model column) and the stratum of a curve call in
/// one group's fit; an error text when the group's data lack the profile's level or stratum.
pub(super) fn curve_target(
    call: &ModelOps,
    rows: &ModelRows,
    fit: &CoxFit,
    columns: &[Vec<usize>],
) -> std::result::Result<(Vec<f64>, u32), String> {
    let p = fit.means.len();
    let profile = &call.profile;
    let z = if profile.values.is_empty() {
        // R's default curve is at fit$means (0 for {-1, 0, 1} columns, as the fit centres);
        // centered=false is basehaz(fit, centered = FALSE): every covariate 0.
        match call.options.centered {
            Some(false) => vec![0.0; p],
            _ => fit.means.clone(),
        }
    } else {
        let mut z = vec![0.0; p];
        for (k, value) in profile.values.iter().enumerate() {
            match value {
                None => {}
                Some(ProfileValue::Number(v)) => {
                    if let Some(&j) = columns[k].first() {
                        z[j] = *v;
                    }
                }
                Some(ProfileValue::Level(level)) => {
                    let labels = rows.fac_labels.get(k).map_or(&[][..], |l| &l.names[..]);
                    let order = sorted_label_order(labels);
                    let Some(pos) = order.iter().position(|&id| same_label(&labels[id], level))
                    else {
                        return Err(format!(
                            "covariate '{}' has no level '{level}' in the data",
                            call.covariates[k].name()
                        ));
                    };
                    // Treatment coding: the first level is the reference (all columns 0).
                    if pos > 0 {
                        z[columns[k][pos - 1]] = 1.0;
                    }
                }
            }
        }
        z
    };
    let stratum = match &profile.stratum {
        None => 0,
        Some(label) => {
            let order = sorted_label_order(&rows.strata_labels.names);
            match order
                .iter()
                .position(|&id| same_label(&rows.strata_labels.names[id], label))
            {
                Some(rank) => rank as u32,
                None => return Err(format!("the data have no stratum '{label}'")),
            }
        }
    };
    Ok((z, stratum))
}

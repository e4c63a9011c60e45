//! The model functions' signatures: argument coercion (`surv(...)` or `time, event`, then
//! covariates, factors, `strata(...)`/`cluster(...)` terms and the options string), the
//! state fields each call keeps, and the result types of the fit, survreg, curve and zph
//! results.

use super::*;

/// Coerces Cox arguments: times to DOUBLE, event 0/1/boolean, strata any type, covariates
/// numeric → DOUBLE, BOOLEAN kept, strings/dictionaries → VARCHAR (factors).
pub(crate) fn coerce_model_types(
    function: &str,
    kind: ModelKind,
    arg_types: &[DataType],
    syntax: &str,
) -> Result<Vec<DataType>> {
    if matches!(
        kind,
        ModelKind::Ph | ModelKind::Strat | ModelKind::Zph | ModelKind::AdjustedCurve
    ) || kind.curve()
    {
        // cox.zph: counting-process data (surv(start, stop, event)) but no weights; the
        // adjusted curve (riskRegression's ate): right-censored, unweighted.
        let takes = Takes {
            entry: kind != ModelKind::AdjustedCurve,
            weight: !matches!(kind, ModelKind::Zph | ModelKind::AdjustedCurve),
        };
        return coerce_with_response(function, arg_types, takes, |types| {
            coerce_model_classic(function, kind, types, syntax)
        });
    }
    if kind == ModelKind::FineGray && arg_types.first().and_then(response_shape).is_some() {
        // R's weighted Fine-Gray (survival::finegray() + coxph(weights = fgwt)) is another
        // estimator of the variance than crr's, which has no weights: not mixed in here.
        return plan_err!(
            "{function} does not take surv(...): cmprsk::crr, which it reproduces, has neither \
             delayed entry nor case weights; usage: {syntax}"
        );
    }
    crate::coerce::refuse_response(function, arg_types, syntax)?;
    coerce_model_classic(function, kind, arg_types, syntax)
}

/// [`coerce_model_types`] for `time, event, ...` arguments.
pub(super) fn coerce_model_classic(
    function: &str,
    kind: ModelKind,
    arg_types: &[DataType],
    syntax: &str,
) -> Result<Vec<DataType>> {
    let fixed = kind.fixed();
    if arg_types.len() < fixed + 1 {
        return plan_err!(
            "{function}: expected at least {} arguments (one covariate), found {}; usage: {syntax}",
            fixed + 1,
            arg_types.len()
        );
    }
    let names = kind.arg_names();
    let mut out = vec![];
    for (i, dt) in arg_types.iter().enumerate() {
        let coerced = if i < fixed {
            match names[i] {
                "event" => coerce_event(function, dt)?,
                "status" => crate::competing_state::coerce_status(function, dt)?,
                "cause" => crate::coerce::coerce_option(function, "cause", dt, &DataType::Float64)?,
                "strata" => match dt {
                    DataType::Null => DataType::Utf8,
                    d => d.clone(),
                },
                n => coerce_time(function, n, dt)?,
            }
        } else {
            match dt {
                DataType::Boolean => DataType::Boolean,
                // strata(s): the model's strata (R's `+ strata(s)`), not a covariate.
                d if crate::model_terms::is_strata(d) => {
                    if !matches!(kind, ModelKind::Ph | ModelKind::Counting) {
                        return plan_err!(
                            "{function} does not take strata(...){}",
                            if kind.stratified() {
                                ": its strata are an argument"
                            } else {
                                " (cox_ph, cox_ph_counting and the Cox window functions do)"
                            }
                        );
                    }
                    if arg_types[fixed..i]
                        .iter()
                        .any(crate::model_terms::is_strata)
                    {
                        return plan_err!(
                            "{function}: a model has at most one strata(...); combine columns \
                             (strata(a || '/' || b)) for their interaction, as R's strata(a, b)"
                        );
                    }
                    d.clone()
                }
                // cluster(id): the robust variance's clusters, not a covariate.
                d if crate::model_terms::is_cluster(d) => {
                    if !matches!(kind, ModelKind::Ph | ModelKind::Strat | ModelKind::Counting)
                        && !kind.curve()
                    {
                        return plan_err!("{function} does not take cluster(...)");
                    }
                    if arg_types[fixed..i]
                        .iter()
                        .any(crate::model_terms::is_cluster)
                    {
                        return plan_err!("{function}: a model has at most one cluster(...)");
                    }
                    d.clone()
                }
                // Covariates keep their own type (numbers are read as f64, text as labels, in
                // `update`): a CAST here would be a common subexpression of two model calls on
                // the same columns, which DataFusion computes once under the name
                // `__common_expr_N` — and the term would lose its name.
                d if d.is_numeric() => d.clone(),
                DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Dictionary(..) => dt.clone(),
                DataType::Null => DataType::Utf8,
                d => {
                    return plan_err!(
                        "{function}: covariate {} must be numeric, boolean or text, found {d}",
                        i - fixed + 1
                    )
                }
            }
        };
        out.push(coerced);
    }
    Ok(out)
}

/// The state fields: see the module documentation.
pub(crate) fn state_fields(kind: ModelKind, args: &StateFieldsArgs) -> Vec<FieldRef> {
    let list = |name: &str, item: DataType| state_list_field(args.name, name, item);
    let shape = args
        .input_fields
        .first()
        .and_then(|f| response_shape(f.data_type()));
    let mut fields = vec![list("stop", DataType::Float64)];
    if kind == ModelKind::Counting || shape.is_some_and(|s| s.entry) {
        fields.push(list("start", DataType::Float64));
    }
    if kind == ModelKind::FineGray {
        fields.push(list("status", DataType::UInt32));
    } else {
        fields.push(list("event", DataType::Boolean));
    }
    if shape.is_some_and(|s| s.weight) {
        fields.push(list("weight", DataType::Float64));
    }
    if kind.stratified() {
        fields.push(list("strata", DataType::Utf8View));
    }
    // A surv(...) first argument stands for (time, event).
    let covariates_from = kind.fixed() - usize::from(shape.is_some());
    for (i, f) in args.input_fields[covariates_from..].iter().enumerate() {
        let dt = match f.data_type() {
            // cox_adjusted_curve's grp: a factor whatever its type.
            _ if kind == ModelKind::AdjustedCurve && i == 0 => DataType::Utf8View,
            DataType::Boolean => DataType::Float64,
            d if d.is_numeric() => DataType::Float64,
            // Views, not Utf8: one label per row over 2e8 rows is more text than 32-bit
            // offsets can address.
            _ => DataType::Utf8View,
        };
        fields.push(list(&format!("x{}", i + 1), dt));
    }
    fields
}

/// STRUCT<term, coef, exp_coef, se, robust_se, z, p_value, lower, upper>.
pub(super) fn term_fields() -> Fields {
    Fields::from(vec![
        Field::new("term", DataType::Utf8, true),
        f64_field("coef"),
        f64_field("exp_coef"),
        f64_field("se"),
        f64_field("robust_se"),
        f64_field("z"),
        f64_field("p_value"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

/// The result struct of `cox_ph*`.
pub(crate) fn fit_fields() -> Fields {
    Fields::from(vec![
        i64_field("n"),
        i64_field("events"),
        Field::new("ties", DataType::Utf8, true),
        i64_field("iterations"),
        Field::new("converged", DataType::Boolean, true),
        Field::new("warning", DataType::Utf8, true),
        f64_field("loglik_null"),
        f64_field("loglik"),
        f64_field("lr_chisq"),
        i64_field("lr_df"),
        f64_field("lr_p"),
        f64_field("wald_chisq"),
        f64_field("wald_p"),
        f64_field("score_chisq"),
        f64_field("score_p"),
        f64_field("concordance"),
        f64_field("concordance_se"),
        Field::new("terms", list_of(DataType::Struct(term_fields())), true),
    ])
}

/// STRUCT<term, coef, se, z, p_value, lower, upper>: a `survreg` coefficient.
pub(super) fn survreg_term_fields() -> Fields {
    Fields::from(vec![
        Field::new("term", DataType::Utf8, true),
        f64_field("coef"),
        f64_field("se"),
        f64_field("z"),
        f64_field("p_value"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

/// The result struct of `survreg`.
pub(crate) fn survreg_fields() -> Fields {
    Fields::from(vec![
        i64_field("n"),
        i64_field("events"),
        Field::new("dist", DataType::Utf8, true),
        f64_field("scale"),
        f64_field("log_scale_se"),
        f64_field("loglik"),
        f64_field("loglik_null"),
        f64_field("chisq"),
        i64_field("df"),
        f64_field("p_value"),
        i64_field("iterations"),
        Field::new("converged", DataType::Boolean, true),
        Field::new("warning", DataType::Utf8, true),
        Field::new(
            "terms",
            list_of(DataType::Struct(survreg_term_fields())),
            true,
        ),
    ])
}

/// The result struct of `survreg_strat`: `survreg`'s (`scale` and `log_scale_se` NULL) and
/// `strata` LIST<STRUCT<stratum, scale, log_scale_se>>, one scale per stratum.
pub(crate) fn survreg_strat_fields() -> Fields {
    let mut fields: Vec<FieldRef> = survreg_fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(
        "strata",
        list_of(DataType::Struct(stratum_scale_fields())),
        true,
    )));
    Fields::from(fields)
}

/// STRUCT<stratum, scale, log_scale_se>.
pub(super) fn stratum_scale_fields() -> Fields {
    Fields::from(vec![
        Field::new("stratum", DataType::Utf8, true),
        f64_field("scale"),
        f64_field("log_scale_se"),
    ])
}

/// STRUCT<term, chisq, df, p_value>.
pub(super) fn zph_term_fields() -> Fields {
    Fields::from(vec![
        Field::new("term", DataType::Utf8, true),
        f64_field("chisq"),
        i64_field("df"),
        f64_field("p_value"),
    ])
}

/// An element of `cox_curve`'s list: STRUCT<time, surv, std_err, lower, upper, cumhaz>.
pub(crate) fn curve_fields() -> Fields {
    Fields::from(vec![
        f64_field("time"),
        f64_field("surv"),
        f64_field("std_err"),
        f64_field("lower"),
        f64_field("upper"),
        f64_field("cumhaz"),
    ])
}

/// STRUCT<grp, time, surv, std_err, lower, upper>: a point of `cox_adjusted_curve`.
pub(crate) fn adjusted_curve_fields() -> Fields {
    Fields::from(vec![
        Field::new("grp", DataType::Utf8, true),
        f64_field("time"),
        f64_field("surv"),
        f64_field("std_err"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

/// The result struct of `cox_zph`.
pub(crate) fn zph_fields() -> Fields {
    Fields::from(vec![
        f64_field("global_chisq"),
        i64_field("global_df"),
        f64_field("global_p"),
        Field::new("terms", list_of(DataType::Struct(zph_term_fields())), true),
    ])
}

pub(crate) fn return_type(kind: ModelKind) -> DataType {
    match kind {
        ModelKind::Zph => DataType::Struct(zph_fields()),
        ModelKind::Survreg => DataType::Struct(survreg_fields()),
        ModelKind::SurvregStrat => DataType::Struct(survreg_strat_fields()),
        ModelKind::Curve | ModelKind::CurveStrat => list_of(DataType::Struct(curve_fields())),
        ModelKind::AdjustedCurve => list_of(DataType::Struct(adjusted_curve_fields())),
        _ => DataType::Struct(fit_fields()),
    }
}

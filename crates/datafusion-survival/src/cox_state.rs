//! The state shared by `cox_ph`, `cox_ph_strat`, `cox_ph_counting`, `cox_zph` and
//! `finegray_ph`: the rows
//! the fit needs, in compact columnar form (times as f64, events as booleans, strata and
//! factor covariates as interned labels, numeric covariates as f64). Memory is
//! O(rows × covariates): a Cox fit needs every row. Partial states merge by appending rows.
//!
//! State fields, named after the function: `[stop]`, `[start]` (counting process),
//! `[event]` (`[status]` codes for `finegray_ph`), `[weight]` (case weights), `[strata]`
//! (stratified), then one `[x<i>]` per
//! remaining argument (DOUBLE, or VARCHAR for factors and for the trailing options string,
//! whose list stays empty).
//!
//! `cox_ph` and `cox_ph_strat` take `surv([entry,] time, event [, weight])` in place of
//! `time, event` (see [`crate::response`]): an entry makes the data counting-process (R's
//! `coxph(Surv(start, stop, event) ~ ...)`), a weight is R's `weights =`.

use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StringArray, StringViewArray,
    UInt32Array,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, UInt32Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use survql_stats::cox::{
    cox_fit, cox_zph, total_order_bits, CoxData, CoxFit, CoxOptions, Ties, ZphTransform,
    PARALLEL_ROWS,
};
use survql_stats::{
    fine_gray, ConfType, Convention, Dist, FineGrayData, FineGrayOptions, SurvregOptions,
};

use rayon::prelude::*;

use crate::accumulator::StateOps;
use crate::coerce::{coerce_event, coerce_time};
use crate::cox_profile::{split_profile, Profile, ProfileSlot, ProfileValue};
use crate::input_columns::{event_column, row_mask, time_column};
use crate::labels::{label_column, sorted_label_order, Labels};
use crate::limits::{check, limits};
use crate::options::constant_value;
use crate::response::{
    call_shape, coerce_with_response, response_shape, split_values, weight_column, ResponseShape,
    Takes,
};
use crate::result_arrays::{
    f64_field, finite_or_null, i64_field, list_array, list_of, nullable_list_array,
    state_list_field, string_array, struct_array,
};
use crate::row_order::bucketed_order;
use crate::warnings::WarningSink;

/// Which of the Cox functions (and the Fine-Gray model, fitted from the same rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CoxKind {
    Ph,
    Strat,
    Counting,
    Zph,
    /// `finegray_ph(time, status, cause, x...)`: `cmprsk::crr`.
    FineGray,
    /// `survreg(time, event, x...)`: R's parametric `survreg`.
    Survreg,
    /// `survreg_strat(time, event, strata, x...)`: `survreg` with one scale per stratum.
    SurvregStrat,
    /// `cox_curve(time, event, x...)`: the fit's predicted survival curve for a profile.
    Curve,
    /// `cox_curve_strat(time, event, strata, x...)`: the same in one stratum of the fit.
    CurveStrat,
}

impl CoxKind {
    /// Number of leading arguments that are not covariates.
    fn fixed(self) -> usize {
        match self {
            CoxKind::Ph | CoxKind::Zph | CoxKind::Survreg | CoxKind::Curve => 2,
            CoxKind::Strat
            | CoxKind::Counting
            | CoxKind::FineGray
            | CoxKind::CurveStrat
            | CoxKind::SurvregStrat => 3,
        }
    }

    fn arg_names(self) -> &'static [&'static str] {
        match self {
            CoxKind::Ph | CoxKind::Zph | CoxKind::Survreg | CoxKind::Curve => &["time", "event"],
            CoxKind::Strat | CoxKind::CurveStrat | CoxKind::SurvregStrat => {
                &["time", "event", "strata"]
            }
            CoxKind::Counting => &["start", "stop", "event"],
            CoxKind::FineGray => &["time", "status", "cause"],
        }
    }

    /// A strata argument after time and event.
    fn stratified(self) -> bool {
        matches!(
            self,
            CoxKind::Strat | CoxKind::CurveStrat | CoxKind::SurvregStrat
        )
    }

    /// A parametric (survreg) model.
    fn parametric(self) -> bool {
        matches!(self, CoxKind::Survreg | CoxKind::SurvregStrat)
    }

    /// A predicted curve rather than the fit.
    fn curve(self) -> bool {
        matches!(self, CoxKind::Curve | CoxKind::CurveStrat)
    }
}

/// A covariate argument: numeric (one term) or a factor (one term per non-reference level).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Covariate {
    Numeric {
        name: String,
    },
    Boolean {
        name: String,
    },
    Factor {
        name: String,
    },
    /// `cluster(id)`: kept like a factor's labels, used as the robust variance's clusters.
    Cluster {
        name: String,
    },
}

impl Covariate {
    fn name(&self) -> &str {
        match self {
            Covariate::Numeric { name }
            | Covariate::Boolean { name }
            | Covariate::Factor { name }
            | Covariate::Cluster { name } => name,
        }
    }
}

/// Coerces Cox arguments: times to DOUBLE, event 0/1/boolean, strata any type, covariates
/// numeric → DOUBLE, BOOLEAN kept, strings/dictionaries → VARCHAR (factors).
pub(crate) fn coerce_cox_types(
    function: &str,
    kind: CoxKind,
    arg_types: &[DataType],
    syntax: &str,
) -> Result<Vec<DataType>> {
    if matches!(kind, CoxKind::Ph | CoxKind::Strat | CoxKind::Zph) || kind.curve() {
        // cox.zph: counting-process data (surv(start, stop, event)) but no weights.
        let takes = Takes {
            entry: true,
            weight: kind != CoxKind::Zph,
        };
        return coerce_with_response(function, arg_types, takes, |types| {
            coerce_cox_classic(function, kind, types, syntax)
        });
    }
    if kind == CoxKind::FineGray && arg_types.first().and_then(response_shape).is_some() {
        // R's weighted Fine-Gray (survival::finegray() + coxph(weights = fgwt)) is another
        // estimator of the variance than crr's, which has no weights: not mixed in here.
        return plan_err!(
            "{function} does not take surv(...): cmprsk::crr, which it reproduces, has neither \
             delayed entry nor case weights; usage: {syntax}"
        );
    }
    crate::coerce::refuse_response(function, arg_types, syntax)?;
    coerce_cox_classic(function, kind, arg_types, syntax)
}

/// [`coerce_cox_types`] for `time, event, ...` arguments.
fn coerce_cox_classic(
    function: &str,
    kind: CoxKind,
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
                // cluster(id): the robust variance's clusters, not a covariate.
                d if crate::cluster_term::is_cluster(d) => {
                    if !matches!(kind, CoxKind::Ph | CoxKind::Strat | CoxKind::Counting)
                        && !kind.curve()
                    {
                        return plan_err!("{function} does not take cluster(...)");
                    }
                    if arg_types[fixed..i]
                        .iter()
                        .any(crate::cluster_term::is_cluster)
                    {
                        return plan_err!("{function}: a model has at most one cluster(...)");
                    }
                    d.clone()
                }
                d if d.is_numeric() => DataType::Float64,
                DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Dictionary(..)
                | DataType::Null => DataType::Utf8,
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
pub(crate) fn state_fields(kind: CoxKind, args: &StateFieldsArgs) -> Vec<FieldRef> {
    let list = |name: &str, item: DataType| state_list_field(args.name, name, item);
    let shape = args
        .input_fields
        .first()
        .and_then(|f| response_shape(f.data_type()));
    let mut fields = vec![list("stop", DataType::Float64)];
    if kind == CoxKind::Counting || shape.is_some_and(|s| s.entry) {
        fields.push(list("start", DataType::Float64));
    }
    if kind == CoxKind::FineGray {
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
            DataType::Float64 | DataType::Boolean => DataType::Float64,
            // Views, not Utf8: one label per row over 2e8 rows is more text than 32-bit
            // offsets can address.
            _ => DataType::Utf8View,
        };
        fields.push(list(&format!("x{}", i + 1), dt));
    }
    fields
}

/// STRUCT<term, coef, exp_coef, se, robust_se, z, p_value, lower, upper>.
fn term_fields() -> Fields {
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
fn survreg_term_fields() -> Fields {
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
fn stratum_scale_fields() -> Fields {
    Fields::from(vec![
        Field::new("stratum", DataType::Utf8, true),
        f64_field("scale"),
        f64_field("log_scale_se"),
    ])
}

/// STRUCT<term, chisq, df, p_value>.
fn zph_term_fields() -> Fields {
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

/// The result struct of `cox_zph`.
pub(crate) fn zph_fields() -> Fields {
    Fields::from(vec![
        f64_field("global_chisq"),
        i64_field("global_df"),
        f64_field("global_p"),
        Field::new("terms", list_of(DataType::Struct(zph_term_fields())), true),
    ])
}

pub(crate) fn return_type(kind: CoxKind) -> DataType {
    match kind {
        CoxKind::Zph => DataType::Struct(zph_fields()),
        CoxKind::Survreg => DataType::Struct(survreg_fields()),
        CoxKind::SurvregStrat => DataType::Struct(survreg_strat_fields()),
        CoxKind::Curve | CoxKind::CurveStrat => list_of(DataType::Struct(curve_fields())),
        _ => DataType::Struct(fit_fields()),
    }
}

/// Options of the trailing `'key=value, ...'` string.
#[derive(Debug, Clone)]
pub(crate) struct CoxCallOptions {
    pub fit: CoxOptions,
    /// `robust=` when given; otherwise R's default (robust with non-integer weights).
    pub robust: Option<bool>,
    /// `firth=true`: Firth's penalised likelihood (Breslow ties).
    pub firth: bool,
    /// `ties=` was given.
    pub ties_given: bool,
    /// finegray_ph: crr's iteration limit (10) and gradient tolerance.
    pub fine_gray: FineGrayOptions,
    /// survreg: the distribution and R's survreg.control.
    pub survreg: SurvregOptions,
    pub transform: ZphTransform,
    /// cox_zph: test terms (a factor's levels together, R's default) or single coefficients.
    pub terms: bool,
    /// cox_curve: the pointwise confidence band's transform (R's conf.type, default log).
    pub conf_type: ConfType,
    /// cox_curve: `centered=` when given (false: the curve at covariates 0, basehaz's
    /// centered = FALSE).
    pub centered: Option<bool>,
    /// `convention=`: whose default ties (Breslow for SAS, Stata, SPSS) when `ties=` is not
    /// given.
    pub convention: Convention,
}

fn parse_options(function: &str, kind: CoxKind, text: &str) -> Result<CoxCallOptions> {
    let mut o = CoxCallOptions {
        fit: CoxOptions::default(),
        robust: None,
        firth: false,
        ties_given: false,
        fine_gray: FineGrayOptions::default(),
        survreg: SurvregOptions::default(),
        transform: ZphTransform::Km,
        terms: true,
        conf_type: ConfType::Log,
        centered: None,
        convention: Convention::R,
    };
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return exec_err!("{function}: option '{part}' is not key=value");
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        let num = |v: &str| -> Result<f64> {
            v.parse::<f64>().map_err(|_| {
                datafusion::common::DataFusionError::Execution(format!(
                    "{function}: option '{k}' must be a number, found '{v}'"
                ))
            })
        };
        let boolean = |v: &str| -> Result<bool> {
            match v.to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "1" => Ok(true),
                "false" | "f" | "no" | "0" => Ok(false),
                _ => exec_err!("{function}: option '{k}' must be true or false, found '{v}'"),
            }
        };
        match k.as_str() {
            "dist" if kind.parametric() => {
                o.survreg.dist = match Dist::parse(&v.to_ascii_lowercase()) {
                    Some(d) => d,
                    None => return exec_err!("{function}: option 'dist' must be weibull, exponential, lognormal, loglogistic, gaussian or logistic, found '{v}'"),
                }
            }
            "ties" | "robust" if kind.parametric() => {
                return exec_err!("{function}: option '{k}' does not apply (options dist, conf_level, max_iter, eps)")
            }
            "ties" | "robust" | "eps" if kind == CoxKind::FineGray => {
                return exec_err!("{function}: option '{k}' does not apply (crr: Breslow ties, its own sandwich variance; options conf_level, max_iter, gtol)")
            }
            "gtol" if kind == CoxKind::FineGray => {
                let g = num(v)?;
                if !(g > 0.0 && g < 1.0) {
                    return exec_err!("{function}: option 'gtol' must be in (0, 1), found {v}");
                }
                o.fine_gray.gtol = g;
            }
            "firth" if matches!(kind, CoxKind::Ph | CoxKind::Strat) => o.firth = boolean(v)?,
            "ties" => {
                o.ties_given = true;
                o.fit.ties = match v.to_ascii_lowercase().as_str() {
                    "efron" => Ties::Efron,
                    "breslow" => Ties::Breslow,
                    "exact" => Ties::Exact,
                    _ => return exec_err!("{function}: option 'ties' must be efron, breslow or exact, found '{v}'"),
                }
            }
            "conf_level" => {
                let l = num(v)?;
                if !(l > 0.0 && l < 1.0) {
                    return exec_err!("{function}: option 'conf_level' must be in (0, 1), found {v}");
                }
                o.fit.conf_level = l;
                o.survreg.conf_level = l;
            }
            "robust" => o.robust = Some(boolean(v)?),
            "max_iter" | "iter_max" => {
                let m = num(v)?;
                if m < 0.0 || m.fract() != 0.0 || m > 1000.0 {
                    return exec_err!("{function}: option 'max_iter' must be a whole number from 0 to 1000, found {v}");
                }
                o.fit.max_iter = m as usize;
                o.fine_gray.max_iter = m as usize;
                o.survreg.max_iter = m as usize;
            }
            "eps" => {
                let e = num(v)?;
                if !(e > 0.0 && e < 1.0) {
                    return exec_err!("{function}: option 'eps' must be in (0, 1), found {v}");
                }
                o.fit.eps = e;
                o.survreg.eps = e;
            }
            "transform" if kind == CoxKind::Zph => {
                o.transform = match ZphTransform::parse(&v.to_ascii_lowercase()) {
                    Some(t) => t,
                    None => return exec_err!("{function}: option 'transform' must be km, identity, rank or log, found '{v}'"),
                }
            }
            "terms" if kind == CoxKind::Zph => o.terms = boolean(v)?,
            "conf_type" if kind.curve() => {
                o.conf_type = match ConfType::parse(v) {
                    Some(t) => t,
                    None => return exec_err!("{function}: option 'conf_type' must be one of {}, found '{v}'", ConfType::NAMES),
                }
            }
            "centered" if kind.curve() => o.centered = Some(boolean(v)?),
            "convention" if !matches!(kind, CoxKind::FineGray) && !kind.parametric() => {
                o.convention = match Convention::parse(v) {
                    Some(c) => c,
                    None => return exec_err!("{function}: option 'convention' must be one of {}, found '{v}'", Convention::NAMES),
                }
            }
            other => return exec_err!("{function}: unknown option '{other}' (ties, conf_level, robust, max_iter, eps{})", match kind {
                CoxKind::Zph => ", transform, terms",
                CoxKind::Curve | CoxKind::CurveStrat => ", conf_type, centered, or a covariate's value",
                _ => "",
            }),
        }
    }
    // SAS PHREG, Stata stcox and SPSS COXREG default to Breslow's ties.
    if !o.ties_given && o.convention.breslow_ties() {
        o.fit.ties = Ties::Breslow;
    }
    // PHREG's convergence criterion (GCONV=1E-8), which stops one Newton step before R's.
    if o.convention == Convention::Sas {
        o.fit.gconv = Some(1e-8);
    }
    Ok(o)
}

/// A term name from an argument's field name: the column name without a table qualifier.
fn term_name(field: &Field) -> String {
    let n = field.name();
    if !n.contains([' ', '(', ')']) {
        if let Some((_, last)) = n.rsplit_once('.') {
            return last.to_owned();
        }
    }
    n.clone()
}

/// Per-call configuration, decided when the accumulator is created.
#[derive(Debug, Clone)]
pub struct CoxOps {
    pub function: &'static str,
    pub expression: String,
    pub sink: WarningSink,
    kind: CoxKind,
    covariates: Vec<Covariate>,
    /// The last argument is the options string (its state list stays empty).
    has_options: bool,
    options: CoxCallOptions,
    /// The first argument is `surv(...)`, with these fields.
    response: Option<ResponseShape>,
    /// cox_curve: the covariate values (and stratum) of the curve.
    profile: Profile,
    /// finegray_ph: the status code of the cause of interest.
    cause: u32,
}

impl CoxOps {
    /// The fits `evaluate` does with [`lend_model_data`], which reads the group's numeric
    /// columns in place: `cox_ph`, `cox_ph_strat`, `cox_ph_counting` without `firth=true`.
    fn fits_in_place(&self) -> bool {
        matches!(self.kind, CoxKind::Ph | CoxKind::Strat | CoxKind::Counting) && !self.options.firth
    }

    /// Counting-process data: `cox_ph_counting`, or `surv(entry, time, event)`.
    fn counting(&self) -> bool {
        self.kind == CoxKind::Counting || self.response.is_some_and(|s| s.entry)
    }

    /// With case weights.
    fn weighted(&self) -> bool {
        self.response.is_some_and(|s| s.weight)
    }

    /// What takes the call beyond unweighted right-censored data with the model-based
    /// variance, if anything.
    fn beyond_right_censored(&self) -> Option<&'static str> {
        let clustered = self
            .covariates
            .iter()
            .any(|c| matches!(c, Covariate::Cluster { .. }));
        if self.counting() {
            Some("counting-process data")
        } else if self.weighted() {
            Some("case weights")
        } else if clustered || self.options.robust == Some(true) {
            Some("the robust variance")
        } else {
            None
        }
    }
}

impl CoxOps {
    pub(crate) fn new(
        function: &'static str,
        kind: CoxKind,
        args: &AccumulatorArgs,
        sink: &WarningSink,
    ) -> Result<CoxOps> {
        let fixed = kind.fixed();
        let n = args.exprs.len();
        // A trailing constant string is the options string.
        let options_text = args
            .exprs
            .last()
            .and_then(|e| constant_value(e, args.schema))
            .and_then(|v| match v {
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)) => Some(s),
                _ => None,
            });
        let has_options = options_text.is_some() && n > fixed + 1;
        let ncov = n.saturating_sub(fixed + usize::from(has_options));
        if ncov == 0 {
            return exec_err!("{function}: at least one covariate is needed");
        }
        let mut covariates = vec![];
        for i in fixed..fixed + ncov {
            let field = &args.expr_fields[i];
            let name = term_name(field);
            covariates.push(match field.data_type() {
                DataType::Float64 => Covariate::Numeric { name },
                DataType::Boolean => Covariate::Boolean { name },
                d if crate::cluster_term::is_cluster(d) => Covariate::Cluster { name },
                _ => Covariate::Factor { name },
            });
        }
        let options_text = options_text
            .as_deref()
            .filter(|_| has_options)
            .unwrap_or("");
        // cox_curve: the covariate values of the curve are written among the options.
        let (profile, options_text) = if kind.curve() {
            let slots: Vec<(&str, ProfileSlot)> = covariates
                .iter()
                .map(|c| {
                    let slot = match c {
                        Covariate::Numeric { .. } => ProfileSlot::Numeric,
                        Covariate::Boolean { .. } => ProfileSlot::Boolean,
                        Covariate::Factor { .. } => ProfileSlot::Factor,
                        Covariate::Cluster { .. } => ProfileSlot::Cluster,
                    };
                    (c.name(), slot)
                })
                .collect();
            split_profile(function, options_text, &slots, kind.stratified())?
        } else {
            (Profile::default(), options_text.to_owned())
        };
        let options = parse_options(function, kind, &options_text)?;
        if options.centered.is_some() && !profile.values.is_empty() {
            return exec_err!(
                "{function}: option 'centered' is for the curve without covariate values \
                 (basehaz); a profile gives every value"
            );
        }
        let call = CoxOps {
            function,
            expression: args.name.to_owned(),
            sink: sink.clone(),
            kind,
            covariates,
            has_options,
            options,
            response: call_shape(args),
            profile,
            cause: if kind == CoxKind::FineGray {
                crate::competing_state::cause_option(function, args)?
            } else {
                0
            },
        };
        // Firth's penalty and R's exact likelihood are for right-censored, unweighted data
        // without the robust variance (their residuals are not offered).
        if call.options.firth {
            let ties_other = call.options.ties_given && call.options.fit.ties != Ties::Breslow;
            if let Some(reason) = call.beyond_right_censored().or(ties_other.then_some(
                "ties other than breslow (its penalty is defined on Breslow's likelihood)",
            )) {
                return exec_err!(
                    "{function}: firth=true is offered for right-censored data without weights \
                     or robust variance, not with {reason}"
                );
            }
        }
        if call.options.fit.ties == Ties::Exact {
            let zph = (kind == CoxKind::Zph).then_some("cox_zph");
            if let Some(reason) = zph.or(call.beyond_right_censored()) {
                return exec_err!(
                    "{function}: ties=exact is offered for right-censored data without weights \
                     or robust variance, not with {reason}; use ties=efron or ties=breslow"
                );
            }
        }
        Ok(call)
    }
}

/// The rows of one SQL group.
#[derive(Debug, Clone, Default)]
pub struct CoxRows {
    stop: Vec<f64>,
    start: Vec<f64>,
    event: Vec<bool>,
    /// finegray_ph: status codes (0 censored, k cause k) instead of events.
    status: Vec<u32>,
    /// Case weights (empty without).
    weight: Vec<f64>,
    strata_labels: Labels,
    strata: Vec<u32>,
    /// One column per covariate argument: numbers, or label ids for factors.
    num: Vec<Vec<f64>>,
    fac_labels: Vec<Labels>,
    fac: Vec<Vec<u32>>,
    /// The covariate argument that is `cluster(id)`: its labels are clusters, not levels of
    /// a factor (no model column each).
    cluster: Option<usize>,
    /// The call's fit reads the numeric columns in place ([`CoxOps::fits_in_place`]).
    fits_in_place: bool,
    /// Rows merged from other states whose numeric columns are not copied yet
    /// ([`PendingRows`]); their events, strata and factor ids are in the columns above.
    pending: Vec<PendingRows>,
    /// Σ rows and Σ bytes of the slices in `pending`, kept current so that `len` and `size`
    /// are O(1) (`StateOps::size` is called for every group a batch touches).
    pending_rows: usize,
    pending_bytes: usize,
}

/// Rows of a state received by `merge` whose numeric columns are held as the slices of the
/// received arrays they are, not copied: a final aggregation that copied each partition's
/// rows while their arrays were alive held the rows twice (at 1e7 rows × 6 covariates, the
/// process's peak). [`settle_all`] copies them one column at a time before anything reads
/// the columns, so that each received column is freed once every group has copied its slice.
#[derive(Debug, Clone)]
struct PendingRows {
    rows: usize,
    /// One per column of [`CoxRows::f64_columns`]; `None` for a column the call does not
    /// have (or already copied).
    columns: Vec<Option<Float64Array>>,
}

/// Copies the pending rows of every state to the end of its columns, one column at a time
/// across the states: the received arrays are shared by the groups of a merged batch, and a
/// column is freed once every group has copied its slice of it (state by state, a group's
/// copied rows would be held twice until the last group had copied).
fn settle_all(states: &mut [CoxRows]) {
    let columns = states
        .iter()
        .flat_map(|s| s.pending.iter().map(|p| p.columns.len()))
        .max();
    let Some(columns) = columns else {
        return;
    };
    for c in 0..columns {
        for state in states.iter_mut() {
            if !state.pending.is_empty() {
                state.settle_column(c);
            }
        }
    }
    for state in states {
        state.pending.clear();
        state.pending_rows = 0;
        state.pending_bytes = 0;
    }
}

/// A merged group's rows go to [`PendingRows`] from this many (fewer are copied at once:
/// small slices would keep large received arrays alive for little).
const PENDING_MIN_ROWS: usize = 1024;

impl CoxRows {
    /// Makes room for the call's covariate columns.
    fn ensure(&mut self, call: &CoxOps) {
        let ncov = call.covariates.len();
        if self.num.len() < ncov {
            self.cluster = call
                .covariates
                .iter()
                .position(|c| matches!(c, Covariate::Cluster { .. }));
            self.fits_in_place = call.fits_in_place();
            self.num.resize_with(ncov, Vec::new);
            self.fac.resize_with(ncov, Vec::new);
            self.fac_labels.resize_with(ncov, Labels::default);
        }
    }

    fn len(&self) -> usize {
        self.stop.len() + self.pending_rows
    }

    /// The f64 columns, in the order of [`PendingRows::columns`]: stop, start, weight, then
    /// one per covariate argument (empty for factors and the cluster).
    fn f64_columns(&mut self) -> impl Iterator<Item = &mut Vec<f64>> {
        [&mut self.stop, &mut self.start, &mut self.weight]
            .into_iter()
            .chain(&mut self.num)
    }

    /// Copies the pending rows' numeric columns to the end of the columns ([`settle_all`]).
    fn settle(&mut self) {
        if !self.pending.is_empty() {
            settle_all(std::slice::from_mut(self));
        }
    }

    /// Copies column `c` ([`Self::f64_columns`]) of the pending rows to the end of that
    /// column, dropping the received slices as they are copied.
    fn settle_column(&mut self, c: usize) {
        let mut pending = std::mem::take(&mut self.pending);
        let rows: usize = pending
            .iter()
            .filter(|p| p.columns.get(c).is_some_and(Option::is_some))
            .map(|p| p.rows)
            .sum();
        // (Every pending column has its column in `f64_columns`: `ensure` made them.)
        self.pending_bytes -= rows * 8;
        if let Some(column) = self.f64_columns().nth(c) {
            column.reserve_exact(rows);
            for chunk in &mut pending {
                if let Some(values) = chunk.columns.get_mut(c).and_then(Option::take) {
                    column.extend_from_slice(values.values());
                }
            }
        }
        self.pending = pending;
    }

    /// Puts the rows in `order` (row `order[i]` becomes row `i`): every per-row column, one
    /// at a time (a column's old copy is freed before the next is gathered).
    fn permute(&mut self, order: &[usize]) {
        if order.iter().enumerate().all(|(i, &r)| i == r) {
            return;
        }
        fn apply<T: Copy + Send + Sync>(v: &mut Vec<T>, order: &[usize]) {
            // Columns the call does not use are empty.
            if !v.is_empty() {
                *v = gather(v, order);
            }
        }
        apply(&mut self.stop, order);
        apply(&mut self.start, order);
        apply(&mut self.event, order);
        apply(&mut self.status, order);
        apply(&mut self.weight, order);
        apply(&mut self.strata, order);
        for v in &mut self.num {
            apply(v, order);
        }
        for v in &mut self.fac {
            apply(v, order);
        }
    }

    /// The rows held, plus what the fit allocates from them (see [`Self::fit_bytes`]).
    fn size(&self) -> usize {
        // (Pending rows: their slices' bytes, not the whole arrays they are cut from, which
        // other groups' slices share.)
        debug_assert_eq!(
            (self.pending_rows, self.pending_bytes),
            self.pending.iter().fold((0, 0), |(rows, bytes), p| (
                rows + p.rows,
                bytes + p.rows * 8 * p.columns.iter().flatten().count()
            )),
            "running totals of the pending rows"
        );
        size_of::<Self>()
            + self.pending.capacity() * size_of::<PendingRows>()
            + self.pending_bytes
            + (self.stop.capacity() + self.start.capacity() + self.weight.capacity()) * 8
            + self.event.capacity()
            + self.status.capacity() * 4
            + self.strata.capacity() * 4
            + self.strata_labels.size()
            + self.num.iter().map(|v| v.capacity() * 8).sum::<usize>()
            + self.fac.iter().map(|v| v.capacity() * 4).sum::<usize>()
            + self.fac_labels.iter().map(Labels::size).sum::<usize>()
            + self.fit_bytes()
    }

    /// Memory the fit needs on top of the rows: the model columns it makes (a factor is one
    /// column per level but the first), and about 15 numbers per row (times, order, linear
    /// predictors, residuals, concordance counts). `cox_ph*` borrow the numeric columns and
    /// read them in place, so only the factors' columns are new, once; the other functions
    /// copy every column into their model data, some again into a centred row-major copy:
    /// twice. Counted in [`Self::size`] so that the memory pool refuses a fit that cannot be
    /// done before it starts, rather than the process running out during it.
    fn fit_bytes(&self) -> usize {
        let factor_columns = self
            .fac_labels
            .iter()
            .enumerate()
            .filter(|&(k, _)| Some(k) != self.cluster)
            .map(|(_, l)| l.len().saturating_sub(1))
            .sum::<usize>();
        let new_columns = if self.fits_in_place {
            factor_columns
        } else {
            2 * (self.num.len() + factor_columns)
        };
        self.len() * (8 * new_columns + 15 * 8)
    }
}

/// A covariate column of a batch, ready for row access.
enum CovColumn<'a> {
    Num(&'a Float64Array),
    Bool(BooleanArray),
    Text(ArrayRef),
}

fn update(
    call: &CoxOps,
    states: &mut [CoxRows],
    skipped: &mut [u64],
    values: &[ArrayRef],
    groups: &[usize],
    filter: Option<&BooleanArray>,
) -> Result<()> {
    let f = call.function;
    let fixed = call.kind.fixed();
    // surv([entry,] time, event [, weight]) in place of (time, event): crate::response.
    let split = match call.response {
        Some(_) => Some(split_values(f, values)?),
        None => None,
    };
    let values: &[ArrayRef] = split.as_ref().map_or(values, |s| &s.values);
    let (stop_i, event_i) = match call.kind {
        CoxKind::Counting => (1, 2),
        _ => (0, 1),
    };
    let stop = time_column(
        f,
        if call.kind == CoxKind::Counting {
            "stop"
        } else {
            "time"
        },
        &values[stop_i],
    )?;
    let start = match (call.kind, split.as_ref().and_then(|s| s.entry.as_ref())) {
        (CoxKind::Counting, _) => Some(time_column(f, "start", &values[0])?),
        (_, Some(entry)) => Some(time_column(f, "entry", entry)?),
        _ => None,
    };
    let weight = match split.as_ref().and_then(|s| s.weight.as_ref()) {
        Some(w) => Some(positive_weights(f, weight_column(f, w)?)?),
        None => None,
    };
    // finegray_ph reads status codes; the others an event indicator.
    let fine_gray = call.kind == CoxKind::FineGray;
    let status = if fine_gray {
        crate::competing_state::status_codes(f, &values[event_i])?
    } else {
        vec![]
    };
    let event = if fine_gray {
        BooleanArray::from(vec![false; values[event_i].len()])
    } else {
        event_column(f, &values[event_i])?
    };
    let strata = if call.kind.stratified() {
        Some(label_column(f, "strata", &values[2])?)
    } else {
        None
    };
    let strata = strata.as_ref().map(|s| s.as_string_view());
    let mut cols: Vec<CovColumn> = vec![];
    for (k, cov) in call.covariates.iter().enumerate() {
        let a = &values[fixed + k];
        cols.push(match cov {
            Covariate::Numeric { .. } => CovColumn::Num(a.as_primitive::<Float64Type>()),
            Covariate::Boolean { .. } => CovColumn::Bool(a.as_boolean().clone()),
            Covariate::Factor { .. } => CovColumn::Text(label_column(f, cov.name(), a)?),
            Covariate::Cluster { .. } => {
                CovColumn::Text(label_column(f, "cluster", a.as_struct().column(0))?)
            }
        });
    }
    let mut arrays: Vec<&dyn Array> = vec![stop, values[event_i].as_ref()];
    if let Some(s) = start {
        arrays.push(s);
    }
    if let Some(w) = weight {
        arrays.push(w);
    }
    if let Some(s) = strata {
        arrays.push(s);
    }
    for c in &cols {
        arrays.push(match c {
            CovColumn::Num(a) => *a,
            CovColumn::Bool(a) => a,
            CovColumn::Text(a) => a.as_ref(),
        });
    }
    let mask = row_mask(&arrays, filter, groups, skipped);
    // Covariates must be finite, like times.
    for (k, c) in cols.iter().enumerate() {
        if let CovColumn::Num(a) = c {
            for i in 0..a.len() {
                if a.is_valid(i)
                    && !a.value(i).is_finite()
                    && mask.as_ref().is_none_or(|m| m.is_valid(i))
                {
                    return exec_err!(
                        "{f}: covariate '{}' must be a finite number, found {}",
                        call.covariates[k].name(),
                        a.value(i)
                    );
                }
            }
        }
    }
    if let Some(s) = start {
        for i in 0..s.len() {
            if mask.as_ref().is_none_or(|m| m.is_valid(i))
                && s.is_valid(i)
                && stop.is_valid(i)
                && s.value(i) >= stop.value(i)
            {
                let (a, b) = if call.kind == CoxKind::Counting {
                    ("start", "stop")
                } else {
                    ("entry", "time")
                };
                return exec_err!(
                    "{f}: every interval needs {a} < {b}, found {a} {} and {b} {}",
                    s.value(i),
                    stop.value(i)
                );
            }
        }
    }
    let rows = KeptRows {
        len: stop.len(),
        mask: mask.as_ref(),
    };
    // (Rows merged before, still pending, go first: update appends to the columns.)
    if let [st] = &mut *states {
        st.ensure(call);
        st.settle();
    } else {
        rows.for_each(|i| {
            let st = &mut states[groups[i]];
            st.ensure(call);
            st.settle();
        });
    }
    let mut to = Appender {
        states,
        groups,
        rows,
    };
    to.append_slice(|st| &mut st.stop, stop.values());
    if let Some(s) = start {
        to.append_slice(|st| &mut st.start, s.values());
    }
    if fine_gray {
        to.append_slice(|st| &mut st.status, &status);
    } else {
        to.append(|st| &mut st.event, |i| event.value(i));
    }
    if let Some(w) = weight {
        to.append_slice(|st| &mut st.weight, w.values());
    }
    if let Some(s) = strata {
        to.append_labels(|st| (&mut st.strata_labels, &mut st.strata), s);
    }
    for (k, c) in cols.iter().enumerate() {
        match c {
            CovColumn::Num(a) => to.append_slice(|st| &mut st.num[k], a.values()),
            CovColumn::Bool(a) => to.append(|st| &mut st.num[k], |i| f64::from(a.value(i))),
            CovColumn::Text(a) => to.append_labels(
                |st| (&mut st.fac_labels[k], &mut st.fac[k]),
                a.as_string_view(),
            ),
        }
    }
    check_levels(call, to.states, groups)
}

/// The rows of a batch that are added: all of them, or those valid in the mask (no NULL
/// argument, selected by FILTER).
#[derive(Clone, Copy)]
struct KeptRows<'a> {
    len: usize,
    mask: Option<&'a NullBuffer>,
}

impl KeptRows<'_> {
    fn for_each(&self, mut f: impl FnMut(usize)) {
        match self.mask {
            None => (0..self.len).for_each(f),
            Some(m) => m.valid_indices().for_each(&mut f),
        }
    }
}

/// Adds a batch's kept rows to their groups' states, one column at a time: one state (no
/// GROUP BY) extends each column by the whole batch at once (a copy of the values when every
/// row is kept); several states take each row into its group's column.
struct Appender<'a> {
    states: &'a mut [CoxRows],
    groups: &'a [usize],
    rows: KeptRows<'a>,
}

impl Appender<'_> {
    /// Appends `value(i)` of each kept row `i` to `column` of its group's state.
    fn append<T>(
        &mut self,
        column: impl Fn(&mut CoxRows) -> &mut Vec<T>,
        value: impl Fn(usize) -> T,
    ) {
        match (&mut *self.states, self.rows.mask) {
            ([st], None) => column(st).extend((0..self.rows.len).map(value)),
            ([st], Some(m)) => column(st).extend(m.valid_indices().map(value)),
            (states, _) => self
                .rows
                .for_each(|i| column(&mut states[self.groups[i]]).push(value(i))),
        }
    }

    /// [`Appender::append`] of `values[i]`: one state with every row kept copies the slice.
    fn append_slice<T: Copy>(
        &mut self,
        column: impl Fn(&mut CoxRows) -> &mut Vec<T>,
        values: &[T],
    ) {
        if let ([st], None) = (&mut *self.states, self.rows.mask) {
            column(st).extend_from_slice(values);
        } else {
            self.append(column, |i| values[i]);
        }
    }

    /// Appends the label id of each kept row's value in `labels` to the ids of its group
    /// (`column` picks a state's label table and ids).
    fn append_labels(
        &mut self,
        column: impl Fn(&mut CoxRows) -> (&mut Labels, &mut Vec<u32>),
        labels: &StringViewArray,
    ) {
        let (states, groups) = (&mut *self.states, self.groups);
        self.rows.for_each(|i| {
            let (table, ids) = column(&mut states[groups[i]]);
            ids.push(table.id_at(labels, i));
        });
    }
}

/// Cox weights must be > 0 where not NULL, as R's `coxph` requires ("Invalid weights, must be
/// >0"; a zero weight is allowed by `survfit`, not by `coxph`).
fn positive_weights<'a>(function: &str, w: &'a Float64Array) -> Result<&'a Float64Array> {
    if let Some(i) = (0..w.len()).find(|&i| w.is_valid(i) && w.value(i) <= 0.0) {
        return exec_err!(
            "{function}: argument 'weight' must be > 0 (as R's coxph), found {}",
            w.value(i)
        );
    }
    Ok(w)
}

/// Refuses a text covariate with more levels than the cap (each level becomes a column of
/// the model: a patient id used as a covariate would make n of them).
fn check_levels(call: &CoxOps, states: &[CoxRows], groups: &[usize]) -> Result<()> {
    let factors: Vec<usize> = (0..call.covariates.len())
        .filter(|&k| matches!(call.covariates[k], Covariate::Factor { .. }))
        .collect();
    if factors.is_empty() {
        return Ok(());
    }
    let cap = limits().max_factor_levels;
    let mut last = usize::MAX;
    for &g in groups {
        if g == last {
            continue;
        }
        last = g;
        for &k in &factors {
            let levels = states[g].fac_labels.get(k).map_or(0, Labels::len);
            check(
                call.function,
                &format!(
                    "covariate '{}' (a text column, one coefficient per level)",
                    call.covariates[k].name()
                ),
                levels,
                cap,
                "distinct values",
                "survql --max-factor-levels or set_limits",
            )?;
        }
    }
    Ok(())
}

/// The states as the state fields. A single state (a query without GROUP BY, the partial
/// aggregate of each partition) gives its number columns to the arrays instead of copying
/// them — a registry's rows are a gigabyte — and is left without them: DataFusion drops it.
fn emit_state(call: &CoxOps, states: &mut [CoxRows]) -> Result<Vec<ArrayRef>> {
    settle_all(states);
    let lengths: Vec<usize> = states.iter().map(CoxRows::len).collect();
    let f64_list = |states: &mut [CoxRows],
                    get: &dyn Fn(&mut CoxRows) -> Option<&mut Vec<f64>>|
     -> Result<ArrayRef> {
        // (Each state's column is freed once copied: the states are emitted whole, and
        // copying them all before freeing any held every row twice.)
        let v: Vec<f64> = match states {
            [one] => get(one).map(std::mem::take).unwrap_or_default(),
            _ => {
                let mut v = Vec::with_capacity(lengths.iter().sum());
                for s in states.iter_mut() {
                    if let Some(column) = get(s) {
                        v.extend_from_slice(&std::mem::take(column));
                    }
                }
                v
            }
        };
        list_array(&lengths, Arc::new(Float64Array::from(v)))
    };
    let mut out = vec![f64_list(states, &|s| Some(&mut s.stop))?];
    if call.counting() {
        out.push(f64_list(states, &|s| Some(&mut s.start))?);
    }
    if call.kind == CoxKind::FineGray {
        let status: Vec<u32> = states
            .iter()
            .flat_map(|s| s.status.iter().copied())
            .collect();
        out.push(list_array(&lengths, Arc::new(UInt32Array::from(status)))?);
    } else {
        let ev: BooleanArray = states
            .iter()
            .flat_map(|s| s.event.iter().map(|&e| Some(e)))
            .collect();
        out.push(list_array(&lengths, Arc::new(ev))?);
    }
    if call.weighted() {
        out.push(f64_list(states, &|s| Some(&mut s.weight))?);
    }
    if call.kind.stratified() {
        let v: Vec<&str> = states
            .iter()
            .flat_map(|s| {
                s.strata
                    .iter()
                    .map(|&id| &*s.strata_labels.names[id as usize])
            })
            .collect();
        out.push(list_array(&lengths, Arc::new(StringViewArray::from(v)))?);
    }
    for (k, cov) in call.covariates.iter().enumerate() {
        match cov {
            Covariate::Numeric { .. } | Covariate::Boolean { .. } => {
                out.push(f64_list(states, &|s| s.num.get_mut(k))?);
            }
            Covariate::Factor { .. } | Covariate::Cluster { .. } => {
                let v: Vec<&str> = states
                    .iter()
                    .flat_map(|s| {
                        s.fac
                            .get(k)
                            .map_or(&[][..], |c| c.as_slice())
                            .iter()
                            .map(move |&id| &*s.fac_labels[k].names[id as usize])
                    })
                    .collect();
                out.push(list_array(&lengths, Arc::new(StringViewArray::from(v)))?);
            }
        }
    }
    if call.has_options {
        let empty = vec![0usize; states.len()];
        out.push(list_array(
            &empty,
            Arc::new(StringViewArray::from(Vec::<&str>::new())),
        )?);
    }
    Ok(out)
}

fn merge(
    call: &CoxOps,
    states: &mut [CoxRows],
    values: &[ArrayRef],
    groups: &[usize],
) -> Result<()> {
    let lists: Vec<_> = values.iter().map(|v| v.as_list::<i32>()).collect();
    let mut c = 0;
    let stop_l = lists[c];
    c += 1;
    let start_l = if call.counting() {
        c += 1;
        Some(lists[c - 1])
    } else {
        None
    };
    let event_l = lists[c];
    c += 1;
    let weight_l = if call.weighted() {
        c += 1;
        Some(lists[c - 1])
    } else {
        None
    };
    let strata_l = if call.kind.stratified() {
        c += 1;
        Some(lists[c - 1])
    } else {
        None
    };
    let cov_l = &lists[c..c + call.covariates.len()];
    let stop_v = stop_l.values().as_primitive::<Float64Type>();
    let start_v = start_l.map(|l| l.values().as_primitive::<Float64Type>().clone());
    let fine_gray = call.kind == CoxKind::FineGray;
    let status_v = fine_gray.then(|| event_l.values().as_primitive::<UInt32Type>().clone());
    let event_v = (!fine_gray).then(|| event_l.values().as_boolean().clone());
    let weight_v = weight_l.map(|l| l.values().as_primitive::<Float64Type>().clone());
    let strata_v = strata_l.map(|l| l.values().as_string_view().clone());
    for (row, &g) in groups.iter().enumerate() {
        if stop_l.is_null(row) {
            continue;
        }
        let st = &mut states[g];
        st.ensure(call);
        let (a, b) = (
            stop_l.offsets()[row] as usize,
            stop_l.offsets()[row + 1] as usize,
        );
        // The numeric columns of many rows stay in the received arrays until read
        // (PendingRows); fewer are copied, whole slices (one allocation per column and
        // state, not a growth per row).
        let numeric_slice = |j: usize| {
            let l = cov_l[j];
            let (a, b) = (l.offsets()[row] as usize, l.offsets()[row + 1] as usize);
            match call.covariates[j] {
                Covariate::Numeric { .. } | Covariate::Boolean { .. } => {
                    Some(l.values().as_primitive::<Float64Type>().slice(a, b - a))
                }
                Covariate::Factor { .. } | Covariate::Cluster { .. } => None,
            }
        };
        let pending = b - a >= PENDING_MIN_ROWS;
        if pending {
            let columns = [
                Some(stop_v.slice(a, b - a)),
                start_v.as_ref().map(|s| s.slice(a, b - a)),
                weight_v.as_ref().map(|w| w.slice(a, b - a)),
            ]
            .into_iter()
            .chain((0..call.covariates.len()).map(numeric_slice))
            .collect::<Vec<_>>();
            st.pending_rows += b - a;
            st.pending_bytes += (b - a) * 8 * columns.iter().flatten().count();
            st.pending.push(PendingRows {
                rows: b - a,
                columns,
            });
        } else {
            st.settle();
            st.stop.extend_from_slice(&stop_v.values()[a..b]);
            if let Some(s) = &start_v {
                st.start.extend_from_slice(&s.values()[a..b]);
            }
            if let Some(w) = &weight_v {
                st.weight.extend_from_slice(&w.values()[a..b]);
            }
        }
        match (&event_v, &status_v) {
            (Some(e), _) => {
                st.event.reserve(b - a);
                st.event.extend((a..b).map(|k| e.value(k)));
            }
            (None, Some(s)) => st.status.extend_from_slice(&s.values()[a..b]),
            (None, None) => {}
        }
        if let Some(s) = &strata_v {
            st.strata.reserve(b - a);
            for k in a..b {
                let id = st.strata_labels.id(s.value(k));
                st.strata.push(id);
            }
        }
        for (j, cov) in call.covariates.iter().enumerate() {
            let l = cov_l[j];
            let (a, b) = (l.offsets()[row] as usize, l.offsets()[row + 1] as usize);
            match cov {
                Covariate::Numeric { .. } | Covariate::Boolean { .. } => {
                    if !pending {
                        let v = l.values().as_primitive::<Float64Type>();
                        st.num[j].extend_from_slice(&v.values()[a..b]);
                    }
                }
                Covariate::Factor { .. } | Covariate::Cluster { .. } => {
                    let v = l.values().as_string_view();
                    st.fac[j].reserve(b - a);
                    for k in a..b {
                        let id = st.fac_labels[j].id(v.value(k));
                        st.fac[j].push(id);
                    }
                }
            }
        }
    }
    check_levels(call, states, groups)
}

/// The model matrix columns of one group's covariates (see [`model_data`]), rows taken in
/// `order` (all rows in their order when `None`): the columns, coefficient names, per
/// covariate argument the coefficient indices, and notes on dropped covariates.
#[allow(clippy::type_complexity)]
fn model_columns(
    call: &CoxOps,
    rows: &CoxRows,
    order: Option<&[usize]>,
    numeric: &mut dyn FnMut(usize) -> Vec<f64>,
) -> (Vec<Vec<f64>>, Vec<String>, Vec<Vec<usize>>, Vec<String>) {
    let n = rows.len();
    // Data row of model row p (no order: the rows as they are, without an n-long index).
    let row = |p: usize| order.map_or(p, |o| o[p]);
    let mut x = vec![];
    let mut names = vec![];
    let mut groups = vec![];
    let mut notes = vec![];
    for (k, cov) in call.covariates.iter().enumerate() {
        let mut idx = vec![];
        match cov {
            Covariate::Numeric { name } => {
                idx.push(x.len());
                x.push(numeric(k));
                names.push(name.clone());
            }
            Covariate::Boolean { name } => {
                idx.push(x.len());
                x.push(numeric(k));
                names.push(format!("{name}TRUE"));
            }
            // Not a column of the model: see model_data.
            Covariate::Cluster { .. } => {}
            Covariate::Factor { name } => {
                let labels = rows.fac_labels.get(k).map_or(&[][..], |l| &l.names[..]);
                let levels = sorted_label_order(labels);
                // Treatment coding: one column per level after the first (byte order, as R
                // with LC_COLLATE=C).
                let ids = rows.fac.get(k).map_or(&[][..], Vec::as_slice);
                if levels.len() < 2 && n > 0 {
                    notes.push(format!(
                        "covariate '{name}' has a single level and was dropped"
                    ));
                }
                for &lvl in levels.iter().skip(1) {
                    idx.push(x.len());
                    x.push(
                        (0..n)
                            .map(|p| {
                                if ids[row(p)] as usize == lvl {
                                    1.0
                                } else {
                                    0.0
                                }
                            })
                            .collect(),
                    );
                    names.push(format!("{name}{}", labels[lvl]));
                }
            }
        }
        groups.push(idx);
    }
    (x, names, groups, notes)
}

/// For each label id of `labels`, its position in R's factor order: ranks that do not depend
/// on the order the labels were first seen in.
fn label_ranks(labels: &[Box<str>]) -> Vec<u32> {
    let mut rank = vec![0u32; labels.len()];
    for (p, &id) in sorted_label_order(labels).iter().enumerate() {
        rank[id] = p as u32;
    }
    rank
}

/// The model matrix of one group: R's treatment contrasts for factors (levels in byte order,
/// the first the reference), `<name>TRUE` for booleans. Returns the data, coefficient names
/// and, per covariate argument, the coefficient indices it produced. The rows come in
/// [`canonical_row_order`], gathered once into the model's columns.
fn model_data(call: &CoxOps, rows: &CoxRows) -> ModelData {
    let n = rows.len();
    let ModelOrder {
        strata_rank,
        cluster_arg,
        cluster_rank,
        order,
    } = model_order(call, rows);
    let (x, names, groups, notes) = model_columns(call, rows, Some(&order), &mut |k| {
        rows.num.get(k).map_or_else(Vec::new, |c| gather(c, &order))
    });
    let pick = |v: &[f64]| -> Vec<f64> { gather(v, &order) };
    let data = CoxData {
        start: call.counting().then(|| pick(&rows.start)),
        stop: pick(&rows.stop),
        event: gather(&rows.event, &order),
        strata: match &strata_rank {
            Some(rank) => order
                .iter()
                .map(|&i| rank[rows.strata[i] as usize])
                .collect(),
            None => vec![0; n],
        },
        x,
        weights: call.weighted().then(|| pick(&rows.weight)),
        cluster: cluster_arg.zip(cluster_rank.as_ref()).map(|(k, rank)| {
            let ids = rows.fac.get(k).map_or(&[][..], Vec::as_slice);
            order.iter().map(|&i| rank[ids[i] as usize]).collect()
        }),
    };
    (data, names, groups, notes)
}

/// A group's model data, coefficient names, each covariate argument's coefficients and
/// notes for the warning.
type ModelData = (CoxData, Vec<String>, Vec<Vec<usize>>, Vec<String>);

/// The ranks of the stratum and cluster labels and the [`canonical_row_order`] of a group.
struct ModelOrder {
    strata_rank: Option<Vec<u32>>,
    cluster_arg: Option<usize>,
    cluster_rank: Option<Vec<u32>>,
    order: Vec<usize>,
}

fn model_order(call: &CoxOps, rows: &CoxRows) -> ModelOrder {
    // Stratum ids in label order (only the partition matters).
    let strata_rank = call
        .kind
        .stratified()
        .then(|| label_ranks(&rows.strata_labels.names));
    // cluster(id): ids in label order, so that the same data gives the same canonical order
    // whatever order the labels were first seen in.
    let cluster_arg = call
        .covariates
        .iter()
        .position(|c| matches!(c, Covariate::Cluster { .. }));
    // (A group without rows has no label table yet.)
    let cluster_rank =
        cluster_arg.map(|k| label_ranks(rows.fac_labels.get(k).map_or(&[][..], |l| &l.names[..])));
    let order = canonical_row_order(call, rows, strata_rank.as_deref(), cluster_rank.as_deref());
    ModelOrder {
        strata_rank,
        cluster_arg,
        cluster_rank,
        order,
    }
}

/// [`model_data`] without copying the rows: the group's rows are put in canonical order in
/// place and their time, event, weight and numeric covariate columns are moved into the
/// model data; [`give_back_model_data`] returns them. DataFusion lets `evaluate` reorder a
/// state (a window evaluates the same state again: it then finds the rows in canonical order
/// already, the same values, the same fit). The covariates of a large fit are then held
/// twice (these columns and the fit's centred row-major copy), not three times.
fn lend_model_data(call: &CoxOps, rows: &mut CoxRows) -> ModelData {
    let mut model = model_order(call, rows);
    rows.permute(&model.order);
    drop(std::mem::take(&mut model.order));
    let ModelOrder {
        strata_rank,
        cluster_arg,
        cluster_rank,
        ..
    } = model;
    let mut num = std::mem::take(&mut rows.num);
    let (x, names, groups, notes) = model_columns(call, rows, None, &mut |k| {
        num.get_mut(k).map(std::mem::take).unwrap_or_default()
    });
    rows.num = num;
    let data = CoxData {
        start: call.counting().then(|| std::mem::take(&mut rows.start)),
        event: std::mem::take(&mut rows.event),
        strata: match &strata_rank {
            Some(rank) => rows.strata.iter().map(|&s| rank[s as usize]).collect(),
            None => vec![0; rows.stop.len()],
        },
        x,
        weights: call.weighted().then(|| std::mem::take(&mut rows.weight)),
        cluster: cluster_arg.zip(cluster_rank.as_ref()).map(|(k, rank)| {
            let ids = rows.fac.get(k).map_or(&[][..], Vec::as_slice);
            ids.iter().map(|&id| rank[id as usize]).collect()
        }),
        // Last: `rows.len()` is the length of `stop`.
        stop: std::mem::take(&mut rows.stop),
    };
    (data, names, groups, notes)
}

/// Returns the columns [`lend_model_data`] moved out of `rows` (`groups`: the model
/// columns of each covariate argument, as it returned them).
fn give_back_model_data(call: &CoxOps, rows: &mut CoxRows, data: CoxData, groups: &[Vec<usize>]) {
    let CoxData {
        start,
        stop,
        event,
        mut x,
        weights,
        ..
    } = data;
    rows.stop = stop;
    rows.event = event;
    if let Some(start) = start {
        rows.start = start;
    }
    if let Some(weights) = weights {
        rows.weight = weights;
    }
    for (k, cov) in call.covariates.iter().enumerate() {
        // (A group that never saw a row has no columns: it lent empty ones.)
        if let (Covariate::Numeric { .. } | Covariate::Boolean { .. }, Some(&j), Some(column)) =
            (cov, groups[k].first(), rows.num.get_mut(k))
        {
            *column = std::mem::take(&mut x[j]);
        }
    }
}

/// `v` in `order` (on every core for a large group: the reads land at random).
fn gather<T: Copy + Send + Sync>(v: &[T], order: &[usize]) -> Vec<T> {
    if order.len() < PARALLEL_ROWS {
        order.iter().map(|&i| v[i]).collect()
    } else {
        order.par_iter().map(|&i| v[i]).collect()
    }
}

/// The rows ordered by all their values — stratum, stop, event, then the rest of the row
/// (start, weight, covariates with a factor by its level's rank, cluster) — so that the same
/// data gives bit-identical fits whatever order partitions delivered it in.
///
/// Survival times have many ties (a registry's 1e7 rows share a few thousand times), so
/// comparing whole rows inside each tie would read every column at random for most
/// comparisons. Each row instead gets a fingerprint of the rest of its values, and the sort
/// compares (stratum, stop, event and fingerprint) held with the row index in contiguous
/// keys; only rows whose keys are all equal — the same row repeated, or a fingerprint
/// collision — are compared value by value. The order stays a function of the values alone.
/// With few distinct (stratum, stop) pairs, as survival data have, the same order is built by
/// buckets of equal (stratum, stop) sorted within ([`bucketed_order`]).
fn canonical_row_order(
    call: &CoxOps,
    rows: &CoxRows,
    strata_rank: Option<&[u32]>,
    cluster_rank: Option<&[u32]>,
) -> Vec<usize> {
    let n = rows.len();
    let factor_ranks: Vec<Option<Vec<u32>>> = call
        .covariates
        .iter()
        .enumerate()
        .map(|(k, c)| match c {
            Covariate::Factor { .. } => rows.fac_labels.get(k).map(|l| label_ranks(&l.names)),
            _ => None,
        })
        .collect();
    // The rank of covariate k's value in row i (factor and cluster ids by their label's
    // rank), as a number both the fingerprint and the value-by-value comparison read.
    let id_rank = |k: usize, i: usize| -> Option<u32> {
        let rank = match &call.covariates[k] {
            Covariate::Factor { .. } => factor_ranks[k].as_deref()?,
            Covariate::Cluster { .. } => cluster_rank?,
            Covariate::Numeric { .. } | Covariate::Boolean { .. } => return None,
        };
        Some(rank[rows.fac[k][i] as usize])
    };
    // A row's fingerprint: its values mixed in a fixed order, folded to 32 bits (a collision
    // only costs a value-by-value comparison). The event is the top bit: deaths before
    // censored rows at the same time, so that the fit reads the rows backwards (see
    // survql_stats' prepared order).
    let row_fingerprint = |i: usize| -> u32 {
        let mut h = u64::from(rows.event[i]);
        if call.counting() {
            h = fingerprint_mix(h, total_order_bits(rows.start[i]));
        }
        if call.weighted() {
            h = fingerprint_mix(h, total_order_bits(rows.weight[i]));
        }
        for (k, cov) in call.covariates.iter().enumerate() {
            let value = match cov {
                Covariate::Numeric { .. } | Covariate::Boolean { .. } => {
                    total_order_bits(rows.num[k][i])
                }
                Covariate::Factor { .. } | Covariate::Cluster { .. } => {
                    id_rank(k, i).map_or(0, u64::from)
                }
            };
            h = fingerprint_mix(h, value);
        }
        (h >> 33) as u32 | u32::from(!rows.event[i]) << 31
    };
    let fingerprint: Vec<u32> = if n < PARALLEL_ROWS {
        (0..n).map(row_fingerprint).collect()
    } else {
        (0..n).into_par_iter().map(row_fingerprint).collect()
    };
    let same_values = |a: usize, b: usize| -> std::cmp::Ordering {
        let mut o = std::cmp::Ordering::Equal;
        if call.counting() {
            o = o.then_with(|| rows.start[a].total_cmp(&rows.start[b]));
        }
        if call.weighted() {
            o = o.then_with(|| rows.weight[a].total_cmp(&rows.weight[b]));
        }
        for (k, cov) in call.covariates.iter().enumerate() {
            o = o.then_with(|| match cov {
                Covariate::Numeric { .. } | Covariate::Boolean { .. } => {
                    rows.num[k][a].total_cmp(&rows.num[k][b])
                }
                Covariate::Factor { .. } | Covariate::Cluster { .. } => {
                    id_rank(k, a).cmp(&id_rank(k, b))
                }
            });
        }
        o
    };
    let stratum = |i: usize| strata_rank.map_or(0, |r| r[rows.strata[i] as usize]);
    let bucket_key = |i: usize| (stratum(i), total_order_bits(rows.stop[i]));
    let fingerprint = match bucketed_order(&bucket_key, fingerprint, &same_values) {
        Ok(order) => return order,
        Err(fingerprint) => fingerprint,
    };
    let mut keys: Vec<(u32, u64, u32, usize)> = (0..n)
        .map(|i| {
            (
                stratum(i),
                total_order_bits(rows.stop[i]),
                fingerprint[i],
                i,
            )
        })
        .collect();
    drop(fingerprint);
    let by_values = |a: &(u32, u64, u32, usize), b: &(u32, u64, u32, usize)| {
        (a.0, a.1, a.2)
            .cmp(&(b.0, b.1, b.2))
            .then_with(|| same_values(a.3, b.3))
    };
    // Rows with equal values are interchangeable in the fit, so any sort gives the same fit;
    // a large one is sorted on every core.
    if n < PARALLEL_ROWS {
        keys.sort_unstable_by(by_values);
    } else {
        keys.par_sort_unstable_by(by_values);
    }
    keys.into_iter().map(|k| k.3).collect()
}

/// One step of the row fingerprint: a fixed multiply-xorshift mix (the same on every
/// machine and in every process, unlike `std`'s randomly seeded hashers).
fn fingerprint_mix(h: u64, value: u64) -> u64 {
    let x = (h ^ value.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 31)
}

/// The most work `ties=exact` may take (see [`survql_stats::cox::exact_ties_cost`]): about
/// ten seconds per iteration; R's `coxexact` would need as many numbers of memory.
const EXACT_TIES_MAX_COST: f64 = 2e9;

/// A group's fit: the fit, coefficient names, its warning, the model data and each
/// covariate argument's coefficients.
type FittedRow = (
    CoxFit,
    Vec<String>,
    Option<String>,
    CoxData,
    Vec<Vec<usize>>,
);

fn fit_row(call: &CoxOps, rows: &CoxRows) -> Result<FittedRow> {
    fit_model_data(call, model_data(call, rows))
}

/// The fit of [`fit_row`] on model data already built.
fn fit_model_data(
    call: &CoxOps,
    (mut data, names, groups, mut notes): ModelData,
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
        // Predicted curves and cox.zph do not report it.
        concordance: !(call.kind.curve() || call.kind == CoxKind::Zph),
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

fn evaluate(call: &CoxOps, states: &mut [CoxRows]) -> Result<ArrayRef> {
    settle_all(states);
    if call.kind == CoxKind::Zph {
        return evaluate_zph(call, states);
    }
    if call.kind == CoxKind::FineGray {
        return evaluate_fine_gray(call, states);
    }
    if call.kind.parametric() {
        return evaluate_survreg(call, states);
    }
    if call.kind.curve() {
        return evaluate_curve(call, states);
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
fn firth_row(call: &CoxOps, rows: &CoxRows, c: &mut FitColumns, t: &mut TermColumns) -> usize {
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
fn fit_struct(c: FitColumns, lengths: &[usize], t: TermColumns) -> Result<ArrayRef> {
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

/// `survreg`: the parametric model of each group, as R's `survreg`.
fn evaluate_survreg(call: &CoxOps, states: &[CoxRows]) -> Result<ArrayRef> {
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

/// `finegray_ph`: the Fine-Gray model of each group, as `cmprsk::crr`, in the `cox_ph`
/// struct: `loglik`/`loglik_null` are crr's pseudo log-likelihoods, `lr_*` summary.crr's
/// pseudo likelihood-ratio test, `wald_*` b' V⁻¹ b with crr's sandwich V, `se` crr's
/// standard error; the score test, concordance and `robust_se` are NULL (crr has none).
fn evaluate_fine_gray(call: &CoxOps, states: &[CoxRows]) -> Result<ArrayRef> {
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

/// `cox_curve` / `cox_curve_strat`: per group the fit, then the predicted curve of the
/// call's profile (see [`survql_stats::cox_curve`]). A group without rows, or whose data lack
/// the profile's factor level or stratum, gives NULL with a warning.
fn evaluate_curve(call: &CoxOps, states: &[CoxRows]) -> Result<ArrayRef> {
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
fn same_label(label: &str, wanted: &str) -> bool {
    label == wanted
        || matches!((label.parse::<f64>(), wanted.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
}

/// The covariate vector z (one value per model column) and the stratum of a curve call in
/// one group's fit; an error text when the group's data lack the profile's level or stratum.
fn curve_target(
    call: &CoxOps,
    rows: &CoxRows,
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

#[derive(Default)]
struct FitColumns {
    n: Vec<i64>,
    events: Vec<i64>,
    ties: Vec<String>,
    iterations: Vec<i64>,
    converged: Vec<bool>,
    warning: Vec<Option<String>>,
    loglik_null: Vec<f64>,
    loglik: Vec<f64>,
    lr: Vec<Option<f64>>,
    lr_df: Vec<i64>,
    lr_p: Vec<Option<f64>>,
    wald: Vec<Option<f64>>,
    wald_p: Vec<Option<f64>>,
    score: Vec<Option<f64>>,
    score_p: Vec<Option<f64>>,
    conc: Vec<Option<f64>>,
    conc_se: Vec<Option<f64>>,
}

#[derive(Default)]
struct TermColumns {
    term: Vec<String>,
    coef: Vec<Option<f64>>,
    exp_coef: Vec<Option<f64>>,
    se: Vec<Option<f64>>,
    robust_se: Vec<Option<f64>>,
    z: Vec<Option<f64>>,
    p: Vec<Option<f64>>,
    lower: Vec<Option<f64>>,
    upper: Vec<Option<f64>>,
}

fn evaluate_zph(call: &CoxOps, states: &[CoxRows]) -> Result<ArrayRef> {
    let (mut gchi, mut gdf, mut gp) = (vec![], vec![], vec![]);
    let mut lengths = vec![];
    let (mut term, mut chi, mut df, mut p) = (vec![], vec![], vec![], vec![]);
    for rows in states {
        let (fit, names, _, data, groups) = fit_row(call, rows)?;
        // Terms: one per covariate argument (R's terms = TRUE), or one per coefficient.
        let (labels, grp): (Vec<String>, Vec<Vec<usize>>) = if call.options.terms {
            let l = call
                .covariates
                .iter()
                .map(|c| c.name().to_owned())
                .collect();
            (l, groups)
        } else {
            (names.clone(), (0..names.len()).map(|i| vec![i]).collect())
        };
        match cox_zph(
            &data,
            &fit,
            call.options.fit.ties,
            call.options.transform,
            &grp,
        ) {
            Some(z) => {
                gchi.push(z.global.statistic.and_then(finite_or_null));
                gdf.push(Some(z.global.df as i64));
                gp.push(z.global.p_value.and_then(finite_or_null));
                let mut count = 0;
                for (l, s) in labels.iter().zip(&z.terms) {
                    if s.df == 0 {
                        continue; // every coefficient of the term was aliased, as R drops it
                    }
                    term.push(l.clone());
                    chi.push(s.statistic.and_then(finite_or_null));
                    df.push(s.df as i64);
                    p.push(s.p_value.and_then(finite_or_null));
                    count += 1;
                }
                lengths.push(count);
            }
            None => {
                gchi.push(None);
                gdf.push(None);
                gp.push(None);
                lengths.push(0);
            }
        }
    }
    let terms = struct_array(
        &zph_term_fields(),
        vec![
            string_array(&term)?,
            Arc::new(Float64Array::from(chi)),
            Arc::new(Int64Array::from(df)),
            Arc::new(Float64Array::from(p)),
        ],
    );
    Ok(struct_array(
        &zph_fields(),
        vec![
            Arc::new(Float64Array::from(gchi)),
            Arc::new(Int64Array::from(gdf)),
            Arc::new(Float64Array::from(gp)),
            list_array(&lengths, terms)?,
        ],
    ))
}

impl StateOps for CoxOps {
    type State = CoxRows;

    fn update(
        &self,
        states: &mut [CoxRows],
        skipped: &mut [u64],
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        update(self, states, skipped, values, groups, filter)
    }

    fn merge(&self, states: &mut [CoxRows], values: &[ArrayRef], groups: &[usize]) -> Result<()> {
        merge(self, states, values, groups)
    }

    fn function(&self) -> &str {
        self.function
    }

    fn sink(&self) -> &WarningSink {
        &self.sink
    }

    fn expression(&self) -> &str {
        &self.expression
    }

    fn emit(&self, states: &mut [CoxRows]) -> Result<Vec<ArrayRef>> {
        emit_state(self, states)
    }

    fn evaluate(&self, states: &mut [CoxRows]) -> Result<ArrayRef> {
        evaluate(self, states)
    }

    fn size(state: &CoxRows) -> usize {
        state.size()
    }
}

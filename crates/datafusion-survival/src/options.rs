//! Constant arguments (options such as conf_type, rho or a Cox options string): read from the
//! call's literals, or evaluated when they do not arrive as literals (datafusion-ffi).

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::PhysicalExpr;

/// The value of constant argument `i`, which must be a literal after constant folding.
pub(crate) fn literal_arg(
    function: &str,
    arg: &str,
    args: &AccumulatorArgs,
    i: usize,
) -> Result<Option<ScalarValue>> {
    let Some(expr) = args.exprs.get(i) else {
        return Ok(None);
    };
    match constant_value(expr, args.schema) {
        Some(value) => Ok(Some(value)),
        None => exec_err!(
            "{function}: argument '{arg}' must be a constant (a literal), found the expression {expr}"
        )}
}

/// The value of `expr` if it is a constant. In-process, constant folding has made every
/// constant a `Literal`. Loaded through datafusion-ffi (the Python package), each expression
/// arrives wrapped as a foreign expression, so a constant is recognised by what it does:
/// evaluated on a batch without rows it gives a scalar, where a column gives an array.
pub(crate) fn constant_value(expr: &Arc<dyn PhysicalExpr>, schema: &Schema) -> Option<ScalarValue> {
    if let Some(lit) = expr.downcast_ref::<Literal>() {
        return Some(lit.value().clone());
    }
    let empty = RecordBatch::new_empty(Arc::new(schema.clone()));
    match expr.evaluate(&empty) {
        Ok(ColumnarValue::Scalar(value)) => Some(value),
        _ => None,
    }
}

/// A constant DOUBLE option; `None` when the argument is absent.
pub(crate) fn f64_option(
    function: &str,
    arg: &str,
    args: &AccumulatorArgs,
    i: usize,
) -> Result<Option<f64>> {
    match literal_arg(function, arg, args, i)? {
        None => Ok(None),
        Some(v) if v.is_null() => exec_err!("{function}: argument '{arg}' must not be NULL"),
        Some(v) => match v.cast_to(&DataType::Float64)? {
            ScalarValue::Float64(Some(x)) if x.is_finite() => Ok(Some(x)),
            other => {
                exec_err!("{function}: argument '{arg}' must be a finite number, found {other}")
            }
        },
    }
}

/// A constant string option; `None` when the argument is absent.
pub(crate) fn str_option(
    function: &str,
    arg: &str,
    args: &AccumulatorArgs,
    i: usize,
) -> Result<Option<String>> {
    match literal_arg(function, arg, args, i)? {
        None => Ok(None),
        Some(v) if v.is_null() => exec_err!("{function}: argument '{arg}' must not be NULL"),
        Some(v) => match v.cast_to(&DataType::Utf8)? {
            ScalarValue::Utf8(Some(s)) => Ok(Some(s)),
            other => exec_err!("{function}: argument '{arg}' must be a string, found {other}"),
        },
    }
}

/// Parses `conf_type` and `conf_level` (arguments `i` and `i + 1`), with R's defaults.
pub(crate) fn conf_options(
    function: &str,
    args: &AccumulatorArgs,
    i: usize,
) -> Result<(survql_stats::ConfType, f64)> {
    let conf_type = match str_option(function, "conf_type", args, i)? {
        None => survql_stats::ConfType::Log,
        Some(s) => match survql_stats::ConfType::parse(&s) {
            Some(c) => c,
            None => {
                return exec_err!(
                    "{function}: argument 'conf_type' must be one of {}, found '{s}'",
                    survql_stats::ConfType::NAMES
                )
            }
        },
    };
    let level = conf_level_option(function, args, i + 1)?.unwrap_or(0.95);
    Ok((conf_type, level))
}

/// The `conf_type` argument of the Kaplan-Meier functions, which may name a convention
/// (`'sas'`, `'sas:log'`, see [`survql_stats::convention`]), and `conf_level`: (convention,
/// limits, level), R's by default.
pub(crate) fn km_conf_options(
    function: &str,
    args: &AccumulatorArgs,
    i: usize,
) -> Result<(survql_stats::Convention, survql_stats::ConfType, f64)> {
    let (convention, conf_type) = match str_option(function, "conf_type", args, i)? {
        None => (survql_stats::Convention::R, survql_stats::ConfType::Log),
        Some(s) => match survql_stats::convention::parse_conf_spec(&s) {
            Some(c) => c,
            None => {
                return exec_err!(
                    "{function}: argument 'conf_type' must be one of {}, a convention ({}) or convention:type (e.g. 'sas:log'), found '{s}'",
                    survql_stats::ConfType::NAMES,
                    survql_stats::Convention::NAMES
                )
            }
        }};
    let level = conf_level_option(function, args, i + 1)?.unwrap_or(0.95);
    Ok((convention, conf_type, level))
}

/// A `conf_level` option, which must lie strictly between 0 and 1.
pub(crate) fn conf_level_option(
    function: &str,
    args: &AccumulatorArgs,
    i: usize,
) -> Result<Option<f64>> {
    match f64_option(function, "conf_level", args, i)? {
        Some(l) if !(l > 0.0 && l < 1.0) => {
            exec_err!("{function}: argument 'conf_level' must be in (0, 1), found {l}")
        }
        other => Ok(other),
    }
}

//! The survival response as one argument: `surv(time, event)` or `surv(entry, time, event)`
//! (R's `Surv(time, event)`, `Surv(entry, time, event)`), and `surv(entry, time, event,
//! weight)` with case weights (R's `weights =`; `entry` NULL without delayed entry), accepted
//! in place of the leading `time, event` arguments by the functions that take them.
//!
//! ```sql
//! SELECT km_median(surv(entry_months, exit_months, died)) FROM registry;
//! ```
//!
//! The response is a STRUCT with the fields `time` and `event`, `entry` for left-truncated
//! data and `weight` for case weights; [`crate::surv::Surv`] builds it, and any struct with those field names (e.g.
//! `named_struct('entry', e, 'time', t, 'event', d)`) works the same. A function given one
//! sees its other arguments at the positions they have after `time, event`: this module maps
//! the argument types for planning ([`coerce_with_response`]), the argument expressions for
//! reading constant options ([`ExpandedArgs`]), and the input columns ([`split_values`]).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::Float64Type;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::physical_expr::PhysicalExpr;

/// What a response struct holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResponseShape {
    /// It has an `entry` field (left truncation).
    pub entry: bool,
    /// It has a `weight` field (case weights).
    pub weight: bool,
}

/// What a function takes besides time and event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Takes {
    pub entry: bool,
    pub weight: bool,
}

/// The shape of a response struct type: fields `time` and `event`, optionally `entry` and
/// `weight` (no others); `None` for any other type.
pub(crate) fn response_shape(dt: &DataType) -> Option<ResponseShape> {
    let DataType::Struct(fields) = dt else {
        return None;
    };
    let has = |name: &str| fields.iter().any(|f| f.name() == name);
    let known = fields
        .iter()
        .all(|f| matches!(f.name().as_str(), "time" | "event" | "entry" | "weight"));
    (known && has("time") && has("event")).then_some(ResponseShape {
        entry: has("entry"),
        weight: has("weight"),
    })
}

/// The type of a named field of a struct type.
fn field_type(dt: &DataType, name: &str) -> Option<DataType> {
    match dt {
        DataType::Struct(fields) => fields
            .iter()
            .find(|f| f.name() == name)
            .map(|f| f.data_type().clone()),
        _ => None,
    }
}

/// Argument types for a function whose first argument may be a response: the family's own
/// coercion `classic` sees `time, event, rest...` (the response's field types standing in
/// for the first two), and the response struct passes through unchanged (its fields are
/// converted when read). `takes`: whether the function takes delayed entry and weights.
pub(crate) fn coerce_with_response(
    function: &str,
    arg_types: &[DataType],
    takes: Takes,
    classic: impl Fn(&[DataType]) -> Result<Vec<DataType>>,
) -> Result<Vec<DataType>> {
    let Some(shape) = arg_types.first().and_then(response_shape) else {
        return classic(arg_types);
    };
    if shape.entry && !takes.entry {
        return plan_err!("{function} does not take delayed entry (surv(entry, time, event))");
    }
    if shape.weight && !takes.weight {
        return plan_err!(
            "{function} does not take case weights (the weight of surv(entry, time, event, \
             weight))"
        );
    }
    if let Some(weight) = field_type(&arg_types[0], "weight") {
        crate::coerce::coerce_time(function, "weight", &weight)?;
    }
    let first = &arg_types[0];
    let mut expanded = vec![
        field_type(first, "time").unwrap_or(DataType::Null),
        field_type(first, "event").unwrap_or(DataType::Null),
    ];
    expanded.extend_from_slice(&arg_types[1..]);
    if let Some(entry) = field_type(first, "entry") {
        crate::coerce::coerce_time(function, "entry", &entry)?;
    }
    let coerced = classic(&expanded)?;
    let mut out = vec![first.clone()];
    out.extend_from_slice(&coerced[2..]);
    Ok(out)
}

/// The response shape of a call's first argument, if it is one.
pub(crate) fn call_shape(args: &AccumulatorArgs) -> Option<ResponseShape> {
    args.expr_fields
        .first()
        .and_then(|f| response_shape(f.data_type()))
}

/// A call's arguments as the family reads them: a response first argument stands for two
/// (its expression repeated), so constant options keep their positions after `time, event`.
pub(crate) struct ExpandedArgs {
    exprs: Vec<Arc<dyn PhysicalExpr>>,
    fields: Vec<FieldRef>,
}

impl ExpandedArgs {
    /// `None` when the first argument is not a response (the call's arguments are used as
    /// they are).
    pub(crate) fn new(args: &AccumulatorArgs) -> Option<ExpandedArgs> {
        call_shape(args)?;
        let mut exprs = vec![Arc::clone(&args.exprs[0])];
        exprs.extend(args.exprs.iter().cloned());
        let mut fields = vec![Arc::clone(&args.expr_fields[0])];
        fields.extend(args.expr_fields.iter().cloned());
        Some(ExpandedArgs { exprs, fields })
    }

    /// `args` with the expanded expressions and fields.
    pub(crate) fn args<'a>(&'a self, args: &AccumulatorArgs<'a>) -> AccumulatorArgs<'a> {
        AccumulatorArgs {
            return_field: Arc::clone(&args.return_field),
            schema: args.schema,
            ignore_nulls: args.ignore_nulls,
            order_bys: args.order_bys,
            is_reversed: args.is_reversed,
            name: args.name,
            is_distinct: args.is_distinct,
            exprs: &self.exprs,
            expr_fields: &self.fields,
        }
    }
}

/// Input columns of a call whose first argument is a response: `time, event, rest...`, the
/// entry and the weight columns.
pub(crate) struct SplitValues {
    pub values: Vec<ArrayRef>,
    pub entry: Option<ArrayRef>,
    pub weight: Option<ArrayRef>,
}

/// Splits the response column (`values[0]`) into its fields. A NULL response row makes its
/// time NULL, so the row is skipped (and counted) like any row with a NULL argument.
pub(crate) fn split_values(function: &str, values: &[ArrayRef]) -> Result<SplitValues> {
    let Some(response) = values.first().and_then(|v| v.as_struct_opt()) else {
        return exec_err!("{function}: expected surv(...) as the first argument");
    };
    let field = |name: &str| -> Option<ArrayRef> {
        let column = response.column_by_name(name)?;
        Some(match response.nulls() {
            // The struct's own NULLs apply to every field.
            Some(nulls) if nulls.null_count() > 0 => {
                let merged = datafusion::arrow::buffer::NullBuffer::union(
                    Some(nulls),
                    column.logical_nulls().as_ref(),
                );
                datafusion::arrow::array::make_array(
                    column
                        .to_data()
                        .into_builder()
                        .nulls(merged)
                        .build()
                        .expect("same length"),
                )
            }
            _ => Arc::clone(column),
        })
    };
    let (Some(time), Some(event)) = (field("time"), field("event")) else {
        return exec_err!("{function}: surv(...) needs the fields time and event");
    };
    let time = datafusion::arrow::compute::cast(&time, &DataType::Float64)?;
    let mut out = vec![time, event];
    out.extend(values[1..].iter().cloned());
    let as_f64 = |name: &str| -> Result<Option<ArrayRef>> {
        match field(name) {
            Some(c) => Ok(Some(datafusion::arrow::compute::cast(
                &c,
                &DataType::Float64,
            )?)),
            None => Ok(None),
        }
    };
    Ok(SplitValues {
        values: out,
        entry: as_f64("entry")?,
        weight: as_f64("weight")?,
    })
}

/// The weight column: finite and ≥ 0 where not NULL (R: "Invalid weights, must be >0";
/// survfit accepts zero weights).
pub(crate) fn weight_column<'a>(function: &str, array: &'a ArrayRef) -> Result<&'a Float64Array> {
    let Some(w) = array.as_primitive_opt::<Float64Type>() else {
        return exec_err!(
            "{function}: argument 'weight' must be numeric, found {}",
            array.data_type()
        );
    };
    for i in 0..w.len() {
        let v = w.value(i);
        if w.is_valid(i) && !(v.is_finite() && v >= 0.0) {
            return exec_err!(
                "{function}: argument 'weight' must be a finite number >= 0, found {v}"
            );
        }
    }
    Ok(w)
}

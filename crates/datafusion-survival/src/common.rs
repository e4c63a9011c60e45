//! Argument checking, constant options, result builders and the warnings side channel shared
//! by every survival aggregate.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, ListArray, StringArray,
    StructArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::compute::{cast, max, min};
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Float64Type, Int64Type, Schema,
};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::ColumnarValue;
use datafusion::logical_expr::{Documentation, DocumentationBuilder};
use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::PhysicalExpr;

pub(crate) use datafusion::logical_expr::DocSection;

/// The documentation section every survql function belongs to.
pub(crate) const DOC_SECTION: DocSection = DocSection {
    include: true,
    label: "Survival Functions",
    description: Some("Survival analysis functions matching R's survival package."),
};

/// Starts a [`Documentation`] in the survival section.
pub(crate) fn doc(description: &str, syntax: &str) -> DocumentationBuilder {
    Documentation::builder(DOC_SECTION, description.to_owned(), syntax.to_owned())
}

/// Messages an aggregate wants a user to see but that must not fail the query: rows skipped
/// because of NULL arguments, Cox fits that did not converge, and the like.
///
/// The `survql` REPL drains it after every statement and prints the messages; an embedding
/// program gets one from [`crate::register_all_with_warnings`], or one per query from
/// [`crate::query_context`] (so that concurrent queries do not mix their warnings).
///
/// A sink holds at most [`WarningSink::MAX_MESSAGES`] distinct messages and as many
/// skipped-row counters; what does not fit is counted and reported as one last line, so a
/// long-running embedder that never drains it does not grow without bound.
#[derive(Clone, Default)]
pub struct WarningSink(Arc<Mutex<SinkState>>);

#[derive(Default)]
struct SinkState {
    messages: Vec<String>,
    /// Rows skipped for a NULL argument, per aggregate expression, in first-seen order.
    skipped: Vec<(String, u64)>,
    /// Messages (and skipped-row counters) that did not fit.
    dropped: u64,
}

impl WarningSink {
    /// Most distinct messages (and, separately, skipped-row counters) kept until drained.
    pub const MAX_MESSAGES: usize = 100;

    /// Records one message (a message already recorded is not repeated).
    pub fn push(&self, message: String) {
        if let Ok(mut s) = self.0.lock() {
            if !s.messages.contains(&message) {
                if s.messages.len() < Self::MAX_MESSAGES {
                    s.messages.push(message);
                } else {
                    s.dropped += 1;
                }
            }
        }
    }

    /// Counts rows that an aggregate skipped because an argument was NULL.
    pub fn add_skipped(&self, expression: &str, rows: u64) {
        if rows == 0 {
            return;
        }
        if let Ok(mut s) = self.0.lock() {
            let full = s.skipped.len() >= Self::MAX_MESSAGES;
            match s.skipped.iter_mut().find(|(e, _)| e == expression) {
                Some((_, n)) => *n += rows,
                None if full => s.dropped += 1,
                None => s.skipped.push((expression.to_owned(), rows)),
            }
        }
    }

    /// Takes every message recorded so far, the skipped-row counts first.
    pub fn drain(&self) -> Vec<String> {
        let Ok(mut s) = self.0.lock() else {
            return Vec::new();
        };
        let mut out: Vec<String> = std::mem::take(&mut s.skipped)
            .into_iter()
            .map(|(e, n)| format!("{e}: skipped {n} row(s) with a NULL argument"))
            .collect();
        out.append(&mut s.messages);
        let dropped = std::mem::take(&mut s.dropped);
        if dropped > 0 {
            out.push(format!("{dropped} more warning(s) not shown"));
        }
        out
    }
}

/// What a [`WarningSink`] holds, taken out to be moved to another process (a cluster worker
/// hands the warnings of the aggregates it evaluated to its coordinator).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WarningParts {
    /// Rows skipped for a NULL argument, per aggregate expression.
    pub skipped: Vec<(String, u64)>,
    pub messages: Vec<String>,
    /// Warnings that did not fit.
    pub dropped: u64,
}

impl WarningSink {
    /// Takes everything recorded so far, unformatted.
    pub fn take_parts(&self) -> WarningParts {
        let Ok(mut s) = self.0.lock() else {
            return WarningParts::default();
        };
        WarningParts {
            skipped: std::mem::take(&mut s.skipped),
            messages: std::mem::take(&mut s.messages),
            dropped: std::mem::take(&mut s.dropped),
        }
    }

    /// Records `parts` as if they had been recorded here: skipped rows add up per expression,
    /// a message already recorded is not repeated.
    pub fn absorb(&self, parts: WarningParts) {
        for (expression, rows) in parts.skipped {
            self.add_skipped(&expression, rows);
        }
        for message in parts.messages {
            self.push(message);
        }
        if parts.dropped > 0 {
            if let Ok(mut s) = self.0.lock() {
                s.dropped += parts.dropped;
            }
        }
    }
}

impl fmt::Debug for WarningSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WarningSink")
    }
}

/// Two functions are the same function whatever sink they report to.
impl PartialEq for WarningSink {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for WarningSink {}
impl Hash for WarningSink {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

/// True for the numeric Arrow types accepted as a time.
pub(crate) fn is_numeric(dt: &DataType) -> bool {
    dt.is_numeric() || matches!(dt, DataType::Null)
}

/// Coerces a time argument to DOUBLE, or explains which argument has the wrong type.
pub(crate) fn coerce_time(function: &str, arg: &str, dt: &DataType) -> Result<DataType> {
    if is_numeric(dt) {
        Ok(DataType::Float64)
    } else {
        plan_err!("{function}: argument '{arg}' must be numeric, found {dt}")
    }
}

/// Coerces an event argument: BOOLEAN stays, integers become BIGINT, floats DOUBLE.
pub(crate) fn coerce_event(function: &str, dt: &DataType) -> Result<DataType> {
    match dt {
        DataType::Boolean => Ok(DataType::Boolean),
        DataType::Null => Ok(DataType::Int64),
        d if d.is_integer() => Ok(DataType::Int64),
        d if d.is_floating()
            || matches!(d, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
        {
            Ok(DataType::Float64)
        }
        d => plan_err!("{function}: argument 'event' must be 0/1 or boolean, found type {d}"),
    }
}

/// Checks an option argument's type at planning time: it must be a literal of some type that
/// can be cast to `want` (the value itself is checked when the aggregate is created).
pub(crate) fn coerce_option(
    function: &str,
    arg: &str,
    dt: &DataType,
    want: &DataType,
) -> Result<DataType> {
    let ok = match want {
        DataType::Utf8 => matches!(
            dt,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
        ),
        DataType::Float64 => is_numeric(dt),
        DataType::Boolean => matches!(dt, DataType::Boolean | DataType::Null),
        _ => true,
    };
    if ok {
        Ok(want.clone())
    } else {
        plan_err!("{function}: argument '{arg}' must be of type {want}, found {dt}")
    }
}

/// Checks the number of arguments.
pub(crate) fn check_arity(
    function: &str,
    got: usize,
    min: usize,
    max: usize,
    syntax: &str,
) -> Result<()> {
    if got < min || got > max {
        return plan_err!(
            "{function}: expected {} argument(s), found {got}; usage: {syntax}",
            if min == max {
                min.to_string()
            } else {
                format!("{min} to {max}")
            }
        );
    }
    Ok(())
}

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
        ),
    }
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
        },
    };
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

/// A time column as f64 values, with NaN and infinite values rejected.
pub(crate) fn time_column<'a>(
    function: &str,
    arg: &str,
    array: &'a ArrayRef,
) -> Result<&'a Float64Array> {
    let Some(values) = array.as_primitive_opt::<Float64Type>() else {
        return exec_err!(
            "{function}: argument '{arg}' must be numeric, found {}",
            array.data_type()
        );
    };
    // Checking after the fact keeps the hot loop free of branches on valid data.
    if values.values().iter().any(|t| !t.is_finite()) {
        for i in 0..values.len() {
            if values.is_valid(i) && !values.value(i).is_finite() {
                return exec_err!(
                    "{function}: argument '{arg}' must be a finite number, found {}",
                    values.value(i)
                );
            }
        }
    }
    Ok(values)
}

/// An event column as a boolean array (1/true = event). Integer and float columns must hold
/// only 0 and 1.
pub(crate) fn event_column(function: &str, array: &ArrayRef) -> Result<BooleanArray> {
    match array.data_type() {
        DataType::Boolean => Ok(array.as_boolean().clone()),
        DataType::Int64 => {
            let a = array.as_primitive::<Int64Type>();
            // Vectorised: validate with min/max, convert with the `eq` kernel.
            let (lo, hi) = (min(a), max(a));
            if lo.is_some_and(|v| v < 0) || hi.is_some_and(|v| v > 1) {
                let bad = a.iter().flatten().find(|v| *v != 0 && *v != 1).unwrap_or(0);
                return exec_err!(
                    "{function}: argument 'event' must be 0/1 or boolean, found {bad}"
                );
            }
            Ok(eq(a, &Int64Array::new_scalar(1))?)
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            if let Some(bad) = a.iter().flatten().find(|v| *v != 0.0 && *v != 1.0) {
                return exec_err!(
                    "{function}: argument 'event' must be 0/1 or boolean, found {bad}"
                );
            }
            Ok(a.iter().map(|v| v.map(|v| v == 1.0)).collect())
        }
        DataType::Null => Ok(BooleanArray::new_null(array.len())),
        _ => {
            let casted = cast(array, &DataType::Int64)?;
            event_column(function, &casted)
        }
    }
}

/// The validity of rows to use: every argument non-NULL and the FILTER clause true.
/// Returns the mask (None = all rows valid); each row skipped for a NULL argument (and not
/// removed by FILTER, which is not "skipped") adds one to `skipped[groups[row]]`.
pub(crate) fn row_mask(
    columns: &[&dyn Array],
    filter: Option<&BooleanArray>,
    groups: &[usize],
    skipped: &mut [u64],
) -> Option<NullBuffer> {
    let mut nulls: Option<NullBuffer> = None;
    for c in columns {
        nulls = NullBuffer::union(nulls.as_ref(), c.logical_nulls().as_ref());
    }
    if let Some(n) = nulls.as_ref().filter(|n| n.null_count() > 0) {
        for i in (0..n.len()).filter(|&i| n.is_null(i)) {
            if filter.is_none_or(|f| f.is_valid(i) && f.value(i)) {
                skipped[groups[i]] += 1;
            }
        }
    }
    if let Some(f) = filter {
        let fb = match f.nulls() {
            Some(fnulls) => f.values() & fnulls.inner(),
            None => f.values().clone(),
        };
        nulls = NullBuffer::union(nulls.as_ref(), Some(&NullBuffer::new(fb)));
    }
    nulls
}

/// Builds a struct array from named children.
pub(crate) fn struct_array(fields: &Fields, columns: Vec<ArrayRef>) -> ArrayRef {
    Arc::new(StructArray::new(fields.clone(), columns, None))
}

/// Builds a list array whose i-th element holds `lengths[i]` consecutive rows of `values`.
///
/// A list array addresses its values with 32-bit offsets: more than 2^31 − 1 values in one
/// state or result (one partition's Cox rows, say) is an error here, not a panic.
pub(crate) fn list_array(lengths: &[usize], values: ArrayRef) -> Result<ArrayRef> {
    check_i32_size("values", values.len())?;
    Ok(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(values.data_type().clone(), true)),
        OffsetBuffer::from_lengths(lengths.iter().copied()),
        values,
        None,
    )))
}

/// [`list_array`] with NULL elements where `valid` is false (their length must be 0).
pub(crate) fn nullable_list_array(
    lengths: &[usize],
    valid: &[bool],
    values: ArrayRef,
) -> Result<ArrayRef> {
    check_i32_size("values", values.len())?;
    Ok(Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(values.data_type().clone(), true)),
        OffsetBuffer::from_lengths(lengths.iter().copied()),
        values,
        Some(NullBuffer::from(valid.to_vec())),
    )))
}

/// A UTF-8 string array, or an error when its text exceeds the 2^31 − 1 bytes that 32-bit
/// offsets can address (`StringArray::from` would panic).
pub(crate) fn string_array<S: AsRef<str>>(values: &[S]) -> Result<ArrayRef> {
    let bytes: usize = values.iter().map(|s| s.as_ref().len()).sum();
    check_i32_size("bytes of text", bytes)?;
    Ok(Arc::new(StringArray::from_iter_values(
        values.iter().map(AsRef::as_ref),
    )))
}

/// An error unless `n` fits Arrow's 32-bit offsets.
pub(crate) fn check_i32_size(what: &str, n: usize) -> Result<()> {
    if n > i32::MAX as usize {
        return exec_err!(
            "a state or result of {n} {what} exceeds the {} that one Arrow list or string column can hold; split the aggregation (GROUP BY, or more partitions)",
            i32::MAX
        );
    }
    Ok(())
}

/// `LIST<item>` with nullable items: the type of every list this crate returns or keeps.
pub(crate) fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, true)))
}

/// The state field `<function>[name]` of type `LIST<item>`.
pub(crate) fn state_list_field(function: &str, name: &str, item: DataType) -> FieldRef {
    Arc::new(Field::new(
        format_state_name(function, name),
        list_of(item),
        true,
    ))
}

/// A nullable DOUBLE field.
pub(crate) fn f64_field(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}

/// A nullable BIGINT field.
pub(crate) fn i64_field(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

/// `Some(x)` unless x is NaN: R's NA and NaN are SQL NULL.
pub(crate) fn finite_or_null(x: f64) -> Option<f64> {
    if x.is_nan() {
        None
    } else {
        Some(x)
    }
}

/// Coerces `(time, event, options...)` arguments: time to DOUBLE, the event as
/// [`coerce_event`], each present option to its declared type.
pub(crate) fn coerce_time_event_options(
    function: &str,
    arg_types: &[DataType],
    options: &[(&str, DataType)],
    syntax: &str,
) -> Result<Vec<DataType>> {
    check_arity(function, arg_types.len(), 2, 2 + options.len(), syntax)?;
    let mut out = vec![
        coerce_time(function, "time", &arg_types[0])?,
        coerce_event(function, &arg_types[1])?,
    ];
    for (dt, (name, want)) in arg_types[2..].iter().zip(options) {
        out.push(coerce_option(function, name, dt, want)?);
    }
    Ok(out)
}

/// Like [`coerce_time_event_options`] for functions whose first option is required.
pub(crate) fn coerce_time_event_required(
    function: &str,
    arg_types: &[DataType],
    required: usize,
    options: &[(&str, DataType)],
    syntax: &str,
) -> Result<Vec<DataType>> {
    check_arity(
        function,
        arg_types.len(),
        2 + required,
        2 + options.len(),
        syntax,
    )?;
    coerce_time_event_options(function, arg_types, options, syntax)
}

/// Coerces `(time, event, label...)` arguments followed by numeric options: time to DOUBLE,
/// the event as [`coerce_event`], labels (any type) unchanged, options to DOUBLE.
pub(crate) fn coerce_time_event_labels(
    function: &str,
    arg_types: &[DataType],
    labels: usize,
    options: &[&str],
    syntax: &str,
) -> Result<Vec<DataType>> {
    refuse_response(function, arg_types, syntax)?;
    check_arity(
        function,
        arg_types.len(),
        2 + labels,
        2 + labels + options.len(),
        syntax,
    )?;
    let mut out = vec![
        coerce_time(function, "time", &arg_types[0])?,
        coerce_event(function, &arg_types[1])?,
    ];
    for dt in &arg_types[2..2 + labels] {
        out.push(match dt {
            DataType::Null => DataType::Utf8,
            d => d.clone(),
        });
    }
    for (dt, name) in arg_types[2 + labels..].iter().zip(options) {
        out.push(coerce_option(function, name, dt, &DataType::Float64)?);
    }
    Ok(out)
}

/// The hasher of the aggregate states' hash tables (time bit patterns, label ids, string
/// views): foldhash, hashbrown's own fast hasher.
pub(crate) type StateHasher = foldhash::fast::RandomState;

/// A planning error for a `surv(...)` argument given to a function that takes `time, event`
/// only (see [`crate::response`]).
pub(crate) fn refuse_response(function: &str, arg_types: &[DataType], syntax: &str) -> Result<()> {
    if arg_types
        .first()
        .and_then(crate::response::response_shape)
        .is_some()
    {
        return plan_err!(
            "{function} does not take surv(...) (no delayed entry, as its R counterpart): pass \
             time and event; usage: {syntax}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More values than 32-bit offsets address is an error, not a panic in
    /// `OffsetBuffer::from_lengths` / `StringArray::from` (the sizes are checked before
    /// anything is allocated).
    #[test]
    fn sizes_past_i32_offsets_are_errors() {
        assert!(check_i32_size("values", i32::MAX as usize).is_ok());
        let err = check_i32_size("bytes of text", i32::MAX as usize + 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("2147483648 bytes of text exceeds the 2147483647"),
            "{err}"
        );
        let list = list_array(
            &[2, 0, 1],
            Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])),
        )
        .unwrap();
        assert_eq!(list.len(), 3);
        let text = string_array(&["a", "≥ 70", ""]).unwrap();
        assert_eq!(text.as_string::<i32>().value(1), "≥ 70");
    }
}

//! Argument type checks and coercions shared by the survival functions (`coerce_types`).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{plan_err, Result};

/// True for the numeric Arrow types accepted as a time.
pub(crate) fn is_numeric(dt: &DataType) -> bool {
    dt.is_numeric() || matches!(dt, DataType::Null)
}

/// Coerces a time argument to DOUBLE, or explains which argument has the wrong type.
pub(crate) fn coerce_time(function: &str, arg: &str, dt: &DataType) -> Result<DataType> {
    if is_numeric(dt) {
        Ok(DataType::Float64)
    } else {
        plan_err!(
            "{function}: argument '{arg}' must be numeric, found {dt}{}",
            text_hint(dt)
        )
    }
}

/// What to do about a text column where a number was expected: most often numbers with
/// missing-value markers that a CSV reader kept as text.
fn text_hint(dt: &DataType) -> &'static str {
    if matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        " (a text column: if it holds numbers with missing-value markers such as R's NA or \
         SAS's and Stata's '.', read them as NULL: the survql shell does so for CSV files by \
         default (--csv-null), or write CAST(NULLIF(column, 'NA') AS DOUBLE))"
    } else {
        ""
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
        d => plan_err!(
            "{function}: argument 'event' must be 0/1 or boolean, found type {d}{}",
            text_hint(d)
        ),
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

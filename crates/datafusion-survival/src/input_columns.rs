//! Reading and validating the input columns of an update: time, event, the NULL-row mask, and
//! the hasher of the hash-table states.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{exec_err, Result};

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
    // A fold (no early exit) vectorises.
    if values
        .values()
        .iter()
        .fold(false, |bad, t| bad | !t.is_finite())
    {
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
            let values = a.values();
            // Two vectorised passes: is any slot other than 0/1 (a NULL's slot may hold
            // anything, so only then look at the valid rows), then the bits.
            if values.iter().fold(false, |bad, &v| bad | (v as u64 > 1)) {
                if let Some(bad) = a.iter().flatten().find(|v| *v != 0 && *v != 1) {
                    return Err(not_an_event(function, bad as f64));
                }
            }
            let bits = BooleanBuffer::collect_bool(values.len(), |i| values[i] == 1);
            Ok(BooleanArray::new(bits, a.nulls().cloned()))
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            if let Some(bad) = a.iter().flatten().find(|v| *v != 0.0 && *v != 1.0) {
                return Err(not_an_event(function, bad));
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

/// The error for an event value other than 0/1, telling the user what to write: R's own
/// data code status as 1 = censored, 2 = event (`lung`), which `Surv()` accepts.
fn not_an_event(function: &str, bad: f64) -> datafusion::error::DataFusionError {
    let hint = if bad == 2.0 {
        "; for R's coding (1 = censored, 2 = event, as in `lung`) pass the condition \
         `status = 2` as the event"
            .to_owned()
    } else {
        format!("; for another coding pass a condition as the event, e.g. `status = {bad}`")
    };
    datafusion::common::exec_datafusion_err!(
        "{function}: argument 'event' must be 0/1 or boolean, found {bad}{hint}"
    )
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

/// The hasher of the aggregate states' hash tables (time bit patterns, label ids, string
/// views): foldhash, hashbrown's own fast hasher.
pub(crate) type StateHasher = foldhash::fast::RandomState;

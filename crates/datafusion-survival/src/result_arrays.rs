//! Arrow builders for results and states: structs, lists, strings, fields, with 32-bit offset
//! sizes checked before anything is allocated.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListArray, StringArray, StructArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::utils::format_state_name;

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

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{AsArray, Float64Array};

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

//! The row `Accumulator` and the `GroupsAccumulator` every survival function uses, generic
//! over its state: each function family says how to update, merge, serialise and evaluate a
//! slice of per-group states ([`StateOps`]), and these two wrappers do the rest. Both use the
//! same state layout, so their partial states are interchangeable.
//!
//! The wrappers are also where two promises are kept for every function at once:
//!
//! * **No panic escapes.** Each entry point runs under `catch_unwind`; a panic (a bug, or an
//!   allocation the system refuses) becomes a DataFusion error naming the function. This
//!   matters most where the functions are loaded into another process (Python, a cluster
//!   worker), where an unwinding panic would abort it.
//! * **`size()` is O(1) and honest.** DataFusion asks for the size after every batch to charge
//!   its memory pool; the groups accumulator keeps a running total of its states' sizes,
//!   updated only for the groups a batch touched.
//! * **Warnings travel with the state.** Rows skipped for a NULL argument are counted per
//!   group in the state (one `UInt64` field after the family's own, see [`skipped_field`]),
//!   merged by addition and reported to the function's [`WarningSink`] when the result is
//!   evaluated. The rows may be read in another process (a cluster worker) than the one that
//!   evaluates the result, and the count still reaches the user.

use std::any::Any;
use std::fmt::Debug;
use std::mem::size_of;
use std::panic::{catch_unwind, AssertUnwindSafe};

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};

use crate::warnings::WarningSink;

/// The state field that carries the rows skipped for NULLs; it follows the family's fields.
pub(crate) fn skipped_field(function_name: &str) -> FieldRef {
    Arc::new(Field::new(
        format_state_name(function_name, "skipped_null_rows"),
        DataType::UInt64,
        true,
    ))
}

/// `fields` followed by [`skipped_field`]: the state layout of every survival function.
pub(crate) fn with_skipped_field(function_name: &str, mut fields: Vec<FieldRef>) -> Vec<FieldRef> {
    fields.push(skipped_field(function_name));
    fields
}

/// Splits a serialised state into the family's columns and the skipped-row counts.
fn split_skipped<'a>(
    function: &str,
    values: &'a [ArrayRef],
) -> Result<(&'a [ArrayRef], &'a UInt64Array)> {
    let Some((last, family)) = values.split_last() else {
        return exec_err!("{function}: empty state");
    };
    match last.as_any().downcast_ref::<UInt64Array>() {
        Some(counts) => Ok((family, counts)),
        None => exec_err!(
            "{function}: the state's last field is {} where the skipped-row count (UInt64) was \
             expected; are all processes of the cluster running the same survql build?",
            last.data_type()
        ),
    }
}

/// Adds each row's skipped count to its group.
fn merge_skipped(skipped: &mut [u64], counts: &UInt64Array, groups: &[usize]) {
    if counts.null_count() == 0 {
        for (&c, &g) in counts.values().iter().zip(groups) {
            skipped[g] += c;
        }
    } else {
        for (c, &g) in counts.iter().zip(groups) {
            skipped[g] += c.unwrap_or(0);
        }
    }
}

/// How one family of survival functions handles its per-group states.
pub trait StateOps: Debug + Send + Sync + 'static {
    type State: Default + Clone + Debug + Send + Sync;

    /// The SQL function's name, for error messages.
    fn function(&self) -> &str;

    /// Where the function's warnings go, and the expression they name.
    fn sink(&self) -> &WarningSink;
    fn expression(&self) -> &str;

    /// Reports `rows` skipped for NULL arguments (at evaluation, after every merge).
    fn report_skipped(&self, rows: u64) {
        self.sink().add_skipped(self.expression(), rows);
    }

    /// Adds input rows: row `i` goes to `states[groups[i]]`; `filter` is the FILTER clause.
    /// A row skipped for a NULL argument adds one to `skipped[groups[i]]` instead (see
    /// [`crate::input_columns::row_mask`]).
    fn update(
        &self,
        states: &mut [Self::State],
        skipped: &mut [u64],
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()>;

    /// Adds serialised states: row `i` of `values` goes to `states[groups[i]]`.
    fn merge(
        &self,
        states: &mut [Self::State],
        values: &[ArrayRef],
        groups: &[usize],
    ) -> Result<()>;

    /// Serialises states, one row each, as the function's state fields. The states are
    /// dropped afterwards (DataFusion's `state` consumes them), so a family may move their
    /// buffers into the arrays instead of copying them, leaving the states empty.
    fn emit(&self, states: &mut [Self::State]) -> Result<Vec<ArrayRef>>;

    /// The function's result, one row per state. A state may be left reordered (DataFusion
    /// allows it) but must hold the same rows: a window evaluates it again.
    fn evaluate(&self, states: &mut [Self::State]) -> Result<ArrayRef>;

    /// Memory a state holds, in bytes, plus what evaluating it will allocate on top (so that
    /// the memory pool refuses a query before its final step, not during it). Must be O(1):
    /// it is called for every touched group of every batch.
    fn size(state: &Self::State) -> usize;

    /// Each input row as its own serialised state (empty for skipped rows), for DataFusion's
    /// skipped partial aggregation, without the skipped-row field (the caller adds it from
    /// `skipped`, one entry per row). The default updates one state per row.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
        skipped: &mut [u64],
    ) -> Result<Vec<ArrayRef>> {
        let n = values.first().map_or(0, |v| v.len());
        let mut states = vec![Self::State::default(); n];
        let groups: Vec<usize> = (0..n).collect();
        self.update(&mut states, skipped, values, &groups, filter)?;
        self.emit(&mut states)
    }
}

/// Reports the skipped rows of the groups being evaluated.
fn report_skipped<O: StateOps>(ops: &O, skipped: &[u64]) {
    ops.report_skipped(skipped.iter().sum());
}

/// The family's serialised states followed by the skipped-row counts.
fn emit_with_skipped<O: StateOps>(
    ops: &O,
    states: &mut [O::State],
    skipped: Vec<u64>,
) -> Result<Vec<ArrayRef>> {
    let mut columns = ops.emit(states)?;
    columns.push(Arc::new(UInt64Array::from(skipped)));
    Ok(columns)
}

/// Runs `f`, turning a panic into an error that names the function and the step.
pub(crate) fn guarded<T>(function: &str, step: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        // Every error must name the function; those raised by shared helpers (Arrow's size
        // limits, say) do not know it.
        Ok(Err(e)) if !e.to_string().contains(function) => Err(e.context(function.to_owned())),
        Ok(r) => r,
        Err(payload) => exec_err!(
            "{function}: internal error in {step}: {} (please report this with the query)",
            panic_message(payload.as_ref())
        ),
    }
}

/// The text of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

/// Row accumulator: aggregates without GROUP BY.
#[derive(Debug)]
pub(crate) struct StateAccumulator<O: StateOps> {
    ops: O,
    state: [O::State; 1],
    skipped: [u64; 1],
}

impl<O: StateOps> StateAccumulator<O> {
    pub(crate) fn new(ops: O) -> Self {
        StateAccumulator {
            ops,
            state: [O::State::default()],
            skipped: [0],
        }
    }
}

impl<O: StateOps> Accumulator for StateAccumulator<O> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (ops, state, skipped) = (&self.ops, &mut self.state, &mut self.skipped);
        guarded(ops.function(), "update_batch", || {
            let zeros = vec![0usize; values.first().map_or(0, |v| v.len())];
            ops.update(state, skipped, values, &zeros, None)
        })
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (ops, state, skipped) = (&self.ops, &mut self.state, &mut self.skipped);
        guarded(ops.function(), "merge_batch", || {
            let zeros = vec![0usize; states.first().map_or(0, |v| v.len())];
            let (family, counts) = split_skipped(ops.function(), states)?;
            merge_skipped(skipped, counts, &zeros);
            ops.merge(state, family, &zeros)
        })
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        // DataFusion's `state` consumes the state (the accumulator is not used after it).
        let (ops, state, skipped) = (&self.ops, &mut self.state, self.skipped);
        guarded(ops.function(), "state", || {
            emit_with_skipped(ops, state, skipped.to_vec())?
                .iter()
                .map(|a| ScalarValue::try_from_array(a, 0))
                .collect()
        })
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        // A window evaluates the same accumulator again after more rows: `StateOps::evaluate`
        // may reorder a state but must leave it holding the same rows.
        let (ops, state) = (&self.ops, &mut self.state);
        // Reported at the first evaluation (an aggregate's only one; a window's later
        // evaluations report the rows skipped since).
        report_skipped(ops, &std::mem::take(&mut self.skipped));
        guarded(ops.function(), "evaluate", || {
            ScalarValue::try_from_array(&ops.evaluate(state)?, 0)
        })
    }

    fn size(&self) -> usize {
        size_of::<Self>() + O::size(&self.state[0])
    }
}

/// Groups accumulator: a `Vec` of states indexed by group, no per-row allocation.
#[derive(Debug)]
pub(crate) struct StateGroupsAccumulator<O: StateOps> {
    ops: O,
    states: Vec<O::State>,
    /// Rows skipped for a NULL argument, per group.
    skipped: Vec<u64>,
    /// Σ `O::size` over `states`, kept current so that `size()` is O(1).
    state_bytes: usize,
    /// Batch number in which each group was last seen, to size each touched group once.
    seen_in: Vec<u32>,
    batch: u32,
    /// Scratch list of the groups the current batch touches.
    touched: Vec<usize>,
}

impl<O: StateOps> StateGroupsAccumulator<O> {
    pub(crate) fn new(ops: O) -> Self {
        StateGroupsAccumulator {
            ops,
            states: Vec::new(),
            skipped: Vec::new(),
            state_bytes: 0,
            seen_in: Vec::new(),
            batch: 0,
            touched: Vec::new(),
        }
    }

    /// Grows to `total` groups (new groups start empty).
    fn grow(&mut self, total: usize) {
        if total > self.states.len() {
            let empty = O::size(&O::State::default());
            self.state_bytes += (total - self.states.len()) * empty;
            self.states.resize_with(total, Default::default);
            self.skipped.resize(total, 0);
            self.seen_in.resize(total, 0);
        }
    }

    /// Runs `step` on the states, keeping `state_bytes` current: the groups in `groups` are
    /// sized before and after (each once, however many rows it has in the batch).
    fn apply(
        &mut self,
        name: &str,
        groups: &[usize],
        step: impl FnOnce(&O, &mut [O::State], &mut [u64]) -> Result<()>,
    ) -> Result<()> {
        self.batch = self.batch.wrapping_add(1);
        if self.batch == 0 {
            // After 2^32 batches the stamps wrap: start again from a clean slate.
            self.seen_in.iter_mut().for_each(|s| *s = 0);
            self.batch = 1;
        }
        self.touched.clear();
        for &g in groups {
            if let Some(seen) = self.seen_in.get_mut(g) {
                if *seen != self.batch {
                    *seen = self.batch;
                    self.touched.push(g);
                }
            }
        }
        let before: usize = self.touched.iter().map(|&g| O::size(&self.states[g])).sum();
        let (ops, states, skipped) = (&self.ops, &mut self.states, &mut self.skipped);
        let result = guarded(ops.function(), name, || step(ops, states, skipped));
        let after: usize = self.touched.iter().map(|&g| O::size(&self.states[g])).sum();
        self.state_bytes = (self.state_bytes + after).saturating_sub(before);
        result
    }

    /// Takes the states `emit_to` asks for and their skipped-row counts, with their share of
    /// the running size.
    fn take(&mut self, emit_to: EmitTo) -> (Vec<O::State>, Vec<u64>) {
        let states = emit_to.take_needed(&mut self.states);
        let skipped = emit_to.take_needed(&mut self.skipped);
        let _ = emit_to.take_needed(&mut self.seen_in);
        let bytes: usize = states.iter().map(O::size).sum();
        self.state_bytes = self.state_bytes.saturating_sub(bytes);
        (states, skipped)
    }
}

impl<O: StateOps> GroupsAccumulator for StateGroupsAccumulator<O> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        self.apply("update_batch", group_indices, |ops, states, skipped| {
            ops.update(states, skipped, values, group_indices, opt_filter)
        })
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        self.apply("merge_batch", group_indices, |ops, states, skipped| {
            let (family, counts) = split_skipped(ops.function(), values)?;
            merge_skipped(skipped, counts, group_indices);
            ops.merge(states, family, group_indices)
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let (mut states, skipped) = self.take(emit_to);
        report_skipped(&self.ops, &skipped);
        guarded(self.ops.function(), "evaluate", || {
            self.ops.evaluate(&mut states)
        })
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (mut states, skipped) = self.take(emit_to);
        guarded(self.ops.function(), "state", || {
            emit_with_skipped(&self.ops, &mut states, skipped)
        })
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        guarded(self.ops.function(), "convert_to_state", || {
            let mut skipped = vec![0; values.first().map_or(0, |v| v.len())];
            let mut columns = self
                .ops
                .convert_to_state(values, opt_filter, &mut skipped)?;
            columns.push(Arc::new(UInt64Array::from(skipped)));
            Ok(columns)
        })
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self.state_bytes
            + self.states.capacity() * size_of::<O::State>()
            + self.skipped.capacity() * size_of::<u64>()
            + self.seen_in.capacity() * size_of::<u32>()
            + self.touched.capacity() * size_of::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, Int64Array};
    use std::sync::Arc;

    /// A state family that panics on a chosen value, to prove panics become errors.
    #[derive(Debug, Default)]
    struct Panicky(WarningSink);

    impl StateOps for Panicky {
        type State = Vec<i64>;
        fn function(&self) -> &str {
            "panicky"
        }
        fn sink(&self) -> &WarningSink {
            &self.0
        }
        fn expression(&self) -> &str {
            "panicky(x)"
        }
        fn update(
            &self,
            states: &mut [Vec<i64>],
            _skipped: &mut [u64],
            values: &[ArrayRef],
            groups: &[usize],
            _filter: Option<&BooleanArray>,
        ) -> Result<()> {
            let v = values[0].as_any().downcast_ref::<Int64Array>().unwrap();
            for (i, &g) in groups.iter().enumerate() {
                assert!(v.value(i) != 13, "unlucky value");
                states[g].push(v.value(i));
            }
            Ok(())
        }
        fn merge(&self, _: &mut [Vec<i64>], _: &[ArrayRef], _: &[usize]) -> Result<()> {
            Ok(())
        }
        fn emit(&self, states: &mut [Vec<i64>]) -> Result<Vec<ArrayRef>> {
            Ok(vec![Arc::new(Int64Array::from(
                states.iter().map(|s| s.len() as i64).collect::<Vec<_>>(),
            ))])
        }
        fn evaluate(&self, states: &mut [Vec<i64>]) -> Result<ArrayRef> {
            let _ = states[states.len()]; // index out of bounds
            unreachable!()
        }
        fn size(state: &Vec<i64>) -> usize {
            8 * state.capacity()
        }
    }

    #[test]
    fn panics_become_errors_naming_the_function() {
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let values: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![1, 13]))];
        let mut row = StateAccumulator::new(Panicky::default());
        let err = row.update_batch(&values).unwrap_err().to_string();
        let mut groups = StateGroupsAccumulator::new(Panicky::default());
        let err2 = groups
            .update_batch(&values, &[0, 1], None, 2)
            .unwrap_err()
            .to_string();
        let err3 = groups.evaluate(EmitTo::All).unwrap_err().to_string();
        std::panic::set_hook(quiet);
        assert!(
            err.contains("panicky: internal error in update_batch: unlucky value"),
            "{err}"
        );
        assert!(
            err2.contains("panicky: internal error in update_batch"),
            "{err2}"
        );
        assert!(
            err3.contains("panicky: internal error in evaluate: index out of bounds"),
            "{err3}"
        );
    }

    #[test]
    fn running_size_equals_the_sum_over_groups() {
        let mut acc = StateGroupsAccumulator::new(Panicky::default());
        for batch in 0..50i64 {
            let n = 100;
            let v: Vec<i64> = (0..n).map(|i| 100 + i * 7 + batch).collect();
            let g: Vec<usize> = (0..n).map(|i| ((i * i + batch) % 37) as usize).collect();
            let values: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(v))];
            acc.update_batch(&values, &g, None, 37 + batch as usize)
                .unwrap();
            let sum: usize = acc.states.iter().map(Panicky::size).sum();
            assert_eq!(acc.state_bytes, sum);
        }
        let first = acc.state(EmitTo::First(10)).unwrap();
        assert_eq!(first[0].len(), 10);
        let sum: usize = acc.states.iter().map(Panicky::size).sum();
        assert_eq!(acc.state_bytes, sum);
        assert!(acc.size() >= sum);
    }
}

//! The row `Accumulator` and the `GroupsAccumulator` every survival function uses, generic
//! over its state: each function family says how to update, merge, serialise and evaluate a
//! slice of per-group states ([`StateOps`]), and these two wrappers do the rest. Both use the
//! same state layout, so their partial states are interchangeable.

use std::fmt::Debug;
use std::mem::size_of;

use datafusion::arrow::array::{ArrayRef, BooleanArray};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};

/// How one family of survival functions handles its per-group states.
pub(crate) trait StateOps: Debug + Send + Sync + 'static {
    type State: Default + Clone + Debug + Send + Sync;

    /// Adds input rows: row `i` goes to `states[groups[i]]`; `filter` is the FILTER clause.
    fn update(
        &self,
        states: &mut [Self::State],
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

    /// Serialises states, one row each, as the function's state fields.
    fn emit(&self, states: &[Self::State]) -> Vec<ArrayRef>;

    /// The function's result, one row per state.
    fn evaluate(&self, states: &[Self::State]) -> Result<ArrayRef>;

    /// Memory held by a state, in bytes.
    fn size(state: &Self::State) -> usize;

    /// Each input row as its own serialised state (empty for skipped rows), for DataFusion's
    /// skipped partial aggregation. The default updates one state per row.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let n = values.first().map_or(0, |v| v.len());
        let mut states = vec![Self::State::default(); n];
        let groups: Vec<usize> = (0..n).collect();
        self.update(&mut states, values, &groups, filter)?;
        Ok(self.emit(&states))
    }
}

/// Row accumulator: aggregates without GROUP BY.
#[derive(Debug)]
pub(crate) struct StateAccumulator<O: StateOps> {
    ops: O,
    state: [O::State; 1],
}

impl<O: StateOps> StateAccumulator<O> {
    pub(crate) fn new(ops: O) -> Self {
        StateAccumulator {
            ops,
            state: [O::State::default()],
        }
    }
}

impl<O: StateOps> Accumulator for StateAccumulator<O> {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let zeros = vec![0usize; values.first().map_or(0, |v| v.len())];
        self.ops.update(&mut self.state, values, &zeros, None)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let zeros = vec![0usize; states.first().map_or(0, |v| v.len())];
        self.ops.merge(&mut self.state, states, &zeros)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.ops
            .emit(&self.state)
            .iter()
            .map(|a| ScalarValue::try_from_array(a, 0))
            .collect()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        ScalarValue::try_from_array(&self.ops.evaluate(&self.state)?, 0)
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
}

impl<O: StateOps> StateGroupsAccumulator<O> {
    pub(crate) fn new(ops: O) -> Self {
        StateGroupsAccumulator {
            ops,
            states: Vec::new(),
        }
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
        self.states.resize_with(total_num_groups, Default::default);
        self.ops
            .update(&mut self.states, values, group_indices, opt_filter)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.states.resize_with(total_num_groups, Default::default);
        self.ops.merge(&mut self.states, values, group_indices)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let states = emit_to.take_needed(&mut self.states);
        self.ops.evaluate(&states)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let states = emit_to.take_needed(&mut self.states);
        Ok(self.ops.emit(&states))
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        self.ops.convert_to_state(values, opt_filter)
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.states.iter().map(O::size).sum::<usize>()
    }
}

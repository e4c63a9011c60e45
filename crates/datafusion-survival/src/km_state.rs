//! The aggregate state shared by every Kaplan-Meier function: events and censorings per
//! distinct time, per group.
//!
//! Memory is O(distinct times) per group whatever the number of rows, and two states merge by
//! adding counts, so partial aggregates combine across partitions (and machines) exactly.
//! The state travels between partial and final aggregation as one compact binary value per
//! group, `<name>[time_counts]` (see [`TimeTable::encode_into`]: about 3 bytes a distinct
//! time where times lie on a grid, 10 otherwise), and with delayed entry three more fields.
//! With case weights
//! (`surv(entry, time, event, weight)`) it is instead one cell per distinct (entry, time,
//! event, weight): `<name>[entry]`, `[time]`, `[event]`, `[weight]`, `[count]`.

use std::collections::HashMap;
use std::fmt::Debug;
use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, LargeBinaryArray, UInt64Array,
};
use datafusion::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::compute::concat;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type, UInt64Type};
use datafusion::common::{internal_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use survql_stats::{KaplanMeier, TimeCounts, WeightedRecord};

use crate::accumulator::StateOps;
use crate::input_columns::{event_column, row_mask, time_column};
use crate::response::{call_shape, response_shape, split_values, weight_column, Takes};
use crate::result_arrays::{list_array, state_list_field};
use crate::time_table::{decode_times, encode_subject, TimeTable, ENCODED_SUBJECT_BYTES};
use crate::warnings::WarningSink;

/// What the Kaplan-Meier functions take in `surv(...)`: delayed entry and case weights.
pub(crate) const KM_TAKES: Takes = Takes {
    entry: true,
    weight: true,
};

/// What `km_followup` takes: delayed entry; no case weights (its reverse Kaplan-Meier
/// estimate of the follow-up has no weighted counterpart in R's survfit).
pub(crate) const KM_FOLLOWUP_TAKES: Takes = Takes {
    entry: true,
    weight: false,
};

/// Whether a call's argument types carry case weights (`surv(entry, time, event, weight)`):
/// then the counts in the result are sums of weights, DOUBLE instead of BIGINT.
pub(crate) fn weighted_types(arg_types: &[DataType]) -> bool {
    arg_types
        .first()
        .and_then(response_shape)
        .is_some_and(|shape| shape.weight)
}

/// The SQL type of a count column: BIGINT, or DOUBLE with case weights.
pub(crate) fn count_type(weighted: bool) -> DataType {
    if weighted {
        DataType::Float64
    } else {
        DataType::Int64
    }
}

/// A count column (`values` are whole numbers unless weighted) of [`count_type`].
pub(crate) fn count_array(values: Vec<f64>, weighted: bool) -> ArrayRef {
    if weighted {
        Arc::new(Float64Array::from(values))
    } else {
        Arc::new(Int64Array::from_iter_values(
            values.into_iter().map(|v| v as i64),
        ))
    }
}

/// (entry bits, time bits, weight bits, event) of a weighted cell; the entry is -inf without
/// delayed entry.
type WeightedCell = (u64, u64, u64, bool);

/// Groups evaluated together (see `KmOps::evaluate`).
const EVALUATE_GROUPS: usize = 4096;

/// A fast, deterministic hasher for the bit patterns of f64 times.
type TimeHasher = crate::input_columns::StateHasher;

/// Event and censoring counts at each distinct time of one group.
#[derive(Debug, Clone, Default)]
pub struct KmState {
    counts: TimeTable,
    /// Delayed entry and case weights, which most calls do not use: kept out of line so a
    /// group of a plain call stays small.
    extra: Option<Box<KmExtra>>,
}

/// The parts of a group's state only `surv(entry, time, event [, weight])` calls fill.
#[derive(Debug, Clone, Default)]
struct KmExtra {
    /// Delayed entry (`surv(entry, time, event)`): entry time bits -> subjects entering then.
    entries: HashMap<u64, u64, TimeHasher>,
    /// With delayed entry, the shortest time − entry of any subject: R refuses intervals
    /// within its tie tolerance, which the per-time counts cannot show.
    shortest: Option<f64>,
    /// With case weights, every subject is here instead: subjects per distinct (entry,
    /// time, weight, event). Cells keep each weight apart so that sums are formed in one
    /// fixed order when evaluated, whatever the partitioning.
    weighted: HashMap<WeightedCell, u64, TimeHasher>,
}

impl KmState {
    /// Adds one subject.
    #[inline]
    pub(crate) fn add(&mut self, time: f64, event: bool) {
        // `+ 0.0` turns -0.0 into 0.0 so both land in one slot.
        self.counts.add(
            (time + 0.0).to_bits(),
            [u64::from(event), u64::from(!event)],
        );
    }

    /// Adds subjects (time, event), in order.
    #[inline]
    pub(crate) fn add_all(&mut self, subjects: impl Iterator<Item = (f64, bool)>) {
        self.counts.add_all(subjects.map(|(time, event)| {
            (
                (time + 0.0).to_bits(),
                [u64::from(event), u64::from(!event)],
            )
        }));
    }

    /// Adds counts at one time.
    #[inline]
    pub(crate) fn add_counts(&mut self, time: f64, events: u64, censored: u64) {
        // A time nobody is at is not a time of the data (and a table keeps only times with
        // someone at them).
        if events | censored != 0 {
            self.counts.add((time + 0.0).to_bits(), [events, censored]);
        }
    }

    fn extra(&mut self) -> &mut KmExtra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Adds `n` subjects entering at `time`.
    #[inline]
    pub(crate) fn add_entry(&mut self, time: f64, n: u64) {
        *self
            .extra()
            .entries
            .entry((time + 0.0).to_bits())
            .or_insert(0) += n;
    }

    /// Notes an interval (time − entry) of `length`.
    #[inline]
    fn note_interval(&mut self, length: f64) {
        let extra = self.extra();
        extra.shortest = Some(extra.shortest.map_or(length, |s| s.min(length)));
    }

    /// Adds `count` weighted subjects.
    #[inline]
    fn add_weighted(&mut self, entry: f64, time: f64, event: bool, weight: f64, count: u64) {
        let key = (
            (entry + 0.0).to_bits(),
            (time + 0.0).to_bits(),
            (weight + 0.0).to_bits(),
            event,
        );
        *self.extra().weighted.entry(key).or_insert(0) += count;
    }

    pub(crate) fn len(&self) -> usize {
        self.counts.len()
    }

    /// (time, events, censorings) of every distinct time, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (f64, u64, u64)> + '_ {
        self.counts
            .iter()
            .map(|(bits, [e, c])| (f64::from_bits(bits), e, c))
    }

    /// Entry time bits -> subjects entering then (delayed entry).
    fn entries(&self) -> impl Iterator<Item = (&u64, &u64)> + '_ {
        self.extra.iter().flat_map(|x| x.entries.iter())
    }

    fn entries_len(&self) -> usize {
        self.extra.as_ref().map_or(0, |x| x.entries.len())
    }

    fn shortest(&self) -> Option<f64> {
        self.extra.as_ref().and_then(|x| x.shortest)
    }

    /// The weighted cells (case weights).
    fn weighted(&self) -> impl Iterator<Item = (&WeightedCell, &u64)> + '_ {
        self.extra.iter().flat_map(|x| x.weighted.iter())
    }

    fn weighted_len(&self) -> usize {
        self.extra.as_ref().map_or(0, |x| x.weighted.len())
    }

    /// What the evaluators see: the counts, or the weighted cells.
    fn to_sample(&self, function: &str, weighted: bool) -> Result<KmSample> {
        if !weighted {
            return Ok(KmSample::Counts(self.to_counts(function)?));
        }
        let records = self
            .weighted()
            .map(|(&(entry, time, weight, event), &count)| WeightedRecord {
                entry: f64::from_bits(entry),
                time: f64::from_bits(time),
                event,
                weight: f64::from_bits(weight),
                count,
            })
            .collect();
        Ok(KmSample::Weighted(records))
    }

    /// The sorted counts, near-ties merged as R's `aeqSurv`.
    pub(crate) fn to_counts(&self, function: &str) -> Result<TimeCounts> {
        let mut rows = Vec::with_capacity(self.len());
        rows.extend(self.iter());
        if self.entries_len() == 0 {
            return Ok(TimeCounts::from_unsorted(rows));
        }
        let entries = self
            .entries()
            .map(|(&bits, &n)| (f64::from_bits(bits), n))
            .collect();
        let shortest = self.shortest().unwrap_or(f64::INFINITY);
        TimeCounts::from_unsorted_with_entries(rows, entries, shortest)
            .map_err(|e| datafusion::common::exec_datafusion_err!("{function}: {e}"))
    }

    /// The state's memory plus what evaluating it allocates: the sorted counts and the
    /// estimator's columns, about 15 numbers per distinct time (see `StateOps::size`).
    pub(crate) fn size(&self) -> usize {
        let extra = self.extra.as_ref().map_or(0, |x| {
            size_of::<KmExtra>()
                + x.entries.capacity() * (size_of::<(u64, u64)>() + 1)
                + x.weighted.capacity() * (size_of::<(WeightedCell, u64)>() + 1)
                + x.weighted.len() * 20 * 8
        });
        size_of::<Self>() + self.counts.heap_bytes() + self.counts.len() * 15 * 8 + extra
    }
}

/// One group's data as the evaluators get it.
#[derive(Debug, Clone)]
pub(crate) enum KmSample {
    /// Events and censorings per distinct time (and entries with delayed entry).
    Counts(TimeCounts),
    /// With case weights: one record per distinct (entry, time, event, weight).
    Weighted(Vec<WeightedRecord>),
}

impl KmSample {
    /// The Kaplan-Meier curve (`function` names errors), computed into `scratch`: one
    /// curve's columns serve every group of an evaluation in turn.
    pub(crate) fn curve<'a>(
        &self,
        function: &str,
        scratch: &'a mut KaplanMeier,
    ) -> Result<&'a KaplanMeier> {
        match self {
            KmSample::Counts(c) => scratch.refill_from_counts(c),
            KmSample::Weighted(records) => {
                *scratch = KaplanMeier::from_weighted(records)
                    .map_err(|e| datafusion::common::exec_datafusion_err!("{function}: {e}"))?
            }
        }
        Ok(scratch)
    }

    /// True when the group has no subjects.
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            KmSample::Counts(c) => c.is_empty(),
            KmSample::Weighted(records) => records.is_empty(),
        }
    }

    /// The counts of an unweighted sample (`km_followup` refuses weights when planned).
    pub(crate) fn counts(&self, function: &str) -> Result<&TimeCounts> {
        match self {
            KmSample::Counts(c) => Ok(c),
            KmSample::Weighted(_) => internal_err!("{function} got case weights"),
        }
    }
}

/// Turns the final per-group counts into the function's result.
pub(crate) trait KmEvaluator: Debug + Send + Sync {
    /// One result per group, as an array of the function's return type.
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef>;
}

/// The state fields, named after the function: the encoded time counts; with delayed entry
/// three more: the entry times, the subjects entering at each, and the shortest interval (one
/// number per group).
pub(crate) fn state_fields(args: &StateFieldsArgs) -> Vec<FieldRef> {
    let list = |name: &str, item: DataType| state_list_field(args.name, name, item);
    let weighted = args
        .input_fields
        .first()
        .and_then(|f| response_shape(f.data_type()))
        .is_some_and(|shape| shape.weight);
    if weighted {
        return vec![
            list("entry", DataType::Float64),
            list("time", DataType::Float64),
            list("event", DataType::Boolean),
            list("weight", DataType::Float64),
            list("count", DataType::UInt64),
        ];
    }
    let mut fields = vec![Arc::new(Field::new(
        format_state_name(args.name, "time_counts"),
        DataType::LargeBinary,
        true,
    )) as FieldRef];
    let delayed = args
        .input_fields
        .first()
        .and_then(|f| response_shape(f.data_type()))
        .is_some_and(|shape| shape.entry);
    if delayed {
        fields.push(list("entry_time", DataType::Float64));
        fields.push(list("entered", DataType::UInt64));
        fields.push(Arc::new(Field::new(
            format_state_name(args.name, "shortest_interval"),
            DataType::Float64,
            true,
        )));
    }
    fields
}

/// Adds the rows of a batch (`values[0]` time, `values[1]` event) to `groups`.
fn update_groups(
    function: &str,
    groups: &mut [KmState],
    skipped: &mut [u64],
    values: &[ArrayRef],
    group_indices: &[usize],
    opt_filter: Option<&BooleanArray>,
) -> Result<()> {
    let time = time_column(function, "time", &values[0])?;
    let event = event_column(function, &values[1])?;
    let mask = row_mask(&[time, &event], opt_filter, group_indices, skipped);
    let times = time.values();
    let events = event.values();
    if groups.len() <= CELL_BY_CELL {
        // Few groups (by arm, grade, region): each group's rows in one loop.
        let cells = groups.len();
        let add = |g: usize, own: &[u32]| {
            groups[g].add_all(
                own.iter()
                    .map(|&i| (times[i as usize], events.value(i as usize))),
            )
        };
        let row_group = |i: usize| (i as u32, group_indices[i] as u32);
        match mask {
            None => add_cell_by_cell(|| (0..group_indices.len()).map(row_group), cells, add),
            Some(mask) => add_cell_by_cell(|| mask.valid_indices().map(row_group), cells, add),
        }
        return Ok(());
    }
    match mask {
        None => {
            for (i, &g) in group_indices.iter().enumerate() {
                groups[g].add(times[i], events.value(i));
            }
        }
        Some(mask) => {
            for i in mask.valid_indices() {
                groups[group_indices[i]].add(times[i], events.value(i));
            }
        }
    }
    Ok(())
}

/// Time tables (SQL groups, or log-rank cells) up to which a batch's rows are added table by
/// table ([`add_cell_by_cell`]).
pub(crate) const CELL_BY_CELL: usize = 64;

/// Calls `add(cell, rows)` for each of `cells` (≤ [`CELL_BY_CELL`]) with the rows of
/// `rows()` (row, cell; read twice) that go to it, in their order: the rows are put in cell
/// order by a counting sort, so that each cell's rows are added in one loop that finds its
/// time table and the table's layout once ([`KmState::add_all`]), instead of once per row.
/// (Counting a row on a grid is a few instructions; finding its table was as many again.)
pub(crate) fn add_cell_by_cell<I: Iterator<Item = (u32, u32)>>(
    rows: impl Fn() -> I,
    cells: usize,
    mut add: impl FnMut(usize, &[u32]),
) {
    debug_assert!(cells <= CELL_BY_CELL);
    let mut starts = [0usize; CELL_BY_CELL + 1];
    let mut n = 0;
    for (_, c) in rows() {
        starts[c as usize + 1] += 1;
        n += 1;
    }
    for c in 0..cells {
        starts[c + 1] += starts[c];
    }
    let mut sorted = vec![0u32; n];
    let mut next = starts;
    for (i, c) in rows() {
        sorted[next[c as usize]] = i;
        next[c as usize] += 1;
    }
    for c in 0..cells {
        if starts[c] < starts[c + 1] {
            add(c, &sorted[starts[c]..starts[c + 1]]);
        }
    }
}

/// [`update_groups`] for `surv(entry, time, event)`: each row also enters at its entry time,
/// which must be before its time.
fn update_groups_with_entry(
    function: &str,
    groups: &mut [KmState],
    skipped: &mut [u64],
    values: &[ArrayRef],
    group_indices: &[usize],
    opt_filter: Option<&BooleanArray>,
) -> Result<()> {
    let split = split_values(function, values)?;
    let Some(entry) = &split.entry else {
        return update_groups(
            function,
            groups,
            skipped,
            &split.values,
            group_indices,
            opt_filter,
        );
    };
    let time = time_column(function, "time", &split.values[0])?;
    let event = event_column(function, &split.values[1])?;
    let entry = time_column(function, "entry", entry)?;
    let mask = row_mask(&[time, &event, entry], opt_filter, group_indices, skipped);
    let valid = |i: usize| mask.as_ref().is_none_or(|m| m.is_valid(i));
    for i in (0..time.len()).filter(|&i| valid(i)) {
        check_entry(function, entry.value(i), time.value(i))?;
        let state = &mut groups[group_indices[i]];
        state.add(time.value(i), event.value(i));
        state.add_entry(entry.value(i), 1);
        state.note_interval(time.value(i) - entry.value(i));
    }
    Ok(())
}

/// [`update_groups`] for `surv([entry,] time, event, weight)`: each row becomes a weighted
/// cell (a NULL weight skips the row, like any NULL argument).
fn update_groups_weighted(
    function: &str,
    groups: &mut [KmState],
    skipped: &mut [u64],
    values: &[ArrayRef],
    group_indices: &[usize],
    opt_filter: Option<&BooleanArray>,
) -> Result<()> {
    let split = split_values(function, values)?;
    let time = time_column(function, "time", &split.values[0])?;
    let event = event_column(function, &split.values[1])?;
    let Some(weight) = &split.weight else {
        return internal_err!("{function}: expected a weight in surv(...)");
    };
    let weight = weight_column(function, weight)?;
    let entry = match &split.entry {
        Some(e) => Some(time_column(function, "entry", e)?),
        None => None,
    };
    let mut columns: Vec<&dyn Array> = vec![time, &event, weight];
    if let Some(e) = entry {
        columns.push(e);
    }
    let mask = row_mask(&columns, opt_filter, group_indices, skipped);
    let valid = |i: usize| mask.as_ref().is_none_or(|m| m.is_valid(i));
    for i in (0..time.len()).filter(|&i| valid(i)) {
        let start = match entry {
            Some(e) => {
                check_entry(function, e.value(i), time.value(i))?;
                e.value(i)
            }
            None => f64::NEG_INFINITY,
        };
        groups[group_indices[i]].add_weighted(
            start,
            time.value(i),
            event.value(i),
            weight.value(i),
            1,
        );
    }
    Ok(())
}

/// Adds serialized weighted states (entry, time, event, weight, count lists) to `groups`.
fn merge_weighted(
    groups: &mut [KmState],
    states: &[ArrayRef],
    group_indices: &[usize],
) -> Result<()> {
    if states.len() != 5 {
        return internal_err!(
            "weighted time counts state has 5 fields, got {}",
            states.len()
        );
    }
    let lists: Vec<_> = states.iter().map(|s| s.as_list::<i32>()).collect();
    let entry = lists[0].values().as_primitive::<Float64Type>().values();
    let time = lists[1].values().as_primitive::<Float64Type>().values();
    let event = lists[2].values().as_boolean();
    let weight = lists[3].values().as_primitive::<Float64Type>().values();
    let count = lists[4].values().as_primitive::<UInt64Type>().values();
    let offsets = lists[0].offsets();
    for (row, &g) in group_indices.iter().enumerate() {
        if lists[0].is_null(row) {
            continue;
        }
        for k in offsets[row] as usize..offsets[row + 1] as usize {
            groups[g].add_weighted(entry[k], time[k], event.value(k), weight[k], count[k]);
        }
    }
    Ok(())
}

/// Serializes weighted `groups` as the five state lists.
fn emit_weighted(groups: &[KmState]) -> Result<Vec<ArrayRef>> {
    let lengths: Vec<usize> = groups.iter().map(KmState::weighted_len).collect();
    let (mut entry, mut time, mut event, mut weight, mut count) =
        (vec![], vec![], vec![], vec![], vec![]);
    for g in groups {
        for (&(e, t, w, ev), &c) in g.weighted() {
            entry.push(f64::from_bits(e));
            time.push(f64::from_bits(t));
            event.push(ev);
            weight.push(f64::from_bits(w));
            count.push(c);
        }
    }
    Ok(vec![
        list_array(&lengths, Arc::new(Float64Array::from(entry)))?,
        list_array(&lengths, Arc::new(Float64Array::from(time)))?,
        list_array(&lengths, Arc::new(BooleanArray::from(event)))?,
        list_array(&lengths, Arc::new(Float64Array::from(weight)))?,
        list_array(&lengths, Arc::new(UInt64Array::from(count)))?,
    ])
}

/// A subject's entry must come before its exit (R: "Stop time must be > start time").
pub(crate) fn check_entry(function: &str, entry: f64, time: f64) -> Result<()> {
    if entry < time {
        Ok(())
    } else {
        datafusion::common::exec_err!(
            "{function}: argument 'entry' must be before 'time' (observation starts before it \
             ends), found entry {entry} and time {time}"
        )
    }
}

/// Adds serialized states (`states[0]`; with delayed entry the entries in `states[1..3]` and
/// the shortest interval in `states[3]`) to `groups`.
fn merge_groups(
    groups: &mut [KmState],
    states: &[ArrayRef],
    group_indices: &[usize],
) -> Result<()> {
    if states.len() != 1 && states.len() != 4 {
        return internal_err!("time counts state has 1 or 4 fields, got {}", states.len());
    }
    let encoded = states[0].as_binary::<i64>();
    for (row, &g) in group_indices.iter().enumerate() {
        if encoded.is_null(row) {
            continue;
        }
        let state = &mut groups[g];
        let decoded = decode_times(encoded.value(row), |bits, [events, censored]| {
            state.add_counts(f64::from_bits(bits), events, censored)
        });
        if decoded.is_none() {
            return internal_err!("malformed Kaplan-Meier state in row {row}");
        }
    }
    if states.len() == 4 {
        let shortest = states[3].as_primitive::<Float64Type>();
        for (row, &g) in group_indices.iter().enumerate() {
            if shortest.is_valid(row) {
                groups[g].note_interval(shortest.value(row));
            }
        }
        let (entry, entered) = (states[1].as_list::<i32>(), states[2].as_list::<i32>());
        let xv = entry.values().as_primitive::<Float64Type>().values();
        let nv = entered.values().as_primitive::<UInt64Type>().values();
        let (xo, no) = (entry.offsets(), entered.offsets());
        for (row, &g) in group_indices.iter().enumerate() {
            if entry.is_null(row) {
                continue;
            }
            let (x0, x1, n0) = (xo[row] as usize, xo[row + 1] as usize, no[row] as usize);
            for k in 0..(x1 - x0) {
                groups[g].add_entry(xv[x0 + k], nv[n0 + k]);
            }
        }
    }
    Ok(())
}

/// Serializes `groups`: the encoded time counts, and with `delayed` the two entry lists and
/// the shortest interval.
fn emit_state(groups: &[KmState], delayed: bool) -> Result<Vec<ArrayRef>> {
    let encoded = encoded_values(groups.len(), 0, |i, out| groups[i].counts.encode_into(out));
    let mut lists: Vec<ArrayRef> = vec![Arc::new(encoded)];
    if delayed {
        let lengths: Vec<usize> = groups.iter().map(KmState::entries_len).collect();
        let (mut x, mut n) = (vec![], vec![]);
        for g in groups {
            for (&bits, &count) in g.entries() {
                x.push(f64::from_bits(bits));
                n.push(count);
            }
        }
        lists.push(list_array(&lengths, Arc::new(Float64Array::from(x)))?);
        lists.push(list_array(&lengths, Arc::new(UInt64Array::from(n)))?);
        let shortest: Float64Array = groups.iter().map(KmState::shortest).collect();
        lists.push(Arc::new(shortest));
    }
    Ok(lists)
}

/// `n` binary values, value i being what `write(i, out)` appends to `out`: written straight
/// into the array's one buffer (`capacity` bytes to start), with no per-value scratch copy.
fn encoded_values(
    n: usize,
    capacity: usize,
    mut write: impl FnMut(usize, &mut Vec<u8>),
) -> LargeBinaryArray {
    let mut values = Vec::with_capacity(capacity);
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0i64);
    for i in 0..n {
        write(i, &mut values);
        offsets.push(values.len() as i64);
    }
    LargeBinaryArray::new(
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Buffer::from_vec(values),
        None,
    )
}

/// What every Kaplan-Meier accumulator needs to know about its call.
#[derive(Debug, Clone)]
pub struct KmOps {
    /// The SQL function name, for error messages.
    pub function: &'static str,
    /// The aggregate expression's display name, for warnings.
    pub expression: String,
    pub sink: WarningSink,
    pub(crate) evaluator: Arc<dyn KmEvaluator>,
    /// For a state shared by several functions (`km_shared`): their display names, so each
    /// reports its skipped rows as it would alone (and as on a cluster, where nothing is
    /// shared).
    pub members: Vec<String>,
    /// The call's first argument is `surv(...)` (see [`crate::response`]); `delayed`: with
    /// an entry; `weighted`: with case weights.
    pub response: bool,
    pub delayed: bool,
    pub weighted: bool,
}

impl KmOps {
    pub(crate) fn new(
        function: &'static str,
        args: &AccumulatorArgs,
        sink: &WarningSink,
        evaluator: Arc<dyn KmEvaluator>,
    ) -> Self {
        let shape = call_shape(args);
        KmOps {
            function,
            expression: args.name.to_owned(),
            sink: sink.clone(),
            evaluator,
            members: vec![],
            response: shape.is_some(),
            delayed: shape.is_some_and(|s| s.entry),
            weighted: shape.is_some_and(|s| s.weight),
        }
    }
}

impl StateOps for KmOps {
    type State = KmState;

    fn update(
        &self,
        states: &mut [KmState],
        skipped: &mut [u64],
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        if self.weighted {
            return update_groups_weighted(self.function, states, skipped, values, groups, filter);
        }
        if self.response {
            return update_groups_with_entry(
                self.function,
                states,
                skipped,
                values,
                groups,
                filter,
            );
        }
        update_groups(self.function, states, skipped, values, groups, filter)
    }

    fn merge(&self, states: &mut [KmState], values: &[ArrayRef], groups: &[usize]) -> Result<()> {
        if self.weighted {
            return merge_weighted(states, values, groups);
        }
        merge_groups(states, values, groups)
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

    fn report_skipped(&self, rows: u64) {
        if self.members.is_empty() {
            self.sink.add_skipped(&self.expression, rows);
        }
        for member in &self.members {
            self.sink.add_skipped(member, rows);
        }
    }

    fn emit(&self, states: &mut [KmState]) -> Result<Vec<ArrayRef>> {
        if self.weighted {
            return emit_weighted(states);
        }
        emit_state(states, self.delayed)
    }

    /// Groups are evaluated [`EVALUATE_GROUPS`] at a time, their results joined at the end:
    /// a million groups' sorted counts and curves would otherwise all be alive at once
    /// (hundreds of megabytes, every page of them fresh memory the kernel must clear),
    /// where a chunk's reuse the same memory.
    fn evaluate(&self, states: &mut [KmState]) -> Result<ArrayRef> {
        let evaluate_chunk = |chunk: &[KmState]| {
            let mut samples = Vec::with_capacity(chunk.len());
            for s in chunk {
                samples.push(s.to_sample(self.function, self.weighted)?);
            }
            self.evaluator.evaluate(&samples)
        };
        if states.len() <= EVALUATE_GROUPS {
            return evaluate_chunk(states);
        }
        let parts = states
            .chunks(EVALUATE_GROUPS)
            .map(evaluate_chunk)
            .collect::<Result<Vec<ArrayRef>>>()?;
        let parts: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
        Ok(concat(&parts)?)
    }

    fn size(state: &KmState) -> usize {
        state.size()
    }

    /// Each input row becomes its own one-element state (empty for skipped rows), built
    /// directly as lists rather than through per-row hash tables.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
        skipped: &mut [u64],
    ) -> Result<Vec<ArrayRef>> {
        if self.response {
            // Through the hash tables (one per row): surv(...) calls are not the hot path.
            let n = values.first().map_or(0, |v| v.len());
            let mut states = vec![KmState::default(); n];
            let rows: Vec<usize> = (0..n).collect();
            self.update(&mut states, skipped, values, &rows, filter)?;
            return self.emit(&mut states);
        }
        let time = time_column(self.function, "time", &values[0])?;
        let event = event_column(self.function, &values[1])?;
        let n = time.len();
        let rows: Vec<usize> = (0..n).collect();
        let mask = row_mask(&[time, &event], filter, &rows, skipped);
        let encoded = encoded_values(n, n * ENCODED_SUBJECT_BYTES, |i, out| {
            if mask.as_ref().is_none_or(|m| m.is_valid(i)) {
                let ev = event.value(i);
                let bits = (time.value(i) + 0.0).to_bits();
                encode_subject(out, bits, [u64::from(ev), u64::from(!ev)]);
            }
        });
        Ok(vec![Arc::new(encoded)])
    }
}

//! The state shared by `cif_curve`, `cif_at` and `gray_test`: counts per (group, time,
//! status) cell, per SQL group, status 0 = censored and k > 0 = an event of cause k.
//!
//! Memory is O(distinct (group, time, status) cells); states merge by adding counts. The
//! state travels as lists of equal length: `<name>[grp]` (`gray_test` only), `<name>[time]`,
//! `<name>[status]`, `<name>[count]`.

use std::collections::HashMap;
use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StructArray, UInt32Array,
    UInt64Array,
};
use datafusion::arrow::datatypes::{
    DataType, FieldRef, Fields, Float64Type, Int64Type, UInt32Type, UInt64Type,
};
use datafusion::common::{exec_datafusion_err, exec_err, internal_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use survql_stats::{
    aalen_johansen, gray_test, CifCurve, CompetingCount, ConfType, GroupCauseCount,
};

use crate::accumulator::StateOps;
use crate::input_columns::{row_mask, time_column, StateHasher};
use crate::labels::{label_column, sorted_label_order, Labels};
use crate::limits::{check, limits};
use crate::options::f64_option;
use crate::response::{
    call_shape, coerce_with_response, response_shape, split_values, weight_column, Takes,
};
use crate::result_arrays::{
    f64_field, finite_or_null, i64_field, list_array, list_of, state_list_field, string_array,
    struct_array,
};
use crate::warnings::WarningSink;

/// Counts of one SQL group: (entry bits, time bits, group id, status, weight bits) -> subjects.
/// The entry is -inf without delayed entry, the weight 1 without weights. Cells keep each
/// distinct weight apart so that sums are formed in one fixed order at evaluation: results do
/// not depend on how rows were partitioned (memory grows with the distinct weights).
#[derive(Debug, Clone, Default)]
pub struct CompetingState {
    groups: Labels,
    /// The cells without delayed entry and with weight 1 (every cell of a plain call), keyed
    /// by (time bits, group id, status) alone: the hot path.
    plain: HashMap<(u64, u32, u32), u64, StateHasher>,
    /// The other cells.
    extended: HashMap<Cell, u64, StateHasher>,
}

/// (entry bits, time bits, group id, status, weight bits).
type Cell = (u64, u64, u32, u32, u64);

/// One subject's entry, time, group, status and weight.
struct Row {
    entry: f64,
    time: f64,
    group: u32,
    status: u32,
    weight: f64,
}

impl Row {
    /// The key of its cell: `+ 0.0` turns -0.0 into 0.0 so both land in one cell.
    #[inline]
    fn cell(&self) -> Cell {
        (
            (self.entry + 0.0).to_bits(),
            (self.time + 0.0).to_bits(),
            self.group,
            self.status,
            (self.weight + 0.0).to_bits(),
        )
    }
}

impl CompetingState {
    #[inline]
    fn add(&mut self, row: Row, count: u64) {
        if row.entry == f64::NEG_INFINITY && row.weight == 1.0 {
            let key = ((row.time + 0.0).to_bits(), row.group, row.status);
            *self.plain.entry(key).or_insert(0) += count;
        } else {
            *self.extended.entry(row.cell()).or_insert(0) += count;
        }
    }

    /// Every cell with its count (plain cells with entry -inf and weight 1).
    fn cells(&self) -> impl Iterator<Item = (Cell, u64)> + '_ {
        let (no_entry, one) = (f64::NEG_INFINITY.to_bits(), 1.0_f64.to_bits());
        self.plain
            .iter()
            .map(move |(&(t, g, st), &c)| ((no_entry, t, g, st, one), c))
            .chain(self.extended.iter().map(|(&k, &c)| (k, c)))
    }

    fn len(&self) -> usize {
        self.plain.len() + self.extended.len()
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self.groups.size()
            + self.plain.capacity() * (size_of::<((u64, u32, u32), u64)>() + 1)
            + self.extended.capacity() * (size_of::<(Cell, u64)>() + 1)
            // What evaluating allocates: the sorted counts and the curve, ~10 numbers a cell.
            + self.len() * 10 * 8
    }

    /// The counts for the Aalen-Johansen estimate (groups pooled).
    fn competing_counts(&self) -> Vec<CompetingCount> {
        let mut out: Vec<CompetingCount> = self
            .cells()
            .map(|((entry, time, _, status, weight), count)| CompetingCount {
                entry: f64::from_bits(entry),
                time: f64::from_bits(time),
                status,
                weight: f64::from_bits(weight),
                count,
            })
            .collect();
        // A total order: floating-point sums must not depend on the order cells arrived in.
        out.sort_unstable_by(|a, b| {
            a.time
                .total_cmp(&b.time)
                .then(a.entry.total_cmp(&b.entry))
                .then(a.status.cmp(&b.status))
                .then(a.weight.total_cmp(&b.weight))
        });
        out
    }

    /// The counts per group, groups in R's factor order; and the number of groups.
    fn group_counts(&self) -> (Vec<GroupCauseCount>, usize) {
        let order = sorted_label_order(&self.groups.names);
        let mut rank = vec![0usize; order.len()];
        for (pos, &id) in order.iter().enumerate() {
            rank[id] = pos;
        }
        let mut out: Vec<GroupCauseCount> = self
            .cells()
            .map(|((_, time, g, status, _), count)| GroupCauseCount {
                time: f64::from_bits(time),
                group: rank[g as usize],
                status,
                count,
            })
            .collect();
        out.sort_unstable_by(|a, b| {
            a.time
                .total_cmp(&b.time)
                .then(a.group.cmp(&b.group))
                .then(a.status.cmp(&b.status))
        });
        (out, order.len())
    }
}

/// What the function returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CompetingOutput {
    /// LIST<STRUCT<time, n_risk, n_event, cif, std_err, lower, upper>>.
    Curve,
    /// STRUCT<time, cif, std_err, lower, upper> at this time.
    At(f64),
    /// STRUCT<statistic, df, p_value>.
    Gray,
}

/// The per-call configuration of a competing-risks accumulator.
#[derive(Debug, Clone)]
pub struct CompetingOps {
    pub function: &'static str,
    pub expression: String,
    pub sink: WarningSink,
    pub cause: u32,
    pub conf_type: ConfType,
    pub conf_level: f64,
    pub(crate) output: CompetingOutput,
    /// The first argument is `surv(...)` (see [`crate::response`]); `delayed`: with an entry.
    pub response: bool,
    pub delayed: bool,
    /// With case weights (`surv(entry, time, status, weight)`).
    pub weighted: bool,
}

impl CompetingOps {
    pub(crate) fn new(
        function: &'static str,
        args: &AccumulatorArgs,
        sink: &WarningSink,
        output: CompetingOutput,
        conf: (ConfType, f64),
    ) -> Result<Self> {
        Ok(CompetingOps {
            function,
            expression: args.name.to_owned(),
            sink: sink.clone(),
            cause: cause_option(function, args)?,
            conf_type: conf.0,
            conf_level: conf.1,
            output,
            response: call_shape(args).is_some(),
            delayed: call_shape(args).is_some_and(|s| s.entry),
            weighted: call_shape(args).is_some_and(|s| s.weight),
        })
    }

    fn grouped(&self) -> bool {
        self.output == CompetingOutput::Gray
    }
}

/// The `cause` argument (position 2): a constant integer ≥ 1.
pub(crate) fn cause_option(function: &str, args: &AccumulatorArgs) -> Result<u32> {
    let Some(cause) = f64_option(function, "cause", args, 2)? else {
        return exec_err!("{function}: argument 'cause' is required");
    };
    if cause < 1.0 || cause.fract() != 0.0 || cause > u32::MAX as f64 {
        return exec_err!(
            "{function}: argument 'cause' must be a whole number >= 1 (the status code of the \
             event of interest), found {cause}"
        );
    }
    Ok(cause as u32)
}

/// `STRUCT<time, n_risk, n_event, cif, std_err, lower, upper>`.
pub(crate) fn curve_item_fields() -> Fields {
    Fields::from(vec![
        f64_field("time"),
        i64_field("n_risk"),
        i64_field("n_event"),
        f64_field("cif"),
        f64_field("std_err"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

/// `STRUCT<time, cif, std_err, lower, upper>`.
fn at_fields() -> Fields {
    Fields::from(vec![
        f64_field("time"),
        f64_field("cif"),
        f64_field("std_err"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

/// `STRUCT<statistic, df, p_value>`.
fn gray_fields() -> Fields {
    Fields::from(vec![
        f64_field("statistic"),
        i64_field("df"),
        f64_field("p_value"),
    ])
}

pub(crate) fn return_type(output: CompetingOutput) -> DataType {
    match output {
        CompetingOutput::Curve => list_of(DataType::Struct(curve_item_fields())),
        CompetingOutput::At(_) => DataType::Struct(at_fields()),
        CompetingOutput::Gray => DataType::Struct(gray_fields()),
    }
}

fn evaluate(call: &CompetingOps, states: &[CompetingState]) -> Result<ArrayRef> {
    match call.output {
        CompetingOutput::Curve => {
            let mut lengths = Vec::with_capacity(states.len());
            let mut cols: [Vec<Option<f64>>; 5] = Default::default();
            let (mut n_risk, mut n_event) = (vec![], vec![]);
            for state in states {
                let curve = aalen_johansen(&state.competing_counts(), call.cause)
                    .map_err(|e| exec_datafusion_err!("{}: {e}", call.function))?;
                let bands = curve.bands(call.conf_type, call.conf_level);
                lengths.push(curve.time.len());
                for i in 0..curve.time.len() {
                    let (lower, upper) = (bands.lower[i], bands.upper[i]);
                    cols[0].push(Some(curve.time[i]));
                    cols[1].push(finite_or_null(curve.cif[i]));
                    cols[2].push(finite_or_null(curve.std_err[i]));
                    cols[3].push(finite_or_null(lower));
                    cols[4].push(finite_or_null(upper));
                    n_risk.push(curve.n_risk[i] as i64);
                    n_event.push(curve.n_event[i] as i64);
                }
            }
            let [time, cif, se, lower, upper] = cols.map(|c| Arc::new(Float64Array::from(c)));
            let items = struct_array(
                &curve_item_fields(),
                vec![
                    time,
                    Arc::new(Int64Array::from(n_risk)),
                    Arc::new(Int64Array::from(n_event)),
                    cif,
                    se,
                    lower,
                    upper,
                ],
            );
            list_array(&lengths, items)
        }
        CompetingOutput::At(at) => {
            let mut cols: [Vec<Option<f64>>; 5] = Default::default();
            for state in states {
                let curve = aalen_johansen(&state.competing_counts(), call.cause)
                    .map_err(|e| exec_datafusion_err!("{}: {e}", call.function))?;
                let row = cif_at(&curve, at, call.conf_type, call.conf_level);
                for (col, v) in cols.iter_mut().zip(row) {
                    col.push(v);
                }
            }
            let columns: Vec<ArrayRef> = cols
                .into_iter()
                .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
                .collect();
            Ok(Arc::new(StructArray::new(at_fields(), columns, None)))
        }
        CompetingOutput::Gray => {
            let (mut statistic, mut df, mut p) = (vec![], vec![], vec![]);
            for state in states {
                let (counts, n_groups) = state.group_counts();
                let test = gray_test(&counts, n_groups, call.cause, 0.0);
                if n_groups > 1 && test.statistic.is_none() {
                    call.sink.push(format!(
                        "{}: the variance matrix of Gray's test is singular (cmprsk reports \
                         a statistic of -1); the statistic and p-value are NULL",
                        call.expression
                    ));
                }
                statistic.push(test.statistic.and_then(finite_or_null));
                df.push(test.df.max(0));
                p.push(test.p_value.and_then(finite_or_null));
            }
            Ok(struct_array(
                &gray_fields(),
                vec![
                    Arc::new(Float64Array::from(statistic)),
                    Arc::new(Int64Array::from(df)),
                    Arc::new(Float64Array::from(p)),
                ],
            ))
        }
    }
}

/// [time, cif, std_err, lower, upper] at `at`, as `summary(fit, times = at, extend = TRUE)`:
/// the values at the last time ≤ `at`; before the first time the initial state (cif 0, its
/// standard error and both limits 0, as R fills them from `p0`).
fn cif_at(curve: &CifCurve, at: f64, conf_type: ConfType, level: f64) -> [Option<f64>; 5] {
    if curve.time.is_empty() {
        // No rows (e.g. all skipped for NULLs): no estimate, as km_survival.
        return [Some(at), None, None, None, None];
    }
    let i = curve.time.partition_point(|&t| t <= at);
    if i == 0 {
        let limit = if conf_type == ConfType::None {
            None
        } else {
            Some(0.0)
        };
        return [Some(at), Some(0.0), Some(0.0), limit, limit];
    }
    let (cif, se) = (curve.cif[i - 1], curve.std_err[i - 1]);
    let bands = curve.bands(conf_type, level);
    let (lower, upper) = (bands.lower[i - 1], bands.upper[i - 1]);
    [
        Some(at),
        finite_or_null(cif),
        finite_or_null(se),
        finite_or_null(lower),
        finite_or_null(upper),
    ]
}

/// The state fields, named after the function.
pub(crate) fn curve_state_fields(args: &StateFieldsArgs) -> Vec<FieldRef> {
    state_fields(args, false)
}

/// The state fields of `gray_test`, which also keeps the group.
pub(crate) fn gray_state_fields(args: &StateFieldsArgs) -> Vec<FieldRef> {
    state_fields(args, true)
}

fn state_fields(args: &StateFieldsArgs, grouped: bool) -> Vec<FieldRef> {
    let list = |name: &str, item: DataType| state_list_field(args.name, name, item);
    let mut fields = vec![];
    if grouped {
        fields.push(list("grp", DataType::Utf8));
    }
    fields.extend([
        list("time", DataType::Float64),
        list("status", DataType::UInt32),
        list("count", DataType::UInt64),
    ]);
    let shape = args
        .input_fields
        .first()
        .and_then(|f| response_shape(f.data_type()));
    if shape.is_some_and(|s| s.entry) {
        fields.push(list("entry", DataType::Float64));
    }
    if shape.is_some_and(|s| s.weight) {
        fields.push(list("weight", DataType::Float64));
    }
    fields
}

/// The status column as `u32` codes; every non-NULL value must be a whole number ≥ 0.
pub(crate) fn status_codes(function: &str, array: &ArrayRef) -> Result<Vec<u32>> {
    let bad = |v: String| {
        exec_err!(
            "{function}: argument 'status' must be 0 (censored) or a cause code 1, 2, ..., \
             found {v}"
        )
    };
    match array.data_type() {
        DataType::Int64 => {
            let a = array.as_primitive::<Int64Type>();
            let mut out = Vec::with_capacity(a.len());
            for (i, &v) in a.values().iter().enumerate() {
                if a.is_valid(i) && !(0..=u32::MAX as i64).contains(&v) {
                    return bad(v.to_string());
                }
                out.push(v as u32);
            }
            Ok(out)
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            let mut out = Vec::with_capacity(a.len());
            for (i, &v) in a.values().iter().enumerate() {
                let valid = a.is_valid(i);
                if valid && !(v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64) {
                    return bad(v.to_string());
                }
                out.push(if valid { v as u32 } else { 0 });
            }
            Ok(out)
        }
        // An event indicator (from surv(time, event) with a boolean): true = cause 1.
        DataType::Boolean => Ok(array
            .as_boolean()
            .iter()
            .map(|v| u32::from(v == Some(true)))
            .collect()),
        DataType::Null => Ok(vec![0; array.len()]),
        d => exec_err!("{function}: argument 'status' must be an integer status code, found {d}"),
    }
}

fn update(
    call: &CompetingOps,
    states: &mut [CompetingState],
    skipped: &mut [u64],
    values: &[ArrayRef],
    group_indices: &[usize],
    opt_filter: Option<&BooleanArray>,
) -> Result<()> {
    let f = call.function;
    // surv([entry,] time, status) in place of (time, status): crate::response.
    let split = if call.response {
        Some(split_values(f, values)?)
    } else {
        None
    };
    let values: &[ArrayRef] = split.as_ref().map_or(values, |s| &s.values);
    let entry = match split.as_ref().and_then(|s| s.entry.as_ref()) {
        Some(e) => Some(time_column(f, "entry", e)?),
        None => None,
    };
    let weight = match split.as_ref().and_then(|s| s.weight.as_ref()) {
        Some(w) => Some(weight_column(f, w)?),
        None => None,
    };
    let time = time_column(f, "time", &values[0])?;
    let status = status_codes(f, &values[1])?;
    let grp = if call.grouped() {
        Some(label_column(f, "grp", &values[3])?)
    } else {
        None
    };
    let grp = grp.as_ref().map(|g| g.as_string_view());
    let mut cols: Vec<&dyn Array> = vec![time, values[1].as_ref()];
    if let Some(g) = grp {
        cols.push(g);
    }
    if let Some(e) = entry {
        cols.push(e);
    }
    if let Some(w) = weight {
        cols.push(w);
    }
    let mask = row_mask(&cols, opt_filter, group_indices, skipped);
    let times = time.values();
    let max_groups = limits().max_groups;
    let mut too_many = false;
    let mut bad_entry = None;
    let mut row = |i: usize| {
        let state = &mut states[group_indices[i]];
        let group = match grp {
            Some(g) => {
                if state.groups.len() > max_groups {
                    too_many = true;
                    return;
                }
                state.groups.id_at(g, i)
            }
            None => 0,
        };
        let start = match entry {
            Some(e) => {
                let start = e.value(i);
                if bad_entry.is_none() && start >= times[i] {
                    bad_entry = Some((start, times[i]));
                }
                start
            }
            None => f64::NEG_INFINITY,
        };
        let row = Row {
            entry: start,
            time: times[i],
            group,
            status: status[i],
            weight: weight.map_or(1.0, |w| w.value(i)),
        };
        state.add(row, 1);
    };
    match mask {
        None => (0..time.len()).for_each(&mut row),
        Some(m) => m.valid_indices().for_each(&mut row),
    }
    if let Some((start, end)) = bad_entry {
        return crate::km_state::check_entry(f, start, end);
    }
    if too_many {
        return check_groups(f, max_groups + 1, max_groups);
    }
    Ok(())
}

/// The cap on the number of groups (see [`crate::limits`]).
fn check_groups(function: &str, groups: usize, max_groups: usize) -> Result<()> {
    check(
        function,
        "argument 'grp'",
        groups,
        max_groups,
        "distinct values",
        "SET survql.max_groups = N (survql --max-groups)",
    )
}

fn merge(
    call: &CompetingOps,
    states: &mut [CompetingState],
    values: &[ArrayRef],
    group_indices: &[usize],
) -> Result<()> {
    let grouped = call.grouped();
    let want = 3 + usize::from(grouped) + usize::from(call.delayed) + usize::from(call.weighted);
    if values.len() != want {
        return internal_err!(
            "{} state has {want} fields, got {}",
            call.function,
            values.len()
        );
    }
    let lists: Vec<_> = values.iter().map(|v| v.as_list::<i32>()).collect();
    let off = usize::from(grouped);
    let grp = grouped.then(|| lists[0].values().as_string::<i32>());
    let time = lists[off].values().as_primitive::<Float64Type>().values();
    let status = lists[off + 1]
        .values()
        .as_primitive::<UInt32Type>()
        .values();
    let count = lists[off + 2]
        .values()
        .as_primitive::<UInt64Type>()
        .values();
    let entry = call.delayed.then(|| {
        lists[off + 3]
            .values()
            .as_primitive::<Float64Type>()
            .values()
    });
    let weight_list = off + 3 + usize::from(call.delayed);
    let weight = call.weighted.then(|| {
        lists[weight_list]
            .values()
            .as_primitive::<Float64Type>()
            .values()
    });
    let offsets = lists[0].offsets();
    for (row, &g) in group_indices.iter().enumerate() {
        if lists[0].is_null(row) {
            continue;
        }
        let state = &mut states[g];
        for k in offsets[row] as usize..offsets[row + 1] as usize {
            let group = match grp {
                Some(labels) => state.groups.id(labels.value(k)),
                None => 0,
            };
            let row = Row {
                entry: entry.map_or(f64::NEG_INFINITY, |e| e[k]),
                time: time[k],
                group,
                status: status[k],
                weight: weight.map_or(1.0, |w| w[k]),
            };
            state.add(row, count[k]);
        }
        if grouped {
            check_groups(call.function, state.groups.len(), limits().max_groups)?;
        }
    }
    Ok(())
}

fn emit_state(call: &CompetingOps, states: &[CompetingState]) -> Result<Vec<ArrayRef>> {
    let lengths: Vec<usize> = states.iter().map(CompetingState::len).collect();
    let (mut grp, mut time, mut status, mut count) = (vec![], vec![], vec![], vec![]);
    let (mut entry, mut weight) = (vec![], vec![]);
    for s in states {
        for ((start, bits, g, st, w), c) in s.cells() {
            if call.grouped() {
                grp.push(&*s.groups.names[g as usize]);
            }
            time.push(f64::from_bits(bits));
            status.push(st);
            count.push(c);
            if call.delayed {
                entry.push(f64::from_bits(start));
            }
            if call.weighted {
                weight.push(f64::from_bits(w));
            }
        }
    }
    let mut out = vec![];
    if call.grouped() {
        out.push(list_array(&lengths, string_array(&grp)?)?);
    }
    out.push(list_array(&lengths, Arc::new(Float64Array::from(time)))?);
    out.push(list_array(&lengths, Arc::new(UInt32Array::from(status)))?);
    out.push(list_array(&lengths, Arc::new(UInt64Array::from(count)))?);
    if call.delayed {
        out.push(list_array(&lengths, Arc::new(Float64Array::from(entry)))?);
    }
    if call.weighted {
        out.push(list_array(&lengths, Arc::new(Float64Array::from(weight)))?);
    }
    Ok(out)
}

impl StateOps for CompetingOps {
    type State = CompetingState;

    fn update(
        &self,
        states: &mut [CompetingState],
        skipped: &mut [u64],
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        update(self, states, skipped, values, groups, filter)
    }

    fn merge(
        &self,
        states: &mut [CompetingState],
        values: &[ArrayRef],
        groups: &[usize],
    ) -> Result<()> {
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

    fn emit(&self, states: &mut [CompetingState]) -> Result<Vec<ArrayRef>> {
        emit_state(self, states)
    }

    fn evaluate(&self, states: &mut [CompetingState]) -> Result<ArrayRef> {
        evaluate(self, states)
    }

    fn size(state: &CompetingState) -> usize {
        state.size()
    }
}

/// Coerces the status argument: integers and booleans (true = cause 1) to BIGINT, floats to
/// DOUBLE (checked for whole numbers when read).
pub(crate) fn coerce_status(function: &str, dt: &DataType) -> Result<DataType> {
    match dt {
        // A boolean is an event indicator: true = cause 1.
        DataType::Null | DataType::Boolean => Ok(DataType::Int64),
        d if d.is_integer() => Ok(DataType::Int64),
        d if d.is_floating()
            || matches!(d, DataType::Decimal128(..) | DataType::Decimal256(..)) =>
        {
            Ok(DataType::Float64)
        }
        d => datafusion::common::plan_err!(
            "{function}: argument 'status' must be an integer status code (0 = censored, k = \
             cause k), found type {d}"
        ),
    }
}

/// Argument types: time, status, cause (a constant), the group when `grouped`, then the
/// optional constants `options` (`at` numeric, `conf_type` text, `conf_level` numeric).
pub(crate) fn coerce_competing(
    function: &str,
    arg_types: &[DataType],
    grouped: bool,
    options: &[&str],
    syntax: &str,
) -> Result<Vec<DataType>> {
    // surv([entry,] time, status[, weight]) in place of (time, status): crate::response.
    // cmprsk's Gray test has neither delayed entry nor weights.
    let takes = Takes {
        entry: !grouped,
        weight: !grouped,
    };
    coerce_with_response(function, arg_types, takes, |types| {
        coerce_competing_classic(function, types, grouped, options, syntax)
    })
}

fn coerce_competing_classic(
    function: &str,
    arg_types: &[DataType],
    grouped: bool,
    options: &[&str],
    syntax: &str,
) -> Result<Vec<DataType>> {
    use crate::coerce::{check_arity, coerce_option, coerce_time};
    let fixed = 3 + usize::from(grouped);
    let required = fixed + usize::from(options.first() == Some(&"at"));
    check_arity(
        function,
        arg_types.len(),
        required,
        fixed + options.len(),
        syntax,
    )?;
    let mut out = vec![
        coerce_time(function, "time", &arg_types[0])?,
        coerce_status(function, &arg_types[1])?,
        coerce_option(function, "cause", &arg_types[2], &DataType::Float64)?,
    ];
    if grouped {
        out.push(match &arg_types[3] {
            DataType::Null => DataType::Utf8,
            d => d.clone(),
        });
    }
    for (dt, name) in arg_types[fixed..].iter().zip(options) {
        let want = if *name == "conf_type" {
            DataType::Utf8
        } else {
            DataType::Float64
        };
        out.push(coerce_option(function, name, dt, &want)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_first_time_is_the_initial_state() {
        let curve = aalen_johansen(
            &[
                CompetingCount::new(2.0, 1, 1),
                CompetingCount::new(3.0, 2, 1),
            ],
            1,
        )
        .unwrap();
        assert_eq!(
            cif_at(&curve, 1.0, ConfType::Log, 0.95),
            [Some(1.0), Some(0.0), Some(0.0), Some(0.0), Some(0.0)]
        );
        // After the last time: the last values (R's extend = TRUE).
        let after = cif_at(&curve, 10.0, ConfType::Log, 0.95);
        assert_eq!(after[1], Some(0.5));
        // No data: no estimate.
        let empty = CifCurve::default();
        assert_eq!(
            cif_at(&empty, 1.0, ConfType::Log, 0.95),
            [Some(1.0), None, None, None, None]
        );
    }
}

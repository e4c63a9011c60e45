//! The state shared by `logrank_test`, `logrank_p` and `logrank_strat_test`: events and
//! censorings per (stratum, group, time) cell, per SQL group.
//!
//! Memory is O(distinct (stratum, group, time) cells); states merge by adding counts. The
//! state travels as five lists of equal length: `<name>[strata]`, `<name>[grp]`,
//! `<name>[time]`, `<name>[events]`, `<name>[censored]`.

use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, UInt64Array,
};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, UInt64Type};
use datafusion::common::{exec_err, internal_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use survql_stats::distributions::pchisq_upper;
use survql_stats::{
    p_adjust, survdiff_weighted, trend_test, GroupTimeCount, PAdjust, Survdiff, TimeCounts,
    Weighting,
};

use crate::accumulator::StateOps;
use crate::input_columns::{event_column, row_mask, time_column};
use crate::km_state::{add_cell_by_cell, KmState, CELL_BY_CELL};
use crate::labels::{sorted_label_order, LabelValues, Labels};
use crate::limits::{check, limits};
use crate::result_arrays::{
    f64_field, finite_or_null, i64_field, list_array, list_of, state_list_field, string_array,
    struct_array,
};
use crate::warnings::WarningSink;

/// Counts of one SQL group: one time table per (stratum, group) cell.
#[derive(Debug, Clone, Default)]
pub struct LogrankState {
    pub(crate) strata: Labels,
    pub(crate) groups: Labels,
    /// grid[stratum id][group id] = position in `cells` (u32::MAX: none yet).
    grid: Vec<Vec<u32>>,
    cells: Vec<(u32, u32, KmState)>,
}

impl LogrankState {
    /// The time table of a (stratum id, group id) cell.
    #[inline]
    fn cell(&mut self, stratum: u32, group: u32) -> &mut KmState {
        let i = self.cell_id(stratum, group) as usize;
        &mut self.cells[i].2
    }

    /// The position in `cells` of a (stratum id, group id) cell, added if new.
    #[inline(always)]
    fn cell_id(&mut self, stratum: u32, group: u32) -> u32 {
        // Inlined per row: a cell seen before is two indexed loads.
        match self
            .grid
            .get(stratum as usize)
            .and_then(|r| r.get(group as usize))
        {
            Some(&cell) if cell != u32::MAX => cell,
            _ => self.new_cell_id(stratum, group),
        }
    }

    /// [`Self::cell_id`] of a cell not seen yet.
    #[inline(never)]
    fn new_cell_id(&mut self, stratum: u32, group: u32) -> u32 {
        let (s, g) = (stratum as usize, group as usize);
        if self.grid.len() <= s {
            self.grid.resize_with(s + 1, Vec::new);
        }
        let row = &mut self.grid[s];
        if row.len() <= g {
            row.resize(g + 1, u32::MAX);
        }
        if row[g] == u32::MAX {
            row[g] = self.cells.len() as u32;
            self.cells.push((stratum, group, KmState::default()));
        }
        row[g]
    }

    fn size(&self) -> usize {
        size_of::<Self>()
            + self.strata.size()
            + self.groups.size()
            + self.cells.iter().map(|c| c.2.size() + 8).sum::<usize>()
            + self
                .grid
                .iter()
                .map(|r| r.capacity() * 4 + 24)
                .sum::<usize>()
    }

    fn len(&self) -> usize {
        self.cells.iter().map(|c| c.2.len()).sum()
    }

    /// The group labels and the counts per stratum, groups and strata in R's factor order
    /// (numeric when every label is a number, else byte order).
    fn records(&self) -> (Vec<String>, Vec<Vec<GroupTimeCount>>) {
        let order = sorted_label_order(&self.groups.names);
        // rank[group id] = position in the sorted order.
        let mut rank = vec![0usize; order.len()];
        for (pos, &id) in order.iter().enumerate() {
            rank[id] = pos;
        }
        // Strata in R's factor order too: survdiff adds them up in floating point, and the
        // order labels were first seen in depends on the partitioning.
        let strata_order = sorted_label_order(&self.strata.names);
        let mut strata_rank = vec![0usize; strata_order.len()];
        for (pos, &id) in strata_order.iter().enumerate() {
            strata_rank[id] = pos;
        }
        let mut strata: Vec<Vec<GroupTimeCount>> = vec![vec![]; self.strata.names.len()];
        for (s, g, counts) in &self.cells {
            strata[strata_rank[*s as usize]].extend(counts.iter().map(
                |(time, events, censored)| GroupTimeCount {
                    time,
                    group: rank[*g as usize],
                    events,
                    censored,
                },
            ));
        }
        let labels = order
            .iter()
            .map(|&id| self.groups.names[id].to_string())
            .collect();
        (labels, strata)
    }

    /// Runs `survdiff` on the counts.
    fn test(&self, weighting: Weighting) -> (Vec<String>, Survdiff) {
        let (labels, strata) = self.records();
        let result = survdiff_weighted(&strata, labels.len(), weighting);
        (labels, result)
    }

    /// Every pair of groups (i < j in factor order) tested alone, as survminer's
    /// `pairwise_survdiff`: survdiff on the two groups' rows, p from the chi-square with one
    /// degree of freedom (chisq 0, p 1, when fewer than two groups have expected events),
    /// then adjusted over the pairs with `p.adjust`. One pass over the counts for all pairs.
    fn pairwise(&self, weighting: Weighting, adjust: PAdjust) -> Vec<Pair> {
        let (labels, strata) = self.records();
        let mut pairs = vec![];
        for i in 0..labels.len() {
            for j in i + 1..labels.len() {
                let two: Vec<Vec<GroupTimeCount>> = strata
                    .iter()
                    .map(|recs| {
                        recs.iter()
                            .filter(|r| r.group == i || r.group == j)
                            .map(|r| GroupTimeCount {
                                group: usize::from(r.group == j),
                                ..*r
                            })
                            .collect()
                    })
                    .collect();
                let chisq = survdiff_weighted(&two, 2, weighting).chisq.unwrap_or(0.0);
                pairs.push(Pair {
                    grp1: labels[i].clone(),
                    grp2: labels[j].clone(),
                    chisq,
                    p_value: pchisq_upper(chisq, 1.0),
                    p_adjusted: None,
                });
            }
        }
        let p: Vec<Option<f64>> = pairs.iter().map(|x| finite_or_null(x.p_value)).collect();
        for (pair, adjusted) in pairs.iter_mut().zip(p_adjust(&p, adjust)) {
            pair.p_adjusted = adjusted;
        }
        pairs
    }
}

impl LogrankState {
    /// Each group's counts (near-ties merged within the group, as `survfit` on the group
    /// alone), groups in R's factor order, strata (if any) pooled.
    pub(crate) fn group_counts(&self, function: &str) -> Result<Vec<(String, TimeCounts)>> {
        let mut per_group: Vec<KmState> = vec![KmState::default(); self.groups.names.len()];
        for (_, g, counts) in &self.cells {
            for (time, events, censored) in counts.iter() {
                per_group[*g as usize].add_counts(time, events, censored);
            }
        }
        sorted_label_order(&self.groups.names)
            .into_iter()
            .map(|id| {
                let counts = per_group[id].to_counts(function)?;
                Ok((self.groups.names[id].to_string(), counts))
            })
            .collect()
    }
}

/// Evaluates a function that reads each group's Kaplan-Meier counts (`rmst_diff`,
/// `km_survival_diff`) from the log-rank state: per SQL group, the groups' labelled counts in
/// R's factor order.
pub(crate) trait GroupCurvesEvaluator: std::fmt::Debug + Send + Sync {
    fn evaluate(&self, sql_groups: &[Vec<(String, TimeCounts)>]) -> Result<ArrayRef>;
}

/// One pair of `logrank_pairwise`.
struct Pair {
    grp1: String,
    grp2: String,
    chisq: f64,
    p_value: f64,
    p_adjusted: Option<f64>,
}

/// What the function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogrankOutput {
    /// STRUCT<chisq, df, p_value, groups>.
    Test,
    /// The p-value only.
    PValue,
    /// LIST<STRUCT<grp1, grp2, chisq, p_value, p_adjusted>>, adjusted with this method.
    Pairwise(PAdjust),
    /// STRUCT<statistic, df, p_value, z>: the test for trend, the groups' values as scores.
    Trend,
}

/// `STRUCT<grp1 VARCHAR, grp2 VARCHAR, chisq DOUBLE, p_value DOUBLE, p_adjusted DOUBLE>`.
fn pair_fields() -> Fields {
    Fields::from(vec![
        Field::new("grp1", DataType::Utf8, true),
        Field::new("grp2", DataType::Utf8, true),
        f64_field("chisq"),
        f64_field("p_value"),
        f64_field("p_adjusted"),
    ])
}

/// The per-call configuration of a log-rank accumulator.
#[derive(Debug, Clone)]
pub struct LogrankOps {
    pub function: &'static str,
    pub expression: String,
    pub sink: WarningSink,
    pub stratified: bool,
    /// The test's weights (`rho` of the plain functions is G(rho, 0)).
    pub weighting: Weighting,
    pub(crate) output: LogrankOutput,
    /// Set for the functions that read each group's curve instead of testing: they evaluate.
    pub(crate) curves: Option<Arc<dyn GroupCurvesEvaluator>>,
}

impl LogrankOps {
    /// The ops of a function that evaluates each group's curve with `evaluator`.
    pub(crate) fn with_curves(mut self, evaluator: Arc<dyn GroupCurvesEvaluator>) -> Self {
        self.curves = Some(evaluator);
        self
    }

    pub(crate) fn new(
        function: &'static str,
        args: &AccumulatorArgs,
        sink: &WarningSink,
        stratified: bool,
        weighting: Weighting,
        output: LogrankOutput,
    ) -> Self {
        LogrankOps {
            function,
            expression: args.name.to_owned(),
            sink: sink.clone(),
            stratified,
            weighting,
            output,
            curves: None,
        }
    }
}

/// `STRUCT<grp VARCHAR, n BIGINT, observed DOUBLE, expected DOUBLE>`.
fn group_fields() -> Fields {
    Fields::from(vec![
        Field::new("grp", DataType::Utf8, true),
        i64_field("n"),
        f64_field("observed"),
        f64_field("expected"),
    ])
}

/// `STRUCT<chisq, df, p_value, groups LIST<STRUCT<grp, n, observed, expected>>>`.
pub(crate) fn test_fields() -> Fields {
    Fields::from(vec![
        f64_field("chisq"),
        i64_field("df"),
        f64_field("p_value"),
        Field::new("groups", list_of(DataType::Struct(group_fields())), true),
    ])
}

/// `STRUCT<statistic DOUBLE, df BIGINT, p_value DOUBLE, z DOUBLE>`.
fn trend_fields() -> Fields {
    Fields::from(vec![
        f64_field("statistic"),
        i64_field("df"),
        f64_field("p_value"),
        f64_field("z"),
    ])
}

pub(crate) fn return_type(output: LogrankOutput) -> DataType {
    match output {
        LogrankOutput::Test => DataType::Struct(test_fields()),
        LogrankOutput::PValue => DataType::Float64,
        LogrankOutput::Pairwise(_) => list_of(DataType::Struct(pair_fields())),
        LogrankOutput::Trend => DataType::Struct(trend_fields()),
    }
}

fn evaluate(call: &LogrankOps, states: &[LogrankState]) -> Result<ArrayRef> {
    if let Some(curves) = &call.curves {
        let groups = states
            .iter()
            .map(|s| s.group_counts(call.function))
            .collect::<Result<Vec<_>>>()?;
        return curves.evaluate(&groups);
    }
    if let LogrankOutput::Pairwise(adjust) = call.output {
        let (mut lengths, mut g1, mut g2) = (vec![], vec![], vec![]);
        let (mut chisq, mut p, mut adjusted) = (vec![], vec![], vec![]);
        for state in states {
            let pairs = state.pairwise(call.weighting, adjust);
            lengths.push(pairs.len());
            for pair in pairs {
                g1.push(pair.grp1);
                g2.push(pair.grp2);
                chisq.push(finite_or_null(pair.chisq));
                p.push(finite_or_null(pair.p_value));
                adjusted.push(pair.p_adjusted);
            }
        }
        let pairs = struct_array(
            &pair_fields(),
            vec![
                string_array(&g1)?,
                string_array(&g2)?,
                Arc::new(Float64Array::from(chisq)),
                Arc::new(Float64Array::from(p)),
                Arc::new(Float64Array::from(adjusted)),
            ],
        );
        return list_array(&lengths, pairs);
    }
    let results: Vec<(Vec<String>, Survdiff)> =
        states.iter().map(|s| s.test(call.weighting)).collect();
    if call.output == LogrankOutput::Trend {
        return evaluate_trend(call, &results);
    }
    if call.output == LogrankOutput::PValue {
        let p: Float64Array = results
            .iter()
            .map(|(_, r)| r.p_value.and_then(finite_or_null))
            .collect();
        return Ok(Arc::new(p));
    }
    let (mut chisq, mut df, mut p) = (vec![], vec![], vec![]);
    let (mut lengths, mut grp, mut n, mut obs, mut exp) = (vec![], vec![], vec![], vec![], vec![]);
    for (labels, r) in &results {
        chisq.push(r.chisq.and_then(finite_or_null));
        df.push(r.df);
        p.push(r.p_value.and_then(finite_or_null));
        lengths.push(labels.len());
        for (g, label) in labels.iter().enumerate() {
            grp.push(label.clone());
            n.push(r.n[g] as i64);
            obs.push(r.observed[g]);
            exp.push(r.expected[g]);
        }
    }
    let groups = struct_array(
        &group_fields(),
        vec![
            string_array(&grp)?,
            Arc::new(Int64Array::from(n)),
            Arc::new(Float64Array::from(obs)),
            Arc::new(Float64Array::from(exp)),
        ],
    );
    Ok(struct_array(
        &test_fields(),
        vec![
            Arc::new(Float64Array::from(chisq)),
            Arc::new(Int64Array::from(df)),
            Arc::new(Float64Array::from(p)),
            list_array(&lengths, groups)?,
        ],
    ))
}

/// The test for trend of each SQL group: the group labels are the score column's values.
fn evaluate_trend(call: &LogrankOps, results: &[(Vec<String>, Survdiff)]) -> Result<ArrayRef> {
    let (mut statistic, mut df, mut p, mut z) = (vec![], vec![], vec![], vec![]);
    for (labels, sd) in results {
        let scores = labels
            .iter()
            .map(|label| match label.parse::<f64>() {
                Ok(score) if score.is_finite() => Ok(score),
                _ => exec_err!(
                    "{}: argument 'score' must be a finite number, found {label}",
                    call.function
                ),
            })
            .collect::<Result<Vec<f64>>>()?;
        let trend = trend_test(sd, &scores);
        statistic.push(trend.statistic.and_then(finite_or_null));
        df.push(1i64);
        p.push(trend.p_value.and_then(finite_or_null));
        z.push(trend.z.and_then(finite_or_null));
    }
    Ok(struct_array(
        &trend_fields(),
        vec![
            Arc::new(Float64Array::from(statistic)),
            Arc::new(Int64Array::from(df)),
            Arc::new(Float64Array::from(p)),
            Arc::new(Float64Array::from(z)),
        ],
    ))
}

/// The five state fields, named after the function.
pub(crate) fn state_fields(args: &StateFieldsArgs) -> Vec<FieldRef> {
    let list = |name: &str, item: DataType| state_list_field(args.name, name, item);
    vec![
        list("strata", DataType::Utf8),
        list("grp", DataType::Utf8),
        list("time", DataType::Float64),
        list("events", DataType::UInt64),
        list("censored", DataType::UInt64),
    ]
}

fn update(
    call: &LogrankOps,
    states: &mut [LogrankState],
    skipped: &mut [u64],
    values: &[ArrayRef],
    group_indices: &[usize],
    opt_filter: Option<&BooleanArray>,
) -> Result<()> {
    let f = call.function;
    let time = time_column(f, "time", &values[0])?;
    let event = event_column(f, &values[1])?;
    // Integer group codes (what most registries have) are interned by value.
    let grp = LabelValues::new(f, "grp", &values[2])?;
    let strata = if call.stratified {
        Some(LabelValues::new(f, "strata", &values[3])?)
    } else {
        None
    };
    let mut cols: Vec<&dyn Array> = vec![time, &event, grp.array()];
    if let Some(s) = &strata {
        cols.push(s.array());
    }
    let mask = row_mask(&cols, opt_filter, group_indices, skipped);
    let times = time.values();
    let events = event.values();
    let max_groups = limits().max_groups;
    // Two passes: the (stratum, group) cell of every row, then the counts. The second is a
    // short loop whose rows are independent, so the processor overlaps their lookups in
    // the time tables (which outgrow the L2 cache with a few thousand times per cell);
    // in one long loop it waited on each in turn.
    let mut rows: Vec<(u32, u32)> = Vec::with_capacity(time.len());
    let one_group = group_indices
        .first()
        .copied()
        .filter(|&g| group_indices.iter().all(|&h| h == g));
    if let (Some(g), false) = (one_group, call.stratified) {
        // A test without GROUP BY (and without strata): one state for the whole batch.
        let state = &mut states[g];
        match &mask {
            None => locate_unstratified(state, &grp, 0..time.len(), &mut rows),
            Some(m) => locate_unstratified(state, &grp, m.valid_indices(), &mut rows),
        }
        if state.groups.len() > max_groups {
            return check_groups(f, max_groups + 1, max_groups);
        }
        count_rows(states, group_indices, one_group, &rows, times, events);
        return Ok(());
    }
    let mut too_many = false;
    let mut locate = |i: usize| {
        let state = &mut states[group_indices[i]];
        if state.groups.len() > max_groups {
            too_many = true;
            return;
        }
        let stratum = match &strata {
            Some(s) => s.id_at(&mut state.strata, i),
            None => {
                // Unstratified: the single stratum "" has id 0.
                if state.strata.names.is_empty() {
                    state.strata.id("");
                }
                0
            }
        };
        let group = grp.id_at(&mut state.groups, i);
        rows.push((i as u32, state.cell_id(stratum, group)));
    };
    match mask {
        None => (0..time.len()).for_each(&mut locate),
        Some(m) => m.valid_indices().for_each(&mut locate),
    }
    if too_many {
        return check_groups(f, max_groups + 1, max_groups);
    }
    count_rows(states, group_indices, one_group, &rows, times, events);
    Ok(())
}

/// Group codes spanning at most this many values are looked up in a table indexed by value.
const DIRECT_CODES: i64 = 4096;

/// Pushes (row, cell) for `indices` of a batch whose rows all go to `state`, unstratified:
/// the per-row work of the general path (finding the SQL group's state, the stratum, the
/// group cap) done once per batch. Integer group codes in a narrow range (hospital % 10,
/// arm 0/1, a grade 1..4) find their cell by value in a table made per batch, filled from
/// the labels at each code's first row, so the labels and cells are those of the general path.
fn locate_unstratified(
    state: &mut LogrankState,
    grp: &LabelValues,
    indices: impl Iterator<Item = usize>,
    rows: &mut Vec<(u32, u32)>,
) {
    if state.strata.names.is_empty() {
        // The single stratum "" has id 0.
        state.strata.id("");
    }
    match grp {
        LabelValues::Int(codes) => {
            let values = codes.values();
            let (low, high) = values
                .iter()
                .fold((i64::MAX, i64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            // Rows under the mask may hold anything: they only widen the span.
            let span = i128::from(high) - i128::from(low);
            if (0..i128::from(DIRECT_CODES)).contains(&span) {
                let mut cell_of_code = vec![u32::MAX; span as usize + 1];
                for i in indices {
                    let v = values[i];
                    let cell = &mut cell_of_code[v.wrapping_sub(low) as usize];
                    if *cell == u32::MAX {
                        let group = state.groups.int_id(v);
                        *cell = state.cell_id(0, group);
                    }
                    rows.push((i as u32, *cell));
                }
            } else {
                for i in indices {
                    let group = state.groups.int_id(values[i]);
                    rows.push((i as u32, state.cell_id(0, group)));
                }
            }
        }
        LabelValues::Text(labels) => {
            for i in indices {
                let group = state.groups.id_at(labels, i);
                rows.push((i as u32, state.cell_id(0, group)));
            }
        }
    }
}

/// Adds the rows (row, cell) to their cells' time tables: when every row of the batch is of
/// one SQL group (`one_group`: a test without GROUP BY) with few cells, cell by cell
/// ([`add_cell_by_cell`]).
fn count_rows(
    states: &mut [LogrankState],
    group_indices: &[usize],
    one_group: Option<usize>,
    rows: &[(u32, u32)],
    times: &[f64],
    events: &BooleanBuffer,
) {
    let subject = |i: u32| (times[i as usize], events.value(i as usize));
    match one_group {
        Some(g) if states[g].cells.len() <= CELL_BY_CELL => {
            let cells = &mut states[g].cells;
            add_cell_by_cell(
                || rows.iter().copied(),
                cells.len(),
                |c, own| cells[c].2.add_all(own.iter().map(|&i| subject(i))),
            );
        }
        _ => {
            for &(i, cell) in rows {
                let (time, event) = subject(i);
                states[group_indices[i as usize]].cells[cell as usize]
                    .2
                    .add(time, event);
            }
        }
    }
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
    call: &LogrankOps,
    states: &mut [LogrankState],
    values: &[ArrayRef],
    group_indices: &[usize],
) -> Result<()> {
    if values.len() != 5 {
        return internal_err!("log-rank state has 5 fields, got {}", values.len());
    }
    let lists: Vec<_> = values.iter().map(|v| v.as_list::<i32>()).collect();
    let strata = lists[0].values().as_string::<i32>();
    let grp = lists[1].values().as_string::<i32>();
    let time = lists[2].values().as_primitive::<Float64Type>().values();
    let ev = lists[3].values().as_primitive::<UInt64Type>().values();
    let ce = lists[4].values().as_primitive::<UInt64Type>().values();
    let offsets = lists[0].offsets();
    for (row, &g) in group_indices.iter().enumerate() {
        if lists[0].is_null(row) {
            continue;
        }
        let state = &mut states[g];
        for k in offsets[row] as usize..offsets[row + 1] as usize {
            let (s, g) = (
                state.strata.id(strata.value(k)),
                state.groups.id(grp.value(k)),
            );
            state.cell(s, g).add_counts(time[k], ev[k], ce[k]);
        }
        check_groups(call.function, state.groups.len(), limits().max_groups)?;
    }
    Ok(())
}

fn emit_state(states: &[LogrankState]) -> Result<Vec<ArrayRef>> {
    let lengths: Vec<usize> = states.iter().map(LogrankState::len).collect();
    let (mut st, mut gr, mut t, mut e, mut c) = (vec![], vec![], vec![], vec![], vec![]);
    for s in states {
        for (si, gi, counts) in &s.cells {
            for (time, ev, ce) in counts.iter() {
                st.push(&*s.strata.names[*si as usize]);
                gr.push(&*s.groups.names[*gi as usize]);
                t.push(time);
                e.push(ev);
                c.push(ce);
            }
        }
    }
    Ok(vec![
        list_array(&lengths, string_array(&st)?)?,
        list_array(&lengths, string_array(&gr)?)?,
        list_array(&lengths, Arc::new(Float64Array::from(t)))?,
        list_array(&lengths, Arc::new(UInt64Array::from(e)))?,
        list_array(&lengths, Arc::new(UInt64Array::from(c)))?,
    ])
}

impl StateOps for LogrankOps {
    type State = LogrankState;

    fn update(
        &self,
        states: &mut [LogrankState],
        skipped: &mut [u64],
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        update(self, states, skipped, values, groups, filter)
    }

    fn merge(
        &self,
        states: &mut [LogrankState],
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

    fn emit(&self, states: &mut [LogrankState]) -> Result<Vec<ArrayRef>> {
        emit_state(states)
    }

    fn evaluate(&self, states: &mut [LogrankState]) -> Result<ArrayRef> {
        evaluate(self, states)
    }

    fn size(state: &LogrankState) -> usize {
        state.size()
    }
}

/// The `weighting` argument (position `i`) of the weighted tests: required, a constant.
pub(crate) fn weighting_option(
    function: &str,
    args: &AccumulatorArgs,
    i: usize,
) -> Result<Weighting> {
    optional_weighting(function, args, i)?.ok_or_else(|| {
        datafusion::common::exec_datafusion_err!(
            "{function}: argument 'weighting' is required (one of {})",
            Weighting::NAMES
        )
    })
}

/// The `weighting` argument (position `i`) where it may be left out.
pub(crate) fn optional_weighting(
    function: &str,
    args: &AccumulatorArgs,
    i: usize,
) -> Result<Option<Weighting>> {
    let Some(text) = crate::options::str_option(function, "weighting", args, i)? else {
        return Ok(None);
    };
    Weighting::parse(&text).map(Some).ok_or_else(|| {
        datafusion::common::exec_datafusion_err!(
            "{function}: argument 'weighting' must be one of {} (p, q >= 0), found '{text}'",
            Weighting::NAMES
        )
    })
}

/// Argument types of the weighted tests: time, event, `labels` label columns, `weighting`.
pub(crate) fn coerce_weighted(
    function: &str,
    arg_types: &[DataType],
    labels: usize,
    syntax: &str,
) -> Result<Vec<DataType>> {
    crate::coerce::check_arity(function, arg_types.len(), 3 + labels, 3 + labels, syntax)?;
    let mut out = crate::coerce::coerce_time_event_labels(
        function,
        &arg_types[..2 + labels],
        labels,
        &[],
        syntax,
    )?;
    out.push(crate::coerce::coerce_option(
        function,
        "weighting",
        &arg_types[2 + labels],
        &DataType::Utf8,
    )?);
    Ok(out)
}

/// Argument types of the trend tests: time, event, score (numeric, as DOUBLE), the strata
/// label when `stratified`, then an optional `weighting`.
pub(crate) fn coerce_trend(
    function: &str,
    arg_types: &[DataType],
    stratified: bool,
    syntax: &str,
) -> Result<Vec<DataType>> {
    let fixed = 3 + usize::from(stratified);
    crate::coerce::check_arity(function, arg_types.len(), fixed, fixed + 1, syntax)?;
    let mut out = crate::coerce::coerce_time_event_labels(
        function,
        &arg_types[..fixed],
        fixed - 2,
        &[],
        syntax,
    )?;
    out[2] = crate::coerce::coerce_time(function, "score", &arg_types[2])?;
    if let Some(dt) = arg_types.get(fixed) {
        out.push(crate::coerce::coerce_option(
            function,
            "weighting",
            dt,
            &DataType::Utf8,
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};

    fn ops() -> LogrankOps {
        LogrankOps {
            function: "logrank_test",
            expression: "logrank_test(t, e, g)".into(),
            sink: WarningSink::default(),
            stratified: false,
            weighting: Weighting::LogRank,
            output: LogrankOutput::Test,
            curves: None,
        }
    }

    /// (time bits, group rank, events, censored) of one stratum, sorted.
    type StratumCounts = Vec<(u64, usize, u64, u64)>;

    /// Every state's group labels and counts per stratum, as `records` gives them.
    fn records(states: &[LogrankState]) -> Vec<(Vec<String>, Vec<StratumCounts>)> {
        states
            .iter()
            .map(|s| {
                let (labels, strata) = s.records();
                let strata = strata
                    .into_iter()
                    .map(|cells| {
                        let mut v: Vec<_> = cells
                            .iter()
                            .map(|c| (c.time.to_bits(), c.group, c.events, c.censored))
                            .collect();
                        v.sort_unstable();
                        v
                    })
                    .collect();
                (labels, strata)
            })
            .collect()
    }

    /// A batch whose rows all go to one state (a test without GROUP BY) is located once per
    /// batch (integer codes in a narrow range by a table, in a wide range and text by label);
    /// the labels and counts must be those of the row-by-row path, which a batch spread over
    /// two states takes. NULL group codes and a FILTER are skipped alike.
    #[test]
    fn one_state_batches_count_as_the_row_by_row_path() {
        let n = 600;
        let time: ArrayRef = Arc::new(Float64Array::from_iter_values(
            (0..n).map(|i| f64::from((i * 7 % 23) as u32) / 10.0),
        ));
        let event: ArrayRef = Arc::new(Int64Array::from_iter_values(
            (0..n).map(|i| (i % 3 == 0) as i64),
        ));
        let narrow: ArrayRef = Arc::new(Int64Array::from_iter(
            (0..n).map(|i| (i % 11 != 5).then_some((i * 5 % 4) as i64 - 2)),
        ));
        let wide: ArrayRef =
            Arc::new(Int64Array::from_iter((0..n).map(|i| {
                (i % 13 != 4).then_some([-9_000_000_000i64, 7, 100_000, -3][i * 3 % 4])
            })));
        let text: ArrayRef =
            Arc::new(StringArray::from_iter((0..n).map(|i| {
                (i % 17 != 2).then(|| ["b", "a long label, not inline", "10", "9"][i % 4])
            })));
        let filter = BooleanArray::from_iter((0..n).map(|i| Some(i % 19 != 0)));
        for (what, grp) in [("narrow", &narrow), ("wide", &wide), ("text", &text)] {
            let values = vec![Arc::clone(&time), Arc::clone(&event), Arc::clone(grp)];
            for filter in [None, Some(&filter)] {
                // Reference: rows alternate between two states, so every row is located alone.
                let alternate: Vec<usize> = (0..n).map(|i| i % 2).collect();
                let mut by_row = vec![LogrankState::default(), LogrankState::default()];
                let mut skipped_by_row = vec![0u64; 2];
                update(
                    &ops(),
                    &mut by_row,
                    &mut skipped_by_row,
                    &values,
                    &alternate,
                    filter,
                )
                .unwrap();
                // The same rows, each state's half as a batch of its own.
                let mut by_batch = vec![LogrankState::default(), LogrankState::default()];
                let mut skipped_by_batch = vec![0u64; 2];
                for half in 0..2 {
                    let rows: Vec<u64> =
                        (0..n as u64).filter(|i| *i as usize % 2 == half).collect();
                    let take = UInt64Array::from(rows);
                    let part: Vec<ArrayRef> = values
                        .iter()
                        .map(|a| datafusion::arrow::compute::take(a, &take, None).unwrap())
                        .collect();
                    let part_filter = filter.map(|f| {
                        datafusion::arrow::compute::take(f, &take, None)
                            .unwrap()
                            .as_boolean()
                            .clone()
                    });
                    let mut one = [LogrankState::default()];
                    let mut skipped = [0u64];
                    update(
                        &ops(),
                        &mut one,
                        &mut skipped,
                        &part,
                        &vec![0; part[0].len()],
                        part_filter.as_ref(),
                    )
                    .unwrap();
                    by_batch[half] = one[0].clone();
                    skipped_by_batch[half] = skipped[0];
                }
                assert_eq!(
                    records(&by_batch),
                    records(&by_row),
                    "{what}, filter {}",
                    filter.is_some()
                );
                assert_eq!(skipped_by_batch, skipped_by_row, "{what}");
                assert!(
                    skipped_by_row.iter().sum::<u64>() > 0,
                    "{what}: NULL codes skipped"
                );
            }
        }
    }
}

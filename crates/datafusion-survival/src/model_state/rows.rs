//! The rows of one SQL group ([`ModelRows`]): appending a batch's rows (`update`), the
//! partial-state wire format (`emit_state`) and appending received states (`merge`), with
//! the received numeric columns held as slices until they are read ([`PendingRows`]).

use super::*;

/// The rows of one SQL group.
#[derive(Debug, Clone, Default)]
pub struct ModelRows {
    pub(super) stop: Vec<f64>,
    pub(super) start: Vec<f64>,
    pub(super) event: Vec<bool>,
    /// finegray_ph: status codes (0 censored, k cause k) instead of events.
    pub(super) status: Vec<u32>,
    /// Case weights (empty without).
    pub(super) weight: Vec<f64>,
    pub(super) strata_labels: Labels,
    pub(super) strata: Vec<u32>,
    /// One column per covariate argument: numbers, or label ids for factors.
    pub(super) num: Vec<Vec<f64>>,
    pub(super) fac_labels: Vec<Labels>,
    pub(super) fac: Vec<Vec<u32>>,
    /// The covariate argument that is `cluster(id)`: its labels are clusters, not levels of
    /// a factor (no model column each).
    pub(super) cluster: Option<usize>,
    /// The call's fit reads the numeric columns in place ([`ModelOps::fits_in_place`]).
    pub(super) fits_in_place: bool,
    /// Rows merged from other states whose numeric columns are not copied yet
    /// ([`PendingRows`]); their events, strata and factor ids are in the columns above.
    pub(super) pending: Vec<PendingRows>,
    /// Σ rows and Σ bytes of the slices in `pending`, kept current so that `len` and `size`
    /// are O(1) (`StateOps::size` is called for every group a batch touches).
    pub(super) pending_rows: usize,
    pub(super) pending_bytes: usize,
}

/// Rows of a state received by `merge` whose numeric columns are held as the slices of the
/// received arrays they are, not copied: a final aggregation that copied each partition's
/// rows while their arrays were alive held the rows twice (at 1e7 rows × 6 covariates, the
/// process's peak). [`settle_all`] copies them one column at a time before anything reads
/// the columns, so that each received column is freed once every group has copied its slice.
#[derive(Debug, Clone)]
pub(super) struct PendingRows {
    pub(super) rows: usize,
    /// One per column of [`ModelRows::f64_columns`]; `None` for a column the call does not
    /// have (or already copied).
    pub(super) columns: Vec<Option<Float64Array>>,
}

/// Copies the pending rows of every state to the end of its columns, one column at a time
/// across the states: the received arrays are shared by the groups of a merged batch, and a
/// column is freed once every group has copied its slice of it (state by state, a group's
/// copied rows would be held twice until the last group had copied).
pub(super) fn settle_all(states: &mut [ModelRows]) {
    let columns = states
        .iter()
        .flat_map(|s| s.pending.iter().map(|p| p.columns.len()))
        .max();
    let Some(columns) = columns else {
        return;
    };
    for c in 0..columns {
        for state in states.iter_mut() {
            if !state.pending.is_empty() {
                state.settle_column(c);
            }
        }
    }
    for state in states {
        state.pending.clear();
        state.pending_rows = 0;
        state.pending_bytes = 0;
    }
}

/// A merged group's rows go to [`PendingRows`] from this many (fewer are copied at once:
/// small slices would keep large received arrays alive for little).
pub(super) const PENDING_MIN_ROWS: usize = 1024;

impl ModelRows {
    /// Makes room for the call's covariate columns.
    pub(super) fn ensure(&mut self, call: &ModelOps) {
        let ncov = call.covariates.len();
        if self.num.len() < ncov {
            self.cluster = call
                .covariates
                .iter()
                .position(|c| matches!(c, Covariate::Cluster { .. }));
            self.fits_in_place = call.fits_in_place();
            self.num.resize_with(ncov, Vec::new);
            self.fac.resize_with(ncov, Vec::new);
            self.fac_labels.resize_with(ncov, Labels::default);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.stop.len() + self.pending_rows
    }

    /// The f64 columns, in the order of [`PendingRows::columns`]: stop, start, weight, then
    /// one per covariate argument (empty for factors and the cluster).
    pub(super) fn f64_columns(&mut self) -> impl Iterator<Item = &mut Vec<f64>> {
        [&mut self.stop, &mut self.start, &mut self.weight]
            .into_iter()
            .chain(&mut self.num)
    }

    /// Copies the pending rows' numeric columns to the end of the columns ([`settle_all`]).
    pub(super) fn settle(&mut self) {
        if !self.pending.is_empty() {
            settle_all(std::slice::from_mut(self));
        }
    }

    /// Copies column `c` ([`Self::f64_columns`]) of the pending rows to the end of that
    /// column, dropping the received slices as they are copied.
    pub(super) fn settle_column(&mut self, c: usize) {
        let mut pending = std::mem::take(&mut self.pending);
        let rows: usize = pending
            .iter()
            .filter(|p| p.columns.get(c).is_some_and(Option::is_some))
            .map(|p| p.rows)
            .sum();
        // (Every pending column has its column in `f64_columns`: `ensure` made them.)
        self.pending_bytes -= rows * 8;
        if let Some(column) = self.f64_columns().nth(c) {
            column.reserve_exact(rows);
            for chunk in &mut pending {
                if let Some(values) = chunk.columns.get_mut(c).and_then(Option::take) {
                    column.extend_from_slice(values.values());
                }
            }
        }
        self.pending = pending;
    }

    /// Puts the rows in `order` (row `order[i]` becomes row `i`): every per-row column, one
    /// at a time (a column's old copy is freed before the next is gathered).
    pub(super) fn permute(&mut self, order: &[usize]) {
        if order.iter().enumerate().all(|(i, &r)| i == r) {
            return;
        }
        fn apply<T: Copy + Send + Sync>(v: &mut Vec<T>, order: &[usize]) {
            // Columns the call does not use are empty.
            if !v.is_empty() {
                *v = gather(v, order);
            }
        }
        apply(&mut self.stop, order);
        apply(&mut self.start, order);
        apply(&mut self.event, order);
        apply(&mut self.status, order);
        apply(&mut self.weight, order);
        apply(&mut self.strata, order);
        for v in &mut self.num {
            apply(v, order);
        }
        for v in &mut self.fac {
            apply(v, order);
        }
    }

    /// The rows held, plus what the fit allocates from them (see [`Self::fit_bytes`]).
    pub(super) fn size(&self) -> usize {
        // (Pending rows: their slices' bytes, not the whole arrays they are cut from, which
        // other groups' slices share.)
        debug_assert_eq!(
            (self.pending_rows, self.pending_bytes),
            self.pending.iter().fold((0, 0), |(rows, bytes), p| (
                rows + p.rows,
                bytes + p.rows * 8 * p.columns.iter().flatten().count()
            )),
            "running totals of the pending rows"
        );
        size_of::<Self>()
            + self.pending.capacity() * size_of::<PendingRows>()
            + self.pending_bytes
            + (self.stop.capacity() + self.start.capacity() + self.weight.capacity()) * 8
            + self.event.capacity()
            + self.status.capacity() * 4
            + self.strata.capacity() * 4
            + self.strata_labels.size()
            + self.num.iter().map(|v| v.capacity() * 8).sum::<usize>()
            + self.fac.iter().map(|v| v.capacity() * 4).sum::<usize>()
            + self.fac_labels.iter().map(Labels::size).sum::<usize>()
            + self.fit_bytes()
    }

    /// Memory the fit needs on top of the rows: the model columns it makes (a factor is one
    /// column per level but the first), and about 15 numbers per row (times, order, linear
    /// predictors, residuals, concordance counts). `cox_ph*` borrow the numeric columns and
    /// read them in place, so only the factors' columns are new, once; the other functions
    /// copy every column into their model data, some again into a centred row-major copy:
    /// twice. Counted in [`Self::size`] so that the memory pool refuses a fit that cannot be
    /// done before it starts, rather than the process running out during it.
    pub(super) fn fit_bytes(&self) -> usize {
        let factor_columns = self
            .fac_labels
            .iter()
            .enumerate()
            .filter(|&(k, _)| Some(k) != self.cluster)
            .map(|(_, l)| l.len().saturating_sub(1))
            .sum::<usize>();
        let new_columns = if self.fits_in_place {
            factor_columns
        } else {
            2 * (self.num.len() + factor_columns)
        };
        self.len() * (8 * new_columns + 15 * 8)
    }
}

/// A covariate column of a batch, ready for row access.
pub(super) enum CovColumn<'a> {
    Num(&'a Float64Array),
    Bool(BooleanArray),
    Text(ArrayRef),
}

pub(super) fn update(
    call: &ModelOps,
    states: &mut [ModelRows],
    skipped: &mut [u64],
    values: &[ArrayRef],
    groups: &[usize],
    filter: Option<&BooleanArray>,
) -> Result<()> {
    update_rows(call, states, skipped, values, groups, filter, None)
}

/// [`update`], also pushing to `kept` the batch row of each row appended (in the order they
/// are appended): what the window functions map their per-row results back with.
pub(super) fn update_rows(
    call: &ModelOps,
    states: &mut [ModelRows],
    skipped: &mut [u64],
    values: &[ArrayRef],
    groups: &[usize],
    filter: Option<&BooleanArray>,
    kept: Option<&mut Vec<usize>>,
) -> Result<()> {
    let f = call.function;
    let fixed = call.kind.fixed();
    // surv([entry,] time, event [, weight]) in place of (time, event): crate::response.
    let split = match call.response {
        Some(_) => Some(split_values(f, values)?),
        None => None,
    };
    let values: &[ArrayRef] = split.as_ref().map_or(values, |s| &s.values);
    let (stop_i, event_i) = match call.kind {
        ModelKind::Counting => (1, 2),
        _ => (0, 1),
    };
    let stop = time_column(
        f,
        if call.kind == ModelKind::Counting {
            "stop"
        } else {
            "time"
        },
        &values[stop_i],
    )?;
    let start = match (call.kind, split.as_ref().and_then(|s| s.entry.as_ref())) {
        (ModelKind::Counting, _) => Some(time_column(f, "start", &values[0])?),
        (_, Some(entry)) => Some(time_column(f, "entry", entry)?),
        _ => None,
    };
    let weight = match split.as_ref().and_then(|s| s.weight.as_ref()) {
        Some(w) => Some(positive_weights(f, weight_column(f, w)?)?),
        None => None,
    };
    // finegray_ph reads status codes; the others an event indicator.
    let fine_gray = call.kind == ModelKind::FineGray;
    let status = if fine_gray {
        crate::competing_state::status_codes(f, &values[event_i])?
    } else {
        vec![]
    };
    let event = if fine_gray {
        BooleanArray::from(vec![false; values[event_i].len()])
    } else {
        event_column(f, &values[event_i])?
    };
    let strata = if call.kind.stratified() {
        Some(label_column(f, "strata", &values[2])?)
    } else {
        None
    };
    let strata = strata.as_ref().map(|s| s.as_string_view());
    // Numeric covariates arrive in their own type (see `coerce_model_classic`): read as f64,
    // as CAST(x AS DOUBLE) would.
    let numeric: Vec<Option<ArrayRef>> = call
        .covariates
        .iter()
        .enumerate()
        .map(|(k, cov)| {
            let a = &values[fixed + k];
            match cov {
                Covariate::Numeric { .. } if a.data_type() != &DataType::Float64 => {
                    datafusion::arrow::compute::cast(a, &DataType::Float64)
                        .map(Some)
                        .map_err(Into::into)
                }
                _ => Ok(None),
            }
        })
        .collect::<Result<_>>()?;
    let mut cols: Vec<CovColumn> = vec![];
    for (k, cov) in call.covariates.iter().enumerate() {
        let a = numeric[k].as_ref().unwrap_or(&values[fixed + k]);
        cols.push(match cov {
            Covariate::Numeric { .. } => CovColumn::Num(a.as_primitive::<Float64Type>()),
            Covariate::Boolean { .. } => CovColumn::Bool(a.as_boolean().clone()),
            Covariate::Factor { .. } => CovColumn::Text(label_column(f, cov.name(), a)?),
            Covariate::Cluster { .. } => {
                CovColumn::Text(label_column(f, "cluster", a.as_struct().column(0))?)
            }
            Covariate::Strata { .. } => {
                CovColumn::Text(label_column(f, "strata", a.as_struct().column(0))?)
            }
        });
    }
    let mut arrays: Vec<&dyn Array> = vec![stop, values[event_i].as_ref()];
    if let Some(s) = start {
        arrays.push(s);
    }
    if let Some(w) = weight {
        arrays.push(w);
    }
    if let Some(s) = strata {
        arrays.push(s);
    }
    for c in &cols {
        arrays.push(match c {
            CovColumn::Num(a) => *a,
            CovColumn::Bool(a) => a,
            CovColumn::Text(a) => a.as_ref(),
        });
    }
    let mask = row_mask(&arrays, filter, groups, skipped);
    // Covariates must be finite, like times.
    for (k, c) in cols.iter().enumerate() {
        if let CovColumn::Num(a) = c {
            for i in 0..a.len() {
                if a.is_valid(i)
                    && !a.value(i).is_finite()
                    && mask.as_ref().is_none_or(|m| m.is_valid(i))
                {
                    return exec_err!(
                        "{f}: covariate '{}' must be a finite number, found {}",
                        call.covariates[k].name(),
                        a.value(i)
                    );
                }
            }
        }
    }
    if let Some(s) = start {
        for i in 0..s.len() {
            if mask.as_ref().is_none_or(|m| m.is_valid(i))
                && s.is_valid(i)
                && stop.is_valid(i)
                && s.value(i) >= stop.value(i)
            {
                let (a, b) = if call.kind == ModelKind::Counting {
                    ("start", "stop")
                } else {
                    ("entry", "time")
                };
                return exec_err!(
                    "{f}: every interval needs {a} < {b}, found {a} {} and {b} {}",
                    s.value(i),
                    stop.value(i)
                );
            }
        }
    }
    let rows = KeptRows {
        len: stop.len(),
        mask: mask.as_ref(),
    };
    if let Some(kept) = kept {
        rows.for_each(|i| kept.push(i));
    }
    // (Rows merged before, still pending, go first: update appends to the columns.)
    if let [st] = &mut *states {
        st.ensure(call);
        st.settle();
    } else {
        rows.for_each(|i| {
            let st = &mut states[groups[i]];
            st.ensure(call);
            st.settle();
        });
    }
    let mut to = Appender {
        states,
        groups,
        rows,
    };
    to.append_slice(|st| &mut st.stop, stop.values());
    if let Some(s) = start {
        to.append_slice(|st| &mut st.start, s.values());
    }
    if fine_gray {
        to.append_slice(|st| &mut st.status, &status);
    } else {
        to.append(|st| &mut st.event, |i| event.value(i));
    }
    if let Some(w) = weight {
        to.append_slice(|st| &mut st.weight, w.values());
    }
    if let Some(s) = strata {
        to.append_labels(|st| (&mut st.strata_labels, &mut st.strata), s);
    }
    for (k, c) in cols.iter().enumerate() {
        match c {
            CovColumn::Num(a) => to.append_slice(|st| &mut st.num[k], a.values()),
            CovColumn::Bool(a) => to.append(|st| &mut st.num[k], |i| f64::from(a.value(i))),
            CovColumn::Text(a) => to.append_labels(
                |st| (&mut st.fac_labels[k], &mut st.fac[k]),
                a.as_string_view(),
            ),
        }
    }
    check_levels(call, to.states, groups)
}

/// The rows of a batch that are added: all of them, or those valid in the mask (no NULL
/// argument, selected by FILTER).
#[derive(Clone, Copy)]
pub(super) struct KeptRows<'a> {
    pub(super) len: usize,
    pub(super) mask: Option<&'a NullBuffer>,
}

impl KeptRows<'_> {
    pub(super) fn for_each(&self, mut f: impl FnMut(usize)) {
        match self.mask {
            None => (0..self.len).for_each(f),
            Some(m) => m.valid_indices().for_each(&mut f),
        }
    }
}

/// Adds a batch's kept rows to their groups' states, one column at a time: one state (no
/// GROUP BY) extends each column by the whole batch at once (a copy of the values when every
/// row is kept); several states take each row into its group's column.
pub(super) struct Appender<'a> {
    pub(super) states: &'a mut [ModelRows],
    pub(super) groups: &'a [usize],
    pub(super) rows: KeptRows<'a>,
}

impl Appender<'_> {
    /// Appends `value(i)` of each kept row `i` to `column` of its group's state.
    pub(super) fn append<T>(
        &mut self,
        column: impl Fn(&mut ModelRows) -> &mut Vec<T>,
        value: impl Fn(usize) -> T,
    ) {
        match (&mut *self.states, self.rows.mask) {
            ([st], None) => column(st).extend((0..self.rows.len).map(value)),
            ([st], Some(m)) => column(st).extend(m.valid_indices().map(value)),
            (states, _) => self
                .rows
                .for_each(|i| column(&mut states[self.groups[i]]).push(value(i))),
        }
    }

    /// [`Appender::append`] of `values[i]`: one state with every row kept copies the slice.
    pub(super) fn append_slice<T: Copy>(
        &mut self,
        column: impl Fn(&mut ModelRows) -> &mut Vec<T>,
        values: &[T],
    ) {
        if let ([st], None) = (&mut *self.states, self.rows.mask) {
            column(st).extend_from_slice(values);
        } else {
            self.append(column, |i| values[i]);
        }
    }

    /// Appends the label id of each kept row's value in `labels` to the ids of its group
    /// (`column` picks a state's label table and ids).
    pub(super) fn append_labels(
        &mut self,
        column: impl Fn(&mut ModelRows) -> (&mut Labels, &mut Vec<u32>),
        labels: &StringViewArray,
    ) {
        let (states, groups) = (&mut *self.states, self.groups);
        self.rows.for_each(|i| {
            let (table, ids) = column(&mut states[groups[i]]);
            ids.push(table.id_at(labels, i));
        });
    }
}

/// Cox weights must be > 0 where not NULL, as R's `coxph` requires ("Invalid weights, must be
/// >0"; a zero weight is allowed by `survfit`, not by `coxph`).
pub(super) fn positive_weights<'a>(
    function: &str,
    w: &'a Float64Array,
) -> Result<&'a Float64Array> {
    if let Some(i) = (0..w.len()).find(|&i| w.is_valid(i) && w.value(i) <= 0.0) {
        return exec_err!(
            "{function}: argument 'weight' must be > 0 (as R's coxph), found {}",
            w.value(i)
        );
    }
    Ok(w)
}

/// Refuses a text covariate with more levels than the cap (each level becomes a column of
/// the model: a patient id used as a covariate would make n of them).
pub(super) fn check_levels(call: &ModelOps, states: &[ModelRows], groups: &[usize]) -> Result<()> {
    let factors: Vec<usize> = (0..call.covariates.len())
        .filter(|&k| matches!(call.covariates[k], Covariate::Factor { .. }))
        .collect();
    if factors.is_empty() {
        return Ok(());
    }
    let cap = limits().max_factor_levels;
    let mut last = usize::MAX;
    for &g in groups {
        if g == last {
            continue;
        }
        last = g;
        for &k in &factors {
            let levels = states[g].fac_labels.get(k).map_or(0, Labels::len);
            check(
                call.function,
                &format!(
                    "covariate '{}' (a text column, one coefficient per level)",
                    call.covariates[k].name()
                ),
                levels,
                cap,
                "distinct values",
                "SET survql.max_factor_levels = N (survql --max-factor-levels)",
            )?;
        }
    }
    Ok(())
}

/// The states as the state fields. A single state (a query without GROUP BY, the partial
/// aggregate of each partition) gives its number columns to the arrays instead of copying
/// them — a registry's rows are a gigabyte — and is left without them: DataFusion drops it.
pub(super) fn emit_state(call: &ModelOps, states: &mut [ModelRows]) -> Result<Vec<ArrayRef>> {
    settle_all(states);
    let lengths: Vec<usize> = states.iter().map(ModelRows::len).collect();
    let f64_list = |states: &mut [ModelRows],
                    get: &dyn Fn(&mut ModelRows) -> Option<&mut Vec<f64>>|
     -> Result<ArrayRef> {
        // (Each state's column is freed once copied: the states are emitted whole, and
        // copying them all before freeing any held every row twice.)
        let v: Vec<f64> = match states {
            [one] => get(one).map(std::mem::take).unwrap_or_default(),
            _ => {
                let mut v = Vec::with_capacity(lengths.iter().sum());
                for s in states.iter_mut() {
                    if let Some(column) = get(s) {
                        v.extend_from_slice(&std::mem::take(column));
                    }
                }
                v
            }
        };
        list_array(&lengths, Arc::new(Float64Array::from(v)))
    };
    let mut out = vec![f64_list(states, &|s| Some(&mut s.stop))?];
    if call.counting() {
        out.push(f64_list(states, &|s| Some(&mut s.start))?);
    }
    if call.kind == ModelKind::FineGray {
        let status: Vec<u32> = states
            .iter()
            .flat_map(|s| s.status.iter().copied())
            .collect();
        out.push(list_array(&lengths, Arc::new(UInt32Array::from(status)))?);
    } else {
        let ev: BooleanArray = states
            .iter()
            .flat_map(|s| s.event.iter().map(|&e| Some(e)))
            .collect();
        out.push(list_array(&lengths, Arc::new(ev))?);
    }
    if call.weighted() {
        out.push(f64_list(states, &|s| Some(&mut s.weight))?);
    }
    if call.kind.stratified() {
        let v: Vec<&str> = states
            .iter()
            .flat_map(|s| {
                s.strata
                    .iter()
                    .map(|&id| &*s.strata_labels.names[id as usize])
            })
            .collect();
        out.push(list_array(&lengths, Arc::new(StringViewArray::from(v)))?);
    }
    for (k, cov) in call.covariates.iter().enumerate() {
        match cov {
            Covariate::Numeric { .. } | Covariate::Boolean { .. } => {
                out.push(f64_list(states, &|s| s.num.get_mut(k))?);
            }
            Covariate::Factor { .. } | Covariate::Cluster { .. } | Covariate::Strata { .. } => {
                let v: Vec<&str> = states
                    .iter()
                    .flat_map(|s| {
                        s.fac
                            .get(k)
                            .map_or(&[][..], |c| c.as_slice())
                            .iter()
                            .map(move |&id| &*s.fac_labels[k].names[id as usize])
                    })
                    .collect();
                out.push(list_array(&lengths, Arc::new(StringViewArray::from(v)))?);
            }
        }
    }
    if call.has_options {
        let empty = vec![0usize; states.len()];
        out.push(list_array(
            &empty,
            Arc::new(StringViewArray::from(Vec::<&str>::new())),
        )?);
    }
    Ok(out)
}

pub(super) fn merge(
    call: &ModelOps,
    states: &mut [ModelRows],
    values: &[ArrayRef],
    groups: &[usize],
) -> Result<()> {
    let lists: Vec<_> = values.iter().map(|v| v.as_list::<i32>()).collect();
    let mut c = 0;
    let stop_l = lists[c];
    c += 1;
    let start_l = if call.counting() {
        c += 1;
        Some(lists[c - 1])
    } else {
        None
    };
    let event_l = lists[c];
    c += 1;
    let weight_l = if call.weighted() {
        c += 1;
        Some(lists[c - 1])
    } else {
        None
    };
    let strata_l = if call.kind.stratified() {
        c += 1;
        Some(lists[c - 1])
    } else {
        None
    };
    let cov_l = &lists[c..c + call.covariates.len()];
    let stop_v = stop_l.values().as_primitive::<Float64Type>();
    let start_v = start_l.map(|l| l.values().as_primitive::<Float64Type>().clone());
    let fine_gray = call.kind == ModelKind::FineGray;
    let status_v = fine_gray.then(|| event_l.values().as_primitive::<UInt32Type>().clone());
    let event_v = (!fine_gray).then(|| event_l.values().as_boolean().clone());
    let weight_v = weight_l.map(|l| l.values().as_primitive::<Float64Type>().clone());
    let strata_v = strata_l.map(|l| l.values().as_string_view().clone());
    for (row, &g) in groups.iter().enumerate() {
        if stop_l.is_null(row) {
            continue;
        }
        let st = &mut states[g];
        st.ensure(call);
        let (a, b) = (
            stop_l.offsets()[row] as usize,
            stop_l.offsets()[row + 1] as usize,
        );
        // The numeric columns of many rows stay in the received arrays until read
        // (PendingRows); fewer are copied, whole slices (one allocation per column and
        // state, not a growth per row).
        let numeric_slice = |j: usize| {
            let l = cov_l[j];
            let (a, b) = (l.offsets()[row] as usize, l.offsets()[row + 1] as usize);
            match call.covariates[j] {
                Covariate::Numeric { .. } | Covariate::Boolean { .. } => {
                    Some(l.values().as_primitive::<Float64Type>().slice(a, b - a))
                }
                Covariate::Factor { .. } | Covariate::Cluster { .. } | Covariate::Strata { .. } => {
                    None
                }
            }
        };
        let pending = b - a >= PENDING_MIN_ROWS;
        if pending {
            let columns = [
                Some(stop_v.slice(a, b - a)),
                start_v.as_ref().map(|s| s.slice(a, b - a)),
                weight_v.as_ref().map(|w| w.slice(a, b - a)),
            ]
            .into_iter()
            .chain((0..call.covariates.len()).map(numeric_slice))
            .collect::<Vec<_>>();
            st.pending_rows += b - a;
            st.pending_bytes += (b - a) * 8 * columns.iter().flatten().count();
            st.pending.push(PendingRows {
                rows: b - a,
                columns,
            });
        } else {
            st.settle();
            st.stop.extend_from_slice(&stop_v.values()[a..b]);
            if let Some(s) = &start_v {
                st.start.extend_from_slice(&s.values()[a..b]);
            }
            if let Some(w) = &weight_v {
                st.weight.extend_from_slice(&w.values()[a..b]);
            }
        }
        match (&event_v, &status_v) {
            (Some(e), _) => {
                st.event.reserve(b - a);
                st.event.extend((a..b).map(|k| e.value(k)));
            }
            (None, Some(s)) => st.status.extend_from_slice(&s.values()[a..b]),
            (None, None) => {}
        }
        if let Some(s) = &strata_v {
            st.strata.reserve(b - a);
            for k in a..b {
                let id = st.strata_labels.id(s.value(k));
                st.strata.push(id);
            }
        }
        for (j, cov) in call.covariates.iter().enumerate() {
            let l = cov_l[j];
            let (a, b) = (l.offsets()[row] as usize, l.offsets()[row + 1] as usize);
            match cov {
                Covariate::Numeric { .. } | Covariate::Boolean { .. } => {
                    if !pending {
                        let v = l.values().as_primitive::<Float64Type>();
                        st.num[j].extend_from_slice(&v.values()[a..b]);
                    }
                }
                Covariate::Factor { .. } | Covariate::Cluster { .. } | Covariate::Strata { .. } => {
                    let v = l.values().as_string_view();
                    st.fac[j].reserve(b - a);
                    for k in a..b {
                        let id = st.fac_labels[j].id(v.value(k));
                        st.fac[j].push(id);
                    }
                }
            }
        }
    }
    check_levels(call, states, groups)
}

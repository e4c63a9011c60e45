//! The data of a fit prepared once for its likelihood passes (R's `coxfit6`/`agfit4`
//! set-up): rows sorted by stop time within strata, near-ties merged, covariates centred and
//! scaled, runs of equal times.

use super::*;

/// Fits of at least this many rows sort, gather and compute risk weights on every core
/// (below it the threads' start-up costs more than they save). The SQL functions prepare
/// the model data of as large a group on every core too.
pub const PARALLEL_ROWS: usize = 1 << 16;
/// Rows per parallel task.
pub(super) const PARALLEL_CHUNK: usize = 1 << 14;

/// Internal: data prepared for the likelihood passes. Rows are permuted so that within each
/// stratum they run by decreasing stop time.
pub(super) struct Prepared<'a> {
    pub(super) n: usize,
    pub(super) p: usize,
    pub(super) x: PreparedCovariates<'a>,
    pub(super) stop: Vec<f64>,
    pub(super) start: Vec<f64>,
    pub(super) event: Vec<bool>,
    /// Case weight of each prepared row; empty without weights (every weight 1).
    pub(super) weights: Vec<f64>,
    /// The data row of each prepared row.
    pub(super) order: PreparedRows,
    /// Per stratum: range of prepared rows.
    pub(super) strata: Vec<(usize, usize)>,
    /// Per stratum, prepared rows sorted by decreasing start (counting process only).
    pub(super) by_start: Vec<Vec<usize>>,
    pub(super) counting: bool,
    /// Right-censored fits with few distinct times: the prepared rows of each distinct
    /// (stratum, stop), in order ([`time_runs`]); empty otherwise.
    pub(super) runs: Vec<(usize, usize)>,
    pub(super) means: Vec<f64>,
    pub(super) scale: Vec<f64>,
}

/// The likelihood passes sum each distinct time's rows on their own (on every core) when a
/// fit has at most one distinct (stratum, stop) per this many rows: then the per-time work
/// (p² numbers a time) is small beside the rows'.
pub(super) const RUN_ROWS_MIN: usize = 16;

/// The runs of prepared rows with equal (stratum, stop), in order, or none when there are
/// more than one per [`RUN_ROWS_MIN`] rows.
pub(super) fn time_runs(stop: &[f64], strata: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let most = stop.len() / RUN_ROWS_MIN;
    let mut runs = vec![];
    for &(lo, hi) in strata {
        let mut k = lo;
        while k < hi {
            let t = stop[k];
            let first = k;
            while k < hi && stop[k] == t {
                k += 1;
            }
            if runs.len() == most {
                return vec![];
            }
            runs.push((first, k));
        }
    }
    runs
}

/// The times of the data after R's `aeqSurv` (which `coxph` applies to `Surv(...)` before
/// anything else — the fit, the concordance, the residuals, `cox.zph`): times closer than
/// √ε × their scale are merged into one. Returns (stop, start); start is `None` for
/// right-censored data.
pub fn merged_times(data: &CoxData) -> (Vec<f64>, Option<Vec<f64>>) {
    // The SQL functions deliver right-censored rows by increasing stop: one stratum, or
    // strata one after the other, each in order. Then the distinct times are read off each
    // run in one pass and each row finds its representative by walking along them, where a
    // sort of all rows and a binary search per row would cost as much as a likelihood pass.
    if data.start.is_none() {
        let n = data.stop.len();
        if let Some(runs) = increasing_runs(&data.stop, n / 64 + 1) {
            return (merged_sorted_runs(&data.stop, &runs), None);
        }
    }
    let mut all: Vec<f64> = data.stop.clone();
    if let Some(s) = &data.start {
        all.extend(s.iter().copied().filter(|v| v.is_finite()));
    }
    // (Equal values are interchangeable: any sort gives the same list.)
    if all.len() < PARALLEL_ROWS {
        all.sort_unstable_by(f64::total_cmp);
    } else {
        all.par_sort_unstable_by(f64::total_cmp);
    }
    all.dedup();
    let reps = near_tie_representatives(&all);
    let fix = |t: f64| -> f64 {
        if !t.is_finite() {
            return t;
        }
        let i = all.partition_point(|&v| v < t);
        reps[i]
    };
    let stop = data.stop.iter().map(|&t| fix(t)).collect();
    let start = data
        .start
        .as_ref()
        .map(|s| s.iter().map(|&t| fix(t)).collect());
    (stop, start)
}

/// The runs of non-decreasing times (`f64::total_cmp`) that `times` is made of, as row
/// ranges `(start, end)` in order (one empty run for no rows). `None` when there are more
/// than `most` runs.
pub(super) fn increasing_runs(times: &[f64], most: usize) -> Option<Vec<(usize, usize)>> {
    let mut runs = vec![];
    let mut start = 0;
    for i in 1..times.len() {
        if times[i].total_cmp(&times[i - 1]).is_lt() {
            runs.push((start, i));
            start = i;
            if runs.len() == most {
                return None;
            }
        }
    }
    runs.push((start, times.len()));
    Some(runs)
}

/// [`merged_times`] of stop times made of runs in increasing order (`runs`, from
/// [`increasing_runs`]): the distinct times of each run, read off in one pass, then of all
/// runs (sorted and deduplicated as the general path's list); each run's rows walk along
/// them from the first not below the run's first time.
pub(super) fn merged_sorted_runs(stop: &[f64], runs: &[(usize, usize)]) -> Vec<f64> {
    let mut distinct: Vec<f64> = vec![];
    for &(a, b) in runs {
        let first = distinct.len();
        for &t in &stop[a..b] {
            if distinct.len() == first || distinct.last() != Some(&t) {
                distinct.push(t);
            }
        }
    }
    if runs.len() > 1 {
        // (Equal values are interchangeable: any sort gives the same list.)
        distinct.sort_unstable_by(f64::total_cmp);
        distinct.dedup();
    }
    let reps = near_tie_representatives(&distinct);
    let mut merged = Vec::with_capacity(stop.len());
    for &(a, b) in runs {
        // The first distinct time not below t, as the general path's partition_point.
        let mut at = stop
            .get(a)
            .map_or(0, |&t| distinct.partition_point(|&v| v < t));
        merged.extend(stop[a..b].iter().map(|&t| {
            while distinct[at] < t {
                at += 1;
            }
            if t.is_finite() {
                reps[at]
            } else {
                t
            }
        }));
    }
    merged
}

/// `x`'s bits as an unsigned integer that orders as `f64::total_cmp` orders the values (a
/// sort key that compares as one integer).
pub fn total_order_bits(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Sorts `rows` by `key(row)` (then by row): the keys are computed once and sorted together
/// with the rows, so the sort reads contiguous memory instead of following each row index
/// into several columns at every comparison.
pub(super) fn sort_rows_by_key<K: Ord + Copy + Send>(rows: &mut [usize], key: impl Fn(usize) -> K) {
    let mut keyed: Vec<(K, usize)> = rows.iter().map(|&r| (key(r), r)).collect();
    sort_unstable_any_size(&mut keyed);
    for (slot, (_, r)) in rows.iter_mut().zip(keyed) {
        *slot = r;
    }
}

/// Sorts `v` (whose elements are all distinct, so the result is the one order whatever the
/// algorithm) on every core when it is large.
pub(super) fn sort_unstable_any_size<T: Ord + Send>(v: &mut [T]) {
    if v.len() < PARALLEL_ROWS {
        v.sort_unstable();
    } else {
        v.par_sort_unstable();
    }
}

/// Row indices grouped by stratum (strata in increasing order, rows in data order within
/// each): one O(n log n) sort instead of one pass over all rows per stratum.
pub(super) fn rows_by_stratum(strata: &[u32]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..strata.len()).collect();
    order.sort_by_key(|&r| strata[r]);
    let mut out: Vec<Vec<usize>> = vec![];
    for (k, &r) in order.iter().enumerate() {
        if k == 0 || strata[r] != strata[order[k - 1]] {
            out.push(vec![]);
        }
        if let Some(last) = out.last_mut() {
            last.push(r);
        }
    }
    out
}

/// The covariates as the passes read them: centred and scaled as coxfit6,
/// `(x − mean) × scale`, in prepared order.
pub(super) enum PreparedCovariates<'a> {
    /// The data's own columns, read backwards (the rows [`PreparedRows::Reversed`], as the
    /// SQL functions deliver them): each value is centred where it is read, by the same
    /// expression as the copy's, so the same bits, without holding the n × p numbers twice.
    /// The passes read the p columns in p sequential sweeps.
    Columns(&'a [Vec<f64>]),
    /// A row-major centred copy in prepared order (rows in another order: the gather is
    /// paid once, and each pass reads the copy in one sweep).
    RowMajor(Vec<f64>),
    /// No longer read (after the Newton passes): the copy, if any, is freed.
    Released,
}

/// The covariates centred and scaled, `(x − mean) × scale`, row-major in prepared order:
/// p numbers per row, filled on every core for large fits.
pub(super) fn centred_rows(
    data: &CoxData,
    order: &PreparedRows,
    means: &[f64],
    scale: &[f64],
) -> Vec<f64> {
    let (n, p) = (data.n(), means.len());
    let mut x = vec![0.0; n * p];
    if p == 0 {
        return x;
    }
    let fill = |first: usize, block: &mut [f64]| {
        for (i, row_x) in block.chunks_exact_mut(p).enumerate() {
            let row = order.row(first + i);
            for (j, v) in row_x.iter_mut().enumerate() {
                *v = (data.x[j][row] - means[j]) * scale[j];
            }
        }
    };
    if n < PARALLEL_ROWS {
        fill(0, &mut x);
    } else {
        x.par_chunks_mut(PARALLEL_CHUNK * p)
            .enumerate()
            .for_each(|(c, block)| fill(c * PARALLEL_CHUNK, block));
    }
    x
}

/// The data row of each prepared row ([`prepared_order`]).
pub(super) enum PreparedRows {
    /// The data rows backwards: prepared row k is data row n − 1 − k (no n-long index, and
    /// the passes read the data's columns in one sweep).
    Reversed(usize),
    /// `order[k]` is the data row of prepared row k.
    Sorted(Vec<usize>),
}

impl PreparedRows {
    /// The data row of prepared row `k`.
    #[inline]
    pub(super) fn row(&self, k: usize) -> usize {
        match self {
            PreparedRows::Reversed(n) => n - 1 - k,
            PreparedRows::Sorted(order) => order[k],
        }
    }

    /// `v` (a column in data order) in prepared order, in place when the rows are reversed.
    pub(super) fn take<T: Copy>(&self, mut v: Vec<T>) -> Vec<T> {
        match self {
            PreparedRows::Reversed(_) => {
                v.reverse();
                v
            }
            PreparedRows::Sorted(_) => self.gather(&v),
        }
    }

    /// A copy of `v` (a column in data order) in prepared order.
    pub(super) fn gather<T: Copy>(&self, v: &[T]) -> Vec<T> {
        match self {
            PreparedRows::Reversed(_) => v.iter().rev().copied().collect(),
            PreparedRows::Sorted(order) => order.iter().map(|&r| v[r]).collect(),
        }
    }
}

/// The order of the prepared rows: stratum and stop (`stop_fixed`, the merged times)
/// decreasing, censorings before deaths at the same time (as R's concordance sweep reads
/// them). The data rows backwards when they come in increasing (stratum, stop), deaths
/// first at each time, as the SQL functions deliver them; other data are sorted (then by
/// row).
pub(super) fn prepared_order(data: &CoxData, stop_fixed: &[f64]) -> PreparedRows {
    let n = data.n();
    let key = |r: usize| {
        (
            data.strata[r],
            total_order_bits(stop_fixed[r]),
            !data.event[r],
        )
    };
    if (1..n).all(|i| key(i - 1) <= key(i)) {
        return PreparedRows::Reversed(n);
    }
    let mut order: Vec<usize> = (0..n).collect();
    sort_rows_by_key(&mut order, |r| {
        let (stratum, stop, censored) = key(r);
        (!stratum, !stop, !censored)
    });
    PreparedRows::Sorted(order)
}

impl<'a> Prepared<'a> {
    pub(super) fn new(data: &'a CoxData) -> Prepared<'a> {
        Prepared::build(data, true)
    }

    /// The sorted outcome alone (no covariates): what the concordance reads.
    pub(super) fn outcome(data: &'a CoxData) -> Prepared<'a> {
        Prepared::build(data, false)
    }

    pub(super) fn build(data: &'a CoxData, with_covariates: bool) -> Prepared<'a> {
        let n = data.n();
        let p = if with_covariates { data.nvar() } else { 0 };
        let (stop_fixed, start_fixed) = merged_times(data);
        let order = prepared_order(data, &stop_fixed);
        // Centring and scaling as coxfit6 (doscale = not all values in {-1, 0, 1}), with
        // weighted means and mean absolute deviations.
        let total_weight: f64 = (0..n).map(|i| data.weight(i)).sum();
        // (mean, scale) of column j; the columns are independent, so large fits take them
        // on every core.
        let centring = |j: usize| -> (f64, f64) {
            let col = &data.x[j];
            let zero_one = col.iter().all(|&v| v == 0.0 || v == 1.0 || v == -1.0);
            if zero_one || n == 0 || total_weight <= 0.0 {
                return (0.0, 1.0);
            }
            let m = (0..n).map(|i| data.weight(i) * col[i]).sum::<f64>() / total_weight;
            let mad = (0..n)
                .map(|i| data.weight(i) * (col[i] - m).abs())
                .sum::<f64>();
            (m, if mad > 0.0 { total_weight / mad } else { 1.0 })
        };
        let (means, scale): (Vec<f64>, Vec<f64>) = if n < PARALLEL_ROWS {
            (0..p).map(centring).unzip()
        } else {
            (0..p).into_par_iter().map(centring).unzip()
        };
        let x = match &order {
            PreparedRows::Reversed(_) => PreparedCovariates::Columns(&data.x[..p]),
            PreparedRows::Sorted(_) => {
                PreparedCovariates::RowMajor(centred_rows(data, &order, &means, &scale))
            }
        };
        let stop = order.take(stop_fixed);
        // Start times are read only for counting-process data.
        let start = start_fixed.map(|s| order.take(s)).unwrap_or_default();
        let event = order.gather(&data.event);
        let weights = data
            .weights
            .as_ref()
            .map(|w| order.gather(w))
            .unwrap_or_default();
        let mut strata = vec![];
        let mut k = 0;
        while k < n {
            let s = data.strata[order.row(k)];
            let mut e = k;
            while e < n && data.strata[order.row(e)] == s {
                e += 1;
            }
            strata.push((k, e));
            k = e;
        }
        let counting = data.start.is_some();
        let runs = if with_covariates && !counting {
            time_runs(&stop, &strata)
        } else {
            vec![]
        };
        let by_start = if counting {
            strata
                .iter()
                .map(|&(a, b)| {
                    let mut v: Vec<usize> = (a..b).collect();
                    v.sort_by(|&i, &j| start[j].total_cmp(&start[i]));
                    v
                })
                .collect()
        } else {
            vec![]
        };
        Prepared {
            n,
            p,
            x,
            stop,
            start,
            event,
            weights,
            order,
            strata,
            by_start,
            counting,
            runs,
            means,
            scale,
        }
    }

    /// Prepared row `k`'s covariates, centred and scaled as coxfit6 (`(x − mean) × scale`):
    /// the copy's row, or the row centred into `buf` (p numbers).
    #[inline]
    pub(super) fn row<'s>(&'s self, k: usize, buf: &'s mut [f64]) -> &'s [f64] {
        match &self.x {
            PreparedCovariates::RowMajor(x) => &x[k * self.p..(k + 1) * self.p],
            PreparedCovariates::Released => unreachable!("covariates read after release"),
            PreparedCovariates::Columns(columns) => {
                let r = self.order.row(k);
                for (((v, column), m), s) in buf
                    .iter_mut()
                    .zip(*columns)
                    .zip(&self.means)
                    .zip(&self.scale)
                {
                    *v = (column[r] - m) * s;
                }
                buf
            }
        }
    }

    /// Prepared row `k`'s linear predictor η = x·β on the prepared scale (one expression
    /// wherever it is needed, so that its bits are the same).
    #[inline]
    pub(super) fn linear_predictor(&self, k: usize, beta: &[f64]) -> f64 {
        match &self.x {
            PreparedCovariates::RowMajor(_) => self
                .row(k, &mut [])
                .iter()
                .zip(beta)
                .map(|(x, b)| x * b)
                .sum(),
            PreparedCovariates::Released => unreachable!("covariates read after release"),
            PreparedCovariates::Columns(columns) => {
                let r = self.order.row(k);
                columns
                    .iter()
                    .zip(&self.means)
                    .zip(&self.scale)
                    .zip(beta)
                    .map(|(((column, m), s), b)| ((column[r] - m) * s) * b)
                    .sum()
            }
        }
    }

    /// Frees the covariates' copy, if the rows needed one.
    pub(super) fn release_covariates(&mut self) {
        self.x = PreparedCovariates::Released;
    }

    /// Frees the prepared times and events, once the concordance's rows by score carry
    /// what they read of them (the weights, order and strata stay).
    pub(super) fn release_outcome(&mut self) {
        self.stop = vec![];
        self.start = vec![];
        self.event = vec![];
    }

    /// The case weight of prepared row `k` (1 without weights).
    #[inline]
    pub(super) fn weight(&self, k: usize) -> f64 {
        if self.weights.is_empty() {
            1.0
        } else {
            self.weights[k]
        }
    }
}

//! Cox proportional hazards regression, as R's `coxph` (survival 3.5-3).
//!
//! * Newton-Raphson on the partial likelihood as `coxfit6` (right-censored) and `agfit4`
//!   (counting process): data sorted once by stop time within strata, one backward pass per
//!   iteration over running risk-set sums; Efron or Breslow ties; covariates centred and
//!   scaled (except those with values in {-1, 0, 1}, R's `nocenter`); step-halving when the
//!   log-likelihood falls; convergence when |1 - loglik_old / loglik_new| ≤ eps.
//! * Redundant (aliased) covariates: a pivot dropped by the generalised Cholesky
//!   (`cholesky2`) gives an NA coefficient with variance 0, as R.
//! * Monotone likelihood: R's check `|u V| > eps and > sqrt(eps)·|β|` after convergence.
//! * Tests as `summary.coxph`: likelihood ratio, Wald (b' V⁻¹ b), score (at β = 0).
//! * Robust (sandwich) variance D'D from the dfbeta residuals D = (score residuals) V.
//! * Concordance with its infinitesimal-jackknife standard error, as `concordancefit`.
//! * `cox.zph`: score test for time-varying coefficients with g(t) = KM, identity, rank or
//!   log transform of time.

use crate::distributions::{pchisq_upper, two_sided_normal_p, z_for_level};
use crate::km::{near_tie_representatives, KaplanMeier, TimeCounts};
use crate::linalg::{Cholesky, Matrix};
use rayon::prelude::*;

/// How tied event times enter the partial likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ties {
    Efron,
    Breslow,
    /// The exact partial likelihood (R's `ties = "exact"`, `coxexact`): at a time with d tied
    /// deaths the denominator sums the scores' products over every d-subset of the risk set
    /// (the conditional logistic likelihood). Right-censored data without weights.
    Exact,
}

impl Ties {
    pub fn name(self) -> &'static str {
        match self {
            Ties::Efron => "efron",
            Ties::Breslow => "breslow",
            Ties::Exact => "exact",
        }
    }
}

/// Fitting options (R's `coxph.control` and the `ties`, `robust` arguments).
#[derive(Debug, Clone, Copy)]
pub struct CoxOptions {
    pub ties: Ties,
    pub max_iter: usize,
    pub eps: f64,
    /// Tolerance of the Cholesky decomposition (R: eps^0.75).
    pub toler_chol: f64,
    pub robust: bool,
    pub conf_level: f64,
    /// SAS PHREG's relative gradient criterion instead of R's: stop at the first iterate
    /// where g' I⁻¹ g / (|loglik| + 1e-6) < `gconv` (PHREG's default GCONV=1E-8). R's rule
    /// (`eps`) takes one more Newton step, so SAS's printed estimates differ in their last
    /// digits (PHUSE CAMIS, "R vs SAS", reason 3).
    pub gconv: Option<f64>,
    /// Compute the concordance (R's `fit$concordance`, O(n log n) but a sizeable share of a
    /// large fit). Off for the fits that do not report it (predicted curves, `cox.zph`):
    /// `concordance` is then [`Concordance::NOT_COMPUTED`].
    pub concordance: bool,
}

impl Default for CoxOptions {
    fn default() -> Self {
        CoxOptions {
            ties: Ties::Efron,
            max_iter: 20,
            eps: 1e-9,
            toler_chol: f64::EPSILON.powf(0.75),
            robust: false,
            conf_level: 0.95,
            gconv: None,
            concordance: true,
        }
    }
}

/// The data of a Cox model: one row per subject (or per interval, for counting-process data).
#[derive(Debug, Clone, Default)]
pub struct CoxData {
    /// Start of each interval (counting process), `None` for right-censored data.
    pub start: Option<Vec<f64>>,
    /// Event or censoring time (end of the interval).
    pub stop: Vec<f64>,
    pub event: Vec<bool>,
    /// Stratum of each row (0 when unstratified).
    pub strata: Vec<u32>,
    /// Covariate columns, each of length n.
    pub x: Vec<Vec<f64>>,
    /// Case weights (R's `weights =`), finite and ≥ 0; `None` for weight 1 everywhere. They
    /// weight each row's terms of the partial likelihood, its risk-set sums and the
    /// concordance pairs as `coxfit6`/`agfit4`/`concordance3` do.
    pub weights: Option<Vec<f64>>,
    /// Cluster of each row (R's `cluster(id)`): the robust variance and the concordance's
    /// standard error sum the rows' dfbeta residuals within clusters. `None`: each row its
    /// own cluster.
    pub cluster: Option<Vec<u32>>,
}

impl CoxData {
    pub fn n(&self) -> usize {
        self.stop.len()
    }

    pub fn nvar(&self) -> usize {
        self.x.len()
    }

    /// The weight of row `i` (1 without weights).
    #[inline]
    pub fn weight(&self, i: usize) -> f64 {
        self.weights.as_ref().map_or(1.0, |w| w[i])
    }

    /// Whether some weight is not a whole number: R's `coxph` then defaults to the robust
    /// variance (`has.rwt`).
    pub fn has_fractional_weights(&self) -> bool {
        self.weights
            .as_ref()
            .is_some_and(|w| w.iter().any(|v| v.fract() != 0.0))
    }
}

/// Harrell's concordance of the fitted risk score, as `coxph`'s `fit$concordance`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Concordance {
    pub concordance: Option<f64>,
    pub std_err: Option<f64>,
    pub concordant: f64,
    pub discordant: f64,
    pub tied_x: f64,
    pub tied_y: f64,
    pub tied_xy: f64,
}

impl Concordance {
    /// No concordance: not computed, or nothing to compare.
    pub const NOT_COMPUTED: Concordance = Concordance {
        concordance: None,
        std_err: None,
        concordant: 0.0,
        discordant: 0.0,
        tied_x: 0.0,
        tied_y: 0.0,
        tied_xy: 0.0,
    };
}

/// A test statistic with its degrees of freedom and p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChisqStat {
    pub statistic: Option<f64>,
    pub df: usize,
    pub p_value: Option<f64>,
}

impl ChisqStat {
    fn new(statistic: Option<f64>, df: usize) -> ChisqStat {
        ChisqStat {
            statistic,
            df,
            p_value: statistic.map(|s| pchisq_upper(s, df as f64)),
        }
    }
}

/// One coefficient row of `summary(coxph)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CoxTerm {
    pub coef: Option<f64>,
    pub exp_coef: Option<f64>,
    /// Model-based standard error (0 for an aliased coefficient, as R).
    pub se: Option<f64>,
    pub robust_se: Option<f64>,
    /// z and p use the robust SE when it was requested.
    pub z: Option<f64>,
    pub p_value: Option<f64>,
    /// Confidence interval of exp(coef).
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A fitted Cox model.
#[derive(Debug, Clone)]
pub struct CoxFit {
    pub n: usize,
    pub events: usize,
    pub ties: Ties,
    pub iterations: usize,
    pub converged: bool,
    /// What R warns about besides infinite coefficients (non-convergence, no events).
    pub warning: Option<String>,
    /// Coefficients R flags as possibly infinite ("Loglik converged before variable ...;
    /// coefficient may be infinite"): monotone likelihood.
    pub infinite: Vec<usize>,
    /// Coefficients; `None` for aliased (redundant) covariates.
    pub coef: Vec<Option<f64>>,
    /// Model-based variance (inverse information), rows/cols of aliased terms zero.
    pub var: Matrix,
    /// Robust (sandwich) variance, when requested.
    pub robust_var: Option<Matrix>,
    pub loglik_null: f64,
    pub loglik: f64,
    pub lr_test: ChisqStat,
    pub wald_test: ChisqStat,
    pub score_test: ChisqStat,
    pub concordance: Concordance,
    pub terms: Vec<CoxTerm>,
    /// Linear predictor of each row (data order), centred as R's `fit$linear.predictors`.
    pub linear_predictors: Vec<f64>,
    /// Covariate means used for centring (0 for {-1, 0, 1} covariates).
    pub means: Vec<f64>,
}

/// Fits of at least this many rows sort, gather and compute risk weights on every core
/// (below it the threads' start-up costs more than they save). The SQL functions prepare
/// the model data of as large a group on every core too.
pub const PARALLEL_ROWS: usize = 1 << 16;
/// Rows per parallel task.
const PARALLEL_CHUNK: usize = 1 << 14;

/// Internal: data prepared for the likelihood passes. Rows are permuted so that within each
/// stratum they run by decreasing stop time.
struct Prepared<'a> {
    n: usize,
    p: usize,
    x: PreparedCovariates<'a>,
    stop: Vec<f64>,
    start: Vec<f64>,
    event: Vec<bool>,
    /// Case weight of each prepared row; empty without weights (every weight 1).
    weights: Vec<f64>,
    /// The data row of each prepared row.
    order: PreparedRows,
    /// Per stratum: range of prepared rows.
    strata: Vec<(usize, usize)>,
    /// Per stratum, prepared rows sorted by decreasing start (counting process only).
    by_start: Vec<Vec<usize>>,
    counting: bool,
    /// Right-censored fits with few distinct times: the prepared rows of each distinct
    /// (stratum, stop), in order ([`time_runs`]); empty otherwise.
    runs: Vec<(usize, usize)>,
    means: Vec<f64>,
    scale: Vec<f64>,
}

/// The likelihood passes sum each distinct time's rows on their own (on every core) when a
/// fit has at most one distinct (stratum, stop) per this many rows: then the per-time work
/// (p² numbers a time) is small beside the rows'.
const RUN_ROWS_MIN: usize = 16;

/// The runs of prepared rows with equal (stratum, stop), in order, or none when there are
/// more than one per [`RUN_ROWS_MIN`] rows.
fn time_runs(stop: &[f64], strata: &[(usize, usize)]) -> Vec<(usize, usize)> {
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
fn increasing_runs(times: &[f64], most: usize) -> Option<Vec<(usize, usize)>> {
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
fn merged_sorted_runs(stop: &[f64], runs: &[(usize, usize)]) -> Vec<f64> {
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
fn sort_rows_by_key<K: Ord + Copy + Send>(rows: &mut [usize], key: impl Fn(usize) -> K) {
    let mut keyed: Vec<(K, usize)> = rows.iter().map(|&r| (key(r), r)).collect();
    sort_unstable_any_size(&mut keyed);
    for (slot, (_, r)) in rows.iter_mut().zip(keyed) {
        *slot = r;
    }
}

/// Sorts `v` (whose elements are all distinct, so the result is the one order whatever the
/// algorithm) on every core when it is large.
fn sort_unstable_any_size<T: Ord + Send>(v: &mut [T]) {
    if v.len() < PARALLEL_ROWS {
        v.sort_unstable();
    } else {
        v.par_sort_unstable();
    }
}

/// Row indices grouped by stratum (strata in increasing order, rows in data order within
/// each): one O(n log n) sort instead of one pass over all rows per stratum.
fn rows_by_stratum(strata: &[u32]) -> Vec<Vec<usize>> {
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
enum PreparedCovariates<'a> {
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
fn centred_rows(data: &CoxData, order: &PreparedRows, means: &[f64], scale: &[f64]) -> Vec<f64> {
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
enum PreparedRows {
    /// The data rows backwards: prepared row k is data row n − 1 − k (no n-long index, and
    /// the passes read the data's columns in one sweep).
    Reversed(usize),
    /// `order[k]` is the data row of prepared row k.
    Sorted(Vec<usize>),
}

impl PreparedRows {
    /// The data row of prepared row `k`.
    #[inline]
    fn row(&self, k: usize) -> usize {
        match self {
            PreparedRows::Reversed(n) => n - 1 - k,
            PreparedRows::Sorted(order) => order[k],
        }
    }

    /// `v` (a column in data order) in prepared order, in place when the rows are reversed.
    fn take<T: Copy>(&self, mut v: Vec<T>) -> Vec<T> {
        match self {
            PreparedRows::Reversed(_) => {
                v.reverse();
                v
            }
            PreparedRows::Sorted(_) => self.gather(&v),
        }
    }

    /// A copy of `v` (a column in data order) in prepared order.
    fn gather<T: Copy>(&self, v: &[T]) -> Vec<T> {
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
fn prepared_order(data: &CoxData, stop_fixed: &[f64]) -> PreparedRows {
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
    fn new(data: &'a CoxData) -> Prepared<'a> {
        Prepared::build(data, true)
    }

    /// The sorted outcome alone (no covariates): what the concordance reads.
    fn outcome(data: &'a CoxData) -> Prepared<'a> {
        Prepared::build(data, false)
    }

    fn build(data: &'a CoxData, with_covariates: bool) -> Prepared<'a> {
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
    fn row<'s>(&'s self, k: usize, buf: &'s mut [f64]) -> &'s [f64] {
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
    fn linear_predictor(&self, k: usize, beta: &[f64]) -> f64 {
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
    fn release_covariates(&mut self) {
        self.x = PreparedCovariates::Released;
    }

    /// Frees the prepared times and events, once the concordance's rows by score carry
    /// what they read of them (the weights, order and strata stay).
    fn release_outcome(&mut self) {
        self.stop = vec![];
        self.start = vec![];
        self.event = vec![];
    }

    /// The case weight of prepared row `k` (1 without weights).
    #[inline]
    fn weight(&self, k: usize) -> f64 {
        if self.weights.is_empty() {
            1.0
        } else {
            self.weights[k]
        }
    }
}

/// Log partial likelihood, score and information at `beta` (on the prepared scale).
struct Pass {
    loglik: f64,
    u: Vec<f64>,
    imat: Matrix,
}

/// Running sums over a risk set: Σ r, Σ r x, Σ r x x' (lower triangle).
struct RiskSums {
    denom: f64,
    a: Vec<f64>,
    cmat: Vec<f64>,
}

impl RiskSums {
    fn new(p: usize) -> RiskSums {
        RiskSums {
            denom: 0.0,
            a: vec![0.0; p],
            cmat: vec![0.0; p * p],
        }
    }

    fn clear(&mut self) {
        self.denom = 0.0;
        self.a.iter_mut().for_each(|v| *v = 0.0);
        self.cmat.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Adds a row with covariates `x` and risk weight `risk`. The likelihood passes spend
    /// most of their time here (p + p(p+1)/2 products per row), so models of up to 8
    /// coefficients get a copy compiled for their size, its loops unrolled without bounds
    /// checks; the arithmetic is the same, in the same order.
    #[inline]
    fn add(&mut self, x: &[f64], risk: f64) {
        match x.len() {
            1 => self.add_sized::<1>(x, risk),
            2 => self.add_sized::<2>(x, risk),
            3 => self.add_sized::<3>(x, risk),
            4 => self.add_sized::<4>(x, risk),
            5 => self.add_sized::<5>(x, risk),
            6 => self.add_sized::<6>(x, risk),
            7 => self.add_sized::<7>(x, risk),
            8 => self.add_sized::<8>(x, risk),
            _ => self.add_any(x, risk),
        }
    }

    #[inline(always)]
    fn add_sized<const P: usize>(&mut self, x: &[f64], risk: f64) {
        let (Ok(x), Some(a), Some(cmat)) = (
            <&[f64; P]>::try_from(x),
            self.a.first_chunk_mut::<P>(),
            self.cmat.get_mut(..P * P),
        ) else {
            return self.add_any(x, risk);
        };
        self.denom += risk;
        for i in 0..P {
            let rx = risk * x[i];
            a[i] += rx;
            for j in 0..=i {
                cmat[i * P + j] += rx * x[j];
            }
        }
    }

    /// Adds another set's sums (the lower triangle of `cmat`, the only part filled).
    fn add_sums(&mut self, other: &RiskSums) {
        let p = self.a.len();
        self.denom += other.denom;
        for (a, oa) in self.a.iter_mut().zip(&other.a) {
            *a += oa;
        }
        for i in 0..p {
            for j in 0..=i {
                self.cmat[i * p + j] += other.cmat[i * p + j];
            }
        }
    }

    fn add_any(&mut self, x: &[f64], risk: f64) {
        let p = x.len();
        self.denom += risk;
        for ((i, a), &xi) in self.a.iter_mut().enumerate().zip(x) {
            let rx = risk * xi;
            *a += rx;
            for (c, &xj) in self.cmat[i * p..i * p + i + 1].iter_mut().zip(x) {
                *c += rx * xj;
            }
        }
    }
}

/// The work of the exact partial likelihood: Σ over strata of (rows × most tied deaths ×
/// the p(p+3)/2 + 1 running sums); R's `coxexact` needs as much memory.
pub fn exact_ties_cost(data: &CoxData) -> f64 {
    let p = data.nvar() as f64;
    let mut cost = 0.0;
    for rows in rows_by_stratum(&data.strata) {
        let mut deaths: std::collections::HashMap<u64, usize> = Default::default();
        for &r in &rows {
            if data.event[r] {
                *deaths.entry(data.stop[r].to_bits()).or_insert(0) += 1;
            }
        }
        let most = deaths.values().copied().max().unwrap_or(0) as f64;
        cost += rows.len() as f64 * most * (p * (p + 3.0) / 2.0 + 1.0);
    }
    cost
}

/// The exact partial likelihood pass (`coxexact`): rows enter the risk set in decreasing time;
/// `b[k]` is the k-th elementary symmetric polynomial of the scores at risk, `b1`, `b2` its
/// first and second derivatives, updated in place as each row enters
/// (`B(k, n) = B(k, n−1) + r_n B(k−1, n−1)`, R's `coxd0`/`coxd1`/`coxd2` recursions, one
/// column kept instead of R's whole table). At a time with d deaths the likelihood gains
/// `Σ η_deaths − log B(d)`, the score `Σ x_deaths − B1(d)/B(d)` and the information
/// `B2(d)/B(d) − (B1/B)(B1/B)'`.
fn exact_pass(d: &Prepared, beta: &[f64]) -> Pass {
    let p = d.p;
    let mut row_buf = vec![0.0; p];
    let mut u = vec![0.0; p];
    let mut imat = Matrix::zeros(p);
    let mut loglik = 0.0;
    for &(lo, hi) in &d.strata {
        // Most tied deaths at a time in the stratum: the order of the polynomials kept.
        let mut most = 0;
        let mut k = lo;
        while k < hi {
            let t = d.stop[k];
            let mut deaths = 0;
            while k < hi && d.stop[k] == t {
                deaths += usize::from(d.event[k]);
                k += 1;
            }
            most = most.max(deaths);
        }
        if most == 0 {
            continue;
        }
        let mut b = vec![0.0; most + 1];
        b[0] = 1.0;
        let mut b1 = vec![0.0; (most + 1) * p];
        let mut b2 = vec![0.0; (most + 1) * p * p];
        let mut k = lo;
        while k < hi {
            let t = d.stop[k];
            let mut deaths = 0;
            while k < hi && d.stop[k] == t {
                let eta = d.linear_predictor(k, beta);
                let r = eta.exp();
                let x = d.row(k, &mut row_buf);
                // Descending order: each update reads the (k−1) polynomials before they change.
                for m in (1..=most).rev() {
                    let (prev, prev1) = (b[m - 1], m - 1);
                    for i in 0..p {
                        for j in 0..=i {
                            let v = r
                                * (x[i] * x[j] * prev
                                    + x[i] * b1[prev1 * p + j]
                                    + x[j] * b1[prev1 * p + i]
                                    + b2[(prev1 * p + i) * p + j]);
                            b2[(m * p + i) * p + j] += v;
                        }
                    }
                    for i in 0..p {
                        b1[m * p + i] += r * (x[i] * prev + b1[prev1 * p + i]);
                    }
                    b[m] += r * prev;
                }
                if d.event[k] {
                    deaths += 1;
                    loglik += eta;
                    for i in 0..p {
                        u[i] += x[i];
                    }
                }
                k += 1;
            }
            if deaths == 0 {
                continue;
            }
            let d0 = b[deaths];
            loglik -= d0.ln();
            let mean: Vec<f64> = (0..p).map(|i| b1[deaths * p + i] / d0).collect();
            for i in 0..p {
                u[i] -= mean[i];
                for j in 0..=i {
                    let v = b2[(deaths * p + i) * p + j] / d0 - mean[i] * mean[j];
                    imat.add(i, j, v);
                    if i != j {
                        imat.add(j, i, v);
                    }
                }
            }
        }
    }
    Pass { loglik, u, imat }
}

/// Each prepared row's risk weight `exp(η) w`, on every core for large fits (a row's number
/// is the same expression whichever thread computes it). η itself is not kept: the pass
/// needs it at deaths only and computes it again there (n fewer numbers to hold).
fn fill_risk(d: &Prepared, beta: &[f64], risk: &mut [f64]) {
    let fill = |first: usize, risk: &mut [f64]| {
        for (i, r) in risk.iter_mut().enumerate() {
            let k = first + i;
            *r = d.linear_predictor(k, beta).exp() * d.weight(k);
        }
    };
    if d.n < PARALLEL_ROWS {
        fill(0, risk);
    } else {
        risk.par_chunks_mut(PARALLEL_CHUNK)
            .enumerate()
            .for_each(|(c, risk)| fill(c * PARALLEL_CHUNK, risk));
    }
}

/// One backward pass over the prepared rows at `beta`: R's `coxfit6_iter` / `agfit4`
/// likelihood step. `risk` (n numbers) receives the rows' risk weights (`ties=exact` reads
/// none: it may be empty).
///
/// Right-censored fits with few distinct times ([`Prepared::runs`]) sum each time's rows
/// on their own, on every core for large fits ([`TimeRows`]), and then add the times' sums
/// to the risk set in order: each time's sums are those of its rows in prepared order
/// whichever thread takes it, so the numbers do not depend on the threads. Other fits
/// add row by row.
fn likelihood_pass(d: &Prepared, beta: &[f64], ties: Ties, risk: &mut [f64]) -> Pass {
    if ties == Ties::Exact {
        return exact_pass(d, beta);
    }
    let p = d.p;
    let mut at = DeathSums {
        ties,
        loglik: 0.0,
        u: vec![0.0; p],
        imat: Matrix::zeros(p),
    };
    fill_risk(d, beta, risk);
    let mut risk_set = RiskSums::new(p);
    if d.runs.is_empty() {
        rows_pass(d, beta, risk, &mut risk_set, &mut at);
    } else {
        runs_pass(d, beta, risk, &mut risk_set, &mut at);
    }
    let DeathSums {
        loglik,
        u,
        mut imat,
        ..
    } = at;
    for i in 0..p {
        for j in 0..i {
            let v = imat.get(j, i);
            imat.set(i, j, v);
        }
    }
    Pass { loglik, u, imat }
}

/// What a likelihood pass accumulates: the log partial likelihood, the score and (its upper
/// triangle) the information.
struct DeathSums {
    ties: Ties,
    loglik: f64,
    u: Vec<f64>,
    imat: Matrix,
}

impl DeathSums {
    /// A time with `ndead` deaths of total weight `deadwt` and sums `deaths`: they join the
    /// risk set (which holds everyone else at risk), and the likelihood, score and
    /// information take their terms (Breslow, or Efron's average over the tied deaths).
    fn add_deaths(
        &mut self,
        risk_set: &mut RiskSums,
        deaths: &RiskSums,
        ndead: usize,
        deadwt: f64,
    ) {
        let p = self.u.len();
        let (loglik, u, imat) = (&mut self.loglik, &mut self.u, &mut self.imat);
        let ties = self.ties;
        let nd = ndead as f64;
        if ties == Ties::Breslow || ndead == 1 {
            risk_set.add_sums(deaths);
            *loglik -= deadwt * risk_set.denom.ln();
            let denom = risk_set.denom;
            for i in 0..p {
                let mean_i = risk_set.a[i] / denom;
                u[i] -= deadwt * mean_i;
                for j in 0..=i {
                    let v = deadwt * (risk_set.cmat[i * p + j] - mean_i * risk_set.a[j]) / denom;
                    imat.add(j, i, v);
                }
            }
        } else {
            // Efron (R's coxfit6): the k-th of the ndead deaths, k = 0..ndead, sees the
            // full risk set less k/ndead of the deaths' sums, D_k = D − t_k Dd,
            // A_k = A − t_k Ad, C_k = C − t_k Cd with t_k = k/ndead, and adds
            //   u −= w A_k / D_k,   imat += w/D_k (C_k − A_k A_k' / D_k).
            // Summed over k these are
            //   u −= A s0 − Ad s1,
            //   imat += C s0 − Cd s1 − (A A' q0 − (A Ad' + Ad A') q1 + Ad Ad' q2),
            // with s_m = Σ w t_k^m / D_k and q_m = Σ w t_k^m / D_k²: scalar sums over the
            // deaths, then p² work once per time instead of once per death (4,000 tied
            // deaths per time in a large registry made that loop cost as much as the
            // pass over the rows).
            let wtave = deadwt / nd;
            risk_set.add_sums(deaths);
            let (mut s0, mut s1, mut q0, mut q1, mut q2) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for k in 0..ndead {
                let t = k as f64 / nd;
                let denom = risk_set.denom - t * deaths.denom;
                *loglik -= wtave * denom.ln();
                let w_d = wtave / denom;
                let w_d2 = w_d / denom;
                s0 += w_d;
                s1 += t * w_d;
                q0 += w_d2;
                q1 += t * w_d2;
                q2 += t * t * w_d2;
            }
            let (a, da) = (&risk_set.a, &deaths.a);
            for i in 0..p {
                u[i] -= a[i] * s0 - da[i] * s1;
                for j in 0..=i {
                    let c = risk_set.cmat[i * p + j] * s0 - deaths.cmat[i * p + j] * s1;
                    let aa =
                        a[i] * a[j] * q0 - (a[i] * da[j] + da[i] * a[j]) * q1 + da[i] * da[j] * q2;
                    imat.add(j, i, c - aa);
                }
            }
        }
    }
}

/// [`likelihood_pass`] row by row: each row joins the risk set as it is read (counting
/// process data leave it at their start), a time's deaths are kept apart until its end.
fn rows_pass(
    d: &Prepared,
    beta: &[f64],
    risk: &[f64],
    risk_set: &mut RiskSums,
    at: &mut DeathSums,
) {
    let p = d.p;
    let mut deaths = RiskSums::new(p);
    let mut row_buf = vec![0.0; p];
    for (s, &(lo, hi)) in d.strata.iter().enumerate() {
        risk_set.clear();
        let mut k = lo;
        let mut rem = 0usize; // position in by_start
        while k < hi {
            let t = d.stop[k];
            // Everyone with this stop time enters; the deaths among them are kept apart.
            deaths.clear();
            let (mut ndead, mut deadwt) = (0usize, 0.0);
            while k < hi && d.stop[k] == t {
                let w = d.weight(k);
                let r = risk[k];
                let x = d.row(k, &mut row_buf);
                if d.event[k] {
                    ndead += 1;
                    deadwt += w;
                    at.loglik += w * d.linear_predictor(k, beta);
                    for (ui, xi) in at.u.iter_mut().zip(x) {
                        *ui += w * xi;
                    }
                    deaths.add(x, r);
                } else {
                    risk_set.add(x, r);
                }
                k += 1;
            }
            if d.counting && ndead > 0 {
                // Leave the risk set: intervals starting at or after t.
                let starts = &d.by_start[s];
                while rem < starts.len() && d.start[starts[rem]] >= t {
                    let j = starts[rem];
                    // Only rows already entered (stop >= t) are in the sums; all are.
                    risk_set.add(d.row(j, &mut row_buf), -risk[j]);
                    rem += 1;
                }
            }
            if ndead > 0 {
                at.add_deaths(risk_set, &deaths, ndead, deadwt);
            }
        }
    }
}

/// The sums of one distinct time's rows: the censored rows' and the deaths' risk sums, the
/// deaths' count, weight, Σ w η and Σ w x.
struct TimeRows {
    censored: RiskSums,
    deaths: RiskSums,
    ndead: usize,
    deadwt: f64,
    loglik: f64,
    u: Vec<f64>,
    row_buf: Vec<f64>,
}

impl TimeRows {
    fn new(p: usize) -> TimeRows {
        TimeRows {
            censored: RiskSums::new(p),
            deaths: RiskSums::new(p),
            ndead: 0,
            deadwt: 0.0,
            loglik: 0.0,
            u: vec![0.0; p],
            row_buf: vec![0.0; p],
        }
    }

    /// Sums prepared rows `lo..hi` (one time), in order.
    fn fill(&mut self, d: &Prepared, beta: &[f64], risk: &[f64], (lo, hi): (usize, usize)) {
        self.censored.clear();
        self.deaths.clear();
        self.ndead = 0;
        self.deadwt = 0.0;
        self.loglik = 0.0;
        self.u.iter_mut().for_each(|v| *v = 0.0);
        for k in lo..hi {
            let w = d.weight(k);
            let x = d.row(k, &mut self.row_buf);
            if d.event[k] {
                self.ndead += 1;
                self.deadwt += w;
                self.loglik += w * d.linear_predictor(k, beta);
                for (ui, xi) in self.u.iter_mut().zip(x) {
                    *ui += w * xi;
                }
                self.deaths.add(x, risk[k]);
            } else {
                self.censored.add(x, risk[k]);
            }
        }
    }
}

/// Distinct times summed per round of [`runs_pass`] (their sums are held together:
/// ~(2p² + 3p) numbers each).
const ROUND_RUNS: usize = 1024;

/// [`likelihood_pass`] by distinct times ([`Prepared::runs`], right-censored data): a round
/// of times is summed (on every core for large fits), then the times join the risk set in
/// order.
fn runs_pass(
    d: &Prepared,
    beta: &[f64],
    risk: &[f64],
    risk_set: &mut RiskSums,
    at: &mut DeathSums,
) {
    let p = d.p;
    let parallel = d.n >= PARALLEL_ROWS;
    let mut round: Vec<TimeRows> = (0..ROUND_RUNS.min(d.runs.len()))
        .map(|_| TimeRows::new(p))
        .collect();
    for &(lo, hi) in &d.strata {
        risk_set.clear();
        let first = d.runs.partition_point(|r| r.0 < lo);
        let last = d.runs.partition_point(|r| r.0 < hi);
        for runs in d.runs[first..last].chunks(ROUND_RUNS) {
            let sums = &mut round[..runs.len()];
            let fill =
                |(time, &run): (&mut TimeRows, &(usize, usize))| time.fill(d, beta, risk, run);
            if parallel {
                sums.par_iter_mut().zip(runs).for_each(fill);
            } else {
                sums.iter_mut().zip(runs).for_each(fill);
            }
            for time in sums.iter() {
                risk_set.add_sums(&time.censored);
                if time.ndead == 0 {
                    continue;
                }
                at.loglik += time.loglik;
                for (ui, ti) in at.u.iter_mut().zip(&time.u) {
                    *ui += ti;
                }
                at.add_deaths(risk_set, &time.deaths, time.ndead, time.deadwt);
            }
        }
    }
}

/// Continues `coxfit6`'s Newton-Raphson from `beta` (log-likelihood `loglik`) to R's rule,
/// |1 − l_old/l_new| ≤ eps, and returns the point where it stops (the last good one if it
/// does not within `max_iter` more iterations) with its pass.
fn iterate_to_r_rule(
    d: &Prepared,
    beta: &[f64],
    loglik: f64,
    opts: &CoxOptions,
    risk: &mut [f64],
) -> (Vec<f64>, Pass) {
    let p = beta.len();
    let mut beta = beta.to_vec();
    let mut best_loglik = loglik;
    let mut last = likelihood_pass(d, &beta, opts.ties, risk);
    let step = Cholesky::new(&last.imat, opts.toler_chol).solve(&last.u);
    let mut newbeta: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
    let mut halving = 0.0;
    for _ in 0..opts.max_iter {
        let pass = likelihood_pass(d, &newbeta, opts.ties, risk);
        let notfinite = !pass.loglik.is_finite()
            || pass.u.iter().any(|v| !v.is_finite())
            || pass.imat.data.iter().any(|v| !v.is_finite());
        if !notfinite && (1.0 - best_loglik / pass.loglik).abs() <= opts.eps {
            return (newbeta, pass);
        }
        if notfinite || pass.loglik < best_loglik {
            halving += 1.0;
            for i in 0..p {
                newbeta[i] = (newbeta[i] + halving * beta[i]) / (halving + 1.0);
            }
        } else {
            halving = 0.0;
            best_loglik = pass.loglik;
            let step = Cholesky::new(&pass.imat, opts.toler_chol).solve(&pass.u);
            beta.copy_from_slice(&newbeta);
            for (nb, s) in newbeta.iter_mut().zip(&step) {
                *nb += s;
            }
            last = pass;
        }
    }
    (beta, last)
}

/// Fits `coxph(Surv([start,] stop, event) ~ x + strata(s), ties = ..., robust = ...)`.
pub fn cox_fit(data: &CoxData, opts: &CoxOptions) -> CoxFit {
    let n = data.n();
    let p = data.nvar();
    let events = data.event.iter().filter(|&&e| e).count();
    let z = z_for_level(opts.conf_level);
    if events == 0 || p == 0 {
        // R's special case: no events, no fit.
        let means = data
            .x
            .iter()
            .map(|c| c.iter().sum::<f64>() / n.max(1) as f64)
            .collect();
        return CoxFit {
            n,
            events,
            ties: opts.ties,
            iterations: 0,
            converged: true,
            warning: (events == 0).then(|| "no events: the model cannot be fitted".to_owned()),
            infinite: vec![],
            coef: vec![None; p],
            var: Matrix::zeros(p),
            robust_var: None,
            loglik_null: 0.0,
            loglik: 0.0,
            lr_test: ChisqStat::new(Some(0.0), 0),
            wald_test: ChisqStat::new(Some(0.0), 0),
            score_test: ChisqStat::new(Some(0.0), 0),
            concordance: Concordance::NOT_COMPUTED,
            terms: vec![
                CoxTerm {
                    coef: None,
                    exp_coef: None,
                    se: Some(0.0),
                    robust_se: None,
                    z: None,
                    p_value: None,
                    lower: None,
                    upper: None,
                };
                p
            ],
            linear_predictors: vec![0.0; n],
            means,
        };
    }
    let mut d = Prepared::new(data);
    let mut risk = if opts.ties == Ties::Exact {
        vec![]
    } else {
        vec![0.0; n]
    };
    let mut beta = vec![0.0; p];

    // Iteration 0: the null model, the score test.
    let pass = likelihood_pass(&d, &beta, opts.ties, &mut risk);
    let loglik_null = pass.loglik;
    let chol = Cholesky::new(&pass.imat, opts.toler_chol);
    let step = chol.solve(&pass.u);
    let score = pass.u.iter().zip(&step).map(|(a, b)| a * b).sum::<f64>();
    let mut best_loglik = loglik_null;
    let mut newbeta: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
    let mut halving = 0.0;
    let mut iterations = 0;
    let mut converged = false;
    let mut last = pass;
    let mut last_chol = chol;
    for iter in 1..=opts.max_iter {
        iterations = iter;
        let pass = likelihood_pass(&d, &newbeta, opts.ties, &mut risk);
        let chol = Cholesky::new(&pass.imat, opts.toler_chol);
        let notfinite = !pass.loglik.is_finite()
            || pass.u.iter().any(|v| !v.is_finite())
            || pass.imat.data.iter().any(|v| !v.is_finite());
        let done = match opts.gconv {
            Some(gconv) if !notfinite && pass.loglik >= best_loglik => {
                let step = chol.solve(&pass.u);
                let g: f64 = pass.u.iter().zip(&step).map(|(a, b)| a * b).sum();
                g / (pass.loglik.abs() + 1e-6) < gconv
            }
            Some(_) => false,
            None => !notfinite && (1.0 - best_loglik / pass.loglik).abs() <= opts.eps,
        };
        if done {
            beta = newbeta.clone();
            best_loglik = pass.loglik;
            last = pass;
            last_chol = chol;
            converged = true;
            break;
        }
        if notfinite || pass.loglik < best_loglik {
            // Not converging: step halving, more aggressive each time.
            halving += 1.0;
            for i in 0..p {
                newbeta[i] = (newbeta[i] + halving * beta[i]) / (halving + 1.0);
            }
        } else {
            halving = 0.0;
            best_loglik = pass.loglik;
            let step = chol.solve(&pass.u);
            beta.copy_from_slice(&newbeta);
            for (nb, s) in newbeta.iter_mut().zip(&step) {
                *nb += s;
            }
            last = pass;
            last_chol = chol;
        }
    }
    if !converged {
        // Recompute at the last good beta, as coxfit6.
        let pass = likelihood_pass(&d, &beta, opts.ties, &mut risk);
        best_loglik = pass.loglik;
        last_chol = Cholesky::new(&pass.imat, opts.toler_chol);
        last = pass;
    }
    let loglik = best_loglik;
    // R's test for infinite coefficients asks whether one more Newton step would still move
    // a coefficient. PHREG's GCONV rule stops earlier than R's, where that step is not yet
    // negligible on a finite, well-determined fit: make the test where R's rule would have
    // stopped, reached by iterating on from the reported estimate (the estimate itself is
    // PHREG's).
    let r_rule = if converged && opts.gconv.is_some() && opts.max_iter > 1 {
        Some(iterate_to_r_rule(&d, &beta, best_loglik, opts, &mut risk))
    } else {
        None
    };
    // The rest reads neither the risk weights nor the covariates' copy (n × p numbers, when
    // the rows needed one): freed before the linear predictors and the concordance allocate
    // theirs.
    drop(risk);
    d.release_covariates();
    // Back to the original scale.
    let inv = last_chol.inverse();
    let mut var = Matrix::zeros(p);
    for i in 0..p {
        for j in 0..p {
            var.set(i, j, inv.get(i, j) * d.scale[i] * d.scale[j]);
        }
    }
    let coef_all: Vec<f64> = (0..p).map(|i| beta[i] * d.scale[i]).collect();
    let u: Vec<f64> = (0..p).map(|i| last.u[i] / d.scale[i]).collect();
    let singular: Vec<bool> = (0..p)
        .map(|i| last_chol.rank < p && var.get(i, i) == 0.0)
        .collect();

    let mut warning = None;
    let mut infinite = vec![];
    if !converged {
        warning = Some(format!(
            "did not converge in {} iterations (relative loglik change > {})",
            opts.max_iter, opts.eps
        ));
    } else if opts.max_iter > 1 {
        let toler_inf = opts.eps.sqrt();
        // At R's stopping point (the estimate itself under R's rule).
        let (u, var, coef_all) = match &r_rule {
            Some((beta_r, pass_r)) => {
                let inv = Cholesky::new(&pass_r.imat, opts.toler_chol).inverse();
                let mut var_r = Matrix::zeros(p);
                for i in 0..p {
                    for j in 0..p {
                        var_r.set(i, j, inv.get(i, j) * d.scale[i] * d.scale[j]);
                    }
                }
                let u_r: Vec<f64> = (0..p).map(|i| pass_r.u[i] / d.scale[i]).collect();
                let coef_r: Vec<f64> = (0..p).map(|i| beta_r[i] * d.scale[i]).collect();
                (u_r, var_r, coef_r)
            }
            None => (u.clone(), var.clone(), coef_all.clone()),
        };
        infinite = (0..p)
            .filter(|&j| {
                let v: f64 = (0..p).map(|i| u[i] * var.get(i, j)).sum::<f64>().abs();
                !u[j].is_finite() || (v > opts.eps && v > toler_inf * coef_all[j].abs())
            })
            .collect();
    }

    // Linear predictors as R: X b - sum(b * means), aliased coefficients at 0. (Data row
    // r's; the concordance computes them as it reads them, and the n-long vector is
    // allocated after it, where it does not add to the concordance's memory.)
    let center: f64 = (0..p).map(|j| coef_all[j] * d.means[j]).sum();
    let lp_of = |r: usize| (0..p).map(|j| data.x[j][r] * coef_all[j]).sum::<f64>() - center;
    let coef: Vec<Option<f64>> = (0..p)
        .map(|i| (!singular[i]).then_some(coef_all[i]))
        .collect();
    let kept: Vec<usize> = (0..p).filter(|&i| !singular[i]).collect();
    let df = kept.len();

    let robust_var = opts.robust.then(|| {
        let resid = score_residuals(&d, &coef_all, opts.ties, data);
        // dfbeta = resid %*% var (residuals(fit, type = "dfbeta", weighted = TRUE): each row
        // times its weight), summed within clusters (collapse = cluster); robust var =
        // t(dfbeta) %*% dfbeta.
        let clusters = data
            .cluster
            .as_ref()
            .map_or(n, |c| c.iter().map(|&k| k as usize + 1).max().unwrap_or(0));
        let mut dfb = vec![0.0; clusters * p];
        for r in 0..n {
            let w = data.weight(r);
            let k = data.cluster.as_ref().map_or(r, |c| c[r] as usize);
            for j in 0..p {
                dfb[k * p + j] += w
                    * (0..p)
                        .map(|i| resid[r * p + i] * var.get(i, j))
                        .sum::<f64>();
            }
        }
        let mut rv = Matrix::zeros(p);
        for k in 0..clusters {
            let row = &dfb[k * p..(k + 1) * p];
            for i in 0..p {
                for j in 0..p {
                    rv.add(i, j, row[i] * row[j]);
                }
            }
        }
        rv
    });
    let used_var = robust_var.as_ref().unwrap_or(&var);
    let wald = if df == 0 {
        None
    } else {
        let vv = used_var.select(&kept);
        let b: Vec<f64> = kept.iter().map(|&i| coef_all[i]).collect();
        let sol = Cholesky::new(&vv, opts.toler_chol).solve(&b);
        Some(sol.iter().zip(&b).map(|(a, b)| a * b).sum())
    };
    let terms = (0..p)
        .map(|i| {
            if singular[i] {
                return CoxTerm {
                    coef: None,
                    exp_coef: None,
                    se: Some(0.0),
                    robust_se: robust_var.as_ref().map(|_| 0.0),
                    z: None,
                    p_value: None,
                    lower: None,
                    upper: None,
                };
            }
            let b = coef_all[i];
            let se = var.get(i, i).sqrt();
            let rse = robust_var.as_ref().map(|v| v.get(i, i).sqrt());
            let s = rse.unwrap_or(se);
            let zval = b / s;
            CoxTerm {
                coef: Some(b),
                exp_coef: Some(b.exp()),
                se: Some(se),
                robust_se: rse,
                z: Some(zval),
                p_value: Some(two_sided_normal_p(zval)),
                lower: Some((b - z * s).exp()),
                upper: Some((b + z * s).exp()),
            }
        })
        .collect();
    let means = d.means.clone();
    let concordance = if opts.concordance {
        concordance_sorted(d, &lp_of, data.cluster.as_deref())
    } else {
        Concordance::NOT_COMPUTED
    };
    let lp: Vec<f64> = if n < PARALLEL_ROWS {
        (0..n).map(lp_of).collect()
    } else {
        (0..n).into_par_iter().map(lp_of).collect()
    };
    CoxFit {
        n,
        events,
        ties: opts.ties,
        iterations,
        converged,
        warning,
        infinite,
        coef,
        var,
        robust_var,
        loglik_null,
        loglik,
        lr_test: ChisqStat::new(Some(2.0 * (loglik - loglik_null)), df),
        wald_test: ChisqStat::new(wald, df),
        score_test: ChisqStat::new(Some(score), df),
        concordance,
        terms,
        linear_predictors: lp,
        means,
    }
}

/// What the score residual of a death at one event time adds for its own death (the rest of
/// its residual is the hazard it was at risk for): per covariate, a function of the death's
/// x and risk score r = exp(η).
enum DeathTerms {
    /// Breslow (or a single death): (x − x̄) − (x − x̄) r haz.
    Breslow { xbar: Vec<f64>, haz: f64 },
    /// Efron's steps summed: x − mean − r (x haz_kept − mean_haz_kept) ([`score_residuals`]).
    Efron {
        mean: Vec<f64>,
        haz_kept: f64,
        mean_haz_kept: Vec<f64>,
    },
}

/// Score residuals at `beta` (original scale), row-major n × p in data order, as R's
/// `residuals(fit, type = "score")` (`coxscore2` / `agscore`), computed in O(n p) with
/// cumulative hazard sums instead of R's O(n²) loop.
fn score_residuals(d: &Prepared, beta: &[f64], ties: Ties, data: &CoxData) -> Vec<f64> {
    let (n, p) = (d.n, d.p);
    // Unscaled, uncentred covariates in prepared order.
    let xrow = |k: usize, j: usize| data.x[j][d.order.row(k)];
    let eta: Vec<f64> = (0..n)
        .map(|k| (0..p).map(|j| xrow(k, j) * beta[j]).sum())
        .collect();
    let score: Vec<f64> = eta.iter().map(|e| e.exp()).collect();
    let mut resid = vec![0.0; n * p];
    for (s, &(lo, hi)) in d.strata.iter().enumerate() {
        // Event times of the stratum in decreasing order, with the risk-set sums at each.
        // For each event time: hazard increments h and h·xbar (Σ over Efron steps) for the
        // subjects at risk that are not among its deaths, and what its deaths' own terms
        // are made of.
        struct EventTime {
            t: f64,
            h: f64,
            hx: Vec<f64>,
            deaths: DeathTerms,
        }
        let mut times: Vec<EventTime> = vec![];
        let mut denom = 0.0;
        let mut a = vec![0.0; p];
        let mut k = lo;
        let mut rem = 0usize;
        while k < hi {
            let t = d.stop[k];
            let (mut e_denom, mut a2) = (0.0, vec![0.0; p]);
            let mut dead = vec![];
            // Σ weights of the deaths (coxscore2's meanwt before it is averaged).
            let mut deadwt = 0.0;
            while k < hi && d.stop[k] == t {
                let r = score[k] * d.weight(k);
                denom += r;
                for j in 0..p {
                    a[j] += r * xrow(k, j);
                }
                if d.event[k] {
                    e_denom += r;
                    deadwt += d.weight(k);
                    for j in 0..p {
                        a2[j] += r * xrow(k, j);
                    }
                    dead.push(k);
                }
                k += 1;
            }
            if d.counting && !dead.is_empty() {
                let starts = &d.by_start[s];
                while rem < starts.len() && d.start[starts[rem]] >= t {
                    let j = starts[rem];
                    let r = score[j] * d.weight(j);
                    denom -= r;
                    for c in 0..p {
                        a[c] -= r * xrow(j, c);
                    }
                    rem += 1;
                }
            }
            if dead.is_empty() {
                continue;
            }
            let nd = dead.len() as f64;
            let mut h = 0.0;
            let mut hx = vec![0.0; p];
            let deaths = if ties == Ties::Breslow || dead.len() == 1 {
                let haz = deadwt / denom;
                h += haz;
                let xbar: Vec<f64> = a.iter().map(|a| a / denom).collect();
                for j in 0..p {
                    hx[j] += haz * xbar[j];
                }
                DeathTerms::Breslow { xbar, haz }
            } else {
                // Death k's term, Σ over the Efron steps dd of
                // (x_k − mean_dd)/nd − (x_k − mean_dd) r_k haz_dd (1 − dd/nd), is
                // x_k − Σ mean_dd/nd
                //     − r_k (x_k Σ haz_dd (1 − dd/nd) − Σ mean_dd haz_dd (1 − dd/nd)):
                // three sums over the steps, not a loop over the deaths in each step.
                let mut mean_sum = vec![0.0; p];
                let mut haz_kept = 0.0;
                let mut mean_haz_kept = vec![0.0; p];
                for dd in 0..dead.len() {
                    let downwt = dd as f64 / nd;
                    let temp = denom - downwt * e_denom;
                    let haz = deadwt / nd / temp; // the deaths' mean weight
                    h += haz;
                    haz_kept += haz * (1.0 - downwt);
                    for j in 0..p {
                        let mean = (a[j] - downwt * a2[j]) / temp;
                        hx[j] += haz * mean;
                        mean_sum[j] += mean;
                        mean_haz_kept[j] += mean * haz * (1.0 - downwt);
                    }
                }
                DeathTerms::Efron {
                    mean: mean_sum.iter().map(|m| m / nd).collect(),
                    haz_kept,
                    mean_haz_kept,
                }
            };
            times.push(EventTime { t, h, hx, deaths });
        }
        // Forward in time: cumulative H and Σ h xbar over event times < t.
        times.reverse();
        let mut cum_h = vec![0.0; times.len() + 1];
        let mut cum_hx = vec![vec![0.0; p]; times.len() + 1];
        for (i, et) in times.iter().enumerate() {
            cum_h[i + 1] = cum_h[i] + et.h;
            for j in 0..p {
                cum_hx[i + 1][j] = cum_hx[i][j] + et.hx[j];
            }
        }
        let event_times: Vec<f64> = times.iter().map(|e| e.t).collect();
        // Contribution of event times in (start, stop) plus, for non-deaths, the event at stop.
        for k in lo..hi {
            let t = d.stop[k];
            let st = if d.counting {
                d.start[k]
            } else {
                f64::NEG_INFINITY
            };
            let lo_idx = if d.counting {
                event_times.partition_point(|&v| v <= st)
            } else {
                0
            };
            let before = event_times.partition_point(|&v| v < t); // events strictly before t
            let at_t = before < event_times.len() && event_times[before] == t;
            let is_dead = d.event[k];
            let hi_idx = if at_t && !is_dead { before + 1 } else { before };
            let row = d.order.row(k);
            for j in 0..p {
                let h = cum_h[hi_idx] - cum_h[lo_idx.min(hi_idx)];
                let hx = cum_hx[hi_idx][j] - cum_hx[lo_idx.min(hi_idx)][j];
                resid[row * p + j] = -score[k] * (xrow(k, j) * h - hx);
            }
            if is_dead && at_t {
                for j in 0..p {
                    let x = xrow(k, j);
                    resid[row * p + j] += match &times[before].deaths {
                        DeathTerms::Breslow { xbar, haz } => {
                            (x - xbar[j]) - (x - xbar[j]) * score[k] * haz
                        }
                        DeathTerms::Efron {
                            mean,
                            haz_kept,
                            mean_haz_kept,
                        } => x - mean[j] - score[k] * (x * haz_kept - mean_haz_kept[j]),
                    };
                }
            }
        }
    }
    resid
}

/// Which of the two trees of [`RankTrees`]: everyone at risk, or the deaths.
const AT_RISK: usize = 0;
const DEAD: usize = 1;

/// Two trees of weights over the ranks of the risk score — of everyone at risk and of the
/// deaths — answering "weight with a smaller, equal, larger score" as R's `walkup`.
///
/// With millions of distinct scores the concordance's queries land at random ranks, and a
/// binary (Fenwick) tree makes each one a chain of ~24 scattered reads, most of them cache
/// misses. These are `F`-ary trees stored level by level, both trees' values side by side,
/// each group of `F` nodes in one cache line: on the bottom level the ranks' own weights; on
/// each level above, node i covers group i of the level below and holds the weight under
/// its own group's nodes up to and including itself. A prefix sum adds a rank's left
/// siblings in its line and then reads one value per level; an update adds to the rest of
/// one line per level. Every line a rank needs is known in advance, so the concordance
/// prefetches the lines of the rows it will reach next ([`RankTrees::prefetch`]).
///
/// Weights are `f64` (4 nodes a line) or, when every weight is a whole number and their sum
/// fits, `u32` (8 nodes a line): half the memory and one level fewer, and since sums of
/// whole numbers below 2⁵³ are exact in `f64`, the same answers to the bit.
struct RankTrees<C: TreeWeight, const F: usize> {
    /// Rank r's weights (one per tree) are `leaves[r / F].0[r % F]`.
    leaves: Vec<RankLine<C, F>>,
    /// `levels[l]`: node i is `levels[l][i / F].0[i % F]`; level 0 has a node per line of
    /// `leaves`, level l + 1 a node per line of level l.
    levels: Vec<Vec<RankLine<C, F>>>,
}

/// A weight the concordance's trees hold.
trait TreeWeight: Copy + Default {
    fn from_f64(w: f64) -> Self;
    fn plus(self, other: Self) -> Self;
    fn minus(self, other: Self) -> Self;
    fn to_f64(self) -> f64;
}

impl TreeWeight for f64 {
    #[inline(always)]
    fn from_f64(w: f64) -> f64 {
        w
    }
    #[inline(always)]
    fn plus(self, other: f64) -> f64 {
        self + other
    }
    #[inline(always)]
    fn minus(self, other: f64) -> f64 {
        self - other
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
}

/// Whole weights whose sum is below 2³²: arithmetic modulo 2³², so that taking a row out
/// (adding its negative weight) wraps back to the exact count; every true count is ≥ 0.
impl TreeWeight for u32 {
    #[inline(always)]
    fn from_f64(w: f64) -> u32 {
        w as i64 as u32
    }
    #[inline(always)]
    fn plus(self, other: u32) -> u32 {
        self.wrapping_add(other)
    }
    #[inline(always)]
    fn minus(self, other: u32) -> u32 {
        self.wrapping_sub(other)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

/// A group of `F` nodes of both trees: one cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct RankLine<C: TreeWeight, const F: usize>([[C; 2]; F]);

impl<C: TreeWeight, const F: usize> Default for RankLine<C, F> {
    fn default() -> Self {
        RankLine([[C::default(); 2]; F])
    }
}

impl<C: TreeWeight, const F: usize> RankTrees<C, F> {
    fn new(ranks: usize) -> Self {
        let lines = ranks.max(1).div_ceil(F);
        let mut levels = vec![];
        let mut nodes = lines;
        while nodes > 1 {
            nodes = nodes.div_ceil(F);
            levels.push(vec![RankLine::default(); nodes]);
        }
        RankTrees {
            leaves: vec![RankLine::default(); lines],
            levels,
        }
    }

    fn add(&mut self, tree: usize, rank: usize, w: C) {
        let leaf = &mut self.leaves[rank / F].0[rank % F][tree];
        *leaf = leaf.plus(w);
        let mut node = rank / F;
        for level in &mut self.levels {
            for v in &mut level[node / F].0[node % F..] {
                v[tree] = v[tree].plus(w);
            }
            node /= F;
        }
    }

    /// Tree `tree`'s weight (with rank < `rank`, at `rank`).
    fn less_equal(&self, tree: usize, rank: usize) -> (C, C) {
        let line = &self.leaves[rank / F].0;
        let mut less = line[..rank % F]
            .iter()
            .fold(C::default(), |s, v| s.plus(v[tree]));
        let mut node = rank / F;
        for level in &self.levels {
            if !node.is_multiple_of(F) {
                less = less.plus(level[node / F].0[node % F - 1][tree]);
            }
            node /= F;
        }
        (less, line[rank % F][tree])
    }

    /// [`Self::less_equal`] in tree `query`, then `w` added at `rank` in the other tree, in
    /// one walk up the levels (the concordance always does the two together).
    fn less_equal_then_add(&mut self, query: usize, rank: usize, w: C) -> (C, C) {
        let add = 1 - query;
        let line = &mut self.leaves[rank / F].0;
        let slot = rank % F;
        let mut less = line[..slot]
            .iter()
            .fold(C::default(), |s, v| s.plus(v[query]));
        let equal = line[slot][query];
        line[slot][add] = line[slot][add].plus(w);
        let mut node = rank / F;
        for level in &mut self.levels {
            let line = &mut level[node / F].0;
            let slot = node % F;
            if slot != 0 {
                less = less.plus(line[slot - 1][query]);
            }
            for v in &mut line[slot..] {
                v[add] = v[add].plus(w);
            }
            node /= F;
        }
        (less, equal)
    }

    /// Asks the processor to bring the lines of `rank` on the three lowest levels into
    /// cache (those above stay there), so that the query and update of a row reached a few
    /// rows later do not wait on memory.
    #[inline]
    fn prefetch(&self, rank: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let mut line = rank / F;
            let lowest = std::iter::once(&self.leaves).chain(self.levels.iter().take(2));
            for level in lowest {
                // SAFETY: a prefetch is a hint with no architectural effect; it never
                // faults, whatever the address (`wrapping_add` makes no reference).
                unsafe { _mm_prefetch::<_MM_HINT_T0>(level.as_ptr().wrapping_add(line).cast()) };
                line /= F;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = rank;
    }
}

/// The ranks `lo..hi` of a stratum in their own [`RankTrees`], and the running totals of
/// both trees over all ranks (`total`) and below `lo` (`below`), which every part of a sweep
/// keeps for the rows of the other parts too ([`Self::note_add`]): then a part answers R's
/// `walkup` for its own ranks alone. One part over all ranks is the plain sweep; two parts,
/// each on its own thread, halve the tree work of a large stratum. With whole weights every
/// sum is exact (u32), so the split gives the same numbers as one part.
struct RankPart<C: TreeWeight, const F: usize> {
    trees: RankTrees<C, F>,
    lo: usize,
    hi: usize,
    below: [C; 2],
    total: [C; 2],
}

impl<C: TreeWeight, const F: usize> RankPart<C, F> {
    fn new(lo: usize, hi: usize) -> Self {
        RankPart {
            trees: RankTrees::new(hi - lo),
            lo,
            hi,
            below: [C::default(); 2],
            total: [C::default(); 2],
        }
    }

    #[inline]
    fn owns(&self, rank: usize) -> bool {
        (self.lo..self.hi).contains(&rank)
    }

    /// (weight with larger score, smaller score, equal score) in tree `tree` from a
    /// (smaller, equal) in this part's trees.
    fn answer(&self, tree: usize, (less, equal): (C, C)) -> [f64; 3] {
        let less = self.below[tree].plus(less);
        let more = self.total[tree].minus(less).minus(equal);
        [more.to_f64(), less.to_f64(), equal.to_f64()]
    }

    /// R's `walkup` at an owned rank.
    fn walkup(&self, tree: usize, rank: usize) -> [f64; 3] {
        self.answer(tree, self.trees.less_equal(tree, rank - self.lo))
    }

    /// Adds `w` at an owned rank.
    fn add(&mut self, tree: usize, rank: usize, w: f64) {
        let w = C::from_f64(w);
        self.trees.add(tree, rank - self.lo, w);
        self.total[tree] = self.total[tree].plus(w);
    }

    /// [`Self::walkup`] in tree `query`, then `w` added in the other tree, at an owned rank.
    fn walkup_and_add(&mut self, query: usize, rank: usize, w: f64) -> [f64; 3] {
        let add = 1 - query;
        let w = C::from_f64(w);
        let found = self.trees.less_equal_then_add(query, rank - self.lo, w);
        let answer = self.answer(query, found);
        self.total[add] = self.total[add].plus(w);
        answer
    }

    /// Another part's row adds `w` at `rank`: only the totals change here.
    fn note_add(&mut self, tree: usize, rank: usize, w: f64) {
        let w = C::from_f64(w);
        self.total[tree] = self.total[tree].plus(w);
        if rank < self.lo {
            self.below[tree] = self.below[tree].plus(w);
        }
    }

    fn prefetch(&self, rank: usize) {
        if self.owns(rank) {
            self.trees.prefetch(rank - self.lo);
        }
    }
}

/// A row's influence on the concordance: R's `imat` row (its weight in pairs where it has
/// the larger score, the smaller, tied on score), or only what its dfbeta reads.
trait Influence: Copy + Default + Send + Sync {
    /// Adds `m` (larger, smaller, tied).
    fn add(&mut self, m: &[f64; 3]);
    /// (larger − smaller, larger + smaller + tied): the row's dfbeta is
    /// `w (a / npair − somer / npair × b)`.
    fn dfbeta_parts(&self) -> (f64, f64);
}

impl Influence for [f64; 3] {
    #[inline]
    fn add(&mut self, m: &[f64; 3]) {
        for j in 0..3 {
            self[j] += m[j];
        }
    }

    #[inline]
    fn dfbeta_parts(&self) -> (f64, f64) {
        (self[0] - self[1], self[0] + self[1] + self[2])
    }
}

/// The concordance's influence rows of a stratum, shared by the parts of a split sweep.
/// Every write to row k comes from a tree operation at row k's rank, done by the one part
/// that owns that rank, so no row is written by two threads.
struct InfluenceRows<'a, R = [f64; 3]> {
    rows: *mut R,
    len: usize,
    _borrow: std::marker::PhantomData<&'a mut [R]>,
}

// SAFETY: see the type's comment: the parts write disjoint rows.
unsafe impl<R: Send> Send for InfluenceRows<'_, R> {}
// SAFETY: as above.
unsafe impl<R: Send> Sync for InfluenceRows<'_, R> {}

impl<'a, R> InfluenceRows<'a, R> {
    fn new(rows: &'a mut [R]) -> Self {
        InfluenceRows {
            rows: rows.as_mut_ptr(),
            len: rows.len(),
            _borrow: std::marker::PhantomData,
        }
    }

    /// Row `k`.
    ///
    /// # Safety
    /// The caller's part owns row `k`'s rank (no other thread touches row `k`), and holds
    /// the returned reference only for the update of the row.
    #[allow(clippy::mut_from_ref)]
    unsafe fn row(&self, k: usize) -> &mut R {
        assert!(k < self.len, "influence row {k} of {}", self.len);
        // SAFETY: in bounds (checked); exclusive by the caller's contract.
        unsafe { &mut *self.rows.add(k) }
    }
}

/// Concordance of `lp` with the outcome, as `concordancefit(y, lp, strata, weights,
/// reverse = TRUE)` (`concordance3`/`concordance4` with timewt "n"): weighted counts of
/// concordant, discordant and tied pairs (a pair counts w_i w_j), and the
/// infinitesimal-jackknife standard error.
///
/// The times are those of the fit, near-ties merged as `aeqSurv` ([`merged_times`]).
pub fn concordance(data: &CoxData, lp: &[f64]) -> Concordance {
    concordance_sorted(Prepared::outcome(data), &|r| lp[r], data.cluster.as_deref())
}

/// [`concordance`] over rows already sorted for the fit: `lp(r)` is data row r's linear
/// predictor, `cluster` in data order. Takes the prepared rows to free what it no longer
/// reads before it allocates its own n-long rows.
fn concordance_sorted<S: Fn(usize) -> f64 + Sync>(
    mut d: Prepared,
    lp: &S,
    cluster: Option<&[u32]>,
) -> Concordance {
    let n = d.n;
    let mut count = [0.0; 5];
    // Whole weights (none, or frequency weights) whose sum fits in 32 bits are counted in
    // u32 trees (see RankTrees).
    let whole = if d.weights.is_empty() {
        n as f64 <= f64::from(u32::MAX)
    } else {
        d.weights.iter().all(|w| w.fract() == 0.0)
            && d.weights.iter().sum::<f64>() <= f64::from(u32::MAX)
    };
    // Large strata with whole weights are swept by two threads (exact sums: the same
    // numbers); fractional weights keep one sweep, whose sums' order fixes their bits.
    // Right-censored strata with few distinct times go by score over the time ranks.
    let how: Vec<Sweep> = d
        .strata
        .iter()
        .map(|&(lo, hi)| match whole {
            // (Its rows are numbered in 32 bits.)
            true if !d.counting
                && hi <= u32::MAX as usize
                && distinct_times(&d, lo, hi) <= TIME_RANKS_MAX =>
            {
                Sweep::ByTime
            }
            true => Sweep::TwoParts,
            false => Sweep::One,
        })
        .collect();
    // The sweeps by decreasing time read the scores in prepared order and a rank per row
    // (n numbers each, not allocated when every stratum goes by score over the time ranks).
    if how.iter().all(|&h| h == Sweep::ByTime) {
        // The rows by score of every stratum carry their time ranks and events: the
        // prepared times and events are freed, their marks kept, before the rows are
        // allocated.
        let marks = time_marks(&d, &d.strata);
        d.release_outcome();
        let mut rows = by_score_rows_marked(&d, lp, &d.strata, &marks);
        drop(marks);
        let weights = WholeWeights {
            weights: &d.weights,
        };
        // Each row's influence comes whole from one step of the sweep and is kept in the
        // row itself (no n-long influence rows beside them). The standard error sums them
        // in that order, stratum by stratum and by (score, prepared row) within: an order
        // fixed by the values, as the prepared order is. (Putting the rows back in prepared
        // order first cost a second: a random swap per row.)
        for &(lo, hi) in &d.strata {
            concordance_by_time(&mut rows[lo..hi], weights, &mut count);
        }
        let influence = rows
            .iter()
            .map(|r| (r.row as usize, r.influence().dfbeta_parts()));
        return concordance_result(&d, influence, count, cluster);
    }
    let d = &d;
    let mut imat = zeroed_on_every_core::<[f64; 3]>(n);
    let score: Vec<f64> = (0..n).map(|k| lp(d.order.row(k))).collect();
    let mut ranks = vec![0usize; n];
    for (s, (&(lo, hi), &how)) in d.strata.iter().zip(&how).enumerate() {
        let by_start = if d.counting { &d.by_start[s][..] } else { &[] };
        let stratum = StratumRows { lo, hi, by_start };
        let (c, m) = (&mut count, &mut imat);
        match how {
            Sweep::ByTime => {
                let mut rows = by_score_rows(d, lp, &[(lo, hi)]);
                let weights = WholeWeights {
                    weights: &d.weights,
                };
                concordance_by_time(&mut rows, weights, c);
                for r in &rows {
                    m[r.row as usize].add(&r.influence());
                }
            }
            Sweep::TwoParts => {
                concordance_stratum::<u32, 8>(d, &score, &stratum, &mut ranks, c, m, how)
            }
            Sweep::One => concordance_stratum::<f64, 4>(d, &score, &stratum, &mut ranks, c, m, how),
        }
    }
    let influence = imat.iter().enumerate().map(|(k, m)| (k, m.dfbeta_parts()));
    concordance_result(d, influence, count, cluster)
}

/// The concordance from the sweeps' counts and the rows' influence: `influence` gives each
/// prepared row k once, with its [`Influence::dfbeta_parts`], in the order the standard
/// error sums them.
fn concordance_result(
    d: &Prepared,
    influence: impl Iterator<Item = (usize, (f64, f64))>,
    mut count: [f64; 5],
    cluster: Option<&[u32]>,
) -> Concordance {
    count[3] -= count[4];
    let npair = count[0] + count[1] + count[2];
    if npair == 0.0 {
        return Concordance {
            concordance: None,
            std_err: None,
            concordant: count[1],
            discordant: count[0],
            tied_x: count[2],
            tied_y: count[3],
            tied_xy: count[4],
        };
    }
    let somer = (count[0] - count[1]) / npair;
    let dfbeta = influence.map(|(k, (a, b))| (k, d.weight(k) * (a / npair - (somer / npair) * b)));
    let var: f64 = match cluster {
        None => dfbeta.map(|(_, d)| d * d).sum::<f64>() / 4.0,
        // concordancefit(cluster =): dfbeta summed within clusters.
        Some(cluster) => {
            let k = cluster.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
            let mut sums = vec![0.0; k];
            for (k, dfb) in dfbeta {
                sums[cluster[d.order.row(k)] as usize] += dfb;
            }
            sums.iter().map(|d| d * d).sum::<f64>() / 4.0
        }
    };
    // reverse = TRUE: flip concordant and discordant.
    Concordance {
        concordance: Some(1.0 - (somer + 1.0) / 2.0),
        std_err: Some(var.sqrt()),
        concordant: count[1],
        discordant: count[0],
        tied_x: count[2],
        tied_y: count[3],
        tied_xy: count[4],
    }
}

/// `n` default values (zeros), written on every core when `n` is large: the first write to
/// fresh memory is its page fault, which on some machines costs more than the work that
/// follows.
fn zeroed_on_every_core<T: Default + Send>(n: usize) -> Vec<T> {
    if n < PARALLEL_ROWS {
        (0..n).map(|_| T::default()).collect()
    } else {
        (0..n).into_par_iter().map(|_| T::default()).collect()
    }
}

/// One stratum's prepared rows `lo..hi`, and (counting process) the same rows by
/// decreasing start.
struct StratumRows<'a> {
    lo: usize,
    hi: usize,
    by_start: &'a [usize],
}

/// One stratum of the concordance. `lp` is in prepared order; prepared rows run by
/// decreasing time with censorings before deaths, and R's order(-y, status, risk) only adds
/// the score within each run of equal time and status: short sorts of nearby rows.
fn concordance_stratum<C: TreeWeight + Send + Sync, const F: usize>(
    d: &Prepared,
    lp: &[f64],
    stratum: &StratumRows,
    ranks: &mut [usize],
    count: &mut [f64; 5],
    imat: &mut [[f64; 3]],
    how: Sweep,
) {
    let StratumRows { lo, hi, .. } = *stratum;
    // Rank of each row's score among the distinct scores of the stratum, computed once
    // (only this stratum's entries of `ranks` are written and read).
    // (+ 0.0 makes -0.0 and 0.0 one score, as `==` does.)
    let mut by_score: Vec<(u64, usize)> = (lo..hi)
        .map(|k| (total_order_bits(lp[k] + 0.0), k))
        .collect();
    sort_unstable_any_size(&mut by_score);
    let mut m = 0;
    for (i, &(bits, k)) in by_score.iter().enumerate() {
        if i > 0 && bits != by_score[i - 1].0 {
            m += 1;
        }
        ranks[k] = m;
    }
    drop(by_score);
    let m = if hi == lo { 0 } else { m + 1 };
    // The runs of equal (time, status), each sorted by score (on every core for a large
    // stratum: the runs are independent and each sort has one result, its keys distinct).
    let mut by_stop: Vec<usize> = (lo..hi).collect();
    let mut runs: Vec<&mut [usize]> = vec![];
    let mut rest = &mut by_stop[..];
    while let Some(&first) = rest.first() {
        let len = rest
            .iter()
            .position(|&k| d.stop[k] != d.stop[first] || d.event[k] != d.event[first])
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at_mut(len);
        runs.push(run);
        rest = tail;
    }
    let sort_run =
        |run: &mut &mut [usize]| run.sort_unstable_by_key(|&k| (total_order_bits(lp[k]), k));
    if hi - lo < PARALLEL_ROWS {
        runs.iter_mut().for_each(sort_run);
    } else {
        runs.par_iter_mut().for_each(sort_run);
    }
    drop(runs);
    let ranks = &*ranks;
    let rows = InfluenceRows::new(imat);
    let sweep = |part: RankPart<C, F>, count: [f64; 5]| {
        concordance_sweep(d, lp, stratum, &by_stop, ranks, part, &rows, count)
    };
    if how == Sweep::TwoParts && hi - lo >= PARALLEL_ROWS && m >= 2 {
        // Two parts on two threads: each does the tree work of half the ranks.
        let (a, b) = rayon::join(
            || sweep(RankPart::new(0, m / 2), *count),
            || sweep(RankPart::new(m / 2, m), [0.0; 5]),
        );
        // The pairs tied on time (count[3], count[4]) involve no tree: both parts counted
        // them; the others are each part's own pairs.
        *count = [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3], a[4]];
    } else {
        *count = sweep(RankPart::new(0, m), *count);
    }
}

/// Strata with at most this many distinct times take [`concordance_by_time`].
const TIME_RANKS_MAX: usize = 1 << 16;

/// How a stratum's concordance is counted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sweep {
    /// One sweep by decreasing time over trees of the score ranks (any weights).
    One,
    /// The same split between two threads when the stratum is large (whole weights).
    TwoParts,
    /// Rows by increasing score over trees of the time ranks (whole weights, no start
    /// times, at most `TIME_RANKS_MAX` distinct times): [`concordance_by_time`], not
    /// [`concordance_stratum`].
    ByTime,
}

/// The number of distinct (merged) times of prepared rows `lo..hi`.
fn distinct_times(d: &Prepared, lo: usize, hi: usize) -> usize {
    usize::from(hi > lo) + (lo + 1..hi).filter(|&k| d.stop[k] != d.stop[k - 1]).count()
}

/// The concordance of one right-censored stratum with whole weights (as the u32 sweep) and
/// few distinct times (at most [`TIME_RANKS_MAX`]), the same counts and influence as
/// [`concordance_sweep`] by the other dimension: rows are taken by increasing score, and
/// the weights already seen — of all rows and of the deaths — are kept in [`RankTrees`]
/// over the time ranks, which stay in cache, where trees over a million distinct scores
/// miss it on every level.
///
/// Time rank τ counts distinct times from the latest (τ = 0). A death i is compared with
/// R_i = the rows of a later time (τ < τ_i) and the censorings at its time; row j with
/// D_j = the deaths of an earlier time (τ > τ_j), and, if j is censored, those at its time.
/// The weights of R_i and D_j seen before row i's score give "smaller score", those seen
/// before the score after it give "smaller or equal"; the rest of R_i, D_j are "larger".
/// Every sum is of whole numbers, exact in any order: the numbers of the sweep.
/// `rows`: the stratum's [`by_score_rows`], in prepared order. They are sorted here, and
/// each row leaves holding its influence ([`ByScore::influence`]), in score order.
fn concordance_by_time(rows: &mut [ByScore], weights: WholeWeights, count: &mut [f64; 5]) {
    let times = rows.last().map_or(0, |r| r.time() as usize + 1);
    // Per time rank: weight of all rows, of the deaths (whole numbers, exact in u32 and
    // in f64); then R_i's and D_j's totals.
    let [all, dead] = weights_per_time(rows, times, weights);
    let dead: Vec<f64> = dead.into_iter().map(f64::from).collect();
    // at_risk[τ] = Σ all over τ' < τ, plus the censorings at τ;
    // deaths_before[τ] = Σ dead over τ' > τ.
    let mut at_risk = vec![0.0; times];
    let mut later = 0.0;
    for t in 0..times {
        at_risk[t] = later + (f64::from(all[t]) - dead[t]);
        later += f64::from(all[t]);
    }
    drop(all);
    let mut deaths_before = vec![0.0; times];
    let mut earlier = 0.0;
    for t in (0..times).rev() {
        deaths_before[t] = earlier;
        earlier += dead[t];
    }
    // Pairs of deaths tied on time (count[3]; and on time and score, count[4], below).
    let mut dwt = 0.0;
    for (i, r) in rows.iter().enumerate() {
        if i > 0 && r.time() != rows[i - 1].time() {
            dwt = 0.0;
        }
        if r.death() {
            let w = f64::from(weights.of(r));
            count[3] += w * dwt;
            dwt += w;
        }
    }
    sort_unstable_any_size(rows);
    // The rows in score order are swept in two parts on two cores when there are many: the
    // second part starts from the weights per time of the first (the trees' state when the
    // first part is done). The counts are sums of whole numbers and every row's influence
    // is its own, so both ways give the same numbers. The parts split between score groups.
    let mut half = if rows.len() < PARALLEL_ROWS {
        rows.len()
    } else {
        rows.len() / 2
    };
    while half > 0 && half < rows.len() && rows[half].score == rows[half - 1].score {
        half += 1;
    }
    let tables = TimeTables {
        at_risk: &at_risk,
        deaths_before: &deaths_before,
        dead: &dead,
        weights,
    };
    let (first, second) = rows.split_at_mut(half);
    let parts = if second.is_empty() {
        [sweep_by_score(first, None, times, &tables), [0.0; 5]]
    } else {
        // The second part's trees start from the first part's weights per time, counted
        // before the first part's rows are given their influence in place.
        let first_totals = weights_per_time(first, times, weights);
        let (c1, c2) = rayon::join(
            || sweep_by_score(first, None, times, &tables),
            || sweep_by_score(second, Some(&first_totals), times, &tables),
        );
        [c1, c2]
    };
    for k in [0, 1, 2, 4] {
        count[k] += parts[0][k];
        count[k] += parts[1][k];
    }
}

/// The rows of [`concordance_by_time`] for the prepared rows of `strata` (consecutive
/// ranges, the first starting at row `strata[0].0`), in prepared order: each row's score
/// (`lp` of its data row), time rank within its stratum and event travel with it through
/// the sort, so that the sweep in score order reads them in order instead of at random.
/// (Whole weights are at least 1 and sum to at most u32::MAX: rows fit in u32.) Written on
/// every core when many, then numbered in one sweep: the first write to fresh memory is a
/// page fault, which costs more than the rest.
fn by_score_rows<S: Fn(usize) -> f64 + Sync>(
    d: &Prepared,
    lp: &S,
    strata: &[(usize, usize)],
) -> Vec<ByScore> {
    by_score_rows_marked(d, lp, strata, &time_marks(d, strata))
}

/// In a prepared row's [`time_marks`]: the row is a death.
const MARK_DEATH: u8 = 1;
/// In a prepared row's [`time_marks`]: the row's time differs from the previous row's in
/// its stratum.
const MARK_NEW_TIME: u8 = 2;

/// What [`by_score_rows`] reads of the prepared times and events, a byte per row of
/// `strata` (numbered from the first's start): the times and events can be freed before the
/// rows by score are allocated (80 MB fewer alive with them at 1e7 rows).
fn time_marks(d: &Prepared, strata: &[(usize, usize)]) -> Vec<u8> {
    let first = strata.first().map_or(0, |s| s.0);
    let mut marks = Vec::with_capacity(strata.last().map_or(0, |s| s.1) - first);
    for &(lo, hi) in strata {
        marks.extend((lo..hi).map(|k| {
            let new_time = k > lo && d.stop[k] != d.stop[k - 1];
            u8::from(d.event[k]) * MARK_DEATH + u8::from(new_time) * MARK_NEW_TIME
        }));
    }
    marks
}

/// [`by_score_rows`] from the [`time_marks`] of the same strata.
fn by_score_rows_marked<S: Fn(usize) -> f64 + Sync>(
    d: &Prepared,
    lp: &S,
    strata: &[(usize, usize)],
    marks: &[u8],
) -> Vec<ByScore> {
    let (first, end) = match (strata.first(), strata.last()) {
        (Some(&(first, _)), Some(&(_, end))) => (first, end),
        _ => return vec![],
    };
    let by_score = |k: usize| ByScore {
        score: total_order_bits(lp(d.order.row(k)) + 0.0),
        row: k as u32,
        time_death: u32::from(marks[k - first] & MARK_DEATH),
    };
    let mut rows: Vec<ByScore> = if end - first < PARALLEL_ROWS {
        (first..end).map(by_score).collect()
    } else {
        (first..end).into_par_iter().map(by_score).collect()
    };
    for &(lo, hi) in strata {
        let mut t = 0u32;
        for k in lo..hi {
            t += u32::from(marks[k - first] & MARK_NEW_TIME != 0);
            rows[k - first].time_death |= t << 1;
        }
    }
    rows
}

/// The whole case weights of the prepared rows in [`concordance_by_time`] (empty: every
/// weight 1, read without touching memory).
#[derive(Clone, Copy)]
struct WholeWeights<'a> {
    weights: &'a [f64],
}

impl WholeWeights<'_> {
    /// Row `r`'s weight: a whole number from 1 to u32::MAX (the by-time path's condition).
    #[inline]
    fn of(&self, r: &ByScore) -> u32 {
        if self.weights.is_empty() {
            1
        } else {
            self.weights[r.row as usize] as u32
        }
    }
}

/// Per time rank in [`concordance_by_time`]: the weight at risk a death at that time is
/// compared with, the weight of deaths at later ranks... (see there), and of deaths at it.
struct TimeTables<'a> {
    at_risk: &'a [f64],
    deaths_before: &'a [f64],
    dead: &'a [f64],
    /// (Not per time: the rows' weights.)
    weights: WholeWeights<'a>,
}

/// The weights per time rank of `rows`: (of all rows, of the deaths).
fn weights_per_time(rows: &[ByScore], times: usize, weights: WholeWeights) -> [Vec<u32>; 2] {
    let mut all = vec![0u32; times];
    let mut dead = vec![0u32; times];
    for r in rows {
        all[r.time() as usize] += weights.of(r);
        if r.death() {
            dead[r.time() as usize] += weights.of(r);
        }
    }
    [all, dead]
}

/// The sweep of [`concordance_by_time`] over `part` (rows in increasing score, after rows
/// whose weights per time are `before`): returns counts 0, 1, 2 and 4 of the part, and
/// leaves each row of the part holding its influence.
fn sweep_by_score(
    part: &mut [ByScore],
    before: Option<&[Vec<u32>; 2]>,
    times: usize,
    tables: &TimeTables,
) -> [f64; 5] {
    let TimeTables {
        at_risk,
        deaths_before,
        dead,
        weights,
    } = *tables;
    let mut count = [0.0; 5];
    let mut seen = RankTrees::<u32, 8>::new(times);
    let mut seen_deaths = 0u32;
    if let Some([all_before, dead_before]) = before {
        for t in 0..times {
            if all_before[t] > 0 {
                seen.add(AT_RISK, t, all_before[t]);
            }
            if dead_before[t] > 0 {
                seen.add(DEAD, t, dead_before[t]);
                seen_deaths += dead_before[t];
            }
        }
    }
    // (weight in R_k, weight in D_k) seen so far, for row `r`.
    let below = |seen: &RankTrees<u32, 8>, seen_deaths: u32, r: &ByScore| -> (f64, f64) {
        let t = r.time() as usize;
        let (all_lt, all_at) = seen.less_equal(AT_RISK, t);
        let (dead_lt, dead_at) = seen.less_equal(DEAD, t);
        let risk = if r.death() {
            f64::from(all_lt) + f64::from(all_at - dead_at)
        } else {
            0.0
        };
        let mut deaths = seen_deaths - dead_lt - dead_at;
        if !r.death() {
            deaths += dead_at;
        }
        (risk, f64::from(deaths))
    };
    let mut group_below: Vec<(f64, f64)> = vec![];
    let mut group_influence: Vec<[f64; 3]> = vec![];
    let mut a = 0;
    while a < part.len() {
        let mut b = a + 1;
        while b < part.len() && part[b].score == part[a].score {
            b += 1;
        }
        let group = &part[a..b];
        group_below.clear();
        group_influence.clear();
        group_below.extend(group.iter().map(|r| below(&seen, seen_deaths, r)));
        for r in group {
            let t = r.time() as usize;
            seen.add(AT_RISK, t, weights.of(r));
            if r.death() {
                seen.add(DEAD, t, weights.of(r));
                seen_deaths += weights.of(r);
            }
        }
        for (r, &(risk_lt, deaths_lt)) in group.iter().zip(&group_below) {
            let mut m = [0.0; 3];
            let (risk_le, deaths_le) = if group.len() == 1 {
                (risk_lt, deaths_lt)
            } else {
                below(&seen, seen_deaths, r)
            };
            let t = r.time() as usize;
            let w = f64::from(weights.of(r));
            if r.death() {
                let more = at_risk[t] - risk_le;
                let (less, equal) = (risk_lt, risk_le - risk_lt);
                count[0] += w * more;
                count[1] += w * less;
                count[2] += w * equal;
                m[0] += more;
                m[1] += less;
                m[2] += equal;
            }
            let total = deaths_before[t] + if r.death() { 0.0 } else { dead[t] };
            m[0] += deaths_lt;
            m[1] += total - deaths_le;
            m[2] += deaths_le - deaths_lt;
            group_influence.push(m);
        }
        if group.len() > 1 {
            // Deaths at one time with one score: pairs tied on both.
            let mut tied: Vec<(u32, f64)> = group
                .iter()
                .filter(|r| r.death())
                .map(|r| (r.time(), f64::from(weights.of(r))))
                .collect();
            tied.sort_unstable_by_key(|&(t, _)| t);
            let mut dwt2 = 0.0;
            for (i, &(t, w)) in tied.iter().enumerate() {
                if i > 0 && tied[i - 1].0 != t {
                    dwt2 = 0.0;
                }
                count[4] += w * dwt2;
                dwt2 += w;
            }
        }
        // The group's rows are read no more: each keeps its influence in place.
        for (r, m) in part[a..b].iter_mut().zip(&group_influence) {
            r.hold_influence(m);
        }
        a = b;
    }
    count
}

/// A row of [`concordance_by_time`]: ordered by (score, row), which are distinct; its time
/// rank and event ride along. 16 bytes (the sort moves n of them; the weights, when there
/// are any, are read by row).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct ByScore {
    score: u64,
    /// The prepared row.
    row: u32,
    /// Time rank (< [`TIME_RANKS_MAX`]) × 2, plus 1 for a death.
    time_death: u32,
}

impl ByScore {
    /// Once the sweep has given the row its influence (larger, smaller, tied: sums of whole
    /// weights no larger than their total, at most u32::MAX), the row keeps it as three u32
    /// in place of its score, time and event; its prepared row stays.
    #[inline]
    fn hold_influence(&mut self, m: &[f64; 3]) {
        debug_assert!(
            m.iter().all(|&v| f64::from(v as u32) == v),
            "whole weights within u32: {m:?}"
        );
        let [larger, smaller, tied] = m.map(|v| v as u32);
        self.score = u64::from(larger) | u64::from(smaller) << 32;
        self.time_death = tied;
    }

    /// The influence [`Self::hold_influence`] kept: the same whole numbers, so the same
    /// bits in [`Influence::dfbeta_parts`] as R's summed rows.
    #[inline]
    fn influence(&self) -> [f64; 3] {
        [
            f64::from(self.score as u32),
            f64::from((self.score >> 32) as u32),
            f64::from(self.time_death),
        ]
    }

    #[inline]
    fn time(&self) -> u32 {
        self.time_death >> 1
    }

    #[inline]
    fn death(&self) -> bool {
        self.time_death & 1 == 1
    }
}

/// The sweep of one stratum by decreasing time, as R's `concordance3`, doing the tree work
/// of the rows whose rank `part` owns (the other rows only move its totals). Adds to `count`
/// the weighted counts of its rows' pairs (discordant, concordant, tied on score; tied on
/// time, tied on time and score) and returns it, and adds its rows' influence to `imat`.
#[allow(clippy::too_many_arguments)]
fn concordance_sweep<C: TreeWeight, const F: usize>(
    d: &Prepared,
    lp: &[f64],
    stratum: &StratumRows,
    by_stop: &[usize],
    ranks: &[usize],
    mut part: RankPart<C, F>,
    imat: &InfluenceRows,
    mut count: [f64; 5],
) -> [f64; 5] {
    let StratumRows { lo, hi, by_start } = *stratum;
    let rank = |r: usize| ranks[r];
    let wt = |k: usize| d.weight(k);
    // Row `k`'s influence, for a row whose rank this part owns (checked: the parts' rank
    // ranges are disjoint, so no other part can be writing the row).
    let owned = part.lo..part.hi;
    let influence = |k: usize| {
        assert!(
            owned.contains(&ranks[k]),
            "influence of a row of another part"
        );
        // SAFETY: the row's rank is this part's (asserted), so no other thread touches it;
        // each reference lives for one row's update.
        unsafe { imat.row(k) }
    };
    // A row (re-)entering the risk set: its pairs with the deaths so far (queried in the
    // deaths' tree) are taken off its influence, which `finish` completes with the deaths
    // still to come; a row removed or finished adds them.
    let enter_at_risk = |part: &mut RankPart<C, F>, k: usize| {
        let r = rank(k);
        if part.owns(r) {
            let w = part.walkup_and_add(DEAD, r, wt(k));
            let m = influence(k);
            m[0] -= w[1];
            m[1] -= w[0];
            m[2] -= w[2];
        } else {
            part.note_add(AT_RISK, r, wt(k));
        }
    };
    let add_deaths_pairs = |part: &RankPart<C, F>, k: usize| {
        let w = part.walkup(DEAD, rank(k));
        let m = influence(k);
        m[0] += w[1];
        m[1] += w[0];
        m[2] += w[2];
    };
    let start = d.counting.then_some(&d.start[..]);
    let mut i = 0;
    let mut i2 = 0;
    let nn = by_stop.len();
    // How many rows ahead the trees' cells are prefetched.
    const AHEAD: usize = 32;
    let prefetch = |part: &RankPart<C, F>, rows: &[usize], at: usize| {
        if let Some(&r) = rows.get(at + AHEAD) {
            part.prefetch(rank(r));
        }
    };
    while i < nn {
        let ii = by_stop[i];
        prefetch(&part, by_stop, i);
        if !d.event[ii] {
            enter_at_risk(&mut part, ii);
            i += 1;
            continue;
        }
        if let Some(st) = start {
            while i2 < nn && st[by_start[i2]] >= d.stop[ii] {
                let jj = by_start[i2];
                let r = rank(jj);
                if part.owns(r) {
                    add_deaths_pairs(&part, jj);
                    part.add(AT_RISK, r, -wt(jj));
                } else {
                    part.note_add(AT_RISK, r, -wt(jj));
                }
                i2 += 1;
            }
        }
        // Tied deaths at this time.
        let t = d.stop[ii];
        let mut j = i;
        let mut dwt = 0.0;
        let mut dwt2 = 0.0;
        let mut xsave = lp[ii];
        // concordance3 also keeps each row's influence on the pairs tied on time (and on
        // time and score); the standard error reads only the first three (concordant,
        // discordant, tied on score), so only those are kept.
        while j < nn && d.stop[by_stop[j]] == t {
            let jj = by_stop[j];
            prefetch(&part, by_stop, j);
            count[3] += wt(jj) * dwt;
            dwt += wt(jj);
            if lp[jj] != xsave {
                dwt2 = 0.0;
                xsave = lp[jj];
            }
            count[4] += wt(jj) * dwt2;
            dwt2 += wt(jj);
            let r = rank(jj);
            if part.owns(r) {
                let w = part.walkup_and_add(AT_RISK, r, wt(jj));
                let m = influence(jj);
                for k in 0..3 {
                    count[k] += wt(jj) * w[k];
                    m[k] += w[k];
                }
            } else {
                part.note_add(DEAD, r, wt(jj));
            }
            j += 1;
        }
        for &jj in &by_stop[i..j] {
            enter_at_risk(&mut part, jj);
        }
        i = j;
    }
    // Finish the influence of everyone still in the tree (counting: those not yet removed);
    // the tree no longer changes, so without start times rows are taken in memory order.
    let finish = |ii: usize| {
        if part.owns(rank(ii)) {
            add_deaths_pairs(&part, ii);
        }
    };
    // The rows' ranks are in no order: each row's lines are fetched AHEAD rows early, as in
    // the sweep (a third of the concordance's time went to waiting on them).
    if start.is_some() {
        for (at, &ii) in by_start[i2..].iter().enumerate() {
            prefetch(&part, &by_start[i2..], at);
            finish(ii);
        }
    } else {
        for ii in lo..hi {
            if ii + AHEAD < hi {
                part.prefetch(rank(ii + AHEAD));
            }
            finish(ii);
        }
    }
    count
}

/// Time transform of `cox.zph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZphTransform {
    Km,
    Identity,
    Rank,
    Log,
}

impl ZphTransform {
    pub fn parse(s: &str) -> Option<ZphTransform> {
        Some(match s {
            "km" => ZphTransform::Km,
            "identity" => ZphTransform::Identity,
            "rank" => ZphTransform::Rank,
            "log" => ZphTransform::Log,
            _ => return None,
        })
    }
}

/// The result of `cox.zph`: one test per term (a group of coefficients) and the global test.
#[derive(Debug, Clone)]
pub struct Zph {
    pub terms: Vec<ChisqStat>,
    pub global: ChisqStat,
}

/// The proportional-hazards test of R's `cox.zph(fit, transform)` (survival ≥ 3.0): the
/// score test, at the fitted β, of adding x·g(t) for each term, with g the transformed event
/// time centred over the events, using the full 2p × 2p information matrix. `groups` lists,
/// per term, the coefficient indices it covers (a factor's levels together). Aliased
/// coefficients are dropped first, as R.
pub fn cox_zph(
    data: &CoxData,
    fit: &CoxFit,
    ties: Ties,
    transform: ZphTransform,
    groups: &[Vec<usize>],
) -> Option<Zph> {
    let keep: Vec<usize> = (0..fit.coef.len())
        .filter(|&i| fit.coef[i].is_some())
        .collect();
    if keep.is_empty() || fit.events == 0 {
        return None;
    }
    let n = data.n();
    let p = keep.len();
    // g(t) for each row's stop time, near-ties merged as in the fit (R: `fit$y`).
    let (times, start) = merged_times(data);
    let times = &times;
    let ttimes: Vec<f64> = match transform {
        ZphTransform::Identity => times.clone(),
        ZphTransform::Log => times.iter().map(|t| t.ln()).collect(),
        ZphTransform::Rank => {
            // Average ranks, as R's rank().
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
            let mut r = vec![0.0; n];
            let mut i = 0;
            while i < n {
                let mut j = i;
                while j + 1 < n && times[idx[j + 1]] == times[idx[i]] {
                    j += 1;
                }
                let avg = (i + j) as f64 / 2.0 + 1.0;
                for &k in &idx[i..=j] {
                    r[k] = avg;
                }
                i = j + 1;
            }
            r
        }
        ZphTransform::Km => {
            // 1 - S(t-) of the KM of all rows (strata ignored, as R); of counting-process
            // data, with delayed entry (R: survfitKM on the Surv(start, stop, event) response).
            let counts = match &start {
                None => TimeCounts::from_subjects(times, &data.event),
                Some(st) => {
                    let rows = (0..n)
                        .map(|i| {
                            (
                                times[i],
                                u64::from(data.event[i]),
                                u64::from(!data.event[i]),
                            )
                        })
                        .collect();
                    let entries = st.iter().map(|&e| (e, 1)).collect();
                    let shortest = (0..n)
                        .map(|i| times[i] - st[i])
                        .fold(f64::INFINITY, f64::min);
                    TimeCounts::from_unsorted_with_entries(rows, entries, shortest)
                        .unwrap_or_else(|_| TimeCounts::from_subjects(times, &data.event))
                }
            };
            let km = KaplanMeier::from_counts(&counts);
            times
                .iter()
                .map(|&t| {
                    let idx = km.time.partition_point(|&v| v < t);
                    1.0 - if idx == 0 { 1.0 } else { km.surv[idx - 1] }
                })
                .collect()
        }
    };
    let nev = data.event.iter().filter(|&&e| e).count() as f64;
    let gmean = ttimes
        .iter()
        .zip(&data.event)
        .filter(|(_, &e)| e)
        .map(|(g, _)| g)
        .sum::<f64>()
        / nev;
    let gtime: Vec<f64> = ttimes.iter().map(|g| g - gmean).collect();

    // The kept covariates, recentred by their means (zph1/zph2).
    let mut x: Vec<Vec<f64>> = keep.iter().map(|&j| data.x[j].clone()).collect();
    for col in &mut x {
        let m = col.iter().sum::<f64>() / n as f64;
        col.iter_mut().for_each(|v| *v -= m);
    }
    let eta = &fit.linear_predictors;
    // u and imat for [x, x g(t)] at the fitted beta, one pass in decreasing time per stratum.
    let q = 2 * p;
    let mut u = vec![0.0; q];
    let mut imat = Matrix::zeros(q);
    let start = start.unwrap_or_else(|| vec![f64::NEG_INFINITY; n]);
    for mut rows in rows_by_stratum(&data.strata) {
        rows.sort_by(|&a, &b| times[b].total_cmp(&times[a]));
        let mut by_start = rows.clone();
        by_start.sort_by(|&a, &b| start[b].total_cmp(&start[a]));
        let mut risk = RiskSums::new(p);
        let mut k = 0;
        let mut rem = 0;
        while k < rows.len() {
            let t = times[rows[k]];
            let mut deaths = RiskSums::new(p);
            let mut dead: Vec<usize> = vec![];
            while k < rows.len() && times[rows[k]] == t {
                let r = rows[k];
                let xr: Vec<f64> = (0..p).map(|j| x[j][r]).collect();
                let w = eta[r].exp();
                if data.event[r] {
                    deaths.add(&xr, w);
                    dead.push(r);
                } else {
                    risk.add(&xr, w);
                }
                k += 1;
            }
            if dead.is_empty() {
                continue;
            }
            // Intervals starting at or after t have left the risk set (they all entered it
            // already, their stop being later than t).
            while rem < by_start.len() && start[by_start[rem]] >= t {
                let r = by_start[rem];
                let xr: Vec<f64> = (0..p).map(|j| x[j][r]).collect();
                risk.add(&xr, -eta[r].exp());
                rem += 1;
            }
            let g = gtime[dead[0]];
            let nd = dead.len() as f64;
            for &r in &dead {
                for j in 0..p {
                    u[j] += x[j][r];
                    u[j + p] += x[j][r] * g;
                }
            }
            let steps = if ties == Ties::Breslow || dead.len() == 1 {
                1
            } else {
                dead.len()
            };
            let frac = 1.0 / steps as f64;
            let meanwt = nd / steps as f64; // deaths per step
            for _ in 0..steps {
                risk.denom += deaths.denom * frac;
                for i in 0..p {
                    risk.a[i] += deaths.a[i] * frac;
                }
                for i in 0..p * p {
                    risk.cmat[i] += deaths.cmat[i] * frac;
                }
                let denom = risk.denom;
                for i in 0..p {
                    let mi = risk.a[i] / denom;
                    u[i] -= meanwt * mi;
                    u[i + p] -= meanwt * mi * g;
                    for j in 0..=i {
                        let v = meanwt * (risk.cmat[i * p + j] - mi * risk.a[j]) / denom;
                        imat.add(j, i, v);
                        imat.add(j, i + p, v * g);
                        imat.add(j + p, i + p, v * g * g);
                        if i != j {
                            // cmat is symmetric: the (i, j + p) block entry too.
                            imat.add(i, j + p, v * g);
                        }
                    }
                }
            }
        }
    }
    // Symmetrise the upper triangle into the full matrix.
    for i in 0..q {
        for j in 0..i {
            let v = imat.get(j, i);
            imat.set(i, j, v);
        }
    }
    let solve_quad = |idx: &[usize], uu: &[f64]| -> f64 {
        // R uses solve() (LU, no tolerance): the information matrix is positive definite
        // here. The Cholesky's tolerance is relative to the largest pivot, so the matrix is
        // first scaled to a unit diagonal — u'I⁻¹u is unchanged — or a covariate in the
        // millions would make the others' pivots look like zeros.
        let mut m = imat.select(idx);
        let d: Vec<f64> = (0..idx.len())
            .map(|i| {
                let v = m.get(i, i);
                if v > 0.0 && v.is_finite() {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        for i in 0..idx.len() {
            for j in 0..idx.len() {
                let v = m.get(i, j) / (d[i] * d[j]);
                m.set(i, j, v);
            }
        }
        let us: Vec<f64> = uu.iter().zip(&d).map(|(u, s)| u / s).collect();
        let sol = Cholesky::new(&m, f64::EPSILON.powf(0.75)).solve(&us);
        sol.iter().zip(&us).map(|(a, b)| a * b).sum()
    };
    let pos = |coef: usize| keep.iter().position(|&k| k == coef);
    let mut terms = vec![];
    for grp in groups {
        let jj: Vec<usize> = grp.iter().filter_map(|&c| pos(c)).collect();
        if jj.is_empty() {
            terms.push(ChisqStat {
                statistic: None,
                df: 0,
                p_value: None,
            });
            continue;
        }
        let mut idx: Vec<usize> = (0..p).collect();
        idx.extend(jj.iter().map(|&j| j + p));
        let mut uu = vec![0.0; p];
        uu.extend(jj.iter().map(|&j| u[j + p]));
        terms.push(ChisqStat::new(Some(solve_quad(&idx, &uu)), jj.len()));
    }
    let idx: Vec<usize> = (0..q).collect();
    let mut uu = vec![0.0; p];
    uu.extend_from_slice(&u[p..]);
    let global = ChisqStat::new(Some(solve_quad(&idx, &uu)), p);
    Some(Zph { terms, global })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed pseudo-random sequence (xorshift), the same on every run.
    fn sequence(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn passes_by_time_are_passes_by_row() {
        // Right-censored fits with few distinct times sum each time's rows on their own (on
        // every core past PARALLEL_ROWS): the likelihood, score and information must be the
        // row-by-row pass's to rounding. Ties (with Efron's and Breslow's terms), strata,
        // whole weights 1-3, times without deaths.
        for n in [600, PARALLEL_ROWS + 1000] {
            let mut next = sequence(29 + n as u64);
            let mut uniform = move || (next() >> 11) as f64 / (1u64 << 53) as f64;
            let mut rows: Vec<(u32, f64, bool, f64, [f64; 3])> = (0..n)
                .map(|_| {
                    let x = [
                        uniform() * 4.0,
                        (uniform() < 0.4) as u8 as f64,
                        uniform() - 0.5,
                    ];
                    let stratum = (uniform() * 3.0) as u32;
                    let stop = (uniform() * 10.0).floor() / 2.0;
                    let event = uniform() < 0.3 + 0.1 * x[1];
                    let weight = 1.0 + (uniform() * 3.0).floor();
                    (stratum, stop, event, weight, x)
                })
                .collect();
            rows.sort_by(|a, b| (a.0, a.1, !a.2).partial_cmp(&(b.0, b.1, !b.2)).unwrap());
            let data = CoxData {
                start: None,
                stop: rows.iter().map(|r| r.1).collect(),
                event: rows.iter().map(|r| r.2).collect(),
                strata: rows.iter().map(|r| r.0).collect(),
                x: (0..3)
                    .map(|j| rows.iter().map(|r| r.4[j]).collect())
                    .collect(),
                weights: Some(rows.iter().map(|r| r.3).collect()),
                cluster: None,
            };
            let by_time = Prepared::new(&data);
            assert_eq!(by_time.runs.len(), 3 * 10, "one run per (stratum, time)");
            let mut by_row = Prepared::new(&data);
            by_row.runs.clear();
            let beta = [0.2, -0.4, 0.3];
            for ties in [Ties::Efron, Ties::Breslow] {
                let a = likelihood_pass(&by_time, &beta, ties, &mut vec![0.0; n]);
                let b = likelihood_pass(&by_row, &beta, ties, &mut vec![0.0; n]);
                let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * y.abs().max(1.0);
                assert!(
                    close(a.loglik, b.loglik),
                    "{ties:?} n={n}: {} {}",
                    a.loglik,
                    b.loglik
                );
                for (x, y) in
                    a.u.iter()
                        .zip(&b.u)
                        .chain(a.imat.data.iter().zip(&b.imat.data))
                {
                    assert!(close(*x, *y), "{ties:?} n={n}: {x} {y}");
                }
            }
        }
    }

    #[test]
    fn rank_trees_answer_as_plain_sums() {
        rank_trees_of_kind_answer_as_plain_sums::<f64, 4>();
        rank_trees_of_kind_answer_as_plain_sums::<u32, 8>();
    }

    fn rank_trees_of_kind_answer_as_plain_sums<C: TreeWeight, const F: usize>() {
        for ranks in [1, 3, 4, 5, 8, 9, 17, 64, 65, 1000] {
            // One part over every rank, and the ranks split in two parts that see the same
            // operations (each doing its own ranks' and noting the others').
            let mut whole = RankPart::<C, F>::new(0, ranks);
            let mid = ranks / 2;
            let mut halves = [
                RankPart::<C, F>::new(0, mid),
                RankPart::<C, F>::new(mid, ranks),
            ];
            let mut next = sequence(ranks as u64 + 7);
            let mut plain = vec![[0.0f64; 2]; ranks];
            for _ in 0..4 * ranks + 10 {
                let rank = (next() % ranks as u64) as usize;
                let tree = (next() % 2) as usize;
                let w = (next() % 5) as f64;
                let expected = |plain: &[[f64; 2]], t: usize| {
                    let less: f64 = plain[..rank].iter().map(|v| v[t]).sum();
                    let more: f64 = plain[rank + 1..].iter().map(|v| v[t]).sum();
                    [more, less, plain[rank][t]]
                };
                let owner = usize::from(rank >= mid);
                assert_eq!(whole.walkup(tree, rank), expected(&plain, tree));
                assert_eq!(halves[owner].walkup(tree, rank), expected(&plain, tree));
                if next().is_multiple_of(2) {
                    // Sometimes a removal (counting-process rows leave the risk set); a
                    // count never goes below zero.
                    let w = if plain[rank][tree] >= w && next().is_multiple_of(3) {
                        -w
                    } else {
                        w
                    };
                    whole.add(tree, rank, w);
                    halves[owner].add(tree, rank, w);
                    halves[1 - owner].note_add(tree, rank, w);
                    plain[rank][tree] += w;
                } else {
                    assert_eq!(whole.walkup_and_add(tree, rank, w), expected(&plain, tree));
                    let found = halves[owner].walkup_and_add(tree, rank, w);
                    assert_eq!(found, expected(&plain, tree));
                    halves[1 - owner].note_add(1 - tree, rank, w);
                    plain[rank][1 - tree] += w;
                }
            }
        }
    }

    #[test]
    fn risk_sums_of_every_size_add_as_the_general_loop() {
        let mut next = sequence(5);
        for p in 1..=9 {
            let mut sized = RiskSums::new(p);
            let mut general = RiskSums::new(p);
            for _ in 0..50 {
                let x: Vec<f64> = (0..p)
                    .map(|_| (next() % 1000) as f64 / 7.0 - 60.0)
                    .collect();
                let risk = (next() % 100) as f64 / 3.0;
                sized.add(&x, risk);
                general.add_any(&x, risk);
            }
            assert_eq!(sized.denom.to_bits(), general.denom.to_bits());
            assert_eq!(sized.a, general.a, "p = {p}");
            assert_eq!(sized.cmat, general.cmat, "p = {p}");
        }
    }

    #[test]
    fn large_fits_prepare_on_every_core_as_row_by_row() {
        // Past PARALLEL_ROWS the centring, the row-major copy and the risk weights are
        // computed by chunks on several threads: each number must be the one the row-by-row
        // expression gives. Rows in prepared order backwards are read from the data's
        // columns and centred where they are read, others from a centred row-major copy:
        // the same numbers.
        for in_order in [false, true] {
            let mut next = sequence(3);
            let n = PARALLEL_ROWS + 3 * PARALLEL_CHUNK / 2;
            let mut outcome: Vec<(f64, bool)> = (0..n)
                .map(|_| ((next() % 500) as f64, next().is_multiple_of(2)))
                .collect();
            if in_order {
                // Increasing time, deaths first at each time.
                outcome.sort_by(|a, b| (a.0, !a.1).partial_cmp(&(b.0, !b.1)).unwrap());
            }
            let data = CoxData {
                stop: outcome.iter().map(|o| o.0).collect(),
                event: outcome.iter().map(|o| o.1).collect(),
                strata: vec![0; n],
                x: vec![
                    (0..n).map(|_| (next() % 1000) as f64 / 7.0).collect(),
                    (0..n).map(|_| (next() % 2) as f64).collect(),
                    (0..n).map(|_| (next() % 97) as f64 - 40.0).collect(),
                ],
                weights: Some((0..n).map(|_| (next() % 5) as f64 / 2.0 + 0.5).collect()),
                ..CoxData::default()
            };
            let d = Prepared::new(&data);
            assert!(matches!(d.x, PreparedCovariates::RowMajor(_)) == !in_order);
            let mut buf = [0.0; 3];
            let w = |i: usize| data.weights.as_ref().unwrap()[i];
            let total: f64 = (0..n).map(w).sum();
            for j in 0..3 {
                let col = &data.x[j];
                let (m, s) = if j == 1 {
                    (0.0, 1.0)
                } else {
                    let m = (0..n).map(|i| w(i) * col[i]).sum::<f64>() / total;
                    let mad = (0..n).map(|i| w(i) * (col[i] - m).abs()).sum::<f64>();
                    (m, total / mad)
                };
                assert_eq!(
                    (d.means[j].to_bits(), d.scale[j].to_bits()),
                    (m.to_bits(), s.to_bits())
                );
                for k in 0..n {
                    let v = (col[d.order.row(k)] - m) * s;
                    assert_eq!(
                        d.row(k, &mut buf)[j].to_bits(),
                        v.to_bits(),
                        "row {k} column {j}"
                    );
                }
            }
            let beta = [0.3, -0.7, 0.01];
            let mut risk = vec![0.0; n];
            fill_risk(&d, &beta, &mut risk);
            for k in 0..n {
                let e: f64 = d
                    .row(k, &mut buf)
                    .iter()
                    .zip(&beta)
                    .map(|(x, b)| x * b)
                    .sum();
                assert_eq!(d.linear_predictor(k, &beta).to_bits(), e.to_bits());
                assert_eq!(risk[k].to_bits(), (e.exp() * d.weight(k)).to_bits());
            }
        }
    }

    #[test]
    fn reversed_and_sorted_rows_prepare_the_same_columns() {
        // Rows in canonical order are prepared by reversing the columns (stop and start in
        // place); the same rows shuffled by gathering them in sorted order. Every prepared
        // column must be the same, bit for bit. Distinct stop times fix the order.
        for counting in [false, true] {
            let mut next = sequence(if counting { 5 } else { 7 });
            let n = 3000;
            // (stratum, stop, event, start, weight, covariates)
            type Row = (u32, f64, bool, f64, f64, [f64; 2]);
            let mut rows: Vec<Row> = (0..n)
                .map(|i| {
                    let stop = i as f64 / 8.0 + 1.0;
                    (
                        (next() % 3) as u32,
                        stop,
                        next().is_multiple_of(3),
                        stop - 0.5 - (next() % 4) as f64 / 4.0,
                        (next() % 3 + 1) as f64,
                        // (Values in {-1, 0, 1} are not centred: no sum whose order the
                        // shuffle changes.)
                        [(next() % 3) as f64 - 1.0, (next() % 2) as f64],
                    )
                })
                .collect();
            rows.sort_by(|a, b| (a.0, a.1).partial_cmp(&(b.0, b.1)).unwrap());
            let data_of = |rows: &[Row]| CoxData {
                start: counting.then(|| rows.iter().map(|r| r.3).collect()),
                stop: rows.iter().map(|r| r.1).collect(),
                event: rows.iter().map(|r| r.2).collect(),
                strata: rows.iter().map(|r| r.0).collect(),
                x: (0..2)
                    .map(|j| rows.iter().map(|r| r.5[j]).collect())
                    .collect(),
                weights: Some(rows.iter().map(|r| r.4).collect()),
                cluster: None,
            };
            let sorted = data_of(&rows);
            let reversed = Prepared::new(&sorted);
            assert!(matches!(reversed.order, PreparedRows::Reversed(m) if m == n));
            // A fixed shuffle (Fisher-Yates with the same sequence).
            for i in (1..n).rev() {
                rows.swap(i, (next() % (i as u64 + 1)) as usize);
            }
            let shuffled = data_of(&rows);
            let gathered = Prepared::new(&shuffled);
            assert!(matches!(gathered.order, PreparedRows::Sorted(_)));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
            assert_eq!(bits(&reversed.stop), bits(&gathered.stop));
            assert_eq!(bits(&reversed.start), bits(&gathered.start));
            assert_eq!(reversed.event, gathered.event);
            assert_eq!(bits(&reversed.weights), bits(&gathered.weights));
            assert!(matches!(reversed.x, PreparedCovariates::Columns(_)));
            let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
            for k in 0..n {
                assert_eq!(
                    bits(reversed.row(k, &mut a)),
                    bits(gathered.row(k, &mut b)),
                    "row {k}"
                );
            }
            assert_eq!(reversed.strata, gathered.strata);
            assert_eq!(reversed.by_start, gathered.by_start);
        }
    }

    #[test]
    fn split_concordance_sweeps_count_as_one() {
        // A stratum past PARALLEL_ROWS with whole weights is swept by two parts on two
        // threads; its counts and every row's influence must be those of one sweep. Tied
        // scores and times, censorings, weights 1-3, and start times (rows leaving).
        for counting in [false, true] {
            let mut next = sequence(17 + u64::from(counting));
            let n = PARALLEL_ROWS + 5_000;
            let stop: Vec<f64> = (0..n).map(|_| (next() % 700 + 2) as f64).collect();
            let data = CoxData {
                start: counting.then(|| {
                    stop.iter()
                        .map(|&t| (next() % (t as u64)) as f64 - 0.5)
                        .collect()
                }),
                event: (0..n).map(|_| !next().is_multiple_of(3)).collect(),
                strata: vec![0; n],
                weights: Some((0..n).map(|_| (next() % 3 + 1) as f64).collect()),
                stop,
                ..CoxData::default()
            };
            let lp: Vec<f64> = (0..n)
                .map(|_| (next() % 20_000) as f64 / 64.0 - 100.0)
                .collect();
            let d = Prepared::outcome(&data);
            let score: Vec<f64> = (0..n).map(|k| lp[d.order.row(k)]).collect();
            let by_start = if counting { &d.by_start[0][..] } else { &[] };
            let stratum = StratumRows {
                lo: 0,
                hi: n,
                by_start,
            };
            let sweep = |how: Sweep| {
                let (mut ranks, mut count, mut imat) = (vec![0; n], [0.0; 5], vec![[0.0; 3]; n]);
                concordance_stratum::<u32, 8>(
                    &d, &score, &stratum, &mut ranks, &mut count, &mut imat, how,
                );
                (count, imat)
            };
            let (one, split) = (sweep(Sweep::One), sweep(Sweep::TwoParts));
            assert!(one.0[0] > 0.0 && one.0[3] > 0.0, "pairs of every kind");
            assert_eq!(one.0, split.0);
            assert_eq!(one.1, split.1);
            if !counting {
                // Trees over the 700 time ranks instead of the score ranks.
                let lp_of = |r: usize| lp[r];
                let weights = WholeWeights {
                    weights: &d.weights,
                };
                // Each row holds its own influence after the sweep (the whole numbers of
                // the summed rows), and goes back to its prepared place.
                let mut count = [0.0; 5];
                let mut rows = by_score_rows(&d, &lp_of, &[(0, n)]);
                concordance_by_time(&mut rows, weights, &mut count);
                assert_eq!(one.0, count);
                let mut held = vec![None; n];
                for r in &rows {
                    assert!(held[r.row as usize].is_none(), "row {} twice", r.row);
                    held[r.row as usize] = Some(r.influence());
                }
                let held: Vec<[f64; 3]> = held.into_iter().map(Option::unwrap).collect();
                assert_eq!(one.1, held);
            }
        }
    }

    #[test]
    fn sorted_times_merge_near_ties_as_the_sorting_path() {
        let mut next = sequence(5);
        // Whole and quarter days, near ties (a relative 1e-12 apart, as `aeqSurv` merges),
        // both zeros and an infinite time.
        let mut stop: Vec<f64> = (0..3000)
            .map(|_| {
                let t = (next() % 400) as f64 / 4.0;
                match next() % 4 {
                    0 => t * (1.0 + 1e-12),
                    1 if t == 0.0 => -0.0,
                    _ => t,
                }
            })
            .collect();
        stop.push(f64::INFINITY);
        stop.sort_by(f64::total_cmp);
        let data = |stop: Vec<f64>| CoxData {
            event: vec![true; stop.len()],
            strata: vec![0; stop.len()],
            stop,
            ..CoxData::default()
        };
        let (sorted, _) = merged_times(&data(stop.clone()));
        let reversed: Vec<f64> = stop.iter().rev().copied().collect();
        let (mut general, _) = merged_times(&data(reversed));
        general.reverse();
        let bits = |v: &[f64]| v.iter().map(|t| t.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&sorted), bits(&general));
        // Near ties were merged (the test would pass vacuously otherwise).
        let distinct = |v: &[f64]| {
            let mut b = bits(v);
            b.dedup();
            b.len()
        };
        assert!(distinct(&sorted) < distinct(&stop));
        // Strata one after the other, each in order (runs), and each stratum's times a
        // different part of the range (so that the runs' distinct times interleave): the
        // runs' path, the same numbers as the general path on the rows reversed.
        let mut strata: Vec<f64> = vec![];
        for (lo, hi) in [(0, 250), (100, 400), (0, 400), (300, 350)] {
            let mut part: Vec<f64> = (0..800)
                .map(|_| {
                    let t = (lo + next() % (hi - lo)) as f64 / 4.0;
                    if next().is_multiple_of(3) {
                        t * (1.0 - 1e-12)
                    } else {
                        t
                    }
                })
                .collect();
            part.sort_by(f64::total_cmp);
            strata.extend(part);
        }
        assert_eq!(
            increasing_runs(&strata, strata.len() / 64 + 1).map(|r| r.len()),
            Some(4)
        );
        let (runs, _) = merged_times(&data(strata.clone()));
        let reversed: Vec<f64> = strata.iter().rev().copied().collect();
        assert!(increasing_runs(&reversed, reversed.len() / 64 + 1).is_none());
        let (mut general, _) = merged_times(&data(reversed));
        general.reverse();
        assert_eq!(bits(&runs), bits(&general));
        assert!(distinct(&runs) < distinct(&strata));
    }

    #[test]
    fn sorted_data_take_the_linear_path_to_the_same_order() {
        let mut next = sequence(11);
        let n = 2000;
        let mut rows: Vec<(u32, f64, bool)> = (0..n)
            .map(|_| {
                (
                    (next() % 3) as u32,
                    (next() % 40) as f64 / 4.0,
                    next().is_multiple_of(3),
                )
            })
            .collect();
        rows.sort_by(|a, b| (a.0, a.1, !a.2).partial_cmp(&(b.0, b.1, !b.2)).unwrap());
        let data = CoxData {
            start: None,
            stop: rows.iter().map(|r| r.1).collect(),
            event: rows.iter().map(|r| r.2).collect(),
            strata: rows.iter().map(|r| r.0).collect(),
            x: vec![],
            weights: None,
            cluster: None,
        };
        let linear = prepared_order(&data, &data.stop);
        assert!(matches!(linear, PreparedRows::Reversed(m) if m == n));
        let linear: Vec<usize> = (0..n).map(|k| linear.row(k)).collect();
        // The same rows shuffled take the sorting path; the order is of the same rows.
        let mut shuffled = data.clone();
        shuffled.stop.swap(0, n - 1);
        shuffled.event.swap(0, n - 1);
        shuffled.strata.swap(0, n - 1);
        let order = prepared_order(&shuffled, &shuffled.stop);
        let order: Vec<usize> = (0..n).map(|k| order.row(k)).collect();
        let keys = |d: &CoxData, order: &[usize]| -> Vec<(u32, u64, bool)> {
            order
                .iter()
                .map(|&r| (d.strata[r], d.stop[r].to_bits(), d.event[r]))
                .collect()
        };
        assert_eq!(keys(&shuffled, &order), keys(&data, &linear));
    }
}

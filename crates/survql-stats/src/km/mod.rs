//! Kaplan-Meier and Nelson-Aalen estimators for right-censored data, as R's `survfit`.
//!
//! Everything starts from [`TimeCounts`]: the number of events and censorings at each distinct
//! time. That is the sufficient statistic of a right-censored sample, so the SQL aggregates only
//! ever keep these counts (memory O(distinct times), mergeable across partitions).
//!
//! The conventions are R `survival` 3.5-3's:
//! * events happen before censorings at the same time (censored subjects are in the risk set);
//! * times within `sqrt(f64::EPSILON)` of each other are one time (`aeqSurv`);
//! * a Greenwood standard error of `-log S` (`fit$std.err`) drives the confidence bands;
//! * the median and its limits follow `survmean` (`print(fit)` / `summary(fit)$table`),
//!   quantiles follow `quantile.survfit`, values at arbitrary times follow
//!   `summary(fit, times, extend = TRUE)`.
//!
//! Values R reports as `NA` or `NaN` are `None` (or NaN inside band vectors, documented there).

use crate::convention::Convention;
use crate::distributions::z_for_level;

/// `sqrt(.Machine$double.eps)`: R's tolerance for tied times and for "S equals 1 - p".
pub const TIME_TOLERANCE: f64 = 1.490_116_119_384_765_6e-8;

/// Event and censoring counts at each distinct time, sorted by time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeCounts {
    /// Distinct times, strictly increasing.
    pub time: Vec<f64>,
    /// Number of events at each time.
    pub n_event: Vec<u64>,
    /// Number of censorings at each time.
    pub n_censor: Vec<u64>,
    /// Delayed entry (left truncation, R's `Surv(entry, time, event)`): the number of
    /// subjects entering at each entry time, sorted by time. A subject entering at `e` is at
    /// risk at the times t with e < t ≤ its own time. Empty: everyone is at risk from the
    /// start.
    pub entries: Vec<(f64, u64)>,
}

impl TimeCounts {
    /// Builds the counts from unsorted `(time, events, censorings)` triples, adding up
    /// repeated times and then merging near-ties as R's `aeqSurv` does.
    ///
    /// Times must be finite (the SQL layer rejects NaN and infinite times).
    pub fn from_unsorted(rows: Vec<(f64, u64, u64)>) -> Self {
        let mut out = Self::from_unsorted_exact(rows);
        out.merge_near_ties();
        out
    }

    /// Builds the counts of counting-process data: `(time, events, censorings)` triples and
    /// `(entry, subjects)` pairs, unsorted; `shortest` is the smallest time − entry of any
    /// subject. Near-ties are merged over the entry and exit times together, as `aeqSurv`
    /// does for `Surv(entry, time, event)`.
    ///
    /// # Errors
    /// When a subject's interval is within R's tie tolerance, so that its entry and time merge
    /// into one: R stops there ("aeqSurv exception, an interval has effective length 0").
    pub fn from_unsorted_with_entries(
        rows: Vec<(f64, u64, u64)>,
        entries: Vec<(f64, u64)>,
        shortest: f64,
    ) -> Result<Self, String> {
        let mut exits = Self::from_unsorted_exact(rows);
        let mut entries = entries;
        entries.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut merged: Vec<(f64, u64)> = Vec::with_capacity(entries.len());
        for (t, n) in entries {
            let t = if t == 0.0 { 0.0 } else { t };
            match merged.last_mut() {
                Some(last) if last.0 == t => last.1 += n,
                _ => merged.push((t, n)),
            }
        }
        exits.entries = merged;
        let mut all: Vec<f64> = exits
            .time
            .iter()
            .copied()
            .chain(exits.entries.iter().map(|e| e.0))
            .collect();
        all.sort_unstable_by(f64::total_cmp);
        all.dedup();
        // An interval no longer than the tolerance has its ends in one run of near-ties
        // (every gap between them is at most its length).
        if !all.is_empty() && near_tie_rule(&all)(0.0, shortest) {
            return Err(format!(
                "a subject's entry and time are {shortest} apart, within R's tie tolerance \
                 (aeqSurv merges them; R stops with 'an interval has effective length 0')"
            ));
        }
        exits.merge_near_ties_with_entries(&all);
        Ok(exits)
    }

    /// Sorted counts with equal times added up, before any near-tie merging.
    fn from_unsorted_exact(mut rows: Vec<(f64, u64, u64)>) -> Self {
        rows.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        // Sized once: a million small groups would otherwise grow each column 4, 8, 16.
        let mut out = TimeCounts {
            time: Vec::with_capacity(rows.len()),
            n_event: Vec::with_capacity(rows.len()),
            n_censor: Vec::with_capacity(rows.len()),
            entries: Vec::new(),
        };
        for (t, d, c) in rows {
            let t = if t == 0.0 { 0.0 } else { t };
            if out.time.last() == Some(&t) {
                *out.n_event.last_mut().unwrap() += d;
                *out.n_censor.last_mut().unwrap() += c;
            } else {
                out.time.push(t);
                out.n_event.push(d);
                out.n_censor.push(c);
            }
        }
        out
    }

    /// Builds the counts from one row per subject: `time[i]` with `event[i]` (true = event).
    pub fn from_subjects(time: &[f64], event: &[bool]) -> Self {
        Self::from_unsorted(
            time.iter()
                .zip(event)
                .map(|(&t, &e)| (t, u64::from(e), u64::from(!e)))
                .collect(),
        )
    }

    /// Merges times that R's `aeqSurv` treats as tied: consecutive distinct times `y` with
    /// `diff(y) <= tol` or `diff(y) / mean(|y|) <= tol` (tol = sqrt(eps)) are binned into the
    /// first time of their run.
    ///
    /// R computes `mean(|y|)` over the distinct times of the whole model frame; here it is over
    /// the distinct times of this sample (one group of a `GROUP BY`). The two differ only for
    /// data with near-ties, where R's answer depends on the other groups.
    pub fn merge_near_ties(&mut self) {
        let n = self.time.len();
        if n < 2 {
            return;
        }
        let tied = near_tie_rule(&self.time);
        if !self.time.windows(2).any(|w| tied(w[0], w[1])) {
            return;
        }
        let mut out = TimeCounts::default();
        for i in 0..n {
            if i > 0 && tied(self.time[i - 1], self.time[i]) {
                *out.n_event.last_mut().unwrap() += self.n_event[i];
                *out.n_censor.last_mut().unwrap() += self.n_censor[i];
            } else {
                out.time.push(self.time[i]);
                out.n_event.push(self.n_event[i]);
                out.n_censor.push(self.n_censor[i]);
            }
        }
        *self = out;
    }

    /// [`merge_near_ties`](Self::merge_near_ties) over the entry and exit times together
    /// (`aeqSurv` on both columns of a counting-process response): each time is replaced by
    /// the first time of its run of near-ties, then equal times are added up.
    fn merge_near_ties_with_entries(&mut self, all: &[f64]) {
        let reps = near_tie_representatives(all);
        if all.iter().zip(&reps).all(|(a, b)| a == b) {
            return;
        }
        let rep = |t: f64| reps[all.partition_point(|&x| x < t)];
        let rows = (0..self.time.len())
            .map(|i| (rep(self.time[i]), self.n_event[i], self.n_censor[i]))
            .collect();
        let mut out = Self::from_unsorted_exact(rows);
        let mut entries: Vec<(f64, u64)> = vec![];
        for &(t, n) in &self.entries {
            let t = rep(t);
            match entries.last_mut() {
                Some(last) if last.0 == t => last.1 += n,
                _ => entries.push((t, n)),
            }
        }
        out.entries = entries;
        *self = out;
    }

    /// Swaps events and censorings: the reverse Kaplan-Meier sample `Surv(time, 1 - event)`.
    pub fn reversed(&self) -> TimeCounts {
        TimeCounts {
            time: self.time.clone(),
            n_event: self.n_censor.clone(),
            n_censor: self.n_event.clone(),
            entries: self.entries.clone(),
        }
    }

    /// Number of subjects.
    pub fn n(&self) -> u64 {
        self.n_event.iter().sum::<u64>() + self.n_censor.iter().sum::<u64>()
    }

    /// Number of events.
    pub fn events(&self) -> u64 {
        self.n_event.iter().sum()
    }

    /// True when there are no subjects.
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }
}

/// R's `aeqSurv` rule for sorted distinct times `y`: consecutive values are tied when
/// `diff <= tol` or `diff / mean(|y|) <= tol`, tol = sqrt(eps).
fn near_tie_rule(y: &[f64]) -> impl Fn(f64, f64) -> bool {
    let mean_abs = y.iter().map(|t| t.abs()).sum::<f64>() / y.len().max(1) as f64;
    move |a: f64, b: f64| {
        let dy = b - a;
        dy <= TIME_TOLERANCE || dy / mean_abs <= TIME_TOLERANCE
    }
}

/// Maps sorted distinct times to the time R's `aeqSurv` bins them into (the first time of
/// each run of near-ties). The result has one entry per input time.
pub fn near_tie_representatives(sorted_distinct: &[f64]) -> Vec<f64> {
    let tied = near_tie_rule(sorted_distinct);
    let mut out = Vec::with_capacity(sorted_distinct.len());
    for (i, &t) in sorted_distinct.iter().enumerate() {
        if i > 0 && tied(sorted_distinct[i - 1], t) {
            let rep = out[i - 1];
            out.push(rep);
        } else {
            out.push(t);
        }
    }
    out
}

/// How pointwise confidence limits of S(t) are formed (R's `conf.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfType {
    /// `exp(log S ± z·se)`, upper limit clipped at 1. R's default.
    Log,
    /// `S^exp(±z·se / log S)` (SAS's default); undefined where S is 0 or 1.
    LogLog,
    /// `S ± z·se·S`, clipped to [0, 1].
    Plain,
    /// On the logit scale, `se·(1 + S/(1-S))`.
    Logit,
    /// On the arcsine-square-root scale.
    Arcsin,
    /// No limits.
    None,
}

impl ConfType {
    /// Parses R's spelling (`"log"`, `"log-log"`, `"plain"`, `"logit"`, `"arcsin"`, `"none"`).
    pub fn parse(s: &str) -> Option<ConfType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "log" => ConfType::Log,
            "log-log" | "loglog" => ConfType::LogLog,
            "plain" | "linear" => ConfType::Plain,
            "logit" => ConfType::Logit,
            "arcsin" | "asin" => ConfType::Arcsin,
            "none" => ConfType::None,
            _ => return None,
        })
    }

    /// The accepted names, for error messages.
    pub const NAMES: &'static str = "'log', 'log-log', 'plain', 'logit', 'arcsin', 'none'";
}

/// Pointwise confidence limits for S at each curve time. NaN marks R's `NA`/`NaN`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// R's `pmax(x, y)` / `pmin(x, y)` propagate NaN, unlike `f64::max`.
fn r_pmax(x: f64, y: f64) -> f64 {
    if x.is_nan() {
        x
    } else {
        x.max(y)
    }
}
fn r_pmin(x: f64, y: f64) -> f64 {
    if x.is_nan() {
        x
    } else {
        x.min(y)
    }
}

/// One pointwise confidence interval for S = `surv` with Greenwood `se` of `-log S`, as R's
/// `survfit_confint(p, se, logse = TRUE, conf.type, conf.int)`.
///
/// * log: `exp(log S ∓ z·se)`, upper clipped at 1, NaN where S = 0.
/// * log-log: lower `exp(-exp(log(-log S) - z·se/log S))`, upper with `+`; NaN where S is 0 or 1.
/// * plain: `S ∓ z·se·S` clipped to [0, 1] (NaN where S = 0 and se = Inf).
/// * logit: `1 - 1/(1 + exp(logit S ∓ z·se·(1 + S/(1-S))))`.
/// * arcsin: `sin²(asin(√S) ∓ ½·z·se·√(S/(1-S)))`, clipped to [0, π/2] inside.
pub fn confint(surv: f64, se: f64, conf_type: ConfType, z: f64) -> (f64, f64) {
    let p = surv;
    match conf_type {
        ConfType::None => (f64::NAN, f64::NAN),
        ConfType::Plain => {
            let se2 = se * p * z;
            (r_pmax(p - se2, 0.0), r_pmin(p + se2, 1.0))
        }
        ConfType::Log => {
            if p == 0.0 {
                return (f64::NAN, f64::NAN);
            }
            let se2 = z * se;
            ((p.ln() - se2).exp(), r_pmin((p.ln() + se2).exp(), 1.0))
        }
        ConfType::LogLog => {
            if p == 0.0 || p == 1.0 {
                return (f64::NAN, f64::NAN);
            }
            let se2 = z * se / p.ln();
            let ll = (-p.ln()).ln();
            ((-(ll - se2).exp()).exp(), (-(ll + se2).exp()).exp())
        }
        ConfType::Logit => {
            if p == 0.0 {
                return (f64::NAN, f64::NAN);
            }
            let se2 = z * se * (1.0 + p / (1.0 - p));
            let lg = (p / (1.0 - p)).ln();
            (
                1.0 - 1.0 / (1.0 + (lg - se2).exp()),
                1.0 - 1.0 / (1.0 + (lg + se2).exp()),
            )
        }
        ConfType::Arcsin => {
            if p == 0.0 {
                return (f64::NAN, f64::NAN);
            }
            let se2 = 0.5 * z * se * (p / (1.0 - p)).sqrt();
            let a = p.sqrt().asin();
            (
                r_pmax(a - se2, 0.0).sin().powi(2),
                r_pmin(a + se2, std::f64::consts::FRAC_PI_2).sin().powi(2),
            )
        }
    }
}

/// A Kaplan-Meier curve: one row per distinct time (event or censoring), as the components of
/// R's `survfit(Surv(time, event) ~ 1)` object (`fit$time`, `fit$n.risk`, ...). With case
/// weights the counts are sums of weights, as R reports them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KaplanMeier {
    pub time: Vec<f64>,
    /// Number at risk just before each time: subjects with time ≥ t (and, with delayed
    /// entry, entry < t).
    pub n_risk: Vec<f64>,
    /// Number of subjects (rows; R's `records`).
    pub records: u64,
    pub n_event: Vec<f64>,
    pub n_censor: Vec<f64>,
    /// S(t) = Π_{t_j ≤ t} (1 - d_j / n_j).
    pub surv: Vec<f64>,
    /// Standard error of -log S(t), which drives the bands: Greenwood's
    /// sqrt(Σ d_j / (n_j (n_j - d_j))), R's `fit$std.err` (infinite once S reaches 0); with
    /// non-integer case weights `std_err / surv` (0 where that is 0), as `survfit_confint`
    /// converts R's robust standard error.
    pub std_err_log: Vec<f64>,
    /// Standard error of S(t) (R's `summary(fit)$std.err`): `surv * std_err_log` (NaN where
    /// S = 0), or the infinitesimal-jackknife estimate with non-integer case weights.
    pub std_err: Vec<f64>,
    /// Nelson-Aalen cumulative hazard H(t) = Σ d_j / n_j (R's `fit$cumhaz`, ctype 1).
    pub cumhaz: Vec<f64>,
    /// sqrt(Σ d_j / n_j²), R's `fit$std.chaz` (the infinitesimal jackknife with non-integer
    /// case weights).
    pub std_chaz: Vec<f64>,
}

/// `count` subjects with the same entry, time, event indicator and case weight: the input of
/// the weighted Kaplan-Meier estimate ([`KaplanMeier::from_weighted`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightedRecord {
    /// Entry time (delayed entry); `f64::NEG_INFINITY` for subjects at risk from the start.
    pub entry: f64,
    pub time: f64,
    pub event: bool,
    /// The case weight, finite and ≥ 0.
    pub weight: f64,
    pub count: u64,
}

/// The median (or any quantile) with its confidence limits. `None` where R gives `NA`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quantile {
    pub estimate: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// The curve's value at an arbitrary time, as one row of `summary(fit, times = t, extend = TRUE)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurvivalAt {
    pub time: f64,
    /// Number with time ≥ t (0 after the last observation).
    pub n_risk: f64,
    /// Events and censorings at times ≤ t.
    pub n_event: f64,
    pub n_censor: f64,
    pub surv: f64,
    /// Standard error of S (not of log S): `std.err * surv`; `None` where S = 0 (R: NaN).
    pub std_err: Option<f64>,
    pub cumhaz: f64,
    pub std_chaz: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// Restricted mean survival time up to `tau` with its standard error, as
/// `summary(fit, rmean = tau)$table[c("rmean", "se(rmean)")]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rmst {
    pub tau: f64,
    pub rmst: f64,
    pub std_err: f64,
}

fn none_if_nan(x: f64) -> Option<f64> {
    if x.is_nan() {
        None
    } else {
        Some(x)
    }
}

impl KaplanMeier {
    /// Computes the curve from per-time counts, as R's `survfitKM` (`Csurvfitkm`, type 1:
    /// Kaplan-Meier survival with Nelson-Aalen cumulative hazard).
    pub fn from_counts(counts: &TimeCounts) -> Self {
        let mut km = KaplanMeier::default();
        km.refill_from_counts(counts);
        km
    }

    /// [`from_counts`](Self::from_counts) into this curve's columns, reusing their memory:
    /// evaluating a million groups one after another then allocates nothing per group.
    pub fn refill_from_counts(&mut self, counts: &TimeCounts) {
        self.refill(counts, &counts.n_event, &counts.n_censor);
    }

    /// The reverse Kaplan-Meier curve of `counts` (censorings as the events:
    /// `survfit(Surv(time, 1 - event) ~ 1)`, the follow-up estimator) into this curve's
    /// columns: [`from_counts`](Self::from_counts) of [`TimeCounts::reversed`] without the copy.
    pub fn refill_reversed_from_counts(&mut self, counts: &TimeCounts) {
        self.refill(counts, &counts.n_censor, &counts.n_event);
    }

    /// The curve of `counts`' times and entries with `n_event` counted as the events and
    /// `n_censor` as the censorings.
    fn refill(&mut self, counts: &TimeCounts, n_event: &[u64], n_censor: &[u64]) {
        let k = counts.time.len();
        let km = self;
        for column in [
            &mut km.time,
            &mut km.n_event,
            &mut km.n_censor,
            &mut km.n_risk,
            &mut km.surv,
            &mut km.std_err_log,
            &mut km.std_err,
            &mut km.cumhaz,
            &mut km.std_chaz,
        ] {
            column.clear();
            column.reserve(k);
        }
        km.time.extend_from_slice(&counts.time);
        km.n_event.extend(n_event.iter().map(|&d| d as f64));
        km.n_censor.extend(n_censor.iter().map(|&c| c as f64));
        km.records = counts.n();
        // Without delayed entry everyone is at risk from the start; with it, subjects join
        // the risk set at the first time after their entry (R: entry < t ≤ time).
        let delayed = !counts.entries.is_empty();
        let mut at_risk = if delayed { 0 } else { counts.n() };
        let mut next_entry = 0;
        let (mut s, mut greenwood, mut h, mut var_h) = (1.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
        for i in 0..k {
            while next_entry < counts.entries.len() && counts.entries[next_entry].0 < counts.time[i]
            {
                at_risk += counts.entries[next_entry].1;
                next_entry += 1;
            }
            let (n, d) = (at_risk as f64, n_event[i] as f64);
            if d > 0.0 {
                s *= (n - d) / n;
                greenwood += d / (n * (n - d));
                h += d / n;
                var_h += d / (n * n);
            }
            km.n_risk.push(n);
            km.surv.push(s);
            km.std_err_log.push(greenwood.sqrt());
            km.std_err.push(s * greenwood.sqrt());
            km.cumhaz.push(h);
            km.std_chaz.push(var_h.sqrt());
            // Saturating: a subject whose entry is not before its time was never counted in
            // (the SQL layer refuses such rows; R: "stop time must be > start time").
            at_risk = at_risk.saturating_sub(n_event[i] + n_censor[i]);
        }
    }

    /// The curve from case-weighted (and optionally left-truncated) data, as R's
    /// `survfit(Surv([entry,] time, event) ~ 1, weights = w)`: n_j and d_j are sums of
    /// weights (the number at risk `Σ_{entry < t_j ≤ time} w`, summed from the last time
    /// down as `survfitkm.c` does), S(t) = Π (1 - d_j / n_j), H(t) = Σ d_j / n_j, counting
    /// only times with an event of positive weight.
    ///
    /// The variance follows R's choice (`survfitKM`): with whole-number weights (frequency
    /// weights) Greenwood's formula on the weighted counts; with any non-integer weight R's
    /// robust infinitesimal-jackknife variance, each row its own cluster,
    /// `Var S(t) = Σ_i w_i² U_i(t)²` with the influence per unit weight
    /// `U_i(t) = -S(t) Σ_{t_j ≤ t} (dN_i(t_j) - Y_i(t_j) h_j) / (n_j - d_j)` (for H:
    /// `Σ (dN_i - Y_i h_j) / n_j`), h_j = d_j / n_j. Over the subjects still at risk the
    /// inner sum is `C(t) - C(e_i)` with `C` the running sum of `h_j / (n_j - d_j)`, so
    /// three running sums over the risk set and one over departed subjects give the
    /// variance at every time in O(cells) (the recursion of `survfitkm.c` costs
    /// O(times × subjects)). Once S reaches 0 its influence is 0, as R's.
    ///
    /// Near-tied times (entries and exits together) are merged as `aeqSurv`; records are
    /// summed in a fixed order, so the result does not depend on the order of `records`.
    ///
    /// # Errors
    /// When a subject's entry and time merge into one (R: "an interval has effective length
    /// 0").
    pub fn from_weighted(records: &[WeightedRecord]) -> Result<Self, String> {
        let mut all: Vec<f64> = records
            .iter()
            .map(|r| r.time + 0.0)
            .chain(
                records
                    .iter()
                    .filter(|r| r.entry.is_finite())
                    .map(|r| r.entry + 0.0),
            )
            .collect();
        all.sort_unstable_by(f64::total_cmp);
        all.dedup();
        let reps = near_tie_representatives(&all);
        let rep = |t: f64| reps[all.partition_point(|&x| x < t + 0.0)];
        let mut rows: Vec<WeightedRecord> = Vec::with_capacity(records.len());
        for r in records {
            let time = rep(r.time);
            let entry = if r.entry.is_finite() {
                rep(r.entry)
            } else {
                f64::NEG_INFINITY
            };
            if entry >= time {
                return Err(format!(
                    "a subject's entry {} and time {} are within R's tie tolerance (aeqSurv \
                     merges them; R stops with 'an interval has effective length 0')",
                    r.entry, r.time
                ));
            }
            rows.push(WeightedRecord { entry, time, ..*r });
        }
        // A total order: floating-point sums must not depend on the order records came in.
        rows.sort_unstable_by(|a, b| {
            a.time
                .total_cmp(&b.time)
                .then(a.entry.total_cmp(&b.entry))
                .then(a.event.cmp(&b.event))
                .then(a.weight.total_cmp(&b.weight))
        });
        let mut time: Vec<f64> = rows.iter().map(|r| r.time).collect();
        time.dedup();
        let k = time.len();
        let slot = |t: f64| time.partition_point(|&x| x < t);
        let (mut d0, mut d, mut c) = (vec![0u64; k], vec![0.0; k], vec![0.0; k]);
        let mut exits = vec![0.0; k];
        for r in &rows {
            let j = slot(r.time);
            let w = r.weight * r.count as f64;
            if r.event {
                d0[j] += r.count;
                d[j] += w;
            } else {
                c[j] += w;
            }
            exits[j] += w;
        }
        // Entries by the first curve time after them (R: at risk when entry < t).
        let mut entries_at = vec![0.0; k + 1];
        for r in rows.iter().filter(|r| r.entry.is_finite()) {
            entries_at[time.partition_point(|&x| x <= r.entry)] += r.weight * r.count as f64;
        }
        // n_j = Σ_{time ≥ t_j} w - Σ_{entry ≥ t_j} w, from the end as survfitkm.c sums.
        let mut n_risk = vec![0.0; k];
        let (mut exit_sum, mut entry_sum) = (0.0, 0.0);
        for j in (0..k).rev() {
            exit_sum += exits[j];
            entry_sum += entries_at[j + 1];
            n_risk[j] = exit_sum - entry_sum;
        }
        let robust = rows.iter().any(|r| r.weight.fract() != 0.0);
        let mut km = KaplanMeier {
            time: time.clone(),
            n_risk,
            records: rows.iter().map(|r| r.count).sum(),
            n_event: d,
            n_censor: c,
            ..Default::default()
        };
        let (mut s, mut greenwood, mut h, mut var_h) = (1.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
        // Robust variance: running sums (see above). `c_s`/`c_h`: C for S and for H; over
        // the risk set `risk_*[m] = Σ w² C(e)^m`; `gone_*`: Σ w² A² of departed subjects;
        // `entry_c[i]`: C for S and H when row i entered.
        let (mut c_s, mut c_h) = (0.0_f64, 0.0_f64);
        let (mut risk_s, mut risk_h) = ([0.0_f64; 3], [0.0_f64; 3]);
        let (mut gone_s, mut gone_h) = (0.0_f64, 0.0_f64);
        let mut entry_c = vec![(0.0_f64, 0.0_f64); rows.len()];
        let mut entering: Vec<usize> = (0..rows.len()).collect();
        entering.sort_by(|&a, &b| rows[a].entry.total_cmp(&rows[b].entry));
        let (mut next_entry, mut first_row) = (0, 0);
        let add = |sums: &mut [f64; 3], w2: f64, ce: f64, sign: f64| {
            sums[0] += sign * w2;
            sums[1] += sign * w2 * ce;
            sums[2] += sign * w2 * ce * ce;
        };
        for j in 0..k {
            let (n, dj) = (km.n_risk[j], km.n_event[j]);
            let update = d0[j] > 0 && dj > 0.0;
            if update {
                s *= (n - dj) / n;
                greenwood += dj / (n * (n - dj));
                h += dj / n;
                var_h += dj / (n * n);
            }
            km.surv.push(s);
            km.cumhaz.push(h);
            if !robust {
                km.std_err_log.push(greenwood.sqrt());
                km.std_err.push(s * greenwood.sqrt());
                km.std_chaz.push(var_h.sqrt());
                continue;
            }
            // Subjects entering before t_j join the risk set with C(e) = C so far.
            while next_entry < entering.len() && rows[entering[next_entry]].entry < time[j] {
                let i = entering[next_entry];
                let w2 = rows[i].weight * rows[i].weight * rows[i].count as f64;
                entry_c[i] = (c_s, c_h);
                add(&mut risk_s, w2, c_s, 1.0);
                add(&mut risk_h, w2, c_h, 1.0);
                next_entry += 1;
            }
            // S reaches 0 when everyone at risk fails: from then on every influence on S is
            // 0 (and h / (n - d) infinite), so only H's sums go on.
            let alive = s > 0.0;
            if update {
                if alive {
                    c_s += dj / (n * (n - dj));
                }
                c_h += dj / (n * n);
            }
            // Subjects leaving at t_j: their influence is fixed from now on.
            let last_row = first_row + rows[first_row..].partition_point(|r| r.time <= time[j]);
            for i in first_row..last_row {
                let r = &rows[i];
                let w2 = r.weight * r.weight * r.count as f64;
                let (ce_s, ce_h) = entry_c[i];
                let failed = r.event && update;
                if alive {
                    let a = c_s - ce_s - if failed { 1.0 / (n - dj) } else { 0.0 };
                    gone_s += w2 * a * a;
                    add(&mut risk_s, w2, ce_s, -1.0);
                }
                let a = c_h - ce_h - if failed { 1.0 / n } else { 0.0 };
                gone_h += w2 * a * a;
                add(&mut risk_h, w2, ce_h, -1.0);
            }
            first_row = last_row;
            let spread = |gone: f64, sums: &[f64; 3], c: f64| {
                (gone + c * c * sums[0] - 2.0 * c * sums[1] + sums[2]).max(0.0)
            };
            let se = if alive {
                s * spread(gone_s, &risk_s, c_s).sqrt()
            } else {
                0.0
            };
            km.std_err.push(se);
            km.std_err_log.push(if se == 0.0 { 0.0 } else { se / s });
            km.std_chaz.push(spread(gone_h, &risk_h, c_h).sqrt());
        }
        Ok(km)
    }
}

mod summaries;
#[cfg(test)]
mod tests;

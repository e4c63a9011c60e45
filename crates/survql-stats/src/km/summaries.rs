//! What is read off a fitted curve: medians and quantiles (`survmean`, `quantile.survfit`),
//! survival at given times (`summary(fit, times)`), the restricted mean (`print(fit, rmean)`).

use super::*;

impl KaplanMeier {
    /// Number of subjects (R's `records`).
    pub fn n(&self) -> u64 {
        self.records
    }

    /// Number of events (their total weight with case weights).
    pub fn events(&self) -> f64 {
        self.n_event.iter().sum()
    }

    /// Pointwise confidence limits at every curve time (`fit$lower`, `fit$upper`), at
    /// confidence `level` (R's `conf.int`). NaN where R gives NA or NaN.
    pub fn bands(&self, conf_type: ConfType, level: f64) -> Bands {
        let z = z_for_level(level);
        let (lower, upper) = self
            .surv
            .iter()
            .zip(&self.std_err_log)
            .map(|(&s, &se)| confint(s, se, conf_type, z))
            .unzip();
        Bands { lower, upper }
    }

    /// The median and its confidence limits as `print(fit)` / `summary(fit)$table` report them
    /// (R's internal `survmean`): the first time the curve (resp. the lower and upper band) is
    /// ≤ 0.5, or the midpoint to the next time it drops when it sits at exactly 0.5 (within
    /// sqrt(eps)). `None` where the curve or band never reaches 0.5.
    pub fn median_table(&self, bands: Option<&Bands>) -> Quantile {
        Quantile {
            estimate: minmin(&self.surv, &self.time),
            lower: bands.and_then(|b| minmin(&b.lower, &self.time)),
            upper: bands.and_then(|b| minmin(&b.upper, &self.time)),
        }
    }

    /// The `p`-quantile (the time at which 1 - S first reaches p) with confidence limits read
    /// off the bands, as `quantile(fit, p, conf.int = TRUE)`; R's internal `findq`. Unlike
    /// [`median_table`](Self::median_table), a flat stretch at exactly 1 - p that runs to the
    /// end of the curve gives the midpoint up to the last time, and a non-monotone band gives
    /// the time where it attains its largest value ≤ 1 - p.
    pub fn quantile(&self, p: f64, bands: Option<&Bands>) -> Quantile {
        let one_minus = |v: &[f64]| -> Vec<f64> { v.iter().map(|s| 1.0 - s).collect() };
        Quantile {
            estimate: findq(&self.time, &one_minus(&self.surv), p),
            // The lower band reaches 1 - p first, so it gives the lower limit.
            lower: bands.and_then(|b| findq(&self.time, &one_minus(&b.lower), p)),
            upper: bands.and_then(|b| findq(&self.time, &one_minus(&b.upper), p)),
        }
    }

    /// The median as [`median_table`](Self::median_table) under `convention`'s rules (see
    /// [`crate::convention`]): R's; SAS's (none when S never falls below 0.5); Stata's and
    /// SPSS's first time S ≤ 0.5, SPSS's limits symmetric around it. `bands` are the pointwise
    /// limits at `level` (used by R, SAS and Stata).
    pub fn median_with(
        &self,
        convention: Convention,
        bands: Option<&Bands>,
        level: f64,
    ) -> Quantile {
        match convention {
            Convention::R => self.median_table(bands),
            _ => self.quantile_with(convention, 0.5, bands, level),
        }
    }

    /// The `p`-quantile as [`quantile`](Self::quantile) under `convention`'s rules.
    pub fn quantile_with(
        &self,
        convention: Convention,
        p: f64,
        bands: Option<&Bands>,
        level: f64,
    ) -> Quantile {
        let r = self.quantile(p, bands);
        match convention {
            Convention::R => r,
            Convention::Sas => Quantile {
                estimate: crate::convention::sas_quantile(&self.time, &self.surv, p),
                ..r
            },
            Convention::Stata => Quantile {
                estimate: crate::convention::first_at_or_below(&self.time, &self.surv, p),
                ..r
            },
            Convention::Spss => crate::convention::spss_quantile_limits(
                &self.time,
                &self.surv,
                &self.std_err,
                p,
                z_for_level(level),
            ),
        }
    }

    /// Whether `t` lies past the curve's last time and the curve ends above 0 (its last
    /// observation censored): SAS reports S(t) there as not estimable, R carries the last
    /// value forward.
    pub fn beyond_follow_up(&self, t: f64) -> bool {
        match (self.time.last(), self.surv.last()) {
            (Some(&last), Some(&s)) => t > last && s > 0.0,
            _ => false,
        }
    }

    /// The start of the curve as R's `survfit0` adds it: `min(0, first time)`.
    pub fn start_time(&self) -> f64 {
        self.time.first().map_or(0.0, |&t| t.min(0.0))
    }

    /// The curve at time `t`, as `summary(fit, times = t, extend = TRUE)`: the values of the
    /// last curve time ≤ t (S = 1, se 0 and limits 1 before the first time), `n_risk` the
    /// number with time ≥ t, `n_event`/`n_censor` counted over times ≤ t.
    pub fn at(&self, t: f64, conf_type: ConfType, level: f64) -> SurvivalAt {
        // Index of the last curve time <= t (R's findInterval on the survfit0 curve).
        let idx = self.time.partition_point(|&x| x <= t);
        let first_ge = self.time.partition_point(|&x| x < t);
        let n_risk = self.n_risk.get(first_ge).copied().unwrap_or(0.0);
        let n_event = self.n_event[..idx].iter().sum();
        let n_censor = self.n_censor[..idx].iter().sum();
        if idx == 0 {
            // Before the first time: survfit0's row, S = 1 with zero variance and limits 1.
            let none = conf_type == ConfType::None;
            return SurvivalAt {
                time: t,
                n_risk,
                n_event,
                n_censor,
                surv: 1.0,
                std_err: Some(0.0),
                cumhaz: 0.0,
                std_chaz: 0.0,
                lower: (!none).then_some(1.0),
                upper: (!none).then_some(1.0),
            };
        }
        let i = idx - 1;
        let (lower, upper) = confint(
            self.surv[i],
            self.std_err_log[i],
            conf_type,
            z_for_level(level),
        );
        SurvivalAt {
            time: t,
            n_risk,
            n_event,
            n_censor,
            surv: self.surv[i],
            std_err: none_if_nan(self.std_err[i]),
            cumhaz: self.cumhaz[i],
            std_chaz: self.std_chaz[i],
            lower: none_if_nan(lower),
            upper: none_if_nan(upper),
        }
    }

    /// Restricted mean survival time: the area under S from the start time (0, or the
    /// smallest negative time) to `tau`, S carried forward past the last time; R's `survmean`
    /// with `rmean = tau`. Its variance is
    /// `Σ_k (∫_{t_k}^{tau} S)² · d_k / (n_k (n_k - d_k))` (terms with n_k = d_k dropped), as
    /// `se(rmean)`.
    ///
    /// R refuses a `tau` before the first time; here that gives `tau - start` with SE 0, the
    /// area of S = 1. Returns `None` for an empty curve or `tau` before the start time.
    pub fn rmst(&self, tau: f64) -> Option<Rmst> {
        if self.time.is_empty() {
            return None;
        }
        let start = self.start_time();
        if tau < start {
            return None;
        }
        // The survfit0 curve: a row (start, S = 1, no events) unless a time equals start.
        let mut time = Vec::with_capacity(self.time.len() + 2);
        let mut surv = Vec::with_capacity(self.time.len() + 2);
        let mut hh = Vec::with_capacity(self.time.len() + 2);
        if self.time[0] != start {
            time.push(start);
            surv.push(1.0);
            hh.push(0.0);
        }
        for i in 0..self.time.len() {
            let (n, d) = (self.n_risk[i], self.n_event[i]);
            time.push(self.time[i]);
            surv.push(self.surv[i]);
            hh.push(if n - d == 0.0 { 0.0 } else { d / (n * (n - d)) });
        }
        let keep = time.partition_point(|&x| x <= tau);
        // keep >= 1 because time[0] = start <= tau.
        let (mut tt, mut ss, mut hk) = (
            time[..keep].to_vec(),
            surv[..keep].to_vec(),
            hh[..keep].to_vec(),
        );
        tt.push(tau);
        ss.push(surv[keep - 1]);
        hk.push(0.0);
        let n = tt.len();
        // rectangles[i] = (tt[i] - tt[i-1]) * S before tt[i]; rectangles[0] = (tt[0] - start).
        let mut rect = Vec::with_capacity(n);
        let mut prev_t = start;
        let mut prev_s = 1.0;
        for i in 0..n {
            rect.push((tt[i] - prev_t) * prev_s);
            prev_t = tt[i];
            prev_s = ss[i];
        }
        let mean = rect.iter().sum::<f64>() + start;
        // varmean = sum(cumsum(rev(rect[-1]))^2 * rev(hh)[-1])
        let mut varmean = 0.0;
        let mut tail_area = 0.0;
        for k in (0..n - 1).rev() {
            tail_area += rect[k + 1];
            varmean += tail_area * tail_area * hk[k];
        }
        Some(Rmst {
            tau,
            rmst: mean,
            std_err: varmean.sqrt(),
        })
    }
}

/// R's `survmean` helper `minmin(y, x)`: the first x with y < 0.5 + tol; if that y is 0.5
/// (within tol) and y later drops strictly below it, the midpoint with the first such x.
fn minmin(y: &[f64], x: &[f64]) -> Option<f64> {
    let tol = TIME_TOLERANCE;
    let kept: Vec<(f64, f64)> = y
        .iter()
        .zip(x)
        .filter(|(y, _)| !y.is_nan() && **y < 0.5 + tol)
        .map(|(&y, &x)| (y, x))
        .collect();
    let &(y1, x1) = kept.first()?;
    if (y1 - 0.5).abs() < tol {
        if let Some(&(_, x2)) = kept.iter().find(|(y, _)| *y < y1) {
            return Some((x1 + x2) / 2.0);
        }
    }
    Some(x1)
}

/// R's `findq(c(0, time), c(0, y), p, tol)` from `quantile.survfit`, for one probability:
/// where a horizontal line at p meets the step function 1 - S (here `y`), with the
/// midpoint rule on flat stretches at p.
fn findq(time: &[f64], y: &[f64], p: f64) -> Option<f64> {
    let tol = TIME_TOLERANCE;
    // x = c(firstx, time), y = c(0, y); firstx = 0 for survfit objects without start.time.
    let mut xs = Vec::with_capacity(time.len() + 1);
    let mut ys = Vec::with_capacity(y.len() + 1);
    xs.push(0.0);
    ys.push(0.0);
    xs.extend_from_slice(time);
    ys.extend_from_slice(y);
    let max_y = ys
        .iter()
        .filter(|v| !v.is_nan())
        .fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    if max_y < p {
        return None;
    }
    let xmax = *xs.last().unwrap();
    // Remove duplicated y values (the censorings); NaN counts as a value, as in R.
    let mut dx = Vec::with_capacity(xs.len());
    let mut dy: Vec<f64> = Vec::with_capacity(ys.len());
    let mut seen = std::collections::HashSet::with_capacity(ys.len());
    for (&x, &v) in xs.iter().zip(&ys) {
        let key = if v.is_nan() {
            f64::NAN.to_bits()
        } else {
            (v + 0.0).to_bits()
        };
        if seen.insert(key) {
            dx.push(x);
            dy.push(v);
        }
    }
    let n = dy.len();
    // approx(y + off, 1:n, p, method = "constant", f = 1)$y: the index of the smallest
    // non-NA value >= p, or NA when p lies outside the range of the values.
    let index_at = |off: f64| -> Option<usize> {
        let vals = dy
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(i, v)| (i, v + off));
        let mut lo = f64::INFINITY;
        let mut best: Option<(usize, f64)> = None;
        for (i, v) in vals {
            lo = lo.min(v);
            if v >= p && best.is_none_or(|(_, bv)| v < bv) {
                best = Some((i, v));
            }
        }
        if p < lo {
            return None;
        }
        best.map(|(i, _)| i)
    };
    let indx1 = index_at(tol);
    let indx2 = index_at(-tol);
    let mut quant = match (indx1, indx2) {
        (Some(i), Some(j)) => Some((dx[i] + dx[j]) / 2.0),
        _ => None,
    };
    if p == 0.0 {
        quant = Some(dx[0]);
    }
    let last = dy[n - 1];
    if !last.is_nan() && (p - last).abs() < tol {
        quant = indx1.map(|i| (dx[i] + xmax) / 2.0);
    }
    quant
}

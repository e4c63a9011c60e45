//! One pass over the prepared data: the log partial likelihood, score and information at β
//! with Efron or Breslow ties (R's `coxfit6` and `agfit4` inner loops), row by row or by
//! distinct time.

use super::*;

/// Log partial likelihood, score and information at `beta` (on the prepared scale).
pub(super) struct Pass {
    pub(super) loglik: f64,
    pub(super) u: Vec<f64>,
    pub(super) imat: Matrix,
}

/// Running sums over a risk set: Σ r, Σ r x, Σ r x x' (lower triangle).
pub(super) struct RiskSums {
    pub(super) denom: f64,
    pub(super) a: Vec<f64>,
    pub(super) cmat: Vec<f64>,
}

impl RiskSums {
    pub(super) fn new(p: usize) -> RiskSums {
        RiskSums {
            denom: 0.0,
            a: vec![0.0; p],
            cmat: vec![0.0; p * p],
        }
    }

    pub(super) fn clear(&mut self) {
        self.denom = 0.0;
        self.a.iter_mut().for_each(|v| *v = 0.0);
        self.cmat.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Adds a row with covariates `x` and risk weight `risk`. The likelihood passes spend
    /// most of their time here (p + p(p+1)/2 products per row), so models of up to 8
    /// coefficients get a copy compiled for their size, its loops unrolled without bounds
    /// checks; the arithmetic is the same, in the same order.
    #[inline]
    pub(super) fn add(&mut self, x: &[f64], risk: f64) {
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
    pub(super) fn add_sized<const P: usize>(&mut self, x: &[f64], risk: f64) {
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
    pub(super) fn add_sums(&mut self, other: &RiskSums) {
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

    pub(super) fn add_any(&mut self, x: &[f64], risk: f64) {
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

/// Each prepared row's risk weight `exp(η) w`, on every core for large fits (a row's number
/// is the same expression whichever thread computes it). η itself is not kept: the pass
/// needs it at deaths only and computes it again there (n fewer numbers to hold).
pub(super) fn fill_risk(d: &Prepared, beta: &[f64], risk: &mut [f64]) {
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
pub(super) fn likelihood_pass(d: &Prepared, beta: &[f64], ties: Ties, risk: &mut [f64]) -> Pass {
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
pub(super) struct DeathSums {
    pub(super) ties: Ties,
    pub(super) loglik: f64,
    pub(super) u: Vec<f64>,
    pub(super) imat: Matrix,
}

impl DeathSums {
    /// A time with `ndead` deaths of total weight `deadwt` and sums `deaths`: they join the
    /// risk set (which holds everyone else at risk), and the likelihood, score and
    /// information take their terms (Breslow, or Efron's average over the tied deaths).
    pub(super) fn add_deaths(
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
pub(super) fn rows_pass(
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
pub(super) struct TimeRows {
    pub(super) censored: RiskSums,
    pub(super) deaths: RiskSums,
    pub(super) ndead: usize,
    pub(super) deadwt: f64,
    pub(super) loglik: f64,
    pub(super) u: Vec<f64>,
    pub(super) row_buf: Vec<f64>,
}

impl TimeRows {
    pub(super) fn new(p: usize) -> TimeRows {
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
    pub(super) fn fill(
        &mut self,
        d: &Prepared,
        beta: &[f64],
        risk: &[f64],
        (lo, hi): (usize, usize),
    ) {
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
pub(super) const ROUND_RUNS: usize = 1024;

/// [`likelihood_pass`] by distinct times ([`Prepared::runs`], right-censored data): a round
/// of times is summed (on every core for large fits), then the times join the risk set in
/// order.
pub(super) fn runs_pass(
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

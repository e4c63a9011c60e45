//! Actuarial life tables, as KMsurv's `lifetab` (Klein & Moeschberger) and SAS PROC LIFETEST
//! `METHOD=LT`.
//!
//! For the intervals [b_i, b_{i+1}) of the breaks and a last open interval [b_k, ∞): Y'_j
//! entering, w_j withdrawn (censored in the interval), d_j events; the effective number at
//! risk Y_j = Y'_j − w_j/2, the conditional probability of the event q_j = d_j/Y_j (p_j =
//! 1 − q_j), survival at the interval's start S_j = Π_{i<j} p_i with Greenwood's SE
//! S_j √(Σ_{i<j} d_i/(Y_i (Y_i − d_i))), and at the interval's midpoint, with width h_j, the
//! density f_j = (S_j − S_{j+1})/h_j, SE (S_j q_j/h_j) √(Σ_{i<j} q_i/(Y_i p_i) + p_j/(Y_j q_j)),
//! and the hazard λ_j = d_j/(h_j (Y_j − d_j/2)), SE √(1 − (λ_j h_j/2)²) √(λ_j²/(Y_j q_j)); the
//! open interval has neither (NaN). Undefined values (0/0) are NaN, as R's.

use crate::km::TimeCounts;

/// One interval of a life table.
#[derive(Debug, Clone, PartialEq)]
pub struct LifeTableRow {
    pub lower: f64,
    /// ∞ for the last, open interval (NULL in SQL).
    pub upper: f64,
    pub n_entering: f64,
    pub n_withdrawn: f64,
    pub n_at_risk: f64,
    pub n_events: f64,
    pub cond_prob: f64,
    pub surv: f64,
    pub std_err: f64,
    pub hazard: f64,
    pub hazard_se: f64,
    pub density: f64,
    pub density_se: f64,
}

/// The breaks of a width: 0, w, 2w, ... up to the largest multiple of w not above `max_time`.
pub fn width_breaks(width: f64, max_time: f64) -> Vec<f64> {
    let k = (max_time / width).floor().max(0.0) as usize;
    (0..=k).map(|i| i as f64 * width).collect()
}

/// The life table of `counts` over `breaks` (strictly increasing, the first at or before the
/// earliest time: the caller checks). See the module documentation.
pub fn life_table(counts: &TimeCounts, breaks: &[f64]) -> Vec<LifeTableRow> {
    let k = breaks.len();
    let (mut events, mut lost) = (vec![0.0; k], vec![0.0; k]);
    for (i, &t) in counts.time.iter().enumerate() {
        let j = breaks.partition_point(|&b| b <= t) - 1;
        events[j] += counts.n_event[i] as f64;
        lost[j] += counts.n_censor[i] as f64;
    }
    let total: f64 = events.iter().sum::<f64>() + lost.iter().sum::<f64>();
    let mut rows = Vec::with_capacity(k);
    let (mut entering, mut surv) = (total, 1.0);
    let (mut greenwood, mut density_sum) = (0.0f64, 0.0f64);
    for j in 0..k {
        let at_risk = entering - lost[j] / 2.0;
        let d = events[j];
        let q = d / at_risk;
        let p = 1.0 - q;
        let width = if j + 1 < k {
            breaks[j + 1] - breaks[j]
        } else {
            f64::INFINITY
        };
        let next = surv * p;
        let (hazard, hazard_se, density, density_se) = if width.is_finite() {
            let hazard = d / width / (at_risk - d / 2.0);
            let hazard_se = (1.0 - (hazard * width / 2.0).powi(2)).sqrt()
                * (hazard * hazard / at_risk / q).sqrt();
            let density = (surv - next) / width;
            let density_se = surv * q / width * (density_sum + p / at_risk / q).sqrt();
            (hazard, hazard_se, density, density_se)
        } else {
            (f64::NAN, f64::NAN, f64::NAN, f64::NAN)
        };
        rows.push(LifeTableRow {
            lower: breaks[j],
            upper: if j + 1 < k {
                breaks[j + 1]
            } else {
                f64::INFINITY
            },
            n_entering: entering,
            n_withdrawn: lost[j],
            n_at_risk: at_risk,
            n_events: d,
            cond_prob: q,
            surv,
            std_err: surv * greenwood.sqrt(),
            hazard,
            hazard_se,
            density,
            density_se,
        });
        greenwood += d / at_risk / (at_risk - d);
        density_sum += q / at_risk / p;
        surv = next;
        entering -= lost[j] + d;
    }
    rows
}

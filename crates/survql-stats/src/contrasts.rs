//! Contrasts between Kaplan-Meier curves that need no proportional hazards: the difference and
//! ratios of restricted mean survival times (survRM2's `rmst2`, Uno et al., J Clin Oncol 2014)
//! and the difference of survival at a milestone with the number needed to treat (Altman &
//! Andersen, BMJ 1999).
//!
//! Each group's curve is its own `survfit(Surv(time, event) ~ 1)` (as `rmst2` fits each arm
//! alone); the contrasts are of a level against the reference (the first level in R's factor
//! order), `other − reference`.

use crate::distributions::two_sided_normal_p;
use crate::km::Rmst;

/// How one group's follow-up ends: its largest time, and whether every observation at that
/// time is an event (then S = 0 from there on and the curve is known past it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowUpEnd {
    pub last_time: f64,
    pub ends_with_event: bool,
}

/// The largest truncation time (`tau` of `rmst2`, `at` of a milestone) at which every group's
/// curve is estimated: min(max_g x_g, min over groups whose last observation is censored of
/// x_g), where x_g is group g's largest time. For two groups this is exactly `rmst2`'s four
/// cases (its "tau needs to be shorter than or equal to" limit); `None` without groups.
pub fn truncation_limit(groups: &[FollowUpEnd]) -> Option<f64> {
    let longest = groups.iter().map(|g| g.last_time).reduce(f64::max)?;
    let censored = groups
        .iter()
        .filter(|g| !g.ends_with_event)
        .map(|g| g.last_time)
        .fold(f64::INFINITY, f64::min);
    Some(longest.min(censored))
}

/// An estimate with its confidence limits and two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
    pub p_value: f64,
}

/// One level against the reference, as a row of `rmst2(...)$unadjusted.result`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmstContrast {
    /// RMST(other) − RMST(reference), its standard error sqrt(var₁ + var₀), the normal
    /// interval and p = 2Φ(−|diff / se|).
    pub diff: Estimate,
    pub diff_se: f64,
    /// RMST(other) / RMST(reference), interval and p on the log scale (delta method:
    /// se(log ratio) = sqrt(var₁/RMST₁² + var₀/RMST₀²)).
    pub ratio: Estimate,
    /// The ratio of restricted mean times lost, (tau − RMST₁) / (tau − RMST₀), the same way
    /// (var(RMTL) = var(RMST)).
    pub rmtl_ratio: Estimate,
}

/// The contrast of `other` against `reference`, both restricted at the same tau with normal
/// limits `± z·se` (`z = qnorm(1 − α/2)`). Formulas of survRM2 1.0-4's `rmst2`. A ratio whose
/// terms are 0 is NaN (R: `NaN` or `Inf`).
pub fn rmst_contrast(reference: &Rmst, other: &Rmst, z: f64) -> RmstContrast {
    let (var0, var1) = (
        reference.std_err * reference.std_err,
        other.std_err * other.std_err,
    );
    let diff = other.rmst - reference.rmst;
    let diff_se = (var1 + var0).sqrt();
    let log_ratio = |a1: f64, a0: f64| {
        let est = a1.ln() - a0.ln();
        let se = (var1 / a1 / a1 + var0 / a0 / a0).sqrt();
        Estimate {
            estimate: est.exp(),
            lower: (est - z * se).exp(),
            upper: (est + z * se).exp(),
            p_value: two_sided_normal_p(est / se),
        }
    };
    RmstContrast {
        diff: Estimate {
            estimate: diff,
            lower: diff - z * diff_se,
            upper: diff + z * diff_se,
            p_value: two_sided_normal_p(diff / diff_se),
        },
        diff_se,
        ratio: log_ratio(other.rmst, reference.rmst),
        rmtl_ratio: log_ratio(other.tau - other.rmst, reference.tau - reference.rmst),
    }
}

/// A curve's value at the milestone: S and its Greenwood standard error (R's
/// `summary(fit, times = at)$std.err`; NaN where S = 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurvivalPoint {
    pub surv: f64,
    pub std_err: f64,
}

/// The difference of survival at a milestone, `other − reference`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurvivalDifference {
    pub diff: f64,
    /// sqrt(se₁² + se₀²) (independent groups).
    pub std_err: f64,
    pub lower: f64,
    pub upper: f64,
    pub p_value: f64,
    /// The number needed to treat 1 / diff (positive: to benefit, negative: to harm; NaN for
    /// a difference of 0).
    pub nnt: f64,
    /// 1 / upper and 1 / lower (Altman, BMJ 1999;317:1309). When the interval of the difference
    /// excludes 0 this is the NNT's interval [nnt_lower, nnt_upper]; when it spans 0,
    /// nnt_lower > 0 > nnt_upper and the interval is the two pieces (−∞, nnt_upper] ∪
    /// [nnt_lower, ∞) ("NNT(harm) |nnt_upper| to ∞ to NNT(benefit) nnt_lower").
    pub nnt_lower: f64,
    pub nnt_upper: f64,
}

/// The difference of two independent curves' survival at one time, normal limits `± z·se`.
pub fn survival_difference(
    reference: SurvivalPoint,
    other: SurvivalPoint,
    z: f64,
) -> SurvivalDifference {
    let diff = other.surv - reference.surv;
    let se = (other.std_err * other.std_err + reference.std_err * reference.std_err).sqrt();
    let (lower, upper) = (diff - z * se, diff + z * se);
    let inverse = |x: f64| if x == 0.0 { f64::NAN } else { 1.0 / x };
    SurvivalDifference {
        diff,
        std_err: se,
        lower,
        upper,
        p_value: two_sided_normal_p(diff / se),
        nnt: inverse(diff),
        nnt_lower: inverse(upper),
        nnt_upper: inverse(lower),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(last_time: f64, ends_with_event: bool) -> FollowUpEnd {
        FollowUpEnd {
            last_time,
            ends_with_event,
        }
    }

    #[test]
    fn limit_is_rmst2s_four_cases() {
        // Both end with events: the longer; the shorter ends censored: the shorter; the
        // longer ends censored: the longer; both censored: the shorter.
        assert_eq!(
            truncation_limit(&[end(5.0, true), end(9.0, true)]),
            Some(9.0)
        );
        assert_eq!(
            truncation_limit(&[end(5.0, false), end(9.0, true)]),
            Some(5.0)
        );
        assert_eq!(
            truncation_limit(&[end(5.0, true), end(9.0, false)]),
            Some(9.0)
        );
        assert_eq!(
            truncation_limit(&[end(5.0, false), end(9.0, false)]),
            Some(5.0)
        );
        assert_eq!(truncation_limit(&[]), None);
    }

    #[test]
    fn published_lung_example() {
        // survRM2's rmst2 on R's lung by sex, tau 965 (the SEs are 22.29794 and 32.91742).
        let men = Rmst {
            tau: 965.0,
            rmst: 324.04842,
            std_err: 22.29794,
        };
        let women = Rmst {
            tau: 965.0,
            rmst: 455.90409,
            std_err: 32.91742,
        };
        let c = rmst_contrast(&men, &women, 1.959963984540054);
        // As published (survRM2's vignette prints 2 decimals): 131.86 (53.93, 209.78),
        // p 0.00091.
        assert!((c.diff.estimate - 131.86).abs() < 0.005);
        assert!((c.diff.lower - 53.93).abs() < 0.005);
        assert!((c.diff.upper - 209.78).abs() < 0.005);
        assert!((c.diff.p_value - 0.00091).abs() < 0.000005);
    }

    #[test]
    fn nnt_interval_spanning_zero_has_two_pieces() {
        let d = survival_difference(
            SurvivalPoint {
                surv: 0.5,
                std_err: 0.1,
            },
            SurvivalPoint {
                surv: 0.55,
                std_err: 0.1,
            },
            1.96,
        );
        assert!((d.nnt - 20.0).abs() < 1e-12);
        assert!(d.nnt_lower > 0.0 && d.nnt_upper < 0.0);
    }
}

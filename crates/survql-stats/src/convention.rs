//! Whose numbers: R's (the default) or the conventions of SAS, Stata and SPSS, where those
//! differ for the same estimator. Each rule below names its source; where a vendor's rule
//! could not be pinned down from a published output, R's is kept and the documentation says
//! so (see `docs/conventions.md`).
//!
//! | item | R | SAS (LIFETEST / PHREG) | Stata (sts / stci / stcox) | SPSS (KM / COXREG) |
//! |---|---|---|---|---|
//! | pointwise limits | log | log-log | log-log | none (SE only) |
//! | quantile estimate | first t with S ≤ 1−p; midpoint of a flat stretch at 1−p (to the last time when S stays there) | first t with S < 1−p; midpoint of a flat stretch at 1−p that ends in a drop; none when S stays at 1−p | first t with S ≤ 1−p | first t with S ≤ 1−p |
//! | quantile limits | where the bands cross 1−p | the same, log-log bands | the same, log-log bands | t_p ± z·SE(t_p), SE from a density estimate (Klein & Moeschberger, practical note 4.3) |
//! | S(t) after the last time, censored | the last value | none | the last value | the last value |
//! | Cox ties | Efron | Breslow | Breslow | Breslow |

use crate::km::{ConfType, Quantile};

/// A statistical package whose conventions a result follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Convention {
    /// R's `survival` package (the default everywhere).
    #[default]
    R,
    Sas,
    Stata,
    Spss,
}

impl Convention {
    /// `r`, `sas`, `stata` or `spss` (any case).
    pub fn parse(s: &str) -> Option<Convention> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "r" => Convention::R,
            "sas" => Convention::Sas,
            "stata" => Convention::Stata,
            "spss" => Convention::Spss,
            _ => return None,
        })
    }

    /// The accepted names, for error messages.
    pub const NAMES: &'static str = "'r', 'sas', 'stata', 'spss'";

    pub fn name(self) -> &'static str {
        match self {
            Convention::R => "r",
            Convention::Sas => "sas",
            Convention::Stata => "stata",
            Convention::Spss => "spss",
        }
    }

    /// The pointwise confidence limits the package prints by default: R's `conf.type = "log"`;
    /// SAS LIFETEST `CONFTYPE=LOGLOG` (its default since 9.1); Stata `sts list`'s ln(−ln S)
    /// limits; SPSS's KM table prints the standard error only.
    pub fn default_conf_type(self) -> ConfType {
        match self {
            Convention::R => ConfType::Log,
            Convention::Sas | Convention::Stata => ConfType::LogLog,
            Convention::Spss => ConfType::None,
        }
    }

    /// Whether the package's Cox regression defaults to Breslow's ties (PHREG `TIES=BRESLOW`,
    /// `stcox`, COXREG) rather than R's Efron.
    pub fn breslow_ties(self) -> bool {
        self != Convention::R
    }
}

/// Splits a `conf_type` argument that may name a convention: `'sas'` (SAS's rules with its
/// default limits), `'sas:log'` (SAS's rules, log limits), `'log'` (R's rules). Returns
/// `None` when the text is neither.
pub fn parse_conf_spec(s: &str) -> Option<(Convention, ConfType)> {
    let s = s.trim();
    if let Some((conv, conf)) = s.split_once(':') {
        return Some((Convention::parse(conv)?, ConfType::parse(conf.trim())?));
    }
    if let Some(conv) = Convention::parse(s) {
        return Some((conv, conv.default_conf_type()));
    }
    Some((Convention::R, ConfType::parse(s)?))
}

/// The convention a `conf_type` text names, if any: `'sas'` or `'sas:log'` name SAS.
pub fn names_convention(s: &str) -> Option<Convention> {
    let s = s.trim();
    Convention::parse(s.split_once(':').map_or(s, |(c, _)| c))
}

/// The tolerance of "S equals 1 − p" (R's `sqrt(.Machine$double.eps)`, used by SAS's rule too).
const TOL: f64 = crate::km::TIME_TOLERANCE;

/// The `p`-quantile estimate under SAS's rule (PROC LIFETEST, "Computational Formulas"):
/// `min{t_j : S(t_j) < 1 − p}`, or the midpoint `(t_j + t_{j+1})/2` when S equals 1 − p from
/// `t_j` until the next time it drops; missing ("NE") when S never falls below 1 − p, even if
/// it reaches it (the PHUSE CAMIS comparison: a curve flat at 0.5 until a censored last time
/// gives R 102.5, SAS NE).
pub fn sas_quantile(time: &[f64], surv: &[f64], p: f64) -> Option<f64> {
    let target = 1.0 - p;
    let below = surv.iter().position(|&s| s < target - TOL)?;
    match surv[..below]
        .iter()
        .position(|&s| (s - target).abs() <= TOL)
    {
        Some(flat) => Some((time[flat] + time[below]) / 2.0),
        None => Some(time[below]),
    }
}

/// The `p`-quantile estimate as the first time S ≤ 1 − p, without R's midpoint rule: SPSS
/// ("MIN(t_i such that S(t_i) ≤ .5)", IBM technote 1476688 for the median) and Stata's
/// `stci` (Statalist, 2002-11: median 2 where S = 0.5 on [2, 4)).
pub fn first_at_or_below(time: &[f64], surv: &[f64], p: f64) -> Option<f64> {
    let target = 1.0 - p;
    surv.iter()
        .position(|&s| s <= target + TOL)
        .map(|i| time[i])
}

/// SPSS's confidence interval of the `p`-quantile: `t_p ± z·SE(t_p)` with
/// `SE(t_p) = SE(S(t_p)) / f̂(t_p)` and the density estimated between the quantiles at
/// `p − 0.05` and `p + 0.05` (Klein & Moeschberger, Survival Analysis, 2nd ed., practical note
/// 4.3: `f̂ = (S(û) − S(v̂)) / (v̂ − û)`), each found with SPSS's rule above. `se_surv` is the
/// Greenwood standard error of S at each curve time. Not checked against a published SPSS
/// output (none with its data was found); the formula is the one SPSS's algorithms document
/// cites. `None` limits where a quantile or the density is not estimable.
pub fn spss_quantile_limits(
    time: &[f64],
    surv: &[f64],
    se_surv: &[f64],
    p: f64,
    z: f64,
) -> Quantile {
    let estimate = first_at_or_below(time, surv, p);
    let limits = || -> Option<(f64, f64)> {
        let t = estimate?;
        let i = time.partition_point(|&x| x < t);
        let u = first_at_or_below(time, surv, p - 0.05)?;
        let v = first_at_or_below(time, surv, p + 0.05)?;
        let (iu, iv) = (
            time.partition_point(|&x| x < u),
            time.partition_point(|&x| x < v),
        );
        let density = (surv[iu] - surv[iv]) / (v - u);
        if !(density > 0.0 && density.is_finite()) {
            return None;
        }
        let se = se_surv[i] / density;
        se.is_finite().then_some((t - z * se, t + z * se))
    };
    let l = limits();
    Quantile {
        estimate,
        lower: l.map(|l| l.0),
        upper: l.map(|l| l.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // PHUSE CAMIS, "R vs SAS - Kaplan Meier": events at 54, 75, 77, 84, 87, censored 92, 103,
    // 105, 112, 118. The curve after each time.
    const TIME: [f64; 10] = [54., 75., 77., 84., 87., 92., 103., 105., 112., 118.];
    const SURV: [f64; 10] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];

    #[test]
    fn sas_median_is_missing_when_the_curve_stays_at_one_half() {
        assert_eq!(sas_quantile(&TIME, &SURV, 0.5), None);
        assert_eq!(sas_quantile(&TIME, &SURV, 0.25), Some(77.0));
        // The same data with an event at 118: S drops to 0 there, the median is the midpoint.
        let mut surv = SURV;
        surv[9] = 0.0;
        assert_eq!(sas_quantile(&TIME, &surv, 0.5), Some(102.5));
        assert_eq!(sas_quantile(&TIME, &surv, 0.75), Some(118.0));
    }

    #[test]
    fn spss_and_stata_take_the_first_time_at_or_below() {
        assert_eq!(first_at_or_below(&TIME, &SURV, 0.5), Some(87.0));
        // Statalist 2002-11 (stci, group 2): times 1, 2, 2, 4, 6, 8, all events.
        let (t, s) = ([1., 2., 4., 6., 8.], [5. / 6., 0.5, 2. / 6., 1. / 6., 0.]);
        assert_eq!(first_at_or_below(&t, &s, 0.5), Some(2.0));
    }

    #[test]
    fn conf_specs() {
        assert_eq!(
            parse_conf_spec("sas"),
            Some((Convention::Sas, ConfType::LogLog))
        );
        assert_eq!(
            parse_conf_spec("spss:plain"),
            Some((Convention::Spss, ConfType::Plain))
        );
        assert_eq!(parse_conf_spec("log"), Some((Convention::R, ConfType::Log)));
        assert_eq!(parse_conf_spec("sas:wide"), None);
    }
}

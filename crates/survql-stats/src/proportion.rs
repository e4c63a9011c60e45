//! Confidence intervals for a binomial proportion x / n.

use crate::distributions::z_for_level;
use crate::special::beta_quantile;

/// Interval method (the SQL `method` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropMethod {
    /// Clopper-Pearson, as `binom.test(x, n)$conf.int`.
    Exact,
    /// Wilson score interval, as `prop.test(x, n, correct = FALSE)$conf.int`.
    Wilson,
    /// Wilson with continuity correction, as `prop.test(x, n, correct = TRUE)$conf.int`.
    WilsonCc,
    /// Wald: p̂ ± z·sqrt(p̂(1 - p̂)/n), not clipped to [0, 1].
    Wald,
}

impl PropMethod {
    pub fn parse(s: &str) -> Option<PropMethod> {
        Some(match s.to_ascii_lowercase().as_str() {
            "exact" | "clopper-pearson" => PropMethod::Exact,
            "wilson" => PropMethod::Wilson,
            "wilson-cc" | "wilson_cc" => PropMethod::WilsonCc,
            "wald" => PropMethod::Wald,
            _ => return None,
        })
    }

    pub const NAMES: &'static str = "'exact', 'wilson', 'wilson-cc', 'wald'";
}

/// The interval for `x` successes in `n` trials at confidence `level`. `None` when n = 0.
///
/// * Exact: lower = qbeta(α/2, x, n - x + 1) (0 when x = 0), upper = qbeta(1 - α/2, x + 1,
///   n - x) (1 when x = n).
/// * Wilson (`prop.test`): with z = qnorm((1 + level)/2), z22n = z²/(2n) and p_c = p̂ ± c/n
///   (c = 0, or for the continuity correction c = min(0.5, |x - n/2|) as R caps it),
///   limit = (p_c + z22n ∓ z·sqrt(p_c(1 - p_c)/n + z22n/(2n))) / (1 + 2·z22n), clipped to [0, 1]
///   (the lower limit is 0 when p_c ≤ 0, the upper 1 when p_c ≥ 1).
/// * Wald: p̂ ∓ z·sqrt(p̂(1 - p̂)/n).
pub fn prop_ci(x: u64, n: u64, method: PropMethod, level: f64) -> Option<(f64, f64)> {
    if n == 0 || x > n {
        return None;
    }
    let (xf, nf) = (x as f64, n as f64);
    let p = xf / nf;
    let alpha = 1.0 - level;
    Some(match method {
        PropMethod::Exact => {
            let lower = if x == 0 {
                0.0
            } else {
                beta_quantile(alpha / 2.0, xf, nf - xf + 1.0)
            };
            let upper = if x == n {
                1.0
            } else {
                beta_quantile(1.0 - alpha / 2.0, xf + 1.0, nf - xf)
            };
            (lower, upper)
        }
        PropMethod::Wald => {
            let z = z_for_level(level);
            let h = z * (p * (1.0 - p) / nf).sqrt();
            (p - h, p + h)
        }
        PropMethod::Wilson | PropMethod::WilsonCc => {
            let z = z_for_level(level);
            let yates = if method == PropMethod::WilsonCc {
                0.5_f64.min((xf - nf * 0.5).abs())
            } else {
                0.0
            };
            let z22n = z * z / (2.0 * nf);
            let pc = p + yates / nf;
            let upper = if pc >= 1.0 {
                1.0
            } else {
                (pc + z22n + z * (pc * (1.0 - pc) / nf + z22n / (2.0 * nf)).sqrt())
                    / (1.0 + 2.0 * z22n)
            };
            let pc = p - yates / nf;
            let lower = if pc <= 0.0 {
                0.0
            } else {
                (pc + z22n - z * (pc * (1.0 - pc) / nf + z22n / (2.0 * nf)).sqrt())
                    / (1.0 + 2.0 * z22n)
            };
            (lower.max(0.0), upper.min(1.0))
        }
    })
}

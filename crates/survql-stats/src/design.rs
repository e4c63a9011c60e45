//! Events and power of a two-arm trial analysed with the log-rank test (two-sided level α):
//!
//! * Schoenfeld (1983), the log hazard ratio's asymptotic variance 1/(D p(1 − p)):
//!   D = (z_{1−α/2} + z_{power})² (1 + r)² / (r (ln HR)²);
//! * Freedman (1982), the O − E statistic's mean under HR:
//!   D = (z_{1−α/2} + z_{power})² (1 + r·HR)² / (r (1 − HR)²);
//!
//! with r = n_experimental / n_control (the allocation ratio, Stata's `nratio`) and HR the
//! experimental arm's hazard over the control arm's. D is the required number of events
//! (unrounded: `ceil(D)` is what the manuals print). Power inverts them, ignoring the far tail
//! (as Stata's `power logrank` and lifelines' `power_under_cph`):
//! power = Φ(√(D r)·|ln HR|/(1 + r) − z_{1−α/2}) (Schoenfeld),
//! Φ(√(D r)·|1 − HR|/(1 + r·HR) − z_{1−α/2}) (Freedman).

use crate::distributions::{pnorm_upper, qnorm};

/// The events formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesignMethod {
    Schoenfeld,
    Freedman,
}

impl DesignMethod {
    pub const NAMES: &'static str = "'schoenfeld' (default) or 'freedman'";

    pub fn parse(s: &str) -> Option<DesignMethod> {
        match s.trim().to_ascii_lowercase().as_str() {
            "schoenfeld" => Some(DesignMethod::Schoenfeld),
            "freedman" => Some(DesignMethod::Freedman),
            _ => None,
        }
    }

    /// The effect per unit of √(D r): |ln HR|/(1 + r) or |1 − HR|/(1 + r·HR).
    fn effect(self, hr: f64, ratio: f64) -> f64 {
        match self {
            DesignMethod::Schoenfeld => hr.ln().abs() / (1.0 + ratio),
            DesignMethod::Freedman => (1.0 - hr).abs() / (1.0 + ratio * hr),
        }
    }
}

/// The events a two-sided level-`alpha` log-rank test needs for `power` against hazard ratio
/// `hr` with allocation ratio `ratio` (see the module documentation). Infinite when hr = 1.
pub fn logrank_events(hr: f64, alpha: f64, power: f64, ratio: f64, method: DesignMethod) -> f64 {
    let z = qnorm(1.0 - alpha / 2.0) + qnorm(power);
    let effect = method.effect(hr, ratio);
    z * z / (ratio * effect * effect)
}

/// The power of a two-sided level-`alpha` log-rank test after `events` events against hazard
/// ratio `hr` with allocation ratio `ratio` (see the module documentation).
pub fn logrank_power(hr: f64, events: f64, alpha: f64, ratio: f64, method: DesignMethod) -> f64 {
    let drift = (events * ratio).sqrt() * method.effect(hr, ratio);
    // Φ(drift − z) as the upper tail of its negative (statrs' erfc: about 1e-11 relative).
    pnorm_upper(qnorm(1.0 - alpha / 2.0) - drift)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook numbers (two-sided α 0.05, 80% power, 1:1): HR 0.7 needs 246.8 events
    /// (Schoenfeld) and 252.0 (Freedman); HR 0.5: 65.3 → 66 and 70.6 → 71.
    #[test]
    fn textbook_events() {
        let s = logrank_events(0.7, 0.05, 0.8, 1.0, DesignMethod::Schoenfeld);
        let f = logrank_events(0.7, 0.05, 0.8, 1.0, DesignMethod::Freedman);
        assert!((s - 246.79).abs() < 0.01 && s.ceil() == 247.0, "{s}");
        assert!((f - 252.04).abs() < 0.01 && f.ceil() == 253.0, "{f}");
        assert_eq!(
            logrank_events(0.5, 0.05, 0.8, 1.0, DesignMethod::Schoenfeld).ceil(),
            66.0
        );
        assert_eq!(
            logrank_events(0.5, 0.05, 0.8, 1.0, DesignMethod::Freedman).ceil(),
            71.0
        );
        // Power inverts the events (to the accuracy of statrs' erfc).
        let p = logrank_power(0.7, s, 0.05, 1.0, DesignMethod::Schoenfeld);
        assert!((p - 0.8).abs() < 1e-10, "{p}");
    }
}

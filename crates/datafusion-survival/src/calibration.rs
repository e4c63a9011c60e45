//! [`Calibration`]: `calibration(time, event, predicted_risk, t [, groups])`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::survival_udaf::SurvivalUdaf;
use crate::validation_state::{Metric, ValidationFunction, ValidationMetric};

/// `calibration(time, event, predicted_risk, t [, groups])`: observed against predicted risk at t by risk group.
///
/// SQL reference (arguments, result, example): its [`ValidationMetric::documentation`],
/// shown by `\h calibration` in the shell and in `docs/functions.md`.
pub type Calibration = SurvivalUdaf<ValidationFunction<CalibrationMetric>>;

/// What [`Calibration`] computes (see [`ValidationFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CalibrationMetric;

impl ValidationMetric for CalibrationMetric {
    const NAME: &'static str = "calibration";
    const SYNTAX: &'static str = "calibration(time, event, predicted_risk, t [, groups])";
    const METRIC: Metric = Metric::Calibration;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Calibration of predicted risks at time t: the rows are split into risk groups by the quantiles of the prediction (R's cut(p, unique(quantile(p, seq(0, 1, 1/groups))), include.lowest = TRUE): groups of nearly equal size in increasing risk, equal predictions in the same group, fewer groups where quantiles coincide) and each group gives its mean predicted risk and its observed risk 1 - S(t) from its own Kaplan-Meier curve (R's summary(survfit(...), times = t)) with the 95% limits of S's log interval turned around. Returns LIST<STRUCT<group, n, mean_predicted, observed, lower, upper>>; \\plot calibration draws it (observed against predicted with the limits and the diagonal). predicted_risk is the probability of the event by t, in [0, 1].", Self::SYNTAX)
                .with_sql_example("```sql\n-- a 1-year risk from a model, by deciles\nSELECT unnest(calibration(os_months, died, 1 - exp(-12 * exp(-4.5 + 0.02 * age)), 12)) FROM demo.net_cohort;\n```")
                .with_argument("time", "Follow-up time (numeric).")
                .with_argument("event", "1/true = event, 0/false = censored.")
                .with_argument("predicted_risk", "Each subject's predicted probability of the event by t, in [0, 1].")
                .with_argument("t", "The time of the predictions (constant).")
                .with_argument("groups", "Number of risk groups (constant whole number from 1 to 1000; default 10, deciles).")
                .build()
        })
    }
}

//! [`BrierScore`]: `brier_score(time, event, predicted_survival, t [, test])`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::survival_udaf::SurvivalUdaf;
use crate::validation_state::{Metric, ValidationFunction, ValidationMetric};

/// `brier_score(time, event, predicted_survival, t [, test])`: the IPCW Brier score at time t.
///
/// SQL reference (arguments, result, example): its [`ValidationMetric::documentation`],
/// shown by `\h brier_score` in the shell and in `docs/functions.md`.
pub type BrierScore = SurvivalUdaf<ValidationFunction<BrierScoreMetric>>;

/// What [`BrierScore`] computes (see [`ValidationFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct BrierScoreMetric;

impl ValidationMetric for BrierScoreMetric {
    const NAME: &'static str = "brier_score";
    const SYNTAX: &'static str = "brier_score(time, event, predicted_survival, t [, test])";
    const METRIC: Metric = Metric::Brier;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("The inverse-probability-of-censoring weighted Brier score at time t of predicted survival probabilities S_i(t), as sksurv.metrics.brier_score(train, test, S(t), t): the mean over the scored subjects of S_i(t)^2/G(T_i) for an event at or before t and (1 - S_i(t))^2/G(t) for a subject still event-free after t (censored before t: 0), G the censoring distribution (a death counted before a censoring at the same time; a term whose G is 0 counts 0). t must lie within the follow-up of the scored rows, [min(time), max(time)) (else NULL with a warning, where sksurv raises an error). Returns DOUBLE. The integrated Brier score (sksurv's integrated_brier_score) is the trapezoid integral of brier_score over the times divided by their range: brier_score per t over a long table (one row per subject and t, with the prediction at t) with GROUP BY t, then the trapezoid sum with lag() (see the guide). G is the censoring distribution of every row, or of the training rows with the test flag.", Self::SYNTAX)
                .with_sql_example("```sql\n-- a constant prediction: the same survival probability at 24 months for everyone\nSELECT brier_score(os_months, died, 0.45, 24) FROM demo.net_cohort;\n```")
                .with_argument("time", "Follow-up time (numeric).")
                .with_argument("event", "1/true = event, 0/false = censored.")
                .with_argument("predicted_survival", "Each subject's predicted probability of being event-free at t, in [0, 1].")
                .with_argument("t", "The time of the score (a constant, or a column constant within each group).")
                .with_argument("test", "Optional BOOLEAN column: rows with false only estimate the censoring distribution (a training set, scikit-survival's survival_train; their prediction may be NULL), rows with true are scored. Without it every row does both.")
                .build()
        })
    }
}

//! [`TdAuc`]: `td_auc(time, event, score, t [, test])`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::survival_udaf::SurvivalUdaf;
use crate::validation_state::{Metric, ValidationFunction, ValidationMetric};

/// `td_auc(time, event, score, t [, test])`: the cumulative/dynamic AUC at time t.
///
/// SQL reference (arguments, result, example): its [`ValidationMetric::documentation`],
/// shown by `\h td_auc` in the shell and in `docs/functions.md`.
pub type TdAuc = SurvivalUdaf<ValidationFunction<TdAucMetric>>;

/// What [`TdAuc`] computes (see [`ValidationFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct TdAucMetric;

impl ValidationMetric for TdAucMetric {
    const NAME: &'static str = "td_auc";
    const SYNTAX: &'static str = "td_auc(time, event, score, t [, test])";
    const METRIC: Metric = Metric::Auc;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("The cumulative/dynamic time-dependent AUC at time t, as sksurv.metrics.cumulative_dynamic_auc(train, test, score, t): cases are the subjects with an event at or before t, each weighted 1/G(T_i) by the censoring distribution G (a death counted before a censoring at the same time), controls the subjects still event-free after t; AUC = the weighted share of (case, control) pairs where the case has the higher score, ties (within 1e-8) one half. t must lie within the follow-up of the scored rows, [min(time), max(time)) (else NULL with a warning, where sksurv raises an error). Returns DOUBLE; NULL without cases or controls. G is the censoring distribution of every row, or of the training rows with the test flag. For several times, one call per t, or t a column constant within each group (GROUP BY t).", Self::SYNTAX)
                .with_sql_example("```sql\nSELECT td_auc(os_months, died, age, 12) AS auc_1y, td_auc(os_months, died, age, 36) AS auc_3y FROM demo.net_cohort;\n```")
                .with_argument("time", "Follow-up time (numeric).")
                .with_argument("event", "1/true = event, 0/false = censored.")
                .with_argument("score", "The predicted risk (numeric; higher = higher risk).")
                .with_argument("t", "The time of the AUC (a constant, or a column constant within each group).")
                .with_argument("test", "Optional BOOLEAN column: rows with false only estimate the censoring distribution (a training set, scikit-survival's survival_train; their prediction may be NULL), rows with true are scored. Without it every row does both.")
                .build()
        })
    }
}

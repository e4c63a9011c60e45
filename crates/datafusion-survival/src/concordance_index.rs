//! [`ConcordanceIndex`]: `concordance_index(time, event, score [, method [, tau [, test]]])`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::survival_udaf::SurvivalUdaf;
use crate::validation_state::{Metric, ValidationFunction, ValidationMetric};

/// `concordance_index(time, event, score [, method [, tau [, test]]])`: Harrell's or Uno's concordance of a risk score with the outcome.
///
/// SQL reference (arguments, result, example): its [`ValidationMetric::documentation`],
/// shown by `\h concordance_index` in the shell and in `docs/functions.md`.
pub type ConcordanceIndex = SurvivalUdaf<ValidationFunction<ConcordanceIndexMetric>>;

/// What [`ConcordanceIndex`] computes (see [`ValidationFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct ConcordanceIndexMetric;

impl ValidationMetric for ConcordanceIndexMetric {
    const NAME: &'static str = "concordance_index";
    const SYNTAX: &'static str =
        "concordance_index(time, event, score [, method [, tau [, test]]])";
    const METRIC: Metric = Metric::Concordance;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("The concordance of a risk score with a censored outcome: a higher score means a higher risk (an earlier event), as R's concordance(Surv(time, event) ~ score, reverse = TRUE) and scikit-survival. method 'harrell' (default): Harrell's C over the comparable pairs (the earlier time an event; a censoring tied with an event counts as later), tied scores one half, tied event times left out, with R concordance()'s infinitesimal-jackknife standard error and Wald limits c +/- 1.96 se. method 'uno': Uno's IPCW C, as sksurv.metrics.concordance_index_ipcw(train, test, score, tau): each pair weighted 1/G(T_i)^2 by the censoring distribution G (a death counted before a censoring at the same time), only events before tau, scores within 1e-8 tied; no standard error (sksurv reports none: std_err, lower, upper NULL); NULL with a warning where a weight is infinite (G = 0 at an event time before tau), where sksurv raises an error. Returns STRUCT<c_index, std_err, lower, upper, comparable, concordant, discordant, tied_risk> (pair counts, unweighted). G is the censoring distribution of every row, or of the training rows with the test flag.", Self::SYNTAX)
                .with_sql_example("```sql\n-- the linear predictor of a Cox model as the score\nSELECT concordance_index(os_months, died, 0.03 * age + 0.5 * CAST(liver_mets AS INT)) FROM demo.net_cohort;\n\n-- Uno's C truncated at 5 years\nSELECT concordance_index(os_months, died, age, 'uno', 60)['c_index'] FROM demo.net_cohort;\n```")
                .with_argument("time", "Follow-up time (numeric).")
                .with_argument("event", "1/true = event, 0/false = censored.")
                .with_argument("score", "The predicted risk (numeric; higher = higher risk).")
                .with_argument("method", "'harrell' (default) or 'uno'.")
                .with_argument("tau", "Uno's truncation time (> 0; events at or after tau are not scored). Default: no truncation.")
                .with_argument("test", "Optional BOOLEAN column: rows with false only estimate the censoring distribution (a training set, scikit-survival's survival_train; their prediction may be NULL), rows with true are scored. Without it every row does both.")
                .build()
        })
    }
}

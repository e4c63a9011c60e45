//! [`SurvregStrat`]: `survreg_strat(time, event, strata, x1 [, x2, ...] [, options])`,
//! parametric survival regression with one scale per stratum.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{ModelDefinition, ModelFunction, ModelKind};
use crate::survival_udaf::SurvivalUdaf;

/// `survreg_strat(time, event, strata, x1 [, x2, ...] [, options])`, as R's
/// `survreg(Surv(time, event) ~ x1 + ... + strata(strata), dist = ...)`: shared
/// coefficients, one scale per stratum (see `survql_stats::survreg`).
///
/// SQL reference (arguments, result, example): its [`ModelDefinition::documentation`],
/// shown by `\h survreg_strat` in the shell and in `docs/functions.md`.
pub type SurvregStrat = SurvivalUdaf<ModelFunction<SurvregStratFunction>>;

/// What [`SurvregStrat`] is (see [`ModelFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct SurvregStratFunction;

impl ModelDefinition for SurvregStratFunction {
    const NAME: &'static str = "survreg_strat";
    const SYNTAX: &'static str = "survreg_strat(time, event, strata, x1 [, x2, ...] [, options])";
    const KIND: ModelKind = ModelKind::SurvregStrat;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Parametric survival regression with one scale per stratum, as R's survreg(Surv(time, event) ~ x1 + ... + strata(s), dist = ...): the coefficients are shared, each stratum has its own scale (not for the exponential, whose scale is fixed). Returns survreg's STRUCT, with scale and log_scale_se NULL, and strata LIST<STRUCT<stratum, scale, log_scale_se>> (strata in R's factor order: numeric when every label is a number, else byte order; the log-scale SEs are summary(fit)$table's 'Log(scale)' rows); loglik_null is the intercept-only model with the strata's scales, as R's fit$loglik[1].", Self::SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(survreg_strat(os_months, died, sex, age)['terms']) FROM demo.net_cohort;\n\nSELECT unnest(survreg_strat(os_months, died, sex, age, 'dist=lognormal')['strata']) FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric; > 0 for the log-time distributions).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("strata", "Stratum of each row (any type; NULL rows are skipped).")
            .with_argument("x1, x2, ...", "Covariates: numeric/boolean (one term) or text (a factor), as survreg.")
            .with_argument("options", "Constant string 'key=value, ...': as survreg (dist other than exponential, conf_level, max_iter, eps).")
            .build()
        })
    }
}

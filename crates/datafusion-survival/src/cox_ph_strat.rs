//! [`CoxPhStrat`]: `cox_ph_strat(time, event, strata, x1 [, x2, ...] [, options])`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{ModelDefinition, ModelFunction, ModelKind};
use crate::survival_udaf::SurvivalUdaf;

/// `cox_ph_strat(time, event, strata, x1 [, x2, ...] [, options])`, as R's `coxph(Surv(time, event) ~ x1 + ... + strata(strata))`.
///
/// SQL reference (arguments, result, example): its [`ModelDefinition::documentation`],
/// shown by `\h cox_ph_strat` in the shell and in `docs/functions.md`.
pub type CoxPhStrat = SurvivalUdaf<ModelFunction<CoxPhStratFunction>>;

/// What [`CoxPhStrat`] is (see [`ModelFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxPhStratFunction;

impl ModelDefinition for CoxPhStratFunction {
    const NAME: &'static str = "cox_ph_strat";
    const SYNTAX: &'static str = "cox_ph_strat(time, event, strata, x1 [, x2, ...] [, options])";
    const KIND: ModelKind = ModelKind::Strat;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Stratified Cox regression, as R's coxph(Surv(time, event) ~ x1 + ... + strata(strata)): a separate baseline hazard per stratum. Returns the same STRUCT as cox_ph.", Self::SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_ph_strat(os_months, died, treatment, age, liver_mets)['terms']) FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric); or surv([entry,] time, event [, weight]) in place of time and event: an entry gives counting-process data (as cox_ph_counting), a weight R's weights = (> 0; non-integer weights make the variance robust unless robust=false).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("strata", "Stratum (any type).")
            .with_argument("x1, x2, ...", "Covariates; cluster(id) among them is R's + cluster(id), the robust variance's clusters, not a covariate.")
            .with_argument("options", "Constant string: ties, conf_level, robust, max_iter, eps, convention (as cox_ph).")
            .build()
        })
    }
}

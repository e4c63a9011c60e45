//! [`CoxPh`]: `cox_ph(time, event, x1 [, x2, ...] [, options])`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{ModelDefinition, ModelFunction, ModelKind};
use crate::survival_udaf::SurvivalUdaf;

/// `cox_ph(time, event, x1 [, x2, ...] [, options])`, as R's `coxph(Surv(time, event) ~ x1 + x2 + ...)`.
///
/// SQL reference (arguments, result, example): its [`ModelDefinition::documentation`],
/// shown by `\h cox_ph` in the shell and in `docs/functions.md`.
pub type CoxPh = SurvivalUdaf<ModelFunction<CoxPhFunction>>;

/// What [`CoxPh`] is (see [`ModelFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxPhFunction;

impl ModelDefinition for CoxPhFunction {
    const NAME: &'static str = "cox_ph";
    const SYNTAX: &'static str = "cox_ph(time, event, x1 [, x2, ...] [, options])";
    const KIND: ModelKind = ModelKind::Ph;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Cox proportional hazards regression, as R's coxph(Surv(time, event) ~ x1 + x2 + ...): numeric and boolean covariates are one term each, text covariates are factors with treatment contrasts against the first level (byte order). Returns STRUCT<n, events, ties, iterations, converged, warning, loglik_null, loglik, lr_chisq, lr_df, lr_p, wald_chisq, wald_p, score_chisq, score_p, concordance, concordance_se, terms LIST<STRUCT<term, coef, exp_coef, se, robust_se, z, p_value, lower, upper>>>; lower/upper are the CI of exp(coef). The state keeps every row: memory O(rows x covariates).", Self::SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_ph(os_months, died, age, grade, liver_mets)['terms']) FROM demo.net_cohort;\n\nSELECT cox_ph(os_months, died, age, sex, 'ties=breslow, robust=true')['lr_p'] FROM demo.net_cohort;\n\n-- case weights (IPTW): coxph(..., weights = iptw)\nSELECT cox_ph(surv(NULL, os_months, died, iptw), treated)['terms'] FROM cohort;\n```")
            .with_argument("time", "Follow-up time (numeric); or surv([entry,] time, event [, weight]) in place of time and event: an entry gives counting-process data (as cox_ph_counting), a weight R's weights = (> 0; non-integer weights make the variance robust unless robust=false).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("x1, x2, ...", "Covariates: numeric/boolean (one term) or text (a factor); cluster(id) among them is R's + cluster(id), the robust variance's clusters, not a covariate.")
            .with_argument("options", "Constant string 'key=value, ...': ties=efron|breslow|exact (default efron; exact for right-censored unweighted data), conf_level=0.95, robust=false (true by default with non-integer weights, as R), max_iter=20, eps=1e-9, convention=r|sas|stata|spss (Breslow ties for the three, SAS with PHREG's convergence rule; the default follows SET survql.convention), firth=false (true: Firth's penalised likelihood, Breslow ties, profile-likelihood limits).")
            .build()
        })
    }
}

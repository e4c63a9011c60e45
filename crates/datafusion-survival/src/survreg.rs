//! [`Survreg`]: `survreg(time, event, x1 [, x2, ...] [, options])`, parametric (accelerated
//! failure time) survival regression.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{ModelDefinition, ModelFunction, ModelKind};
use crate::survival_udaf::SurvivalUdaf;

/// `survreg(time, event, x1 [, x2, ...] [, options])`, as R's
/// `survreg(Surv(time, event) ~ x1 + ..., dist = ...)` (see `survql_stats::survreg`).
///
/// SQL reference (arguments, result, example): its [`ModelDefinition::documentation`],
/// shown by `\h survreg` in the shell and in `docs/functions.md`.
pub type Survreg = SurvivalUdaf<ModelFunction<SurvregFunction>>;

/// What [`Survreg`] is (see [`ModelFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct SurvregFunction;

impl ModelDefinition for SurvregFunction {
    const NAME: &'static str = "survreg";
    const SYNTAX: &'static str = "survreg(time, event, x1 [, x2, ...] [, options])";
    const KIND: ModelKind = ModelKind::Survreg;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Parametric (accelerated failure time) survival regression, as R's survreg(Surv(time, event) ~ x1 + ..., dist = ...): g(T) = x'b + scale W, g = log for weibull (default), exponential (scale 1), lognormal and loglogistic, the identity for gaussian and logistic. Maximum likelihood by Newton-Raphson to R's criterion. Returns STRUCT<n, events, dist, scale, log_scale_se, loglik, loglik_null, chisq, df, p_value, iterations, converged, warning, terms LIST<STRUCT<term, coef, se, z, p_value, lower, upper>>>: terms as summary(fit)$table with '(Intercept)' first and lower/upper confint(fit) (coefficient scale; exp(coef) is the time ratio of the log-time models); loglik on the time scale as R's fit$loglik, loglik_null the intercept-only model, chisq its likelihood-ratio test on df = the covariates' coefficients. Covariates as in cox_ph (text columns are factors).", Self::SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(survreg(os_months, died, age, liver_mets)['terms']) FROM demo.net_cohort;\n\nSELECT survreg(os_months, died, age, 'dist=lognormal')['scale'] FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric; > 0 for the log-time distributions).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("x1, x2, ...", "Covariates: numeric/boolean (one term) or text (a factor).")
            .with_argument("options", "Constant string 'key=value, ...': dist=weibull|exponential|lognormal|loglogistic|gaussian|logistic (default weibull), conf_level=0.95, max_iter=30, eps=1e-9 (R's survreg.control).")
            .build()
        })
    }
}

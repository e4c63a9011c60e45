//! [`Survreg`]: `survreg(time, event, x1 [, x2, ...] [, options])`, parametric (accelerated
//! failure time) survival regression.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{self, ModelKind, ModelOps};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "survreg";
const SYNTAX: &str = "survreg(time, event, x1 [, x2, ...] [, options])";
const KIND: ModelKind = ModelKind::Survreg;

/// `survreg(time, event, x1 [, x2, ...] [, options])`, as R's
/// `survreg(Surv(time, event) ~ x1 + ..., dist = ...)` (see `survql_stats::survreg`).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h survreg` in the shell and in `docs/functions.md`.
pub type Survreg = SurvivalUdaf<SurvregFunction>;

/// The definition of [`Survreg`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct SurvregFunction;

impl SurvivalFunction for SurvregFunction {
    type Ops = ModelOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(model_state::return_type(KIND))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        model_state::coerce_model_types(NAME, KIND, arg_types, SYNTAX)
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        model_state::state_fields(KIND, args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        ModelOps::new(NAME, KIND, args, sink)
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Parametric (accelerated failure time) survival regression, as R's survreg(Surv(time, event) ~ x1 + ..., dist = ...): g(T) = x'b + scale W, g = log for weibull (default), exponential (scale 1), lognormal and loglogistic, the identity for gaussian and logistic. Maximum likelihood by Newton-Raphson to R's criterion. Returns STRUCT<n, events, dist, scale, log_scale_se, loglik, loglik_null, chisq, df, p_value, iterations, converged, warning, terms LIST<STRUCT<term, coef, se, z, p_value, lower, upper>>>: terms as summary(fit)$table with '(Intercept)' first and lower/upper confint(fit) (coefficient scale; exp(coef) is the time ratio of the log-time models); loglik on the time scale as R's fit$loglik, loglik_null the intercept-only model, chisq its likelihood-ratio test on df = the covariates' coefficients. Covariates as in cox_ph (text columns are factors).", SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(survreg(os_months, died, age, liver_mets)['terms']) FROM demo.net_cohort;\n\nSELECT survreg(os_months, died, age, 'dist=lognormal')['scale'] FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric; > 0 for the log-time distributions).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("x1, x2, ...", "Covariates: numeric/boolean (one term) or text (a factor).")
            .with_argument("options", "Constant string 'key=value, ...': dist=weibull|exponential|lognormal|loglogistic|gaussian|logistic (default weibull), conf_level=0.95, max_iter=30, eps=1e-9 (R's survreg.control).")
            .build()
        })
    }
}

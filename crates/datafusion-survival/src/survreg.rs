//! [`Survreg`]: `survreg(time, event, x1 [, x2, ...] [, options])`, parametric (accelerated
//! failure time) survival regression.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};

use crate::common::{doc, WarningSink};
use crate::cox_state::{self, CoxCall, CoxKind};
use crate::macros::{state_udaf_methods, udaf_constructors};

const NAME: &str = "survreg";
const SYNTAX: &str = "survreg(time, event, x1 [, x2, ...] [, options])";
const KIND: CoxKind = CoxKind::Survreg;

/// `survreg(time, event, x1 [, x2, ...] [, options])`, as R's
/// `survreg(Surv(time, event) ~ x1 + ..., dist = ...)` (see `survql_stats::survreg`).
///
/// ```sql
/// SELECT unnest(survreg(os_months, died, age, liver_mets, 'dist=weibull')['terms']) FROM demo.net_cohort;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Survreg {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(Survreg);

impl Survreg {
    fn doc() -> &'static Documentation {
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

impl AggregateUDFImpl for Survreg {
    fn name(&self) -> &str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(cox_state::return_type(KIND))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        cox_state::coerce_cox_types(NAME, KIND, arg_types, SYNTAX)
    }

    state_udaf_methods!(|args| cox_state::state_fields(KIND, args), cox_call);
}

impl Survreg {
    fn cox_call(&self, args: &AccumulatorArgs) -> Result<CoxCall> {
        CoxCall::new(NAME, KIND, args, &self.sink)
    }
}

//! [`FineGrayPh`]: `finegray_ph(time, status, cause, x1 [, x2, ...] [, options])`, the Fine-Gray
//! proportional subdistribution hazards model.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};

use crate::common::{doc, WarningSink};
use crate::cox_state::{self, CoxCall, CoxKind};
use crate::macros::{state_udaf_methods, udaf_constructors};

const NAME: &str = "finegray_ph";
const SYNTAX: &str = "finegray_ph(time, status, cause, x1 [, x2, ...] [, options])";
const KIND: CoxKind = CoxKind::FineGray;

/// `finegray_ph(time, status, cause, x1 [, x2, ...] [, options])`, as R's
/// `cmprsk::crr(time, status, model.matrix(~ x1 + ...)[, -1], failcode = cause)`: the
/// subdistribution hazard ratios of the cause's cumulative incidence, with crr's sandwich
/// standard errors. Returns the `cox_ph` struct (see `survql_stats::finegray`).
///
/// ```sql
/// SELECT unnest(finegray_ph(months, status, 1, age, sex)['terms']) FROM mgus;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FineGrayPh {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(FineGrayPh);

impl FineGrayPh {
    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("The Fine-Gray proportional subdistribution hazards model of a cause's cumulative incidence, as R's cmprsk::crr(time, status, model.matrix(~ x1 + ...)[, -1], failcode = cause): subjects failing from another cause stay in the risk set with inverse-probability-of-censoring weights. Covariates as in cox_ph (text columns are factors). Returns the cox_ph STRUCT: coef and exp_coef (the subdistribution hazard ratio) with crr's sandwich standard error, z, p_value and limits; loglik and loglik_null are crr's pseudo log-likelihoods, lr_* its pseudo likelihood-ratio test (summary.crr), wald_* b' V^-1 b; score, concordance and robust_se are NULL. Newton-Raphson with crr's rules (at most 10 iterations, gradient tolerance 1e-6), so the coefficients are crr's.", SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(finegray_ph(months, status, 1, age, sex)['terms']) FROM mgus;\n\n-- cause 2, 90% limits\nSELECT finegray_ph(months, status, 2, age, sex, 'conf_level=0.9')['terms'] FROM mgus;\n```")
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("status", "0 = censored, k = failure from cause k (integer).")
            .with_argument("cause", "Constant: the status code of the cause of interest (crr's failcode).")
            .with_argument("x1, x2, ...", "Covariates: numeric/boolean (one term) or text (a factor).")
            .with_argument("options", "Constant string 'key=value, ...': conf_level=0.95, max_iter=10, gtol=1e-6 (crr's maxiter, gtol).")
            .build()
        })
    }
}

impl AggregateUDFImpl for FineGrayPh {
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

impl FineGrayPh {
    fn cox_call(&self, args: &AccumulatorArgs) -> Result<CoxCall> {
        CoxCall::new(NAME, KIND, args, &self.sink)
    }
}

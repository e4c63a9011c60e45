//! [`FineGrayPh`]: `finegray_ph(time, status, cause, x1 [, x2, ...] [, options])`, the Fine-Gray
//! proportional subdistribution hazards model.

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

const NAME: &str = "finegray_ph";
const SYNTAX: &str = "finegray_ph(time, status, cause, x1 [, x2, ...] [, options])";
const KIND: ModelKind = ModelKind::FineGray;

/// `finegray_ph(time, status, cause, x1 [, x2, ...] [, options])`, as R's
/// `cmprsk::crr(time, status, model.matrix(~ x1 + ...)[, -1], failcode = cause)`: the
/// subdistribution hazard ratios of the cause's cumulative incidence, with crr's sandwich
/// standard errors. Returns the `cox_ph` struct (see `survql_stats::finegray`).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h finegray_ph` in the shell and in `docs/functions.md`.
pub type FineGrayPh = SurvivalUdaf<FineGrayPhFunction>;

/// The definition of [`FineGrayPh`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct FineGrayPhFunction;

impl SurvivalFunction for FineGrayPhFunction {
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

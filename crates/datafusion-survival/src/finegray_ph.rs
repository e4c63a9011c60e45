//! [`FineGrayPh`]: `finegray_ph(time, status, cause, x1 [, x2, ...] [, options])`, the Fine-Gray
//! proportional subdistribution hazards model.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{ModelDefinition, ModelFunction, ModelKind};
use crate::survival_udaf::SurvivalUdaf;

/// `finegray_ph(time, status, cause, x1 [, x2, ...] [, options])`, as R's
/// `cmprsk::crr(time, status, model.matrix(~ x1 + ...)[, -1], failcode = cause)`: the
/// subdistribution hazard ratios of the cause's cumulative incidence, with crr's sandwich
/// standard errors. Returns the `cox_ph` struct (see `survql_stats::finegray`).
///
/// SQL reference (arguments, result, example): its [`ModelDefinition::documentation`],
/// shown by `\h finegray_ph` in the shell and in `docs/functions.md`.
pub type FineGrayPh = SurvivalUdaf<ModelFunction<FineGrayPhFunction>>;

/// What [`FineGrayPh`] is (see [`ModelFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct FineGrayPhFunction;

impl ModelDefinition for FineGrayPhFunction {
    const NAME: &'static str = "finegray_ph";
    const SYNTAX: &'static str = "finegray_ph(time, status, cause, x1 [, x2, ...] [, options])";
    const KIND: ModelKind = ModelKind::FineGray;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("The Fine-Gray proportional subdistribution hazards model of a cause's cumulative incidence, as R's cmprsk::crr(time, status, model.matrix(~ x1 + ...)[, -1], failcode = cause): subjects failing from another cause stay in the risk set with inverse-probability-of-censoring weights. Covariates as in cox_ph (text columns are factors). Returns the cox_ph STRUCT: coef and exp_coef (the subdistribution hazard ratio) with crr's sandwich standard error, z, p_value and limits; loglik and loglik_null are crr's pseudo log-likelihoods, lr_* its pseudo likelihood-ratio test (summary.crr), wald_* b' V^-1 b; score, concordance and robust_se are NULL. Newton-Raphson with crr's rules (at most 10 iterations, gradient tolerance 1e-6), so the coefficients are crr's.", Self::SYNTAX)
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

//! [`CoxPhCounting`]: `cox_ph_counting(start, stop, event, x1 [, x2, ...] [, options])`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{ModelDefinition, ModelFunction, ModelKind};
use crate::survival_udaf::SurvivalUdaf;

/// `cox_ph_counting(start, stop, event, x1 [, x2, ...] [, options])`, as R's `coxph(Surv(start, stop, event) ~ x1 + ...)`.
///
/// SQL reference (arguments, result, example): its [`ModelDefinition::documentation`],
/// shown by `\h cox_ph_counting` in the shell and in `docs/functions.md`.
pub type CoxPhCounting = SurvivalUdaf<ModelFunction<CoxPhCountingFunction>>;

/// What [`CoxPhCounting`] is (see [`ModelFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxPhCountingFunction;

impl ModelDefinition for CoxPhCountingFunction {
    const NAME: &'static str = "cox_ph_counting";
    const SYNTAX: &'static str = "cox_ph_counting(start, stop, event, x1 [, x2, ...] [, options])";
    const KIND: ModelKind = ModelKind::Counting;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Cox regression on counting-process data, as R's coxph(Surv(start, stop, event) ~ x1 + ...): each row is an interval (start, stop] during which the subject is at risk with the given covariate values (time-varying covariates, delayed entry). Returns the same STRUCT as cox_ph.", Self::SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_ph_counting(start, stop, event, age, surgery, transplant)['terms']) FROM heart;\n```")
            .with_argument("start", "Interval start (numeric), < stop.")
            .with_argument("stop", "Interval end: event or censoring time.")
            .with_argument("event", "1/true = event at stop.")
            .with_argument("x1, x2, ...", "Covariates; cluster(id) among them is R's + cluster(id), the robust variance's clusters, not a covariate.")
            .with_argument("options", "Constant string: ties, conf_level, robust, max_iter, eps, convention (as cox_ph).")
            .build()
        })
    }
}

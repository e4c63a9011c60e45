//! [`CoxZph`]: `cox_zph(time, event, x1 [, x2, ...] [, options])`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{ModelDefinition, ModelFunction, ModelKind};
use crate::survival_udaf::SurvivalUdaf;

/// `cox_zph(time, event, x1 [, x2, ...] [, options])`, as R's `cox.zph(coxph(Surv(time, event) ~ x1 + ...), transform = "km")`.
///
/// SQL reference (arguments, result, example): its [`ModelDefinition::documentation`],
/// shown by `\h cox_zph` in the shell and in `docs/functions.md`.
pub type CoxZph = SurvivalUdaf<ModelFunction<CoxZphFunction>>;

/// What [`CoxZph`] is (see [`ModelFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxZphFunction;

impl ModelDefinition for CoxZphFunction {
    const NAME: &'static str = "cox_zph";
    const SYNTAX: &'static str = "cox_zph(time, event, x1 [, x2, ...] [, options])";
    const KIND: ModelKind = ModelKind::Zph;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Test of the proportional-hazards assumption of the Cox model on these covariates, as R's cox.zph(coxph(...), transform = 'km') (survival >= 3.0 score test): one test per covariate (a factor's levels together) and a global test. Returns STRUCT<global_chisq, global_df, global_p, terms LIST<STRUCT<term, chisq, df, p_value>>>.", Self::SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_zph(os_months, died, age, sex, liver_mets)['terms']) FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("x1, x2, ...", "Covariates.")
            .with_argument("options", "Constant string: as cox_ph plus transform=km|identity|rank|log (default km) and terms=true|false.")
            .build()
        })
    }
}

//! [`CoxZph`]: `cox_zph(time, event, x1 [, x2, ...] [, options])`.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::Documentation;

use crate::convention_setting::{session_convention, ConventionArg};
use crate::docs::doc;
use crate::model_state::{self, ModelKind, ModelOps};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "cox_zph";
const SYNTAX: &str = "cox_zph(time, event, x1 [, x2, ...] [, options])";
const KIND: ModelKind = ModelKind::Zph;

/// `cox_zph(time, event, x1 [, x2, ...] [, options])`, as R's `cox.zph(coxph(Surv(time, event) ~ x1 + ...), transform = "km")`.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h cox_zph` in the shell and in `docs/functions.md`.
pub type CoxZph = SurvivalUdaf<CoxZphFunction>;

/// The definition of [`CoxZph`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxZphFunction;

impl SurvivalFunction for CoxZphFunction {
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

    /// `SET survql.convention`: see [`crate::convention_setting`].
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        session_convention(ConventionArg::CoxOptions { fixed: 2 })
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
            doc("Test of the proportional-hazards assumption of the Cox model on these covariates, as R's cox.zph(coxph(...), transform = 'km') (survival >= 3.0 score test): one test per covariate (a factor's levels together) and a global test. Returns STRUCT<global_chisq, global_df, global_p, terms LIST<STRUCT<term, chisq, df, p_value>>>.", SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_zph(os_months, died, age, sex, liver_mets)['terms']) FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("x1, x2, ...", "Covariates.")
            .with_argument("options", "Constant string: as cox_ph plus transform=km|identity|rank|log (default km) and terms=true|false.")
            .build()
        })
    }
}

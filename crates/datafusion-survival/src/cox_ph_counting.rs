//! [`CoxPhCounting`]: `cox_ph_counting(start, stop, event, x1 [, x2, ...] [, options])`.

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

const NAME: &str = "cox_ph_counting";
const SYNTAX: &str = "cox_ph_counting(start, stop, event, x1 [, x2, ...] [, options])";
const KIND: ModelKind = ModelKind::Counting;

/// `cox_ph_counting(start, stop, event, x1 [, x2, ...] [, options])`, as R's `coxph(Surv(start, stop, event) ~ x1 + ...)`.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h cox_ph_counting` in the shell and in `docs/functions.md`.
pub type CoxPhCounting = SurvivalUdaf<CoxPhCountingFunction>;

/// The definition of [`CoxPhCounting`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxPhCountingFunction;

impl SurvivalFunction for CoxPhCountingFunction {
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
        session_convention(ConventionArg::CoxOptions { fixed: 3 })
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
            doc("Cox regression on counting-process data, as R's coxph(Surv(start, stop, event) ~ x1 + ...): each row is an interval (start, stop] during which the subject is at risk with the given covariate values (time-varying covariates, delayed entry). Returns the same STRUCT as cox_ph.", SYNTAX)
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

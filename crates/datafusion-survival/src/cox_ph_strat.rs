//! [`CoxPhStrat`]: `cox_ph_strat(time, event, strata, x1 [, x2, ...] [, options])`.

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

const NAME: &str = "cox_ph_strat";
const SYNTAX: &str = "cox_ph_strat(time, event, strata, x1 [, x2, ...] [, options])";
const KIND: ModelKind = ModelKind::Strat;

/// `cox_ph_strat(time, event, strata, x1 [, x2, ...] [, options])`, as R's `coxph(Surv(time, event) ~ x1 + ... + strata(strata))`.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h cox_ph_strat` in the shell and in `docs/functions.md`.
pub type CoxPhStrat = SurvivalUdaf<CoxPhStratFunction>;

/// The definition of [`CoxPhStrat`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxPhStratFunction;

impl SurvivalFunction for CoxPhStratFunction {
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
            doc("Stratified Cox regression, as R's coxph(Surv(time, event) ~ x1 + ... + strata(strata)): a separate baseline hazard per stratum. Returns the same STRUCT as cox_ph.", SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_ph_strat(os_months, died, treatment, age, liver_mets)['terms']) FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric); or surv([entry,] time, event [, weight]) in place of time and event: an entry gives counting-process data (as cox_ph_counting), a weight R's weights = (> 0; non-integer weights make the variance robust unless robust=false).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("strata", "Stratum (any type).")
            .with_argument("x1, x2, ...", "Covariates; cluster(id) among them is R's + cluster(id), the robust variance's clusters, not a covariate.")
            .with_argument("options", "Constant string: ties, conf_level, robust, max_iter, eps, convention (as cox_ph).")
            .build()
        })
    }
}

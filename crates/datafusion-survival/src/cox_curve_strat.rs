//! [`CoxCurveStrat`]: `cox_curve_strat(time, event, strata, x1 [, x2, ...], 'strata=label, x1=value, ..., options')`.

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

const NAME: &str = "cox_curve_strat";
const SYNTAX: &str =
    "cox_curve_strat(time, event, strata, x1 [, x2, ...], 'strata=label [, x1=value, ...] [, options]')";
const KIND: ModelKind = ModelKind::CurveStrat;

/// `cox_curve_strat(time, event, strata, x1 [, ...], 'strata=label, x1=value, ...')`: the
/// curve a stratified Cox model (as `cox_ph_strat`) predicts in one stratum, as R's
/// `survfit(coxph(Surv(time, event) ~ x1 + ... + strata(s)), newdata = data.frame(s = label,
/// x1 = value, ...))`.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h cox_curve_strat` in the shell and in `docs/functions.md`.
pub type CoxCurveStrat = SurvivalUdaf<CoxCurveStratFunction>;

/// The definition of [`CoxCurveStrat`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxCurveStratFunction;

impl SurvivalFunction for CoxCurveStratFunction {
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
            doc("The survival curve of one stratum of a stratified Cox model (fitted as cox_ph_strat on the same arguments) for a covariate profile, as R's survfit(coxph(... + strata(s)), newdata = <profile with the stratum>): the stratum's own baseline hazard times exp((z - means)'b); otherwise as cox_curve. Returns LIST<STRUCT<time, surv, std_err, lower, upper, cumhaz>> over the stratum's distinct times. strata=<label> is required; without covariate values the curve is at the covariate means.", SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_curve_strat(os_months, died, sex, age, 'strata=F, age=60')) FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric); or surv([entry,] time, event [, weight]) as in cox_ph_strat.")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("strata", "Stratum of each row (any type; NULL rows are skipped).")
            .with_argument("x1, x2, ...", "Covariates as in cox_ph_strat.")
            .with_argument("profile and options", "Constant string: strata=<label of the stratum>, the covariate values and the options of cox_curve.")
            .build()
        })
    }
}

//! [`CoxCurveStrat`]: `cox_curve_strat(time, event, strata, x1 [, x2, ...], 'strata=label, x1=value, ..., options')`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{ModelDefinition, ModelFunction, ModelKind};
use crate::survival_udaf::SurvivalUdaf;

/// `cox_curve_strat(time, event, strata, x1 [, ...], 'strata=label, x1=value, ...')`: the
/// curve a stratified Cox model (as `cox_ph_strat`) predicts in one stratum, as R's
/// `survfit(coxph(Surv(time, event) ~ x1 + ... + strata(s)), newdata = data.frame(s = label,
/// x1 = value, ...))`.
///
/// SQL reference (arguments, result, example): its [`ModelDefinition::documentation`],
/// shown by `\h cox_curve_strat` in the shell and in `docs/functions.md`.
pub type CoxCurveStrat = SurvivalUdaf<ModelFunction<CoxCurveStratFunction>>;

/// What [`CoxCurveStrat`] is (see [`ModelFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxCurveStratFunction;

impl ModelDefinition for CoxCurveStratFunction {
    const NAME: &'static str = "cox_curve_strat";
    const SYNTAX: &'static str = "cox_curve_strat(time, event, strata, x1 [, x2, ...], 'strata=label [, x1=value, ...] [, options]')";
    const KIND: ModelKind = ModelKind::CurveStrat;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("The survival curve of one stratum of a stratified Cox model (fitted as cox_ph_strat on the same arguments) for a covariate profile, as R's survfit(coxph(... + strata(s)), newdata = <profile with the stratum>): the stratum's own baseline hazard times exp((z - means)'b); otherwise as cox_curve. Returns LIST<STRUCT<time, surv, std_err, lower, upper, cumhaz>> over the stratum's distinct times. strata=<label> is required; without covariate values the curve is at the covariate means.", Self::SYNTAX)
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

//! [`CoxCurve`]: `cox_curve(time, event, x1 [, x2, ...] [, 'profile and options'])`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{ModelDefinition, ModelFunction, ModelKind};
use crate::survival_udaf::SurvivalUdaf;

/// `cox_curve(time, event, x1 [, x2, ...] [, 'x1=value, ..., options'])`: the survival curve
/// a Cox model predicts for a covariate profile, as R's
/// `survfit(coxph(Surv(time, event) ~ x1 + ...), newdata = data.frame(x1 = value, ...))`
/// (see `survql_stats::cox_curve`); without values R's default curve at the covariate means
/// (`basehaz(fit)`), with `centered=false` the curve at covariates 0.
///
/// SQL reference (arguments, result, example): its [`ModelDefinition::documentation`],
/// shown by `\h cox_curve` in the shell and in `docs/functions.md`.
pub type CoxCurve = SurvivalUdaf<ModelFunction<CoxCurveFunction>>;

/// What [`CoxCurve`] is (see [`ModelFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxCurveFunction;

impl ModelDefinition for CoxCurveFunction {
    const NAME: &'static str = "cox_curve";
    const SYNTAX: &'static str =
        "cox_curve(time, event, x1 [, x2, ...] [, 'x1=value, ..., options'])";
    const KIND: ModelKind = ModelKind::Curve;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("The survival curve a Cox model (fitted as cox_ph on the same arguments) predicts for one covariate profile, as R's survfit(coxph(...), newdata = <profile>) with its defaults: one element per distinct time (events and censorings) with S(t) = exp(-cumhaz(t)), the Efron (ties=efron) or Breslow baseline hazard times exp((z - means)'b), std_err the SE of S (the SE of cumhaz includes the coefficients' variance: Tsiatis; the robust variance when the fit has it), pointwise limits. Returns LIST<STRUCT<time, surv, std_err, lower, upper, cumhaz>>. The profile is written in the options string: every covariate by its column name (a factor by its level, a boolean true/false). Without a profile: R's default curve at the covariate means (0 for 0/1 columns), i.e. basehaz(fit); with centered=false the curve at every covariate 0 (basehaz(fit, centered = FALSE)). A group whose data lack the profile's factor level gives NULL with a warning.", Self::SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_curve(os_months, died, age, liver_mets, 'age=60, liver_mets=true')) FROM demo.net_cohort;\n\n-- grade 1 vs grade 3 at age 60, one row per curve (\\plot curve draws them)\nSELECT 'grade 1' AS profile, cox_curve(os_months, died, age, grade, 'age=60, grade=1') AS curve FROM demo.net_cohort\nUNION ALL\nSELECT 'grade 3', cox_curve(os_months, died, age, grade, 'age=60, grade=3') FROM demo.net_cohort;\n\n-- the baseline cumulative hazard, basehaz(fit, centered = FALSE)\nSELECT unnest(cox_curve(os_months, died, age, 'centered=false')) FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric); or surv([entry,] time, event [, weight]) as in cox_ph.")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("x1, x2, ...", "Covariates as in cox_ph (text columns are factors; cluster(id) for a robust variance).")
            .with_argument("profile and options", "Constant string 'key=value, ...': the profile, one value per covariate by its column name (case-insensitive); options ties=efron|breslow|exact, conf_type=log (default)|log-log|plain|logit|arcsin|none, conf_level=0.95, centered=true|false (no profile only), robust, max_iter, eps as cox_ph.")
            .build()
        })
    }
}

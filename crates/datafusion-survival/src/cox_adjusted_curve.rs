//! [`CoxAdjustedCurve`]: `cox_adjusted_curve(time, event, grp, x1 [, x2, ...] [, 'options'])`.

use std::sync::OnceLock;

use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::model_state::{ModelDefinition, ModelFunction, ModelKind};
use crate::survival_udaf::SurvivalUdaf;

/// `cox_adjusted_curve(time, event, grp, x1 [, x2, ...] [, 'options'])`: the
/// direct-standardised (g-computation) survival curve of each level of `grp` after a Cox fit
/// of `time, event` on `grp` and the covariates — the mean of the model's predicted curves
/// over every subject with `grp` set to the level — with the infinitesimal-jackknife standard
/// error, as R's `riskRegression::ate` (see `survql_stats::cox_adjusted_curve`).
///
/// SQL reference (arguments, result, example): its [`ModelDefinition::documentation`],
/// shown by `\h cox_adjusted_curve` in the shell and in `docs/functions.md`.
pub type CoxAdjustedCurve = SurvivalUdaf<ModelFunction<CoxAdjustedCurveFunction>>;

/// What [`CoxAdjustedCurve`] is (see [`ModelFunction`] for the rest of its definition).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxAdjustedCurveFunction;

impl ModelDefinition for CoxAdjustedCurveFunction {
    const NAME: &'static str = "cox_adjusted_curve";
    const SYNTAX: &'static str =
        "cox_adjusted_curve(time, event, grp, x1 [, x2, ...] [, 'options'])";
    const KIND: ModelKind = ModelKind::AdjustedCurve;

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Adjusted survival curves by direct standardisation (g-computation), as R's riskRegression::ate(coxph(Surv(time, event) ~ grp + x1 + ...), treatment = 'grp') and adjustedCurves(method = 'direct'): a Cox model is fitted on grp (always a factor, levels in R's order, the first the reference) and the covariates; the curve of level a at time t is the mean, over every subject of the sample, of the model's predicted survival exp(-cumhaz0(t) exp(z'b)) with grp set to a (Breslow or Efron baseline hazard, as survfit.coxph). Returns LIST<STRUCT<grp, time, surv, std_err, lower, upper>>: every level (in order) at every event time of the data, or at times=. std_err is the infinitesimal jackknife (the derivative of the estimate with respect to each subject's case weight, including the uncertainty of the coefficients and of the baseline hazard): riskRegression's influence function exactly when no two events share a time; with tied event times riskRegression counts each distinct time once in the coefficients' influence, and survql counts every death (as R's dfbeta residuals), so its SE differs by up to a few percent there. Limits plain (ate's default: S -/+ z SE, cut to [0, 1]) or log-log (ate's cloglog). Right-censored, unweighted data (no surv(entry, ...), weights or cluster). With grp alone the curves are cox_curve's for each level. The IPW Kaplan-Meier (weights from your own propensity model) is the other adjusted curve: km_curve(surv(NULL, time, event, w)). A time past the last follow-up is an error; a group without events gives NULL with a warning.", Self::SYNTAX)
            .with_sql_example("```sql\n-- adjusted survival by grade, standardised to the cohort's age and liver metastases\nSELECT unnest(cox_adjusted_curve(os_months, died, grade, age, liver_mets, 'times=12 24 60'))\nFROM demo.net_cohort;\n\n-- one curve per grade for \\plot curve (the grp field splits the curves)\nSELECT cox_adjusted_curve(os_months, died, grade, age, liver_mets) AS adjusted FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric); or surv(NULL, time, event).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("grp", "The exposure whose levels get a curve: any type, always a factor (numbers in numeric order, text in byte order).")
            .with_argument("x1, x2, ...", "Adjustment covariates as in cox_ph (text columns are factors).")
            .with_argument("options", "Constant string 'key=value, ...': times=t1 t2 ... (space-separated, ascending; default every event time), ties=efron|breslow, conf_type=plain (default)|log-log, conf_level=0.95, max_iter, eps.")
            .build()
        })
    }
}

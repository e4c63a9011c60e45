//! [`KmSurvivalDiff`]: `km_survival_diff(time, event, grp, at [, conf_level])`, the difference
//! of Kaplan-Meier survival at a milestone between each group and the reference group, with
//! the number needed to treat.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::Documentation;
use survql_stats::contrasts::{survival_difference, SurvivalPoint};
use survql_stats::{ConfType, KaplanMeier};

use crate::docs::doc;
use crate::group_contrasts::{coerce_contrast_types, contrast_ops, ContrastRow, ContrastShape};
use crate::logrank_state::LogrankOps;
use crate::options::f64_option;
use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use crate::warnings::WarningSink;

const NAME: &str = "km_survival_diff";
const SYNTAX: &str = "km_survival_diff(time, event, grp, at [, conf_level])";

/// The result's fields.
const SHAPE: ContrastShape = ContrastShape {
    head: &["at"],
    group: &["surv", "std_err"],
    contrast: &[
        "diff",
        "std_err",
        "lower",
        "upper",
        "p_value",
        "nnt",
        "nnt_lower",
        "nnt_upper",
    ],
};

/// `km_survival_diff(time, event, grp, at [, conf_level])` returns `STRUCT<at DOUBLE,
/// reference VARCHAR, groups LIST<STRUCT<grp, surv, std_err>>, diff, std_err, lower, upper,
/// p_value, nnt, nnt_lower, nnt_upper, contrasts LIST<STRUCT<grp, diff, ..., nnt_upper>>>`:
/// each group's Kaplan-Meier survival at `at` with its Greenwood standard error (as
/// `summary(survfit(...), times = at)` on the group), and for each level after the first (R's
/// factor order; the first is `reference`) the difference S(level) − S(reference) with
/// se = sqrt(se₁² + se₀²), the normal interval, the two-sided p and the number needed to treat
/// 1/diff with the limits 1/upper, 1/lower (Altman & Andersen, BMJ 1999): when the interval of
/// the difference spans 0, nnt_lower > 0 > nnt_upper and the NNT's interval is the two pieces
/// (−∞, nnt_upper] ∪ [nnt_lower, ∞) ([`survql_stats::contrasts::survival_difference`]). With
/// two groups the top-level fields are that contrast; with more they are NULL. `at` past a
/// group's follow-up is an error (the rule of `rmst_diff`'s tau).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h km_survival_diff` in the shell and in `docs/functions.md`.
pub type KmSurvivalDiff = SurvivalUdaf<KmSurvivalDiffFunction>;

/// The definition of [`KmSurvivalDiff`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct KmSurvivalDiffFunction;

impl SurvivalFunction for KmSurvivalDiffFunction {
    type Ops = LogrankOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_contrast_types(NAME, "at", arg_types, SYNTAX)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(SHAPE.fields()))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::logrank_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let at = f64_option(NAME, "at", args, 3)?.unwrap_or(f64::NAN);
        contrast_ops(NAME, "at", at, args, sink, &SHAPE, survival_row)
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Difference of Kaplan-Meier survival at a milestone between each group of grp \
                 and the first (R's factor order), with Greenwood standard errors, a normal \
                 CI, a two-sided p and the number needed to treat (1/diff; its limits 1/upper \
                 and 1/lower, Altman & Andersen 1999: when nnt_lower > 0 > nnt_upper the CI of \
                 the difference spans 0 and the NNT's CI is the two pieces (-inf, nnt_upper] \
                 and [nnt_lower, inf)). Returns STRUCT<at, reference, groups LIST<STRUCT<grp, \
                 surv, std_err>>, diff, std_err, lower, upper, p_value, nnt, nnt_lower, \
                 nnt_upper, contrasts LIST<STRUCT<grp, diff, ...>>>; with two groups the \
                 top-level fields are the contrast (second level minus first), with more they \
                 are NULL. at past a group's follow-up is an error (as rmst_diff's tau).",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT km_survival_diff(os_months, died, liver_mets, 36) FROM demo.net_cohort;\n\nSELECT unnest(km_survival_diff(os_months, died, grade, 12, 0.9)['contrasts']) FROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric, >= 0).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("grp", "Group (any type; labels are its text); at least two levels.")
            .with_argument("at", "Constant milestone time, within every group's follow-up.")
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }
}

/// Each group's survival at `at` and each level's difference with the first.
fn survival_row(at: f64, z: f64, curves: &[(String, KaplanMeier)]) -> ContrastRow {
    let points: Vec<(String, SurvivalPoint)> = curves
        .iter()
        .map(|(label, km)| {
            let s = km.at(at, ConfType::None, 0.95);
            let point = SurvivalPoint {
                surv: s.surv,
                std_err: s.std_err.unwrap_or(f64::NAN),
            };
            (label.clone(), point)
        })
        .collect();
    let mut row = ContrastRow {
        reference: Some(points[0].0.clone()),
        ..ContrastRow::default()
    };
    for (label, p) in &points {
        row.groups.push((label.clone(), vec![p.surv, p.std_err]));
    }
    for (label, p) in &points[1..] {
        let d = survival_difference(points[0].1, *p, z);
        row.contrasts.push((
            label.clone(),
            vec![
                d.diff,
                d.std_err,
                d.lower,
                d.upper,
                d.p_value,
                d.nnt,
                d.nnt_lower,
                d.nnt_upper,
            ],
        ));
    }
    row
}

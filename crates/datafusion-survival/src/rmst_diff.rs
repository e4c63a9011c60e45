//! [`RmstDiff`]: `rmst_diff(time, event, grp, tau [, conf_level])`, the restricted mean survival
//! time of each group and its contrasts with the reference group (survRM2's `rmst2`).

use std::sync::OnceLock;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::Documentation;
use survql_stats::contrasts::rmst_contrast;
use survql_stats::KaplanMeier;

use crate::docs::doc;
use crate::group_contrasts::{coerce_contrast_types, contrast_ops, ContrastRow, ContrastShape};
use crate::logrank_state::LogrankOps;
use crate::options::f64_option;
use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use crate::warnings::WarningSink;

const NAME: &str = "rmst_diff";
const SYNTAX: &str = "rmst_diff(time, event, grp, tau [, conf_level])";

/// The result's fields.
const SHAPE: ContrastShape = ContrastShape {
    head: &["tau"],
    group: &["rmst", "std_err", "lower", "upper"],
    contrast: &[
        "diff",
        "diff_se",
        "diff_lower",
        "diff_upper",
        "diff_p",
        "ratio",
        "ratio_lower",
        "ratio_upper",
        "ratio_p",
        "rmtl_ratio",
        "rmtl_ratio_lower",
        "rmtl_ratio_upper",
        "rmtl_ratio_p",
    ],
};

/// `rmst_diff(time, event, grp, tau [, conf_level])` returns `STRUCT<tau DOUBLE, reference
/// VARCHAR, groups LIST<STRUCT<grp, rmst, std_err, lower, upper>>, diff, diff_se, diff_lower,
/// diff_upper, diff_p, ratio, ratio_lower, ratio_upper, ratio_p, rmtl_ratio, rmtl_ratio_lower,
/// rmtl_ratio_upper, rmtl_ratio_p, contrasts LIST<STRUCT<grp, diff, ..., rmtl_ratio_p>>>`:
/// each group's restricted mean survival time up to `tau` (as `km_rmst` of the group) and the
/// contrasts of each level with the first (R's factor order; named in `reference`) as
/// survRM2's `rmst2(time, status, arm, tau, alpha = 1 - conf_level)$unadjusted.result`
/// ([`survql_stats::contrasts::rmst_contrast`]). With two groups the top-level contrast
/// fields are that contrast; with more they are NULL and `contrasts` has one element per level
/// after the first. `tau` past a group's follow-up is an error (survRM2's rule,
/// [`survql_stats::contrasts::truncation_limit`]).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h rmst_diff` in the shell and in `docs/functions.md`.
pub type RmstDiff = SurvivalUdaf<RmstDiffFunction>;

/// The definition of [`RmstDiff`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct RmstDiffFunction;

impl SurvivalFunction for RmstDiffFunction {
    type Ops = LogrankOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_contrast_types(NAME, "tau", arg_types, SYNTAX)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(SHAPE.fields()))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::logrank_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let tau = f64_option(NAME, "tau", args, 3)?.unwrap_or(f64::NAN);
        if tau.is_nan() || tau <= 0.0 {
            return exec_err!("{NAME}: argument 'tau' must be a positive number, found {tau}");
        }
        contrast_ops(NAME, "tau", tau, args, sink, &SHAPE, rmst_row)
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Restricted mean survival time up to tau of each group of grp and the contrasts \
                 of each level with the first (R's factor order), as survRM2's rmst2: the \
                 difference (SE, CI, p), the ratio of RMST and the ratio of restricted mean time \
                 lost (CI and p on the log scale). Returns STRUCT<tau, reference, groups \
                 LIST<STRUCT<grp, rmst, std_err, lower, upper>>, diff, diff_se, diff_lower, \
                 diff_upper, diff_p, ratio, ratio_lower, ratio_upper, ratio_p, rmtl_ratio, \
                 rmtl_ratio_lower, rmtl_ratio_upper, rmtl_ratio_p, contrasts LIST<STRUCT<grp, \
                 diff, ...>>>. With two groups the top-level fields are the contrast (second \
                 level minus first); with more they are NULL and contrasts lists every level \
                 against the reference. tau past a group's follow-up is an error: it must be at \
                 most the shortest follow-up of a group whose last time is censored (and at \
                 most the longest). Rows with a NULL group are skipped.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT rmst_diff(os_months, died, liver_mets, 60) FROM demo.net_cohort;\n\nSELECT r.reference, r.diff, r.diff_lower, r.diff_upper, r.diff_p\nFROM (SELECT rmst_diff(os_months, died, liver_mets, 60, 0.9) AS r FROM demo.net_cohort);\n\nSELECT unnest(rmst_diff(os_months, died, grade, 36)['contrasts']) FROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric, >= 0).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("grp", "Group (any type; labels are its text); at least two levels.")
            .with_argument("tau", "Constant truncation time (> 0), within every group's follow-up.")
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }
}

/// Each group's RMST up to tau and each level's contrast with the first.
fn rmst_row(tau: f64, z: f64, curves: &[(String, KaplanMeier)]) -> ContrastRow {
    let rmst: Vec<_> = curves
        .iter()
        .map(|(label, km)| {
            let r = km
                .rmst(tau)
                .expect("a group's curve has times and starts at 0 <= tau");
            (label.clone(), r)
        })
        .collect();
    let mut row = ContrastRow {
        reference: Some(rmst[0].0.clone()),
        ..ContrastRow::default()
    };
    for (label, r) in &rmst {
        row.groups.push((
            label.clone(),
            vec![
                r.rmst,
                r.std_err,
                r.rmst - z * r.std_err,
                r.rmst + z * r.std_err,
            ],
        ));
    }
    for (label, r) in &rmst[1..] {
        let c = rmst_contrast(&rmst[0].1, r, z);
        row.contrasts.push((
            label.clone(),
            vec![
                c.diff.estimate,
                c.diff_se,
                c.diff.lower,
                c.diff.upper,
                c.diff.p_value,
                c.ratio.estimate,
                c.ratio.lower,
                c.ratio.upper,
                c.ratio.p_value,
                c.rmtl_ratio.estimate,
                c.rmtl_ratio.lower,
                c.rmtl_ratio.upper,
                c.rmtl_ratio.p_value,
            ],
        ));
    }
    row
}

//! What `rmst_diff` and `km_survival_diff` share: each group's Kaplan-Meier curve from the
//! log-rank state's per-group counts, the check that the truncation time is within every
//! group's follow-up (survRM2's rule), and the result: a struct of the call's constants, the
//! reference level, the groups, the two-group contrast at the top level and every level
//! against the reference in `contrasts`.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::AccumulatorArgs;
use survql_stats::contrasts::{truncation_limit, FollowUpEnd};
use survql_stats::distributions::z_for_level;
use survql_stats::{KaplanMeier, TimeCounts, Weighting};

use crate::coerce::{check_arity, coerce_option, coerce_time_event_labels};
use crate::logrank_state::{GroupCurvesEvaluator, LogrankOps, LogrankOutput};
use crate::options::conf_level_option;
use crate::result_arrays::{f64_field, list_array, list_of, string_array, struct_array};
use crate::warnings::WarningSink;

/// The curves of one SQL group's groups (in R's factor order), checked for the call: times
/// must be ≥ 0 (the contrasts integrate and read the curves from 0), `value` (the argument
/// `arg`: tau, at) within the follow-up of every group ([`truncation_limit`]). `None` with a
/// warning when the SQL group has fewer than two groups (no contrast); `Ok(None)` without
/// one when it has no rows.
pub(crate) fn group_curves(
    function: &str,
    expression: &str,
    sink: &WarningSink,
    arg: &str,
    value: f64,
    groups: &[(String, TimeCounts)],
) -> Result<Option<Vec<(String, KaplanMeier)>>> {
    if groups.is_empty() {
        return Ok(None);
    }
    let mut ends = Vec::with_capacity(groups.len());
    for (label, counts) in groups {
        if let Some(&first) = counts.time.first() {
            if first < 0.0 {
                return exec_err!(
                    "{function}: argument 'time' must be >= 0 (the curves are read from 0), \
                     found {first} in group {label}"
                );
            }
        }
        let last = counts.time.len() - 1;
        ends.push(FollowUpEnd {
            last_time: counts.time[last],
            ends_with_event: counts.n_censor[last] == 0,
        });
    }
    if groups.len() < 2 {
        sink.push(format!(
            "{expression}: only one group ({}): no contrast, NULL",
            groups[0].0
        ));
    }
    let limit = truncation_limit(&ends).unwrap_or(f64::INFINITY);
    if value > limit {
        return exec_err!(
            "{function}: argument '{arg}' ({value}) is past the follow-up of a group: it must \
             be <= {limit}, the shortest follow-up of a group whose last time is censored \
             (and at most the longest follow-up), as survRM2's rmst2"
        );
    }
    Ok(Some(
        groups
            .iter()
            .map(|(label, counts)| (label.clone(), KaplanMeier::from_counts(counts)))
            .collect(),
    ))
}

/// One SQL group's result: its groups' values and each level's contrast with the reference.
#[derive(Debug, Default)]
pub(crate) struct ContrastRow {
    pub reference: Option<String>,
    pub groups: Vec<(String, Vec<f64>)>,
    pub contrasts: Vec<(String, Vec<f64>)>,
}

/// The field names of a contrast result: the constants at the top (`tau`, `at`), the groups'
/// fields (after `grp`), the contrast fields (after `grp` in `contrasts`, and at the top).
#[derive(Debug)]
pub(crate) struct ContrastShape {
    pub head: &'static [&'static str],
    pub group: &'static [&'static str],
    pub contrast: &'static [&'static str],
}

impl ContrastShape {
    fn labelled(fields: &[&str]) -> Fields {
        let mut out = vec![Field::new("grp", DataType::Utf8, true)];
        out.extend(fields.iter().map(|f| f64_field(f)));
        Fields::from(out)
    }

    /// `STRUCT<head..., reference, groups LIST<STRUCT<grp, group...>>, contrast...,
    /// contrasts LIST<STRUCT<grp, contrast...>>>`.
    pub fn fields(&self) -> Fields {
        let mut out: Vec<Field> = self.head.iter().map(|f| f64_field(f)).collect();
        out.push(Field::new("reference", DataType::Utf8, true));
        out.push(Field::new(
            "groups",
            list_of(DataType::Struct(Self::labelled(self.group))),
            true,
        ));
        out.extend(self.contrast.iter().map(|f| f64_field(f)));
        out.push(Field::new(
            "contrasts",
            list_of(DataType::Struct(Self::labelled(self.contrast))),
            true,
        ));
        Fields::from(out)
    }

    /// The result column: `head` is the call's constants (the same for every SQL group). The
    /// top-level contrast fields are the only contrast of two groups, NULL otherwise; NaN
    /// values are NULL (R's NA/NaN).
    pub fn array(&self, head: &[f64], rows: &[ContrastRow]) -> Result<ArrayRef> {
        let nan_null = |v: Vec<f64>| -> ArrayRef {
            Arc::new(
                v.into_iter()
                    .map(|x| (!x.is_nan()).then_some(x))
                    .collect::<Float64Array>(),
            )
        };
        let labelled = |fields: &[&str], items: Vec<&(String, Vec<f64>)>| -> Result<ArrayRef> {
            let labels: Vec<&str> = items.iter().map(|(l, _)| l.as_str()).collect();
            let mut columns = vec![string_array(&labels)?];
            for k in 0..fields.len() {
                columns.push(nan_null(items.iter().map(|(_, v)| v[k]).collect()));
            }
            Ok(struct_array(&Self::labelled(fields), columns))
        };
        let mut columns: Vec<ArrayRef> = head
            .iter()
            .map(|&x| nan_null(vec![x; rows.len()]))
            .collect();
        let reference: Vec<Option<&str>> = rows.iter().map(|r| r.reference.as_deref()).collect();
        columns.push(Arc::new(
            reference
                .into_iter()
                .collect::<datafusion::arrow::array::StringArray>(),
        ));
        let lengths: Vec<usize> = rows.iter().map(|r| r.groups.len()).collect();
        let groups = labelled(self.group, rows.iter().flat_map(|r| &r.groups).collect())?;
        columns.push(list_array(&lengths, groups)?);
        for k in 0..self.contrast.len() {
            columns.push(nan_null(
                rows.iter()
                    .map(|r| match r.contrasts.as_slice() {
                        [(_, only)] => only[k],
                        _ => f64::NAN,
                    })
                    .collect(),
            ));
        }
        let lengths: Vec<usize> = rows.iter().map(|r| r.contrasts.len()).collect();
        let contrasts = labelled(
            self.contrast,
            rows.iter().flat_map(|r| &r.contrasts).collect(),
        )?;
        columns.push(list_array(&lengths, contrasts)?);
        Ok(struct_array(&self.fields(), columns))
    }
}

/// The arguments of a contrast function: `time, event, grp`, the constant `arg` (tau, at) and
/// an optional constant `conf_level`.
pub(crate) fn coerce_contrast_types(
    function: &str,
    arg: &str,
    arg_types: &[DataType],
    syntax: &str,
) -> Result<Vec<DataType>> {
    check_arity(function, arg_types.len(), 4, 5, syntax)?;
    let mut out = coerce_time_event_labels(function, &arg_types[..3], 1, &[], syntax)?;
    out.push(coerce_option(
        function,
        arg,
        &arg_types[3],
        &DataType::Float64,
    )?);
    if let Some(dt) = arg_types.get(4) {
        out.push(coerce_option(
            function,
            "conf_level",
            dt,
            &DataType::Float64,
        )?);
    }
    Ok(out)
}

/// One SQL group's result from its groups' curves (in factor order), at `value` (tau, at)
/// with limits `± z·se`.
pub(crate) type ContrastRowFn =
    fn(value: f64, z: f64, curves: &[(String, KaplanMeier)]) -> ContrastRow;

/// A contrast function's evaluation over the log-rank state's per-group counts.
#[derive(Debug)]
pub(crate) struct ContrastEvaluator {
    function: &'static str,
    arg: &'static str,
    expression: String,
    sink: WarningSink,
    value: f64,
    level: f64,
    shape: &'static ContrastShape,
    row: ContrastRowFn,
}

/// The ops of a contrast call: the log-rank state (counts per group and time) with `row`
/// turning each SQL group's curves into its result. `value` is the constant `arg` (tau, at).
pub(crate) fn contrast_ops(
    function: &'static str,
    arg: &'static str,
    value: f64,
    args: &AccumulatorArgs,
    sink: &WarningSink,
    shape: &'static ContrastShape,
    row: ContrastRowFn,
) -> Result<LogrankOps> {
    let level = conf_level_option(function, args, 4)?.unwrap_or(0.95);
    let ops = LogrankOps::new(
        function,
        args,
        sink,
        false,
        Weighting::LogRank,
        LogrankOutput::Test,
    );
    let evaluator = ContrastEvaluator {
        function,
        arg,
        expression: ops.expression.clone(),
        sink: sink.clone(),
        value,
        level,
        shape,
        row,
    };
    Ok(ops.with_curves(Arc::new(evaluator)))
}

impl GroupCurvesEvaluator for ContrastEvaluator {
    fn evaluate(&self, sql_groups: &[Vec<(String, TimeCounts)>]) -> Result<ArrayRef> {
        let z = z_for_level(self.level);
        let mut rows = Vec::with_capacity(sql_groups.len());
        for groups in sql_groups {
            let curves = group_curves(
                self.function,
                &self.expression,
                &self.sink,
                self.arg,
                self.value,
                groups,
            )?;
            rows.push(match curves {
                Some(curves) => (self.row)(self.value, z, &curves),
                None => ContrastRow::default(),
            });
        }
        self.shape.array(&[self.value], &rows)
    }
}

//! The validation state: the rows (time, event, prediction, test flag) that `concordance_index`,
//! `td_auc` and `brier_score` evaluate a prediction on (see [`survql_stats::validation`]).
//! Memory is O(rows): the metrics compare every case with every control through sorted
//! scores. Partial states merge by appending rows.
//!
//! The censoring distribution G of the IPCW weights is that of every row; a trailing boolean
//! argument `test` makes it a training set's, as scikit-survival's `survival_train`: rows with
//! `test` false only estimate G (their prediction may be NULL), rows with `test` true are
//! scored. Run the two sets as one query: `FROM (SELECT ..., false AS test FROM train UNION
//! ALL SELECT ..., true FROM test)`.
//!
//! State fields, named after the function: `[time]`, `[event]`, `[score]` (NULL on training
//! rows), `[test]`, `[t]` (td_auc's or brier_score's t when it is a column: GROUP BY t gives
//! one score per time; none or one value per group).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, FieldRef, Fields, Float64Type};
use datafusion::common::{exec_err, internal_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use rayon::slice::ParallelSliceMut;
use survql_stats::cox::{concordance, total_order_bits, CoxData};
use survql_stats::distributions::z_for_level;
use survql_stats::validation::{
    brier_score, cumulative_dynamic_auc, uno_concordance, CensoringCurve,
};

use crate::accumulator::StateOps;
use crate::coerce::{check_arity, coerce_event, coerce_option, coerce_time, refuse_response};
use crate::input_columns::{event_column, time_column};
use crate::options::{f64_option, str_option};
use crate::result_arrays::{f64_field, finite_or_null, list_array, state_list_field};
use crate::survival_udaf::SurvivalFunction;
use crate::warnings::WarningSink;

/// Which metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `concordance_index(time, event, score [, method [, tau [, test]]])`.
    Concordance,
    /// `td_auc(time, event, score, t [, test])`.
    Auc,
    /// `brier_score(time, event, predicted_survival, t [, test])`.
    Brier,
    /// `calibration(time, event, predicted_risk, t [, groups])`.
    Calibration,
}

impl Metric {
    /// The constant arguments after (time, event, prediction), in order, with their types.
    fn constants(self) -> &'static [(&'static str, DataType)] {
        match self {
            Metric::Concordance => &[("method", DataType::Utf8), ("tau", DataType::Float64)],
            Metric::Auc | Metric::Brier => &[("t", DataType::Float64)],
            Metric::Calibration => &[("t", DataType::Float64), ("groups", DataType::Int64)],
        }
    }

    fn prediction(self) -> &'static str {
        match self {
            Metric::Brier => "predicted_survival",
            Metric::Calibration => "predicted_risk",
            _ => "score",
        }
    }
}

/// One validation function: its name, syntax, metric and documentation; the rest of its
/// definition is [`ValidationFunction`]'s, common to the four.
pub trait ValidationMetric:
    std::fmt::Debug + Default + PartialEq + Eq + std::hash::Hash + Send + Sync + 'static
{
    const NAME: &'static str;
    const SYNTAX: &'static str;
    const METRIC: Metric;

    fn documentation(&self) -> &'static datafusion::logical_expr::Documentation;
}

/// The definition of a validation function (`concordance_index`, `td_auc`, `brier_score`,
/// `calibration`) over the validation state.
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct ValidationFunction<M: ValidationMetric>(M);

impl<M: ValidationMetric> SurvivalFunction for ValidationFunction<M> {
    type Ops = ValidationOps;

    fn name(&self) -> &'static str {
        M::NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(validation_return_type(M::METRIC))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_validation_types(M::NAME, M::METRIC, arg_types, M::SYNTAX)
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        validation_state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        ValidationOps::new(M::NAME, M::METRIC, args, sink)
    }

    fn documentation(&self) -> &'static datafusion::logical_expr::Documentation {
        self.0.documentation()
    }
}

/// Coerces `(time, event, prediction, constants... [, test])`: the constants as declared;
/// a trailing BOOLEAN after them is the `test` flag.
pub(crate) fn coerce_validation_types(
    function: &str,
    metric: Metric,
    arg_types: &[DataType],
    syntax: &str,
) -> Result<Vec<DataType>> {
    refuse_response(function, arg_types, syntax)?;
    let constants = metric.constants();
    let required = if metric == Metric::Concordance { 3 } else { 4 };
    // calibration has no test flag (no censoring weights).
    let flag = usize::from(metric != Metric::Calibration);
    check_arity(
        function,
        arg_types.len(),
        required,
        3 + constants.len() + flag,
        syntax,
    )?;
    let mut out = vec![
        coerce_time(function, "time", &arg_types[0])?,
        coerce_event(function, &arg_types[1])?,
    ];
    out.push(match &arg_types[2] {
        DataType::Null => DataType::Float64,
        d if d.is_numeric() => DataType::Float64,
        d => {
            return datafusion::common::plan_err!(
                "{function}: argument '{}' must be numeric, found {d}",
                metric.prediction()
            )
        }
    });
    for (k, dt) in arg_types[3..].iter().enumerate() {
        // The test flag: a boolean after the constants given (concordance_index's method and
        // tau are optional, so a boolean may come earlier).
        if flag == 1 && matches!(dt, DataType::Boolean) && k + 4 == arg_types.len() {
            out.push(DataType::Boolean);
            continue;
        }
        match constants.get(k) {
            Some((name, want)) => out.push(coerce_option(function, name, dt, want)?),
            None => {
                return datafusion::common::plan_err!(
                    "{function}: the last argument must be the boolean test flag, found {dt}; usage: {syntax}"
                )
            }
        }
    }
    Ok(out)
}

/// The state fields: see the module documentation.
pub(crate) fn validation_state_fields(args: &StateFieldsArgs) -> Vec<FieldRef> {
    vec![
        state_list_field(args.name, "time", DataType::Float64),
        state_list_field(args.name, "event", DataType::Boolean),
        state_list_field(args.name, "score", DataType::Float64),
        state_list_field(args.name, "test", DataType::Boolean),
        state_list_field(args.name, "t", DataType::Float64),
    ]
}

/// A group's rows.
#[derive(Debug, Clone, Default)]
pub struct ValidationRows {
    time: Vec<f64>,
    event: Vec<bool>,
    /// NaN on training rows.
    score: Vec<f64>,
    test: Vec<bool>,
    /// td_auc's and brier_score's t when it is a column (one value per group).
    at: Option<f64>,
}

impl ValidationRows {
    /// Takes a row's t (a column argument): the same in every row of a group.
    fn set_at(&mut self, function: &str, t: f64) -> Result<()> {
        match self.at {
            Some(a) if a != t => exec_err!(
                "{function}: argument 't' must be the same in every row of a group, found {a} and {t} \
                 (GROUP BY t for one score per time)"
            ),
            _ => {
                self.at = Some(t);
                Ok(())
            }
        }
    }

    fn push(&mut self, time: f64, event: bool, score: f64, test: bool) {
        self.time.push(time);
        self.event.push(event);
        self.score.push(score);
        self.test.push(test);
    }
}

/// One call's configuration.
#[derive(Debug, Clone)]
pub struct ValidationOps {
    function: &'static str,
    expression: String,
    sink: WarningSink,
    metric: Metric,
    /// concordance_index: Uno's (IPCW) C rather than Harrell's.
    uno: bool,
    /// concordance_index's tau (Uno's truncation), td_auc's and brier_score's t when constant.
    at: Option<f64>,
    /// td_auc's and brier_score's t when it is a column (constant within each group).
    at_column: bool,
    /// The position of the `test` flag among the arguments, when given.
    test_arg: Option<usize>,
    /// calibration's number of risk groups.
    groups: usize,
}

impl ValidationOps {
    pub(crate) fn new(
        function: &'static str,
        metric: Metric,
        args: &AccumulatorArgs,
        sink: &WarningSink,
    ) -> Result<ValidationOps> {
        let n = args.exprs.len();
        let test_arg =
            (n > 3 && args.expr_fields[n - 1].data_type() == &DataType::Boolean).then_some(n - 1);
        let constants = n - 3 - usize::from(test_arg.is_some());
        let (mut uno, mut at, mut at_column, mut groups) = (false, None, false, 10);
        match metric {
            Metric::Concordance => {
                if constants >= 1 {
                    uno = match str_option(function, "method", args, 3)?.as_deref() {
                        Some(m) if m.eq_ignore_ascii_case("harrell") => false,
                        Some(m) if m.eq_ignore_ascii_case("uno") => true,
                        Some(m) => {
                            return exec_err!(
                            "{function}: argument 'method' must be 'harrell' or 'uno', found '{m}'"
                        )
                        }
                        None => false,
                    };
                }
                if constants >= 2 {
                    at = f64_option(function, "tau", args, 4)?;
                    if !uno {
                        return exec_err!(
                            "{function}: argument 'tau' is Uno's truncation time: give method 'uno'"
                        );
                    }
                    if at.is_some_and(|t| t <= 0.0) {
                        return exec_err!(
                            "{function}: argument 'tau' must be > 0, found {}",
                            at.unwrap()
                        );
                    }
                }
            }
            Metric::Calibration => {
                at = f64_option(function, "t", args, 3)?;
                if let Some(g) = f64_option(function, "groups", args, 4)? {
                    if !(g >= 1.0 && g.fract() == 0.0 && g <= 1000.0) {
                        return exec_err!(
                            "{function}: argument 'groups' must be a whole number from 1 to 1000, found {g}"
                        );
                    }
                    groups = g as usize;
                }
            }
            Metric::Auc | Metric::Brier => {
                // A column t is read per row (and must be constant within each group).
                if crate::options::constant_value(&args.exprs[3], args.schema).is_some() {
                    at = f64_option(function, "t", args, 3)?;
                } else {
                    at_column = true;
                }
            }
        }
        Ok(ValidationOps {
            function,
            expression: args.name.to_owned(),
            sink: sink.clone(),
            metric,
            uno,
            at,
            at_column,
            test_arg,
            groups,
        })
    }

    /// Rows of the censoring distribution, and the scored rows, each in a canonical order
    /// (by value: the sums are then the same whatever order partitions delivered the rows).
    fn split(&self, rows: &ValidationRows) -> (Vec<usize>, Vec<usize>) {
        let n = rows.time.len();
        // Keys computed once and sorted on every core (a registry's 1e7 rows).
        let mut keys: Vec<(u64, bool, u64, bool, usize)> = (0..n)
            .map(|i| {
                (
                    total_order_bits(rows.time[i]),
                    rows.event[i],
                    total_order_bits(rows.score[i]),
                    rows.test[i],
                    i,
                )
            })
            .collect();
        keys.par_sort_unstable();
        let order: Vec<usize> = keys.iter().map(|k| k.4).collect();
        let scored: Vec<usize> = order.iter().copied().filter(|&i| rows.test[i]).collect();
        let training: Vec<usize> = if self.test_arg.is_some() {
            order.iter().copied().filter(|&i| !rows.test[i]).collect()
        } else {
            order
        };
        (training, scored)
    }

    fn evaluate_one(&self, rows: &ValidationRows) -> Result<Option<ScalarValue>> {
        let (training, scored) = self.split(rows);
        if scored.is_empty() {
            return Ok(None);
        }
        let pick = |idx: &[usize], v: &[f64]| idx.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let time = pick(&scored, &rows.time);
        let event: Vec<bool> = scored.iter().map(|&i| rows.event[i]).collect();
        let score = pick(&scored, &rows.score);
        let f = self.function;
        let cens = || {
            if training.is_empty() {
                return exec_err!(
                    "{f}: no training rows (test false) for the censoring distribution"
                );
            }
            let t = pick(&training, &rows.time);
            let e: Vec<bool> = training.iter().map(|&i| rows.event[i]).collect();
            Ok(CensoringCurve::fit(&t, &e))
        };
        // sksurv refuses a t outside the scored rows' follow-up and infinite weights; per
        // group here, that group's result is NULL with a warning.
        let warn = |why: String| {
            self.sink.push(format!("{}: {why}: NULL", self.expression));
        };
        let within_follow_up = |t: f64| -> bool {
            let lo = time.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = time.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let inside = t >= lo && t < hi;
            if !inside {
                warn(format!(
                    "t = {t} is outside the follow-up of the scored rows, [{lo}, {hi})"
                ));
            }
            inside
        };
        match self.metric {
            Metric::Concordance if !self.uno => {
                let data = CoxData {
                    start: None,
                    stop: time,
                    event,
                    strata: vec![0; score.len()],
                    x: vec![],
                    weights: None,
                    cluster: None,
                };
                let c = concordance(&data, &score);
                let Some(value) = c.concordance else {
                    return Ok(None);
                };
                let se = c.std_err;
                let z = z_for_level(0.95);
                Ok(Some(concordance_value(
                    value,
                    se,
                    se.map(|s| value - z * s),
                    se.map(|s| value + z * s),
                    c.concordant + c.discordant + c.tied_x,
                    c.concordant,
                    c.discordant,
                    c.tied_x,
                )))
            }
            Metric::Concordance => {
                let g = cens()?;
                match uno_concordance(&time, &event, &score, self.at, &g) {
                    Err(why) => {
                        warn(why);
                        Ok(None)
                    }
                    Ok(None) => Ok(None),
                    Ok(Some(u)) => Ok(Some(concordance_value(
                        u.c_index,
                        None,
                        None,
                        None,
                        u.comparable as f64,
                        u.concordant as f64,
                        u.discordant as f64,
                        u.tied_risk as f64,
                    ))),
                }
            }
            Metric::Auc => {
                let Some(t) = self.at.or(rows.at) else {
                    return Ok(None);
                };
                if !within_follow_up(t) {
                    return Ok(None);
                }
                let g = cens()?;
                match cumulative_dynamic_auc(&time, &event, &score, t, &g) {
                    Err(why) => {
                        warn(why);
                        Ok(None)
                    }
                    Ok(auc) => Ok(auc.map(|a| ScalarValue::Float64(Some(a)))),
                }
            }
            Metric::Calibration => {
                let t = self.at.expect("t is required");
                if let Some(bad) = score.iter().find(|p| !(0.0..=1.0).contains(*p)) {
                    return exec_err!(
                        "{f}: argument 'predicted_risk' must be a probability in [0, 1], found {bad}"
                    );
                }
                Ok(Some(calibration_value(
                    &time,
                    &event,
                    &score,
                    t,
                    self.groups,
                )?))
            }
            Metric::Brier => {
                let Some(t) = self.at.or(rows.at) else {
                    return Ok(None);
                };
                if !within_follow_up(t) {
                    return Ok(None);
                }
                if let Some(bad) = score.iter().find(|p| !(0.0..=1.0).contains(*p)) {
                    return exec_err!(
                        "{f}: argument 'predicted_survival' must be a probability in [0, 1], found {bad}"
                    );
                }
                let g = cens()?;
                Ok(Some(ScalarValue::Float64(finite_or_null(brier_score(
                    &time, &event, &score, t, &g,
                )))))
            }
        }
    }
}

/// STRUCT<c_index, std_err, lower, upper, comparable, concordant, discordant, tied_risk>.
pub(crate) fn concordance_fields() -> Fields {
    Fields::from(vec![
        f64_field("c_index"),
        f64_field("std_err"),
        f64_field("lower"),
        f64_field("upper"),
        f64_field("comparable"),
        f64_field("concordant"),
        f64_field("discordant"),
        f64_field("tied_risk"),
    ])
}

#[allow(clippy::too_many_arguments)]
fn concordance_value(
    c: f64,
    se: Option<f64>,
    lower: Option<f64>,
    upper: Option<f64>,
    comparable: f64,
    concordant: f64,
    discordant: f64,
    tied: f64,
) -> ScalarValue {
    let column = |v: Option<f64>| Arc::new(Float64Array::from(vec![v])) as ArrayRef;
    ScalarValue::Struct(Arc::new(StructArray::new(
        concordance_fields(),
        vec![
            column(Some(c)),
            column(se),
            column(lower),
            column(upper),
            column(Some(comparable)),
            column(Some(concordant)),
            column(Some(discordant)),
            column(Some(tied)),
        ],
        None,
    )))
}

/// STRUCT<group, n, mean_predicted, observed, lower, upper>: one risk group of `calibration`.
pub(crate) fn calibration_fields() -> Fields {
    Fields::from(vec![
        datafusion::arrow::datatypes::Field::new("group", DataType::Int64, true),
        datafusion::arrow::datatypes::Field::new("n", DataType::Int64, true),
        f64_field("mean_predicted"),
        f64_field("observed"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

/// The calibration table (see [`survql_stats::validation::calibration`]) as a list value.
fn calibration_value(
    time: &[f64],
    event: &[bool],
    risk: &[f64],
    t: f64,
    groups: usize,
) -> Result<ScalarValue> {
    let rows = survql_stats::validation::calibration(time, event, risk, t, groups);
    let items = crate::result_arrays::struct_array(
        &calibration_fields(),
        vec![
            Arc::new(datafusion::arrow::array::Int64Array::from(
                rows.iter().map(|r| r.group as i64).collect::<Vec<_>>(),
            )),
            Arc::new(datafusion::arrow::array::Int64Array::from(
                rows.iter().map(|r| r.n as i64).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.mean_predicted).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter()
                    .map(|r| finite_or_null(r.observed))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.lower).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.upper).collect::<Vec<_>>(),
            )),
        ],
    );
    let list = list_array(&[rows.len()], items)?;
    Ok(ScalarValue::List(Arc::new(list.as_list::<i32>().clone())))
}

/// The result type.
pub(crate) fn validation_return_type(metric: Metric) -> DataType {
    match metric {
        Metric::Concordance => DataType::Struct(concordance_fields()),
        Metric::Calibration => {
            crate::result_arrays::list_of(DataType::Struct(calibration_fields()))
        }
        _ => DataType::Float64,
    }
}

impl StateOps for ValidationOps {
    type State = ValidationRows;

    fn function(&self) -> &str {
        self.function
    }

    fn sink(&self) -> &WarningSink {
        &self.sink
    }

    fn expression(&self) -> &str {
        &self.expression
    }

    fn update(
        &self,
        states: &mut [ValidationRows],
        skipped: &mut [u64],
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        let f = self.function;
        let time = time_column(f, "time", &values[0])?;
        let event = event_column(f, &values[1])?;
        let score = cast(&values[2], &DataType::Float64)?;
        let score = score.as_primitive::<Float64Type>();
        let test = self.test_arg.map(|k| values[k].as_boolean().clone());
        let at = if self.at_column {
            Some(time_column(f, "t", &values[3])?)
        } else {
            None
        };
        for (i, &g) in groups.iter().enumerate() {
            if filter.is_some_and(|m| !(m.is_valid(i) && m.value(i))) {
                continue;
            }
            let is_test = match &test {
                None => true,
                Some(t) if t.is_null(i) => {
                    skipped[g] += 1;
                    continue;
                }
                Some(t) => t.value(i),
            };
            // A training row's prediction is not read (it may be NULL).
            if time.is_null(i) || event.is_null(i) || (is_test && score.is_null(i)) {
                skipped[g] += 1;
                continue;
            }
            if let Some(at) = at {
                if at.is_null(i) {
                    skipped[g] += 1;
                    continue;
                }
                states[g].set_at(f, at.value(i))?;
            }
            let s = if is_test { score.value(i) } else { f64::NAN };
            if is_test && !s.is_finite() {
                return exec_err!(
                    "{f}: argument '{}' must be a finite number, found {s}",
                    self.metric.prediction()
                );
            }
            states[g].push(time.value(i), event.value(i), s, is_test);
        }
        Ok(())
    }

    fn merge(
        &self,
        states: &mut [ValidationRows],
        values: &[ArrayRef],
        groups: &[usize],
    ) -> Result<()> {
        if values.len() != 5 {
            return internal_err!("validation state has 5 fields, got {}", values.len());
        }
        let lists: Vec<_> = values.iter().map(|v| v.as_list::<i32>()).collect();
        let time = lists[0].values().as_primitive::<Float64Type>();
        let event = lists[1].values().as_boolean();
        let score = lists[2].values().as_primitive::<Float64Type>();
        let test = lists[3].values().as_boolean();
        let at = lists[4].values().as_primitive::<Float64Type>();
        let offsets = lists[0].offsets();
        for (i, &g) in groups.iter().enumerate() {
            if lists[0].is_null(i) {
                continue;
            }
            let a = lists[4].value_offsets();
            for k in a[i] as usize..a[i + 1] as usize {
                states[g].set_at(self.function, at.value(k))?;
            }
            for k in offsets[i] as usize..offsets[i + 1] as usize {
                let s = if score.is_null(k) {
                    f64::NAN
                } else {
                    score.value(k)
                };
                states[g].push(time.value(k), event.value(k), s, test.value(k));
            }
        }
        Ok(())
    }

    fn emit(&self, states: &mut [ValidationRows]) -> Result<Vec<ArrayRef>> {
        let lengths: Vec<usize> = states.iter().map(|s| s.time.len()).collect();
        let time: Vec<f64> = states.iter().flat_map(|s| s.time.iter().copied()).collect();
        let event: Vec<bool> = states
            .iter()
            .flat_map(|s| s.event.iter().copied())
            .collect();
        let score: Vec<Option<f64>> = states
            .iter()
            .flat_map(|s| s.score.iter().map(|&v| (!v.is_nan()).then_some(v)))
            .collect();
        let test: Vec<bool> = states.iter().flat_map(|s| s.test.iter().copied()).collect();
        let at_lengths: Vec<usize> = states.iter().map(|s| usize::from(s.at.is_some())).collect();
        let at: Vec<f64> = states.iter().filter_map(|s| s.at).collect();
        Ok(vec![
            list_array(&lengths, Arc::new(Float64Array::from(time)))?,
            list_array(&lengths, Arc::new(BooleanArray::from(event)))?,
            list_array(&lengths, Arc::new(Float64Array::from(score)))?,
            list_array(&lengths, Arc::new(BooleanArray::from(test)))?,
            list_array(&at_lengths, Arc::new(Float64Array::from(at)))?,
        ])
    }

    fn evaluate(&self, states: &mut [ValidationRows]) -> Result<ArrayRef> {
        let dt = validation_return_type(self.metric);
        let values: Vec<ScalarValue> = states
            .iter()
            .map(|rows| {
                Ok(self
                    .evaluate_one(rows)?
                    .unwrap_or_else(|| ScalarValue::try_from(&dt).expect("a null of the type")))
            })
            .collect::<Result<_>>()?;
        if values.is_empty() {
            return Ok(datafusion::arrow::array::new_empty_array(&dt));
        }
        ScalarValue::iter_to_array(values)
    }

    fn size(state: &ValidationRows) -> usize {
        // The rows, and the sorted copies evaluation makes (about twice as much again).
        state.time.capacity() * (3 * 8 + 2) * 2
    }
}

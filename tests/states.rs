//! The row `Accumulator` and the `GroupsAccumulator` of a survival function share one state
//! layout: a state emitted by either merges into the other, and `convert_to_state` (used when
//! DataFusion skips partial aggregation) gives the same answer as updating.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, StructArray,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDF, EmitTo};
use datafusion::physical_expr::expressions::{col, lit};
use datafusion::physical_expr::PhysicalExpr;

/// A deterministic sample with ties, censorings, a NULL time, a NULL event, three groups
/// and two strata: the columns `cols` of (time, event, group, stratum, start = time - 0.5).
fn data(rows: std::ops::Range<usize>, cols: &[usize]) -> Vec<ArrayRef> {
    let time: Float64Array = rows
        .clone()
        .map(|i| (i % 17 != 5).then(|| ((i * 7919) % 23) as f64 + 0.5))
        .collect();
    let event: Int64Array = rows
        .clone()
        .map(|i| (i % 19 != 3).then(|| ((i * 31) % 3 != 0) as i64))
        .collect();
    let grp: StringArray = rows
        .clone()
        .map(|i| Some(["a", "b", "c"][(i * 7) % 3]))
        .collect();
    let strata: StringArray = rows
        .clone()
        .map(|i| Some(["s1", "s2"][(i / 5) % 2]))
        .collect();
    let start: Float64Array = time.iter().map(|t| t.map(|t| t - 0.5)).collect();
    // surv(entry, time, event): entries 0.5 or 3.5 before the time (some equal to others'
    // times), a NULL entry in row 7.
    let entry: Float64Array = rows
        .clone()
        .map(|i| (i % 23 != 7).then(|| ((i * 7919) % 23) as f64 + 0.5 - [0.5, 3.5][i % 2]))
        .collect();
    let response = StructArray::new(
        response_fields(),
        vec![
            Arc::new(entry) as ArrayRef,
            Arc::new(time.clone()),
            Arc::new(event.clone()),
        ],
        None,
    );
    // surv(NULL, time, event, weight): weights 0.25, 0.5, 1.25, repeating (> 0: Cox models
    // refuse zero weights, as R's coxph).
    let weight: Float64Array = rows
        .clone()
        .map(|i| Some([0.25, 0.5, 1.25][i % 3]))
        .collect();
    let weighted = StructArray::new(
        weighted_fields(),
        vec![
            Arc::new(time.clone()) as ArrayRef,
            Arc::new(event.clone()),
            Arc::new(weight),
        ],
        None,
    );
    let all: Vec<ArrayRef> = vec![
        Arc::new(time),
        Arc::new(event),
        Arc::new(grp),
        Arc::new(strata),
        Arc::new(start),
        Arc::new(response),
        Arc::new(weighted),
    ];
    cols.iter().map(|&c| Arc::clone(&all[c])).collect()
}

/// An argument of the call under test: a column of [`data`] or a literal.
#[derive(Clone)]
enum Arg {
    Col(usize),
    Lit(ScalarValue),
}

/// The fields of `surv(entry, time, event)`.
fn response_fields() -> Fields {
    Fields::from(vec![
        Field::new("entry", DataType::Float64, true),
        Field::new("time", DataType::Float64, true),
        Field::new("event", DataType::Int64, true),
    ])
}

/// The fields of `surv(NULL, time, event, weight)`.
fn weighted_fields() -> Fields {
    Fields::from(vec![
        Field::new("time", DataType::Float64, true),
        Field::new("event", DataType::Int64, true),
        Field::new("weight", DataType::Float64, true),
    ])
}

fn check_function(udaf: &AggregateUDF, spec: &[Arg]) {
    let names = ["t", "e", "g", "s", "t0", "r", "w"];
    let types = [
        DataType::Float64,
        DataType::Int64,
        DataType::Utf8,
        DataType::Utf8,
        DataType::Float64,
        DataType::Struct(response_fields()),
        DataType::Struct(weighted_fields()),
    ];
    let cols: Vec<usize> = spec
        .iter()
        .filter_map(|a| match a {
            Arg::Col(i) => Some(*i),
            Arg::Lit(_) => None,
        })
        .collect();
    let cols = &cols[..];
    let schema = Schema::new(
        cols.iter()
            .map(|&i| Field::new(names[i], types[i].clone(), true))
            .collect::<Vec<_>>(),
    );
    let exprs: Vec<Arc<dyn PhysicalExpr>> = spec
        .iter()
        .map(|a| match a {
            Arg::Col(i) => col(names[*i], &schema).unwrap(),
            Arg::Lit(v) => lit(v.clone()),
        })
        .collect();
    let fields: Vec<FieldRef> = spec
        .iter()
        .enumerate()
        .map(|(k, a)| match a {
            Arg::Col(i) => Arc::new(Field::new(names[*i], types[*i].clone(), true)),
            Arg::Lit(v) => Arc::new(Field::new(format!("opt{k}"), v.data_type(), true)),
        })
        .collect();
    let types: Vec<DataType> = fields.iter().map(|f| f.data_type().clone()).collect();
    let return_field = Arc::new(Field::new("r", udaf.return_type(&types).unwrap(), true));
    let args = AccumulatorArgs {
        return_field,
        schema: &schema,
        ignore_nulls: false,
        order_bys: &[],
        is_reversed: false,
        name: udaf.name(),
        is_distinct: false,
        exprs: &exprs,
        expr_fields: &fields,
    };
    // The columns of `cols` (in that order) as the call's arguments, literals in between.
    let with_option = |columns: Vec<ArrayRef>| {
        let n = columns[0].len();
        let mut columns = columns.into_iter();
        spec.iter()
            .map(|a| match a {
                Arg::Col(_) => columns.next().unwrap(),
                Arg::Lit(v) => v.to_array_of_size(n).unwrap(),
            })
            .collect::<Vec<ArrayRef>>()
    };
    let (a, b) = (
        with_option(data(0..60, cols)),
        with_option(data(60..150, cols)),
    );
    let all = with_option(data(0..150, cols));

    // Reference: one accumulator sees every row.
    let mut reference = udaf.accumulator(args.clone()).unwrap();
    reference.update_batch(&all).unwrap();
    let want = reference.evaluate().unwrap();

    // Groups state merged into a row accumulator.
    let mut groups = udaf.create_groups_accumulator(args.clone()).unwrap();
    groups.update_batch(&a, &vec![0; 60], None, 1).unwrap();
    let state = groups.state(EmitTo::All).unwrap();
    let mut row = udaf.accumulator(args.clone()).unwrap();
    row.update_batch(&b).unwrap();
    row.merge_batch(&state).unwrap();
    assert_eq!(
        row.evaluate().unwrap(),
        want,
        "{}: groups state into row accumulator",
        udaf.name()
    );

    // Row state merged into a groups accumulator (group 1 of 2).
    let mut row = udaf.accumulator(args.clone()).unwrap();
    row.update_batch(&a).unwrap();
    let state: Vec<ArrayRef> = row
        .state()
        .unwrap()
        .into_iter()
        .map(|s| s.to_array().unwrap())
        .collect();
    let mut groups = udaf.create_groups_accumulator(args.clone()).unwrap();
    groups.update_batch(&b, &vec![1; 90], None, 2).unwrap();
    groups.merge_batch(&state, &[1], 2).unwrap();
    let out = groups.evaluate(EmitTo::All).unwrap();
    assert_eq!(
        ScalarValue::try_from_array(&out, 1).unwrap(),
        want,
        "{}: row state into groups accumulator",
        udaf.name()
    );

    // convert_to_state: every row its own state, merged into groups 0..3 by row % 3 == 0.
    let groups = udaf.create_groups_accumulator(args.clone()).unwrap();
    let filter = BooleanArray::from((0..150).map(|i| i % 10 != 7).collect::<Vec<_>>());
    let states = groups.convert_to_state(&all, Some(&filter)).unwrap();
    let mut merged = udaf.create_groups_accumulator(args.clone()).unwrap();
    merged.merge_batch(&states, &vec![0; 150], 1).unwrap();
    let via_states =
        ScalarValue::try_from_array(&merged.evaluate(EmitTo::All).unwrap(), 0).unwrap();
    let mut filtered = udaf.create_groups_accumulator(args).unwrap();
    filtered
        .update_batch(&all, &vec![0; 150], Some(&filter), 1)
        .unwrap();
    let direct = ScalarValue::try_from_array(&filtered.evaluate(EmitTo::All).unwrap(), 0).unwrap();
    assert_eq!(via_states, direct, "{}: convert_to_state", udaf.name());
    if matches!(
        udaf.name(),
        "km_summary" | "km_curve" | "nelson_aalen" | "logrank_test" | "prop_ci" | "cif_curve"
    ) {
        // These report counts, so the FILTER visibly changes them.
        assert_ne!(
            via_states,
            want,
            "{}: the FILTER must change the answer",
            udaf.name()
        );
    }
}

#[test]
fn accumulator_states_are_interchangeable() {
    use Arg::{Col, Lit};
    let f64_lit = |v: f64| Lit(ScalarValue::Float64(Some(v)));
    let str_lit = |v: &str| Lit(ScalarValue::Utf8(Some(v.into())));
    for f in datafusion_survival::all_functions() {
        let spec: Vec<Arg> = match f.name() {
            "km_quantile" => vec![Col(0), Col(1), f64_lit(0.25)],
            "km_survival" => vec![Col(0), Col(1), f64_lit(10.0)],
            "km_rmst" => vec![Col(0), Col(1), f64_lit(20.0)],
            "logrank_strat_test" => vec![Col(0), Col(1), Col(2), Col(3), f64_lit(1.0)],
            "logrank_weighted_test" => vec![Col(0), Col(1), Col(2), str_lit("gehan")],
            "logrank_weighted_strat_test" => {
                vec![Col(0), Col(1), Col(2), Col(3), str_lit("fh(1,2)")]
            }
            "logrank_test" | "logrank_p" | "logrank_pairwise" => vec![Col(0), Col(1), Col(2)],
            "rmst_diff" | "km_survival_diff" => vec![Col(0), Col(1), Col(2), f64_lit(3.0)],
            // A numeric score: t0 (time - 0.5).
            "logrank_trend_test" => vec![Col(0), Col(1), Col(4)],
            "logrank_trend_strat_test" => {
                vec![Col(0), Col(1), Col(4), Col(3), str_lit("tarone-ware")]
            }
            // The event column as a status (0 censored, 1 cause 1).
            "cif_curve" => vec![Col(0), Col(1), f64_lit(1.0), str_lit("log-log")],
            "cif_at" => vec![Col(0), Col(1), f64_lit(1.0), f64_lit(10.0)],
            "gray_test" => vec![Col(0), Col(1), f64_lit(1.0), Col(2)],
            "prop_ci" => vec![Col(1)],
            "chisq_test" | "fisher_test" => vec![Col(2), Col(3)],
            "cox_ph" | "cox_zph" => vec![Col(0), Col(1), Col(2)],
            "cox_ph_strat" => vec![Col(0), Col(1), Col(3), Col(2)],
            "cox_ph_counting" => vec![Col(4), Col(0), Col(1), Col(2)],
            // The event column as a status (0 censored, 1 cause 1).
            "finegray_ph" => vec![Col(0), Col(1), f64_lit(1.0), Col(2)],
            "survreg" => vec![Col(0), Col(1), Col(2)],
            "survreg_strat" => vec![Col(0), Col(1), Col(3), Col(2)],
            "cox_curve" => vec![Col(0), Col(1), Col(2), str_lit("g=b, conf_type=log-log")],
            "cox_curve_strat" => vec![Col(0), Col(1), Col(3), Col(2), str_lit("strata=s2, g=c")],
            "cox_adjusted_curve" => vec![Col(0), Col(1), Col(2), Col(3), str_lit("ties=breslow")],
            // The time minus 0.5 as a score.
            "concordance_index" => vec![Col(0), Col(1), Col(4)],
            "td_auc" => vec![Col(0), Col(1), Col(4), f64_lit(5.0)],
            "brier_score" => vec![Col(0), Col(1), f64_lit(0.5), f64_lit(5.0)],
            "life_table" => vec![Col(0), Col(1), f64_lit(2.0)],
            "calibration" => vec![Col(0), Col(1), f64_lit(0.25), f64_lit(5.0)],
            "km_median" | "km_summary" | "km_curve" | "km_followup" | "nelson_aalen" => {
                vec![Col(0), Col(1)]
            }
            other => panic!("{other}: add its arguments to accumulator_states_are_interchangeable"),
        };
        check_function(&f, &spec);
    }
}

/// The same for calls on `surv(entry, time, event)` (delayed entry): their state has the
/// entry lists too; and with case weights (`surv(NULL, time, event, weight)`).
#[test]
fn delayed_entry_states_are_interchangeable() {
    use Arg::{Col, Lit};
    let f64_lit = |v: f64| Lit(ScalarValue::Float64(Some(v)));
    for f in datafusion_survival::all_functions() {
        let spec: Vec<Arg> = match f.name() {
            "km_median" | "km_summary" | "km_curve" | "km_followup" | "nelson_aalen" => {
                vec![Col(5)]
            }
            "km_quantile" => vec![Col(5), f64_lit(0.25)],
            "km_survival" => vec![Col(5), f64_lit(10.0)],
            "km_rmst" => vec![Col(5), f64_lit(20.0)],
            "cif_curve" => vec![Col(5), f64_lit(1.0)],
            "cif_at" => vec![Col(5), f64_lit(1.0), f64_lit(10.0)],
            // Counting-process Cox models through surv(entry, time, event).
            "cox_ph" => vec![Col(5), Col(4)],
            "cox_ph_strat" => vec![Col(5), Col(3), Col(4)],
            "cox_zph" => vec![Col(5), Col(4)],
            "cox_curve" => vec![Col(5), Col(4)],
            _ => continue,
        };
        check_function(&f, &spec);
        // Case weights (neither km_followup nor cox_zph takes them).
        if !matches!(f.name(), "km_followup" | "cox_zph") {
            let mut weighted = spec.clone();
            weighted[0] = Col(6);
            check_function(&f, &weighted);
        }
    }
}

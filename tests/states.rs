//! The row `Accumulator` and the `GroupsAccumulator` of a survival function share one state
//! layout: a state emitted by either merges into the other, and `convert_to_state` (used when
//! DataFusion skips partial aggregation) gives the same answer as updating.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema};
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
    let strata: StringArray = rows.map(|i| Some(["s1", "s2"][(i / 5) % 2])).collect();
    let start: Float64Array = time.iter().map(|t| t.map(|t| t - 0.5)).collect();
    let all: Vec<ArrayRef> = vec![
        Arc::new(time),
        Arc::new(event),
        Arc::new(grp),
        Arc::new(strata),
        Arc::new(start),
    ];
    cols.iter().map(|&c| Arc::clone(&all[c])).collect()
}

fn check_function(udaf: &AggregateUDF, cols: &[usize], option: Option<ScalarValue>) {
    let names = ["t", "e", "g", "s", "t0"];
    let types = [
        DataType::Float64,
        DataType::Int64,
        DataType::Utf8,
        DataType::Utf8,
        DataType::Float64,
    ];
    let schema = Schema::new(
        cols.iter()
            .map(|&i| Field::new(names[i], types[i].clone(), true))
            .collect::<Vec<_>>(),
    );
    let mut exprs: Vec<Arc<dyn PhysicalExpr>> = cols
        .iter()
        .map(|&i| col(names[i], &schema).unwrap())
        .collect();
    let mut fields: Vec<FieldRef> = schema.fields().iter().cloned().collect();
    if let Some(v) = &option {
        exprs.push(lit(v.clone()));
        fields.push(Arc::new(Field::new("opt", v.data_type(), true)));
    }
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
    let with_option = |mut cols: Vec<ArrayRef>| {
        if let Some(v) = &option {
            cols.push(v.to_array_of_size(cols[0].len()).unwrap());
        }
        cols
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
        "km_summary" | "km_curve" | "nelson_aalen" | "logrank_test" | "prop_ci"
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
    for f in datafusion_survival::all_functions() {
        let option = match f.name() {
            "km_quantile" => Some(ScalarValue::Float64(Some(0.25))),
            "km_survival" => Some(ScalarValue::Float64(Some(10.0))),
            "km_rmst" => Some(ScalarValue::Float64(Some(20.0))),
            "logrank_strat_test" => Some(ScalarValue::Float64(Some(1.0))),
            "logrank_weighted_test" => Some(ScalarValue::Utf8(Some("gehan".into()))),
            "logrank_weighted_strat_test" => Some(ScalarValue::Utf8(Some("fh(1,2)".into()))),
            "logrank_trend_strat_test" => Some(ScalarValue::Utf8(Some("tarone-ware".into()))),
            _ => None,
        };
        let cols: &[usize] = match f.name() {
            "logrank_test" | "logrank_p" | "logrank_weighted_test" | "logrank_pairwise" => {
                &[0, 1, 2]
            }
            "logrank_strat_test" | "logrank_weighted_strat_test" => &[0, 1, 2, 3],
            // A numeric score: t0 (time - 0.5).
            "logrank_trend_test" => &[0, 1, 4],
            "logrank_trend_strat_test" => &[0, 1, 4, 3],
            "prop_ci" => &[1],
            "chisq_test" | "fisher_test" => &[2, 3],
            "cox_ph" | "cox_zph" => &[0, 1, 2],
            "cox_ph_strat" => &[0, 1, 3, 2],
            "cox_ph_counting" => &[4, 0, 1, 2],
            _ => &[0, 1],
        };
        check_function(&f, cols, option);
    }
}

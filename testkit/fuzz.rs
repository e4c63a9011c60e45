//! A fuzzer over the surface of every survival function, as DataFusion drives it: argument
//! types and arities (`coerce_types`), return and state types, constant arguments (numbers
//! including NaN, ±inf, 0, negatives and 1e300; option strings from the grammar, mangled and
//! random; booleans; NULLs), then both accumulators over random batches (NULLs, NaN, negative
//! and huge values, non-ASCII labels, random groups and FILTER masks): update, state,
//! merge, evaluate, convert_to_state.
//!
//! The property: nothing panics — neither a panic unwinding out of a call, nor one caught by
//! the functions' own guard (reported as "internal error in ..."). Errors are expected and
//! counted. Used by the bounded CI test (`tests/fuzz.rs`) and the long run
//! (`cargo run --release --example fuzz -- --inputs 1000000`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use datafusion::arrow::array::{new_null_array, ArrayRef, BooleanArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{AggregateUDF, EmitTo};
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_expr::PhysicalExpr;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// What a fuzz run found.
#[derive(Debug, Default)]
pub struct FuzzReport {
    /// Inputs tried (one function call shape with its data).
    pub inputs: u64,
    /// Inputs that ran to a result.
    pub results: u64,
    /// Inputs refused with an error (expected for most random shapes).
    pub errors: u64,
    /// Panics: the function, the input and the message. Must stay empty.
    pub panics: Vec<String>,
    /// Seconds spent per function, and its inputs that ran to a result.
    pub per_function: Vec<(String, f64, u64)>,
}

const TYPES: [DataType; 14] = [
    DataType::Float64,
    DataType::Float32,
    DataType::Int64,
    DataType::Int32,
    DataType::Int8,
    DataType::UInt16,
    DataType::UInt64,
    DataType::Boolean,
    DataType::Utf8,
    DataType::LargeUtf8,
    DataType::Utf8View,
    DataType::Null,
    DataType::Decimal128(12, 3),
    DataType::Date32,
];

const OPTION_STRINGS: [&str; 34] = [
    "log",
    "log-log",
    "plain",
    "logit",
    "arcsin",
    "none",
    "exact",
    "wilson",
    "wilson-cc",
    "wald",
    "ties=efron",
    "ties=breslow, robust=true",
    "ties=exact",
    "conf_level=0.9, max_iter=0",
    "conf_level=2",
    "max_iter=-1",
    "max_iter=1e30",
    "eps=0",
    "eps=-1, ties=breslow",
    "eps=NaN",
    "transform=km, terms=false",
    "transform=rank",
    "transform=log, terms=maybe",
    "ties=",
    "=",
    ",,,",
    "robust",
    "ties=efron,ties=breslow",
    " ties = breslow , conf_level = 0.5 ",
    "ties=éfron",
    "≥≥≥",
    "",
    "\u{0}",
    "max_iter=18446744073709551616",
];

const LABELS: [&str; 7] = ["a", "b", "", "Patienten ≥ 70", "jünger", "10", "-1.5"];

/// A random constant for an argument.
fn random_scalar(rng: &mut SmallRng) -> ScalarValue {
    match rng.random_range(0..10) {
        0 => ScalarValue::Float64(None),
        1 => ScalarValue::Utf8(Some(
            OPTION_STRINGS[rng.random_range(0..OPTION_STRINGS.len())].to_owned(),
        )),
        2 => {
            // A random mangling of a grammar string.
            let mut s: Vec<char> = OPTION_STRINGS[rng.random_range(0..OPTION_STRINGS.len())]
                .chars()
                .collect();
            for _ in 0..rng.random_range(1..4) {
                if s.is_empty() || rng.random_bool(0.5) {
                    let c = ['=', ',', ' ', 'x', '9', '.', '-', 'é'][rng.random_range(0..8)];
                    let at = rng.random_range(0..=s.len());
                    s.insert(at, c);
                } else {
                    let at = rng.random_range(0..s.len());
                    s.remove(at);
                }
            }
            ScalarValue::Utf8(Some(s.into_iter().collect()))
        }
        3 => ScalarValue::Boolean(Some(rng.random_bool(0.5))),
        4 => ScalarValue::Int64(Some(rng.random_range(-3..40))),
        _ => ScalarValue::Float64(Some(
            [
                0.0,
                1.0,
                -1.0,
                0.5,
                0.95,
                0.25,
                1.5,
                36.0,
                1e-300,
                1e300,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                -0.0,
                2.0,
                0.999_999_999,
            ][rng.random_range(0..16)],
        )),
    }
}

/// A random column of `n` values of type `dt` (random values cast to it; NULL where the
/// cast fails).
fn random_column(rng: &mut SmallRng, dt: &DataType, n: usize, clean: bool) -> ArrayRef {
    if clean {
        // Values every function accepts: small non-negative numbers, 0/1, labels.
        let values: ArrayRef = match dt {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Arc::new(datafusion::arrow::array::StringArray::from(
                    (0..n)
                        .map(|_| {
                            rng.random_bool(0.95)
                                .then(|| LABELS[rng.random_range(0..3)])
                        })
                        .collect::<Vec<_>>(),
                ))
            }
            _ => Arc::new(datafusion::arrow::array::Float64Array::from(
                (0..n)
                    .map(|_| {
                        rng.random_bool(0.95)
                            .then(|| f64::from(rng.random_range(0..2)))
                    })
                    .collect::<Vec<_>>(),
            )),
        };
        return cast(&values, dt).unwrap_or_else(|_| new_null_array(dt, n));
    }
    let values: ArrayRef = match rng.random_range(0..4) {
        0 => Arc::new(datafusion::arrow::array::StringArray::from(
            (0..n)
                .map(|_| {
                    rng.random_bool(0.9)
                        .then(|| LABELS[rng.random_range(0..LABELS.len())])
                })
                .collect::<Vec<_>>(),
        )),
        1 => Arc::new(datafusion::arrow::array::Int64Array::from(
            (0..n)
                .map(|_| rng.random_bool(0.9).then(|| rng.random_range(-1..3)))
                .collect::<Vec<_>>(),
        )),
        _ => Arc::new(datafusion::arrow::array::Float64Array::from(
            (0..n)
                .map(|_| {
                    rng.random_bool(0.92)
                        .then(|| match rng.random_range(0..20) {
                            0 => f64::NAN,
                            1 => f64::INFINITY,
                            2 => -3.0,
                            3 => 1e300,
                            4 => 0.5,
                            _ => f64::from(rng.random_range(0..12)),
                        })
                })
                .collect::<Vec<_>>(),
        )),
    };
    cast(&values, dt).unwrap_or_else(|_| new_null_array(dt, n))
}

/// The column types a function is usually called with.
fn template(function: &str) -> Vec<DataType> {
    use DataType::{Boolean, Float64, Int64, Utf8};
    match function {
        "logrank_test" | "logrank_p" => vec![Float64, Int64, Utf8],
        "logrank_strat_test" => vec![Float64, Int64, Utf8, Utf8],
        "prop_ci" => vec![Boolean],
        "chisq_test" | "fisher_test" => vec![Utf8, Utf8],
        "cox_ph" | "cox_zph" => vec![Float64, Int64, Float64, Utf8, Boolean],
        "cox_ph_strat" => vec![Float64, Int64, Utf8, Float64],
        "cox_ph_counting" => vec![Float64, Float64, Int64, Float64],
        "finegray_ph" => vec![Float64, Int64, Int64, Float64, Utf8],
        "survreg" => vec![Float64, Int64, Float64, Utf8],
        _ => vec![Float64, Int64],
    }
}

/// True when an error is a caught panic (the functions' own guard).
fn is_panic_message(e: &str) -> bool {
    e.contains("internal error in") || e.contains("panicked")
}

/// One input: returns Ok(true) for a result, Ok(false) for an error, Err(message) for a panic.
fn one_input(udf: &AggregateUDF, rng: &mut SmallRng) -> std::result::Result<bool, String> {
    // Half the inputs start from the function's usual column types (so that they reach the
    // accumulators), then add random trailing arguments; the rest are random throughout.
    let (mut arg_types, columns) = if rng.random_bool(0.5) {
        let t = template(udf.name());
        let k = t.len();
        (t, k)
    } else {
        let arity = rng.random_range(0..9);
        let types: Vec<DataType> = (0..arity)
            .map(|_| TYPES[rng.random_range(0..TYPES.len())].clone())
            .collect();
        (types, 2)
    };
    for _ in 0..rng.random_range(0..3) {
        arg_types.push(TYPES[rng.random_range(0..TYPES.len())].clone());
    }
    let constants: Vec<Option<ScalarValue>> = (0..arg_types.len())
        .map(|i| {
            (i >= columns.min(2) && (i >= columns || rng.random_bool(0.3)))
                .then(|| random_scalar(rng))
        })
        .collect();
    let arg_types: Vec<DataType> = arg_types
        .into_iter()
        .zip(&constants)
        .map(|(t, c)| c.as_ref().map_or(t, ScalarValue::data_type))
        .collect();
    let shape = format!("{}({arg_types:?}, constants {constants:?})", udf.name());
    let run = || -> Result<()> {
        let coerced = udf.coerce_types(&arg_types)?;
        let fields: Vec<FieldRef> = coerced
            .iter()
            .enumerate()
            .map(|(i, t)| Arc::new(Field::new(format!("c{i}"), t.clone(), true)))
            .collect();
        let return_field = udf.return_field(&fields)?;
        // The exact r x c Fisher test enumerates tables: keep its inputs small (its own
        // limit refuses past 2e8 tables, but reaching it takes seconds).
        let max_rows = if udf.name() == "fisher_test" { 14 } else { 40 };
        let n = rng.random_range(0..max_rows);
        let clean = rng.random_bool(0.6);
        let columns: Vec<ArrayRef> = coerced
            .iter()
            .enumerate()
            .map(|(i, t)| {
                // Clean data, but times from a wider range (the first argument, and a
                // counting-process stop).
                let time = i == 0 || (i == 1 && udf.name() == "cox_ph_counting");
                if clean && time && t.is_numeric() {
                    let v: ArrayRef = Arc::new(datafusion::arrow::array::Float64Array::from(
                        (0..n)
                            .map(|_| {
                                rng.random_bool(0.95)
                                    .then(|| f64::from(rng.random_range(1..30)) / 2.0)
                            })
                            .collect::<Vec<_>>(),
                    ));
                    cast(&v, t).unwrap_or_else(|_| new_null_array(t, n))
                } else {
                    random_column(rng, t, n, clean)
                }
            })
            .collect();
        let schema = Arc::new(Schema::new(fields.clone()));
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
        let mut exprs: Vec<Arc<dyn PhysicalExpr>> = vec![];
        for (i, t) in coerced.iter().enumerate() {
            exprs.push(match &constants[i] {
                Some(v) => Arc::new(Literal::new(v.cast_to(t)?)),
                None => Arc::new(Column::new(&format!("c{i}"), i)),
            });
        }
        let values: Vec<ArrayRef> = exprs
            .iter()
            .map(|e| e.evaluate(&batch).and_then(|v| v.into_array(n)))
            .collect::<Result<_>>()?;
        let name = format!("{}(...)", udf.name());
        let args = || AccumulatorArgs {
            return_field: Arc::clone(&return_field),
            schema: &schema,
            ignore_nulls: false,
            order_bys: &[],
            is_reversed: false,
            name: &name,
            is_distinct: false,
            exprs: &exprs,
            expr_fields: &fields,
        };
        udf.state_fields(StateFieldsArgs {
            name: &name,
            input_fields: &fields,
            return_field: Arc::clone(&return_field),
            ordering_fields: &[],
            is_distinct: false,
        })?;
        // Row accumulator: two partial states merged into a third.
        let mut a = udf.accumulator(args())?;
        let mut b = udf.accumulator(args())?;
        let half = n / 2;
        let first: Vec<ArrayRef> = values.iter().map(|v| v.slice(0, half)).collect();
        let second: Vec<ArrayRef> = values.iter().map(|v| v.slice(half, n - half)).collect();
        a.update_batch(&first)?;
        b.update_batch(&second)?;
        let mut merged = udf.accumulator(args())?;
        for acc in [&mut a, &mut b] {
            let state: Vec<ArrayRef> = acc
                .state()?
                .iter()
                .map(|s| s.to_array())
                .collect::<Result<_>>()?;
            merged.merge_batch(&state)?;
        }
        merged.evaluate()?;
        let _ = merged.size();
        // Groups accumulator: random groups and FILTER, state, merge, convert_to_state.
        if udf.groups_accumulator_supported(args()) {
            let groups: Vec<usize> = (0..n).map(|_| rng.random_range(0..3)).collect();
            let filter: Option<BooleanArray> = rng.random_bool(0.3).then(|| {
                (0..n)
                    .map(|_| rng.random_bool(0.9).then(|| rng.random_bool(0.7)))
                    .collect()
            });
            let mut g = udf.create_groups_accumulator(args())?;
            g.update_batch(&values, &groups, filter.as_ref(), 3)?;
            let _ = g.size();
            let state = g.state(EmitTo::First(1))?;
            let mut m = udf.create_groups_accumulator(args())?;
            m.merge_batch(&state, &[0], 1)?;
            let rest = g.state(EmitTo::All)?;
            let rest_groups: Vec<usize> = (0..rest.first().map_or(0, |r| r.len())).collect();
            m.merge_batch(&rest, &rest_groups, rest_groups.len().max(1))?;
            let converted = g.convert_to_state(&values, filter.as_ref())?;
            let conv_groups: Vec<usize> = (0..n).map(|i| i % 2).collect();
            m.merge_batch(&converted, &conv_groups, 2.max(rest_groups.len()))?;
            m.evaluate(EmitTo::All)?;
        }
        Ok(())
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(())) => Ok(true),
        Ok(Err(e)) => {
            let text = e.to_string();
            if is_panic_message(&text) {
                Err(format!("{shape}: {text}"))
            } else {
                Ok(false)
            }
        }
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!("{shape}: panicked: {msg}"))
        }
    }
}

/// Tries `inputs` random inputs (seeded), spread over every survival function. `quiet`
/// silences the panic hook meanwhile (for a long run; a test leaves it, so that a panic
/// elsewhere in the test binary still prints).
pub fn fuzz(seed: u64, inputs: u64, quiet: bool) -> FuzzReport {
    let functions = datafusion_survival::all_functions();
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut report = FuzzReport::default();
    let hook = quiet.then(|| {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        hook
    });
    for i in 0..inputs {
        let k = (i % functions.len() as u64) as usize;
        let udf = &functions[k];
        report.inputs += 1;
        if report.per_function.len() <= k {
            report.per_function.push((udf.name().to_owned(), 0.0, 0));
        }
        let started = std::time::Instant::now();
        let outcome = one_input(udf, &mut rng);
        report.per_function[k].1 += started.elapsed().as_secs_f64();
        match outcome {
            Ok(true) => {
                report.results += 1;
                report.per_function[k].2 += 1;
            }
            Ok(false) => report.errors += 1,
            Err(p) => {
                if report.panics.len() < 50 {
                    report.panics.push(p);
                }
            }
        }
    }
    if let Some(hook) = hook {
        std::panic::set_hook(hook);
    }
    report
}

/// Argument expressions for the SQL-level fuzzer, over table `t(time DOUBLE, event BIGINT,
/// grp VARCHAR, strat VARCHAR, x DOUBLE, flag BOOLEAN, big DECIMAL)`.
const SQL_ARGS: [&str; 30] = [
    "time",
    "event",
    "grp",
    "strat",
    "x",
    "flag",
    "big",
    "time + 0.5",
    "event = 1",
    "CAST(event AS DOUBLE)",
    "arrow_cast(grp, 'Dictionary(Int32, Utf8)')",
    "arrow_cast(grp, 'LargeUtf8')",
    "NULL",
    "0",
    "1",
    "-1",
    "0.5",
    "1.5",
    "1e308 * 10",
    "'log'",
    "'log-log'",
    "'none'",
    "'ties=breslow, robust=true'",
    "'ties=efron, conf_level=0.9, max_iter=3, eps=1e-4'",
    "'transform=rank, terms=false'",
    "'holm'",
    "''",
    "'≥'",
    "CAST(NULL AS VARCHAR)",
    "time * NULL",
];

/// The same property through SQL: random calls of every function (arity 0 to 7, arguments
/// from [`SQL_ARGS`]), with and without GROUP BY and FILTER, planned and run by DataFusion.
/// Returns (queries, results, errors, panics).
pub async fn sql_fuzz(seed: u64, queries: u64) -> (u64, u64, u64, Vec<String>) {
    use datafusion::prelude::SessionContext;
    let mut ctx = SessionContext::new();
    datafusion_survival::register_all(&mut ctx).expect("register");
    ctx.sql(
        "CREATE TABLE t AS SELECT CAST(value % 23 AS DOUBLE) + 0.5 AS time, \
         CASE WHEN value % 7 = 0 THEN NULL ELSE value % 2 END AS event, \
         CASE value % 4 WHEN 0 THEN 'a' WHEN 1 THEN 'b' WHEN 2 THEN 'Patienten ≥ 70' ELSE NULL END AS grp, \
         CASE WHEN value % 3 = 0 THEN 's1' ELSE 's2' END AS strat, \
         CAST(value % 5 AS DOUBLE) / 2 AS x, value % 2 = 0 AS flag, \
         CAST(value AS DECIMAL(12, 2)) AS big FROM range(60)",
    )
    .await
    .expect("fuzz table");
    let names: Vec<String> = datafusion_survival::all_functions()
        .iter()
        .map(|f| f.name().to_owned())
        .collect();
    let mut rng = SmallRng::seed_from_u64(seed);
    let (mut results, mut errors, mut panics) = (0, 0, vec![]);
    for _ in 0..queries {
        let f = &names[rng.random_range(0..names.len())];
        let arity = rng.random_range(0..8);
        let args: Vec<&str> = (0..arity)
            .map(|i| {
                // Mostly the usual columns first, so that calls get past planning.
                if i < 2 && rng.random_bool(0.7) {
                    ["time", "event"][i]
                } else {
                    SQL_ARGS[rng.random_range(0..SQL_ARGS.len())]
                }
            })
            .collect();
        let call = format!("{f}({})", args.join(", "));
        let sql = match rng.random_range(0..3) {
            0 => format!("SELECT {call} FROM t"),
            1 => format!("SELECT strat, {call} FROM t GROUP BY strat"),
            _ => format!("SELECT {call} FILTER (WHERE x > 0.5) FROM t"),
        };
        let outcome = async {
            let df = ctx.sql(&sql).await?;
            df.collect().await
        };
        match futures::FutureExt::catch_unwind(AssertUnwindSafe(outcome)).await {
            Ok(Ok(_)) => results += 1,
            Ok(Err(e)) => {
                let text = e.to_string();
                if is_panic_message(&text) {
                    panics.push(format!("{sql}: {text}"));
                } else {
                    errors += 1;
                }
            }
            Err(_) => panics.push(format!("{sql}: panicked")),
        }
    }
    (queries, results, errors, panics)
}

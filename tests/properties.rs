//! Property tests over random data, for every SQL function: random column types (integers
//! of every width, unsigned, FLOAT, DOUBLE, DECIMAL times; BIGINT, INT, BOOLEAN, DOUBLE,
//! DECIMAL events; Utf8, LargeUtf8, Utf8View, dictionary and integer labels), NULLs, ties,
//! negative and huge times, empty and one-row groups, non-ASCII labels, and random
//! partitioning and batch sizes.
//!
//! Properties:
//! * never a panic (a panic would surface as an "internal error" naming the function);
//! * on valid data every query succeeds, and its result is identical — bit for bit — whatever
//!   the number of partitions, the batch size, whether partial aggregation is skipped
//!   (`convert_to_state`), whether Kaplan-Meier states are shared, and whether the group is
//!   computed by `GROUP BY` (GroupsAccumulator) or alone (Accumulator);
//! * an invalid value (NaN or infinite time, event 2 or 0.5) is an error naming the function
//!   and the argument, in every layout.
//!
//! `PROPTEST_CASES` sets the number of random datasets (default 48 in CI); the note of issue
//! 11 reports a longer run.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use survql_testkit::{batches_json, survival_session};

/// Labels, including empty, non-ASCII and numeric-looking ones.
const LABELS: [&str; 6] = ["a", "b", "Patienten ≥ 70", "jünger", "", "10"];

/// How the time column is generated, and which SQL types can hold it.
#[derive(Debug, Clone, Copy)]
enum TimeKind {
    /// Integers 0..40: many ties; any numeric type. (More than 16 distinct times take a
    /// group's time table through each of its layouts: a short list, a hash table, a grid.)
    Grid,
    /// Three decimals in [-10, 1000]: negative times too.
    Continuous,
    /// ± up to 1e300.
    Huge,
}

impl TimeKind {
    fn types(self) -> &'static [&'static str] {
        match self {
            TimeKind::Grid => &[
                "TINYINT",
                "SMALLINT",
                "INT",
                "BIGINT",
                "TINYINT UNSIGNED",
                "INT UNSIGNED",
                "BIGINT UNSIGNED",
                "FLOAT",
                "DOUBLE",
                "DECIMAL(10, 2)",
            ],
            TimeKind::Continuous => &["FLOAT", "DOUBLE", "DECIMAL(15, 3)"],
            TimeKind::Huge => &["DOUBLE"],
        }
    }
}

const EVENT_EXPRS: [&str; 6] = [
    "e",
    "CAST(e AS INT)",
    "CAST(e AS TINYINT UNSIGNED)",
    "e = 1",
    "CAST(e AS DOUBLE)",
    "CAST(e AS DECIMAL(3, 0))",
];

const LABEL_EXPRS: [&str; 5] = [
    "g",
    "arrow_cast(g, 'LargeUtf8')",
    "arrow_cast(g, 'Utf8View')",
    "arrow_cast(g, 'Dictionary(Int32, Utf8)')",
    "CAST(length(g) AS INT)",
];

/// One random dataset and the way its columns are typed.
#[derive(Debug, Clone)]
struct Dataset {
    time: Vec<Option<f64>>,
    event: Vec<Option<i64>>,
    grp: Vec<Option<&'static str>>,
    strat: Vec<&'static str>,
    x1: Vec<f64>,
    x2: Vec<bool>,
    time_type: &'static str,
    event_expr: &'static str,
    label_expr: &'static str,
}

fn dataset() -> impl Strategy<Value = Dataset> {
    let kind = prop_oneof![
        Just(TimeKind::Grid),
        Just(TimeKind::Continuous),
        Just(TimeKind::Huge)
    ];
    (kind, 0usize..90).prop_flat_map(|(kind, n)| {
        let time = match kind {
            TimeKind::Grid => (0i32..40).prop_map(f64::from).boxed(),
            TimeKind::Continuous => (-10_000i64..1_000_000)
                .prop_map(|v| v as f64 / 1000.0)
                .boxed(),
            TimeKind::Huge => (-9i32..10).prop_map(|v| f64::from(v) * 1e299).boxed(),
        };
        (
            prop::collection::vec(prop::option::weighted(0.93, time), n),
            prop::collection::vec(prop::option::weighted(0.95, 0i64..2), n),
            prop::collection::vec(
                prop::option::weighted(0.95, prop::sample::select(&LABELS[..])),
                n,
            ),
            prop::collection::vec(prop::sample::select(&["s1", "s2", "s3"][..]), n),
            prop::collection::vec(-3.0f64..3.0, n),
            prop::collection::vec(any::<bool>(), n),
            prop::sample::select(kind.types()),
            prop::sample::select(&EVENT_EXPRS[..]),
            prop::sample::select(&LABEL_EXPRS[..]),
        )
            .prop_map(
                |(time, event, grp, strat, x1, x2, time_type, event_expr, label_expr)| Dataset {
                    time,
                    event,
                    grp,
                    strat,
                    // Round so that the covariate has ties too.
                    x1: x1.into_iter().map(|v| (v * 4.0).round() / 4.0).collect(),
                    x2,
                    time_type,
                    event_expr,
                    label_expr,
                },
            )
    })
}

/// How the data are laid out and the query planned.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// MemTable partitions the rows are spread over.
    partitions: usize,
    /// Rows per record batch.
    batch_rows: usize,
    target_partitions: usize,
    skip_partial: bool,
    share_km_state: bool,
}

const BASELINE: Layout = Layout {
    partitions: 1,
    batch_rows: 1 << 20,
    target_partitions: 1,
    skip_partial: false,
    share_km_state: false,
};

fn layout() -> impl Strategy<Value = Layout> {
    (
        1usize..5,
        1usize..40,
        1usize..5,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(partitions, batch_rows, target_partitions, skip_partial, share_km_state)| Layout {
                partitions,
                batch_rows,
                target_partitions,
                skip_partial,
                share_km_state,
            },
        )
}

fn batch(d: &Dataset) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Float64, true),
        Field::new("e", DataType::Int64, true),
        Field::new("g", DataType::Utf8, true),
        Field::new("s", DataType::Utf8, false),
        Field::new("x1", DataType::Float64, false),
        Field::new("x2", DataType::Boolean, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(d.time.clone())),
        Arc::new(Int64Array::from(d.event.clone())),
        Arc::new(StringArray::from(d.grp.clone())),
        Arc::new(StringArray::from(d.strat.clone())),
        Arc::new(Float64Array::from(d.x1.clone())),
        Arc::new(BooleanArray::from(d.x2.clone())),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

/// A session holding the dataset as table `raw` laid out as `layout`, and the typed view `v`.
async fn session(d: &Dataset, data: &RecordBatch, layout: Layout) -> SessionContext {
    let ctx = survival_session(
        layout.target_partitions,
        layout.batch_rows.max(2),
        layout.skip_partial,
        layout.share_km_state,
    );
    // Rows dealt round-robin in runs of `batch_rows` over the partitions.
    let n = data.num_rows();
    let mut parts: Vec<Vec<RecordBatch>> = vec![vec![]; layout.partitions];
    let mut k = 0;
    let mut start = 0;
    while start < n {
        let len = layout.batch_rows.min(n - start);
        parts[k % layout.partitions].push(data.slice(start, len));
        start += len;
        k += 1;
    }
    let table = MemTable::try_new(data.schema(), parts).unwrap();
    ctx.register_table("raw", Arc::new(table)).unwrap();
    ctx.sql(&format!(
        "CREATE VIEW v AS SELECT CAST(t AS {}) AS t, {} AS e, {} AS g, s, x1, x2 FROM raw",
        d.time_type, d.event_expr, d.label_expr
    ))
    .await
    .unwrap();
    ctx
}

/// Every function, with the argument its errors must name when that argument is invalid
/// (`every_registered_function_has_a_call` fails when a registered function is missing).
const CALLS: &[&str] = &[
    "km_median(t, e)",
    "km_summary(t, e, 'log-log', 0.9)",
    "km_quantile(t, e, 0.25, 'plain')",
    "km_survival(t, e, 10)",
    "km_curve(t, e, 'logit')",
    "km_rmst(t, e, 50)",
    "km_followup(t, e)",
    "nelson_aalen(t, e)",
    "logrank_test(t, e, g, 1)",
    "logrank_p(t, e, g)",
    "logrank_strat_test(t, e, g, s)",
    "logrank_weighted_test(t, e, g, 'tarone-ware')",
    "logrank_weighted_strat_test(t, e, g, s, 'peto')",
    "logrank_pairwise(t, e, g, 'BH')",
    "logrank_trend_test(t, e, x1)",
    "logrank_trend_strat_test(t, e, x1, s, 'gehan')",
    "cif_curve(t, CAST(x2 AS INT) + CAST(x1 > 0 AS INT), 1, 'log-log')",
    "cif_at(t, CAST(x2 AS INT) + CAST(x1 > 0 AS INT), 2, 3.5)",
    "gray_test(t, CAST(x2 AS INT) + CAST(x1 > 0 AS INT), 1, g)",
    // Delayed entry (surv(entry, time, event)): entries well before every time at any scale
    // (an interval within R's tie tolerance is an error, as in R).
    "km_summary(surv(t - abs(t) - 1e300, t, e), 'log-log')",
    "km_curve(surv(t - abs(t) - 1e300 * (1 + CAST(x2 AS INT)), t, e))",
    "cif_curve(surv(t - abs(t) - 1e300, t, CAST(x2 AS INT) + CAST(x1 > 0 AS INT)), 2)",
    // Case weights, zero weights included.
    "cif_at(surv(NULL, t, CAST(x2 AS INT) + CAST(x1 > 0 AS INT), abs(x1)), 1, 2)",
    "km_curve(surv(NULL, t, e, abs(x1)), 'log-log')",
    "km_summary(surv(t - abs(t) - 1e300, t, e, CAST(x2 AS INT)))",
    "nelson_aalen(surv(NULL, t, e, abs(x1)))",
    "cox_ph(surv(NULL, t, e, 0.5 + abs(x1)), x2)",
    "cox_ph_strat(surv(t - 1.5 - abs(t), t, e, 1 + CAST(x2 AS INT)), s, x1, 'ties=breslow')",
    "prop_ci(x2, 'wilson')",
    "chisq_test(g, s)",
    "fisher_test(e, x2)",
    "cox_ph(t, e, x1, x2, g, 'robust=true')",
    "cox_ph_strat(t, e, s, x1)",
    "cox_ph_counting(t - 1.5 - abs(t), t, e, x1)",
    "cox_ph(t, e, x1, x2, cluster(s))",
    "cox_ph(t, e, x1, strata(s))",
    "cox_zph(surv(t - 1.5 - abs(t), t, e), x1)",
    "cox_ph(t, e, x1, 'firth=true')",
    "survreg(t, e, x1, g, 'dist=gaussian')",
    "cox_zph(t, e, x1, x2)",
    "finegray_ph(t, CAST(x2 AS INT) + CAST(x1 > 0 AS INT), 1, x1, g)",
    // Times >= 0 (the contrasts read the curves from 0); a tau past a group's follow-up is an
    // error, the same under every layout.
    "survreg_strat(t, e, s, x1, 'dist=gaussian')",
    "cox_curve(t, e, x1, x2, 'x1=0.5, x2=1')",
    "cox_curve_strat(t, e, s, x1, 'strata=s1, x1=0')",
    "cox_adjusted_curve(t, e, g, x1, x2)",
    "concordance_index(t, e, x1)",
    "concordance_index(t, e, x1, 'uno')",
    // t within the follow-up of every group: the largest time of the generated data is far
    // above 0 and the smallest below it.
    "td_auc(abs(t) + 1, e, x1, 1)",
    "brier_score(abs(t) + 1, e, 1 / (1 + abs(x1)), 1)",
    "life_table(abs(t), e, [0, 1, 5])",
    "calibration(t, e, 1 / (1 + abs(x1)), 1, 3)",
    // Times >= 1, so that tau and at (1) are within every group's follow-up (past it is an
    // error, which valid data must not give here); at 1 the curves have dropped for the rows
    // with t = 0.
    "rmst_diff(abs(t) + 1, e, g, 1, 0.9)",
    "km_survival_diff(abs(t) + 1, e, g, 1)",
];

#[test]
fn every_registered_function_has_a_call() {
    let missing: Vec<String> = datafusion_survival::all_functions()
        .iter()
        .map(|f| f.name().to_owned())
        .filter(|name| !CALLS.iter().any(|c| c.starts_with(&format!("{name}("))))
        .collect();
    assert!(
        missing.is_empty(),
        "add a call of each to CALLS (tests/properties.rs): {missing:?}"
    );
}

type Rows = Vec<serde_json::Map<String, serde_json::Value>>;

/// The rows of one query as JSON (floats exact; NaN would show as the string "NaN"), or its
/// error.
async fn run(ctx: &SessionContext, sql: &str) -> Result<Rows, String> {
    let df = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let batches = df.collect().await.map_err(|e| e.to_string())?;
    Ok(batches_json(&batches))
}

fn no_panic<T>(call: &str, r: &Result<T, String>) -> Result<(), TestCaseError> {
    if let Err(e) = r {
        prop_assert!(
            !e.contains("internal error") && !e.contains("panicked"),
            "{call}: {e}"
        );
    }
    Ok(())
}

/// The queries of one function: overall, by stratum, and one stratum alone.
fn queries(call: &str) -> [String; 3] {
    [
        format!("SELECT {call} AS r FROM v"),
        format!("SELECT s, {call} AS r FROM v GROUP BY s ORDER BY s"),
        format!("SELECT {call} AS r FROM v WHERE s = 's2'"),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

#[test]
fn results_do_not_depend_on_layout_types_or_accumulator() {
    let rt = runtime();
    let mut runner = TestRunner::new(cases(48));
    runner
        .run(
            &(dataset(), prop::collection::vec(layout(), 2)),
            |(d, layouts)| {
                rt.block_on(async {
                    let data = batch(&d);
                    let base = session(&d, &data, BASELINE).await;
                    let mut others = vec![];
                    for l in &layouts {
                        others.push((l, session(&d, &data, *l).await));
                    }
                    for call in CALLS {
                        let [all, by, alone] = queries(call);
                        for sql in [&all, &by, &alone] {
                            let want = run(&base, sql).await;
                            no_panic(call, &want)?;
                            // Valid data: no function may fail.
                            prop_assert!(want.is_ok(), "{sql}: {:?} on {d:?}", want);
                            for (l, ctx) in &others {
                                let got = run(ctx, sql).await;
                                no_panic(call, &got)?;
                                prop_assert_eq!(&got, &want, "{} under {:?}", sql, l);
                            }
                        }
                        // The GROUP BY row of s2 (GroupsAccumulator) is s2 alone (Accumulator).
                        let (by, alone) = (run(&base, &by).await, run(&base, &alone).await);
                        if let (Ok(by), Ok(alone)) = (by, alone) {
                            if let Some(row) = by.iter().find(|r| r["s"] == "s2") {
                                prop_assert_eq!(
                                    &row["r"],
                                    &alone[0]["r"],
                                    "{} by s vs alone",
                                    call
                                );
                            }
                        }
                    }
                    Ok(())
                })
            },
        )
        .unwrap();
}

/// One invalid value anywhere in the data is an error naming the function and the argument,
/// under every layout.
#[test]
fn invalid_values_are_errors_naming_function_and_argument() {
    let rt = runtime();
    let mut runner = TestRunner::new(cases(24));
    let bad = prop_oneof![
        Just(("t", f64::NAN, "time")),
        Just(("t", f64::INFINITY, "time")),
        Just(("t", f64::NEG_INFINITY, "time")),
        Just(("e", 2.0, "event")),
        Just(("e", 0.5, "event")),
        Just(("e", -1.0, "event")),
    ];
    runner
        .run(&(dataset(), layout(), bad, any::<prop::sample::Index>()), |(mut d, l, (col, value, arg), at)| {
            rt.block_on(async {
                if d.time.is_empty() {
                    return Ok(());
                }
                let i = at.index(d.time.len());
                // Keep the row valid apart from the one bad value, in a type that can hold it.
                d.time[i] = Some(if col == "t" { value } else { 1.0 });
                d.time_type = "DOUBLE";
                d.event[i] = Some(1);
                if col == "e" {
                    d.event_expr = "CAST(e AS DOUBLE) + ee";
                }
                let mut data = batch(&d);
                let extra: Vec<f64> = (0..d.time.len())
                    .map(|k| if k == i && col == "e" { value - 1.0 } else { 0.0 })
                    .collect();
                let mut fields: Vec<Field> =
                    data.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
                fields.push(Field::new("ee", DataType::Float64, false));
                let mut cols = data.columns().to_vec();
                cols.push(Arc::new(Float64Array::from(extra)));
                data = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
                let view = d.clone();
                let ctx = session(&view, &data, l).await;
                if col == "e" {
                    ctx.sql("DROP VIEW v").await.unwrap();
                    ctx.sql(&format!(
                        "CREATE VIEW v AS SELECT CAST(t AS DOUBLE) AS t, CAST(e AS DOUBLE) + ee AS e, {} AS g, s, x1, x2 FROM raw",
                        d.label_expr
                    ))
                    .await
                    .unwrap();
                }
                for call in CALLS {
                    let function = &call[..call.find('(').unwrap()];
                    // Only the functions that take the argument.
                    let takes = match arg {
                        "time" => call.contains("(t, ") || call.contains("(t,"),
                        _ => call.contains("t, e") || call.starts_with("prop_ci") || call.starts_with("fisher_test"),
                    };
                    if !takes || function == "prop_ci" || function == "fisher_test" {
                        continue;
                    }
                    let r = run(&ctx, &format!("SELECT {call} FROM v")).await;
                    no_panic(call, &r)?;
                    let Err(e) = r else {
                        return Err(TestCaseError::fail(format!("{call}: no error for {arg} = {value} under {l:?}")));
                    };
                    prop_assert!(e.contains(function), "{call}: {e}");
                    let named = if function == "cox_ph_counting" && arg == "time" {
                        e.contains("'start'") || e.contains("'stop'")
                    } else {
                        e.contains(&format!("'{arg}'"))
                    };
                    prop_assert!(named, "{call}: {e}");
                }
                Ok(())
            })
        })
        .unwrap();
}

/// Cox-family states merged with many rows per group — at least 1,024 per group and partition,
/// whose numeric columns stay in the received arrays until the state is read — give the same
/// bits as one partition, which merges nothing. Weights, start times, factors, strata and a
/// cluster ride along with the pending columns, and some groups of a merge are pending while
/// others are copied.
#[test]
fn large_merged_cox_states_match_one_partition() {
    const N: usize = 9000;
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    let (mut t, mut e, mut s, mut g, mut x1, mut x2, mut w, mut id) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    for _ in 0..N {
        t.push((next() % 200) as f64 / 4.0 + 0.25);
        e.push(i64::from(next() % 3 != 0));
        // s1 over 1,024 rows per partition in every layout, s2 in some, s3 in none.
        s.push(match next() % 10 {
            0..=5 => "s1",
            6..=8 => "s2",
            _ => "s3",
        });
        g.push(["a", "b", "c"][(next() % 3) as usize]);
        x1.push((next() % 1000) as f64 / 100.0 - 5.0);
        x2.push((next() % 2) as f64);
        w.push((1 + next() % 3) as f64);
        id.push((next() % 500) as i64);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Float64, false),
        Field::new("e", DataType::Int64, false),
        Field::new("s", DataType::Utf8, false),
        Field::new("g", DataType::Utf8, false),
        Field::new("x1", DataType::Float64, false),
        Field::new("x2", DataType::Float64, false),
        Field::new("w", DataType::Float64, false),
        Field::new("id", DataType::Int64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(t)),
        Arc::new(Int64Array::from(e)),
        Arc::new(StringArray::from(s)),
        Arc::new(StringArray::from(g)),
        Arc::new(Float64Array::from(x1)),
        Arc::new(Float64Array::from(x2)),
        Arc::new(Float64Array::from(w)),
        Arc::new(Int64Array::from(id)),
    ];
    let data = RecordBatch::try_new(schema.clone(), columns).unwrap();
    // (partitions, batch rows, target partitions, skip partial aggregation)
    let layouts = [
        (1, N, 1, false),
        (3, 1000, 2, false),
        (2, 4096, 4, false),
        (2, 4096, 2, true),
    ];
    let rt = runtime();
    rt.block_on(async {
        let mut sessions = vec![];
        for &(partitions, batch_rows, target, skip_partial) in &layouts {
            let ctx = survival_session(target, batch_rows, skip_partial, false);
            let mut parts: Vec<Vec<RecordBatch>> = vec![vec![]; partitions];
            for (k, start) in (0..N).step_by(batch_rows).enumerate() {
                let len = batch_rows.min(N - start);
                parts[k % partitions].push(data.slice(start, len));
            }
            let table = MemTable::try_new(schema.clone(), parts).unwrap();
            ctx.register_table("v", Arc::new(table)).unwrap();
            sessions.push(ctx);
        }
        let calls = [
            "cox_ph(t, e, x1, x2, g)",
            "cox_ph(surv(NULL, t, e, w), x1, x2)",
            "cox_ph(surv(NULL, t, e, w + x1 * x1), x1)",
            "cox_ph_strat(t, e, g, x1, x2)",
            "cox_ph_counting(t / 2, t, e, x1, g)",
            "cox_ph(t, e, x1, x2, cluster(id))",
            "cox_zph(t, e, x1, x2)",
            "survreg(t, e, x1, g)",
            "finegray_ph(t, CAST(x2 AS INT) + e, 1, x1)",
        ];
        for call in calls {
            for sql in [
                format!("SELECT {call} AS r FROM v"),
                format!("SELECT s, {call} AS r FROM v GROUP BY s ORDER BY s"),
            ] {
                let want = run(&sessions[0], &sql).await;
                assert!(want.is_ok(), "{sql}: {want:?}");
                for (ctx, layout) in sessions.iter().zip(&layouts).skip(1) {
                    assert_eq!(run(ctx, &sql).await, want, "{sql} under {layout:?}");
                }
            }
        }
    });
}

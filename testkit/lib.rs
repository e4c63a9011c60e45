//! survql's test kit, the support code of its test-suite, examples and benchmarks: the bundled
//! reference data (R `survival` golden answers), session set-up in several layouts, data
//! generators, and conversion of query results to JSON for field-by-field comparison.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, UInt64Type};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use serde_json::{json, Value};

pub mod fuzz;
pub mod generator;

/// The datasets of the reference set, each with `<name>.csv`, `<name>.parquet` and
/// `golden/<name>.json`.
pub const DATASETS: &[&str] = &[
    "aml",
    "lung",
    "veteran",
    "ovarian",
    "rossi",
    "waltons",
    "heart",
    "net_cohort",
];

/// `tests/data` of the workspace.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

/// Reads `tests/data/golden/<name>.json`.
pub fn load_golden(name: &str) -> Value {
    let path = data_dir().join("golden").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("golden file is valid JSON")
}

/// How the reference tables are stored for a test run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One Parquet file per table.
    Parquet,
    /// One CSV file per table (types inferred by DataFusion).
    Csv,
    /// Each table split over several Parquet files in a directory.
    SplitParquet,
}

/// A session configuration to run the same queries under.
#[derive(Debug, Clone, Copy)]
pub struct RunConfig {
    pub layout: Layout,
    pub partitions: usize,
    /// Force DataFusion to skip partial aggregation, so that every input row goes through
    /// `GroupsAccumulator::convert_to_state` before merging.
    pub skip_partial: bool,
    /// Add survql's optimizer rules, so Kaplan-Meier calls of one (time, event) in a query
    /// share one state (`km_shared`).
    pub share_km_state: bool,
}

impl RunConfig {
    pub fn label(&self) -> String {
        format!(
            "{:?}/partitions={}{}{}",
            self.layout,
            self.partitions,
            if self.skip_partial {
                "/skip-partial"
            } else {
                ""
            },
            if self.share_km_state {
                "/shared-km-state"
            } else {
                ""
            }
        )
    }
}

/// The configurations every golden comparison runs under.
pub fn run_configs() -> Vec<RunConfig> {
    vec![
        RunConfig {
            layout: Layout::Parquet,
            partitions: 1,
            skip_partial: false,
            share_km_state: false,
        },
        RunConfig {
            layout: Layout::Parquet,
            partitions: 4,
            skip_partial: false,
            share_km_state: true,
        },
        RunConfig {
            layout: Layout::Csv,
            partitions: 4,
            skip_partial: false,
            share_km_state: true,
        },
        RunConfig {
            layout: Layout::SplitParquet,
            partitions: 4,
            skip_partial: true,
            share_km_state: true,
        },
    ]
}

/// A session with the survival functions registered, configured as `config`.
pub fn new_context(config: &RunConfig) -> SessionContext {
    survival_session(
        config.partitions,
        8,
        config.skip_partial,
        config.share_km_state,
    )
}

/// A session with the survival functions: `target_partitions`, `batch_size`, partial
/// aggregation skipped (every row through `convert_to_state`) or not, and the shared
/// Kaplan-Meier state rule or not.
pub fn survival_session(
    target_partitions: usize,
    batch_size: usize,
    skip_partial: bool,
    share_km_state: bool,
) -> SessionContext {
    let mut cfg = SessionConfig::new()
        .with_target_partitions(target_partitions)
        .with_batch_size(batch_size);
    if skip_partial {
        let opts = cfg.options_mut();
        opts.execution.skip_partial_aggregation_probe_rows_threshold = 1;
        opts.execution
            .skip_partial_aggregation_probe_ratio_threshold = 0.0;
    }
    let mut ctx = SessionContext::new_with_config(cfg);
    datafusion_survival::register_all(&mut ctx).expect("register survival functions");
    datafusion_survival::register_settings(&ctx);
    if share_km_state {
        datafusion_survival::register_optimizer_rules(&ctx);
    }
    ctx
}

/// Registers the reference dataset `name` as a table of the same name, stored as `layout`.
/// `scratch` receives the split Parquet files.
pub async fn register_dataset(
    ctx: &SessionContext,
    name: &str,
    layout: Layout,
    scratch: &Path,
) -> Result<()> {
    let dir = data_dir();
    match layout {
        Layout::Parquet => {
            let path = dir.join(format!("{name}.parquet"));
            ctx.register_parquet(name, path.to_str().unwrap(), ParquetReadOptions::default())
                .await
        }
        Layout::Csv => {
            let path = dir.join(format!("{name}.csv"));
            ctx.register_csv(name, path.to_str().unwrap(), CsvReadOptions::new())
                .await
        }
        Layout::SplitParquet => {
            let out = scratch.join(name);
            if !out.exists() {
                split_parquet(&dir.join(format!("{name}.parquet")), &out, 3).await?;
            }
            ctx.register_parquet(name, out.to_str().unwrap(), ParquetReadOptions::default())
                .await
        }
    }
}

/// Writes the rows of one Parquet file round-robin into `parts` Parquet files under `out`.
pub async fn split_parquet(input: &Path, out: &Path, parts: usize) -> Result<()> {
    let ctx = SessionContext::new();
    let df = ctx
        .read_parquet(input.to_str().unwrap(), ParquetReadOptions::default())
        .await?;
    let batches = df.collect().await?;
    let schema = batches[0].schema();
    let all = datafusion::arrow::compute::concat_batches(&schema, &batches)?;
    std::fs::create_dir_all(out)?;
    for p in 0..parts {
        let idx: Vec<u32> = (0..all.num_rows() as u32)
            .filter(|i| *i as usize % parts == p)
            .collect();
        let indices = datafusion::arrow::array::UInt32Array::from(idx);
        let cols = all
            .columns()
            .iter()
            .map(|c| datafusion::arrow::compute::take(c, &indices, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let batch = RecordBatch::try_new(schema.clone(), cols)?;
        let file = std::fs::File::create(out.join(format!("part-{p}.parquet")))?;
        let mut writer =
            datafusion::parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None)?;
        writer.write(&batch)?;
        writer.close()?;
    }
    Ok(())
}

/// Files of `tests/data/oracle/` in the `edge_cases.json` layout, made by `tests/oracle/*.R`.
pub const ORACLE_CASE_FILES: &[&str] = &[
    "hardening",
    "weighted_logrank",
    "logrank_trend",
    "competing_risks",
    "weighted_km",
    "weighted_cox",
    "finegray",
    "survreg",
    "firth",
    "cox_curve",
    "vendor_conventions",
    "contrasts",
    "surv_split",
    "cox_residuals",
    "adjusted_curves",
    "design",
    "concordance",
    "validation",
    "life_table",
    "calibration",
];

/// Registers every reference dataset (stored as `config.layout`, split files in `scratch`) and
/// every edge case of `edge_cases.json` on `ctx`, and returns each golden entry with the table
/// it is computed on. R drops the NaN time of the `invalid_rows` case, which survql rejects (as
/// tests/slt checks), so that case's entries read the view `invalid_rows_r` without it.
pub async fn register_golden_tables(
    ctx: &SessionContext,
    config: &RunConfig,
    scratch: &Path,
) -> Result<Vec<(String, Value)>> {
    let mut entries = vec![];
    for ds in DATASETS {
        register_dataset(ctx, ds, config.layout, scratch).await?;
        for entry in load_golden(ds)["entries"].as_array().expect("entries") {
            entries.push((ds.to_string(), entry.clone()));
        }
    }
    // R's edge cases, and the cases of our own oracle scripts (tests/oracle/*.R, whose JSON
    // output is in tests/data/oracle/) in the same layout.
    let mut case_files = vec![load_golden("edge_cases")];
    for name in ORACLE_CASE_FILES {
        let path = data_dir().join("oracle").join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        case_files.push(serde_json::from_str(&text).expect("oracle JSON"));
    }
    for case in case_files
        .iter()
        .flat_map(|f| f["cases"].as_array().expect("cases"))
    {
        let name = case["id"].as_str().expect("case id");
        register_inline(ctx, name, &case["data"], config.partitions)?;
        let table = if name == "invalid_rows" {
            ctx.sql(
                "CREATE VIEW invalid_rows_r AS SELECT * FROM invalid_rows \
                 WHERE time IS NULL OR NOT isnan(time)",
            )
            .await?;
            "invalid_rows_r"
        } else {
            name
        };
        for entry in case["entries"].as_array().expect("entries") {
            entries.push((table.to_owned(), entry.clone()));
        }
    }
    entries.retain(|(_, entry)| golden_selected(entry));
    Ok(entries)
}

/// `SURVQL_GOLDEN=TEXT` keeps only the golden entries whose id contains TEXT (to run one entry
/// alone while working on it; unset, every entry runs).
pub fn golden_selected(entry: &Value) -> bool {
    match std::env::var("SURVQL_GOLDEN") {
        Ok(want) if !want.is_empty() => entry["id"].as_str().is_some_and(|id| id.contains(&want)),
        _ => true,
    }
}

/// Registers a small inline dataset (the `data` object of an `edge_cases.json` case) as a
/// memory table: numbers become DOUBLE (`"NaN"` is NaN, `null` NULL) except integral event
/// columns (BIGINT); strings stay strings, JSON booleans are BOOLEAN.
pub fn register_inline(
    ctx: &SessionContext,
    name: &str,
    data: &Value,
    partitions: usize,
) -> Result<()> {
    let obj = data
        .as_object()
        .expect("inline data is an object of columns");
    let mut fields = vec![];
    let mut cols: Vec<ArrayRef> = vec![];
    for (col, values) in obj {
        let values = values.as_array().expect("column is an array");
        let is_string = values
            .iter()
            .any(|v| v.is_string() && v.as_str() != Some("NaN"));
        let is_int = !is_string
            && values
                .iter()
                .all(|v| v.is_null() || v.as_i64().is_some() || v.as_u64().is_some())
            && (col == "event" || col == "status");
        let is_bool = !is_string
            && values.iter().any(Value::is_boolean)
            && values.iter().all(|v| v.is_null() || v.is_boolean());
        if is_bool {
            fields.push(Field::new(col, DataType::Boolean, true));
            cols.push(Arc::new(BooleanArray::from(
                values.iter().map(Value::as_bool).collect::<Vec<_>>(),
            )));
        } else if is_string {
            fields.push(Field::new(col, DataType::Utf8, true));
            cols.push(Arc::new(StringArray::from(
                values
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Vec<_>>(),
            )));
        } else if is_int {
            fields.push(Field::new(col, DataType::Int64, true));
            cols.push(Arc::new(Int64Array::from(
                values.iter().map(|v| v.as_i64()).collect::<Vec<_>>(),
            )));
        } else {
            fields.push(Field::new(col, DataType::Float64, true));
            cols.push(Arc::new(Float64Array::from(
                values.iter().map(golden_f64).collect::<Vec<_>>(),
            )));
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    // Spread the rows over `partitions` batches so that partial states are merged.
    let n = batch.num_rows();
    let per = n.div_ceil(partitions.max(1)).max(1);
    let parts: Vec<Vec<RecordBatch>> = (0..n)
        .step_by(per)
        .map(|s| vec![batch.slice(s, per.min(n - s))])
        .collect();
    let table = MemTable::try_new(schema, parts)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// A golden number: `null` and `"NaN"` are `None` (SQL NULL), `"Inf"`/`"-Inf"` infinities.
pub fn golden_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s == "Inf" => Some(f64::INFINITY),
        Value::String(s) if s == "-Inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// The text of a golden group value as `CAST(group AS VARCHAR)` prints it.
pub fn golden_label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "NULL".into(),
        other => other.to_string(),
    }
}

/// One cell of an Arrow array as JSON. NaN floats become the string `"NaN"` so that a test
/// notices them (survql returns NULL, never NaN).
pub fn cell_json(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    let f = |x: f64| {
        if x.is_nan() {
            json!("NaN")
        } else if x.is_infinite() {
            json!(if x > 0.0 { "Inf" } else { "-Inf" })
        } else {
            json!(x)
        }
    };
    match array.data_type() {
        DataType::Float64 => f(array.as_primitive::<Float64Type>().value(row)),
        DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt64 => json!(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Boolean => {
            json!(array
                .as_any()
                .downcast_ref::<BooleanArray>()
                .unwrap()
                .value(row))
        }
        DataType::Utf8 => json!(array.as_string::<i32>().value(row)),
        DataType::Utf8View => json!(array.as_string_view().value(row)),
        DataType::LargeUtf8 => json!(array.as_string::<i64>().value(row)),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut obj = serde_json::Map::new();
            for (i, field) in fields.iter().enumerate() {
                obj.insert(field.name().clone(), cell_json(s.column(i).as_ref(), row));
            }
            Value::Object(obj)
        }
        DataType::List(_) => {
            let l = array.as_list::<i32>();
            let inner = l.value(row);
            Value::Array(
                (0..inner.len())
                    .map(|i| cell_json(inner.as_ref(), i))
                    .collect(),
            )
        }
        other => {
            let cast = datafusion::arrow::compute::cast(&array.slice(row, 1), &DataType::Utf8)
                .unwrap_or_else(|_| panic!("cannot show {other}"));
            json!(cast.as_string::<i32>().value(0))
        }
    }
}

/// Query results as one JSON object per row, keyed by column name.
pub fn batches_json(batches: &[RecordBatch]) -> Vec<serde_json::Map<String, Value>> {
    let mut rows = vec![];
    for b in batches {
        for r in 0..b.num_rows() {
            let mut obj = serde_json::Map::new();
            for (i, field) in b.schema().fields().iter().enumerate() {
                obj.insert(field.name().clone(), cell_json(b.column(i).as_ref(), r));
            }
            rows.push(obj);
        }
    }
    rows
}

/// Runs `sql` and returns its rows as JSON objects.
pub async fn query_json(
    ctx: &SessionContext,
    sql: &str,
) -> Result<Vec<serde_json::Map<String, Value>>> {
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(batches_json(&batches))
}

/// The first row's column `r` of `sql`, or a failure recorded under `id` (with the SQL).
pub async fn query_result(
    ctx: &SessionContext,
    sql: &str,
    cmp: &mut Comparison,
    id: &str,
) -> Option<Value> {
    match query_json(ctx, sql).await {
        Ok(rows) if !rows.is_empty() => Some(rows[0]["r"].clone()),
        Ok(_) => {
            cmp.fail(format!("{id}: no rows\n  {sql}"));
            None
        }
        Err(e) => {
            cmp.fail(format!("{id}: {e}\n  {sql}"));
            None
        }
    }
}

/// The covariate names of an oracle entry's `input.covariates`, joined for a call.
pub fn covariate_list(input: &Value) -> String {
    input["covariates"]
        .as_array()
        .expect("covariates")
        .iter()
        .map(|c| c.as_str().expect("a covariate name"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Collects mismatches between survql's and R's numbers, so that one run reports them all.
///
/// A field missing on either side is a failure, not a NULL: both survql's results and the
/// golden files are read with serde's indexing (`v["a"]["b"]`), which answers a missing key
/// with a shared static `Null` — [`is_missing`] recognises it by address. Only comparisons of
/// two numbers count as checked; NULL against NULL (R's NA where survql gives NULL) is counted
/// apart.
#[derive(Debug, Default)]
pub struct Comparison {
    pub failures: Vec<String>,
    /// Comparisons of two values.
    pub checked: usize,
    /// Comparisons where R's NA/NaN met survql's NULL.
    pub both_null: usize,
}

/// Use as the expected value where R's answer is NA (a named static, so that it is never
/// taken for a missing field).
pub static EXPECT_NULL: Value = Value::Null;

/// True when `v` is what serde_json's indexing returns for a missing key or index.
pub fn is_missing(v: &Value) -> bool {
    static PROBE: Value = Value::Null;
    std::ptr::eq(v, &PROBE["a field no value has"])
}

impl Comparison {
    /// Fails when either side is a missing field; true when both are present.
    fn present(&mut self, ctx: &str, got: &Value, want: &Value) -> bool {
        if is_missing(want) {
            self.failures
                .push(format!("{ctx}: the golden value is missing (wrong path?)"));
            return false;
        }
        if is_missing(got) {
            self.failures.push(format!(
                "{ctx}: survql's result has no such field (want {want})"
            ));
            return false;
        }
        true
    }

    /// Compares a number: `got` (survql's JSON cell) against `want` (R's golden value) within
    /// relative error `tol`. R's NA/NaN must be NULL; infinities must match exactly.
    pub fn num(&mut self, ctx: &str, got: &Value, want: &Value, tol: f64) {
        if !self.present(ctx, got, want) {
            return;
        }
        let w = golden_f64(want);
        let g = golden_f64(got);
        if got.as_str() == Some("NaN") {
            self.failures
                .push(format!("{ctx}: got NaN (should be NULL), want {want}"));
            return;
        }
        let ok = match (g, w) {
            (None, None) => {
                self.both_null += 1;
                return;
            }
            (Some(a), Some(b)) if a.is_infinite() || b.is_infinite() => a == b,
            (Some(a), Some(b)) => close(a, b, tol),
            _ => false,
        };
        self.checked += 1;
        if !ok {
            self.failures.push(format!("{ctx}: got {got}, want {want}"));
        }
    }

    /// Compares with a number printed to `decimals` places (a published output): `got` must
    /// round to it, |got − want| ≤ ½·10^−decimals. NULL against NULL counts as agreeing.
    pub fn printed(&mut self, ctx: &str, got: &Value, want: &Value, decimals: u32) {
        if !self.present(ctx, got, want) {
            return;
        }
        match (golden_f64(got), golden_f64(want)) {
            (None, None) => self.both_null += 1,
            (Some(g), Some(w)) => {
                self.checked += 1;
                let half = 0.5 * 10f64.powi(-(decimals as i32));
                if (g - w).abs() > half * (1.0 + 1e-9) {
                    self.failures.push(format!(
                        "{ctx}: got {g}, which does not print as {w} ({decimals} decimals)"
                    ));
                }
            }
            _ => self.failures.push(format!("{ctx}: got {got}, want {want}")),
        }
    }

    /// Compares a count exactly.
    pub fn count(&mut self, ctx: &str, got: &Value, want: &Value) {
        if !self.present(ctx, got, want) {
            return;
        }
        let ok = match (got.as_f64(), want.as_f64()) {
            (Some(a), Some(b)) => a == b,
            (None, None) if got.is_null() && want.is_null() => {
                self.both_null += 1;
                return;
            }
            _ => false,
        };
        self.checked += 1;
        if !ok {
            self.failures.push(format!("{ctx}: got {got}, want {want}"));
        }
    }

    /// Records a failure directly.
    pub fn fail(&mut self, msg: String) {
        self.failures.push(msg);
    }

    /// Panics with every mismatch, if any.
    pub fn assert_ok(&self, what: &str) {
        if !self.failures.is_empty() {
            let shown: Vec<&String> = self.failures.iter().take(60).collect();
            panic!(
                "{what}: {} failures ({} values compared):\n{}",
                self.failures.len(),
                self.checked,
                shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        eprintln!(
            "{what}: {} values matched R ({} more were NULL where R gives NA)",
            self.checked, self.both_null
        );
    }
}

/// `|a - b| <= tol * max(|a|, |b|)`, with values below 1e-300 treated as 0.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    if a == b {
        return true;
    }
    let scale = a.abs().max(b.abs());
    if scale < 1e-300 {
        return true;
    }
    (a - b).abs() <= tol * scale
}

#[cfg(test)]
mod comparison_tests {
    use super::*;
    use serde_json::json;

    /// A typo in a golden path, or a field survql renamed, is a failure — not a NULL that
    /// matches R's NA — and NULL against NULL is not counted as a checked value.
    #[test]
    fn missing_fields_fail_and_nulls_are_counted_apart() {
        let got = json!({"median": 12.5, "lower": null});
        let want = json!({"median": {"estimate": 12.5}, "lower": null});
        let mut cmp = Comparison::default();
        cmp.num("ok", &got["median"], &want["median"]["estimate"], 1e-9);
        cmp.num("na", &got["lower"], &want["lower"], 1e-9);
        cmp.num("na2", &got["lower"], &EXPECT_NULL, 1e-9);
        assert_eq!((cmp.checked, cmp.both_null), (1, 2));
        assert!(cmp.failures.is_empty(), "{:?}", cmp.failures);
        cmp.num("typo", &got["median"], &want["median"]["estimat"], 1e-9);
        cmp.count("renamed", &got["n_risk"], &json!(3));
        cmp.num("index", &got["median"], &want["curve"][7], 1e-9);
        assert_eq!(cmp.failures.len(), 3, "{:?}", cmp.failures);
        assert!(cmp.failures[0].contains("golden value is missing"));
        assert!(cmp.failures[1].contains("survql's result has no such field"));
        assert!(!is_missing(&EXPECT_NULL) && !is_missing(&want["lower"]));
    }
}

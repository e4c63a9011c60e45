//! Runs every `tests/slt/*.slt` sqllogictest file against a DataFusion session with the
//! survival functions, once with 1 partition and once with 4 (answers must be identical).
//!
//! Tables: each reference dataset under its own name (`lung`, `aml`, `net_cohort`, ...) and
//! `cohort` (= net_cohort), read from `tests/data/*.parquet`. Floats print rounded to 12
//! decimals as in DataFusion's own sqllogictests; NULL prints as `NULL`.

use std::path::PathBuf;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use sqllogictest::{DBOutput, DefaultColumnType};
use survql_testkit::{data_dir, new_context, register_dataset, Layout, RunConfig, DATASETS};

struct SurvivalDb {
    ctx: SessionContext,
}

/// A float as DataFusion's sqllogictests print it: rounded to 12 decimals, trailing zeros cut.
fn float_text(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let s = format!("{x:.12}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_owned()
    }
}

fn cell_text(array: &dyn Array, row: usize) -> String {
    if array.is_null(row) {
        return "NULL".into();
    }
    match array.data_type() {
        DataType::Float64 => float_text(array.as_primitive::<Float64Type>().value(row)),
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let parts: Vec<String> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| format!("{}: {}", f.name(), cell_text(s.column(i).as_ref(), row)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        DataType::List(_) => {
            let inner = array.as_list::<i32>().value(row);
            let parts: Vec<String> = (0..inner.len())
                .map(|i| cell_text(inner.as_ref(), i))
                .collect();
            format!("[{}]", parts.join(", "))
        }
        _ => {
            let f = ArrayFormatter::try_new(array, &FormatOptions::default()).unwrap();
            let s = f.value(row).to_string();
            if s.is_empty() {
                "(empty)".into()
            } else {
                s
            }
        }
    }
}

fn column_type(dt: &DataType) -> DefaultColumnType {
    match dt {
        d if d.is_floating() => DefaultColumnType::FloatingPoint,
        d if d.is_integer() => DefaultColumnType::Integer,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => DefaultColumnType::Text,
        _ => DefaultColumnType::Any,
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for SurvivalDb {
    type Error = DataFusionError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DataFusionError> {
        let df = self.ctx.sql(sql).await?;
        let schema = df.schema().as_arrow().clone();
        let batches: Vec<RecordBatch> = df.collect().await?;
        let is_statement = schema.fields().is_empty()
            || (schema.fields().len() == 1
                && schema.field(0).name() == "count"
                && sql.trim_start().to_lowercase().starts_with("create"));
        if is_statement {
            return Ok(DBOutput::StatementComplete(0));
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let mut rows = vec![];
        for b in &batches {
            for r in 0..b.num_rows() {
                rows.push(
                    (0..b.num_columns())
                        .map(|c| cell_text(b.column(c).as_ref(), r))
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "datafusion-survival"
    }
}

async fn make_db(partitions: usize) -> Result<SurvivalDb, DataFusionError> {
    let config = RunConfig {
        layout: Layout::Parquet,
        partitions,
        skip_partial: false,
        // One partition without the optimizer rule, several with it: every record checks
        // both the separate and the shared Kaplan-Meier states.
        share_km_state: partitions > 1,
    };
    let ctx = new_context(&config);
    let scratch = std::env::temp_dir();
    for ds in DATASETS {
        register_dataset(&ctx, ds, Layout::Parquet, &scratch).await?;
    }
    let cohort = data_dir().join("net_cohort.parquet");
    ctx.register_parquet("cohort", cohort.to_str().unwrap(), Default::default())
        .await?;
    Ok(SurvivalDb { ctx })
}

fn slt_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    // SURVQL_SLT=TEXT: only the files whose name contains TEXT (tests/README.md).
    if let Ok(want) = std::env::var("SURVQL_SLT") {
        files.retain(|p| {
            p.file_name()
                .is_some_and(|f| f.to_string_lossy().contains(&want))
        });
        assert!(!files.is_empty(), "no .slt file name contains '{want}'");
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files() {
    let mut failures = vec![];
    for partitions in [1, 4] {
        for file in slt_files() {
            let mut runner = sqllogictest::Runner::new(move || make_db(partitions));
            runner.with_column_validator(|_, _| true);
            if let Err(e) = runner.run_file_async(&file).await {
                failures.push(format!(
                    "{} (target_partitions = {partitions}):\n{e}",
                    file.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

//! The DataFusion session survql runs statements in: survival functions registered, the
//! bundled demo cohort as `demo.net_cohort`, and the user's files as tables.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::MemorySchemaProvider;
use datafusion::common::{plan_err, Column, Result, ScalarValue};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTableUrl};
use datafusion::datasource::MemTable;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{GreedyMemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{cast, lit, when, Expr};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::prelude::{
    CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionConfig, SessionContext,
};
use datafusion_distributed::DistributedExt;
use datafusion_survival::WarningSink;
use std::num::NonZeroUsize;

/// The synthetic NET cohort (103 patients), embedded in the binary.
const NET_COHORT_PARQUET: &[u8] = include_bytes!("../../../tests/data/net_cohort.parquet");

/// A session plus the sink its survival functions report warnings to.
pub struct Session {
    /// Where statements run: `local`, or a copy of it planning across `workers`.
    pub ctx: SessionContext,
    pub warnings: WarningSink,
    /// The single-process session (tables and settings are shared with `ctx`'s catalog).
    local: SessionContext,
    /// The workers queries run on (`--workers`, `\workers`); `None`: this process only.
    pub cluster: Option<crate::distributed::Cluster>,
    /// CSV and TSV fields read as NULL besides empty ones (`--csv-null`).
    pub csv_null: Vec<String>,
}

/// The missing-value markers of the files R, SAS and Stata write besides an empty field
/// (SPSS, Excel): R's `write.csv` NA, SAS's and Stata's `.` (comma-separated).
pub const DEFAULT_CSV_NULL: &str = "NA,.";

/// The markers of a `--csv-null` value: comma-separated, empty entries ignored.
pub fn csv_null_markers(spec: &str) -> Vec<String> {
    spec.split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How much memory and temporary disk the queries of a session may use.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResourceLimits {
    /// Bytes of memory queries may reserve; `None` = unbounded.
    pub memory: Option<usize>,
    /// Bytes of temporary files for operators that spill (sorts, hash aggregation);
    /// `None` = DataFusion's default (100 GiB); `Some(0)` = no spilling.
    pub disk: Option<u64>,
}

impl Session {
    /// A session with every survival function and `demo.net_cohort`, whose queries stay within `limits`: a query that needs more memory than
    /// the limit (and cannot spill) fails with DataFusion's "Resources exhausted" error,
    /// naming the largest consumers, instead of the process being killed.
    pub fn with_limits(limits: ResourceLimits) -> Result<Session> {
        let config =
            SessionConfig::new()
                .with_information_schema(true)
                .with_create_default_catalog_and_schema(true)
                // `SET distributed.*` is valid in every session, so a script tuned for a cluster
                // runs unchanged in one process (where the settings have no effect).
                .with_distributed_option_extension(
                    datafusion_distributed::DistributedConfig::default(),
                );
        let ctx = SessionContext::new_with_config_rt(config, runtime_env(limits)?);
        let warnings = datafusion_survival::register_context(&ctx)?;
        datafusion_survival::register_optimizer_rules(&ctx);
        datafusion_survival::register_settings(&ctx);
        register_demo(&ctx)?;
        Ok(Session {
            local: ctx.clone(),
            ctx,
            warnings,
            cluster: None,
            csv_null: csv_null_markers(DEFAULT_CSV_NULL),
        })
    }

    /// Runs the following queries across `urls` (after checking that each worker answers
    /// and runs this build); tables stay registered.
    pub async fn connect_workers(&mut self, urls: Vec<url::Url>) -> Result<()> {
        let cluster = crate::distributed::Cluster::connect(&self.local, urls).await?;
        self.ctx = cluster.ctx.clone();
        self.cluster = Some(cluster);
        Ok(())
    }

    /// Runs the following queries in this process only.
    /// Applies `KEY=VALUE` settings (`--set`), as `SET KEY = VALUE` would, before anything
    /// runs: e.g. `survql.convention=sas`, `datafusion.execution.batch_size=4096`.
    pub fn apply_settings(&self, settings: &[String]) -> Result<()> {
        for s in settings {
            let Some((key, value)) = s.split_once('=') else {
                return datafusion::common::plan_err!("--set takes KEY=VALUE, found '{s}'");
            };
            let state = self.local.state_ref();
            let mut state = state.write();
            state
                .config_mut()
                .options_mut()
                .set(key.trim(), value.trim())?;
        }
        Ok(())
    }

    pub fn disconnect_workers(&mut self) {
        self.ctx = self.local.clone();
        self.cluster = None;
    }

    /// Registers each path as a table: files by stem, directories of Parquet by their name.
    pub async fn register_paths(&self, paths: &[PathBuf]) -> Result<Vec<String>> {
        let mut names = vec![];
        for p in paths {
            names.push(register_path(&self.ctx, p, &self.csv_null).await?);
        }
        Ok(names)
    }

    /// Registers `NAME=PATH` specifications.
    pub async fn register_named(&self, specs: &[String]) -> Result<()> {
        for spec in specs {
            let Some((name, path)) = spec.split_once('=') else {
                return plan_err!("--table expects NAME=PATH, found '{spec}'");
            };
            register_path_as(
                &self.ctx,
                name.trim(),
                Path::new(path.trim()),
                &self.csv_null,
            )
            .await?;
        }
        Ok(())
    }

    /// Names of every aggregate function known to the session.
    pub fn all_function_names(&self) -> Vec<String> {
        let state = self.ctx.state();
        let mut v: Vec<String> = state.udafs().into_iter().collect();
        v.extend(state.udfs());
        v.sort();
        v
    }
}

/// The runtime (memory pool, spill space) of a session or a worker: a query that needs more
/// memory than `limits.memory` (and cannot spill) fails with DataFusion's "Resources
/// exhausted" error, naming the largest consumers, instead of the process being killed.
pub fn runtime_env(limits: ResourceLimits) -> Result<Arc<RuntimeEnv>> {
    let mut runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(crate::object_stores::CloudStores::default()));
    if let Some(bytes) = limits.memory {
        let pool = GreedyMemoryPool::new(bytes);
        let tracked = NonZeroUsize::new(5).map(|top| TrackConsumersPool::new(pool, top));
        if let Some(tracked) = tracked {
            runtime = runtime.with_memory_pool(Arc::new(tracked));
        }
    }
    if let Some(disk) = limits.disk {
        let mode = if disk == 0 {
            DiskManagerMode::Disabled
        } else {
            DiskManagerMode::OsTmpDirectory
        };
        runtime = runtime.with_disk_manager_builder(
            DiskManagerBuilder::default()
                .with_mode(mode)
                .with_max_temp_directory_size(disk),
        );
    }
    runtime.build_arc()
}

/// `demo.net_cohort`: the embedded Parquet file as a memory table in schema `demo`.
fn register_demo(ctx: &SessionContext) -> Result<()> {
    let catalog = ctx
        .catalog("datafusion")
        .expect("the default catalog exists");
    catalog.register_schema("demo", Arc::new(MemorySchemaProvider::new()))?;
    let bytes = datafusion::arrow::buffer::Buffer::from(NET_COHORT_PARQUET);
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.as_slice().to_vec()))?
            .build()?;
    let batches: Vec<RecordBatch> = reader.collect::<std::result::Result<_, _>>()?;
    let schema = batches[0].schema();
    let table = MemTable::try_new(schema, vec![batches])?;
    ctx.register_table("demo.net_cohort", Arc::new(table))?;
    Ok(())
}

/// A table name from a file stem: letters, digits and `_` only.
pub fn table_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .or_else(|| path.file_name())
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "t".into());
    // "cohort.csv.gz" -> "cohort"
    let stem = stem.split('.').next().unwrap_or(&stem).to_owned();
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 't');
    }
    name
}

/// Registers one file or directory and returns its table name; CSV and TSV fields equal to
/// one of `csv_null` (or empty) are NULL.
pub async fn register_path(
    ctx: &SessionContext,
    path: &Path,
    csv_null: &[String],
) -> Result<String> {
    register_path_as(ctx, &table_name(path), path, csv_null).await
}

/// Registers one file or directory as table `name`; `s3://bucket/path` locations too (see
/// [`crate::object_stores`]).
pub async fn register_path_as(
    ctx: &SessionContext,
    name: &str,
    path: &Path,
    csv_null: &[String],
) -> Result<String> {
    let name = name.to_owned();
    let p = path.to_string_lossy().to_string();
    if crate::object_stores::is_url(&p) {
        return register_url_as(ctx, name, &p, csv_null).await;
    }
    if path.is_dir() {
        // A directory of Parquet files, possibly Hive-partitioned (year=2020/region=north/...).
        let partitions = hive_partition_columns(path);
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(
                partitions
                    .iter()
                    .map(|c| (c.clone(), datafusion::arrow::datatypes::DataType::Utf8))
                    .collect(),
            );
        ctx.register_listing_table(&name, &p, options, None, None)
            .await?;
        return Ok(name);
    }
    if !path.exists() {
        return plan_err!("no such file: {p}");
    }
    register_file_as(ctx, name, &p, csv_null).await
}

/// Registers an object-store location: a file by its extension, else (a trailing `/` or no
/// extension) a folder of Parquet files with its Hive partition columns (`year=2020/`).
async fn register_url_as(
    ctx: &SessionContext,
    name: String,
    url: &str,
    csv_null: &[String],
) -> Result<String> {
    let last = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if url.ends_with('/') || !last.contains('.') {
        let folder = format!("{}/", url.trim_end_matches('/'));
        let table_url = ListingTableUrl::parse(&folder)?;
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let partitions = options.infer_partitions(&ctx.state(), &table_url).await?;
        let options = options.with_table_partition_cols(
            partitions
                .into_iter()
                .map(|c| (c, datafusion::arrow::datatypes::DataType::Utf8))
                .collect(),
        );
        ctx.register_listing_table(&name, &folder, options, None, None)
            .await?;
        return Ok(name);
    }
    register_file_as(ctx, name, url, csv_null).await
}

/// Registers a CSV or TSV file whose fields equal to one of `markers` (R's `NA`, SAS's and
/// Stata's `.`) or empty are NULL, so that a numeric column with missing values is numeric.
/// DataFusion 55 infers the column types with a `null_regex` but its reader ignores it, so the
/// file is read as text and a view casts each column to its inferred type, markers to NULL.
async fn register_delimited(
    ctx: &SessionContext,
    name: &str,
    p: &str,
    delimiter: u8,
    extension: &str,
    markers: &[String],
) -> Result<()> {
    let options = CsvReadOptions::new()
        .delimiter(delimiter)
        .file_extension(extension);
    if markers.is_empty() {
        ctx.register_csv(name, p, options).await?;
        return Ok(());
    }
    let escaped: Vec<String> = markers.iter().map(|m| regex_escape(m)).collect();
    let null_regex = format!("^({})?$", escaped.join("|"));
    let inferred = ctx
        .read_csv(p, options.clone().null_regex(Some(null_regex)))
        .await?
        .schema()
        .as_arrow()
        .clone();
    let text = Schema::new(
        inferred
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let raw = ctx.read_csv(p, options.schema(&text)).await?;
    let columns = inferred
        .fields()
        .iter()
        .map(|f| {
            let c = Expr::Column(Column::new_unqualified(f.name()));
            let is_marker = c
                .clone()
                .in_list(markers.iter().map(|m| lit(m.as_str())).collect(), false);
            let null = lit(ScalarValue::try_from(f.data_type())?);
            Ok(when(is_marker, null)
                .otherwise(cast(c, f.data_type().clone()))?
                .alias(f.name()))
        })
        .collect::<Result<Vec<Expr>>>()?;
    ctx.register_table(name, raw.select(columns)?.into_view())?;
    Ok(())
}

/// `text` as a regular expression matching itself.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Registers one file (a path or an object-store URL) by its extension.
async fn register_file_as(
    ctx: &SessionContext,
    name: String,
    p: &str,
    csv_null: &[String],
) -> Result<String> {
    let lower = p.to_lowercase();
    if lower.ends_with(".parquet") {
        ctx.register_parquet(&name, p, ParquetReadOptions::default())
            .await?;
    } else if lower.ends_with(".csv") {
        register_delimited(ctx, &name, p, b',', ".csv", csv_null).await?;
    } else if lower.ends_with(".tsv") {
        register_delimited(ctx, &name, p, b'\t', ".tsv", csv_null).await?;
    } else if lower.ends_with(".json") || lower.ends_with(".ndjson") || lower.ends_with(".jsonl") {
        let ext = if lower.ends_with(".json") {
            ".json"
        } else if lower.ends_with(".jsonl") {
            ".jsonl"
        } else {
            ".ndjson"
        };
        ctx.register_json(&name, p, JsonReadOptions::default().file_extension(ext))
            .await?;
    } else if lower.ends_with(".arrow") || lower.ends_with(".ipc") || lower.ends_with(".feather") {
        ctx.register_arrow(&name, p, Default::default()).await?;
    } else {
        return plan_err!(
            "{p}: unknown file type (expected .parquet, .csv, .tsv, .json, .ndjson or .arrow)"
        );
    }
    Ok(name)
}

/// The Hive partition keys of a directory: `key=value` directory names on the path to the
/// first Parquet file.
fn hive_partition_columns(dir: &Path) -> Vec<String> {
    let mut cols = vec![];
    let mut cur = dir.to_path_buf();
    loop {
        let Ok(entries) = std::fs::read_dir(&cur) else {
            break;
        };
        let mut next = None;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if e.path().is_dir() {
                if let Some((k, _)) = name.split_once('=') {
                    next = Some((k.to_owned(), e.path()));
                    break;
                }
            }
        }
        match next {
            Some((k, p)) => {
                cols.push(k);
                cur = p;
            }
            None => break,
        }
    }
    cols
}

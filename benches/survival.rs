//! survql's benchmark suite: each survival query next to the plain DataFusion query that
//! computes the same sufficient statistics (the "floor"), on the same data, in one process.
//!
//! ```text
//! cargo bench --bench survival -- --rows 10000000            # generate (once) and run all
//! cargo bench --bench survival -- --rows 1000000 --only km_groups,logrank
//! ```
//!
//! Data: a synthetic registry (see `survql_testkit::generator`) written once under
//! `target/bench-data/registry-<rows>/year=*/region=*/part-0.parquet`. Every query runs
//! `--repeat` times (default 3); the table shows the best time, the ratio to its floor, rows
//! per second and the peak resident memory of the query (VmHWM, reset before each run).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::error::Result;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;

/// The allocator and options of the survql binary (see crates/survql/src/main.rs), so that
/// the figures are those of the program users run.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
#[export_name = "_rjem_malloc_conf"]
pub static JEMALLOC_OPTIONS: &[u8; 31] = b"thp:always,metadata_thp:always\0";

struct Args {
    rows: u64,
    repeat: usize,
    only: Option<Vec<String>>,
    data: PathBuf,
}

fn parse_args() -> Args {
    let mut rows = 1_000_000u64;
    let mut repeat = 3;
    let mut only = None;
    let mut data = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rows" => {
                rows = it
                    .next()
                    .and_then(|v| v.replace('_', "").parse::<f64>().ok())
                    .expect("--rows N") as u64
            }
            "--repeat" => repeat = it.next().and_then(|v| v.parse().ok()).expect("--repeat N"),
            "--only" => only = it.next().map(|v| v.split(',').map(str::to_owned).collect()),
            "--data" => data = it.next().map(PathBuf::from),
            // cargo bench passes --bench
            _ => {}
        }
    }
    let data = data.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("bench-data")
            .join(format!("registry-{rows}"))
    });
    Args {
        rows,
        repeat,
        only,
        data,
    }
}

/// Peak resident set size of this process since the last reset, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak RSS counter to the current RSS (Linux: write 5 to clear_refs), after
/// handing the memory jemalloc keeps for reuse back to the system, so that a query's peak
/// does not include what an earlier one left behind.
fn reset_peak_rss() {
    // SAFETY: "arena.<MALLCTL_ARENAS_ALL>.purge" takes no value and returns none.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `sql` to completion, counting output rows without holding them.
async fn run_query(ctx: &SessionContext, sql: &str) -> Result<usize> {
    let df = ctx.sql(sql).await?;
    let plan = df.create_physical_plan().await?;
    let mut stream = execute_stream(plan, ctx.task_ctx())?;
    let mut rows = 0;
    while let Some(b) = stream.next().await {
        rows += b?.num_rows();
    }
    Ok(rows)
}

struct Measure {
    seconds: f64,
    peak: Option<u64>,
    output_rows: usize,
}

async fn measure(ctx: &SessionContext, sql: &str, repeat: usize) -> Result<Measure> {
    let mut best = f64::INFINITY;
    let mut peak = None;
    let mut output_rows = 0;
    for _ in 0..repeat {
        reset_peak_rss();
        let start = Instant::now();
        output_rows = run_query(ctx, sql).await?;
        let secs = start.elapsed().as_secs_f64();
        let p = peak_rss();
        if secs < best {
            best = secs;
        }
        peak = peak.max(p);
    }
    Ok(Measure {
        seconds: best,
        peak,
        output_rows,
    })
}

struct Case {
    name: &'static str,
    query: String,
    floor: String,
    /// Rows the query reads (for rows/s).
    input_rows: u64,
}

fn cases(rows: u64) -> Vec<Case> {
    let sample = 1_000_000u64.min(rows);
    let groups = (rows / 10).max(1);
    vec![
        Case {
            name: "km_groups",
            query: "SELECT grp, km_median(time, event) FROM registry GROUP BY grp".into(),
            floor: "SELECT grp, time, count(*), sum(event) FROM registry GROUP BY grp, time".into(),
            input_rows: rows,
        },
        Case {
            // The issue's stretch floor: not a GROUP BY, only reading the three columns.
            name: "km_int_groups_vs_scan",
            query: "SELECT hospital % 10 AS g, km_median(time, event) FROM registry GROUP BY hospital % 10".into(),
            floor: "SELECT sum(time), sum(event), sum(hospital % 10) FROM registry".into(),
            input_rows: rows,
        },
        Case {
            name: "km_summary_groups",
            query: "SELECT grp, km_summary(time, event), km_survival(time, event, 36) FROM registry GROUP BY grp".into(),
            floor: "SELECT grp, time, count(*), sum(event) FROM registry GROUP BY grp, time".into(),
            input_rows: rows,
        },
        Case {
            name: "km_hospitals",
            query: "SELECT hospital, km_median(time, event) FROM registry GROUP BY hospital".into(),
            floor: "SELECT hospital, time, count(*), sum(event) FROM registry GROUP BY hospital, time".into(),
            input_rows: rows,
        },
        Case {
            // Many small groups (per patient cohort, per hospital-month): 10 rows a group at 1e7.
            name: "km_many_groups",
            query: format!(
                "SELECT patient_id % {groups} AS g, km_median(time, event) FROM registry GROUP BY patient_id % {groups}"
            ),
            floor: format!(
                "SELECT patient_id % {groups} AS g, time, count(*), sum(event) FROM registry GROUP BY patient_id % {groups}, time"
            ),
            input_rows: rows,
        },
        Case {
            name: "logrank_int",
            query: "SELECT logrank_test(time, event, hospital % 10) FROM registry".into(),
            floor: "SELECT hospital % 10 AS g, time, count(*), sum(event) FROM registry GROUP BY hospital % 10, time".into(),
            input_rows: rows,
        },
        Case {
            name: "logrank",
            query: "SELECT logrank_test(time, event, grp) FROM registry".into(),
            floor: "SELECT grp, time, count(*), sum(event) FROM registry GROUP BY grp, time".into(),
            input_rows: rows,
        },
        Case {
            // Group codes stored as a dictionary (Arrow's categorical column).
            name: "logrank_dict",
            query: "SELECT logrank_test(time, event, arrow_cast(grp, 'Dictionary(Int32, Utf8)')) FROM registry".into(),
            floor: "SELECT arrow_cast(grp, 'Dictionary(Int32, Utf8)') AS g, time, count(*), sum(event) FROM registry GROUP BY arrow_cast(grp, 'Dictionary(Int32, Utf8)'), time".into(),
            input_rows: rows,
        },
        Case {
            // One test per region: the test with GROUP BY.
            name: "logrank_by_region",
            query: "SELECT region, logrank_test(time, event, grp) FROM registry GROUP BY region".into(),
            floor: "SELECT region, grp, time, count(*), sum(event) FROM registry GROUP BY region, grp, time".into(),
            input_rows: rows,
        },
        Case {
            name: "logrank_gehan",
            query: "SELECT logrank_weighted_test(time, event, grp, 'gehan') FROM registry".into(),
            floor: "SELECT grp, time, count(*), sum(event) FROM registry GROUP BY grp, time".into(),
            input_rows: rows,
        },
        Case {
            name: "logrank_pairwise",
            query: "SELECT logrank_pairwise(time, event, grp) FROM registry".into(),
            floor: "SELECT grp, time, count(*), sum(event) FROM registry GROUP BY grp, time".into(),
            input_rows: rows,
        },
        Case {
            name: "cif_groups",
            query: "SELECT grp, cif_curve(time, event * (1 + patient_id % 2), 1) FROM registry GROUP BY grp".into(),
            floor: "SELECT grp, time, event * (1 + patient_id % 2) AS status, count(*) FROM registry GROUP BY grp, time, status".into(),
            input_rows: rows,
        },
        Case {
            name: "gray",
            query: "SELECT gray_test(time, event * (1 + patient_id % 2), 1, grp) FROM registry".into(),
            floor: "SELECT grp, time, event * (1 + patient_id % 2) AS status, count(*) FROM registry GROUP BY grp, time, status".into(),
            input_rows: rows,
        },
        Case {
            name: "logrank_strat",
            query: "SELECT logrank_strat_test(time, event, grp, stratum) FROM registry".into(),
            floor: "SELECT stratum, grp, time, count(*), sum(event) FROM registry GROUP BY stratum, grp, time".into(),
            input_rows: rows,
        },
        Case {
            name: "cox_1e6x6",
            query: format!(
                "SELECT cox_ph(time, event, x1, x2, x3, x4, x5, x6) FROM registry WHERE patient_id < {sample}"
            ),
            floor: format!(
                "SELECT time, event, x1, x2, x3, x4, x5, x6 FROM registry WHERE patient_id < {sample} ORDER BY time"
            ),
            input_rows: sample,
        },
        Case {
            // The issue's Cox 1e7 x 6 target at --rows 10000000: every row of the registry.
            name: "cox_all_x6",
            query: "SELECT cox_ph(time, event, x1, x2, x3, x4, x5, x6) FROM registry".into(),
            floor: "SELECT time, event, x1, x2, x3, x4, x5, x6 FROM registry ORDER BY time".into(),
            input_rows: rows,
        },
        Case {
            name: "survreg_1e6x6",
            query: format!(
                "SELECT survreg(time + 0.5, event, x1, x2, x3, x4, x5, x6) FROM registry WHERE patient_id < {sample}"
            ),
            floor: format!(
                "SELECT time, event, x1, x2, x3, x4, x5, x6 FROM registry WHERE patient_id < {sample} ORDER BY time"
            ),
            input_rows: sample,
        },
        Case {
            name: "finegray_1e6x6",
            query: format!(
                "SELECT finegray_ph(time, event * (1 + patient_id % 2), 1, x1, x2, x3, x4, x5, x6) \
                 FROM registry WHERE patient_id < {sample}"
            ),
            floor: format!(
                "SELECT time, event, x1, x2, x3, x4, x5, x6 FROM registry WHERE patient_id < {sample} ORDER BY time"
            ),
            input_rows: sample,
        },
    ]
}

fn mb(b: Option<u64>) -> String {
    b.map_or("-".into(), |b| format!("{:.0} MB", b as f64 / 1048576.0))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args();
    if !args.data.join("year=2024").exists() {
        eprintln!(
            "generating {} rows under {} ...",
            args.rows,
            args.data.display()
        );
        let t = Instant::now();
        survql_testkit::generator::write_registry(&args.data, args.rows, 20_240_679)?;
        eprintln!("generated in {:.1} s", t.elapsed().as_secs_f64());
    }
    let config = SessionConfig::new()
        .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get()));
    let mut ctx = SessionContext::new_with_config(config);
    datafusion_survival::register_all(&mut ctx)?;
    datafusion_survival::register_optimizer_rules(&ctx);
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![
            ("year".into(), DataType::Int32),
            ("region".into(), DataType::Utf8),
        ]);
    ctx.register_listing_table("registry", args.data.to_str().unwrap(), options, None, None)
        .await?;
    let has_cox = ctx.state().aggregate_functions().contains_key("cox_ph");

    println!(
        "survql benchmark: {} rows, {} partitions, best of {}\n",
        args.rows,
        ctx.copied_config().target_partitions(),
        args.repeat
    );
    println!("| case | survql | floor | ratio | survql rows/s | peak RSS survql | peak RSS floor | output rows (survql / floor) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for case in cases(args.rows) {
        if args
            .only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == case.name))
        {
            continue;
        }
        if case.name.starts_with("cox") && !has_cox {
            continue;
        }
        let q = measure(&ctx, &case.query, args.repeat).await?;
        let f = measure(&ctx, &case.floor, args.repeat).await?;
        println!(
            "| {} | {:.3} s | {:.3} s | {:.2}x | {:.2e} | {} | {} | {} / {} |",
            case.name,
            q.seconds,
            f.seconds,
            q.seconds / f.seconds,
            case.input_rows as f64 / q.seconds,
            mb(q.peak),
            mb(f.peak),
            q.output_rows,
            f.output_rows
        );
    }
    Ok(())
}

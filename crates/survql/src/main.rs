//! `survql`: survival analysis as SQL. A thin binary: argument parsing, table registration,
//! printing and plotting; every statistic comes from the `datafusion-survival` functions.

// Dependencies run one way: main -> repl -> commands -> {plot_command, app, output, script};
// app -> session -> {cluster -> worker_warnings, object_stores}.
mod app;
mod commands;
mod distributed;
mod object_stores;
mod output;
mod plot_command;
mod repl;
mod script;
mod session;
mod worker_warnings;

use std::io::{IsTerminal, Read};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};
use datafusion::common::Result;

use crate::app::App;
use crate::commands::{run_script, Flow};
use crate::output::{Format, MaxRows};
use crate::session::{ResourceLimits, Session};

/// Survival analysis as SQL: Kaplan-Meier, log-rank, Cox and contingency tests over
/// Parquet/CSV, with R survival's numbers.
///
/// Every FILE (.parquet, .csv, .tsv, .json/.ndjson, .arrow) is a table named after its stem; a
/// directory of Parquet files (Hive partitions such as year=2020/) is a table named after the
/// directory. demo.net_cohort, a synthetic cohort of 103 patients, is always there. Without
/// -c or -f, SQL is read from stdin when it is not a terminal, else the interactive shell
/// starts.
#[derive(Parser, Debug)]
#[command(name = "survql", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Files or directories to register as tables.
    #[arg(value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,

    /// Register a file or directory under a table name, NAME=PATH. Repeatable.
    #[arg(short = 't', long = "table", value_name = "NAME=PATH", action = ArgAction::Append)]
    tables: Vec<String>,

    /// CSV and TSV fields read as NULL besides empty ones, comma-separated. The default reads
    /// R's `NA` and SAS's and Stata's `.` as NULL, so that a numeric column written by R, SAS,
    /// Stata or SPSS with missing values is numeric; "" reads only empty fields as NULL.
    #[arg(long = "csv-null", value_name = "REGEX", default_value = session::DEFAULT_CSV_NULL)]
    csv_null: String,

    /// Run SQL (statements separated by ';'; backslash commands allowed). Repeatable.
    #[arg(short = 'c', long = "command", value_name = "SQL", action = ArgAction::Append)]
    commands: Vec<String>,

    /// A session setting before anything runs, KEY=VALUE, as `SET KEY = VALUE`: e.g.
    /// `--set survql.convention=sas` for SAS's conventions (also stata, spss; see
    /// docs/conventions.md). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", action = ArgAction::Append)]
    settings: Vec<String>,

    /// Run the statements of a file. Repeatable; -c and -f run in the order given.
    #[arg(short = 'f', long = "file", value_name = "FILE", action = ArgAction::Append)]
    files: Vec<PathBuf>,

    /// Startup file: its statements and commands run before anything else (e.g. CREATE
    /// EXTERNAL TABLE, SET, \pset). Repeatable. Without -r, the interactive shell runs
    /// ~/.survqlrc if it exists (scripts and -c do not, so they give the same result
    /// everywhere).
    #[arg(short = 'r', long = "rc", value_name = "FILE", action = ArgAction::Append)]
    rc: Vec<PathBuf>,

    /// Output format of query results.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,

    /// Write query results (or, with --plot, the figure) to this file.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    /// No banner or notes, only results (errors and warnings still go to stderr).
    #[arg(short, long)]
    quiet: bool,

    /// Most rows the table format prints; the rest are counted ("inf": every row). Default:
    /// 40 in the interactive shell (as datafusion-cli), every row otherwise. CSV, TSV, JSON,
    /// NDJSON and markdown output is never cut.
    #[arg(long, value_name = "N|inf", value_parser = parse_max_rows)]
    maxrows: Option<MaxRows>,

    /// Partitions a query is split into (DataFusion's target_partitions). Default: the
    /// number of CPU cores. Results are the same for any number.
    #[arg(long, value_name = "N")]
    partitions: Option<NonZeroUsize>,

    /// Threads that run queries. Default: the number of CPU cores.
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,

    /// Rows per batch (DataFusion's batch_size; default 8192).
    #[arg(long, value_name = "N")]
    batch_size: Option<NonZeroUsize>,

    /// Plot the result of -c instead of printing it: `km` takes (group, time, event) rows,
    /// `cif` (group, time, status), `curve` (label, curve) rows of km_curve/cox_curve/cif_curve,
    /// `forest` a model; plot options may follow the kind (`--plot "cif --cause 2"`).
    #[arg(long, value_name = "KIND")]
    plot: Option<String>,

    /// Draw the 95% confidence band (with --plot).
    #[arg(long)]
    ci: bool,

    /// Figure title (with --plot).
    #[arg(long)]
    title: Option<String>,

    /// Folder for figures written by `\plot ... -o NAME` with a relative NAME.
    #[arg(long, value_name = "DIR", default_value = "figures")]
    figures: PathBuf,

    /// Memory queries may use, e.g. 4G, 512M, 50% (of this machine's memory) or "none". A
    /// query that needs more, and cannot spill to disk, fails with "Resources exhausted".
    /// Default: 80% of this machine's memory.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_memory_limit)]
    memory_limit: Option<MemoryLimit>,

    /// Temporary disk space for queries that spill (sorts, large GROUP BY), e.g. 20G; 0
    /// disables spilling. Default: DataFusion's (100G).
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_size)]
    disk_limit: Option<u64>,

    /// Most groups a log-rank test compares (its cost grows with the square).
    #[arg(long, global = true, value_name = "N", default_value_t = datafusion_survival::Limits::default().max_groups)]
    max_groups: usize,

    /// Most cells (rows × columns) of a chi-square or Fisher table.
    #[arg(long, global = true, value_name = "N", default_value_t = datafusion_survival::Limits::default().max_table_cells)]
    max_table_cells: usize,

    /// Most levels of a text covariate in a Cox model (one coefficient each).
    #[arg(long, global = true, value_name = "N", default_value_t = datafusion_survival::Limits::default().max_factor_levels)]
    max_factor_levels: usize,

    /// Run queries across these survql workers: URLs (http://HOST:PORT), comma-separated.
    /// Tables must be files every worker can read at the same path. See docs/distributed.md.
    #[arg(long, value_name = "URL[,URL...]")]
    workers: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Serve survql's functions to the coordinators of a cluster (`survql --workers URL,...`).
    /// Prints the address it listens on, then runs until stopped (Ctrl-C, SIGTERM). Give it
    /// the same --memory-limit / --max-* settings as the coordinator.
    Worker {
        /// Address to listen on, HOST:PORT; port 0 picks a free port.
        #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:50051")]
        listen: String,

        /// Report this version instead of this build's (tests the coordinator's check).
        #[arg(long, hide = true)]
        report_version: Option<String>,
    },
}

/// `--memory-limit`: bytes, or no limit.
#[derive(Debug, Clone, Copy)]
enum MemoryLimit {
    Bytes(usize),
    Unbounded,
}

fn parse_max_rows(text: &str) -> std::result::Result<MaxRows, String> {
    MaxRows::parse(text).ok_or_else(|| format!("'{text}' is not a number of rows or 'inf'"))
}

/// Parses `4G`, `512M`, `1.5GB`, `100000` (bytes): units K, M, G, T of 1024.
fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim().to_ascii_uppercase();
    let t = t.strip_suffix('B').unwrap_or(&t);
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let scale: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' in '{text}' (use K, M, G or T)"
            ))
        }
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && v * (scale as f64) < 1.8e19 => {
            Ok((v * scale as f64) as u64)
        }
        _ => Err(format!(
            "'{text}' is not a size such as 4G, 512M or 1000000"
        )),
    }
}

/// Parses a `--memory-limit`: a size, a percentage of this machine's memory, or "none".
fn parse_memory_limit(text: &str) -> std::result::Result<MemoryLimit, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("unlimited") {
        return Ok(MemoryLimit::Unbounded);
    }
    let bytes = match t.strip_suffix('%') {
        Some(p) => {
            let p: f64 = p
                .trim()
                .parse()
                .ok()
                .filter(|p: &f64| *p > 0.0 && *p <= 100.0)
                .ok_or_else(|| format!("'{text}' is not a percentage in (0, 100]"))?;
            let total = physical_memory().ok_or_else(|| {
                "this machine's memory size is unknown: give the limit in bytes".to_owned()
            })?;
            (total as f64 * p / 100.0) as u64
        }
        None => parse_size(t)?,
    };
    if bytes < (16 << 20) {
        return Err(format!(
            "--memory-limit {text} is below the 16M a query needs at least"
        ));
    }
    Ok(MemoryLimit::Bytes(
        usize::try_from(bytes).unwrap_or(usize::MAX),
    ))
}

/// Total physical memory in bytes (Linux: /proc/meminfo).
fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl Cli {
    /// The session's memory and disk limits: by default 80% of physical memory.
    fn resource_limits(&self) -> ResourceLimits {
        let memory = match self.memory_limit {
            Some(MemoryLimit::Bytes(b)) => Some(b),
            Some(MemoryLimit::Unbounded) => None,
            None => physical_memory().map(|m| usize::try_from(m / 5 * 4).unwrap_or(usize::MAX)),
        };
        ResourceLimits {
            memory,
            disk: self.disk_limit,
        }
    }
}

/// What to run, in command-line order.
enum Input {
    Sql(String),
    File(PathBuf),
}

fn inputs_in_order(matches: &clap::ArgMatches, cli: &Cli) -> Vec<Input> {
    let mut items: Vec<(usize, Input)> = vec![];
    if let Some(idx) = matches.indices_of("commands") {
        for (i, c) in idx.zip(&cli.commands) {
            items.push((i, Input::Sql(c.clone())));
        }
    }
    if let Some(idx) = matches.indices_of("files") {
        for (i, f) in idx.zip(&cli.files) {
            items.push((i, Input::File(f.clone())));
        }
    }
    items.sort_by_key(|(i, _)| *i);
    items.into_iter().map(|(_, x)| x).collect()
}

async fn run(cli: Cli, inputs: Vec<Input>) -> Result<()> {
    datafusion_survival::set_limits(datafusion_survival::Limits {
        max_groups: cli.max_groups,
        max_table_cells: cli.max_table_cells,
        max_factor_levels: cli.max_factor_levels,
    });
    if let Some(Command::Worker {
        listen,
        report_version,
    }) = &cli.command
    {
        let runtime = session::runtime_env(cli.resource_limits())?;
        return distributed::run_worker(listen, runtime, report_version.clone()).await;
    }
    let mut session = Session::with_limits(cli.resource_limits())?;
    session.csv_null = session::csv_null_markers(&cli.csv_null);
    session.register_paths(&cli.paths).await?;
    session.register_named(&cli.tables).await?;
    let mut settings = vec![];
    if let Some(n) = cli.partitions {
        settings.push(format!("datafusion.execution.target_partitions={n}"));
    }
    if let Some(n) = cli.batch_size {
        settings.push(format!("datafusion.execution.batch_size={n}"));
    }
    settings.extend(cli.settings.iter().cloned());
    session.apply_settings(&settings)?;
    if let Some(workers) = &cli.workers {
        session
            .connect_workers(distributed::parse_worker_urls(workers)?)
            .await?;
    }
    let mut app = App::new(session, cli.format, cli.figures.clone());
    app.quiet = cli.quiet;
    let interactive = cli.plot.is_none() && inputs.is_empty() && std::io::stdin().is_terminal();
    app.max_rows = match cli.maxrows {
        Some(m) => m,
        None if interactive => MaxRows::SHELL_DEFAULT,
        None => MaxRows::Unlimited,
    };
    let rc = if !cli.rc.is_empty() {
        cli.rc.clone()
    } else if interactive {
        dirs::home_dir()
            .map(|h| h.join(".survqlrc"))
            .filter(|p| p.is_file())
            .into_iter()
            .collect()
    } else {
        vec![]
    };
    for file in &rc {
        if run_script(&mut app, &read_file(file)?).await? == Flow::Quit {
            return Ok(());
        }
    }

    if let Some(spec) = &cli.plot {
        // `survql --plot km -o fig.svg -c "SELECT grp, time, event FROM ..."`: the options
        // arrive parsed; the query is passed on as written.
        let Some(Input::Sql(sql)) = inputs.first() else {
            return datafusion::common::exec_err!("--plot needs the query in -c");
        };
        let (kind, mut opts) = survql_plot::parse_plot_spec(spec)?;
        // Relative -o paths are relative to the working directory here, not to --figures.
        if let Some(o) = &cli.output {
            opts.output = Some(o.clone());
        }
        opts.ci |= cli.ci;
        if let Some(t) = &cli.title {
            opts.title = Some(t.clone());
        }
        let query = sql.trim().trim_end_matches(';');
        let r = plot_command::run_plot(&mut app, &kind, opts, query).await;
        app.flush_warnings();
        if let Some(path) = r? {
            if !cli.quiet {
                eprintln!("wrote {}", path.display());
            }
        }
        return Ok(());
    }

    if let Some(o) = &cli.output {
        app.set_output(Some(o))?;
    }
    if inputs.is_empty() {
        if interactive {
            return repl::run(&mut app).await;
        }
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        run_script(&mut app, &text).await?;
        return app.flush_output();
    }
    for input in inputs {
        let text = match input {
            Input::Sql(s) => s,
            Input::File(p) => read_file(&p)?,
        };
        if run_script(&mut app, &text).await? == Flow::Quit {
            break;
        }
    }
    app.flush_output()
}

fn read_file(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        datafusion::common::DataFusionError::Execution(format!(
            "cannot read {}: {e}",
            path.display()
        ))
    })
}

/// jemalloc: freed memory is reused instead of returned to the system and faulted in afresh
/// by the next large allocation, as glibc's allocator does for every block above 32 MiB.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read before `main`: `thp:always` backs its memory with transparent
/// huge pages where the system allows them (`madvise`, the common default), so a gigabyte
/// of model data is 500 page faults, not 250,000. `_RJEM_MALLOC_CONF` overrides at run time.
#[export_name = "_rjem_malloc_conf"]
pub static JEMALLOC_OPTIONS: &[u8; 31] = b"thp:always,metadata_thp:always\0";

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let inputs = inputs_in_order(&matches, &cli);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.threads {
        builder.worker_threads(n.get());
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, inputs)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

//! [`App`]: the state of one survql run (session, output destination, printing settings) and
//! query execution with its progress spinner and Ctrl-C cancellation. Knows nothing of
//! backslash commands or plots (`commands` and `plot_command` build on it).

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DataFusionError, Result};
use datafusion::physical_plan::{execute_stream, ExecutionPlan};
use futures::StreamExt;

use crate::output::{Format, MaxRows};
use crate::session::Session;

/// The state of one survql run: session, output settings, figure folder.
pub struct App {
    pub session: Session,
    pub format: Format,
    /// How many rows the `table` format prints (`--maxrows`, `\pset maxrows`).
    pub max_rows: MaxRows,
    pub timing: bool,
    pub quiet: bool,
    /// Interactive use: errors do not stop, Ctrl-C cancels the running query.
    pub interactive: bool,
    /// Where query results go (`\o FILE`, `-o FILE`, else stdout).
    pub output: Output,
    /// Relative `\plot ... -o FILE` paths resolve against this folder.
    pub figures_dir: PathBuf,
}

impl App {
    pub fn new(session: Session, format: Format, figures_dir: PathBuf) -> App {
        App {
            session,
            format,
            max_rows: MaxRows::Unlimited,
            timing: false,
            quiet: false,
            interactive: false,
            output: Output::default(),
            figures_dir,
        }
    }

    /// Sends query results to `path` from now on (`None`: back to stdout).
    pub fn set_output(&mut self, path: Option<&Path>) -> Result<()> {
        self.output.set(path)
    }

    /// Writes text to the current output.
    pub fn emit(&mut self, text: &str) -> Result<()> {
        self.output.write(text)
    }

    /// Writes what has been emitted to a file through to it (end of a statement).
    pub fn flush_output(&mut self) -> Result<()> {
        self.output.flush()
    }

    /// A note on stderr, unless `--quiet`.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// Prints what the survival functions reported during the last statement.
    pub fn flush_warnings(&self) {
        for w in self.session.warnings.drain() {
            eprintln!("warning: {w}");
        }
    }

    /// Plans and runs `sql`, collecting its result.
    pub async fn execute(&self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let mut batches = vec![];
        let schema = execute_each(&self.session, self.run_mode(), sql, |batch| {
            batches.push(batch);
            Ok(())
        })
        .await?;
        Ok((schema, batches))
    }

    pub fn run_mode(&self) -> RunMode {
        RunMode {
            interactive: self.interactive,
            quiet: self.quiet,
        }
    }
}

/// Where query results go: stdout, or a file (`-o FILE`, `\o FILE`).
#[derive(Default)]
pub struct Output {
    file: Option<(PathBuf, BufWriter<File>)>,
}

impl Output {
    /// Sends what follows to `path` (`None`: stdout).
    pub fn set(&mut self, path: Option<&Path>) -> Result<()> {
        self.flush()?;
        self.file = match path {
            None => None,
            Some(p) => Some((p.to_path_buf(), BufWriter::new(File::create(p)?))),
        };
        Ok(())
    }

    pub fn write(&mut self, text: &str) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        match &mut self.file {
            Some((_, f)) => f.write_all(text.as_bytes())?,
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
        if let Some((_, f)) = &mut self.file {
            f.flush()?;
        }
        Ok(())
    }
}

/// How a query runs: interactive (Ctrl-C cancels it), quiet (no spinner).
#[derive(Debug, Clone, Copy)]
pub struct RunMode {
    pub interactive: bool,
    pub quiet: bool,
}

/// Plans and runs `sql` in `session`, handing each result batch to `on_batch` as it arrives
/// (so a large result need not be held in memory), with a progress spinner on a terminal and
/// Ctrl-C cancelling the query when interactive. Returns the result's schema.
pub async fn execute_each(
    session: &Session,
    mode: RunMode,
    sql: &str,
    mut on_batch: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<SchemaRef> {
    let ctx = &session.ctx;
    let df = ctx.sql(sql).await?;
    if session.cluster.is_some() {
        if let Some(batch) = crate::distributed::explain_distributed(ctx, &df).await? {
            let schema = batch.schema();
            on_batch(batch)?;
            return Ok(schema);
        }
    }
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let plan = df.create_physical_plan().await?;
    if session.cluster.is_some()
        && !crate::distributed::is_distributed(&plan)
        && crate::distributed::reads_memory_table(&plan)
    {
        // Said even with --quiet: the user asked for a cluster and did not get one.
        eprintln!(
            "note: this query ran in this process, not on the workers: it reads an \
                 in-memory table (such as demo.net_cohort), which workers cannot read. \
                 Register files at a path every worker can read (docs/distributed.md)."
        );
    }
    let show_progress = std::io::stderr().is_terminal() && !mode.quiet;
    let progress = async {
        if !show_progress {
            return std::future::pending::<()>().await;
        }
        // Only long queries get a spinner.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let _guard = ClearOnDrop(bar.clone());
        loop {
            let rows = rows_read(plan.as_ref());
            bar.set_message(format!("{} rows read", group_digits(rows)));
            bar.tick();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let cancel = async {
        if mode.interactive {
            let _ = tokio::signal::ctrl_c().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let run = async {
        let mut stream = execute_stream(Arc::clone(&plan), ctx.task_ctx())?;
        while let Some(batch) = stream.next().await {
            on_batch(batch?)?;
        }
        Ok(())
    };
    let run = async {
        let result: Result<()> = run.await;
        let Some(cluster) = &session.cluster else {
            return result;
        };
        cluster.take_worker_warnings(&session.warnings).await;
        match result {
            Err(e) => Err(crate::distributed::explain_failure(&cluster.urls, e).await),
            ok => ok,
        }
    };
    tokio::select! {
        r = run => r.map(|()| schema),
        _ = progress => unreachable!("the progress loop never ends"),
        _ = cancel => Err(DataFusionError::Execution("query cancelled (Ctrl-C)".into())),
    }
}

/// Sum of `output_rows` of the plan's leaves: the rows read so far.
fn rows_read(plan: &dyn ExecutionPlan) -> usize {
    let children = plan.children();
    if children.is_empty() {
        return plan.metrics().and_then(|m| m.output_rows()).unwrap_or(0);
    }
    children.iter().map(|c| rows_read(c.as_ref())).sum()
}

fn group_digits(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct ClearOnDrop(indicatif::ProgressBar);
impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

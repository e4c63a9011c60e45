//! Running statements and backslash commands, and printing their results.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{exec_err, DataFusionError, Result};
use datafusion::physical_plan::{collect, ExecutionPlan};

use crate::output::{Format, Rows};
use crate::plot_command;
use crate::script::{split, Item};
use crate::session::Session;

/// What a backslash command asks the caller to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// The state of one survql run: session, output settings, figure folder.
pub struct App {
    pub session: Session,
    pub format: Format,
    pub timing: bool,
    pub quiet: bool,
    /// Interactive use: errors do not stop, Ctrl-C cancels the running query.
    pub interactive: bool,
    /// Where query results go (`\o FILE`); stdout when `None`.
    output: Option<(PathBuf, File)>,
    /// Relative `\plot ... -o FILE` paths resolve against this folder.
    pub figures_dir: PathBuf,
}

impl App {
    pub fn new(session: Session, format: Format, figures_dir: PathBuf) -> App {
        App {
            session,
            format,
            timing: false,
            quiet: false,
            interactive: false,
            output: None,
            figures_dir,
        }
    }

    /// Sends query results to `path` from now on (`None`: back to stdout).
    pub fn set_output(&mut self, path: Option<&Path>) -> Result<()> {
        self.output = match path {
            None => None,
            Some(p) => Some((p.to_path_buf(), File::create(p)?)),
        };
        Ok(())
    }

    /// Writes text to the current output.
    pub fn emit(&mut self, text: &str) -> Result<()> {
        match &mut self.output {
            Some((_, f)) => f.write_all(text.as_bytes())?,
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
        }
        Ok(())
    }

    fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// Runs a whole script (the text of `-f`, `-c` or stdin). Stops at the first error
    /// unless interactive.
    pub async fn run_script(&mut self, text: &str) -> Result<Flow> {
        let (items, _) = split(text);
        for item in items {
            let r = self.run_item(&item).await;
            self.flush_warnings();
            match r {
                Ok(Flow::Quit) => return Ok(Flow::Quit),
                Ok(Flow::Continue) => {}
                Err(e) if self.interactive => eprintln!("Error: {e}"),
                Err(e) => return Err(e),
            }
        }
        Ok(Flow::Continue)
    }

    /// Prints what the survival functions reported during the last statement.
    pub fn flush_warnings(&self) {
        for w in self.session.warnings.drain() {
            eprintln!("warning: {w}");
        }
    }

    pub async fn run_item(&mut self, item: &Item) -> Result<Flow> {
        match item {
            Item::Sql(sql) => {
                self.run_sql(sql).await?;
                Ok(Flow::Continue)
            }
            Item::Command(cmd) => self.run_command(cmd).await,
        }
    }

    /// Executes one SQL statement and prints its result.
    pub async fn run_sql(&mut self, sql: &str) -> Result<()> {
        let start = Instant::now();
        let (schema, batches) = self.execute(sql).await?;
        if !schema.fields().is_empty() {
            let rows = Rows::from_batches(&schema, &batches);
            let text = rows.render(self.format);
            self.emit(&text)?;
        }
        if self.timing {
            eprintln!("Time: {:.3} s", start.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// Plans and runs `sql`, with a progress spinner on a terminal and Ctrl-C cancelling the
    /// query when interactive.
    pub async fn execute(&self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let ctx = &self.session.ctx;
        let df = ctx.sql(sql).await?;
        if self.session.cluster.is_some() {
            if let Some(batch) = crate::cluster::explain_distributed(ctx, &df).await? {
                return Ok((batch.schema(), vec![batch]));
            }
        }
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let plan = df.create_physical_plan().await?;
        if self.session.cluster.is_some()
            && !crate::cluster::is_distributed(&plan)
            && crate::cluster::reads_memory_table(&plan)
        {
            // Said even with --quiet: the user asked for a cluster and did not get one.
            eprintln!(
                "note: this query ran in this process, not on the workers: it reads an \
                 in-memory table (such as demo.net_cohort), which workers cannot read. \
                 Register files at a path every worker can read (docs/distributed.md)."
            );
        }
        let task = ctx.task_ctx();
        let run = collect(Arc::clone(&plan), task);
        let show_progress = std::io::stderr().is_terminal() && !self.quiet;
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
            if self.interactive {
                let _ = tokio::signal::ctrl_c().await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let run = async {
            let result = run.await;
            let Some(cluster) = &self.session.cluster else {
                return result;
            };
            cluster.take_worker_warnings(&self.session.warnings).await;
            match result {
                Err(e) => Err(crate::cluster::explain_failure(&cluster.urls, e).await),
                ok => ok,
            }
        };
        tokio::select! {
            r = run => Ok((schema, r?)),
            _ = progress => unreachable!("the progress loop never ends"),
            _ = cancel => Err(DataFusionError::Execution("query cancelled (Ctrl-C)".into())),
        }
    }

    /// Runs a backslash command (text after the `\`).
    pub async fn run_command(&mut self, cmd: &str) -> Result<Flow> {
        let cmd = cmd.trim().trim_end_matches(';').trim();
        let (name, arg) = match cmd.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (cmd, ""),
        };
        match name {
            "q" | "quit" => return Ok(Flow::Quit),
            "?" | "help" => self.emit(HELP)?,
            "d" if arg.is_empty() => self.list_tables().await?,
            "d" => self.describe(arg).await?,
            "df" | "df+" => self.list_functions(name == "df+")?,
            "h" => self.help_function(arg)?,
            "timing" => {
                self.timing = match arg {
                    "on" => true,
                    "off" => false,
                    _ => !self.timing,
                };
                self.note(&format!(
                    "Timing is {}.",
                    if self.timing { "on" } else { "off" }
                ));
            }
            "format" | "pset" => match Format::parse(arg) {
                Some(f) => {
                    self.format = f;
                    self.note(&format!("Output format is {arg}."));
                }
                None => {
                    return exec_err!(
                        "\\format: unknown format '{arg}' (table, csv, tsv, json, ndjson, markdown)"
                    )
                }
            },
            "i" | "include" => {
                if arg.is_empty() {
                    return exec_err!("\\i: missing file name");
                }
                let text = std::fs::read_to_string(arg)
                    .map_err(|e| DataFusionError::Execution(format!("\\i {arg}: {e}")))?;
                return Box::pin(self.run_script(&text)).await;
            }
            "o" | "out" => {
                if arg.is_empty() {
                    self.set_output(None)?;
                } else {
                    self.set_output(Some(Path::new(arg)))?;
                }
            }
            "default" => {
                // \default NAME SOURCE: a view NAME over SOURCE, unless NAME exists already.
                let mut parts = arg.split_whitespace();
                let (Some(name), Some(source), None) = (parts.next(), parts.next(), parts.next())
                else {
                    return exec_err!("\\default: usage: \\default NAME SOURCE_TABLE");
                };
                if !self.session.ctx.table_exist(name)? {
                    self.session
                        .ctx
                        .sql(&format!("CREATE VIEW {name} AS SELECT * FROM {source}"))
                        .await?;
                    self.note(&format!("{name}: using {source}"));
                }
            }
            "echo" => {
                let mut text = arg.to_owned();
                text.push('\n');
                self.emit(&text)?;
            }
            "workers" => self.workers_command(arg).await?,
            "plot" => {
                let written = plot_command::run_plot_command(self, arg).await?;
                if let Some(path) = written {
                    self.note(&format!("wrote {}", path.display()));
                }
            }
            other => return exec_err!("unknown command \\{other}; \\? lists the commands"),
        }
        Ok(Flow::Continue)
    }

    /// `\workers`: show the workers; `\workers URL[,URL...]`: run queries across them;
    /// `\workers off`: run in this process again.
    async fn workers_command(&mut self, arg: &str) -> Result<()> {
        match arg {
            "" => {
                let text = match &self.session.cluster {
                    None => {
                        "Queries run in this process (\\workers URL[,URL...] to use a cluster).\n"
                            .to_owned()
                    }
                    Some(cluster) => {
                        let urls: Vec<String> =
                            cluster.urls.iter().map(|u| u.to_string()).collect();
                        format!(
                            "Queries run across {} worker(s): {}\n",
                            urls.len(),
                            urls.join(", ")
                        )
                    }
                };
                self.emit(&text)?;
            }
            "off" | "local" => {
                self.session.disconnect_workers();
                self.note("Queries run in this process.");
            }
            urls => {
                let urls = crate::cluster::parse_worker_urls(urls)?;
                let n = urls.len();
                self.session.connect_workers(urls).await?;
                self.note(&format!("Queries run across {n} worker(s)."));
            }
        }
        Ok(())
    }

    async fn list_tables(&mut self) -> Result<()> {
        self.run_sql(
            "SELECT table_schema AS schema, table_name AS name, table_type AS type \
             FROM information_schema.tables \
             WHERE table_schema <> 'information_schema' ORDER BY 1, 2",
        )
        .await
    }

    async fn describe(&mut self, name: &str) -> Result<()> {
        let (schema, table) = match name.split_once('.') {
            Some((s, t)) => (s.to_owned(), t.to_owned()),
            None => ("public".to_owned(), name.to_owned()),
        };
        let sql = format!(
            "SELECT column_name AS column, data_type AS type, is_nullable AS nullable \
             FROM information_schema.columns WHERE table_schema = '{}' AND table_name = '{}' \
             ORDER BY ordinal_position",
            schema.replace('\'', "''"),
            table.replace('\'', "''")
        );
        let (s, batches) = self.execute(&sql).await?;
        if batches.iter().map(RecordBatch::num_rows).sum::<usize>() == 0 {
            return exec_err!("\\d: no table named '{name}'");
        }
        let text = Rows::from_batches(&s, &batches).render(self.format);
        self.emit(&text)
    }

    fn list_functions(&mut self, all: bool) -> Result<()> {
        let mut out = String::new();
        // The aggregates, then surv(...), the response they take.
        let docs: Vec<datafusion::logical_expr::Documentation> =
            datafusion_survival::all_functions()
                .iter()
                .filter_map(|f| f.documentation().cloned())
                .chain(
                    datafusion_survival::scalar_functions()
                        .iter()
                        .filter_map(|f| f.documentation().cloned()),
                )
                .collect();
        let width = docs
            .iter()
            .map(|d| d.syntax_example.len())
            .max()
            .unwrap_or(0);
        out.push_str("Survival functions (\\h NAME for details):\n");
        for d in &docs {
            {
                out.push_str(&format!(
                    "  {:width$}  {}\n",
                    d.syntax_example,
                    one_line(&d.description)
                ));
            }
        }
        if all {
            out.push_str("\nAll functions:\n");
            for name in self.session.all_function_names() {
                out.push_str(&format!("  {name}\n"));
            }
        }
        self.emit(&out)
    }

    fn help_function(&mut self, name: &str) -> Result<()> {
        if name.is_empty() {
            return self.emit(HELP);
        }
        if matches!(name.to_lowercase().as_str(), "convention" | "conventions") {
            return self.emit(datafusion_survival::CONVENTIONS_HELP);
        }
        let state = self.session.ctx.state();
        let doc = state
            .aggregate_functions()
            .get(&name.to_lowercase())
            .and_then(|f| f.documentation().cloned())
            .or_else(|| {
                state
                    .scalar_functions()
                    .get(&name.to_lowercase())
                    .and_then(|f| f.documentation().cloned())
            });
        let Some(doc) = doc else {
            return exec_err!("\\h: no documentation for function '{name}'");
        };
        let mut out = format!("{}\n\n{}\n", doc.syntax_example, doc.description);
        if let Some(args) = &doc.arguments {
            out.push_str("\nArguments:\n");
            for (a, d) in args {
                out.push_str(&format!("  {a:12} {d}\n"));
            }
        }
        if let Some(ex) = &doc.sql_example {
            out.push_str("\nExample:\n");
            for line in ex.lines().filter(|l| !l.starts_with("```")) {
                out.push_str(&format!("  {line}\n"));
            }
        }
        self.emit(&out)
    }
}

/// The first clause of a description, at most 72 characters.
fn one_line(description: &str) -> String {
    let cut = [", as R's", ": ", ". ", " ("]
        .iter()
        .filter_map(|p| description.find(p))
        .min()
        .unwrap_or(description.len());
    let mut s = description[..cut].trim_end_matches('.').to_owned();
    if s.chars().count() > 72 {
        s = s.chars().take(69).collect::<String>() + "...";
    }
    s
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

pub const HELP: &str = r"survql commands:
  \?                 this help
  \q                 quit (Ctrl-D also quits)
  \d                 list tables
  \d NAME            columns of a table (e.g. \d demo.net_cohort)
  \df                survival functions with signatures and descriptions (\df+ adds all others)
  \h FUNCTION        full documentation and an example of a function
  \timing [on|off]   print the time each statement takes
  \format FMT        table, csv, tsv, json, ndjson or markdown
  \i FILE            run the statements of a file
  \o [FILE]          send query results to FILE (no FILE: back to the screen)
  \echo TEXT         print TEXT
  \default NAME SRC  create view NAME over table SRC unless NAME exists (script defaults)
  \workers [URLS|off] run queries across survql workers (URL[,URL...]), or in this
                     process again (off); no argument shows where queries run
  \plot km [OPTIONS] SELECT <group>, <time>, <event> FROM ... ;
                     Kaplan-Meier curves per group: in the terminal, or with -o FILE.svg/.png
                     a figure with a number-at-risk table and the log-rank p-value.
                     Options: -o FILE, --ci, --title TEXT, --xlab TEXT, --ylab TEXT,
                     --break N (risk-table tick spacing; at most 60 ticks), --xmax N, --width PX, --height PX (200-6000),
                     --test logrank|gehan|tarone-ware|peto|fh(p,q) (the test whose p the figure shows)
  \plot cif [OPTIONS] SELECT [<group>,] <time>, <status> FROM ... ;
                     cumulative incidence (status 0 = censored, k = cause k) of --cause K
                     (default 1) per group with Gray's test p-value, or with --stacked the
                     causes of one sample stacked; the same options as \plot km but --test
  \plot curve [OPTIONS] SELECT [<label>,] <curve> FROM ... ;
                     curves the query computed, one row each: cox_curve (a Cox model's
                     curve for a covariate profile), km_curve or cif_curve, e.g. per group
                     with GROUP BY (only the curves leave the query); --ci draws their
                     bands, the number-at-risk table comes with km_curve's n_risk
  \plot forest [-o FILE] [--title T] [--width PX] [--height PX] SELECT <model> FROM ... ;
                     a forest plot of a cox_ph*/finegray_ph (hazard ratios) or survreg (time
                     ratios) result: each term's ratio with its 95% CI and p-value
SET survql.convention = 'sas' | 'stata' | 'spss' | 'r';
                     the numbers of that package (limits, median rule, Cox ties; see
                     docs/conventions.md, \h convention); --set survql.convention=sas
SQL statements end with ';'. Ctrl-C cancels a running query. demo.net_cohort is always there.
";

/// Width of the terminal on stdout, if it is one.
pub fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    }
    let mut t = comfy_table::Table::new();
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    t.width()
        .or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()))
}

//! Running scripts: SQL statements (results printed as they arrive) and the shell's backslash
//! commands (`\d`, `\h`, `\pset`, `\plot`, ...). Builds on [`App`]; used by `main` and `repl`.

use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::common::{exec_err, DataFusionError, Result};
use std::time::Instant;

use crate::app::{execute_each, App};
use crate::output::{Format, MaxRows, ResultWriter, Rows};
use crate::plot_command;
use crate::script::{split, Item};

/// What a backslash command asks the caller to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// Runs a whole script (the text of `-f`, `-c`, `-r` or stdin, or a shell line). Stops at
/// the first error unless interactive.
pub async fn run_script(app: &mut App, text: &str) -> Result<Flow> {
    let (items, _) = split(text);
    for item in items {
        let r = run_item(app, &item).await;
        app.flush_warnings();
        let r = r.and_then(|flow| app.flush_output().map(|()| flow));
        match r {
            Ok(Flow::Quit) => return Ok(Flow::Quit),
            Ok(Flow::Continue) => {}
            Err(e) if app.interactive => eprintln!("Error: {e}"),
            Err(e) => return Err(e),
        }
    }
    Ok(Flow::Continue)
}

async fn run_item(app: &mut App, item: &Item) -> Result<Flow> {
    match item {
        Item::Sql(sql) => {
            run_sql(app, sql).await?;
            Ok(Flow::Continue)
        }
        Item::Command(cmd) => run_command(app, cmd).await,
    }
}

/// Executes one SQL statement and prints its result as it arrives: CSV/JSON batch by batch,
/// a table (at most `app.max_rows` rows) at the end.
pub async fn run_sql(app: &mut App, sql: &str) -> Result<()> {
    let start = Instant::now();
    let (format, max_rows) = (app.format, app.max_rows);
    let mode = app.run_mode();
    let mut writer: Option<ResultWriter> = None;
    let output = &mut app.output;
    let schema = execute_each(&app.session, mode, sql, |batch| {
        let w = writer.get_or_insert_with(|| ResultWriter::new(format, max_rows, batch.schema()));
        output.write(&w.push(&batch))
    })
    .await?;
    if !schema.fields().is_empty() {
        let writer = writer.unwrap_or_else(|| ResultWriter::new(format, max_rows, schema));
        writer.finish_into(&mut |text: &str| app.emit(text))?;
    }
    if app.timing {
        eprintln!("Time: {:.3} s", start.elapsed().as_secs_f64());
    }
    Ok(())
}

/// Runs a backslash command (text after the `\`).
pub async fn run_command(app: &mut App, cmd: &str) -> Result<Flow> {
    let cmd = cmd.trim().trim_end_matches(';').trim();
    let (name, arg) = match cmd.split_once(char::is_whitespace) {
        Some((n, a)) => (n, a.trim()),
        None => (cmd, ""),
    };
    match name {
        "q" | "quit" => return Ok(Flow::Quit),
        "?" | "help" => app.emit(HELP)?,
        "d" if arg.is_empty() => list_tables(app).await?,
        "d" => describe(app, arg).await?,
        "df" | "df+" => list_functions(app, name == "df+")?,
        "h" => help_function(app, arg)?,
        "timing" => {
            app.timing = match arg {
                "on" => true,
                "off" => false,
                _ => !app.timing,
            };
            app.note(&format!(
                "Timing is {}.",
                if app.timing { "on" } else { "off" }
            ));
        }
        "format" => set_format(app, arg)?,
        "pset" => {
            // psql's `\pset OPTION VALUE`; `\pset FORMAT` as `\format FORMAT`.
            let (option, value) = match arg.split_once(char::is_whitespace) {
                Some((o, v)) => (o, v.trim()),
                None => (arg, ""),
            };
            match option {
                "format" => set_format(app, value)?,
                "maxrows" => {
                    if !value.is_empty() {
                        app.max_rows = MaxRows::parse(value).ok_or_else(|| {
                            DataFusionError::Execution(format!(
                                "\\pset maxrows: expected a number of rows or 'inf', found '{value}'"
                            ))
                        })?;
                    }
                    app.note(&format!("Tables show at most {} rows.", app.max_rows));
                }
                "" => {
                    let text = format!(
                        "format {}\nmaxrows {}\n",
                        format_name(app.format),
                        app.max_rows
                    );
                    app.emit(&text)?;
                }
                _ => set_format(app, option)?,
            }
        }
        "i" | "include" => {
            if arg.is_empty() {
                return exec_err!("\\i: missing file name");
            }
            let text = std::fs::read_to_string(arg)
                .map_err(|e| DataFusionError::Execution(format!("\\i {arg}: {e}")))?;
            return Box::pin(run_script(app, &text)).await;
        }
        "o" | "out" => {
            if arg.is_empty() {
                app.set_output(None)?;
            } else {
                app.set_output(Some(Path::new(arg)))?;
            }
        }
        "default" => {
            // \default NAME SOURCE: a view NAME over SOURCE, unless NAME exists already.
            let mut parts = arg.split_whitespace();
            let (Some(name), Some(source), None) = (parts.next(), parts.next(), parts.next())
            else {
                return exec_err!("\\default: usage: \\default NAME SOURCE_TABLE");
            };
            if !app.session.ctx.table_exist(name)? {
                app.session
                    .ctx
                    .sql(&format!("CREATE VIEW {name} AS SELECT * FROM {source}"))
                    .await?;
                app.note(&format!("{name}: using {source}"));
            }
        }
        "echo" => {
            let mut text = arg.to_owned();
            text.push('\n');
            app.emit(&text)?;
        }
        "workers" => workers_command(app, arg).await?,
        "plot" => {
            let written = plot_command::run_plot_command(app, arg).await?;
            if let Some(path) = written {
                app.note(&format!("wrote {}", path.display()));
            }
        }
        other => return exec_err!("unknown command \\{other}; \\? lists the commands"),
    }
    Ok(Flow::Continue)
}

/// `\workers`: show the workers; `\workers URL[,URL...]`: run queries across them;
/// `\workers off`: run in this process again.
async fn workers_command(app: &mut App, arg: &str) -> Result<()> {
    match arg {
        "" => {
            let text = match &app.session.cluster {
                None => "Queries run in this process (\\workers URL[,URL...] to use a cluster).\n"
                    .to_owned(),
                Some(cluster) => {
                    let urls: Vec<String> = cluster.urls.iter().map(|u| u.to_string()).collect();
                    format!(
                        "Queries run across {} worker(s): {}\n",
                        urls.len(),
                        urls.join(", ")
                    )
                }
            };
            app.emit(&text)?;
        }
        "off" | "local" => {
            app.session.disconnect_workers();
            app.note("Queries run in this process.");
        }
        urls => {
            let urls = crate::distributed::parse_worker_urls(urls)?;
            let n = urls.len();
            app.session.connect_workers(urls).await?;
            app.note(&format!("Queries run across {n} worker(s)."));
        }
    }
    Ok(())
}

async fn list_tables(app: &mut App) -> Result<()> {
    run_sql(
        app,
        "SELECT table_schema AS schema, table_name AS name, table_type AS type \
         FROM information_schema.tables \
         WHERE table_schema <> 'information_schema' ORDER BY 1, 2",
    )
    .await
}

async fn describe(app: &mut App, name: &str) -> Result<()> {
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
    let (s, batches) = app.execute(&sql).await?;
    if batches.iter().map(RecordBatch::num_rows).sum::<usize>() == 0 {
        return exec_err!("\\d: no table named '{name}'");
    }
    let text = Rows::from_batches(&s, &batches).render(app.format);
    app.emit(&text)
}

fn list_functions(app: &mut App, all: bool) -> Result<()> {
    let mut out = String::new();
    // The aggregates, then the scalars (surv(...), the response they take, ...), then the
    // window functions.
    let docs: Vec<datafusion::logical_expr::Documentation> = datafusion_survival::all_functions()
        .iter()
        .filter_map(|f| f.documentation().cloned())
        .chain(
            datafusion_survival::scalar_functions()
                .iter()
                .filter_map(|f| f.documentation().cloned()),
        )
        .chain(
            datafusion_survival::window_functions()
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
        for name in app.session.all_function_names() {
            out.push_str(&format!("  {name}\n"));
        }
    }
    app.emit(&out)
}

fn help_function(app: &mut App, name: &str) -> Result<()> {
    if name.is_empty() {
        return app.emit(HELP);
    }
    if matches!(name.to_lowercase().as_str(), "convention" | "conventions") {
        return app.emit(datafusion_survival::CONVENTIONS_HELP);
    }
    let state = app.session.ctx.state();
    let doc = state
        .aggregate_functions()
        .get(&name.to_lowercase())
        .and_then(|f| f.documentation().cloned())
        .or_else(|| {
            state
                .scalar_functions()
                .get(&name.to_lowercase())
                .and_then(|f| f.documentation().cloned())
        })
        .or_else(|| {
            state
                .window_functions()
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
    app.emit(&out)
}

/// `\format FMT`.
fn set_format(app: &mut App, name: &str) -> Result<()> {
    match Format::parse(name) {
        Some(f) => {
            app.format = f;
            app.note(&format!("Output format is {}.", format_name(f)));
            Ok(())
        }
        None => {
            exec_err!("\\format: unknown format '{name}' (table, csv, tsv, json, ndjson, markdown)")
        }
    }
}

fn format_name(format: Format) -> String {
    use clap::ValueEnum;
    format
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
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

pub const HELP: &str = r"survql commands:
  \?                 this help
  \q                 quit (Ctrl-D also quits)
  \d                 list tables
  \d NAME            columns of a table (e.g. \d demo.net_cohort)
  \df                survival functions with signatures and descriptions (\df+ adds all others)
  \h FUNCTION        full documentation and an example of a function
  \timing [on|off]   print the time each statement takes
  \format FMT        table, csv, tsv, json, ndjson or markdown (also \pset format FMT)
  \pset maxrows N    most rows a table prints, the rest counted (inf: all; the shell's
                     default is 40, --maxrows); \pset alone shows the settings
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
                     bands, the number-at-risk table comes with km_curve's n_risk;
                     cox_adjusted_curve's list gives one curve per level of grp
  \plot residuals [OPTIONS] SELECT <x>, <residual> FROM ... ;
                     residuals (e.g. cox_residual(...) OVER (), martingale) against a
                     covariate with R's lowess smoother and the zero line: the functional form
  \plot zph [--transform km|rank|identity|log] [OPTIONS] SELECT <time>, <residual> FROM ... ;
                     scaled Schoenfeld residuals (cox_residual(..., 'type=scaledsch,
                     term=x') OVER (), NULL at censored rows) against cox.zph's transformed
                     time (default km), with lowess and the least-squares line cox_zph tests
  \plot calibration [OPTIONS] SELECT calibration(time, event, risk, t [, groups]) FROM ... ;
                     observed (Kaplan-Meier) against predicted risk per risk group, with the
                     groups' 95% limits and the diagonal of perfect calibration
  \plot forest [-o FILE] [--title T] [--width PX] [--height PX] SELECT <model> FROM ... ;
                     a forest plot of a cox_ph*/finegray_ph (hazard ratios) or survreg (time
                     ratios) result: each term's ratio with its 95% CI and p-value
SET survql.convention = 'sas' | 'stata' | 'spss' | 'r';
                     the numbers of that package (limits, median rule, Cox ties; see
                     docs/conventions.md, \h convention); --set survql.convention=sas
SQL statements end with ';'. Ctrl-C cancels a running query. demo.net_cohort is always there.
";

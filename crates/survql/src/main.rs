//! `survql`: survival analysis as SQL. A thin binary: argument parsing, table registration,
//! printing and plotting; every statistic comes from the `datafusion-survival` functions.

mod output;
mod plot;
mod repl;
mod runner;
mod script;
mod session;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};
use datafusion::common::Result;

use crate::output::Format;
use crate::runner::{App, Flow};
use crate::session::Session;

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
    /// Files or directories to register as tables.
    #[arg(value_name = "FILE|DIR")]
    paths: Vec<PathBuf>,

    /// Register a file or directory under a table name, NAME=PATH. Repeatable.
    #[arg(short = 't', long = "table", value_name = "NAME=PATH", action = ArgAction::Append)]
    tables: Vec<String>,

    /// Run SQL (statements separated by ';'; backslash commands allowed). Repeatable.
    #[arg(short = 'c', long = "command", value_name = "SQL", action = ArgAction::Append)]
    commands: Vec<String>,

    /// Run the statements of a file. Repeatable; -c and -f run in the order given.
    #[arg(short = 'f', long = "file", value_name = "FILE", action = ArgAction::Append)]
    files: Vec<PathBuf>,

    /// Output format of query results.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,

    /// Write query results (or, with --plot, the figure) to this file.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    /// No banner or notes, only results (errors and warnings still go to stderr).
    #[arg(short, long)]
    quiet: bool,

    /// Plot the result of -c instead of printing it: `km` takes (group, time, event) rows.
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
    let session = Session::new()?;
    session.register_paths(&cli.paths).await?;
    session.register_named(&cli.tables).await?;
    let mut app = App::new(session, cli.format, cli.figures.clone());
    app.quiet = cli.quiet;

    if let Some(kind) = &cli.plot {
        // `survql --plot km -o fig.svg -c "SELECT grp, time, event FROM ..."`
        let Some(Input::Sql(sql)) = inputs.first() else {
            return datafusion::common::exec_err!("--plot needs the query in -c");
        };
        let mut args = kind.to_string();
        if let Some(o) = &cli.output {
            args.push_str(&format!(" -o \"{}\"", o.display()));
        }
        if cli.ci {
            args.push_str(" --ci");
        }
        if let Some(t) = &cli.title {
            args.push_str(&format!(" --title \"{}\"", t.replace('"', "'")));
        }
        args.push(' ');
        args.push_str(sql.trim().trim_end_matches(';'));
        // Relative -o paths are relative to the working directory here, not to --figures.
        app.figures_dir = PathBuf::from(".");
        let r = plot::run_plot_command(&mut app, &args).await;
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
        if std::io::stdin().is_terminal() {
            return repl::run(&mut app).await;
        }
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        app.run_script(&text).await?;
        return Ok(());
    }
    for input in inputs {
        let text = match input {
            Input::Sql(s) => s,
            Input::File(p) => std::fs::read_to_string(&p).map_err(|e| {
                datafusion::common::DataFusionError::Execution(format!(
                    "cannot read {}: {e}",
                    p.display()
                ))
            })?,
        };
        if app.run_script(&text).await? == Flow::Quit {
            break;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let inputs = inputs_in_order(&matches, &cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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

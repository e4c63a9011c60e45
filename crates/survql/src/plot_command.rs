//! `\plot km` / `\plot cif` in the shell and `--plot km|cif` on the command line: runs the
//! query through the app and hands the rows to `survql-plot`.

use std::path::PathBuf;

use datafusion::common::{exec_err, Result};
use survql_plot::{
    cif_plot_from_batches, km_plot_from_batches, parse_plot_args, render_terminal, write_figure,
};

use crate::runner::App;

/// Runs `\plot ...`; returns the path written, if any.
pub async fn run_plot_command(app: &mut App, args: &str) -> Result<Option<PathBuf>> {
    let (kind, mut opts, query) = parse_plot_args(args)?;
    let build = match kind.as_str() {
        "km" => km_plot_from_batches,
        "cif" => cif_plot_from_batches,
        _ => return exec_err!("\\plot: unknown plot '{kind}' ('km' or 'cif')"),
    };
    let (_, batches) = app.execute(&query).await?;
    let plot = build(&batches, &opts)?;
    match opts.output.take() {
        None => {
            let width = crate::runner::terminal_width().unwrap_or(80);
            app.emit(&render_terminal(&plot, &opts, width))?;
            Ok(None)
        }
        Some(path) => {
            let path = if path.is_relative() {
                app.figures_dir.join(path)
            } else {
                path
            };
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            write_figure(&plot, &opts, &path)?;
            Ok(Some(path))
        }
    }
}

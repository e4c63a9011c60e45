//! `\plot km` / `\plot cif` / `\plot curve` / `\plot forest` in the shell and `--plot KIND` on the command
//! line: runs the query through the app and hands the rows to `survql-plot`.

use std::path::PathBuf;

use datafusion::common::{exec_err, Result};
use survql_plot::{
    cif_plot_from_batches, curve_plot_from_batches, forest_from_batches, km_plot_from_batches,
    parse_plot_args, render_forest_terminal, render_terminal, write_figure, write_forest,
};

use crate::runner::App;

/// Runs `\plot ...`; returns the path written, if any.
pub async fn run_plot_command(app: &mut App, args: &str) -> Result<Option<PathBuf>> {
    let (kind, mut opts, query) = parse_plot_args(args)?;
    if !matches!(kind.as_str(), "km" | "cif" | "curve" | "forest") {
        return exec_err!("\\plot: unknown plot '{kind}' ('km', 'cif', 'curve' or 'forest')");
    }
    let (_, batches) = app.execute(&query).await?;
    let output = opts.output.take().map(|path| {
        if path.is_relative() {
            app.figures_dir.join(path)
        } else {
            path
        }
    });
    let width = crate::runner::terminal_width().unwrap_or(80);
    if kind == "forest" {
        let forest = forest_from_batches(&batches)?;
        return match output {
            None => {
                app.emit(&render_forest_terminal(&forest, &opts, width))?;
                Ok(None)
            }
            Some(path) => {
                create_parent(&path)?;
                write_forest(&forest, &opts, &path)?;
                Ok(Some(path))
            }
        };
    }
    let plot = match kind.as_str() {
        "km" => km_plot_from_batches(&batches, &opts)?,
        "curve" => curve_plot_from_batches(&batches, &opts)?,
        _ => cif_plot_from_batches(&batches, &opts)?,
    };
    match output {
        None => {
            app.emit(&render_terminal(&plot, &opts, width))?;
            Ok(None)
        }
        Some(path) => {
            create_parent(&path)?;
            write_figure(&plot, &opts, &path)?;
            Ok(Some(path))
        }
    }
}

fn create_parent(path: &std::path::Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    Ok(())
}

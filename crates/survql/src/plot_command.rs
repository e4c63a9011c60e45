//! `\plot km` / `cif` / `curve` / `forest` / `residuals` / `zph` in the shell and `--plot KIND` on the command
//! line: runs the query through the app and hands the result to `survql-plot`, which draws.

use std::path::PathBuf;

use datafusion::common::{exec_err, Result};
use survql_plot::{
    calibration_plot_from_batches, cif_plot_from_counts, curve_plot_from_batches,
    forest_from_batches, km_plot_from_curves, parse_plot_args, render_forest_terminal,
    render_scatter_terminal, render_terminal, residual_plot_from_batches, write_figure,
    write_forest, write_scatter, zph_plot_from_batches, PlotOptions,
};

use crate::app::App;
use crate::output::terminal_width;

/// Runs `\plot KIND [OPTIONS] QUERY`; returns the path written, if any. A relative `-o`
/// path is relative to the figures folder (`--figures`).
pub async fn run_plot_command(app: &mut App, args: &str) -> Result<Option<PathBuf>> {
    let (kind, mut opts, query) = parse_plot_args(args)?;
    opts.output = opts.output.take().map(|path| {
        if path.is_relative() {
            app.figures_dir.join(path)
        } else {
            path
        }
    });
    run_plot(app, &kind, opts, &query).await
}

/// Runs `query` and draws its result as a `kind` figure: to `opts.output` (a path as given)
/// or, without one, in the terminal. Returns the path written, if any.
pub async fn run_plot(
    app: &mut App,
    kind: &str,
    mut opts: PlotOptions,
    query: &str,
) -> Result<Option<PathBuf>> {
    if !matches!(
        kind,
        "km" | "cif" | "curve" | "forest" | "residuals" | "zph" | "calibration"
    ) {
        return exec_err!(
            "\\plot: unknown plot '{kind}' ('km', 'cif', 'curve', 'forest', 'residuals', 'zph' or 'calibration')"
        );
    }
    let query = match kind {
        "km" => km_curves_query(app, query).await?,
        "cif" => cif_counts_query(app, query).await?,
        _ => query.to_owned(),
    };
    let (_, batches) = app.execute(&query).await?;
    let output = opts.output.take();
    let width = terminal_width().unwrap_or(80);
    if matches!(kind, "residuals" | "zph" | "calibration") {
        let scatter = match kind {
            "zph" => zph_plot_from_batches(&batches, &opts)?,
            "calibration" => calibration_plot_from_batches(&batches, &opts)?,
            _ => residual_plot_from_batches(&batches, &opts)?,
        };
        return match output {
            None => {
                app.emit(&render_scatter_terminal(&scatter, &opts, width))?;
                Ok(None)
            }
            Some(path) => {
                create_parent(&path)?;
                write_scatter(&scatter, &opts, &path)?;
                Ok(Some(path))
            }
        };
    }
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
    let plot = match kind {
        "km" => {
            if batches.iter().all(|b| b.num_rows() == 0) {
                return exec_err!("\\plot km: no rows with a time and an event");
            }
            km_plot_from_curves(&batches, &opts)?
        }
        "curve" => curve_plot_from_batches(&batches, &opts)?,
        _ => {
            if batches.iter().all(|b| b.num_rows() == 0) {
                return exec_err!("\\plot cif: no rows with a time and a status");
            }
            cif_plot_from_counts(&batches, &opts)?
        }
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

/// `\plot km`'s query, `SELECT [group,] time, event ...`, as the aggregate that draws it: one
/// `km_curve` per group, computed where the data are, so only the curves (one point per
/// distinct time and group) reach the client, not every row. Rows with a NULL group are left
/// out, as before; NULL times or events are skipped by `km_curve` (with its warning). The
/// query is followed by a line break inside the parentheses: it may end in a `--` comment.
async fn km_curves_query(app: &App, query: &str) -> Result<String> {
    let columns = app.session.ctx.sql(query).await?.schema().fields().len();
    Ok(match columns {
        3 => format!(
            "SELECT CAST(g AS VARCHAR) AS g, km_curve(t, e) AS curve \
             FROM ({query}\n) AS q(g, t, e) WHERE g IS NOT NULL GROUP BY CAST(g AS VARCHAR)"
        ),
        2 => format!("SELECT km_curve(t, e) AS curve FROM ({query}\n) AS q(t, e)"),
        n => {
            return exec_err!(
                "\\plot km: the query must return (group, time, event) or (time, event), found {n} columns"
            )
        }
    })
}

/// `\plot cif`'s query, `SELECT [group,] time, status ...`, as the counts that draw it: the
/// subjects per distinct (group, time, status), counted where the data are (the figure needs
/// no more: see `cif_plot_from_counts`), so a registry's rows do not travel to the client.
/// Rows with a NULL group, time or status are left out, as the figure leaves them out.
async fn cif_counts_query(app: &App, query: &str) -> Result<String> {
    let columns = app.session.ctx.sql(query).await?.schema().fields().len();
    Ok(match columns {
        3 => format!(
            "SELECT CAST(g AS VARCHAR) AS g, t, s, count(*) AS n FROM ({query}\n) AS q(g, t, s) \
             WHERE g IS NOT NULL AND t IS NOT NULL AND s IS NOT NULL \
             GROUP BY CAST(g AS VARCHAR), t, s"
        ),
        2 => format!(
            "SELECT t, s, count(*) AS n FROM ({query}\n) AS q(t, s) \
             WHERE t IS NOT NULL AND s IS NOT NULL GROUP BY t, s"
        ),
        n => {
            return exec_err!(
                "\\plot cif: the query must return (group, time, status) or (time, status), found {n} columns"
            )
        }
    })
}

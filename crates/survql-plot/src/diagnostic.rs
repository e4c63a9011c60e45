//! A Cox model's diagnostic figures, from the per-row values the window functions compute:
//!
//! * `\plot residuals SELECT x, residual FROM ...` — martingale (or deviance) residuals against
//!   a covariate with R's lowess smoother and the zero line: the covariate's functional form,
//!   R's `plot(x, resid(fit)); lines(lowess(x, resid(fit)))`.
//! * `\plot zph SELECT time, scaled_schoenfeld FROM ...` — scaled Schoenfeld residuals against
//!   the transformed event time (`--transform km|rank|identity|log`, `cox.zph`'s, default km),
//!   as `plot(cox.zph(fit))`, with the lowess smoother (R draws a spline) and the
//!   least-squares line, whose slope is what `cox_zph` tests: flat when the hazards are
//!   proportional. The residual is NULL at censored rows (as `cox_residual` gives it), which
//!   the km and rank transforms count.

use survql_stats::cox::{transformed_times, ZphTransform};
use survql_stats::lowess::lowess_default;

use super::*;

/// A scatter of per-row values with its smoother and reference lines.
#[derive(Debug, Clone)]
pub struct Scatter {
    /// The points (x on the drawn scale).
    pub points: Vec<(f64, f64)>,
    /// R's lowess through the points.
    pub smooth: Vec<(f64, f64)>,
    /// The least-squares line (intercept, slope), drawn by `\plot zph`.
    pub line: Option<(f64, f64)>,
    /// A horizontal dashed line (0 for residuals).
    pub reference: Option<f64>,
    /// Vertical interval bars (x, lower, upper): a calibration's limits.
    pub bars: Vec<(f64, f64, f64)>,
    /// The smoother's and the line's names in the legend.
    pub smooth_label: &'static str,
    pub line_label: &'static str,
    pub xlab: String,
    pub ylab: String,
    /// Tick positions on the drawn x scale with their labels (the original times for `zph`).
    pub x_ticks: Vec<(f64, String)>,
}

/// The two numeric columns of a diagnostic query, rows with a NULL x kept out; a NULL y is
/// NaN (a censored row of `\plot zph`).
fn two_columns(
    batches: &[RecordBatch],
    figure: &str,
) -> Result<(Vec<f64>, Vec<f64>, String, String)> {
    let Some(first) = batches.first() else {
        return exec_err!("\\plot {figure}: the query returned no rows");
    };
    if first.num_columns() != 2 {
        return exec_err!(
            "\\plot {figure}: the query must return two columns ({}), found {}",
            if figure == "zph" {
                "time, scaled Schoenfeld residual"
            } else {
                "covariate, residual"
            },
            first.num_columns()
        );
    }
    let schema = first.schema();
    let (xname, yname) = (
        schema.field(0).name().clone(),
        schema.field(1).name().clone(),
    );
    let (mut x, mut y) = (vec![], vec![]);
    for b in batches {
        let column = |i: usize| -> Result<ArrayRef> {
            let dt = b.column(i).data_type();
            if !(dt.is_numeric() || dt == &DataType::Null) {
                return exec_err!(
                    "\\plot {figure}: column '{}' must be numeric, found {dt}",
                    b.schema().field(i).name()
                );
            }
            Ok(cast(b.column(i), &DataType::Float64)?)
        };
        let (cx, cy) = (column(0)?, column(1)?);
        let (cx, cy) = (
            cx.as_primitive::<Float64Type>(),
            cy.as_primitive::<Float64Type>(),
        );
        for i in 0..b.num_rows() {
            if cx.is_null(i) || !cx.value(i).is_finite() {
                continue;
            }
            x.push(cx.value(i));
            y.push(if cy.is_null(i) { f64::NAN } else { cy.value(i) });
        }
    }
    Ok((x, y, xname, yname))
}

/// Evenly spaced "nice" ticks covering [lo, hi].
fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if hi <= lo || !(hi - lo).is_finite() {
        return vec![lo];
    }
    let step = nice_step_at_least((hi - lo) / 6.0);
    let mut t = (lo / step).ceil() * step;
    let mut out = vec![];
    while t <= hi + 1e-9 * step {
        out.push(if t.abs() < 1e-12 * step { 0.0 } else { t });
        t += step;
    }
    out
}

fn number_label(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_owned()
    }
}

/// `\plot residuals`: rows `(x, residual)`.
pub fn residual_plot_from_batches(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Scatter> {
    let (x, y, xname, yname) = two_columns(batches, "residuals")?;
    let (x, y): (Vec<f64>, Vec<f64>) = x.into_iter().zip(y).filter(|(_, r)| r.is_finite()).unzip();
    if x.len() < 2 {
        return exec_err!("\\plot residuals: fewer than two rows with both values");
    }
    let (sx, fitted) = lowess_default(&x, &y);
    let (lo, hi) = (sx[0], sx[sx.len() - 1]);
    Ok(Scatter {
        points: x.into_iter().zip(y).collect(),
        smooth: sx.into_iter().zip(fitted).collect(),
        line: None,
        reference: Some(0.0),
        bars: vec![],
        smooth_label: "lowess smoother",
        line_label: "",
        xlab: axis_title(&opts.xlab, &xname),
        ylab: opts.ylab.clone().unwrap_or(yname),
        x_ticks: nice_ticks(lo, hi)
            .into_iter()
            .map(|t| (t, number_label(t)))
            .collect(),
    })
}

/// `--xlab` when given, else the column's name.
fn axis_title(given: &str, column: &str) -> String {
    if given == PlotOptions::default().xlab {
        column.to_owned()
    } else {
        given.to_owned()
    }
}

/// `\plot zph`: rows `(time, scaled Schoenfeld residual)`, NULL residuals at censored rows.
pub fn zph_plot_from_batches(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Scatter> {
    let (time, resid, _, yname) = two_columns(batches, "zph")?;
    let event: Vec<bool> = resid.iter().map(|r| r.is_finite()).collect();
    let events = event.iter().filter(|&&e| e).count();
    if events < 2 {
        return exec_err!("\\plot zph: fewer than two rows with a residual (the event rows)");
    }
    if opts.transform == ZphTransform::Log && time.iter().any(|&t| t <= 0.0) {
        return exec_err!("\\plot zph: --transform log needs times > 0");
    }
    let g = transformed_times(&time, None, &event, opts.transform);
    let (gx, gy): (Vec<f64>, Vec<f64>) = (0..time.len())
        .filter(|&i| event[i])
        .map(|i| (g[i], resid[i]))
        .unzip();
    let (sx, fitted) = lowess_default(&gx, &gy);
    // The least-squares line of the residuals on g(t).
    let m = gx.len() as f64;
    let (mx, my) = (gx.iter().sum::<f64>() / m, gy.iter().sum::<f64>() / m);
    let sxx: f64 = gx.iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = gx.iter().zip(&gy).map(|(a, b)| (a - mx) * (b - my)).sum();
    let line = (sxx > 0.0).then(|| {
        let slope = sxy / sxx;
        (my - slope * mx, slope)
    });
    // Ticks at "nice" original times, placed where the transform puts them: at the first
    // row time ≥ the tick (g is a step function of time for km and rank).
    let mut order: Vec<usize> = (0..time.len()).collect();
    order.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    let event_times: Vec<f64> = (0..time.len())
        .filter(|&i| event[i])
        .map(|i| time[i])
        .collect();
    let (tmin, tmax) = event_times
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &t| {
            (a.min(t), b.max(t))
        });
    let x_ticks = nice_ticks(tmin.max(0.0), tmax)
        .into_iter()
        .filter_map(|t| {
            let pos = match opts.transform {
                ZphTransform::Identity => Some(t),
                ZphTransform::Log => (t > 0.0).then(|| t.ln()),
                ZphTransform::Km | ZphTransform::Rank => {
                    let k = order.partition_point(|&i| time[i] < t);
                    order.get(k).map(|&i| g[i])
                }
            };
            pos.map(|p| (p, number_label(t)))
        })
        .collect();
    Ok(Scatter {
        points: gx.into_iter().zip(gy).collect(),
        smooth: sx.into_iter().zip(fitted).collect(),
        line,
        reference: None,
        bars: vec![],
        smooth_label: "lowess smoother",
        line_label: "least-squares line",
        xlab: axis_title(&opts.xlab, "Time").to_owned()
            + match opts.transform {
                ZphTransform::Km => " (KM scale)",
                ZphTransform::Rank => " (rank scale)",
                ZphTransform::Log => " (log scale)",
                ZphTransform::Identity => "",
            },
        ylab: opts.ylab.clone().unwrap_or(format!("Beta(t) for {yname}")),
        x_ticks,
    })
}

/// `\plot calibration`: rows of `calibration(...)` lists (one per row, a label column before
/// it optional): observed against mean predicted risk per group, the groups' limits, and
/// the diagonal of perfect calibration.
pub fn calibration_plot_from_batches(
    batches: &[RecordBatch],
    opts: &PlotOptions,
) -> Result<Scatter> {
    let mut points = vec![];
    let mut bars = vec![];
    for b in batches {
        let Some(list) = b.column(b.num_columns() - 1).as_list_opt::<i32>() else {
            return exec_err!(
                "\\plot calibration: the last column must be a calibration(...) result, found {}",
                b.column(b.num_columns() - 1).data_type()
            );
        };
        let Some(items) = list.values().as_struct_opt() else {
            return exec_err!("\\plot calibration: the list's elements must be calibration groups");
        };
        let field = |name: &str| -> Result<Vec<f64>> {
            let Some(c) = items.column_by_name(name) else {
                return exec_err!("\\plot calibration: the groups have no '{name}' field");
            };
            let c = cast(c, &DataType::Float64)?;
            let c = c.as_primitive::<Float64Type>();
            Ok((0..c.len())
                .map(|i| if c.is_null(i) { f64::NAN } else { c.value(i) })
                .collect())
        };
        let (x, y, lo, hi) = (
            field("mean_predicted")?,
            field("observed")?,
            field("lower")?,
            field("upper")?,
        );
        let offsets = list.value_offsets();
        for row in 0..list.len() {
            if list.is_null(row) {
                continue;
            }
            for k in offsets[row] as usize..offsets[row + 1] as usize {
                if x[k].is_finite() && y[k].is_finite() {
                    points.push((x[k], y[k]));
                    if lo[k].is_finite() && hi[k].is_finite() {
                        bars.push((x[k], lo[k], hi[k]));
                    }
                }
            }
        }
    }
    if points.is_empty() {
        return exec_err!("\\plot calibration: no groups to draw");
    }
    let ticks = nice_ticks(0.0, 1.0);
    Ok(Scatter {
        points,
        smooth: vec![],
        line: Some((0.0, 1.0)),
        reference: None,
        bars,
        smooth_label: "",
        line_label: "perfect calibration",
        xlab: axis_title(&opts.xlab, "Predicted risk"),
        ylab: opts
            .ylab
            .clone()
            .unwrap_or("Observed risk (Kaplan-Meier)".into()),
        x_ticks: ticks.into_iter().map(|t| (t, number_label(t))).collect(),
    })
}

/// The drawn ranges: every point, the smoother and the reference line.
fn ranges(s: &Scatter) -> ((f64, f64), (f64, f64)) {
    let xs = s
        .points
        .iter()
        .map(|p| p.0)
        .chain(s.x_ticks.iter().map(|t| t.0));
    let (x0, x1) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let ys = s
        .points
        .iter()
        .chain(&s.smooth)
        .map(|p| p.1)
        .chain(s.reference)
        .chain(s.bars.iter().flat_map(|b| [b.1, b.2]));
    let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let pad = |a: f64, b: f64| {
        let d = if b > a { (b - a) * 0.04 } else { 1.0 };
        (a - d, b + d)
    };
    (pad(x0, x1), pad(y0, y1))
}

/// The figure drawn with characters: `.` points, `*` the smoother, `-` the least-squares
/// line, `:` the reference line.
pub fn render_scatter_terminal(s: &Scatter, opts: &PlotOptions, width: u16) -> String {
    let cols = (width as usize).saturating_sub(10).clamp(30, 160);
    let rows = 20usize;
    let ((x0, x1), (y0, y1)) = ranges(s);
    let col_of = |x: f64| {
        (((x - x0) / (x1 - x0)) * (cols - 1) as f64)
            .round()
            .clamp(0.0, (cols - 1) as f64) as usize
    };
    let row_of = |y: f64| {
        (((y1 - y) / (y1 - y0)) * rows as f64)
            .round()
            .clamp(0.0, rows as f64) as usize
    };
    let mut grid = vec![vec![' '; cols]; rows + 1];
    let mut put = |row: usize, col: usize, ch: char| grid[row][col] = ch;
    if let Some(r) = s.reference {
        for c in (0..cols).step_by(2) {
            put(row_of(r), c, ':');
        }
    }
    if let Some((a, b)) = s.line {
        for c in 0..cols {
            let x = x0 + (x1 - x0) * c as f64 / (cols - 1) as f64;
            let y = a + b * x;
            if y >= y0 && y <= y1 {
                put(row_of(y), c, '-');
            }
        }
    }
    for &(x, lo, hi) in &s.bars {
        for r in row_of(hi)..=row_of(lo) {
            put(r, col_of(x), '|');
        }
    }
    for &(x, y) in &s.points {
        put(
            row_of(y),
            col_of(x),
            if s.bars.is_empty() { '.' } else { 'o' },
        );
    }
    // The smoother, interpolated at every column it spans.
    for c in 0..cols {
        let x = x0 + (x1 - x0) * c as f64 / (cols - 1) as f64;
        let k = s.smooth.partition_point(|p| p.0 < x);
        if k == 0 || k >= s.smooth.len() {
            if let Some(p) = s.smooth.get(k).filter(|p| col_of(p.0) == c) {
                put(row_of(p.1), c, '*');
            }
            continue;
        }
        let (a, b) = (s.smooth[k - 1], s.smooth[k]);
        let y = if b.0 > a.0 {
            a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0)
        } else {
            b.1
        };
        put(row_of(y), c, '*');
    }
    let mut out = String::new();
    if let Some(t) = &opts.title {
        out.push_str(&format!("{t}\n"));
    }
    out.push_str(&format!("{}\n", s.ylab));
    for (r, line) in grid.iter().enumerate() {
        let y = y1 - (y1 - y0) * r as f64 / rows as f64;
        let lab = if r % 5 == 0 {
            format!(
                "{:>8}",
                shorten(&number_label((y * 1000.0).round() / 1000.0), 8)
            )
        } else {
            " ".repeat(8)
        };
        out.push_str(&format!(
            "{lab} |{}\n",
            line.iter().collect::<String>().trim_end()
        ));
    }
    out.push_str(&format!("{} +{}\n", " ".repeat(8), "-".repeat(cols)));
    let mut axis = vec![' '; cols + 20];
    for (pos, label) in &s.x_ticks {
        let c = col_of(*pos);
        for (k, ch) in label.chars().enumerate() {
            if let Some(slot) = axis.get_mut(10 + c + k) {
                *slot = ch;
            }
        }
    }
    out.push_str(axis.iter().collect::<String>().trim_end());
    out.push('\n');
    out.push_str(&format!(
        "{:>w$}\n",
        s.xlab,
        w = 10 + cols / 2 + s.xlab.len() / 2
    ));
    if s.bars.is_empty() {
        out.push_str("  . residual");
    } else {
        out.push_str("  o group   | 95% limits");
    }
    if !s.smooth.is_empty() {
        out.push_str(&format!("   * {}", s.smooth_label));
    }
    if s.line.is_some() {
        out.push_str(&format!("   - {}", s.line_label));
    }
    out.push('\n');
    out
}

/// Writes the figure as SVG or PNG (by extension).
pub fn write_scatter(s: &Scatter, opts: &PlotOptions, path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let err = |e: Box<dyn std::error::Error>| {
        DataFusionError::Execution(format!("\\plot: cannot draw {}: {e}", path.display()))
    };
    register_fonts();
    match ext.as_deref() {
        Some("svg") => draw_scatter(
            SVGBackend::new(path, (opts.width, opts.height)).into_drawing_area(),
            s,
            opts,
        )
        .map_err(err),
        Some("png") => draw_scatter(
            BitMapBackend::new(path, (opts.width, opts.height)).into_drawing_area(),
            s,
            opts,
        )
        .map_err(err),
        _ => exec_err!(
            "\\plot: the output file must end in .svg or .png, found {}",
            path.display()
        ),
    }
}

fn draw_scatter<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    s: &Scatter,
    opts: &PlotOptions,
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let ((x0, x1), (y0, y1)) = ranges(s);
    let mut builder = ChartBuilder::on(&root);
    builder
        .margin_top(15)
        .margin_right(25)
        .margin_left(18)
        .x_label_area_size(45)
        .y_label_area_size(85);
    if let Some(t) = &opts.title {
        builder.caption(t, ("sans-serif", 22));
    }
    let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(6)
        .x_desc(s.xlab.as_str())
        .y_desc(s.ylab.as_str())
        .y_label_formatter(&|v| number_label((v * 1000.0).round() / 1000.0))
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .draw()?;
    for (pos, label) in &s.x_ticks {
        let (x, y) = chart.backend_coord(&(*pos, y0));
        root.draw(&PathElement::new(vec![(x, y), (x, y + 5)], BLACK))?;
        root.draw(&Text::new(
            label.clone(),
            (x - 4 * label.len() as i32, y + 8),
            ("sans-serif", 14).into_font(),
        ))?;
    }
    if let Some(r) = s.reference {
        chart.draw_series(DashedLineSeries::new(
            vec![(x0, r), (x1, r)],
            6,
            4,
            BLACK.mix(0.5).stroke_width(1),
        ))?;
    }
    for &(x, lo, hi) in &s.bars {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, lo), (x, hi)],
            PALETTE[0].stroke_width(1),
        )))?;
    }
    chart.draw_series(
        s.points
            .iter()
            .map(|&p| Circle::new(p, 3, PALETTE[0].mix(0.6).stroke_width(1))),
    )?;
    if let Some((a, b)) = s.line {
        chart
            .draw_series(LineSeries::new(
                vec![(x0, a + b * x0), (x1, a + b * x1)],
                PALETTE[2].stroke_width(2),
            ))?
            .label(s.line_label)
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[2].stroke_width(2))
            });
    }
    if !s.smooth.is_empty() {
        chart
            .draw_series(LineSeries::new(
                s.smooth.clone(),
                PALETTE[1].stroke_width(2),
            ))?
            .label(s.smooth_label)
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], PALETTE[1].stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}

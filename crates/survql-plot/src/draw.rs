//! SVG and PNG figures (plotters): axes, curves, confidence bands, censoring marks and the
//! numbers-at-risk table under the plot.

use super::*;

/// A "nice" tick spacing (1, 2, 2.5, 5 × 10^k) giving 4 to 10 intervals over [0, xmax].
pub fn nice_step(xmax: f64) -> f64 {
    nice_step_at_least(xmax / 6.0)
}

/// The smallest "nice" spacing (1, 2, 2.5, 5 × 10^k) ≥ `raw`.
pub(super) fn nice_step_at_least(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= raw {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Text of a p-value as clinical papers print it.
pub fn format_p(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {:.3}", p)
    }
}

/// The y axis title: `--ylab`, or what the curves estimate.
pub(super) fn ylab<'a>(plot: &Plot, opts: &'a PlotOptions) -> &'a str {
    match (&opts.ylab, plot.kind) {
        (Some(y), _) => y,
        (None, PlotKind::Survival) => "Survival probability",
        (None, PlotKind::Incidence) => "Cumulative incidence",
    }
}

pub(super) fn tick_label(t: f64) -> String {
    if t.fract() == 0.0 {
        format!("{}", t as i64)
    } else {
        format!("{t}")
    }
}

/// The number at risk of each curve at each tick: subjects with time ≥ tick.
pub fn risk_table(plot: &Plot) -> Vec<Vec<u64>> {
    plot.curves
        .iter()
        .map(|c| {
            plot.ticks
                .iter()
                // Whole numbers: plots count rows (no weights).
                .map(|&t| c.at_risk(t) as u64)
                .collect()
        })
        .collect()
}

/// Writes the figure; the format follows the extension (.svg or .png).
pub fn write_figure(plot: &Plot, opts: &PlotOptions, path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let err = |e: Box<dyn std::error::Error>| {
        DataFusionError::Execution(format!("\\plot: cannot draw {}: {e}", path.display()))
    };
    match ext.as_deref() {
        Some("svg") => {
            // Text extents are measured with the bundled font in SVG too.
            register_fonts();
            let root = SVGBackend::new(path, (opts.width, opts.height)).into_drawing_area();
            draw(root, plot, opts).map_err(err)
        }
        Some("png") => {
            register_fonts();
            let root = BitMapBackend::new(path, (opts.width, opts.height)).into_drawing_area();
            draw(root, plot, opts).map_err(err)
        }
        _ => exec_err!(
            "\\plot: the output file must end in .svg or .png, found {}",
            path.display()
        ),
    }
}

/// The figure as SVG text (for notebooks, which show it inline).
pub fn figure_svg(plot: &Plot, opts: &PlotOptions) -> Result<String> {
    register_fonts();
    let mut text = String::new();
    {
        let root =
            SVGBackend::with_string(&mut text, (opts.width, opts.height)).into_drawing_area();
        draw(root, plot, opts)
            .map_err(|e| DataFusionError::Execution(format!("\\plot: cannot draw: {e}")))?;
    }
    Ok(text)
}

pub(super) fn register_fonts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, FONT);
    });
}

/// Where the number-at-risk table goes: a title line and one line per curve, in at most 40%
/// of the figure. Lines shrink (down to 8 px) as curves are added; when even that does not
/// fit, the table is left out and a note says so.
pub(super) struct TableLayout {
    pub(super) shown: bool,
    /// Height of the table area, in pixels.
    pub(super) height: i32,
    /// Height of one line and its font size.
    pub(super) row: i32,
    pub(super) font: i32,
}

impl TableLayout {
    /// No table and no note (curves without numbers at risk).
    pub(super) fn none() -> TableLayout {
        TableLayout {
            shown: false,
            height: 0,
            row: 0,
            font: 0,
        }
    }

    pub(super) fn new(figure_height: i32, curves: i32) -> TableLayout {
        let room = figure_height * 2 / 5;
        let row = ((room - 10) / (curves + 2)).min(20);
        if row < 8 {
            return TableLayout {
                shown: false,
                height: 30,
                row: 0,
                font: 0,
            };
        }
        TableLayout {
            shown: true,
            height: row * (curves + 2) + 10,
            row,
            font: (row - 6).clamp(7, 14),
        }
    }
}

pub(super) fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    plot: &Plot,
    opts: &PlotOptions,
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let h = opts.height as i32;
    let n = plot.curves.len() as i32;
    let layout = if plot.counts {
        TableLayout::new(h, n)
    } else {
        TableLayout::none()
    };
    let (upper, _) = root.split_vertically(h - layout.height);
    let left = 85
        + plot
            .curves
            .iter()
            .map(|c| c.label.chars().count() as i32)
            .max()
            .unwrap_or(0)
            .min(20)
            * 4;
    let mut builder = ChartBuilder::on(&upper);
    builder
        .margin_top(15)
        .margin_right(25)
        .margin_left(18)
        .x_label_area_size(45)
        .y_label_area_size(left);
    if let Some(t) = &opts.title {
        builder.caption(t, ("sans-serif", 22));
    }
    let mut chart = builder.build_cartesian_2d(0f64..plot.xmax * 1.02, 0f64..1.02)?;
    // The x ticks are the risk-table times, so they are drawn here rather than by plotters.
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(6)
        .x_desc(opts.xlab.as_str())
        .y_desc(ylab(plot, opts))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .draw()?;
    for &t in &plot.ticks {
        let (x, y) = chart.backend_coord(&(t, 0.0));
        root.draw(&PathElement::new(vec![(x, y), (x, y + 5)], BLACK))?;
        let text = tick_label(t);
        root.draw(&Text::new(
            text.clone(),
            (x - 4 * text.len() as i32, y + 8),
            ("sans-serif", 14).into_font(),
        ))?;
    }
    for (k, c) in plot.curves.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let clip = |t: f64| t.min(plot.xmax);
        let has_band = c.lower.iter().chain(&c.upper).any(|v| !v.is_nan());
        if opts.ci && has_band {
            // Where a limit is undefined (e.g. S = 0 or F = 0 on the log scale) the band
            // closes on the curve.
            let mut up = vec![(0.0, c.start)];
            let mut lo = vec![(0.0, c.start)];
            let (mut pu, mut pl) = (c.start, c.start);
            for i in 0..c.time.len() {
                let t = clip(c.time[i]);
                let or_value = |v: f64| if v.is_nan() { c.value[i] } else { v };
                let (u, l) = (or_value(c.upper[i]), or_value(c.lower[i]));
                up.push((t, pu));
                up.push((t, u));
                lo.push((t, pl));
                lo.push((t, l));
                pu = u;
                pl = l;
            }
            // The band ends with the curve.
            let end = clip(c.time.last().copied().unwrap_or(0.0));
            up.push((end, pu));
            lo.push((end, pl));
            let mut poly = up;
            poly.extend(lo.into_iter().rev());
            chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.15))))?;
        }
        // The step function, from (0, start) to the last time.
        let mut pts = vec![(0.0, c.start)];
        let mut prev = c.start;
        for i in 0..c.time.len() {
            let t = clip(c.time[i]);
            pts.push((t, prev));
            pts.push((t, c.value[i]));
            prev = c.value[i];
        }
        let label = if plot.counts {
            format!("{} (n = {})", shorten(&c.label, LABEL_CHARS), c.n)
        } else {
            shorten(&c.label, LABEL_CHARS)
        };
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
            });
        // Censoring ticks: '+' where a subject was censored at that time.
        let marks: Vec<(f64, f64)> = (0..c.time.len())
            .filter(|&i| c.censored[i] && c.time[i] <= plot.xmax)
            .map(|i| (c.time[i], c.value[i]))
            .collect();
        chart.draw_series(marks.into_iter().map(|(x, y)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, -5), (0, 5)], color.stroke_width(1))
        }))?;
    }
    if n > 1 || plot.p_value.is_some() {
        // The legend's lines shrink with the number of curves so that it stays inside the plot.
        let legend_font = (((h - layout.height) / 2) / (n + 1)).clamp(7, 14);
        chart
            .configure_series_labels()
            // Survival falls from the top left, incidence rises from the bottom left.
            .position(match plot.kind {
                PlotKind::Survival => SeriesLabelPosition::UpperRight,
                PlotKind::Incidence => SeriesLabelPosition::UpperLeft,
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", legend_font))
            .draw()?;
    }
    if let Some(p) = plot.p_value {
        let at = match plot.kind {
            PlotKind::Survival => (plot.xmax * 0.03, 0.08),
            PlotKind::Incidence => (plot.xmax * 0.62, 0.97),
        };
        let (x, y) = chart.backend_coord(&at);
        root.draw(&Text::new(
            format!("{} {}", plot.test_name, format_p(p)),
            (x, y),
            ("sans-serif", 16).into_font(),
        ))?;
    }
    // Number-at-risk table, aligned with the x ticks.
    let top = h - layout.height + 10;
    if !plot.counts {
        root.present()?;
        return Ok(());
    }
    if !layout.shown {
        root.draw(&Text::new(
            format!("Number at risk not shown: {n} groups do not fit (draw fewer groups or a taller figure)"),
            (10, top),
            ("sans-serif", 12).into_font(),
        ))?;
        root.present()?;
        return Ok(());
    }
    let row_h = layout.row;
    let style = ("sans-serif", layout.font).into_font();
    root.draw(&Text::new(
        "Number at risk",
        (10, top),
        ("sans-serif", layout.font)
            .into_font()
            .style(FontStyle::Bold),
    ))?;
    let risk = risk_table(plot);
    let x_of = |t: f64| chart.backend_coord(&(t, 0.0)).0;
    for (k, c) in plot.curves.iter().enumerate() {
        let y = top + row_h * (k as i32 + 1) + 4;
        let color = PALETTE[k % PALETTE.len()];
        root.draw(&Text::new(
            shorten(&c.label, LABEL_CHARS),
            (10, y),
            style.clone().color(&color),
        ))?;
        for (j, &t) in plot.ticks.iter().enumerate() {
            let text = risk[k][j].to_string();
            let x = x_of(t) - (text.len() as i32 * 4);
            root.draw(&Text::new(text, (x, y), style.clone()))?;
        }
    }
    root.present()?;
    Ok(())
}

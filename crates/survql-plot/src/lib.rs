//! # survql-plot
//!
//! Kaplan-Meier figures: curves per group drawn in the terminal or written as a
//! publication-style SVG/PNG figure (censoring ticks, optional 95% band, legend with the
//! log-rank p-value, number-at-risk table under the axis). It takes data — query results as
//! Arrow record batches — and nothing else: the `survql` shell's `\plot km` and the Python
//! package's `survql.km_plot` both draw with it. The statistics come from `survql-stats`, the
//! drawing from `plotters`.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{exec_err, DataFusionError, Result};
use plotters::prelude::*;
use survql_stats::logrank::{survdiff_weighted, GroupTimeCount, Weighting};
use survql_stats::{ConfType, KaplanMeier, TimeCounts};

/// DejaVu Sans (see assets/DejaVuSans-LICENSE.txt), for PNG text rendering.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Colours of successive curves (colour-blind friendly).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(0, 0, 0),
];

/// Figure sizes accepted by `--width`/`--height`, in pixels.
pub const SIZE_RANGE: std::ops::RangeInclusive<u32> = 200..=6000;
/// Most x ticks (and number-at-risk columns) a figure shows.
pub const MAX_TICKS: usize = 60;
/// Most curves a figure shows (beyond that they cannot be told apart).
pub const MAX_CURVES: usize = 64;
/// Characters of a group label shown in the legend and the number-at-risk table.
const LABEL_CHARS: usize = 28;

/// Options of `\plot km`.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    pub output: Option<PathBuf>,
    pub ci: bool,
    pub title: Option<String>,
    pub xlab: String,
    pub ylab: String,
    pub break_every: Option<f64>,
    pub xmax: Option<f64>,
    pub width: u32,
    pub height: u32,
    /// The test whose p-value the figure shows (`--test`; default the log-rank test).
    pub test: Weighting,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            output: None,
            ci: false,
            title: None,
            xlab: "Time".into(),
            ylab: "Survival probability".into(),
            break_every: None,
            xmax: None,
            width: 900,
            height: 640,
            test: Weighting::LogRank,
        }
    }
}

/// One Kaplan-Meier curve to draw.
pub struct Curve {
    pub label: String,
    pub km: KaplanMeier,
}

/// Everything a figure shows.
pub struct KmPlot {
    pub curves: Vec<Curve>,
    /// The p-value of `test` when there are at least two groups.
    pub p_value: Option<f64>,
    /// The test's name as the figure shows it ("Log-rank", "Gehan-Breslow", ...).
    pub test_name: String,
    pub ticks: Vec<f64>,
    pub xmax: f64,
}

/// How a figure names a test.
fn test_name(test: Weighting) -> String {
    match test {
        Weighting::LogRank => "Log-rank".into(),
        Weighting::Gehan => "Gehan-Breslow".into(),
        Weighting::TaroneWare => "Tarone-Ware".into(),
        Weighting::Peto => "Peto-Peto".into(),
        Weighting::FlemingHarrington { p, q } => format!("Fleming-Harrington G({p},{q})"),
    }
}

/// Splits `\plot km` arguments into options and the query (which starts at the first
/// SELECT or WITH).
pub fn parse_plot_args(args: &str) -> Result<(String, PlotOptions, String)> {
    let tokens = shell_words(args);
    let mut opts = PlotOptions::default();
    let Some(kind) = tokens.first().map(|t| t.0.clone()) else {
        return exec_err!(
            "\\plot: usage: \\plot km [options] SELECT <group>, <time>, <event> FROM ..."
        );
    };
    let mut i = 1;
    let mut query_start = None;
    while i < tokens.len() {
        let (tok, offset) = (&tokens[i].0, tokens[i].1);
        let upper = tok.to_ascii_uppercase();
        if upper == "SELECT" || upper == "WITH" || upper == "(SELECT" {
            query_start = Some(offset);
            break;
        }
        let mut value = |name: &str| -> Result<String> {
            i += 1;
            tokens
                .get(i)
                .map(|t| t.0.clone())
                .ok_or_else(|| DataFusionError::Execution(format!("\\plot: {name} needs a value")))
        };
        let number = |name: &str, v: String| -> Result<f64> {
            v.parse::<f64>().map_err(|_| {
                DataFusionError::Execution(format!("\\plot: {name} must be a number, found '{v}'"))
            })
        };
        match tok.as_str() {
            "-o" | "--output" => opts.output = Some(PathBuf::from(value("-o")?)),
            "--ci" => opts.ci = true,
            "--title" => opts.title = Some(value("--title")?),
            "--xlab" => opts.xlab = value("--xlab")?,
            "--ylab" => opts.ylab = value("--ylab")?,
            "--test" => {
                let name = value("--test")?;
                opts.test = Weighting::parse(&name).ok_or_else(|| {
                    datafusion::common::exec_datafusion_err!(
                        "\\plot: --test must be one of {}, found '{name}'",
                        Weighting::NAMES
                    )
                })?
            }
            "--break" => {
                opts.break_every = Some(positive("--break", number("--break", value("--break")?)?)?)
            }
            "--xmax" => opts.xmax = Some(positive("--xmax", number("--xmax", value("--xmax")?)?)?),
            "--width" => opts.width = pixels("--width", number("--width", value("--width")?)?)?,
            "--height" => {
                opts.height = pixels("--height", number("--height", value("--height")?)?)?
            }
            other => return exec_err!("\\plot: unknown option '{other}' (\\? lists the options)"),
        }
        i += 1;
    }
    let Some(start) = query_start else {
        return exec_err!("\\plot: missing the query (SELECT <group>, <time>, <event> FROM ...)");
    };
    Ok((
        kind,
        opts,
        args[start..].trim().trim_end_matches(';').to_owned(),
    ))
}

/// A finite number > 0.
fn positive(name: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        exec_err!("\\plot: {name} must be a positive number, found {v}")
    }
}

/// A whole number of pixels in [`SIZE_RANGE`].
fn pixels(name: &str, v: f64) -> Result<u32> {
    if v.fract() == 0.0 && v >= f64::from(*SIZE_RANGE.start()) && v <= f64::from(*SIZE_RANGE.end())
    {
        Ok(v as u32)
    } else {
        exec_err!(
            "\\plot: {name} must be a whole number of pixels from {} to {}, found {v}",
            SIZE_RANGE.start(),
            SIZE_RANGE.end()
        )
    }
}

/// `label` cut to at most `max` characters (not bytes: labels may be any UTF-8), with an
/// ellipsis when cut.
pub fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        return label.to_owned();
    }
    let mut out: String = label.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Splits on white space, honouring single and double quotes; returns each word with the
/// byte offset where it starts.
fn shell_words(s: &str) -> Vec<(String, usize)> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut start = None;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || (c == '\'' && start.is_none()) => {
                quote = Some(c);
                start.get_or_insert(i);
            }
            None if c.is_whitespace() => {
                if let Some(st) = start.take() {
                    out.push((std::mem::take(&mut cur), st));
                }
            }
            None => {
                start.get_or_insert(i);
                cur.push(c);
            }
        }
    }
    if let Some(st) = start {
        out.push((cur, st));
    }
    out
}

/// Builds the curves from a result whose columns are (group, time, event) or (time, event).
pub fn km_plot_from_batches(batches: &[RecordBatch], opts: &PlotOptions) -> Result<KmPlot> {
    let Some(first) = batches.first() else {
        return exec_err!("\\plot km: the query returned no rows");
    };
    let ncol = first.num_columns();
    if !(2..=3).contains(&ncol) {
        return exec_err!("\\plot km: the query must return (group, time, event) or (time, event), found {ncol} columns");
    }
    // (label, (time, events, censorings) per row)
    type Rows = Vec<(f64, u64, u64)>;
    let mut groups: Vec<(String, Rows)> = vec![];
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for b in batches {
        let label_col = if ncol == 3 {
            Some(cast(b.column(0), &DataType::Utf8)?)
        } else {
            None
        };
        let time = cast(b.column(ncol - 2), &DataType::Float64)?;
        let time = time.as_primitive::<Float64Type>();
        let event = event_flags(b.column(ncol - 1))?;
        let labels = label_col.as_ref().map(|l| l.as_string::<i32>());
        for (i, e) in event.iter().enumerate() {
            let Some(e) = *e else { continue };
            if time.is_null(i) || labels.is_some_and(|l| l.is_null(i)) {
                continue;
            }
            let t = time.value(i);
            if !t.is_finite() {
                return exec_err!("\\plot km: time must be finite, found {t}");
            }
            let label = labels.map_or("All", |l| l.value(i));
            let g = match index.get(label) {
                Some(&g) => g,
                None => {
                    if groups.len() == MAX_CURVES {
                        return exec_err!(
                            "\\plot km: the query has more than {MAX_CURVES} groups; a figure can show at most {MAX_CURVES} curves (group fewer values, or filter)"
                        );
                    }
                    index.insert(label.to_owned(), groups.len());
                    groups.push((label.to_owned(), vec![]));
                    groups.len() - 1
                }
            };
            groups[g].1.push((t, u64::from(e), u64::from(!e)));
        }
    }
    if groups.is_empty() {
        return exec_err!("\\plot km: no rows with a time and an event");
    }
    // R's factor order: numeric when every label is a number, else byte order.
    let numbers: Option<Vec<f64>> = groups.iter().map(|g| g.0.parse::<f64>().ok()).collect();
    if let Some(numbers) = numbers {
        let mut keyed: Vec<(f64, (String, Rows))> = numbers.into_iter().zip(groups).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        groups = keyed.into_iter().map(|(_, g)| g).collect();
    } else {
        groups.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let p_value = if groups.len() >= 2 {
        let recs: Vec<GroupTimeCount> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, (_, rows))| {
                rows.iter()
                    .map(move |&(time, events, censored)| GroupTimeCount {
                        time,
                        group: g,
                        events,
                        censored,
                    })
            })
            .collect();
        survdiff_weighted(&[recs], groups.len(), opts.test).p_value
    } else {
        None
    };
    let curves: Vec<Curve> = groups
        .into_iter()
        .map(|(label, rows)| Curve {
            label,
            km: KaplanMeier::from_counts(&TimeCounts::from_unsorted(rows)),
        })
        .collect();
    let data_max = curves
        .iter()
        .filter_map(|c| c.km.time.last().copied())
        .fold(0.0_f64, f64::max);
    let xmax = opts.xmax.unwrap_or(data_max).max(f64::MIN_POSITIVE);
    let step = opts.break_every.unwrap_or_else(|| nice_step(xmax));
    // Checked before any tick is made: `--break 0.000001` over 120 months would otherwise ask
    // for 1.2e8 ticks.
    let intervals = (xmax / step).floor();
    if intervals >= MAX_TICKS as f64 {
        return exec_err!(
            "\\plot km: --break {step} gives {} ticks over [0, {xmax}]; at most {MAX_TICKS} fit (use a --break of at least {})",
            intervals + 1.0,
            nice_step_at_least(xmax / (MAX_TICKS - 1) as f64)
        );
    }
    let ticks: Vec<f64> = (0..)
        .map(|k| k as f64 * step)
        .take_while(|t| *t <= xmax * (1.0 + 1e-12))
        .collect();
    Ok(KmPlot {
        curves,
        p_value,
        test_name: test_name(opts.test),
        ticks,
        xmax,
    })
}

/// The event column of a plot query as flags (None = NULL): BOOLEAN, or numbers that must be
/// 0 or 1 — any other value is an error rather than silently read as an event.
fn event_flags(column: &ArrayRef) -> Result<Vec<Option<bool>>> {
    if let Some(b) = column.as_boolean_opt() {
        return Ok(b.iter().collect());
    }
    let values = cast(column, &DataType::Float64).map_err(|_| {
        DataFusionError::Execution(format!(
            "\\plot km: the event column must be 0/1 or boolean, found type {}",
            column.data_type()
        ))
    })?;
    values
        .as_primitive::<Float64Type>()
        .iter()
        .map(|v| match v {
            None => Ok(None),
            Some(x) if x == 0.0 || x == 1.0 => Ok(Some(x == 1.0)),
            Some(x) => exec_err!("\\plot km: the event column must be 0/1 or boolean, found {x}"),
        })
        .collect()
}

/// A "nice" tick spacing (1, 2, 2.5, 5 × 10^k) giving 4 to 10 intervals over [0, xmax].
pub fn nice_step(xmax: f64) -> f64 {
    nice_step_at_least(xmax / 6.0)
}

/// The smallest "nice" spacing (1, 2, 2.5, 5 × 10^k) ≥ `raw`.
fn nice_step_at_least(raw: f64) -> f64 {
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

fn tick_label(t: f64) -> String {
    if t.fract() == 0.0 {
        format!("{}", t as i64)
    } else {
        format!("{t}")
    }
}

/// The number at risk of each curve at each tick: subjects with time ≥ tick.
pub fn risk_table(plot: &KmPlot) -> Vec<Vec<u64>> {
    plot.curves
        .iter()
        .map(|c| {
            plot.ticks
                .iter()
                .map(|&t| c.km.at(t, ConfType::None, 0.95).n_risk as u64) // whole numbers: unweighted
                .collect()
        })
        .collect()
}

/// Writes the figure; the format follows the extension (.svg or .png).
pub fn write_figure(plot: &KmPlot, opts: &PlotOptions, path: &Path) -> Result<()> {
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
pub fn figure_svg(plot: &KmPlot, opts: &PlotOptions) -> Result<String> {
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

fn register_fonts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, FONT);
    });
}

/// Where the number-at-risk table goes: a title line and one line per curve, in at most 40%
/// of the figure. Lines shrink (down to 8 px) as curves are added; when even that does not
/// fit, the table is left out and a note says so.
struct TableLayout {
    shown: bool,
    /// Height of the table area, in pixels.
    height: i32,
    /// Height of one line and its font size.
    row: i32,
    font: i32,
}

impl TableLayout {
    fn new(figure_height: i32, curves: i32) -> TableLayout {
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

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    plot: &KmPlot,
    opts: &PlotOptions,
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let h = opts.height as i32;
    let n = plot.curves.len() as i32;
    let layout = TableLayout::new(h, n);
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
        .y_desc(opts.ylab.as_str())
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
        let km = &c.km;
        let clip = |t: f64| t.min(plot.xmax);
        if opts.ci {
            let b = km.bands(ConfType::Log, 0.95);
            let mut up = vec![(0.0, 1.0)];
            let mut lo = vec![(0.0, 1.0)];
            let (mut pu, mut pl) = (1.0, 1.0);
            for i in 0..km.time.len() {
                let t = clip(km.time[i]);
                let (u, l) = (b.upper[i], b.lower[i]);
                let (u, l) = (
                    if u.is_nan() { pu } else { u },
                    if l.is_nan() { 0.0 } else { l },
                );
                up.push((t, pu));
                up.push((t, u));
                lo.push((t, pl));
                lo.push((t, l));
                pu = u;
                pl = l;
            }
            // The band ends with the curve.
            let end = clip(km.time.last().copied().unwrap_or(0.0));
            up.push((end, pu));
            lo.push((end, pl));
            let mut poly = up;
            poly.extend(lo.into_iter().rev());
            chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.15))))?;
        }
        // The step function, from (0, 1) to the last time.
        let mut pts = vec![(0.0, 1.0)];
        let mut prev = 1.0;
        for i in 0..km.time.len() {
            let t = clip(km.time[i]);
            pts.push((t, prev));
            pts.push((t, km.surv[i]));
            prev = km.surv[i];
        }
        let label = format!("{} (n = {})", shorten(&c.label, LABEL_CHARS), km.n());
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
            });
        // Censoring ticks: '+' where a subject was censored without an event at that time.
        let marks: Vec<(f64, f64)> = (0..km.time.len())
            .filter(|&i| km.n_censor[i] > 0.0 && km.time[i] <= plot.xmax)
            .map(|i| (km.time[i], km.surv[i]))
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
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", legend_font))
            .draw()?;
    }
    if let Some(p) = plot.p_value {
        let (x, y) = chart.backend_coord(&(plot.xmax * 0.03, 0.08));
        root.draw(&Text::new(
            format!("{} {}", plot.test_name, format_p(p)),
            (x, y),
            ("sans-serif", 16).into_font(),
        ))?;
    }
    // Number-at-risk table, aligned with the x ticks.
    let top = h - layout.height + 10;
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

/// The curves drawn with characters, for a terminal `width` columns wide.
pub fn render_terminal(plot: &KmPlot, opts: &PlotOptions, width: u16) -> String {
    const SYMBOLS: [char; 8] = ['*', 'o', 'x', '#', '@', '%', '&', '$'];
    let label_w = 6usize;
    let cols = (width as usize).saturating_sub(label_w + 2).clamp(30, 160);
    let rows = 20usize;
    let mut grid = vec![vec![' '; cols]; rows + 1];
    let col_of = |t: f64| {
        ((t / plot.xmax) * (cols - 1) as f64)
            .round()
            .clamp(0.0, (cols - 1) as f64) as usize
    };
    let row_of = |s: f64| ((1.0 - s) * rows as f64).round().clamp(0.0, rows as f64) as usize;
    for (k, c) in plot.curves.iter().enumerate() {
        let sym = SYMBOLS[k % SYMBOLS.len()];
        for (col, cell) in (0..cols).map(|col| (col, col as f64 / (cols - 1) as f64 * plot.xmax)) {
            // S at this column's time: the last curve time <= t.
            let idx = c.km.time.partition_point(|&x| x <= cell);
            let s = if idx == 0 { 1.0 } else { c.km.surv[idx - 1] };
            let last = c.km.time.last().copied().unwrap_or(0.0);
            if cell > last + 1e-12 {
                break;
            }
            grid[row_of(s)][col] = sym;
        }
        for i in 0..c.km.time.len() {
            if c.km.n_censor[i] > 0.0 && c.km.time[i] <= plot.xmax {
                grid[row_of(c.km.surv[i])][col_of(c.km.time[i])] = '+';
            }
        }
    }
    let mut out = String::new();
    if let Some(t) = &opts.title {
        out.push_str(&format!("{t}\n"));
    }
    for (r, line) in grid.iter().enumerate() {
        let y = 1.0 - r as f64 / rows as f64;
        let lab = if r % 5 == 0 {
            format!("{y:>5.2}")
        } else {
            " ".repeat(5)
        };
        out.push_str(&format!(
            "{lab} |{}\n",
            line.iter().collect::<String>().trim_end()
        ));
    }
    out.push_str(&format!("{} +{}\n", " ".repeat(5), "-".repeat(cols)));
    // Tick labels under the axis.
    let mut axis = vec![' '; cols + 12];
    for &t in &plot.ticks {
        let s = tick_label(t);
        let c = col_of(t);
        for (k, ch) in s.chars().enumerate() {
            if let Some(slot) = axis.get_mut(label_w + 1 + c + k) {
                *slot = ch;
            }
        }
    }
    out.push_str(axis.iter().collect::<String>().trim_end());
    out.push('\n');
    out.push_str(&format!(
        "{:>w$}\n",
        opts.xlab,
        w = label_w + cols / 2 + opts.xlab.len() / 2
    ));
    for (k, c) in plot.curves.iter().enumerate() {
        out.push_str(&format!(
            "  {} {} (n = {}, events = {})\n",
            SYMBOLS[k % SYMBOLS.len()],
            c.label,
            c.km.n(),
            c.km.events()
        ));
    }
    out.push_str("  + censored\n");
    if let Some(p) = plot.p_value {
        out.push_str(&format!("  {} {}\n", plot.test_name, format_p(p)));
    }
    // Number at risk.
    out.push_str("Number at risk\n");
    let risk = risk_table(plot);
    let head: Vec<String> = plot
        .ticks
        .iter()
        .map(|&t| format!("{:>7}", tick_label(t)))
        .collect();
    out.push_str(&format!("{:<12}{}\n", "time", head.join("")));
    for (k, c) in plot.curves.iter().enumerate() {
        let vals: Vec<String> = risk[k].iter().map(|v| format!("{v:>7}")).collect();
        let name = shorten(&c.label, 11);
        out.push_str(&format!("{name:<12}{}\n", vals.join("")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_options_and_query() {
        let (kind, o, q) = parse_plot_args("km -o fig.svg --ci --title \"OS by grade\" --break 12 SELECT grade, os_months, died FROM t").unwrap();
        assert_eq!(kind, "km");
        assert_eq!(o.output, Some(PathBuf::from("fig.svg")));
        assert!(o.ci);
        assert_eq!(o.title.as_deref(), Some("OS by grade"));
        assert_eq!(o.break_every, Some(12.0));
        assert_eq!(q, "SELECT grade, os_months, died FROM t");
    }

    use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
    use std::sync::Arc;

    /// A (group, time, event) batch: subject i is in group `labels[i % labels.len()]`.
    fn batch(labels: &[&str], n: usize, event: impl Fn(usize) -> i64) -> RecordBatch {
        let g: Vec<&str> = (0..n).map(|i| labels[i % labels.len()]).collect();
        let t: Vec<f64> = (0..n).map(|i| 1.0 + (i * 7 % 97) as f64).collect();
        let e: Vec<i64> = (0..n).map(event).collect();
        RecordBatch::try_from_iter([
            ("g", Arc::new(StringArray::from(g)) as ArrayRef),
            ("t", Arc::new(Float64Array::from(t)) as ArrayRef),
            ("e", Arc::new(Int64Array::from(e)) as ArrayRef),
        ])
        .unwrap()
    }

    /// Regression: a label cut with `String::truncate(11)` panicked inside a multi-byte
    /// character ("Patienten ≥ 70 Jahre": byte 11 is inside '≥').
    #[test]
    fn non_ascii_labels_draw_everywhere() {
        let b = batch(
            &[
                "Patienten ≥ 70 Jahre",
                "jünger als 70",
                "日本語のラベル長い名前です",
            ],
            300,
            |i| (i % 3 != 0) as i64,
        );
        let opts = PlotOptions::default();
        let plot = km_plot_from_batches(&[b], &opts).unwrap();
        let text = render_terminal(&plot, &opts, 100);
        assert!(
            text.contains("Patienten …") || text.contains("Patienten ≥"),
            "{text}"
        );
        let dir = tempfile::tempdir().unwrap();
        for name in ["f.svg", "f.png"] {
            write_figure(&plot, &opts, &dir.path().join(name)).unwrap();
        }
        let svg = std::fs::read_to_string(dir.path().join("f.svg")).unwrap();
        assert!(svg.contains("jünger als 70"));
        assert_eq!(shorten("Patienten ≥ 70 Jahre", 11), "Patienten …");
        assert_eq!(shorten("ab", 11), "ab");
    }

    /// Regression: `--break 0.000001` built one tick per 1e-6 time units (> 4 GB).
    #[test]
    fn tick_count_is_bounded_before_ticks_are_made() {
        let (_, opts, _) = parse_plot_args("km --break 0.000001 SELECT g, t, e FROM x").unwrap();
        let err = km_plot_from_batches(&[batch(&["a"], 50, |_| 1)], &opts)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("--break") && err.contains("at most 60"),
            "{err}"
        );
        for bad in [
            "km --break 0 SELECT 1",
            "km --break -2 SELECT 1",
            "km --break NaN SELECT 1",
            "km --break inf SELECT 1",
            "km --xmax 0 SELECT 1",
            "km --xmax -1 SELECT 1",
            "km --width 10 SELECT 1",
            "km --width 1e9 SELECT 1",
            "km --height 640.5 SELECT 1",
            "km --height -640 SELECT 1",
        ] {
            let err = parse_plot_args(bad).err().unwrap().to_string();
            assert!(err.contains("must be"), "{bad}: {err}");
        }
    }

    /// `--test gehan`: the figure shows the Gehan-Breslow p-value, the one
    /// `logrank_weighted_test(..., 'gehan')` gives (the same `survdiff_weighted`).
    #[test]
    fn the_test_asked_for_is_shown() {
        let b = batch(&["a", "b"], 200, |i| (i % 3 != 0) as i64);
        let (_, gehan, _) = parse_plot_args("km --test gehan SELECT g, t, e FROM x").unwrap();
        let plot = km_plot_from_batches(std::slice::from_ref(&b), &gehan).unwrap();
        let logrank = km_plot_from_batches(&[b], &PlotOptions::default()).unwrap();
        assert_eq!(plot.test_name, "Gehan-Breslow");
        assert_eq!(logrank.test_name, "Log-rank");
        let (p, p_logrank) = (plot.p_value.unwrap(), logrank.p_value.unwrap());
        assert!(p > 0.0 && p <= 1.0 && p != p_logrank, "{p} {p_logrank}");
        let text = render_terminal(&plot, &gehan, 100);
        assert!(text.contains("Gehan-Breslow p"), "{text}");
        let svg = figure_svg(&plot, &gehan).unwrap();
        assert!(svg.contains("Gehan-Breslow p"), "{svg}");
        let (_, fh, _) = parse_plot_args("km --test fh(0,1) SELECT g, t, e FROM x").unwrap();
        assert_eq!(fh.test, Weighting::FlemingHarrington { p: 0.0, q: 1.0 });
        let err = parse_plot_args("km --test wilcox SELECT 1")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("--test must be one of"), "{err}");
    }

    #[test]
    fn event_values_other_than_0_1_are_errors() {
        let err = km_plot_from_batches(
            &[batch(&["a"], 10, |i| i as i64 % 3)],
            &PlotOptions::default(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("event column must be 0/1 or boolean, found 2"),
            "{err}"
        );
    }

    /// Many groups: the risk table shrinks, then is left out with a note; past MAX_CURVES the
    /// figure is refused with a clear error.
    #[test]
    fn many_groups_degrade_gracefully() {
        let names: Vec<String> = (0..MAX_CURVES).map(|i| format!("hospital {i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let dir = tempfile::tempdir().unwrap();
        for groups in [12, MAX_CURVES] {
            let plot = km_plot_from_batches(
                &[batch(&refs[..groups], 4000, |i| (i % 2) as i64)],
                &PlotOptions::default(),
            )
            .unwrap();
            let path = dir.path().join(format!("g{groups}.svg"));
            write_figure(&plot, &PlotOptions::default(), &path).unwrap();
            let svg = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                svg.contains("Number at risk not shown"),
                groups == MAX_CURVES,
                "{groups}"
            );
        }
        let mut more = refs.clone();
        more.push("one too many");
        let err = km_plot_from_batches(&[batch(&more, 4000, |_| 1)], &PlotOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("more than 64 groups"), "{err}");
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(120.0), 20.0);
        assert_eq!(nice_step(60.0), 10.0);
        assert_eq!(nice_step(14.0), 2.5);
    }
}

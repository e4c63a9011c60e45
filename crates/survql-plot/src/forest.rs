//! Forest plots of a model's hazard ratios, in the terminal and as SVG/PNG.

use super::*;

/// One row of a forest plot: a model term's ratio (exp(coef)) with its confidence limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestRow {
    pub term: String,
    pub estimate: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub p_value: Option<f64>,
}

/// A forest plot of a model's ratios.
#[derive(Debug, Clone)]
pub struct Forest {
    pub rows: Vec<ForestRow>,
    /// "HR" for Cox models, "TR" (time ratio) for survreg's log-time models.
    pub measure: String,
}

/// Builds a forest plot from a query returning one model result: a `cox_ph*`,
/// `finegray_ph` or `survreg` struct (its `terms` list) in the first column. Each term
/// shows exp(coef) with the limits the model reports (exp of survreg's, which are on the
/// coefficient scale); survreg's `(Intercept)` is left out.
pub fn forest_from_batches(batches: &[RecordBatch]) -> Result<Forest> {
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return exec_err!("\\plot forest: the query returned no rows");
    };
    let model = batch.column(0);
    let Some(model) = model.as_struct_opt() else {
        return exec_err!(
            "\\plot forest: the query must return a model, e.g. SELECT cox_ph(time, event, x1, x2) FROM ...; found {}",
            model.data_type()
        );
    };
    let Some(terms) = model.column_by_name("terms") else {
        return exec_err!("\\plot forest: the model has no terms (use cox_ph, cox_ph_strat, cox_ph_counting, finegray_ph or survreg)");
    };
    let survreg = model.column_by_name("scale").is_some();
    let terms = terms.as_list::<i32>();
    let items = terms.value(0);
    let items = items.as_struct();
    let text = |name: &str| -> Result<ArrayRef> {
        items
            .column_by_name(name)
            .map(|c| cast(c, &DataType::Utf8))
            .transpose()?
            .ok_or_else(|| {
                DataFusionError::Execution(format!("\\plot forest: terms lack '{name}'"))
            })
    };
    let number = |name: &str| -> Result<Option<ArrayRef>> {
        items
            .column_by_name(name)
            .map(|c| cast(c, &DataType::Float64))
            .transpose()
            .map_err(DataFusionError::from)
    };
    let term = text("term")?;
    let term = term.as_string::<i32>();
    let coef = number("coef")?
        .ok_or_else(|| DataFusionError::Execution("\\plot forest: terms lack 'coef'".into()))?;
    let coef = coef.as_primitive::<Float64Type>();
    let (lower, upper, p) = (number("lower")?, number("upper")?, number("p_value")?);
    let get = |a: &Option<ArrayRef>, i: usize| -> Option<f64> {
        a.as_ref().and_then(|a| {
            let a = a.as_primitive::<Float64Type>();
            (a.is_valid(i) && a.value(i).is_finite()).then(|| a.value(i))
        })
    };
    let mut rows = vec![];
    for i in 0..items.len() {
        let name = term.value(i).to_owned();
        if survreg && name == "(Intercept)" {
            continue;
        }
        if coef.is_null(i) {
            continue;
        }
        let limit = |v: Option<f64>| if survreg { v.map(f64::exp) } else { v };
        rows.push(ForestRow {
            term: name,
            estimate: coef.value(i).exp(),
            lower: limit(get(&lower, i)),
            upper: limit(get(&upper, i)),
            p_value: get(&p, i),
        });
    }
    if rows.is_empty() {
        return exec_err!("\\plot forest: the model has no estimated terms");
    }
    Ok(Forest {
        rows,
        measure: if survreg { "TR".into() } else { "HR".into() },
    })
}

/// "0.81 (0.62-1.05)".
pub(super) fn ratio_text(r: &ForestRow) -> String {
    match (r.lower, r.upper) {
        (Some(l), Some(u)) => format!("{:.2} ({:.2}-{:.2})", r.estimate, l, u),
        _ => format!("{:.2}", r.estimate),
    }
}

/// The forest plot drawn with characters: one line per term with its interval on a log axis.
pub fn render_forest_terminal(forest: &Forest, opts: &PlotOptions, width: u16) -> String {
    let (lo, hi) = forest_range(forest);
    let label_w = forest
        .rows
        .iter()
        .map(|r| r.term.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 24);
    let cols = (width as usize).saturating_sub(label_w + 32).clamp(20, 100);
    let col_of = |v: f64| {
        (((v.ln() - lo.ln()) / (hi.ln() - lo.ln())) * (cols - 1) as f64)
            .round()
            .clamp(0.0, (cols - 1) as f64) as usize
    };
    let mut out = String::new();
    if let Some(t) = &opts.title {
        out.push_str(&format!("{t}\n"));
    }
    out.push_str(&format!(
        "{:<label_w$}  {:^cols$}  {:<20}  p\n",
        "term",
        format!("{} (log scale)", forest.measure),
        format!("{} (95% CI)", forest.measure)
    ));
    for r in &forest.rows {
        let mut line = vec![' '; cols];
        if let (Some(l), Some(u)) = (r.lower, r.upper) {
            for c in line.iter_mut().take(col_of(u) + 1).skip(col_of(l)) {
                *c = '-';
            }
        }
        // The line of no effect: '|', or '+' where the interval crosses it.
        let one = col_of(1.0);
        line[one] = if line[one] == '-' { '+' } else { '|' };
        line[col_of(r.estimate)] = '#';
        let p = r.p_value.map_or(String::new(), |p| {
            format_p(p)
                .trim_start_matches("p ")
                .trim_start_matches("= ")
                .to_owned()
        });
        out.push_str(&format!(
            "{:<label_w$}  {}  {:<20}  {}\n",
            shorten(&r.term, label_w),
            line.iter().collect::<String>(),
            ratio_text(r),
            p
        ));
    }
    out.push_str(&format!(
        "{:<label_w$}  {:<w1$}{:>w2$}\n",
        "",
        format!("{lo:.2}"),
        format!("{hi:.2}"),
        w1 = cols / 2,
        w2 = cols - cols / 2
    ));
    out
}

/// The x range of a forest plot: every limit and 1, padded a little, on the log scale.
pub(super) fn forest_range(forest: &Forest) -> (f64, f64) {
    let mut lo: f64 = 1.0;
    let mut hi: f64 = 1.0;
    for r in &forest.rows {
        for v in [Some(r.estimate), r.lower, r.upper].into_iter().flatten() {
            if v > 0.0 && v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    let pad = ((hi.ln() - lo.ln()) * 0.08).max(0.05);
    ((lo.ln() - pad).exp(), (hi.ln() + pad).exp())
}

/// Writes the forest plot as SVG or PNG (by extension).
pub fn write_forest(forest: &Forest, opts: &PlotOptions, path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let err = |e: Box<dyn std::error::Error>| {
        DataFusionError::Execution(format!("\\plot: cannot draw {}: {e}", path.display()))
    };
    register_fonts();
    let height = opts
        .height
        .min(120 + 34 * forest.rows.len() as u32)
        .max(240);
    match ext.as_deref() {
        Some("svg") => draw_forest(
            SVGBackend::new(path, (opts.width, height)).into_drawing_area(),
            forest,
            opts,
        )
        .map_err(err),
        Some("png") => draw_forest(
            BitMapBackend::new(path, (opts.width, height)).into_drawing_area(),
            forest,
            opts,
        )
        .map_err(err),
        _ => exec_err!(
            "\\plot: the output file must end in .svg or .png, found {}",
            path.display()
        ),
    }
}

pub(super) fn draw_forest<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    forest: &Forest,
    opts: &PlotOptions,
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let n = forest.rows.len() as i32;
    let top = if opts.title.is_some() { 60 } else { 35 };
    let bottom = 50;
    let row_h = ((h - top - bottom) / n.max(1)).max(12);
    let label_w = 30
        + 8 * forest
            .rows
            .iter()
            .map(|r| r.term.chars().count() as i32)
            .max()
            .unwrap_or(4)
            .min(28);
    let text_w = 250;
    let (x0, x1) = (label_w, (w - text_w).max(label_w + 100));
    let (lo, hi) = forest_range(forest);
    let x_of = |v: f64| x0 + (((v.ln() - lo.ln()) / (hi.ln() - lo.ln())) * (x1 - x0) as f64) as i32;
    let font = ("sans-serif", 15).into_font();
    if let Some(t) = &opts.title {
        root.draw(&Text::new(
            t.clone(),
            (x0, 18),
            ("sans-serif", 22).into_font(),
        ))?;
    }
    root.draw(&Text::new(
        format!("{} (95% CI)", forest.measure),
        (x1 + 20, top - 25),
        font.clone().style(FontStyle::Bold),
    ))?;
    root.draw(&Text::new(
        "p",
        (w - 60, top - 25),
        font.clone().style(FontStyle::Bold),
    ))?;
    // The line of no effect.
    let one = x_of(1.0);
    root.draw(&PathElement::new(
        vec![(one, top - 8), (one, top + row_h * n)],
        BLACK.mix(0.6).stroke_width(1),
    ))?;
    for (i, r) in forest.rows.iter().enumerate() {
        let y = top + row_h * i as i32 + row_h / 2;
        root.draw(&Text::new(
            shorten(&r.term, LABEL_CHARS),
            (10, y - 8),
            font.clone(),
        ))?;
        if let (Some(l), Some(u)) = (r.lower, r.upper) {
            root.draw(&PathElement::new(
                vec![(x_of(l), y), (x_of(u), y)],
                PALETTE[0].stroke_width(2),
            ))?;
        }
        let x = x_of(r.estimate);
        root.draw(&Rectangle::new(
            [(x - 5, y - 5), (x + 5, y + 5)],
            PALETTE[0].filled(),
        ))?;
        root.draw(&Text::new(ratio_text(r), (x1 + 20, y - 8), font.clone()))?;
        if let Some(p) = r.p_value {
            let text = format_p(p);
            let text = text.trim_start_matches("p ").trim_start_matches("= ");
            root.draw(&Text::new(text.to_owned(), (w - 60, y - 8), font.clone()))?;
        }
    }
    // The log axis with ticks at "nice" ratios.
    let axis_y = top + row_h * n + 5;
    root.draw(&PathElement::new(vec![(x0, axis_y), (x1, axis_y)], BLACK))?;
    // 1-2-5 steps: evenly spread on the log axis, never crowded.
    for v in [
        0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
    ] {
        if v >= lo && v <= hi {
            let x = x_of(v);
            root.draw(&PathElement::new(vec![(x, axis_y), (x, axis_y + 5)], BLACK))?;
            root.draw(&Text::new(
                format!("{v}"),
                (x - 8, axis_y + 8),
                ("sans-serif", 13).into_font(),
            ))?;
        }
    }
    root.draw(&Text::new(
        format!("{} (log scale)", forest.measure),
        ((x0 + x1) / 2 - 40, axis_y + 26),
        ("sans-serif", 14).into_font(),
    ))?;
    root.present()?;
    Ok(())
}

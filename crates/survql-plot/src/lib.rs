//! # survql-plot
//!
//! Kaplan-Meier and cumulative-incidence figures: curves per group drawn in the terminal or
//! written as a publication-style SVG/PNG figure (censoring ticks, optional 95% band, legend
//! with the test's p-value, number-at-risk table under the axis). It takes data — query
//! results as Arrow record batches — and nothing else: the `survql` shell's `\plot km` /
//! `\plot cif` and the Python package's `survql.km_plot` / `survql.cif_plot` draw with it.
//! The statistics come from `survql-stats`, the drawing from `plotters`.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, UInt64Type};
use datafusion::common::{exec_err, DataFusionError, Result};
use plotters::prelude::*;
use survql_stats::logrank::{survdiff_weighted, GroupTimeCount, Weighting};
use survql_stats::{
    aalen_johansen, gray_test, CifCurve, CompetingCount, ConfType, GroupCauseCount, KaplanMeier,
    TimeCounts,
};

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

/// Options of `\plot km` and `\plot cif`.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    pub output: Option<PathBuf>,
    pub ci: bool,
    pub title: Option<String>,
    pub xlab: String,
    /// The y axis title; `None`: "Survival probability" or "Cumulative incidence".
    pub ylab: Option<String>,
    pub break_every: Option<f64>,
    pub xmax: Option<f64>,
    pub width: u32,
    pub height: u32,
    /// The test whose p-value the figure shows (`--test`; default the log-rank test).
    pub test: Weighting,
    /// `\plot cif`: the cause whose incidence is drawn per group (`--cause`, default 1).
    pub cause: u32,
    /// `\plot cif --stacked`: every cause of one sample, stacked.
    pub stacked: bool,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            output: None,
            ci: false,
            title: None,
            xlab: "Time".into(),
            ylab: None,
            break_every: None,
            xmax: None,
            width: 900,
            height: 640,
            test: Weighting::LogRank,
            cause: 1,
            stacked: false,
        }
    }
}

/// What a figure's curves estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotKind {
    /// Kaplan-Meier survival: curves fall from 1.
    Survival,
    /// Cumulative incidence (Aalen-Johansen): curves rise from 0.
    Incidence,
}

/// One curve to draw: a right-continuous step function.
pub struct Curve {
    pub label: String,
    /// The times where the curve may step, with its value from each on.
    pub time: Vec<f64>,
    pub value: Vec<f64>,
    /// Its pointwise 95% band (log transform, R's default); NaN where undefined.
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    /// A censoring at the time (drawn as a tick).
    pub censored: Vec<bool>,
    /// Number at risk just before each time (subjects with time ≥ t).
    pub n_risk: Vec<f64>,
    /// Events and censorings at each time, where known (empty otherwise): what the log-rank
    /// test of curves computed elsewhere is computed from.
    pub n_event: Vec<f64>,
    pub n_censor: Vec<f64>,
    /// The value before the first time (1 for survival, 0 for incidence).
    pub start: f64,
    /// Subjects (rows) and events (of the cause, for incidence).
    pub n: u64,
    pub events: f64,
}

impl Curve {
    /// The Kaplan-Meier curve of a sample.
    pub fn survival(label: String, km: &KaplanMeier) -> Curve {
        let bands = km.bands(ConfType::Log, 0.95);
        Curve {
            label,
            time: km.time.clone(),
            value: km.surv.clone(),
            lower: bands.lower,
            upper: bands.upper,
            censored: km.n_censor.iter().map(|&c| c > 0.0).collect(),
            n_risk: km.n_risk.clone(),
            n_event: km.n_event.clone(),
            n_censor: km.n_censor.clone(),
            start: 1.0,
            n: km.n(),
            events: km.events(),
        }
    }

    /// The cumulative incidence of a cause; `censored` marks the curve's times with a
    /// censoring.
    pub fn incidence(label: String, cif: &CifCurve, censored: Vec<bool>, n: u64) -> Curve {
        let bands = cif.bands(ConfType::Log, 0.95);
        Curve {
            label,
            time: cif.time.clone(),
            value: cif.cif.clone(),
            lower: bands.lower,
            upper: bands.upper,
            censored,
            n_risk: cif.n_risk.iter().map(|&v| v as f64).collect(),
            n_event: cif.n_event.iter().map(|&v| v as f64).collect(),
            n_censor: vec![],
            start: 0.0,
            n,
            events: cif.n_event.iter().sum::<u64>() as f64,
        }
    }

    /// The number at risk at `t`: at the first curve time ≥ t (0 after the last).
    fn at_risk(&self, t: f64) -> f64 {
        let i = self.time.partition_point(|&x| x < t);
        self.n_risk.get(i).copied().unwrap_or(0.0)
    }

    /// The value at `t` (the last step at or before it).
    fn value_at(&self, t: f64) -> f64 {
        let i = self.time.partition_point(|&x| x <= t);
        if i == 0 {
            self.start
        } else {
            self.value[i - 1]
        }
    }
}

/// Everything a figure shows.
pub struct Plot {
    pub kind: PlotKind,
    pub curves: Vec<Curve>,
    /// The p-value of `test` when there are at least two groups.
    pub p_value: Option<f64>,
    /// The test's name as the figure shows it ("Log-rank", "Gehan-Breslow", ...).
    pub test_name: String,
    pub ticks: Vec<f64>,
    pub xmax: f64,
    /// The curves carry their numbers at risk and of subjects (not so a model's predicted
    /// curve): without them the legend shows no n and the figure no number-at-risk table.
    pub counts: bool,
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

/// Splits `\plot km` / `\plot cif` arguments into options and the query (which starts at
/// the first SELECT or WITH).
pub fn parse_plot_args(args: &str) -> Result<(String, PlotOptions, String)> {
    let (kind, opts, query_start) = parse_kind_and_options(args)?;
    let Some(start) = query_start else {
        return exec_err!("\\plot: missing the query (SELECT <group>, <time>, <event> FROM ...)");
    };
    Ok((
        kind,
        opts,
        args[start..].trim().trim_end_matches(';').to_owned(),
    ))
}

/// A plot kind and its options without a query, as the command line's `--plot "cif --cause
/// 2"` gives them (the query comes separately, in `-c`, and is never re-parsed).
pub fn parse_plot_spec(spec: &str) -> Result<(String, PlotOptions)> {
    let (kind, opts, query_start) = parse_kind_and_options(spec)?;
    if query_start.is_some() {
        return exec_err!("--plot: give the query in -c, not in --plot ('{spec}')");
    }
    Ok((kind, opts))
}

/// The kind, the options, and the byte offset where a query starts (the first SELECT or
/// WITH), if one does.
fn parse_kind_and_options(args: &str) -> Result<(String, PlotOptions, Option<usize>)> {
    let tokens = shell_words(args);
    let mut opts = PlotOptions::default();
    let Some(kind) = tokens.first().map(|t| t.0.clone()) else {
        return exec_err!(
            "\\plot: usage: \\plot km [options] SELECT <group>, <time>, <event> FROM ..."
        );
    };
    let mut i = 1;
    while i < tokens.len() {
        let (tok, offset) = (&tokens[i].0, tokens[i].1);
        let upper = tok.to_ascii_uppercase();
        if upper == "SELECT" || upper == "WITH" || upper == "(SELECT" {
            return Ok((kind, opts, Some(offset)));
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
            "--ylab" => opts.ylab = Some(value("--ylab")?),
            "--cause" => {
                let v = number("--cause", value("--cause")?)?;
                if !(v >= 1.0 && v.fract() == 0.0 && v <= u32::MAX as f64) {
                    return exec_err!("\\plot: --cause must be a whole number >= 1, found {v}");
                }
                opts.cause = v as u32;
            }
            "--stacked" => opts.stacked = true,
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
    Ok((kind, opts, None))
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
pub fn km_plot_from_batches(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Plot> {
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
            let g = group_slot(&mut groups, &mut index, label, "km")?;
            groups[g].1.push((t, u64::from(e), u64::from(!e)));
        }
    }
    if groups.is_empty() {
        return exec_err!("\\plot km: no rows with a time and an event");
    }
    sort_groups(&mut groups);
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
        .map(|(label, rows)| {
            Curve::survival(
                label,
                &KaplanMeier::from_counts(&TimeCounts::from_unsorted(rows)),
            )
        })
        .collect();
    finish(
        PlotKind::Survival,
        curves,
        p_value,
        test_name(opts.test),
        opts,
    )
}

/// The figure around its curves: the x range and ticks (checked before any tick is made:
/// `--break 0.000001` over 120 months would otherwise ask for 1.2e8 ticks).
fn finish(
    kind: PlotKind,
    curves: Vec<Curve>,
    p_value: Option<f64>,
    test_name: String,
    opts: &PlotOptions,
) -> Result<Plot> {
    let data_max = curves
        .iter()
        .filter_map(|c| c.time.last().copied())
        .fold(0.0_f64, f64::max);
    let xmax = opts.xmax.unwrap_or(data_max).max(f64::MIN_POSITIVE);
    let step = opts.break_every.unwrap_or_else(|| nice_step(xmax));
    let intervals = (xmax / step).floor();
    if intervals >= MAX_TICKS as f64 {
        return exec_err!(
            "\\plot: --break {step} gives {} ticks over [0, {xmax}]; at most {MAX_TICKS} fit (use a --break of at least {})",
            intervals + 1.0,
            nice_step_at_least(xmax / (MAX_TICKS - 1) as f64)
        );
    }
    let ticks: Vec<f64> = (0..)
        .map(|k| k as f64 * step)
        .take_while(|t| *t <= xmax * (1.0 + 1e-12))
        .collect();
    Ok(Plot {
        kind,
        curves,
        p_value,
        test_name,
        ticks,
        xmax,
        counts: true,
    })
}

/// The position of `label` among the plot's groups, adding it (with no rows yet) when new;
/// an error past [`MAX_CURVES`] groups.
fn group_slot<T>(
    groups: &mut Vec<(String, Vec<T>)>,
    index: &mut std::collections::HashMap<String, usize>,
    label: &str,
    kind: &str,
) -> Result<usize> {
    if let Some(&g) = index.get(label) {
        return Ok(g);
    }
    if groups.len() == MAX_CURVES {
        return exec_err!(
            "\\plot {kind}: the query has more than {MAX_CURVES} groups; a figure can show at most {MAX_CURVES} curves (group fewer values, or filter)"
        );
    }
    index.insert(label.to_owned(), groups.len());
    groups.push((label.to_owned(), vec![]));
    Ok(groups.len() - 1)
}

/// R's factor order of group labels: numeric when every label is a number, else byte order.
fn sort_groups<T>(groups: &mut Vec<(String, T)>) {
    let numbers: Option<Vec<f64>> = groups.iter().map(|g| g.0.parse::<f64>().ok()).collect();
    match numbers {
        Some(numbers) => {
            let mut keyed: Vec<(f64, (String, T))> =
                numbers.into_iter().zip(groups.drain(..)).collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            groups.extend(keyed.into_iter().map(|(_, g)| g));
        }
        None => groups.sort_by(|a, b| a.0.cmp(&b.0)),
    }
}

/// Builds the curves of a result whose rows each hold one computed curve: columns
/// `(label, curve)` or `(curve)`, the curve a LIST of STRUCT with `time` and `surv` (a
/// survival curve: `km_curve`, `cox_curve`) or `cif` (an incidence: `cif_curve`), and
/// optionally `lower`/`upper` (the band drawn with `--ci`), `n_risk` (the number-at-risk
/// table, when every curve has it), `n_censor` (censoring ticks) and `n_event`. The curves
/// are computed by the query, where the data are: only the curves come to the client.
pub fn curve_plot_from_batches(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Plot> {
    let Some(first) = batches.first() else {
        return exec_err!("\\plot curve: the query returned no rows");
    };
    let ncol = first.num_columns();
    if !(1..=2).contains(&ncol) {
        return exec_err!(
            "\\plot curve: the query must return (label, curve) or (curve), found {ncol} columns"
        );
    }
    let mut kind = None;
    let mut counts = true;
    let mut curves: Vec<(String, Vec<Curve>)> = vec![];
    let mut index = std::collections::HashMap::new();
    for b in batches {
        let labels = if ncol == 2 {
            Some(cast(b.column(0), &DataType::Utf8)?)
        } else {
            None
        };
        let labels = labels.as_ref().map(|l| l.as_string::<i32>());
        let Some(list) = b.column(ncol - 1).as_list_opt::<i32>() else {
            return exec_err!(
                "\\plot curve: the last column must be a curve (a LIST of STRUCT, as km_curve, cox_curve or cif_curve return), found {}",
                b.column(ncol - 1).data_type()
            );
        };
        let Some(items) = list.values().as_struct_opt() else {
            return exec_err!(
                "\\plot curve: the curve's elements must be STRUCTs with time and surv (or cif)"
            );
        };
        let field = |name: &str| -> Result<Option<Vec<f64>>> {
            match items.column_by_name(name) {
                None => Ok(None),
                Some(c) => {
                    let c = cast(c, &DataType::Float64)?;
                    let c = c.as_primitive::<Float64Type>();
                    Ok(Some(
                        (0..c.len())
                            .map(|i| if c.is_null(i) { f64::NAN } else { c.value(i) })
                            .collect(),
                    ))
                }
            }
        };
        let Some(time) = field("time")? else {
            return exec_err!("\\plot curve: the curve's elements have no 'time' field");
        };
        let (value, this_kind) = match (field("surv")?, field("cif")?) {
            (Some(v), _) => (v, PlotKind::Survival),
            (None, Some(v)) => (v, PlotKind::Incidence),
            (None, None) => {
                return exec_err!(
                    "\\plot curve: the curve's elements have neither 'surv' nor 'cif'"
                )
            }
        };
        if kind.is_some_and(|k| k != this_kind) {
            return exec_err!("\\plot curve: survival and incidence curves cannot share a figure");
        }
        kind = Some(this_kind);
        let nan = || vec![f64::NAN; time.len()];
        let lower = field("lower")?.unwrap_or_else(nan);
        let upper = field("upper")?.unwrap_or_else(nan);
        let n_risk = field("n_risk")?;
        let n_censor = field("n_censor")?;
        let n_event = field("n_event")?;
        counts &= n_risk.is_some();
        let offsets = list.value_offsets();
        for row in 0..list.len() {
            if list.is_null(row) || labels.is_some_and(|l| l.is_null(row)) {
                continue;
            }
            let (a, z) = (offsets[row] as usize, offsets[row + 1] as usize);
            if let Some(t) = time[a..z].iter().find(|t| !t.is_finite()) {
                return exec_err!("\\plot curve: time must be finite, found {t}");
            }
            let label = labels.map_or("All", |l| l.value(row));
            let slot = group_slot(&mut curves, &mut index, label, "curve")?;
            if !curves[slot].1.is_empty() {
                return exec_err!("\\plot curve: two rows have the label '{label}'; give each curve its own label");
            }
            let start = match this_kind {
                PlotKind::Survival => 1.0,
                PlotKind::Incidence => 0.0,
            };
            let n_risk = n_risk.as_ref().map_or(vec![], |v| v[a..z].to_vec());
            curves[slot].1.push(Curve {
                label: label.to_owned(),
                time: time[a..z].to_vec(),
                value: value[a..z].to_vec(),
                lower: lower[a..z].to_vec(),
                upper: upper[a..z].to_vec(),
                censored: n_censor.as_ref().map_or(vec![false; z - a], |v| {
                    v[a..z].iter().map(|&c| c > 0.0).collect()
                }),
                n: n_risk.first().map_or(0, |&n| n as u64),
                n_risk,
                n_event: n_event.as_ref().map_or(vec![], |v| v[a..z].to_vec()),
                n_censor: n_censor.as_ref().map_or(vec![], |v| v[a..z].to_vec()),
                start,
                events: n_event
                    .as_ref()
                    .map_or(0.0, |v| v[a..z].iter().filter(|e| e.is_finite()).sum()),
            });
        }
    }
    if curves.is_empty() {
        return exec_err!("\\plot curve: no curves (every row is NULL)");
    }
    sort_groups(&mut curves);
    let curves: Vec<Curve> = curves.into_iter().flat_map(|(_, c)| c).collect();
    let mut plot = finish(
        kind.unwrap_or(PlotKind::Survival),
        curves,
        None,
        String::new(),
        opts,
    )?;
    plot.counts = counts;
    Ok(plot)
}

/// The Kaplan-Meier figure of `\\plot km` from curves computed where the data are: rows
/// `(group, km_curve(time, event))` or `(km_curve(time, event))` (a `GROUP BY` query), and
/// the p-value of `opts.test` across the groups from the curves' events and censorings per
/// time — the counts the test needs, so the figure is the one the raw rows give, without
/// the rows leaving the query.
pub fn km_plot_from_curves(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Plot> {
    let mut plot = curve_plot_from_batches(batches, opts)?;
    if plot.kind != PlotKind::Survival || !plot.counts {
        return exec_err!("\\plot km: the curves must be km_curve results (time, n_risk, n_event, n_censor, surv, ...)");
    }
    if plot.curves.len() >= 2 {
        let mut recs = vec![];
        for (g, c) in plot.curves.iter().enumerate() {
            if c.n_event.len() != c.time.len() || c.n_censor.len() != c.time.len() {
                return exec_err!("\\plot km: the curves lack n_event / n_censor");
            }
            for i in 0..c.time.len() {
                recs.push(GroupTimeCount {
                    time: c.time[i],
                    group: g,
                    events: c.n_event[i] as u64,
                    censored: c.n_censor[i] as u64,
                });
            }
        }
        plot.p_value = survdiff_weighted(&[recs], plot.curves.len(), opts.test).p_value;
    }
    plot.test_name = test_name(opts.test);
    Ok(plot)
}

/// Builds the cumulative-incidence curves from a result whose columns are (group, time,
/// status) or (time, status), status 0 = censored and k ≥ 1 = cause k: per group the
/// Aalen-Johansen incidence of `opts.cause` with Gray's test across groups (as `cif_curve`
/// and `gray_test`), or with `opts.stacked` every cause of the one sample, each curve the sum
/// of the incidences up to its cause.
pub fn cif_plot_from_batches(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Plot> {
    cif_plot(batches, opts, false)
}

/// [`cif_plot_from_batches`] from counted rows: (group, time, status, count) or (time,
/// status, count), each row standing for `count` subjects, as `SELECT g, t, s, count(*) ...
/// GROUP BY g, t, s` returns them. The figure is the one the subjects' rows give (the
/// estimators add the counts up as they would add the rows), but the query sends one row per
/// distinct (group, time, status) to the client instead of one per subject.
pub fn cif_plot_from_counts(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Plot> {
    cif_plot(batches, opts, true)
}

/// (time, status, subjects) of one group.
type CountedRow = (f64, u32, u64);

fn cif_plot(batches: &[RecordBatch], opts: &PlotOptions, counted: bool) -> Result<Plot> {
    let Some(first) = batches.first() else {
        return exec_err!("\\plot cif: the query returned no rows");
    };
    // The columns besides the count.
    let ncol = first.num_columns() - usize::from(counted);
    if !(2..=3).contains(&ncol) {
        return exec_err!("\\plot cif: the query must return (group, time, status) or (time, status), found {ncol} columns");
    }
    if opts.stacked && ncol == 3 {
        return exec_err!("\\plot cif: --stacked draws the causes of one sample: return (time, status) without a group column");
    }
    let mut groups: Vec<(String, Vec<CountedRow>)> = vec![];
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for b in batches {
        let counts = if counted {
            Some(cast(b.column(ncol), &DataType::UInt64)?)
        } else {
            None
        };
        let counts = counts.as_ref().map(|c| c.as_primitive::<UInt64Type>());
        let labels = if ncol == 3 {
            Some(cast(b.column(0), &DataType::Utf8)?)
        } else {
            None
        };
        let labels = labels.as_ref().map(|l| l.as_string::<i32>());
        let time = cast(b.column(ncol - 2), &DataType::Float64)?;
        let time = time.as_primitive::<Float64Type>();
        let status = cast(b.column(ncol - 1), &DataType::Float64).map_err(|_| {
            DataFusionError::Execution(format!(
                "\\plot cif: the status column must be 0 (censored) or a cause code 1, 2, ..., found type {}",
                b.column(ncol - 1).data_type()
            ))
        })?;
        let status = status.as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if time.is_null(i) || status.is_null(i) || labels.is_some_and(|l| l.is_null(i)) {
                continue;
            }
            let (t, st) = (time.value(i), status.value(i));
            if !t.is_finite() {
                return exec_err!("\\plot cif: time must be finite, found {t}");
            }
            if !(st >= 0.0 && st.fract() == 0.0 && st <= u32::MAX as f64) {
                return exec_err!("\\plot cif: the status column must be 0 (censored) or a cause code 1, 2, ..., found {st}");
            }
            let count = counts.map_or(1, |c| c.value(i));
            if count == 0 {
                continue;
            }
            let label = labels.map_or("All", |l| l.value(i));
            let g = group_slot(&mut groups, &mut index, label, "cif")?;
            // `+ 0.0`: -0.0 and 0.0 are one time.
            groups[g].1.push((t + 0.0, st as u32, count));
        }
    }
    if groups.is_empty() {
        return exec_err!("\\plot cif: no rows with a time and a status");
    }
    // One record per distinct (time, status), in order, as `cif_curve` and `gray_test` hold
    // their counts: the estimators' floating-point sums then run over the same records in
    // the same order whether the rows came one per subject or counted.
    for (_, rows) in &mut groups {
        rows.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        rows.dedup_by(|next, kept| {
            let same = next.0 == kept.0 && next.1 == kept.1;
            if same {
                kept.2 += next.2;
            }
            same
        });
    }
    sort_groups(&mut groups);
    let curve_of = |label: String, rows: &[CountedRow], cause: u32| -> Result<Curve> {
        let counts: Vec<CompetingCount> = rows
            .iter()
            .map(|&(t, st, n)| CompetingCount::new(t, st, n))
            .collect();
        let cif = aalen_johansen(&counts, cause)
            .map_err(|e| DataFusionError::Execution(format!("\\plot cif: {e}")))?;
        let censored_at: std::collections::HashSet<u64> = rows
            .iter()
            .filter(|r| r.1 == 0)
            .map(|r| (r.0 + 0.0).to_bits())
            .collect();
        let censored = cif
            .time
            .iter()
            .map(|t| censored_at.contains(&(t + 0.0).to_bits()))
            .collect();
        let subjects = rows.iter().map(|r| r.2).sum();
        Ok(Curve::incidence(label, &cif, censored, subjects))
    };
    if opts.stacked {
        let rows = &groups[0].1;
        let mut causes: Vec<u32> = rows.iter().map(|r| r.1).filter(|&c| c > 0).collect();
        causes.sort_unstable();
        causes.dedup();
        if causes.is_empty() {
            return exec_err!("\\plot cif --stacked: no events");
        }
        if causes.len() > MAX_CURVES {
            return exec_err!("\\plot cif --stacked: more than {MAX_CURVES} causes");
        }
        let mut curves: Vec<Curve> = vec![];
        for &cause in &causes {
            let mut c = curve_of(format!("cause {cause}"), rows, cause)?;
            // Stacked: add the curve below (the same times: every distinct time of the sample).
            if let Some(below) = curves.last() {
                for (v, b) in c.value.iter_mut().zip(&below.value) {
                    *v += b;
                }
                // A band of a sum of incidences is not the band of one: none drawn.
                c.lower.iter_mut().for_each(|v| *v = f64::NAN);
                c.upper.iter_mut().for_each(|v| *v = f64::NAN);
            }
            curves.push(c);
        }
        if curves.len() > 1 {
            curves[0].lower.iter_mut().for_each(|v| *v = f64::NAN);
            curves[0].upper.iter_mut().for_each(|v| *v = f64::NAN);
        }
        return finish(PlotKind::Incidence, curves, None, String::new(), opts);
    }
    let p_value = if groups.len() >= 2 {
        let mut counts: Vec<GroupCauseCount> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, (_, rows))| {
                rows.iter()
                    .map(move |&(time, status, count)| GroupCauseCount {
                        time,
                        group: g,
                        status,
                        count,
                    })
            })
            .collect();
        counts.sort_by(|a, b| {
            a.time
                .total_cmp(&b.time)
                .then(a.group.cmp(&b.group))
                .then(a.status.cmp(&b.status))
        });
        gray_test(&counts, groups.len(), opts.cause, 0.0).p_value
    } else {
        None
    };
    let curves = groups
        .iter()
        .map(|(label, rows)| curve_of(label.clone(), rows, opts.cause))
        .collect::<Result<Vec<_>>>()?;
    finish(
        PlotKind::Incidence,
        curves,
        p_value,
        "Gray's test".into(),
        opts,
    )
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

/// The y axis title: `--ylab`, or what the curves estimate.
fn ylab<'a>(plot: &Plot, opts: &'a PlotOptions) -> &'a str {
    match (&opts.ylab, plot.kind) {
        (Some(y), _) => y,
        (None, PlotKind::Survival) => "Survival probability",
        (None, PlotKind::Incidence) => "Cumulative incidence",
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
    /// No table and no note (curves without numbers at risk).
    fn none() -> TableLayout {
        TableLayout {
            shown: false,
            height: 0,
            row: 0,
            font: 0,
        }
    }

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

/// The curves drawn with characters, for a terminal `width` columns wide.
pub fn render_terminal(plot: &Plot, opts: &PlotOptions, width: u16) -> String {
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
            // The value at this column's time: the last curve time <= t.
            let s = c.value_at(cell);
            let last = c.time.last().copied().unwrap_or(0.0);
            if cell > last + 1e-12 {
                break;
            }
            grid[row_of(s)][col] = sym;
        }
        for i in 0..c.time.len() {
            if c.censored[i] && c.time[i] <= plot.xmax {
                grid[row_of(c.value[i])][col_of(c.time[i])] = '+';
            }
        }
    }
    let mut out = String::new();
    if let Some(t) = &opts.title {
        out.push_str(&format!("{t}\n"));
    }
    out.push_str(&format!("{}\n", ylab(plot, opts)));
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
        let counts = if plot.counts {
            format!(" (n = {}, events = {})", c.n, c.events)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "  {} {}{counts}\n",
            SYMBOLS[k % SYMBOLS.len()],
            c.label
        ));
    }
    if plot.curves.iter().any(|c| c.censored.iter().any(|&x| x)) {
        out.push_str("  + censored\n");
    }
    if let Some(p) = plot.p_value {
        out.push_str(&format!("  {} {}\n", plot.test_name, format_p(p)));
    }
    if !plot.counts {
        return out;
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
fn ratio_text(r: &ForestRow) -> String {
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
fn forest_range(forest: &Forest) -> (f64, f64) {
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

fn draw_forest<DB: DrawingBackend>(
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

    /// Everything a curve draws, floats as bits (NaN included).
    fn curve_bits(c: &Curve) -> (String, Vec<Vec<u64>>, Vec<bool>, u64, u64) {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
        (
            c.label.clone(),
            vec![
                bits(&c.time),
                bits(&c.value),
                bits(&c.lower),
                bits(&c.upper),
                bits(&c.n_risk),
            ],
            c.censored.clone(),
            c.n,
            c.events.to_bits(),
        )
    }

    /// `\plot cif` draws from the subjects per (group, time, status), which the shell counts
    /// in the query: the same figure as from one row per subject, bit for bit, whatever the
    /// order and batching of the counts.
    #[test]
    fn incidence_from_counts_is_incidence_from_rows() {
        let rows = batch(&["a", "b", "c"], 600, |i| (i * 5 % 3) as i64);
        let mut cells: std::collections::BTreeMap<(String, u64, i64), u64> = Default::default();
        let (g, t, st) = (
            rows.column(0).as_string::<i32>(),
            rows.column(1).as_primitive::<Float64Type>(),
            rows.column(2)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>(),
        );
        for i in 0..rows.num_rows() {
            *cells
                .entry((g.value(i).to_owned(), t.value(i).to_bits(), st.value(i)))
                .or_default() += 1;
        }
        // Counts in reverse order, over two batches.
        let cells: Vec<_> = cells.into_iter().rev().collect();
        let counted = |with_group: bool| -> Vec<RecordBatch> {
            cells
                .chunks(cells.len() / 2 + 1)
                .map(|part| {
                    let mut columns: Vec<(&str, ArrayRef)> = vec![];
                    if with_group {
                        let g: Vec<&str> = part.iter().map(|c| c.0 .0.as_str()).collect();
                        columns.push(("g", Arc::new(StringArray::from(g))));
                    }
                    let t: Vec<f64> = part.iter().map(|c| f64::from_bits(c.0 .1)).collect();
                    let s: Vec<i64> = part.iter().map(|c| c.0 .2).collect();
                    let n: Vec<i64> = part.iter().map(|c| c.1 as i64).collect();
                    columns.push(("t", Arc::new(Float64Array::from(t))));
                    columns.push(("s", Arc::new(Int64Array::from(s))));
                    columns.push(("n", Arc::new(Int64Array::from(n))));
                    RecordBatch::try_from_iter(columns).unwrap()
                })
                .collect()
        };
        let one_sample = RecordBatch::try_from_iter([
            ("t", Arc::clone(rows.column(1))),
            ("s", Arc::clone(rows.column(2))),
        ])
        .unwrap();
        for args in ["cif --cause 1", "cif --cause 2 --ci", "cif --stacked"] {
            let (_, opts, _) = parse_plot_args(&format!("{args} SELECT 1")).unwrap();
            let (from_rows, from_counts) = if opts.stacked {
                (
                    cif_plot_from_batches(std::slice::from_ref(&one_sample), &opts).unwrap(),
                    cif_plot_from_counts(&counted(false), &opts).unwrap(),
                )
            } else {
                (
                    cif_plot_from_batches(std::slice::from_ref(&rows), &opts).unwrap(),
                    cif_plot_from_counts(&counted(true), &opts).unwrap(),
                )
            };
            assert_eq!(from_rows.curves.len(), from_counts.curves.len(), "{args}");
            assert!(!from_rows.curves.is_empty());
            for (a, b) in from_rows.curves.iter().zip(&from_counts.curves) {
                assert_eq!(curve_bits(a), curve_bits(b), "{args}");
            }
            assert_eq!(
                from_rows.p_value.map(f64::to_bits),
                from_counts.p_value.map(f64::to_bits),
                "{args}"
            );
            assert_eq!(from_rows.xmax.to_bits(), from_counts.xmax.to_bits());
        }
    }

    /// `\plot cif`: per group the Aalen-Johansen incidence of the cause (the numbers of
    /// `cif_curve`), Gray's test p; stacked, the causes add up to 1 − S (Kaplan-Meier of any
    /// event).
    #[test]
    fn cumulative_incidence_curves() {
        // status: 0, 1, 2 cycling; groups a/b.
        let b = batch(&["a", "b"], 300, |i| (i % 3) as i64);
        let (_, opts, _) = parse_plot_args("cif --cause 2 SELECT g, t, s FROM x").unwrap();
        assert_eq!(opts.cause, 2);
        let plot = cif_plot_from_batches(std::slice::from_ref(&b), &opts).unwrap();
        assert_eq!(plot.kind, PlotKind::Incidence);
        assert_eq!(plot.curves.len(), 2);
        let c = &plot.curves[0];
        assert_eq!(c.start, 0.0);
        assert!(
            c.value.windows(2).all(|w| w[1] >= w[0]),
            "incidence never falls"
        );
        let p = plot.p_value.unwrap();
        assert!(p > 0.0 && p <= 1.0);
        let text = render_terminal(&plot, &opts, 100);
        assert!(
            text.contains("Cumulative incidence") && text.contains("Gray's test p"),
            "{text}"
        );
        // One sample, stacked.
        let one = RecordBatch::try_from_iter([
            ("t", Arc::clone(b.column(1))),
            ("s", Arc::clone(b.column(2))),
        ])
        .unwrap();
        let (_, stacked, _) = parse_plot_args("cif --stacked SELECT t, s FROM x").unwrap();
        let plot = cif_plot_from_batches(std::slice::from_ref(&one), &stacked).unwrap();
        assert_eq!(plot.curves.len(), 2);
        let events: Vec<(f64, bool)> = (0..300)
            .map(|i| (1.0 + (i * 7 % 97) as f64, i % 3 != 0))
            .collect();
        let (t, e): (Vec<f64>, Vec<bool>) = events.into_iter().unzip();
        let km = KaplanMeier::from_counts(&TimeCounts::from_subjects(&t, &e));
        let top = &plot.curves[1];
        for (i, &time) in top.time.iter().enumerate() {
            let s = km.at(time, ConfType::None, 0.95).surv;
            assert!((top.value[i] - (1.0 - s)).abs() < 1e-12, "at {time}");
        }
        let err = cif_plot_from_batches(&[b], &stacked)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("--stacked draws the causes of one sample"),
            "{err}"
        );
        let bad = batch(&["a"], 10, |i| if i == 3 { -1 } else { 1 });
        let err = cif_plot_from_batches(&[bad], &PlotOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("status column must be 0 (censored) or a cause code"),
            "{err}"
        );
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(120.0), 20.0);
        assert_eq!(nice_step(60.0), 10.0);
        assert_eq!(nice_step(14.0), 2.5);
    }
}

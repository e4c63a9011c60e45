//! # survql-plot
//!
//! Kaplan-Meier and cumulative-incidence figures: curves per group drawn in the terminal or
//! written as a publication-style SVG/PNG figure (censoring ticks, optional 95% band, legend
//! with the test's p-value, number-at-risk table under the axis). It takes data — query
//! results as Arrow record batches — and nothing else: the `survql` shell's `\plot km` /
//! `\plot cif` and the Python package's `survql.km_plot` / `survql.cif_plot` draw with it.
//! The statistics come from `survql-stats`, the drawing from `plotters`.
//!
//! The path of a figure: [`options`] parses what the user asked for, [`estimate`] turns query
//! rows into a [`Plot`] (curves, test, numbers at risk), [`draw`] writes SVG/PNG,
//! [`terminal`] prints it; [`forest`] does the same for a model's hazard ratios, and
//! [`diagnostic`] for a Cox model's residual figures (`\plot residuals`, `\plot zph`).

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

mod diagnostic;
mod draw;
mod estimate;
mod forest;
mod options;
mod terminal;
#[cfg(test)]
mod tests;

pub use diagnostic::*;
pub use draw::*;
pub use estimate::*;
pub use forest::*;
pub use options::*;
pub use terminal::*;

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
    /// `\plot zph --transform`: the time scale (cox.zph's transform, default km).
    pub transform: survql_stats::cox::ZphTransform,
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
            transform: survql_stats::cox::ZphTransform::Km,
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

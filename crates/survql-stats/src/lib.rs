//! # survql-stats
//!
//! Survival-analysis estimators that give the numbers of R's `survival` package (3.5-3):
//! Kaplan-Meier and Nelson-Aalen curves with their confidence bands, medians and quantiles
//! ([`km`]), log-rank tests ([`logrank`]), Cox proportional hazards ([`cox`]), proportion
//! confidence intervals and contingency-table tests ([`proportion`], [`contingency`]).
//!
//! Plain functions over slices, no Arrow or DataFusion: the `datafusion-survival` crate wraps
//! them as SQL aggregate functions. Each public function documents its formula and the R
//! function it reproduces; the test-suite compares them with R's own output.

// Index loops mirror the formulas (and R's C code) they implement.
#![allow(clippy::needless_range_loop)]
// Constants and reference values are quoted with the digits they were published/computed with.
#![allow(clippy::excessive_precision)]

pub mod competing;
pub mod contingency;
pub mod contrasts;
pub mod convention;
pub mod cox;
pub mod cox_adjusted_curve;
pub mod cox_curve;
pub mod design;
pub mod distributions;
pub mod finegray;
pub mod firth;
pub mod km;
pub mod life_table;
pub mod linalg;
pub mod logrank;
pub mod lowess;
pub mod multiplicity;
pub mod proportion;
pub mod special;
pub mod survreg;
pub mod validation;

pub use competing::{
    aalen_johansen, gray_test, CifCurve, CompetingCount, GrayTest, GroupCauseCount,
};
pub use convention::Convention;
pub use finegray::{fine_gray, FineGrayData, FineGrayFit, FineGrayOptions};
pub use km::{
    Bands, ConfType, KaplanMeier, Quantile, Rmst, SurvivalAt, TimeCounts, WeightedRecord,
};
pub use logrank::{
    survdiff, survdiff_weighted, trend_test, GroupTimeCount, Survdiff, TrendTest, Weighting,
};
pub use multiplicity::{p_adjust, PAdjust};
pub use survreg::{survreg, Dist, SurvregFit, SurvregOptions, SurvregTerm};

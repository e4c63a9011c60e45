//! Expression builders and singletons for DataFrame users, as DataFusion's own aggregates
//! provide them (`datafusion::functions_aggregate::expr_fn::sum`, `sum_udaf()`):
//!
//! ```
//! # async fn f() -> datafusion::common::Result<()> {
//! use datafusion::prelude::*;
//! use datafusion_survival::expr_fn::{km_median, logrank_p};
//!
//! let ctx = SessionContext::new();
//! let df = ctx.sql("SELECT * FROM (VALUES (5.0, 1, 'a'), (8.0, 0, 'a'), (3.0, 1, 'b'), (9.0, 1, 'b')) AS t(months, died, arm)").await?;
//! let by_arm = df.clone().aggregate(vec![col("arm")], vec![km_median(col("months"), col("died")).alias("median")])?;
//! let p = df.aggregate(vec![], vec![logrank_p(col("months"), col("died"), col("arm"))])?;
//! # by_arm.collect().await?; p.collect().await?;
//! # Ok(()) }
//! ```
//!
//! Each builder takes the function's required arguments; the optional ones (conf_type,
//! conf_level, options strings, ...) go through the singleton:
//! `km_curve_udaf().call(vec![col("t"), col("e"), lit("log-log")])`. The model functions take
//! every argument as a list (`cox_ph(vec![col("t"), col("e"), col("age")])`). Functions built
//! here report warnings nowhere; a context from [`crate::register_all_with_warnings`] or
//! [`crate::query_context`] reports them to its sink.

use std::sync::{Arc, LazyLock};

use datafusion::logical_expr::{AggregateUDF, Expr};

/// A process-wide instance of a function (warnings discarded), made on first use.
macro_rules! singleton {
    ($udaf_fn:ident, $ty:ty) => {
        #[doc = concat!("The [`AggregateUDF`] of [`", stringify!($ty), "`], made once per process.")]
        pub fn $udaf_fn() -> Arc<AggregateUDF> {
            static INSTANCE: LazyLock<Arc<AggregateUDF>> =
                LazyLock::new(|| Arc::new(AggregateUDF::new_from_impl(<$ty>::new())));
            Arc::clone(&INSTANCE)
        }
    };
}

singleton!(km_median_udaf, crate::km_median::KmMedian);
/// `km_median(time, event [, convention])` with the required arguments (see [`crate::km_median`]).
pub fn km_median(time: Expr, event: Expr) -> Expr {
    km_median_udaf().call(vec![time, event])
}

singleton!(km_summary_udaf, crate::km_summary::KmSummary);
/// `km_summary(time, event [, conf_type [, conf_level]])` with the required arguments (see [`crate::km_summary`]).
pub fn km_summary(time: Expr, event: Expr) -> Expr {
    km_summary_udaf().call(vec![time, event])
}

singleton!(km_quantile_udaf, crate::km_quantile::KmQuantile);
/// `km_quantile(time, event, p [, conf_type [, conf_level]])` with the required arguments (see [`crate::km_quantile`]).
pub fn km_quantile(time: Expr, event: Expr, p: Expr) -> Expr {
    km_quantile_udaf().call(vec![time, event, p])
}

singleton!(km_survival_udaf, crate::km_survival::KmSurvival);
/// `km_survival(time, event, at [, conf_type [, conf_level]])` with the required arguments (see [`crate::km_survival`]).
pub fn km_survival(time: Expr, event: Expr, at: Expr) -> Expr {
    km_survival_udaf().call(vec![time, event, at])
}

singleton!(km_curve_udaf, crate::km_curve::KmCurve);
/// `km_curve(time, event [, conf_type [, conf_level]])` with the required arguments (see [`crate::km_curve`]).
pub fn km_curve(time: Expr, event: Expr) -> Expr {
    km_curve_udaf().call(vec![time, event])
}

singleton!(km_rmst_udaf, crate::km_rmst::KmRmst);
/// `km_rmst(time, event, tau [, conf_level])` with the required arguments (see [`crate::km_rmst`]).
pub fn km_rmst(time: Expr, event: Expr, tau: Expr) -> Expr {
    km_rmst_udaf().call(vec![time, event, tau])
}

singleton!(rmst_diff_udaf, crate::rmst_diff::RmstDiff);
/// `rmst_diff(time, event, grp, tau [, conf_level])` with the required arguments (see [`crate::rmst_diff`]).
pub fn rmst_diff(time: Expr, event: Expr, grp: Expr, tau: Expr) -> Expr {
    rmst_diff_udaf().call(vec![time, event, grp, tau])
}

singleton!(
    km_survival_diff_udaf,
    crate::km_survival_diff::KmSurvivalDiff
);
/// `km_survival_diff(time, event, grp, at [, conf_level])` with the required arguments (see [`crate::km_survival_diff`]).
pub fn km_survival_diff(time: Expr, event: Expr, grp: Expr, at: Expr) -> Expr {
    km_survival_diff_udaf().call(vec![time, event, grp, at])
}

singleton!(km_followup_udaf, crate::km_followup::KmFollowup);
/// `km_followup(time, event [, conf_type [, conf_level]])` with the required arguments (see [`crate::km_followup`]).
pub fn km_followup(time: Expr, event: Expr) -> Expr {
    km_followup_udaf().call(vec![time, event])
}

singleton!(nelson_aalen_udaf, crate::nelson_aalen::NelsonAalen);
/// `nelson_aalen(time, event)` with the required arguments (see [`crate::nelson_aalen`]).
pub fn nelson_aalen(time: Expr, event: Expr) -> Expr {
    nelson_aalen_udaf().call(vec![time, event])
}

singleton!(logrank_test_udaf, crate::logrank_test::LogrankTest);
/// `logrank_test(time, event, grp [, rho])` with the required arguments (see [`crate::logrank_test`]).
pub fn logrank_test(time: Expr, event: Expr, grp: Expr) -> Expr {
    logrank_test_udaf().call(vec![time, event, grp])
}

singleton!(logrank_p_udaf, crate::logrank_p::LogrankP);
/// `logrank_p(time, event, grp)` with the required arguments (see [`crate::logrank_p`]).
pub fn logrank_p(time: Expr, event: Expr, grp: Expr) -> Expr {
    logrank_p_udaf().call(vec![time, event, grp])
}

singleton!(
    logrank_strat_test_udaf,
    crate::logrank_strat_test::LogrankStratTest
);
/// `logrank_strat_test(time, event, grp, strata [, rho])` with the required arguments (see [`crate::logrank_strat_test`]).
pub fn logrank_strat_test(time: Expr, event: Expr, grp: Expr, strata: Expr) -> Expr {
    logrank_strat_test_udaf().call(vec![time, event, grp, strata])
}

singleton!(
    logrank_weighted_test_udaf,
    crate::logrank_weighted_test::LogrankWeightedTest
);
/// `logrank_weighted_test(time, event, grp, weighting)` with the required arguments (see [`crate::logrank_weighted_test`]).
pub fn logrank_weighted_test(time: Expr, event: Expr, grp: Expr, weighting: Expr) -> Expr {
    logrank_weighted_test_udaf().call(vec![time, event, grp, weighting])
}

singleton!(
    logrank_weighted_strat_test_udaf,
    crate::logrank_weighted_strat_test::LogrankWeightedStratTest
);
/// `logrank_weighted_strat_test(time, event, grp, strata, weighting)` with the required arguments (see [`crate::logrank_weighted_strat_test`]).
pub fn logrank_weighted_strat_test(
    time: Expr,
    event: Expr,
    grp: Expr,
    strata: Expr,
    weighting: Expr,
) -> Expr {
    logrank_weighted_strat_test_udaf().call(vec![time, event, grp, strata, weighting])
}

singleton!(
    logrank_pairwise_udaf,
    crate::logrank_pairwise::LogrankPairwise
);
/// `logrank_pairwise(time, event, grp [, p_adjust [, rho]])` with the required arguments (see [`crate::logrank_pairwise`]).
pub fn logrank_pairwise(time: Expr, event: Expr, grp: Expr) -> Expr {
    logrank_pairwise_udaf().call(vec![time, event, grp])
}

singleton!(
    logrank_trend_test_udaf,
    crate::logrank_trend_test::LogrankTrendTest
);
/// `logrank_trend_test(time, event, score [, weighting])` with the required arguments (see [`crate::logrank_trend_test`]).
pub fn logrank_trend_test(time: Expr, event: Expr, score: Expr) -> Expr {
    logrank_trend_test_udaf().call(vec![time, event, score])
}

singleton!(
    logrank_trend_strat_test_udaf,
    crate::logrank_trend_strat_test::LogrankTrendStratTest
);
/// `logrank_trend_strat_test(time, event, score, strata [, weighting])` with the required arguments (see [`crate::logrank_trend_strat_test`]).
pub fn logrank_trend_strat_test(time: Expr, event: Expr, score: Expr, strata: Expr) -> Expr {
    logrank_trend_strat_test_udaf().call(vec![time, event, score, strata])
}

singleton!(cif_curve_udaf, crate::cif_curve::CifCurve);
/// `cif_curve(time, status, cause [, conf_type [, conf_level]])` with the required arguments (see [`crate::cif_curve`]).
pub fn cif_curve(time: Expr, status: Expr, cause: Expr) -> Expr {
    cif_curve_udaf().call(vec![time, status, cause])
}

singleton!(cif_at_udaf, crate::cif_at::CifAt);
/// `cif_at(time, status, cause, at [, conf_type [, conf_level]])` with the required arguments (see [`crate::cif_at`]).
pub fn cif_at(time: Expr, status: Expr, cause: Expr, at: Expr) -> Expr {
    cif_at_udaf().call(vec![time, status, cause, at])
}

singleton!(gray_test_udaf, crate::gray_test::GrayTest);
/// `gray_test(time, status, cause, grp)` with the required arguments (see [`crate::gray_test`]).
pub fn gray_test(time: Expr, status: Expr, cause: Expr, grp: Expr) -> Expr {
    gray_test_udaf().call(vec![time, status, cause, grp])
}

singleton!(prop_ci_udaf, crate::prop_ci::PropCi);
/// `prop_ci(success [, method [, conf_level]])` with the required arguments (see [`crate::prop_ci`]).
pub fn prop_ci(success: Expr) -> Expr {
    prop_ci_udaf().call(vec![success])
}

singleton!(chisq_test_udaf, crate::chisq_test::ChisqTest);
/// `chisq_test(row, col [, correct])` with the required arguments (see [`crate::chisq_test`]).
pub fn chisq_test(row: Expr, col: Expr) -> Expr {
    chisq_test_udaf().call(vec![row, col])
}

singleton!(fisher_test_udaf, crate::fisher_test::FisherTest);
/// `fisher_test(row, col [, conf_level])` with the required arguments (see [`crate::fisher_test`]).
pub fn fisher_test(row: Expr, col: Expr) -> Expr {
    fisher_test_udaf().call(vec![row, col])
}

singleton!(cox_ph_udaf, crate::cox_ph::CoxPh);
/// `cox_ph(time, event, x1 [, x2, ...] [, options])`: every argument in order (see [`crate::cox_ph`]).
pub fn cox_ph(args: Vec<Expr>) -> Expr {
    cox_ph_udaf().call(args)
}

singleton!(cox_ph_strat_udaf, crate::cox_ph_strat::CoxPhStrat);
/// `cox_ph_strat(time, event, strata, x1 [, x2, ...] [, options])`: every argument in order (see [`crate::cox_ph_strat`]).
pub fn cox_ph_strat(args: Vec<Expr>) -> Expr {
    cox_ph_strat_udaf().call(args)
}

singleton!(cox_ph_counting_udaf, crate::cox_ph_counting::CoxPhCounting);
/// `cox_ph_counting(start, stop, event, x1 [, x2, ...] [, options])`: every argument in order (see [`crate::cox_ph_counting`]).
pub fn cox_ph_counting(args: Vec<Expr>) -> Expr {
    cox_ph_counting_udaf().call(args)
}

singleton!(cox_zph_udaf, crate::cox_zph::CoxZph);
/// `cox_zph(time, event, x1 [, x2, ...] [, options])`: every argument in order (see [`crate::cox_zph`]).
pub fn cox_zph(args: Vec<Expr>) -> Expr {
    cox_zph_udaf().call(args)
}

singleton!(cox_curve_udaf, crate::cox_curve::CoxCurve);
/// `cox_curve(time, event, x1 [, x2, ...] [, 'x1=value, ..., options'])`: every argument in order (see [`crate::cox_curve`]).
pub fn cox_curve(args: Vec<Expr>) -> Expr {
    cox_curve_udaf().call(args)
}

singleton!(cox_curve_strat_udaf, crate::cox_curve_strat::CoxCurveStrat);
/// `cox_curve_strat(time, event, strata, x1 [, x2, ...], 'strata=label [, x1=value, ...] [, options]')`: every argument in order (see [`crate::cox_curve_strat`]).
pub fn cox_curve_strat(args: Vec<Expr>) -> Expr {
    cox_curve_strat_udaf().call(args)
}

singleton!(
    cox_adjusted_curve_udaf,
    crate::cox_adjusted_curve::CoxAdjustedCurve
);
/// `cox_adjusted_curve(time, event, grp, x1 [, x2, ...] [, 'options'])`: every argument in order (see [`crate::cox_adjusted_curve`]).
pub fn cox_adjusted_curve(args: Vec<Expr>) -> Expr {
    cox_adjusted_curve_udaf().call(args)
}

singleton!(finegray_ph_udaf, crate::finegray_ph::FineGrayPh);
/// `finegray_ph(time, status, cause, x1 [, x2, ...] [, options])`: every argument in order (see [`crate::finegray_ph`]).
pub fn finegray_ph(args: Vec<Expr>) -> Expr {
    finegray_ph_udaf().call(args)
}

singleton!(survreg_udaf, crate::survreg::Survreg);
/// `survreg(time, event, x1 [, x2, ...] [, options])`: every argument in order (see [`crate::survreg`]).
pub fn survreg(args: Vec<Expr>) -> Expr {
    survreg_udaf().call(args)
}

singleton!(survreg_strat_udaf, crate::survreg_strat::SurvregStrat);
/// `survreg_strat(time, event, strata, x1 [, x2, ...] [, options])`: every argument in order (see [`crate::survreg_strat`]).
pub fn survreg_strat(args: Vec<Expr>) -> Expr {
    survreg_strat_udaf().call(args)
}

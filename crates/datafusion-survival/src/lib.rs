//! # datafusion-survival
//!
//! Survival-analysis aggregate functions for [Apache DataFusion](https://datafusion.apache.org),
//! giving the numbers of R's `survival` package: Kaplan-Meier medians, survival rates and
//! curves, restricted mean survival, reverse-KM follow-up and Nelson-Aalen hazards.
//!
//! ```sql
//! SELECT grade, km_median(os_months, died) FROM cohort GROUP BY grade;
//! ```
//!
//! Register every function on a context with [`register_all`], and add the optimizer rule that
//! lets several Kaplan-Meier functions of one (time, event) share one state with
//! [`register_optimizer_rules`]. Each function works with and without `GROUP BY` and over any
//! number of partitions: the Kaplan-Meier state is the count of events and censorings per
//! distinct time, which merges exactly.
//!
//! DataFrame users build the same calls with [`expr_fn`] (`km_median(col("t"), col("e"))`)
//! and get each function's [`AggregateUDF`] from its singleton (`expr_fn::km_median_udaf()`).

// Shared machinery: the generic aggregate (survival_udaf) over the generic accumulators
// (accumulator), one state module per function family (*_state), and small helpers.
mod accumulator;
mod coerce;
mod competing_state;
mod convention_setting;
mod cox_profile;
mod docs;
mod group_contrasts;
mod input_columns;
mod km_state;
mod labels;
pub mod limits;
mod logrank_state;
mod model_state;
mod model_window;
mod options;
mod panic_safe;
mod response;
mod result_arrays;
mod row_order;
pub mod survival_udaf;
mod table_state;
mod time_table;
mod validation_state;
mod warnings;

// One module per SQL function.

pub mod brier_score;
pub mod calibration;
pub mod chisq_test;
pub mod cif_at;
pub mod cif_curve;
pub mod concordance_index;
pub mod cox_adjusted_curve;
pub mod cox_curve;
pub mod cox_curve_strat;
pub mod cox_ph;
pub mod cox_ph_counting;
pub mod cox_ph_strat;
pub mod cox_predict;
pub mod cox_residual;
pub mod cox_zph;
pub mod expr_fn;
pub mod finegray_ph;
pub mod fisher_test;
pub mod gray_test;
pub mod km_curve;
pub mod km_followup;
pub mod km_median;
pub mod km_quantile;
pub mod km_rmst;
pub mod km_shared;
pub mod km_summary;
pub mod km_survival;
pub mod km_survival_diff;
pub mod life_table;
pub mod logrank_design;
pub mod logrank_p;
pub mod logrank_pairwise;
pub mod logrank_strat_test;
pub mod logrank_test;
pub mod logrank_trend_strat_test;
pub mod logrank_trend_test;
pub mod logrank_weighted_strat_test;
pub mod logrank_weighted_test;
pub mod model_terms;
pub mod nelson_aalen;
pub mod prop_ci;
pub mod rmst_diff;
pub mod surv;
pub mod surv_split;
pub mod survreg;
pub mod survreg_strat;
pub mod td_auc;

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, AggregateUDFImpl, ScalarUDF, WindowUDF};
use datafusion::prelude::SessionContext;

pub use convention_setting::{apply_propagated_setting, SurvqlOptions, CONVENTIONS_HELP};
pub use warnings::{WarningParts, WarningSink};

/// The version of the aggregate state layouts. Processes that exchange partial states (cluster
/// workers and their coordinator) must agree on it; it changes whenever a state field is
/// added, removed or retyped. 2: every state ends with the count of rows skipped for NULLs.
/// 3: Kaplan-Meier states of `surv(entry, time, event)` calls carry the entries.
/// 4: weighted Kaplan-Meier states (`surv(entry, time, event, weight)`).
pub const STATE_FORMAT: u32 = 4;
pub use limits::{limits, set_limits, Limits};
pub use panic_safe::panic_safe;

/// Every survival aggregate function, reporting warnings to `sink`.
pub fn all_functions_with_warnings(sink: &WarningSink) -> Vec<Arc<AggregateUDF>> {
    fn udaf(f: impl AggregateUDFImpl + 'static) -> Arc<AggregateUDF> {
        Arc::new(AggregateUDF::new_from_impl(f))
    }
    let s = || sink.clone();
    vec![
        udaf(km_median::KmMedian::with_warnings(s())),
        udaf(km_summary::KmSummary::with_warnings(s())),
        udaf(km_quantile::KmQuantile::with_warnings(s())),
        udaf(km_survival::KmSurvival::with_warnings(s())),
        udaf(km_curve::KmCurve::with_warnings(s())),
        udaf(km_rmst::KmRmst::with_warnings(s())),
        udaf(km_followup::KmFollowup::with_warnings(s())),
        udaf(rmst_diff::RmstDiff::with_warnings(s())),
        udaf(km_survival_diff::KmSurvivalDiff::with_warnings(s())),
        udaf(nelson_aalen::NelsonAalen::with_warnings(s())),
        udaf(logrank_test::LogrankTest::with_warnings(s())),
        udaf(logrank_p::LogrankP::with_warnings(s())),
        udaf(logrank_strat_test::LogrankStratTest::with_warnings(s())),
        udaf(logrank_weighted_test::LogrankWeightedTest::with_warnings(
            s(),
        )),
        udaf(logrank_weighted_strat_test::LogrankWeightedStratTest::with_warnings(s())),
        udaf(logrank_pairwise::LogrankPairwise::with_warnings(s())),
        udaf(logrank_trend_test::LogrankTrendTest::with_warnings(s())),
        udaf(logrank_trend_strat_test::LogrankTrendStratTest::with_warnings(s())),
        udaf(cif_curve::CifCurve::with_warnings(s())),
        udaf(cif_at::CifAt::with_warnings(s())),
        udaf(gray_test::GrayTest::with_warnings(s())),
        udaf(prop_ci::PropCi::with_warnings(s())),
        udaf(chisq_test::ChisqTest::with_warnings(s())),
        udaf(fisher_test::FisherTest::with_warnings(s())),
        udaf(cox_ph::CoxPh::with_warnings(s())),
        udaf(cox_ph_strat::CoxPhStrat::with_warnings(s())),
        udaf(cox_ph_counting::CoxPhCounting::with_warnings(s())),
        udaf(cox_zph::CoxZph::with_warnings(s())),
        udaf(finegray_ph::FineGrayPh::with_warnings(s())),
        udaf(survreg::Survreg::with_warnings(s())),
        udaf(survreg_strat::SurvregStrat::with_warnings(s())),
        udaf(cox_curve::CoxCurve::with_warnings(s())),
        udaf(cox_curve_strat::CoxCurveStrat::with_warnings(s())),
        udaf(cox_adjusted_curve::CoxAdjustedCurve::with_warnings(s())),
        udaf(concordance_index::ConcordanceIndex::with_warnings(s())),
        udaf(td_auc::TdAuc::with_warnings(s())),
        udaf(brier_score::BrierScore::with_warnings(s())),
        udaf(life_table::LifeTable::with_warnings(s())),
        udaf(calibration::Calibration::with_warnings(s())),
    ]
}

/// The scalar functions: `surv(...)`, the survival response (see [`surv::Surv`]),
/// `cluster(id)` and `strata(s)`, the cluster and strata columns of a Cox model (see
/// [`model_terms`]), and
/// `surv_split(...)`, follow-up split at cut points (see [`surv_split::SurvSplit`]).
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::new_from_impl(surv::Surv::new())),
        Arc::new(ScalarUDF::new_from_impl(model_terms::Cluster::new())),
        Arc::new(ScalarUDF::new_from_impl(model_terms::Strata::new())),
        Arc::new(ScalarUDF::new_from_impl(surv_split::SurvSplit::new())),
        Arc::new(ScalarUDF::new_from_impl(
            logrank_design::LogrankDesign::events(),
        )),
        Arc::new(ScalarUDF::new_from_impl(
            logrank_design::LogrankDesign::power(),
        )),
    ]
}

/// The window functions (`cox_residual`, `cox_predict`: one value per row of a model fitted on
/// the window partition), reporting warnings to `sink`.
pub fn window_functions_with_warnings(sink: &WarningSink) -> Vec<Arc<WindowUDF>> {
    window_functions_with_memory(sink, None)
}

/// [`window_functions_with_warnings`] whose fits reserve their memory from `pool` (a
/// session's `runtime_env().memory_pool`): a partition too large for the limit is an error
/// that says so.
pub fn window_functions_with_memory(
    sink: &WarningSink,
    pool: Option<Arc<dyn MemoryPool>>,
) -> Vec<Arc<WindowUDF>> {
    vec![
        Arc::new(WindowUDF::new_from_impl(
            cox_residual::CoxResidual::with_memory(sink.clone(), pool.clone()),
        )),
        Arc::new(WindowUDF::new_from_impl(
            cox_predict::CoxPredict::with_memory(sink.clone(), pool),
        )),
    ]
}

/// Registers every survql function on `ctx` (as [`register_all_with_warnings`]), the window
/// functions reserving their fits' memory from the context's memory pool.
///
/// # Errors
/// Whatever the context returns when a function cannot be registered.
pub fn register_context(ctx: &SessionContext) -> Result<WarningSink> {
    let sink = WarningSink::default();
    for f in all_functions_with_warnings(&sink) {
        ctx.register_udaf(Arc::unwrap_or_clone(f));
    }
    for f in scalar_functions() {
        ctx.register_udf(Arc::unwrap_or_clone(f));
    }
    let pool = Arc::clone(&ctx.runtime_env().memory_pool);
    for f in window_functions_with_memory(&sink, Some(pool)) {
        ctx.register_udwf(Arc::unwrap_or_clone(f));
    }
    Ok(sink)
}

/// The window functions (warnings are discarded).
pub fn window_functions() -> Vec<Arc<WindowUDF>> {
    window_functions_with_warnings(&WarningSink::default())
}

/// Every survival aggregate function (warnings are discarded).
pub fn all_functions() -> Vec<Arc<AggregateUDF>> {
    all_functions_with_warnings(&WarningSink::default())
}

/// Registers every survival aggregate function with `registry` (e.g. a `SessionContext`).
///
/// # Errors
/// Whatever the registry returns when a function cannot be registered.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    register_all_with_warnings(registry).map(|_| ())
}

/// Registers every survival aggregate function and returns the [`WarningSink`] they report
/// to: rows skipped for NULL arguments, Cox fits that did not converge. Drain it after each
/// query to show the messages.
///
/// # Errors
/// Whatever the registry returns when a function cannot be registered.
pub fn register_all_with_warnings(registry: &mut dyn FunctionRegistry) -> Result<WarningSink> {
    let sink = WarningSink::default();
    for f in all_functions_with_warnings(&sink) {
        registry.register_udaf(f)?;
    }
    for f in scalar_functions() {
        registry.register_udf(f)?;
    }
    for f in window_functions_with_warnings(&sink) {
        registry.register_udwf(f)?;
    }
    Ok(sink)
}

/// Adds survql's session settings to `ctx` — `SET survql.convention = 'sas' | 'stata' |
/// 'spss' | 'r'` (see [`SurvqlOptions`]): the defaults of the Kaplan-Meier and Cox functions
/// follow that package's conventions for the session. Each is also reachable per call
/// (`conf_type => 'sas'`, `'convention=sas'` in Cox options), which is what a context without
/// this setting (e.g. datafusion-python) uses.
pub fn register_settings(ctx: &SessionContext) {
    let state = ctx.state_ref();
    let mut state = state.write();
    let options = state.config_mut().options_mut();
    if options.extensions.get::<SurvqlOptions>().is_none() {
        options.extensions.insert(SurvqlOptions::default());
    }
}

/// A context for one query: it shares `ctx`'s tables, settings and memory pool, but its
/// survival functions report to a sink of their own, returned with it. Run the query on the
/// returned context and drain the sink afterwards: its warnings are that query's alone, even
/// when other queries run at the same time on `ctx` or on other query contexts.
///
/// ```no_run
/// # async fn f(ctx: datafusion::prelude::SessionContext) -> datafusion::common::Result<()> {
/// let (query_ctx, warnings) = datafusion_survival::query_context(&ctx)?;
/// let rows = query_ctx.sql("SELECT km_median(t, e) FROM cohort").await?.collect().await?;
/// for message in warnings.drain() {
///     eprintln!("warning: {message}");
/// }
/// # Ok(()) }
/// ```
///
/// # Errors
/// Whatever the registry returns when a function cannot be registered.
pub fn query_context(ctx: &SessionContext) -> Result<(SessionContext, WarningSink)> {
    let mut state = ctx.state();
    let sink = WarningSink::default();
    for f in all_functions_with_warnings(&sink) {
        state.register_udaf(f)?;
    }
    for f in scalar_functions() {
        state.register_udf(f)?;
    }
    let pool = Arc::clone(&state.runtime_env().memory_pool);
    for f in window_functions_with_memory(&sink, Some(pool)) {
        state.register_udwf(f)?;
    }
    Ok((SessionContext::new_with_state(state), sink))
}

/// Adds survql's optimizer rules to `ctx`: [`km_shared::ShareKaplanMeierState`], which gives
/// the Kaplan-Meier functions of one (time, event, FILTER) in one aggregation a single shared
/// state, so `SELECT km_summary(t, e), km_survival(t, e, 36) ...` counts the data once.
/// Results are the same with and without it.
pub fn register_optimizer_rules(ctx: &SessionContext) {
    ctx.add_optimizer_rule(Arc::new(km_shared::ShareKaplanMeierState));
}

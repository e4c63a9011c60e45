//! Caps on what grows with a cardinality the user controls and costs more than linearly: the
//! groups of a log-rank test (a G × G variance, O(T·G²) work), the cells of a contingency
//! table (dense r × c), the levels of a text covariate in a Cox model (one column each). A
//! query that passes a cap fails with an error that names the function, the argument, the
//! count and the cap — instead of running for hours or exhausting memory (a patient id used
//! by mistake as a factor would otherwise become n columns).
//!
//! The caps are process-wide: `SET survql.max_groups = N` (and `max_table_cells`,
//! `max_factor_levels`; see [`crate::convention_setting::SurvqlOptions`]), the `survql` CLI's
//! flags, or [`set_limits`] for embedders; a cluster's workers take the coordinator's with each
//! task. The defaults are far above what a clinical analysis needs.

use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::{exec_err, Result};

/// The caps in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most groups (per stratum) a log-rank test compares.
    pub max_groups: usize,
    /// Most cells (distinct rows × distinct columns) of a chi-square or Fisher table.
    pub max_table_cells: usize,
    /// Most levels of one text (factor) covariate of a Cox model.
    pub max_factor_levels: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_groups: 1_000,
            max_table_cells: 1_000_000,
            max_factor_levels: 1_000,
        }
    }
}

static MAX_GROUPS: AtomicUsize = AtomicUsize::new(1_000);
static MAX_TABLE_CELLS: AtomicUsize = AtomicUsize::new(1_000_000);
static MAX_FACTOR_LEVELS: AtomicUsize = AtomicUsize::new(1_000);

/// The caps in force (the defaults unless [`set_limits`] changed them).
pub fn limits() -> Limits {
    Limits {
        max_groups: MAX_GROUPS.load(Ordering::Relaxed),
        max_table_cells: MAX_TABLE_CELLS.load(Ordering::Relaxed),
        max_factor_levels: MAX_FACTOR_LEVELS.load(Ordering::Relaxed),
    }
}

/// Sets one cap by its setting name (`max_groups`, `max_table_cells`, `max_factor_levels`).
pub(crate) fn set_cap(name: &str, value: usize) {
    let cap = match name {
        "max_groups" => &MAX_GROUPS,
        "max_table_cells" => &MAX_TABLE_CELLS,
        _ => &MAX_FACTOR_LEVELS,
    };
    cap.store(value, Ordering::Relaxed);
}

/// Sets the caps for every query that starts afterwards.
pub fn set_limits(limits: Limits) {
    MAX_GROUPS.store(limits.max_groups, Ordering::Relaxed);
    MAX_TABLE_CELLS.store(limits.max_table_cells, Ordering::Relaxed);
    MAX_FACTOR_LEVELS.store(limits.max_factor_levels, Ordering::Relaxed);
}

/// An error when `count` (of `unit`s, e.g. "distinct values") passes `cap`. The message
/// gives the cap, not the count: a state stops growing soon after the cap, at a point that
/// depends on batch boundaries.
pub(crate) fn check(
    function: &str,
    what: &str,
    count: usize,
    cap: usize,
    unit: &str,
    setting: &str,
) -> Result<()> {
    if count > cap {
        return exec_err!(
            "{function}: {what} has more than {cap} {unit}, the limit \
             (raise it with {setting} if this is intended)"
        );
    }
    Ok(())
}

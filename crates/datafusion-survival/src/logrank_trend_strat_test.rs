//! [`LogrankTrendStratTest`]: `logrank_trend_strat_test(time, event, score, strata
//! [, weighting])`, the stratified log-rank test for trend.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;
use survql_stats::Weighting;

use crate::docs::doc;
use crate::logrank_state::{coerce_trend, optional_weighting, LogrankOps, LogrankOutput};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "logrank_trend_strat_test";
const SYNTAX: &str = "logrank_trend_strat_test(time, event, score, strata [, weighting])";
const OUTPUT: LogrankOutput = LogrankOutput::Trend;

/// `logrank_trend_strat_test(time, event, score, strata [, weighting])`: the test for trend
/// of [`crate::logrank_trend_test::LogrankTrendTest`] with O − E and V computed within each
/// stratum and summed (as `survdiff(... + strata(s))`'s; SAS LIFETEST `STRATA s / TREND`).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h logrank_trend_strat_test` in the shell and in `docs/functions.md`.
pub type LogrankTrendStratTest = SurvivalUdaf<LogrankTrendStratTestFunction>;

/// The definition of [`LogrankTrendStratTest`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct LogrankTrendStratTestFunction;

impl SurvivalFunction for LogrankTrendStratTestFunction {
    type Ops = LogrankOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_trend(NAME, arg_types, true, SYNTAX)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(crate::logrank_state::return_type(OUTPUT))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::logrank_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let weighting = optional_weighting(NAME, args, 4)?.unwrap_or(Weighting::LogRank);
        Ok(LogrankOps::new(NAME, args, sink, true, weighting, OUTPUT))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Stratified log-rank test for trend: O - E and V of the log-rank test of the \
                 score groups computed within each stratum and summed (R's survdiff with \
                 strata(), SAS LIFETEST STRATA / TREND), then z = a'(O - E) / sqrt(a'Va) with \
                 each group scored by its value. Returns STRUCT<statistic, df, p_value, z>.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT logrank_trend_strat_test(os_months, died, TRY_CAST(grade AS INT), treatment)['z'] AS z\nFROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument(
                "score",
                "Numeric group score (e.g. grade 1, 2, 3); rows with a NULL score are skipped.",
            )
            .with_argument("strata", "Stratum (any type); rows with a NULL stratum are skipped.")
            .with_argument(
                "weighting",
                "Constant, optional: 'logrank' (default), 'gehan', 'tarone-ware', 'peto' or \
                 'fh(p,q)', as logrank_weighted_test.",
            )
            .build()
        })
    }
}

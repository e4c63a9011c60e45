//! [`LogrankTrendStratTest`]: `logrank_trend_strat_test(time, event, score, strata
//! [, weighting])`, the stratified log-rank test for trend.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};
use survql_stats::Weighting;

use crate::common::{doc, WarningSink};
use crate::logrank_state::{coerce_trend, optional_weighting, LogrankCall, LogrankOutput};
use crate::macros::{logrank_udaf_methods, udaf_constructors};

const NAME: &str = "logrank_trend_strat_test";
const SYNTAX: &str = "logrank_trend_strat_test(time, event, score, strata [, weighting])";
const OUTPUT: LogrankOutput = LogrankOutput::Trend;

/// `logrank_trend_strat_test(time, event, score, strata [, weighting])`: the test for trend
/// of [`crate::logrank_trend_test::LogrankTrendTest`] with O − E and V computed within each
/// stratum and summed (as `survdiff(... + strata(s))`'s; SAS LIFETEST `STRATA s / TREND`).
///
/// ```sql
/// SELECT logrank_trend_strat_test(os_months, died, TRY_CAST(grade AS INT), treatment)['z'] FROM demo.net_cohort;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogrankTrendStratTest {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(LogrankTrendStratTest);

impl LogrankTrendStratTest {
    fn doc() -> &'static Documentation {
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

    fn logrank_call(&self, args: &AccumulatorArgs) -> Result<LogrankCall> {
        let weighting = optional_weighting(NAME, args, 4)?.unwrap_or(Weighting::LogRank);
        Ok(LogrankCall::new(
            NAME, args, &self.sink, true, weighting, OUTPUT,
        ))
    }
}

impl AggregateUDFImpl for LogrankTrendStratTest {
    fn name(&self) -> &str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_trend(NAME, arg_types, true, SYNTAX)
    }

    logrank_udaf_methods!();
}

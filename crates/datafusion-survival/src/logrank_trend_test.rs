//! [`LogrankTrendTest`]: `logrank_trend_test(time, event, score [, weighting])`, the log-rank
//! test for trend across ordered groups.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};
use survql_stats::Weighting;

use crate::common::{doc, WarningSink};
use crate::logrank_state::{coerce_trend, optional_weighting, LogrankCall, LogrankOutput};
use crate::macros::{logrank_udaf_methods, udaf_constructors};

const NAME: &str = "logrank_trend_test";
const SYNTAX: &str = "logrank_trend_test(time, event, score [, weighting])";
const OUTPUT: LogrankOutput = LogrankOutput::Trend;

/// `logrank_trend_test(time, event, score [, weighting])` returns
/// STRUCT<statistic, df, p_value, z>: the test for trend across the groups of the numeric
/// column `score`, each group scored by its value (Klein & Moeschberger 2003, §7.4; SAS
/// LIFETEST `TREND`). With O, E and V of the (weighted) log-rank test of the groups,
/// z = a'(O − E) / √(a'Va), statistic = z² on 1 degree of freedom, two-sided p. z > 0: the
/// hazard rises with the score. `weighting` as `logrank_weighted_test` (default `'logrank'`).
/// See [`survql_stats::trend_test`].
///
/// ```sql
/// SELECT logrank_trend_test(os_months, died, TRY_CAST(grade AS INT))['p_value'] FROM demo.net_cohort;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogrankTrendTest {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(LogrankTrendTest);

impl LogrankTrendTest {
    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Log-rank test for trend across ordered groups (Klein & Moeschberger section \
                 7.4, SAS LIFETEST TREND): the groups are the distinct values of score, each \
                 scored by its value. z = a'(O - E) / sqrt(a'Va) with O, E, V of the log-rank \
                 test of the groups (as R's survdiff); statistic = z^2 on 1 df, two-sided \
                 p_value; z > 0 when the hazard rises with the score. Returns STRUCT<statistic, \
                 df, p_value, z> (NULLs with a single score or no events).",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT logrank_trend_test(os_months, died, TRY_CAST(grade AS INT)) AS trend,\n       logrank_trend_test(os_months, died, TRY_CAST(grade AS INT), 'gehan')['p_value'] AS gehan_trend_p\nFROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument(
                "score",
                "Numeric group score (e.g. grade 1, 2, 3); rows with a NULL score are skipped.",
            )
            .with_argument(
                "weighting",
                "Constant, optional: 'logrank' (default), 'gehan', 'tarone-ware', 'peto' or \
                 'fh(p,q)', as logrank_weighted_test.",
            )
            .build()
        })
    }

    fn logrank_call(&self, args: &AccumulatorArgs) -> Result<LogrankCall> {
        let weighting = optional_weighting(NAME, args, 3)?.unwrap_or(Weighting::LogRank);
        Ok(LogrankCall::new(
            NAME, args, &self.sink, false, weighting, OUTPUT,
        ))
    }
}

impl AggregateUDFImpl for LogrankTrendTest {
    fn name(&self) -> &str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_trend(NAME, arg_types, false, SYNTAX)
    }

    logrank_udaf_methods!();
}

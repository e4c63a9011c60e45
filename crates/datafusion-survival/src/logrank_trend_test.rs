//! [`LogrankTrendTest`]: `logrank_trend_test(time, event, score [, weighting])`, the log-rank
//! test for trend across ordered groups.

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
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h logrank_trend_test` in the shell and in `docs/functions.md`.
pub type LogrankTrendTest = SurvivalUdaf<LogrankTrendTestFunction>;

/// The definition of [`LogrankTrendTest`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct LogrankTrendTestFunction;

impl SurvivalFunction for LogrankTrendTestFunction {
    type Ops = LogrankOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_trend(NAME, arg_types, false, SYNTAX)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(crate::logrank_state::return_type(OUTPUT))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::logrank_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let weighting = optional_weighting(NAME, args, 3)?.unwrap_or(Weighting::LogRank);
        Ok(LogrankOps::new(NAME, args, sink, false, weighting, OUTPUT))
    }

    fn documentation(&self) -> &'static Documentation {
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
}

//! [`LogrankP`]: `logrank_p(time, event, grp)`, the p-value of the log-rank test.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;

use crate::coerce::coerce_time_event_labels;
use crate::docs::doc;
use crate::warnings::WarningSink;
use survql_stats::Weighting;

use crate::logrank_state::{LogrankOps, LogrankOutput};

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "logrank_p";
const SYNTAX: &str = "logrank_p(time, event, grp)";
const OUTPUT: LogrankOutput = LogrankOutput::PValue;

/// `logrank_p(time, event, grp)`: the log-rank p-value, `logrank_test(...)['p_value']`
/// (R: `pchisq(survdiff(...)$chisq, df, lower.tail = FALSE)`).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h logrank_p` in the shell and in `docs/functions.md`.
pub type LogrankP = SurvivalUdaf<LogrankPFunction>;

/// The definition of [`LogrankP`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct LogrankPFunction;

impl SurvivalFunction for LogrankPFunction {
    type Ops = LogrankOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_time_event_labels(NAME, arg_types, 1, &[], SYNTAX)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(crate::logrank_state::return_type(OUTPUT))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::logrank_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        Ok(LogrankOps::new(
            NAME,
            args,
            sink,
            false,
            Weighting::LogRank,
            OUTPUT,
        ))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "P-value of the log-rank test comparing the groups of grp, as \
                 logrank_test(time, event, grp)['p_value']. NULL with fewer than two groups \
                 having expected events.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT logrank_p(os_months, died, liver_mets) FROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("grp", "Group (any type).")
            .build()
        })
    }
}

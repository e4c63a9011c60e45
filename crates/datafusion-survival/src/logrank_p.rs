//! [`LogrankP`]: `logrank_p(time, event, grp)`, the p-value of the log-rank test.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};

use crate::common::{coerce_time_event_labels, doc, WarningSink};
use survql_stats::Weighting;

use crate::logrank_state::{LogrankCall, LogrankOutput};
use crate::macros::{logrank_udaf_methods, udaf_constructors};

const NAME: &str = "logrank_p";
const SYNTAX: &str = "logrank_p(time, event, grp)";
const OUTPUT: LogrankOutput = LogrankOutput::PValue;

/// `logrank_p(time, event, grp)`: the log-rank p-value, `logrank_test(...)['p_value']`
/// (R: `pchisq(survdiff(...)$chisq, df, lower.tail = FALSE)`).
///
/// ```sql
/// SELECT logrank_p(os_months, died, liver_mets) FROM demo.net_cohort;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogrankP {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(LogrankP);

impl LogrankP {
    fn doc() -> &'static Documentation {
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

    fn logrank_call(&self, args: &AccumulatorArgs) -> Result<LogrankCall> {
        Ok(LogrankCall::new(
            NAME,
            args,
            &self.sink,
            false,
            Weighting::LogRank,
            OUTPUT,
        ))
    }
}

impl AggregateUDFImpl for LogrankP {
    fn name(&self) -> &str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_time_event_labels(NAME, arg_types, 1, &[], SYNTAX)
    }

    logrank_udaf_methods!();
}

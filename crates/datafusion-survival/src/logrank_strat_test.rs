//! [`LogrankStratTest`]: `logrank_strat_test(time, event, grp, strata [, rho])`, the
//! stratified log-rank test.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};

use crate::common::{coerce_time_event_labels, doc, f64_option, WarningSink};
use survql_stats::Weighting;

use crate::logrank_state::{LogrankCall, LogrankOutput};
use crate::macros::{logrank_udaf_methods, udaf_constructors};

const NAME: &str = "logrank_strat_test";
const SYNTAX: &str = "logrank_strat_test(time, event, grp, strata [, rho])";
const OUTPUT: LogrankOutput = LogrankOutput::Test;

/// `logrank_strat_test(time, event, grp, strata [, rho])`: the stratified test, as
/// `survdiff(Surv(time, event) ~ grp + strata(strata), rho = rho)`: observed, expected and the
/// variance of O - E computed within each stratum and summed. Same result as
/// [`crate::logrank_test::LogrankTest`].
///
/// ```sql
/// SELECT logrank_strat_test(os_months, died, liver_mets, treatment)['p_value'] FROM demo.net_cohort;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogrankStratTest {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(LogrankStratTest);

impl LogrankStratTest {
    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Stratified log-rank (or G-rho) test: observed and expected events and their \
                 variance are computed within each stratum and summed, as R's \
                 survdiff(Surv(time, event) ~ grp + strata(strata)). Returns the same \
                 STRUCT<chisq, df, p_value, groups> as logrank_test.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT logrank_strat_test(os_months, died, liver_mets, treatment)['p_value']\nFROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("grp", "Group (any type).")
            .with_argument("strata", "Stratum (any type); rows with a NULL stratum are skipped.")
            .with_argument("rho", "Constant: 0 (default) log-rank, 1 Peto-Peto.")
            .build()
        })
    }

    fn logrank_call(&self, args: &AccumulatorArgs) -> Result<LogrankCall> {
        let rho = f64_option(NAME, "rho", args, 4)?.unwrap_or(0.0);
        Ok(LogrankCall::new(
            NAME,
            args,
            &self.sink,
            true,
            Weighting::rho(rho),
            OUTPUT,
        ))
    }
}

impl AggregateUDFImpl for LogrankStratTest {
    fn name(&self) -> &str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_time_event_labels(NAME, arg_types, 2, &["rho"], SYNTAX)
    }

    logrank_udaf_methods!();
}

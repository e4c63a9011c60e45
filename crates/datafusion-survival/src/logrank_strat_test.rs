//! [`LogrankStratTest`]: `logrank_strat_test(time, event, grp, strata [, rho])`, the
//! stratified log-rank test.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;

use crate::coerce::coerce_time_event_labels;
use crate::docs::doc;
use crate::options::f64_option;
use crate::warnings::WarningSink;
use survql_stats::Weighting;

use crate::logrank_state::{LogrankOps, LogrankOutput};

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "logrank_strat_test";
const SYNTAX: &str = "logrank_strat_test(time, event, grp, strata [, rho])";
const OUTPUT: LogrankOutput = LogrankOutput::Test;

/// `logrank_strat_test(time, event, grp, strata [, rho])`: the stratified test, as
/// `survdiff(Surv(time, event) ~ grp + strata(strata), rho = rho)`: observed, expected and the
/// variance of O - E computed within each stratum and summed. Same result as
/// [`crate::logrank_test::LogrankTest`].
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h logrank_strat_test` in the shell and in `docs/functions.md`.
pub type LogrankStratTest = SurvivalUdaf<LogrankStratTestFunction>;

/// The definition of [`LogrankStratTest`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct LogrankStratTestFunction;

impl SurvivalFunction for LogrankStratTestFunction {
    type Ops = LogrankOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_time_event_labels(NAME, arg_types, 2, &["rho"], SYNTAX)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(crate::logrank_state::return_type(OUTPUT))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::logrank_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let rho = f64_option(NAME, "rho", args, 4)?.unwrap_or(0.0);
        Ok(LogrankOps::new(
            NAME,
            args,
            sink,
            true,
            Weighting::rho(rho),
            OUTPUT,
        ))
    }

    fn documentation(&self) -> &'static Documentation {
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
}

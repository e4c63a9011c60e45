//! [`LogrankTest`]: `logrank_test(time, event, grp [, rho])`, the k-sample log-rank (rho = 0)
//! or Peto-Peto (rho = 1) test.

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

const NAME: &str = "logrank_test";
const SYNTAX: &str = "logrank_test(time, event, grp [, rho])";
const OUTPUT: LogrankOutput = LogrankOutput::Test;

/// `logrank_test(time, event, grp [, rho])` returns
/// `STRUCT<chisq DOUBLE, df BIGINT, p_value DOUBLE, groups LIST<STRUCT<grp VARCHAR, n BIGINT,
/// observed DOUBLE, expected DOUBLE>>>` as R's `survdiff(Surv(time, event) ~ grp, rho = rho)`:
/// rho = 0 (default) is the log-rank test, rho = 1 the Peto-Peto test. `df` is the number of
/// groups with expected > 0 minus 1; with fewer than two such groups chisq and p are NULL.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h logrank_test` in the shell and in `docs/functions.md`.
pub type LogrankTest = SurvivalUdaf<LogrankTestFunction>;

/// The definition of [`LogrankTest`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct LogrankTestFunction;

impl SurvivalFunction for LogrankTestFunction {
    type Ops = LogrankOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_time_event_labels(NAME, arg_types, 1, &["rho"], SYNTAX)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(crate::logrank_state::return_type(OUTPUT))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::logrank_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let rho = f64_option(NAME, "rho", args, 3)?.unwrap_or(0.0);
        Ok(LogrankOps::new(
            NAME,
            args,
            sink,
            false,
            Weighting::rho(rho),
            OUTPUT,
        ))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Log-rank test (rho = 0) or Harrington-Fleming G-rho test (rho = 1: Peto-Peto) \
                 comparing the survival of the groups of grp, as R's survdiff(Surv(time, event) \
                 ~ grp, rho = rho). Returns STRUCT<chisq, df, p_value, groups LIST<STRUCT<grp, n, \
                 observed, expected>>>; rows with a NULL group are skipped.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT logrank_test(os_months, died, grade)['p_value'] FROM demo.net_cohort;\n\nSELECT unnest(logrank_test(os_months, died, liver_mets, 1)['groups']) FROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("grp", "Group (any type; labels are its text).")
            .with_argument("rho", "Constant weight exponent: 0 (default) log-rank, 1 Peto-Peto.")
            .build()
        })
    }
}

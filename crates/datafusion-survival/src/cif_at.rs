//! [`CifAt`]: `cif_at(time, status, cause, at [, conf_type [, conf_level]])`, the cumulative
//! incidence of one cause at a given time.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};

use crate::common::{conf_options, doc, f64_option, WarningSink};
use crate::competing_state::{
    coerce_competing, curve_state_fields, return_type, CompetingCall, CompetingOutput,
};
use crate::macros::{state_udaf_methods, udaf_constructors};

const NAME: &str = "cif_at";
const SYNTAX: &str = "cif_at(time, status, cause, at [, conf_type [, conf_level]])";

/// `cif_at(time, status, cause, at [, conf_type [, conf_level]])` returns
/// `STRUCT<time, cif, std_err, lower, upper>`: the Aalen-Johansen cumulative incidence of
/// `cause` at time `at`, as `summary(survfit(Surv(time, factor(status)) ~ 1), times = at,
/// extend = TRUE)` for the cause's state (before the first time: 0, with standard error and
/// limits 0; after the last: the last values).
///
/// ```sql
/// SELECT cif_at(time, status, 1, 120)['cif'] FROM mgus2;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CifAt {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(CifAt);

impl CifAt {
    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Cumulative incidence of one cause at a time (Aalen-Johansen, competing \
                 risks): STRUCT<time, cif, std_err, lower, upper>, as R's summary(survfit(\
                 Surv(time, factor(status)) ~ 1), times = at, extend = TRUE) for that state.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\n-- 5-year incidence of relapse (1), death (2) competing\nSELECT arm, cif_at(months, status, 1, 60) FROM trial GROUP BY arm;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("status", "Integer: 0 = censored, k >= 1 = an event of cause k.")
            .with_argument("cause", "Constant: the cause whose incidence is estimated (>= 1).")
            .with_argument("at", "Constant time at which to read the curve.")
            .with_argument(
                "conf_type",
                "Constant: 'log' (default, R's), 'log-log', 'plain', 'logit', 'arcsin', 'none'.",
            )
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }

    fn competing_call(&self, args: &AccumulatorArgs) -> Result<CompetingCall> {
        let Some(at) = f64_option(NAME, "at", args, 3)? else {
            return exec_err!("{NAME}: argument 'at' is required");
        };
        let conf = conf_options(NAME, args, 4)?;
        CompetingCall::new(NAME, args, &self.sink, CompetingOutput::At(at), conf)
    }
}

impl AggregateUDFImpl for CifAt {
    fn name(&self) -> &str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(return_type(CompetingOutput::At(0.0)))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_competing(
            NAME,
            arg_types,
            false,
            &["at", "conf_type", "conf_level"],
            SYNTAX,
        )
    }

    state_udaf_methods!(curve_state_fields, competing_call);
}

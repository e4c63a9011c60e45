//! [`CifAt`]: `cif_at(time, status, cause, at [, conf_type [, conf_level]])`, the cumulative
//! incidence of one cause at a given time.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;

use crate::competing_state::{
    coerce_competing, curve_state_fields, return_type, CompetingOps, CompetingOutput,
};
use crate::docs::doc;
use crate::options::{conf_options, f64_option};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "cif_at";
const SYNTAX: &str = "cif_at(time, status, cause, at [, conf_type [, conf_level]])";

/// `cif_at(time, status, cause, at [, conf_type [, conf_level]])` returns
/// `STRUCT<time, cif, std_err, lower, upper>`: the Aalen-Johansen cumulative incidence of
/// `cause` at time `at`, as `summary(survfit(Surv(time, factor(status)) ~ 1), times = at,
/// extend = TRUE)` for the cause's state (before the first time: 0, with standard error and
/// limits 0; after the last: the last values).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h cif_at` in the shell and in `docs/functions.md`.
pub type CifAt = SurvivalUdaf<CifAtFunction>;

/// The definition of [`CifAt`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CifAtFunction;

impl SurvivalFunction for CifAtFunction {
    type Ops = CompetingOps;

    fn name(&self) -> &'static str {
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

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        curve_state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let Some(at) = f64_option(NAME, "at", args, 3)? else {
            return exec_err!("{NAME}: argument 'at' is required");
        };
        let conf = conf_options(NAME, args, 4)?;
        CompetingOps::new(NAME, args, sink, CompetingOutput::At(at), conf)
    }

    fn documentation(&self) -> &'static Documentation {
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
}

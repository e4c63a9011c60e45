//! [`GrayTest`]: `gray_test(time, status, cause, grp)`, Gray's test comparing the cumulative
//! incidence of one cause across groups.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;
use survql_stats::ConfType;

use crate::competing_state::{
    coerce_competing, gray_state_fields, return_type, CompetingOps, CompetingOutput,
};
use crate::docs::doc;
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "gray_test";
const SYNTAX: &str = "gray_test(time, status, cause, grp)";

/// `gray_test(time, status, cause, grp)` returns `STRUCT<statistic, df, p_value>`: Gray's
/// (1988) k-sample test of equal cumulative incidence of `cause` across the groups of `grp`,
/// as the cause's row of `cmprsk::cuminc(time, status, grp)$Tests` (rho = 0). df = groups − 1;
/// where cmprsk reports −1 for a singular variance, the statistic and p are NULL with a
/// warning. See [`survql_stats::gray_test`].
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h gray_test` in the shell and in `docs/functions.md`.
pub type GrayTest = SurvivalUdaf<GrayTestFunction>;

/// The definition of [`GrayTest`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct GrayTestFunction;

impl SurvivalFunction for GrayTestFunction {
    type Ops = CompetingOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(return_type(CompetingOutput::Gray))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_competing(NAME, arg_types, true, &[], SYNTAX)
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        gray_state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let conf = (ConfType::None, 0.95);
        CompetingOps::new(NAME, args, sink, CompetingOutput::Gray, conf)
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Gray's test that the cumulative incidence of one cause is the same in every \
                 group (competing risks), as R's cmprsk::cuminc(time, status, grp)$Tests row \
                 for the cause: STRUCT<statistic, df, p_value>, chi-square on groups - 1 df. \
                 status: 0 = censored, k = an event of cause k.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT gray_test(months, status, 1, arm)['p_value'] AS relapse_p,\n       gray_test(months, status, 2, arm)['p_value'] AS death_p\nFROM trial;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("status", "Integer: 0 = censored, k >= 1 = an event of cause k.")
            .with_argument("cause", "Constant: the cause compared (>= 1).")
            .with_argument("grp", "Group (any type; labels are its text).")
            .build()
        })
    }
}

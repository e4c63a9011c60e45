//! [`GrayTest`]: `gray_test(time, status, cause, grp)`, Gray's test comparing the cumulative
//! incidence of one cause across groups.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};
use survql_stats::ConfType;

use crate::common::{doc, WarningSink};
use crate::competing_state::{
    coerce_competing, gray_state_fields, return_type, CompetingCall, CompetingOutput,
};
use crate::macros::{state_udaf_methods, udaf_constructors};

const NAME: &str = "gray_test";
const SYNTAX: &str = "gray_test(time, status, cause, grp)";

/// `gray_test(time, status, cause, grp)` returns `STRUCT<statistic, df, p_value>`: Gray's
/// (1988) k-sample test of equal cumulative incidence of `cause` across the groups of `grp`,
/// as the cause's row of `cmprsk::cuminc(time, status, grp)$Tests` (rho = 0). df = groups − 1;
/// where cmprsk reports −1 for a singular variance, the statistic and p are NULL with a
/// warning. See [`survql_stats::gray_test`].
///
/// ```sql
/// SELECT gray_test(time, status, 1, sex) FROM mgus2;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct GrayTest {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(GrayTest);

impl GrayTest {
    fn doc() -> &'static Documentation {
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

    fn competing_call(&self, args: &AccumulatorArgs) -> Result<CompetingCall> {
        let conf = (ConfType::None, 0.95);
        CompetingCall::new(NAME, args, &self.sink, CompetingOutput::Gray, conf)
    }
}

impl AggregateUDFImpl for GrayTest {
    fn name(&self) -> &str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(return_type(CompetingOutput::Gray))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_competing(NAME, arg_types, true, &[], SYNTAX)
    }

    state_udaf_methods!(gray_state_fields, competing_call);
}

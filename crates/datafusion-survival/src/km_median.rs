//! [`KmMedian`]: `km_median(time, event [, convention])`, the Kaplan-Meier median survival time.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::Documentation;
use survql_stats::{Convention, KaplanMeier};

use crate::coerce::coerce_time_event_options;
use crate::convention_setting::{session_convention, ConventionArg};
use crate::docs::doc;
use crate::km_state::KM_TAKES;
use crate::km_state::{KmEvaluator, KmOps, KmSample};
use crate::options::str_option;
use crate::response::coerce_with_response;
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "km_median";
const SYNTAX: &str = "km_median(time, event [, convention])";

/// `km_median(time, event [, convention])`: the Kaplan-Meier median survival time, as
/// `summary(survfit(Surv(time, event) ~ 1))$table["median"]` in R: the first time S(t) ≤ 0.5,
/// with the midpoint rule where S sits at exactly 0.5. NULL when S never reaches 0.5. With
/// `'sas'`, `'stata'` or `'spss'` that package's rule (see `survql_stats::convention`).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h km_median` in the shell and in `docs/functions.md`.
pub type KmMedian = SurvivalUdaf<KmMedianFunction>;

/// The definition of [`KmMedian`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct KmMedianFunction;

impl SurvivalFunction for KmMedianFunction {
    type Ops = KmOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        // surv(...) in place of (time, event): crate::response.
        coerce_with_response(NAME, arg_types, KM_TAKES, |types| {
            coerce_time_event_options(NAME, types, &[("convention", DataType::Utf8)], SYNTAX)
        })
    }

    /// `SET survql.convention`: see [`crate::convention_setting`].
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        session_convention(ConventionArg::Name(2))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::km_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let convention = match str_option(NAME, "convention", args, 2)? {
            None => Convention::R,
            Some(s) => match Convention::parse(&s) {
                Some(c) => c,
                None => {
                    return exec_err!(
                        "{NAME}: argument 'convention' must be one of {}, found '{s}'",
                        Convention::NAMES
                    )
                }
            },
        };
        Ok(KmOps::new(
            NAME,
            args,
            sink,
            Arc::new(MedianEvaluator { convention }),
        ))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Kaplan-Meier median survival time: the first time the survival curve is at or \
                 below 0.5 (midpoint rule on a flat stretch at exactly 0.5), as R's \
                 print(survfit(Surv(time, event) ~ 1)). NULL when the curve never reaches 0.5. \
                 Rows with a NULL argument are skipped.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT grade, km_median(os_months, died) AS median_os\nFROM demo.net_cohort GROUP BY grade ORDER BY grade;\n```",
            )
            .with_argument("time", "Follow-up time (any numeric type; NaN/infinite is an error).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("convention", "Constant: 'r' (default), 'sas' (first time S < 0.5; midpoint of a flat stretch at 0.5 that ends in a drop; NULL if S stays at 0.5), 'stata' or 'spss' (first time S <= 0.5, no midpoint). Set for a whole session with SET survql.convention.")
            .build()
        })
    }
}

#[derive(Debug)]
struct MedianEvaluator {
    convention: Convention,
}

impl KmEvaluator for MedianEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let mut scratch = KaplanMeier::default();
        let medians: Float64Array = groups
            .iter()
            .map(|c| {
                Ok(c.curve(NAME, &mut scratch)?
                    .median_with(self.convention, None, 0.95)
                    .estimate)
            })
            .collect::<Result<_>>()?;
        Ok(Arc::new(medians))
    }
}

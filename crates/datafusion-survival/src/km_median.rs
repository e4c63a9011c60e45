//! [`KmMedian`]: `km_median(time, event [, convention])`, the Kaplan-Meier median survival time.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};
use survql_stats::Convention;

use crate::common::{coerce_time_event_options, doc, str_option, WarningSink};
use crate::convention::{session_convention, ConventionArg};
use crate::macros::{km_udaf_methods, udaf_constructors};
use crate::response::coerce_with_response;
use crate::time_counts::KM_TAKES;
use crate::time_counts::{KmCall, KmEvaluator, KmSample};

const NAME: &str = "km_median";
const SYNTAX: &str = "km_median(time, event [, convention])";

/// `km_median(time, event [, convention])`: the Kaplan-Meier median survival time, as
/// `summary(survfit(Surv(time, event) ~ 1))$table["median"]` in R: the first time S(t) ≤ 0.5,
/// with the midpoint rule where S sits at exactly 0.5. NULL when S never reaches 0.5. With
/// `'sas'`, `'stata'` or `'spss'` that package's rule (see `survql_stats::convention`).
///
/// ```sql
/// SELECT grade, km_median(os_months, died) FROM demo.net_cohort GROUP BY grade ORDER BY grade;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KmMedian {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(KmMedian);

impl KmMedian {
    fn doc() -> &'static Documentation {
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

    pub(crate) fn km_call(&self, args: &AccumulatorArgs) -> Result<KmCall> {
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
        Ok(KmCall::new(
            NAME,
            args,
            &self.sink,
            Arc::new(MedianEvaluator { convention }),
        ))
    }
}

impl AggregateUDFImpl for KmMedian {
    fn name(&self) -> &str {
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

    /// `SET survql.convention`: see [`crate::convention`].
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        session_convention(ConventionArg::Name(2))
    }

    km_udaf_methods!();
}

#[derive(Debug)]
struct MedianEvaluator {
    convention: Convention,
}

impl KmEvaluator for MedianEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let medians: Float64Array = groups
            .iter()
            .map(|c| {
                Ok(c.curve(NAME)?
                    .median_with(self.convention, None, 0.95)
                    .estimate)
            })
            .collect::<Result<_>>()?;
        Ok(Arc::new(medians))
    }
}

//! [`KmMedian`]: `km_median(time, event)`, the Kaplan-Meier median survival time.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};

use crate::common::{coerce_time_event_options, doc, WarningSink};
use crate::macros::{km_udaf_methods, udaf_constructors};
use crate::response::coerce_with_response;
use crate::time_counts::KM_TAKES;
use crate::time_counts::{KmCall, KmEvaluator, KmSample};

const NAME: &str = "km_median";
const SYNTAX: &str = "km_median(time, event)";

/// `km_median(time, event)`: the Kaplan-Meier median survival time, as
/// `summary(survfit(Surv(time, event) ~ 1))$table["median"]` in R: the first time S(t) ≤ 0.5,
/// with the midpoint rule where S sits at exactly 0.5. NULL when S never reaches 0.5.
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
            .build()
        })
    }

    pub(crate) fn km_call(&self, args: &AccumulatorArgs) -> Result<KmCall> {
        Ok(KmCall::new(
            NAME,
            args,
            &self.sink,
            Arc::new(MedianEvaluator),
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
            coerce_time_event_options(NAME, types, &[], SYNTAX)
        })
    }

    km_udaf_methods!();
}

#[derive(Debug)]
struct MedianEvaluator;

impl KmEvaluator for MedianEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let medians: Float64Array = groups
            .iter()
            .map(|c| Ok(c.curve(NAME)?.median_table(None).estimate))
            .collect::<Result<_>>()?;
        Ok(Arc::new(medians))
    }
}

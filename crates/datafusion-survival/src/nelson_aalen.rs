//! [`NelsonAalen`]: `nelson_aalen(time, event)`, the Nelson-Aalen cumulative hazard curve.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};
use survql_stats::{KaplanMeier, TimeCounts};

use crate::common::{
    coerce_time_event_options, doc, f64_field, i64_field, list_array, list_of, struct_array,
    WarningSink,
};
use crate::macros::{km_udaf_methods, udaf_constructors};
use crate::response::coerce_with_response;
use crate::time_counts::KM_TAKES;
use crate::time_counts::{KmCall, KmEvaluator};

const NAME: &str = "nelson_aalen";
const SYNTAX: &str = "nelson_aalen(time, event)";

/// `nelson_aalen(time, event)` returns
/// `LIST<STRUCT<time, n_risk, n_event, cumhaz, std_err>>`, one element per distinct time:
/// H(t) = Σ d/n and `std_err` = sqrt(Σ d/n²), as R's
/// `survfit(Surv(time, event) ~ 1, stype = 2, ctype = 1)` (`cumhaz`, `std.chaz`).
///
/// ```sql
/// SELECT unnest(nelson_aalen(os_months, died)) FROM demo.net_cohort;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NelsonAalen {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(NelsonAalen);

fn item_fields() -> Fields {
    Fields::from(vec![
        f64_field("time"),
        i64_field("n_risk"),
        i64_field("n_event"),
        f64_field("cumhaz"),
        f64_field("std_err"),
    ])
}

impl NelsonAalen {
    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Nelson-Aalen cumulative hazard H(t) = sum(d/n) with standard error \
                 sqrt(sum(d/n^2)), one element per distinct time, as R's survfit(..., stype = 2, \
                 ctype = 1). Use unnest() to get rows.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT unnest(nelson_aalen(os_months, died)) FROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .build()
        })
    }

    pub(crate) fn km_call(&self, args: &AccumulatorArgs) -> Result<KmCall> {
        Ok(KmCall::new(
            NAME,
            args,
            &self.sink,
            Arc::new(NelsonAalenEvaluator),
        ))
    }
}

impl AggregateUDFImpl for NelsonAalen {
    fn name(&self) -> &str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(DataType::Struct(item_fields())))
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
struct NelsonAalenEvaluator;

impl KmEvaluator for NelsonAalenEvaluator {
    fn evaluate(&self, groups: &[TimeCounts]) -> Result<ArrayRef> {
        let mut lengths = Vec::with_capacity(groups.len());
        let (mut time, mut n_risk, mut n_event, mut cumhaz, mut se) =
            (vec![], vec![], vec![], vec![], vec![]);
        for c in groups {
            let km = KaplanMeier::from_counts(c);
            lengths.push(km.time.len());
            time.extend_from_slice(&km.time);
            n_risk.extend(km.n_risk.iter().map(|&v| v as i64));
            n_event.extend(km.n_event.iter().map(|&v| v as i64));
            cumhaz.extend_from_slice(&km.cumhaz);
            se.extend_from_slice(&km.std_chaz);
        }
        let items = struct_array(
            &item_fields(),
            vec![
                Arc::new(Float64Array::from(time)),
                Arc::new(Int64Array::from(n_risk)),
                Arc::new(Int64Array::from(n_event)),
                Arc::new(Float64Array::from(cumhaz)),
                Arc::new(Float64Array::from(se)),
            ],
        );
        list_array(&lengths, items)
    }
}

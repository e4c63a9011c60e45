//! [`KmFollowup`]: `km_followup(time, event [, conf_type [, conf_level]])`, the median
//! follow-up time by the reverse Kaplan-Meier method.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};
use survql_stats::{ConfType, KaplanMeier};

use crate::common::{
    coerce_time_event_options, conf_options, doc, f64_field, i64_field, struct_array, WarningSink,
};
use crate::macros::{km_udaf_methods, udaf_constructors};
use crate::response::coerce_with_response;
use crate::time_counts::KM_FOLLOWUP_TAKES;
use crate::time_counts::{KmCall, KmEvaluator, KmSample};

const NAME: &str = "km_followup";
const SYNTAX: &str = "km_followup(time, event [, conf_type [, conf_level]])";

/// `km_followup(time, event [, conf_type [, conf_level]])` returns
/// `STRUCT<n BIGINT, median DOUBLE, lower DOUBLE, upper DOUBLE>`: the median follow-up by the
/// reverse Kaplan-Meier method (censorings are the "events"), as R's
/// `survfit(Surv(time, 1 - event) ~ 1)` median with its log (default) confidence interval.
///
/// ```sql
/// SELECT km_followup(os_months, died)['median'] AS median_followup FROM demo.net_cohort;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KmFollowup {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(KmFollowup);

fn fields() -> Fields {
    Fields::from(vec![
        i64_field("n"),
        f64_field("median"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

impl KmFollowup {
    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Median follow-up by the reverse Kaplan-Meier method (censoring treated as the \
                 event), with its confidence interval, as R's survfit(Surv(time, 1 - event) ~ 1). \
                 Returns STRUCT<n, median, lower, upper>.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT km_followup(os_months, died)['median'] AS median_followup FROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("conf_type", "Constant: 'log' (default), 'log-log', 'plain', 'logit', 'arcsin', 'none'.")
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }

    pub(crate) fn km_call(&self, args: &AccumulatorArgs) -> Result<KmCall> {
        let (conf_type, level) = conf_options(NAME, args, 2)?;
        Ok(KmCall::new(
            NAME,
            args,
            &self.sink,
            Arc::new(FollowupEvaluator { conf_type, level }),
        ))
    }
}

impl AggregateUDFImpl for KmFollowup {
    fn name(&self) -> &str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        // surv(...) in place of (time, event): crate::response.
        coerce_with_response(NAME, arg_types, KM_FOLLOWUP_TAKES, |types| {
            coerce_time_event_options(
                NAME,
                types,
                &[
                    ("conf_type", DataType::Utf8),
                    ("conf_level", DataType::Float64),
                ],
                SYNTAX,
            )
        })
    }

    km_udaf_methods!();
}

#[derive(Debug)]
struct FollowupEvaluator {
    conf_type: ConfType,
    level: f64,
}

impl KmEvaluator for FollowupEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let (mut n, mut med, mut lo, mut hi) = (vec![], vec![], vec![], vec![]);
        for c in groups {
            let km = KaplanMeier::from_counts(&c.counts(NAME)?.reversed());
            let bands =
                (self.conf_type != ConfType::None).then(|| km.bands(self.conf_type, self.level));
            let q = km.median_table(bands.as_ref());
            n.push(km.n() as i64);
            med.push(q.estimate);
            lo.push(q.lower);
            hi.push(q.upper);
        }
        Ok(struct_array(
            &fields(),
            vec![
                Arc::new(Int64Array::from(n)),
                Arc::new(Float64Array::from(med)),
                Arc::new(Float64Array::from(lo)),
                Arc::new(Float64Array::from(hi)),
            ],
        ))
    }
}

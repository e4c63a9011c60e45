//! [`KmFollowup`]: `km_followup(time, event [, conf_type [, conf_level]])`, the median
//! follow-up time by the reverse Kaplan-Meier method.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;
use survql_stats::{ConfType, KaplanMeier};

use crate::coerce::coerce_time_event_options;
use crate::docs::doc;
use crate::km_state::KM_FOLLOWUP_TAKES;
use crate::km_state::{KmEvaluator, KmOps, KmSample};
use crate::options::conf_options;
use crate::response::coerce_with_response;
use crate::result_arrays::{f64_field, i64_field, struct_array};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "km_followup";
const SYNTAX: &str = "km_followup(time, event [, conf_type [, conf_level]])";

/// `km_followup(time, event [, conf_type [, conf_level]])` returns
/// `STRUCT<n BIGINT, median DOUBLE, lower DOUBLE, upper DOUBLE>`: the median follow-up by the
/// reverse Kaplan-Meier method (censorings are the "events"), as R's
/// `survfit(Surv(time, 1 - event) ~ 1)` median with its log (default) confidence interval.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h km_followup` in the shell and in `docs/functions.md`.
pub type KmFollowup = SurvivalUdaf<KmFollowupFunction>;

/// The definition of [`KmFollowup`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct KmFollowupFunction;

fn fields() -> Fields {
    Fields::from(vec![
        i64_field("n"),
        f64_field("median"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

impl SurvivalFunction for KmFollowupFunction {
    type Ops = KmOps;

    fn name(&self) -> &'static str {
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

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::km_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let (conf_type, level) = conf_options(NAME, args, 2)?;
        Ok(KmOps::new(
            NAME,
            args,
            sink,
            Arc::new(FollowupEvaluator { conf_type, level }),
        ))
    }

    fn documentation(&self) -> &'static Documentation {
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
}

#[derive(Debug)]
struct FollowupEvaluator {
    conf_type: ConfType,
    level: f64,
}

impl KmEvaluator for FollowupEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let (mut n, mut med, mut lo, mut hi) = (vec![], vec![], vec![], vec![]);
        let mut km = KaplanMeier::default();
        for c in groups {
            km.refill_reversed_from_counts(c.counts(NAME)?);
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

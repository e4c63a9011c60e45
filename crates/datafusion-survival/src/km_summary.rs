//! [`KmSummary`]: `km_summary(time, event [, conf_type [, conf_level]])`, the one-line
//! Kaplan-Meier summary R prints: records, events, median and its confidence limits.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};
use survql_stats::{ConfType, Convention};

use crate::common::{
    coerce_time_event_options, doc, f64_field, i64_field, km_conf_options, struct_array,
    WarningSink,
};
use crate::convention::{session_convention, ConventionArg};
use crate::macros::{km_udaf_methods, udaf_constructors};
use crate::response::{call_shape, coerce_with_response};
use crate::time_counts::{count_array, count_type, weighted_types, KM_TAKES};
use crate::time_counts::{KmCall, KmEvaluator, KmSample};

const NAME: &str = "km_summary";
const SYNTAX: &str = "km_summary(time, event [, conf_type [, conf_level]])";

/// `km_summary(time, event [, conf_type [, conf_level]])` returns
/// `STRUCT<n BIGINT, events BIGINT, median DOUBLE, lower DOUBLE, upper DOUBLE>`, the row of
/// R's `summary(survfit(Surv(time, event) ~ 1, conf.type = conf_type))$table`:
/// records, events, median, 0.95LCL, 0.95UCL. The limits are the first times the lower and
/// upper pointwise bands reach 0.5.
///
/// ```sql
/// SELECT grade, km_summary(os_months, died)['median'] AS median,
///        km_summary(os_months, died)['lower'] AS lcl,
///        km_summary(os_months, died)['upper'] AS ucl
/// FROM demo.net_cohort GROUP BY grade;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KmSummary {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(KmSummary);

/// The result fields; `events` is a sum of weights (DOUBLE) when `weighted`.
fn fields(weighted: bool) -> Fields {
    Fields::from(vec![
        i64_field("n"),
        Field::new("events", count_type(weighted), true),
        f64_field("median"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

impl KmSummary {
    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Kaplan-Meier summary: number of rows used, events, median survival and its \
                 confidence interval (limits where the pointwise bands reach 0.5), as R's \
                 summary(survfit(...))$table. Returns STRUCT<n, events, median, lower, upper>.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT grade, km_summary(os_months, died)['median'] AS median,\n       km_summary(os_months, died)['lower'] AS lcl,\n       km_summary(os_months, died)['upper'] AS ucl\nFROM demo.net_cohort GROUP BY grade;\n\nSELECT km_summary(os_months, died, 'log-log', 0.9) FROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument(
                "conf_type",
                "Constant: 'log' (default), 'log-log', 'plain', 'logit', 'arcsin' or 'none'. Or a convention, 'sas', 'stata' or 'spss' (that package's rules and default limits; 'sas:log' for its rules with log limits), see docs/conventions.md; the default follows SET survql.convention.",
            )
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }

    pub(crate) fn km_call(&self, args: &AccumulatorArgs) -> Result<KmCall> {
        let (convention, conf_type, level) = km_conf_options(NAME, args, 2)?;
        Ok(KmCall::new(
            NAME,
            args,
            &self.sink,
            Arc::new(SummaryEvaluator {
                convention,
                conf_type,
                level,
                weighted: call_shape(args).is_some_and(|s| s.weight),
            }),
        ))
    }
}

impl AggregateUDFImpl for KmSummary {
    fn name(&self) -> &str {
        NAME
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields(weighted_types(arg_types))))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        // surv(...) in place of (time, event): crate::response.
        coerce_with_response(NAME, arg_types, KM_TAKES, |types| {
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

    /// `SET survql.convention`: see [`crate::convention`].
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        session_convention(ConventionArg::ConfType(2))
    }

    km_udaf_methods!();
}

#[derive(Debug)]
struct SummaryEvaluator {
    convention: Convention,
    conf_type: ConfType,
    level: f64,
    weighted: bool,
}

impl KmEvaluator for SummaryEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let (mut n, mut events, mut med, mut lo, mut hi) = (vec![], vec![], vec![], vec![], vec![]);
        for c in groups {
            let km = c.curve(NAME)?;
            let bands =
                (self.conf_type != ConfType::None).then(|| km.bands(self.conf_type, self.level));
            let q = km.median_with(self.convention, bands.as_ref(), self.level);
            n.push(km.n() as i64);
            events.push(km.events());
            med.push(q.estimate);
            lo.push(q.lower);
            hi.push(q.upper);
        }
        Ok(struct_array(
            &fields(self.weighted),
            vec![
                Arc::new(Int64Array::from(n)),
                count_array(events, self.weighted),
                Arc::new(Float64Array::from(med)),
                Arc::new(Float64Array::from(lo)),
                Arc::new(Float64Array::from(hi)),
            ],
        ))
    }
}

//! [`KmSummary`]: `km_summary(time, event [, conf_type [, conf_level]])`, the one-line
//! Kaplan-Meier summary R prints: records, events, median and its confidence limits.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::Documentation;
use survql_stats::{ConfType, Convention, KaplanMeier};

use crate::coerce::coerce_time_event_options;
use crate::convention_setting::{session_convention, ConventionArg};
use crate::docs::doc;
use crate::km_state::{count_array, count_type, weighted_types, KM_TAKES};
use crate::km_state::{KmEvaluator, KmOps, KmSample};
use crate::options::km_conf_options;
use crate::response::{call_shape, coerce_with_response};
use crate::result_arrays::{f64_field, i64_field, struct_array};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "km_summary";
const SYNTAX: &str = "km_summary(time, event [, conf_type [, conf_level]])";

/// `km_summary(time, event [, conf_type [, conf_level]])` returns
/// `STRUCT<n BIGINT, events BIGINT, median DOUBLE, lower DOUBLE, upper DOUBLE>`, the row of
/// R's `summary(survfit(Surv(time, event) ~ 1, conf.type = conf_type))$table`:
/// records, events, median, 0.95LCL, 0.95UCL. The limits are the first times the lower and
/// upper pointwise bands reach 0.5.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h km_summary` in the shell and in `docs/functions.md`.
pub type KmSummary = SurvivalUdaf<KmSummaryFunction>;

/// The definition of [`KmSummary`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct KmSummaryFunction;

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

impl SurvivalFunction for KmSummaryFunction {
    type Ops = KmOps;

    fn name(&self) -> &'static str {
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

    /// `SET survql.convention`: see [`crate::convention_setting`].
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        session_convention(ConventionArg::ConfType(2))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::km_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let (convention, conf_type, level) = km_conf_options(NAME, args, 2)?;
        Ok(KmOps::new(
            NAME,
            args,
            sink,
            Arc::new(SummaryEvaluator {
                convention,
                conf_type,
                level,
                weighted: call_shape(args).is_some_and(|s| s.weight),
            }),
        ))
    }

    fn documentation(&self) -> &'static Documentation {
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
        let mut scratch = KaplanMeier::default();
        let (mut n, mut events, mut med, mut lo, mut hi) = (vec![], vec![], vec![], vec![], vec![]);
        for c in groups {
            let km = c.curve(NAME, &mut scratch)?;
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

//! [`KmCurve`]: `km_curve(time, event [, conf_type [, conf_level]])`, the whole Kaplan-Meier
//! curve as a list with one element per distinct time.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::Documentation;
use survql_stats::{ConfType, KaplanMeier};

use crate::coerce::coerce_time_event_options;
use crate::convention_setting::{session_convention, ConventionArg};
use crate::docs::doc;
use crate::km_state::{count_array, count_type, weighted_types, KM_TAKES};
use crate::km_state::{KmEvaluator, KmOps, KmSample};
use crate::options::km_conf_options;
use crate::response::{call_shape, coerce_with_response};
use crate::result_arrays::{f64_field, finite_or_null, list_array, list_of, struct_array};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "km_curve";
const SYNTAX: &str = "km_curve(time, event [, conf_type [, conf_level]])";

/// `km_curve(time, event [, conf_type [, conf_level]])` returns
/// `LIST<STRUCT<time, n_risk, n_event, n_censor, surv, std_err, lower, upper, cumhaz>>`, one
/// element per distinct time (events and censorings), as the components of R's
/// `survfit(Surv(time, event) ~ 1)` object; `std_err` is the standard error of S and `cumhaz`
/// the Nelson-Aalen estimate.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h km_curve` in the shell and in `docs/functions.md`.
pub type KmCurve = SurvivalUdaf<KmCurveFunction>;

/// The definition of [`KmCurve`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct KmCurveFunction;

/// The element fields; the counts are sums of weights (DOUBLE) when `weighted`.
fn item_fields(weighted: bool) -> Fields {
    let count = |name: &str| Field::new(name, count_type(weighted), true);
    Fields::from(vec![
        f64_field("time"),
        count("n_risk"),
        count("n_event"),
        count("n_censor"),
        f64_field("surv"),
        f64_field("std_err"),
        f64_field("lower"),
        f64_field("upper"),
        f64_field("cumhaz"),
    ])
}

impl SurvivalFunction for KmCurveFunction {
    type Ops = KmOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(DataType::Struct(item_fields(weighted_types(
            arg_types,
        )))))
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
        // A convention only sets the limits' default transform here.
        let (_, conf_type, level) = km_conf_options(NAME, args, 2)?;
        Ok(KmOps::new(
            NAME,
            args,
            sink,
            Arc::new(CurveEvaluator {
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
                "The Kaplan-Meier curve: one element per distinct time (events and censorings) \
                 with the number at risk, events, censorings, S(t), its standard error, pointwise \
                 confidence limits and the Nelson-Aalen cumulative hazard, as the components of \
                 R's survfit object. Use unnest() to get rows.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT unnest(km_curve(os_months, died)) FROM demo.net_cohort;\n\nSELECT grade, unnest(km_curve(os_months, died, 'log-log')) FROM demo.net_cohort GROUP BY grade;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("conf_type", "Constant: 'log' (default), 'log-log', 'plain', 'logit', 'arcsin', 'none'. Or a convention, 'sas', 'stata' or 'spss' (that package's rules and default limits; 'sas:log' for its rules with log limits), see docs/conventions.md; the default follows SET survql.convention.")
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }
}

#[derive(Debug)]
struct CurveEvaluator {
    conf_type: ConfType,
    level: f64,
    weighted: bool,
}

impl KmEvaluator for CurveEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let mut scratch = KaplanMeier::default();
        let mut lengths = Vec::with_capacity(groups.len());
        let (mut time, mut n_risk, mut n_event, mut n_censor) = (vec![], vec![], vec![], vec![]);
        let (mut surv, mut se, mut lower, mut upper, mut cumhaz) =
            (vec![], vec![], vec![], vec![], vec![]);
        for c in groups {
            let km = c.curve(NAME, &mut scratch)?;
            let bands = km.bands(self.conf_type, self.level);
            lengths.push(km.time.len());
            time.extend_from_slice(&km.time);
            n_risk.extend_from_slice(&km.n_risk);
            n_event.extend_from_slice(&km.n_event);
            n_censor.extend_from_slice(&km.n_censor);
            surv.extend_from_slice(&km.surv);
            se.extend(km.std_err.iter().copied().map(finite_or_null));
            lower.extend(bands.lower.into_iter().map(finite_or_null));
            upper.extend(bands.upper.into_iter().map(finite_or_null));
            cumhaz.extend_from_slice(&km.cumhaz);
        }
        let items = struct_array(
            &item_fields(self.weighted),
            vec![
                Arc::new(Float64Array::from(time)),
                count_array(n_risk, self.weighted),
                count_array(n_event, self.weighted),
                count_array(n_censor, self.weighted),
                Arc::new(Float64Array::from(surv)),
                Arc::new(Float64Array::from(se)),
                Arc::new(Float64Array::from(lower)),
                Arc::new(Float64Array::from(upper)),
                Arc::new(Float64Array::from(cumhaz)),
            ],
        );
        list_array(&lengths, items)
    }
}

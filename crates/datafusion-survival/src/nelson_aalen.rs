//! [`NelsonAalen`]: `nelson_aalen(time, event)`, the Nelson-Aalen cumulative hazard curve.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;
use survql_stats::KaplanMeier;

use crate::coerce::coerce_time_event_options;
use crate::docs::doc;
use crate::km_state::{count_array, count_type, weighted_types, KM_TAKES};
use crate::km_state::{KmEvaluator, KmOps, KmSample};
use crate::response::{call_shape, coerce_with_response};
use crate::result_arrays::{f64_field, list_array, list_of, struct_array};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "nelson_aalen";
const SYNTAX: &str = "nelson_aalen(time, event)";

/// `nelson_aalen(time, event)` returns
/// `LIST<STRUCT<time, n_risk, n_event, cumhaz, std_err>>`, one element per distinct time:
/// H(t) = Σ d/n and `std_err` = sqrt(Σ d/n²), as R's
/// `survfit(Surv(time, event) ~ 1, stype = 2, ctype = 1)` (`cumhaz`, `std.chaz`).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h nelson_aalen` in the shell and in `docs/functions.md`.
pub type NelsonAalen = SurvivalUdaf<NelsonAalenFunction>;

/// The definition of [`NelsonAalen`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct NelsonAalenFunction;

/// The element fields; the counts are sums of weights (DOUBLE) when `weighted`.
fn item_fields(weighted: bool) -> Fields {
    Fields::from(vec![
        f64_field("time"),
        Field::new("n_risk", count_type(weighted), true),
        Field::new("n_event", count_type(weighted), true),
        f64_field("cumhaz"),
        f64_field("std_err"),
    ])
}

impl SurvivalFunction for NelsonAalenFunction {
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
            coerce_time_event_options(NAME, types, &[], SYNTAX)
        })
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::km_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        Ok(KmOps::new(
            NAME,
            args,
            sink,
            Arc::new(NelsonAalenEvaluator {
                weighted: call_shape(args).is_some_and(|s| s.weight),
            }),
        ))
    }

    fn documentation(&self) -> &'static Documentation {
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
}

#[derive(Debug)]
struct NelsonAalenEvaluator {
    weighted: bool,
}

impl KmEvaluator for NelsonAalenEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let mut scratch = KaplanMeier::default();
        let mut lengths = Vec::with_capacity(groups.len());
        let (mut time, mut n_risk, mut n_event, mut cumhaz, mut se) =
            (vec![], vec![], vec![], vec![], vec![]);
        for c in groups {
            let km = c.curve(NAME, &mut scratch)?;
            lengths.push(km.time.len());
            time.extend_from_slice(&km.time);
            n_risk.extend_from_slice(&km.n_risk);
            n_event.extend_from_slice(&km.n_event);
            cumhaz.extend_from_slice(&km.cumhaz);
            se.extend_from_slice(&km.std_chaz);
        }
        let items = struct_array(
            &item_fields(self.weighted),
            vec![
                Arc::new(Float64Array::from(time)),
                count_array(n_risk, self.weighted),
                count_array(n_event, self.weighted),
                Arc::new(Float64Array::from(cumhaz)),
                Arc::new(Float64Array::from(se)),
            ],
        );
        list_array(&lengths, items)
    }
}

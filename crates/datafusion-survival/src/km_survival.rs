//! [`KmSurvival`]: `km_survival(time, event, at [, conf_type [, conf_level]])`, the survival
//! probability at a given time (e.g. the 3-year survival rate) with its confidence interval.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::Documentation;
use survql_stats::{ConfType, Convention, KaplanMeier};

use crate::coerce::coerce_time_event_required;
use crate::convention_setting::{session_convention, ConventionArg};
use crate::docs::doc;
use crate::km_state::{count_array, count_type, weighted_types, KM_TAKES};
use crate::km_state::{KmEvaluator, KmOps, KmSample};
use crate::options::{f64_option, km_conf_options};
use crate::response::{call_shape, coerce_with_response};
use crate::result_arrays::{f64_field, struct_array};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "km_survival";
const SYNTAX: &str = "km_survival(time, event, at [, conf_type [, conf_level]])";

/// `km_survival(time, event, at [, conf_type [, conf_level]])` returns
/// `STRUCT<time DOUBLE, n_risk BIGINT, surv DOUBLE, std_err DOUBLE, lower DOUBLE, upper DOUBLE>`
/// as R's `summary(survfit(...), times = at, extend = TRUE)`: S at the last curve time ≤ `at`,
/// `n_risk` the number still followed at `at`, `std_err` the standard error of S.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h km_survival` in the shell and in `docs/functions.md`.
pub type KmSurvival = SurvivalUdaf<KmSurvivalFunction>;

/// The definition of [`KmSurvival`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct KmSurvivalFunction;

/// The result fields; `n_risk` is a sum of weights (DOUBLE) when `weighted`.
fn fields(weighted: bool) -> Fields {
    Fields::from(vec![
        f64_field("time"),
        Field::new("n_risk", count_type(weighted), true),
        f64_field("surv"),
        f64_field("std_err"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

impl SurvivalFunction for KmSurvivalFunction {
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
            coerce_time_event_required(
                NAME,
                types,
                1,
                &[
                    ("at", DataType::Float64),
                    ("conf_type", DataType::Utf8),
                    ("conf_level", DataType::Float64),
                ],
                SYNTAX,
            )
        })
    }

    /// `SET survql.convention`: see [`crate::convention_setting`].
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        session_convention(ConventionArg::ConfType(3))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::km_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let at = f64_option(NAME, "at", args, 2)?.unwrap_or(0.0);
        let (convention, conf_type, level) = km_conf_options(NAME, args, 3)?;
        Ok(KmOps::new(
            NAME,
            args,
            sink,
            Arc::new(SurvivalEvaluator {
                convention,
                at,
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
                "Kaplan-Meier survival probability at a time, with its standard error and \
                 pointwise confidence interval, as R's summary(survfit(...), times = at, \
                 extend = TRUE). Returns STRUCT<time, n_risk, surv, std_err, lower, upper>; \
                 std_err is the standard error of S.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT grade, km_survival(os_months, died, 36)['surv'] AS os_3y,\n       km_survival(os_months, died, 36)['lower'] AS lcl\nFROM demo.net_cohort GROUP BY grade;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("at", "Constant time at which to read the curve.")
            .with_argument("conf_type", "Constant: 'log' (default), 'log-log', 'plain', 'logit', 'arcsin', 'none'. Or a convention, 'sas', 'stata' or 'spss' (that package's rules and default limits; 'sas:log' for its rules with log limits), see docs/conventions.md; the default follows SET survql.convention.")
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }
}

#[derive(Debug)]
struct SurvivalEvaluator {
    convention: Convention,
    at: f64,
    conf_type: ConfType,
    level: f64,
    weighted: bool,
}

impl KmEvaluator for SurvivalEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let mut scratch = KaplanMeier::default();
        let k = groups.len();
        let (mut n_risk, mut surv, mut se, mut lo, mut hi) = (
            Vec::with_capacity(k),
            Vec::with_capacity(k),
            Vec::with_capacity(k),
            Vec::with_capacity(k),
            Vec::with_capacity(k),
        );
        for c in groups {
            if c.is_empty() {
                n_risk.push(0.0);
                surv.push(None);
                se.push(None);
                lo.push(None);
                hi.push(None);
                continue;
            }
            let km = c.curve(NAME, &mut scratch)?;
            let r = km.at(self.at, self.conf_type, self.level);
            n_risk.push(r.n_risk);
            // SAS: not estimable past a censored last observation (R carries S forward).
            if self.convention == Convention::Sas && km.beyond_follow_up(self.at) {
                surv.push(None);
                se.push(None);
                lo.push(None);
                hi.push(None);
                continue;
            }
            surv.push(Some(r.surv));
            se.push(r.std_err);
            lo.push(r.lower);
            hi.push(r.upper);
        }
        Ok(struct_array(
            &fields(self.weighted),
            vec![
                Arc::new(Float64Array::from(vec![self.at; k])),
                count_array(n_risk, self.weighted),
                Arc::new(Float64Array::from(surv)),
                Arc::new(Float64Array::from(se)),
                Arc::new(Float64Array::from(lo)),
                Arc::new(Float64Array::from(hi)),
            ],
        ))
    }
}

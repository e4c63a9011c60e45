//! [`KmRmst`]: `km_rmst(time, event, tau [, conf_level])`, the restricted mean survival time.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;
use survql_stats::distributions::z_for_level;
use survql_stats::KaplanMeier;

use crate::coerce::coerce_time_event_required;
use crate::docs::doc;
use crate::km_state::KM_TAKES;
use crate::km_state::{KmEvaluator, KmOps, KmSample};
use crate::options::{conf_level_option, f64_option};
use crate::response::coerce_with_response;
use crate::result_arrays::{f64_field, struct_array};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "km_rmst";
const SYNTAX: &str = "km_rmst(time, event, tau [, conf_level])";

/// `km_rmst(time, event, tau [, conf_level])` returns
/// `STRUCT<tau DOUBLE, rmst DOUBLE, std_err DOUBLE, lower DOUBLE, upper DOUBLE>`: the area under
/// the Kaplan-Meier curve from 0 (or the smallest negative time) to `tau`, as R's
/// `summary(survfit(...), rmean = tau)$table[c("rmean", "se(rmean)")]`, with the normal
/// interval `rmst ± z·std_err` (`conf_level` default 0.95).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h km_rmst` in the shell and in `docs/functions.md`.
pub type KmRmst = SurvivalUdaf<KmRmstFunction>;

/// The definition of [`KmRmst`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct KmRmstFunction;

fn fields() -> Fields {
    Fields::from(vec![
        f64_field("tau"),
        f64_field("rmst"),
        f64_field("std_err"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

impl SurvivalFunction for KmRmstFunction {
    type Ops = KmOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        // surv(...) in place of (time, event): crate::response.
        coerce_with_response(NAME, arg_types, KM_TAKES, |types| {
            coerce_time_event_required(
                NAME,
                types,
                1,
                &[
                    ("tau", DataType::Float64),
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
        let tau = f64_option(NAME, "tau", args, 2)?.unwrap_or(0.0);
        let level = conf_level_option(NAME, args, 3)?.unwrap_or(0.95);
        Ok(KmOps::new(
            NAME,
            args,
            sink,
            Arc::new(RmstEvaluator { tau, level }),
        ))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Restricted mean survival time: the area under the Kaplan-Meier curve up to tau, \
                 with R's se(rmean) and a normal confidence interval, as \
                 summary(survfit(...), rmean = tau)$table. Returns \
                 STRUCT<tau, rmst, std_err, lower, upper>.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT grade, km_rmst(os_months, died, 60)['rmst'] AS rmst_5y\nFROM demo.net_cohort GROUP BY grade;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("tau", "Constant truncation time.")
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }
}

#[derive(Debug)]
struct RmstEvaluator {
    tau: f64,
    level: f64,
}

impl KmEvaluator for RmstEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let mut scratch = KaplanMeier::default();
        let z = z_for_level(self.level);
        let k = groups.len();
        let (mut rmst, mut se, mut lo, mut hi) = (
            Vec::with_capacity(k),
            Vec::with_capacity(k),
            Vec::with_capacity(k),
            Vec::with_capacity(k),
        );
        for c in groups {
            match c.curve(NAME, &mut scratch)?.rmst(self.tau) {
                Some(r) => {
                    rmst.push(Some(r.rmst));
                    se.push(Some(r.std_err));
                    lo.push(Some(r.rmst - z * r.std_err));
                    hi.push(Some(r.rmst + z * r.std_err));
                }
                None => {
                    rmst.push(None);
                    se.push(None);
                    lo.push(None);
                    hi.push(None);
                }
            }
        }
        Ok(struct_array(
            &fields(),
            vec![
                Arc::new(Float64Array::from(vec![self.tau; k])),
                Arc::new(Float64Array::from(rmst)),
                Arc::new(Float64Array::from(se)),
                Arc::new(Float64Array::from(lo)),
                Arc::new(Float64Array::from(hi)),
            ],
        ))
    }
}

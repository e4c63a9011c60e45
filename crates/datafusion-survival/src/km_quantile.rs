//! [`KmQuantile`]: `km_quantile(time, event, p [, conf_type [, conf_level]])`, a quantile of
//! the survival distribution with its confidence interval.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::Documentation;
use survql_stats::{ConfType, Convention, KaplanMeier};

use crate::coerce::coerce_time_event_required;
use crate::convention_setting::{session_convention, ConventionArg};
use crate::docs::doc;
use crate::km_state::KM_TAKES;
use crate::km_state::{KmEvaluator, KmOps, KmSample};
use crate::options::{f64_option, km_conf_options};
use crate::response::coerce_with_response;
use crate::result_arrays::{f64_field, struct_array};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "km_quantile";
const SYNTAX: &str = "km_quantile(time, event, p [, conf_type [, conf_level]])";

/// `km_quantile(time, event, p [, conf_type [, conf_level]])` returns
/// `STRUCT<quantile DOUBLE, lower DOUBLE, upper DOUBLE>` as R's
/// `quantile(survfit(...), probs = p, conf.int = TRUE)`: the time at which 1 - S(t) first
/// reaches `p` (p = 0.25 is where S drops to 0.75), limits read off the pointwise bands.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h km_quantile` in the shell and in `docs/functions.md`.
pub type KmQuantile = SurvivalUdaf<KmQuantileFunction>;

/// The definition of [`KmQuantile`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct KmQuantileFunction;

fn fields() -> Fields {
    Fields::from(vec![
        f64_field("quantile"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

impl SurvivalFunction for KmQuantileFunction {
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
                    ("p", DataType::Float64),
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
        let p = f64_option(NAME, "p", args, 2)?.unwrap_or(f64::NAN);
        if !(p > 0.0 && p < 1.0) {
            return exec_err!("{NAME}: argument 'p' must be in (0, 1), found {p}");
        }
        let (convention, conf_type, level) = km_conf_options(NAME, args, 3)?;
        Ok(KmOps::new(
            NAME,
            args,
            sink,
            Arc::new(QuantileEvaluator {
                convention,
                p,
                conf_type,
                level,
            }),
        ))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Quantile of the Kaplan-Meier survival distribution with its confidence interval, \
                 as R's quantile(survfit(...), p, conf.int = TRUE): the time at which 1 - S(t) \
                 first reaches p (p = 0.25 is where S drops to 0.75). Returns \
                 STRUCT<quantile, lower, upper>.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT km_quantile(os_months, died, 0.25)['quantile'] AS q25,\n       km_quantile(os_months, died, 0.75, 'log-log') AS q75\nFROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("p", "Constant probability in (0, 1).")
            .with_argument("conf_type", "Constant: 'log' (default), 'log-log', 'plain', 'logit', 'arcsin', 'none'. Or a convention, 'sas', 'stata' or 'spss' (that package's rules and default limits; 'sas:log' for its rules with log limits), see docs/conventions.md; the default follows SET survql.convention.")
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }
}

#[derive(Debug)]
struct QuantileEvaluator {
    convention: Convention,
    p: f64,
    conf_type: ConfType,
    level: f64,
}

impl KmEvaluator for QuantileEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let mut scratch = KaplanMeier::default();
        let (mut q, mut lo, mut hi) = (vec![], vec![], vec![]);
        for c in groups {
            let km = c.curve(NAME, &mut scratch)?;
            let bands =
                (self.conf_type != ConfType::None).then(|| km.bands(self.conf_type, self.level));
            let r = if c.is_empty() {
                Default::default()
            } else {
                km.quantile_with(self.convention, self.p, bands.as_ref(), self.level)
            };
            q.push(r.estimate);
            lo.push(r.lower);
            hi.push(r.upper);
        }
        Ok(struct_array(
            &fields(),
            vec![
                Arc::new(Float64Array::from(q)),
                Arc::new(Float64Array::from(lo)),
                Arc::new(Float64Array::from(hi)),
            ],
        ))
    }
}

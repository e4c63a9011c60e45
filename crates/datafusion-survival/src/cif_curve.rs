//! [`CifCurve`]: `cif_curve(time, status, cause [, conf_type [, conf_level]])`, the
//! Aalen-Johansen cumulative incidence curve of one cause in the presence of competing risks.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;

use crate::competing_state::{
    coerce_competing, curve_state_fields, return_type, CompetingOps, CompetingOutput,
};
use crate::docs::doc;
use crate::options::conf_options;
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "cif_curve";
const SYNTAX: &str = "cif_curve(time, status, cause [, conf_type [, conf_level]])";

/// `cif_curve(time, status, cause [, conf_type [, conf_level]])` returns
/// `LIST<STRUCT<time, n_risk, n_event, cif, std_err, lower, upper>>`: the Aalen-Johansen
/// cumulative incidence of `cause` (status 0 = censored, k = an event of cause k), one element
/// per distinct time, as R's `survfit(Surv(time, factor(status)) ~ 1)`: the cause's column of
/// `pstate`, its infinitesimal-jackknife `std.err` and the `lower`/`upper` limits (`conf.type`,
/// default `'log'`). See [`survql_stats::aalen_johansen`].
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h cif_curve` in the shell and in `docs/functions.md`.
pub type CifCurve = SurvivalUdaf<CifCurveFunction>;

/// The definition of [`CifCurve`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CifCurveFunction;

impl SurvivalFunction for CifCurveFunction {
    type Ops = CompetingOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(return_type(CompetingOutput::Curve))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_competing(NAME, arg_types, false, &["conf_type", "conf_level"], SYNTAX)
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        curve_state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let conf = conf_options(NAME, args, 3)?;
        CompetingOps::new(NAME, args, sink, CompetingOutput::Curve, conf)
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Cumulative incidence of one cause with competing risks (Aalen-Johansen), one \
                 element per distinct time: subjects at risk, events of the cause, the \
                 cumulative incidence, its standard error (infinitesimal jackknife) and \
                 pointwise limits, as R's survfit(Surv(time, factor(status)) ~ 1) for that \
                 state. status: 0 = censored, k = an event of cause k. Use unnest() for rows.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\n-- relapse (1) with death (2) as the competing event\nSELECT arm, unnest(cif_curve(months, status, 1)) FROM trial GROUP BY arm;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("status", "Integer: 0 = censored, k >= 1 = an event of cause k.")
            .with_argument("cause", "Constant: the cause whose incidence is estimated (>= 1).")
            .with_argument(
                "conf_type",
                "Constant: 'log' (default, R's), 'log-log', 'plain', 'logit', 'arcsin', 'none'.",
            )
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }
}

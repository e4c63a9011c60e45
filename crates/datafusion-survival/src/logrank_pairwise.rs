//! [`LogrankPairwise`]: `logrank_pairwise(time, event, grp [, p_adjust [, rho]])`, every pair of
//! groups compared with the log-rank (or G-rho) test, p-values adjusted for multiplicity.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_datafusion_err, Result};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;
use survql_stats::{PAdjust, Weighting};

use crate::coerce::{check_arity, coerce_option, coerce_time_event_labels};
use crate::docs::doc;
use crate::logrank_state::{LogrankOps, LogrankOutput};
use crate::options::{f64_option, str_option};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "logrank_pairwise";
const SYNTAX: &str = "logrank_pairwise(time, event, grp [, p_adjust [, rho]])";

/// `logrank_pairwise(time, event, grp [, p_adjust [, rho]])` returns
/// `LIST<STRUCT<grp1 VARCHAR, grp2 VARCHAR, chisq DOUBLE, p_value DOUBLE, p_adjusted DOUBLE>>`:
/// each pair of groups (grp1 before grp2 in R's factor order) tested alone with
/// `survdiff(..., rho = rho)` on the two groups' rows, p from the chi-square with one degree
/// of freedom, then adjusted over all pairs with R's `p.adjust(p, p_adjust)`: `'holm'`
/// (default), `'bonferroni'`, `'BH'`, `'none'`. The same numbers as survminer's
/// `pairwise_survdiff(Surv(time, event) ~ grp, p.adjust.method = p_adjust, rho = rho)`
/// (whose own default is `'BH'`). The pairs reuse the one per-(group, time) state.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h logrank_pairwise` in the shell and in `docs/functions.md`.
pub type LogrankPairwise = SurvivalUdaf<LogrankPairwiseFunction>;

/// The definition of [`LogrankPairwise`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct LogrankPairwiseFunction;

/// `return_type` needs a constant for the output; the adjustment method does not change it.
const OUTPUT: LogrankOutput = LogrankOutput::Pairwise(PAdjust::Holm);

impl SurvivalFunction for LogrankPairwiseFunction {
    type Ops = LogrankOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types.len(), 3, 5, SYNTAX)?;
        let mut out = coerce_time_event_labels(NAME, &arg_types[..3], 1, &[], SYNTAX)?;
        if let Some(dt) = arg_types.get(3) {
            out.push(coerce_option(NAME, "p_adjust", dt, &DataType::Utf8)?);
        }
        if let Some(dt) = arg_types.get(4) {
            out.push(coerce_option(NAME, "rho", dt, &DataType::Float64)?);
        }
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(crate::logrank_state::return_type(OUTPUT))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::logrank_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let adjust = match str_option(NAME, "p_adjust", args, 3)? {
            None => PAdjust::Holm,
            Some(text) => PAdjust::parse(&text).ok_or_else(|| {
                exec_datafusion_err!(
                    "{NAME}: argument 'p_adjust' must be one of {}, found '{text}'",
                    PAdjust::NAMES
                )
            })?,
        };
        let rho = f64_option(NAME, "rho", args, 4)?.unwrap_or(0.0);
        let output = LogrankOutput::Pairwise(adjust);
        Ok(LogrankOps::new(
            NAME,
            args,
            sink,
            false,
            Weighting::rho(rho),
            output,
        ))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Pairwise log-rank tests between the groups of grp, each pair alone (as \
                 survminer's pairwise_survdiff), p-values adjusted over the pairs with R's \
                 p.adjust. Returns LIST<STRUCT<grp1, grp2, chisq, p_value, p_adjusted>>, \
                 grp1 before grp2 in R's factor order.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT unnest(logrank_pairwise(os_months, died, grade)) FROM demo.net_cohort;\n\nSELECT unnest(logrank_pairwise(os_months, died, grade, 'BH', 1)) FROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("grp", "Group (any type; labels are its text).")
            .with_argument(
                "p_adjust",
                "Constant: 'holm' (default), 'bonferroni', 'BH' (Benjamini-Hochberg), 'none'.",
            )
            .with_argument("rho", "Constant weight exponent: 0 (default) log-rank, 1 Peto-Peto (R's rho).")
            .build()
        })
    }
}

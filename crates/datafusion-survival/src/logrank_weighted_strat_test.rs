//! [`LogrankWeightedStratTest`]: `logrank_weighted_strat_test(time, event, grp, strata,
//! weighting)`, the stratified weighted log-rank family.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;

use crate::docs::doc;
use crate::logrank_state::{coerce_weighted, weighting_option, LogrankOps, LogrankOutput};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "logrank_weighted_strat_test";
const SYNTAX: &str = "logrank_weighted_strat_test(time, event, grp, strata, weighting)";
const OUTPUT: LogrankOutput = LogrankOutput::Test;

/// `logrank_weighted_strat_test(time, event, grp, strata, weighting)`: the weighted test of
/// [`crate::logrank_weighted_test::LogrankWeightedTest`] within each stratum, observed,
/// expected and variance summed over strata (as `survdiff(... + strata(s), rho = ρ)` for
/// `'fh(ρ,0)'`; SAS LIFETEST `STRATA s / GROUP = grp` for the others). The weights come from
/// each stratum's pooled sample.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h logrank_weighted_strat_test` in the shell and in `docs/functions.md`.
pub type LogrankWeightedStratTest = SurvivalUdaf<LogrankWeightedStratTestFunction>;

/// The definition of [`LogrankWeightedStratTest`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct LogrankWeightedStratTestFunction;

impl SurvivalFunction for LogrankWeightedStratTestFunction {
    type Ops = LogrankOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_weighted(NAME, arg_types, 2, SYNTAX)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(crate::logrank_state::return_type(OUTPUT))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::logrank_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let weighting = weighting_option(NAME, args, 4)?;
        Ok(LogrankOps::new(NAME, args, sink, true, weighting, OUTPUT))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Stratified weighted log-rank test: observed, expected and variance computed \
                 within each stratum (weights from the stratum's pooled sample) and summed. \
                 weighting: \
                 'logrank' (w = 1), 'gehan' (Gehan-Breslow generalised Wilcoxon, w = n at risk), \
                 'tarone-ware' (w = sqrt(n)), 'peto' (Peto-Peto, w = S~(t) = prod over t_j <= t \
                 of 1 - d_j/(n_j + 1), as SAS and lifelines), 'fh(p,q)' (Fleming-Harrington, \
                 w = S(t-)^p (1 - S(t-))^q with S the pooled Kaplan-Meier; fh(r,0) is R's \
                 survdiff(rho = r)). Returns STRUCT<chisq, df, p_value, groups LIST<STRUCT<grp, \
                 n, observed, expected>>> (observed and expected weighted, as survdiff's).",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT logrank_weighted_strat_test(os_months, died, liver_mets, treatment, 'gehan')['p_value']\nFROM demo.net_cohort;\n```",
            )
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("grp", "Group (any type; labels are its text).")
            .with_argument("strata", "Stratum (any type); rows with a NULL stratum are skipped.")
            .with_argument(
                "weighting",
                "Constant: 'logrank', 'gehan', 'tarone-ware', 'peto' or 'fh(p,q)' (p, q >= 0).",
            )
            .build()
        })
    }
}

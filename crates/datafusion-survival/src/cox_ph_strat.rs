//! [`CoxPhStrat`]: `cox_ph_strat(time, event, strata, x1 [, x2, ...] [, options])`.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};

use crate::common::{doc, WarningSink};
use crate::convention::{session_convention, ConventionArg};
use crate::cox_state::{self, CoxCall, CoxKind};
use crate::macros::{state_udaf_methods, udaf_constructors};

const NAME: &str = "cox_ph_strat";
const SYNTAX: &str = "cox_ph_strat(time, event, strata, x1 [, x2, ...] [, options])";
const KIND: CoxKind = CoxKind::Strat;

/// `cox_ph_strat(time, event, strata, x1 [, x2, ...] [, options])`, as R's `coxph(Surv(time, event) ~ x1 + ... + strata(strata))`.
///
/// ```sql
/// SELECT unnest(cox_ph_strat(os_months, died, treatment, age, liver_mets)['terms']) FROM demo.net_cohort;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CoxPhStrat {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(CoxPhStrat);

impl CoxPhStrat {
    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Stratified Cox regression, as R's coxph(Surv(time, event) ~ x1 + ... + strata(strata)): a separate baseline hazard per stratum. Returns the same STRUCT as cox_ph.", SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_ph_strat(os_months, died, treatment, age, liver_mets)['terms']) FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric); or surv([entry,] time, event [, weight]) in place of time and event: an entry gives counting-process data (as cox_ph_counting), a weight R's weights = (> 0; non-integer weights make the variance robust unless robust=false).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("strata", "Stratum (any type).")
            .with_argument("x1, x2, ...", "Covariates; cluster(id) among them is R's + cluster(id), the robust variance's clusters, not a covariate.")
            .with_argument("options", "Constant string: ties, conf_level, robust, max_iter, eps, convention (as cox_ph).")
            .build()
        })
    }
}

impl AggregateUDFImpl for CoxPhStrat {
    fn name(&self) -> &str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(cox_state::return_type(KIND))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        cox_state::coerce_cox_types(NAME, KIND, arg_types, SYNTAX)
    }

    /// `SET survql.convention`: see [`crate::convention`].
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        session_convention(ConventionArg::CoxOptions { fixed: 3 })
    }

    state_udaf_methods!(|args| cox_state::state_fields(KIND, args), cox_call);
}

impl CoxPhStrat {
    fn cox_call(&self, args: &AccumulatorArgs) -> Result<CoxCall> {
        CoxCall::new(NAME, KIND, args, &self.sink)
    }
}

//! [`CoxZph`]: `cox_zph(time, event, x1 [, x2, ...] [, options])`.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};

use crate::common::{doc, WarningSink};
use crate::convention::{session_convention, ConventionArg};
use crate::cox_state::{self, CoxCall, CoxKind};
use crate::macros::{state_udaf_methods, udaf_constructors};

const NAME: &str = "cox_zph";
const SYNTAX: &str = "cox_zph(time, event, x1 [, x2, ...] [, options])";
const KIND: CoxKind = CoxKind::Zph;

/// `cox_zph(time, event, x1 [, x2, ...] [, options])`, as R's `cox.zph(coxph(Surv(time, event) ~ x1 + ...), transform = "km")`.
///
/// ```sql
/// SELECT unnest(cox_zph(os_months, died, age, sex, liver_mets)['terms']) FROM demo.net_cohort;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CoxZph {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(CoxZph);

impl CoxZph {
    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Test of the proportional-hazards assumption of the Cox model on these covariates, as R's cox.zph(coxph(...), transform = 'km') (survival >= 3.0 score test): one test per covariate (a factor's levels together) and a global test. Returns STRUCT<global_chisq, global_df, global_p, terms LIST<STRUCT<term, chisq, df, p_value>>>.", SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_zph(os_months, died, age, sex, liver_mets)['terms']) FROM demo.net_cohort;\n```")
            .with_argument("time", "Follow-up time (numeric).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument("x1, x2, ...", "Covariates.")
            .with_argument("options", "Constant string: as cox_ph plus transform=km|identity|rank|log (default km) and terms=true|false.")
            .build()
        })
    }
}

impl AggregateUDFImpl for CoxZph {
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
        session_convention(ConventionArg::CoxOptions { fixed: 2 })
    }

    state_udaf_methods!(|args| cox_state::state_fields(KIND, args), cox_call);
}

impl CoxZph {
    fn cox_call(&self, args: &AccumulatorArgs) -> Result<CoxCall> {
        CoxCall::new(NAME, KIND, args, &self.sink)
    }
}

//! [`CoxPhCounting`]: `cox_ph_counting(start, stop, event, x1 [, x2, ...] [, options])`.

use std::sync::OnceLock;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification};
use datafusion::logical_expr::{AggregateUDFImpl, Documentation, Signature};

use crate::common::{doc, WarningSink};
use crate::convention::{session_convention, ConventionArg};
use crate::cox_state::{self, CoxCall, CoxKind};
use crate::macros::{state_udaf_methods, udaf_constructors};

const NAME: &str = "cox_ph_counting";
const SYNTAX: &str = "cox_ph_counting(start, stop, event, x1 [, x2, ...] [, options])";
const KIND: CoxKind = CoxKind::Counting;

/// `cox_ph_counting(start, stop, event, x1 [, x2, ...] [, options])`, as R's `coxph(Surv(start, stop, event) ~ x1 + ...)`.
///
/// ```sql
/// SELECT unnest(cox_ph_counting(start, stop, event, age, surgery, transplant)['terms']) FROM heart;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CoxPhCounting {
    signature: Signature,
    sink: WarningSink,
}

udaf_constructors!(CoxPhCounting);

impl CoxPhCounting {
    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc("Cox regression on counting-process data, as R's coxph(Surv(start, stop, event) ~ x1 + ...): each row is an interval (start, stop] during which the subject is at risk with the given covariate values (time-varying covariates, delayed entry). Returns the same STRUCT as cox_ph.", SYNTAX)
            .with_sql_example("```sql\nSELECT unnest(cox_ph_counting(start, stop, event, age, surgery, transplant)['terms']) FROM heart;\n```")
            .with_argument("start", "Interval start (numeric), < stop.")
            .with_argument("stop", "Interval end: event or censoring time.")
            .with_argument("event", "1/true = event at stop.")
            .with_argument("x1, x2, ...", "Covariates; cluster(id) among them is R's + cluster(id), the robust variance's clusters, not a covariate.")
            .with_argument("options", "Constant string: ties, conf_level, robust, max_iter, eps, convention (as cox_ph).")
            .build()
        })
    }
}

impl AggregateUDFImpl for CoxPhCounting {
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

impl CoxPhCounting {
    fn cox_call(&self, args: &AccumulatorArgs) -> Result<CoxCall> {
        CoxCall::new(NAME, KIND, args, &self.sink)
    }
}

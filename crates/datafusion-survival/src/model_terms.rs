//! The special terms of a model formula, as in R: [`Cluster`] — `cluster(id)`, the rows'
//! clusters for the robust variance (`coxph(... + cluster(id))`) — and [`Strata`] —
//! `strata(s)`, the model's strata (`coxph(... + strata(s))`). Each is a scalar function that
//! wraps its column in a one-field STRUCT whose field name marks the role; passed among a
//! model's covariates, the model state reads it as that role, not as a covariate.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{internal_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::coerce::check_arity;
use crate::docs::doc;

/// The field name that marks a `cluster(id)` value.
pub(crate) const CLUSTER_FIELD: &str = "cluster";
/// The field name that marks a `strata(s)` value.
pub(crate) const STRATA_FIELD: &str = "strata";

/// Whether a type is that of a `cluster(id)` value.
pub(crate) fn is_cluster(dt: &DataType) -> bool {
    is_marked(dt, CLUSTER_FIELD)
}

/// Whether a type is that of a `strata(s)` value.
pub(crate) fn is_strata(dt: &DataType) -> bool {
    is_marked(dt, STRATA_FIELD)
}

fn is_marked(dt: &DataType, field: &str) -> bool {
    matches!(dt, DataType::Struct(f) if f.len() == 1 && f[0].name() == field)
}

/// `cluster(id)` returns `STRUCT<cluster>`: passed among the covariates of `cox_ph`,
/// `cox_ph_strat`, `cox_ph_counting` or a Cox window function it is not a covariate but the
/// grouping of the robust (sandwich) variance, as `+ cluster(id)` in an R `coxph` formula: the
/// weighted dfbeta residuals are summed within each cluster, `V = Σ_c D_c' D_c`.
///
/// ```sql
/// SELECT cox_ph_counting(start, stop, event, age, transplant, cluster(id)) FROM heart;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Cluster(ModelTerm);

/// `strata(s)` returns `STRUCT<strata>`: passed among the covariates of `cox_ph`,
/// `cox_ph_counting` or a Cox window function (`cox_residual`, `cox_predict`) it is not a
/// covariate but the model's strata, as `+ strata(s)` in an R `coxph` formula: one baseline
/// hazard per stratum, common coefficients. `cox_ph(time, event, x, strata(s))` is
/// `cox_ph_strat(time, event, s, x)`.
///
/// ```sql
/// SELECT age, cox_residual(time, event, age, strata(sex)) OVER () FROM lung;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Strata(ModelTerm);

/// One term function: its name, the marking field and its documentation.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ModelTerm {
    name: &'static str,
    field: &'static str,
    signature: Signature,
}

impl Cluster {
    pub fn new() -> Self {
        Cluster(ModelTerm::new("cluster", CLUSTER_FIELD))
    }
}

impl Default for Cluster {
    fn default() -> Self {
        Self::new()
    }
}

impl Strata {
    pub fn new() -> Self {
        Strata(ModelTerm::new("strata", STRATA_FIELD))
    }
}

impl Default for Strata {
    fn default() -> Self {
        Self::new()
    }
}

impl ModelTerm {
    fn new(name: &'static str, field: &'static str) -> Self {
        ModelTerm {
            name,
            field,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let syntax = if self.field == CLUSTER_FIELD {
            "cluster(id)"
        } else {
            "strata(s)"
        };
        check_arity(self.name, arg_types.len(), 1, 1, syntax)?;
        Ok(vec![match &arg_types[0] {
            DataType::Null => DataType::Utf8,
            d => d.clone(),
        }])
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(Fields::from(vec![Field::new(
            self.field,
            arg_types[0].clone(),
            true,
        )])))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let DataType::Struct(fields) = args.return_type() else {
            return internal_err!("{}: return type is not a struct", self.name);
        };
        let column: ArrayRef = args.args[0].to_array(n)?;
        Ok(ColumnarValue::Array(Arc::new(StructArray::try_new(
            fields.clone(),
            vec![column],
            None,
        )?)))
    }
}

fn cluster_doc() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        doc(
            "Marks the cluster column of a Cox model, as R's cluster() term: among the \
             covariates of cox_ph, cox_ph_strat, cox_ph_counting or a Cox window function, \
             cluster(id) is not a covariate but groups rows (e.g. the intervals of one patient, \
             or patients of one centre) for the robust variance: the dfbeta residuals are \
             summed within each cluster (coxph(... + cluster(id))). robust_se, z, p-values, \
             limits, the Wald test and the concordance's standard error then use it.",
            "cluster(id)",
        )
        .with_sql_example(
            "```sql\nSELECT unnest(cox_ph_counting(start, stop, event, age, year, surgery, transplant, cluster(id))['terms']) FROM heart;\n```",
        )
        .with_argument("id", "The cluster of each row (any type; NULL rows are skipped).")
        .build()
    })
}

fn strata_doc() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        doc(
            "Marks the strata column of a Cox model, as R's strata() term: among the \
             covariates of cox_ph, cox_ph_counting, cox_residual or cox_predict, strata(s) is \
             not a covariate but the model's strata: one baseline hazard per stratum, common \
             coefficients (coxph(... + strata(s))). cox_ph(time, event, x, strata(s)) equals \
             cox_ph_strat(time, event, s, x); in the window functions it is how a stratified \
             model's residuals and predictions are asked for. One strata(...) per model: for \
             the interaction of two columns (R's strata(a, b)) combine them, \
             strata(a || '/' || b).",
            "strata(s)",
        )
        .with_sql_example(
            "```sql\nSELECT age, cox_residual(os_months, died, age, strata(liver_mets)) OVER () AS martingale FROM demo.net_cohort;\n```",
        )
        .with_argument("s", "The stratum of each row (any type; NULL rows are skipped).")
        .build()
    })
}

/// The [`ScalarUDFImpl`] of a term: every method the term's [`ModelTerm`]'s.
macro_rules! term_udf {
    ($ty:ident, $doc:ident) => {
        impl ScalarUDFImpl for $ty {
            fn name(&self) -> &str {
                self.0.name
            }

            fn signature(&self) -> &Signature {
                &self.0.signature
            }

            fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
                self.0.coerce_types(arg_types)
            }

            fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
                self.0.return_type(arg_types)
            }

            fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
                self.0.invoke_with_args(args)
            }

            fn documentation(&self) -> Option<&Documentation> {
                Some($doc())
            }
        }
    };
}

term_udf!(Cluster, cluster_doc);
term_udf!(Strata, strata_doc);

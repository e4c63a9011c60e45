//! [`Cluster`]: `cluster(id)`, R's `cluster()` term: marks the column whose values group the
//! rows of a Cox model into clusters for the robust variance (`coxph(... + cluster(id))`).

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{internal_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::coerce::check_arity;
use crate::docs::doc;

const NAME: &str = "cluster";
const SYNTAX: &str = "cluster(id)";

/// The field name that marks a `cluster(id)` value.
pub(crate) const FIELD: &str = "cluster";

/// `cluster(id)` returns `STRUCT<cluster>`: passed among the covariates of `cox_ph`,
/// `cox_ph_strat` or `cox_ph_counting` it is not a covariate but the grouping of the robust
/// (sandwich) variance, as `+ cluster(id)` in an R `coxph` formula: the weighted dfbeta
/// residuals are summed within each cluster, `V = Σ_c D_c' D_c`.
///
/// ```sql
/// SELECT cox_ph_counting(start, stop, event, age, transplant, cluster(id)) FROM heart;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Cluster {
    signature: Signature,
}

impl Cluster {
    pub fn new() -> Self {
        Cluster {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Marks the cluster column of a Cox model, as R's cluster() term: among the \
                 covariates of cox_ph, cox_ph_strat or cox_ph_counting, cluster(id) is not a \
                 covariate but groups rows (e.g. the intervals of one patient, or patients of \
                 one centre) for the robust variance: the dfbeta residuals are summed within \
                 each cluster (coxph(... + cluster(id))). robust_se, z, p-values, limits, the \
                 Wald test and the concordance's standard error then use it.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT unnest(cox_ph_counting(start, stop, event, age, year, surgery, transplant, cluster(id))['terms']) FROM heart;\n```",
            )
            .with_argument("id", "The cluster of each row (any type; NULL rows are skipped).")
            .build()
        })
    }
}

impl Default for Cluster {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a type is that of a `cluster(id)` value.
pub(crate) fn is_cluster(dt: &DataType) -> bool {
    matches!(dt, DataType::Struct(f) if f.len() == 1 && f[0].name() == FIELD)
}

impl ScalarUDFImpl for Cluster {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types.len(), 1, 1, SYNTAX)?;
        Ok(vec![match &arg_types[0] {
            DataType::Null => DataType::Utf8,
            d => d.clone(),
        }])
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(Fields::from(vec![Field::new(
            FIELD,
            arg_types[0].clone(),
            true,
        )])))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let DataType::Struct(fields) = args.return_type() else {
            return internal_err!("cluster: return type is not a struct");
        };
        let column: ArrayRef = args.args[0].to_array(n)?;
        Ok(ColumnarValue::Array(Arc::new(StructArray::try_new(
            fields.clone(),
            vec![column],
            None,
        )?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(Self::doc())
    }
}

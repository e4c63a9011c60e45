//! [`ModelWindowUdf`]: the one generic `WindowUDFImpl` of the model window functions
//! (`cox_residual`, `cox_predict`), as [`crate::survival_udaf::SurvivalUdaf`] is the one
//! aggregate: a function is a small [`RowwiseFunction`] — its name, its own options (`type=`,
//! `term=`) and the value of each fitted row. The fit, `cox_ph`'s on the window partition, and
//! the mapping back to the partition's rows are [`crate::model_state`]'s.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDFImpl,
};

use crate::model_state::{
    coerce_model_types, fit_partition, rowwise_array, rowwise_call, ModelKind, PartitionFit,
    RowwiseCall,
};
use crate::warnings::WarningSink;

/// What makes one model window function (a unit struct per SQL function).
pub trait RowwiseFunction: Debug + PartialEq + Eq + Hash + Default + Send + Sync + 'static {
    /// The function's own options, parsed.
    type Options: Send;
    const NAME: &'static str;
    const SYNTAX: &'static str;
    /// The keys of the options string that are the function's (the rest are `cox_ph`'s).
    const OWN_KEYS: &'static [&'static str];

    /// The SQL reference (`\h NAME`, docs/functions.md).
    fn documentation(&self) -> &'static Documentation;

    /// The function's own options from the call's `key=value` pairs.
    fn options(&self, own: &[(String, String)]) -> Result<Self::Options>;

    /// One value per model row of the partition's fit (NaN: NULL).
    fn values(&self, options: &Self::Options, fit: &PartitionFit) -> Result<Vec<f64>>;
}

/// A [`RowwiseFunction`] as a DataFusion window function returning DOUBLE.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ModelWindowUdf<F: RowwiseFunction> {
    function: F,
    signature: Signature,
    sink: WarningSink,
}

impl<F: RowwiseFunction> ModelWindowUdf<F> {
    /// The function reporting warnings (skipped rows, fits that did not converge) to `sink`.
    pub fn with_warnings(sink: WarningSink) -> Self {
        ModelWindowUdf {
            function: F::default(),
            signature: Signature::user_defined(Volatility::Immutable),
            sink,
        }
    }
}

impl<F: RowwiseFunction> WindowUDFImpl for ModelWindowUdf<F> {
    fn name(&self) -> &str {
        F::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_model_types(F::NAME, ModelKind::Ph, arg_types, F::SYNTAX)
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let call = rowwise_call(F::NAME, &args, F::OWN_KEYS, &self.sink)?;
        Ok(Box::new(RowwiseEvaluator {
            call,
            function: F::default(),
        }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Float64,
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(self.function.documentation())
    }
}

/// One call's evaluator: the model fitted on each partition it is given.
struct RowwiseEvaluator<F: RowwiseFunction> {
    call: RowwiseCall,
    function: F,
}

impl<F: RowwiseFunction> Debug for RowwiseEvaluator<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowwiseEvaluator")
            .field("function", &F::NAME)
            .finish()
    }
}

impl<F: RowwiseFunction> PartitionEvaluator for RowwiseEvaluator<F> {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        // The options are read with the first partition (constants are not literals across
        // datafusion-ffi: see RowwiseCall).
        self.call.prepare(values)?;
        let options = self.function.options(self.call.own())?;
        let Some(fit) = fit_partition(&mut self.call, values, num_rows)? else {
            return Ok(Arc::new(Float64Array::from(vec![None::<f64>; num_rows])));
        };
        let out = self.function.values(&options, &fit)?;
        Ok(rowwise_array(num_rows, &fit, &out))
    }
}

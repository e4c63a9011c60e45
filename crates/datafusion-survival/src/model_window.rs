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
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
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
    memory: MemoryBudget,
}

impl<F: RowwiseFunction> ModelWindowUdf<F> {
    /// The function reporting warnings (skipped rows, fits that did not converge) to `sink`.
    pub fn with_warnings(sink: WarningSink) -> Self {
        Self::with_memory(sink, None)
    }

    /// Reporting warnings to `sink`, each partition's fit reserving its memory from `pool`
    /// (a session's memory pool: past its limit the query fails with an error that says so,
    /// as an aggregate's state would). `None`: not accounted.
    pub fn with_memory(sink: WarningSink, pool: Option<Arc<dyn MemoryPool>>) -> Self {
        ModelWindowUdf {
            function: F::default(),
            signature: Signature::user_defined(Volatility::Immutable),
            sink,
            memory: MemoryBudget(pool),
        }
    }
}

/// The memory pool a window function's fits reserve from. DataFusion 55's window operators
/// account no memory of their own (the partition's rows they buffer), so the fit's copies —
/// the model's rows, its columns in canonical order and the fit's work space — are what this
/// bounds. Compared by identity (a UDF must be `Eq` and `Hash`).
#[derive(Clone)]
struct MemoryBudget(Option<Arc<dyn MemoryPool>>);

impl MemoryBudget {
    fn address(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |p| Arc::as_ptr(p) as *const () as usize)
    }
}

impl Debug for MemoryBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.0.is_some() { "pool" } else { "none" };
        write!(f, "MemoryBudget({what})")
    }
}

impl PartialEq for MemoryBudget {
    fn eq(&self, other: &Self) -> bool {
        self.address() == other.address()
    }
}

impl Eq for MemoryBudget {}

impl Hash for MemoryBudget {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.address().hash(state)
    }
}

/// Bytes a fit of `rows` rows over `columns` argument columns holds at its peak: the
/// model's rows (8 bytes per value, the event a byte, ids for labels), the model data in
/// canonical order with its row index, and the fit's centred row-major copy and per-row work
/// (risk scores, residuals) — about three copies of the values plus 40 bytes a row.
fn fit_bytes(rows: usize, columns: usize) -> usize {
    rows.saturating_mul(3 * 8 * columns + 40)
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
        let reservation = self
            .memory
            .0
            .as_ref()
            .map(|pool| MemoryConsumer::new(F::NAME).register(pool));
        Ok(Box::new(RowwiseEvaluator {
            call,
            function: F::default(),
            reservation,
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
    /// The session's memory for the fits (freed after each partition).
    reservation: Option<MemoryReservation>,
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
        if let Some(reservation) = &mut self.reservation {
            let bytes = fit_bytes(num_rows, values.len());
            if let Err(e) = reservation.try_grow(bytes) {
                return Err(DataFusionError::ResourcesExhausted(format!(
                    "{}: fitting a window partition of {num_rows} rows needs about {bytes} bytes, \
                     more than the memory limit leaves ({e}); split the window with PARTITION BY \
                     or raise the limit (--memory-limit)",
                    F::NAME
                )));
            }
        }
        let result = fit_partition(&mut self.call, values, num_rows).and_then(|fit| match fit {
            None => Ok(Arc::new(Float64Array::from(vec![None::<f64>; num_rows])) as ArrayRef),
            Some(fit) => {
                let out = self.function.values(&options, &fit)?;
                Ok(rowwise_array(num_rows, &fit, &out))
            }
        });
        // Each partition's fit is freed before the next.
        if let Some(reservation) = &mut self.reservation {
            reservation.free();
        }
        result
    }
}

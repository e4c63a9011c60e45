//! [`panic_safe`]: a function whose planning methods (argument coercion, return and state
//! types, accumulator creation) run under `catch_unwind` like its accumulators do, for hosts
//! where an unwinding panic is fatal: across datafusion-ffi every call is `extern "C"`, and a
//! panic there aborts the host process (a Python interpreter, say).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature,
};

use crate::accumulator::guarded;

/// `udf`, with every method that runs code of its own guarded: a panic becomes an error
/// naming the function.
pub fn panic_safe(udf: Arc<AggregateUDF>) -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::new_from_impl(PanicSafe(udf)))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PanicSafe(Arc<AggregateUDF>);

impl AggregateUDFImpl for PanicSafe {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn signature(&self) -> &Signature {
        self.0.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        guarded(self.0.name(), "return_type", || {
            self.0.return_type(arg_types)
        })
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        guarded(self.0.name(), "coerce_types", || {
            self.0.coerce_types(arg_types)
        })
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        guarded(self.0.name(), "state_fields", || self.0.state_fields(args))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        guarded(self.0.name(), "accumulator", || self.0.accumulator(args))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        catch_unwind(AssertUnwindSafe(|| {
            self.0.groups_accumulator_supported(args)
        }))
        .unwrap_or(false)
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        guarded(self.0.name(), "create_groups_accumulator", || {
            self.0.create_groups_accumulator(args)
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.0.documentation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::{Signature, Volatility};

    /// A function whose type coercion panics.
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct Broken(Signature);

    impl AggregateUDFImpl for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        fn signature(&self) -> &Signature {
            &self.0
        }
        fn return_type(&self, _: &[DataType]) -> Result<DataType> {
            Ok(DataType::Float64)
        }
        fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
            let _ = &arg_types[7]; // out of bounds
            Ok(vec![])
        }
        fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
            unreachable!()
        }
    }

    #[test]
    fn a_panic_in_planning_becomes_an_error_naming_the_function() {
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let udf = panic_safe(Arc::new(AggregateUDF::new_from_impl(Broken(
            Signature::user_defined(Volatility::Immutable),
        ))));
        let err = udf
            .coerce_types(&[DataType::Float64])
            .unwrap_err()
            .to_string();
        std::panic::set_hook(quiet);
        assert!(
            err.contains("broken: internal error in coerce_types: index out of bounds"),
            "{err}"
        );
        assert_eq!(udf.return_type(&[]).unwrap(), DataType::Float64);
    }
}

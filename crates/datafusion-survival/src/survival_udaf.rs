//! [`SurvivalUdaf`]: the one `AggregateUDFImpl` of every survival function. Each SQL
//! function is a small [`SurvivalFunction`] (its name, documentation, argument coercion,
//! result type, state layout and the [`StateOps`] of a call), in its own file; this generic
//! type turns it into a DataFusion aggregate whose accumulators are the shared
//! [`crate::accumulator`] pair.
//!
//! Reading a function: `km_median.rs` has everything specific to `km_median`; what every
//! function does the same way (the `surv(...)` response, the row and groups accumulators,
//! warnings) is here and in the modules it names.

use std::fmt::Debug;
use std::hash::Hash;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, GroupsAccumulator, Signature, Volatility,
};

use crate::accumulator::{with_skipped_field, StateAccumulator, StateGroupsAccumulator, StateOps};
use crate::response::ExpandedArgs;
use crate::warnings::WarningSink;

/// What makes one survival aggregate function: implemented by a unit struct per SQL function
/// (`KmMedianFunction`, ...), which [`SurvivalUdaf`] makes a DataFusion aggregate. (The one
/// function that is not a unit struct is the optimizer's `km_shared`, which holds the
/// functions it stands for.)
pub trait SurvivalFunction: Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    /// The state operations of one call (one per function family: Kaplan-Meier counts,
    /// log-rank, Cox rows, ...).
    #[doc(hidden)]
    type Ops: StateOps;

    /// The SQL name.
    fn name(&self) -> &'static str;

    /// The documentation (`\h NAME` in the shell, `docs/functions.md`): the one source of the
    /// function's documentation.
    fn documentation(&self) -> &'static Documentation;

    /// Checks the argument types and says which types the arguments are cast to.
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>>;

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType>;

    /// The family's state fields (the skipped-rows count is added after them).
    #[doc(hidden)]
    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef>;

    /// The state operations of a call with these (constant-folded) arguments; `surv(...)`
    /// has already been expanded to (entry, time, event, weight) columns.
    #[doc(hidden)]
    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops>;

    /// A rewrite applied while planning (`SET survql.convention` writes the session's
    /// convention into the call: see [`crate::convention_setting`]).
    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        None
    }

    /// The signature: every function checks its own arguments (`coerce_types`).
    #[doc(hidden)]
    fn signature(&self) -> Signature {
        Signature::user_defined(Volatility::Immutable)
    }
}

/// A survival function as a DataFusion aggregate, reporting its warnings (rows skipped for
/// NULLs, fits that did not converge) to a [`WarningSink`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SurvivalUdaf<F: SurvivalFunction> {
    function: F,
    signature: Signature,
    sink: WarningSink,
}

impl<F: SurvivalFunction + Default> SurvivalUdaf<F> {
    /// The function, reporting warnings nowhere.
    pub fn new() -> Self {
        Self::with_warnings(WarningSink::default())
    }

    /// The function, reporting warnings to `sink`.
    pub fn with_warnings(sink: WarningSink) -> Self {
        Self::from_function(F::default(), sink)
    }
}

impl<F: SurvivalFunction> SurvivalUdaf<F> {
    /// `function` as an aggregate, reporting warnings to `sink`.
    pub(crate) fn from_function(function: F, sink: WarningSink) -> Self {
        SurvivalUdaf {
            signature: function.signature(),
            function,
            sink,
        }
    }

    /// The state operations of a call, `surv(...)` expanded.
    pub(crate) fn state_ops(&self, args: &AccumulatorArgs) -> Result<F::Ops> {
        // A surv(...) first argument stands for (entry, time, event, weight): crate::response.
        match ExpandedArgs::new(args) {
            Some(expanded) => self.function.state_ops(&expanded.args(args), &self.sink),
            None => self.function.state_ops(args, &self.sink),
        }
    }
}

impl<F: SurvivalFunction + Default> Default for SurvivalUdaf<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: SurvivalFunction> AggregateUDFImpl for SurvivalUdaf<F> {
    fn name(&self) -> &str {
        self.function.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.function.coerce_types(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.function.return_type(arg_types)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(with_skipped_field(
            args.name,
            self.function.state_fields(&args),
        ))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(StateAccumulator::new(self.state_ops(&args)?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(StateGroupsAccumulator::new(
            self.state_ops(&args)?,
        )))
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        self.function.simplify()
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(self.function.documentation())
    }
}

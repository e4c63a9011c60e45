//! Boilerplate shared by the Kaplan-Meier functions, which all keep the same per-time counts
//! state and differ only in their options and in how they turn the counts into a result.

/// Constructors for a survival UDAF struct with fields `signature` and `sink`.
macro_rules! udaf_constructors {
    ($ty:ident) => {
        impl $ty {
            /// The function, reporting warnings nowhere.
            pub fn new() -> Self {
                Self::with_warnings($crate::common::WarningSink::default())
            }

            /// The function, reporting warnings (e.g. rows skipped for NULLs) to `sink`.
            pub fn with_warnings(sink: $crate::common::WarningSink) -> Self {
                Self {
                    signature: datafusion::logical_expr::Signature::user_defined(
                        datafusion::logical_expr::Volatility::Immutable,
                    ),
                    sink,
                }
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}

/// The `AggregateUDFImpl` methods of a function whose accumulators are the generic
/// [`crate::accumulator`] pair: `$fields` builds the state fields from `&StateFieldsArgs`,
/// `self.$call(&args)` the [`crate::accumulator::StateOps`] of a call. The type provides
/// `fn doc() -> &'static Documentation`.
macro_rules! state_udaf_methods {
    ($fields:expr, $call:ident) => {
        fn signature(&self) -> &datafusion::logical_expr::Signature {
            &self.signature
        }

        fn state_fields(
            &self,
            args: datafusion::logical_expr::function::StateFieldsArgs,
        ) -> datafusion::common::Result<Vec<datafusion::arrow::datatypes::FieldRef>> {
            Ok($crate::accumulator::with_skipped_field(
                args.name,
                ($fields)(&args),
            ))
        }

        fn accumulator(
            &self,
            args: datafusion::logical_expr::function::AccumulatorArgs,
        ) -> datafusion::common::Result<Box<dyn datafusion::logical_expr::Accumulator>> {
            // A surv(...) first argument stands for (time, event): see crate::response.
            let expanded = $crate::response::ExpandedArgs::new(&args);
            let args = match &expanded {
                Some(e) => e.args(&args),
                None => args,
            };
            Ok(Box::new($crate::accumulator::StateAccumulator::new(
                self.$call(&args)?,
            )))
        }

        fn groups_accumulator_supported(
            &self,
            _args: datafusion::logical_expr::function::AccumulatorArgs,
        ) -> bool {
            true
        }

        fn create_groups_accumulator(
            &self,
            args: datafusion::logical_expr::function::AccumulatorArgs,
        ) -> datafusion::common::Result<Box<dyn datafusion::logical_expr::GroupsAccumulator>> {
            let expanded = $crate::response::ExpandedArgs::new(&args);
            let args = match &expanded {
                Some(e) => e.args(&args),
                None => args,
            };
            Ok(Box::new($crate::accumulator::StateGroupsAccumulator::new(
                self.$call(&args)?,
            )))
        }

        fn documentation(&self) -> Option<&datafusion::logical_expr::Documentation> {
            Some(Self::doc())
        }
    };
}

/// The methods every Kaplan-Meier function shares (`fn km_call(&self, args) -> Result<KmCall>`).
macro_rules! km_udaf_methods {
    () => {
        $crate::macros::state_udaf_methods!($crate::time_counts::state_fields, km_call);
    };
}

/// The methods the log-rank functions share (`fn logrank_call(&self, args)`, const `OUTPUT`).
macro_rules! logrank_udaf_methods {
    () => {
        fn return_type(
            &self,
            _arg_types: &[datafusion::arrow::datatypes::DataType],
        ) -> datafusion::common::Result<datafusion::arrow::datatypes::DataType> {
            Ok($crate::logrank_state::return_type(OUTPUT))
        }

        $crate::macros::state_udaf_methods!($crate::logrank_state::state_fields, logrank_call);
    };
}

/// The methods of the contingency-table functions (`fn table_call(&self, args)`).
macro_rules! table_udaf_methods {
    () => {
        $crate::macros::state_udaf_methods!($crate::cell_counts::state_fields, table_call);
    };
}

pub(crate) use km_udaf_methods;
pub(crate) use logrank_udaf_methods;
pub(crate) use state_udaf_methods;
pub(crate) use table_udaf_methods;
pub(crate) use udaf_constructors;

//! The model state: one state for every function that fits a regression model from a group's
//! rows — `cox_ph`, `cox_ph_strat`, `cox_ph_counting`, `cox_zph`, `cox_curve`, `finegray_ph`,
//! `survreg`, `survreg_strat` and `cox_adjusted_curve`. It keeps the rows the fit needs, in compact columnar form
//! (times as f64, events as booleans, strata and factor covariates as interned labels, numeric
//! covariates as f64). Memory is O(rows × covariates): a model fit needs every row. Partial
//! states merge by appending rows.
//!
//! State fields, named after the function: `[stop]`, `[start]` (counting process),
//! `[event]` (`[status]` codes for `finegray_ph`), `[weight]` (case weights), `[strata]`
//! (stratified), then one `[x<i>]` per
//! remaining argument (DOUBLE, or VARCHAR for factors and for the trailing options string,
//! whose list stays empty).
//!
//! `cox_ph`, `cox_ph_strat` and the other models take `surv([entry,] time, event [, weight])` in place of
//! `time, event` (see [`crate::response`]): an entry makes the data counting-process (R's
//! `coxph(Surv(start, stop, event) ~ ...)`), a weight is R's `weights =`.
//!
//! Files: [`signature`] (argument types, state and result fields), [`call`] (one call's
//! options and terms), [`rows`] (a group's rows: update, emit, merge), [`order`] (the
//! canonical row order and the model's design columns), then one evaluation per model:
//! [`cox`], [`survreg`], [`fine_gray`], [`curve`], [`adjusted_curve`], [`zph`].

use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StringArray, StringViewArray,
    UInt32Array,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, UInt32Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use survql_stats::cox::{
    cox_fit, cox_zph, total_order_bits, CoxData, CoxFit, CoxOptions, Ties, ZphTransform,
    PARALLEL_ROWS,
};
use survql_stats::{
    fine_gray, ConfType, Convention, Dist, FineGrayData, FineGrayOptions, SurvregOptions,
};

use rayon::prelude::*;

use crate::accumulator::StateOps;
use crate::coerce::{coerce_event, coerce_time};
use crate::cox_profile::{split_profile, Profile, ProfileSlot, ProfileValue};
use crate::input_columns::{event_column, row_mask, time_column};
use crate::labels::{label_column, sorted_label_order, Labels};
use crate::limits::{check, limits};
use crate::options::constant_value;
use crate::response::{
    call_shape, coerce_with_response, response_shape, split_values, weight_column, ResponseShape,
    Takes,
};
use crate::result_arrays::{
    f64_field, finite_or_null, i64_field, list_array, list_of, nullable_list_array,
    state_list_field, string_array, struct_array,
};
use crate::row_order::bucketed_order;
use crate::warnings::WarningSink;

mod adjusted_curve;
mod call;
mod cox;
mod curve;
mod fine_gray;
mod order;
mod rows;
mod rowwise;
mod signature;
mod survreg;
mod zph;

use adjusted_curve::*;
use cox::*;
use curve::*;
use fine_gray::*;
use order::*;
use rows::*;
use signature::*;
use survreg::*;
use zph::*;

pub(crate) use call::ModelOps;
pub(crate) use rowwise::{fit_partition, rowwise_array, rowwise_call, PartitionFit, RowwiseCall};
pub(crate) use signature::{coerce_model_types, return_type, state_fields};

/// Which of the Cox functions (and the Fine-Gray model, fitted from the same rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    Ph,
    Strat,
    Counting,
    Zph,
    /// `finegray_ph(time, status, cause, x...)`: `cmprsk::crr`.
    FineGray,
    /// `survreg(time, event, x...)`: R's parametric `survreg`.
    Survreg,
    /// `survreg_strat(time, event, strata, x...)`: `survreg` with one scale per stratum.
    SurvregStrat,
    /// `cox_curve(time, event, x...)`: the fit's predicted survival curve for a profile.
    Curve,
    /// `cox_curve_strat(time, event, strata, x...)`: the same in one stratum of the fit.
    CurveStrat,
    /// `cox_adjusted_curve(time, event, grp, x...)`: the direct-standardised curve of each
    /// level of grp (the first covariate, always a factor).
    AdjustedCurve,
}

impl ModelKind {
    /// Number of leading arguments that are not covariates.
    pub(super) fn fixed(self) -> usize {
        match self {
            ModelKind::Ph
            | ModelKind::Zph
            | ModelKind::Survreg
            | ModelKind::Curve
            | ModelKind::AdjustedCurve => 2,
            ModelKind::Strat
            | ModelKind::Counting
            | ModelKind::FineGray
            | ModelKind::CurveStrat
            | ModelKind::SurvregStrat => 3,
        }
    }

    pub(super) fn arg_names(self) -> &'static [&'static str] {
        match self {
            ModelKind::Ph
            | ModelKind::Zph
            | ModelKind::Survreg
            | ModelKind::Curve
            | ModelKind::AdjustedCurve => &["time", "event"],
            ModelKind::Strat | ModelKind::CurveStrat | ModelKind::SurvregStrat => {
                &["time", "event", "strata"]
            }
            ModelKind::Counting => &["start", "stop", "event"],
            ModelKind::FineGray => &["time", "status", "cause"],
        }
    }

    /// A strata argument after time and event.
    pub(super) fn stratified(self) -> bool {
        matches!(
            self,
            ModelKind::Strat | ModelKind::CurveStrat | ModelKind::SurvregStrat
        )
    }

    /// A parametric (survreg) model.
    pub(super) fn parametric(self) -> bool {
        matches!(self, ModelKind::Survreg | ModelKind::SurvregStrat)
    }

    /// A predicted curve rather than the fit.
    pub(super) fn curve(self) -> bool {
        matches!(self, ModelKind::Curve | ModelKind::CurveStrat)
    }
}

/// A covariate argument: numeric (one term) or a factor (one term per non-reference level).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Covariate {
    Numeric {
        name: String,
    },
    Boolean {
        name: String,
    },
    Factor {
        name: String,
    },
    /// `cluster(id)`: kept like a factor's labels, used as the robust variance's clusters.
    Cluster {
        name: String,
    },
    /// `strata(s)`: kept like a factor's labels, the model's strata (R's `+ strata(s)`).
    Strata {
        name: String,
    },
}

impl Covariate {
    pub(super) fn name(&self) -> &str {
        match self {
            Covariate::Numeric { name }
            | Covariate::Boolean { name }
            | Covariate::Factor { name }
            | Covariate::Cluster { name }
            | Covariate::Strata { name } => name,
        }
    }
}

/// One model function: its name, syntax, kind and documentation; the rest of its definition
/// is [`ModelFunction`]'s, common to every function over the model state.
pub trait ModelDefinition:
    std::fmt::Debug + Default + PartialEq + Eq + std::hash::Hash + Send + Sync + 'static
{
    const NAME: &'static str;
    const SYNTAX: &'static str;
    const KIND: ModelKind;

    fn documentation(&self) -> &'static datafusion::logical_expr::Documentation;
}

/// The definition of a function over the model state (`cox_ph`, `cox_ph_strat`,
/// `cox_ph_counting`, `cox_zph`, `cox_curve`, `cox_curve_strat`, `cox_adjusted_curve`,
/// `survreg`, `survreg_strat`, `finegray_ph`).
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct ModelFunction<M: ModelDefinition>(M);

impl<M: ModelDefinition> crate::survival_udaf::SurvivalFunction for ModelFunction<M> {
    type Ops = ModelOps;

    fn name(&self) -> &'static str {
        M::NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(return_type(M::KIND))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_model_types(M::NAME, M::KIND, arg_types, M::SYNTAX)
    }

    /// `SET survql.convention` (the Cox models' options: see [`crate::convention_setting`]);
    /// survreg and the Fine-Gray model follow no vendor convention.
    fn simplify(
        &self,
    ) -> Option<datafusion::logical_expr::function::AggregateFunctionSimplification> {
        if M::KIND.parametric() || M::KIND == ModelKind::FineGray {
            return None;
        }
        crate::convention_setting::session_convention(
            crate::convention_setting::ConventionArg::CoxOptions {
                fixed: M::KIND.fixed(),
            },
        )
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        state_fields(M::KIND, args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        ModelOps::new(M::NAME, M::KIND, args, sink)
    }

    fn documentation(&self) -> &'static datafusion::logical_expr::Documentation {
        self.0.documentation()
    }
}

impl StateOps for ModelOps {
    type State = ModelRows;

    fn update(
        &self,
        states: &mut [ModelRows],
        skipped: &mut [u64],
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        update(self, states, skipped, values, groups, filter)
    }

    fn merge(&self, states: &mut [ModelRows], values: &[ArrayRef], groups: &[usize]) -> Result<()> {
        merge(self, states, values, groups)
    }

    fn function(&self) -> &str {
        self.function
    }

    fn sink(&self) -> &WarningSink {
        &self.sink
    }

    fn expression(&self) -> &str {
        &self.expression
    }

    fn emit(&self, states: &mut [ModelRows]) -> Result<Vec<ArrayRef>> {
        emit_state(self, states)
    }

    fn evaluate(&self, states: &mut [ModelRows]) -> Result<ArrayRef> {
        evaluate(self, states)
    }

    fn size(state: &ModelRows) -> usize {
        state.size()
    }
}

//! One state for several Kaplan-Meier functions of the same (time, event) in one query.
//!
//! ```sql
//! SELECT grade,
//!        km_summary(os_months, died)['median'] AS median_os,
//!        km_survival(os_months, died, 36)['surv'] AS os_3y
//! FROM demo.net_cohort GROUP BY grade;
//! ```
//!
//! Every Kaplan-Meier function keeps the same state (events and censorings per distinct
//! time), but DataFusion gives each aggregate call its own accumulator, so a query asking for
//! the median and the 3-year rate would build and merge the same counts twice. The optimizer
//! rule [`ShareKaplanMeierState`] rewrites such an `Aggregate`: the calls with the same
//! `time`, `event` and `FILTER` become one [`KmShared`] aggregate (one state, every result
//! computed from it, returned as a struct) and a projection above it restores the original
//! columns. Results are identical; time and memory for the counts are paid once.
//!
//! Add the rule with [`crate::register_optimizer_rules`].

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, StructArray};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{internal_datafusion_err, internal_err, Column, Result};
use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::ExprSchemable;
use datafusion::logical_expr::{
    Aggregate, AggregateUDF, AggregateUDFImpl, Documentation, Expr, LogicalPlan, Projection,
    Signature, Volatility,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

use crate::docs::doc;
use crate::km_state;
use crate::km_state::{KmEvaluator, KmOps, KmSample};
use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use crate::warnings::WarningSink;
use crate::{
    km_curve::KmCurve, km_followup::KmFollowup, km_median::KmMedian, km_quantile::KmQuantile,
    km_rmst::KmRmst, km_summary::KmSummary, km_survival::KmSurvival, nelson_aalen::NelsonAalen,
};

const NAME: &str = "km_shared";

/// A Kaplan-Meier function: it keeps the per-time counts state and says how to turn it into
/// its result.
trait KmFunction {
    fn km_ops(&self, args: &AccumulatorArgs) -> Result<KmOps>;
}

impl<F: SurvivalFunction<Ops = KmOps>> KmFunction for SurvivalUdaf<F> {
    fn km_ops(&self, args: &AccumulatorArgs) -> Result<KmOps> {
        self.state_ops(args)
    }
}

/// The Kaplan-Meier function behind an `AggregateUDF`; `None` for any other function,
/// including a user's override of a Kaplan-Meier function's name.
fn km_function(udf: &AggregateUDF) -> Option<&dyn KmFunction> {
    fn as_km<T: KmFunction + AggregateUDFImpl>(
        f: &dyn AggregateUDFImpl,
    ) -> Option<&dyn KmFunction> {
        f.downcast_ref::<T>().map(|f| f as &dyn KmFunction)
    }
    let f = udf.inner().as_ref();
    as_km::<KmMedian>(f)
        .or_else(|| as_km::<KmSummary>(f))
        .or_else(|| as_km::<KmQuantile>(f))
        .or_else(|| as_km::<KmSurvival>(f))
        .or_else(|| as_km::<KmCurve>(f))
        .or_else(|| as_km::<KmRmst>(f))
        .or_else(|| as_km::<KmFollowup>(f))
        .or_else(|| as_km::<NelsonAalen>(f))
}

/// `km_shared(time, event, options of f0..., options of f1..., ...)`: the results of several
/// Kaplan-Meier functions of one (time, event) from one state, as `STRUCT<f0, f1, ...>`.
/// Created by [`ShareKaplanMeierState`], not meant to be called by users.
pub type KmShared = SurvivalUdaf<KmSharedFunction>;

/// The [`SurvivalFunction`] of [`KmShared`]: the functions it stands for.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KmSharedFunction {
    /// The functions sharing the state, each with the number of option arguments it takes
    /// after (time, event); their options follow one another after (time, event).
    members: Vec<(Arc<AggregateUDF>, usize)>,
    /// The members' display names (what their warnings name).
    member_names: Vec<String>,
}

impl KmSharedFunction {
    /// For each member, the positions of its arguments within this function's arguments.
    fn member_arguments(&self) -> Vec<Vec<usize>> {
        let mut offset = 2;
        self.members
            .iter()
            .map(|(_, options)| {
                let positions = [0, 1].into_iter().chain(offset..offset + options).collect();
                offset += options;
                positions
            })
            .collect()
    }
}

impl SurvivalFunction for KmSharedFunction {
    type Ops = KmOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Several Kaplan-Meier results of one (time, event) from one shared state, as a \
                 struct with one field per function. Written by the optimizer for queries that \
                 call more than one Kaplan-Meier function on the same columns.",
                "km_shared(time, event, options...)",
            )
            .build()
        })
    }

    /// The optimizer writes this call after type coercion, from calls already coerced.
    fn signature(&self) -> Signature {
        Signature::variadic_any(Volatility::Immutable)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let fields = self
            .members
            .iter()
            .zip(self.member_arguments())
            .enumerate()
            .map(|(i, ((udf, _), positions))| {
                let types: Vec<DataType> =
                    positions.iter().map(|&p| arg_types[p].clone()).collect();
                Ok(Field::new(format!("f{i}"), udf.return_type(&types)?, true))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DataType::Struct(Fields::from(fields)))
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        km_state::state_fields(args)
    }

    /// The members' state operations on the one state; warnings go to the members' sink.
    fn state_ops(&self, args: &AccumulatorArgs, _sink: &WarningSink) -> Result<KmOps> {
        let DataType::Struct(fields) = args.return_field.data_type() else {
            return internal_err!("{NAME} returns a struct");
        };
        let mut calls = vec![];
        for (((udf, _), positions), field) in self
            .members
            .iter()
            .zip(self.member_arguments())
            .zip(fields.iter())
        {
            let exprs: Vec<_> = positions
                .iter()
                .map(|&i| Arc::clone(&args.exprs[i]))
                .collect();
            let expr_fields: Vec<_> = positions
                .iter()
                .map(|&i| Arc::clone(&args.expr_fields[i]))
                .collect();
            let member_args = AccumulatorArgs {
                return_field: Arc::clone(field),
                schema: args.schema,
                ignore_nulls: args.ignore_nulls,
                order_bys: args.order_bys,
                is_reversed: args.is_reversed,
                name: args.name,
                is_distinct: args.is_distinct,
                exprs: &exprs,
                expr_fields: &expr_fields,
            };
            let function = km_function(udf).ok_or_else(|| {
                internal_datafusion_err!("{} is not a Kaplan-Meier function", udf.name())
            })?;
            calls.push(function.km_ops(&member_args)?);
        }
        let Some(first) = calls.first() else {
            return internal_err!("{NAME} without functions");
        };
        let evaluator = SharedEvaluator {
            fields: fields.clone(),
            members: calls.iter().map(|c| Arc::clone(&c.evaluator)).collect(),
        };
        Ok(KmOps {
            function: first.function,
            expression: args.name.to_owned(),
            sink: first.sink.clone(),
            evaluator: Arc::new(evaluator),
            members: self.member_names.clone(),
            // The rule shares only plain (time, event) calls.
            response: false,
            delayed: false,
            weighted: false,
        })
    }
}

/// Evaluates every member function on the one set of counts.
#[derive(Debug)]
struct SharedEvaluator {
    fields: Fields,
    members: Vec<Arc<dyn KmEvaluator>>,
}

impl KmEvaluator for SharedEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let columns = self
            .members
            .iter()
            .map(|m| m.evaluate(groups))
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(StructArray::try_new(
            self.fields.clone(),
            columns,
            None,
        )?))
    }
}

/// The optimizer rule that gives Kaplan-Meier calls of the same (time, event, FILTER) in one
/// `Aggregate` a single shared state (see the module documentation).
#[derive(Debug, Default)]
pub struct ShareKaplanMeierState;

/// A Kaplan-Meier call of an `Aggregate`: its function, arguments and filter.
fn km_aggregate(expr: &Expr) -> Option<&AggregateFunction> {
    let expr = match expr {
        Expr::Alias(alias) => alias.expr.as_ref(),
        e => e,
    };
    match expr {
        Expr::AggregateFunction(f)
            if km_function(&f.func).is_some()
                && f.params.args.len() >= 2
                && !f.params.distinct
                && f.params.order_by.is_empty()
                && f.params.null_treatment.is_none() =>
        {
            Some(f)
        }
        _ => None,
    }
}

/// The name of the [`ShareKaplanMeierState`] rule (to remove it from a session, e.g. one that
/// sends plans to other processes: its function's configuration cannot be serialised).
pub const RULE_NAME: &str = "share_kaplan_meier_state";

impl OptimizerRule for ShareKaplanMeierState {
    fn name(&self) -> &str {
        RULE_NAME
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Aggregate(aggregate) = plan else {
            return Ok(Transformed::no(plan));
        };
        // Calls with the same (time, event, filter), in order of first appearance.
        let mut sets: Vec<Vec<usize>> = vec![];
        let input_schema = aggregate.input.schema();
        for (j, expr) in aggregate.aggr_expr.iter().enumerate() {
            let Some(f) = km_aggregate(expr) else {
                continue;
            };
            // Calls on surv(...) keep their own state: the shared one is (time, event) only.
            let response = f.params.args[0]
                .get_type(input_schema)
                .map_or(true, |t| matches!(t, DataType::Struct(_)));
            if response {
                continue;
            }
            let same = |k: &usize| {
                let g = km_aggregate(&aggregate.aggr_expr[*k]).expect("a Kaplan-Meier call");
                // (A set's first member is never a surv(...) call, so neither is a match.)
                g.params.args[..2] == f.params.args[..2] && g.params.filter == f.params.filter
            };
            match sets.iter_mut().find(|set| set.first().is_some_and(same)) {
                Some(set) => set.push(j),
                None => sets.push(vec![j]),
            }
        }
        sets.retain(|set| set.len() > 1);
        if sets.is_empty() {
            return Ok(Transformed::no(LogicalPlan::Aggregate(aggregate)));
        }

        let schema = Arc::clone(&aggregate.schema);
        let group_fields = schema.fields().len() - aggregate.aggr_expr.len();
        let output_name = |j: usize| schema.field(group_fields + j).name().clone();
        // replaced[j] = (shared column name, field) for each call that moves into a shared one.
        let mut replaced: Vec<Option<(String, String)>> = vec![None; aggregate.aggr_expr.len()];
        let mut shared_exprs = vec![];
        for set in &sets {
            let calls: Vec<&AggregateFunction> = set
                .iter()
                .map(|&j| km_aggregate(&aggregate.aggr_expr[j]).expect("a Kaplan-Meier call"))
                .collect();
            let mut args = calls[0].params.args[..2].to_vec();
            let mut members = vec![];
            for call in &calls {
                args.extend(call.params.args[2..].iter().cloned());
                members.push((Arc::clone(&call.func), call.params.args.len() - 2));
            }
            let member_names: Vec<String> = set.iter().map(|&j| output_name(j)).collect();
            let name = member_names.join(", ");
            for (i, &j) in set.iter().enumerate() {
                replaced[j] = Some((name.clone(), format!("f{i}")));
            }
            let udaf = Arc::new(AggregateUDF::new_from_impl(KmShared::from_function(
                KmSharedFunction {
                    members,
                    member_names,
                },
                WarningSink::default(),
            )));
            shared_exprs.push(
                Expr::AggregateFunction(AggregateFunction::new_udf(
                    udaf,
                    args,
                    false,
                    calls[0].params.filter.clone(),
                    vec![],
                    None,
                ))
                .alias(name),
            );
        }
        let mut aggr_expr: Vec<Expr> = aggregate
            .aggr_expr
            .iter()
            .zip(&replaced)
            .filter(|(_, r)| r.is_none())
            .map(|(e, _)| e.clone())
            .collect();
        aggr_expr.extend(shared_exprs);
        let input = Arc::new(LogicalPlan::Aggregate(Aggregate::try_new(
            Arc::clone(&aggregate.input),
            aggregate.group_expr.clone(),
            aggr_expr,
        )?));

        // The original columns, in the original order and with the original names.
        let columns = schema
            .iter()
            .enumerate()
            .map(|(i, (qualifier, field))| {
                match i
                    .checked_sub(group_fields)
                    .and_then(|j| replaced[j].as_ref())
                {
                    Some((shared, member)) => get_field(
                        Expr::Column(Column::new_unqualified(shared)),
                        member.as_str(),
                    )
                    .alias_qualified(qualifier.cloned(), field.name()),
                    None => Expr::Column(Column::from((qualifier, field))),
                }
            })
            .collect::<Vec<_>>();
        Ok(Transformed::yes(LogicalPlan::Projection(
            Projection::try_new(columns, input)?,
        )))
    }
}

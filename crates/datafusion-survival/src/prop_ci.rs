//! [`PropCi`]: `prop_ci(success [, method [, conf_level]])`, a proportion (e.g. an overall
//! response rate) with its confidence interval.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, UInt64Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::Documentation;
use survql_stats::proportion::{prop_ci, PropMethod};

use crate::accumulator::StateOps;
use crate::coerce::{check_arity, coerce_option};
use crate::docs::doc;
use crate::input_columns::{event_column, row_mask};
use crate::options::{conf_level_option, str_option};
use crate::result_arrays::{f64_field, i64_field, struct_array};
use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use crate::warnings::WarningSink;

const NAME: &str = "prop_ci";
const SYNTAX: &str = "prop_ci(success [, method [, conf_level]])";

/// `prop_ci(success [, method [, conf_level]])` returns `STRUCT<n BIGINT, x BIGINT,
/// estimate DOUBLE, lower DOUBLE, upper DOUBLE>`: x successes among the n non-NULL rows and
/// the interval for x/n. `method`: `'exact'` (default; Clopper-Pearson as `binom.test`),
/// `'wilson'` (`prop.test(correct = FALSE)`), `'wilson-cc'` (`prop.test(correct = TRUE)`),
/// `'wald'` (not clipped).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h prop_ci` in the shell and in `docs/functions.md`.
pub type PropCi = SurvivalUdaf<PropCiFunction>;

/// The definition of [`PropCi`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct PropCiFunction;

fn fields() -> Fields {
    Fields::from(vec![
        i64_field("n"),
        i64_field("x"),
        f64_field("estimate"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

impl SurvivalFunction for PropCiFunction {
    type Ops = PropOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types.len(), 1, 3, SYNTAX)?;
        let mut out = vec![match &arg_types[0] {
            DataType::Boolean => DataType::Boolean,
            DataType::Null => DataType::Boolean,
            d if d.is_integer() => DataType::Int64,
            d if d.is_floating() => DataType::Float64,
            d => {
                return datafusion::common::plan_err!(
                    "{NAME}: argument 'success' must be boolean or 0/1, found type {d}"
                )
            }
        }];
        if let Some(t) = arg_types.get(1) {
            out.push(coerce_option(NAME, "method", t, &DataType::Utf8)?);
        }
        if let Some(t) = arg_types.get(2) {
            out.push(coerce_option(NAME, "conf_level", t, &DataType::Float64)?);
        }
        Ok(out)
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        vec![
            Arc::new(Field::new(
                format_state_name(args.name, "n"),
                DataType::UInt64,
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "x"),
                DataType::UInt64,
                true,
            )),
        ]
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<PropOps> {
        let method = match str_option(NAME, "method", args, 1)? {
            None => PropMethod::Exact,
            Some(s) => match PropMethod::parse(&s) {
                Some(m) => m,
                None => {
                    return exec_err!(
                        "{NAME}: argument 'method' must be one of {}, found '{s}'",
                        PropMethod::NAMES
                    )
                }
            },
        };
        let level = conf_level_option(NAME, args, 2)?.unwrap_or(0.95);
        Ok(PropOps {
            method,
            level,
            sink: sink.clone(),
            expression: args.name.to_owned(),
        })
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "A proportion with its confidence interval: x successes (true/1) among the n \
                 non-NULL rows. Methods: 'exact' (default, Clopper-Pearson as R's binom.test), \
                 'wilson' (prop.test(correct = FALSE)), 'wilson-cc' (prop.test(correct = TRUE)), \
                 'wald' (unclipped). Returns STRUCT<n, x, estimate, lower, upper>.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT prop_ci(best_response IN ('CR', 'PR')) AS orr,\n       prop_ci(best_response IN ('CR', 'PR', 'SD'), 'wilson') AS dcr\nFROM demo.net_cohort\nWHERE treatment IN ('systemic', 'both') AND best_response IS NOT NULL;\n```",
            )
            .with_argument("success", "Boolean (or 0/1) outcome; NULL rows are skipped.")
            .with_argument("method", "Constant: 'exact' (default), 'wilson', 'wilson-cc', 'wald'.")
            .with_argument("conf_level", "Constant in (0, 1); default 0.95.")
            .build()
        })
    }
}

#[derive(Debug, Clone)]
pub struct PropOps {
    method: PropMethod,
    level: f64,
    sink: WarningSink,
    expression: String,
}

impl PropOps {
    fn update(
        &self,
        counts: &mut [(u64, u64)],
        skipped: &mut [u64],
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        let success = event_column(NAME, &values[0]).map_err(|_| {
            datafusion::common::DataFusionError::Execution(format!(
                "{NAME}: argument 'success' must be 0/1 or boolean"
            ))
        })?;
        let mask = row_mask(&[&success], filter, groups, skipped);
        let v = success.values();
        let mut add = |i: usize| {
            let c = &mut counts[groups[i]];
            c.0 += 1;
            c.1 += u64::from(v.value(i));
        };
        match mask {
            None => (0..success.len()).for_each(&mut add),
            Some(m) => m.valid_indices().for_each(&mut add),
        }
        Ok(())
    }

    fn evaluate(&self, counts: &[(u64, u64)]) -> ArrayRef {
        let (mut n, mut x, mut est, mut lo, mut hi) = (vec![], vec![], vec![], vec![], vec![]);
        for &(cn, cx) in counts {
            n.push(cn as i64);
            x.push(cx as i64);
            match prop_ci(cx, cn, self.method, self.level) {
                Some((l, u)) => {
                    est.push(Some(cx as f64 / cn as f64));
                    lo.push(Some(l));
                    hi.push(Some(u));
                }
                None => {
                    est.push(None);
                    lo.push(None);
                    hi.push(None);
                }
            }
        }
        struct_array(
            &fields(),
            vec![
                Arc::new(Int64Array::from(n)),
                Arc::new(Int64Array::from(x)),
                Arc::new(Float64Array::from(est)),
                Arc::new(Float64Array::from(lo)),
                Arc::new(Float64Array::from(hi)),
            ],
        )
    }
}

fn merge(counts: &mut [(u64, u64)], states: &[ArrayRef], groups: &[usize]) {
    let n = states[0].as_primitive::<UInt64Type>();
    let x = states[1].as_primitive::<UInt64Type>();
    for (i, &g) in groups.iter().enumerate() {
        if n.is_valid(i) {
            counts[g].0 += n.value(i);
            counts[g].1 += x.value(i);
        }
    }
}

fn emit(counts: &[(u64, u64)]) -> Vec<ArrayRef> {
    vec![
        Arc::new(counts.iter().map(|c| c.0).collect::<UInt64Array>()),
        Arc::new(counts.iter().map(|c| c.1).collect::<UInt64Array>()),
    ]
}

impl StateOps for PropOps {
    /// (n, x): rows and successes.
    type State = (u64, u64);

    fn update(
        &self,
        states: &mut [(u64, u64)],
        skipped: &mut [u64],
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        PropOps::update(self, states, skipped, values, groups, filter)
    }

    fn merge(
        &self,
        states: &mut [(u64, u64)],
        values: &[ArrayRef],
        groups: &[usize],
    ) -> Result<()> {
        merge(states, values, groups);
        Ok(())
    }

    fn function(&self) -> &str {
        NAME
    }

    fn sink(&self) -> &WarningSink {
        &self.sink
    }

    fn expression(&self) -> &str {
        &self.expression
    }

    fn emit(&self, states: &mut [(u64, u64)]) -> Result<Vec<ArrayRef>> {
        Ok(emit(states))
    }

    fn evaluate(&self, states: &mut [(u64, u64)]) -> Result<ArrayRef> {
        Ok(PropOps::evaluate(self, states))
    }

    fn size(_state: &(u64, u64)) -> usize {
        16
    }
}

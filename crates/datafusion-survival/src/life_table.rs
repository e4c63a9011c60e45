//! [`LifeTable`]: `life_table(time, event, breaks)`, the actuarial life table.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, FieldRef, Fields, Float64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::Documentation;
use survql_stats::life_table::{life_table, width_breaks};

use crate::coerce::{check_arity, coerce_event, coerce_time, refuse_response};
use crate::docs::doc;
use crate::km_state::{KmEvaluator, KmOps, KmSample};
use crate::options::literal_arg;
use crate::result_arrays::{f64_field, list_of, nullable_list_array, struct_array};
use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use crate::warnings::WarningSink;

const NAME: &str = "life_table";
const SYNTAX: &str = "life_table(time, event, breaks)";

/// Most intervals a width may make (a life table is read by people: far more than any wants).
const MAX_INTERVALS: usize = 100_000;

/// `life_table(time, event, breaks)`: the actuarial life table of SAS PROC LIFETEST
/// `METHOD=LT` and KMsurv's `lifetab` (see `survql_stats::life_table`).
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h life_table` in the shell and in `docs/functions.md`.
pub type LifeTable = SurvivalUdaf<LifeTableFunction>;

/// The definition of [`LifeTable`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct LifeTableFunction;

fn row_fields() -> Fields {
    Fields::from(
        [
            "lower",
            "upper",
            "n_entering",
            "n_withdrawn",
            "n_at_risk",
            "n_events",
            "cond_prob",
            "surv",
            "std_err",
            "hazard",
            "hazard_se",
            "density",
            "density_se",
        ]
        .map(f64_field)
        .to_vec(),
    )
}

/// The intervals: explicit breaks, or a width.
#[derive(Debug, Clone)]
enum Breaks {
    List(Vec<f64>),
    Width(f64),
}

impl SurvivalFunction for LifeTableFunction {
    type Ops = KmOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(DataType::Struct(row_fields())))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        refuse_response(NAME, arg_types, SYNTAX)?;
        check_arity(NAME, arg_types.len(), 3, 3, SYNTAX)?;
        let breaks = match &arg_types[2] {
            d if d.is_numeric() => DataType::Float64,
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                if f.data_type().is_numeric() =>
            {
                list_of(DataType::Float64)
            }
            d => {
                return plan_err!(
                    "{NAME}: argument 'breaks' must be a list of numbers ([0, 1, 2]) or a width, found {d}"
                )
            }
        };
        Ok(vec![
            coerce_time(NAME, "time", &arg_types[0])?,
            coerce_event(NAME, &arg_types[1])?,
            breaks,
        ])
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::km_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let breaks = match literal_arg(NAME, "breaks", args, 2)? {
            Some(ScalarValue::List(list)) if !list.is_null(0) => {
                let values = list.value(0);
                let values = values.as_primitive::<Float64Type>();
                if values.is_empty() || values.null_count() > 0 {
                    return exec_err!(
                        "{NAME}: argument 'breaks' must be a non-empty list of numbers"
                    );
                }
                let b = values.values().to_vec();
                if let Some(bad) = b.iter().find(|v| !v.is_finite()) {
                    return exec_err!(
                        "{NAME}: argument 'breaks' must be finite numbers, found {bad}"
                    );
                }
                if let Some(w) = b.windows(2).find(|w| w[1] <= w[0]) {
                    return exec_err!(
                        "{NAME}: argument 'breaks' must be strictly increasing, found {} after {}",
                        w[1],
                        w[0]
                    );
                }
                Breaks::List(b)
            }
            Some(ScalarValue::Float64(Some(w))) if w.is_finite() && w > 0.0 => Breaks::Width(w),
            Some(other) => {
                return exec_err!(
                "{NAME}: argument 'breaks' must be a list of numbers or a width > 0, found {other}"
            )
            }
            None => return exec_err!("{NAME}: argument 'breaks' is required"),
        };
        Ok(KmOps::new(
            NAME,
            args,
            sink,
            Arc::new(LifeTableEvaluator { breaks }),
        ))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "The actuarial life table, as SAS PROC LIFETEST METHOD=LT and KMsurv's lifetab: \
                 intervals [b_i, b_(i+1)) of the breaks and a last open interval [b_k, inf) \
                 (SAS's INTERVALS=; a width w gives the breaks 0, w, 2w, ... up to the largest \
                 multiple of w not above the largest time). Per interval: number entering, \
                 withdrawn (censored in it), effective number at risk (entering - withdrawn/2), \
                 events, the conditional probability of the event, survival at the interval's \
                 start with Greenwood's standard error, and at its midpoint the hazard and the \
                 density with their standard errors (NULL in the open last interval, and where \
                 undefined, e.g. 0/0). Returns LIST<STRUCT<lower, upper, n_entering, \
                 n_withdrawn, n_at_risk, n_events, cond_prob, surv, std_err, hazard, hazard_se, \
                 density, density_se>> (upper is NULL for the open last interval, as SAS's missing value). A time before \
                 the first break is an error.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\n-- yearly intervals\nSELECT unnest(life_table(os_months, died, [0, 12, 24, 36, 48, 60])) FROM demo.net_cohort;\n\n-- 6-month intervals, per grade\nSELECT grade, life_table(os_months, died, 6) FROM demo.net_cohort GROUP BY grade;\n```",
            )
            .with_argument("time", "Follow-up time (numeric, at or after the first break).")
            .with_argument("event", "1/true = event, 0/false = censored.")
            .with_argument(
                "breaks",
                "Constant: a list of strictly increasing interval starts, or a width > 0 \
                 (intervals from 0).",
            )
            .build()
        })
    }
}

#[derive(Debug)]
struct LifeTableEvaluator {
    breaks: Breaks,
}

impl KmEvaluator for LifeTableEvaluator {
    fn evaluate(&self, groups: &[KmSample]) -> Result<ArrayRef> {
        let mut columns: Vec<Vec<Option<f64>>> = vec![vec![]; 13];
        let (mut lengths, mut valid) = (vec![], vec![]);
        for sample in groups {
            if sample.is_empty() {
                lengths.push(0);
                valid.push(false);
                continue;
            }
            let counts = sample.counts(NAME)?;
            let (first, last) = (counts.time[0], *counts.time.last().unwrap());
            let breaks = match &self.breaks {
                Breaks::List(b) => b.clone(),
                Breaks::Width(w) => {
                    let intervals = (last / w).floor();
                    if intervals >= MAX_INTERVALS as f64 {
                        return exec_err!(
                            "{NAME}: a width of {w} over times up to {last} gives more than \
                             {MAX_INTERVALS} intervals; choose a larger width or give the breaks"
                        );
                    }
                    width_breaks(*w, last)
                }
            };
            if first < breaks[0] {
                return exec_err!(
                    "{NAME}: time {first} is before the first break {} (the intervals start there)",
                    breaks[0]
                );
            }
            let rows = life_table(counts, &breaks);
            lengths.push(rows.len());
            valid.push(true);
            for r in rows {
                let values = [
                    r.lower,
                    r.upper,
                    r.n_entering,
                    r.n_withdrawn,
                    r.n_at_risk,
                    r.n_events,
                    r.cond_prob,
                    r.surv,
                    r.std_err,
                    r.hazard,
                    r.hazard_se,
                    r.density,
                    r.density_se,
                ];
                // The open interval's upper end (infinite) is NULL, as SAS's missing value.
                for (c, v) in columns.iter_mut().zip(values) {
                    c.push(v.is_finite().then_some(v));
                }
            }
        }
        let items = struct_array(
            &row_fields(),
            columns
                .into_iter()
                .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
                .collect(),
        );
        nullable_list_array(&lengths, &valid, items)
    }
}

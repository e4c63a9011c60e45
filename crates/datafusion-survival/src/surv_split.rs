//! [`SurvSplit`]: `surv_split(entry, time, event, cuts)`, each subject's follow-up split at cut
//! points, as R's `survSplit`, for time-varying effects in SQL.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, Int64Builder, ListArray, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Float64Type, Int64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::coerce::{check_arity, coerce_time};
use crate::docs::doc;
use crate::result_arrays::{check_i32_size, list_of};

const NAME: &str = "surv_split";
const SYNTAX: &str = "surv_split(entry, time, event, cuts)";

/// `surv_split(entry, time, event, cuts)` returns `LIST<STRUCT<tstart DOUBLE, tstop DOUBLE,
/// event BIGINT, interval BIGINT>>`: the subject's interval (entry, time] (entry NULL: 0, R's
/// `zero`) cut at every cut point strictly inside it, as R's `survSplit(..., cut = cuts,
/// episode = "interval")` (its C routine `survsplit`): the pieces (entry, c₁], (c₁, c₂], …,
/// (c_k, time], the event on the last piece only (0 on the others), and `interval` the number
/// of the cut-defined period the piece lies in (1 before the first cut, k + 1 after the last).
/// `UNNEST` it to get one row per piece; fit with `cox_ph(surv(tstart, tstop, event), ...)`.
///
/// Cut points are sorted and de-duplicated; they may differ per row (a list column) — the
/// event times of the data, for R's `tt()`, come from a first query (`array_agg(DISTINCT
/// time) FILTER (WHERE event = 1)`). A NULL time or event gives NULL (nothing to unnest).
///
/// SQL reference (arguments, result, example): [`SurvSplit::doc`], shown by `\h surv_split`
/// in the shell and in `docs/functions.md`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SurvSplit {
    signature: Signature,
}

impl SurvSplit {
    pub fn new() -> Self {
        SurvSplit {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Splits each subject's follow-up (entry, time] at the cut points strictly \
                 inside it, as R's survSplit: returns LIST<STRUCT<tstart, tstop, event, \
                 interval>> to UNNEST, one element per piece, the event on the last piece only, \
                 interval the cut-defined period of the piece (1 before the first cut; R's \
                 episode). entry NULL means 0 (then time must be > 0, as R). Fit the pieces \
                 with cox_ph(surv(tstart, tstop, event), ...): a time-varying effect is a \
                 column computed from tstop (R's tt(): split at every event time, taken from a \
                 first query with array_agg), a step effect one computed from interval.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT p.tstart, p.tstop, p.event, p.interval\nFROM (SELECT unnest(surv_split(NULL, os_months, died, [12, 36])) AS p FROM demo.net_cohort)\nLIMIT 5;\n\n-- R's coxph(Surv(time, status) ~ age + tt(age), tt = function(x, t, ...) x * log(t + 20)):\n-- split at every event time, then the effect is a column of the pieces.\nWITH cuts AS (\n  SELECT array_agg(DISTINCT os_months) FILTER (WHERE died = 1) AS c FROM demo.net_cohort\n), pieces AS (\n  SELECT age, unnest(surv_split(NULL, os_months, died, cuts.c)) AS p\n  FROM demo.net_cohort, cuts WHERE os_months > 0\n)\nSELECT cox_ph(surv(p.tstart, p.tstop, p.event), age, age * ln(p.tstop + 20)) FROM pieces;\n```",
            )
            .with_argument("entry", "Start of follow-up (numeric; NULL: 0).")
            .with_argument("time", "End of follow-up (numeric, > entry).")
            .with_argument("event", "Event indicator or status code (integer or boolean).")
            .with_argument(
                "cuts",
                "Cut points: a list of finite numbers (a constant such as [90, 180], or a list \
                 column).",
            )
            .build()
        })
    }
}

impl Default for SurvSplit {
    fn default() -> Self {
        Self::new()
    }
}

fn piece_fields() -> Fields {
    Fields::from(vec![
        Field::new("tstart", DataType::Float64, true),
        Field::new("tstop", DataType::Float64, true),
        Field::new("event", DataType::Int64, true),
        Field::new("interval", DataType::Int64, true),
    ])
}

/// The cut points of one row: sorted, de-duplicated, finite.
fn cut_points(list: &dyn Array) -> Result<Vec<f64>> {
    let values = list.as_primitive::<Float64Type>();
    if values.null_count() > 0 {
        return exec_err!("{NAME}: argument 'cuts' must not contain NULL");
    }
    let mut cuts = values.values().to_vec();
    if let Some(bad) = cuts.iter().find(|c| !c.is_finite()) {
        return exec_err!("{NAME}: argument 'cuts' must be finite numbers, found {bad}");
    }
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    Ok(cuts)
}

impl ScalarUDFImpl for SurvSplit {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types.len(), 4, 4, SYNTAX)?;
        let entry = match &arg_types[0] {
            DataType::Null => DataType::Float64,
            dt => coerce_time(NAME, "entry", dt)?,
        };
        let time = coerce_time(NAME, "time", &arg_types[1])?;
        let event = match &arg_types[2] {
            DataType::Boolean | DataType::Null => DataType::Int64,
            d if d.is_integer() => DataType::Int64,
            d => {
                return plan_err!("{NAME}: argument 'event' must be integer or boolean, found {d}")
            }
        };
        let cuts = match &arg_types[3] {
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)
                if f.data_type().is_numeric() || f.data_type() == &DataType::Null =>
            {
                list_of(DataType::Float64)
            }
            d => {
                return plan_err!(
                    "{NAME}: argument 'cuts' must be a list of numbers (e.g. [90, 180]), found {d}"
                )
            }
        };
        Ok(vec![entry, time, event, cuts])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(list_of(DataType::Struct(piece_fields())))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let entry = args.args[0].to_array(n)?;
        let time = args.args[1].to_array(n)?;
        let event = args.args[2].to_array(n)?;
        let (entry, time, event) = (
            entry.as_primitive::<Float64Type>(),
            time.as_primitive::<Float64Type>(),
            event.as_primitive::<Int64Type>(),
        );
        // A constant list is read once, not once per row.
        let constant_cuts = match &args.args[3] {
            ColumnarValue::Scalar(ScalarValue::List(list)) if !list.is_null(0) => {
                Some(cut_points(list.value(0).as_ref())?)
            }
            ColumnarValue::Scalar(s) if s.is_null() => Some(vec![]),
            _ => None,
        };
        let cuts_column = if constant_cuts.is_some() {
            None
        } else {
            Some(args.args[3].to_array(n)?)
        };
        let cuts_list: Option<&ListArray> = cuts_column.as_ref().map(|c| c.as_list::<i32>());
        let (mut tstart, mut tstop) = (Float64Builder::new(), Float64Builder::new());
        let (mut ev, mut interval) = (Int64Builder::new(), Int64Builder::new());
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0i32);
        let mut valid = Vec::with_capacity(n);
        let mut row_cuts;
        for i in 0..n {
            if time.is_null(i) || event.is_null(i) {
                offsets.push(*offsets.last().unwrap());
                valid.push(false);
                continue;
            }
            let stop = time.value(i);
            let start = if entry.is_null(i) {
                if stop <= 0.0 {
                    return exec_err!(
                        "{NAME}: argument 'time' must be > 0 when entry is NULL (follow-up \
                         from 0, R's zero), found {stop}"
                    );
                }
                0.0
            } else {
                entry.value(i)
            };
            if !stop.is_finite() {
                return exec_err!("{NAME}: argument 'time' must be a finite number, found {stop}");
            }
            if !start.is_finite() {
                return exec_err!(
                    "{NAME}: argument 'entry' must be a finite number, found {start}"
                );
            }
            if start >= stop {
                return exec_err!(
                    "{NAME}: argument 'entry' must be < time, found entry {start} and time {stop}"
                );
            }
            let cuts: &[f64] = match (&constant_cuts, cuts_list) {
                (Some(c), _) => c,
                (None, Some(list)) if !list.is_null(i) => {
                    row_cuts = cut_points(list.value(i).as_ref())?;
                    &row_cuts
                }
                _ => &[],
            };
            // survsplit.c: the period of the first piece is the number of cuts <= start.
            let mut j = cuts.partition_point(|&c| c <= start);
            let mut piece_start = start;
            let mut pieces = 0;
            while j < cuts.len() && cuts[j] < stop {
                tstart.append_value(piece_start);
                tstop.append_value(cuts[j]);
                ev.append_value(0);
                interval.append_value(j as i64 + 1);
                piece_start = cuts[j];
                pieces += 1;
                j += 1;
            }
            tstart.append_value(piece_start);
            tstop.append_value(stop);
            ev.append_value(event.value(i));
            interval.append_value(j as i64 + 1);
            pieces += 1;
            let end = *offsets.last().unwrap() as usize + pieces;
            check_i32_size("pieces", end)?;
            offsets.push(end as i32);
            valid.push(true);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(tstart.finish()) as ArrayRef,
            Arc::new(tstop.finish()),
            Arc::new(ev.finish()),
            Arc::new(interval.finish()),
        ];
        let values = StructArray::try_new(piece_fields(), columns, None)?;
        let list = ListArray::try_new(
            Arc::new(Field::new_list_field(
                DataType::Struct(piece_fields()),
                true,
            )),
            OffsetBuffer::new(offsets.into()),
            Arc::new(values),
            Some(valid.into()),
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(Self::doc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int64Array};

    #[test]
    fn pieces_follow_survsplit() {
        // survSplit(Surv(time, status) ~ 1, data.frame(time = c(100, 200), status = 1),
        //           cut = c(90, 180), episode = "interval")
        let f = SurvSplit::new();
        let field = |dt: DataType| Arc::new(Field::new("a", dt, true));
        let cuts = ScalarValue::List(Arc::new(
            ListArray::from_iter_primitive::<Float64Type, _, _>(vec![Some(vec![
                Some(180.0),
                Some(90.0),
            ])]),
        ));
        let args = ScalarFunctionArgs {
            args: vec![
                ColumnarValue::Array(Arc::new(Float64Array::from(vec![None, Some(95.0)]))),
                ColumnarValue::Array(Arc::new(Float64Array::from(vec![100.0, 200.0]))),
                ColumnarValue::Array(Arc::new(Int64Array::from(vec![1, 1]))),
                ColumnarValue::Scalar(cuts),
            ],
            arg_fields: vec![
                field(DataType::Float64),
                field(DataType::Float64),
                field(DataType::Int64),
                field(list_of(DataType::Float64)),
            ],
            number_rows: 2,
            return_field: field(f.return_type(&[]).unwrap()),
            config_options: Default::default(),
        };
        let ColumnarValue::Array(out) = f.invoke_with_args(args).unwrap() else {
            panic!("not an array")
        };
        let list = out.as_list::<i32>();
        let pieces = list.values().as_struct();
        let col = |k: usize| {
            pieces
                .column(k)
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        };
        let int = |k: usize| {
            pieces
                .column(k)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        };
        assert_eq!(list.value_offsets(), &[0, 2, 4]);
        assert_eq!(col(0), vec![0.0, 90.0, 95.0, 180.0]);
        assert_eq!(col(1), vec![90.0, 100.0, 180.0, 200.0]);
        assert_eq!(int(2), vec![0, 1, 0, 1]);
        assert_eq!(int(3), vec![1, 2, 2, 3]);
    }
}

//! [`Surv`]: `surv(time, event)` / `surv(entry, time, event)` / `surv(entry, time, event,
//! weight)`, the survival response as one value, as R's `Surv()` (with its `weights =`); see
//! [`crate::response`].

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::coerce::{check_arity, coerce_event, coerce_time};
use crate::docs::doc;

const NAME: &str = "surv";
const SYNTAX: &str = "surv([entry,] time, event [, weight])";

/// `surv(time, event)` or `surv(entry, time, event)` returns `STRUCT<[entry,] time, event>`:
/// the response of R's `Surv(time, event)` / `Surv(entry, time, event)` (counting-process
/// data: at risk at the times t with entry < t ≤ time). `surv(entry, time, event, weight)`
/// adds case weights (R's `weights =`); with a NULL `entry` there is no delayed entry. The
/// Kaplan-Meier functions, `nelson_aalen` and the cumulative-incidence functions take it in
/// place of their leading `time, event` arguments (weights: all of them but `km_followup`), and
/// so do `cox_ph` and `cox_ph_strat`.
///
/// ```sql
/// SELECT km_median(surv(entry_age, exit_age, died)) FROM registry;
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Surv {
    signature: Signature,
}

impl Surv {
    pub fn new() -> Self {
        Surv {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "The survival response as one value, as R's Surv(): surv(time, event) for \
                 right-censored data, surv(entry, time, event) for delayed entry (left \
                 truncation; a subject is at risk at the times t with entry < t <= time, as \
                 survfit(Surv(entry, time, event) ~ 1)); surv(entry, time, event, weight) \
                 adds case weights (R's weights =; entry NULL for none; the Kaplan-Meier counts \
                 become sums of weights, with R's robust variance for non-integer weights; \
                 not taken by km_followup). Pass it in place of time, event to the Kaplan-Meier \
                 functions, nelson_aalen, cif_curve, cif_at, cox_ph and cox_ph_strat; their other arguments follow \
                 as usual.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\n-- registry patients observed from their entry into the registry\nSELECT km_median(surv(entry_months, exit_months, died)),\n       km_survival(surv(entry_months, exit_months, died), 60)['surv']\nFROM registry;\n```",
            )
            .with_argument(
                "entry",
                "Optional: when observation of the subject started (numeric, < time).",
            )
            .with_argument("time", "Follow-up time: event or censoring (numeric).")
            .with_argument(
                "event",
                "1/true = event, 0/false = censored (or a status code 0, 1, 2, ... for the \
                 cumulative-incidence functions).",
            )
            .with_argument(
                "weight",
                "Optional: case weight (numeric, >= 0; e.g. inverse probability of treatment).",
            )
            .build()
        })
    }
}

impl Default for Surv {
    fn default() -> Self {
        Self::new()
    }
}

/// The field names for `n` arguments.
fn names(n: usize) -> &'static [&'static str] {
    match n {
        4 => &["entry", "time", "event", "weight"],
        3 => &["entry", "time", "event"],
        _ => &["time", "event"],
    }
}

/// `surv(NULL, time, event, weight)`: weights without delayed entry (the NULL entry is left out
/// of the struct).
fn no_entry(arg_types: &[DataType]) -> bool {
    arg_types.len() == 4 && arg_types[0] == DataType::Null
}

impl ScalarUDFImpl for Surv {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types.len(), 2, 4, SYNTAX)?;
        let n = arg_types.len();
        let (t, e) = if n == 2 { (0, 1) } else { (1, 2) };
        let mut out = vec![];
        if n >= 3 {
            out.push(if no_entry(arg_types) {
                DataType::Null
            } else {
                coerce_time(NAME, "entry", &arg_types[0])?
            });
        }
        out.push(coerce_time(NAME, "time", &arg_types[t])?);
        // The event keeps integer codes (a status for the cumulative-incidence functions).
        out.push(match &arg_types[e] {
            DataType::Null => DataType::Int64,
            d => coerce_event(NAME, d)?,
        });
        if n == 4 {
            out.push(coerce_time(NAME, "weight", &arg_types[3])?);
        }
        Ok(out)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let skip = usize::from(no_entry(arg_types));
        let fields: Vec<Field> = names(arg_types.len())
            .iter()
            .zip(arg_types)
            .skip(skip)
            .map(|(name, dt)| Field::new(*name, dt.clone(), true))
            .collect();
        Ok(DataType::Struct(Fields::from(fields)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let skip = usize::from(no_entry(&types));
        let columns: Vec<ArrayRef> = args
            .args
            .iter()
            .skip(skip)
            .map(|a| a.to_array(n))
            .collect::<Result<_>>()?;
        let DataType::Struct(fields) = args.return_type() else {
            return datafusion::common::internal_err!("surv: return type is not a struct");
        };
        Ok(ColumnarValue::Array(Arc::new(StructArray::try_new(
            fields.clone(),
            columns,
            None,
        )?)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(Self::doc())
    }
}

//! [`Surv`]: `surv(time, event)` / `surv(entry, time, event)`, the survival response as one
//! value, as R's `Surv()`; see [`crate::response`].

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::common::{check_arity, coerce_event, coerce_time, doc};

const NAME: &str = "surv";
const SYNTAX: &str = "surv([entry,] time, event)";

/// `surv(time, event)` or `surv(entry, time, event)` returns `STRUCT<[entry,] time, event>`:
/// the response of R's `Surv(time, event)` / `Surv(entry, time, event)` (counting-process
/// data: at risk at the times t with entry < t ≤ time). The Kaplan-Meier functions,
/// `nelson_aalen` and the cumulative-incidence functions take it in place of their leading
/// `time, event` arguments.
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
                 survfit(Surv(entry, time, event) ~ 1)). Pass it in place of time, event to \
                 the Kaplan-Meier functions, nelson_aalen, cif_curve and cif_at; their other \
                 arguments follow as usual.",
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
    if n == 3 {
        &["entry", "time", "event"]
    } else {
        &["time", "event"]
    }
}

impl ScalarUDFImpl for Surv {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types.len(), 2, 3, SYNTAX)?;
        let n = arg_types.len();
        let mut out = vec![];
        if n == 3 {
            out.push(coerce_time(NAME, "entry", &arg_types[0])?);
        }
        out.push(coerce_time(NAME, "time", &arg_types[n - 2])?);
        // The event keeps integer codes (a status for the cumulative-incidence functions).
        out.push(match &arg_types[n - 1] {
            DataType::Null => DataType::Int64,
            d => coerce_event(NAME, d)?,
        });
        Ok(out)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let fields: Vec<Field> = names(arg_types.len())
            .iter()
            .zip(arg_types)
            .map(|(name, dt)| Field::new(*name, dt.clone(), true))
            .collect();
        Ok(DataType::Struct(Fields::from(fields)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let columns: Vec<ArrayRef> = args
            .args
            .iter()
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

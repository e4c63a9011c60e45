//! [`CoxPredict`]: `cox_predict(time, event, x1, ... [, options]) OVER (...)`, a Cox model's
//! prediction for each row (R's `predict.coxph` on the fitted data), the model fitted on the
//! window partition as `cox_ph` would fit it.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDFImpl,
};
use survql_stats::cox::cox_expected;

use crate::docs::doc;
use crate::model_state::{
    coerce_model_types, fit_partition, rowwise_array, rowwise_call, ModelKind, RowwiseCall,
};
use crate::warnings::WarningSink;

const NAME: &str = "cox_predict";
const SYNTAX: &str = "cox_predict(time, event, x1 [, ...] [, options]) OVER (...)";

/// What `type=` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PredictionType {
    Lp,
    Risk,
    Expected,
    Survival,
}

impl PredictionType {
    const NAMES: &'static str = "'lp' (default), 'risk', 'expected', 'survival'";

    fn parse(s: &str) -> Option<PredictionType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "lp" => PredictionType::Lp,
            "risk" => PredictionType::Risk,
            "expected" => PredictionType::Expected,
            "survival" => PredictionType::Survival,
            _ => return None,
        })
    }
}

/// `cox_predict(time, event, x1 [, ...] [, options]) OVER (PARTITION BY ...)` returns DOUBLE:
/// each row's prediction from the Cox model fitted on its window partition (the fit of
/// `cox_ph` on those rows), as R's `predict(fit, type)` without `newdata`: `type=lp` (default;
/// the linear predictor centred at the covariate means, R's `fit$linear.predictors`), `risk`
/// (exp(lp)), `expected` (the expected number of events over the row's own follow-up, r·Λ₀(t)
/// with Efron's correction at tied deaths: event − martingale residual) and `survival`
/// (exp(−expected)). Rows with a NULL argument are NULL (R's `na.exclude`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CoxPredict {
    signature: Signature,
    sink: WarningSink,
}

impl CoxPredict {
    /// The function reporting warnings (skipped rows, fits that did not converge) to `sink`.
    pub fn with_warnings(sink: WarningSink) -> Self {
        CoxPredict {
            signature: Signature::user_defined(Volatility::Immutable),
            sink,
        }
    }

    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Window function: each row's prediction from the Cox model fitted on its \
                 window partition (the fit of cox_ph with the same arguments), as R's \
                 predict(coxph(...), type) on the fitted rows. type= in the options: lp \
                 (default; centred at the covariate means, R's linear.predictors), risk \
                 (exp(lp)), expected (expected events over the row's follow-up: event minus \
                 the martingale residual), survival (exp(-expected)). Rows with a NULL \
                 argument get NULL.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT age, cox_predict(os_months, died, age, liver_mets, 'type=risk') OVER () AS risk\nFROM demo.net_cohort;\n\nSELECT sex, cox_predict(os_months, died, age, 'type=survival') OVER (PARTITION BY sex) AS s\nFROM demo.net_cohort;\n```",
            )
            .with_argument("time, event", "As cox_ph: time and event, or surv([entry,] time, event [, weight]).")
            .with_argument("x1, ...", "Covariates, as cox_ph.")
            .with_argument(
                "options",
                "Constant string: type=lp|risk|expected|survival, and cox_ph's options (ties=, ...).",
            )
            .build()
        })
    }
}

impl WindowUDFImpl for CoxPredict {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_model_types(NAME, ModelKind::Ph, arg_types, SYNTAX)
    }

    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let call = rowwise_call(NAME, &args, &["type"], &self.sink)?;
        Ok(Box::new(PredictEvaluator {
            call,
            kind: PredictionType::Lp,
        }))
    }

    fn field(&self, field_args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Float64,
            true,
        )))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(Self::doc())
    }
}

struct PredictEvaluator {
    call: RowwiseCall,
    kind: PredictionType,
}

impl std::fmt::Debug for PredictEvaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PredictEvaluator")
            .field("kind", &self.kind)
            .finish()
    }
}

impl PartitionEvaluator for PredictEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        self.call.prepare(values)?;
        // type= (the call's options are read with the first partition).
        for (_, value) in self.call.own() {
            self.kind = PredictionType::parse(value).ok_or_else(|| {
                datafusion::common::exec_datafusion_err!(
                    "{NAME}: option 'type' must be one of {}, found '{value}'",
                    PredictionType::NAMES
                )
            })?;
        }
        let Some(pf) = fit_partition(&mut self.call, values, num_rows)? else {
            return Ok(Arc::new(Float64Array::from(vec![None::<f64>; num_rows])));
        };
        let (data, fit, ties) = (&pf.data, &pf.fit, pf.ties);
        let values: Vec<f64> = match self.kind {
            PredictionType::Lp => fit.linear_predictors.clone(),
            PredictionType::Risk => fit.linear_predictors.iter().map(|l| l.exp()).collect(),
            PredictionType::Expected => cox_expected(data, fit, ties),
            PredictionType::Survival => cox_expected(data, fit, ties)
                .iter()
                .map(|e| (-e).exp())
                .collect(),
        };
        Ok(rowwise_array(num_rows, &pf, &values))
    }
}

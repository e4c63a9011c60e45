//! [`CoxPredict`]: `cox_predict(time, event, x1, ... [, options]) OVER (...)`, a Cox model's
//! prediction for each row (R's `predict.coxph` on the fitted data), the model fitted on the
//! window partition as `cox_ph` would fit it.

use std::sync::OnceLock;

use datafusion::common::Result;
use datafusion::logical_expr::Documentation;
use survql_stats::cox::{cox_expected, cox_linear_predictor};

use crate::docs::doc;
use crate::model_state::PartitionFit;
use crate::model_window::{ModelWindowUdf, RowwiseFunction};

const NAME: &str = "cox_predict";
const SYNTAX: &str = "cox_predict(time, event, x1 [, ...] [, options]) OVER (...)";

/// What `type=` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictionType {
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
pub type CoxPredict = ModelWindowUdf<CoxPredictFunction>;

/// The definition of [`CoxPredict`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxPredictFunction;

impl RowwiseFunction for CoxPredictFunction {
    type Options = PredictionType;
    const NAME: &'static str = NAME;
    const SYNTAX: &'static str = SYNTAX;
    const OWN_KEYS: &'static [&'static str] = &["type"];

    fn documentation(&self) -> &'static Documentation {
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

    /// `type=`.
    fn options(&self, own: &[(String, String)]) -> Result<Self::Options> {
        let mut kind = PredictionType::Lp;
        for (_, value) in own {
            kind = PredictionType::parse(value).ok_or_else(|| {
                datafusion::common::exec_datafusion_err!(
                    "{NAME}: option 'type' must be one of {}, found '{value}'",
                    PredictionType::NAMES
                )
            })?;
        }
        Ok(kind)
    }

    fn values(&self, kind: &Self::Options, pf: &PartitionFit) -> Result<Vec<f64>> {
        let (data, fit, ties) = (&pf.data, &pf.fit, pf.ties);
        Ok(match kind {
            PredictionType::Lp => cox_linear_predictor(data, fit),
            PredictionType::Risk => cox_linear_predictor(data, fit)
                .iter()
                .map(|l| l.exp())
                .collect(),
            PredictionType::Expected => cox_expected(data, fit, ties),
            PredictionType::Survival => cox_expected(data, fit, ties)
                .iter()
                .map(|e| (-e).exp())
                .collect(),
        })
    }
}

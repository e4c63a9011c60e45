//! [`CoxResidual`]: `cox_residual(time, event, x1, ... [, options]) OVER (...)`, a Cox
//! model's residual of each row (R's `residuals.coxph`), the model fitted on the window
//! partition as `cox_ph` would fit it.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    Documentation, PartitionEvaluator, Signature, Volatility, WindowUDFImpl,
};
use survql_stats::cox::{
    cox_dfbeta, cox_martingale, cox_scaled_schoenfeld, cox_schoenfeld, cox_score_residuals,
    deviance_from_martingale, Ties,
};

use crate::docs::doc;
use crate::model_state::{
    coerce_model_types, fit_partition, rowwise_array, rowwise_call, ModelKind, PartitionFit,
    RowwiseCall,
};
use crate::warnings::WarningSink;

const NAME: &str = "cox_residual";
const SYNTAX: &str = "cox_residual(time, event, x1 [, ...] [, options]) OVER (...)";

/// What `type=` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResidualType {
    Martingale,
    Deviance,
    Score,
    Dfbeta,
    Dfbetas,
    Schoenfeld,
    ScaledSchoenfeld,
}

impl ResidualType {
    const NAMES: &'static str =
        "'martingale' (default), 'deviance', 'score', 'dfbeta', 'dfbetas', 'schoenfeld', 'scaledsch'";

    fn parse(s: &str) -> Option<ResidualType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "martingale" => ResidualType::Martingale,
            "deviance" => ResidualType::Deviance,
            "score" => ResidualType::Score,
            "dfbeta" => ResidualType::Dfbeta,
            "dfbetas" => ResidualType::Dfbetas,
            "schoenfeld" => ResidualType::Schoenfeld,
            "scaledsch" => ResidualType::ScaledSchoenfeld,
            _ => return None,
        })
    }

    fn per_coefficient(self) -> bool {
        !matches!(self, ResidualType::Martingale | ResidualType::Deviance)
    }
}

/// `cox_residual(time, event, x1 [, ...] [, options]) OVER (PARTITION BY ...)` returns DOUBLE:
/// each row's residual of the Cox model fitted on its window partition — the same fit as
/// `cox_ph` with the same arguments on the partition's rows (`surv(entry, time, event,
/// weight)`, factors, `cluster(id)`, `ties=`). `type=` in the options string: `martingale`
/// (default, as R), `deviance`, and per coefficient (`term=NAME`, the coefficient's name as
/// in `cox_ph`'s terms; optional with one coefficient) `score`, `dfbeta` (weighted, as R's
/// default), `dfbetas`, `schoenfeld` and `scaledsch` (at event rows, NULL on the others, as
/// R's rows are the events). As R's `residuals(fit, type)`; rows with a NULL argument are NULL
/// (R's `na.exclude`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CoxResidual {
    signature: Signature,
    sink: WarningSink,
}

impl CoxResidual {
    /// The function reporting warnings (skipped rows, fits that did not converge) to `sink`.
    pub fn with_warnings(sink: WarningSink) -> Self {
        CoxResidual {
            signature: Signature::user_defined(Volatility::Immutable),
            sink,
        }
    }

    fn doc() -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Window function: each row's residual of the Cox model fitted on its window \
                 partition, the same fit as cox_ph with the same arguments (surv(...), factors, \
                 cluster(id), ties=). type= in the options: martingale (default), deviance, \
                 score, dfbeta, dfbetas, schoenfeld, scaledsch (the last five per \
                 coefficient: term=NAME, the coefficient's name as in cox_ph's terms, e.g. \
                 sexM; optional with one coefficient; Schoenfeld residuals at event rows, NULL \
                 on the others). As R's residuals(coxph(...), type); rows with a NULL argument \
                 get NULL (na.exclude). Memory: the partition's rows, as cox_ph.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT age, cox_residual(os_months, died, age, liver_mets) OVER () AS martingale\nFROM demo.net_cohort;\n\nSELECT sex, cox_residual(os_months, died, age, 'type=dfbeta, term=age') OVER (PARTITION BY sex) AS dfbeta_age\nFROM demo.net_cohort;\n```",
            )
            .with_argument("time, event", "As cox_ph: time and event, or surv([entry,] time, event [, weight]).")
            .with_argument("x1, ...", "Covariates, as cox_ph (numeric, boolean, text factors, cluster(id)).")
            .with_argument(
                "options",
                "Constant string: type=martingale|deviance|score|dfbeta|dfbetas|schoenfeld|scaledsch, \
                 term=NAME, and \
                 cox_ph's options (ties=, robust=, ...).",
            )
            .build()
        })
    }
}

impl WindowUDFImpl for CoxResidual {
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
        let call = rowwise_call(NAME, &args, &["type", "term"], &self.sink)?;
        Ok(Box::new(ResidualEvaluator {
            call,
            kind: ResidualType::Martingale,
            term: None,
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

struct ResidualEvaluator {
    call: RowwiseCall,
    kind: ResidualType,
    term: Option<String>,
}

impl std::fmt::Debug for ResidualEvaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResidualEvaluator")
            .field("kind", &self.kind)
            .field("term", &self.term)
            .finish()
    }
}

impl ResidualEvaluator {
    /// `type=` and `term=` (the call's options are read with the first partition).
    fn read_options(&mut self) -> Result<()> {
        let (mut kind, mut term) = (ResidualType::Martingale, None);
        for (key, value) in self.call.own() {
            match key.as_str() {
                "type" => {
                    kind = ResidualType::parse(value).ok_or_else(|| {
                        datafusion::common::exec_datafusion_err!(
                            "{NAME}: option 'type' must be one of {}, found '{value}'",
                            ResidualType::NAMES
                        )
                    })?
                }
                _ => term = Some(value.clone()),
            }
        }
        if term.is_some() && !kind.per_coefficient() {
            return exec_err!(
                "{NAME}: option 'term' is for type=score, dfbeta, dfbetas, schoenfeld or scaledsch"
            );
        }
        self.kind = kind;
        self.term = term;
        Ok(())
    }
}

/// The coefficient a per-coefficient residual is of.
pub(crate) fn coefficient(function: &str, pf: &PartitionFit, term: Option<&str>) -> Result<usize> {
    match term {
        Some(t) => pf.names.iter().position(|n| n == t).ok_or_else(|| {
            datafusion::common::exec_datafusion_err!(
                "{function}: option 'term' must name a coefficient ({}), found '{t}'",
                pf.names.join(", ")
            )
        }),
        None if pf.names.len() == 1 => Ok(0),
        None => exec_err!(
            "{function}: this residual is per coefficient: give term=NAME, one of {}",
            pf.names.join(", ")
        ),
    }
}

impl PartitionEvaluator for ResidualEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        self.call.prepare(values)?;
        self.read_options()?;
        let Some(pf) = fit_partition(&mut self.call, values, num_rows)? else {
            return Ok(Arc::new(Float64Array::from(vec![None::<f64>; num_rows])));
        };
        let (data, fit, ties) = (&pf.data, &pf.fit, pf.ties);
        if ties == Ties::Exact && self.kind.per_coefficient() {
            // R: "score residuals are not available for the exact method".
            return exec_err!(
                "{NAME}: score, dfbeta and Schoenfeld residuals are not available with \
                 ties=exact (as R); use ties=efron or ties=breslow"
            );
        }
        let column = |matrix: Vec<f64>, j: usize| -> Vec<f64> {
            let p = fit.coef.len();
            (0..data.n()).map(|r| matrix[r * p + j]).collect()
        };
        let values = match self.kind {
            ResidualType::Martingale => cox_martingale(data, fit, ties),
            ResidualType::Deviance => {
                deviance_from_martingale(&cox_martingale(data, fit, ties), &data.event)
            }
            ResidualType::Score => {
                let j = coefficient(NAME, &pf, self.term.as_deref())?;
                column(cox_score_residuals(data, fit, ties), j)
            }
            ResidualType::Dfbeta | ResidualType::Dfbetas => {
                let j = coefficient(NAME, &pf, self.term.as_deref())?;
                let scaled = self.kind == ResidualType::Dfbetas;
                column(cox_dfbeta(data, fit, ties, scaled), j)
            }
            ResidualType::Schoenfeld => {
                let j = coefficient(NAME, &pf, self.term.as_deref())?;
                column(cox_schoenfeld(data, fit, ties), j)
            }
            ResidualType::ScaledSchoenfeld => {
                let j = coefficient(NAME, &pf, self.term.as_deref())?;
                column(cox_scaled_schoenfeld(data, fit, ties), j)
            }
        };
        Ok(rowwise_array(num_rows, &pf, &values))
    }
}

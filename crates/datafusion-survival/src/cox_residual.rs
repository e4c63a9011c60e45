//! [`CoxResidual`]: `cox_residual(time, event, x1, ... [, options]) OVER (...)`, a Cox
//! model's residual of each row (R's `residuals.coxph`), the model fitted on the window
//! partition as `cox_ph` would fit it.

use std::sync::OnceLock;

use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::Documentation;
use survql_stats::cox::{
    cox_dfbeta, cox_martingale, cox_scaled_schoenfeld, cox_schoenfeld, cox_score_residuals,
    deviance_from_martingale, Ties,
};

use crate::docs::doc;
use crate::model_state::PartitionFit;
use crate::model_window::{ModelWindowUdf, RowwiseFunction};

const NAME: &str = "cox_residual";
const SYNTAX: &str = "cox_residual(time, event, x1 [, ...] [, options]) OVER (...)";

/// What `type=` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResidualType {
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
pub type CoxResidual = ModelWindowUdf<CoxResidualFunction>;

/// The definition of [`CoxResidual`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct CoxResidualFunction;

impl RowwiseFunction for CoxResidualFunction {
    type Options = (ResidualType, Option<String>);
    const NAME: &'static str = NAME;
    const SYNTAX: &'static str = SYNTAX;
    const OWN_KEYS: &'static [&'static str] = &["type", "term"];

    fn documentation(&self) -> &'static Documentation {
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

    /// `type=` and `term=`.
    fn options(&self, own: &[(String, String)]) -> Result<Self::Options> {
        let (mut kind, mut term) = (ResidualType::Martingale, None);
        for (key, value) in own {
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
        Ok((kind, term))
    }

    fn values(&self, (kind, term): &Self::Options, pf: &PartitionFit) -> Result<Vec<f64>> {
        let (data, fit, ties) = (&pf.data, &pf.fit, pf.ties);
        if ties == Ties::Exact && kind.per_coefficient() {
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
        let term = term.as_deref();
        Ok(match kind {
            ResidualType::Martingale => cox_martingale(data, fit, ties),
            ResidualType::Deviance => {
                deviance_from_martingale(&cox_martingale(data, fit, ties), &data.event)
            }
            ResidualType::Score => {
                column(cox_score_residuals(data, fit, ties), coefficient(pf, term)?)
            }
            ResidualType::Dfbeta | ResidualType::Dfbetas => {
                let scaled = *kind == ResidualType::Dfbetas;
                column(cox_dfbeta(data, fit, ties, scaled), coefficient(pf, term)?)
            }
            ResidualType::Schoenfeld => {
                column(cox_schoenfeld(data, fit, ties), coefficient(pf, term)?)
            }
            ResidualType::ScaledSchoenfeld => column(
                cox_scaled_schoenfeld(data, fit, ties),
                coefficient(pf, term)?,
            ),
        })
    }
}

/// The coefficient a per-coefficient residual is of.
fn coefficient(pf: &PartitionFit, term: Option<&str>) -> Result<usize> {
    match term {
        Some(t) => pf.names.iter().position(|n| n == t).ok_or_else(|| {
            datafusion::common::exec_datafusion_err!(
                "{NAME}: option 'term' must name a coefficient ({}), found '{t}'",
                pf.names.join(", ")
            )
        }),
        None if pf.names.len() == 1 => Ok(0),
        None => exec_err!(
            "{NAME}: this residual is per coefficient: give term=NAME, one of {}",
            pf.names.join(", ")
        ),
    }
}

//! Cox proportional hazards regression, as R's `coxph` (survival 3.5-3).
//!
//! * Newton-Raphson on the partial likelihood as `coxfit6` (right-censored) and `agfit4`
//!   (counting process): data sorted once by stop time within strata, one backward pass per
//!   iteration over running risk-set sums; Efron or Breslow ties; covariates centred and
//!   scaled (except those with values in {-1, 0, 1}, R's `nocenter`); step-halving when the
//!   log-likelihood falls; convergence when |1 - loglik_old / loglik_new| ≤ eps.
//! * Redundant (aliased) covariates: a pivot dropped by the generalised Cholesky
//!   (`cholesky2`) gives an NA coefficient with variance 0, as R.
//! * Monotone likelihood: R's check `|u V| > eps and > sqrt(eps)·|β|` after convergence.
//! * Tests as `summary.coxph`: likelihood ratio, Wald (b' V⁻¹ b), score (at β = 0).
//! * Robust (sandwich) variance D'D from the dfbeta residuals D = (score residuals) V.
//! * Concordance with its infinitesimal-jackknife standard error, as `concordancefit`.
//! * `cox.zph`: score test for time-varying coefficients with g(t) = KM, identity, rank or
//!   log transform of time.
//!
//! One file per part, as R keeps its C routines apart: [`prepare`] (sorting, near-ties,
//! centring), [`likelihood`] (`coxfit6`/`agfit4`'s passes), [`exact`] (`coxexact.c`), [`fit`]
//! (Newton-Raphson, tests, robust variance), [`residuals`] (score residuals), [`rank_trees`]
//! and [`concordance`] (`concordance3.c`), [`zph`] (`cox.zph`). Data flows one way:
//! prepare → likelihood/exact → fit → residuals, concordance, zph.

use crate::distributions::{pchisq_upper, two_sided_normal_p, z_for_level};
use crate::km::{near_tie_representatives, KaplanMeier, TimeCounts};
use crate::linalg::{Cholesky, Matrix};
use rayon::prelude::*;

mod concordance;
mod exact;
mod fit;
mod likelihood;
mod predict;
mod prepare;
mod rank_trees;
mod residuals;
#[cfg(test)]
mod tests;
mod zph;

pub use concordance::concordance;
pub use exact::exact_ties_cost;
pub use fit::cox_fit;
pub use predict::{
    cox_dfbeta, cox_expected, cox_linear_predictor, cox_martingale, cox_scaled_schoenfeld,
    cox_schoenfeld, cox_score_residuals, deviance_from_martingale,
};
pub use prepare::{merged_times, total_order_bits, PARALLEL_ROWS};
pub use zph::{cox_zph, transformed_times, Zph, ZphTransform};

use concordance::*;
use exact::*;
use likelihood::*;
use prepare::*;
use rank_trees::*;
use residuals::*;

/// How tied event times enter the partial likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ties {
    Efron,
    Breslow,
    /// The exact partial likelihood (R's `ties = "exact"`, `coxexact`): at a time with d tied
    /// deaths the denominator sums the scores' products over every d-subset of the risk set
    /// (the conditional logistic likelihood). Right-censored data without weights.
    Exact,
}

impl Ties {
    pub fn name(self) -> &'static str {
        match self {
            Ties::Efron => "efron",
            Ties::Breslow => "breslow",
            Ties::Exact => "exact",
        }
    }
}

/// Fitting options (R's `coxph.control` and the `ties`, `robust` arguments).
#[derive(Debug, Clone, Copy)]
pub struct CoxOptions {
    pub ties: Ties,
    pub max_iter: usize,
    pub eps: f64,
    /// Tolerance of the Cholesky decomposition (R: eps^0.75).
    pub toler_chol: f64,
    pub robust: bool,
    pub conf_level: f64,
    /// SAS PHREG's relative gradient criterion instead of R's: stop at the first iterate
    /// where g' I⁻¹ g / (|loglik| + 1e-6) < `gconv` (PHREG's default GCONV=1E-8). R's rule
    /// (`eps`) takes one more Newton step, so SAS's printed estimates differ in their last
    /// digits (PHUSE CAMIS, "R vs SAS", reason 3).
    pub gconv: Option<f64>,
    /// Compute the concordance (R's `fit$concordance`, O(n log n) but a sizeable share of a
    /// large fit). Off for the fits that do not report it (predicted curves, `cox.zph`):
    /// `concordance` is then [`Concordance::NOT_COMPUTED`].
    pub concordance: bool,
}

impl Default for CoxOptions {
    fn default() -> Self {
        CoxOptions {
            ties: Ties::Efron,
            max_iter: 20,
            eps: 1e-9,
            toler_chol: f64::EPSILON.powf(0.75),
            robust: false,
            conf_level: 0.95,
            gconv: None,
            concordance: true,
        }
    }
}

/// The data of a Cox model: one row per subject (or per interval, for counting-process data).
#[derive(Debug, Clone, Default)]
pub struct CoxData {
    /// Start of each interval (counting process), `None` for right-censored data.
    pub start: Option<Vec<f64>>,
    /// Event or censoring time (end of the interval).
    pub stop: Vec<f64>,
    pub event: Vec<bool>,
    /// Stratum of each row (0 when unstratified).
    pub strata: Vec<u32>,
    /// Covariate columns, each of length n.
    pub x: Vec<Vec<f64>>,
    /// Case weights (R's `weights =`), finite and ≥ 0; `None` for weight 1 everywhere. They
    /// weight each row's terms of the partial likelihood, its risk-set sums and the
    /// concordance pairs as `coxfit6`/`agfit4`/`concordance3` do.
    pub weights: Option<Vec<f64>>,
    /// Cluster of each row (R's `cluster(id)`): the robust variance and the concordance's
    /// standard error sum the rows' dfbeta residuals within clusters. `None`: each row its
    /// own cluster.
    pub cluster: Option<Vec<u32>>,
}

impl CoxData {
    pub fn n(&self) -> usize {
        self.stop.len()
    }

    pub fn nvar(&self) -> usize {
        self.x.len()
    }

    /// The weight of row `i` (1 without weights).
    #[inline]
    pub fn weight(&self, i: usize) -> f64 {
        self.weights.as_ref().map_or(1.0, |w| w[i])
    }

    /// Whether some weight is not a whole number: R's `coxph` then defaults to the robust
    /// variance (`has.rwt`).
    pub fn has_fractional_weights(&self) -> bool {
        self.weights
            .as_ref()
            .is_some_and(|w| w.iter().any(|v| v.fract() != 0.0))
    }
}

/// Harrell's concordance of the fitted risk score, as `coxph`'s `fit$concordance`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Concordance {
    pub concordance: Option<f64>,
    pub std_err: Option<f64>,
    pub concordant: f64,
    pub discordant: f64,
    pub tied_x: f64,
    pub tied_y: f64,
    pub tied_xy: f64,
}

impl Concordance {
    /// No concordance: not computed, or nothing to compare.
    pub const NOT_COMPUTED: Concordance = Concordance {
        concordance: None,
        std_err: None,
        concordant: 0.0,
        discordant: 0.0,
        tied_x: 0.0,
        tied_y: 0.0,
        tied_xy: 0.0,
    };
}

/// A test statistic with its degrees of freedom and p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChisqStat {
    pub statistic: Option<f64>,
    pub df: usize,
    pub p_value: Option<f64>,
}

impl ChisqStat {
    fn new(statistic: Option<f64>, df: usize) -> ChisqStat {
        ChisqStat {
            statistic,
            df,
            p_value: statistic.map(|s| pchisq_upper(s, df as f64)),
        }
    }
}

/// One coefficient row of `summary(coxph)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CoxTerm {
    pub coef: Option<f64>,
    pub exp_coef: Option<f64>,
    /// Model-based standard error (0 for an aliased coefficient, as R).
    pub se: Option<f64>,
    pub robust_se: Option<f64>,
    /// z and p use the robust SE when it was requested.
    pub z: Option<f64>,
    pub p_value: Option<f64>,
    /// Confidence interval of exp(coef).
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A fitted Cox model.
#[derive(Debug, Clone)]
pub struct CoxFit {
    pub n: usize,
    pub events: usize,
    pub ties: Ties,
    pub iterations: usize,
    pub converged: bool,
    /// What R warns about besides infinite coefficients (non-convergence, no events).
    pub warning: Option<String>,
    /// Coefficients R flags as possibly infinite ("Loglik converged before variable ...;
    /// coefficient may be infinite"): monotone likelihood.
    pub infinite: Vec<usize>,
    /// Coefficients; `None` for aliased (redundant) covariates.
    pub coef: Vec<Option<f64>>,
    /// Model-based variance (inverse information), rows/cols of aliased terms zero.
    pub var: Matrix,
    /// Robust (sandwich) variance, when requested.
    pub robust_var: Option<Matrix>,
    pub loglik_null: f64,
    pub loglik: f64,
    pub lr_test: ChisqStat,
    pub wald_test: ChisqStat,
    pub score_test: ChisqStat,
    pub concordance: Concordance,
    pub terms: Vec<CoxTerm>,
    /// Linear predictor of each row (data order), centred as R's `fit$linear.predictors`.
    pub linear_predictors: Vec<f64>,
    /// Covariate means used for centring (0 for {-1, 0, 1} covariates).
    pub means: Vec<f64>,
}

//! One call's configuration, decided when the accumulator is created: the options string
//! ([`ModelCallOptions`]), the covariate terms, the response shape ([`ModelOps`]).

use super::*;

/// Options of the trailing `'key=value, ...'` string.
#[derive(Debug, Clone)]
pub(crate) struct ModelCallOptions {
    pub fit: CoxOptions,
    /// `robust=` when given; otherwise R's default (robust with non-integer weights).
    pub robust: Option<bool>,
    /// `firth=true`: Firth's penalised likelihood (Breslow ties).
    pub firth: bool,
    /// `ties=` was given.
    pub ties_given: bool,
    /// finegray_ph: crr's iteration limit (10) and gradient tolerance.
    pub fine_gray: FineGrayOptions,
    /// survreg: the distribution and R's survreg.control.
    pub survreg: SurvregOptions,
    pub transform: ZphTransform,
    /// cox_zph: test terms (a factor's levels together, R's default) or single coefficients.
    pub terms: bool,
    /// cox_curve: the pointwise confidence band's transform (R's conf.type, default log).
    pub conf_type: ConfType,
    /// cox_curve: `centered=` when given (false: the curve at covariates 0, basehaz's
    /// centered = FALSE).
    pub centered: Option<bool>,
    /// cox_adjusted_curve: `times=t1 t2 ...` (ascending, distinct); `None`: every event time.
    pub times: Option<Vec<f64>>,
    /// `convention=`: whose default ties (Breslow for SAS, Stata, SPSS) when `ties=` is not
    /// given.
    pub convention: Convention,
}

pub(super) fn parse_options(
    function: &str,
    kind: ModelKind,
    text: &str,
) -> Result<ModelCallOptions> {
    let mut o = ModelCallOptions {
        fit: CoxOptions::default(),
        robust: None,
        firth: false,
        ties_given: false,
        fine_gray: FineGrayOptions::default(),
        survreg: SurvregOptions::default(),
        transform: ZphTransform::Km,
        terms: true,
        // riskRegression's ate: plain limits (meanRisk.transform = "none").
        conf_type: if kind == ModelKind::AdjustedCurve {
            ConfType::Plain
        } else {
            ConfType::Log
        },
        centered: None,
        times: None,
        convention: Convention::R,
    };
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return exec_err!("{function}: option '{part}' is not key=value");
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        let num = |v: &str| -> Result<f64> {
            v.parse::<f64>().map_err(|_| {
                datafusion::common::DataFusionError::Execution(format!(
                    "{function}: option '{k}' must be a number, found '{v}'"
                ))
            })
        };
        let boolean = |v: &str| -> Result<bool> {
            match v.to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "1" => Ok(true),
                "false" | "f" | "no" | "0" => Ok(false),
                _ => exec_err!("{function}: option '{k}' must be true or false, found '{v}'"),
            }
        };
        match k.as_str() {
            "dist" if kind.parametric() => {
                o.survreg.dist = match Dist::parse(&v.to_ascii_lowercase()) {
                    Some(d) => d,
                    None => return exec_err!("{function}: option 'dist' must be weibull, exponential, lognormal, loglogistic, gaussian or logistic, found '{v}'"),
                }
            }
            "ties" | "robust" if kind.parametric() => {
                return exec_err!("{function}: option '{k}' does not apply (options dist, conf_level, max_iter, eps)")
            }
            "robust" if kind == ModelKind::AdjustedCurve => {
                return exec_err!("{function}: option 'robust' does not apply (the standard error is the infinitesimal jackknife, itself robust; options ties, conf_type, conf_level, times, max_iter, eps)")
            }
            "conf_type" if kind == ModelKind::AdjustedCurve => {
                o.conf_type = match ConfType::parse(v) {
                    Some(t @ (ConfType::Plain | ConfType::LogLog)) => t,
                    _ => return exec_err!("{function}: option 'conf_type' must be plain or log-log (riskRegression::ate's none and cloglog), found '{v}'"),
                }
            }
            "times" if kind == ModelKind::AdjustedCurve => o.times = Some(parse_times(function, v)?),
            "ties" | "robust" | "eps" if kind == ModelKind::FineGray => {
                return exec_err!("{function}: option '{k}' does not apply (crr: Breslow ties, its own sandwich variance; options conf_level, max_iter, gtol)")
            }
            "gtol" if kind == ModelKind::FineGray => {
                let g = num(v)?;
                if !(g > 0.0 && g < 1.0) {
                    return exec_err!("{function}: option 'gtol' must be in (0, 1), found {v}");
                }
                o.fine_gray.gtol = g;
            }
            "firth" if matches!(kind, ModelKind::Ph | ModelKind::Strat) => o.firth = boolean(v)?,
            "ties" => {
                o.ties_given = true;
                o.fit.ties = match v.to_ascii_lowercase().as_str() {
                    "efron" => Ties::Efron,
                    "breslow" => Ties::Breslow,
                    "exact" => Ties::Exact,
                    _ => return exec_err!("{function}: option 'ties' must be efron, breslow or exact, found '{v}'"),
                }
            }
            "conf_level" => {
                let l = num(v)?;
                if !(l > 0.0 && l < 1.0) {
                    return exec_err!("{function}: option 'conf_level' must be in (0, 1), found {v}");
                }
                o.fit.conf_level = l;
                o.survreg.conf_level = l;
            }
            "robust" => o.robust = Some(boolean(v)?),
            "max_iter" | "iter_max" => {
                let m = num(v)?;
                if m < 0.0 || m.fract() != 0.0 || m > 1000.0 {
                    return exec_err!("{function}: option 'max_iter' must be a whole number from 0 to 1000, found {v}");
                }
                o.fit.max_iter = m as usize;
                o.fine_gray.max_iter = m as usize;
                o.survreg.max_iter = m as usize;
            }
            "eps" => {
                let e = num(v)?;
                if !(e > 0.0 && e < 1.0) {
                    return exec_err!("{function}: option 'eps' must be in (0, 1), found {v}");
                }
                o.fit.eps = e;
                o.survreg.eps = e;
            }
            "transform" if kind == ModelKind::Zph => {
                o.transform = match ZphTransform::parse(&v.to_ascii_lowercase()) {
                    Some(t) => t,
                    None => return exec_err!("{function}: option 'transform' must be km, identity, rank or log, found '{v}'"),
                }
            }
            "terms" if kind == ModelKind::Zph => o.terms = boolean(v)?,
            "conf_type" if kind.curve() => {
                o.conf_type = match ConfType::parse(v) {
                    Some(t) => t,
                    None => return exec_err!("{function}: option 'conf_type' must be one of {}, found '{v}'", ConfType::NAMES),
                }
            }
            "centered" if kind.curve() => o.centered = Some(boolean(v)?),
            "convention" if !matches!(kind, ModelKind::FineGray) && !kind.parametric() => {
                o.convention = match Convention::parse(v) {
                    Some(c) => c,
                    None => return exec_err!("{function}: option 'convention' must be one of {}, found '{v}'", Convention::NAMES),
                }
            }
            other => return exec_err!("{function}: unknown option '{other}' (ties, conf_level, robust, max_iter, eps{})", match kind {
                ModelKind::Zph => ", transform, terms",
                ModelKind::Curve | ModelKind::CurveStrat => ", conf_type, centered, or a covariate's value",
                ModelKind::AdjustedCurve => ", conf_type, times",
                _ => "",
            }),
        }
    }
    // SAS PHREG, Stata stcox and SPSS COXREG default to Breslow's ties.
    if !o.ties_given && o.convention.breslow_ties() {
        o.fit.ties = Ties::Breslow;
    }
    // PHREG's convergence criterion (GCONV=1E-8), which stops one Newton step before R's.
    if o.convention == Convention::Sas {
        o.fit.gconv = Some(1e-8);
    }
    Ok(o)
}

/// `times=`: numbers separated by spaces (or semicolons), finite, ≥ 0 and ascending; the
/// commas of the options string separate options.
fn parse_times(function: &str, text: &str) -> Result<Vec<f64>> {
    let mut times = vec![];
    for part in text.split([' ', ';']).filter(|p| !p.is_empty()) {
        match part.parse::<f64>() {
            Ok(t) if t.is_finite() && t >= 0.0 => times.push(t),
            _ => {
                return exec_err!(
                    "{function}: option 'times' takes numbers ≥ 0 separated by spaces \
                     (times=30 90 365), found '{part}'"
                )
            }
        }
    }
    if times.is_empty() {
        return exec_err!("{function}: option 'times' is empty (e.g. times=30 90 365)");
    }
    if times.windows(2).any(|w| w[1] <= w[0]) {
        return exec_err!(
            "{function}: option 'times' must be ascending and distinct, found '{text}'"
        );
    }
    Ok(times)
}

/// A term name from an argument's field name: the column name without a table qualifier.
pub(super) fn term_name(field: &Field) -> String {
    let n = field.name();
    if !n.contains([' ', '(', ')']) {
        if let Some((_, last)) = n.rsplit_once('.') {
            return last.to_owned();
        }
    }
    n.clone()
}

/// Per-call configuration, decided when the accumulator is created.
#[derive(Debug, Clone)]
pub struct ModelOps {
    pub function: &'static str,
    pub expression: String,
    pub sink: WarningSink,
    pub(super) kind: ModelKind,
    pub(super) covariates: Vec<Covariate>,
    /// The last argument is the options string (its state list stays empty).
    pub(super) has_options: bool,
    pub(super) options: ModelCallOptions,
    /// The first argument is `surv(...)`, with these fields.
    pub(super) response: Option<ResponseShape>,
    /// cox_curve: the covariate values (and stratum) of the curve.
    pub(super) profile: Profile,
    /// finegray_ph: the status code of the cause of interest.
    pub(super) cause: u32,
}

impl ModelOps {
    /// The fits `evaluate` does with [`lend_model_data`], which reads the group's numeric
    /// columns in place: `cox_ph`, `cox_ph_strat`, `cox_ph_counting` without `firth=true`.
    pub(super) fn fits_in_place(&self) -> bool {
        matches!(
            self.kind,
            ModelKind::Ph | ModelKind::Strat | ModelKind::Counting
        ) && !self.options.firth
    }

    /// Counting-process data: `cox_ph_counting`, or `surv(entry, time, event)`.
    pub(super) fn counting(&self) -> bool {
        self.kind == ModelKind::Counting || self.response.is_some_and(|s| s.entry)
    }

    /// With case weights.
    pub(super) fn weighted(&self) -> bool {
        self.response.is_some_and(|s| s.weight)
    }

    /// What takes the call beyond unweighted right-censored data with the model-based
    /// variance, if anything.
    pub(super) fn beyond_right_censored(&self) -> Option<&'static str> {
        let clustered = self
            .covariates
            .iter()
            .any(|c| matches!(c, Covariate::Cluster { .. }));
        if self.counting() {
            Some("counting-process data")
        } else if self.weighted() {
            Some("case weights")
        } else if clustered || self.options.robust == Some(true) {
            Some("the robust variance")
        } else {
            None
        }
    }
}

impl ModelOps {
    pub(crate) fn new(
        function: &'static str,
        kind: ModelKind,
        args: &AccumulatorArgs,
        sink: &WarningSink,
    ) -> Result<ModelOps> {
        let fixed = kind.fixed();
        let n = args.exprs.len();
        // A trailing constant string is the options string.
        let options_text = args
            .exprs
            .last()
            .and_then(|e| constant_value(e, args.schema))
            .and_then(|v| match v {
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)) => Some(s),
                _ => None,
            });
        let has_options = options_text.is_some() && n > fixed + 1;
        let ncov = n.saturating_sub(fixed + usize::from(has_options));
        if ncov == 0 {
            return exec_err!("{function}: at least one covariate is needed");
        }
        let mut covariates = vec![];
        for i in fixed..fixed + ncov {
            let field = &args.expr_fields[i];
            let name = term_name(field);
            covariates.push(match field.data_type() {
                // cox_adjusted_curve's grp: a factor whatever its type (R's ate needs one).
                d if kind == ModelKind::AdjustedCurve && i == fixed => {
                    if crate::model_terms::is_cluster(d) {
                        return exec_err!("{function}: grp cannot be cluster(...)");
                    }
                    Covariate::Factor { name }
                }
                d if d.is_numeric() => Covariate::Numeric { name },
                DataType::Boolean => Covariate::Boolean { name },
                d if crate::model_terms::is_cluster(d) => Covariate::Cluster { name },
                d if crate::model_terms::is_strata(d) => Covariate::Strata { name },
                _ => Covariate::Factor { name },
            });
        }
        let options_text = options_text
            .as_deref()
            .filter(|_| has_options)
            .unwrap_or("");
        // cox_curve: the covariate values of the curve are written among the options.
        let (profile, options_text) = if kind.curve() {
            let slots: Vec<(&str, ProfileSlot)> = covariates
                .iter()
                .map(|c| {
                    let slot = match c {
                        Covariate::Numeric { .. } => ProfileSlot::Numeric,
                        Covariate::Boolean { .. } => ProfileSlot::Boolean,
                        Covariate::Factor { .. } => ProfileSlot::Factor,
                        Covariate::Cluster { .. } | Covariate::Strata { .. } => {
                            ProfileSlot::Cluster
                        }
                    };
                    (c.name(), slot)
                })
                .collect();
            split_profile(function, options_text, &slots, kind.stratified())?
        } else {
            (Profile::default(), options_text.to_owned())
        };
        let options = parse_options(function, kind, &options_text)?;
        if options.centered.is_some() && !profile.values.is_empty() {
            return exec_err!(
                "{function}: option 'centered' is for the curve without covariate values \
                 (basehaz); a profile gives every value"
            );
        }
        let call = ModelOps {
            function,
            expression: args.name.to_owned(),
            sink: sink.clone(),
            kind,
            covariates,
            has_options,
            options,
            response: call_shape(args),
            profile,
            cause: if kind == ModelKind::FineGray {
                crate::competing_state::cause_option(function, args)?
            } else {
                0
            },
        };
        // Firth's penalty and R's exact likelihood are for right-censored, unweighted data
        // without the robust variance (their residuals are not offered).
        if call.options.firth {
            let ties_other = call.options.ties_given && call.options.fit.ties != Ties::Breslow;
            if let Some(reason) = call.beyond_right_censored().or(ties_other.then_some(
                "ties other than breslow (its penalty is defined on Breslow's likelihood)",
            )) {
                return exec_err!(
                    "{function}: firth=true is offered for right-censored data without weights \
                     or robust variance, not with {reason}"
                );
            }
        }
        if kind == ModelKind::AdjustedCurve && call.options.fit.ties == Ties::Exact {
            return exec_err!(
                "{function}: ties=exact is not offered (the curves use the Breslow or Efron \
                 baseline hazard, as survfit.coxph); use ties=efron or ties=breslow"
            );
        }
        if call.options.fit.ties == Ties::Exact {
            let zph = (kind == ModelKind::Zph).then_some("cox_zph");
            if let Some(reason) = zph.or(call.beyond_right_censored()) {
                return exec_err!(
                    "{function}: ties=exact is offered for right-censored data without weights \
                     or robust variance, not with {reason}; use ties=efron or ties=breslow"
                );
            }
        }
        Ok(call)
    }
}

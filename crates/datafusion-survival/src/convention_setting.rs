//! `SET survql.convention = 'sas'`: the numbers of SAS, Stata or SPSS for a whole session
//! (see [`survql_stats::convention`] for the rules and their sources).
//!
//! Every rule is reachable per call — the Kaplan-Meier functions' `conf_type` takes
//! `'sas'` / `'sas:log'`, `km_median` a trailing `'sas'`, the Cox functions `convention=sas`
//! in their options — and the session setting is applied by writing those arguments into the
//! calls while the query is optimised (each function's `simplify`): the plan carries the
//! convention as literals, so it reaches any process that runs it (a cluster worker), and an
//! explicit argument always wins (a call's own `'log-log'` becomes `'sas:log-log'`: SAS's
//! rules with the limits asked for).

use std::any::Any;

use datafusion::common::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::common::{config_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::AggregateFunctionSimplification;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{lit, Expr};
use survql_stats::Convention;

use crate::limits::{limits, set_cap};

/// What `SET survql.convention` changes, and the source of each rule (the shell's
/// `\h convention`; docs/conventions.md has the long form).
pub const CONVENTIONS_HELP: &str = "\
SET survql.convention = 'sas' | 'stata' | 'spss' | 'r'   (default r; --set survql.convention=sas)

The defaults of the Kaplan-Meier and Cox functions follow that package; explicit arguments win.
Per call: km_summary/km_quantile/km_survival/km_curve(..., 'sas' | 'sas:log'),
km_median(t, e, 'spss'), 'convention=stata' in a Cox function's options.

                    R (default)         SAS                     Stata               SPSS
limits of S(t)      log                 log-log                 log-log             none (SE only)
median / quantile   first S <= 1-p,     first S < 1-p; midpoint first S <= 1-p,     first S <= 1-p,
                    midpoint on a flat  only if S drops later,  no midpoint         no midpoint
                    stretch at 1-p      else NULL
quantile limits     bands cross 1-p     same, log-log           same, log-log (*)   t +- z SE(t) (*)
S(t) after a        last value          NULL                    last value          last value
censored last time
Cox ties            efron               breslow (+ PHREG's      breslow             breslow
                                        GCONV=1e-8 convergence)

Sources: SAS - PHUSE CAMIS PROC LIFETEST/PHREG output on WHAS500 and its special cases, SAS
LIFETEST documentation; Stata - sts list on the Gehan data (G. Rodriguez, Princeton), a stci
median (Statalist 2002-11), the stcox manual; SPSS - IBM technote 1476688 (median). Every
published number is reproduced by tests/golden_vendor.rs.
(*) not checked against a published output with its data: Stata's stci limits, SPSS's median
interval (Klein & Moeschberger's density-based SE, as SPSS's algorithms describe).
Unchanged: log-rank tests, km_rmst, km_followup, nelson_aalen, competing risks, survreg.
";

/// survql's settings (`SET survql.<key> = ...`, `SHOW survql.convention`): the convention
/// (per session), and the caps on user-controlled cardinalities (`survql.max_groups`,
/// `survql.max_table_cells`, `survql.max_factor_levels`; see [`crate::limits`]), which are
/// the process's: setting one applies to every query that starts afterwards in the process,
/// and a cluster coordinator sends them with each task, so its workers apply the session's
/// caps (the option extension travels as gRPC metadata).
#[derive(Debug, Clone, Default)]
pub struct SurvqlOptions {
    /// Whose conventions the survival functions follow: `r` (default), `sas`, `stata`, `spss`.
    pub convention: Convention,
}

impl ExtensionOptions for SurvqlOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        // A cluster worker receives the keys as entries() names them (with the prefix).
        let key = key.strip_prefix("survql.").unwrap_or(key);
        match key {
            "convention" => match Convention::parse(value.trim_matches('\'')) {
                Some(c) => {
                    self.convention = c;
                    Ok(())
                }
                None => config_err!(
                    "survql.convention must be one of {}, found '{value}'",
                    Convention::NAMES
                ),
            },
            "max_groups" | "max_table_cells" | "max_factor_levels" => {
                let text = value.trim_matches('\'').replace('_', "");
                match text.parse::<usize>() {
                    Ok(n) if n >= 1 => {
                        set_cap(key, n);
                        Ok(())
                    }
                    _ => config_err!("survql.{key} must be a whole number >= 1, found '{value}'"),
                }
            }
            _ => config_err!(
                "unknown setting survql.{key} (survql.convention, survql.max_groups, \
                 survql.max_table_cells, survql.max_factor_levels)"
            ),
        }
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        let caps = limits();
        vec![
            ConfigEntry {
                key: "survql.convention".to_owned(),
                value: Some(self.convention.name().to_owned()),
                description: "Whose conventions the survival functions follow: r (default), sas, \
                              stata or spss (pointwise limits, quantile rule, Cox ties)",
            },
            ConfigEntry {
                key: "survql.max_groups".to_owned(),
                value: Some(caps.max_groups.to_string()),
                description: "Most groups (per stratum) a log-rank or competing-risks test \
                              compares (default 1000)",
            },
            ConfigEntry {
                key: "survql.max_table_cells".to_owned(),
                value: Some(caps.max_table_cells.to_string()),
                description: "Most cells of a chi-square or Fisher table (default 1000000)",
            },
            ConfigEntry {
                key: "survql.max_factor_levels".to_owned(),
                value: Some(caps.max_factor_levels.to_string()),
                description: "Most levels of one text covariate of a model (default 1000)",
            },
        ]
    }
}

impl ConfigExtension for SurvqlOptions {
    const PREFIX: &'static str = "survql";
}

/// Applies a setting a cluster coordinator sent with a task (datafusion-distributed's option
/// propagation: one header per entry of [`SurvqlOptions`], named `...survql.<entry key>`): the
/// caps, which the accumulators read from the process. Other headers are ignored; the
/// convention needs nothing (the plan carries it).
pub fn apply_propagated_setting(header: &str, value: &str) -> Result<()> {
    for cap in ["max_groups", "max_table_cells", "max_factor_levels"] {
        if header.ends_with(&format!("survql.{cap}")) {
            return SurvqlOptions::default().set(cap, value);
        }
    }
    Ok(())
}

/// Where a function takes its convention.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ConventionArg {
    /// A trailing convention name at this position (counted with `time, event` as two).
    Name(usize),
    /// The `conf_type` argument at this position: appended, or prefixed (`'sas:log'`).
    ConfType(usize),
    /// The trailing options string of a Cox function with `fixed` leading arguments:
    /// `convention=...` added to it, or appended as one.
    CoxOptions { fixed: usize },
}

/// The session's convention written into a call (see the module documentation); `None` for
/// the functions' `simplify` when nothing is to be done is not possible (the setting is only
/// known inside the closure), so the closure returns the call unchanged under R's convention
/// and once the call names its convention.
pub(crate) fn session_convention(arg: ConventionArg) -> Option<AggregateFunctionSimplification> {
    Some(Box::new(
        move |mut call: AggregateFunction, info: &SimplifyContext| {
            let convention = info
                .config_options()
                .extensions
                .get::<SurvqlOptions>()
                .map_or(Convention::R, |o| o.convention);
            if convention != Convention::R {
                write_convention(&mut call, arg, convention, info)?;
            }
            Ok(Expr::AggregateFunction(call))
        },
    ))
}

fn write_convention(
    call: &mut AggregateFunction,
    arg: ConventionArg,
    convention: Convention,
    info: &SimplifyContext,
) -> Result<()> {
    let args = &mut call.params.args;
    // surv(...) stands for (time, event): the later arguments sit one position earlier.
    let response = match args.first() {
        Some(first) => matches!(
            info.get_data_type(first)?,
            datafusion::arrow::datatypes::DataType::Struct(_)
        ),
        None => false,
    };
    let at = |i: usize| i - usize::from(response);
    let name = convention.name();
    match arg {
        ConventionArg::Name(i) => {
            if args.len() == at(i) {
                args.push(lit(name));
            }
        }
        ConventionArg::ConfType(i) => {
            let i = at(i);
            if args.len() == i {
                args.push(lit(name));
            } else if let Some(text) = args.get(i).and_then(literal_text) {
                if survql_stats::convention::names_convention(&text).is_none() {
                    args[i] = lit(format!("{name}:{text}"));
                }
            }
        }
        ConventionArg::CoxOptions { fixed } => {
            let fixed = at(fixed);
            let options = (args.len() > fixed + 1)
                .then(|| args.last().and_then(literal_text))
                .flatten();
            match options {
                Some(text) if mentions_convention(&text) => {}
                Some(text) => {
                    let joined = if text.trim().is_empty() {
                        format!("convention={name}")
                    } else {
                        format!("{text}, convention={name}")
                    };
                    if let Some(last) = args.last_mut() {
                        *last = lit(joined);
                    }
                }
                None if args.len() > fixed => args.push(lit(format!("convention={name}"))),
                None => return plan_err!("{}: missing arguments", call.func.name()),
            }
        }
    }
    Ok(())
}

/// The text of a string literal.
fn literal_text(e: &Expr) -> Option<String> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        ) => Some(s.clone()),
        _ => None,
    }
}

/// Whether a Cox options string sets `convention=` itself.
fn mentions_convention(options: &str) -> bool {
    options.split(',').any(|part| {
        part.split_once('=')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("convention"))
    })
}

//! Study design for the log-rank test (scalar functions, see [`survql_stats::design`]):
//! [`LogrankDesign::events`] — `logrank_events(hr, alpha, power [, allocation_ratio [, method]])`,
//! the events a trial needs — and [`LogrankDesign::power`] — `logrank_power(hr, events, alpha [,
//! allocation_ratio [, method]])`, the power after so many events. One shell: the two differ
//! in which of (power, events) is given.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use survql_stats::design::{logrank_events, logrank_power, DesignMethod};

use crate::coerce::check_arity;
use crate::docs::doc;

/// Which design quantity the function computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Solve {
    /// Required events from (hr, alpha, power).
    Events,
    /// Power from (hr, events, alpha).
    Power,
}

/// `logrank_events` or `logrank_power`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LogrankDesign {
    solve: Solve,
    signature: Signature,
}

impl LogrankDesign {
    /// `logrank_events(hr, alpha, power [, allocation_ratio [, method]])`.
    pub fn events() -> Self {
        LogrankDesign {
            solve: Solve::Events,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    /// `logrank_power(hr, events, alpha [, allocation_ratio [, method]])`.
    pub fn power() -> Self {
        LogrankDesign {
            solve: Solve::Power,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn name_of(&self) -> &'static str {
        match self.solve {
            Solve::Events => "logrank_events",
            Solve::Power => "logrank_power",
        }
    }

    fn syntax(&self) -> &'static str {
        match self.solve {
            Solve::Events => "logrank_events(hr, alpha, power [, allocation_ratio [, method]])",
            Solve::Power => "logrank_power(hr, events, alpha [, allocation_ratio [, method]])",
        }
    }

    /// The names of the three leading numeric arguments.
    fn numeric_names(&self) -> [&'static str; 3] {
        match self.solve {
            Solve::Events => ["hr", "alpha", "power"],
            Solve::Power => ["hr", "events", "alpha"],
        }
    }
}

const METHODS: &str = "Schoenfeld (default): D = (z_{1-alpha/2} + z_power)^2 (1 + r)^2 / (r ln(hr)^2); Freedman: D = (z_{1-alpha/2} + z_power)^2 (1 + r hr)^2 / (r (1 - hr)^2); r = allocation_ratio = n_experimental / n_control (default 1), hr the experimental arm's hazard over the control arm's, alpha two-sided.";

fn events_doc() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        doc(
            &format!("The number of events a trial analysed with the two-sided log-rank test needs, unrounded (ceil() gives what manuals print: hr 0.7, alpha 0.05, power 0.8 needs 246.8 -> 247 events by Schoenfeld's formula, 252.0 -> 253 by Freedman's). {METHODS} Subjects = events / the probability of an event (lifelines' sample_size_necessary_under_cph returns subjects: with event probabilities p_exp and p_con it is events / (r p_exp + p_con) per control subject). NULL arguments give NULL."),
            "logrank_events(hr, alpha, power [, allocation_ratio [, method]])",
        )
        .with_sql_example("```sql\nSELECT ceil(logrank_events(0.7, 0.05, 0.8)) AS schoenfeld,\n       ceil(logrank_events(0.7, 0.05, 0.8, 1, 'freedman')) AS freedman,\n       ceil(logrank_events(0.7, 0.05, 0.9, 2)) AS two_to_one_90;\n```")
        .with_argument("hr", "Hazard ratio to detect (> 0, not 1).")
        .with_argument("alpha", "Two-sided significance level, in (0, 1).")
        .with_argument("power", "Power, in (0, 1).")
        .with_argument("allocation_ratio", "n_experimental / n_control (> 0; default 1).")
        .with_argument("method", "'schoenfeld' (default) or 'freedman'.")
        .build()
    })
}

fn power_doc() -> &'static Documentation {
    static DOC: OnceLock<Documentation> = OnceLock::new();
    DOC.get_or_init(|| {
        doc(
            &format!("The power of a two-sided log-rank test after a number of events, the inverse of logrank_events: Phi(sqrt(D r) |ln hr| / (1 + r) - z_(1-alpha/2)) (Schoenfeld) or Phi(sqrt(D r) |1 - hr| / (1 + r hr) - z_(1-alpha/2)) (Freedman; lifelines' power_under_cph with events n_exp p_exp + n_con p_con), ignoring the far tail as Stata's power logrank. {METHODS} NULL arguments give NULL."),
            "logrank_power(hr, events, alpha [, allocation_ratio [, method]])",
        )
        .with_sql_example("```sql\nSELECT logrank_power(0.7, 200, 0.05) AS power_200,\n       logrank_power(0.7, 200, 0.05, 1, 'freedman') AS freedman;\n```")
        .with_argument("hr", "Hazard ratio (> 0, not 1).")
        .with_argument("events", "Number of events (> 0; need not be whole).")
        .with_argument("alpha", "Two-sided significance level, in (0, 1).")
        .with_argument("allocation_ratio", "n_experimental / n_control (> 0; default 1).")
        .with_argument("method", "'schoenfeld' (default) or 'freedman'.")
        .build()
    })
}

impl ScalarUDFImpl for LogrankDesign {
    fn name(&self) -> &str {
        self.name_of()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name_of();
        check_arity(name, arg_types.len(), 3, 5, self.syntax())?;
        let names = ["", "", "", "allocation_ratio", "method"];
        arg_types
            .iter()
            .enumerate()
            .map(|(i, dt)| {
                let arg = if i < 3 {
                    self.numeric_names()[i]
                } else {
                    names[i]
                };
                match (i, dt) {
                    (4, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) => {
                        Ok(DataType::Utf8)
                    }
                    (4, DataType::Null) => Ok(DataType::Utf8),
                    (4, d) => plan_err!("{name}: argument 'method' must be text, found {d}"),
                    (_, DataType::Null) => Ok(DataType::Float64),
                    (_, d) if d.is_numeric() => Ok(DataType::Float64),
                    (_, d) => plan_err!("{name}: argument '{arg}' must be numeric, found {d}"),
                }
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name_of();
        let n = args.number_rows;
        let numbers: Vec<ArrayRef> = args.args[..args.args.len().min(4)]
            .iter()
            .map(|a| a.to_array(n))
            .collect::<Result<_>>()?;
        let methods = match args.args.get(4) {
            Some(m) => Some(m.to_array(n)?),
            None => None,
        };
        let column = |i: usize| numbers.get(i).map(|a| a.as_primitive::<Float64Type>());
        let (a, b, c, ratio) = (
            column(0).unwrap(),
            column(1).unwrap(),
            column(2).unwrap(),
            column(3),
        );
        let methods = methods.as_ref().map(|m| m.as_string::<i32>());
        let [_, second, third] = self.numeric_names();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let null = |x: &dyn Array| x.is_null(i);
            if null(a)
                || null(b)
                || null(c)
                || ratio.is_some_and(|r| null(r))
                || methods.is_some_and(|m| null(m))
            {
                out.push(None);
                continue;
            }
            let (hr, x, y) = (a.value(i), b.value(i), c.value(i));
            let r = ratio.map_or(1.0, |r| r.value(i));
            if !(hr.is_finite() && hr > 0.0) || hr == 1.0 {
                return exec_err!(
                    "{name}: argument 'hr' must be a finite number > 0 other than 1, found {hr}"
                );
            }
            let (alpha, power_or_events) = match self.solve {
                Solve::Events => (x, y),
                Solve::Power => (y, x),
            };
            if !(alpha > 0.0 && alpha < 1.0) {
                return exec_err!("{name}: argument 'alpha' must be in (0, 1), found {alpha}");
            }
            match self.solve {
                Solve::Events if !(power_or_events > 0.0 && power_or_events < 1.0) => {
                    return exec_err!(
                        "{name}: argument '{third}' must be in (0, 1), found {power_or_events}"
                    );
                }
                Solve::Power if !(power_or_events.is_finite() && power_or_events > 0.0) => {
                    return exec_err!("{name}: argument '{second}' must be a finite number > 0, found {power_or_events}");
                }
                _ => {}
            }
            if !(r.is_finite() && r > 0.0) {
                return exec_err!(
                    "{name}: argument 'allocation_ratio' must be a finite number > 0, found {r}"
                );
            }
            let method = match methods {
                None => DesignMethod::Schoenfeld,
                Some(m) => match DesignMethod::parse(m.value(i)) {
                    Some(m) => m,
                    None => {
                        return exec_err!(
                            "{name}: argument 'method' must be {}, found '{}'",
                            DesignMethod::NAMES,
                            m.value(i)
                        )
                    }
                },
            };
            out.push(Some(match self.solve {
                Solve::Events => logrank_events(hr, alpha, power_or_events, r, method),
                Solve::Power => logrank_power(hr, power_or_events, alpha, r, method),
            }));
        }
        Ok(ColumnarValue::Array(Arc::new(Float64Array::from(out))))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(match self.solve {
            Solve::Events => events_doc(),
            Solve::Power => power_doc(),
        })
    }
}

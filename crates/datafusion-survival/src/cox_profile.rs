//! The covariate profile of `cox_curve` / `cox_curve_strat`: the covariate values (R's
//! `newdata` row) and the stratum a predicted curve is for, written in the options string
//! beside the options: `'age=60, grade=G3, conf_type=log-log'`. A key that names a covariate
//! argument (its column name, case-insensitive) is a profile value; `strata=` names the
//! stratum of `cox_curve_strat`; every other key is an option.

use datafusion::common::{exec_err, Result};

/// What a covariate argument is, for reading its profile value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProfileSlot {
    Numeric,
    Boolean,
    Factor,
    /// `cluster(id)`: not a covariate, takes no value.
    Cluster,
}

/// A covariate's value in the profile.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ProfileValue {
    Number(f64),
    /// A factor's level (its label).
    Level(String),
}

/// Which curve a `cox_curve` call asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Profile {
    /// Per covariate argument its value (`None` for `cluster(...)`); empty for R's default
    /// curve (no `newdata`).
    pub values: Vec<Option<ProfileValue>>,
    /// `strata=`: the stratum's label (`cox_curve_strat`).
    pub stratum: Option<String>,
}

/// Splits the options text of a curve call into its profile and the remaining
/// `key=value` options (returned as text for the options parser). Errors name the function:
/// a value that does not fit its covariate, a profile that leaves out some covariate (R's
/// `newdata` needs every one), a stratified call without `strata=`.
pub(crate) fn split_profile(
    function: &str,
    text: &str,
    covariates: &[(&str, ProfileSlot)],
    stratified: bool,
) -> Result<(Profile, String)> {
    let mut values: Vec<Option<ProfileValue>> = vec![None; covariates.len()];
    let mut stratum = None;
    let mut rest = vec![];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return exec_err!("{function}: option '{part}' is not key=value");
        };
        let (key, value) = (key.trim(), value.trim());
        let slot = covariates
            .iter()
            .position(|(name, _)| name.eq_ignore_ascii_case(key));
        match slot {
            Some(k) => {
                if values[k].is_some() {
                    return exec_err!("{function}: covariate '{key}' is given twice");
                }
                values[k] = Some(read_value(function, covariates[k], value)?);
            }
            None if stratified && key.eq_ignore_ascii_case("strata") => {
                stratum = Some(value.to_owned())
            }
            None => rest.push(part),
        }
    }
    let given = values.iter().any(Option::is_some);
    if given {
        let missing: Vec<&str> = covariates
            .iter()
            .zip(&values)
            .filter(|((_, slot), v)| v.is_none() && *slot != ProfileSlot::Cluster)
            .map(|((name, _), _)| *name)
            .collect();
        if !missing.is_empty() {
            return exec_err!(
                "{function}: the profile gives no value for {} (as R's newdata, a profile \
                 gives every covariate; without any the curve is at the covariate means)",
                missing.join(", ")
            );
        }
    } else {
        values.clear();
    }
    if stratified && stratum.is_none() {
        return exec_err!(
            "{function}: give the stratum of the curve in the options, 'strata=<label>, ...'"
        );
    }
    Ok((Profile { values, stratum }, rest.join(", ")))
}

fn read_value(
    function: &str,
    (name, slot): (&str, ProfileSlot),
    value: &str,
) -> Result<ProfileValue> {
    match slot {
        // true/false for a 0/1 column too, as R's model.matrix takes TRUE for 1.
        ProfileSlot::Numeric => match value.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(ProfileValue::Number(v)),
            _ if value.eq_ignore_ascii_case("true") => Ok(ProfileValue::Number(1.0)),
            _ if value.eq_ignore_ascii_case("false") => Ok(ProfileValue::Number(0.0)),
            _ => exec_err!("{function}: covariate '{name}' must be given a finite number, found '{value}'"),
        },
        ProfileSlot::Boolean => match value.to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Ok(ProfileValue::Number(1.0)),
            "false" | "f" | "0" => Ok(ProfileValue::Number(0.0)),
            _ => exec_err!("{function}: covariate '{name}' must be given true or false, found '{value}'"),
        },
        ProfileSlot::Factor => Ok(ProfileValue::Level(value.to_owned())),
        ProfileSlot::Cluster => exec_err!("{function}: '{name}' is the cluster, not a covariate; it takes no value in the profile"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COVS: &[(&str, ProfileSlot)] = &[
        ("age", ProfileSlot::Numeric),
        ("grade", ProfileSlot::Factor),
        ("mets", ProfileSlot::Boolean),
    ];

    #[test]
    fn profile_values_and_options_are_told_apart() {
        let (p, rest) = split_profile(
            "f",
            "AGE=60, grade=G3, ties=breslow, mets=true",
            COVS,
            false,
        )
        .unwrap();
        assert_eq!(
            p.values,
            vec![
                Some(ProfileValue::Number(60.0)),
                Some(ProfileValue::Level("G3".into())),
                Some(ProfileValue::Number(1.0))
            ]
        );
        assert_eq!(rest, "ties=breslow");
        let (p, rest) = split_profile("f", "conf_level=0.9", COVS, false).unwrap();
        assert!(p.values.is_empty());
        assert_eq!(rest, "conf_level=0.9");
    }

    #[test]
    fn incomplete_or_invalid_profiles_are_errors() {
        let e = split_profile("f", "age=60", COVS, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("grade, mets"), "{e}");
        let e = split_profile("f", "age=old, grade=G1, mets=0", COVS, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'age' must be given a finite number, found 'old'"),
            "{e}"
        );
        let e = split_profile("f", "age=60, grade=G1, mets=0", COVS, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("strata=<label>"), "{e}");
    }
}

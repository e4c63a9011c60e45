//! Plot options as the shell and Python give them (`km --ci --xmax 60 -o fig.svg`): parsing
//! and validation.

use super::*;

/// Splits `\plot km` / `\plot cif` arguments into options and the query (which starts at
/// the first SELECT or WITH).
pub fn parse_plot_args(args: &str) -> Result<(String, PlotOptions, String)> {
    let (kind, opts, query_start) = parse_kind_and_options(args)?;
    let Some(start) = query_start else {
        return exec_err!("\\plot: missing the query (SELECT <group>, <time>, <event> FROM ...)");
    };
    Ok((
        kind,
        opts,
        args[start..].trim().trim_end_matches(';').to_owned(),
    ))
}

/// A plot kind and its options without a query, as the command line's `--plot "cif --cause
/// 2"` gives them (the query comes separately, in `-c`, and is never re-parsed).
pub fn parse_plot_spec(spec: &str) -> Result<(String, PlotOptions)> {
    let (kind, opts, query_start) = parse_kind_and_options(spec)?;
    if query_start.is_some() {
        return exec_err!("--plot: give the query in -c, not in --plot ('{spec}')");
    }
    Ok((kind, opts))
}

/// The kind, the options, and the byte offset where a query starts (the first SELECT or
/// WITH), if one does.
pub(super) fn parse_kind_and_options(args: &str) -> Result<(String, PlotOptions, Option<usize>)> {
    let tokens = shell_words(args);
    let mut opts = PlotOptions::default();
    let Some(kind) = tokens.first().map(|t| t.0.clone()) else {
        return exec_err!(
            "\\plot: usage: \\plot km [options] SELECT <group>, <time>, <event> FROM ..."
        );
    };
    let mut i = 1;
    while i < tokens.len() {
        let (tok, offset) = (&tokens[i].0, tokens[i].1);
        let upper = tok.to_ascii_uppercase();
        if upper == "SELECT" || upper == "WITH" || upper == "(SELECT" {
            return Ok((kind, opts, Some(offset)));
        }
        let mut value = |name: &str| -> Result<String> {
            i += 1;
            tokens
                .get(i)
                .map(|t| t.0.clone())
                .ok_or_else(|| DataFusionError::Execution(format!("\\plot: {name} needs a value")))
        };
        let number = |name: &str, v: String| -> Result<f64> {
            v.parse::<f64>().map_err(|_| {
                DataFusionError::Execution(format!("\\plot: {name} must be a number, found '{v}'"))
            })
        };
        match tok.as_str() {
            "-o" | "--output" => opts.output = Some(PathBuf::from(value("-o")?)),
            "--ci" => opts.ci = true,
            "--title" => opts.title = Some(value("--title")?),
            "--xlab" => opts.xlab = value("--xlab")?,
            "--ylab" => opts.ylab = Some(value("--ylab")?),
            "--cause" => {
                let v = number("--cause", value("--cause")?)?;
                if !(v >= 1.0 && v.fract() == 0.0 && v <= u32::MAX as f64) {
                    return exec_err!("\\plot: --cause must be a whole number >= 1, found {v}");
                }
                opts.cause = v as u32;
            }
            "--stacked" => opts.stacked = true,
            "--transform" => {
                let name = value("--transform")?;
                opts.transform = survql_stats::cox::ZphTransform::parse(&name.to_ascii_lowercase())
                    .ok_or_else(|| {
                        datafusion::common::exec_datafusion_err!(
                            "\\plot: --transform must be km, rank, identity or log, found '{name}'"
                        )
                    })?
            }
            "--test" => {
                let name = value("--test")?;
                opts.test = Weighting::parse(&name).ok_or_else(|| {
                    datafusion::common::exec_datafusion_err!(
                        "\\plot: --test must be one of {}, found '{name}'",
                        Weighting::NAMES
                    )
                })?
            }
            "--break" => {
                opts.break_every = Some(positive("--break", number("--break", value("--break")?)?)?)
            }
            "--xmax" => opts.xmax = Some(positive("--xmax", number("--xmax", value("--xmax")?)?)?),
            "--width" => opts.width = pixels("--width", number("--width", value("--width")?)?)?,
            "--height" => {
                opts.height = pixels("--height", number("--height", value("--height")?)?)?
            }
            other => return exec_err!("\\plot: unknown option '{other}' (\\? lists the options)"),
        }
        i += 1;
    }
    Ok((kind, opts, None))
}

/// A finite number > 0.
pub(super) fn positive(name: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        exec_err!("\\plot: {name} must be a positive number, found {v}")
    }
}

/// A whole number of pixels in [`SIZE_RANGE`].
pub(super) fn pixels(name: &str, v: f64) -> Result<u32> {
    if v.fract() == 0.0 && v >= f64::from(*SIZE_RANGE.start()) && v <= f64::from(*SIZE_RANGE.end())
    {
        Ok(v as u32)
    } else {
        exec_err!(
            "\\plot: {name} must be a whole number of pixels from {} to {}, found {v}",
            SIZE_RANGE.start(),
            SIZE_RANGE.end()
        )
    }
}

/// `label` cut to at most `max` characters (not bytes: labels may be any UTF-8), with an
/// ellipsis when cut.
pub fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        return label.to_owned();
    }
    let mut out: String = label.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Splits on white space, honouring single and double quotes; returns each word with the
/// byte offset where it starts.
pub(super) fn shell_words(s: &str) -> Vec<(String, usize)> {
    let mut out = vec![];
    let mut cur = String::new();
    let mut start = None;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || (c == '\'' && start.is_none()) => {
                quote = Some(c);
                start.get_or_insert(i);
            }
            None if c.is_whitespace() => {
                if let Some(st) = start.take() {
                    out.push((std::mem::take(&mut cur), st));
                }
            }
            None => {
                start.get_or_insert(i);
                cur.push(c);
            }
        }
    }
    if let Some(st) = start {
        out.push((cur, st));
    }
    out
}

use super::*;

/// `--plot` options arrive as parsed values: quotes in a title and spaces in a path survive
/// (they were once re-assembled into a `\plot` command line and re-parsed).
#[test]
fn plot_flags_are_not_reparsed() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir
        .path()
        .join("a folder with spaces")
        .join("km \"by\" grade.svg");
    let o = run(&[
        "--plot",
        "km --xlab \"Months since diagnosis\"",
        "--title",
        "OS \"by\" grade; p < .05",
        "-o",
        svg.to_str().unwrap(),
        "-c",
        "SELECT grade, os_months, died FROM demo.net_cohort WHERE grade IS NOT NULL -- SELECT in a comment",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("OS &quot;by&quot; grade; p &lt; .05")
            || text.contains("OS \"by\" grade; p &lt; .05"),
        "the title lost its quotes"
    );
    assert!(text.contains("Months since diagnosis"));
    let o = run(&["--plot", "km SELECT 1", "-c", "SELECT 1"]);
    assert!(
        stderr(&o).contains("give the query in -c"),
        "{}",
        stderr(&o)
    );
}

/// The number-at-risk values drawn in the SVG are those of km_survival at the ticks.
#[test]
fn svg_and_png_with_risk_table() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("km.svg");
    let png = dir.path().join("km.png");
    let q = "SELECT grade, os_months, died FROM demo.net_cohort WHERE grade IS NOT NULL";
    // The PNG through --plot, the SVG through the \plot command with a tick spacing.
    let o = run(&[
        "--plot",
        "km",
        "--ci",
        "--title",
        "OS by grade",
        "-o",
        png.to_str().unwrap(),
        "-c",
        q,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cmd = format!(
        "\\plot km -o {} --ci --title \"OS by grade\" --break 25 {q};",
        svg.display()
    );
    let o = run(&["-c", &cmd]);
    assert!(o.status.success(), "{}", stderr(&o));
    let png_bytes = std::fs::read(&png).unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height.
    let w = u32::from_be_bytes(png_bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png_bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (900, 640));
    assert!(png_bytes.len() > 20_000);

    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg")
            && text.contains("width=\"900\"")
            && text.contains("height=\"640\"")
    );
    assert!(
        text.contains("Number at risk")
            && text.contains("OS by grade")
            && text.contains("Log-rank p")
    );
    // Texts of the SVG, in order.
    let texts: Vec<String> = text
        .split("<text")
        .skip(1)
        .map(|t| {
            let body = &t[t.find('>').unwrap() + 1..];
            body[..body.find("</text>").unwrap()].trim().to_owned()
        })
        .collect();
    let start = texts.iter().position(|t| t == "Number at risk").unwrap();
    // --break 25 over [0, 157.3]: ticks 0, 25, ..., 150.
    let ticks = [0, 25, 50, 75, 100, 125, 150];
    let groups = ["1", "2", "3", "large", "small"];
    let mut k = start + 1;
    for g in groups {
        assert_eq!(texts[k], g, "risk table row label");
        let drawn: Vec<i64> = texts[k + 1..k + 1 + ticks.len()]
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        let sql: Vec<String> = ticks
            .iter()
            .map(|t| format!("km_survival(os_months, died, {t})['n_risk']"))
            .collect();
        let o = run(&[
            "--format",
            "csv",
            "-c",
            &format!(
                "SELECT {} FROM demo.net_cohort WHERE grade = '{g}'",
                sql.join(", ")
            ),
        ]);
        let want: Vec<i64> = stdout(&o)
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(drawn, want, "number at risk of grade {g}");
        k += 1 + ticks.len();
    }
}

#[test]
fn terminal_plot() {
    let o = run(&[
        "-c",
        "\\plot km --break 24 SELECT liver_mets, os_months, died FROM demo.net_cohort;",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Number at risk") && out.contains("Log-rank p = 0.155"),
        "{out}"
    );
    assert!(
        out.contains("false (n = 32, events = 18)") && out.contains("true (n = 71, events = 48)"),
        "{out}"
    );
}

/// `--set survql.convention=sas` gives what the per-call argument gives; a bad value is an
/// error before anything runs.
#[test]
fn session_settings_from_the_command_line() {
    let sql = "SELECT km_summary(os_months, died)['lower'] FROM demo.net_cohort";
    let set = run(&[
        "-q",
        "--format",
        "csv",
        "--set",
        "survql.convention=sas",
        "-c",
        sql,
    ]);
    let per_call = run(&[
        "-q",
        "--format",
        "csv",
        "-c",
        "SELECT km_summary(os_months, died, 'sas')['lower'] FROM demo.net_cohort",
    ]);
    assert!(set.status.success(), "{}", stderr(&set));
    let value = |o: &std::process::Output| stdout(o).lines().nth(1).unwrap_or("").to_owned();
    assert_eq!(value(&set), "20.6");
    assert_eq!(value(&set), value(&per_call));
    let help = stdout(&run(&["-q", "-c", "\\h convention"]));
    assert!(
        help.contains("SET survql.convention") && help.contains("CAMIS"),
        "{help}"
    );
    let bad = run(&["--set", "survql.convention=minitab", "-c", "SELECT 1"]);
    assert!(
        !bad.status.success() && stderr(&bad).contains("survql.convention must be one of"),
        "{}",
        stderr(&bad)
    );
}

/// `\plot curve` draws curves the query computed: km_curve by group gives the figure of
/// `\plot km` on the raw rows (the same grid and number-at-risk table, no p-value);
/// cox_curve profiles have no number-at-risk table.
#[test]
fn computed_curve_plots() {
    let raw = run(&[
        "-q",
        "-c",
        "\\plot km --break 24 SELECT liver_mets, os_months, died FROM demo.net_cohort;",
    ]);
    let computed = run(&[
        "-q",
        "-c",
        "\\plot curve --break 24 SELECT liver_mets, km_curve(os_months, died) FROM demo.net_cohort GROUP BY liver_mets;",
    ]);
    assert!(computed.status.success(), "{}", stderr(&computed));
    let raw = stdout(&raw).replace("  Log-rank p = 0.155\n", "");
    assert_eq!(stdout(&computed), raw);
    let profiles = "SELECT 'grade 1' AS profile, cox_curve(os_months, died, age, grade, 'age=60, grade=1') FROM demo.net_cohort \
                    UNION ALL SELECT 'grade 3', cox_curve(os_months, died, age, grade, 'age=60, grade=3') FROM demo.net_cohort";
    let o = run(&["-q", "-c", &format!("\\plot curve {profiles};")]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("* grade 1\n  o grade 3") && !out.contains("Number at risk"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("cox.svg");
    let o = run(&[
        "-q",
        "--plot",
        "curve --ci",
        "-o",
        svg.to_str().unwrap(),
        "-c",
        profiles,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("grade 3") && text.contains("<polygon"),
        "no band in the SVG"
    );
    let o = run(&[
        "-c",
        "\\plot curve SELECT 'a', km_curve(os_months, died) FROM demo.net_cohort UNION ALL SELECT 'a', km_curve(ttp_months, progressed) FROM demo.net_cohort;",
    ]);
    assert!(
        stderr(&o).contains("two rows have the label 'a'"),
        "{}",
        stderr(&o)
    );
    // cox_adjusted_curve: one curve per level of grp from one list (a row label prefixes it).
    let o = run(&[
        "-q",
        "-c",
        "\\plot curve SELECT cox_adjusted_curve(os_months, died, liver_mets, age) FROM demo.net_cohort;",
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("* false\n  o true") && !out.contains("Number at risk"),
        "{out}"
    );
    let o = run(&[
        "-q",
        "-c",
        "\\plot curve SELECT sex, cox_adjusted_curve(os_months, died, liver_mets, age) FROM demo.net_cohort GROUP BY sex;",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).matches(": true").count() == 2, "{}", stdout(&o));
    let o = run(&["-c", "\\plot curve SELECT 'a', 1;"]);
    assert!(
        stderr(&o).contains("the last column must be a curve"),
        "{}",
        stderr(&o)
    );
}

/// `\plot forest`: each term of the model with exp(coef) and the limits cox_ph reports;
/// survreg's time ratios are exp of its (coefficient-scale) limits, without the intercept.
#[test]
fn forest_plots() {
    let model = "cox_ph(os_months, died, age, liver_mets)";
    let o = run(&[
        "-q",
        "-c",
        &format!("\\plot forest SELECT {model} FROM demo.net_cohort;"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let o = run(&[
        "--format",
        "csv",
        "-c",
        &format!("SELECT t['exp_coef'], t['lower'], t['upper'] FROM (SELECT unnest({model}['terms']) AS t FROM demo.net_cohort) WHERE t['term'] = 'liver_metsTRUE'"),
    ]);
    let v: Vec<f64> = stdout(&o)
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    let want = format!("{:.2} ({:.2}-{:.2})", v[0], v[1], v[2]);
    let line = out
        .lines()
        .find(|l| l.starts_with("liver_metsTRUE"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains(&want), "{line} lacks {want}");
    let o = run(&[
        "-q",
        "-c",
        "\\plot forest SELECT survreg(os_months, died, age) FROM demo.net_cohort;",
    ]);
    let out = stdout(&o);
    assert!(
        out.contains("TR (95% CI)") && !out.contains("(Intercept)"),
        "{out}"
    );
    let o = run(&["-c", "\\plot forest SELECT 1;"]);
    assert!(
        stderr(&o).contains("the query must return a model"),
        "{}",
        stderr(&o)
    );
}

/// `\plot cif`: progression with death as the competing event, by liver metastases; the
/// p-value shown is gray_test's, the curves cif_curve's; `--plot "cif --stacked"` writes
/// the causes of one sample.
#[test]
fn cumulative_incidence_plots() {
    let status = "CASE WHEN progressed = 1 THEN 1 WHEN died = 1 THEN 2 ELSE 0 END";
    let q = format!("SELECT liver_mets, ttp_months, {status} FROM demo.net_cohort");
    let o = run(&["-c", &format!("\\plot cif --break 12 {q};")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Cumulative incidence") && out.contains("Number at risk"),
        "{out}"
    );
    let shown: f64 = out
        .split("Gray's test p = ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no p-value: {out}"))
        .parse()
        .unwrap();
    let o = run(&[
        "--format",
        "csv",
        "-c",
        &format!(
            "SELECT gray_test(ttp_months, {status}, 1, liver_mets)['p_value'] FROM demo.net_cohort"
        ),
    ]);
    let p: f64 = stdout(&o).lines().nth(1).unwrap().parse().unwrap();
    assert!(
        (shown - p).abs() < 0.0005 + 1e-12,
        "shown {shown}, gray_test {p}"
    );
    // Cause 2 and the stacked causes of the whole cohort, as figures.
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("cif.svg");
    let o = run(&[
        "-c",
        &format!("\\plot cif --cause 2 --ci -o {} {q};", svg.display()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    // (The SVG escapes the apostrophe.)
    assert!(
        text.contains("Cumulative incidence") && text.contains("s test p = "),
        "{text}"
    );
    let stacked = dir.path().join("stacked.png");
    let o = run(&[
        "--plot",
        "cif --stacked",
        "-o",
        stacked.to_str().unwrap(),
        "-c",
        &format!("SELECT ttp_months, {status} FROM demo.net_cohort"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(&std::fs::read(&stacked).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    // --stacked with a group column is an error that says why.
    let o = run(&["-c", &format!("\\plot cif --stacked {q};")]);
    assert!(
        stderr(&o).contains("--stacked draws the causes of one sample"),
        "{}",
        stderr(&o)
    );
}

/// `\plot residuals` and `\plot zph`: a Cox model's diagnostic figures from the window
/// functions' per-row values, in the terminal and as SVG; their errors.
#[test]
fn diagnostic_plots() {
    let martingale = "SELECT age, cox_residual(os_months, died, age, liver_mets) OVER () AS martingale FROM demo.net_cohort";
    let o = run(&["-q", "-c", &format!("\\plot residuals {martingale};")]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.starts_with("martingale\n")
            && out.contains("* lowess smoother")
            && out.contains(" age\n"),
        "{out}"
    );
    let zph = "SELECT os_months, cox_residual(os_months, died, age, liver_mets, 'type=scaledsch, term=age') OVER () AS age FROM demo.net_cohort";
    let o = run(&["-q", "-c", &format!("\\plot zph {zph};")]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.starts_with("Beta(t) for age\n")
            && out.contains("Time (KM scale)")
            && out.contains("- least-squares line"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    for (kind, query, extra) in [
        ("residuals", martingale, ""),
        ("zph", zph, "--transform rank"),
    ] {
        let svg = dir.path().join(format!("{kind}.svg"));
        let o = run(&[
            "-q",
            "-c",
            &format!("\\plot {kind} {extra} -o {} {query};", svg.display()),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(
            text.contains("lowess") && text.matches("<circle").count() > 50,
            "{kind}: {text:.300}"
        );
    }
    // The calibration plot: every risk group with its limits and the diagonal.
    let o = run(&[
        "-q",
        "-c",
        "\\plot calibration SELECT calibration(os_months, died, 1 - exp(-12 * exp(-4.5 + 0.02 * age)), 12, 5) FROM demo.net_cohort;",
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.starts_with("Observed risk (Kaplan-Meier)\n")
            && out.matches('o').count() >= 5
            && out.contains("- perfect calibration"),
        "{out}"
    );
    for (args, want) in [
        (
            "\\plot residuals SELECT age FROM demo.net_cohort;",
            "the query must return two columns",
        ),
        (
            "\\plot zph --transform weekly SELECT 1, 2;",
            "--transform must be km, rank, identity or log",
        ),
        (
            "\\plot zph SELECT os_months, CAST(NULL AS DOUBLE) FROM demo.net_cohort;",
            "fewer than two rows with a residual",
        ),
        (
            "\\plot residuals SELECT grade, age FROM demo.net_cohort;",
            "column 'grade' must be numeric",
        ),
    ] {
        let o = run(&["-c", args]);
        assert!(stderr(&o).contains(want), "{args}: {}", stderr(&o));
    }
}

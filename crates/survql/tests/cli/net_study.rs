use super::*;

const TOL: f64 = 1e-9;

/// Rows printed by the script (ndjson), keyed by the title line they follow.
fn script_rows() -> Vec<(String, serde_json::Map<String, Value>)> {
    let figs = tempfile::tempdir().unwrap();
    let o = run(&[
        "--format",
        "ndjson",
        "-q",
        "--figures",
        figs.path().to_str().unwrap(),
        "-f",
        "sql/net_study.sql",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "figure1_os.svg",
        "figure2_os_by_treatment.svg",
        "figure3_os_by_grade.svg",
        "figure4_ttp.svg",
        "figure5_ttp_by_liver.svg",
    ] {
        let text = std::fs::read_to_string(figs.path().join(f))
            .unwrap_or_else(|_| panic!("{f} not written"));
        assert!(text.contains("Number at risk"), "{f}");
    }
    // The forest plot of the multivariable Cox model: every term with its HR (95% CI).
    let forest = std::fs::read_to_string(figs.path().join("figure6_cox_forest.svg"))
        .expect("figure6_cox_forest.svg written");
    assert!(
        forest.contains("HR (95% CI)") && forest.contains("liver_metsTRUE"),
        "{forest}"
    );
    let mut title = String::new();
    let mut rows = vec![];
    for line in stdout(&o).lines() {
        if line.starts_with("====") {
            title = line.trim_matches('=').trim().to_owned();
        } else if line.starts_with('{') {
            let v: Value = serde_json::from_str(line).unwrap();
            rows.push((title.clone(), v.as_object().unwrap().clone()));
        }
    }
    rows
}

struct Check {
    failures: Vec<String>,
    n: usize,
}

impl Check {
    fn num(&mut self, what: &str, got: &Value, want: &Value, tol: f64) {
        self.n += 1;
        let ok = match (got.as_f64(), want.as_f64()) {
            (Some(a), Some(b)) => close(a, b, tol),
            (None, None) => got.is_null() && want.is_null(),
            _ => false,
        };
        if !ok {
            self.failures
                .push(format!("{what}: printed {got}, R {want}"));
        }
    }
}

fn find<'a>(
    rows: &'a [(String, serde_json::Map<String, Value>)],
    table: &str,
    key: &str,
    value: &str,
    level: Option<&str>,
) -> &'a serde_json::Map<String, Value> {
    rows.iter()
        .find(|(t, r)| {
            t.starts_with(table) && r[key] == value && level.is_none_or(|l| r["level"] == l)
        })
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no row {key} = {value} {level:?} in {table}"))
}

#[test]
fn printed_numbers_match_r() {
    let rows = script_rows();
    let g = golden();
    let mut c = Check {
        failures: vec![],
        n: 0,
    };
    let group = |id: &str, label: &Value| -> Value {
        entry(&g, id)["result"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| &x["group"] == label || label.is_null())
            .unwrap()
            .clone()
    };

    // Abstract.
    let abs = |m: &str| find(&rows, "Abstract", "measure", m, None).clone();
    let os = group("net_cohort/km/os/overall", &Value::Null);
    let r = abs("median OS (months)");
    c.num("median OS", &r["estimate"], &os["median"]["estimate"], TOL);
    c.num(
        "median OS lower",
        &r["lower"],
        &os["median"]["ci"]["log"]["lower"],
        TOL,
    );
    c.num(
        "median OS upper",
        &r["upper"],
        &os["median"]["ci"]["log"]["upper"],
        TOL,
    );
    let r = abs("3-year OS rate");
    c.num("3-year OS", &r["estimate"], &os["at_times"]["surv"][1], TOL);
    c.num(
        "3-year OS lower",
        &r["lower"],
        &os["at_times"]["ci"]["log"]["lower"][1],
        TOL,
    );
    c.num(
        "3-year OS upper",
        &r["upper"],
        &os["at_times"]["ci"]["log"]["upper"][1],
        TOL,
    );
    let fu = group("net_cohort/followup/os/overall", &Value::Null);
    let r = abs("median follow-up (reverse KM, months)");
    c.num("follow-up", &r["estimate"], &fu["median"]["estimate"], TOL);
    c.num(
        "follow-up lower",
        &r["lower"],
        &fu["median"]["ci"]["log"]["lower"],
        TOL,
    );
    c.num(
        "follow-up upper",
        &r["upper"],
        &fu["median"]["ci"]["log"]["upper"],
        TOL,
    );
    let ttp = group("net_cohort/km/ttp/overall", &Value::Null);
    let r = abs("median TTP, systemic patients (months)");
    c.num(
        "median TTP",
        &r["estimate"],
        &ttp["median"]["estimate"],
        TOL,
    );
    c.num(
        "median TTP lower",
        &r["lower"],
        &ttp["median"]["ci"]["log"]["lower"],
        TOL,
    );
    c.num(
        "median TTP upper",
        &r["upper"],
        &ttp["median"]["ci"]["log"]["upper"],
        TOL,
    );
    let r = abs("1-year progression-free rate");
    c.num(
        "1-year PFS",
        &r["estimate"],
        &ttp["at_times"]["surv"][2],
        TOL,
    );
    c.num(
        "1-year PFS lower",
        &r["lower"],
        &ttp["at_times"]["ci"]["log"]["lower"][2],
        TOL,
    );
    for (m, id) in [
        (
            "ORR (CR+PR), evaluable systemic patients",
            "net_cohort/prop_ci/orr",
        ),
        (
            "DCR (CR+PR+SD), evaluable systemic patients",
            "net_cohort/prop_ci/dcr",
        ),
    ] {
        let r = abs(m);
        let w = &entry(&g, id)["result"];
        c.num(m, &r["estimate"], &w["estimate"], TOL);
        c.num(m, &r["lower"], &w["clopper_pearson"]["lower"], TOL);
        c.num(m, &r["upper"], &w["clopper_pearson"]["upper"], TOL);
    }

    // Table 2: per level, against R's by-variable fits; p where the levels are R's.
    // (characteristic, R's by-variable fit, (printed level, R group) pairs, R's log-rank entry)
    type Levels<'a> = (&'a str, &'a str, Vec<(&'a str, Value)>, Option<&'a str>);
    let levels: [Levels; 5] = [
        (
            "Sex",
            "by_sex",
            vec![("F", "F".into()), ("M", "M".into())],
            Some("net_cohort/logrank/os/by_sex"),
        ),
        (
            "Origin",
            "by_origin",
            ["gi", "lung", "other", "pancreas", "unknown"]
                .iter()
                .map(|l| (*l, Value::from(*l)))
                .collect(),
            Some("net_cohort/logrank/os/by_origin"),
        ),
        (
            "Liver metastasis",
            "by_liver_mets",
            vec![("absent", false.into()), ("present", true.into())],
            Some("net_cohort/logrank/os/by_liver_mets"),
        ),
        (
            "Grade",
            "by_grade",
            ["1", "2", "3", "large", "small"]
                .iter()
                .map(|l| (*l, Value::from(*l)))
                .collect(),
            Some("net_cohort/logrank/os/by_grade"),
        ),
        (
            "Treatment modality",
            "by_treatment",
            ["both", "local", "systemic"]
                .iter()
                .map(|l| (*l, Value::from(*l)))
                .collect(),
            None,
        ),
    ];
    for (ch, by, lv, lr) in &levels {
        for (label, gv) in lv {
            let r = find(&rows, "Table 2", "characteristic", ch, Some(label));
            let w = group(&format!("net_cohort/km/os/{by}"), gv);
            let what = format!("Table 2 {ch} {label}");
            c.num(&format!("{what} n"), &r["n"], &w["n"], 0.0);
            c.num(&format!("{what} deaths"), &r["deaths"], &w["events"], 0.0);
            c.num(
                &format!("{what} median"),
                &r["median_os"],
                &w["median"]["estimate"],
                TOL,
            );
            c.num(
                &format!("{what} lcl"),
                &r["lcl"],
                &w["median"]["ci"]["log"]["lower"],
                TOL,
            );
            c.num(
                &format!("{what} ucl"),
                &r["ucl"],
                &w["median"]["ci"]["log"]["upper"],
                TOL,
            );
            c.num(
                &format!("{what} 3y"),
                &r["os_3y"],
                &w["at_times"]["surv"][1],
                TOL,
            );
            if let Some(id) = lr {
                c.num(
                    &format!("{what} p"),
                    &r["logrank_p"],
                    &entry(&g, id)["result"]["p"],
                    TOL,
                );
            }
        }
    }

    // Table 2's Gehan-Breslow column: lifelines' multivariate_logrank_test(weightings =
    // 'wilcoxon') on the same levels (tests/oracle/net_study_gehan.py); every row of a
    // characteristic carries its test.
    let gehan: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("tests/data/oracle/net_study_gehan.json"))
            .unwrap(),
    )
    .unwrap();
    let gehan = gehan["gehan_p"].as_object().unwrap();
    assert_eq!(gehan.len(), 7);
    for (ch, want) in gehan {
        let printed: Vec<_> = rows
            .iter()
            .filter(|(t, r)| t.starts_with("Table 2") && r["characteristic"] == ch.as_str())
            .collect();
        assert!(!printed.is_empty(), "Table 2 has no rows for {ch}");
        for (_, r) in printed {
            c.num(
                &format!("Table 2 {ch} Gehan p"),
                &r["gehan_p"],
                &want["p"],
                TOL,
            );
        }
    }

    // Table 5: TTP overall and by liver metastasis.
    let all = find(&rows, "Table 5", "characteristic", "All", None);
    c.num(
        "Table 5 median TTP",
        &all["median_ttp"],
        &ttp["median"]["estimate"],
        TOL,
    );
    c.num(
        "Table 5 1-year PFS",
        &all["pfs_1y"],
        &ttp["at_times"]["surv"][2],
        TOL,
    );
    for (label, gv) in [
        ("absent", Value::from(false)),
        ("present", Value::from(true)),
    ] {
        let r = find(
            &rows,
            "Table 5",
            "characteristic",
            "Liver metastasis",
            Some(label),
        );
        let w = group("net_cohort/km/ttp/by_liver_mets", &gv);
        c.num(
            &format!("Table 5 TTP {label}"),
            &r["median_ttp"],
            &w["median"]["estimate"],
            TOL,
        );
        c.num(
            &format!("Table 5 TTP lcl {label}"),
            &r["ttp_lcl"],
            &w["median"]["ci"]["log"]["lower"],
            TOL,
        );
        c.num(
            &format!("Table 5 TTP ucl {label}"),
            &r["ttp_ucl"],
            &w["median"]["ci"]["log"]["upper"],
            TOL,
        );
        c.num(
            &format!("Table 5 PFS {label}"),
            &r["pfs_1y"],
            &w["at_times"]["surv"][2],
            TOL,
        );
        c.num(
            &format!("Table 5 TTP p {label}"),
            &r["ttp_p"],
            &entry(&g, "net_cohort/logrank/ttp/by_liver_mets")["result"]["p"],
            TOL,
        );
    }

    // Table 6: response rates and tests.
    let all = find(&rows, "Table 6", "characteristic", "All", None);
    c.num(
        "Table 6 ORR",
        &all["orr"],
        &entry(&g, "net_cohort/prop_ci/orr")["result"]["estimate"],
        TOL,
    );
    c.num(
        "Table 6 DCR upper",
        &all["dcr_ucl"],
        &entry(&g, "net_cohort/prop_ci/dcr")["result"]["clopper_pearson"]["upper"],
        TOL,
    );
    for (label, suffix) in [
        ("present", "liver_mets_true"),
        ("absent", "liver_mets_false"),
    ] {
        let r = find(
            &rows,
            "Table 6",
            "characteristic",
            "Liver metastasis",
            Some(label),
        );
        for (what, col, lo, hi) in [
            ("orr", "orr", "orr_lcl", "orr_ucl"),
            ("dcr", "dcr", "dcr_lcl", "dcr_ucl"),
        ] {
            let w = &entry(&g, &format!("net_cohort/prop_ci/{what}/{suffix}"))["result"];
            c.num(
                &format!("Table 6 {what} {label}"),
                &r[col],
                &w["estimate"],
                TOL,
            );
            c.num(
                &format!("Table 6 {what} lcl {label}"),
                &r[lo],
                &w["clopper_pearson"]["lower"],
                TOL,
            );
            c.num(
                &format!("Table 6 {what} ucl {label}"),
                &r[hi],
                &w["clopper_pearson"]["upper"],
                TOL,
            );
        }
        for (col, id) in [
            (
                "orr_chisq_p",
                "net_cohort/chisq/orr_vs_liver_mets/correct_true",
            ),
            ("orr_fisher_p", "net_cohort/fisher/orr_vs_liver_mets"),
            (
                "dcr_chisq_p",
                "net_cohort/chisq/dcr_vs_liver_mets/correct_true",
            ),
            ("dcr_fisher_p", "net_cohort/fisher/dcr_vs_liver_mets"),
        ] {
            c.num(
                &format!("Table 6 {col} liver"),
                &r[col],
                &entry(&g, id)["result"]["p"],
                TOL,
            );
        }
    }
    let r = find(
        &rows,
        "Table 6",
        "characteristic",
        "Serum NSE",
        Some("elevated"),
    );
    for (col, id) in [
        (
            "orr_chisq_p",
            "net_cohort/chisq/orr_vs_nse_elevated/correct_true",
        ),
        ("orr_fisher_p", "net_cohort/fisher/orr_vs_nse_elevated"),
        (
            "dcr_chisq_p",
            "net_cohort/chisq/dcr_vs_nse_elevated/correct_true",
        ),
        ("dcr_fisher_p", "net_cohort/fisher/dcr_vs_nse_elevated"),
    ] {
        c.num(
            &format!("Table 6 {col} NSE"),
            &r[col],
            &entry(&g, id)["result"]["p"],
            TOL,
        );
    }

    // Cox model on grade and liver metastasis.
    let cox = &entry(&g, "net_cohort/cox/os/grade_liver_mets/efron")["result"];
    for t in cox["terms"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let r = find(
            &rows,
            "Cox model: OS on grade and liver",
            "term",
            name,
            None,
        );
        for (col, key) in [
            ("coef", "coef"),
            ("hazard_ratio", "exp_coef"),
            ("lcl", "lower_95"),
            ("ucl", "upper_95"),
            ("se", "se"),
            ("p_value", "p"),
        ] {
            c.num(&format!("Cox {name} {col}"), &r[col], &t[key], 1e-6);
        }
    }
    assert!(
        c.failures.is_empty(),
        "{} of {} printed numbers differ from R:\n{}",
        c.failures.len(),
        c.n,
        c.failures.join("\n")
    );
    assert!(c.n > 150, "only {} numbers checked", c.n);
}

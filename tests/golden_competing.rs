//! Competing risks against R (`tests/oracle/competing_risks.R`): the Aalen-Johansen cumulative
//! incidence (`survfit(Surv(time, factor(status)) ~ 1)`: pstate, std.err, limits; and its
//! `summary(times =, extend = TRUE)`) and Gray's test (`cmprsk::cuminc()$Tests`), through SQL
//! under every layout, with delayed entry and case weights; the estimator directly too.

use serde_json::Value;
use survql_stats::{aalen_johansen, CompetingCount, ConfType};
use survql_testkit::{
    covariate_list, golden_f64, new_context, query_json, query_result, register_golden_tables,
    run_configs, Comparison, RunConfig,
};

/// Closed-form statistics: relative error at most 1e-9.
const TOL: f64 = 1e-9;

fn competing_entry(entry: &Value) -> bool {
    matches!(
        entry["kind"].as_str(),
        Some("cif_curve" | "cif_at" | "gray_test" | "finegray")
    )
}

fn check_curve(cmp: &mut Comparison, id: &str, got: &[Value], want: &Value) {
    let n = want["time"].as_array().unwrap().len();
    if got.len() != n {
        return cmp.fail(format!("{id}: {} times, want {n}", got.len()));
    }
    for (i, item) in got.iter().enumerate() {
        let at = format!("{id} [{i}]");
        for key in ["time", "cif", "std_err", "lower", "upper"] {
            cmp.num(&format!("{at} {key}"), &item[key], &want[key][i], TOL);
        }
        for key in ["n_risk", "n_event"] {
            cmp.count(&format!("{at} {key}"), &item[key], &want[key][i]);
        }
    }
}

async fn check_sql(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let cause = input["cause"].as_i64().unwrap();
    let conf = || {
        format!(
            "'{}', {}",
            input["conf_type"].as_str().unwrap(),
            input["conf_level"].as_f64().unwrap()
        )
    };
    // Delayed entry and weights: surv(entry, time, status[, weight]) in place of (time,
    // status), a NULL entry for weights alone.
    let response = match (input["entry"].as_str(), input["weight"].as_str()) {
        (Some(e), Some(w)) => format!("surv({e}, time, status, {w})"),
        (None, Some(w)) => format!("surv(NULL, time, status, {w})"),
        (Some(e), None) => format!("surv({e}, time, status)"),
        (None, None) => "time, status".to_owned(),
    };
    if entry["kind"] == "finegray" {
        return check_finegray(ctx, table, entry, cmp, &id).await;
    }
    let call = match entry["kind"].as_str().unwrap() {
        "cif_curve" => format!("cif_curve({response}, {cause}, {})", conf()),
        "cif_at" => format!(
            "cif_at({response}, {cause}, {}, {})",
            input["at"].as_f64().unwrap(),
            conf()
        ),
        _ => format!("gray_test(time, status, {cause}, grp)"),
    };
    let sql = format!("SELECT {call} AS r FROM {table}");
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(err) => return cmp.fail(format!("{id}: {err}\n  {sql}")),
    };
    let r = &rows[0]["r"];
    let want = &entry["result"];
    match entry["kind"].as_str().unwrap() {
        "cif_curve" => check_curve(cmp, &id, r.as_array().map_or(&[], |v| v), want),
        "cif_at" => {
            for key in ["time", "cif", "std_err", "lower", "upper"] {
                cmp.num(&format!("{id} {key}"), &r[key], &want[key], TOL);
            }
        }
        _ => {
            if entry.get("error").is_some() {
                // The cause never occurs: no test (cmprsk has no row for it).
                cmp.num(
                    &format!("{id} statistic"),
                    &r["statistic"],
                    &survql_testkit::EXPECT_NULL,
                    TOL,
                );
                return;
            }
            cmp.num(
                &format!("{id} statistic"),
                &r["statistic"],
                &want["statistic"],
                TOL,
            );
            cmp.count(&format!("{id} df"), &r["df"], &want["df"]);
            cmp.num(&format!("{id} p"), &r["p_value"], &want["p"], TOL);
        }
    }
}

/// A `finegray` entry through `finegray_ph` (iterative fit: 1e-6).
async fn check_finegray(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    id: &str,
) {
    let tol = 1e-6;
    let input = &entry["input"];
    let covs = covariate_list(input);
    let sql = format!(
        "SELECT finegray_ph(time, status, {}, {}, 'conf_level={}') AS r FROM {table}",
        input["cause"], covs, input["conf_level"]
    );
    let Some(r) = query_result(ctx, &sql, cmp, id).await else {
        return;
    };
    let (r, w) = (&r, &entry["result"]);
    cmp.count(&format!("{id} n"), &r["n"], &w["n"]);
    cmp.count(&format!("{id} events"), &r["events"], &w["events"]);
    if r["converged"] != w["converged"] {
        cmp.fail(format!(
            "{id}: converged {}, want {}",
            r["converged"], w["converged"]
        ));
    }
    for (got, want) in [("loglik", "loglik"), ("loglik_null", "loglik_null")] {
        cmp.num(&format!("{id} {got}"), &r[got], &w[want], tol);
    }
    for (test, key) in [("lr", "lr"), ("wald", "wald")] {
        cmp.num(
            &format!("{id} {test}"),
            &r[&format!("{test}_chisq")],
            &w[key]["statistic"],
            tol,
        );
        cmp.count(&format!("{id} {test} df"), &r["lr_df"], &w[key]["df"]);
        cmp.num(
            &format!("{id} {test} p"),
            &r[&format!("{test}_p")],
            &w[key]["p"],
            tol,
        );
    }
    let terms = r["terms"].as_array().cloned().unwrap_or_default();
    let want_terms = w["terms"].as_array().unwrap();
    if terms.len() != want_terms.len() {
        return cmp.fail(format!(
            "{id}: {} terms, want {}",
            terms.len(),
            want_terms.len()
        ));
    }
    for (g, e) in terms.iter().zip(want_terms) {
        let tid = format!("{id} [{}]", e["name"].as_str().unwrap());
        if g["term"] != e["name"] {
            cmp.fail(format!("{tid}: term name {}", g["term"]));
        }
        for (got, want) in [
            ("coef", "coef"),
            ("exp_coef", "exp_coef"),
            ("se", "se"),
            ("z", "z"),
            ("p_value", "p"),
            ("lower", "lower"),
            ("upper", "upper"),
        ] {
            cmp.num(&format!("{tid} {got}"), &g[got], &e[want], tol);
        }
    }
}

async fn run(config: RunConfig, cmp: &mut Comparison) -> usize {
    let scratch = tempfile::tempdir().unwrap();
    let ctx = new_context(&config);
    let label = config.label();
    let mut checked = 0;
    let golden = register_golden_tables(&ctx, &config, scratch.path())
        .await
        .unwrap();
    for (table, entry) in golden.iter().filter(|(_, e)| competing_entry(e)) {
        check_sql(&ctx, table, entry, cmp, &label).await;
        checked += 1;
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn competing_risks_match_r() {
    let mut cmp = Comparison::default();
    for config in run_configs() {
        let n = run(config, &mut cmp).await;
        assert!(n >= 20, "only {n} competing-risk entries checked");
    }
    cmp.assert_ok("competing-risk golden entries");
}

/// The column `name` of an inline case as numbers.
fn column(data: &Value, name: &str) -> Vec<f64> {
    data[name]
        .as_array()
        .unwrap_or_else(|| panic!("column {name}"))
        .iter()
        .map(|v| golden_f64(v).unwrap())
        .collect()
}

/// Delayed entry and case weights (R: `survfit(Surv(entry, time, factor(status)) ~ 1, id =,
/// weights =)`), on the estimator itself.
#[test]
fn aalen_johansen_with_entry_and_weights_matches_r() {
    let path = survql_testkit::data_dir().join("oracle/competing_risks.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut cmp = Comparison::default();
    let mut checked = 0;
    for case in file["cases"].as_array().unwrap() {
        let data = &case["data"];
        for entry in case["entries"].as_array().unwrap() {
            if entry["kind"] != "cif_curve" {
                continue;
            }
            let input = &entry["input"];
            let time = column(data, "time");
            let status = column(data, "status");
            let n = time.len();
            let entries = match input["entry"].as_str() {
                Some(c) => column(data, c),
                None => vec![f64::NEG_INFINITY; n],
            };
            let weights = match input["weight"].as_str() {
                Some(c) => column(data, c),
                None => vec![1.0; n],
            };
            let counts: Vec<CompetingCount> = (0..n)
                .map(|i| CompetingCount {
                    entry: entries[i],
                    time: time[i],
                    status: status[i] as u32,
                    weight: weights[i],
                    count: 1,
                })
                .collect();
            let curve = aalen_johansen(&counts, input["cause"].as_u64().unwrap() as u32).unwrap();
            let conf = ConfType::parse(input["conf_type"].as_str().unwrap()).unwrap();
            let bands = curve.bands(conf, input["conf_level"].as_f64().unwrap());
            let num = |v: f64| {
                if v.is_finite() {
                    serde_json::json!(v)
                } else {
                    Value::Null
                }
            };
            let items: Vec<Value> = (0..curve.time.len())
                .map(|i| {
                    serde_json::json!({
                        "time": curve.time[i], "n_risk": curve.n_risk[i],
                        "n_event": curve.n_event[i], "cif": num(curve.cif[i]),
                        "std_err": num(curve.std_err[i]), "lower": num(bands.lower[i]),
                        "upper": num(bands.upper[i]),
                    })
                })
                .collect();
            check_curve(
                &mut cmp,
                entry["id"].as_str().unwrap(),
                &items,
                &entry["result"],
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} curves checked");
    cmp.assert_ok("Aalen-Johansen with delayed entry and weights");
}

/// The model matrix of a `finegray` entry: numeric columns as they are, text columns expanded
/// with treatment contrasts (levels in byte order, the first the reference), as R's
/// `model.matrix` and `cox_ph`.
fn model_matrix(data: &Value, covariates: &[Value]) -> Vec<Vec<f64>> {
    let mut x = vec![];
    for c in covariates {
        let name = c.as_str().unwrap();
        let values = data[name].as_array().unwrap();
        if values.iter().any(Value::is_string) {
            let text: Vec<&str> = values.iter().map(|v| v.as_str().unwrap()).collect();
            let mut levels = text.clone();
            levels.sort_unstable();
            levels.dedup();
            for level in &levels[1..] {
                x.push(
                    text.iter()
                        .map(|t| f64::from(u8::from(t == level)))
                        .collect(),
                );
            }
        } else {
            x.push(column(data, name));
        }
    }
    x
}

/// The Fine-Gray estimator itself against `cmprsk::crr` (`tests/oracle/finegray.R`): the
/// coefficients, crr's sandwich standard errors and the pseudo log-likelihoods.
#[test]
fn fine_gray_matches_cmprsk() {
    use survql_stats::{fine_gray, FineGrayData, FineGrayOptions};
    let path = survql_testkit::data_dir().join("oracle/finegray.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut cmp = Comparison::default();
    let mut checked = 0;
    for case in file["cases"].as_array().unwrap() {
        let data = &case["data"];
        for entry in case["entries"].as_array().unwrap() {
            let id = entry["id"].as_str().unwrap();
            let input = &entry["input"];
            let fg = FineGrayData {
                time: column(data, "time"),
                status: column(data, "status").iter().map(|&s| s as u32).collect(),
                x: model_matrix(data, input["covariates"].as_array().unwrap()),
            };
            let cause = input["cause"].as_u64().unwrap() as u32;
            let fit = fine_gray(&fg, cause, &FineGrayOptions::default());
            let want = &entry["result"];
            // Iterative fit: 1e-6 (DEVELOPERS.md).
            let tol = 1e-6;
            cmp.num(
                &format!("{id} loglik"),
                &serde_json::json!(fit.loglik),
                &want["loglik"],
                tol,
            );
            cmp.num(
                &format!("{id} loglik_null"),
                &serde_json::json!(fit.loglik_null),
                &want["loglik_null"],
                tol,
            );
            for (j, term) in want["terms"].as_array().unwrap().iter().enumerate() {
                let name = term["name"].as_str().unwrap();
                cmp.num(
                    &format!("{id} {name} coef"),
                    &serde_json::json!(fit.coef[j]),
                    &term["coef"],
                    tol,
                );
                cmp.num(
                    &format!("{id} {name} se"),
                    &serde_json::json!(fit.var.get(j, j).sqrt()),
                    &term["se"],
                    tol,
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} Fine-Gray entries");
    cmp.assert_ok("Fine-Gray against cmprsk::crr");
}

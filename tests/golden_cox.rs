//! Cox models against R's `coxph` and `cox.zph`: every `cox` and `cox_zph` entry of the golden
//! files, fitted through SQL. Iterative fits: relative error at most 1e-6.

use serde_json::Value;
use survql_testkit::{
    covariate_list, golden_f64, new_context, query_json, query_result, register_golden_tables,
    run_configs, Comparison, RunConfig,
};

const TOL: f64 = 1e-6;

/// Entries outside the SQL contract, with the reason (none at present).
fn unsupported(_entry: &Value) -> Option<&'static str> {
    None
}

fn where_clause(filter: Option<&str>) -> String {
    filter.map_or(String::new(), |f| format!(" WHERE {f}"))
}

/// The SQL call for a `cox` entry's input.
fn cox_call(input: &Value) -> String {
    let s = |k: &str| input[k].as_str().map(str::to_owned);
    let covs: Vec<String> = input["covariates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let mut opts = vec![format!(
        "ties={}",
        input["ties"].as_str().unwrap_or("efron")
    )];
    let weight = s("weight");
    match (input["robust_arg"].as_bool(), &weight) {
        // An explicit robust = (R's argument).
        (Some(r), _) => opts.push(format!("robust={r}")),
        // With weights the default is R's: robust when some weight is not a whole number.
        (None, Some(_)) => {}
        (None, None) => {
            if input["robust"].as_bool() == Some(true) {
                opts.push("robust=true".into());
            }
        }
    }
    let mut covs = covs.join(", ");
    // R's + cluster(id): the robust variance's clusters.
    if let Some(c) = s("cluster") {
        covs.push_str(&format!(", cluster({c})"));
    }
    let opts = opts.join(", ");
    if let Some(w) = weight {
        // Case weights: surv([entry or NULL,] time, event, weight) in place of time, event.
        let response = format!(
            "surv({}, {}, {}, {w})",
            s("start").unwrap_or_else(|| "NULL".into()),
            s("time").unwrap(),
            s("event").unwrap()
        );
        return match s("strata") {
            Some(strata) => format!("cox_ph_strat({response}, {strata}, {covs}, '{opts}')"),
            None => format!("cox_ph({response}, {covs}, '{opts}')"),
        };
    }
    match (s("start"), s("strata")) {
        (Some(start), _) => format!(
            "cox_ph_counting({start}, {}, {}, {covs}, '{opts}')",
            s("time").unwrap(),
            s("event").unwrap()
        ),
        (None, Some(strata)) => format!(
            "cox_ph_strat({}, {}, {strata}, {covs}, '{opts}')",
            s("time").unwrap(),
            s("event").unwrap()
        ),
        (None, None) => format!(
            "cox_ph({}, {}, {covs}, '{opts}')",
            s("time").unwrap(),
            s("event").unwrap()
        ),
    }
}

fn p_tol(want: &Value) -> f64 {
    match golden_f64(want) {
        Some(p) if p < 1e-12 => 1e-5,
        _ => TOL,
    }
}

async fn check_cox(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let sql = format!(
        "SELECT {} AS r FROM {table}{}",
        cox_call(input),
        where_clause(input["filter"].as_str())
    );
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(e) => return cmp.fail(format!("{id}: {e}\n  {sql}")),
    };
    let (r, w) = (&rows[0]["r"], &entry["result"]);
    cmp.count(&format!("{id} n"), &r["n"], &w["n"]);
    cmp.count(&format!("{id} events"), &r["events"], &w["nevent"]);
    cmp.count(
        &format!("{id} iterations"),
        &r["iterations"],
        &w["iterations"],
    );
    cmp.num(
        &format!("{id} loglik_null"),
        &r["loglik_null"],
        &w["loglik_null"],
        TOL,
    );
    cmp.num(&format!("{id} loglik"), &r["loglik"], &w["loglik"], TOL);
    let t = &w["tests"];
    cmp.num(
        &format!("{id} lr"),
        &r["lr_chisq"],
        &t["likelihood_ratio"]["statistic"],
        TOL,
    );
    cmp.count(
        &format!("{id} lr df"),
        &r["lr_df"],
        &t["likelihood_ratio"]["df"],
    );
    cmp.num(
        &format!("{id} lr p"),
        &r["lr_p"],
        &t["likelihood_ratio"]["p"],
        p_tol(&t["likelihood_ratio"]["p"]),
    );
    cmp.num(
        &format!("{id} wald"),
        &r["wald_chisq"],
        &t["wald"]["statistic"],
        TOL,
    );
    if t["wald"]["p"].is_array() {
        cmp.num(
            &format!("{id} wald p"),
            &r["wald_p"],
            &survql_testkit::EXPECT_NULL,
            TOL,
        );
    } else {
        cmp.num(
            &format!("{id} wald p"),
            &r["wald_p"],
            &t["wald"]["p"],
            p_tol(&t["wald"]["p"]),
        );
    }
    cmp.num(
        &format!("{id} score"),
        &r["score_chisq"],
        &t["score"]["statistic"],
        TOL,
    );
    cmp.num(
        &format!("{id} score p"),
        &r["score_p"],
        &t["score"]["p"],
        p_tol(&t["score"]["p"]),
    );
    let c = &w["concordance"];
    cmp.num(
        &format!("{id} concordance"),
        &r["concordance"],
        &c["concordance"],
        TOL,
    );
    cmp.num(
        &format!("{id} concordance se"),
        &r["concordance_se"],
        &c["std_err"],
        TOL,
    );
    let robust = input["robust"].as_bool() == Some(true);
    let terms = r["terms"].as_array().cloned().unwrap_or_default();
    let wt = w["terms"].as_array().unwrap();
    if terms.len() != wt.len() {
        return cmp.fail(format!("{id}: {} terms, want {}", terms.len(), wt.len()));
    }
    for (g, e) in terms.iter().zip(wt) {
        let tid = format!("{id} [{}]", e["name"].as_str().unwrap());
        if g["term"] != e["name"] {
            cmp.fail(format!("{tid}: term name {}", g["term"]));
        }
        cmp.num(&format!("{tid} coef"), &g["coef"], &e["coef"], TOL);
        cmp.num(
            &format!("{tid} exp(coef)"),
            &g["exp_coef"],
            &e["exp_coef"],
            TOL,
        );
        cmp.num(&format!("{tid} se"), &g["se"], &e["se"], TOL);
        if robust {
            cmp.num(
                &format!("{tid} robust se"),
                &g["robust_se"],
                &e["robust_se"],
                TOL,
            );
        }
        cmp.num(&format!("{tid} z"), &g["z"], &e["z"], TOL);
        cmp.num(&format!("{tid} p"), &g["p_value"], &e["p"], p_tol(&e["p"]));
        cmp.num(&format!("{tid} lower"), &g["lower"], &e["lower_95"], TOL);
        cmp.num(&format!("{tid} upper"), &g["upper"], &e["upper_95"], TOL);
    }
    let r_warns_infinite = entry["warnings"].as_array().is_some_and(|w| {
        w.iter()
            .any(|s| s.as_str().is_some_and(|s| s.contains("infinite")))
    });
    let ours_infinite = r["warning"]
        .as_str()
        .is_some_and(|s| s.contains("may be infinite"));
    if r_warns_infinite != ours_infinite {
        cmp.fail(format!(
            "{id}: R warns of an infinite coefficient: {r_warns_infinite}, survql: {}",
            r["warning"]
        ));
    }
}

/// Parses the model of a `cox_zph` entry's `fit` call:
/// `coxph(Surv(t, e) ~ a + b, data = d, ties = "efron")`.
fn zph_call(fit: &str, transform: &str, grouped: bool) -> (String, String) {
    let surv = &fit[fit.find("Surv(").unwrap() + 5..];
    let surv_args: Vec<&str> = surv[..surv.find(')').unwrap()]
        .split(',')
        .map(str::trim)
        .collect();
    let rhs = &fit[fit.find('~').unwrap() + 1..];
    let rhs = &rhs[..rhs.find(", data").unwrap()];
    let covs: Vec<&str> = rhs.split('+').map(str::trim).collect();
    let data = fit[fit.find("data = ").unwrap() + 7..]
        .split([',', ')'])
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let ties = if fit.contains("\"breslow\"") {
        "breslow"
    } else {
        "efron"
    };
    let opts = format!("'ties={ties}, transform={transform}, terms={grouped}'");
    // Surv(start, stop, event): counting-process data through surv(...).
    let response = match surv_args.as_slice() {
        [start, stop, event] => format!("surv({start}, {stop}, {event})"),
        _ => format!("{}, {}", surv_args[0], surv_args[1]),
    };
    let call = format!("cox_zph({response}, {}, {opts})", covs.join(", "));
    (call, data)
}

async fn check_zph(
    ctx: &datafusion::prelude::SessionContext,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) -> bool {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let fit = entry["input"]["fit"].as_str().unwrap();
    let w = &entry["result"];
    let (call, table) = zph_call(
        fit,
        w["transform"].as_str().unwrap(),
        w["terms_grouped"].as_bool().unwrap_or(true),
    );
    let sql = format!("SELECT {call} AS z FROM {table}");
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(e) => {
            cmp.fail(format!("{id}: {e}\n  {sql}"));
            return true;
        }
    };
    let z = &rows[0]["z"];
    cmp.num(
        &format!("{id} global chisq"),
        &z["global_chisq"],
        &w["global"]["chisq"],
        TOL,
    );
    cmp.count(
        &format!("{id} global df"),
        &z["global_df"],
        &w["global"]["df"],
    );
    cmp.num(
        &format!("{id} global p"),
        &z["global_p"],
        &w["global"]["p"],
        TOL,
    );
    let terms = z["terms"].as_array().cloned().unwrap_or_default();
    let wt = w["terms"].as_array().unwrap();
    if terms.len() != wt.len() {
        cmp.fail(format!("{id}: {} terms, want {}", terms.len(), wt.len()));
        return true;
    }
    for (g, e) in terms.iter().zip(wt) {
        let tid = format!("{id} [{}]", e["name"].as_str().unwrap());
        if g["term"] != e["name"] {
            cmp.fail(format!("{tid}: term name {}", g["term"]));
        }
        cmp.num(&format!("{tid} chisq"), &g["chisq"], &e["chisq"], TOL);
        cmp.count(&format!("{tid} df"), &g["df"], &e["df"]);
        cmp.num(&format!("{tid} p"), &g["p_value"], &e["p"], TOL);
    }
    true
}

/// A `firth` entry (`tests/oracle/firth.py`, firthmodels) through `cox_ph(..., 'firth=true')`.
async fn check_firth(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let covs = covariate_list(input);
    let sql = format!(
        "SELECT cox_ph(time, event, {}, 'firth=true, conf_level={}') AS r FROM {table}",
        covs, input["conf_level"]
    );
    let Some(r) = query_result(ctx, &sql, cmp, &id).await else {
        return;
    };
    let (r, w) = (&r, &entry["result"]);
    cmp.count(&format!("{id} n"), &r["n"], &w["n"]);
    cmp.count(&format!("{id} events"), &r["events"], &w["events"]);
    if r["ties"] != "breslow (firth)" {
        cmp.fail(format!("{id}: ties {}", r["ties"]));
    }
    cmp.num(&format!("{id} loglik"), &r["loglik"], &w["loglik"], TOL);
    cmp.num(
        &format!("{id} loglik_null"),
        &r["loglik_null"],
        &w["loglik_null"],
        TOL,
    );
    let terms = r["terms"].as_array().cloned().unwrap_or_default();
    let wt = w["terms"].as_array().unwrap();
    if terms.len() != wt.len() {
        return cmp.fail(format!("{id}: {} terms, want {}", terms.len(), wt.len()));
    }
    for (g, e) in terms.iter().zip(wt) {
        let tid = format!("{id} [{}]", e["name"].as_str().unwrap());
        for (got, want) in [
            ("coef", "coef"),
            ("se", "se"),
            ("p_value", "p"),
            ("lower", "lower"),
            ("upper", "upper"),
        ] {
            cmp.num(&format!("{tid} {got}"), &g[got], &e[want], TOL);
        }
    }
}

/// A `survreg` entry (`tests/oracle/survreg.R`) through `survreg(...)`.
async fn check_survreg(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let covs = covariate_list(input);
    // survreg(Surv(time, event) ~ ... + strata(s)) is survreg_strat(time, event, s, ...).
    let (function, strata) = match input["strata"].as_str() {
        Some(s) => ("survreg_strat", format!("{s}, ")),
        None => ("survreg", String::new()),
    };
    let sql = format!(
        "SELECT {function}(time, event, {strata}{}, 'dist={}, conf_level={}') AS r FROM {table}",
        covs,
        input["dist"].as_str().unwrap(),
        input["conf_level"]
    );
    let Some(r) = query_result(ctx, &sql, cmp, &id).await else {
        return;
    };
    let (r, w) = (&r, &entry["result"]);
    cmp.count(&format!("{id} n"), &r["n"], &w["n"]);
    cmp.count(&format!("{id} events"), &r["events"], &w["events"]);
    cmp.count(&format!("{id} df"), &r["df"], &w["df"]);
    // R converged on every entry, in survreg6's iterations from survreg.fit's start.
    if r["converged"] != serde_json::json!(true) || !r["warning"].is_null() {
        cmp.fail(format!(
            "{id}: converged {}, warning {}; R converged",
            r["converged"], r["warning"]
        ));
    }
    cmp.count(
        &format!("{id} iterations"),
        &r["iterations"],
        &w["iterations"],
    );
    for (got, want) in [
        ("scale", "scale"),
        ("log_scale_se", "log_scale_se"),
        ("loglik", "loglik"),
        ("loglik_null", "loglik_null"),
        ("chisq", "chisq"),
        ("p_value", "p"),
    ] {
        let want = if w[want].is_null() {
            &survql_testkit::EXPECT_NULL
        } else {
            &w[want]
        };
        cmp.num(&format!("{id} {got}"), &r[got], want, TOL);
    }
    if let Some(want) = w["strata"].as_array() {
        let got = r["strata"].as_array().cloned().unwrap_or_default();
        if got.len() != want.len() {
            cmp.fail(format!("{id}: {} strata, want {}", got.len(), want.len()));
        }
        for (g, e) in got.iter().zip(want) {
            let sid = format!("{id} [stratum {}]", e["stratum"]);
            // A numeric stratum column of the inline data (DOUBLE) is labelled "1.0".
            let number = |v: &Value| v.as_str().and_then(|t| t.parse::<f64>().ok());
            if g["stratum"] != e["stratum"] && number(&g["stratum"]) != number(&e["stratum"]) {
                cmp.fail(format!("{sid}: stratum label {}", g["stratum"]));
            }
            cmp.num(&format!("{sid} scale"), &g["scale"], &e["scale"], TOL);
            cmp.num(
                &format!("{sid} log_scale_se"),
                &g["log_scale_se"],
                &e["log_scale_se"],
                TOL,
            );
        }
    }
    let terms = r["terms"].as_array().cloned().unwrap_or_default();
    let wt = w["terms"].as_array().unwrap();
    if terms.len() != wt.len() {
        return cmp.fail(format!("{id}: {} terms, want {}", terms.len(), wt.len()));
    }
    for (g, e) in terms.iter().zip(wt) {
        let tid = format!("{id} [{}]", e["name"].as_str().unwrap());
        if g["term"] != e["name"] {
            cmp.fail(format!("{tid}: term name {}", g["term"]));
        }
        for (got, want) in [
            ("coef", "coef"),
            ("se", "se"),
            ("z", "z"),
            ("lower", "lower"),
            ("upper", "upper"),
        ] {
            cmp.num(&format!("{tid} {got}"), &g[got], &e[want], TOL);
        }
        cmp.num(&format!("{tid} p"), &g["p_value"], &e["p"], p_tol(&e["p"]));
    }
}

/// The SQL of a `cox_curve` entry (`tests/oracle/cox_curve.R`): `cox_curve` or, with strata,
/// `cox_curve_strat`, the profile and options in the trailing string.
fn curve_sql(table: &str, input: &Value) -> String {
    let s = |k: &str| input[k].as_str();
    let response = match (s("start"), s("weight")) {
        (None, None) => "time, event".to_owned(),
        (start, weight) => format!(
            "surv({}, time, event{})",
            start.unwrap_or("NULL"),
            weight.map_or(String::new(), |w| format!(", {w}"))
        ),
    };
    let mut covariates = covariate_list(input);
    if let Some(c) = s("cluster") {
        covariates.push_str(&format!(", cluster({c})"));
    }
    let mut options = vec![];
    if let Some(profile) = input["profile"].as_object() {
        for (k, v) in profile {
            let key = if Some(k.as_str()) == s("strata") {
                "strata"
            } else {
                k.as_str()
            };
            let value = match v {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            options.push(format!("{key}={value}"));
        }
    }
    if input["centered"] == Value::Bool(false) {
        options.push("centered=false".to_owned());
    }
    options.push(format!("ties={}", s("ties").unwrap()));
    options.push(format!("conf_type={}", s("conf_type").unwrap()));
    options.push(format!("conf_level={}", input["conf_level"]));
    let options = options.join(", ");
    match s("strata") {
        None => format!("SELECT cox_curve({response}, {covariates}, '{options}') AS r FROM {table}"),
        Some(strata) => format!(
            "SELECT cox_curve_strat({response}, {strata}, {covariates}, '{options}') AS r FROM {table}"
        ),
    }
}

/// A `cox_curve` entry: every point of R's `survfit(coxfit, newdata)` curve.
async fn check_curve(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let sql = curve_sql(table, &entry["input"]);
    let Some(r) = query_result(ctx, &sql, cmp, &id).await else {
        return;
    };
    let points = r.as_array().cloned().unwrap_or_default();
    let want = &entry["result"];
    let n = want["time"].as_array().unwrap().len();
    if points.len() != n {
        return cmp.fail(format!("{id}: {} points, want {n}\n  {sql}", points.len()));
    }
    let fields: &[&str] = if want["lower"].is_null() {
        &["time", "surv", "cumhaz", "std_err"]
    } else {
        &["time", "surv", "cumhaz", "std_err", "lower", "upper"]
    };
    for (k, point) in points.iter().enumerate() {
        for &f in fields {
            let w = &want[f][k];
            let w = if w.is_null() {
                &survql_testkit::EXPECT_NULL
            } else {
                w
            };
            cmp.num(&format!("{id} [{k}] {f}"), &point[f], w, TOL);
        }
    }
    if want["lower"].is_null() && points.iter().any(|p| !p["lower"].is_null()) {
        cmp.fail(format!("{id}: conf_type=none gives limits"));
    }
}

async fn run(config: RunConfig, cmp: &mut Comparison) -> usize {
    let scratch = tempfile::tempdir().unwrap();
    let ctx = new_context(&config);
    let label = config.label();
    let mut checked = 0;
    let entries = register_golden_tables(&ctx, &config, scratch.path())
        .await
        .unwrap();
    for (table, entry) in &entries {
        match entry["kind"].as_str().unwrap() {
            "cox" if unsupported(entry).is_none() => {
                check_cox(&ctx, table, entry, cmp, &label).await;
                checked += 1;
            }
            "cox_zph" => checked += usize::from(check_zph(&ctx, entry, cmp, &label).await),
            "survreg" => {
                check_survreg(&ctx, table, entry, cmp, &label).await;
                checked += 1;
            }
            "firth" => {
                check_firth(&ctx, table, entry, cmp, &label).await;
                checked += 1;
            }
            "cox_curve" => {
                check_curve(&ctx, table, entry, cmp, &label).await;
                checked += 1;
            }
            _ => {}
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cox_matches_r() {
    let mut cmp = Comparison::default();
    for config in run_configs() {
        let n = run(config, &mut cmp).await;
        assert!(
            n >= 30,
            "only {n} Cox entries checked under {}",
            config.label()
        );
    }
    cmp.assert_ok("coxph / cox.zph golden entries");
}

//! Group comparisons against R: log-rank family (`survdiff`), proportion confidence intervals
//! (`binom.test`, `prop.test`), Pearson chi-square (`chisq.test`) and Fisher's exact test
//! (`fisher.test`), every entry of the golden files, through SQL; the weighted log-rank family
//! against R (`survdiff(rho =)`) and lifelines (`multivariate_logrank_test(weightings =)`).

use serde_json::Value;
use survql_testkit::{
    golden_f64, golden_label, new_context, query_json, register_golden_tables, run_configs,
    Comparison, RunConfig,
};

/// Closed-form statistics: relative error at most 1e-9.
const TOL: f64 = 1e-9;

/// P-values: 1e-9 relative where p >= 1e-12, 1e-6 below (issue 3).
fn p_tol(want: &Value) -> f64 {
    match golden_f64(want) {
        Some(p) if p < 1e-12 => 1e-6,
        _ => TOL,
    }
}

fn where_clause(conds: &[Option<String>]) -> String {
    let c: Vec<String> = conds.iter().flatten().map(|c| format!("({c})")).collect();
    if c.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", c.join(" AND "))
    }
}

/// Per group (in R's order): label, n, observed and expected, as survdiff's.
fn check_groups(cmp: &mut Comparison, id: &str, got: &Value, want: &[Value]) {
    let groups = got.as_array().cloned().unwrap_or_default();
    if groups.len() != want.len() {
        return cmp.fail(format!(
            "{id}: {} groups, want {}",
            groups.len(),
            want.len()
        ));
    }
    for (got, w) in groups.iter().zip(want) {
        let gid = format!("{id} [{}]", golden_label(&w["group"]));
        if got["grp"].as_str() != Some(golden_label(&w["group"]).as_str()) {
            cmp.fail(format!("{gid}: group order: got {}", got["grp"]));
        }
        cmp.count(&format!("{gid} n"), &got["n"], &w["n"]);
        cmp.num(
            &format!("{gid} observed"),
            &got["observed"],
            &w["observed"],
            TOL,
        );
        cmp.num(
            &format!("{gid} expected"),
            &got["expected"],
            &w["expected"],
            TOL,
        );
    }
}

async fn check_logrank(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let s = |k: &str| input[k].as_str().map(str::to_owned);
    let (t, e, g) = (s("time").unwrap(), s("event").unwrap(), s("group").unwrap());
    let strata = s("strata");
    let rho = input["rho"].as_f64().unwrap_or(0.0);
    let call = match &strata {
        Some(st) => format!("logrank_strat_test({t}, {e}, {g}, {st}, {rho})"),
        None => format!("logrank_test({t}, {e}, {g}, {rho})"),
    };
    let p_call = if strata.is_none() && rho == 0.0 {
        format!(", logrank_p({t}, {e}, {g}) AS p")
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT {call} AS r{p_call} FROM {table}{}",
        where_clause(&[s("filter")])
    );
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(err) => return cmp.fail(format!("{id}: {err}\n  {sql}")),
    };
    let r = &rows[0]["r"];
    if let Some(err) = entry["error"].as_str() {
        // R refuses a single group ("There is only 1 group"); survql answers df 0, no test.
        assert!(
            err.contains("only 1 group"),
            "{id}: unexpected R error {err}"
        );
        cmp.count(&format!("{id} df"), &r["df"], &Value::from(0));
        cmp.num(
            &format!("{id} chisq"),
            &r["chisq"],
            &survql_testkit::EXPECT_NULL,
            TOL,
        );
        return;
    }
    let want = &entry["result"];
    cmp.count(&format!("{id} df"), &r["df"], &want["df"]);
    if want["df"].as_i64().unwrap_or(0) < 1 {
        // Fewer than two groups with expected events: R gives chisq 0 and p NaN; the SQL
        // contract says NULL for both.
        cmp.num(
            &format!("{id} chisq"),
            &r["chisq"],
            &survql_testkit::EXPECT_NULL,
            TOL,
        );
        cmp.num(
            &format!("{id} p"),
            &r["p_value"],
            &survql_testkit::EXPECT_NULL,
            TOL,
        );
    } else {
        cmp.num(&format!("{id} chisq"), &r["chisq"], &want["chisq"], TOL);
        cmp.num(
            &format!("{id} p"),
            &r["p_value"],
            &want["p"],
            p_tol(&want["p"]),
        );
        if !p_call.is_empty() {
            cmp.num(
                &format!("{id} logrank_p"),
                &rows[0]["p"],
                &want["p"],
                p_tol(&want["p"]),
            );
        }
    }
    check_groups(cmp, &id, &r["groups"], want["groups"].as_array().unwrap());
}

async fn check_table(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let (row, col) = (
        input["row"].as_str().unwrap(),
        input["col"].as_str().unwrap(),
    );
    let filter = input["filter"].as_str().map(str::to_owned);
    let call = if entry["kind"] == "chisq" {
        format!(
            "chisq_test({row}, {col}, {})",
            input["correct"].as_bool().unwrap()
        )
    } else {
        format!("fisher_test({row}, {col})")
    };
    let sql = format!("SELECT {call} AS r FROM {table}{}", where_clause(&[filter]));
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(err) => return cmp.fail(format!("{id}: {err}\n  {sql}")),
    };
    let (r, want) = (&rows[0]["r"], &entry["result"]);
    if entry["kind"] == "chisq" {
        cmp.num(
            &format!("{id} statistic"),
            &r["statistic"],
            &want["statistic"],
            TOL,
        );
        cmp.count(&format!("{id} df"), &r["df"], &want["df"]);
        cmp.num(
            &format!("{id} p"),
            &r["p_value"],
            &want["p"],
            p_tol(&want["p"]),
        );
    } else {
        cmp.num(
            &format!("{id} p"),
            &r["p_value"],
            &want["p"],
            p_tol(&want["p"]),
        );
        if want.get("odds_ratio_tight").is_some() {
            // R's own estimate is only accurate to ~1e-4 (uniroot's default tolerance); the
            // _tight values solve the same equations to 1e-13.
            cmp.num(
                &format!("{id} odds ratio"),
                &r["odds_ratio"],
                &want["odds_ratio_tight"],
                TOL,
            );
            cmp.num(
                &format!("{id} or lower"),
                &r["lower"],
                &want["odds_ratio_ci_tight"]["lower"],
                TOL,
            );
            cmp.num(
                &format!("{id} or upper"),
                &r["upper"],
                &want["odds_ratio_ci_tight"]["upper"],
                TOL,
            );
            cmp.num(
                &format!("{id} odds ratio vs R's uniroot"),
                &r["odds_ratio"],
                &want["odds_ratio"],
                1e-3,
            );
        } else {
            cmp.num(
                &format!("{id} odds ratio"),
                &r["odds_ratio"],
                &survql_testkit::EXPECT_NULL,
                TOL,
            );
        }
    }
}

async fn check_prop(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let success = input["success"].as_str().unwrap();
    let filter = input["filter"].as_str().map(str::to_owned);
    let want = &entry["result"];
    let level = want["conf_level"].as_f64().unwrap_or(0.95);
    let methods = [
        ("exact", "clopper_pearson"),
        ("wilson", "wilson"),
        ("wilson-cc", "wilson_cc"),
        ("wald", "wald"),
    ];
    let select: Vec<String> = methods
        .iter()
        .map(|(m, _)| format!("prop_ci({success}, '{m}', {level}) AS \"{m}\""))
        .collect();
    let sql = format!(
        "SELECT {} FROM {table}{}",
        select.join(", "),
        where_clause(&[filter])
    );
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(err) => return cmp.fail(format!("{id}: {err}\n  {sql}")),
    };
    for (m, key) in methods {
        let r = &rows[0][m];
        cmp.count(&format!("{id} n"), &r["n"], &want["n"]);
        cmp.count(&format!("{id} x"), &r["x"], &want["x"]);
        cmp.num(
            &format!("{id} estimate"),
            &r["estimate"],
            &want["estimate"],
            TOL,
        );
        cmp.num(
            &format!("{id} {m} lower"),
            &r["lower"],
            &want[key]["lower"],
            TOL,
        );
        cmp.num(
            &format!("{id} {m} upper"),
            &r["upper"],
            &want[key]["upper"],
            TOL,
        );
    }
}

/// `logrank_weighted_test` / `logrank_weighted_strat_test` against R's survdiff (G(p, 0):
/// chisq, p, observed and expected per group) or lifelines (chisq and p; p only where its df,
/// groups - 1, is R's, groups with expected > 0, - 1).
async fn check_weighted(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let s = |k: &str| input[k].as_str().map(str::to_owned);
    let (t, e, g) = (s("time").unwrap(), s("event").unwrap(), s("group").unwrap());
    let weighting = s("weighting").unwrap();
    let call = match s("strata") {
        Some(st) => format!("logrank_weighted_strat_test({t}, {e}, {g}, {st}, '{weighting}')"),
        None => format!("logrank_weighted_test({t}, {e}, {g}, '{weighting}')"),
    };
    let sql = format!("SELECT {call} AS r FROM {table}");
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(err) => return cmp.fail(format!("{id}: {err}\n  {sql}")),
    };
    let r = &rows[0]["r"];
    if entry.get("error").is_some() {
        // One group (R: "There is only 1 group") or no events: no test.
        cmp.num(
            &format!("{id} chisq"),
            &r["chisq"],
            &survql_testkit::EXPECT_NULL,
            TOL,
        );
        cmp.num(
            &format!("{id} p"),
            &r["p_value"],
            &survql_testkit::EXPECT_NULL,
            TOL,
        );
        return;
    }
    let want = &entry["result"];
    if want["df"].as_i64().unwrap_or(0) < 1 {
        cmp.count(&format!("{id} df"), &r["df"], &want["df"]);
        cmp.num(
            &format!("{id} chisq"),
            &r["chisq"],
            &survql_testkit::EXPECT_NULL,
            TOL,
        );
        return;
    }
    cmp.num(&format!("{id} chisq"), &r["chisq"], &want["chisq"], TOL);
    if entry.get("df_differs").is_none() {
        cmp.count(&format!("{id} df"), &r["df"], &want["df"]);
        cmp.num(
            &format!("{id} p"),
            &r["p_value"],
            &want["p"],
            p_tol(&want["p"]),
        );
    } else {
        cmp.count(&format!("{id} df"), &r["df"], &entry["df_differs"]["r"]);
    }
    if let Some(wg) = want["groups"].as_array() {
        check_groups(cmp, &id, &r["groups"], wg);
    }
}

/// `logrank_pairwise` against survminer's `pairwise_survdiff` (each pair's survdiff chisq,
/// its p, and the adjusted p).
async fn check_pairwise(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let s = |k: &str| input[k].as_str().unwrap().to_owned();
    let (t, e, g, adjust) = (s("time"), s("event"), s("group"), s("p_adjust"));
    let rho = input["rho"].as_f64().unwrap();
    let sql =
        format!("SELECT logrank_pairwise({t}, {e}, {g}, '{adjust}', {rho}) AS r FROM {table}");
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(err) => return cmp.fail(format!("{id}: {err}\n  {sql}")),
    };
    let got = rows[0]["r"].as_array().cloned().unwrap_or_default();
    let want = entry["result"]["pairs"].as_array().unwrap();
    if got.len() != want.len() {
        return cmp.fail(format!("{id}: {} pairs, want {}", got.len(), want.len()));
    }
    for (pair, w) in got.iter().zip(want) {
        let pid = format!("{id} [{} vs {}]", w["grp1"], w["grp2"]);
        if pair["grp1"] != w["grp1"] || pair["grp2"] != w["grp2"] {
            cmp.fail(format!(
                "{pid}: pair order: got {} vs {}",
                pair["grp1"], pair["grp2"]
            ));
        }
        cmp.num(&format!("{pid} chisq"), &pair["chisq"], &w["chisq"], TOL);
        cmp.num(
            &format!("{pid} p"),
            &pair["p_value"],
            &w["p"],
            p_tol(&w["p"]),
        );
        cmp.num(
            &format!("{pid} p adjusted"),
            &pair["p_adjusted"],
            &w["p_adjusted"],
            p_tol(&w["p_adjusted"]),
        );
    }
}

/// `logrank_trend_test` / `logrank_trend_strat_test` against Klein & Moeschberger's formula
/// on R's survdiff (z, statistic = z², p; NULLs where R's variance is 0 or survdiff refuses).
async fn check_trend(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let s = |k: &str| input[k].as_str().map(str::to_owned);
    let (t, e, score) = (s("time").unwrap(), s("event").unwrap(), s("score").unwrap());
    let weighting = s("weighting").unwrap();
    let call = match s("strata") {
        Some(st) => format!("logrank_trend_strat_test({t}, {e}, {score}, {st}, '{weighting}')"),
        None => format!("logrank_trend_test({t}, {e}, {score}, '{weighting}')"),
    };
    let sql = format!("SELECT {call} AS r FROM {table}");
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(err) => return cmp.fail(format!("{id}: {err}\n  {sql}")),
    };
    let r = &rows[0]["r"];
    cmp.count(&format!("{id} df"), &r["df"], &serde_json::json!(1));
    let null = &survql_testkit::EXPECT_NULL;
    let want = entry.get("result");
    let pick = |k: &str| want.map_or(null, |w| &w[k]);
    cmp.num(&format!("{id} z"), &r["z"], pick("z"), TOL);
    cmp.num(
        &format!("{id} statistic"),
        &r["statistic"],
        pick("statistic"),
        TOL,
    );
    cmp.num(
        &format!("{id} p"),
        &r["p_value"],
        pick("p"),
        p_tol(pick("p")),
    );
}

async fn check_entry(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) -> bool {
    match entry["kind"].as_str().unwrap() {
        "logrank" => check_logrank(ctx, table, entry, cmp, label).await,
        "chisq" | "fisher" => check_table(ctx, table, entry, cmp, label).await,
        "prop_ci" => check_prop(ctx, table, entry, cmp, label).await,
        "logrank_weighted" => check_weighted(ctx, table, entry, cmp, label).await,
        "logrank_pairwise" => check_pairwise(ctx, table, entry, cmp, label).await,
        "logrank_trend" => check_trend(ctx, table, entry, cmp, label).await,
        _ => return false,
    }
    true
}

async fn run(config: RunConfig, cmp: &mut Comparison) -> usize {
    let scratch = tempfile::tempdir().unwrap();
    let ctx = new_context(&config);
    let label = config.label();
    let mut checked = 0;
    let golden = register_golden_tables(&ctx, &config, scratch.path())
        .await
        .unwrap();
    for (table, entry) in &golden {
        checked += usize::from(check_entry(&ctx, table, entry, cmp, &label).await);
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_comparisons_match_r() {
    let mut cmp = Comparison::default();
    for config in run_configs() {
        let n = run(config, &mut cmp).await;
        assert!(
            n >= 30,
            "only {n} golden entries checked under {}",
            config.label()
        );
    }
    cmp.assert_ok("log-rank / proportion / contingency golden entries");
}

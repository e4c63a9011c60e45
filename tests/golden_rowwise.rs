//! The Cox window functions `cox_residual` and `cox_predict` against R's `residuals.coxph`
//! and `predict.coxph` (tests/oracle/cox_residuals.R): every row, every type, with and
//! without `PARTITION BY`, under the four layouts.

use serde_json::Value;
use survql_testkit::{
    golden_f64, new_context, query_json, register_golden_tables, run_configs, Comparison, RunConfig,
};

/// Iterative fits: relative error at most 1e-6.
const FIT_TOL: f64 = 1e-6;

/// The SQL call of one result key (`martingale`, `score.age`, `lp`, ...).
fn call(key: &str, args: &str, over: &str, ties: &str) -> String {
    let (function, options) = match key.split_once('.') {
        Some((kind, term)) => ("cox_residual", format!("type={kind}, term={term}")),
        None if matches!(key, "martingale" | "deviance") => ("cox_residual", format!("type={key}")),
        None => ("cox_predict", format!("type={key}")),
    };
    format!("{function}({args}, '{options}, ties={ties}') {over}")
}

async fn check_entry(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    id: &str,
) {
    let input = &entry["input"];
    let covariates: Vec<&str> = input["covariates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let response = match (
        input["response"].as_str().unwrap(),
        input["weight"].as_str(),
    ) {
        ("start, stop, event", _) => "surv(start, stop, event)".to_owned(),
        (_, Some(w)) => format!("surv(NULL, time, event, {w})"),
        _ => "time, event".to_owned(),
    };
    let args = format!("{response}, {}", covariates.join(", "));
    let over = match input["partition"].as_str() {
        Some(p) => format!("OVER (PARTITION BY {p})"),
        None => "OVER ()".to_owned(),
    };
    let ties = input["ties"].as_str().unwrap();
    let result = entry["result"].as_object().unwrap();
    let keys: Vec<&String> = result.keys().collect();
    let columns: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(k, key)| format!("{} AS c{k}", call(key, &args, &over, ties)))
        .collect();
    let sql = format!("SELECT id, {} FROM {table} ORDER BY id", columns.join(", "));
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(err) => return cmp.fail(format!("{id}: {err}\n  {sql}")),
    };
    for (k, key) in keys.iter().enumerate() {
        let want = result[*key].as_array().unwrap();
        if want.len() != rows.len() {
            cmp.fail(format!(
                "{id} {key}: {} rows, want {}",
                rows.len(),
                want.len()
            ));
            continue;
        }
        // A residual that cancels to 0 in R (a score residual of a covariate constant over
        // the risk set) comes out as ±1e-17 here: values within 1e-12 of the column's scale
        // (its largest |value|) of each other are the same number at that scale; every other
        // value is compared at 1e-6 relative.
        let scale = want
            .iter()
            .filter_map(golden_f64)
            .fold(0.0f64, |m, v| m.max(v.abs()));
        for (row, w) in rows.iter().zip(want) {
            let r = golden_f64(&row["id"]).unwrap();
            let got = &row[&format!("c{k}")];
            let size = golden_f64(got)
                .unwrap_or(0.0)
                .abs()
                .max(golden_f64(w).unwrap_or(0.0).abs());
            let tol = if size > 0.0 {
                FIT_TOL.max(1e-12 * scale / size)
            } else {
                FIT_TOL
            };
            cmp.num(&format!("{id} {key} row {r}"), got, w, tol);
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
    for (table, entry) in &golden {
        if entry["kind"].as_str() == Some("cox_rowwise") {
            let id = format!("{label} {}", entry["id"].as_str().unwrap_or_default());
            check_entry(&ctx, table, entry, cmp, &id).await;
            checked += 1;
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residuals_and_predictions_match_r() {
    let mut cmp = Comparison::default();
    for config in run_configs() {
        let n = run(config, &mut cmp).await;
        assert!(
            n >= 7 || std::env::var("SURVQL_GOLDEN").is_ok(),
            "only {n} row-wise entries checked under {}",
            config.label()
        );
    }
    cmp.assert_ok("cox_residual / cox_predict golden entries");
}

//! The validation metrics: `concordance_index` (Harrell's C against R's `concordance()`,
//! tests/oracle/concordance.R; Uno's C against scikit-survival), `td_auc` and `brier_score`
//! against scikit-survival (tests/oracle/validation.py) — the censoring distribution from the
//! scored rows and from training rows (the `test` flag) — and the integrated Brier score by the
//! documented SQL pattern; `calibration` against R's quantile groups and survfit
//! (tests/oracle/calibration.R), under the four layouts.

use serde_json::Value;
use survql_testkit::{
    golden_f64, new_context, query_json, register_golden_tables, run_configs, Comparison, RunConfig,
};

/// Closed forms: relative error at most 1e-9.
const TOL: f64 = 1e-9;

fn column_of(t: f64) -> String {
    format!("surv_{}", format!("{t:?}").replace('.', "_"))
}

/// The SQL of one `validation` entry.
fn validation_sql(table: &str, input: &Value) -> String {
    let split = input["split"].as_bool().unwrap();
    let test = if split { ", test" } else { "" };
    match input["function"].as_str().unwrap() {
        "concordance_index" => {
            let tau = golden_f64(&input["tau"])
                .map(|t| format!(", {t:?}"))
                .unwrap_or_default();
            format!(
                "SELECT concordance_index(time, event, score, 'uno'{tau}{test}) AS r FROM {table}"
            )
        }
        "td_auc" => {
            let t = golden_f64(&input["t"]).unwrap();
            format!("SELECT td_auc(time, event, score, {t:?}{test}) AS r FROM {table}")
        }
        "brier_score" => {
            let t = golden_f64(&input["t"]).unwrap();
            let s = column_of(t);
            format!("SELECT brier_score(time, event, {s}, {t:?}{test}) AS r FROM {table}")
        }
        // The integrated Brier score: brier_score per time over a long table, then the
        // trapezoid rule over the times divided by their range (docs/guide.md).
        _ => {
            let times: Vec<f64> = input["times"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_f64().unwrap())
                .collect();
            let long: Vec<String> = times
                .iter()
                .map(|t| {
                    format!(
                        "SELECT time, event, test, CAST({t:?} AS DOUBLE) AS t, {} AS s FROM {table}",
                        column_of(*t)
                    )
                })
                .collect();
            format!(
                "WITH scores AS (SELECT t, brier_score(time, event, s, t{test}) AS b FROM ({}) GROUP BY t), \
                 steps AS (SELECT t, b, lag(t) OVER (ORDER BY t) AS t0, lag(b) OVER (ORDER BY t) AS b0 FROM scores) \
                 SELECT sum((b + b0) / 2 * (t - t0)) / (max(t) - min(t)) AS r FROM steps",
                long.join(" UNION ALL ")
            )
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
        let id = format!("{label} {}", entry["id"].as_str().unwrap());
        let (sql, fields): (String, &[&str]) = match entry["kind"].as_str() {
            Some("concordance_harrell") => (
                format!(
                    "SELECT concordance_index(time, event, {}) AS r FROM {table}",
                    entry["input"]["score"].as_str().unwrap()
                ),
                &[
                    "c_index",
                    "std_err",
                    "lower",
                    "upper",
                    "comparable",
                    "concordant",
                    "discordant",
                    "tied_risk",
                ],
            ),
            Some("calibration") => {
                let (t, groups) = (
                    golden_f64(&entry["input"]["t"]).unwrap(),
                    golden_f64(&entry["input"]["groups"]).unwrap(),
                );
                let sql = format!(
                    "SELECT calibration(time, event, p, {t:?}, {groups}) AS r FROM {table}"
                );
                checked += 1;
                match query_json(&ctx, &sql).await {
                    Err(e) => cmp.fail(format!("{id}: {e}\n  {sql}")),
                    Ok(rows) => {
                        let got = rows[0]["r"].as_array().cloned().unwrap_or_default();
                        let want = entry["result"].as_array().unwrap();
                        if got.len() != want.len() {
                            cmp.fail(format!("{id}: {} groups, want {}", got.len(), want.len()));
                        }
                        for (g, w) in got.iter().zip(want) {
                            for f in ["group", "n", "mean_predicted", "observed", "lower", "upper"]
                            {
                                cmp.num(&format!("{id} [{}] {f}", w["group"]), &g[f], &w[f], TOL);
                            }
                        }
                    }
                }
                continue;
            }
            Some("validation") => {
                let f: &[&str] = if entry["input"]["function"] == "concordance_index" {
                    &["c_index", "concordant", "discordant", "tied_risk"]
                } else {
                    &[]
                };
                (validation_sql(table, &entry["input"]), f)
            }
            _ => continue,
        };
        checked += 1;
        let rows = match query_json(&ctx, &sql).await {
            Ok(r) => r,
            Err(e) => {
                cmp.fail(format!("{id}: {e}\n  {sql}"));
                continue;
            }
        };
        let (got, want) = (&rows[0]["r"], &entry["result"]);
        if fields.is_empty() {
            cmp.num(&id, got, want, TOL);
        }
        for f in fields {
            cmp.num(&format!("{id} {f}"), &got[*f], &want[*f], TOL);
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_metrics_match_r_and_scikit_survival() {
    let mut cmp = Comparison::default();
    for config in run_configs() {
        let n = run(config, &mut cmp).await;
        assert!(
            n >= 50 || std::env::var("SURVQL_GOLDEN").is_ok(),
            "only {n} validation entries checked under {}",
            config.label()
        );
    }
    cmp.assert_ok("concordance_index / td_auc / brier_score golden entries");
}

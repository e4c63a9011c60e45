//! `cox_adjusted_curve` against R (tests/oracle/adjusted_curves.R): every level's
//! direct-standardised survival, its infinitesimal-jackknife SE and limits at every requested
//! time — equal to `riskRegression::ate` (its estimate always, its SE where no event times are
//! tied) — under the four layouts; and the error past the last follow-up.

use serde_json::Value;
use survql_testkit::{
    new_context, query_json, register_golden_tables, run_configs, Comparison, RunConfig,
};

/// An iterative fit: relative error at most 1e-6.
const TOL: f64 = 1e-6;

/// Group labels: numbers in the inline tables are DOUBLE, whose text is "9.0" where R's
/// factor level is "9".
fn same_label(got: &Value, want: &str) -> bool {
    let Some(got) = got.as_str() else {
        return false;
    };
    got == want || matches!((got.parse::<f64>(), want.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
}

async fn check_entry(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = &entry["input"];
    let mut args = vec![
        "time".to_owned(),
        "event".to_owned(),
        input["grp"].as_str().unwrap().to_owned(),
    ];
    for c in input["covariates"].as_array().unwrap() {
        args.push(c.as_str().unwrap().to_owned());
    }
    let options = input["options"].as_str().unwrap();
    if !options.is_empty() {
        args.push(format!("'{options}'"));
    }
    let sql = format!(
        "SELECT cox_adjusted_curve({}) AS r FROM {table}",
        args.join(", ")
    );
    let result = query_json(ctx, &sql).await.map_err(|e| e.to_string());
    if let Some(err) = entry["error"].as_str() {
        match result {
            Err(e) if e.contains(err) => {}
            other => cmp.fail(format!(
                "{id}: want an error containing '{err}', got {other:?}"
            )),
        }
        return;
    }
    let rows = match result {
        Ok(r) => r,
        Err(err) => return cmp.fail(format!("{id}: {err}\n  {sql}")),
    };
    let got = rows[0]["r"].as_array().cloned().unwrap_or_default();
    let want = entry["result"].as_array().unwrap();
    if got.len() != want.len() {
        return cmp.fail(format!("{id}: {} points, want {}", got.len(), want.len()));
    }
    for (g, w) in got.iter().zip(want) {
        let level = w["grp"].as_str().unwrap();
        if !same_label(&g["grp"], level) {
            cmp.fail(format!("{id}: level {}, want {level}", g["grp"]));
            continue;
        }
        let at = format!("{id} [{level} @ {}]", w["time"]);
        cmp.num(&format!("{at} time"), &g["time"], &w["time"], 1e-12);
        for name in ["surv", "std_err", "lower", "upper"] {
            cmp.num(&format!("{at} {name}"), &g[name], &w[name], TOL);
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
        if entry["kind"].as_str() == Some("cox_adjusted_curve") {
            check_entry(&ctx, table, entry, cmp, &label).await;
            checked += 1;
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjusted_curves_match_r() {
    let mut cmp = Comparison::default();
    for config in run_configs() {
        let n = run(config, &mut cmp).await;
        assert!(
            n >= 12 || std::env::var("SURVQL_GOLDEN").is_ok(),
            "only {n} adjusted-curve entries checked under {}",
            config.label()
        );
    }
    cmp.assert_ok("cox_adjusted_curve golden entries");
}

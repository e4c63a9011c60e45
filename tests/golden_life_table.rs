//! `life_table` against KMsurv's `lifetab` (tests/oracle/life_table.R), the SAS LIFETEST
//! documentation's angina example among the cases: every field of every interval, with breaks
//! and with a width, under the four layouts.

use survql_testkit::{
    golden_f64, new_context, query_json, register_golden_tables, run_configs, Comparison, RunConfig,
};

/// Closed forms: relative error at most 1e-9.
const TOL: f64 = 1e-9;

const FIELDS: [&str; 13] = [
    "lower",
    "upper",
    "n_entering",
    "n_withdrawn",
    "n_at_risk",
    "n_events",
    "cond_prob",
    "surv",
    "std_err",
    "hazard",
    "hazard_se",
    "density",
    "density_se",
];

async fn run(config: RunConfig, cmp: &mut Comparison) -> usize {
    let scratch = tempfile::tempdir().unwrap();
    let ctx = new_context(&config);
    let label = config.label();
    let mut checked = 0;
    let golden = register_golden_tables(&ctx, &config, scratch.path())
        .await
        .unwrap();
    for (table, entry) in &golden {
        if entry["kind"] != "life_table" {
            continue;
        }
        checked += 1;
        let id = format!("{label} {}", entry["id"].as_str().unwrap());
        let input = &entry["input"];
        let breaks = match input["breaks"].as_array() {
            Some(b) => format!(
                "[{}]",
                b.iter()
                    .map(|v| format!("{:?}", golden_f64(v).unwrap()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!("{:?}", golden_f64(&input["width"]).unwrap()),
        };
        let sql = format!("SELECT life_table(time, event, {breaks}) AS r FROM {table}");
        let rows = match query_json(&ctx, &sql).await {
            Ok(r) => r,
            Err(e) => {
                cmp.fail(format!("{id}: {e}\n  {sql}"));
                continue;
            }
        };
        let got = rows[0]["r"].as_array().cloned().unwrap_or_default();
        let want = entry["result"].as_array().unwrap();
        if got.len() != want.len() {
            cmp.fail(format!(
                "{id}: {} intervals, want {}",
                got.len(),
                want.len()
            ));
            continue;
        }
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            for f in FIELDS {
                cmp.num(&format!("{id} [{k}] {f}"), &g[f], &w[f], TOL);
            }
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn life_tables_match_kmsurv() {
    let mut cmp = Comparison::default();
    for config in run_configs() {
        let n = run(config, &mut cmp).await;
        assert!(
            n >= 6 || std::env::var("SURVQL_GOLDEN").is_ok(),
            "only {n} life-table entries checked under {}",
            config.label()
        );
    }
    cmp.assert_ok("life_table golden entries");
}

//! SAS's and Stata's published outputs (`tests/oracle/vendor_conventions.py`: PHUSE CAMIS's
//! PROC LIFETEST / PHREG output on the WHAS500 data and its special cases, Stata's `sts list`
//! on the Gehan data, a Statalist `stci` median) reproduced through SQL under every layout,
//! each way a convention can be asked for: the session setting (`SET survql.convention`) and
//! the per-call argument (`conf_type => 'sas'`, `km_median(..., 'sas')`, `'convention=sas'`).
//! Numbers are compared at the precision they were printed.

use serde_json::Value;
use survql_testkit::{new_context, query_result, register_golden_tables, run_configs, Comparison};

/// The two ways of asking for `convention`: (statement run first, per-call conf_type text,
/// per-call Cox option).
fn ways(convention: &str) -> [(String, String, String); 2] {
    [
        (
            format!("SET survql.convention = '{convention}'"),
            String::new(),
            String::new(),
        ),
        (
            "SET survql.convention = 'r'".to_owned(),
            format!(", '{convention}'"),
            format!(", 'convention={convention}'"),
        ),
    ]
}

async fn check_km(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let input = &entry["input"];
    let (time, event) = (
        input["time"].as_str().unwrap(),
        input["event"].as_str().unwrap(),
    );
    let filter = input["filter"]
        .as_str()
        .map_or(String::new(), |f| format!(" WHERE {f}"));
    let convention = entry["convention"].as_str().unwrap();
    for (way, (set, conf, _)) in ways(convention).iter().enumerate() {
        ctx.sql(set).await.unwrap().collect().await.unwrap();
        let id = format!("{label} {} (way {way})", entry["id"].as_str().unwrap());
        for q in entry["result"]["quartiles"].as_array().unwrap() {
            let p = q["p"].as_f64().unwrap();
            let d = q["decimals"].as_u64().unwrap() as u32;
            let sql =
                format!("SELECT km_quantile({time}, {event}, {p}{conf}) AS r FROM {table}{filter}");
            let Some(r) = query_result(ctx, &sql, cmp, &id).await else {
                continue;
            };
            let qid = format!("{id} quantile {p}");
            cmp.printed(
                &format!("{qid} estimate"),
                &r["quantile"],
                &q["estimate"],
                d,
            );
            for limit in ["lower", "upper"] {
                if q.get(limit).is_some() {
                    cmp.printed(&format!("{qid} {limit}"), &r[limit], &q[limit], d);
                }
            }
            if p == 0.5 {
                // The median of km_summary and km_median follows the same rule.
                let median_conf = if conf.is_empty() {
                    String::new()
                } else {
                    conf.clone()
                };
                let sql = format!(
                    "SELECT named_struct('s', km_summary({time}, {event}{median_conf}), 'm', km_median({time}, {event}{median_conf})) AS r FROM {table}{filter}"
                );
                let Some(r) = query_result(ctx, &sql, cmp, &id).await else {
                    continue;
                };
                cmp.printed(
                    &format!("{qid} km_summary median"),
                    &r["s"]["median"],
                    &q["estimate"],
                    d,
                );
                cmp.printed(&format!("{qid} km_median"), &r["m"], &q["estimate"], d);
                for (limit, field) in [("lower", "lower"), ("upper", "upper")] {
                    if q.get(limit).is_some() {
                        cmp.printed(
                            &format!("{qid} km_summary {limit}"),
                            &r["s"][field],
                            &q[limit],
                            d,
                        );
                    }
                }
            }
        }
        for l in entry["result"]["landmarks"].as_array().unwrap() {
            let at = l["at"].as_f64().unwrap();
            let (d, dl) = (
                l["decimals"].as_u64().unwrap() as u32,
                l["limit_decimals"].as_u64().unwrap() as u32,
            );
            let sql = format!(
                "SELECT km_survival({time}, {event}, {at}{conf}) AS r FROM {table}{filter}"
            );
            let Some(r) = query_result(ctx, &sql, cmp, &id).await else {
                continue;
            };
            let lid = format!("{id} at {at}");
            cmp.printed(&format!("{lid} surv"), &r["surv"], &l["surv"], d);
            if !l["std_err"].is_null() {
                cmp.printed(&format!("{lid} std_err"), &r["std_err"], &l["std_err"], d);
            }
            cmp.printed(&format!("{lid} lower"), &r["lower"], &l["lower"], dl);
            cmp.printed(&format!("{lid} upper"), &r["upper"], &l["upper"], dl);
        }
    }
    ctx.sql("SET survql.convention = 'r'").await.unwrap();
}

async fn check_cox(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let input = &entry["input"];
    let w = &entry["result"];
    let convention = entry["convention"].as_str().unwrap();
    for (way, (set, _, option)) in ways(convention).iter().enumerate() {
        ctx.sql(set).await.unwrap().collect().await.unwrap();
        let id = format!("{label} {} (way {way})", entry["id"].as_str().unwrap());
        let sql = format!(
            "SELECT cox_ph({}, {}, {}{option}) AS r FROM {table}",
            input["time"].as_str().unwrap(),
            input["event"].as_str().unwrap(),
            input["covariate"].as_str().unwrap()
        );
        let Some(r) = query_result(ctx, &sql, cmp, &id).await else {
            continue;
        };
        let t = &r["terms"][0];
        let d = |k: &str| w[k].as_u64().unwrap() as u32;
        cmp.printed(
            &format!("{id} coef"),
            &t["coef"],
            &w["coef"],
            d("coef_decimals"),
        );
        cmp.printed(&format!("{id} se"), &t["se"], &w["se"], d("se_decimals"));
        cmp.printed(&format!("{id} p"), &t["p_value"], &w["p"], d("p_decimals"));
        cmp.printed(
            &format!("{id} wald"),
            &r["wald_chisq"],
            &w["wald_chisq"],
            d("wald_decimals"),
        );
        cmp.printed(
            &format!("{id} hr"),
            &t["exp_coef"],
            &w["hr"],
            d("hr_decimals"),
        );
        cmp.printed(
            &format!("{id} lower"),
            &t["lower"],
            &w["lower"],
            d("hr_decimals"),
        );
        cmp.printed(
            &format!("{id} upper"),
            &t["upper"],
            &w["upper"],
            d("hr_decimals"),
        );
        if r["ties"] != "breslow" {
            cmp.fail(format!("{id}: ties {}, want breslow", r["ties"]));
        }
    }
    ctx.sql("SET survql.convention = 'r'").await.unwrap();
}

async fn check_logrank(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let input = &entry["input"];
    let w = &entry["result"];
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    ctx.sql("SET survql.convention = 'sas'").await.unwrap();
    let sql = format!(
        "SELECT logrank_test({}, {}, {}) AS r FROM {table}",
        input["time"].as_str().unwrap(),
        input["event"].as_str().unwrap(),
        input["group"].as_str().unwrap()
    );
    if let Some(r) = query_result(ctx, &sql, cmp, &id).await {
        let d = w["decimals"].as_u64().unwrap() as u32;
        cmp.printed(&format!("{id} chisq"), &r["chisq"], &w["chisq"], d);
        cmp.printed(&format!("{id} p"), &r["p_value"], &w["p"], d);
    }
    ctx.sql("SET survql.convention = 'r'").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_vendor_outputs() {
    let mut cmp = Comparison::default();
    for config in run_configs() {
        let scratch = tempfile::tempdir().unwrap();
        let ctx = new_context(&config);
        let label = config.label();
        let mut checked = 0;
        for (table, entry) in register_golden_tables(&ctx, &config, scratch.path())
            .await
            .unwrap()
        {
            match entry["kind"].as_str().unwrap() {
                "vendor_km" => check_km(&ctx, &table, &entry, &mut cmp, &label).await,
                "vendor_cox" => check_cox(&ctx, &table, &entry, &mut cmp, &label).await,
                "vendor_logrank" => check_logrank(&ctx, &table, &entry, &mut cmp, &label).await,
                _ => continue,
            }
            checked += 1;
        }
        assert_eq!(checked, 8, "vendor entries under {label}");
    }
    assert!(cmp.checked > 300, "only {} values compared", cmp.checked);
    cmp.assert_ok("published SAS / Stata outputs");
}

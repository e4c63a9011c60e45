//! Kaplan-Meier, reverse-KM follow-up, RMST and Nelson-Aalen entries of every golden file,
//! computed through SQL and compared field by field with R.

use serde_json::Value;
use survql_testkit::{
    golden_label, new_context, query_json, register_golden_tables, run_configs, Comparison,
    RunConfig,
};

/// Closed-form estimates: relative error at most 1e-9 (DEVELOPERS.md).
const TOL: f64 = 1e-9;
const CONF_TYPES: [&str; 3] = ["log", "log-log", "plain"];

/// The SQL pieces of one golden entry's input.
struct Input {
    table: String,
    time: String,
    event: String,
    /// Entry time of counting-process data (`Surv(start, stop, event)`).
    start: Option<String>,
    /// Case weights (R's `weights =`).
    weight: Option<String>,
    group: Option<String>,
    filter: Option<String>,
}

impl Input {
    fn from(table: &str, input: &Value) -> Input {
        let s = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_owned);
        Input {
            table: table.to_owned(),
            time: s("time").unwrap(),
            event: s("event").unwrap(),
            start: s("start"),
            weight: s("weight"),
            group: s("group"),
            filter: s("filter"),
        }
    }

    /// The leading arguments of a call: `time, event`, `surv(start, time, event)` for
    /// counting-process data, `surv(start or NULL, time, event, weight)` with case weights.
    fn response(&self, event: &str) -> String {
        match (&self.start, &self.weight) {
            (start, Some(w)) => format!(
                "surv({}, {}, {event}, {w})",
                start.as_deref().unwrap_or("NULL"),
                self.time
            ),
            (Some(start), None) => format!("surv({start}, {}, {event})", self.time),
            (None, None) => format!("{}, {event}", self.time),
        }
    }

    /// Compares a count: exactly, or (sums of case weights) at the tolerance.
    fn count(&self, cmp: &mut Comparison, ctx: &str, got: &Value, want: &Value) {
        if self.weight.is_some() {
            cmp.num(ctx, got, want, TOL);
        } else {
            cmp.count(ctx, got, want);
        }
    }

    /// `FROM ... WHERE ...`, dropping rows with a NULL group as R's model frame does.
    fn sql_from(&self, extra: Option<&str>) -> String {
        let mut conds = vec![];
        if let Some(f) = &self.filter {
            conds.push(format!("({f})"));
        }
        if let Some(g) = &self.group {
            conds.push(format!("{g} IS NOT NULL"));
        }
        if let Some(e) = extra {
            conds.push(format!("({e})"));
        }
        if conds.is_empty() {
            format!("FROM {}", self.table)
        } else {
            format!("FROM {} WHERE {}", self.table, conds.join(" AND "))
        }
    }

    fn select_group(&self) -> String {
        match &self.group {
            Some(g) => format!("CAST({g} AS VARCHAR) AS grp, "),
            None => String::new(),
        }
    }

    fn group_by(&self) -> String {
        match &self.group {
            Some(g) => format!(" GROUP BY {g}"),
            None => String::new(),
        }
    }
}

/// Runs `select` once grouped (GROUP BY) and, for grouped entries, once per group with a WHERE
/// and no GROUP BY; returns (label, result row, how it was computed) per R group.
async fn rows_for_groups(
    ctx: &datafusion::prelude::SessionContext,
    input: &Input,
    select: &str,
    groups: &[Value],
    cmp: &mut Comparison,
    id: &str,
) -> Vec<(Value, serde_json::Map<String, Value>)> {
    let sql = format!(
        "SELECT {}{} {}{}",
        input.select_group(),
        select,
        input.sql_from(None),
        input.group_by()
    );
    let rows = match query_json(ctx, &sql).await {
        Ok(r) => r,
        Err(e) => {
            cmp.fail(format!("{id}: query failed: {e}\n  {sql}"));
            return vec![];
        }
    };
    let mut out = vec![];
    for g in groups {
        let label = golden_label(&g["group"]);
        let row = match &input.group {
            None => rows.first().cloned(),
            Some(_) => rows
                .iter()
                .find(|r| r.get("grp").and_then(Value::as_str) == Some(label.as_str()))
                .cloned(),
        };
        match row {
            Some(r) => out.push((g.clone(), r)),
            None => cmp.fail(format!("{id}: no result row for group {label}")),
        }
        // The same group without GROUP BY (the row Accumulator path).
        if let Some(gcol) = &input.group {
            let literal = match &g["group"] {
                Value::String(s) => format!("'{s}'"),
                other => other.to_string(),
            };
            let sql1 = format!(
                "SELECT {select} {}",
                input.sql_from(Some(&format!("{gcol} = {literal}")))
            );
            match query_json(ctx, &sql1).await {
                Ok(r) if r.len() == 1 => out.push((g.clone(), r[0].clone())),
                Ok(r) => cmp.fail(format!("{id}: {} rows for {sql1}", r.len())),
                Err(e) => cmp.fail(format!("{id}: query failed: {e}\n  {sql1}")),
            }
        }
    }
    out
}

/// The value at `path`; a missing key gives serde's shared `Null`, which the comparison
/// reports as a missing golden value.
fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |cur, p| &cur[*p])
}

async fn check_km(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = Input::from(table, &entry["input"]);
    let reverse = entry["kind"] == "followup";
    let e = &input.event;
    let groups = entry["result"]["groups"].as_array().unwrap();
    let mut select = vec![];
    for ct in CONF_TYPES {
        let key = ct.replace('-', "");
        if reverse {
            select.push(format!(
                "km_followup({}, '{ct}') AS sum_{key}",
                input.response(e)
            ));
        } else {
            select.push(format!(
                "km_summary({}, '{ct}') AS sum_{key}",
                input.response(e)
            ));
        }
        for (i, p) in [0.25, 0.5, 0.75].iter().enumerate() {
            let ev = if reverse {
                format!("1 - {e}")
            } else {
                e.clone()
            };
            select.push(format!(
                "km_quantile({}, {p}, '{ct}') AS q{i}_{key}",
                input.response(&ev)
            ));
        }
        if !reverse {
            if let Some(times) = groups[0]["at_times"]["time"].as_array() {
                for (i, at_t) in times.iter().enumerate() {
                    select.push(format!(
                        "km_survival({}, {at_t}, '{ct}') AS at{i}_{key}",
                        input.response(e)
                    ));
                }
            }
            select.push(format!(
                "km_curve({}, '{ct}') AS curve_{key}",
                input.response(e)
            ));
        }
    }
    if !reverse {
        select.push(format!("km_median({}) AS median", input.response(e)));
    }
    let rows = rows_for_groups(ctx, &input, &select.join(", "), groups, cmp, &id).await;
    for (g, row) in rows {
        let gid = format!("{id} [{}]", golden_label(&g["group"]));
        let s = &row["sum_log"];
        let n_key = "n";
        cmp.count(&format!("{gid} n"), &s[n_key], &g["n"]);
        if !reverse {
            input.count(cmp, &format!("{gid} events"), &s["events"], &g["events"]);
            cmp.num(
                &format!("{gid} km_median"),
                &row["median"],
                at(&g, &["median", "estimate"]),
                TOL,
            );
        }
        for ct in CONF_TYPES {
            let key = ct.replace('-', "");
            let s = &row[&format!("sum_{key}")];
            cmp.num(
                &format!("{gid} median ({ct})"),
                &s["median"],
                at(&g, &["median", "estimate"]),
                TOL,
            );
            cmp.num(
                &format!("{gid} median lower ({ct})"),
                &s["lower"],
                at(&g, &["median", "ci", ct, "lower"]),
                TOL,
            );
            cmp.num(
                &format!("{gid} median upper ({ct})"),
                &s["upper"],
                at(&g, &["median", "ci", ct, "upper"]),
                TOL,
            );
            for i in 0..3 {
                let q = &row[&format!("q{i}_{key}")];
                let qs = &g["quantiles"];
                cmp.num(
                    &format!("{gid} quantile[{i}] ({ct})"),
                    &q["quantile"],
                    &qs["estimate"][i],
                    TOL,
                );
                cmp.num(
                    &format!("{gid} quantile[{i}] lower ({ct})"),
                    &q["lower"],
                    &qs["ci"][ct]["lower"][i],
                    TOL,
                );
                cmp.num(
                    &format!("{gid} quantile[{i}] upper ({ct})"),
                    &q["upper"],
                    &qs["ci"][ct]["upper"][i],
                    TOL,
                );
            }
            if reverse {
                continue;
            }
            let at_times = &g["at_times"];
            if let Some(times) = at_times["time"].as_array() {
                for i in 0..times.len() {
                    let a = &row[&format!("at{i}_{key}")];
                    let c = format!("{gid} at t={} ({ct})", times[i]);
                    input.count(
                        cmp,
                        &format!("{c} n_risk"),
                        &a["n_risk"],
                        &at_times["n_risk"][i],
                    );
                    cmp.num(&format!("{c} surv"), &a["surv"], &at_times["surv"][i], TOL);
                    cmp.num(
                        &format!("{c} std_err"),
                        &a["std_err"],
                        &at_times["std_err_surv"][i],
                        TOL,
                    );
                    cmp.num(
                        &format!("{c} lower"),
                        &a["lower"],
                        &at_times["ci"][ct]["lower"][i],
                        TOL,
                    );
                    cmp.num(
                        &format!("{c} upper"),
                        &a["upper"],
                        &at_times["ci"][ct]["upper"][i],
                        TOL,
                    );
                }
            }
            let curve = row[&format!("curve_{key}")]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let want = &g["curve"];
            let len = want["time"].as_array().map_or(0, Vec::len);
            if curve.len() != len {
                cmp.fail(format!(
                    "{gid} curve ({ct}): {} rows, want {len}",
                    curve.len()
                ));
                continue;
            }
            for (i, c) in curve.iter().enumerate() {
                let p = format!("{gid} curve[{i}] ({ct})");
                cmp.num(&format!("{p} time"), &c["time"], &want["time"][i], TOL);
                input.count(
                    cmp,
                    &format!("{p} n_risk"),
                    &c["n_risk"],
                    &want["n_risk"][i],
                );
                input.count(
                    cmp,
                    &format!("{p} n_event"),
                    &c["n_event"],
                    &want["n_event"][i],
                );
                input.count(
                    cmp,
                    &format!("{p} n_censor"),
                    &c["n_censor"],
                    &want["n_censor"][i],
                );
                cmp.num(&format!("{p} surv"), &c["surv"], &want["surv"][i], TOL);
                // survql reports the SE of S; R's fit$std.err is the SE of -log S.
                let se_log = &want["std_err_log"][i];
                let se_s = match (
                    survql_testkit::golden_f64(&want["surv"][i]),
                    survql_testkit::golden_f64(se_log),
                ) {
                    (Some(s), Some(se)) if !(s * se).is_nan() => serde_json::json!(s * se),
                    _ => Value::Null,
                };
                // A missing golden SE must fail, not compare as NULL.
                let se_want = if survql_testkit::is_missing(se_log) {
                    se_log
                } else {
                    &se_s
                };
                cmp.num(&format!("{p} std_err"), &c["std_err"], se_want, TOL);
                cmp.num(
                    &format!("{p} cumhaz"),
                    &c["cumhaz"],
                    &want["cumhaz"][i],
                    TOL,
                );
                cmp.num(
                    &format!("{p} lower"),
                    &c["lower"],
                    &want["ci"][ct]["lower"][i],
                    TOL,
                );
                cmp.num(
                    &format!("{p} upper"),
                    &c["upper"],
                    &want["ci"][ct]["upper"][i],
                    TOL,
                );
            }
        }
    }
}

async fn check_rmst(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = Input::from(table, &entry["input"]);
    let (t, e) = (&input.time, &input.event);
    let tau = match &entry["input"]["rmean"] {
        Value::String(s) if s == "common" => {
            // R: the largest last time over all curves of the fit.
            let sql = format!(
                "SELECT max({t}) AS tau {}",
                input.sql_from(Some(&format!("{t} IS NOT NULL AND {e} IS NOT NULL")))
            );
            query_json(ctx, &sql).await.unwrap()[0]["tau"].clone()
        }
        v => v.clone(),
    };
    let groups = entry["result"]["groups"].as_array().unwrap();
    let select = format!("km_rmst({}, {tau}) AS r", input.response(e));
    for (g, row) in rows_for_groups(ctx, &input, &select, groups, cmp, &id).await {
        let gid = format!("{id} [{}]", golden_label(&g["group"]));
        cmp.num(&format!("{gid} tau"), &row["r"]["tau"], &g["tau"], TOL);
        cmp.num(&format!("{gid} rmst"), &row["r"]["rmst"], &g["rmean"], TOL);
        cmp.num(
            &format!("{gid} se(rmst)"),
            &row["r"]["std_err"],
            &g["se_rmean"],
            TOL,
        );
    }
}

async fn check_cumhaz(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) {
    let id = format!("{label} {}", entry["id"].as_str().unwrap());
    let input = Input::from(table, &entry["input"]);
    let e = &input.event;
    let groups = entry["result"]["groups"].as_array().unwrap();
    let select = format!("nelson_aalen({}) AS na", input.response(e));
    for (g, row) in rows_for_groups(ctx, &input, &select, groups, cmp, &id).await {
        let gid = format!("{id} [{}]", golden_label(&g["group"]));
        let curve = row["na"].as_array().cloned().unwrap_or_default();
        let want = &g["curve"];
        let len = want["time"].as_array().map_or(0, Vec::len);
        if curve.len() != len {
            cmp.fail(format!("{gid}: {} rows, want {len}", curve.len()));
            continue;
        }
        for (i, c) in curve.iter().enumerate() {
            let p = format!("{gid} curve[{i}]");
            cmp.num(&format!("{p} time"), &c["time"], &want["time"][i], TOL);
            input.count(
                cmp,
                &format!("{p} n_risk"),
                &c["n_risk"],
                &want["n_risk"][i],
            );
            input.count(
                cmp,
                &format!("{p} n_event"),
                &c["n_event"],
                &want["n_event"][i],
            );
            cmp.num(
                &format!("{p} cumhaz"),
                &c["cumhaz"],
                &want["cumhaz"][i],
                TOL,
            );
            cmp.num(
                &format!("{p} std_err"),
                &c["std_err"],
                &want["std_chaz"][i],
                TOL,
            );
        }
    }
}

/// Entries outside the SQL contract, with the reason.
fn skipped(entry: &Value) -> Option<&'static str> {
    if entry["kind"] == "cumhaz" && entry["result"]["ctype"] != 1 {
        return Some("Fleming-Harrington (ctype 2) hazard is not a SQL function");
    }
    None
}

async fn check_entry(
    ctx: &datafusion::prelude::SessionContext,
    table: &str,
    entry: &Value,
    cmp: &mut Comparison,
    label: &str,
) -> bool {
    if skipped(entry).is_some() {
        return false;
    }
    match entry["kind"].as_str().unwrap() {
        "km" | "followup" => check_km(ctx, table, entry, cmp, label).await,
        "rmst" => check_rmst(ctx, table, entry, cmp, label).await,
        "cumhaz" => check_cumhaz(ctx, table, entry, cmp, label).await,
        _ => return false,
    }
    true
}

async fn run(config: RunConfig, cmp: &mut Comparison) -> usize {
    let scratch = tempfile::tempdir().unwrap();
    let ctx = new_context(&config);
    let label = config.label();
    let mut entries = 0;
    let golden = register_golden_tables(&ctx, &config, scratch.path())
        .await
        .unwrap();
    for (table, entry) in &golden {
        if entry["result"].is_null() {
            continue;
        }
        entries += usize::from(check_entry(&ctx, table, entry, cmp, &label).await);
    }
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kaplan_meier_matches_r() {
    let mut cmp = Comparison::default();
    for config in run_configs() {
        let n = run(config, &mut cmp).await;
        assert!(
            n >= 90,
            "only {n} golden entries checked under {}",
            config.label()
        );
    }
    cmp.assert_ok("Kaplan-Meier / follow-up / RMST / Nelson-Aalen golden entries");
}

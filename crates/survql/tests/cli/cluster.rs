//! Cluster mode: `survql worker` processes on 127.0.0.1 and a coordinator given their URLs.
//! Every result (and every warning) must be the single process's, byte for byte; the plan
//! must really run on the workers; faults give clear errors in bounded time.

use super::*;
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A `survql worker` on a free port of 127.0.0.1, killed when dropped.
struct Worker {
    child: Child,
    url: String,
}

impl Worker {
    fn start(extra: &[&str]) -> Worker {
        let mut child = survql()
            .args(["worker", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("survql worker starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the worker prints its address");
        // "survql worker listening on http://127.0.0.1:PORT (survql VERSION, commit ...)"
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the worker's first line: {line:?}"))
            .to_owned();
        Worker { child, url }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

fn warnings(o: &Output) -> Vec<String> {
    sorted_lines(&stderr(o))
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// `survql --workers URLS --format FORMAT -t TABLE -c SQL`.
fn run_on(urls: &str, format: &str, table: &str, sql: &str) -> Output {
    run(&[
        "--workers",
        urls,
        "--format",
        format,
        "-t",
        table,
        "-c",
        sql,
    ])
}

/// Three workers and the `--workers` value naming them.
fn three_workers() -> (Vec<Worker>, String) {
    let workers: Vec<Worker> = (0..3).map(|_| Worker::start(&[])).collect();
    let urls = workers
        .iter()
        .map(|w| w.url.as_str())
        .collect::<Vec<_>>()
        .join(",");
    (workers, urls)
}

/// Test tables, written once per test process by the single-process survql:
/// * `cohort/`: 20,000 rows, Hive-partitioned by `centre` (three Parquet files), with NULL
///   times in 207 rows, ties, a text, a boolean and numeric covariates;
/// * `big/`: 1,000,000 rows in four Parquet files, for the memory limit.
fn data_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cluster-data-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cohort = format!(
            "COPY (SELECT value AS id, \
                CASE WHEN value % 97 = 0 THEN NULL ELSE ((value * 7919) % 1000) / 10.0 END AS time, \
                (value % 3 <> 0) AS event, CAST(value % 4 AS BIGINT) AS grp, \
                ((value * 31) % 97) / 10.0 AS x1, \
                CASE WHEN value % 2 = 0 THEN 'f' ELSE 'm' END AS sex, \
                'c' || CAST(value % 5 AS VARCHAR) AS centre \
              FROM range(20000)) TO '{}/cohort/' STORED AS PARQUET PARTITIONED BY (centre)",
            dir.display()
        );
        let big = format!(
            "COPY (SELECT value AS id, ((value * 7919) % 1000) / 10.0 AS time, \
                (value % 3 <> 0) AS event, ((value * 31) % 97) / 10.0 AS x1, \
                ((value * 17) % 89) / 10.0 AS x2 \
              FROM range(1000000)) TO '{}/big/' STORED AS PARQUET",
            dir.display()
        );
        for sql in [cohort, big] {
            let o = run(&["-q", "-c", &sql]);
            assert!(o.status.success(), "{}", stderr(&o));
        }
        dir
    })
}

fn table(name: &str) -> String {
    data_dir().join(name).display().to_string()
}

/// Splits each table's scan into several tasks (the default is one task per 16 MiB).
const SMALL_TASKS: &str = "SET distributed.file_scan_config_bytes_per_partition = 2000;";

/// Every family, with and without GROUP BY, FILTER, options; the shared Kaplan-Meier state.
const EVERY_FAMILY: &str = "
SELECT grp, km_summary(time, event) AS s, km_median(time, event) AS m,
       km_quantile(time, event, 0.25, 'log-log') AS q, km_survival(time, event, 50) AS s50,
       km_rmst(time, event, 80) AS r, km_followup(time, event) AS f
FROM cohort GROUP BY grp ORDER BY grp;
SELECT km_curve(time, event, 'plain', 0.9) AS c, nelson_aalen(time, event) AS na FROM cohort;
SELECT logrank_test(time, event, grp) AS lr, logrank_p(time, event, sex) AS p,
       logrank_strat_test(time, event, sex, centre, 1) AS ls,
       logrank_weighted_test(time, event, grp, 'gehan') AS lw,
       logrank_weighted_strat_test(time, event, grp, centre, 'fh(0,1)') AS lws,
       logrank_pairwise(time, event, grp, 'BH') AS pairs,
       logrank_trend_test(time, event, grp) AS tr,
       rmst_diff(time, event, grp, 60) AS rd, km_survival_diff(time, event, sex, 50, 0.9) AS sd
FROM cohort;
SELECT cif_curve(time, CAST(event AS BIGINT) * (1 + grp % 2), 1, 'log-log') AS ci,
       cif_at(time, CAST(event AS BIGINT) * (1 + grp % 2), 2, 40) AS ca,
       gray_test(time, CAST(event AS BIGINT) * (1 + grp % 2), 1, sex) AS gt FROM cohort;
SELECT centre, cox_ph(time, event, x1, sex, grp) AS cx FROM cohort GROUP BY centre ORDER BY centre;
SELECT cox_ph_strat(time, event, centre, x1, sex, 'ties=breslow, robust=true') AS cs,
       cox_zph(time, event, x1, sex) AS z,
       finegray_ph(time, CAST(event AS BIGINT) * (1 + grp % 2), 2, x1, sex) AS fg FROM cohort;
SELECT cox_ph_counting(x1, x1 + time + 1, event, grp) AS cc,
       km_summary(surv(x1, x1 + time + 1, event)) AS kd,
       cif_at(surv(x1, x1 + time + 1, CAST(event AS BIGINT) * (1 + grp % 2)), 1, 50) AS cd,
       km_curve(surv(NULL, time, event, 0.5 + abs(x1))) AS kw,
       cox_ph(surv(NULL, time, event, 0.5 + abs(x1)), sex) AS cw,
       cox_ph(time, event, x1, cluster(centre)) AS ccl,
       cox_ph(time, event, x1, strata(sex)) AS cst,
       survreg(time + 1, event, x1, sex, 'dist=loglogistic') AS sr,
       cox_adjusted_curve(time, event, sex, x1, 'times=20 50') AS adj
FROM cohort;
SELECT prop_ci(event) AS pc, chisq_test(sex, centre) AS ch, fisher_test(sex, event) AS fi,
       logrank_power(0.7, count(*) / 100, 0.05, 1, 'freedman') AS lp,
       concordance_index(time, event, x1) AS cih, concordance_index(time, event, x1, 'uno', 60) AS ciu,
       td_auc(time, event, x1, 30) AS auc, life_table(time, event, 25) AS lt, calibration(time, event, 0.3 + 0.05 * x1, 30, 4) AS cal, brier_score(time, event, 0.5, 30, sex = 'f') AS bs FROM cohort;
SELECT sex, km_median(time, event) FILTER (WHERE grp > 0) AS m FROM cohort GROUP BY sex ORDER BY sex;
SELECT id, m, r FROM (
  SELECT id, cox_residual(time, event, x1, sex, 'type=deviance') OVER (PARTITION BY centre) AS m,
         cox_predict(time, event, x1, 'type=risk') OVER () AS r FROM cohort)
WHERE id % 97 = 1 ORDER BY id;
";

#[test]
fn every_family_gives_the_single_process_result_and_warnings() {
    let (_workers, urls) = three_workers();
    let script = format!("{SMALL_TASKS}\n{EVERY_FAMILY}");
    let cohort = format!("cohort={}", table("cohort"));
    let local = run(&["--format", "json", "-t", &cohort, "-c", &script]);
    assert!(local.status.success(), "{}", stderr(&local));
    let cluster = run_on(&urls, "json", &cohort, &script);
    assert!(cluster.status.success(), "{}", stderr(&cluster));
    assert_eq!(stdout(&cluster), stdout(&local));
    // The skipped-NULL counts travel in the states: the same warnings, once per function
    // (their order is not fixed, locally either: aggregates finish in any order).
    assert_eq!(warnings(&cluster), warnings(&local));
    assert!(
        stderr(&cluster).contains("km_median(cohort.time,cohort.event): skipped 207 row(s)"),
        "{}",
        stderr(&cluster)
    );
    assert!(
        stderr(&cluster).contains(
            "cox_ph_counting(cohort.x1,cohort.x1 + cohort.time + Int64(1),cohort.event,cohort.grp): skipped 207 row(s)"
        ),
        "{}",
        stderr(&cluster)
    );
    // Final aggregation on the workers too (hash-partitioned by group, the knob for very many
    // groups): the same results, and the warnings of the aggregates the workers evaluated
    // come back to the coordinator.
    let on_workers = format!("SET datafusion.optimizer.repartition_aggregations = true;\n{script}");
    let partitioned = run_on(&urls, "json", &cohort, &on_workers);
    assert!(partitioned.status.success(), "{}", stderr(&partitioned));
    assert_eq!(stdout(&partitioned), stdout(&local));
    assert_eq!(warnings(&partitioned), warnings(&local));
    let explain = run_on(
        &urls,
        "csv",
        &cohort,
        &format!(
            "SET datafusion.optimizer.repartition_aggregations = true; {SMALL_TASKS} \
                  EXPLAIN SELECT grp, km_median(time, event) FROM cohort GROUP BY grp"
        ),
    );
    assert!(
        stdout(&explain).contains("NetworkShuffleExec"),
        "{}",
        stdout(&explain)
    );
    assert!(
        stdout(&explain).contains("AggregateExec: mode=FinalPartitioned"),
        "{}",
        stdout(&explain)
    );

    // The results are real: 8 statements' worth of rows, KM curves with many times.
    let text = stdout(&cluster);
    assert!(text.matches("\"p_value\"").count() >= 5, "{text}");
    assert!(text.len() > 100_000, "{}", text.len());
}

#[test]
fn the_plan_runs_on_the_workers() {
    let (workers, urls) = three_workers();
    let cohort = format!("cohort={}", table("cohort"));
    let o = run_on(
        &urls,
        "csv",
        &cohort,
        &format!(
            "{SMALL_TASKS} EXPLAIN SELECT grp, km_median(time, event), logrank_p(time, event, sex) \
             FROM cohort GROUP BY grp"
        ),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = stdout(&o);
    assert!(plan.contains("distributed_plan"), "{plan}");
    assert!(plan.contains("DistributedExec"), "{plan}");
    assert!(plan.contains("NetworkCoalesceExec"), "{plan}");
    // Partial aggregation in a stage of 3 tasks (one per worker); final in the coordinator.
    assert!(plan.contains("Stage 1 ── tasks=3"), "{plan}");
    let (head, stage) = plan.split_once("┌───── Stage 1").unwrap();
    assert!(stage.contains("AggregateExec: mode=Partial"), "{plan}");
    assert!(head.contains("AggregateExec: mode=Final"), "{plan}");

    // EXPLAIN ANALYZE: every worker ran a task.
    let o = run_on(
        &urls,
        "csv",
        &cohort,
        &format!("{SMALL_TASKS} EXPLAIN ANALYZE SELECT km_median(time, event) FROM cohort"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let analyzed = stdout(&o);
    assert!(
        analyzed.contains("remote_coordinator_channels=3"),
        "{analyzed}"
    );
    assert!(
        analyzed.contains("AggregateExec: mode=Partial"),
        "{analyzed}"
    );
    drop(workers);
}

#[test]
fn the_study_script_runs_unchanged_on_the_cluster() {
    let (_workers, urls) = three_workers();
    let parquet = workspace().join("tests/data/net_cohort.parquet");
    let cohort = format!("cohort={}", parquet.display());
    let run_script = |workers: Option<&str>| {
        let figures = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--format",
            "ndjson",
            "-q",
            "-t",
            &cohort,
            "--figures",
            figures.path().to_str().unwrap(),
            "-f",
            "sql/net_study.sql",
        ];
        if let Some(urls) = workers {
            args.extend(["--workers", urls]);
        }
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let figure = std::fs::read_to_string(figures.path().join("figure3_os_by_grade.svg"))
            .expect("figure 3 written");
        (stdout(&o), stderr(&o), figure)
    };
    let (local_out, local_err, local_fig) = run_script(None);
    let (cluster_out, cluster_err, cluster_fig) = run_script(Some(&urls));
    assert!(local_out.contains("Table 2"), "{local_out}");
    assert_eq!(cluster_out, local_out);
    // Some of the script's aggregates are evaluated on workers (a CTE broadcast to a join):
    // their warnings come back too.
    assert_eq!(sorted_lines(&cluster_err), sorted_lines(&local_err));
    assert!(
        cluster_err.contains("Chi-squared approximation may be incorrect"),
        "{cluster_err}"
    );
    assert_eq!(cluster_fig, local_fig);
    // The script's tables read the Parquet file, not the in-memory demo table.
    assert!(!cluster_err.contains("in-memory"), "{cluster_err}");
}

#[test]
fn in_memory_tables_run_here_and_say_so() {
    let (_workers, urls) = three_workers();
    let sql = "SELECT grade, km_median(os_months, died) AS m FROM demo.net_cohort GROUP BY grade ORDER BY grade";
    let local = run(&["--format", "csv", "-c", sql]);
    let cluster = run(&["--workers", &urls, "--format", "csv", "-c", sql]);
    assert!(cluster.status.success(), "{}", stderr(&cluster));
    assert_eq!(stdout(&cluster), stdout(&local));
    assert!(
        stderr(&cluster)
            .contains("ran in this process, not on the workers: it reads an in-memory table"),
        "{}",
        stderr(&cluster)
    );
}

#[test]
fn shell_switches_between_cluster_and_this_process() {
    let (_workers, urls) = three_workers();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.sql");
    std::fs::write(
        &script,
        format!(
            "\\workers\n\\workers {urls}\n\\workers\n{SMALL_TASKS}\n\
             EXPLAIN SELECT km_median(time, event) FROM cohort;\n\
             SELECT km_median(time, event) AS m FROM cohort;\n\
             \\workers off\n\\workers\n\
             SELECT km_median(time, event) AS m FROM cohort;\n"
        ),
    )
    .unwrap();
    let cohort = format!("cohort={}", table("cohort"));
    let o = run(&[
        "--format",
        "csv",
        "-t",
        &cohort,
        "-f",
        script.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let first = out.find("Queries run in this process").expect(&out);
    let across = out.find("Queries run across 3 worker(s)").expect(&out);
    let last = out.rfind("Queries run in this process").expect(&out);
    assert!(first < across && across < last, "{out}");
    assert!(out.contains("DistributedExec"), "{out}");
    let medians: Vec<&str> = out.lines().filter(|l| l.parse::<f64>().is_ok()).collect();
    assert_eq!(medians.len(), 2, "{out}");
    assert_eq!(medians[0], medians[1], "{out}");
}

#[test]
fn unreachable_workers_and_other_builds_are_refused() {
    // Nothing listens on port 1.
    let o = run(&["--workers", "http://127.0.0.1:1", "-c", "SELECT 1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot reach survql worker http://127.0.0.1:1/")
            && stderr(&o).contains("is `survql worker` running there?"),
        "{}",
        stderr(&o)
    );

    let good = Worker::start(&[]);
    let other = Worker::start(&[
        "--report-version",
        "survql 0.0.1, commit 0000000, state format 1",
    ]);
    let o = run(&[
        "--workers",
        &format!("{},{}", good.url, other.url),
        "-c",
        "SELECT 1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "survql worker {}/ runs a different build",
            other.url
        )),
        "{err}"
    );
    assert!(
        err.contains("(survql 0.0.1, commit 0000000, state format 1)"),
        "{err}"
    );
    assert!(err.contains("must run the same survql build"), "{err}");

    for bad in ["ftp://127.0.0.1:5", ",", "http://"] {
        let o = run(&["--workers", bad, "-c", "SELECT 1"]);
        assert_eq!(o.status.code(), Some(1), "{bad}");
        assert!(stderr(&o).contains("--workers"), "{bad}: {}", stderr(&o));
    }
}

#[test]
fn a_worker_killed_during_a_query_fails_it_naming_the_worker() {
    let (mut workers, urls) = three_workers();
    let cohort = format!("cohort={}", table("cohort"));
    // A worker stage slow enough to kill a worker while it runs: a join of 2.2e8 rows
    // (≈ 15 s in a debug build), aggregated on the workers.
    let slow = format!(
        "{SMALL_TASKS} SELECT km_median(a.time, a.event) FROM cohort a JOIN cohort b ON a.event = b.event"
    );
    let query = survql()
        .args(["--workers", &urls, "-t", &cohort, "-c", &slow])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let killed = workers.pop().unwrap();
    let killed_url = killed.url.clone();
    drop(killed);
    let start = Instant::now();
    let o = query.wait_with_output().unwrap();
    let waited = start.elapsed();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("survql worker(s) {killed_url}/ stopped answering")),
        "{err}"
    );
    // Bounded: the query does not wait for the slow scan of the other workers to finish.
    assert!(waited < Duration::from_secs(60), "{waited:?}");
}

#[test]
fn cox_over_the_coordinators_memory_limit_is_resources_exhausted() {
    let (_workers, urls) = three_workers();
    let big = format!("big={}", table("big"));
    // 1e6 rows × 2 covariates gathered for the fit: far more than 20 MB.
    let sql = "SET distributed.file_scan_config_bytes_per_partition = 500000; \
               SELECT cox_ph(time, event, x1, x2)['n'] AS n FROM big";
    let o = run(&[
        "--workers",
        &urls,
        "--memory-limit",
        "20M",
        "-t",
        &big,
        "-c",
        sql,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stderr(&o).starts_with("Error: Resources exhausted"),
        "{}",
        stderr(&o)
    );
    // With room, the same query fits all 1e6 rows.
    let o = run(&[
        "--workers",
        &urls,
        "--memory-limit",
        "1G",
        "--format",
        "csv",
        "-t",
        &big,
        "-c",
        sql,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "n\n1000000\n");
}

/// The caps are settings that travel with each task: workers started with a lower
/// `--max-groups` apply the coordinator's session value, and `SET survql.max_groups` on the
/// coordinator reaches them.
#[test]
fn caps_travel_to_the_workers() {
    let workers: Vec<Worker> = (0..2)
        .map(|_| Worker::start(&["--max-groups", "2"]))
        .collect();
    let urls = workers
        .iter()
        .map(|w| w.url.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let cohort = format!("cohort={}", table("cohort"));
    let sql = format!(
        "{SMALL_TASKS} SELECT logrank_test(time, event, grp)['df'] AS df, \
         count(DISTINCT grp) AS groups FROM cohort;"
    );
    let local = run(&["--format", "csv", "-t", &cohort, "-c", &sql]);
    assert!(local.status.success(), "{}", stderr(&local));
    let cluster = run_on(&urls, "csv", &cohort, &sql);
    assert!(cluster.status.success(), "{}", stderr(&cluster));
    assert_eq!(stdout(&cluster), stdout(&local));
    let groups: usize = stdout(&local)
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(groups > 2, "{}", stdout(&local));
    let capped = format!("SET survql.max_groups = 2; {sql}");
    let o = run_on(&urls, "csv", &cohort, &capped);
    assert!(
        !o.status.success()
            && stderr(&o).contains(
                "has more than 2 distinct values, the limit (raise it with SET survql.max_groups"
            ),
        "{}",
        stderr(&o)
    );
}

//! Options shared with datafusion-cli and psql: --maxrows / \pset, --partitions, --threads,
//! --batch-size, -r/--rc, and results streamed to -o files.

use super::*;

#[test]
fn maxrows_cuts_tables_only() {
    let sql = "SELECT value FROM range(100) ORDER BY value";
    let o = run(&["--maxrows", "5", "-c", sql]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(table.contains("(100 rows; first 5 shown"), "{table}");
    assert!(table.contains(" 4 │") && !table.contains(" 5 │"), "{table}");
    // Without --maxrows a script prints every row; CSV is never cut.
    assert!(stdout(&run(&["-c", sql])).contains("(100 rows)\n"));
    let csv = stdout(&run(&["--maxrows", "5", "--format", "csv", "-c", sql]));
    assert_eq!(csv.lines().count(), 101);
    // \pset maxrows in a script, and 'inf'.
    let o = run(&["-c", "\\pset maxrows 2", "-c", sql]);
    assert!(
        stdout(&o).contains("(100 rows; first 2 shown"),
        "{}",
        stdout(&o)
    );
    let o = run(&["--maxrows", "3", "-c", "\\pset maxrows inf", "-c", sql]);
    assert!(stdout(&o).contains("(100 rows)\n"), "{}", stdout(&o));
    let o = run(&["-c", "\\pset maxrows lots"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("\\pset maxrows: expected a number of rows or 'inf', found 'lots'"));
    let o = run(&["--maxrows", "many", "-c", "SELECT 1"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("'many' is not a number of rows or 'inf'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn partitions_threads_and_batch_size() {
    let o = run(&[
        "--partitions",
        "3",
        "--batch-size",
        "7",
        "--threads",
        "1",
        "--format",
        "csv",
        "-c",
        "SHOW datafusion.execution.target_partitions",
        "-c",
        "SHOW datafusion.execution.batch_size",
        "-c",
        "SELECT grade, km_median(os_months, died) AS m FROM demo.net_cohort GROUP BY grade ORDER BY grade",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("datafusion.execution.target_partitions,3\n"),
        "{out}"
    );
    assert!(out.contains("datafusion.execution.batch_size,7\n"), "{out}");
    // The same medians as with the defaults (R's, see command_runs_the_users_query...).
    assert!(
        out.ends_with("grade,m\n1,78.5\n2,19.4\n3,18.7\nlarge,17.7\nsmall,9.3\n,21.4\n"),
        "{out}"
    );
    let o = run(&["--partitions", "0", "-c", "SELECT 1"]);
    assert!(!o.status.success());
}

#[test]
fn rc_files_run_first() {
    let dir = tempfile::tempdir().unwrap();
    let rc = dir.path().join("startup.sql");
    std::fs::write(
        &rc,
        "\\pset format csv\nCREATE VIEW grade3 AS SELECT * FROM demo.net_cohort WHERE grade = '3';\n",
    )
    .unwrap();
    let o = run(&[
        "-r",
        rc.to_str().unwrap(),
        "-q",
        "-c",
        "SELECT count(*) AS n FROM grade3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n: usize = stdout(&o).lines().nth(1).unwrap().parse().unwrap();
    assert!(n > 0, "{}", stdout(&o));
    assert!(stdout(&o).starts_with("n\n"), "{}", stdout(&o));
    // ~/.survqlrc is the interactive shell's: a script does not read it.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".survqlrc"), "\\pset format csv\n").unwrap();
    let o = survql()
        .env("HOME", home.path())
        .args(["-c", "SELECT 1 AS one"])
        .output()
        .unwrap();
    assert!(stdout(&o).contains("(1 row)"), "{}", stdout(&o));
    let o = run(&["-r", "/nonexistent/rc.sql", "-c", "SELECT 1"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot read /nonexistent/rc.sql"),
        "{}",
        stderr(&o)
    );
}

/// Results written batch by batch: every format stays valid however the result is split.
#[test]
fn streamed_output_files() {
    let dir = tempfile::tempdir().unwrap();
    let sql = "SELECT value AS v, value % 3 = 0 AS third, km_summary_struct FROM range(20000) CROSS JOIN (SELECT named_struct('n', 1, 'x', 'a,b') AS km_summary_struct)";
    for (format, check) in [("csv", 0), ("tsv", 1), ("json", 2), ("ndjson", 3)] {
        let out = dir.path().join(format!("out.{format}"));
        let o = run(&[
            "--batch-size",
            "1000",
            "--partitions",
            "2",
            "--format",
            format,
            "-o",
            out.to_str().unwrap(),
            "-c",
            sql,
        ]);
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        let text = std::fs::read_to_string(&out).unwrap();
        match check {
            0 => {
                let lines: Vec<&str> = text.lines().collect();
                assert_eq!(lines.len(), 20001, "{format}");
                assert_eq!(lines[0], "v,third,km_summary_struct.n,km_summary_struct.x");
                assert_eq!(lines.iter().filter(|l| l.starts_with('v')).count(), 1);
                assert!(lines[1].ends_with(",1,\"a,b\""), "{}", lines[1]);
            }
            1 => {
                assert_eq!(text.lines().count(), 20001, "{format}");
                assert!(text.starts_with("v\tthird\tkm_summary_struct.n\tkm_summary_struct.x\n"));
            }
            2 => {
                let rows: Value = serde_json::from_str(&text).unwrap();
                let rows = rows.as_array().unwrap();
                assert_eq!(rows.len(), 20000);
                let mut seen: Vec<i64> = rows.iter().map(|r| r["v"].as_i64().unwrap()).collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..20000).collect::<Vec<i64>>());
                assert_eq!(rows[0]["km_summary_struct"]["x"], "a,b");
            }
            _ => {
                let rows: Vec<Value> = text
                    .lines()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap())
                    .collect();
                let n = rows.len();
                assert_eq!(n, 20000);
            }
        }
    }
    let printed = |format: &str, sql: &str| stdout(&run(&["--format", format, "-c", sql]));
    // Empty results: a CSV header, an empty JSON array.
    let empty = "SELECT 1 AS a WHERE false";
    assert_eq!(printed("csv", empty), "a\n");
    assert_eq!(printed("json", empty), "[]\n");
    // The JSON of a multi-row result is what a one-shot rendering printed before.
    let json = printed(
        "json",
        "SELECT * FROM (VALUES (1, 'x'), (2, 'y')) AS t(a, b) ORDER BY a",
    );
    assert_eq!(json, "[\n  {\n    \"a\": 1,\n    \"b\": \"x\"\n  },\n  {\n    \"a\": 2,\n    \"b\": \"y\"\n  }\n]\n");
}

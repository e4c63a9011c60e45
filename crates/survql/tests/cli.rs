//! Tests that drive the real `survql` binary: non-interactive use (-c, -f, stdin, formats,
//! exit codes, errors), the interactive shell through a pseudo-terminal, the Kaplan-Meier
//! figures, and the NET study script checked against R's answers.
//!
//! One test binary for the crate on purpose (each links DataFusion).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn survql() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_survql"));
    c.current_dir(workspace());
    c
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn run(args: &[&str]) -> Output {
    survql().args(args).output().expect("survql runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn golden() -> Value {
    let p = workspace().join("tests/data/golden/net_cohort.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn entry<'a>(g: &'a Value, id: &str) -> &'a Value {
    g["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no golden entry {id}"))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    a == b || (a - b).abs() <= tol * a.abs().max(b.abs())
}

#[path = "cli/cluster.rs"]
mod cluster;

mod non_interactive {
    use super::*;

    #[test]
    fn command_runs_the_users_query_on_the_demo_cohort() {
        let o = run(&["--format", "csv", "-c", "SELECT grade, km_median(os_months, died) AS m FROM demo.net_cohort GROUP BY grade ORDER BY grade"]);
        assert!(o.status.success(), "{}", stderr(&o));
        // R: survfit(Surv(os_months, died) ~ grade) medians; the NULL group is R's is.na(grade) subset.
        assert_eq!(
            stdout(&o),
            "grade,m\n1,78.5\n2,19.4\n3,18.7\nlarge,17.7\nsmall,9.3\n,21.4\n"
        );
    }

    #[test]
    fn every_format() {
        let sql = "SELECT km_summary(os_months, died) AS s, 'a|b' AS t FROM demo.net_cohort";
        let csv = stdout(&run(&["--format", "csv", "-c", sql]));
        assert_eq!(
            csv,
            "s.n,s.events,s.median,s.lower,s.upper,t\n103,66,26.9,21.4,37.3,a|b\n"
        );
        let tsv = stdout(&run(&["--format", "tsv", "-c", sql]));
        assert_eq!(
            tsv,
            "s.n\ts.events\ts.median\ts.lower\ts.upper\tt\n103\t66\t26.9\t21.4\t37.3\ta|b\n"
        );
        let json: Value =
            serde_json::from_str(&stdout(&run(&["--format", "json", "-c", sql]))).unwrap();
        assert_eq!(json[0]["s"]["median"], 26.9);
        assert_eq!(json[0]["s"]["n"], 103);
        let nd = stdout(&run(&["--format", "ndjson", "-c", sql]));
        let row: Value = serde_json::from_str(nd.lines().next().unwrap()).unwrap();
        assert_eq!(row["s"]["upper"], 37.3);
        let md = stdout(&run(&["--format", "markdown", "-c", sql]));
        assert!(
            md.starts_with("| s.n | s.events | s.median | s.lower | s.upper | t |\n|---|"),
            "{md}"
        );
        assert!(
            md.contains("| 103 | 66 | 26.9 | 21.4 | 37.3 | a\\|b |"),
            "{md}"
        );
        let table = stdout(&run(&["-c", sql]));
        assert!(
            table.contains("km_summary.median") || table.contains("s.median"),
            "{table}"
        );
        assert!(
            table.contains("26.9") && table.contains("(1 row)"),
            "{table}"
        );
    }

    #[test]
    fn table_format_rounds_and_csv_keeps_full_precision() {
        let sql = "SELECT km_survival(os_months, died, 36)['surv'] AS s FROM demo.net_cohort";
        // R: summary(survfit(...), times = 36)$surv = 0.4036947840200628
        assert_eq!(
            stdout(&run(&["--format", "csv", "-c", sql])),
            "s\n0.4036947840200628\n"
        );
        assert!(stdout(&run(&["-c", sql])).contains("0.403695"));
    }

    #[test]
    fn files_stdin_order_and_output_file() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("s.sql");
        std::fs::write(&script, "\\echo from file\nSELECT 2 AS b;\n").unwrap();
        let out = dir.path().join("out.csv");
        let o = run(&[
            "--format",
            "csv",
            "-c",
            "SELECT 1 AS a",
            "-f",
            script.to_str().unwrap(),
            "-c",
            "SELECT 3 AS c",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "a\n1\nfrom file\nb\n2\nc\n3\n"
        );

        let mut child = survql()
            .args(["--format", "csv"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"SELECT 40 + 2 AS answer;\nSELECT 'x' AS y;")
            .unwrap();
        let o = child.wait_with_output().unwrap();
        assert_eq!(stdout(&o), "answer\n42\ny\nx\n");
    }

    #[test]
    fn files_become_tables() {
        let data = workspace().join("tests/data");
        let o = run(&[
            data.join("aml.csv").to_str().unwrap(),
            data.join("lung.parquet").to_str().unwrap(),
            "-t",
            &format!("vet={}", data.join("veteran.parquet").display()),
            "--format",
            "csv",
            "-c",
            "SELECT (SELECT count(*) FROM aml) AS a, (SELECT count(*) FROM lung) AS l, (SELECT count(*) FROM vet) AS v",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "a,l,v\n23,228,137\n");
    }

    #[test]
    fn hive_partitioned_directory_is_one_table() {
        let dir = tempfile::tempdir().unwrap();
        let reg = dir.path().join("registry");
        for (year, region) in [(2020, "north"), (2021, "south")] {
            let sub = reg
                .join(format!("year={year}"))
                .join(format!("region={region}"));
            std::fs::create_dir_all(&sub).unwrap();
            let o = run(&[
                "-c",
                &format!(
                    "COPY (SELECT * FROM demo.net_cohort) TO '{}' STORED AS PARQUET",
                    sub.join("part-0.parquet").display()
                ),
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
        }
        let o = run(&[
            reg.to_str().unwrap(),
            "--format",
            "csv",
            "-c",
            "SELECT year, region, count(*) AS n FROM registry GROUP BY year, region ORDER BY year",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            stdout(&o),
            "year,region,n\n2020,north,103\n2021,south,103\n"
        );
    }

    /// Files as R's write.csv, SAS and Stata export them: `NA`, `.` and empty fields are
    /// missing values, read as NULL by default (the column stays numeric); `--csv-null ""`
    /// keeps them as text, and the type error then says what to do. R's 1/2 event coding
    /// gets a hint too.
    #[test]
    fn csv_missing_value_markers_from_r_sas_and_stata_read_as_null() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("r_export.csv");
        std::fs::write(
            &csv,
            "\"\",\"time\",\"status\",\"age\"\n\"1\",306,2,74\n\"2\",NA,2,68\n\"3\",1010,1,.\n\
             \"4\",210,2,\n\"5\",883,2,60\n\"6\",1022,1,74\n",
        )
        .unwrap();
        let table = format!("lung={}", csv.display());
        let o = run(&[
            "-t",
            &table,
            "--format",
            "csv",
            "-c",
            "SELECT count(time) AS n_time, count(age) AS n_age, km_median(time, status = 2) AS m FROM lung",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "n_time,n_age,m\n5,4,883\n");
        // R's coding passed as it is: the error says what to write.
        let o = run(&[
            "-t",
            &table,
            "-c",
            "SELECT km_median(time, status) FROM lung",
        ]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("found 2; for R's coding (1 = censored, 2 = event")
                && stderr(&o).contains("`status = 2`"),
            "{}",
            stderr(&o)
        );
        // Without the markers the column is text: the error names the way out.
        let o = run(&[
            "--csv-null",
            "",
            "-t",
            &table,
            "-c",
            "SELECT km_median(time, status = 2) FROM lung",
        ]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("argument 'time' must be numeric, found Utf8 (a text column")
                && stderr(&o).contains("--csv-null"),
            "{}",
            stderr(&o)
        );
    }

    #[test]
    fn first_failing_statement_exits_1_with_the_error_on_stderr() {
        let o = run(&["-c", "SELECT 1 AS ok; SELECT km_median(os_months, 2) FROM demo.net_cohort; SELECT 3 AS never"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("km_median: argument 'event' must be 0/1 or boolean, found 2"),
            "{}",
            stderr(&o)
        );
        assert!(stdout(&o).contains("ok") && !stdout(&o).contains("never"));
        let o = run(&["-c", "SELEC 1"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("Error"), "{}", stderr(&o));
        let o = run(&["no_such_file.parquet", "-c", "SELECT 1"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("no such file"), "{}", stderr(&o));
    }

    #[test]
    fn warnings_for_skipped_rows_go_to_stderr() {
        let o = run(&[
            "--format",
            "csv",
            "-c",
            "SELECT km_median(ttp_months, progressed) AS m FROM demo.net_cohort",
        ]);
        assert!(o.status.success());
        assert_eq!(stdout(&o), "m\n4.9\n");
        assert!(
            stderr(&o).contains("skipped 37 row(s) with a NULL argument"),
            "{}",
            stderr(&o)
        );
    }

    #[test]
    fn function_help() {
        let o = run(&["-c", "\\df"]);
        let out = stdout(&o);
        for f in [
            "km_median",
            "km_summary",
            "logrank_test",
            "cox_ph",
            "cox_zph",
            "prop_ci",
            "fisher_test",
            "nelson_aalen",
        ] {
            assert!(out.contains(f), "\\df lacks {f}: {out}");
        }
        let out = stdout(&run(&["-c", "\\h km_median"]));
        assert!(
            out.contains("km_median(time, event [, convention])")
                && out.contains("Example:")
                && out.contains("GROUP BY"),
            "{out}"
        );
    }
}

/// Options shared with datafusion-cli and psql: --maxrows / \pset, --partitions, --threads,
/// --batch-size, -r/--rc, and results streamed to -o files.
mod shell_options {
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
        assert!(
            stderr(&o).contains("\\pset maxrows: expected a number of rows or 'inf', found 'lots'")
        );
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
                    assert!(
                        text.starts_with("v\tthird\tkm_summary_struct.n\tkm_summary_struct.x\n")
                    );
                }
                2 => {
                    let rows: Value = serde_json::from_str(&text).unwrap();
                    let rows = rows.as_array().unwrap();
                    assert_eq!(rows.len(), 20000);
                    let mut seen: Vec<i64> =
                        rows.iter().map(|r| r["v"].as_i64().unwrap()).collect();
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
}

/// Tables on S3: a moto server (an S3-compatible server from PyPI) started by the test on
/// 127.0.0.1, credentials and endpoint from the usual AWS environment variables.
mod object_store_tables {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    /// `moto_server`: $SURVQL_MOTO_SERVER, the workspace's .venv (made by .ci/run), or PATH.
    fn moto_server() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("SURVQL_MOTO_SERVER") {
            return Some(PathBuf::from(p));
        }
        let venv = workspace().join(".venv/bin/moto_server");
        if venv.exists() {
            return Some(venv);
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("moto_server"))
                .find(|p| p.exists())
        })
    }

    /// The server, killed when dropped.
    struct Moto(std::process::Child, u16);
    impl Drop for Moto {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn start_moto(server: &Path) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto(child, port);
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("moto_server did not listen on {port}");
    }

    /// S3's CreateBucket, a bare `PUT /bucket` (moto does not check signatures).
    fn create_bucket(port: u16, bucket: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        assert!(
            reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"),
            "{reply}"
        );
    }

    fn survql_s3(port: u16, args: &[&str]) -> Output {
        survql()
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .args(args)
            .output()
            .unwrap()
    }

    #[test]
    fn s3_tables_read_write_and_partitions() {
        let Some(server) = moto_server() else {
            assert!(
                std::env::var_os("SURVQL_REQUIRE_S3_TEST").is_none(),
                "SURVQL_REQUIRE_S3_TEST is set but moto_server is not installed"
            );
            eprintln!(
                "note: moto_server not found (pip install 'moto[s3,server]'): S3 test not run"
            );
            return;
        };
        let moto = start_moto(&server);
        let port = moto.1;
        create_bucket(port, "registry");
        // Write the demo cohort to the bucket: one file, and Hive-partitioned by sex.
        let o = survql_s3(
            port,
            &[
                "-q",
                "-c",
                "COPY (SELECT * FROM demo.net_cohort) TO 's3://registry/cohort.parquet' STORED AS PARQUET",
                "-c",
                "COPY (SELECT * FROM demo.net_cohort) TO 's3://registry/by_sex/' STORED AS PARQUET PARTITIONED BY (sex)",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let medians = "grade,m\n1,78.5\n2,19.4\n3,18.7\nlarge,17.7\nsmall,9.3\n,21.4\n";
        let by_grade = |table: &str| {
            format!("SELECT grade, km_median(os_months, died) AS m FROM {table} GROUP BY grade ORDER BY grade")
        };
        // -t NAME=s3://..., the numbers of the local table (R's, as in the tests above).
        let o = survql_s3(
            port,
            &[
                "--format",
                "csv",
                "-t",
                "c=s3://registry/cohort.parquet",
                "-c",
                &by_grade("c"),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), medians);
        // CREATE EXTERNAL TABLE ... LOCATION 's3://...'.
        let o = survql_s3(
            port,
            &[
                "--format",
                "csv",
                "-c",
                "CREATE EXTERNAL TABLE c2 STORED AS PARQUET LOCATION 's3://registry/cohort.parquet'",
                "-c",
                &by_grade("c2"),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), medians);
        // A partitioned folder: the partition column comes back, every row is there.
        let o = survql_s3(
            port,
            &[
                "--format",
                "csv",
                "-t",
                "p=s3://registry/by_sex/",
                "-c",
                "SELECT count(*) AS n, count(DISTINCT sex) AS sexes, km_median(os_months, died) AS m FROM p",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "n,sexes,m\n103,2,26.9\n");
        // A bucket that does not exist: an error, not a panic.
        let o = survql_s3(
            port,
            &["-t", "x=s3://no-such-bucket/a.parquet", "-c", "SELECT 1"],
        );
        assert!(!o.status.success());
        assert!(stderr(&o).contains("no-such-bucket"), "{}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}

mod plots {
    use super::*;

    /// `--plot` options arrive as parsed values: quotes in a title and spaces in a path survive
    /// (they were once re-assembled into a `\plot` command line and re-parsed).
    #[test]
    fn plot_flags_are_not_reparsed() {
        let dir = tempfile::tempdir().unwrap();
        let svg = dir
            .path()
            .join("a folder with spaces")
            .join("km \"by\" grade.svg");
        let o = run(&[
            "--plot",
            "km --xlab \"Months since diagnosis\"",
            "--title",
            "OS \"by\" grade; p < .05",
            "-o",
            svg.to_str().unwrap(),
            "-c",
            "SELECT grade, os_months, died FROM demo.net_cohort WHERE grade IS NOT NULL -- SELECT in a comment",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(
            text.contains("OS &quot;by&quot; grade; p &lt; .05")
                || text.contains("OS \"by\" grade; p &lt; .05"),
            "the title lost its quotes"
        );
        assert!(text.contains("Months since diagnosis"));
        let o = run(&["--plot", "km SELECT 1", "-c", "SELECT 1"]);
        assert!(
            stderr(&o).contains("give the query in -c"),
            "{}",
            stderr(&o)
        );
    }

    /// The number-at-risk values drawn in the SVG are those of km_survival at the ticks.
    #[test]
    fn svg_and_png_with_risk_table() {
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("km.svg");
        let png = dir.path().join("km.png");
        let q = "SELECT grade, os_months, died FROM demo.net_cohort WHERE grade IS NOT NULL";
        // The PNG through --plot, the SVG through the \plot command with a tick spacing.
        let o = run(&[
            "--plot",
            "km",
            "--ci",
            "--title",
            "OS by grade",
            "-o",
            png.to_str().unwrap(),
            "-c",
            q,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let cmd = format!(
            "\\plot km -o {} --ci --title \"OS by grade\" --break 25 {q};",
            svg.display()
        );
        let o = run(&["-c", &cmd]);
        assert!(o.status.success(), "{}", stderr(&o));
        let png_bytes = std::fs::read(&png).unwrap();
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height.
        let w = u32::from_be_bytes(png_bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png_bytes[20..24].try_into().unwrap());
        assert_eq!((w, h), (900, 640));
        assert!(png_bytes.len() > 20_000);

        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(
            text.starts_with("<svg")
                && text.contains("width=\"900\"")
                && text.contains("height=\"640\"")
        );
        assert!(
            text.contains("Number at risk")
                && text.contains("OS by grade")
                && text.contains("Log-rank p")
        );
        // Texts of the SVG, in order.
        let texts: Vec<String> = text
            .split("<text")
            .skip(1)
            .map(|t| {
                let body = &t[t.find('>').unwrap() + 1..];
                body[..body.find("</text>").unwrap()].trim().to_owned()
            })
            .collect();
        let start = texts.iter().position(|t| t == "Number at risk").unwrap();
        // --break 25 over [0, 157.3]: ticks 0, 25, ..., 150.
        let ticks = [0, 25, 50, 75, 100, 125, 150];
        let groups = ["1", "2", "3", "large", "small"];
        let mut k = start + 1;
        for g in groups {
            assert_eq!(texts[k], g, "risk table row label");
            let drawn: Vec<i64> = texts[k + 1..k + 1 + ticks.len()]
                .iter()
                .map(|t| t.parse().unwrap())
                .collect();
            let sql: Vec<String> = ticks
                .iter()
                .map(|t| format!("km_survival(os_months, died, {t})['n_risk']"))
                .collect();
            let o = run(&[
                "--format",
                "csv",
                "-c",
                &format!(
                    "SELECT {} FROM demo.net_cohort WHERE grade = '{g}'",
                    sql.join(", ")
                ),
            ]);
            let want: Vec<i64> = stdout(&o)
                .lines()
                .nth(1)
                .unwrap()
                .split(',')
                .map(|v| v.parse().unwrap())
                .collect();
            assert_eq!(drawn, want, "number at risk of grade {g}");
            k += 1 + ticks.len();
        }
    }

    #[test]
    fn terminal_plot() {
        let o = run(&[
            "-c",
            "\\plot km --break 24 SELECT liver_mets, os_months, died FROM demo.net_cohort;",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains("Number at risk") && out.contains("Log-rank p = 0.155"),
            "{out}"
        );
        assert!(
            out.contains("false (n = 32, events = 18)")
                && out.contains("true (n = 71, events = 48)"),
            "{out}"
        );
    }

    /// `--set survql.convention=sas` gives what the per-call argument gives; a bad value is an
    /// error before anything runs.
    #[test]
    fn session_settings_from_the_command_line() {
        let sql = "SELECT km_summary(os_months, died)['lower'] FROM demo.net_cohort";
        let set = run(&[
            "-q",
            "--format",
            "csv",
            "--set",
            "survql.convention=sas",
            "-c",
            sql,
        ]);
        let per_call = run(&[
            "-q",
            "--format",
            "csv",
            "-c",
            "SELECT km_summary(os_months, died, 'sas')['lower'] FROM demo.net_cohort",
        ]);
        assert!(set.status.success(), "{}", stderr(&set));
        let value = |o: &std::process::Output| stdout(o).lines().nth(1).unwrap_or("").to_owned();
        assert_eq!(value(&set), "20.6");
        assert_eq!(value(&set), value(&per_call));
        let help = stdout(&run(&["-q", "-c", "\\h convention"]));
        assert!(
            help.contains("SET survql.convention") && help.contains("CAMIS"),
            "{help}"
        );
        let bad = run(&["--set", "survql.convention=minitab", "-c", "SELECT 1"]);
        assert!(
            !bad.status.success() && stderr(&bad).contains("survql.convention must be one of"),
            "{}",
            stderr(&bad)
        );
    }

    /// `\plot curve` draws curves the query computed: km_curve by group gives the figure of
    /// `\plot km` on the raw rows (the same grid and number-at-risk table, no p-value);
    /// cox_curve profiles have no number-at-risk table.
    #[test]
    fn computed_curve_plots() {
        let raw = run(&[
            "-q",
            "-c",
            "\\plot km --break 24 SELECT liver_mets, os_months, died FROM demo.net_cohort;",
        ]);
        let computed = run(&[
            "-q",
            "-c",
            "\\plot curve --break 24 SELECT liver_mets, km_curve(os_months, died) FROM demo.net_cohort GROUP BY liver_mets;",
        ]);
        assert!(computed.status.success(), "{}", stderr(&computed));
        let raw = stdout(&raw).replace("  Log-rank p = 0.155\n", "");
        assert_eq!(stdout(&computed), raw);
        let profiles = "SELECT 'grade 1' AS profile, cox_curve(os_months, died, age, grade, 'age=60, grade=1') FROM demo.net_cohort \
                        UNION ALL SELECT 'grade 3', cox_curve(os_months, died, age, grade, 'age=60, grade=3') FROM demo.net_cohort";
        let o = run(&["-q", "-c", &format!("\\plot curve {profiles};")]);
        let out = stdout(&o);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            out.contains("* grade 1\n  o grade 3") && !out.contains("Number at risk"),
            "{out}"
        );
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("cox.svg");
        let o = run(&[
            "-q",
            "--plot",
            "curve --ci",
            "-o",
            svg.to_str().unwrap(),
            "-c",
            profiles,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(
            text.contains("grade 3") && text.contains("<polygon"),
            "no band in the SVG"
        );
        let o = run(&[
            "-c",
            "\\plot curve SELECT 'a', km_curve(os_months, died) FROM demo.net_cohort UNION ALL SELECT 'a', km_curve(ttp_months, progressed) FROM demo.net_cohort;",
        ]);
        assert!(
            stderr(&o).contains("two rows have the label 'a'"),
            "{}",
            stderr(&o)
        );
        let o = run(&["-c", "\\plot curve SELECT 'a', 1;"]);
        assert!(
            stderr(&o).contains("the last column must be a curve"),
            "{}",
            stderr(&o)
        );
    }

    /// `\plot forest`: each term of the model with exp(coef) and the limits cox_ph reports;
    /// survreg's time ratios are exp of its (coefficient-scale) limits, without the intercept.
    #[test]
    fn forest_plots() {
        let model = "cox_ph(os_months, died, age, liver_mets)";
        let o = run(&[
            "-q",
            "-c",
            &format!("\\plot forest SELECT {model} FROM demo.net_cohort;"),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let o = run(&[
            "--format",
            "csv",
            "-c",
            &format!("SELECT t['exp_coef'], t['lower'], t['upper'] FROM (SELECT unnest({model}['terms']) AS t FROM demo.net_cohort) WHERE t['term'] = 'liver_metsTRUE'"),
        ]);
        let v: Vec<f64> = stdout(&o)
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .map(|x| x.parse().unwrap())
            .collect();
        let want = format!("{:.2} ({:.2}-{:.2})", v[0], v[1], v[2]);
        let line = out
            .lines()
            .find(|l| l.starts_with("liver_metsTRUE"))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains(&want), "{line} lacks {want}");
        let o = run(&[
            "-q",
            "-c",
            "\\plot forest SELECT survreg(os_months, died, age) FROM demo.net_cohort;",
        ]);
        let out = stdout(&o);
        assert!(
            out.contains("TR (95% CI)") && !out.contains("(Intercept)"),
            "{out}"
        );
        let o = run(&["-c", "\\plot forest SELECT 1;"]);
        assert!(
            stderr(&o).contains("the query must return a model"),
            "{}",
            stderr(&o)
        );
    }

    /// `\plot cif`: progression with death as the competing event, by liver metastases; the
    /// p-value shown is gray_test's, the curves cif_curve's; `--plot "cif --stacked"` writes
    /// the causes of one sample.
    #[test]
    fn cumulative_incidence_plots() {
        let status = "CASE WHEN progressed = 1 THEN 1 WHEN died = 1 THEN 2 ELSE 0 END";
        let q = format!("SELECT liver_mets, ttp_months, {status} FROM demo.net_cohort");
        let o = run(&["-c", &format!("\\plot cif --break 12 {q};")]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains("Cumulative incidence") && out.contains("Number at risk"),
            "{out}"
        );
        let shown: f64 = out
            .split("Gray's test p = ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no p-value: {out}"))
            .parse()
            .unwrap();
        let o = run(&[
            "--format",
            "csv",
            "-c",
            &format!("SELECT gray_test(ttp_months, {status}, 1, liver_mets)['p_value'] FROM demo.net_cohort"),
        ]);
        let p: f64 = stdout(&o).lines().nth(1).unwrap().parse().unwrap();
        assert!(
            (shown - p).abs() < 0.0005 + 1e-12,
            "shown {shown}, gray_test {p}"
        );
        // Cause 2 and the stacked causes of the whole cohort, as figures.
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("cif.svg");
        let o = run(&[
            "-c",
            &format!("\\plot cif --cause 2 --ci -o {} {q};", svg.display()),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(&svg).unwrap();
        // (The SVG escapes the apostrophe.)
        assert!(
            text.contains("Cumulative incidence") && text.contains("s test p = "),
            "{text}"
        );
        let stacked = dir.path().join("stacked.png");
        let o = run(&[
            "--plot",
            "cif --stacked",
            "-o",
            stacked.to_str().unwrap(),
            "-c",
            &format!("SELECT ttp_months, {status} FROM demo.net_cohort"),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(&std::fs::read(&stacked).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
        // --stacked with a group column is an error that says why.
        let o = run(&["-c", &format!("\\plot cif --stacked {q};")]);
        assert!(
            stderr(&o).contains("--stacked draws the causes of one sample"),
            "{}",
            stderr(&o)
        );
    }
}

/// Issue 11's crashes, as a user typed them, and the memory limit.
mod hardening {
    use super::*;

    /// Regression: a non-ASCII group label panicked the shell (byte-index truncate).
    #[test]
    fn plot_with_non_ascii_labels() {
        let q = "\\plot km SELECT CASE WHEN grade='1' THEN 'Patienten ≥ 70 Jahre' ELSE 'jünger als 70' END, os_months, died FROM demo.net_cohort;";
        let o = run(&["-c", q]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        assert!(out.contains("Patienten ≥ 70 Jahre (n = "), "{out}");
        assert!(out.contains("jünger als 70 (n = "), "{out}");
        let dir = tempfile::tempdir().unwrap();
        let svg = dir.path().join("labels.svg");
        let q = format!("\\plot km -o {} {}", svg.display(), &q[9..]);
        let o = run(&["-c", &q]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(std::fs::read_to_string(&svg)
            .unwrap()
            .contains("jünger als 70"));
    }

    /// Regression: `--break 0.000001` ran for 20 s and grew past 4 GB; now a clear error at
    /// once, like every other out-of-range option.
    #[test]
    fn plot_options_out_of_range_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f.svg");
        let q = |opts: &str| {
            format!(
                "\\plot km -o {} {opts} SELECT grade, os_months, died FROM demo.net_cohort;",
                f.display()
            )
        };
        let started = std::time::Instant::now();
        let o = run(&["-c", &q("--break 0.000001")]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("--break 0.000001 gives") && stderr(&o).contains("at most 60"),
            "{}",
            stderr(&o)
        );
        assert!(
            started.elapsed().as_secs() < 20,
            "took {:?}",
            started.elapsed()
        );
        for (opts, msg) in [
            ("--break -1", "--break must be a positive number"),
            ("--xmax 0", "--xmax must be a positive number"),
            ("--width 100000", "--width must be a whole number of pixels"),
            ("--height abc", "--height must be a number"),
        ] {
            let o = run(&["-c", &q(opts)]);
            assert!(!o.status.success(), "{opts}");
            assert!(stderr(&o).contains(msg), "{opts}: {}", stderr(&o));
        }
        assert!(!f.exists());
    }

    /// The same flag parsing as the shell, with a clear error for a bad size.
    #[test]
    fn memory_limit_flag() {
        for bad in ["lots", "-1G", "10Q", "0%", "1K"] {
            let o = run(&[&format!("--memory-limit={bad}"), "-c", "SELECT 1;"]);
            assert!(!o.status.success(), "{bad}");
            assert!(
                stderr(&o).contains("--memory-limit"),
                "{bad}: {}",
                stderr(&o)
            );
        }
        for good in ["2G", "512M", "50%", "none"] {
            let o = run(&[
                "--memory-limit",
                good,
                "-q",
                "-c",
                "SELECT km_median(os_months, died) FROM demo.net_cohort;",
            ]);
            assert!(o.status.success(), "{good}: {}", stderr(&o));
        }
    }

    /// Kaplan-Meier over one group with 5e7 distinct times under a 1 GiB limit: the state's
    /// reported size (counts plus what evaluation allocates) reaches the limit and DataFusion
    /// refuses the query with "Resources exhausted" — never an OS kill — and the peak RSS
    /// stays near the limit. The same rows with 1,000 distinct times complete.
    #[test]
    fn kaplan_meier_over_the_memory_limit_fails_cleanly() {
        let sql = "SELECT km_median(CAST(value AS DOUBLE), value % 2) FROM range(50000000);";
        let (o, peak) = run_measured(&["--memory-limit", "1G", "-q", "-c", sql]);
        let err = stderr(&o);
        eprintln!(
            "5e7 distinct times under 1G: exit {:?}, peak RSS {} MB",
            o.status.code(),
            peak >> 20
        );
        assert!(
            o.status.success() || err.contains("Resources exhausted"),
            "neither a result nor a clear error: {err}"
        );
        assert!(o.status.code().is_some(), "killed by a signal");
        assert!(peak < 1_600 << 20, "peak RSS {} MB", peak >> 20);
        let sql =
            "SELECT km_median(CAST(value % 1000 AS DOUBLE), value % 2) AS m FROM range(50000000);";
        let (o, peak) = run_measured(&["--memory-limit", "1G", "-q", "--format", "csv", "-c", sql]);
        eprintln!(
            "5e7 rows, 1e3 distinct times under 1G: peak RSS {} MB",
            peak >> 20
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("m\n"), "{}", stdout(&o));
    }

    /// A Cox fit's reported state size counts a factor's levels as model columns, but not
    /// the ids of `cluster(id)`: 20,000 rows, each its own cluster (as recurrent-event data
    /// with one id per patient), fit under a 256 MiB limit. (Counted as 20,000 columns, the
    /// estimate was 6.4 GB and the query was refused.)
    #[test]
    fn cox_with_one_cluster_per_row_fits_under_a_small_memory_limit() {
        let sql = "SELECT cox_ph(CAST(value % 97 AS DOUBLE) + 1, value % 3 = 0, \
                   CAST(value % 13 AS DOUBLE), cluster(value))['n'] AS n FROM range(20000);";
        let o = run(&["--memory-limit", "256M", "-q", "--format", "csv", "-c", sql]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "n\n20000\n");
    }

    /// `cox_ph` reads the group's numeric columns in place, so its state counts no copy of
    /// them for the fit: 1e6 rows × 6 covariates (57 MB of rows) fit under a 200 MiB limit.
    /// (Counted as two copies of the model matrix, the estimate was 273 MB and the query
    /// was refused.)
    #[test]
    fn cox_counts_no_copy_of_columns_it_reads_in_place() {
        let sql = "SELECT cox_ph(CAST(value % 97 AS DOUBLE) + 1, value % 3 = 0, \
                   CAST(value % 13 AS DOUBLE), CAST(value % 7 AS DOUBLE), \
                   CAST(value % 11 AS DOUBLE), CAST(value % 5 AS DOUBLE), \
                   CAST(value % 17 AS DOUBLE), CAST(value % 19 AS DOUBLE))['n'] AS n \
                   FROM range(1000000);";
        let o = run(&["--memory-limit", "200M", "-q", "--format", "csv", "-c", sql]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "n\n1000000\n");
    }

    /// Runs survql, sampling its peak resident set (VmHWM) until it exits.
    fn run_measured(args: &[&str]) -> (Output, u64) {
        let mut child = survql()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let status_file = format!("/proc/{}/status", child.id());
        let mut peak = 0u64;
        let mut out = Vec::new();
        let mut err = Vec::new();
        let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let readers = std::thread::spawn(move || {
            use std::io::Read;
            let mut e = Vec::new();
            let h = std::thread::spawn(move || {
                let _ = se.read_to_end(&mut e);
                e
            });
            let mut o = Vec::new();
            let _ = so.read_to_end(&mut o);
            (o, h.join().unwrap())
        });
        loop {
            if let Ok(text) = std::fs::read_to_string(&status_file) {
                if let Some(kb) = text
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    peak = peak.max(kb * 1024);
                }
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let status = child.wait().unwrap();
        if let Ok((o, e)) = readers.join() {
            out = o;
            err = e;
        }
        (
            Output {
                status,
                stdout: out,
                stderr: err,
            },
            peak,
        )
    }
}

mod interactive {
    use rexpect::session::PtySession;

    fn shell() -> PtySession {
        let home = tempfile::tempdir().unwrap().keep();
        let cmd = format!(
            "env HOME={} TERM=dumb {} -q",
            home.display(),
            env!("CARGO_BIN_EXE_survql")
        );
        rexpect::spawn(&cmd, Some(60_000)).expect("spawn survql")
    }

    #[test]
    fn a_session() {
        let mut p = shell();
        p.exp_string("survql> ").unwrap();
        // A statement over several lines.
        p.send_line("SELECT km_median(os_months, died) AS m")
            .unwrap();
        p.send_line("FROM demo.net_cohort;").unwrap();
        p.exp_string("26.9").unwrap();
        p.exp_string("survql> ").unwrap();
        p.send_line("\\d").unwrap();
        p.exp_string("net_cohort").unwrap();
        p.exp_string("survql> ").unwrap();
        p.send_line("\\d demo.net_cohort").unwrap();
        p.exp_string("os_months").unwrap();
        p.exp_string("survql> ").unwrap();
        p.send_line("\\df").unwrap();
        p.exp_string("cox_zph").unwrap();
        p.exp_string("survql> ").unwrap();
        p.send_line("\\h km_median").unwrap();
        p.exp_string("Example:").unwrap();
        p.exp_string("survql> ").unwrap();
        // A syntax error does not end the session.
        p.send_line("SELEC nonsense;").unwrap();
        p.exp_string("Error").unwrap();
        p.exp_string("survql> ").unwrap();
        p.send_line("SELECT 6 * 7 AS answer;").unwrap();
        p.exp_string("42").unwrap();
        p.exp_string("survql> ").unwrap();
        // The shell prints at most 40 rows of a table, as datafusion-cli; \pset changes it.
        p.send_line("SELECT value FROM range(100);").unwrap();
        p.exp_string("(100 rows; first 40 shown").unwrap();
        p.exp_string("survql> ").unwrap();
        p.send_line("\\pset maxrows 3").unwrap();
        p.exp_string("survql> ").unwrap();
        p.send_line("SELECT value FROM range(100);").unwrap();
        p.exp_string("(100 rows; first 3 shown").unwrap();
        p.exp_string("survql> ").unwrap();
        // Ctrl-C cancels a long query, not the shell.
        p.send_line("SELECT count(*) FROM range(1, 100000000000) WHERE value % 7 = 3;")
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        p.send_control('c').unwrap();
        p.exp_string("query cancelled").unwrap();
        p.exp_string("survql> ").unwrap();
        p.send_line("SELECT 'still here' AS s;").unwrap();
        p.exp_string("still here").unwrap();
        p.exp_string("survql> ").unwrap();
        p.send_line("\\q").unwrap();
        p.exp_eof().unwrap();
    }

    /// On a real terminal type: keywords are highlighted, Tab completes a function name and a
    /// long query shows the progress spinner on stderr until Ctrl-C cancels it.
    #[test]
    fn completion_and_progress_on_a_terminal() {
        let home = tempfile::tempdir().unwrap().keep();
        let cmd = format!(
            "env HOME={} TERM=xterm {}",
            home.display(),
            env!("CARGO_BIN_EXE_survql")
        );
        let mut p = rexpect::spawn(&cmd, Some(60_000)).expect("spawn survql");
        p.exp_string("demo.net_cohort (103 patients) is loaded")
            .unwrap();
        let prompt = |p: &mut PtySession| p.exp_string("survql> ").unwrap();
        // Keys are sent unbuffered, as typed.
        let keys = |p: &mut PtySession, keys: &str| {
            p.send(keys).unwrap();
            p.flush().unwrap();
        };
        prompt(&mut p);
        keys(&mut p, "SELECT round(km_medi");
        // Keywords are highlighted as typed.
        p.exp_string("\x1b[1;34mSELECT\x1b[0m").unwrap();
        keys(&mut p, "\t");
        keys(&mut p, "(os_months, died), 3) AS m FROM demo.net_cohort;\r");
        p.exp_string("26.9").unwrap();
        prompt(&mut p);
        keys(
            &mut p,
            "SELECT count(*) FROM range(1, 100000000000) WHERE value % 7 = 3;\r",
        );
        p.exp_string("rows read").unwrap();
        p.send_control('c').unwrap();
        p.exp_string("query cancelled").unwrap();
        prompt(&mut p);
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
    }

    #[test]
    fn ctrl_d_exits() {
        let mut p = shell();
        p.exp_string("survql> ").unwrap();
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
    }
}

mod net_study {
    use super::*;

    const TOL: f64 = 1e-9;

    /// Rows printed by the script (ndjson), keyed by the title line they follow.
    fn script_rows() -> Vec<(String, serde_json::Map<String, Value>)> {
        let figs = tempfile::tempdir().unwrap();
        let o = run(&[
            "--format",
            "ndjson",
            "-q",
            "--figures",
            figs.path().to_str().unwrap(),
            "-f",
            "sql/net_study.sql",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        for f in [
            "figure1_os.svg",
            "figure2_os_by_treatment.svg",
            "figure3_os_by_grade.svg",
            "figure4_ttp.svg",
            "figure5_ttp_by_liver.svg",
        ] {
            let text = std::fs::read_to_string(figs.path().join(f))
                .unwrap_or_else(|_| panic!("{f} not written"));
            assert!(text.contains("Number at risk"), "{f}");
        }
        // The forest plot of the multivariable Cox model: every term with its HR (95% CI).
        let forest = std::fs::read_to_string(figs.path().join("figure6_cox_forest.svg"))
            .expect("figure6_cox_forest.svg written");
        assert!(
            forest.contains("HR (95% CI)") && forest.contains("liver_metsTRUE"),
            "{forest}"
        );
        let mut title = String::new();
        let mut rows = vec![];
        for line in stdout(&o).lines() {
            if line.starts_with("====") {
                title = line.trim_matches('=').trim().to_owned();
            } else if line.starts_with('{') {
                let v: Value = serde_json::from_str(line).unwrap();
                rows.push((title.clone(), v.as_object().unwrap().clone()));
            }
        }
        rows
    }

    struct Check {
        failures: Vec<String>,
        n: usize,
    }

    impl Check {
        fn num(&mut self, what: &str, got: &Value, want: &Value, tol: f64) {
            self.n += 1;
            let ok = match (got.as_f64(), want.as_f64()) {
                (Some(a), Some(b)) => close(a, b, tol),
                (None, None) => got.is_null() && want.is_null(),
                _ => false,
            };
            if !ok {
                self.failures
                    .push(format!("{what}: printed {got}, R {want}"));
            }
        }
    }

    fn find<'a>(
        rows: &'a [(String, serde_json::Map<String, Value>)],
        table: &str,
        key: &str,
        value: &str,
        level: Option<&str>,
    ) -> &'a serde_json::Map<String, Value> {
        rows.iter()
            .find(|(t, r)| {
                t.starts_with(table) && r[key] == value && level.is_none_or(|l| r["level"] == l)
            })
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no row {key} = {value} {level:?} in {table}"))
    }

    #[test]
    fn printed_numbers_match_r() {
        let rows = script_rows();
        let g = golden();
        let mut c = Check {
            failures: vec![],
            n: 0,
        };
        let group = |id: &str, label: &Value| -> Value {
            entry(&g, id)["result"]["groups"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| &x["group"] == label || label.is_null())
                .unwrap()
                .clone()
        };

        // Abstract.
        let abs = |m: &str| find(&rows, "Abstract", "measure", m, None).clone();
        let os = group("net_cohort/km/os/overall", &Value::Null);
        let r = abs("median OS (months)");
        c.num("median OS", &r["estimate"], &os["median"]["estimate"], TOL);
        c.num(
            "median OS lower",
            &r["lower"],
            &os["median"]["ci"]["log"]["lower"],
            TOL,
        );
        c.num(
            "median OS upper",
            &r["upper"],
            &os["median"]["ci"]["log"]["upper"],
            TOL,
        );
        let r = abs("3-year OS rate");
        c.num("3-year OS", &r["estimate"], &os["at_times"]["surv"][1], TOL);
        c.num(
            "3-year OS lower",
            &r["lower"],
            &os["at_times"]["ci"]["log"]["lower"][1],
            TOL,
        );
        c.num(
            "3-year OS upper",
            &r["upper"],
            &os["at_times"]["ci"]["log"]["upper"][1],
            TOL,
        );
        let fu = group("net_cohort/followup/os/overall", &Value::Null);
        let r = abs("median follow-up (reverse KM, months)");
        c.num("follow-up", &r["estimate"], &fu["median"]["estimate"], TOL);
        c.num(
            "follow-up lower",
            &r["lower"],
            &fu["median"]["ci"]["log"]["lower"],
            TOL,
        );
        c.num(
            "follow-up upper",
            &r["upper"],
            &fu["median"]["ci"]["log"]["upper"],
            TOL,
        );
        let ttp = group("net_cohort/km/ttp/overall", &Value::Null);
        let r = abs("median TTP, systemic patients (months)");
        c.num(
            "median TTP",
            &r["estimate"],
            &ttp["median"]["estimate"],
            TOL,
        );
        c.num(
            "median TTP lower",
            &r["lower"],
            &ttp["median"]["ci"]["log"]["lower"],
            TOL,
        );
        c.num(
            "median TTP upper",
            &r["upper"],
            &ttp["median"]["ci"]["log"]["upper"],
            TOL,
        );
        let r = abs("1-year progression-free rate");
        c.num(
            "1-year PFS",
            &r["estimate"],
            &ttp["at_times"]["surv"][2],
            TOL,
        );
        c.num(
            "1-year PFS lower",
            &r["lower"],
            &ttp["at_times"]["ci"]["log"]["lower"][2],
            TOL,
        );
        for (m, id) in [
            (
                "ORR (CR+PR), evaluable systemic patients",
                "net_cohort/prop_ci/orr",
            ),
            (
                "DCR (CR+PR+SD), evaluable systemic patients",
                "net_cohort/prop_ci/dcr",
            ),
        ] {
            let r = abs(m);
            let w = &entry(&g, id)["result"];
            c.num(m, &r["estimate"], &w["estimate"], TOL);
            c.num(m, &r["lower"], &w["clopper_pearson"]["lower"], TOL);
            c.num(m, &r["upper"], &w["clopper_pearson"]["upper"], TOL);
        }

        // Table 2: per level, against R's by-variable fits; p where the levels are R's.
        // (characteristic, R's by-variable fit, (printed level, R group) pairs, R's log-rank entry)
        type Levels<'a> = (&'a str, &'a str, Vec<(&'a str, Value)>, Option<&'a str>);
        let levels: [Levels; 5] = [
            (
                "Sex",
                "by_sex",
                vec![("F", "F".into()), ("M", "M".into())],
                Some("net_cohort/logrank/os/by_sex"),
            ),
            (
                "Origin",
                "by_origin",
                ["gi", "lung", "other", "pancreas", "unknown"]
                    .iter()
                    .map(|l| (*l, Value::from(*l)))
                    .collect(),
                Some("net_cohort/logrank/os/by_origin"),
            ),
            (
                "Liver metastasis",
                "by_liver_mets",
                vec![("absent", false.into()), ("present", true.into())],
                Some("net_cohort/logrank/os/by_liver_mets"),
            ),
            (
                "Grade",
                "by_grade",
                ["1", "2", "3", "large", "small"]
                    .iter()
                    .map(|l| (*l, Value::from(*l)))
                    .collect(),
                Some("net_cohort/logrank/os/by_grade"),
            ),
            (
                "Treatment modality",
                "by_treatment",
                ["both", "local", "systemic"]
                    .iter()
                    .map(|l| (*l, Value::from(*l)))
                    .collect(),
                None,
            ),
        ];
        for (ch, by, lv, lr) in &levels {
            for (label, gv) in lv {
                let r = find(&rows, "Table 2", "characteristic", ch, Some(label));
                let w = group(&format!("net_cohort/km/os/{by}"), gv);
                let what = format!("Table 2 {ch} {label}");
                c.num(&format!("{what} n"), &r["n"], &w["n"], 0.0);
                c.num(&format!("{what} deaths"), &r["deaths"], &w["events"], 0.0);
                c.num(
                    &format!("{what} median"),
                    &r["median_os"],
                    &w["median"]["estimate"],
                    TOL,
                );
                c.num(
                    &format!("{what} lcl"),
                    &r["lcl"],
                    &w["median"]["ci"]["log"]["lower"],
                    TOL,
                );
                c.num(
                    &format!("{what} ucl"),
                    &r["ucl"],
                    &w["median"]["ci"]["log"]["upper"],
                    TOL,
                );
                c.num(
                    &format!("{what} 3y"),
                    &r["os_3y"],
                    &w["at_times"]["surv"][1],
                    TOL,
                );
                if let Some(id) = lr {
                    c.num(
                        &format!("{what} p"),
                        &r["logrank_p"],
                        &entry(&g, id)["result"]["p"],
                        TOL,
                    );
                }
            }
        }

        // Table 2's Gehan-Breslow column: lifelines' multivariate_logrank_test(weightings =
        // 'wilcoxon') on the same levels (tests/oracle/net_study_gehan.py); every row of a
        // characteristic carries its test.
        let gehan: Value = serde_json::from_str(
            &std::fs::read_to_string(workspace().join("tests/data/oracle/net_study_gehan.json"))
                .unwrap(),
        )
        .unwrap();
        let gehan = gehan["gehan_p"].as_object().unwrap();
        assert_eq!(gehan.len(), 7);
        for (ch, want) in gehan {
            let printed: Vec<_> = rows
                .iter()
                .filter(|(t, r)| t.starts_with("Table 2") && r["characteristic"] == ch.as_str())
                .collect();
            assert!(!printed.is_empty(), "Table 2 has no rows for {ch}");
            for (_, r) in printed {
                c.num(
                    &format!("Table 2 {ch} Gehan p"),
                    &r["gehan_p"],
                    &want["p"],
                    TOL,
                );
            }
        }

        // Table 5: TTP overall and by liver metastasis.
        let all = find(&rows, "Table 5", "characteristic", "All", None);
        c.num(
            "Table 5 median TTP",
            &all["median_ttp"],
            &ttp["median"]["estimate"],
            TOL,
        );
        c.num(
            "Table 5 1-year PFS",
            &all["pfs_1y"],
            &ttp["at_times"]["surv"][2],
            TOL,
        );
        for (label, gv) in [
            ("absent", Value::from(false)),
            ("present", Value::from(true)),
        ] {
            let r = find(
                &rows,
                "Table 5",
                "characteristic",
                "Liver metastasis",
                Some(label),
            );
            let w = group("net_cohort/km/ttp/by_liver_mets", &gv);
            c.num(
                &format!("Table 5 TTP {label}"),
                &r["median_ttp"],
                &w["median"]["estimate"],
                TOL,
            );
            c.num(
                &format!("Table 5 TTP lcl {label}"),
                &r["ttp_lcl"],
                &w["median"]["ci"]["log"]["lower"],
                TOL,
            );
            c.num(
                &format!("Table 5 TTP ucl {label}"),
                &r["ttp_ucl"],
                &w["median"]["ci"]["log"]["upper"],
                TOL,
            );
            c.num(
                &format!("Table 5 PFS {label}"),
                &r["pfs_1y"],
                &w["at_times"]["surv"][2],
                TOL,
            );
            c.num(
                &format!("Table 5 TTP p {label}"),
                &r["ttp_p"],
                &entry(&g, "net_cohort/logrank/ttp/by_liver_mets")["result"]["p"],
                TOL,
            );
        }

        // Table 6: response rates and tests.
        let all = find(&rows, "Table 6", "characteristic", "All", None);
        c.num(
            "Table 6 ORR",
            &all["orr"],
            &entry(&g, "net_cohort/prop_ci/orr")["result"]["estimate"],
            TOL,
        );
        c.num(
            "Table 6 DCR upper",
            &all["dcr_ucl"],
            &entry(&g, "net_cohort/prop_ci/dcr")["result"]["clopper_pearson"]["upper"],
            TOL,
        );
        for (label, suffix) in [
            ("present", "liver_mets_true"),
            ("absent", "liver_mets_false"),
        ] {
            let r = find(
                &rows,
                "Table 6",
                "characteristic",
                "Liver metastasis",
                Some(label),
            );
            for (what, col, lo, hi) in [
                ("orr", "orr", "orr_lcl", "orr_ucl"),
                ("dcr", "dcr", "dcr_lcl", "dcr_ucl"),
            ] {
                let w = &entry(&g, &format!("net_cohort/prop_ci/{what}/{suffix}"))["result"];
                c.num(
                    &format!("Table 6 {what} {label}"),
                    &r[col],
                    &w["estimate"],
                    TOL,
                );
                c.num(
                    &format!("Table 6 {what} lcl {label}"),
                    &r[lo],
                    &w["clopper_pearson"]["lower"],
                    TOL,
                );
                c.num(
                    &format!("Table 6 {what} ucl {label}"),
                    &r[hi],
                    &w["clopper_pearson"]["upper"],
                    TOL,
                );
            }
            for (col, id) in [
                (
                    "orr_chisq_p",
                    "net_cohort/chisq/orr_vs_liver_mets/correct_true",
                ),
                ("orr_fisher_p", "net_cohort/fisher/orr_vs_liver_mets"),
                (
                    "dcr_chisq_p",
                    "net_cohort/chisq/dcr_vs_liver_mets/correct_true",
                ),
                ("dcr_fisher_p", "net_cohort/fisher/dcr_vs_liver_mets"),
            ] {
                c.num(
                    &format!("Table 6 {col} liver"),
                    &r[col],
                    &entry(&g, id)["result"]["p"],
                    TOL,
                );
            }
        }
        let r = find(
            &rows,
            "Table 6",
            "characteristic",
            "Serum NSE",
            Some("elevated"),
        );
        for (col, id) in [
            (
                "orr_chisq_p",
                "net_cohort/chisq/orr_vs_nse_elevated/correct_true",
            ),
            ("orr_fisher_p", "net_cohort/fisher/orr_vs_nse_elevated"),
            (
                "dcr_chisq_p",
                "net_cohort/chisq/dcr_vs_nse_elevated/correct_true",
            ),
            ("dcr_fisher_p", "net_cohort/fisher/dcr_vs_nse_elevated"),
        ] {
            c.num(
                &format!("Table 6 {col} NSE"),
                &r[col],
                &entry(&g, id)["result"]["p"],
                TOL,
            );
        }

        // Cox model on grade and liver metastasis.
        let cox = &entry(&g, "net_cohort/cox/os/grade_liver_mets/efron")["result"];
        for t in cox["terms"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap();
            let r = find(
                &rows,
                "Cox model: OS on grade and liver",
                "term",
                name,
                None,
            );
            for (col, key) in [
                ("coef", "coef"),
                ("hazard_ratio", "exp_coef"),
                ("lcl", "lower_95"),
                ("ucl", "upper_95"),
                ("se", "se"),
                ("p_value", "p"),
            ] {
                c.num(&format!("Cox {name} {col}"), &r[col], &t[key], 1e-6);
            }
        }
        assert!(
            c.failures.is_empty(),
            "{} of {} printed numbers differ from R:\n{}",
            c.failures.len(),
            c.n,
            c.failures.join("\n")
        );
        assert!(c.n > 150, "only {} numbers checked", c.n);
    }
}

/// `sql/competing_risks.sql` runs on the bundled cohort and prints R's numbers (rounded as the
/// script rounds them): survfit(Surv(ttp_months, factor(status)) ~ 1) at 12 and 24 months and
/// cmprsk::cuminc(ttp_months, status, liver)$Tests (tests/slt/competing_risks.slt has them
/// unrounded).
#[test]
fn competing_risks_example_prints_r_numbers() {
    let o = run(&["--format", "ndjson", "-q", "-f", "sql/competing_risks.sql"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<Value> = stdout(&o)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let at = |months: i64| {
        rows.iter()
            .find(|r| r["months"] == months)
            .unwrap_or_else(|| panic!("no row for {months} months"))
    };
    // pstate[, "1"] at 12 months 0.797213..., [0.701498, 0.905988]; pstate[, "2"] at 24: 0.098398.
    assert_eq!(at(12)["progression"], serde_json::json!(0.797));
    assert_eq!(at(12)["lower_95"], serde_json::json!(0.701));
    assert_eq!(at(12)["upper_95"], serde_json::json!(0.906));
    assert_eq!(at(24)["death_first"], serde_json::json!(0.098));
    let gray = rows
        .iter()
        .find(|r| r.get("gray_progression").is_some())
        .expect("Gray's test row");
    // stat 9.33712310328511, p 0.00224557776154022; death first p 0.386900327771622.
    assert_eq!(gray["gray_progression"], serde_json::json!(9.337));
    assert_eq!(gray["p_progression"], serde_json::json!(0.0022));
    assert_eq!(gray["p_death_first"], serde_json::json!(0.3869));
}

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
    let o = run(&[
        "-c",
        "SELECT 1 AS ok; SELECT km_median(os_months, 2) FROM demo.net_cohort; SELECT 3 AS never",
    ]);
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

/// Every ```sql example of the README and docs/ (docs/functions.md: see function_docs) that
/// runs on the demo cohort runs as written — queries and `\plot` commands alike — through
/// the shell (`-f`, figures in a scratch folder). Examples on the reader's own tables (they
/// name no demo table) cannot run here; a block mixing the two is an error.
#[test]
fn documentation_examples_run() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("functions.md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let dir = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (k, block) in text.split("```sql\n").skip(1).enumerate() {
            let block = block.split("```").next().unwrap();
            if !block.contains("demo.net_cohort") {
                continue;
            }
            let script = dir.path().join(format!("example_{ran}.sql"));
            std::fs::write(&script, block).unwrap();
            let figures = dir.path().to_str().unwrap();
            let o = run(&["-q", "--figures", figures, "-f", script.to_str().unwrap()]);
            assert!(
                o.status.success(),
                "{} example {}:\n{block}\n{}",
                file.display(),
                k + 1,
                stderr(&o)
            );
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} documentation examples found");
}

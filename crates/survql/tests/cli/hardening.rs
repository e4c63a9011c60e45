//! Issue 11's crashes, as a user typed them, and the memory limit.

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

/// A Cox window function's fit reserves its memory from the session's pool (DataFusion's
/// window operators account none of their own): a partition too large for the limit is a
/// clear error naming the function and the rows, not an OS kill; PARTITION BY into smaller
/// partitions, each freed before the next, fits.
#[test]
fn window_fits_over_the_memory_limit_fail_cleanly() {
    let rows = |n: u32| {
        format!("SELECT CAST(v % 5000 AS DOUBLE) + 1 AS t, v % 2 AS e, CAST(v % 7 AS DOUBLE) AS x, v % 20 AS p FROM generate_series(1, {n}) AS g(v)")
    };
    let whole = format!(
        "SELECT count(m) FROM (SELECT cox_residual(t, e, x) OVER () AS m FROM ({}));",
        rows(2_000_000)
    );
    let o = run(&["--memory-limit", "128M", "-q", "-c", &whole]);
    let err = stderr(&o);
    assert!(
        !o.status.success()
            && err.contains(
                "Resources exhausted: cox_residual: fitting a window partition of 2000000 rows"
            )
            && err.contains("--memory-limit"),
        "{err}"
    );
    let split = format!(
        "SELECT count(m) FROM (SELECT cox_residual(t, e, x) OVER (PARTITION BY p) AS m FROM ({}));",
        rows(1_000_000)
    );
    let o = run(&[
        "--memory-limit",
        "128M",
        "-q",
        "--format",
        "csv",
        "-c",
        &split,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("1000000"), "{}", stdout(&o));
}

/// The caps are settings: `SET survql.max_groups = N` (and max_table_cells,
/// max_factor_levels) as well as the flags, shown by SHOW; invalid values are errors.
#[test]
fn caps_are_settings() {
    let o = run(&[
        "-q",
        "--format",
        "csv",
        "--max-table-cells",
        "50",
        "-c",
        "SHOW survql.max_table_cells; SET survql.max_groups = 3; SHOW survql.max_groups;",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "name,value\nsurvql.max_table_cells,50\nname,value\nsurvql.max_groups,3\n"
    );
    let o = run(&[
        "-q",
        "-c",
        "SET survql.max_groups = 3; SELECT logrank_test(os_months, died, grade) FROM demo.net_cohort;",
    ]);
    assert!(
        stderr(&o).contains("argument 'grp' has more than 3 distinct values, the limit (raise it with SET survql.max_groups = N"),
        "{}",
        stderr(&o)
    );
    let o = run(&["-q", "-c", "SET survql.max_factor_levels = 2; SELECT cox_ph(os_months, died, grade) FROM demo.net_cohort;"]);
    assert!(
        stderr(&o).contains("more than 2 distinct values"),
        "{}",
        stderr(&o)
    );
    for bad in ["0", "-1", "'many'"] {
        let o = run(&["-q", "-c", &format!("SET survql.max_groups = {bad};")]);
        assert!(
            stderr(&o).contains("survql.max_groups must be a whole number >= 1"),
            "{bad}: {}",
            stderr(&o)
        );
    }
}

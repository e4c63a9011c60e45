//! Tests that drive the real `survql` binary: non-interactive use (-c, -f, stdin, formats,
//! exit codes, errors), the interactive shell through a pseudo-terminal, the Kaplan-Meier
//! figures, and the NET study script checked against R's answers.
//!
//! One test binary for the crate on purpose (each links DataFusion); its topics are the files
//! of `tests/cli/`, this file their shared helpers.

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

#[path = "cli/non_interactive.rs"]
mod non_interactive;

#[path = "cli/shell_options.rs"]
mod shell_options;

#[path = "cli/object_store_tables.rs"]
mod object_store_tables;

#[path = "cli/plots.rs"]
mod plots;

#[path = "cli/hardening.rs"]
mod hardening;

#[path = "cli/interactive.rs"]
mod interactive;

#[path = "cli/net_study.rs"]
mod net_study;

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

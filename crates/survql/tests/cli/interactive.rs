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

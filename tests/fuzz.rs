//! The API-level fuzzer (`survql_testkit::fuzz`), bounded for CI: every survival function with
//! random argument types, arities, constants and data, through both accumulators. No input
//! may panic. `SURVQL_FUZZ_INPUTS` sets the number of inputs (default 100,000); the long run is
//! `cargo run --release --example fuzz -- --inputs 1000000`.

use survql_testkit::fuzz::fuzz;

#[test]
fn no_input_panics() {
    let inputs = std::env::var("SURVQL_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let report = fuzz(0x5eed_0011, inputs, false);
    eprintln!(
        "fuzz: {} inputs, {} results, {} errors, {} panics",
        report.inputs,
        report.results,
        report.errors,
        report.panics.len()
    );
    assert!(report.panics.is_empty(), "{:#?}", report.panics);
    // The inputs must reach the accumulators, not only be refused at planning.
    assert!(
        report.results * 10 > report.inputs,
        "only {} of {} inputs ran to a result",
        report.results,
        report.inputs
    );
}

/// Random calls through SQL (planning, constant folding, GROUP BY, FILTER): no panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sql_call_panics() {
    let queries = std::env::var("SURVQL_SQL_FUZZ_QUERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500);
    let (n, results, errors, panics) = survql_testkit::fuzz::sql_fuzz(0x5e1ec7, queries).await;
    eprintln!(
        "sql fuzz: {n} queries, {results} results, {errors} errors, {} panics",
        panics.len()
    );
    assert!(panics.is_empty(), "{panics:#?}");
    assert!(
        results * 20 > n,
        "only {results} of {n} queries ran to a result"
    );
}

//! The long fuzz run of survql's SQL functions (see `suite/fuzz.rs`):
//!
//! ```sh
//! cargo run --release --example fuzz -- --inputs 1000000 [--seed N] [--sql-queries N]
//! ```
//!
//! `--sql-queries N` adds N random calls through SQL (planned and run by DataFusion).
//!
//! Prints the inputs tried, how many ran to a result or an error, and every panic (the exit
//! status is 1 if there was one).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: u64| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let inputs = value("--inputs", 1_000_000);
    let seed = value("--seed", 1);
    let start = std::time::Instant::now();
    // In chunks, to show progress.
    let chunk = 100_000.min(inputs.max(1));
    let (mut total, mut results, mut errors, mut panics) = (0, 0, 0, vec![]);
    let mut k = 0;
    while total < inputs {
        let n = chunk.min(inputs - total);
        let r = survql_testkit::fuzz::fuzz(seed.wrapping_mul(1_000_003).wrapping_add(k), n, true);
        total += r.inputs;
        results += r.results;
        errors += r.errors;
        panics.extend(r.panics);
        k += 1;
        eprintln!(
            "{total} inputs, {results} results, {errors} errors, {} panics ({:.0} s)",
            panics.len(),
            start.elapsed().as_secs_f64()
        );
    }
    println!(
        "fuzz: {total} inputs, {results} results, {errors} errors, {} panics, {:.1} s",
        panics.len(),
        start.elapsed().as_secs_f64()
    );
    if std::env::var("SURVQL_FUZZ_PROFILE").is_ok() {
        let r = survql_testkit::fuzz::fuzz(seed, inputs.min(5_000), true);
        for (f, secs, ok) in r.per_function {
            println!("{f:<22} {secs:>8.3} s  {ok} results");
        }
    }
    let sql_queries = value("--sql-queries", 0);
    if sql_queries > 0 {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let (n, ok, err, sql_panics) =
            rt.block_on(survql_testkit::fuzz::sql_fuzz(seed, sql_queries));
        println!(
            "sql fuzz: {n} queries, {ok} results, {err} errors, {} panics",
            sql_panics.len()
        );
        panics.extend(sql_panics);
    }
    for p in &panics {
        println!("PANIC {p}");
    }
    if !panics.is_empty() {
        std::process::exit(1);
    }
}

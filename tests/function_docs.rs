//! `docs/functions.md`, the SQL reference, is generated from each function's
//! `Documentation` (the one source, also shown by `\h NAME` in the shell): this test fails
//! when the file is stale. `SURVQL_UPDATE_DOCS=1 cargo test --test main function_docs`
//! rewrites it.

use std::fmt::Write as _;

use datafusion::logical_expr::Documentation;

/// The reference, one section per function in registration order (the aggregates by family,
/// then the scalar functions).
fn reference() -> String {
    let docs: Vec<(String, Documentation)> = datafusion_survival::all_functions()
        .iter()
        .filter_map(|f| f.documentation().map(|d| (f.name().to_owned(), d.clone())))
        .chain(
            datafusion_survival::scalar_functions()
                .iter()
                .filter_map(|f| f.documentation().map(|d| (f.name().to_owned(), d.clone()))),
        )
        .chain(
            datafusion_survival::window_functions()
                .iter()
                .filter_map(|f| f.documentation().map(|d| (f.name().to_owned(), d.clone()))),
        )
        .collect();
    let mut out = String::from(
        "# survql's SQL functions\n\n\
         <!-- Generated from each function's documentation in crates/datafusion-survival (the \
         one source, also shown by \\h NAME in the shell) by tests/function_docs.rs: \
         SURVQL_UPDATE_DOCS=1 cargo test --test main function_docs. Do not edit by hand. -->\n\n",
    );
    for (name, _) in &docs {
        let _ = writeln!(out, "- [`{name}`](#{name})");
    }
    for (name, d) in &docs {
        let _ = write!(
            out,
            "\n## {name}\n\n```sql\n{}\n```\n\n{}\n",
            d.syntax_example, d.description
        );
        if let Some(args) = &d.arguments {
            out.push_str("\n| argument | |\n|---|---|\n");
            for (a, text) in args {
                let _ = writeln!(out, "| `{a}` | {} |", text.replace('|', "\\|"));
            }
        }
        if let Some(example) = &d.sql_example {
            let _ = write!(out, "\nExample:\n\n{}\n", example.trim());
        }
    }
    out
}

#[test]
fn function_docs_are_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/functions.md");
    let expected = reference();
    if std::env::var_os("SURVQL_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == expected,
        "docs/functions.md is stale: run SURVQL_UPDATE_DOCS=1 cargo test --test main function_docs"
    );
}

/// Every function's documentation has what the reference shows: a description, the syntax,
/// its arguments and a SQL example that calls it.
#[test]
fn every_function_is_documented() {
    for f in datafusion_survival::all_functions() {
        let d = f
            .documentation()
            .unwrap_or_else(|| panic!("{} has no documentation", f.name()));
        assert!(d.syntax_example.starts_with(f.name()), "{}", f.name());
        assert!(!d.description.is_empty(), "{}", f.name());
        assert!(
            d.arguments.as_ref().is_some_and(|a| !a.is_empty()),
            "{} has no arguments",
            f.name()
        );
        let example = d.sql_example.as_deref().unwrap_or_default();
        assert!(
            example.contains(&format!("{}(", f.name())),
            "{}: example does not call it",
            f.name()
        );
    }
}

/// Every statement of the functions' SQL examples that reads the demo cohort runs without an
/// error (on the cohort as the shell embeds it, `demo.net_cohort`), so that an example cannot
/// drift from what the function accepts. Examples over other tables (a user's `heart`,
/// `registry`, ...) are shown as illustrations and only checked to call their function.
#[tokio::test]
async fn demo_cohort_examples_run() {
    use datafusion::catalog::MemorySchemaProvider;
    use std::sync::Arc;
    let config = survql_testkit::run_configs()[0];
    let ctx = survql_testkit::new_context(&config);
    let catalog = ctx.catalog("datafusion").unwrap();
    catalog
        .register_schema("demo", Arc::new(MemorySchemaProvider::new()))
        .unwrap();
    let path = survql_testkit::data_dir().join("net_cohort.parquet");
    ctx.register_parquet(
        "demo.net_cohort",
        path.to_str().unwrap(),
        Default::default(),
    )
    .await
    .unwrap();
    let mut ran = 0;
    let examples: Vec<(String, String)> = datafusion_survival::all_functions()
        .iter()
        .map(|f| (f.name().to_owned(), f.documentation().cloned()))
        .chain(
            datafusion_survival::scalar_functions()
                .iter()
                .map(|f| (f.name().to_owned(), f.documentation().cloned())),
        )
        .chain(
            datafusion_survival::window_functions()
                .iter()
                .map(|f| (f.name().to_owned(), f.documentation().cloned())),
        )
        .map(|(name, d)| (name, d.and_then(|d| d.sql_example).unwrap_or_default()))
        .collect();
    for (name, example) in &examples {
        let body = example
            .trim()
            .trim_start_matches("```sql")
            .trim_end_matches("```");
        for statement in body.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            if !statement.contains("demo.net_cohort") {
                continue;
            }
            let result = match ctx.sql(statement).await {
                Ok(df) => df.collect().await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                panic!("{name}: example fails: {statement}\n{e}");
            }
            ran += 1;
        }
    }
    assert!(ran >= 40, "only {ran} example statements ran");
}

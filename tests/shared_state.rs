//! The optimizer rule that lets Kaplan-Meier calls of one (time, event, FILTER) share one state
//! (`km_shared`): it fires where it should, leaves other aggregates alone, and gives results
//! identical, to the bit, to one state per call.

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use survql_testkit::{data_dir, new_context, Layout, RunConfig};

async fn context(share: bool, partitions: usize) -> SessionContext {
    let ctx = new_context(&RunConfig {
        layout: Layout::Parquet,
        partitions,
        skip_partial: false,
        share_km_state: share,
    });
    let path = data_dir().join("net_cohort.parquet");
    ctx.register_parquet("cohort", path.to_str().unwrap(), Default::default())
        .await
        .unwrap();
    ctx
}

async fn plan(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx
        .sql(&format!("EXPLAIN {sql}"))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

/// Results printed with full precision (`{:?}` of every value through the debug formatter).
async fn results(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut out = String::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            for c in 0..b.num_columns() {
                let v = datafusion::common::ScalarValue::try_from_array(b.column(c), r).unwrap();
                out.push_str(&format!("{v:?} | "));
            }
            out.push('\n');
        }
    }
    out
}

const QUERIES: &[&str] = &[
    "SELECT grade, km_summary(os_months, died) AS s, km_survival(os_months, died, 36) AS s36,
            km_rmst(os_months, died, 60) AS r, km_curve(os_months, died) AS c,
            km_followup(os_months, died) AS f, nelson_aalen(os_months, died) AS h,
            km_quantile(os_months, died, 0.25, 'log-log', 0.9) AS q, count(*) AS n
     FROM cohort GROUP BY grade ORDER BY grade NULLS FIRST",
    "SELECT km_median(os_months, died) FILTER (WHERE sex = 'M') AS m_male,
            km_summary(os_months, died) FILTER (WHERE sex = 'M') AS s_male,
            km_median(os_months, died) AS m, km_survival(os_months, died, 12) AS s12,
            km_median(ttp_months, progressed) AS ttp, km_survival(ttp_months, progressed, 12) AS p12,
            logrank_test(os_months, died, sex) AS lr
     FROM cohort",
    "SELECT treatment, km_median(os_months, died) AS m FROM cohort GROUP BY treatment
     HAVING km_survival(os_months, died, 12)['surv'] > 0.5 ORDER BY km_rmst(os_months, died, 24)['rmst']",
];

#[tokio::test]
async fn shared_states_give_the_same_results() {
    for partitions in [1, 4] {
        let separate = context(false, partitions).await;
        let shared = context(true, partitions).await;
        for sql in QUERIES {
            let expected = results(&separate, sql).await;
            assert!(!expected.is_empty(), "{sql}");
            assert_eq!(results(&shared, sql).await, expected, "{sql}");
            // The rule is part of the plan only when it is registered.
            assert!(plan(&shared, sql).await.contains("km_shared("), "{sql}");
            assert!(!plan(&separate, sql).await.contains("km_shared("), "{sql}");
        }
    }
}

#[tokio::test]
async fn one_state_per_time_event_and_filter() {
    let ctx = context(true, 2).await;
    let count = |plan: &str| plan.matches("km_shared(").count();
    // Three calls on (os_months, died): one shared aggregate in the logical plan.
    let p = plan(
        &ctx,
        "SELECT km_median(os_months, died), km_survival(os_months, died, 36),
                km_summary(os_months, died) FROM cohort",
    )
    .await;
    assert!(p.contains("logical_plan"), "{p}");
    let logical: String = p
        .lines()
        .take_while(|l| !l.contains("physical_plan"))
        .collect();
    assert_eq!(count(&logical), 1, "{p}");
    // Different FILTERs and different columns are separate states; a lone call is unchanged.
    let p = plan(
        &ctx,
        "SELECT km_median(os_months, died) FILTER (WHERE sex = 'M'),
                km_survival(os_months, died, 36) FILTER (WHERE sex = 'M'),
                km_median(os_months, died) FILTER (WHERE sex = 'F'),
                km_survival(os_months, died, 36) FILTER (WHERE sex = 'F'),
                km_median(ttp_months, progressed) FROM cohort",
    )
    .await;
    let logical: String = p
        .lines()
        .take_while(|l| !l.contains("physical_plan"))
        .collect();
    assert_eq!(count(&logical), 2, "{p}");
    assert!(logical.contains("km_median(cohort.ttp_months"), "{p}");
    // A single Kaplan-Meier call, or calls next to other aggregates only, are left alone.
    let p = plan(
        &ctx,
        "SELECT km_median(os_months, died), logrank_p(os_months, died, sex), count(*) FROM cohort",
    )
    .await;
    assert_eq!(count(&p), 0, "{p}");
}

/// The error a query fails with.
async fn error(ctx: &SessionContext, sql: &str) -> String {
    let result = match ctx.sql(sql).await {
        Ok(df) => df.collect().await.map(|_| ()),
        Err(e) => Err(e),
    };
    result.expect_err(sql).to_string()
}

#[tokio::test]
async fn bad_input_is_still_an_error_naming_the_function() {
    let ctx = context(true, 2).await;
    let err = error(
        &ctx,
        "SELECT km_median(t, e), km_survival(t, e, 1) FROM (VALUES (1.0, 1), (2.0, 2)) AS v(t, e)",
    )
    .await;
    assert!(
        err.contains("km_median: argument 'event' must be 0/1 or boolean, found 2"),
        "{err}"
    );
    let err = error(
        &ctx,
        "SELECT km_median(os_months, died), km_quantile(os_months, died, 1.5) FROM cohort",
    )
    .await;
    assert!(err.contains("km_quantile: argument 'p'"), "{err}");
}

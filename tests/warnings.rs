//! Warnings (rows skipped for NULLs, Cox fits that did not converge): scoped to a query with
//! `query_context`, bounded in a sink nobody drains.

use datafusion::prelude::SessionContext;
use datafusion_survival::{query_context, WarningSink};

async fn cohort() -> SessionContext {
    let mut ctx = SessionContext::new();
    datafusion_survival::register_all(&mut ctx).unwrap();
    ctx.sql(
        "CREATE TABLE t AS VALUES (1.0, 1, 'a'), (2.0, NULL, 'a'), (3.0, 1, 'b'), \
         (NULL, 0, 'b'), (5.0, 0, NULL), (6.0, 1, 'a')",
    )
    .await
    .unwrap();
    ctx
}

/// Two queries running at the same time on contexts from one session each see their own
/// skipped-row counts, and nothing leaks into the next query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_contexts_keep_warnings_apart() {
    let ctx = cohort().await;
    let (q1, w1) = query_context(&ctx).unwrap();
    let (q2, w2) = query_context(&ctx).unwrap();
    let a = q1.sql("SELECT km_median(column1, column2) AS m FROM t");
    let b = q2.sql("SELECT logrank_p(column1, column2, column3) AS p FROM t");
    let (a, b) = tokio::join!(async { a.await.unwrap().collect().await.unwrap() }, async {
        b.await.unwrap().collect().await.unwrap()
    });
    assert_eq!(a[0].num_rows() + b[0].num_rows(), 2);
    let (w1, w2) = (w1.drain(), w2.drain());
    assert_eq!(w1.len(), 1, "{w1:?}");
    assert!(
        w1[0].contains("km_median") && w1[0].contains("skipped 2 row(s)"),
        "{w1:?}"
    );
    assert_eq!(w2.len(), 1, "{w2:?}");
    assert!(
        w2[0].contains("logrank_p") && w2[0].contains("skipped 3 row(s)"),
        "{w2:?}"
    );
    // A new query context starts empty, and the session's tables are shared.
    let (q3, w3) = query_context(&ctx).unwrap();
    q3.sql("SELECT km_median(column1, 1) FROM t WHERE column1 IS NOT NULL")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert!(w3.drain().is_empty());
}

/// A sink nobody drains keeps at most MAX_MESSAGES of each kind and says how many it dropped.
#[test]
fn an_undrained_sink_is_bounded() {
    let sink = WarningSink::default();
    for i in 0..10 * WarningSink::MAX_MESSAGES {
        sink.push(format!("message {i}"));
        sink.add_skipped(&format!("expression {i}"), 1);
        sink.add_skipped("expression 0", 1);
    }
    let out = sink.drain();
    assert_eq!(out.len(), 2 * WarningSink::MAX_MESSAGES + 1);
    assert!(
        out[0].contains("expression 0: skipped 1001 row(s)"),
        "{}",
        out[0]
    );
    assert_eq!(
        out.last().unwrap(),
        &format!(
            "{} more warning(s) not shown",
            18 * WarningSink::MAX_MESSAGES
        )
    );
    assert!(sink.drain().is_empty());
}

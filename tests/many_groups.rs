//! Queries over more groups than the Kaplan-Meier functions evaluate at once (they evaluate
//! groups in chunks of 4,096 and join the results): every group's result is the one it gets
//! in a query of a few groups, whatever the layout.

use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use survql_testkit::{batches_json, survival_session};

const GROUPS: i64 = 10_000;

/// 12 rows a group on average, times on a grid with ties, a quarter censored.
fn data() -> RecordBatch {
    let n = 120_000i64;
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new("t", DataType::Float64, false),
        Field::new("e", DataType::Int64, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(
                (0..n).map(|i| (i * 7919) % GROUPS),
            )),
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| ((i * 104_729) % 97) as f64 / 4.0 + 1.0),
            )),
            Arc::new(Int64Array::from_iter_values(
                (0..n).map(|i| i64::from(i % 4 != 0)),
            )),
        ],
    )
    .unwrap()
}

/// The rows of a query as JSON (floats exact).
async fn rows(
    ctx: &datafusion::prelude::SessionContext,
    sql: &str,
) -> Vec<serde_json::Map<String, serde_json::Value>> {
    batches_json(&ctx.sql(sql).await.unwrap().collect().await.unwrap())
}

#[tokio::test]
async fn many_groups_evaluate_as_few() {
    let data = data();
    let calls = [
        "km_median(t, e)",
        "km_summary(t, e, 'log-log', 0.9)",
        "km_quantile(t, e, 0.25)",
        "km_survival(t, e, 10)",
        "km_curve(t, e)",
        "km_rmst(t, e, 20)",
        "km_followup(t, e)",
        "nelson_aalen(t, e)",
        "km_summary(surv(t - 30, t, e))",
        "km_curve(surv(NULL, t, e, 0.5 + CAST(e AS DOUBLE)))",
    ];
    let few = 40;
    // One partition with every function on its own state; three sharing one state.
    for (partitions, share_km_state) in [(1, false), (3, true)] {
        let ctx = survival_session(partitions, 8192, false, share_km_state);
        let parts: Vec<Vec<RecordBatch>> = (0..partitions)
            .map(|p| {
                let len = data.num_rows() / partitions;
                vec![data.slice(p * len, len)]
            })
            .collect();
        let table = MemTable::try_new(data.schema(), parts).unwrap();
        ctx.register_table("d", Arc::new(table)).unwrap();
        // Rows the partitions leave out when the rows do not divide evenly: none here.
        assert_eq!(data.num_rows() % partitions, 0);
        let sql_all = calls
            .iter()
            .map(|c| format!("{c} AS \"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let all = rows(
            &ctx,
            &format!("SELECT g, {sql_all} FROM d GROUP BY g ORDER BY g"),
        )
        .await;
        assert_eq!(all.len(), GROUPS as usize);
        let few_sql = format!("SELECT g, {sql_all} FROM d WHERE g < {few} GROUP BY g ORDER BY g");
        let some = rows(&ctx, &few_sql).await;
        assert_eq!(some.len(), few);
        assert_eq!(&all[..few], &some[..], "{partitions} partitions");
        // And a group past the first chunk.
        let one = rows(
            &ctx,
            &format!("SELECT g, {sql_all} FROM d WHERE g = 9999 GROUP BY g"),
        )
        .await;
        assert_eq!(all[9999], one[0], "{partitions} partitions");
    }
}

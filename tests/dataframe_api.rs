//! The DataFrame API (`datafusion_survival::expr_fn`): builders and singletons give the same
//! results, to the bit, as the SQL calls they stand for (which the golden tests compare with
//! R), under each layout; they work in a context where nothing was registered.

use datafusion::common::ScalarValue;
use datafusion::prelude::{col, lit, SessionContext};
use datafusion_survival::expr_fn::{
    cox_ph, km_curve_udaf, km_median, km_summary, logrank_p, prop_ci,
};
use survql_testkit::{batches_json, data_dir, new_context, register_dataset, run_configs};

#[tokio::test]
async fn builders_give_the_sql_results() {
    let scratch = tempfile::tempdir().unwrap();
    let path = data_dir().join("net_cohort.parquet");
    let sql = "SELECT grade, km_median(os_months, died) AS median, \
               km_summary(os_months, died) AS summary, \
               km_curve(os_months, died, 'log-log') AS curve, \
               prop_ci(died = 1) AS deaths \
               FROM net_cohort GROUP BY grade ORDER BY grade";
    for config in run_configs() {
        let ctx = new_context(&config);
        register_dataset(&ctx, "net_cohort", config.layout, scratch.path())
            .await
            .unwrap();
        let expected = batches_json(&ctx.sql(sql).await.unwrap().collect().await.unwrap());

        // A context with nothing registered: the builders carry their functions.
        let plain = SessionContext::new_with_config(ctx.copied_config());
        register_dataset(&plain, "net_cohort", config.layout, scratch.path())
            .await
            .unwrap();
        let df = plain
            .table("net_cohort")
            .await
            .unwrap()
            .aggregate(
                vec![col("grade")],
                vec![
                    km_median(col("os_months"), col("died")).alias("median"),
                    km_summary(col("os_months"), col("died")).alias("summary"),
                    km_curve_udaf()
                        .call(vec![col("os_months"), col("died"), lit("log-log")])
                        .alias("curve"),
                    prop_ci(col("died").eq(lit(1))).alias("deaths"),
                ],
            )
            .unwrap()
            .sort(vec![col("grade").sort(true, false)])
            .unwrap();
        let found = batches_json(&df.collect().await.unwrap());
        assert_eq!(found, expected, "{}", config.label());
    }
    // R: survfit(Surv(os_months, died) ~ grade): median of grade 1 is 78.5.
    let ctx = SessionContext::new();
    ctx.register_parquet("cohort", path.to_str().unwrap(), Default::default())
        .await
        .unwrap();
    let batches = ctx
        .table("cohort")
        .await
        .unwrap()
        .filter(col("grade").eq(lit("1")))
        .unwrap()
        .aggregate(vec![], vec![km_median(col("os_months"), col("died"))])
        .unwrap()
        .collect()
        .await
        .unwrap();
    let median = ScalarValue::try_from_array(batches[0].column(0), 0).unwrap();
    assert_eq!(median, ScalarValue::Float64(Some(78.5)));
}

#[tokio::test]
async fn model_and_test_builders() {
    let path = data_dir().join("net_cohort.parquet");
    let ctx = new_context(&run_configs()[1]);
    ctx.register_parquet("cohort", path.to_str().unwrap(), Default::default())
        .await
        .unwrap();
    let expected = batches_json(
        &ctx.sql(
            "SELECT logrank_p(os_months, died, grade) AS p, \
             cox_ph(os_months, died, age, liver_mets, 'ties=breslow') AS fit FROM cohort",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap(),
    );
    let df = ctx
        .table("cohort")
        .await
        .unwrap()
        .aggregate(
            vec![],
            vec![
                logrank_p(col("os_months"), col("died"), col("grade")).alias("p"),
                cox_ph(vec![
                    col("os_months"),
                    col("died"),
                    col("age"),
                    col("liver_mets"),
                    lit("ties=breslow"),
                ])
                .alias("fit"),
            ],
        )
        .unwrap();
    assert_eq!(batches_json(&df.collect().await.unwrap()), expected);
}

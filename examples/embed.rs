//! Embedding survql's functions in your own DataFusion program.
//!
//! ```text
//! cargo run --example embed -- tests/data/net_cohort.parquet grade os_months died
//! ```
//!
//! Creates a `SessionContext`, registers the survival functions with one call, reads a
//! Parquet file and prints a Kaplan-Meier summary and the 3-year survival per group, plus
//! the log-rank test across the groups.

use datafusion::error::Result;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let default_path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/net_cohort.parquet");
    let path = args.get(1).map_or(default_path, String::as_str);
    let group = args.get(2).map_or("grade", String::as_str);
    let time = args.get(3).map_or("os_months", String::as_str);
    let event = args.get(4).map_or("died", String::as_str);

    let mut ctx = SessionContext::new();
    datafusion_survival::register_all(&mut ctx)?;
    // Optional: several Kaplan-Meier functions of one (time, event) share one state.
    datafusion_survival::register_optimizer_rules(&ctx);
    ctx.register_parquet("cohort", path, ParquetReadOptions::default())
        .await?;

    let by_group = format!(
        "SELECT {group} AS grp,
                km_summary({time}, {event})['n'] AS n,
                km_summary({time}, {event})['events'] AS events,
                round(km_summary({time}, {event})['median'], 2) AS median,
                round(km_summary({time}, {event})['lower'], 2) AS lcl,
                round(km_summary({time}, {event})['upper'], 2) AS ucl,
                round(km_survival({time}, {event}, 36)['surv'], 3) AS surv_36
         FROM cohort GROUP BY {group} ORDER BY {group}"
    );
    ctx.sql(&by_group).await?.show().await?;

    let test = format!(
        "SELECT t['chisq'] AS chisq, t['df'] AS df, t['p_value'] AS p_value
         FROM (SELECT logrank_test({time}, {event}, {group}) AS t FROM cohort)"
    );
    ctx.sql(&test).await?.show().await?;
    Ok(())
}

//! A seeded generator of synthetic survival registries, for benchmarks.
//!
//! Rows are patients with: `time` (months, rounded to 0.1 so there are ties), `event`
//! (~30% censored), `grp` (10 levels), `hospital` (5,000 ids), `stratum` (4 levels), five
//! numeric covariates `x1`..`x5` and a binary `x6`. Event times are exponential with a
//! proportional-hazards effect of the covariates and the group (true log hazard ratios
//! 0.3, -0.2, 0.1, 0, 0.05 for x1..x5 and 0.5 for x6), so Cox fits have a known answer.
//! Files are Hive-partitioned by `year=` and `region=`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Exp1, StandardNormal};

/// Years and regions of the Hive partitions.
pub const YEARS: std::ops::Range<i32> = 2015..2025;
pub const REGIONS: [&str; 4] = ["east", "north", "south", "west"];

/// True log hazard ratios of x1..x5 and of x6.
pub const TRUE_BETA: [f64; 6] = [0.3, -0.2, 0.1, 0.0, 0.05, 0.5];

/// The schema of the data files (partition columns live in the directory names).
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("patient_id", DataType::Int64, false),
        Field::new("time", DataType::Float64, false),
        Field::new("event", DataType::Int64, false),
        Field::new("grp", DataType::Utf8, false),
        Field::new("hospital", DataType::Int32, false),
        Field::new("stratum", DataType::Utf8, false),
        Field::new("x1", DataType::Float64, false),
        Field::new("x2", DataType::Float64, false),
        Field::new("x3", DataType::Float64, false),
        Field::new("x4", DataType::Float64, false),
        Field::new("x5", DataType::Float64, false),
        Field::new("x6", DataType::Boolean, false),
    ]))
}

/// `rows` patients as record batches of at most `batch` rows, from `seed`.
pub fn batches(
    rows: u64,
    seed: u64,
    first_id: i64,
    batch: usize,
) -> impl Iterator<Item = RecordBatch> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let schema = schema();
    let mut done = 0u64;
    std::iter::from_fn(move || {
        if done >= rows {
            return None;
        }
        let n = (rows - done).min(batch as u64) as usize;
        let mut id = Vec::with_capacity(n);
        let (mut time, mut event, mut grp, mut hosp, mut strat) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut x: [Vec<f64>; 5] = Default::default();
        let mut x6 = Vec::with_capacity(n);
        for i in 0..n {
            id.push(first_id + (done + i as u64) as i64);
            let g: u32 = rng.random_range(0..10);
            let xs: [f64; 5] = std::array::from_fn(|_| rng.sample::<f64, _>(StandardNormal));
            let b = rng.random_bool(0.4);
            let lp = (0..5).map(|k| TRUE_BETA[k] * xs[k]).sum::<f64>()
                + if b { TRUE_BETA[5] } else { 0.0 }
                + 0.08 * g as f64;
            // Baseline hazard 1/36 per month; exponential censoring at rate 1/60 (~30% censored).
            let t_event: f64 = rng.sample::<f64, _>(Exp1) * 36.0 / lp.exp();
            let t_cens: f64 = rng.sample::<f64, _>(Exp1) * 60.0;
            let t = t_event.min(t_cens);
            time.push(((t * 10.0).round() / 10.0).max(0.1));
            event.push(i64::from(t_event <= t_cens));
            grp.push(format!("g{g}"));
            hosp.push(rng.random_range(0..5000));
            strat.push(format!("s{}", rng.random_range(0..4)));
            for k in 0..5 {
                x[k].push(xs[k]);
            }
            x6.push(b);
        }
        done += n as u64;
        let [x1, x2, x3, x4, x5] = x;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(id)),
            Arc::new(Float64Array::from(time)),
            Arc::new(Int64Array::from(event)),
            Arc::new(StringArray::from(grp)),
            Arc::new(Int32Array::from(hosp)),
            Arc::new(StringArray::from(strat)),
            Arc::new(Float64Array::from(x1)),
            Arc::new(Float64Array::from(x2)),
            Arc::new(Float64Array::from(x3)),
            Arc::new(Float64Array::from(x4)),
            Arc::new(Float64Array::from(x5)),
            Arc::new(BooleanArray::from(x6)),
        ];
        Some(RecordBatch::try_new(schema.clone(), cols).expect("columns match the schema"))
    })
}

/// Writes `rows` patients under `dir` as `year=Y/region=R/part-0.parquet` (40 partitions),
/// returning the files written. The same `seed` always gives the same data.
pub fn write_registry(dir: &Path, rows: u64, seed: u64) -> Result<Vec<PathBuf>> {
    let parts: Vec<(i32, &str)> = YEARS
        .flat_map(|y| REGIONS.iter().map(move |r| (y, *r)))
        .collect();
    let per = rows / parts.len() as u64;
    let mut files = vec![];
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    for (k, (year, region)) in parts.iter().enumerate() {
        let n = if k == parts.len() - 1 {
            rows - per * (parts.len() as u64 - 1)
        } else {
            per
        };
        let sub = dir
            .join(format!("year={year}"))
            .join(format!("region={region}"));
        std::fs::create_dir_all(&sub)?;
        let path = sub.join("part-0.parquet");
        let file = std::fs::File::create(&path)?;
        let mut writer = ArrowWriter::try_new(file, schema(), Some(props.clone()))?;
        for b in batches(
            n,
            seed.wrapping_add(k as u64 * 7919),
            (k as u64 * per) as i64,
            65_536,
        ) {
            writer.write(&b)?;
        }
        writer.close()?;
        files.push(path);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_about_30_percent_censored() {
        let a: Vec<RecordBatch> = batches(20_000, 7, 0, 4096).collect();
        let b: Vec<RecordBatch> = batches(20_000, 7, 0, 4096).collect();
        assert_eq!(a, b);
        let events: i64 = a
            .iter()
            .map(|b| {
                b.column(2)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .values()
                    .iter()
                    .sum::<i64>()
            })
            .sum();
        let censored = 1.0 - events as f64 / 20_000.0;
        assert!(
            (0.2..0.4).contains(&censored),
            "censored fraction {censored}"
        );
    }
}

use super::*;

#[test]
fn parse_options_and_query() {
    let (kind, o, q) = parse_plot_args("km -o fig.svg --ci --title \"OS by grade\" --break 12 SELECT grade, os_months, died FROM t").unwrap();
    assert_eq!(kind, "km");
    assert_eq!(o.output, Some(PathBuf::from("fig.svg")));
    assert!(o.ci);
    assert_eq!(o.title.as_deref(), Some("OS by grade"));
    assert_eq!(o.break_every, Some(12.0));
    assert_eq!(q, "SELECT grade, os_months, died FROM t");
}

use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
use std::sync::Arc;

/// A (group, time, event) batch: subject i is in group `labels[i % labels.len()]`.
fn batch(labels: &[&str], n: usize, event: impl Fn(usize) -> i64) -> RecordBatch {
    let g: Vec<&str> = (0..n).map(|i| labels[i % labels.len()]).collect();
    let t: Vec<f64> = (0..n).map(|i| 1.0 + (i * 7 % 97) as f64).collect();
    let e: Vec<i64> = (0..n).map(event).collect();
    RecordBatch::try_from_iter([
        ("g", Arc::new(StringArray::from(g)) as ArrayRef),
        ("t", Arc::new(Float64Array::from(t)) as ArrayRef),
        ("e", Arc::new(Int64Array::from(e)) as ArrayRef),
    ])
    .unwrap()
}

/// Regression: a label cut with `String::truncate(11)` panicked inside a multi-byte
/// character ("Patienten ≥ 70 Jahre": byte 11 is inside '≥').
#[test]
fn non_ascii_labels_draw_everywhere() {
    let b = batch(
        &[
            "Patienten ≥ 70 Jahre",
            "jünger als 70",
            "日本語のラベル長い名前です",
        ],
        300,
        |i| (i % 3 != 0) as i64,
    );
    let opts = PlotOptions::default();
    let plot = km_plot_from_batches(&[b], &opts).unwrap();
    let text = render_terminal(&plot, &opts, 100);
    assert!(
        text.contains("Patienten …") || text.contains("Patienten ≥"),
        "{text}"
    );
    let dir = tempfile::tempdir().unwrap();
    for name in ["f.svg", "f.png"] {
        write_figure(&plot, &opts, &dir.path().join(name)).unwrap();
    }
    let svg = std::fs::read_to_string(dir.path().join("f.svg")).unwrap();
    assert!(svg.contains("jünger als 70"));
    assert_eq!(shorten("Patienten ≥ 70 Jahre", 11), "Patienten …");
    assert_eq!(shorten("ab", 11), "ab");
}

/// Regression: `--break 0.000001` built one tick per 1e-6 time units (> 4 GB).
#[test]
fn tick_count_is_bounded_before_ticks_are_made() {
    let (_, opts, _) = parse_plot_args("km --break 0.000001 SELECT g, t, e FROM x").unwrap();
    let err = km_plot_from_batches(&[batch(&["a"], 50, |_| 1)], &opts)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("--break") && err.contains("at most 60"),
        "{err}"
    );
    for bad in [
        "km --break 0 SELECT 1",
        "km --break -2 SELECT 1",
        "km --break NaN SELECT 1",
        "km --break inf SELECT 1",
        "km --xmax 0 SELECT 1",
        "km --xmax -1 SELECT 1",
        "km --width 10 SELECT 1",
        "km --width 1e9 SELECT 1",
        "km --height 640.5 SELECT 1",
        "km --height -640 SELECT 1",
    ] {
        let err = parse_plot_args(bad).err().unwrap().to_string();
        assert!(err.contains("must be"), "{bad}: {err}");
    }
}

/// `--test gehan`: the figure shows the Gehan-Breslow p-value, the one
/// `logrank_weighted_test(..., 'gehan')` gives (the same `survdiff_weighted`).
#[test]
fn the_test_asked_for_is_shown() {
    let b = batch(&["a", "b"], 200, |i| (i % 3 != 0) as i64);
    let (_, gehan, _) = parse_plot_args("km --test gehan SELECT g, t, e FROM x").unwrap();
    let plot = km_plot_from_batches(std::slice::from_ref(&b), &gehan).unwrap();
    let logrank = km_plot_from_batches(&[b], &PlotOptions::default()).unwrap();
    assert_eq!(plot.test_name, "Gehan-Breslow");
    assert_eq!(logrank.test_name, "Log-rank");
    let (p, p_logrank) = (plot.p_value.unwrap(), logrank.p_value.unwrap());
    assert!(p > 0.0 && p <= 1.0 && p != p_logrank, "{p} {p_logrank}");
    let text = render_terminal(&plot, &gehan, 100);
    assert!(text.contains("Gehan-Breslow p"), "{text}");
    let svg = figure_svg(&plot, &gehan).unwrap();
    assert!(svg.contains("Gehan-Breslow p"), "{svg}");
    let (_, fh, _) = parse_plot_args("km --test fh(0,1) SELECT g, t, e FROM x").unwrap();
    assert_eq!(fh.test, Weighting::FlemingHarrington { p: 0.0, q: 1.0 });
    let err = parse_plot_args("km --test wilcox SELECT 1")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("--test must be one of"), "{err}");
}

#[test]
fn event_values_other_than_0_1_are_errors() {
    let err = km_plot_from_batches(
        &[batch(&["a"], 10, |i| i as i64 % 3)],
        &PlotOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("event column must be 0/1 or boolean, found 2"),
        "{err}"
    );
}

/// Many groups: the risk table shrinks, then is left out with a note; past MAX_CURVES the
/// figure is refused with a clear error.
#[test]
fn many_groups_degrade_gracefully() {
    let names: Vec<String> = (0..MAX_CURVES).map(|i| format!("hospital {i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    for groups in [12, MAX_CURVES] {
        let plot = km_plot_from_batches(
            &[batch(&refs[..groups], 4000, |i| (i % 2) as i64)],
            &PlotOptions::default(),
        )
        .unwrap();
        let path = dir.path().join(format!("g{groups}.svg"));
        write_figure(&plot, &PlotOptions::default(), &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            svg.contains("Number at risk not shown"),
            groups == MAX_CURVES,
            "{groups}"
        );
    }
    let mut more = refs.clone();
    more.push("one too many");
    let err = km_plot_from_batches(&[batch(&more, 4000, |_| 1)], &PlotOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("more than 64 groups"), "{err}");
}

/// Everything a curve draws, floats as bits (NaN included).
fn curve_bits(c: &Curve) -> (String, Vec<Vec<u64>>, Vec<bool>, u64, u64) {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
    (
        c.label.clone(),
        vec![
            bits(&c.time),
            bits(&c.value),
            bits(&c.lower),
            bits(&c.upper),
            bits(&c.n_risk),
        ],
        c.censored.clone(),
        c.n,
        c.events.to_bits(),
    )
}

/// `\plot cif` draws from the subjects per (group, time, status), which the shell counts
/// in the query: the same figure as from one row per subject, bit for bit, whatever the
/// order and batching of the counts.
#[test]
fn incidence_from_counts_is_incidence_from_rows() {
    let rows = batch(&["a", "b", "c"], 600, |i| (i * 5 % 3) as i64);
    let mut cells: std::collections::BTreeMap<(String, u64, i64), u64> = Default::default();
    let (g, t, st) = (
        rows.column(0).as_string::<i32>(),
        rows.column(1).as_primitive::<Float64Type>(),
        rows.column(2)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>(),
    );
    for i in 0..rows.num_rows() {
        *cells
            .entry((g.value(i).to_owned(), t.value(i).to_bits(), st.value(i)))
            .or_default() += 1;
    }
    // Counts in reverse order, over two batches.
    let cells: Vec<_> = cells.into_iter().rev().collect();
    let counted = |with_group: bool| -> Vec<RecordBatch> {
        cells
            .chunks(cells.len() / 2 + 1)
            .map(|part| {
                let mut columns: Vec<(&str, ArrayRef)> = vec![];
                if with_group {
                    let g: Vec<&str> = part.iter().map(|c| c.0 .0.as_str()).collect();
                    columns.push(("g", Arc::new(StringArray::from(g))));
                }
                let t: Vec<f64> = part.iter().map(|c| f64::from_bits(c.0 .1)).collect();
                let s: Vec<i64> = part.iter().map(|c| c.0 .2).collect();
                let n: Vec<i64> = part.iter().map(|c| c.1 as i64).collect();
                columns.push(("t", Arc::new(Float64Array::from(t))));
                columns.push(("s", Arc::new(Int64Array::from(s))));
                columns.push(("n", Arc::new(Int64Array::from(n))));
                RecordBatch::try_from_iter(columns).unwrap()
            })
            .collect()
    };
    let one_sample = RecordBatch::try_from_iter([
        ("t", Arc::clone(rows.column(1))),
        ("s", Arc::clone(rows.column(2))),
    ])
    .unwrap();
    for args in ["cif --cause 1", "cif --cause 2 --ci", "cif --stacked"] {
        let (_, opts, _) = parse_plot_args(&format!("{args} SELECT 1")).unwrap();
        let (from_rows, from_counts) = if opts.stacked {
            (
                cif_plot_from_batches(std::slice::from_ref(&one_sample), &opts).unwrap(),
                cif_plot_from_counts(&counted(false), &opts).unwrap(),
            )
        } else {
            (
                cif_plot_from_batches(std::slice::from_ref(&rows), &opts).unwrap(),
                cif_plot_from_counts(&counted(true), &opts).unwrap(),
            )
        };
        assert_eq!(from_rows.curves.len(), from_counts.curves.len(), "{args}");
        assert!(!from_rows.curves.is_empty());
        for (a, b) in from_rows.curves.iter().zip(&from_counts.curves) {
            assert_eq!(curve_bits(a), curve_bits(b), "{args}");
        }
        assert_eq!(
            from_rows.p_value.map(f64::to_bits),
            from_counts.p_value.map(f64::to_bits),
            "{args}"
        );
        assert_eq!(from_rows.xmax.to_bits(), from_counts.xmax.to_bits());
    }
}

/// `\plot cif`: per group the Aalen-Johansen incidence of the cause (the numbers of
/// `cif_curve`), Gray's test p; stacked, the causes add up to 1 − S (Kaplan-Meier of any
/// event).
#[test]
fn cumulative_incidence_curves() {
    // status: 0, 1, 2 cycling; groups a/b.
    let b = batch(&["a", "b"], 300, |i| (i % 3) as i64);
    let (_, opts, _) = parse_plot_args("cif --cause 2 SELECT g, t, s FROM x").unwrap();
    assert_eq!(opts.cause, 2);
    let plot = cif_plot_from_batches(std::slice::from_ref(&b), &opts).unwrap();
    assert_eq!(plot.kind, PlotKind::Incidence);
    assert_eq!(plot.curves.len(), 2);
    let c = &plot.curves[0];
    assert_eq!(c.start, 0.0);
    assert!(
        c.value.windows(2).all(|w| w[1] >= w[0]),
        "incidence never falls"
    );
    let p = plot.p_value.unwrap();
    assert!(p > 0.0 && p <= 1.0);
    let text = render_terminal(&plot, &opts, 100);
    assert!(
        text.contains("Cumulative incidence") && text.contains("Gray's test p"),
        "{text}"
    );
    // One sample, stacked.
    let one = RecordBatch::try_from_iter([
        ("t", Arc::clone(b.column(1))),
        ("s", Arc::clone(b.column(2))),
    ])
    .unwrap();
    let (_, stacked, _) = parse_plot_args("cif --stacked SELECT t, s FROM x").unwrap();
    let plot = cif_plot_from_batches(std::slice::from_ref(&one), &stacked).unwrap();
    assert_eq!(plot.curves.len(), 2);
    let events: Vec<(f64, bool)> = (0..300)
        .map(|i| (1.0 + (i * 7 % 97) as f64, i % 3 != 0))
        .collect();
    let (t, e): (Vec<f64>, Vec<bool>) = events.into_iter().unzip();
    let km = KaplanMeier::from_counts(&TimeCounts::from_subjects(&t, &e));
    let top = &plot.curves[1];
    for (i, &time) in top.time.iter().enumerate() {
        let s = km.at(time, ConfType::None, 0.95).surv;
        assert!((top.value[i] - (1.0 - s)).abs() < 1e-12, "at {time}");
    }
    let err = cif_plot_from_batches(&[b], &stacked)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("--stacked draws the causes of one sample"),
        "{err}"
    );
    let bad = batch(&["a"], 10, |i| if i == 3 { -1 } else { 1 });
    let err = cif_plot_from_batches(&[bad], &PlotOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("status column must be 0 (censored) or a cause code"),
        "{err}"
    );
}

#[test]
fn nice_steps() {
    assert_eq!(nice_step(120.0), 20.0);
    assert_eq!(nice_step(60.0), 10.0);
    assert_eq!(nice_step(14.0), 2.5);
}

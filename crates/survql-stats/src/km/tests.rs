use super::*;

fn km(times: &[f64], events: &[u8]) -> KaplanMeier {
    let ev: Vec<bool> = events.iter().map(|&e| e == 1).collect();
    KaplanMeier::from_counts(&TimeCounts::from_subjects(times, &ev))
}

#[test]
fn median_midpoint_rule() {
    // Events at 1, 2, 3, 4: S = 0.5 on [2, 3), R's median is 2.5.
    let fit = km(&[1.0, 2.0, 3.0, 4.0], &[1, 1, 1, 1]);
    assert_eq!(fit.median_table(None).estimate, Some(2.5));
    assert_eq!(fit.quantile(0.5, None).estimate, Some(2.5));
    assert_eq!(fit.quantile(0.25, None).estimate, Some(1.5));
}

#[test]
fn flat_at_half_to_end_table_and_quantile_differ() {
    let fit = km(&[1.0, 2.0, 3.0, 4.0], &[1, 1, 0, 0]);
    assert_eq!(fit.median_table(None).estimate, Some(2.0));
    assert_eq!(fit.quantile(0.5, None).estimate, Some(3.0));
}

#[test]
fn a_refilled_curve_is_the_fresh_curve() {
    // One scratch curve evaluated over groups of different sizes and with delayed entry
    // must hold exactly what a new curve would: nothing left over from the group before.
    let long = TimeCounts::from_subjects(
        &[1.0, 2.0, 2.0, 3.0, 5.0, 8.0],
        &[true, true, false, true, false, true],
    );
    let short = TimeCounts::from_subjects(&[4.0, 6.0], &[false, true]);
    let delayed = TimeCounts::from_unsorted_with_entries(
        vec![(2.0, 1, 0), (3.0, 0, 1), (4.0, 1, 0)],
        vec![(0.0, 2), (2.5, 1)],
        1.0,
    )
    .unwrap();
    let mut scratch = KaplanMeier::default();
    for counts in [&long, &short, &delayed, &TimeCounts::default(), &long] {
        scratch.refill_from_counts(counts);
        // (Compared as text: a curve that reaches 0 holds NaN, which is not == itself.)
        assert_eq!(
            format!("{scratch:?}"),
            format!("{:?}", KaplanMeier::from_counts(counts))
        );
        assert_eq!(scratch.time, counts.time);
        // The reverse curve (km_followup's) the same way, against the swapped copy.
        scratch.refill_reversed_from_counts(counts);
        assert_eq!(
            format!("{scratch:?}"),
            format!("{:?}", KaplanMeier::from_counts(&counts.reversed()))
        );
    }
    assert_eq!(scratch.surv.len(), 5);
}

#[test]
fn near_ties_are_merged() {
    let counts = TimeCounts::from_unsorted(vec![(1.0, 1, 0), (1.0 + 1e-12, 0, 1), (2.0, 1, 0)]);
    assert_eq!(counts.time, vec![1.0, 2.0]);
    assert_eq!(counts.n_event, vec![1, 1]);
    assert_eq!(counts.n_censor, vec![1, 0]);
}

#[test]
fn greenwood_infinite_at_zero() {
    let fit = km(&[1.0, 2.0, 3.0], &[1, 1, 1]);
    assert_eq!(fit.surv[2], 0.0);
    assert!(fit.std_err_log[2].is_infinite());
    let b = fit.bands(ConfType::Log, 0.95);
    assert!(b.lower[2].is_nan() && b.upper[2].is_nan());
    let b = fit.bands(ConfType::Plain, 0.95);
    assert!(b.lower[2].is_nan());
}

fn weighted(rows: &[(f64, f64, bool, f64)]) -> KaplanMeier {
    let records: Vec<WeightedRecord> = rows
        .iter()
        .map(|&(entry, time, event, weight)| WeightedRecord {
            entry,
            time,
            event,
            weight,
            count: 1,
        })
        .collect();
    KaplanMeier::from_weighted(&records).unwrap()
}

#[test]
fn whole_number_weights_are_frequencies() {
    let none = f64::NEG_INFINITY;
    let doubled = weighted(&[
        (none, 1.0, true, 2.0),
        (none, 2.0, false, 1.0),
        (none, 3.0, true, 3.0),
        (none, 4.0, true, 1.0),
    ]);
    let expanded = km(&[1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 4.0], &[1, 1, 0, 1, 1, 1, 1]);
    for (a, b) in doubled.surv.iter().zip(&expanded.surv) {
        assert!((a - b).abs() < 1e-15);
    }
    for (a, b) in doubled.std_err_log.iter().zip(&expanded.std_err_log) {
        assert!((a - b).abs() < 1e-15 || (a.is_infinite() && b.is_infinite()));
    }
    assert_eq!(doubled.n_risk, expanded.n_risk);
    // R counts rows, not weights, in `records`.
    assert_eq!(doubled.records, 4);
}

#[test]
fn fractional_weights_influence_vanishes_at_zero() {
    let none = f64::NEG_INFINITY;
    let fit = weighted(&[
        (none, 1.0, true, 0.5),
        (none, 2.0, false, 1.5),
        (none, 3.0, true, 2.5),
    ]);
    assert_eq!(fit.surv[2], 0.0);
    assert_eq!(fit.std_err[2], 0.0);
    assert!(fit.std_err[0] > 0.0);
    // Order of the records does not matter.
    let other = weighted(&[
        (none, 3.0, true, 2.5),
        (none, 1.0, true, 0.5),
        (none, 2.0, false, 1.5),
    ]);
    assert_eq!(fit, other);
}

#[test]
fn rmst_simple() {
    // S = 1 on [0, 2), 0.5 on [2, 4), 0 after: area to 5 = 2 + 1 = 3.
    let fit = km(&[2.0, 4.0], &[1, 1]);
    let r = fit.rmst(5.0).unwrap();
    assert!((r.rmst - 3.0).abs() < 1e-15);
}

use super::*;

/// A fixed pseudo-random sequence (xorshift), the same on every run.
fn sequence(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

#[test]
fn passes_by_time_are_passes_by_row() {
    // Right-censored fits with few distinct times sum each time's rows on their own (on
    // every core past PARALLEL_ROWS): the likelihood, score and information must be the
    // row-by-row pass's to rounding. Ties (with Efron's and Breslow's terms), strata,
    // whole weights 1-3, times without deaths.
    for n in [600, PARALLEL_ROWS + 1000] {
        let mut next = sequence(29 + n as u64);
        let mut uniform = move || (next() >> 11) as f64 / (1u64 << 53) as f64;
        let mut rows: Vec<(u32, f64, bool, f64, [f64; 3])> = (0..n)
            .map(|_| {
                let x = [
                    uniform() * 4.0,
                    (uniform() < 0.4) as u8 as f64,
                    uniform() - 0.5,
                ];
                let stratum = (uniform() * 3.0) as u32;
                let stop = (uniform() * 10.0).floor() / 2.0;
                let event = uniform() < 0.3 + 0.1 * x[1];
                let weight = 1.0 + (uniform() * 3.0).floor();
                (stratum, stop, event, weight, x)
            })
            .collect();
        rows.sort_by(|a, b| (a.0, a.1, !a.2).partial_cmp(&(b.0, b.1, !b.2)).unwrap());
        let data = CoxData {
            start: None,
            stop: rows.iter().map(|r| r.1).collect(),
            event: rows.iter().map(|r| r.2).collect(),
            strata: rows.iter().map(|r| r.0).collect(),
            x: (0..3)
                .map(|j| rows.iter().map(|r| r.4[j]).collect())
                .collect(),
            weights: Some(rows.iter().map(|r| r.3).collect()),
            cluster: None,
        };
        let by_time = Prepared::new(&data);
        assert_eq!(by_time.runs.len(), 3 * 10, "one run per (stratum, time)");
        let mut by_row = Prepared::new(&data);
        by_row.runs.clear();
        let beta = [0.2, -0.4, 0.3];
        for ties in [Ties::Efron, Ties::Breslow] {
            let a = likelihood_pass(&by_time, &beta, ties, &mut vec![0.0; n]);
            let b = likelihood_pass(&by_row, &beta, ties, &mut vec![0.0; n]);
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * y.abs().max(1.0);
            assert!(
                close(a.loglik, b.loglik),
                "{ties:?} n={n}: {} {}",
                a.loglik,
                b.loglik
            );
            for (x, y) in
                a.u.iter()
                    .zip(&b.u)
                    .chain(a.imat.data.iter().zip(&b.imat.data))
            {
                assert!(close(*x, *y), "{ties:?} n={n}: {x} {y}");
            }
        }
    }
}

#[test]
fn rank_trees_answer_as_plain_sums() {
    rank_trees_of_kind_answer_as_plain_sums::<f64, 4>();
    rank_trees_of_kind_answer_as_plain_sums::<u32, 8>();
}

fn rank_trees_of_kind_answer_as_plain_sums<C: TreeWeight, const F: usize>() {
    for ranks in [1, 3, 4, 5, 8, 9, 17, 64, 65, 1000] {
        // One part over every rank, and the ranks split in two parts that see the same
        // operations (each doing its own ranks' and noting the others').
        let mut whole = RankPart::<C, F>::new(0, ranks);
        let mid = ranks / 2;
        let mut halves = [
            RankPart::<C, F>::new(0, mid),
            RankPart::<C, F>::new(mid, ranks),
        ];
        let mut next = sequence(ranks as u64 + 7);
        let mut plain = vec![[0.0f64; 2]; ranks];
        for _ in 0..4 * ranks + 10 {
            let rank = (next() % ranks as u64) as usize;
            let tree = (next() % 2) as usize;
            let w = (next() % 5) as f64;
            let expected = |plain: &[[f64; 2]], t: usize| {
                let less: f64 = plain[..rank].iter().map(|v| v[t]).sum();
                let more: f64 = plain[rank + 1..].iter().map(|v| v[t]).sum();
                [more, less, plain[rank][t]]
            };
            let owner = usize::from(rank >= mid);
            assert_eq!(whole.walkup(tree, rank), expected(&plain, tree));
            assert_eq!(halves[owner].walkup(tree, rank), expected(&plain, tree));
            if next().is_multiple_of(2) {
                // Sometimes a removal (counting-process rows leave the risk set); a
                // count never goes below zero.
                let w = if plain[rank][tree] >= w && next().is_multiple_of(3) {
                    -w
                } else {
                    w
                };
                whole.add(tree, rank, w);
                halves[owner].add(tree, rank, w);
                halves[1 - owner].note_add(tree, rank, w);
                plain[rank][tree] += w;
            } else {
                assert_eq!(whole.walkup_and_add(tree, rank, w), expected(&plain, tree));
                let found = halves[owner].walkup_and_add(tree, rank, w);
                assert_eq!(found, expected(&plain, tree));
                halves[1 - owner].note_add(1 - tree, rank, w);
                plain[rank][1 - tree] += w;
            }
        }
    }
}

#[test]
fn risk_sums_of_every_size_add_as_the_general_loop() {
    let mut next = sequence(5);
    for p in 1..=9 {
        let mut sized = RiskSums::new(p);
        let mut general = RiskSums::new(p);
        for _ in 0..50 {
            let x: Vec<f64> = (0..p)
                .map(|_| (next() % 1000) as f64 / 7.0 - 60.0)
                .collect();
            let risk = (next() % 100) as f64 / 3.0;
            sized.add(&x, risk);
            general.add_any(&x, risk);
        }
        assert_eq!(sized.denom.to_bits(), general.denom.to_bits());
        assert_eq!(sized.a, general.a, "p = {p}");
        assert_eq!(sized.cmat, general.cmat, "p = {p}");
    }
}

#[test]
fn large_fits_prepare_on_every_core_as_row_by_row() {
    // Past PARALLEL_ROWS the centring, the row-major copy and the risk weights are
    // computed by chunks on several threads: each number must be the one the row-by-row
    // expression gives. Rows in prepared order backwards are read from the data's
    // columns and centred where they are read, others from a centred row-major copy:
    // the same numbers.
    for in_order in [false, true] {
        let mut next = sequence(3);
        let n = PARALLEL_ROWS + 3 * PARALLEL_CHUNK / 2;
        let mut outcome: Vec<(f64, bool)> = (0..n)
            .map(|_| ((next() % 500) as f64, next().is_multiple_of(2)))
            .collect();
        if in_order {
            // Increasing time, deaths first at each time.
            outcome.sort_by(|a, b| (a.0, !a.1).partial_cmp(&(b.0, !b.1)).unwrap());
        }
        let data = CoxData {
            stop: outcome.iter().map(|o| o.0).collect(),
            event: outcome.iter().map(|o| o.1).collect(),
            strata: vec![0; n],
            x: vec![
                (0..n).map(|_| (next() % 1000) as f64 / 7.0).collect(),
                (0..n).map(|_| (next() % 2) as f64).collect(),
                (0..n).map(|_| (next() % 97) as f64 - 40.0).collect(),
            ],
            weights: Some((0..n).map(|_| (next() % 5) as f64 / 2.0 + 0.5).collect()),
            ..CoxData::default()
        };
        let d = Prepared::new(&data);
        assert!(matches!(d.x, PreparedCovariates::RowMajor(_)) == !in_order);
        let mut buf = [0.0; 3];
        let w = |i: usize| data.weights.as_ref().unwrap()[i];
        let total: f64 = (0..n).map(w).sum();
        for j in 0..3 {
            let col = &data.x[j];
            let (m, s) = if j == 1 {
                (0.0, 1.0)
            } else {
                let m = (0..n).map(|i| w(i) * col[i]).sum::<f64>() / total;
                let mad = (0..n).map(|i| w(i) * (col[i] - m).abs()).sum::<f64>();
                (m, total / mad)
            };
            assert_eq!(
                (d.means[j].to_bits(), d.scale[j].to_bits()),
                (m.to_bits(), s.to_bits())
            );
            for k in 0..n {
                let v = (col[d.order.row(k)] - m) * s;
                assert_eq!(
                    d.row(k, &mut buf)[j].to_bits(),
                    v.to_bits(),
                    "row {k} column {j}"
                );
            }
        }
        let beta = [0.3, -0.7, 0.01];
        let mut risk = vec![0.0; n];
        fill_risk(&d, &beta, &mut risk);
        for k in 0..n {
            let e: f64 = d
                .row(k, &mut buf)
                .iter()
                .zip(&beta)
                .map(|(x, b)| x * b)
                .sum();
            assert_eq!(d.linear_predictor(k, &beta).to_bits(), e.to_bits());
            assert_eq!(risk[k].to_bits(), (e.exp() * d.weight(k)).to_bits());
        }
    }
}

#[test]
fn reversed_and_sorted_rows_prepare_the_same_columns() {
    // Rows in canonical order are prepared by reversing the columns (stop and start in
    // place); the same rows shuffled by gathering them in sorted order. Every prepared
    // column must be the same, bit for bit. Distinct stop times fix the order.
    for counting in [false, true] {
        let mut next = sequence(if counting { 5 } else { 7 });
        let n = 3000;
        // (stratum, stop, event, start, weight, covariates)
        type Row = (u32, f64, bool, f64, f64, [f64; 2]);
        let mut rows: Vec<Row> = (0..n)
            .map(|i| {
                let stop = i as f64 / 8.0 + 1.0;
                (
                    (next() % 3) as u32,
                    stop,
                    next().is_multiple_of(3),
                    stop - 0.5 - (next() % 4) as f64 / 4.0,
                    (next() % 3 + 1) as f64,
                    // (Values in {-1, 0, 1} are not centred: no sum whose order the
                    // shuffle changes.)
                    [(next() % 3) as f64 - 1.0, (next() % 2) as f64],
                )
            })
            .collect();
        rows.sort_by(|a, b| (a.0, a.1).partial_cmp(&(b.0, b.1)).unwrap());
        let data_of = |rows: &[Row]| CoxData {
            start: counting.then(|| rows.iter().map(|r| r.3).collect()),
            stop: rows.iter().map(|r| r.1).collect(),
            event: rows.iter().map(|r| r.2).collect(),
            strata: rows.iter().map(|r| r.0).collect(),
            x: (0..2)
                .map(|j| rows.iter().map(|r| r.5[j]).collect())
                .collect(),
            weights: Some(rows.iter().map(|r| r.4).collect()),
            cluster: None,
        };
        let sorted = data_of(&rows);
        let reversed = Prepared::new(&sorted);
        assert!(matches!(reversed.order, PreparedRows::Reversed(m) if m == n));
        // A fixed shuffle (Fisher-Yates with the same sequence).
        for i in (1..n).rev() {
            rows.swap(i, (next() % (i as u64 + 1)) as usize);
        }
        let shuffled = data_of(&rows);
        let gathered = Prepared::new(&shuffled);
        assert!(matches!(gathered.order, PreparedRows::Sorted(_)));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
        assert_eq!(bits(&reversed.stop), bits(&gathered.stop));
        assert_eq!(bits(&reversed.start), bits(&gathered.start));
        assert_eq!(reversed.event, gathered.event);
        assert_eq!(bits(&reversed.weights), bits(&gathered.weights));
        assert!(matches!(reversed.x, PreparedCovariates::Columns(_)));
        let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
        for k in 0..n {
            assert_eq!(
                bits(reversed.row(k, &mut a)),
                bits(gathered.row(k, &mut b)),
                "row {k}"
            );
        }
        assert_eq!(reversed.strata, gathered.strata);
        assert_eq!(reversed.by_start, gathered.by_start);
    }
}

#[test]
fn split_concordance_sweeps_count_as_one() {
    // A stratum past PARALLEL_ROWS with whole weights is swept by two parts on two
    // threads; its counts and every row's influence must be those of one sweep. Tied
    // scores and times, censorings, weights 1-3, and start times (rows leaving).
    for counting in [false, true] {
        let mut next = sequence(17 + u64::from(counting));
        let n = PARALLEL_ROWS + 5_000;
        let stop: Vec<f64> = (0..n).map(|_| (next() % 700 + 2) as f64).collect();
        let data = CoxData {
            start: counting.then(|| {
                stop.iter()
                    .map(|&t| (next() % (t as u64)) as f64 - 0.5)
                    .collect()
            }),
            event: (0..n).map(|_| !next().is_multiple_of(3)).collect(),
            strata: vec![0; n],
            weights: Some((0..n).map(|_| (next() % 3 + 1) as f64).collect()),
            stop,
            ..CoxData::default()
        };
        let lp: Vec<f64> = (0..n)
            .map(|_| (next() % 20_000) as f64 / 64.0 - 100.0)
            .collect();
        let d = Prepared::outcome(&data);
        let score: Vec<f64> = (0..n).map(|k| lp[d.order.row(k)]).collect();
        let by_start = if counting { &d.by_start[0][..] } else { &[] };
        let stratum = StratumRows {
            lo: 0,
            hi: n,
            by_start,
        };
        let sweep = |how: Sweep| {
            let (mut ranks, mut count, mut imat) = (vec![0; n], [0.0; 5], vec![[0.0; 3]; n]);
            concordance_stratum::<u32, 8>(
                &d, &score, &stratum, &mut ranks, &mut count, &mut imat, how,
            );
            (count, imat)
        };
        let (one, split) = (sweep(Sweep::One), sweep(Sweep::TwoParts));
        assert!(one.0[0] > 0.0 && one.0[3] > 0.0, "pairs of every kind");
        assert_eq!(one.0, split.0);
        assert_eq!(one.1, split.1);
        if !counting {
            // Trees over the 700 time ranks instead of the score ranks.
            let lp_of = |r: usize| lp[r];
            let weights = WholeWeights {
                weights: &d.weights,
            };
            // Each row holds its own influence after the sweep (the whole numbers of
            // the summed rows), and goes back to its prepared place.
            let mut count = [0.0; 5];
            let mut rows = by_score_rows(&d, &lp_of, &[(0, n)]);
            concordance_by_time(&mut rows, weights, &mut count);
            assert_eq!(one.0, count);
            let mut held = vec![None; n];
            for r in &rows {
                assert!(held[r.row as usize].is_none(), "row {} twice", r.row);
                held[r.row as usize] = Some(r.influence());
            }
            let held: Vec<[f64; 3]> = held.into_iter().map(Option::unwrap).collect();
            assert_eq!(one.1, held);
        }
    }
}

#[test]
fn sorted_times_merge_near_ties_as_the_sorting_path() {
    let mut next = sequence(5);
    // Whole and quarter days, near ties (a relative 1e-12 apart, as `aeqSurv` merges),
    // both zeros and an infinite time.
    let mut stop: Vec<f64> = (0..3000)
        .map(|_| {
            let t = (next() % 400) as f64 / 4.0;
            match next() % 4 {
                0 => t * (1.0 + 1e-12),
                1 if t == 0.0 => -0.0,
                _ => t,
            }
        })
        .collect();
    stop.push(f64::INFINITY);
    stop.sort_by(f64::total_cmp);
    let data = |stop: Vec<f64>| CoxData {
        event: vec![true; stop.len()],
        strata: vec![0; stop.len()],
        stop,
        ..CoxData::default()
    };
    let (sorted, _) = merged_times(&data(stop.clone()));
    let reversed: Vec<f64> = stop.iter().rev().copied().collect();
    let (mut general, _) = merged_times(&data(reversed));
    general.reverse();
    let bits = |v: &[f64]| v.iter().map(|t| t.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&sorted), bits(&general));
    // Near ties were merged (the test would pass vacuously otherwise).
    let distinct = |v: &[f64]| {
        let mut b = bits(v);
        b.dedup();
        b.len()
    };
    assert!(distinct(&sorted) < distinct(&stop));
    // Strata one after the other, each in order (runs), and each stratum's times a
    // different part of the range (so that the runs' distinct times interleave): the
    // runs' path, the same numbers as the general path on the rows reversed.
    let mut strata: Vec<f64> = vec![];
    for (lo, hi) in [(0, 250), (100, 400), (0, 400), (300, 350)] {
        let mut part: Vec<f64> = (0..800)
            .map(|_| {
                let t = (lo + next() % (hi - lo)) as f64 / 4.0;
                if next().is_multiple_of(3) {
                    t * (1.0 - 1e-12)
                } else {
                    t
                }
            })
            .collect();
        part.sort_by(f64::total_cmp);
        strata.extend(part);
    }
    assert_eq!(
        increasing_runs(&strata, strata.len() / 64 + 1).map(|r| r.len()),
        Some(4)
    );
    let (runs, _) = merged_times(&data(strata.clone()));
    let reversed: Vec<f64> = strata.iter().rev().copied().collect();
    assert!(increasing_runs(&reversed, reversed.len() / 64 + 1).is_none());
    let (mut general, _) = merged_times(&data(reversed));
    general.reverse();
    assert_eq!(bits(&runs), bits(&general));
    assert!(distinct(&runs) < distinct(&strata));
}

#[test]
fn sorted_data_take_the_linear_path_to_the_same_order() {
    let mut next = sequence(11);
    let n = 2000;
    let mut rows: Vec<(u32, f64, bool)> = (0..n)
        .map(|_| {
            (
                (next() % 3) as u32,
                (next() % 40) as f64 / 4.0,
                next().is_multiple_of(3),
            )
        })
        .collect();
    rows.sort_by(|a, b| (a.0, a.1, !a.2).partial_cmp(&(b.0, b.1, !b.2)).unwrap());
    let data = CoxData {
        start: None,
        stop: rows.iter().map(|r| r.1).collect(),
        event: rows.iter().map(|r| r.2).collect(),
        strata: rows.iter().map(|r| r.0).collect(),
        x: vec![],
        weights: None,
        cluster: None,
    };
    let linear = prepared_order(&data, &data.stop);
    assert!(matches!(linear, PreparedRows::Reversed(m) if m == n));
    let linear: Vec<usize> = (0..n).map(|k| linear.row(k)).collect();
    // The same rows shuffled take the sorting path; the order is of the same rows.
    let mut shuffled = data.clone();
    shuffled.stop.swap(0, n - 1);
    shuffled.event.swap(0, n - 1);
    shuffled.strata.swap(0, n - 1);
    let order = prepared_order(&shuffled, &shuffled.stop);
    let order: Vec<usize> = (0..n).map(|k| order.row(k)).collect();
    let keys = |d: &CoxData, order: &[usize]| -> Vec<(u32, u64, bool)> {
        order
            .iter()
            .map(|&r| (d.strata[r], d.stop[r].to_bits(), d.event[r]))
            .collect()
    };
    assert_eq!(keys(&shuffled, &order), keys(&data, &linear));
}

//! Harrell's concordance with its infinitesimal-jackknife standard error (R's
//! `concordance3.c` / `concordancefit`).

use super::*;

/// Concordance of `lp` with the outcome, as `concordancefit(y, lp, strata, weights,
/// reverse = TRUE)` (`concordance3`/`concordance4` with timewt "n"): weighted counts of
/// concordant, discordant and tied pairs (a pair counts w_i w_j), and the
/// infinitesimal-jackknife standard error.
///
/// The times are those of the fit, near-ties merged as `aeqSurv` ([`merged_times`]).
pub fn concordance(data: &CoxData, lp: &[f64]) -> Concordance {
    concordance_sorted(Prepared::outcome(data), &|r| lp[r], data.cluster.as_deref())
}

/// [`concordance`] over rows already sorted for the fit: `lp(r)` is data row r's linear
/// predictor, `cluster` in data order. Takes the prepared rows to free what it no longer
/// reads before it allocates its own n-long rows.
pub(super) fn concordance_sorted<S: Fn(usize) -> f64 + Sync>(
    mut d: Prepared,
    lp: &S,
    cluster: Option<&[u32]>,
) -> Concordance {
    let n = d.n;
    let mut count = [0.0; 5];
    // Whole weights (none, or frequency weights) whose sum fits in 32 bits are counted in
    // u32 trees (see RankTrees).
    let whole = if d.weights.is_empty() {
        n as f64 <= f64::from(u32::MAX)
    } else {
        d.weights.iter().all(|w| w.fract() == 0.0)
            && d.weights.iter().sum::<f64>() <= f64::from(u32::MAX)
    };
    // Large strata with whole weights are swept by two threads (exact sums: the same
    // numbers); fractional weights keep one sweep, whose sums' order fixes their bits.
    // Right-censored strata with few distinct times go by score over the time ranks.
    let how: Vec<Sweep> = d
        .strata
        .iter()
        .map(|&(lo, hi)| match whole {
            // (Its rows are numbered in 32 bits.)
            true if !d.counting
                && hi <= u32::MAX as usize
                && distinct_times(&d, lo, hi) <= TIME_RANKS_MAX =>
            {
                Sweep::ByTime
            }
            true => Sweep::TwoParts,
            false => Sweep::One,
        })
        .collect();
    // The sweeps by decreasing time read the scores in prepared order and a rank per row
    // (n numbers each, not allocated when every stratum goes by score over the time ranks).
    if how.iter().all(|&h| h == Sweep::ByTime) {
        // The rows by score of every stratum carry their time ranks and events: the
        // prepared times and events are freed, their marks kept, before the rows are
        // allocated.
        let marks = time_marks(&d, &d.strata);
        d.release_outcome();
        let mut rows = by_score_rows_marked(&d, lp, &d.strata, &marks);
        drop(marks);
        let weights = WholeWeights {
            weights: &d.weights,
        };
        // Each row's influence comes whole from one step of the sweep and is kept in the
        // row itself (no n-long influence rows beside them). The standard error sums them
        // in that order, stratum by stratum and by (score, prepared row) within: an order
        // fixed by the values, as the prepared order is. (Putting the rows back in prepared
        // order first cost a second: a random swap per row.)
        for &(lo, hi) in &d.strata {
            concordance_by_time(&mut rows[lo..hi], weights, &mut count);
        }
        let influence = rows
            .iter()
            .map(|r| (r.row as usize, r.influence().dfbeta_parts()));
        return concordance_result(&d, influence, count, cluster);
    }
    let d = &d;
    let mut imat = zeroed_on_every_core::<[f64; 3]>(n);
    let score: Vec<f64> = (0..n).map(|k| lp(d.order.row(k))).collect();
    let mut ranks = vec![0usize; n];
    for (s, (&(lo, hi), &how)) in d.strata.iter().zip(&how).enumerate() {
        let by_start = if d.counting { &d.by_start[s][..] } else { &[] };
        let stratum = StratumRows { lo, hi, by_start };
        let (c, m) = (&mut count, &mut imat);
        match how {
            Sweep::ByTime => {
                let mut rows = by_score_rows(d, lp, &[(lo, hi)]);
                let weights = WholeWeights {
                    weights: &d.weights,
                };
                concordance_by_time(&mut rows, weights, c);
                for r in &rows {
                    m[r.row as usize].add(&r.influence());
                }
            }
            Sweep::TwoParts => {
                concordance_stratum::<u32, 8>(d, &score, &stratum, &mut ranks, c, m, how)
            }
            Sweep::One => concordance_stratum::<f64, 4>(d, &score, &stratum, &mut ranks, c, m, how),
        }
    }
    let influence = imat.iter().enumerate().map(|(k, m)| (k, m.dfbeta_parts()));
    concordance_result(d, influence, count, cluster)
}

/// The concordance from the sweeps' counts and the rows' influence: `influence` gives each
/// prepared row k once, with its [`Influence::dfbeta_parts`], in the order the standard
/// error sums them.
pub(super) fn concordance_result(
    d: &Prepared,
    influence: impl Iterator<Item = (usize, (f64, f64))>,
    mut count: [f64; 5],
    cluster: Option<&[u32]>,
) -> Concordance {
    count[3] -= count[4];
    let npair = count[0] + count[1] + count[2];
    if npair == 0.0 {
        return Concordance {
            concordance: None,
            std_err: None,
            concordant: count[1],
            discordant: count[0],
            tied_x: count[2],
            tied_y: count[3],
            tied_xy: count[4],
        };
    }
    let somer = (count[0] - count[1]) / npair;
    let dfbeta = influence.map(|(k, (a, b))| (k, d.weight(k) * (a / npair - (somer / npair) * b)));
    let var: f64 = match cluster {
        None => dfbeta.map(|(_, d)| d * d).sum::<f64>() / 4.0,
        // concordancefit(cluster =): dfbeta summed within clusters.
        Some(cluster) => {
            let k = cluster.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
            let mut sums = vec![0.0; k];
            for (k, dfb) in dfbeta {
                sums[cluster[d.order.row(k)] as usize] += dfb;
            }
            sums.iter().map(|d| d * d).sum::<f64>() / 4.0
        }
    };
    // reverse = TRUE: flip concordant and discordant.
    Concordance {
        concordance: Some(1.0 - (somer + 1.0) / 2.0),
        std_err: Some(var.sqrt()),
        concordant: count[1],
        discordant: count[0],
        tied_x: count[2],
        tied_y: count[3],
        tied_xy: count[4],
    }
}

/// `n` default values (zeros), written on every core when `n` is large: the first write to
/// fresh memory is its page fault, which on some machines costs more than the work that
/// follows.
pub(super) fn zeroed_on_every_core<T: Default + Send>(n: usize) -> Vec<T> {
    if n < PARALLEL_ROWS {
        (0..n).map(|_| T::default()).collect()
    } else {
        (0..n).into_par_iter().map(|_| T::default()).collect()
    }
}

/// One stratum's prepared rows `lo..hi`, and (counting process) the same rows by
/// decreasing start.
pub(super) struct StratumRows<'a> {
    pub(super) lo: usize,
    pub(super) hi: usize,
    pub(super) by_start: &'a [usize],
}

/// One stratum of the concordance. `lp` is in prepared order; prepared rows run by
/// decreasing time with censorings before deaths, and R's order(-y, status, risk) only adds
/// the score within each run of equal time and status: short sorts of nearby rows.
pub(super) fn concordance_stratum<C: TreeWeight + Send + Sync, const F: usize>(
    d: &Prepared,
    lp: &[f64],
    stratum: &StratumRows,
    ranks: &mut [usize],
    count: &mut [f64; 5],
    imat: &mut [[f64; 3]],
    how: Sweep,
) {
    let StratumRows { lo, hi, .. } = *stratum;
    // Rank of each row's score among the distinct scores of the stratum, computed once
    // (only this stratum's entries of `ranks` are written and read).
    // (+ 0.0 makes -0.0 and 0.0 one score, as `==` does.)
    let mut by_score: Vec<(u64, usize)> = (lo..hi)
        .map(|k| (total_order_bits(lp[k] + 0.0), k))
        .collect();
    sort_unstable_any_size(&mut by_score);
    let mut m = 0;
    for (i, &(bits, k)) in by_score.iter().enumerate() {
        if i > 0 && bits != by_score[i - 1].0 {
            m += 1;
        }
        ranks[k] = m;
    }
    drop(by_score);
    let m = if hi == lo { 0 } else { m + 1 };
    // The runs of equal (time, status), each sorted by score (on every core for a large
    // stratum: the runs are independent and each sort has one result, its keys distinct).
    let mut by_stop: Vec<usize> = (lo..hi).collect();
    let mut runs: Vec<&mut [usize]> = vec![];
    let mut rest = &mut by_stop[..];
    while let Some(&first) = rest.first() {
        let len = rest
            .iter()
            .position(|&k| d.stop[k] != d.stop[first] || d.event[k] != d.event[first])
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at_mut(len);
        runs.push(run);
        rest = tail;
    }
    let sort_run =
        |run: &mut &mut [usize]| run.sort_unstable_by_key(|&k| (total_order_bits(lp[k]), k));
    if hi - lo < PARALLEL_ROWS {
        runs.iter_mut().for_each(sort_run);
    } else {
        runs.par_iter_mut().for_each(sort_run);
    }
    drop(runs);
    let ranks = &*ranks;
    let rows = InfluenceRows::new(imat);
    let sweep = |part: RankPart<C, F>, count: [f64; 5]| {
        concordance_sweep(d, lp, stratum, &by_stop, ranks, part, &rows, count)
    };
    if how == Sweep::TwoParts && hi - lo >= PARALLEL_ROWS && m >= 2 {
        // Two parts on two threads: each does the tree work of half the ranks.
        let (a, b) = rayon::join(
            || sweep(RankPart::new(0, m / 2), *count),
            || sweep(RankPart::new(m / 2, m), [0.0; 5]),
        );
        // The pairs tied on time (count[3], count[4]) involve no tree: both parts counted
        // them; the others are each part's own pairs.
        *count = [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3], a[4]];
    } else {
        *count = sweep(RankPart::new(0, m), *count);
    }
}

/// Strata with at most this many distinct times take [`concordance_by_time`].
pub(super) const TIME_RANKS_MAX: usize = 1 << 16;

/// How a stratum's concordance is counted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Sweep {
    /// One sweep by decreasing time over trees of the score ranks (any weights).
    One,
    /// The same split between two threads when the stratum is large (whole weights).
    TwoParts,
    /// Rows by increasing score over trees of the time ranks (whole weights, no start
    /// times, at most `TIME_RANKS_MAX` distinct times): [`concordance_by_time`], not
    /// [`concordance_stratum`].
    ByTime,
}

/// The number of distinct (merged) times of prepared rows `lo..hi`.
pub(super) fn distinct_times(d: &Prepared, lo: usize, hi: usize) -> usize {
    usize::from(hi > lo) + (lo + 1..hi).filter(|&k| d.stop[k] != d.stop[k - 1]).count()
}

/// The concordance of one right-censored stratum with whole weights (as the u32 sweep) and
/// few distinct times (at most [`TIME_RANKS_MAX`]), the same counts and influence as
/// [`concordance_sweep`] by the other dimension: rows are taken by increasing score, and
/// the weights already seen — of all rows and of the deaths — are kept in [`RankTrees`]
/// over the time ranks, which stay in cache, where trees over a million distinct scores
/// miss it on every level.
///
/// Time rank τ counts distinct times from the latest (τ = 0). A death i is compared with
/// R_i = the rows of a later time (τ < τ_i) and the censorings at its time; row j with
/// D_j = the deaths of an earlier time (τ > τ_j), and, if j is censored, those at its time.
/// The weights of R_i and D_j seen before row i's score give "smaller score", those seen
/// before the score after it give "smaller or equal"; the rest of R_i, D_j are "larger".
/// Every sum is of whole numbers, exact in any order: the numbers of the sweep.
/// `rows`: the stratum's [`by_score_rows`], in prepared order. They are sorted here, and
/// each row leaves holding its influence ([`ByScore::influence`]), in score order.
pub(super) fn concordance_by_time(
    rows: &mut [ByScore],
    weights: WholeWeights,
    count: &mut [f64; 5],
) {
    let times = rows.last().map_or(0, |r| r.time() as usize + 1);
    // Per time rank: weight of all rows, of the deaths (whole numbers, exact in u32 and
    // in f64); then R_i's and D_j's totals.
    let [all, dead] = weights_per_time(rows, times, weights);
    let dead: Vec<f64> = dead.into_iter().map(f64::from).collect();
    // at_risk[τ] = Σ all over τ' < τ, plus the censorings at τ;
    // deaths_before[τ] = Σ dead over τ' > τ.
    let mut at_risk = vec![0.0; times];
    let mut later = 0.0;
    for t in 0..times {
        at_risk[t] = later + (f64::from(all[t]) - dead[t]);
        later += f64::from(all[t]);
    }
    drop(all);
    let mut deaths_before = vec![0.0; times];
    let mut earlier = 0.0;
    for t in (0..times).rev() {
        deaths_before[t] = earlier;
        earlier += dead[t];
    }
    // Pairs of deaths tied on time (count[3]; and on time and score, count[4], below).
    let mut dwt = 0.0;
    for (i, r) in rows.iter().enumerate() {
        if i > 0 && r.time() != rows[i - 1].time() {
            dwt = 0.0;
        }
        if r.death() {
            let w = f64::from(weights.of(r));
            count[3] += w * dwt;
            dwt += w;
        }
    }
    sort_unstable_any_size(rows);
    // The rows in score order are swept in two parts on two cores when there are many: the
    // second part starts from the weights per time of the first (the trees' state when the
    // first part is done). The counts are sums of whole numbers and every row's influence
    // is its own, so both ways give the same numbers. The parts split between score groups.
    let mut half = if rows.len() < PARALLEL_ROWS {
        rows.len()
    } else {
        rows.len() / 2
    };
    while half > 0 && half < rows.len() && rows[half].score == rows[half - 1].score {
        half += 1;
    }
    let tables = TimeTables {
        at_risk: &at_risk,
        deaths_before: &deaths_before,
        dead: &dead,
        weights,
    };
    let (first, second) = rows.split_at_mut(half);
    let parts = if second.is_empty() {
        [sweep_by_score(first, None, times, &tables), [0.0; 5]]
    } else {
        // The second part's trees start from the first part's weights per time, counted
        // before the first part's rows are given their influence in place.
        let first_totals = weights_per_time(first, times, weights);
        let (c1, c2) = rayon::join(
            || sweep_by_score(first, None, times, &tables),
            || sweep_by_score(second, Some(&first_totals), times, &tables),
        );
        [c1, c2]
    };
    for k in [0, 1, 2, 4] {
        count[k] += parts[0][k];
        count[k] += parts[1][k];
    }
}

/// The rows of [`concordance_by_time`] for the prepared rows of `strata` (consecutive
/// ranges, the first starting at row `strata[0].0`), in prepared order: each row's score
/// (`lp` of its data row), time rank within its stratum and event travel with it through
/// the sort, so that the sweep in score order reads them in order instead of at random.
/// (Whole weights are at least 1 and sum to at most u32::MAX: rows fit in u32.) Written on
/// every core when many, then numbered in one sweep: the first write to fresh memory is a
/// page fault, which costs more than the rest.
pub(super) fn by_score_rows<S: Fn(usize) -> f64 + Sync>(
    d: &Prepared,
    lp: &S,
    strata: &[(usize, usize)],
) -> Vec<ByScore> {
    by_score_rows_marked(d, lp, strata, &time_marks(d, strata))
}

/// In a prepared row's [`time_marks`]: the row is a death.
pub(super) const MARK_DEATH: u8 = 1;
/// In a prepared row's [`time_marks`]: the row's time differs from the previous row's in
/// its stratum.
pub(super) const MARK_NEW_TIME: u8 = 2;

/// What [`by_score_rows`] reads of the prepared times and events, a byte per row of
/// `strata` (numbered from the first's start): the times and events can be freed before the
/// rows by score are allocated (80 MB fewer alive with them at 1e7 rows).
pub(super) fn time_marks(d: &Prepared, strata: &[(usize, usize)]) -> Vec<u8> {
    let first = strata.first().map_or(0, |s| s.0);
    let mut marks = Vec::with_capacity(strata.last().map_or(0, |s| s.1) - first);
    for &(lo, hi) in strata {
        marks.extend((lo..hi).map(|k| {
            let new_time = k > lo && d.stop[k] != d.stop[k - 1];
            u8::from(d.event[k]) * MARK_DEATH + u8::from(new_time) * MARK_NEW_TIME
        }));
    }
    marks
}

/// [`by_score_rows`] from the [`time_marks`] of the same strata.
pub(super) fn by_score_rows_marked<S: Fn(usize) -> f64 + Sync>(
    d: &Prepared,
    lp: &S,
    strata: &[(usize, usize)],
    marks: &[u8],
) -> Vec<ByScore> {
    let (first, end) = match (strata.first(), strata.last()) {
        (Some(&(first, _)), Some(&(_, end))) => (first, end),
        _ => return vec![],
    };
    let by_score = |k: usize| ByScore {
        score: total_order_bits(lp(d.order.row(k)) + 0.0),
        row: k as u32,
        time_death: u32::from(marks[k - first] & MARK_DEATH),
    };
    let mut rows: Vec<ByScore> = if end - first < PARALLEL_ROWS {
        (first..end).map(by_score).collect()
    } else {
        (first..end).into_par_iter().map(by_score).collect()
    };
    for &(lo, hi) in strata {
        let mut t = 0u32;
        for k in lo..hi {
            t += u32::from(marks[k - first] & MARK_NEW_TIME != 0);
            rows[k - first].time_death |= t << 1;
        }
    }
    rows
}

/// The whole case weights of the prepared rows in [`concordance_by_time`] (empty: every
/// weight 1, read without touching memory).
#[derive(Clone, Copy)]
pub(super) struct WholeWeights<'a> {
    pub(super) weights: &'a [f64],
}

impl WholeWeights<'_> {
    /// Row `r`'s weight: a whole number from 1 to u32::MAX (the by-time path's condition).
    #[inline]
    pub(super) fn of(&self, r: &ByScore) -> u32 {
        if self.weights.is_empty() {
            1
        } else {
            self.weights[r.row as usize] as u32
        }
    }
}

/// Per time rank in [`concordance_by_time`]: the weight at risk a death at that time is
/// compared with, the weight of deaths at later ranks... (see there), and of deaths at it.
pub(super) struct TimeTables<'a> {
    pub(super) at_risk: &'a [f64],
    pub(super) deaths_before: &'a [f64],
    pub(super) dead: &'a [f64],
    /// (Not per time: the rows' weights.)
    pub(super) weights: WholeWeights<'a>,
}

/// The weights per time rank of `rows`: (of all rows, of the deaths).
pub(super) fn weights_per_time(
    rows: &[ByScore],
    times: usize,
    weights: WholeWeights,
) -> [Vec<u32>; 2] {
    let mut all = vec![0u32; times];
    let mut dead = vec![0u32; times];
    for r in rows {
        all[r.time() as usize] += weights.of(r);
        if r.death() {
            dead[r.time() as usize] += weights.of(r);
        }
    }
    [all, dead]
}

/// The sweep of [`concordance_by_time`] over `part` (rows in increasing score, after rows
/// whose weights per time are `before`): returns counts 0, 1, 2 and 4 of the part, and
/// leaves each row of the part holding its influence.
pub(super) fn sweep_by_score(
    part: &mut [ByScore],
    before: Option<&[Vec<u32>; 2]>,
    times: usize,
    tables: &TimeTables,
) -> [f64; 5] {
    let TimeTables {
        at_risk,
        deaths_before,
        dead,
        weights,
    } = *tables;
    let mut count = [0.0; 5];
    let mut seen = RankTrees::<u32, 8>::new(times);
    let mut seen_deaths = 0u32;
    if let Some([all_before, dead_before]) = before {
        for t in 0..times {
            if all_before[t] > 0 {
                seen.add(AT_RISK, t, all_before[t]);
            }
            if dead_before[t] > 0 {
                seen.add(DEAD, t, dead_before[t]);
                seen_deaths += dead_before[t];
            }
        }
    }
    // (weight in R_k, weight in D_k) seen so far, for row `r`.
    let below = |seen: &RankTrees<u32, 8>, seen_deaths: u32, r: &ByScore| -> (f64, f64) {
        let t = r.time() as usize;
        let (all_lt, all_at) = seen.less_equal(AT_RISK, t);
        let (dead_lt, dead_at) = seen.less_equal(DEAD, t);
        let risk = if r.death() {
            f64::from(all_lt) + f64::from(all_at - dead_at)
        } else {
            0.0
        };
        let mut deaths = seen_deaths - dead_lt - dead_at;
        if !r.death() {
            deaths += dead_at;
        }
        (risk, f64::from(deaths))
    };
    let mut group_below: Vec<(f64, f64)> = vec![];
    let mut group_influence: Vec<[f64; 3]> = vec![];
    let mut a = 0;
    while a < part.len() {
        let mut b = a + 1;
        while b < part.len() && part[b].score == part[a].score {
            b += 1;
        }
        let group = &part[a..b];
        group_below.clear();
        group_influence.clear();
        group_below.extend(group.iter().map(|r| below(&seen, seen_deaths, r)));
        for r in group {
            let t = r.time() as usize;
            seen.add(AT_RISK, t, weights.of(r));
            if r.death() {
                seen.add(DEAD, t, weights.of(r));
                seen_deaths += weights.of(r);
            }
        }
        for (r, &(risk_lt, deaths_lt)) in group.iter().zip(&group_below) {
            let mut m = [0.0; 3];
            let (risk_le, deaths_le) = if group.len() == 1 {
                (risk_lt, deaths_lt)
            } else {
                below(&seen, seen_deaths, r)
            };
            let t = r.time() as usize;
            let w = f64::from(weights.of(r));
            if r.death() {
                let more = at_risk[t] - risk_le;
                let (less, equal) = (risk_lt, risk_le - risk_lt);
                count[0] += w * more;
                count[1] += w * less;
                count[2] += w * equal;
                m[0] += more;
                m[1] += less;
                m[2] += equal;
            }
            let total = deaths_before[t] + if r.death() { 0.0 } else { dead[t] };
            m[0] += deaths_lt;
            m[1] += total - deaths_le;
            m[2] += deaths_le - deaths_lt;
            group_influence.push(m);
        }
        if group.len() > 1 {
            // Deaths at one time with one score: pairs tied on both.
            let mut tied: Vec<(u32, f64)> = group
                .iter()
                .filter(|r| r.death())
                .map(|r| (r.time(), f64::from(weights.of(r))))
                .collect();
            tied.sort_unstable_by_key(|&(t, _)| t);
            let mut dwt2 = 0.0;
            for (i, &(t, w)) in tied.iter().enumerate() {
                if i > 0 && tied[i - 1].0 != t {
                    dwt2 = 0.0;
                }
                count[4] += w * dwt2;
                dwt2 += w;
            }
        }
        // The group's rows are read no more: each keeps its influence in place.
        for (r, m) in part[a..b].iter_mut().zip(&group_influence) {
            r.hold_influence(m);
        }
        a = b;
    }
    count
}

/// A row of [`concordance_by_time`]: ordered by (score, row), which are distinct; its time
/// rank and event ride along. 16 bytes (the sort moves n of them; the weights, when there
/// are any, are read by row).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ByScore {
    pub(super) score: u64,
    /// The prepared row.
    pub(super) row: u32,
    /// Time rank (< [`TIME_RANKS_MAX`]) × 2, plus 1 for a death.
    pub(super) time_death: u32,
}

impl ByScore {
    /// Once the sweep has given the row its influence (larger, smaller, tied: sums of whole
    /// weights no larger than their total, at most u32::MAX), the row keeps it as three u32
    /// in place of its score, time and event; its prepared row stays.
    #[inline]
    pub(super) fn hold_influence(&mut self, m: &[f64; 3]) {
        debug_assert!(
            m.iter().all(|&v| f64::from(v as u32) == v),
            "whole weights within u32: {m:?}"
        );
        let [larger, smaller, tied] = m.map(|v| v as u32);
        self.score = u64::from(larger) | u64::from(smaller) << 32;
        self.time_death = tied;
    }

    /// The influence [`Self::hold_influence`] kept: the same whole numbers, so the same
    /// bits in [`Influence::dfbeta_parts`] as R's summed rows.
    #[inline]
    pub(super) fn influence(&self) -> [f64; 3] {
        [
            f64::from(self.score as u32),
            f64::from((self.score >> 32) as u32),
            f64::from(self.time_death),
        ]
    }

    #[inline]
    pub(super) fn time(&self) -> u32 {
        self.time_death >> 1
    }

    #[inline]
    pub(super) fn death(&self) -> bool {
        self.time_death & 1 == 1
    }
}

/// The sweep of one stratum by decreasing time, as R's `concordance3`, doing the tree work
/// of the rows whose rank `part` owns (the other rows only move its totals). Adds to `count`
/// the weighted counts of its rows' pairs (discordant, concordant, tied on score; tied on
/// time, tied on time and score) and returns it, and adds its rows' influence to `imat`.
#[allow(clippy::too_many_arguments)]
pub(super) fn concordance_sweep<C: TreeWeight, const F: usize>(
    d: &Prepared,
    lp: &[f64],
    stratum: &StratumRows,
    by_stop: &[usize],
    ranks: &[usize],
    mut part: RankPart<C, F>,
    imat: &InfluenceRows,
    mut count: [f64; 5],
) -> [f64; 5] {
    let StratumRows { lo, hi, by_start } = *stratum;
    let rank = |r: usize| ranks[r];
    let wt = |k: usize| d.weight(k);
    // Row `k`'s influence, for a row whose rank this part owns (checked: the parts' rank
    // ranges are disjoint, so no other part can be writing the row).
    let owned = part.lo..part.hi;
    let influence = |k: usize| {
        assert!(
            owned.contains(&ranks[k]),
            "influence of a row of another part"
        );
        // SAFETY: the row's rank is this part's (asserted), so no other thread touches it;
        // each reference lives for one row's update.
        unsafe { imat.row(k) }
    };
    // A row (re-)entering the risk set: its pairs with the deaths so far (queried in the
    // deaths' tree) are taken off its influence, which `finish` completes with the deaths
    // still to come; a row removed or finished adds them.
    let enter_at_risk = |part: &mut RankPart<C, F>, k: usize| {
        let r = rank(k);
        if part.owns(r) {
            let w = part.walkup_and_add(DEAD, r, wt(k));
            let m = influence(k);
            m[0] -= w[1];
            m[1] -= w[0];
            m[2] -= w[2];
        } else {
            part.note_add(AT_RISK, r, wt(k));
        }
    };
    let add_deaths_pairs = |part: &RankPart<C, F>, k: usize| {
        let w = part.walkup(DEAD, rank(k));
        let m = influence(k);
        m[0] += w[1];
        m[1] += w[0];
        m[2] += w[2];
    };
    let start = d.counting.then_some(&d.start[..]);
    let mut i = 0;
    let mut i2 = 0;
    let nn = by_stop.len();
    // How many rows ahead the trees' cells are prefetched.
    const AHEAD: usize = 32;
    let prefetch = |part: &RankPart<C, F>, rows: &[usize], at: usize| {
        if let Some(&r) = rows.get(at + AHEAD) {
            part.prefetch(rank(r));
        }
    };
    while i < nn {
        let ii = by_stop[i];
        prefetch(&part, by_stop, i);
        if !d.event[ii] {
            enter_at_risk(&mut part, ii);
            i += 1;
            continue;
        }
        if let Some(st) = start {
            while i2 < nn && st[by_start[i2]] >= d.stop[ii] {
                let jj = by_start[i2];
                let r = rank(jj);
                if part.owns(r) {
                    add_deaths_pairs(&part, jj);
                    part.add(AT_RISK, r, -wt(jj));
                } else {
                    part.note_add(AT_RISK, r, -wt(jj));
                }
                i2 += 1;
            }
        }
        // Tied deaths at this time.
        let t = d.stop[ii];
        let mut j = i;
        let mut dwt = 0.0;
        let mut dwt2 = 0.0;
        let mut xsave = lp[ii];
        // concordance3 also keeps each row's influence on the pairs tied on time (and on
        // time and score); the standard error reads only the first three (concordant,
        // discordant, tied on score), so only those are kept.
        while j < nn && d.stop[by_stop[j]] == t {
            let jj = by_stop[j];
            prefetch(&part, by_stop, j);
            count[3] += wt(jj) * dwt;
            dwt += wt(jj);
            if lp[jj] != xsave {
                dwt2 = 0.0;
                xsave = lp[jj];
            }
            count[4] += wt(jj) * dwt2;
            dwt2 += wt(jj);
            let r = rank(jj);
            if part.owns(r) {
                let w = part.walkup_and_add(AT_RISK, r, wt(jj));
                let m = influence(jj);
                for k in 0..3 {
                    count[k] += wt(jj) * w[k];
                    m[k] += w[k];
                }
            } else {
                part.note_add(DEAD, r, wt(jj));
            }
            j += 1;
        }
        for &jj in &by_stop[i..j] {
            enter_at_risk(&mut part, jj);
        }
        i = j;
    }
    // Finish the influence of everyone still in the tree (counting: those not yet removed);
    // the tree no longer changes, so without start times rows are taken in memory order.
    let finish = |ii: usize| {
        if part.owns(rank(ii)) {
            add_deaths_pairs(&part, ii);
        }
    };
    // The rows' ranks are in no order: each row's lines are fetched AHEAD rows early, as in
    // the sweep (a third of the concordance's time went to waiting on them).
    if start.is_some() {
        for (at, &ii) in by_start[i2..].iter().enumerate() {
            prefetch(&part, &by_start[i2..], at);
            finish(ii);
        }
    } else {
        for ii in lo..hi {
            if ii + AHEAD < hi {
                part.prefetch(rank(ii + AHEAD));
            }
            finish(ii);
        }
    }
    count
}

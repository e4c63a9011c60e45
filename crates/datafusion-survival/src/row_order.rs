//! The canonical order of the Cox family's rows, sorted by buckets of equal (stratum, time).
//!
//! Survival times have few distinct values (a registry's 1e7 rows share a few thousand), so
//! the canonical order — stratum, time, then a fingerprint of the rest of the row — is built
//! as a counting sort by (stratum, time) followed by short sorts within each bucket, which
//! stay in the cache, instead of one comparison sort of all rows.

use std::cmp::Ordering;
use std::collections::HashMap;

use rayon::prelude::*;
use survql_stats::cox::PARALLEL_ROWS;

use crate::input_columns::StateHasher;

/// At most this many distinct (stratum, time) buckets: past it the canonical order is one
/// comparison sort (the hash table of buckets would no longer stay in the cache).
pub(crate) const BUCKETS_MAX: usize = 1 << 16;

/// Groups smaller than this are sorted in one comparison sort (the buckets would not pay).
pub(crate) const BUCKET_ROWS_MIN: usize = 4096;

/// The rows' indices ordered by (`key`, `fingerprint`, then `same_values`), sorted within one
/// bucket per distinct key. `Err` (the fingerprints back) when the rows are too few or too
/// many, or have more than [`BUCKETS_MAX`] distinct keys; the caller then sorts them in one
/// comparison sort, which gives the same order (rows equal in all three are
/// interchangeable).
///
/// Memory, for a fit's n rows: the fingerprints and bucket ids (4 bytes a row each) while the
/// rows are scattered into the buckets, as one 8-byte word each (fingerprint above, row
/// below); the words then become the order in place. At 1e7 rows that is 160 MB at most,
/// where (u64, u32) pairs and a separate order took 280 MB.
pub(crate) fn bucketed_order(
    key: &(dyn Fn(usize) -> (u32, u64) + Sync),
    fingerprint: Vec<u32>,
    same_values: &(dyn Fn(usize, usize) -> Ordering + Sync),
) -> Result<Vec<usize>, Vec<u32>> {
    let n = fingerprint.len();
    if !(BUCKET_ROWS_MIN..=u32::MAX as usize).contains(&n) {
        return Err(fingerprint);
    }
    // Bucket ids in order of first appearance, then renumbered in key order.
    let mut ids: HashMap<(u32, u64), u32, StateHasher> = HashMap::default();
    let mut bucket = Vec::with_capacity(n);
    for i in 0..n {
        let next = ids.len() as u32;
        bucket.push(*ids.entry(key(i)).or_insert(next));
        if ids.len() > BUCKETS_MAX {
            return Err(fingerprint);
        }
    }
    let mut keys: Vec<((u32, u64), u32)> = ids.into_iter().collect();
    keys.sort_unstable();
    let mut rank = vec![0u32; keys.len()];
    for (r, &(_, id)) in keys.iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    let mut start = vec![0usize; keys.len() + 1];
    for b in &mut bucket {
        *b = rank[*b as usize];
        start[*b as usize + 1] += 1;
    }
    for b in 1..start.len() {
        start[b] += start[b - 1];
    }
    // fingerprint << 32 | row, scattered into the buckets.
    let mut sorted = vec![0u64; n];
    let mut next = start[..keys.len()].to_vec();
    for (row, &b) in bucket.iter().enumerate() {
        let slot = &mut next[b as usize];
        sorted[*slot] = u64::from(fingerprint[row]) << 32 | row as u64;
        *slot += 1;
    }
    drop(bucket);
    drop(fingerprint);
    let mut pieces: Vec<&mut [u64]> = Vec::with_capacity(keys.len());
    let mut rest = &mut sorted[..];
    for b in 0..keys.len() {
        let (piece, tail) = rest.split_at_mut(start[b + 1] - start[b]);
        pieces.push(piece);
        rest = tail;
    }
    let row = |word: u64| (word & u64::from(u32::MAX)) as usize;
    let sort_piece = |piece: &mut &mut [u64]| {
        piece.sort_unstable_by(|&a, &b| {
            (a >> 32)
                .cmp(&(b >> 32))
                .then_with(|| same_values(row(a), row(b)))
        })
    };
    if n < PARALLEL_ROWS {
        pieces.iter_mut().for_each(sort_piece);
    } else {
        pieces.par_iter_mut().for_each(sort_piece);
    }
    // Same size and alignment: the collect reuses the words' allocation.
    Ok(sorted.into_iter().map(row).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucketed order is the comparison sort's.
    #[test]
    fn buckets_give_the_comparison_sort_order() {
        let n = 20_000;
        let mut state = 7u64;
        let mut draw = |m: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        let stratum: Vec<u32> = (0..n).map(|_| draw(3) as u32).collect();
        let time: Vec<f64> = (0..n).map(|_| draw(40) as f64 / 2.0).collect();
        // Few fingerprints: ties broken by the values, and some rows equal in all three.
        let fp: Vec<u32> = (0..n).map(|_| draw(5) as u32).collect();
        let value: Vec<f64> = (0..n).map(|_| draw(4) as f64).collect();
        let key = |i: usize| (stratum[i], time[i].to_bits());
        let same = |a: usize, b: usize| value[a].total_cmp(&value[b]);
        let idx = bucketed_order(&key, fp.clone(), &same).expect("buckets");
        let mut expected: Vec<usize> = (0..n).collect();
        expected.sort_by(|&a, &b| {
            (key(a), fp[a])
                .cmp(&(key(b), fp[b]))
                .then_with(|| same(a, b))
        });
        let full = |i: usize| (key(i), fp[i], value[i].to_bits());
        let got: Vec<_> = idx.iter().map(|&i| full(i)).collect();
        let want: Vec<_> = expected.iter().map(|&i| full(i)).collect();
        assert_eq!(got, want);
        // A permutation: every row once.
        let mut seen = idx.clone();
        seen.sort_unstable();
        assert!(seen.iter().enumerate().all(|(i, &r)| i == r));
        // Too many buckets, or too few rows: the caller's comparison sort.
        let distinct = |i: usize| (0, i as u64);
        let many = vec![0u32; BUCKETS_MAX + 1];
        let equal = |_: usize, _: usize| Ordering::Equal;
        assert!(bucketed_order(&distinct, many.clone(), &equal).is_err());
        assert!(bucketed_order(&distinct, many[..BUCKETS_MAX].to_vec(), &equal).is_ok());
        assert!(bucketed_order(&key, fp[..100].to_vec(), &same).is_err());
    }
}

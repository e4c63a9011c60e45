//! One group's event and censoring counts at each distinct time, in a layout chosen for
//! what survival times look like.
//!
//! Every Kaplan-Meier and log-rank state keeps one of these per group (per cell), and adding
//! a row to it is the hot loop of those aggregates. Three layouts, switched as the group
//! grows, hold the same counts:
//!
//! - **Small**: up to [`SMALL_GROUP_TIMES`] distinct times in a vector searched linearly.
//!   Groups of a many-group query (per patient cohort, per hospital-month) have a handful of
//!   times each: one small allocation, a cache line or two, no hashing.
//! - **Grid**: recorded times are nearly always whole days or months, or have a fixed number
//!   of decimals (12.5 months, 3.25 years). When every distinct time is `k / scale` for an
//!   integer `k` and `scale` one of 1, 10, 100, 1000, 10000, and the `k` span at most
//!   [`GRID_ENTER_CELLS_PER_TIME`] cells per distinct time, the counts live in a vector
//!   indexed by `k`: a row costs a multiply, a rounding, the division that confirms the time
//!   is exactly `k / scale`, and the add. No hash, no probing, 8 bytes a cell, and the counts
//!   come out sorted.
//! - **Hashed**: anything else (times from continuous measurements, times far apart): a hash
//!   table keyed by the time's bits, with the counts stored in the table itself.
//!
//! "Exactly": a time takes a cell only if the f64 division `k as f64 / scale` gives back its
//! very bits (checked for every row), so the grid maps bit patterns to cells one to one and
//! the counts are those a hash table keyed by bits would hold, whatever the layout
//! (tested below). Grid cells count in 32 bits; a count past that sends the group to the hash
//! table (64 bits) for good. Which layout a group is in depends on the order its rows arrive
//! in, what it holds does not.

use std::collections::HashMap;
use std::mem::size_of;

/// A fast, deterministic hasher for the bit patterns of f64 times.
type TimeHasher = crate::input_columns::StateHasher;

/// Distinct times up to which a group keeps its counts in a vector searched linearly.
pub(crate) const SMALL_GROUP_TIMES: usize = 16;

/// The grid scales tried, coarsest first: times in whole units, or with 1 to 4 decimals. A
/// time on a grid is also on every finer one (`10k / 10s` is the same rational as `k / s`,
/// so its correctly rounded quotient is the same f64).
const GRID_SCALES: [f64; 5] = [1.0, 10.0, 100.0, 1000.0, 10000.0];

/// Grid indices stay below this in magnitude, so that `k as f64` is exact and one more
/// rescale by 10 cannot overflow.
const GRID_INDEX_LIMIT: i64 = 1 << 49;

/// A hashed group becomes a grid when the grid would need at most this many cells per
/// distinct time (8 bytes a cell; a hash table entry costs 25–55 bytes)…
const GRID_ENTER_CELLS_PER_TIME: i64 = 5;
/// …and a grid goes back to hashing when a new time would stretch it past this many.
/// The gap between the two keeps a group from switching back and forth: after leaving, it
/// needs twice its distinct times before it can enter again.
const GRID_LEAVE_CELLS_PER_TIME: i64 = 10;

/// Event and censoring counts at each distinct time of one group, keyed by the time's bits.
#[derive(Debug, Clone)]
pub(crate) enum TimeTable {
    /// At most [`SMALL_GROUP_TIMES`] distinct times, in arrival order, with 32-bit counts
    /// (16 bytes a time: a million small groups are a third smaller than with 64 bits).
    Small(Vec<(u64, [u32; 2])>),
    /// Times `k / scale` for k in a dense range: counts indexed by k.
    Grid(Box<TimeGrid>),
    /// Anything else.
    Hashed(Box<HashedTimes>),
}

impl Default for TimeTable {
    fn default() -> Self {
        TimeTable::Small(Vec::new())
    }
}

/// The grid index of `bits`: the integer `k` with `k as f64 / scale` bit-identical to the
/// time, if there is one (within [`GRID_INDEX_LIMIT`]).
#[inline]
fn grid_index(bits: u64, scale: f64) -> Option<i64> {
    let x = f64::from_bits(bits) * scale;
    // NaN fails the comparison too.
    if x.is_nan() || x.abs() >= GRID_INDEX_LIMIT as f64 {
        return None;
    }
    let k = nearest_integer(x);
    ((k as f64 / scale).to_bits() == bits).then_some(k)
}

/// `x` rounded to the nearest integer (saturating): an add and a truncating conversion, where
/// `f64::round` is a library call on baseline x86_64. Only a candidate: callers confirm it.
#[inline]
fn nearest_integer(x: f64) -> i64 {
    (x + 0.5f64.copysign(x)) as i64
}

/// The grid the distinct times of a hashed group lie on so far, and the range of their
/// indices on it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct GridFit {
    /// Index into [`GRID_SCALES`].
    scale: usize,
    lo: i64,
    hi: i64,
}

impl GridFit {
    /// The coarsest grid `bits` lies on.
    fn of(bits: u64) -> Option<GridFit> {
        (0..GRID_SCALES.len()).find_map(|scale| {
            grid_index(bits, GRID_SCALES[scale]).map(|k| GridFit {
                scale,
                lo: k,
                hi: k,
            })
        })
    }

    /// The same range on the next finer grid.
    fn finer(self) -> Option<GridFit> {
        let lo = self.lo * 10;
        let hi = self.hi * 10;
        (self.scale + 1 < GRID_SCALES.len()
            && lo.abs() < GRID_INDEX_LIMIT
            && hi.abs() < GRID_INDEX_LIMIT)
            .then_some(GridFit {
                scale: self.scale + 1,
                lo,
                hi,
            })
    }

    /// The fit once `bits` is added too: on this grid or a finer one, or none.
    fn admit(self, bits: u64) -> Option<GridFit> {
        let mut fit = self;
        loop {
            if let Some(k) = grid_index(bits, GRID_SCALES[fit.scale]) {
                return Some(GridFit {
                    lo: fit.lo.min(k),
                    hi: fit.hi.max(k),
                    ..fit
                });
            }
            fit = fit.finer()?;
        }
    }

    fn cells(&self) -> i64 {
        self.hi - self.lo + 1
    }
}

/// One grid cell: [events, censorings] at its time, [0, 0] while no subject is there. 32 bits
/// each keep a cell at 8 bytes, eight to a cache line (a grid of a few thousand times then
/// stays in the L2 cache, and is smaller than the hash table it replaces). A count that
/// would pass 2³² − 1 sends the group to a hash table of 64-bit counts.
type GridCell = [u32; 2];

/// A cell no subject has reached.
const UNUSED: GridCell = [0, 0];

/// `counts` as 32-bit counts, if they fit.
fn narrow(counts: [u64; 2]) -> Option<[u32; 2]> {
    Some([
        u32::try_from(counts[0]).ok()?,
        u32::try_from(counts[1]).ok()?,
    ])
}

/// Counts at times `(first + i) / scale`, i = 0...
#[derive(Debug, Clone)]
pub(crate) struct TimeGrid {
    scale: f64,
    scale_index: usize,
    first: i64,
    cells: Vec<GridCell>,
    /// Cells in use (distinct times).
    len: usize,
}

impl TimeGrid {
    /// The position of the cell holding the time `bits`, if the grid covers it: `bits` must
    /// be exactly `k / scale` (a multiply and a rounding give the candidate `k`, the division
    /// confirms it), so each cell stands for one bit pattern and no bits need storing.
    #[inline]
    fn position(&self, bits: u64) -> Option<usize> {
        let k = nearest_integer(f64::from_bits(bits) * self.scale);
        let i = k.wrapping_sub(self.first) as u64 as usize;
        // Whole units (days, say) need no division: `k / 1.0` is `k`.
        let time = if self.scale_index == 0 {
            k as f64
        } else {
            k as f64 / self.scale
        };
        (i < self.cells.len() && time.to_bits() == bits).then_some(i)
    }

    /// Adds `counts` (not both zero) at `bits` if the grid covers that time and the sums fit
    /// in 32 bits; false otherwise.
    #[inline]
    fn try_add(&mut self, bits: u64, counts: [u64; 2]) -> bool {
        let Some(i) = self.position(bits) else {
            return false;
        };
        let cell = &mut self.cells[i];
        let new_time = *cell == UNUSED;
        if !add_narrow(cell, counts) {
            return false;
        }
        self.len += usize::from(new_time);
        true
    }

    /// Whether the grid holds the time `bits` (covers it, with a subject there).
    fn holds(&self, bits: u64) -> bool {
        self.position(bits).is_some_and(|i| self.cells[i] != UNUSED)
    }

    /// Puts `counts` at the time `bits`, which the grid does not cover yet, widening the grid
    /// if needed; false if the time is off the grid, so far from the others that the grid
    /// would be too sparse, or the counts do not fit in 32 bits.
    fn insert(&mut self, bits: u64, counts: [u64; 2]) -> bool {
        let (Some(k), Some(counts)) = (grid_index(bits, self.scale), narrow(counts)) else {
            return false;
        };
        let last = self.first + self.cells.len() as i64 - 1;
        if k < self.first || k > last {
            let (lo, hi) = (self.first.min(k), last.max(k));
            let needed = hi - lo + 1;
            if needed > GRID_LEAVE_CELLS_PER_TIME * (self.len as i64 + 1) {
                return false;
            }
            // Room for a quarter more on the side that grew, as a vector doubles, so a group
            // whose times creep upwards does not copy its grid on every new time.
            let slack = needed / 4;
            let (lo, hi) = if k < self.first {
                ((lo - slack).max(-GRID_INDEX_LIMIT), hi)
            } else {
                (lo, (hi + slack).min(GRID_INDEX_LIMIT))
            };
            let mut cells = Vec::with_capacity((hi - lo + 1) as usize);
            cells.resize((self.first - lo) as usize, UNUSED);
            cells.extend_from_slice(&self.cells);
            cells.resize((hi - lo + 1) as usize, UNUSED);
            self.cells = cells;
            self.first = lo;
        }
        let cell = &mut self.cells[(k - self.first) as usize];
        debug_assert_eq!(*cell, UNUSED, "insert is for times the grid does not hold");
        *cell = counts;
        self.len += 1;
        true
    }

    /// A grid over `fit` holding `entries` (whose times all lie on it); None if a count
    /// does not fit in 32 bits.
    fn new(fit: GridFit, entries: impl Iterator<Item = (u64, [u64; 2])>) -> Option<TimeGrid> {
        let mut grid = TimeGrid {
            scale: GRID_SCALES[fit.scale],
            scale_index: fit.scale,
            first: fit.lo,
            cells: vec![UNUSED; fit.cells() as usize],
            len: 0,
        };
        for (bits, counts) in entries {
            if !grid.insert(bits, counts) {
                debug_assert!(narrow(counts).is_none(), "a fit's times lie on its grid");
                return None;
            }
        }
        Some(grid)
    }

    /// (time bits, counts) of the cells in use, in increasing time.
    fn iter(&self) -> impl Iterator<Item = (u64, [u64; 2])> + '_ {
        (self.first..)
            .zip(&self.cells)
            .filter(|(_, c)| **c != UNUSED)
            .map(|(k, c)| ((k as f64 / self.scale).to_bits(), c.map(u64::from)))
    }

    /// The fit of the times in use.
    fn fit(&self) -> GridFit {
        let used = |c: &GridCell| *c != UNUSED;
        let lo = self.cells.iter().position(used).unwrap_or(0);
        let hi = self.cells.iter().rposition(used).unwrap_or(0);
        GridFit {
            scale: self.scale_index,
            lo: self.first + lo as i64,
            hi: self.first + hi as i64,
        }
    }
}

/// A hash table of counts, and the grid its times fit on so far (none once a time fits no
/// grid).
#[derive(Debug, Clone)]
pub(crate) struct HashedTimes {
    map: HashMap<u64, [u64; 2], TimeHasher>,
    fit: Option<GridFit>,
}

impl HashedTimes {
    /// The grid the table should become, if it is dense enough. (A count past 32 bits keeps
    /// the table hashed for good.)
    fn grid_if_dense(&mut self) -> Option<Box<TimeGrid>> {
        let fit = self.fit?;
        if fit.cells() > GRID_ENTER_CELLS_PER_TIME * self.map.len() as i64 {
            return None;
        }
        let grid = TimeGrid::new(fit, self.map.iter().map(|(&k, &c)| (k, c)));
        if grid.is_none() {
            self.fit = None;
        }
        grid.map(Box::new)
    }
}

/// Adds `counts` to 32-bit counts if the sums fit; false (nothing added) otherwise.
#[inline]
fn add_narrow(cell: &mut [u32; 2], counts: [u64; 2]) -> bool {
    match narrow([
        u64::from(cell[0]) + counts[0],
        u64::from(cell[1]) + counts[1],
    ]) {
        Some(sum) => {
            *cell = sum;
            true
        }
        None => false,
    }
}

#[inline]
fn add_to(cell: &mut [u64; 2], counts: [u64; 2]) {
    cell[0] += counts[0];
    cell[1] += counts[1];
}

impl TimeTable {
    /// Adds `counts` ([events, censorings], not both zero) at the time with bits `bits`.
    #[inline]
    pub(crate) fn add(&mut self, bits: u64, counts: [u64; 2]) {
        debug_assert!(counts != [0, 0], "a time is only kept with a subject at it");
        // The times already there, inline; a new time, in `add_new`.
        let added = match self {
            TimeTable::Grid(grid) => grid.try_add(bits, counts),
            TimeTable::Small(v) => v
                .iter_mut()
                .find(|(k, _)| *k == bits)
                .is_some_and(|(_, cell)| add_narrow(cell, counts)),
            TimeTable::Hashed(hashed) => match hashed.map.get_mut(&bits) {
                Some(cell) => {
                    add_to(cell, counts);
                    true
                }
                None => false,
            },
        };
        if !added {
            self.add_new(bits, counts);
        }
    }

    /// Adds many (time bits, counts): rows that land on a grid run in a loop that looks at
    /// the table's layout once, not once per row.
    pub(crate) fn add_all(&mut self, mut rows: impl Iterator<Item = (u64, [u64; 2])>) {
        while let Some((bits, counts)) = rows.next() {
            let TimeTable::Grid(grid) = self else {
                self.add(bits, counts);
                continue;
            };
            let mut next = Some((bits, counts));
            while let Some((bits, counts)) = next {
                if !grid.try_add(bits, counts) {
                    break;
                }
                next = rows.next();
            }
            match next {
                Some((bits, counts)) => self.add_new(bits, counts),
                None => return,
            }
        }
    }

    /// Adds counts at a time the table does not hold yet, changing layout as needed.
    #[inline(never)]
    fn add_new(&mut self, bits: u64, counts: [u64; 2]) {
        match self {
            TimeTable::Grid(grid) => {
                let held = grid.holds(bits);
                if !held && grid.insert(bits, counts) {
                    return;
                }
                // Off the grid, too far from the times so far, or (`held`) a count past 32
                // bits: hash from now on (for good, in the last case).
                let fit = (!held).then(|| grid.fit());
                let map = grid.iter().collect();
                *self = TimeTable::Hashed(Box::new(HashedTimes { map, fit }));
                self.add(bits, counts);
            }
            TimeTable::Small(v) => {
                let held = v.iter().any(|(k, _)| *k == bits);
                if let (false, Some(counts)) = (held, narrow(counts)) {
                    if v.len() < SMALL_GROUP_TIMES {
                        if v.capacity() == 0 {
                            v.reserve_exact(4);
                        }
                        v.push((bits, counts));
                        return;
                    }
                }
                // A 17th time, or a count past 32 bits: a hash table from now on (which
                // becomes a grid if the times are dense: whole days 1..17, say).
                let fit = v
                    .iter()
                    .try_fold(None, |fit: Option<GridFit>, &(k, _)| {
                        match fit {
                            None => GridFit::of(k),
                            Some(fit) => fit.admit(k),
                        }
                        .map(Some)
                    })
                    .flatten();
                let mut map: HashMap<u64, [u64; 2], TimeHasher> =
                    HashMap::with_capacity_and_hasher(2 * v.len() + 2, TimeHasher::default());
                map.extend(v.iter().map(|&(k, c)| (k, c.map(u64::from))));
                *self = TimeTable::Hashed(Box::new(HashedTimes { map, fit }));
                self.add(bits, counts);
            }
            TimeTable::Hashed(hashed) => {
                hashed.map.insert(bits, counts);
                hashed.fit = hashed.fit.and_then(|fit| fit.admit(bits));
                if let Some(grid) = hashed.grid_if_dense() {
                    *self = TimeTable::Grid(grid);
                }
            }
        }
    }

    /// Number of distinct times.
    pub(crate) fn len(&self) -> usize {
        match self {
            TimeTable::Small(v) => v.len(),
            TimeTable::Grid(g) => g.len,
            TimeTable::Hashed(h) => h.map.len(),
        }
    }

    /// (time bits, [events, censorings]) in no particular order. (Two of the three parts of
    /// the chain are empty: no boxed iterator, which cost an allocation per group.)
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, [u64; 2])> + '_ {
        let (small, grid, hashed) = match self {
            TimeTable::Small(v) => (
                Some(v.iter().map(|&(k, c)| (k, c.map(u64::from)))),
                None,
                None,
            ),
            TimeTable::Grid(g) => (None, Some(g.iter()), None),
            TimeTable::Hashed(h) => (None, None, Some(h.map.iter().map(|(&k, &c)| (k, c)))),
        };
        small
            .into_iter()
            .flatten()
            .chain(grid.into_iter().flatten())
            .chain(hashed.into_iter().flatten())
    }

    /// Heap memory held, in bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            TimeTable::Small(v) => v.capacity() * size_of::<(u64, [u32; 2])>(),
            TimeTable::Grid(g) => {
                size_of::<TimeGrid>() + g.cells.capacity() * size_of::<GridCell>()
            }
            TimeTable::Hashed(h) => {
                size_of::<HashedTimes>() + h.map.capacity() * (size_of::<(u64, [u64; 2])>() + 1)
            }
        }
    }
}

/// The tag of a table encoded time by time (each time's 8 bytes of bits); a grid's tag is
/// 1 + its scale's index in [`GRID_SCALES`].
const ENCODED_BITS: u8 = 0;

/// The encoding of a table holding one subject: the tag, the time's bits, two one-byte counts.
pub(crate) const ENCODED_SUBJECT_BYTES: usize = 11;

impl TimeTable {
    /// Appends the table's (time, events, censorings) to `out` in a compact form, for the
    /// state that travels from partial to final aggregation (and between machines): a tag
    /// byte, then for a grid the first time's index (zigzag LEB128) and, per time in use, the
    /// step from the previous index, the events and the censorings (LEB128); otherwise, per
    /// time, its 8 bytes of bits and the two counts. A grid's time then costs 3 bytes where
    /// three list entries cost 24, and the copies a shuffle makes shrink with it. Nothing for
    /// an empty table. [`decode_times`] reads it back.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            TimeTable::Small(v) if v.is_empty() => {}
            TimeTable::Grid(grid) if grid.len > 0 => {
                out.push(1 + grid.scale_index as u8);
                let used = (grid.first..)
                    .zip(&grid.cells)
                    .filter(|(_, c)| **c != UNUSED);
                let mut previous = used.clone().next().map_or(0, |(k, _)| k);
                put_varint(out, zigzag(previous));
                for (k, cell) in used {
                    put_varint(out, (k - previous) as u64);
                    previous = k;
                    put_varint(out, u64::from(cell[0]));
                    put_varint(out, u64::from(cell[1]));
                }
            }
            _ => {
                out.push(ENCODED_BITS);
                for (bits, counts) in self.iter() {
                    put_time(out, bits, counts);
                }
            }
        }
    }
}

/// Appends the encoding of a table holding `counts` at the one time `bits` (as
/// [`TimeTable::encode_into`] would write it, without building the table).
#[inline]
pub(crate) fn encode_subject(out: &mut Vec<u8>, bits: u64, counts: [u64; 2]) {
    out.push(ENCODED_BITS);
    put_time(out, bits, counts);
}

/// One time of a table encoded time by time: its bits, then its two counts.
#[inline]
fn put_time(out: &mut Vec<u8>, bits: u64, [events, censored]: [u64; 2]) {
    out.extend_from_slice(&bits.to_le_bytes());
    put_varint(out, events);
    put_varint(out, censored);
}

/// Calls `each(time bits, [events, censorings])` for every time of a table encoded by
/// [`TimeTable::encode_into`]; None if `bytes` is not such an encoding.
pub(crate) fn decode_times(bytes: &[u8], mut each: impl FnMut(u64, [u64; 2])) -> Option<()> {
    let Some((&tag, mut rest)) = bytes.split_first() else {
        return Some(());
    };
    if tag == ENCODED_BITS {
        while !rest.is_empty() {
            let (bits, tail) = rest.split_first_chunk::<8>()?;
            rest = tail;
            let events = take_varint(&mut rest)?;
            let censored = take_varint(&mut rest)?;
            each(u64::from_le_bytes(*bits), [events, censored]);
        }
        return Some(());
    }
    let scale = *GRID_SCALES.get(usize::from(tag) - 1)?;
    let mut k = unzigzag(take_varint(&mut rest)?);
    while !rest.is_empty() {
        k = k.checked_add(i64::try_from(take_varint(&mut rest)?).ok()?)?;
        if k.abs() >= GRID_INDEX_LIMIT {
            return None;
        }
        let events = take_varint(&mut rest)?;
        let censored = take_varint(&mut rest)?;
        each((k as f64 / scale).to_bits(), [events, censored]);
    }
    Some(())
}

/// Appends `x` as LEB128: seven bits a byte, low first, the high bit set on all but the last.
#[inline]
fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Reads one LEB128 number off the front of `bytes`; None if it is cut short or too long.
#[inline]
fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut x = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        if shift == 63 && byte > 1 {
            return None;
        }
        x |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(x);
        }
    }
    None
}

/// Signed to unsigned with small magnitudes small: 0, -1, 1, -2 -> 0, 1, 2, 3.
fn zigzag(k: i64) -> u64 {
    ((k << 1) ^ (k >> 63)) as u64
}

fn unzigzag(x: u64) -> i64 {
    (x >> 1) as i64 ^ -((x & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Adds rows to a table and to a plain map keyed by bits; the two must hold the same.
    fn check(times: &[f64], what: &str) -> TimeTable {
        let mut table = TimeTable::default();
        let mut expected = BTreeMap::new();
        for (i, &time) in times.iter().enumerate() {
            let bits = (time + 0.0).to_bits();
            let counts = if i % 3 == 0 { [1, 0] } else { [0, 1] };
            table.add(bits, counts);
            add_to(expected.entry(bits).or_insert([0, 0]), counts);
            if i % 97 == 0 || i + 1 == times.len() {
                let mut found: Vec<(u64, [u64; 2])> = table.iter().collect();
                found.sort_unstable();
                let want: Vec<(u64, [u64; 2])> = expected.iter().map(|(&k, &c)| (k, c)).collect();
                assert_eq!(found, want, "{what}, after {} rows", i + 1);
                assert_eq!(table.len(), expected.len(), "{what}");
            }
        }
        table
    }

    /// A deterministic stream of pseudo-random numbers in [0, 1).
    fn uniform(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    fn layout(table: &TimeTable) -> &'static str {
        match table {
            TimeTable::Small(_) => "small",
            TimeTable::Grid(_) => "grid",
            TimeTable::Hashed(_) => "hashed",
        }
    }

    #[test]
    fn every_layout_counts_as_a_map_of_bits() {
        let u = uniform(5000, 7);
        // (what, times, the layout the table should end in)
        let cases: Vec<(&str, Vec<f64>, &str)> = vec![
            (
                "few times",
                u.iter().map(|x| (x * 10.0).floor()).collect(),
                "small",
            ),
            (
                "whole days",
                u.iter().map(|x| (x * 3000.0).floor()).collect(),
                "grid",
            ),
            (
                "months with one decimal (parsed)",
                u.iter()
                    .map(|x| format!("{:.1}", x * 400.0).parse().unwrap())
                    .collect(),
                "grid",
            ),
            // k * 0.1 is not k / 10 for most k: such times fit no grid exactly.
            (
                "tenths by multiplication",
                u.iter().map(|x| (x * 4000.0).floor() * 0.1).collect(),
                "hashed",
            ),
            (
                "continuous",
                u.iter().map(|x| x * 400.0).collect(),
                "hashed",
            ),
            (
                "negative and -0.0",
                u.iter()
                    .map(|x| -((x * 300.0).floor()) + if *x < 0.01 { -0.0 } else { 0.0 })
                    .collect(),
                "grid",
            ),
            (
                "whole days, then one far outlier",
                u.iter()
                    .map(|x| (x * 3000.0).floor())
                    .chain([1.0e9])
                    .collect(),
                "hashed",
            ),
            (
                "whole days, then tenths (a finer grid)",
                u.iter()
                    .map(|x| (x * 300.0).floor())
                    .chain(
                        u.iter()
                            .map(|x| format!("{:.1}", x * 300.0).parse().unwrap()),
                    )
                    .collect(),
                "grid",
            ),
            // Halves move to the tenths grid, of which they fill a fifth: still a grid.
            (
                "whole days, then halves",
                u.iter()
                    .map(|x| (x * 300.0).floor())
                    .chain(u.iter().map(|x| (x * 300.0).floor() + 0.5))
                    .collect(),
                "grid",
            ),
            // Quarters move to the hundredths grid, of which they fill a fiftieth: too sparse.
            (
                "whole days, then quarters",
                u.iter()
                    .map(|x| (x * 300.0).floor())
                    .chain(u.iter().map(|x| (x * 300.0).floor() + 0.25))
                    .collect(),
                "hashed",
            ),
            (
                "huge values",
                u.iter().map(|x| (x * 1000.0).floor() * 1.0e14).collect(),
                "hashed",
            ),
        ];
        for (what, times, ends_in) in cases {
            let table = check(&times, what);
            assert_eq!(layout(&table), ends_in, "{what}");
        }
    }

    /// Adding rows in runs (`add_all`) is adding them one by one: same counts, same layout,
    /// through every change of layout (new times, widening, leaving and re-entering a grid,
    /// a count past 32 bits).
    #[test]
    fn runs_of_rows_count_as_single_rows() {
        let u = uniform(6000, 11);
        let mut rows: Vec<(u64, [u64; 2])> = u
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let time = match i / 1000 {
                    0 | 1 => (x * 300.0).floor(),
                    2 => 5.0e6,
                    3 => (x * 3000.0).floor(),
                    4 => x * 7.0,
                    _ => format!("{:.1}", x * 50.0).parse().unwrap(),
                };
                (time.to_bits(), if i % 4 == 0 { [1, 0] } else { [0, 1] })
            })
            .collect();
        rows.insert(1500, (7.0f64.to_bits(), [u64::from(u32::MAX), 2]));
        let mut one_by_one = TimeTable::default();
        let mut in_runs = TimeTable::default();
        for run in rows.chunks(333) {
            for &(bits, counts) in run {
                one_by_one.add(bits, counts);
            }
            in_runs.add_all(run.iter().copied());
            assert_eq!(layout(&in_runs), layout(&one_by_one));
        }
        let sorted = |t: &TimeTable| {
            let mut v: Vec<(u64, [u64; 2])> = t.iter().collect();
            v.sort_unstable();
            v
        };
        assert_eq!(sorted(&in_runs), sorted(&one_by_one));
    }

    /// A grid left for a hash table (a time far away) comes back once the times fill the
    /// range again, and holds the same counts throughout.
    #[test]
    fn grid_to_hash_and_back() {
        let mut times: Vec<f64> = (0..40).map(f64::from).collect();
        times.push(1000.0);
        let table = check(&times, "outlier");
        assert_eq!(layout(&table), "hashed");
        times.extend((40..1000).map(f64::from));
        let table = check(&times, "filled in");
        assert_eq!(layout(&table), "grid");
    }

    /// Grid cells count in 32 bits: a count past that moves the group to a hash table of
    /// 64-bit counts for good, with nothing lost; a short list holding such a count never
    /// becomes a grid.
    #[test]
    fn counts_past_32_bits_leave_the_grid() {
        fn add(table: &mut TimeTable, expected: &mut BTreeMap<u64, [u64; 2]>, t: f64, c: [u64; 2]) {
            table.add(t.to_bits(), c);
            add_to(expected.entry(t.to_bits()).or_insert([0, 0]), c);
        }
        fn contents(table: &TimeTable) -> Vec<(u64, [u64; 2])> {
            let mut found: Vec<(u64, [u64; 2])> = table.iter().collect();
            found.sort_unstable();
            found
        }
        let mut table = TimeTable::default();
        let mut expected = BTreeMap::new();
        for t in 0..40 {
            add(&mut table, &mut expected, f64::from(t), [1, 0]);
        }
        assert_eq!(layout(&table), "grid");
        add(&mut table, &mut expected, 7.0, [u64::from(u32::MAX), 0]);
        assert_eq!(layout(&table), "hashed");
        for t in 40..400 {
            add(&mut table, &mut expected, f64::from(t), [0, 1]);
        }
        assert_eq!(layout(&table), "hashed");
        let want: Vec<(u64, [u64; 2])> = expected.iter().map(|(&k, &c)| (k, c)).collect();
        assert_eq!(contents(&table), want);

        // A short list counts in 32 bits too: past that, a hash table.
        let mut table = TimeTable::default();
        let mut expected = BTreeMap::new();
        for t in [3.0, 1.0, 2.0, 1.0] {
            add(&mut table, &mut expected, t, [0, 1]);
        }
        assert_eq!(layout(&table), "small");
        add(&mut table, &mut expected, 1.0, [u64::from(u32::MAX) - 1, 0]);
        assert_eq!(layout(&table), "small");
        add(&mut table, &mut expected, 1.0, [1, 0]);
        assert_eq!(layout(&table), "small", "2³² − 1 still fits");
        add(&mut table, &mut expected, 1.0, [1, 0]);
        assert_eq!(layout(&table), "hashed");
        let want: Vec<(u64, [u64; 2])> = expected.iter().map(|(&k, &c)| (k, c)).collect();
        assert_eq!(contents(&table), want);

        let mut table = TimeTable::default();
        let mut expected = BTreeMap::new();
        add(&mut table, &mut expected, 1.0, [1 << 40, 3]);
        for t in 2..=30 {
            add(&mut table, &mut expected, f64::from(t), [2, 0]);
        }
        assert_eq!(layout(&table), "hashed");
        let want: Vec<(u64, [u64; 2])> = expected.iter().map(|(&k, &c)| (k, c)).collect();
        assert_eq!(contents(&table), want);
    }

    /// Every layout's encoding gives back the counts it holds, bit for bit; a cut-short or
    /// garbled encoding is refused, not misread.
    #[test]
    fn encodings_give_back_the_counts() {
        let u = uniform(3000, 5);
        let cases: Vec<(&str, Vec<f64>)> = vec![
            ("empty", vec![]),
            ("few times", u.iter().map(|x| (x * 10.0).floor()).collect()),
            (
                "whole days",
                u.iter().map(|x| (x * 3000.0).floor()).collect(),
            ),
            (
                "tenths, negative",
                u.iter()
                    .map(|x| format!("{:.1}", x * 400.0 - 200.0).parse().unwrap())
                    .collect(),
            ),
            ("continuous", u.iter().map(|x| x * 400.0).collect()),
            (
                "counts past one byte, hashed",
                u.iter().map(|x| (x * 3.0).floor() + 1.0e6).collect(),
            ),
            (
                "counts past one byte, on a grid",
                u.iter().map(|x| (x * 20.0).floor() - 7.0).collect(),
            ),
        ];
        for (what, times) in cases {
            let table = check(&times, what);
            let mut bytes = Vec::new();
            table.encode_into(&mut bytes);
            let mut decoded = Vec::new();
            decode_times(&bytes, |bits, counts| decoded.push((bits, counts))).unwrap();
            decoded.sort_unstable();
            let mut want: Vec<(u64, [u64; 2])> = table.iter().collect();
            want.sort_unstable();
            assert_eq!(decoded, want, "{what} ({})", layout(&table));
            if what.ends_with("grid") {
                assert_eq!(layout(&table), "grid", "{what}");
            }
            for cut in 1..bytes.len().min(40) {
                let short = &bytes[..bytes.len() - cut];
                let mut n = 0;
                let read = decode_times(short, |_, _| n += 1);
                assert!(read.is_none() || n < want.len(), "{what}: cut by {cut}");
            }
        }
        let mut one = TimeTable::default();
        one.add(12.5f64.to_bits(), [0, 1]);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        one.encode_into(&mut a);
        encode_subject(&mut b, 12.5f64.to_bits(), [0, 1]);
        assert_eq!((a.len(), &a), (ENCODED_SUBJECT_BYTES, &b));
        assert_eq!(decode_times(&[9, 0], |_, _| ()), None, "no such grid");
        assert_eq!(
            decode_times(&[1, 0xff], |_, _| ()),
            None,
            "a number cut short"
        );
        let mut huge = vec![0u8, 0, 0, 0, 0, 0, 0, 0, 0];
        huge.extend([0xff; 9]);
        huge.extend([0x7f, 0]);
        assert_eq!(decode_times(&huge, |_, _| ()), None, "past 64 bits");
    }

    #[test]
    fn grid_index_is_exact() {
        assert_eq!(grid_index(33.2f64.to_bits(), 10.0), Some(332));
        assert_eq!(grid_index((3.0 * 0.1f64).to_bits(), 10.0), None);
        assert_eq!(grid_index(0.0f64.to_bits(), 1.0), Some(0));
        assert_eq!(grid_index(f64::NAN.to_bits(), 1.0), None);
        assert_eq!(grid_index(1.0e300f64.to_bits(), 1.0), None);
        assert_eq!(
            GridFit::of(2.5f64.to_bits()),
            Some(GridFit {
                scale: 1,
                lo: 25,
                hi: 25
            })
        );
    }
}

//! Weighted rank trees over risk scores, the concordance's counting structure (R's
//! `walkup`/`addin` in `concordance3.c`), with the influence rows of its standard error.

/// Which of the two trees of [`RankTrees`]: everyone at risk, or the deaths.
pub(super) const AT_RISK: usize = 0;
pub(super) const DEAD: usize = 1;

/// Two trees of weights over the ranks of the risk score — of everyone at risk and of the
/// deaths — answering "weight with a smaller, equal, larger score" as R's `walkup`.
///
/// With millions of distinct scores the concordance's queries land at random ranks, and a
/// binary (Fenwick) tree makes each one a chain of ~24 scattered reads, most of them cache
/// misses. These are `F`-ary trees stored level by level, both trees' values side by side,
/// each group of `F` nodes in one cache line: on the bottom level the ranks' own weights; on
/// each level above, node i covers group i of the level below and holds the weight under
/// its own group's nodes up to and including itself. A prefix sum adds a rank's left
/// siblings in its line and then reads one value per level; an update adds to the rest of
/// one line per level. Every line a rank needs is known in advance, so the concordance
/// prefetches the lines of the rows it will reach next ([`RankTrees::prefetch`]).
///
/// Weights are `f64` (4 nodes a line) or, when every weight is a whole number and their sum
/// fits, `u32` (8 nodes a line): half the memory and one level fewer, and since sums of
/// whole numbers below 2⁵³ are exact in `f64`, the same answers to the bit.
pub(super) struct RankTrees<C: TreeWeight, const F: usize> {
    /// Rank r's weights (one per tree) are `leaves[r / F].0[r % F]`.
    pub(super) leaves: Vec<RankLine<C, F>>,
    /// `levels[l]`: node i is `levels[l][i / F].0[i % F]`; level 0 has a node per line of
    /// `leaves`, level l + 1 a node per line of level l.
    pub(super) levels: Vec<Vec<RankLine<C, F>>>,
}

/// A weight the concordance's trees hold.
pub(super) trait TreeWeight: Copy + Default {
    fn from_f64(w: f64) -> Self;
    fn plus(self, other: Self) -> Self;
    fn minus(self, other: Self) -> Self;
    fn to_f64(self) -> f64;
}

impl TreeWeight for f64 {
    #[inline(always)]
    fn from_f64(w: f64) -> f64 {
        w
    }
    #[inline(always)]
    fn plus(self, other: f64) -> f64 {
        self + other
    }
    #[inline(always)]
    fn minus(self, other: f64) -> f64 {
        self - other
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
}

/// Whole weights whose sum is below 2³²: arithmetic modulo 2³², so that taking a row out
/// (adding its negative weight) wraps back to the exact count; every true count is ≥ 0.
impl TreeWeight for u32 {
    #[inline(always)]
    fn from_f64(w: f64) -> u32 {
        w as i64 as u32
    }
    #[inline(always)]
    fn plus(self, other: u32) -> u32 {
        self.wrapping_add(other)
    }
    #[inline(always)]
    fn minus(self, other: u32) -> u32 {
        self.wrapping_sub(other)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

/// A group of `F` nodes of both trees: one cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct RankLine<C: TreeWeight, const F: usize>([[C; 2]; F]);

impl<C: TreeWeight, const F: usize> Default for RankLine<C, F> {
    fn default() -> Self {
        RankLine([[C::default(); 2]; F])
    }
}

impl<C: TreeWeight, const F: usize> RankTrees<C, F> {
    pub(super) fn new(ranks: usize) -> Self {
        let lines = ranks.max(1).div_ceil(F);
        let mut levels = vec![];
        let mut nodes = lines;
        while nodes > 1 {
            nodes = nodes.div_ceil(F);
            levels.push(vec![RankLine::default(); nodes]);
        }
        RankTrees {
            leaves: vec![RankLine::default(); lines],
            levels,
        }
    }

    pub(super) fn add(&mut self, tree: usize, rank: usize, w: C) {
        let leaf = &mut self.leaves[rank / F].0[rank % F][tree];
        *leaf = leaf.plus(w);
        let mut node = rank / F;
        for level in &mut self.levels {
            for v in &mut level[node / F].0[node % F..] {
                v[tree] = v[tree].plus(w);
            }
            node /= F;
        }
    }

    /// Tree `tree`'s weight (with rank < `rank`, at `rank`).
    pub(super) fn less_equal(&self, tree: usize, rank: usize) -> (C, C) {
        let line = &self.leaves[rank / F].0;
        let mut less = line[..rank % F]
            .iter()
            .fold(C::default(), |s, v| s.plus(v[tree]));
        let mut node = rank / F;
        for level in &self.levels {
            if !node.is_multiple_of(F) {
                less = less.plus(level[node / F].0[node % F - 1][tree]);
            }
            node /= F;
        }
        (less, line[rank % F][tree])
    }

    /// [`Self::less_equal`] in tree `query`, then `w` added at `rank` in the other tree, in
    /// one walk up the levels (the concordance always does the two together).
    pub(super) fn less_equal_then_add(&mut self, query: usize, rank: usize, w: C) -> (C, C) {
        let add = 1 - query;
        let line = &mut self.leaves[rank / F].0;
        let slot = rank % F;
        let mut less = line[..slot]
            .iter()
            .fold(C::default(), |s, v| s.plus(v[query]));
        let equal = line[slot][query];
        line[slot][add] = line[slot][add].plus(w);
        let mut node = rank / F;
        for level in &mut self.levels {
            let line = &mut level[node / F].0;
            let slot = node % F;
            if slot != 0 {
                less = less.plus(line[slot - 1][query]);
            }
            for v in &mut line[slot..] {
                v[add] = v[add].plus(w);
            }
            node /= F;
        }
        (less, equal)
    }

    /// Asks the processor to bring the lines of `rank` on the three lowest levels into
    /// cache (those above stay there), so that the query and update of a row reached a few
    /// rows later do not wait on memory.
    #[inline]
    pub(super) fn prefetch(&self, rank: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let mut line = rank / F;
            let lowest = std::iter::once(&self.leaves).chain(self.levels.iter().take(2));
            for level in lowest {
                // SAFETY: a prefetch is a hint with no architectural effect; it never
                // faults, whatever the address (`wrapping_add` makes no reference).
                unsafe { _mm_prefetch::<_MM_HINT_T0>(level.as_ptr().wrapping_add(line).cast()) };
                line /= F;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = rank;
    }
}

/// The ranks `lo..hi` of a stratum in their own [`RankTrees`], and the running totals of
/// both trees over all ranks (`total`) and below `lo` (`below`), which every part of a sweep
/// keeps for the rows of the other parts too ([`Self::note_add`]): then a part answers R's
/// `walkup` for its own ranks alone. One part over all ranks is the plain sweep; two parts,
/// each on its own thread, halve the tree work of a large stratum. With whole weights every
/// sum is exact (u32), so the split gives the same numbers as one part.
pub(super) struct RankPart<C: TreeWeight, const F: usize> {
    pub(super) trees: RankTrees<C, F>,
    pub(super) lo: usize,
    pub(super) hi: usize,
    pub(super) below: [C; 2],
    pub(super) total: [C; 2],
}

impl<C: TreeWeight, const F: usize> RankPart<C, F> {
    pub(super) fn new(lo: usize, hi: usize) -> Self {
        RankPart {
            trees: RankTrees::new(hi - lo),
            lo,
            hi,
            below: [C::default(); 2],
            total: [C::default(); 2],
        }
    }

    #[inline]
    pub(super) fn owns(&self, rank: usize) -> bool {
        (self.lo..self.hi).contains(&rank)
    }

    /// (weight with larger score, smaller score, equal score) in tree `tree` from a
    /// (smaller, equal) in this part's trees.
    pub(super) fn answer(&self, tree: usize, (less, equal): (C, C)) -> [f64; 3] {
        let less = self.below[tree].plus(less);
        let more = self.total[tree].minus(less).minus(equal);
        [more.to_f64(), less.to_f64(), equal.to_f64()]
    }

    /// R's `walkup` at an owned rank.
    pub(super) fn walkup(&self, tree: usize, rank: usize) -> [f64; 3] {
        self.answer(tree, self.trees.less_equal(tree, rank - self.lo))
    }

    /// Adds `w` at an owned rank.
    pub(super) fn add(&mut self, tree: usize, rank: usize, w: f64) {
        let w = C::from_f64(w);
        self.trees.add(tree, rank - self.lo, w);
        self.total[tree] = self.total[tree].plus(w);
    }

    /// [`Self::walkup`] in tree `query`, then `w` added in the other tree, at an owned rank.
    pub(super) fn walkup_and_add(&mut self, query: usize, rank: usize, w: f64) -> [f64; 3] {
        let add = 1 - query;
        let w = C::from_f64(w);
        let found = self.trees.less_equal_then_add(query, rank - self.lo, w);
        let answer = self.answer(query, found);
        self.total[add] = self.total[add].plus(w);
        answer
    }

    /// Another part's row adds `w` at `rank`: only the totals change here.
    pub(super) fn note_add(&mut self, tree: usize, rank: usize, w: f64) {
        let w = C::from_f64(w);
        self.total[tree] = self.total[tree].plus(w);
        if rank < self.lo {
            self.below[tree] = self.below[tree].plus(w);
        }
    }

    pub(super) fn prefetch(&self, rank: usize) {
        if self.owns(rank) {
            self.trees.prefetch(rank - self.lo);
        }
    }
}

/// A row's influence on the concordance: R's `imat` row (its weight in pairs where it has
/// the larger score, the smaller, tied on score), or only what its dfbeta reads.
pub(super) trait Influence: Copy + Default + Send + Sync {
    /// Adds `m` (larger, smaller, tied).
    fn add(&mut self, m: &[f64; 3]);
    /// (larger − smaller, larger + smaller + tied): the row's dfbeta is
    /// `w (a / npair − somer / npair × b)`.
    fn dfbeta_parts(&self) -> (f64, f64);
}

impl Influence for [f64; 3] {
    #[inline]
    fn add(&mut self, m: &[f64; 3]) {
        for j in 0..3 {
            self[j] += m[j];
        }
    }

    #[inline]
    fn dfbeta_parts(&self) -> (f64, f64) {
        (self[0] - self[1], self[0] + self[1] + self[2])
    }
}

/// The concordance's influence rows of a stratum, shared by the parts of a split sweep.
/// Every write to row k comes from a tree operation at row k's rank, done by the one part
/// that owns that rank, so no row is written by two threads.
pub(super) struct InfluenceRows<'a, R = [f64; 3]> {
    pub(super) rows: *mut R,
    pub(super) len: usize,
    pub(super) _borrow: std::marker::PhantomData<&'a mut [R]>,
}

// SAFETY: see the type's comment: the parts write disjoint rows.
unsafe impl<R: Send> Send for InfluenceRows<'_, R> {}
// SAFETY: as above.
unsafe impl<R: Send> Sync for InfluenceRows<'_, R> {}

impl<'a, R> InfluenceRows<'a, R> {
    pub(super) fn new(rows: &'a mut [R]) -> Self {
        InfluenceRows {
            rows: rows.as_mut_ptr(),
            len: rows.len(),
            _borrow: std::marker::PhantomData,
        }
    }

    /// Row `k`.
    ///
    /// # Safety
    /// The caller's part owns row `k`'s rank (no other thread touches row `k`), and holds
    /// the returned reference only for the update of the row.
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn row(&self, k: usize) -> &mut R {
        assert!(k < self.len, "influence row {k} of {}", self.len);
        // SAFETY: in bounds (checked); exclusive by the caller's contract.
        unsafe { &mut *self.rows.add(k) }
    }
}

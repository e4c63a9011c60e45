//! Tests of independence in r × c contingency tables: Pearson's chi-square (`chisq.test`)
//! and Fisher's exact test (`fisher.test`), with the conditional maximum-likelihood odds
//! ratio and its exact confidence interval for 2 × 2 tables.

use std::fmt;

use crate::distributions::pchisq_upper;

/// Pearson's chi-square test of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ChisqTest {
    pub statistic: f64,
    pub df: u64,
    pub p_value: f64,
    /// Expected counts r_i c_j / n.
    pub expected: Vec<Vec<f64>>,
    /// True when the Yates correction was applied (2 × 2 tables with `correct`).
    pub yates: bool,
}

impl ChisqTest {
    /// R warns "Chi-squared approximation may be incorrect" when an expected count is < 5.
    pub fn approximation_doubtful(&self) -> bool {
        self.expected.iter().flatten().any(|&e| e < 5.0)
    }
}

fn margins(table: &[Vec<u64>]) -> (Vec<u64>, Vec<u64>, u64) {
    let rows: Vec<u64> = table.iter().map(|r| r.iter().sum()).collect();
    let ncol = table.first().map_or(0, Vec::len);
    let cols: Vec<u64> = (0..ncol)
        .map(|j| table.iter().map(|r| r[j]).sum())
        .collect();
    let n = rows.iter().sum();
    (rows, cols, n)
}

/// Pearson's chi-square test of independence, as `chisq.test(table, correct = correct)`:
/// E_ij = r_i c_j / n, X² = Σ (|O - E| - Y)² / E with Y = min(0.5, min |O - E|) for a 2 × 2
/// table when `correct` (Yates), else 0; df = (r - 1)(c - 1).
///
/// `None` for a table with fewer than two rows or columns (R then tests goodness of fit of
/// a vector, which is not this question).
pub fn chisq_test(table: &[Vec<u64>], correct: bool) -> Option<ChisqTest> {
    let (rows, cols, n) = margins(table);
    if rows.len() < 2 || cols.len() < 2 || n == 0 {
        return None;
    }
    let nf = n as f64;
    let expected: Vec<Vec<f64>> = rows
        .iter()
        .map(|&r| cols.iter().map(|&c| r as f64 * c as f64 / nf).collect())
        .collect();
    let two_by_two = rows.len() == 2 && cols.len() == 2;
    let yates = if correct && two_by_two {
        let mut m = 0.5_f64;
        for (i, row) in table.iter().enumerate() {
            for (j, &o) in row.iter().enumerate() {
                m = m.min((o as f64 - expected[i][j]).abs());
            }
        }
        m
    } else {
        0.0
    };
    let mut stat = 0.0;
    for (i, row) in table.iter().enumerate() {
        for (j, &o) in row.iter().enumerate() {
            let e = expected[i][j];
            let d = (o as f64 - e).abs() - yates;
            stat += d * d / e;
        }
    }
    let df = ((rows.len() - 1) * (cols.len() - 1)) as u64;
    Some(ChisqTest {
        statistic: stat,
        df,
        p_value: pchisq_upper(stat, df as f64),
        expected,
        yates: yates > 0.0,
    })
}

/// Fisher's exact test.
#[derive(Debug, Clone, PartialEq)]
pub struct FisherTest {
    /// Two-sided p: the probability of all tables with the observed margins that are no
    /// more probable than the observed one (relative tolerance 1e-7, as R).
    pub p_value: f64,
    /// 2 × 2 only: conditional maximum-likelihood estimate of the odds ratio.
    pub odds_ratio: Option<f64>,
    /// 2 × 2 only: exact confidence interval of the odds ratio.
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A table too large to enumerate exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableTooLarge {
    pub rows: usize,
    pub cols: usize,
    pub n: u64,
    pub limit: u64,
}

impl fmt::Display for TableTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {}x{} table with n = {} has more than {} tables with its margins to enumerate; \
             use chisq_test for a table this large",
            self.rows, self.cols, self.n, self.limit
        )
    }
}

/// How many tables the r × c enumeration may visit before giving up.
pub const FISHER_TABLE_LIMIT: u64 = 200_000_000;

/// Fisher's exact test as `fisher.test(table, conf.level = level)`. 2 × 2 tables also get
/// the conditional MLE odds ratio and its exact interval; larger tables the exact p-value
/// by enumeration of every table with the observed margins (an error beyond
/// [`FISHER_TABLE_LIMIT`] tables, never a hang).
///
/// `None` for a table with fewer than two rows or columns.
pub fn fisher_test(table: &[Vec<u64>], level: f64) -> Option<Result<FisherTest, TableTooLarge>> {
    fisher_test_with_limit(table, level, FISHER_TABLE_LIMIT)
}

/// [`fisher_test`] with another enumeration limit.
pub fn fisher_test_with_limit(
    table: &[Vec<u64>],
    level: f64,
    limit: u64,
) -> Option<Result<FisherTest, TableTooLarge>> {
    let (rows, cols, n) = margins(table);
    if rows.len() < 2 || cols.len() < 2 {
        return None;
    }
    if rows.len() == 2 && cols.len() == 2 {
        return Some(Ok(fisher_2x2(table, level)));
    }
    Some(fisher_rxc(table, &rows, &cols, n, limit))
}

/// The conditional distribution of the (1,1) cell of a 2 × 2 table given its margins, as
/// R's `fisher.test` internals (`dnhyper`, `mnhyper`, `pnhyper`).
struct Hyper {
    lo: u64,
    hi: u64,
    /// log dhyper(support), up to a constant.
    logdc: Vec<f64>,
}

impl Hyper {
    /// m = first column total, n = second column total, k = first row total.
    fn new(m: u64, n: u64, k: u64) -> Hyper {
        let lo = k.saturating_sub(n);
        let hi = k.min(m);
        // log P(x) recursively: P(x+1)/P(x) = (m-x)(k-x) / ((x+1)(n-k+x+1)).
        let mut logdc = Vec::with_capacity((hi - lo + 1) as usize);
        let mut cur = 0.0;
        for x in lo..=hi {
            logdc.push(cur);
            if x < hi {
                let (xf, mf, nf, kf) = (x as f64, m as f64, n as f64, k as f64);
                cur += ((mf - xf) * (kf - xf)).ln() - ((xf + 1.0) * (nf - kf + xf + 1.0)).ln();
            }
        }
        Hyper { lo, hi, logdc }
    }

    fn support(&self) -> impl Iterator<Item = f64> + '_ {
        (self.lo..=self.hi).map(|x| x as f64)
    }

    /// Probabilities under odds ratio `ncp` (finite, > 0).
    fn dn(&self, ncp: f64) -> Vec<f64> {
        let lc = ncp.ln();
        let d: Vec<f64> = self
            .logdc
            .iter()
            .zip(self.support())
            .map(|(l, s)| l + lc * s)
            .collect();
        let max = d.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = d.iter().map(|v| (v - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        e.into_iter().map(|v| v / sum).collect()
    }

    /// Mean of the (1,1) cell under `ncp`.
    fn mean(&self, ncp: f64) -> f64 {
        if ncp == 0.0 {
            return self.lo as f64;
        }
        if ncp.is_infinite() {
            return self.hi as f64;
        }
        self.dn(ncp)
            .iter()
            .zip(self.support())
            .map(|(d, s)| d * s)
            .sum()
    }

    /// P(X ≤ q) (or P(X ≥ q) when `upper`) under `ncp`.
    fn p(&self, q: u64, ncp: f64, upper: bool) -> f64 {
        self.dn(ncp)
            .iter()
            .zip(self.lo..=self.hi)
            .filter(|(_, s)| if upper { *s >= q } else { *s <= q })
            .map(|(d, _)| d)
            .sum()
    }
}

/// Root of an increasing function `f` on (0, 1]: bisection in log space to full precision.
fn root_increasing(f: impl Fn(f64) -> f64) -> f64 {
    // Bracket [lo, hi] in log space; f(0+) <= 0 <= f(1) is assumed by the callers.
    let (mut lo, mut hi) = (-745.0_f64, 0.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if f(mid.exp()) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    (0.5 * (lo + hi)).exp()
}

fn fisher_2x2(t: &[Vec<u64>], level: f64) -> FisherTest {
    let m = t[0][0] + t[1][0];
    let n = t[0][1] + t[1][1];
    let k = t[0][0] + t[0][1];
    let x = t[0][0];
    let h = Hyper::new(m, n, k);
    // Two-sided p-value at odds ratio 1.
    let d = h.dn(1.0);
    let dobs = d[(x - h.lo) as usize];
    let p_value: f64 = d.iter().filter(|&&v| v <= dobs * (1.0 + 1e-7)).sum();
    let p_value = p_value.min(1.0);

    // Conditional MLE: mean(ncp) = x.
    let xf = x as f64;
    let mle = if x == h.lo {
        0.0
    } else if x == h.hi {
        f64::INFINITY
    } else {
        let mu = h.mean(1.0);
        if mu > xf {
            root_increasing(|t| h.mean(t) - xf)
        } else if mu < xf {
            1.0 / root_increasing(|t| xf - h.mean(1.0 / t))
        } else {
            1.0
        }
    };
    let alpha = (1.0 - level) / 2.0;
    // Upper limit: P(X <= x; ncp) = alpha (decreasing in ncp).
    let upper = if x == h.hi {
        f64::INFINITY
    } else {
        let p = h.p(x, 1.0, false);
        if p < alpha {
            root_increasing(|t| alpha - h.p(x, t, false))
        } else if p > alpha {
            1.0 / root_increasing(|t| h.p(x, 1.0 / t, false) - alpha)
        } else {
            1.0
        }
    };
    // Lower limit: P(X >= x; ncp) = alpha (increasing in ncp).
    let lower = if x == h.lo {
        0.0
    } else {
        let p = h.p(x, 1.0, true);
        if p > alpha {
            root_increasing(|t| h.p(x, t, true) - alpha)
        } else if p < alpha {
            1.0 / root_increasing(|t| alpha - h.p(x, 1.0 / t, true))
        } else {
            1.0
        }
    };
    FisherTest {
        p_value,
        odds_ratio: Some(mle),
        lower: Some(lower),
        upper: Some(upper),
    }
}

/// Exact p-value of an r × c table by depth-first enumeration of all tables with its
/// margins, column by column (the last column is determined by the row margins).
fn fisher_rxc(
    table: &[Vec<u64>],
    rows: &[u64],
    cols: &[u64],
    n: u64,
    limit: u64,
) -> Result<FisherTest, TableTooLarge> {
    let lnfact: Vec<f64> = {
        let mut v = Vec::with_capacity(n as usize + 1);
        let mut acc = 0.0;
        v.push(0.0);
        for i in 1..=n {
            acc += (i as f64).ln();
            v.push(acc);
        }
        v
    };
    let constant: f64 = rows.iter().map(|&r| lnfact[r as usize]).sum::<f64>()
        + cols.iter().map(|&c| lnfact[c as usize]).sum::<f64>()
        - lnfact[n as usize];
    let observed: f64 = constant
        - table
            .iter()
            .flatten()
            .map(|&x| lnfact[x as usize])
            .sum::<f64>();
    let threshold = observed + (1e-7_f64).ln_1p();
    // The largest column last: it is the one that is determined, not enumerated.
    let mut col_order: Vec<usize> = (0..cols.len()).collect();
    col_order.sort_by_key(|&j| cols[j]);
    let cols: Vec<u64> = col_order.iter().map(|&j| cols[j]).collect();

    struct Walk<'a> {
        lnfact: &'a [f64],
        cols: &'a [u64],
        threshold: f64,
        p: f64,
        visited: u64,
        limit: u64,
    }
    impl Walk<'_> {
        /// Fill column `j` from row `i` with `left` still to place; `remaining` row sums.
        fn go(&mut self, j: usize, i: usize, left: u64, remaining: &mut [u64], logp: f64) -> bool {
            self.visited += 1;
            if self.visited > self.limit {
                return false;
            }
            let r = remaining.len();
            if j == self.cols.len() - 1 {
                // Last column: the remaining row sums.
                let lp = logp
                    - remaining
                        .iter()
                        .map(|&x| self.lnfact[x as usize])
                        .sum::<f64>();
                if lp <= self.threshold {
                    self.p += lp.exp();
                }
                return true;
            }
            if i == r - 1 {
                // Last row of this column takes what is left.
                if left > remaining[i] {
                    return true;
                }
                remaining[i] -= left;
                let lp = logp - self.lnfact[left as usize];
                let next = self.cols[j + 1];
                let ok = self.go(j + 1, 0, next, remaining, lp);
                remaining[i] += left;
                return ok;
            }
            // Rows below i can absorb at most their remaining sums.
            let capacity_below: u64 = remaining[i + 1..].iter().sum();
            let min_here = left.saturating_sub(capacity_below);
            let max_here = left.min(remaining[i]);
            for v in min_here..=max_here {
                remaining[i] -= v;
                let ok = self.go(
                    j,
                    i + 1,
                    left - v,
                    remaining,
                    logp - self.lnfact[v as usize],
                );
                remaining[i] += v;
                if !ok {
                    return false;
                }
            }
            true
        }
    }
    let mut walk = Walk {
        lnfact: &lnfact,
        cols: &cols,
        threshold,
        p: 0.0,
        visited: 0,
        limit,
    };
    let mut remaining = rows.to_vec();
    let first = cols[0];
    if !walk.go(0, 0, first, &mut remaining, constant) {
        return Err(TableTooLarge {
            rows: rows.len(),
            cols: cols.len(),
            n,
            limit,
        });
    }
    Ok(FisherTest {
        p_value: walk.p.min(1.0),
        odds_ratio: None,
        lower: None,
        upper: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fisher_extreme_2x2() {
        // [[100, 0], [0, 100]]: p = 2 / choose(200, 100) = 2.2087606931995025549e-59
        // (mpmath, 60 digits). statrs 0.19 gives 2.2e-14 here.
        let t = fisher_test(&[vec![100, 0], vec![0, 100]], 0.95)
            .unwrap()
            .unwrap();
        assert!(((t.p_value - 2.2087606931995025549e-59) / 2.2087606931995025549e-59).abs() < 1e-9);
        assert_eq!(t.odds_ratio, Some(f64::INFINITY));
    }

    #[test]
    fn large_table_errors_instead_of_hanging() {
        let t: Vec<Vec<u64>> = (0..8)
            .map(|i| (0..8).map(|j| 40 + i + j).collect())
            .collect();
        let r = fisher_test_with_limit(&t, 0.95, 100_000).unwrap();
        assert!(r.unwrap_err().to_string().contains("8x8 table"));
    }
}

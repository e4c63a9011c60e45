//! Dense symmetric matrices and the generalised Cholesky decomposition R's `survival` uses
//! (`cholesky2`, `chsolve2`, `chinv2`): A = F D Fᵀ with F unit lower triangular and D
//! diagonal; a pivot below `toler × max diagonal` is set to 0, which makes the solve and the
//! inverse a generalised inverse that ignores redundant (aliased) columns.

/// A square matrix stored row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub n: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn zeros(n: usize) -> Matrix {
        Matrix {
            n,
            data: vec![0.0; n * n],
        }
    }

    pub fn from_rows(rows: &[Vec<f64>]) -> Matrix {
        let n = rows.len();
        let mut m = Matrix::zeros(n);
        for (i, r) in rows.iter().enumerate() {
            m.data[i * n..(i + 1) * n].copy_from_slice(&r[..n]);
        }
        m
    }

    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.n + j]
    }

    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.n + j] = v;
    }

    #[inline]
    pub fn add(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.n + j] += v;
    }

    /// The sub-matrix of rows and columns `keep`.
    pub fn select(&self, keep: &[usize]) -> Matrix {
        let mut m = Matrix::zeros(keep.len());
        for (a, &i) in keep.iter().enumerate() {
            for (b, &j) in keep.iter().enumerate() {
                m.set(a, b, self.get(i, j));
            }
        }
        m
    }

    /// `x' A y`.
    pub fn quad(&self, x: &[f64], y: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..self.n {
            for j in 0..self.n {
                s += x[i] * self.get(i, j) * y[j];
            }
        }
        s
    }
}

/// The F D Fᵀ factorisation of a symmetric matrix, as R's `cholesky2(matrix, n, toler)`.
#[derive(Debug, Clone)]
pub struct Cholesky {
    /// Lower triangle: F below the diagonal, D on it (0 for a dropped pivot).
    lower: Matrix,
    /// Number of non-zero pivots.
    pub rank: usize,
    /// False when a pivot was clearly negative (the matrix is not non-negative definite).
    pub non_negative: bool,
}

impl Cholesky {
    /// Factorises symmetric `a` (only its upper triangle is read).
    pub fn new(a: &Matrix, toler: f64) -> Cholesky {
        let n = a.n;
        let mut m = a.clone();
        let mut eps = 0.0_f64;
        for i in 0..n {
            if m.get(i, i) > eps {
                eps = m.get(i, i);
            }
            for j in i + 1..n {
                let v = m.get(i, j);
                m.set(j, i, v);
            }
        }
        if eps == 0.0 {
            for i in 0..n {
                m.set(i, i, 0.0);
            }
            return Cholesky {
                lower: m,
                rank: 0,
                non_negative: true,
            };
        }
        Self::factor(m, eps * toler, false)
    }

    /// Factorises symmetric `a` (only its lower triangle is read) as R's `cholesky3` with no
    /// sparse part (`survreg6`'s factorisation), whose tolerance differs from `cholesky2`'s:
    /// `toler` itself when every diagonal element is positive, else `toler ×` the most
    /// negative one; a dropped pivot's column is zeroed.
    pub fn new_cholesky3(a: &Matrix, toler: f64) -> Cholesky {
        let n = a.n;
        let mut m = a.clone();
        let mut eps = 0.0_f64;
        for i in 0..n {
            if m.get(i, i) < eps {
                eps = m.get(i, i);
            }
            for j in i + 1..n {
                let v = m.get(j, i);
                m.set(i, j, v);
            }
        }
        let eps = if eps == 0.0 { toler } else { eps * toler };
        Self::factor(m, eps, true)
    }

    /// The F D Fᵀ elimination of `m` (lower triangle) with pivots below `eps` dropped.
    fn factor(mut m: Matrix, eps: f64, zero_dropped_columns: bool) -> Cholesky {
        let n = m.n;
        let mut rank = 0;
        let mut non_negative = true;
        for i in 0..n {
            let pivot = m.get(i, i);
            if !pivot.is_finite() || pivot < eps {
                m.set(i, i, 0.0);
                if zero_dropped_columns {
                    for j in i + 1..n {
                        m.set(j, i, 0.0);
                    }
                }
                if pivot < -8.0 * eps {
                    non_negative = false;
                }
            } else {
                rank += 1;
                for j in i + 1..n {
                    let temp = m.get(j, i) / pivot;
                    m.set(j, i, temp);
                    let v = m.get(j, j) - temp * temp * pivot;
                    m.set(j, j, v);
                    for k in j + 1..n {
                        let v = m.get(k, j) - temp * m.get(k, i);
                        m.set(k, j, v);
                    }
                }
            }
        }
        Cholesky {
            lower: m,
            rank,
            non_negative,
        }
    }

    /// True when pivot `i` was dropped as redundant.
    pub fn is_dropped(&self, i: usize) -> bool {
        self.lower.get(i, i) == 0.0
    }

    /// Solves A b = y (generalised: dropped pivots give b_i = 0), as `chsolve2`.
    pub fn solve(&self, y: &[f64]) -> Vec<f64> {
        let n = self.lower.n;
        let m = &self.lower;
        let mut y = y.to_vec();
        for i in 0..n {
            let mut temp = y[i];
            for j in 0..i {
                temp -= y[j] * m.get(i, j);
            }
            y[i] = temp;
        }
        for i in (0..n).rev() {
            if m.get(i, i) == 0.0 {
                y[i] = 0.0;
            } else {
                let mut temp = y[i] / m.get(i, i);
                for j in i + 1..n {
                    temp -= y[j] * m.get(j, i);
                }
                y[i] = temp;
            }
        }
        y
    }

    /// The (generalised) inverse of A, as `chinv2`; rows and columns of dropped pivots are 0.
    pub fn inverse(&self) -> Matrix {
        let n = self.lower.n;
        let mut m = self.lower.clone();
        for i in 0..n {
            if m.get(i, i) > 0.0 {
                let v = 1.0 / m.get(i, i);
                m.set(i, i, v);
                for j in i + 1..n {
                    let v = -m.get(j, i);
                    m.set(j, i, v);
                    for k in 0..i {
                        let v = m.get(j, k) + m.get(j, i) * m.get(i, k);
                        m.set(j, k, v);
                    }
                }
            }
        }
        for i in 0..n {
            if m.get(i, i) == 0.0 {
                for j in 0..i {
                    m.set(j, i, 0.0);
                }
                for j in i..n {
                    m.set(i, j, 0.0);
                }
            } else {
                for j in i + 1..n {
                    let temp = m.get(j, i) * m.get(j, j);
                    m.set(i, j, temp);
                    for k in i..j {
                        let v = m.get(i, k) + temp * m.get(j, k);
                        m.set(i, k, v);
                    }
                }
            }
        }
        // Symmetrise from the upper triangle.
        for i in 0..n {
            for j in 0..i {
                let v = m.get(j, i);
                m.set(i, j, v);
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_and_inverse() {
        let a = Matrix::from_rows(&[
            vec![4.0, 2.0, 0.6],
            vec![2.0, 2.0, 0.5],
            vec![0.6, 0.5, 3.0],
        ]);
        let ch = Cholesky::new(&a, 1e-12);
        assert_eq!(ch.rank, 3);
        let b = ch.solve(&[1.0, 2.0, 3.0]);
        // A b must give back y.
        for (i, want) in [1.0, 2.0, 3.0].iter().enumerate() {
            let got: f64 = (0..3).map(|j| a.get(i, j) * b[j]).sum();
            assert!((got - want).abs() < 1e-12);
        }
        let inv = ch.inverse();
        for i in 0..3 {
            for j in 0..3 {
                let p: f64 = (0..3).map(|k| a.get(i, k) * inv.get(k, j)).sum();
                assert!((p - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn singular_column_is_dropped() {
        // Column 2 = 2 × column 1.
        let a = Matrix::from_rows(&[vec![1.0, 2.0], vec![2.0, 4.0]]);
        let ch = Cholesky::new(&a, 1e-9);
        assert_eq!(ch.rank, 1);
        assert!(ch.is_dropped(1));
        assert_eq!(ch.solve(&[1.0, 2.0]), vec![1.0, 0.0]);
    }
}

//! Cleveland's robust locally weighted regression, as R's `lowess(x, y, f = 2/3, iter = 3,
//! delta = 0.01 * diff(range(x)))` (`clowess` in R's stats, after Cleveland's 1979 `lowess.f`):
//! the smoother R's residual plots draw (`lines(lowess(x, resid(fit)))`).
//!
//! At each x_i (sorted), a straight line fitted by weighted least squares to the ns = ⌊f·n⌋
//! nearest points (at least 2), tricube weights (1 − (d/h)³)³ with h the distance to the
//! farthest of them (1 within 0.001·h, 0 beyond 0.999·h); points within `delta` of the last
//! fitted x are interpolated linearly instead of fitted (ties take the fitted value). Then
//! `iter` robustness steps: residuals r, scale 6·median|r|, bisquare weights (1 − (r/6m)²)²
//! multiplying the tricube ones (1 within 0.001 of the scale, 0 beyond 0.999), stopping early
//! when the scale is below 1e-7 of the mean |r|. A local fit whose weights are all 0 keeps y.

/// The smoothed values at `x` (ascending) of R's `lowess(x, y, f, iter, delta)`.
pub fn lowess(x: &[f64], y: &[f64], f: f64, iter: usize, delta: f64) -> Vec<f64> {
    let n = x.len();
    if n < 2 {
        return y.to_vec();
    }
    // R: ns = max(2, min(n, (int)(f * n + 1e-7))).
    let ns = ((f * n as f64 + 1e-7) as usize).clamp(2, n);
    let mut ys = vec![0.0; n];
    let mut res = vec![0.0; n];
    let mut rw = vec![1.0; n];
    let mut weights = vec![0.0; n];
    for step in 0..=iter {
        let robust = step > 0;
        let (mut nleft, mut nright) = (0usize, ns - 1);
        let mut last: Option<usize> = None;
        let mut i = 0usize;
        loop {
            // Move the window right while that brings it closer to x_i.
            while nright < n - 1 && x[i] - x[nleft] > x[nright + 1] - x[i] {
                nleft += 1;
                nright += 1;
            }
            ys[i] = local_fit(x, y, x[i], nleft, nright, &mut weights, robust, &rw).unwrap_or(y[i]);
            if let Some(l) = last {
                if l + 1 < i {
                    let denom = x[i] - x[l];
                    for j in l + 1..i {
                        let alpha = (x[j] - x[l]) / denom;
                        ys[j] = alpha * ys[i] + (1.0 - alpha) * ys[l];
                    }
                }
            }
            let mut l = i;
            let cut = x[l] + delta;
            let mut next = l + 1;
            while next < n {
                if x[next] > cut {
                    break;
                }
                if x[next] == x[l] {
                    ys[next] = ys[l];
                    l = next;
                }
                next += 1;
            }
            last = Some(l);
            i = (l + 1).max(next - 1);
            if l >= n - 1 {
                break;
            }
        }
        for k in 0..n {
            res[k] = y[k] - ys[k];
        }
        if step == iter {
            break;
        }
        let mean_abs = res.iter().map(|r| r.abs()).sum::<f64>() / n as f64;
        let mut abs: Vec<f64> = res.iter().map(|r| r.abs()).collect();
        abs.sort_unstable_by(f64::total_cmp);
        let m1 = n / 2;
        let cmad = if n.is_multiple_of(2) {
            3.0 * (abs[m1] + abs[n - m1 - 1])
        } else {
            6.0 * abs[m1]
        };
        if cmad < 1e-7 * mean_abs {
            break;
        }
        let (c9, c1) = (0.999 * cmad, 0.001 * cmad);
        for k in 0..n {
            let r = res[k].abs();
            rw[k] = if r <= c1 {
                1.0
            } else if r <= c9 {
                let u = r / cmad;
                (1.0 - u * u).powi(2)
            } else {
                0.0
            };
        }
    }
    ys
}

/// R's `lowess(x, y)` with its defaults (f = 2/3, iter = 3, delta = 1% of the range), the
/// points sorted by x (ties in their order): the sorted x and the smoothed values.
pub fn lowess_default(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
    let ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
    let delta = match (xs.first(), xs.last()) {
        (Some(a), Some(b)) => 0.01 * (b - a),
        _ => 0.0,
    };
    let fitted = lowess(&xs, &ys, 2.0 / 3.0, 3, delta);
    (xs, fitted)
}

/// The weighted straight-line fit at `xs` over points `nleft..=nright` (and any beyond with
/// the same distance): `None` when every weight is 0.
#[allow(clippy::too_many_arguments)]
fn local_fit(
    x: &[f64],
    y: &[f64],
    xs: f64,
    nleft: usize,
    nright: usize,
    w: &mut [f64],
    robust: bool,
    rw: &[f64],
) -> Option<f64> {
    let n = x.len();
    let range = x[n - 1] - x[0];
    let h = (xs - x[nleft]).max(x[nright] - xs);
    let (h9, h1) = (0.999 * h, 0.001 * h);
    let mut total = 0.0;
    let mut j = nleft;
    while j < n {
        w[j] = 0.0;
        let r = (x[j] - xs).abs();
        if r <= h9 {
            w[j] = if r <= h1 {
                1.0
            } else {
                (1.0 - (r / h).powi(3)).powi(3)
            };
            if robust {
                w[j] *= rw[j];
            }
            total += w[j];
        } else if x[j] > xs {
            break;
        }
        j += 1;
    }
    let nrt = j - 1;
    if total <= 0.0 {
        return None;
    }
    for wj in &mut w[nleft..=nrt] {
        *wj /= total;
    }
    if h > 0.0 {
        let a: f64 = (nleft..=nrt).map(|j| w[j] * x[j]).sum();
        let b = xs - a;
        let c: f64 = (nleft..=nrt).map(|j| w[j] * (x[j] - a).powi(2)).sum();
        if c.sqrt() > 0.001 * range {
            let b = b / c;
            for j in nleft..=nrt {
                w[j] *= b * (x[j] - a) + 1.0;
            }
        }
    }
    Some((nleft..=nrt).map(|j| w[j] * y[j]).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R's `lowess` on the cases of tests/oracle/lowess.R: every fitted value within 1e-12
    /// relative (the same arithmetic in the same order).
    #[test]
    fn equals_r_lowess() {
        let text = include_str!("../../../tests/data/oracle/lowess.json");
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        let numbers = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let cases = json["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 8);
        for case in cases {
            let id = case["id"].as_str().unwrap();
            let (x, y) = (numbers(&case["x"]), numbers(&case["y"]));
            let mut order: Vec<usize> = (0..x.len()).collect();
            order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
            let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
            let ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
            let got = lowess(
                &xs,
                &ys,
                case["f"].as_f64().unwrap(),
                case["iter"].as_u64().unwrap() as usize,
                case["delta"].as_f64().unwrap(),
            );
            assert_eq!(xs, numbers(&case["sorted_x"]), "{id}: sorted x");
            for (k, (g, w)) in got.iter().zip(numbers(&case["fitted"])).enumerate() {
                let scale = g.abs().max(w.abs()).max(1e-300);
                assert!(
                    (g - w).abs() <= 1e-12 * scale,
                    "{id}[{k}]: got {g}, want {w}"
                );
            }
        }
    }
}

//! The test of proportional hazards (R's `cox.zph`, `zph1.c` / `zph2.c`).

use super::*;

/// Time transform of `cox.zph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZphTransform {
    Km,
    Identity,
    Rank,
    Log,
}

impl ZphTransform {
    pub fn parse(s: &str) -> Option<ZphTransform> {
        Some(match s {
            "km" => ZphTransform::Km,
            "identity" => ZphTransform::Identity,
            "rank" => ZphTransform::Rank,
            "log" => ZphTransform::Log,
            _ => return None,
        })
    }
}

/// The result of `cox.zph`: one test per term (a group of coefficients) and the global test.
#[derive(Debug, Clone)]
pub struct Zph {
    pub terms: Vec<ChisqStat>,
    pub global: ChisqStat,
}

/// The proportional-hazards test of R's `cox.zph(fit, transform)` (survival ≥ 3.0): the
/// score test, at the fitted β, of adding x·g(t) for each term, with g the transformed event
/// time centred over the events, using the full 2p × 2p information matrix. `groups` lists,
/// per term, the coefficient indices it covers (a factor's levels together). Aliased
/// coefficients are dropped first, as R.
pub fn cox_zph(
    data: &CoxData,
    fit: &CoxFit,
    ties: Ties,
    transform: ZphTransform,
    groups: &[Vec<usize>],
) -> Option<Zph> {
    let keep: Vec<usize> = (0..fit.coef.len())
        .filter(|&i| fit.coef[i].is_some())
        .collect();
    if keep.is_empty() || fit.events == 0 {
        return None;
    }
    let n = data.n();
    let p = keep.len();
    // g(t) for each row's stop time, near-ties merged as in the fit (R: `fit$y`).
    let (times, start) = merged_times(data);
    let times = &times;
    let ttimes = transformed_times(times, start.as_deref(), &data.event, transform);
    let nev = data.event.iter().filter(|&&e| e).count() as f64;
    let gmean = ttimes
        .iter()
        .zip(&data.event)
        .filter(|(_, &e)| e)
        .map(|(g, _)| g)
        .sum::<f64>()
        / nev;
    let gtime: Vec<f64> = ttimes.iter().map(|g| g - gmean).collect();

    // The kept covariates, recentred by their means (zph1/zph2).
    let mut x: Vec<Vec<f64>> = keep.iter().map(|&j| data.x[j].clone()).collect();
    for col in &mut x {
        let m = col.iter().sum::<f64>() / n as f64;
        col.iter_mut().for_each(|v| *v -= m);
    }
    let eta = &fit.linear_predictors;
    // u and imat for [x, x g(t)] at the fitted beta, one pass in decreasing time per stratum.
    let q = 2 * p;
    let mut u = vec![0.0; q];
    let mut imat = Matrix::zeros(q);
    let start = start.unwrap_or_else(|| vec![f64::NEG_INFINITY; n]);
    for mut rows in rows_by_stratum(&data.strata) {
        rows.sort_by(|&a, &b| times[b].total_cmp(&times[a]));
        let mut by_start = rows.clone();
        by_start.sort_by(|&a, &b| start[b].total_cmp(&start[a]));
        let mut risk = RiskSums::new(p);
        let mut k = 0;
        let mut rem = 0;
        while k < rows.len() {
            let t = times[rows[k]];
            let mut deaths = RiskSums::new(p);
            let mut dead: Vec<usize> = vec![];
            while k < rows.len() && times[rows[k]] == t {
                let r = rows[k];
                let xr: Vec<f64> = (0..p).map(|j| x[j][r]).collect();
                let w = eta[r].exp();
                if data.event[r] {
                    deaths.add(&xr, w);
                    dead.push(r);
                } else {
                    risk.add(&xr, w);
                }
                k += 1;
            }
            if dead.is_empty() {
                continue;
            }
            // Intervals starting at or after t have left the risk set (they all entered it
            // already, their stop being later than t).
            while rem < by_start.len() && start[by_start[rem]] >= t {
                let r = by_start[rem];
                let xr: Vec<f64> = (0..p).map(|j| x[j][r]).collect();
                risk.add(&xr, -eta[r].exp());
                rem += 1;
            }
            let g = gtime[dead[0]];
            let nd = dead.len() as f64;
            for &r in &dead {
                for j in 0..p {
                    u[j] += x[j][r];
                    u[j + p] += x[j][r] * g;
                }
            }
            let steps = if ties == Ties::Breslow || dead.len() == 1 {
                1
            } else {
                dead.len()
            };
            let frac = 1.0 / steps as f64;
            let meanwt = nd / steps as f64; // deaths per step
            for _ in 0..steps {
                risk.denom += deaths.denom * frac;
                for i in 0..p {
                    risk.a[i] += deaths.a[i] * frac;
                }
                for i in 0..p * p {
                    risk.cmat[i] += deaths.cmat[i] * frac;
                }
                let denom = risk.denom;
                for i in 0..p {
                    let mi = risk.a[i] / denom;
                    u[i] -= meanwt * mi;
                    u[i + p] -= meanwt * mi * g;
                    for j in 0..=i {
                        let v = meanwt * (risk.cmat[i * p + j] - mi * risk.a[j]) / denom;
                        imat.add(j, i, v);
                        imat.add(j, i + p, v * g);
                        imat.add(j + p, i + p, v * g * g);
                        if i != j {
                            // cmat is symmetric: the (i, j + p) block entry too.
                            imat.add(i, j + p, v * g);
                        }
                    }
                }
            }
        }
    }
    // Symmetrise the upper triangle into the full matrix.
    for i in 0..q {
        for j in 0..i {
            let v = imat.get(j, i);
            imat.set(i, j, v);
        }
    }
    let solve_quad = |idx: &[usize], uu: &[f64]| -> f64 {
        // R uses solve() (LU, no tolerance): the information matrix is positive definite
        // here. The Cholesky's tolerance is relative to the largest pivot, so the matrix is
        // first scaled to a unit diagonal — u'I⁻¹u is unchanged — or a covariate in the
        // millions would make the others' pivots look like zeros.
        let mut m = imat.select(idx);
        let d: Vec<f64> = (0..idx.len())
            .map(|i| {
                let v = m.get(i, i);
                if v > 0.0 && v.is_finite() {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        for i in 0..idx.len() {
            for j in 0..idx.len() {
                let v = m.get(i, j) / (d[i] * d[j]);
                m.set(i, j, v);
            }
        }
        let us: Vec<f64> = uu.iter().zip(&d).map(|(u, s)| u / s).collect();
        let sol = Cholesky::new(&m, f64::EPSILON.powf(0.75)).solve(&us);
        sol.iter().zip(&us).map(|(a, b)| a * b).sum()
    };
    let pos = |coef: usize| keep.iter().position(|&k| k == coef);
    let mut terms = vec![];
    for grp in groups {
        let jj: Vec<usize> = grp.iter().filter_map(|&c| pos(c)).collect();
        if jj.is_empty() {
            terms.push(ChisqStat {
                statistic: None,
                df: 0,
                p_value: None,
            });
            continue;
        }
        let mut idx: Vec<usize> = (0..p).collect();
        idx.extend(jj.iter().map(|&j| j + p));
        let mut uu = vec![0.0; p];
        uu.extend(jj.iter().map(|&j| u[j + p]));
        terms.push(ChisqStat::new(Some(solve_quad(&idx, &uu)), jj.len()));
    }
    let idx: Vec<usize> = (0..q).collect();
    let mut uu = vec![0.0; p];
    uu.extend_from_slice(&u[p..]);
    let global = ChisqStat::new(Some(solve_quad(&idx, &uu)), p);
    Some(Zph { terms, global })
}

/// The transformed time g(t) of `cox.zph` at each row's time (`times` after near-tie merging):
/// identity, log, average rank, or km: 1 − S(t−) of the Kaplan-Meier curve of every row (with
/// delayed entry when `start` is given), as R's `cox.zph(transform = "km")`.
pub fn transformed_times(
    times: &[f64],
    start: Option<&[f64]>,
    event: &[bool],
    transform: ZphTransform,
) -> Vec<f64> {
    let n = times.len();
    match transform {
        ZphTransform::Identity => times.to_vec(),
        ZphTransform::Log => times.iter().map(|t| t.ln()).collect(),
        ZphTransform::Rank => {
            // Average ranks, as R's rank().
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| times[a].total_cmp(&times[b]));
            let mut r = vec![0.0; n];
            let mut i = 0;
            while i < n {
                let mut j = i;
                while j + 1 < n && times[idx[j + 1]] == times[idx[i]] {
                    j += 1;
                }
                let avg = (i + j) as f64 / 2.0 + 1.0;
                for &k in &idx[i..=j] {
                    r[k] = avg;
                }
                i = j + 1;
            }
            r
        }
        ZphTransform::Km => {
            // 1 - S(t-) of the KM of all rows (strata ignored, as R); of counting-process
            // data, with delayed entry (R: survfitKM on the Surv(start, stop, event) response).
            let counts = match start {
                None => TimeCounts::from_subjects(times, event),
                Some(st) => {
                    let rows = (0..n)
                        .map(|i| (times[i], u64::from(event[i]), u64::from(!event[i])))
                        .collect();
                    let entries = st.iter().map(|&e| (e, 1)).collect();
                    let shortest = (0..n)
                        .map(|i| times[i] - st[i])
                        .fold(f64::INFINITY, f64::min);
                    TimeCounts::from_unsorted_with_entries(rows, entries, shortest)
                        .unwrap_or_else(|_| TimeCounts::from_subjects(times, event))
                }
            };
            let km = KaplanMeier::from_counts(&counts);
            times
                .iter()
                .map(|&t| {
                    let idx = km.time.partition_point(|&v| v < t);
                    1.0 - if idx == 0 { 1.0 } else { km.surv[idx - 1] }
                })
                .collect()
        }
    }
}

//! From a group's rows to the model's inputs: design columns (factors expanded into
//! treatment contrasts), a canonical row order that makes the fit independent of how the rows
//! arrived (partitioning, batch size, merge order), and lending the columns to the fit
//! without a copy.

use super::*;

/// The model matrix columns of one group's covariates (see [`model_data`]), rows taken in
/// `order` (all rows in their order when `None`): the columns, coefficient names, per
/// covariate argument the coefficient indices, and notes on dropped covariates.
#[allow(clippy::type_complexity)]
pub(super) fn model_columns(
    call: &ModelOps,
    rows: &ModelRows,
    order: Option<&[usize]>,
    numeric: &mut dyn FnMut(usize) -> Vec<f64>,
) -> (Vec<Vec<f64>>, Vec<String>, Vec<Vec<usize>>, Vec<String>) {
    let n = rows.len();
    // Data row of model row p (no order: the rows as they are, without an n-long index).
    let row = |p: usize| order.map_or(p, |o| o[p]);
    let mut x = vec![];
    let mut names = vec![];
    let mut groups = vec![];
    let mut notes = vec![];
    for (k, cov) in call.covariates.iter().enumerate() {
        let mut idx = vec![];
        match cov {
            Covariate::Numeric { name } => {
                idx.push(x.len());
                x.push(numeric(k));
                names.push(name.clone());
            }
            Covariate::Boolean { name } => {
                idx.push(x.len());
                x.push(numeric(k));
                names.push(format!("{name}TRUE"));
            }
            // Not columns of the model: see model_data.
            Covariate::Cluster { .. } | Covariate::Strata { .. } => {}
            Covariate::Factor { name } => {
                let labels = rows.fac_labels.get(k).map_or(&[][..], |l| &l.names[..]);
                let levels = sorted_label_order(labels);
                // Treatment coding: one column per level after the first (byte order, as R
                // with LC_COLLATE=C).
                let ids = rows.fac.get(k).map_or(&[][..], Vec::as_slice);
                if levels.len() < 2 && n > 0 {
                    notes.push(format!(
                        "covariate '{name}' has a single level and was dropped"
                    ));
                }
                for &lvl in levels.iter().skip(1) {
                    idx.push(x.len());
                    x.push(
                        (0..n)
                            .map(|p| {
                                if ids[row(p)] as usize == lvl {
                                    1.0
                                } else {
                                    0.0
                                }
                            })
                            .collect(),
                    );
                    names.push(format!("{name}{}", labels[lvl]));
                }
            }
        }
        groups.push(idx);
    }
    (x, names, groups, notes)
}

/// For each label id of `labels`, its position in R's factor order: ranks that do not depend
/// on the order the labels were first seen in.
pub(super) fn label_ranks(labels: &[Box<str>]) -> Vec<u32> {
    let mut rank = vec![0u32; labels.len()];
    for (p, &id) in sorted_label_order(labels).iter().enumerate() {
        rank[id] = p as u32;
    }
    rank
}

/// The model matrix of one group: R's treatment contrasts for factors (levels in byte order,
/// the first the reference), `<name>TRUE` for booleans. Returns the data, coefficient names
/// and, per covariate argument, the coefficient indices it produced. The rows come in
/// [`canonical_row_order`], gathered once into the model's columns.
pub(super) fn model_data(call: &ModelOps, rows: &ModelRows) -> ModelData {
    model_data_in_order(call, rows).0
}

/// [`model_data`] and its canonical order (model row p is data row `order[p]`): what the
/// window functions map their per-row values back with.
pub(super) fn model_data_in_order(call: &ModelOps, rows: &ModelRows) -> (ModelData, Vec<usize>) {
    let n = rows.len();
    let ModelOrder {
        strata_rank,
        cluster_arg,
        cluster_rank,
        order,
    } = model_order(call, rows);
    let (x, names, groups, notes) = model_columns(call, rows, Some(&order), &mut |k| {
        rows.num.get(k).map_or_else(Vec::new, |c| gather(c, &order))
    });
    let pick = |v: &[f64]| -> Vec<f64> { gather(v, &order) };
    let data = CoxData {
        start: call.counting().then(|| pick(&rows.start)),
        stop: pick(&rows.stop),
        event: gather(&rows.event, &order),
        strata: match (&strata_rank, stratum_ids(call, rows)) {
            (Some(rank), Some((ids, _))) => order.iter().map(|&i| rank[ids[i] as usize]).collect(),
            _ => vec![0; n],
        },
        x,
        weights: call.weighted().then(|| pick(&rows.weight)),
        cluster: cluster_arg.zip(cluster_rank.as_ref()).map(|(k, rank)| {
            let ids = rows.fac.get(k).map_or(&[][..], Vec::as_slice);
            order.iter().map(|&i| rank[ids[i] as usize]).collect()
        }),
    };
    ((data, names, groups, notes), order)
}

/// A group's model data, coefficient names, each covariate argument's coefficients and
/// notes for the warning.
pub(super) type ModelData = (CoxData, Vec<String>, Vec<Vec<usize>>, Vec<String>);

/// The ranks of the stratum and cluster labels and the [`canonical_row_order`] of a group.
pub(super) struct ModelOrder {
    pub(super) strata_rank: Option<Vec<u32>>,
    pub(super) cluster_arg: Option<usize>,
    pub(super) cluster_rank: Option<Vec<u32>>,
    pub(super) order: Vec<usize>,
}

/// Each row's stratum id and the labels they index: the strata argument's
/// (`cox_ph_strat`, ...) or a `strata(s)` term's (R's `+ strata(s)`); `None` unstratified.
pub(super) fn stratum_ids<'a>(
    call: &ModelOps,
    rows: &'a ModelRows,
) -> Option<(&'a [u32], &'a [Box<str>])> {
    if call.kind.stratified() {
        return Some((&rows.strata, &rows.strata_labels.names));
    }
    let k = call
        .covariates
        .iter()
        .position(|c| matches!(c, Covariate::Strata { .. }))?;
    Some((
        rows.fac.get(k).map_or(&[][..], Vec::as_slice),
        rows.fac_labels.get(k).map_or(&[][..], |l| &l.names[..]),
    ))
}

pub(super) fn model_order(call: &ModelOps, rows: &ModelRows) -> ModelOrder {
    // Stratum ids in label order (only the partition matters).
    let strata_rank = stratum_ids(call, rows).map(|(_, labels)| label_ranks(labels));
    // cluster(id): ids in label order, so that the same data gives the same canonical order
    // whatever order the labels were first seen in.
    let cluster_arg = call
        .covariates
        .iter()
        .position(|c| matches!(c, Covariate::Cluster { .. }));
    // (A group without rows has no label table yet.)
    let cluster_rank =
        cluster_arg.map(|k| label_ranks(rows.fac_labels.get(k).map_or(&[][..], |l| &l.names[..])));
    let order = canonical_row_order(call, rows, strata_rank.as_deref(), cluster_rank.as_deref());
    ModelOrder {
        strata_rank,
        cluster_arg,
        cluster_rank,
        order,
    }
}

/// [`model_data`] without copying the rows: the group's rows are put in canonical order in
/// place and their time, event, weight and numeric covariate columns are moved into the
/// model data; [`give_back_model_data`] returns them. DataFusion lets `evaluate` reorder a
/// state (a window evaluates the same state again: it then finds the rows in canonical order
/// already, the same values, the same fit). The covariates of a large fit are then held
/// twice (these columns and the fit's centred row-major copy), not three times.
pub(super) fn lend_model_data(call: &ModelOps, rows: &mut ModelRows) -> ModelData {
    let mut model = model_order(call, rows);
    rows.permute(&model.order);
    drop(std::mem::take(&mut model.order));
    let ModelOrder {
        strata_rank,
        cluster_arg,
        cluster_rank,
        ..
    } = model;
    let mut num = std::mem::take(&mut rows.num);
    let (x, names, groups, notes) = model_columns(call, rows, None, &mut |k| {
        num.get_mut(k).map(std::mem::take).unwrap_or_default()
    });
    rows.num = num;
    let data = CoxData {
        start: call.counting().then(|| std::mem::take(&mut rows.start)),
        event: std::mem::take(&mut rows.event),
        strata: match (&strata_rank, stratum_ids(call, rows)) {
            (Some(rank), Some((ids, _))) => ids.iter().map(|&s| rank[s as usize]).collect(),
            _ => vec![0; rows.stop.len()],
        },
        x,
        weights: call.weighted().then(|| std::mem::take(&mut rows.weight)),
        cluster: cluster_arg.zip(cluster_rank.as_ref()).map(|(k, rank)| {
            let ids = rows.fac.get(k).map_or(&[][..], Vec::as_slice);
            ids.iter().map(|&id| rank[id as usize]).collect()
        }),
        // Last: `rows.len()` is the length of `stop`.
        stop: std::mem::take(&mut rows.stop),
    };
    (data, names, groups, notes)
}

/// Returns the columns [`lend_model_data`] moved out of `rows` (`groups`: the model
/// columns of each covariate argument, as it returned them).
pub(super) fn give_back_model_data(
    call: &ModelOps,
    rows: &mut ModelRows,
    data: CoxData,
    groups: &[Vec<usize>],
) {
    let CoxData {
        start,
        stop,
        event,
        mut x,
        weights,
        ..
    } = data;
    rows.stop = stop;
    rows.event = event;
    if let Some(start) = start {
        rows.start = start;
    }
    if let Some(weights) = weights {
        rows.weight = weights;
    }
    for (k, cov) in call.covariates.iter().enumerate() {
        // (A group that never saw a row has no columns: it lent empty ones.)
        if let (Covariate::Numeric { .. } | Covariate::Boolean { .. }, Some(&j), Some(column)) =
            (cov, groups[k].first(), rows.num.get_mut(k))
        {
            *column = std::mem::take(&mut x[j]);
        }
    }
}

/// `v` in `order` (on every core for a large group: the reads land at random).
pub(super) fn gather<T: Copy + Send + Sync>(v: &[T], order: &[usize]) -> Vec<T> {
    if order.len() < PARALLEL_ROWS {
        order.iter().map(|&i| v[i]).collect()
    } else {
        order.par_iter().map(|&i| v[i]).collect()
    }
}

/// The rows ordered by all their values — stratum, stop, event, then the rest of the row
/// (start, weight, covariates with a factor by its level's rank, cluster) — so that the same
/// data gives bit-identical fits whatever order partitions delivered it in.
///
/// Survival times have many ties (a registry's 1e7 rows share a few thousand times), so
/// comparing whole rows inside each tie would read every column at random for most
/// comparisons. Each row instead gets a fingerprint of the rest of its values, and the sort
/// compares (stratum, stop, event and fingerprint) held with the row index in contiguous
/// keys; only rows whose keys are all equal — the same row repeated, or a fingerprint
/// collision — are compared value by value. The order stays a function of the values alone.
/// With few distinct (stratum, stop) pairs, as survival data have, the same order is built by
/// buckets of equal (stratum, stop) sorted within ([`bucketed_order`]).
pub(super) fn canonical_row_order(
    call: &ModelOps,
    rows: &ModelRows,
    strata_rank: Option<&[u32]>,
    cluster_rank: Option<&[u32]>,
) -> Vec<usize> {
    let n = rows.len();
    let factor_ranks: Vec<Option<Vec<u32>>> = call
        .covariates
        .iter()
        .enumerate()
        .map(|(k, c)| match c {
            Covariate::Factor { .. } => rows.fac_labels.get(k).map(|l| label_ranks(&l.names)),
            _ => None,
        })
        .collect();
    // The rank of covariate k's value in row i (factor and cluster ids by their label's
    // rank), as a number both the fingerprint and the value-by-value comparison read.
    let id_rank = |k: usize, i: usize| -> Option<u32> {
        let rank = match &call.covariates[k] {
            Covariate::Factor { .. } => factor_ranks[k].as_deref()?,
            Covariate::Cluster { .. } => cluster_rank?,
            Covariate::Strata { .. } => strata_rank?,
            Covariate::Numeric { .. } | Covariate::Boolean { .. } => return None,
        };
        Some(rank[rows.fac[k][i] as usize])
    };
    // A row's fingerprint: its values mixed in a fixed order, folded to 32 bits (a collision
    // only costs a value-by-value comparison). The event is the top bit: deaths before
    // censored rows at the same time, so that the fit reads the rows backwards (see
    // survql_stats' prepared order).
    let row_fingerprint = |i: usize| -> u32 {
        let mut h = u64::from(rows.event[i]);
        if call.counting() {
            h = fingerprint_mix(h, total_order_bits(rows.start[i]));
        }
        if call.weighted() {
            h = fingerprint_mix(h, total_order_bits(rows.weight[i]));
        }
        for (k, cov) in call.covariates.iter().enumerate() {
            let value = match cov {
                Covariate::Numeric { .. } | Covariate::Boolean { .. } => {
                    total_order_bits(rows.num[k][i])
                }
                Covariate::Factor { .. } | Covariate::Cluster { .. } | Covariate::Strata { .. } => {
                    id_rank(k, i).map_or(0, u64::from)
                }
            };
            h = fingerprint_mix(h, value);
        }
        (h >> 33) as u32 | u32::from(!rows.event[i]) << 31
    };
    let fingerprint: Vec<u32> = if n < PARALLEL_ROWS {
        (0..n).map(row_fingerprint).collect()
    } else {
        (0..n).into_par_iter().map(row_fingerprint).collect()
    };
    let same_values = |a: usize, b: usize| -> std::cmp::Ordering {
        let mut o = std::cmp::Ordering::Equal;
        if call.counting() {
            o = o.then_with(|| rows.start[a].total_cmp(&rows.start[b]));
        }
        if call.weighted() {
            o = o.then_with(|| rows.weight[a].total_cmp(&rows.weight[b]));
        }
        for (k, cov) in call.covariates.iter().enumerate() {
            o = o.then_with(|| match cov {
                Covariate::Numeric { .. } | Covariate::Boolean { .. } => {
                    rows.num[k][a].total_cmp(&rows.num[k][b])
                }
                Covariate::Factor { .. } | Covariate::Cluster { .. } | Covariate::Strata { .. } => {
                    id_rank(k, a).cmp(&id_rank(k, b))
                }
            });
        }
        o
    };
    let ids = stratum_ids(call, rows).map_or(&[][..], |(ids, _)| ids);
    let stratum = |i: usize| strata_rank.map_or(0, |r| r[ids[i] as usize]);
    let bucket_key = |i: usize| (stratum(i), total_order_bits(rows.stop[i]));
    let fingerprint = match bucketed_order(&bucket_key, fingerprint, &same_values) {
        Ok(order) => return order,
        Err(fingerprint) => fingerprint,
    };
    let mut keys: Vec<(u32, u64, u32, usize)> = (0..n)
        .map(|i| {
            (
                stratum(i),
                total_order_bits(rows.stop[i]),
                fingerprint[i],
                i,
            )
        })
        .collect();
    drop(fingerprint);
    let by_values = |a: &(u32, u64, u32, usize), b: &(u32, u64, u32, usize)| {
        (a.0, a.1, a.2)
            .cmp(&(b.0, b.1, b.2))
            .then_with(|| same_values(a.3, b.3))
    };
    // Rows with equal values are interchangeable in the fit, so any sort gives the same fit;
    // a large one is sorted on every core.
    if n < PARALLEL_ROWS {
        keys.sort_unstable_by(by_values);
    } else {
        keys.par_sort_unstable_by(by_values);
    }
    keys.into_iter().map(|k| k.3).collect()
}

/// One step of the row fingerprint: a fixed multiply-xorshift mix (the same on every
/// machine and in every process, unlike `std`'s randomly seeded hashers).
pub(super) fn fingerprint_mix(h: u64, value: u64) -> u64 {
    let x = (h ^ value.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^ (x >> 31)
}

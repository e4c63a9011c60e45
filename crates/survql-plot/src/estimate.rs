//! The curves of a figure recomputed from query rows: Kaplan-Meier and its log-rank test
//! from (group, time, event) rows, cumulative incidence from (group, time, status) rows, and
//! curves already computed (`km_curve`, `cox_curve`, `cif_curve`).

use super::*;

/// How a figure names a test.
pub(super) fn test_name(test: Weighting) -> String {
    match test {
        Weighting::LogRank => "Log-rank".into(),
        Weighting::Gehan => "Gehan-Breslow".into(),
        Weighting::TaroneWare => "Tarone-Ware".into(),
        Weighting::Peto => "Peto-Peto".into(),
        Weighting::FlemingHarrington { p, q } => format!("Fleming-Harrington G({p},{q})"),
    }
}

/// Builds the curves from a result whose columns are (group, time, event) or (time, event).
pub fn km_plot_from_batches(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Plot> {
    let Some(first) = batches.first() else {
        return exec_err!("\\plot km: the query returned no rows");
    };
    let ncol = first.num_columns();
    if !(2..=3).contains(&ncol) {
        return exec_err!("\\plot km: the query must return (group, time, event) or (time, event), found {ncol} columns");
    }
    // (label, (time, events, censorings) per row)
    type Rows = Vec<(f64, u64, u64)>;
    let mut groups: Vec<(String, Rows)> = vec![];
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for b in batches {
        let label_col = if ncol == 3 {
            Some(cast(b.column(0), &DataType::Utf8)?)
        } else {
            None
        };
        let time = cast(b.column(ncol - 2), &DataType::Float64)?;
        let time = time.as_primitive::<Float64Type>();
        let event = event_flags(b.column(ncol - 1))?;
        let labels = label_col.as_ref().map(|l| l.as_string::<i32>());
        for (i, e) in event.iter().enumerate() {
            let Some(e) = *e else { continue };
            if time.is_null(i) || labels.is_some_and(|l| l.is_null(i)) {
                continue;
            }
            let t = time.value(i);
            if !t.is_finite() {
                return exec_err!("\\plot km: time must be finite, found {t}");
            }
            let label = labels.map_or("All", |l| l.value(i));
            let g = group_slot(&mut groups, &mut index, label, "km")?;
            groups[g].1.push((t, u64::from(e), u64::from(!e)));
        }
    }
    if groups.is_empty() {
        return exec_err!("\\plot km: no rows with a time and an event");
    }
    sort_groups(&mut groups);
    let p_value = if groups.len() >= 2 {
        let recs: Vec<GroupTimeCount> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, (_, rows))| {
                rows.iter()
                    .map(move |&(time, events, censored)| GroupTimeCount {
                        time,
                        group: g,
                        events,
                        censored,
                    })
            })
            .collect();
        survdiff_weighted(&[recs], groups.len(), opts.test).p_value
    } else {
        None
    };
    let curves: Vec<Curve> = groups
        .into_iter()
        .map(|(label, rows)| {
            Curve::survival(
                label,
                &KaplanMeier::from_counts(&TimeCounts::from_unsorted(rows)),
            )
        })
        .collect();
    finish(
        PlotKind::Survival,
        curves,
        p_value,
        test_name(opts.test),
        opts,
    )
}

/// The figure around its curves: the x range and ticks (checked before any tick is made:
/// `--break 0.000001` over 120 months would otherwise ask for 1.2e8 ticks).
pub(super) fn finish(
    kind: PlotKind,
    curves: Vec<Curve>,
    p_value: Option<f64>,
    test_name: String,
    opts: &PlotOptions,
) -> Result<Plot> {
    let data_max = curves
        .iter()
        .filter_map(|c| c.time.last().copied())
        .fold(0.0_f64, f64::max);
    let xmax = opts.xmax.unwrap_or(data_max).max(f64::MIN_POSITIVE);
    let step = opts.break_every.unwrap_or_else(|| nice_step(xmax));
    let intervals = (xmax / step).floor();
    if intervals >= MAX_TICKS as f64 {
        return exec_err!(
            "\\plot: --break {step} gives {} ticks over [0, {xmax}]; at most {MAX_TICKS} fit (use a --break of at least {})",
            intervals + 1.0,
            nice_step_at_least(xmax / (MAX_TICKS - 1) as f64)
        );
    }
    let ticks: Vec<f64> = (0..)
        .map(|k| k as f64 * step)
        .take_while(|t| *t <= xmax * (1.0 + 1e-12))
        .collect();
    Ok(Plot {
        kind,
        curves,
        p_value,
        test_name,
        ticks,
        xmax,
        counts: true,
    })
}

/// The position of `label` among the plot's groups, adding it (with no rows yet) when new;
/// an error past [`MAX_CURVES`] groups.
pub(super) fn group_slot<T>(
    groups: &mut Vec<(String, Vec<T>)>,
    index: &mut std::collections::HashMap<String, usize>,
    label: &str,
    kind: &str,
) -> Result<usize> {
    if let Some(&g) = index.get(label) {
        return Ok(g);
    }
    if groups.len() == MAX_CURVES {
        return exec_err!(
            "\\plot {kind}: the query has more than {MAX_CURVES} groups; a figure can show at most {MAX_CURVES} curves (group fewer values, or filter)"
        );
    }
    index.insert(label.to_owned(), groups.len());
    groups.push((label.to_owned(), vec![]));
    Ok(groups.len() - 1)
}

/// R's factor order of group labels: numeric when every label is a number, else byte order.
pub(super) fn sort_groups<T>(groups: &mut Vec<(String, T)>) {
    let numbers: Option<Vec<f64>> = groups.iter().map(|g| g.0.parse::<f64>().ok()).collect();
    match numbers {
        Some(numbers) => {
            let mut keyed: Vec<(f64, (String, T))> =
                numbers.into_iter().zip(groups.drain(..)).collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            groups.extend(keyed.into_iter().map(|(_, g)| g));
        }
        None => groups.sort_by(|a, b| a.0.cmp(&b.0)),
    }
}

/// Builds the curves of a result whose rows each hold one computed curve: columns
/// `(label, curve)` or `(curve)`, the curve a LIST of STRUCT with `time` and `surv` (a
/// survival curve: `km_curve`, `cox_curve`) or `cif` (an incidence: `cif_curve`), and
/// optionally `lower`/`upper` (the band drawn with `--ci`), `n_risk` (the number-at-risk
/// table, when every curve has it), `n_censor` (censoring ticks) and `n_event`; a `grp`
/// field (`cox_adjusted_curve`) splits a row's list into one curve per level. The curves
/// are computed by the query, where the data are: only the curves come to the client.
pub fn curve_plot_from_batches(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Plot> {
    let Some(first) = batches.first() else {
        return exec_err!("\\plot curve: the query returned no rows");
    };
    let ncol = first.num_columns();
    if !(1..=2).contains(&ncol) {
        return exec_err!(
            "\\plot curve: the query must return (label, curve) or (curve), found {ncol} columns"
        );
    }
    let mut kind = None;
    let mut counts = true;
    let mut curves: Vec<(String, Vec<Curve>)> = vec![];
    let mut index = std::collections::HashMap::new();
    for b in batches {
        let labels = if ncol == 2 {
            Some(cast(b.column(0), &DataType::Utf8)?)
        } else {
            None
        };
        let labels = labels.as_ref().map(|l| l.as_string::<i32>());
        let Some(list) = b.column(ncol - 1).as_list_opt::<i32>() else {
            return exec_err!(
                "\\plot curve: the last column must be a curve (a LIST of STRUCT, as km_curve, cox_curve or cif_curve return), found {}",
                b.column(ncol - 1).data_type()
            );
        };
        let Some(items) = list.values().as_struct_opt() else {
            return exec_err!(
                "\\plot curve: the curve's elements must be STRUCTs with time and surv (or cif)"
            );
        };
        let field = |name: &str| -> Result<Option<Vec<f64>>> {
            match items.column_by_name(name) {
                None => Ok(None),
                Some(c) => {
                    let c = cast(c, &DataType::Float64)?;
                    let c = c.as_primitive::<Float64Type>();
                    Ok(Some(
                        (0..c.len())
                            .map(|i| if c.is_null(i) { f64::NAN } else { c.value(i) })
                            .collect(),
                    ))
                }
            }
        };
        let Some(time) = field("time")? else {
            return exec_err!("\\plot curve: the curve's elements have no 'time' field");
        };
        let (value, this_kind) = match (field("surv")?, field("cif")?) {
            (Some(v), _) => (v, PlotKind::Survival),
            (None, Some(v)) => (v, PlotKind::Incidence),
            (None, None) => {
                return exec_err!(
                    "\\plot curve: the curve's elements have neither 'surv' nor 'cif'"
                )
            }
        };
        if kind.is_some_and(|k| k != this_kind) {
            return exec_err!("\\plot curve: survival and incidence curves cannot share a figure");
        }
        kind = Some(this_kind);
        let nan = || vec![f64::NAN; time.len()];
        let lower = field("lower")?.unwrap_or_else(nan);
        let upper = field("upper")?.unwrap_or_else(nan);
        let n_risk = field("n_risk")?;
        let n_censor = field("n_censor")?;
        let n_event = field("n_event")?;
        counts &= n_risk.is_some();
        // cox_adjusted_curve: one list holds a curve per level of grp, one after the other.
        let grp = match items.column_by_name("grp") {
            Some(g) => Some(cast(g, &DataType::Utf8)?),
            None => None,
        };
        let grp = grp.as_ref().map(|g| g.as_string::<i32>());
        let offsets = list.value_offsets();
        for row in 0..list.len() {
            if list.is_null(row) || labels.is_some_and(|l| l.is_null(row)) {
                continue;
            }
            let (a, z) = (offsets[row] as usize, offsets[row + 1] as usize);
            if let Some(t) = time[a..z].iter().find(|t| !t.is_finite()) {
                return exec_err!("\\plot curve: time must be finite, found {t}");
            }
            let row_label = labels.map(|l| l.value(row));
            let mut pieces = vec![];
            match grp {
                None => pieces.push((row_label.unwrap_or("All").to_owned(), a, z)),
                Some(g) => {
                    let mut from = a;
                    for k in a + 1..=z {
                        if k == z || g.value(k) != g.value(from) {
                            let level = g.value(from);
                            let label = match row_label {
                                Some(l) => format!("{l}: {level}"),
                                None => level.to_owned(),
                            };
                            pieces.push((label, from, k));
                            from = k;
                        }
                    }
                }
            }
            for (label, a, z) in pieces {
                let slot = group_slot(&mut curves, &mut index, &label, "curve")?;
                if !curves[slot].1.is_empty() {
                    return exec_err!("\\plot curve: two rows have the label '{label}'; give each curve its own label");
                }
                let start = match this_kind {
                    PlotKind::Survival => 1.0,
                    PlotKind::Incidence => 0.0,
                };
                let n_risk = n_risk.as_ref().map_or(vec![], |v| v[a..z].to_vec());
                curves[slot].1.push(Curve {
                    label: label.clone(),
                    time: time[a..z].to_vec(),
                    value: value[a..z].to_vec(),
                    lower: lower[a..z].to_vec(),
                    upper: upper[a..z].to_vec(),
                    censored: n_censor.as_ref().map_or(vec![false; z - a], |v| {
                        v[a..z].iter().map(|&c| c > 0.0).collect()
                    }),
                    n: n_risk.first().map_or(0, |&n| n as u64),
                    n_risk,
                    n_event: n_event.as_ref().map_or(vec![], |v| v[a..z].to_vec()),
                    n_censor: n_censor.as_ref().map_or(vec![], |v| v[a..z].to_vec()),
                    start,
                    events: n_event
                        .as_ref()
                        .map_or(0.0, |v| v[a..z].iter().filter(|e| e.is_finite()).sum()),
                });
            }
        }
    }
    if curves.is_empty() {
        return exec_err!("\\plot curve: no curves (every row is NULL)");
    }
    sort_groups(&mut curves);
    let curves: Vec<Curve> = curves.into_iter().flat_map(|(_, c)| c).collect();
    let mut plot = finish(
        kind.unwrap_or(PlotKind::Survival),
        curves,
        None,
        String::new(),
        opts,
    )?;
    plot.counts = counts;
    Ok(plot)
}

/// The Kaplan-Meier figure of `\\plot km` from curves computed where the data are: rows
/// `(group, km_curve(time, event))` or `(km_curve(time, event))` (a `GROUP BY` query), and
/// the p-value of `opts.test` across the groups from the curves' events and censorings per
/// time — the counts the test needs, so the figure is the one the raw rows give, without
/// the rows leaving the query.
pub fn km_plot_from_curves(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Plot> {
    let mut plot = curve_plot_from_batches(batches, opts)?;
    if plot.kind != PlotKind::Survival || !plot.counts {
        return exec_err!("\\plot km: the curves must be km_curve results (time, n_risk, n_event, n_censor, surv, ...)");
    }
    if plot.curves.len() >= 2 {
        let mut recs = vec![];
        for (g, c) in plot.curves.iter().enumerate() {
            if c.n_event.len() != c.time.len() || c.n_censor.len() != c.time.len() {
                return exec_err!("\\plot km: the curves lack n_event / n_censor");
            }
            for i in 0..c.time.len() {
                recs.push(GroupTimeCount {
                    time: c.time[i],
                    group: g,
                    events: c.n_event[i] as u64,
                    censored: c.n_censor[i] as u64,
                });
            }
        }
        plot.p_value = survdiff_weighted(&[recs], plot.curves.len(), opts.test).p_value;
    }
    plot.test_name = test_name(opts.test);
    Ok(plot)
}

/// Builds the cumulative-incidence curves from a result whose columns are (group, time,
/// status) or (time, status), status 0 = censored and k ≥ 1 = cause k: per group the
/// Aalen-Johansen incidence of `opts.cause` with Gray's test across groups (as `cif_curve`
/// and `gray_test`), or with `opts.stacked` every cause of the one sample, each curve the sum
/// of the incidences up to its cause.
pub fn cif_plot_from_batches(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Plot> {
    cif_plot(batches, opts, false)
}

/// [`cif_plot_from_batches`] from counted rows: (group, time, status, count) or (time,
/// status, count), each row standing for `count` subjects, as `SELECT g, t, s, count(*) ...
/// GROUP BY g, t, s` returns them. The figure is the one the subjects' rows give (the
/// estimators add the counts up as they would add the rows), but the query sends one row per
/// distinct (group, time, status) to the client instead of one per subject.
pub fn cif_plot_from_counts(batches: &[RecordBatch], opts: &PlotOptions) -> Result<Plot> {
    cif_plot(batches, opts, true)
}

/// (time, status, subjects) of one group.
pub(super) type CountedRow = (f64, u32, u64);

pub(super) fn cif_plot(batches: &[RecordBatch], opts: &PlotOptions, counted: bool) -> Result<Plot> {
    let Some(first) = batches.first() else {
        return exec_err!("\\plot cif: the query returned no rows");
    };
    // The columns besides the count.
    let ncol = first.num_columns() - usize::from(counted);
    if !(2..=3).contains(&ncol) {
        return exec_err!("\\plot cif: the query must return (group, time, status) or (time, status), found {ncol} columns");
    }
    if opts.stacked && ncol == 3 {
        return exec_err!("\\plot cif: --stacked draws the causes of one sample: return (time, status) without a group column");
    }
    let mut groups: Vec<(String, Vec<CountedRow>)> = vec![];
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for b in batches {
        let counts = if counted {
            Some(cast(b.column(ncol), &DataType::UInt64)?)
        } else {
            None
        };
        let counts = counts.as_ref().map(|c| c.as_primitive::<UInt64Type>());
        let labels = if ncol == 3 {
            Some(cast(b.column(0), &DataType::Utf8)?)
        } else {
            None
        };
        let labels = labels.as_ref().map(|l| l.as_string::<i32>());
        let time = cast(b.column(ncol - 2), &DataType::Float64)?;
        let time = time.as_primitive::<Float64Type>();
        let status = cast(b.column(ncol - 1), &DataType::Float64).map_err(|_| {
            DataFusionError::Execution(format!(
                "\\plot cif: the status column must be 0 (censored) or a cause code 1, 2, ..., found type {}",
                b.column(ncol - 1).data_type()
            ))
        })?;
        let status = status.as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if time.is_null(i) || status.is_null(i) || labels.is_some_and(|l| l.is_null(i)) {
                continue;
            }
            let (t, st) = (time.value(i), status.value(i));
            if !t.is_finite() {
                return exec_err!("\\plot cif: time must be finite, found {t}");
            }
            if !(st >= 0.0 && st.fract() == 0.0 && st <= u32::MAX as f64) {
                return exec_err!("\\plot cif: the status column must be 0 (censored) or a cause code 1, 2, ..., found {st}");
            }
            let count = counts.map_or(1, |c| c.value(i));
            if count == 0 {
                continue;
            }
            let label = labels.map_or("All", |l| l.value(i));
            let g = group_slot(&mut groups, &mut index, label, "cif")?;
            // `+ 0.0`: -0.0 and 0.0 are one time.
            groups[g].1.push((t + 0.0, st as u32, count));
        }
    }
    if groups.is_empty() {
        return exec_err!("\\plot cif: no rows with a time and a status");
    }
    // One record per distinct (time, status), in order, as `cif_curve` and `gray_test` hold
    // their counts: the estimators' floating-point sums then run over the same records in
    // the same order whether the rows came one per subject or counted.
    for (_, rows) in &mut groups {
        rows.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        rows.dedup_by(|next, kept| {
            let same = next.0 == kept.0 && next.1 == kept.1;
            if same {
                kept.2 += next.2;
            }
            same
        });
    }
    sort_groups(&mut groups);
    let curve_of = |label: String, rows: &[CountedRow], cause: u32| -> Result<Curve> {
        let counts: Vec<CompetingCount> = rows
            .iter()
            .map(|&(t, st, n)| CompetingCount::new(t, st, n))
            .collect();
        let cif = aalen_johansen(&counts, cause)
            .map_err(|e| DataFusionError::Execution(format!("\\plot cif: {e}")))?;
        let censored_at: std::collections::HashSet<u64> = rows
            .iter()
            .filter(|r| r.1 == 0)
            .map(|r| (r.0 + 0.0).to_bits())
            .collect();
        let censored = cif
            .time
            .iter()
            .map(|t| censored_at.contains(&(t + 0.0).to_bits()))
            .collect();
        let subjects = rows.iter().map(|r| r.2).sum();
        Ok(Curve::incidence(label, &cif, censored, subjects))
    };
    if opts.stacked {
        let rows = &groups[0].1;
        let mut causes: Vec<u32> = rows.iter().map(|r| r.1).filter(|&c| c > 0).collect();
        causes.sort_unstable();
        causes.dedup();
        if causes.is_empty() {
            return exec_err!("\\plot cif --stacked: no events");
        }
        if causes.len() > MAX_CURVES {
            return exec_err!("\\plot cif --stacked: more than {MAX_CURVES} causes");
        }
        let mut curves: Vec<Curve> = vec![];
        for &cause in &causes {
            let mut c = curve_of(format!("cause {cause}"), rows, cause)?;
            // Stacked: add the curve below (the same times: every distinct time of the sample).
            if let Some(below) = curves.last() {
                for (v, b) in c.value.iter_mut().zip(&below.value) {
                    *v += b;
                }
                // A band of a sum of incidences is not the band of one: none drawn.
                c.lower.iter_mut().for_each(|v| *v = f64::NAN);
                c.upper.iter_mut().for_each(|v| *v = f64::NAN);
            }
            curves.push(c);
        }
        if curves.len() > 1 {
            curves[0].lower.iter_mut().for_each(|v| *v = f64::NAN);
            curves[0].upper.iter_mut().for_each(|v| *v = f64::NAN);
        }
        return finish(PlotKind::Incidence, curves, None, String::new(), opts);
    }
    let p_value = if groups.len() >= 2 {
        let mut counts: Vec<GroupCauseCount> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, (_, rows))| {
                rows.iter()
                    .map(move |&(time, status, count)| GroupCauseCount {
                        time,
                        group: g,
                        status,
                        count,
                    })
            })
            .collect();
        counts.sort_by(|a, b| {
            a.time
                .total_cmp(&b.time)
                .then(a.group.cmp(&b.group))
                .then(a.status.cmp(&b.status))
        });
        gray_test(&counts, groups.len(), opts.cause, 0.0).p_value
    } else {
        None
    };
    let curves = groups
        .iter()
        .map(|(label, rows)| curve_of(label.clone(), rows, opts.cause))
        .collect::<Result<Vec<_>>>()?;
    finish(
        PlotKind::Incidence,
        curves,
        p_value,
        "Gray's test".into(),
        opts,
    )
}

/// The event column of a plot query as flags (None = NULL): BOOLEAN, or numbers that must be
/// 0 or 1 — any other value is an error rather than silently read as an event.
pub(super) fn event_flags(column: &ArrayRef) -> Result<Vec<Option<bool>>> {
    if let Some(b) = column.as_boolean_opt() {
        return Ok(b.iter().collect());
    }
    let values = cast(column, &DataType::Float64).map_err(|_| {
        DataFusionError::Execution(format!(
            "\\plot km: the event column must be 0/1 or boolean, found type {}",
            column.data_type()
        ))
    })?;
    values
        .as_primitive::<Float64Type>()
        .iter()
        .map(|v| match v {
            None => Ok(None),
            Some(x) if x == 0.0 || x == 1.0 => Ok(Some(x == 1.0)),
            Some(x) => exec_err!("\\plot km: the event column must be 0/1 or boolean, found {x}"),
        })
        .collect()
}

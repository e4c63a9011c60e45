//! The model state's row-wise use: the window functions (`cox_residual`, `cox_predict`) fit
//! the model on a window partition's rows, as `cox_ph` on the same rows, and map each fitted
//! row's value back to the partition row it came from.

use super::*;

use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::utils::collect_columns;
use datafusion::physical_expr::PhysicalExpr;

/// A window function's call: the model's ops, the function's own options (taken out of the
/// options string, the rest of which is `cox_ph`'s), and whether the options argument is
/// left out of the values the model reads (it held only the function's own options).
pub(crate) struct RowwiseCall {
    pub ops: ModelOps,
    pub own: Vec<(String, String)>,
    drop_last: bool,
}

/// Splits `key=value, ...` into the keys in `own_keys` and the rest (rejoined).
fn split_own_options(text: &str, own_keys: &[&str]) -> (Vec<(String, String)>, String) {
    let mut own = vec![];
    let mut rest = vec![];
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let key = item
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if own_keys.contains(&key.as_str()) {
            let value = item.split_once('=').map_or("", |(_, v)| v.trim());
            own.push((key, value.to_owned()));
        } else {
            rest.push(item);
        }
    }
    (own, rest.join(", "))
}

/// The call of a window function over `cox_ph`'s arguments (`time, event` or `surv(...)`,
/// covariates, an optional options string) whose own options are `own_keys`.
pub(crate) fn rowwise_call(
    function: &'static str,
    args: &datafusion::logical_expr::function::PartitionEvaluatorArgs,
    own_keys: &[&str],
    sink: &WarningSink,
) -> Result<RowwiseCall> {
    let mut exprs: Vec<Arc<dyn PhysicalExpr>> = args.input_exprs().to_vec();
    let mut fields: Vec<FieldRef> = args.input_fields().to_vec();
    let mut own = vec![];
    let mut drop_last = false;
    let options = exprs.last().and_then(|e| {
        e.downcast_ref::<Literal>().and_then(|l| match l.value() {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
            _ => None,
        })
    });
    if let (Some(text), true) = (options, exprs.len() > ModelKind::Ph.fixed() + 1) {
        let (mine, rest) = split_own_options(&text, own_keys);
        own = mine;
        if rest.is_empty() {
            exprs.pop();
            fields.pop();
            drop_last = true;
        } else {
            let last = exprs.len() - 1;
            exprs[last] = Arc::new(Literal::new(ScalarValue::Utf8(Some(rest))));
        }
    }
    // ModelOps reads constants with an empty batch of this schema: placeholders up to the
    // largest column index the arguments use.
    let width = exprs
        .iter()
        .flat_map(collect_columns)
        .map(|c| c.index() + 1)
        .max()
        .unwrap_or(0);
    let schema = datafusion::arrow::datatypes::Schema::new(
        (0..width)
            .map(|i| Field::new(format!("c{i}"), DataType::Null, true))
            .collect::<Vec<_>>(),
    );
    let accumulator_args = AccumulatorArgs {
        return_field: Arc::new(Field::new(function, DataType::Float64, true)),
        schema: &schema,
        ignore_nulls: false,
        order_bys: &[],
        is_reversed: false,
        name: function,
        is_distinct: false,
        exprs: &exprs,
        expr_fields: &fields,
    };
    // A surv(...) first argument stands for two (crate::response), as in the aggregates.
    let ops = match crate::response::ExpandedArgs::new(&accumulator_args) {
        Some(expanded) => ModelOps::new(
            function,
            ModelKind::Ph,
            &expanded.args(&accumulator_args),
            sink,
        )?,
        None => ModelOps::new(function, ModelKind::Ph, &accumulator_args, sink)?,
    };
    if ops.options.firth {
        return exec_err!("{function}: firth=true is not offered for row-wise values");
    }
    Ok(RowwiseCall {
        ops,
        own,
        drop_last,
    })
}

/// A model fitted on one window partition.
pub(crate) struct PartitionFit {
    pub fit: CoxFit,
    /// Coefficient names, as `cox_ph`'s terms.
    pub names: Vec<String>,
    /// The model's data (canonical row order).
    pub data: CoxData,
    /// The partition row of each model row.
    pub input_rows: Vec<usize>,
    pub ties: Ties,
}

/// Fits the call's model on the partition's rows (`values`, `num_rows` of them); `None`
/// when no row is usable. Rows with a NULL argument are skipped (and counted in a warning),
/// as `cox_ph`.
pub(crate) fn fit_partition(
    call: &RowwiseCall,
    values: &[ArrayRef],
    num_rows: usize,
) -> Result<Option<PartitionFit>> {
    let values = if call.drop_last {
        &values[..values.len() - 1]
    } else {
        values
    };
    let ops = &call.ops;
    let mut states = vec![ModelRows::default()];
    let mut skipped = vec![0u64];
    let mut kept = Vec::with_capacity(num_rows);
    update_rows(
        ops,
        &mut states,
        &mut skipped,
        values,
        &vec![0; num_rows],
        None,
        Some(&mut kept),
    )?;
    ops.sink.add_skipped(&ops.expression, skipped[0]);
    let rows = &states[0];
    if rows.len() == 0 {
        return Ok(None);
    }
    let order = model_order(ops, rows).order;
    let (fit, names, _warning, data, _groups) = fit_row(ops, rows)?;
    Ok(Some(PartitionFit {
        fit,
        names,
        data,
        input_rows: order.iter().map(|&r| kept[r]).collect(),
        ties: ops.options.fit.ties,
    }))
}

/// The result column: `values[p]` belongs to model row p; rows without one are NULL, as are
/// NaN values.
pub(crate) fn rowwise_array(num_rows: usize, fit: &PartitionFit, values: &[f64]) -> ArrayRef {
    let mut out: Vec<Option<f64>> = vec![None; num_rows];
    for (p, &v) in values.iter().enumerate() {
        out[fit.input_rows[p]] = (!v.is_nan()).then_some(v);
    }
    Arc::new(Float64Array::from(out))
}

//! The model state's row-wise use: the window functions (`cox_residual`, `cox_predict`) fit
//! the model on a window partition's rows, as `cox_ph` on the same rows, and map each fitted
//! row's value back to the partition row it came from.

use super::*;

use datafusion::physical_expr::expressions::Literal;
use datafusion::physical_expr::PhysicalExpr;

/// A window function's call: its arguments, and — once the first partition's values are
/// seen ([`RowwiseCall::prepare`]) — the model's ops and the function's own options (taken out
/// of the options string, the rest of which is `cox_ph`'s).
pub(crate) struct RowwiseCall {
    function: &'static str,
    exprs: Vec<Arc<dyn PhysicalExpr>>,
    fields: Vec<FieldRef>,
    own_keys: &'static [&'static str],
    sink: WarningSink,
    prepared: Option<Prepared>,
}

struct Prepared {
    ops: ModelOps,
    own: Vec<(String, String)>,
    /// The options argument held only the function's own options: the model reads the
    /// values without it.
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
    own_keys: &'static [&'static str],
    sink: &WarningSink,
) -> Result<RowwiseCall> {
    Ok(RowwiseCall {
        function,
        exprs: args.input_exprs().to_vec(),
        fields: args.input_fields().to_vec(),
        own_keys,
        sink: sink.clone(),
        prepared: None,
    })
}

impl RowwiseCall {
    /// The options text of the call, if its last argument is one. A literal (in-process); a
    /// column (a covariate) is not. Across datafusion-ffi the arguments are opaque foreign
    /// expressions, constants included: there the last argument is the options string when
    /// it is text, the same in every row of the partition and of the `key=value` form (a text
    /// covariate constant over a partition would be a single-level factor, dropped anyway).
    fn options_text(&self, values: &[ArrayRef]) -> Option<String> {
        let response = self
            .fields
            .first()
            .is_some_and(|f| crate::response::response_shape(f.data_type()).is_some());
        let fixed = if response { 1 } else { ModelKind::Ph.fixed() };
        if self.exprs.len() <= fixed + 1 {
            return None;
        }
        let last = self.exprs.last()?;
        if let Some(lit) = last.downcast_ref::<Literal>() {
            return match lit.value() {
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)) => Some(s.clone()),
                _ => None,
            };
        }
        if last
            .downcast_ref::<datafusion::physical_expr::expressions::Column>()
            .is_some()
        {
            return None;
        }
        let column = values.last()?;
        let text = crate::labels::label_column(self.function, "options", column).ok()?;
        let text = text.as_string_view();
        if text.is_empty() || text.null_count() > 0 {
            return None;
        }
        let first = text.value(0);
        let constant = (1..text.len()).all(|i| text.value(i) == first);
        (constant && first.contains('=')).then(|| first.to_owned())
    }

    /// Builds the model's ops from the call's arguments and the first partition's values.
    pub(crate) fn prepare(&mut self, values: &[ArrayRef]) -> Result<()> {
        if self.prepared.is_some() {
            return Ok(());
        }
        let mut exprs = self.exprs.clone();
        let mut fields = self.fields.clone();
        let mut own = vec![];
        let mut drop_last = false;
        if let Some(text) = self.options_text(values) {
            let (mine, rest) = split_own_options(&text, self.own_keys);
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
        // The options string is a literal now; ModelOps reads nothing else as a constant.
        let schema = datafusion::arrow::datatypes::Schema::empty();
        let function = self.function;
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
                &self.sink,
            )?,
            None => ModelOps::new(function, ModelKind::Ph, &accumulator_args, &self.sink)?,
        };
        if ops.options.firth {
            return exec_err!("{function}: firth=true is not offered for row-wise values");
        }
        self.prepared = Some(Prepared {
            ops,
            own,
            drop_last,
        });
        Ok(())
    }

    /// The function's own options (after [`Self::prepare`]).
    pub(crate) fn own(&self) -> &[(String, String)] {
        self.prepared.as_ref().map_or(&[], |p| &p.own)
    }
}

/// A model fitted on one window partition.
pub struct PartitionFit {
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
    call: &mut RowwiseCall,
    values: &[ArrayRef],
    num_rows: usize,
) -> Result<Option<PartitionFit>> {
    if num_rows == 0 {
        return Ok(None);
    }
    call.prepare(values)?;
    let prepared = call.prepared.as_ref().expect("prepared above");
    let values = if prepared.drop_last {
        &values[..values.len() - 1]
    } else {
        values
    };
    let ops = &prepared.ops;
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
    let (model, order) = model_data_in_order(ops, rows);
    let (fit, names, _warning, data, _groups) = fit_model_data_with(ops, model, false)?;
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

//! The state of `chisq_test` and `fisher_test`: the count of rows per (row label, column
//! label) cell of the contingency table, per SQL group. Memory O(cells); states merge by
//! adding counts. It travels as three lists: `<name>[row]`, `<name>[col]`, `<name>[count]`.

use std::collections::HashMap;
use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, FieldRef, UInt64Type};
use datafusion::common::{internal_err, Result};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};

use crate::accumulator::StateOps;
use crate::input_columns::row_mask;
use crate::labels::{label_column, sorted_label_order, Labels};
use crate::limits::{check, limits};
use crate::result_arrays::{list_array, state_list_field, string_array};
use crate::warnings::WarningSink;

type FastHash = crate::input_columns::StateHasher;

/// Cell counts of one SQL group.
#[derive(Debug, Clone, Default)]
pub struct CellCounts {
    rows: Labels,
    cols: Labels,
    index: HashMap<u64, u32, FastHash>,
    key: Vec<u64>,
    count: Vec<u64>,
}

impl CellCounts {
    #[inline]
    fn add(&mut self, row: &str, col: &str, n: u64) {
        let (r, c) = (self.rows.id(row), self.cols.id(col));
        self.add_ids(r, c, n);
    }

    #[inline]
    fn add_ids(&mut self, row: u32, col: u32, n: u64) {
        let key = (u64::from(row) << 32) | u64::from(col);
        let next = self.count.len() as u32;
        let i = *self.index.entry(key).or_insert(next) as usize;
        if i == next as usize {
            self.key.push(key);
            self.count.push(0);
        }
        self.count[i] += n;
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.rows.size() + self.cols.size() + self.count.capacity() * 32
    }

    /// The table with rows and columns in R's factor order (numeric when every label is a
    /// number, else byte order), with its labels.
    pub(crate) fn table(&self) -> (Vec<String>, Vec<String>, Vec<Vec<u64>>) {
        let ro = sorted_label_order(&self.rows.names);
        let co = sorted_label_order(&self.cols.names);
        let mut rrank = vec![0; ro.len()];
        ro.iter().enumerate().for_each(|(p, &id)| rrank[id] = p);
        let mut crank = vec![0; co.len()];
        co.iter().enumerate().for_each(|(p, &id)| crank[id] = p);
        let mut t = vec![vec![0u64; co.len()]; ro.len()];
        for (k, &c) in self.key.iter().zip(&self.count) {
            t[rrank[(k >> 32) as usize]][crank[(k & 0xffff_ffff) as usize]] += c;
        }
        let rl = ro.iter().map(|&i| self.rows.names[i].to_string()).collect();
        let cl = co.iter().map(|&i| self.cols.names[i].to_string()).collect();
        (rl, cl, t)
    }
}

/// Turns tables into the function's result, one per SQL group.
pub(crate) trait TableEvaluator: std::fmt::Debug + Send + Sync {
    fn evaluate(&self, tables: &[CellCounts]) -> Result<ArrayRef>;
}

/// Per-call configuration.
#[derive(Debug, Clone)]
pub struct TableOps {
    pub function: &'static str,
    pub expression: String,
    pub sink: WarningSink,
    pub(crate) evaluator: Arc<dyn TableEvaluator>,
}

impl TableOps {
    pub(crate) fn new(
        function: &'static str,
        args: &AccumulatorArgs,
        sink: &WarningSink,
        evaluator: Arc<dyn TableEvaluator>,
    ) -> Self {
        TableOps {
            function,
            expression: args.name.to_owned(),
            sink: sink.clone(),
            evaluator,
        }
    }
}

pub(crate) fn state_fields(args: &StateFieldsArgs) -> Vec<FieldRef> {
    let list = |name: &str, item: DataType| state_list_field(args.name, name, item);
    vec![
        list("row", DataType::Utf8),
        list("col", DataType::Utf8),
        list("count", DataType::UInt64),
    ]
}

fn update(
    call: &TableOps,
    states: &mut [CellCounts],
    skipped: &mut [u64],
    values: &[ArrayRef],
    group_indices: &[usize],
    opt_filter: Option<&BooleanArray>,
) -> Result<()> {
    let row = label_column(call.function, "row", &values[0])?;
    let col = label_column(call.function, "col", &values[1])?;
    let (row, col) = (row.as_string_view(), col.as_string_view());
    let mask = row_mask(&[row, col], opt_filter, group_indices, skipped);
    let mut add = |i: usize| {
        let st = &mut states[group_indices[i]];
        let (r, c) = (st.rows.id_at(row, i), st.cols.id_at(col, i));
        st.add_ids(r, c, 1);
    };
    match mask {
        None => (0..row.len()).for_each(&mut add),
        Some(m) => m.valid_indices().for_each(&mut add),
    }
    Ok(())
}

fn merge(states: &mut [CellCounts], values: &[ArrayRef], group_indices: &[usize]) -> Result<()> {
    if values.len() != 3 {
        return internal_err!("contingency state has 3 fields, got {}", values.len());
    }
    let (r, c, n) = (
        values[0].as_list::<i32>(),
        values[1].as_list::<i32>(),
        values[2].as_list::<i32>(),
    );
    let (rv, cv) = (r.values().as_string::<i32>(), c.values().as_string::<i32>());
    let nv = n.values().as_primitive::<UInt64Type>().values();
    let off = r.offsets();
    for (i, &g) in group_indices.iter().enumerate() {
        if r.is_null(i) {
            continue;
        }
        for k in off[i] as usize..off[i + 1] as usize {
            states[g].add(rv.value(k), cv.value(k), nv[k]);
        }
    }
    Ok(())
}

fn emit_state(states: &[CellCounts]) -> Result<Vec<ArrayRef>> {
    let lengths: Vec<usize> = states.iter().map(|s| s.count.len()).collect();
    let (mut r, mut c, mut n) = (vec![], vec![], vec![]);
    for s in states {
        for (k, &cnt) in s.key.iter().zip(&s.count) {
            r.push(s.rows.names[(k >> 32) as usize].to_string());
            c.push(s.cols.names[(k & 0xffff_ffff) as usize].to_string());
            n.push(cnt);
        }
    }
    Ok(vec![
        list_array(&lengths, string_array(&r)?)?,
        list_array(&lengths, string_array(&c)?)?,
        list_array(&lengths, Arc::new(UInt64Array::from(n)))?,
    ])
}

impl StateOps for TableOps {
    type State = CellCounts;

    fn update(
        &self,
        states: &mut [CellCounts],
        skipped: &mut [u64],
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
    ) -> Result<()> {
        update(self, states, skipped, values, groups, filter)
    }

    fn merge(
        &self,
        states: &mut [CellCounts],
        values: &[ArrayRef],
        groups: &[usize],
    ) -> Result<()> {
        merge(states, values, groups)
    }

    fn function(&self) -> &str {
        self.function
    }

    fn sink(&self) -> &WarningSink {
        &self.sink
    }

    fn expression(&self) -> &str {
        &self.expression
    }

    fn emit(&self, states: &mut [CellCounts]) -> Result<Vec<ArrayRef>> {
        emit_state(states)
    }

    fn evaluate(&self, states: &mut [CellCounts]) -> Result<ArrayRef> {
        // The tables are built dense (rows × columns): refuse what would not fit.
        let cap = limits().max_table_cells;
        for s in states.iter() {
            let cells = s.rows.len().saturating_mul(s.cols.len());
            check(
                self.function,
                &format!(
                    "the table of 'row' by 'col' ({} × {} = {cells} cells)",
                    s.rows.len(),
                    s.cols.len()
                ),
                cells,
                cap,
                "cells",
                "SET survql.max_table_cells = N (survql --max-table-cells)",
            )?;
        }
        self.evaluator.evaluate(states)
    }

    fn size(state: &CellCounts) -> usize {
        state.size()
    }
}

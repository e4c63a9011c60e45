//! [`FisherTest`]: `fisher_test(row, col [, conf_level])`, Fisher's exact test of
//! independence, with the conditional MLE odds ratio for 2 × 2 tables.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;
use survql_stats::contingency::fisher_test;

use crate::coerce::{check_arity, coerce_option};
use crate::docs::doc;
use crate::options::conf_level_option;
use crate::result_arrays::{f64_field, struct_array};
use crate::table_state::{CellCounts, TableEvaluator, TableOps};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "fisher_test";
const SYNTAX: &str = "fisher_test(row, col [, conf_level])";

/// `fisher_test(row, col [, conf_level])` returns `STRUCT<p_value DOUBLE, odds_ratio DOUBLE,
/// lower DOUBLE, upper DOUBLE>` as R's `fisher.test(table(row, col))`: the exact two-sided
/// p-value (tables no more probable than the observed one); for 2 × 2 tables the conditional
/// maximum-likelihood odds ratio and its exact interval (NULL for larger tables). A table too
/// large to enumerate is an error, never a hang.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h fisher_test` in the shell and in `docs/functions.md`.
pub type FisherTest = SurvivalUdaf<FisherTestFunction>;

/// The definition of [`FisherTest`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct FisherTestFunction;

fn fields() -> Fields {
    Fields::from(vec![
        f64_field("p_value"),
        f64_field("odds_ratio"),
        f64_field("lower"),
        f64_field("upper"),
    ])
}

impl SurvivalFunction for FisherTestFunction {
    type Ops = TableOps;

    fn name(&self) -> &'static str {
        NAME
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(fields()))
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_arity(NAME, arg_types.len(), 2, 3, SYNTAX)?;
        let mut out: Vec<DataType> = arg_types[..2]
            .iter()
            .map(|t| {
                if t.is_null() {
                    DataType::Utf8
                } else {
                    t.clone()
                }
            })
            .collect();
        if let Some(t) = arg_types.get(2) {
            out.push(coerce_option(NAME, "conf_level", t, &DataType::Float64)?);
        }
        Ok(out)
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::table_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let level = conf_level_option(NAME, args, 2)?.unwrap_or(0.95);
        Ok(TableOps::new(
            NAME,
            args,
            sink,
            Arc::new(FisherEvaluator { level }),
        ))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Fisher's exact test of independence of two categorical columns, as R's \
                 fisher.test(table(row, col)): exact two-sided p-value; for 2x2 tables also the \
                 conditional maximum-likelihood odds ratio and its exact confidence interval. \
                 Returns STRUCT<p_value, odds_ratio, lower, upper>.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT fisher_test(best_response IN ('CR', 'PR'), liver_mets)\nFROM demo.net_cohort WHERE best_response IS NOT NULL;\n```",
            )
            .with_argument("row", "Row variable (any type; NULLs skipped).")
            .with_argument("col", "Column variable (any type; NULLs skipped).")
            .with_argument("conf_level", "Constant in (0, 1) for the odds-ratio interval; default 0.95.")
            .build()
        })
    }
}

#[derive(Debug)]
struct FisherEvaluator {
    level: f64,
}

impl TableEvaluator for FisherEvaluator {
    fn evaluate(&self, tables: &[CellCounts]) -> Result<ArrayRef> {
        let (mut p, mut or, mut lo, mut hi) = (vec![], vec![], vec![], vec![]);
        for t in tables {
            let (_, _, table) = t.table();
            match fisher_test(&table, self.level) {
                None => {
                    p.push(None);
                    or.push(None);
                    lo.push(None);
                    hi.push(None);
                }
                Some(Err(e)) => return exec_err!("{NAME}: {e}"),
                Some(Ok(r)) => {
                    p.push(Some(r.p_value));
                    or.push(r.odds_ratio);
                    lo.push(r.lower);
                    hi.push(r.upper);
                }
            }
        }
        Ok(struct_array(
            &fields(),
            vec![
                Arc::new(Float64Array::from(p)),
                Arc::new(Float64Array::from(or)),
                Arc::new(Float64Array::from(lo)),
                Arc::new(Float64Array::from(hi)),
            ],
        ))
    }
}

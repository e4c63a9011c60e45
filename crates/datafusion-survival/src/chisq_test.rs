//! [`ChisqTest`]: `chisq_test(row, col [, correct])`, Pearson's chi-square test of
//! independence of two categorical columns.

use std::sync::{Arc, OnceLock};

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Fields};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::Documentation;
use survql_stats::contingency::chisq_test;

use crate::coerce::{check_arity, coerce_option};
use crate::docs::doc;
use crate::options::literal_arg;
use crate::result_arrays::{f64_field, i64_field, struct_array};
use crate::table_state::{CellCounts, TableEvaluator, TableOps};
use crate::warnings::WarningSink;

use crate::survival_udaf::{SurvivalFunction, SurvivalUdaf};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::logical_expr::function::StateFieldsArgs;

const NAME: &str = "chisq_test";
const SYNTAX: &str = "chisq_test(row, col [, correct])";

/// `chisq_test(row, col [, correct])` returns `STRUCT<statistic DOUBLE, df BIGINT,
/// p_value DOUBLE>` as R's `chisq.test(table(row, col), correct = correct)`: Pearson's X² on
/// the table of the two columns (NULLs skipped), with Yates' continuity correction for 2 × 2
/// tables when `correct` (default true). NULL for a table with one row or column.
///
/// SQL reference (arguments, result, example): its [`SurvivalFunction::documentation`],
/// shown by `\h chisq_test` in the shell and in `docs/functions.md`.
pub type ChisqTest = SurvivalUdaf<ChisqTestFunction>;

/// The definition of [`ChisqTest`].
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct ChisqTestFunction;

fn fields() -> Fields {
    Fields::from(vec![
        f64_field("statistic"),
        i64_field("df"),
        f64_field("p_value"),
    ])
}

impl SurvivalFunction for ChisqTestFunction {
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
            out.push(coerce_option(NAME, "correct", t, &DataType::Boolean)?);
        }
        Ok(out)
    }

    fn state_fields(&self, args: &StateFieldsArgs) -> Vec<FieldRef> {
        crate::table_state::state_fields(args)
    }

    fn state_ops(&self, args: &AccumulatorArgs, sink: &WarningSink) -> Result<Self::Ops> {
        let correct = match literal_arg(NAME, "correct", args, 2)? {
            None => true,
            Some(ScalarValue::Boolean(Some(b))) => b,
            Some(v) => {
                return exec_err!("{NAME}: argument 'correct' must be true or false, found {v}")
            }
        };
        Ok(TableOps::new(
            NAME,
            args,
            sink,
            Arc::new(ChisqEvaluator {
                correct,
                sink: sink.clone(),
                expression: args.name.to_owned(),
            }),
        ))
    }

    fn documentation(&self) -> &'static Documentation {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        DOC.get_or_init(|| {
            doc(
                "Pearson's chi-square test of independence of two categorical columns, as R's \
                 chisq.test(table(row, col), correct = correct); Yates' correction applies to \
                 2x2 tables only (default true). Returns STRUCT<statistic, df, p_value>; warns \
                 when an expected count is below 5.",
                SYNTAX,
            )
            .with_sql_example(
                "```sql\nSELECT chisq_test(best_response IN ('CR', 'PR'), liver_mets)['p_value']\nFROM demo.net_cohort WHERE best_response IS NOT NULL;\n\nSELECT chisq_test(treatment, liver_mets, false) FROM demo.net_cohort;\n```",
            )
            .with_argument("row", "Row variable (any type; NULLs skipped).")
            .with_argument("col", "Column variable (any type; NULLs skipped).")
            .with_argument("correct", "Constant boolean: Yates' continuity correction for 2x2 tables (default true).")
            .build()
        })
    }
}

#[derive(Debug)]
struct ChisqEvaluator {
    correct: bool,
    sink: WarningSink,
    expression: String,
}

impl TableEvaluator for ChisqEvaluator {
    fn evaluate(&self, tables: &[CellCounts]) -> Result<ArrayRef> {
        let (mut stat, mut df, mut p) = (vec![], vec![], vec![]);
        for t in tables {
            let (_, _, table) = t.table();
            match chisq_test(&table, self.correct) {
                Some(r) => {
                    if r.approximation_doubtful() {
                        self.sink.push(format!(
                            "{}: Chi-squared approximation may be incorrect (an expected count is below 5)",
                            self.expression
                        ));
                    }
                    stat.push(Some(r.statistic));
                    df.push(Some(r.df as i64));
                    p.push(Some(r.p_value));
                }
                None => {
                    stat.push(None);
                    df.push(None);
                    p.push(None);
                }
            }
        }
        Ok(struct_array(
            &fields(),
            vec![
                Arc::new(Float64Array::from(stat)),
                Arc::new(Int64Array::from(df)),
                Arc::new(Float64Array::from(p)),
            ],
        ))
    }
}

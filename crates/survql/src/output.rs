//! Printing query results: `table` (readable: struct columns expanded, numbers rounded to six
//! significant digits), `csv`, `tsv`, `json`, `ndjson` and `markdown` (full precision).

use std::fmt::Write as _;

use clap::ValueEnum;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, Schema,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{json, Value};

/// Output formats of `--format` and `\format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Tsv,
    Json,
    Ndjson,
    Markdown,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        <Format as ValueEnum>::from_str(s, true).ok()
    }
}

/// One result value, independent of its Arrow type.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
    Struct(Vec<(String, Cell)>),
    List(Vec<Cell>),
}

impl Cell {
    /// Reads row `row` of `array`.
    pub fn from_array(array: &dyn Array, row: usize) -> Cell {
        if array.is_null(row) {
            return Cell::Null;
        }
        macro_rules! int {
            ($t:ty) => {
                Cell::Int(array.as_primitive::<$t>().value(row) as i128)
            };
        }
        match array.data_type() {
            DataType::Boolean => Cell::Bool(array.as_boolean().value(row)),
            DataType::Int8 => int!(Int8Type),
            DataType::Int16 => int!(Int16Type),
            DataType::Int32 => int!(Int32Type),
            DataType::Int64 => int!(Int64Type),
            DataType::UInt8 => int!(UInt8Type),
            DataType::UInt16 => int!(UInt16Type),
            DataType::UInt32 => int!(UInt32Type),
            DataType::UInt64 => int!(UInt64Type),
            DataType::Float64 => Cell::Float(array.as_primitive::<Float64Type>().value(row)),
            DataType::Float32 => Cell::Float(array.as_primitive::<Float32Type>().value(row) as f64),
            DataType::Utf8 => Cell::Text(array.as_string::<i32>().value(row).to_owned()),
            DataType::LargeUtf8 => Cell::Text(array.as_string::<i64>().value(row).to_owned()),
            DataType::Utf8View => Cell::Text(array.as_string_view().value(row).to_owned()),
            DataType::Struct(fields) => {
                let s = array.as_struct();
                Cell::Struct(
                    fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| {
                            (
                                f.name().clone(),
                                Cell::from_array(s.column(i).as_ref(), row),
                            )
                        })
                        .collect(),
                )
            }
            DataType::List(_) => {
                let inner = array.as_list::<i32>().value(row);
                Cell::List(
                    (0..inner.len())
                        .map(|i| Cell::from_array(inner.as_ref(), i))
                        .collect(),
                )
            }
            DataType::LargeList(_) => {
                let inner = array.as_list::<i64>().value(row);
                Cell::List(
                    (0..inner.len())
                        .map(|i| Cell::from_array(inner.as_ref(), i))
                        .collect(),
                )
            }
            _ => {
                let f = ArrayFormatter::try_new(array, &FormatOptions::default());
                match f {
                    Ok(f) => Cell::Text(f.value(row).to_string()),
                    Err(_) => Cell::Text(format!("<{}>", array.data_type())),
                }
            }
        }
    }

    /// Full-precision text (CSV, TSV, markdown): floats as the shortest round-trip decimal.
    pub fn full_text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Bool(b) => b.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(x) => float_full(*x),
            Cell::Text(s) => s.clone(),
            Cell::Struct(_) | Cell::List(_) => self.to_json().to_string(),
        }
    }

    /// Readable text for the table format: six significant digits, nested values inline.
    pub fn short_text(&self) -> String {
        match self {
            Cell::Null => "NULL".into(),
            Cell::Float(x) => float_short(*x),
            Cell::Struct(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.short_text()))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            Cell::List(items) => {
                // One element per line keeps a curve readable inside a cell.
                let parts: Vec<String> = items.iter().map(Cell::short_text).collect();
                if parts.iter().any(|p| p.starts_with('{')) {
                    parts.join("\n")
                } else {
                    format!("[{}]", parts.join(", "))
                }
            }
            other => other.full_text(),
        }
    }

    /// JSON value; NaN and infinities become strings (JSON has no such numbers).
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => json!(b),
            Cell::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    json!(v)
                } else {
                    json!(i.to_string())
                }
            }
            Cell::Float(x) if x.is_finite() => json!(x),
            Cell::Float(x) => json!(float_full(*x)),
            Cell::Text(s) => json!(s),
            Cell::Struct(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Cell::List(items) => Value::Array(items.iter().map(Cell::to_json).collect()),
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Float(_))
    }
}

/// Shortest decimal that parses back to the same double.
pub fn float_full(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0 as f64 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{x}")
    }
}

/// Six significant digits; scientific notation for very small or large magnitudes.
pub fn float_short(x: f64) -> String {
    if !x.is_finite() {
        return float_full(x);
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-4..1e15).contains(&a) {
        let s = format!("{x:.4e}");
        // 1.2000e-5 -> 1.2e-5
        if let Some((m, e)) = s.split_once('e') {
            let m = if m.contains('.') {
                m.trim_end_matches('0').trim_end_matches('.')
            } else {
                m
            };
            return format!("{m}e{e}");
        }
        return s;
    }
    let digits = 6 - 1 - a.log10().floor() as i32;
    let s = format!("{:.*}", digits.max(0) as usize, x);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// A result set ready to print.
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Rows {
    pub fn from_batches(schema: &Schema, batches: &[RecordBatch]) -> Rows {
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut rows = vec![];
        for b in batches {
            for r in 0..b.num_rows() {
                rows.push(
                    (0..b.num_columns())
                        .map(|c| Cell::from_array(b.column(c).as_ref(), r))
                        .collect(),
                );
            }
        }
        Rows { columns, rows }
    }

    /// Struct columns become one column per field (`col.field`), recursively, for formats
    /// that are tables of scalars.
    fn flattened(&self) -> Rows {
        let mut columns = vec![];
        let mut template: Vec<Vec<Cell>> = vec![vec![]; self.rows.len()];
        for (c, name) in self.columns.iter().enumerate() {
            let first_struct = self.rows.iter().find_map(|r| match &r[c] {
                Cell::Struct(f) => Some(f.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()),
                _ => None,
            });
            match first_struct {
                Some(fields)
                    if self
                        .rows
                        .iter()
                        .all(|r| matches!(r[c], Cell::Struct(_) | Cell::Null)) =>
                {
                    let short = short_column_name(name);
                    for f in &fields {
                        columns.push(format!("{short}.{f}"));
                    }
                    for (ri, r) in self.rows.iter().enumerate() {
                        match &r[c] {
                            Cell::Struct(vals) => {
                                template[ri].extend(vals.iter().map(|(_, v)| v.clone()))
                            }
                            _ => template[ri].extend(fields.iter().map(|_| Cell::Null)),
                        }
                    }
                }
                _ => {
                    columns.push(name.clone());
                    for (ri, r) in self.rows.iter().enumerate() {
                        template[ri].push(r[c].clone());
                    }
                }
            }
        }
        Rows {
            columns,
            rows: template,
        }
    }

    /// Renders the rows in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.table(),
            Format::Csv => self.delimited(','),
            Format::Tsv => self.delimited('\t'),
            Format::Json => {
                let arr: Vec<Value> = self.rows.iter().map(|r| self.object(r)).collect();
                let mut s = serde_json::to_string_pretty(&Value::Array(arr)).unwrap_or_default();
                s.push('\n');
                s
            }
            Format::Ndjson => {
                let mut s = String::new();
                for r in &self.rows {
                    let _ = writeln!(s, "{}", self.object(r));
                }
                s
            }
            Format::Markdown => self.markdown(),
        }
    }

    fn object(&self, row: &[Cell]) -> Value {
        Value::Object(
            self.columns
                .iter()
                .zip(row)
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }

    fn table(&self) -> String {
        let flat = self.flattened();
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        // Fit wide results to a real terminal; a tiny or unknown width (pipes, bare pseudo
        // terminals) would wrap every cell, so leave the table at its natural width then.
        t.set_content_arrangement(ContentArrangement::Dynamic);
        if t.width().is_none_or(|w| w < 40) {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
        t.set_header(flat.columns.iter().map(comfy_table::Cell::new));
        for r in &flat.rows {
            t.add_row(r.iter().map(|c| {
                let cell = comfy_table::Cell::new(c.short_text());
                if c.is_numeric() {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
        }
        let n = flat.rows.len();
        format!("{t}\n({n} row{})\n", if n == 1 { "" } else { "s" })
    }

    fn delimited(&self, sep: char) -> String {
        let flat = self.flattened();
        let quote = |s: &str| -> String {
            if s.contains(sep) || s.contains('"') || s.contains('\n') || s.contains('\r') {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        let mut out = String::new();
        let header: Vec<String> = flat.columns.iter().map(|c| quote(c)).collect();
        let _ = writeln!(out, "{}", header.join(&sep.to_string()));
        for r in &flat.rows {
            let line: Vec<String> = r.iter().map(|c| quote(&c.full_text())).collect();
            let _ = writeln!(out, "{}", line.join(&sep.to_string()));
        }
        out
    }

    fn markdown(&self) -> String {
        let flat = self.flattened();
        let esc = |s: String| s.replace('|', "\\|").replace('\n', "<br>");
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| {} |",
            flat.columns
                .iter()
                .map(|c| esc(c.clone()))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(
            out,
            "|{}|",
            flat.columns
                .iter()
                .map(|_| "---")
                .collect::<Vec<_>>()
                .join("|")
        );
        for r in &flat.rows {
            let _ = writeln!(
                out,
                "| {} |",
                r.iter()
                    .map(|c| esc(c.full_text()))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        out
    }
}

/// `km_summary(cohort.os_months,cohort.died)` -> `km_summary`: expanded struct columns would
/// otherwise repeat the whole expression in every header.
fn short_column_name(name: &str) -> String {
    match name.find('(') {
        Some(i) if name.ends_with(')') => name[..i].to_owned(),
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_floats() {
        assert_eq!(float_short(26.9), "26.9");
        assert_eq!(float_short(0.7407576382953591), "0.740758");
        assert_eq!(float_short(2.696464910884985e-05), "2.6965e-5");
        assert_eq!(float_short(1234567.0), "1234567");
        assert_eq!(float_short(-0.5), "-0.5");
    }
}

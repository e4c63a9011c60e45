//! Printing query results: `table` (readable: struct columns expanded, numbers rounded to six
//! significant digits), `csv`, `tsv`, `json`, `ndjson` and `markdown` (full precision).

use std::fmt::Write as _;
use std::io::IsTerminal;

use clap::ValueEnum;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, Schema,
    SchemaRef, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
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

/// How many rows the `table` format prints (`--maxrows`, `\pset maxrows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxRows {
    Limited(usize),
    Unlimited,
}

impl MaxRows {
    /// The interactive shell's default, as datafusion-cli's.
    pub const SHELL_DEFAULT: MaxRows = MaxRows::Limited(40);

    /// `40`, `0` (no rows, only the count), `inf` / `all` / `none` (every row).
    pub fn parse(text: &str) -> Option<MaxRows> {
        let t = text.trim();
        if ["inf", "all", "none", "unlimited"]
            .iter()
            .any(|w| t.eq_ignore_ascii_case(w))
        {
            return Some(MaxRows::Unlimited);
        }
        t.parse().ok().map(MaxRows::Limited)
    }

    fn limit(self) -> usize {
        match self {
            MaxRows::Limited(n) => n,
            MaxRows::Unlimited => usize::MAX,
        }
    }
}

impl std::fmt::Display for MaxRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxRows::Limited(n) => write!(f, "{n}"),
            MaxRows::Unlimited => write!(f, "inf"),
        }
    }
}

/// A result set ready to print.
pub struct Rows {
    pub columns: Vec<String>,
    /// Per column, the field names of a struct column (printed one column per field by the
    /// formats that are tables of scalars); taken from the schema, so every batch of a
    /// streamed result has the same columns.
    struct_fields: Vec<Option<Vec<String>>>,
    pub rows: Vec<Vec<Cell>>,
}

impl Rows {
    pub fn from_batches(schema: &Schema, batches: &[RecordBatch]) -> Rows {
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        let struct_fields = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Struct(fields) => Some(fields.iter().map(|f| f.name().clone()).collect()),
                _ => None,
            })
            .collect();
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
        Rows {
            columns,
            struct_fields,
            rows,
        }
    }

    /// Struct columns become one column per field (`col.field`) for formats that are tables
    /// of scalars.
    fn flattened(&self) -> Rows {
        let mut columns = vec![];
        let mut flat: Vec<Vec<Cell>> = vec![vec![]; self.rows.len()];
        for (c, name) in self.columns.iter().enumerate() {
            match &self.struct_fields[c] {
                Some(fields) => {
                    let short = short_column_name(name);
                    for f in fields {
                        columns.push(format!("{short}.{f}"));
                    }
                    for (ri, r) in self.rows.iter().enumerate() {
                        match &r[c] {
                            Cell::Struct(vals) => {
                                flat[ri].extend(vals.iter().map(|(_, v)| v.clone()))
                            }
                            _ => flat[ri].extend(fields.iter().map(|_| Cell::Null)),
                        }
                    }
                }
                None => {
                    columns.push(name.clone());
                    for (ri, r) in self.rows.iter().enumerate() {
                        flat[ri].push(r[c].clone());
                    }
                }
            }
        }
        Rows {
            struct_fields: vec![None; columns.len()],
            columns,
            rows: flat,
        }
    }

    /// Renders the rows in `format` (every row: `--maxrows` applies to query results, see
    /// [`ResultWriter`]).
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.table(self.rows.len()),
            Format::Markdown => self.markdown(),
            Format::Csv | Format::Tsv | Format::Json | Format::Ndjson => {
                let mut s = self.chunk(format, true);
                s.push_str(&stream_end(format, !self.rows.is_empty()));
                s
            }
        }
    }

    /// The text of these rows as one piece of a streamed result in a streaming format (csv,
    /// tsv, json, ndjson); `first`: the result's first piece (CSV header, JSON opening).
    fn chunk(&self, format: Format, first: bool) -> String {
        match format {
            Format::Csv => self.delimited(',', first),
            Format::Tsv => self.delimited('\t', first),
            Format::Json => {
                let mut s = String::new();
                for (i, r) in self.rows.iter().enumerate() {
                    s.push_str(if first && i == 0 { "[\n" } else { ",\n" });
                    let object = serde_json::to_string_pretty(&self.object(r)).unwrap_or_default();
                    for (j, line) in object.lines().enumerate() {
                        if j > 0 {
                            s.push('\n');
                        }
                        s.push_str("  ");
                        s.push_str(line);
                    }
                }
                s
            }
            Format::Ndjson => {
                let mut s = String::new();
                for r in &self.rows {
                    let _ = writeln!(s, "{}", self.object(r));
                }
                s
            }
            Format::Table | Format::Markdown => self.render(format),
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

    /// A table of the rows, its footer counting `total` rows.
    fn table(&self, total: usize) -> String {
        let mut t = self.comfy(true);
        // Fit wide results to a real terminal; a tiny or unknown width (pipes, bare pseudo
        // terminals) would wrap every cell, so leave the table at its natural width then.
        t.set_content_arrangement(ContentArrangement::Dynamic);
        if t.width().is_none_or(|w| w < 40) {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
        format!("{t}\n{}", table_footer(self.rows.len(), total))
    }

    /// The rows as a table at its natural width (struct columns expanded, numbers right
    /// aligned), with or without the header.
    fn comfy(&self, header: bool) -> Table {
        let flat = self.flattened();
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_content_arrangement(ContentArrangement::Disabled);
        if header {
            t.set_header(flat.columns.iter().map(comfy_table::Cell::new));
        }
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
        t
    }

    fn delimited(&self, sep: char, header: bool) -> String {
        let flat = self.flattened();
        let quote = |s: &str| -> String {
            if s.contains(sep) || s.contains('"') || s.contains('\n') || s.contains('\r') {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        let mut out = String::new();
        if header {
            let header: Vec<String> = flat.columns.iter().map(|c| quote(c)).collect();
            let _ = writeln!(out, "{}", header.join(&sep.to_string()));
        }
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

/// What a streamed result in `format` ends with: the JSON array's closing (`[]` when empty).
fn stream_end(format: Format, any_rows: bool) -> String {
    match format {
        Format::Json if any_rows => "\n]\n".into(),
        Format::Json => "[]\n".into(),
        _ => String::new(),
    }
}

/// Prints one query result as its batches arrive. CSV, TSV, JSON and NDJSON are written batch
/// by batch (an export of any size runs in constant memory); `table` keeps the first
/// `max_rows` rows and counts the rest; `markdown` (a document) keeps every row.
pub struct ResultWriter {
    format: Format,
    max_rows: MaxRows,
    schema: SchemaRef,
    /// Rows of the result so far.
    total_rows: usize,
    /// Streaming formats: whether the CSV/TSV header is out.
    header_written: bool,
    /// Table and markdown: the rows to print at the end.
    kept: Vec<RecordBatch>,
    kept_rows: usize,
}

impl ResultWriter {
    pub fn new(format: Format, max_rows: MaxRows, schema: SchemaRef) -> ResultWriter {
        ResultWriter {
            format,
            max_rows,
            schema,
            total_rows: 0,
            header_written: false,
            kept: vec![],
            kept_rows: 0,
        }
    }

    fn streams(&self) -> bool {
        matches!(
            self.format,
            Format::Csv | Format::Tsv | Format::Json | Format::Ndjson
        )
    }

    /// Takes the next batch; returns the text to write now (streaming formats).
    pub fn push(&mut self, batch: &RecordBatch) -> String {
        let rows_before = self.total_rows;
        self.total_rows += batch.num_rows();
        if self.streams() {
            let first = match self.format {
                Format::Csv | Format::Tsv => !std::mem::replace(&mut self.header_written, true),
                _ => rows_before == 0,
            };
            return Rows::from_batches(&self.schema, std::slice::from_ref(batch))
                .chunk(self.format, first);
        }
        let room = match self.format {
            Format::Table => self.max_rows.limit().saturating_sub(self.kept_rows),
            _ => usize::MAX,
        };
        let take = room.min(batch.num_rows());
        if take > 0 {
            self.kept.push(batch.slice(0, take));
            self.kept_rows += take;
        }
        String::new()
    }

    /// Hands `emit` the text that ends the result: the table itself (in pieces when it has
    /// many rows: see [`draw_table`]), a JSON array's closing, the header of an empty CSV
    /// result.
    pub fn finish_into<E>(self, emit: &mut impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        if self.streams() {
            let mut s = String::new();
            if matches!(self.format, Format::Csv | Format::Tsv) && !self.header_written {
                s = Rows::from_batches(&self.schema, &[]).chunk(self.format, true);
            }
            s.push_str(&stream_end(self.format, self.total_rows > 0));
            return emit(&s);
        }
        match self.format {
            Format::Table => draw_table(
                &self.schema,
                &self.kept,
                self.total_rows,
                TABLE_PIECE_ROWS,
                emit,
            ),
            _ => emit(&Rows::from_batches(&self.schema, &self.kept).render(self.format)),
        }
    }
}

/// Rows of a table drawn in one piece; a larger one is drawn in pieces of this many rows.
const TABLE_PIECE_ROWS: usize = 4096;

/// Draws the table of `batches` (the first rows of a result of `total` rows), handing its text
/// to `emit`. Up to `piece_rows` rows it is one comfy table. Beyond, drawing every row as one
/// table would hold each row several times over (as cells, as the table's strings, as the
/// text: 14 GB for ten million rows of four columns), so the column widths are measured over
/// every row first, then the table is drawn `piece_rows` rows at a time at those widths,
/// each piece without the borders that join it to the next. The text is the same as one
/// table's (tested), except that a table wider than the terminal is not wrapped to fit it
/// (it is when drawn in one piece); nobody reads thousands of rows on a terminal.
fn draw_table<E>(
    schema: &Schema,
    batches: &[RecordBatch],
    total: usize,
    piece_rows: usize,
    emit: &mut impl FnMut(&str) -> Result<(), E>,
) -> Result<(), E> {
    let kept: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if kept <= piece_rows {
        return emit(&Rows::from_batches(schema, batches).table(total));
    }
    let pieces = || {
        batches.iter().flat_map(move |b| {
            (0..b.num_rows())
                .step_by(piece_rows)
                .map(move |start| b.slice(start, piece_rows.min(b.num_rows() - start)))
        })
    };
    let mut widths = Rows::from_batches(schema, &[])
        .comfy(true)
        .column_max_content_widths();
    for piece in pieces() {
        let piece_widths = Rows::from_batches(schema, &[piece])
            .comfy(false)
            .column_max_content_widths();
        for (w, p) in widths.iter_mut().zip(piece_widths) {
            *w = (*w).max(p);
        }
    }
    // A column past comfy's widest (a cell of 65,533 characters) is wrapped by the whole
    // table's own rules: draw it whole.
    if widths.iter().any(|&w| w > u16::MAX - 2) {
        return emit(&Rows::from_batches(schema, batches).table(total));
    }
    let count = pieces().count();
    for (i, piece) in pieces().enumerate() {
        let mut t = Rows::from_batches(schema, &[piece]).comfy(i == 0);
        // Padding is one space either side of the content.
        t.set_constraints(
            widths
                .iter()
                .map(|&w| ColumnConstraint::Absolute(Width::Fixed(w.saturating_add(2)))),
        );
        let lines: Vec<String> = t.lines().collect();
        // Every piece but the first drops its top border, every piece but the last its
        // bottom border.
        let from = usize::from(i > 0);
        let to = lines.len() - usize::from(i + 1 < count);
        let mut text = lines[from..to].join("\n");
        text.push('\n');
        emit(&text)?;
    }
    emit(&table_footer(kept, total))
}

/// The line under a table: how many rows the result has, and how many are shown.
fn table_footer(shown: usize, total: usize) -> String {
    let plural = if total == 1 { "" } else { "s" };
    if shown < total {
        format!(
            "({total} row{plural}; first {shown} shown: --maxrows or \\pset maxrows to change)\n"
        )
    } else {
        format!("({total} row{plural})\n")
    }
}

/// Width of the terminal on stdout, if it is one.
pub fn terminal_width() -> Option<u16> {
    if !std::io::stdout().is_terminal() {
        return std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    }
    let mut t = comfy_table::Table::new();
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    t.width()
        .or_else(|| std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()))
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

    /// A table drawn in pieces is the one table drawn whole: widths, alignment, expanded
    /// struct columns, multi-line and non-ASCII cells, borders where the pieces join.
    #[test]
    fn a_table_drawn_in_pieces_is_the_whole_table() {
        use datafusion::arrow::array::{
            ArrayRef, Float64Array, Int64Array, ListArray, StringArray, StructArray,
        };
        use datafusion::arrow::datatypes::{Field, Fields, Float64Type};
        use std::sync::Arc;

        let n = 1000;
        let fields = Fields::from(vec![
            Field::new("median", DataType::Float64, true),
            Field::new("label", DataType::Utf8, true),
        ]);
        let summary = StructArray::new(
            fields.clone(),
            vec![
                Arc::new(Float64Array::from_iter(
                    (0..n).map(|i| (i % 7 != 0).then_some(i as f64 / 3.0)),
                )) as ArrayRef,
                // Some labels span two lines.
                Arc::new(StringArray::from_iter_values((0..n).map(|i| {
                    "jünger ≥ 70".repeat(i % 4) + if i % 13 == 0 { "\nzweite" } else { "" }
                }))),
            ],
            None,
        );
        // Lists of numbers print on one line; the widest row is in the middle.
        let curve = ListArray::from_iter_primitive::<Float64Type, _, _>(
            (0..n).map(|i| Some((0..(i % 5 + usize::from(i == 555) * 9)).map(|k| Some(k as f64)))),
        );
        let schema = Arc::new(Schema::new(vec![
            Field::new("grp", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
            Field::new("km_summary(t,e)", DataType::Struct(fields), true),
            Field::new("curve", curve.data_type().clone(), true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(StringArray::from_iter(
                    (0..n).map(|i| (i % 11 != 0).then(|| format!("g{}", i * 37 % 1000))),
                )),
                Arc::new(Int64Array::from_iter_values(
                    (0..n).map(|i| i as i64 * 1001),
                )),
                Arc::new(summary),
                Arc::new(curve),
            ],
        )
        .unwrap();
        // Uneven batches, so pieces end at batch ends as well as inside batches.
        let batches = vec![
            batch.slice(0, 300),
            batch.slice(300, 1),
            batch.slice(301, 699),
        ];
        let rows = Rows::from_batches(&schema, &batches);
        let whole = format!("{}\n{}", rows.comfy(true), table_footer(n, n + 5));
        for piece_rows in [1, 7, 64, 999] {
            let mut drawn = String::new();
            draw_table(&schema, &batches, n + 5, piece_rows, &mut |text: &str| {
                drawn.push_str(text);
                Ok::<(), ()>(())
            })
            .unwrap();
            assert_eq!(drawn, whole, "pieces of {piece_rows} rows");
        }
    }

    #[test]
    fn short_floats() {
        assert_eq!(float_short(26.9), "26.9");
        assert_eq!(float_short(0.7407576382953591), "0.740758");
        assert_eq!(float_short(2.696464910884985e-05), "2.6965e-5");
        assert_eq!(float_short(1234567.0), "1234567");
        assert_eq!(float_short(-0.5), "-0.5");
    }
}

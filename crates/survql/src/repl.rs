//! The interactive shell: multi-line statements ending in `;`, persistent history, completion
//! of keywords, tables, columns, functions and commands, syntax highlighting.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use datafusion::common::Result;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{CompletionType, Config, Editor, Helper};

use crate::app::App;
use crate::commands::{run_script, Flow};
use crate::script::split;

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "ON",
    "USING",
    "UNION",
    "ALL",
    "DISTINCT",
    "WITH",
    "CREATE",
    "VIEW",
    "TABLE",
    "EXTERNAL",
    "STORED",
    "LOCATION",
    "DROP",
    "DESCRIBE",
    "EXPLAIN",
    "ANALYZE",
    "CAST",
    "FILTER",
    "OVER",
    "PARTITION",
    "ASC",
    "DESC",
    "TRUE",
    "FALSE",
    "BETWEEN",
    "LIKE",
    "ILIKE",
    "COPY",
    "TO",
    "VALUES",
    "SHOW",
    "UNNEST",
    "INSERT",
    "INTO",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
];

const COMMANDS: &[&str] = &[
    "\\?",
    "\\q",
    "\\d",
    "\\df",
    "\\h",
    "\\timing",
    "\\format",
    "\\i",
    "\\o",
    "\\echo",
    "\\plot km",
];

/// Names offered by completion, refreshed after every statement.
#[derive(Default)]
pub struct Names {
    pub tables: Vec<String>,
    pub columns: Vec<String>,
    pub functions: Vec<String>,
}

pub struct SurvqlHelper {
    pub names: Arc<Mutex<Names>>,
}

impl Helper for SurvqlHelper {}

impl Hinter for SurvqlHelper {
    type Hint = String;
}

impl Completer for SurvqlHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let Some(before) = line.get(..pos) else {
            return Ok((pos, vec![]));
        };
        let start = word_start(before);
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, vec![]));
        }
        let lower = word.to_lowercase();
        let mut out: Vec<Pair> = vec![];
        let mut push = |cand: &str, display: String| {
            if cand.to_lowercase().starts_with(&lower) && !out.iter().any(|p| p.replacement == cand)
            {
                out.push(Pair {
                    display,
                    replacement: cand.to_owned(),
                });
            }
        };
        if word.starts_with('\\') {
            for c in COMMANDS {
                push(c, (*c).to_owned());
            }
            return Ok((start, out));
        }
        if let Ok(names) = self.names.lock() {
            for f in &names.functions {
                push(f, format!("{f}()"));
            }
            for t in &names.tables {
                push(t, t.clone());
            }
            for c in &names.columns {
                push(c, c.clone());
            }
        }
        let upper_case = word.chars().next().is_some_and(char::is_uppercase);
        for k in KEYWORDS {
            let cand = if upper_case {
                (*k).to_owned()
            } else {
                k.to_lowercase()
            };
            push(&cand, cand.clone());
        }
        Ok((start, out))
    }
}

/// Byte offset where the word ending at the end of `before` starts: after the last character
/// that cannot be part of a name (which may be several bytes long, e.g. `≥` or a no-break
/// space).
fn word_start(before: &str) -> usize {
    before
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '\\'))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

impl Highlighter for SurvqlHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if line.trim_start().starts_with('\\') {
            return Cow::Owned(format!("\x1b[36m{line}\x1b[0m"));
        }
        let functions: Vec<String> = self
            .names
            .lock()
            .map(|n| n.functions.clone())
            .unwrap_or_default();
        let mut out = String::with_capacity(line.len() + 32);
        let mut chars = line.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                // String literal in green.
                let mut end = line.len();
                for (j, d) in chars.by_ref() {
                    if d == '\'' {
                        end = j + 1;
                        break;
                    }
                }
                out.push_str(&format!("\x1b[32m{}\x1b[0m", &line[i..end]));
            } else if c == '-' && chars.peek().map(|p| p.1) == Some('-') {
                out.push_str(&format!("\x1b[90m{}\x1b[0m", &line[i..]));
                break;
            } else if c.is_alphabetic() || c == '_' {
                let mut end = line.len();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' {
                        chars.next();
                    } else {
                        end = j;
                        break;
                    }
                }
                let word = &line[i..end];
                if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word)) {
                    out.push_str(&format!("\x1b[1;34m{word}\x1b[0m"));
                } else if functions.iter().any(|f| f.eq_ignore_ascii_case(word)) {
                    out.push_str(&format!("\x1b[35m{word}\x1b[0m"));
                } else {
                    out.push_str(word);
                }
            } else if c.is_ascii_digit() {
                let mut end = line.len();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_ascii_digit() || d == '.' {
                        chars.next();
                    } else {
                        end = j;
                        break;
                    }
                }
                out.push_str(&format!("\x1b[33m{}\x1b[0m", &line[i..end]));
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        true
    }
}

impl Validator for SurvqlHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        let trimmed = input.trim_start();
        if trimmed.starts_with('\\') && !trimmed.starts_with("\\plot") {
            return Ok(ValidationResult::Valid(None));
        }
        let (_, complete) = split(input);
        if complete {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

/// Refreshes the completion names from the session's catalog.
async fn refresh_names(app: &App, names: &Arc<Mutex<Names>>) {
    let mut tables = vec![];
    let mut columns = vec![];
    let ctx = &app.session.ctx;
    if let Ok(df) = ctx
        .sql("SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE table_schema <> 'information_schema'")
        .await
    {
        if let Ok(batches) = df.collect().await {
            for b in batches {
                let rows = crate::output::Rows::from_batches(&b.schema(), std::slice::from_ref(&b));
                for r in rows.rows {
                    let (s, t, c) = (r[0].full_text(), r[1].full_text(), r[2].full_text());
                    let name = if s == "public" { t } else { format!("{s}.{t}") };
                    if !tables.contains(&name) {
                        tables.push(name);
                    }
                    if !columns.contains(&c) {
                        columns.push(c);
                    }
                }
            }
        }
    }
    if let Ok(mut n) = names.lock() {
        n.tables = tables;
        n.columns = columns;
        n.functions = app.session.all_function_names();
    }
}

fn history_path() -> Option<std::path::PathBuf> {
    dirs::home_dir().map(|h| h.join(".survql_history"))
}

/// Runs the interactive shell until `\q` or Ctrl-D.
pub async fn run(app: &mut App) -> Result<()> {
    app.interactive = true;
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let names = Arc::new(Mutex::new(Names::default()));
    let mut rl: Editor<SurvqlHelper, rustyline::history::DefaultHistory> =
        Editor::with_config(config)
            .map_err(|e| datafusion::common::DataFusionError::External(Box::new(e)))?;
    rl.set_helper(Some(SurvqlHelper {
        names: Arc::clone(&names),
    }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    refresh_names(app, &names).await;
    if !app.quiet {
        eprintln!(
            "survql {} — survival analysis as SQL, with R survival's numbers.\n\
             demo.net_cohort (103 patients) is loaded; \\d lists tables, \\df survival functions, \\? help, \\q quits.",
            env!("CARGO_PKG_VERSION")
        );
    }
    loop {
        match rl.readline("survql> ") {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                let _ = rl.add_history_entry(line.as_str());
                if let Some(h) = &history {
                    let _ = rl.append_history(h);
                }
                match run_script(app, &line).await {
                    Ok(Flow::Quit) => break,
                    Ok(Flow::Continue) => {}
                    Err(e) => eprintln!("Error: {e}"),
                }
                refresh_names(app, &names).await;
            }
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C at the prompt abandons the line, it does not end the shell.
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("Error: {e}");
                break;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::history::DefaultHistory;

    fn helper() -> SurvqlHelper {
        SurvqlHelper {
            names: Arc::new(Mutex::new(Names {
                tables: vec!["demo.net_cohort".into(), "cohort".into()],
                columns: vec!["os_months".into(), "os_event".into()],
                functions: vec!["km_median".into(), "km_summary".into()],
            })),
        }
    }

    fn complete(line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let ctx = rustyline::Context::new(&history);
        let (start, pairs) = helper().complete(line, line.len(), &ctx).unwrap();
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn completes_functions_columns_tables_keywords_and_commands() {
        assert_eq!(complete("SELECT km_m"), (7, vec!["km_median".to_owned()]));
        assert_eq!(
            complete("SELECT km_"),
            (7, vec!["km_median".to_owned(), "km_summary".to_owned()])
        );
        assert_eq!(complete("SELECT os_e"), (7, vec!["os_event".to_owned()]));
        assert_eq!(
            complete("SELECT * FROM demo.n"),
            (14, vec!["demo.net_cohort".to_owned()])
        );
        // Keywords keep the case the user started with.
        assert_eq!(complete("sel"), (0, vec!["select".to_owned()]));
        assert_eq!(complete("SEL"), (0, vec!["SELECT".to_owned()]));
        assert_eq!(complete("\\ti"), (0, vec!["\\timing".to_owned()]));
        assert_eq!(complete("SELECT "), (7, vec![]));
    }

    /// Regression: the word start was found by byte arithmetic (`i + 1` after the delimiter),
    /// which panicked inside a multi-byte delimiter.
    #[test]
    fn completes_after_multibyte_delimiters() {
        for delim in ["≥", "\u{2019}", "\u{00a0}", "é ", "日本 "] {
            let line = format!("SELECT CASE WHEN age {delim}km_m");
            let (start, got) = complete(&line);
            assert_eq!(got, vec!["km_median".to_owned()], "after {delim:?}");
            assert_eq!(&line[start..], "km_m", "after {delim:?}");
        }
        // A cursor inside a multi-byte character (not a char boundary) completes nothing.
        let history = DefaultHistory::new();
        let ctx = rustyline::Context::new(&history);
        let line = "SELECT ≥";
        let (_, pairs) = helper().complete(line, line.len() - 1, &ctx).unwrap();
        assert!(pairs.is_empty());
        // A word made of non-ASCII letters is still one word.
        assert_eq!(complete("SELECT jünger").0, 7);
    }

    #[test]
    fn highlights_keywords_functions_strings_numbers_and_comments() {
        let h = helper();
        let out = h.highlight("SELECT km_median(t, 'x') -- note", 0);
        assert!(out.contains("\x1b[1;34mSELECT\x1b[0m"), "{out:?}");
        assert!(out.contains("\x1b[35mkm_median\x1b[0m"), "{out:?}");
        assert!(out.contains("\x1b[32m'x'\x1b[0m"), "{out:?}");
        assert!(out.contains("\x1b[90m-- note\x1b[0m"), "{out:?}");
        assert!(h.highlight("LIMIT 10", 0).contains("\x1b[33m10\x1b[0m"));
        // Identifiers with digits are not numbers; an unterminated string does not panic.
        assert_eq!(h.highlight("x1", 0), "x1");
        assert!(h.highlight("'open", 0).contains("'open"));
    }
}

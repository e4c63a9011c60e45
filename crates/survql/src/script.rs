//! Splitting input into SQL statements and backslash commands.
//!
//! SQL statements end with `;` (outside quotes and comments). A line whose first
//! non-blank character is `\` starts a backslash command that ends at the end of the line,
//! except `\plot`, whose query runs to the terminating `;` and may span lines.

/// One unit of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A SQL statement without its terminating `;`.
    Sql(String),
    /// A backslash command, without the leading `\`.
    Command(String),
}

/// Scanner state for quotes and comments.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Mode {
    #[default]
    Normal,
    Single,
    Double,
    LineComment,
    BlockComment,
}

/// Splits a script into items. Trailing text without `;` is returned as a final statement
/// (`complete` = false tells the REPL to ask for more).
pub fn split(text: &str) -> (Vec<Item>, bool) {
    let mut items = vec![];
    let mut buf = String::new();
    let mut mode = Mode::Normal;
    let mut chars = text.char_indices().peekable();
    let mut in_plot = false;
    while let Some((i, c)) = chars.next() {
        // A backslash command at the start of a statement.
        if mode == Mode::Normal && !in_plot && c == '\\' && is_blank_sql(&buf) {
            let rest = &text[i + 1..];
            let line_end = rest.find('\n').map_or(rest.len(), |n| n);
            let line = &rest[..line_end];
            if line.trim_start().starts_with("plot") {
                // \plot ... <query>;  -- continues to the `;`
                buf.clear();
                buf.push('\\');
                in_plot = true;
                continue;
            }
            items.push(Item::Command(line.trim().to_owned()));
            buf.clear();
            // Skip the rest of the line.
            for _ in 0..line.chars().count() {
                chars.next();
            }
            continue;
        }
        match mode {
            Mode::Normal => match c {
                '\'' => mode = Mode::Single,
                '"' => mode = Mode::Double,
                // In a \plot command `--option` is an option, not a comment.
                '-' if !in_plot && chars.peek().map(|p| p.1) == Some('-') => {
                    mode = Mode::LineComment
                }
                '/' if chars.peek().map(|p| p.1) == Some('*') => mode = Mode::BlockComment,
                ';' => {
                    let stmt = buf.trim().to_owned();
                    if in_plot {
                        items.push(Item::Command(stmt.trim_start_matches('\\').to_owned()));
                        in_plot = false;
                    } else if !is_blank_sql(&stmt) {
                        items.push(Item::Sql(stmt));
                    }
                    buf.clear();
                    continue;
                }
                _ => {}
            },
            Mode::Single => {
                if c == '\'' {
                    mode = Mode::Normal;
                }
            }
            Mode::Double => {
                if c == '"' {
                    mode = Mode::Normal;
                }
            }
            Mode::LineComment => {
                if c == '\n' {
                    mode = Mode::Normal;
                }
            }
            Mode::BlockComment => {
                if c == '*' && chars.peek().map(|p| p.1) == Some('/') {
                    buf.push(c);
                    let (_, slash) = chars.next().unwrap();
                    buf.push(slash);
                    mode = Mode::Normal;
                    continue;
                }
            }
        }
        buf.push(c);
    }
    let rest = buf.trim().to_owned();
    let complete = rest.is_empty() || is_blank_sql(&rest);
    if !complete {
        if in_plot {
            items.push(Item::Command(rest.trim_start_matches('\\').to_owned()));
        } else {
            items.push(Item::Sql(rest));
        }
    }
    (items, complete)
}

/// True when `sql` holds only comments and white space.
pub fn is_blank_sql(sql: &str) -> bool {
    let mut s = sql.trim();
    loop {
        if s.is_empty() {
            return true;
        }
        if let Some(r) = s.strip_prefix("--") {
            s = r.find('\n').map_or("", |n| &r[n..]).trim();
        } else if let Some(r) = s.strip_prefix("/*") {
            s = r.find("*/").map_or("", |n| &r[n + 2..]).trim();
        } else {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_and_commands() {
        let (items, complete) = split(
            "-- a comment; not a split\nSELECT 'a;b' AS x;\n\\echo Table 1: x; y\nSELECT 2\n;\n\\plot km -o f.svg --title \"A; B\" SELECT a,\n b, c FROM t;\n/* c; */",
        );
        assert!(complete);
        assert_eq!(
            items,
            vec![
                Item::Sql("-- a comment; not a split\nSELECT 'a;b' AS x".into()),
                Item::Command("echo Table 1: x; y".into()),
                Item::Sql("SELECT 2".into()),
                Item::Command("plot km -o f.svg --title \"A; B\" SELECT a,\n b, c FROM t".into()),
            ]
        );
    }

    #[test]
    fn incomplete_statement() {
        let (items, complete) = split("SELECT 1;\nSELECT\n  2");
        assert!(!complete);
        assert_eq!(items.len(), 2);
    }
}

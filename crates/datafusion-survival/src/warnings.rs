//! [`WarningSink`]: the side channel through which the survival functions report warnings
//! (rows skipped for NULLs, fits that did not converge) to whoever runs the query.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// Messages an aggregate wants a user to see but that must not fail the query: rows skipped
/// because of NULL arguments, Cox fits that did not converge, and the like.
///
/// The `survql` REPL drains it after every statement and prints the messages; an embedding
/// program gets one from [`crate::register_all_with_warnings`], or one per query from
/// [`crate::query_context`] (so that concurrent queries do not mix their warnings).
///
/// A sink holds at most [`WarningSink::MAX_MESSAGES`] distinct messages and as many
/// skipped-row counters; what does not fit is counted and reported as one last line, so a
/// long-running embedder that never drains it does not grow without bound.
#[derive(Clone, Default)]
pub struct WarningSink(Arc<Mutex<SinkState>>);

#[derive(Default)]
struct SinkState {
    messages: Vec<String>,
    /// Rows skipped for a NULL argument, per aggregate expression, in first-seen order.
    skipped: Vec<(String, u64)>,
    /// Messages (and skipped-row counters) that did not fit.
    dropped: u64,
}

impl WarningSink {
    /// Most distinct messages (and, separately, skipped-row counters) kept until drained.
    pub const MAX_MESSAGES: usize = 100;

    /// Records one message (a message already recorded is not repeated).
    pub fn push(&self, message: String) {
        if let Ok(mut s) = self.0.lock() {
            if !s.messages.contains(&message) {
                if s.messages.len() < Self::MAX_MESSAGES {
                    s.messages.push(message);
                } else {
                    s.dropped += 1;
                }
            }
        }
    }

    /// Counts rows that an aggregate skipped because an argument was NULL.
    pub fn add_skipped(&self, expression: &str, rows: u64) {
        if rows == 0 {
            return;
        }
        if let Ok(mut s) = self.0.lock() {
            let full = s.skipped.len() >= Self::MAX_MESSAGES;
            match s.skipped.iter_mut().find(|(e, _)| e == expression) {
                Some((_, n)) => *n += rows,
                None if full => s.dropped += 1,
                None => s.skipped.push((expression.to_owned(), rows)),
            }
        }
    }

    /// Takes every message recorded so far, the skipped-row counts first.
    pub fn drain(&self) -> Vec<String> {
        let Ok(mut s) = self.0.lock() else {
            return Vec::new();
        };
        let mut out: Vec<String> = std::mem::take(&mut s.skipped)
            .into_iter()
            .map(|(e, n)| format!("{e}: skipped {n} row(s) with a NULL argument"))
            .collect();
        out.append(&mut s.messages);
        let dropped = std::mem::take(&mut s.dropped);
        if dropped > 0 {
            out.push(format!("{dropped} more warning(s) not shown"));
        }
        out
    }
}

/// What a [`WarningSink`] holds, taken out to be moved to another process (a cluster worker
/// hands the warnings of the aggregates it evaluated to its coordinator).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WarningParts {
    /// Rows skipped for a NULL argument, per aggregate expression.
    pub skipped: Vec<(String, u64)>,
    pub messages: Vec<String>,
    /// Warnings that did not fit.
    pub dropped: u64,
}

impl WarningSink {
    /// Takes everything recorded so far, unformatted.
    pub fn take_parts(&self) -> WarningParts {
        let Ok(mut s) = self.0.lock() else {
            return WarningParts::default();
        };
        WarningParts {
            skipped: std::mem::take(&mut s.skipped),
            messages: std::mem::take(&mut s.messages),
            dropped: std::mem::take(&mut s.dropped),
        }
    }

    /// Records `parts` as if they had been recorded here: skipped rows add up per expression,
    /// a message already recorded is not repeated.
    pub fn absorb(&self, parts: WarningParts) {
        for (expression, rows) in parts.skipped {
            self.add_skipped(&expression, rows);
        }
        for message in parts.messages {
            self.push(message);
        }
        if parts.dropped > 0 {
            if let Ok(mut s) = self.0.lock() {
                s.dropped += parts.dropped;
            }
        }
    }
}

impl fmt::Debug for WarningSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WarningSink")
    }
}

/// Two functions are the same function whatever sink they report to.
impl PartialEq for WarningSink {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for WarningSink {}
impl Hash for WarningSink {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

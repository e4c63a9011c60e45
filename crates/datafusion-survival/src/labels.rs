//! Text labels of grouping values (groups, strata, table rows and columns): interning, and
//! ordering them as R orders factor levels.

use std::collections::HashMap;
use std::mem::size_of;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringViewArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, Result};

type FastHash = crate::input_columns::StateHasher;

/// Slots of the direct-mapped view cache.
const SLOTS: usize = 64;
/// A view value no string has (inline views have a length ≤ 12).
const EMPTY: u128 = u128::MAX;
/// Bytes per label besides its text: a `Box<str>` in `names`, an index entry (key box, id,
/// control byte, load-factor slack).
const NAME_ENTRY: usize = 16 + 2 * (16 + 4 + 1);
/// Bytes per entry of the inline table (view, id, control byte, slack).
const INLINE_ENTRY: usize = 2 * (16 + 4 + 1);

/// Interned text labels.
#[derive(Debug, Clone)]
pub(crate) struct Labels {
    /// Direct-mapped cache view -> id: one comparison per row, no search, no branch
    /// mispredictions on data in random order.
    cache: Box<[(u128, u32); SLOTS]>,
    index: HashMap<Box<str>, u32, FastHash>,
    /// Short labels (≤ 12 bytes) by their whole Utf8View view value, which holds the length
    /// and the bytes inline: interning them needs no string hashing or comparison.
    inline: HashMap<u128, u32, crate::input_columns::StateHasher>,
    /// Integer labels by value (see [`LabelValues`]), with their own direct-mapped cache:
    /// an integer's text is made once per distinct value, not once per row.
    ints: HashMap<i64, u32, crate::input_columns::StateHasher>,
    int_cache: Box<[(i64, u32); SLOTS]>,
    pub(crate) names: Vec<Box<str>>,
    /// Bytes held by the names, the index and the inline table, kept current as labels are
    /// added so that [`Labels::size`] is O(1).
    bytes: usize,
}

impl Default for Labels {
    fn default() -> Self {
        Labels {
            cache: Box::new([(EMPTY, 0); SLOTS]),
            index: HashMap::default(),
            inline: HashMap::default(),
            ints: HashMap::default(),
            // Slot k starts out holding a value whose slot is not k, so it never matches.
            int_cache: Box::new(std::array::from_fn(|k| (empty_int_slot(k), 0))),
            names: Vec::new(),
            bytes: size_of::<Self>() + SLOTS * (size_of::<(u128, u32)>() + size_of::<(i64, u32)>()),
        }
    }
}

#[inline]
fn slot(view: u128) -> usize {
    let h =
        ((view as u64) ^ ((view >> 64) as u64).rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 58) as usize
}

#[inline]
fn int_slot(v: i64) -> usize {
    ((v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize
}

/// A value whose cache slot is not `k` (so an empty slot k never matches a lookup).
fn empty_int_slot(k: usize) -> i64 {
    (0..).find(|&v| int_slot(v) != k).unwrap_or(0)
}

impl Labels {
    /// The id of the integer label `v` (the label's text is `v`'s decimal form, as
    /// `CAST(v AS VARCHAR)`).
    #[inline(always)]
    pub(crate) fn int_id(&mut self, v: i64) -> u32 {
        // Inlined per row: the cache hit; the rest is out of line.
        let (cached, id) = self.int_cache[int_slot(v)];
        if cached == v {
            return id;
        }
        self.int_id_uncached(v)
    }

    /// [`Self::int_id`] of a value not in the cache.
    #[inline(never)]
    fn int_id_uncached(&mut self, v: i64) -> u32 {
        let k = int_slot(v);
        let id = match self.ints.get(&v) {
            Some(&id) => id,
            None => {
                let id = self.id(&v.to_string());
                self.ints.insert(v, id);
                self.bytes += INLINE_ENTRY;
                id
            }
        };
        self.int_cache[k] = (v, id);
        id
    }

    /// The id of row `i` of a string-view column.
    #[inline(always)]
    pub(crate) fn id_at(&mut self, column: &StringViewArray, i: usize) -> u32 {
        // Inlined per row: the cache hit of a short label; the rest is out of line.
        let view = column.views()[i];
        if (view as u32) <= 12 {
            let (cached, id) = self.cache[slot(view)];
            if cached == view {
                return id;
            }
        }
        self.id_at_uncached(column, i)
    }

    /// [`Self::id_at`] of a row whose label is long or not in the cache.
    #[inline(never)]
    fn id_at_uncached(&mut self, column: &StringViewArray, i: usize) -> u32 {
        let view = column.views()[i];
        if (view as u32) <= 12 {
            let k = slot(view);
            let id = match self.inline.get(&view) {
                Some(&id) => id,
                None => {
                    let id = self.id(column.value(i));
                    self.inline.insert(view, id);
                    self.bytes += INLINE_ENTRY;
                    id
                }
            };
            self.cache[k] = (view, id);
            return id;
        }
        self.id(column.value(i))
    }

    #[inline]
    pub(crate) fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.into());
        self.index.insert(s.into(), i);
        // The name twice (list and index key) and an entry in each.
        self.bytes += 2 * s.len() + NAME_ENTRY;
        i
    }

    /// Number of distinct labels.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// Memory held, in bytes (O(1)).
    pub(crate) fn size(&self) -> usize {
        self.bytes
    }
}

/// Label ids sorted as R orders factor levels: numerically when every label parses as a
/// number (1, 2, 10), otherwise by bytes (LC_COLLATE=C; `false` < `true`).
pub(crate) fn sorted_label_order(names: &[Box<str>]) -> Vec<usize> {
    let mut ids: Vec<usize> = (0..names.len()).collect();
    let numbers: Option<Vec<f64>> = names.iter().map(|n| n.parse::<f64>().ok()).collect();
    match numbers {
        Some(v) => ids.sort_by(|&a, &b| v[a].total_cmp(&v[b])),
        None => ids.sort_by(|&a, &b| names[a].as_bytes().cmp(names[b].as_bytes())),
    }
    ids
}

/// A column of labels read row by row: integer columns by value ([`Labels::int_id`]: no text
/// per row), anything else as text ([`label_column`]). The labels are the same either way.
/// The arrays are held downcast, so reading a row is not a dynamic type check.
pub(crate) enum LabelValues {
    Text(StringViewArray),
    Int(Int64Array),
}

impl LabelValues {
    pub(crate) fn new(function: &str, arg: &str, array: &ArrayRef) -> Result<LabelValues> {
        Ok(match array.data_type() {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => LabelValues::Int(
                cast(array, &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .clone(),
            ),
            _ => LabelValues::Text(label_column(function, arg, array)?.as_string_view().clone()),
        })
    }

    /// The column (for its NULLs).
    pub(crate) fn array(&self) -> &dyn Array {
        match self {
            LabelValues::Text(a) => a,
            LabelValues::Int(a) => a,
        }
    }

    /// The label id of row `i` in `labels`.
    #[inline]
    pub(crate) fn id_at(&self, labels: &mut Labels, i: usize) -> u32 {
        match self {
            LabelValues::Text(a) => labels.id_at(a, i),
            LabelValues::Int(a) => labels.int_id(a.value(i)),
        }
    }
}

/// A column of labels as text (`CAST(x AS VARCHAR)` for non-string types), as a string
/// view array (the form DataFusion reads Parquet strings in; other strings are viewed
/// without copying their bytes).
pub(crate) fn label_column(function: &str, arg: &str, array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Utf8View => Ok(Arc::clone(array)),
        _ => match cast(array, &DataType::Utf8View) {
            Ok(a) => Ok(a),
            Err(_) => exec_err!(
                "{function}: argument '{arg}' must be a value with a text form, found {}",
                array.data_type()
            ),
        },
    }
}

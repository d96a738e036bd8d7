//! Parquet files, read with the `parquet` crate's column API (no Arrow).
//!
//! Supported leaf types: BOOLEAN, INT32/INT64 (signed, unsigned, DECIMAL as floats; dates and
//! timestamps as their raw integers), FLOAT/DOUBLE, BYTE_ARRAY text (STRING/UTF8, ENUM, JSON or
//! unannotated but valid UTF-8), and top-level LISTs of numbers (both the three-level layout
//! that pyarrow writes and the legacy two-level one). Nulls are missing values; a list with a
//! null element is a missing value as a whole. Columns of other types (INT96, fixed-length
//! byte arrays, binary data, nested structs and maps, lists of text) are left out, each with a
//! note in [`Table::notes`], so that a dataset with one exotic column still loads.

use std::fs::File;

use parquet::basic::{ConvertedType, LogicalType, Repetition, Type as Physical};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, DataType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::{ColumnDescriptor, Type};

use crate::error::DataError;
use crate::table::{Column, ColumnData, Table};

/// Records read per call to the column reader.
const BATCH: usize = 8192;

/// The most rows a column's storage is sized for before reading; it grows past that as needed.
const MAX_PREALLOCATED_ROWS: usize = 1 << 20;

/// How one leaf column maps to a table column.
enum Plan {
    /// A top-level scalar column: a value is present when its definition level is `max_def`.
    Flat { max_def: i16, kind: Kind },
    /// A top-level list of numbers.
    List {
        /// Definition level from which the list itself is not null.
        list_def: i16,
        /// Definition level from which the list has an element at this position.
        elem_def: i16,
        max_def: i16,
    },
}

/// How a scalar's physical values become column values.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Int,
    UnsignedInt,
    Decimal(i32),
    Float,
    Text,
    /// A BYTE_ARRAY without annotation: text when every value is UTF-8 (pandas and Spark write
    /// strings so), else binary data (pyarrow's `binary`), which is left out with a note.
    MaybeText,
}

/// How reading an unannotated BYTE_ARRAY column fails when it holds binary data.
const NOT_UTF8: &str = "holds bytes that are not valid UTF-8";

pub(crate) fn read(file: File, source: &str) -> Result<Table, DataError> {
    // The parquet crate checks what it decodes, but a panic on a corrupt file must still not
    // take the process down: turn it into an error.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_inner(file, source)))
        .unwrap_or_else(|_| {
            Err(DataError::new(
                source,
                "the Parquet reader failed on this file (it is probably corrupt)",
            ))
        })
}

fn read_inner(file: File, source: &str) -> Result<Table, DataError> {
    let file_len = file.metadata().map_or(u64::MAX, |m| m.len());
    let reader = SerializedFileReader::new(file)
        .map_err(|e| DataError::new(source, format!("not a readable Parquet file: {e}")))?;
    let metadata = reader.metadata();
    // The parquet crate asserts (panics) on negative chunk offsets: check them first.
    for group in metadata.row_groups() {
        for chunk in group.columns() {
            let start = chunk
                .dictionary_page_offset()
                .unwrap_or(chunk.data_page_offset());
            let len = chunk.compressed_size();
            let fits = u64::try_from(start)
                .ok()
                .zip(u64::try_from(len).ok())
                .and_then(|(s, l)| s.checked_add(l))
                .is_some_and(|end| end <= file_len);
            if !fits {
                return Err(DataError::new(
                    source,
                    format!(
                        "not a readable Parquet file: column chunk `{}` lies outside the file \
                         (the file is corrupt or truncated)",
                        chunk.column_path()
                    ),
                ));
            }
        }
    }
    let schema = metadata.file_metadata().schema_descr();
    // Only a hint for the first allocation: the footer's row count is not checked against the
    // data, and a corrupt one must not ask for terabytes (an allocation failure aborts).
    let total_rows = usize::try_from(metadata.file_metadata().num_rows())
        .unwrap_or(0)
        .min(MAX_PREALLOCATED_ROWS);

    let mut notes = Vec::new();
    // For each leaf column: its plan and the index of its table column, or `None` when left out.
    let mut leaves: Vec<Option<(Plan, usize)>> = Vec::with_capacity(schema.num_columns());
    let mut columns: Vec<Column> = Vec::new();
    let mut roots_seen: Vec<usize> = Vec::new();
    for i in 0..schema.num_columns() {
        let root_idx = schema.get_column_root_idx(i);
        let root = schema.get_column_root(i);
        let leaves_in_root = (0..schema.num_columns())
            .filter(|&j| schema.get_column_root_idx(j) == root_idx)
            .count();
        let descr = schema.column(i);
        let plan = if leaves_in_root > 1 {
            Err("is a nested struct or map, which is not supported".to_owned())
        } else {
            plan(root, &descr)
        };
        match plan {
            Ok(plan) => {
                let data = match &plan {
                    Plan::Flat { kind, .. } => match kind {
                        Kind::Bool => ColumnData::Bool(Vec::with_capacity(total_rows)),
                        Kind::Int | Kind::UnsignedInt => {
                            ColumnData::Int(Vec::with_capacity(total_rows))
                        }
                        Kind::Decimal(_) | Kind::Float => {
                            ColumnData::Float(Vec::with_capacity(total_rows))
                        }
                        Kind::Text | Kind::MaybeText => {
                            ColumnData::Str(Vec::with_capacity(total_rows))
                        }
                    },
                    Plan::List { .. } => ColumnData::List(Vec::with_capacity(total_rows)),
                };
                leaves.push(Some((plan, columns.len())));
                columns.push(Column::new(root.name(), data));
            }
            Err(why) => {
                if !roots_seen.contains(&root_idx) {
                    notes.push(format!("column `{}` {why}; left out", root.name()));
                }
                leaves.push(None);
            }
        }
        roots_seen.push(root_idx);
    }
    if columns.is_empty() {
        let mut message = "the file has no column of a supported type".to_owned();
        if !notes.is_empty() {
            message.push_str(&format!(" ({})", notes.join("; ")));
        }
        return Err(DataError::new(source, message));
    }

    // Table columns left out while reading (unannotated byte arrays that are not text).
    let mut dropped: Vec<usize> = Vec::new();
    for group in 0..reader.num_row_groups() {
        let row_group = reader.get_row_group(group).map_err(|e| {
            DataError::new(source, format!("failed to read row group {group}: {e}"))
        })?;
        for (leaf, entry) in leaves.iter().enumerate() {
            let Some((plan, index)) = entry else { continue };
            if dropped.contains(index) {
                continue;
            }
            let column = &mut columns[*index];
            let name = column.name.clone();
            let fail = |message: String| DataError::new(source, message).in_column(&name);
            let reader = row_group
                .get_column_reader(leaf)
                .map_err(|e| fail(format!("failed to read row group {group}: {e}")))?;
            match read_column(reader, plan, &mut column.data) {
                Ok(()) => {}
                Err(why)
                    if matches!(
                        plan,
                        Plan::Flat {
                            kind: Kind::MaybeText,
                            ..
                        }
                    ) && why.starts_with(NOT_UTF8) =>
                {
                    let at = why.strip_prefix(NOT_UTF8).unwrap_or_default().trim();
                    notes.push(format!(
                        "column `{name}` holds binary data (bytes that are not UTF-8 text, first \
                         at {}), which is not supported; left out",
                        at.trim_start_matches('(').trim_end_matches(')')
                    ));
                    column.data = ColumnData::Str(Vec::new());
                    dropped.push(*index);
                }
                Err(why) => return Err(fail(why)),
            }
        }
    }
    if !dropped.is_empty() {
        columns = columns
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !dropped.contains(i))
            .map(|(_, c)| c)
            .collect();
        if columns.is_empty() {
            return Err(DataError::new(
                source,
                format!(
                    "the file has no column of a supported type ({})",
                    notes.join("; ")
                ),
            ));
        }
    }

    let rows = columns[0].data.len();
    if let Some(bad) = columns.iter().find(|c| c.data.len() != rows) {
        return Err(DataError::new(
            source,
            format!(
                "has {} values, but column `{}` has {rows}; the file is corrupt",
                bad.data.len(),
                columns[0].name
            ),
        )
        .in_column(&bad.name));
    }
    if rows == 0 {
        return Err(DataError::new(source, "the file has no rows"));
    }
    let mut table = Table::new(source, columns)?;
    table.notes = notes;
    Ok(table)
}

/// How to read the leaf `descr` whose top-level field is `root`, or why it is left out.
fn plan(root: &Type, descr: &ColumnDescriptor) -> Result<Plan, String> {
    let physical = descr.physical_type();
    let parts = descr.path().parts();
    let is_list_group = root.is_group()
        && (matches!(
            root.get_basic_info().logical_type_ref(),
            Some(LogicalType::List)
        ) || root.get_basic_info().converted_type() == ConvertedType::LIST);
    let root_repeated = root.get_basic_info().has_repetition()
        && root.get_basic_info().repetition() == Repetition::REPEATED;
    if descr.max_rep_level() == 0 && parts.len() == 1 {
        let kind = scalar_kind(descr)?;
        return Ok(Plan::Flat {
            max_def: descr.max_def_level(),
            kind,
        });
    }
    if descr.max_rep_level() == 1 && (is_list_group || root_repeated) {
        if !matches!(
            physical,
            Physical::INT32 | Physical::INT64 | Physical::FLOAT | Physical::DOUBLE
        ) || matches!(
            descr.logical_type_ref(),
            Some(LogicalType::Decimal(_) | LogicalType::Date | LogicalType::Timestamp(_))
        ) {
            return Err("is a list of something other than numbers, which is not supported".into());
        }
        // Walk from the root to the leaf, counting definition levels; the list is not null
        // from the level just before its repeated node, and has an element from that node's.
        let mut def = 0;
        let mut list_def = None;
        let mut node = root;
        for (depth, part) in parts.iter().enumerate() {
            if depth > 0 {
                node = node
                    .get_fields()
                    .iter()
                    .find(|f| f.name() == part)
                    .ok_or("has an inconsistent schema")?;
            }
            let info = node.get_basic_info();
            if info.has_repetition() {
                match info.repetition() {
                    Repetition::OPTIONAL => def += 1,
                    Repetition::REPEATED => {
                        list_def = Some(def);
                        def += 1;
                    }
                    Repetition::REQUIRED => {}
                }
            }
        }
        let list_def = list_def.ok_or("has an inconsistent schema")?;
        return Ok(Plan::List {
            list_def,
            elem_def: list_def + 1,
            max_def: descr.max_def_level(),
        });
    }
    Err("is a nested struct or a nested list, which is not supported".into())
}

fn scalar_kind(descr: &ColumnDescriptor) -> Result<Kind, String> {
    let logical = descr.logical_type_ref();
    let converted = descr.converted_type();
    let unsigned = matches!(logical, Some(LogicalType::Integer(t)) if !t.is_signed)
        || matches!(
            converted,
            ConvertedType::UINT_8
                | ConvertedType::UINT_16
                | ConvertedType::UINT_32
                | ConvertedType::UINT_64
        );
    let decimal = match logical {
        Some(LogicalType::Decimal(d)) => Some(d.scale),
        _ if converted == ConvertedType::DECIMAL => Some(descr.type_scale()),
        _ => None,
    };
    match descr.physical_type() {
        Physical::BOOLEAN => Ok(Kind::Bool),
        Physical::INT32 | Physical::INT64 => Ok(match (decimal, unsigned) {
            (Some(scale), _) => Kind::Decimal(scale),
            (None, true) => Kind::UnsignedInt,
            (None, false) => Kind::Int,
        }),
        Physical::FLOAT | Physical::DOUBLE => Ok(Kind::Float),
        Physical::BYTE_ARRAY => match logical {
            Some(LogicalType::String | LogicalType::Enum | LogicalType::Json) => Ok(Kind::Text),
            None if matches!(
                converted,
                ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON
            ) =>
            {
                Ok(Kind::Text)
            }
            None if converted == ConvertedType::NONE => Ok(Kind::MaybeText),
            _ => Err("holds binary data, which is not supported".into()),
        },
        Physical::INT96 => Err("is an INT96 timestamp, which is not supported".into()),
        Physical::FIXED_LEN_BYTE_ARRAY => Err(
            "is a fixed-length byte array (decimal, float16, UUID), which is not supported".into(),
        ),
    }
}

/// Reads one column chunk and appends its values to `out` (whose type matches `plan`).
fn read_column(reader: ColumnReader, plan: &Plan, out: &mut ColumnData) -> Result<(), String> {
    match (plan, reader, out) {
        (
            Plan::Flat { max_def, .. },
            ColumnReader::BoolColumnReader(mut r),
            ColumnData::Bool(out),
        ) => read_flat(&mut r, *max_def, out, |v| Ok(*v)),
        (Plan::Flat { max_def, kind }, ColumnReader::Int32ColumnReader(mut r), data) => {
            match (kind, data) {
                (Kind::Int, ColumnData::Int(out)) => {
                    read_flat(&mut r, *max_def, out, |v| Ok(i64::from(*v)))
                }
                (Kind::UnsignedInt, ColumnData::Int(out)) =>
                {
                    #[expect(
                        clippy::cast_sign_loss,
                        reason = "an unsigned INT32 is stored as its bits"
                    )]
                    read_flat(&mut r, *max_def, out, |v| Ok(i64::from(*v as u32)))
                }
                (Kind::Decimal(scale), ColumnData::Float(out)) => {
                    let factor = 10f64.powi(-*scale);
                    read_flat(&mut r, *max_def, out, |v| Ok(f64::from(*v) * factor))
                }
                _ => Err("internal error: unexpected INT32 column type".into()),
            }
        }
        (Plan::Flat { max_def, kind }, ColumnReader::Int64ColumnReader(mut r), data) => {
            match (kind, data) {
                (Kind::Int, ColumnData::Int(out)) => read_flat(&mut r, *max_def, out, |v| Ok(*v)),
                (Kind::UnsignedInt, ColumnData::Int(out)) => {
                    read_flat(&mut r, *max_def, out, |v| {
                        if *v < 0 {
                            Err(format!(
                                "unsigned value {} does not fit a 64-bit signed integer",
                                v.cast_unsigned()
                            ))
                        } else {
                            Ok(*v)
                        }
                    })
                }
                (Kind::Decimal(scale), ColumnData::Float(out)) => {
                    let factor = 10f64.powi(-*scale);
                    #[expect(clippy::cast_precision_loss, reason = "decimals are read as floats")]
                    read_flat(&mut r, *max_def, out, |v| Ok(*v as f64 * factor))
                }
                _ => Err("internal error: unexpected INT64 column type".into()),
            }
        }
        (
            Plan::Flat { max_def, .. },
            ColumnReader::FloatColumnReader(mut r),
            ColumnData::Float(out),
        ) => read_flat(&mut r, *max_def, out, |v| Ok(f64::from(*v))),
        (
            Plan::Flat { max_def, .. },
            ColumnReader::DoubleColumnReader(mut r),
            ColumnData::Float(out),
        ) => read_flat(&mut r, *max_def, out, |v| Ok(*v)),
        (
            Plan::Flat { max_def, kind },
            ColumnReader::ByteArrayColumnReader(mut r),
            ColumnData::Str(out),
        ) => {
            let why = if matches!(kind, Kind::MaybeText) {
                NOT_UTF8
            } else {
                "holds text that is not valid UTF-8"
            };
            read_flat(&mut r, *max_def, out, |v: &ByteArray| {
                std::str::from_utf8(v.data())
                    .map(str::to_owned)
                    .map_err(|_| why.to_owned())
            })
        }
        (
            Plan::List {
                list_def,
                elem_def,
                max_def,
            },
            reader,
            ColumnData::List(out),
        ) => {
            let levels = Levels {
                list_def: *list_def,
                elem_def: *elem_def,
                max_def: *max_def,
            };
            match reader {
                ColumnReader::Int32ColumnReader(mut r) => {
                    read_list(&mut r, levels, out, |v| f64::from(*v))
                }
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "list elements are read as floats"
                )]
                ColumnReader::Int64ColumnReader(mut r) => {
                    read_list(&mut r, levels, out, |v| *v as f64)
                }
                ColumnReader::FloatColumnReader(mut r) => {
                    read_list(&mut r, levels, out, |v| f64::from(*v))
                }
                ColumnReader::DoubleColumnReader(mut r) => read_list(&mut r, levels, out, |v| *v),
                _ => Err("internal error: unexpected list element type".into()),
            }
        }
        _ => Err("internal error: unexpected column type".into()),
    }
}

/// Appends the values of a top-level scalar column, `None` where the value is null.
fn read_flat<T: DataType, V>(
    reader: &mut ColumnReaderImpl<T>,
    max_def: i16,
    out: &mut Vec<Option<V>>,
    convert: impl Fn(&T::T) -> Result<V, String>,
) -> Result<(), String> {
    let mut values: Vec<T::T> = Vec::with_capacity(BATCH);
    let mut defs: Vec<i16> = Vec::with_capacity(BATCH);
    loop {
        values.clear();
        defs.clear();
        let (records, _, _) = reader
            .read_records(BATCH, Some(&mut defs), None, &mut values)
            .map_err(|e| format!("failed to decode: {e}"))?;
        if records == 0 {
            return Ok(());
        }
        if max_def == 0 {
            for v in &values {
                let converted = convert(v).map_err(|e| format!("{e} (row index {})", out.len()))?;
                out.push(Some(converted));
            }
        } else {
            let mut next = values.iter();
            for &d in &defs {
                if d == max_def {
                    let v = next
                        .next()
                        .ok_or("the file is corrupt: fewer values than levels")?;
                    let converted =
                        convert(v).map_err(|e| format!("{e} (row index {})", out.len()))?;
                    out.push(Some(converted));
                } else {
                    out.push(None);
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Levels {
    list_def: i16,
    elem_def: i16,
    max_def: i16,
}

/// Appends the values of a top-level list column: `None` for a null list or a list with a
/// null element.
fn read_list<T: DataType>(
    reader: &mut ColumnReaderImpl<T>,
    levels: Levels,
    out: &mut Vec<Option<Vec<f64>>>,
    convert: impl Fn(&T::T) -> f64,
) -> Result<(), String> {
    let mut values: Vec<T::T> = Vec::with_capacity(BATCH);
    let mut defs: Vec<i16> = Vec::with_capacity(BATCH);
    let mut reps: Vec<i16> = Vec::with_capacity(BATCH);
    loop {
        values.clear();
        defs.clear();
        reps.clear();
        let (records, _, n_levels) = reader
            .read_records(BATCH, Some(&mut defs), Some(&mut reps), &mut values)
            .map_err(|e| format!("failed to decode: {e}"))?;
        if records == 0 {
            return Ok(());
        }
        let mut next = values.iter();
        // The list being filled: `Some(Some(list))`, `Some(None)` for a null one.
        let mut current: Option<Option<Vec<f64>>> = None;
        for k in 0..n_levels.min(defs.len()).min(reps.len()) {
            let (d, r) = (defs[k], reps[k]);
            if r == 0 {
                if let Some(done) = current.take() {
                    out.push(done);
                }
                current = Some((d >= levels.list_def).then(Vec::new));
            }
            if d >= levels.elem_def {
                let value = if d == levels.max_def {
                    Some(convert(
                        next.next()
                            .ok_or("the file is corrupt: fewer values than levels")?,
                    ))
                } else {
                    None
                };
                match (&mut current, value) {
                    (Some(Some(list)), Some(v)) => list.push(v),
                    (Some(slot), None) => *slot = None,
                    _ => {}
                }
            }
        }
        if let Some(done) = current.take() {
            out.push(done);
        }
    }
}

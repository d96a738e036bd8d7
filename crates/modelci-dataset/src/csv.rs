//! CSV (and TSV) files: a header row, then one row per line (quoted fields may span lines).

use std::fs::File;
use std::io::BufReader;

use crate::builder::ColumnBuilder;
use crate::error::{DataError, line_u32};
use crate::table::Table;

pub(crate) fn read(file: File, source: &str, delimiter: u8) -> Result<Table, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 16)
        .from_reader(BufReader::with_capacity(1 << 16, file));

    let header = reader
        .byte_headers()
        .map_err(|e| csv_error(source, &e))?
        .clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(DataError::new(
            source,
            "the file is empty: a header row naming the columns is required",
        )
        .at_line(Some(1)));
    }
    let mut names = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let name = std::str::from_utf8(raw)
            .map_err(|e| not_utf8(source, 1, i, e))?
            .trim();
        let name = if name.is_empty() {
            // What pandas calls a column without a header, e.g. the index `to_csv` writes.
            format!("Unnamed: {i}")
        } else {
            name.to_owned()
        };
        if names.contains(&name) {
            return Err(DataError::new(source, "the header names this column twice")
                .at_line(Some(1))
                .in_column(name));
        }
        names.push(name);
    }
    if names
        .iter()
        .all(|n| n.parse::<f64>().is_ok_and(f64::is_finite))
        && names.iter().any(|n| n.parse::<i64>().is_err())
    {
        return Err(DataError::new(
            source,
            format!(
                "the first row looks like data (`{}`), but a header row naming the columns is \
                 required",
                names.join(",")
            ),
        )
        .at_line(Some(1)));
    }

    let mut builders: Vec<ColumnBuilder> = names
        .into_iter()
        .map(|n| ColumnBuilder::new(n, 0))
        .collect();
    let mut row_lines = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(source, &e)),
        }
        let line = line_u32(record.position().map_or(0, csv::Position::line));
        for (i, (field, builder)) in record.iter().zip(&mut builders).enumerate() {
            let text = std::str::from_utf8(field).map_err(|e| not_utf8(source, line, i, e))?;
            builder.push_text(text, line);
        }
        row_lines.push(line);
    }
    if row_lines.is_empty() {
        return Err(DataError::new(
            source,
            "the file has a header but no data rows",
        ));
    }
    let columns: Vec<_> = builders.into_iter().map(ColumnBuilder::finish).collect();
    let mut table = Table::new(source, columns)?;
    table.row_lines = row_lines;
    Ok(table)
}

fn not_utf8(source: &str, line: u32, field: usize, e: std::str::Utf8Error) -> DataError {
    DataError::new(
        source,
        format!(
            "field {} is not valid UTF-8 (bad byte at offset {}); save the file as UTF-8",
            field + 1,
            e.valid_up_to()
        ),
    )
    .at_line(Some(line))
}

fn csv_error(source: &str, e: &csv::Error) -> DataError {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => DataError::new(
            source,
            format!("this row has {len} fields, but the header has {expected_len}"),
        )
        .at_line(pos.as_ref().map(|p| line_u32(p.line()))),
        csv::ErrorKind::Utf8 { pos, err } => DataError::new(
            source,
            format!(
                "field {} is not valid UTF-8; save the file as UTF-8",
                err.field() + 1
            ),
        )
        .at_line(pos.as_ref().map(|p| line_u32(p.line()))),
        csv::ErrorKind::Io(io) => DataError::new(source, format!("failed to read the file: {io}")),
        _ => DataError::new(source, format!("failed to read the CSV: {e}")),
    }
}

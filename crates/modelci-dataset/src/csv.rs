//! CSV (and TSV) files: a header row, then one row per line (quoted fields may span lines).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::rc::Rc;

use crate::builder::ColumnBuilder;
use crate::error::{DataError, line_u32};
use crate::table::Table;

pub(crate) fn read(file: File, source: &str, delimiter: u8) -> Result<Table, DataError> {
    let breaks = Rc::new(RefCell::new(Breaks::default()));
    let mut lines = Lines {
        breaks: Rc::clone(&breaks),
        line: 1,
        last_cr: None,
    };
    // The csv reader buffers 64 KiB of the file itself.
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 16)
        .from_reader(Tracked {
            inner: file,
            breaks,
        });

    let header = reader
        .byte_headers()
        .map_err(|e| csv_error(source, &e, &mut lines))?
        .clone();
    let header_line = lines.line_at(header.position().map_or(0, csv::Position::byte));
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
            .map_err(|e| not_utf8(source, header_line, i, e))?
            .trim();
        let name = if name.is_empty() {
            // What pandas calls a column without a header, e.g. the index `to_csv` writes.
            format!("Unnamed: {i}")
        } else {
            name.to_owned()
        };
        if names.contains(&name) {
            return Err(DataError::new(source, "the header names this column twice")
                .at_line(Some(header_line))
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
        .at_line(Some(header_line)));
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
            Err(e) => return Err(csv_error(source, &e, &mut lines)),
        }
        let line = lines.line_at(record.position().map_or(0, csv::Position::byte));
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

fn csv_error(source: &str, e: &csv::Error, lines: &mut Lines) -> DataError {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => DataError::new(
            source,
            format!("this row has {len} fields, but the header has {expected_len}"),
        )
        .at_line(pos.as_ref().map(|p| lines.line_at(p.byte()))),
        csv::ErrorKind::Utf8 { pos, err } => DataError::new(
            source,
            format!(
                "field {} is not valid UTF-8; save the file as UTF-8",
                err.field() + 1
            ),
        )
        .at_line(pos.as_ref().map(|p| lines.line_at(p.byte()))),
        csv::ErrorKind::Io(io) => DataError::new(source, format!("failed to read the file: {io}")),
        _ => DataError::new(source, format!("failed to read the CSV: {e}")),
    }
}

/// The line breaks (`\r`, `\n`) read from the file ahead of the last record asked about, as
/// (offset, byte). The csv reader's own line count is not used: it counts `\n` only, and
/// gives a record the position where the previous one ended, before the `\n` of a `\r\n`
/// and before any blank lines it skips, so it is off in files with CRLF or CR line endings or
/// blank lines.
#[derive(Default)]
struct Breaks {
    pending: VecDeque<(u64, u8)>,
    /// Bytes read so far.
    read: u64,
}

/// The file, noting where its line breaks are as the csv reader reads it.
struct Tracked<R> {
    inner: R,
    breaks: Rc<RefCell<Breaks>>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut breaks = self.breaks.borrow_mut();
        let start = breaks.read;
        for (i, &byte) in (0_u64..).zip(buf.get(..n).unwrap_or_default()) {
            if byte == b'\n' || byte == b'\r' {
                breaks.pending.push_back((start + i, byte));
            }
        }
        breaks.read = start.saturating_add(n as u64);
        Ok(n)
    }
}

/// Turns record positions (byte offsets, in increasing order) into 1-based line numbers,
/// counting `\n`, `\r\n` and a lone `\r` as one line break each.
struct Lines {
    breaks: Rc<RefCell<Breaks>>,
    /// The line after the breaks passed so far.
    line: u64,
    /// The offset of the last `\r` passed, to count a `\r\n` once.
    last_cr: Option<u64>,
}

impl Lines {
    /// The line of the record whose position is `offset`: the line of its first byte that is
    /// not a line break (the reader skips blank lines, and the `\n` of a `\r\n`, before a
    /// record).
    fn line_at(&mut self, offset: u64) -> u32 {
        let mut breaks = self.breaks.borrow_mut();
        let mut start = offset;
        while let Some(&(at, byte)) = breaks.pending.front() {
            if at > start {
                break;
            }
            if at == start {
                start += 1;
            }
            if byte == b'\r' {
                self.line += 1;
                self.last_cr = Some(at);
            } else if self.last_cr.is_none_or(|cr| cr + 1 != at) {
                self.line += 1;
            }
            breaks.pending.pop_front();
        }
        line_u32(self.line)
    }
}

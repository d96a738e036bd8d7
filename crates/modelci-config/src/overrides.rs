//! `--set KEY=VALUE`: a key of the configuration set or replaced from the command line before
//! the configuration is checked, so an override goes through the same checks as the file.
//!
//! `KEY` is a dotted path. `suite.NAME.KEY...` is a key of the suite named `NAME` (whatever its
//! kind); any other path starts at the top of the document (`service.url`, `report.json`,
//! `project.name`, `service.env.TOKEN`). A part may be double-quoted (`service.env."A.B"`).
//! `VALUE` is read as a TOML value when it is one (`10`, `true`, `["a", "b"]`, `{ k = 1 }`,
//! `"quoted"`), else taken as a string as it is.
//!
//! An override's values carry a span past the end of the file's text (one place per override),
//! so a problem found in them is reported as `--set KEY: ...` instead of a file line.

use std::borrow::Cow;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use crate::error::ConfigError;

/// An override that was applied: what the user wrote before `=`, and the line its table starts
/// on in the file (for locations that need a line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Applied {
    pub key: String,
    pub line: u32,
    /// The bytes of the file's table the override sets a key of (empty when the override
    /// made the table).
    pub table: Range<usize>,
    /// The last part of the key.
    pub last: String,
}

impl Applied {
    /// Whether a problem reported at byte `offset` of the file with `message` is about this
    /// override's value. Keys whose values carry no span of their own (numbers such as
    /// `timeout_secs`) are reported at their table, naming the key.
    pub fn claims(&self, offset: usize, message: &str) -> bool {
        self.table.contains(&offset)
            && (message.contains(&format!("`{}`", self.last))
                || message.contains(&format!(".{}`", self.last)))
    }
}

/// The span given to the values of override `index` of a text of `len` bytes.
pub(crate) fn span(len: usize, index: usize) -> Range<usize> {
    let at = len + 1 + index;
    at..at + 1
}

/// Applies `sets` (each `KEY=VALUE`) to `root`, the document parsed from `text`.
///
/// # Errors
/// [`ConfigError::Override`] for a malformed override, a suite name that no suite has, or a
/// path through something that is not a table.
pub(crate) fn apply<'a>(
    root: &mut DeTable<'a>,
    text: &str,
    sets: &'a [String],
) -> Result<Vec<Applied>, ConfigError> {
    let mut applied = Vec::with_capacity(sets.len());
    for (index, set) in sets.iter().enumerate() {
        let Some((key, value)) = set.split_once('=') else {
            return Err(ConfigError::Override {
                key: set.clone(),
                message: "expected KEY=VALUE, e.g. `--set suite.NAME.timeout_secs=10` or `--set service.url=http://127.0.0.1:8080`".into(),
            });
        };
        let key = key.trim();
        let fail = |message: String| ConfigError::Override {
            key: key.to_owned(),
            message,
        };
        let path = split_path(key).map_err(&fail)?;
        let vspan = span(text.len(), index);
        let value = parse_value(value, &vspan);
        let (line, table) = set_path(root, text, &path, value, &vspan).map_err(&fail)?;
        applied.push(Applied {
            key: key.to_owned(),
            line,
            table,
            last: path.last().cloned().unwrap_or_default(),
        });
    }
    Ok(applied)
}

/// `VALUE` as a TOML value when it is one, else as a string.
fn parse_value<'a>(value: &'a str, vspan: &Range<usize>) -> Spanned<DeValue<'a>> {
    match DeValue::parse(value.trim()) {
        Ok(parsed) if !value.trim().is_empty() => respan(parsed, vspan),
        _ => Spanned::new(vspan.clone(), DeValue::String(Cow::Borrowed(value))),
    }
}

/// `value` with every span (its own, and those of its items and keys) replaced by `vspan`.
fn respan<'a>(value: Spanned<DeValue<'a>>, vspan: &Range<usize>) -> Spanned<DeValue<'a>> {
    let inner = match value.into_inner() {
        DeValue::Array(items) => DeValue::Array(
            items
                .into_iter()
                .map(|item| respan(item, vspan))
                .collect::<DeArray<'a>>(),
        ),
        DeValue::Table(table) => {
            let mut out = DeTable::new();
            for (key, item) in table {
                out.insert(
                    Spanned::new(vspan.clone(), key.into_inner()),
                    respan(item, vspan),
                );
            }
            DeValue::Table(out)
        }
        other => other,
    };
    Spanned::new(vspan.clone(), inner)
}

/// The parts of a dotted key; a part is bare (letters, digits, `_`, `-`) or double-quoted.
fn split_path(key: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut rest = key;
    loop {
        let (part, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| "a quoted part of the key is not closed by `\"`".to_owned())?;
            (quoted[..end].to_owned(), &quoted[end + 1..])
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let part = &rest[..end];
            if let Some(c) = part
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-')))
            {
                return Err(format!(
                    "the key has the character {c:?}; write keys as `a.b.c`, with parts of letters, digits, `_` and `-` (or double-quoted)"
                ));
            }
            (part.to_owned(), &rest[end..])
        };
        if part.is_empty() {
            return Err("the key has an empty part; write keys as `a.b.c`".into());
        }
        parts.push(part);
        if after.is_empty() {
            return Ok(parts);
        }
        rest = after
            .strip_prefix('.')
            .ok_or_else(|| "a quoted part of the key must be followed by `.` or `=`".to_owned())?;
    }
}

/// The bytes of the file a value spans, its items and keys included.
fn extent(value: &Spanned<DeValue<'_>>, len: usize) -> Range<usize> {
    let mut range = value.span();
    if range.start > len {
        return 0..0;
    }
    let mut grow = |r: Range<usize>| {
        if r.start <= len {
            range.start = range.start.min(r.start);
            range.end = range.end.max(r.end.min(len));
        }
    };
    match value.get_ref() {
        DeValue::Table(t) => {
            for (k, v) in t {
                grow(k.span());
                grow(extent(v, len));
            }
        }
        DeValue::Array(a) => {
            for v in a.iter() {
                grow(extent(v, len));
            }
        }
        _ => {}
    }
    range
}

/// Sets `path` to `value` in `root`; returns the line of the table the path starts in, and the
/// bytes of the file that table spans.
fn set_path<'a>(
    root: &mut DeTable<'a>,
    text: &str,
    path: &[String],
    value: Spanned<DeValue<'a>>,
    vspan: &Range<usize>,
) -> Result<(u32, Range<usize>), String> {
    let line_of = |span: Range<usize>| {
        if span.start > text.len() {
            1
        } else {
            modelci_report::line_col(text, span.start).0
        }
    };
    if path.first().map(String::as_str) == Some("suite") && path.len() >= 2 {
        let (kind, index, name_parts) = find_suite(root, path)?;
        let rest = &path[1 + name_parts..];
        let table = root
            .get_mut("suite")
            .and_then(|s| as_table_mut(s.get_mut()))
            .and_then(|s| s.get_mut(kind.as_str()))
            .and_then(|k| match k.get_mut() {
                DeValue::Array(a) => a.get_mut(index),
                _ => None,
            })
            .ok_or_else(|| "the suite could not be found again".to_owned())?;
        let line = line_of(table.span());
        let bytes = extent(table, text.len());
        let table =
            as_table_mut(table.get_mut()).ok_or_else(|| "the suite is not a table".to_owned())?;
        insert(table, rest, value, vspan, &path[..=name_parts])?;
        return Ok((line, bytes));
    }
    let (line, bytes) = path
        .first()
        .and_then(|first| root.get(first.as_str()))
        .filter(|_| path.len() > 1)
        .map_or((1, 0..0), |t| (line_of(t.span()), extent(t, text.len())));
    insert(root, path, value, vspan, &[])?;
    Ok((line, bytes))
}

/// The kind, index within its kind and number of key parts of the suite `path` names
/// (`suite.NAME...`, where NAME may hold dots).
fn find_suite(root: &DeTable<'_>, path: &[String]) -> Result<(String, usize, usize), String> {
    // (kind, index, name, offset in the file)
    let mut suites: Vec<(String, usize, String, usize)> = Vec::new();
    if let Some(DeValue::Table(kinds)) = root.get("suite").map(Spanned::get_ref) {
        for (kind, tables) in kinds {
            if let DeValue::Array(tables) = tables.get_ref() {
                for (i, t) in tables.iter().enumerate() {
                    if let Some(name) = t
                        .get_ref()
                        .as_table()
                        .and_then(|t| t.get("name"))
                        .and_then(|n| n.get_ref().as_str())
                    {
                        suites.push((
                            kind.get_ref().to_string(),
                            i,
                            name.to_owned(),
                            t.span().start,
                        ));
                    }
                }
            }
        }
    }
    suites.sort_by_key(|s| s.3);
    // The longest name that matches, leaving at least one part for the key.
    for parts in (1..path.len() - 1).rev() {
        let candidate = path[1..=parts].join(".");
        if let Some((kind, i, _, _)) = suites.iter().find(|(_, _, n, _)| *n == candidate) {
            return Ok((kind.clone(), *i, parts));
        }
    }
    let wanted = &path[1];
    if path.len() == 2 && suites.iter().any(|(_, _, n, _)| n == wanted) {
        return Err(format!(
            "names the suite `{wanted}` but no key of it: write `--set suite.{wanted}.KEY=VALUE`"
        ));
    }
    let names: Vec<&str> = suites.iter().map(|(_, _, n, _)| n.as_str()).collect();
    let mut message = format!("no suite is named `{wanted}`");
    if let Some(best) = crate::suggest(wanted, &names) {
        message.push_str(&format!("; did you mean `{best}`?"));
    } else if names.is_empty() {
        message.push_str(" (the configuration declares no suites)");
    } else {
        let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        message.push_str(&format!("; the suites are {}", list.join(", ")));
    }
    Err(message)
}

fn as_table_mut<'t, 'a>(value: &'t mut DeValue<'a>) -> Option<&'t mut DeTable<'a>> {
    match value {
        DeValue::Table(t) => Some(t),
        _ => None,
    }
}

/// Sets `path` (relative to `table`, whose own path is `above`) to `value`, creating the tables
/// on the way.
fn insert<'a>(
    table: &mut DeTable<'a>,
    path: &[String],
    value: Spanned<DeValue<'a>>,
    vspan: &Range<usize>,
    above: &[String],
) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("the key is empty".into());
    };
    let mut table = table;
    let mut walked: Vec<&str> = above.iter().map(String::as_str).collect();
    for part in parents {
        walked.push(part);
        if !table.contains_key(part.as_str()) {
            table.insert(
                Spanned::new(vspan.clone(), Cow::Owned(part.clone())),
                Spanned::new(vspan.clone(), DeValue::Table(DeTable::new())),
            );
        }
        let next = table
            .get_mut(part.as_str())
            .map(Spanned::get_mut)
            .ok_or_else(|| "the key could not be set".to_owned())?;
        table = match next {
            DeValue::Table(t) => t,
            DeValue::Array(_) => {
                return Err(format!(
                    "`{}` is an array; --set reaches a suite as `suite.NAME.KEY`, and sets an array whole",
                    walked.join(".")
                ));
            }
            other => {
                return Err(format!(
                    "`{}` is a {}, not a table",
                    walked.join("."),
                    other.type_str()
                ));
            }
        };
    }
    table.insert(Spanned::new(vspan.clone(), Cow::Owned(last.clone())), value);
    Ok(())
}

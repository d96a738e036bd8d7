//! Type inference for the text formats (CSV, JSON Lines): a column starts untyped and settles
//! on the narrowest type that holds every value seen so far.
//!
//! Rules: ints and floats mixed give floats; text mixed with anything else, booleans mixed
//! with numbers, and lists mixed with scalars give text (each value's text form: `1`, `2.5`,
//! `true`, `[0.1, 0.9]`), with a note naming the first value that forced it; a column with no
//! value at all is a float column of missing values.

use std::borrow::Cow;

use crate::table::{Column, ColumnData};

/// Texts that other tools write for a missing value; only an empty field is one here, but a
/// note names the mistake.
const MISSING_MARKERS: &[&str] = &["NA", "N/A", "n/a", "#N/A", "null", "NULL", "None", "nil"];

/// One value as a reader found it.
pub(crate) enum Cell<'a> {
    Missing,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(Cow<'a, str>),
    List(Vec<f64>),
    /// JSON that is neither a scalar nor a list of numbers (an object, a list of strings): kept
    /// as its JSON text.
    Json(String),
}

enum Data {
    /// No value yet, only this many missing ones.
    Pending(usize),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Str(Vec<Option<String>>),
    List(Vec<Option<Vec<f64>>>),
}

pub(crate) struct ColumnBuilder {
    name: String,
    data: Data,
    note: Option<String>,
}

impl ColumnBuilder {
    /// A column whose first `missing` rows have no value (a JSON key that appears late).
    pub(crate) fn new(name: String, missing: usize) -> Self {
        Self {
            name,
            data: Data::Pending(missing),
            note: None,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn len(&self) -> usize {
        match &self.data {
            Data::Pending(n) => *n,
            Data::Int(v) => v.len(),
            Data::Float(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::Str(v) => v.len(),
            Data::List(v) => v.len(),
        }
    }

    /// Adds a CSV field: empty (or blank) is missing, then an integer, a float, `true`/`false`
    /// (any case), else text. Parses only as far as the column's current type needs.
    pub(crate) fn push_text(&mut self, text: &str, line: u32) {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            self.push(Cell::Missing, line);
            return;
        }
        match &mut self.data {
            Data::Str(v) => v.push(Some(text.to_owned())),
            Data::Float(v) => match trimmed.parse::<f64>() {
                Ok(x) => v.push(Some(x)),
                Err(_) => self.push(classify(text, trimmed), line),
            },
            _ => self.push(classify(text, trimmed), line),
        }
    }

    /// Adds one value, changing the column's type when the value needs it.
    pub(crate) fn push(&mut self, cell: Cell<'_>, line: u32) {
        match (&mut self.data, cell) {
            (Data::Pending(n), Cell::Missing) => *n += 1,
            (Data::Pending(n), cell) => {
                let n = *n;
                self.data = match cell {
                    Cell::Int(x) => Data::Int(with_first(n, x)),
                    Cell::Float(x) => Data::Float(with_first(n, x)),
                    Cell::Bool(x) => Data::Bool(with_first(n, x)),
                    Cell::Str(x) => Data::Str(with_first(n, x.into_owned())),
                    Cell::List(x) => Data::List(with_first(n, x)),
                    Cell::Json(x) => {
                        self.note = Some(format!(
                            "holds JSON that is not a number, text, boolean or list of numbers \
                             (first at line {line}); read as text"
                        ));
                        Data::Str(with_first(n, x))
                    }
                    Cell::Missing => Data::Pending(n + 1),
                };
            }
            (Data::Int(v), Cell::Missing) => v.push(None),
            (Data::Float(v), Cell::Missing) => v.push(None),
            (Data::Bool(v), Cell::Missing) => v.push(None),
            (Data::Str(v), Cell::Missing) => v.push(None),
            (Data::List(v), Cell::Missing) => v.push(None),
            (Data::Int(v), Cell::Int(x)) => v.push(Some(x)),
            (Data::Float(v), Cell::Float(x)) => v.push(Some(x)),
            #[expect(
                clippy::cast_precision_loss,
                reason = "ints mixed with floats become floats"
            )]
            (Data::Float(v), Cell::Int(x)) => v.push(Some(x as f64)),
            (Data::Int(v), Cell::Float(x)) => {
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "ints mixed with floats become floats"
                )]
                let mut floats: Vec<Option<f64>> = v.iter().map(|i| i.map(|i| i as f64)).collect();
                floats.push(Some(x));
                self.data = Data::Float(floats);
            }
            (Data::Bool(v), Cell::Bool(x)) => v.push(Some(x)),
            (Data::Str(v), cell) => v.push(Some(cell_text(cell))),
            (Data::List(v), Cell::List(x)) => v.push(Some(x)),
            (_, cell) => self.become_text(cell, line),
        }
    }

    /// Turns the column into text and adds `cell` (which did not fit its type).
    fn become_text(&mut self, cell: Cell<'_>, line: u32) {
        let old = self.type_name();
        let (new, shown) = match &cell {
            Cell::Str(s) => ("text", s.to_string()),
            Cell::Json(s) => ("other JSON", s.clone()),
            other => (cell_type(other), String::new()),
        };
        let shown = if shown.is_empty() {
            String::new()
        } else {
            format!(" `{}`", modelci_text::truncate(&shown, 40))
        };
        let hint = match &cell {
            Cell::Str(s) if MISSING_MARKERS.contains(&s.trim()) => {
                " (an empty field is a missing value; this marker is not)"
            }
            _ => "",
        };
        self.note = Some(format!(
            "mixes {old} and {new} values (first {new} value{shown} at line {line}); read as \
             text{hint}"
        ));
        let mut text: Vec<Option<String>> =
            match std::mem::replace(&mut self.data, Data::Pending(0)) {
                Data::Pending(n) => vec![None; n],
                Data::Int(v) => v.into_iter().map(|x| x.map(|x| x.to_string())).collect(),
                Data::Float(v) => v.into_iter().map(|x| x.map(|x| x.to_string())).collect(),
                Data::Bool(v) => v.into_iter().map(|x| x.map(|x| x.to_string())).collect(),
                Data::Str(v) => v,
                Data::List(v) => v.into_iter().map(|x| x.map(|x| list_text(&x))).collect(),
            };
        text.push(Some(cell_text(cell)));
        self.data = Data::Str(text);
    }

    fn type_name(&self) -> &'static str {
        match &self.data {
            Data::Pending(_) => "no",
            Data::Int(_) => "integer",
            Data::Float(_) => "float",
            Data::Bool(_) => "boolean",
            Data::Str(_) => "text",
            Data::List(_) => "list",
        }
    }

    pub(crate) fn finish(self) -> Column {
        let data = match self.data {
            Data::Pending(n) => ColumnData::Float(vec![None; n]),
            Data::Int(v) => ColumnData::Int(v),
            Data::Float(v) => ColumnData::Float(v),
            Data::Bool(v) => ColumnData::Bool(v),
            Data::Str(v) => ColumnData::Str(v),
            Data::List(v) => ColumnData::List(v),
        };
        Column {
            name: self.name,
            data,
            note: self.note,
        }
    }
}

fn with_first<T>(missing: usize, first: T) -> Vec<Option<T>> {
    let mut v = Vec::with_capacity(missing + 1024);
    v.resize_with(missing, || None);
    v.push(Some(first));
    v
}

/// What a non-empty CSV field holds.
fn classify<'a>(text: &'a str, trimmed: &str) -> Cell<'a> {
    if let Ok(i) = trimmed.parse::<i64>() {
        Cell::Int(i)
    } else if let Ok(x) = trimmed.parse::<f64>() {
        Cell::Float(x)
    } else if trimmed.eq_ignore_ascii_case("true") {
        Cell::Bool(true)
    } else if trimmed.eq_ignore_ascii_case("false") {
        Cell::Bool(false)
    } else {
        Cell::Str(Cow::Borrowed(text))
    }
}

fn cell_type(cell: &Cell<'_>) -> &'static str {
    match cell {
        Cell::Missing => "missing",
        Cell::Int(_) => "integer",
        Cell::Float(_) => "float",
        Cell::Bool(_) => "boolean",
        Cell::Str(_) => "text",
        Cell::List(_) => "list",
        Cell::Json(_) => "other JSON",
    }
}

fn cell_text(cell: Cell<'_>) -> String {
    match cell {
        Cell::Missing => String::new(),
        Cell::Int(x) => x.to_string(),
        Cell::Float(x) => x.to_string(),
        Cell::Bool(x) => x.to_string(),
        Cell::Str(x) => x.into_owned(),
        Cell::List(x) => list_text(&x),
        Cell::Json(x) => x,
    }
}

fn list_text(values: &[f64]) -> String {
    let items: Vec<String> = values.iter().map(f64::to_string).collect();
    format!("[{}]", items.join(", "))
}

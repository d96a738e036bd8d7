//! Numeric views of columns: model features, regression values, class probabilities.

use crate::error::DataError;
use crate::table::{Column, ColumnData, Table};

/// Whether NaN and infinite values are accepted (features: yes, models may handle them;
/// targets and probabilities: no, no metric is defined on them).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nan {
    Allowed,
    Refused,
}

/// Why `v` cannot be a target or a probability, if it cannot.
fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v.is_infinite() {
        Some("infinite")
    } else {
        None
    }
}

impl Table {
    /// The feature matrix for `names`, row-major `rows × width` as `f32`, in the order given.
    ///
    /// A numeric column (float, int, bool as 0/1) gives one feature; a list column gives as many
    /// as its lists hold (every row must hold the same number). The width is
    /// `values.len() / self.rows`. NaN and infinite values are passed through (some models handle
    /// them);
    /// missing values are errors.
    ///
    /// # Errors
    /// No names, an unknown column, a text column, a missing value (naming its row and line),
    /// or lists of different lengths.
    pub fn features<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<f32>, DataError> {
        if names.is_empty() {
            return Err(DataError::new(
                &self.source,
                "no feature columns were given",
            ));
        }
        let mut blocks: Vec<(Vec<f64>, usize)> = Vec::with_capacity(names.len());
        for name in names {
            let column = self.column(name.as_ref())?;
            let block = match &column.data {
                ColumnData::List(lists) => {
                    let width = self.list_width(column, lists)?;
                    (self.list_values(column, lists, width, Nan::Allowed)?, width)
                }
                _ => (
                    self.scalar_values(column, Nan::Allowed, "a model feature")?,
                    1,
                ),
            };
            blocks.push(block);
        }
        let width: usize = blocks.iter().map(|(_, w)| w).sum();
        let mut out = vec![0f32; self.rows * width];
        let mut offset = 0;
        for (values, w) in &blocks {
            for (row, chunk) in values.chunks_exact(*w).enumerate() {
                let start = row * width + offset;
                for (slot, v) in out[start..start + w].iter_mut().zip(chunk) {
                    #[expect(clippy::cast_possible_truncation, reason = "models take f32 features")]
                    let v = *v as f32;
                    *slot = v;
                }
            }
            offset += w;
        }
        Ok(out)
    }

    /// The values of a numeric column as `f64` (regression targets and predictions, scores);
    /// booleans are 0 and 1.
    ///
    /// # Errors
    /// An unknown column, a text or list column, a missing, NaN or infinite value (naming its
    /// row).
    pub fn floats(&self, name: &str) -> Result<Vec<f64>, DataError> {
        let column = self.column(name)?;
        self.scalar_values(column, Nan::Refused, "a numeric target")
    }

    /// Class probabilities (or scores), row-major `rows × k`: from one list column (each row's
    /// list, all of the same length `k`), or from `k` numeric columns in the order given (one
    /// name that is not a list column gives `k = 1`, e.g. a binary positive-class score).
    /// Values are not checked to lie in [0, 1] or to sum to 1: that is the gate's call.
    ///
    /// # Errors
    /// No names, an unknown column, a text column, a list column among several names, a
    /// missing, NaN or infinite value, or lists of different lengths.
    pub fn probabilities<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<f64>, DataError> {
        match names {
            [] => Err(DataError::new(
                &self.source,
                "no probability columns were given",
            )),
            [one] => {
                let column = self.column(one.as_ref())?;
                if let ColumnData::List(lists) = &column.data {
                    let width = self.list_width(column, lists)?;
                    self.list_values(column, lists, width, Nan::Refused)
                } else {
                    self.scalar_values(column, Nan::Refused, "a probability")
                }
            }
            many => {
                let k = many.len();
                let mut out = vec![0f64; self.rows * k];
                for (j, name) in many.iter().enumerate() {
                    let column = self.column(name.as_ref())?;
                    if matches!(column.data, ColumnData::List(_)) {
                        return Err(self.column_error(
                            column,
                            "is a list column; give either one list column or several numeric \
                             columns",
                        ));
                    }
                    let values = self.scalar_values(column, Nan::Refused, "a probability")?;
                    for (row, v) in values.into_iter().enumerate() {
                        out[row * k + j] = v;
                    }
                }
                Ok(out)
            }
        }
    }

    /// A scalar numeric column as `f64`s; `purpose` completes "cannot be used as ...".
    fn scalar_values(
        &self,
        column: &Column,
        nan: Nan,
        purpose: &str,
    ) -> Result<Vec<f64>, DataError> {
        let name = &column.name;
        let missing = |row: usize| self.value_error(row, name, "missing value");
        let check = |row: usize, v: f64| match non_finite(v) {
            Some(what) if nan == Nan::Refused => {
                Err(self.value_error(row, name, &format!("the value is {what}")))
            }
            _ => Ok(v),
        };
        match &column.data {
            ColumnData::Float(v) => v
                .iter()
                .enumerate()
                .map(|(row, x)| x.ok_or_else(|| missing(row)).and_then(|x| check(row, x)))
                .collect(),
            #[expect(clippy::cast_precision_loss, reason = "numbers are read as f64")]
            ColumnData::Int(v) => v
                .iter()
                .enumerate()
                .map(|(row, x)| x.map(|x| x as f64).ok_or_else(|| missing(row)))
                .collect(),
            ColumnData::Bool(v) => v
                .iter()
                .enumerate()
                .map(|(row, x)| {
                    x.map(|b| f64::from(u8::from(b)))
                        .ok_or_else(|| missing(row))
                })
                .collect(),
            ColumnData::Str(_) => Err(self.column_error(
                column,
                &format!("holds text, so it cannot be used as {purpose}"),
            )),
            ColumnData::List(_) => Err(self.column_error(
                column,
                &format!("holds lists, so it cannot be used as {purpose}"),
            )),
        }
    }

    /// The common length of a list column's lists.
    fn list_width(&self, column: &Column, lists: &[Option<Vec<f64>>]) -> Result<usize, DataError> {
        let mut width = None;
        for (row, list) in lists.iter().enumerate() {
            let Some(list) = list else {
                return Err(self.value_error(row, &column.name, "missing value"));
            };
            match width {
                None => width = Some(list.len()),
                Some(w) if w != list.len() => {
                    return Err(self.value_error(
                        row,
                        &column.name,
                        &format!(
                            "the list has {} values, but earlier rows have {w}",
                            list.len()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        match width {
            Some(0) | None => Err(self.column_error(column, "holds empty lists")),
            Some(w) => Ok(w),
        }
    }

    /// A list column's values, row-major; `width` from [`Self::list_width`].
    fn list_values(
        &self,
        column: &Column,
        lists: &[Option<Vec<f64>>],
        width: usize,
        nan: Nan,
    ) -> Result<Vec<f64>, DataError> {
        let mut out = Vec::with_capacity(lists.len() * width);
        for (row, list) in lists.iter().enumerate() {
            let list = list
                .as_ref()
                .ok_or_else(|| self.value_error(row, &column.name, "missing value"))?;
            if nan == Nan::Refused
                && let Some(what) = list.iter().find_map(|&v| non_finite(v))
            {
                let what = if what == "NaN" {
                    "NaN"
                } else {
                    "an infinite value"
                };
                return Err(self.value_error(row, &column.name, &format!("the list holds {what}")));
            }
            out.extend_from_slice(list);
        }
        debug_assert_eq!(out.len(), lists.len() * width);
        Ok(out)
    }
}

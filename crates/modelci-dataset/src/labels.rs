//! Class labels: a label column mapped to class indices over a sorted class list.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::error::DataError;
use crate::table::{Column, ColumnData, Table};

/// One class of a classification label.
///
/// Classes sort like scikit-learn's `np.unique`: numbers numerically, booleans `false` before
/// `true`, text lexicographically (by Unicode code point). A column holds one kind only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// A boolean label.
    Bool(bool),
    /// An integer label (a float column whose values are all whole numbers gives these too).
    Int(i64),
    /// A text label.
    Str(String),
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Str(s) => f.write_str(s),
        }
    }
}

/// A label column as class indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    /// The label column's name.
    pub column: String,
    /// For each row, the index of its class in [`Labels::classes`].
    pub ids: Vec<u32>,
    /// The distinct classes, sorted (see [`Class`]).
    pub classes: Vec<Class>,
}

impl Labels {
    /// The index of `class` in [`Labels::classes`].
    #[must_use]
    pub fn index_of(&self, class: &Class) -> Option<u32> {
        self.classes
            .binary_search(class)
            .ok()
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Maps another column of `table` (typically predicted classes) onto these classes.
    ///
    /// Values match a class when equal, or else when their text is equal (so a predicted `1`
    /// matches a text label `"1"`); whole-number floats count as integers.
    ///
    /// # Errors
    /// An unknown column, a column that cannot hold classes, a missing value, or a value that
    /// is not one of the classes (naming its row).
    pub fn map_column(&self, table: &Table, name: &str) -> Result<Vec<u32>, DataError> {
        let column = table.column(name)?;
        let values = table.class_values(column)?;
        let exact: HashMap<&Class, u32> = self.classes.iter().zip(0u32..).collect();
        let by_text: HashMap<String, u32> = self
            .classes
            .iter()
            .zip(0u32..)
            .map(|(c, i)| (c.to_string(), i))
            .collect();
        values
            .into_iter()
            .enumerate()
            .map(|(row, value)| {
                exact
                    .get(&value)
                    .copied()
                    .or_else(|| by_text.get(&value.to_string()).copied())
                    .ok_or_else(|| {
                        table.value_error(
                            row,
                            name,
                            &format!(
                                "`{value}` is not one of the classes of label column `{}` ({})",
                                self.column,
                                class_list(&self.classes)
                            ),
                        )
                    })
            })
            .collect()
    }
}

impl Table {
    /// The label column `name` as class indices over its sorted distinct classes.
    ///
    /// Integer, boolean and text columns are accepted, and float columns whose values are all
    /// whole numbers (pandas turns an integer column with a gap into floats).
    ///
    /// # Errors
    /// An unknown column, a list column, a float that is not a whole number, or a missing
    /// value (naming its row).
    pub fn labels(&self, name: &str) -> Result<Labels, DataError> {
        let column = self.column(name)?;
        let values = self.class_values(column)?;
        let classes: Vec<Class> = values
            .iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        let index: HashMap<&Class, u32> = classes.iter().zip(0u32..).collect();
        let ids = values.iter().map(|v| index[v]).collect();
        Ok(Labels {
            column: name.to_owned(),
            ids,
            classes,
        })
    }

    /// Each row's value of `column` as a class.
    fn class_values(&self, column: &Column) -> Result<Vec<Class>, DataError> {
        let name = &column.name;
        let missing = |row: usize| self.value_error(row, name, "missing class label");
        match &column.data {
            ColumnData::Int(v) => v
                .iter()
                .enumerate()
                .map(|(row, x)| x.map(Class::Int).ok_or_else(|| missing(row)))
                .collect(),
            ColumnData::Bool(v) => v
                .iter()
                .enumerate()
                .map(|(row, x)| x.map(Class::Bool).ok_or_else(|| missing(row)))
                .collect(),
            ColumnData::Str(v) => v
                .iter()
                .enumerate()
                .map(|(row, x)| x.clone().map(Class::Str).ok_or_else(|| missing(row)))
                .collect(),
            ColumnData::Float(v) => v
                .iter()
                .enumerate()
                .map(|(row, x)| {
                    let x = x.ok_or_else(|| missing(row))?;
                    whole(x).map(Class::Int).ok_or_else(|| {
                        self.value_error(
                            row,
                            name,
                            &format!(
                                "`{x}` is not a whole number, so it cannot be a class label \
                                 (use floats() for a regression target)"
                            ),
                        )
                    })
                })
                .collect(),
            ColumnData::List(_) => {
                Err(self.column_error(column, "holds lists, so it cannot be a class label column"))
            }
        }
    }
}

/// `x` as an integer when it is a whole number in `i64`'s range.
fn whole(x: f64) -> Option<i64> {
    #[expect(clippy::cast_precision_loss, reason = "range bounds for the check")]
    let in_range = x >= i64::MIN as f64 && x < i64::MAX as f64;
    #[expect(
        clippy::cast_possible_truncation,
        reason = "checked whole and in range"
    )]
    (x.fract() == 0.0 && in_range).then_some(x as i64)
}

/// At most 20 classes as backticked text.
fn class_list(classes: &[Class]) -> String {
    let mut text = classes
        .iter()
        .take(20)
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if classes.len() > 20 {
        text.push_str(&format!(" and {} more", classes.len() - 20));
    }
    text
}

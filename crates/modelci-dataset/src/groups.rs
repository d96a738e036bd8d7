//! Sensitive-attribute groups, for fairness metrics.

use std::collections::{BTreeSet, HashMap};

use crate::error::DataError;
use crate::table::{Column, ColumnData, Table};

/// The name a missing sensitive value takes: such rows form a group of their own.
pub const MISSING_GROUP: &str = "<missing>";

/// Each row's group, where a group is one combination of values of the sensitive attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    /// The sensitive attribute columns, in the order given.
    pub attributes: Vec<String>,
    /// For each row, the index of its group in [`Groups::names`].
    pub ids: Vec<u32>,
    /// Each group's name, `attribute=value` joined with `, ` (`sex=F, race=B`); a missing value
    /// reads [`MISSING_GROUP`].
    pub names: Vec<String>,
    /// Each group's values, one per attribute (the parts of its name).
    pub values: Vec<Vec<String>>,
}

impl Groups {
    /// How many rows each group has.
    #[must_use]
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0; self.names.len()];
        for &id in &self.ids {
            sizes[id as usize] += 1;
        }
        sizes
    }
}

impl Table {
    /// The groups that the sensitive attribute columns define (their intersections, when
    /// several are given). Only combinations that occur are groups. Groups are ordered by the
    /// first attribute's values, then the second's, and so on; each attribute's values sort
    /// numerically or lexicographically, with [`MISSING_GROUP`] last.
    ///
    /// # Errors
    /// No names, an unknown column, or a list column.
    pub fn groups<S: AsRef<str>>(&self, sensitive: &[S]) -> Result<Groups, DataError> {
        if sensitive.is_empty() {
            return Err(DataError::new(
                &self.source,
                "no sensitive attribute columns were given",
            ));
        }
        let mut ids: Vec<u32> = vec![0; self.rows];
        // For each current group, its value index per attribute so far.
        let mut parts: Vec<Vec<u32>> = vec![Vec::new()];
        let mut labels_per_attribute: Vec<Vec<String>> = Vec::new();
        for name in sensitive {
            let column = self.column(name.as_ref())?;
            let (codes, labels) = self.codes(column)?;
            let width = u64::try_from(labels.len()).unwrap_or(u64::MAX);
            let keys: Vec<u64> = ids
                .iter()
                .zip(&codes)
                .map(|(&g, &c)| u64::from(g) * width + u64::from(c))
                .collect();
            let distinct: Vec<u64> = keys
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let dense: HashMap<u64, u32> = distinct.iter().copied().zip(0u32..).collect();
            parts = distinct
                .iter()
                .map(|&key| {
                    let mut p = parts[usize::try_from(key / width).unwrap_or(0)].clone();
                    p.push(u32::try_from(key % width).unwrap_or(0));
                    p
                })
                .collect();
            ids = keys.iter().map(|k| dense[k]).collect();
            labels_per_attribute.push(labels);
        }
        let attributes: Vec<String> = sensitive.iter().map(|s| s.as_ref().to_owned()).collect();
        let values: Vec<Vec<String>> = parts
            .iter()
            .map(|p| {
                p.iter()
                    .zip(&labels_per_attribute)
                    .map(|(&code, labels)| labels[code as usize].clone())
                    .collect()
            })
            .collect();
        let names = values
            .iter()
            .map(|vals| {
                attributes
                    .iter()
                    .zip(vals)
                    .map(|(a, v)| format!("{a}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        Ok(Groups {
            attributes,
            ids,
            names,
            values,
        })
    }

    /// Each row's value index in the column's sorted distinct values, and those values as
    /// text, with [`MISSING_GROUP`] last when a value is missing.
    fn codes(&self, column: &Column) -> Result<(Vec<u32>, Vec<String>), DataError> {
        fn encode<T: Ord + Clone + std::hash::Hash>(
            values: &[Option<T>],
            show: impl Fn(&T) -> String,
        ) -> (Vec<u32>, Vec<String>) {
            let distinct: Vec<&T> = values
                .iter()
                .flatten()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let index: HashMap<&T, u32> = distinct.iter().copied().zip(0u32..).collect();
            let missing = u32::try_from(distinct.len()).unwrap_or(u32::MAX);
            let codes: Vec<u32> = values
                .iter()
                .map(|v| v.as_ref().map_or(missing, |v| index[v]))
                .collect();
            let mut labels: Vec<String> = distinct.into_iter().map(show).collect();
            if values.iter().any(Option::is_none) {
                labels.push(MISSING_GROUP.to_owned());
            }
            (codes, labels)
        }
        Ok(match &column.data {
            ColumnData::Int(v) => encode(v, i64::to_string),
            ColumnData::Bool(v) => encode(v, bool::to_string),
            ColumnData::Str(v) => encode(v, String::clone),
            ColumnData::Float(v) => {
                // Order floats by their total order; group equal values (`-0` with `0`, every
                // NaN with every other, which the total order alone would keep apart).
                let ordered: Vec<Option<Ordered>> = v.iter().map(|x| x.map(Ordered::new)).collect();
                encode(&ordered, |x| x.0.to_string())
            }
            ColumnData::List(_) => {
                return Err(
                    self.column_error(column, "holds lists, so it cannot be a sensitive attribute")
                );
            }
        })
    }
}

/// An `f64` with the total order and bitwise equality, to group float values; made with
/// [`Ordered::new`], which gives equal values the same bits.
#[derive(Clone, Copy)]
struct Ordered(f64);

impl Ordered {
    fn new(x: f64) -> Self {
        if x == 0.0 {
            // `-0.0` (JSON's `-0`, a rounded negative) is the same group as `0.0`.
            Self(0.0)
        } else if x.is_nan() {
            // NaNs differ in sign and payload bits but all print as `NaN`: one group.
            Self(f64::NAN)
        } else {
            Self(x)
        }
    }
}

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}
impl Eq for Ordered {}
impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
impl std::hash::Hash for Ordered {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state);
    }
}

//! Tensors: an element type, a shape and the values.
//!
//! Floating-point values of every width are held as `f64` (widening float16, bfloat16 and
//! float32 is exact, so nothing is lost for comparisons), integers as `i64`/`u64`, booleans and
//! strings as themselves; the element type says what the model produces.
//!
//! ONNX maps and sequences of maps (what scikit-learn classifiers exported by skl2onnx answer
//! by default: ZipMap's `seq(map(int64, float))`, one class → probability map per row) are held
//! as [`Data::Maps`]: a "tensor" whose elements are maps. A sequence of N maps has shape `[N]`
//! (so batching stacks and splits it by element, one map per row), a single map has shape `[]`;
//! the tensor's `dtype` is the maps' value type and [`Data::Maps::key`] their key type.
//! [`Tensor::type_text`] describes either kind for reports (`float32[2, 3]`,
//! `seq(map(int64, float32))[5]`).

use std::fmt;

/// ONNX element types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F16,
    BF16,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Bool,
    String,
}

impl DType {
    /// From `TensorProto.DataType`.
    pub fn from_onnx(code: i32) -> Option<DType> {
        Some(match code {
            1 => DType::F32,
            2 => DType::U8,
            3 => DType::I8,
            4 => DType::U16,
            5 => DType::I16,
            6 => DType::I32,
            7 => DType::I64,
            8 => DType::String,
            9 => DType::Bool,
            10 => DType::F16,
            11 => DType::F64,
            12 => DType::U32,
            13 => DType::U64,
            16 => DType::BF16,
            _ => return None,
        })
    }

    /// `TensorProto.DataType` code.
    pub fn onnx_code(self) -> i32 {
        match self {
            DType::F32 => 1,
            DType::U8 => 2,
            DType::I8 => 3,
            DType::U16 => 4,
            DType::I16 => 5,
            DType::I32 => 6,
            DType::I64 => 7,
            DType::String => 8,
            DType::Bool => 9,
            DType::F16 => 10,
            DType::F64 => 11,
            DType::U32 => 12,
            DType::U64 => 13,
            DType::BF16 => 16,
        }
    }

    /// The name used in reports and JSON cases (`float32`, `int64`, `bool`, `string`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::Bool => "bool",
            DType::String => "string",
        }
    }

    /// Reads a name: modelci's (`float32`), NumPy's (`float`, `f4`, `<f4`), the Open Inference
    /// Protocol's (`FP32`, `INT64`, `BOOL`, `BYTES`) or ONNX's (`tensor(float)`).
    pub fn parse(text: &str) -> Option<DType> {
        let t = text.trim();
        let t = t
            .strip_prefix("tensor(")
            .and_then(|x| x.strip_suffix(')'))
            .unwrap_or(t);
        let t = t
            .trim_start_matches(['<', '>', '|', '='])
            .to_ascii_lowercase();
        Some(match t.as_str() {
            "float16" | "f2" | "half" | "fp16" => DType::F16,
            "bfloat16" | "bf16" => DType::BF16,
            "float32" | "f4" | "float" | "fp32" | "single" => DType::F32,
            "float64" | "f8" | "double" | "fp64" => DType::F64,
            "int8" | "i1" => DType::I8,
            "int16" | "i2" => DType::I16,
            "int32" | "i4" => DType::I32,
            "int64" | "i8" | "long" => DType::I64,
            "uint8" | "u1" => DType::U8,
            "uint16" | "u2" => DType::U16,
            "uint32" | "u4" => DType::U32,
            "uint64" | "u8" => DType::U64,
            "bool" | "b1" | "boolean" => DType::Bool,
            "string" | "bytes" | "str" => DType::String,
            _ => return None,
        })
    }

    /// The value of this floating-point type nearest to `x` (JSON text such as `0.1` is read
    /// as an `f64`; a float32 tensor holds the nearest float32). Other types return `x`.
    pub fn round_float(self, x: f64) -> f64 {
        match self {
            DType::F32 => f64::from(x as f32),
            DType::F16 => half::f16::from_f64(x).to_f64(),
            DType::BF16 => half::bf16::from_f64(x).to_f64(),
            _ => x,
        }
    }

    /// Bytes per element as the model takes it (a string counts as one pointer's worth: its
    /// text is not known here).
    pub fn size(self) -> usize {
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 | DType::String => 8,
        }
    }

    /// Whether values are signed or unsigned integers.
    pub fn is_int(self) -> bool {
        matches!(
            self,
            DType::I8
                | DType::I16
                | DType::I32
                | DType::I64
                | DType::U8
                | DType::U16
                | DType::U32
                | DType::U64
        )
    }

    /// Whether values are floating point.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A key of an ONNX map: maps have integer or string keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Int(i64),
    Str(String),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(k) => write!(f, "{k}"),
            Key::Str(k) => write!(f, "{k:?}"),
        }
    }
}

/// A sequence of maps as a row-major `[rows, keys]` matrix: the keys (columns) in order, and
/// the values.
pub type KeyedMatrix = (Vec<Key>, Vec<f64>);

/// One map of floating-point values (ZipMap's class → probability), sorted by key, keys unique.
pub type Map = Vec<(Key, f64)>;

/// The values of a tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Float(Vec<f64>),
    Int(Vec<i64>),
    UInt(Vec<u64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
    /// Maps (the elements of a sequence of maps, or one map): `key` is the key type (an integer
    /// type or `string`), the tensor's dtype the value type (float32 or float64).
    Maps {
        key: DType,
        maps: Vec<Map>,
    },
}

/// Sorts a map by key and refuses duplicate keys (named).
///
/// # Errors
/// The first key that appears twice.
pub fn normalize_map(mut map: Map) -> Result<Map, String> {
    map.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = map.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!("key {} appears twice", w[0].0));
    }
    Ok(map)
}

/// A map as text, for reports: `{0: 0.25, 1: 0.75}`.
pub fn show_map(map: &Map) -> String {
    let items: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", items.join(", "))
}

impl Data {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::Float(v) => v.len(),
            Data::Int(v) => v.len(),
            Data::UInt(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::Str(v) => v.len(),
            Data::Maps { maps, .. } => maps.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as text, for reports.
    pub fn show(&self, i: usize) -> String {
        match self {
            Data::Float(v) => v.get(i).map(|x| format!("{x}")),
            Data::Int(v) => v.get(i).map(ToString::to_string),
            Data::UInt(v) => v.get(i).map(ToString::to_string),
            Data::Bool(v) => v.get(i).map(ToString::to_string),
            Data::Str(v) => v.get(i).map(|s| format!("{s:?}")),
            Data::Maps { maps, .. } => maps.get(i).map(show_map),
        }
        .unwrap_or_default()
    }
}

/// A named tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<i64>,
    pub data: Data,
}

/// A tensor whose element count does not match its shape, or whose values do not fit its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tensor `{name}`: {message}")]
pub struct TensorError {
    pub name: String,
    pub message: String,
}

impl Tensor {
    /// Builds a tensor, checking that the shape and the number of values agree.
    ///
    /// # Errors
    /// A negative dimension, or an element count that is not the product of the shape.
    pub fn new(
        name: impl Into<String>,
        dtype: DType,
        shape: Vec<i64>,
        data: Data,
    ) -> Result<Tensor, TensorError> {
        let name = name.into();
        if let Some(d) = shape.iter().find(|d| **d < 0) {
            return Err(TensorError {
                name,
                message: format!("dimension {d} is negative"),
            });
        }
        let expected = shape
            .iter()
            .try_fold(1u128, |acc, d| acc.checked_mul(*d as u128));
        let Some(expected) = expected else {
            return Err(TensorError {
                name,
                message: format!("shape {shape:?} holds more elements than can be counted"),
            });
        };
        if expected != data.len() as u128 {
            return Err(TensorError {
                name,
                message: format!(
                    "shape {shape:?} holds {expected} element(s) but {} value(s) were given",
                    data.len()
                ),
            });
        }
        Ok(Tensor {
            name,
            dtype,
            shape,
            data,
        })
    }

    /// The multi-dimensional index of flat position `i`.
    pub fn index_of(&self, i: usize) -> Vec<usize> {
        let mut rest = i;
        let mut out = vec![0; self.shape.len()];
        for (k, d) in self.shape.iter().enumerate().rev() {
            let d = (*d).max(1) as usize;
            out[k] = rest % d;
            rest /= d;
        }
        out
    }
}

impl Data {
    /// An empty vector of the same kind.
    fn empty_like(&self) -> Data {
        match self {
            Data::Float(_) => Data::Float(Vec::new()),
            Data::Int(_) => Data::Int(Vec::new()),
            Data::UInt(_) => Data::UInt(Vec::new()),
            Data::Bool(_) => Data::Bool(Vec::new()),
            Data::Str(_) => Data::Str(Vec::new()),
            Data::Maps { key, .. } => Data::Maps {
                key: *key,
                maps: Vec::new(),
            },
        }
    }

    /// Appends elements `range` of `other` (of the same kind; otherwise nothing).
    fn extend_from(&mut self, other: &Data, range: std::ops::Range<usize>) {
        match (self, other) {
            (Data::Float(a), Data::Float(b)) => a.extend_from_slice(&b[range]),
            (Data::Int(a), Data::Int(b)) => a.extend_from_slice(&b[range]),
            (Data::UInt(a), Data::UInt(b)) => a.extend_from_slice(&b[range]),
            (Data::Bool(a), Data::Bool(b)) => a.extend_from_slice(&b[range]),
            (Data::Str(a), Data::Str(b)) => a.extend_from_slice(&b[range]),
            (Data::Maps { key, maps: a }, Data::Maps { key: k, maps: b }) if key == k => {
                a.extend_from_slice(&b[range]);
            }
            _ => {}
        }
    }
}

impl Tensor {
    /// A sequence of maps (shape `[N]`), or one map (shape `[]`), of `dtype` values.
    ///
    /// # Errors
    /// A key type that is not an integer or string type, a value type that is not a float, or
    /// a map with a key of the wrong kind or a duplicate key (named, with the map's index).
    pub fn maps(
        name: impl Into<String>,
        key: DType,
        dtype: DType,
        maps: Vec<Map>,
        sequence: bool,
    ) -> Result<Tensor, TensorError> {
        let name = name.into();
        let fail = |message: String| TensorError {
            name: name.clone(),
            message,
        };
        if !(key == DType::String || key.is_int()) {
            return Err(fail(format!(
                "map keys must be integers or strings, not {key}"
            )));
        }
        if !dtype.is_float() {
            return Err(fail(format!(
                "map values must be floating point, not {dtype}"
            )));
        }
        if !sequence && maps.len() != 1 {
            return Err(fail(format!("one map expected, {} given", maps.len())));
        }
        let mut sorted = Vec::with_capacity(maps.len());
        for (i, m) in maps.into_iter().enumerate() {
            if let Some((k, _)) = m
                .iter()
                .find(|(k, _)| matches!(k, Key::Str(_)) != (key == DType::String))
            {
                return Err(fail(format!("map {i}: key {k} is not a {key}")));
            }
            sorted.push(normalize_map(m).map_err(|m| fail(format!("map {i}: {m}")))?);
        }
        let shape = if sequence {
            vec![sorted.len() as i64]
        } else {
            Vec::new()
        };
        Ok(Tensor {
            name,
            dtype,
            shape,
            data: Data::Maps { key, maps: sorted },
        })
    }

    /// The key type when the tensor holds maps.
    pub fn map_key(&self) -> Option<DType> {
        match &self.data {
            Data::Maps { key, .. } => Some(*key),
            _ => None,
        }
    }

    /// The value's type for reports: `float32[2, 3]` for a tensor, `seq(map(int64, float32))[5]`
    /// for a sequence of maps, `map(string, float32)` for one map.
    pub fn type_text(&self) -> String {
        match self.map_key() {
            Some(key) if self.shape.is_empty() => format!("map({key}, {})", self.dtype),
            Some(key) => format!("seq(map({key}, {}))[{}]", self.dtype, self.data.len()),
            None => {
                let dims: Vec<String> = self.shape.iter().map(ToString::to_string).collect();
                format!("{}[{}]", self.dtype, dims.join(", "))
            }
        }
    }

    /// The values as a `[rows, keys]` matrix of floats, with the keys in order: a sequence of
    /// maps that all have the same keys (ZipMap's probabilities), e.g. for metrics that need
    /// one column per class. `None` for other tensors.
    ///
    /// # Errors
    /// Maps whose keys differ (the first such row and key).
    pub fn maps_as_matrix(&self) -> Option<Result<KeyedMatrix, String>> {
        let Data::Maps { maps, .. } = &self.data else {
            return None;
        };
        let keys: Vec<Key> = maps
            .first()
            .map(|m| m.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default();
        let mut values = Vec::with_capacity(keys.len() * maps.len());
        for (row, m) in maps.iter().enumerate() {
            if m.len() != keys.len() || m.iter().zip(&keys).any(|((k, _), want)| k != want) {
                let shown: Vec<String> = keys.iter().map(ToString::to_string).collect();
                let got: Vec<String> = m.iter().map(|(k, _)| k.to_string()).collect();
                return Some(Err(format!(
                    "`{}`: row {row} has keys [{}], row 0 has [{}]",
                    self.name,
                    got.join(", "),
                    shown.join(", ")
                )));
            }
            values.extend(m.iter().map(|(_, v)| *v));
        }
        Some(Ok((keys, values)))
    }

    /// Rows along the first axis (`None` for a scalar).
    pub fn rows(&self) -> Option<usize> {
        self.shape.first().map(|d| usize::try_from(*d).unwrap_or(0))
    }

    /// Elements per row (the product of every dimension but the first).
    pub fn row_len(&self) -> usize {
        self.shape
            .iter()
            .skip(1)
            .map(|d| usize::try_from(*d).unwrap_or(0))
            .fold(1usize, usize::saturating_mul)
    }

    /// Rows `start..start + count` along the first axis, as a tensor of the same name and type.
    /// `None` when the tensor is a scalar or the rows are out of range.
    pub fn slice_rows(&self, start: usize, count: usize) -> Option<Tensor> {
        let rows = self.rows()?;
        if start.checked_add(count)? > rows {
            return None;
        }
        let width = self.row_len();
        let mut data = self.data.empty_like();
        data.extend_from(&self.data, start * width..(start + count) * width);
        let mut shape = self.shape.clone();
        shape[0] = count as i64;
        Some(Tensor {
            name: self.name.clone(),
            dtype: self.dtype,
            shape,
            data,
        })
    }

    /// Stacks tensors along the first axis. `None` unless every part has the same name, element
    /// type and shape past the first axis (and at least one axis).
    pub fn concat_rows(parts: &[&Tensor]) -> Option<Tensor> {
        let first = *parts.first()?;
        first.rows()?;
        let mut rows = 0i64;
        for p in parts {
            if p.name != first.name
                || p.dtype != first.dtype
                || p.shape.len() != first.shape.len()
                || p.shape[1..] != first.shape[1..]
                || std::mem::discriminant(&p.data) != std::mem::discriminant(&first.data)
                || p.map_key() != first.map_key()
            {
                return None;
            }
            rows += p.shape[0];
        }
        let mut data = first.data.empty_like();
        for p in parts {
            data.extend_from(&p.data, 0..p.data.len());
        }
        let mut shape = first.shape.clone();
        shape[0] = rows;
        Some(Tensor {
            name: first.name.clone(),
            dtype: first.dtype,
            shape,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_names_round_trip() {
        for code in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16] {
            let d = DType::from_onnx(code).expect("known");
            assert_eq!(d.onnx_code(), code);
            assert_eq!(DType::parse(d.name()), Some(d));
        }
        assert_eq!(DType::parse("FP32"), Some(DType::F32));
        assert_eq!(DType::parse("<f8"), Some(DType::F64));
        assert_eq!(DType::parse("tensor(int64)"), Some(DType::I64));
        assert_eq!(DType::parse("BYTES"), Some(DType::String));
        assert_eq!(DType::parse("complex64"), None);
        assert_eq!(DType::from_onnx(14), None);
    }

    #[test]
    fn shapes_must_match_the_data() {
        assert!(Tensor::new("x", DType::F32, vec![2, 3], Data::Float(vec![0.0; 6])).is_ok());
        let e =
            Tensor::new("x", DType::F32, vec![2, 3], Data::Float(vec![0.0; 5])).expect_err("count");
        assert_eq!(
            e.to_string(),
            "tensor `x`: shape [2, 3] holds 6 element(s) but 5 value(s) were given"
        );
        assert!(Tensor::new("x", DType::F32, vec![-1], Data::Float(vec![])).is_err());
        let huge = Tensor::new("x", DType::F32, vec![i64::MAX; 3], Data::Float(vec![]));
        assert!(huge.is_err_and(|e| e.message.contains("more elements than can be counted")));
        let t = Tensor::new("x", DType::I64, vec![2, 3], Data::Int(vec![0; 6])).expect("t");
        assert_eq!(t.index_of(5), vec![1, 2]);
        assert_eq!(t.index_of(3), vec![1, 0]);
    }

    #[test]
    fn rows_slice_and_concatenate() {
        let t = Tensor::new(
            "x",
            DType::F32,
            vec![3, 2],
            Data::Float(vec![1., 2., 3., 4., 5., 6.]),
        )
        .expect("t");
        let mid = t.slice_rows(1, 2).expect("rows");
        assert_eq!(mid.shape, vec![2, 2]);
        assert_eq!(mid.data, Data::Float(vec![3., 4., 5., 6.]));
        assert!(t.slice_rows(2, 2).is_none());
        let first = t.slice_rows(0, 1).expect("row");
        let back = Tensor::concat_rows(&[&first, &mid]).expect("concat");
        assert_eq!(back, t);
        let other = Tensor::new("x", DType::F32, vec![1, 3], Data::Float(vec![0.; 3])).expect("o");
        assert!(Tensor::concat_rows(&[&first, &other]).is_none());
        let empty = t.slice_rows(3, 0).expect("empty");
        assert_eq!(empty.shape, vec![0, 2]);
    }
}

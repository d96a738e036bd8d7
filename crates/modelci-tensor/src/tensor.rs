//! Tensors: an element type, a shape and the values.
//!
//! Floating-point values of every width are held as `f64` (widening float16, bfloat16 and
//! float32 is exact, so nothing is lost for comparisons), integers as `i64`/`u64`, booleans and
//! strings as themselves; the element type says what the model produces.

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

/// The values of a tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Float(Vec<f64>),
    Int(Vec<i64>),
    UInt(Vec<u64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
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
            _ => {}
        }
    }
}

impl Tensor {
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

//! The Open Inference Protocol's (KServe v2 REST) JSON encoding, one codec for the client
//! ([`crate::client`]) and the reference service (`modelci-service`): datatype names, tensor
//! values (nested `data` flattened row-major; JSON leaves read as values of a tensor type,
//! range-checked, floats rounded to their width, `NaN`/`Infinity` tokens and strings understood),
//! and the protocol's messages: [`request`]s, [`response`]s and model [`metadata`].

use std::fmt::Write as _;

use modelci_tensor::tensor::{DType, Data};
use serde_json::Value;

pub mod metadata;
pub mod request;
pub mod response;

/// The Open Inference Protocol's name of an element type (`FP32`, `INT64`, `BOOL`, `BYTES`...);
/// [`parse_datatype`] (exactly) and [`DType::parse`] (leniently) read it back.
pub fn datatype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F16 => "FP16",
        DType::BF16 => "BF16",
        DType::F32 => "FP32",
        DType::F64 => "FP64",
        DType::I8 => "INT8",
        DType::I16 => "INT16",
        DType::I32 => "INT32",
        DType::I64 => "INT64",
        DType::U8 => "UINT8",
        DType::U16 => "UINT16",
        DType::U32 => "UINT32",
        DType::U64 => "UINT64",
        DType::Bool => "BOOL",
        DType::String => "BYTES",
    }
}

/// A protocol datatype name (exactly as the protocol spells it), as an element type.
pub fn parse_datatype(name: &str) -> Option<DType> {
    Some(match name {
        "BOOL" => DType::Bool,
        "UINT8" => DType::U8,
        "UINT16" => DType::U16,
        "UINT32" => DType::U32,
        "UINT64" => DType::U64,
        "INT8" => DType::I8,
        "INT16" => DType::I16,
        "INT32" => DType::I32,
        "INT64" => DType::I64,
        "FP16" => DType::F16,
        "BF16" => DType::BF16,
        "FP32" => DType::F32,
        "FP64" => DType::F64,
        "BYTES" => DType::String,
        _ => return None,
    })
}

/// What a JSON value is, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A `shape` list as dimensions, or `None` when one is not a non-negative integer.
pub fn shape(dims: &[Value]) -> Option<Vec<i64>> {
    dims.iter()
        .map(|d| d.as_i64().filter(|d| *d >= 0))
        .collect()
}

/// A tensor's `data` (flat or nested) as values of `dtype`, checked against the element count
/// of `shape`; `null_is_nan` reads `null` as NaN.
///
/// # Errors
/// A message: a shape too large to count, an element count that does not match, a value that
/// is not one of `dtype`.
pub fn tensor_data(
    dtype: DType,
    shape: &[i64],
    data: &Value,
    null_is_nan: bool,
) -> Result<Data, String> {
    let mut leaves = Vec::new();
    flatten(data, &mut leaves);
    let expected = element_count(shape).ok_or_else(|| {
        format!("shape {shape:?} is too large (its dimensions multiply past 2^63)")
    })?;
    if expected != leaves.len() {
        return Err(format!(
            "shape {shape:?} holds {expected} element(s) but `data` has {}",
            leaves.len()
        ));
    }
    values(dtype, &leaves, null_is_nan)
}

/// The number of elements of a shape of non-negative dimensions; `None` when its non-zero
/// dimensions multiply past `i64::MAX` (even when a zero makes it empty: rows and row widths
/// computed from it later would overflow).
pub fn element_count(shape: &[i64]) -> Option<usize> {
    let mut product: i64 = 1;
    let mut empty = false;
    for &d in shape {
        match d {
            0 => empty = true,
            d if d > 0 => product = product.checked_mul(d)?,
            _ => return None,
        }
    }
    if empty {
        Some(0)
    } else {
        usize::try_from(product).ok()
    }
}

/// The leaves of a possibly nested list, row-major.
pub fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        leaf => out.push(leaf),
    }
}

/// Reads `NaN`, `Infinity`, `-Infinity`, `inf`... as a float.
pub fn nonfinite(s: &str) -> Option<f64> {
    match s.trim().to_ascii_lowercase().as_str() {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// A float that holds a whole number (`3.0`), as an integer.
pub fn integral(v: &Value) -> Option<i64> {
    let x = v.as_f64()?;
    let limit = 2f64.powi(63); // exact in f64; i64 holds -2^63..2^63
    (x.fract() == 0.0 && (-limit..limit).contains(&x)).then_some(x as i64)
}

/// A value for messages, cut short.
pub fn show(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

/// Converts JSON leaves to values of `dtype`; `null_is_nan` reads `null` as NaN (as answers
/// from orjson-based servers carry it).
pub fn values(dtype: DType, leaves: &[&Value], null_is_nan: bool) -> Result<Data, String> {
    let mut b = Leaves::new(dtype, null_is_nan, leaves.len(), leaves.len());
    for v in leaves {
        b.push(v);
        if let Some(e) = b.error.take() {
            return Err(e);
        }
    }
    Ok(b.finish())
}

/// Values of one datatype, converted one leaf at a time (from a JSON tree, or straight from the
/// text with [`tensor_data_raw`], which never builds the tree). Conversion stops storing at the
/// first bad value (kept in `error`) or past `capacity` leaves, and goes on counting.
pub(crate) struct Leaves {
    dtype: DType,
    null_is_nan: bool,
    capacity: usize,
    /// Leaves seen.
    count: usize,
    data: Data,
    /// The first leaf that is not a value of the type.
    error: Option<String>,
}

impl Leaves {
    /// Leaves for at most `capacity` values, with room for `room` of them from the start.
    pub(crate) fn new(dtype: DType, null_is_nan: bool, capacity: usize, room: usize) -> Leaves {
        let room = room.min(capacity);
        let data = match dtype {
            DType::F16 | DType::BF16 | DType::F32 | DType::F64 => {
                Data::Float(Vec::with_capacity(room))
            }
            DType::I8 | DType::I16 | DType::I32 | DType::I64 => Data::Int(Vec::with_capacity(room)),
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => {
                Data::UInt(Vec::with_capacity(room))
            }
            DType::Bool => Data::Bool(Vec::with_capacity(room)),
            DType::String => Data::Str(Vec::with_capacity(room.min(1 << 12))),
        };
        Leaves {
            dtype,
            null_is_nan,
            capacity,
            count: 0,
            data,
            error: None,
        }
    }

    /// Takes one leaf.
    pub(crate) fn push(&mut self, v: &Value) {
        let k = self.count;
        self.count += 1;
        if self.error.is_some() || k >= self.capacity {
            return;
        }
        if let Err(e) = self.convert(k, v) {
            self.error = Some(e);
        }
    }

    fn convert(&mut self, k: usize, v: &Value) -> Result<(), String> {
        let dtype = self.dtype;
        let name = datatype_name(dtype);
        let bad = |v: &Value| format!("element {k} ({}) is not a {name} value", show(v));
        match &mut self.data {
            Data::Float(out) => {
                let x = match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => nonfinite(s),
                    Value::Null if self.null_is_nan => Some(f64::NAN),
                    _ => None,
                }
                .ok_or_else(|| bad(v))?;
                let stored = match dtype {
                    DType::F32 => f64::from(x as f32),
                    DType::F16 => half::f16::from_f64(x).to_f64(),
                    DType::BF16 => half::bf16::from_f64(x).to_f64(),
                    _ => x,
                };
                // A finite number the type cannot hold would silently become infinite.
                if x.is_finite() && !stored.is_finite() {
                    return Err(format!(
                        "element {k} ({}) is beyond the {name} range",
                        show(v)
                    ));
                }
                out.push(stored);
            }
            Data::Int(out) => {
                let (lo, hi) = match dtype {
                    DType::I8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
                    DType::I16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
                    DType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
                    _ => (i64::MIN, i64::MAX),
                };
                let n = v.as_i64().or_else(|| integral(v)).ok_or_else(|| bad(v))?;
                if n < lo || n > hi {
                    return Err(format!("element {k} ({n}) does not fit {name}"));
                }
                out.push(n);
            }
            Data::UInt(out) => {
                let hi = match dtype {
                    DType::U8 => u64::from(u8::MAX),
                    DType::U16 => u64::from(u16::MAX),
                    DType::U32 => u64::from(u32::MAX),
                    _ => u64::MAX,
                };
                let n = v
                    .as_u64()
                    .or_else(|| integral(v).and_then(|n| u64::try_from(n).ok()))
                    .ok_or_else(|| bad(v))?;
                if n > hi {
                    return Err(format!("element {k} ({n}) does not fit {name}"));
                }
                out.push(n);
            }
            Data::Bool(out) => out.push(match v {
                Value::Bool(b) => *b,
                Value::Number(n) if n.as_u64() == Some(0) => false,
                Value::Number(n) if n.as_u64() == Some(1) => true,
                _ => return Err(bad(v)),
            }),
            Data::Str(out) => out.push(v.as_str().map(str::to_owned).ok_or_else(|| bad(v))?),
            Data::Maps { .. } => return Err(bad(v)),
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Data {
        self.data
    }
}

/// Reads a tensor's `data` straight from its JSON text (a flat or nested list), converting each
/// leaf as it comes: the request's values are never held as a JSON tree (a tree takes about
/// 40 bytes per number where the value takes 8), so a request needs little more memory than
/// its body and its tensors.
///
/// # Errors
/// As [`tensor_data`]: a shape too large to count, an element count that does not match (the
/// count comes first), a value that is not one of `dtype`; or text that is not JSON.
pub fn tensor_data_raw(
    dtype: DType,
    shape: &[i64],
    data: &serde_json::value::RawValue,
) -> Result<Data, String> {
    use serde::de::DeserializeSeed as _;
    let expected = element_count(shape).ok_or_else(|| {
        format!("shape {shape:?} is too large (its dimensions multiply past 2^63)")
    })?;
    // Counted first, cheaply: a count that does not match is refused before any value is
    // stored, and a matching one gets a buffer of exactly its size (no doubling as it grows).
    let counted = count_leaves(data.get());
    if counted != expected {
        return Err(format!(
            "shape {shape:?} holds {expected} element(s) but `data` has {counted}"
        ));
    }
    let mut leaves = Leaves::new(dtype, false, expected, expected);
    let mut de = serde_json::Deserializer::from_str(data.get());
    Flatten(&mut leaves)
        .deserialize(&mut de)
        .map_err(|e| format!("`data` cannot be read: {e}"))?;
    if expected != leaves.count {
        return Err(format!(
            "shape {shape:?} holds {expected} element(s) but `data` has {}",
            leaves.count
        ));
    }
    if let Some(e) = leaves.error.take() {
        return Err(e);
    }
    Ok(leaves.finish())
}

/// The leaves of a JSON value that is a (nested) list, or 1 for anything else, counted on the
/// text: each value that starts inside a list and is not a list itself (strings skipped whole,
/// objects counted as one leaf). Agrees with [`Flatten`] on valid JSON.
fn count_leaves(text: &str) -> usize {
    let b = text.as_bytes();
    let (mut count, mut depth, mut i) = (0usize, 0usize, 0usize);
    // Whether the next significant byte starts a value inside a list.
    let mut expecting = false;
    let mut object_depth = 0usize;
    while i < b.len() {
        let c = b[i];
        if object_depth > 0 {
            match c {
                b'"' => i = skip_string(b, i),
                b'{' => object_depth += 1,
                b'}' => object_depth -= 1,
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'[' => {
                depth += 1;
                expecting = true;
            }
            b']' => {
                depth = depth.saturating_sub(1);
                expecting = false;
            }
            b',' => expecting = depth > 0,
            c if c.is_ascii_whitespace() => {}
            _ => {
                if expecting || depth == 0 {
                    count += 1;
                }
                expecting = false;
                match c {
                    b'"' => i = skip_string(b, i),
                    b'{' => object_depth = 1,
                    _ => {
                        // The rest of a number or a literal.
                        while i + 1 < b.len()
                            && !matches!(b[i + 1], b',' | b']' | b'[' | b'{' | b'"')
                            && !b[i + 1].is_ascii_whitespace()
                        {
                            i += 1;
                        }
                    }
                }
            }
        }
        i += 1;
    }
    count
}

/// The index of the quote that closes the string opening at `start`.
fn skip_string(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    b.len()
}

/// Walks a JSON value, handing each leaf (anything but a list) to [`Leaves`].
struct Flatten<'a>(&'a mut Leaves);

impl<'de> serde::de::DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Flatten<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of values")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Flatten(&mut *self.0))?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.push(&Value::Bool(v));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.push(&Value::from(v));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.push(&Value::from(v));
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.0
            .push(&serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number));
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.push(&Value::String(v.to_owned()));
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.push(&Value::Null);
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        // An object is a leaf that is no value of any type: read it whole, for the message.
        let v = <Value as serde::Deserialize>::deserialize(
            serde::de::value::MapAccessDeserializer::new(map),
        )?;
        self.0.push(&v);
        Ok(())
    }
}

/// Rewrites the bare tokens `NaN`, `Infinity` and `-Infinity` outside strings (Python's `json`
/// and Triton write them) as strings, or `None` when there are none.
pub fn quote_nonfinite(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let (mut i, mut start, mut in_string, mut changed) = (0, 0, false, false);
    while i < b.len() {
        let c = b[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if c == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token = ["NaN", "Infinity", "-Infinity"]
            .into_iter()
            .find(|t| b[i..].starts_with(t.as_bytes()));
        if let Some(t) = token {
            out.push_str(&text[start..i]);
            let _ = write!(out, "\"{t}\"");
            i += t.len();
            start = i;
            changed = true;
        } else {
            i += 1;
        }
    }
    changed.then(|| {
        out.push_str(&text[start..]);
        out
    })
}

#[cfg(test)]
mod count_tests {
    use super::count_leaves;

    #[test]
    fn leaves_are_counted_on_the_text() {
        assert_eq!(count_leaves("[1, 2.5e3, -4]"), 3);
        assert_eq!(count_leaves("[[1,2],[3,4]]"), 4);
        assert_eq!(count_leaves("[]"), 0);
        assert_eq!(count_leaves("[[], [1]]"), 1);
        assert_eq!(count_leaves(r#"["a,b", "c\"d", "NaN"]"#), 3);
        assert_eq!(count_leaves(r#"[{"a": [1, 2]}, true, null]"#), 3);
        assert_eq!(count_leaves("7"), 1);
        assert_eq!(count_leaves(" [ 1 , 2 ] "), 2);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn datatype_names_round_trip() {
        for code in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16] {
            let d = DType::from_onnx(code).expect("known");
            assert_eq!(DType::parse(datatype_name(d)), Some(d), "{d}");
            assert_eq!(parse_datatype(datatype_name(d)), Some(d), "{d}");
        }
        assert_eq!(parse_datatype("fp32"), None);
        assert_eq!(datatype_name(DType::String), "BYTES");
        assert_eq!(datatype_name(DType::BF16), "BF16");
    }

    #[test]
    fn non_finite_tokens_are_quoted_outside_strings_only() {
        assert_eq!(
            quote_nonfinite(r#"{"a":[NaN, -Infinity,Infinity],"s":"NaN Infinity \" NaN"}"#)
                .as_deref(),
            Some(r#"{"a":["NaN", "-Infinity","Infinity"],"s":"NaN Infinity \" NaN"}"#)
        );
        assert_eq!(quote_nonfinite(r#"{"s":"NaN"}"#), None);
    }

    #[test]
    fn integer_and_other_types_are_range_checked() {
        let leaves = |v: Value| v.as_array().cloned().unwrap_or_default();
        let read = |d: DType, v: Value| {
            let l = leaves(v);
            let refs: Vec<&Value> = l.iter().collect();
            values(d, &refs, false)
        };
        assert_eq!(
            read(DType::I8, json!([127, -128, 3.0])),
            Ok(Data::Int(vec![127, -128, 3]))
        );
        assert_eq!(
            read(DType::I8, json!([128])),
            Err("element 0 (128) does not fit INT8".to_owned())
        );
        assert!(read(DType::U8, json!([-1])).is_err());
        assert_eq!(
            read(DType::U64, json!([u64::MAX])),
            Ok(Data::UInt(vec![u64::MAX]))
        );
        assert_eq!(
            read(DType::Bool, json!([true, 0, 1])),
            Ok(Data::Bool(vec![true, false, true]))
        );
        assert!(read(DType::Bool, json!([2])).is_err());
        assert_eq!(
            read(DType::String, json!(["a"])),
            Ok(Data::Str(vec!["a".into()]))
        );
        assert!(read(DType::String, json!([1])).is_err());
        let nan = read(DType::F64, json!(["NaN", "-Infinity"])).expect("non-finite");
        assert!(matches!(&nan, Data::Float(v) if v[0].is_nan() && v[1] == f64::NEG_INFINITY));
        assert_eq!(
            read(DType::F16, json!([0.1])),
            Ok(Data::Float(vec![half_tenth()]))
        );
    }

    fn half_tenth() -> f64 {
        DType::F16.round_float(0.1)
    }
}

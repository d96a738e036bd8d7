//! The Open Inference Protocol's JSON tensor values, shared by the client
//! ([`crate::endpoint`]) and the reference service (`modelci-service`): nested `data` flattened
//! row-major, and JSON leaves read as values of a tensor type (range-checked, floats rounded to
//! their width, `NaN`/`Infinity` tokens and strings understood).

use serde_json::Value;

use crate::endpoint::v2_datatype;
use crate::tensor::{DType, Data};

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
    let name = v2_datatype(dtype);
    let bad = |k: usize, v: &Value| format!("element {k} ({}) is not a {name} value", show(v));
    Ok(match dtype {
        DType::F16 | DType::BF16 | DType::F32 | DType::F64 => Data::Float(
            leaves
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    let x = match v {
                        Value::Number(n) => n.as_f64(),
                        Value::String(s) => nonfinite(s),
                        Value::Null if null_is_nan => Some(f64::NAN),
                        _ => None,
                    }
                    .ok_or_else(|| bad(k, v))?;
                    Ok(match dtype {
                        DType::F32 => f64::from(x as f32),
                        DType::F16 => half::f16::from_f64(x).to_f64(),
                        DType::BF16 => half::bf16::from_f64(x).to_f64(),
                        _ => x,
                    })
                })
                .collect::<Result<_, String>>()?,
        ),
        DType::I8 | DType::I16 | DType::I32 | DType::I64 => {
            let (lo, hi) = match dtype {
                DType::I8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
                DType::I16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
                DType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            Data::Int(
                leaves
                    .iter()
                    .enumerate()
                    .map(|(k, v)| {
                        let n = v
                            .as_i64()
                            .or_else(|| integral(v))
                            .ok_or_else(|| bad(k, v))?;
                        if n < lo || n > hi {
                            return Err(format!("element {k} ({n}) does not fit {name}"));
                        }
                        Ok(n)
                    })
                    .collect::<Result<_, String>>()?,
            )
        }
        DType::U8 | DType::U16 | DType::U32 | DType::U64 => {
            let hi = match dtype {
                DType::U8 => u64::from(u8::MAX),
                DType::U16 => u64::from(u16::MAX),
                DType::U32 => u64::from(u32::MAX),
                _ => u64::MAX,
            };
            Data::UInt(
                leaves
                    .iter()
                    .enumerate()
                    .map(|(k, v)| {
                        let n = v
                            .as_u64()
                            .or_else(|| integral(v).and_then(|n| u64::try_from(n).ok()))
                            .ok_or_else(|| bad(k, v))?;
                        if n > hi {
                            return Err(format!("element {k} ({n}) does not fit {name}"));
                        }
                        Ok(n)
                    })
                    .collect::<Result<_, String>>()?,
            )
        }
        DType::Bool => Data::Bool(
            leaves
                .iter()
                .enumerate()
                .map(|(k, v)| match v {
                    Value::Bool(b) => Ok(*b),
                    Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
                    Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
                    _ => Err(bad(k, v)),
                })
                .collect::<Result<_, String>>()?,
        ),
        DType::String => Data::Str(
            leaves
                .iter()
                .enumerate()
                .map(|(k, v)| v.as_str().map(str::to_owned).ok_or_else(|| bad(k, v)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

//! ONNX `TensorProto` (the `input_K.pb` / `output_K.pb` files of the ONNX test-data layout), read
//! and written with `prost`. Only the fields a test-data tensor uses are declared; the message is
//! the one in `onnx.proto3` (field numbers and types as there).

use half::{bf16, f16};
use prost::Message;

use crate::tensor::{DType, Data, Tensor, TensorError};

/// `onnx.TensorProto` (the fields used by test data; others are skipped when decoding).
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub string_data: Vec<Vec<u8>>,
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    #[prost(string, tag = "8")]
    pub name: String,
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
    #[prost(uint64, repeated, tag = "11")]
    pub uint64_data: Vec<u64>,
    /// 1 when the data lives in an external file (not supported in test data).
    #[prost(int32, tag = "14")]
    pub data_location: i32,
}

fn chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}

/// Decodes a serialized `TensorProto`.
///
/// # Errors
/// Bytes that are not a `TensorProto`, an unknown element type, external data, or values that
/// do not fill the shape.
pub fn decode(bytes: &[u8], fallback_name: &str) -> Result<Tensor, TensorError> {
    let err = |name: &str, message: String| TensorError {
        name: name.to_owned(),
        message,
    };
    let p = TensorProto::decode(bytes)
        .map_err(|e| err(fallback_name, format!("not a TensorProto: {e}")))?;
    let name = if p.name.is_empty() {
        fallback_name.to_owned()
    } else {
        p.name.clone()
    };
    if p.data_location == 1 {
        return Err(err(
            &name,
            "external data is not supported in golden files".into(),
        ));
    }
    let dtype = DType::from_onnx(p.data_type)
        .ok_or_else(|| err(&name, format!("unsupported element type {}", p.data_type)))?;
    let raw = &p.raw_data;
    let has_raw = !raw.is_empty();
    let data = match dtype {
        DType::F32 if has_raw => Data::Float(
            chunks::<4>(raw)
                .map(|b| f64::from(f32::from_le_bytes(b)))
                .collect(),
        ),
        DType::F32 => Data::Float(p.float_data.iter().map(|x| f64::from(*x)).collect()),
        DType::F64 if has_raw => Data::Float(chunks::<8>(raw).map(f64::from_le_bytes).collect()),
        DType::F64 => Data::Float(p.double_data.clone()),
        DType::F16 if has_raw => Data::Float(
            chunks::<2>(raw)
                .map(|b| f16::from_le_bytes(b).to_f64())
                .collect(),
        ),
        DType::F16 => Data::Float(
            p.int32_data
                .iter()
                .map(|x| f16::from_bits(*x as u16).to_f64())
                .collect(),
        ),
        DType::BF16 if has_raw => Data::Float(
            chunks::<2>(raw)
                .map(|b| bf16::from_le_bytes(b).to_f64())
                .collect(),
        ),
        DType::BF16 => Data::Float(
            p.int32_data
                .iter()
                .map(|x| bf16::from_bits(*x as u16).to_f64())
                .collect(),
        ),
        DType::I8 if has_raw => Data::Int(raw.iter().map(|b| i64::from(*b as i8)).collect()),
        DType::I16 if has_raw => Data::Int(
            chunks::<2>(raw)
                .map(|b| i64::from(i16::from_le_bytes(b)))
                .collect(),
        ),
        DType::I32 if has_raw => Data::Int(
            chunks::<4>(raw)
                .map(|b| i64::from(i32::from_le_bytes(b)))
                .collect(),
        ),
        DType::I8 | DType::I16 | DType::I32 => {
            Data::Int(p.int32_data.iter().map(|x| i64::from(*x)).collect())
        }
        DType::I64 if has_raw => Data::Int(chunks::<8>(raw).map(i64::from_le_bytes).collect()),
        DType::I64 => Data::Int(p.int64_data.clone()),
        DType::U8 if has_raw => Data::UInt(raw.iter().map(|b| u64::from(*b)).collect()),
        DType::U16 if has_raw => Data::UInt(
            chunks::<2>(raw)
                .map(|b| u64::from(u16::from_le_bytes(b)))
                .collect(),
        ),
        DType::U8 | DType::U16 => {
            Data::UInt(p.int32_data.iter().map(|x| u64::from(*x as u32)).collect())
        }
        DType::U32 if has_raw => Data::UInt(
            chunks::<4>(raw)
                .map(|b| u64::from(u32::from_le_bytes(b)))
                .collect(),
        ),
        DType::U64 if has_raw => Data::UInt(chunks::<8>(raw).map(u64::from_le_bytes).collect()),
        DType::U32 | DType::U64 => Data::UInt(p.uint64_data.clone()),
        DType::Bool if has_raw => Data::Bool(raw.iter().map(|b| *b != 0).collect()),
        DType::Bool => Data::Bool(p.int32_data.iter().map(|x| *x != 0).collect()),
        DType::String => Data::Str(
            p.string_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ),
    };
    Tensor::new(name, dtype, p.dims.clone(), data)
}

/// Encodes a tensor as a `TensorProto` (values in `raw_data`, strings in `string_data`).
pub fn encode(t: &Tensor) -> Vec<u8> {
    let mut p = TensorProto {
        dims: t.shape.clone(),
        data_type: t.dtype.onnx_code(),
        name: t.name.clone(),
        ..TensorProto::default()
    };
    let mut raw = Vec::new();
    match (&t.data, t.dtype) {
        (Data::Float(v), DType::F32) => {
            v.iter().for_each(|x| raw.extend((*x as f32).to_le_bytes()))
        }
        (Data::Float(v), DType::F64) => v.iter().for_each(|x| raw.extend(x.to_le_bytes())),
        (Data::Float(v), DType::F16) => v
            .iter()
            .for_each(|x| raw.extend(f16::from_f64(*x).to_le_bytes())),
        (Data::Float(v), DType::BF16) => v
            .iter()
            .for_each(|x| raw.extend(bf16::from_f64(*x).to_le_bytes())),
        (Data::Int(v), DType::I8) => v.iter().for_each(|x| raw.push(*x as i8 as u8)),
        (Data::Int(v), DType::I16) => v.iter().for_each(|x| raw.extend((*x as i16).to_le_bytes())),
        (Data::Int(v), DType::I32) => v.iter().for_each(|x| raw.extend((*x as i32).to_le_bytes())),
        (Data::Int(v), _) => v.iter().for_each(|x| raw.extend(x.to_le_bytes())),
        (Data::UInt(v), DType::U8) => v.iter().for_each(|x| raw.push(*x as u8)),
        (Data::UInt(v), DType::U16) => v.iter().for_each(|x| raw.extend((*x as u16).to_le_bytes())),
        (Data::UInt(v), DType::U32) => v.iter().for_each(|x| raw.extend((*x as u32).to_le_bytes())),
        (Data::UInt(v), _) => v.iter().for_each(|x| raw.extend(x.to_le_bytes())),
        (Data::Bool(v), _) => v.iter().for_each(|x| raw.push(u8::from(*x))),
        (Data::Str(v), _) => p.string_data = v.iter().map(|s| s.clone().into_bytes()).collect(),
        (Data::Float(v), _) => v.iter().for_each(|x| raw.extend(x.to_le_bytes())),
    }
    p.raw_data = raw;
    p.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(t: Tensor) {
        let back = decode(&encode(&t), "fallback").expect("decodes");
        assert_eq!(back, t);
    }

    #[test]
    fn every_dtype_round_trips_through_raw_data() {
        round_trip(
            Tensor::new(
                "x",
                DType::F32,
                vec![2, 2],
                Data::Float(vec![0.5, -1.25, 3.0, 1e-3_f32 as f64]),
            )
            .expect("t"),
        );
        round_trip(Tensor::new("x", DType::F64, vec![2], Data::Float(vec![0.1, -2.5])).expect("t"));
        round_trip(Tensor::new("x", DType::F16, vec![2], Data::Float(vec![0.5, -2.0])).expect("t"));
        round_trip(
            Tensor::new("x", DType::BF16, vec![2], Data::Float(vec![1.5, -4.0])).expect("t"),
        );
        for d in [DType::I8, DType::I16, DType::I32, DType::I64] {
            round_trip(Tensor::new("x", d, vec![3], Data::Int(vec![-3, 0, 7])).expect("t"));
        }
        for d in [DType::U8, DType::U16, DType::U32, DType::U64] {
            round_trip(Tensor::new("x", d, vec![3], Data::UInt(vec![0, 1, 200])).expect("t"));
        }
        round_trip(
            Tensor::new("x", DType::Bool, vec![2], Data::Bool(vec![true, false])).expect("t"),
        );
        round_trip(
            Tensor::new(
                "x",
                DType::String,
                vec![2],
                Data::Str(vec!["cat".into(), "dög".into()]),
            )
            .expect("t"),
        );
    }

    #[test]
    fn typed_fields_are_read_too() {
        let p = TensorProto {
            dims: vec![3],
            data_type: 1,
            float_data: vec![1.0, 2.0, 3.0],
            name: "scores".into(),
            ..TensorProto::default()
        };
        let t = decode(&p.encode_to_vec(), "x").expect("decodes");
        assert_eq!(t.name, "scores");
        assert_eq!(t.data, Data::Float(vec![1.0, 2.0, 3.0]));
        let p = TensorProto {
            dims: vec![2],
            data_type: 7,
            int64_data: vec![4, 5],
            ..TensorProto::default()
        };
        assert_eq!(
            decode(&p.encode_to_vec(), "label").expect("decodes").name,
            "label"
        );
    }

    #[test]
    fn bad_bytes_and_shapes_are_errors() {
        assert!(
            decode(b"\xff\xff\xff", "x")
                .expect_err("garbage")
                .message
                .starts_with("not a TensorProto")
        );
        let p = TensorProto {
            dims: vec![4],
            data_type: 1,
            float_data: vec![1.0],
            ..TensorProto::default()
        };
        assert!(
            decode(&p.encode_to_vec(), "x")
                .expect_err("short")
                .message
                .contains("holds 4 element(s)")
        );
        let p = TensorProto {
            dims: vec![1],
            data_type: 14,
            ..TensorProto::default()
        };
        assert!(
            decode(&p.encode_to_vec(), "x")
                .expect_err("complex")
                .message
                .contains("unsupported element type 14")
        );
    }
}

//! ONNX `TensorProto` (the `input_K.pb` / `output_K.pb` files of the ONNX test-data layout), read
//! and written with `prost`. Only the fields a test-data tensor uses are declared; the message is
//! the one in `onnx.proto3` (field numbers and types as there).
//!
//! Outputs that are not tensors are stored the way ONNX's own test data stores them
//! (`onnx.numpy_helper.from_list` / `from_dict`): a sequence of maps (ZipMap) as a
//! `SequenceProto` of `elem_type` MAP whose `map_values` are `MapProto`s, a single map as a
//! `MapProto`; a map's values are a `SequenceProto` of scalar `TensorProto`s. [`decode`] reads a
//! file as a `TensorProto` first and falls back to these.

use half::{bf16, f16};
use prost::Message;

use crate::tensor::{DType, Data, Key, Map, Tensor, TensorError};

/// `onnx.SequenceProto` (tensor and map elements; `sequence_values` is field 5).
#[derive(Clone, PartialEq, Message)]
pub struct SequenceProto {
    #[prost(string, tag = "1")]
    pub name: String,
    /// 1 TENSOR, 4 MAP.
    #[prost(int32, tag = "2")]
    pub elem_type: i32,
    #[prost(message, repeated, tag = "3")]
    pub tensor_values: Vec<TensorProto>,
    #[prost(message, repeated, tag = "6")]
    pub map_values: Vec<MapProto>,
}

/// `onnx.MapProto`.
#[derive(Clone, PartialEq, Message)]
pub struct MapProto {
    #[prost(string, tag = "1")]
    pub name: String,
    /// A `TensorProto.DataType`: an integer type or STRING (8).
    #[prost(int32, tag = "2")]
    pub key_type: i32,
    #[prost(int64, repeated, tag = "3")]
    pub keys: Vec<i64>,
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub string_keys: Vec<Vec<u8>>,
    #[prost(message, optional, tag = "5")]
    pub values: Option<SequenceProto>,
}

const SEQ_TENSOR: i32 = 1;
const SEQ_MAP: i32 = 4;

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
    match decode_tensor(bytes, fallback_name) {
        Ok(t) => Ok(t),
        Err(tensor_error) => decode_maps(bytes, fallback_name).unwrap_or(Err(tensor_error)),
    }
}

/// A `SequenceProto` of maps or a `MapProto`; `None` when the bytes are neither (the caller
/// reports them as a bad `TensorProto`).
fn decode_maps(bytes: &[u8], fallback_name: &str) -> Option<Result<Tensor, TensorError>> {
    let named = |name: &str| {
        if name.is_empty() {
            fallback_name.to_owned()
        } else {
            name.to_owned()
        }
    };
    if let Ok(seq) = SequenceProto::decode(bytes)
        && seq.elem_type == SEQ_MAP
        && seq.tensor_values.is_empty()
    {
        let name = named(&seq.name);
        let mut maps = Vec::with_capacity(seq.map_values.len());
        let mut types = None;
        for (i, m) in seq.map_values.iter().enumerate() {
            let (k, v, map) = match map_of(m) {
                Ok(x) => x,
                Err(message) => {
                    return Some(Err(TensorError {
                        name,
                        message: format!("map {i} of the SequenceProto: {message}"),
                    }));
                }
            };
            if types.is_some_and(|t| t != (k, v)) {
                return Some(Err(TensorError {
                    name,
                    message: format!("map {i} of the SequenceProto has other key or value types"),
                }));
            }
            types = Some((k, v));
            maps.push(map);
        }
        // An empty sequence says nothing about its maps' types: ZipMap's int64 → float.
        let (k, v) = types.unwrap_or((DType::I64, DType::F32));
        return Some(Tensor::maps(name, k, v, maps, true));
    }
    let m = MapProto::decode(bytes).ok()?;
    let valid_key = m.key_type == 8 || DType::from_onnx(m.key_type).is_some_and(DType::is_int);
    if !valid_key || m.values.is_none() {
        return None;
    }
    let name = named(&m.name);
    Some(
        map_of(&m)
            .map_err(|message| TensorError {
                name: name.clone(),
                message: format!("MapProto: {message}"),
            })
            .and_then(|(k, v, map)| Tensor::maps(name.clone(), k, v, vec![map], false)),
    )
}

/// One `MapProto`: its key type, value type and entries.
fn map_of(m: &MapProto) -> Result<(DType, DType, Map), String> {
    let key = DType::from_onnx(m.key_type)
        .filter(|d| *d == DType::String || d.is_int())
        .ok_or_else(|| format!("unsupported key type {}", m.key_type))?;
    let keys: Vec<Key> = if key == DType::String {
        m.string_keys
            .iter()
            .map(|k| Key::Str(String::from_utf8_lossy(k).into_owned()))
            .collect()
    } else {
        m.keys.iter().map(|k| Key::Int(*k)).collect()
    };
    let values = m.values.as_ref().ok_or("no values")?;
    if values.elem_type != SEQ_TENSOR {
        return Err(format!(
            "values of element type {} (only tensors of floats are supported)",
            values.elem_type
        ));
    }
    let mut dtype = None;
    let mut flat = Vec::new();
    for t in &values.tensor_values {
        let t = decode_tensor(&t.encode_to_vec(), "value").map_err(|e| e.message)?;
        let Data::Float(v) = t.data else {
            return Err(format!("{} values (only floats are supported)", t.dtype));
        };
        if dtype.is_some_and(|d| d != t.dtype) {
            return Err("values of different types".into());
        }
        dtype = Some(t.dtype);
        flat.extend(v);
    }
    if flat.len() != keys.len() {
        return Err(format!("{} key(s) but {} value(s)", keys.len(), flat.len()));
    }
    Ok((
        key,
        dtype.unwrap_or(DType::F32),
        keys.into_iter().zip(flat).collect(),
    ))
}

fn decode_tensor(bytes: &[u8], fallback_name: &str) -> Result<Tensor, TensorError> {
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

/// Encodes a tensor as a `TensorProto` (values in `raw_data`, strings in `string_data`); a
/// sequence of maps as a `SequenceProto`, a map as a `MapProto` (see the module docs).
pub fn encode(t: &Tensor) -> Vec<u8> {
    if let Data::Maps { key, maps } = &t.data {
        let map_proto = |m: &Map| {
            let scalar = |x: f64| {
                let v = Tensor {
                    name: String::new(),
                    dtype: t.dtype,
                    shape: Vec::new(),
                    data: Data::Float(vec![x]),
                };
                TensorProto::decode(encode(&v).as_slice()).unwrap_or_default()
            };
            MapProto {
                name: String::new(),
                key_type: key.onnx_code(),
                keys: m
                    .iter()
                    .filter_map(|(k, _)| match k {
                        Key::Int(k) => Some(*k),
                        Key::Str(_) => None,
                    })
                    .collect(),
                string_keys: m
                    .iter()
                    .filter_map(|(k, _)| match k {
                        Key::Str(k) => Some(k.clone().into_bytes()),
                        Key::Int(_) => None,
                    })
                    .collect(),
                values: Some(SequenceProto {
                    elem_type: SEQ_TENSOR,
                    tensor_values: m.iter().map(|(_, x)| scalar(*x)).collect(),
                    ..SequenceProto::default()
                }),
            }
        };
        if t.shape.is_empty()
            && let [m] = maps.as_slice()
        {
            let mut p = map_proto(m);
            p.name = t.name.clone();
            return p.encode_to_vec();
        }
        return SequenceProto {
            name: t.name.clone(),
            elem_type: SEQ_MAP,
            tensor_values: Vec::new(),
            map_values: maps.iter().map(map_proto).collect(),
        }
        .encode_to_vec();
    }
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
        (Data::Maps { .. }, _) => {}
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
    fn sequences_of_maps_and_maps_round_trip() {
        let maps = vec![
            vec![(Key::Int(0), 0.25), (Key::Int(1), 0.75)],
            vec![(Key::Int(0), 1.0), (Key::Int(1), 0.0)],
        ];
        round_trip(Tensor::maps("p", DType::I64, DType::F32, maps, true).expect("t"));
        round_trip(Tensor::maps("p", DType::I64, DType::F32, Vec::new(), true).expect("t"));
        let one = vec![vec![
            (Key::Str("cat".into()), 0.5),
            (Key::Str("dog".into()), 0.5),
        ]];
        round_trip(Tensor::maps("m", DType::String, DType::F64, one, false).expect("t"));
        // A map whose values do not match its keys is an error naming the file's tensor.
        let bad = SequenceProto {
            name: "p".into(),
            elem_type: SEQ_MAP,
            map_values: vec![MapProto {
                key_type: 7,
                keys: vec![0, 1],
                values: Some(SequenceProto {
                    elem_type: SEQ_TENSOR,
                    ..SequenceProto::default()
                }),
                ..MapProto::default()
            }],
            ..SequenceProto::default()
        };
        let e = decode(&bad.encode_to_vec(), "x").expect_err("mismatch");
        assert_eq!(
            e.to_string(),
            "tensor `p`: map 0 of the SequenceProto: 2 key(s) but 0 value(s)"
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

//! Inference answers: written by the service ([`OutputTensor`]), read by the client
//! ([`parse_outputs`]).
//!
//! Answers carry `data` flat, each float in the shortest form that reads back to the same
//! value of its own width (`FP32` as `f32`); a non-finite float is written as `null`, since JSON
//! has no NaN or infinity. Read answers may hold nested `data`, the bare tokens `NaN`,
//! `Infinity`, `-Infinity` (see [`super::quote_nonfinite`]), their strings, and `null` (as NaN);
//! values are rounded to the declared width.

use modelci_tensor::tensor::{DType, Data, Tensor};
use serde::Serialize;
use serde_json::Value;

use super::{datatype_name, kind, shape as read_shape, tensor_data};

/// An output tensor in the protocol's JSON encoding.
#[derive(Debug, Serialize)]
pub struct OutputTensor {
    name: String,
    datatype: &'static str,
    shape: Vec<i64>,
    data: OutData,
}

/// Values serialized at their own width (serde_json writes an `f32` in the shortest form that
/// reads back to the same `f32`, and a non-finite float as `null`).
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum OutData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    Int(Vec<i64>),
    UInt(Vec<u64>),
    Bool(Vec<bool>),
    Str(Vec<String>),
}

impl OutputTensor {
    /// Encodes a tensor that a model produced.
    ///
    /// # Errors
    /// A sequence of maps or a map (ZipMap's probabilities): the Open Inference Protocol has
    /// tensors only.
    pub fn from_tensor(t: Tensor) -> Result<OutputTensor, String> {
        let data = match t.data {
            // float16, bfloat16 and float32 values are all exact as f32.
            Data::Float(v) if t.dtype != DType::F64 => {
                OutData::F32(v.into_iter().map(|x| x as f32).collect())
            }
            Data::Float(v) => OutData::F64(v),
            Data::Int(v) => OutData::Int(v),
            Data::UInt(v) => OutData::UInt(v),
            Data::Bool(v) => OutData::Bool(v),
            Data::Str(v) => OutData::Str(v),
            Data::Maps { .. } => {
                return Err(format!(
                    "output `{}` is a {}, which the Open Inference Protocol cannot carry (tensors only); export the model with tensor outputs (skl2onnx: options={{'zipmap': False}})",
                    t.name,
                    t.type_text()
                ));
            }
        };
        Ok(OutputTensor {
            name: t.name,
            datatype: datatype_name(t.dtype),
            shape: t.shape,
            data,
        })
    }
}

/// An answer's JSON written in pieces as it is sent: `head` (everything before the outputs'
/// values, ending in `"outputs":[`), each output (as [`OutputTensor`] serializes it, its values
/// formatted a chunk at a time), then `tail`. The text of a large answer is never held whole:
/// only its tensors and one chunk are.
pub struct Chunks {
    head: Option<Vec<u8>>,
    outputs: std::vec::IntoIter<OutputTensor>,
    current: Option<(OutputTensor, usize)>,
    started: bool,
    tail: Option<Vec<u8>>,
    chunk: usize,
}

impl Chunks {
    /// The pieces of an answer, about `chunk` bytes each.
    pub fn new(head: Vec<u8>, outputs: Vec<OutputTensor>, tail: Vec<u8>, chunk: usize) -> Chunks {
        Chunks {
            head: Some(head),
            outputs: outputs.into_iter(),
            current: None,
            started: false,
            tail: Some(tail),
            chunk: chunk.max(64),
        }
    }

    /// The next piece, or `None` when the answer is whole.
    pub fn next_chunk(&mut self) -> Option<Vec<u8>> {
        let mut buf = self.head.take().unwrap_or_default();
        while buf.len() < self.chunk {
            let Some((t, i)) = self.current.as_mut() else {
                match self.outputs.next() {
                    Some(t) => {
                        if self.started {
                            buf.push(b',');
                        }
                        self.started = true;
                        // Everything but the values, as serde writes the struct.
                        buf.extend_from_slice(b"{\"name\":");
                        let _ = serde_json::to_writer(&mut buf, &t.name);
                        buf.extend_from_slice(b",\"datatype\":");
                        let _ = serde_json::to_writer(&mut buf, &t.datatype);
                        buf.extend_from_slice(b",\"shape\":");
                        let _ = serde_json::to_writer(&mut buf, &t.shape);
                        buf.extend_from_slice(b",\"data\":[");
                        self.current = Some((t, 0));
                        continue;
                    }
                    None => {
                        if let Some(tail) = self.tail.take() {
                            buf.extend_from_slice(&tail);
                        }
                        break;
                    }
                }
            };
            let len = t.data.len();
            while *i < len && buf.len() < self.chunk {
                if *i > 0 {
                    buf.push(b',');
                }
                t.data.write(*i, &mut buf);
                *i += 1;
            }
            if *i >= len {
                buf.extend_from_slice(b"]}");
                self.current = None;
            }
        }
        (!buf.is_empty()).then_some(buf)
    }
}

impl OutData {
    fn len(&self) -> usize {
        match self {
            OutData::F32(v) => v.len(),
            OutData::F64(v) => v.len(),
            OutData::Int(v) => v.len(),
            OutData::UInt(v) => v.len(),
            OutData::Bool(v) => v.len(),
            OutData::Str(v) => v.len(),
        }
    }

    /// Writes value `i` as serde_json writes it.
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        let _ = match self {
            OutData::F32(v) => serde_json::to_writer(&mut *out, &v[i]),
            OutData::F64(v) => serde_json::to_writer(&mut *out, &v[i]),
            OutData::Int(v) => serde_json::to_writer(&mut *out, &v[i]),
            OutData::UInt(v) => serde_json::to_writer(&mut *out, &v[i]),
            OutData::Bool(v) => serde_json::to_writer(&mut *out, &v[i]),
            OutData::Str(v) => serde_json::to_writer(&mut *out, &v[i]),
        };
    }
}

/// The `outputs` of an inference answer, as tensors, in the answer's order.
pub fn parse_outputs(v: &Value) -> Result<Vec<Tensor>, String> {
    let outputs = v
        .get("outputs")
        .ok_or_else(|| format!("{} without `outputs`", kind(v)))?
        .as_array()
        .ok_or("`outputs` is not a list")?;
    outputs
        .iter()
        .enumerate()
        .map(|(k, o)| {
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("outputs[{k}] has no `name` string"))?;
            parse_output(name, o).map_err(|m| format!("output `{name}`: {m}"))
        })
        .collect()
}

fn parse_output(name: &str, o: &Value) -> Result<Tensor, String> {
    let datatype = o
        .get("datatype")
        .and_then(Value::as_str)
        .ok_or("no `datatype` string")?;
    let dtype = DType::parse(datatype)
        .ok_or_else(|| format!("datatype `{datatype}` is not one modelci knows"))?;
    let shape = read_shape(
        o.get("shape")
            .and_then(Value::as_array)
            .ok_or("no `shape` list")?,
    )
    .ok_or("`shape` is not a list of non-negative integers")?;
    let data = o.get("data").ok_or(
        "no `data` (binary tensor data, the protocol's binary extension, is not supported)",
    )?;
    let data = tensor_data(dtype, &shape, data, true)?;
    Tensor::new(name, dtype, shape, data).map_err(|e| e.message)
}

#[cfg(test)]
mod chunk_tests {
    use super::*;

    #[test]
    fn the_pieces_make_the_serialized_answer() {
        let tensors = || {
            vec![
                Tensor::new("label", DType::I64, vec![3], Data::Int(vec![0, 2, 1])).expect("t"),
                Tensor::new(
                    "p",
                    DType::F32,
                    vec![3, 2],
                    Data::Float(vec![0.1, 0.9, f64::NAN, 0.5, 1e-7, 1.0]),
                )
                .expect("t"),
                Tensor::new("s", DType::String, vec![1], Data::Str(vec!["a\"b".into()]))
                    .expect("t"),
            ]
        };
        let outputs = |ts: Vec<Tensor>| -> Vec<OutputTensor> {
            ts.into_iter()
                .map(|t| OutputTensor::from_tensor(t).expect("out"))
                .collect()
        };
        let whole = serde_json::to_vec(&serde_json::json!({"model_name": "m"})).expect("json");
        let expected = format!(
            "{{\"model_name\":\"m\",\"outputs\":{}}}",
            serde_json::to_string(&outputs(tensors())).expect("json")
        );
        assert!(whole.starts_with(b"{"));
        for chunk in [64, 100, 1 << 16] {
            let mut pieces = Chunks::new(
                b"{\"model_name\":\"m\",\"outputs\":[".to_vec(),
                outputs(tensors()),
                b"]}".to_vec(),
                chunk,
            );
            let mut got = Vec::new();
            while let Some(p) = pieces.next_chunk() {
                got.extend_from_slice(&p);
            }
            assert_eq!(
                String::from_utf8(got).expect("utf8"),
                expected,
                "chunk {chunk}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn outputs_are_written_at_their_width() {
        let t = Tensor::new(
            "p",
            DType::F32,
            vec![3],
            Data::Float(vec![f64::from(0.1f32), f64::NAN, 1.0]),
        )
        .expect("tensor");
        let text =
            serde_json::to_string(&OutputTensor::from_tensor(t).expect("tensor")).expect("json");
        assert_eq!(
            text,
            r#"{"name":"p","datatype":"FP32","shape":[3],"data":[0.1,null,1.0]}"#
        );
        let l = Tensor::new("l", DType::I64, vec![2], Data::Int(vec![2, -1])).expect("t");
        let v = serde_json::to_value(OutputTensor::from_tensor(l).expect("tensor")).expect("json");
        assert_eq!(v["data"], json!([2, -1]));
    }
}

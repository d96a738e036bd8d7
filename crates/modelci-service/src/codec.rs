//! The Open Inference Protocol's JSON tensors: reading an inference request into [`Tensor`]s
//! checked against the model's inputs, and writing outputs back.
//!
//! Requests: `{"id"?, "parameters"?, "inputs": [{"name", "shape", "datatype", "parameters"?,
//! "data"}], "outputs"?: [{"name", "parameters"?}]}`. `data` is the row-major list of values,
//! flat or nested (nesting is ignored; the count must match the shape). Every input of the model
//! must be given once, with the model's datatype, its rank, and its fixed dimensions; dynamic
//! dimensions (`-1` in the metadata) take any size. Float values are JSON numbers (the strings
//! `"NaN"`, `"Infinity"`, `"-Infinity"` are read too), integers must fit their type, `BOOL` takes
//! `true`/`false` (or 0/1), `BYTES` takes strings. The binary data extension is refused with a
//! clear message.
//!
//! Responses carry `data` flat, each float in the shortest form that reads back to the same
//! value of its own width (`FP32` as `f32`); a non-finite float is written as `null`, since JSON
//! has no NaN or infinity.

use modelci_model::endpoint::v2_datatype;
use modelci_model::runtime::Port;
use modelci_model::{DType, Data, Tensor};
use serde::Serialize;
use serde_json::{Map, Value};

/// Every datatype of the protocol, for messages.
const DATATYPES: &str =
    "BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES";

/// A protocol datatype name (exactly as the protocol spells it), as an element type.
pub(crate) fn parse_datatype(name: &str) -> Option<DType> {
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

/// A checked inference request.
#[derive(Debug)]
pub(crate) struct InferRequest {
    pub id: Option<String>,
    /// In the model's input order.
    pub inputs: Vec<Tensor>,
    /// The outputs asked for, in the order asked; empty for all of them, in the model's order.
    pub outputs: Vec<String>,
}

/// What a JSON value is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn names(ports: &[Port]) -> String {
    let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("{what} must be a JSON object, not {}", kind(v)))
}

/// Refuses the binary data extension's parameters (`binary_data_size`, `binary_data`,
/// `binary_data_output`) when they ask for binary data.
fn no_binary(parameters: Option<&Value>, what: &str) -> Result<(), String> {
    let Some(p) = parameters else {
        return Ok(());
    };
    let p = object(p, &format!("{what} `parameters`"))?;
    for key in ["binary_data_size", "binary_data", "binary_data_output"] {
        match p.get(key) {
            None | Some(Value::Bool(false)) | Some(Value::Null) => {}
            Some(_) => {
                return Err(format!(
                    "{what} asks for binary tensor data (`{key}`); the binary data extension is not supported, send tensors as JSON `data`"
                ));
            }
        }
    }
    Ok(())
}

/// Reads and checks an inference request for a model with these inputs and outputs.
///
/// # Errors
/// A message saying what is wrong (invalid JSON, a missing or unknown input, a datatype, shape
/// or element count that does not fit, a value of the wrong type), for a 400 answer.
pub(crate) fn parse_request(
    body: &[u8],
    model: &str,
    inputs: &[Port],
    outputs: &[Port],
) -> Result<InferRequest, String> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let root = object(&root, "the request")?;
    let id = match root.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(format!("`id` must be a string, not {}", kind(other))),
    };
    no_binary(root.get("parameters"), "the request")?;
    let given = match root.get("inputs") {
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("`inputs` must be a list, not {}", kind(other))),
        None => return Err("the request has no `inputs` list".to_owned()),
    };
    let mut found: Vec<Option<Tensor>> = vec![None; inputs.len()];
    for (k, item) in given.iter().enumerate() {
        let (slot, tensor) = parse_input(item, k, model, inputs)?;
        if found[slot].is_some() {
            return Err(format!("input `{}` is given twice", tensor.name));
        }
        found[slot] = Some(tensor);
    }
    let mut tensors = Vec::with_capacity(inputs.len());
    for (port, tensor) in inputs.iter().zip(found) {
        match tensor {
            Some(t) => tensors.push(t),
            None => {
                return Err(format!(
                    "model `{model}` needs input `{}`, which the request does not give",
                    port.name
                ));
            }
        }
    }
    let mut wanted = Vec::new();
    match root.get("outputs") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (k, item) in items.iter().enumerate() {
                let o = object(item, &format!("outputs[{k}]"))?;
                let name = o
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("outputs[{k}] has no `name` string"))?;
                if !outputs.iter().any(|p| p.name == name) {
                    return Err(format!(
                        "model `{model}` has no output `{name}` (its outputs: {})",
                        names(outputs)
                    ));
                }
                if wanted.iter().any(|w| w == name) {
                    return Err(format!("output `{name}` is asked for twice"));
                }
                no_binary(o.get("parameters"), &format!("output `{name}`"))?;
                wanted.push(name.to_owned());
            }
        }
        Some(other) => return Err(format!("`outputs` must be a list, not {}", kind(other))),
    }
    Ok(InferRequest {
        id,
        inputs: tensors,
        outputs: wanted,
    })
}

/// One input: which of the model's inputs it is, and its tensor.
fn parse_input(
    item: &Value,
    k: usize,
    model: &str,
    inputs: &[Port],
) -> Result<(usize, Tensor), String> {
    let o = object(item, &format!("inputs[{k}]"))?;
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("inputs[{k}] has no `name` string"))?;
    let slot = inputs.iter().position(|p| p.name == name).ok_or_else(|| {
        format!(
            "model `{model}` has no input `{name}` (its inputs: {})",
            names(inputs)
        )
    })?;
    let port = &inputs[slot];
    let at = |m: String| format!("input `{name}`: {m}");
    let datatype = o
        .get("datatype")
        .and_then(Value::as_str)
        .ok_or_else(|| at("no `datatype` string".into()))?;
    let dtype = parse_datatype(datatype).ok_or_else(|| {
        at(format!(
            "`{datatype}` is not a datatype of the Open Inference Protocol ({DATATYPES})"
        ))
    })?;
    let expected = port.dtype.ok_or_else(|| {
        at(format!(
            "model `{model}` takes a type that this service cannot read from JSON"
        ))
    })?;
    if dtype != expected {
        return Err(at(format!(
            "datatype {datatype} given, but model `{model}` takes {}",
            v2_datatype(expected)
        )));
    }
    let shape = match o.get("shape") {
        Some(Value::Array(dims)) => dims
            .iter()
            .map(|d| d.as_i64().filter(|d| *d >= 0))
            .collect::<Option<Vec<i64>>>()
            .ok_or_else(|| at("`shape` must be a list of non-negative integers".into()))?,
        Some(other) => return Err(at(format!("`shape` must be a list, not {}", kind(other)))),
        None => return Err(at("no `shape` list".into())),
    };
    if !port.shape.is_empty() {
        let fits = shape.len() == port.shape.len()
            && shape
                .iter()
                .zip(&port.shape)
                .all(|(given, want)| *want < 0 || given == want);
        if !fits {
            return Err(at(format!(
                "shape {shape:?} does not fit model `{model}`'s {:?} (-1: any size)",
                port.shape
            )));
        }
    }
    no_binary(o.get("parameters"), &format!("input `{name}`"))?;
    let data = o.get("data").ok_or_else(|| {
        at("no `data` (binary tensor data, the binary data extension, is not supported)".into())
    })?;
    let mut leaves = Vec::new();
    modelci_model::v2::flatten(data, &mut leaves);
    let count = shape
        .iter()
        .try_fold(1usize, |acc, d| acc.checked_mul(usize::try_from(*d).ok()?))
        .ok_or_else(|| {
            at(format!(
                "shape {shape:?} holds more elements than can be counted"
            ))
        })?;
    if count != leaves.len() {
        return Err(at(format!(
            "shape {shape:?} holds {count} element(s) but `data` has {}",
            leaves.len()
        )));
    }
    let values = modelci_model::v2::values(dtype, &leaves, false).map_err(at)?;
    let tensor = Tensor::new(name, dtype, shape, values).map_err(|e| e.to_string())?;
    Ok((slot, tensor))
}

/// An inference response.
#[derive(Debug, Serialize)]
pub(crate) struct InferResponse<'a> {
    pub model_name: &'a str,
    pub model_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub parameters: ResponseParameters,
    pub outputs: Vec<OutputTensor>,
}

/// The response's `parameters`: which model answered, and the breaker's phase after it did.
#[derive(Debug, Serialize)]
pub(crate) struct ResponseParameters {
    /// `primary` or `fallback`.
    pub served_by: &'static str,
    /// `closed`, `open` or `half_open`.
    pub breaker: &'static str,
}

/// An output tensor in the protocol's JSON encoding.
#[derive(Debug, Serialize)]
pub(crate) struct OutputTensor {
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
    pub(crate) fn from_tensor(t: Tensor) -> OutputTensor {
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
        };
        OutputTensor {
            name: t.name,
            datatype: v2_datatype(t.dtype),
            shape: t.shape,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn port(name: &str, dtype: DType, shape: &[i64]) -> Port {
        Port {
            name: name.to_owned(),
            dtype: Some(dtype),
            shape: shape.to_vec(),
        }
    }

    fn mlp() -> (Vec<Port>, Vec<Port>) {
        (
            vec![port("input", DType::F32, &[-1, 2])],
            vec![
                port("label", DType::I64, &[-1]),
                port("probabilities", DType::F32, &[-1, 3]),
            ],
        )
    }

    fn parse(v: Value) -> Result<InferRequest, String> {
        let (i, o) = mlp();
        parse_request(v.to_string().as_bytes(), "mlp", &i, &o)
    }

    #[test]
    fn reads_flat_and_nested_data() {
        let flat = parse(json!({"id": "r1", "inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP32", "data": [0.1, 2, 3, 4]}]}))
            .expect("flat");
        assert_eq!(flat.id.as_deref(), Some("r1"));
        let t = &flat.inputs[0];
        assert_eq!(t.shape, vec![2, 2]);
        assert_eq!(t.data, Data::Float(vec![f64::from(0.1f32), 2.0, 3.0, 4.0]));
        let nested = parse(json!({"inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP32", "data": [[0.1, 2], [3, 4]], "parameters": {}}], "outputs": [{"name": "probabilities"}], "parameters": {"x": 1}}))
            .expect("nested");
        assert_eq!(nested.inputs[0].data, t.data);
        assert_eq!(nested.outputs, vec!["probabilities".to_owned()]);
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let e = |v: Value| parse(v).expect_err("refused");
        let (i, o) = mlp();
        let raw = parse_request(b"{not json", "mlp", &i, &o).expect_err("json");
        assert!(raw.starts_with("the body is not valid JSON"), "{raw}");
        assert_eq!(
            e(json!([1])),
            "the request must be a JSON object, not a list"
        );
        assert_eq!(e(json!({})), "the request has no `inputs` list");
        assert_eq!(
            e(json!({"inputs": []})),
            "model `mlp` needs input `input`, which the request does not give"
        );
        let input = |extra: Value| {
            let mut base =
                json!({"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]});
            if let (Some(b), Some(x)) = (base.as_object_mut(), extra.as_object()) {
                for (k, v) in x {
                    b.insert(k.clone(), v.clone());
                }
            }
            json!({"inputs": [base]})
        };
        assert_eq!(
            e(input(json!({"name": "x"}))),
            "model `mlp` has no input `x` (its inputs: input)"
        );
        assert_eq!(
            e(input(json!({"datatype": "FP64"}))),
            "input `input`: datatype FP64 given, but model `mlp` takes FP32"
        );
        assert!(e(input(json!({"datatype": "float32"}))).contains("is not a datatype"));
        assert_eq!(
            e(input(json!({"shape": [1, 3], "data": [1, 2, 3]}))),
            "input `input`: shape [1, 3] does not fit model `mlp`'s [-1, 2] (-1: any size)"
        );
        assert_eq!(
            e(input(json!({"shape": [2, 2]}))),
            "input `input`: shape [2, 2] holds 4 element(s) but `data` has 2"
        );
        assert_eq!(
            e(input(json!({"data": [1, "a"]}))),
            "input `input`: element 1 (\"a\") is not a FP32 value"
        );
        assert!(e(input(json!({"shape": [-1, 2]}))).contains("non-negative integers"));
        assert!(e(input(json!({"parameters": {"binary_data_size": 8}}))).contains("binary"));
        let twice = json!({"inputs": [
            {"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]},
            {"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]});
        assert_eq!(e(twice), "input `input` is given twice");
        let mut unknown_output = input(json!({}));
        unknown_output["outputs"] = json!([{"name": "logits"}]);
        assert_eq!(
            e(unknown_output),
            "model `mlp` has no output `logits` (its outputs: label, probabilities)"
        );
        let mut bad_id = input(json!({}));
        bad_id["id"] = json!(7);
        assert_eq!(e(bad_id), "`id` must be a string, not a number");
    }

    #[test]
    fn integer_and_other_types_are_range_checked() {
        let leaves = |v: Value| v.as_array().cloned().unwrap_or_default();
        let read = |d: DType, v: Value| {
            let l = leaves(v);
            let refs: Vec<&Value> = l.iter().collect();
            modelci_model::v2::values(d, &refs, false)
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

    #[test]
    fn outputs_are_written_at_their_width() {
        let t = Tensor::new(
            "p",
            DType::F32,
            vec![3],
            Data::Float(vec![f64::from(0.1f32), f64::NAN, 1.0]),
        )
        .expect("tensor");
        let text = serde_json::to_string(&OutputTensor::from_tensor(t)).expect("json");
        assert_eq!(
            text,
            r#"{"name":"p","datatype":"FP32","shape":[3],"data":[0.1,null,1.0]}"#
        );
        let l = Tensor::new("l", DType::I64, vec![2], Data::Int(vec![2, -1])).expect("t");
        let v = serde_json::to_value(OutputTensor::from_tensor(l)).expect("json");
        assert_eq!(v["data"], json!([2, -1]));
    }
}

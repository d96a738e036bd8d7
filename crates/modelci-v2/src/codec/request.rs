//! Inference requests: written by the client ([`encode`]), read and checked against a model's
//! inputs by the service ([`parse_request`]).
//!
//! Requests: `{"id"?, "parameters"?, "inputs": [{"name", "shape", "datatype", "parameters"?,
//! "data"}], "outputs"?: [{"name", "parameters"?}]}`. `data` is the row-major list of values,
//! flat or nested (nesting is ignored; the count must match the shape). Every input of the model
//! must be given once, with the model's datatype, its rank, and its fixed dimensions; dynamic
//! dimensions (`-1` in the metadata) take any size. Float values are JSON numbers (the strings
//! `"NaN"`, `"Infinity"`, `"-Infinity"` are read too), integers must fit their type, `BOOL` takes
//! `true`/`false` (or 0/1), `BYTES` takes strings. The binary data extension is refused with a
//! clear message.

use std::fmt::Write as _;

use modelci_tensor::runtime::Port;
use modelci_tensor::tensor::{DType, Data, Tensor};
use serde_json::{Map, Value};

use serde_json::value::RawValue;

use super::{datatype_name, kind, parse_datatype, shape as read_shape, tensor_data_raw};

/// Every datatype of the protocol, for messages.
const DATATYPES: &str =
    "BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES";

/// A checked inference request.
#[derive(Debug)]
pub struct InferRequest {
    /// The request's `id`, when it gives one.
    pub id: Option<String>,
    /// In the model's input order.
    pub inputs: Vec<Tensor>,
    /// The outputs asked for, in the order asked; empty for all of them, in the model's order.
    pub outputs: Vec<String>,
}

fn names(ports: &[Port]) -> String {
    let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// A JSON object's members as text, in their order (a later duplicate key wins, as with
/// `serde_json::Value`); the message for anything else names `what`.
fn raw_object<'a>(text: &'a [u8], what: &str) -> Result<Vec<(Key<'a>, &'a RawValue)>, String> {
    let first = text
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied()
        .unwrap_or(b' ');
    if first != b'{' {
        // Not an object: say what it is (reading it whole is fine, it is refused).
        let v: Value =
            serde_json::from_slice(text).map_err(|e| format!("the body is not valid JSON: {e}"))?;
        return Err(format!("{what} must be a JSON object, not {}", kind(&v)));
    }
    let members = serde_json::from_slice::<RawMembers<'a>>(text)
        .map_err(|e| format!("the body is not valid JSON: {e}"))?
        .0;
    let mut out: Vec<(Key<'a>, &'a RawValue)> = Vec::with_capacity(members.len());
    for (k, v) in members {
        match out.iter_mut().find(|(seen, _)| seen.0 == k.0) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    Ok(out)
}

/// A member's name: borrowed from the text, or unescaped when it has escapes.
pub(crate) struct Key<'a>(std::borrow::Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Key<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'a>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'a>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// An object's members, borrowed from the text.
struct RawMembers<'a>(Vec<(Key<'a>, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawMembers<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Members<'a> {
            type Value = RawMembers<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Key<'a>, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(RawMembers(out))
            }
        }
        d.deserialize_map(Members(std::marker::PhantomData))
    }
}

/// Looks a member up.
trait Members<'a> {
    fn get(&self, key: &str) -> Option<&'a RawValue>;
}

impl<'a> Members<'a> for Vec<(Key<'a>, &'a RawValue)> {
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.iter().find(|(k, _)| k.0 == key).map(|(_, v)| *v)
    }
}

/// A member that is small (everything but tensor data) as a JSON value.
fn small(raw: &RawValue) -> Result<Value, String> {
    serde_json::from_str(raw.get()).map_err(|e| format!("the body is not valid JSON: {e}"))
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
pub fn parse_request(
    body: &[u8],
    model: &str,
    inputs: &[Port],
    outputs: &[Port],
) -> Result<InferRequest, String> {
    // The body is read without building a JSON tree of the tensors' values: each input's
    // `data` stays text until its datatype and shape are known, then becomes values directly.
    let root = raw_object(body, "the request")?;
    let id = match root.get("id").map(small).transpose()? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => return Err(format!("`id` must be a string, not {}", kind(&other))),
    };
    let parameters = root.get("parameters").map(small).transpose()?;
    no_binary(parameters.as_ref(), "the request")?;
    let given: Vec<&RawValue> = match root.get("inputs") {
        Some(r) if r.get().trim_start().starts_with('[') => {
            serde_json::from_str(r.get()).map_err(|e| format!("the body is not valid JSON: {e}"))?
        }
        Some(r) => return Err(format!("`inputs` must be a list, not {}", kind(&small(r)?))),
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
    let asked = root.get("outputs").map(small).transpose()?;
    match asked.as_ref() {
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
    item: &RawValue,
    k: usize,
    model: &str,
    inputs: &[Port],
) -> Result<(usize, Tensor), String> {
    let raw = raw_object(item.get().as_bytes(), &format!("inputs[{k}]"))?;
    // Every key but `data` as JSON values (they are small); `data` read later, as values.
    let mut o = Map::new();
    for (key, r) in &raw {
        if key.0 != "data" {
            o.insert(key.0.clone().into_owned(), small(r)?);
        }
    }
    let o = &o;
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
            datatype_name(expected)
        )));
    }
    let shape = match o.get("shape") {
        Some(Value::Array(dims)) => read_shape(dims)
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
    let data = raw.get("data").ok_or_else(|| {
        at("no `data` (binary tensor data, the binary data extension, is not supported)".into())
    })?;
    let values = tensor_data_raw(dtype, &shape, data).map_err(at)?;
    if shape.contains(&0) {
        return Err(at(format!(
            "shape {shape:?} holds no element: an inference needs at least one"
        )));
    }
    let tensor = Tensor::new(name, dtype, shape, values).map_err(|e| e.to_string())?;
    Ok((slot, tensor))
}

/// The JSON body of an inference request: every input, and every one of `outputs` asked for by
/// name; `nonfinite_tokens` writes NaN and infinities as the bare tokens `NaN`, `Infinity` and
/// `-Infinity` (not JSON), else inputs holding them are refused.
///
/// # Errors
/// A message: values of the wrong kind for a tensor's type, or NaN and infinities that JSON
/// cannot carry.
pub fn encode(
    inputs: &[Tensor],
    outputs: &[Port],
    nonfinite_tokens: bool,
) -> Result<String, String> {
    let mut body = String::from("{\"inputs\":[");
    for (k, t) in inputs.iter().enumerate() {
        if k > 0 {
            body.push(',');
        }
        let _ = write!(
            body,
            "{{\"name\":{},\"shape\":{},\"datatype\":\"{}\",\"data\":",
            Value::String(t.name.clone()),
            Value::from(t.shape.clone()),
            datatype_name(t.dtype)
        );
        write_data(&mut body, t, nonfinite_tokens)?;
        body.push('}');
    }
    body.push(']');
    if !outputs.is_empty() {
        body.push_str(",\"outputs\":[");
        for (k, p) in outputs.iter().enumerate() {
            if k > 0 {
                body.push(',');
            }
            let _ = write!(body, "{{\"name\":{}}}", Value::String(p.name.clone()));
        }
        body.push(']');
    }
    body.push('}');
    Ok(body)
}

/// Appends a tensor's values as a flat JSON list.
fn write_data(out: &mut String, t: &Tensor, nonfinite_tokens: bool) -> Result<(), String> {
    let wrong = || {
        format!(
            "input `{}`: {} values for a {} tensor",
            t.name,
            data_kind(&t.data),
            datatype_name(t.dtype)
        )
    };
    if t.map_key().is_some() {
        return Err(format!(
            "input `{}`: a {} cannot be sent: the Open Inference Protocol carries tensors only, not sequences or maps",
            t.name,
            t.type_text()
        ));
    }
    out.push('[');
    let sep = |out: &mut String, k: usize| {
        if k > 0 {
            out.push(',');
        }
    };
    match &t.data {
        Data::Float(v) => {
            if !t.dtype.is_float() {
                return Err(wrong());
            }
            let narrow = t.dtype != DType::F64;
            for (k, &wide) in v.iter().enumerate() {
                sep(out, k);
                // What the tensor's type holds: a finite float64 beyond float32's range is an
                // infinity as float32 (and `{:?}` would write it as `inf`, which is not JSON).
                let x = if narrow { f64::from(wide as f32) } else { wide };
                if x.is_finite() {
                    // `{:?}` is the shortest form that reads back to the same value
                    // (`0.1`, `1e-7`, `3.0`), valid JSON for finite numbers.
                    let _ = if narrow {
                        write!(out, "{:?}", x as f32)
                    } else {
                        write!(out, "{x:?}")
                    };
                } else if nonfinite_tokens {
                    out.push_str(if x.is_nan() {
                        "NaN"
                    } else if x > 0.0 {
                        "Infinity"
                    } else {
                        "-Infinity"
                    });
                } else {
                    let what = if x.is_nan() {
                        "NaN"
                    } else if x > 0.0 {
                        "+inf"
                    } else {
                        "-inf"
                    };
                    let overflow = if wide.is_finite() {
                        format!(" ({wide} overflows {})", datatype_name(t.dtype))
                    } else {
                        String::new()
                    };
                    return Err(format!(
                        "input `{}` holds {what}{overflow} at {:?}, which the Open Inference Protocol's JSON encoding cannot carry (JSON numbers have no NaN or infinity); this case cannot be sent to an endpoint",
                        t.name,
                        t.index_of(k)
                    ));
                }
            }
        }
        Data::Int(v) => {
            if !matches!(t.dtype, DType::I8 | DType::I16 | DType::I32 | DType::I64) {
                return Err(wrong());
            }
            for (k, x) in v.iter().enumerate() {
                sep(out, k);
                let _ = write!(out, "{x}");
            }
        }
        Data::UInt(v) => {
            if !matches!(t.dtype, DType::U8 | DType::U16 | DType::U32 | DType::U64) {
                return Err(wrong());
            }
            for (k, x) in v.iter().enumerate() {
                sep(out, k);
                let _ = write!(out, "{x}");
            }
        }
        Data::Bool(v) => {
            if t.dtype != DType::Bool {
                return Err(wrong());
            }
            for (k, x) in v.iter().enumerate() {
                sep(out, k);
                out.push_str(if *x { "true" } else { "false" });
            }
        }
        Data::Str(v) => {
            if t.dtype != DType::String {
                return Err(wrong());
            }
            for (k, x) in v.iter().enumerate() {
                sep(out, k);
                let _ = write!(out, "{}", Value::String(x.clone()));
            }
        }
        Data::Maps { .. } => return Err(wrong()),
    }
    out.push(']');
    Ok(())
}

fn data_kind(d: &Data) -> &'static str {
    match d {
        Data::Float(_) => "floating-point",
        Data::Int(_) => "integer",
        Data::UInt(_) => "unsigned integer",
        Data::Bool(_) => "boolean",
        Data::Str(_) => "string",
        Data::Maps { .. } => "map",
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
    fn the_body_is_read_as_text_whatever_its_spelling() {
        let (i, o) = mlp();
        // Escaped member names, a later duplicate winning, whitespace, nested data.
        let body = br#" { "inputs" : [ { "na\u006de": "input", "shape": [2, 2], "datatype": "INT8",
            "datatype": "FP32", "d\u0061ta": [[1, 2.5], ["NaN", -4]] } ], "id": "x" } "#;
        let r = parse_request(body, "mlp", &i, &o).expect("read");
        assert_eq!(r.id.as_deref(), Some("x"));
        let Data::Float(v) = &r.inputs[0].data else {
            panic!("{:?}", r.inputs[0].data);
        };
        assert_eq!(v.len(), 4);
        assert_eq!((v[0], v[1], v[3]), (1.0, 2.5, -4.0));
        assert!(v[2].is_nan());
        // A count that does not match is reported before a bad value.
        let e = parse(json!({"inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP32", "data": ["x", 1, 2]}]}))
            .expect_err("count");
        assert_eq!(
            e,
            "input `input`: shape [2, 2] holds 4 element(s) but `data` has 3"
        );
        let e = parse(json!({"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [{"a": 1}, 1]}]}))
            .expect_err("object");
        assert_eq!(
            e,
            "input `input`: element 0 ({\"a\":1}) is not a FP32 value"
        );
        let e = parse_request(b"[1, 2]", "mlp", &i, &o).expect_err("list");
        assert_eq!(e, "the request must be a JSON object, not a list");
        let e = parse_request(b"{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 2], \"datatype\": \"FP32\", \"data\": [1, 2", "mlp", &i, &o)
            .expect_err("cut");
        assert!(e.starts_with("the body is not valid JSON"), "{e}");
    }

    #[test]
    fn shapes_too_large_to_count_are_refused() {
        // A model input without a declared shape takes any shape; a zero dimension does not
        // make dimensions that multiply past 2^63 countable.
        let inputs = [port("x", DType::F32, &[])];
        let body = json!({"inputs": [{"name": "x", "shape": [0, 1_i64 << 62, 4], "datatype": "FP32", "data": []}]});
        let e = parse_request(body.to_string().as_bytes(), "m", &inputs, &[]).expect_err("refused");
        assert_eq!(
            e,
            "input `x`: shape [0, 4611686018427387904, 4] is too large (its dimensions multiply past 2^63)"
        );
        let empty =
            json!({"inputs": [{"name": "x", "shape": [0, 4], "datatype": "FP32", "data": []}]});
        // An empty tensor is the client's error (ONNX Runtime would fail on it, and the
        // service's breaker would count a client's mistake against the model).
        let e = parse_request(empty.to_string().as_bytes(), "m", &inputs, &[]).expect_err("empty");
        assert_eq!(
            e,
            "input `x`: shape [0, 4] holds no element: an inference needs at least one"
        );
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
}

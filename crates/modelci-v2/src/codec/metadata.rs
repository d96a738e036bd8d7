//! Model metadata (`GET /v2/models/{name}`): its inputs and outputs read by the client
//! ([`Metadata::parse`]) and written by the service ([`TensorMetadata`]).

use modelci_tensor::runtime::Port;
use modelci_tensor::tensor::DType;
use serde::Serialize;
use serde_json::Value;

use super::{datatype_name, kind};

/// A port as the metadata answer lists it.
#[derive(Debug, Serialize)]
pub struct TensorMetadata<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its datatype name.
    pub datatype: &'static str,
    /// Its shape (`-1` for dynamic dimensions).
    pub shape: &'a [i64],
}

/// The metadata's `inputs` or `outputs` for these ports; a port without a known type is
/// declared `BYTES`.
pub fn ports(ports: &[Port]) -> Vec<TensorMetadata<'_>> {
    ports
        .iter()
        .map(|p| TensorMetadata {
            name: &p.name,
            datatype: p.dtype.map_or("BYTES", datatype_name),
            shape: &p.shape,
        })
        .collect()
}

/// A declared input or output, with its datatype as written.
pub struct DeclaredPort {
    /// The port (`dtype` is `None` for a datatype modelci does not know).
    pub port: Port,
    /// The datatype as declared.
    pub datatype: String,
}

/// The model metadata answer.
pub struct Metadata {
    /// The inputs, in order.
    pub inputs: Vec<DeclaredPort>,
    /// The outputs, in order.
    pub outputs: Vec<DeclaredPort>,
    /// `platform` (`onnxruntime_onnx`, `tensorrt_plan`...), when it says.
    pub platform: Option<String>,
    /// `versions`.
    pub versions: Vec<String>,
}

impl Metadata {
    /// Reads a model metadata answer; datatypes are read leniently ([`DType::parse`]).
    ///
    /// # Errors
    /// A message saying what is not the protocol's.
    pub fn parse(v: &Value) -> Result<Metadata, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("expected a JSON object, got {}", kind(v)))?;
        let ports = |key: &str| -> Result<Vec<DeclaredPort>, String> {
            let Some(list) = obj.get(key) else {
                return Ok(Vec::new());
            };
            let list = list
                .as_array()
                .ok_or_else(|| format!("`{key}` is {}, not a list", kind(list)))?;
            list.iter()
                .enumerate()
                .map(|(k, p)| declared_port(p).map_err(|m| format!("{key}[{k}]: {m}")))
                .collect()
        };
        let inputs = ports("inputs")?;
        let outputs = ports("outputs")?;
        let versions = match obj.get("versions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(vs)) => vs
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(format!("`versions` holds {}", kind(other))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(format!("`versions` is {}, not a list", kind(other))),
        };
        Ok(Metadata {
            inputs,
            outputs,
            platform: obj
                .get("platform")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            versions,
        })
    }
}

fn declared_port(v: &Value) -> Result<DeclaredPort, String> {
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or("no `name` string")?;
    let datatype = v
        .get("datatype")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{name}` has no `datatype` string"))?;
    let shape = v
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("`{name}` has no `shape` list"))?
        .iter()
        .map(|d| d.as_i64().map(|d| d.max(-1)))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| format!("`{name}` has a `shape` that is not a list of integers"))?;
    Ok(DeclaredPort {
        port: Port {
            name: name.to_owned(),
            dtype: DType::parse(datatype),
            shape,
        },
        datatype: datatype.to_owned(),
    })
}

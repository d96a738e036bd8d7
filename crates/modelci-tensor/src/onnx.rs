//! Reading an `.onnx` file's signature without running it: graph inputs and outputs (name,
//! element type, shape with symbolic dimensions), opsets, IR version, producer, size and sha256.
//! Only the fields of `ModelProto` needed for that are declared (as in `onnx.proto3`); the rest of
//! the file, weights included, is skipped by the decoder.

use std::fmt;
use std::path::Path;

use prost::Message;

use crate::tensor::DType;

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(int64, tag = "1")]
    ir_version: i64,
    #[prost(string, tag = "2")]
    producer_name: String,
    #[prost(string, tag = "3")]
    producer_version: String,
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    opset_import: Vec<OperatorSetIdProto>,
}

#[derive(Clone, PartialEq, Message)]
struct OperatorSetIdProto {
    #[prost(string, tag = "1")]
    domain: String,
    #[prost(int64, tag = "2")]
    version: i64,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(string, tag = "2")]
    name: String,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<InitializerName>,
    #[prost(message, repeated, tag = "11")]
    input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    output: Vec<ValueInfoProto>,
}

/// Only the name of an initializer (a `TensorProto`), to tell weights from real inputs.
#[derive(Clone, PartialEq, Message)]
struct InitializerName {
    #[prost(string, tag = "8")]
    name: String,
}

#[derive(Clone, PartialEq, Message)]
struct ValueInfoProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    r#type: Option<TypeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TypeProto {
    #[prost(message, optional, tag = "1")]
    tensor_type: Option<TensorTypeProto>,
    #[prost(message, optional, boxed, tag = "4")]
    sequence_type: Option<Box<SequenceTypeProto>>,
    #[prost(message, optional, boxed, tag = "5")]
    map_type: Option<Box<MapTypeProto>>,
}

#[derive(Clone, PartialEq, Message)]
struct SequenceTypeProto {
    #[prost(message, optional, boxed, tag = "1")]
    elem_type: Option<Box<TypeProto>>,
}

#[derive(Clone, PartialEq, Message)]
struct MapTypeProto {
    #[prost(int32, tag = "1")]
    key_type: i32,
    #[prost(message, optional, boxed, tag = "2")]
    value_type: Option<Box<TypeProto>>,
}

/// A non-tensor type as text: `seq(map(int64, float32))`, `map(string, float64)`,
/// `seq(float32)`; depth-limited (a hostile file cannot recurse without end).
fn type_text(t: &TypeProto, depth: usize) -> String {
    if depth > 8 {
        return "...".into();
    }
    let elem = |code: i32| {
        DType::from_onnx(code).map_or_else(|| format!("type {code}"), |d| d.name().to_owned())
    };
    if let Some(tt) = &t.tensor_type {
        return elem(tt.elem_type);
    }
    if let Some(s) = &t.sequence_type {
        let inner = s
            .elem_type
            .as_deref()
            .map_or_else(|| "?".to_owned(), |e| type_text(e, depth + 1));
        return format!("seq({inner})");
    }
    if let Some(m) = &t.map_type {
        let value = m
            .value_type
            .as_deref()
            .map_or_else(|| "?".to_owned(), |v| type_text(v, depth + 1));
        return format!("map({}, {value})", elem(m.key_type));
    }
    "non-tensor".into()
}

#[derive(Clone, PartialEq, Message)]
struct TensorTypeProto {
    #[prost(int32, tag = "1")]
    elem_type: i32,
    #[prost(message, optional, tag = "2")]
    shape: Option<TensorShapeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorShapeProto {
    #[prost(message, repeated, tag = "1")]
    dim: Vec<Dimension>,
}

#[derive(Clone, PartialEq, Message)]
struct Dimension {
    #[prost(int64, optional, tag = "1")]
    dim_value: Option<i64>,
    #[prost(string, optional, tag = "2")]
    dim_param: Option<String>,
}

/// A dimension of a tensor's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    Fixed(i64),
    /// A named dimension (`batch`, `N`), any size.
    Symbolic(String),
    /// Unknown.
    Any,
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbolic(s) => f.write_str(s),
            Dim::Any => f.write_str("?"),
        }
    }
}

/// An input or output of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub name: String,
    /// `None` for non-tensor values (sequences, maps) or unknown element types.
    pub dtype: Option<DType>,
    /// `None` when the shape is not declared (any rank).
    pub shape: Option<Vec<Dim>>,
    /// For a sequence or a map, its type: `seq(map(int64, float32))` (skl2onnx's ZipMap).
    pub value_type: Option<String>,
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = &self.value_type {
            return write!(f, "{}: {t}", self.name);
        }
        let dtype = self.dtype.map_or("non-tensor", DType::name);
        match &self.shape {
            Some(s) => {
                let dims: Vec<String> = s.iter().map(ToString::to_string).collect();
                write!(f, "{}: {dtype}[{}]", self.name, dims.join(", "))
            }
            None => write!(f, "{}: {dtype}[...]", self.name),
        }
    }
}

/// What `modelci model inspect` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub path: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub ir_version: i64,
    pub producer: String,
    pub graph_name: String,
    /// (domain, version); the default domain is `ai.onnx`.
    pub opsets: Vec<(String, i64)>,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
}

/// A model file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ModelError {
    pub path: String,
    pub message: String,
}

fn port(v: &ValueInfoProto) -> Port {
    let tensor = v.r#type.as_ref().and_then(|t| t.tensor_type.as_ref());
    Port {
        value_type: v
            .r#type
            .as_ref()
            .filter(|t| t.tensor_type.is_none())
            .map(|t| type_text(t, 0)),
        name: v.name.clone(),
        dtype: tensor.and_then(|t| DType::from_onnx(t.elem_type)),
        shape: tensor.and_then(|t| t.shape.as_ref()).map(|s| {
            s.dim
                .iter()
                .map(|d| match (&d.dim_value, &d.dim_param) {
                    (Some(n), _) => Dim::Fixed(*n),
                    (None, Some(p)) if !p.is_empty() => Dim::Symbolic(p.clone()),
                    _ => Dim::Any,
                })
                .collect()
        }),
    }
}

/// The sha256 of bytes, in lowercase hex (the model hash recorded in reports).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a model's signature from its bytes.
///
/// # Errors
/// Bytes that are not an ONNX model, or a model without a graph.
pub fn inspect_bytes(bytes: &[u8], path: &str) -> Result<ModelInfo, ModelError> {
    let err = |message: String| ModelError {
        path: path.to_owned(),
        message,
    };
    let model = ModelProto::decode(bytes)
        .map_err(|e| err(format!("not an ONNX model (corrupt or truncated?): {e}")))?;
    let graph = model
        .graph
        .ok_or_else(|| err("not an ONNX model: it has no graph".into()))?;
    if model.ir_version <= 0 {
        return Err(err("not an ONNX model: it has no IR version".into()));
    }
    let weights: std::collections::HashSet<&str> =
        graph.initializer.iter().map(|i| i.name.as_str()).collect();
    Ok(ModelInfo {
        path: path.to_owned(),
        size_bytes: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        ir_version: model.ir_version,
        producer: format!("{} {}", model.producer_name, model.producer_version)
            .trim()
            .to_owned(),
        graph_name: graph.name.clone(),
        opsets: model
            .opset_import
            .iter()
            .map(|o| {
                (
                    if o.domain.is_empty() {
                        "ai.onnx".to_owned()
                    } else {
                        o.domain.clone()
                    },
                    o.version,
                )
            })
            .collect(),
        // Older exporters list weights among the inputs; they are not inputs to feed.
        inputs: graph
            .input
            .iter()
            .filter(|i| !weights.contains(i.name.as_str()))
            .map(port)
            .collect(),
        outputs: graph.output.iter().map(port).collect(),
    })
}

/// Reads a model file's signature.
///
/// # Errors
/// An unreadable file, or one that is not an ONNX model.
pub fn inspect(path: &Path) -> Result<ModelInfo, ModelError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ModelError {
        path: shown.clone(),
        message: if e.kind() == std::io::ErrorKind::NotFound {
            "no such file".into()
        } else {
            format!("cannot read it: {e}")
        },
    })?;
    inspect_bytes(&bytes, &shown)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn zipmap_outputs_are_described_by_their_type() {
        // skl2onnx's default export (fixtures/models/make_zipmap.py).
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/mlp_zipmap.onnx");
        let info = inspect(&path).expect("model");
        let shown: Vec<String> = info.outputs.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "output_label: int64[?]",
                "output_probability: seq(map(int64, float32))"
            ]
        );
        assert_eq!(info.outputs[0].value_type, None);
    }

    /// A minimal model: input `X: float32[batch, 4]`, a weight, output `Y: int64[batch]`.
    pub(crate) fn tiny_model() -> Vec<u8> {
        let vi = |name: &str, elem: i32, dims: Vec<Dimension>| ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                tensor_type: Some(TensorTypeProto {
                    elem_type: elem,
                    shape: Some(TensorShapeProto { dim: dims }),
                }),
                ..TypeProto::default()
            }),
        };
        let batch = || Dimension {
            dim_value: None,
            dim_param: Some("batch".into()),
        };
        ModelProto {
            ir_version: 8,
            producer_name: "modelci-test".into(),
            producer_version: "1".into(),
            graph: Some(GraphProto {
                name: "tiny".into(),
                initializer: vec![InitializerName { name: "W".into() }],
                input: vec![
                    vi(
                        "X",
                        1,
                        vec![
                            batch(),
                            Dimension {
                                dim_value: Some(4),
                                dim_param: None,
                            },
                        ],
                    ),
                    vi(
                        "W",
                        1,
                        vec![Dimension {
                            dim_value: Some(4),
                            dim_param: None,
                        }],
                    ),
                ],
                output: vec![vi("Y", 7, vec![batch()])],
            }),
            opset_import: vec![
                OperatorSetIdProto {
                    domain: String::new(),
                    version: 17,
                },
                OperatorSetIdProto {
                    domain: "ai.onnx.ml".into(),
                    version: 3,
                },
            ],
        }
        .encode_to_vec()
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn signature_opsets_and_hash() {
        let bytes = tiny_model();
        let info = inspect_bytes(&bytes, "tiny.onnx").expect("model");
        assert_eq!(info.inputs.len(), 1, "the weight is not an input");
        assert_eq!(info.inputs[0].to_string(), "X: float32[batch, 4]");
        assert_eq!(info.outputs[0].to_string(), "Y: int64[batch]");
        assert_eq!(
            info.opsets,
            vec![("ai.onnx".to_owned(), 17), ("ai.onnx.ml".to_owned(), 3)]
        );
        assert_eq!(info.producer, "modelci-test 1");
        assert_eq!(info.sha256.len(), 64);
        assert_eq!(info.size_bytes, bytes.len() as u64);
    }

    #[test]
    fn corrupt_and_truncated_files() {
        let bytes = tiny_model();
        let e = inspect_bytes(&bytes[..bytes.len() / 2], "cut.onnx").expect_err("truncated");
        assert!(e.message.starts_with("not an ONNX model"), "{e}");
        let e = inspect_bytes(b"hello world, not a model", "x.onnx").expect_err("garbage");
        assert!(e.message.starts_with("not an ONNX model"), "{e}");
        let e = inspect(Path::new("/nonexistent/model.onnx")).expect_err("missing");
        assert_eq!(e.to_string(), "/nonexistent/model.onnx: no such file");
    }
}

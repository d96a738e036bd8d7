//! Golden cases: named inputs and the outputs they must produce.
//!
//! Three formats are read here:
//! - the **ONNX test-data layout** of the ONNX model zoo and ONNX's backend tests:
//!   `<dir>/test_data_set_N/input_K.pb` and `output_K.pb` (serialized `TensorProto`s);
//! - a readable **JSON** form for hand-written cases:
//!   `{"inputs": {"X": {"dtype": "float32", "shape": [1, 4], "data": [...]}}, "outputs": {...}}`,
//!   or several under `{"cases": [{"name": ..., "inputs": ..., "outputs": ...}]}`. `data` may be
//!   flat or nested like the shape;
//! - **NumPy `.npz`** archives ([`read_npz`]), keyed by the model's input and output names, as
//!   data scientists save them (which arrays are inputs is for the model's signature to say).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::pb;
use crate::tensor::{DType, Data, Key, Tensor};

/// One golden case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Stable name (`test_data_set_0`, `cat.json`, `cat.json#2`).
    pub name: String,
    /// The file or folder it came from.
    pub source: String,
    pub inputs: Vec<Tensor>,
    /// Expected outputs (may be empty for input-only cases).
    pub outputs: Vec<Tensor>,
}

/// A golden file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct GoldenError {
    pub file: String,
    pub line: Option<u32>,
    pub message: String,
}

fn gerr(file: &str, message: String) -> GoldenError {
    GoldenError {
        file: file.to_owned(),
        line: None,
        message,
    }
}

/// Reads the cases of an ONNX test-data folder (the one holding `test_data_set_*`).
///
/// # Errors
/// A folder without test data sets, or a `.pb` file that cannot be decoded (named).
pub fn read_onnx_layout(dir: &Path) -> Result<Vec<Case>, GoldenError> {
    let shown = dir.display().to_string();
    let mut sets: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| gerr(&shown, format!("cannot read the folder: {e}")))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("test_data_set_"))
        })
        .collect();
    sets.sort_by_key(|p| numeric_suffix(p));
    if sets.is_empty() {
        return Err(gerr(&shown, "no test_data_set_N folders".into()));
    }
    sets.iter()
        .map(|set| {
            let name = set
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(Case {
                name,
                source: set.display().to_string(),
                inputs: read_pbs(set, "input_")?,
                outputs: read_pbs(set, "output_")?,
            })
        })
        .collect()
}

fn numeric_suffix(p: &Path) -> u64 {
    p.file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .and_then(|n| n.rsplit('_').next().and_then(|d| d.parse().ok()))
        .unwrap_or(u64::MAX)
}

fn read_pbs(set: &Path, prefix: &str) -> Result<Vec<Tensor>, GoldenError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(set)
        .map_err(|e| {
            gerr(
                &set.display().to_string(),
                format!("cannot read the folder: {e}"),
            )
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "pb")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    files.sort_by_key(|p| numeric_suffix(p));
    files
        .iter()
        .map(|f| {
            let shown = f.display().to_string();
            let bytes =
                std::fs::read(f).map_err(|e| gerr(&shown, format!("cannot read it: {e}")))?;
            let fallback = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            pb::decode(&bytes, &fallback).map_err(|e| gerr(&shown, e.to_string()))
        })
        .collect()
}

/// Reads a JSON golden file.
///
/// # Errors
/// Invalid JSON (with its line), unknown dtypes, shapes that do not match the data.
pub fn read_json(path: &Path) -> Result<Vec<Case>, GoldenError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| gerr(&shown, format!("cannot read it: {e}")))?;
    parse_json(&text, &shown)
}

/// Parses the JSON golden form (see the module docs).
///
/// # Errors
/// As [`read_json`].
pub fn parse_json(text: &str, shown: &str) -> Result<Vec<Case>, GoldenError> {
    let v: Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| GoldenError {
            file: shown.to_owned(),
            line: u32::try_from(e.line()).ok(),
            message: format!("not valid JSON: {e}"),
        })?;
    let base = Path::new(shown)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| shown.to_owned());
    match v.get("cases") {
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let name = c
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("{base}#{}", i + 1), str::to_owned);
                case(c, name, shown)
            })
            .collect(),
        Some(_) => Err(gerr(shown, "`cases` must be an array".into())),
        None => Ok(vec![case(&v, base, shown)?]),
    }
}

fn case(v: &Value, name: String, shown: &str) -> Result<Case, GoldenError> {
    let tensors = |key: &str| -> Result<Vec<Tensor>, GoldenError> {
        let Some(map) = v.get(key) else {
            return Ok(Vec::new());
        };
        let map = map.as_object().ok_or_else(|| {
            gerr(
                shown,
                format!("case `{name}`: `{key}` must be an object of tensors"),
            )
        })?;
        map.iter()
            .map(|(n, t)| {
                tensor(n, t).map_err(|m| gerr(shown, format!("case `{name}`: {key} `{n}`: {m}")))
            })
            .collect()
    };
    let inputs = tensors("inputs")?;
    if inputs.is_empty() {
        return Err(gerr(shown, format!("case `{name}` has no `inputs`")));
    }
    Ok(Case {
        inputs,
        outputs: tensors("outputs")?,
        source: shown.to_owned(),
        name,
    })
}

fn flatten<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other),
    }
}

/// Reads a map type: `map(K, V)` or `seq(map(K, V))` (spaces optional; ONNX's own spelling
/// `seq(map(int64,tensor(float)))` too), as `(key type, value type, is a sequence)`.
pub fn parse_map_type(text: &str) -> Option<(DType, DType, bool)> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.to_ascii_lowercase();
    let (inner, sequence) = match t
        .strip_prefix("seq(")
        .or_else(|| t.strip_prefix("sequence("))
        .and_then(|x| x.strip_suffix(')'))
    {
        Some(inner) => (inner.to_owned(), true),
        None => (t.clone(), false),
    };
    let kv = inner.strip_prefix("map(")?.strip_suffix(')')?;
    let (k, v) = kv.split_once(',')?;
    Some((DType::parse(k)?, DType::parse(v)?, sequence))
}

/// A sequence of maps or one map, in the JSON form (see [`parse_map_type`] and the README):
/// `{"dtype": "seq(map(int64, float32))", "data": [{"0": 0.1, "1": 0.9}, ...]}` or
/// `{"dtype": "map(string, float32)", "data": {"cat": 0.9}}`; integer keys are written as
/// JSON object keys (text).
fn map_tensor(name: &str, v: &Value, types: (DType, DType, bool)) -> Result<Tensor, String> {
    let (key, dtype, sequence) = types;
    let data = v.get("data").ok_or("no `data`")?;
    let one = |i: usize, m: &Value| -> Result<crate::tensor::Map, String> {
        let at = if sequence {
            format!("element {i}: ")
        } else {
            String::new()
        };
        let m = m
            .as_object()
            .ok_or_else(|| format!("{at}a map must be a JSON object, not {m}"))?;
        m.iter()
            .map(|(k, x)| {
                let k = if key == DType::String {
                    Key::Str(k.clone())
                } else {
                    Key::Int(k.trim().parse().map_err(|_| {
                        format!("{at}key {k:?} is not an integer (the map's keys are {key})")
                    })?)
                };
                let x = match x {
                    Value::Number(n) => n.as_f64().map(|f| dtype.round_float(f)),
                    Value::String(s) => match s.to_ascii_lowercase().as_str() {
                        "nan" => Some(f64::NAN),
                        "inf" | "infinity" | "+inf" => Some(f64::INFINITY),
                        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
                        _ => None,
                    },
                    _ => None,
                }
                .ok_or_else(|| format!("{at}key {k}: value {x} is not a {dtype}"))?;
                Ok((k, x))
            })
            .collect()
    };
    let maps = if sequence {
        data.as_array()
            .ok_or_else(|| format!("`data` of a sequence must be an array of objects, not {data}"))?
            .iter()
            .enumerate()
            .map(|(i, m)| one(i, m))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![one(0, data)?]
    };
    let t = Tensor::maps(name, key, dtype, maps, sequence).map_err(|e| e.message)?;
    match v.get("shape") {
        None => Ok(t),
        Some(shape) if *shape == serde_json::json!(t.shape) => Ok(t),
        Some(shape) => Err(format!(
            "shape {shape} does not match {} map(s)",
            t.data.len()
        )),
    }
}

fn tensor(name: &str, v: &Value) -> Result<Tensor, String> {
    let dtype_text = v.get("dtype").and_then(Value::as_str).ok_or("no `dtype`")?;
    if let Some(types) = parse_map_type(dtype_text) {
        return map_tensor(name, v, types);
    }
    let dtype = DType::parse(dtype_text).ok_or_else(|| format!("unknown dtype `{dtype_text}`"))?;
    let data = v.get("data").ok_or("no `data`")?;
    let mut flat = Vec::new();
    flatten(data, &mut flat);
    let shape: Vec<i64> = match v.get("shape") {
        Some(Value::Array(dims)) => dims
            .iter()
            .map(|d| {
                d.as_i64()
                    .ok_or_else(|| format!("shape has a non-integer dimension {d}"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("`shape` must be an array, not {other}")),
        None => vec![i64::try_from(flat.len()).map_err(|_| "too many values".to_owned())?],
    };
    let bad = |x: &Value| format!("value {x} is not a {dtype}");
    let values = match dtype {
        d if d.is_float() => Data::Float(
            flat.iter()
                .map(|x| match x {
                    Value::Number(n) => n
                        .as_f64()
                        .map(|f| dtype.round_float(f))
                        .ok_or_else(|| bad(x)),
                    Value::String(s) => match s.to_ascii_lowercase().as_str() {
                        "nan" => Ok(f64::NAN),
                        "inf" | "infinity" | "+inf" => Ok(f64::INFINITY),
                        "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
                        _ => Err(bad(x)),
                    },
                    _ => Err(bad(x)),
                })
                .collect::<Result<_, _>>()?,
        ),
        DType::I8 | DType::I16 | DType::I32 | DType::I64 => Data::Int(
            flat.iter()
                .map(|x| x.as_i64().ok_or_else(|| bad(x)))
                .collect::<Result<_, _>>()?,
        ),
        DType::U8 | DType::U16 | DType::U32 | DType::U64 => Data::UInt(
            flat.iter()
                .map(|x| x.as_u64().ok_or_else(|| bad(x)))
                .collect::<Result<_, _>>()?,
        ),
        DType::Bool => Data::Bool(
            flat.iter()
                .map(|x| x.as_bool().ok_or_else(|| bad(x)))
                .collect::<Result<_, _>>()?,
        ),
        _ => Data::Str(
            flat.iter()
                .map(|x| x.as_str().map(str::to_owned).ok_or_else(|| bad(x)))
                .collect::<Result<_, _>>()?,
        ),
    };
    Tensor::new(name, dtype, shape, values).map_err(|e| e.message)
}

/// Reads every array of a NumPy `.npz` archive, in name order. Numeric and boolean
/// arrays of any width are read (little- or big-endian); string and object arrays are not
/// (use the JSON form for those).
///
/// # Errors
/// An unreadable or invalid archive, or an array of an unsupported type (named).
pub fn read_npz(path: &Path) -> Result<Vec<Tensor>, GoldenError> {
    let shown = path.display().to_string();
    let mut archive = npyz::npz::NpzArchive::open(path)
        .map_err(|e| gerr(&shown, format!("not a readable .npz archive: {e}")))?;
    let mut names: Vec<String> = archive.array_names().map(str::to_owned).collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let fail = |m: String| gerr(&shown, format!("array `{name}`: {m}"));
        let npy = archive
            .by_name(&name)
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail("missing from the archive".into()))?;
        let shape: Vec<i64> = npy
            .shape()
            .iter()
            .map(|d| i64::try_from(*d).unwrap_or(i64::MAX))
            .collect();
        let npyz::DType::Plain(ts) = npy.dtype() else {
            return Err(fail("structured arrays are not supported".into()));
        };
        let size = ts.size_field();
        let (dtype, data) = match (ts.type_char(), size) {
            (npyz::TypeChar::Float, 2) => (
                DType::F16,
                Data::Float(
                    npy.into_vec::<half::f16>()
                        .map_err(|e| fail(e.to_string()))?
                        .iter()
                        .map(|x| x.to_f64())
                        .collect(),
                ),
            ),
            (npyz::TypeChar::Float, 4) => (
                DType::F32,
                Data::Float(
                    npy.into_vec::<f32>()
                        .map_err(|e| fail(e.to_string()))?
                        .iter()
                        .map(|x| f64::from(*x))
                        .collect(),
                ),
            ),
            (npyz::TypeChar::Float, 8) => (
                DType::F64,
                Data::Float(npy.into_vec::<f64>().map_err(|e| fail(e.to_string()))?),
            ),
            (npyz::TypeChar::Int, 1) => (
                DType::I8,
                Data::Int(
                    npy.into_vec::<i8>()
                        .map_err(|e| fail(e.to_string()))?
                        .into_iter()
                        .map(i64::from)
                        .collect(),
                ),
            ),
            (npyz::TypeChar::Int, 2) => (
                DType::I16,
                Data::Int(
                    npy.into_vec::<i16>()
                        .map_err(|e| fail(e.to_string()))?
                        .into_iter()
                        .map(i64::from)
                        .collect(),
                ),
            ),
            (npyz::TypeChar::Int, 4) => (
                DType::I32,
                Data::Int(
                    npy.into_vec::<i32>()
                        .map_err(|e| fail(e.to_string()))?
                        .into_iter()
                        .map(i64::from)
                        .collect(),
                ),
            ),
            (npyz::TypeChar::Int, 8) => (
                DType::I64,
                Data::Int(npy.into_vec::<i64>().map_err(|e| fail(e.to_string()))?),
            ),
            (npyz::TypeChar::Uint, 1) => (
                DType::U8,
                Data::UInt(
                    npy.into_vec::<u8>()
                        .map_err(|e| fail(e.to_string()))?
                        .into_iter()
                        .map(u64::from)
                        .collect(),
                ),
            ),
            (npyz::TypeChar::Uint, 2) => (
                DType::U16,
                Data::UInt(
                    npy.into_vec::<u16>()
                        .map_err(|e| fail(e.to_string()))?
                        .into_iter()
                        .map(u64::from)
                        .collect(),
                ),
            ),
            (npyz::TypeChar::Uint, 4) => (
                DType::U32,
                Data::UInt(
                    npy.into_vec::<u32>()
                        .map_err(|e| fail(e.to_string()))?
                        .into_iter()
                        .map(u64::from)
                        .collect(),
                ),
            ),
            (npyz::TypeChar::Uint, 8) => (
                DType::U64,
                Data::UInt(npy.into_vec::<u64>().map_err(|e| fail(e.to_string()))?),
            ),
            (npyz::TypeChar::Bool, _) => (
                DType::Bool,
                Data::Bool(npy.into_vec::<bool>().map_err(|e| fail(e.to_string()))?),
            ),
            (npyz::TypeChar::Object, _) => {
                return Err(fail(
                    "an object array (pickled Python objects, such as a ZipMap's list of dicts) cannot be read from .npz; .npz holds tensors only: write sequence and map outputs in the JSON golden form (`\"dtype\": \"seq(map(int64, float32))\"`, see `modelci model record`)".into(),
                ));
            }
            (other, _) => {
                return Err(fail(format!(
                    "arrays of type `{ts}` ({other:?}) are not supported; use the JSON form"
                )));
            }
        };
        out.push(Tensor::new(name.clone(), dtype, shape, data).map_err(|e| fail(e.message))?);
    }
    if out.is_empty() {
        return Err(gerr(&shown, "the archive holds no arrays".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_cases_single_and_many() {
        let one = parse_json(
            r#"{"inputs": {"X": {"dtype": "float32", "shape": [1, 2], "data": [[0.5, "nan"]]}},
                "outputs": {"label": {"dtype": "int64", "shape": [1], "data": [2]}}}"#,
            "cases/cat.json",
        )
        .expect("case");
        assert_eq!(one[0].name, "cat.json");
        assert!(matches!(&one[0].inputs[0].data, Data::Float(v) if v[1].is_nan()));
        let many = parse_json(
            r#"{"cases": [{"inputs": {"t": {"dtype": "string", "data": ["a", "b"]}}},
                          {"name": "second", "inputs": {"t": {"dtype": "bool", "data": [true]}}}]}"#,
            "x.json",
        )
        .expect("cases");
        assert_eq!(many[0].name, "x.json#1");
        assert_eq!(many[0].inputs[0].shape, vec![2]);
        assert_eq!(many[1].name, "second");
    }

    #[test]
    fn json_errors_name_the_case_and_tensor() {
        let e = parse_json(
            r#"{"inputs": {"X": {"dtype": "float32", "shape": [3], "data": [1, 2]}}}"#,
            "a.json",
        )
        .expect_err("count");
        assert_eq!(
            e.to_string(),
            "a.json: case `a.json`: inputs `X`: shape [3] holds 3 element(s) but 2 value(s) were given"
        );
        let e = parse_json(
            r#"{"inputs": {"X": {"dtype": "complex", "data": [1]}}}"#,
            "a.json",
        )
        .expect_err("dtype");
        assert!(e.message.ends_with("unknown dtype `complex`"), "{e}");
        let e = parse_json("{\n\"inputs\": ", "a.json").expect_err("json");
        assert_eq!(e.line, Some(2));
        let e = parse_json(r#"{"outputs": {}}"#, "a.json").expect_err("no inputs");
        assert!(e.message.ends_with("has no `inputs`"), "{e}");
    }

    #[test]
    fn npz_archives_from_numpy() {
        // fixtures/golden/linear_cases.npz, written by numpy (make_linear_cases.py).
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/linear_cases.npz");
        let arrays = read_npz(&path).expect("npz");
        let names: Vec<_> = arrays.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["input", "label", "probabilities"]);
        assert_eq!(
            (arrays[0].dtype, arrays[0].shape.clone()),
            (DType::F32, vec![8, 4])
        );
        assert_eq!(
            (arrays[1].dtype, arrays[1].shape.clone()),
            (DType::I64, vec![8])
        );
        let Data::Float(p) = &arrays[2].data else {
            panic!("floats")
        };
        let row: f64 = p[..3].iter().sum();
        assert!((row - 1.0).abs() < 1e-6, "probabilities sum to 1: {row}");
        let dir = tempfile::tempdir().expect("tempdir");
        let bad = dir.path().join("bad.npz");
        std::fs::write(&bad, b"not a zip").expect("w");
        assert!(
            read_npz(&bad)
                .expect_err("bad")
                .message
                .starts_with("not a readable .npz archive")
        );
    }

    #[test]
    fn onnx_layout_folders() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in [0, 1, 10, 2] {
            let set = dir.path().join(format!("test_data_set_{n}"));
            std::fs::create_dir(&set).expect("mkdir");
            let x = Tensor::new(
                "x",
                DType::F32,
                vec![1, 2],
                Data::Float(vec![f64::from(n), 1.0]),
            )
            .expect("t");
            let y =
                Tensor::new("y", DType::I64, vec![1], Data::Int(vec![i64::from(n)])).expect("t");
            std::fs::write(set.join("input_0.pb"), pb::encode(&x)).expect("w");
            std::fs::write(set.join("output_0.pb"), pb::encode(&y)).expect("w");
        }
        let cases = read_onnx_layout(dir.path()).expect("cases");
        let names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "test_data_set_0",
                "test_data_set_1",
                "test_data_set_2",
                "test_data_set_10"
            ]
        );
        assert_eq!(cases[3].outputs[0].data, Data::Int(vec![10]));
        std::fs::write(dir.path().join("test_data_set_1/output_0.pb"), b"\xff\xff").expect("w");
        let e = read_onnx_layout(dir.path()).expect_err("corrupt");
        assert!(
            e.file.ends_with("test_data_set_1/output_0.pb")
                && e.message.contains("not a TensorProto"),
            "{e}"
        );
        let empty = tempfile::tempdir().expect("tempdir");
        assert!(read_onnx_layout(empty.path()).is_err());
    }
}

/// Golden cases as the JSON form [`parse_json`] reads: `{"cases": [{"name", "inputs",
/// "outputs"}]}`, with flat `data`. Non-finite floats are written `"nan"`, `"inf"`, `"-inf"`;
/// 32-bit and narrower floats with their shortest round-trip text.
pub fn to_json(cases: &[Case]) -> Value {
    let tensors = |ts: &[Tensor]| -> Value {
        Value::Object(
            ts.iter()
                .map(|t| (t.name.clone(), tensor_json(t)))
                .collect(),
        )
    };
    serde_json::json!({
        "cases": cases.iter().map(|c| serde_json::json!({
            "name": c.name,
            "inputs": tensors(&c.inputs),
            "outputs": tensors(&c.outputs),
        })).collect::<Vec<_>>()
    })
}

fn tensor_json(t: &Tensor) -> Value {
    let narrow = t.dtype != DType::F64;
    let float = |x: f64| -> Value {
        if x.is_nan() {
            Value::from("nan")
        } else if x.is_infinite() {
            Value::from(if x > 0.0 { "inf" } else { "-inf" })
        } else if narrow {
            // The shortest text that reads back as the same f32 (f16/bf16 values are exact f32s).
            serde_json::from_str::<serde_json::Number>(&format!("{:?}", x as f32))
                .map_or(Value::Null, Value::Number)
        } else {
            serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
        }
    };
    let data: Vec<Value> = match &t.data {
        Data::Float(v) => v.iter().map(|x| float(*x)).collect(),
        Data::Int(v) => v.iter().map(|x| Value::from(*x)).collect(),
        Data::UInt(v) => v.iter().map(|x| Value::from(*x)).collect(),
        Data::Bool(v) => v.iter().map(|x| Value::from(*x)).collect(),
        Data::Str(v) => v.iter().map(|x| Value::from(x.as_str())).collect(),
        Data::Maps { key, maps } => {
            let map_json = |m: &crate::tensor::Map| -> Value {
                Value::Object(
                    m.iter()
                        .map(|(k, x)| {
                            let k = match k {
                                Key::Int(k) => k.to_string(),
                                Key::Str(k) => k.clone(),
                            };
                            (k, float(*x))
                        })
                        .collect(),
                )
            };
            let data = match maps.as_slice() {
                [m] if t.shape.is_empty() => map_json(m),
                _ => Value::Array(maps.iter().map(map_json).collect()),
            };
            let dtype = if t.shape.is_empty() {
                format!("map({key}, {})", t.dtype)
            } else {
                format!("seq(map({key}, {}))", t.dtype)
            };
            return serde_json::json!({"dtype": dtype, "data": data});
        }
    };
    serde_json::json!({"dtype": t.dtype.name(), "shape": t.shape, "data": data})
}

#[cfg(test)]
mod json_roundtrip {
    use super::*;

    #[test]
    fn sequences_of_maps_and_maps_round_trip_through_json() {
        let text = r#"{"inputs": {"x": {"dtype": "float32", "shape": [2, 1], "data": [1, 2]}},
            "outputs": {
              "output_probability": {"dtype": "seq(map(int64, float32))",
                                     "data": [{"1": 0.75, "0": 0.25}, {"0": "nan", "1": 0.1}]},
              "scores": {"dtype": "map(string,tensor(double))", "data": {"cat": 0.1, "dog": 0.9}}}}"#;
        let cases = parse_json(text, "z.json").expect("maps");
        let p = &cases[0].outputs[0];
        assert_eq!(p.type_text(), "seq(map(int64, float32))[2]");
        assert_eq!(p.shape, vec![2]);
        let Data::Maps { maps, .. } = &p.data else {
            panic!("maps")
        };
        assert_eq!(
            maps[0],
            vec![(Key::Int(0), 0.25), (Key::Int(1), 0.75)],
            "sorted by key"
        );
        assert!(maps[1][0].1.is_nan());
        assert_eq!(maps[1][1].1, f64::from(0.1_f32), "rounded to float32");
        assert_eq!(cases[0].outputs[1].type_text(), "map(string, float64)");
        let written = serde_json::to_string(&to_json(&cases)).expect("json");
        assert!(
            written.contains(
                r#""output_probability":{"dtype":"seq(map(int64, float32))","data":[{"0":0.25,"1":0.75},{"0":"nan","1":0.1}]}"#
            ),
            "{written}"
        );
        assert!(
            written.contains(
                r#""scores":{"dtype":"map(string, float64)","data":{"cat":0.1,"dog":0.9}}"#
            ),
            "{written}"
        );
        let back = parse_json(&written, "z.json").expect("reads back");
        assert_eq!(back[0].outputs[1], cases[0].outputs[1]);
        let (a, b) = (&back[0].outputs[0], &cases[0].outputs[0]);
        assert_eq!(
            (a.shape.clone(), a.map_key()),
            (b.shape.clone(), b.map_key())
        );
    }

    #[test]
    fn bad_maps_are_errors_naming_the_output() {
        let bad = |outputs: &str| {
            let text = format!(
                r#"{{"inputs": {{"x": {{"dtype": "float32", "data": [1]}}}}, "outputs": {{"p": {outputs}}}}}"#
            );
            parse_json(&text, "z.json").expect_err("bad").to_string()
        };
        assert_eq!(
            bad(r#"{"dtype": "seq(map(int64, float32))", "data": [{"a": 1}]}"#),
            "z.json: case `z.json`: outputs `p`: element 0: key \"a\" is not an integer (the map's keys are int64)"
        );
        assert_eq!(
            bad(r#"{"dtype": "seq(map(int64, float32))", "data": [[0.5]]}"#),
            "z.json: case `z.json`: outputs `p`: element 0: a map must be a JSON object, not [0.5]"
        );
        assert_eq!(
            bad(r#"{"dtype": "seq(map(int64, float32))", "data": [{"0": true}]}"#),
            "z.json: case `z.json`: outputs `p`: element 0: key 0: value true is not a float32"
        );
        assert_eq!(
            bad(r#"{"dtype": "map(int64, int64)", "data": {"0": 1}}"#),
            "z.json: case `z.json`: outputs `p`: map values must be floating point, not int64"
        );
        assert_eq!(
            bad(r#"{"dtype": "seq(map(int64, float32))", "shape": [3], "data": [{"0": 1}]}"#),
            "z.json: case `z.json`: outputs `p`: shape [3] does not match 1 map(s)"
        );
    }

    #[test]
    fn onnx_test_data_with_a_sequence_of_maps() {
        // Written by onnx.numpy_helper.from_list from onnxruntime's answers (make_zipmap.py).
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/golden/mlp_zipmap_onnx_layout");
        let cases = read_onnx_layout(&dir).expect("layout");
        let outputs = &cases[0].outputs;
        assert_eq!(outputs[0].type_text(), "int64[8]");
        assert_eq!(outputs[1].name, "output_probability");
        assert_eq!(outputs[1].type_text(), "seq(map(int64, float32))[8]");
        let (keys, m) = outputs[1].maps_as_matrix().expect("maps").expect("keys");
        assert_eq!(keys, [Key::Int(0), Key::Int(1), Key::Int(2)]);
        for row in m.chunks(3) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn written_cases_read_back_identically() {
        let case = Case {
            name: "c1".into(),
            source: "x.json".into(),
            inputs: vec![
                Tensor::new(
                    "x",
                    DType::F32,
                    vec![2, 2],
                    Data::Float(vec![0.1_f32 as f64, f64::NAN, f64::INFINITY, -2.5]),
                )
                .unwrap(),
                Tensor::new("s", DType::String, vec![1], Data::Str(vec!["é\"".into()])).unwrap(),
            ],
            outputs: vec![
                Tensor::new("l", DType::I64, vec![2], Data::Int(vec![-1, i64::MAX])).unwrap(),
                Tensor::new("b", DType::Bool, vec![1], Data::Bool(vec![true])).unwrap(),
                Tensor::new("d", DType::F64, vec![1], Data::Float(vec![0.1])).unwrap(),
            ],
        };
        let v = to_json(std::slice::from_ref(&case));
        let text = serde_json::to_string(&v).unwrap();
        assert!(text.contains("[0.1,\"nan\",\"inf\",-2.5]"), "{text}");
        let back = parse_json(&text, "x.json").unwrap();
        assert_eq!(back.len(), 1);
        let b = &back[0];
        assert_eq!(b.name, "c1");
        let Data::Float(xs) = &b.inputs.iter().find(|t| t.name == "x").unwrap().data else {
            panic!("float")
        };
        assert_eq!(xs[0] as f32, 0.1_f32);
        assert!(xs[1].is_nan());
        assert_eq!(xs[2], f64::INFINITY);
        let mut want = case.outputs.clone();
        let mut got = b.outputs.clone();
        want.sort_by(|a, b| a.name.cmp(&b.name));
        got.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(got, want);
    }
}

//! The ONNX Runtime layer: finding the shared library, loading it once per process, and running
//! models on [`Tensor`]s.
//!
//! modelci links ONNX Runtime dynamically (the `ort` crate's `load-dynamic`), so nothing is
//! downloaded at build time. The library is looked for, in order, at:
//! 1. an explicit path (`--ort-lib`), then the `ORT_DYLIB_PATH` environment variable;
//! 2. beside modelci's own executable: `onnxruntime/lib/` in the executable's folder or the one
//!    above it (`target/onnxruntime/lib/` for `target/release/modelci`, where
//!    `scripts/onnxruntime` unpacks the pinned wheel's library; `PREFIX/onnxruntime/lib/` for
//!    `PREFIX/bin/modelci`), then `lib/` beside `bin/` (`PREFIX/lib/`). No process is started
//!    and no Python environment is needed or touched;
//! 3. the `onnxruntime` or `onnxruntime-gpu` Python package (`capi/libonnxruntime.so.*`, which
//!    the wheel ships), as `python3` sees it (one interpreter start, tens of milliseconds);
//! 4. the system library folders (`LD_LIBRARY_PATH`, `/usr/local/lib`, `/usr/lib`, ...).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::value::{
    DynMapValueType, DynSequenceValueType, DynValue, Tensor as OrtTensor, TensorElementType,
    ValueType,
};

use crate::tensor::{DType, Data, Key, Map, Tensor};

/// Why the runtime cannot be used, or a model cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ONNX Runtime was not found ({searched}); `scripts/onnxruntime` in modelci's checkout unpacks the pinned library beside the build, or point --ort-lib / ORT_DYLIB_PATH at libonnxruntime.so"
    )]
    NotFound { searched: String },
    #[error("cannot load ONNX Runtime from `{path}`: {message}")]
    Load { path: String, message: String },
    #[error("{path}: cannot load the model: {message}")]
    Model { path: String, message: String },
    #[error("{message}")]
    Run { message: String },
    /// The model could not be asked at all (an endpoint that cannot be reached or does not
    /// answer in time): other inputs would fare no better.
    #[error("{message}")]
    Unavailable { message: String },
    #[error("{0}")]
    Device(String),
}

/// Where a model runs: the one typed device, read once from the configuration or a flag
/// (`cpu`, `cuda` or `auto`; see [`modelci_config::Device`]).
pub use modelci_config::Device;
pub use modelci_config::{ConvAlgoSearch, CudaOptions};

/// Where the library was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    pub path: PathBuf,
    /// How it was found (`--ort-lib`, `ORT_DYLIB_PATH`, `python package onnxruntime`, `system`).
    pub source: String,
    /// The version, from the file name (`libonnxruntime.so.1.32.0`), when it says.
    pub version: Option<String>,
}

fn version_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let v = name.split(".so.").nth(1)?;
    (!v.is_empty()).then(|| v.to_owned())
}

fn library_in(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n == "libonnxruntime.so"
                    || n.starts_with("libonnxruntime.so.")
                    || n == "libonnxruntime.dylib"
            })
        })
        .collect();
    found.sort();
    found.pop()
}

/// The folders beside an executable where a project-local ONNX Runtime is looked for, in order:
/// `DIR/onnxruntime/lib`, `DIR/../onnxruntime/lib` and `DIR/../lib`, where `DIR` is the
/// executable's folder (symbolic links to the executable resolved).
pub fn beside_executable(exe: &Path) -> Vec<PathBuf> {
    let exe = std::fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    let Some(dir) = exe.parent() else {
        return Vec::new();
    };
    let mut out = vec![dir.join("onnxruntime").join("lib")];
    if let Some(up) = dir.parent() {
        out.push(up.join("onnxruntime").join("lib"));
        out.push(up.join("lib"));
    }
    out
}

/// Finds the ONNX Runtime library (see the module docs for the order).
///
/// # Errors
/// [`RuntimeError::NotFound`] with what was searched and how to install it.
pub fn find_library(explicit: Option<&Path>) -> Result<Library, RuntimeError> {
    let lib = |path: PathBuf, source: &str| Library {
        version: version_of(&path),
        path,
        source: source.to_owned(),
    };
    if let Some(p) = explicit {
        return Ok(lib(p.to_path_buf(), "--ort-lib"));
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        return Ok(lib(PathBuf::from(p), "ORT_DYLIB_PATH"));
    }
    let mut searched = vec!["ORT_DYLIB_PATH (unset)".to_owned()];
    if let Ok(exe) = std::env::current_exe() {
        let beside = beside_executable(&exe);
        if let Some(p) = beside.iter().find_map(|d| library_in(d)) {
            return Ok(lib(p, "beside modelci"));
        }
        searched.push(format!(
            "beside modelci ({})",
            beside
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // One interpreter start for both packages; `find_spec` locates a package without importing
    // it (importing onnxruntime takes a large part of a second).
    let script = "import importlib.util as u\nfor p in ('onnxruntime', 'onnxruntime_gpu'):\n    s = u.find_spec(p)\n    if s and s.submodule_search_locations:\n        print(p, s.submodule_search_locations[0])\n";
    if let Ok(out) = Command::new("python3").args(["-c", script]).output()
        && out.status.success()
    {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some((package, dir)) = line.split_once(' ') else {
                continue;
            };
            if let Some(p) = library_in(&PathBuf::from(dir.trim()).join("capi")) {
                return Ok(lib(p, &format!("python package {package}")));
            }
        }
    }
    searched.push("the onnxruntime Python package (not installed)".into());
    let mut dirs: Vec<PathBuf> = std::env::var_os("LD_LIBRARY_PATH")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    dirs.extend(
        [
            "/usr/local/lib",
            "/usr/lib",
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/opt/onnxruntime/lib",
        ]
        .iter()
        .map(PathBuf::from),
    );
    for d in &dirs {
        if let Some(p) = library_in(d) {
            return Ok(lib(p, "system"));
        }
    }
    searched.push("the system library folders".into());
    Err(RuntimeError::NotFound {
        searched: searched.join(", "),
    })
}

/// The GPUs `nvidia-smi` lists, as `NAME (driver VERSION)` joined by `, `; `None` where it is
/// not installed, fails, or does not answer within 5 seconds. For reports of models that ran on
/// CUDA.
pub fn gpu_names() -> Option<String> {
    let mut child = Command::new("nvidia-smi")
        .args(["--query-gpu=name,driver_version", "--format=csv,noheader"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .stdin(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, driver) = l.split_once(',')?;
            Some(format!("{} (driver {})", name.trim(), driver.trim()))
        })
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// ONNX Runtime's warnings and errors not yet taken (at most [`MAX_WARNINGS`], each once).
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());
const MAX_WARNINGS: usize = 20;

/// ONNX Runtime's logger: instead of its own coloured lines on stderr, in the middle of
/// modelci's output, warnings and errors are kept for the report of the model they concern
/// ([`take_warnings`]); verbose and informational messages are dropped.
fn keep_warning(
    level: ort::logging::LogLevel,
    _category: &str,
    _id: &str,
    _location: &str,
    message: &str,
) {
    use ort::logging::LogLevel;
    if !matches!(level, LogLevel::Warning | LogLevel::Error | LogLevel::Fatal) {
        return;
    }
    let message = message.trim().to_owned();
    if let Ok(mut kept) = WARNINGS.lock()
        && kept.len() < MAX_WARNINGS
        && !kept.contains(&message)
    {
        kept.push(message);
    }
}

/// The warnings ONNX Runtime logged since the last call (loading a model of an old opset, nodes
/// a provider could not take, ...), oldest first.
pub fn take_warnings() -> Vec<String> {
    WARNINGS
        .lock()
        .map(|mut kept| std::mem::take(&mut *kept))
        .unwrap_or_default()
}

/// The loaded runtime (one per process: ONNX Runtime's environment is global).
pub struct Runtime {
    pub library: Library,
    env: ort::environment::Environment,
}

static RUNTIME: OnceLock<Result<Runtime, RuntimeError>> = OnceLock::new();

/// Loads ONNX Runtime (once; later calls return the same runtime whatever they ask for).
///
/// # Errors
/// When the library cannot be found or loaded.
pub fn runtime(explicit: Option<&Path>) -> Result<&'static Runtime, RuntimeError> {
    RUNTIME
        .get_or_init(|| {
            let library = find_library(explicit)?;
            let shown = library.path.display().to_string();
            let builder = ort::init_from(&library.path).map_err(|e| RuntimeError::Load {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            // One pool of intra-op threads, one per core, shared by every session: sessions that
            // run at once share the cores instead of each taking them all, and one session
            // alone gets them all.
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            let pool = ort::environment::GlobalThreadPoolOptions::default()
                .with_intra_threads(cores)
                .and_then(|p| p.with_inter_threads(1))
                // Idle threads sleep instead of spinning: spinning burnt a core's worth of CPU
                // between inferences and made nothing faster (docs/benchmarks.md).
                .and_then(|p| p.with_spin_control(false))
                .map_err(|e| RuntimeError::Load {
                    path: shown.clone(),
                    message: e.to_string(),
                })?;
            let env = builder
                .with_name("modelci")
                .with_global_thread_pool(pool)
                .with_logger(std::sync::Arc::new(keep_warning))
                .build()
                .map_err(|e| RuntimeError::Load {
                    path: shown,
                    message: e.to_string(),
                })?;
            // A custom logger starts at verbose; only warnings and errors are wanted.
            env.set_log_level(ort::logging::LogLevel::Warning);
            Ok(Runtime { library, env })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// An input or output of a loaded model.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    pub name: String,
    /// The element type of a tensor; `None` for sequences and maps.
    pub dtype: Option<DType>,
    /// `-1` for dynamic dimensions. A sequence has one dynamic dimension (`[-1]`: its length,
    /// one element per row for ZipMap), a map none.
    pub shape: Vec<i64>,
}

/// A loaded model, ready to run from several threads: it holds one or more ONNX Runtime
/// sessions (a session runs one inference at a time), and each run takes a free one.
pub struct Model {
    sessions: Vec<Mutex<Session>>,
    next: std::sync::atomic::AtomicUsize,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
    /// The device the model runs on (`Cpu` or `Cuda`, never `Auto`).
    pub device: Device,
    /// How it runs on CUDA (`None` on the CPU).
    pub cuda: Option<CudaOptions>,
}

fn dtype_of(t: TensorElementType) -> Option<DType> {
    Some(match t {
        TensorElementType::Float32 => DType::F32,
        TensorElementType::Float64 => DType::F64,
        TensorElementType::Float16 => DType::F16,
        TensorElementType::Bfloat16 => DType::BF16,
        TensorElementType::Int8 => DType::I8,
        TensorElementType::Int16 => DType::I16,
        TensorElementType::Int32 => DType::I32,
        TensorElementType::Int64 => DType::I64,
        TensorElementType::Uint8 => DType::U8,
        TensorElementType::Uint16 => DType::U16,
        TensorElementType::Uint32 => DType::U32,
        TensorElementType::Uint64 => DType::U64,
        TensorElementType::Bool => DType::Bool,
        TensorElementType::String => DType::String,
        _ => return None,
    })
}

fn port(name: &str, vt: &ValueType) -> Port {
    match vt {
        ValueType::Tensor { ty, shape, .. } => Port {
            name: name.to_owned(),
            dtype: dtype_of(*ty),
            shape: shape.iter().copied().collect(),
        },
        ValueType::Sequence(_) => Port {
            name: name.to_owned(),
            dtype: None,
            shape: vec![-1],
        },
        _ => Port {
            name: name.to_owned(),
            dtype: None,
            shape: Vec::new(),
        },
    }
}

impl Runtime {
    /// Whether this ONNX Runtime was built with the CUDA execution provider (the CPU-only
    /// `onnxruntime` wheel was not; `onnxruntime-gpu` was).
    pub fn has_cuda(&self) -> bool {
        use ort::ep::ExecutionProvider as _;
        ort::ep::CUDA::is_available().unwrap_or(false)
    }

    /// The execution providers this runtime offers, for `doctor` and reports.
    pub fn providers(&self) -> Vec<&'static str> {
        let mut out = vec!["cpu"];
        if self.has_cuda() {
            out.push("cuda");
        }
        out
    }

    /// Loads a model file on the CPU.
    ///
    /// # Errors
    /// A file ONNX Runtime refuses (corrupt, unsupported opset...), with its message.
    pub fn load(&self, path: &Path) -> Result<Model, RuntimeError> {
        self.load_on(path, Device::Cpu)
    }

    /// Loads a model file on a device. Asking for CUDA where it is not available is an error,
    /// never a silent fall-back; `Auto` falls back to the CPU and says so in [`Model::device`].
    ///
    /// # Errors
    /// As [`Runtime::load`], plus [`RuntimeError::Device`] for CUDA that is missing or fails.
    pub fn load_on(&self, path: &Path, device: Device) -> Result<Model, RuntimeError> {
        self.load_pool(path, device, 1)
    }

    /// Loads `sessions` sessions of a model file on a device, so that as many inferences can run
    /// at once. Every session runs on the runtime's one pool of intra-op threads (one per core),
    /// so sessions running at once share the cores and a session running alone has them all.
    ///
    /// # Errors
    /// As [`Runtime::load_on`].
    pub fn load_pool(
        &self,
        path: &Path,
        device: Device,
        sessions: usize,
    ) -> Result<Model, RuntimeError> {
        self.load_pool_with(path, device, sessions, CudaOptions::default())
    }

    /// [`Runtime::load_pool`], with how the model runs on CUDA (TF32, cuDNN's convolution
    /// algorithm search); the options are kept in [`Model::cuda`] when CUDA runs it.
    ///
    /// # Errors
    /// As [`Runtime::load_on`].
    pub fn load_pool_with(
        &self,
        path: &Path,
        device: Device,
        sessions: usize,
        cuda: CudaOptions,
    ) -> Result<Model, RuntimeError> {
        let sessions = sessions.max(1);
        let first = self.session(path, device, cuda)?;
        let mut pool = vec![Mutex::new(first.0)];
        for _ in 1..sessions {
            pool.push(Mutex::new(self.session(path, first.1, cuda)?.0));
        }
        let session = pool[0].lock().map_err(|_| RuntimeError::Run {
            message: "the model's session is unusable".into(),
        })?;
        let inputs = session
            .inputs()
            .iter()
            .map(|o| port(o.name(), o.dtype()))
            .collect();
        let outputs = session
            .outputs()
            .iter()
            .map(|o| port(o.name(), o.dtype()))
            .collect();
        drop(session);
        Ok(Model {
            sessions: pool,
            next: std::sync::atomic::AtomicUsize::new(0),
            inputs,
            outputs,
            device: first.1,
            cuda: (first.1 == Device::Cuda).then_some(cuda),
        })
    }

    /// One session, and the device it runs on.
    fn session(
        &self,
        path: &Path,
        device: Device,
        cuda: CudaOptions,
    ) -> Result<(Session, Device), RuntimeError> {
        let shown = path.display().to_string();
        let fail = |e: ort::Error| RuntimeError::Model {
            path: shown.clone(),
            message: e.to_string(),
        };
        let cuda_wanted = match device {
            Device::Cpu => false,
            Device::Cuda if !self.has_cuda() => {
                return Err(RuntimeError::Device(format!(
                    "device `cuda` was asked for, but this ONNX Runtime ({}) has no CUDA execution provider; install `onnxruntime-gpu` on a machine with an NVIDIA GPU and CUDA, or use device `cpu` or `auto`",
                    self.library.path.display()
                )));
            }
            Device::Cuda => true,
            Device::Auto => self.has_cuda(),
        };
        // Refused inputs are reported as errored cases with ONNX Runtime's message; its own log
        // lines on stderr would only repeat them.
        let mut builder = Session::builder(&self.env)
            .map_err(fail)?
            .with_log_level(ort::logging::LogLevel::Fatal)
            .map_err(|e| fail(e.into()))?;
        let mut used = Device::Cpu;
        if cuda_wanted {
            use ort::ep::ExecutionProvider as _;
            let search = match cuda.conv_algo_search {
                ConvAlgoSearch::Exhaustive => ort::ep::cuda::ConvAlgorithmSearch::Exhaustive,
                ConvAlgoSearch::Heuristic => ort::ep::cuda::ConvAlgorithmSearch::Heuristic,
                ConvAlgoSearch::Default => ort::ep::cuda::ConvAlgorithmSearch::Default,
            };
            // TF32 is set either way: ONNX Runtime's CUDA provider turns it on when not told.
            let provider = ort::ep::CUDA::default()
                .with_tf32(cuda.tf32)
                .with_conv_algorithm_search(search);
            match provider.register(&mut builder) {
                Ok(()) => used = Device::Cuda,
                Err(e) if device == Device::Cuda => {
                    return Err(RuntimeError::Device(format!(
                        "device `cuda` was asked for, but CUDA could not start: {e}"
                    )));
                }
                Err(_) => {}
            }
        }
        let session = builder.commit_from_file(path).map_err(fail)?;
        Ok((session, used))
    }
}

fn to_value(t: &Tensor) -> Result<DynValue, String> {
    let shape: Vec<usize> = t
        .shape
        .iter()
        .map(|d| usize::try_from(*d).unwrap_or(0))
        .collect();
    let e = |e: ort::Error| format!("input `{}`: {e}", t.name);
    Ok(match (&t.data, t.dtype) {
        (Data::Float(v), DType::F32) => {
            OrtTensor::from_array((shape, v.iter().map(|x| *x as f32).collect::<Vec<_>>()))
                .map_err(e)?
                .into_dyn()
        }
        (Data::Float(v), DType::F64) => OrtTensor::from_array((shape, v.clone()))
            .map_err(e)?
            .into_dyn(),
        (Data::Float(v), DType::F16) => OrtTensor::from_array((
            shape,
            v.iter()
                .map(|x| half::f16::from_f64(*x))
                .collect::<Vec<_>>(),
        ))
        .map_err(e)?
        .into_dyn(),
        (Data::Float(v), DType::BF16) => OrtTensor::from_array((
            shape,
            v.iter()
                .map(|x| half::bf16::from_f64(*x))
                .collect::<Vec<_>>(),
        ))
        .map_err(e)?
        .into_dyn(),
        (Data::Int(v), DType::I8) => {
            OrtTensor::from_array((shape, v.iter().map(|x| *x as i8).collect::<Vec<_>>()))
                .map_err(e)?
                .into_dyn()
        }
        (Data::Int(v), DType::I16) => {
            OrtTensor::from_array((shape, v.iter().map(|x| *x as i16).collect::<Vec<_>>()))
                .map_err(e)?
                .into_dyn()
        }
        (Data::Int(v), DType::I32) => {
            OrtTensor::from_array((shape, v.iter().map(|x| *x as i32).collect::<Vec<_>>()))
                .map_err(e)?
                .into_dyn()
        }
        (Data::Int(v), _) => OrtTensor::from_array((shape, v.clone()))
            .map_err(e)?
            .into_dyn(),
        (Data::UInt(v), DType::U8) => {
            OrtTensor::from_array((shape, v.iter().map(|x| *x as u8).collect::<Vec<_>>()))
                .map_err(e)?
                .into_dyn()
        }
        (Data::UInt(v), DType::U16) => {
            OrtTensor::from_array((shape, v.iter().map(|x| *x as u16).collect::<Vec<_>>()))
                .map_err(e)?
                .into_dyn()
        }
        (Data::UInt(v), DType::U32) => {
            OrtTensor::from_array((shape, v.iter().map(|x| *x as u32).collect::<Vec<_>>()))
                .map_err(e)?
                .into_dyn()
        }
        (Data::UInt(v), _) => OrtTensor::from_array((shape, v.clone()))
            .map_err(e)?
            .into_dyn(),
        (Data::Bool(v), _) => OrtTensor::from_array((shape, v.clone()))
            .map_err(e)?
            .into_dyn(),
        (Data::Str(v), _) => OrtTensor::from_string_array((shape, v.as_slice()))
            .map_err(e)?
            .into_dyn(),
        (Data::Float(_), other) => {
            return Err(format!(
                "input `{}`: float values for a {other} tensor",
                t.name
            ));
        }
        (Data::Maps { .. }, _) => {
            return Err(format!(
                "input `{}`: a {} cannot be sent to the model (sequence and map inputs are not supported)",
                t.name,
                t.type_text()
            ));
        }
    })
}

/// One map value, as `(key type, value type, map)`: integer or string keys, float32 or float64
/// values (ZipMap's class → probability maps).
fn read_map(
    name: &str,
    v: &ort::value::Value<DynMapValueType>,
) -> Result<(DType, DType, Map), String> {
    let e = |e: ort::Error| format!("output `{name}`: {e}");
    let ValueType::Map { key, value } = v.dtype() else {
        return Err(format!("output `{name}`: {} is not a map", v.dtype()));
    };
    let unsupported = || {
        format!(
            "output `{name}`: maps of {} are not supported (keys must be int64 or string, values float or double)",
            v.dtype()
        )
    };
    macro_rules! kv {
        ($k:ty, $v:ty, $key:expr, $val:expr) => {
            v.try_extract_key_values::<$k, $v>()
                .map_err(e)?
                .into_iter()
                .map(|(k, x)| ($key(k), $val(x)))
                .collect::<Map>()
        };
    }
    let map = match (key, value) {
        (TensorElementType::Int64, TensorElementType::Float32) => {
            kv!(i64, f32, Key::Int, f64::from)
        }
        (TensorElementType::Int64, TensorElementType::Float64) => {
            kv!(i64, f64, Key::Int, |x| x)
        }
        (TensorElementType::String, TensorElementType::Float32) => {
            kv!(String, f32, Key::Str, f64::from)
        }
        (TensorElementType::String, TensorElementType::Float64) => {
            kv!(String, f64, Key::Str, |x| x)
        }
        _ => return Err(unsupported()),
    };
    let (Some(k), Some(d)) = (dtype_of(*key), dtype_of(*value)) else {
        return Err(unsupported());
    };
    Ok((k, d, map))
}

fn from_value(name: &str, v: &DynValue) -> Result<Tensor, String> {
    let e = |e: ort::Error| format!("output `{name}`: {e}");
    let ty = match v.dtype() {
        ValueType::Tensor { ty, .. } => ty,
        ValueType::Map { .. } => {
            let map = v.view().downcast::<DynMapValueType>().map_err(e)?;
            let (key, dtype, m) = read_map(name, &map)?;
            return Tensor::maps(name, key, dtype, vec![m], false).map_err(|e| e.to_string());
        }
        ValueType::Sequence(inner) if matches!(**inner, ValueType::Map { .. }) => {
            let seq = v.view().downcast::<DynSequenceValueType>().map_err(e)?;
            let items = seq.try_extract_sequence::<DynMapValueType>().map_err(e)?;
            let (mut key, mut dtype) = match &**inner {
                ValueType::Map { key, value } => (dtype_of(*key), dtype_of(*value)),
                _ => (None, None),
            };
            let mut maps = Vec::with_capacity(items.len());
            for item in &items {
                let (k, d, m) = read_map(name, item)?;
                (key, dtype) = (Some(k), Some(d));
                maps.push(m);
            }
            let (Some(key), Some(dtype)) = (key, dtype) else {
                return Err(format!(
                    "output `{name}` is a {} of an unsupported type",
                    v.dtype()
                ));
            };
            return Tensor::maps(name, key, dtype, maps, true).map_err(|e| e.to_string());
        }
        other => {
            return Err(format!(
                "output `{name}` is a {other}, which modelci cannot read (tensors, maps and sequences of maps are supported)"
            ));
        }
    };
    let dtype = dtype_of(*ty)
        .ok_or_else(|| format!("output `{name}` has an unsupported element type {ty:?}"))?;
    macro_rules! ext {
        ($t:ty, $wrap:expr) => {{
            let (shape, data) = v.try_extract_tensor::<$t>().map_err(e)?;
            (shape.iter().copied().collect::<Vec<i64>>(), $wrap(data))
        }};
    }
    let (shape, data) = match dtype {
        DType::F32 => ext!(f32, |d: &[f32]| Data::Float(
            d.iter().map(|x| f64::from(*x)).collect()
        )),
        DType::F64 => ext!(f64, |d: &[f64]| Data::Float(d.to_vec())),
        DType::F16 => ext!(half::f16, |d: &[half::f16]| Data::Float(
            d.iter().map(|x| x.to_f64()).collect()
        )),
        DType::BF16 => ext!(half::bf16, |d: &[half::bf16]| Data::Float(
            d.iter().map(|x| x.to_f64()).collect()
        )),
        DType::I8 => ext!(i8, |d: &[i8]| Data::Int(
            d.iter().map(|x| i64::from(*x)).collect()
        )),
        DType::I16 => ext!(i16, |d: &[i16]| Data::Int(
            d.iter().map(|x| i64::from(*x)).collect()
        )),
        DType::I32 => ext!(i32, |d: &[i32]| Data::Int(
            d.iter().map(|x| i64::from(*x)).collect()
        )),
        DType::I64 => ext!(i64, |d: &[i64]| Data::Int(d.to_vec())),
        DType::U8 => ext!(u8, |d: &[u8]| Data::UInt(
            d.iter().map(|x| u64::from(*x)).collect()
        )),
        DType::U16 => ext!(u16, |d: &[u16]| Data::UInt(
            d.iter().map(|x| u64::from(*x)).collect()
        )),
        DType::U32 => ext!(u32, |d: &[u32]| Data::UInt(
            d.iter().map(|x| u64::from(*x)).collect()
        )),
        DType::U64 => ext!(u64, |d: &[u64]| Data::UInt(d.to_vec())),
        DType::Bool => ext!(bool, |d: &[bool]| Data::Bool(d.to_vec())),
        DType::String => {
            let (shape, data) = v.try_extract_strings().map_err(e)?;
            (shape.iter().copied().collect(), Data::Str(data))
        }
    };
    Tensor::new(name, dtype, shape, data).map_err(|e| e.to_string())
}

impl Model {
    /// How many inferences can run at once.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// A free session, else (all busy) the next one in turn, waiting for it.
    fn free_session(&self) -> Result<std::sync::MutexGuard<'_, Session>, ()> {
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for k in 0..n {
            if let Ok(guard) = self.sessions[(start + k) % n].try_lock() {
                return Ok(guard);
            }
        }
        self.sessions[start % n].lock().map_err(|_| ())
    }

    /// Runs the model on named inputs and returns every output, in the model's order.
    ///
    /// # Errors
    /// Missing or unexpected inputs, and whatever ONNX Runtime refuses (wrong shape or dtype),
    /// as a message; never a panic.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        let run = |message: String| RuntimeError::Run { message };
        crate::backend::check_input_names(&self.inputs, inputs).map_err(run)?;
        let mut values = Vec::with_capacity(inputs.len());
        for t in inputs {
            values.push((
                std::borrow::Cow::from(t.name.clone()),
                ort::session::SessionInputValue::from(to_value(t).map_err(run)?),
            ));
        }
        self.run_values(values)
    }

    /// [`Model::run`] on inputs it may consume: each input's values are dropped as soon as
    /// ONNX Runtime has its own copy, so a large request is not held twice while the model
    /// runs (the reference service's inferences).
    ///
    /// # Errors
    /// As [`Model::run`].
    pub fn run_owned(&self, inputs: Vec<Tensor>) -> Result<Vec<Tensor>, RuntimeError> {
        let run = |message: String| RuntimeError::Run { message };
        crate::backend::check_input_names(&self.inputs, &inputs).map_err(run)?;
        let mut values = Vec::with_capacity(inputs.len());
        for t in inputs {
            let value = to_value(&t).map_err(run)?;
            let name = t.name;
            values.push((
                std::borrow::Cow::from(name),
                ort::session::SessionInputValue::from(value),
            ));
        }
        self.run_values(values)
    }

    fn run_values(
        &self,
        values: Vec<(
            std::borrow::Cow<'static, str>,
            ort::session::SessionInputValue<'static>,
        )>,
    ) -> Result<Vec<Tensor>, RuntimeError> {
        let run = |message: String| RuntimeError::Run { message };
        let mut session = self
            .free_session()
            .map_err(|()| run("the model's session is unusable after an earlier failure".into()))?;
        let outputs = session
            .run(values)
            .map_err(|e| run(format!("ONNX Runtime refused the inputs: {e}")))?;
        self.outputs
            .iter()
            .map(|p| {
                let v = outputs
                    .get(p.name.as_str())
                    .ok_or_else(|| run(format!("the model did not produce output `{}`", p.name)))?;
                from_value(&p.name, v).map_err(run)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;

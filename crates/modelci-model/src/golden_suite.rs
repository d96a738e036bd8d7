//! Golden suites on a local model: read cases (ONNX test-data folders, JSON files, `.npz`
//! archives), run each on the model, compare every expected output, and report one case per
//! golden case.

use std::path::Path;
use std::time::Instant;

use modelci_report::{Case, Location, Outcome};

use crate::compare::{NanPolicy, Tolerance, compare};
use modelci_tensor::backend::Backend;
use modelci_tensor::golden::{self, GoldenError};
use modelci_tensor::runtime::{CudaOptions, Model, RuntimeError};
use modelci_tensor::tensor::Tensor;

/// Tolerance overrides (`--rtol`, `--atol`); each dtype's default otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overrides {
    pub rtol: Option<f64>,
    pub atol: Option<f64>,
}

/// Golden cases from a path, and whether they use the ONNX test-data layout (whose default
/// tolerance is the ONNX backend tests').
pub struct Loaded {
    pub cases: Vec<golden::Case>,
    pub onnx_layout: bool,
}

/// Reads the cases at `path`: a folder of `test_data_set_N` folders, a `.json` file, or a
/// `.npz` archive (one case: its arrays, inputs and outputs told apart by the model's
/// signature).
///
/// # Errors
/// A path that is none of these, or a golden file that cannot be read.
pub fn load(path: &Path, model: &dyn Backend) -> Result<Loaded, GoldenError> {
    let shown = path.display().to_string();
    if path.is_dir() {
        let mut cases = golden::read_onnx_layout(path)?;
        // `.pb` tensors often carry no name: they are the model's inputs and outputs in order.
        for case in &mut cases {
            name_by_position(
                &mut case.inputs,
                model.inputs().iter().map(|p| p.name.as_str()),
            );
            name_by_position(
                &mut case.outputs,
                model.outputs().iter().map(|p| p.name.as_str()),
            );
        }
        return Ok(Loaded {
            cases,
            onnx_layout: true,
        });
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Ok(Loaded {
            cases: golden::read_json(path)?,
            onnx_layout: false,
        }),
        Some("npz") => {
            let arrays = golden::read_npz(path)?;
            let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
            for a in arrays {
                if model.inputs().iter().any(|p| p.name == a.name) {
                    inputs.push(a);
                } else if model.outputs().iter().any(|p| p.name == a.name) {
                    outputs.push(a);
                } else {
                    return Err(GoldenError {
                        file: shown,
                        line: None,
                        message: format!(
                            "array `{}` is neither an input nor an output of the model",
                            a.name
                        ),
                    });
                }
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(Loaded {
                cases: vec![golden::Case {
                    name,
                    source: shown,
                    inputs,
                    outputs,
                }],
                onnx_layout: false,
            })
        }
        _ => Err(GoldenError {
            file: shown,
            line: None,
            message: "golden cases are a folder of test_data_set_N folders, a .json file or a .npz archive"
                .into(),
        }),
    }
}

fn name_by_position<'a>(tensors: &mut [Tensor], names: impl Iterator<Item = &'a str>) {
    let names: Vec<&str> = names.collect();
    let unnamed = tensors.iter().all(|t| {
        t.name.starts_with("input_")
            || t.name.starts_with("output_")
            || !names.contains(&t.name.as_str())
    });
    if unnamed {
        for (t, n) in tensors.iter_mut().zip(names) {
            n.clone_into(&mut t.name);
        }
    }
}

/// Runs one golden case and judges it.
pub fn run_case(
    backend: &dyn Backend,
    case: &golden::Case,
    overrides: Overrides,
    onnx_layout: bool,
) -> Case {
    let started = Instant::now();
    let answer = backend.run(&case.inputs);
    finish(
        case,
        answer,
        overrides,
        onnx_layout,
        started.elapsed().as_secs_f64() * 1000.0,
    )
}

/// Judges an answer to a golden case.
fn finish(
    case: &golden::Case,
    answer: Result<Vec<Tensor>, modelci_tensor::runtime::RuntimeError>,
    overrides: Overrides,
    onnx_layout: bool,
    duration_ms: f64,
) -> Case {
    let mut out = match answer {
        Err(e) => Case::errored(&case.name, format!("the model could not run the case: {e}")),
        Ok(actual) if case.outputs.is_empty() => {
            Case::passed(&case.name).with_property("outputs", actual.len().to_string())
        }
        Ok(actual) => judge(case, &actual, overrides, onnx_layout),
    };
    out.location = Some(Location::file(case.source.clone()));
    out.duration_ms = duration_ms;
    out
}

/// A golden case to run, and whether it comes from the ONNX test-data layout.
#[derive(Clone, Copy)]
pub struct Golden<'a> {
    pub case: &'a golden::Case,
    pub onnx_layout: bool,
}

/// How golden cases are run together.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// The most rows in one inference (1: every case alone).
    pub max_batch: usize,
    /// How many inferences run at once.
    pub jobs: usize,
}

/// The most bytes of input stacked into one inference. A model's intermediate tensors grow with
/// its batch: a conv net's first layer alone holds tens of times its input, so 768 images of
/// 96x96 in one inference took 5 GB and ran on one session while the others idled. Batches of
/// a few MB already amortise ONNX Runtime's per-call cost (tens of microseconds).
pub const MAX_BATCH_BYTES: usize = 1 << 20;

/// Runs golden cases and judges them, returning one report case per golden case, in order.
///
/// When every input and output of the model has a dynamic first (batch) dimension, cases whose
/// inputs share dtypes and shapes past that dimension are stacked into batches of at most
/// `max_batch` rows, run once, and split again. A case judged in a batch is only reported as
/// failed after it was run alone and failed alone too (batching may change float results in the
/// last bits), and a batch the model refuses is run case by case, so batching never changes a
/// verdict. Batches (or cases) run on `jobs` threads.
pub fn run_all(
    backend: &dyn Backend,
    cases: &[Golden<'_>],
    overrides: Overrides,
    batching: Batching,
) -> Vec<Case> {
    run_all_until(
        backend,
        cases,
        overrides,
        batching,
        &std::sync::atomic::AtomicBool::new(false),
    )
}

/// [`run_all`], stopping between batches once `cancel` is set (Ctrl-C): cases not run are
/// reported as skipped.
pub fn run_all_until(
    backend: &dyn Backend,
    cases: &[Golden<'_>],
    overrides: Overrides,
    batching: Batching,
    cancel: &std::sync::atomic::AtomicBool,
) -> Vec<Case> {
    let units = plan_batches(backend, cases, batching);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let down = Down::default();
    let jobs = batching.jobs.clamp(1, units.len().max(1));
    let mut results: Vec<Option<Case>> = vec![None; cases.len()];
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<(usize, Case)>>();
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, units, down) = (&next, &units, &down);
            scope.spawn(move || {
                loop {
                    if cancel.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(unit) = units.get(n) else { break };
                    let done = run_unit(backend, cases, &unit.0, &unit.1, overrides, down);
                    if tx.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for done in rx {
            for (i, case) in done {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(case);
                }
            }
        }
    });
    results
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            c.unwrap_or_else(|| {
                let name = cases
                    .get(i)
                    .map_or_else(|| format!("#{i}"), |g| g.case.name.clone());
                if cancel.load(std::sync::atomic::Ordering::SeqCst) {
                    Case::skipped(name, "not run: the run was interrupted")
                } else {
                    Case::errored(name, "internal error: the case was not run")
                }
            })
        })
        .collect()
}

/// Groups case indexes into batches whose cases can be stacked along the first axis, each with
/// its cases' row counts (empty for a case run alone). A batch holds at most `max_batch` rows
/// and [`MAX_BATCH_BYTES`] of input, and the rows of a kind of case are spread over at least
/// `jobs` batches when there are enough, so that every session has work.
fn plan_batches(
    backend: &dyn Backend,
    cases: &[Golden<'_>],
    batching: Batching,
) -> Vec<(Vec<usize>, Vec<usize>)> {
    let Batching { max_batch, jobs } = batching;
    let batchable = max_batch > 1
        && !backend.inputs().is_empty()
        && backend
            .inputs()
            .iter()
            .chain(backend.outputs())
            .all(|p| p.shape.first() == Some(&-1));
    if !batchable {
        return (0..cases.len()).map(|i| (vec![i], Vec::new())).collect();
    }
    // Key: per model input, (dtype, shape past the first axis); with each member's rows.
    let mut groups: Vec<(BatchKey, Vec<(usize, usize)>)> = Vec::new();
    let mut alone = Vec::new();
    for (i, g) in cases.iter().enumerate() {
        let Some((key, rows)) = batch_key(backend, g.case) else {
            alone.push((vec![i], Vec::new()));
            continue;
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push((i, rows)),
            None => groups.push((key, vec![(i, rows)])),
        }
    }
    let mut units = Vec::new();
    for (key, members) in groups {
        let row_bytes: usize = key
            .iter()
            .map(|(dtype, shape)| {
                let elements = shape
                    .iter()
                    .map(|d| usize::try_from(*d).unwrap_or(0))
                    .product::<usize>();
                elements.saturating_mul(dtype.size())
            })
            .sum();
        let rows_in_all: usize = members.iter().map(|m| m.1).sum();
        let cap = max_batch
            .min(MAX_BATCH_BYTES / row_bytes.max(1))
            .min(rows_in_all.div_ceil(jobs.max(1)))
            .max(1);
        let mut current: (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
        let mut rows = 0usize;
        for (i, r) in members {
            if !current.0.is_empty() && rows + r > cap {
                units.push(std::mem::take(&mut current));
                rows = 0;
            }
            current.0.push(i);
            current.1.push(r);
            rows += r;
        }
        if !current.0.is_empty() {
            units.push(current);
        }
    }
    units.extend(alone);
    units
}

type BatchKey = Vec<(modelci_tensor::tensor::DType, Vec<i64>)>;

/// The stacking key of a case and its row count, when it can be stacked: it gives exactly the
/// model's inputs, each with at least one axis and the same (non-zero) number of rows.
fn batch_key(backend: &dyn Backend, case: &golden::Case) -> Option<(BatchKey, usize)> {
    if case.inputs.len() != backend.inputs().len() {
        return None;
    }
    let mut key = Vec::with_capacity(case.inputs.len());
    let mut rows = None;
    for port in backend.inputs() {
        let t = case.inputs.iter().find(|t| t.name == port.name)?;
        let r = t.rows()?;
        if r == 0 || rows.is_some_and(|x| x != r) || t.shape.len() != port.shape.len() {
            return None;
        }
        rows = Some(r);
        key.push((t.dtype, t.shape[1..].to_vec()));
    }
    Some((key, rows?))
}

/// Runs one batch (or one case) and judges its cases.
fn run_unit(
    backend: &dyn Backend,
    cases: &[Golden<'_>],
    unit: &[usize],
    rows: &[usize],
    overrides: Overrides,
    down: &Down,
) -> Vec<(usize, Case)> {
    let alone = |i: usize| {
        let g = cases[i];
        if let Some(why) = down.gave_up() {
            let mut c = Case::errored(
                &g.case.name,
                format!("not run: {} stopped answering ({why})", backend.target()),
            );
            c.location = Some(Location::file(g.case.source.clone()));
            return (i, c);
        }
        let started = Instant::now();
        let answer = backend.run(&g.case.inputs);
        if let Err(RuntimeError::Unavailable { message }) = &answer {
            down.record(message);
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        (i, finish(g.case, answer, overrides, g.onnx_layout, ms))
    };
    if unit.len() == 1 || down.gave_up().is_some() {
        return unit.iter().map(|&i| alone(i)).collect();
    }
    let started = Instant::now();
    let (answers, rows) = match run_stacked(backend, cases, unit, rows) {
        Stacked::Answers(answers, rows) => (answers, rows),
        Stacked::Unusable => return unit.iter().map(|&i| alone(i)).collect(),
        Stacked::Unavailable(message) => {
            // Every case of the batch would wait for the same silence: judge them all on it.
            down.record(&message);
            let ms = started.elapsed().as_secs_f64() * 1000.0 / unit.len() as f64;
            return unit
                .iter()
                .map(|&i| {
                    let g = cases[i];
                    let answer = Err(RuntimeError::Unavailable {
                        message: message.clone(),
                    });
                    (i, finish(g.case, answer, overrides, g.onnx_layout, ms))
                })
                .collect();
        }
    };
    let total: usize = rows.iter().sum();
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    unit.iter()
        .zip(answers)
        .zip(rows)
        .map(|((&i, answer), r)| {
            let g = cases[i];
            let share = elapsed * r as f64 / total.max(1) as f64;
            let case = finish(g.case, Ok(answer), overrides, g.onnx_layout, share);
            if case.outcome == Outcome::Passed {
                (i, case)
            } else {
                alone(i)
            }
        })
        .collect()
}

/// Unavailability met so far: after [`Down::LIMIT`] requests the backend could not answer at
/// all, the remaining cases are not sent (each would wait out its own timeout).
#[derive(Default)]
struct Down {
    count: std::sync::atomic::AtomicUsize,
    last: std::sync::Mutex<Option<String>>,
}

impl Down {
    const LIMIT: usize = 3;

    fn record(&self, message: &str) {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut last) = self.last.lock() {
            *last = Some(message.to_owned());
        }
    }

    /// The last unavailability, once there were too many.
    fn gave_up(&self) -> Option<String> {
        if self.count.load(std::sync::atomic::Ordering::SeqCst) < Self::LIMIT {
            return None;
        }
        self.last.lock().ok().and_then(|l| l.clone())
    }
}

/// What a stacked run gave.
enum Stacked {
    /// Per case, its outputs; and its rows.
    Answers(Vec<Vec<Tensor>>, Vec<usize>),
    /// The batch cannot be used (refused, or outputs that do not split): run case by case.
    Unusable,
    /// The backend could not be asked.
    Unavailable(String),
}

/// Stacks the unit's inputs, runs them once and splits every output back per case.
fn run_stacked(
    backend: &dyn Backend,
    cases: &[Golden<'_>],
    unit: &[usize],
    rows: &[usize],
) -> Stacked {
    if rows.len() != unit.len() {
        return Stacked::Unusable;
    }
    let mut inputs = Vec::with_capacity(backend.inputs().len());
    for port in backend.inputs() {
        let Some(stacked) = unit
            .iter()
            .map(|&i| cases[i].case.inputs.iter().find(|t| t.name == port.name))
            .collect::<Option<Vec<&Tensor>>>()
            .and_then(|parts| Tensor::concat_rows(&parts))
        else {
            return Stacked::Unusable;
        };
        inputs.push(stacked);
    }
    let outputs = match backend.run(&inputs) {
        Ok(o) => o,
        Err(RuntimeError::Unavailable { message }) => return Stacked::Unavailable(message),
        Err(_) => return Stacked::Unusable,
    };
    let total: usize = rows.iter().sum();
    if outputs.iter().any(|o| o.rows() != Some(total)) {
        return Stacked::Unusable;
    }
    let mut answers = Vec::with_capacity(unit.len());
    let mut start = 0;
    for &r in rows {
        let Some(answer) = outputs
            .iter()
            .map(|o| o.slice_rows(start, r))
            .collect::<Option<Vec<_>>>()
        else {
            return Stacked::Unusable;
        };
        answers.push(answer);
        start += r;
    }
    Stacked::Answers(answers, rows.to_vec())
}

/// Splits a case whose tensors stack many cases along their first axis into one case per row
/// (each keeping the axis, with one row), named `<name>#<row>`; a case of one row keeps its name.
///
/// # Errors
/// A case whose tensors do not all have the same number of rows.
pub fn split_rows(case: &golden::Case) -> Result<Vec<golden::Case>, String> {
    let mut rows = None;
    for t in case.inputs.iter().chain(&case.outputs) {
        let Some(r) = t.rows() else {
            return Err(format!(
                "`{}` is a scalar: per-row cases need every array to have a first axis",
                t.name
            ));
        };
        match rows {
            None => rows = Some((r, t.name.clone())),
            Some((n, ref first)) if n != r => {
                return Err(format!(
                    "per-row cases need every array to have the same number of rows: `{first}` has {n}, `{}` has {r}",
                    t.name
                ));
            }
            Some(_) => {}
        }
    }
    let n = rows.map_or(0, |r| r.0);
    if n == 1 {
        return Ok(vec![case.clone()]);
    }
    let slice = |ts: &[Tensor], i: usize| -> Vec<Tensor> {
        ts.iter().filter_map(|t| t.slice_rows(i, 1)).collect()
    };
    Ok((0..n)
        .map(|i| golden::Case {
            name: format!("{}#{i}", case.name),
            source: case.source.clone(),
            inputs: slice(&case.inputs, i),
            outputs: slice(&case.outputs, i),
        })
        .collect())
}

fn judge(case: &golden::Case, actual: &[Tensor], overrides: Overrides, onnx_layout: bool) -> Case {
    let mut problems = Vec::new();
    for expected in &case.outputs {
        let Some(got) = actual.iter().find(|t| t.name == expected.name) else {
            problems.push((
                format!("the model has no output `{}`", expected.name),
                None,
                None,
            ));
            continue;
        };
        let base = if onnx_layout && expected.dtype.is_float() {
            Some(Tolerance::ONNX_BACKEND)
        } else {
            Tolerance::default_for(expected.dtype)
        };
        let tol = match (base, overrides.rtol, overrides.atol) {
            (b, None, None) => b,
            (b, r, a) => {
                let b = b.unwrap_or(Tolerance {
                    rtol: 0.0,
                    atol: 0.0,
                });
                Some(Tolerance {
                    rtol: r.unwrap_or(b.rtol),
                    atol: a.unwrap_or(b.atol),
                })
            }
        };
        if let Some(m) = compare(expected, got, tol, NanPolicy::Equal) {
            let worst = m.worst.clone();
            problems.push((
                m.message,
                worst.as_ref().map(|w| w.1.clone()),
                worst.map(|w| w.2),
            ));
        }
    }
    if problems.is_empty() {
        return Case::passed(&case.name);
    }
    let (first, expected, actual) = problems[0].clone();
    let mut message = first;
    if problems.len() > 1 {
        message.push_str(&format!(" (and {} more output(s))", problems.len() - 1));
    }
    let mut c = Case::new(&case.name, Outcome::Failed).with_message(message);
    c.expected = expected;
    c.actual = actual;
    if problems.len() > 1 {
        c.detail = Some(
            problems
                .iter()
                .map(|p| p.0.clone())
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    c
}

/// A model ready to run, with the properties every report of it records.
pub struct Opened {
    pub model: Model,
    /// model path, `model_sha256`, device, onnxruntime version, `session_start_ms`, and on CUDA
    /// the provider options, the GPU and the CUDA libraries (see [`modelci_tensor::cuda`]).
    pub properties: modelci_report::Properties,
}

/// Reads the model's signature, loads ONNX Runtime (`ort_lib`, else the usual places) and the
/// model on `device` with one session: the start shared by `model record` and the suites.
///
/// # Errors
/// The model or the runtime cannot be used (the message names the file).
pub fn open(
    path: &Path,
    device: modelci_tensor::runtime::Device,
    ort_lib: Option<&Path>,
) -> Result<Opened, String> {
    open_pool(path, device, ort_lib, 1, CudaOptions::default())
}

/// [`open`] with `sessions` sessions, to run that many inferences at once.
///
/// # Errors
/// As [`open`].
pub fn open_pool(
    path: &Path,
    device: modelci_tensor::runtime::Device,
    ort_lib: Option<&Path>,
    sessions: usize,
    cuda: CudaOptions,
) -> Result<Opened, String> {
    let info = modelci_tensor::onnx::inspect(path).map_err(|e| e.to_string())?;
    let rt = modelci_tensor::runtime::runtime(ort_lib).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let model = rt
        .load_pool_with(path, device, sessions, cuda)
        .map_err(|e| e.to_string())?;
    let session_start_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut properties = modelci_report::Properties::new();
    properties.insert("model", info.path);
    properties.insert("model_sha256", info.sha256);
    properties.insert("device", model.device.name());
    if let Some(cuda) = model.cuda {
        // What decides a CUDA run's precision and speed, for whoever reads the report.
        properties.insert("cuda_tf32", cuda.tf32.to_string());
        properties.insert("cudnn_conv_algo_search", cuda.conv_algo_search.name());
        if let Some(gpu) = modelci_tensor::runtime::gpu_names() {
            properties.insert("gpu", gpu);
        }
        // The CUDA, cuBLAS and cuDNN releases the provider loaded for this session.
        for lib in modelci_tensor::cuda::loaded_libraries() {
            properties.insert(lib.kind, lib.describe());
        }
    }
    properties.insert(
        "onnxruntime",
        rt.library.version.clone().unwrap_or_default(),
    );
    // Loading the model into its sessions (on CUDA: the provider's start-up), apart from any
    // inference.
    properties.insert("session_start_ms", format!("{session_start_ms:.2}"));
    // What ONNX Runtime warned about while loading it (an old opset, nodes left to the CPU).
    let warnings = modelci_tensor::runtime::take_warnings();
    if !warnings.is_empty() {
        properties.insert("onnxruntime_warnings", warnings.join("\n"));
    }
    Ok(Opened { model, properties })
}

/// Sessions a local model runs on. One: every session runs on the runtime's one pool of
/// intra-op threads (a thread per core), so a second session only adds contention. Measured on
/// the 2-core machine (docs/benchmarks.md): a conv net 1.22 s with one session against 1.43 s
/// with two; the small MLP and tree models the same either way.
const LOCAL_SESSIONS: usize = 1;

/// Concurrent requests to an endpoint.
const ENDPOINT_CONCURRENCY: usize = 4;

/// A planned `[[suite.model]]` (or `modelci model test`): the model loaded on its device or
/// reached at its endpoint, its golden cases and its expectations.
pub struct ModelCheck {
    backend: crate::timing::Timed,
    jobs: usize,
    items: Vec<Item>,
    /// The golden cases, in order; `Item::Golden` points into it, and the expectations borrow
    /// it as their starting rows.
    golden: Vec<golden::Case>,
    overrides: Overrides,
    max_batch: usize,
    properties: modelci_report::Properties,
    spec: modelci_config::ModelSuite,
    /// The regression baseline (or why it cannot be used), and how reports name it.
    baseline: Option<(Baseline, String)>,
    signature: Option<Result<Vec<String>, String>>,
    /// Set on Ctrl-C: stop between batches.
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

enum Item {
    /// `ModelCheck::golden[index]`.
    Golden {
        index: usize,
        onnx_layout: bool,
    },
    Problem(Case),
    /// The endpoint's metadata against the ONNX model's signature.
    Signature,
    /// `[suite.model.edge_cases]`: the `k`th of their cases.
    Edge(usize, String),
    /// `[suite.model.invariants]`: the `k`th of their cases.
    Invariant(usize, String),
    /// `[[suite.model.robustness]]` number `k`.
    Robustness(usize),
    Regression,
}

/// A regression baseline, or why it cannot be used.
type Baseline = Result<Box<dyn Backend>, String>;

/// Why a model suite cannot run at all (the model or the runtime), and where.
pub struct SetupError {
    pub message: String,
    pub location: Location,
}

impl ModelCheck {
    /// Loads ONNX Runtime and the model, or connects to the endpoint, and reads the golden cases
    /// (a golden path that cannot be read becomes one errored case).
    ///
    /// # Errors
    /// A [`SetupError`] at the config line when the model, the runtime or the endpoint cannot
    /// be used.
    pub fn plan(
        spec: &modelci_config::ModelSuite,
        config_file: &str,
    ) -> Result<ModelCheck, SetupError> {
        Self::plan_with(spec, config_file, None)
    }

    /// [`ModelCheck::plan`] with an explicit ONNX Runtime library.
    ///
    /// # Errors
    /// As [`ModelCheck::plan`].
    pub fn plan_with(
        spec: &modelci_config::ModelSuite,
        config_file: &str,
        ort_lib: Option<&Path>,
    ) -> Result<ModelCheck, SetupError> {
        let at = |message: String| SetupError {
            message,
            location: Location::line(config_file, spec.model_line),
        };
        let device = spec.device;
        let timeout = spec.timeout;
        let connect =
            modelci_v2::ConnectOptions::new(timeout).with_nonfinite_tokens(spec.nonfinite_tokens);
        let (backend, jobs, mut properties, signature): (Box<dyn Backend>, _, _, _) = match &spec
            .endpoint
        {
            Some(url) => {
                let name = spec.model_name.clone().unwrap_or_default();
                let ep = modelci_v2::Endpoint::connect_with(
                    url,
                    &name,
                    spec.model_version.as_deref(),
                    &connect,
                )
                .map_err(|e| at(e.to_string()))?;
                let mut properties = modelci_report::Properties::new();
                properties.insert("endpoint", url.clone());
                properties.insert("model_name", name);
                if let Some(p) = &ep.platform {
                    properties.insert("platform", p.clone());
                }
                let signature = spec.model.as_ref().map(|path| {
                    let info = modelci_tensor::onnx::inspect(path).map_err(|e| e.to_string())?;
                    properties.insert("model", info.path.clone());
                    properties.insert("model_sha256", info.sha256.clone());
                    Ok(modelci_v2::signature_mismatches(&ep, &info))
                });
                (Box::new(ep), ENDPOINT_CONCURRENCY, properties, signature)
            }
            None => {
                let Some(path) = &spec.model else {
                    return Err(at("a model suite needs `model` or `endpoint`".into()));
                };
                let sessions = LOCAL_SESSIONS;
                let Opened { model, properties } =
                    open_pool(path, device, ort_lib, sessions, spec.cuda).map_err(at)?;
                (Box::new(model), sessions, properties, None)
            }
        };
        let mut items = Vec::new();
        let mut golden = Vec::new();
        let mut add = |case: golden::Case, onnx_layout: bool, items: &mut Vec<Item>| {
            items.push(Item::Golden {
                index: golden.len(),
                onnx_layout,
            });
            golden.push(case);
        };
        if signature.is_some() {
            items.push(Item::Signature);
        }
        for path in &spec.cases {
            match load(path, backend.as_ref()) {
                Ok(loaded) => {
                    for case in loaded.cases {
                        if !spec.per_row {
                            add(case, loaded.onnx_layout, &mut items);
                            continue;
                        }
                        match split_rows(&case) {
                            Ok(rows) => {
                                for row in rows {
                                    add(row, loaded.onnx_layout, &mut items);
                                }
                            }
                            Err(message) => items.push(Item::Problem(
                                Case::errored(&case.name, message)
                                    .with_location(Location::file(case.source.clone())),
                            )),
                        }
                    }
                }
                Err(e) => items.push(Item::Problem(
                    Case::errored(path.display().to_string(), e.to_string()).with_location(
                        Location {
                            file: e.file.clone(),
                            line: e.line,
                            column: None,
                        },
                    ),
                )),
            }
        }
        if let Some(edge) = &spec.edge_cases {
            items.extend(
                crate::expect::edge_case_names(edge)
                    .into_iter()
                    .enumerate()
                    .map(|(k, n)| Item::Edge(k, n)),
            );
        }
        if let Some(inv) = &spec.invariants {
            items.extend(
                crate::expect::invariant_names(inv)
                    .into_iter()
                    .enumerate()
                    .map(|(k, n)| Item::Invariant(k, n)),
            );
        }
        items.extend((0..spec.robustness.len()).map(Item::Robustness));
        let baseline = spec.regression.as_ref().map(|r| {
            items.push(Item::Regression);
            match (&r.baseline, &r.baseline_endpoint) {
                (Some(path), _) => (
                    open_pool(path, device, ort_lib, 1, spec.cuda)
                        .map(|o| Box::new(o.model) as Box<dyn Backend>),
                    modelci_config::display_path(path),
                ),
                (None, Some(url)) => {
                    let name = r.baseline_model_name.clone().unwrap_or_default();
                    (
                        modelci_v2::Endpoint::connect_with(url, &name, None, &connect)
                            .map(|e| Box::new(e) as Box<dyn Backend>)
                            .map_err(|e| e.to_string()),
                        format!("{url}/v2/models/{name}"),
                    )
                }
                (None, None) => (
                    Err("`regression` needs `baseline` or `baseline_endpoint`".into()),
                    String::new(),
                ),
            }
        });
        properties.insert("max_batch", spec.max_batch.to_string());
        // The tolerances of the device the model ran on (an endpoint's is not known).
        let (rtol, atol) = match backend.device() {
            Some(d) => spec.tolerance_on(d),
            None => (spec.rtol, spec.atol),
        };
        let overrides = Overrides { rtol, atol };
        Ok(ModelCheck {
            backend: crate::timing::Timed::new(backend),
            jobs,
            items,
            golden,
            overrides,
            max_batch: spec.max_batch,
            properties,
            spec: spec.clone(),
            baseline,
            signature,
            cancel: std::sync::Arc::default(),
        })
    }

    /// Stops between batches (and before each expectation) once `cancel` is set.
    pub fn set_cancel(&mut self, cancel: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        self.cancel = cancel;
    }

    /// What the cases run on.
    pub fn backend(&self) -> &dyn Backend {
        &self.backend
    }

    /// Stable case names, in order.
    pub fn case_names(&self) -> Vec<String> {
        self.items.iter().map(|i| self.item_name(i)).collect()
    }

    fn item_name(&self, item: &Item) -> String {
        match item {
            Item::Golden { index, .. } => self
                .golden
                .get(*index)
                .map(|case| format!("{} ({})", case.name, short(&case.source)))
                .unwrap_or_default(),
            Item::Problem(c) => c.name.clone(),
            Item::Signature => "signature: endpoint metadata matches the model".into(),
            Item::Edge(_, n) | Item::Invariant(_, n) => n.clone(),
            Item::Robustness(k) => format!(
                "robustness: {}",
                self.spec
                    .robustness
                    .get(*k)
                    .map(modelci_config::model::Robustness::display_name)
                    .unwrap_or_default()
            ),
            Item::Regression => format!(
                "regression: against {}",
                self.baseline.as_ref().map_or("", |b| b.1.as_str())
            ),
        }
    }

    /// Suite properties: model, sha256, device, runtime version (or endpoint and model name),
    /// and once cases ran, the inference times (the first apart: see [`crate::timing`]).
    pub fn properties(&self) -> modelci_report::Properties {
        let mut properties = self.properties.clone();
        for (key, value) in self.backend.timings().properties() {
            properties.insert(key, value);
        }
        properties
    }

    /// Runs the case at `index`.
    pub fn run(&self, index: usize) -> Case {
        self.run_batch(&[index])
            .pop()
            .unwrap_or_else(|| Case::errored(format!("#{index}"), "no such case"))
    }

    /// Runs the cases at `indices` (golden cases batched and in parallel, see [`run_all`]) and
    /// returns them in the same order.
    pub fn run_batch(&self, indices: &[usize]) -> Vec<Case> {
        let golden: Vec<(usize, Golden<'_>)> = indices
            .iter()
            .enumerate()
            .filter_map(|(slot, &i)| match self.items.get(i) {
                Some(Item::Golden { index, onnx_layout }) => self.golden.get(*index).map(|case| {
                    (
                        slot,
                        Golden {
                            case,
                            onnx_layout: *onnx_layout,
                        },
                    )
                }),
                _ => None,
            })
            .collect();
        let cases: Vec<Golden<'_>> = golden.iter().map(|g| g.1).collect();
        let ran = run_all_until(
            &self.backend,
            &cases,
            self.overrides,
            Batching {
                max_batch: self.max_batch,
                jobs: self.jobs,
            },
            &self.cancel,
        );
        let mut out: Vec<Option<Case>> = vec![None; indices.len()];
        for ((slot, g), mut case) in golden.iter().zip(ran) {
            case.name = format!("{} ({})", g.case.name, short(&g.case.source));
            out[*slot] = Some(case);
        }
        let mut edge: Option<Vec<Case>> = None;
        let mut invariants: Option<Vec<Case>> = None;
        for (slot, &i) in indices.iter().enumerate() {
            if out[slot].is_some() {
                continue;
            }
            let started = Instant::now();
            if self.cancel.load(std::sync::atomic::Ordering::SeqCst) {
                out[slot] = Some(Case::skipped(
                    self.items
                        .get(i)
                        .map_or_else(|| format!("#{i}"), |it| self.item_name(it)),
                    "not run: the run was interrupted",
                ));
                continue;
            }
            let mut case = match self.items.get(i) {
                None => Case::errored(format!("#{i}"), "no such case"),
                Some(Item::Golden { .. }) => Case::errored(format!("#{i}"), "not run"),
                Some(Item::Problem(c)) => c.clone(),
                Some(Item::Signature) => self.signature_case(),
                Some(item @ Item::Edge(k, _)) => {
                    let all = edge.get_or_insert_with(|| {
                        self.spec
                            .edge_cases
                            .as_ref()
                            .map(|spec| crate::expect::edge_cases(&self.context(), spec))
                            .unwrap_or_default()
                    });
                    pick(all, *k, &self.item_name(item))
                }
                Some(item @ Item::Invariant(k, _)) => {
                    let all = invariants.get_or_insert_with(|| {
                        self.spec
                            .invariants
                            .as_ref()
                            .map(|spec| crate::expect::invariants(&self.context(), spec))
                            .unwrap_or_default()
                    });
                    pick(all, *k, &self.item_name(item))
                }
                Some(Item::Robustness(k)) => match self.spec.robustness.get(*k) {
                    Some(spec) => crate::expect::robustness(&self.context(), spec),
                    None => Case::errored(format!("#{i}"), "no such case"),
                },
                Some(item @ Item::Regression) => self.regression_case(&self.item_name(item)),
            };
            if case.duration_ms == 0.0 {
                case.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            }
            out[slot] = Some(case);
        }
        out.into_iter()
            .enumerate()
            .map(|(slot, c)| c.unwrap_or_else(|| Case::errored(format!("#{slot}"), "not run")))
            .collect()
    }

    /// What the expectations run on: the model and the golden cases' inputs.
    fn context(&self) -> crate::expect::Context<'_> {
        crate::expect::Context {
            backend: &self.backend,
            cases: &self.golden,
            overrides: self.overrides,
            label_output: self.spec.label_output.as_deref(),
        }
    }

    fn signature_case(&self) -> Case {
        let name = "signature: endpoint metadata matches the model";
        let location = self
            .spec
            .model
            .as_ref()
            .map(|p| Location::file(modelci_config::display_path(p)));
        let mut case = match &self.signature {
            None => Case::errored(name, "no model to compare the endpoint with"),
            Some(Err(e)) => Case::errored(name, e.clone()),
            Some(Ok(m)) if m.is_empty() => Case::passed(name),
            Some(Ok(m)) => {
                let mut c = Case::failed(
                    name,
                    format!(
                        "the endpoint's metadata differs from the model's signature in {} place(s): {}",
                        m.len(),
                        m[0]
                    ),
                );
                c.detail = Some(m.join("\n"));
                c
            }
        };
        case.location = location;
        case
    }

    fn regression_case(&self, name: &str) -> Case {
        let (Some(spec), Some((baseline, shown))) = (&self.spec.regression, &self.baseline) else {
            return Case::errored(name, "no regression declared");
        };
        match baseline {
            Err(e) => Case::errored(name, format!("the baseline model cannot be used: {e}")),
            Ok(b) => crate::expect::regression(&self.context(), b.as_ref(), shown, spec),
        }
    }
}

/// The case of a group named `name` (the `k`th when names repeat).
fn pick(all: &[Case], k: usize, name: &str) -> Case {
    all.iter()
        .find(|c| c.name == name)
        .or_else(|| all.get(k))
        .cloned()
        .unwrap_or_else(|| Case::errored(name, "internal error: the check gave no result"))
}

/// The last two components of a path, to tell cases of several golden sources apart.
fn short(source: &str) -> String {
    let parts: Vec<&str> = source.rsplit('/').take(2).collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use modelci_tensor::runtime::Port;
    use modelci_tensor::tensor::{DType, Data};

    /// `y = 2x` on `x: float32[-1, 2]`, with switchable misbehaviour and a call counter.
    struct Doubler {
        ports: (Vec<Port>, Vec<Port>),
        calls: AtomicUsize,
        /// Refuses inputs of more than one row.
        no_batches: bool,
        /// Answers slightly off (1e-3) when given more than one row.
        batch_drift: bool,
        /// Never answers.
        down: bool,
    }

    impl Doubler {
        fn new() -> Doubler {
            let port = |name: &str| Port {
                name: name.into(),
                dtype: Some(DType::F32),
                shape: vec![-1, 2],
            };
            Doubler {
                ports: (vec![port("x")], vec![port("y")]),
                calls: AtomicUsize::new(0),
                no_batches: false,
                batch_drift: false,
                down: false,
            }
        }
    }

    impl Backend for Doubler {
        fn inputs(&self) -> &[Port] {
            &self.ports.0
        }
        fn outputs(&self) -> &[Port] {
            &self.ports.1
        }
        fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down {
                return Err(RuntimeError::Unavailable {
                    message: "timed out after 1 s".into(),
                });
            }
            let x = &inputs[0];
            let rows = x.rows().unwrap_or(0);
            if self.no_batches && rows > 1 {
                return Err(RuntimeError::Run {
                    message: "batch of one only".into(),
                });
            }
            let Data::Float(v) = &x.data else {
                return Err(RuntimeError::Run {
                    message: "floats".into(),
                });
            };
            let drift = if self.batch_drift && rows > 1 {
                1e-3
            } else {
                0.0
            };
            let y = v.iter().map(|a| 2.0 * a + drift).collect();
            Ok(vec![
                Tensor::new("y", DType::F32, x.shape.clone(), Data::Float(y)).expect("y"),
            ])
        }
        fn target(&self) -> String {
            "doubler".into()
        }
    }

    fn case(k: usize, wrong: bool) -> golden::Case {
        let x = vec![k as f64, 0.5];
        let mut y: Vec<f64> = x.iter().map(|a| 2.0 * a).collect();
        if wrong {
            y[1] = 7.0;
        }
        golden::Case {
            name: format!("c{k}"),
            source: "cases.json".into(),
            inputs: vec![Tensor::new("x", DType::F32, vec![1, 2], Data::Float(x)).expect("x")],
            outputs: vec![Tensor::new("y", DType::F32, vec![1, 2], Data::Float(y)).expect("y")],
        }
    }

    fn outcomes(backend: &Doubler, cases: &[golden::Case], max_batch: usize) -> Vec<Outcome> {
        let golden: Vec<Golden<'_>> = cases
            .iter()
            .map(|case| Golden {
                case,
                onnx_layout: false,
            })
            .collect();
        let out = run_all(
            backend,
            &golden,
            Overrides::default(),
            Batching { max_batch, jobs: 2 },
        );
        assert_eq!(out.len(), cases.len());
        for (c, g) in out.iter().zip(cases) {
            assert_eq!(c.name, g.name, "results come back in order");
        }
        out.into_iter().map(|c| c.outcome).collect()
    }

    #[test]
    fn batches_share_inferences_and_judge_each_case() {
        let cases: Vec<golden::Case> = (0..10).map(|k| case(k, k == 7)).collect();
        let b = Doubler::new();
        let got = outcomes(&b, &cases, 4);
        assert_eq!(got.iter().filter(|o| **o == Outcome::Failed).count(), 1);
        assert_eq!(got[7], Outcome::Failed);
        // 3 batches (4 + 4 + 2 rows), and case 7 once more alone.
        assert_eq!(b.calls.load(Ordering::SeqCst), 4);
        let b = Doubler::new();
        outcomes(&b, &cases, 1);
        assert_eq!(
            b.calls.load(Ordering::SeqCst),
            10,
            "max_batch 1: one call per case"
        );
    }

    /// A case of one row of `width` float32 values (`y = 2x`).
    fn wide_case(k: usize, width: usize) -> golden::Case {
        let x = vec![k as f64; width];
        let width = i64::try_from(width).expect("width");
        let y = x.iter().map(|a| 2.0 * a).collect();
        golden::Case {
            name: format!("w{k}"),
            source: "cases.json".into(),
            inputs: vec![Tensor::new("x", DType::F32, vec![1, width], Data::Float(x)).expect("x")],
            outputs: vec![Tensor::new("y", DType::F32, vec![1, width], Data::Float(y)).expect("y")],
        }
    }

    #[test]
    fn batches_are_sized_by_bytes_and_spread_over_the_sessions() {
        // Small rows: the rows are spread over the 2 sessions, 5 and 5, not one batch of 10.
        let cases: Vec<golden::Case> = (0..10).map(|k| case(k, false)).collect();
        let b = Doubler::new();
        assert!(
            outcomes(&b, &cases, 1024)
                .iter()
                .all(|o| *o == Outcome::Passed)
        );
        assert_eq!(b.calls.load(Ordering::SeqCst), 2);
        // Rows of 400 KB: two to a batch (1 MiB at most), so 6 cases make 3 batches.
        let cases: Vec<golden::Case> = (0..6).map(|k| wide_case(k, 100_000)).collect();
        let b = Doubler::new();
        assert!(
            outcomes(&b, &cases, 1024)
                .iter()
                .all(|o| *o == Outcome::Passed)
        );
        assert_eq!(b.calls.load(Ordering::SeqCst), 3);
        // Rows over 1 MiB: every case alone (its own tensors, nothing stacked).
        let cases: Vec<golden::Case> = (0..4).map(|k| wide_case(k, 300_000)).collect();
        let b = Doubler::new();
        assert!(
            outcomes(&b, &cases, 1024)
                .iter()
                .all(|o| *o == Outcome::Passed)
        );
        assert_eq!(b.calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn batching_never_changes_a_verdict() {
        let cases: Vec<golden::Case> = (0..6).map(|k| case(k, false)).collect();
        let mut refuses = Doubler::new();
        refuses.no_batches = true;
        assert!(
            outcomes(&refuses, &cases, 1024)
                .iter()
                .all(|o| *o == Outcome::Passed)
        );
        let mut drifts = Doubler::new();
        drifts.batch_drift = true;
        assert!(
            outcomes(&drifts, &cases, 1024)
                .iter()
                .all(|o| *o == Outcome::Passed),
            "cases off only inside a batch are judged alone"
        );
    }

    #[test]
    fn a_backend_that_stops_answering_is_not_asked_for_every_case() {
        let cases: Vec<golden::Case> = (0..50).map(|k| case(k, false)).collect();
        let mut down = Doubler::new();
        down.down = true;
        let got = outcomes(&down, &cases, 1);
        assert!(got.iter().all(|o| *o == Outcome::Errored));
        assert!(
            down.calls.load(Ordering::SeqCst) <= Down::LIMIT + 2,
            "{} calls",
            down.calls.load(Ordering::SeqCst)
        );
        let mut down = Doubler::new();
        down.down = true;
        outcomes(&down, &cases, 8);
        assert!(down.calls.load(Ordering::SeqCst) <= Down::LIMIT + 2);
    }

    #[test]
    fn an_interrupted_run_skips_what_it_did_not_start() {
        let cases: Vec<golden::Case> = (0..20).map(|k| case(k, false)).collect();
        let golden: Vec<Golden<'_>> = cases
            .iter()
            .map(|case| Golden {
                case,
                onnx_layout: false,
            })
            .collect();
        let b = Doubler::new();
        let cancel = std::sync::atomic::AtomicBool::new(true);
        let out = run_all_until(
            &b,
            &golden,
            Overrides::default(),
            Batching {
                max_batch: 4,
                jobs: 2,
            },
            &cancel,
        );
        assert_eq!(out.len(), 20);
        assert!(out.iter().all(|c| c.outcome == Outcome::Skipped));
        assert_eq!(
            out[0].message.as_deref(),
            Some("not run: the run was interrupted")
        );
        assert_eq!(b.calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn per_row_split_names_rows_and_checks_counts() {
        let mut c = case(1, false);
        c.inputs[0] =
            Tensor::new("x", DType::F32, vec![3, 2], Data::Float(vec![0.0; 6])).expect("x");
        c.outputs[0] =
            Tensor::new("y", DType::F32, vec![3, 2], Data::Float(vec![0.0; 6])).expect("y");
        let rows = split_rows(&c).expect("rows");
        assert_eq!(
            rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["c1#0", "c1#1", "c1#2"]
        );
        assert_eq!(rows[2].inputs[0].shape, vec![1, 2]);
        c.outputs[0] =
            Tensor::new("y", DType::F32, vec![2, 2], Data::Float(vec![0.0; 4])).expect("y");
        let e = split_rows(&c).expect_err("counts");
        assert!(e.contains("`x` has 3, `y` has 2"), "{e}");
        let one = case(2, false);
        assert_eq!(split_rows(&one).expect("one")[0].name, "c2");
    }
}

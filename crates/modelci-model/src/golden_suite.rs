//! Golden suites on a local model: read cases (ONNX test-data folders, JSON files, `.npz`
//! archives), run each on the model, compare every expected output, and report one case per
//! golden case.

use std::path::Path;
use std::time::Instant;

use modelci_report::{Case, Location, Outcome};

use crate::compare::{NanPolicy, Tolerance, compare};
use crate::golden::{self, GoldenError};
use crate::runtime::Model;
use crate::tensor::Tensor;

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
pub fn load(path: &Path, model: &Model) -> Result<Loaded, GoldenError> {
    let shown = path.display().to_string();
    if path.is_dir() {
        let mut cases = golden::read_onnx_layout(path)?;
        // `.pb` tensors often carry no name: they are the model's inputs and outputs in order.
        for case in &mut cases {
            name_by_position(
                &mut case.inputs,
                model.inputs.iter().map(|p| p.name.as_str()),
            );
            name_by_position(
                &mut case.outputs,
                model.outputs.iter().map(|p| p.name.as_str()),
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
                if model.inputs.iter().any(|p| p.name == a.name) {
                    inputs.push(a);
                } else if model.outputs.iter().any(|p| p.name == a.name) {
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
    model: &Model,
    case: &golden::Case,
    overrides: Overrides,
    onnx_layout: bool,
) -> Case {
    let started = Instant::now();
    let location = Location::file(case.source.clone());
    let mut out = match model.run(&case.inputs) {
        Err(e) => Case::errored(&case.name, format!("the model could not run the case: {e}")),
        Ok(actual) if case.outputs.is_empty() => {
            Case::passed(&case.name).with_property("outputs", actual.len().to_string())
        }
        Ok(actual) => judge(case, &actual, overrides, onnx_layout),
    };
    out.location = Some(location);
    out.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    out
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
    /// model path, `model_sha256`, device, onnxruntime version.
    pub properties: modelci_report::Properties,
}

/// Reads the model's signature, loads ONNX Runtime (`ort_lib`, else the usual places) and the
/// model on `device`: the start shared by `model test`, `model record` and `[[suite.model]]`.
///
/// # Errors
/// The model or the runtime cannot be used (the message names the file).
pub fn open(
    path: &Path,
    device: crate::runtime::Device,
    ort_lib: Option<&Path>,
) -> Result<Opened, String> {
    let info = crate::onnx::inspect(path).map_err(|e| e.to_string())?;
    let rt = crate::runtime::runtime(ort_lib).map_err(|e| e.to_string())?;
    let model = rt.load_on(path, device).map_err(|e| e.to_string())?;
    let mut properties = modelci_report::Properties::new();
    properties.insert("model", info.path);
    properties.insert("model_sha256", info.sha256);
    properties.insert("device", model.device.name());
    properties.insert(
        "onnxruntime",
        rt.library.version.clone().unwrap_or_default(),
    );
    Ok(Opened { model, properties })
}

/// A planned `[[suite.model]]`: the model loaded on its device, and its golden cases.
pub struct ModelCheck {
    model: Model,
    items: Vec<Item>,
    overrides: Overrides,
    properties: modelci_report::Properties,
}

enum Item {
    Golden {
        case: golden::Case,
        onnx_layout: bool,
    },
    Problem(Case),
}

/// Why a model suite cannot run at all (the model or the runtime), and where.
pub struct SetupError {
    pub message: String,
    pub location: Location,
}

impl ModelCheck {
    /// Loads ONNX Runtime, the model and the golden cases (a golden path that cannot be read
    /// becomes one errored case).
    ///
    /// # Errors
    /// A [`SetupError`] at the config line when the model or the runtime cannot be used.
    pub fn plan(
        spec: &modelci_config::ModelSuite,
        config_file: &str,
    ) -> Result<ModelCheck, SetupError> {
        let at = |message: String| SetupError {
            message,
            location: Location::line(config_file, spec.model_line),
        };
        let device = crate::runtime::Device::parse(&spec.device).unwrap_or_default();
        let Some(path) = &spec.model else {
            return Err(at("model suites on endpoints are not wired yet".into()));
        };
        let Opened { model, properties } = open(path, device, None).map_err(at)?;
        let mut items = Vec::new();
        for path in &spec.cases {
            match load(path, &model) {
                Ok(loaded) => items.extend(loaded.cases.into_iter().map(|case| Item::Golden {
                    case,
                    onnx_layout: loaded.onnx_layout,
                })),
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
        Ok(ModelCheck {
            model,
            items,
            overrides: Overrides {
                rtol: spec.rtol,
                atol: spec.atol,
            },
            properties,
        })
    }

    /// Stable case names, in order.
    pub fn case_names(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|i| match i {
                Item::Golden { case, .. } => format!("{} ({})", case.name, short(&case.source)),
                Item::Problem(c) => c.name.clone(),
            })
            .collect()
    }

    /// Suite properties: model, sha256, device, runtime version.
    pub fn properties(&self) -> &modelci_report::Properties {
        &self.properties
    }

    /// Runs the case at `index`.
    pub fn run(&self, index: usize) -> Case {
        match self.items.get(index) {
            Some(Item::Golden { case, onnx_layout }) => {
                let mut c = run_case(&self.model, case, self.overrides, *onnx_layout);
                c.name = format!("{} ({})", case.name, short(&case.source));
                c
            }
            Some(Item::Problem(c)) => c.clone(),
            None => Case::errored(format!("#{index}"), "no such case"),
        }
    }
}

/// The last two components of a path, to tell cases of several golden sources apart.
fn short(source: &str) -> String {
    let parts: Vec<&str> = source.rsplit('/').take(2).collect();
    parts.into_iter().rev().collect::<Vec<_>>().join("/")
}

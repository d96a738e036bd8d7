use super::*;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../")
        .join(rel)
}

/// The real runtime, or `None` after a loud notice where ONNX Runtime is not installed (a
/// failure under `CI=true` unless `MODELCI_TEST_SKIP` opts out of `onnxruntime`).
fn real_runtime() -> Option<&'static Runtime> {
    modelci_test_support::require(
        modelci_test_support::Dependency::OnnxRuntime,
        runtime(None).map_err(|e| e.to_string()),
    )
}

#[test]
fn explicit_paths_and_versions() {
    let l = find_library(Some(Path::new("/opt/ort/libonnxruntime.so.1.32.0"))).expect("explicit");
    assert_eq!(l.source, "--ort-lib");
    assert_eq!(l.version.as_deref(), Some("1.32.0"));
    assert_eq!(version_of(Path::new("libonnxruntime.so")), None);
}

#[test]
fn bad_inputs_and_models_are_errors_not_panics() {
    let Some(rt) = real_runtime() else { return };
    let model = rt
        .load(&fixture("fixtures/models/linear.onnx"))
        .expect("model");
    let wrong_shape =
        Tensor::new("input", DType::F32, vec![1, 3], Data::Float(vec![1.0; 3])).expect("t");
    let e = model.run(&[wrong_shape]).expect_err("shape");
    assert!(
        e.to_string().starts_with("ONNX Runtime refused the inputs"),
        "{e}"
    );
    let wrong_type =
        Tensor::new("input", DType::I64, vec![1, 4], Data::Int(vec![1; 4])).expect("t");
    assert!(model.run(&[wrong_type]).is_err());
    let e = model.run(&[]).expect_err("missing");
    assert_eq!(
        e.to_string(),
        "the model needs input `input`, which the case does not give"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.onnx");
    std::fs::write(&bad, b"not a model").expect("w");
    let e = rt.load(&bad).err().expect("corrupt");
    assert!(
        e.to_string().contains("bad.onnx: cannot load the model"),
        "{e}"
    );
}

#[test]
fn devices() {
    assert_eq!("CUDA".parse::<Device>(), Ok(Device::Cuda));
    assert_eq!("auto".parse::<Device>(), Ok(Device::Auto));
    assert!("tpu".parse::<Device>().is_err());
    let Some(rt) = real_runtime() else { return };
    let path = fixture("fixtures/models/linear.onnx");
    let auto = rt.load_on(&path, Device::Auto).expect("auto");
    let tf32 = CudaOptions {
        tf32: true,
        conv_algo_search: ConvAlgoSearch::Heuristic,
    };
    let with = rt
        .load_pool_with(&path, Device::Auto, 1, tf32)
        .expect("auto with CUDA options");
    if rt.has_cuda() {
        assert_eq!(auto.device, Device::Cuda);
        // The options the model runs with on CUDA; without them float32 stays float32.
        assert_eq!(auto.cuda, Some(CudaOptions::default()));
        assert_eq!(with.cuda, Some(tf32));
    } else {
        // CUDA options mean nothing on the CPU, and are not claimed.
        assert_eq!(with.cuda, None);
        // The CPU wheel: `auto` runs on the CPU and says so; `cuda` is an error, not a fall-back.
        assert_eq!(auto.device, Device::Cpu);
        assert_eq!(rt.providers(), ["cpu"]);
        let e = rt.load_on(&path, Device::Cuda).err().expect("no cuda");
        assert!(
            e.to_string()
                .starts_with("device `cuda` was asked for, but this ONNX Runtime"),
            "{e}"
        );
    }
}

#[test]
fn zipmap_outputs_are_read_as_sequences_of_maps() {
    let Some(rt) = real_runtime() else { return };
    // skl2onnx's default export of a classifier (fixtures/models/make_zipmap.py).
    let model = rt
        .load(&fixture("fixtures/models/mlp_zipmap.onnx"))
        .expect("model");
    let probs = &model.outputs[1];
    assert_eq!(
        (probs.name.as_str(), probs.dtype, probs.shape.clone()),
        ("output_probability", None, vec![-1])
    );
    let input = Tensor::new(
        "input",
        DType::F32,
        vec![3, 20],
        Data::Float((0..60).map(|i| f64::from(i % 7) - 3.0).collect()),
    )
    .expect("t");
    let out = model.run(&[input]).expect("runs");
    assert_eq!(out[0].type_text(), "int64[3]");
    let p = &out[1];
    assert_eq!(p.type_text(), "seq(map(int64, float32))[3]");
    let Data::Maps { key, maps } = &p.data else {
        panic!("maps: {p:?}")
    };
    assert_eq!(*key, DType::I64);
    let Data::Int(labels) = &out[0].data else {
        panic!("labels")
    };
    for (m, label) in maps.iter().zip(labels) {
        let keys: Vec<_> = m.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys, [Key::Int(0), Key::Int(1), Key::Int(2)]);
        let sum: f64 = m.iter().map(|(_, v)| v).sum();
        assert!((sum - 1.0).abs() < 1e-5, "{sum}");
        let top = m
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(k, _)| k.clone());
        assert_eq!(top, Some(Key::Int(*label)));
    }
    // One row alone answers as inside the batch: a sequence splits by element.
    let (keys, matrix) = p.maps_as_matrix().expect("maps").expect("same keys");
    assert_eq!((keys.len(), matrix.len()), (3, 9));
    assert_eq!(p.slice_rows(1, 1).map(|t| t.data.len()), Some(1));
    // A map cannot be sent as an input.
    let e = model
        .run(std::slice::from_ref(p))
        .expect_err("maps are not inputs");
    assert!(
        e.to_string().contains("the model needs input `input`"),
        "{e}"
    );
}

#[test]
fn onnx_runtime_warnings_are_kept_once_and_its_chatter_is_dropped() {
    use ort::logging::LogLevel;
    keep_warning(LogLevel::Info, "cat", "id", "here.cc:1", "session created");
    keep_warning(
        LogLevel::Warning,
        "cat",
        "id",
        "model.cc:290",
        "opset 6 model ",
    );
    keep_warning(
        LogLevel::Warning,
        "cat",
        "id",
        "model.cc:290",
        "opset 6 model",
    );
    keep_warning(LogLevel::Error, "cat", "id", "x.cc:2", "a node failed");
    let kept = take_warnings();
    assert_eq!(
        kept.iter().filter(|w| *w == "opset 6 model").count(),
        1,
        "{kept:?}"
    );
    assert!(kept.iter().any(|w| w == "a node failed"), "{kept:?}");
    assert!(!kept.iter().any(|w| w == "session created"), "{kept:?}");
    // Taken: the next report starts afresh.
    assert!(!take_warnings().iter().any(|w| w == "opset 6 model"));
}

#[test]
fn running_on_owned_inputs_gives_the_same_outputs() {
    let Some(rt) = real_runtime() else { return };
    let model = rt
        .load(&fixture("fixtures/models/linear.onnx"))
        .expect("model");
    let input = Tensor::new(
        "input",
        DType::F32,
        vec![2, 4],
        Data::Float(vec![1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 0.25, 8.0]),
    )
    .expect("t");
    let borrowed = model.run(std::slice::from_ref(&input)).expect("run");
    let owned = model.run_owned(vec![input]).expect("run_owned");
    assert_eq!(borrowed, owned);
    let e = model.run_owned(Vec::new()).expect_err("missing");
    assert_eq!(
        e.to_string(),
        "the model needs input `input`, which the case does not give"
    );
}

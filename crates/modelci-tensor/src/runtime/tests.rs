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

//! Which CUDA libraries ONNX Runtime's CUDA provider loaded, and their versions, for reports of
//! models that ran on CUDA: the same model and provider options give different float32 results
//! (and speeds) under different CUDA, cuBLAS and cuDNN releases, so a report that says "cuda"
//! alone cannot be reproduced.
//!
//! The libraries are found in this process's memory map (`/proc/self/maps`, Linux), so what is
//! reported is what actually ran, wherever it came from (the system, a conda environment, the
//! `nvidia-*` pip wheels beside `onnxruntime-gpu`). Each is asked its own version through its
//! stable C entry point (`cudaRuntimeGetVersion`, `cublasGetProperty`, `cudnnGetVersion`),
//! opened with `RTLD_NOLOAD` so nothing new is ever loaded. Elsewhere (macOS, Windows, or
//! before a CUDA session exists) nothing is reported.

use std::ffi::{CString, c_int, c_void};

/// A CUDA library loaded in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// `cuda_runtime`, `cublas` or `cudnn`: the report property it goes to.
    pub kind: &'static str,
    /// The file that was mapped.
    pub path: String,
    /// Its version as it answers (`12.8`, `9.10.2`); `None` where it did not answer.
    pub version: Option<String>,
}

impl Loaded {
    /// `VERSION (FILE NAME)`, or the file name alone.
    pub fn describe(&self) -> String {
        let file = self.path.rsplit('/').next().unwrap_or(&self.path);
        match &self.version {
            Some(v) => format!("{v} ({file})"),
            None => file.to_owned(),
        }
    }
}

/// The report property for each library, and the file-name prefix that finds it
/// (`libcublasLt` is cuBLAS's own helper and not reported apart).
const KINDS: [(&str, &str); 3] = [
    ("cuda_runtime", "libcudart.so"),
    ("cublas", "libcublas.so"),
    ("cudnn", "libcudnn.so"),
];

/// The CUDA runtime, cuBLAS and cuDNN libraries this process has mapped, one per kind (the
/// first mapped), with their versions. Empty where none is loaded or the map cannot be read.
pub fn loaded_libraries() -> Vec<Loaded> {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    mapped(&maps)
        .into_iter()
        .map(|(kind, path)| {
            let version = version_of(kind, &path);
            Loaded {
                kind,
                path,
                version,
            }
        })
        .collect()
}

/// The first mapped file of each kind, from `/proc/self/maps` text.
fn mapped(maps: &str) -> Vec<(&'static str, String)> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode path (the path may hold spaces; it starts with '/').
        let Some(at) = line.find(" /") else { continue };
        let path = line[at + 1..].trim_end();
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        let file = path.rsplit('/').next().unwrap_or(path);
        for (kind, prefix) in KINDS {
            if file.starts_with(prefix) && !found.iter().any(|f| f.0 == kind) {
                found.push((kind, path.to_owned()));
            }
        }
    }
    found
}

/// `cudaRuntimeGetVersion`'s 1000 * major + 10 * minor as `major.minor`.
fn cuda_version(v: c_int) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

/// `cudnnGetVersion`'s number as `major.minor.patch`: 10000 * major + 100 * minor + patch from
/// cuDNN 9 on, 1000 * major + 100 * minor + patch before.
fn cudnn_version(v: usize) -> String {
    if v >= 90_000 {
        format!("{}.{}.{}", v / 10_000, (v % 10_000) / 100, v % 100)
    } else {
        format!("{}.{}.{}", v / 1000, (v % 1000) / 100, v % 100)
    }
}

/// The library's version, asked through its own entry point, from the copy already loaded.
#[cfg(target_os = "linux")]
fn version_of(kind: &str, path: &str) -> Option<String> {
    let path = CString::new(path).ok()?;
    // SAFETY: RTLD_NOLOAD only returns a handle to a library this process already has mapped
    // (no initialiser runs); the symbols are called with the signatures their headers declare,
    // and the handle is closed after, which only drops the reference taken here.
    unsafe {
        let handle = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
        if handle.is_null() {
            return None;
        }
        let symbol = |name: &str| -> *mut c_void {
            CString::new(name).map_or(std::ptr::null_mut(), |n| libc::dlsym(handle, n.as_ptr()))
        };
        let version = match kind {
            "cuda_runtime" => {
                let f = symbol("cudaRuntimeGetVersion");
                if f.is_null() {
                    None
                } else {
                    let f: extern "C" fn(*mut c_int) -> c_int = std::mem::transmute(f);
                    let mut v: c_int = 0;
                    (f(&raw mut v) == 0 && v > 0).then(|| cuda_version(v))
                }
            }
            "cublas" => {
                let f = symbol("cublasGetProperty");
                if f.is_null() {
                    None
                } else {
                    // libraryPropertyType: MAJOR_VERSION 0, MINOR_VERSION 1, PATCH_LEVEL 2.
                    let f: extern "C" fn(c_int, *mut c_int) -> c_int = std::mem::transmute(f);
                    let mut parts = [0 as c_int; 3];
                    let ok = (0..3).all(|i| f(i, &raw mut parts[i as usize]) == 0);
                    ok.then(|| format!("{}.{}.{}", parts[0], parts[1], parts[2]))
                }
            }
            "cudnn" => {
                let f = symbol("cudnnGetVersion");
                if f.is_null() {
                    None
                } else {
                    let f: extern "C" fn() -> usize = std::mem::transmute(f);
                    let v = f();
                    (v > 0).then(|| cudnn_version(v))
                }
            }
            _ => None,
        };
        libc::dlclose(handle);
        version
    }
}

#[cfg(not(target_os = "linux"))]
fn version_of(_kind: &str, _path: &str) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_mapping_of_each_library_is_found_and_cublaslt_is_not_cublas() {
        let maps = "\
7f00 r--p 00000000 08:01 1 /usr/lib/libc.so.6
7f01 r--p 00000000 08:01 2 /venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublasLt.so.12
7f02 r-xp 00000000 08:01 3 /venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.12
7f03 r--p 00001000 08:01 3 /venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.12
7f04 r-xp 00000000 08:01 4 /opt/my cuda/lib64/libcudart.so.12.8.90
7f05 r-xp 00000000 08:01 5 /usr/lib/x86_64-linux-gnu/libcudnn.so.9.10.2 (deleted)
7f06 rw-p 00000000 00:00 0
7f07 rw-p 00000000 00:00 0                          [heap]
";
        assert_eq!(
            mapped(maps),
            vec![
                (
                    "cublas",
                    "/venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.12".into()
                ),
                (
                    "cuda_runtime",
                    "/opt/my cuda/lib64/libcudart.so.12.8.90".into()
                ),
                (
                    "cudnn",
                    "/usr/lib/x86_64-linux-gnu/libcudnn.so.9.10.2".into()
                ),
            ]
        );
    }

    #[test]
    fn version_numbers_read_as_their_headers_define_them() {
        assert_eq!(cuda_version(12080), "12.8");
        assert_eq!(cuda_version(13000), "13.0");
        assert_eq!(cudnn_version(91002), "9.10.2");
        assert_eq!(cudnn_version(90100), "9.1.0");
        assert_eq!(cudnn_version(8907), "8.9.7");
    }

    #[test]
    fn a_process_without_cuda_reports_no_library() {
        // The test process never loads CUDA; on Linux its map is read and holds none.
        assert!(loaded_libraries().is_empty());
    }

    #[test]
    fn an_unmapped_library_gives_no_version_and_a_version_names_its_file() {
        // RTLD_NOLOAD: a path this process has not mapped gives no handle, so no version.
        assert_eq!(version_of("cudnn", "/nonexistent/libcudnn.so.9"), None);
        assert_eq!(
            Loaded {
                kind: "cudnn",
                path: "/x/libcudnn.so.9".into(),
                version: Some("9.10.2".into())
            }
            .describe(),
            "9.10.2 (libcudnn.so.9)"
        );
    }
}

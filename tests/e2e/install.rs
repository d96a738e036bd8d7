//! scripts/install.sh against a fake release: an archive laid out as scripts/package-release
//! makes it, from this build's binaries, served with its SHA256SUMS by a loopback HTTP server in
//! the GitHub Releases layout (MODELCI_INSTALL_BASE_URL points the script at it).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{raw, root, run};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The release target install.sh picks on this machine.
fn target() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "x86_64-unknown-linux-gnu",
        ("linux", "aarch64") => "aarch64-unknown-linux-gnu",
        ("macos", "aarch64") => "aarch64-apple-darwin",
        (os, arch) => panic!("no modelci release target for {os} {arch}"),
    }
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .or_else(|_| {
            Command::new("shasum")
                .args(["-a", "256"])
                .arg(path)
                .output()
        })
        .expect("sha256sum or shasum runs");
    assert!(out.status.success(), "cannot hash {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a hash")
        .to_owned()
}

/// A release folder tree under `dir` (`download/vVERSION/` and `latest/download/`, each with the
/// archive and SHA256SUMS), whose SHA256SUMS lists `sum` for the archive when given (a wrong
/// one, for the mismatch test) or its real SHA-256. Returns the archive's real SHA-256.
pub fn fake_release(dir: &Path, sum: Option<&str>) -> String {
    let name = format!("modelci-{VERSION}-{}", target());
    let stage = dir.join("stage").join(&name);
    let lib_dir = stage.join("onnxruntime/lib");
    std::fs::create_dir_all(&lib_dir).expect("stage");
    let modelci = PathBuf::from(env!("CARGO_BIN_EXE_modelci"));
    std::fs::copy(&modelci, stage.join("modelci")).expect("copy modelci");
    // The service is only copied by install.sh, never run: a stand-in when this build has none
    // (`cargo test -p modelci` does not build it).
    let service = crate::service_bin();
    if service.is_file() {
        std::fs::copy(&service, stage.join("modelci-service")).expect("copy service");
    } else {
        std::fs::write(stage.join("modelci-service"), "#!/bin/sh\n").expect("stand-in service");
    }
    // The real library when this run has one; its file name is all that install.sh and
    // modelci's lookup look at otherwise.
    let real = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .filter(|p| p.is_file());
    match real {
        Some(lib) => {
            let file = lib.file_name().expect("a file name");
            std::fs::copy(&lib, lib_dir.join(file)).expect("copy ONNX Runtime");
        }
        None => std::fs::write(lib_dir.join("libonnxruntime.so.1.32.0"), b"placeholder")
            .expect("placeholder library"),
    }
    for f in ["LICENSE", "README.md", "CHANGELOG.md"] {
        std::fs::copy(root().join(f), stage.join(f)).expect("copy docs");
    }
    let archive = format!("{name}.tar.gz");
    let release = dir.join("release");
    let version_dir = release.join(format!("download/v{VERSION}"));
    std::fs::create_dir_all(&version_dir).expect("release folder");
    // gzip -1: the debug binaries are large, and only the format matters here.
    let tar = Command::new("sh")
        .args(["-c", r#"tar -C "$1" -cf - "$2" | gzip -1 > "$3""#, "sh"])
        .arg(dir.join("stage"))
        .arg(&name)
        .arg(version_dir.join(&archive))
        .status()
        .expect("tar runs");
    assert!(tar.success(), "tar failed");
    let real_sum = sha256_hex(&version_dir.join(&archive));
    let listed = sum.unwrap_or(&real_sum);
    std::fs::write(
        version_dir.join("SHA256SUMS"),
        format!(
            "{listed}  {archive}\n{}  modelci-{VERSION}-other-target.tar.gz\n",
            "0".repeat(64)
        ),
    )
    .expect("SHA256SUMS");
    let latest = release.join("latest/download");
    std::fs::create_dir_all(&latest).expect("latest");
    for f in [archive.as_str(), "SHA256SUMS"] {
        std::fs::copy(version_dir.join(f), latest.join(f)).expect("copy to latest");
    }
    real_sum
}

/// A static file server for `dir` on 127.0.0.1 (404 for anything else); its base URL.
pub fn serve_folder(dir: PathBuf) -> String {
    raw::serve(move |stream, head| {
        use std::io::Write;
        let path = head.split_whitespace().nth(1).unwrap_or("/");
        let file = (!path.contains(".."))
            .then(|| dir.join(path.trim_start_matches('/')))
            .filter(|p| p.is_file());
        let _ = match file {
            Some(p) => {
                let body = std::fs::read(p).expect("read");
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(&body)
            }
            None => stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            ),
        };
    })
}

/// `sh scripts/install.sh ARGS` against `base`.
fn install(base: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new("sh");
    cmd.arg(root().join("scripts/install.sh"))
        .args(args)
        .env("MODELCI_INSTALL_BASE_URL", base)
        .env_remove("ORT_DYLIB_PATH")
        // Nothing may reach the network through a proxy of the environment.
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1");
    run(&mut cmd)
}

#[test]
fn install_sh_installs_the_latest_or_a_given_release_and_it_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sum = fake_release(tmp.path(), None);
    let base = serve_folder(tmp.path().join("release"));

    let pinned = format!("v{VERSION}");
    for (prefix, args) in [("latest", vec![]), ("pinned", vec!["--version", &pinned])] {
        let prefix = tmp.path().join(prefix);
        let mut all = vec!["--prefix", prefix.to_str().expect("utf-8")];
        all.extend(args);
        let (code, out, err) = install(&base, &all);
        assert_eq!(code, 0, "install.sh failed:\n{out}\n{err}");
        assert!(err.contains(&format!("verified SHA-256 {sum}")), "{err}");
        assert!(
            err.contains(&format!("installed modelci {VERSION} ({})", target())),
            "{err}"
        );

        let installed = prefix.join("bin/modelci");
        assert!(prefix.join("bin/modelci-service").is_file());
        assert!(prefix.join("share/doc/modelci/LICENSE").is_file());
        let (code, out, err) = run(Command::new(&installed).arg("--version"));
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.trim(), format!("modelci {VERSION}"));

        // modelci finds the installed ONNX Runtime beside itself, with nothing in the environment.
        let (_, out, _) = run(Command::new(&installed)
            .arg("doctor")
            .current_dir(tmp.path())
            .env_remove("ORT_DYLIB_PATH"));
        let line = out
            .lines()
            .find(|l| l.starts_with("onnxruntime"))
            .unwrap_or_else(|| panic!("no onnxruntime line:\n{out}"));
        let lib_dir = std::fs::canonicalize(prefix.join("onnxruntime/lib")).expect("lib dir");
        assert!(
            line.contains("beside modelci") && line.contains(lib_dir.to_str().expect("utf-8")),
            "{line}"
        );
    }
}

#[test]
fn install_sh_refuses_a_checksum_mismatch_and_installs_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let wrong = "ab".repeat(32);
    let real = fake_release(tmp.path(), Some(&wrong));
    let base = serve_folder(tmp.path().join("release"));
    let prefix = tmp.path().join("prefix");
    let (code, out, err) = install(&base, &["--prefix", prefix.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("checksum mismatch") && err.contains(&wrong) && err.contains(&real),
        "{err}"
    );
    assert!(err.contains("nothing was installed"), "{err}");
    assert!(!prefix.exists(), "install.sh created {}", prefix.display());
}

#[test]
fn install_sh_says_when_there_is_no_such_release() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fake_release(tmp.path(), None);
    let base = serve_folder(tmp.path().join("release"));
    let prefix = tmp.path().join("prefix");
    let prefix = prefix.to_str().expect("utf-8");
    // Exit 3: the GitHub Action builds from source then.
    let (code, _, err) = install(&base, &["--prefix", prefix, "--version", "9.9.9"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("is there a release of modelci 9.9.9"), "{err}");
    let (code, _, err) = install(&base, &["--prefix", prefix, "--version", "1.x"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is not a version"), "{err}");
    assert!(!Path::new(prefix).exists());
}

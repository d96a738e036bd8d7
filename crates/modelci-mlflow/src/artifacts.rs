//! Artifacts through the tracking server's proxy (`/api/2.0/mlflow-artifacts/artifacts`):
//! listing, downloading a model version's files, uploading a file, finding the ONNX model.
//!
//! Only `mlflow-artifacts:` locations (what a server started with `--serve-artifacts`, the
//! default since MLflow 2.0, gives runs) are read, and `runs:/<run>/<path>`, resolved through
//! the run's artifact location. Other locations (`s3://`, `gs://`, a path on the server's
//! disk) would need the store's own credentials or the server's file system: they are
//! reported as [`MlflowError::Unsupported`], saying so.

use std::fs;
use std::path::{Component, Path, PathBuf};

use reqwest::Method;
use serde_json::Value;

use crate::client::Client;
use crate::error::MlflowError;
use modelci_net::{Idempotency, bytes};

use crate::http::Call;

/// The most files one download fetches.
const MAX_FILES: usize = 10_000;

/// The deepest folder nesting one download follows.
const MAX_DEPTH: usize = 32;

/// One file under an artifact location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFile {
    /// Its path below the location, `/`-separated (`data/model.onnx`).
    pub path: String,
    /// Its size, when the server says.
    pub size: Option<u64>,
}

/// What a download wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The artifact location downloaded (`mlflow-artifacts:/...`).
    pub artifact_uri: String,
    /// The destination folder.
    pub dir: PathBuf,
    /// The files written, relative to `dir`.
    pub files: Vec<PathBuf>,
    /// The bytes written.
    pub bytes: u64,
}

impl Client {
    /// Downloads the artifacts of a model version (from
    /// [`Client::download_uri`]) into `dest` (created if needed): the files under the location
    /// land directly in `dest` (`dest/model.onnx`, `dest/MLmodel`...); a location that is a
    /// single file lands as `dest/<its name>`. [`find_onnx`] then finds the model.
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown model or version, or no artifacts at the
    /// location; [`MlflowError::Unsupported`] for a location other than `mlflow-artifacts:`
    /// or `runs:/`; [`MlflowError::Artifact`] for a listed name that would leave `dest` or
    /// downloads over [`crate::Config::max_download_bytes`]; [`MlflowError::Io`] when `dest`
    /// cannot be written.
    pub fn download_model_version(
        &self,
        name: &str,
        version: &str,
        dest: &Path,
    ) -> Result<Downloaded, MlflowError> {
        let uri = self.download_uri(name, version)?;
        self.download_artifacts(&uri, dest)
    }

    /// Downloads everything under an artifact location (`mlflow-artifacts:/...` or
    /// `runs:/<run>/<path>`) into `dest`, as [`Client::download_model_version`] does.
    ///
    /// # Errors
    /// As [`Client::download_model_version`].
    pub fn download_artifacts(
        &self,
        artifact_uri: &str,
        dest: &Path,
    ) -> Result<Downloaded, MlflowError> {
        let root = self.proxy_path(artifact_uri)?;
        let files = self.list_under(&root, artifact_uri)?;
        fs::create_dir_all(dest).map_err(|e| io_error("cannot create", dest, &e))?;
        let dest_real = dest
            .canonicalize()
            .map_err(|e| io_error("cannot read", dest, &e))?;
        let mut written = Downloaded {
            artifact_uri: artifact_uri.to_owned(),
            dir: dest.to_path_buf(),
            files: Vec::new(),
            bytes: 0,
        };
        if files.is_empty() {
            // An empty listing: the location is a single file, or nothing.
            let name = root.rsplit('/').next().unwrap_or_default();
            if name.is_empty() {
                return Err(self.nothing_at(artifact_uri));
            }
            let file = ArtifactFile {
                path: name.to_owned(),
                size: None,
            };
            let parent = root.rsplit_once('/').map_or("", |(p, _)| p);
            return match self.fetch(parent, &file, &dest_real, &mut written) {
                Ok(()) => Ok(written),
                Err(MlflowError::NotFound { .. } | MlflowError::Api { status: 400, .. }) => {
                    Err(self.nothing_at(artifact_uri))
                }
                Err(e) => Err(e),
            };
        }
        // Sizes come from the server: a sum that overflows is over the limit, not a panic.
        let declared = files
            .iter()
            .filter_map(|f| f.size)
            .fold(0_u64, u64::saturating_add);
        if declared > self.max_download_bytes {
            return Err(MlflowError::Artifact {
                message: self.http.hide(&format!(
                    "the artifacts at `{artifact_uri}` hold {declared} bytes, more than the {} \
                     download limit",
                    bytes(self.max_download_bytes)
                )),
            });
        }
        for file in &files {
            self.fetch(&root, file, &dest_real, &mut written)?;
        }
        Ok(written)
    }

    /// Every file under an artifact location, recursively, with paths relative to it.
    ///
    /// # Errors
    /// As [`Client::download_artifacts`].
    pub fn list_artifacts(&self, artifact_uri: &str) -> Result<Vec<ArtifactFile>, MlflowError> {
        let root = self.proxy_path(artifact_uri)?;
        self.list_under(&root, artifact_uri)
    }

    /// Uploads the local file `local` to `artifact_path` (`model/model.onnx`) under an
    /// artifact location (a run's `artifact_uri`), with `PUT` through the proxy. An upload
    /// overwrites, so it is retried like a read.
    ///
    /// # Errors
    /// [`MlflowError::Io`] when `local` cannot be read; [`MlflowError::Artifact`] for an
    /// `artifact_path` that is absolute or climbs out with `..`; as
    /// [`Client::download_artifacts`] for the location.
    pub fn upload_artifact(
        &self,
        artifact_uri: &str,
        artifact_path: &str,
        local: &Path,
    ) -> Result<(), MlflowError> {
        let rel = safe_relative(artifact_path)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| MlflowError::Artifact {
                message: format!(
                    "artifact path `{artifact_path}` must be a relative file path, without `..` \
                     (such as model/model.onnx)"
                ),
            })?;
        let root = self.proxy_path(artifact_uri)?;
        let data = fs::read(local).map_err(|e| io_error("cannot read", local, &e))?;
        let url = self.http.artifacts_url(&format!("{root}/{rel}"));
        let mut call = Call::new(
            Method::PUT,
            url,
            format!("artifact location `{artifact_uri}`"),
        )
        .idempotency(Idempotency::Safe);
        call.body = Some((data, "application/octet-stream"));
        call.transfer = true;
        self.http.json(&call).map(drop)
    }

    /// Uploads `local` as `artifact_path` of the run (at its `artifact_uri`).
    ///
    /// # Errors
    /// As [`Client::get_run`] and [`Client::upload_artifact`].
    pub fn log_artifact(
        &self,
        run_id: &str,
        artifact_path: &str,
        local: &Path,
    ) -> Result<(), MlflowError> {
        let run = self.get_run(run_id)?;
        self.upload_artifact(&run.info.artifact_uri, artifact_path, local)
    }

    /// The proxy path (`1/<run>/artifacts/model`) of an artifact location.
    fn proxy_path(&self, artifact_uri: &str) -> Result<String, MlflowError> {
        let uri = artifact_uri.trim();
        let lower = uri.to_ascii_lowercase();
        if let Some(rest) = strip_scheme(uri, &lower, "mlflow-artifacts:") {
            let path = match rest.strip_prefix("//") {
                Some(with_authority) => {
                    let (authority, path) = with_authority
                        .split_once('/')
                        .unwrap_or((with_authority, ""));
                    if !self.is_this_server(authority) {
                        return Err(MlflowError::Unsupported {
                            message: self.http.hide(&format!(
                                "artifact location `{uri}` names another server ({authority}); \
                                 modelci reads artifacts only through the tracking server it \
                                 talks to ({})",
                                self.server()
                            )),
                        });
                    }
                    path
                }
                None => rest,
            };
            let path = path.trim_matches('/');
            return match safe_relative(path) {
                Some(p) if !p.is_empty() => Ok(p),
                _ => Err(MlflowError::Artifact {
                    message: format!(
                        "artifact location `{uri}` has no path, or one that climbs out with `..`"
                    ),
                }),
            };
        }
        if let Some(rest) = strip_scheme(uri, &lower, "runs:") {
            let Some(rest) = rest.strip_prefix('/').filter(|r| !r.starts_with('/')) else {
                return Err(MlflowError::Unsupported {
                    message: format!(
                        "artifact location `{uri}` is not of the form runs:/<run_id>/<path>"
                    ),
                });
            };
            let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
            let run = self.get_run(run_id)?;
            let base = run.info.artifact_uri.trim();
            if !base.to_ascii_lowercase().starts_with("mlflow-artifacts:") {
                return Err(self.unsupported(uri, Some(base)));
            }
            let base = self.proxy_path(base)?;
            let path = path.trim_matches('/');
            if path.is_empty() {
                return Ok(base);
            }
            return match safe_relative(path) {
                Some(p) => Ok(format!("{base}/{p}")),
                None => Err(MlflowError::Artifact {
                    message: format!("artifact location `{uri}` climbs out with `..`"),
                }),
            };
        }
        Err(self.unsupported(uri, None))
    }

    fn unsupported(&self, uri: &str, via: Option<&str>) -> MlflowError {
        let lower = uri.to_ascii_lowercase();
        let what = via.unwrap_or(uri);
        let why = if lower.starts_with("models:") {
            "a `models:/` location (a logged model or another registered version); register \
             versions from the run's artifacts (`runs:/<run_id>/<path>`)"
                .to_owned()
        } else if what.starts_with('/') || what.to_ascii_lowercase().starts_with("file:") {
            "a path on the server's disk (a server without `--serve-artifacts`, or a version \
             registered from a local path); run `mlflow server --serve-artifacts` so that \
             artifacts go through its proxy (`mlflow-artifacts:`)"
                .to_owned()
        } else {
            "a store modelci cannot read (it reads artifacts only through the tracking server's \
             proxy, `mlflow-artifacts:`); run `mlflow server --serve-artifacts \
             --artifacts-destination <store>` so that artifacts go through it"
                .to_owned()
        };
        let via = via.map_or(String::new(), |v| format!(" (stored at `{v}`)"));
        MlflowError::Unsupported {
            message: self
                .http
                .hide(&format!("artifact location `{uri}`{via} is {why}")),
        }
    }

    fn nothing_at(&self, artifact_uri: &str) -> MlflowError {
        MlflowError::NotFound {
            what: format!("artifacts at `{artifact_uri}`"),
            server: self.server(),
            message: "the location lists no files".to_owned(),
        }
    }

    /// Whether `host[:port]` is the tracking server's.
    fn is_this_server(&self, authority: &str) -> bool {
        let base = self.http.base();
        let host = base.host_str().unwrap_or_default();
        let port = base.port_or_known_default();
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let (a_host, a_port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !p.contains(']') => (h, p.parse::<u16>().ok()),
            _ => (authority, port),
        };
        a_host.eq_ignore_ascii_case(host) && a_port == port
    }

    /// `GET .../mlflow-artifacts/artifacts?path=`, recursively.
    fn list_under(&self, root: &str, artifact_uri: &str) -> Result<Vec<ArtifactFile>, MlflowError> {
        let mut out = Vec::new();
        let mut pending: Vec<(String, usize)> = vec![(String::new(), 0)];
        while let Some((rel, depth)) = pending.pop() {
            let dir = if rel.is_empty() {
                root.to_owned()
            } else {
                format!("{root}/{rel}")
            };
            let mut url = self.http.artifacts_url("");
            url.query_pairs_mut().append_pair("path", &dir);
            let call = Call::new(
                Method::GET,
                url,
                format!("artifact location `{artifact_uri}`"),
            );
            let answer = self.http.json(&call)?;
            let entries = match answer.get("files") {
                None | Some(Value::Null) => &[][..],
                Some(Value::Array(a)) => a.as_slice(),
                Some(_) => {
                    return Err(self.listing_error(&dir, "`files` is not a list"));
                }
            };
            for entry in entries {
                let listed = entry
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                // MLflow lists base names; older servers may list paths from the root.
                let name = listed
                    .strip_prefix(&format!("{dir}/"))
                    .unwrap_or(listed)
                    .trim_end_matches('/');
                let Some(name) = safe_relative(name).filter(|n| !n.is_empty()) else {
                    return Err(MlflowError::Artifact {
                        message: self.http.hide(&format!(
                            "the artifact listing of `{artifact_uri}` holds the name `{}`, which \
                             would leave the download folder (absolute, `..` or empty); \
                             refusing to download",
                            listed.escape_debug()
                        )),
                    });
                };
                let path = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                if entry
                    .get("is_dir")
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
                {
                    if depth + 1 > MAX_DEPTH {
                        return Err(MlflowError::Artifact {
                            message: format!(
                                "the artifacts at `{artifact_uri}` nest deeper than {MAX_DEPTH} \
                                 folders"
                            ),
                        });
                    }
                    pending.push((path, depth + 1));
                } else {
                    let size = match entry.get("file_size") {
                        Some(Value::Number(n)) => n.as_u64(),
                        Some(Value::String(s)) => s.parse().ok(),
                        _ => None,
                    };
                    out.push(ArtifactFile { path, size });
                    if out.len() > MAX_FILES {
                        return Err(MlflowError::Artifact {
                            message: format!(
                                "the artifacts at `{artifact_uri}` hold more than {MAX_FILES} files"
                            ),
                        });
                    }
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    fn listing_error(&self, dir: &str, why: &str) -> MlflowError {
        let mut url = self.http.artifacts_url("");
        url.query_pairs_mut().append_pair("path", dir);
        MlflowError::Protocol {
            message: self
                .http
                .hide(&format!("{url}: unexpected artifact listing: {why}")),
        }
    }

    /// Downloads one listed file into `dest` (a canonical folder).
    fn fetch(
        &self,
        root: &str,
        file: &ArtifactFile,
        dest: &Path,
        written: &mut Downloaded,
    ) -> Result<(), MlflowError> {
        let rel: PathBuf = file.path.split('/').collect();
        let target = dest.join(&rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error("cannot create", parent, &e))?;
            // A folder that already existed as a link elsewhere must not redirect the write.
            let real = parent
                .canonicalize()
                .map_err(|e| io_error("cannot read", parent, &e))?;
            if !real.starts_with(dest) {
                return Err(MlflowError::Artifact {
                    message: format!(
                        "`{}` leads outside the download folder `{}` (a symbolic link); \
                         refusing to write there",
                        parent.display(),
                        dest.display()
                    ),
                });
            }
        }
        let remaining = self.max_download_bytes.saturating_sub(written.bytes);
        let source = if root.is_empty() {
            file.path.clone()
        } else {
            format!("{root}/{}", file.path)
        };
        let url = self.http.artifacts_url(&source);
        let mut call = Call::new(Method::GET, url, format!("artifact `{source}`"));
        call.transfer = true;
        let result = self.http.download(&call, remaining, || {
            fs::File::create(&target).map_err(|e| io_error("cannot write", &target, &e))
        });
        match result {
            Ok(n) => {
                written.bytes = written.bytes.saturating_add(n);
                written.files.push(rel);
                Ok(())
            }
            Err(e) => {
                let _ = fs::remove_file(&target);
                Err(e)
            }
        }
    }
}

/// `uri` without its scheme, when it has this one (case-insensitive).
fn strip_scheme<'a>(uri: &'a str, lower: &str, scheme: &str) -> Option<&'a str> {
    lower
        .starts_with(scheme)
        .then(|| uri.get(scheme.len()..))
        .flatten()
}

/// `path` as a clean relative `/`-path (empty segments and `.` dropped), or `None` when it is
/// absolute, climbs with `..`, or holds a backslash, a NUL or a drive prefix.
fn safe_relative(path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') {
        return None;
    }
    let mut parts = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            s => {
                // `C:` and the like would be a drive on Windows.
                let mut components = Path::new(s).components();
                if !matches!(
                    (components.next(), components.next()),
                    (Some(Component::Normal(_)), None)
                ) {
                    return None;
                }
                parts.push(s);
            }
        }
    }
    Some(parts.join("/"))
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> MlflowError {
    MlflowError::Io {
        message: format!("{what} `{}`: {e}", path.display()),
    }
}

/// The ONNX model in a downloaded folder: `model.onnx` at its top, else the one file named
/// `model.onnx` below it, else the only `*.onnx` file anywhere below it. `None` when there is
/// none or the choice is ambiguous. Symbolic links are not followed.
pub fn find_onnx(dir: &Path) -> Option<PathBuf> {
    let top = dir.join("model.onnx");
    if fs::symlink_metadata(&top).is_ok_and(|m| m.is_file()) {
        return Some(top);
    }
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), 0_usize)];
    while let Some((folder, depth)) = pending.pop() {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() && depth < MAX_DEPTH {
                pending.push((path, depth + 1));
            } else if kind.is_file()
                && path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
            {
                found.push(path);
            }
        }
    }
    let named: Vec<&PathBuf> = found
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "model.onnx"))
        .collect();
    match (named.as_slice(), found.as_slice()) {
        ([one], _) => Some((*one).clone()),
        ([], [only]) => Some(only.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_cleaned_and_escapes_refused() {
        assert_eq!(
            safe_relative("model/model.onnx").as_deref(),
            Some("model/model.onnx")
        );
        assert_eq!(safe_relative("a//./b/").as_deref(), Some("a/b"));
        assert_eq!(safe_relative("").as_deref(), Some(""));
        for bad in ["../x", "a/../../x", "/etc/passwd", "a\\..\\b", "a\0b", ".."] {
            assert_eq!(safe_relative(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn find_onnx_prefers_model_onnx_then_the_only_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_onnx(dir.path()), None);
        fs::create_dir_all(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/net.onnx"), b"x").unwrap();
        assert_eq!(find_onnx(dir.path()), Some(dir.path().join("sub/net.onnx")));
        fs::write(dir.path().join("other.ONNX"), b"x").unwrap();
        assert_eq!(find_onnx(dir.path()), None, "two candidates: ambiguous");
        fs::write(dir.path().join("sub/model.onnx"), b"x").unwrap();
        assert_eq!(
            find_onnx(dir.path()),
            Some(dir.path().join("sub/model.onnx"))
        );
        fs::write(dir.path().join("model.onnx"), b"x").unwrap();
        assert_eq!(find_onnx(dir.path()), Some(dir.path().join("model.onnx")));
    }
}

//! The bounded walk over the repository: breadth first (so that a huge tree keeps its top
//! levels), in sorted order (so that the result is the same on every machine), without
//! following symbolic links to folders (so that a link loop cannot trap it).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use crate::Limits;

/// Folders that are never entered: build outputs, dependencies, virtual environments and VCS
/// data. Hidden folders (`.git`, `.venv`, ...) are skipped as well.
pub const SKIPPED_FOLDERS: &[&str] = &[
    "target",
    "node_modules",
    "venv",
    "__pycache__",
    "site-packages",
];

/// One regular file found by the walk.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Relative to the walk's root, with `/` separators.
    pub rel: String,
    /// The path to open.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
}

/// What the walk saw.
#[derive(Debug, Default)]
pub struct Walked {
    /// Regular files (and links to regular files), sorted by `rel`.
    pub files: Vec<FileEntry>,
    /// Folders (relative, `/` separators; `""` is the root) that hold `test_data_set_N`
    /// folders: ONNX test-data layouts.
    pub onnx_layouts: Vec<String>,
    /// Problems worth a warning line.
    pub warnings: Vec<String>,
    /// Set when a limit stopped the walk early: what was cut.
    pub truncated: Option<String>,
}

/// Walks `root` within `limits`.
pub fn walk(root: &Path, limits: &Limits) -> Walked {
    let mut out = Walked::default();
    let mut queue: VecDeque<(PathBuf, String, usize)> = VecDeque::new();
    queue.push_back((root.to_path_buf(), String::new(), 0));
    let mut seen_entries = 0usize;
    while let Some((dir, rel_dir, depth)) = queue.pop_front() {
        let reader = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) => {
                out.warnings.push(format!(
                    "{}: cannot read the folder: {}",
                    shown(&rel_dir),
                    reason(&e)
                ));
                continue;
            }
        };
        let mut entries: Vec<std::fs::DirEntry> = reader.filter_map(Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        let mut has_layout = false;
        for entry in entries {
            seen_entries += 1;
            if seen_entries > limits.max_entries {
                out.truncated = Some(format!(
                    "stopped after {} files and folders (the limit); folders not reached are \
                     left out",
                    limits.max_entries
                ));
                finish(&mut out);
                return out;
            }
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                out.warnings.push(format!(
                    "{}: a name that is not UTF-8 ({}); left out",
                    shown(&rel_dir),
                    name.to_string_lossy()
                ));
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let rel = if rel_dir.is_empty() {
                name.to_owned()
            } else {
                format!("{rel_dir}/{name}")
            };
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if file_type.is_dir() {
                if SKIPPED_FOLDERS.contains(&name) {
                    continue;
                }
                if is_test_data_set(name) {
                    has_layout = true;
                    continue;
                }
                if depth + 1 > limits.max_depth {
                    if out.truncated.is_none() {
                        out.truncated = Some(format!(
                            "folders deeper than {} levels are left out (first: {rel})",
                            limits.max_depth
                        ));
                    }
                    continue;
                }
                queue.push_back((path, rel, depth + 1));
                continue;
            }
            // A link is followed only to a regular file; links to folders are not entered.
            let metadata = if file_type.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(m) if m.is_file() => m,
                    _ => continue,
                }
            } else if file_type.is_file() {
                match entry.metadata() {
                    Ok(m) => m,
                    Err(e) => {
                        out.warnings
                            .push(format!("{rel}: cannot read it: {}", reason(&e)));
                        continue;
                    }
                }
            } else {
                continue;
            };
            out.files.push(FileEntry {
                rel,
                path,
                size: metadata.len(),
            });
        }
        if has_layout {
            out.onnx_layouts.push(rel_dir);
        }
    }
    finish(&mut out);
    out
}

fn finish(out: &mut Walked) {
    out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    out.onnx_layouts.sort();
}

/// `test_data_set_N`, the ONNX test-data layout's case folders.
pub fn is_test_data_set(name: &str) -> bool {
    name.strip_prefix("test_data_set_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A folder for messages: `.` for the root.
pub fn shown(rel: &str) -> &str {
    if rel.is_empty() { "." } else { rel }
}

/// An I/O error in a few words, without the `(os error N)` tail.
pub fn reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_lowercase(),
        None => text,
    }
}

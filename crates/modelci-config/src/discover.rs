//! Finding `modelci.toml` when the command line does not name one: in the current folder, then
//! in each parent folder, the way git finds its repository. The search stops after the first
//! folder that holds `.git` (a repository's root: a folder, or a file in a worktree or
//! submodule), so a configuration outside the repository is never picked up, or at the
//! filesystem root.

use std::path::{Path, PathBuf};

use crate::DEFAULT_CONFIG;

/// A configuration file found by [`discover`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The file, relative to the folder the search started in (`modelci.toml`,
    /// `../../modelci.toml`), so that paths resolved against it stay short.
    pub path: PathBuf,
    /// How many folders above the start it is (0: in the start folder).
    pub levels_up: usize,
}

/// Looks for `modelci.toml` in `start` (an absolute folder, the current one) and its parents.
///
/// # Errors
/// When there is none, a message that says where the search looked.
pub fn discover(start: &Path) -> Result<Found, String> {
    let mut relative = PathBuf::new();
    for (levels_up, dir) in start.ancestors().enumerate() {
        if dir.join(DEFAULT_CONFIG).exists() {
            return Ok(Found {
                path: relative.join(DEFAULT_CONFIG),
                levels_up,
            });
        }
        if dir.join(".git").exists() {
            let what = if levels_up == 0 {
                "in this folder, the root of its git repository".to_owned()
            } else {
                format!(
                    "in this folder or its parents up to the git repository's root `{}`",
                    dir.display()
                )
            };
            return Err(format!("no `{DEFAULT_CONFIG}` {what}"));
        }
        relative.push("..");
    }
    Err(format!(
        "no `{DEFAULT_CONFIG}` in this folder or any of its parents"
    ))
}

//! The reference pages generated from the code, so they cannot drift from it: the command-line
//! reference (`docs/reference/cli.md`) from the clap definitions, the configuration reference
//! (`docs/reference/config.md`) from the configuration's JSON Schema, and man pages (`modelci
//! man DIR`). A test compares the committed pages with what the code generates
//! (`MODELCI_UPDATE_DOCS=1 cargo test -p modelci reference_pages` rewrites them).
//!
//! The Markdown is written here rather than with a crate: the CLI side is a short walk over
//! clap's own model, and no maintained crate renders a JSON Schema as a TOML configuration
//! reference (tables named `[[suite.model]]`, keys with their types and defaults).

use std::path::Path;

#[cfg(test)]
mod markdown;

/// Writes a man page for `modelci` and for each of its (sub)commands into `dir`:
/// `modelci.1`, `modelci-check.1`, `modelci-contract-verify.1`, ... Returns the files written.
///
/// # Errors
/// A page that cannot be written (the message names it).
pub fn write_man_pages(root: &clap::Command, dir: &Path) -> Result<Vec<String>, String> {
    let mut root = root.clone();
    root.build();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut written = Vec::new();
    man_page(&root, "modelci", dir, &mut written)?;
    Ok(written)
}

fn man_page(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<String>,
) -> Result<(), String> {
    if cmd.is_hide_set() {
        return Ok(());
    }
    let page = cmd.clone().name(name.to_owned());
    let mut buf = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut buf)
        .map_err(|e| format!("{name}.1: {e}"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buf).map_err(|e| format!("{}: {e}", path.display()))?;
    written.push(path.display().to_string());
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        man_page(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod canary_manifests;

//! Where a suite's settings come from, for resolving them and for naming problems: a table of
//! `modelci.toml` (errors point at the file, line and column, and name keys), or a single-suite
//! command's flags (errors name the flags). Every suite kind's `resolve` takes an [`Origin`], so
//! `modelci check` and `modelci model test` (say) check the same values the same way.

use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Diagnostic};
use crate::overrides::Applied;

/// Where settings come from.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    /// The folder relative paths resolve against.
    pub dir: PathBuf,
    source: Source<'a>,
}

#[derive(Debug, Clone)]
enum Source<'a> {
    File {
        display: String,
        text: &'a str,
        overrides: &'a [Applied],
    },
    Flags {
        names: &'a [(&'a str, &'a str)],
    },
}

impl<'a> Origin<'a> {
    /// A table of the configuration file `display` whose text is `text`.
    pub fn file(dir: &Path, display: &str, text: &'a str) -> Origin<'a> {
        Origin::file_with(dir, display, text, &[])
    }

    /// The same, with `--set` overrides applied to the document (their values have spans past
    /// the end of `text`, see [`crate::overrides`]).
    pub(crate) fn file_with(
        dir: &Path,
        display: &str,
        text: &'a str,
        overrides: &'a [Applied],
    ) -> Origin<'a> {
        Origin {
            dir: dir.to_path_buf(),
            source: Source::File {
                display: display.to_owned(),
                text,
                overrides,
            },
        }
    }

    /// A command's flags: `names` maps each key to the flag that sets it (`("timeout_secs",
    /// "--timeout")`); relative paths resolve against the current folder.
    pub fn flags(names: &'a [(&'a str, &'a str)]) -> Origin<'a> {
        Origin {
            dir: PathBuf::from("."),
            source: Source::Flags { names },
        }
    }

    /// How the user wrote `key`, quoted: `` `timeout_secs` `` in a file, `` `--timeout` `` for a
    /// flag. A compound key (`regression.max_output_drift`) is named as written.
    pub fn name(&self, key: &str) -> String {
        match &self.source {
            Source::File { .. } => format!("`{key}`"),
            Source::Flags { names } => names
                .iter()
                .find(|(k, _)| *k == key)
                .map_or_else(|| format!("`{key}`"), |(_, flag)| format!("`{flag}`")),
        }
    }

    /// A problem at byte `offset` of the file (for flags: the message alone).
    pub fn error(&self, offset: usize, message: String) -> ConfigError {
        match &self.source {
            Source::File {
                display,
                text,
                overrides,
            } => locate(display, text, overrides, offset, message),
            Source::Flags { .. } => ConfigError::Usage(message),
        }
    }

    /// The 1-based line of byte `offset` (0 for flags).
    pub fn line(&self, offset: usize) -> u32 {
        match &self.source {
            Source::File {
                text, overrides, ..
            } => line(text, overrides, offset),
            Source::Flags { .. } => 0,
        }
    }

    /// The file's display path ("" for flags), for locations.
    pub fn display(&self) -> &str {
        match &self.source {
            Source::File { display, .. } => display,
            Source::Flags { .. } => "",
        }
    }

    /// A path from the settings, resolved against [`Origin::dir`].
    pub fn path(&self, path: &Path) -> PathBuf {
        crate::resolve(&self.dir, path)
    }
}

/// The error for a problem at byte `offset` of the document parsed from `text` with
/// `overrides` applied: a file location, or the `--set` the value came from.
pub(crate) fn locate(
    display: &str,
    text: &str,
    overrides: &[Applied],
    offset: usize,
    message: String,
) -> ConfigError {
    let from = offset
        .checked_sub(text.len() + 1)
        .and_then(|i| overrides.get(i))
        .or_else(|| overrides.iter().rev().find(|o| o.claims(offset, &message)));
    match from {
        Some(o) => ConfigError::Override {
            key: o.key.clone(),
            message,
        },
        None => ConfigError::At(Diagnostic::at_offset(display, text, offset, message)),
    }
}

/// The 1-based line of byte `offset` (for a `--set` value: the line of the table it sets).
pub(crate) fn line(text: &str, overrides: &[Applied], offset: usize) -> u32 {
    match offset
        .checked_sub(text.len() + 1)
        .and_then(|i| overrides.get(i))
    {
        Some(o) => o.line,
        None => modelci_report::line_col(text, offset).0,
    }
}

/// Checks `secret_headers` (header name -> environment variable name), keeping each line.
pub(crate) fn secret_headers(
    raw: &std::collections::BTreeMap<String, toml::Spanned<String>>,
    origin: &Origin<'_>,
) -> Result<Vec<(String, String, u32)>, ConfigError> {
    let mut out = Vec::new();
    for (header, var) in raw {
        crate::check_var_name(var.get_ref())
            .map_err(|e| origin.error(var.span().start, e.to_string()))?;
        out.push((
            header.clone(),
            var.get_ref().clone(),
            origin.line(var.span().start),
        ));
    }
    Ok(out)
}

/// `timeout_secs` (default 30 s, positive) and `concurrency` (default 8, at least 1).
pub(crate) fn limits(
    timeout_secs: Option<f64>,
    concurrency: Option<usize>,
    offset: usize,
    origin: &Origin<'_>,
) -> Result<(std::time::Duration, usize), ConfigError> {
    let timeout = match timeout_secs {
        None => crate::values::DEFAULT_TIMEOUT,
        Some(t) => crate::values::seconds(t, &origin.name("timeout_secs"))
            .map_err(|m| origin.error(offset, m))?,
    };
    let concurrency = crate::values::count(
        concurrency.unwrap_or(crate::values::DEFAULT_CONCURRENCY),
        1,
        crate::values::MAX_CONCURRENCY,
        &origin.name("concurrency"),
    )
    .map_err(|m| origin.error(offset, m))?;
    Ok((timeout, concurrency))
}

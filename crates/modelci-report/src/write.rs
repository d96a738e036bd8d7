use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::ReportError;

/// Writes a file atomically: the content goes to a temporary file in the same folder, which is
/// renamed over `path` once complete, so readers never see a half-written report.
///
/// # Errors
/// Fails when the folder does not exist or is not writable, or when `write` fails.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("folder `{}` does not exist", dir.display()),
        )));
    }
    let tmp = tempfile::Builder::new()
        .prefix(".modelci-")
        .tempfile_in(dir)
        .map_err(err)?;
    {
        let mut out = BufWriter::with_capacity(1 << 16, tmp.as_file());
        write(&mut out).map_err(err)?;
        out.flush().map_err(err)?;
    }
    tmp.persist(path).map_err(|e| err(e.error))?;
    // Temporary files are created 0600; reports are ordinary files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o644));
    }
    Ok(())
}

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::ReportError;

/// Whether `path` names the standard output: `-`, or `/dev/stdout`.
pub fn is_stdout(path: &Path) -> bool {
    path == Path::new("-") || path == Path::new("/dev/stdout")
}

/// Writes a report file. A regular file (or a new one) is written atomically: the content goes
/// to a temporary file in the same folder, which is renamed over `path` once complete, so readers
/// never see a half-written report. `-` and `/dev/stdout` write to the standard output, and
/// other special files (a pipe, `/dev/stderr`, a character device) are written in place: a
/// rename would replace the special file with a regular one.
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
    if is_stdout(path) {
        let stdout = io::stdout();
        let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
        write(&mut out).map_err(err)?;
        return out.flush().map_err(err);
    }
    if let Ok(meta) = fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        let file = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(err)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        write(&mut out).map_err(err)?;
        return out.flush().map_err(err);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_replaced_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.json");
        fs::write(&path, "old and longer").expect("write");
        write_atomic(&path, |w| w.write_all(b"new")).expect("report");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new");
        let left: Vec<_> = fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_stays_a_pipe_and_gets_the_report() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(status.success());
        let reader = {
            let path = path.clone();
            std::thread::spawn(move || fs::read_to_string(path).expect("read fifo"))
        };
        write_atomic(&path, |w| w.write_all(b"{\"ok\":true}")).expect("report");
        assert_eq!(reader.join().expect("reader"), "{\"ok\":true}");
        let kind = fs::symlink_metadata(&path).expect("stat").file_type();
        assert!(kind.is_fifo(), "the pipe was replaced by a regular file");
    }

    #[test]
    fn dash_and_dev_stdout_are_the_standard_output() {
        assert!(is_stdout(Path::new("-")));
        assert!(is_stdout(Path::new("/dev/stdout")));
        assert!(!is_stdout(Path::new("./-x")));
    }
}

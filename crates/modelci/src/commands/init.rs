//! `modelci init`: scan a folder, write a starting `modelci.toml`, say what was found and what
//! to run next.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::InitArgs;
use crate::output::{self, EXIT_ERROR};

pub fn run(args: &InitArgs) -> u8 {
    let to_stdout = args.dry_run || args.output.as_deref() == Some(Path::new("-"));
    let target = match &args.output {
        Some(p) if p != Path::new("-") => p.clone(),
        _ => args.dir.join(modelci_config::DEFAULT_CONFIG),
    };
    let shown = modelci_config::display_path(&target);
    if !to_stdout {
        if target.is_dir() {
            output::error(
                &format!("`{shown}` is a folder; give a file with --output"),
                None,
            );
            return EXIT_ERROR;
        }
        if target.symlink_metadata().is_ok() && !args.force {
            output::error(
                &format!(
                    "`{shown}` already exists; pass --force to replace it, or --dry-run to \
                     print the new one"
                ),
                None,
            );
            return EXIT_ERROR;
        }
    }
    let options = modelci_init::Options {
        root: args.dir.clone(),
        config: target.clone(),
        limits: modelci_init::Limits::default(),
        git: true,
    };
    let generated = match modelci_init::generate(&options) {
        Ok(g) => g,
        Err(e) => {
            output::error(&e.to_string(), None);
            return EXIT_ERROR;
        }
    };
    for w in &generated.warnings {
        output::warning(w);
    }
    if generated.summary.is_empty() {
        output::status(
            "found nothing modelci checks: the file is a commented template with no suites",
        );
    } else {
        output::status("found:");
        for line in &generated.summary {
            output::status(&format!("  {}", crate::terminal::escape_controls(line)));
        }
    }
    for note in &generated.notes {
        output::status(&format!("note: {}", crate::terminal::escape_controls(note)));
    }
    if to_stdout {
        output::stdout(&generated.text);
        return 0;
    }
    if let Err(e) = write(&target, &generated.text, args.force) {
        output::error(&format!("failed to write `{shown}`: {e}"), None);
        return EXIT_ERROR;
    }
    output::status(&format!(
        "wrote {shown}: {} suite(s), {} more commented out",
        generated.active, generated.commented
    ));
    let next = if target == Path::new(modelci_config::DEFAULT_CONFIG)
        || target == Path::new(".").join(modelci_config::DEFAULT_CONFIG)
    {
        "modelci check".to_owned()
    } else {
        format!(
            "modelci check --config {}",
            modelci_init::render::shell(&shown)
        )
    };
    if generated.active == 0 {
        output::status(&format!(
            "next: uncomment a suite in {shown}, then run `{next}`"
        ));
    } else {
        output::status(&format!("next: {next}"));
    }
    0
}

/// Writes the file: a new file is created exclusively (so one that appeared meanwhile is not
/// replaced); with `force`, through a temporary file renamed over it.
fn write(target: &Path, text: &str, force: bool) -> std::io::Result<()> {
    if !force {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(target)?;
        return f.write_all(text.as_bytes());
    }
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(".modelci-init-{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, target));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

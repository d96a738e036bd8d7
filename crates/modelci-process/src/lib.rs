//! The processes modelci starts: the system under test (`[service] command`) and the
//! dependencies a resilience suite starts. Each runs in its own process group with its output
//! in a log file; modelci waits until its `ready_url` answers 2xx, and stops the whole group
//! afterwards (SIGTERM, then SIGKILL after `stop_timeout_secs`), also when a suite fails, when
//! modelci is interrupted (see [`kill_active`]) or when the [`Service`] is dropped.
//!
//! Process faults act on the whole group: [`Service::kill`] (SIGKILL, as a pod kill),
//! [`Service::pause`] and [`Service::resume`] (SIGSTOP, SIGCONT), [`Service::restart`].
//!
//! Without a command, modelci only waits for `ready_url` of a service that is already running
//! (and process faults are refused).

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use modelci_config::service::{CommandLine, Service as Spec};

/// The process groups of the processes being run, for an interrupt handler.
static ACTIVE_GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn activate(pgid: i32) {
    if let Ok(mut groups) = ACTIVE_GROUPS.lock() {
        groups.push(pgid);
    }
}

fn deactivate(pgid: i32) {
    if let Ok(mut groups) = ACTIVE_GROUPS.lock() {
        groups.retain(|&g| g != pgid);
    }
}

/// Kills every started process group at once (for a second Ctrl-C, which exits without
/// unwinding).
pub fn kill_active() {
    let groups = ACTIVE_GROUPS
        .lock()
        .map(|mut g| std::mem::take(&mut *g))
        .unwrap_or_default();
    for pgid in groups.into_iter().filter(|&g| g > 0) {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

/// Why the service could not be used, with the end of its log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    pub message: String,
    /// The last lines of the service's output.
    pub log_tail: String,
    /// The full log, when the service was started.
    pub log: Option<PathBuf>,
}

/// A started (or found) service.
pub struct Service {
    child: Option<Child>,
    pgid: i32,
    log: Option<PathBuf>,
    stop_timeout: Duration,
    /// Seconds it took to become ready.
    pub ready_after: Duration,
    /// The command as shown in messages.
    pub shown: String,
    /// What it was started from (for a restart).
    spec: Spec,
    /// Whether it is paused (SIGSTOP): it is resumed before it is stopped.
    paused: bool,
}

fn shown(c: &CommandLine) -> String {
    match c {
        CommandLine::Shell(s) => s.clone(),
        CommandLine::Args(a) => a.join(" "),
    }
}

/// The last `lines` lines of a file (lossy UTF-8), read from its end.
pub fn tail(path: &std::path::Path, lines: usize) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let from = len.saturating_sub(64 * 1024);
    if f.seek(SeekFrom::Start(from)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Service {
    /// Starts the service (when it has a command) and waits until it is ready, or `cancel` is
    /// set.
    ///
    /// # Errors
    /// The command cannot start, exits before it is ready, or is not ready in time (with the end
    /// of its log); without a command, the URL never becomes ready.
    pub fn start(spec: &Spec, cancel: &AtomicBool) -> Result<Service, ServiceError> {
        let fail = |message: String, log: Option<&PathBuf>| ServiceError {
            log_tail: log.map(|l| tail(l, 40)).unwrap_or_default(),
            log: log.cloned(),
            message,
        };
        let started = Instant::now();
        let mut service = Service {
            child: None,
            pgid: 0,
            log: None,
            stop_timeout: Duration::from_secs_f64(spec.stop_timeout_secs),
            ready_after: Duration::ZERO,
            shown: spec.command.as_ref().map(shown).unwrap_or_default(),
            spec: spec.clone(),
            paused: false,
        };
        if let Some(command) = &spec.command {
            let log = std::env::temp_dir().join(format!(
                "modelci-service-{}-{}.log",
                std::process::id(),
                started.elapsed().as_nanos()
            ));
            let file = std::fs::File::create(&log).map_err(|e| {
                fail(
                    format!("cannot create the service log {}: {e}", log.display()),
                    None,
                )
            })?;
            let err_file = file
                .try_clone()
                .map_err(|e| fail(format!("cannot share the service log: {e}"), None))?;
            let mut cmd = match command {
                CommandLine::Shell(s) => {
                    let mut c = Command::new("sh");
                    c.arg("-c").arg(s);
                    c
                }
                CommandLine::Args(a) => {
                    let mut c = Command::new(&a[0]);
                    c.args(&a[1..]);
                    c
                }
            };
            cmd.current_dir(&spec.cwd)
                .envs(&spec.env)
                .stdin(Stdio::null())
                .stdout(Stdio::from(file))
                .stderr(Stdio::from(err_file));
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let child = cmd.spawn().map_err(|e| {
                fail(
                    format!(
                        "cannot start the service `{}` (in {}): {e}",
                        service.shown,
                        spec.cwd.display()
                    ),
                    None,
                )
            })?;
            service.pgid = i32::try_from(child.id()).unwrap_or(0);
            activate(service.pgid);
            service.child = Some(child);
            service.log = Some(log);
        }
        // Each probe waits at most 2 s; redirects are followed (`/health` -> `/health/`).
        let probe_timeout = Duration::from_secs(2);
        let client = modelci_net::ClientPolicy::new(probe_timeout)
            .redirects(modelci_net::Redirects::Follow(10))
            .build_blocking()
            .map_err(|e| fail(e.to_string(), None))?;
        let deadline = Duration::from_secs_f64(spec.ready_timeout_secs);
        let mut last;
        loop {
            if let Some(child) = service.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let message = format!(
                    "the service `{}` exited ({status}) before {} was ready",
                    service.shown, spec.ready_url
                );
                let log = service.log.clone();
                service.child = None;
                service.stop_group();
                return Err(fail(message, log.as_ref()));
            }
            match client.get(&spec.ready_url).send() {
                Ok(r) if r.status().is_success() => break,
                Ok(r) => last = format!("it answered {}", r.status()),
                Err(e) => last = modelci_net::describe_routed(e, probe_timeout),
            }
            if cancel.load(Ordering::SeqCst) {
                let log = service.log.clone();
                service.stop_group();
                return Err(fail(
                    "interrupted while waiting for the service".into(),
                    log.as_ref(),
                ));
            }
            if started.elapsed() >= deadline {
                let log = service.log.clone();
                let what = if spec.command.is_some() {
                    format!("the service `{}`", service.shown)
                } else {
                    "the service (no `command`: it must already be running)".to_owned()
                };
                service.stop_group();
                return Err(fail(
                    format!(
                        "{what} was not ready within {} s: {} ({last})",
                        spec.ready_timeout_secs, spec.ready_url
                    ),
                    log.as_ref(),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        service.ready_after = started.elapsed();
        Ok(service)
    }

    /// The service's log file, when modelci started it.
    pub fn log(&self) -> Option<&PathBuf> {
        self.log.as_ref()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.log
            .as_ref()
            .map(|l| tail(l, lines))
            .unwrap_or_default()
    }

    /// Stops the process group: SIGTERM, then SIGKILL after the stop timeout. Idempotent.
    pub fn stop(&mut self) {
        self.stop_group();
    }

    /// Whether modelci started it (process faults need a process).
    pub fn started(&self) -> bool {
        self.pgid > 0
    }

    fn signal(&self, signal: i32, what: &str) -> Result<(), String> {
        if self.pgid <= 0 {
            return Err(format!(
                "cannot {what} `{}`: modelci did not start it (it has no `command`, or it was killed)",
                self.shown
            ));
        }
        // SAFETY: signals a process group we started; no memory is involved.
        if unsafe { libc::kill(-self.pgid, signal) } != 0 {
            return Err(format!(
                "cannot {what} `{}`: {}",
                self.shown,
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }

    /// Kills the whole group at once with SIGKILL (as a pod kill) and reaps it; it stays down
    /// until [`Service::restart`].
    ///
    /// # Errors
    /// When modelci did not start it or it is already down.
    pub fn kill(&mut self) -> Result<(), String> {
        self.signal(libc::SIGKILL, "kill")?;
        let pgid = self.pgid;
        self.pgid = 0;
        self.paused = false;
        deactivate(pgid);
        if let Some(c) = self.child.as_mut() {
            let _ = c.wait();
        }
        self.child = None;
        Ok(())
    }

    /// Freezes the whole group (SIGSTOP): its sockets stay open, nothing answers.
    ///
    /// # Errors
    /// When modelci did not start it or it is down.
    pub fn pause(&mut self) -> Result<(), String> {
        self.signal(libc::SIGSTOP, "pause")?;
        self.paused = true;
        Ok(())
    }

    /// Lets a paused group run again (SIGCONT).
    ///
    /// # Errors
    /// When modelci did not start it or it is down.
    pub fn resume(&mut self) -> Result<(), String> {
        self.signal(libc::SIGCONT, "resume")?;
        self.paused = false;
        Ok(())
    }

    /// Stops it (SIGTERM, then SIGKILL after the stop timeout, unless it is already down)
    /// and starts it again from the same settings, waiting until it is ready.
    ///
    /// # Errors
    /// As [`Service::start`].
    pub fn restart(&mut self, cancel: &AtomicBool) -> Result<(), ServiceError> {
        self.stop_group();
        let fresh = Service::start(&self.spec, cancel)?;
        *self = fresh;
        Ok(())
    }

    fn stop_group(&mut self) {
        if self.pgid <= 0 {
            return;
        }
        let pgid = self.pgid;
        self.pgid = 0;
        deactivate(pgid);
        // SAFETY: signals a process group we started; no memory is involved.
        unsafe {
            if self.paused {
                libc::kill(-pgid, libc::SIGCONT);
            }
            libc::kill(-pgid, libc::SIGTERM);
        }
        let started = Instant::now();
        loop {
            let leader_done = match self.child.as_mut() {
                Some(c) => !matches!(c.try_wait(), Ok(None)),
                None => true,
            };
            // SAFETY: signal 0 only checks whether any process of the group is left.
            let group_alive = unsafe { libc::kill(-pgid, 0) } == 0;
            if leader_done && !group_alive {
                break;
            }
            if started.elapsed() >= self.stop_timeout {
                // SAFETY: as above.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
                if let Some(c) = self.child.as_mut() {
                    let _ = c.wait();
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = None;
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop_group();
    }
}

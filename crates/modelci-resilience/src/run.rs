//! Running a scenario: traffic from the load engine (traced, every request with its
//! `X-Request-Id`), the fault applied and removed on a timeline by a second thread, and what the
//! dependencies received read back from the fault proxies.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use modelci_config::resilience::{Fault, ProcessAction, Scenario};
use modelci_load::{Arrivals, Live, LoadSpec, Model, Profile, Tracing};
use modelci_process::Service;

use crate::deps::Proxies;
use crate::observe::{Observed, Timeline};

/// The processes a suite started, by name.
pub(crate) type Processes = Vec<(String, Arc<Mutex<Service>>)>;

/// What happened to the fault: when it was applied and removed, and what went wrong.
#[derive(Debug, Default)]
pub(crate) struct FaultLog {
    pub applied: Option<Instant>,
    pub removed: Option<Instant>,
    pub problems: Vec<String>,
}

fn process<'a>(processes: &'a Processes, name: &str) -> Result<&'a Arc<Mutex<Service>>, String> {
    processes
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p)
        .ok_or_else(|| format!("process `{name}` is not running"))
}

fn with<T>(p: &Arc<Mutex<Service>>, f: impl FnOnce(&mut Service) -> T) -> T {
    let mut guard = p.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    f(&mut guard)
}

/// Calls a fault switch URL.
fn switch(method: reqwest::Method, url: &str, body: Option<&str>) -> Result<(), String> {
    let client = modelci_net::ClientPolicy::new(Duration::from_secs(10))
        .build_blocking()
        .map_err(|e| e.to_string())?;
    let mut request = client.request(method.clone(), url);
    if let Some(b) = body {
        request = request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(b.to_owned());
    }
    let shown = modelci_net::redact_url_text(url);
    match request.send() {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("{method} {shown} answered {}", r.status())),
        Err(e) => Err(format!(
            "{method} {shown}: {}",
            modelci_net::describe_routed(e, Duration::from_secs(10))
        )),
    }
}

/// Applies the fault.
fn apply(
    fault: &Fault,
    proxies: &Proxies,
    processes: &Processes,
    cancel: &AtomicBool,
) -> Result<(), String> {
    match fault {
        Fault::Toxic { proxy, toxic } => proxies.add_toxic(proxy, toxic),
        Fault::Process {
            process: name,
            action,
        } => {
            let p = process(processes, name)?;
            match action {
                ProcessAction::Kill => with(p, Service::kill),
                ProcessAction::Pause => with(p, Service::pause),
                ProcessAction::Restart => with(p, |s| s.restart(cancel)).map_err(|e| e.to_string()),
            }
        }
        Fault::Switch { post, body, .. } => switch(reqwest::Method::POST, post, body.as_deref()),
    }
}

/// Removes the fault.
fn remove(
    fault: &Fault,
    proxies: &Proxies,
    processes: &Processes,
    cancel: &AtomicBool,
) -> Result<(), String> {
    match fault {
        Fault::Toxic { proxy, toxic } => proxies.remove_toxic(
            proxy,
            toxic
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or_default(),
        ),
        Fault::Process {
            process: name,
            action,
        } => {
            let p = process(processes, name)?;
            match action {
                ProcessAction::Kill => with(p, |s| s.restart(cancel)).map_err(|e| e.to_string()),
                ProcessAction::Pause => with(p, Service::resume),
                ProcessAction::Restart => Ok(()),
            }
        }
        Fault::Switch { delete, .. } => match delete {
            Some(url) => switch(reqwest::Method::DELETE, url, None),
            None => Ok(()),
        },
    }
}

fn sleep_until(t: Instant, cancel: &AtomicBool) -> bool {
    while Instant::now() < t {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep((t - Instant::now()).min(Duration::from_millis(20)));
    }
    true
}

/// Runs one scenario and returns what was observed, and the fault's log.
pub(crate) fn scenario(
    s: &Scenario,
    base: &LoadSpec,
    tracing: Tracing,
    proxies: &Proxies,
    processes: &Processes,
    cancel: &AtomicBool,
) -> Result<(Observed, FaultLog), String> {
    proxies.clear_logs();
    let start = Instant::now() + Duration::from_millis(100);
    let timeline = Timeline::new(start, s.before, s.during, s.after);
    let mut spec = base.clone();
    spec.model = Model::Open {
        profile: Profile::constant(s.rate, s.before + s.during + s.after),
        arrivals: Arrivals::Uniform,
        max_in_flight: 10_000,
    };
    spec.warmup = Duration::ZERO;
    let id_prefix = tracing.id_prefix.clone();
    spec.tracing = Some(Tracing {
        start_at: Some(start),
        ..tracing
    });
    let log = Mutex::new(FaultLog::default());
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut l = FaultLog::default();
            if sleep_until(timeline.fault_start, cancel) {
                match apply(&s.fault, proxies, processes, cancel) {
                    Ok(()) => l.applied = Some(Instant::now()),
                    Err(e) => l
                        .problems
                        .push(format!("the fault could not be applied: {e}")),
                }
            }
            let _ = sleep_until(timeline.fault_end, cancel);
            // Removed even when cancelled, so that nothing is left broken.
            if l.applied.is_some() || matches!(s.fault, Fault::Switch { .. }) {
                match remove(&s.fault, proxies, processes, cancel) {
                    Ok(()) => l.removed = Some(Instant::now()),
                    Err(e) => l
                        .problems
                        .push(format!("the fault could not be removed: {e}")),
                }
            }
            if let Ok(mut g) = log.lock() {
                *g = l;
            }
        });
        modelci_load::run(&spec, cancel, &Live::default())
    });
    let log = log
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let outcome = outcome.map_err(|e| e.to_string())?;
    let observed = Observed {
        timeline: Timeline {
            // The fault's real times (a process restart takes a while).
            fault_start: log.applied.unwrap_or(timeline.fault_start),
            fault_end: log
                .removed
                .unwrap_or(timeline.fault_end)
                .max(timeline.fault_end),
            ..timeline
        },
        client: outcome.trace,
        kinds: base.requests.iter().map(|r| r.name.clone()).collect(),
        id_prefix,
        dependency: proxies.dependency(),
        rate: s.rate,
    };
    Ok((observed, log))
}

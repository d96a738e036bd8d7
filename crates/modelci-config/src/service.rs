//! `[service]`: the system under test that `modelci check` starts before its suites, waits for,
//! and stops afterwards. Suites refer to its base URL as `${service.url}`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

/// A command: a shell line (run with `sh -c`) or an argument list (run directly).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CommandLine {
    Shell(String),
    Args(Vec<String>),
}

/// `[service]`, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceFile {
    /// The command that starts the service (a shell line, or an argument list). Without it,
    /// modelci uses a service that is already running at `url`.
    #[serde(default)]
    pub command: Option<CommandLine>,
    /// The service's base URL; suites use it as `${service.url}`.
    #[serde(default)]
    pub url: Option<String>,
    /// The URL polled until it answers 2xx (default: `url`).
    #[serde(default)]
    pub ready_url: Option<String>,
    /// Seconds to wait for readiness (default 60).
    #[serde(default)]
    pub ready_timeout_secs: Option<f64>,
    /// Seconds to wait for the service to exit after SIGTERM before killing it (default 10).
    #[serde(default)]
    pub stop_timeout_secs: Option<f64>,
    /// Environment variables for the command.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The folder the command runs in (default: the configuration file's folder).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
}

/// A resolved `[service]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub command: Option<CommandLine>,
    pub url: Option<String>,
    pub ready_url: String,
    pub ready_timeout_secs: f64,
    pub stop_timeout_secs: f64,
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    /// 1-based line of the `[service]` table, for errors.
    pub line: u32,
}

fn http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

impl ServiceFile {
    /// Checks and resolves against the configuration file's folder.
    ///
    /// # Errors
    /// The first problem found, as a message.
    pub fn resolve(self, dir: &std::path::Path, line: u32) -> Result<Service, String> {
        let url = self.url.map(|u| u.trim_end_matches('/').to_owned());
        let ready_url = self
            .ready_url
            .or_else(|| url.clone())
            .ok_or("`[service]` needs `url` or `ready_url`: the URL to wait for")?;
        for (key, u) in [
            ("url", url.as_deref()),
            ("ready_url", Some(ready_url.as_str())),
        ] {
            if let Some(u) = u
                && !http(u)
            {
                return Err(format!(
                    "`service.{key}` must be an http:// or https:// URL, not `{u}`"
                ));
            }
        }
        match &self.command {
            Some(CommandLine::Shell(s)) if s.trim().is_empty() => {
                return Err("`service.command` is empty".into());
            }
            Some(CommandLine::Args(a)) if a.first().is_none_or(|p| p.trim().is_empty()) => {
                return Err("`service.command` is empty".into());
            }
            _ => {}
        }
        let secs = |key: &str, v: Option<f64>, default: f64| match v {
            None => Ok(default),
            Some(x) => crate::values::seconds(x, &format!("`service.{key}`")).map(|_| x),
        };
        Ok(Service {
            command: self.command,
            url,
            ready_url,
            ready_timeout_secs: secs("ready_timeout_secs", self.ready_timeout_secs, 60.0)?,
            stop_timeout_secs: secs("stop_timeout_secs", self.stop_timeout_secs, 10.0)?,
            env: self.env,
            cwd: self
                .cwd
                .map_or_else(|| dir.to_path_buf(), |c| crate::resolve(dir, &c)),
            line,
        })
    }
}

//! Contract checks. For now: JSON Schema validation of recorded JSON documents
//! ([`json_schema`]); Pact and OpenAPI checks join it in later work.
//!
//! Checks follow a two-step shape that the runner relies on: *plan* (read the inputs that decide
//! which cases exist, giving each a stable name) and *run* one case at a time, returning a
//! [`modelci_report::Case`]. Nothing here prints.

pub mod contract_diff;
pub mod json_schema;

/// Reads a text document over HTTP (GET, with a timeout and a 64 MiB limit): the fetcher behind
/// `--allow-remote-refs`.
///
/// # Errors
/// Why the document could not be fetched.
pub fn get_text(url: &str, timeout: std::time::Duration) -> Result<String, String> {
    pact_verify::fetch(url, timeout).map_err(|e| e.message)
}

mod locate;
pub mod openapi_recorded;
pub mod openapi_suite;
pub mod openapi_test;
pub mod pact_mock;
pub mod pact_verify;
pub mod suite;

pub use locate::{line_col, pointer_offset};

/// Headers to send (name, value), with the secrets among them.
pub(crate) type Headers = (Vec<(String, String)>, Vec<modelci_config::Secret>);

/// The headers of a suite: the plain ones, then the secret ones read from the environment
/// (the secrets are returned too, to scrub them from results).
///
/// # Errors
/// A [`json_schema::SetupError`] at the config line of a secret whose variable is not set.
pub(crate) fn resolve_headers(
    plain: &[(String, String)],
    secret: &[(String, String, u32)],
    config_file: &str,
) -> Result<Headers, json_schema::SetupError> {
    let mut headers = plain.to_vec();
    let mut secrets = Vec::new();
    for (name, var, line) in secret {
        let value = modelci_config::Secret::from_env(var).map_err(|e| json_schema::SetupError {
            message: format!("secret header `{name}`: {e}"),
            location: modelci_report::Location::line(config_file, *line),
        })?;
        headers.push((name.clone(), value.expose().to_owned()));
        secrets.push(value);
    }
    Ok((headers, secrets))
}

//! Contract checks. For now: JSON Schema validation of recorded JSON documents
//! ([`json_schema`]); Pact and OpenAPI checks join it in later work.
//!
//! Checks follow a two-step shape that the runner relies on: *plan* (read the inputs that decide
//! which cases exist, giving each a stable name) and *run* one case at a time, returning a
//! [`modelci_report::Case`]. Nothing here prints.

pub mod contract_diff;
pub mod deprecation;
pub mod diff_ignore;
pub mod json_schema;

/// Reads a text document over HTTP (GET, with a timeout and a 64 MiB limit): the fetcher behind
/// `--allow-remote-refs`.
///
/// # Errors
/// Why the document could not be fetched.
pub fn get_text(url: &str, timeout: std::time::Duration) -> Result<String, String> {
    pact_verify::fetch_text(url, timeout, "document").map_err(|e| e.message)
}

mod locate;
pub mod openapi_recorded;
pub mod openapi_suite;
pub mod openapi_test;
pub mod pact_broker;
pub mod pact_mock;
pub mod pact_verify;
pub mod suite;

pub use locate::{line_col, pointer_offset};

/// Headers to send (name, value), and what hides the secret ones in results.
pub(crate) type Headers = (Vec<(String, String)>, modelci_net::Redactor);

/// The headers of a suite: the plain ones, then the secret ones read from the environment
/// (their values, and the long words of them such as a bearer token, are shown as
/// `$VAR (redacted)` wherever a result quotes them).
///
/// # Errors
/// A [`json_schema::SetupError`] at the config line of a secret whose variable is not set.
/// What a contract check must never show: the passwords (and their encoded forms) and
/// sensitive query values of the URLs it calls, and the values of the sensitive headers it
/// sends (`Authorization`, API keys, cookies, ...), added to `secrets`.
pub fn redactor(
    mut secrets: modelci_net::Redactor,
    urls: &[&str],
    headers: &[(String, String)],
) -> modelci_net::Redactor {
    for url in urls {
        if let Ok(u) = modelci_net::Url::parse(url) {
            secrets.url(&u, false);
        }
    }
    for (name, value) in headers {
        if modelci_net::is_sensitive_header(name) {
            secrets.header_value(value, "***");
        }
    }
    secrets
}

/// A URL as reports and messages show it: user, password and sensitive query values hidden.
pub fn shown_url(url: &str) -> String {
    modelci_net::Url::parse(url).map_or_else(
        |_| modelci_net::redact_url_text(url),
        |u| modelci_net::redact_url(&u),
    )
}

pub(crate) fn resolve_headers(
    plain: &[(String, String)],
    secret: &[(String, String, u32)],
    config_file: &str,
) -> Result<Headers, json_schema::SetupError> {
    let mut headers = plain.to_vec();
    let mut secrets = modelci_net::Redactor::new();
    for (name, var, line) in secret {
        let value = modelci_config::Secret::from_env(var).map_err(|e| json_schema::SetupError {
            message: format!("secret header `{name}`: {e}"),
            location: modelci_report::Location::line(config_file, *line),
        })?;
        headers.push((name.clone(), value.expose().to_owned()));
        secrets.header_value(value.expose(), &value.to_string());
    }
    Ok((headers, secrets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_are_sent_and_hidden_in_results_whole_or_by_their_token() {
        // Unique name: tests in this process share the environment.
        let var = "MODELCI_TEST_CONTRACT_SECRET_HEADER";
        // SAFETY: no other thread reads or writes this variable.
        unsafe { std::env::set_var(var, "Bearer tok-0123456789") };
        let (headers, secrets) = resolve_headers(
            &[("Accept".into(), "application/json".into())],
            &[("Authorization".into(), var.into(), 7)],
            "modelci.toml",
        )
        .expect("resolved");
        assert_eq!(
            headers,
            [
                ("Accept".to_owned(), "application/json".to_owned()),
                (
                    "Authorization".to_owned(),
                    "Bearer tok-0123456789".to_owned()
                )
            ]
        );
        assert_eq!(
            secrets.hide("sent Bearer tok-0123456789, then tok-0123456789 alone"),
            format!("sent ${var} (redacted), then ${var} (redacted) alone")
        );
        let e = resolve_headers(
            &[],
            &[(
                "X-Key".into(),
                "MODELCI_TEST_CONTRACT_SURELY_UNSET".into(),
                9,
            )],
            "modelci.toml",
        )
        .expect_err("unset");
        assert!(
            e.message.starts_with("secret header `X-Key`: "),
            "{}",
            e.message
        );
    }
}

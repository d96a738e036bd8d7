//! Secrets: tokens and passwords never live in `modelci.toml`. A configuration key that needs one
//! (named `*_env`, e.g. an MLflow `token_env`) holds the *name* of an environment variable, and
//! the value is read from the environment when the check runs. [`Secret`] never shows its value
//! in `Debug` or `Display`; `modelci_net::Redactor` scrubs it from text (server messages that
//! echo a header, for instance) before the text reaches a report.

use std::fmt;

/// A secret value read from an environment variable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    var: String,
    value: String,
}

/// Why a secret could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The name is not a valid environment variable name.
    #[error(
        "`{0}` is not a valid environment variable name (letters, digits and `_`, not starting with a digit)"
    )]
    BadName(String),
    /// The variable is not set, or is empty.
    #[error(
        "environment variable `{0}` is not set (it holds a secret, so it is read from the environment, never from modelci.toml)"
    )]
    Missing(String),
}

impl Secret {
    /// Reads the secret from the environment variable `var`.
    ///
    /// # Errors
    /// When `var` is not a valid name, or the variable is unset or empty.
    pub fn from_env(var: &str) -> Result<Secret, SecretError> {
        check_var_name(var)?;
        match std::env::var(var) {
            Ok(value) if !value.is_empty() => Ok(Secret {
                var: var.to_owned(),
                value,
            }),
            _ => Err(SecretError::Missing(var.to_owned())),
        }
    }

    /// A value a placeholder (`${NAME}`) read from the environment variable `var`.
    pub(crate) fn interpolated(var: String, value: String) -> Secret {
        Secret { var, value }
    }

    /// The secret value, for the one place that must send it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The environment variable it came from.
    pub fn var(&self) -> &str {
        &self.var
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(${}, redacted)", self.var)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${} (redacted)", self.var)
    }
}

/// Checks that `name` can name an environment variable.
///
/// # Errors
/// [`SecretError::BadName`] otherwise.
pub fn check_var_name(name: &str) -> Result<(), SecretError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(SecretError::BadName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_the_value() {
        // Unique name: tests in this process share the environment.
        let var = "MODELCI_TEST_SECRET_NEVER_SHOWN";
        // SAFETY: no other thread reads or writes this variable.
        unsafe { std::env::set_var(var, "tok-123456") };
        let s = Secret::from_env(var).expect("set");
        assert_eq!(s.expose(), "tok-123456");
        assert_eq!(
            format!("{s:?}"),
            "Secret($MODELCI_TEST_SECRET_NEVER_SHOWN, redacted)"
        );
        assert_eq!(s.to_string(), "$MODELCI_TEST_SECRET_NEVER_SHOWN (redacted)");
    }

    #[test]
    fn missing_and_bad_names() {
        assert_eq!(
            Secret::from_env("MODELCI_TEST_SECRET_SURELY_UNSET"),
            Err(SecretError::Missing(
                "MODELCI_TEST_SECRET_SURELY_UNSET".into()
            ))
        );
        assert!(matches!(
            Secret::from_env("1ABC"),
            Err(SecretError::BadName(_))
        ));
        assert!(matches!(
            Secret::from_env("A-B"),
            Err(SecretError::BadName(_))
        ));
        assert!(check_var_name("_OK_1").is_ok());
    }
}

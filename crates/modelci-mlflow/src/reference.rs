//! Which version of a registered model: `version:N`, `alias:NAME`, or a bare number.

use std::fmt;
use std::str::FromStr;

use crate::error::MlflowError;

/// A reference to one version of a registered model.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelRef {
    /// A version number (`version:3`, or `3`).
    Version(String),
    /// An alias (`alias:champion`).
    Alias(String),
}

impl ModelRef {
    /// Reads `version:N`, `alias:NAME` or a bare version number `N` (spaces around the parts
    /// are ignored; the prefixes are case-insensitive).
    ///
    /// # Errors
    /// [`MlflowError::InvalidReference`] for anything else: an empty reference, a version that
    /// is not a positive whole number, an empty alias or one with spaces or slashes.
    pub fn parse(text: &str) -> Result<ModelRef, MlflowError> {
        let trimmed = text.trim();
        let invalid = |why: &str| MlflowError::InvalidReference {
            message: format!(
                "model reference `{trimmed}` {why}; write `version:N`, `alias:NAME` or a version \
                 number"
            ),
        };
        if trimmed.is_empty() {
            return Err(MlflowError::InvalidReference {
                message: "the model reference is empty; write `version:N`, `alias:NAME` or a \
                          version number"
                    .to_owned(),
            });
        }
        let (kind, value) = match trimmed.split_once(':') {
            Some((k, v)) => (Some(k.trim().to_ascii_lowercase()), v.trim()),
            None => (None, trimmed),
        };
        match kind.as_deref() {
            None | Some("version") => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("has a version that is not a whole number"));
                }
                let digits = value.trim_start_matches('0');
                if digits.is_empty() {
                    return Err(invalid("has version 0 (versions start at 1)"));
                }
                Ok(ModelRef::Version(digits.to_owned()))
            }
            Some("alias") => {
                if value.is_empty() {
                    return Err(invalid("has an empty alias"));
                }
                if value.chars().any(|c| c.is_whitespace() || c == '/') {
                    return Err(invalid("has an alias with spaces or slashes"));
                }
                Ok(ModelRef::Alias(value.to_owned()))
            }
            Some(other) => Err(invalid(&format!("starts with `{other}:`"))),
        }
    }
}

impl FromStr for ModelRef {
    type Err = MlflowError;

    fn from_str(s: &str) -> Result<ModelRef, MlflowError> {
        ModelRef::parse(s)
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelRef::Version(v) => write!(f, "version:{v}"),
            ModelRef::Alias(a) => write!(f, "alias:{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_aliases_and_bare_numbers() {
        assert_eq!(
            ModelRef::parse("version:3").unwrap(),
            ModelRef::Version("3".into())
        );
        assert_eq!(
            ModelRef::parse(" 12 ").unwrap(),
            ModelRef::Version("12".into())
        );
        assert_eq!(
            ModelRef::parse("Version: 007").unwrap(),
            ModelRef::Version("7".into())
        );
        assert_eq!(
            ModelRef::parse("alias:champion").unwrap(),
            ModelRef::Alias("champion".into())
        );
        assert_eq!(
            "alias:x".parse::<ModelRef>().unwrap().to_string(),
            "alias:x"
        );
    }

    #[test]
    fn bad_references_say_what_is_expected() {
        for bad in [
            "",
            "version:",
            "version:x",
            "version:-1",
            "0",
            "alias:",
            "alias:a b",
            "champion",
            "stage:Production",
        ] {
            let e = ModelRef::parse(bad).unwrap_err();
            assert!(matches!(e, MlflowError::InvalidReference { .. }), "{bad}");
            assert!(e.to_string().contains("alias:NAME"), "{bad}: {e}");
        }
    }
}

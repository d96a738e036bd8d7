//! What a failed match reports: where, under which rule, expected and actual.

use std::fmt;

/// The part of an interaction a mismatch is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Method,
    Path,
    Query,
    Header,
    Status,
    Body,
    BodyType,
    Metadata,
}

impl Part {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Method => "method",
            Part::Path => "path",
            Part::Query => "query",
            Part::Header => "header",
            Part::Status => "status",
            Part::Body => "body",
            Part::BodyType => "body type",
            Part::Metadata => "metadata",
        }
    }
}

/// One difference between what the pact expects and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Which part of the request, response or message.
    pub part: Part,
    /// Where: a JSON path in the body (`$.animals[0].name`), a header or parameter name.
    pub path: String,
    /// The rule that was applied (`regex /\d+/`, `type min 1`, `equality`), when one was.
    pub rule: Option<String>,
    /// The expected value, as text.
    pub expected: String,
    /// The actual value, as text.
    pub actual: String,
    /// Why, in a sentence.
    pub message: String,
}

impl Mismatch {
    /// A mismatch with its fields.
    pub fn new(
        part: Part,
        path: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
        message: impl Into<String>,
    ) -> Mismatch {
        Mismatch {
            part,
            path: path.into(),
            rule: None,
            expected: expected.into(),
            actual: actual.into(),
            message: message.into(),
        }
    }

    /// Records the rule that was applied; the expected value then reads as the rule, with the
    /// pact's example (`regex /^a+$/ (example: "aaa")`), since the example itself is not what must
    /// match.
    #[must_use]
    pub fn with_rule(mut self, rule: Option<String>) -> Mismatch {
        if let Some(r) = &rule
            && !self.expected.starts_with(r.as_str())
        {
            self.expected = format!("{r} (example: {})", self.expected);
        }
        self.rule = rule;
        self
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.part.as_str())?;
        if !self.path.is_empty() {
            write!(f, " {}", self.path)?;
        }
        if let Some(rule) = &self.rule {
            write!(f, " [{rule}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

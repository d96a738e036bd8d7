//! Ignore files for `contract diff`: intentional breaking changes, each accepted with a reason
//! and, optionally, until a date.
//!
//! ```toml
//! [[ignore]]
//! id = "response-body-required-removed"   # a finding id, `*` matches any run of characters
//! operation = "GET /pets"                 # `METHOD /path`, or `/path` for every method
//! instance_path = "/legacy"               # where in the body (optional)
//! reason = "legacy field dropped; all clients moved to v2 (PLAT-123)"
//! until = 2027-03-31                      # optional: stops applying after this day
//! ```
//!
//! An entry names an id, an operation or both (and may narrow by instance path); it accepts every
//! finding that matches all it names. Ignored findings stay in every output, marked with the
//! entry, and never fail the diff. An entry past its `until` day no longer applies and is
//! reported; so is an entry that matches nothing.

use std::path::Path;

use chrono::NaiveDate;
use modelci_config::Diagnostic;
use modelci_openapi::diff::{Finding, Ignored};
use serde::Deserialize;

/// HTTP methods an OpenAPI path item can hold.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    ignore: Vec<toml::Spanned<RawEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Option<String>,
    operation: Option<String>,
    instance_path: Option<String>,
    reason: Option<String>,
    until: Option<toml::Value>,
}

/// One entry of an ignore file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    /// The id pattern (`*` matches any run of characters).
    pub id: Option<String>,
    /// The method (lowercase; `None`: every method) and path of the operation.
    pub operation: Option<(Option<String>, String)>,
    /// Where in the body.
    pub instance_path: Option<String>,
    /// Why the change is accepted.
    pub reason: String,
    /// The last day the entry applies.
    pub until: Option<NaiveDate>,
    /// Where the entry is (`file:line`).
    pub source: String,
}

impl IgnoreEntry {
    /// What the entry names, for messages (`response-body-* on GET /pets`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(id) = &self.id {
            parts.push(format!("`{id}`"));
        }
        if let Some((method, path)) = &self.operation {
            parts.push(match method {
                Some(m) => format!("on {} {path}", m.to_ascii_uppercase()),
                None => format!("on {path}"),
            });
        }
        if let Some(at) = &self.instance_path {
            parts.push(format!("at {at}"));
        }
        parts.join(" ")
    }

    /// Whether the entry accepts the finding (dates aside).
    pub fn matches(&self, f: &Finding) -> bool {
        if let Some(id) = &self.id
            && !glob_match(id, &f.id)
        {
            return false;
        }
        if let Some((method, path)) = &self.operation {
            let Some((fm, fp)) = f.operation.split_once(' ') else {
                return false;
            };
            if fp != path || method.as_ref().is_some_and(|m| !m.eq_ignore_ascii_case(fm)) {
                return false;
            }
        }
        if let Some(at) = &self.instance_path
            && at != &f.instance_path
        {
            return false;
        }
        true
    }
}

/// `*` matches any run of characters (none included); everything else itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// The entries of one or more ignore files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreList {
    /// The entries, in file order.
    pub entries: Vec<IgnoreEntry>,
}

impl IgnoreList {
    /// Reads an ignore file.
    ///
    /// # Errors
    /// A message naming the file (and the line) when it cannot be read or is not a valid
    /// ignore file.
    pub fn load(path: &Path) -> Result<IgnoreList, String> {
        let shown = modelci_config::display_path(path);
        let bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read the ignore file `{shown}`: {e}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("the ignore file `{shown}` is not valid UTF-8"))?;
        IgnoreList::parse(&text, &shown)
    }

    /// Parses an ignore file's text; `shown` names it in messages.
    ///
    /// # Errors
    /// As [`IgnoreList::load`].
    pub fn parse(text: &str, shown: &str) -> Result<IgnoreList, String> {
        let at = |offset: usize, message: String| {
            Diagnostic::at_offset(shown, text, offset, message).to_string()
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => at(span.start, e.message().trim().to_owned()),
            None => Diagnostic::whole_file(shown, e.message().trim().to_owned()).to_string(),
        })?;
        let mut entries = Vec::new();
        for spanned in raw.ignore {
            let offset = spanned.span().start;
            let line = text.get(..offset).unwrap_or(text).matches('\n').count() + 1;
            let source = format!("{shown}:{line}");
            let entry = spanned.into_inner();
            let fail = |m: &str| at(offset, format!("this [[ignore]] entry {m}"));
            let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
            let reason = nonempty(entry.reason).ok_or_else(|| {
                fail("has no `reason`: say why the change is accepted (it is shown with the finding)")
            })?;
            let id = nonempty(entry.id);
            let operation = match nonempty(entry.operation) {
                None => None,
                Some(op) => Some(parse_operation(&op).ok_or_else(|| {
                    fail(&format!(
                        "has an `operation` that is not `METHOD /path` or `/path`: `{op}`"
                    ))
                })?),
            };
            if id.is_none() && operation.is_none() {
                return Err(fail(
                    "names neither an `id` nor an `operation`: it would ignore every finding",
                ));
            }
            let until = match entry.until {
                None => None,
                Some(v) => {
                    let text = match &v {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Datetime(d) => d.to_string(),
                        other => other.to_string(),
                    };
                    Some(
                        NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                            fail(&format!(
                                "has an `until` that is not a date (YYYY-MM-DD): {v}"
                            ))
                        })?,
                    )
                }
            };
            entries.push(IgnoreEntry {
                id,
                operation,
                instance_path: nonempty(entry.instance_path),
                reason: reason.trim().to_owned(),
                until,
                source,
            });
        }
        Ok(IgnoreList { entries })
    }

    /// Marks the findings the entries accept (the first matching entry wins) and returns the
    /// warnings: entries past their `until` day (they no longer apply) and entries that accept
    /// nothing.
    pub fn apply(&self, findings: &mut [Finding], today: NaiveDate) -> Vec<String> {
        let mut warnings = Vec::new();
        for entry in &self.entries {
            let expired = entry.until.is_some_and(|d| today > d);
            if expired {
                let would = findings.iter().filter(|f| entry.matches(f)).count();
                warnings.push(format!(
                    "{}: the ignore entry for {} expired on {} and no longer applies{}",
                    entry.source,
                    entry.describe(),
                    entry.until.map(|d| d.to_string()).unwrap_or_default(),
                    if would > 0 {
                        format!(" ({would} finding(s) it would accept now count)")
                    } else {
                        " (it matches nothing now: remove it)".to_owned()
                    }
                ));
                continue;
            }
            let mut used = 0;
            for f in findings.iter_mut().filter(|f| f.ignored.is_none()) {
                if entry.matches(f) {
                    f.ignored = Some(Ignored {
                        reason: entry.reason.clone(),
                        source: entry.source.clone(),
                        until: entry.until.map(|d| d.to_string()),
                    });
                    used += 1;
                }
            }
            if used == 0 && !findings.iter().any(|f| entry.matches(f)) {
                warnings.push(format!(
                    "{}: the ignore entry for {} matches no finding (is it still needed?)",
                    entry.source,
                    entry.describe()
                ));
            }
        }
        warnings
    }
}

/// `GET /pets` -> (`get`, `/pets`); `/pets` -> (any, `/pets`).
fn parse_operation(op: &str) -> Option<(Option<String>, String)> {
    let op = op.trim();
    if op.starts_with('/') {
        return Some((None, op.to_owned()));
    }
    let (method, path) = op.split_once(char::is_whitespace)?;
    let method = method.to_ascii_lowercase();
    let path = path.trim();
    (METHODS.contains(&method.as_str()) && path.starts_with('/'))
        .then(|| (Some(method), path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelci_openapi::diff::Severity;

    fn finding(id: &str, operation: &str, at: &str) -> Finding {
        Finding {
            id: id.into(),
            severity: Severity::Breaking,
            old_pointer: "/paths/~1pets/get".into(),
            new_pointer: String::new(),
            message: "changed".into(),
            operation: operation.into(),
            instance_path: at.into(),
            witness: None,
            ignored: None,
        }
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn globs() {
        assert!(glob_match("response-body-*", "response-body-type-narrowed"));
        assert!(glob_match("*-removed", "path-removed"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-c"));
        assert!(!glob_match("path-removed", "operation-removed"));
        assert!(glob_match("*", "anything"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn entries_match_all_they_name_and_expire() {
        let list = IgnoreList::parse(
            r#"
[[ignore]]
id = "response-body-*"
operation = "get /pets"
reason = "v2 dropped legacy fields"
until = 2027-01-31

[[ignore]]
operation = "/toys"
reason = "toys are gone"

[[ignore]]
id = "security-added"
reason = "auth everywhere now"
until = "2026-01-01"

[[ignore]]
id = "never-seen"
reason = "stale"
"#,
            "ignore.toml",
        )
        .expect("parse");
        assert_eq!(list.entries.len(), 4);
        assert_eq!(list.entries[0].source, "ignore.toml:2");
        let mut findings = vec![
            finding("response-body-property-removed", "GET /pets", "/legacy"),
            finding("response-body-property-removed", "POST /pets", "/legacy"),
            finding("operation-removed", "DELETE /toys", ""),
            finding("security-added", "GET /pets", ""),
        ];
        let warnings = list.apply(&mut findings, day("2026-12-05"));
        assert_eq!(
            findings[0].ignored.as_ref().map(|i| i.reason.as_str()),
            Some("v2 dropped legacy fields")
        );
        assert_eq!(
            findings[0]
                .ignored
                .as_ref()
                .and_then(|i| i.until.as_deref()),
            Some("2027-01-31")
        );
        assert!(findings[1].ignored.is_none(), "another method");
        assert!(findings[2].ignored.is_some(), "every method of /toys");
        assert!(findings[3].ignored.is_none(), "expired");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("ignore.toml:"), "{warnings:?}");
        assert!(
            warnings[0].contains("expired on 2026-01-01"),
            "{warnings:?}"
        );
        assert!(warnings[0].contains("1 finding(s)"), "{warnings:?}");
        assert!(
            warnings[1].contains("`never-seen` matches no finding"),
            "{warnings:?}"
        );

        // On its last day an entry still applies; the day after, it does not.
        for (today, applies) in [("2027-01-31", true), ("2027-02-01", false)] {
            let mut fs = vec![finding("response-body-type-narrowed", "GET /pets", "/id")];
            list.apply(&mut fs, day(today));
            assert_eq!(fs[0].ignored.is_some(), applies, "{today}");
        }
    }

    #[test]
    fn bad_files_name_the_line() {
        let cases = [
            ("[[ignore]]\nid = \"x\"\n", "ignore.toml:1", "no `reason`"),
            (
                "[[ignore]]\nreason = \"r\"\n",
                "ignore.toml:1",
                "neither an `id`",
            ),
            (
                "\n[[ignore]]\nid = \"x\"\nreason = \"r\"\nuntil = \"soon\"\n",
                "ignore.toml:2",
                "not a date",
            ),
            (
                "[[ignore]]\noperation = \"FETCH /x\"\nreason = \"r\"\n",
                "ignore.toml:1",
                "not `METHOD /path`",
            ),
            (
                "[[ignore]]\nid = \"x\"\nreason = \"r\"\ncolour = 1\n",
                "ignore.toml:4",
                "colour",
            ),
            ("[[ignore]\n", "ignore.toml:1", ""),
        ];
        for (text, at, what) in cases {
            let e = IgnoreList::parse(text, "ignore.toml").expect_err(text);
            assert!(e.starts_with(at), "{text:?}: {e}");
            assert!(e.contains(what), "{text:?}: {e}");
        }
        let e = IgnoreList::load(Path::new("/no/such/ignore.toml")).expect_err("missing");
        assert!(e.contains("/no/such/ignore.toml"), "{e}");
    }
}

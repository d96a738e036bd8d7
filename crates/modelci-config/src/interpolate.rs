//! Placeholders in string values: `${NAME}` and `${NAME:-default}` read the environment variable
//! `NAME` (the default when it is unset or empty), `${service.url}` is `[service] url`, and
//! `$${` is a literal `${`. A `$` not followed by `{` is kept as written (`$HOME`, `$$`, `$1`
//! reach a shell command untouched).
//!
//! Placeholders are expanded in the parsed document, value by value, never in the text: a value
//! that holds a quote, a newline or `]]` stays one string and cannot change the document's
//! structure. Keys are never expanded. The values read from the environment are remembered
//! ([`Expander::used`]) so that messages and reports can hide them.

use std::borrow::Cow;
use std::ffi::OsString;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Reads an environment variable (the process's environment, or a map in tests).
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// What every placeholder message ends with.
const FORMS: &str = "placeholders are `${NAME}`, `${NAME:-default}` (NAME an environment \
                     variable) and `${service.url}`; write `$${` for a literal `${`";

/// A placeholder that cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The start of the placeholder as written (`${NAME`), to find it in the file.
    pub needle: String,
    /// What is wrong, as a lowercase fragment; never holds a value read from the environment.
    pub message: String,
}

/// `[service] url` as `${service.url}` sees it.
#[derive(Debug, Clone)]
pub(crate) enum ServiceUrl {
    /// Known (already expanded, without a trailing `/`).
    Known(String),
    /// `[service]` has no `url`.
    Missing,
    /// Expanding `[service] url` itself.
    Itself,
}

/// Expands placeholders, remembering the environment's values it used.
pub(crate) struct Expander<'a> {
    env: Lookup<'a>,
    pub service_url: ServiceUrl,
    /// (variable, value) read from the environment and used, in first-use order, each once.
    pub used: Vec<(String, String)>,
}

impl<'a> Expander<'a> {
    pub fn new(env: Lookup<'a>) -> Expander<'a> {
        Expander {
            env,
            service_url: ServiceUrl::Missing,
            used: Vec::new(),
        }
    }

    /// `text` with its placeholders expanded (borrowed when it has none).
    pub fn expand<'t>(&mut self, text: &'t str) -> Result<Cow<'t, str>, Problem> {
        if !text.contains("${") {
            return Ok(Cow::Borrowed(text));
        }
        let mut out = String::with_capacity(text.len());
        self.template(text, 0, None, true, &mut out)?;
        Ok(Cow::Owned(out))
    }

    /// Copies `s[start..]` into `out`, expanding placeholders, up to the end of `s`, or, inside
    /// the default of the placeholder that starts at `open`, up to its closing `}` (returning
    /// the index after it).
    fn template(
        &mut self,
        s: &str,
        start: usize,
        open: Option<usize>,
        evaluate: bool,
        out: &mut String,
    ) -> Result<usize, Problem> {
        let b = s.as_bytes();
        let mut i = start;
        let mut literal = start;
        while i < b.len() {
            match b[i] {
                b'}' if open.is_some() => {
                    out.push_str(&s[literal..i]);
                    return Ok(i + 1);
                }
                b'$' if b.get(i + 1) == Some(&b'$') && b.get(i + 2) == Some(&b'{') => {
                    out.push_str(&s[literal..i]);
                    out.push_str("${");
                    i += 3;
                    literal = i;
                }
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    out.push_str(&s[literal..i]);
                    i = self.placeholder(s, i, evaluate, out)?;
                    literal = i;
                }
                _ => i += 1,
            }
        }
        if let Some(open) = open {
            return Err(unclosed(s, open));
        }
        out.push_str(&s[literal..]);
        Ok(i)
    }

    /// Expands the placeholder whose `$` is at `at` into `out`; returns the index after it.
    fn placeholder(
        &mut self,
        s: &str,
        at: usize,
        evaluate: bool,
        out: &mut String,
    ) -> Result<usize, Problem> {
        let b = s.as_bytes();
        let name_start = at + 2;
        let mut end = name_start;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_' || b[end] == b'.')
        {
            end += 1;
        }
        let name = &s[name_start..end];
        let needle = format!("${{{name}");
        let problem = |message: String| Problem {
            needle: needle.clone(),
            message,
        };
        let with_default = match b.get(end) {
            None => return Err(unclosed(s, at)),
            Some(b'}') => false,
            Some(b':') if b.get(end + 1) == Some(&b'-') => true,
            Some(_) => {
                return Err(problem(format!(
                    "`${{{name}` is followed by {}, which is not supported: {FORMS}",
                    describe(s[end..].chars().next().unwrap_or(' '))
                )));
            }
        };
        if name == "service.url" {
            if with_default {
                return Err(problem(format!(
                    "`${{service.url}}` takes no default: {FORMS}"
                )));
            }
            if evaluate {
                match &self.service_url {
                    ServiceUrl::Known(url) => out.push_str(url),
                    ServiceUrl::Missing => {
                        return Err(problem(
                            "`${service.url}` is used, but `[service]` has no `url`".into(),
                        ));
                    }
                    ServiceUrl::Itself => {
                        return Err(problem(
                            "`${service.url}` cannot be used in `[service] url` itself".into(),
                        ));
                    }
                }
            }
            return Ok(end + 1);
        }
        if crate::check_var_name(name).is_err() {
            let what = if name.is_empty() {
                "`${` must be followed by a name".to_owned()
            } else {
                format!("`{name}` is not an environment variable name")
            };
            return Err(problem(format!("{what}: {FORMS}")));
        }
        let value = if evaluate {
            match (self.env)(name) {
                None => None,
                Some(v) => match v.into_string() {
                    Ok(v) => Some(v),
                    Err(_) => {
                        return Err(problem(format!(
                            "environment variable `{name}` is not valid UTF-8"
                        )));
                    }
                },
            }
        } else {
            None
        };
        if !with_default {
            if evaluate {
                let Some(value) = value else {
                    return Err(problem(format!(
                        "environment variable `{name}` is not set (write `${{{name}:-default}}` to give a default)"
                    )));
                };
                self.remember(name, &value);
                out.push_str(&value);
            }
            return Ok(end + 1);
        }
        // `${NAME:-default}`: the default is used when the variable is unset or empty; it may
        // hold placeholders of its own, expanded only when it is used.
        match value.filter(|v| !v.is_empty()) {
            Some(value) => {
                let mut ignored = String::new();
                let after = self.template(s, end + 2, Some(at), false, &mut ignored)?;
                self.remember(name, &value);
                out.push_str(&value);
                Ok(after)
            }
            None => self.template(s, end + 2, Some(at), evaluate, out),
        }
    }

    fn remember(&mut self, name: &str, value: &str) {
        if !self.used.iter().any(|(n, v)| n == name && v == value) {
            self.used.push((name.to_owned(), value.to_owned()));
        }
    }
}

fn unclosed(s: &str, at: usize) -> Problem {
    let name: String = s[at + 2..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
        .collect();
    Problem {
        needle: format!("${{{name}"),
        message: format!("`${{` is not closed by `}}`: {FORMS}"),
    }
}

fn describe(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("{c:?}")
    } else {
        format!("`{c}`")
    }
}

/// A placeholder problem in the document, at byte `offset` of the text it was parsed from.
#[derive(Debug)]
pub(crate) struct Found {
    pub offset: usize,
    pub message: String,
}

/// Where `needle` starts in the raw text of the value at `span` (the value's start when the
/// raw text spells it otherwise, with escapes, or the value comes from `--set`).
fn locate(text: &str, span: &Range<usize>, needle: &str) -> usize {
    text.get(span.clone())
        .and_then(|raw| raw.find(needle))
        .map_or(span.start, |i| span.start + i)
}

/// Expands every string value of `root` (keys are left alone). Every problem is collected; the
/// first one in the file is returned.
pub(crate) fn expand_document(
    root: &mut DeTable<'_>,
    text: &str,
    expander: &mut Expander<'_>,
) -> Result<(), Found> {
    // `${service.url}` first: `[service] url`, expanded on its own.
    expander.service_url = ServiceUrl::Itself;
    let url = root
        .get("service")
        .and_then(|s| s.get_ref().as_table())
        .and_then(|t| t.get("url"))
        .map(|u| (u.span(), u.get_ref().as_str().map(str::to_owned)));
    expander.service_url = match url {
        Some((span, Some(raw))) => match expander.expand(&raw) {
            Ok(url) => ServiceUrl::Known(url.trim_end_matches('/').to_owned()),
            Err(p) => {
                return Err(Found {
                    offset: locate(text, &span, &p.needle),
                    message: p.message,
                });
            }
        },
        _ => ServiceUrl::Missing,
    };
    let mut problems = Vec::new();
    for (_, value) in root.iter_mut() {
        walk(value, text, expander, &mut problems);
    }
    match problems.into_iter().min_by_key(|f| f.offset) {
        Some(first) => Err(first),
        None => Ok(()),
    }
}

fn walk(
    value: &mut Spanned<DeValue<'_>>,
    text: &str,
    expander: &mut Expander<'_>,
    problems: &mut Vec<Found>,
) {
    let span = value.span();
    match value.get_mut() {
        DeValue::String(s) => match expander.expand(s) {
            Ok(Cow::Borrowed(_)) => {}
            Ok(Cow::Owned(expanded)) => *s = Cow::Owned(expanded),
            Err(p) => problems.push(Found {
                offset: locate(text, &span, &p.needle),
                message: p.message,
            }),
        },
        DeValue::Array(items) => {
            for item in items.iter_mut() {
                walk(item, text, expander, problems);
            }
        }
        DeValue::Table(table) => {
            for (_, item) in table.iter_mut() {
                walk(item, text, expander, problems);
            }
        }
        DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) | DeValue::Datetime(_) => {}
    }
}

//! Matching rules: the matchers of the Pact specification, how they are written in pact files
//! (v2's flat JSONPath-keyed map, v3/v4's category-keyed map), and which rule applies where.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::path::{PathExpr, weight};

/// One matcher, as the Pact specification defines them.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// Values are equal.
    Equality,
    /// The value, as a string, matches the regular expression (whole string).
    Regex(String),
    /// Same type as the example; arrays also respect `min`/`max` lengths.
    Type {
        min: Option<usize>,
        max: Option<usize>,
    },
    /// The string contains this text.
    Include(String),
    /// An integer number.
    Integer,
    /// A number with a fractional part.
    Decimal,
    /// Any number.
    Number,
    /// A boolean.
    Boolean,
    /// `null`.
    Null,
    /// A date in this Java-style format (default `yyyy-MM-dd`).
    Date(Option<String>),
    /// A time in this Java-style format (default `HH:mm:ss`).
    Time(Option<String>),
    /// A date-time in this Java-style format (default ISO 8601).
    DateTime(Option<String>),
    /// A map's values are matched (by the rules below it), whatever the keys.
    Values,
    /// The body's detected content type is this one.
    ContentType(String),
    /// The array contains, for each variant, at least one element matching it.
    ArrayContains(Vec<Variant>),
    /// Every key of the map matches these matchers.
    EachKey(Vec<Matcher>),
    /// Every value of the map (or element of the array) matches these matchers.
    EachValue(Vec<Matcher>),
    /// Not empty (string, array or object), and of the example's type.
    NotEmpty,
    /// A semantic version.
    Semver,
    /// The HTTP status is in this class or list.
    StatusCode(StatusSpec),
}

/// One `arrayContains` variant: the index of the example element and rules below it.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub index: usize,
    pub rules: Rules,
}

/// `statusCode` matcher classes.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusSpec {
    Information,
    Success,
    Redirect,
    ClientError,
    ServerError,
    NonError,
    Error,
    Codes(Vec<u16>),
}

impl StatusSpec {
    /// Whether `status` belongs to the class.
    pub fn contains(&self, status: u16) -> bool {
        match self {
            StatusSpec::Information => (100..200).contains(&status),
            StatusSpec::Success => (200..300).contains(&status),
            StatusSpec::Redirect => (300..400).contains(&status),
            StatusSpec::ClientError => (400..500).contains(&status),
            StatusSpec::ServerError => (500..600).contains(&status),
            StatusSpec::NonError => status < 400,
            StatusSpec::Error => status >= 400,
            StatusSpec::Codes(codes) => codes.contains(&status),
        }
    }
}

/// How the matchers of one rule combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Combine {
    /// All must hold.
    #[default]
    And,
    /// At least one must hold.
    Or,
}

/// The matchers declared at one path.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleList {
    pub matchers: Vec<Matcher>,
    pub combine: Combine,
}

impl RuleList {
    /// The type-like matcher that governs recursion into arrays and objects, if any.
    pub fn is_type_like(&self) -> bool {
        self.matchers.iter().any(|m| {
            matches!(
                m,
                Matcher::Type { .. }
                    | Matcher::Values
                    | Matcher::EachKey(_)
                    | Matcher::EachValue(_)
                    | Matcher::ArrayContains(_)
                    | Matcher::NotEmpty
            )
        })
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Equality => write!(f, "equality"),
            Matcher::Regex(r) => write!(f, "regex /{r}/"),
            Matcher::Type { min, max } => {
                write!(f, "type")?;
                if let Some(m) = min {
                    write!(f, " min {m}")?;
                }
                if let Some(m) = max {
                    write!(f, " max {m}")?;
                }
                Ok(())
            }
            Matcher::Include(s) => write!(f, "include {s:?}"),
            Matcher::Integer => write!(f, "integer"),
            Matcher::Decimal => write!(f, "decimal"),
            Matcher::Number => write!(f, "number"),
            Matcher::Boolean => write!(f, "boolean"),
            Matcher::Null => write!(f, "null"),
            Matcher::Date(fmt_) => write!(f, "date {}", fmt_.as_deref().unwrap_or("yyyy-MM-dd")),
            Matcher::Time(fmt_) => write!(f, "time {}", fmt_.as_deref().unwrap_or("HH:mm:ss")),
            Matcher::DateTime(fmt_) => {
                write!(f, "datetime {}", fmt_.as_deref().unwrap_or("ISO 8601"))
            }
            Matcher::Values => write!(f, "values"),
            Matcher::ContentType(c) => write!(f, "contentType {c}"),
            Matcher::ArrayContains(v) => write!(f, "arrayContains ({} variants)", v.len()),
            Matcher::EachKey(_) => write!(f, "eachKey"),
            Matcher::EachValue(_) => write!(f, "eachValue"),
            Matcher::NotEmpty => write!(f, "notEmpty"),
            Matcher::Semver => write!(f, "semver"),
            Matcher::StatusCode(s) => write!(f, "statusCode {s:?}"),
        }
    }
}

/// Rules of one category (body, header, query, path, status, metadata), by path expression.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    entries: Vec<(PathExpr, RuleList)>,
}

impl Rules {
    /// No rules.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a rule.
    pub fn push(&mut self, path: PathExpr, rules: RuleList) {
        self.entries.push((path, rules));
    }

    /// The rule that applies at `path` (segments, starting with `$`): among the expressions that
    /// match `path` or one of its ancestors (rules cascade to children), the heaviest, then the
    /// longest.
    pub fn best(&self, path: &[String]) -> Option<&RuleList> {
        self.best_weighted(path).map(|(_, _, r)| r)
    }

    /// Like [`best`](Self::best), with the weight and length of the winning expression.
    pub fn best_weighted(&self, path: &[String]) -> Option<(usize, usize, &RuleList)> {
        self.entries
            .iter()
            .filter_map(|(expr, rules)| {
                let w = weight(expr, path);
                (w > 0).then_some((w, expr.len(), rules))
            })
            .max_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)))
    }

    /// The rule declared exactly at `path` (same length), if any.
    pub fn exact(&self, path: &[String]) -> Option<&RuleList> {
        self.entries
            .iter()
            .filter(|(expr, _)| expr.len() == path.len())
            .filter_map(|(expr, rules)| {
                let w = weight(expr, path);
                (w > 0).then_some((w, rules))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, r)| r)
    }

    /// The rule for a named item (header, query parameter, metadata key): expressions `name`,
    /// `$.name` or `$['name']`; header names compare case-insensitively.
    pub fn for_name(&self, name: &str, case_insensitive: bool) -> Option<&RuleList> {
        let path = vec!["$".to_owned(), name.to_owned()];
        self.entries
            .iter()
            .find(|(expr, _)| {
                let simple = expr.as_name();
                match simple {
                    Some(n) if case_insensitive => n.eq_ignore_ascii_case(name),
                    Some(n) => n == name,
                    None => weight(expr, &path) > 0 && expr.len() == 2,
                }
            })
            .map(|(_, r)| r)
    }

    /// The rule for the whole value (the `path` and `status` categories).
    pub fn whole(&self) -> Option<&RuleList> {
        self.entries.first().map(|(_, r)| r)
    }
}

/// All the matching rules of a request, response or message, by category.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatchingRules {
    pub categories: BTreeMap<String, Rules>,
}

impl MatchingRules {
    /// The rules of a category (empty when none).
    pub fn category(&self, name: &str) -> &Rules {
        static EMPTY: std::sync::OnceLock<Rules> = std::sync::OnceLock::new();
        self.categories
            .get(name)
            .unwrap_or_else(|| EMPTY.get_or_init(Rules::default))
    }

    fn add(&mut self, category: &str, path: PathExpr, rules: RuleList) {
        self.categories
            .entry(category.to_owned())
            .or_default()
            .push(path, rules);
    }

    /// Reads the `matchingRules` of a pact interaction part. `v2` selects the flat format
    /// (keys like `$.body.a`, `$.headers.Accept`, `$.query.q`, `$.path`); otherwise the v3/v4
    /// category format.
    ///
    /// # Errors
    /// A message naming the bad rule.
    pub fn parse(value: &Value, v2: bool) -> Result<MatchingRules, String> {
        let Some(map) = value.as_object() else {
            return Err("`matchingRules` must be an object".into());
        };
        let mut rules = MatchingRules::default();
        let looks_v2 = v2 || map.keys().all(|k| k.starts_with('$'));
        if looks_v2 && !map.is_empty() {
            for (key, rule) in map {
                let expr = PathExpr::parse(key)?;
                let (category, rest) = expr.split_category()?;
                let list = parse_rule_list(rule).map_err(|e| format!("rule `{key}`: {e}"))?;
                rules.add(&category, rest, list);
            }
            return Ok(rules);
        }
        for (category, entries) in map {
            let category = match category.as_str() {
                "headers" => "header",
                "content" => "body",
                other => other,
            };
            let obj = entries
                .as_object()
                .ok_or_else(|| format!("matching rules for `{category}` must be an object"))?;
            if obj.contains_key("matchers") || obj.contains_key("combine") {
                // `path` and `status` hold one rule list directly.
                let list =
                    parse_rule_list(entries).map_err(|e| format!("rule for `{category}`: {e}"))?;
                rules.add(category, PathExpr::root(), list);
                continue;
            }
            for (key, rule) in obj {
                let expr = if key.starts_with('$') {
                    PathExpr::parse(key)?
                } else {
                    PathExpr::name(key)
                };
                let list =
                    parse_rule_list(rule).map_err(|e| format!("rule `{category}` `{key}`: {e}"))?;
                rules.add(category, expr, list);
            }
        }
        Ok(rules)
    }
}

/// Reads one rule: `{"matchers": [...], "combine": "AND"}` or a bare v2 matcher object.
pub fn parse_rule_list(value: &Value) -> Result<RuleList, String> {
    let Some(obj) = value.as_object() else {
        return Err("a rule must be an object".into());
    };
    if let Some(matchers) = obj.get("matchers") {
        let list = matchers
            .as_array()
            .ok_or("`matchers` must be an array")?
            .iter()
            .map(parse_matcher)
            .collect::<Result<Vec<_>, _>>()?;
        let combine = match obj.get("combine").and_then(Value::as_str) {
            None | Some("AND") => Combine::And,
            Some("OR") => Combine::Or,
            Some(other) => return Err(format!("unknown `combine` value `{other}` (AND or OR)")),
        };
        return Ok(RuleList {
            matchers: list,
            combine,
        });
    }
    Ok(RuleList {
        matchers: vec![parse_matcher(value)?],
        combine: Combine::And,
    })
}

fn usize_field(obj: &Map<String, Value>, key: &str) -> Result<Option<usize>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be a non-negative integer, not {v}")),
    }
}

fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Reads one matcher object.
///
/// # Errors
/// Unknown matcher names, invalid regular expressions and missing fields.
pub fn parse_matcher(value: &Value) -> Result<Matcher, String> {
    let obj = value.as_object().ok_or("a matcher must be an object")?;
    let kind = obj.get("match").and_then(Value::as_str);
    let kind = match kind {
        Some(k) => k.to_owned(),
        None if obj.contains_key("regex") => "regex".into(),
        None if obj.contains_key("min") || obj.contains_key("max") => "type".into(),
        None if obj.contains_key("timestamp") => "timestamp".into(),
        None if obj.contains_key("date") => "date".into(),
        None if obj.contains_key("time") => "time".into(),
        None => return Err(format!("matcher {value} has no `match`")),
    };
    let m = match kind.as_str() {
        "equality" => Matcher::Equality,
        "regex" => {
            let re = str_field(obj, "regex").ok_or("regex matcher without `regex`")?;
            regex::Regex::new(&crate::matchers::compatible_regex(&re))
                .map_err(|e| format!("invalid regex `{re}`: {e}"))?;
            Matcher::Regex(re)
        }
        "type" | "min" | "max" | "minType" | "maxType" => Matcher::Type {
            min: usize_field(obj, "min")?,
            max: usize_field(obj, "max")?,
        },
        "include" => Matcher::Include(
            str_field(obj, "value").ok_or("include matcher without a string `value`")?,
        ),
        "integer" => Matcher::Integer,
        "decimal" => Matcher::Decimal,
        "number" => Matcher::Number,
        "boolean" => Matcher::Boolean,
        "null" => Matcher::Null,
        "date" => Matcher::Date(str_field(obj, "format").or_else(|| str_field(obj, "date"))),
        "time" => Matcher::Time(str_field(obj, "format").or_else(|| str_field(obj, "time"))),
        "timestamp" | "datetime" => {
            Matcher::DateTime(str_field(obj, "format").or_else(|| str_field(obj, "timestamp")))
        }
        "values" => Matcher::Values,
        "contentType" | "content-type" => Matcher::ContentType(
            str_field(obj, "value").ok_or("contentType matcher without `value`")?,
        ),
        "arrayContains" => {
            let variants = obj
                .get("variants")
                .and_then(Value::as_array)
                .ok_or("arrayContains matcher without `variants`")?;
            let mut out = Vec::new();
            for (i, v) in variants.iter().enumerate() {
                let index = v
                    .get("index")
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(i);
                let mut rules = Rules::default();
                if let Some(r) = v.get("rules").and_then(Value::as_object) {
                    for (key, rule) in r {
                        rules.push(PathExpr::parse(key)?, parse_rule_list(rule)?);
                    }
                }
                out.push(Variant { index, rules });
            }
            Matcher::ArrayContains(out)
        }
        "eachKey" | "eachValue" => {
            let rules = obj
                .get("rules")
                .and_then(Value::as_array)
                .map(|r| r.iter().map(parse_matcher).collect::<Result<Vec<_>, _>>())
                .transpose()?
                .unwrap_or_default();
            if kind == "eachKey" {
                Matcher::EachKey(rules)
            } else {
                Matcher::EachValue(rules)
            }
        }
        "notEmpty" => Matcher::NotEmpty,
        "semver" => Matcher::Semver,
        "statusCode" => {
            let status = obj
                .get("status")
                .ok_or("statusCode matcher without `status`")?;
            let spec = match status {
                Value::String(s) => match s.as_str() {
                    "information" => StatusSpec::Information,
                    "success" => StatusSpec::Success,
                    "redirect" => StatusSpec::Redirect,
                    "clientError" => StatusSpec::ClientError,
                    "serverError" => StatusSpec::ServerError,
                    "nonError" => StatusSpec::NonError,
                    "error" => StatusSpec::Error,
                    other => return Err(format!("unknown status class `{other}`")),
                },
                Value::Array(codes) => StatusSpec::Codes(
                    codes
                        .iter()
                        .map(|c| {
                            c.as_u64()
                                .and_then(|n| u16::try_from(n).ok())
                                .ok_or_else(|| format!("bad status code {c}"))
                        })
                        .collect::<Result<_, _>>()?,
                ),
                other => return Err(format!("bad `status` {other}")),
            };
            Matcher::StatusCode(spec)
        }
        other => return Err(format!("unknown matcher `{other}`")),
    };
    Ok(m)
}

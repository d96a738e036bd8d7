//! Pact generators (v3/v4): values generated in place of the examples in a pact.
//!
//! A request, response or message of a pact may carry `generators`, keyed by category:
//!
//! ```json
//! "generators": {
//!   "body":   {"$.id": {"type": "RandomInt", "min": 1, "max": 10}},
//!   "header": {"X-Request-Id": {"type": "Uuid"}},
//!   "query":  {"page": {"type": "RandomInt"}},
//!   "path":   {"type": "ProviderState", "expression": "/orders/${orderId}"},
//!   "status": {"type": "RandomInt", "min": 200, "max": 299}
//! }
//! ```
//!
//! `body` keys are JSONPath expressions (v4 messages say `content`); `header`, `query` and
//! `metadata` keys are names; `path` and `status` hold one generator directly.
//!
//! # Where generators apply
//!
//! Following the Pact specification, each side replaces the examples of the part it *produces*:
//!
//! - on the **consumer** side ([`Mode::Consumer`]), a stub or mock server applies the generators
//!   of the **responses** it serves ([`apply_to_response`]) and of the **message contents** it
//!   hands to consumer tests ([`apply_to_message`]);
//! - on the **provider** side ([`Mode::Provider`]), a verifier applies the generators of the
//!   **requests** it sends to the provider ([`apply_to_request`]).
//!
//! The `apply_to_*` functions apply the generators of the part they are given; the caller picks
//! the part. Two generators depend on the side: `ProviderState` generators only run on the
//! provider side, with the values returned by the provider-state setup call
//! ([`Context::provider_state`]); `MockServerURL` generators only run on the consumer side, when
//! a mock server URL is known ([`Context::mock_server_url`]). Elsewhere they keep the example.

use std::fmt::Write as _;
use std::sync::OnceLock;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Days, Local, Months, TimeDelta, Timelike};
use rand::RngExt as _;
use rand::distr::Alphanumeric;
use serde_json::{Map, Number, Value};

use crate::matchers::java_to_chrono;
use crate::model::{Body, Headers, MessageContents, Query, Request, Response};
use crate::path::{PathExpr, display, weight};

/// The largest `digits` / `size` a generator may ask for.
const MAX_SIZE: usize = 65_536;

/// How many extra repetitions `*`, `+` and `{n,}` may produce in `Regex` generators.
const MAX_REPEAT: u32 = 10;

/// Which side of the contract generates values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A stub or mock server standing in for the provider: responses and messages.
    Consumer,
    /// A verifier standing in for the consumer: requests.
    Provider,
}

/// What generators may depend on.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The side generating values.
    pub mode: Mode,
    /// Values returned by the provider-state setup call (for `ProviderState` generators).
    pub provider_state: &'a Map<String, Value>,
    /// The base URL of the running mock server (for `MockServerURL` generators).
    pub mock_server_url: Option<&'a str>,
}

impl<'a> Context<'a> {
    /// A consumer-side context (no provider-state values).
    pub fn consumer(mock_server_url: Option<&'a str>) -> Context<'a> {
        Context {
            mode: Mode::Consumer,
            provider_state: empty_map(),
            mock_server_url,
        }
    }

    /// A provider-side context with the values of the provider-state setup call.
    pub fn provider(provider_state: &'a Map<String, Value>) -> Context<'a> {
        Context {
            mode: Mode::Provider,
            provider_state,
            mock_server_url: None,
        }
    }
}

fn empty_map() -> &'static Map<String, Value> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

/// The formats of `Uuid` generators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UuidFormat {
    /// 32 lowercase hex digits.
    Simple,
    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lowercase.
    #[default]
    LowerCaseHyphenated,
    /// `XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`, uppercase.
    UpperCaseHyphenated,
    /// `urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    Urn,
}

impl UuidFormat {
    /// Reads `simple`, `lower-case-hyphenated`, `upper-case-hyphenated` or `URN`
    /// (case-insensitively).
    pub fn parse(text: &str) -> Result<UuidFormat, String> {
        match text.to_ascii_lowercase().as_str() {
            "simple" => Ok(UuidFormat::Simple),
            "lower-case-hyphenated" => Ok(UuidFormat::LowerCaseHyphenated),
            "upper-case-hyphenated" => Ok(UuidFormat::UpperCaseHyphenated),
            "urn" => Ok(UuidFormat::Urn),
            _ => Err(format!(
                "unknown uuid format `{text}` (simple, lower-case-hyphenated, \
                 upper-case-hyphenated or URN)"
            )),
        }
    }
}

/// The `dataType` of `ProviderState` generators: what the generated value is converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    String,
    Integer,
    Decimal,
    Float,
    Boolean,
    /// The value as the provider state gave it.
    Raw,
}

impl DataType {
    /// Reads `STRING`, `INTEGER`, `DECIMAL`, `FLOAT`, `BOOLEAN` or `RAW` (case-insensitively).
    pub fn parse(text: &str) -> Result<DataType, String> {
        match text.to_ascii_uppercase().as_str() {
            "STRING" => Ok(DataType::String),
            "INTEGER" => Ok(DataType::Integer),
            "DECIMAL" => Ok(DataType::Decimal),
            "FLOAT" => Ok(DataType::Float),
            "BOOLEAN" => Ok(DataType::Boolean),
            "RAW" => Ok(DataType::Raw),
            _ => Err(format!(
                "unknown `dataType` `{text}` (STRING, INTEGER, DECIMAL, FLOAT, BOOLEAN or RAW)"
            )),
        }
    }
}

/// One generator, as the Pact specification defines them.
#[derive(Debug, Clone, PartialEq)]
pub enum Generator {
    /// An integer in `[min, max]` (defaults 0 and 2147483647).
    RandomInt { min: i64, max: i64 },
    /// A decimal number with `digits` digits in all, at least one after the point (default 10).
    /// Numbers are JSON (`f64`) numbers: beyond 15 digits, the last ones are rounded.
    RandomDecimal { digits: usize },
    /// `digits` lowercase hexadecimal digits (default 10).
    RandomHexadecimal { digits: usize },
    /// `size` alphanumeric characters (default 20).
    RandomString { size: usize },
    /// A string matching the regular expression.
    Regex { regex: String },
    /// A random (v4) UUID.
    Uuid { format: UuidFormat },
    /// The current date (or the date of `expression`), in this Java-style format
    /// (default `yyyy-MM-dd`).
    Date {
        format: Option<String>,
        expression: Option<String>,
    },
    /// The current time, in this Java-style format (default `HH:mm:ss`).
    Time {
        format: Option<String>,
        expression: Option<String>,
    },
    /// The current date and time, in this Java-style format (default `yyyy-MM-dd'T'HH:mm:ss`).
    DateTime {
        format: Option<String>,
        expression: Option<String>,
    },
    /// `true` or `false`.
    RandomBoolean,
    /// The expression with each `${name}` replaced by the provider-state value `name`
    /// (provider side only).
    ProviderState {
        expression: String,
        data_type: Option<DataType>,
    },
    /// The URL with its base replaced by the mock server's (consumer side only): `regex`
    /// matches the URL; its first group (or the whole match) is the part kept.
    MockServerUrl { regex: String, example: String },
}

impl Generator {
    /// The generator's `type`, as pact files write it.
    pub fn kind(&self) -> &'static str {
        match self {
            Generator::RandomInt { .. } => "RandomInt",
            Generator::RandomDecimal { .. } => "RandomDecimal",
            Generator::RandomHexadecimal { .. } => "RandomHexadecimal",
            Generator::RandomString { .. } => "RandomString",
            Generator::Regex { .. } => "Regex",
            Generator::Uuid { .. } => "Uuid",
            Generator::Date { .. } => "Date",
            Generator::Time { .. } => "Time",
            Generator::DateTime { .. } => "DateTime",
            Generator::RandomBoolean => "RandomBoolean",
            Generator::ProviderState { .. } => "ProviderState",
            Generator::MockServerUrl { .. } => "MockServerURL",
        }
    }

    /// Whether the generator runs on this side: `ProviderState` only on the provider side,
    /// `MockServerURL` only on the consumer side, the others on both.
    pub fn applies_in(&self, mode: Mode) -> bool {
        match self {
            Generator::ProviderState { .. } => mode == Mode::Provider,
            Generator::MockServerUrl { .. } => mode == Mode::Consumer,
            _ => true,
        }
    }

    /// Reads one generator object (`{"type": "RandomInt", "min": 1}`), checking its fields
    /// (regular expressions compile, date formats and expressions are supported).
    ///
    /// # Errors
    /// Unknown types, missing or malformed fields.
    pub fn parse(value: &Value) -> Result<Generator, String> {
        let obj = value
            .as_object()
            .ok_or_else(|| format!("a generator must be an object, not {value}"))?;
        let kind = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("generator {value} has no `type`"))?;
        let g = match kind {
            "RandomInt" => {
                let min = int_field(obj, "min")?.unwrap_or(0);
                let max = int_field(obj, "max")?.unwrap_or_else(|| i64::from(i32::MAX));
                if min > max {
                    return Err(format!("`min` ({min}) is greater than `max` ({max})"));
                }
                Generator::RandomInt { min, max }
            }
            "RandomDecimal" => {
                let digits = size_field(obj, "digits", 10)?;
                if digits == 0 {
                    return Err("`digits` must be at least 1".into());
                }
                Generator::RandomDecimal { digits }
            }
            "RandomHexadecimal" => Generator::RandomHexadecimal {
                digits: size_field(obj, "digits", 10)?,
            },
            "RandomString" => Generator::RandomString {
                size: size_field(obj, "size", 20)?,
            },
            "Regex" => {
                let regex = str_field(obj, "regex").ok_or("missing string `regex`")?;
                compile_regex(&regex)?;
                Generator::Regex { regex }
            }
            "Uuid" => Generator::Uuid {
                format: str_field(obj, "format")
                    .map(|f| UuidFormat::parse(&f))
                    .transpose()?
                    .unwrap_or_default(),
            },
            "Date" | "Time" | "DateTime" => {
                let format = str_field(obj, "format");
                let expression = str_field(obj, "expression");
                let g = match kind {
                    "Date" => Generator::Date { format, expression },
                    "Time" => Generator::Time { format, expression },
                    _ => Generator::DateTime { format, expression },
                };
                // Checks the format and the expression.
                generate_date_time(&g)?;
                g
            }
            "RandomBoolean" => Generator::RandomBoolean,
            "ProviderState" => Generator::ProviderState {
                expression: str_field(obj, "expression").ok_or("missing string `expression`")?,
                data_type: str_field(obj, "dataType")
                    .map(|t| DataType::parse(&t))
                    .transpose()?,
            },
            "MockServerURL" => {
                let regex = str_field(obj, "regex").ok_or("missing string `regex`")?;
                regex::Regex::new(&crate::matchers::compatible_regex(&regex))
                    .map_err(|e| format!("invalid regex `{regex}`: {}", one_line(&e)))?;
                Generator::MockServerUrl {
                    regex,
                    example: str_field(obj, "example").ok_or("missing string `example`")?,
                }
            }
            other => return Err(format!("unknown generator type `{other}`")),
        };
        Ok(g)
    }
}

fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// An integer field, written as a number or a string.
fn int_field(obj: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be an integer, not {v}")),
    }
}

/// A length field (`digits`, `size`), at most [`MAX_SIZE`].
fn size_field(obj: &Map<String, Value>, key: &str, default: usize) -> Result<usize, String> {
    let n = match obj.get(key) {
        None | Some(Value::Null) => return Ok(default),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| format!("`{key}` must be a non-negative integer, not {v}"))?,
    };
    if n > MAX_SIZE {
        return Err(format!("`{key}` must be at most {MAX_SIZE}, not {n}"));
    }
    Ok(n)
}

/// An error message on one line (regex errors span several).
fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The generators of a request, response or message, by category.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generators {
    /// Body (or message contents) generators, by JSONPath expression.
    pub body: Vec<(PathExpr, Generator)>,
    /// Header generators, by header name (compared case-insensitively).
    pub header: Vec<(String, Generator)>,
    /// Query parameter generators, by parameter name.
    pub query: Vec<(String, Generator)>,
    /// Message metadata generators, by key.
    pub metadata: Vec<(String, Generator)>,
    /// The request path generator.
    pub path: Option<Generator>,
    /// The response status generator.
    pub status: Option<Generator>,
}

impl Generators {
    /// Reads a `generators` object (v3/v4, keyed by category). Categories other than `body`
    /// (`content`), `header`, `query`, `path`, `status` and `metadata` are ignored.
    ///
    /// # Errors
    /// A message naming the bad generator and where it is.
    pub fn parse(v: &Value) -> Result<Generators, String> {
        let map = v.as_object().ok_or("`generators` must be an object")?;
        let mut out = Generators::default();
        for (category, entries) in map {
            match category.as_str() {
                "path" => out.path = Some(parse_single(entries, "the path")?),
                "status" => out.status = Some(parse_single(entries, "the status")?),
                "body" | "content" | "contents" => {
                    for (key, g) in category_entries(entries, category)? {
                        let expr = PathExpr::parse(key)?;
                        let g = parse_located(g, &format!("`{expr}`"))?;
                        out.body.push((expr, g));
                    }
                }
                "header" | "headers" => {
                    out.header = parse_named(entries, category, "header")?;
                }
                "query" => out.query = parse_named(entries, category, "query parameter")?,
                "metadata" | "metaData" => {
                    out.metadata = parse_named(entries, category, "metadata")?;
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Whether there is no generator at all.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
            && self.header.is_empty()
            && self.query.is_empty()
            && self.metadata.is_empty()
            && self.path.is_none()
            && self.status.is_none()
    }

    /// Applies the path, header, query and body generators to a request.
    ///
    /// # Errors
    /// The first generator that fails, with where it is.
    pub fn apply_to_request(&self, req: &mut Request, ctx: &Context) -> Result<(), String> {
        if let Some(g) = &self.path {
            let v = generate_at(g, &Value::String(req.path.clone()), ctx, "the path")?;
            req.path = value_text(&v);
        }
        apply_to_headers(&mut req.headers, &self.header, ctx)?;
        if let Some(Query::Params(params)) = &mut req.query {
            for (name, g) in &self.query {
                let loc = format!("query parameter `{name}`");
                for (_, values) in params.iter_mut().filter(|(n, _)| n == name) {
                    for value in values.iter_mut() {
                        *value =
                            value_text(&generate_at(g, &Value::String(value.clone()), ctx, &loc)?);
                    }
                }
            }
        }
        apply_to_body(&mut req.body, &self.body, ctx)
    }

    /// Applies the status, header and body generators to a response.
    ///
    /// # Errors
    /// The first generator that fails, or a status that is not an HTTP status code.
    pub fn apply_to_response(&self, resp: &mut Response, ctx: &Context) -> Result<(), String> {
        if let Some(g) = &self.status {
            let current = resp.status.map_or(Value::Null, Value::from);
            let v = generate_at(g, &current, ctx, "the status")?;
            let status = v
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| {
                    format!(
                        "generator `{}` at the status: generated {v}, not an HTTP status code",
                        g.kind()
                    )
                })?;
            resp.status = Some(status);
        }
        apply_to_headers(&mut resp.headers, &self.header, ctx)?;
        apply_to_body(&mut resp.body, &self.body, ctx)
    }

    /// Applies the metadata and contents generators to a message.
    ///
    /// # Errors
    /// The first generator that fails, with where it is.
    pub fn apply_to_message(&self, msg: &mut MessageContents, ctx: &Context) -> Result<(), String> {
        for (name, g) in &self.metadata {
            if let Some(value) = msg.metadata.get_mut(name) {
                *value = generate_at(g, value, ctx, &format!("metadata `{name}`"))?;
            }
        }
        apply_to_body(&mut msg.body, &self.body, ctx)
    }
}

/// The `name -> generator` entries of a category.
fn category_entries<'v>(
    entries: &'v Value,
    category: &str,
) -> Result<&'v Map<String, Value>, String> {
    entries
        .as_object()
        .ok_or_else(|| format!("generators for `{category}` must be an object"))
}

/// Reads a category keyed by names (`header`, `query`, `metadata`); `$.name` keys are accepted.
fn parse_named(
    entries: &Value,
    category: &str,
    what: &str,
) -> Result<Vec<(String, Generator)>, String> {
    let mut out = Vec::new();
    for (key, g) in category_entries(entries, category)? {
        let name = if key.starts_with('$') {
            PathExpr::parse(key)?
                .as_name()
                .map(str::to_owned)
                .ok_or_else(|| format!("{what} generator key `{key}` is not a name"))?
        } else {
            key.clone()
        };
        let g = parse_located(g, &format!("{what} `{name}`"))?;
        out.push((name, g));
    }
    Ok(out)
}

/// Reads the one generator of `path` or `status` (`{"type": ...}`, or `{"$": {"type": ...}}`).
fn parse_single(entries: &Value, loc: &str) -> Result<Generator, String> {
    if let Value::Object(map) = entries
        && !map.contains_key("type")
        && map.len() == 1
        && let Some(inner @ Value::Object(_)) = map.values().next()
    {
        return parse_located(inner, loc);
    }
    parse_located(entries, loc)
}

/// [`Generator::parse`], errors saying which generator and where.
fn parse_located(v: &Value, loc: &str) -> Result<Generator, String> {
    Generator::parse(v).map_err(|e| match v.get("type").and_then(Value::as_str) {
        Some(kind) => format!("generator `{kind}` at {loc}: {e}"),
        None => format!("generator at {loc}: {e}"),
    })
}

/// [`generate`], errors saying which generator and where.
fn generate_at(g: &Generator, current: &Value, ctx: &Context, loc: &str) -> Result<Value, String> {
    generate(g, current, ctx).map_err(|e| format!("generator `{}` at {loc}: {e}", g.kind()))
}

/// A value as text (strings without quotes).
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Generates a value in place of `current` (the example). A generator that does not run on
/// `ctx.mode`'s side (see [`Generator::applies_in`]) returns `current` unchanged, and so does
/// `MockServerURL` when no mock server URL is known.
///
/// # Errors
/// Invalid regular expressions, date formats or expressions, missing provider-state values,
/// values that `dataType` cannot convert.
pub fn generate(g: &Generator, current: &Value, ctx: &Context) -> Result<Value, String> {
    if !g.applies_in(ctx.mode) {
        return Ok(current.clone());
    }
    let mut rng = rand::rng();
    match g {
        Generator::RandomInt { min, max } => {
            if min > max {
                return Err(format!("`min` ({min}) is greater than `max` ({max})"));
            }
            Ok(Value::from(rng.random_range(*min..=*max)))
        }
        Generator::RandomDecimal { digits } => random_decimal(*digits),
        Generator::RandomHexadecimal { digits } => {
            check_size("digits", *digits)?;
            const HEX: &[u8; 16] = b"0123456789abcdef";
            Ok(Value::String(
                (0..*digits)
                    .map(|_| char::from(HEX[rng.random_range(0..HEX.len())]))
                    .collect(),
            ))
        }
        Generator::RandomString { size } => {
            check_size("size", *size)?;
            Ok(Value::String(
                rng.sample_iter(Alphanumeric)
                    .take(*size)
                    .map(char::from)
                    .collect(),
            ))
        }
        Generator::Regex { regex } => {
            let re = compile_regex(regex)?;
            let s: Result<String, _> = rng.sample(&re);
            s.map(Value::String)
                .map_err(|_| format!("regex `{regex}` generated text that is not UTF-8"))
        }
        Generator::Uuid { format } => {
            let u = uuid::Uuid::new_v4();
            Ok(Value::String(match format {
                UuidFormat::Simple => u.simple().to_string(),
                UuidFormat::LowerCaseHyphenated => u.hyphenated().to_string(),
                UuidFormat::UpperCaseHyphenated => u.hyphenated().to_string().to_uppercase(),
                UuidFormat::Urn => u.urn().to_string(),
            }))
        }
        Generator::Date { .. } | Generator::Time { .. } | Generator::DateTime { .. } => {
            generate_date_time(g).map(Value::String)
        }
        Generator::RandomBoolean => Ok(Value::Bool(rng.random_bool(0.5))),
        Generator::ProviderState {
            expression,
            data_type,
        } => {
            let v = substitute(expression, ctx.provider_state)?;
            match data_type {
                Some(t) => convert(v, *t),
                None => Ok(v),
            }
        }
        Generator::MockServerUrl { regex, example } => {
            mock_server_url(regex, example, current, ctx.mock_server_url)
        }
    }
}

fn check_size(key: &str, n: usize) -> Result<(), String> {
    if n > MAX_SIZE {
        return Err(format!("`{key}` must be at most {MAX_SIZE}, not {n}"));
    }
    Ok(())
}

/// A decimal number with `digits` digits, at least one on each side of the point (`0.d` for
/// one digit). The last digit is not 0 and, when the integer part is 0, neither is the first
/// fractional digit, so that the number prints with exactly these digits.
fn random_decimal(digits: usize) -> Result<Value, String> {
    check_size("digits", digits)?;
    let mut rng = rand::rng();
    let mut digit = |from: u8| char::from(b'0' + rng.random_range(from..=9));
    let text = if digits <= 1 {
        format!("0.{}", digit(1))
    } else {
        let int_len = rand::rng().random_range(1..digits);
        let frac_len = digits - int_len;
        let mut text = String::with_capacity(digits + 1);
        text.push(digit(u8::from(int_len > 1)));
        for _ in 1..int_len {
            text.push(digit(0));
        }
        text.push('.');
        let int_is_zero = text.starts_with("0.");
        for i in 0..frac_len {
            let nonzero = i + 1 == frac_len || (i == 0 && int_is_zero);
            text.push(digit(u8::from(nonzero)));
        }
        text
    };
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| format!("cannot make a number of `{text}`"))
}

/// Removes a leading `^` and an unescaped trailing `$`: generated strings are whole values.
fn strip_anchors(pattern: &str) -> &str {
    let p = pattern.strip_prefix('^').unwrap_or(pattern);
    if let Some(rest) = p.strip_suffix('$') {
        let backslashes = rest.chars().rev().take_while(|c| *c == '\\').count();
        if backslashes % 2 == 0 {
            return rest;
        }
    }
    p
}

/// Compiles a `Regex` generator's pattern. The pattern is first checked by the `regex` crate
/// (whose size limit bounds what can be generated); ASCII classes are preferred (`\d` gives
/// `0-9`), falling back to Unicode for patterns that need it (`.`, `[^x]`, `\p{L}`).
fn compile_regex(pattern: &str) -> Result<rand_regex::Regex, String> {
    let compatible = crate::matchers::compatible_regex(pattern);
    let stripped = strip_anchors(&compatible);
    let bad = |e: &dyn std::fmt::Display| format!("invalid regex `{pattern}`: {}", one_line(e));
    regex::Regex::new(stripped).map_err(|e| bad(&e))?;
    rand_regex::Regex::compile(&format!("(?-u){stripped}"), MAX_REPEAT)
        .or_else(|_| rand_regex::Regex::compile(stripped, MAX_REPEAT))
        .map_err(|e| bad(&e))
}

/// The value of a `Date`, `Time` or `DateTime` generator, now.
fn generate_date_time(g: &Generator) -> Result<String, String> {
    let (format, expression, default) = match g {
        Generator::Date { format, expression } => (format, expression, "yyyy-MM-dd"),
        Generator::Time { format, expression } => (format, expression, "HH:mm:ss"),
        Generator::DateTime { format, expression } => (format, expression, "yyyy-MM-dd'T'HH:mm:ss"),
        _ => return Err(format!("`{}` is not a date/time generator", g.kind())),
    };
    let now = Local::now();
    let at = match expression.as_deref().map(str::trim) {
        None | Some("") => now,
        Some(expr) => eval_expression(expr, now)?,
    };
    format_date_time(&at, format.as_deref().unwrap_or(default))
}

/// Formats with a Java-style pattern.
fn format_date_time(at: &DateTime<Local>, java: &str) -> Result<String, String> {
    let pattern = java_to_chrono(java);
    let unsupported = || format!("unsupported date/time format `{java}`");
    if StrftimeItems::new(&pattern).any(|i| matches!(i, Item::Error)) {
        return Err(unsupported());
    }
    let mut out = String::new();
    write!(out, "{}", at.format(&pattern)).map_err(|_| unsupported())?;
    Ok(out)
}

/// A token of a date/time expression.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Plus,
    Minus,
    At,
    Num(u32),
    Word(String),
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Plus => f.write_str("+"),
            Tok::Minus => f.write_str("-"),
            Tok::At => f.write_str("@"),
            Tok::Num(n) => write!(f, "{n}"),
            Tok::Word(w) => f.write_str(w),
        }
    }
}

fn tokenize(expr: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '+' || c == '-' || c == '@' {
            out.push(match c {
                '+' => Tok::Plus,
                '-' => Tok::Minus,
                _ => Tok::At,
            });
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            let n = digits
                .parse()
                .map_err(|_| format!("number `{digits}` is too large"))?;
            out.push(Tok::Num(n));
        } else if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '\'') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(Tok::Word(word.to_lowercase()));
        } else {
            return Err(format!("unexpected character `{c}`"));
        }
    }
    Ok(out)
}

/// Evaluates a Pact date/time expression from `now`: parts separated by `@`, each an optional
/// base (`now`, `today`, `yesterday`, `tomorrow`, `midnight`, `noon`, `N o'clock [am|pm]`)
/// followed by offsets (`+ 1 day`, `- 2 hours`; units from milliseconds to years).
/// Examples: `tomorrow`, `today + 2 weeks`, `now - 3 hours`, `yesterday @ noon + 30 minutes`.
fn eval_expression(expr: &str, now: DateTime<Local>) -> Result<DateTime<Local>, String> {
    let bad = |why: &str| format!("unsupported date/time expression `{expr}`: {why}");
    let toks = tokenize(expr).map_err(|e| bad(&e))?;
    let out_of_range = || bad("out of range");
    let mut at = now;
    let mut i = 0;
    loop {
        // The base.
        match (toks.get(i), toks.get(i + 1)) {
            (Some(Tok::Num(n)), Some(Tok::Word(w))) if w == "o'clock" => {
                i += 2;
                let mut hour = *n;
                if let Some(Tok::Word(ampm)) = toks.get(i)
                    && (ampm == "am" || ampm == "pm")
                {
                    if !(1..=12).contains(&hour) {
                        return Err(bad(&format!("{hour} o'clock {ampm}")));
                    }
                    hour = hour % 12 + if ampm == "pm" { 12 } else { 0 };
                    i += 1;
                }
                if hour > 23 {
                    return Err(bad(&format!("{hour} o'clock")));
                }
                at = set_time(at, hour, 0).ok_or_else(out_of_range)?;
            }
            (Some(Tok::Word(w)), _) => {
                at = match w.as_str() {
                    "now" | "today" => at,
                    "tomorrow" => at.checked_add_days(Days::new(1)).ok_or_else(out_of_range)?,
                    "yesterday" => at.checked_sub_days(Days::new(1)).ok_or_else(out_of_range)?,
                    "midnight" => set_time(at, 0, 0).ok_or_else(out_of_range)?,
                    "noon" => set_time(at, 12, 0).ok_or_else(out_of_range)?,
                    other => return Err(bad(&format!("unknown word `{other}`"))),
                };
                i += 1;
            }
            _ => {}
        }
        // The offsets.
        while let Some(sign @ (Tok::Plus | Tok::Minus)) = toks.get(i) {
            let (Some(Tok::Num(n)), Some(Tok::Word(unit))) = (toks.get(i + 1), toks.get(i + 2))
            else {
                return Err(bad("expected a number and a unit after `+` or `-`"));
            };
            at = offset(at, *sign == Tok::Minus, *n, unit)
                .map_err(|e| bad(&e))?
                .ok_or_else(out_of_range)?;
            i += 3;
        }
        match toks.get(i) {
            None => return Ok(at),
            Some(Tok::At) => i += 1,
            Some(t) => return Err(bad(&format!("unexpected `{t}`"))),
        }
    }
}

/// The same day at `hour:minute:00`.
fn set_time(at: DateTime<Local>, hour: u32, minute: u32) -> Option<DateTime<Local>> {
    at.with_nanosecond(0)?
        .with_second(0)?
        .with_minute(minute)?
        .with_hour(hour)
}

/// `at` plus or minus `n` units; `Ok(None)` when out of range.
fn offset(
    at: DateTime<Local>,
    minus: bool,
    n: u32,
    unit: &str,
) -> Result<Option<DateTime<Local>>, String> {
    let n64 = i64::from(n);
    let delta = |d: Option<TimeDelta>| {
        d.and_then(|d| {
            if minus {
                at.checked_sub_signed(d)
            } else {
                at.checked_add_signed(d)
            }
        })
    };
    let days = |d: Option<u64>| {
        d.and_then(|d| {
            if minus {
                at.checked_sub_days(Days::new(d))
            } else {
                at.checked_add_days(Days::new(d))
            }
        })
    };
    let months = |m: Option<u32>| {
        m.and_then(|m| {
            if minus {
                at.checked_sub_months(Months::new(m))
            } else {
                at.checked_add_months(Months::new(m))
            }
        })
    };
    Ok(match unit.trim_end_matches('s') {
        "millisecond" | "milli" => delta(TimeDelta::try_milliseconds(n64)),
        "second" | "sec" => delta(TimeDelta::try_seconds(n64)),
        "minute" | "min" => delta(TimeDelta::try_minutes(n64)),
        "hour" => delta(TimeDelta::try_hours(n64)),
        "day" => days(Some(u64::from(n))),
        "week" => days(u64::from(n).checked_mul(7)),
        "fortnight" => days(u64::from(n).checked_mul(14)),
        "month" => months(Some(n)),
        "year" => months(n.checked_mul(12)),
        _ => return Err(format!("unknown unit `{unit}`")),
    })
}

/// Replaces each `${name}` of the expression with the provider-state value `name`. An
/// expression that is one `${name}` keeps the value's JSON type.
fn substitute(expression: &str, params: &Map<String, Value>) -> Result<Value, String> {
    if let Some(name) = expression
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        && !name.contains('}')
    {
        return lookup(name.trim(), params).cloned();
    }
    let mut out = String::new();
    let mut rest = expression;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            // An unterminated `${` is literal text.
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        out.push_str(&value_text(lookup(after[..end].trim(), params)?));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// A provider-state value: the key `name`, or else a dotted path into nested objects.
fn lookup<'p>(name: &str, params: &'p Map<String, Value>) -> Result<&'p Value, String> {
    let missing = || format!("provider state parameter `{name}` is missing");
    if let Some(v) = params.get(name) {
        return Ok(v);
    }
    let mut parts = name.split('.');
    let first = parts
        .next()
        .and_then(|p| params.get(p))
        .ok_or_else(missing)?;
    parts
        .try_fold(first, |v, part| v.get(part))
        .ok_or_else(missing)
}

/// Converts a provider-state value to its `dataType`.
fn convert(v: Value, to: DataType) -> Result<Value, String> {
    let cannot = |v: &Value| format!("cannot convert {v} to {to:?}");
    match to {
        DataType::Raw => Ok(v),
        DataType::String => Ok(Value::String(value_text(&v))),
        DataType::Integer => {
            let n = match &v {
                Value::Number(n) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e18)
                        .map(|f| f as i64)
                }),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            n.map(Value::from).ok_or_else(|| cannot(&v))
        }
        DataType::Decimal | DataType::Float => {
            let f = match &v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            f.and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| cannot(&v))
        }
        DataType::Boolean => match &v {
            Value::Bool(_) => Ok(v),
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(cannot(&v)),
        },
    }
}

/// Replaces the base of the URL (the current value when it is a string, else the example) with
/// the mock server's: the result is the mock server URL, then the part `regex` keeps (its first
/// group, or the whole match), then whatever follows the match. Unchanged without a mock server
/// URL, or when the regex does not match.
fn mock_server_url(
    regex: &str,
    example: &str,
    current: &Value,
    base: Option<&str>,
) -> Result<Value, String> {
    let Some(base) = base else {
        return Ok(current.clone());
    };
    let re = regex::Regex::new(&crate::matchers::compatible_regex(regex))
        .map_err(|e| format!("invalid regex `{regex}`: {}", one_line(&e)))?;
    let text = current.as_str().unwrap_or(example);
    let Some(caps) = re.captures(text) else {
        return Ok(current.clone());
    };
    let (Some(whole), kept) = (caps.get(0), caps.get(1)) else {
        return Ok(current.clone());
    };
    let kept = kept.map_or(whole.as_str(), |m| m.as_str());
    let base = base.trim_end_matches('/');
    let sep = if kept.is_empty() || kept.starts_with(['/', '?', '#']) {
        ""
    } else {
        "/"
    };
    Ok(Value::String(format!(
        "{base}{sep}{kept}{}",
        &text[whole.end()..]
    )))
}

fn apply_to_headers(
    headers: &mut Option<Headers>,
    generators: &[(String, Generator)],
    ctx: &Context,
) -> Result<(), String> {
    let Some(headers) = headers else {
        return Ok(());
    };
    for (name, g) in generators {
        let loc = format!("header `{name}`");
        for (_, values) in headers
            .iter_mut()
            .filter(|(h, _)| h.eq_ignore_ascii_case(name))
        {
            for value in values.iter_mut() {
                *value = value_text(&generate_at(g, &Value::String(value.clone()), ctx, &loc)?);
            }
        }
    }
    Ok(())
}

/// Applies body generators to a JSON body: a JSON value, or text or bytes that parse as JSON
/// (written back only when a generator replaced something). Other bodies are left alone.
fn apply_to_body(
    body: &mut Body,
    generators: &[(PathExpr, Generator)],
    ctx: &Context,
) -> Result<(), String> {
    if generators.is_empty() {
        return Ok(());
    }
    match body {
        Body::Value(Value::String(text)) => {
            if let Ok(mut v) = serde_json::from_str::<Value>(text)
                && apply_to_json(&mut v, generators, ctx)? > 0
            {
                *text = v.to_string();
            }
        }
        Body::Value(v) => {
            apply_to_json(v, generators, ctx)?;
        }
        Body::Bytes(bytes) => {
            if let Ok(mut v) = serde_json::from_slice::<Value>(bytes)
                && apply_to_json(&mut v, generators, ctx)? > 0
            {
                *bytes = v.to_string().into_bytes();
            }
        }
        Body::Missing | Body::Null => {}
    }
    Ok(())
}

/// Applies generators to a JSON value: each replaces every value at a concrete path its
/// expression matches exactly (same length; `*` and `[*]` match any field or index), in order.
/// Returns how many values were replaced; an expression that matches nothing is not an error.
///
/// # Errors
/// The first generator that fails, with the concrete path.
pub fn apply_to_json(
    body: &mut Value,
    generators: &[(PathExpr, Generator)],
    ctx: &Context,
) -> Result<usize, String> {
    let mut count = 0;
    for (expr, g) in generators {
        let mut path = vec!["$".to_owned()];
        walk(body, &mut path, expr, g, ctx, &mut count)?;
    }
    Ok(count)
}

fn walk(
    value: &mut Value,
    path: &mut Vec<String>,
    expr: &PathExpr,
    g: &Generator,
    ctx: &Context,
    count: &mut usize,
) -> Result<(), String> {
    if path.len() >= expr.len() {
        if weight(expr, path) > 0 {
            let new = generate_at(g, value, ctx, &format!("`{}`", display(path)))?;
            *value = new;
            *count += 1;
        }
        return Ok(());
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                path.push(key.clone());
                let r = walk(child, path, expr, g, ctx, count);
                path.pop();
                r?;
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                let r = walk(child, path, expr, g, ctx, count);
                path.pop();
                r?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Parses `req.generators` and applies them to the request (the provider side's part).
///
/// # Errors
/// Malformed generators, or the first generator that fails.
pub fn apply_to_request(req: &mut Request, ctx: &Context) -> Result<(), String> {
    let Some(v) = &req.generators else {
        return Ok(());
    };
    let generators = Generators::parse(v)?;
    generators.apply_to_request(req, ctx)
}

/// Parses `resp.generators` and applies them to the response (the consumer side's part).
///
/// # Errors
/// Malformed generators, the first generator that fails, or a status that is not one.
pub fn apply_to_response(resp: &mut Response, ctx: &Context) -> Result<(), String> {
    let Some(v) = &resp.generators else {
        return Ok(());
    };
    let generators = Generators::parse(v)?;
    generators.apply_to_response(resp, ctx)
}

/// Parses `msg.generators` and applies them to the message (the consumer side's part).
///
/// # Errors
/// Malformed generators, or the first generator that fails.
pub fn apply_to_message(msg: &mut MessageContents, ctx: &Context) -> Result<(), String> {
    let Some(v) = &msg.generators else {
        return Ok(());
    };
    let generators = Generators::parse(v)?;
    generators.apply_to_message(msg, ctx)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
    use serde_json::json;

    use super::*;
    use crate::model::SpecVersion;

    fn gen_of(v: Value) -> Generator {
        Generator::parse(&v).expect("generator")
    }

    fn consumer() -> Context<'static> {
        Context::consumer(None)
    }

    fn gen_value(v: Value) -> Value {
        generate(&gen_of(v), &Value::Null, &consumer()).expect("generate")
    }

    fn whole(pattern: &str) -> regex::Regex {
        regex::Regex::new(&format!("^(?:{pattern})$")).expect("test regex")
    }

    #[test]
    fn parses_every_type_with_defaults() {
        assert_eq!(
            gen_of(json!({"type": "RandomInt"})),
            Generator::RandomInt {
                min: 0,
                max: 2_147_483_647
            }
        );
        assert_eq!(
            gen_of(json!({"type": "RandomInt", "min": "3", "max": 7})),
            Generator::RandomInt { min: 3, max: 7 }
        );
        assert_eq!(
            gen_of(json!({"type": "RandomDecimal"})),
            Generator::RandomDecimal { digits: 10 }
        );
        assert_eq!(
            gen_of(json!({"type": "RandomHexadecimal"})),
            Generator::RandomHexadecimal { digits: 10 }
        );
        assert_eq!(
            gen_of(json!({"type": "RandomString"})),
            Generator::RandomString { size: 20 }
        );
        assert_eq!(
            gen_of(json!({"type": "Uuid"})),
            Generator::Uuid {
                format: UuidFormat::LowerCaseHyphenated
            }
        );
        assert_eq!(
            gen_of(json!({"type": "Uuid", "format": "URN"})),
            Generator::Uuid {
                format: UuidFormat::Urn
            }
        );
        assert_eq!(
            gen_of(json!({"type": "RandomBoolean"})),
            Generator::RandomBoolean
        );
        assert_eq!(
            gen_of(json!({"type": "ProviderState", "expression": "${id}", "dataType": "INTEGER"})),
            Generator::ProviderState {
                expression: "${id}".into(),
                data_type: Some(DataType::Integer)
            }
        );
        assert_eq!(
            gen_of(json!({"type": "MockServerURL", "regex": ".*(/a)$", "example": "http://x/a"}))
                .kind(),
            "MockServerURL"
        );
        assert_eq!(gen_of(json!({"type": "Date"})).kind(), "Date");
        assert_eq!(gen_of(json!({"type": "Time"})).kind(), "Time");
        assert_eq!(gen_of(json!({"type": "DateTime"})).kind(), "DateTime");
        assert_eq!(
            gen_of(json!({"type": "Regex", "regex": "\\d+"})).kind(),
            "Regex"
        );
    }

    #[test]
    fn malformed_generators_are_errors() {
        let err = |v: Value| Generator::parse(&v).expect_err("should fail");
        assert!(err(json!({"type": "RandomInt", "min": 5, "max": 1})).contains("greater"));
        assert!(err(json!({"type": "RandomInt", "min": "x"})).contains("`min`"));
        assert!(err(json!({"type": "RandomString", "size": -1})).contains("`size`"));
        assert!(err(json!({"type": "RandomString", "size": 10_000_000})).contains("at most"));
        assert!(err(json!({"type": "RandomDecimal", "digits": 0})).contains("at least 1"));
        assert!(err(json!({"type": "Uuid", "format": "weird"})).contains("`weird`"));
        assert!(err(json!({"type": "Regex"})).contains("`regex`"));
        assert!(err(json!({"type": "ProviderState"})).contains("`expression`"));
        assert!(
            err(json!({"type": "ProviderState", "expression": "x", "dataType": "LIST"}))
                .contains("`LIST`")
        );
        assert!(err(json!({"min": 1})).contains("no `type`"));
        assert!(err(json!("RandomInt")).contains("must be an object"));
        assert!(err(json!({"type": "Date", "expression": "next blue moon"})).contains("blue"));
    }

    #[test]
    fn unknown_type_is_an_error_naming_it() {
        let e = Generator::parse(&json!({"type": "Lottery"})).expect_err("unknown");
        assert_eq!(e, "unknown generator type `Lottery`");
        let e = Generators::parse(&json!({"body": {"$.n": {"type": "Lottery"}}})).expect_err("e");
        assert_eq!(
            e,
            "generator `Lottery` at `$.n`: unknown generator type `Lottery`"
        );
    }

    #[test]
    fn invalid_regex_is_an_error() {
        let e = Generators::parse(&json!({"body": {"$.id": {"type": "Regex", "regex": "("}}}))
            .expect_err("invalid");
        assert!(
            e.starts_with("generator `Regex` at `$.id`: invalid regex `(`: "),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        // Built by hand, the error comes when generating.
        let g = Generator::Regex {
            regex: "[a-".into(),
        };
        let e = generate(&g, &Value::Null, &consumer()).expect_err("invalid");
        assert!(e.starts_with("invalid regex `[a-`"), "{e}");
        // Word boundaries cannot be generated.
        assert!(
            Generator::parse(&json!({"type": "Regex", "regex": "\\bx"}))
                .expect_err("anchor")
                .contains("anchor")
        );
    }

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        for pattern in [
            "(?:(?:(?:(?:(?:(?:(?:a{1000}){1000}){1000}){1000}){1000}){1000}){1000})",
            "\\d{4294967295}",
            "a{2000000}",
        ] {
            assert!(
                Generator::parse(&json!({"type": "Regex", "regex": pattern})).is_err(),
                "{pattern}"
            );
        }
        let g = gen_of(json!({"type": "RandomInt", "min": i64::MIN, "max": i64::MAX}));
        assert!(
            generate(&g, &Value::Null, &consumer())
                .expect("full range")
                .is_i64()
        );
        let g = gen_of(json!({"type": "RandomInt", "min": -1, "max": -1}));
        assert_eq!(
            generate(&g, &Value::Null, &consumer()).expect("one"),
            json!(-1)
        );
    }

    #[test]
    fn random_int_within_bounds() {
        for _ in 0..200 {
            let v = gen_value(json!({"type": "RandomInt", "min": -5, "max": 5}));
            let n = v.as_i64().expect("int");
            assert!((-5..=5).contains(&n), "{n}");
        }
        let v = gen_value(json!({"type": "RandomInt", "min": 7, "max": 7}));
        assert_eq!(v, json!(7));
        let v = gen_value(json!({"type": "RandomInt"}));
        assert!((0..=2_147_483_647).contains(&v.as_i64().expect("int")));
        let g = Generator::RandomInt { min: 2, max: 1 };
        assert!(generate(&g, &Value::Null, &consumer()).is_err());
    }

    #[test]
    fn random_decimal_has_the_digits() {
        for digits in 1..=15 {
            for _ in 0..30 {
                let v = gen_value(json!({"type": "RandomDecimal", "digits": digits}));
                assert!(v.is_f64(), "{v}");
                let text = v.to_string();
                let (int, frac) = text.split_once('.').expect("a point");
                assert!(!frac.is_empty() && !int.is_empty(), "{text}");
                let count = text.chars().filter(char::is_ascii_digit).count();
                let expected = if digits == 1 { 2 } else { digits };
                assert_eq!(count, expected, "{text} for {digits} digits");
            }
        }
        let v = gen_value(json!({"type": "RandomDecimal"}));
        assert_eq!(
            v.to_string().chars().filter(char::is_ascii_digit).count(),
            10
        );
    }

    #[test]
    fn random_hexadecimal_and_string() {
        let v = gen_value(json!({"type": "RandomHexadecimal", "digits": 16}));
        let s = v.as_str().expect("string");
        assert_eq!(s.len(), 16);
        assert!(s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')), "{s}");
        let v = gen_value(json!({"type": "RandomHexadecimal"}));
        assert_eq!(v.as_str().expect("string").len(), 10);

        let v = gen_value(json!({"type": "RandomString", "size": 33}));
        let s = v.as_str().expect("string");
        assert_eq!(s.len(), 33);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()), "{s}");
        let v = gen_value(json!({"type": "RandomString"}));
        assert_eq!(v.as_str().expect("string").len(), 20);
        let v = gen_value(json!({"type": "RandomString", "size": 0}));
        assert_eq!(v, json!(""));
    }

    #[test]
    fn regex_outputs_match_the_regex() {
        for pattern in [
            "\\d{3}-[a-z]+",
            "^(foo|bar)\\d*$",
            "[A-Z]{2}\\w{0,5}",
            "\\$\\d+\\.\\d{2}",
            "a\\$",
            ".{3}",
            "[^x]{4}",
            "\\p{Greek}+",
            "(?i)abc",
            "",
        ] {
            let stripped = strip_anchors(pattern);
            let re = whole(stripped);
            for _ in 0..50 {
                let v = gen_value(json!({"type": "Regex", "regex": pattern}));
                let s = v.as_str().expect("string");
                assert!(re.is_match(s), "{s:?} does not match {pattern}");
            }
        }
        // ASCII classes where the pattern allows them.
        for _ in 0..50 {
            let v = gen_value(json!({"type": "Regex", "regex": "\\d{5}\\w\\s"}));
            assert!(v.as_str().expect("string").is_ascii(), "{v}");
        }
        assert_eq!(strip_anchors("^a$"), "a");
        assert_eq!(strip_anchors("a\\$"), "a\\$");
        assert_eq!(strip_anchors("a\\\\$"), "a\\\\");
    }

    #[test]
    fn uuid_formats() {
        let cases = [
            ("simple", "[0-9a-f]{32}"),
            (
                "lower-case-hyphenated",
                "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            ),
            (
                "upper-case-hyphenated",
                "[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}",
            ),
            (
                "URN",
                "urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            ),
        ];
        for (format, pattern) in cases {
            let v = gen_value(json!({"type": "Uuid", "format": format}));
            let s = v.as_str().expect("string");
            assert!(whole(pattern).is_match(s), "{s} for {format}");
        }
        let v = gen_value(json!({"type": "Uuid"}));
        assert!(whole(cases[1].1).is_match(v.as_str().expect("string")));
        assert_ne!(
            gen_value(json!({"type": "Uuid"})),
            gen_value(json!({"type": "Uuid"}))
        );
    }

    #[test]
    fn dates_and_times_in_their_formats() {
        let before = Local::now().date_naive();
        let v = gen_value(json!({"type": "Date"}));
        let after = Local::now().date_naive();
        let d = NaiveDate::parse_from_str(v.as_str().expect("string"), "%Y-%m-%d").expect("date");
        assert!(d == before || d == after, "{d}");

        let v = gen_value(json!({"type": "Time"}));
        assert!(whole("\\d{2}:\\d{2}:\\d{2}").is_match(v.as_str().expect("string")));
        NaiveTime::parse_from_str(v.as_str().expect("string"), "%H:%M:%S").expect("time");

        let v = gen_value(json!({"type": "DateTime"}));
        NaiveDateTime::parse_from_str(v.as_str().expect("string"), "%Y-%m-%dT%H:%M:%S")
            .expect("datetime");

        let v = gen_value(json!({"type": "DateTime", "format": "dd/MM/yyyy HH:mm"}));
        assert!(whole("\\d{2}/\\d{2}/\\d{4} \\d{2}:\\d{2}").is_match(v.as_str().expect("s")));

        let v = gen_value(json!({"type": "Date", "format": "yyyyMMdd", "expression": "today"}));
        assert!(whole("\\d{8}").is_match(v.as_str().expect("string")));

        let v = gen_value(json!({"type": "Time", "expression": "midnight"}));
        assert_eq!(v, json!("00:00:00"));
        let v =
            gen_value(json!({"type": "Time", "format": "HH:mm", "expression": "noon + 1 hour"}));
        assert_eq!(v, json!("13:00"));
    }

    #[test]
    fn date_expressions() {
        let now = Local
            .with_ymd_and_hms(2024, 1, 31, 10, 30, 15)
            .earliest()
            .expect("a local time");
        let at = |e: &str| {
            eval_expression(e, now)
                .expect(e)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        assert_eq!(at("now"), "2024-01-31 10:30:15");
        assert_eq!(at("today"), "2024-01-31 10:30:15");
        assert_eq!(at("tomorrow"), "2024-02-01 10:30:15");
        assert_eq!(at("yesterday"), "2024-01-30 10:30:15");
        assert_eq!(at("today + 2 weeks"), "2024-02-14 10:30:15");
        assert_eq!(at("+1 month"), "2024-02-29 10:30:15");
        assert_eq!(at("now - 1 year + 3 days"), "2023-02-03 10:30:15");
        assert_eq!(at("now - 3 hours + 10 minutes"), "2024-01-31 07:40:15");
        assert_eq!(at("now + 45 seconds"), "2024-01-31 10:31:00");
        assert_eq!(at("tomorrow @ midnight"), "2024-02-01 00:00:00");
        assert_eq!(at("yesterday @ noon + 30 minutes"), "2024-01-30 12:30:00");
        assert_eq!(at("today @ 3 o'clock pm"), "2024-01-31 15:00:00");
        assert_eq!(at("@ 12 o'clock am"), "2024-01-31 00:00:00");
        assert_eq!(at("@ 17 o'clock"), "2024-01-31 17:00:00");
        for bad in [
            "next tuesday",
            "now +",
            "now + 1",
            "now + 1 eon",
            "25 o'clock",
            "13 o'clock pm",
            "now now",
            "now * 2",
            "now + 99999999999 days",
            "now + 4000000000 years",
        ] {
            let e = eval_expression(bad, now).expect_err(bad);
            assert!(e.starts_with("unsupported date/time expression"), "{e}");
        }
    }

    #[test]
    fn unsupported_date_format_is_an_error() {
        let g = Generator::Time {
            format: Some("HH:mm:ss.SS".into()),
            expression: None,
        };
        let e = generate(&g, &Value::Null, &consumer()).expect_err("format");
        assert!(e.contains("unsupported date/time format"), "{e}");
    }

    #[test]
    fn random_boolean() {
        let mut seen = (false, false);
        for _ in 0..200 {
            match gen_value(json!({"type": "RandomBoolean"})) {
                Value::Bool(true) => seen.0 = true,
                Value::Bool(false) => seen.1 = true,
                other => panic!("not a boolean: {other}"),
            }
        }
        assert_eq!(seen, (true, true));
    }

    fn state() -> Map<String, Value> {
        json!({"id": 42, "name": "Ann", "price": "9.5", "flag": "TRUE", "obj": {"a": [1]},
               "nested": {"user": {"id": "u7"}}})
        .as_object()
        .cloned()
        .expect("object")
    }

    #[test]
    fn provider_state_substitution() {
        let params = state();
        let ctx = Context::provider(&params);
        let run = |v: Value| generate(&gen_of(v), &json!("example"), &ctx);
        let ps = |e: &str| json!({"type": "ProviderState", "expression": e});
        // A whole `${name}` keeps the type.
        assert_eq!(run(ps("${id}")).expect("id"), json!(42));
        assert_eq!(run(ps("${obj}")).expect("obj"), json!({"a": [1]}));
        assert_eq!(run(ps("${ name }")).expect("name"), json!("Ann"));
        // Otherwise a string.
        assert_eq!(
            run(ps("/users/${id}/${name}")).expect("path"),
            json!("/users/42/Ann")
        );
        assert_eq!(run(ps("${id}${id}")).expect("twice"), json!("4242"));
        assert_eq!(run(ps("no params")).expect("plain"), json!("no params"));
        assert_eq!(run(ps("a ${id")).expect("open"), json!("a ${id"));
        assert_eq!(run(ps("${nested.user.id}")).expect("dots"), json!("u7"));
        // Data types.
        let typed = |e: &str, t: &str| {
            run(json!({"type": "ProviderState", "expression": e, "dataType": t}))
        };
        assert_eq!(typed("${id}", "STRING").expect("s"), json!("42"));
        assert_eq!(typed("${id}", "RAW").expect("r"), json!(42));
        assert_eq!(typed("1${id}", "INTEGER").expect("i"), json!(142));
        assert_eq!(typed("${price}", "DECIMAL").expect("d"), json!(9.5));
        assert_eq!(typed("${id}", "FLOAT").expect("f"), json!(42.0));
        assert_eq!(typed("${flag}", "BOOLEAN").expect("b"), json!(true));
        assert!(
            typed("${name}", "INTEGER")
                .expect_err("i")
                .contains("cannot convert")
        );
        assert!(typed("${id}", "BOOLEAN").is_err());
        // A missing parameter names it.
        let e = run(ps("/users/${userId}")).expect_err("missing");
        assert_eq!(e, "provider state parameter `userId` is missing");
        // The consumer side keeps the example.
        let g = gen_of(ps("${id}"));
        assert_eq!(
            generate(&g, &json!("example"), &consumer()).expect("consumer"),
            json!("example")
        );
    }

    #[test]
    fn mock_server_url() {
        let g = gen_of(json!({"type": "MockServerURL",
            "regex": ".*(/orders/\\d+)$", "example": "http://localhost:8080/orders/1"}));
        let ctx = Context::consumer(Some("http://127.0.0.1:5555/"));
        assert_eq!(
            generate(&g, &json!("http://example.com/orders/12"), &ctx).expect("url"),
            json!("http://127.0.0.1:5555/orders/12")
        );
        assert_eq!(
            generate(&g, &json!(null), &ctx).expect("example"),
            json!("http://127.0.0.1:5555/orders/1")
        );
        // Not matching: unchanged.
        assert_eq!(
            generate(&g, &json!("nothing here"), &ctx).expect("unchanged"),
            json!("nothing here")
        );
        // Without a mock server, or on the provider side: unchanged.
        let current = json!("http://example.com/orders/12");
        assert_eq!(
            generate(&g, &current, &consumer()).expect("no url"),
            current
        );
        let params = Map::new();
        assert_eq!(
            generate(&g, &current, &Context::provider(&params)).expect("provider"),
            current
        );
        // Without a group, the match is kept with what follows.
        let g = gen_of(json!({"type": "MockServerURL",
            "regex": "/items/\\d+", "example": "http://x/items/1?full=1"}));
        assert_eq!(
            generate(&g, &json!("http://x/items/3?full=1"), &ctx).expect("no group"),
            json!("http://127.0.0.1:5555/items/3?full=1")
        );
        assert!(
            Generator::parse(&json!({"type": "MockServerURL", "regex": "(", "example": ""}))
                .is_err()
        );
    }

    #[test]
    fn body_paths_with_wildcards() {
        let mut body = json!({
            "id": 1,
            "items": [{"sku": "a", "n": 1}, {"sku": "b", "n": 2}],
            "meta": {"x": {"k": 0}, "y": {"k": 0}, "z": 5},
        });
        let generators = vec![
            (
                PathExpr::parse("$.items[*].sku").expect("p"),
                gen_of(json!({"type": "Uuid"})),
            ),
            (
                PathExpr::parse("$.meta.*.k").expect("p"),
                gen_of(json!({"type": "RandomInt", "min": 10, "max": 10})),
            ),
            (
                PathExpr::parse("$.id").expect("p"),
                gen_of(json!({"type": "RandomInt", "min": 100, "max": 200})),
            ),
            (
                PathExpr::parse("$.items[1].n").expect("p"),
                gen_of(json!({"type": "RandomBoolean"})),
            ),
            (
                PathExpr::parse("$.nothing.here").expect("p"),
                gen_of(json!({"type": "RandomBoolean"})),
            ),
        ];
        let n = apply_to_json(&mut body, &generators, &consumer()).expect("apply");
        assert_eq!(n, 6);
        let uuid = whole("[0-9a-f-]{36}");
        for item in body["items"].as_array().expect("items") {
            assert!(uuid.is_match(item["sku"].as_str().expect("sku")), "{item}");
        }
        assert_ne!(body["items"][0]["sku"], body["items"][1]["sku"]);
        assert_eq!(body["items"][0]["n"], json!(1));
        assert!(body["items"][1]["n"].is_boolean());
        assert_eq!(body["meta"]["x"]["k"], json!(10));
        assert_eq!(body["meta"]["y"]["k"], json!(10));
        assert_eq!(body["meta"]["z"], json!(5));
        assert!((100..=200).contains(&body["id"].as_i64().expect("id")));

        // The root.
        let mut body = json!([1, 2]);
        let root = vec![(PathExpr::root(), gen_of(json!({"type": "RandomBoolean"})))];
        apply_to_json(&mut body, &root, &consumer()).expect("root");
        assert!(body.is_boolean());
    }

    #[test]
    fn body_errors_name_the_concrete_path() {
        let params = Map::new();
        let ctx = Context::provider(&params);
        let mut body = json!({"items": [{"id": 1}]});
        let generators = vec![(
            PathExpr::parse("$.items[*].id").expect("p"),
            gen_of(json!({"type": "ProviderState", "expression": "${id}"})),
        )];
        let e = apply_to_json(&mut body, &generators, &ctx).expect_err("missing");
        assert_eq!(
            e,
            "generator `ProviderState` at `$.items[0].id`: provider state parameter `id` is missing"
        );
    }

    #[test]
    fn request_generators_on_the_provider_side() {
        let mut req = Request::from_json(
            &json!({
                "method": "POST",
                "path": "/orders/1",
                "query": {"page": ["1", "2"], "q": "x"},
                "headers": {"X-Request-Id": "abc", "Accept": "application/json"},
                "body": {"orderId": 1, "lines": [{"sku": "a"}]},
                "generators": {
                    "path": {"type": "ProviderState", "expression": "/orders/${orderId}"},
                    "header": {"x-request-id": {"type": "Uuid", "format": "simple"}},
                    "query": {"page": {"type": "RandomInt", "min": 5, "max": 9}},
                    "body": {
                        "$.orderId": {"type": "ProviderState", "expression": "${orderId}"},
                        "$.lines[*].sku": {"type": "RandomHexadecimal", "digits": 4}
                    }
                }
            }),
            SpecVersion::V3,
        )
        .expect("request");
        let params = json!({"orderId": 77}).as_object().cloned().expect("object");
        apply_to_request(&mut req, &Context::provider(&params)).expect("apply");
        assert_eq!(req.path, "/orders/77");
        let headers = req.headers.as_ref().expect("headers");
        let id = &headers[0].1[0];
        assert!(whole("[0-9a-f]{32}").is_match(id), "{id}");
        assert_eq!(headers[1].1, vec!["application/json".to_owned()]);
        let Some(Query::Params(params)) = &req.query else {
            panic!("query");
        };
        for v in &params[0].1 {
            let n: i64 = v.parse().expect("int");
            assert!((5..=9).contains(&n), "{v}");
        }
        assert_eq!(params[1].1, vec!["x".to_owned()]);
        let Body::Value(body) = &req.body else {
            panic!("body");
        };
        assert_eq!(body["orderId"], json!(77));
        assert!(whole("[0-9a-f]{4}").is_match(body["lines"][0]["sku"].as_str().expect("sku")));
    }

    #[test]
    fn response_generators_on_the_consumer_side() {
        let mut resp = Response::from_json(
            &json!({
                "status": 200,
                "headers": {"Location": "http://example.com/orders/1"},
                "body": "{\"id\": 1, \"name\": \"x\"}",
                "generators": {
                    "status": {"type": "RandomInt", "min": 201, "max": 204},
                    "header": {"Location": {"type": "MockServerURL",
                        "regex": ".*(/orders/\\d+)$", "example": "http://example.com/orders/1"}},
                    "body": {"$.id": {"type": "RandomInt", "min": 5, "max": 5},
                             "$.name": {"type": "ProviderState", "expression": "${name}"}}
                }
            }),
            SpecVersion::V3,
        )
        .expect("response");
        apply_to_response(&mut resp, &Context::consumer(Some("http://localhost:1234")))
            .expect("apply");
        assert!((201..=204).contains(&resp.status.expect("status")));
        assert_eq!(
            resp.headers.as_ref().expect("headers")[0].1,
            vec!["http://localhost:1234/orders/1".to_owned()]
        );
        // A JSON string body is written back; the provider-state generator keeps the example.
        assert_eq!(resp.body, Body::Value(json!("{\"id\":5,\"name\":\"x\"}")));
    }

    #[test]
    fn status_must_end_as_a_status_code() {
        let mut resp = Response::from_json(
            &json!({"status": 200, "generators": {"status": {"type": "RandomString"}}}),
            SpecVersion::V3,
        )
        .expect("response");
        let e = apply_to_response(&mut resp, &consumer()).expect_err("status");
        assert!(
            e.starts_with("generator `RandomString` at the status:"),
            "{e}"
        );
        let mut resp = Response::from_json(
            &json!({"status": 200, "generators": {"status": {"$": {"type": "RandomInt", "min": 70000, "max": 70000}}}}),
            SpecVersion::V3,
        )
        .expect("response");
        assert!(apply_to_response(&mut resp, &consumer()).is_err());
        let mut resp = Response::from_json(
            &json!({"status": 200, "generators": {"status": {"type": "Regex", "regex": "40[14]"}}}),
            SpecVersion::V3,
        )
        .expect("response");
        apply_to_response(&mut resp, &consumer()).expect("regex status");
        assert!(matches!(resp.status, Some(401 | 404)));
    }

    #[test]
    fn non_json_bodies_are_left_alone() {
        let generators = Generators::parse(
            &json!({"body": {"$.a": {"type": "RandomInt"}, "$": {"type": "RandomInt"}}}),
        )
        .expect("generators");
        for original in [
            Body::Value(json!("<a>1</a>")),
            Body::Bytes(vec![0xff, 0x00]),
            Body::Missing,
            Body::Null,
        ] {
            let mut body = original.clone();
            apply_to_body(&mut body, &generators.body, &consumer()).expect("apply");
            assert_eq!(body, original);
        }
        // JSON bytes are rewritten.
        let mut body = Body::Bytes(b"{\"a\": 1}".to_vec());
        let only_a = &generators.body[..1];
        apply_to_body(&mut body, only_a, &consumer()).expect("bytes");
        let Body::Bytes(bytes) = &body else {
            panic!("bytes");
        };
        let v: Value = serde_json::from_slice(bytes).expect("json");
        assert!(v["a"].is_i64());
        // Text that is JSON but untouched keeps its spelling.
        let mut body = Body::Value(json!("1e2"));
        apply_to_body(&mut body, only_a, &consumer()).expect("text");
        assert_eq!(body, Body::Value(json!("1e2")));
    }

    #[test]
    fn message_generators() {
        let mut msg = MessageContents::from_json(
            &json!({
                "contents": {"content": {"id": 1, "tags": ["a", "b"]}, "contentType": "application/json"},
                "metadata": {"key": "k1", "other": "o"},
                "generators": {
                    "content": {"$.tags[*]": {"type": "RandomString", "size": 3}},
                    "metadata": {"key": {"type": "RandomInt", "min": 1, "max": 1}}
                }
            }),
            SpecVersion::V4,
        )
        .expect("message");
        apply_to_message(&mut msg, &consumer()).expect("apply");
        let Body::Value(body) = &msg.body else {
            panic!("body");
        };
        assert_eq!(body["id"], json!(1));
        for tag in body["tags"].as_array().expect("tags") {
            assert_eq!(tag.as_str().expect("tag").len(), 3);
        }
        assert_eq!(msg.metadata["key"], json!(1));
        assert_eq!(msg.metadata["other"], json!("o"));
    }

    #[test]
    fn generators_by_category() {
        let g = Generators::parse(&json!({
            "body": {"id": {"type": "RandomInt"}, "$.a[*]": {"type": "Uuid"}},
            "headers": {"$['X-Id']": {"type": "Uuid"}},
            "query": {"q": {"type": "RandomString"}},
            "metaData": {"m": {"type": "RandomBoolean"}},
            "path": {"type": "RandomString"},
            "status": {"type": "RandomInt", "min": 200, "max": 299},
            "method": {"type": "RandomString"}
        }))
        .expect("generators");
        assert_eq!(g.body.len(), 2);
        assert_eq!(g.body[0].0.to_string(), "$.id");
        assert_eq!(g.header[0].0, "X-Id");
        assert_eq!(g.query[0].0, "q");
        assert_eq!(g.metadata[0].0, "m");
        assert!(g.path.is_some() && g.status.is_some());
        assert!(!g.is_empty());
        assert!(Generators::parse(&json!({})).expect("empty").is_empty());
        assert!(Generators::parse(&json!([])).is_err());
        assert!(Generators::parse(&json!({"body": 1})).is_err());
        let e = Generators::parse(&json!({"header": {"X": {"type": "Nope"}}})).expect_err("e");
        assert_eq!(
            e,
            "generator `Nope` at header `X`: unknown generator type `Nope`"
        );
    }

    #[test]
    fn parts_without_generators_are_untouched() {
        let mut req = Request::from_json(&json!({"path": "/a"}), SpecVersion::V3).expect("req");
        let before = req.clone();
        apply_to_request(&mut req, &consumer()).expect("apply");
        assert_eq!(req, before);
        // Absent headers and query parameters are not added.
        let mut req = Request::from_json(
            &json!({"path": "/a", "generators": {
                "header": {"X": {"type": "Uuid"}}, "query": {"q": {"type": "Uuid"}}}}),
            SpecVersion::V3,
        )
        .expect("req");
        apply_to_request(&mut req, &consumer()).expect("apply");
        assert_eq!(req.headers, None);
        assert_eq!(req.query, None);
    }
}

//! What each matcher says about one value. Recursion into arrays and maps (type cascading,
//! `values`, `eachKey`, `eachValue`, `arrayContains`) is the body matcher's job; here each
//! matcher only judges the value in front of it.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::Value;

use crate::rules::{Combine, Matcher, RuleList};

/// Applies every matcher of a rule (AND/OR) to `actual`, with `expected` as the example.
///
/// # Errors
/// The reason(s) the value does not match.
pub fn check_rules(rules: &RuleList, expected: &Value, actual: &Value) -> Result<(), String> {
    let mut errors = Vec::new();
    for m in &rules.matchers {
        match check(m, expected, actual) {
            Ok(()) if rules.combine == Combine::Or => return Ok(()),
            Ok(()) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() || (rules.combine == Combine::Or && errors.len() < rules.matchers.len()) {
        Ok(())
    } else if rules.combine == Combine::Or {
        Err(errors.join("; or "))
    } else {
        Err(errors.join("; "))
    }
}

/// The JSON kind of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "decimal",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value as the string a regex or a format sees.
pub fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn short(v: &Value) -> String {
    modelci_text::truncate(&v.to_string(), 80)
}

/// Whether two JSON values are equal, numbers compared by value (`1` equals `1.0`).
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::Null, Value::Null)
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Number(_), Value::Number(_))
            | (Value::String(_), Value::String(_))
            | (Value::Array(_), Value::Array(_))
            | (Value::Object(_), Value::Object(_))
    )
}

/// Applies one matcher.
///
/// # Errors
/// Why `actual` does not match.
pub fn check(m: &Matcher, expected: &Value, actual: &Value) -> Result<(), String> {
    match m {
        Matcher::Equality => {
            if json_equal(expected, actual) {
                Ok(())
            } else {
                Err(format!(
                    "expected {} but got {}",
                    short(expected),
                    short(actual)
                ))
            }
        }
        Matcher::Regex(re) => {
            let regex = compiled(re)?;
            if matches!(actual, Value::Array(_) | Value::Object(_)) {
                return Err(format!(
                    "expected a value matching /{re}/ but got {} {}",
                    kind(actual),
                    short(actual)
                ));
            }
            let text = as_text(actual);
            if regex.is_match(&text) {
                Ok(())
            } else {
                Err(format!("{} does not match /{re}/", short(actual)))
            }
        }
        Matcher::Type { min, max } => {
            if !same_kind(expected, actual) {
                return Err(format!(
                    "expected {} (like {}) but got {} {}",
                    kind(expected),
                    short(expected),
                    kind(actual),
                    short(actual)
                ));
            }
            if let Value::Array(items) = actual {
                if let Some(min) = min
                    && items.len() < *min
                {
                    return Err(format!(
                        "expected an array with at least {min} element(s) but got {}",
                        items.len()
                    ));
                }
                if let Some(max) = max
                    && items.len() > *max
                {
                    return Err(format!(
                        "expected an array with at most {max} element(s) but got {}",
                        items.len()
                    ));
                }
            }
            Ok(())
        }
        Matcher::Include(part) => {
            let text = as_text(actual);
            if text.contains(part.as_str()) {
                Ok(())
            } else {
                Err(format!("{} does not include {part:?}", short(actual)))
            }
        }
        Matcher::Integer => match actual {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(()),
            Value::String(s) if s.parse::<i128>().is_ok() => Ok(()),
            _ => Err(format!("expected an integer but got {}", short(actual))),
        },
        Matcher::Decimal => match actual {
            Value::Number(n) if n.is_f64() => Ok(()),
            Value::String(s) if s.contains('.') && s.parse::<f64>().is_ok() => Ok(()),
            _ => Err(format!(
                "expected a decimal number but got {}",
                short(actual)
            )),
        },
        Matcher::Number => match actual {
            Value::Number(_) => Ok(()),
            Value::String(s) if s.parse::<f64>().is_ok() => Ok(()),
            _ => Err(format!("expected a number but got {}", short(actual))),
        },
        Matcher::Boolean => match actual {
            Value::Bool(_) => Ok(()),
            Value::String(s) if s == "true" || s == "false" => Ok(()),
            _ => Err(format!("expected a boolean but got {}", short(actual))),
        },
        Matcher::Null => match actual {
            Value::Null => Ok(()),
            _ => Err(format!("expected null but got {}", short(actual))),
        },
        Matcher::Date(format) => {
            let f = format.as_deref().unwrap_or("yyyy-MM-dd");
            parse_date(f, &as_text(actual))
                .map_err(|e| format!("{} is not a date in format {f:?}: {e}", short(actual)))
        }
        Matcher::Time(format) => {
            let f = format.as_deref().unwrap_or("HH:mm:ss");
            parse_time(f, &as_text(actual))
                .map_err(|e| format!("{} is not a time in format {f:?}: {e}", short(actual)))
        }
        Matcher::DateTime(format) => {
            let text = as_text(actual);
            match format.as_deref() {
                Some(f) => parse_datetime(f, &text).map_err(|e| {
                    format!("{} is not a date-time in format {f:?}: {e}", short(actual))
                }),
                None => iso_datetime(&text)
                    .then_some(())
                    .ok_or_else(|| format!("{} is not an ISO 8601 date-time", short(actual))),
            }
        }
        Matcher::Values | Matcher::EachKey(_) | Matcher::EachValue(_) => match actual {
            Value::Object(_) | Value::Array(_) => Ok(()),
            _ => Err(format!(
                "expected an object or array but got {} {}",
                kind(actual),
                short(actual)
            )),
        },
        Matcher::ArrayContains(_) => match actual {
            Value::Array(_) => Ok(()),
            _ => Err(format!("expected an array but got {}", short(actual))),
        },
        Matcher::NotEmpty => {
            let empty = match actual {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            };
            if empty {
                Err(format!(
                    "expected a non-empty value but got {}",
                    short(actual)
                ))
            } else if !same_kind(expected, actual) && !expected.is_null() {
                Err(format!(
                    "expected {} but got {} {}",
                    kind(expected),
                    kind(actual),
                    short(actual)
                ))
            } else {
                Ok(())
            }
        }
        Matcher::Semver => semver::Version::parse(&as_text(actual))
            .map(|_| ())
            .map_err(|e| format!("{} is not a semantic version: {e}", short(actual))),
        Matcher::ContentType(_) => Ok(()),
        Matcher::StatusCode(spec) => {
            let status = actual
                .as_u64()
                .or_else(|| actual.as_str().and_then(|s| s.parse().ok()))
                .and_then(|n| u16::try_from(n).ok());
            match status {
                Some(s) if spec.contains(s) => Ok(()),
                _ => Err(format!("status {} is not {spec:?}", short(actual))),
            }
        }
    }
}

/// The whole-string form of a matcher's regex, compiled once per process (pacts repeat the same
/// few patterns across thousands of values).
fn compiled(re: &str) -> Result<regex::Regex, String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, regex::Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(map) = cache.lock()
        && let Some(r) = map.get(re)
    {
        return Ok(r.clone());
    }
    let regex = regex::Regex::new(&format!("^(?:{})$", compatible_regex(re)))
        .map_err(|e| format!("invalid regex: {e}"))?;
    if let Ok(mut map) = cache.lock()
        && map.len() < 10_000
    {
        map.insert(re.to_owned(), regex.clone());
    }
    Ok(regex)
}

/// A pact's regex in the `regex` crate's syntax. Pacts written by the Ruby and JVM
/// implementations use their engines' leniency: a `{` that does not start a repetition (`{2}`,
/// `{2,}`, `{2,5}`) is a literal there (`/pacticipants/{pacticipant}`), and `{,5}` means `{0,5}`.
/// Those braces are escaped here; everything else is left as written.
pub fn compatible_regex(re: &str) -> std::borrow::Cow<'_, str> {
    if !re.contains('{') {
        return std::borrow::Cow::Borrowed(re);
    }
    let chars: Vec<char> = re.chars().collect();
    let mut out = String::with_capacity(re.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.get(i + 1) {
                    out.push(*n);
                    // `\p{L}`, `\x{41}`: the braces belong to the escape.
                    if matches!(n, 'p' | 'P' | 'x') && chars.get(i + 2) == Some(&'{') {
                        let mut j = i + 2;
                        while j < chars.len() {
                            out.push(chars[j]);
                            if chars[j] == '}' {
                                break;
                            }
                            j += 1;
                        }
                        i = j + 1;
                        continue;
                    }
                }
                i += 2;
                continue;
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '}')
                    .map(|p| i + 1 + p);
                let quantifier = close.and_then(|end| {
                    let body: String = chars[i + 1..end].iter().collect();
                    let (lo, hi) = match body.split_once(',') {
                        Some((lo, hi)) => (lo, Some(hi)),
                        None => (body.as_str(), None),
                    };
                    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
                    let ok = match hi {
                        None => digits(lo),
                        Some(hi) => {
                            (digits(lo) || lo.is_empty())
                                && (hi.is_empty() || digits(hi))
                                && !(lo.is_empty() && hi.is_empty())
                        }
                    };
                    // Something must come before a repetition.
                    (ok && i > 0).then(|| {
                        (
                            end,
                            if lo.is_empty() {
                                format!("{{0{}}}", &body)
                            } else {
                                format!("{{{body}}}")
                            },
                        )
                    })
                });
                match quantifier {
                    Some((end, q)) => {
                        out.push_str(&q);
                        i = end + 1;
                    }
                    None => {
                        out.push_str("\\{");
                        i += 1;
                    }
                }
                continue;
            }
            '}' if !in_class => {
                out.push_str("\\}");
                i += 1;
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// Converts a Java `DateTimeFormatter`/`SimpleDateFormat` pattern to a chrono format string.
pub fn java_to_chrono(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal; '' is a single quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        out.push('\'');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                push_literal(&mut out, chars[i]);
                i += 1;
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let spec = match (c, n) {
            ('y' | 'u', 2) => "%y".to_owned(),
            ('y' | 'u', _) => "%Y".to_owned(),
            ('M' | 'L', 1 | 2) => "%m".to_owned(),
            ('M' | 'L', 3) => "%b".to_owned(),
            ('M' | 'L', _) => "%B".to_owned(),
            ('d', _) => "%d".to_owned(),
            ('D', _) => "%j".to_owned(),
            ('H' | 'k', _) => "%H".to_owned(),
            ('h' | 'K', _) => "%I".to_owned(),
            ('m', _) => "%M".to_owned(),
            ('s', _) => "%S".to_owned(),
            ('S', n) => format!("%{n}f"),
            ('n', _) => "%f".to_owned(),
            ('a', _) => "%p".to_owned(),
            ('E', 1..=3) => "%a".to_owned(),
            ('E', _) => "%A".to_owned(),
            ('z', _) => "%Z".to_owned(),
            ('Z', _) => "%z".to_owned(),
            ('X' | 'x', 1 | 2) => "%z".to_owned(),
            ('X' | 'x', _) => "%:z".to_owned(),
            ('G', _) => "AD".to_owned(),
            _ => std::iter::repeat_n(c, n).collect(),
        };
        out.push_str(&spec);
        i += n;
    }
    out
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

fn parse_date(pattern: &str, text: &str) -> Result<(), String> {
    let f = java_to_chrono(pattern);
    NaiveDate::parse_from_str(text, &f)
        .map(|_| ())
        .or_else(|_| parse_datetime(pattern, text))
        .map_err(|e| e.to_string())
}

fn parse_time(pattern: &str, text: &str) -> Result<(), String> {
    let f = java_to_chrono(pattern);
    NaiveTime::parse_from_str(text, &f)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn parse_datetime(pattern: &str, text: &str) -> Result<(), String> {
    let f = java_to_chrono(pattern);
    if DateTime::parse_from_str(text, &f).is_ok() || NaiveDateTime::parse_from_str(text, &f).is_ok()
    {
        return Ok(());
    }
    // Java's `X` offsets write UTC as `Z`; chrono's `%z` wants digits.
    if pattern.contains('X')
        && let Some(stem) = text.strip_suffix('Z')
        && ["+00:00", "+0000"]
            .iter()
            .any(|zero| DateTime::parse_from_str(&format!("{stem}{zero}"), &f).is_ok())
    {
        return Ok(());
    }
    NaiveDate::parse_from_str(text, &f)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn iso_datetime(text: &str) -> bool {
    DateTime::parse_from_rfc3339(text).is_ok()
        || NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn braces_that_are_not_repetitions_are_literal_as_in_ruby() {
        use super::compatible_regex;
        let c = |r: &str| compatible_regex(r).into_owned();
        assert_eq!(
            c(r".*(\/pacticipants\/{pacticipant})$"),
            r".*(\/pacticipants\/\{pacticipant\})$"
        );
        assert_eq!(c(r"\d{4}-\d{2}"), r"\d{4}-\d{2}");
        assert_eq!(c(r"a{2,}b{1,3}"), r"a{2,}b{1,3}");
        assert_eq!(c(r"a{,3}"), r"a{0,3}");
        assert_eq!(c(r"\p{L}+[{}]"), r"\p{L}+[{}]");
        assert_eq!(c(r"\{x\}"), r"\{x\}");
        assert_eq!(c("{start"), r"\{start");
        let re = regex::Regex::new(&c(r".*(\/pacticipants\/{pacticipant})$")).expect("compiles");
        assert!(re.is_match("http://b/pacticipants/{pacticipant}"));
        assert!(
            regex::Regex::new(&c(r"\d{4}"))
                .expect("re")
                .is_match("2024")
        );
    }

    use serde_json::json;

    use super::*;
    use crate::rules::{StatusSpec, parse_matcher};

    fn ok(m: serde_json::Value, expected: Value, actual: Value) -> bool {
        check(&parse_matcher(&m).expect("matcher"), &expected, &actual).is_ok()
    }

    #[test]
    fn type_and_length() {
        let t = json!({"match": "type", "min": 2, "max": 3});
        assert!(ok(t.clone(), json!([1]), json!([5, 6])));
        assert!(!ok(t.clone(), json!([1]), json!([5])));
        assert!(!ok(t.clone(), json!([1]), json!([1, 2, 3, 4])));
        assert!(!ok(t, json!([1]), json!("x")));
        assert!(ok(json!({"match": "type"}), json!(1), json!(2.5)));
    }

    #[test]
    fn regex_matches_the_whole_value() {
        let r = json!({"match": "regex", "regex": "\\d+"});
        assert!(ok(r.clone(), json!("1"), json!("333")));
        assert!(!ok(r.clone(), json!("1"), json!("33a")));
        assert!(ok(r, json!(1), json!(42)));
        assert!(parse_matcher(&json!({"match": "regex", "regex": "("})).is_err());
    }

    #[test]
    fn numbers_booleans_null_include() {
        assert!(ok(json!({"match": "integer"}), json!(1), json!(7)));
        assert!(!ok(json!({"match": "integer"}), json!(1), json!(7.5)));
        assert!(ok(json!({"match": "decimal"}), json!(1.5), json!(7.25)));
        assert!(!ok(json!({"match": "decimal"}), json!(1.5), json!(7)));
        assert!(ok(json!({"match": "number"}), json!(1), json!(7.25)));
        assert!(!ok(json!({"match": "number"}), json!(1), json!("x")));
        assert!(ok(json!({"match": "boolean"}), json!(true), json!(false)));
        assert!(ok(json!({"match": "null"}), json!(null), json!(null)));
        assert!(!ok(json!({"match": "null"}), json!(null), json!(0)));
        assert!(ok(
            json!({"match": "include", "value": "cat"}),
            json!(""),
            json!("a cat!")
        ));
        assert!(!ok(
            json!({"match": "include", "value": "cat"}),
            json!(""),
            json!("dog")
        ));
    }

    #[test]
    fn dates_and_times_with_java_formats() {
        assert_eq!(
            java_to_chrono("yyyy-MM-dd'T'HH:mm:ss.SSSXXX"),
            "%Y-%m-%dT%H:%M:%S.%3f%:z"
        );
        assert!(ok(
            json!({"match": "date", "format": "yyyy-MM-dd"}),
            json!(""),
            json!("2026-11-27")
        ));
        assert!(!ok(
            json!({"match": "date", "format": "yyyy-MM-dd"}),
            json!(""),
            json!("27/11/2026")
        ));
        assert!(ok(
            json!({"match": "date", "format": "dd/MM/yyyy"}),
            json!(""),
            json!("27/11/2026")
        ));
        assert!(ok(
            json!({"match": "time", "format": "HH:mm"}),
            json!(""),
            json!("23:59")
        ));
        assert!(!ok(
            json!({"match": "time", "format": "HH:mm"}),
            json!(""),
            json!("25:99")
        ));
        assert!(ok(
            json!({"match": "datetime", "format": "yyyy-MM-dd'T'HH:mm:ssXXX"}),
            json!(""),
            json!("2026-11-27T10:00:00+01:00")
        ));
        assert!(ok(
            json!({"match": "timestamp"}),
            json!(""),
            json!("2026-11-27T10:00:00Z")
        ));
        assert!(!ok(
            json!({"match": "timestamp"}),
            json!(""),
            json!("yesterday")
        ));
    }

    #[test]
    fn semver_not_empty_status() {
        assert!(ok(
            json!({"match": "semver"}),
            json!(""),
            json!("1.2.3-rc.1")
        ));
        assert!(!ok(json!({"match": "semver"}), json!(""), json!("1.2")));
        assert!(ok(json!({"match": "notEmpty"}), json!("x"), json!("y")));
        assert!(!ok(json!({"match": "notEmpty"}), json!("x"), json!("")));
        assert!(!ok(json!({"match": "notEmpty"}), json!([1]), json!([])));
        assert!(ok(
            json!({"match": "statusCode", "status": "success"}),
            json!(200),
            json!(204)
        ));
        assert!(!ok(
            json!({"match": "statusCode", "status": "success"}),
            json!(200),
            json!(404)
        ));
        assert!(ok(
            json!({"match": "statusCode", "status": [200, 201]}),
            json!(200),
            json!(201)
        ));
        assert!(StatusSpec::NonError.contains(302));
        assert!(parse_matcher(&json!({"match": "bogus"})).is_err());
    }

    #[test]
    fn combine_or() {
        let rules = crate::rules::parse_rule_list(&json!({
            "combine": "OR",
            "matchers": [{"match": "null"}, {"match": "integer"}]
        }))
        .expect("rules");
        assert!(check_rules(&rules, &json!(1), &json!(null)).is_ok());
        assert!(check_rules(&rules, &json!(1), &json!(3)).is_ok());
        assert!(check_rules(&rules, &json!(1), &json!("x")).is_err());
    }
}

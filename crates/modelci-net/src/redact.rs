//! Secrets kept out of messages: credentials and sensitive query values in URLs, sensitive
//! header values, and the same values when a server echoes them back.

use std::fmt;

use base64::Engine as _;
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};

/// What a hidden value is shown as.
pub const HIDDEN: &str = "***";

/// Words that make a header or query parameter name sensitive wherever they appear in it.
const SENSITIVE_WORDS: [&str; 11] = [
    "auth",
    "token",
    "secret",
    "passw",
    "apikey",
    "api_key",
    "api-key",
    "credential",
    "session",
    "signature",
    "cookie",
];

/// Names (or last `_`/`-` parts of names) that are sensitive on their own: `key`,
/// `x-subscription-key`, `code` (Azure Functions), `sig` (SAS tokens).
const SENSITIVE_NAMES: [&str; 4] = ["key", "code", "sig", "pwd"];

fn sensitive_name(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    SENSITIVE_WORDS.iter().any(|w| name.contains(w))
        || name
            .rsplit(['-', '_'])
            .next()
            .is_some_and(|last| SENSITIVE_NAMES.contains(&last))
}

/// Whether a header's value must never be shown: `Authorization`, `Proxy-Authorization`,
/// `Cookie`, `Set-Cookie`, API keys (`X-Api-Key`, `Ocp-Apim-Subscription-Key`), tokens and
/// secrets of any name.
pub fn is_sensitive_header(name: &str) -> bool {
    sensitive_name(name)
}

/// Whether a query parameter's value must never be shown (`token`, `api_key`, `sig`, `code`,
/// `password`...).
pub fn is_sensitive_query_key(name: &str) -> bool {
    sensitive_name(name)
}

/// Why a header cannot be sent. The value is never part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The name is not an HTTP header name.
    #[error("header `{0}`: not a valid HTTP header name")]
    Name(String),
    /// The value holds characters HTTP forbids.
    #[error("header `{0}`: its value is not a valid HTTP header value (the value is not shown)")]
    Value(String),
}

/// A header to send, its value marked sensitive (kept out of `Debug` output and HTTP/2 header
/// compression tables) when [`is_sensitive_header`] says so, or when `always_sensitive`.
///
/// # Errors
/// When the name or the value cannot be sent.
pub fn header(
    name: &str,
    value: &str,
    always_sensitive: bool,
) -> Result<(HeaderName, HeaderValue), HeaderError> {
    let key = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| HeaderError::Name(name.to_owned()))?;
    let mut v =
        HeaderValue::from_str(value.trim()).map_err(|_| HeaderError::Value(name.to_owned()))?;
    if always_sensitive || is_sensitive_header(name) {
        v.set_sensitive(true);
    }
    Ok((key, v))
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// The `Authorization` value of HTTP Basic credentials: `Basic base64(user:password)`.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// Decodes `%XX` escapes (a URL's user and password); bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A URL for messages: user and password shown as `***`, the values of sensitive query
/// parameters ([`is_sensitive_query_key`]) as `***`, the rest as it is.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    hide_userinfo(&mut u);
    if u.query_pairs().any(|(k, _)| is_sensitive_query_key(&k)) {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_sensitive_query_key(&k) {
                    HIDDEN.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// A URL for messages where every query value may be a secret (a configured base URL): user,
/// password and the whole query shown as `***`; no fragment.
pub fn redact_url_and_query(url: &Url) -> String {
    let mut u = url.clone();
    hide_userinfo(&mut u);
    if u.query().is_some() {
        u.set_query(Some(HIDDEN));
    }
    u.set_fragment(None);
    u.to_string()
}

fn hide_userinfo(u: &mut Url) {
    if !u.username().is_empty() || u.password().is_some() {
        let _ = u.set_password(None);
        let _ = u.set_username(HIDDEN);
    }
}

/// Any text that should be a URL, for messages: what sits between `://` and `@` (user and
/// password) and the query shown as `***`.
///
/// A text that does not parse may hold a password with a `/`, `?` or `#` written unescaped
/// (`http://ann:ab/cd@host`), where no parser can tell where it ends: then everything from
/// `://` to the last `@` is hidden.
pub fn redact_url_text(text: &str) -> String {
    fn without_query(text: &str) -> String {
        match text.split_once('?') {
            Some((head, _)) => format!("{head}?{HIDDEN}"),
            None => text.to_owned(),
        }
    }
    let Some(s) = text.find("://") else {
        return match text.rfind('@') {
            Some(at) if !text.contains('/') || text.find('/').is_some_and(|slash| at < slash) => {
                format!("{HIDDEN}{}", without_query(&text[at..]))
            }
            _ => without_query(text),
        };
    };
    let rest = &text[s + 3..];
    if Url::parse(text.trim()).is_err() {
        return match rest.rfind('@') {
            Some(at) => format!("{}{HIDDEN}{}", &text[..s + 3], without_query(&rest[at..])),
            None => without_query(text),
        };
    }
    let (text, query) = match text.split_once('?') {
        Some((head, _)) => (head, "?***"),
        None => (text, ""),
    };
    let authority_end = text[s + 3..].find('/').map_or(text.len(), |e| s + 3 + e);
    let hidden = match text[s + 3..authority_end].rfind('@') {
        Some(at) => format!("{}{HIDDEN}{}", &text[..s + 3], &text[s + 3 + at..]),
        None => text.to_owned(),
    };
    format!("{hidden}{query}")
}

/// Values that messages must never show, and what each is shown as instead (`***`, or a label
/// such as `$API_TOKEN (redacted)`). Modelci's own messages never include them; this also
/// hides them when a server quotes them back (an error body that echoes the request).
///
/// Values shorter than [`Redactor::shortest`] are not hidden: they would blank out ordinary
/// words and numbers. `Debug` shows how many values are held, never them.
#[derive(Clone)]
pub struct Redactor {
    /// (value, shown as), longest value first so that a value is hidden whole before any part
    /// of it.
    values: Vec<(String, String)>,
    shortest: usize,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} values)", self.values.len())
    }
}

impl Redactor {
    /// Words of a header value hidden on their own (`Bearer <token>`: the token).
    const LONG_WORD: usize = 8;

    /// An empty redactor that hides values of 4 characters or more.
    pub fn new() -> Redactor {
        Redactor {
            values: Vec::new(),
            shortest: 4,
        }
    }

    /// The same, hiding only values of `chars` characters or more (applies to values added
    /// afterwards).
    #[must_use]
    pub fn with_shortest(mut self, chars: usize) -> Redactor {
        self.shortest = chars;
        self
    }

    /// The length below which values are not hidden.
    pub fn shortest(&self) -> usize {
        self.shortest
    }

    /// Whether nothing is hidden.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Hides `value` as `***`.
    pub fn secret(&mut self, value: &str) -> &mut Redactor {
        self.labelled(value, HIDDEN)
    }

    /// Hides `value` as `label`.
    pub fn labelled(&mut self, value: &str, label: &str) -> &mut Redactor {
        if value.chars().count() < self.shortest
            || self.values.iter().any(|(v, _)| v.as_str() == value)
        {
            return self;
        }
        let at = self
            .values
            .iter()
            .position(|(v, _)| v.len() < value.len())
            .unwrap_or(self.values.len());
        self.values.insert(at, (value.to_owned(), label.to_owned()));
        self
    }

    /// Hides a header value (trimmed) and each of its long words, as `label`.
    pub fn header_value(&mut self, value: &str, label: &str) -> &mut Redactor {
        let value = value.trim();
        self.labelled(value, label);
        for word in value
            .split_whitespace()
            .filter(|w| w.chars().count() >= Self::LONG_WORD)
        {
            self.labelled(word, label);
        }
        self
    }

    /// Hides the password of Basic credentials and their encoded form.
    pub fn basic_credentials(&mut self, user: &str, password: &str) -> &mut Redactor {
        self.secret(password);
        self.secret(&base64(format!("{user}:{password}").as_bytes()))
    }

    /// Hides a URL's password (as written and decoded) and its sensitive query values; with
    /// `every_query_value`, all its query values.
    pub fn url(&mut self, url: &Url, every_query_value: bool) -> &mut Redactor {
        if let Some(password) = url.password() {
            self.secret(password);
            let decoded = percent_decode(password);
            self.secret(&decoded);
            // What the client sends for them: `Authorization: Basic base64(user:password)`,
            // which a server may echo.
            self.basic_credentials(&percent_decode(url.username()), &decoded);
        }
        let values: Vec<String> = url
            .query_pairs()
            .filter(|(k, _)| every_query_value || is_sensitive_query_key(k))
            .map(|(_, v)| v.into_owned())
            .collect();
        for v in values {
            self.secret(&v);
        }
        self
    }

    /// `text` with every value replaced.
    pub fn hide(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (value, shown) in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), shown);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foobar", "Zm9vYmFy"),
            ("ann:pw", "YW5uOnB3"),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input}");
        }
        assert_eq!(basic_auth("ann", "pw"), "Basic YW5uOnB3");
        assert_eq!(percent_decode("p%40ss%2Fw"), "p@ss/w");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn sensitive_headers_and_query_keys() {
        for h in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "Set-Cookie",
            "X-Api-Key",
            "api-key",
            "Ocp-Apim-Subscription-Key",
            "X-Auth-Token",
            "X-Client-Secret",
        ] {
            assert!(is_sensitive_header(h), "{h}");
        }
        for h in [
            "Accept",
            "Content-Type",
            "X-Request-Id",
            "User-Agent",
            "Keyboard",
        ] {
            assert!(!is_sensitive_header(h), "{h}");
        }
        for k in [
            "token",
            "access_token",
            "api_key",
            "sig",
            "code",
            "password",
            "key",
        ] {
            assert!(is_sensitive_query_key(k), "{k}");
        }
        for k in ["page", "limit", "model", "q", "monkey_name"] {
            assert!(!is_sensitive_query_key(k), "{k}");
        }
        let (_, v) = header("Authorization", " Bearer abc ", false).expect("header");
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().expect("ascii"), "Bearer abc");
        let (_, v) = header("Accept", "text/plain", false).expect("header");
        assert!(!v.is_sensitive());
        assert!(
            header("Accept", "x", true)
                .expect("header")
                .1
                .is_sensitive()
        );
        assert_eq!(
            header("Bad Name", "v", false),
            Err(HeaderError::Name("Bad Name".into()))
        );
        let e = header("X-Token", "line\nbreak-SECRET", false).expect_err("bad value");
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }

    #[test]
    fn a_url_password_is_hidden_as_written_decoded_and_as_basic_credentials() {
        let url = Url::parse("http://ann:p%40ss-w0rd@h:1/x").expect("url");
        let mut r = Redactor::new();
        r.url(&url, false);
        // What the client sends for userinfo, and a server may echo: Basic base64("ann:p@ss-w0rd").
        let echoed = format!(
            "raw p%40ss-w0rd, decoded p@ss-w0rd, header Authorization: Basic {}",
            base64(b"ann:p@ss-w0rd")
        );
        let hidden = r.hide(&echoed);
        assert!(!hidden.contains("p%40ss-w0rd"), "{hidden}");
        assert!(!hidden.contains("p@ss-w0rd"), "{hidden}");
        assert!(!hidden.contains(&base64(b"ann:p@ss-w0rd")), "{hidden}");
    }

    #[test]
    fn urls_hide_userinfo_and_sensitive_query_values() {
        assert_eq!(
            redact_url(&url("http://u:p@h:1/x?page=2&token=abc&api_key=k")),
            "http://***@h:1/x?page=2&token=***&api_key=***"
        );
        assert_eq!(
            redact_url(&url("http://h:1/x?page=2")),
            "http://h:1/x?page=2"
        );
        assert_eq!(
            redact_url_and_query(&url("http://u:p@h:1/x?page=2#f")),
            "http://***@h:1/x?***"
        );
    }

    #[test]
    fn url_text_hides_userinfo_and_query_even_when_it_does_not_parse() {
        assert_eq!(
            redact_url_text("http://u:p@h:1/x?q=1"),
            "http://***@h:1/x?***"
        );
        assert_eq!(redact_url_text("http://h:1/a@b"), "http://h:1/a@b");
        assert_eq!(redact_url_text("mlruns"), "mlruns");
        assert_eq!(redact_url_text("u:p@h:99"), "***@h:99");
        assert_eq!(
            redact_url_text("http://ann:ab/cd@h:1/x?q=1"),
            "http://***@h:1/x?***"
        );
        for uri in [
            "http://ann:ab/cd-SECRET@h:1",
            "http://ann:ab?cd-SECRET@h:1",
            "http://ann:ab#cd-SECRET@h:1/x",
            "https://ann:a/b?c#d-SECRET@h.example:8443/mlflow",
            "http://u:SECRET@h:99999/x",
        ] {
            let shown = redact_url_text(uri);
            assert!(!shown.contains("SECRET"), "{uri}: {shown}");
            assert!(shown.starts_with("http"), "{uri}: {shown}");
        }
    }

    #[test]
    fn echoed_secrets_are_hidden_whole_and_encoded() {
        let mut r = Redactor::new();
        r.basic_credentials("ann", "hunter22");
        let b64 = base64(b"ann:hunter22");
        assert_eq!(
            r.hide(&format!("got hunter22 and Basic {b64}")),
            "got *** and Basic ***"
        );
        let mut r = Redactor::new();
        r.url(
            &url("http://u:p%40ssword@h:1/?token=tok-123&page=12345"),
            false,
        );
        assert_eq!(
            r.hide("p@ssword p%40ssword tok-123 page 12345"),
            "*** *** *** page 12345"
        );
        let mut r = Redactor::new().with_shortest(6);
        r.url(&url("http://h:1/?a=123456&b=12"), true);
        assert_eq!(r.hide("123456 12"), "*** 12");
    }

    #[test]
    fn header_values_hide_whole_then_long_words_with_labels() {
        let mut r = Redactor::new();
        r.header_value(" Bearer tok-123456789 ", "$TOKEN (redacted)");
        assert_eq!(
            r.hide("sent Bearer tok-123456789; token tok-123456789"),
            "sent $TOKEN (redacted); token $TOKEN (redacted)"
        );
        // Short values would blank out ordinary words.
        let mut r = Redactor::new();
        r.secret("abc");
        assert!(r.is_empty());
        assert_eq!(r.hide("abc"), "abc");
        r.secret("hunter22");
        assert_eq!(format!("{r:?}"), "Redactor(1 values)");
    }
}

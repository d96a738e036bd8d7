//! HAL: `_links` relations and templated hrefs.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// What stays as is in a path segment (RFC 3986 unreserved characters).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Fills a templated href: each `{name}` with its value, percent-encoded as a path segment
/// (`Foo Thing` -> `Foo%20Thing`, `a/b` -> `a%2Fb`). Unknown names stay as they are.
pub fn expand(href: &str, values: &[(&str, &str)]) -> String {
    let mut out = href.to_owned();
    for (name, value) in values {
        let encoded = utf8_percent_encode(value, SEGMENT).to_string();
        out = out.replace(&format!("{{{name}}}"), &encoded);
    }
    out
}

/// One link of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub href: String,
    pub name: Option<String>,
}

/// The links of `relation` in a resource's `_links` (a relation is one link or an array).
pub(crate) fn links(resource: &Value, relation: &str) -> Vec<Link> {
    let one = |v: &Value| {
        v.get("href").and_then(Value::as_str).map(|href| Link {
            href: href.to_owned(),
            name: v.get("name").and_then(Value::as_str).map(str::to_owned),
        })
    };
    match resource.get("_links").and_then(|l| l.get(relation)) {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_are_filled_and_encoded() {
        assert_eq!(
            expand(
                "/pacticipants/{pacticipant}/versions/{version}",
                &[("pacticipant", "Foo Thing"), ("version", "1.2/3")]
            ),
            "/pacticipants/Foo%20Thing/versions/1.2%2F3"
        );
        assert_eq!(expand("/x/{other}", &[("pacticipant", "a")]), "/x/{other}");
    }

    #[test]
    fn relations_are_one_link_or_many() {
        let r = json!({"_links": {
            "one": {"href": "/a"},
            "many": [{"href": "/b", "name": "test"}, {"name": "no href"}],
        }});
        assert_eq!(
            links(&r, "one"),
            vec![Link {
                href: "/a".into(),
                name: None
            }]
        );
        assert_eq!(
            links(&r, "many"),
            vec![Link {
                href: "/b".into(),
                name: Some("test".into())
            }]
        );
        assert!(links(&r, "none").is_empty());
        assert!(links(&json!([1]), "one").is_empty());
    }
}

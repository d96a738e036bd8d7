//! Removing what was deprecated is the end of a promise kept, not a surprise: a breaking
//! `*-removed` finding whose removed thing (an operation, a path's operations, a parameter, a
//! header, a schema property) was marked `deprecated: true` in the old document becomes a
//! warning. When the old document also gave an `x-sunset` date (the `Sunset` header's date,
//! RFC 8594, as an extension) that has not passed yet, the removal came too early and stays
//! breaking, with the date in the message. The finding's id is kept, so ignore entries and
//! dashboards keep matching it.

use modelci_openapi::Document;
use modelci_openapi::diff::{Finding, Severity};
use serde_json::Value;

/// The node at a JSON pointer of the old document (path items are read from where the document
/// keeps them).
fn node_at(doc: &Document, pointer: &str) -> Option<Value> {
    let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
    if let Some(rest) = pointer.strip_prefix("/paths/") {
        let (path, inner) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let path = path.replace("~1", "/").replace("~0", "~");
        let item = doc.paths.get(&path)?.ok()?;
        return if inner.is_empty() {
            Some(item.into_owned())
        } else {
            item.pointer(inner).cloned()
        };
    }
    doc.root.pointer(pointer).cloned()
}

/// What a breaking finding removed, when it removed one thing: the node at its old pointer for
/// `*-removed` findings (an operation, a parameter, a header, a property's schema), or the
/// property of the old schema named by the instance path for a property no longer allowed
/// (`*-additional-properties-closed`, `*-property-removed` at `/name`).
fn removed_node(old: &Document, f: &Finding) -> Option<Value> {
    let node = node_at(old, &f.old_pointer)?;
    let property_gone =
        f.id.ends_with("-additional-properties-closed") || f.id.ends_with("-property-removed");
    if property_gone && !f.instance_path.is_empty() {
        let name = f.instance_path.strip_prefix('/')?;
        if name.contains('/') {
            return None;
        }
        let name = name.replace("~1", "/").replace("~0", "~");
        return node.get("properties")?.get(&name).cloned();
    }
    f.id.ends_with("-removed").then_some(node)
}

/// The `x-sunset` date of a node (`YYYY-MM-DD`, or an RFC 3339 time whose date is taken).
fn sunset(node: &Value) -> Option<chrono::NaiveDate> {
    let text = node.get("x-sunset")?.as_str()?;
    let day = text.get(..10)?;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

/// Applies the rule above to `findings`, with `today` deciding whether a sunset has passed.
pub fn soften_deprecated_removals(
    old: &Document,
    findings: &mut [Finding],
    today: chrono::NaiveDate,
) {
    for f in findings.iter_mut() {
        if f.severity != Severity::Breaking || f.old_pointer.is_empty() {
            continue;
        }
        let Some(node) = removed_node(old, f) else {
            continue;
        };
        if node.get("deprecated") != Some(&Value::Bool(true)) {
            continue;
        }
        match sunset(&node) {
            Some(date) if date > today => {
                f.message.push_str(&format!(
                    " (it was deprecated, but its x-sunset date {date} has not passed)"
                ));
            }
            Some(date) => {
                f.severity = Severity::Warning;
                f.message.push_str(&format!(
                    " (it was deprecated, and its x-sunset date {date} has passed)"
                ));
            }
            None => {
                f.severity = Severity::Warning;
                f.message.push_str(" (it was deprecated)");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Document {
        modelci_openapi::parse(yaml, "old.yaml").expect("parse")
    }

    fn removed(id: &str, pointer: &str) -> Finding {
        Finding {
            id: id.into(),
            severity: Severity::Breaking,
            old_pointer: pointer.into(),
            new_pointer: String::new(),
            message: "removed".into(),
            operation: String::new(),
            instance_path: String::new(),
            witness: None,
        }
    }

    const OLD: &str = r#"
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /old:
    get:
      deprecated: true
      responses: {"200": {description: ok}}
  /soon:
    get:
      deprecated: true
      x-sunset: "2999-01-01"
      responses: {"200": {description: ok}}
  /past:
    get:
      deprecated: true
      x-sunset: "2020-06-30T00:00:00Z"
      responses: {"200": {description: ok}}
  /live:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  legacy: {type: string, deprecated: true}
                  name: {type: string}
"#;

    #[test]
    fn deprecated_removals_are_warnings_until_a_sunset_that_has_not_passed() {
        let old = doc(OLD);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).expect("date");
        let body = "/paths/~1live/get/responses/200/content/application~1json/schema/properties";
        let mut findings = vec![
            removed("operation-removed", "/paths/~1old/get"),
            removed("operation-removed", "/paths/~1soon/get"),
            removed("path-removed", "/paths/~1past/get"),
            removed("response-body-property-removed", &format!("{body}/legacy")),
            removed("response-body-property-removed", &format!("{body}/name")),
            removed("response-body-type-narrowed", "/paths/~1old/get"),
        ];
        soften_deprecated_removals(&old, &mut findings, today);
        let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
        assert_eq!(
            severities,
            vec![
                Severity::Warning,
                Severity::Breaking,
                Severity::Warning,
                Severity::Warning,
                Severity::Breaking,
                Severity::Breaking,
            ]
        );
        assert!(
            findings[1]
                .message
                .contains("x-sunset date 2999-01-01 has not passed")
        );
        assert!(
            findings[2]
                .message
                .contains("x-sunset date 2020-06-30 has passed")
        );
        assert!(findings[0].message.ends_with("(it was deprecated)"));
        // Ids are kept.
        assert_eq!(findings[0].id, "operation-removed");
    }

    #[test]
    fn a_deprecated_request_property_dropped_from_a_closed_schema_is_a_warning() {
        let old_doc = |deprecated: bool| {
            doc(&format!(
                r#"
openapi: 3.0.3
info: {{title: t, version: "1"}}
paths:
  /live:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                legacy: {{type: string, deprecated: {deprecated}}}
                name: {{type: string}}
      responses: {{"200": {{description: ok}}}}
"#
            ))
        };
        let new = doc(r#"
openapi: 3.0.3
info: {title: t, version: "2"}
paths:
  /live:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              properties:
                name: {type: string}
      responses: {"200": {description: ok}}
"#);
        for (deprecated, severity) in [(true, Severity::Warning), (false, Severity::Breaking)] {
            let report = crate::contract_diff::diff(
                &old_doc(deprecated),
                &new,
                crate::contract_diff::Roles::Both,
                &modelci_openapi::compat::Compat,
            )
            .expect("diff");
            let [f] = report.findings.as_slice() else {
                panic!("one finding: {:#?}", report.findings);
            };
            assert_eq!(f.instance_path, "/legacy", "{f:#?}");
            assert_eq!(f.severity, severity, "{f:#?}");
        }
    }
}

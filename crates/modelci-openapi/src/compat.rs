//! The schema comparison behind `contract diff`: `modelci-schemadiff`'s direction-aware
//! subschema checker, on standalone schemas (local `$ref`s gathered under `$defs`, OpenAPI 3.0's
//! dialect already translated).

use modelci_schemadiff::{Dialect, Options, SchemaRef};
use serde_json::Value;

use crate::diff::{Role, SchemaChange, SchemaCompare};

/// Compares with `modelci-schemadiff`.
pub struct Compat;

/// A finding's pointer, relative to the compared schema (`/properties/id`), or absolute in the
/// contract (`#/components/schemas/Pet/properties/id`) when it lies in a referenced schema.
fn location(pointer: &str) -> String {
    let p = pointer.strip_prefix('#').unwrap_or(pointer);
    if let Some(rest) = p.strip_prefix("/$defs/modelci~1") {
        // `$defs` keys are `modelci` + the original pointer (escaped once more in the pointer).
        let (key, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let original = format!("/{}", key.replace("~1", "/").replace("~0", "~"));
        return format!("#{original}{tail}");
    }
    p.to_owned()
}

impl SchemaCompare for Compat {
    fn compare(&self, old: &Value, new: &Value, role: Role) -> Vec<SchemaChange> {
        let opts = Options {
            dialect: Dialect::JsonSchema,
            assert_formats: false,
        };
        let r = match role {
            Role::Request => modelci_schemadiff::Role::Deserializer,
            Role::Response => modelci_schemadiff::Role::Serializer,
        };
        match modelci_schemadiff::check_with(SchemaRef::root(old), SchemaRef::root(new), r, &opts) {
            Ok(report) => report
                .findings
                .into_iter()
                .map(|f| SchemaChange {
                    kind: f.kind.id().to_owned(),
                    old_path: location(&f.pointer_old),
                    new_path: location(&f.pointer_new),
                    instance_path: f.instance_path.clone(),
                    message: if f.instance_path.is_empty() {
                        f.message
                    } else {
                        format!("at {}: {}", f.instance_path, f.message)
                    },
                    witness: f.witness,
                    breaking: true,
                })
                .collect(),
            Err(e) => vec![SchemaChange {
                kind: "unresolvable".into(),
                old_path: String::new(),
                new_path: String::new(),
                instance_path: String::new(),
                message: format!("cannot compare the schemas: {e}"),
                witness: None,
                breaking: false,
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_in_referenced_schemas_become_absolute() {
        assert_eq!(location("#/properties/id"), "/properties/id");
        assert_eq!(
            location("#/$defs/modelci~1components~1schemas~1Pet/properties/id"),
            "#/components/schemas/Pet/properties/id"
        );
        assert_eq!(location("#"), "");
    }
}

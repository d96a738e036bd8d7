//! Finding where a JSON Pointer's value sits in the source text, for `file:line` locations.

use jsonc_parser::ast::Value;
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};
pub use modelci_report::line_col;

/// The byte offset in `text` of the value that `pointer` (RFC 6901) designates, or of the
/// deepest existing parent when the pointer runs past the document (a missing property is
/// reported at the object that lacks it). `None` when `text` is not JSON.
pub fn pointer_offset(text: &str, pointer: &str) -> Option<usize> {
    let parsed = parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default()).ok()?;
    let mut node = parsed.value.as_ref()?;
    if pointer.is_empty() {
        return Some(node.start());
    }
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        let next = match node {
            Value::Object(obj) => obj
                .properties
                .iter()
                .find(|p| p.name.as_str() == token)
                .map(|p| &p.value),
            Value::Array(arr) => token
                .parse::<usize>()
                .ok()
                .and_then(|i| arr.elements.get(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    Some(node.start())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "{\n  \"a\": {\n    \"b/c\": [1,\n      2]\n  },\n  \"x~y\": true\n}";

    fn at(pointer: &str) -> (u32, u32) {
        line_col(DOC, pointer_offset(DOC, pointer).expect("json"))
    }

    #[test]
    fn finds_values_by_pointer_with_escapes() {
        assert_eq!(at(""), (1, 1));
        assert_eq!(at("/a"), (2, 8));
        assert_eq!(at("/a/b~1c/1"), (4, 7));
        assert_eq!(at("/x~0y"), (6, 10));
    }

    #[test]
    fn missing_members_point_at_the_parent() {
        assert_eq!(at("/a/nope"), (2, 8));
    }
}

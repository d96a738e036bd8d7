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

/// The byte offsets of the elements of the array found by following object `keys` from the root
/// of a JSON document (parsed once): `["interactions"]` in a pact file, `["log", "entries"]` in
/// a HAR file.
pub fn element_offsets(text: &str, keys: &[&str]) -> Vec<usize> {
    let Ok(parsed) = parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default())
    else {
        return Vec::new();
    };
    let Some(mut node) = parsed.value.as_ref() else {
        return Vec::new();
    };
    for key in keys {
        let Value::Object(obj) = node else {
            return Vec::new();
        };
        match obj.properties.iter().find(|p| p.name.as_str() == *key) {
            Some(p) => node = &p.value,
            None => return Vec::new(),
        }
    }
    match node {
        Value::Array(arr) => arr.elements.iter().map(Ranged::start).collect(),
        _ => Vec::new(),
    }
}

/// Lines and columns of ascending byte offsets, in one pass over the text.
pub fn line_cols(text: &str, offsets: &[usize]) -> Vec<(u32, u32)> {
    let mut out = Vec::with_capacity(offsets.len());
    let (mut line, mut line_start, mut pos) = (1u32, 0usize, 0usize);
    for &offset in offsets {
        if offset < pos {
            out.push(line_col(text, offset));
            continue;
        }
        let end = offset.min(text.len());
        for (i, b) in text.as_bytes()[pos..end].iter().enumerate() {
            if *b == b'\n' {
                line += 1;
                line_start = pos + i + 1;
            }
        }
        pos = end;
        let mut boundary = end;
        while !text.is_char_boundary(boundary) {
            boundary -= 1;
        }
        let col = text[line_start.min(boundary)..boundary].chars().count() + 1;
        out.push((line, u32::try_from(col).unwrap_or(u32::MAX)));
    }
    out
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
    fn element_offsets_and_line_cols_in_one_pass() {
        let text = "{\"a\": [\n  1,\n  {\"b\": 2}\n], \"c\": 3}";
        let offsets = element_offsets(text, &["a"]);
        assert_eq!(line_cols(text, &offsets), [(2, 3), (3, 3)]);
        assert!(element_offsets(text, &["c"]).is_empty());
        assert!(element_offsets("not json", &["a"]).is_empty());
        assert_eq!(
            element_offsets("{\"log\": {\"entries\": [1, 2]}}", &["log", "entries"]).len(),
            2
        );
        for &o in &offsets {
            assert_eq!(line_cols(text, &[o])[0], line_col(text, o));
        }
    }

    #[test]
    fn missing_members_point_at_the_parent() {
        assert_eq!(at("/a/nope"), (2, 8));
    }
}

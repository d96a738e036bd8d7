//! The path items of an OpenAPI document, kept as compact JSON text and parsed when asked for.
//!
//! A parsed [`serde_json::Value`] (with `preserve_order`) takes about ten times the size of its
//! JSON, and the path items are most of a large document; a diff needs one path item of each
//! version at a time, and a test suite one operation at a time. So a document is read in one
//! pass in which each path item is parsed, written back as compact JSON and dropped: the
//! document then costs about the size of its compact JSON plus its parsed `components`, and a
//! 50 MB document is diffed in a few hundred MB (issue 12). serde's `RawValue` would do this for
//! JSON only; documents are YAML as often, so the split is a serde visitor that works for both.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::Deserializer;
use serde::de::value::SeqAccessDeserializer;
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The path items of a document (`paths`), in document order.
#[derive(Debug, Clone, Default)]
pub struct PathItems {
    items: Vec<PathItem>,
    /// Position in `items` by path.
    index: HashMap<String, usize>,
}

#[derive(Debug, Clone)]
struct PathItem {
    path: String,
    /// The path item as compact JSON.
    text: Box<str>,
    /// The parsed path item, kept only once a `$ref` has pointed into it.
    parsed: OnceLock<Value>,
}

impl PathItem {
    fn parse(&self) -> Result<Value, String> {
        serde_json::from_str(&self.text)
            .map_err(|e| format!("path `{}` cannot be read back: {e}", self.path))
    }
}

impl PathItems {
    /// The number of paths.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Each path with its path item (unresolved), parsed for the caller, in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Result<Cow<'_, Value>, String>)> {
        self.items.iter().map(|item| {
            let value = match item.parsed.get() {
                Some(v) => Ok(Cow::Borrowed(v)),
                None => item.parse().map(Cow::Owned),
            };
            (item.path.as_str(), value)
        })
    }

    /// The paths, in document order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|i| i.path.as_str())
    }

    /// The path item of `path`, parsed for the caller.
    ///
    /// # Errors
    /// When the path item cannot be parsed back (nesting beyond the JSON parser's limit).
    pub fn get(&self, path: &str) -> Option<Result<Cow<'_, Value>, String>> {
        let item = &self.items[*self.index.get(path)?];
        Some(match item.parsed.get() {
            Some(v) => Ok(Cow::Borrowed(v)),
            None => item.parse().map(Cow::Owned),
        })
    }

    /// The path item of `path`, parsed once and kept with the document (for `$ref`s that point
    /// into a path item, which need a reference that lives as long as the document).
    ///
    /// # Errors
    /// As [`PathItems::get`].
    pub fn kept(&self, path: &str) -> Option<Result<&Value, String>> {
        let item = &self.items[*self.index.get(path)?];
        if let Some(v) = item.parsed.get() {
            return Some(Ok(v));
        }
        Some(item.parse().map(|v| item.parsed.get_or_init(|| v)))
    }

    /// All path items as one `paths` object.
    ///
    /// # Errors
    /// As [`PathItems::get`].
    pub fn to_value(&self) -> Result<Value, String> {
        let mut out = Map::new();
        for (path, item) in self.iter() {
            out.insert(path.to_owned(), item?.into_owned());
        }
        Ok(Value::Object(out))
    }

    fn insert(&mut self, path: String, text: Box<str>) {
        let item = PathItem {
            path: path.clone(),
            text,
            parsed: OnceLock::new(),
        };
        // As in a parsed object: a repeated key keeps its first position and its last value.
        if let Some(&i) = self.index.get(&path) {
            self.items[i] = item;
        } else {
            self.index.insert(path, self.items.len());
            self.items.push(item);
        }
    }
}

/// A document read with its path items split out: `root` is the document without `paths`
/// when `paths` is an object (then in `paths`), and the whole document otherwise.
pub(crate) struct Split {
    pub root: Value,
    pub paths: Option<PathItems>,
}

/// Reads a document from any serde deserializer (JSON or YAML) in one pass, splitting out the
/// path items.
pub(crate) fn split<'de, D: Deserializer<'de>>(de: D) -> Result<Split, D::Error> {
    de.deserialize_any(AnyOr(Root))
}

/// What a visitor builds from a map; anything else becomes a plain [`Value`].
trait MapBuilder {
    type Out;
    fn map<'de, A: MapAccess<'de>>(self, map: A) -> Result<Self::Out, A::Error>;
    fn other(value: Value) -> Self::Out;
}

struct Root;

impl MapBuilder for Root {
    type Out = Split;

    fn map<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<Split, A::Error> {
        let mut root = Map::new();
        let mut paths = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "paths" {
                match map.next_value_seed(AnyOr(Paths))? {
                    Ok(items) => {
                        root.shift_remove("paths");
                        paths = Some(items);
                    }
                    Err(other) => {
                        paths = None;
                        root.insert(key, other);
                    }
                }
            } else {
                let value: Value = map.next_value()?;
                root.insert(key, value);
            }
        }
        Ok(Split {
            root: Value::Object(root),
            paths,
        })
    }

    fn other(value: Value) -> Split {
        Split {
            root: value,
            paths: None,
        }
    }
}

/// `paths` as path items, or the value it is when it is not an object.
struct Paths;

impl MapBuilder for Paths {
    type Out = Result<PathItems, Value>;

    fn map<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        let mut items = PathItems::default();
        while let Some(path) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            let text = serde_json::to_string(&value).map_err(A::Error::custom)?;
            items.insert(path, text.into_boxed_str());
        }
        Ok(Ok(items))
    }

    fn other(value: Value) -> Self::Out {
        Err(value)
    }
}

/// A visitor that hands maps to `B` and builds a [`Value`] from anything else.
struct AnyOr<B>(B);

impl<'de, B: MapBuilder> DeserializeSeed<'de> for AnyOr<B> {
    type Value = B::Out;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<B::Out, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de, B: MapBuilder> Visitor<'de> for AnyOr<B> {
    type Value = B::Out;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<B::Out, A::Error> {
        self.0.map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<B::Out, A::Error> {
        serde::Deserialize::deserialize(SeqAccessDeserializer::new(seq)).map(B::other)
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<B::Out, E> {
        Ok(B::other(Value::Bool(v)))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<B::Out, E> {
        Ok(B::other(Value::from(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<B::Out, E> {
        Ok(B::other(Value::from(v)))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<B::Out, E> {
        Ok(B::other(Value::from(v)))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<B::Out, E> {
        Ok(B::other(Value::String(v.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<B::Out, E> {
        Ok(B::other(Value::String(v)))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<B::Out, E> {
        Ok(B::other(Value::Null))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<B::Out, E> {
        Ok(B::other(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<B::Out, D::Error> {
        de.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_json(text: &str) -> Split {
        split(&mut serde_json::Deserializer::from_str(text)).expect("parses")
    }

    #[test]
    fn path_items_are_split_out_in_order_and_parse_back_equal() {
        let text = r##"{"openapi": "3.1.0", "paths": {"/b": {"get": {"x": [1, 2.5, null]}}, "/a": {"$ref": "#/components/pathItems/A"}}, "components": {}}"##;
        let s = split_json(text);
        let whole: Value = serde_json::from_str(text).expect("json");
        assert_eq!(s.root.get("paths"), None);
        assert_eq!(s.root.get("components"), whole.get("components"));
        let paths = s.paths.expect("paths");
        assert_eq!(paths.paths().collect::<Vec<_>>(), ["/b", "/a"]);
        assert_eq!(paths.to_value().expect("back"), whole["paths"]);
        assert_eq!(
            paths
                .get("/b")
                .expect("there")
                .expect("parses")
                .into_owned(),
            whole["paths"]["/b"]
        );
        assert!(paths.get("/c").is_none());
        let kept = paths.kept("/a").expect("there").expect("parses");
        assert_eq!(kept, &whole["paths"]["/a"]);
    }

    #[test]
    fn a_repeated_path_keeps_its_place_and_its_last_value() {
        let s = split_json(r#"{"paths": {"/a": 1, "/b": 2, "/a": 3}}"#);
        let paths = s.paths.expect("paths");
        assert_eq!(
            paths.to_value().expect("back"),
            serde_json::json!({"/a": 3, "/b": 2})
        );
        assert_eq!(paths.paths().collect::<Vec<_>>(), ["/a", "/b"]);
    }

    #[test]
    fn paths_that_are_not_an_object_and_other_documents_stay_whole() {
        for text in [
            r#"{"paths": [1]}"#,
            "true",
            "[1, {\"paths\": {}}]",
            "null",
            "\"x\"",
        ] {
            let s = split_json(text);
            assert!(s.paths.is_none(), "{text}");
            assert_eq!(
                s.root,
                serde_json::from_str::<Value>(text).expect("json"),
                "{text}"
            );
        }
    }

    #[test]
    fn yaml_is_split_the_same_way() {
        let yaml = "openapi: 3.0.3\npaths:\n  /p:\n    get:\n      responses:\n        200: {description: ok}\ncomponents: {}\n";
        let s = split(serde_yaml_ng::Deserializer::from_str(yaml)).expect("yaml");
        let whole: Value = serde_yaml_ng::from_str(yaml).expect("yaml");
        assert_eq!(
            s.paths.expect("paths").to_value().expect("back"),
            whole["paths"]
        );
        assert_eq!(s.root["openapi"], whole["openapi"]);
    }
}

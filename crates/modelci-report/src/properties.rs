use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Key/value properties of a run, suite or case (model sha256, device, seed, ...), kept sorted
/// by key. A sorted `Vec` rather than a `BTreeMap`: runs hold hundreds of thousands of cases with
/// a handful of properties each, and a map node per case would dominate memory. Serialized as a
/// JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(Vec<(String, String)>);

impl Properties {
    /// No properties.
    pub fn new() -> Properties {
        Properties(Vec::new())
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let key = key.into();
        let value = value.into();
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Sets `key` to `value` unless it is already set.
    pub fn insert_if_absent(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        if let Err(i) = self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            self.0.insert(i, (key, value.into()));
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The properties in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl IntoIterator for Properties {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut p = Properties::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Properties {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Properties(map.into_iter().collect()))
    }
}

impl JsonSchema for Properties {
    fn schema_name() -> Cow<'static, str> {
        "Properties".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = BTreeMap::<String, String>::json_schema(generator);
        schema.insert(
            "description".into(),
            "Key/value properties (model sha256, device, seed, threshold source, ...).".into(),
        );
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_sorted_and_replaces() {
        let mut p = Properties::new();
        assert_eq!(p.insert("b", "1"), None);
        p.insert("a", "2");
        assert_eq!(p.insert("b", "3"), Some("1".into()));
        p.insert_if_absent("a", "ignored");
        let pairs: Vec<_> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(pairs, ["a=2", "b=3"]);
        assert_eq!(p.get("b").map(String::as_str), Some("3"));
        assert_eq!(
            serde_json::to_string(&p).expect("json"),
            r#"{"a":"2","b":"3"}"#
        );
        let back: Properties = serde_json::from_str(r#"{"z":"1","a":"0"}"#).expect("parse");
        assert_eq!(back.iter().next().map(|(k, _)| k.as_str()), Some("a"));
    }
}

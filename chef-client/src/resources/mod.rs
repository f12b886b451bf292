//! Resource handlers and their types.

pub mod clients;
pub mod cookbooks;
pub mod data_bags;
pub mod environments;
pub mod nodes;
pub mod roles;
pub mod search;
pub mod status;
pub mod users;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Decode a Chef list answer (`{"name": "url", ...}`) into sorted names.
pub(crate) fn names(map: BTreeMap<String, Value>) -> Vec<String> {
    map.into_keys().collect()
}

/// Walk `path` in a JSON object.
pub(crate) fn lookup<'a>(root: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = root.get(*first)?;
    for key in rest {
        cur = cur.as_object()?.get(*key)?;
    }
    Some(cur)
}

/// Set `path` in a JSON object, creating (or replacing non-object) intermediate levels.
/// An empty path does nothing.
pub(crate) fn set_path(root: &mut Map<String, Value>, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = root;
    for key in parents {
        let entry = cur
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        cur = next;
    }
    cur.insert((*last).to_owned(), value);
}

/// Remove `path` from a JSON object, returning the removed value.
pub(crate) fn remove_path(root: &mut Map<String, Value>, path: &[&str]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut cur = root;
    for key in parents {
        cur = cur.get_mut(*key)?.as_object_mut()?;
    }
    cur.remove(*last)
}

/// A field that may be missing or `null` (Chef Server and goiardi leave out or null empty
/// collections and flags): read as the type's default.
pub(crate) fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    Ok(<Option<T> as serde::Deserialize>::deserialize(d)?.unwrap_or_default())
}

/// Declares `fn $name` reading a missing or `null` field as `$default()`.
macro_rules! null_or {
    ($name:ident, $default:ident, $ty:ty) => {
        fn $name<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<$ty, D::Error> {
            Ok(<Option<$ty> as serde::Deserialize>::deserialize(d)?.unwrap_or_else($default))
        }
    };
}
pub(crate) use null_or;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_helpers() {
        let mut m = Map::new();
        set_path(&mut m, &["a", "b", "c"], json!(1));
        set_path(&mut m, &["a", "x"], json!("y"));
        assert_eq!(
            Value::Object(m.clone()),
            json!({"a": {"b": {"c": 1}, "x": "y"}})
        );
        assert_eq!(lookup(&m, &["a", "b", "c"]), Some(&json!(1)));
        assert_eq!(lookup(&m, &["a", "x", "c"]), None);
        assert_eq!(lookup(&m, &[]), None);
        set_path(&mut m, &["a", "x", "z"], json!(2));
        assert_eq!(lookup(&m, &["a", "x", "z"]), Some(&json!(2)));
        assert_eq!(remove_path(&mut m, &["a", "b"]), Some(json!({"c": 1})));
        assert_eq!(remove_path(&mut m, &["a", "b"]), None);
        set_path(&mut m, &[], json!(3));
    }
}

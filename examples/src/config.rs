//! TOML configuration files.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::cli::CliError;

/// Read and parse a TOML file.
///
/// Errors are [bad input](crate::cli::ExitKind::BadInput) and name the file, the line and
/// column, and the parser's complaint — never the text of the line, which may hold a secret.
/// A key the configuration does not know is refused (a typo would silently be ignored).
pub fn load_toml<T: DeserializeOwned + 'static>(path: &Path, what: &str) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::bad_input(format!(
            "cannot read the {what} file {}: check the path",
            path.display()
        ))
        .with_source(e)
    })?;
    parse_toml(&text, path, what)
}

/// Parse TOML text that came from `path` (used in messages only).
pub fn parse_toml<T: DeserializeOwned + 'static>(
    text: &str,
    path: &Path,
    what: &str,
) -> Result<T, CliError> {
    // Unknown keys first: `member = […]` is better reported as a typo than as a missing
    // `members`.
    check_known_fields::<T>(text, path, what)?;
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let (line, col) = ops_core::error::line_column(text, span.start);
                format!(" at line {line}, column {col}")
            })
            .unwrap_or_default();
        CliError::bad_input(format!(
            "the {what} file {} is not valid{at}: {}; fix it and run again",
            path.display(),
            ops_core::error::without_values(e.message())
        ))
    })
}

/// Refuses a key `T` does not know, at the top level and in the tables its schema names
/// (issue #17: a typo in a status config was silently ignored). The known keys come from the
/// `Deserialize` derive of the types themselves, so they cannot drift from them.
fn check_known_fields<T: 'static>(text: &str, path: &Path, what: &str) -> Result<(), CliError> {
    let Some(schema) = schema_of::<T>() else {
        return Ok(());
    };
    // Keys with their positions; a date-time value defeats those (serde gives it as a
    // table of one private key), then the keys alone. A file that does not parse is
    // reported by the typed parse, with its position.
    let top = match toml::from_str::<KeyTree>(text) {
        Ok(t) => t,
        Err(_) => match toml::from_str::<toml::Value>(text) {
            Ok(v) => KeyTree::from(&v),
            Err(_) => return Ok(()),
        },
    };
    let mut unknown = None;
    schema.check(&top, "", &mut unknown);
    match unknown {
        None => Ok(()),
        Some((key, where_, span, expected)) => {
            let at = span
                .map(|s| {
                    let (line, col) = ops_core::error::line_column(text, s.start);
                    format!(" at line {line}, column {col}")
                })
                .unwrap_or_default();
            Err(CliError::bad_input(format!(
                "the {what} file {} is not valid{at}: unknown field `{key}`{where_}, expected \
                 one of {}; fix it and run again",
                path.display(),
                expected
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }
}

/// The keys a config type accepts, and the schemas of its arrays of tables.
struct Schema {
    fields: &'static [&'static str],
    tables: Vec<(&'static str, Schema)>,
}

/// The first unknown key: its name, where (` in [[components]]`), its span, what is known.
type Unknown = Option<(
    String,
    String,
    Option<std::ops::Range<usize>>,
    &'static [&'static str],
)>;

impl Schema {
    fn check(&self, tree: &KeyTree, in_table: &str, unknown: &mut Unknown) {
        let KeyTree::Table(entries) = tree else {
            return;
        };
        for (key, span, value) in entries {
            if unknown.is_some() {
                return;
            }
            if !self.fields.contains(&key.as_str()) {
                *unknown = Some((key.clone(), in_table.to_owned(), span.clone(), self.fields));
                return;
            }
            if let Some((name, nested)) = self.tables.iter().find(|(n, _)| n == key) {
                if let KeyTree::Array(items) = value {
                    for item in items {
                        nested.check(item, &format!(" in [[{name}]]"), unknown);
                    }
                }
            }
        }
    }
}

/// The schema of the config types this crate reads (`None`: not checked).
fn schema_of<T: 'static>() -> Option<Schema> {
    use ops_core::status::{ComponentSpec, StatusConfig};
    use std::any::TypeId;
    (TypeId::of::<T>() == TypeId::of::<StatusConfig>()).then(|| Schema {
        fields: fields_of::<StatusConfig>(),
        tables: vec![(
            "components",
            Schema {
                fields: fields_of::<ComponentSpec>(),
                tables: Vec::new(),
            },
        )],
    })
}

/// The field names a derived `Deserialize` struct accepts: the derive hands them to
/// `deserialize_struct`, where this deserializer notes them and stops.
fn fields_of<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor};
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Self::Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// The keys of a TOML document with their positions when known, and nothing of its values.
enum KeyTree {
    Table(Vec<(String, Option<std::ops::Range<usize>>, KeyTree)>),
    Array(Vec<KeyTree>),
    Value,
}

impl From<&toml::Value> for KeyTree {
    fn from(v: &toml::Value) -> Self {
        match v {
            toml::Value::Table(t) => KeyTree::Table(
                t.iter()
                    .map(|(k, v)| (k.clone(), None, KeyTree::from(v)))
                    .collect(),
            ),
            toml::Value::Array(a) => KeyTree::Array(a.iter().map(KeyTree::from).collect()),
            _ => KeyTree::Value,
        }
    }
}

impl<'de> serde::Deserialize<'de> for KeyTree {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = KeyTree;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any TOML value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<KeyTree, A::Error> {
                let mut entries = Vec::new();
                while let Some(k) = m.next_key::<toml::Spanned<String>>()? {
                    let v = m.next_value::<KeyTree>()?;
                    let span = k.span();
                    entries.push((k.into_inner(), Some(span), v));
                }
                Ok(KeyTree::Table(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<KeyTree, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = s.next_element::<KeyTree>()? {
                    items.push(v);
                }
                Ok(KeyTree::Array(items))
            }
            fn visit_bool<E>(self, _: bool) -> Result<KeyTree, E> {
                Ok(KeyTree::Value)
            }
            fn visit_i64<E>(self, _: i64) -> Result<KeyTree, E> {
                Ok(KeyTree::Value)
            }
            fn visit_u64<E>(self, _: u64) -> Result<KeyTree, E> {
                Ok(KeyTree::Value)
            }
            fn visit_f64<E>(self, _: f64) -> Result<KeyTree, E> {
                Ok(KeyTree::Value)
            }
            fn visit_str<E>(self, _: &str) -> Result<KeyTree, E> {
                Ok(KeyTree::Value)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct C {
        name: String,
        token: String,
    }

    #[test]
    fn the_known_fields_come_from_the_types() {
        let f = fields_of::<ops_core::status::StatusConfig>();
        assert!(
            f.contains(&"page_name") && f.contains(&"components"),
            "{f:?}"
        );
        assert!(fields_of::<ops_core::status::ComponentSpec>().contains(&"members"));
        assert!(fields_of::<String>().is_empty(), "not a struct");
    }

    #[test]
    fn unknown_status_config_keys_are_refused_with_their_place() {
        use ops_core::status::StatusConfig;
        let ok = "page_name = \"x\"\n[[components]]\nname = \"W\"\nmembers = [\"a\"]\n";
        parse_toml::<StatusConfig>(ok, Path::new("s.toml"), "status config").unwrap();
        let typo =
            format!("{ok}[[components]]\nname = \"V\"\nmembers = [\"b\"]\ndescripton = \"v\"\n");
        let e = parse_toml::<StatusConfig>(&typo, Path::new("s.toml"), "status config")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `descripton` in [[components]]"),
            "{e}"
        );
        assert!(e.contains("line 8, column 1"), "{e}");
        // A date-time value (the private key serde gives it) is not a field.
        let when = format!("when = 1979-05-27T07:32:00Z\n{ok}");
        let e = parse_toml::<StatusConfig>(&when, Path::new("s.toml"), "status config")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `when`,"), "{e}");
        assert!(!e.contains(" at line"), "no position for it: {e}");
        // Other types are not checked.
        parse_toml::<C>(
            "name = \"a\"\ntoken = \"b\"\nextra = 1\n",
            Path::new("x"),
            "c",
        )
        .unwrap();
    }

    #[test]
    fn error_names_position_not_text() {
        let text = "name = \"a\"\ntoken = sup3rsecret\n";
        let e = parse_toml::<C>(text, Path::new("x.toml"), "config").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("x.toml"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains("sup3rsecret"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}

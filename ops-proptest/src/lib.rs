//! Test support shared by the workspace's tests, never published: the proptest strategies of
//! the decoder property tests (issue #15: "parsers never panic on any input"), and the
//! harnesses more than one crate's tests need:
//!
//! - [`hostile`]: a raw HTTP/1.1 server that misbehaves on purpose (endless chunked bodies,
//!   bodies cut off mid-way), the unsafe path names, and (feature `wiremock`) a server that
//!   echoes every request into its refusal, for the four clients' `hostile_server` and
//!   `errors` tests;
//! - [`prism`]: Prism with DigitalOcean's OpenAPI spec (`prism mock` / `prism proxy`, spec and
//!   binary lookup, violations from its log), for digitalocean-client's Prism suite and
//!   ops-core's provision-through-Prism suite;
//! - [`nagios`]: a throwaway Nagios 4 + nagios-api 1.2.2, for nagios-client's conformance
//!   suite and ops-core's status suite;
//! - [`shape`]: the shape walk (issue #16) that decodes every recorded answer and every
//!   odd-but-valid variant of it against a client's list of deliberate exceptions, for the
//!   clients' `shape_walk` tests and digitalocean-client's `spec_walk`.
//!
//! Every decoder that reads outside data gets three kinds of input: arbitrary bytes, byte
//! mutations of recorded bodies ([`bytes_mutated`]) and structural mutations of them
//! ([`json_mutated`], [`toml_mutated`]). The property is always the same: the decoder returns
//! `Ok` or its typed error, and the code that consumes a decoded value does not panic either.
//!
//! ```
//! use proptest::prelude::*;
//! use serde_json::json;
//!
//! let corpus = vec![json!({"id": 1, "name": "web-01", "tags": ["a"]})];
//! let mut runner = proptest::test_runner::TestRunner::new(ops_proptest::config());
//! runner
//!     .run(&ops_proptest::json_mutated(corpus), |v| {
//!         let _ = serde_json::from_value::<std::collections::BTreeMap<String, u64>>(v);
//!         Ok(())
//!     })
//!     .unwrap();
//! ```
// Test support: a panic here is a test failure, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod hostile;
pub mod nagios;
pub mod prism;
pub mod promtool;
pub mod shape;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config;
use serde_json::{Value, json};

/// The workspace root (this crate sits directly below it, like every crate of the workspace).
pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ops-proptest sits in the workspace")
        .to_path_buf()
}

/// Cases per property when `PROPTEST_CASES` is not set.
pub const DEFAULT_CASES: u32 = 2_000;

/// Cases per property: `PROPTEST_CASES` when set to a number, else [`DEFAULT_CASES`].
pub fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// The configuration every decoder property uses: [`cases()`] cases, and no regression files
/// written into the source tree (a failure prints its minimal input; add it as a plain
/// regression test).
pub fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Like [`config`], with `1/divisor` of the cases, for a property whose every case is
/// expensive (a render of a whole page, an RSA key check). At least 64 cases.
pub fn config_scaled(divisor: u32) -> Config {
    Config {
        cases: (cases() / divisor.max(1)).max(64),
        ..config()
    }
}

/// Reads a recorded body. `path` is usually built with
/// `concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference/...")`.
///
/// # Panics
/// When the file cannot be read (a test without its fixtures must fail loudly).
pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read fixture {path}: {e}"))
}

/// A recorded body parsed as JSON.
///
/// # Panics
/// When the file cannot be read or is not JSON.
pub fn fixture_json(path: &str) -> Value {
    serde_json::from_slice(&fixture(path))
        .unwrap_or_else(|e| panic!("fixture {path} is not JSON: {e}"))
}

/// Values that have broken decoders and their consumers before: `null`, numbers at and past
/// every integer limit, `1e19`/`1e20`, negative times, year-10000 timestamps as strings,
/// NaN and infinity spelled as strings, empty and odd strings, empty containers, booleans.
pub fn hostile_value() -> BoxedStrategy<Value> {
    let fixed: Vec<Value> = vec![
        Value::Null,
        json!(0),
        json!(-1),
        json!(-5),
        json!(1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u32::MAX as u64 + 1),
        json!(1e19),
        json!(1e20),
        json!(-1e20),
        json!(1e300),
        json!(f64::MAX),
        json!(f64::MIN_POSITIVE),
        json!(-0.0),
        json!(0.5),
        json!(-1.5),
        json!(253_402_300_800u64),
        json!("253402300800"),
        json!("253402300799"),
        json!("-5"),
        json!("-9223372036854775808"),
        json!("9223372036854775807"),
        json!("18446744073709551616"),
        json!("1e20"),
        json!("NaN"),
        json!("inf"),
        json!("-inf"),
        json!("0"),
        json!("1"),
        json!(""),
        json!(" "),
        json!("x"),
        json!(".."),
        json!("a/b"),
        json!("\u{0}"),
        json!("é\u{202e}日本"),
        json!([]),
        json!([null]),
        json!({}),
        json!({"": null}),
        json!(true),
        json!(false),
    ];
    prop_oneof![
        4 => proptest::sample::select(fixed),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(|n| Value::String(n.to_string())),
        1 => "\\PC{0,24}".prop_map(Value::String),
    ]
    .boxed()
}

/// One structural edit of a JSON document.
#[derive(Debug, Clone)]
pub enum JsonEdit {
    /// Replace the value at the chosen place.
    Replace(Value),
    /// Remove the chosen field or array element.
    Drop,
    /// Replace the value by a one-element array holding it.
    Wrap,
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        6 => hostile_value().prop_map(JsonEdit::Replace),
        2 => Just(JsonEdit::Drop),
        1 => Just(JsonEdit::Wrap),
    ]
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    At(usize),
}

fn paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                prefix.push(Seg::Key(k.clone()));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(Seg::At(i));
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// Applies `edit` at the place `at` picks among every value of `doc` (the root included).
pub fn apply_json_edit(doc: &mut Value, at: Index, edit: JsonEdit) {
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    let n = at.index(all.len());
    apply_at(doc, &all[n], edit);
}

fn apply_at(doc: &mut Value, path: &[Seg], edit: JsonEdit) {
    let Some((last, parent_path)) = path.split_last() else {
        match edit {
            JsonEdit::Replace(v) => *doc = v,
            JsonEdit::Drop => *doc = Value::Null,
            JsonEdit::Wrap => *doc = Value::Array(vec![doc.take()]),
        }
        return;
    };
    let mut parent = doc;
    for seg in parent_path {
        parent = match seg {
            Seg::Key(k) => &mut parent[k.as_str()],
            Seg::At(i) => &mut parent[*i],
        };
    }
    match (parent, last, edit) {
        (Value::Object(m), Seg::Key(k), JsonEdit::Drop) => {
            m.remove(k);
        }
        (Value::Array(a), Seg::At(i), JsonEdit::Drop) => {
            a.remove(*i);
        }
        (p, seg, JsonEdit::Replace(v)) => *slot(p, seg) = v,
        (p, seg, JsonEdit::Wrap) => {
            let s = slot(p, seg);
            *s = Value::Array(vec![s.take()]);
        }
        _ => {}
    }
}

fn slot<'a>(parent: &'a mut Value, seg: &Seg) -> &'a mut Value {
    match seg {
        Seg::Key(k) => &mut parent[k.as_str()],
        Seg::At(i) => &mut parent[*i],
    }
}

/// A document of `corpus` with one to three [`JsonEdit`]s at random places.
///
/// # Panics
/// When `corpus` is empty.
pub fn json_mutated(corpus: Vec<Value>) -> BoxedStrategy<Value> {
    assert!(!corpus.is_empty(), "json_mutated needs a corpus");
    (
        any::<Index>(),
        proptest::collection::vec((any::<Index>(), json_edit()), 1..=3),
    )
        .prop_map(move |(pick, edits)| {
            let mut doc = corpus[pick.index(corpus.len())].clone();
            for (at, edit) in edits {
                apply_json_edit(&mut doc, at, edit);
            }
            doc
        })
        .boxed()
}

/// Like [`json_mutated`], serialised to bytes.
pub fn json_mutated_bytes(corpus: Vec<Value>) -> BoxedStrategy<Vec<u8>> {
    json_mutated(corpus)
        .prop_map(|v| serde_json::to_vec(&v).unwrap())
        .boxed()
}

/// Arbitrary JSON up to a few levels deep whose object keys are mostly taken from `keys`
/// (the decoder's own field names), so that random documents get past "missing field".
pub fn json_arbitrary(keys: &'static [&'static str]) -> BoxedStrategy<Value> {
    let key = if keys.is_empty() {
        "\\PC{0,8}".boxed()
    } else {
        prop_oneof![
            4 => proptest::sample::select(keys).prop_map(str::to_owned),
            1 => "\\PC{0,8}",
        ]
        .boxed()
    };
    hostile_value()
        .prop_recursive(4, 48, 8, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(key.clone(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
        .boxed()
}

/// One byte-level edit.
#[derive(Debug, Clone)]
enum ByteEdit {
    Flip(Index, u8),
    Set(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
}

const INTERESTING_BYTES: &[u8] = b"\x00\xff\x80\xc3\"{}[],:\\-+09e.\n\r\t ";

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let byte = prop_oneof![proptest::sample::select(INTERESTING_BYTES), any::<u8>()];
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| ByteEdit::Flip(i, 1 << b)),
        2 => (any::<Index>(), byte.clone()).prop_map(|(i, b)| ByteEdit::Set(i, b)),
        2 => any::<Index>().prop_map(ByteEdit::Truncate),
        2 => (any::<Index>(), proptest::collection::vec(byte, 1..8))
            .prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        1 => (any::<Index>(), 1usize..32).prop_map(|(i, n)| ByteEdit::Delete(i, n)),
    ]
}

fn apply_byte_edit(b: &mut Vec<u8>, edit: ByteEdit) {
    match edit {
        ByteEdit::Flip(i, mask) if !b.is_empty() => {
            let i = i.index(b.len());
            b[i] ^= mask;
        }
        ByteEdit::Set(i, v) if !b.is_empty() => {
            let i = i.index(b.len());
            b[i] = v;
        }
        ByteEdit::Truncate(i) => {
            let n = i.index(b.len() + 1);
            b.truncate(n);
        }
        ByteEdit::Insert(i, v) => {
            let at = i.index(b.len() + 1);
            b.splice(at..at, v);
        }
        ByteEdit::Delete(i, n) if !b.is_empty() => {
            let at = i.index(b.len());
            let end = (at + n).min(b.len());
            b.drain(at..end);
        }
        _ => {}
    }
}

/// A body of `corpus` with one to four byte edits: bit flips, bytes set to JSON/UTF-8
/// specials, truncation, insertion, deletion.
///
/// # Panics
/// When `corpus` is empty.
pub fn bytes_mutated(corpus: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    assert!(!corpus.is_empty(), "bytes_mutated needs a corpus");
    (
        any::<Index>(),
        proptest::collection::vec(byte_edit(), 1..=4),
    )
        .prop_map(move |(pick, edits)| {
            let mut b = corpus[pick.index(corpus.len())].clone();
            for e in edits {
                apply_byte_edit(&mut b, e);
            }
            b
        })
        .boxed()
}

/// Arbitrary bytes (up to 512), half of them printable ASCII so that parsers get past their
/// first byte.
pub fn bytes_arbitrary() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        "[ -~\n]{0,512}".prop_map(String::into_bytes),
    ]
    .boxed()
}

/// TOML values that have broken readers: wrong types, huge and negative numbers, NaN,
/// infinity, dates, empty strings and containers.
const HOSTILE_TOML: &[&str] = &[
    "-5",
    "0",
    "-1",
    "1e20",
    "-1e20",
    "1e300",
    "9223372036854775807",
    "-9223372036854775808",
    "nan",
    "inf",
    "-inf",
    "0.5",
    "\"\"",
    "\" \"",
    "\"x\"",
    "\"253402300800\"",
    "\"..\"",
    "\"a/b\"",
    "\"\\u0000\"",
    "'''\n'''",
    "[]",
    "[[]]",
    "[\"\", 1]",
    "{}",
    "{ a = 1 }",
    "true",
    "false",
    "1979-05-27T07:32:00Z",
    "9999-12-31T23:59:59Z",
    "0000-01-01",
    "07:32:00",
];

const STRAY_TOML_LINES: &[&str] = &[
    "[",
    "[[",
    "[]",
    "[default]",
    "[[hosts]]",
    "[[users]]",
    "[defaults]",
    "[a.b.c]",
    "x = ",
    "= 1",
    "a.b.c = 1",
    "users = 5",
    "hosts = {}",
    "\"\" = \"\"",
    "\u{feff}",
    "\"\u{0}\" = 1",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "x = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "x = {a={a={a={a={a={a={a={a={a={a={a={a={a={a={a={a={a={a={a={a={a=1}}}}}}}}}}}}}}}}}}}}}",
];

#[derive(Debug, Clone)]
enum TomlEdit {
    ReplaceValue(Index, String),
    DropLine(Index),
    DuplicateLine(Index),
    InsertLine(Index, String),
    TruncateChars(Index),
}

fn toml_edit() -> impl Strategy<Value = TomlEdit> {
    let value = prop_oneof![
        4 => proptest::sample::select(HOSTILE_TOML).prop_map(str::to_owned),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => "\\PC{0,12}".prop_map(|s| format!("{s:?}")),
    ];
    let stray = prop_oneof![
        3 => proptest::sample::select(STRAY_TOML_LINES).prop_map(str::to_owned),
        1 => "[ -~]{0,24}",
    ];
    prop_oneof![
        5 => (any::<Index>(), value).prop_map(|(i, v)| TomlEdit::ReplaceValue(i, v)),
        2 => any::<Index>().prop_map(TomlEdit::DropLine),
        1 => any::<Index>().prop_map(TomlEdit::DuplicateLine),
        2 => (any::<Index>(), stray).prop_map(|(i, l)| TomlEdit::InsertLine(i, l)),
        1 => any::<Index>().prop_map(TomlEdit::TruncateChars),
    ]
}

fn apply_toml_edit(text: &str, edit: TomlEdit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    match edit {
        TomlEdit::ReplaceValue(i, v) => {
            let assignments: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.contains('=') && !l.trim_start().starts_with('#'))
                .map(|(n, _)| n)
                .collect();
            if !assignments.is_empty() {
                let n = assignments[i.index(assignments.len())];
                if let Some((key, _)) = lines[n].split_once('=') {
                    lines[n] = format!("{key}= {v}");
                }
            }
        }
        TomlEdit::DropLine(i) if !lines.is_empty() => {
            let n = i.index(lines.len());
            lines.remove(n);
        }
        TomlEdit::DuplicateLine(i) if !lines.is_empty() => {
            let n = i.index(lines.len());
            let l = lines[n].clone();
            lines.insert(n, l);
        }
        TomlEdit::InsertLine(i, l) => {
            let n = i.index(lines.len() + 1);
            lines.insert(n, l);
        }
        TomlEdit::TruncateChars(i) => {
            let chars: Vec<char> = text.chars().collect();
            return chars[..i.index(chars.len() + 1)].iter().collect();
        }
        _ => {}
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A TOML text of `corpus` with one to three line edits (a value replaced by a hostile
/// literal, a line dropped, duplicated or inserted, the text cut short).
///
/// # Panics
/// When `corpus` is empty.
pub fn toml_mutated(corpus: Vec<String>) -> BoxedStrategy<String> {
    assert!(!corpus.is_empty(), "toml_mutated needs a corpus");
    (
        any::<Index>(),
        proptest::collection::vec(toml_edit(), 1..=3),
    )
        .prop_map(move |(pick, edits)| {
            let mut t = corpus[pick.index(corpus.len())].clone();
            for e in edits {
                t = apply_toml_edit(&t, e);
            }
            t
        })
        .boxed()
}

/// Any text: byte mutations of `corpus` read as lossy UTF-8 (for decoders that take `&str`).
pub fn text_mutated(corpus: Vec<String>) -> BoxedStrategy<String> {
    bytes_mutated(corpus.into_iter().map(String::into_bytes).collect())
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::TestRunner;

    #[test]
    fn edits_change_documents_and_never_panic() {
        let corpus = vec![
            json!({"a": [1, {"b": "x"}], "c": null}),
            json!([]),
            json!(3),
        ];
        let mut runner = TestRunner::new(config_scaled(4));
        runner
            .run(&json_mutated(corpus), |v| {
                serde_json::to_vec(&v).unwrap();
                Ok(())
            })
            .unwrap();
        let mut doc = json!({"a": {"b": 1}, "l": [1, 2]});
        apply_at(
            &mut doc,
            &[Seg::Key("a".into()), Seg::Key("b".into())],
            JsonEdit::Drop,
        );
        apply_at(
            &mut doc,
            &[Seg::Key("l".into()), Seg::At(0)],
            JsonEdit::Wrap,
        );
        apply_at(
            &mut doc,
            &[Seg::Key("l".into()), Seg::At(1)],
            JsonEdit::Replace(json!(-5)),
        );
        assert_eq!(doc, json!({"a": {}, "l": [[1], -5]}));
    }

    #[test]
    fn byte_and_toml_edits_never_panic() {
        let mut runner = TestRunner::new(config_scaled(4));
        runner
            .run(&bytes_mutated(vec![Vec::new(), b"{}".to_vec()]), |_| Ok(()))
            .unwrap();
        runner
            .run(
                &toml_mutated(vec![
                    String::new(),
                    "a = 1\n# c = 2\n[t]\nb = \"é\"\n".into(),
                ]),
                |_| Ok(()),
            )
            .unwrap();
        runner
            .run(&json_arbitrary(&["id", "name"]), |_| Ok(()))
            .unwrap();
    }
}

//! The shape walk (issue #16): every recorded or documented answer a client decodes, and
//! every odd-but-valid variant of it, goes through the client's real decoder.
//!
//! For a body, [`variants`] lists, for **every object field**, the field **omitted** and
//! **`null`**; every array **empty**; every object with an **unknown field**. Objects keyed
//! by data (host names, ids, attribute maps: the `maps` globs) are not made of fields: their
//! entries are not omitted, nulled or joined by an unknown field, the object is tried
//! **empty** instead, and what is inside them is walked.
//!
//! A variant that does not decode fails the walk with the body, the JSON path and the error,
//! unless an [`Exception`] covers it with the reason it is deliberate; an exception that no
//! longer fails fails the walk too, so the list stays true. The client keeps its bodies, its
//! decoders and its exceptions; this module is only the engine.
//!
//! ```
//! use ops_proptest::shape::{Exception, Mutation, Walk, decode};
//! use serde_json::json;
//!
//! const EXCEPTIONS: &[Exception] = &[(
//!     "host",
//!     "/name",
//!     &[Mutation::Omit, Mutation::Null],
//!     "identity: a host without its name cannot be addressed",
//! )];
//! #[derive(serde::Deserialize)]
//! struct Host {
//!     #[allow(dead_code)]
//!     name: String,
//!     #[serde(default)]
//!     #[allow(dead_code)]
//!     tags: Option<Vec<String>>,
//! }
//! let mut walk = Walk::new(EXCEPTIONS);
//! walk.walk("host", &json!({"name": "web-01", "tags": ["a"]}), &[], decode::<Host>);
//! walk.assert_clean(5);
//! ```

use std::collections::BTreeSet;
use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// One odd-but-valid change to a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mutation {
    /// The field left out.
    Omit,
    /// The field `null`.
    Null,
    /// The array empty.
    EmptyArray,
    /// The object keyed by data empty.
    EmptyMap,
    /// The object with a field nobody documented.
    UnknownField,
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mutation::Omit => "omitted",
            Mutation::Null => "null",
            Mutation::EmptyArray => "empty array",
            Mutation::EmptyMap => "empty map",
            Mutation::UnknownField => "with an unknown field",
        })
    }
}

/// A variant allowed to fail: `(body glob, JSON path glob, mutations, why)`. `*` in a glob
/// matches any text within one name or path segment; `a|b` either (see [`path_glob`]).
pub type Exception = (
    &'static str,
    &'static str,
    &'static [Mutation],
    &'static str,
);

/// A client's decoder of one body: `Ok` or the message an operator would see.
pub type Decoder = fn(&Value) -> Result<(), String>;

/// The plainest decoder: `v` as a `T` through serde, serde's message on failure.
pub fn decode<T: DeserializeOwned>(v: &Value) -> Result<(), String> {
    serde_json::from_value::<T>(v.clone())
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Every `*.json` file in `dir`, parsed, with its file stem as its name, ordered by name.
///
/// # Panics
/// When the folder or a file cannot be read, or a file is not JSON.
pub fn json_fixtures(dir: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name, v));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The field an [`Mutation::UnknownField`] variant adds.
pub const UNKNOWN_FIELD: &str = "x_field_not_documented";

fn esc(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// Every variant of `v`, as (JSON pointer, mutation). `maps`: paths (globs) of objects keyed
/// by data (host names, ids), not by field names: their entries are not fields, so they are
/// not omitted, nulled or joined by an unknown field (an empty map is tried instead); what is
/// inside them is walked.
pub fn variants(v: &Value, maps: &[&str]) -> Vec<(String, Mutation)> {
    let mut out = Vec::new();
    collect(v, "", maps, &mut out);
    out
}

fn collect(v: &Value, path: &str, maps: &[&str], out: &mut Vec<(String, Mutation)>) {
    match v {
        Value::Object(m) => {
            let is_map = maps.iter().any(|p| path_glob(p, path));
            if is_map {
                if !m.is_empty() {
                    out.push((path.to_owned(), Mutation::EmptyMap));
                }
            } else {
                out.push((path.to_owned(), Mutation::UnknownField));
            }
            for (k, c) in m {
                let p = format!("{path}/{}", esc(k));
                if !is_map {
                    out.push((p.clone(), Mutation::Omit));
                    if !c.is_null() {
                        out.push((p.clone(), Mutation::Null));
                    }
                }
                collect(c, &p, maps, out);
            }
        }
        Value::Array(a) => {
            if !a.is_empty() {
                out.push((path.to_owned(), Mutation::EmptyArray));
            }
            for (i, c) in a.iter().enumerate() {
                collect(c, &format!("{path}/{i}"), maps, out);
            }
        }
        _ => {}
    }
}

/// `base` with `m` applied at `path` (a JSON pointer), or `None` when `path` is not there (or
/// not an object where `m` needs one).
pub fn apply(base: &Value, path: &str, m: Mutation) -> Option<Value> {
    let mut v = base.clone();
    match m {
        Mutation::UnknownField => {
            v.pointer_mut(path)?
                .as_object_mut()?
                .insert(UNKNOWN_FIELD.into(), json!({"a": [1, null]}));
        }
        Mutation::Null => *v.pointer_mut(path)? = Value::Null,
        Mutation::EmptyArray => *v.pointer_mut(path)? = json!([]),
        Mutation::EmptyMap => *v.pointer_mut(path)? = json!({}),
        Mutation::Omit => {
            let (parent, key) = path.rsplit_once('/')?;
            let key = key.replace("~1", "/").replace("~0", "~");
            v.pointer_mut(parent)?.as_object_mut()?.remove(&key)?;
        }
    }
    Some(v)
}

/// `*` matches any run of characters.
pub fn glob(pat: &str, s: &str) -> bool {
    match pat.split_once('*') {
        None => pat == s,
        Some((head, tail)) => {
            let Some(rest) = s.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

/// `a|b`: either glob.
pub fn alt_glob(pat: &str, s: &str) -> bool {
    pat.split('|').any(|p| glob(p, s))
}

/// Segment by segment, so a `*` never spans a `/`; each segment an [`alt_glob`].
pub fn path_glob(pat: &str, path: &str) -> bool {
    let (p, s): (Vec<_>, Vec<_>) = (pat.split('/').collect(), path.split('/').collect());
    p.len() == s.len() && p.iter().zip(&s).all(|(p, s)| alt_glob(p, s))
}

/// A walk over a client's bodies against its exceptions: what was checked, what failed and
/// which exceptions were needed.
pub struct Walk {
    exceptions: &'static [Exception],
    errors_name_the_field: bool,
    checked: usize,
    failures: Vec<String>,
    excepted: BTreeSet<(usize, Mutation)>,
}

impl Walk {
    /// A walk that lets the variants `exceptions` cover fail.
    pub fn new(exceptions: &'static [Exception]) -> Self {
        Self {
            exceptions,
            errors_name_the_field: false,
            checked: 0,
            failures: Vec::new(),
            excepted: BTreeSet::new(),
        }
    }

    /// An excepted variant must also be refused with an error that names the field (the last
    /// segment of its path), so an operator can tell the server's answer is at fault; one
    /// refused without it is a failure.
    pub fn errors_name_the_field(mut self) -> Self {
        self.errors_name_the_field = true;
        self
    }

    /// Decode `base` (the body `name`) and every variant of it (see [`variants`] for `maps`).
    pub fn walk(
        &mut self,
        name: &str,
        base: &Value,
        maps: &[&str],
        d: impl Fn(&Value) -> Result<(), String>,
    ) {
        if let Some(e) = self.judge(name, None, d(base)) {
            self.fail(format!("{name}: the body as recorded: {e}"));
        }
        for (path, m) in variants(base, maps) {
            let v = apply(base, &path, m).expect("a variant of the body is in the body");
            if let Some(e) = self.judge(name, Some((&path, m)), d(&v)) {
                self.fail(format!("{name} {path}: {m}: {e}"));
            }
        }
    }

    /// [`Walk::walk`] every fixture of `dir` (see [`json_fixtures`]) with the decoder and
    /// the maps `decoder_for` gives its name.
    ///
    /// # Panics
    /// Naming every fixture `decoder_for` has no decoder for, so new fixtures are walked.
    pub fn walk_fixtures(
        &mut self,
        dir: &str,
        decoder_for: impl Fn(&str) -> Option<(Decoder, &'static [&'static str])>,
    ) {
        let mut unknown = Vec::new();
        for (name, body) in json_fixtures(dir) {
            match decoder_for(&name) {
                Some((d, maps)) => self.walk(&name, &body, maps, d),
                None => unknown.push(name),
            }
        }
        assert!(
            unknown.is_empty(),
            "fixtures without a decoder in shape_walk::decoder_for: {unknown:?}"
        );
    }

    /// Count one decode of the body `name` (the variant `m` at `path`, or the body itself
    /// with `None`): `None` when it decoded or an exception covers its failure, else what to
    /// report (the error, or why the exception does not cover it). For walks that make their
    /// own variants; pass what is returned to [`Walk::fail`] with their own label.
    pub fn judge(
        &mut self,
        name: &str,
        variant: Option<(&str, Mutation)>,
        result: Result<(), String>,
    ) -> Option<String> {
        self.checked += 1;
        let e = result.err()?;
        let Some((path, m)) = variant else {
            return Some(e);
        };
        let Some(i) = self
            .exceptions
            .iter()
            .position(|(b, p, ms, _)| ms.contains(&m) && alt_glob(b, name) && path_glob(p, path))
        else {
            return Some(e);
        };
        if self.errors_name_the_field {
            // Refused on purpose: the error must say which field, so an operator can tell
            // the server's answer is at fault.
            let field = path.rsplit('/').next().unwrap_or_default();
            if !e.contains(field) {
                return Some(format!("refused without naming `{field}`: {e}"));
            }
        }
        self.excepted.insert((i, m));
        None
    }

    /// Record a failure.
    pub fn fail(&mut self, message: String) {
        self.failures.push(message);
    }

    /// The failures so far.
    pub fn failures(&self) -> &[String] {
        &self.failures
    }

    /// Panics unless the failures are exactly one per entry of `expected`, in order, each
    /// containing its entry (`"/ttl: omitted"`): how a client's test shows its walk can fail.
    pub fn assert_failures(&self, expected: &[&str]) {
        assert_eq!(self.failures.len(), expected.len(), "{:?}", self.failures);
        for (failure, want) in self.failures.iter().zip(expected) {
            assert!(failure.contains(want), "{:?}", self.failures);
        }
    }

    /// Decodes counted so far.
    pub fn checked(&self) -> usize {
        self.checked
    }

    /// Panics unless at least `min_checked` decodes ran (the bodies are there), nothing failed
    /// and every exception was needed by each of its mutations.
    pub fn assert_clean(&self, min_checked: usize) {
        let stale: Vec<_> = self
            .exceptions
            .iter()
            .enumerate()
            .flat_map(|(i, (b, p, ms, why))| ms.iter().map(move |m| (i, b, p, *m, why)))
            .filter(|(i, _, _, m, _)| !self.excepted.contains(&(*i, *m)))
            .map(|(_, b, p, m, why)| format!("{b} {p}: {m} (listed because: {why})"))
            .collect();
        assert!(
            self.checked >= min_checked,
            "the walk checked only {} variants (at least {min_checked} expected): are its bodies there?",
            self.checked
        );
        assert!(
            self.failures.is_empty() && stale.is_empty(),
            "{} of {} variants do not decode:\n  {}\n\nexceptions that no longer fail (remove them):\n  {}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n  "),
            stale.join("\n  ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        ttl: u32,
    }

    fn strict(v: &Value) -> Result<(), String> {
        decode::<Strict>(v)
    }

    #[test]
    fn globs_stay_within_a_segment() {
        assert!(path_glob("/content/*/services", "/content/web-01/services"));
        assert!(!path_glob("/content/*", "/content/web-01/services"));
        assert!(path_glob("/a|b/x*", "/b/xyz"));
        assert!(alt_glob("state*|problems", "state_after"));
        assert!(!glob("state", "state_after"));
    }

    #[test]
    fn variants_skip_the_entries_of_maps_and_walk_inside_them() {
        let v = json!({"hosts": {"web/01": {"up": true}}, "tags": ["a"], "n": null});
        let got = variants(&v, &["/hosts"]);
        let want = [
            ("", Mutation::UnknownField),
            ("/hosts", Mutation::Omit),
            ("/hosts", Mutation::Null),
            ("/hosts", Mutation::EmptyMap),
            ("/hosts/web~101", Mutation::UnknownField),
            ("/hosts/web~101/up", Mutation::Omit),
            ("/hosts/web~101/up", Mutation::Null),
            ("/n", Mutation::Omit),
            ("/tags", Mutation::Omit),
            ("/tags", Mutation::Null),
            ("/tags", Mutation::EmptyArray),
        ];
        let want: Vec<_> = want.iter().map(|(p, m)| (p.to_string(), *m)).collect();
        assert_eq!(got, want);
        let omitted = apply(&v, "/hosts/web~101/up", Mutation::Omit).unwrap();
        assert_eq!(omitted["hosts"]["web/01"], json!({}));
        assert_eq!(apply(&v, "/nowhere/x", Mutation::Omit), None);
    }

    #[test]
    fn the_walk_catches_a_strict_struct() {
        let mut walk = Walk::new(&[]);
        walk.walk("strict", &json!({"ttl": 60}), &[], strict);
        assert_eq!(walk.checked(), 4);
        walk.assert_failures(&["strict /ttl: omitted", "strict /ttl: null"]);
    }

    #[test]
    fn an_exception_covers_its_failures_and_a_stale_one_fails() {
        const EXCEPTIONS: &[Exception] =
            &[("strict", "/ttl", &[Mutation::Omit, Mutation::Null], "why")];
        let mut walk = Walk::new(EXCEPTIONS);
        walk.walk("strict", &json!({"ttl": 60}), &[], strict);
        walk.assert_clean(4);

        // Only `null` needed: the `omitted` half of the exception is stale.
        let mut walk = Walk::new(EXCEPTIONS);
        walk.walk("strict", &json!({"ttl": 60}), &[], |v| {
            if v.get("ttl") == Some(&Value::Null) {
                Err("null".into())
            } else {
                Ok(())
            }
        });
        let stale = std::panic::catch_unwind(|| walk.assert_clean(4)).unwrap_err();
        let msg = stale.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("strict /ttl: omitted (listed because: why)"),
            "{msg}"
        );
    }

    #[test]
    fn an_excepted_failure_must_name_the_field_when_asked() {
        const EXCEPTIONS: &[Exception] =
            &[("strict", "/ttl", &[Mutation::Omit, Mutation::Null], "why")];
        let mut walk = Walk::new(EXCEPTIONS).errors_name_the_field();
        walk.walk("strict", &json!({"ttl": 60}), &[], strict);
        // serde names a missing field, not a null one.
        walk.assert_failures(&["/ttl: null: refused without naming `ttl`"]);
    }
}

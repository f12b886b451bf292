//! Issue #16: every recorded and documented Dyn answer, and every odd-but-valid variant of
//! it, goes through the client's real interpretation path (`Client::interpret`, then the
//! decoder of `data` each operation uses).
//!
//! The bodies are this crate's fixtures (`tests/fixtures/*.json`, each recorded or built
//! from the documented shapes of `shared/reference/dynect-and-nagios-NOTES.md` part A; see
//! the fixtures' README). For each body the walk tries, for **every object field**:
//!
//! - the field **omitted**;
//! - the field **`null`** (Dyn sends `null` for `ERR_CD`, and documents `data` as
//!   "object | array | {} | null");
//! - every array **empty**;
//! - every object with an **unknown field**.
//!
//! A variant that does not go through fails the test with the body, the JSON path and the
//! error, unless it is listed in [`EXCEPTIONS`] with the reason it is deliberate; an
//! exception that no longer fails fails the test too, so the list stays true. A fixture
//! without a decoder in [`decoder_for`] fails the test, so new fixtures are walked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{Client, RawResponse, Step};
use crate::auth::LoginData;
use crate::resources::records::parse_refs;
use crate::{Error, PublishedZone, Record, Task, TaskStatus, Zone, ZoneChange};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Variants allowed to fail: `(body glob, JSON path glob, mutation, why)`. `*` in a glob
/// matches any text within one name or path segment.
const EXCEPTIONS: &[(&str, &str, Mutation, &str)] = &[
    (
        "*",
        "/status",
        Mutation::Omit,
        "the envelope's discriminator: without `status` a body is not a Dyn answer (an HTML \
         or proxy page is refused the same way), and no success may be assumed",
    ),
    (
        "*",
        "/status",
        Mutation::Null,
        "the envelope's discriminator, as above",
    ),
    (
        "*",
        "/data",
        Mutation::Omit,
        "the payload of a read: a record, zone, task, login or listing answer without `data` \
         has nothing to return; reading a listing as empty would report every record gone",
    ),
    (
        "*",
        "/data",
        Mutation::Null,
        "the payload of a read, as above",
    ),
    (
        "session_login",
        "/data/token",
        Mutation::Omit,
        "the session token is the whole answer of a login",
    ),
    (
        "session_login",
        "/data/token",
        Mutation::Null,
        "the session token is the whole answer of a login",
    ),
    (
        "*record_*",
        "/data/zone",
        Mutation::Omit,
        "identity: a record without its zone cannot be addressed",
    ),
    (
        "*record_*",
        "/data/zone",
        Mutation::Null,
        "identity: a record without its zone cannot be addressed",
    ),
    (
        "*record_*",
        "/data/fqdn",
        Mutation::Omit,
        "identity: a record without its node cannot be addressed",
    ),
    (
        "*record_*",
        "/data/fqdn",
        Mutation::Null,
        "identity: a record without its node cannot be addressed",
    ),
    (
        "*record_*",
        "/data/record_type",
        Mutation::Omit,
        "identity: without its type the record's `rdata` cannot be read",
    ),
    (
        "*record_*",
        "/data/record_type",
        Mutation::Null,
        "identity: without its type the record's `rdata` cannot be read",
    ),
    (
        "*record_*",
        "/data/rdata",
        Mutation::Omit,
        "the record's value: a record without data is no record",
    ),
    (
        "*record_*",
        "/data/rdata",
        Mutation::Null,
        "the record's value: a record without data is no record",
    ),
    (
        "*record_*",
        "/data/rdata/*",
        Mutation::Omit,
        "the record's value (address, cname, exchange, preference): an empty name, \
         0.0.0.0 or preference 0 would be taken for the real data",
    ),
    (
        "*record_*",
        "/data/rdata/*",
        Mutation::Null,
        "the record's value, as above",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mutation {
    Omit,
    Null,
    EmptyArray,
    UnknownField,
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mutation::Omit => "omitted",
            Mutation::Null => "null",
            Mutation::EmptyArray => "empty array",
            Mutation::UnknownField => "with an unknown field",
        })
    }
}

type Decoder = fn(&Value) -> Result<(), String>;

fn client() -> &'static Client {
    static C: OnceLock<Client> = OnceLock::new();
    C.get_or_init(|| {
        Client::builder("c", "u", "p".to_owned())
            .base_url("https://api.dynect.net/")
            .build()
            .unwrap()
    })
}

fn interpret(status: StatusCode, v: &Value) -> Result<Step, Error> {
    let raw = RawResponse {
        status,
        headers: HeaderMap::new(),
        body: serde_json::to_vec(v).unwrap(),
    };
    client().interpret(&raw, "shape walk")
}

/// A success answer whose `data` the operation decodes as `T`.
fn ok<T: DeserializeOwned>(v: &Value) -> Result<T, String> {
    match interpret(StatusCode::OK, v) {
        Ok(Step::Done(reply)) => reply
            .decode::<T>("shape walk")
            .map_err(|e| format!("{e:?}")),
        Ok(Step::Job { .. }) => Err("taken for a job".into()),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// A listing of record URIs (`GET /REST/AllRecord/…`, `GET /REST/<T>Record/…`).
fn listing(v: &Value) -> Result<(), String> {
    let uris: Vec<String> = ok(v)?;
    parse_refs(&uris).map(drop).map_err(|e| e.to_string())
}

/// A failure envelope: read as the API's error (messages kept), never as an undecodable
/// answer or a bare status.
fn refused(v: &Value) -> Result<(), String> {
    match interpret(StatusCode::BAD_REQUEST, v) {
        Err(Error::Api { .. }) => Ok(()),
        Err(e) => Err(format!("not read as the API's error: {e:?}")),
        Ok(_) => Err("a failure read as a success".into()),
    }
}

/// `"status": "incomplete"`: a job to poll, or (without a `job_id`) the API's error.
fn incomplete(v: &Value) -> Result<(), String> {
    match interpret(StatusCode::OK, v) {
        Ok(Step::Job { .. }) | Err(Error::Api { .. }) => Ok(()),
        Ok(Step::Done(_)) => Err("an incomplete job read as done".into()),
        Err(e) => Err(format!("{e:?}")),
    }
}

/// The decoder each fixture's operation uses.
fn decoder_for(name: &str) -> Option<Decoder> {
    Some(match name {
        "session_login" => |v| ok::<LoginData>(v).map(drop),
        "session_logout" | "record_delete" => |v| ok::<Value>(v).map(drop),
        "allrecord_node" => listing,
        "arecord_get" | "cnamerecord_get" | "mxrecord_create" => |v| ok::<Record>(v).map(drop),
        "zone_get" => |v| ok::<Zone>(v).map(drop),
        "zone_publish" => |v| ok::<PublishedZone>(v).map(drop),
        "task_running" | "task_complete" => |v| ok::<Task>(v).map(drop),
        "zone_changes" => |v| {
            for c in ok::<Vec<ZoneChange>>(v)? {
                let _ = c.data();
            }
            Ok(())
        },
        "job_incomplete" => incomplete,
        "allrecord_not_found"
        | "job_running"
        | "rate_limited"
        | "session_expired"
        | "session_inactivity_logout"
        | "target_exists"
        | "zone_blocked" => refused,
        _ => return None,
    })
}

fn bodies() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
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

// ---- the walk (the same in the three clients' shape walks) ----

fn esc(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn variants(v: &Value, path: &str, out: &mut Vec<(String, Mutation)>) {
    match v {
        Value::Object(m) => {
            out.push((path.to_owned(), Mutation::UnknownField));
            for (k, c) in m {
                let p = format!("{path}/{}", esc(k));
                out.push((p.clone(), Mutation::Omit));
                if !c.is_null() {
                    out.push((p.clone(), Mutation::Null));
                }
                variants(c, &p, out);
            }
        }
        Value::Array(a) => {
            if !a.is_empty() {
                out.push((path.to_owned(), Mutation::EmptyArray));
            }
            for (i, c) in a.iter().enumerate() {
                variants(c, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn apply(base: &Value, path: &str, m: Mutation) -> Value {
    let mut v = base.clone();
    match m {
        Mutation::UnknownField => {
            v.pointer_mut(path)
                .and_then(Value::as_object_mut)
                .unwrap()
                .insert("x_field_not_documented".into(), json!({"a": [1, null]}));
        }
        Mutation::Null => *v.pointer_mut(path).unwrap() = Value::Null,
        Mutation::EmptyArray => *v.pointer_mut(path).unwrap() = json!([]),
        Mutation::Omit => {
            let (parent, key) = path.rsplit_once('/').unwrap();
            let key = key.replace("~1", "/").replace("~0", "~");
            v.pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .unwrap()
                .remove(&key)
                .unwrap();
        }
    }
    v
}

/// `*` matches any run of characters.
fn glob(pat: &str, s: &str) -> bool {
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

/// Segment by segment, so a `*` never spans a `/`.
fn path_glob(pat: &str, path: &str) -> bool {
    let (p, s): (Vec<_>, Vec<_>) = (pat.split('/').collect(), path.split('/').collect());
    p.len() == s.len() && p.iter().zip(&s).all(|(p, s)| glob(p, s))
}

#[derive(Default)]
struct Report {
    checked: usize,
    failures: Vec<String>,
    excepted: BTreeSet<usize>,
}

impl Report {
    fn walk(&mut self, name: &str, base: &Value, d: Decoder) {
        self.checked += 1;
        if let Err(e) = d(base) {
            self.failures
                .push(format!("{name}: the body as recorded: {e}"));
        }
        let mut vs = Vec::new();
        variants(base, "", &mut vs);
        for (path, m) in vs {
            self.checked += 1;
            let Err(e) = d(&apply(base, &path, m)) else {
                continue;
            };
            match EXCEPTIONS
                .iter()
                .position(|(b, p, em, _)| *em == m && glob(b, name) && path_glob(p, &path))
            {
                Some(i) => {
                    self.excepted.insert(i);
                }
                None => self.failures.push(format!("{name} {path}: {m}: {e}")),
            }
        }
    }

    fn assert_clean(&self, min_checked: usize) {
        let stale: Vec<_> = EXCEPTIONS
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.excepted.contains(i))
            .map(|(_, (b, p, m, why))| format!("{b} {p}: {m} (listed because: {why})"))
            .collect();
        assert!(
            self.checked >= min_checked,
            "the walk checked only {} variants: are the fixtures there?",
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

#[test]
fn every_recorded_answer_and_its_odd_variants_decode() {
    let mut report = Report::default();
    let mut unknown = Vec::new();
    for (name, body) in bodies() {
        match decoder_for(&name) {
            Some(d) => report.walk(&name, &body, d),
            None => unknown.push(name),
        }
    }
    assert!(
        unknown.is_empty(),
        "fixtures without a decoder in shape_walk::decoder_for: {unknown:?}"
    );
    report.assert_clean(400);
}

#[test]
fn the_walk_catches_a_strict_struct() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        ttl: u32,
    }
    let mut report = Report::default();
    report.walk("strict", &json!({"ttl": 60}), |v| {
        serde_json::from_value::<Strict>(v.clone())
            .map(drop)
            .map_err(|e| e.to_string())
    });
    assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    assert!(
        report.failures[0].contains("/ttl: omitted"),
        "{:?}",
        report.failures
    );
    assert!(
        report.failures[1].contains("/ttl: null"),
        "{:?}",
        report.failures
    );
}

#[test]
fn odd_answers_never_read_as_real_values() {
    // A record without `ttl` or `record_id` has neither; it does not get the zone default
    // (0) or an id.
    let r: Record = ok(&json!({"status": "success", "data": {"zone": "z.test",
        "fqdn": "a.z.test", "record_type": "A", "rdata": {"address": "10.0.0.1"}}}))
    .unwrap();
    assert_eq!((r.ttl, r.record_id), (None, None));
    // Dyn's `record_id: 0` (unpublished) is no id either.
    let r: Record = ok(&json!({"status": "success", "data": {"zone": "z.test",
        "fqdn": "a.z.test", "record_type": "A", "rdata": {"address": "10.0.0.1"},
        "ttl": 0, "record_id": 0}}))
    .unwrap();
    assert_eq!((r.ttl, r.record_id), (Some(0), None));
    // A task without a status is unknown: still polled, never complete.
    let t: Task =
        ok(&json!({"status": "success", "data": {"task_id": null, "status": null}})).unwrap();
    assert_eq!((t.task_id, t.status), (None, TaskStatus::Unknown));
}

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
//! without a decoder in [`decoder_for`] fails the test, so new fixtures are walked. The walk
//! itself is `ops_proptest::shape`, shared with the other clients.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use ops_proptest::shape::{Decoder, Exception, Mutation, Walk, decode};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{Client, RawResponse, Step};
use crate::auth::LoginData;
use crate::resources::records::parse_refs;
use crate::{Error, PublishedZone, Record, Task, TaskStatus, Zone, ZoneChange};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Variants allowed to fail: `(body glob, JSON path glob, mutations, why)`. `*` in a glob
/// matches any text within one name or path segment.
const EXCEPTIONS: &[Exception] = &[
    (
        "*",
        "/status",
        &[Mutation::Omit, Mutation::Null],
        "the envelope's discriminator: without `status` a body is not a Dyn answer (an HTML \
         or proxy page is refused the same way), and no success may be assumed",
    ),
    (
        "*",
        "/data",
        &[Mutation::Omit, Mutation::Null],
        "the payload of a read: a record, zone, task, login or listing answer without `data` \
         has nothing to return; reading a listing as empty would report every record gone",
    ),
    (
        "session_login",
        "/data/token",
        &[Mutation::Omit, Mutation::Null],
        "the session token is the whole answer of a login",
    ),
    (
        "*record_*",
        "/data/zone",
        &[Mutation::Omit, Mutation::Null],
        "identity: a record without its zone cannot be addressed",
    ),
    (
        "*record_*",
        "/data/fqdn",
        &[Mutation::Omit, Mutation::Null],
        "identity: a record without its node cannot be addressed",
    ),
    (
        "*record_*",
        "/data/record_type",
        &[Mutation::Omit, Mutation::Null],
        "identity: without its type the record's `rdata` cannot be read",
    ),
    (
        "*record_*",
        "/data/rdata",
        &[Mutation::Omit, Mutation::Null],
        "the record's value: a record without data is no record",
    ),
    (
        "*record_*",
        "/data/rdata/*",
        &[Mutation::Omit, Mutation::Null],
        "the record's value (address, cname, exchange, preference): an empty name, \
         0.0.0.0 or preference 0 would be taken for the real data",
    ),
];

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

#[test]
fn every_recorded_answer_and_its_odd_variants_decode() {
    let mut walk = Walk::new(EXCEPTIONS);
    // No Dyn answer has objects keyed by data.
    walk.walk_fixtures(FIXTURES, |name| decoder_for(name).map(|d| (d, &[][..])));
    walk.assert_clean(400);
}

#[test]
fn the_walk_catches_a_strict_struct() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        ttl: u32,
    }
    let mut walk = Walk::new(&[]);
    walk.walk("strict", &json!({"ttl": 60}), &[], decode::<Strict>);
    walk.assert_failures(&["/ttl: omitted", "/ttl: null"]);
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

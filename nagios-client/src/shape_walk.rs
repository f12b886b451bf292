//! Issue #16: every recorded nagios-api answer, and every odd-but-valid variant of it,
//! goes through the client's real decoding path (`client::decode`, the envelope then the
//! typed model of the endpoint).
//!
//! The bodies are this crate's fixtures (`tests/fixtures/*.json`), recorded from nagios-api
//! over a real Nagios 4 (`shared/reference/nagios/recorded-nagios-api`). nagios-api copies
//! `status.dat` as strings and leaves out what Nagios did not write (passive and pending
//! objects), so for **every object field** the walk tries it **omitted** and **`null`**,
//! every array **empty**, every object with an **unknown field**; objects keyed by data
//! (host names, service descriptions, comment and downtime ids) are tried empty instead.
//!
//! A variant that does not decode fails the test with the body, the JSON path and the error,
//! unless it is listed in [`EXCEPTIONS`] with the reason it is deliberate; an exception that
//! no longer fails fails the test too, so the list stays true. A fixture without a decoder in
//! [`decoder_for`] fails the test, so new fixtures are walked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::Error;
use crate::client::decode;
use crate::model::{HostDetail, LogEntry, NagiosStatus, Objects, ServiceDetail, State};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// `content` of `/state` and `/problems`: hosts, their services, comments and downtimes
/// are keyed by name or id.
const STATE_MAPS: &[&str] = &[
    "/content",
    "/content/*/services",
    "/content/*/comments",
    "/content/*/downtimes",
    "/content/*/performance_data",
    "/content/*/services/*/comments",
    "/content/*/services/*/downtimes",
    "/content/*/services/*/performance_data",
];

/// Variants allowed to fail: `(body glob, JSON path glob, mutation, why)`. `*` in a glob
/// matches any text within one name or path segment.
const FLAGS_WHY: &str = "Nagios writes it into status.dat for every host, service, comment and downtime and nagios-api passes it through (every recorded answer has it); with no honest default (0/false would be read as a real flag, count, interval or time: not in downtime, not acknowledged, checks disabled) a body without it is refused with an error naming the field, never guessed";

const EXCEPTIONS: &[(&str, &str, &[Mutation], &str)] = &[
    (
        "*",
        "/success",
        &[Mutation::Omit, Mutation::Null],
        "the envelope's verdict: without it neither success nor failure may be assumed",
    ),
    (
        "state*|problems|objects|host_web01|host_db01_after|service_web01|log|status",
        "/content",
        &[Mutation::Omit, Mutation::Null],
        "the payload of a read: a /state without content read as no hosts would report every host gone",
    ),
    (
        "status",
        "/content/info|program",
        &[Mutation::Omit, Mutation::Null],
        "the blocks /status exists for (freshness comes from `info.created`)",
    ),
    (
        "state*|problems",
        "/content/*/downtimes|comments/*/downtime_id|comment_id",
        &[Mutation::Omit, Mutation::Null],
        "identity: the id is what cancel_downtime / delete_comment address; 0 would address another entry",
    ),
    (
        "state*|problems",
        "/content/*/services/*/downtimes|comments/*/downtime_id|comment_id",
        &[Mutation::Omit, Mutation::Null],
        "identity: the id is what cancel_downtime / delete_comment address; 0 would address another entry",
    ),
    (
        "host_*",
        "/content/downtime|comment/*/downtime_id|comment_id",
        &[Mutation::Omit, Mutation::Null],
        "identity: the id is what cancel_downtime / delete_comment address; 0 would address another entry",
    ),
    (
        "host_*|service_web01",
        "/content/host_name",
        &[Mutation::Omit, Mutation::Null],
        "identity: the host the detail is about",
    ),
    (
        "state*|problems",
        "/content/*/current_state|last_hard_state",
        &[Mutation::Omit, Mutation::Null],
        "a state code with no 'unknown' value: any default (0 = UP/OK/SOFT/not acknowledged/user/internal) would be read as the real state",
    ),
    (
        "state*|problems",
        "/content/*/services/*/current_state|last_hard_state",
        &[Mutation::Omit, Mutation::Null],
        "a state code with no 'unknown' value: any default (0 = UP/OK/SOFT/not acknowledged/user/internal) would be read as the real state",
    ),
    (
        "host_*",
        "/content/current_state|last_hard_state|state_type|acknowledgement_type",
        &[Mutation::Omit, Mutation::Null],
        "a state code with no 'unknown' value: any default (0 = UP/OK/SOFT/not acknowledged/user/internal) would be read as the real state",
    ),
    (
        "state*|problems",
        "/content/*/active_checks_enabled|notifications_enabled|problem_has_been_acknowledged|scheduled_downtime_depth|current_attempt|max_attempts",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
    (
        "state*|problems",
        "/content/*/services/*/active_checks_enabled|notifications_enabled|problem_has_been_acknowledged|scheduled_downtime_depth|current_attempt|max_attempts",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
    (
        "host_*",
        "/content/active_checks_enabled|notifications_enabled|problem_has_been_acknowledged|scheduled_downtime_depth|current_attempt|max_attempts|has_been_checked|passive_checks_enabled|is_flapping|percent_state_change|check_interval|retry_interval",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
    (
        "state*|problems",
        "/content/*/downtimes/*/entry_time|start_time|end_time|fixed|duration",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
    (
        "state*|problems",
        "/content/*/services/*/downtimes/*/entry_time|start_time|end_time|fixed|duration",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
    (
        "state*|problems",
        "/content/*/comments/*/entry_time|entry_type|source|persistent|expires",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
    (
        "state*|problems",
        "/content/*/services/*/comments/*/entry_time|entry_type|source|persistent|expires",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
    (
        "host_*",
        "/content/downtime/*/entry_time|start_time|end_time|fixed|duration",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
    (
        "host_*",
        "/content/comment/*/entry_time|entry_type|source|persistent|expires",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
    (
        "status",
        "/content/program/*",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
    (
        "service_web01",
        "/content/*/host_name|service_description",
        &[Mutation::Omit, Mutation::Null],
        "identity: the host and service the detail is about",
    ),
    (
        "service_web01",
        "/content/*/current_state|last_hard_state|state_type|acknowledgement_type",
        &[Mutation::Omit, Mutation::Null],
        "a state code with no 'unknown' value: any default (0 = UP/OK/SOFT/not acknowledged/user/internal) would be read as the real state",
    ),
    (
        "service_web01",
        "/content/*/active_checks_enabled|notifications_enabled|problem_has_been_acknowledged|scheduled_downtime_depth|current_attempt|max_attempts|has_been_checked|passive_checks_enabled|is_flapping|percent_state_change|check_interval|retry_interval",
        &[Mutation::Omit, Mutation::Null],
        FLAGS_WHY,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mutation {
    Omit,
    Null,
    EmptyArray,
    EmptyMap,
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

type Decoder = fn(&Value) -> Result<(), String>;

/// The endpoint's decoder; an answer with `"success": false` must be read as the API's
/// error (its message kept), never as an undecodable body.
fn read<T: DeserializeOwned>(v: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec(v).unwrap();
    match decode::<T>("shape walk", false, &bytes) {
        Ok(_) => Ok(()),
        Err(Error::Api { .. }) if v.get("success") == Some(&json!(false)) => Ok(()),
        Err(e) => {
            // With its causes, as an operator's `error:` line shows it.
            let mut msg = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                msg = format!("{msg}: {c}");
                cause = c.source();
            }
            Err(msg)
        }
    }
}

/// The decoder each fixture's endpoint uses, and the objects in it keyed by data.
fn decoder_for(name: &str) -> Option<(Decoder, &'static [&'static str])> {
    Some(match name {
        "state" | "state_after" | "state_final" | "state_with_id" | "problems" => {
            (read::<State>, STATE_MAPS)
        }
        "objects" => (read::<Objects>, &["/content"]),
        "host_web01" | "host_db01_after" | "host_unknown" => (read::<HostDetail>, &[]),
        "service_web01" => (read::<BTreeMap<String, ServiceDetail>>, &["/content"]),
        "log" => (read::<Vec<LogEntry>>, &[]),
        "status" => (read::<NagiosStatus>, &[]),
        // Commands: `content` is a message (or a list of them) the client keeps as JSON.
        "ack_nocomment" | "ack_svc" | "add_comment" | "cancel_dt_badid" | "cancel_dt_byhost"
        | "cancel_dt_byid" | "delete_comment" | "disable_checks" | "disable_notif"
        | "enable_checks" | "enable_notif" | "get_verb_via_post" | "hostgroup_dt"
        | "post_no_ctype" | "post_nojson" | "raw_command" | "remove_ack" | "sched_dt_flex_bad"
        | "sched_dt_host" | "sched_dt_hosttoo" | "sched_dt_svc" | "sched_dt_unknown"
        | "schedule_check" | "submit_nostatus" | "submit_result" | "verb_unknown" => {
            (read::<Value>, &[])
        }
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

/// `maps`: paths (globs) of objects keyed by data (host names, ids), not by field names:
/// their entries are not fields, so they are not omitted, nulled or joined by an unknown
/// field (an empty map is tried instead); what is inside them is walked.
fn variants(v: &Value, path: &str, maps: &[&str], out: &mut Vec<(String, Mutation)>) {
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
                variants(c, &p, maps, out);
            }
        }
        Value::Array(a) => {
            if !a.is_empty() {
                out.push((path.to_owned(), Mutation::EmptyArray));
            }
            for (i, c) in a.iter().enumerate() {
                variants(c, &format!("{path}/{i}"), maps, out);
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
        Mutation::EmptyMap => *v.pointer_mut(path).unwrap() = json!({}),
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

/// `a|b`: either glob.
fn alt_glob(pat: &str, s: &str) -> bool {
    pat.split('|').any(|p| glob(p, s))
}

/// Segment by segment, so a `*` never spans a `/`.
fn path_glob(pat: &str, path: &str) -> bool {
    let (p, s): (Vec<_>, Vec<_>) = (pat.split('/').collect(), path.split('/').collect());
    p.len() == s.len() && p.iter().zip(&s).all(|(p, s)| alt_glob(p, s))
}

#[derive(Default)]
struct Report {
    checked: usize,
    failures: Vec<String>,
    excepted: BTreeSet<(usize, Mutation)>,
}

impl Report {
    fn walk(&mut self, name: &str, base: &Value, maps: &[&str], d: Decoder) {
        self.checked += 1;
        if let Err(e) = d(base) {
            self.failures
                .push(format!("{name}: the body as recorded: {e}"));
        }
        let mut vs = Vec::new();
        variants(base, "", maps, &mut vs);
        for (path, m) in vs {
            self.checked += 1;
            let Err(e) = d(&apply(base, &path, m)) else {
                continue;
            };
            match EXCEPTIONS.iter().position(|(b, p, ms, _)| {
                ms.contains(&m) && alt_glob(b, name) && path_glob(p, &path)
            }) {
                // Refused on purpose: the error must say which field, so an operator can
                // tell the server's answer is at fault.
                Some(i) => {
                    let field = path.rsplit('/').next().unwrap_or_default();
                    if e.contains(field) {
                        self.excepted.insert((i, m));
                    } else {
                        self.failures.push(format!(
                            "{name} {path}: {m}: refused without naming `{field}`: {e}"
                        ));
                    }
                }
                None => self.failures.push(format!("{name} {path}: {m}: {e}")),
            }
        }
    }

    fn assert_clean(&self, min_checked: usize) {
        let stale: Vec<_> = EXCEPTIONS
            .iter()
            .enumerate()
            .flat_map(|(i, (b, p, ms, why))| ms.iter().map(move |m| (i, b, p, *m, why)))
            .filter(|(i, _, _, m, _)| !self.excepted.contains(&(*i, *m)))
            .map(|(_, b, p, m, why)| format!("{b} {p}: {m} (listed because: {why})"))
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
            Some((d, maps)) => report.walk(&name, &body, maps, d),
            None => unknown.push(name),
        }
    }
    assert!(
        unknown.is_empty(),
        "fixtures without a decoder in shape_walk::decoder_for: {unknown:?}"
    );
    report.assert_clean(1000);
}

#[test]
fn the_walk_catches_a_strict_struct() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        plugin_output: String,
    }
    let mut report = Report::default();
    report.walk("strict", &json!({"plugin_output": "OK"}), &[], |v| {
        serde_json::from_value::<Strict>(v.clone())
            .map(drop)
            .map_err(|e| e.to_string())
    });
    assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    assert!(
        report.failures[0].contains("/plugin_output: omitted"),
        "{:?}",
        report.failures
    );
    assert!(
        report.failures[1].contains("/plugin_output: null"),
        "{:?}",
        report.failures
    );
}

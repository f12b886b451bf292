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
//! no longer fails fails the test too, so the list stays true; an excepted variant must be
//! refused with an error that names its field. A fixture without a decoder in
//! [`decoder_for`] fails the test, so new fixtures are walked. The walk itself is
//! `ops_proptest::shape`, shared with the other clients.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use ops_proptest::shape::{self, Decoder, Exception, Mutation, Walk};
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

const EXCEPTIONS: &[Exception] = &[
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

#[test]
fn every_recorded_answer_and_its_odd_variants_decode() {
    // Refused on purpose: the error must say which field, so an operator can tell the
    // server's answer is at fault.
    let mut walk = Walk::new(EXCEPTIONS).errors_name_the_field();
    walk.walk_fixtures(FIXTURES, decoder_for);
    walk.assert_clean(1000);
}

#[test]
fn the_walk_catches_a_strict_struct() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        plugin_output: String,
    }
    let mut walk = Walk::new(&[]).errors_name_the_field();
    walk.walk(
        "strict",
        &json!({"plugin_output": "OK"}),
        &[],
        shape::decode::<Strict>,
    );
    walk.assert_failures(&["/plugin_output: omitted", "/plugin_output: null"]);
}

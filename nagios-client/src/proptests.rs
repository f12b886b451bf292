//! Issue #15: every decoder of nagios-api answers returns `Ok` or a typed error, whatever the
//! bytes, and the code that reads a decoded value (time conversions, `Display`, downtime
//! lookups, error predicates) never panics. Inputs: arbitrary bytes, arbitrary JSON with
//! nagios-api's field names, and byte and JSON mutations of the bodies recorded from a real
//! nagios-api over Nagios 4 (`shared/reference/nagios/recorded-nagios-api/`) and of this
//! crate's own fixtures. `PROPTEST_CASES` raises the case count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value;

use crate::client::decode;
use crate::model::{
    HostDetail, LogEntry, NagiosStatus, Objects, ServiceDetail, State, StatusInfo, Timestamp,
};
use crate::{Error, ScheduleDowntime, Target, all_downtime_ids, find_new_downtimes};

const RECORDED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/nagios/recorded-nagios-api"
);
const OWN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Every `.json` body recorded from nagios-api, plus this crate's fixtures.
fn corpus() -> &'static [Vec<u8>] {
    static C: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    C.get_or_init(|| {
        let mut out = Vec::new();
        for dir in [RECORDED, OWN] {
            let mut names: Vec<_> = std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{dir}: {e}"))
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            names.sort();
            for p in names {
                out.push(std::fs::read(&p).unwrap());
            }
        }
        assert!(out.len() > 40, "only {} recorded bodies", out.len());
        out
    })
}

fn corpus_json() -> Vec<Value> {
    corpus()
        .iter()
        .filter_map(|b| serde_json::from_slice(b).ok())
        .collect()
}

const FIELDS: &[&str] = &[
    "success",
    "content",
    "current_state",
    "last_hard_state",
    "state_type",
    "plugin_output",
    "performance_data",
    "notifications_enabled",
    "active_checks_enabled",
    "passive_checks_enabled",
    "problem_has_been_acknowledged",
    "acknowledgement_type",
    "scheduled_downtime_depth",
    "last_check",
    "next_check",
    "last_update",
    "last_notification",
    "last_state_change",
    "last_time_ok",
    "current_attempt",
    "max_attempts",
    "comments",
    "comment",
    "downtimes",
    "downtime",
    "services",
    "host_name",
    "service_description",
    "has_been_checked",
    "is_flapping",
    "percent_state_change",
    "check_interval",
    "retry_interval",
    "downtime_id",
    "entry_time",
    "start_time",
    "end_time",
    "triggered_by",
    "fixed",
    "duration",
    "author",
    "comment_id",
    "entry_type",
    "source",
    "persistent",
    "expires",
    "expire_time",
    "comment_data",
    "info",
    "program",
    "created",
    "version",
    "nagios_pid",
    "daemon_mode",
    "program_start",
    "web01",
    "HTTP",
];

/// Reads every time a decoded value carries, the way callers do.
fn touch_time(t: Option<Timestamp>) {
    if let Some(t) = t {
        if let Some(st) = t.to_system_time() {
            assert_eq!(Timestamp::from(st), t, "round trip of {t}");
        }
        let _ = t.to_string();
    }
}

fn touch_error(e: &Error) {
    let _ = e.to_string();
    let _ = format!("{e:?}");
    let _ = (
        e.api_message(),
        e.is_unknown_host(),
        e.is_unknown_service(),
        e.is_unsupported_endpoint(),
        e.is_commands_disabled(),
        e.is_unauthorized(),
        e.is_rate_limited(),
    );
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let _ = s.to_string();
        src = s.source();
    }
}

fn touch_state(state: &State) {
    let req = ScheduleDowntime::new(Target::host("web01"), Duration::from_secs(600));
    let before = all_downtime_ids(state);
    let _ = find_new_downtimes(state, &before, &req);
    let _ = find_new_downtimes(state, &Default::default(), &req.services_too(true));
    for h in state.values() {
        let _ = (
            h.in_downtime(),
            h.current_state.to_string(),
            h.current_state.code(),
        );
        touch_time(h.last_check);
        touch_time(h.last_notification);
        touch_time(h.last_state_change);
        for p in h.performance_data.values() {
            let _ = p.as_f64();
        }
        for d in h.downtimes.values() {
            touch_time(Some(d.start_time));
            touch_time(Some(d.end_time));
            touch_time(Some(d.entry_time));
        }
        for c in h.comments.values() {
            touch_time(Some(c.entry_time));
            touch_time(c.expire_time);
        }
        for s in h.services.values() {
            let _ = (s.in_downtime(), s.current_state.to_string());
            touch_time(s.last_check);
            touch_time(s.last_state_change);
            for d in s.downtimes.values() {
                touch_time(Some(d.end_time));
            }
        }
    }
}

/// Every decode path of the client over one body (each answer type nagios-api has).
fn decode_all(bytes: &[u8]) {
    match decode::<State>("state", false, bytes) {
        Ok(s) => touch_state(&s),
        Err(e) => touch_error(&e),
    }
    match decode::<Objects>("objects", false, bytes) {
        Ok(o) => {
            let _ = o.values().map(Vec::len).sum::<usize>();
        }
        Err(e) => touch_error(&e),
    }
    match decode::<HostDetail>("host", false, bytes) {
        Ok(h) => {
            for t in [
                h.last_check,
                h.next_check,
                h.last_update,
                h.last_notification,
            ] {
                touch_time(t);
            }
            let _ = (h.percent_state_change, h.acknowledgement_type.code());
        }
        Err(e) => touch_error(&e),
    }
    match decode::<BTreeMap<String, ServiceDetail>>("service", true, bytes) {
        Ok(m) => {
            for s in m.values() {
                touch_time(s.last_time_ok);
                touch_time(s.last_hard_state_change);
            }
        }
        Err(e) => touch_error(&e),
    }
    match decode::<Vec<LogEntry>>("log", false, bytes) {
        Ok(lines) => {
            for l in lines {
                touch_time(l.timestamp);
            }
        }
        Err(e) => touch_error(&e),
    }
    match decode::<NagiosStatus>("status", false, bytes) {
        Ok(s) => {
            touch_time(s.info.created);
            touch_time(s.program.program_start);
        }
        Err(e) => touch_error(&e),
    }
    match decode::<Value>("cancel_downtime", false, bytes) {
        Ok(v) => {
            let _ = v.as_str() == Some("none found");
        }
        Err(e) => touch_error(&e),
    }
}

#[test]
fn every_recorded_body_goes_through_every_decoder() {
    for b in corpus() {
        decode_all(b);
    }
    // Sanity: the recorded state does decode (the mutations start from real answers).
    let state = std::fs::read(format!("{RECORDED}/state.json")).unwrap();
    assert!(decode::<State>("state", false, &state).is_ok());
}

proptest! {
    #![proptest_config(ops_proptest::config())]

    #[test]
    fn proptest_arbitrary_bytes_decode_or_fail_typed(b in ops_proptest::bytes_arbitrary()) {
        decode_all(&b);
    }

    #[test]
    fn proptest_mutated_recorded_bytes_decode_or_fail_typed(
        b in ops_proptest::bytes_mutated(corpus().to_vec())
    ) {
        decode_all(&b);
    }

    #[test]
    fn proptest_mutated_recorded_json_decodes_or_fails_typed(
        b in ops_proptest::json_mutated_bytes(corpus_json())
    ) {
        decode_all(&b);
    }

    #[test]
    fn proptest_arbitrary_nagios_shaped_json_decodes_or_fails_typed(
        v in ops_proptest::json_arbitrary(FIELDS)
    ) {
        // As a whole envelope, and as the content of a successful one.
        decode_all(&serde_json::to_vec(&v).unwrap());
        let env = serde_json::json!({"success": true, "content": v});
        decode_all(&serde_json::to_vec(&env).unwrap());
    }

    #[test]
    fn proptest_log_lines_split_without_panic(line in prop_oneof![
        "\\PC{0,80}",
        "\\[[-0-9 ]{0,24}\\]\\PC{0,20}",
        ops_proptest::text_mutated(
            std::fs::read_to_string(format!("{RECORDED}/external_commands.log"))
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        ),
    ]) {
        let e = LogEntry::parse(&line);
        touch_time(e.timestamp);
        prop_assert!(line.contains(e.message.as_str()));
    }

    #[test]
    fn proptest_any_timestamp_converts_or_is_none(secs in prop_oneof![
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(-5i64),
        Just(253_402_300_800i64),
    ]) {
        touch_time(Some(Timestamp(secs)));
        let info: StatusInfo =
            serde_json::from_value(serde_json::json!({"created": secs.to_string()})).unwrap();
        touch_time(info.created);
    }
}

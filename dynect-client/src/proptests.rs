//! Issue #15: the one interpretation path of Dyn answers (status, `Location` of a 307 job,
//! `Retry-After`, the envelope) and every decoder of `data` (records, record URIs, zones,
//! publishes, tasks, zone changes, login) return `Ok` or a typed error, whatever the bytes,
//! and what reads a decoded value or an error never panics. Inputs: arbitrary bytes and JSON
//! with Dyn's field names, and byte and JSON mutations of this crate's recorded fixtures and
//! of the bodies its testkit fake serves. `PROPTEST_CASES` raises the case count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{Client, RawResponse, Reply, Step};
use crate::{Error, PublishedZone, Record, RecordRef, Task, Zone, ZoneChange};

const OWN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// What the testkit fake answers to the reads it serves, after records were created and
/// the zone published through the client.
fn testkit_bodies() -> Vec<Vec<u8>> {
    use crate::RecordData;
    use crate::testkit::FakeDyn;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let fake = FakeDyn::start().await.unwrap();
        fake.add_zone("example.com");
        let c = fake.client().unwrap();
        c.login().await.unwrap();
        let z = "example.com";
        let www = "www.example.com";
        c.records()
            .create(z, www, &RecordData::a("192.0.2.10").unwrap(), 300)
            .await
            .unwrap();
        c.records()
            .create(z, www, &RecordData::aaaa("2001:db8::1").unwrap(), 0)
            .await
            .unwrap();
        let mut out = Vec::new();
        let (token, _) = c.current_token().await.unwrap();
        let paths: [&[&str]; 8] = [
            &["REST", "ZoneChanges", z, ""],
            &["REST", "Zone", z, ""],
            &["REST", "ARecord", z, www, ""],
            &["REST", "AllRecord", z, ""],
            &["REST", "AllRecord", z, www, ""],
            &["REST", "Job", "4242", ""],
            &["REST", "Task", "1", ""],
            &["REST", "Zone", "missing.example", ""],
        ];
        for segs in paths {
            let segs: Vec<String> = segs.iter().map(|s| (*s).to_owned()).collect();
            let url = c.url(&segs).unwrap();
            let raw = c
                .send_raw(&Method::GET, &url, None, Some(&token))
                .await
                .unwrap();
            out.push(raw.body);
        }
        out
    })
}

fn corpus() -> &'static [Vec<u8>] {
    static C: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    C.get_or_init(|| {
        let mut names: Vec<_> = std::fs::read_dir(OWN)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        let mut out: Vec<Vec<u8>> = names.iter().map(|p| std::fs::read(p).unwrap()).collect();
        out.extend(testkit_bodies());
        assert!(out.len() >= 25, "only {} bodies", out.len());
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
    "status",
    "data",
    "job_id",
    "msgs",
    "INFO",
    "SOURCE",
    "ERR_CD",
    "LVL",
    "token",
    "version",
    "zone",
    "fqdn",
    "ttl",
    "record_type",
    "record_id",
    "rdata",
    "address",
    "cname",
    "txtdata",
    "exchange",
    "preference",
    "priority",
    "weight",
    "port",
    "target",
    "zone_type",
    "serial",
    "serial_style",
    "task_id",
    "name",
    "zone_name",
    "blocking",
    "step_count",
    "total_steps",
    "message",
    "created_ts",
    "modified_ts",
    "id",
    "user_id",
    "rdata_type",
    "rdata_a",
    "success",
    "failure",
    "incomplete",
    "NOT_FOUND",
    "login: Bad or expired credentials",
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

fn touch_error(e: &Error) {
    let _ = (e.to_string(), format!("{e:?}"), e.status(), e.retry_after());
    let _ = (
        e.is_not_found(),
        e.is_rate_limited(),
        e.is_blocked(),
        e.blocked_task_id(),
    );
    let _ = (
        e.is_target_exists(),
        e.is_job_running(),
        e.is_session_expired(),
        e.job_id(),
    );
    for m in e.messages() {
        let _ = (m.level(), m.code(), m.is_error());
    }
    if let Some(b) = e.api_body() {
        let _ = (b.primary(), b.summary());
    }
    for m in [Method::GET, Method::POST, Method::PUT] {
        let _ = crate::retry::should_retry(e, &m);
    }
}

/// Every decoder of a successful envelope's `data`.
fn decode_data(reply: Reply) {
    let data = reply.data;
    let rep = |v: &Value| Reply {
        data: v.clone(),
        job_id: None,
        msgs: Vec::new(),
    };
    if let Ok(r) = rep(&data).decode::<Record>("record") {
        let _ = (r.record_type(), r.data.record_type());
    }
    if let Ok(uris) = rep(&data).decode::<Vec<String>>("record list") {
        for u in &uris {
            if let Some(r) = RecordRef::parse(u) {
                let _ = r.typed();
            }
        }
    }
    let _ = rep(&data).decode::<Zone>("zone");
    let _ = rep(&data).decode::<PublishedZone>("publish");
    let _ = rep(&data).decode::<Task>("task");
    if let Ok(changes) = rep(&data).decode::<Vec<ZoneChange>>("zone changes") {
        for c in changes {
            let _ = c.data();
        }
    }
    if let Err(e) = rep(&data).decode::<std::collections::BTreeMap<String, String>>("login") {
        touch_error(&e);
    }
}

/// The client's interpretation of one answer, then the decoders of its data.
fn interpret(status: StatusCode, headers: HeaderMap, body: Vec<u8>) {
    let raw = RawResponse {
        status,
        headers,
        body,
    };
    match client().interpret(&raw, "call") {
        Ok(Step::Done(reply)) => decode_data(reply),
        Ok(Step::Job { job_id, url, .. }) => {
            let _ = (job_id, url.as_str());
        }
        Err(e) => touch_error(&e),
    }
}

fn statuses() -> impl Strategy<Value = StatusCode> {
    prop_oneof![
        4 => Just(StatusCode::OK),
        1 => proptest::sample::select(vec![307u16, 400, 404, 429, 500, 503])
            .prop_map(|s| StatusCode::from_u16(s).unwrap()),
        1 => (100u16..600).prop_map(|s| StatusCode::from_u16(s).unwrap()),
    ]
}

#[test]
fn every_recorded_body_is_interpreted() {
    for b in corpus() {
        interpret(StatusCode::OK, HeaderMap::new(), b.clone());
        interpret(StatusCode::BAD_REQUEST, HeaderMap::new(), b.clone());
    }
}

proptest! {
    #![proptest_config(ops_proptest::config())]

    #[test]
    fn proptest_arbitrary_bytes_are_interpreted_or_fail_typed(
        b in ops_proptest::bytes_arbitrary(), status in statuses()
    ) {
        interpret(status, HeaderMap::new(), b);
    }

    #[test]
    fn proptest_mutated_recorded_bytes_are_interpreted_or_fail_typed(
        b in ops_proptest::bytes_mutated(corpus().to_vec()), status in statuses()
    ) {
        interpret(status, HeaderMap::new(), b);
    }

    #[test]
    fn proptest_mutated_recorded_json_is_interpreted_or_fails_typed(
        b in ops_proptest::json_mutated_bytes(corpus_json()), status in statuses()
    ) {
        interpret(status, HeaderMap::new(), b);
    }

    #[test]
    fn proptest_arbitrary_dyn_shaped_json_is_interpreted_or_fails_typed(
        v in ops_proptest::json_arbitrary(FIELDS)
    ) {
        interpret(StatusCode::OK, HeaderMap::new(), serde_json::to_vec(&v).unwrap());
        let env = serde_json::json!({"status": "success", "data": v, "msgs": []});
        interpret(StatusCode::OK, HeaderMap::new(), serde_json::to_vec(&env).unwrap());
    }

    /// 307 job redirects with any `Location`, and `Retry-After` as any server may send it.
    #[test]
    fn proptest_redirects_and_retry_after_never_panic(
        location in prop_oneof![
            "/REST/Job/[0-9]{1,25}/?",
            "https?://[a-z.]{0,20}(:[0-9]{1,6})?/REST/Job/[-0-9a-z]{0,22}",
            "[ -~]{0,60}",
        ],
        retry_after in prop_oneof![
            any::<u64>().prop_map(|n| n.to_string()),
            Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
            "[ -~]{0,30}",
        ],
        status in statuses(),
        body in ops_proptest::bytes_mutated(corpus().to_vec()),
    ) {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&location) {
            h.insert(LOCATION, v);
        }
        if let Ok(v) = HeaderValue::from_str(&retry_after) {
            h.insert(RETRY_AFTER, v);
        }
        interpret(StatusCode::TEMPORARY_REDIRECT, h.clone(), Vec::new());
        interpret(status, h, body);
    }
}

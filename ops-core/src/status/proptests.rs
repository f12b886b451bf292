//! Issue #15/#16: the status page path fed from outside data never panics. nagios-api
//! answers (recorded from a real nagios-api over Nagios 4, then mutated: a `last_check` of
//! `-5` or `"253402300800"`, a field dropped, bytes flipped…) are decoded as the client
//! does, turned into a [`Snapshot`], summarised at several clocks and rendered as HTML and
//! JSON. The status configuration (TOML and JSON) is decoded from mutated files the same way.
//! A summary is never "fresh" on a data time outside the staleness window, either side.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use serde_json::Value;

use super::{StatusConfig, Summary, render_html, summarize};
use crate::status::Snapshot;

const RECORDED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/nagios/recorded-nagios-api"
);

fn recorded(name: &str) -> Value {
    ops_proptest::fixture_json(&format!("{RECORDED}/{name}"))
}

/// The `/state`, `/problems` and `/status` envelopes recorded from nagios-api.
fn state_corpus() -> &'static [Value] {
    static C: OnceLock<Vec<Value>> = OnceLock::new();
    C.get_or_init(|| {
        [
            "state.json",
            "state_after.json",
            "state_final.json",
            "state_with_id.json",
            "problems.json",
        ]
        .iter()
        .map(|n| recorded(n))
        .collect()
    })
}

fn status_body() -> Value {
    recorded("status.json")
}

/// The client's envelope decode: `{"success": true, "content": …}` → `T`, else an error.
fn content<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if v.get("success") != Some(&Value::Bool(true)) {
        return None;
    }
    serde_json::from_value(v.get("content")?.clone()).ok()
}

const CONFIG_TOML: &str = r#"
page_name = "Acme"
stale_after_secs = 300

[[components]]
name = "Website"
description = "Public web servers"
members = ["web01", "web01:HTTP", "db01:Disk"]

[[components]]
name = "Database"
members = ["db01"]
"#;

const CONFIG_JSON: &str = r#"{
  "page_name": "Acme <status>",
  "stale_after_secs": 600,
  "components": [
    {"name": "Website", "members": ["web01:HTTP", "web01"]},
    {"name": "Data & jobs", "description": "\"quoted\"", "members": ["db01", "missing:svc"]}
  ]
}"#;

fn config() -> StatusConfig {
    toml::from_str(CONFIG_TOML).unwrap()
}

/// Clocks to summarise at: the recorded data's own time and around it, the epoch, year 9999,
/// and beyond what RFC 3339 can print.
fn clock() -> impl Strategy<Value = SystemTime> {
    prop_oneof![
        (0u64..1_000_000).prop_map(|d| UNIX_EPOCH + Duration::from_secs(1_795_611_171 + d)),
        (0u64..1_000_000).prop_map(|d| UNIX_EPOCH + Duration::from_secs(1_795_611_171 - d)),
        Just(UNIX_EPOCH),
        Just(UNIX_EPOCH + Duration::from_secs(253_402_300_799)),
        Just(UNIX_EPOCH + Duration::from_secs(400_000_000_000)),
        Just(SystemTime::now()),
    ]
}

/// Summarise and render; check that the page is never fresh on a data time outside the
/// staleness window.
fn summarise_and_render(config: &StatusConfig, snap: &Snapshot, now: SystemTime) -> Summary {
    let summary = summarize(config, snap, now);
    if !summary.stale {
        let t = snap.data_as_of.expect("fresh needs a data time");
        let off = match now.duration_since(t) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        assert!(
            off <= config.stale_after(),
            "fresh with a data time {off:?} away from the clock"
        );
    }
    let html = render_html(&summary, Some(60));
    assert!(html.ends_with("</html>\n"));
    let json = serde_json::to_string(&summary).unwrap();
    assert!(json.contains("\"stale\""));
    summary
}

fn run_page(state_body: &[u8], status_body: Option<&[u8]>, now: SystemTime) {
    let Some(state) = content::<nagios_client::State>(state_body) else {
        return;
    };
    let status = status_body.and_then(content::<nagios_client::NagiosStatus>);
    let snap = Snapshot::from_nagios(&state, status.as_ref());
    if let Some(t) = snap.data_as_of {
        // Out-of-range times are unknown, never a time a page prints or trusts.
        let since = t
            .duration_since(UNIX_EPOCH)
            .expect("no data time before 1970");
        assert!(
            since <= super::nagios::LATEST,
            "data time after 9999: {since:?}"
        );
    }
    summarise_and_render(&config(), &snap, now);
}

#[test]
fn the_recorded_answers_make_a_page() {
    let now = UNIX_EPOCH + Duration::from_secs(1_795_611_200);
    for body in state_corpus() {
        let b = serde_json::to_vec(body).unwrap();
        let status = serde_json::to_vec(&status_body()).unwrap();
        run_page(&b, Some(&status), now);
    }
}

proptest! {
    #![proptest_config(ops_proptest::config())]

    #[test]
    fn proptest_mutated_nagios_state_and_status_make_a_page_or_nothing(
        state in ops_proptest::json_mutated_bytes(state_corpus().to_vec()),
        status in proptest::option::of(ops_proptest::json_mutated_bytes(vec![status_body()])),
        now in clock(),
    ) {
        run_page(&state, status.as_deref(), now);
    }

    #[test]
    fn proptest_byte_mutated_nagios_answers_make_a_page_or_nothing(
        state in ops_proptest::bytes_mutated(
            state_corpus().iter().map(|v| serde_json::to_vec(v).unwrap()).collect()
        ),
        status in ops_proptest::bytes_mutated(vec![serde_json::to_vec(&status_body()).unwrap()]),
        now in clock(),
    ) {
        run_page(&state, Some(&status), now);
    }

    #[test]
    fn proptest_status_config_toml_decodes_or_fails_typed(
        text in prop_oneof![
            3 => ops_proptest::toml_mutated(vec![CONFIG_TOML.to_owned()]),
            1 => ops_proptest::text_mutated(vec![CONFIG_TOML.to_owned()]),
        ],
        now in clock(),
    ) {
        if let Ok(config) = toml::from_str::<StatusConfig>(&text) {
            let _ = config.validate().map_err(|e| e.to_string());
            let state: nagios_client::State =
                serde_json::from_value(state_corpus()[0]["content"].clone()).unwrap();
            summarise_and_render(&config, &Snapshot::from_nagios(&state, None), now);
        }
    }

    #[test]
    fn proptest_status_config_json_decodes_or_fails_typed(
        body in prop_oneof![
            ops_proptest::json_mutated_bytes(vec![serde_json::from_str(CONFIG_JSON).unwrap()]),
            ops_proptest::bytes_mutated(vec![CONFIG_JSON.as_bytes().to_vec()]),
            ops_proptest::json_arbitrary(
                &["page_name", "stale_after_secs", "components", "name", "members", "description"]
            ).prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ],
        now in clock(),
    ) {
        if let Ok(config) = serde_json::from_slice::<StatusConfig>(&body) {
            let _ = config.validate().map_err(|e| e.to_string());
            let state: nagios_client::State =
                serde_json::from_value(state_corpus()[1]["content"].clone()).unwrap();
            summarise_and_render(&config, &Snapshot::from_nagios(&state, None), now);
        }
    }
}

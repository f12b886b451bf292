//! The status page rendered from the real state recorded from nagios-api
//! over a real Nagios 4 (`../shared/reference/nagios/recorded-nagios-api/`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ops_core::status::{ComponentStatus, Snapshot, StatusConfig, render_html, summarize};
use std::time::{Duration, UNIX_EPOCH};

const RECORDED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/nagios/recorded-nagios-api/"
);

fn content<T: serde::de::DeserializeOwned>(file: &str) -> T {
    let path = format!("{RECORDED}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["success"], true, "{file} is not a success envelope");
    serde_json::from_value(v["content"].clone()).unwrap()
}

fn config() -> StatusConfig {
    serde_json::from_str(
        r#"{
            "page_name": "Recorded",
            "stale_after_secs": 600,
            "components": [
                {"name": "Website", "members": ["web01:HTTP"]},
                {"name": "Disks", "members": ["web01:Disk"]},
                {"name": "Database", "members": ["db01"]}
            ]
        }"#,
    )
    .unwrap()
}

#[test]
fn recorded_state_renders() {
    let state: nagios_client::State = content("state.json");
    let status: nagios_client::NagiosStatus = content("status.json");
    let snapshot = Snapshot::from_nagios(&state, Some(&status));
    let as_of = snapshot
        .data_as_of
        .expect("status.info.created is recorded");
    assert_eq!(as_of, UNIX_EPOCH + Duration::from_secs(1_795_611_171));

    let summary = summarize(&config(), &snapshot, as_of + Duration::from_secs(30));
    assert!(!summary.stale);
    let by = |n: &str| {
        summary
            .components
            .iter()
            .find(|c| c.name == n)
            .unwrap()
            .status
    };
    // Recorded: web01 UP with HTTP OK and Disk CRITICAL (HARD); db01 DOWN.
    assert_eq!(by("Website"), ComponentStatus::Operational);
    assert_eq!(by("Disks"), ComponentStatus::MajorOutage);
    assert_eq!(by("Database"), ComponentStatus::MajorOutage);
    let html = render_html(&summary, None);
    for c in &summary.components {
        assert!(html.contains(&c.name));
    }
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["components"].as_array().unwrap().len(), 3);

    // The same snapshot an hour later: nagios-api would still serve it if
    // Nagios had died. The page must not show it as current.
    let later = summarize(&config(), &snapshot, as_of + Duration::from_secs(3600));
    assert!(later.stale);
    assert!(
        later
            .components
            .iter()
            .all(|c| c.status == ComponentStatus::Unknown)
    );
}

#[test]
fn recorded_downtime_and_ack_states() {
    // state_final.json is the state after the command suite: downtimes and
    // acknowledgements recorded by the real Nagios.
    let state: nagios_client::State = content("state_final.json");
    let snapshot = Snapshot::from_nagios(&state, None);
    assert!(
        snapshot.data_as_of.is_some(),
        "falls back to the newest last_check"
    );
    for (name, h) in &state {
        let s = &snapshot.hosts[name];
        assert_eq!(s.in_downtime, h.scheduled_downtime_depth > 0);
        assert_eq!(s.acknowledged, h.problem_has_been_acknowledged);
        for (d, svc) in &h.services {
            assert_eq!(s.services[d].in_downtime, svc.scheduled_downtime_depth > 0);
        }
    }
}

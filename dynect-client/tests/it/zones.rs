//! Zones: get, publish (waits for the task), pending changes, busy zone.
use crate::common;

use common::*;
use dynect_client::{Error, RecordData, TaskStatus};
use wiremock::matchers::body_string;

/// Replays `PUT /REST/Zone/go-dynect.test {"publish":true}` (exact body) and the recorded
/// answer (`task_id` as a string), then polls the task until `complete`.
#[tokio::test]
async fn publish_replays_recording_and_waits_for_task() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("PUT", "/REST/Zone/go-dynect.test")
        .and(body_string(r#"{"publish":true}"#))
        .respond_with(json(200, fixture!("zone_publish.json")))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Task/230305365")
        .respond_with(json(200, fixture!("task_running.json")))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    authed("GET", "/REST/Task/230305365")
        .respond_with(json(200, fixture!("task_complete.json")))
        .expect(1)
        .mount(&server)
        .await;
    let z = client
        .zones()
        .publish("go-dynect.test", None)
        .await
        .unwrap();
    assert_eq!(z.zone.as_deref(), Some("go-dynect.test"));
    assert_eq!(z.serial, Some(2017122005));
    assert_eq!(z.serial_style.as_deref(), Some("day"));
    assert_eq!(z.zone_type.as_deref(), Some("Primary"));
}

#[tokio::test]
async fn publish_with_notes_clears_pending() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("POST", "/REST/ARecord/go-dynect.test/foobar.go-dynect.test")
        .respond_with(json(200, fixture!("arecord_get.json")))
        .expect(1)
        .mount(&server)
        .await;
    authed("PUT", "/REST/Zone/go-dynect.test")
        .and(body_string(r#"{"publish":true,"notes":"add foobar"}"#))
        .respond_with(json(200, fixture!("zone_publish.json")))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Task/230305365")
        .respond_with(json(200, fixture!("task_complete.json")))
        .expect(1)
        .mount(&server)
        .await;
    client
        .records()
        .create(
            "go-dynect.test",
            "foobar.go-dynect.test",
            &RecordData::a("10.9.8.7").unwrap(),
            3600,
        )
        .await
        .unwrap();
    assert_eq!(client.pending_zones(), ["go-dynect.test"]);
    client
        .zones()
        .publish("go-dynect.test", Some("add foobar"))
        .await
        .unwrap();
    assert!(client.pending_zones().is_empty());
}

#[tokio::test]
async fn failed_publish_task_is_an_error() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("PUT", "/REST/Zone/go-dynect.test")
        .respond_with(json(200, fixture!("zone_publish.json")))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Task/230305365")
        .respond_with(json(
            200,
            &fixture!("task_complete.json")
                .replace(r#""status": "complete""#, r#""status": "failed""#),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .zones()
        .publish("go-dynect.test", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TaskFailed { task_id: 230305365, status, .. } if status == "failed"),
        "{err:?}"
    );
}

/// The recorded "Operation blocked by current task" (denominator fixture) twice, then success:
/// retried with backoff; the task id is extracted from the messages.
#[tokio::test]
async fn blocked_zone_is_retried_with_backoff() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("PUT", "/REST/Zone/go-dynect.test")
        .respond_with(json(400, fixture!("zone_blocked.json")))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    authed("PUT", "/REST/Zone/go-dynect.test")
        .respond_with(json(200, fixture!("zone_publish.json")))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Task/230305365")
        .respond_with(json(200, fixture!("task_complete.json")))
        .expect(1)
        .mount(&server)
        .await;
    client
        .zones()
        .publish("go-dynect.test", None)
        .await
        .unwrap();
}

/// Blocked on every attempt: after `max_attempts` the typed error comes back.
#[tokio::test]
async fn blocked_zone_gives_up_after_max_attempts() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("POST", "/REST/ARecord/go-dynect.test/foobar.go-dynect.test")
        .respond_with(json(400, fixture!("zone_blocked.json")))
        .expect(3)
        .mount(&server)
        .await;
    let err = client
        .records()
        .create(
            "go-dynect.test",
            "foobar.go-dynect.test",
            &RecordData::a("10.9.8.7").unwrap(),
            0,
        )
        .await
        .unwrap_err();
    assert!(err.is_blocked());
    assert_eq!(err.blocked_task_id(), Some(39120953));
    assert_eq!(err.messages().len(), 3);
    assert_eq!(err.messages()[1].info, "task_name: ProvisionZone");
    assert!(client.pending_zones().is_empty());
}

/// "This session already has a job running" (status `running`) is retried.
#[tokio::test]
async fn job_running_is_retried() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(json(400, fixture!("job_running.json")))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Zone/go-dynect.test")
        .respond_with(json(200, fixture!("zone_get.json")))
        .expect(1)
        .mount(&server)
        .await;
    let z = client.zones().get("go-dynect.test").await.unwrap();
    assert_eq!(z.serial, Some(2017122100));
    assert_eq!(z.serial_style.as_deref(), Some("day"));
}

#[tokio::test]
async fn pending_changes_list_and_discard() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("GET", "/REST/ZoneChanges/go-dynect.test")
        .respond_with(json(200, fixture!("zone_changes.json")))
        .expect(1)
        .mount(&server)
        .await;
    authed("DELETE", "/REST/ZoneChanges/go-dynect.test")
        .and(empty_body)
        .respond_with(json(
            200,
            r#"{"status": "success", "data": {}, "job_id": 3, "msgs": [{"INFO": "remove: Changeset removed", "SOURCE": "BLL", "ERR_CD": null, "LVL": "INFO"}]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let changes = client.zones().changes("go-dynect.test").await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].fqdn.as_deref(), Some("foobar.go-dynect.test"));
    assert_eq!(changes[0].ttl, Some(3600));
    assert_eq!(changes[0].data(), Some(RecordData::a("10.9.8.7").unwrap()));
    client
        .zones()
        .discard_changes("go-dynect.test")
        .await
        .unwrap();
    assert!(client.pending_zones().is_empty());
}

#[tokio::test]
async fn list_zones_and_task() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("GET", "/REST/Zone")
        .respond_with(json(
            200,
            r#"{"status": "success", "data": ["/REST/Zone/example.com/", "/REST/Zone/go-dynect.test/"], "job_id": 5, "msgs": [{"INFO": "get: Your 2 zones", "SOURCE": "BLL", "ERR_CD": null, "LVL": "INFO"}]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/Task/230305365")
        .respond_with(json(200, fixture!("task_running.json")))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client.zones().list().await.unwrap(),
        ["example.com", "go-dynect.test"]
    );
    let t = client.zones().task(230305365).await.unwrap();
    assert_eq!(t.status, TaskStatus::Running);
    assert_eq!(t.total_steps, Some(3));
}

//! Reserved IPs (issue #22): each method's request shape, waiting on their actions, error
//! paths, and the checks made before sending.

use crate::common;

use std::time::Duration;

use common::{action, droplet, error_paths, no_content, ok_json, on, on_json, refused, setup};
use digitalocean_client::{Action, ActionStatus, CreateReservedIp, Error, WaitOptions};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::query_param;

const IP: &str = "45.55.96.47";
const PATH: &str = "/v2/reserved_ips/45.55.96.47";

fn reserved(droplet: &Value) -> Value {
    json!({
        "ip": IP, "droplet": droplet, "locked": false,
        "region": {"name": "New York 3", "slug": "nyc3", "features": [], "available": true, "sizes": []},
        "project_id": "746c6152-2fa2-11ed-92d3-27aaa54e4988"
    })
}

fn opts() -> WaitOptions {
    WaitOptions::new(Duration::from_secs(10), Duration::from_millis(10))
}

#[tokio::test]
async fn list_get_and_delete() {
    let (server, client) = setup().await;
    on("GET", "/v2/reserved_ips")
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(json!({
            "reserved_ips": [reserved(&Value::Null), reserved(&droplet())],
            "links": {}, "meta": {"total": 2}
        })))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", PATH)
        .respond_with(ok_json(json!({"reserved_ip": reserved(&json!({}))})))
        .expect(1)
        .mount(&server)
        .await;
    on("DELETE", PATH)
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;
    let all = client.reserved_ips().list().collect_all().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].droplet.is_none());
    assert_eq!(all[1].droplet.as_ref().map(|d| d.id), Some(101));
    assert_eq!(all[1].region.as_ref().unwrap().slug, "nyc3");
    // `{}` is the spec's "null" alternative for `droplet`: unassigned.
    let one = client.reserved_ips().get(IP).await.unwrap();
    assert_eq!(one.ip.as_deref(), Some(IP));
    assert!(one.droplet.is_none());
    client.reserved_ips().delete(IP).await.unwrap();
}

#[tokio::test]
async fn create_for_a_droplet_or_in_a_region() {
    let (server, client) = setup().await;
    on_json("POST", "/v2/reserved_ips", json!({"droplet_id": 3164444}))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "reserved_ip": reserved(&Value::Null),
            "links": {
                "droplets": [{"id": 3164444, "rel": "droplet", "href": "https://api.digitalocean.com/v2/droplets/3164444"}],
                "actions": [{"id": 1088924622, "rel": "assign_ip", "href": "https://api.digitalocean.com/v2/actions/1088924622"}]
            }
        })))
        .expect(1)
        .mount(&server)
        .await;
    on_json(
        "POST",
        "/v2/reserved_ips",
        json!({"region": "nyc3", "project_id": "746c6152-2fa2-11ed-92d3-27aaa54e4988"}),
    )
    .respond_with(
        ResponseTemplate::new(202)
            .set_body_json(json!({"reserved_ip": reserved(&Value::Null), "links": {}})),
    )
    .expect(1)
    .mount(&server)
    .await;
    let created = client
        .reserved_ips()
        .create(&CreateReservedIp::for_droplet(3164444))
        .await
        .unwrap();
    assert_eq!(created.actions[0].id, Some(1088924622));
    assert_eq!(created.actions[0].rel, "assign_ip");
    let created = client
        .reserved_ips()
        .create(&CreateReservedIp::InRegion {
            region: "nyc3".into(),
            project_id: Some("746c6152-2fa2-11ed-92d3-27aaa54e4988".into()),
        })
        .await
        .unwrap();
    assert!(created.actions.is_empty());
}

#[tokio::test]
async fn assign_then_wait_and_unassign() {
    let (server, client) = setup().await;
    let mut in_progress = action("in-progress");
    in_progress["type"] = json!("assign_ip");
    on_json(
        "POST",
        &format!("{PATH}/actions"),
        json!({"type": "assign", "droplet_id": 3164444}),
    )
    .respond_with(ResponseTemplate::new(201).set_body_json(json!({"action": in_progress})))
    .expect(1)
    .mount(&server)
    .await;
    on_json(
        "POST",
        &format!("{PATH}/actions"),
        json!({"type": "unassign"}),
    )
    .respond_with(ResponseTemplate::new(201).set_body_json(json!({"action": action("completed")})))
    .expect(1)
    .mount(&server)
    .await;
    let id = in_progress["id"].as_u64().unwrap();
    on("GET", &format!("/v2/actions/{id}"))
        .respond_with(ok_json(json!({"action": action("in-progress")})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    on("GET", &format!("/v2/actions/{id}"))
        .respond_with(ok_json(json!({"action": action("completed")})))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", &format!("{PATH}/actions/{id}"))
        .respond_with(ok_json(json!({"action": action("completed")})))
        .expect(1)
        .mount(&server)
        .await;

    let ips = client.reserved_ips();
    let started = ips.assign(IP, 3164444).await.unwrap();
    assert_eq!(started.kind, "assign_ip");
    let done = ips.wait(&started, opts()).await.unwrap();
    assert_eq!(done.status, ActionStatus::Completed);
    // Already completed: no poll.
    let off = ips.unassign(IP).await.unwrap();
    assert_eq!(
        ips.wait(&off, opts()).await.unwrap().status,
        ActionStatus::Completed
    );
    assert_eq!(
        ips.get_action(IP, id).await.unwrap().status,
        ActionStatus::Completed
    );
}

#[tokio::test]
async fn wait_reports_errored_actions_and_refuses_actions_without_id() {
    let (server, client) = setup().await;
    let errored: Action = serde_json::from_value(action("errored")).unwrap();
    let err = client
        .reserved_ips()
        .wait(&errored, opts())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ActionErrored { .. }), "{err:?}");
    let mut no_id = action("in-progress");
    no_id.as_object_mut().unwrap().remove("id");
    let no_id: Action = serde_json::from_value(no_id).unwrap();
    let err = client
        .reserved_ips()
        .wait(&no_id, opts())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                field: "action_id",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn every_method_keeps_the_error_paths() {
    error_paths("GET", "/v2/reserved_ips", |c| async move {
        c.reserved_ips().list().collect_all().await
    })
    .await;
    error_paths(
        "GET",
        PATH,
        |c| async move { c.reserved_ips().get(IP).await },
    )
    .await;
    error_paths("POST", "/v2/reserved_ips", |c| async move {
        c.reserved_ips()
            .create(&CreateReservedIp::in_region("nyc3"))
            .await
    })
    .await;
    error_paths("DELETE", PATH, |c| async move {
        c.reserved_ips().delete(IP).await
    })
    .await;
    let actions = format!("{PATH}/actions");
    error_paths("POST", &actions, |c| async move {
        c.reserved_ips().assign(IP, 3164444).await
    })
    .await;
    error_paths("POST", &actions, |c| async move {
        c.reserved_ips().unassign(IP).await
    })
    .await;
    error_paths("GET", &format!("{actions}/7"), |c| async move {
        c.reserved_ips().get_action(IP, 7).await
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    refused("reserved_ip", |c| async move {
        c.reserved_ips().get("2001:db8::1").await
    })
    .await;
    refused("reserved_ip", |c| async move {
        c.reserved_ips().delete("45.55.96").await
    })
    .await;
    refused("reserved_ip", |c| async move {
        c.reserved_ips().unassign("../droplets").await
    })
    .await;
    refused("droplet_id", |c| async move {
        c.reserved_ips().assign(IP, 0).await
    })
    .await;
    refused("droplet_id", |c| async move {
        c.reserved_ips()
            .create(&CreateReservedIp::for_droplet(0))
            .await
    })
    .await;
    refused("region", |c| async move {
        c.reserved_ips()
            .create(&CreateReservedIp::in_region(" "))
            .await
    })
    .await;
    refused("project_id", |c| async move {
        c.reserved_ips()
            .create(&CreateReservedIp::InRegion {
                region: "nyc3".into(),
                project_id: Some("default".into()),
            })
            .await
    })
    .await;
    refused("action_id", |c| async move {
        c.reserved_ips().get_action(IP, 0).await
    })
    .await;
}

//! Snapshots (issue #22): list (by resource type), get, delete; error paths and refusals.

use crate::common;

use common::{error_paths, no_content, ok_json, on, refused, setup};
use digitalocean_client::SnapshotResourceType;
use serde_json::{Value, json};
use wiremock::matchers::{query_param, query_param_is_missing};

fn snapshot(id: &str, kind: &str) -> Value {
    json!({
        "id": id, "name": "web-01-1595954862243", "created_at": "2020-07-28T16:47:44Z",
        "regions": ["nyc3", "sfo3"], "resource_id": "200776916", "resource_type": kind,
        "min_disk_size": 25, "size_gigabytes": 2.34, "tags": ["web", "env:prod"]
    })
}

#[tokio::test]
async fn list_all_or_by_type_get_and_delete() {
    let (server, client) = setup().await;
    on("GET", "/v2/snapshots")
        .and(query_param_is_missing("resource_type"))
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(json!({
            "snapshots": [snapshot("6372321", "droplet"), snapshot("fbe805e8-866b-11e6-96bf-000f53315a41", "volume")],
            "links": {}, "meta": {"total": 2}
        })))
        .expect(1)
        .mount(&server)
        .await;
    for kind in ["droplet", "volume"] {
        on("GET", "/v2/snapshots")
            .and(query_param("resource_type", kind))
            .respond_with(ok_json(json!({
                "snapshots": [snapshot("6372321", kind)], "links": {}, "meta": {"total": 1}
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    on("GET", "/v2/snapshots/6372321")
        .respond_with(ok_json(json!({"snapshot": snapshot("6372321", "droplet")})))
        .expect(1)
        .mount(&server)
        .await;
    on("DELETE", "/v2/snapshots/6372321")
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;
    let s = client.snapshots();
    let all = s.list().collect_all().await.unwrap();
    assert_eq!(all[1].resource_type, SnapshotResourceType::Volume);
    let droplets = s
        .list_by_type(SnapshotResourceType::Droplet)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(droplets[0].resource_type, SnapshotResourceType::Droplet);
    s.list_by_type(SnapshotResourceType::Volume)
        .collect_all()
        .await
        .unwrap();
    let one = s.get("6372321").await.unwrap();
    assert_eq!(one.regions, vec!["nyc3", "sfo3"]);
    assert!((one.size_gigabytes - 2.34).abs() < f64::EPSILON);
    s.delete("6372321").await.unwrap();
}

#[tokio::test]
async fn every_method_keeps_the_error_paths() {
    error_paths("GET", "/v2/snapshots", |c| async move {
        c.snapshots()
            .list_by_type(SnapshotResourceType::Volume)
            .collect_all()
            .await
    })
    .await;
    error_paths("GET", "/v2/snapshots/6372321", |c| async move {
        c.snapshots().get("6372321").await
    })
    .await;
    error_paths("DELETE", "/v2/snapshots/6372321", |c| async move {
        c.snapshots().delete("6372321").await
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    refused("resource_type", |c| async move {
        c.snapshots()
            .list_by_type(SnapshotResourceType::Unknown)
            .collect_all()
            .await
    })
    .await;
    refused(
        "snapshot_id",
        |c| async move { c.snapshots().get("").await },
    )
    .await;
    refused("snapshot_id", |c| async move {
        c.snapshots().delete("a/b").await
    })
    .await;
}

//! Volumes (issue #22): each method's request shape, waiting on their actions, snapshots,
//! error paths, and the checks made before sending.

use crate::common;

use std::time::Duration;

use common::{action, error_paths, no_content, ok_json, on, on_json, refused, setup};
use digitalocean_client::{
    ActionStatus, CreateVolume, FilesystemType, SnapshotResourceType, VolumeFilter, WaitOptions,
};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::{query_param, query_param_is_missing};

const ID: &str = "506f78a4-e098-11e5-ad9f-000f53306ae1";
const PATH: &str = "/v2/volumes/506f78a4-e098-11e5-ad9f-000f53306ae1";
const SNAP: &str = "fbe805e8-866b-11e6-96bf-000f53315a41";

fn volume() -> Value {
    json!({
        "id": ID, "name": "pgdata", "description": "", "size_gigabytes": 100,
        "droplet_ids": null, "created_at": "2020-03-02T17:00:49Z", "tags": ["web"],
        "region": {"name": "New York 1", "slug": "nyc1", "features": [], "available": true, "sizes": []},
        "filesystem_type": "ext4", "filesystem_label": "pgdata"
    })
}

fn snapshot() -> Value {
    json!({
        "id": SNAP, "name": "pgdata-1", "created_at": "2019-09-28T23:14:30Z", "regions": ["nyc1"],
        "resource_id": ID, "resource_type": "volume", "min_disk_size": 100,
        "size_gigabytes": 0.5, "tags": null
    })
}

#[tokio::test]
async fn lists_with_and_without_filters() {
    let (server, client) = setup().await;
    let page = json!({"volumes": [volume()], "links": {}, "meta": {"total": 1}});
    on("GET", "/v2/volumes")
        .and(query_param_is_missing("name"))
        .and(query_param_is_missing("region"))
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(page.clone()))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", "/v2/volumes")
        .and(query_param("name", "pgdata"))
        .and(query_param_is_missing("region"))
        .respond_with(ok_json(page.clone()))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", "/v2/volumes")
        .and(query_param("region", "nyc1"))
        .and(query_param_is_missing("name"))
        .respond_with(ok_json(page.clone()))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", "/v2/volumes")
        .and(query_param("region", "nyc1"))
        .and(query_param("name", "pgdata"))
        .respond_with(ok_json(page))
        .expect(1)
        .mount(&server)
        .await;
    let v = client.volumes();
    let all = v.list().collect_all().await.unwrap();
    assert!(all[0].droplet_ids.is_empty(), "null reads as none");
    assert_eq!(all[0].region.as_ref().unwrap().slug, "nyc1");
    v.list_by_name("pgdata").collect_all().await.unwrap();
    v.list_by_region("nyc1").collect_all().await.unwrap();
    let both = VolumeFilter {
        name: Some("pgdata".into()),
        region: Some("nyc1".into()),
    };
    v.list_filtered(&both).collect_all().await.unwrap();
}

#[tokio::test]
async fn get_create_delete() {
    let (server, client) = setup().await;
    on("GET", PATH)
        .respond_with(ok_json(json!({"volume": volume()})))
        .expect(1)
        .mount(&server)
        .await;
    on_json(
        "POST",
        "/v2/volumes",
        json!({
            "name": "pgdata", "size_gigabytes": 100, "region": "nyc1", "description": "db",
            "filesystem_type": "ext4", "filesystem_label": "pgdata", "tags": ["ops-run:1"]
        }),
    )
    .respond_with(ResponseTemplate::new(201).set_body_json(json!({"volume": volume()})))
    .expect(1)
    .mount(&server)
    .await;
    on_json(
        "POST",
        "/v2/volumes",
        json!({"name": "copy", "size_gigabytes": 100, "region": "nyc1", "snapshot_id": SNAP}),
    )
    .respond_with(ResponseTemplate::new(201).set_body_json(json!({"volume": volume()})))
    .expect(1)
    .mount(&server)
    .await;
    on("DELETE", PATH)
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;
    on("DELETE", "/v2/volumes")
        .and(query_param("name", "pgdata"))
        .and(query_param("region", "nyc1"))
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;

    let v = client.volumes();
    assert_eq!(v.get(ID).await.unwrap().filesystem_type, "ext4");
    let mut req = CreateVolume::new("pgdata", 100, "nyc1");
    req.description = Some("db".into());
    req.filesystem_type = Some(FilesystemType::Ext4);
    req.filesystem_label = Some("pgdata".into());
    req.tags = vec!["ops-run:1".into()];
    assert_eq!(v.create(&req).await.unwrap().id.as_deref(), Some(ID));
    let mut copy = CreateVolume::new("copy", 100, "nyc1");
    copy.snapshot_id = Some(SNAP.into());
    v.create(&copy).await.unwrap();
    v.delete(ID).await.unwrap();
    v.delete_by_name("pgdata", "nyc1").await.unwrap();
}

#[tokio::test]
async fn attach_detach_resize_and_wait() {
    let (server, client) = setup().await;
    let actions = format!("{PATH}/actions");
    for (body, kind) in [
        (
            json!({"type": "attach", "droplet_id": 3164444}),
            "attach_volume",
        ),
        (
            json!({"type": "detach", "droplet_id": 3164444}),
            "detach_volume",
        ),
        (
            json!({"type": "resize", "size_gigabytes": 200}),
            "resize_volume",
        ),
    ] {
        let mut a = action("in-progress");
        a["type"] = json!(kind);
        on_json("POST", &actions, body)
            .respond_with(ResponseTemplate::new(202).set_body_json(json!({"action": a})))
            .expect(1)
            .mount(&server)
            .await;
    }
    on("GET", "/v2/actions/501")
        .respond_with(ok_json(json!({"action": action("completed")})))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", &format!("{actions}/501"))
        .respond_with(ok_json(json!({"action": action("in-progress")})))
        .expect(1)
        .mount(&server)
        .await;
    let v = client.volumes();
    let attach = v.attach(ID, 3164444).await.unwrap();
    assert_eq!(attach.kind, "attach_volume");
    let opts = WaitOptions::new(Duration::from_secs(10), Duration::from_millis(10));
    assert_eq!(
        v.wait(&attach, opts).await.unwrap().status,
        ActionStatus::Completed
    );
    assert_eq!(v.detach(ID, 3164444).await.unwrap().kind, "detach_volume");
    assert_eq!(v.resize(ID, 200).await.unwrap().kind, "resize_volume");
    assert_eq!(
        v.get_action(ID, 501).await.unwrap().status,
        ActionStatus::InProgress
    );
}

#[tokio::test]
async fn snapshots_of_a_volume() {
    let (server, client) = setup().await;
    on("GET", &format!("{PATH}/snapshots"))
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(
            json!({"snapshots": [snapshot()], "links": {}, "meta": {"total": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    on_json(
        "POST",
        &format!("{PATH}/snapshots"),
        json!({"name": "pgdata-1", "tags": ["nightly"]}),
    )
    .respond_with(ResponseTemplate::new(201).set_body_json(json!({"snapshot": snapshot()})))
    .expect(1)
    .mount(&server)
    .await;
    on_json(
        "POST",
        &format!("{PATH}/snapshots"),
        json!({"name": "pgdata-2"}),
    )
    .respond_with(ResponseTemplate::new(201).set_body_json(json!({"snapshot": snapshot()})))
    .expect(1)
    .mount(&server)
    .await;
    on("GET", &format!("/v2/volumes/snapshots/{SNAP}"))
        .respond_with(ok_json(json!({"snapshot": snapshot()})))
        .expect(1)
        .mount(&server)
        .await;
    on("DELETE", &format!("/v2/volumes/snapshots/{SNAP}"))
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;
    let v = client.volumes();
    let snaps = v.list_snapshots(ID).collect_all().await.unwrap();
    assert_eq!(snaps[0].resource_type, SnapshotResourceType::Volume);
    assert!(snaps[0].tags.is_empty(), "null tags read as none");
    v.create_snapshot(ID, "pgdata-1", &["nightly".to_owned()])
        .await
        .unwrap();
    v.create_snapshot(ID, "pgdata-2", &[]).await.unwrap();
    assert_eq!(v.get_snapshot(SNAP).await.unwrap().resource_id, ID);
    v.delete_snapshot(SNAP).await.unwrap();
}

#[tokio::test]
async fn every_method_keeps_the_error_paths() {
    error_paths("GET", "/v2/volumes", |c| async move {
        c.volumes().list_by_name("pgdata").collect_all().await
    })
    .await;
    error_paths("GET", PATH, |c| async move { c.volumes().get(ID).await }).await;
    error_paths("POST", "/v2/volumes", |c| async move {
        c.volumes()
            .create(&CreateVolume::new("pgdata", 10, "nyc1"))
            .await
    })
    .await;
    error_paths(
        "DELETE",
        PATH,
        |c| async move { c.volumes().delete(ID).await },
    )
    .await;
    error_paths("DELETE", "/v2/volumes", |c| async move {
        c.volumes().delete_by_name("pgdata", "nyc1").await
    })
    .await;
    let actions = format!("{PATH}/actions");
    error_paths("POST", &actions, |c| async move {
        c.volumes().attach(ID, 1).await
    })
    .await;
    error_paths("POST", &actions, |c| async move {
        c.volumes().detach(ID, 1).await
    })
    .await;
    error_paths("POST", &actions, |c| async move {
        c.volumes().resize(ID, 20).await
    })
    .await;
    error_paths("GET", &format!("{actions}/9"), |c| async move {
        c.volumes().get_action(ID, 9).await
    })
    .await;
    let snaps = format!("{PATH}/snapshots");
    error_paths("GET", &snaps, |c| async move {
        c.volumes().list_snapshots(ID).collect_all().await
    })
    .await;
    error_paths("POST", &snaps, |c| async move {
        c.volumes().create_snapshot(ID, "s", &[]).await
    })
    .await;
    let snap = format!("/v2/volumes/snapshots/{SNAP}");
    error_paths("GET", &snap, |c| async move {
        c.volumes().get_snapshot(SNAP).await
    })
    .await;
    error_paths("DELETE", &snap, |c| async move {
        c.volumes().delete_snapshot(SNAP).await
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    refused(
        "volume_id",
        |c| async move { c.volumes().get("pgdata").await },
    )
    .await;
    refused("volume_id", |c| async move {
        c.volumes().list_snapshots("").collect_all().await
    })
    .await;
    refused("name", |c| async move {
        c.volumes()
            .create(&CreateVolume::new("PGDATA", 10, "nyc1"))
            .await
    })
    .await;
    refused("size_gigabytes", |c| async move {
        c.volumes()
            .create(&CreateVolume::new("pgdata", 0, "nyc1"))
            .await
    })
    .await;
    refused("filesystem_label", |c| async move {
        let mut r = CreateVolume::new("pgdata", 10, "nyc1");
        r.filesystem_type = Some(FilesystemType::Ext4);
        r.filesystem_label = Some("x".repeat(17));
        c.volumes().create(&r).await
    })
    .await;
    refused("tag", |c| async move {
        let mut r = CreateVolume::new("pgdata", 10, "nyc1");
        r.tags = vec!["a b".into()];
        c.volumes().create(&r).await
    })
    .await;
    refused("size_gigabytes", |c| async move {
        c.volumes().resize(ID, 16_385).await
    })
    .await;
    refused(
        "droplet_id",
        |c| async move { c.volumes().attach(ID, 0).await },
    )
    .await;
    refused("region", |c| async move {
        c.volumes().delete_by_name("pgdata", "").await
    })
    .await;
    refused("snapshot_id", |c| async move {
        c.volumes().delete_snapshot("..").await
    })
    .await;
    refused("name", |c| async move {
        c.volumes().create_snapshot(ID, " ", &[]).await
    })
    .await;
}

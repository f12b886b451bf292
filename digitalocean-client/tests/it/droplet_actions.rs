//! Droplet actions beyond power (issue #22): each action's request body, waiting on it,
//! error paths, and the checks made before sending.

use crate::common;

use std::time::Duration;

use common::{action, error_paths, ok_json, on, on_json, refused, setup};
use digitalocean_client::{ActionStatus, BackupPolicy, Error, ImageRef, WaitOptions, Weekday};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

const PATH: &str = "/v2/droplets/3164444/actions";

fn created(kind: &str) -> ResponseTemplate {
    let mut a = action("in-progress");
    a["type"] = json!(kind);
    ResponseTemplate::new(201).set_body_json(json!({"action": a}))
}

#[tokio::test]
async fn every_action_sends_its_documented_body() {
    let (server, client) = setup().await;
    let bodies: [(Value, &str); 10] = [
        (
            json!({"type": "resize", "size": "s-2vcpu-4gb", "disk": true}),
            "resize",
        ),
        (
            json!({"type": "rebuild", "image": "ubuntu-24-04-x64"}),
            "rebuild",
        ),
        (json!({"type": "rebuild", "image": 12389723}), "rebuild"),
        (json!({"type": "rename", "name": "web-2"}), "rename"),
        (
            json!({"type": "snapshot", "name": "web-1-nightly"}),
            "snapshot",
        ),
        (json!({"type": "enable_backups"}), "enable_backups"),
        (
            json!({"type": "enable_backups", "backup_policy": {"plan": "weekly", "weekday": "SUN", "hour": 20}}),
            "enable_backups",
        ),
        (
            json!({"type": "enable_backups", "backup_policy": {"plan": "daily", "hour": 4}}),
            "enable_backups",
        ),
        (json!({"type": "disable_backups"}), "disable_backups"),
        (json!({"type": "enable_ipv6"}), "enable_ipv6"),
    ];
    for (body, kind) in bodies {
        on_json("POST", PATH, body)
            .respond_with(created(kind))
            .expect(1)
            .mount(&server)
            .await;
    }
    let da = client.droplet_actions();
    assert_eq!(
        da.resize(3164444, "s-2vcpu-4gb", true).await.unwrap().kind,
        "resize"
    );
    da.rebuild(3164444, "ubuntu-24-04-x64").await.unwrap();
    da.rebuild(3164444, ImageRef::Id(12389723)).await.unwrap();
    assert_eq!(da.rename(3164444, "web-2").await.unwrap().kind, "rename");
    da.snapshot(3164444, "web-1-nightly").await.unwrap();
    da.enable_backups(3164444).await.unwrap();
    da.enable_backups_with(3164444, &BackupPolicy::weekly(Weekday::Sun, 20))
        .await
        .unwrap();
    da.enable_backups_with(3164444, &BackupPolicy::daily(4))
        .await
        .unwrap();
    da.disable_backups(3164444).await.unwrap();
    assert_eq!(da.enable_ipv6(3164444).await.unwrap().kind, "enable_ipv6");
}

#[tokio::test]
async fn wait_polls_until_completed_or_errored() {
    let (server, client) = setup().await;
    on_json(
        "POST",
        PATH,
        json!({"type": "resize", "size": "s-2vcpu-4gb", "disk": false}),
    )
    .respond_with(created("resize"))
    .expect(1)
    .mount(&server)
    .await;
    on("GET", "/v2/actions/501")
        .respond_with(ok_json(json!({"action": action("in-progress")})))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    on("GET", "/v2/actions/501")
        .respond_with(ok_json(json!({"action": action("errored")})))
        .expect(1)
        .mount(&server)
        .await;
    let da = client.droplet_actions();
    let started = da.resize(3164444, "s-2vcpu-4gb", false).await.unwrap();
    assert_eq!(started.status, ActionStatus::InProgress);
    let opts = WaitOptions::new(Duration::from_secs(10), Duration::from_millis(10));
    let err = da.wait(&started, opts).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ActionErrored {
                action_id: Some(501),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn every_action_keeps_the_error_paths() {
    error_paths("POST", PATH, |c| async move {
        c.droplet_actions()
            .resize(3164444, "s-1vcpu-2gb", false)
            .await
    })
    .await;
    error_paths("POST", PATH, |c| async move {
        c.droplet_actions()
            .rebuild(3164444, "ubuntu-24-04-x64")
            .await
    })
    .await;
    error_paths("POST", PATH, |c| async move {
        c.droplet_actions().rename(3164444, "web-2").await
    })
    .await;
    error_paths("POST", PATH, |c| async move {
        c.droplet_actions().snapshot(3164444, "s").await
    })
    .await;
    error_paths("POST", PATH, |c| async move {
        c.droplet_actions().enable_backups(3164444).await
    })
    .await;
    error_paths("POST", PATH, |c| async move {
        c.droplet_actions()
            .enable_backups_with(3164444, &BackupPolicy::daily(0))
            .await
    })
    .await;
    error_paths("POST", PATH, |c| async move {
        c.droplet_actions().disable_backups(3164444).await
    })
    .await;
    error_paths("POST", PATH, |c| async move {
        c.droplet_actions().enable_ipv6(3164444).await
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    refused("droplet_id", |c| async move {
        c.droplet_actions().enable_ipv6(0).await
    })
    .await;
    refused("size", |c| async move {
        c.droplet_actions().resize(1, "", false).await
    })
    .await;
    refused("image", |c| async move {
        c.droplet_actions().rebuild(1, ImageRef::Id(0)).await
    })
    .await;
    refused("image", |c| async move {
        c.droplet_actions().rebuild(1, " ").await
    })
    .await;
    refused("name", |c| async move {
        c.droplet_actions().rename(1, "web_2").await
    })
    .await;
    refused("name", |c| async move {
        c.droplet_actions().snapshot(1, "").await
    })
    .await;
    refused("backup_policy.hour", |c| async move {
        c.droplet_actions()
            .enable_backups_with(1, &BackupPolicy::daily(5))
            .await
    })
    .await;
}

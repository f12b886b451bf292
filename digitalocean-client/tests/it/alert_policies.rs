//! Monitoring alert policies (issue #22): each method's request shape, secrecy of Slack
//! webhook URLs, error paths, and the checks made before sending.

use crate::common;

use common::{error_paths, no_content, ok_json, on, on_json, refused, setup};
use digitalocean_client::{
    ALERT_DROPLET_CPU, ALERT_DROPLET_MEMORY, AlertCompare, AlertPolicyRequest, AlertWindow,
    SlackDestination,
};
use serde_json::{Value, json};
use wiremock::matchers::query_param;

const UUID: &str = "78b3da62-27e5-49ba-ac70-5db0b5935c64";
const PATH: &str = "/v2/monitoring/alerts/78b3da62-27e5-49ba-ac70-5db0b5935c64";
const HOOK: &str = "https://hooks.slack.com/services/T1234/B1234/SECRETSECRET";

fn policy() -> Value {
    json!({
        "uuid": UUID, "type": ALERT_DROPLET_CPU, "description": "CPU Alert",
        "compare": "GreaterThan", "value": 80, "window": "5m",
        "entities": ["3164444"], "tags": ["web"], "enabled": true,
        "alerts": {"email": ["ops@example.com"], "slack": [{"channel": "#ops", "url": HOOK}]}
    })
}

fn request() -> AlertPolicyRequest {
    let mut r = AlertPolicyRequest::new(
        ALERT_DROPLET_CPU,
        "CPU Alert",
        AlertCompare::GreaterThan,
        80.0,
        AlertWindow::FiveMinutes,
    )
    .droplets([3164444])
    .email("ops@example.com");
    r.tags = vec!["web".into()];
    r.alerts.slack.push(SlackDestination {
        channel: "#ops".into(),
        url: HOOK.into(),
    });
    r
}

fn request_json() -> Value {
    json!({
        "type": ALERT_DROPLET_CPU, "description": "CPU Alert", "compare": "GreaterThan",
        "value": 80.0, "window": "5m", "entities": ["3164444"], "tags": ["web"],
        "enabled": true,
        "alerts": {"email": ["ops@example.com"], "slack": [{"channel": "#ops", "url": HOOK}]}
    })
}

#[tokio::test]
async fn crud() {
    let (server, client) = setup().await;
    on("GET", "/v2/monitoring/alerts")
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(
            json!({"policies": [policy()], "links": {}, "meta": {"total": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", PATH)
        .respond_with(ok_json(json!({"policy": policy()})))
        .expect(1)
        .mount(&server)
        .await;
    on_json("POST", "/v2/monitoring/alerts", request_json())
        .respond_with(ok_json(json!({"policy": policy()})))
        .expect(1)
        .mount(&server)
        .await;
    let mut memory = request_json();
    memory["type"] = json!(ALERT_DROPLET_MEMORY);
    memory["window"] = json!("1h");
    on_json("PUT", PATH, memory)
        .respond_with(ok_json(json!({"policy": policy()})))
        .expect(1)
        .mount(&server)
        .await;
    on("DELETE", PATH)
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;

    let a = client.alert_policies();
    let all = a.list().collect_all().await.unwrap();
    assert_eq!(all[0].window, AlertWindow::FiveMinutes);
    assert_eq!(all[0].alerts.slack[0].url.expose_secret(), HOOK);
    // The webhook URL is a secret: never in Debug.
    assert!(!format!("{all:?}").contains("SECRETSECRET"));
    let got = a.get(UUID).await.unwrap();
    assert_eq!(got.compare, AlertCompare::GreaterThan);
    assert_eq!(a.create(&request()).await.unwrap().uuid, UUID);
    let mut update = AlertPolicyRequest::from(&got);
    update.kind = ALERT_DROPLET_MEMORY.into();
    update.window = AlertWindow::OneHour;
    a.update(UUID, &update).await.unwrap();
    a.delete(UUID).await.unwrap();
}

#[tokio::test]
async fn every_method_keeps_the_error_paths() {
    error_paths("GET", "/v2/monitoring/alerts", |c| async move {
        c.alert_policies().list().collect_all().await
    })
    .await;
    error_paths("GET", PATH, |c| async move {
        c.alert_policies().get(UUID).await
    })
    .await;
    error_paths("POST", "/v2/monitoring/alerts", |c| async move {
        c.alert_policies().create(&request()).await
    })
    .await;
    error_paths("PUT", PATH, |c| async move {
        c.alert_policies().update(UUID, &request()).await
    })
    .await;
    error_paths("DELETE", PATH, |c| async move {
        c.alert_policies().delete(UUID).await
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    refused("type", |c| async move {
        let mut r = request();
        r.kind = "cpu".into();
        c.alert_policies().create(&r).await
    })
    .await;
    refused("compare", |c| async move {
        let mut r = request();
        r.compare = AlertCompare::Unknown;
        c.alert_policies().update(UUID, &r).await
    })
    .await;
    refused("window", |c| async move {
        let mut r = request();
        r.window = AlertWindow::Unknown;
        c.alert_policies().create(&r).await
    })
    .await;
    refused("value", |c| async move {
        let mut r = request();
        r.value = f64::INFINITY;
        c.alert_policies().create(&r).await
    })
    .await;
    refused("alerts.slack.url", |c| async move {
        let mut r = request();
        r.alerts.slack[0].url = "".into();
        c.alert_policies().create(&r).await
    })
    .await;
    refused("alert_uuid", |c| async move {
        c.alert_policies().get("..").await
    })
    .await;
}

#[tokio::test]
async fn the_spec_list_example_with_numeric_entities_decodes() {
    // The spec's own example for GET /v2/monitoring/alerts writes `entities` as numbers
    // (its schema says strings); a server sending that must not fail the listing.
    let (server, client) = setup().await;
    on("GET", "/v2/monitoring/alerts")
        .respond_with(ok_json(json!({
            "policies": [{
                "alerts": {"email": ["bob@example.com"], "slack": [{"channel": "Production Alerts",
                    "url": "https://hooks.slack.com/services/T1234567/AAAAAAAA/ZZZZZZ"}]},
                "compare": "GreaterThan", "description": "CPU Alert", "enabled": true,
                "entities": [192018292], "tags": ["production_droplets"],
                "type": "v1/insights/droplet/cpu", "uuid": UUID, "value": 80, "window": "5m"
            }],
            "links": {"first": "https//api.digitalocean.com/v2/monitoring/alerts?page=1&per_page=10"},
            "meta": {"total": 50}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let all = client.alert_policies().list().collect_all().await.unwrap();
    assert_eq!(all[0].entities, vec!["192018292"]);
}

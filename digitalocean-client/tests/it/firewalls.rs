//! Firewalls (issue #22): each method's request shape, its error paths, and the checks made
//! before sending.

use crate::common;

use common::{error_paths, no_content, ok_json, on, on_json, refused, setup};
use digitalocean_client::{
    FirewallRequest, FirewallRules, FirewallStatus, FirewallTarget, InboundRule, OutboundRule,
    Protocol,
};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::query_param;

const ID: &str = "bb4b2611-3d72-467b-8602-280330ecd65c";
const PATH: &str = "/v2/firewalls/bb4b2611-3d72-467b-8602-280330ecd65c";

fn firewall() -> Value {
    json!({
        "id": ID, "name": "web", "status": "succeeded", "created_at": "2017-05-23T21:24:00Z",
        "inbound_rules": [
            {"protocol": "tcp", "ports": "22", "sources": {"addresses": ["203.0.113.0/24"], "tags": ["gateway"]}}
        ],
        "outbound_rules": [
            {"protocol": "icmp", "ports": "0", "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}}
        ],
        "droplet_ids": [8043964], "tags": [],
        "pending_changes": [{"droplet_id": 8043964, "removing": false, "status": "waiting"}]
    })
}

fn request() -> FirewallRequest {
    let mut r = FirewallRequest::new("web")
        .inbound(InboundRule::tcp(
            "22",
            FirewallTarget::addresses(["203.0.113.0/24"]),
        ))
        .outbound(OutboundRule::icmp(FirewallTarget::anywhere()));
    r.droplet_ids = vec![8043964];
    r
}

fn request_json() -> Value {
    json!({
        "name": "web",
        "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["203.0.113.0/24"]}}],
        "outbound_rules": [{"protocol": "icmp", "ports": "0", "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}}],
        "droplet_ids": [8043964],
        "tags": []
    })
}

fn rules() -> FirewallRules {
    FirewallRules {
        inbound_rules: vec![InboundRule::tcp(
            "3306",
            FirewallTarget::droplets([49696269]),
        )],
        outbound_rules: vec![],
    }
}

#[tokio::test]
async fn list_walks_pages() {
    let (server, client) = setup().await;
    on("GET", "/v2/firewalls")
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(
            json!({"firewalls": [firewall()], "links": {}, "meta": {"total": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let all = client.firewalls().list().collect_all().await.unwrap();
    assert_eq!(all.len(), 1);
    let fw = &all[0];
    assert_eq!(fw.id.as_deref(), Some(ID));
    assert_eq!(fw.status, FirewallStatus::Succeeded);
    assert_eq!(fw.inbound_rules[0].protocol, Protocol::Tcp);
    assert_eq!(fw.inbound_rules[0].sources.tags, vec!["gateway"]);
    assert_eq!(
        fw.outbound_rules[0].destinations,
        FirewallTarget::anywhere()
    );
    assert_eq!(fw.pending_changes[0].droplet_id, Some(8043964));
}

#[tokio::test]
async fn get_create_update_delete() {
    let (server, client) = setup().await;
    on("GET", PATH)
        .respond_with(ok_json(json!({"firewall": firewall()})))
        .expect(1)
        .mount(&server)
        .await;
    on_json("POST", "/v2/firewalls", request_json())
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"firewall": firewall()})))
        .expect(1)
        .mount(&server)
        .await;
    let mut renamed = request_json();
    renamed["name"] = json!("web-2");
    on_json("PUT", PATH, renamed)
        .respond_with(ok_json(json!({"firewall": firewall()})))
        .expect(1)
        .mount(&server)
        .await;
    on("DELETE", PATH)
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;

    let fw = client.firewalls().get(ID).await.unwrap();
    assert_eq!(fw.name, "web");
    let created = client.firewalls().create(&request()).await.unwrap();
    assert_eq!(created.id.as_deref(), Some(ID));
    // Update starts from the firewall as read: every writable field is sent back.
    let as_read = FirewallRequest::from(&created);
    assert_eq!(as_read.inbound_rules, created.inbound_rules);
    assert_eq!(as_read.droplet_ids, vec![8043964]);
    let mut req = request();
    req.name = "web-2".into();
    client.firewalls().update(ID, &req).await.unwrap();
    client.firewalls().delete(ID).await.unwrap();
}

#[tokio::test]
async fn droplets_tags_and_rules() {
    let (server, client) = setup().await;
    let droplets = json!({"droplet_ids": [49696269, 49696270]});
    let tags = json!({"tags": ["frontend"]});
    let rules_json = json!({"inbound_rules": [
        {"protocol": "tcp", "ports": "3306", "sources": {"droplet_ids": [49696269]}}
    ]});
    for verb in ["POST", "DELETE"] {
        on_json(verb, &format!("{PATH}/droplets"), droplets.clone())
            .respond_with(no_content())
            .expect(1)
            .mount(&server)
            .await;
        on_json(verb, &format!("{PATH}/tags"), tags.clone())
            .respond_with(no_content())
            .expect(1)
            .mount(&server)
            .await;
        on_json(verb, &format!("{PATH}/rules"), rules_json.clone())
            .respond_with(no_content())
            .expect(1)
            .mount(&server)
            .await;
    }
    let fws = client.firewalls();
    fws.add_droplets(ID, &[49696269, 49696270]).await.unwrap();
    fws.remove_droplets(ID, &[49696269, 49696270])
        .await
        .unwrap();
    let frontend = vec!["frontend".to_owned()];
    fws.add_tags(ID, &frontend).await.unwrap();
    fws.remove_tags(ID, &frontend).await.unwrap();
    fws.add_rules(ID, &rules()).await.unwrap();
    fws.remove_rules(ID, &rules()).await.unwrap();
}

#[tokio::test]
async fn every_method_keeps_the_error_paths() {
    error_paths("GET", "/v2/firewalls", |c| async move {
        c.firewalls().list().collect_all().await
    })
    .await;
    error_paths("GET", PATH, |c| async move { c.firewalls().get(ID).await }).await;
    error_paths("POST", "/v2/firewalls", |c| async move {
        c.firewalls().create(&request()).await
    })
    .await;
    error_paths("PUT", PATH, |c| async move {
        c.firewalls().update(ID, &request()).await
    })
    .await;
    error_paths(
        "DELETE",
        PATH,
        |c| async move { c.firewalls().delete(ID).await },
    )
    .await;
    let droplets = format!("{PATH}/droplets");
    error_paths("POST", &droplets, |c| async move {
        c.firewalls().add_droplets(ID, &[1]).await
    })
    .await;
    error_paths("DELETE", &droplets, |c| async move {
        c.firewalls().remove_droplets(ID, &[1]).await
    })
    .await;
    let tags = format!("{PATH}/tags");
    error_paths("POST", &tags, |c| async move {
        c.firewalls().add_tags(ID, &["web".to_owned()]).await
    })
    .await;
    error_paths("DELETE", &tags, |c| async move {
        c.firewalls().remove_tags(ID, &["web".to_owned()]).await
    })
    .await;
    let rules_path = format!("{PATH}/rules");
    error_paths("POST", &rules_path, |c| async move {
        c.firewalls().add_rules(ID, &rules()).await
    })
    .await;
    error_paths("DELETE", &rules_path, |c| async move {
        c.firewalls().remove_rules(ID, &rules()).await
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    refused(
        "firewall_id",
        |c| async move { c.firewalls().get("fw-1").await },
    )
    .await;
    refused("firewall_id", |c| async move {
        c.firewalls().delete("../droplets").await
    })
    .await;
    refused("name", |c| async move {
        let mut r = request();
        r.name = "web firewall".into();
        c.firewalls().create(&r).await
    })
    .await;
    refused("rules", |c| async move {
        c.firewalls().create(&FirewallRequest::new("web")).await
    })
    .await;
    refused("ports", |c| async move {
        let r = FirewallRequest::new("web")
            .inbound(InboundRule::tcp("22-21", FirewallTarget::anywhere()));
        c.firewalls().update(ID, &r).await
    })
    .await;
    refused("addresses", |c| async move {
        let r = FirewallRequest::new("web").inbound(InboundRule::tcp(
            "22",
            FirewallTarget::addresses(["10.0.0.300"]),
        ));
        c.firewalls().create(&r).await
    })
    .await;
    refused("sources", |c| async move {
        let r =
            FirewallRequest::new("web").inbound(InboundRule::tcp("22", FirewallTarget::default()));
        c.firewalls().create(&r).await
    })
    .await;
    refused("droplet_ids", |c| async move {
        c.firewalls().add_droplets(ID, &[]).await
    })
    .await;
    refused("tag", |c| async move {
        c.firewalls().add_tags(ID, &["bad tag".to_owned()]).await
    })
    .await;
    refused("rules", |c| async move {
        c.firewalls()
            .remove_rules(ID, &FirewallRules::default())
            .await
    })
    .await;
}

//! VPCs (issue #22): each method's request shape, error paths, and the checks made before
//! sending.

use crate::common;

use common::{error_paths, no_content, ok_json, on, on_json, refused, setup};
use digitalocean_client::{CreateVpc, UpdateVpc};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::{query_param, query_param_is_missing};

const ID: &str = "5a4981aa-9653-4bd1-bef5-d6bff52042e4";
const PATH: &str = "/v2/vpcs/5a4981aa-9653-4bd1-bef5-d6bff52042e4";

fn vpc() -> Value {
    json!({
        "id": ID, "urn": format!("do:vpc:{ID}"), "name": "env-prod", "description": "",
        "region": "nyc1", "ip_range": "10.10.10.0/24", "default": false,
        "created_at": "2020-03-13T19:20:47.442049222Z"
    })
}

#[tokio::test]
async fn crud() {
    let (server, client) = setup().await;
    on("GET", "/v2/vpcs")
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(
            json!({"vpcs": [vpc()], "links": {}, "meta": {"total": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", PATH)
        .respond_with(ok_json(json!({"vpc": vpc()})))
        .expect(1)
        .mount(&server)
        .await;
    on_json(
        "POST",
        "/v2/vpcs",
        json!({"name": "env-prod", "region": "nyc1", "description": "prod", "ip_range": "10.10.10.0/24"}),
    )
    .respond_with(ResponseTemplate::new(201).set_body_json(json!({"vpc": vpc()})))
    .expect(1)
    .mount(&server)
    .await;
    on_json("PUT", PATH, json!({"name": "env-prod-2", "default": true}))
        .respond_with(ok_json(json!({"vpc": vpc()})))
        .expect(1)
        .mount(&server)
        .await;
    on("DELETE", PATH)
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;

    let vpcs = client.vpcs();
    let all = vpcs.list().collect_all().await.unwrap();
    assert_eq!(all[0].urn, format!("do:vpc:{ID}"));
    assert_eq!(vpcs.get(ID).await.unwrap().ip_range, "10.10.10.0/24");
    let mut req = CreateVpc::new("env-prod", "nyc1");
    req.description = Some("prod".into());
    req.ip_range = Some("10.10.10.0/24".into());
    assert_eq!(vpcs.create(&req).await.unwrap().id.as_deref(), Some(ID));
    let update = UpdateVpc {
        name: "env-prod-2".into(),
        description: None,
        default: Some(true),
    };
    vpcs.update(ID, &update).await.unwrap();
    vpcs.delete(ID).await.unwrap();
}

#[tokio::test]
async fn members_all_or_of_one_type() {
    let (server, client) = setup().await;
    let members = json!({"members": [
        {"urn": "do:droplet:13457723", "name": "droplet-1", "created_at": "2020-03-13T19:30:48Z"}
    ], "links": {}, "meta": {"total": 1}});
    on("GET", &format!("{PATH}/members"))
        .and(query_param_is_missing("resource_type"))
        .respond_with(ok_json(members.clone()))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", &format!("{PATH}/members"))
        .and(query_param("resource_type", "droplet"))
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(members))
        .expect(1)
        .mount(&server)
        .await;
    let all = client.vpcs().list_members(ID).collect_all().await.unwrap();
    assert_eq!(all[0].urn, "do:droplet:13457723");
    let droplets = client
        .vpcs()
        .list_members_of_type(ID, "droplet")
        .collect_all()
        .await
        .unwrap();
    assert_eq!(droplets[0].name, "droplet-1");
}

#[tokio::test]
async fn every_method_keeps_the_error_paths() {
    error_paths("GET", "/v2/vpcs", |c| async move {
        c.vpcs().list().collect_all().await
    })
    .await;
    error_paths("GET", PATH, |c| async move { c.vpcs().get(ID).await }).await;
    error_paths("POST", "/v2/vpcs", |c| async move {
        c.vpcs().create(&CreateVpc::new("env-prod", "nyc1")).await
    })
    .await;
    error_paths("PUT", PATH, |c| async move {
        let u = UpdateVpc {
            name: "x".into(),
            ..UpdateVpc::default()
        };
        c.vpcs().update(ID, &u).await
    })
    .await;
    error_paths("DELETE", PATH, |c| async move { c.vpcs().delete(ID).await }).await;
    error_paths("GET", &format!("{PATH}/members"), |c| async move {
        c.vpcs().list_members(ID).collect_all().await
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    refused("vpc_id", |c| async move { c.vpcs().get("default").await }).await;
    refused("vpc_id", |c| async move {
        c.vpcs().list_members("..").collect_all().await
    })
    .await;
    refused("name", |c| async move {
        c.vpcs().create(&CreateVpc::new("env prod", "nyc1")).await
    })
    .await;
    refused("region", |c| async move {
        c.vpcs().create(&CreateVpc::new("env-prod", "")).await
    })
    .await;
    refused("ip_range", |c| async move {
        let mut r = CreateVpc::new("env-prod", "nyc1");
        r.ip_range = Some("10.10.10.0".into());
        c.vpcs().create(&r).await
    })
    .await;
    refused("description", |c| async move {
        let u = UpdateVpc {
            name: "env".into(),
            description: Some("x".repeat(256)),
            default: None,
        };
        c.vpcs().update(ID, &u).await
    })
    .await;
    refused("resource_type", |c| async move {
        c.vpcs().list_members_of_type(ID, " ").collect_all().await
    })
    .await;
}

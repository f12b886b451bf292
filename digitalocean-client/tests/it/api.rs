//! One wiremock test per client method: method, path, query, auth, content type and body.

use crate::common;

use std::time::Duration;

use common::{TOKEN, action, droplet, droplet_with, setup};
use digitalocean_client::{
    ActionStatus, CreateDomain, CreateDroplet, CreateDroplets, CreateSshKey, DomainRecordRequest,
    DropletSpec, DropletStatus, ImageRef, ImageType, RecordFilter, SshKeyId, TagResource,
    WaitOptions,
};
use serde_json::json;
use wiremock::matchers::{
    bearer_token, body_json, body_partial_json, header, method, path, query_param,
    query_param_is_missing,
};
use wiremock::{Mock, MockBuilder, ResponseTemplate};

fn get(p: &str) -> MockBuilder {
    Mock::given(method("GET"))
        .and(path(p))
        .and(bearer_token(TOKEN))
        .and(header("accept", "application/json"))
}

fn write(m: &str, p: &str) -> MockBuilder {
    Mock::given(method(m))
        .and(path(p))
        .and(bearer_token(TOKEN))
        .and(header("content-type", "application/json"))
}

fn delete(p: &str) -> MockBuilder {
    Mock::given(method("DELETE"))
        .and(path(p))
        .and(bearer_token(TOKEN))
}

fn ok(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn spec() -> DropletSpec {
    let mut s = DropletSpec::new("nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64");
    s.ssh_keys = vec![SshKeyId::Id(289794), SshKeyId::from("3b:16:e4")];
    s.tags = vec!["web".into()];
    s.monitoring = true;
    s.user_data = Some("#cloud-config\n".into());
    s
}

// ---------------------------------------------------------------- droplets

#[tokio::test]
async fn droplet_create_sends_the_documented_body() {
    let (server, client) = setup().await;
    write("POST", "/v2/droplets")
        .and(body_json(json!({
            "name": "web-1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64",
            "ssh_keys": [289794, "3b:16:e4"], "monitoring": true, "tags": ["web"],
            "user_data": "#cloud-config\n"
        })))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "droplet": droplet_with(101, "web-1", "new"),
            "links": {"actions": [{"id": 501, "rel": "create", "href": "https://api.digitalocean.com/v2/actions/501"}]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let created = client
        .droplets()
        .create(&CreateDroplet::new("web-1", spec()))
        .await
        .unwrap();
    assert_eq!(created.droplet.id, 101);
    assert_eq!(created.droplet.status, DropletStatus::New);
    assert_eq!(created.actions[0].id, Some(501));
}

#[tokio::test]
async fn droplet_create_with_image_id() {
    let (server, client) = setup().await;
    write("POST", "/v2/droplets")
        .and(body_partial_json(json!({"name": "db-1", "image": 12345})))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"droplet": droplet_with(7, "db-1", "new")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut s = spec();
    s.image = ImageRef::from(12345);
    let created = client
        .droplets()
        .create(&CreateDroplet::new("db-1", s))
        .await
        .unwrap();
    assert!(created.actions.is_empty());
}

#[tokio::test]
async fn droplet_create_multiple() {
    let (server, client) = setup().await;
    write("POST", "/v2/droplets")
        .and(body_partial_json(json!({"names": ["a-1", "a-2"], "size": "s-1vcpu-1gb"})))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({
            "droplets": [droplet_with(1, "a-1", "new"), droplet_with(2, "a-2", "new")],
            "links": {"actions": [
                {"id": 11, "rel": "multiple_create", "href": "https://api.digitalocean.com/v2/actions/11"},
                {"id": 12, "rel": "multiple_create", "href": "https://api.digitalocean.com/v2/actions/12"}]}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let created = client
        .droplets()
        .create_multiple(&CreateDroplets::new(["a-1", "a-2"], spec()))
        .await
        .unwrap();
    assert_eq!(created.droplets.len(), 2);
    assert_eq!(created.actions.len(), 2);
}

#[tokio::test]
async fn droplet_get_decodes_networks() {
    let (server, client) = setup().await;
    get("/v2/droplets/101")
        .respond_with(ok(json!({"droplet": droplet()})))
        .expect(1)
        .mount(&server)
        .await;
    let d = client.droplets().get(101).await.unwrap();
    assert_eq!(d.public_ipv4(), Some("203.0.113.10"));
    assert_eq!(d.private_ipv4(), Some("10.10.0.5"));
    assert_eq!(d.public_ipv6(), Some("2001:db8::10"));
    assert_eq!(d.tags, vec!["web", "env:test"]);
    assert_eq!(d.image.unwrap().kind, Some(ImageType::Base));
}

#[tokio::test]
async fn droplet_list_sends_per_page() {
    let (server, client) = setup().await;
    get("/v2/droplets")
        .and(query_param("per_page", "200"))
        .and(query_param_is_missing("tag_name"))
        .and(query_param_is_missing("name"))
        .respond_with(ok(
            json!({"droplets": [droplet()], "links": {}, "meta": {"total": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut pager = client.droplets().list();
    let page = pager.next_page().await.unwrap().unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(pager.total(), Some(1));
    assert!(pager.next_page().await.is_none());
}

#[tokio::test]
async fn droplet_list_by_tag_and_by_name() {
    let (server, client) = setup().await;
    get("/v2/droplets")
        .and(query_param("tag_name", "env:prod"))
        .and(query_param("per_page", "50"))
        .respond_with(ok(json!({"droplets": [droplet()], "meta": {"total": 1}})))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/droplets")
        .and(query_param("name", "web-1"))
        .respond_with(ok(json!({"droplets": [], "meta": {"total": 0}})))
        .expect(1)
        .mount(&server)
        .await;
    let tagged = client
        .droplets()
        .list_by_tag("env:prod")
        .per_page(50)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(tagged.len(), 1);
    let named = client
        .droplets()
        .list_by_name("web-1")
        .collect_all()
        .await
        .unwrap();
    assert!(named.is_empty());
}

#[tokio::test]
async fn droplet_delete_and_delete_by_tag() {
    let (server, client) = setup().await;
    delete("/v2/droplets/101")
        .respond_with(ResponseTemplate::new(204).insert_header("content-type", "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    delete("/v2/droplets")
        .and(query_param("tag_name", "ops-run:42"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client.droplets().delete(101).await.unwrap();
    client.droplets().delete_by_tag("ops-run:42").await.unwrap();
}

#[tokio::test]
async fn droplet_wait_until_active() {
    let (server, client) = setup().await;
    get("/v2/droplets/101")
        .respond_with(ok(json!({"droplet": droplet_with(101, "web-1", "new")})))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    get("/v2/droplets/101")
        .respond_with(ok(json!({"droplet": droplet_with(101, "web-1", "active")})))
        .expect(1)
        .mount(&server)
        .await;
    let opts = WaitOptions::new(Duration::from_secs(5), Duration::from_millis(10));
    let d = client
        .droplets()
        .wait_until_active(101, opts)
        .await
        .unwrap();
    assert_eq!(d.status, DropletStatus::Active);
}

// ---------------------------------------------------------------- droplet actions

#[tokio::test]
async fn droplet_actions_post_their_type() {
    let (server, client) = setup().await;
    for kind in ["power_on", "power_off", "shutdown", "reboot", "power_cycle"] {
        let mut a = action("in-progress");
        a["type"] = json!(kind);
        write("POST", "/v2/droplets/101/actions")
            .and(body_json(json!({"type": kind})))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"action": a})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let da = client.droplet_actions();
    assert_eq!(da.power_on(101).await.unwrap().kind, "power_on");
    assert_eq!(da.power_off(101).await.unwrap().kind, "power_off");
    assert_eq!(da.shutdown(101).await.unwrap().kind, "shutdown");
    assert_eq!(da.reboot(101).await.unwrap().kind, "reboot");
    assert_eq!(da.power_cycle(101).await.unwrap().kind, "power_cycle");
}

#[tokio::test]
async fn droplet_action_get() {
    let (server, client) = setup().await;
    get("/v2/droplets/101/actions/501")
        .respond_with(ok(json!({"action": action("completed")})))
        .expect(1)
        .mount(&server)
        .await;
    let a = client.droplet_actions().get(101, 501).await.unwrap();
    assert_eq!(a.status, ActionStatus::Completed);
}

// ---------------------------------------------------------------- actions

#[tokio::test]
async fn action_get() {
    let (server, client) = setup().await;
    get("/v2/actions/501")
        .respond_with(ok(json!({"action": action("in-progress")})))
        .expect(1)
        .mount(&server)
        .await;
    let a = client.actions().get(501).await.unwrap();
    assert_eq!(a.status, ActionStatus::InProgress);
    assert_eq!(a.resource_id, Some(101));
    assert_eq!(a.completed_at, None);
}

#[tokio::test]
async fn action_wait_polls_until_completed() {
    let (server, client) = setup().await;
    get("/v2/actions/501")
        .respond_with(ok(json!({"action": action("in-progress")})))
        .up_to_n_times(3)
        .expect(3)
        .mount(&server)
        .await;
    get("/v2/actions/501")
        .respond_with(ok(json!({"action": action("completed")})))
        .expect(1)
        .mount(&server)
        .await;
    let opts = WaitOptions::new(Duration::from_secs(5), Duration::from_millis(10));
    let a = client.actions().wait(501, opts).await.unwrap();
    assert_eq!(a.status, ActionStatus::Completed);
}

#[tokio::test]
async fn action_wait_for_href_follows_only_the_path() {
    // The href names the real API host; the request must still go to the mock.
    let (server, client) = setup().await;
    get("/v2/actions/501")
        .respond_with(ok(json!({"action": action("completed")})))
        .expect(2)
        .mount(&server)
        .await;
    let href = "https://api.digitalocean.com/v2/actions/501";
    let opts = WaitOptions::new(Duration::from_secs(5), Duration::from_millis(10));
    client.actions().wait_for_href(href, opts).await.unwrap();
    client.actions().get_by_href(href).await.unwrap();
}

#[tokio::test]
async fn action_href_is_resolved_under_a_base_path_prefix() {
    let server = wiremock::MockServer::start().await;
    let client = digitalocean_client::Client::builder(TOKEN)
        .base_url(format!("{}/proxy/do", server.uri()))
        .build()
        .unwrap();
    get("/proxy/do/v2/actions/501")
        .respond_with(ok(json!({"action": action("completed")})))
        .expect(1)
        .mount(&server)
        .await;
    client
        .actions()
        .get_by_href("https://api.digitalocean.com/v2/actions/501")
        .await
        .unwrap();
}

// ---------------------------------------------------------------- ssh keys

fn key(id: u64, name: &str) -> serde_json::Value {
    json!({"id": id, "fingerprint": "3b:16:e4:bf", "public_key": "ssh-ed25519 AAAA test", "name": name})
}

#[tokio::test]
async fn ssh_key_list() {
    let (server, client) = setup().await;
    get("/v2/account/keys")
        .and(query_param("per_page", "200"))
        .respond_with(ok(
            json!({"ssh_keys": [key(1, "a"), key(2, "b")], "links": {}, "meta": {"total": 2}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let keys = client.ssh_keys().list().collect_all().await.unwrap();
    assert_eq!(keys.len(), 2);
}

#[tokio::test]
async fn ssh_key_get_by_id_and_by_fingerprint() {
    let (server, client) = setup().await;
    get("/v2/account/keys/512189")
        .respond_with(ok(json!({"ssh_key": key(512189, "a")})))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/account/keys/3b:16:e4:bf")
        .respond_with(ok(json!({"ssh_key": key(512189, "a")})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client.ssh_keys().get(512189).await.unwrap().id,
        Some(512189)
    );
    assert_eq!(
        client.ssh_keys().get("3b:16:e4:bf").await.unwrap().name,
        "a"
    );
}

#[tokio::test]
async fn ssh_key_create_rename_delete() {
    let (server, client) = setup().await;
    write("POST", "/v2/account/keys")
        .and(body_json(
            json!({"name": "ops", "public_key": "ssh-ed25519 AAAA test"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"ssh_key": key(9, "ops")})))
        .expect(1)
        .mount(&server)
        .await;
    write("PUT", "/v2/account/keys/9")
        .and(body_json(json!({"name": "ops-2"})))
        .respond_with(ok(json!({"ssh_key": key(9, "ops-2")})))
        .expect(1)
        .mount(&server)
        .await;
    delete("/v2/account/keys/3b:16:e4:bf")
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let k = client
        .ssh_keys()
        .create(&CreateSshKey {
            name: "ops".into(),
            public_key: "ssh-ed25519 AAAA test".into(),
        })
        .await
        .unwrap();
    assert_eq!(k.id, Some(9));
    assert_eq!(
        client.ssh_keys().rename(9, "ops-2").await.unwrap().name,
        "ops-2"
    );
    client.ssh_keys().delete("3b:16:e4:bf").await.unwrap();
}

// ---------------------------------------------------------------- tags

fn tag(name: &str) -> serde_json::Value {
    json!({"name": name, "resources": {"count": 1, "last_tagged_uri": "https://api.digitalocean.com/v2/droplets/1",
           "droplets": {"count": 1, "last_tagged_uri": "https://api.digitalocean.com/v2/droplets/1"}}})
}

#[tokio::test]
async fn tag_create_get_list_delete() {
    let (server, client) = setup().await;
    write("POST", "/v2/tags")
        .and(body_json(json!({"name": "env:prod"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"tag": tag("env:prod")})))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/tags/env:prod")
        .respond_with(ok(json!({"tag": tag("env:prod")})))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/tags")
        .and(query_param("per_page", "200"))
        .respond_with(ok(
            json!({"tags": [tag("a"), tag("b")], "meta": {"total": 2}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    delete("/v2/tags/env:prod")
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client.tags().create("env:prod").await.unwrap().name,
        Some("env:prod".to_string())
    );
    let t = client.tags().get("env:prod").await.unwrap();
    assert_eq!(t.resources.unwrap().droplets.unwrap().count, 1);
    assert_eq!(client.tags().list().collect_all().await.unwrap().len(), 2);
    client.tags().delete("env:prod").await.unwrap();
}

#[tokio::test]
async fn tag_and_untag_resources() {
    let (server, client) = setup().await;
    let body = json!({"resources": [
        {"resource_id": "101", "resource_type": "droplet"},
        {"resource_id": "7555620", "resource_type": "image"}]});
    write("POST", "/v2/tags/web/resources")
        .and(body_json(body.clone()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    write("DELETE", "/v2/tags/web/resources")
        .and(body_json(body))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let resources = [
        TagResource::droplet(101),
        TagResource {
            resource_id: "7555620".into(),
            resource_type: digitalocean_client::ResourceType::Image,
        },
    ];
    client
        .tags()
        .tag_resources("web", &resources)
        .await
        .unwrap();
    client
        .tags()
        .untag_resources("web", &resources)
        .await
        .unwrap();
}

// ---------------------------------------------------------------- domains

#[tokio::test]
async fn domain_list_get_create_delete() {
    let (server, client) = setup().await;
    let d = json!({"name": "example.com", "ttl": 1800, "zone_file": "$ORIGIN example.com.\n"});
    get("/v2/domains")
        .and(query_param("per_page", "200"))
        .respond_with(ok(
            json!({"domains": [d], "links": {}, "meta": {"total": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/domains/example.com")
        .respond_with(ok(json!({"domain": d})))
        .expect(1)
        .mount(&server)
        .await;
    write("POST", "/v2/domains")
        .and(body_json(
            json!({"name": "example.org", "ip_address": "192.0.2.1"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"domain": {"name": "example.org", "ttl": 1800, "zone_file": null}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    delete("/v2/domains/example.org")
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client.domains().list().collect_all().await.unwrap().len(),
        1
    );
    assert_eq!(
        client.domains().get("example.com").await.unwrap().ttl,
        Some(1800)
    );
    let created = client
        .domains()
        .create(&CreateDomain {
            name: "example.org".into(),
            ip_address: Some("192.0.2.1".into()),
        })
        .await
        .unwrap();
    assert_eq!(created.zone_file, None);
    client.domains().delete("example.org").await.unwrap();
}

fn record(id: u64, kind: &str, name: &str, data: &str) -> serde_json::Value {
    json!({"id": id, "type": kind, "name": name, "data": data, "priority": null, "port": null,
           "ttl": 1800, "weight": null, "flags": null, "tag": null})
}

#[tokio::test]
async fn domain_records_list_with_filters() {
    let (server, client) = setup().await;
    get("/v2/domains/example.com/records")
        .and(query_param("type", "A"))
        .and(query_param("name", "www.example.com"))
        .and(query_param("per_page", "200"))
        .respond_with(ok(
            json!({"domain_records": [record(1, "A", "www", "192.0.2.1")], "meta": {"total": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/domains/example.com/records")
        .and(query_param_is_missing("type"))
        .respond_with(ok(json!({"domain_records": [record(1, "A", "www", "192.0.2.1"), record(2, "MX", "@", "mx.example.com")]})))
        .expect(1)
        .mount(&server)
        .await;
    let filter = RecordFilter {
        record_type: Some("A".into()),
        name: Some("www.example.com".into()),
    };
    let recs = client
        .domain_records("example.com")
        .list_filtered(&filter)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(recs[0].data, "192.0.2.1");
    assert_eq!(
        client
            .domain_records("example.com")
            .list()
            .collect_all()
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn domain_record_get_create_update_delete() {
    let (server, client) = setup().await;
    get("/v2/domains/example.com/records/3352896")
        .respond_with(ok(
            json!({"domain_record": record(3352896, "A", "blog", "192.0.2.7")}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    write("POST", "/v2/domains/example.com/records")
        .and(body_json(
            json!({"type": "A", "name": "www", "data": "192.0.2.8", "ttl": 60}),
        ))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"domain_record": record(7, "A", "www", "192.0.2.8")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    write("PUT", "/v2/domains/example.com/records/7")
        .and(body_json(
            json!({"type": "MX", "name": "@", "data": "mx.example.com", "priority": 10}),
        ))
        .respond_with(ok(
            json!({"domain_record": record(7, "MX", "@", "mx.example.com")}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    delete("/v2/domains/example.com/records/7")
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let recs = client.domain_records("example.com");
    assert_eq!(recs.get(3352896).await.unwrap().name, "blog");
    let r = recs
        .create(&DomainRecordRequest::new("A", "www", "192.0.2.8").ttl(60))
        .await
        .unwrap();
    assert_eq!(r.id, Some(7));
    let r = recs
        .update(
            7,
            &DomainRecordRequest::new("MX", "@", "mx.example.com").priority(10),
        )
        .await
        .unwrap();
    assert_eq!(r.record_type, "MX");
    recs.delete(7).await.unwrap();
}

// ---------------------------------------------------------------- catalog

#[tokio::test]
async fn regions_sizes_account() {
    let (server, client) = setup().await;
    get("/v2/regions")
        .and(query_param("per_page", "200"))
        .respond_with(ok(json!({"regions": [{"name": "New York 3", "slug": "nyc3", "features": [], "available": true, "sizes": ["s-1vcpu-1gb"]}], "links": {}, "meta": {"total": 1}})))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/sizes")
        .and(query_param("per_page", "200"))
        .respond_with(ok(
            json!({"sizes": [droplet()["size"].clone()], "meta": {"total": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/account")
        .respond_with(ok(json!({"account": {"droplet_limit": 25, "floating_ip_limit": 5, "email": "ops@example.com",
            "uuid": "u-1", "email_verified": true, "status": "active", "status_message": "",
            "team": {"uuid": "t-1", "name": "Ops"}}})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client.regions().list().collect_all().await.unwrap()[0].slug,
        "nyc3"
    );
    assert_eq!(
        client.sizes().list().collect_all().await.unwrap()[0].slug,
        "s-1vcpu-1gb"
    );
    let acct = client.account().get().await.unwrap();
    assert_eq!(acct.droplet_limit, 25);
    assert_eq!(acct.team.unwrap().name, "Ops");
}

#[tokio::test]
async fn images_list_filter_and_get() {
    let (server, client) = setup().await;
    let img = droplet()["image"].clone();
    get("/v2/images")
        .and(query_param("type", "distribution"))
        .and(query_param("per_page", "200"))
        .respond_with(ok(json!({"images": [img.clone()], "meta": {"total": 1}})))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/images")
        .and(query_param_is_missing("type"))
        .and(query_param_is_missing("private"))
        .respond_with(ok(
            json!({"images": [img.clone(), img.clone()], "meta": {"total": 2}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/images")
        .and(query_param("private", "true"))
        .respond_with(ok(json!({"images": [], "meta": {"total": 0}})))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/images/ubuntu-24-04-x64")
        .respond_with(ok(json!({"image": img.clone()})))
        .expect(1)
        .mount(&server)
        .await;
    get("/v2/images/11")
        .respond_with(ok(json!({"image": img})))
        .expect(1)
        .mount(&server)
        .await;
    let images = client.images();
    assert_eq!(
        images
            .list_by_type(ImageType::Distribution)
            .collect_all()
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(images.list().collect_all().await.unwrap().len(), 2);
    assert!(
        images
            .list_private()
            .collect_all()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(images.get_by_slug("ubuntu-24-04-x64").await.unwrap().id, 11);
    assert_eq!(images.get(11).await.unwrap().min_disk_size, None);
    // Only distribution/application can be filtered on: rejected before sending.
    let err = images
        .list_by_type(ImageType::Snapshot)
        .collect_all()
        .await
        .unwrap_err();
    assert!(err.is_client_side());
}

// ---------------------------------------------------------------- headers

#[tokio::test]
async fn user_agent_is_prefixed_and_rate_limit_recorded() {
    let server = wiremock::MockServer::start().await;
    let client = digitalocean_client::Client::builder(TOKEN)
        .base_url(server.uri())
        .user_agent("ops-tool/2.0")
        .build()
        .unwrap();
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .and(header("user-agent", concat!("ops-tool/2.0 digitalocean-client/", env!("CARGO_PKG_VERSION"))))
        .respond_with(
            ok(json!({"account": {"uuid": "u", "droplet_limit": 1, "floating_ip_limit": 1, "email": "e",
                "email_verified": true, "status": "active", "status_message": ""}}))
            .insert_header("ratelimit-limit", "5000")
            .insert_header("ratelimit-remaining", "4816")
            .insert_header("ratelimit-reset", "1444931833"),
        )
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(client.last_rate_limit(), None);
    client.account().get().await.unwrap();
    let rl = client.last_rate_limit().unwrap();
    assert_eq!(
        (rl.limit, rl.remaining, rl.reset_epoch_secs),
        (5000, 4816, 1444931833)
    );
    // Clones share the state.
    assert_eq!(client.clone().last_rate_limit(), Some(rl));
}

/// Issue #16: user data often carries key material (ops-core puts a Chef client key in it);
/// `Debug` of a create request never shows it, the request body does.
#[test]
fn user_data_is_secret_in_debug_and_plain_on_the_wire() {
    let mut s = DropletSpec::new("nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64");
    s.user_data = Some("#cloud-config\n# CANARY-KEY-MATERIAL\n".into());
    let req = CreateDroplet::new("web-1", s);
    let debug = format!("{req:?}");
    assert!(!debug.contains("CANARY"), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");
    let body = serde_json::to_value(&req).unwrap();
    assert_eq!(body["user_data"], "#cloud-config\n# CANARY-KEY-MATERIAL\n");
}

/// Issue #16: the spec marks `image.tags` (and many other fields) nullable. A droplet whose
/// `image.tags` was `null` failed to decode, which failed the whole listing and left a fleet
/// of droplets unrecorded. Every field that has a default now reads `null` as that default.
#[test]
fn nullable_fields_sent_as_null_decode() {
    let mut d = droplet();
    d["image"]["tags"] = json!(null);
    d["image"]["regions"] = json!(null);
    d["tags"] = json!(null);
    d["features"] = json!(null);
    d["volume_ids"] = json!(null);
    d["size"]["regions"] = json!(null);
    let decoded: digitalocean_client::Droplet = serde_json::from_value(d).unwrap();
    assert!(decoded.tags.is_empty());
    let image = decoded.image.expect("image");
    assert!(image.tags.is_empty());
}

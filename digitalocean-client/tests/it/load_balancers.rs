//! Load balancers (issue #22): each method's request shape, error paths, and the checks
//! made before sending.

use crate::common;

use common::{error_paths, no_content, ok_json, on, on_json, refused, setup};
use digitalocean_client::{
    ForwardingRule, HealthCheck, LbProtocol, LoadBalancerFirewall, LoadBalancerRequest,
    LoadBalancerStatus, LoadBalancerTargets,
};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;
use wiremock::matchers::query_param;

const ID: &str = "4de7ac8b-495b-4884-9a69-1050c6793cd6";
const PATH: &str = "/v2/load_balancers/4de7ac8b-495b-4884-9a69-1050c6793cd6";

fn lb() -> Value {
    json!({
        "id": ID, "name": "web-lb", "ip": "104.131.186.241", "size_unit": 1,
        "algorithm": "round_robin", "status": "new", "created_at": "2017-02-01T22:22:58Z",
        "forwarding_rules": [
            {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8080, "certificate_id": "", "tls_passthrough": false}
        ],
        "health_check": {"protocol": "http", "port": 8080, "path": "/health", "check_interval_seconds": 10,
                         "response_timeout_seconds": 5, "healthy_threshold": 5, "unhealthy_threshold": 3},
        "sticky_sessions": {"type": "none"},
        "region": {"name": "New York 1", "slug": "nyc1", "features": [], "available": true, "sizes": []},
        "tag": "", "droplet_ids": [3164444, 3164445], "redirect_http_to_https": false,
        "enable_proxy_protocol": false, "enable_backend_keepalive": false,
        "vpc_uuid": "c33931f2-a26a-4e61-b85c-4e95a2ec431b", "firewall": {"deny": ["cidr:1.2.0.0/16"], "allow": []}
    })
}

fn rule() -> ForwardingRule {
    ForwardingRule::new(LbProtocol::Http, 80, LbProtocol::Http, 8080)
}

fn request() -> LoadBalancerRequest {
    let mut r = LoadBalancerRequest::new(
        "nyc1",
        LoadBalancerTargets::Droplets {
            droplet_ids: vec![3164444, 3164445],
        },
        rule(),
    );
    r.name = Some("web-lb".into());
    r.health_check = Some(HealthCheck {
        protocol: Some(LbProtocol::Http),
        port: Some(8080),
        path: Some("/health".into()),
        ..HealthCheck::default()
    });
    r.http_idle_timeout_seconds = Some(60);
    r.firewall = Some(LoadBalancerFirewall {
        deny: vec!["cidr:1.2.0.0/16".into()],
        allow: vec!["ip:203.0.113.7".into()],
    });
    r
}

fn request_json() -> Value {
    json!({
        "name": "web-lb", "region": "nyc1", "droplet_ids": [3164444, 3164445],
        "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8080}],
        "health_check": {"protocol": "http", "port": 8080, "path": "/health"},
        "http_idle_timeout_seconds": 60,
        "firewall": {"deny": ["cidr:1.2.0.0/16"], "allow": ["ip:203.0.113.7"]}
    })
}

#[tokio::test]
async fn crud() {
    let (server, client) = setup().await;
    on("GET", "/v2/load_balancers")
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(
            json!({"load_balancers": [lb()], "links": {}, "meta": {"total": 1}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", PATH)
        .respond_with(ok_json(json!({"load_balancer": lb()})))
        .expect(1)
        .mount(&server)
        .await;
    on_json("POST", "/v2/load_balancers", request_json())
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"load_balancer": lb()})))
        .expect(1)
        .mount(&server)
        .await;
    let by_tag = json!({
        "region": "nyc1", "tag": "web",
        "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8080}]
    });
    on_json("PUT", PATH, by_tag)
        .respond_with(ok_json(json!({"load_balancer": lb()})))
        .expect(1)
        .mount(&server)
        .await;
    on("DELETE", PATH)
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;

    let l = client.load_balancers();
    let all = l.list().collect_all().await.unwrap();
    assert_eq!(all[0].status, LoadBalancerStatus::New);
    assert_eq!(all[0].forwarding_rules[0].target_port, 8080);
    let got = l.get(ID).await.unwrap();
    assert_eq!(got.droplet_ids, vec![3164444, 3164445]);
    assert_eq!(got.health_check.unwrap().path.as_deref(), Some("/health"));
    assert_eq!(l.create(&request()).await.unwrap().id.as_deref(), Some(ID));
    let update = LoadBalancerRequest::new(
        "nyc1",
        LoadBalancerTargets::Tag { tag: "web".into() },
        rule(),
    );
    l.update(ID, &update).await.unwrap();
    l.delete(ID).await.unwrap();
}

#[tokio::test]
async fn droplets_and_forwarding_rules() {
    let (server, client) = setup().await;
    let rules = json!({"forwarding_rules": [
        {"entry_protocol": "https", "entry_port": 443, "target_protocol": "http", "target_port": 8080,
         "certificate_id": "892071a0-bb95-49bc-8021-3afd67a210bf"},
        {"entry_protocol": "tcp", "entry_port": 5432, "target_protocol": "tcp", "target_port": 5432, "tls_passthrough": false}
    ]});
    for verb in ["POST", "DELETE"] {
        on_json(
            verb,
            &format!("{PATH}/droplets"),
            json!({"droplet_ids": [3164446]}),
        )
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;
        on_json(verb, &format!("{PATH}/forwarding_rules"), rules.clone())
            .respond_with(no_content())
            .expect(1)
            .mount(&server)
            .await;
    }
    let mut https = ForwardingRule::new(LbProtocol::Https, 443, LbProtocol::Http, 8080);
    https.certificate_id = Some("892071a0-bb95-49bc-8021-3afd67a210bf".into());
    let mut tcp = ForwardingRule::new(LbProtocol::Tcp, 5432, LbProtocol::Tcp, 5432);
    tcp.tls_passthrough = Some(false);
    let rules = [https, tcp];
    let l = client.load_balancers();
    l.add_droplets(ID, &[3164446]).await.unwrap();
    l.remove_droplets(ID, &[3164446]).await.unwrap();
    l.add_forwarding_rules(ID, &rules).await.unwrap();
    l.remove_forwarding_rules(ID, &rules).await.unwrap();
}

#[tokio::test]
async fn every_method_keeps_the_error_paths() {
    error_paths("GET", "/v2/load_balancers", |c| async move {
        c.load_balancers().list().collect_all().await
    })
    .await;
    error_paths(
        "GET",
        PATH,
        |c| async move { c.load_balancers().get(ID).await },
    )
    .await;
    error_paths("POST", "/v2/load_balancers", |c| async move {
        c.load_balancers().create(&request()).await
    })
    .await;
    error_paths("PUT", PATH, |c| async move {
        c.load_balancers().update(ID, &request()).await
    })
    .await;
    error_paths("DELETE", PATH, |c| async move {
        c.load_balancers().delete(ID).await
    })
    .await;
    let droplets = format!("{PATH}/droplets");
    error_paths("POST", &droplets, |c| async move {
        c.load_balancers().add_droplets(ID, &[1]).await
    })
    .await;
    error_paths("DELETE", &droplets, |c| async move {
        c.load_balancers().remove_droplets(ID, &[1]).await
    })
    .await;
    let rules = format!("{PATH}/forwarding_rules");
    error_paths("POST", &rules, |c| async move {
        c.load_balancers().add_forwarding_rules(ID, &[rule()]).await
    })
    .await;
    error_paths("DELETE", &rules, |c| async move {
        c.load_balancers()
            .remove_forwarding_rules(ID, &[rule()])
            .await
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    refused(
        "lb_id",
        |c| async move { c.load_balancers().get("..").await },
    )
    .await;
    refused("forwarding_rules", |c| async move {
        c.load_balancers().add_forwarding_rules(ID, &[]).await
    })
    .await;
    refused("target_protocol", |c| async move {
        let r = ForwardingRule::new(LbProtocol::Http3, 443, LbProtocol::Http3, 80);
        c.load_balancers().add_forwarding_rules(ID, &[r]).await
    })
    .await;
    refused("entry_port", |c| async move {
        let mut r = request();
        r.forwarding_rules[0].entry_port = 70_000;
        c.load_balancers().create(&r).await
    })
    .await;
    refused("size_unit", |c| async move {
        let mut r = request();
        r.size_unit = Some(0);
        c.load_balancers().create(&r).await
    })
    .await;
    refused("http_idle_timeout_seconds", |c| async move {
        let mut r = request();
        r.http_idle_timeout_seconds = Some(601);
        c.load_balancers().update(ID, &r).await
    })
    .await;
    refused("firewall", |c| async move {
        let mut r = request();
        r.firewall = Some(LoadBalancerFirewall {
            deny: vec!["1.2.3.4".into()],
            allow: vec![],
        });
        c.load_balancers().create(&r).await
    })
    .await;
    refused("vpc_uuid", |c| async move {
        let mut r = request();
        r.vpc_uuid = Some("default".into());
        c.load_balancers().create(&r).await
    })
    .await;
    refused("droplet_ids", |c| async move {
        c.load_balancers().add_droplets(ID, &[0]).await
    })
    .await;
}

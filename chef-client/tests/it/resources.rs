//! Every endpoint method against wiremock; each mock only matches a correctly signed request.

use crate::common;

use chef_client::{ApiClient, CreateClient, Environment, Node, ProtocolVersion, Role};
use common::{ORG, Signed, setup, setup_with};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn node_json(name: &str) -> Value {
    json!({
        "name": name, "chef_environment": "prod", "run_list": ["recipe[base]"],
        "json_class": "Chef::Node", "chef_type": "node",
        "normal": {"app": {"port": 80}}, "default": {}, "override": {},
        "automatic": {"ipaddress": "10.0.0.5"}
    })
}

#[tokio::test]
async fn org_url_with_and_without_trailing_slash_hit_the_same_path() {
    let server = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/nodes")))
        .and(Signed)
        .respond_with(ok(json!({"web1": "u", "db1": "u"})))
        .expect(2)
        .mount(&server)
        .await;
    for base in [
        format!("{}{ORG}", server.uri()),
        format!("{}{ORG}/", server.uri()),
    ] {
        let c = chef_client::Client::builder(base, common::USER)
            .key_pem(common::private_key_pem())
            .build()
            .unwrap();
        assert_eq!(c.nodes().list().await.unwrap(), ["db1", "web1"]);
    }
}

#[tokio::test]
async fn nodes_every_method() {
    for version in [
        ProtocolVersion::V1_0,
        ProtocolVersion::V1_1,
        ProtocolVersion::V1_3,
    ] {
        let (server, c) = setup_with(version).await;
        let p = format!("{ORG}/nodes/web1");
        Mock::given(method("GET"))
            .and(path(format!("{ORG}/nodes")))
            .and(Signed)
            .respond_with(ok(json!({"web1": "http://x/nodes/web1"})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(&p))
            .and(Signed)
            .respond_with(ok(node_json("web1")))
            .expect(5)
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(path(&p))
            .and(Signed)
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(path(format!("{ORG}/nodes/nope")))
            .and(Signed)
            .respond_with(ResponseTemplate::new(404))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST")).and(path(format!("{ORG}/nodes"))).and(Signed)
            .and(body_partial_json(json!({"name": "web2", "run_list": ["recipe[base]"], "json_class": "Chef::Node", "chef_environment": "_default"})))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"uri": "http://x/nodes/web2"})))
            .expect(1).mount(&server).await;
        Mock::given(method("PUT"))
            .and(path(&p))
            .and(Signed)
            .and(body_partial_json(
                json!({"name": "web1", "run_list": ["recipe[base]", "role[web]"]}),
            ))
            .respond_with(ok(node_json("web1")))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path(&p))
            .and(Signed)
            .and(|req: &wiremock::Request| {
                serde_json::from_slice::<Value>(&req.body).unwrap()["run_list"] == json!([])
            })
            .respond_with(ok(node_json("web1")))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path(&p))
            .and(Signed)
            .and(body_partial_json(
                json!({"normal": {"app": {"port": 80}, "ssh": {"alice": "k"}}}),
            ))
            .respond_with(ok(node_json("web1")))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path(&p))
            .and(Signed)
            .and(body_partial_json(json!({"chef_environment": "staging"})))
            .respond_with(ok(node_json("web1")))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("DELETE"))
            .and(path(&p))
            .and(Signed)
            .respond_with(ok(node_json("web1")))
            .expect(1)
            .mount(&server)
            .await;

        let nodes = c.nodes();
        assert_eq!(nodes.list().await.unwrap(), ["web1"]);
        let n = nodes.get("web1").await.unwrap();
        assert_eq!(n.chef_environment, "prod");
        assert_eq!(n.attribute(&["ipaddress"]), Some(&json!("10.0.0.5")));
        assert!(nodes.exists("web1").await.unwrap());
        assert!(!nodes.exists("nope").await.unwrap());
        let mut new = Node::new("web2");
        new.add_to_run_list("base");
        nodes.create(&new).await.unwrap();
        nodes.add_to_run_list("web1", &["role[web]"]).await.unwrap();
        // Already present: no PUT.
        nodes.add_to_run_list("web1", &["base"]).await.unwrap();
        nodes
            .remove_from_run_list("web1", &["recipe[base]"])
            .await
            .unwrap();
        nodes
            .set_attribute("web1", &["ssh", "alice"], json!("k"))
            .await
            .unwrap();
        let mut n2 = n.clone();
        n2.chef_environment = "staging".into();
        nodes.update(&n2).await.unwrap();
        nodes.delete("web1").await.unwrap();
    }
}

#[tokio::test]
async fn clients_every_method() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/clients")))
        .and(Signed)
        .respond_with(ok(json!({"acme-validator": "u", "web1": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path(format!("{ORG}/clients/web1"))).and(Signed)
        .respond_with(ok(json!({"clientname": "web1", "validator": false, "orgname": "acme", "public_key": "PUB"})))
        .expect(1).mount(&server).await;
    // API v0 shape: the key at the top level.
    Mock::given(method("POST")).and(path(format!("{ORG}/clients"))).and(Signed)
        .and(body_json(json!({"name": "web2", "validator": false, "admin": false, "create_key": true})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"uri": "http://x/clients/web2", "private_key": "-----BEGIN RSA PRIVATE KEY-----\nSECRET2\n-----END RSA PRIVATE KEY-----\n", "public_key": "PUB2"})))
        .expect(1).mount(&server).await;
    // API v1 shape: the key under chef_key.
    Mock::given(method("POST")).and(path(format!("{ORG}/clients"))).and(Signed)
        .and(body_partial_json(json!({"name": "web3"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"uri": "http://x/clients/web3", "chef_key": {"name": "default", "private_key": "SECRET3", "public_key": "PUB3", "expiration_date": "infinity"}})))
        .expect(1).mount(&server).await;
    Mock::given(method("PUT"))
        .and(path(format!("{ORG}/clients/web1")))
        .and(Signed)
        .and(body_json(
            json!({"name": "web1", "private_key": true, "create_key": true}),
        ))
        .respond_with(ok(json!({"name": "web1", "private_key": "SECRET4"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{ORG}/clients/web1")))
        .and(Signed)
        .respond_with(ok(json!({"name": "web1"})))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        c.clients().list().await.unwrap(),
        ["acme-validator", "web1"]
    );
    let got: ApiClient = c.clients().get("web1").await.unwrap();
    assert_eq!(got.name, "web1");
    assert_eq!(got.orgname.as_deref(), Some("acme"));
    let k = c
        .clients()
        .create(&CreateClient::new("web2"))
        .await
        .unwrap();
    assert!(
        k.private_key
            .as_ref()
            .unwrap()
            .expose_secret()
            .contains("SECRET2")
    );
    assert!(!format!("{k:?}").contains("SECRET2"));
    assert_eq!(k.public_key.as_deref(), Some("PUB2"));
    let k = c
        .clients()
        .create(&CreateClient::new("web3"))
        .await
        .unwrap();
    assert_eq!(k.private_key.unwrap().expose_secret(), "SECRET3");
    assert_eq!(k.public_key.as_deref(), Some("PUB3"));
    let k = c.clients().regenerate_key("web1").await.unwrap();
    assert_eq!(k.private_key.unwrap().expose_secret(), "SECRET4");
    c.clients().delete("web1").await.unwrap();
}

#[tokio::test]
async fn roles_every_method() {
    let (server, c) = setup().await;
    let role = json!({"name": "web", "description": "d", "run_list": ["recipe[nginx]"], "env_run_lists": {}, "default_attributes": {}, "override_attributes": {}, "json_class": "Chef::Role", "chef_type": "role"});
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/roles")))
        .and(Signed)
        .respond_with(ok(json!({"web": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/roles/web")))
        .and(Signed)
        .respond_with(ok(role.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{ORG}/roles")))
        .and(Signed)
        .and(body_partial_json(
            json!({"name": "web", "json_class": "Chef::Role", "chef_type": "role"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"uri": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{ORG}/roles/web")))
        .and(Signed)
        .and(body_partial_json(json!({"description": "d"})))
        .respond_with(ok(role.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{ORG}/roles/web")))
        .and(Signed)
        .respond_with(ok(role))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(c.roles().list().await.unwrap(), ["web"]);
    let r = c.roles().get("web").await.unwrap();
    assert_eq!(r.run_list, ["recipe[nginx]"]);
    c.roles().create(&Role::new("web")).await.unwrap();
    assert_eq!(c.roles().update(&r).await.unwrap(), r);
    c.roles().delete("web").await.unwrap();
}

#[tokio::test]
async fn environments_every_method() {
    let (server, c) = setup().await;
    let env = json!({"name": "prod", "description": "", "cookbook_versions": {"nginx": "~> 2.0"}, "default_attributes": {}, "override_attributes": {}, "json_class": "Chef::Environment", "chef_type": "environment"});
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/environments")))
        .and(Signed)
        .respond_with(ok(json!({"_default": "u", "prod": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/environments/prod")))
        .and(Signed)
        .respond_with(ok(env.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/environments/prod/nodes")))
        .and(Signed)
        .respond_with(ok(json!({"db1": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{ORG}/environments")))
        .and(Signed)
        .and(body_partial_json(
            json!({"name": "prod", "json_class": "Chef::Environment"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"uri": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{ORG}/environments/prod")))
        .and(Signed)
        .and(body_partial_json(
            json!({"cookbook_versions": {"nginx": "~> 2.0"}}),
        ))
        .respond_with(ok(env.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{ORG}/environments/prod")))
        .and(Signed)
        .respond_with(ok(env))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(c.environments().list().await.unwrap(), ["_default", "prod"]);
    let e = c.environments().get("prod").await.unwrap();
    assert_eq!(e.cookbook_versions["nginx"], "~> 2.0");
    assert_eq!(c.environments().nodes("prod").await.unwrap(), ["db1"]);
    c.environments()
        .create(&Environment::new("prod"))
        .await
        .unwrap();
    c.environments().update(&e).await.unwrap();
    c.environments().delete("prod").await.unwrap();
}

#[tokio::test]
async fn data_bags_every_method() {
    let (server, c) = setup().await;
    let b = format!("{ORG}/data/users");
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/data")))
        .and(Signed)
        .respond_with(ok(json!({"users": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{ORG}/data")))
        .and(Signed)
        .and(body_json(json!({"name": "users"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"uri": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(&b))
        .and(Signed)
        .respond_with(ok(json!({"alice": "u", "bob": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(&b))
        .and(Signed)
        .and(body_json(json!({"id": "carol", "shell": "/bin/zsh"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(
            json!({"id": "carol", "chef_type": "data_bag_item", "data_bag": "users"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{b}/alice")))
        .and(Signed)
        .respond_with(ok(json!({"id": "alice", "shell": "/bin/bash"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT")).and(path(format!("{b}/alice"))).and(Signed)
        .and(body_json(json!({"id": "alice", "shell": "/bin/fish"})))
        .respond_with(ok(json!({"id": "alice", "shell": "/bin/fish", "chef_type": "data_bag_item", "data_bag": "users"})))
        .expect(1).mount(&server).await;
    Mock::given(method("DELETE"))
        .and(path(format!("{b}/alice")))
        .and(Signed)
        .respond_with(ok(json!({"raw_data": {"id": "alice"}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(&b))
        .and(Signed)
        .respond_with(ok(json!({"name": "users"})))
        .expect(1)
        .mount(&server)
        .await;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct UserItem {
        id: String,
        shell: String,
    }
    let bags = c.data_bags();
    assert_eq!(bags.list().await.unwrap(), ["users"]);
    bags.create("users").await.unwrap();
    assert_eq!(bags.items("users").await.unwrap(), ["alice", "bob"]);
    bags.create_item(
        "users",
        &UserItem {
            id: "carol".into(),
            shell: "/bin/zsh".into(),
        },
    )
    .await
    .unwrap();
    let alice: UserItem = bags.get_item("users", "alice").await.unwrap();
    assert_eq!(alice.shell, "/bin/bash");
    bags.update_item("users", &json!({"id": "alice", "shell": "/bin/fish"}))
        .await
        .unwrap();
    bags.delete_item("users", "alice").await.unwrap();
    bags.delete("users").await.unwrap();
    // No id: rejected before sending (no mock matches, and none is called).
    let err = bags
        .create_item("users", &json!({"name": "x"}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, chef_client::Error::InvalidRequest(_)),
        "{err:?}"
    );
    let err = bags.get_item::<Value>("users", "").await.unwrap_err();
    assert!(
        matches!(err, chef_client::Error::InvalidRequest(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn search_advances_start_by_rows_requested_even_on_short_pages() {
    let (server, c) = setup().await;
    let rows = |from: usize, n: usize| -> Vec<Value> {
        (from..from + n)
            .map(|i| node_json(&format!("n{i:03}")))
            .collect()
    };
    // chef/chef#4029: page 2 is short (deleted nodes filtered out), total says there is more.
    for (start, body) in [
        ("0", json!({"rows": rows(0, 100), "start": 0, "total": 250})),
        (
            "100",
            json!({"rows": rows(100, 97), "start": 100, "total": 250}),
        ),
        (
            "200",
            json!({"rows": rows(200, 50), "start": 200, "total": 250}),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("{ORG}/search/node")))
            .and(Signed)
            .and(query_param("q", "role:web AND chef_environment:prod"))
            .and(query_param("rows", "100"))
            .and(query_param("start", start))
            .and(query_param("sort", "X_CHEF_id_CHEF_X asc"))
            .respond_with(ok(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let all = c
        .search()
        .nodes("role:web AND chef_environment:prod")
        .rows(100)
        .sort("X_CHEF_id_CHEF_X asc")
        .collect_all()
        .await
        .unwrap();
    assert_eq!(all.len(), 247);

    // An empty first page ends the search; the default page size is 1000.
    Mock::given(method("GET"))
        .and(path(format!("{ORG}/search/role")))
        .and(Signed)
        .and(query_param("rows", "1000"))
        .and(query_param("start", "0"))
        .respond_with(ok(json!({"rows": [], "start": 0, "total": 0})))
        .expect(1)
        .mount(&server)
        .await;
    let mut pager = c.search().query::<Role>("role", "*:*");
    assert_eq!(
        pager.next_page().await.unwrap().unwrap(),
        Vec::<Role>::new()
    );
    assert!(pager.next_page().await.is_none());

    // A full page whose total is wrong (goiardi) is followed by one more request.
    for (start, n) in [("0", 2), ("2", 1)] {
        Mock::given(method("GET")).and(path(format!("{ORG}/search/client"))).and(Signed)
            .and(query_param("start", start))
            .respond_with(ok(json!({"rows": (0..n).map(|i| json!({"name": format!("c{i}")})).collect::<Vec<_>>(), "start": 0, "total": n})))
            .expect(1).mount(&server).await;
    }
    let clients: Vec<Value> = c
        .search()
        .query("client", "*:*")
        .rows(2)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(clients.len(), 3);

    Mock::given(method("GET"))
        .and(path(format!("{ORG}/search")))
        .and(Signed)
        .respond_with(ok(json!({"node": "u", "role": "u", "users": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        c.search().indexes().await.unwrap(),
        ["node", "role", "users"]
    );

    // Data bag rows come wrapped.
    Mock::given(method("GET")).and(path(format!("{ORG}/search/users"))).and(Signed)
        .respond_with(ok(json!({"rows": [{"name": "data_bag_item_users_alice", "data_bag": "users", "chef_type": "data_bag_item", "json_class": "Chef::DataBagItem", "raw_data": {"id": "alice"}}], "start": 0, "total": 1})))
        .expect(1).mount(&server).await;
    let rows: Vec<chef_client::DataBagSearchRow> = c
        .search()
        .query("users", "id:alice")
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rows[0].raw_data["id"], "alice");
}

#[tokio::test]
async fn partial_search_posts_the_paths_and_pages() {
    let (server, c) = setup().await;
    for (start, body) in [
        (
            "0",
            json!({"rows": [{"url": "u1", "data": {"name": "web1", "ip": "10.0.0.1"}}, {"url": "u2", "data": {"name": "web2", "ip": null}}], "start": 0, "total": 3}),
        ),
        (
            "2",
            json!({"rows": [{"url": "u3", "data": {"name": "web3", "ip": "10.0.0.3"}}], "start": 2, "total": 3}),
        ),
    ] {
        Mock::given(method("POST"))
            .and(path(format!("{ORG}/search/node")))
            .and(Signed)
            .and(query_param("q", "role:web"))
            .and(query_param("rows", "2"))
            .and(query_param("start", start))
            .and(body_json(
                json!({"name": ["name"], "ip": ["automatic", "ipaddress"]}),
            ))
            .respond_with(ok(body))
            .expect(1)
            .mount(&server)
            .await;
    }
    let rows = c
        .search()
        .partial(
            "node",
            "role:web",
            [
                ("name", vec!["name"]),
                ("ip", vec!["automatic", "ipaddress"]),
            ],
        )
        .rows(2)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].data["name"], "web1");
    assert_eq!(rows[1].data["ip"], Value::Null);
    assert_eq!(rows[2].url.as_deref(), Some("u3"));
}

#[tokio::test]
async fn global_endpoints_use_the_server_root() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path("/users"))
        .and(Signed)
        .respond_with(ok(json!({"alice": "u", "pivotal": "u"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/alice"))
        .and(Signed)
        .respond_with(ok(
            json!({"username": "alice", "email": "a@example.com", "display_name": "Alice"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/_status"))
        .and(Signed)
        .respond_with(ok(
            json!({"status": "pong", "upstreams": {"chef_solr": "pong", "chef_sql": "pong"}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(c.users().list().await.unwrap(), ["alice", "pivotal"]);
    let u = c.users().get("alice").await.unwrap();
    assert_eq!(
        (u.username.as_str(), u.email.as_deref()),
        ("alice", Some("a@example.com"))
    );
    let s = c.status().await.unwrap();
    assert!(s.is_healthy());
    assert_eq!(c.server_root().as_str(), format!("{}/", server.uri()));
    assert_eq!(c.base_url().as_str(), format!("{}{ORG}/", server.uri()));
}

#[tokio::test]
async fn server_api_version_and_chef_version_are_configurable_and_signed() {
    let server = wiremock::MockServer::start().await;
    let public = common::public_key_pem();
    Mock::given(method("GET"))
        .and(path("/nodes"))
        .and(wiremock::matchers::header("x-ops-server-api-version", "2"))
        .and(wiremock::matchers::header("x-chef-version", "17.1.0"))
        .and(move |req: &wiremock::Request| {
            chef_client::auth::verify(&public, "GET", req.url.path(), &req.body, &req.headers)
                .is_ok()
        })
        .respond_with(ok(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let c = chef_client::Client::builder(server.uri(), common::USER)
        .key_pem(common::private_key_pem())
        .server_api_version(2)
        .chef_version("17.1.0")
        .build()
        .unwrap();
    assert_eq!(c.nodes().list().await.unwrap(), Vec::<String>::new());
}

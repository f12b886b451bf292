//! The whole client surface against the `testkit` fake (feature `testkit`; run by
//! `scripts/ci/chef.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chef_client::testkit::{ADMIN, FakeChefServer, Fault};
use chef_client::{
    Client, CreateClient, DataBagSearchRow, Environment, Error, Node, ProtocolVersion, Role,
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

#[tokio::test]
async fn nodes_roles_environments_with_every_protocol_version() {
    let fake = FakeChefServer::start().await.unwrap();
    for version in ProtocolVersion::ALL {
        let c = fake
            .client_builder()
            .protocol_version(version)
            .build()
            .unwrap();
        let name = format!("web-{}", version.as_str().replace('.', ""));
        let mut node = Node::new(&name);
        node.add_to_run_list("role[web]");
        c.nodes().create(&node).await.unwrap();
        assert!(c.nodes().create(&node).await.unwrap_err().is_conflict());
        assert!(c.nodes().exists(&name).await.unwrap());
        assert!(!c.nodes().exists("nope").await.unwrap());
        c.nodes()
            .set_attribute(&name, &["app", "port"], json!(80))
            .await
            .unwrap();
        assert_eq!(fake.node(&name).unwrap().normal["app"]["port"], 80);
        c.nodes().add_to_run_list(&name, &["base"]).await.unwrap();
        assert_eq!(
            c.nodes().get(&name).await.unwrap().run_list,
            ["role[web]", "recipe[base]"]
        );
        c.nodes().delete(&name).await.unwrap();
        assert!(c.nodes().get(&name).await.unwrap_err().is_not_found());
    }
    let c = fake.client().unwrap();
    let mut role = Role::new("web");
    role.run_list = vec!["recipe[nginx]".into()];
    c.roles().create(&role).await.unwrap();
    role.description = "d".into();
    assert_eq!(c.roles().update(&role).await.unwrap().description, "d");
    assert_eq!(c.roles().list().await.unwrap(), ["web"]);
    c.roles().delete("web").await.unwrap();

    c.environments()
        .create(&Environment::new("prod"))
        .await
        .unwrap();
    let mut n = Node::new("db1");
    n.chef_environment = "prod".into();
    c.nodes().create(&n).await.unwrap();
    assert_eq!(c.environments().nodes("prod").await.unwrap(), ["db1"]);
    assert_eq!(c.environments().list().await.unwrap(), ["_default", "prod"]);
    let err = c
        .environments()
        .update(&Environment::new("_default"))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 405);
    c.environments().delete("prod").await.unwrap();
}

#[tokio::test]
async fn clients_keys_and_signature_checks() {
    let fake = FakeChefServer::start().await.unwrap();
    let admin = fake.client().unwrap();
    let created = admin
        .clients()
        .create(&CreateClient::new("worker"))
        .await
        .unwrap();
    let pem = created.private_key.unwrap();
    let worker = Client::builder(fake.url(), "worker")
        .key_pem(pem.clone())
        .build()
        .unwrap();
    worker.nodes().list().await.unwrap();
    // Non-admin clients may not manage clients.
    assert!(
        worker
            .clients()
            .delete(ADMIN)
            .await
            .unwrap_err()
            .is_forbidden()
    );
    let fresh = admin.clients().regenerate_key("worker").await.unwrap();
    assert_ne!(
        fresh.private_key.unwrap().expose_secret(),
        pem.expose_secret()
    );
    assert!(worker.nodes().list().await.unwrap_err().is_unauthorized());
    // A key the server does not know is rejected.
    let stranger = Client::builder(fake.url(), ADMIN)
        .key_pem(pem)
        .build()
        .unwrap();
    let err = stranger.nodes().list().await.unwrap_err();
    assert!(err.is_unauthorized() && !err.is_clock_skew(), "{err}");
    admin.clients().delete("worker").await.unwrap();
    assert_eq!(admin.clients().list().await.unwrap(), [ADMIN]);
    assert_eq!(admin.users().list().await.unwrap(), [ADMIN]);
    assert!(admin.status().await.unwrap().is_healthy());

    let log = fake.requests();
    assert!(log.iter().any(|r| r.status == 401 && r.user.is_none()));
    assert!(
        log.iter()
            .all(|r| r.status == 401 || r.version == Some(ProtocolVersion::V1_3))
    );
}

#[tokio::test]
async fn data_bags_and_search() {
    let fake = FakeChefServer::start().await.unwrap();
    let c = fake.client().unwrap();
    c.data_bags().create("users").await.unwrap();
    for (id, group) in [("alice", "ops"), ("bob", "dev")] {
        c.data_bags()
            .create_item("users", &json!({"id": id, "groups": [group]}))
            .await
            .unwrap();
    }
    c.data_bags()
        .update_item("users", &json!({"id": "bob", "groups": ["ops"]}))
        .await
        .unwrap();
    let bob: Value = c.data_bags().get_item("users", "bob").await.unwrap();
    assert_eq!(bob["groups"], json!(["ops"]));
    let rows: Vec<DataBagSearchRow> = c
        .search()
        .query("users", "groups:ops")
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    c.data_bags().delete_item("users", "bob").await.unwrap();
    assert_eq!(c.data_bags().items("users").await.unwrap(), ["alice"]);
    c.data_bags().delete("users").await.unwrap();

    for i in 0..250 {
        let mut n = Node::new(format!("n{i:03}"));
        n.chef_environment = if i % 2 == 0 {
            "prod".into()
        } else {
            "dev".into()
        };
        n.automatic.insert(
            "ipaddress".into(),
            json!(format!("10.0.{}.{}", i / 100, i % 100)),
        );
        if i < 10 {
            n.add_to_run_list("role[web]");
        }
        c.nodes().create(&n).await.unwrap();
    }
    let mut pager = c.search().nodes("name:n*").rows(100);
    let mut sizes = Vec::new();
    while let Some(p) = pager.next_page().await {
        sizes.push(p.unwrap().len());
    }
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(pager.total(), Some(250));
    let prod_web = c
        .search()
        .nodes("role:web AND chef_environment:prod")
        .collect_all()
        .await
        .unwrap();
    assert_eq!(prod_web.len(), 5);
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
        .rows(3)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0].data["ip"], "10.0.0.0");
    assert!(
        c.search()
            .nodes("name:(")
            .collect_all()
            .await
            .unwrap_err()
            .status()
            .unwrap()
            .as_u16()
            == 400
    );
}

#[tokio::test]
async fn fault_injection_and_request_log() {
    let fake = FakeChefServer::start().await.unwrap();
    let c = fake.client().unwrap();
    // 503 twice on a GET: retried, re-signed, then success.
    fake.inject(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        2,
    );
    c.nodes().list().await.unwrap();
    // 503 on a POST: not retried.
    fake.inject(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        1,
    );
    assert_eq!(
        c.nodes()
            .create(&Node::new("x"))
            .await
            .unwrap_err()
            .status()
            .unwrap()
            .as_u16(),
        503
    );
    // 429 with Retry-After: 0, then success.
    fake.inject_matching(
        Fault::Status {
            status: 429,
            retry_after: Some(0),
        },
        1,
        Some("/roles"),
    );
    c.roles().list().await.unwrap();
    // Plain-text errors and dropped connections.
    fake.inject(
        Fault::Text {
            status: 413,
            body: "Content-length too long!".into(),
        },
        1,
    );
    assert!(matches!(
        c.nodes().create(&Node::new("y")).await.unwrap_err(),
        Error::UnexpectedStatus { .. }
    ));
    fake.inject(Fault::DropConnection, 1);
    assert!(matches!(
        c.nodes().create(&Node::new("z")).await.unwrap_err(),
        Error::Transport(_)
    ));
    // Latency beyond the client's timeout.
    let slow = fake
        .client_builder()
        .timeout(Duration::from_millis(50))
        .retry(chef_client::RetryConfig::disabled())
        .build()
        .unwrap();
    fake.inject(Fault::Latency(Duration::from_millis(300)), 1);
    assert!(matches!(
        slow.nodes().list().await.unwrap_err(),
        Error::Transport(_)
    ));

    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(&statuses[..7], [503, 503, 200, 503, 429, 200, 413]);
    fake.clear_requests();
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn many_fakes_in_parallel() {
    FakeChefServer::start().await.unwrap(); // the first one generates the shared admin key
    let started = std::time::Instant::now();
    let fakes = futures_join(8).await;
    eprintln!("8 fakes started in {:?}", started.elapsed());
    for (i, f) in fakes.iter().enumerate() {
        let c = f.client().unwrap();
        c.nodes()
            .create(&Node::new(format!("only-{i}")))
            .await
            .unwrap();
        // Each fake has its own state.
        assert_eq!(c.nodes().list().await.unwrap(), [format!("only-{i}")]);
    }
}

async fn futures_join(n: usize) -> Vec<FakeChefServer> {
    let handles: Vec<_> = (0..n)
        .map(|_| tokio::spawn(FakeChefServer::start()))
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap().unwrap());
    }
    out
}

#[tokio::test]
async fn a_frozen_search_index_lags_behind_writes() {
    let fake = FakeChefServer::start().await.unwrap();
    let c = fake.client().unwrap();
    c.nodes().create(&Node::new("old")).await.unwrap();
    fake.freeze_search_index();
    c.nodes().create(&Node::new("new")).await.unwrap();
    let mut old = c.nodes().get("old").await.unwrap();
    old.add_to_run_list("recipe[user_setup]");
    c.nodes().update(&old).await.unwrap();
    c.data_bags().create("later").await.unwrap();

    // Only what existed at the freeze is found, with its current content.
    let found = c.search().nodes("*:*").collect_all().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "old");
    assert_eq!(found[0].run_list, ["recipe[user_setup]"]);
    let err = c
        .search()
        .query::<Value>("later", "*:*")
        .collect_all()
        .await
        .unwrap_err();
    assert!(
        err.is_not_found(),
        "a bag younger than the index has no index: {err}"
    );
    // Plain reads are not affected.
    assert!(c.nodes().exists("new").await.unwrap());
    assert!(c.nodes().list().await.unwrap().contains(&"new".to_owned()));

    fake.thaw_search_index();
    assert_eq!(
        c.search().nodes("*:*").collect_all().await.unwrap().len(),
        2
    );
}

/// Issue #23: the fake serves cookbook listings in the documented shape.
#[tokio::test]
async fn fake_serves_cookbook_listings() {
    use chef_client::NumVersions;
    let fake = chef_client::testkit::FakeChefServer::start().await.unwrap();
    let c = fake.client().unwrap();
    assert!(
        c.cookbooks()
            .list(NumVersions::All)
            .await
            .unwrap()
            .is_empty()
    );
    fake.add_cookbook("user_setup", "0.1.0");
    fake.add_cookbook("user_setup", "0.10.0");
    c.cookbooks()
        .put_metadata_only("user_setup", "0.9.1")
        .await
        .unwrap();
    let latest = c.cookbooks().list(NumVersions::Default).await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].versions.len(), 1);
    assert_eq!(latest[0].versions[0].version, "0.10.0");
    let all = c
        .cookbooks()
        .get("user_setup", NumVersions::All)
        .await
        .unwrap();
    let v: Vec<&str> = all.versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(v, ["0.10.0", "0.9.1", "0.1.0"]);
    assert!(
        c.cookbooks()
            .get("nope", NumVersions::All)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

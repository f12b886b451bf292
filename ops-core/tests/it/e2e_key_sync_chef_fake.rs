//! The key-sync Chef adapters against the chef-client testkit fake with its search index held
//! back (`freeze_search_index`), as on a real server whose index lags behind writes: the users
//! bag listing must still see every item as it is, so a run right after another repeats none
//! of its writes. Plain Rust, no external tool: runs with `cargo test`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::key_sync_support;

use chef_client::testkit::FakeChefServer;
use digitalocean_client::testkit::FakeDigitalOcean;
use key_sync_support::{T0, at, ed_key, users};
use ops_core::adapters::chef::{ChefNodes, ChefUsersBag};
use ops_core::adapters::do_keys::DoAccountKeys;
use ops_core::key_sync::{
    KeyPolicy, KeySource, KeySync, KeySyncOptions, RunOptions, SyncReport, UserItem, UsersBag,
};
use serde_json::json;

fn item(id: &str) -> UserItem {
    let mut i = UserItem::new(id);
    i.ssh_keys = Some(vec![ed_key(id)]);
    i.groups = vec!["ops".into()];
    i
}

fn paths(chef: &FakeChefServer) -> Vec<String> {
    chef.requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn users_bag_listing_does_not_trust_a_lagging_index() {
    let chef = FakeChefServer::start().await.unwrap();
    let bag = ChefUsersBag::new(chef.client().unwrap());
    for id in ["alice", "bob", "carol"] {
        bag.create_item(&item(id)).await.unwrap();
    }
    chef.freeze_search_index();
    // Written after the index stopped: one new item, one changed, one deleted.
    bag.create_item(&item("dave")).await.unwrap();
    let mut alice = item("alice");
    alice.shell = Some("/bin/zsh".into());
    bag.update_item(&alice).await.unwrap();
    chef.client()
        .unwrap()
        .data_bags()
        .delete_item("users", "bob")
        .await
        .unwrap();

    chef.clear_requests();
    let items = bag.list_items().await.unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["alice", "carol", "dave"]);
    assert_eq!(items[0], alice, "the current body, not the indexed one");
    assert_eq!(items[2], item("dave"));
    // The listing, one search page, and a GET for the item the index does not have.
    let seen = paths(&chef);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen[0].starts_with("GET ") && seen[0].ends_with("/data/users"),
        "{seen:?}"
    );
    assert!(seen[1].contains("/search/users"), "{seen:?}");
    assert!(seen[2].ends_with("/data/users/dave"), "{seen:?}");

    // Caught up: the listing and one search page, nothing fetched one by one.
    chef.thaw_search_index();
    chef.clear_requests();
    assert_eq!(bag.list_items().await.unwrap().len(), 3);
    assert_eq!(chef.requests().len(), 2, "{:?}", paths(&chef));
}

#[tokio::test]
async fn a_bag_younger_than_the_index_is_listed_item_by_item() {
    let chef = FakeChefServer::start().await.unwrap();
    let bag = ChefUsersBag::new(chef.client().unwrap());
    chef.clear_requests();
    assert!(bag.list_items().await.unwrap().is_empty());
    assert_eq!(
        chef.requests().len(),
        1,
        "no bag: the listing's 404 is enough"
    );

    chef.freeze_search_index();
    bag.create_item(&item("alice")).await.unwrap();
    chef.clear_requests();
    assert_eq!(bag.list_items().await.unwrap(), [item("alice")]);
    // Listing, search (404: no index for the bag yet), GET alice.
    assert_eq!(chef.requests().len(), 3, "{:?}", paths(&chef));

    // An empty bag needs no search at all.
    chef.client()
        .unwrap()
        .data_bags()
        .delete_item("users", "alice")
        .await
        .unwrap();
    chef.clear_requests();
    assert!(bag.list_items().await.unwrap().is_empty());
    assert_eq!(chef.requests().len(), 1, "{:?}", paths(&chef));
}

#[tokio::test]
async fn a_full_run_right_after_a_run_writes_nothing_while_the_index_lags() {
    let chef = FakeChefServer::start().await.unwrap();
    chef.add_cookbook("user_setup", ops_core::key_sync::USER_SETUP_VERSION);
    let admin = chef.client().unwrap();
    for i in 0..20 {
        let mut node = chef_client::Node::new(format!("node-{i:02}"));
        node.add_to_run_list("recipe[base]");
        node.automatic.insert("ohai_time".into(), json!(T0 - 60));
        admin.nodes().create(&node).await.unwrap();
    }
    let fake_do = FakeDigitalOcean::start().await.unwrap();
    let keys =
        DoAccountKeys::new(fake_do.client().unwrap()).list_budget(0, std::time::Duration::ZERO);
    let bag = ChefUsersBag::new(admin.clone());
    let nodes = ChefNodes::new(admin);
    let sync = |now: u64| {
        KeySync::new(
            &bag,
            &keys,
            &nodes,
            KeySyncOptions {
                now: Some(at(now)),
                ..KeySyncOptions::default()
            },
        )
    };
    let src = KeySource::from_specs(users(12, 2), &KeyPolicy::default()).unwrap();

    // The index stops before the first run: nothing the run writes becomes searchable.
    chef.freeze_search_index();
    let report = sync(T0).sync(&src, RunOptions::default()).await.unwrap();
    let SyncReport::Applied { report: first, .. } = &report else {
        panic!("expected an apply, got: {report}");
    };
    assert_eq!(first.items_written, 12, "{report}");
    assert_eq!(first.run_lists_fixed, 20, "{report}");

    let full = RunOptions {
        full: true,
        ..RunOptions::default()
    };
    chef.clear_requests();
    let report = sync(T0 + 60).sync(&src, full).await.unwrap();
    let SyncReport::Applied { report: again, .. } = &report else {
        panic!("expected an apply, got: {report}");
    };
    assert_eq!(again.writes(), 0, "{report}");
    let writes: Vec<String> = paths(&chef)
        .into_iter()
        .filter(|p| !p.starts_with("GET ") && !p.starts_with("POST /organizations/testorg/search"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

/// Issue #23: node reports make search pages large (a big fleet's pages outgrow the Chef
/// client's response limit). A page the client refuses as too large is read again in
/// smaller pages: every node and its report still arrive, in a few more requests.
#[tokio::test]
async fn a_node_page_over_the_response_limit_is_read_in_smaller_pages() {
    use ops_core::key_sync::NodeInventory;
    let chef = FakeChefServer::start().await.unwrap();
    let admin = chef.client().unwrap();
    // 40 nodes, each reporting 30 users with two keys (~5 KB of report per node).
    let installed: serde_json::Map<String, serde_json::Value> = (0..30)
        .map(|u| {
            (
                format!("user{u:02}"),
                json!({"fingerprints": [format!("SHA256:{:0>43}", u), format!("SHA256:{:1>43}", u)],
                       "at": T0, "state": "present"}),
            )
        })
        .collect();
    for i in 0..40 {
        let mut node = chef_client::Node::new(format!("node-{i:02}"));
        node.add_to_run_list("recipe[user_setup]");
        node.set_normal(&["user_setup", "installed"], json!(installed));
        node.set_normal(&["user_setup", "checked_at"], json!(T0));
        admin.nodes().create(&node).await.unwrap();
    }
    // A limit that holds about 8 nodes' rows, not 40.
    let small = chef
        .client_builder()
        .max_response_bytes(40_000)
        .build()
        .unwrap();
    let nodes = ChefNodes::new(small);
    chef.clear_requests();
    let page = nodes
        .search_nodes_with_proof("*:*", 0, 1000)
        .await
        .expect("a too-large page is read in smaller ones");
    assert_eq!(page.nodes.len(), 40);
    assert_eq!(page.total, 40);
    assert!(
        page.nodes
            .iter()
            .all(|n| n.proof.as_ref().is_some_and(|p| p.installed.len() == 30)),
        "every node's report arrives whole"
    );
    let searches = paths(&chef)
        .iter()
        .filter(|p| p.starts_with("POST /organizations/testorg/search"))
        .count();
    assert!(searches > 1, "smaller pages were asked for: {searches}");
}

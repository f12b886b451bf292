//! key-sync end to end over the real adapters: the Chef adapters against goiardi (a real Chef
//! server, started per test behind a counting proxy) and the DigitalOcean adapter against the
//! digitalocean-client testkit fake. 300 nodes, 40 users. Also the provision `ConfigMgmt`
//! adapter against goiardi.
//!
//! goiardi's search is eventually consistent (each save is indexed in a goroutine of its own):
//! `populate_nodes` waits until a search finds every node before a test starts, and the
//! workflow itself must not depend on it (the users bag listing does not; see
//! `it/e2e_key_sync_chef_fake.rs` for the deterministic version with a held-back index).
//!
//! Needs `goiardi`; run by `scripts/ci/keysync.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod key_sync_support;
mod support_goiardi;

use std::time::Duration;

use digitalocean_client::testkit::FakeDigitalOcean;
use key_sync_support::{T0, at, dsa_key, ed_key, users};
use ops_core::Error;
use ops_core::adapters::chef::{ChefConfigMgmt, ChefNodes, ChefUsersBag};
use ops_core::adapters::do_keys::DoAccountKeys;
use ops_core::key_sync::{
    KeyFinding, KeyPolicy, KeySource, KeySync, KeySyncOptions, RunOptions, SourceFormat,
    SyncReport, UserItem, UserSpec, UserState, UsersBag, fingerprint_of,
};
use ops_core::ports::{ConfigMgmt, NewNode, PortErrorKind};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use support_goiardi::{CountingProxy, Goiardi, NodeShape, node_name, populate_nodes};

const NODES: usize = 300;
const USERS: usize = 40;
const ADMINS: usize = 3;
/// Every 7th node lacks the recipe; every 10th gets it through a role.
const MISSING_EVERY: usize = 7;

fn missing_count() -> usize {
    (0..NODES).filter(|i| i % MISSING_EVERY == 0).count()
}

/// goiardi behind a counting proxy, the DigitalOcean fake, and the three adapters.
struct Env {
    goiardi: Goiardi,
    proxy: CountingProxy,
    fake_do: FakeDigitalOcean,
    bag: ChefUsersBag,
    nodes: ChefNodes,
    keys: DoAccountKeys,
}

impl Env {
    async fn start() -> Env {
        let goiardi = Goiardi::start();
        let proxy = CountingProxy::start(&goiardi.url).await;
        populate_nodes(
            &goiardi,
            NODES,
            NodeShape {
                missing_every: MISSING_EVERY,
                via_role_every: 10,
                // Half the nodes last checked in an hour before T0, half never did.
                ohai: |i| (i % 2 == 0).then_some((T0 - 3600) as f64),
            },
            16,
        )
        .await;
        // The cookbook key-sync requires before it touches run-lists (issue #23), uploaded
        // as `knife cookbook upload` would (metadata only: goiardi lists it the same).
        goiardi
            .admin()
            .cookbooks()
            .put_metadata_only("user_setup", ops_core::key_sync::USER_SETUP_VERSION)
            .await
            .unwrap();
        let chef = goiardi.admin_at(&proxy.url);
        let fake_do = FakeDigitalOcean::start().await.unwrap();
        let keys = DoAccountKeys::new(fake_do.client().unwrap()).list_budget(0, Duration::ZERO);
        Env {
            bag: ChefUsersBag::new(chef.clone()),
            // goiardi sorts a partial search by a key of the row: only `url` orders it.
            nodes: ChefNodes::new(chef).sort("url asc"),
            keys,
            goiardi,
            proxy,
            fake_do,
        }
    }

    fn sync(&self, now: u64) -> KeySync<'_> {
        KeySync::new(
            &self.bag,
            &self.keys,
            &self.nodes,
            KeySyncOptions {
                now: Some(at(now)),
                ..KeySyncOptions::default()
            },
        )
    }

    fn do_requests(&self) -> usize {
        self.fake_do.requests().len()
    }

    async fn item(&self, id: &str) -> Value {
        self.goiardi
            .admin()
            .data_bags()
            .get_item("users", id)
            .await
            .unwrap()
    }

    fn clear_counts(&self) {
        self.proxy.clear();
    }
}

fn source(specs: Vec<UserSpec>) -> KeySource {
    KeySource::from_specs(specs, &KeyPolicy::default()).unwrap()
}

fn applied(report: &SyncReport) -> &ops_core::key_sync::ApplyReport {
    match report {
        SyncReport::Applied { report, .. } => report,
        other => panic!("expected an apply, got: {other}"),
    }
}

#[tokio::test]
#[ignore = "needs goiardi; run by scripts/ci/keysync.sh"]
async fn first_run_writes_second_run_writes_nothing() {
    let env = Env::start().await;
    let unmanaged = env
        .keys
        .client()
        .ssh_keys()
        .create(&digitalocean_client::CreateSshKey {
            name: "break-glass laptop".into(),
            public_key: ed_key("someone-else"),
        })
        .await
        .unwrap();
    let src = source(users(USERS, ADMINS));
    let do_before = env.do_requests();

    // First run: creates the bag and every item, adds the account keys, fixes run-lists.
    let report = env
        .sync(T0)
        .sync(&src, RunOptions::default())
        .await
        .unwrap();
    let a = applied(&report);
    assert_eq!(a.items_written, USERS);
    let keys_total = USERS + USERS.div_ceil(5);
    assert_eq!(a.keys_added, keys_total);
    assert_eq!(a.keys_deleted, 0);
    assert_eq!(a.run_lists_fixed, missing_count());
    assert!(a.state_written);
    let chef_writes = env.proxy.writes();
    // Items, the users bag, run-list PUTs, and the state bag + item.
    assert!(chef_writes >= USERS + missing_count() + 2, "{chef_writes}");

    // What the server holds is the users_manage format.
    let item = env.item("user-000").await;
    assert_eq!(item["id"], "user-000");
    assert_eq!(item["ssh_keys"].as_array().unwrap().len(), 2);
    assert_eq!(item["groups"], json!(["ops", "sysadmin"]));
    assert_eq!(item["shell"], "/bin/bash");
    assert!(item.get("action").is_none());
    let admin = env.goiardi.admin();
    for i in (0..NODES).step_by(MISSING_EVERY) {
        let n = admin.nodes().get(&node_name(i)).await.unwrap();
        assert!(
            n.run_list.contains(&"recipe[user_setup]".to_owned()),
            "{n:?}"
        );
        assert!(n.automatic["ipaddress"].as_str().is_some(), "kept");
    }
    // The role-carried recipe counted as present: those nodes were left alone.
    let n = admin.nodes().get(&node_name(1)).await.unwrap();
    assert_eq!(n.run_list, ["recipe[base]", "role[base]"]);
    // One account-key listing per run.
    assert_eq!(
        env.fake_do
            .requests()
            .iter()
            .skip(do_before)
            .filter(|r| r.method == "GET")
            .count(),
        1
    );
    let do_keys = env
        .keys
        .client()
        .ssh_keys()
        .list()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(do_keys.len(), keys_total + 1);
    assert!(do_keys.iter().any(|k| k.id == unmanaged.id));

    // Second run, scheduled: one read (the state item), no write, nothing on DigitalOcean.
    env.clear_counts();
    let do_before = env.do_requests();
    let report = env
        .sync(T0 + 1800)
        .sync(&src, RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(report, SyncReport::UpToDate { .. }), "{report}");
    assert_eq!(env.proxy.requests(), 1, "{:?}", env.proxy.seen());
    assert_eq!(env.proxy.writes(), 0);
    assert_eq!(env.do_requests(), do_before);

    // Full run (the daily safety net): reads everything once, writes nothing.
    env.clear_counts();
    let do_before = env.do_requests();
    let report = env
        .sync(T0 + 3600)
        .sync(
            &src,
            RunOptions {
                full: true,
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    let a = applied(&report);
    assert_eq!(a.writes(), 0, "{report}");
    assert_eq!(env.proxy.writes(), 0, "{:?}", env.proxy.seen());
    // State item + the bag listing + one bag search page + one node search page.
    assert_eq!(env.proxy.requests(), 4, "{:?}", env.proxy.seen());
    assert_eq!(env.do_requests() - do_before, 1);
}

#[tokio::test]
#[ignore = "needs goiardi; run by scripts/ci/keysync.sh"]
async fn revoke_then_sync_keeps_the_user_removed() {
    let env = Env::start().await;
    let src = source(users(USERS, ADMINS));
    env.sync(T0)
        .sync(&src, RunOptions::default())
        .await
        .unwrap();
    env.clear_counts();
    let do_before = env.do_requests();

    // user-005 has two keys (every 5th user has an RSA key too).
    let report = env.sync(T0 + 60).revoke("user-005", false).await.unwrap();
    assert!(report.item_written);
    assert_eq!(report.keys_deleted.len(), 2);
    assert_eq!(report.nodes_to_converge.len(), NODES, "{report}");
    assert!(report.nodes_missing_recipe.is_empty());
    let item = env.item("user-005").await;
    assert_eq!(item["action"], "remove");
    assert_eq!(item["ssh_keys"], json!([]));
    assert_eq!(item["groups"], json!(["ops"]), "groups kept for the search");
    let names: Vec<String> = env
        .keys
        .client()
        .ssh_keys()
        .list()
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert!(!names.iter().any(|n| n.contains("user-005")), "{names:?}");
    // One item write, one state write, two key deletions.
    assert_eq!(env.proxy.writes(), 2, "{:?}", env.proxy.seen());
    assert_eq!(
        env.fake_do
            .requests()
            .iter()
            .skip(do_before)
            .filter(|r| r.method == "DELETE")
            .count(),
        2
    );

    // The source still lists user-005 as present: the next run is a full one and keeps the
    // revocation until the source marks the user removed.
    let report = env
        .sync(T0 + 120)
        .sync(&src, RunOptions::default())
        .await
        .unwrap();
    assert_eq!(applied(&report).items_written, 0, "{report}");
    assert_eq!(applied(&report).keys_added, 0, "{report}");
    assert_eq!(env.item("user-005").await["action"], "remove");
    let mut specs = users(USERS, ADMINS);
    specs[5].state = UserState::Removed;
    let report = env
        .sync(T0 + 180)
        .sync(&source(specs), RunOptions::default())
        .await
        .unwrap();
    assert_eq!(applied(&report).items_written, 0, "{report}");
}

/// What node `name` reports after a converge of the users bag as it is on goiardi now
/// (`extra`: one more key left behind for one user), as the `user_setup` recipe writes it:
/// normal attributes `user_setup.installed` and `user_setup.checked_at`.
async fn converged_report(env: &Env, extra: Option<(&str, &str)>) -> Value {
    let items = env.bag.list_items().await.unwrap();
    let mut installed = serde_json::Map::new();
    for i in items {
        let mut fps: Vec<String> = i
            .ssh_keys
            .iter()
            .flatten()
            .filter_map(|k| fingerprint_of(k))
            .collect();
        if let Some((user, fp)) = extra {
            if user == i.id {
                fps.push(fp.to_owned());
            }
        }
        fps.sort();
        let state = if i.is_present() { "present" } else { "locked" };
        installed.insert(
            i.id.clone(),
            json!({"fingerprints": fps, "at": T0 + 300, "state": state}),
        );
    }
    Value::Object(installed)
}

/// Node `name` converges: writes the proof at `checked_at`, as Chef Infra Client saves the
/// node at the end of a run (a plain node update; partial search reads node data from the
/// datastore, so no index wait is needed for an existing node).
async fn report(admin: &chef_client::Client, name: &str, installed: &Value, checked_at: u64) {
    let mut node = admin.nodes().get(name).await.unwrap();
    node.set_normal(&["user_setup", "installed"], installed.clone());
    node.set_normal(&["user_setup", "checked_at"], json!(checked_at));
    admin.nodes().update(&node).await.unwrap();
}

#[tokio::test]
#[ignore = "needs goiardi; run by scripts/ci/keysync.sh"]
async fn audit_judges_nodes_by_the_keys_user_setup_reports() {
    let env = Env::start().await;
    env.keys
        .client()
        .ssh_keys()
        .create(&digitalocean_client::CreateSshKey {
            name: "break-glass laptop".into(),
            public_key: ed_key("someone-else"),
        })
        .await
        .unwrap();
    let src = source(users(USERS, ADMINS));
    // Audit before anything was synced: the bag is missing, every key is new.
    let audit = env.sync(T0).audit(&src).await.unwrap();
    assert!(!audit.digest_up_to_date);
    assert_eq!(audit.bag_drift.len(), USERS);
    assert_eq!(audit.missing_recipe.len(), missing_count());
    assert_eq!(audit.nodes_total, NODES);

    env.sync(T0)
        .sync(&src, RunOptions::default())
        .await
        .unwrap();
    env.clear_counts();
    let audit = env.sync(T0 + 60).audit(&src).await.unwrap();
    assert_eq!(env.proxy.writes(), 0, "an audit never writes");
    assert!(audit.digest_up_to_date);
    assert!(audit.missing_recipe.is_empty());
    assert!(audit.bag_drift.is_empty() && audit.bag_not_in_source.is_empty());
    // No node ran user_setup yet: every node is unknown, whatever its ohai_time says.
    assert_eq!(audit.no_report.len(), NODES, "{audit}");
    assert!(audit.not_converged.is_empty());
    let unmanaged: Vec<_> = audit
        .account_keys_not_in_source
        .iter()
        .map(|(k, managed)| (k.name.as_str(), *managed))
        .collect();
    assert_eq!(unmanaged, [("break-glass laptop", false)]);

    // 100 nodes converge after the change; node 0 kept a key user-003 no longer has, node 1
    // lost one of user-010's keys, nodes 100..110 reported before the change.
    let admin = env.goiardi.admin();
    let old = fingerprint_of(&ed_key("user-003-old")).unwrap();
    let good = converged_report(&env, None).await;
    let with_old = converged_report(&env, Some(("user-003", &old))).await;
    let mut lost = good.clone();
    let lost_fp = lost["user-010"]["fingerprints"]
        .as_array_mut()
        .unwrap()
        .pop()
        .unwrap();
    for i in 0..110 {
        let (installed, at) = match i {
            0 => (&with_old, T0 + 300),
            1 => (&lost, T0 + 300),
            2..100 => (&good, T0 + 300),
            _ => (&good, T0 - 100),
        };
        report(&admin, &node_name(i), installed, at).await;
    }
    env.clear_counts();
    let audit = env.sync(T0 + 600).audit(&src).await.unwrap();
    let node_searches = env
        .proxy
        .seen()
        .iter()
        .filter(|r| r.path.contains("/search/node"))
        .count();
    assert_eq!(
        node_searches, 1,
        "the same one paginated partial search (300 < 1000 rows)"
    );
    assert_eq!(audit.no_report.len(), NODES - 110, "{audit}");
    assert!(
        audit
            .no_report
            .iter()
            .all(|n| n.as_str() >= node_name(110).as_str())
    );
    assert_eq!(audit.not_converged.len(), 10, "{audit}");
    assert_eq!(
        audit.keys_still_installed,
        [KeyFinding {
            node: node_name(0),
            user: "user-003".into(),
            fingerprint: old
        }]
    );
    assert_eq!(
        audit.keys_missing,
        [KeyFinding {
            node: node_name(1),
            user: "user-010".into(),
            fingerprint: lost_fp.as_str().unwrap().to_owned()
        }]
    );
    assert!(!audit.is_clean());
}

#[tokio::test]
#[ignore = "needs goiardi; run by scripts/ci/keysync.sh"]
async fn revoke_lists_nodes_still_holding_the_key_and_waits_for_their_reports() {
    let env = Env::start().await;
    let src = source(users(USERS, ADMINS));
    env.sync(T0)
        .sync(&src, RunOptions::default())
        .await
        .unwrap();
    let admin = env.goiardi.admin();
    let before = converged_report(&env, None).await;
    // 40 nodes converged before the revoke (they hold user-007's key); the rest never ran
    // user_setup (unknown).
    for i in 0..40 {
        report(&admin, &node_name(i), &before, T0 + 30).await;
    }
    let ks = env.sync(T0 + 60);
    let r = ks.revoke("user-007", false).await.unwrap();
    assert_eq!(r.nodes_with_key.len(), 40, "{r}");
    assert_eq!(r.nodes_unknown.len(), NODES - 40);
    assert!(
        r.to_string()
            .contains("sudo chef-client -o 'recipe[user_setup]'")
    );
    let st = ks
        .wait_revoked("user-007", Duration::ZERO, |_| async {})
        .await
        .unwrap();
    assert!(!st.is_done());

    // Every "sleep" of the wait, 100 nodes converge with the revoke applied.
    let after = converged_report(&env, None).await;
    assert_eq!(after["user-007"]["fingerprints"], json!([]));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let st = ks
        .wait_revoked("user-007", Duration::from_secs(3600), |_| {
            let from = next.fetch_add(100, std::sync::atomic::Ordering::SeqCst);
            let (admin, after) = (admin.clone(), after.clone());
            async move {
                for i in from..(from + 100).min(NODES) {
                    report(&admin, &node_name(i), &after, T0 + 900).await;
                }
            }
        })
        .await
        .unwrap();
    assert!(st.is_done(), "{st}");
    assert_eq!(st.polls, 4, "{st}");
    assert_eq!(st.nodes_clean, NODES);
}

#[tokio::test]
#[ignore = "needs goiardi; run by scripts/ci/keysync.sh"]
async fn lockout_is_refused_with_nothing_written_unless_forced() {
    let env = Env::start().await;
    let src = source(users(USERS, ADMINS));
    env.sync(T0)
        .sync(&src, RunOptions::default())
        .await
        .unwrap();

    // Every admin removed at once.
    let mut specs = users(USERS, ADMINS);
    for s in specs.iter_mut().take(ADMINS) {
        s.state = UserState::Removed;
    }
    let bad = source(specs);
    env.clear_counts();
    let do_before = env.do_requests();
    let err = env
        .sync(T0 + 60)
        .sync(&bad, RunOptions::default())
        .await
        .unwrap_err();
    let Error::Lockout { problems } = &err else {
        panic!("expected a lockout refusal, got {err:?}")
    };
    assert!(
        problems.iter().any(|p| p.contains("sysadmin")),
        "{problems:?}"
    );
    assert_eq!(env.proxy.writes(), 0, "{:?}", env.proxy.seen());
    assert_eq!(env.do_requests() - do_before, 1, "one listing, no write");
    assert!(env.item("user-000").await.get("action").is_none());

    // Revoking the last admin is refused too.
    let mut specs = users(USERS, 1);
    specs.truncate(USERS);
    let one_admin = source(specs);
    env.sync(T0 + 120)
        .sync(&one_admin, RunOptions::default())
        .await
        .unwrap();
    env.clear_counts();
    let err = env
        .sync(T0 + 180)
        .revoke("user-000", false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Lockout { .. }), "{err:?}");
    assert_eq!(env.proxy.writes(), 0, "{:?}", env.proxy.seen());

    // Forced, it goes through.
    let report = env
        .sync(T0 + 240)
        .sync(
            &bad,
            RunOptions {
                force: true,
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(applied(&report).items_written >= ADMINS, "{report}");
    assert_eq!(env.item("user-001").await["action"], "remove");
}

#[tokio::test]
#[ignore = "needs goiardi; run by scripts/ci/keysync.sh"]
async fn invalid_input_is_rejected_with_nothing_written() {
    let env = Env::start().await;
    let good = ed_key("alice");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("alice.toml"),
        format!("id = \"alice\"\nssh_keys = [\"{good}\"]\ngroups = [\"sysadmin\"]\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bob.toml"),
        format!(
            "id = \"bob\"\nssh_keys = [\n  \"{}\",\n  \"{good}\",\n]\ngroups = [\"ops\"]\n",
            dsa_key("bob")
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("carol.json"),
        r#"{"id": "carol", "ssh_key": ["ssh-ed25519 AAAA"], "groups": ["ops"]}"#,
    )
    .unwrap();
    let err = KeySource::load(dir.path(), &KeyPolicy::default()).unwrap_err();
    let Error::Validation { problems, .. } = &err else {
        panic!("expected validation problems, got {err:?}")
    };
    let all = problems.join("\n");
    assert!(all.contains("bob.toml:"), "{all}");
    assert!(all.contains("carol.json"), "{all}");
    assert!(problems.len() >= 3, "DSA, duplicate and the typo: {all}");
    let err = KeySource::parse_str(
        "[[users]]\nid = \"x\"\nssh_keys = [\"ssh-rsa AAAAB3NzaC1yc2E\"]\n",
        SourceFormat::Toml,
        "inline.toml",
        &KeyPolicy::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("inline.toml"), "{err}");
    // Nothing reached either server.
    assert_eq!(env.proxy.requests(), 0);
    assert_eq!(env.do_requests(), 0);
    let bags = env.goiardi.admin().data_bags().list().await.unwrap();
    assert!(bags.is_empty(), "{bags:?}");
}

#[tokio::test]
#[ignore = "needs goiardi; run by scripts/ci/keysync.sh"]
async fn users_bag_adapter_round_trips_items_and_state() {
    let env = Env::start().await;
    use ops_core::key_sync::{SyncState, UsersBag};
    assert!(env.bag.list_items().await.unwrap().is_empty(), "no bag yet");
    assert!(env.bag.get_state().await.unwrap().is_none());
    assert!(env.bag.get_item("alice").await.unwrap().is_none());
    let mut alice = UserItem::new("alice");
    alice.ssh_keys = Some(vec![ed_key("alice")]);
    alice.groups = vec!["sysadmin".into()];
    alice.extra.insert("uid".into(), json!(2001));
    env.bag.create_item(&alice).await.unwrap();
    let err = env.bag.create_item(&alice).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::AlreadyExists);
    assert!(!err.is_ambiguous());
    let err = env
        .bag
        .update_item(&UserItem::new("nobody"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // A hand-written item with a single key string and extra fields.
    env.goiardi
        .admin()
        .data_bags()
        .create_item(
            "users",
            &json!({"id": "bob", "ssh_keys": ed_key("bob"), "groups": ["ops"], "comment": "Bob"}),
        )
        .await
        .unwrap();
    let items = env.bag.list_items().await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0], alice);
    assert_eq!(items[1].ssh_keys, Some(vec![ed_key("bob")]));
    assert_eq!(items[1].extra["comment"], "Bob");
    assert_eq!(env.bag.get_item("alice").await.unwrap(), Some(alice));

    let state = SyncState {
        digest: "sha256:abc".into(),
        keys_changed_at: Some(T0),
        applied_at: T0,
        revoked: Vec::new(),
    };
    env.bag.put_state(&state).await.unwrap();
    assert_eq!(env.bag.get_state().await.unwrap(), Some(state.clone()));
    let next = SyncState {
        applied_at: T0 + 1,
        ..state
    };
    env.proxy.clear();
    env.bag.put_state(&next).await.unwrap();
    assert_eq!(env.proxy.requests(), 1, "an existing state item is one PUT");
    assert_eq!(env.bag.get_state().await.unwrap(), Some(next));
    // The state lives outside the users bag.
    assert_eq!(env.bag.list_items().await.unwrap().len(), 2);
}

#[tokio::test]
#[ignore = "needs goiardi; run by scripts/ci/keysync.sh"]
async fn node_search_pages_past_goiardi_totals() {
    let env = Env::start().await;
    use ops_core::key_sync::NodeInventory;
    let mut seen = std::collections::BTreeSet::new();
    let mut start = 0;
    let mut pages = 0;
    loop {
        let page = env.nodes.search_nodes("*:*", start, 128).await.unwrap();
        pages += 1;
        let n = page.nodes.len() as u64;
        for node in page.nodes {
            assert!(node.name.starts_with("node-"));
            if node.name == node_name(0) {
                assert_eq!(node.last_check_in, Some(at(T0 - 3600)));
                assert!(!node.run_list.contains(&"recipe[user_setup]".to_owned()));
            }
            if node.name == node_name(1) {
                assert_eq!(node.last_check_in, None);
                assert!(node.recipes.contains(&"user_setup".to_owned()), "{node:?}");
            }
            seen.insert(node.name);
        }
        start += n;
        if n == 0 || start >= page.total {
            break;
        }
    }
    assert_eq!(seen.len(), NODES);
    assert_eq!(pages, 3);
    env.nodes
        .add_to_run_list(&node_name(0), "recipe[user_setup]")
        .await
        .unwrap();
    env.proxy.clear();
    env.nodes
        .add_to_run_list(&node_name(0), "recipe[user_setup]")
        .await
        .unwrap();
    assert_eq!(env.proxy.writes(), 0, "already there: GET only");
    let err = env
        .nodes
        .add_to_run_list("no-such-node", "recipe[user_setup]")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
#[ignore = "needs goiardi; run by scripts/ci/keysync.sh"]
async fn config_mgmt_adapter_registers_nodes_validatorless() {
    let g = Goiardi::start();
    let cm = ChefConfigMgmt::new(g.admin());
    assert!(cm.get_node("web-01").await.unwrap().is_none());
    assert!(!cm.client_exists("web-01").await.unwrap());
    let creds = cm.create_client("web-01").await.unwrap();
    assert!(creds.private_key.expose_secret().contains("PRIVATE KEY"));
    assert!(!format!("{creds:?}").contains("PRIVATE KEY"));
    assert!(cm.client_exists("web-01").await.unwrap());
    let err = cm.create_client("web-01").await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::AlreadyExists, "{err}");
    assert!(!err.is_ambiguous());

    let node = NewNode {
        name: "web-01".into(),
        environment: "_default".into(),
        run_list: vec![
            "recipe[base]".into(),
            "role[web]".into(),
            "user_setup".into(),
        ],
        normal: json!({"tags": ["ops-core"]}),
    };
    cm.create_node(&node, &creds).await.unwrap();
    let got = cm.get_node("web-01").await.unwrap().unwrap();
    assert_eq!(got.environment, "_default");
    assert_eq!(
        got.run_list,
        ["recipe[base]", "role[web]", "recipe[user_setup]"]
    );
    let stored = g.admin().nodes().get("web-01").await.unwrap();
    assert_eq!(stored.normal["tags"], json!(["ops-core"]));
    let err = cm.create_node(&node, &creds).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::AlreadyExists, "{err}");
    assert!(
        cm.list_nodes()
            .await
            .unwrap()
            .contains(&"web-01".to_owned())
    );

    // A node in an environment that does not exist is rejected, not ambiguous.
    let err = cm
        .create_node(
            &NewNode {
                name: "web-02".into(),
                environment: "no-such-env".into(),
                ..node.clone()
            },
            &creds,
        )
        .await
        .map(|()| "accepted")
        .unwrap_or_else(|e| {
            assert!(!e.is_ambiguous(), "{e}");
            "rejected"
        });
    let _ = err;

    cm.delete_node("web-01").await.unwrap();
    cm.delete_client("web-01").await.unwrap();
    assert!(cm.delete_node("web-01").await.unwrap_err().is_not_found());
    assert!(cm.delete_client("web-01").await.unwrap_err().is_not_found());
    assert!(cm.get_node("web-01").await.unwrap().is_none());
    assert!(!cm.client_exists("web-01").await.unwrap());

    // A deleted client's key no longer signs: unauthorized, not ambiguous.
    let err = cm
        .create_node(
            &NewNode {
                name: "web-03".into(),
                ..node.clone()
            },
            &creds,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized, "{err}");
    assert!(!err.to_string().contains("PRIVATE KEY"));

    // Nothing listens: unavailable, and a read is never ambiguous.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = ChefConfigMgmt::new(g.admin_at(&format!("http://127.0.0.1:{port}")));
    let err = dead.get_node("x").await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable, "{err}");
    let err = dead.create_client("x").await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable, "{err}");
    assert!(
        !err.is_ambiguous(),
        "a refused connection never reached the server"
    );
}

//! key-sync workflow over recording in-memory fakes of its ports.
#![allow(clippy::unwrap_used)]

use crate::key_sync_support;

use key_sync_support::*;
use ops_core::Error;
use ops_core::key_sync::{
    InstalledKeys, KeyFinding, KeyPolicy, KeySource, KeySync, KeySyncOptions, NodeProof,
    RunOptions, SyncReport, UserItem, UserSpec, UserState, fingerprint_of,
};
use std::collections::BTreeMap;
use std::time::Duration;

const NODES: usize = 300;
const USERS: usize = 40;

fn opts() -> KeySyncOptions {
    KeySyncOptions {
        now: Some(at(T0)),
        ..KeySyncOptions::default()
    }
}

fn source(specs: Vec<UserSpec>) -> KeySource {
    KeySource::from_specs(specs, &KeyPolicy::default()).unwrap()
}

fn sync<'a>(w: &'a World, o: KeySyncOptions) -> KeySync<'a> {
    KeySync::new(&w.bag, &w.account, &w.nodes, o)
}

async fn run(w: &World, src: &KeySource, run: RunOptions) -> SyncReport {
    sync(w, opts()).sync(src, run).await.unwrap()
}

#[tokio::test]
async fn first_run_writes_everything_second_run_writes_nothing() {
    let w = World::new(NODES, 7);
    let unmanaged = w
        .account
        .add_unmanaged("break-glass laptop", &ed_key("someone-else"));
    let src = source(users(USERS, 3));
    let missing = w.nodes.missing("recipe[user_setup]").len();
    assert!(missing > 0);

    let report = run(&w, &src, RunOptions::default()).await;
    let SyncReport::Applied {
        report: applied, ..
    } = &report
    else {
        panic!("expected an apply: {report}")
    };
    assert_eq!(applied.items_written, USERS);
    let keys_total = USERS + USERS.div_ceil(5);
    assert_eq!(applied.keys_added, keys_total);
    assert_eq!(applied.keys_deleted, 0);
    assert_eq!(applied.run_lists_fixed, missing);
    assert!(applied.state_written);
    assert_eq!(w.log.writes(), applied.writes());
    assert!(w.nodes.missing("recipe[user_setup]").is_empty());
    assert!(
        w.account
            .keys
            .lock()
            .unwrap()
            .iter()
            .any(|k| k.id == unmanaged),
        "unmanaged key untouched"
    );
    let item = w
        .bag
        .items
        .lock()
        .unwrap()
        .get("user-000")
        .cloned()
        .unwrap();
    assert_eq!(item.ssh_keys.as_ref().unwrap().len(), 2);
    assert_eq!(item.groups, vec!["ops", "sysadmin"]);
    assert_eq!(item.shell.as_deref(), Some("/bin/bash"));
    assert_eq!(item.action, None);

    // Second run, full (no short-circuit): reads only, zero writes.
    w.log.clear();
    let report = run(
        &w,
        &src,
        RunOptions {
            full: true,
            ..RunOptions::default()
        },
    )
    .await;
    let SyncReport::Applied {
        plan,
        report: applied,
    } = &report
    else {
        panic!("{report}")
    };
    assert!(plan.is_converged(), "{plan}");
    assert_eq!(applied.writes(), 0);
    assert_eq!(w.log.writes(), 0, "{:?}", w.log.calls());
    // state + bag + account keys + ceil(300/1000) node pages
    assert_eq!(w.log.len(), 4, "{:?}", w.log.calls());
}

#[tokio::test]
async fn scheduled_run_short_circuits_on_the_stored_digest() {
    let w = World::new(NODES, 0);
    let src = source(users(USERS, 3));
    run(&w, &src, RunOptions::default()).await;

    w.log.clear();
    let report = run(&w, &src, RunOptions::default()).await;
    assert!(matches!(report, SyncReport::UpToDate { .. }), "{report}");
    assert_eq!(
        w.log.calls().len(),
        1,
        "only the state item is read: {:?}",
        w.log.calls()
    );
    assert_eq!(w.log.count("get_state"), 1);
    assert_eq!(w.log.writes(), 0);
    assert!(report.to_string().contains("up to date"));
}

#[tokio::test]
async fn a_source_change_writes_only_what_changed() {
    let w = World::new(NODES, 0);
    let mut specs = users(USERS, 3);
    run(&w, &source(specs.clone()), RunOptions::default()).await;

    specs[7].ssh_keys.push(ed_key("user-007-new-laptop"));
    w.log.clear();
    let report = run(&w, &source(specs), RunOptions::default()).await;
    let SyncReport::Applied {
        plan,
        report: applied,
    } = &report
    else {
        panic!("{report}")
    };
    assert_eq!(plan.item_changes.len(), 1);
    assert_eq!(plan.item_changes[0].id, "user-007");
    assert!(!plan.item_changes[0].create);
    assert_eq!(applied.keys_added, 1);
    assert_eq!(applied.run_lists_fixed, 0);
    assert_eq!(
        w.log.writes(),
        3,
        "item + account key + state: {:?}",
        w.log.calls()
    );
    assert_eq!(w.log.count("update_item"), 1);
}

#[tokio::test]
async fn dry_run_prints_the_plan_and_writes_nothing() {
    let w = World::new(50, 10);
    let src = source(users(12, 2));
    let report = run(
        &w,
        &src,
        RunOptions {
            dry_run: true,
            ..RunOptions::default()
        },
    )
    .await;
    assert_eq!(w.log.writes(), 0);
    let SyncReport::DryRun(plan) = &report else {
        panic!("{report}")
    };
    assert_eq!(plan.item_changes.len(), 12);
    let text = report.to_string();
    assert!(
        text.contains("users data bag: 12 to create, 0 to update"),
        "{text}"
    );
    assert!(text.contains("+ user-000:"), "{text}");
    assert!(
        text.contains("run-lists: 5 of 50 node(s) missing recipe[user_setup]"),
        "{text}"
    );
    assert!(text.contains("stored digest: none (first run)"), "{text}");
    assert!(text.contains("dry run: nothing written"), "{text}");
    assert!(
        !text.contains("AAAA"),
        "the plan shows fingerprints, not keys: {text}"
    );
}

#[tokio::test]
async fn live_fields_are_kept_and_string_keys_are_read() {
    let w = World::new(10, 0);
    let mut specs = users(5, 2);
    specs[1].ssh_keys.truncate(1);
    let live: UserItem = serde_json::from_value(serde_json::json!({
        "id": "user-001", "uid": 2001, "comment": "User One",
        "ssh_keys": specs[1].ssh_keys[0].clone(), "groups": ["ops"], "shell": "/bin/bash"
    }))
    .unwrap();
    assert_eq!(live.key_count(), 1);
    w.bag.items.lock().unwrap().insert(live.id.clone(), live);
    run(&w, &source(specs), RunOptions::default()).await;
    let item = w
        .bag
        .items
        .lock()
        .unwrap()
        .get("user-001")
        .cloned()
        .unwrap();
    assert_eq!(item.extra.get("uid"), Some(&serde_json::json!(2001)));
    assert_eq!(
        item.extra.get("comment"),
        Some(&serde_json::json!("User One"))
    );
    assert_eq!(item.groups, vec!["ops", "sysadmin"]);
    let v = serde_json::to_value(&item).unwrap();
    assert!(v["ssh_keys"].is_array());
}

#[tokio::test]
async fn removed_users_get_action_remove_and_lose_managed_account_keys() {
    let w = World::new(20, 0);
    let mut specs = users(10, 3);
    run(&w, &source(specs.clone()), RunOptions::default()).await;
    // Someone uploaded user-005's key by hand too, under their own name.
    let manual = w
        .account
        .add_unmanaged("user-005 manual", &ed_key("user-005-other"));

    specs[5].state = UserState::Removed;
    w.log.clear();
    let report = run(&w, &source(specs), RunOptions::default()).await;
    let SyncReport::Applied {
        report: applied, ..
    } = &report
    else {
        panic!("{report}")
    };
    assert_eq!(applied.items_written, 1);
    assert_eq!(applied.keys_deleted, 2, "ed25519 + rsa of user-005");
    let item = w
        .bag
        .items
        .lock()
        .unwrap()
        .get("user-005")
        .cloned()
        .unwrap();
    assert_eq!(item.action.as_deref(), Some("remove"));
    assert_eq!(item.ssh_keys, Some(vec![]));
    assert_eq!(
        item.groups,
        vec!["ops"],
        "groups kept so the recipe's search finds the item"
    );
    assert_eq!(w.log.count("delete_item"), 0);
    assert!(
        w.account
            .keys
            .lock()
            .unwrap()
            .iter()
            .any(|k| k.id == manual)
    );
    assert!(
        !w.account
            .names()
            .iter()
            .any(|n| n.starts_with("key-sync:user-005:"))
    );
}

#[tokio::test]
async fn items_missing_from_the_source_are_left_alone_with_a_warning() {
    let w = World::new(5, 0);
    let mut stray = UserItem::new("legacy");
    stray.ssh_keys = Some(vec![ed_key("legacy")]);
    stray.groups = vec!["ops".into()];
    w.bag
        .items
        .lock()
        .unwrap()
        .insert("legacy".into(), stray.clone());
    let report = run(&w, &source(users(4, 1)), RunOptions::default()).await;
    let SyncReport::Applied { plan, .. } = &report else {
        panic!("{report}")
    };
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("`legacy` is not in the source"))
    );
    assert_eq!(w.bag.items.lock().unwrap().get("legacy"), Some(&stray));
}

#[tokio::test]
async fn an_unmanaged_account_key_with_a_source_key_is_not_duplicated() {
    let w = World::new(5, 0);
    let specs = users(4, 1);
    w.account
        .add_unmanaged("alice-uploaded", &specs[2].ssh_keys[0]);
    let report = run(&w, &source(specs), RunOptions::default()).await;
    let SyncReport::Applied {
        plan,
        report: applied,
    } = &report
    else {
        panic!("{report}")
    };
    assert_eq!(
        applied.keys_added, 4,
        "5 source keys, one already on the account"
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("unmanaged key `alice-uploaded`"))
    );
}

#[tokio::test]
async fn revoke_marks_the_user_removed_everywhere_and_lists_nodes() {
    let w = World::new(NODES, 0);
    let specs = users(USERS, 3);
    let src = source(specs.clone());
    run(&w, &src, RunOptions::default()).await;
    // A few nodes lose the recipe afterwards.
    for n in w.nodes.nodes.lock().unwrap().iter_mut().take(3) {
        n.run_list.retain(|e| e != "recipe[user_setup]");
    }

    w.log.clear();
    let ks = sync(&w, opts());
    let report = ks.revoke("user-010", false).await.unwrap();
    assert!(report.item_written);
    assert_eq!(report.keys_deleted.len(), 2);
    assert_eq!(report.nodes_to_converge.len(), NODES - 3);
    assert_eq!(report.nodes_missing_recipe.len(), 3);
    let item = w
        .bag
        .items
        .lock()
        .unwrap()
        .get("user-010")
        .cloned()
        .unwrap();
    assert!(!item.is_present());
    assert_eq!(item.key_count(), 0);
    let state = w.bag.state.lock().unwrap().clone().unwrap();
    assert_eq!(state.digest, "", "the next scheduled run is a full one");
    assert_eq!(state.keys_changed_at, Some(T0));
    assert!(report.to_string().contains("revoked `user-010`"));
    // writes: item + 2 key deletes + state
    assert_eq!(w.log.writes(), 4, "{:?}", w.log.calls());

    // The source still says present: a sync keeps the user removed and says so.
    let later = KeySyncOptions {
        now: Some(at(T0 + 60)),
        ..KeySyncOptions::default()
    };
    let report = sync(&w, later.clone())
        .sync(&src, RunOptions::default())
        .await
        .unwrap();
    let SyncReport::Applied { plan, .. } = &report else {
        panic!("{report}")
    };
    assert!(
        plan.warnings
            .iter()
            .any(|m| m.contains("`user-010` was revoked")),
        "{plan}"
    );
    assert!(plan.item_changes.is_empty(), "{plan}");
    assert!(plan.keys_to_add.is_empty(), "{plan}");
    assert!(!w.bag.items.lock().unwrap()["user-010"].is_present());

    // Once the source marks them removed, the pending revocation is cleared.
    let mut specs2 = specs;
    specs2[10].state = UserState::Removed;
    let report = sync(&w, later)
        .sync(&source(specs2), RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(report, SyncReport::Applied { .. }), "{report}");
    assert!(
        w.bag
            .state
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .revoked
            .is_empty()
    );
}

/// What a converged node reports for the bag as it is now: every item's keys, by
/// fingerprint (removed users: none, state `locked`).
fn installed_now(w: &World) -> BTreeMap<String, InstalledKeys> {
    w.bag
        .items
        .lock()
        .unwrap()
        .values()
        .map(|i| {
            let mut fps: Vec<String> = i
                .ssh_keys
                .iter()
                .flatten()
                .filter_map(|k| fingerprint_of(k))
                .collect();
            fps.sort();
            let state = if i.is_present() { "present" } else { "locked" };
            (
                i.id.clone(),
                InstalledKeys {
                    fingerprints: fps,
                    at: Some(T0 + 120),
                    state: state.into(),
                },
            )
        })
        .collect()
}

/// Issue #23: the audit judges nodes by what the `user_setup` recipe reports (keys by
/// fingerprint, `checked_at`), not by `ohai_time`.
#[tokio::test]
async fn audit_reports_keys_by_node_from_the_recipes_proof() {
    let w = World::new(100, 0);
    let src = source(users(10, 2));
    run(&w, &src, RunOptions::default()).await; // keys changed at T0
    w.account
        .add_unmanaged("someone's laptop", &ed_key("stranger"));
    let good = installed_now(&w);
    let mut stale_extra = good.clone();
    // A key user-001 no longer has, still installed on a node that has not reported since.
    stale_extra
        .get_mut("user-001")
        .unwrap()
        .fingerprints
        .push(fingerprint_of(&ed_key("user-001-old-laptop")).unwrap());
    let mut missing_one = good.clone();
    let lost = missing_one
        .get_mut("user-002")
        .unwrap()
        .fingerprints
        .pop()
        .unwrap();
    {
        let mut nodes = w.nodes.nodes.lock().unwrap();
        for (i, n) in nodes.iter_mut().enumerate() {
            let (installed, checked_at) = match i {
                0..=59 => (good.clone(), T0 + 120),    // converged since
                60 => (missing_one.clone(), T0 + 120), // converged, lost a key
                61..=96 => (good.clone(), T0 - 600),   // report before the change
                97 => (stale_extra.clone(), T0 - 600), // and a key to remove
                _ => continue,                         // 98: no report
            };
            n.proof = Some(NodeProof {
                installed,
                checked_at: Some(checked_at),
            });
            // ohai_time says "converged" everywhere: it no longer decides anything.
            n.last_check_in = Some(at(T0 + 500));
        }
        nodes[99].run_list.clear();
    }
    w.log.clear();
    let audit = sync(&w, opts()).audit(&src).await.unwrap();
    assert_eq!(w.log.writes(), 0);
    assert_eq!(
        w.log.count("search_nodes"),
        1,
        "the same one paginated search"
    );
    assert_eq!(audit.nodes_total, 100);
    assert!(audit.digest_up_to_date);
    assert_eq!(audit.missing_recipe, vec!["node-00099".to_owned()]);
    assert_eq!(audit.no_report, vec!["node-00098".to_owned()]);
    assert_eq!(
        audit.not_converged.len(),
        37,
        "61..=97 reported before the change"
    );
    assert!(
        audit
            .not_converged
            .iter()
            .any(|n| n.name == "node-00097" && n.last_check_in == Some(at(T0 - 600)))
    );
    assert_eq!(
        audit.keys_still_installed,
        [KeyFinding {
            node: "node-00097".into(),
            user: "user-001".into(),
            fingerprint: fingerprint_of(&ed_key("user-001-old-laptop")).unwrap(),
        }]
    );
    assert_eq!(
        audit.keys_missing,
        [KeyFinding {
            node: "node-00060".into(),
            user: "user-002".into(),
            fingerprint: lost,
        }]
    );
    assert_eq!(audit.account_keys_not_in_source.len(), 1);
    assert!(!audit.account_keys_not_in_source[0].1, "unmanaged");
    assert!(audit.bag_drift.is_empty());
    assert!(!audit.is_clean());
    let text = audit.to_string();
    assert!(text.contains("37 node(s) not converged"), "{text}");
    assert!(
        text.contains("1 node(s) unknown (no report from user_setup)"),
        "{text}"
    );
    assert!(
        text.contains("1 key(s) still installed that should be gone"),
        "{text}"
    );
    assert!(
        text.contains("1 DigitalOcean key(s) not in the source"),
        "{text}"
    );

    w.nodes.report_all(T0 + 300, &good);
    let audit = sync(&w, opts()).audit(&src).await.unwrap();
    assert!(audit.not_converged.is_empty() && audit.no_report.is_empty());
    assert!(audit.keys_still_installed.is_empty() && audit.keys_missing.is_empty());
}

/// Issue #23: `revoke` lists the nodes whose report still holds the user's key, and
/// `wait_revoked` polls (with backoff, through the injected sleep) until none is left, or
/// returns the status at the deadline.
#[tokio::test]
async fn revoke_lists_key_holders_and_wait_polls_until_they_reported() {
    let w = World::new(30, 0);
    let src = source(users(10, 3));
    run(&w, &src, RunOptions::default()).await;
    w.nodes.report_all(T0 + 60, &installed_now(&w));
    let ks = sync(&w, opts());
    let report = ks.revoke("user-004", false).await.unwrap();
    assert_eq!(report.nodes_with_key.len(), 30);
    assert!(report.nodes_unknown.is_empty());
    assert!(
        report
            .to_string()
            .contains("sudo chef-client -o 'recipe[user_setup]'"),
        "{report}"
    );

    // Deadline already passed: one poll, not done.
    let st = ks
        .wait_revoked("user-004", Duration::ZERO, |_| async {})
        .await
        .unwrap();
    assert!(!st.is_done());
    assert_eq!((st.polls, st.nodes_with_key.len()), (1, 30));

    // Each "sleep" converges ten more nodes; the delays grow and are never zero.
    let after = installed_now(&w); // the bag now says user-004 is removed: no keys
    let delays = std::sync::Mutex::new(Vec::new());
    let st = ks
        .wait_revoked("user-004", Duration::from_secs(3600), |d| {
            delays.lock().unwrap().push(d);
            let mut nodes = w.nodes.nodes.lock().unwrap();
            for n in nodes
                .iter_mut()
                .filter(|n| n.proof.as_ref().unwrap().checked_at == Some(T0 + 60))
                .take(10)
            {
                n.proof = Some(NodeProof {
                    installed: after.clone(),
                    checked_at: Some(T0 + 600),
                });
            }
            async {}
        })
        .await
        .unwrap();
    assert!(st.is_done(), "{st}");
    assert_eq!(st.polls, 4);
    assert_eq!(st.nodes_clean, 30);
    let delays = delays.into_inner().unwrap();
    assert_eq!(delays.len(), 3);
    assert!(
        delays.iter().all(|d| *d >= Duration::from_millis(2500)),
        "{delays:?}"
    );
    assert!(
        delays[2] >= Duration::from_secs(10),
        "backoff grows: {delays:?}"
    );
}

#[tokio::test]
async fn lockout_guard_refuses_removing_every_admin_unless_forced() {
    let w = World::new(10, 0);
    let mut specs = users(8, 2);
    run(&w, &source(specs.clone()), RunOptions::default()).await;
    specs[0].state = UserState::Removed;
    specs[1].state = UserState::Removed;
    w.log.clear();
    let err = sync(&w, opts())
        .sync(&source(specs.clone()), RunOptions::default())
        .await
        .unwrap_err();
    let Error::Lockout { problems } = &err else {
        panic!("{err}")
    };
    assert!(
        problems
            .iter()
            .any(|p| p.contains("admin group `sysadmin`")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("group `sysadmin` would be left with no keys")),
        "{problems:?}"
    );
    assert_eq!(w.log.writes(), 0, "nothing written when refused");

    // A dry run shows the refusal in the plan.
    let report = sync(&w, opts())
        .sync(
            &source(specs.clone()),
            RunOptions {
                dry_run: true,
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(report.to_string().contains("LOCKOUT GUARD"), "{report}");

    let report = sync(&w, opts())
        .sync(
            &source(specs),
            RunOptions {
                force: true,
                ..RunOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(report, SyncReport::Applied { .. }));
    assert!(!w.bag.items.lock().unwrap()["user-000"].is_present());
}

#[tokio::test]
async fn lockout_guard_refuses_an_empty_key_list_for_a_present_user() {
    let w = World::new(10, 0);
    let mut specs = users(8, 2);
    run(&w, &source(specs.clone()), RunOptions::default()).await;
    specs[5].ssh_keys.clear();
    w.log.clear();
    let err = sync(&w, opts())
        .sync(&source(specs), RunOptions::default())
        .await
        .unwrap_err();
    let Error::Lockout { problems } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        problems,
        &vec!["would write an empty key list for present user `user-005`".to_owned()]
    );
    assert_eq!(w.log.writes(), 0);
    assert!(err.to_string().contains("use force"));
}

#[tokio::test]
async fn lockout_guard_refuses_leaving_a_group_without_keys() {
    let w = World::new(10, 0);
    let mut specs = users(8, 2);
    specs[6].groups.push("dba".into());
    run(&w, &source(specs.clone()), RunOptions::default()).await;
    specs[6].state = UserState::Removed;
    let err = sync(&w, opts())
        .sync(&source(specs), RunOptions::default())
        .await
        .unwrap_err();
    let Error::Lockout { problems } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        problems,
        &vec!["group `dba` would be left with no keys".to_owned()]
    );
}

#[tokio::test]
async fn revoking_the_last_admin_is_refused_unless_forced() {
    let w = World::new(10, 0);
    run(&w, &source(users(5, 1)), RunOptions::default()).await;
    w.log.clear();
    let err = sync(&w, opts())
        .revoke("user-000", false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Lockout { .. }), "{err}");
    assert_eq!(w.log.writes(), 0);
    let report = sync(&w, opts()).revoke("user-000", true).await.unwrap();
    assert!(report.item_written);
}

#[tokio::test]
async fn a_failed_apply_does_not_store_the_digest() {
    let w = World::new(10, 0);
    let mut specs = users(6, 2);
    run(&w, &source(specs.clone()), RunOptions::default()).await;
    let before = w.bag.state.lock().unwrap().clone();
    specs[3].ssh_keys.push(ed_key("user-003-b"));
    w.bag
        .fail_updates
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = sync(&w, opts())
        .sync(&source(specs.clone()), RunOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Step {
                step: "update data bag item",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        *w.bag.state.lock().unwrap(),
        before,
        "state untouched: the next run retries"
    );
    w.bag
        .fail_updates
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let report = sync(&w, opts())
        .sync(&source(specs), RunOptions::default())
        .await
        .unwrap();
    assert!(matches!(report, SyncReport::Applied { .. }), "{report}");
}

#[tokio::test]
async fn node_search_is_paginated_with_the_configured_rows() {
    let w = World::new(2_500, 0);
    let ks = sync(&w, opts());
    let nodes = ks.scan_nodes().await.unwrap();
    assert_eq!(nodes.len(), 2_500);
    assert_eq!(w.log.count("search_nodes"), 3);
    w.log.clear();
    let small = sync(
        &w,
        KeySyncOptions {
            page_rows: 100,
            ..opts()
        },
    );
    small.scan_nodes().await.unwrap();
    assert_eq!(w.log.count("search_nodes"), 25);
}

#[tokio::test]
async fn account_keys_can_be_limited_to_groups_or_off() {
    let w = World::new(5, 0);
    let o = KeySyncOptions {
        account_key_groups: Some(["sysadmin".to_owned()].into()),
        ..opts()
    };
    sync(&w, o)
        .sync(&source(users(10, 2)), RunOptions::default())
        .await
        .unwrap();
    assert_eq!(
        w.account.keys.lock().unwrap().len(),
        3,
        "user-000 (2 keys) and user-001 (1 key)"
    );

    let w = World::new(5, 0);
    let o = KeySyncOptions {
        sync_account_keys: false,
        ..opts()
    };
    sync(&w, o)
        .sync(&source(users(10, 2)), RunOptions::default())
        .await
        .unwrap();
    assert_eq!(w.log.count("list_keys"), 0);
    assert!(w.account.keys.lock().unwrap().is_empty());
}

#[tokio::test]
async fn revoke_warns_about_unmanaged_account_keys_and_audit_flags_them() {
    let w = World::new(10, 0);
    let specs = users(6, 2);
    let src = source(specs.clone());
    run(&w, &src, RunOptions::default()).await;
    // user-003's key also uploaded by hand, outside key-sync; and a stale managed key.
    w.account
        .keys
        .lock()
        .unwrap()
        .retain(|k| !k.name.starts_with("key-sync:user-003:"));
    w.account.fingerprints.lock().unwrap().clear();
    let manual = w
        .account
        .add_unmanaged("user-003 laptop", &specs[3].ssh_keys[0]);
    w.account
        .add_unmanaged("key-sync:ghost:abc", &ed_key("ghost"));

    let audit = sync(&w, opts()).audit(&src).await.unwrap();
    assert_eq!(audit.account_keys_not_in_source.len(), 1);
    assert_eq!(
        audit.account_keys_not_in_source[0].0.name,
        "key-sync:ghost:abc"
    );
    assert!(
        audit.account_keys_not_in_source[0].1,
        "managed: a sync deletes it"
    );

    let report = sync(&w, opts()).revoke("user-003", false).await.unwrap();
    assert!(report.keys_deleted.is_empty());
    assert!(
        report
            .warnings
            .iter()
            .any(|m| m.contains("unmanaged account key `user-003 laptop`")),
        "{report}"
    );
    assert!(
        w.account
            .keys
            .lock()
            .unwrap()
            .iter()
            .any(|k| k.id == manual),
        "never touched"
    );
    assert!(report.to_string().contains("delete it by hand"));
}

#[tokio::test]
async fn revoking_a_user_absent_from_the_bag_writes_no_item() {
    let w = World::new(5, 0);
    run(&w, &source(users(4, 1)), RunOptions::default()).await;
    let report = sync(&w, opts()).revoke("nobody", false).await.unwrap();
    assert!(!report.item_written);
    assert!(report.warnings[0].contains("no item in the users data bag"));
    assert_eq!(w.bag.items.lock().unwrap().len(), 4);
}

/// Issue #23: key-sync adds `recipe[user_setup]` to run-lists only when the server holds a
/// compatible `user_setup` cookbook; otherwise the run is refused with the reason before any
/// write (forced or not), and a dry run shows why.
#[tokio::test]
async fn run_lists_are_not_changed_without_a_compatible_user_setup_cookbook() {
    let src = source(users(USERS, 3));
    for (cookbooks, why) in [
        (None, "no `user_setup` cookbook"),
        (
            Some(vec!["0.2.0".to_owned(), "0.0.9".to_owned()]),
            "version(s) 0.2.0, 0.0.9",
        ),
    ] {
        let w = World::new(NODES, 7);
        match cookbooks {
            None => {
                w.nodes.cookbooks.lock().unwrap().clear();
            }
            Some(v) => {
                w.nodes
                    .cookbooks
                    .lock()
                    .unwrap()
                    .insert("user_setup".into(), v);
            }
        }
        let dry = run(
            &w,
            &src,
            RunOptions {
                dry_run: true,
                ..RunOptions::default()
            },
        )
        .await;
        assert!(dry.to_string().contains(why), "{dry}");
        for force in [false, true] {
            w.log.clear();
            let err = sync(&w, opts())
                .sync(
                    &src,
                    RunOptions {
                        force,
                        ..RunOptions::default()
                    },
                )
                .await
                .unwrap_err();
            let Error::CookbookMissing {
                requirement,
                problem,
            } = &err
            else {
                panic!("{err:?}")
            };
            assert_eq!(requirement, "user_setup >= 0.1.0, < 0.2.0");
            assert!(problem.contains(why), "{problem}");
            assert_eq!(w.log.writes(), 0, "refused before any write");
            assert_eq!(w.log.count("cookbook_versions"), 1);
        }
    }
    // A compatible patch release is fine.
    let w = World::new(NODES, 7);
    w.nodes
        .cookbooks
        .lock()
        .unwrap()
        .insert("user_setup".into(), vec!["0.1.9".into(), "0.3.0".into()]);
    assert!(matches!(
        run(&w, &src, RunOptions::default()).await,
        SyncReport::Applied { .. }
    ));
    // No run-list to fix: no cookbook request at all, even without the cookbook.
    let w = World::new(NODES, 0);
    w.nodes.cookbooks.lock().unwrap().clear();
    assert!(matches!(
        run(&w, &src, RunOptions::default()).await,
        SyncReport::Applied { .. }
    ));
    assert_eq!(w.log.count("cookbook_versions"), 0);
}

//! key-sync benchmark over in-memory fakes that count port calls and the HTTP requests the
//! real adapters would make (Chef search rows=1000, DigitalOcean per_page=200).
//!
//! `cargo bench -p ops-workflows --bench key_sync` (optional args: NODES USERS).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/key_sync_support/mod.rs"]
mod key_sync_support;

use std::time::Instant;

use key_sync_support::*;
use ops_core::key_sync::{
    InstalledKeys, KeyPolicy, KeySource, KeySync, KeySyncOptions, RunOptions, SyncReport,
    fingerprint_of,
};

fn summary(label: &str, w: &World, elapsed: std::time::Duration) {
    let calls = w.log.calls();
    println!(
        "{label:<38} port calls {:>6}  http requests {:>6}  reads {:>5}  writes {:>6}  wall {:>9.2?}",
        calls.len(),
        w.log.http(),
        w.log.reads(),
        w.log.writes(),
        elapsed
    );
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    let t = Instant::now();
    let src =
        KeySource::from_specs(key_sync_support::users(users, 5), &KeyPolicy::default()).unwrap();
    println!(
        "key-sync bench: {nodes} nodes, {users} users, {} keys (validated in {:.2?})",
        src.users().map(|u| u.keys.len()).sum::<usize>(),
        t.elapsed()
    );
    let w = World::new(nodes, 50);
    let opts = KeySyncOptions {
        now: Some(at(T0)),
        ..KeySyncOptions::default()
    };
    let ks = KeySync::new(&w.bag, &w.account, &w.nodes, opts);

    let t = Instant::now();
    let r = rt.block_on(ks.sync(&src, RunOptions::default())).unwrap();
    assert!(matches!(r, SyncReport::Applied { .. }));
    summary("first run (empty server)", &w, t.elapsed());

    w.log.clear();
    let t = Instant::now();
    let r = rt
        .block_on(ks.sync(
            &src,
            RunOptions {
                full: true,
                ..RunOptions::default()
            },
        ))
        .unwrap();
    let el = t.elapsed();
    summary("converged run, full (no short-circuit)", &w, el);
    let SyncReport::Applied { plan, .. } = r else {
        panic!("expected a plan")
    };
    assert!(plan.is_converged());
    let budget = nodes.div_ceil(1000) + 5;
    assert_eq!(w.log.writes(), 0, "converged: zero writes");
    assert!(
        w.log.http() <= budget,
        "{} requests > budget {budget}",
        w.log.http()
    );
    println!("  target: requests <= ceil({nodes}/1000) + 5 = {budget}: ok");

    w.log.clear();
    let t = Instant::now();
    let r = rt.block_on(ks.sync(&src, RunOptions::default())).unwrap();
    assert!(matches!(r, SyncReport::UpToDate { .. }));
    summary("scheduled run (digest short-circuit)", &w, t.elapsed());

    let mut changed = key_sync_support::users(users, 5);
    changed[42].ssh_keys.push(ed_key("user-042-new-laptop"));
    let changed = KeySource::from_specs(changed, &KeyPolicy::default()).unwrap();
    w.log.clear();
    let t = Instant::now();
    let r = rt
        .block_on(ks.sync(&changed, RunOptions::default()))
        .unwrap();
    assert!(matches!(r, SyncReport::Applied { .. }));
    summary("scheduled run after one key added", &w, t.elapsed());

    w.log.clear();
    let t = Instant::now();
    let a = rt.block_on(ks.audit(&changed)).unwrap();
    summary("audit", &w, t.elapsed());
    println!(
        "  audit: {} not converged, {} missing recipe",
        a.not_converged.len(),
        a.missing_recipe.len()
    );

    w.log.clear();
    let t = Instant::now();
    let r = rt
        .block_on(ks.revoke("user-499", false))
        .unwrap_or_else(|e| panic!("{e}"));
    summary("revoke one user", &w, t.elapsed());
    println!("  revoke: {} nodes to converge", r.nodes_to_converge.len());

    // Issue #23: every node with the recipe reports what it installed (the user_setup
    // proof: every user's fingerprints); the audit compares each report with the bag.
    let installed: std::collections::BTreeMap<String, InstalledKeys> = w
        .bag
        .items
        .lock()
        .unwrap()
        .values()
        .map(|i| {
            let fps = i
                .ssh_keys
                .iter()
                .flatten()
                .filter_map(|k| fingerprint_of(k))
                .collect();
            let state = if i.is_present() { "present" } else { "locked" };
            (
                i.id.clone(),
                InstalledKeys {
                    fingerprints: fps,
                    at: Some(T0 + 900),
                    state: state.into(),
                },
            )
        })
        .collect();
    w.nodes.report_all(T0 + 900, &installed);
    w.log.clear();
    let t = Instant::now();
    let a = rt.block_on(ks.audit(&changed)).unwrap();
    summary("audit with every node's report", &w, t.elapsed());
    println!(
        "  audit: {} unknown, {} stale, {} keys to remove, {} missing",
        a.no_report.len(),
        a.not_converged.len(),
        a.keys_still_installed.len(),
        a.keys_missing.len()
    );
    w.log.clear();
    let t = Instant::now();
    let st = rt.block_on(ks.revoke_status("user-499")).unwrap();
    summary("one --wait poll (revoke status)", &w, t.elapsed());
    println!(
        "  poll: {} nodes still hold the key, {} clean",
        st.nodes_with_key.len(),
        st.nodes_clean
    );
}

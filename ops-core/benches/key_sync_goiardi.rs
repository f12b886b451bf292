//! key-sync over the real adapters against a local Chef server (goiardi, behind a counting
//! proxy) and the DigitalOcean testkit fake: a converged run over 10,000 nodes and 500 users.
//! Counts HTTP requests and writes, and measures wall time (median of several runs).
//!
//! `cargo bench -p ops-workflows --bench key_sync_goiardi` (optional args: NODES USERS RUNS).
//! Needs `goiardi` (Debian package); panics when it is missing.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/key_sync_support/mod.rs"]
mod key_sync_support;
#[path = "../tests/support_goiardi/mod.rs"]
mod support_goiardi;

use std::time::{Duration, Instant};

use digitalocean_client::testkit::FakeDigitalOcean;
use key_sync_support::{T0, at};
use ops_core::adapters::chef::{ChefNodes, ChefUsersBag};
use ops_core::adapters::do_keys::DoAccountKeys;
use ops_core::key_sync::{KeyPolicy, KeySource, KeySync, KeySyncOptions, RunOptions, SyncReport};
use support_goiardi::{CountingProxy, Goiardi, NodeShape, populate_nodes};

fn main() {
    // `cargo test --all-targets` runs harness-less benches without `--bench`: skip there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("key_sync_goiardi: run with `cargo bench` (needs goiardi)");
        return;
    }
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let nodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench(nodes, users, runs.max(1)));
}

async fn bench(nodes: usize, users: usize, runs: usize) {
    let goiardi = Goiardi::start();
    let proxy = CountingProxy::start(&goiardi.url).await;
    let t = Instant::now();
    populate_nodes(
        &goiardi,
        nodes,
        NodeShape {
            missing_every: 0,
            via_role_every: 10,
            ohai: |_| Some((T0 - 600) as f64),
        },
        16,
    )
    .await;
    println!(
        "key-sync over goiardi: {nodes} nodes populated in {:.1?}",
        t.elapsed()
    );
    let fake_do = FakeDigitalOcean::start().await.unwrap();
    let chef = goiardi.admin_at(&proxy.url);
    let bag = ChefUsersBag::new(chef.clone());
    let inventory = ChefNodes::new(chef).sort("url asc");
    let keys = DoAccountKeys::new(fake_do.client().unwrap()).list_budget(0, Duration::ZERO);
    let src =
        KeySource::from_specs(key_sync_support::users(users, 5), &KeyPolicy::default()).unwrap();
    let sync = |now| {
        KeySync::new(
            &bag,
            &keys,
            &inventory,
            KeySyncOptions {
                now: Some(at(now)),
                ..KeySyncOptions::default()
            },
        )
    };

    let t = Instant::now();
    let report = sync(T0).sync(&src, RunOptions::default()).await.unwrap();
    let SyncReport::Applied { report: first, .. } = &report else {
        panic!("first run must apply: {report}")
    };
    println!(
        "first run: {} item(s), {} key(s) added, {} run-list(s) fixed; {} Chef requests ({} writes), {} DigitalOcean requests; {:.2?}",
        first.items_written,
        first.keys_added,
        first.run_lists_fixed,
        proxy.requests(),
        proxy.writes(),
        fake_do.requests().len(),
        t.elapsed()
    );

    let limit = nodes.div_ceil(1000);
    for (label, full) in [
        ("scheduled (digest check)", false),
        ("full converged", true),
    ] {
        let mut walls = Vec::new();
        let (mut chef_requests, mut chef_writes, mut do_requests, mut do_writes) = (0, 0, 0, 0);
        for i in 0..runs {
            proxy.clear();
            let do_before = fake_do.requests().len();
            let t = Instant::now();
            let report = sync(T0 + 60 * (i as u64 + 1))
                .sync(
                    &src,
                    RunOptions {
                        full,
                        ..RunOptions::default()
                    },
                )
                .await
                .unwrap();
            walls.push(t.elapsed());
            if let SyncReport::Applied { report, .. } = &report {
                assert_eq!(
                    report.writes(),
                    0,
                    "a converged run writes nothing: {report:?}"
                );
            }
            let seen = &fake_do.requests()[do_before..];
            chef_requests = proxy.requests();
            chef_writes = proxy.writes();
            do_requests = seen.len();
            do_writes = seen.iter().filter(|r| r.method != "GET").count();
        }
        walls.sort();
        let total = chef_requests + do_requests;
        println!(
            "{label:<26} HTTP requests {total:>3} (Chef {chef_requests}, DigitalOcean {do_requests}); writes {}; ceil(nodes/1000) = {limit}, constant = {}; wall median {:.1?} (min {:.1?}, max {:.1?}, {runs} runs)",
            chef_writes + do_writes,
            total.saturating_sub(limit),
            walls[walls.len() / 2],
            walls[0],
            walls[walls.len() - 1],
        );
        assert_eq!(chef_writes + do_writes, 0);
        if full {
            let seen = proxy.seen();
            let node_pages = seen.iter().filter(|s| s.path == "/search/node").count();
            println!(
                "  Chef requests: {}",
                seen.iter()
                    .map(|s| format!("{} {}", s.method, s.path))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!("  node search pages: {node_pages}");
        }
    }
}

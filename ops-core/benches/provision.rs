//! Provision benchmark with simulated provider latencies.
//!
//! ```text
//! cargo bench -p ops-workflows --bench provision -- [--boot-secs 20] [--latency-ms 50] [--hosts 50] [--poll-ms 1000]
//! cargo bench -p ops-workflows --bench provision -- --processes 3 --hosts 100 [--time-scale 20] [--boot-secs 20] [--folder-journals]
//! ```
//!
//! With `--processes N` it runs (c) instead: N processes of `--hosts` hosts each against one
//! fake world over HTTP with the providers' per-minute limits on, sharing one rate budget
//! in Postgres, in scaled time — see `support/provision_shared.rs` for how and what it reports.
//!
//! Every port call of the fake world takes `latency`; a droplet is active `boot` after its
//! create call. The provisioner runs with its default rate budgets (DigitalOcean 250/min, Dyn
//! 300/min) and real journal writes (fsync) in a temporary state directory.
//!
//! (a) one host: wall time / boot time — the workflow's own overhead (target ≤ 1.10);
//! (b) a fleet: wall time / one host's wall time (target ≤ 1.5), and the largest number of
//!     calls each provider saw in any 60-second window (must stay ≤ its limit).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

#[path = "../tests/provision_fakes/mod.rs"]
mod provision_fakes;
#[path = "support/provision_shared.rs"]
mod shared;

use std::sync::Arc;
use std::time::Duration;

use ops_core::ports::Service;
use ops_core::provision::{BootstrapConfig, HostSpec, ProvisionConfig, Provisioner};
use provision_fakes::World;
use tokio::time::Instant;

struct Args {
    boot: Duration,
    latency: Duration,
    hosts: usize,
    poll: Duration,
    processes: usize,
    scale: u32,
    folder_journals: bool,
}

fn args() -> Args {
    let mut a = Args {
        boot: Duration::from_secs(20),
        latency: Duration::from_millis(50),
        hosts: 50,
        poll: Duration::from_millis(1000),
        processes: 0,
        scale: 20,
        folder_journals: false,
    };
    let v: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < v.len() {
        let next = v.get(i + 1).and_then(|s| s.parse::<u64>().ok());
        match (v[i].as_str(), next) {
            ("--boot-secs", Some(n)) => a.boot = Duration::from_secs(n),
            ("--latency-ms", Some(n)) => a.latency = Duration::from_millis(n),
            ("--hosts", Some(n)) => a.hosts = n as usize,
            ("--poll-ms", Some(n)) => a.poll = Duration::from_millis(n),
            ("--processes", Some(n)) => a.processes = n as usize,
            ("--time-scale", Some(n)) => a.scale = u32::try_from(n.max(1)).unwrap_or(u32::MAX),
            ("--folder-journals", _) => {
                a.folder_journals = true;
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue; // cargo passes `--bench`
            }
        }
        i += 2;
    }
    a
}

fn spec(name: &str) -> HostSpec {
    HostSpec::from_toml_str(&format!(
        r#"
name = "{name}"
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["ops"]
dns = {{ zone = "example.com" }}
chef = {{ environment = "prod", run_list = ["role[base]"] }}
"#
    ))
    .unwrap()
}

fn max_in_window(times: &[Instant], window: Duration) -> usize {
    let mut best = 0;
    for (i, t) in times.iter().enumerate() {
        let n = times[i..].iter().take_while(|u| **u < *t + window).count();
        best = best.max(n);
    }
    best
}

struct Run {
    wall: Duration,
    ok: usize,
    publishes: usize,
    compute_calls: Vec<Instant>,
    dns_calls: Vec<Instant>,
}

async fn run(a: &Args, n: usize, tag: &str) -> Run {
    let world = Arc::new(World::new().with_latency(a.latency, a.boot));
    // Removed on drop, also when the run panics.
    let tmp = tempfile::Builder::new()
        .prefix(&format!("ops-core-provision-bench-{tag}-"))
        .tempdir()
        .unwrap();
    let dir = tmp.path().join("state");
    let mut cfg = ProvisionConfig::new(
        dir,
        BootstrapConfig::new("https://chef.example.com/organizations/ops"),
    );
    cfg.poll_interval = a.poll;
    let p = Provisioner::new(
        world.clone(),
        world.clone(),
        world.clone(),
        world.clone(),
        cfg,
    );
    let specs: Vec<HostSpec> = (0..n).map(|i| spec(&format!("{tag}-{i:03}"))).collect();
    let t0 = Instant::now();
    let ok = if n == 1 {
        usize::from(p.provision(&specs[0]).await.is_ok())
    } else {
        p.provision_fleet(&specs).await.succeeded()
    };
    let wall = t0.elapsed();
    let calls = world.calls();
    drop(tmp);
    Run {
        wall,
        ok,
        publishes: world.publishes().len(),
        compute_calls: calls
            .iter()
            .filter(|c| c.service == Service::Compute)
            .map(|c| c.at)
            .collect(),
        dns_calls: calls
            .iter()
            .filter(|c| c.service == Service::Dns)
            .map(|c| c.at)
            .collect(),
    }
}

fn main() {
    if shared::is_child() {
        shared::child();
        return;
    }
    let a = args();
    if a.processes > 0 {
        shared::parent(a.processes, a.hosts, a.scale, a.boot, a.folder_journals);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!(
            "provision bench: boot B = {:?}, latency {:?} per call, poll {:?}, fleet of {}",
            a.boot, a.latency, a.poll, a.hosts
        );
        let one = run(&a, 1, "one").await;
        assert_eq!(one.ok, 1);
        let ra = one.wall.as_secs_f64() / a.boot.as_secs_f64();
        println!(
            "(a) one host: wall {:.2} s, wall/B = {ra:.3} (target <= 1.10) -> {}",
            one.wall.as_secs_f64(),
            if ra <= 1.10 { "PASS" } else { "FAIL" }
        );
        let fleet = run(&a, a.hosts, "fleet").await;
        let rb = fleet.wall.as_secs_f64() / one.wall.as_secs_f64();
        let do60 = max_in_window(&fleet.compute_calls, Duration::from_secs(60));
        let dyn60 = max_in_window(&fleet.dns_calls, Duration::from_secs(60));
        let do1 = max_in_window(&fleet.compute_calls, Duration::from_secs(1));
        let dyn1 = max_in_window(&fleet.dns_calls, Duration::from_secs(1));
        let within = do60 <= 250 && dyn60 <= 300;
        println!(
            "(b) {} hosts: {} ok, wall {:.2} s, fleet/one = {rb:.3} (target <= 1.5) -> {}",
            a.hosts,
            fleet.ok,
            fleet.wall.as_secs_f64(),
            if rb <= 1.5 && fleet.ok == a.hosts { "PASS" } else { "FAIL" }
        );
        println!(
            "    DigitalOcean calls: {} total, max {do60} in any 60 s (limit 250), max {do1} in any 1 s",
            fleet.compute_calls.len()
        );
        println!(
            "    Dyn calls: {} total, max {dyn60} in any 60 s (limit 300), max {dyn1} in any 1 s; zone publishes: {}",
            fleet.dns_calls.len(),
            fleet.publishes
        );
        println!("    rate limits respected: {}", if within { "yes" } else { "NO" });
    });
}

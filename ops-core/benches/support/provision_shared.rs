//! `--processes N` of the provision bench (issue #21): N `provision` engines in N
//! **processes** (this bench binary run again as a child), each with its own DigitalOcean
//! and Dyn clients and its own Postgres connection, against **one** fake world: the
//! `digitalocean-client` and `dynect-client` testkit fakes over HTTP on loopback, started
//! by the parent with DigitalOcean's and Dyn's per-minute limits switched on (beyond 250
//! DigitalOcean or 300 Dyn requests in any sliding minute they answer 429, as the real
//! APIs do). The children share one rate budget in a throwaway Postgres cluster
//! ([`ops_core::state::PgStore`], the same one their journals go to); Chef and Nagios are
//! each child's in-process port fakes (no limit to share).
//!
//! **Scaled time.** Three runs of 100 hosts make about 1,500 DigitalOcean calls: at 250 a
//! minute that is six real minutes. With `--time-scale S` (default 20) every window is
//! divided by S — the fakes enforce 250 requests per `60 s / S`, the shared budget's
//! limits are 250 per `60 s / S` and 5,000 per `3600 s / S`, the Dyn client's own limiter
//! 240 per `60 s / S`, and droplets boot in `boot / S` — so the run takes seconds and
//! every ratio (calls per window, 429s, wall time against boot time) is the one a real run
//! would see. `--time-scale 1` runs in real time.
//!
//! `--folder-journals` keeps each child's journals in a temporary folder (only the budget in
//! Postgres), to tell the cost of journal writes over the store's one connection apart.
//!
//! `BENCH_TIMELINE=1` adds, per child, each step's count, mean and longest time and when its
//! first host started and its last finished, and the requests each provider saw per
//! twentieth of the run: which provider (or neither) sets the pace.
//!
//! Reported: the most DigitalOcean and Dyn requests the fakes saw in any window (a scaled
//! minute; limits 250 and 300), how many 429s they answered (target 0), and each child's
//! hosts and wall time.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ops_core::adapters::{DigitalOceanCompute, DnsAdapter, DynDns};
use ops_core::provision::{
    BootstrapConfig, Budgets, ProgressEvent, ProvisionConfig, Provisioner, RateBudget,
};
use ops_core::restore::PgServer;
use ops_core::restore::local::{Cluster, Options};
use ops_core::state::{BudgetKey, Limit, PgStore, StateStore};

use crate::provision_fakes::World;
use crate::spec;

const CHILD: &str = "OPS_PROVISION_BENCH_CHILD";
const TOKEN: &str = "bench-token";

/// The parent: the fakes, the cluster, the children, the figures.
pub(crate) fn parent(
    processes: usize,
    hosts: usize,
    scale: u32,
    boot: Duration,
    folder_journals: bool,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // Removed on drop (also when the bench panics).
    let cluster = Cluster::start(&Options {
        prefix: "ops-core-provision-bench-".into(),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("--processes needs the PostgreSQL server binaries: {e}"));
    let pg = format!(
        "host={} port={} user=postgres dbname=postgres",
        cluster.dir().display(),
        cluster.port()
    );
    let minute = Duration::from_secs(60) / scale;
    let (do_fake, dyn_fake) = rt.block_on(async {
        let d = digitalocean_client::testkit::FakeDigitalOcean::start_with(
            digitalocean_client::testkit::FakeConfig {
                activation_delay: boot / scale,
                token: Some(TOKEN.into()),
                // The hourly count the headers announce; the bench's per-minute limit is
                // the window limit below.
                rate_limit: 1_000_000,
            },
        )
        .await
        .unwrap();
        d.client()
            .unwrap()
            .ssh_keys()
            .create(&digitalocean_client::CreateSshKey {
                name: "ops".into(),
                public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEwkBDBCcFrYmi6SZjqHexYRCofZecv/gkaCEL4JVYvi ops@bastion".into(),
            })
            .await
            .unwrap();
        d.faults().set_window_limit(Some((250, minute)));
        let y = dynect_client::testkit::FakeDyn::start().await.unwrap();
        y.add_zone("example.com");
        y.set_rate_limit(Some((300, minute)));
        (d, y)
    });
    let exe = std::env::current_exe().unwrap();
    let t0 = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|i| {
            Command::new(&exe)
                .env(CHILD, "1")
                .env("BENCH_DO_URL", do_fake.uri())
                .env("BENCH_DYN_URL", dyn_fake.uri())
                .env("BENCH_PG", &pg)
                .env("BENCH_PREFIX", format!("p{i}"))
                .env("BENCH_HOSTS", hosts.to_string())
                .env("BENCH_SCALE", scale.to_string())
                .env(
                    "BENCH_FOLDER_JOURNALS",
                    if folder_journals { "1" } else { "" },
                )
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut lines = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a bench child failed: {out:?}");
        lines.push(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    }
    let wall = t0.elapsed();
    let do_log = do_fake.requests();
    let dyn_log = dyn_fake.requests();
    let do_times: Vec<Instant> = do_log.iter().map(|r| r.at).collect();
    let dyn_times: Vec<Instant> = dyn_log.iter().map(|r| r.at).collect();
    let do429 = do_log.iter().filter(|r| r.status == 429).count();
    let dyn429 = dyn_log.iter().filter(|r| r.status == 429).count();
    let do_max = max_in_window(&do_times, minute);
    let dyn_max = max_in_window(&dyn_times, minute);
    println!(
        "(c) {processes} processes x {hosts} hosts, one fake world, one shared budget in Postgres, \
         journals in {}, time scaled 1/{scale} (a minute is {minute:?}; boot {:?})",
        if folder_journals {
            "each process's folder"
        } else {
            "Postgres"
        },
        boot / scale
    );
    for l in &lines {
        println!("    child: {l}");
    }
    let pass = do_max <= 250 && dyn_max <= 300 && do429 == 0 && dyn429 == 0;
    // The floor of the ops-core README ("Provision at fleet scale"), every run of its own
    // batch (catalog reads and a publish each), in scaled time.
    let per_run_do = 4 + hosts.div_ceil(10) + hosts.div_ceil(200);
    let floor_do = processes * per_run_do;
    let floor_dyn = processes * (hosts + 1);
    let span =
        |k: usize, l: usize| minute * u32::try_from(k.saturating_sub(1) / l).unwrap_or(u32::MAX);
    let t_min = boot / scale + span(floor_do, 250).max(span(floor_dyn, 300));
    let n = (processes * hosts) as f64;
    println!(
        "    DigitalOcean: {} requests, max {do_max} in any scaled minute (limit 250), {do429} answered 429",
        do_log.len()
    );
    println!(
        "    Dyn: {} requests, max {dyn_max} in any scaled minute (limit 300), {dyn429} answered 429",
        dyn_log.len()
    );
    println!(
        "    calls per host: DigitalOcean {:.2} (floor {:.2}), Dyn {:.2} (floor {:.2})",
        do_log.len() as f64 / n,
        floor_do as f64 / n,
        dyn_log.len() as f64 / n,
        floor_dyn as f64 / n
    );
    println!(
        "    wall {:.2} s (= {:.1} real minutes at scale 1); the APIs' floor T_min {:.2} s; wall / T_min = {:.2}",
        wall.as_secs_f64(),
        wall.as_secs_f64() * f64::from(scale) / 60.0,
        t_min.as_secs_f64(),
        wall.as_secs_f64() / t_min.as_secs_f64()
    );
    println!(
        "    limits kept (<= 250 DO and <= 300 Dyn in any scaled minute, no 429) -> {}",
        if pass { "PASS" } else { "FAIL" }
    );
    if std::env::var_os("BENCH_TIMELINE").is_some() {
        // Requests per tenth of the run, to see which provider (or neither) sets the pace.
        let step = wall / 20;
        for k in 0..20u32 {
            let (a, b) = (t0 + step * k, t0 + step * (k + 1));
            let n = |ts: &[Instant]| ts.iter().filter(|t| **t >= a && **t < b).count();
            println!(
                "    {:>6.2} s: DigitalOcean {:>4}, Dyn {:>4}",
                (step * k).as_secs_f64(),
                n(&do_times),
                n(&dyn_times)
            );
        }
    }
    drop(rt);
    drop(cluster);
}

/// The most of `times` in any `window`.
fn max_in_window(times: &[Instant], window: Duration) -> usize {
    let mut t: Vec<Instant> = times.to_vec();
    t.sort();
    let mut best = 0;
    let mut j = 0;
    for i in 0..t.len() {
        while t[i].duration_since(t[j]) >= window {
            j += 1;
        }
        best = best.max(i + 1 - j);
    }
    best
}

/// Whether this process is a child of [`parent`].
pub(crate) fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// A child: one provision engine of `BENCH_HOSTS` hosts; prints one line.
pub(crate) fn child() {
    let var = |k: &str| std::env::var(k).unwrap();
    let hosts: usize = var("BENCH_HOSTS").parse().unwrap();
    let scale: u32 = var("BENCH_SCALE").parse().unwrap();
    let prefix = var("BENCH_PREFIX");
    let minute = Duration::from_secs(60) / scale;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store: Arc<dyn StateStore> = Arc::new(
            PgStore::connect(&PgServer::new(var("BENCH_PG")).unwrap())
                .await
                .unwrap(),
        );
        let do_client = digitalocean_client::Client::builder(TOKEN.to_owned())
            .base_url(var("BENCH_DO_URL"))
            .build()
            .unwrap();
        let dyn_client = dynect_client::Client::builder(
            dynect_client::testkit::FakeDyn::CUSTOMER,
            dynect_client::testkit::FakeDyn::USER,
            dynect_client::testkit::FakeDyn::PASSWORD.to_owned(),
        )
        .base_url(var("BENCH_DYN_URL"))
        .rate_limit_per_minute(ops_core::adapters::DYN_RATE_LIMIT_PER_MINUTE * scale)
        .build()
        .unwrap();
        let dns = DnsAdapter::from(DynDns::new(dyn_client.clone()));
        // What `Budgets::for_providers` builds, with every window scaled.
        let scaled = |limits: &[Limit]| -> Vec<Limit> {
            limits
                .iter()
                .map(|l| Limit {
                    requests: l.requests,
                    per: l.per / scale,
                })
                .collect()
        };
        use secrecy::ExposeSecret as _;
        let c = do_client.clone();
        let compute = RateBudget::per_minute("digitalocean", 250 * scale)
            .with_server_hint(Arc::new(move || {
                let rl = c.last_rate_limit()?;
                (rl.remaining == 0).then(|| rl.reset_at())
            }))
            .shared(
                store.clone(),
                BudgetKey::new("digitalocean", do_client.token().expose_secret().as_bytes()),
                &scaled(&Limit::DIGITALOCEAN),
            );
        let dyn_budget = RateBudget::unlimited("dyn").shared(
            store.clone(),
            BudgetKey::new("dyn", dyn_client.customer_name().as_bytes()),
            &scaled(&[Limit {
                requests: ops_core::adapters::DYN_RATE_LIMIT_PER_MINUTE,
                per: Duration::from_secs(60),
            }]),
        );
        let budgets = Budgets {
            compute: Arc::new(compute),
            dns: Arc::new(dyn_budget),
            ..Budgets::default()
        };
        let world = Arc::new(World::new());
        for i in 0..hosts {
            world.set_host_up(&format!("{prefix}-{i:03}"));
        }
        let tmp = tempfile::Builder::new()
            .prefix("ops-core-provision-bench-child-")
            .tempdir()
            .unwrap();
        let mut cfg = ProvisionConfig::new(
            tmp.path().join("state"),
            BootstrapConfig::new("https://chef.example.com/organizations/ops"),
        );
        // `--folder-journals`: journals in each child's folder, only the budget in Postgres
        // (to tell the cost of journal writes over one connection from the rest).
        if var("BENCH_FOLDER_JOURNALS").is_empty() {
            cfg.state_store = Some(store.clone());
        }
        cfg.poll_interval = Duration::from_secs(5) / scale;
        cfg.adopt_delay = Duration::from_secs(2) / scale;
        // One publish per zone per batch (issue #21): a host with its records waits for the
        // whole batch (ten minutes at most) instead of the default 20 s.
        cfg.publish_linger = Duration::from_secs(600) / scale;
        cfg.active_timeout = Duration::from_secs(600);
        let p = Provisioner::new(
            Arc::new(DigitalOceanCompute::new(do_client)),
            Arc::new(dns),
            world.clone(),
            world,
            cfg,
        )
        .with_budgets(budgets);
        // BENCH_TIMELINE: per step, how many hosts ran it, the sum and the most of its
        // times, and when the first started and the last finished (seconds from the start).
        let profile: Arc<std::sync::Mutex<std::collections::BTreeMap<String, StepProfile>>> =
            Arc::default();
        let t_start = Instant::now();
        let p = if std::env::var_os("BENCH_TIMELINE").is_some() {
            let prof = profile.clone();
            p.with_progress(Arc::new(move |ev: &ProgressEvent| {
                let now = t_start.elapsed().as_secs_f64();
                let mut m = prof.lock().unwrap();
                match ev {
                    ProgressEvent::StepStarted { step, .. } => {
                        let e = m.entry(step.to_string()).or_default();
                        e.first = e.first.min(now);
                    }
                    ProgressEvent::StepDone { step, elapsed, .. } => {
                        let e = m.entry(step.to_string()).or_default();
                        e.n += 1;
                        e.sum += elapsed.as_secs_f64();
                        e.max = e.max.max(elapsed.as_secs_f64());
                        e.last = e.last.max(now);
                    }
                    _ => {}
                }
            }))
        } else {
            p
        };
        let specs: Vec<_> = (0..hosts)
            .map(|i| spec(&format!("{prefix}-{i:03}")))
            .collect();
        let t0 = Instant::now();
        let report = p.provision_fleet(&specs).await;
        let wall = t0.elapsed();
        let failed: Vec<String> = report
            .hosts
            .iter()
            .filter(|h| !h.is_ok())
            .map(|h| format!("{}: {:?}", h.name, h.result.as_ref().err()))
            .take(3)
            .collect();
        println!(
            "{prefix}: {} of {hosts} hosts ok, {} zone publish(es), wall {:.2} s ({:.1} scaled minutes){}{}",
            report.succeeded(),
            report.publishes,
            wall.as_secs_f64(),
            wall.as_secs_f64() / minute.as_secs_f64(),
            if failed.is_empty() { "" } else { "; failed: " },
            failed.join("; ")
        );
        for (step, e) in profile.lock().unwrap().iter() {
            println!(
                "    {prefix} step {step:<16} {:>5} hosts, mean {:>7.1} ms, max {:>7.1} ms, first start {:>6.2} s, last done {:>6.2} s",
                e.n,
                e.sum * 1e3 / e.n.max(1) as f64,
                e.max * 1e3,
                e.first,
                e.last
            );
        }
        drop(tmp);
    });
}

/// One step's figures in a child's `BENCH_TIMELINE` profile.
struct StepProfile {
    n: usize,
    sum: f64,
    max: f64,
    first: f64,
    last: f64,
}

impl Default for StepProfile {
    fn default() -> Self {
        StepProfile {
            n: 0,
            sum: 0.0,
            max: 0.0,
            first: f64::MAX,
            last: 0.0,
        }
    }
}

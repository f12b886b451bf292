//! Provision workflow tests over recording, fault-injecting fakes of the ports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::provision_fakes;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ops_core::Error;
use ops_core::ports::{PortErrorKind, RecordType};
use ops_core::provision::audit::AuditScope;
use ops_core::provision::spec::check_hostname;
use ops_core::provision::{
    BootstrapConfig, FleetSpec, HostSpec, JournalStore, ProgressEvent, ProvisionConfig,
    Provisioner, RunStatus, Step, TeardownTarget, UndoOutcome,
};
use provision_fakes::{Fault, Injection, SECRET_MARK, World};

type P = Provisioner;

/// A temporary directory (removed on drop, also when the test fails) and the state
/// directory inside it (created by the first journal write, as in real use).
fn temp_dir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::Builder::new()
        .prefix("ops-core-provision-test-")
        .tempdir()
        .unwrap();
    let d = t.path().join("state");
    (t, d)
}

fn spec(name: &str) -> HostSpec {
    HostSpec::from_toml_str(&format!(
        r#"
name = "{name}"
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["ops"]
tags = ["web"]
dns = {{ zone = "example.com", ttl = 300 }}
chef = {{ environment = "prod", run_list = ["role[base]", "recipe[nginx]"] }}
"#
    ))
    .unwrap()
}

fn config(dir: PathBuf) -> ProvisionConfig {
    let mut c = ProvisionConfig::new(
        dir,
        BootstrapConfig::new("https://chef.example.com/organizations/ops"),
    );
    c.poll_interval = Duration::from_millis(10);
    c.active_timeout = Duration::from_secs(3);
    c.adopt_delay = Duration::from_millis(5);
    // A short adopt window (each lookup also draws on the rate budget): the lag tests below
    // use the default one on paused time.
    c.adopt_lookups = 3;
    c.publish_linger = Duration::from_millis(300);
    c.monitoring_poll = Duration::from_millis(10);
    c.monitoring_timeout = Duration::from_millis(150);
    c
}

struct Env {
    world: Arc<World>,
    p: P,
    dir: PathBuf,
    events: Arc<Mutex<Vec<ProgressEvent>>>,
    _tmp: tempfile::TempDir,
}

fn env_with(world: World, f: impl FnOnce(&mut ProvisionConfig)) -> Env {
    let world = Arc::new(world);
    let (tmp, dir) = temp_dir();
    let mut c = config(dir.clone());
    f(&mut c);
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev2 = events.clone();
    let p = Provisioner::new(
        world.clone(),
        world.clone(),
        world.clone(),
        world.clone(),
        c,
    )
    .with_progress(Arc::new(move |e: &ProgressEvent| {
        ev2.lock().unwrap().push(e.clone())
    }));
    Env {
        world,
        p,
        dir,
        events,
        _tmp: tmp,
    }
}

fn env() -> Env {
    env_with(World::new(), |_| {})
}

fn journal_text(dir: &PathBuf) -> String {
    let mut s = String::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            s.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    s
}

fn assert_no_secret(e: &Env) {
    assert!(
        !journal_text(&e.dir).contains(SECRET_MARK),
        "secret in journal"
    );
    let events = format!("{:?}", e.events.lock().unwrap());
    assert!(!events.contains(SECRET_MARK), "secret in progress events");
    assert!(!events.contains("BEGIN RSA"), "key in progress events");
}

async fn only_run(dir: &std::path::Path) -> String {
    let js = JournalStore::new(dir.to_path_buf()).list().await.unwrap();
    assert_eq!(js.len(), 1, "expected one journal");
    js[0].run_id.clone()
}

// ------------------------------------------------------------------------------------------
// happy path
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn provisions_one_host_end_to_end() {
    let e = env();
    let out = e.p.provision(&spec("web-01")).await;
    let rep = out.result.expect("provisioned");
    assert_eq!(rep.fqdn, "web-01.example.com");
    assert!(!rep.adopted);

    let ds = e.world.droplets();
    assert_eq!(ds.len(), 1);
    let d = &ds[0];
    assert_eq!(d.d.name, "web-01");
    assert!(d.d.tags.contains(&"ops-core".to_string()));
    assert!(d.d.tags.contains(&format!("ops-run:{}", rep.run_id)));
    assert!(d.d.tags.contains(&"web".to_string()));
    let ud = d.user_data.clone().unwrap();
    assert!(ud.starts_with("#cloud-config\n"));
    assert!(
        ud.contains(SECRET_MARK),
        "the client key travels in user data"
    );
    assert!(ud.contains("/etc/chef/client.pem"));
    assert!(ud.contains("chef_server_url 'https://chef.example.com/organizations/ops'"));
    assert!(ud.contains("node_name 'web-01'"));
    assert!(
        ud.contains(r#"{\"run_list\":[\"role[base]\",\"recipe[nginx]\"]}"#)
            || ud.contains(r#"{"run_list":["role[base]","recipe[nginx]"]}"#)
    );
    assert!(ud.contains("chef-client -j /etc/chef/first-boot.json -E 'prod'"));

    assert_eq!(e.world.nodes(), vec!["web-01"]);
    assert_eq!(e.world.clients(), vec!["web-01"]);
    let recs = e.world.records();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].rtype, RecordType::A);
    assert_eq!(recs[0].ttl, Some(300));
    assert_eq!(
        Some(recs[0].data.clone()),
        rep.addresses.ipv4.map(|a| a.to_string())
    );
    assert_eq!(e.world.publishes(), vec!["example.com"]);

    let j = JournalStore::new(e.dir.clone())
        .load(&rep.run_id)
        .await
        .unwrap();
    assert_eq!(j.status, RunStatus::Succeeded);
    assert_eq!(j.ssh_key_ids, vec![11]);
    assert_eq!(j.resources.droplet.as_ref().unwrap().id, d.d.id);
    assert!(Step::ALL[..7].iter().all(|s| j.is_done(*s)));
    assert!(j.is_done(Step::WaitMonitoring), "skipped counts as done");
    // every write happens after validation's reads
    let calls = e.world.calls();
    let first_write = calls.iter().position(|c| c.write).unwrap();
    assert!(calls[..first_write].iter().any(|c| c.op == "owns_zone"));
    assert_no_secret(&e);
}

#[tokio::test]
async fn ipv6_and_monitoring_wait() {
    let e = env();
    e.world.set_host_up("web-06");
    let mut s = spec("web-06");
    s.ipv6 = true;
    s.wait_for_monitoring = true;
    let rep = e.p.provision(&s).await.result.expect("ok");
    assert!(rep.addresses.ipv6.is_some());
    let types: Vec<_> = e.world.records().into_iter().map(|r| r.rtype).collect();
    assert_eq!(types, vec![RecordType::A, RecordType::AAAA]);
    assert!(e.world.count("host_state") >= 1);
}

#[tokio::test]
async fn dns_without_publish_skips_the_publish_step() {
    let mut w = World::new();
    w.needs_publish = false;
    let e = env_with(w, |_| {});
    let rep = e.p.provision(&spec("web-02")).await.result.expect("ok");
    assert_eq!(e.world.count("publish"), 0);
    let j = JournalStore::new(e.dir.clone())
        .load(&rep.run_id)
        .await
        .unwrap();
    assert_eq!(
        j.step(Step::PublishZone).unwrap().state,
        ops_core::provision::journal::StepState::Skipped
    );
}

// ------------------------------------------------------------------------------------------
// validation and dry run
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn validation_reports_every_problem_and_writes_nothing() {
    let e = env();
    e.world.add_droplet("web-01", &[], None);
    e.world.add_record(
        "web-01.example.com",
        RecordType::CNAME,
        "elsewhere.example.net",
    );
    e.world.add_node("web-01");
    let mut s = spec("web-01");
    s.region = "ams3".into(); // not available
    s.ssh_keys = vec!["ops".into(), "missing".into(), "dup".into()];
    let out = e.p.provision(&s).await;
    let f = out.result.expect_err("must fail");
    assert_eq!(f.step, Step::Validate);
    let Error::Step { source, .. } = &f.error else {
        panic!("{:?}", f.error)
    };
    let Error::Validation { problems, .. } = source.as_ref() else {
        panic!("{source:?}")
    };
    let all = problems.join("\n");
    for needle in [
        "region `ams3` is not available",
        "size `s-1vcpu-1gb` is not offered in region `ams3`",
        "ssh key `missing` not found",
        "ssh key name `dup` matches 2 keys",
        "a droplet named `web-01` already exists",
        "already has a CNAME record",
        "Chef node `web-01` already exists",
    ] {
        assert!(all.contains(needle), "missing `{needle}` in:\n{all}");
    }
    assert!(
        e.world.writes().is_empty(),
        "no write before validation passes"
    );
}

#[tokio::test]
async fn static_checks() {
    assert!(check_hostname("web-01").is_ok());
    assert!(check_hostname("db.internal").is_ok());
    for bad in ["", "Web", "web_01", "-web", "web-", "a..b", &"a".repeat(64)] {
        assert!(check_hostname(bad).is_err(), "{bad}");
    }
    let mut s = spec("web-01");
    s.tags = vec!["ops-run:x".into(), "bad tag".into()];
    s.ssh_keys.clear();
    s.chef.run_list = vec!["nginx".into()];
    s.dns.zone = "localhost".into();
    let p = s.check().join("\n");
    for needle in [
        "reserved",
        "bad tag",
        "ssh_keys",
        "recipe[name]",
        "not a domain",
    ] {
        assert!(p.contains(needle), "{needle} in {p}");
    }
}

#[tokio::test]
async fn unknown_zone_is_refused() {
    let e = env();
    let mut s = spec("web-01");
    s.dns.zone = "example.org".into();
    let f = e.p.provision(&s).await.result.expect_err("fails");
    assert!(ops_core_chain(&f.error).contains("not managed by this account"));
    assert!(e.world.writes().is_empty());
}

fn ops_core_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut c = e.source();
    while let Some(x) = c {
        s.push_str(": ");
        s.push_str(&x.to_string());
        c = x.source();
    }
    s
}

#[tokio::test]
async fn dry_run_lists_writes_and_makes_none() {
    let e = env();
    e.world.add_node("web-03");
    let specs = vec![spec("web-01"), spec("web-02"), spec("web-03")];
    let plan = e.p.plan(&specs).await.unwrap();
    assert!(
        e.world.writes().is_empty(),
        "dry run wrote: {:?}",
        e.world.writes()
    );
    assert!(
        JournalStore::new(e.dir.clone())
            .list()
            .await
            .unwrap()
            .is_empty(),
        "no journal"
    );
    assert!(!plan.is_valid());
    assert!(
        plan.hosts[2]
            .problems
            .iter()
            .any(|p| p.contains("Chef node `web-03` already exists"))
    );
    assert!(plan.hosts[0].problems.is_empty());
    let text = plan.to_string();
    assert!(text.contains("create client web-01"));
    assert!(
        text.contains("create node web-01 environment=prod run_list=[role[base], recipe[nginx]]")
    );
    assert!(text.contains(
        "create droplet web-01 region=nyc3 size=s-1vcpu-1gb image=ubuntu-24-04-x64 ssh_keys=[11]"
    ));
    assert!(text.contains("ops-run:<new run id>"));
    assert!(text.contains("create A web-01.example.com"));
    assert_eq!(plan.publishes.len(), 1, "one publish for the batch");
    assert!(plan.publishes[0].action.contains("once, for 3 host(s)"));
    assert_eq!(plan.writes().count(), 3 * 4 + 1);
    assert!(!text.contains(SECRET_MARK));
    // fleet validation lists the zone and the droplets once, not per host
    assert_eq!(e.world.count("droplets"), 1);
    assert_eq!(e.world.count("records"), 1);
    assert_eq!(e.world.count("ssh_keys"), 1);
}

// ------------------------------------------------------------------------------------------
// failure at each step → rollback
// ------------------------------------------------------------------------------------------

async fn fail_at(op: &'static str, fault: Fault, expect_step: Step, monitoring: bool) {
    let e = env();
    if monitoring {
        // never UP → times out
    }
    e.world.inject(Injection::new(op, fault).times(100));
    let mut s = spec("web-01");
    s.wait_for_monitoring = monitoring;
    let out = e.p.provision(&s).await;
    let f = out.result.expect_err("must fail");
    assert_eq!(f.step, expect_step, "{op}: {}", ops_core_chain(&f.error));
    let rb = f.rollback.expect("rolled back");
    assert!(rb.complete(), "{op}: {rb:?}");
    assert!(
        e.world.is_empty_of_resources(),
        "{op}: leftovers: droplets {:?} nodes {:?} clients {:?} records {:?}",
        e.world.droplets().len(),
        e.world.nodes(),
        e.world.clients(),
        e.world.records()
    );
    // exactly what was undone, in reverse creation order
    let undone: Vec<String> = rb
        .actions
        .iter()
        .filter(|a| a.outcome == UndoOutcome::Removed)
        .map(|a| {
            let w: Vec<&str> = a.resource.split_whitespace().collect();
            if w[0] == "droplet" {
                "droplet".to_string()
            } else {
                w[..2].join(" ")
            }
        })
        .collect();
    let expected: Vec<&str> = match expect_step {
        Step::Validate | Step::ChefClient => vec![],
        Step::ChefNode => vec!["chef client"],
        Step::Vpc | Step::Volumes | Step::CreateDroplet => vec!["chef node", "chef client"],
        Step::WaitActive
        | Step::Firewalls
        | Step::ReservedIp
        | Step::Alerts
        | Step::Project
        | Step::DnsRecords => {
            vec!["droplet", "chef node", "chef client"]
        }
        Step::PublishZone | Step::WaitMonitoring => {
            if op == "publish" {
                // the removal publish fails as well: reported, not hidden
                vec!["dns A", "droplet", "chef node", "chef client"]
            } else {
                vec![
                    "dns A",
                    "dns publish",
                    "droplet",
                    "chef node",
                    "chef client",
                ]
            }
        }
    };
    if op != "publish" {
        assert_eq!(undone, expected, "{op}");
    }
    let j = JournalStore::new(e.dir.clone())
        .load(&out.run_id.unwrap())
        .await
        .unwrap();
    assert_eq!(
        j.step(expect_step).unwrap().state,
        ops_core::provision::journal::StepState::Failed
    );
    assert!(j.resources.is_empty());
    assert_eq!(j.rollback.as_ref(), Some(&rb));
    assert_no_secret(&e);
}

#[tokio::test]
async fn fail_at_each_step_rolls_back() {
    fail_at("ssh_keys", Fault::Reject, Step::Validate, false).await;
    fail_at("create_client", Fault::Reject, Step::ChefClient, false).await;
    fail_at("create_node", Fault::Reject, Step::ChefNode, false).await;
    fail_at("create_droplet", Fault::Reject, Step::CreateDroplet, false).await;
    fail_at("get_droplet", Fault::Reject, Step::WaitActive, false).await;
    fail_at("create_record", Fault::Reject, Step::DnsRecords, false).await;
    fail_at("host_state", Fault::Reject, Step::WaitMonitoring, true).await;
}

#[tokio::test]
async fn publish_failure_rolls_back_and_reports_what_could_not_be_undone() {
    let e = env();
    e.world
        .inject(Injection::new("publish", Fault::Reject).times(100));
    let f =
        e.p.provision(&spec("web-01"))
            .await
            .result
            .expect_err("fails");
    assert_eq!(f.step, Step::PublishZone);
    let rb = f.rollback.unwrap();
    assert!(!rb.complete(), "the removal publish failed too");
    let failed: Vec<_> = rb
        .actions
        .iter()
        .filter(|a| matches!(a.outcome, UndoOutcome::Failed(_)))
        .map(|a| a.resource.clone())
        .collect();
    assert_eq!(failed, vec!["dns publish example.com"]);
    assert!(
        e.world.droplets().is_empty() && e.world.nodes().is_empty() && e.world.records().is_empty()
    );
    let j = JournalStore::new(e.dir.clone())
        .list()
        .await
        .unwrap()
        .remove(0);
    assert_eq!(j.status, RunStatus::RollbackIncomplete);
    assert_eq!(j.resources.unpublished_zone.as_deref(), Some("example.com"));

    // Issue #17: `--resume` of that run used to be refused as "rolled back". It finishes the
    // rollback instead: the removals are published now, and the run is rolled back.
    e.world.clear_injections();
    let publishes = e.world.state.lock().unwrap().publishes.len();
    let again = e.p.resume(&j.run_id).await;
    let f = again
        .result
        .expect_err("a rolled-back run is not provisioned again");
    assert!(
        ops_core_chain(&f.error).contains("rollback is now finished"),
        "{:?}",
        f.error
    );
    assert!(f.rollback.as_ref().unwrap().complete(), "{:?}", f.rollback);
    assert_eq!(e.world.state.lock().unwrap().publishes.len(), publishes + 1);
    let j = JournalStore::new(e.dir.clone())
        .load(&j.run_id)
        .await
        .unwrap();
    assert_eq!(j.status, RunStatus::RolledBack);
    assert!(j.resources.unpublished_zone.is_none());
    // A new run of the same host is not refused.
    assert!(e.p.provision(&spec("web-01")).await.result.is_ok());
}

#[tokio::test]
async fn wait_active_times_out_and_rolls_back() {
    let w = World::new().with_latency(Duration::ZERO, Duration::from_secs(60));
    let e = env_with(w, |c| c.active_timeout = Duration::from_millis(100));
    let f =
        e.p.provision(&spec("web-01"))
            .await
            .result
            .expect_err("fails");
    assert_eq!(f.step, Step::WaitActive);
    assert!(
        matches!(f.error, Error::Step { ref source, .. } if matches!(**source, Error::Timeout { .. }))
    );
    assert!(e.world.is_empty_of_resources());
    let waits = e
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|ev| matches!(ev, ProgressEvent::Waiting { .. }))
        .count();
    assert!(waits >= 3, "visible progress while waiting");
}

#[tokio::test]
async fn keep_on_failure_keeps_then_resume_finishes() {
    let e = env_with(World::new(), |c| c.keep_on_failure = true);
    e.world
        .inject(Injection::new("create_record", Fault::Reject));
    let out = e.p.provision(&spec("web-01")).await;
    let f = out.result.expect_err("fails");
    assert!(f.rollback.is_none());
    assert!(f.kept.droplet.is_some() && f.kept.chef_node.is_some() && f.kept.chef_client.is_some());
    assert_eq!(e.world.droplets().len(), 1);
    let run = out.run_id.unwrap();
    let j = JournalStore::new(e.dir.clone()).load(&run).await.unwrap();
    assert_eq!(j.status, RunStatus::Failed);

    let rep = e.p.resume(&run).await.result.expect("resumed");
    assert_eq!(e.world.droplets().len(), 1, "no second droplet");
    assert_eq!(e.world.count("create_droplet"), 1);
    assert_eq!(
        e.world.count("create_client"),
        1,
        "the key is not needed any more"
    );
    assert_eq!(e.world.records().len(), 1);
    assert_eq!(rep.run_id, run);
    // resuming a finished run is a no-op
    let before = e.world.calls().len();
    assert!(e.p.resume(&run).await.result.is_ok());
    assert_eq!(e.world.calls().len(), before);
}

#[tokio::test]
async fn kept_run_can_be_rolled_back_later() {
    let e = env_with(World::new(), |c| c.keep_on_failure = true);
    e.world.inject(Injection::new("publish", Fault::Reject));
    let out = e.p.provision(&spec("web-01")).await;
    assert!(out.result.is_err());
    let run = out.run_id.clone().unwrap();
    // The dry run shows the same removal plan the rollback then carries out, with no write.
    let writes = e.world.writes().len();
    let plan = e.p.rollback_plan(&run).await.unwrap();
    let dry = e.p.rollback_dry_run(&run).await.unwrap();
    assert_eq!(e.world.writes().len(), writes, "dry run writes nothing");
    assert!(
        dry.actions
            .iter()
            .all(|a| a.outcome == UndoOutcome::WouldRemove),
        "{dry:?}"
    );
    let planned: Vec<String> = plan.items.iter().map(|i| i.resource()).collect();
    assert_eq!(
        planned,
        dry.actions
            .iter()
            .map(|a| a.resource.clone())
            .collect::<Vec<_>>()
    );
    let rb = e.p.rollback(&run).await.unwrap();
    assert!(rb.complete(), "{rb:?}");
    assert_eq!(
        rb.actions
            .iter()
            .map(|a| a.resource.clone())
            .collect::<Vec<_>>(),
        planned,
        "the rollback carried out the plan the dry run showed"
    );
    assert!(e.world.is_empty_of_resources());
    let again = e.p.resume(&out.run_id.unwrap()).await;
    let f = again.result.expect_err("rolled-back runs are not resumed");
    assert!(ops_core_chain(&f.error).contains("rolled back"));
}

// ------------------------------------------------------------------------------------------
// crash after step k, then resume
// ------------------------------------------------------------------------------------------

/// Runs until the process "crashes" inside `op` (the future is dropped), then resumes.
async fn crash_then_resume(op: &'static str, fault: Fault, monitoring: bool) {
    let e = env();
    let mut s = spec("web-01");
    s.wait_for_monitoring = monitoring;
    if monitoring {
        e.world.set_host_up("web-01");
    }
    e.world.inject(Injection::new(op, fault));
    e.world.run_until_hung(1, e.p.provision(&s)).await;
    let run = only_run(&e.dir).await;
    let before = JournalStore::new(e.dir.clone()).load(&run).await.unwrap();
    assert_eq!(before.status, RunStatus::InProgress);
    e.world.clear_injections();

    let out = e.p.resume(&run).await;
    let rep = out
        .result
        .unwrap_or_else(|f| panic!("{op}/{fault:?}: {}", ops_core_chain(&f.error)));
    assert_eq!(rep.run_id, run);
    {
        let st = e.world.state.lock().unwrap();
        assert_eq!(st.droplets.len(), 1, "{op}/{fault:?}: exactly one droplet");
        assert_eq!(
            st.created_names.len(),
            1,
            "{op}/{fault:?}: never created twice"
        );
        assert_eq!(st.nodes.len(), 1);
        assert_eq!(st.clients.len(), 1);
        assert_eq!(st.records.len(), 1, "{op}/{fault:?}: one A record");
        // the droplet's user data carries the key of the client that exists now
        let d = st.droplets.values().next().unwrap();
        let key = st.clients.get("web-01").unwrap();
        assert!(
            d.user_data
                .as_ref()
                .unwrap()
                .contains(key.lines().nth(1).unwrap()),
            "{op}/{fault:?}: stale key in user data"
        );
    }
    let j = JournalStore::new(e.dir.clone()).load(&run).await.unwrap();
    assert_eq!(j.status, RunStatus::Succeeded);
    assert_no_secret(&e);
}

#[tokio::test]
async fn crash_after_each_step_then_resume() {
    // crash inside step k+1, before its write reached the provider
    crash_then_resume("create_client", Fault::HangBefore, false).await;
    crash_then_resume("create_node", Fault::HangBefore, false).await;
    crash_then_resume("create_droplet", Fault::HangBefore, false).await;
    crash_then_resume("get_droplet", Fault::HangBefore, false).await;
    crash_then_resume("create_record", Fault::HangBefore, false).await;
    crash_then_resume("publish", Fault::HangBefore, false).await;
    crash_then_resume("host_state", Fault::HangBefore, true).await;
}

#[tokio::test]
async fn crash_after_the_write_reached_the_provider_then_resume_adopts() {
    crash_then_resume("create_client", Fault::HangAfter, false).await;
    crash_then_resume("create_node", Fault::HangAfter, false).await;
    crash_then_resume("create_droplet", Fault::HangAfter, false).await;
    crash_then_resume("create_record", Fault::HangAfter, false).await;
    crash_then_resume("publish", Fault::HangAfter, false).await;
}

#[tokio::test]
async fn resume_revalidates_against_new_claims() {
    let e = env();
    e.world
        .inject(Injection::new("create_record", Fault::HangBefore));
    e.world
        .run_until_hung(1, e.p.provision(&spec("web-01")))
        .await;
    let run = only_run(&e.dir).await;
    e.world.clear_injections();
    e.world
        .add_record("web-01.example.com", RecordType::A, "198.51.100.9");
    let f =
        e.p.resume(&run)
            .await
            .result
            .expect_err("someone else took the name");
    assert_eq!(f.step, Step::Validate);
    assert!(ops_core_chain(&f.error).contains("already has a A record -> 198.51.100.9"));
    assert_eq!(
        e.world.droplets().len(),
        1,
        "kept for the operator, not rolled back"
    );
    let j = JournalStore::new(e.dir.clone()).load(&run).await.unwrap();
    assert_eq!(j.status, RunStatus::Failed);
    // resuming again while the claim persists still keeps everything
    let f = e.p.resume(&run).await.result.expect_err("still claimed");
    assert_eq!(f.step, Step::Validate);
    assert!(f.rollback.is_none());
    assert_eq!(e.world.droplets().len(), 1);
    assert_eq!(e.world.nodes().len(), 1);
}

// ------------------------------------------------------------------------------------------
// duplicate-safe create
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn ambiguous_create_then_adopt() {
    let e = env();
    e.world
        .inject(Injection::new("create_droplet", Fault::AmbiguousApplied));
    let rep =
        e.p.provision(&spec("web-01"))
            .await
            .result
            .expect("adopted");
    assert!(rep.adopted);
    assert_eq!(e.world.droplets().len(), 1);
    assert_eq!(e.world.count("create_droplet"), 1, "not created again");
    assert!(e.events.lock().unwrap().iter().any(|ev| matches!(ev, ProgressEvent::Adopted { resource, .. } if resource.contains("found by run tag"))));
}

#[tokio::test]
async fn ambiguous_create_that_did_not_happen_is_retried() {
    let e = env();
    e.world
        .inject(Injection::new("create_droplet", Fault::AmbiguousNotApplied).times(2));
    let rep =
        e.p.provision(&spec("web-01"))
            .await
            .result
            .expect("third attempt");
    assert!(!rep.adopted);
    assert_eq!(e.world.count("create_droplet"), 3);
    assert_eq!(e.world.droplets().len(), 1);
}

#[tokio::test]
async fn ambiguous_create_with_a_lagging_listing_still_adopts() {
    let mut w = World::new();
    w.list_lag = Duration::from_millis(12);
    let e = env_with(w, |c| c.adopt_delay = Duration::from_millis(10));
    e.world
        .inject(Injection::new("create_droplet", Fault::AmbiguousApplied));
    let rep =
        e.p.provision(&spec("web-01"))
            .await
            .result
            .expect("adopted");
    assert!(rep.adopted);
    assert_eq!(e.world.count("create_droplet"), 1);
}

#[tokio::test]
async fn no_droplet_is_ever_created_twice_under_injected_create_timeouts() {
    // Every pattern of "timed out after/before the server processed it" on the first two
    // attempts, for a fleet of hosts at once.
    let patterns = [
        vec![Fault::AmbiguousApplied],
        vec![Fault::AmbiguousNotApplied, Fault::AmbiguousApplied],
        vec![Fault::AmbiguousNotApplied, Fault::AmbiguousNotApplied],
        // (A 429 on a create is retried by the client, per its policy; one that reaches the
        // workflow fails the host before anything is made.)
        vec![
            Fault::AmbiguousNotApplied,
            Fault::AmbiguousNotApplied,
            Fault::AmbiguousApplied,
        ],
    ];
    for (i, pat) in patterns.iter().enumerate() {
        let e = env();
        let names: Vec<String> = (0..6).map(|n| format!("h{i}-{n}")).collect();
        for n in &names {
            for (k, f) in pat.iter().enumerate() {
                e.world
                    .inject(Injection::new("create_droplet", *f).key(n).skip(k));
            }
        }
        let specs: Vec<HostSpec> = names.iter().map(|n| spec(n)).collect();
        let rep = e.p.provision_fleet(&specs).await;
        assert_eq!(rep.succeeded(), names.len(), "pattern {pat:?}");
        let st = e.world.state.lock().unwrap();
        for n in &names {
            let created = st.created_names.iter().filter(|c| *c == n).count();
            assert_eq!(created, 1, "pattern {pat:?}: {n} created {created} times");
        }
        assert_eq!(st.droplets.len(), names.len());
    }
}

// ------------------------------------------------------------------------------------------
// fleets
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn fleet_partial_failure_does_not_abort_or_orphan_others() {
    let e = env();
    e.world.inject(
        Injection::new("create_droplet", Fault::Reject)
            .key("web-03")
            .times(10),
    );
    let specs: Vec<HostSpec> = (1..=6).map(|n| spec(&format!("web-{n:02}"))).collect();
    let rep = e.p.provision_fleet(&specs).await;
    assert_eq!(rep.hosts.len(), 6);
    assert_eq!(rep.succeeded(), 5);
    let names: Vec<_> = rep.hosts.iter().map(|h| h.name.clone()).collect();
    assert_eq!(
        names,
        specs.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "spec order"
    );
    let bad = rep.hosts.iter().find(|h| !h.is_ok()).unwrap();
    assert_eq!(bad.name, "web-03");
    let f = bad.result.as_ref().unwrap_err();
    assert_eq!(f.step, Step::CreateDroplet);
    assert!(f.rollback.as_ref().unwrap().complete());
    assert_eq!(e.world.droplets().len(), 5);
    assert!(!e.world.nodes().contains(&"web-03".to_string()));
    assert!(!e.world.clients().contains(&"web-03".to_string()));
    assert_eq!(e.world.records().len(), 5);
    assert_eq!(rep.publishes, 1);
    assert_eq!(e.world.publishes().len(), 1, "one publish for the batch");
    // droplets carry the batch tag, and the batch is polled as a whole
    let batch_tag = format!("ops-batch:{}", rep.batch_id.clone().unwrap());
    assert!(
        e.world
            .droplets()
            .iter()
            .all(|d| d.d.tags.contains(&batch_tag))
    );
    assert!(
        e.world.count("get_droplet") <= 2,
        "status comes from the batch listing"
    );
}

#[tokio::test]
async fn fleet_with_concurrency_one_still_publishes_once() {
    let e = env_with(World::new(), |c| c.concurrency = 1);
    let specs: Vec<HostSpec> = (1..=4).map(|n| spec(&format!("app-{n}"))).collect();
    let rep = e.p.provision_fleet(&specs).await;
    assert_eq!(rep.succeeded(), 4);
    assert_eq!(e.world.publishes().len(), 1);
}

/// Issue #21: the concurrency limit is per provider. With one permit, host `b`'s droplet
/// create hangs (DigitalOcean's permit held, as when a create waits for the rate budget)
/// once host `a`'s droplet is up; `a` still writes its DNS record. With one permit for every
/// provider, `a` waited for every create of the batch first (a 1,000-host fleet wrote no
/// record until its last droplet was created).
#[tokio::test]
async fn a_host_writes_dns_while_another_holds_the_create_permit() {
    let world = Arc::new(World::new());
    world.inject(Injection::new("create_droplet", Fault::HangBefore).key("app-b"));
    let (_tmp, dir) = temp_dir();
    let mut c = config(dir);
    c.concurrency = 1;
    // `b` starts its create only once `a` is waiting for its droplet to boot; `a` stops
    // for good before its publish step, that is once its journal says its records are
    // written. The fleet is dropped only then: no journal write is in flight when the
    // test's folder is removed (a write left running past the drop recreated the folder
    // after the test, and CI's temp-folder check failed on it).
    let a_booting = Arc::new(tokio::sync::Notify::new());
    let a_recorded = Arc::new(tokio::sync::Notify::new());
    let (booting, recorded) = (a_booting.clone(), a_recorded.clone());
    let p = Provisioner::new(
        world.clone(),
        world.clone(),
        world.clone(),
        world.clone(),
        c,
    )
    .test_pause(move |host, step| {
        let (booting, recorded) = (booting.clone(), recorded.clone());
        let host = host.to_owned();
        Box::pin(async move {
            match (host.as_str(), step) {
                ("app-a", Step::WaitActive) => booting.notify_one(),
                ("app-a", Step::PublishZone) => {
                    recorded.notify_one();
                    std::future::pending::<()>().await;
                }
                ("app-b", Step::CreateDroplet) => booting.notified().await,
                _ => {}
            }
        })
    });
    let specs = [spec("app-a"), spec("app-b")];
    tokio::select! {
        _ = p.provision_fleet(&specs) => panic!("the fleet finished although b's create hangs"),
        () = a_recorded.notified() => {}
        () = tokio::time::sleep(Duration::from_secs(60)) => panic!(
            "after 60 s host a has no DNS record: its DNS step waits for the permit b's hanging create holds"
        ),
    }
    assert!(
        world.records().iter().any(|r| r.fqdn.starts_with("app-a.")),
        "a's record is written"
    );
    assert_eq!(world.state.lock().unwrap().hung, 1, "b's create hangs");
}

#[tokio::test]
async fn fleet_spec_file_merges_defaults() {
    let f = FleetSpec::from_toml_str(
        r#"
[defaults]
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["ops"]
tags = ["fleet"]
dns = { zone = "example.com", ttl = 120 }
chef = { environment = "prod", run_list = ["role[base]"], attributes = { tz = "UTC" } }

[[hosts]]
name = "web-01"
tags = ["web"]
chef = { run_list = ["role[base]", "role[web]"], attributes = { port = 80 } }

[[hosts]]
name = "db-01"
size = "s-2vcpu-2gb"
dns = { record = "database" }
"#,
    )
    .unwrap();
    let hosts = f.hosts().unwrap();
    assert_eq!(hosts[0].tags, vec!["fleet", "web"]);
    assert_eq!(hosts[0].chef.run_list, vec!["role[base]", "role[web]"]);
    assert_eq!(hosts[0].chef.environment, "prod");
    assert_eq!(hosts[0].chef.attributes.len(), 2);
    assert_eq!(hosts[1].size, "s-2vcpu-2gb");
    assert_eq!(hosts[1].fqdn(), "database.example.com");
    assert_eq!(hosts[1].dns.ttl, Some(120));

    let json = serde_json::to_string(&f).unwrap();
    assert_eq!(FleetSpec::from_json_str(&json).unwrap(), f);

    let bad =
        FleetSpec::from_toml_str("[[hosts]]\nname = \"a\"\n[[hosts]]\nname = \"a\"\n").unwrap();
    let err = bad.hosts().unwrap_err().to_string();
    assert!(err.contains("`region` is missing"), "{err}");
    assert!(
        FleetSpec::from_toml_str("[[hosts]]\nnmae = \"typo\"\n").is_err(),
        "typos are refused"
    );
}

// ------------------------------------------------------------------------------------------
// teardown and audit
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn teardown_of_a_half_built_host_and_rerun() {
    let e = env_with(World::new(), |c| c.keep_on_failure = true);
    e.world
        .inject(Injection::new("create_record", Fault::Reject));
    assert!(e.p.provision(&spec("web-01")).await.result.is_err());
    assert_eq!(e.world.droplets().len(), 1);
    let t = TeardownTarget::from(&spec("web-01"));

    let dry = e.p.teardown(&t, true).await.unwrap();
    let writes_before = e.world.writes().len();
    assert!(
        dry.actions
            .iter()
            .any(|a| a.resource.starts_with("droplet") && a.outcome == UndoOutcome::WouldRemove)
    );
    assert_eq!(e.world.writes().len(), writes_before, "dry run");

    let r = e.p.teardown(&t, false).await.unwrap();
    assert!(r.complete(), "{r:?}");
    assert!(e.world.is_empty_of_resources());
    let outcomes: Vec<_> = r
        .actions
        .iter()
        .map(|a| (a.resource.clone(), a.outcome.clone()))
        .collect();
    assert!(
        outcomes
            .iter()
            .any(|(r, o)| r == "chef node web-01" && *o == UndoOutcome::Removed)
    );
    assert!(
        outcomes
            .iter()
            .any(|(r, o)| r == "chef client web-01" && *o == UndoOutcome::Removed)
    );
    assert!(
        outcomes
            .iter()
            .any(|(r, o)| r.starts_with("droplet ") && *o == UndoOutcome::Removed)
    );

    let again = e.p.teardown(&t, false).await.unwrap();
    assert!(again.complete());
    assert!(
        again
            .actions
            .iter()
            .all(|a| a.outcome == UndoOutcome::AlreadyGone),
        "{again:?}"
    );
}

#[tokio::test]
async fn teardown_removes_records_when_the_droplet_is_already_gone_and_skips_foreign_droplets() {
    let e = env();
    e.world
        .add_record("web-09.example.com", RecordType::A, "192.0.2.99");
    e.world.add_record(
        "web-09.example.com",
        RecordType::Other("TXT".into()),
        "v=spf1",
    );
    e.world.add_droplet(
        "web-09",
        &["someone-else"],
        Some("192.0.2.98".parse().unwrap()),
    );
    e.world.add_node("web-09");
    let r =
        e.p.teardown(
            &TeardownTarget::new("web-09").with_zone("example.com"),
            false,
        )
        .await
        .unwrap();
    assert!(r.complete());
    assert_eq!(e.world.records().len(), 1, "only A/AAAA removed");
    assert_eq!(
        e.world.droplets().len(),
        1,
        "a droplet without the tool tag is left alone"
    );
    assert!(
        r.actions
            .iter()
            .any(|a| matches!(a.outcome, UndoOutcome::Skipped(_))
                && a.resource.starts_with("droplet"))
    );
    assert!(e.world.nodes().is_empty());
    assert!(e.world.publishes().len() == 1);
}

#[tokio::test]
async fn teardown_keeps_records_pointing_elsewhere() {
    let e = env();
    e.p.provision(&spec("web-01")).await.result.unwrap();
    e.world
        .add_record("web-01.example.com", RecordType::A, "203.0.113.5");
    let r =
        e.p.teardown(&TeardownTarget::from(&spec("web-01")), false)
            .await
            .unwrap();
    assert!(r.complete());
    let left = e.world.records();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].data, "203.0.113.5");
}

#[tokio::test]
async fn audit_lists_orphans() {
    let e = env_with(World::new(), |c| c.keep_on_failure = true);
    e.p.provision(&spec("web-01")).await.result.unwrap();
    e.world.add_droplet(
        "lost-1",
        &["ops-core"],
        Some("192.0.2.200".parse().unwrap()),
    );
    e.world.add_node("ghost");
    e.world
        .add_record("stale.example.com", RecordType::A, "198.51.100.1");
    e.world
        .inject(Injection::new("create_record", Fault::Reject));
    assert!(e.p.provision(&spec("web-02")).await.result.is_err());

    let scope = AuditScope {
        zones: vec!["example.com".into()],
        ..AuditScope::default()
    };
    let writes = e.world.writes().len();
    let r = e.p.audit(&scope).await.unwrap();
    assert_eq!(e.world.writes().len(), writes, "read-only");
    let names =
        |v: &Vec<ops_core::ports::Droplet>| v.iter().map(|d| d.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&r.droplets_without_node), vec!["lost-1"]);
    assert!(names(&r.droplets_without_dns).contains(&"lost-1".to_string()));
    assert!(names(&r.droplets_without_dns).contains(&"web-02".to_string()));
    assert_eq!(r.nodes_without_droplet, vec!["ghost"]);
    assert_eq!(r.records_without_droplet.len(), 1);
    assert_eq!(r.records_without_droplet[0].fqdn, "stale.example.com");
    assert_eq!(r.unfinished_runs.len(), 1);
    assert!(r.droplets_sharing_a_run_tag.is_empty());
    assert!(!r.is_clean());

    // A second droplet with web-01's run tag (a lost create the run never saw) is reported.
    let web01 = e
        .world
        .droplets()
        .into_iter()
        .find(|d| d.d.name == "web-01")
        .unwrap();
    let tags: Vec<&str> = web01.d.tags.iter().map(String::as_str).collect();
    let dup = e.world.add_droplet("web-01", &tags, None);
    let r = e.p.audit(&scope).await.unwrap();
    let mut ids: Vec<u64> = r.droplets_sharing_a_run_tag.iter().map(|d| d.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [web01.d.id, dup]);
}

// ------------------------------------------------------------------------------------------
// progress, secrets, journal format
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn journal_is_written_atomically_and_reloads() {
    let e = env();
    let rep = e.p.provision(&spec("web-01")).await.result.unwrap();
    let names: Vec<String> = std::fs::read_dir(&e.dir)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        // The host leases' folder (issue #21): the lease itself is released.
        .filter(|n| n != "leases")
        .collect();
    assert_eq!(
        names,
        vec![format!("{}.json", rep.run_id)],
        "no temp file left behind"
    );
    let text = std::fs::read_to_string(e.dir.join(format!("{}.json", rep.run_id))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["resources"]["chef_client"], "web-01");
    assert!(v["resources"]["droplet"]["id"].is_u64());
    assert!(
        JournalStore::new(e.dir.clone())
            .load("../etc/passwd")
            .await
            .is_err(),
        "ids are checked"
    );
}

#[tokio::test]
async fn user_data_limit_is_enforced_before_any_write() {
    let e = env();
    let mut s = spec("web-01");
    s.user_data.runcmd = vec!["x".repeat(70 * 1024)];
    let f = e.p.provision(&s).await.result.unwrap_err();
    assert_eq!(f.step, Step::Validate);
    assert!(ops_core_chain(&f.error).contains("DigitalOcean accepts at most 65536"));
    assert!(e.world.writes().is_empty());
}

/// A 429 that reaches the workflow is one the client's own policy gave up on: the workflow
/// does not retry it again (issue #18), the host fails before any write and says why.
#[tokio::test]
async fn a_rate_limit_the_client_gave_up_on_is_not_retried_again() {
    let e = env();
    e.world
        .inject(Injection::new("regions", Fault::RateLimited).times(2));
    let f =
        e.p.provision(&spec("web-01"))
            .await
            .result
            .expect_err("rate limited");
    assert_eq!(e.world.count("regions"), 1);
    assert!(e.world.writes().is_empty());
    assert!(
        ops_core_chain(&f.error).contains("slow down"),
        "{:?}",
        f.error
    );
    let _ = PortErrorKind::RateLimited;
}

#[tokio::test]
async fn fleet_crash_then_resume_batch() {
    let e = env();
    // every host "crashes" while creating its DNS record
    e.world
        .inject(Injection::new("create_record", Fault::HangAfter).times(100));
    let specs: Vec<HostSpec> = (1..=4).map(|n| spec(&format!("db-{n}"))).collect();
    e.world.run_until_hung(4, e.p.provision_fleet(&specs)).await;
    let js = JournalStore::new(e.dir.clone()).list().await.unwrap();
    assert_eq!(js.len(), 4);
    let batch = js[0].batch_id.clone().unwrap();
    assert!(
        js.iter()
            .all(|j| j.batch_id.as_deref() == Some(batch.as_str()))
    );
    e.world.clear_injections();

    let rep = e.p.resume_batch(&batch).await.unwrap();
    assert_eq!(rep.succeeded(), 4);
    assert_eq!(rep.publishes, 1, "one publish for the resumed batch");
    let st = e.world.state.lock().unwrap();
    assert_eq!(st.created_names.len(), 4, "no droplet created twice");
    assert_eq!(st.records.len(), 4, "records adopted, not duplicated");
    assert_eq!(st.publishes.len(), 1);
}

#[tokio::test]
async fn teardown_fleet_publishes_each_zone_once() {
    let e = env();
    let specs: Vec<HostSpec> = (1..=4).map(|n| spec(&format!("cache-{n}"))).collect();
    assert_eq!(e.p.provision_fleet(&specs).await.succeeded(), 4);
    let targets: Vec<TeardownTarget> = specs.iter().map(TeardownTarget::from).collect();
    let dry = e.p.teardown_fleet(&targets, true).await.unwrap();
    assert_eq!(dry.publishes.len(), 1);
    assert_eq!(e.world.publishes().len(), 1, "dry run publishes nothing");
    let r = e.p.teardown_fleet(&targets, false).await.unwrap();
    assert!(r.complete(), "{r:?}");
    assert_eq!(r.hosts.len(), 4);
    assert!(e.world.is_empty_of_resources());
    assert_eq!(
        e.world.publishes().len(),
        2,
        "one for provisioning, one for teardown"
    );
    let bad = vec![TeardownTarget::new("Bad_Name")];
    assert!(e.p.teardown_fleet(&bad, false).await.is_err());
}

// ------------------------------------------------------------------------------------------
// a listing that lags, a lookup that fails (issue #16): never an unrecorded or a second droplet
// ------------------------------------------------------------------------------------------

/// The default adopt window (36 lookups 5 s apart), on paused time: the fake's listing lag is
/// measured on tokio's clock, so minutes pass in milliseconds.
fn lagging(lag: Duration, boot: Duration) -> Env {
    let mut w = World::new();
    w.list_lag = lag;
    w.boot = boot;
    env_with(w, |c| {
        let d = ProvisionConfig::new("unused", BootstrapConfig::new("https://x"));
        c.adopt_lookups = d.adopt_lookups;
        c.adopt_delay = d.adopt_delay;
        c.poll_interval = d.poll_interval;
        c.active_timeout = d.active_timeout;
    })
}

#[tokio::test(start_paused = true)]
async fn a_lost_create_answer_is_adopted_with_listings_lagging_5_30_and_120_s() {
    for lag in [5, 30, 120] {
        let e = lagging(Duration::from_secs(lag), Duration::from_secs(40));
        e.world
            .inject(Injection::new("create_droplet", Fault::AmbiguousApplied));
        let rep =
            e.p.provision(&spec("web-01"))
                .await
                .result
                .unwrap_or_else(|f| panic!("lag {lag} s: {:?}", f.error));
        assert!(rep.adopted, "lag {lag} s");
        assert_eq!(
            e.world.count("create_droplet"),
            1,
            "lag {lag} s: one create"
        );
        assert_eq!(e.world.droplets().len(), 1, "lag {lag} s: one droplet");
        assert!(rep.duplicates_removed.is_empty());
    }
}

/// A listing that lags past the adopt window: a second create is sent; once the first droplet
/// shows, the run deletes it (before DNS) and reports it, keeping the recorded one.
#[tokio::test(start_paused = true)]
async fn a_duplicate_shown_after_the_adopt_window_is_deleted_and_reported() {
    let e = lagging(Duration::from_secs(200), Duration::from_secs(90));
    e.world
        .inject(Injection::new("create_droplet", Fault::AmbiguousApplied));
    let rep =
        e.p.provision(&spec("web-01"))
            .await
            .result
            .unwrap_or_else(|f| panic!("{:?}", f.error));
    assert_eq!(e.world.count("create_droplet"), 2);
    let left: Vec<u64> = e.world.droplets().iter().map(|d| d.d.id).collect();
    assert_eq!(left, [rep.droplet_id], "only the recorded droplet is left");
    assert_eq!(rep.duplicates_removed.len(), 1, "{rep:?}");
    assert_ne!(rep.duplicates_removed[0], rep.droplet_id);
    // DNS points at the droplet that was kept.
    let recs = e.world.records();
    assert_eq!(recs.len(), 1);
    assert_eq!(
        Some(recs[0].data.clone()),
        rep.addresses.ipv4.map(|a| a.to_string())
    );
    let j = JournalStore::new(e.dir.clone())
        .load(&rep.run_id)
        .await
        .unwrap();
    assert_eq!(j.duplicates_removed, rep.duplicates_removed);
    let events = e.events.lock().unwrap();
    assert!(
        events
            .iter()
            .any(|ev| matches!(ev, ProgressEvent::DuplicateRemoved { .. })),
        "{events:?}"
    );
}

/// After an ambiguous create, lookups by run tag keep failing: no second create is sent, the
/// run does not claim a rollback, and the journal says a droplet with the tag may exist.
#[tokio::test(start_paused = true)]
async fn an_unconfirmable_create_ends_unknown_never_rolled_back_or_created_twice() {
    let e = lagging(Duration::ZERO, Duration::from_secs(40));
    e.world
        .inject(Injection::new("create_droplet", Fault::AmbiguousApplied));
    e.world.inject(
        Injection::new("droplets", Fault::Reject)
            .key("Tag(")
            .times(10_000),
    );
    let out = e.p.provision(&spec("web-01")).await;
    let f = out.result.expect_err("cannot be confirmed");
    assert_eq!(e.world.count("create_droplet"), 1, "no second create");
    assert_eq!(
        e.world.droplets().len(),
        1,
        "the applied create is still there"
    );
    let err = ops_core_chain(&f.error);
    assert!(err.contains("may exist"), "{err}");
    let run = out.run_id.unwrap();
    let j = JournalStore::new(e.dir.clone()).load(&run).await.unwrap();
    assert_eq!(j.status, RunStatus::RollbackIncomplete);
    assert!(j.resources.droplet_unconfirmed(), "{:?}", j.resources);
    let left = f.left_behind(&j.run_tag());
    assert!(
        left.iter()
            .any(|l| l.contains(&j.run_tag()) && l.contains("may exist")),
        "{left:?}"
    );
    // Once DigitalOcean answers, a resume adopts the droplet instead of creating another.
    e.world.clear_injections();
    let rep = e.p.rollback(&run).await.unwrap();
    assert!(rep.complete(), "{rep:?}");
    assert!(e.world.droplets().is_empty(), "rollback found it by tag");
    let j = JournalStore::new(e.dir.clone()).load(&run).await.unwrap();
    assert!(!j.resources.droplet_unconfirmed());
}

/// Rollback never reports `rolled_back` when it could not check for DNS records.
#[tokio::test]
async fn rollback_with_a_failed_dns_lookup_is_incomplete() {
    // How many record lookups a run makes before its DNS step fails.
    let baseline = env();
    baseline
        .world
        .inject(Injection::new("create_record", Fault::Reject).times(100));
    let _ = baseline.p.provision(&spec("web-01")).await;
    let before_undo = baseline
        .world
        .calls()
        .iter()
        .take_while(|c| c.op != "create_record")
        .filter(|c| c.op == "records")
        .count();
    let e = env();
    // The record create is applied but its answer lost; every record lookup after it fails
    // (the DNS step's own, then rollback's).
    e.world
        .inject(Injection::new("create_record", Fault::AmbiguousApplied).times(100));
    e.world.inject(
        Injection::new("records", Fault::Reject)
            .skip(before_undo)
            .times(10_000),
    );
    let out = e.p.provision(&spec("web-01")).await;
    let f = out.result.expect_err("DNS step fails");
    let rb = f.rollback.expect("rolled back");
    assert!(!rb.complete(), "{rb:?}");
    assert!(
        rb.actions
            .iter()
            .any(|a| a.resource.contains("dns records of web-01.example.com")
                && matches!(a.outcome, UndoOutcome::Failed(_))),
        "{rb:?}"
    );
    let j = JournalStore::new(e.dir.clone())
        .load(&out.run_id.unwrap())
        .await
        .unwrap();
    assert_eq!(j.status, RunStatus::RollbackIncomplete);
}

/// The journal is the safety net: when it cannot be written, nothing is created.
#[tokio::test]
async fn a_journal_that_cannot_be_written_stops_the_run_before_any_write() {
    let world = World::new();
    let e = env_with(world, |_| {});
    // The state directory's place is taken by a file.
    std::fs::create_dir_all(e.dir.parent().unwrap()).unwrap();
    std::fs::write(&e.dir, b"not a directory").unwrap();
    let out = e.p.provision(&spec("web-01")).await;
    let f = out.result.expect_err("journal cannot be written");
    assert!(
        // The host lease (taken in the folder before anything else) or the journal.
        matches!(
            &f.error,
            Error::Step { .. } | Error::Journal { .. } | Error::State(_)
        ),
        "{:?}",
        f.error
    );
    assert!(e.world.writes().is_empty());
    let _ = std::fs::remove_file(&e.dir);
}

/// Issue #17: a fleet with one invalid host wrote nothing for it but created the valid ones.
/// The fleet is now checked as a whole: nothing is written, every host says why.
#[tokio::test]
async fn a_fleet_with_one_invalid_host_writes_nothing() {
    let e = env();
    let specs = vec![spec("web-31"), {
        let mut s = spec("web-32");
        s.name = "web_32".into();
        s
    }];
    let rep = e.p.provision_fleet(&specs).await;
    assert_eq!(rep.hosts.len(), 2);
    assert_eq!(rep.succeeded(), 0);
    assert!(e.world.writes().is_empty(), "{:?}", e.world.writes());
    assert!(e.world.calls().is_empty(), "not even a read");
    let msg = |i: usize| ops_core_chain(&rep.hosts[i].result.as_ref().unwrap_err().error);
    assert!(
        msg(0).contains("nothing was written") && msg(0).contains("web_32"),
        "{}",
        msg(0)
    );
    assert!(msg(1).contains("web_32"), "{}", msg(1));
}

/// Issue #17: a dry run is a guarantee of the ports, not a flag each command remembers.
/// Through ports wrapped by `ops_core::dry_run`, the dry-run entry points make reads only;
/// a workflow that forgets its flag (a real provision and teardown here) fails loudly at
/// its first write and nothing is written.
#[tokio::test]
async fn ports_wrapped_for_a_dry_run_refuse_every_write() {
    use ops_core::dry_run;
    // A half-built host to look at: a real run made a droplet and the Chef objects.
    let e = env_with(World::new(), |c| c.keep_on_failure = true);
    e.world
        .inject(Injection::new("create_record", Fault::Reject));
    assert!(e.p.provision(&spec("web-01")).await.result.is_err());
    e.world.clear_injections();
    let writes = e.world.writes().len();
    let (_tmp, dir) = temp_dir();
    let p = Provisioner::new(
        dry_run::compute(e.world.clone()),
        dry_run::dns(e.world.clone()),
        dry_run::config_mgmt(e.world.clone()),
        dry_run::monitoring(e.world.clone()),
        config(dir),
    );
    let t = TeardownTarget::from(&spec("web-01"));

    // The dry-run entry points: reads only, and they work.
    let plan = p.plan(&[spec("web-02")]).await.unwrap();
    assert!(plan.is_valid(), "{plan:?}");
    let dry = p.teardown(&t, true).await.unwrap();
    assert!(
        dry.actions
            .iter()
            .any(|a| a.resource.starts_with("droplet") && a.outcome == UndoOutcome::WouldRemove),
        "{dry:?}"
    );
    assert_eq!(e.world.writes().len(), writes, "a dry run wrote");
    assert!(e.world.calls().len() > writes, "the dry runs read nothing?");

    // A workflow that ignores the dry run: refused at its first write, said so, nothing sent.
    let out = p.provision(&spec("web-03")).await;
    let err = anyhow_like(&out.result.unwrap_err().error);
    assert!(err.contains("dry run: refused to"), "{err}");
    let r = p.teardown(&t, false).await.unwrap();
    assert!(!r.complete(), "{r:?}");
    assert_eq!(
        e.world.writes().len(),
        writes,
        "a write went through a dry-run port"
    );
    assert_eq!(e.world.droplets().len(), 1);
}

/// The error and its sources on one line.
fn anyhow_like(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s = format!("{s}: {c}");
        cur = c.source();
    }
    s
}

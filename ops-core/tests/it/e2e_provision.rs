//! End-to-end provision tests: the workflow over the real adapters and HTTP clients, against
//! the testkit fakes of DigitalOcean, Dyn, Chef Server and nagios-api (all on loopback).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::e2e_support;

use std::time::Duration;

use digitalocean_client::testkit::EdgeValue;
use dynect_client::testkit::{Fault, FaultRule};
use e2e_support::{CreateFault, DnsKind, Rig, ZONE, spec};
use nagios_client::HostStatus;
use ops_core::provision::{RunStatus, Step, TeardownTarget, UndoOutcome};
use secrecy::ExposeSecret;

const T: Duration = Duration::from_secs(5);

fn outcome_names(actions: &[ops_core::provision::UndoAction]) -> Vec<(String, UndoOutcome)> {
    actions
        .iter()
        .map(|a| (a.resource.clone(), a.outcome.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_end_to_end_over_dyn_chef_and_nagios() {
    let rig = Rig::start_with(DnsKind::Dyn, T, None, &[("web-01", HostStatus::Down)]).await;
    let mut s = spec("web-01");
    s.wait_for_monitoring = true;
    // Nagios sees the host come up a little after the droplet.
    let p = rig.provisioner();
    let flip = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            rig.nagios
                .set_host_state("web-01", HostStatus::Up, "PING OK")
        );
    };
    let (out, ()) = tokio::join!(p.provision(&s), flip);
    let report = out.result.as_ref().expect("provisioned");
    assert!(!report.adopted);
    assert_eq!(report.fqdn, "web-01.example.com");
    let ip = report.addresses.ipv4.expect("public IPv4");

    // The droplet: one create, tagged with the tool and run tags, cloud-init user data.
    assert_eq!(rig.creates_received(), 1);
    assert_eq!(rig.droplets_named("web-01").await, 1);
    let d = rig
        .do_client
        .droplets()
        .get(report.droplet_id)
        .await
        .unwrap();
    assert!(d.tags.iter().any(|t| t == "ops-core"), "{:?}", d.tags);
    assert!(
        d.tags
            .iter()
            .any(|t| *t == format!("ops-run:{}", report.run_id)),
        "{:?}",
        d.tags
    );
    let create = rig
        .digitalocean
        .requests_matching("POST", "/v2/droplets")
        .into_iter()
        .find(|r| r.path == "/v2/droplets")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&create.body).unwrap();
    assert!(
        body["user_data"]
            .as_str()
            .unwrap()
            .starts_with("#cloud-config")
    );
    assert_eq!(body["ssh_keys"].as_array().unwrap().len(), 1);

    // DNS: the A record is published in the zone.
    assert_eq!(
        rig.dns_records("web-01.example.com").await,
        vec![("A".to_owned(), ip.to_string())]
    );
    assert_eq!(rig.dyn_fake.pending_changes(), 0);

    // Chef: node with run list and environment, and its client.
    let node = rig.chef.node("web-01").expect("node registered");
    assert_eq!(node.run_list, vec!["role[base]", "recipe[nginx]"]);
    assert_eq!(node.chef_environment, "_default");
    // The client was created by the admin, and the node signed as that new client (the
    // validatorless bootstrap), each exactly once.
    let log = rig.chef.requests();
    let posts = |suffix: &str| {
        log.iter()
            .filter(|r| r.method == "POST" && r.path.ends_with(suffix))
            .collect::<Vec<_>>()
    };
    let clients = posts("/clients");
    assert_eq!(clients.len(), 1, "{log:?}");
    assert_eq!(clients[0].status, 201);
    let nodes = posts("/nodes");
    assert_eq!(nodes.len(), 1, "{log:?}");
    assert_eq!(nodes[0].user.as_deref(), Some("web-01"));
    assert_eq!(nodes[0].status, 201);

    // The journal is complete and carries no secret.
    let journal =
        std::fs::read_to_string(rig.state_dir.join(format!("{}.json", report.run_id))).unwrap();
    assert!(!journal.contains("PRIVATE KEY"));
    assert!(!journal.contains(rig.chef.admin_key().expose_secret()));
    let j = p.journals().load(&report.run_id).await.unwrap();
    assert_eq!(j.status, RunStatus::Succeeded);

    // Teardown, twice: the second run finds everything already gone.
    let target = TeardownTarget::from(&s);
    let first = p.teardown(&target, false).await.unwrap();
    assert!(first.complete(), "{first:?}");
    assert!(
        first
            .actions
            .iter()
            .all(|a| a.outcome == UndoOutcome::Removed),
        "{:?}",
        outcome_names(&first.actions)
    );
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    assert!(rig.dns_records("web-01.example.com").await.is_empty());
    assert!(rig.chef.node("web-01").is_none());
    let second = p.teardown(&target, false).await.unwrap();
    assert!(second.complete(), "{second:?}");
    assert!(
        second.actions.iter().all(|a| matches!(
            a.outcome,
            UndoOutcome::AlreadyGone | UndoOutcome::Skipped(_)
        )),
        "{:?}",
        outcome_names(&second.actions)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_with_digitalocean_domains_chosen_by_configuration() {
    let rig = Rig::start(DnsKind::DigitalOcean, T).await;
    let p = rig.provisioner();
    let s = spec("api-01");
    let out = p.provision(&s).await;
    let report = out.result.as_ref().expect("provisioned");
    let ip = report.addresses.ipv4.unwrap();
    assert_eq!(
        rig.dns_records("api-01.example.com").await,
        vec![("A".to_owned(), ip.to_string())]
    );
    // No Dyn traffic at all.
    assert!(rig.dyn_fake.requests().is_empty());

    let target = TeardownTarget::from(&s);
    assert!(p.teardown(&target, false).await.unwrap().complete());
    assert!(rig.dns_records("api-01.example.com").await.is_empty());
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    assert!(p.teardown(&target, false).await.unwrap().complete());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_with_one_injected_failure_provisions_the_others_and_rolls_back_the_one() {
    let rig = Rig::start(DnsKind::Dyn, T).await;
    // web-03's A record create keeps failing at Dyn (503 before processing).
    rig.dyn_fake.inject(
        FaultRule::new(Fault::ServerError(503))
            .times(50)
            .method("POST")
            .path_prefix("/REST/ARecord/example.com/web-03.example.com"),
    );
    let p = rig.provisioner();
    let names = ["web-01", "web-02", "web-03", "web-04", "web-05"];
    let specs: Vec<_> = names.iter().map(|n| spec(n)).collect();
    let started = std::time::Instant::now();
    let fleet = p.provision_fleet(&specs).await;
    eprintln!("fleet of {} took {:?}", specs.len(), started.elapsed());
    for h in &fleet.hosts {
        if let Ok(r) = &h.result {
            eprintln!("{}: {:?}", r.name, r.step_times);
        }
    }
    assert_eq!(fleet.hosts.len(), 5);
    assert_eq!(fleet.succeeded(), 4, "{:#?}", fleet.hosts);
    let failed = fleet.hosts.iter().find(|h| !h.is_ok()).unwrap();
    assert_eq!(failed.name, "web-03");
    let failure = failed.result.as_ref().unwrap_err();
    assert_eq!(failure.step, Step::DnsRecords, "{failure:?}");
    let rollback = failure.rollback.as_ref().expect("rolled back");
    assert!(rollback.complete(), "{rollback:?}");

    // The four others are complete; the failed one left nothing behind.
    assert_eq!(rig.digitalocean.droplet_count(), 4);
    assert_eq!(rig.droplets_named("web-03").await, 0);
    assert!(rig.chef.node("web-03").is_none());
    for n in ["web-01", "web-02", "web-04", "web-05"] {
        assert_eq!(
            rig.dns_records(&format!("{n}.{ZONE}")).await.len(),
            1,
            "{n}"
        );
        assert!(rig.chef.node(n).is_some(), "{n}");
    }
    assert!(rig.dns_records("web-03.example.com").await.is_empty());
    // One publish for the batch's zone (not one per host).
    assert!(fleet.publishes <= 2, "publishes: {}", fleet.publishes);
    let zone_puts = rig
        .dyn_fake
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.starts_with("/REST/Zone/"))
        .count();
    assert!(zone_puts <= 2, "zone publishes: {zone_puts}");
}

/// The DigitalOcean client's per-attempt timeout in the fault tests: every other request of
/// the run goes through it too, so it must hold at load 8 on 2 cores (loopback requests take
/// milliseconds); the injected faults hold answers far longer ([`HOLD`]).
const FAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an injected fault holds a create: far past [`FAULT_TIMEOUT`], so the client's
/// timeout always fires first. The proxy holds in a task of its own; nothing waits for it.
const HOLD: Duration = Duration::from_secs(60);

async fn ambiguous_create_is_adopted(fault: CreateFault) {
    let rig = Rig::start(DnsKind::Dyn, FAULT_TIMEOUT).await;
    rig.proxy.push(fault);
    let p = rig.provisioner();
    let out = p.provision(&spec("db-01")).await;
    let report = out.result.as_ref().expect("provisioned after adopting");
    assert!(report.adopted, "{report:?}");
    assert_eq!(rig.proxy.pending(), 0);
    assert_eq!(
        rig.creates_received(),
        1,
        "exactly one create reached DigitalOcean"
    );
    assert_eq!(rig.droplets_named("db-01").await, 1);
    assert_eq!(rig.dns_records("db-01.example.com").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_answer_lost_on_a_dropped_connection_is_adopted() {
    ambiguous_create_is_adopted(CreateFault::DropAnswer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_answered_502_after_creating_is_adopted() {
    ambiguous_create_is_adopted(CreateFault::BadGatewayAnswer).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_timing_out_after_creating_is_adopted() {
    ambiguous_create_is_adopted(CreateFault::DelayAnswer(HOLD)).await;
}

/// Under injected create timeouts — some after the droplet was created, some before the
/// request reached DigitalOcean — every host of a fleet ends with exactly one droplet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_droplet_is_ever_created_twice_under_create_timeouts() {
    let rig = Rig::start(DnsKind::Dyn, FAULT_TIMEOUT).await;
    for f in [
        CreateFault::DelayAnswer(HOLD),
        CreateFault::HoldUnsent(HOLD),
        CreateFault::DelayAnswer(HOLD),
        CreateFault::HoldUnsent(HOLD),
        CreateFault::DelayAnswer(HOLD),
        CreateFault::DropAnswer,
    ] {
        rig.proxy.push(f);
    }
    let mut config = rig.config();
    config.create_attempts = 4;
    let p = rig.provisioner_with(config);
    let names = ["app-01", "app-02", "app-03", "app-04"];
    let specs: Vec<_> = names.iter().map(|n| spec(n)).collect();
    let fleet = p.provision_fleet(&specs).await;
    assert_eq!(fleet.succeeded(), 4, "{:#?}", fleet.hosts);
    assert_eq!(rig.proxy.pending(), 0, "every injected fault was used");
    for n in names {
        assert_eq!(
            rig.droplets_named(n).await,
            1,
            "{n} has exactly one droplet"
        );
    }
    assert_eq!(rig.digitalocean.droplet_count(), 4);
    let adopted = fleet
        .hosts
        .iter()
        .filter(|h| h.result.as_ref().is_ok_and(|r| r.adopted))
        .count();
    // Four creates reached DigitalOcean with no answer: each was adopted, never repeated.
    assert_eq!(adopted, 4);
    // Two more creates were held and never forwarded; they were retried.
    assert_eq!(rig.creates_received(), 4);
}

/// A host left half-built (`keep_on_failure`) is torn down completely, and teardown can be
/// run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_of_a_half_built_host_is_rerunnable() {
    let rig = Rig::start(DnsKind::Dyn, T).await;
    rig.dyn_fake.inject(
        FaultRule::new(Fault::ServerError(503))
            .times(50)
            .method("POST")
            .path_prefix("/REST/ARecord/"),
    );
    let mut config = rig.config();
    config.keep_on_failure = true;
    let p = rig.provisioner_with(config);
    let s = spec("half-01");
    let out = p.provision(&s).await;
    let failure = out.result.as_ref().unwrap_err();
    assert!(failure.rollback.is_none());
    assert!(failure.kept.droplet.is_some() && failure.kept.chef_node.is_some());
    assert_eq!(rig.digitalocean.droplet_count(), 1);

    let target = TeardownTarget::from(&s);
    let first = p.teardown(&target, false).await.unwrap();
    assert!(first.complete(), "{first:?}");
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    assert!(rig.chef.node("half-01").is_none());
    let again = p.teardown(&target, false).await.unwrap();
    assert!(again.complete(), "{again:?}");
    assert!(
        again
            .actions
            .iter()
            .all(|a| !matches!(a.outcome, UndoOutcome::Removed | UndoOutcome::Failed(_))),
        "{:?}",
        outcome_names(&again.actions)
    );
}

/// The dry run reads through the adapters and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_makes_no_write() {
    let rig = Rig::start(DnsKind::Dyn, T).await;
    let p = rig.provisioner();
    let plan = p.plan(&[spec("web-01")]).await.unwrap();
    assert!(plan.is_valid(), "{plan:?}");
    assert!(plan.writes().count() >= 4);
    assert!(
        rig.digitalocean
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.path == "/v2/account/keys")
    );
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    assert!(
        rig.dyn_fake
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.path.starts_with("/REST/Session"))
    );
    assert!(rig.chef.node("web-01").is_none());
}

/// One logical lookup against a DigitalOcean that answers 429 every time makes no more
/// requests than the client's own retry policy allows (3 attempts here): the workflow does
/// not retry on top of it (issue #18 measured 12).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_costs_no_more_requests_than_the_clients_policy() {
    let rig = Rig::start(DnsKind::Dyn, T).await;
    let p = rig.provisioner();
    let before = rig.digitalocean.requests().len();
    rig.digitalocean.faults().rate_limit_next(1000, 0);
    let report = p
        .teardown(&TeardownTarget::new("web-09"), false)
        .await
        .unwrap();
    rig.digitalocean.faults().clear();
    assert!(!report.complete(), "{report:?}");
    let made = rig.digitalocean.requests().len() - before;
    assert!(made <= 3, "{made} requests for one lookup");
}

/// Issue #16: a create whose answer is lost while DigitalOcean's listing lags 5 s behind it is
/// adopted, not repeated, over the real client against the testkit fake (`set_list_lag`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_answer_under_a_5_s_listing_lag_is_adopted_not_repeated() {
    let rig = Rig::start(DnsKind::Dyn, FAULT_TIMEOUT).await;
    rig.digitalocean
        .faults()
        .set_list_lag(Duration::from_secs(5));
    rig.proxy.push(CreateFault::DropAnswer);
    let mut config = rig.config();
    // A 12 s adopt window: longer than the lag (the default is 3 min).
    config.adopt_lookups = 48;
    config.adopt_delay = Duration::from_millis(250);
    let p = rig.provisioner_with(config);
    let out = p.provision(&spec("db-01")).await;
    let report = out.result.as_ref().expect("provisioned after adopting");
    assert!(report.adopted, "{report:?}");
    assert!(report.duplicates_removed.is_empty(), "{report:?}");
    assert_eq!(
        rig.creates_received(),
        1,
        "exactly one create reached DigitalOcean"
    );
    assert_eq!(rig.digitalocean.droplet_count(), 1);
}

/// Issue #16: the workflow over a DigitalOcean that sends spec-valid edge values (the
/// testkit's [`EdgeValue`] modes, each confirmed within the spec by
/// `e2e_provision_prism.rs`): provision, adopt a lost create through the listings, tear
/// down twice; nothing left, nothing created twice.
async fn provision_and_teardown_with_edge_values(modes: &[EdgeValue]) {
    let rig = Rig::start(DnsKind::DigitalOcean, FAULT_TIMEOUT).await;
    rig.digitalocean.faults().set_edge_values(modes);
    let p = rig.provisioner();
    let out = p.provision(&spec("edge-01")).await;
    let report = out
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("{modes:?}: provision failed: {e:?}"));
    let ip = report.addresses.ipv4.expect("a public address");
    assert_eq!(
        rig.dns_records("edge-01.example.com").await,
        vec![("A".to_owned(), ip.to_string())],
        "{modes:?}"
    );

    rig.proxy.push(CreateFault::DropAnswer);
    let out = p.provision(&spec("edge-02")).await;
    let report = out
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("{modes:?}: adopt failed: {e:?}"));
    assert!(report.adopted, "{modes:?}: {report:?}");
    assert_eq!(rig.creates_received(), 2, "{modes:?}: one create per host");

    for name in ["edge-01", "edge-02"] {
        let target = TeardownTarget::from(&spec(name));
        let first = p.teardown(&target, false).await.unwrap();
        assert!(first.complete(), "{modes:?}: {first:?}");
        let again = p.teardown(&target, false).await.unwrap();
        assert!(again.complete(), "{modes:?}: {again:?}");
        assert!(
            rig.dns_records(&format!("{name}.{ZONE}")).await.is_empty(),
            "{modes:?}"
        );
    }
    assert_eq!(rig.digitalocean.droplet_count(), 0, "{modes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_with_nulls_where_the_spec_allows_them() {
    provision_and_teardown_with_edge_values(&[EdgeValue::Nulls]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_with_optional_fields_left_out() {
    provision_and_teardown_with_edge_values(&[EdgeValue::OmittedOptional]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_with_empty_arrays() {
    provision_and_teardown_with_edge_values(&[EdgeValue::EmptyArrays]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_with_fields_the_spec_does_not_list() {
    provision_and_teardown_with_edge_values(&[EdgeValue::UnknownFields]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_with_every_edge_value_at_once() {
    let modes = [
        EdgeValue::Nulls,
        EdgeValue::OmittedOptional,
        EdgeValue::EmptyArrays,
        EdgeValue::UnknownFields,
    ];
    provision_and_teardown_with_edge_values(&modes).await;
}

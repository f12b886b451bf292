//! End-to-end provision tests of the networking resources of issue #22 (VPC so far): the
//! workflow over the real adapters and clients against the testkit fakes, a host created,
//! interrupted mid-way and resumed, rolled back, and torn down to zero resources.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::e2e_support;

use std::time::Duration;

use digitalocean_client::CreateVpc;
use digitalocean_client::testkit::CloudCounts;
use dynect_client::testkit::{Fault, FaultRule};
use e2e_support::{CreateFault, DnsKind, Rig, spec};
use ops_core::provision::audit::AuditScope;
use ops_core::provision::spec::{FirewallSpec, ReservedIpSpec, RuleSpec, VpcSpec};
use ops_core::provision::{HostSpec, RunStatus, Step, TeardownTarget, UndoOutcome};

/// The client's per-attempt timeout; the injected fault holds the droplet create far
/// longer ([`HOLD`]), so the create always ends ambiguous (never sent, as it happens).
const FAULT_TIMEOUT: Duration = Duration::from_secs(2);
const HOLD: Duration = Duration::from_secs(60);

fn in_vpc(name: &str, vpc: &str) -> HostSpec {
    let mut s = spec(name);
    s.vpc = Some(VpcSpec {
        name: vpc.into(),
        ip_range: Some("10.20.0.0/20".into()),
    });
    s
}

/// [`in_vpc`] with a firewall the spec defines (created by the run).
fn with_firewall(name: &str, vpc: &str, firewall: &str) -> HostSpec {
    let mut s = in_vpc(name, vpc);
    s.firewalls = vec![FirewallSpec {
        name: firewall.into(),
        inbound: vec![
            RuleSpec {
                protocol: "tcp".into(),
                ports: Some("22".into()),
                addresses: vec!["192.0.2.0/24".into()],
            },
            RuleSpec {
                protocol: "tcp".into(),
                ports: Some("443".into()),
                addresses: vec![],
            },
        ],
        outbound: vec![RuleSpec {
            protocol: "tcp".into(),
            ports: Some("all".into()),
            addresses: vec![],
        }],
    }];
    s
}

/// [`with_firewall`] with a new reserved IP.
fn full(name: &str, vpc: &str, firewall: &str) -> HostSpec {
    let mut s = with_firewall(name, vpc, firewall);
    s.reserved_ip = Some(ReservedIpSpec::default());
    s
}

fn vpc_creates(rig: &Rig) -> usize {
    rig.digitalocean
        .requests_matching("POST", "/v2/vpcs")
        .into_iter()
        .filter(|r| r.path == "/v2/vpcs")
        .count()
}

fn outcome_of(actions: &[ops_core::provision::UndoAction], prefix: &str) -> Vec<UndoOutcome> {
    actions
        .iter()
        .filter(|a| a.resource.starts_with(prefix))
        .map(|a| a.outcome.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_in_a_new_vpc_interrupted_resumed_and_torn_down_to_zero() {
    let rig = Rig::start(DnsKind::Dyn, FAULT_TIMEOUT).await;
    // The droplet create never gets an answer: the run stops after the VPC was made.
    rig.proxy.push(CreateFault::HoldUnsent(HOLD));
    let mut config = rig.config();
    config.keep_on_failure = true;
    config.create_attempts = 1;
    let p = rig.provisioner_with(config);
    let s = full("app-01", "prod-net", "app-fw");

    let out = p.provision(&s).await;
    let run_id = out.run_id.clone().expect("a run");
    let failure = out.result.as_ref().unwrap_err();
    assert_eq!(failure.step, Step::CreateDroplet, "{failure:?}");
    let vpc = failure.kept.vpc.clone().expect("the VPC is recorded");
    assert!(vpc.created);
    assert_eq!(rig.digitalocean.cloud_counts().vpcs, 1);
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    let j = p.journals().load(&run_id).await.unwrap();
    assert_eq!(j.status, RunStatus::Failed);
    assert!(j.is_done(Step::Vpc));
    // The orphan audit sees the run's VPC, empty.
    let audit = p.audit(&AuditScope::default()).await.unwrap();
    assert_eq!(
        audit
            .empty_vpcs
            .iter()
            .map(|v| v.id.as_str())
            .collect::<Vec<_>>(),
        [vpc.id.as_str()]
    );

    // Resumed: the VPC is not made again, the droplet joins it.
    let resumed = p.resume(&run_id).await;
    let report = resumed.result.as_ref().expect("resumed to success");
    assert_eq!(vpc_creates(&rig), 1, "one VPC create in all");
    let d = rig
        .do_client
        .droplets()
        .get(report.droplet_id)
        .await
        .unwrap();
    assert_eq!(d.vpc_uuid.as_deref(), Some(vpc.id.as_str()));
    let members = rig
        .do_client
        .vpcs()
        .list_members(&vpc.id)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(members.len(), 1);
    assert!(
        p.audit(&AuditScope::default())
            .await
            .unwrap()
            .empty_vpcs
            .is_empty()
    );

    // Teardown: the dry run names the VPC, the real one removes it after the droplet.
    let target = TeardownTarget::from(&s);
    assert_eq!(target.vpc.as_deref(), Some("prod-net"));
    let dry = p.teardown(&target, true).await.unwrap();
    assert_eq!(outcome_of(&dry.actions, "vpc "), [UndoOutcome::WouldRemove]);
    assert_eq!(
        outcome_of(&dry.actions, "firewall "),
        [UndoOutcome::WouldRemove]
    );
    assert_eq!(rig.digitalocean.cloud_counts().vpcs, 1);
    let first = p.teardown(&target, false).await.unwrap();
    assert!(first.complete(), "{first:?}");
    assert_eq!(outcome_of(&first.actions, "vpc "), [UndoOutcome::Removed]);
    assert_eq!(
        outcome_of(&first.actions, "firewall "),
        [UndoOutcome::Removed]
    );
    assert_eq!(
        outcome_of(&first.actions, "reserved ip "),
        [UndoOutcome::Removed]
    );
    assert_eq!(rig.digitalocean.cloud_counts(), CloudCounts::default());
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    assert!(rig.chef.node("app-01").is_none());
    let again = p.teardown(&target, false).await.unwrap();
    assert!(again.complete(), "{again:?}");
    assert!(outcome_of(&again.actions, "vpc ").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_host_rolls_its_new_vpc_back() {
    let rig = Rig::start(DnsKind::Dyn, FAULT_TIMEOUT).await;
    rig.proxy.push(CreateFault::HoldUnsent(HOLD));
    let mut config = rig.config();
    config.create_attempts = 1;
    let p = rig.provisioner_with(config);
    let out = p.provision(&in_vpc("app-02", "roll-net")).await;
    let failure = out.result.as_ref().unwrap_err();
    assert_eq!(failure.step, Step::CreateDroplet);
    let rollback = failure.rollback.as_ref().expect("rolled back");
    assert!(rollback.complete(), "{rollback:?}");
    assert_eq!(
        outcome_of(&rollback.actions, "vpc "),
        [UndoOutcome::Removed]
    );
    assert_eq!(rig.digitalocean.cloud_counts(), CloudCounts::default());
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    let j = p
        .journals()
        .load(out.run_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(j.status, RunStatus::RolledBack);
    assert!(j.resources.vpc.is_none() && j.resources.vpc_creates_sent == 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_vpc_is_used_and_never_removed() {
    let rig = Rig::start(DnsKind::Dyn, Duration::from_secs(5)).await;
    let shared = rig
        .do_client
        .vpcs()
        .create(&CreateVpc::new("shared-net", "nyc3"))
        .await
        .unwrap();
    let p = rig.provisioner();
    let s = in_vpc("app-03", "shared-net");
    let out = p.provision(&s).await;
    let report = out.result.as_ref().expect("provisioned");
    assert_eq!(vpc_creates(&rig), 1, "only the test's own create");
    let j = p.journals().load(&report.run_id).await.unwrap();
    let used = j.resources.vpc.clone().expect("recorded");
    assert_eq!(Some(used.id.clone()), shared.id);
    assert!(!used.created);

    let down = p.teardown(&TeardownTarget::from(&s), false).await.unwrap();
    assert!(down.complete(), "{down:?}");
    assert!(matches!(
        outcome_of(&down.actions, "vpc ").as_slice(),
        [UndoOutcome::Skipped(_)]
    ));
    assert_eq!(rig.digitalocean.cloud_counts().vpcs, 1);
    assert_eq!(rig.digitalocean.droplet_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vpc_of_another_region_is_refused_before_any_write() {
    let rig = Rig::start(DnsKind::Dyn, Duration::from_secs(5)).await;
    rig.do_client
        .vpcs()
        .create(&CreateVpc::new("far-net", "ams3"))
        .await
        .unwrap();
    let p = rig.provisioner();
    let out = p.provision(&in_vpc("app-04", "far-net")).await;
    let failure = out.result.as_ref().unwrap_err();
    assert_eq!(failure.step, Step::Validate);
    assert!(
        failure.error.to_string().contains("far-net")
            || format!("{:?}", failure.error).contains("far-net"),
        "{:?}",
        failure.error
    );
    assert_eq!(rig.creates_received(), 0);
    assert!(rig.chef.node("app-04").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_failing_after_its_firewall_rolls_back_to_zero() {
    let rig = Rig::start(DnsKind::Dyn, Duration::from_secs(5)).await;
    // The A record create keeps failing at Dyn: the run fails after the firewall step.
    rig.dyn_fake.inject(
        FaultRule::new(Fault::ServerError(503))
            .times(50)
            .method("POST")
            .path_prefix("/REST/ARecord/"),
    );
    let p = rig.provisioner();
    let out = p.provision(&full("app-05", "five-net", "five-fw")).await;
    let failure = out.result.as_ref().unwrap_err();
    assert_eq!(failure.step, Step::DnsRecords, "{failure:?}");
    let rollback = failure.rollback.as_ref().expect("rolled back");
    assert!(rollback.complete(), "{rollback:?}");
    assert_eq!(
        outcome_of(&rollback.actions, "firewall "),
        [UndoOutcome::Removed]
    );
    assert_eq!(
        outcome_of(&rollback.actions, "vpc "),
        [UndoOutcome::Removed]
    );
    assert_eq!(
        outcome_of(&rollback.actions, "reserved ip "),
        [UndoOutcome::Removed]
    );
    assert_eq!(rig.digitalocean.cloud_counts(), CloudCounts::default());
    assert_eq!(rig.digitalocean.droplet_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_reserved_ip_is_assigned_and_kept() {
    use digitalocean_client::CreateReservedIp;
    let rig = Rig::start(DnsKind::Dyn, Duration::from_secs(5)).await;
    let held = rig
        .do_client
        .reserved_ips()
        .create(&CreateReservedIp::in_region("nyc3"))
        .await
        .unwrap();
    let address = held.reserved_ip.ip.clone().unwrap();
    let p = rig.provisioner();
    // Unassigned, it is an orphan for the audit.
    let audit = p.audit(&AuditScope::default()).await.unwrap();
    assert_eq!(audit.unassigned_reserved_ips.len(), 1);
    let mut s = spec("app-08");
    s.reserved_ip = Some(ReservedIpSpec {
        address: Some(address.clone()),
    });
    let out = p.provision(&s).await;
    let report = out.result.as_ref().expect("provisioned");
    let got = rig.do_client.reserved_ips().get(&address).await.unwrap();
    assert_eq!(got.droplet.map(|d| d.id), Some(report.droplet_id));
    let down = p.teardown(&TeardownTarget::from(&s), false).await.unwrap();
    assert!(down.complete(), "{down:?}");
    assert!(outcome_of(&down.actions, "reserved ip ").is_empty());
    assert_eq!(rig.digitalocean.cloud_counts().reserved_ips, 1);
    let after = rig.do_client.reserved_ips().get(&address).await.unwrap();
    assert!(after.droplet.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_firewall_is_applied_in_one_call_and_left_alone() {
    use digitalocean_client::{FirewallRequest, FirewallTarget, InboundRule};
    let rig = Rig::start(DnsKind::Dyn, Duration::from_secs(5)).await;
    let shared = rig
        .do_client
        .firewalls()
        .create(
            &FirewallRequest::new("office-ssh")
                .inbound(InboundRule::tcp("22", FirewallTarget::anywhere())),
        )
        .await
        .unwrap();
    let p = rig.provisioner();
    let mut s = spec("app-06");
    s.firewalls = vec![FirewallSpec {
        name: "office-ssh".into(),
        inbound: vec![],
        outbound: vec![],
    }];
    let out = p.provision(&s).await;
    let report = out.result.as_ref().expect("provisioned");
    let id = shared.id.clone().unwrap();
    let adds = rig
        .digitalocean
        .requests_matching("POST", &format!("/v2/firewalls/{id}/droplets"));
    assert_eq!(adds.len(), 1);
    let got = rig.do_client.firewalls().get(&id).await.unwrap();
    assert_eq!(got.droplet_ids, vec![report.droplet_id]);

    let down = p.teardown(&TeardownTarget::from(&s), false).await.unwrap();
    assert!(down.complete(), "{down:?}");
    assert!(outcome_of(&down.actions, "firewall ").is_empty());
    assert_eq!(rig.digitalocean.cloud_counts().firewalls, 1);
    // A firewall named without rules must exist: refused before any write.
    let mut missing = spec("app-07");
    missing.firewalls = vec![FirewallSpec {
        name: "nowhere".into(),
        inbound: vec![],
        outbound: vec![],
    }];
    let out = p.provision(&missing).await;
    let failure = out.result.as_ref().unwrap_err();
    assert_eq!(failure.step, Step::Validate);
    assert!(
        format!("{:?}", failure.error).contains("nowhere"),
        "{:?}",
        failure.error
    );
}

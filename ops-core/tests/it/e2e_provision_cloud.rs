//! End-to-end provision tests of the resources of issue #22 (VPC, firewalls, reserved IP,
//! volumes, project, alert policies): the workflow over the real adapters and clients
//! against the testkit fakes, a host created, interrupted mid-way and resumed, rolled back,
//! and torn down to zero resources; a fleet's firewall and project writes in one call each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::e2e_support;

use std::time::Duration;

use digitalocean_client::CreateVpc;
use digitalocean_client::testkit::{CloudCounts, EdgeValue};
use dynect_client::testkit::{Fault, FaultRule};
use e2e_support::{CreateFault, DnsKind, P, Rig, spec};
use ops_core::provision::audit::AuditScope;
use ops_core::provision::spec::{
    AlertsSpec, FirewallSpec, ProjectSpec, ReservedIpSpec, RuleSpec, VolumeSpec, VpcSpec,
};
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

/// [`full`] with a volume (mounted), a project and CPU and disk alerts: every resource of
/// issue #22.
fn everything(name: &str, vpc: &str, firewall: &str, project: &str) -> HostSpec {
    let mut s = full(name, vpc, firewall);
    s.monitoring_agent = true;
    s.volumes = vec![VolumeSpec {
        name: format!("{name}-data"),
        size_gib: 20,
        filesystem: None,
        mount: Some("/srv/data".into()),
    }];
    s.project = Some(ProjectSpec {
        name: project.into(),
        purpose: None,
    });
    s.alerts = Some(AlertsSpec {
        cpu_percent: Some(90),
        disk_percent: Some(85),
        window: None,
        emails: vec!["ops@example.com".into()],
    });
    s
}

/// Requests whose path is exactly `path`.
fn posts_to(rig: &Rig, path: &str) -> usize {
    rig.digitalocean
        .requests_matching("POST", path)
        .into_iter()
        .filter(|r| r.path == path)
        .count()
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

/// Tears `s`'s host down three times and checks each: the dry run names `resources`
/// (an action prefix and how many of it) and removes nothing; the real one removes exactly
/// those, the droplet and the Chef node, and leaves the fake account empty; a second one
/// finds none of them left.
async fn tear_down_to_zero(rig: &Rig, p: &P, s: &HostSpec, resources: &[(&str, usize)]) {
    let target = TeardownTarget::from(s);
    let before = rig.digitalocean.cloud_counts();
    let dry = p.teardown(&target, true).await.unwrap();
    for &(prefix, n) in resources {
        assert_eq!(
            outcome_of(&dry.actions, prefix),
            vec![UndoOutcome::WouldRemove; n],
            "dry run, {prefix}: {dry:?}"
        );
    }
    assert_eq!(
        rig.digitalocean.cloud_counts(),
        before,
        "the dry run removes nothing"
    );
    let first = p.teardown(&target, false).await.unwrap();
    assert!(first.complete(), "{first:?}");
    for &(prefix, n) in resources {
        assert_eq!(
            outcome_of(&first.actions, prefix),
            vec![UndoOutcome::Removed; n],
            "{prefix}: {first:?}"
        );
    }
    assert_eq!(rig.digitalocean.cloud_counts(), CloudCounts::default());
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    assert!(rig.chef.node(&s.name).is_none());
    let again = p.teardown(&target, false).await.unwrap();
    assert!(again.complete(), "{again:?}");
    for &(prefix, _) in resources {
        assert!(
            outcome_of(&again.actions, prefix).is_empty(),
            "again, {prefix}: {again:?}"
        );
    }
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

    // Teardown: the VPC goes after the droplet.
    assert_eq!(TeardownTarget::from(&s).vpc.as_deref(), Some("prod-net"));
    tear_down_to_zero(
        &rig,
        &p,
        &s,
        &[("vpc ", 1), ("firewall ", 1), ("reserved ip ", 1)],
    )
    .await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_every_resource_interrupted_resumed_and_torn_down_to_zero() {
    let rig = Rig::start(DnsKind::Dyn, FAULT_TIMEOUT).await;
    // The droplet create never gets an answer: the run stops after the VPC and the volume.
    rig.proxy.push(CreateFault::HoldUnsent(HOLD));
    let mut config = rig.config();
    config.keep_on_failure = true;
    config.create_attempts = 1;
    let p = rig.provisioner_with(config);
    let s = everything("app-10", "ten-net", "ten-fw", "ten-proj");

    let out = p.provision(&s).await;
    let run_id = out.run_id.clone().expect("a run");
    let failure = out.result.as_ref().unwrap_err();
    assert_eq!(failure.step, Step::CreateDroplet, "{failure:?}");
    let volume = failure
        .kept
        .volumes
        .first()
        .cloned()
        .expect("volume recorded");
    assert!(volume.created);
    assert_eq!(rig.digitalocean.cloud_counts().volumes, 1);
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    // The orphan audit sees the run's volume, attached to nothing.
    let audit = p.audit(&AuditScope::default()).await.unwrap();
    assert_eq!(
        audit
            .detached_volumes
            .iter()
            .map(|v| v.id.as_str())
            .collect::<Vec<_>>(),
        [volume.id.as_str()]
    );

    // Resumed: nothing made twice; the droplet is created with the volume attached.
    let resumed = p.resume(&run_id).await;
    let report = resumed.result.as_ref().expect("resumed to success");
    assert_eq!(posts_to(&rig, "/v2/volumes"), 1, "one volume create in all");
    assert_eq!(vpc_creates(&rig), 1, "one VPC create in all");
    let d = rig
        .do_client
        .droplets()
        .get(report.droplet_id)
        .await
        .unwrap();
    assert_eq!(d.volume_ids, vec![volume.id.clone()]);
    let j = p.journals().load(&run_id).await.unwrap();
    assert_eq!(j.status, RunStatus::Succeeded);
    let project = j.resources.project.clone().expect("project recorded");
    assert!(project.created);
    let ip = j.resources.reserved_ip.clone().expect("reserved ip").ip;
    let mut urns: Vec<String> = rig
        .do_client
        .projects()
        .list_resources(&project.id)
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.urn)
        .collect();
    urns.sort();
    let mut want = vec![
        format!("do:droplet:{}", report.droplet_id),
        format!("do:floatingip:{ip}"),
        format!("do:volume:{}", volume.id),
    ];
    want.sort();
    assert_eq!(urns, want);
    assert_eq!(
        posts_to(&rig, &format!("/v2/projects/{}/resources", project.id)),
        1
    );
    let policies = rig
        .do_client
        .alert_policies()
        .list()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(policies.len(), 2, "{policies:?}");
    for pol in &policies {
        assert_eq!(pol.entities, vec![report.droplet_id.to_string()]);
        assert!(pol.description.starts_with("ops-core app-10: "), "{pol:?}");
        assert_eq!(pol.alerts.email, vec!["ops@example.com".to_string()]);
    }
    assert_eq!(j.resources.alerts.len(), 2);
    let audit = p.audit(&AuditScope::default()).await.unwrap();
    assert!(audit.detached_volumes.is_empty(), "{audit:?}");
    assert!(audit.empty_projects.is_empty(), "{audit:?}");
    assert!(audit.alerts_without_droplet.is_empty(), "{audit:?}");

    tear_down_to_zero(
        &rig,
        &p,
        &s,
        &[
            ("volume ", 1),
            ("project ", 1),
            ("vpc ", 1),
            ("firewall ", 1),
            ("reserved ip ", 1),
            ("alert policy ", 2),
        ],
    )
    .await;
    assert!(
        p.audit(&AuditScope::default())
            .await
            .unwrap()
            .detached_volumes
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_with_every_resource_failing_late_rolls_back_to_zero() {
    let rig = Rig::start(DnsKind::Dyn, Duration::from_secs(5)).await;
    // The A record create keeps failing at Dyn: the run fails after the project step.
    rig.dyn_fake.inject(
        FaultRule::new(Fault::ServerError(503))
            .times(50)
            .method("POST")
            .path_prefix("/REST/ARecord/"),
    );
    let p = rig.provisioner();
    let out = p
        .provision(&everything(
            "app-11",
            "eleven-net",
            "eleven-fw",
            "eleven-proj",
        ))
        .await;
    let failure = out.result.as_ref().unwrap_err();
    assert_eq!(failure.step, Step::DnsRecords, "{failure:?}");
    let rollback = failure.rollback.as_ref().expect("rolled back");
    assert!(rollback.complete(), "{rollback:?}");
    for prefix in ["volume ", "project ", "vpc ", "firewall ", "reserved ip "] {
        assert_eq!(
            outcome_of(&rollback.actions, prefix),
            [UndoOutcome::Removed],
            "{prefix}: {rollback:?}"
        );
    }
    assert_eq!(
        outcome_of(&rollback.actions, "alert policy "),
        [UndoOutcome::Removed, UndoOutcome::Removed]
    );
    assert_eq!(rig.digitalocean.cloud_counts(), CloudCounts::default());
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    let j = p
        .journals()
        .load(out.run_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(j.status, RunStatus::RolledBack);
    assert!(j.resources.is_empty(), "{:?}", j.resources);
}

/// Issue #22, the fleet path: the hosts of a batch are added to an existing firewall in one
/// call and put in their (new) project in one call, counted at the fake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_adds_its_droplets_to_a_firewall_and_a_project_in_one_call_each() {
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
    let fw = shared.id.clone().unwrap();
    let mut config = rig.config();
    // The batch calls wait for every registered host, never for the clock: a linger far
    // beyond any boot makes that the only way they are made.
    config.publish_linger = Duration::from_secs(600);
    let p = rig.provisioner_with(config);
    let specs: Vec<HostSpec> = ["fleet-01", "fleet-02", "fleet-03"]
        .into_iter()
        .map(|n| {
            // A firewall the batch creates (once: its creator's droplet goes in with the
            // create, the others' in one add call), then an existing one.
            let mut s = with_firewall(n, "fleet-net", "fleet-fw");
            s.vpc = None;
            s.firewalls.push(FirewallSpec {
                name: "office-ssh".into(),
                inbound: vec![],
                outbound: vec![],
            });
            s.project = Some(ProjectSpec {
                name: "fleet-proj".into(),
                purpose: Some("Web Application".into()),
            });
            s
        })
        .collect();
    let report = p.provision_fleet(&specs).await;
    let mut ids = Vec::new();
    for h in &report.hosts {
        ids.push(h.result.as_ref().expect("provisioned").droplet_id);
    }
    ids.sort_unstable();
    let adds = rig
        .digitalocean
        .requests_matching("POST", &format!("/v2/firewalls/{fw}/droplets"));
    assert_eq!(adds.len(), 1, "one add call for the batch: {adds:?}");
    let mut on_fw = rig
        .do_client
        .firewalls()
        .get(&fw)
        .await
        .unwrap()
        .droplet_ids;
    on_fw.sort_unstable();
    assert_eq!(on_fw, ids);
    assert_eq!(
        posts_to(&rig, "/v2/firewalls"),
        2,
        "the test's own and one fleet-fw"
    );
    let all_fw = rig
        .do_client
        .firewalls()
        .list()
        .collect_all()
        .await
        .unwrap();
    let made = all_fw.iter().find(|f| f.name == "fleet-fw").unwrap();
    let made_id = made.id.clone().unwrap();
    let mut on_made = made.droplet_ids.clone();
    on_made.sort_unstable();
    assert_eq!(on_made, ids);
    assert_eq!(
        rig.digitalocean
            .requests_matching("POST", &format!("/v2/firewalls/{made_id}/droplets"))
            .len(),
        1,
        "the hosts that did not create it are added in one call"
    );
    let projects = rig.do_client.projects().list().collect_all().await.unwrap();
    let proj = projects
        .iter()
        .find(|p| p.name == "fleet-proj")
        .expect("project created");
    let pid = proj.id.clone().unwrap();
    assert_eq!(
        posts_to(&rig, &format!("/v2/projects/{pid}/resources")),
        1,
        "one assign call for the batch"
    );
    assert_eq!(
        posts_to(&rig, "/v2/projects"),
        1,
        "the project is created once"
    );
    let urns = rig
        .do_client
        .projects()
        .list_resources(&pid)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(urns.len(), 3, "{urns:?}");

    // Torn down host by host: the project stays while another host is in it.
    for (i, s) in specs.iter().enumerate() {
        let down = p.teardown(&TeardownTarget::from(s), false).await.unwrap();
        assert!(down.complete(), "{down:?}");
        for prefix in ["project ", "firewall "] {
            let o = outcome_of(&down.actions, prefix);
            if i + 1 < specs.len() {
                assert!(
                    matches!(o.as_slice(), [UndoOutcome::Skipped(_)]),
                    "{prefix}: {down:?}"
                );
            } else {
                assert_eq!(o, [UndoOutcome::Removed], "{prefix}: {down:?}");
            }
        }
    }
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    assert_eq!(
        rig.digitalocean.cloud_counts(),
        CloudCounts {
            firewalls: 1,
            ..CloudCounts::default()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_volume_is_attached_and_kept_and_one_elsewhere_is_refused() {
    use digitalocean_client::CreateVolume;
    let rig = Rig::start(DnsKind::Dyn, Duration::from_secs(5)).await;
    let held = rig
        .do_client
        .volumes()
        .create(&CreateVolume::new("shared-data", 10, "nyc3"))
        .await
        .unwrap();
    rig.do_client
        .volumes()
        .create(&CreateVolume::new("far-data", 10, "ams3"))
        .await
        .unwrap();
    let p = rig.provisioner();
    let mut far = spec("app-13");
    far.volumes = vec![VolumeSpec {
        name: "far-data".into(),
        size_gib: 10,
        filesystem: None,
        mount: None,
    }];
    let out = p.provision(&far).await;
    let failure = out.result.as_ref().unwrap_err();
    assert_eq!(failure.step, Step::Validate);
    assert!(
        format!("{:?}", failure.error).contains("far-data"),
        "{:?}",
        failure.error
    );
    assert_eq!(rig.creates_received(), 0);
    assert!(rig.chef.node("app-13").is_none());

    let mut s = spec("app-12");
    s.volumes = vec![VolumeSpec {
        name: "shared-data".into(),
        size_gib: 10,
        filesystem: None,
        mount: Some("/srv/shared".into()),
    }];
    let out = p.provision(&s).await;
    let report = out.result.as_ref().expect("provisioned");
    assert_eq!(
        posts_to(&rig, "/v2/volumes"),
        2,
        "only the test's own creates"
    );
    let id = held.id.clone().unwrap();
    let got = rig.do_client.volumes().get(&id).await.unwrap();
    assert_eq!(got.droplet_ids, vec![report.droplet_id]);
    let down = p.teardown(&TeardownTarget::from(&s), false).await.unwrap();
    assert!(down.complete(), "{down:?}");
    assert!(matches!(
        outcome_of(&down.actions, "volume ").as_slice(),
        [UndoOutcome::Skipped(_)]
    ));
    assert_eq!(rig.digitalocean.cloud_counts().volumes, 2);
    let after = rig.do_client.volumes().get(&id).await.unwrap();
    assert!(after.droplet_ids.is_empty());
}

/// Creates whose answer is lost (the proxy forwards them, then answers 502) are adopted,
/// never sent again: the volume by name and run tag, the project by name, the alert policy
/// by its description. The host then tears down to zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_to_volume_project_and_alert_creates_are_adopted_not_repeated() {
    let rig = Rig::start(DnsKind::Dyn, Duration::from_secs(5)).await;
    for path in ["/v2/volumes", "/v2/projects", "/v2/monitoring/alerts"] {
        rig.proxy.push_on(path, CreateFault::BadGatewayAnswer);
    }
    let p = rig.provisioner();
    let s = everything("app-14", "fourteen-net", "fourteen-fw", "fourteen-proj");
    let out = p.provision(&s).await;
    let report = out
        .result
        .as_ref()
        .expect("provisioned despite the lost answers");
    assert_eq!(rig.proxy.pending(), 0, "every fault was used");
    assert_eq!(posts_to(&rig, "/v2/volumes"), 1);
    assert_eq!(posts_to(&rig, "/v2/projects"), 1);
    assert_eq!(posts_to(&rig, "/v2/monitoring/alerts"), 2, "one per metric");
    let counts = rig.digitalocean.cloud_counts();
    assert_eq!(
        (counts.volumes, counts.projects, counts.alert_policies),
        (1, 1, 2)
    );
    let j = p.journals().load(&report.run_id).await.unwrap();
    assert!(j.resources.volumes.iter().all(|v| v.created), "{j:?}");
    assert!(j.resources.project.as_ref().is_some_and(|p| p.created));
    assert_eq!(j.resources.alerts.len(), 2);
    assert!(j.resources.volume_creates_sent.is_empty());
    assert_eq!(j.resources.project_creates_sent, 0);
    assert!(j.resources.alert_creates_sent.is_empty());

    let down = p.teardown(&TeardownTarget::from(&s), false).await.unwrap();
    assert!(down.complete(), "{down:?}");
    assert_eq!(rig.digitalocean.cloud_counts(), CloudCounts::default());
    assert_eq!(rig.digitalocean.droplet_count(), 0);
}

/// Issue #22 with the testkit's spec-valid edge values (each confirmed within the spec by
/// `e2e_provision_prism.rs`): a host with every resource is provisioned, its volume create
/// answer lost and adopted, and torn down to zero, whatever the fake leaves out, nulls,
/// empties or adds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_resource_holds_with_each_edge_value_mode() {
    let all = [
        EdgeValue::Nulls,
        EdgeValue::OmittedOptional,
        EdgeValue::EmptyArrays,
        EdgeValue::UnknownFields,
    ];
    let mut runs: Vec<Vec<EdgeValue>> = all.iter().map(|m| vec![*m]).collect();
    runs.push(all.to_vec());
    for modes in runs {
        let rig = Rig::start(DnsKind::DigitalOcean, Duration::from_secs(5)).await;
        rig.digitalocean.faults().set_edge_values(&modes);
        rig.proxy
            .push_on("/v2/volumes", CreateFault::BadGatewayAnswer);
        let p = rig.provisioner();
        let s = everything("edge-10", "edge-net", "edge-fw", "edge-proj");
        let out = p.provision(&s).await;
        let report = out
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{modes:?}: provision failed: {e:?}"));
        assert_eq!(posts_to(&rig, "/v2/volumes"), 1, "{modes:?}");
        let j = p.journals().load(&report.run_id).await.unwrap();
        assert!(j.resources.volumes.iter().all(|v| v.created), "{modes:?}");
        let counts = rig.digitalocean.cloud_counts();
        assert_eq!(
            (counts.volumes, counts.projects, counts.alert_policies),
            (1, 1, 2),
            "{modes:?}"
        );
        let down = p.teardown(&TeardownTarget::from(&s), false).await.unwrap();
        assert!(down.complete(), "{modes:?}: {down:?}");
        assert_eq!(
            rig.digitalocean.cloud_counts(),
            CloudCounts::default(),
            "{modes:?}: {down:?}"
        );
        assert_eq!(rig.digitalocean.droplet_count(), 0, "{modes:?}");
    }
}

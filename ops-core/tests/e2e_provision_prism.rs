//! The provision workflow, and the DigitalOcean client surface it uses, through
//! `prism proxy --errors` (Prism 5.14.2 with DigitalOcean's official OpenAPI spec) in front of
//! the DigitalOcean testkit fake. Prism answers a request that violates the spec with 422 and
//! an answer that violates it with 500 (either fails the workflow or a step here), and logs
//! every violation it sees; the test also fails on any violation line in Prism's log.
//!
//! Needs Node.js and Prism: run by `scripts/ci/provision-prism.sh`. The launcher is
//! `ops_proptest::prism`, shared with digitalocean-client's Prism suite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use std::time::{Duration, Instant};

use digitalocean_client::testkit::EdgeValue;
use digitalocean_client::{
    CreateDroplet, DomainRecordRequest, DropletSpec, RecordFilter, SshKeyId, TagResource,
    WaitOptions,
};
use e2e_support::{CreateFault, DnsKind, Rig, ZONE, spec};
use ops_core::ports::{Compute, Dns, DropletFilter};
use ops_core::provision::{TeardownTarget, UndoOutcome};
use ops_proptest::prism::Prism;

#[track_caller]
fn ok<T, E: std::fmt::Debug>(step: &str, r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("step `{step}` failed through Prism: {e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Prism (Node.js); run by scripts/ci/provision-prism.sh"]
async fn provision_workflow_and_client_surface_pass_prism_validation() {
    through_prism(&[]).await;
}

// Issue #16: each of the fake's spec-valid edge-value modes, confirmed within the spec by
// Prism (an answer outside it is a 500 and a logged violation), with the whole workflow.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Prism (Node.js); run by scripts/ci/provision-prism.sh"]
async fn edge_values_nulls_are_within_the_spec_and_the_workflow_holds() {
    through_prism(&[EdgeValue::Nulls]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Prism (Node.js); run by scripts/ci/provision-prism.sh"]
async fn edge_values_omitted_optional_fields_are_within_the_spec_and_the_workflow_holds() {
    through_prism(&[EdgeValue::OmittedOptional]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Prism (Node.js); run by scripts/ci/provision-prism.sh"]
async fn edge_values_empty_arrays_are_within_the_spec_and_the_workflow_holds() {
    through_prism(&[EdgeValue::EmptyArrays]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Prism (Node.js); run by scripts/ci/provision-prism.sh"]
async fn edge_values_unknown_fields_are_within_the_spec_and_the_workflow_holds() {
    through_prism(&[EdgeValue::UnknownFields]).await;
}

async fn through_prism(modes: &[EdgeValue]) {
    let mut prism_slot = None;
    let rig = Rig::start_fronted(DnsKind::DigitalOcean, Duration::from_secs(30), |upstream| {
        let slot = &mut prism_slot;
        async move {
            // Starting blocks until Prism listens (up to 180 s): off the runtime's workers.
            let p = tokio::task::spawn_blocking(move || Prism::proxy(&upstream, "prism-provision"))
                .await
                .unwrap();
            let uri = p.uri();
            *slot = Some(p);
            uri
        }
    })
    .await;
    let prism = prism_slot.unwrap();
    rig.digitalocean.faults().set_edge_values(modes);
    let c = rig.do_client.clone();
    let started = Instant::now();

    // 1. The client surface the adapters use, plus tags, step by step.
    let opts = WaitOptions::new(Duration::from_secs(20), Duration::from_millis(100));
    ok("regions", c.regions().list().collect_all().await);
    ok("sizes", c.sizes().list().collect_all().await);
    ok(
        "image by slug",
        c.images().get_by_slug("ubuntu-24-04-x64").await,
    );
    let keys = ok("ssh keys", c.ssh_keys().list().collect_all().await);
    let mut s = DropletSpec::new("nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64");
    s.ssh_keys = vec![SshKeyId::Id(keys[0].id.expect("key id"))];
    s.tags = vec!["ops-core".into(), "ops-run:prism-surface".into()];
    s.ipv6 = true;
    s.user_data = Some("#cloud-config\nruncmd: [true]\n".into());
    let created = ok(
        "create droplet",
        c.droplets()
            .create(&CreateDroplet::new("surface-01", s))
            .await,
    );
    let active = ok(
        "wait until active",
        c.droplets()
            .wait_until_active(created.droplet.id, opts)
            .await,
    );
    assert!(active.public_ipv4().is_some());
    ok(
        "list by tag",
        c.droplets()
            .list_by_tag("ops-run:prism-surface")
            .collect_all()
            .await,
    );
    ok(
        "list by name",
        c.droplets().list_by_name("surface-01").collect_all().await,
    );
    ok("create tag", c.tags().create("prism-extra").await);
    ok(
        "tag droplet",
        c.tags()
            .tag_resources("prism-extra", &[TagResource::droplet(active.id)])
            .await,
    );
    ok("get tag", c.tags().get("prism-extra").await);
    ok(
        "untag droplet",
        c.tags()
            .untag_resources("prism-extra", &[TagResource::droplet(active.id)])
            .await,
    );
    ok("delete tag", c.tags().delete("prism-extra").await);
    ok("get domain", c.domains().get(ZONE).await);
    let rec = ok(
        "create record",
        c.domain_records(ZONE)
            .create(&DomainRecordRequest::new("A", "surface-01", "203.0.113.77").ttl(300))
            .await,
    );
    ok(
        "list records by name",
        c.domain_records(ZONE)
            .list_filtered(&RecordFilter {
                record_type: Some("A".into()),
                name: Some(format!("surface-01.{ZONE}")),
            })
            .collect_all()
            .await,
    );
    ok(
        "delete record",
        c.domain_records(ZONE)
            .delete(rec.id.expect("record id"))
            .await,
    );
    ok("delete droplet", c.droplets().delete(active.id).await);
    let gone = c.droplets().get(active.id).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone:?}");

    // 2. The adapters' "not there" answers through Prism.
    let compute = ops_core::adapters::DigitalOceanCompute::new(c.clone());
    assert!(ok("adapter get gone", compute.get_droplet(active.id).await).is_none());
    let e = compute.delete_droplet(active.id).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(ok("adapter image", compute.image("no-such-image").await).is_none());
    let dns = ops_core::adapters::DigitalOceanDns::new(c.clone());
    assert!(!ok("adapter zone", dns.owns_zone("not-ours.example").await));
    assert!(
        ok(
            "adapter records",
            dns.records(ZONE, Some("nothing.example.com")).await
        )
        .is_empty()
    );

    // 3. The workflow, end to end, with DigitalOcean Domains for DNS.
    let p = rig.provisioner();
    let hs = spec("web-01");
    let out = p.provision(&hs).await;
    let report = out.result.as_ref().expect("provisioned through Prism");
    assert_eq!(rig.dns_records("web-01.example.com").await.len(), 1);

    // 4. An ambiguous create (answer lost after the droplet was created) through Prism:
    //    adopted, never created twice.
    rig.proxy.push(CreateFault::DropAnswer);
    let out2 = p.provision(&spec("web-02")).await;
    let r2 = out2.result.as_ref().expect("adopted through Prism");
    assert!(r2.adopted, "{r2:?}");
    assert_eq!(rig.droplets_named("web-02").await, 1);
    let tagged = ok(
        "adapter list by tag",
        compute
            .droplets(&DropletFilter::Tag(format!("ops-run:{}", r2.run_id)))
            .await,
    );
    assert_eq!(tagged.len(), 1);

    // 5. Teardown, twice.
    for name in ["web-01", "web-02"] {
        let target = TeardownTarget::from(&spec(name));
        let first = ok("teardown", p.teardown(&target, false).await);
        assert!(first.complete(), "{first:?}");
        let again = ok("teardown again", p.teardown(&target, false).await);
        assert!(
            again
                .actions
                .iter()
                .all(|a| !matches!(a.outcome, UndoOutcome::Removed | UndoOutcome::Failed(_))),
            "{again:?}"
        );
    }
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    eprintln!(
        "workflow through Prism with {modes:?}: {:?}, droplet {} adopted {}",
        started.elapsed(),
        report.droplet_id,
        r2.adopted
    );

    let violations = prism.violations();
    assert!(
        violations.is_empty(),
        "Prism logged {} spec violation(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
    assert!(rig.digitalocean.requests().len() > 30);
}

/// Issue #22: a host with a VPC, a firewall the spec defines, a new reserved IP, a volume
/// (mounted), a project and CPU and disk alerts, with the DigitalOcean fake behind `prism
/// proxy --errors`, so every call of the workflow for them (and the fake's answers) is
/// checked against the official spec: created, interrupted as a crash would (the run is
/// dropped when its project step starts, the journal saying the step started), resumed
/// to success with nothing made twice, and torn down to zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Prism (Node.js); run by scripts/ci/provision-prism.sh"]
async fn host_with_every_network_storage_and_monitoring_resource_through_prism() {
    every_resource_through_prism(&[]).await;
}

/// The same host with every edge-value mode of the fake at once: the testkit's tables for
/// volumes, projects, project resources and alert policies (issue #22) stay within the
/// spec, and the workflow holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Prism (Node.js); run by scripts/ci/provision-prism.sh"]
async fn host_with_every_resource_and_every_edge_value_through_prism() {
    every_resource_through_prism(&[
        EdgeValue::Nulls,
        EdgeValue::OmittedOptional,
        EdgeValue::EmptyArrays,
        EdgeValue::UnknownFields,
    ])
    .await;
}

async fn every_resource_through_prism(modes: &[EdgeValue]) {
    use std::sync::Arc;

    use digitalocean_client::testkit::CloudCounts;
    use ops_core::provision::spec::{
        AlertsSpec, FirewallSpec, ProjectSpec, ReservedIpSpec, RuleSpec, VolumeSpec, VpcSpec,
    };
    use ops_core::provision::{ProgressEvent, RunStatus, Step};

    let mut prism_slot = None;
    let rig = Rig::start_fronted(DnsKind::DigitalOcean, Duration::from_secs(30), |upstream| {
        let slot = &mut prism_slot;
        async move {
            let p = tokio::task::spawn_blocking(move || Prism::proxy(&upstream, "prism-provision"))
                .await
                .unwrap();
            let uri = p.uri();
            *slot = Some(p);
            uri
        }
    })
    .await;
    let prism = prism_slot.unwrap();
    rig.digitalocean.faults().set_edge_values(modes);
    let mut s = spec("net-01");
    s.monitoring_agent = true;
    s.vpc = Some(VpcSpec {
        name: "prism-net".into(),
        ip_range: Some("10.30.0.0/20".into()),
    });
    s.firewalls = vec![FirewallSpec {
        name: "prism-fw".into(),
        inbound: vec![RuleSpec {
            protocol: "tcp".into(),
            ports: Some("22".into()),
            addresses: vec!["192.0.2.0/24".into()],
        }],
        outbound: vec![RuleSpec {
            protocol: "icmp".into(),
            ports: None,
            addresses: vec![],
        }],
    }];
    s.reserved_ip = Some(ReservedIpSpec::default());
    s.volumes = vec![VolumeSpec {
        name: "net-01-data".into(),
        size_gib: 10,
        filesystem: Some("ext4".into()),
        mount: Some("/srv/data".into()),
    }];
    s.project = Some(ProjectSpec {
        name: "prism-proj".into(),
        purpose: Some("Web Application".into()),
    });
    s.alerts = Some(AlertsSpec {
        cpu_percent: Some(90),
        disk_percent: Some(80),
        window: Some("10m".into()),
        emails: vec!["ops@example.com".into()],
    });

    // The first run is dropped (a crash, not an error) once its project step has started.
    let project_started = Arc::new(tokio::sync::Notify::new());
    let seen = project_started.clone();
    let p = rig
        .provisioner()
        .with_progress(Arc::new(move |e: &ProgressEvent| {
            if let ProgressEvent::StepStarted {
                step: Step::Project,
                ..
            } = e
            {
                seen.notify_one();
            }
        }));
    tokio::select! {
        out = p.provision(&s) => panic!("the run should have been interrupted: {out:?}"),
        () = project_started.notified() => {}
    }
    let journals = ok("list journals", p.journals().list().await);
    let [j] = journals.as_slice() else {
        panic!("one journal expected: {journals:?}")
    };
    assert_eq!(j.status, RunStatus::InProgress);
    assert!(
        j.is_done(Step::Alerts) && !j.is_done(Step::Project),
        "{j:?}"
    );
    let run_id = j.run_id.clone();

    let resumed = p.resume(&run_id).await;
    let report = ok("resume", resumed.result.as_ref());
    let counts = rig.digitalocean.cloud_counts();
    assert_eq!(
        counts,
        CloudCounts {
            firewalls: 1,
            vpcs: 1,
            reserved_ips: 1,
            projects: 1,
            volumes: 1,
            alert_policies: 2,
        }
    );
    let d = ok(
        "get droplet",
        rig.do_client.droplets().get(report.droplet_id).await,
    );
    if modes.is_empty() {
        // (The edge modes leave out `vpc_uuid` and empty `volume_ids`.)
        assert!(d.vpc_uuid.is_some());
        assert_eq!(d.volume_ids.len(), 1);
    }
    let j = ok("load journal", p.journals().load(&run_id).await);
    let project = j.resources.project.clone().expect("project recorded");
    let urns = ok(
        "project resources",
        rig.do_client
            .projects()
            .list_resources(&project.id)
            .collect_all()
            .await,
    );
    assert_eq!(urns.len(), 3, "droplet, volume and reserved IP: {urns:?}");

    let down = ok(
        "teardown",
        p.teardown(&TeardownTarget::from(&s), false).await,
    );
    assert!(down.complete(), "{down:?}");
    assert!(
        down.actions
            .iter()
            .filter(|a| [
                "vpc ",
                "firewall ",
                "reserved ip ",
                "volume ",
                "project ",
                "alert policy "
            ]
            .iter()
            .any(|k| a.resource.starts_with(k)))
            .all(|a| a.outcome == UndoOutcome::Removed),
        "{down:?}"
    );
    assert_eq!(rig.digitalocean.cloud_counts(), CloudCounts::default());
    assert_eq!(rig.digitalocean.droplet_count(), 0);
    let violations = prism.violations();
    assert!(
        violations.is_empty(),
        "Prism logged {} spec violation(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
}

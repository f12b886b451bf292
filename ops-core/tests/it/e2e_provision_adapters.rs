//! The adapters' mapping rules, each checked over the real client against its testkit fake:
//! "not there" answers, ambiguous versus unambiguous write failures, Dyn's lost changes on
//! session expiry, the DNS provider chosen by configuration, and the Nagios adapters
//! (monitoring state, restore downtime on QA's database checks).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use digitalocean_client::testkit::FakeDigitalOcean;
use dynect_client::testkit::{FakeDyn, Fault, FaultRule};
use nagios_client::testkit::FakeNagios;
use nagios_client::{HostStatus, ServiceStatus, Target};
use ops_core::adapters::{
    DigitalOceanCompute, DnsAdapter, DnsConfig, DynDns, NagiosDowntime, NagiosMonitoring,
};
use ops_core::ports::{
    Compute, Dns, DropletFilter, HostState, Monitoring, NewDroplet, NewRecord, PortErrorKind,
    RecordType,
};
use ops_core::restore::Downtime;
use secrecy::SecretString;

fn new_droplet(name: &str) -> NewDroplet {
    NewDroplet {
        name: name.into(),
        region: "nyc3".into(),
        size: "s-1vcpu-1gb".into(),
        image: "ubuntu-24-04-x64".into(),
        ssh_keys: vec![],
        tags: vec!["ops-core".into(), format!("ops-run:{name}")],
        user_data: Some(SecretString::from(
            "#cloud-config\n# key: SECRET-USER-DATA\n",
        )),
        ipv6: true,
        monitoring: false,
        vpc_id: None,
        volume_ids: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digitalocean_compute_maps_answers_and_failures() {
    let fake = FakeDigitalOcean::start().await.unwrap();
    let compute = DigitalOceanCompute::new(fake.client().unwrap());

    // Catalog and "not there".
    assert!(
        compute
            .regions()
            .await
            .unwrap()
            .iter()
            .any(|r| r.slug == "nyc3")
    );
    assert!(
        compute
            .sizes()
            .await
            .unwrap()
            .iter()
            .any(|s| s.slug == "s-1vcpu-1gb")
    );
    let img = compute.image("ubuntu-24-04-x64").await.unwrap().unwrap();
    assert_eq!(
        compute
            .image(&img.id.to_string())
            .await
            .unwrap()
            .unwrap()
            .id,
        img.id
    );
    assert!(compute.image("no-such-image").await.unwrap().is_none());
    assert!(compute.get_droplet(987_654).await.unwrap().is_none());
    let e = compute.delete_droplet(987_654).await.unwrap_err();
    assert!(e.is_not_found() && !e.is_ambiguous(), "{e:?}");

    // A create, found by name and by run tag; the user data never shows in errors or Debug.
    let d = compute
        .create_droplet(&new_droplet("web-01"))
        .await
        .unwrap();
    assert!(!format!("{:?}", new_droplet("x")).contains("SECRET-USER-DATA"));
    let by_tag = compute
        .droplets(&DropletFilter::Tag("ops-run:web-01".into()))
        .await
        .unwrap();
    assert_eq!(by_tag.iter().map(|d| d.id).collect::<Vec<_>>(), vec![d.id]);
    let by_name = compute
        .droplets(&DropletFilter::Name("web-01".into()))
        .await
        .unwrap();
    assert_eq!(by_name.len(), 1);

    // A 5xx answer to the create is ambiguous: the adapter cannot know it was not processed.
    fake.faults().fail_next(1, 503);
    let e = compute
        .create_droplet(&new_droplet("web-02"))
        .await
        .unwrap_err();
    assert!(e.is_ambiguous(), "{e:?}");
    assert_eq!(e.kind(), PortErrorKind::Unavailable);
    assert!(!e.to_string().contains("SECRET-USER-DATA"));

    // A 429 asking for longer than the client waits: rate limited, not processed.
    fake.faults().rate_limit_next(1, 3600);
    let e = compute
        .create_droplet(&new_droplet("web-03"))
        .await
        .unwrap_err();
    assert!(e.is_rate_limited() && !e.is_ambiguous(), "{e:?}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));

    // A 422 (bad size) is a rejection, not ambiguous.
    let mut bad = new_droplet("web-04");
    bad.size = "no-such-size".into();
    let e = compute.create_droplet(&bad).await.unwrap_err();
    assert!(!e.is_ambiguous(), "{e:?}");
    assert_eq!(e.kind(), PortErrorKind::Rejected, "{e:?}");

    // Connection refused: certainly never sent, so not ambiguous.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = DigitalOceanCompute::new(
        fake.client_builder()
            .base_url(format!("http://127.0.0.1:{port}"))
            .build()
            .unwrap(),
    );
    let e = nowhere
        .create_droplet(&new_droplet("web-05"))
        .await
        .unwrap_err();
    assert!(!e.is_ambiguous(), "{e:?}");
    assert_eq!(e.kind(), PortErrorKind::Unavailable);
    assert_eq!(fake.droplet_count(), 1);
}

/// Issue #22: volumes, projects and alert policies through the DigitalOcean adapter: a
/// volume attached at droplet create, a project assignment in one call (a resource the
/// provider did not take is an error), the refusals mapped (an attached volume and a
/// project holding resources → `AlreadyExists`; gone → `NotFound`), a create failing with
/// a 5xx → ambiguous.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digitalocean_compute_maps_volumes_projects_and_alerts() {
    use ops_core::ports::{
        AlertMetric, NewAlertPolicy, NewProject, NewVolume, PROJECT_MARK, ProjectMember,
    };
    let fake = FakeDigitalOcean::start().await.unwrap();
    let compute = DigitalOceanCompute::new(fake.client().unwrap());

    let v = compute
        .create_volume(&NewVolume {
            name: "web-01-data".into(),
            region: "nyc3".into(),
            size_gib: 10,
            filesystem: Some("xfs".into()),
            label: None,
            tags: vec!["ops-core".into(), "ops-run:web-01".into()],
        })
        .await
        .unwrap();
    assert_eq!((v.region.as_str(), v.size_gib), ("nyc3", 10));
    assert!(v.tags.contains(&"ops-run:web-01".to_string()));
    let mut req = new_droplet("web-01");
    req.volume_ids = vec![v.id.clone()];
    let d = compute.create_droplet(&req).await.unwrap();
    let listed = compute.volumes().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].droplet_ids, vec![d.id]);
    let e = compute.delete_volume(&v.id).await.unwrap_err();
    assert_eq!(e.kind(), PortErrorKind::AlreadyExists, "{e:?}");
    assert!(!e.is_ambiguous());

    let p = compute
        .create_project(&NewProject {
            name: "web".into(),
            purpose: "Web Application".into(),
            description: PROJECT_MARK.into(),
        })
        .await
        .unwrap();
    assert_eq!(p.description, PROJECT_MARK);
    assert!(
        compute
            .projects()
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == p.id)
    );
    compute
        .assign_to_project(
            &p.id,
            &[
                ProjectMember::Droplet(d.id),
                ProjectMember::Volume(v.id.clone()),
            ],
        )
        .await
        .unwrap();
    // Again: already there is fine (safe to repeat).
    compute
        .assign_to_project(&p.id, &[ProjectMember::Droplet(d.id)])
        .await
        .unwrap();
    assert_eq!(compute.project_member_count(&p.id).await.unwrap(), 2);
    let e = compute
        .assign_to_project(&p.id, &[ProjectMember::ReservedIp("192.0.2.99".into())])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), PortErrorKind::NotFound, "{e:?}");
    assert!(e.to_string().contains("do:floatingip:192.0.2.99"), "{e}");
    let e = compute.delete_project(&p.id).await.unwrap_err();
    assert_eq!(e.kind(), PortErrorKind::AlreadyExists, "{e:?}");

    let a = compute
        .create_alert_policy(&NewAlertPolicy {
            metric: AlertMetric::Disk,
            description: "ops-core web-01: disk (ops-run:web-01)".into(),
            percent: 85.0,
            window: "10m".into(),
            droplet_ids: vec![d.id],
            emails: vec!["ops@example.com".into()],
        })
        .await
        .unwrap();
    assert_eq!(a.metric, Some(AlertMetric::Disk));
    assert_eq!(a.droplet_ids, vec![d.id]);
    assert_eq!(compute.alert_policies().await.unwrap(), vec![a.clone()]);
    compute.delete_alert_policy(&a.id).await.unwrap();
    let e = compute.delete_alert_policy(&a.id).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");

    // Gone in order: droplet (detaches the volume, leaves the project), volume, project.
    compute.delete_droplet(d.id).await.unwrap();
    compute.delete_volume(&v.id).await.unwrap();
    compute.delete_project(&p.id).await.unwrap();
    assert!(
        compute
            .delete_project(&p.id)
            .await
            .unwrap_err()
            .is_not_found()
    );

    // A create answered with a 5xx may have been applied: ambiguous, never retried.
    fake.faults().fail_next(1, 503);
    let e = compute
        .create_project(&NewProject {
            name: "later".into(),
            purpose: "x".into(),
            description: PROJECT_MARK.into(),
        })
        .await
        .unwrap_err();
    assert!(e.is_ambiguous(), "{e:?}");
    assert_eq!(
        fake.requests_matching("POST", "/v2/projects")
            .into_iter()
            .filter(|r| r.path == "/v2/projects")
            .count(),
        2,
        "the first create and this one, not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dyn_session_expiry_before_publish_is_reported_as_lost_changes() {
    let fake = FakeDyn::start().await.unwrap();
    fake.add_zone("example.com");
    let dns = DynDns::new(fake.client().unwrap());
    assert!(dns.needs_publish());
    assert!(dns.owns_zone("example.com").await.unwrap());
    assert!(!dns.owns_zone("example.org").await.unwrap());
    let rec = NewRecord {
        zone: "example.com".into(),
        fqdn: "web-01.example.com".into(),
        rtype: RecordType::A,
        data: "203.0.113.10".into(),
        ttl: Some(300),
    };
    dns.create_record(&rec).await.unwrap();
    fake.inject(
        FaultRule::new(Fault::ExpireSession)
            .method("PUT")
            .path_prefix("/REST/Zone/"),
    );
    let e = dns.publish("example.com", "add web-01").await.unwrap_err();
    assert!(!e.is_ambiguous(), "{e:?}");
    assert_eq!(e.kind(), PortErrorKind::Other);
    assert!(
        e.message().contains("lost") && e.message().contains("example.com"),
        "{}",
        e.message()
    );
    assert!(fake.records("example.com").is_empty());

    // Redo the write in the new session, publish: one record, with its id after publishing.
    dns.create_record(&rec).await.unwrap();
    let published = dns.publish("example.com", "add web-01").await.unwrap();
    assert!(published.serial.is_some());
    let found = dns
        .records("example.com", Some("web-01.example.com"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].data, "203.0.113.10");
    assert!(found[0].id.is_some());
    assert!(
        dns.records("example.com", Some("none.example.com"))
            .await
            .unwrap()
            .is_empty()
    );

    // Delete by zone/name/type/data alone (no id), publish; deleting again is NotFound.
    let mut by_data = found[0].clone();
    by_data.id = None;
    dns.delete_record(&by_data).await.unwrap();
    dns.publish("example.com", "remove web-01").await.unwrap();
    assert!(fake.records("example.com").is_empty());
    let e = dns.delete_record(&by_data).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_provider_is_chosen_by_configuration() {
    let fake = FakeDyn::start().await.unwrap();
    fake.add_zone("example.com");
    let toml_text = format!(
        r#"
provider = "dyn"
customer = "{}"
user = "{}"
password = "{}"
base_url = "{}"
rate_limit_per_minute = 240
"#,
        FakeDyn::CUSTOMER,
        FakeDyn::USER,
        FakeDyn::PASSWORD,
        fake.uri()
    );
    let cfg: DnsConfig = toml::from_str(&toml_text).unwrap();
    assert!(!format!("{cfg:?}").contains(FakeDyn::PASSWORD));
    let dns = cfg.build(None).unwrap();
    assert!(matches!(dns, DnsAdapter::Dyn(_)));
    assert_eq!(dns.provider(), "dyn");
    assert!(dns.owns_zone("example.com").await.unwrap());

    let cfg: DnsConfig = toml::from_str(r#"provider = "digitalocean""#).unwrap();
    assert!(cfg.build(None).is_err(), "needs the DigitalOcean client");
    let do_fake = FakeDigitalOcean::start().await.unwrap();
    let dns = cfg.build(Some(&do_fake.client().unwrap())).unwrap();
    assert_eq!(dns.provider(), "digitalocean");
    assert!(!dns.needs_publish());
    assert!(!dns.owns_zone("example.com").await.unwrap());
}

/// One limiter for Dyn, in the client, on by default (240 a minute: 250 ms apart), counting
/// every request: a login and three reads cannot take less than 750 ms. (A lower bound only:
/// it holds however loaded the machine is.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dyn_is_limited_by_its_client_by_default() {
    let fake = FakeDyn::start().await.unwrap();
    fake.add_zone("example.com");
    let cfg: DnsConfig = toml::from_str(&format!(
        "provider = \"dyn\"\ncustomer = \"{}\"\nuser = \"{}\"\npassword = \"{}\"\nbase_url = \"{}\"\n",
        FakeDyn::CUSTOMER,
        FakeDyn::USER,
        FakeDyn::PASSWORD,
        fake.uri()
    ))
    .unwrap();
    let dns = cfg.build(None).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..3 {
        assert!(dns.owns_zone("example.com").await.unwrap());
    }
    let requests = fake.requests().len();
    assert!(requests >= 4, "{requests}");
    assert!(
        t.elapsed() >= Duration::from_millis(250) * (requests as u32 - 1),
        "{requests} requests in {:?}",
        t.elapsed()
    );
    // The workflow does not count Dyn calls a second time.
    assert_eq!(
        ops_core::provision::Budgets::default().dns.name(),
        "dns",
        "unlimited DNS budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nagios_monitoring_reports_host_states() {
    let fake = FakeNagios::builder()
        .host("web-01", HostStatus::Down)
        .start()
        .await
        .unwrap();
    let mon = NagiosMonitoring::new(fake.client().unwrap());
    assert_eq!(mon.host_state("unknown-01").await.unwrap(), None);
    assert_eq!(
        mon.host_state("web-01").await.unwrap(),
        Some(HostState::Down)
    );
    assert!(fake.set_host_state("web-01", HostStatus::Up, "PING OK"));
    fake.publish_now();
    assert_eq!(mon.host_state("web-01").await.unwrap(), Some(HostState::Up));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nagios_downtime_on_qa_database_checks_is_scheduled_and_cancelled() {
    let fake = FakeNagios::builder()
        .service("db-qa-01", "PostgreSQL", ServiceStatus::Ok, "OK")
        .service(
            "db-qa-01",
            "PostgreSQL connections",
            ServiceStatus::Ok,
            "OK",
        )
        .service("db-qa-01", "Disk", ServiceStatus::Ok, "OK")
        // Changes show only when the test publishes them: no race with the clock.
        .update_delay(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let client = fake.client().unwrap();
    // Someone else's downtime on the same check must survive our cancel.
    client
        .schedule_downtime(
            &nagios_client::ScheduleDowntime::new(
                Target::service("db-qa-01", "PostgreSQL"),
                Duration::from_secs(3600),
            )
            .author("alice")
            .comment("planned maintenance"),
        )
        .await
        .unwrap();
    let dt = NagiosDowntime::new(
        client.clone(),
        vec![
            Target::service("db-qa-01", "PostgreSQL"),
            Target::service("db-qa-01", "PostgreSQL connections"),
        ],
    )
    .cancel_wait(Duration::from_secs(60), Duration::from_millis(25));
    fake.publish_now(); // alice's downtime is visible; ours will not be until published

    // Returns without waiting for Nagios's next status update: ours never shows unless the
    // test publishes it, so a schedule that waited for it would hit this 60 s ceiling.
    let id = tokio::time::timeout(
        Duration::from_secs(60),
        dt.schedule("qa", Duration::from_secs(300), "restore"),
    )
    .await
    .expect("schedule returned without waiting for the downtime to show")
    .unwrap();
    // Cancel right away: the downtime is not visible yet, the adapter waits for it. Publish
    // only once the adapter has polled the state at least once and found nothing to cancel.
    let polls_before = fake.requests().len();
    let cancel = dt.cancel(&id);
    let publish = async {
        while fake.requests().len() <= polls_before {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        fake.publish_now();
    };
    let (cancelled, ()) = tokio::join!(cancel, publish);
    cancelled.unwrap();
    fake.publish_now();
    let state = client.state().await.unwrap();
    let host = &state["db-qa-01"];
    let ours = |svc: &str| {
        host.services[svc]
            .downtimes
            .values()
            .filter(|d| d.comment.contains(&id))
            .count()
    };
    assert_eq!(ours("PostgreSQL"), 0);
    assert_eq!(ours("PostgreSQL connections"), 0);
    assert_eq!(
        host.services["PostgreSQL"].downtimes.len(),
        1,
        "alice's stays"
    );
    assert!(host.services["Disk"].downtimes.is_empty());
    // Exactly one schedule per target, and cancels by id.
    let cmds = fake.external_commands();
    assert_eq!(
        cmds.iter()
            .filter(|c| c.contains("SCHEDULE_SVC_DOWNTIME"))
            .count(),
        3,
        "{cmds:?}"
    );
    assert_eq!(
        cmds.iter()
            .filter(|c| c.contains("DEL_SVC_DOWNTIME"))
            .count(),
        2,
        "{cmds:?}"
    );

    // Nothing to cancel: a clear timeout, not a hang.
    let quick = NagiosDowntime::new(
        client.clone(),
        vec![Target::service("db-qa-01", "PostgreSQL")],
    )
    .cancel_wait(Duration::from_millis(200), Duration::from_millis(25));
    let e = quick.cancel("ops-dt-unknown").await.unwrap_err();
    assert!(matches!(e, ops_core::Error::Timeout { .. }), "{e:?}");
}

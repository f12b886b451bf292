//! One walk over the testkit fake's firewalls, VPCs, reserved IPs, projects, volumes and
//! alert policies through the client, shared by `tests/it/testkit_cloud.rs` (the fake
//! directly) and `tests/prism.rs` (the fake behind `prism proxy --errors`, so every
//! request and answer, refusals included, is checked against the official spec).

#![allow(clippy::expect_used, clippy::unwrap_used)] // a test helper outside #[test] fns

use digitalocean_client::testkit::{CloudCounts, FakeDigitalOcean};
use digitalocean_client::{
    ALERT_DROPLET_CPU, ALERT_DROPLET_DISK, ActionStatus, AlertCompare, AlertPolicyRequest,
    AlertWindow, Client, CreateDroplet, CreateProject, CreateReservedIp, CreateVolume, CreateVpc,
    DropletSpec, Error, FilesystemType, FirewallRequest, FirewallRules, FirewallTarget,
    InboundRule, OutboundRule, ProjectEnvironment, ProjectResourceStatus, UpdateProject, UpdateVpc,
    VolumeFilter, WaitOptions, droplet_urn, reserved_ip_urn, volume_urn,
};

fn ok<T>(step: &str, r: Result<T, Error>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{step}: {e:?}"),
    }
}

fn refused(step: &str, r: Result<impl std::fmt::Debug, Error>, status: u16, id: &str) {
    match r {
        Err(e)
            if e.status().map(|s| s.as_u16()) == Some(status) && e.api_error_id() == Some(id) => {}
        other => panic!("{step}: expected {status} {id}, got {other:?}"),
    }
}

/// Runs every firewall, VPC, reserved IP, project, volume and alert policy call the fake
/// answers, checks its answers and refusals, and leaves the fake with none of them.
pub(crate) async fn walk(c: &Client, fake: &FakeDigitalOcean, opts: WaitOptions) {
    // A VPC, a droplet in it, a second droplet outside it.
    let mut vreq = CreateVpc::new("prod-net", "nyc3");
    vreq.description = Some("production".into());
    let vpc = ok("vpcs.create", c.vpcs().create(&vreq).await);
    let vpc_id = vpc.id.clone().expect("vpc id");
    assert_eq!(vpc.region, "nyc3");
    assert!(vpc.urn.ends_with(&vpc_id));
    refused(
        "vpcs.create(same name)",
        c.vpcs().create(&vreq).await,
        422,
        "unprocessable_entity",
    );
    let mut spec = DropletSpec::new("nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64");
    spec.vpc_uuid = Some(vpc_id.clone());
    let web = ok(
        "droplets.create(in vpc)",
        c.droplets()
            .create(&CreateDroplet::new("web-1", spec.clone()))
            .await,
    );
    let web = ok(
        "droplets.wait_until_active",
        c.droplets().wait_until_active(web.droplet.id, opts).await,
    );
    let mut other_region = spec.clone();
    other_region.region = Some("ams3".into());
    refused(
        "droplets.create(vpc of another region)",
        c.droplets()
            .create(&CreateDroplet::new("web-x", other_region))
            .await,
        422,
        "unprocessable_entity",
    );
    spec.vpc_uuid = None;
    let db = ok(
        "droplets.create",
        c.droplets().create(&CreateDroplet::new("db-1", spec)).await,
    );
    let db_id = db.droplet.id;
    let members = ok(
        "vpcs.list_members",
        c.vpcs().list_members(&vpc_id).collect_all().await,
    );
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].urn, droplet_urn(web.id));
    assert!(
        ok(
            "vpcs.list_members_of_type",
            c.vpcs()
                .list_members_of_type(&vpc_id, "load_balancer")
                .collect_all()
                .await
        )
        .is_empty()
    );
    let renamed = ok(
        "vpcs.update",
        c.vpcs()
            .update(
                &vpc_id,
                &UpdateVpc {
                    name: "prod-net-2".into(),
                    description: None,
                    default: None,
                },
            )
            .await,
    );
    assert_eq!(renamed.name, "prod-net-2");
    assert_eq!(
        ok("vpcs.get", c.vpcs().get(&vpc_id).await).name,
        "prod-net-2"
    );
    assert_eq!(
        ok("vpcs.list", c.vpcs().list().collect_all().await).len(),
        1
    );
    refused(
        "vpcs.delete(with members)",
        c.vpcs().delete(&vpc_id).await,
        409,
        "conflict",
    );

    // A firewall with rules and one droplet; the other added, then removed.
    let mut freq = FirewallRequest::new("web-fw")
        .inbound(InboundRule::tcp("22", FirewallTarget::anywhere()))
        .inbound(InboundRule::tcp("443", FirewallTarget::anywhere()))
        .outbound(OutboundRule::tcp("1-65535", FirewallTarget::anywhere()));
    freq.droplet_ids = vec![web.id];
    let fw = ok("firewalls.create", c.firewalls().create(&freq).await);
    let fw_id = fw.id.clone().expect("firewall id");
    assert_eq!(fw.droplet_ids, vec![web.id]);
    assert_eq!(fw.inbound_rules.len(), 2);
    let fws = c.firewalls();
    ok(
        "firewalls.add_droplets",
        fws.add_droplets(&fw_id, &[db_id]).await,
    );
    assert_eq!(
        ok("firewalls.get", fws.get(&fw_id).await).droplet_ids,
        vec![web.id, db_id]
    );
    refused(
        "firewalls.add_droplets(unknown)",
        fws.add_droplets(&fw_id, &[999_999]).await,
        400,
        "bad_request",
    );
    ok(
        "firewalls.remove_droplets",
        fws.remove_droplets(&fw_id, &[db_id]).await,
    );
    let tags = vec!["web".to_owned()];
    ok("firewalls.add_tags", fws.add_tags(&fw_id, &tags).await);
    ok(
        "firewalls.remove_tags",
        fws.remove_tags(&fw_id, &tags).await,
    );
    let rules = FirewallRules {
        inbound_rules: vec![InboundRule::udp("53", FirewallTarget::droplets([db_id]))],
        outbound_rules: vec![],
    };
    ok("firewalls.add_rules", fws.add_rules(&fw_id, &rules).await);
    assert_eq!(
        ok("firewalls.get", fws.get(&fw_id).await)
            .inbound_rules
            .len(),
        3
    );
    ok(
        "firewalls.remove_rules",
        fws.remove_rules(&fw_id, &rules).await,
    );
    let got = ok("firewalls.get", fws.get(&fw_id).await);
    assert_eq!(got.inbound_rules.len(), 2);
    assert!(got.tags.is_empty());
    let mut update = FirewallRequest::from(&got);
    update.name = "web-fw-2".into();
    assert_eq!(
        ok("firewalls.update", fws.update(&fw_id, &update).await).name,
        "web-fw-2"
    );
    assert_eq!(
        ok("firewalls.list", fws.list().collect_all().await).len(),
        1
    );

    // Reserved IPs: one for the droplet, one in a region then assigned and unassigned.
    let ips = c.reserved_ips();
    let pinned = ok(
        "reserved_ips.create(for droplet)",
        ips.create(&CreateReservedIp::for_droplet(web.id)).await,
    );
    let pinned_ip = pinned.reserved_ip.ip.clone().expect("ip");
    assert_eq!(
        pinned.reserved_ip.droplet.as_ref().map(|d| d.id),
        Some(web.id)
    );
    assert_eq!(pinned.actions.len(), 1);
    let spare = ok(
        "reserved_ips.create(in region)",
        ips.create(&CreateReservedIp::in_region("nyc3")).await,
    );
    let spare_ip = spare.reserved_ip.ip.clone().expect("ip");
    assert!(spare.reserved_ip.droplet.is_none());
    refused(
        "reserved_ips.assign(droplet holding one)",
        ips.assign(&spare_ip, web.id).await,
        422,
        "unprocessable_entity",
    );
    let action = ok("reserved_ips.assign", ips.assign(&spare_ip, db_id).await);
    let done = ok("reserved_ips.wait", ips.wait(&action, opts).await);
    assert_eq!(done.status, ActionStatus::Completed);
    ok(
        "reserved_ips.get_action",
        ips.get_action(&spare_ip, action.id.expect("action id"))
            .await,
    );
    assert_eq!(
        ok("reserved_ips.get", ips.get(&spare_ip).await)
            .droplet
            .map(|d| d.id),
        Some(db_id)
    );
    ok("reserved_ips.unassign", ips.unassign(&spare_ip).await);
    refused(
        "reserved_ips.unassign(twice)",
        ips.unassign(&spare_ip).await,
        422,
        "unprocessable_entity",
    );
    assert_eq!(
        ok("reserved_ips.list", ips.list().collect_all().await).len(),
        2
    );

    // A volume, attached to the droplet and grown.
    let vols = c.volumes();
    let mut vol_req = CreateVolume::new("web-data", 10, "nyc3");
    vol_req.filesystem_type = Some(FilesystemType::Ext4);
    vol_req.filesystem_label = Some("data".into());
    let vol = ok("volumes.create", vols.create(&vol_req).await);
    let vol_id = vol.id.clone().expect("volume id");
    refused(
        "volumes.create(same name and region)",
        vols.create(&vol_req).await,
        409,
        "conflict",
    );
    let attach = ok("volumes.attach", vols.attach(&vol_id, web.id).await);
    ok("volumes.wait(attach)", vols.wait(&attach, opts).await);
    ok(
        "volumes.get_action",
        vols.get_action(&vol_id, attach.id.expect("action id"))
            .await,
    );
    refused(
        "volumes.attach(second droplet)",
        vols.attach(&vol_id, db_id).await,
        422,
        "unprocessable_entity",
    );
    refused(
        "volumes.delete(attached)",
        vols.delete(&vol_id).await,
        409,
        "conflict",
    );
    ok("volumes.resize", vols.resize(&vol_id, 20).await);
    let filter = VolumeFilter {
        name: Some("web-data".into()),
        region: Some("nyc3".into()),
    };
    let found = ok(
        "volumes.list_filtered",
        vols.list_filtered(&filter).collect_all().await,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].droplet_ids, vec![web.id]);
    assert_eq!(found[0].size_gigabytes, 20);
    assert!(
        ok(
            "volumes.list_by_region",
            vols.list_by_region("ams3").collect_all().await
        )
        .is_empty()
    );
    ok("volumes.detach", vols.detach(&vol_id, web.id).await);

    // A project holding the droplet, the volume and an IP.
    let projects = c.projects();
    let mut preq = CreateProject::new("web-prod", "Web Application");
    preq.environment = Some(ProjectEnvironment::Production);
    let project = ok("projects.create", projects.create(&preq).await);
    let project_id = project.id.clone().expect("project id");
    refused(
        "projects.create(same name)",
        projects.create(&preq).await,
        409,
        "conflict",
    );
    let urns = [
        droplet_urn(web.id),
        volume_urn(&vol_id),
        reserved_ip_urn(&pinned_ip),
        droplet_urn(999_999),
    ];
    let assigned = ok(
        "projects.assign_resources",
        projects.assign_resources(&project_id, &urns).await,
    );
    let statuses: Vec<_> = assigned.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            ProjectResourceStatus::Assigned,
            ProjectResourceStatus::Assigned,
            ProjectResourceStatus::Assigned,
            ProjectResourceStatus::NotFound
        ]
    );
    let held = ok(
        "projects.list_resources",
        projects.list_resources(&project_id).collect_all().await,
    );
    assert_eq!(held.len(), 3);
    let default = ok("projects.get_default", projects.get_default().await);
    assert!(default.is_default);
    let in_default = ok(
        "projects.list_default_resources",
        projects.list_default_resources().collect_all().await,
    );
    assert!(in_default.iter().any(|r| r.urn == droplet_urn(db_id)));
    assert!(!in_default.iter().any(|r| r.urn == droplet_urn(web.id)));
    let update = UpdateProject {
        name: "web-prod".into(),
        description: "the web tier".into(),
        purpose: "Web Application".into(),
        environment: ProjectEnvironment::Staging,
        is_default: false,
    };
    let updated = ok(
        "projects.update",
        projects.update(&project_id, &update).await,
    );
    assert_eq!(updated.description, "the web tier");
    assert_eq!(
        ok("projects.get", projects.get(&project_id).await).environment,
        Some(ProjectEnvironment::Staging)
    );
    assert_eq!(
        ok("projects.list", projects.list().collect_all().await).len(),
        2
    );
    refused(
        "projects.delete(with resources)",
        projects.delete(&project_id).await,
        412,
        "precondition_failed",
    );

    // Alert policies on the droplet.
    let alerts = c.alert_policies();
    let cpu = AlertPolicyRequest::new(
        ALERT_DROPLET_CPU,
        "web-1 CPU",
        AlertCompare::GreaterThan,
        90.0,
        AlertWindow::FiveMinutes,
    )
    .droplets([web.id])
    .email("ops@example.test");
    let policy = ok("alert_policies.create", alerts.create(&cpu).await);
    assert_eq!(policy.entities, vec![web.id.to_string()]);
    let mut disk = AlertPolicyRequest::new(
        ALERT_DROPLET_DISK,
        "web-1 disk",
        AlertCompare::GreaterThan,
        85.0,
        AlertWindow::ThirtyMinutes,
    )
    .droplets([web.id])
    .email("ops@example.test");
    ok("alert_policies.create(disk)", alerts.create(&disk).await);
    disk.description = "web-1 disk (raised)".into();
    disk.value = 95.0;
    ok(
        "alert_policies.update",
        alerts.update(&policy.uuid, &disk).await,
    );
    assert_eq!(
        ok("alert_policies.get", alerts.get(&policy.uuid).await).value,
        95.0
    );
    let unknown = AlertPolicyRequest::new(
        ALERT_DROPLET_CPU,
        "nobody",
        AlertCompare::GreaterThan,
        90.0,
        AlertWindow::FiveMinutes,
    )
    .droplets([999_999])
    .email("ops@example.test");
    refused(
        "alert_policies.create(unknown droplet)",
        alerts.create(&unknown).await,
        422,
        "unprocessable_entity",
    );
    let all = ok("alert_policies.list", alerts.list().collect_all().await);
    assert_eq!(all.len(), 2);

    // Deleting the droplets releases them everywhere; then everything goes.
    ok("droplets.delete", c.droplets().delete(web.id).await);
    ok("droplets.delete", c.droplets().delete(db_id).await);
    assert!(
        ok("firewalls.get", fws.get(&fw_id).await)
            .droplet_ids
            .is_empty()
    );
    assert!(
        ok("reserved_ips.get", ips.get(&pinned_ip).await)
            .droplet
            .is_none()
    );
    for p in all {
        ok("alert_policies.delete", alerts.delete(&p.uuid).await);
    }
    ok("firewalls.delete", fws.delete(&fw_id).await);
    ok("reserved_ips.delete", ips.delete(&pinned_ip).await);
    ok("reserved_ips.delete", ips.delete(&spare_ip).await);
    ok(
        "volumes.delete_by_name",
        vols.delete_by_name("web-data", "nyc3").await,
    );
    ok("projects.delete", projects.delete(&project_id).await);
    ok("vpcs.delete", c.vpcs().delete(&vpc_id).await);
    for (step, r) in [
        ("firewalls.get(deleted)", fws.get(&fw_id).await.map(drop)),
        ("vpcs.get(deleted)", c.vpcs().get(&vpc_id).await.map(drop)),
        (
            "reserved_ips.get(deleted)",
            ips.get(&spare_ip).await.map(drop),
        ),
        ("volumes.get(deleted)", vols.get(&vol_id).await.map(drop)),
        (
            "projects.get(deleted)",
            projects.get(&project_id).await.map(drop),
        ),
        (
            "alert_policies.get(deleted)",
            alerts.get(&policy.uuid).await.map(drop),
        ),
    ] {
        refused(step, r, 404, "not_found");
    }
    assert_eq!(fake.cloud_counts(), CloudCounts::default());
    assert_eq!(fake.droplet_count(), 0);
}

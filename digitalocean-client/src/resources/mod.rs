//! Resource handlers and their types, one module per API area.

mod actions;
mod alert_policies;
mod balance;
mod catalog;
mod certificates;
mod domains;
mod droplets;
mod firewalls;
mod load_balancers;
mod projects;
mod reserved_ips;
mod snapshots;
mod ssh_keys;
mod tags;
mod volumes;
mod vpcs;

pub use actions::{Action, ActionLink, ActionStatus, Actions, WaitOptions};
pub use alert_policies::{
    ALERT_DROPLET_CPU, ALERT_DROPLET_DISK, ALERT_DROPLET_LOAD_5, ALERT_DROPLET_MEMORY, ALERT_TYPES,
    AlertCompare, AlertDestinations, AlertPolicies, AlertPolicy, AlertPolicyRequest, AlertWindow,
    SlackDestination, WebhookUrl,
};
pub use balance::Balance;
pub use catalog::{
    Account, AccountInfo, AccountStatus, Image, ImageRef, ImageType, Images, Region, Regions, Size,
    Sizes, Team,
};
pub use certificates::{
    Certificate, CertificateState, CertificateType, Certificates, CreateCertificate,
};
pub use domains::{
    CreateDomain, Domain, DomainRecord, DomainRecordRequest, DomainRecords, Domains, RecordFilter,
};
pub use droplets::{
    BackupPlan, BackupPolicy, CreateDroplet, CreateDroplets, CreatedDroplet, CreatedDroplets,
    Droplet, DropletActions, DropletFilter, DropletSpec, DropletStatus, Droplets, NetworkType,
    NetworkV4, NetworkV6, Networks, UserData, Weekday,
};
pub use firewalls::{
    Firewall, FirewallRequest, FirewallRules, FirewallStatus, FirewallTarget, Firewalls,
    InboundRule, OutboundRule, PendingChange, Protocol,
};
pub use load_balancers::{
    ForwardingRule, HealthCheck, LbProtocol, LoadBalancer, LoadBalancerFirewall,
    LoadBalancerRequest, LoadBalancerStatus, LoadBalancerTargets, LoadBalancers, StickySessions,
};
pub use projects::{
    CreateProject, MAX_PROJECT_NAME_LEN, MAX_PROJECT_TEXT_LEN, Project, ProjectEnvironment,
    ProjectResource, ProjectResourceStatus, Projects, UpdateProject, domain_urn, droplet_urn,
    load_balancer_urn, reserved_ip_urn, volume_urn,
};
pub use reserved_ips::{CreateReservedIp, CreatedReservedIp, ReservedIp, ReservedIps};
pub use snapshots::{Snapshot, SnapshotResourceType, Snapshots};
pub use ssh_keys::{CreateSshKey, SshKey, SshKeyId, SshKeys};
pub use tags::{ResourceType, Tag, TagResource, TagResourceCount, TagResources, Tags};
pub use volumes::{
    CreateVolume, FilesystemType, MAX_VOLUME_NAME_LEN, MAX_VOLUME_SIZE_GIB, Volume, VolumeFilter,
    Volumes,
};
pub use vpcs::{CreateVpc, MAX_VPC_DESCRIPTION_LEN, UpdateVpc, Vpc, VpcMember, Vpcs};

/// For a field with a default: `null` reads as the default, as a missing field does. The
/// spec marks many fields nullable (`image.tags`, …) and a server within its spec sends
/// `null` for them (issue #16: a `null` `image.tags` used to fail a whole droplet listing).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    Ok(<Option<T> as serde::Deserialize>::deserialize(d)?.unwrap_or_default())
}

/// For an optional object the spec writes as `oneOf: [{type: object, nullable: true}, X]`
/// (a reserved IP's `droplet`): `null`, a missing field and an empty object `{}` (valid for
/// the first alternative) all read as `None`; anything else must be an `X`.
pub(crate) fn empty_object_as_none<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::Error as _;
    match <Option<serde_json::Value> as serde::Deserialize>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Object(m)) if m.is_empty() => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(D::Error::custom),
    }
}

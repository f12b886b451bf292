//! Resource handlers and their types, one module per API area.

mod actions;
mod catalog;
mod domains;
mod droplets;
mod firewalls;
mod ssh_keys;
mod tags;

pub use actions::{Action, ActionLink, ActionStatus, Actions, WaitOptions};
pub use catalog::{
    Account, AccountInfo, AccountStatus, Image, ImageRef, ImageType, Images, Region, Regions, Size,
    Sizes, Team,
};
pub use domains::{
    CreateDomain, Domain, DomainRecord, DomainRecordRequest, DomainRecords, Domains, RecordFilter,
};
pub use droplets::{
    CreateDroplet, CreateDroplets, CreatedDroplet, CreatedDroplets, Droplet, DropletActions,
    DropletFilter, DropletSpec, DropletStatus, Droplets, NetworkType, NetworkV4, NetworkV6,
    Networks, UserData,
};
pub use firewalls::{
    Firewall, FirewallRequest, FirewallRules, FirewallStatus, FirewallTarget, Firewalls,
    InboundRule, OutboundRule, PendingChange, Protocol,
};
pub use ssh_keys::{CreateSshKey, SshKey, SshKeyId, SshKeys};
pub use tags::{ResourceType, Tag, TagResource, TagResourceCount, TagResources, Tags};

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

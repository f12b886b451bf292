//! Dry runs as a guarantee of the ports, not a flag each workflow must remember.
//!
//! A binary run with `--dry-run` hands the workflows ports wrapped here: reads pass through,
//! every write is refused with a [`PortErrorKind::DryRun`] error (and an `ERROR` log line),
//! so a workflow that forgets its dry-run flag fails loudly instead of changing anything.
//! The workflows' own dry-run logic (plans, "would remove") is unchanged; this is the net
//! under it.
//!
//! ```
//! use std::sync::Arc;
//! use ops_core::dry_run;
//! use ops_core::ports::{Compute, NoMonitoring, Monitoring};
//!
//! // Any port: here the monitoring one, which has no writes.
//! let monitoring: Arc<dyn Monitoring> = dry_run::monitoring(Arc::new(NoMonitoring));
//! # let _ = monitoring;
//! ```

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::key_sync::{
    AccountKey, AccountKeys, NewAccountKey, NodeInventory, NodePage, SyncState, UserItem, UsersBag,
};
use crate::ports::HostState;
use crate::ports::{
    AlertPolicy, NewAlertPolicy, NewProject, NewVolume, Project, ProjectMember, Volume,
};
use crate::ports::{
    ClientCredentials, Compute, ConfigMgmt, Dns, DnsRecord, Droplet, DropletFilter, Image,
    Monitoring, NewDroplet, NewNode, NewRecord, NodeInfo, PortError, PortErrorKind, PortResult,
    Published, Region, Service, Size, SshKey,
};
use crate::ports::{Firewall, NewFirewall, NewVpc, ReservedIp, Vpc};
use crate::restore::Downtime;

/// The error every refused write returns, logged at `ERROR`: it is a bug in whatever
/// called the write.
fn refused(service: Service, what: &str) -> PortError {
    tracing::error!(%service, write = %what, "a dry run tried to write; refused (this is a bug)");
    PortError::new(
        service,
        "dry-run",
        PortErrorKind::DryRun,
        format!(
            "dry run: refused to {what} (a dry run must not write: this is a bug, please report it)"
        ),
    )
}

/// A port whose writes are refused.
struct ReadOnly<P: ?Sized>(Arc<P>);

/// `compute` with its writes (create and delete droplet) refused.
pub fn compute(compute: Arc<dyn Compute>) -> Arc<dyn Compute> {
    Arc::new(ReadOnly(compute))
}

/// `dns` with its writes (create and delete record, publish) refused.
pub fn dns(dns: Arc<dyn Dns>) -> Arc<dyn Dns> {
    Arc::new(ReadOnly(dns))
}

/// `config` with its writes (create and delete node and client) refused.
pub fn config_mgmt(config: Arc<dyn ConfigMgmt>) -> Arc<dyn ConfigMgmt> {
    Arc::new(ReadOnly(config))
}

/// `monitoring` as it is (it has no writes); here so a binary wraps every port alike.
pub fn monitoring(monitoring: Arc<dyn Monitoring>) -> Arc<dyn Monitoring> {
    Arc::new(ReadOnly(monitoring))
}

/// `bag` with its writes (create and update item, put state) refused.
pub fn users_bag(bag: Arc<dyn UsersBag>) -> Arc<dyn UsersBag> {
    Arc::new(ReadOnly(bag))
}

/// `keys` with its writes (create and delete key) refused.
pub fn account_keys(keys: Arc<dyn AccountKeys>) -> Arc<dyn AccountKeys> {
    Arc::new(ReadOnly(keys))
}

/// `nodes` with its write (add to a run list) refused.
pub fn node_inventory(nodes: Arc<dyn NodeInventory>) -> Arc<dyn NodeInventory> {
    Arc::new(ReadOnly(nodes))
}

/// `downtime` with both its calls (schedule and cancel: writes) refused.
pub fn downtime(downtime: Arc<dyn Downtime>) -> Arc<dyn Downtime> {
    Arc::new(ReadOnly(downtime))
}

#[async_trait]
impl<P: Compute + ?Sized> Compute for ReadOnly<P> {
    async fn regions(&self) -> PortResult<Vec<Region>> {
        self.0.regions().await
    }
    async fn sizes(&self) -> PortResult<Vec<Size>> {
        self.0.sizes().await
    }
    async fn image(&self, slug_or_id: &str) -> PortResult<Option<Image>> {
        self.0.image(slug_or_id).await
    }
    async fn ssh_keys(&self) -> PortResult<Vec<SshKey>> {
        self.0.ssh_keys().await
    }
    async fn droplets(&self, filter: &DropletFilter) -> PortResult<Vec<Droplet>> {
        self.0.droplets(filter).await
    }
    async fn get_droplet(&self, id: u64) -> PortResult<Option<Droplet>> {
        self.0.get_droplet(id).await
    }
    async fn create_droplet(&self, req: &NewDroplet) -> PortResult<Droplet> {
        Err(refused(
            Service::Compute,
            &format!("create droplet `{}`", req.name),
        ))
    }
    async fn delete_droplet(&self, id: u64) -> PortResult<()> {
        Err(refused(Service::Compute, &format!("delete droplet {id}")))
    }
    async fn vpcs(&self) -> PortResult<Vec<Vpc>> {
        self.0.vpcs().await
    }
    async fn create_vpc(&self, req: &NewVpc) -> PortResult<Vpc> {
        Err(refused(
            Service::Compute,
            &format!("create VPC `{}`", req.name),
        ))
    }
    async fn delete_vpc(&self, id: &str) -> PortResult<()> {
        Err(refused(Service::Compute, &format!("delete VPC {id}")))
    }
    async fn vpc_member_count(&self, id: &str) -> PortResult<usize> {
        self.0.vpc_member_count(id).await
    }
    async fn firewalls(&self) -> PortResult<Vec<Firewall>> {
        self.0.firewalls().await
    }
    async fn create_firewall(&self, req: &NewFirewall) -> PortResult<Firewall> {
        Err(refused(
            Service::Compute,
            &format!("create firewall `{}`", req.name),
        ))
    }
    async fn add_firewall_droplets(&self, id: &str, droplet_ids: &[u64]) -> PortResult<()> {
        Err(refused(
            Service::Compute,
            &format!("add droplets {droplet_ids:?} to firewall {id}"),
        ))
    }
    async fn delete_firewall(&self, id: &str) -> PortResult<()> {
        Err(refused(Service::Compute, &format!("delete firewall {id}")))
    }
    async fn reserved_ips(&self) -> PortResult<Vec<ReservedIp>> {
        self.0.reserved_ips().await
    }
    async fn create_reserved_ip(&self, droplet_id: u64) -> PortResult<ReservedIp> {
        Err(refused(
            Service::Compute,
            &format!("reserve an IP for droplet {droplet_id}"),
        ))
    }
    async fn assign_reserved_ip(&self, ip: &str, droplet_id: u64) -> PortResult<()> {
        Err(refused(
            Service::Compute,
            &format!("assign reserved IP {ip} to droplet {droplet_id}"),
        ))
    }
    async fn delete_reserved_ip(&self, ip: &str) -> PortResult<()> {
        Err(refused(
            Service::Compute,
            &format!("release reserved IP {ip}"),
        ))
    }
    async fn volumes(&self) -> PortResult<Vec<Volume>> {
        self.0.volumes().await
    }
    async fn create_volume(&self, req: &NewVolume) -> PortResult<Volume> {
        Err(refused(
            Service::Compute,
            &format!("create volume `{}`", req.name),
        ))
    }
    async fn delete_volume(&self, id: &str) -> PortResult<()> {
        Err(refused(Service::Compute, &format!("delete volume {id}")))
    }
    async fn projects(&self) -> PortResult<Vec<Project>> {
        self.0.projects().await
    }
    async fn create_project(&self, req: &NewProject) -> PortResult<Project> {
        Err(refused(
            Service::Compute,
            &format!("create project `{}`", req.name),
        ))
    }
    async fn assign_to_project(&self, id: &str, members: &[ProjectMember]) -> PortResult<()> {
        Err(refused(
            Service::Compute,
            &format!("assign {} resources to project {id}", members.len()),
        ))
    }
    async fn project_member_count(&self, id: &str) -> PortResult<usize> {
        self.0.project_member_count(id).await
    }
    async fn delete_project(&self, id: &str) -> PortResult<()> {
        Err(refused(Service::Compute, &format!("delete project {id}")))
    }
    async fn alert_policies(&self) -> PortResult<Vec<AlertPolicy>> {
        self.0.alert_policies().await
    }
    async fn create_alert_policy(&self, req: &NewAlertPolicy) -> PortResult<AlertPolicy> {
        Err(refused(
            Service::Compute,
            &format!("create alert policy `{}`", req.description),
        ))
    }
    async fn delete_alert_policy(&self, id: &str) -> PortResult<()> {
        Err(refused(
            Service::Compute,
            &format!("delete alert policy {id}"),
        ))
    }
}

#[async_trait]
impl<P: Dns + ?Sized> Dns for ReadOnly<P> {
    fn provider(&self) -> &'static str {
        self.0.provider()
    }
    fn needs_publish(&self) -> bool {
        self.0.needs_publish()
    }
    async fn owns_zone(&self, zone: &str) -> PortResult<bool> {
        self.0.owns_zone(zone).await
    }
    async fn records(&self, zone: &str, fqdn: Option<&str>) -> PortResult<Vec<DnsRecord>> {
        self.0.records(zone, fqdn).await
    }
    async fn create_record(&self, rec: &NewRecord) -> PortResult<DnsRecord> {
        Err(refused(
            Service::Dns,
            &format!("create {} record `{}`", rec.rtype, rec.fqdn),
        ))
    }
    async fn delete_record(&self, rec: &DnsRecord) -> PortResult<()> {
        Err(refused(
            Service::Dns,
            &format!("delete {} record `{}`", rec.rtype, rec.fqdn),
        ))
    }
    async fn publish(&self, zone: &str, _note: &str) -> PortResult<Published> {
        Err(refused(Service::Dns, &format!("publish zone `{zone}`")))
    }
}

#[async_trait]
impl<P: ConfigMgmt + ?Sized> ConfigMgmt for ReadOnly<P> {
    async fn get_node(&self, name: &str) -> PortResult<Option<NodeInfo>> {
        self.0.get_node(name).await
    }
    async fn client_exists(&self, name: &str) -> PortResult<bool> {
        self.0.client_exists(name).await
    }
    async fn list_nodes(&self) -> PortResult<Vec<String>> {
        self.0.list_nodes().await
    }
    async fn create_client(&self, name: &str) -> PortResult<ClientCredentials> {
        Err(refused(
            Service::ConfigMgmt,
            &format!("create client `{name}`"),
        ))
    }
    async fn create_node(&self, node: &NewNode, _owner: &ClientCredentials) -> PortResult<()> {
        Err(refused(
            Service::ConfigMgmt,
            &format!("create node `{}`", node.name),
        ))
    }
    async fn delete_node(&self, name: &str) -> PortResult<()> {
        Err(refused(
            Service::ConfigMgmt,
            &format!("delete node `{name}`"),
        ))
    }
    async fn delete_client(&self, name: &str) -> PortResult<()> {
        Err(refused(
            Service::ConfigMgmt,
            &format!("delete client `{name}`"),
        ))
    }
}

#[async_trait]
impl<P: Monitoring + ?Sized> Monitoring for ReadOnly<P> {
    async fn host_state(&self, host: &str) -> PortResult<Option<HostState>> {
        self.0.host_state(host).await
    }
}

#[async_trait]
impl<P: UsersBag + ?Sized> UsersBag for ReadOnly<P> {
    async fn list_items(&self) -> PortResult<Vec<UserItem>> {
        self.0.list_items().await
    }
    async fn get_item(&self, id: &str) -> PortResult<Option<UserItem>> {
        self.0.get_item(id).await
    }
    async fn create_item(&self, item: &UserItem) -> PortResult<()> {
        Err(refused(
            Service::ConfigMgmt,
            &format!("create users bag item `{}`", item.id),
        ))
    }
    async fn update_item(&self, item: &UserItem) -> PortResult<()> {
        Err(refused(
            Service::ConfigMgmt,
            &format!("update users bag item `{}`", item.id),
        ))
    }
    async fn get_state(&self) -> PortResult<Option<SyncState>> {
        self.0.get_state().await
    }
    async fn put_state(&self, _state: &SyncState) -> PortResult<()> {
        Err(refused(
            Service::ConfigMgmt,
            "write the key-sync state item",
        ))
    }
}

#[async_trait]
impl<P: AccountKeys + ?Sized> AccountKeys for ReadOnly<P> {
    async fn list_keys(&self) -> PortResult<Vec<AccountKey>> {
        self.0.list_keys().await
    }
    async fn create_key(&self, key: &NewAccountKey) -> PortResult<AccountKey> {
        Err(refused(
            Service::Compute,
            &format!("create account key `{}`", key.name),
        ))
    }
    async fn delete_key(&self, id: u64) -> PortResult<()> {
        Err(refused(
            Service::Compute,
            &format!("delete account key {id}"),
        ))
    }
}

#[async_trait]
impl<P: NodeInventory + ?Sized> NodeInventory for ReadOnly<P> {
    async fn search_nodes(&self, query: &str, start: u64, rows: u64) -> PortResult<NodePage> {
        self.0.search_nodes(query, start, rows).await
    }
    async fn search_nodes_with_proof(
        &self,
        query: &str,
        start: u64,
        rows: u64,
    ) -> PortResult<NodePage> {
        self.0.search_nodes_with_proof(query, start, rows).await
    }
    async fn cookbook_versions(&self, name: &str) -> PortResult<Option<Vec<String>>> {
        self.0.cookbook_versions(name).await
    }
    async fn add_to_run_list(&self, node: &str, entry: &str) -> PortResult<()> {
        Err(refused(
            Service::ConfigMgmt,
            &format!("add `{entry}` to the run list of `{node}`"),
        ))
    }
}

#[async_trait]
impl<P: Downtime + ?Sized> Downtime for ReadOnly<P> {
    async fn schedule(
        &self,
        database: &str,
        _window: Duration,
        _comment: &str,
    ) -> crate::Result<String> {
        Err(crate::Error::Port(refused(
            Service::Monitoring,
            &format!("schedule downtime for `{database}`"),
        )))
    }
    async fn cancel(&self, id: &str) -> crate::Result<()> {
        Err(crate::Error::Port(refused(
            Service::Monitoring,
            &format!("cancel downtime {id}"),
        )))
    }
}

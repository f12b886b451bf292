//! A recording, fault-injecting fake of all four provision ports: one shared "world".
//!
//! Used by `tests/it/provision.rs`, `tests/provision_logs.rs` and `benches/provision.rs` (simulated latencies).
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use ops_core::ports::*;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fail without effect, not ambiguous (e.g. 422).
    Reject,
    /// Apply the write, then fail ambiguously (timeout after the server processed it).
    AmbiguousApplied,
    /// Fail ambiguously without effect (timeout before the server got it).
    AmbiguousNotApplied,
    /// Never return (the process "crashes" here when the test drops the future).
    HangBefore,
    /// Apply the write, then never return.
    HangAfter,
    /// Answer 429 with Retry-After 10 ms, without effect.
    RateLimited,
}

#[derive(Debug, Clone)]
pub struct Injection {
    pub op: &'static str,
    /// Only calls whose key (host name, fqdn, zone…) contains this.
    pub key: Option<String>,
    /// Matching calls that pass before the fault starts.
    pub skip: usize,
    /// How many matching calls fail.
    pub times: usize,
    pub fault: Fault,
    seen: usize,
}

impl Injection {
    pub fn new(op: &'static str, fault: Fault) -> Self {
        Injection {
            op,
            key: None,
            skip: 0,
            times: 1,
            fault,
            seen: 0,
        }
    }
    pub fn key(mut self, k: &str) -> Self {
        self.key = Some(k.to_string());
        self
    }
    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }
    pub fn skip(mut self, n: usize) -> Self {
        self.skip = n;
        self
    }
}

#[derive(Debug, Clone)]
pub struct Call {
    pub service: Service,
    pub op: &'static str,
    pub key: String,
    pub write: bool,
    pub at: Instant,
}

#[derive(Debug, Clone)]
pub struct FakeDroplet {
    pub d: Droplet,
    pub created: Instant,
    pub user_data: Option<String>,
    pub errored: bool,
}

#[derive(Debug, Default)]
pub struct State {
    pub next_id: u64,
    pub regions: Vec<Region>,
    pub sizes: Vec<Size>,
    pub images: Vec<Image>,
    pub keys: Vec<SshKey>,
    pub droplets: BTreeMap<u64, FakeDroplet>,
    /// Every droplet ever created, by name (for "never twice").
    pub created_names: Vec<String>,
    pub zones: Vec<String>,
    /// Live records (published or pending).
    pub records: Vec<DnsRecord>,
    pub publishes: Vec<String>,
    pub nodes: BTreeMap<String, NewNode>,
    pub clients: BTreeMap<String, String>,
    pub clients_created: usize,
    pub host_up: Vec<String>,
    pub calls: Vec<Call>,
    pub injections: Vec<Injection>,
    /// Calls now hanging on a `HangBefore`/`HangAfter` fault.
    pub hung: usize,
}

pub struct World {
    pub state: Mutex<State>,
    /// Latency of every call.
    pub latency: Duration,
    /// Time from create to `active`.
    pub boot: Duration,
    /// Time before a new droplet shows up in list-by-tag/name results.
    pub list_lag: Duration,
    pub needs_publish: bool,
}

pub const SECRET_MARK: &str = "SUPER-SECRET-KEY-MATERIAL";

fn err(service: Service, kind: PortErrorKind, msg: &str) -> PortError {
    PortError::new(service, "fake", kind, msg)
}

impl World {
    pub fn new() -> Self {
        let mut s = State {
            next_id: 1000,
            ..State::default()
        };
        s.regions = vec![
            Region {
                slug: "nyc3".into(),
                available: true,
                sizes: vec!["s-1vcpu-1gb".into(), "s-2vcpu-2gb".into()],
            },
            Region {
                slug: "ams3".into(),
                available: false,
                sizes: vec![],
            },
        ];
        s.sizes = vec![
            Size {
                slug: "s-1vcpu-1gb".into(),
                available: true,
                regions: vec!["nyc3".into()],
            },
            Size {
                slug: "s-2vcpu-2gb".into(),
                available: true,
                regions: vec!["nyc3".into()],
            },
        ];
        s.images = vec![Image {
            id: 7,
            slug: Some("ubuntu-24-04-x64".into()),
            name: "Ubuntu 24.04".into(),
            regions: vec!["nyc3".into(), "ams3".into()],
        }];
        s.keys = vec![
            SshKey {
                id: 11,
                name: "ops".into(),
                fingerprint: "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa".into(),
            },
            SshKey {
                id: 12,
                name: "dup".into(),
                fingerprint: "aa:aa".into(),
            },
            SshKey {
                id: 13,
                name: "dup".into(),
                fingerprint: "bb:bb".into(),
            },
        ];
        s.zones = vec!["example.com".into()];
        World {
            state: Mutex::new(s),
            latency: Duration::ZERO,
            boot: Duration::from_millis(30),
            list_lag: Duration::ZERO,
            needs_publish: true,
        }
    }

    pub fn with_latency(mut self, latency: Duration, boot: Duration) -> Self {
        self.latency = latency;
        self.boot = boot;
        self
    }

    pub fn inject(&self, i: Injection) {
        self.state.lock().unwrap().injections.push(i);
    }

    pub fn clear_injections(&self) {
        self.state.lock().unwrap().injections.clear();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn writes(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.write).collect()
    }

    /// Runs `fut` until `n` calls hang on injected faults, then drops it (a crash at exactly
    /// that point, whatever the machine's speed). Panics if `fut` finishes first, or if the
    /// hangs have not all happened after 60 s.
    pub async fn run_until_hung<F: std::future::Future>(&self, n: usize, fut: F) {
        let hung = async {
            while self.state.lock().unwrap().hung < n {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        tokio::select! {
            _ = fut => panic!("finished instead of hanging on an injected fault"),
            () = hung => {}
            () = tokio::time::sleep(Duration::from_secs(60)) => panic!(
                "after 60 s, {} of {n} calls hang on injected faults",
                self.state.lock().unwrap().hung
            ),
        }
    }

    pub fn count(&self, op: &str) -> usize {
        self.calls().iter().filter(|c| c.op == op).count()
    }

    pub fn droplets(&self) -> Vec<FakeDroplet> {
        self.state
            .lock()
            .unwrap()
            .droplets
            .values()
            .cloned()
            .collect()
    }

    pub fn records(&self) -> Vec<DnsRecord> {
        self.state.lock().unwrap().records.clone()
    }

    pub fn nodes(&self) -> Vec<String> {
        self.state.lock().unwrap().nodes.keys().cloned().collect()
    }

    pub fn clients(&self) -> Vec<String> {
        self.state.lock().unwrap().clients.keys().cloned().collect()
    }

    pub fn publishes(&self) -> Vec<String> {
        self.state.lock().unwrap().publishes.clone()
    }

    /// True when nothing the provision workflow creates exists.
    pub fn is_empty_of_resources(&self) -> bool {
        let s = self.state.lock().unwrap();
        s.droplets.is_empty() && s.records.is_empty() && s.nodes.is_empty() && s.clients.is_empty()
    }

    pub fn add_droplet(&self, name: &str, tags: &[&str], ip: Option<Ipv4Addr>) -> u64 {
        let mut s = self.state.lock().unwrap();
        s.next_id += 1;
        let id = s.next_id;
        s.droplets.insert(
            id,
            FakeDroplet {
                d: Droplet {
                    id,
                    name: name.into(),
                    status: DropletStatus::Active,
                    region: "nyc3".into(),
                    tags: tags.iter().map(|t| t.to_string()).collect(),
                    public_ipv4: ip,
                    public_ipv6: None,
                },
                created: Instant::now() - Duration::from_secs(3600),
                user_data: None,
                errored: false,
            },
        );
        id
    }

    pub fn add_record(&self, fqdn: &str, rtype: RecordType, data: &str) {
        let mut s = self.state.lock().unwrap();
        s.records.push(DnsRecord {
            zone: "example.com".into(),
            fqdn: fqdn.into(),
            rtype,
            data: data.into(),
            ttl: Some(300),
            id: Some("r-pre".into()),
        });
    }

    pub fn add_node(&self, name: &str) {
        let mut s = self.state.lock().unwrap();
        s.nodes.insert(
            name.into(),
            NewNode {
                name: name.into(),
                environment: "prod".into(),
                run_list: vec![],
                normal: serde_json::json!({}),
            },
        );
    }

    pub fn set_host_up(&self, name: &str) {
        self.state.lock().unwrap().host_up.push(name.into());
    }

    /// Records the call, sleeps the latency, and returns the fault to apply, if any.
    async fn enter(
        &self,
        service: Service,
        op: &'static str,
        key: &str,
        write: bool,
    ) -> Option<Fault> {
        let fault = {
            let mut s = self.state.lock().unwrap();
            s.calls.push(Call {
                service,
                op,
                key: key.to_string(),
                write,
                at: Instant::now(),
            });
            let mut fault = None;
            for i in s.injections.iter_mut() {
                if i.op == op && i.key.as_deref().is_none_or(|k| key.contains(k)) {
                    i.seen += 1;
                    if i.seen > i.skip && i.seen <= i.skip + i.times {
                        fault = Some(i.fault);
                        break;
                    }
                }
            }
            fault
        };
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        if matches!(fault, Some(Fault::HangBefore)) {
            self.state.lock().unwrap().hung += 1;
            std::future::pending::<()>().await;
        }
        fault
    }

    /// After applying a write: turn the fault into the answer.
    async fn after<T>(&self, service: Service, fault: Option<Fault>, ok: T) -> PortResult<T> {
        match fault {
            Some(Fault::AmbiguousApplied) => {
                Err(err(service, PortErrorKind::Unavailable, "timed out (applied)").ambiguous())
            }
            Some(Fault::HangAfter) => {
                self.state.lock().unwrap().hung += 1;
                std::future::pending().await
            }
            _ => Ok(ok),
        }
    }

    /// Before applying a write: faults that prevent it.
    fn before(service: Service, fault: Option<Fault>) -> PortResult<()> {
        match fault {
            Some(Fault::Reject) => Err(err(service, PortErrorKind::Rejected, "injected rejection")),
            Some(Fault::AmbiguousNotApplied) => Err(err(
                service,
                PortErrorKind::Unavailable,
                "timed out (not applied)",
            )
            .ambiguous()),
            Some(Fault::RateLimited) => Err(err(service, PortErrorKind::RateLimited, "slow down")
                .with_retry_after(Duration::from_millis(10))),
            _ => Ok(()),
        }
    }

    fn view(&self, f: &FakeDroplet) -> Droplet {
        let mut d = f.d.clone();
        if f.errored {
            d.status = DropletStatus::Errored;
        } else if f.created.elapsed() >= self.boot {
            d.status = DropletStatus::Active;
            let n = (d.id % 250) as u8;
            d.public_ipv4 = d.public_ipv4.or(Some(Ipv4Addr::new(192, 0, 2, n)));
            if f.d.public_ipv6.is_some() || d.tags.iter().any(|t| t == "v6") {
                d.public_ipv6 = Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, d.id as u16));
            }
        }
        d
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Compute for World {
    async fn regions(&self) -> PortResult<Vec<Region>> {
        let f = self.enter(Service::Compute, "regions", "", false).await;
        Self::before(Service::Compute, f)?;
        Ok(self.state.lock().unwrap().regions.clone())
    }
    async fn sizes(&self) -> PortResult<Vec<Size>> {
        let f = self.enter(Service::Compute, "sizes", "", false).await;
        Self::before(Service::Compute, f)?;
        Ok(self.state.lock().unwrap().sizes.clone())
    }
    async fn image(&self, slug_or_id: &str) -> PortResult<Option<Image>> {
        let f = self
            .enter(Service::Compute, "image", slug_or_id, false)
            .await;
        Self::before(Service::Compute, f)?;
        Ok(self
            .state
            .lock()
            .unwrap()
            .images
            .iter()
            .find(|i| i.slug.as_deref() == Some(slug_or_id) || i.id.to_string() == slug_or_id)
            .cloned())
    }
    async fn ssh_keys(&self) -> PortResult<Vec<SshKey>> {
        let f = self.enter(Service::Compute, "ssh_keys", "", false).await;
        Self::before(Service::Compute, f)?;
        Ok(self.state.lock().unwrap().keys.clone())
    }
    async fn droplets(&self, filter: &DropletFilter) -> PortResult<Vec<Droplet>> {
        let key = format!("{filter:?}");
        let f = self.enter(Service::Compute, "droplets", &key, false).await;
        Self::before(Service::Compute, f)?;
        let s = self.state.lock().unwrap();
        Ok(s.droplets
            .values()
            .filter(|d| d.created.elapsed() >= self.list_lag)
            .filter(|d| match filter {
                DropletFilter::All => true,
                DropletFilter::Name(n) => d.d.name.eq_ignore_ascii_case(n),
                DropletFilter::Tag(t) => d.d.tags.contains(t),
            })
            .map(|d| self.view(d))
            .collect())
    }
    async fn get_droplet(&self, id: u64) -> PortResult<Option<Droplet>> {
        let f = self
            .enter(Service::Compute, "get_droplet", &id.to_string(), false)
            .await;
        Self::before(Service::Compute, f)?;
        let s = self.state.lock().unwrap();
        Ok(s.droplets.get(&id).map(|d| self.view(d)))
    }
    async fn create_droplet(&self, req: &NewDroplet) -> PortResult<Droplet> {
        let f = self
            .enter(Service::Compute, "create_droplet", &req.name, true)
            .await;
        Self::before(Service::Compute, f)?;
        let d = {
            let mut s = self.state.lock().unwrap();
            s.next_id += 1;
            let id = s.next_id;
            let mut tags = req.tags.clone();
            if req.ipv6 {
                tags.push("v6".into());
            }
            let d = Droplet {
                id,
                name: req.name.clone(),
                status: DropletStatus::New,
                region: req.region.clone(),
                tags,
                public_ipv4: None,
                public_ipv6: None,
            };
            s.created_names.push(req.name.clone());
            s.droplets.insert(
                id,
                FakeDroplet {
                    d: d.clone(),
                    created: Instant::now(),
                    user_data: req
                        .user_data
                        .as_ref()
                        .map(|u| u.expose_secret().to_string()),
                    errored: false,
                },
            );
            d
        };
        self.after(Service::Compute, f, d).await
    }
    async fn delete_droplet(&self, id: u64) -> PortResult<()> {
        let f = self
            .enter(Service::Compute, "delete_droplet", &id.to_string(), true)
            .await;
        Self::before(Service::Compute, f)?;
        let gone = self.state.lock().unwrap().droplets.remove(&id).is_none();
        if gone {
            return Err(PortError::not_found(
                Service::Compute,
                "fake",
                "no such droplet",
            ));
        }
        self.after(Service::Compute, f, ()).await
    }
}

#[async_trait]
impl Dns for World {
    fn provider(&self) -> &'static str {
        "fake-dns"
    }
    fn needs_publish(&self) -> bool {
        self.needs_publish
    }
    async fn owns_zone(&self, zone: &str) -> PortResult<bool> {
        let f = self.enter(Service::Dns, "owns_zone", zone, false).await;
        Self::before(Service::Dns, f)?;
        Ok(self.state.lock().unwrap().zones.iter().any(|z| z == zone))
    }
    async fn records(&self, zone: &str, fqdn: Option<&str>) -> PortResult<Vec<DnsRecord>> {
        let f = self
            .enter(Service::Dns, "records", fqdn.unwrap_or(zone), false)
            .await;
        Self::before(Service::Dns, f)?;
        Ok(self
            .state
            .lock()
            .unwrap()
            .records
            .iter()
            .filter(|r| r.zone == zone && fqdn.is_none_or(|n| r.fqdn == n))
            .cloned()
            .collect())
    }
    async fn create_record(&self, rec: &NewRecord) -> PortResult<DnsRecord> {
        let f = self
            .enter(Service::Dns, "create_record", &rec.fqdn, true)
            .await;
        Self::before(Service::Dns, f)?;
        let r = DnsRecord {
            zone: rec.zone.clone(),
            fqdn: rec.fqdn.clone(),
            rtype: rec.rtype.clone(),
            data: rec.data.clone(),
            ttl: rec.ttl,
            id: None,
        };
        self.state.lock().unwrap().records.push(r.clone());
        self.after(Service::Dns, f, r).await
    }
    async fn delete_record(&self, rec: &DnsRecord) -> PortResult<()> {
        let f = self
            .enter(Service::Dns, "delete_record", &rec.fqdn, true)
            .await;
        Self::before(Service::Dns, f)?;
        let gone = {
            let mut s = self.state.lock().unwrap();
            let before = s.records.len();
            s.records
                .retain(|r| !(r.fqdn == rec.fqdn && r.rtype == rec.rtype && r.data == rec.data));
            s.records.len() == before
        };
        if gone {
            return Err(PortError::not_found(Service::Dns, "fake", "no such record"));
        }
        self.after(Service::Dns, f, ()).await
    }
    async fn publish(&self, zone: &str, _note: &str) -> PortResult<Published> {
        let f = self.enter(Service::Dns, "publish", zone, true).await;
        Self::before(Service::Dns, f)?;
        self.state.lock().unwrap().publishes.push(zone.to_string());
        self.after(Service::Dns, f, Published { serial: Some(1) })
            .await
    }
}

#[async_trait]
impl ConfigMgmt for World {
    async fn get_node(&self, name: &str) -> PortResult<Option<NodeInfo>> {
        let f = self
            .enter(Service::ConfigMgmt, "get_node", name, false)
            .await;
        Self::before(Service::ConfigMgmt, f)?;
        Ok(self
            .state
            .lock()
            .unwrap()
            .nodes
            .get(name)
            .map(|n| NodeInfo {
                name: n.name.clone(),
                environment: n.environment.clone(),
                run_list: n.run_list.clone(),
            }))
    }
    async fn client_exists(&self, name: &str) -> PortResult<bool> {
        let f = self
            .enter(Service::ConfigMgmt, "client_exists", name, false)
            .await;
        Self::before(Service::ConfigMgmt, f)?;
        Ok(self.state.lock().unwrap().clients.contains_key(name))
    }
    async fn list_nodes(&self) -> PortResult<Vec<String>> {
        let f = self
            .enter(Service::ConfigMgmt, "list_nodes", "", false)
            .await;
        Self::before(Service::ConfigMgmt, f)?;
        Ok(self.state.lock().unwrap().nodes.keys().cloned().collect())
    }
    async fn create_client(&self, name: &str) -> PortResult<ClientCredentials> {
        let f = self
            .enter(Service::ConfigMgmt, "create_client", name, true)
            .await;
        Self::before(Service::ConfigMgmt, f)?;
        let key = {
            let mut s = self.state.lock().unwrap();
            if s.clients.contains_key(name) {
                return Err(err(
                    Service::ConfigMgmt,
                    PortErrorKind::AlreadyExists,
                    "client exists",
                ));
            }
            s.clients_created += 1;
            let key = format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{SECRET_MARK}-{name}-{}\n-----END RSA PRIVATE KEY-----\n",
                s.clients_created
            );
            s.clients.insert(name.to_string(), key.clone());
            key
        };
        self.after(
            Service::ConfigMgmt,
            f,
            ClientCredentials {
                name: name.to_string(),
                private_key: SecretString::from(key),
            },
        )
        .await
    }
    async fn create_node(&self, node: &NewNode, owner: &ClientCredentials) -> PortResult<()> {
        let f = self
            .enter(Service::ConfigMgmt, "create_node", &node.name, true)
            .await;
        Self::before(Service::ConfigMgmt, f)?;
        {
            let mut s = self.state.lock().unwrap();
            // The node must be created as its own client, with that client's current key.
            let current = s.clients.get(&owner.name).cloned();
            if current.as_deref() != Some(owner.private_key.expose_secret()) {
                return Err(err(
                    Service::ConfigMgmt,
                    PortErrorKind::Unauthorized,
                    "bad client key",
                ));
            }
            if s.nodes.contains_key(&node.name) {
                return Err(err(
                    Service::ConfigMgmt,
                    PortErrorKind::AlreadyExists,
                    "node exists",
                ));
            }
            s.nodes.insert(node.name.clone(), node.clone());
        }
        self.after(Service::ConfigMgmt, f, ()).await
    }
    async fn delete_node(&self, name: &str) -> PortResult<()> {
        let f = self
            .enter(Service::ConfigMgmt, "delete_node", name, true)
            .await;
        Self::before(Service::ConfigMgmt, f)?;
        if self.state.lock().unwrap().nodes.remove(name).is_none() {
            return Err(PortError::not_found(
                Service::ConfigMgmt,
                "fake",
                "no such node",
            ));
        }
        self.after(Service::ConfigMgmt, f, ()).await
    }
    async fn delete_client(&self, name: &str) -> PortResult<()> {
        let f = self
            .enter(Service::ConfigMgmt, "delete_client", name, true)
            .await;
        Self::before(Service::ConfigMgmt, f)?;
        if self.state.lock().unwrap().clients.remove(name).is_none() {
            return Err(PortError::not_found(
                Service::ConfigMgmt,
                "fake",
                "no such client",
            ));
        }
        self.after(Service::ConfigMgmt, f, ()).await
    }
}

#[async_trait]
impl Monitoring for World {
    async fn host_state(&self, host: &str) -> PortResult<Option<HostState>> {
        let f = self
            .enter(Service::Monitoring, "host_state", host, false)
            .await;
        Self::before(Service::Monitoring, f)?;
        let s = self.state.lock().unwrap();
        Ok(if s.host_up.iter().any(|h| h == host) {
            Some(HostState::Up)
        } else {
            Some(HostState::Pending)
        })
    }
}

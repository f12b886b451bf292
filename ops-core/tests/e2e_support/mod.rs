//! Shared rig of the end-to-end provision tests: the four testkit fakes, the adapters over
//! the real HTTP clients, and a fault proxy that lets a droplet create reach the DigitalOcean
//! fake and then loses, breaks or delays the answer (the ambiguous cases the fake alone
//! cannot produce, since its own faults answer *instead of* processing the request).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chef_client::testkit::FakeChefServer;
use digitalocean_client::testkit::{FakeConfig, FakeDigitalOcean};
use digitalocean_client::{CreateDomain, CreateSshKey};
use dynect_client::testkit::FakeDyn;
use nagios_client::HostStatus;
use nagios_client::testkit::FakeNagios;
use ops_core::adapters::chef::ChefConfigMgmt;
use ops_core::adapters::{DigitalOceanCompute, DnsAdapter, DnsConfig, DynDns, NagiosMonitoring};
use ops_core::provision::{BootstrapConfig, Budgets, HostSpec, ProvisionConfig, Provisioner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub type P = Provisioner;

pub const ZONE: &str = "example.com";
pub const KEY_NAME: &str = "ops";

/// What the proxy does to one create (`POST /v2/droplets` unless pushed with
/// [`FaultProxy::push_on`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateFault {
    /// Forward it (the droplet is created), then close the connection without answering.
    DropAnswer,
    /// Forward it, then answer 502 with an HTML page, as a load balancer would.
    BadGatewayAnswer,
    /// Forward it, then hold the answer for this long (past the client's timeout).
    DelayAnswer(Duration),
    /// Hold the request this long without forwarding it, then close (never created).
    HoldUnsent(Duration),
}

/// A loopback HTTP/1.1 proxy in front of an upstream, injecting [`CreateFault`]s into
/// creates (`POST` to a path, droplets by default), one per create, in queue order.
/// Everything else passes through.
pub struct FaultProxy {
    addr: SocketAddr,
    faults: Arc<Mutex<VecDeque<(String, CreateFault)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let faults: Arc<Mutex<VecDeque<(String, CreateFault)>>> = Arc::default();
        let f2 = faults.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let faults = f2.clone();
                tokio::spawn(async move {
                    let _ = serve(client, upstream, faults).await;
                });
            }
        });
        FaultProxy { addr, faults, task }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn push(&self, fault: CreateFault) {
        self.push_on("/v2/droplets", fault);
    }

    /// A fault for the next `POST` to exactly `path` (e.g. `/v2/volumes`).
    pub fn push_on(&self, path: &str, fault: CreateFault) {
        self.faults
            .lock()
            .unwrap()
            .push_back((path.to_owned(), fault));
    }

    pub fn pending(&self) -> usize {
        self.faults.lock().unwrap().len()
    }
}

async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(buf))
}

async fn forward(upstream: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(request).await?;
    let mut resp = Vec::new();
    // The DigitalOcean fake closes every connection after one answer.
    up.read_to_end(&mut resp).await?;
    Ok(resp)
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    faults: Arc<Mutex<VecDeque<(String, CreateFault)>>>,
) -> std::io::Result<()> {
    // One request per connection: the fake answers `connection: close`.
    let Some(request) = read_request(&mut client).await? else {
        return Ok(());
    };
    let line = String::from_utf8_lossy(&request[..request.len().min(200)]).to_string();
    let post_path = line
        .strip_prefix("POST ")
        .and_then(|r| r.split([' ', '?']).next())
        .map(str::to_owned);
    let fault = post_path.and_then(|path| {
        let mut q = faults.lock().unwrap();
        let i = q.iter().position(|(p, _)| *p == path)?;
        q.remove(i).map(|(_, f)| f)
    });
    match fault {
        None => {
            let resp = forward(upstream, &request).await?;
            client.write_all(&resp).await?;
        }
        Some(CreateFault::DropAnswer) => {
            forward(upstream, &request).await?;
            drop(client);
        }
        Some(CreateFault::BadGatewayAnswer) => {
            forward(upstream, &request).await?;
            let body = "<html><body><h1>502 Bad Gateway</h1></body></html>";
            let resp = format!(
                "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(resp.as_bytes()).await?;
        }
        Some(CreateFault::DelayAnswer(d)) => {
            let resp = forward(upstream, &request).await?;
            tokio::time::sleep(d).await;
            let _ = client.write_all(&resp).await;
        }
        Some(CreateFault::HoldUnsent(d)) => {
            tokio::time::sleep(d).await;
            drop(client);
        }
    }
    Ok(())
}

/// Which DNS provider a rig uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsKind {
    Dyn,
    DigitalOcean,
}

/// The fakes, the proxy in front of the DigitalOcean fake, and a provisioner over adapters.
pub struct Rig {
    pub digitalocean: FakeDigitalOcean,
    pub proxy: FaultProxy,
    pub dyn_fake: FakeDyn,
    pub chef: FakeChefServer,
    pub nagios: FakeNagios,
    pub do_client: digitalocean_client::Client,
    pub dns_kind: DnsKind,
    pub state_dir: PathBuf,
    /// Owns `state_dir`: removed when the rig is dropped (also when a test fails).
    _state: tempfile::TempDir,
}

/// A temporary directory (removed on drop) and the path inside it a run's state goes to
/// (created by the first journal write, as in real use).
pub fn temp_dir(tag: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::Builder::new()
        .prefix(&format!("ops-core-e2e-{tag}-"))
        .tempdir()
        .unwrap();
    let d = t.path().join("state");
    (t, d)
}

impl Rig {
    /// Starts every fake; `base_url` overrides where the DigitalOcean client goes (Prism),
    /// else through the fault proxy. `do_timeout` is the client's per-attempt timeout.
    pub async fn start(dns_kind: DnsKind, do_timeout: Duration) -> Rig {
        Self::start_with(dns_kind, do_timeout, None, &[]).await
    }

    pub async fn start_with(
        dns_kind: DnsKind,
        do_timeout: Duration,
        base_url: Option<&str>,
        nagios_hosts: &[(&str, HostStatus)],
    ) -> Rig {
        let digitalocean = FakeDigitalOcean::start_with(FakeConfig {
            activation_delay: Duration::from_millis(150),
            ..FakeConfig::default()
        })
        .await
        .unwrap();
        let proxy = FaultProxy::start(digitalocean.addr()).await;
        let base = base_url.map_or_else(|| proxy.uri(), str::to_owned);
        Self::finish(
            digitalocean,
            proxy,
            base,
            dns_kind,
            do_timeout,
            nagios_hosts,
        )
        .await
    }

    /// Like [`Rig::start_with`], with the DigitalOcean client's base URL chosen by `front`
    /// from the fault proxy's URL (e.g. a Prism proxy started in front of it).
    pub async fn start_fronted<F, Fut>(dns_kind: DnsKind, do_timeout: Duration, front: F) -> Rig
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = String>,
    {
        let digitalocean = FakeDigitalOcean::start_with(FakeConfig {
            activation_delay: Duration::from_millis(300),
            ..FakeConfig::default()
        })
        .await
        .unwrap();
        let proxy = FaultProxy::start(digitalocean.addr()).await;
        let base = front(proxy.uri()).await;
        Self::finish(digitalocean, proxy, base, dns_kind, do_timeout, &[]).await
    }

    async fn finish(
        digitalocean: FakeDigitalOcean,
        proxy: FaultProxy,
        base: String,
        dns_kind: DnsKind,
        do_timeout: Duration,
        nagios_hosts: &[(&str, HostStatus)],
    ) -> Rig {
        let do_client = digitalocean
            .client_builder()
            .base_url(base)
            .timeout(do_timeout)
            .build()
            .unwrap();
        // Seed the account: an SSH key, and the domain for DigitalOcean DNS.
        do_client
            .ssh_keys()
            .create(&CreateSshKey {
                name: KEY_NAME.into(),
                public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpsOpsOpsOpsOpsOpsOpsOpsOpsOpsOpsOpsOpsOpsOps ops@bastion".into(),
            })
            .await
            .unwrap();
        if dns_kind == DnsKind::DigitalOcean {
            do_client
                .domains()
                .create(&CreateDomain {
                    name: ZONE.into(),
                    ip_address: None,
                })
                .await
                .unwrap();
        }
        let dyn_fake = FakeDyn::start().await.unwrap();
        dyn_fake.add_zone(ZONE);
        let chef = FakeChefServer::start().await.unwrap();
        let mut nb = FakeNagios::builder();
        for (h, s) in nagios_hosts {
            nb = nb.host(h, *s);
        }
        let nagios = nb.start().await.unwrap();
        let (_state, state_dir) = temp_dir("state");
        Rig {
            digitalocean,
            proxy,
            dyn_fake,
            chef,
            nagios,
            do_client,
            dns_kind,
            state_dir,
            _state,
        }
    }

    pub fn config(&self) -> ProvisionConfig {
        let mut c = ProvisionConfig::new(
            self.state_dir.clone(),
            BootstrapConfig::new(format!(
                "https://chef.example.com/organizations/{}",
                chef_client::testkit::ORG
            )),
        );
        c.poll_interval = Duration::from_millis(50);
        c.active_timeout = Duration::from_secs(10);
        c.adopt_delay = Duration::from_millis(20);
        c.adopt_lookups = 3;
        c.publish_linger = Duration::from_millis(300);
        c.monitoring_poll = Duration::from_millis(25);
        c.monitoring_timeout = Duration::from_secs(5);
        c
    }

    pub fn dns(&self) -> DnsAdapter {
        match self.dns_kind {
            DnsKind::Dyn => DnsAdapter::from(DynDns::new(self.dyn_fake.client().unwrap())),
            DnsKind::DigitalOcean => DnsConfig::DigitalOcean
                .build(Some(&self.do_client))
                .unwrap(),
        }
    }

    pub fn provisioner_with(&self, config: ProvisionConfig) -> P {
        // DigitalOcean Domains shares the DigitalOcean budget (one token, one limit).
        let budgets = match self.dns_kind {
            DnsKind::Dyn => Budgets::default(),
            DnsKind::DigitalOcean => Budgets::digitalocean_dns(),
        };
        Provisioner::new(
            Arc::new(DigitalOceanCompute::new(self.do_client.clone())),
            Arc::new(self.dns()),
            Arc::new(ChefConfigMgmt::new(self.chef.client().unwrap())),
            Arc::new(NagiosMonitoring::new(self.nagios.client().unwrap())),
            config,
        )
        .with_budgets(budgets)
    }

    pub fn provisioner(&self) -> P {
        self.provisioner_with(self.config())
    }

    /// Droplet creates that reached the DigitalOcean fake.
    pub fn creates_received(&self) -> usize {
        self.digitalocean
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/v2/droplets")
            .count()
    }

    /// Droplets named `name` that exist now.
    pub async fn droplets_named(&self, name: &str) -> usize {
        self.digitalocean
            .client()
            .unwrap()
            .droplets()
            .list_by_name(name)
            .collect_all()
            .await
            .unwrap()
            .len()
    }

    /// Records at `fqdn` as the DNS provider stores them now: (type, data).
    pub async fn dns_records(&self, fqdn: &str) -> Vec<(String, String)> {
        match self.dns_kind {
            DnsKind::Dyn => self
                .dyn_fake
                .records(ZONE)
                .into_iter()
                .filter(|r| r.fqdn == fqdn)
                .map(|r| (r.record_type.clone(), rdata_address(&r.rdata)))
                .collect(),
            DnsKind::DigitalOcean => {
                let rel = fqdn.strip_suffix(&format!(".{ZONE}")).unwrap_or("@");
                self.digitalocean
                    .client()
                    .unwrap()
                    .domain_records(ZONE)
                    .list()
                    .collect_all()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|r| r.name == rel)
                    .map(|r| (r.record_type, r.data))
                    .collect()
            }
        }
    }
}

fn rdata_address(v: &serde_json::Value) -> String {
    v.get("address")
        .and_then(|a| a.as_str())
        .map_or_else(|| v.to_string(), str::to_owned)
}

pub fn spec(name: &str) -> HostSpec {
    HostSpec::from_toml_str(&format!(
        r#"
name = "{name}"
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["{KEY_NAME}"]
tags = ["web"]
dns = {{ zone = "{ZONE}", ttl = 300 }}
chef = {{ environment = "_default", run_list = ["role[base]", "recipe[nginx]"] }}
"#
    ))
    .unwrap()
}

//! In-process fakes of DigitalOcean, Dyn, Chef Server and nagios-api for provision,
//! teardown and key-sync.

#[cfg(feature = "sandbox")]
use std::time::Duration;

#[cfg(feature = "sandbox")]
use chef_client::testkit::FakeChefServer;
#[cfg(feature = "sandbox")]
use digitalocean_client::CreateSshKey;
#[cfg(feature = "sandbox")]
use digitalocean_client::testkit::{FakeConfig, FakeDigitalOcean};
#[cfg(feature = "sandbox")]
use dynect_client::testkit::FakeDyn;
#[cfg(feature = "sandbox")]
use nagios_client::HostStatus;
#[cfg(feature = "sandbox")]
use nagios_client::testkit::FakeNagios;

#[cfg(feature = "sandbox")]
use crate::cli::CliError;

/// The DNS zone the sandbox owns.
pub const ZONE: &str = "example.com";
/// The only DigitalOcean API token the fake accepts (a wrong one is refused with 401, as
/// DigitalOcean does).
pub const DO_TOKEN: &str = "sandbox-token";
/// The name of the SSH key registered on the fake DigitalOcean account.
pub const KEY_NAME: &str = "ops";
/// Hosts of the built-in fleet (Nagios already knows them, as its config would).
pub const FLEET: [&str; 3] = ["web-01", "web-02", "db-01"];

/// The built-in fleet spec used by `--sandbox` when no `--spec` is given.
pub const SANDBOX_FLEET_TOML: &str = r#"
[defaults]
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["ops"]
tags = ["sandbox"]
dns = { zone = "example.com" }
chef = { environment = "_default", run_list = ["role[base]", "recipe[user_setup]"] }

[[hosts]]
name = "web-01"

[[hosts]]
name = "web-02"

[[hosts]]
name = "db-01"
chef = { run_list = ["role[base]", "recipe[postgresql]"] }
"#;

/// The built-in users file used by `key-sync --sandbox` when no `--users` is given.
pub const SANDBOX_USERS_TOML: &str = r#"
[[users]]
id = "alice"
groups = ["sysadmin"]
shell = "/bin/bash"
ssh_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBeWCdqgTHkMwwiXNHKPGKc95MkBGbrhAnMZ8fJb2Vrh alice@laptop"]

[[users]]
id = "bob"
groups = ["sysadmin", "deploy"]
ssh_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAxQsMBt80t6AAc7q16+iVlm2MWVPWtP1LmH9LKGhg6m bob@laptop"]
"#;

/// The running fakes.
#[cfg(feature = "sandbox")]
pub struct Fakes {
    /// DigitalOcean API.
    pub digitalocean: FakeDigitalOcean,
    /// Dyn Managed DNS.
    pub dyn_dns: FakeDyn,
    /// Chef Infra Server.
    pub chef: FakeChefServer,
    /// nagios-api.
    pub nagios: FakeNagios,
}

#[cfg(feature = "sandbox")]
impl std::fmt::Debug for Fakes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fakes").finish_non_exhaustive()
    }
}

#[cfg(feature = "sandbox")]
fn start_err(what: &str) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |e| CliError::other(format!("could not start the fake {what} on loopback")).with_source(e)
}

#[cfg(feature = "sandbox")]
impl Fakes {
    /// Start all four; droplets take `boot` to become active.
    pub async fn start(boot: Duration) -> Result<Fakes, CliError> {
        let digitalocean = FakeDigitalOcean::start_with(FakeConfig {
            activation_delay: boot,
            token: Some(DO_TOKEN.to_owned()),
            ..FakeConfig::default()
        })
        .await
        .map_err(start_err("DigitalOcean API"))?;
        let dyn_dns = FakeDyn::start().await.map_err(start_err("Dyn API"))?;
        dyn_dns.add_zone(ZONE);
        let chef = FakeChefServer::start()
            .await
            .map_err(start_err("Chef server"))?;
        // The cookbook key-sync puts on run-lists, as `knife cookbook upload` would leave it
        // (key-sync refuses to add its recipe without it, issue #23).
        chef.add_cookbook("user_setup", ops_core::key_sync::USER_SETUP_VERSION);
        let mut nb = FakeNagios::builder();
        for h in FLEET {
            nb = nb.host(h, HostStatus::Up);
        }
        let nagios = nb
            .service(
                "db-01",
                "PostgreSQL",
                nagios_client::ServiceStatus::Ok,
                "POSTGRES OK",
            )
            .start()
            .await
            .map_err(start_err("nagios-api"))?;
        let fakes = Fakes {
            digitalocean,
            dyn_dns,
            chef,
            nagios,
        };
        fakes
            .do_client()?
            .ssh_keys()
            .create(&CreateSshKey {
                name: KEY_NAME.into(),
                public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEwkBDBCcFrYmi6SZjqHexYRCofZecv/gkaCEL4JVYvi ops@bastion".into(),
            })
            .await
            .map_err(|e| CliError::other("sandbox: could not register the SSH key").with_source(e))?;
        tracing::info!(
            digitalocean = %fakes.digitalocean.addr(),
            dyn_dns = %fakes.dyn_dns.uri(),
            chef = %fakes.chef.url(),
            nagios = %fakes.nagios.uri(),
            "sandbox: fake providers started"
        );
        Ok(fakes)
    }

    /// A DigitalOcean client for the fake.
    pub fn do_client(&self) -> Result<digitalocean_client::Client, CliError> {
        self.digitalocean
            .client()
            .map_err(|e| CliError::other("fake DigitalOcean client").with_source(e))
    }

    /// A Dyn client for the fake.
    pub fn dyn_client(&self) -> Result<dynect_client::Client, CliError> {
        self.dyn_dns
            .client()
            .map_err(|e| CliError::other("fake Dyn client").with_source(e))
    }

    /// A Chef admin client for the fake.
    pub fn chef_client(&self) -> Result<chef_client::Client, CliError> {
        self.chef
            .client()
            .map_err(|e| CliError::other("fake Chef client").with_source(e))
    }

    /// A nagios-api client for the fake.
    pub fn nagios_client(&self) -> Result<nagios_client::Client, CliError> {
        self.nagios
            .client()
            .map_err(|e| CliError::other("fake nagios-api client").with_source(e))
    }
}

//! `provision`, `teardown` and `key-sync`: the provider plumbing they share, and each run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
#[cfg(feature = "sandbox")]
use ops_core::adapters::DynDns;
use ops_core::adapters::chef::{ChefConfigMgmt, ChefNodes, ChefUsersBag};
use ops_core::adapters::do_keys::DoAccountKeys;
use ops_core::adapters::{DigitalOceanCompute, DnsAdapter, DnsConfig, NagiosMonitoring};
use ops_core::key_sync::{
    AuditReport, KeyPolicy, KeySource, KeySync, KeySyncOptions, RunOptions, SourceFormat,
    SyncReport,
};
use ops_core::provision::{
    BootstrapConfig, FleetReport, FleetSpec, HostFailure, HostOutcome, HostSpec, JournalStore,
    ProgressEvent, ProvisionConfig, Provisioner, TeardownReport, TeardownTarget, UndoOutcome,
    progress_channel,
};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};

use crate::cli::{CliError, ExitKind, Secrets, classify, env_secret, render_error};
use crate::progress::Progress;
#[cfg(feature = "sandbox")]
use crate::sandbox::providers::Fakes;
use crate::sandbox::providers::{SANDBOX_FLEET_TOML, SANDBOX_USERS_TOML};

/// DNS provider choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DnsProvider {
    /// Dyn Managed DNS (`DYN_CUSTOMER_NAME`, `DYN_USER_NAME`, `DYN_PASSWORD`).
    #[default]
    Dyn,
    /// DigitalOcean Domains (same token as compute).
    Digitalocean,
}

/// Provider flags shared by `provision`, `teardown` and `key-sync`.
#[derive(Debug, Args, Clone, Default)]
pub struct ProviderArgs {
    /// Run against in-process fakes of DigitalOcean, Dyn, Chef and nagios-api (built-in
    /// values: see the end of `--help`).
    #[arg(long)]
    pub sandbox: bool,
    /// DigitalOcean API URL override (proxies, fakes).
    #[arg(long, env = "DIGITALOCEAN_API_URL")]
    pub do_api_url: Option<String>,
    /// Dyn API URL override (proxies, fakes).
    #[arg(long, env = "DYN_API_URL")]
    pub dyn_api_url: Option<String>,
    /// Chef credentials profile (`~/.chef/credentials`).
    #[arg(long, env = "CHEF_PROFILE")]
    pub chef_profile: Option<String>,
    /// DNS provider.
    #[arg(long, value_enum, default_value_t = DnsProvider::Dyn)]
    pub dns: DnsProvider,
    /// nagios-api URL (needed only for `wait_for_monitoring`).
    #[arg(long, env = "NAGIOS_API_URL")]
    pub nagios_url: Option<String>,
    /// Directory of the run journals and leases (unless `OPS_STATE_URL` names a Postgres
    /// state database: then that holds them, shared by every machine).
    #[arg(long, env = "OPS_STATE_DIR", default_value = ".ops-state")]
    pub state_dir: PathBuf,
    /// How long a run's lease (on each host name; key-sync: on the users bag) lasts unless
    /// renewed; the run renews it every third of this. A runner that died is taken over
    /// this long after it stopped renewing (`90s`, `2m`). Default 2m.
    #[arg(long, env = "OPS_LEASE_TTL", value_name = "DURATION", value_parser = parse_ttl)]
    pub lease_ttl: Option<Duration>,
    /// How long to wait for a lease another run holds (set by each binary from its own
    /// flag: `--wait`, key-sync's `--wait-lease`); `None`: refuse at once (exit 7).
    #[arg(skip)]
    pub lease_wait: Option<Duration>,
    /// Print results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Show the writes that would be made and make none.
    #[arg(long)]
    pub dry_run: bool,
}

/// The providers, real or fake, behind the ports.
pub struct Providers {
    /// DigitalOcean client.
    pub digitalocean: digitalocean_client::Client,
    /// Chef admin client.
    pub chef: chef_client::Client,
    /// DNS adapter.
    pub dns: DnsAdapter,
    /// Monitoring adapter.
    pub monitoring: NagiosMonitoring,
    /// Chef server URL for bootstrapping.
    pub chef_url: String,
    /// Keeps the sandbox fakes alive (`--sandbox`).
    pub fakes: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers")
            .field("chef_url", &self.chef_url)
            .field("sandbox", &self.fakes.is_some())
            .finish_non_exhaustive()
    }
}

/// The engine type the binaries use.
pub type Engine = Provisioner;

impl Providers {
    /// Providers over running fakes.
    #[cfg(feature = "sandbox")]
    pub fn from_fakes(fakes: Arc<Fakes>, dns: DnsProvider) -> Result<Providers, CliError> {
        let digitalocean = fakes.do_client()?;
        let dns = match dns {
            DnsProvider::Dyn => DnsAdapter::from(DynDns::new(fakes.dyn_client()?)),
            DnsProvider::Digitalocean => DnsConfig::DigitalOcean
                .build(Some(&digitalocean))
                .map_err(CliError::from)?,
        };
        Ok(Providers {
            chef: fakes.chef_client()?,
            monitoring: NagiosMonitoring::new(fakes.nagios_client()?),
            chef_url: fakes.chef.url(),
            digitalocean,
            dns,
            fakes: Some(fakes as Arc<dyn std::any::Any + Send + Sync>),
        })
    }

    /// Resolve from flags and the environment (or start the fakes in `--sandbox` mode).
    pub async fn resolve(
        args: &ProviderArgs,
        secrets: &mut Secrets,
    ) -> Result<Providers, CliError> {
        if args.sandbox {
            if args.dns == DnsProvider::Digitalocean {
                return Err(CliError::bad_input(
                    "--sandbox owns its zone at Dyn: drop --dns digitalocean",
                ));
            }
            #[cfg(feature = "sandbox")]
            {
                let fakes = Arc::new(Fakes::start(Duration::from_millis(1500)).await?);
                return Self::from_fakes(fakes, args.dns);
            }
            #[cfg(not(feature = "sandbox"))]
            return Err(crate::cli::sandbox_not_built());
        }
        let token = digitalocean_token(secrets)?;
        let mut b = digitalocean_client::Client::builder(token);
        if let Some(u) = &args.do_api_url {
            secrets.add_url(u);
            b = b.base_url(u.clone());
        }
        let digitalocean = b.build().map_err(|e| {
            CliError::bad_input(
                "the DigitalOcean client could not be configured: check DIGITALOCEAN_API_URL",
            )
            .with_source(e)
        })?;
        let chef = chef_client::Client::from_credentials(args.chef_profile.as_deref()).map_err(|e| {
            CliError::bad_input(
                "no usable Chef credentials: check ~/.chef/credentials and CHEF_PROFILE (or --chef-profile)",
            )
            .with_source(e)
        })?;
        let chef_url = chef.base_url().to_string();
        let dns = match args.dns {
            DnsProvider::Digitalocean => DnsConfig::DigitalOcean.build(Some(&digitalocean))?,
            DnsProvider::Dyn => {
                let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
                let (Some(customer), Some(user), Some(password)) = (
                    var("DYN_CUSTOMER_NAME"),
                    var("DYN_USER_NAME"),
                    env_secret("DYN_PASSWORD"),
                ) else {
                    return Err(CliError::bad_input(
                        "Dyn credentials missing: set DYN_CUSTOMER_NAME, DYN_USER_NAME and DYN_PASSWORD, or use --dns digitalocean",
                    ));
                };
                secrets.add(&password);
                if let Some(u) = &args.dyn_api_url {
                    secrets.add_url(u);
                }
                let cfg: DnsConfig = serde_json::from_value(json!({
                    "provider": "dyn", "customer": customer, "user": user,
                    "password": secrecy::ExposeSecret::expose_secret(&password),
                    "base_url": args.dyn_api_url,
                }))
                .map_err(|e| CliError::other("Dyn configuration").with_source(e))?;
                cfg.build(None)?
            }
        };
        let nagios_url = args
            .nagios_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:9/".to_owned());
        let monitoring =
            NagiosMonitoring::new(nagios_client::Client::builder(nagios_url).build().map_err(
                |e| {
                    CliError::bad_input("the nagios-api URL is not usable: fix NAGIOS_API_URL")
                        .with_source(e)
                },
            )?);
        Ok(Providers {
            digitalocean,
            chef,
            dns,
            monitoring,
            chef_url,
            fakes: None,
        })
    }

    /// A provisioner over these providers. With `dry_run` its ports are read-only
    /// ([`ops_core::dry_run`]): a write would be refused, loudly, whatever the workflow does.
    pub fn engine(
        &self,
        state: &State,
        sandbox: bool,
        keep_on_failure: bool,
        dry_run: bool,
    ) -> Engine {
        let mut c = ProvisionConfig::new(
            state.dir.clone(),
            BootstrapConfig::new(self.chef_url.clone()),
        );
        c.state_store.clone_from(&state.store);
        c.lease_ttl = state.lease_ttl;
        c.lease_wait = state.lease_wait;
        c.redactor = crate::cli::redactor().clone();
        c.keep_on_failure = keep_on_failure;
        if sandbox {
            c.poll_interval = Duration::from_millis(100);
            c.adopt_delay = Duration::from_millis(50);
            c.publish_linger = Duration::from_millis(300);
            c.monitoring_poll = Duration::from_millis(100);
            c.monitoring_timeout = Duration::from_secs(10);
        }
        let mut compute: Arc<dyn ops_core::ports::Compute> =
            Arc::new(DigitalOceanCompute::new(self.digitalocean.clone()));
        let mut dns: Arc<dyn ops_core::ports::Dns> = Arc::new(self.dns.clone());
        let mut config: Arc<dyn ops_core::ports::ConfigMgmt> =
            Arc::new(ChefConfigMgmt::new(self.chef.clone()));
        let mut monitoring: Arc<dyn ops_core::ports::Monitoring> =
            Arc::new(self.monitoring.clone());
        if dry_run {
            compute = ops_core::dry_run::compute(compute);
            dns = ops_core::dry_run::dns(dns);
            config = ops_core::dry_run::config_mgmt(config);
            monitoring = ops_core::dry_run::monitoring(monitoring);
        }
        // One rate budget per credential; with a shared state store (`c.state_store`), one
        // across every process using it (issue #21).
        let budgets = ops_core::provision::Budgets::for_providers(
            &self.digitalocean,
            &self.dns,
            c.state_store.as_ref(),
        );
        let engine = Provisioner::new(compute, dns, config, monitoring, c).with_budgets(budgets);
        with_test_pause(engine)
    }
}

/// `OPS_PROVISION_TEST_PAUSE=<step>` and `OPS_PROVISION_TEST_RELEASE=<file>`, for the process
/// tests only: before `<step>` of each host the run prints `test hook: paused before step
/// <step> of <host>` on stderr and waits until `<file>` exists.
fn with_test_pause(engine: Engine) -> Engine {
    let (Ok(want), Ok(release)) = (
        std::env::var("OPS_PROVISION_TEST_PAUSE"),
        std::env::var("OPS_PROVISION_TEST_RELEASE"),
    ) else {
        return engine;
    };
    engine.test_pause(move |host, step| {
        if step.as_str() != want {
            return Box::pin(std::future::ready(()));
        }
        eprintln!("test hook: paused before step {step} of {host}");
        let release = PathBuf::from(&release);
        Box::pin(async move {
            while !release.exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    })
}

/// Where the journals and leases live (issue #21): the state folder (`OPS_STATE_DIR`, the
/// default), or the Postgres database `OPS_STATE_URL` names, shared by every machine.
#[derive(Clone)]
pub struct State {
    /// The state folder (the journals' home unless `store` is set).
    pub dir: PathBuf,
    /// The Postgres state store, when `OPS_STATE_URL` is set.
    pub store: Option<Arc<dyn ops_core::state::StateStore>>,
    /// A lease's time to live.
    pub lease_ttl: Duration,
    /// How long to wait for a lease another run holds (`--wait`); `None`: refuse at once.
    pub lease_wait: Option<Duration>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("where", &self.describe())
            .field("lease_ttl", &self.lease_ttl)
            .field("lease_wait", &self.lease_wait)
            .finish()
    }
}

/// The default lease time to live.
pub const LEASE_TTL: Duration = Duration::from_secs(120);

impl State {
    /// The state folder `dir`, default lease settings.
    pub fn dir(dir: impl Into<PathBuf>) -> Self {
        State {
            dir: dir.into(),
            store: None,
            lease_ttl: LEASE_TTL,
            lease_wait: None,
        }
    }

    /// From the flags and the environment: `OPS_STATE_URL` (a secret: its password is
    /// redacted everywhere) selects Postgres, else the folder. Connects and creates or
    /// migrates the schema; a server that cannot be reached is a provider failure (3).
    pub async fn resolve(p: &ProviderArgs, secrets: &mut Secrets) -> Result<State, CliError> {
        let mut state = State::dir(p.state_dir.clone());
        state.lease_ttl = p.lease_ttl.unwrap_or(LEASE_TTL);
        state.lease_wait = p.lease_wait;
        let Some(url) = env_secret("OPS_STATE_URL") else {
            return Ok(state);
        };
        let server = crate::restore_cmd::server(url, "state", "OPS_STATE_URL", secrets)?;
        let store = ops_core::state::PgStore::connect(&server)
            .await
            .map_err(|e| {
                let kind = match e {
                    ops_core::state::StateError::SchemaTooNew { .. } => ExitKind::BadInput,
                    _ => ExitKind::Provider,
                };
                CliError::new(
                    kind,
                    format!(
                        "cannot open the state database ({}): check OPS_STATE_URL and that the                          server is up",
                        server.host_label()
                    ),
                )
                .with_source(e)
            })?;
        state.store = Some(Arc::new(store));
        Ok(state)
    }

    /// The run journals.
    pub fn journals(&self) -> JournalStore {
        match &self.store {
            Some(s) => JournalStore::with_store(s.clone()),
            None => JournalStore::new(self.dir.clone()),
        }
    }

    /// The store leases are taken in.
    pub fn leases(&self) -> Arc<dyn ops_core::state::StateStore> {
        match &self.store {
            Some(s) => s.clone(),
            None => Arc::new(ops_core::state::FileStore::new(self.dir.clone())),
        }
    }

    /// Where the state is, for messages (never a password).
    pub fn describe(&self) -> String {
        match &self.store {
            Some(s) => format!("{} (OPS_STATE_URL)", s.describe()),
            None => format!("{} (OPS_STATE_DIR / --state-dir)", self.dir.display()),
        }
    }
}

/// `--lease-ttl`: a duration of at least a second.
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let d = parse_wait(s)?;
    if d < Duration::from_secs(1) {
        return Err(format!("{s:?} is shorter than a second"));
    }
    Ok(d)
}

/// The DigitalOcean API token: `DIGITALOCEAN_TOKEN`, else `DIGITALOCEAN_ACCESS_TOKEN` (the
/// variable `doctl` reads). When both are set `DIGITALOCEAN_TOKEN` wins, with a warning if
/// they differ. A token holding a character no token has (a space, a line break, a quote's
/// stray byte…) is refused naming the variable, never the value (issue #17).
pub fn digitalocean_token(secrets: &mut Secrets) -> Result<SecretString, CliError> {
    const TOKEN: &str = "DIGITALOCEAN_TOKEN";
    const ACCESS: &str = "DIGITALOCEAN_ACCESS_TOKEN";
    let (token, access) = (env_secret(TOKEN), env_secret(ACCESS));
    for t in [&token, &access].into_iter().flatten() {
        secrets.add(t);
    }
    let (var, token) = match (token, access) {
        (Some(t), Some(a)) => {
            if t.expose_secret() != a.expose_secret() {
                tracing::warn!("{TOKEN} and {ACCESS} are both set and differ: using {TOKEN}");
            }
            (TOKEN, t)
        }
        (Some(t), None) => (TOKEN, t),
        (None, Some(a)) => (ACCESS, a),
        (None, None) => {
            return Err(CliError::bad_input(format!(
                "{TOKEN} is not set: export your DigitalOcean API token as {TOKEN} or \
                 {ACCESS} (the variable doctl reads), or use --sandbox"
            )));
        }
    };
    if let Some(c) = token
        .expose_secret()
        .chars()
        .find(|c| !c.is_ascii_graphic())
    {
        let what = match c {
            ' ' => "a space",
            '\n' | '\r' => "a line break",
            c if c.is_control() => "a control character",
            _ => "a non-ASCII character",
        };
        return Err(CliError::bad_input(format!(
            "{var} holds {what}, which no API token has: check its value (copied with a \
             stray character?)"
        )));
    }
    Ok(token)
}

/// Load the fleet spec (the built-in one in `--sandbox` mode when `path` is `None`).
pub fn load_specs(path: Option<&PathBuf>, sandbox: bool) -> Result<Vec<HostSpec>, CliError> {
    let (text, name) = match (path, sandbox) {
        (Some(p), _) => (
            std::fs::read_to_string(p).map_err(|e| {
                CliError::bad_input(format!(
                    "cannot read the spec file {}: check the path",
                    p.display()
                ))
                .with_source(e)
            })?,
            p.display().to_string(),
        ),
        (None, true) => (SANDBOX_FLEET_TOML.to_owned(), "<sandbox fleet>".to_owned()),
        (None, false) => {
            return Err(CliError::bad_input(
                "no hosts: pass --spec fleet.toml (or use --sandbox)",
            ));
        }
    };
    let fleet = FleetSpec::from_toml_str(&text).map_err(|e| {
        CliError::from_workflow(
            format!("the spec file {name} is invalid: fix it and run again"),
            e,
        )
    })?;
    fleet.hosts().map_err(|e| {
        CliError::from_workflow(
            format!("the spec file {name} is invalid: fix it and run again"),
            e,
        )
    })
}

/// Run ids seen in progress events, by host (for the "interrupted: resume with" message).
pub type RunIds = Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>;

/// Render provision progress events (a bar per wait on a terminal, log lines otherwise).
pub fn spawn_progress(engine: Engine) -> (Engine, tokio::task::JoinHandle<()>) {
    let (engine, task, _) = spawn_progress_ids(engine);
    (engine, task)
}

/// [`spawn_progress`], also collecting the run id of every host.
pub fn spawn_progress_ids(engine: Engine) -> (Engine, tokio::task::JoinHandle<()>, RunIds) {
    let (f, mut rx) = progress_channel();
    let engine = engine.with_progress(f);
    let ids: RunIds = Arc::default();
    let ids2 = Arc::clone(&ids);
    let task = tokio::spawn(async move {
        let progress = Progress::new("provision");
        while let Some(ev) = rx.recv().await {
            if let ProgressEvent::StepStarted { host, run_id, .. } = &ev {
                if let Ok(mut m) = ids2.lock() {
                    m.entry(host.clone()).or_insert_with(|| run_id.clone());
                }
            }
            match ev {
                ProgressEvent::Waiting {
                    host,
                    status,
                    elapsed,
                    timeout,
                    step,
                    ..
                } => progress.update(
                    elapsed.as_secs(),
                    timeout.as_secs(),
                    &format!("s {host}: {step} ({status})"),
                ),
                ProgressEvent::StepDone { host, step, .. } => {
                    progress.message(&format!("{host}: {step} done"))
                }
                ProgressEvent::Finished { .. } => {}
                _ => {}
            }
        }
        progress.finish("done");
    });
    (engine, task, ids)
}

/// The "interrupted" error: how to continue, with the batch id (read back from a journal
/// of the batch) when the fleet got that far, and every host's run id.
async fn interrupted_error(engine: &Engine, ids: &RunIds) -> CliError {
    let runs: Vec<(String, String)> = ids
        .lock()
        .map(|m| m.iter().map(|(h, r)| (h.clone(), r.clone())).collect())
        .unwrap_or_default();
    let mut batch = None;
    if let Some((_, run)) = runs.first() {
        if let Ok(j) = engine.journals().load(run).await {
            batch = j.batch_id;
        }
    }
    let per_host = if runs.is_empty() {
        "no run started".to_owned()
    } else {
        runs.iter()
            .map(|(h, r)| format!("{h}={r}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    CliError::other(match batch {
        Some(b) => format!(
            "interrupted; the journals keep every step done so far: continue the whole fleet with `provision --resume-batch {b}`, or one host with `provision --resume RUN` ({per_host})"
        ),
        None => format!(
            "interrupted; the journals keep every step done so far: continue each host with `provision --resume RUN` ({per_host})"
        ),
    })
}

fn host_json(h: &HostOutcome) -> Value {
    match &h.result {
        Ok(r) => json!({
            "name": h.name, "ok": true, "run_id": r.run_id, "droplet_id": r.droplet_id,
            "fqdn": r.fqdn, "ipv4": r.addresses.ipv4.map(|a| a.to_string()),
            "ipv6": r.addresses.ipv6.map(|a| a.to_string()), "adopted": r.adopted,
            "duplicates_removed": r.duplicates_removed,
        }),
        Err(f) => json!({
            "name": h.name, "ok": false, "run_id": h.run_id, "failed_step": f.step.as_str(),
            "error": render_error(&f.error, &Secrets::new()),
            "rolled_back": f.rollback.as_ref().map(|r| r.complete()),
            "left_behind": left_behind(h, f),
            "journal_error": f.journal_error.as_ref().map(|e| render_error(e, &Secrets::new())),
        }),
    }
}

/// What may still exist because of a failed host run (an unconfirmed create included).
fn left_behind(h: &HostOutcome, f: &HostFailure) -> Vec<String> {
    let tag = format!(
        "{}{}",
        ops_core::provision::spec::RUN_TAG_PREFIX,
        h.run_id.as_deref().unwrap_or("?")
    );
    f.left_behind(&tag)
}

fn host_line(h: &HostOutcome) -> String {
    match &h.result {
        Ok(r) => format!(
            "  ok      {:<10} droplet {} {} -> {} (run {}){}",
            h.name,
            r.droplet_id,
            r.fqdn,
            r.addresses.ipv4.map(|a| a.to_string()).unwrap_or_default(),
            r.run_id,
            if r.duplicates_removed.is_empty() {
                String::new()
            } else {
                format!(
                    "; deleted duplicate droplet(s) {} that carried the same run tag",
                    r.duplicates_removed
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        Err(f) => {
            let left = left_behind(h, f);
            format!(
                "  FAILED  {:<10} at {}: {}{}{}",
                h.name,
                f.step,
                render_error(&f.error, &Secrets::new()),
                match &f.rollback {
                    Some(r) if r.complete() => " (rolled back)".to_owned(),
                    Some(_) => " (rollback incomplete: see the journal)".to_owned(),
                    None => " (kept for inspection)".to_owned(),
                },
                if left.is_empty() {
                    String::new()
                } else {
                    format!("; left behind: {}", left.join(", "))
                }
            )
        }
    }
}

/// Exit status of a set of host outcomes.
pub fn outcome_result(hosts: &[&HostOutcome]) -> Result<(), CliError> {
    let failed: Vec<&&HostOutcome> = hosts.iter().filter(|h| !h.is_ok()).collect();
    crate::metrics_file::record("hosts", "Hosts the run worked on.", hosts.len() as f64);
    crate::metrics_file::record("hosts_failed", "Hosts that failed.", failed.len() as f64);
    if failed.is_empty() {
        return Ok(());
    }
    if failed.len() < hosts.len() {
        return Err(CliError::partial(format!(
            "{} of {} hosts failed: {}",
            failed.len(),
            hosts.len(),
            failed
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let kind = failed
        .iter()
        .find_map(|h| h.result.as_ref().err().map(failure_kind))
        .unwrap_or(ExitKind::Other);
    let first = failed[0];
    let name = if first.name.is_empty() {
        format!("run {}", first.run_id.as_deref().unwrap_or("?"))
    } else {
        first.name.clone()
    };
    let why = first
        .result
        .as_ref()
        .err()
        .map(|f| render_error(&f.error, &Secrets::new()))
        .unwrap_or_else(|| "unknown".to_owned());
    Err(CliError::new(
        kind,
        format!("provisioning failed for every host; {name}: {why}"),
    ))
}

/// The exit code of one failed host: its error's, except for a resumed run that was rolling
/// back (the library answers it with the rollback it finished or continued and an
/// explanation): that run had failed, and is reported as the provider failure it was, also
/// once its rollback is complete, never as bad input (issue #17 item 7).
fn failure_kind(f: &HostFailure) -> ExitKind {
    if f.rollback.is_some() && matches!(f.error, ops_core::Error::Precondition(_)) {
        ExitKind::Provider
    } else {
        classify(&f.error)
    }
}

/// Print a fleet report.
pub fn print_fleet(report: &FleetReport, json_out: bool) {
    crate::metrics_file::record(
        "publishes",
        "DNS zone publishes the run made.",
        report.publishes as f64,
    );
    if json_out {
        crate::emit_json(&json!({
            "batch_id": report.batch_id,
            "publishes": report.publishes,
            "hosts": report.hosts.iter().map(host_json).collect::<Vec<_>>(),
        }));
    } else {
        crate::emit(format!(
            "provisioned {} of {} hosts (batch {}, {} zone publish(es))",
            report.succeeded(),
            report.hosts.len(),
            report.batch_id.as_deref().unwrap_or("-"),
            report.publishes
        ));
        for h in &report.hosts {
            crate::emit(host_line(h));
        }
    }
}

/// `--chef-version` / `--chef-license` of `provision`: they override every host's value from
/// the spec (and are journaled with it, so a `--resume` keeps them).
#[derive(Debug, Clone, Default)]
pub struct ChefOverrides {
    /// Chef Infra Client version to install.
    pub version: Option<String>,
    /// `chef_license` in `client.rb`.
    pub license: Option<String>,
}

/// Refuses a `--resume RUN` whose journal is not there (bad input, like an unknown batch) or
/// cannot be read (names the file), before any provider is touched (issue #17).
async fn check_resumable(state: &State, run: &str) -> Result<(), CliError> {
    match state.journals().load(run).await {
        Ok(_) => Ok(()),
        Err(ops_core::Error::Journal { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Err(CliError::bad_input(format!(
                "cannot resume run {run}: there is no journal of it in {} (check the run id \
                 and where the state is); nothing was changed",
                state.describe()
            )))
        }
        Err(e) => Err(CliError::from_workflow(
            format!("cannot resume run {run}"),
            e,
        )),
    }
}

/// `provision`.
pub async fn provision(
    p: &ProviderArgs,
    spec: Option<&PathBuf>,
    resume: Option<&str>,
    resume_batch: Option<&str>,
    keep_on_failure: bool,
    chef: &ChefOverrides,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    if resume.is_some() && resume_batch.is_some() {
        return Err(CliError::bad_input(
            "pass either --resume RUN or --resume-batch BATCH, not both",
        ));
    }
    if p.dry_run && (resume.is_some() || resume_batch.is_some()) {
        // A resume writes; its dry run would be refused at the first write by the read-only
        // ports. Say so before any request.
        return Err(CliError::bad_input(
            "--dry-run plans a new run from a spec; --resume/--resume-batch continue a run for              real: pass one or the other (nothing was done)",
        ));
    }
    let specs = if resume.is_none() && resume_batch.is_none() {
        let mut specs = load_specs(spec, p.sandbox)?;
        for s in &mut specs {
            if chef.version.is_some() {
                s.chef.version.clone_from(&chef.version);
            }
            if chef.license.is_some() {
                s.chef.license.clone_from(&chef.license);
            }
        }
        specs
    } else {
        Vec::new()
    };
    let state = State::resolve(p, secrets).await?;
    if let Some(run) = resume {
        check_resumable(&state, run).await?;
    }
    // Installed before the first request: a Ctrl-C once anything was written is handled.
    let sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    let providers = Providers::resolve(p, secrets).await?;
    let engine = providers.engine(&state, p.sandbox, keep_on_failure, p.dry_run);
    // Every path that writes answers Ctrl-C: the handler above replaced the default exit by
    // signal, so a path that did not listen would ignore the operator's Ctrl-C.
    let mut sigint = sigint;
    let interrupted = async {
        match sigint.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::pin!(interrupted);
    if let Some(batch) = resume_batch {
        let (engine, task) = spawn_progress(engine);
        let report = tokio::select! {
            r = engine.resume_batch(batch) => r,
            () = &mut interrupted => {
                task.abort();
                engine.release_leases().await;
                return Err(CliError::other(format!(
                    "interrupted; the journals keep every step done so far: continue with `provision --resume-batch {batch}`"
                )));
            }
        };
        drop(engine);
        let _ = task.await;
        let report = report.map_err(|e| {
            CliError::from_workflow(
                format!(
                    "cannot resume batch {batch} (check the id and where the state is: {})",
                    state.describe()
                ),
                e,
            )
        })?;
        print_fleet(&report, p.json);
        return outcome_result(&report.hosts.iter().collect::<Vec<_>>());
    }
    if let Some(run) = resume {
        let (engine, task) = spawn_progress(engine);
        let out = tokio::select! {
            r = engine.resume(run) => r,
            () = &mut interrupted => {
                task.abort();
                engine.release_leases().await;
                return Err(CliError::other(format!(
                    "interrupted; the journal keeps every step done so far: continue with `provision --resume {run}`"
                )));
            }
        };
        drop(engine);
        let _ = task.await;
        if p.json {
            crate::emit_json(&json!({"resumed": run, "hosts": [host_json(&out)]}));
        } else {
            crate::emit(format!("resumed run {run}"));
            crate::emit(host_line(&out));
        }
        return outcome_result(&[&out]);
    }
    if p.dry_run {
        let plan = engine
            .plan(&specs)
            .await
            .map_err(|e| CliError::from_workflow("planning failed", e))?;
        let v = serde_json::to_value(&plan).unwrap_or(Value::Null);
        if p.json {
            crate::emit_json(&json!({"dry_run": true, "valid": plan.is_valid(), "plan": v}));
        } else {
            crate::emit("dry run: these writes would be made (none were):");
            for h in &plan.hosts {
                for prob in &h.problems {
                    crate::emit(format!("  {}: PROBLEM {prob}", h.name));
                }
                for w in &h.writes {
                    crate::emit(format!("  {}: {} {}", h.name, w.service, w.action));
                }
            }
            for w in &plan.publishes {
                crate::emit(format!("  {} {}", w.service, w.action));
            }
        }
        return if plan.is_valid() {
            Ok(())
        } else {
            Err(CliError::bad_input(
                "the plan has problems (listed above): fix the spec",
            ))
        };
    }
    let (engine, task, ids) = spawn_progress_ids(engine);
    let report = tokio::select! {
        r = engine.provision_fleet(&specs) => r,
        () = &mut interrupted => {
            task.abort();
            engine.release_leases().await;
            return Err(interrupted_error(&engine, &ids).await);
        }
    };
    drop(engine);
    let _ = task.await;
    print_fleet(&report, p.json);
    outcome_result(&report.hosts.iter().collect::<Vec<_>>())
}

/// An outcome as JSON: `outcome` is the journals' name (`removed`, `already_gone`,
/// `skipped`, `would_remove`, `failed`), `detail` the reason when there is one.
fn outcome_json(o: &UndoOutcome) -> (Value, Value) {
    let v = serde_json::to_value(o).unwrap_or(Value::Null);
    (
        v["outcome"].clone(),
        v.get("detail").cloned().unwrap_or(Value::Null),
    )
}

fn teardown_json(r: &TeardownReport) -> Value {
    json!({
        "name": r.name, "dry_run": r.dry_run, "complete": r.complete(),
        "credentials_rejected": r.credentials_rejected,
        "actions": r.actions.iter().map(|a| {
            let (outcome, detail) = outcome_json(&a.outcome);
            json!({"resource": a.resource, "outcome": outcome, "detail": detail})
        }).collect::<Vec<_>>(),
    })
}

/// Teardown targets for host names, with their DNS records when `zone` is given.
pub fn targets_for(names: &[String], zone: Option<&str>) -> Vec<TeardownTarget> {
    names
        .iter()
        .map(|n| {
            let t = TeardownTarget::new(n.clone());
            match zone {
                Some(z) => t.with_zone(z),
                None => t,
            }
        })
        .collect()
}

/// Tear down hosts with an existing engine; returns the reports.
pub async fn teardown_with(
    engine: &Engine,
    targets: &[TeardownTarget],
    dry_run: bool,
) -> Result<Vec<TeardownReport>, CliError> {
    let mut out = Vec::new();
    for t in targets {
        out.push(
            engine.teardown(t, dry_run).await.map_err(|e| {
                CliError::from_workflow(format!("teardown of {} failed", t.name), e)
            })?,
        );
    }
    Ok(out)
}

/// Print teardown reports and compute the exit status: credentials a provider refused are
/// bad input (2: fix them and re-run), else incomplete teardowns are partial (4) or, when
/// none completed, a provider failure (3).
pub fn print_teardown(reports: &[TeardownReport], json_out: bool) -> Result<(), CliError> {
    if json_out {
        crate::emit_json(&json!({"hosts": reports.iter().map(teardown_json).collect::<Vec<_>>()}));
    } else {
        for r in reports {
            crate::emit(format!(
                "{}{}: {}",
                if r.dry_run { "dry run: " } else { "" },
                r.name,
                if r.complete() {
                    "complete"
                } else {
                    "INCOMPLETE"
                }
            ));
            for a in &r.actions {
                crate::emit(format!("  {}: {}", a.resource, a.outcome));
            }
        }
    }
    let bad = reports.iter().filter(|r| !r.complete()).count();
    crate::metrics_file::record("hosts", "Hosts the run worked on.", reports.len() as f64);
    crate::metrics_file::record(
        "hosts_incomplete",
        "Hosts not completely torn down.",
        bad as f64,
    );
    let rejected: Vec<&str> = reports
        .iter()
        .filter(|r| !r.complete() && r.credentials_rejected)
        .map(|r| r.name.as_str())
        .collect();
    match bad {
        0 => Ok(()),
        _ if !rejected.is_empty() => Err(CliError::bad_input(format!(
            "a provider rejected the credentials (HTTP 401/403) while tearing down {}: fix \
             them and re-run (teardown is re-runnable)",
            rejected.join(", ")
        ))),
        n if n < reports.len() => Err(CliError::partial(format!(
            "{n} of {} teardowns are incomplete (re-run to retry)",
            reports.len()
        ))),
        _ => Err(CliError::provider(
            "no teardown completed (re-run to retry)",
        )),
    }
}

/// True when a teardown found nothing at all of the host: every action says "already gone".
fn found_nothing(r: &TeardownReport) -> bool {
    r.actions
        .iter()
        .all(|a| a.outcome == UndoOutcome::AlreadyGone)
}

/// The latest journal of each host name in the state (its spec: zone and record).
async fn journaled_specs(
    state: &State,
) -> Result<std::collections::BTreeMap<String, HostSpec>, ops_core::Error> {
    Ok(state
        .journals()
        .list()
        .await?
        .into_iter()
        .map(|j| (j.spec.name.clone(), j.spec))
        .collect())
}

/// The targets of `teardown NAME…`: each host's DNS zone from `--zone`, else from its latest
/// journal, else (`--sandbox`) the sandbox's zone. A host with none of these is refused
/// before anything is touched (its DNS records would be left behind, issue #17). Also
/// returns the names no journal knows.
async fn name_targets(
    p: &ProviderArgs,
    state: &State,
    names: &[String],
    zone: Option<&str>,
) -> Result<(Vec<TeardownTarget>, Vec<String>), CliError> {
    let journals = match journaled_specs(state).await {
        Ok(j) => j,
        // With --zone the journals only tell a torn-down host from a misspelled one.
        Err(e) if zone.is_some() || p.sandbox => {
            tracing::warn!(
                error = %render_error(&e, &Secrets::new()),
                "cannot read the run journals; hosts are treated as unknown to them"
            );
            Default::default()
        }
        Err(e) => {
            return Err(CliError::from_workflow(
                "cannot read the run journals to find the hosts' DNS zones (or pass --zone)",
                e,
            ));
        }
    };
    let mut targets = Vec::new();
    let mut unjournaled = Vec::new();
    let mut no_zone = Vec::new();
    for name in names {
        let spec = journals.get(name);
        if spec.is_none() {
            unjournaled.push(name.clone());
        }
        let target = match (zone, spec) {
            (Some(z), Some(s)) if s.dns.zone.trim_end_matches('.') == z.trim_end_matches('.') => {
                TeardownTarget::from(s)
            }
            (Some(z), _) => TeardownTarget::new(name.clone()).with_zone(z),
            (None, Some(s)) => TeardownTarget::from(s),
            (None, None) if p.sandbox => {
                TeardownTarget::new(name.clone()).with_zone(crate::sandbox::providers::ZONE)
            }
            (None, None) => {
                no_zone.push(name.as_str());
                continue;
            }
        };
        targets.push(target);
    }
    if !no_zone.is_empty() {
        return Err(CliError::bad_input(format!(
            "no --zone, and no run journal in {} for {} to take the DNS zone from: pass \
             --zone ZONE (or --spec fleet.toml), or their DNS records would be left behind; \
             nothing was changed",
            state.describe(),
            no_zone.join(", ")
        )));
    }
    Ok((targets, unjournaled))
}

/// The "nothing matched" error: names with nothing at any provider and no journal.
fn nothing_matched(names: &[&str]) -> CliError {
    CliError::bad_input(format!(
        "nothing matched {}: no droplet, DNS record, Chef node or client of that name, and \
         no run journal of it: check the spelling (and OPS_STATE_DIR); nothing was changed",
        names.join(", ")
    ))
}

/// `teardown`: the named hosts, or (`spec`) every host of a fleet spec with the DNS
/// zone and record name the spec gave it.
///
/// A named host that matches nothing — no droplet, record, Chef node or client, and no
/// journal (a host torn down before still has its journal) — is refused as bad input before
/// anything is removed (issue #17: a misspelled name exited 0).
pub async fn teardown(
    p: &ProviderArgs,
    names: &[String],
    zone: Option<&str>,
    spec: Option<&PathBuf>,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    if spec.is_some() && (!names.is_empty() || zone.is_some()) {
        return Err(CliError::bad_input(
            "pass either host names (with --zone) or --spec, not both",
        ));
    }
    if spec.is_none() && names.is_empty() {
        return Err(CliError::bad_input(
            "name at least one host to tear down, or pass --spec fleet.toml",
        ));
    }
    let state = State::resolve(p, secrets).await?;
    let (targets, unjournaled) = match spec {
        Some(_) if !names.is_empty() || zone.is_some() => {
            return Err(CliError::bad_input(
                "pass either host names (with --zone) or --spec, not both",
            ));
        }
        Some(path) => (
            load_specs(Some(path), false)?
                .iter()
                .map(TeardownTarget::from)
                .collect(),
            Vec::new(),
        ),
        None if names.is_empty() => {
            return Err(CliError::bad_input(
                "name at least one host to tear down, or pass --spec fleet.toml",
            ));
        }
        None => name_targets(p, &state, names, zone).await?,
    };
    let providers = Providers::resolve(p, secrets).await?;
    let engine = providers.engine(&state, p.sandbox, false, p.dry_run);
    let journals = engine.journals().clone();
    crate::cli::on_interrupt(move || Box::pin(async move { journals.release_leases().await }));
    // Names no journal knows: look first (reads only), refuse if one matches nothing.
    let probe: Vec<TeardownTarget> = targets
        .iter()
        .filter(|t| unjournaled.contains(&t.name))
        .cloned()
        .collect();
    if !probe.is_empty() && !p.dry_run {
        let looked = teardown_with(&engine, &probe, true).await?;
        let unmatched: Vec<&str> = looked
            .iter()
            .filter(|r| found_nothing(r))
            .map(|r| r.name.as_str())
            .collect();
        if !unmatched.is_empty() {
            return Err(nothing_matched(&unmatched));
        }
    }
    let reports = teardown_with(&engine, &targets, p.dry_run).await?;
    if p.dry_run {
        let unmatched: Vec<&str> = reports
            .iter()
            .filter(|r| unjournaled.contains(&r.name) && found_nothing(r))
            .map(|r| r.name.as_str())
            .collect();
        if !unmatched.is_empty() {
            return Err(nothing_matched(&unmatched));
        }
    }
    print_teardown(&reports, p.json)
}

/// Load a users source (built-in in `--sandbox` mode when `path` is `None`).
pub fn load_users(path: Option<&PathBuf>, sandbox: bool) -> Result<KeySource, CliError> {
    let policy = KeyPolicy::default();
    let src = match (path, sandbox) {
        (Some(p), _) => KeySource::load(p, &policy),
        (None, true) => KeySource::parse_str(
            SANDBOX_USERS_TOML,
            SourceFormat::Toml,
            "<sandbox users>",
            &policy,
        ),
        (None, false) => {
            return Err(CliError::bad_input(
                "no users: pass --users DIR|FILE (or use --sandbox)",
            ));
        }
    };
    src.map_err(|e| {
        CliError::from_workflow(
            "the users source is invalid (nothing was written): fix it and run again",
            e,
        )
    })
}

/// Run one key sync over providers; returns the report.
pub async fn key_sync_with(
    providers: &Providers,
    source: &KeySource,
    run: RunOptions,
) -> Result<SyncReport, CliError> {
    let (bag, keys, nodes) = key_sync_parts(providers, run.dry_run);
    let ks = KeySync::new(&*bag, &*keys, &*nodes, KeySyncOptions::default());
    ks.sync(source, run)
        .await
        .map_err(|e| CliError::from_workflow("key sync failed", e))
}

/// JSON of a sync report.
pub fn sync_json(r: &SyncReport) -> Value {
    match r {
        SyncReport::UpToDate { digest } => {
            json!({"result": "up_to_date", "digest": digest, "writes": 0})
        }
        SyncReport::DryRun(_) => json!({"result": "dry_run", "writes": 0, "plan": r.to_string()}),
        SyncReport::Applied { report, .. } => json!({
            "result": "applied", "writes": report.writes(), "items_written": report.items_written,
            "keys_added": report.keys_added, "keys_deleted": report.keys_deleted,
            "run_lists_fixed": report.run_lists_fixed,
        }),
    }
}

/// `key-sync`.
pub async fn key_sync(
    p: &ProviderArgs,
    users: Option<&PathBuf>,
    full: bool,
    force: bool,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    let source = load_users(users, p.sandbox)?;
    let state = State::resolve(p, secrets).await?;
    let providers = Providers::resolve(p, secrets).await?;
    let run = RunOptions {
        dry_run: p.dry_run,
        full,
        force,
    };
    // A dry run only reads: it takes no lease.
    let report = if p.dry_run {
        key_sync_with(&providers, &source, run).await?
    } else {
        with_bag_lease(&state, key_sync_with(&providers, &source, run)).await?
    };
    let writes = match &report {
        SyncReport::Applied { report, .. } => report.writes(),
        SyncReport::UpToDate { .. } | SyncReport::DryRun(_) => 0,
    };
    crate::metrics_file::record("writes", "Writes the run made.", writes as f64);
    if p.json {
        crate::emit_json(&sync_json(&report));
    } else {
        crate::emit(report.to_string().trim_end());
    }
    Ok(())
}

/// The lease key-sync holds while it writes: one run at a time per users bag.
pub const USERS_BAG_LEASE: &str = "key-sync:users";

/// Runs `work` holding the users bag's lease (issue #21), renewed meanwhile: a second
/// key-sync (on this machine or, with `OPS_STATE_URL`, any) is refused with "already
/// running" (exit 7), or waits `state.lease_wait` for it.
pub async fn with_bag_lease<T>(
    state: &State,
    work: impl std::future::Future<Output = Result<T, CliError>>,
) -> Result<T, CliError> {
    use ops_core::state::{Holder, StateError, acquire_waiting};
    let store = state.leases();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let holder = Holder::this_process(format!("key-sync-{stamp}-{}", std::process::id()));
    let ttl = state.lease_ttl;
    let got = match state.lease_wait {
        None => store.acquire(USERS_BAG_LEASE, &holder, ttl).await,
        Some(deadline) => {
            let poll = (ttl / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
            acquire_waiting(
                store.as_ref(),
                USERS_BAG_LEASE,
                &holder,
                ttl,
                poll,
                deadline,
            )
            .await
        }
    };
    let lease = match got {
        Ok(l) => l,
        Err(StateError::Held {
            holder,
            since,
            expires_at,
            ..
        }) => {
            return Err(CliError::new(
                ExitKind::Busy,
                format!(
                    "key-sync is already running: the users bag is held by run {} on host {} \
                     (pid {}) since {}, until {} unless renewed; nothing was written: wait for \
                     it (--wait-lease DURATION) or check that run",
                    holder.run,
                    holder.host,
                    holder.pid,
                    ops_core::status::rfc3339(since),
                    ops_core::status::rfc3339(expires_at)
                ),
            ));
        }
        // The local folder cannot be written (a read-only root, a hardened unit without a
        // state directory): the lease would only have kept apart key-syncs of this machine,
        // which the scheduler already does; go on without it, and say how to get it.
        Err(e @ StateError::Io { .. }) if state.store.is_none() => {
            tracing::warn!(
                error = %e,
                "key-sync runs without the users bag's lease: the state folder cannot be \
                 written; point OPS_STATE_DIR at a writable folder (or set OPS_STATE_URL) so \
                 two key-syncs never run at once"
            );
            return work.await;
        }
        Err(e) => {
            return Err(CliError::new(
                crate::cli::classify_state(&e),
                format!("cannot take the users bag's lease in {}", state.describe()),
            )
            .with_source(e));
        }
    };
    {
        let (store, lease) = (store.clone(), lease.clone());
        crate::cli::on_interrupt(move || {
            Box::pin(async move {
                let _ = store.release(&lease).await;
            })
        });
    }
    if let Ok(release) = std::env::var("OPS_KEY_SYNC_TEST_PAUSE") {
        // Process tests only: hold the lease until `release` exists.
        eprintln!("test hook: paused holding the users bag lease");
        let release = PathBuf::from(release);
        while !release.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let renew = async {
        let mut current = lease.clone();
        loop {
            tokio::time::sleep((ttl / 3).max(Duration::from_millis(10))).await;
            match store.renew(&current, ttl).await {
                Ok(l) => current = l,
                Err(e) => tracing::error!(
                    error = %e,
                    "could not renew the users bag's lease; another key-sync may start"
                ),
            }
        }
    };
    tokio::pin!(work, renew);
    let out = loop {
        tokio::select! {
            r = &mut work => break r,
            () = &mut renew => {}
        }
    };
    if let Err(e) = store.release(&lease).await {
        tracing::warn!(error = %e, "could not release the users bag's lease; it expires by itself");
    }
    out
}

/// The key-sync ports; with `read_only` their writes are refused ([`ops_core::dry_run`]):
/// a dry run or an audit cannot write whatever the workflow does.
fn key_sync_parts(providers: &Providers, read_only: bool) -> KeySyncPorts {
    let bag: Arc<dyn ops_core::key_sync::UsersBag> =
        Arc::new(ChefUsersBag::new(providers.chef.clone()));
    let keys: Arc<dyn ops_core::key_sync::AccountKeys> =
        Arc::new(DoAccountKeys::new(providers.digitalocean.clone()));
    let nodes: Arc<dyn ops_core::key_sync::NodeInventory> =
        Arc::new(ChefNodes::new(providers.chef.clone()));
    if read_only {
        (
            ops_core::dry_run::users_bag(bag),
            ops_core::dry_run::account_keys(keys),
            ops_core::dry_run::node_inventory(nodes),
        )
    } else {
        (bag, keys, nodes)
    }
}

type KeySyncPorts = (
    Arc<dyn ops_core::key_sync::UsersBag>,
    Arc<dyn ops_core::key_sync::AccountKeys>,
    Arc<dyn ops_core::key_sync::NodeInventory>,
);

/// `--wait DURATION`: `90`, `90s`, `15m`, `2h` (whole units), at most a week.
pub fn parse_wait(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration: use e.g. 90s, 15m or 2h"))?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        _ => None,
    }
    .ok_or_else(|| format!("{s:?} is not a duration: use e.g. 90s, 15m or 2h"))?;
    if secs > 7 * 24 * 3600 {
        return Err(format!("{s:?} is longer than a week"));
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// `key-sync --revoke USER [--wait DURATION]`: mark the user removed everywhere in one
/// step and print the nodes that still have to converge and those whose `user_setup`
/// report still lists a key of the user; with `wait`, poll those reports until none is
/// left (exit 0) or the deadline passes ([`ExitKind::Pending`], 6).
pub async fn key_revoke(
    p: &ProviderArgs,
    user: &str,
    force: bool,
    wait: Option<std::time::Duration>,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    // `--dry-run` is honoured here too (issue #17: it used to revoke for real).
    if user.trim().is_empty() {
        return Err(CliError::bad_input("--revoke needs a user id"));
    }
    if p.dry_run && wait.is_some() {
        return Err(CliError::bad_input(
            "--wait waits for a revoke to reach the nodes: it cannot follow a --dry-run",
        ));
    }
    let state = State::resolve(p, secrets).await?;
    let providers = Providers::resolve(p, secrets).await?;
    let (bag, keys, nodes) = key_sync_parts(&providers, p.dry_run);
    let ks = KeySync::new(&*bag, &*keys, &*nodes, KeySyncOptions::default());
    // A user with no data bag item and no managed key is a misspelling, not a revoke: the
    // revoke would only record the name in the sync state (issue #17: it exited 0).
    if !ks
        .knows_user(user)
        .await
        .map_err(|e| CliError::from_workflow("revoke failed", e))?
    {
        return Err(CliError::bad_input(format!(
            "nothing matched `{user}`: no item in the users data bag and no DigitalOcean key \
             managed by key-sync: check the spelling; nothing was changed"
        )));
    }
    let report = if p.dry_run {
        ks.revoke_dry_run(user, force)
            .await
            .map_err(|e| CliError::from_workflow("revoke failed", e))?
    } else {
        with_bag_lease(&state, async {
            ks.revoke(user, force)
                .await
                .map_err(|e| CliError::from_workflow("revoke failed", e))
        })
        .await?
    };
    if p.json {
        crate::emit_json(&json!({
            "result": if report.dry_run { "would_revoke" } else { "revoked" },
            "dry_run": report.dry_run,
            "user": report.user,
            "item_written": report.item_written,
            "keys_deleted": report.keys_deleted.iter().map(|k| k.id).collect::<Vec<_>>(),
            "nodes_to_converge": report.nodes_to_converge,
            "nodes_missing_recipe": report.nodes_missing_recipe,
            "nodes_with_key": report.nodes_with_key,
            "nodes_unknown": report.nodes_unknown,
            "warnings": report.warnings,
        }));
    } else {
        crate::emit(report.to_string().trim_end());
    }
    let Some(within) = wait else {
        return Ok(());
    };
    let status = ks
        .wait_revoked(user, within, tokio::time::sleep)
        .await
        .map_err(|e| CliError::from_workflow("waiting for the revoke failed", e))?;
    if p.json {
        crate::emit_json(&json!({
            "result": if status.is_done() { "revoke_reached_every_node" } else { "revoke_pending" },
            "user": status.user,
            "nodes_with_key": status.nodes_with_key,
            "nodes_unknown": status.nodes_unknown,
            "nodes_clean": status.nodes_clean,
            "polls": status.polls,
        }));
    } else {
        crate::emit(status.to_string().trim_end());
    }
    if status.is_done() {
        return Ok(());
    }
    Err(CliError::new(
        ExitKind::Pending,
        format!(
            "after {}s, {} node(s) still hold a key of `{user}` and {} have not reported: \
             converge them (sudo chef-client -o 'recipe[user_setup]') or wait longer",
            within.as_secs(),
            status.nodes_with_key.len(),
            status.nodes_unknown.len()
        ),
    ))
}

/// `key-sync --audit`: read-only comparison of live state against the source.
pub async fn key_audit(
    p: &ProviderArgs,
    users: Option<&PathBuf>,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    let source = load_users(users, p.sandbox)?;
    let providers = Providers::resolve(p, secrets).await?;
    // An audit only reads: its ports say so.
    let (bag, keys, nodes) = key_sync_parts(&providers, true);
    let ks = KeySync::new(&*bag, &*keys, &*nodes, KeySyncOptions::default());
    let report = ks
        .audit(&source)
        .await
        .map_err(|e| CliError::from_workflow("audit failed", e))?;
    if p.json {
        crate::emit_json(&json!({
            "result": "audit",
            "clean": report.is_clean(),
            "drift": drift(&report),
            "digest_up_to_date": report.digest_up_to_date,
            "nodes_total": report.nodes_total,
            "not_converged": report.not_converged.iter().map(|n| &n.name).collect::<Vec<_>>(),
            "no_report": report.no_report,
            "keys_still_installed": report.keys_still_installed,
            "keys_missing": report.keys_missing,
            "missing_recipe": report.missing_recipe,
            "account_keys_not_in_source": report
                .account_keys_not_in_source
                .iter()
                .map(|(k, managed)| json!({"id": k.id, "name": k.name, "managed": managed}))
                .collect::<Vec<_>>(),
            "bag_drift": report.bag_drift,
            "bag_not_in_source": report.bag_not_in_source,
        }));
    } else {
        crate::emit(report.to_string().trim_end());
    }
    let found = drift(&report);
    crate::metrics_file::record(
        "drift",
        "Kinds of drift the audit found.",
        found.len() as f64,
    );
    crate::metrics_file::record("nodes", "Nodes the audit read.", report.nodes_total as f64);
    match found {
        d if d.is_empty() => Ok(()),
        d => Err(CliError::new(
            ExitKind::Drift,
            format!(
                "the audit found drift ({}): run key-sync to converge (see the report above)",
                d.join(", ")
            ),
        )),
    }
}

/// What in an audit needs key-sync or a converge (`--audit` exits 5 on it, for cron): the
/// stored digest behind the source, keys still installed that should be gone or missing (by
/// the nodes' `user_setup` reports), nodes whose report predates the last key change or
/// that have none, nodes missing the recipe, managed
/// account keys not in the source, data bag items that differ from the source or that it
/// does not mention. Account keys key-sync does not manage (the key droplets are created
/// with, say) are listed in the report but are not drift.
pub fn drift(report: &AuditReport) -> Vec<String> {
    let managed_keys = report
        .account_keys_not_in_source
        .iter()
        .filter(|(_, managed)| *managed)
        .count();
    let mut d = Vec::new();
    if !report.digest_up_to_date {
        d.push("the stored digest differs from the source".to_owned());
    }
    for (n, what) in [
        (report.not_converged.len(), "node(s) not converged"),
        (
            report.no_report.len(),
            "node(s) unknown (no report from user_setup)",
        ),
        (
            report.keys_still_installed.len(),
            "key(s) still installed that should be gone",
        ),
        (report.keys_missing.len(), "key(s) missing on nodes"),
        (report.missing_recipe.len(), "node(s) missing the recipe"),
        (managed_keys, "managed account key(s) not in the source"),
        (
            report.bag_drift.len(),
            "data bag item(s) differ from the source",
        ),
        (
            report.bag_not_in_source.len(),
            "data bag item(s) not in the source",
        ),
    ] {
        if n > 0 {
            d.push(format!("{n} {what}"));
        }
    }
    d
}

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
    KeyPolicy, KeySource, KeySync, KeySyncOptions, RunOptions, SourceFormat, SyncReport,
};
use ops_core::provision::{
    BootstrapConfig, FleetReport, FleetSpec, HostFailure, HostOutcome, HostSpec, ProgressEvent,
    ProvisionConfig, Provisioner, TeardownReport, TeardownTarget, progress_channel,
};
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
    /// Run against in-process fakes of DigitalOcean, Dyn, Chef and nagios-api.
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
    /// Directory of the run journals.
    #[arg(long, env = "OPS_STATE_DIR", default_value = ".ops-state")]
    pub state_dir: PathBuf,
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
        let token = env_secret("DIGITALOCEAN_TOKEN").ok_or_else(|| {
            CliError::bad_input(
                "DIGITALOCEAN_TOKEN is not set: export your DigitalOcean API token (the variable doctl reads), or use --sandbox",
            )
        })?;
        secrets.add(&token);
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

    /// A provisioner over these providers.
    pub fn engine(&self, state_dir: PathBuf, sandbox: bool, keep_on_failure: bool) -> Engine {
        let mut c = ProvisionConfig::new(state_dir, BootstrapConfig::new(self.chef_url.clone()));
        c.redactor = crate::cli::redactor().clone();
        c.keep_on_failure = keep_on_failure;
        if sandbox {
            c.poll_interval = Duration::from_millis(100);
            c.adopt_delay = Duration::from_millis(50);
            c.publish_linger = Duration::from_millis(300);
            c.monitoring_poll = Duration::from_millis(100);
            c.monitoring_timeout = Duration::from_secs(10);
        }
        Provisioner::new(
            Arc::new(DigitalOceanCompute::new(self.digitalocean.clone())),
            Arc::new(self.dns.clone()),
            Arc::new(ChefConfigMgmt::new(self.chef.clone())),
            Arc::new(self.monitoring.clone()),
            c,
        )
    }
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
                    &format!("s: {host} {step:?} ({status})"),
                ),
                ProgressEvent::StepDone { host, step, .. } => {
                    progress.message(&format!("{host}: {step:?} done"))
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
async fn interrupted(engine: &Engine, ids: &RunIds) -> CliError {
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
            "name": h.name, "ok": false, "run_id": h.run_id, "failed_step": format!("{:?}", f.step),
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
                    "; deleted duplicate droplet(s) {:?} that carried the same run tag",
                    r.duplicates_removed
                )
            }
        ),
        Err(f) => {
            let left = left_behind(h, f);
            format!(
                "  FAILED  {:<10} at {:?}: {}{}{}",
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
        .find_map(|h| h.result.as_ref().err().map(|f| classify(&f.error)))
        .unwrap_or(ExitKind::Other);
    let first = failed[0];
    let why = first
        .result
        .as_ref()
        .err()
        .map(|f| render_error(&f.error, &Secrets::new()))
        .unwrap_or_else(|| "unknown".to_owned());
    Err(CliError::new(
        kind,
        format!("provisioning failed for every host; {}: {why}", first.name),
    ))
}

/// Print a fleet report.
pub fn print_fleet(report: &FleetReport, json_out: bool) {
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

/// `provision`.
pub async fn provision(
    p: &ProviderArgs,
    spec: Option<&PathBuf>,
    resume: Option<&str>,
    resume_batch: Option<&str>,
    keep_on_failure: bool,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    if resume.is_some() && resume_batch.is_some() {
        return Err(CliError::bad_input(
            "pass either --resume RUN or --resume-batch BATCH, not both",
        ));
    }
    let specs = if resume.is_none() && resume_batch.is_none() {
        load_specs(spec, p.sandbox)?
    } else {
        Vec::new()
    };
    let providers = Providers::resolve(p, secrets).await?;
    let engine = providers.engine(p.state_dir.clone(), p.sandbox, keep_on_failure);
    if let Some(batch) = resume_batch {
        let (engine, task) = spawn_progress(engine);
        let report = engine.resume_batch(batch).await;
        drop(engine);
        let _ = task.await;
        let report = report.map_err(|e| {
            CliError::from_workflow(
                format!("cannot resume batch {batch} (check the id and OPS_STATE_DIR)"),
                e,
            )
        })?;
        print_fleet(&report, p.json);
        return outcome_result(&report.hosts.iter().collect::<Vec<_>>());
    }
    if let Some(run) = resume {
        let (engine, task) = spawn_progress(engine);
        let out = engine.resume(run).await;
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
        _ = tokio::signal::ctrl_c() => {
            task.abort();
            return Err(interrupted(&engine, &ids).await);
        }
    };
    drop(engine);
    let _ = task.await;
    print_fleet(&report, p.json);
    outcome_result(&report.hosts.iter().collect::<Vec<_>>())
}

fn teardown_json(r: &TeardownReport) -> Value {
    json!({
        "name": r.name, "dry_run": r.dry_run, "complete": r.complete(),
        "actions": r.actions.iter().map(|a| json!({"resource": a.resource, "outcome": format!("{:?}", a.outcome)})).collect::<Vec<_>>(),
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

/// Print teardown reports and compute the exit status.
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
                crate::emit(format!("  {:?}  {}", a.outcome, a.resource));
            }
        }
    }
    let bad = reports.iter().filter(|r| !r.complete()).count();
    match bad {
        0 => Ok(()),
        n if n < reports.len() => Err(CliError::partial(format!(
            "{n} of {} teardowns are incomplete (re-run to retry)",
            reports.len()
        ))),
        _ => Err(CliError::provider(
            "no teardown completed (re-run to retry)",
        )),
    }
}

/// `teardown`: the named hosts, or (`spec`) every host of a fleet spec with the DNS
/// zone and record name the spec gave it.
pub async fn teardown(
    p: &ProviderArgs,
    names: &[String],
    zone: Option<&str>,
    spec: Option<&PathBuf>,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    let targets = match spec {
        Some(_) if !names.is_empty() || zone.is_some() => {
            return Err(CliError::bad_input(
                "pass either host names (with --zone) or --spec, not both",
            ));
        }
        Some(path) => load_specs(Some(path), false)?
            .iter()
            .map(TeardownTarget::from)
            .collect(),
        None if names.is_empty() => {
            return Err(CliError::bad_input(
                "name at least one host to tear down, or pass --spec fleet.toml",
            ));
        }
        None => targets_for(
            names,
            zone.or(p.sandbox.then_some(crate::sandbox::providers::ZONE)),
        ),
    };
    let providers = Providers::resolve(p, secrets).await?;
    let engine = providers.engine(p.state_dir.clone(), p.sandbox, false);
    let reports = teardown_with(&engine, &targets, p.dry_run).await?;
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
    let bag = ChefUsersBag::new(providers.chef.clone());
    let keys = DoAccountKeys::new(providers.digitalocean.clone());
    let nodes = ChefNodes::new(providers.chef.clone());
    let ks = KeySync::new(&bag, &keys, &nodes, KeySyncOptions::default());
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
    let providers = Providers::resolve(p, secrets).await?;
    let report = key_sync_with(
        &providers,
        &source,
        RunOptions {
            dry_run: p.dry_run,
            full,
            force,
        },
    )
    .await?;
    if p.json {
        crate::emit_json(&sync_json(&report));
    } else {
        crate::emit(report.to_string().trim_end());
    }
    Ok(())
}

fn key_sync_parts(providers: &Providers) -> (ChefUsersBag, DoAccountKeys, ChefNodes) {
    (
        ChefUsersBag::new(providers.chef.clone()),
        DoAccountKeys::new(providers.digitalocean.clone()),
        ChefNodes::new(providers.chef.clone()),
    )
}

/// `key-sync --revoke USER`: mark the user removed everywhere in one step and
/// print the nodes that still have to converge.
pub async fn key_revoke(
    p: &ProviderArgs,
    user: &str,
    force: bool,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    // `--dry-run` is honoured here too (issue #17: it used to revoke for real).
    if user.trim().is_empty() {
        return Err(CliError::bad_input("--revoke needs a user id"));
    }
    let providers = Providers::resolve(p, secrets).await?;
    let (bag, keys, nodes) = key_sync_parts(&providers);
    let ks = KeySync::new(&bag, &keys, &nodes, KeySyncOptions::default());
    let report = if p.dry_run {
        ks.revoke_dry_run(user, force).await
    } else {
        ks.revoke(user, force).await
    }
    .map_err(|e| CliError::from_workflow("revoke failed", e))?;
    if p.json {
        crate::emit_json(&json!({
            "result": if report.dry_run { "would_revoke" } else { "revoked" },
            "dry_run": report.dry_run,
            "user": report.user,
            "item_written": report.item_written,
            "keys_deleted": report.keys_deleted.iter().map(|k| k.id).collect::<Vec<_>>(),
            "nodes_to_converge": report.nodes_to_converge,
            "nodes_missing_recipe": report.nodes_missing_recipe,
            "warnings": report.warnings,
        }));
    } else {
        crate::emit(report.to_string().trim_end());
    }
    Ok(())
}

/// `key-sync --audit`: read-only comparison of live state against the source.
pub async fn key_audit(
    p: &ProviderArgs,
    users: Option<&PathBuf>,
    secrets: &mut Secrets,
) -> Result<(), CliError> {
    let source = load_users(users, p.sandbox)?;
    let providers = Providers::resolve(p, secrets).await?;
    let (bag, keys, nodes) = key_sync_parts(&providers);
    let ks = KeySync::new(&bag, &keys, &nodes, KeySyncOptions::default());
    let report = ks
        .audit(&source)
        .await
        .map_err(|e| CliError::from_workflow("audit failed", e))?;
    if p.json {
        crate::emit_json(&json!({
            "result": "audit",
            "clean": report.is_clean(),
            "digest_up_to_date": report.digest_up_to_date,
            "nodes_total": report.nodes_total,
            "not_converged": report.not_converged.iter().map(|n| &n.name).collect::<Vec<_>>(),
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
    Ok(())
}

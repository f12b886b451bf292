//! The provision engine: per-host step machine, fleet batches, resume and rollback.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use tokio::time::Instant;

use super::budget::RateBudget;
use super::fleet::{Batch, cell};
use super::journal::{DropletRef, RunJournal, RunStatus, Step, UndoAction, UndoOutcome, check_id};
use super::spec::TOOL_TAG;
use super::{
    FleetReport, HostFailure, HostOutcome, HostReport, HostSpec, ProgressEvent, Provisioner,
    RollbackReport, cloud_init,
};
use crate::error::{Error, Result};
use crate::ports::{
    ClientCredentials, Compute, ConfigMgmt, Dns, DnsRecord, Droplet, DropletFilter, DropletStatus,
    HostState, Image, Monitoring, NewDroplet, NewNode, NewRecord, PortError, PortResult,
    RecordType, Region, Service, Size, SshKey,
};

/// The error and every source below it, joined with `": "`. Never contains secrets: no
/// error in this crate or a port carries one.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// A new run/batch id: unix seconds, `-`, 8 random hex digits.
pub(crate) fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    let secs = super::journal::now_ms() / 1000;
    format!("{secs}-{:08x}", h.finish() as u32)
}

fn step_err(step: Step, host: &str, e: Error) -> Error {
    Error::Step {
        step: step.as_str(),
        target: host.to_string(),
        source: Box::new(e),
    }
}

fn same_record(r: &DnsRecord, fqdn: &str, t: &RecordType, data: &str) -> bool {
    r.fqdn.eq_ignore_ascii_case(fqdn) && &r.rtype == t && r.data == data
}

fn describe_record(r: &DnsRecord) -> String {
    format!("dns {} {} -> {}", r.rtype, r.fqdn, r.data)
}

/// In-memory state of one host run.
struct HostRun {
    j: RunJournal,
    creds: Option<ClientCredentials>,
    registered: bool,
    ticket: Option<u64>,
}

impl<C, D, K, M> Provisioner<C, D, K, M>
where
    C: Compute + 'static,
    D: Dns + 'static,
    K: ConfigMgmt + 'static,
    M: Monitoring + 'static,
{
    // ------------------------------------------------------------------------------------
    // plumbing
    // ------------------------------------------------------------------------------------

    #[allow(clippy::needless_pass_by_value)] // events are built for this call
    pub(crate) fn emit(&self, ev: ProgressEvent) {
        match &ev {
            ProgressEvent::StepStarted { host, run_id, step } => {
                tracing::info!(host = %host, run_id = %run_id, step = %step, "step started");
            }
            ProgressEvent::StepDone {
                host,
                run_id,
                step,
                elapsed,
            } => {
                tracing::info!(host = %host, run_id = %run_id, step = %step, elapsed_ms = elapsed.as_millis() as u64, "step done");
            }
            ProgressEvent::StepFailed {
                host,
                run_id,
                step,
                error,
            } => {
                tracing::warn!(host = %host, run_id = %run_id, step = %step, error = %error, "step failed");
            }
            ProgressEvent::Waiting {
                host,
                step,
                status,
                elapsed,
                ..
            } => {
                tracing::debug!(host = %host, step = %step, status = %status, elapsed_s = elapsed.as_secs(), "waiting");
            }
            ProgressEvent::Undo { host, action, .. } => {
                tracing::info!(host = %host, resource = %action.resource, outcome = ?action.outcome, "undo");
            }
            other => tracing::info!(event = ?other, "progress"),
        }
        if let Some(f) = &self.progress {
            f(&ev);
        }
    }

    /// One port call under `budget`: waits for a token, then calls once.
    ///
    /// Retrying is the clients' job: each follows its provider's policy (idempotency per
    /// endpoint, `Retry-After` against the server's `Date`, a cap on the wait). A 429 that
    /// reaches here is one the client gave up on, and retrying it again would multiply the
    /// requests and the waits (issue #18 measured 12 requests for one lookup).
    pub(crate) async fn call<T, F, Fut>(&self, budget: &RateBudget, f: F) -> PortResult<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = PortResult<T>>,
    {
        budget.acquire().await;
        f().await
    }

    async fn save(&self, j: &mut RunJournal) -> Result<()> {
        self.store.save(j).await
    }

    // ------------------------------------------------------------------------------------
    // cached reads
    // ------------------------------------------------------------------------------------

    pub(crate) async fn regions<'b>(&self, b: &'b Batch) -> PortResult<&'b Vec<Region>> {
        b.regions
            .get_or_try_init(|| self.call(&self.budgets.compute, || self.compute.regions()))
            .await
    }

    pub(crate) async fn sizes<'b>(&self, b: &'b Batch) -> PortResult<&'b Vec<Size>> {
        b.sizes
            .get_or_try_init(|| self.call(&self.budgets.compute, || self.compute.sizes()))
            .await
    }

    pub(crate) async fn keys<'b>(&self, b: &'b Batch) -> PortResult<&'b Vec<SshKey>> {
        b.keys
            .get_or_try_init(|| self.call(&self.budgets.compute, || self.compute.ssh_keys()))
            .await
    }

    pub(crate) async fn image(&self, b: &Batch, slug: &str) -> PortResult<Option<Image>> {
        let c = cell(&b.images, slug);
        c.get_or_try_init(|| self.call(&self.budgets.compute, || self.compute.image(slug)))
            .await
            .cloned()
    }

    pub(crate) async fn owns_zone(&self, b: &Batch, zone: &str) -> PortResult<bool> {
        let c = cell(&b.zones, zone);
        c.get_or_try_init(|| self.call(&self.budgets.dns, || self.dns.owns_zone(zone)))
            .await
            .copied()
    }

    pub(crate) async fn droplets_named(&self, b: &Batch, name: &str) -> PortResult<Vec<Droplet>> {
        if b.fleet {
            let all = b
                .all_droplets
                .get_or_try_init(|| {
                    self.call(&self.budgets.compute, || {
                        self.compute.droplets(&DropletFilter::All)
                    })
                })
                .await?;
            Ok(all
                .iter()
                .filter(|d| d.name.eq_ignore_ascii_case(name))
                .cloned()
                .collect())
        } else {
            let f = DropletFilter::Name(name.to_string());
            self.call(&self.budgets.compute, || self.compute.droplets(&f))
                .await
        }
    }

    pub(crate) async fn records_at(
        &self,
        b: &Batch,
        zone: &str,
        fqdn: &str,
    ) -> PortResult<Vec<DnsRecord>> {
        if b.fleet {
            let c = cell(&b.zone_records, zone);
            let all = c
                .get_or_try_init(|| self.call(&self.budgets.dns, || self.dns.records(zone, None)))
                .await?;
            Ok(all
                .iter()
                .filter(|r| r.fqdn.eq_ignore_ascii_case(fqdn))
                .cloned()
                .collect())
        } else {
            self.call(&self.budgets.dns, || self.dns.records(zone, Some(fqdn)))
                .await
        }
    }

    async fn droplets_tagged(&self, tag: &str) -> PortResult<Vec<Droplet>> {
        let f = DropletFilter::Tag(tag.to_string());
        self.call(&self.budgets.compute, || self.compute.droplets(&f))
            .await
    }

    /// The droplet's current state; in a fleet one list-by-batch-tag call serves every host.
    async fn droplet_status(
        &self,
        b: &Batch,
        id: u64,
        batch_tag: Option<&str>,
    ) -> PortResult<Option<Droplet>> {
        if let (true, Some(tag)) = (b.fleet, batch_tag) {
            let mut g = b.status.lock().await;
            let fresh = g.as_ref().is_some_and(|(t, m)| {
                t.elapsed() < self.config.poll_interval && m.contains_key(&id)
            });
            if !fresh {
                let list = self.droplets_tagged(tag).await?;
                *g = Some((
                    Instant::now(),
                    list.into_iter().map(|d| (d.id, d)).collect(),
                ));
            }
            if let Some(d) = g.as_ref().and_then(|(_, m)| m.get(&id)) {
                return Ok(Some(d.clone()));
            }
        }
        self.call(&self.budgets.compute, || self.compute.get_droplet(id))
            .await
    }

    // ------------------------------------------------------------------------------------
    // validation
    // ------------------------------------------------------------------------------------

    /// Every problem with `j.spec` (static and against the providers), and the resolved SSH
    /// key ids. Resources this run created (per the journal) do not count as claims.
    pub(crate) async fn check(&self, b: &Batch, j: &RunJournal) -> (Vec<String>, Vec<u64>) {
        let spec = &j.spec;
        let mut p = spec.check();
        p.extend(self.config.bootstrap.check());
        // The real key is only known after the client exists: measure with a stand-in of the
        // size of a 4096-bit RSA PEM, so an oversized document is refused before any write.
        let stand_in = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n",
            "A".repeat(3300)
        );
        if let Err(e) =
            cloud_init::render(spec, &SecretString::from(stand_in), &self.config.bootstrap)
        {
            match e {
                Error::Validation { problems, .. } => p.extend(problems),
                other => p.push(chain(&other)),
            }
        }
        let fqdn = spec.fqdn();
        let zone = spec.dns.zone.trim_end_matches('.').to_string();
        let name = spec.node_name().to_string();
        let (regions, sizes, image, keys, droplets, owned, records, node, client) = tokio::join!(
            self.regions(b),
            self.sizes(b),
            self.image(b, &spec.image),
            self.keys(b),
            self.droplets_named(b, &spec.name),
            self.owns_zone(b, &zone),
            self.records_at(b, &zone, &fqdn),
            self.call(&self.budgets.config_mgmt, || self.cm.get_node(&name)),
            self.call(&self.budgets.config_mgmt, || self.cm.client_exists(&name)),
        );
        let could_not = |what: &str, e: &PortError| format!("could not check {what}: {}", chain(e));

        let region = match &regions {
            Ok(rs) => match rs.iter().find(|r| r.slug == spec.region) {
                None => {
                    p.push(format!("region `{}` does not exist", spec.region));
                    None
                }
                Some(r) if !r.available => {
                    p.push(format!(
                        "region `{}` is not available for new droplets",
                        spec.region
                    ));
                    Some(r)
                }
                Some(r) => Some(r),
            },
            Err(e) => {
                p.push(could_not("regions", e));
                None
            }
        };
        match &sizes {
            Ok(ss) => match ss.iter().find(|s| s.slug == spec.size) {
                None => p.push(format!("size `{}` does not exist", spec.size)),
                Some(s) if !s.available => p.push(format!("size `{}` is not available", spec.size)),
                Some(s) => {
                    if let Some(r) = region {
                        if !s.regions.contains(&r.slug) && !r.sizes.contains(&s.slug) {
                            p.push(format!(
                                "size `{}` is not offered in region `{}`",
                                s.slug, r.slug
                            ));
                        }
                    }
                }
            },
            Err(e) => p.push(could_not("sizes", e)),
        }
        match &image {
            Ok(None) => p.push(format!("image `{}` does not exist", spec.image)),
            Ok(Some(img)) => {
                if !img.regions.is_empty() && !img.regions.contains(&spec.region) {
                    p.push(format!(
                        "image `{}` is not available in region `{}`",
                        spec.image, spec.region
                    ));
                }
            }
            Err(e) => p.push(could_not("the image", e)),
        }
        let mut key_ids = Vec::new();
        match &keys {
            Ok(all) => {
                for want in &spec.ssh_keys {
                    let by_fp: Vec<&SshKey> = all
                        .iter()
                        .filter(|k| k.fingerprint.eq_ignore_ascii_case(want))
                        .collect();
                    let by_name: Vec<&SshKey> = all.iter().filter(|k| &k.name == want).collect();
                    let hit = if by_fp.len() == 1 { by_fp } else { by_name };
                    match hit.as_slice() {
                        [] => p.push(format!(
                            "ssh key `{want}` not found (by name or fingerprint)"
                        )),
                        [k] => {
                            if !key_ids.contains(&k.id) {
                                key_ids.push(k.id);
                            }
                        }
                        many => p.push(format!(
                            "ssh key name `{want}` matches {} keys; use the fingerprint",
                            many.len()
                        )),
                    }
                }
            }
            Err(e) => p.push(could_not("ssh keys", e)),
        }
        let run_tag = j.run_tag();
        let ours_id = j.resources.droplet.as_ref().map(|d| d.id);
        match &droplets {
            Ok(ds) => {
                for d in ds {
                    if !d.tags.contains(&run_tag) && Some(d.id) != ours_id {
                        p.push(format!(
                            "a droplet named `{}` already exists (id {})",
                            d.name, d.id
                        ));
                    }
                }
            }
            Err(e) => p.push(could_not("existing droplets", e)),
        }
        match owned {
            Ok(true) => {}
            Ok(false) => p.push(format!("DNS zone `{zone}` is not managed by this account")),
            Err(e) => p.push(could_not("the DNS zone", &e)),
        }
        let our_addrs: Vec<String> = [
            j.addresses.ipv4.map(|a| a.to_string()),
            j.addresses.ipv6.map(|a| a.to_string()),
        ]
        .into_iter()
        .flatten()
        .collect();
        match &records {
            Ok(rs) => {
                for r in rs {
                    let journaled = j
                        .resources
                        .dns_records
                        .iter()
                        .any(|o| same_record(o, &r.fqdn, &r.rtype, &r.data));
                    let interrupted = j.was_attempted(Step::DnsRecords)
                        && matches!(r.rtype, RecordType::A | RecordType::AAAA)
                        && our_addrs.contains(&r.data);
                    if !journaled && !interrupted {
                        p.push(format!(
                            "DNS name `{fqdn}` already has a {} record -> {}",
                            r.rtype, r.data
                        ));
                    }
                }
            }
            Err(e) => p.push(could_not("existing DNS records", e)),
        }
        let node_ours = j.resources.chef_node.is_some() || j.was_attempted(Step::ChefNode);
        match node {
            Ok(Some(_)) if !node_ours => p.push(format!("Chef node `{name}` already exists")),
            Ok(_) => {}
            Err(e) => p.push(could_not("the Chef node", &e)),
        }
        let client_ours = j.resources.chef_client.is_some() || j.was_attempted(Step::ChefClient);
        match client {
            Ok(true) if !client_ours => p.push(format!("Chef client `{name}` already exists")),
            Ok(_) => {}
            Err(e) => p.push(could_not("the Chef client", &e)),
        }
        (p, key_ids)
    }

    // ------------------------------------------------------------------------------------
    // public entry points
    // ------------------------------------------------------------------------------------

    /// Provisions one host. The outcome carries the run id for `resume`.
    pub async fn provision(&self, spec: &HostSpec) -> HostOutcome {
        let j = RunJournal::new(new_id(), None, spec.clone());
        let mut r = self.run_batch(None, vec![(j, false)]).await;
        r.hosts.pop().unwrap_or_else(|| HostOutcome {
            name: spec.name.clone(),
            run_id: None,
            result: Err(HostFailure {
                name: spec.name.clone(),
                step: Step::Validate,
                error: Error::Precondition("no outcome".into()),
                kept: Default::default(),
                rollback: None,
                journal_error: None,
            }),
        })
    }

    /// Provisions many hosts as one batch (see the module docs).
    pub async fn provision_fleet(&self, specs: &[HostSpec]) -> FleetReport {
        let batch = new_id();
        let runs = specs
            .iter()
            .map(|s| {
                (
                    RunJournal::new(new_id(), Some(batch.clone()), s.clone()),
                    false,
                )
            })
            .collect();
        self.run_batch(Some(batch), runs).await
    }

    /// Continues the run `run_id` from its first unfinished step.
    ///
    /// A succeeded run reports success again without any call; a rolled-back run cannot be
    /// resumed. Validation is repeated first (things may have changed since), counting what
    /// the journal says this run created as its own.
    pub async fn resume(&self, run_id: &str) -> HostOutcome {
        match self.store.load(run_id).await {
            Ok(j) => {
                let mut r = self.run_batch(None, vec![(j, true)]).await;
                match r.hosts.pop() {
                    Some(h) => h,
                    None => unknown_run(run_id, Error::Precondition("no outcome".into())),
                }
            }
            Err(e) => unknown_run(run_id, e),
        }
    }

    /// Resumes every unfinished run of a fleet batch (succeeded hosts are reported as such).
    pub async fn resume_batch(&self, batch_id: &str) -> Result<FleetReport> {
        check_id(batch_id)?;
        let runs: Vec<_> = self
            .store
            .list()
            .await?
            .into_iter()
            .filter(|j| j.batch_id.as_deref() == Some(batch_id))
            .map(|j| (j, true))
            .collect();
        if runs.is_empty() {
            return Err(Error::Precondition(format!(
                "no journals for batch `{batch_id}`"
            )));
        }
        Ok(self.run_batch(Some(batch_id.to_string()), runs).await)
    }

    /// Undoes what the run `run_id` created (e.g. one kept with `keep_on_failure`).
    pub async fn rollback(&self, run_id: &str) -> Result<RollbackReport> {
        let mut j = self.store.load(run_id).await?;
        Ok(self.undo(&mut j).await)
    }

    async fn run_batch(
        &self,
        batch_id: Option<String>,
        runs: Vec<(RunJournal, bool)>,
    ) -> FleetReport {
        let b = Batch::new(
            runs.len(),
            self.config.concurrency,
            self.config.publish_linger,
        );
        let needs_publish = self.dns.needs_publish();
        let mut futs = Vec::with_capacity(runs.len());
        for (j, resumed) in runs {
            let registered = needs_publish
                && matches!(j.status, RunStatus::InProgress | RunStatus::Failed)
                && !j.is_done(Step::PublishZone);
            if registered {
                b.publish.register(&zone_of(&j.spec));
            }
            let h = HostRun {
                j,
                creds: None,
                registered,
                ticket: None,
            };
            futs.push(self.run_host(&b, h, resumed));
        }
        let hosts = futures_util::future::join_all(futs).await;
        FleetReport {
            batch_id,
            hosts,
            publishes: b.publish.publishes(),
        }
    }

    // ------------------------------------------------------------------------------------
    // one host
    // ------------------------------------------------------------------------------------

    async fn run_host(&self, b: &Batch, mut h: HostRun, resumed: bool) -> HostOutcome {
        let name = h.j.spec.name.clone();
        let run_id = h.j.run_id.clone();
        match h.j.status {
            RunStatus::Succeeded => {
                return HostOutcome {
                    name,
                    run_id: Some(run_id),
                    result: Ok(report_of(&h.j)),
                };
            }
            RunStatus::RolledBack | RunStatus::RollbackIncomplete => {
                let e = Error::Precondition(format!(
                    "run {run_id} was rolled back; start a new run instead"
                ));
                return self
                    .finish_failed(b, &mut h, Step::Validate, e, false)
                    .await;
            }
            RunStatus::InProgress | RunStatus::Failed => {}
        }
        if resumed && h.j.is_done(Step::Validate) {
            let (problems, _) = self.check(b, &h.j).await;
            if !problems.is_empty() {
                let e = Error::Validation {
                    target: name.clone(),
                    problems,
                };
                // Nothing new was written: keep what the run has and let the operator decide.
                return self.finish_failed(b, &mut h, Step::Validate, e, true).await;
            }
        }
        h.j.status = RunStatus::InProgress;
        let Some(first) = h.j.first_unfinished() else {
            h.j.status = RunStatus::Succeeded;
            if let Err(e) = self.save(&mut h.j).await {
                return self
                    .finish_failed(b, &mut h, Step::WaitMonitoring, e, true)
                    .await;
            }
            return HostOutcome {
                name,
                run_id: Some(run_id),
                result: Ok(report_of(&h.j)),
            };
        };
        for step in Step::ALL.into_iter().filter(|s| *s >= first) {
            if h.j.is_done(step) {
                continue;
            }
            let skip = match step {
                Step::PublishZone => !self.dns.needs_publish(),
                Step::WaitMonitoring => !h.j.spec.wait_for_monitoring,
                _ => false,
            };
            if skip {
                h.j.skip(step);
                self.emit(ProgressEvent::StepSkipped {
                    host: name.clone(),
                    run_id: run_id.clone(),
                    step,
                });
                continue;
            }
            let retried = h.j.was_attempted(step);
            let api_work = matches!(
                step,
                Step::Validate
                    | Step::ChefClient
                    | Step::ChefNode
                    | Step::CreateDroplet
                    | Step::DnsRecords
            );
            let permit = if api_work {
                b.permits.acquire().await.ok()
            } else {
                None
            };
            h.j.start(step);
            if let Err(e) = self.save(&mut h.j).await {
                drop(permit);
                return self.finish_failed(b, &mut h, step, e, false).await;
            }
            self.emit(ProgressEvent::StepStarted {
                host: name.clone(),
                run_id: run_id.clone(),
                step,
            });
            let t0 = Instant::now();
            let r = match step {
                Step::Validate => self.step_validate(b, &mut h).await,
                Step::ChefClient => self.step_chef_client(&mut h, retried).await,
                Step::ChefNode => self.step_chef_node(&mut h, retried).await,
                Step::CreateDroplet => self.step_create_droplet(&mut h, retried).await,
                Step::WaitActive => self.step_wait_active(b, &mut h, retried).await,
                Step::DnsRecords => self.step_dns_records(b, &mut h, retried).await,
                Step::PublishZone => self.step_publish(b, &mut h).await,
                Step::WaitMonitoring => self.step_wait_monitoring(&mut h).await,
            };
            drop(permit);
            if let Err(e) = r {
                return self.finish_failed(b, &mut h, step, e, false).await;
            }
            h.j.done(step);
            if let Err(e) = self.save(&mut h.j).await {
                return self.finish_failed(b, &mut h, step, e, false).await;
            }
            self.emit(ProgressEvent::StepDone {
                host: name.clone(),
                run_id: run_id.clone(),
                step,
                elapsed: t0.elapsed(),
            });
        }
        // Once more before reporting success: a listing that lagged through the boot wait.
        if let Err(e) = self.settle_duplicates(&mut h).await {
            return self
                .finish_failed(b, &mut h, Step::WaitMonitoring, e, true)
                .await;
        }
        h.j.status = RunStatus::Succeeded;
        if let Err(e) = self.save(&mut h.j).await {
            return self
                .finish_failed(b, &mut h, Step::WaitMonitoring, e, true)
                .await;
        }
        self.emit(ProgressEvent::Finished {
            host: name.clone(),
            run_id: run_id.clone(),
            status: RunStatus::Succeeded,
        });
        HostOutcome {
            name,
            run_id: Some(run_id),
            result: Ok(report_of(&h.j)),
        }
    }

    /// Records the failure, then rolls back (or keeps, per config or `force_keep`).
    async fn finish_failed(
        &self,
        b: &Batch,
        h: &mut HostRun,
        step: Step,
        err: Error,
        force_keep: bool,
    ) -> HostOutcome {
        let name = h.j.spec.name.clone();
        let run_id = h.j.run_id.clone();
        if h.registered && h.ticket.is_none() {
            b.publish.withdraw(&zone_of(&h.j.spec));
            h.registered = false;
        }
        let err = step_err(step, &name, err);
        let text = chain(&err);
        self.emit(ProgressEvent::StepFailed {
            host: name.clone(),
            run_id: run_id.clone(),
            step,
            error: text.clone(),
        });
        let mut journal_error = None;
        let rolled_back =
            h.j.status == RunStatus::RolledBack || h.j.status == RunStatus::RollbackIncomplete;
        if !rolled_back {
            h.j.fail(step, text);
        }
        let (kept, rollback) = if rolled_back {
            (h.j.resources.clone(), None)
        } else if self.config.keep_on_failure
            || force_keep
            // Validation writes nothing; on a resumed run, what earlier steps made is left for
            // the operator (resume again, or `rollback`) rather than removed on a re-check.
            || (step == Step::Validate && h.j.steps.iter().any(|s| s.step != Step::Validate))
        {
            h.j.status = RunStatus::Failed;
            if let Err(e) = self.save(&mut h.j).await {
                // The journal is the safety net: say so loudly, with what it would have held.
                tracing::error!(
                    run_id = %run_id,
                    error = %chain(&e),
                    left = ?h.j.resources.describe(&h.j.run_tag()),
                    "could not record the failure in the run journal"
                );
                journal_error = Some(e);
            }
            (h.j.resources.clone(), None)
        } else {
            let report = self.undo(&mut h.j).await;
            (h.j.resources.clone(), Some(report))
        };
        self.emit(ProgressEvent::Finished {
            host: name.clone(),
            run_id: run_id.clone(),
            status: h.j.status,
        });
        HostOutcome {
            name: name.clone(),
            run_id: Some(run_id),
            result: Err(HostFailure {
                name,
                step,
                error: err,
                kept,
                rollback,
                journal_error,
            }),
        }
    }

    // ------------------------------------------------------------------------------------
    // steps
    // ------------------------------------------------------------------------------------

    async fn step_validate(&self, b: &Batch, h: &mut HostRun) -> Result<()> {
        let (problems, key_ids) = self.check(b, &h.j).await;
        if !problems.is_empty() {
            return Err(Error::Validation {
                target: h.j.spec.name.clone(),
                problems,
            });
        }
        h.j.ssh_key_ids = key_ids;
        Ok(())
    }

    async fn create_client(&self, h: &mut HostRun) -> Result<()> {
        let name = h.j.spec.node_name().to_string();
        let mut last = None;
        for attempt in 1..=self.config.create_attempts.max(1) {
            match self
                .call(&self.budgets.config_mgmt, || self.cm.create_client(&name))
                .await
            {
                Ok(c) => {
                    h.creds = Some(c);
                    h.j.resources.chef_client = Some(name);
                    return Ok(());
                }
                Err(e) if e.is_ambiguous() => {
                    // It may exist now, but then without a key we hold: remove and retry.
                    if self
                        .call(&self.budgets.config_mgmt, || self.cm.client_exists(&name))
                        .await?
                    {
                        self.delete_tolerant_client(&name).await?;
                    }
                    self.emit(ProgressEvent::Retrying {
                        host: h.j.spec.name.clone(),
                        run_id: h.j.run_id.clone(),
                        step: Step::ChefClient,
                        attempt,
                        reason: chain(&e),
                    });
                    last = Some(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map_or_else(|| Error::Precondition("no attempt".into()), Error::from))
    }

    async fn delete_tolerant_client(&self, name: &str) -> Result<()> {
        match self
            .call(&self.budgets.config_mgmt, || self.cm.delete_client(name))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_tolerant_node(&self, name: &str) -> Result<()> {
        match self
            .call(&self.budgets.config_mgmt, || self.cm.delete_node(name))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn step_chef_client(&self, h: &mut HostRun, retried: bool) -> Result<()> {
        let name = h.j.spec.node_name().to_string();
        if retried
            && self
                .call(&self.budgets.config_mgmt, || self.cm.client_exists(&name))
                .await?
        {
            // Created by this run before an interruption; its key is gone with the process.
            self.delete_tolerant_client(&name).await?;
        }
        self.create_client(h).await
    }

    fn new_node(&self, h: &HostRun) -> NewNode {
        let spec = &h.j.spec;
        let mut normal = spec.chef.attributes.clone();
        normal.insert(
            "ops_core".into(),
            serde_json::json!({ "run_id": h.j.run_id, "managed": true }),
        );
        NewNode {
            name: spec.node_name().to_string(),
            environment: spec.chef.environment.clone(),
            run_list: spec.chef.run_list.clone(),
            normal: serde_json::Value::Object(normal),
        }
    }

    async fn create_node(&self, h: &mut HostRun) -> Result<()> {
        let node = self.new_node(h);
        let Some(owner) = h.creds.clone() else {
            return Err(Error::Precondition("no client key in memory".into()));
        };
        let mut last = None;
        for attempt in 1..=self.config.create_attempts.max(1) {
            match self
                .call(&self.budgets.config_mgmt, || {
                    self.cm.create_node(&node, &owner)
                })
                .await
            {
                Ok(()) => {
                    h.j.resources.chef_node = Some(node.name.clone());
                    return Ok(());
                }
                Err(e) if e.is_ambiguous() => {
                    if self
                        .call(&self.budgets.config_mgmt, || self.cm.get_node(&node.name))
                        .await?
                        .is_some()
                    {
                        h.j.resources.chef_node = Some(node.name.clone());
                        self.emit(ProgressEvent::Adopted {
                            host: h.j.spec.name.clone(),
                            run_id: h.j.run_id.clone(),
                            resource: format!("chef node {}", node.name),
                        });
                        return Ok(());
                    }
                    self.emit(ProgressEvent::Retrying {
                        host: h.j.spec.name.clone(),
                        run_id: h.j.run_id.clone(),
                        step: Step::ChefNode,
                        attempt,
                        reason: chain(&e),
                    });
                    last = Some(e);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map_or_else(|| Error::Precondition("no attempt".into()), Error::from))
    }

    /// After an interruption the client key is lost: re-register client (and node).
    async fn rekey(&self, h: &mut HostRun, recreate_node: bool) -> Result<()> {
        let name = h.j.spec.node_name().to_string();
        if recreate_node {
            self.delete_tolerant_node(&name).await?;
            h.j.resources.chef_node = None;
        }
        self.delete_tolerant_client(&name).await?;
        h.j.resources.chef_client = None;
        self.create_client(h).await?;
        if recreate_node {
            self.create_node(h).await?;
        }
        self.emit(ProgressEvent::Adopted {
            host: h.j.spec.name.clone(),
            run_id: h.j.run_id.clone(),
            resource: format!(
                "chef client {name} (re-registered: its key was lost with the interrupted run)"
            ),
        });
        Ok(())
    }

    async fn step_chef_node(&self, h: &mut HostRun, retried: bool) -> Result<()> {
        let name = h.j.spec.node_name().to_string();
        if retried
            && self
                .call(&self.budgets.config_mgmt, || self.cm.get_node(&name))
                .await?
                .is_some()
        {
            if h.creds.is_some() {
                h.j.resources.chef_node = Some(name.clone());
                self.emit(ProgressEvent::Adopted {
                    host: name.clone(),
                    run_id: h.j.run_id.clone(),
                    resource: format!("chef node {name}"),
                });
                return Ok(());
            }
            return self.rekey(h, true).await;
        }
        if h.creds.is_none() {
            self.rekey(h, false).await?;
        }
        self.create_node(h).await
    }

    /// Every droplet carrying the run's tag, oldest (lowest id) first.
    async fn tagged_droplets(&self, h: &HostRun) -> Result<Vec<Droplet>> {
        let mut found = self.droplets_tagged(&h.j.run_tag()).await?;
        found.sort_by_key(|d| d.id);
        Ok(found)
    }

    /// Deletes every droplet carrying the run's tag except the recorded one: a create whose
    /// answer was lost and that the listing showed only after another create succeeded. Runs
    /// only when this run may have created more than one (several creates sent, an adopted
    /// droplet, or a resumed create step), before DNS points at anything and again before
    /// success is reported. The duplicates never got DNS records; the Chef node and client
    /// are keyed by name and stay with the recorded droplet.
    async fn settle_duplicates(&self, h: &mut HostRun) -> Result<()> {
        let Some(keep) = h.j.resources.droplet.clone() else {
            return Ok(());
        };
        // One create sent can make at most one droplet.
        if h.j.resources.droplet_creates_sent <= 1 {
            return Ok(());
        }
        for d in self.tagged_droplets(h).await? {
            if d.id == keep.id || h.j.duplicates_removed.contains(&d.id) {
                continue;
            }
            tracing::warn!(
                host = %h.j.spec.name,
                run_tag = %h.j.run_tag(),
                kept = keep.id,
                duplicate = d.id,
                "a second droplet carries this run's tag (a create answered late); deleting it"
            );
            match self
                .call(&self.budgets.compute, || self.compute.delete_droplet(d.id))
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    return Err(Error::Precondition(format!(
                        "droplet {} also carries the run tag {} (a duplicate of droplet {}) and \
                         could not be deleted: {}; delete it by hand",
                        d.id,
                        h.j.run_tag(),
                        keep.id,
                        chain(&e)
                    )));
                }
            }
            h.j.duplicates_removed.push(d.id);
            self.save(&mut h.j).await?;
            self.emit(ProgressEvent::DuplicateRemoved {
                host: h.j.spec.name.clone(),
                run_id: h.j.run_id.clone(),
                droplet_id: d.id,
                kept: keep.id,
            });
        }
        Ok(())
    }

    fn adopt(&self, h: &mut HostRun, d: &Droplet) {
        h.j.resources.droplet = Some(DropletRef {
            id: d.id,
            name: d.name.clone(),
            adopted: true,
        });
        self.emit(ProgressEvent::Adopted {
            host: h.j.spec.name.clone(),
            run_id: h.j.run_id.clone(),
            resource: format!("droplet {} ({}) found by run tag", d.id, d.name),
        });
    }

    pub(crate) fn new_droplet(
        &self,
        j: &RunJournal,
        user_data: Option<SecretString>,
    ) -> NewDroplet {
        let spec = &j.spec;
        let mut tags = vec![TOOL_TAG.to_string(), j.run_tag()];
        if let Some(t) = j.batch_tag() {
            tags.push(t);
        }
        for t in &spec.tags {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        NewDroplet {
            name: spec.name.clone(),
            region: spec.region.clone(),
            size: spec.size.clone(),
            image: spec.image.clone(),
            ssh_keys: j.ssh_key_ids.clone(),
            tags,
            user_data,
            ipv6: spec.ipv6,
            monitoring: spec.monitoring_agent,
        }
    }

    /// Looks for a droplet carrying the run's tag after a create whose outcome is unknown.
    ///
    /// DigitalOcean's listing can lag a create by seconds (minutes have been seen), so with
    /// `wait` it looks up to [`ProvisionConfig::adopt_lookups`] times,
    /// [`ProvisionConfig::adopt_delay`] apart, before concluding that the create was not
    /// applied. A lookup that fails is retried within that window; if the last one failed too,
    /// nothing can be concluded and the run stops ("a droplet tagged T may exist") rather than
    /// risk a second droplet. Returns the oldest match.
    async fn await_tagged(&self, h: &HostRun, wait: bool) -> Result<Option<Droplet>> {
        let lookups = if wait {
            self.config.adopt_lookups.max(1)
        } else {
            1
        };
        let mut last_err = None;
        for k in 0..lookups {
            if k > 0 {
                tokio::time::sleep(self.config.adopt_delay).await;
            }
            match self.tagged_droplets(h).await {
                Ok(found) => {
                    last_err = None;
                    if let Some(d) = found.into_iter().next() {
                        return Ok(Some(d));
                    }
                }
                Err(e) => {
                    tracing::debug!(host = %h.j.spec.name, attempt = k + 1, error = %chain(&e), "lookup by run tag failed");
                    last_err = Some(e);
                }
            }
        }
        match last_err {
            None => Ok(None),
            Some(e) => Err(Error::Precondition(format!(
                "could not confirm whether a droplet create took effect: the lookup of droplets \
                 tagged {} failed ({}); a droplet with that tag may exist, so no second create \
                 was sent: resume or roll back this run once DigitalOcean answers",
                h.j.run_tag(),
                chain(&e)
            ))),
        }
    }

    async fn step_create_droplet(&self, h: &mut HostRun, retried: bool) -> Result<()> {
        if h.j.resources.droplet.is_some() {
            return Ok(());
        }
        if retried || h.j.resources.droplet_creates_sent > 0 {
            // An earlier attempt (before a crash, or a failure) may have created it. When its
            // create was journaled as sent, give the listing time to show it.
            let wait = h.j.resources.droplet_creates_sent > 0;
            if let Some(d) = self.await_tagged(h, wait).await? {
                self.adopt(h, &d);
                return Ok(());
            }
        }
        if h.creds.is_none() {
            let node_exists = h.j.resources.chef_node.is_some();
            self.rekey(h, node_exists).await?;
        }
        let Some(creds) = h.creds.as_ref() else {
            return Err(Error::Precondition("no client key in memory".into()));
        };
        let user_data = cloud_init::render(&h.j.spec, &creds.private_key, &self.config.bootstrap)?;
        let req = self.new_droplet(&h.j, Some(user_data));
        let mut last = None;
        for attempt in 1..=self.config.create_attempts.max(1) {
            // Journaled before it is sent: whatever happens next (a lost answer, a crash, an
            // answer that cannot be read), resume, rollback, teardown and the audit know a
            // droplet with this run's tag may exist. A failed save stops the run here.
            h.j.resources.droplet_creates_sent =
                h.j.resources.droplet_creates_sent.saturating_add(1);
            self.save(&mut h.j).await?;
            match self
                .call(&self.budgets.compute, || self.compute.create_droplet(&req))
                .await
            {
                Ok(d) => {
                    h.j.resources.droplet = Some(DropletRef {
                        id: d.id,
                        name: d.name,
                        adopted: false,
                    });
                    return Ok(());
                }
                Err(e) if e.is_ambiguous() => {
                    tracing::warn!(host = %h.j.spec.name, attempt, error = %chain(&e), "droplet create ambiguous; looking up by run tag");
                    if let Some(d) = self.await_tagged(h, true).await? {
                        self.adopt(h, &d);
                        return Ok(());
                    }
                    self.emit(ProgressEvent::Retrying {
                        host: h.j.spec.name.clone(),
                        run_id: h.j.run_id.clone(),
                        step: Step::CreateDroplet,
                        attempt,
                        reason: chain(&e),
                    });
                    last = Some(e);
                }
                Err(e) => {
                    // The provider refused it: this create made nothing.
                    h.j.resources.droplet_creates_sent =
                        h.j.resources.droplet_creates_sent.saturating_sub(1);
                    return Err(e.into());
                }
            }
        }
        Err(last.map_or_else(|| Error::Precondition("no attempt".into()), Error::from))
    }

    async fn step_wait_active(&self, b: &Batch, h: &mut HostRun, retried: bool) -> Result<()> {
        let Some(id) = h.j.resources.droplet.as_ref().map(|d| d.id) else {
            return Err(Error::Precondition("no droplet recorded".into()));
        };
        let batch_tag = h.j.batch_tag();
        let timeout = self.config.active_timeout;
        let start = Instant::now();
        let mut first = true;
        loop {
            if !(first && retried) {
                // Right after a create the droplet cannot be active yet: poll after a pause.
                tokio::time::sleep(self.config.poll_interval).await;
            }
            first = false;
            let d = self
                .droplet_status(b, id, batch_tag.as_deref())
                .await?
                .ok_or_else(|| {
                    Error::Precondition(format!("droplet {id} disappeared while booting"))
                })?;
            match d.status {
                DropletStatus::Errored => {
                    return Err(Error::Precondition(format!(
                        "droplet {id} failed to boot (errored)"
                    )));
                }
                DropletStatus::Active
                    if d.public_ipv4.is_some() && (!h.j.spec.ipv6 || d.public_ipv6.is_some()) =>
                {
                    h.j.addresses.ipv4 = d.public_ipv4;
                    h.j.addresses.ipv6 = d.public_ipv6;
                    // Before DNS points at it: no other droplet may carry the run tag.
                    return self.settle_duplicates(h).await;
                }
                _ => {}
            }
            let elapsed = start.elapsed();
            self.emit(ProgressEvent::Waiting {
                host: h.j.spec.name.clone(),
                run_id: h.j.run_id.clone(),
                step: Step::WaitActive,
                status: format!("{:?}", d.status).to_lowercase(),
                elapsed,
                timeout,
            });
            if elapsed + self.config.poll_interval > timeout {
                return Err(Error::Timeout {
                    what: format!("droplet {id} to become active"),
                    after: timeout,
                });
            }
        }
    }

    async fn step_dns_records(&self, b: &Batch, h: &mut HostRun, retried: bool) -> Result<()> {
        let spec = h.j.spec.clone();
        let zone = zone_of(&spec);
        let fqdn = spec.fqdn();
        let mut wanted = Vec::new();
        match h.j.addresses.ipv4 {
            Some(a) => wanted.push((RecordType::A, a.to_string())),
            None => return Err(Error::Precondition("no public IPv4 recorded".into())),
        }
        if spec.ipv6 {
            match h.j.addresses.ipv6 {
                Some(a) => wanted.push((RecordType::AAAA, a.to_string())),
                None => return Err(Error::Precondition("no public IPv6 recorded".into())),
            }
        }
        let existing = if retried {
            self.call(&self.budgets.dns, || self.dns.records(&zone, Some(&fqdn)))
                .await?
        } else {
            Vec::new()
        };
        for (t, data) in wanted {
            if h.j
                .resources
                .dns_records
                .iter()
                .any(|r| same_record(r, &fqdn, &t, &data))
            {
                continue;
            }
            if let Some(r) = existing.iter().find(|r| same_record(r, &fqdn, &t, &data)) {
                h.j.resources.dns_records.push(r.clone());
                self.emit(ProgressEvent::Adopted {
                    host: spec.name.clone(),
                    run_id: h.j.run_id.clone(),
                    resource: describe_record(r),
                });
                continue;
            }
            let rec = NewRecord {
                zone: zone.clone(),
                fqdn: fqdn.clone(),
                rtype: t.clone(),
                data: data.clone(),
                ttl: spec.dns.ttl,
            };
            let mut done = false;
            let mut last = None;
            for attempt in 1..=self.config.create_attempts.max(1) {
                match self
                    .call(&self.budgets.dns, || self.dns.create_record(&rec))
                    .await
                {
                    Ok(r) => {
                        h.j.resources.dns_records.push(r);
                        done = true;
                        break;
                    }
                    Err(e) if e.is_ambiguous() => {
                        let now = self
                            .call(&self.budgets.dns, || self.dns.records(&zone, Some(&fqdn)))
                            .await?;
                        if let Some(r) = now.iter().find(|r| same_record(r, &fqdn, &t, &data)) {
                            h.j.resources.dns_records.push(r.clone());
                            done = true;
                            break;
                        }
                        self.emit(ProgressEvent::Retrying {
                            host: spec.name.clone(),
                            run_id: h.j.run_id.clone(),
                            step: Step::DnsRecords,
                            attempt,
                            reason: chain(&e),
                        });
                        last = Some(e);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if !done {
                return Err(
                    last.map_or_else(|| Error::Precondition("no attempt".into()), Error::from)
                );
            }
            // Journal each record as soon as it exists.
            self.save(&mut h.j).await?;
        }
        if h.registered && h.ticket.is_none() {
            h.ticket = Some(b.publish.arrive(&zone));
        }
        Ok(())
    }

    async fn step_publish(&self, b: &Batch, h: &mut HostRun) -> Result<()> {
        let zone = zone_of(&h.j.spec);
        if !h.registered {
            b.publish.register(&zone);
            h.registered = true;
        }
        let ticket = match h.ticket {
            Some(t) => t,
            None => {
                let t = b.publish.arrive(&zone);
                h.ticket = Some(t);
                t
            }
        };
        let note = format!(
            "ops-core provision {}",
            h.j.batch_id.as_deref().unwrap_or(&h.j.run_id)
        );
        let z = zone.clone();
        let r = b
            .publish
            .wait(&z, ticket, |hosts| async move {
                let r = self
                    .call(&self.budgets.dns, || self.dns.publish(&zone, &note))
                    .await;
                match r {
                    Ok(p) => {
                        self.emit(ProgressEvent::Published {
                            zone: zone.clone(),
                            hosts,
                        });
                        Ok(p)
                    }
                    Err(e) => Err((e.kind(), chain(&e))),
                }
            })
            .await;
        match r {
            Ok(_) => Ok(()),
            Err((kind, msg)) => Err(PortError::new(
                Service::Dns,
                self.dns.provider(),
                kind,
                format!("zone publish failed: {msg}"),
            )
            .into()),
        }
    }

    async fn step_wait_monitoring(&self, h: &mut HostRun) -> Result<()> {
        let host = h.j.spec.name.clone();
        let timeout = self.config.monitoring_timeout;
        let start = Instant::now();
        loop {
            let s = self
                .call(&self.budgets.monitoring, || self.mon.host_state(&host))
                .await?;
            if s == Some(HostState::Up) {
                return Ok(());
            }
            let elapsed = start.elapsed();
            self.emit(ProgressEvent::Waiting {
                host: host.clone(),
                run_id: h.j.run_id.clone(),
                step: Step::WaitMonitoring,
                status: s.map_or_else(
                    || "unknown to monitoring".to_string(),
                    |s| format!("{s:?}").to_lowercase(),
                ),
                elapsed,
                timeout,
            });
            if elapsed + self.config.monitoring_poll > timeout {
                return Err(Error::Timeout {
                    what: format!("monitoring to report {host} UP"),
                    after: timeout,
                });
            }
            tokio::time::sleep(self.config.monitoring_poll).await;
        }
    }

    // ------------------------------------------------------------------------------------
    // rollback
    // ------------------------------------------------------------------------------------

    fn undo_event(
        &self,
        j: &RunJournal,
        report: &mut RollbackReport,
        resource: String,
        outcome: UndoOutcome,
    ) {
        let action = UndoAction { resource, outcome };
        self.emit(ProgressEvent::Undo {
            host: j.spec.name.clone(),
            run_id: j.run_id.clone(),
            action: action.clone(),
        });
        report.actions.push(action);
    }

    fn outcome(r: PortResult<()>) -> UndoOutcome {
        match r {
            Ok(()) => UndoOutcome::Removed,
            Err(e) if e.is_not_found() => UndoOutcome::AlreadyGone,
            Err(e) => UndoOutcome::Failed(chain(&e)),
        }
    }

    /// Removes what the journal says this run created, in reverse order, and records the
    /// report in the journal.
    pub(crate) async fn undo(&self, j: &mut RunJournal) -> RollbackReport {
        let mut report = RollbackReport::default();
        let spec = j.spec.clone();
        let zone = zone_of(&spec);
        let fqdn = spec.fqdn();

        // 1. DNS records, then one publish.
        let mut records = j.resources.dns_records.clone();
        if j.was_attempted(Step::DnsRecords) {
            // A create interrupted before it was journaled may have left a record behind.
            let addrs: Vec<String> = [
                j.addresses.ipv4.map(|a| a.to_string()),
                j.addresses.ipv6.map(|a| a.to_string()),
            ]
            .into_iter()
            .flatten()
            .collect();
            match self
                .call(&self.budgets.dns, || self.dns.records(&zone, Some(&fqdn)))
                .await
            {
                Err(e) => self.undo_event(
                    j,
                    &mut report,
                    format!("dns records of {fqdn} (a create may have been applied)"),
                    UndoOutcome::Failed(format!("lookup failed: {}", chain(&e))),
                ),
                Ok(now) => {
                    for r in now {
                        if matches!(r.rtype, RecordType::A | RecordType::AAAA)
                            && addrs.contains(&r.data)
                            && !records
                                .iter()
                                .any(|o| same_record(o, &r.fqdn, &r.rtype, &r.data))
                        {
                            records.push(r);
                        }
                    }
                }
            }
        }
        let mut removed_dns = false;
        for r in records.iter().rev() {
            let o = Self::outcome(
                self.call(&self.budgets.dns, || self.dns.delete_record(r))
                    .await,
            );
            if matches!(o, UndoOutcome::Removed | UndoOutcome::AlreadyGone) {
                removed_dns |= o == UndoOutcome::Removed;
                j.resources
                    .dns_records
                    .retain(|x| !same_record(x, &r.fqdn, &r.rtype, &r.data));
            }
            self.undo_event(j, &mut report, describe_record(r), o);
        }
        if removed_dns && self.dns.needs_publish() {
            let note = format!("ops-core rollback {}", j.run_id);
            let o = match self
                .call(&self.budgets.dns, || self.dns.publish(&zone, &note))
                .await
            {
                Ok(_) => UndoOutcome::Removed,
                Err(e) => UndoOutcome::Failed(chain(&e)),
            };
            self.undo_event(
                j,
                &mut report,
                format!("dns publish {zone} (record removal)"),
                o,
            );
        }

        // 2. The droplet, and anything else carrying this run's tag.
        let mut ids: Vec<(u64, String)> = j
            .resources
            .droplet
            .iter()
            .map(|d| (d.id, d.name.clone()))
            .collect();
        // Whether the lookup by run tag saw everything this run may have made.
        let mut tag_lookup_ok = !j.was_attempted(Step::CreateDroplet);
        if j.was_attempted(Step::CreateDroplet) {
            // With a create sent and no droplet recorded, an empty listing proves nothing until
            // the listing's lag has passed: look as long as a create would (adopt window).
            let lookups = if j.resources.droplet_unconfirmed() {
                self.config.adopt_lookups.max(1)
            } else {
                1
            };
            let mut last = None;
            for k in 0..lookups {
                if k > 0 {
                    tokio::time::sleep(self.config.adopt_delay).await;
                }
                match self.droplets_tagged(&j.run_tag()).await {
                    Ok(found) if found.is_empty() => last = Some(Ok(())),
                    Ok(found) => {
                        for d in found {
                            if !ids.iter().any(|(i, _)| *i == d.id) {
                                ids.push((d.id, d.name));
                            }
                        }
                        last = Some(Ok(()));
                        break;
                    }
                    Err(e) => last = Some(Err(e)),
                }
            }
            match last {
                Some(Err(e)) => self.undo_event(
                    j,
                    &mut report,
                    format!(
                        "droplets tagged {} (a create was sent; one may exist)",
                        j.run_tag()
                    ),
                    UndoOutcome::Failed(format!("lookup failed: {}", chain(&e))),
                ),
                _ => tag_lookup_ok = true,
            }
        }
        let mut droplets_failed = false;
        for (id, name) in ids {
            let o = Self::outcome(
                self.call(&self.budgets.compute, || self.compute.delete_droplet(id))
                    .await,
            );
            let gone = matches!(o, UndoOutcome::Removed | UndoOutcome::AlreadyGone);
            if gone && j.resources.droplet.as_ref().is_some_and(|d| d.id == id) {
                j.resources.droplet = None;
            }
            droplets_failed |= !gone;
            self.undo_event(j, &mut report, format!("droplet {id} ({name})"), o);
        }
        if tag_lookup_ok && !droplets_failed {
            // Verified: nothing carrying the run tag is left.
            j.resources.droplet_creates_sent = 0;
        }

        // 3. Chef node, 4. Chef client.
        let name = spec.node_name().to_string();
        if j.resources.chef_node.is_some() || j.was_attempted(Step::ChefNode) {
            let o = Self::outcome(
                self.call(&self.budgets.config_mgmt, || self.cm.delete_node(&name))
                    .await,
            );
            let recorded = j.resources.chef_node.is_some();
            if matches!(o, UndoOutcome::Removed | UndoOutcome::AlreadyGone) {
                j.resources.chef_node = None;
            }
            if recorded || o != UndoOutcome::AlreadyGone {
                self.undo_event(j, &mut report, format!("chef node {name}"), o);
            }
        }
        if j.resources.chef_client.is_some() || j.was_attempted(Step::ChefClient) {
            let o = Self::outcome(
                self.call(&self.budgets.config_mgmt, || self.cm.delete_client(&name))
                    .await,
            );
            let recorded = j.resources.chef_client.is_some();
            if matches!(o, UndoOutcome::Removed | UndoOutcome::AlreadyGone) {
                j.resources.chef_client = None;
            }
            if recorded || o != UndoOutcome::AlreadyGone {
                self.undo_event(j, &mut report, format!("chef client {name}"), o);
            }
        }

        j.status = if report.complete() {
            RunStatus::RolledBack
        } else {
            RunStatus::RollbackIncomplete
        };
        j.rollback = Some(report.clone());
        if let Err(e) = self.save(j).await {
            // The journal on disk still says what the run had made: the rollback is not
            // recorded, so it is not complete as far as a later resume or audit can tell.
            tracing::error!(run_id = %j.run_id, error = %chain(&e), "could not record the rollback in the journal");
            report.actions.push(UndoAction {
                resource: format!("run journal {}", j.run_id),
                outcome: UndoOutcome::Failed(format!("not saved: {}", chain(&e))),
            });
            j.status = RunStatus::RollbackIncomplete;
        }
        report
    }
}

pub(crate) fn zone_of(spec: &HostSpec) -> String {
    spec.dns.zone.trim_end_matches('.').to_string()
}

fn report_of(j: &RunJournal) -> HostReport {
    HostReport {
        name: j.spec.name.clone(),
        run_id: j.run_id.clone(),
        droplet_id: j.resources.droplet.as_ref().map_or(0, |d| d.id),
        adopted: j.resources.droplet.as_ref().is_some_and(|d| d.adopted),
        fqdn: j.spec.fqdn(),
        addresses: j.addresses.clone(),
        duplicates_removed: j.duplicates_removed.clone(),
        step_times: j
            .steps
            .iter()
            .filter_map(|s| {
                s.finished_ms.map(|f| {
                    (
                        s.step,
                        Duration::from_millis(f.saturating_sub(s.started_ms)),
                    )
                })
            })
            .collect(),
    }
}

fn unknown_run(run_id: &str, e: Error) -> HostOutcome {
    HostOutcome {
        name: String::new(),
        run_id: Some(run_id.to_string()),
        result: Err(HostFailure {
            name: String::new(),
            step: Step::Validate,
            error: e,
            kept: Default::default(),
            rollback: None,
            journal_error: None,
        }),
    }
}

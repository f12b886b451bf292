//! Provision and tear down hosts: droplet, DNS, Chef — safely, resumably, in parallel.
//!
//! [`Provisioner`] is generic over the four [ports](crate::ports). For one [`HostSpec`] it
//! runs the [`Step`]s in order:
//!
//! 1. **validate** everything before any write — hostname/droplet name, region, size and
//!    image in the catalog, SSH keys resolve, the DNS zone is ours, and no droplet, Chef
//!    node/client or DNS record claims the name unless this very run created it;
//! 2. register the node in Chef the validatorless way: **create the client** (its private key
//!    stays in memory as a secret) and the **node** with run list and environment;
//!    then, when the spec asks for them (issue #22), use or create its **VPC** and its
//!    **volumes** (attached by the droplet create);
//! 3. **create the droplet** with [cloud-init user data](cloud_init) that installs Chef, writes
//!    the key, `client.rb` and first-boot JSON, mounts the volumes, and runs the first
//!    converge;
//! 4. **wait** until it is active (deadline, progress events) and take its IPv4 (and IPv6);
//!    then apply its **firewalls**, give it its **reserved IP**, create its **alert
//!    policies** and put it (with its volumes and reserved IP) in its **project**;
//! 5. create the **A/AAAA records** and **publish** the zone (once per zone per batch);
//! 6. optionally **wait until monitoring reports the host UP**.
//!
//! What the usual tools do not do, and this does:
//! - **Duplicate-safe create**: every droplet carries a unique run tag (`ops-run:<run id>`).
//!   After an ambiguous create failure ([`PortError::is_ambiguous`](crate::ports::PortError::is_ambiguous))
//!   the droplet is looked up by that tag and adopted instead of created again.
//! - **A run journal** ([`journal`]): every step and every resource id is written atomically
//!   to `<state dir>/<run id>.json` as it happens; [`Provisioner::resume`] continues from the
//!   first unfinished step.
//! - **Rollback** in reverse order (DNS records + publish, droplet, Chef node, Chef client)
//!   with a [`RollbackReport`] of exactly what was and was not undone;
//!   [`ProvisionConfig::keep_on_failure`] leaves everything for inspection instead.
//! - **Fleets** ([`Provisioner::provision_fleet`]): bounded concurrency for API work, shared
//!   [rate budgets](budget) (DigitalOcean 250/min, Dyn 300/min), one publish per zone per
//!   batch, droplet status polled for the whole batch with one call, one add call per
//!   firewall and one assign call per project for the batch's hosts, and a per-host outcome —
//!   one host's failure neither aborts nor orphans the others.
//! - **Teardown** ([`Provisioner::teardown`], [`Provisioner::teardown_fleet`] with one publish
//!   per zone) tolerant of already-gone resources, and an **orphan audit**
//!   ([`Provisioner::audit`]).
//! - **Dry run** ([`Provisioner::plan`]): the exact writes, none made.
//!
//! Progress goes to `tracing` events and to an optional [`ProgressFn`] callback (see
//! [`progress_channel`]); no secret ever reaches either, nor the journal.
//!
//! **Dropping a run's future** (a timeout, Ctrl-C) is a crash at that point, never a
//! half-written journal: a journal write already handed to the blocking pool ends on its
//! own a moment later, whole (temporary file, then rename), or is refused if
//! [`Provisioner::release_leases`] gave its lease back first. [`Provisioner::resume`]
//! continues the run, in this process or another.

mod api;
pub mod audit;
pub mod budget;
pub mod cloud_init;
mod events;
mod fleet;
pub mod journal;
mod plan;
#[cfg(test)]
mod proptests;
mod reads;
pub mod removal;
mod run;
pub mod spec;
mod steps;
pub mod teardown;
mod validate;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use audit::{AuditReport, AuditScope};
pub use budget::{Budgets, RateBudget};
pub use cloud_init::BootstrapConfig;
pub use journal::{
    Addresses, AlertRef, FirewallRef, JournalStore, ProjectRef, Resources, RollbackReport,
    RunJournal, RunStatus, Step, UndoAction, UndoOutcome, VolumeRef, VpcRef,
};
pub use plan::{HostPlan, Plan, PlannedWrite};
pub use removal::{Removal, RemovalPlan};
pub use spec::{FleetSpec, HostSpec};
pub use steps::alert_description;
pub use teardown::{FleetTeardown, TeardownReport, TeardownTarget};

use crate::error::Error;
use crate::ports::{Compute, ConfigMgmt, Dns, Monitoring};

/// Settings of a [`Provisioner`].
#[derive(Debug, Clone)]
pub struct ProvisionConfig {
    /// How hosts reach the Chef server.
    pub bootstrap: BootstrapConfig,
    /// Directory of the run journals (unless `state_store` is set).
    pub state_dir: PathBuf,
    /// Where the run journals live instead of `state_dir`: e.g. a
    /// [`PgStore`](crate::state::PgStore), so runs are shared between machines. Default
    /// `None` (the folder).
    pub state_store: Option<Arc<dyn crate::state::StateStore>>,
    /// On failure, keep what was created instead of rolling back.
    pub keep_on_failure: bool,
    /// Hosts doing API work at once with each provider (DigitalOcean, the DNS provider,
    /// Chef: a host creating its droplet does not hold up one writing its DNS records;
    /// waits do not count). Default 10.
    pub concurrency: usize,
    /// Deadline for the droplet to become active. Default 5 min.
    pub active_timeout: Duration,
    /// Droplet status poll interval. Default 3 s.
    pub poll_interval: Duration,
    /// Deadline for monitoring to report the host UP. Default 10 min.
    pub monitoring_timeout: Duration,
    /// Monitoring poll interval. Default 15 s.
    pub monitoring_poll: Duration,
    /// Create attempts for a droplet (or Chef object) after ambiguous failures. Default 3.
    pub create_attempts: u32,
    /// Lookups by run tag after an ambiguous create before creating again. Default 36.
    ///
    /// `adopt_lookups × adopt_delay` is how long DigitalOcean's droplet listing is allowed to
    /// lag a create (default 3 min): a create whose answer was lost is adopted if it shows
    /// within that window, and only then is a second create sent. A rollback of a run whose
    /// create is unconfirmed looks as long before calling it gone. Should a listing lag even
    /// longer, the run deletes the extra droplet once it shows (before DNS, and again before
    /// success), and the orphan audit reports any left.
    pub adopt_lookups: u32,
    /// Delay between those lookups. Default 5 s.
    pub adopt_delay: Duration,
    /// How long a host that has its DNS records waits for the rest of its batch before the
    /// zone is published without them (they get a later publish). Default 20 s.
    pub publish_linger: Duration,
    /// Scrubs every secret it knows out of the journals before they are written (the
    /// binaries share theirs with every other output path). Default: knows none.
    pub redactor: crate::redact::Redactor,
    /// How long the lease a run holds on each host name lasts unless renewed (issue #21).
    /// The run renews it every third of this while it works; a runner that died loses it
    /// this long after its last renewal, and then any machine's resume takes it over.
    /// Default 2 min.
    pub lease_ttl: Duration,
    /// How long to wait for a host name's lease held by another run before refusing
    /// (`None`, the default: refuse at once with "held by run R on host H since T").
    pub lease_wait: Option<Duration>,
}

impl ProvisionConfig {
    /// Defaults with the given state directory and bootstrap settings.
    pub fn new(state_dir: impl Into<PathBuf>, bootstrap: BootstrapConfig) -> Self {
        ProvisionConfig {
            bootstrap,
            state_dir: state_dir.into(),
            state_store: None,
            keep_on_failure: false,
            concurrency: 10,
            active_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_secs(3),
            monitoring_timeout: Duration::from_secs(600),
            monitoring_poll: Duration::from_secs(15),
            create_attempts: 3,
            adopt_lookups: 36,
            adopt_delay: Duration::from_secs(5),
            publish_linger: Duration::from_secs(20),
            redactor: crate::redact::Redactor::new(),
            lease_ttl: Duration::from_secs(120),
            lease_wait: None,
        }
    }
}

/// A progress event, for binaries to render. Carries no secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)] // field names say it all
pub enum ProgressEvent {
    /// A step started.
    StepStarted {
        host: String,
        run_id: String,
        step: Step,
    },
    /// A step finished.
    StepDone {
        host: String,
        run_id: String,
        step: Step,
        elapsed: Duration,
    },
    /// A step is not needed for this host.
    StepSkipped {
        host: String,
        run_id: String,
        step: Step,
    },
    /// A step failed (`error` is the error chain).
    StepFailed {
        host: String,
        run_id: String,
        step: Step,
        error: String,
    },
    /// Still waiting (droplet status, monitoring state).
    Waiting {
        host: String,
        run_id: String,
        step: Step,
        status: String,
        elapsed: Duration,
        timeout: Duration,
    },
    /// A resource that an interrupted or ambiguous call created was found and adopted.
    Adopted {
        host: String,
        run_id: String,
        resource: String,
    },
    /// A second droplet carrying the run's tag (a create answered late) was deleted.
    DuplicateRemoved {
        host: String,
        run_id: String,
        droplet_id: u64,
        kept: u64,
    },
    /// A write is retried after an ambiguous failure that left nothing behind.
    Retrying {
        host: String,
        run_id: String,
        step: Step,
        attempt: u32,
        reason: String,
    },
    /// A rollback or teardown action.
    Undo {
        host: String,
        run_id: String,
        action: UndoAction,
    },
    /// A zone was published for `hosts` hosts.
    Published { zone: String, hosts: u64 },
    /// The host's run ended.
    Finished {
        host: String,
        run_id: String,
        status: RunStatus,
    },
}

/// Progress callback. Must be cheap and must not block.
pub type ProgressFn = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// A callback that forwards every event into an unbounded channel, for binaries that render
/// progress in their own task.
pub fn progress_channel() -> (
    ProgressFn,
    tokio::sync::mpsc::UnboundedReceiver<ProgressEvent>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let f: ProgressFn = Arc::new(move |ev: &ProgressEvent| {
        let _ = tx.send(ev.clone());
    });
    (f, rx)
}

/// A host that was provisioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostReport {
    /// Host name.
    pub name: String,
    /// Run id (journal name).
    pub run_id: String,
    /// Droplet id.
    pub droplet_id: u64,
    /// True when the droplet was adopted after an ambiguous create.
    pub adopted: bool,
    /// The DNS name.
    pub fqdn: String,
    /// Public addresses.
    pub addresses: Addresses,
    /// Time spent per step (from the journal).
    pub step_times: Vec<(Step, Duration)>,
    /// Droplets that also carried the run tag (a lost create answer, shown late by the
    /// listing) and were deleted; `droplet_id` was kept.
    pub duplicates_removed: Vec<u64>,
}

/// A host that was not provisioned.
#[derive(Debug)]
pub struct HostFailure {
    /// Host name.
    pub name: String,
    /// The step that failed.
    pub step: Step,
    /// Why.
    pub error: Error,
    /// What this run created and left in place (`keep_on_failure`, or what rollback could not
    /// remove).
    pub kept: Resources,
    /// The rollback, when one ran.
    pub rollback: Option<RollbackReport>,
    /// The run journal could not record the failure (the journal on disk may be behind:
    /// [`kept`](Self::kept) is the truth).
    pub journal_error: Option<Error>,
}

impl HostFailure {
    /// What may still exist because of this run, one line each (see
    /// [`Resources::describe`]), including a droplet whose create was sent but not confirmed.
    pub fn left_behind(&self, run_tag: &str) -> Vec<String> {
        self.kept.describe(run_tag)
    }
}

/// The outcome of one host.
#[derive(Debug)]
pub struct HostOutcome {
    /// Host name.
    pub name: String,
    /// Run id (journal name); `None` when the run never started (e.g. an unknown run id).
    pub run_id: Option<String>,
    /// Success or failure.
    pub result: std::result::Result<HostReport, HostFailure>,
}

impl HostOutcome {
    /// True on success.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// The outcome of a fleet run: one entry per host, in spec order.
#[derive(Debug)]
pub struct FleetReport {
    /// Batch id (droplets carry `ops-batch:<id>`).
    pub batch_id: Option<String>,
    /// Per-host outcomes.
    pub hosts: Vec<HostOutcome>,
    /// Zone publishes made for the batch (not counting rollbacks).
    pub publishes: u32,
}

impl FleetReport {
    /// Number of hosts that succeeded.
    pub fn succeeded(&self) -> usize {
        self.hosts.iter().filter(|h| h.is_ok()).count()
    }
}

/// The provision/teardown workflow engine.
///
/// It holds its ports as `Arc<dyn Port>`, like every workflow of this crate (see
/// [`ports`](crate::ports) for why that one style).
pub struct Provisioner {
    compute: Arc<dyn Compute>,
    dns: Arc<dyn Dns>,
    cm: Arc<dyn ConfigMgmt>,
    mon: Arc<dyn Monitoring>,
    config: ProvisionConfig,
    budgets: Budgets,
    store: JournalStore,
    progress: Option<ProgressFn>,
    pause: Option<PauseHook>,
}

/// The test-only pause hook (see [`Provisioner::test_pause`]).
type PauseHook =
    Arc<dyn Fn(&str, Step) -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>;

impl std::fmt::Debug for Provisioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioner")
            .field("config", &self.config)
            .field("budgets", &self.budgets)
            .finish_non_exhaustive()
    }
}

impl Provisioner {
    /// A provisioner over the given ports, with default budgets (DigitalOcean + Dyn).
    pub fn new(
        compute: Arc<dyn Compute>,
        dns: Arc<dyn Dns>,
        cm: Arc<dyn ConfigMgmt>,
        mon: Arc<dyn Monitoring>,
        config: ProvisionConfig,
    ) -> Self {
        let store = match &config.state_store {
            Some(s) => JournalStore::with_store(s.clone()),
            None => JournalStore::new(config.state_dir.clone()),
        }
        .with_redactor(config.redactor.clone());
        Provisioner {
            compute,
            dns,
            cm,
            mon,
            config,
            budgets: Budgets::default(),
            store,
            progress: None,
            pause: None,
        }
    }

    /// Test hook, not for use: `hook(host, step)` is awaited before each step of each host
    /// starts (its journal says the steps before it are done). The process tests use it to
    /// stop or kill a runner mid-run deterministically.
    #[doc(hidden)]
    #[must_use]
    pub fn test_pause(
        mut self,
        hook: impl Fn(&str, Step) -> futures_util::future::BoxFuture<'static, ()>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.pause = Some(Arc::new(hook));
        self
    }

    /// Uses these rate budgets (share them between provisioners that use the same accounts).
    #[must_use]
    pub fn with_budgets(mut self, budgets: Budgets) -> Self {
        self.budgets = budgets;
        self
    }

    /// Sends progress events to `f`.
    #[must_use]
    pub fn with_progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// The settings.
    pub fn config(&self) -> &ProvisionConfig {
        &self.config
    }

    /// The budgets in use.
    pub fn budgets(&self) -> &Budgets {
        &self.budgets
    }

    /// The journal store.
    pub fn journals(&self) -> &JournalStore {
        &self.store
    }

    /// Gives back the host leases of runs whose future was dropped midway (a binary
    /// interrupted by Ctrl-C), so a `resume` can start at once instead of after the leases
    /// expire. Call it only once that future is gone.
    pub async fn release_leases(&self) {
        self.store.release_leases().await;
    }
}

//! SSH key sync: one source of truth → the Chef `users` data bag (`users_manage` format),
//! the DigitalOcean account keys, and the key recipe on every node's run-list.
//!
//! A run is **plan, then apply**. [`KeySync::sync`] first reads the [`SyncState`] item: when
//! its digest equals the digest of the desired state, a scheduled run stops after that one
//! read. Otherwise (or with [`RunOptions::full`]) it reads the bag once, lists the account
//! keys once, and walks the nodes with one paginated partial search (`rows = 1000`), diffs
//! locally and writes only what differs — an already converged state gets **zero writes**.
//!
//! Safety rules, from the `users_manage` pitfalls:
//! - an item is never deleted: a removed user gets `action: remove` and an empty key list
//!   (groups kept, so the recipe's search still finds the item);
//! - the [lockout guard](KeySync::sync) refuses a plan that leaves a group with no keys,
//!   leaves the admin group without a key, or writes an empty key list for a present user,
//!   unless forced;
//! - invalid input (bad or duplicated keys, DSA, RSA < 2048 bits, typos) is rejected by
//!   [`KeySource`] before any port is called.
//!
//! The recipe is `cookbooks/user_setup` (issue #23): it applies the bag on each node (the
//! `users_manage` traps handled: `action: remove` withdraws access, membership follows the
//! bag, an empty key list empties `authorized_keys`) and records per user the SHA-256
//! fingerprints really installed, as node attributes ([`NodeProof`]). key-sync adds the
//! recipe to a run-list only when the server holds a compatible version of that cookbook
//! ([`CookbookRequirement`]). The [audit](KeySync::audit) reads the proof with the same one
//! paginated partial search and lists, per node, keys still installed that should be gone
//! and keys missing; [`KeySync::revoke`] lists the nodes whose report still holds the user's
//! key, and [`KeySync::wait_revoked`] polls until none is left.
//!
//! Requests per run (adapters: Chef search `rows = 1000`, DigitalOcean `per_page = 200`):
//! scheduled and unchanged: 1 (the state item); full and converged:
//! `2 + ceil(users / 1000) + ceil(account keys / 200) + ceil(nodes / 1000)`, no write (the
//! Chef adapter lists the users bag with `GET /data/users` as well as searching it, because
//! search lags behind writes; an item the index has not caught up with costs one more GET).
//! Nodes registered moments before a run may be missing from the node search; the next run
//! checks them.
//!
//! # How often? ("every 30 min: too often?")
//!
//! No. Measured with `cargo bench -p ops-workflows --bench key_sync` (10,000 nodes, 500 users,
//! 600 keys; the fakes count the requests the real adapters make):
//!
//! | run | requests | writes |
//! |---|---|---|
//! | scheduled, nothing changed (the digest short-circuit) | **1** (`GET` of the state item) | 0 |
//! | full, converged (the daily `--full`) | 15 (state item, bag listing + 1 search page, 3 account key pages, 10 node pages) | 0 |
//! | scheduled, after one key was added | 18 | 3 |
//! | first run on an empty server | 1,515 | 1,301 |
//! | `--audit` (reads every node's `user_setup` report) | 15 | 0 |
//! | `--revoke USER` | 19 | 3 |
//! | one `--wait` poll | 10 (`ceil(nodes / 1000)`) | 0 |
//!
//! Every 30 minutes is 48 single reads a day when nothing changes: cheap. Running it more
//! often would not make a revoke faster either: `--revoke` writes the bag at once; what
//! takes time is the nodes applying it. chef-client runs every `interval` seconds after a
//! random `splay` (defaults 1,800 s and 300 s), so a change written at time t reaches every
//! node by t + interval + splay + one converge: **about 35 minutes** at the defaults, half
//! the nodes within about 17. With the push, `sudo chef-client -o 'recipe[user_setup]'` on
//! exactly the nodes `--revoke` lists (their report still holds the key), it takes one
//! converge of that one recipe per node: `ceil(nodes holding the key / SSH sessions in
//! parallel) × converge time` (e.g. 200 nodes, 50 sessions, 20 s: under 2 minutes; the
//! converge time is an assumption, no Chef Infra Client runs here). `--revoke USER --wait 40m`
//! then confirms it from the reports, polling 5 s → 60 s apart, jittered (about 50 polls, 500
//! requests, over 35 minutes at 10,000 nodes).
//!
//! The reports make node pages larger: about 120 bytes per user a node reports, so a
//! 1,000-row page of nodes serving 500 users each is ~58 MB, over the Chef client's 32 MiB
//! default response limit. The Chef adapter then reads that page again in halves (reads
//! only, safe to repeat), so the audit still works, at the cost of the refused request;
//! keeping `page_rows × users per node` under about 250,000 (e.g.
//! [`KeySyncOptions::page_rows`] 250 for 500 users), or raising
//! `ClientBuilder::max_response_bytes`, avoids it. A sync never reads the reports. In the bench (release
//! build, a loaded 2-core machine) the scheduled run took 1.3 ms, the full converged run
//! 90 ms, the audit of 10,000 reports of 500 users each 4.2 s and one `--wait` poll 3.1 s
//! (mostly copying those reports in the fake); against a server, moving them dominates
//! (~58 KB per node at 500 users, ~3.5 KB at 30).
//!
//! ```no_run
//! # async fn demo(bag: &dyn ops_core::key_sync::UsersBag,
//! #               keys: &dyn ops_core::key_sync::AccountKeys,
//! #               nodes: &dyn ops_core::key_sync::NodeInventory) -> ops_core::Result<()> {
//! use ops_core::key_sync::{KeyPolicy, KeySource, KeySync, KeySyncOptions, RunOptions};
//! let source = KeySource::load("users/".as_ref(), &KeyPolicy::default())?;
//! let sync = KeySync::new(bag, keys, nodes, KeySyncOptions::default());
//! let report = sync.sync(&source, RunOptions { dry_run: true, ..RunOptions::default() }).await?;
//! tracing::info!(%report, "planned");
//! # Ok(()) }
//! ```

mod cookbook;
mod keys;
mod plan;
pub mod ports;
mod proof;
#[cfg(test)]
mod proptests;
mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{StreamExt, stream};

pub use cookbook::{CookbookRequirement, USER_SETUP_VERSION};
pub use keys::{KeyPolicy, ValidKey, fingerprint_of, validate_key};
pub use plan::{ItemChange, Plan};
pub use ports::{
    AccountKey, AccountKeys, InstalledKeys, NewAccountKey, NodeInventory, NodePage, NodeProof,
    NodeSummary, RevokedUser, SyncState, UserItem, UsersBag,
};
pub use proof::KeyFinding;
pub use source::{DesiredUser, KeySource, Location, SourceFormat, SourceKey, UserSpec, UserState};

use crate::ports::PortError;
use crate::{Error, Result};

/// Settings of a key-sync deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySyncOptions {
    /// Run-list entry that renders the keys (default `recipe[user_setup]`).
    pub recipe: String,
    /// Group whose members must keep at least one key (default `sysadmin`; `None` disables
    /// that check).
    pub admin_group: Option<String>,
    /// Name prefix that marks the DigitalOcean keys this tool manages (default `key-sync:`).
    /// Keys without it are never touched.
    pub key_name_prefix: String,
    /// Only users in one of these groups get their keys on the DigitalOcean account
    /// (`None`: every present user).
    pub account_key_groups: Option<BTreeSet<String>>,
    /// Manage DigitalOcean account keys at all (default true).
    pub sync_account_keys: bool,
    /// Add the recipe to nodes missing it (default true; the audit still reports them).
    pub fix_run_lists: bool,
    /// Chef search query selecting the nodes (default `*:*`).
    pub node_query: String,
    /// Rows per search page (default 1000).
    pub page_rows: u64,
    /// Run-list fixes in flight at once (default 8; each is a GET and a PUT).
    pub concurrency: usize,
    /// The cookbook that must be on the server, at a compatible version, before the recipe
    /// is added to any run-list (default `user_setup`, the caret range of
    /// [`USER_SETUP_VERSION`]; `None` skips the check, e.g. for a wrapper cookbook of your
    /// own). Checked only when a run-list needs the recipe: one request.
    pub cookbook: Option<CookbookRequirement>,
    /// Fixed clock for tests; `None` uses the system clock.
    pub now: Option<SystemTime>,
}

impl Default for KeySyncOptions {
    fn default() -> Self {
        KeySyncOptions {
            recipe: "recipe[user_setup]".to_owned(),
            admin_group: Some("sysadmin".to_owned()),
            key_name_prefix: "key-sync:".to_owned(),
            account_key_groups: None,
            sync_account_keys: true,
            fix_run_lists: true,
            node_query: "*:*".to_owned(),
            page_rows: 1000,
            concurrency: 8,
            cookbook: Some(CookbookRequirement::default()),
            now: None,
        }
    }
}

/// How one [`KeySync::sync`] call behaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Plan and return the plan; write nothing.
    pub dry_run: bool,
    /// Skip the digest short-circuit (the daily safety net: catches hand edits and new nodes).
    pub full: bool,
    /// Apply even when the lockout guard objects.
    pub force: bool,
}

/// What [`KeySync::apply`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Data bag items created or updated.
    pub items_written: usize,
    /// Account keys added.
    pub keys_added: usize,
    /// Account keys deleted.
    pub keys_deleted: usize,
    /// Run-lists fixed.
    pub run_lists_fixed: usize,
    /// Whether the state item was written.
    pub state_written: bool,
}

impl ApplyReport {
    /// Every write, the state item included.
    pub fn writes(&self) -> usize {
        self.items_written
            + self.keys_added
            + self.keys_deleted
            + self.run_lists_fixed
            + usize::from(self.state_written)
    }
}

/// The outcome of [`KeySync::sync`].
#[derive(Debug, Clone)]
pub enum SyncReport {
    /// The stored digest matched: nothing was read beyond the state item.
    UpToDate {
        /// The matching digest.
        digest: String,
    },
    /// Dry run: the plan, nothing written.
    DryRun(Plan),
    /// The plan was applied.
    Applied {
        /// What was planned.
        plan: Plan,
        /// What was written.
        report: ApplyReport,
    },
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncReport::UpToDate { digest } => writeln!(
                f,
                "up to date ({digest}); nothing read beyond the state item"
            ),
            SyncReport::DryRun(plan) => write!(f, "{plan}dry run: nothing written"),
            SyncReport::Applied { plan, report } => write!(
                f,
                "{plan}applied: {} item(s), {} key(s) added, {} key(s) deleted, {} run-list(s) fixed",
                report.items_written,
                report.keys_added,
                report.keys_deleted,
                report.run_lists_fixed
            ),
        }
    }
}

/// What [`KeySync::revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeReport {
    /// A dry run: nothing was written; `item_written` and `keys_deleted` say what would be.
    pub dry_run: bool,
    /// The revoked user.
    pub user: String,
    /// Whether the data bag item was written (false when already removed or absent).
    pub item_written: bool,
    /// Managed account keys deleted.
    pub keys_deleted: Vec<AccountKey>,
    /// Nodes that run the recipe and still have to converge to drop the account.
    pub nodes_to_converge: Vec<String>,
    /// Nodes without the recipe: they will never drop the account by themselves.
    pub nodes_missing_recipe: Vec<String>,
    /// Nodes whose last `user_setup` report still lists a key of the user (issue #23): the
    /// ones to converge now (`sudo chef-client -o 'recipe[user_setup]'`).
    pub nodes_with_key: Vec<String>,
    /// Nodes with the recipe and no `user_setup` report: unknown.
    pub nodes_unknown: Vec<String>,
    /// Remarks (no data bag item, unmanaged account key carrying the user's key…).
    pub warnings: Vec<String>,
}

impl fmt::Display for RevokeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            writeln!(
                f,
                "dry run, nothing written: revoking `{}` would {} the data bag item and delete {} account key(s)",
                self.user,
                if self.item_written {
                    "mark action: remove in"
                } else {
                    "leave unchanged"
                },
                self.keys_deleted.len()
            )?;
        } else {
            writeln!(
                f,
                "revoked `{}`: data bag item {}, {} account key(s) deleted",
                self.user,
                if self.item_written {
                    "marked action: remove"
                } else {
                    "unchanged"
                },
                self.keys_deleted.len()
            )?;
        }
        writeln!(
            f,
            "{} node(s) still have to converge",
            self.nodes_to_converge.len()
        )?;
        for n in self.nodes_to_converge.iter().take(50) {
            writeln!(f, "  {n}")?;
        }
        if self.nodes_to_converge.len() > 50 {
            writeln!(f, "  … and {} more", self.nodes_to_converge.len() - 50)?;
        }
        if !self.nodes_missing_recipe.is_empty() {
            writeln!(
                f,
                "{} node(s) lack the key recipe and will keep the account:",
                self.nodes_missing_recipe.len()
            )?;
            for n in &self.nodes_missing_recipe {
                writeln!(f, "  {n}")?;
            }
        }
        write_key_holders(f, &self.user, &self.nodes_with_key, &self.nodes_unknown)?;
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

fn write_key_holders(
    f: &mut fmt::Formatter<'_>,
    user: &str,
    with_key: &[String],
    unknown: &[String],
) -> fmt::Result {
    writeln!(
        f,
        "{} node(s) still hold a key of `{user}` (by their last user_setup report)",
        with_key.len()
    )?;
    for n in with_key {
        writeln!(f, "  {n}")?;
    }
    if !with_key.is_empty() {
        writeln!(
            f,
            "converge them now with: sudo chef-client -o 'recipe[user_setup]' (on each node above)"
        )?;
    }
    if !unknown.is_empty() {
        writeln!(
            f,
            "{} node(s) unknown (no report from user_setup):",
            unknown.len()
        )?;
        for n in unknown.iter().take(50) {
            writeln!(f, "  {n}")?;
        }
        if unknown.len() > 50 {
            writeln!(f, "  … and {} more", unknown.len() - 50)?;
        }
    }
    Ok(())
}

/// Where a revoked user's keys still are, by the nodes' `user_setup` reports
/// ([`KeySync::revoke_status`], [`KeySync::wait_revoked`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeStatus {
    /// The user.
    pub user: String,
    /// Nodes whose last report still lists a key of the user.
    pub nodes_with_key: Vec<String>,
    /// Nodes with the recipe and no report: unknown.
    pub nodes_unknown: Vec<String>,
    /// Nodes whose report lists no key of the user.
    pub nodes_clean: usize,
    /// Node searches made (one per poll, each `ceil(nodes / page_rows)` requests).
    pub polls: u32,
}

impl RevokeStatus {
    /// True when every node with the recipe reported and none lists a key of the user.
    pub fn is_done(&self) -> bool {
        self.nodes_with_key.is_empty() && self.nodes_unknown.is_empty()
    }
}

impl fmt::Display for RevokeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_key_holders(f, &self.user, &self.nodes_with_key, &self.nodes_unknown)?;
        writeln!(
            f,
            "{} node(s) report no key of `{}` ({} poll(s))",
            self.nodes_clean, self.user, self.polls
        )
    }
}

/// How [`KeySync::wait_revoked`] spaces its polls: 5 s doubling to 60 s, jittered (the
/// workspace's backoff, `ops_http_retry::next_delay`); each poll is one paginated search.
const WAIT_BACKOFF: ops_http_retry::RetryConfig = ops_http_retry::RetryConfig {
    max_attempts: u32::MAX,
    initial_backoff: Duration::from_secs(5),
    max_backoff: Duration::from_secs(60),
};

/// A node lagging behind the last key change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLag {
    /// Node name.
    pub name: String,
    /// When `user_setup` last reported (`checked_at`), `None` when unknown.
    pub last_check_in: Option<SystemTime>,
}

/// A read-only comparison of live state against the source, from [`KeySync::audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// When the users data bag last changed through key-sync, when known.
    pub last_key_change: Option<SystemTime>,
    /// Whether the stored digest matches the source.
    pub digest_up_to_date: bool,
    /// Nodes seen.
    pub nodes_total: usize,
    /// Nodes with the recipe whose last `user_setup` report (`checked_at`) is older than the
    /// last key change: they have not converged since.
    pub not_converged: Vec<NodeLag>,
    /// Nodes with the recipe and no report from it: unknown (no report from `user_setup`).
    pub no_report: Vec<String>,
    /// Keys a node reports installed that the source says must be gone (a removed user's,
    /// or a key no longer listed), from the latest report whatever its age.
    pub keys_still_installed: Vec<KeyFinding>,
    /// Keys of present users that a node converged since the last key change does not
    /// report for a user it serves.
    pub keys_missing: Vec<KeyFinding>,
    /// Nodes whose run-list lacks the recipe.
    pub missing_recipe: Vec<String>,
    /// Account keys whose key is not a present user's key in the source (`managed` tells
    /// whether key-sync would delete it).
    pub account_keys_not_in_source: Vec<(AccountKey, bool)>,
    /// Data bag items whose managed fields differ from the source.
    pub bag_drift: Vec<String>,
    /// Data bag items the source does not mention (never touched; a deleted source entry
    /// does not remove the account: mark it `removed`).
    pub bag_not_in_source: Vec<String>,
}

impl AuditReport {
    /// True when nothing needs attention.
    pub fn is_clean(&self) -> bool {
        self.digest_up_to_date
            && self.not_converged.is_empty()
            && self.no_report.is_empty()
            && self.keys_still_installed.is_empty()
            && self.keys_missing.is_empty()
            && self.missing_recipe.is_empty()
            && self.account_keys_not_in_source.is_empty()
            && self.bag_drift.is_empty()
            && self.bag_not_in_source.is_empty()
    }
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = self
            .last_key_change
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or_else(
                || "unknown".to_owned(),
                |d| format!("{}s after the epoch", d.as_secs()),
            );
        writeln!(
            f,
            "key-sync audit: {} node(s); last key change {since}",
            self.nodes_total
        )?;
        writeln!(
            f,
            "stored digest {}",
            if self.digest_up_to_date {
                "matches the source"
            } else {
                "differs from the source: run a sync"
            }
        )?;
        writeln!(
            f,
            "{} node(s) not converged since the last key change",
            self.not_converged.len()
        )?;
        for n in self.not_converged.iter().take(50) {
            let at = n
                .last_check_in
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or_else(|| "never".to_owned(), |d| format!("{}", d.as_secs()));
            writeln!(f, "  {} (last user_setup report {at})", n.name)?;
        }
        writeln!(
            f,
            "{} node(s) unknown (no report from user_setup)",
            self.no_report.len()
        )?;
        for n in self.no_report.iter().take(50) {
            writeln!(f, "  {n}")?;
        }
        if self.no_report.len() > 50 {
            writeln!(f, "  … and {} more", self.no_report.len() - 50)?;
        }
        writeln!(
            f,
            "{} key(s) still installed that should be gone",
            self.keys_still_installed.len()
        )?;
        for k in self.keys_still_installed.iter().take(100) {
            writeln!(f, "  {}: {} {}", k.node, k.user, k.fingerprint)?;
        }
        writeln!(f, "{} key(s) missing", self.keys_missing.len())?;
        for k in self.keys_missing.iter().take(100) {
            writeln!(f, "  {}: {} {}", k.node, k.user, k.fingerprint)?;
        }
        writeln!(
            f,
            "{} node(s) missing the recipe",
            self.missing_recipe.len()
        )?;
        for n in self.missing_recipe.iter().take(50) {
            writeln!(f, "  {n}")?;
        }
        writeln!(
            f,
            "{} DigitalOcean key(s) not in the source",
            self.account_keys_not_in_source.len()
        )?;
        for (k, managed) in &self.account_keys_not_in_source {
            writeln!(
                f,
                "  {} (id {}{})",
                k.name,
                k.id,
                if *managed { ", managed" } else { ", unmanaged" }
            )?;
        }
        for id in &self.bag_drift {
            writeln!(f, "data bag item `{id}` differs from the source")?;
        }
        for id in &self.bag_not_in_source {
            writeln!(f, "data bag item `{id}` is not in the source")?;
        }
        Ok(())
    }
}

/// The key-sync workflow over its three ports.
pub struct KeySync<'a> {
    bag: &'a dyn UsersBag,
    account: &'a dyn AccountKeys,
    nodes: &'a dyn NodeInventory,
    opts: KeySyncOptions,
}

impl fmt::Debug for KeySync<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySync")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

fn port_step(step: &'static str, target: impl Into<String>) -> impl FnOnce(PortError) -> Error {
    let target = target.into();
    move |e| Error::Step {
        step,
        target,
        source: Box::new(Error::Port(e)),
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl<'a> KeySync<'a> {
    /// A workflow over the users data bag, the account keys and the node inventory.
    pub fn new(
        bag: &'a dyn UsersBag,
        account: &'a dyn AccountKeys,
        nodes: &'a dyn NodeInventory,
        opts: KeySyncOptions,
    ) -> Self {
        KeySync {
            bag,
            account,
            nodes,
            opts,
        }
    }

    /// The settings.
    pub fn options(&self) -> &KeySyncOptions {
        &self.opts
    }

    fn now(&self) -> SystemTime {
        self.opts.now.unwrap_or_else(SystemTime::now)
    }

    async fn state(&self) -> Result<Option<SyncState>> {
        self.bag
            .get_state()
            .await
            .map_err(port_step("read sync state", "state item"))
    }

    /// The digest the source converges to, given the stored state (pending revocations count).
    pub fn digest(&self, source: &KeySource, state: Option<&SyncState>) -> String {
        plan::digest(&plan::desired(source, state, &self.opts), &self.opts)
    }

    /// Walks every node with the paginated partial search: `ceil(nodes / page_rows)` calls.
    /// Without the `user_setup` proof (a sync only needs run-lists).
    pub async fn scan_nodes(&self) -> Result<Vec<NodeSummary>> {
        self.scan(false).await
    }

    /// [`scan_nodes`](Self::scan_nodes) with each node's `user_setup` proof
    /// ([`NodeInventory::search_nodes_with_proof`]): what the audit and the revoke read.
    pub async fn scan_nodes_with_proof(&self) -> Result<Vec<NodeSummary>> {
        self.scan(true).await
    }

    async fn scan(&self, proof: bool) -> Result<Vec<NodeSummary>> {
        let rows = self.opts.page_rows.max(1);
        let mut by_name: BTreeMap<String, NodeSummary> = BTreeMap::new();
        let mut start = 0u64;
        loop {
            let q = &self.opts.node_query;
            let page = if proof {
                self.nodes.search_nodes_with_proof(q, start, rows).await
            } else {
                self.nodes.search_nodes(q, start, rows).await
            }
            .map_err(port_step("search nodes", format!("rows {start}..")))?;
            let n = page.nodes.len() as u64;
            for node in page.nodes {
                by_name.insert(node.name.clone(), node);
            }
            start += n;
            if n == 0 || start >= page.total {
                break;
            }
        }
        Ok(by_name.into_values().collect())
    }

    /// Reads everything and computes the plan (no write). Reads: the state item, the bag
    /// (with the Chef adapter: its listing and one search page per 1000 items), the account
    /// keys (once, when managed), and the
    /// nodes (one search page per 1000 nodes, when run-lists are managed).
    pub async fn plan(&self, source: &KeySource) -> Result<Plan> {
        let state = self.state().await?;
        self.plan_with(source, state).await
    }

    async fn plan_with(&self, source: &KeySource, state: Option<SyncState>) -> Result<Plan> {
        let desired = plan::desired(source, state.as_ref(), &self.opts);
        let digest = plan::digest(&desired, &self.opts);
        let mut warnings = desired.warnings.clone();

        let live_items = self
            .bag
            .list_items()
            .await
            .map_err(port_step("list users data bag", "users"))?;
        let live: BTreeMap<String, UserItem> =
            live_items.into_iter().map(|i| (i.id.clone(), i)).collect();
        let mut item_changes = Vec::new();
        for (id, want) in &desired.items {
            if let Some(c) = plan::item_change(live.get(id), want) {
                item_changes.push(c);
            }
        }
        for id in live.keys().filter(|id| !desired.items.contains_key(*id)) {
            if live.get(id).is_some_and(UserItem::is_present) {
                warnings.push(format!(
                    "data bag item `{id}` is not in the source: left alone (mark it `removed` to revoke the account)"
                ));
            }
        }
        let lockout =
            plan::lockout_problems(&live, &item_changes, self.opts.admin_group.as_deref());

        let (keys_to_add, keys_to_delete) = if self.opts.sync_account_keys {
            let live_keys = self
                .account
                .list_keys()
                .await
                .map_err(port_step("list account keys", "digitalocean"))?;
            plan::account_key_changes(
                &live_keys,
                &desired,
                &self.opts.key_name_prefix,
                &mut warnings,
            )
        } else {
            (Vec::new(), Vec::new())
        };

        let (run_list_fixes, nodes_seen) = if self.opts.fix_run_lists {
            let nodes = self.scan_nodes().await?;
            let fixes: Vec<String> = nodes
                .iter()
                .filter(|n| !plan::has_recipe(n, &self.opts.recipe))
                .map(|n| n.name.clone())
                .collect();
            (fixes, nodes.len())
        } else {
            (Vec::new(), 0)
        };
        // Issue #23: a run-list naming a cookbook the server lacks breaks every chef-client
        // run of that node; check before adding it anywhere (one request, only then).
        let cookbook_problem = match &self.opts.cookbook {
            Some(req) if !run_list_fixes.is_empty() => {
                let versions = self
                    .nodes
                    .cookbook_versions(&req.name)
                    .await
                    .map_err(port_step("list cookbook versions", req.name.clone()))?;
                req.problem(versions.as_deref())
            }
            _ => None,
        };

        let now = unix(self.now());
        let prev_changed = state.as_ref().and_then(|s| s.keys_changed_at);
        let next_state = SyncState {
            digest: digest.clone(),
            keys_changed_at: if item_changes.is_empty() {
                prev_changed.or(Some(now))
            } else {
                Some(now)
            },
            applied_at: now,
            revoked: desired.revoked.clone(),
        };
        let state_write = match &state {
            None => true,
            Some(s) => {
                s.digest != digest
                    || s.revoked != next_state.revoked
                    || s.keys_changed_at != next_state.keys_changed_at
            }
        };
        let plan = Plan {
            digest,
            stored_digest: state.map(|s| s.digest),
            item_changes,
            keys_to_add,
            keys_to_delete,
            run_list_fixes,
            nodes_seen,
            warnings,
            lockout,
            cookbook_problem,
            recipe: self.opts.recipe.clone(),
            next_state,
            state_write,
        };
        tracing::info!(
            items = plan.item_changes.len(),
            keys_to_add = plan.keys_to_add.len(),
            keys_to_delete = plan.keys_to_delete.len(),
            run_list_fixes = plan.run_list_fixes.len(),
            nodes = plan.nodes_seen,
            lockout = plan.lockout.len(),
            "key-sync plan computed"
        );
        Ok(plan)
    }

    /// Applies a plan: data bag items, then account key deletions and additions, then
    /// run-lists, and last the state item (so a failed run is never short-circuited later).
    /// Refused with [`Error::Lockout`] when the plan has lockout findings and `force` is off.
    ///
    /// Refused with [`Error::CookbookMissing`] (nothing written, `force` or not) when the
    /// plan adds the recipe to run-lists and the server lacks a compatible cookbook.
    pub async fn apply(&self, plan: &Plan, force: bool) -> Result<ApplyReport> {
        if let (Some(problem), Some(req)) = (&plan.cookbook_problem, &self.opts.cookbook) {
            tracing::warn!(cookbook = %req, "key-sync plan refused: {problem}");
            return Err(Error::CookbookMissing {
                requirement: req.to_string(),
                problem: problem.clone(),
            });
        }
        if !plan.lockout.is_empty() {
            if !force {
                tracing::warn!(
                    problems = plan.lockout.len(),
                    "key-sync plan refused by the lockout guard"
                );
                return Err(Error::Lockout {
                    problems: plan.lockout.clone(),
                });
            }
            tracing::warn!(
                problems = plan.lockout.len(),
                "lockout guard overridden by force"
            );
        }
        let mut report = ApplyReport::default();
        for c in &plan.item_changes {
            if c.create {
                match self.bag.create_item(&c.item).await {
                    Err(e) if e.kind() == crate::ports::PortErrorKind::AlreadyExists => {
                        self.bag
                            .update_item(&c.item)
                            .await
                            .map_err(port_step("update data bag item", &c.id))?;
                    }
                    r => r.map_err(port_step("create data bag item", &c.id))?,
                }
            } else {
                self.bag
                    .update_item(&c.item)
                    .await
                    .map_err(port_step("update data bag item", &c.id))?;
            }
            tracing::info!(user = %c.id, create = c.create, "data bag item written");
            report.items_written += 1;
        }
        for k in &plan.keys_to_delete {
            match self.account.delete_key(k.id).await {
                Err(e) if e.is_not_found() => {}
                r => r.map_err(port_step("delete account key", &k.name))?,
            }
            tracing::info!(key = %k.name, id = k.id, "account key deleted");
            report.keys_deleted += 1;
        }
        for k in &plan.keys_to_add {
            self.account
                .create_key(k)
                .await
                .map_err(port_step("add account key", &k.name))?;
            tracing::info!(key = %k.name, "account key added");
            report.keys_added += 1;
        }
        let fixes = plan.run_list_fixes.iter().map(|n| async move {
            self.nodes
                .add_to_run_list(n, &plan.recipe)
                .await
                .map_err(port_step("add recipe to run-list", n))?;
            tracing::info!(node = %n, recipe = %plan.recipe, "run-list fixed");
            Ok::<(), Error>(())
        });
        let mut fixes = stream::iter(fixes).buffer_unordered(self.opts.concurrency.max(1));
        while let Some(done) = fixes.next().await {
            done?;
            report.run_lists_fixed += 1;
        }
        if plan.state_write {
            self.bag
                .put_state(&plan.next_state)
                .await
                .map_err(port_step("write sync state", "state item"))?;
            report.state_written = true;
        }
        tracing::info!(writes = report.writes(), "key-sync applied");
        Ok(report)
    }

    /// The scheduled entry point: cheap digest check, then plan, then apply (or stop after the
    /// plan on a dry run). Nothing is written when the lockout guard objects and `force` is off.
    pub async fn sync(&self, source: &KeySource, run: RunOptions) -> Result<SyncReport> {
        let state = self.state().await?;
        let digest = self.digest(source, state.as_ref());
        if !run.full && state.as_ref().is_some_and(|s| s.digest == digest) {
            tracing::info!(%digest, "key-sync: stored digest matches, nothing to do");
            return Ok(SyncReport::UpToDate { digest });
        }
        let plan = self.plan_with(source, state).await?;
        if run.dry_run {
            return Ok(SyncReport::DryRun(plan));
        }
        let report = self.apply(&plan, run.force).await?;
        Ok(SyncReport::Applied { plan, report })
    }

    /// Fast revoke: marks `user` removed in the data bag (`action: remove`, no keys), deletes
    /// the managed account keys carrying the user's keys, records the revocation in the state
    /// (so a sync keeps the user removed until the source says so, and the next scheduled run
    /// is a full one) and returns the nodes that still have to converge.
    pub async fn revoke(&self, user: &str, force: bool) -> Result<RevokeReport> {
        self.revoke_inner(user, force, false).await
    }

    /// What [`revoke`](Self::revoke) would do, with reads only: the same report (with
    /// [`RevokeReport::dry_run`] set), the lockout guard applied, nothing written.
    pub async fn revoke_dry_run(&self, user: &str, force: bool) -> Result<RevokeReport> {
        self.revoke_inner(user, force, true).await
    }

    /// Whether `user` is known where key-sync writes: an item in the users data bag, or a
    /// managed account key named for them (reads only). [`revoke`](Self::revoke) of a user
    /// it does not know only records the revocation in the sync state; a binary asks this
    /// first to refuse a misspelled name (issue #17).
    pub async fn knows_user(&self, user: &str) -> Result<bool> {
        if self
            .bag
            .get_item(user)
            .await
            .map_err(port_step("read data bag item", user))?
            .is_some()
        {
            return Ok(true);
        }
        if !self.opts.sync_account_keys {
            return Ok(false);
        }
        let keys = self
            .account
            .list_keys()
            .await
            .map_err(port_step("list account keys", "digitalocean"))?;
        Ok(keys
            .iter()
            .any(|k| plan::managed_owner(&k.name, &self.opts.key_name_prefix) == Some(user)))
    }

    async fn revoke_inner(&self, user: &str, force: bool, dry_run: bool) -> Result<RevokeReport> {
        let now = self.now();
        let state = self.state().await?;
        let live_items = self
            .bag
            .list_items()
            .await
            .map_err(port_step("list users data bag", "users"))?;
        let live: BTreeMap<String, UserItem> =
            live_items.into_iter().map(|i| (i.id.clone(), i)).collect();
        let mut warnings = Vec::new();
        let old_fps: BTreeSet<String> = live
            .get(user)
            .and_then(|i| i.ssh_keys.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|k| fingerprint_of(k))
            .collect();
        let change = match live.get(user) {
            Some(item) => {
                let mut want = item.clone();
                want.action = Some("remove".to_owned());
                want.ssh_keys = Some(Vec::new());
                plan::item_change(Some(item), &want)
            }
            None => {
                warnings.push(format!(
                    "`{user}` has no item in the users data bag: nothing to mark there"
                ));
                None
            }
        };
        let changes: Vec<ItemChange> = change.into_iter().collect();
        let lockout = plan::lockout_problems(&live, &changes, self.opts.admin_group.as_deref());
        if !lockout.is_empty() && !force {
            tracing::warn!(
                user,
                problems = lockout.len(),
                "revoke refused by the lockout guard"
            );
            return Err(Error::Lockout { problems: lockout });
        }
        for c in changes.iter().filter(|_| !dry_run) {
            self.bag
                .update_item(&c.item)
                .await
                .map_err(port_step("revoke data bag item", user))?;
            tracing::info!(user, "data bag item marked action: remove");
        }
        let mut keys_deleted = Vec::new();
        if self.opts.sync_account_keys {
            let live_keys = self
                .account
                .list_keys()
                .await
                .map_err(port_step("list account keys", "digitalocean"))?;
            for k in live_keys {
                let owner = plan::managed_owner(&k.name, &self.opts.key_name_prefix);
                let carries = fingerprint_of(&k.public_key).is_some_and(|fp| old_fps.contains(&fp));
                if owner == Some(user) || (owner.is_some() && carries) {
                    if !dry_run {
                        match self.account.delete_key(k.id).await {
                            Err(e) if e.is_not_found() => {}
                            r => r.map_err(port_step("delete account key", &k.name))?,
                        }
                        tracing::info!(user, key = %k.name, "account key deleted");
                    }
                    keys_deleted.push(k);
                } else if carries {
                    warnings.push(format!(
                        "unmanaged account key `{}` (id {}) carries a key of `{user}`: delete it by hand",
                        k.name, k.id
                    ));
                }
            }
        }
        let mut next = state.unwrap_or_default();
        next.digest = String::new();
        next.keys_changed_at = Some(unix(now));
        next.applied_at = unix(now);
        next.revoked.retain(|r| r.id != user);
        next.revoked.push(RevokedUser {
            id: user.to_owned(),
            at: unix(now),
        });
        if !dry_run {
            self.bag
                .put_state(&next)
                .await
                .map_err(port_step("write sync state", "state item"))?;
        }

        let nodes = self.scan_nodes_with_proof().await?;
        let status = self.key_holders(user, &nodes);
        let (with, without): (Vec<_>, Vec<_>) = nodes
            .into_iter()
            .partition(|n| plan::has_recipe(n, &self.opts.recipe));
        let report = RevokeReport {
            nodes_with_key: status.nodes_with_key,
            nodes_unknown: status.nodes_unknown,
            dry_run,
            user: user.to_owned(),
            item_written: !changes.is_empty(),
            keys_deleted,
            nodes_to_converge: with.into_iter().map(|n| n.name).collect(),
            nodes_missing_recipe: without.into_iter().map(|n| n.name).collect(),
            warnings,
        };
        tracing::info!(
            user,
            keys_deleted = report.keys_deleted.len(),
            nodes_to_converge = report.nodes_to_converge.len(),
            "user revoked"
        );
        Ok(report)
    }

    fn key_holders(&self, user: &str, nodes: &[NodeSummary]) -> RevokeStatus {
        let mut status = RevokeStatus {
            user: user.to_owned(),
            nodes_with_key: Vec::new(),
            nodes_unknown: Vec::new(),
            nodes_clean: 0,
            polls: 1,
        };
        for n in nodes {
            match &n.proof {
                Some(p) if proof::holds_keys_of(p, user) => {
                    status.nodes_with_key.push(n.name.clone());
                }
                Some(_) => status.nodes_clean += 1,
                None if plan::has_recipe(n, &self.opts.recipe) => {
                    status.nodes_unknown.push(n.name.clone());
                }
                None => {}
            }
        }
        status
    }

    /// Where `user`'s keys still are, by the nodes' `user_setup` reports: one paginated
    /// node search, no write (issue #23).
    pub async fn revoke_status(&self, user: &str) -> Result<RevokeStatus> {
        let nodes = self.scan_nodes_with_proof().await?;
        Ok(self.key_holders(user, &nodes))
    }

    /// Polls [`revoke_status`](Self::revoke_status) until no node holds a key of `user`
    /// and every node with the recipe has reported ([`RevokeStatus::is_done`]), or until
    /// `within` has passed; returns the last status (the caller tells which from
    /// `is_done`). Polls are spaced by a jittered backoff from 5 s to 60 s (never a tight
    /// loop; the last wait is cut to the deadline); `sleep` waits (pass
    /// `tokio::time::sleep`; tests pass a function that converges nodes instead).
    pub async fn wait_revoked<S, F>(
        &self,
        user: &str,
        within: Duration,
        mut sleep: S,
    ) -> Result<RevokeStatus>
    where
        S: FnMut(Duration) -> F,
        F: std::future::Future<Output = ()>,
    {
        let start = tokio::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            let mut status = self.revoke_status(user).await?;
            status.polls = attempt + 1;
            tracing::info!(
                user,
                with_key = status.nodes_with_key.len(),
                unknown = status.nodes_unknown.len(),
                clean = status.nodes_clean,
                poll = status.polls,
                "revoke progress"
            );
            let left = within.saturating_sub(start.elapsed());
            if status.is_done() || left.is_zero() {
                return Ok(status);
            }
            let delay = ops_http_retry::next_delay(&WAIT_BACKOFF, attempt, None)
                .unwrap_or(WAIT_BACKOFF.max_backoff)
                .min(left);
            attempt = attempt.saturating_add(1);
            sleep(delay).await;
        }
    }

    /// Read-only audit, from what the nodes report (issue #23): per node, keys still
    /// installed that should be gone and keys missing (by SHA-256 fingerprint, from the
    /// `user_setup` recipe's proof read by the same paginated partial search), nodes whose
    /// last report predates the last key change, nodes with no report (unknown), nodes
    /// missing the recipe, account keys not in the source, and data bag drift. Reads the
    /// state item, the bag, the account keys and the nodes once each; writes nothing.
    pub async fn audit(&self, source: &KeySource) -> Result<AuditReport> {
        let state = self.state().await?;
        let desired = plan::desired(source, state.as_ref(), &self.opts);
        let digest = plan::digest(&desired, &self.opts);
        let last_key_change = state
            .as_ref()
            .and_then(|s| s.keys_changed_at)
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)));

        let live_items = self
            .bag
            .list_items()
            .await
            .map_err(port_step("list users data bag", "users"))?;
        let mut bag_drift = Vec::new();
        let mut bag_not_in_source = Vec::new();
        for item in &live_items {
            match desired.items.get(&item.id) {
                Some(want) => {
                    if plan::item_change(Some(item), want).is_some() {
                        bag_drift.push(item.id.clone());
                    }
                }
                None => bag_not_in_source.push(item.id.clone()),
            }
        }
        let live_ids: BTreeSet<&str> = live_items.iter().map(|i| i.id.as_str()).collect();
        for id in desired
            .items
            .keys()
            .filter(|id| !live_ids.contains(id.as_str()))
        {
            bag_drift.push(id.clone());
        }

        let mut account_keys_not_in_source = Vec::new();
        if self.opts.sync_account_keys {
            let live_keys = self
                .account
                .list_keys()
                .await
                .map_err(port_step("list account keys", "digitalocean"))?;
            for k in live_keys {
                let known = fingerprint_of(&k.public_key)
                    .is_some_and(|fp| desired.present_fingerprints.contains(&fp));
                if !known {
                    let managed =
                        plan::managed_owner(&k.name, &self.opts.key_name_prefix).is_some();
                    account_keys_not_in_source.push((k, managed));
                }
            }
        }

        let nodes = self.scan_nodes_with_proof().await?;
        let wanted = proof::wanted(&desired.items);
        let mut not_converged = Vec::new();
        let mut missing_recipe = Vec::new();
        let mut no_report = Vec::new();
        let mut keys_still_installed = Vec::new();
        let mut keys_missing = Vec::new();
        for n in &nodes {
            let has_recipe = plan::has_recipe(n, &self.opts.recipe);
            if !has_recipe {
                missing_recipe.push(n.name.clone());
            }
            // A node that reports keys is judged by them even without the recipe now.
            let Some(p) = &n.proof else {
                if has_recipe {
                    no_report.push(n.name.clone());
                }
                continue;
            };
            let reported = p
                .checked_at
                .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)));
            let fresh = last_key_change.is_some_and(|t| reported.is_some_and(|r| r >= t));
            if has_recipe && !fresh {
                not_converged.push(NodeLag {
                    name: n.name.clone(),
                    last_check_in: reported,
                });
            }
            let (gone, missing) = proof::compare(&n.name, p, &wanted, fresh);
            keys_still_installed.extend(gone);
            keys_missing.extend(missing);
        }
        let report = AuditReport {
            last_key_change,
            digest_up_to_date: state.as_ref().is_some_and(|s| s.digest == digest),
            nodes_total: nodes.len(),
            not_converged,
            no_report,
            keys_still_installed,
            keys_missing,
            missing_recipe,
            account_keys_not_in_source,
            bag_drift,
            bag_not_in_source,
        };
        tracing::info!(
            nodes = report.nodes_total,
            not_converged = report.not_converged.len(),
            no_report = report.no_report.len(),
            keys_still_installed = report.keys_still_installed.len(),
            keys_missing = report.keys_missing.len(),
            missing_recipe = report.missing_recipe.len(),
            account_keys_not_in_source = report.account_keys_not_in_source.len(),
            "key-sync audit done"
        );
        Ok(report)
    }
}

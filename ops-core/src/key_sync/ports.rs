//! The three small ports key-sync runs over, and their neutral types.
//!
//! | Port | Real adapter | Requests per call (adapter) |
//! |---|---|---|
//! | [`UsersBag`] | Chef data bag `users` (`users_manage` item format) + one state item | list: `ceil(items / 1000)` searches; get/create/update: 1 |
//! | [`AccountKeys`] | DigitalOcean `/v2/account/keys` | list: `ceil(keys / 200)` pages; create/delete: 1 |
//! | [`NodeInventory`] | Chef partial search on `node` + node update + cookbook listing | search: 1 per page; add to run-list: 2 (GET + PUT); cookbook versions: 1 |
//!
//! Errors are the crate-wide [`PortError`](crate::ports::PortError) (use
//! [`Service::ConfigMgmt`](crate::ports::Service::ConfigMgmt) for Chef and
//! [`Service::Compute`](crate::ports::Service::Compute) for DigitalOcean). "Not there" is an
//! answer, not an error: [`UsersBag::get_item`] and [`UsersBag::get_state`] return `Ok(None)`.

use std::time::SystemTime;

use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize};

use crate::ports::PortResult;

/// One item of the Chef `users` data bag, in the `users_manage` format.
///
/// Only `ssh_keys`, `groups`, `shell` and `action` are managed by key-sync; every other field
/// (`uid`, `comment`, `home`, `password`…) is kept in [`extra`](Self::extra) and written back
/// unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserItem {
    /// The user name (the data bag item id).
    pub id: String,
    /// OpenSSH public keys. `users_manage` accepts a single string or an array; both decode
    /// here. `None` when the field is absent (the recipe then leaves `authorized_keys` alone).
    #[serde(
        default,
        deserialize_with = "string_or_seq_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub ssh_keys: Option<Vec<String>>,
    /// Groups; must contain the group the recipe passes to `users_manage`.
    #[serde(default, deserialize_with = "string_or_seq")]
    pub groups: Vec<String>,
    /// Login shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// The `user` resource action: `"remove"` for removed users, absent for present ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Every other field of the item, kept as is.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl UserItem {
    /// An item with only an id.
    pub fn new(id: impl Into<String>) -> Self {
        UserItem {
            id: id.into(),
            ssh_keys: None,
            groups: Vec::new(),
            shell: None,
            action: None,
            extra: serde_json::Map::new(),
        }
    }

    /// True unless the item says `action: remove`.
    pub fn is_present(&self) -> bool {
        self.action.as_deref() != Some("remove")
    }

    /// Number of keys listed.
    pub fn key_count(&self) -> usize {
        self.ssh_keys.as_ref().map_or(0, Vec::len)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn string_or_seq_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

fn string_or_seq<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(string_or_seq_opt(d)?.unwrap_or_default())
}

/// A user revoked with [`KeySync::revoke`](super::KeySync::revoke) while the source of truth
/// may still list them as present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedUser {
    /// User id.
    pub id: String,
    /// When it was revoked (Unix seconds).
    pub at: u64,
}

/// What key-sync stores server-side after a successful run: the cheap check of a scheduled
/// run reads only this.
///
/// The Chef adapter keeps it as item `state` of a separate data bag (e.g. `ops_key_sync`), so
/// it never shows up in the recipe's search of `users`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// Digest of the desired state last applied completely (`sha256:<hex>`); empty after a
    /// revoke, which forces the next run to be a full one.
    #[serde(default)]
    pub digest: String,
    /// When the users data bag last changed (Unix seconds): nodes whose last check-in is
    /// older have not converged yet.
    #[serde(default)]
    pub keys_changed_at: Option<u64>,
    /// When the last run that wrote this state finished (Unix seconds).
    #[serde(default)]
    pub applied_at: u64,
    /// Users revoked by `revoke` that the source still has to mark removed.
    #[serde(default)]
    pub revoked: Vec<RevokedUser>,
}

/// The Chef `users` data bag, plus the small item holding [`SyncState`].
#[async_trait]
pub trait UsersBag: Send + Sync {
    /// Every item of the bag with its full content.
    ///
    /// Chef adapter: listing `/data/users` returns names only (one GET per item afterwards),
    /// so page through `GET /search/users?q=*:*&start=..&rows=1000` instead:
    /// `ceil(items / 1000)` requests.
    async fn list_items(&self) -> PortResult<Vec<UserItem>>;
    /// One item, or `Ok(None)`.
    async fn get_item(&self, id: &str) -> PortResult<Option<UserItem>>;
    /// Creates an item (`POST /data/users`). Exists already → kind `AlreadyExists`.
    async fn create_item(&self, item: &UserItem) -> PortResult<()>;
    /// Replaces an item (`PUT /data/users/<id>`). Missing → kind `NotFound`.
    async fn update_item(&self, item: &UserItem) -> PortResult<()>;
    /// The stored state, or `Ok(None)` before the first run (state bag or item missing).
    async fn get_state(&self) -> PortResult<Option<SyncState>>;
    /// Stores the state (creating the state bag/item when missing).
    async fn put_state(&self, state: &SyncState) -> PortResult<()>;
}

/// An SSH key of the DigitalOcean account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountKey {
    /// Provider id.
    pub id: u64,
    /// Name; keys managed by key-sync carry the configured prefix.
    pub name: String,
    /// Provider fingerprint (DO: MD5 colon-hex), informative only.
    pub fingerprint: String,
    /// The OpenSSH public key line.
    pub public_key: String,
}

/// A key to add to the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccountKey {
    /// Name (`<prefix><user>:<short fingerprint>`).
    pub name: String,
    /// The OpenSSH public key line.
    pub public_key: String,
}

/// The DigitalOcean account SSH keys (what new droplets boot with).
#[async_trait]
pub trait AccountKeys: Send + Sync {
    /// Every key of the account, all pages (`per_page=200`). DigitalOcean allows about ten
    /// listings a minute: key-sync lists once per run and diffs locally.
    async fn list_keys(&self) -> PortResult<Vec<AccountKey>>;
    /// Adds a key. Must not be retried by the adapter on an ambiguous failure.
    async fn create_key(&self, key: &NewAccountKey) -> PortResult<AccountKey>;
    /// Deletes a key. Already gone → kind `NotFound` (treated as done).
    async fn delete_key(&self, id: u64) -> PortResult<()>;
}

/// What one partial-search row says about a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSummary {
    /// Node name.
    pub name: String,
    /// The node's run-list (`recipe[x]`, `role[y]`).
    pub run_list: Vec<String>,
    /// Recipes expanded at the last converge (automatic attribute `recipes`), so a recipe
    /// pulled in by a role counts as present. Empty when unknown.
    pub recipes: Vec<String>,
    /// Last check-in (`ohai_time`), `None` when the node never converged.
    pub last_check_in: Option<SystemTime>,
    /// What the `user_setup` recipe reported it installed (`node['user_setup']`), `None`
    /// when the node has no such report (never converged with the recipe, or another
    /// recipe).
    #[serde(default)]
    pub proof: Option<NodeProof>,
}

/// The proof the `user_setup` cookbook records on each node at the end of a complete run
/// (`node['user_setup']['installed']` and `['checked_at']`, see
/// `cookbooks/user_setup/README.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeProof {
    /// Per user: the keys read back from the user's `authorized_keys` files.
    pub installed: std::collections::BTreeMap<String, InstalledKeys>,
    /// When the run read the files (Unix seconds), when reported.
    pub checked_at: Option<u64>,
}

/// One user's entry of a [`NodeProof`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledKeys {
    /// SHA-256 fingerprints (`SHA256:` + unpadded base64, as `ssh-keygen -l` prints), sorted.
    pub fingerprints: Vec<String>,
    /// When this entry was read (Unix seconds), when reported.
    pub at: Option<u64>,
    /// `present`, `locked`, `removed`, `refused` or `unmanaged` (empty when not reported).
    pub state: String,
}

/// One page of a node search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodePage {
    /// The rows of this page.
    pub nodes: Vec<NodeSummary>,
    /// Total matches of the query (all pages).
    pub total: u64,
}

/// The Chef nodes.
#[async_trait]
pub trait NodeInventory: Send + Sync {
    /// One page of a partial search: `POST /search/node?q=<query>&start=<start>&rows=<rows>`
    /// with body `{"name":["name"],"run_list":["run_list"],"recipes":["recipes"],
    /// "ohai_time":["ohai_time"]}`. One request.
    async fn search_nodes(&self, query: &str, start: u64, rows: u64) -> PortResult<NodePage>;
    /// [`search_nodes`](Self::search_nodes) that also reads each node's `user_setup` proof
    /// ([`NodeSummary::proof`]; Chef: two more keys in the same partial search, so pages are
    /// larger: about 120 bytes per user a node reports). The default delegates to
    /// `search_nodes` (for inventories whose rows always carry the proof). One request.
    async fn search_nodes_with_proof(
        &self,
        query: &str,
        start: u64,
        rows: u64,
    ) -> PortResult<NodePage> {
        self.search_nodes(query, start, rows).await
    }
    /// The versions of cookbook `name` on the server, or `Ok(None)` when it has no such
    /// cookbook (Chef: `GET /cookbooks/NAME?num_versions=all`, one request).
    async fn cookbook_versions(&self, name: &str) -> PortResult<Option<Vec<String>>>;
    /// Appends `entry` to the node's run-list (Chef: `GET` then `PUT /nodes/<name>`, keeping
    /// every other field). A no-op when the entry is already there.
    async fn add_to_run_list(&self, node: &str, entry: &str) -> PortResult<()>;
}

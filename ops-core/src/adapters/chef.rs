//! Chef Server adapters over [`chef_client`]: [`ChefConfigMgmt`] (the provision port
//! [`ConfigMgmt`]) and, for key-sync, [`ChefUsersBag`] ([`UsersBag`]) and [`ChefNodes`]
//! ([`NodeInventory`]).
//!
//! # Error mapping
//!
//! Every [`chef_client::Error`] becomes a [`PortError`] of service
//! [`Service::ConfigMgmt`], provider `"chef"`, with the client error kept as its source:
//!
//! | Chef client error | [`PortErrorKind`] | ambiguous? |
//! |---|---|---|
//! | 404 | `NotFound` | no |
//! | 409 | `AlreadyExists` | no |
//! | 400, 413, 422 (and other 4xx) | `Rejected` | no |
//! | 401, 403 | `Unauthorized` | no |
//! | 429 | `RateLimited` (with `Retry-After`) | no |
//! | 5xx, HTML/plain-text 5xx | `Unavailable` | on writes |
//! | connect failure | `Unavailable` | no (never sent) |
//! | timeout, dropped connection, body read | `Unavailable` | on writes |
//! | 2xx that did not decode | `Other` | on writes (it was processed) |
//! | encode, signing, invalid request, configuration | `Other` | no (nothing sent) |
//!
//! "Writes" are POST, PUT and DELETE. The client retries only what is safe (connect
//! failures and 429 for every method, 5xx and timeouts for GET/PUT/DELETE), so what
//! reaches the adapter is final; the adapter never retries a POST.
//!
//! # Requests
//!
//! | Call | Requests |
//! |---|---|
//! | [`UsersBag::list_items`] | `GET /data/BAG`, then (when the bag has items) `ceil(items / rows)` searches of the bag's index (+1 on goiardi when the item count is a multiple of `rows`), then one GET per item the index has not caught up with (normally none) |
//! | [`UsersBag::get_item`], [`create_item`](UsersBag::create_item), [`update_item`](UsersBag::update_item), [`get_state`](UsersBag::get_state) | 1 (a create into a missing bag: +2) |
//! | [`UsersBag::put_state`] | 1 (first run: up to 3 more, creating the state bag and item) |
//! | [`NodeInventory::search_nodes`] | 1 partial search |
//! | [`NodeInventory::add_to_run_list`] | GET, and a PUT when the entry is missing |
//! | [`NodeInventory::cookbook_versions`] | 1 (`GET /cookbooks/NAME?num_versions=all`) |

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chef_client::{Client, CreateClient, DataBagSearchRow, Node, PartialRow};
use serde_json::{Map, Value};

use crate::key_sync::{
    InstalledKeys, NodeInventory, NodePage, NodeProof, NodeSummary, SyncState, UserItem, UsersBag,
};
use crate::ports::{
    ClientCredentials, ConfigMgmt, NewNode, NodeInfo, PortError, PortErrorKind, PortResult,
    ProviderError, Service,
};

const PROVIDER: &str = "chef";

/// Whether the failed call was a write (POST, PUT, DELETE): decides ambiguity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Write,
}

impl ProviderError for chef_client::Error {
    fn http_status(&self) -> Option<u16> {
        self.status().map(|s| s.as_u16())
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        chef_client::Error::retry_after(self)
    }
    fn maybe_sent(&self) -> bool {
        use chef_client::Error as E;
        match self {
            E::Transport(t) => !t.is_connect(),
            // The server answered (and may have acted); the answer was not read to the end.
            E::Decode { .. } | E::ResponseTooLarge { .. } => true,
            _ => self.status().is_some_and(|s| s.is_server_error()),
        }
    }
    fn kind_hint(&self) -> Option<PortErrorKind> {
        use chef_client::Error as E;
        match self {
            E::Transport(_) => Some(PortErrorKind::Unavailable),
            E::Api { .. } | E::UnexpectedStatus { .. } => None,
            // Decode, too large, too many pages, and client-side refusals before sending.
            _ => Some(PortErrorKind::Other),
        }
    }
}

/// Maps a Chef client error (see [`PortError::from_provider`]). `what` names the call and its
/// target, e.g. "create client `web1`"; it must not contain secrets.
fn port_error(what: &str, op: Op, e: chef_client::Error) -> PortError {
    PortError::from_provider(Service::ConfigMgmt, PROVIDER, what, op == Op::Write, e)
}

fn other(what: impl Into<String>) -> PortError {
    PortError::new(Service::ConfigMgmt, PROVIDER, PortErrorKind::Other, what)
}

// ---------------------------------------------------------------------------------------------
// ConfigMgmt
// ---------------------------------------------------------------------------------------------

/// [`ConfigMgmt`] over a Chef server, registering nodes the validatorless way.
///
/// The admin client creates API clients (`POST /clients`, server-generated key); the node is
/// then created **signed as the new client**, as validatorless `knife bootstrap` does, so the
/// node's ACLs belong to the client that will run on it.
#[derive(Debug, Clone)]
pub struct ChefConfigMgmt {
    admin: Client,
}

impl ChefConfigMgmt {
    /// An adapter acting as `admin` (a client or user allowed to create clients and nodes).
    pub fn new(admin: Client) -> Self {
        ChefConfigMgmt { admin }
    }

    /// The admin client.
    pub fn client(&self) -> &Client {
        &self.admin
    }

    fn owner_client(&self, owner: &ClientCredentials) -> PortResult<Client> {
        Client::builder(self.admin.base_url().as_str(), owner.name.clone())
            .key_pem(owner.private_key.clone())
            .protocol_version(self.admin.protocol_version())
            .build()
            .map_err(|e| port_error(&format!("sign as client `{}`", owner.name), Op::Read, e))
    }
}

#[async_trait]
impl ConfigMgmt for ChefConfigMgmt {
    async fn get_node(&self, name: &str) -> PortResult<Option<NodeInfo>> {
        match self.admin.nodes().get(name).await {
            Ok(n) => Ok(Some(NodeInfo {
                name: n.name,
                environment: n.chef_environment,
                run_list: n.run_list,
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(port_error(&format!("get node `{name}`"), Op::Read, e)),
        }
    }

    async fn client_exists(&self, name: &str) -> PortResult<bool> {
        match self.admin.clients().get(name).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(port_error(&format!("get client `{name}`"), Op::Read, e)),
        }
    }

    async fn list_nodes(&self) -> PortResult<Vec<String>> {
        self.admin
            .nodes()
            .list()
            .await
            .map_err(|e| port_error("list nodes", Op::Read, e))
    }

    async fn create_client(&self, name: &str) -> PortResult<ClientCredentials> {
        let what = format!("create client `{name}`");
        let created = self
            .admin
            .clients()
            .create(&CreateClient::new(name))
            .await
            .map_err(|e| port_error(&what, Op::Write, e))?;
        match created.private_key {
            Some(private_key) => Ok(ClientCredentials {
                name: name.to_owned(),
                private_key,
            }),
            // The client exists now, but nobody can use it: the caller must undo it.
            None => Err(other(format!("{what}: the server returned no private key")).ambiguous()),
        }
    }

    async fn create_node(&self, node: &NewNode, owner: &ClientCredentials) -> PortResult<()> {
        let normal = match &node.normal {
            Value::Object(m) => m.clone(),
            Value::Null => Map::new(),
            _ => {
                return Err(PortError::new(
                    Service::ConfigMgmt,
                    PROVIDER,
                    PortErrorKind::Rejected,
                    format!(
                        "create node `{}`: normal attributes must be a JSON object",
                        node.name
                    ),
                ));
            }
        };
        let mut chef_node = Node::new(node.name.clone());
        chef_node.chef_environment = node.environment.clone();
        for entry in &node.run_list {
            chef_node.add_to_run_list(entry);
        }
        chef_node.normal = normal;
        self.owner_client(owner)?
            .nodes()
            .create(&chef_node)
            .await
            .map_err(|e| port_error(&format!("create node `{}`", node.name), Op::Write, e))
    }

    async fn delete_node(&self, name: &str) -> PortResult<()> {
        self.admin
            .nodes()
            .delete(name)
            .await
            .map_err(|e| port_error(&format!("delete node `{name}`"), Op::Write, e))
    }

    async fn delete_client(&self, name: &str) -> PortResult<()> {
        self.admin
            .clients()
            .delete(name)
            .await
            .map_err(|e| port_error(&format!("delete client `{name}`"), Op::Write, e))
    }
}

// ---------------------------------------------------------------------------------------------
// UsersBag
// ---------------------------------------------------------------------------------------------

/// [`UsersBag`] over a Chef data bag in the `users_manage` item format, plus one item holding
/// the key-sync [`SyncState`] in a separate bag (so the recipe's search of the users bag
/// never sees it).
///
/// Items are listed with `GET /data/users` (names only, read from the datastore, so always
/// current) and a paginated search of the bag's index (`GET /search/users?q=*:*`, `rows` per
/// page, default 1000) for their bodies, instead of one GET per item. Search is eventually
/// consistent on every Chef server (Chef Infra Server indexes through a queue; goiardi in a
/// goroutine per saved object, a few hundred milliseconds behind under load), so the listing
/// decides: an item the index does not know yet is fetched with its own GET, and one the index
/// still holds after its deletion is dropped. A run right after another therefore sees that
/// run's writes and does not repeat them. The digest check and the state item are plain GETs.
#[derive(Debug, Clone)]
pub struct ChefUsersBag {
    client: Client,
    bag: String,
    state_bag: String,
    state_item: String,
    rows: u32,
}

/// Fields Chef servers add to data bag items in some answers; never written back.
const SERVER_FIELDS: [&str; 3] = ["chef_type", "data_bag", "json_class"];

fn user_item(mut raw: Value) -> PortResult<UserItem> {
    if let Value::Object(m) = &mut raw {
        // `users_manage` items are plain JSON; a wrapped item (`raw_data`) is unwrapped.
        if let Some(Value::Object(inner)) = m.remove("raw_data") {
            *m = inner;
        }
        for f in SERVER_FIELDS {
            m.remove(f);
        }
    }
    serde_json::from_value(raw).map_err(|e| other("decode users data bag item").with_source(e))
}

impl ChefUsersBag {
    /// The `users` bag, with the state in item `state` of bag `ops_key_sync`.
    pub fn new(client: Client) -> Self {
        ChefUsersBag {
            client,
            bag: "users".to_owned(),
            state_bag: "ops_key_sync".to_owned(),
            state_item: "state".to_owned(),
            rows: 1000,
        }
    }

    /// Another users bag (what the recipe passes to `users_manage` as `data_bag`).
    #[must_use]
    pub fn bag(mut self, bag: impl Into<String>) -> Self {
        self.bag = bag.into();
        self
    }

    /// Where the [`SyncState`] lives (bag and item id).
    #[must_use]
    pub fn state_item(mut self, bag: impl Into<String>, item: impl Into<String>) -> Self {
        self.state_bag = bag.into();
        self.state_item = item.into();
        self
    }

    /// Rows per search page (default 1000, Chef's own maximum page).
    #[must_use]
    pub fn rows(mut self, rows: u32) -> Self {
        self.rows = rows.max(1);
        self
    }

    /// Creates a data bag, treating "already exists" as done.
    async fn ensure_bag(&self, bag: &str) -> PortResult<()> {
        match self.client.data_bags().create(bag).await {
            Err(e) if !e.is_conflict() => Err(port_error(
                &format!("create data bag `{bag}`"),
                Op::Write,
                e,
            )),
            _ => Ok(()),
        }
    }

    /// `POST /data/BAG`, creating the bag when it does not exist yet.
    async fn create_in(&self, bag: &str, item: &Value, what: &str) -> PortResult<()> {
        match self.client.data_bags().create_item(bag, item).await {
            Err(e) if e.is_not_found() => {
                tracing::info!(bag, "data bag missing: creating it");
                self.ensure_bag(bag).await?;
                self.client
                    .data_bags()
                    .create_item(bag, item)
                    .await
                    .map_err(|e| port_error(what, Op::Write, e))
            }
            r => r.map_err(|e| port_error(what, Op::Write, e)),
        }
    }
}

/// The key-sync state item as stored (its `id` and the server's fields dropped).
fn state_item(mut v: Value) -> PortResult<SyncState> {
    if let Value::Object(m) = &mut v {
        m.remove("id");
        for f in SERVER_FIELDS {
            m.remove(f);
        }
    }
    serde_json::from_value(v).map_err(|e| other("decode key-sync state item").with_source(e))
}

fn item_json(item: &UserItem) -> PortResult<Value> {
    serde_json::to_value(item).map_err(|e| other("encode users data bag item").with_source(e))
}

#[async_trait]
impl UsersBag for ChefUsersBag {
    async fn list_items(&self) -> PortResult<Vec<UserItem>> {
        // The bag's own listing comes from the datastore, not the search index: it says which
        // items exist right now. Search only brings their bodies in pages.
        let names = match self.client.data_bags().items(&self.bag).await {
            Ok(names) => names,
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => {
                return Err(port_error(
                    &format!("list data bag `{}`", self.bag),
                    Op::Read,
                    e,
                ));
            }
        };
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<DataBagSearchRow> = match self
            .client
            .search()
            .query(self.bag.as_str(), "*:*")
            .rows(self.rows)
            .collect_all()
            .await
        {
            Ok(rows) => rows,
            // No index yet (a bag created a moment ago): every item is fetched below.
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => {
                return Err(port_error(
                    &format!("search data bag `{}`", self.bag),
                    Op::Read,
                    e,
                ));
            }
        };
        let exists: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        // Overlapping pages must not duplicate an item; an item the index still holds after
        // its deletion is dropped.
        let mut items = BTreeMap::new();
        for row in rows {
            let item = user_item(row.raw_data)?;
            if exists.contains(item.id.as_str()) {
                items.insert(item.id.clone(), item);
            }
        }
        // Items the index has not caught up with yet (written moments ago): one GET each.
        let behind: Vec<&str> = exists
            .iter()
            .copied()
            .filter(|id| !items.contains_key(*id))
            .collect();
        if !behind.is_empty() {
            tracing::info!(
                bag = %self.bag,
                items = behind.len(),
                "search index behind the data bag: fetching those items one by one"
            );
        }
        for id in behind {
            // Gone since the listing: it no longer exists, so it is not listed.
            if let Some(item) = self.get_item(id).await? {
                items.insert(item.id.clone(), item);
            }
        }
        Ok(items.into_values().collect())
    }

    async fn get_item(&self, id: &str) -> PortResult<Option<UserItem>> {
        match self
            .client
            .data_bags()
            .get_item::<Value>(&self.bag, id)
            .await
        {
            Ok(v) => user_item(v).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(port_error(
                &format!("get data bag item `{}/{id}`", self.bag),
                Op::Read,
                e,
            )),
        }
    }

    async fn create_item(&self, item: &UserItem) -> PortResult<()> {
        let what = format!("create data bag item `{}/{}`", self.bag, item.id);
        self.create_in(&self.bag, &item_json(item)?, &what).await
    }

    async fn update_item(&self, item: &UserItem) -> PortResult<()> {
        self.client
            .data_bags()
            .update_item(&self.bag, &item_json(item)?)
            .await
            .map_err(|e| {
                port_error(
                    &format!("update data bag item `{}/{}`", self.bag, item.id),
                    Op::Write,
                    e,
                )
            })
    }

    async fn get_state(&self) -> PortResult<Option<SyncState>> {
        match self
            .client
            .data_bags()
            .get_item::<Value>(&self.state_bag, &self.state_item)
            .await
        {
            Ok(v) => state_item(v).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(port_error("read key-sync state item", Op::Read, e)),
        }
    }

    async fn put_state(&self, state: &SyncState) -> PortResult<()> {
        let mut v = serde_json::to_value(state)
            .map_err(|e| other("encode key-sync state item").with_source(e))?;
        if let Value::Object(m) = &mut v {
            m.insert("id".to_owned(), Value::String(self.state_item.clone()));
        }
        let what = "write key-sync state item";
        match self
            .client
            .data_bags()
            .update_item(&self.state_bag, &v)
            .await
        {
            Err(e) if e.is_not_found() => self.create_in(&self.state_bag, &v, what).await,
            r => r.map_err(|e| port_error(what, Op::Write, e)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// NodeInventory
// ---------------------------------------------------------------------------------------------

/// [`NodeInventory`] over Chef partial search and node updates.
///
/// Each page is one `POST /search/node` asking only for the name, run-list, expanded recipes,
/// last check-in (`ohai_time`) and, with [`NodeInventory::search_nodes_with_proof`] (the
/// audit and the revoke), the `user_setup` recipe's proof (`node['user_setup']`,
/// [`NodeProof`]; top level and under `normal`, for the same reason; about 120 bytes per
/// user a node reports, so lower the page rows when nodes serve hundreds of users). Those two automatic attributes are requested both at the
/// top level (Chef Infra Server resolves paths in the merged attributes) and under
/// `automatic` (goiardi resolves them in the raw node), and the first non-null one is used.
///
/// Pages are only consistent when the server returns the matches in a stable order, so each
/// request carries a sort ([`DEFAULT_NODE_SORT`], what `knife search` sends, unless changed
/// with [`sort`](Self::sort)).
///
/// Node search is eventually consistent (see [`ChefUsersBag`]): a node registered moments
/// before a run may be missing from it, and is checked by the next run. Node *data* is read
/// from the datastore by both servers, so a listed node's run-list and check-in are current.
///
/// goiardi needs two allowances, both found against goiardi 0.11:
/// - it sorts a partial search by a key of the *returned row* (`{url, data}`), so any sort but
///   `url asc` leaves the rows in random order and pages overlap: use
///   `.sort("url asc")` with goiardi (Chef Infra Server's index has no `url` field);
/// - it reports a page's row count as its `total`: when a page comes back full and its
///   `total` does not reach past it, [`NodePage::total`] is raised to one more than the rows
///   seen, so the caller fetches the next page (which comes back empty at the end: one extra
///   request when the node count is a multiple of `rows`).
#[derive(Debug, Clone)]
pub struct ChefNodes {
    client: Client,
    sort: Option<String>,
}

/// The sort [`ChefNodes`] sends by default: the object id, ascending.
pub const DEFAULT_NODE_SORT: &str = "X_CHEF_id_CHEF_X asc";

impl ChefNodes {
    /// The node inventory of the server `client` talks to.
    pub fn new(client: Client) -> Self {
        ChefNodes {
            client,
            sort: Some(DEFAULT_NODE_SORT.to_owned()),
        }
    }

    /// The search sort order (`"url asc"` for goiardi).
    #[must_use]
    pub fn sort(mut self, sort: impl Into<String>) -> Self {
        self.sort = Some(sort.into());
        self
    }

    /// Sends no sort: the server's default order.
    #[must_use]
    pub fn no_sort(mut self) -> Self {
        self.sort = None;
        self
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn first_non_null<'a>(row: &'a PartialRow, keys: &[&str]) -> Option<&'a Value> {
    keys.iter()
        .filter_map(|k| row.data.get(*k))
        .find(|v| !v.is_null())
}

/// How far ahead of this clock a node's `ohai_time` may be and still count (node clocks are
/// skewed; a day more is a broken clock or a forged value).
const CHECK_IN_SKEW: Duration = Duration::from_secs(24 * 3600);

/// A node's `ohai_time` as a check-in time, or `None` ("unknown": the audit lists the node as
/// not converged). Any node writes its own `ohai_time`: NaN, negative, 1e20… and times more
/// than [`CHECK_IN_SKEW`] after `now` (which would make the node look converged after every
/// future key change) are unknown, never a panic.
fn check_in(v: Option<&Value>, now: SystemTime) -> Option<SystemTime> {
    let secs = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    let d = Duration::try_from_secs_f64(secs).ok()?;
    let at = UNIX_EPOCH.checked_add(d)?;
    let latest = now.checked_add(CHECK_IN_SKEW)?;
    (at <= latest).then_some(at)
}

/// A Unix time in whole seconds: a non-negative integer (or a float or numeric string,
/// truncated); anything else is unknown.
fn unix_secs(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e15)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

/// The `user_setup` recipe's proof from `node['user_setup']` (merged attributes on Chef
/// Infra Server, the `normal` level on goiardi). Whatever a node wrote: entries that are not
/// objects are skipped, fingerprints must look like `SHA256:…`; `None` when there is no
/// `installed` map at all.
fn node_proof(v: Option<&Value>) -> Option<NodeProof> {
    let obj = v?.as_object()?;
    let installed = obj.get("installed")?.as_object()?;
    let mut out = NodeProof {
        checked_at: unix_secs(obj.get("checked_at")),
        ..NodeProof::default()
    };
    for (user, entry) in installed {
        let Some(entry) = entry.as_object() else {
            continue;
        };
        let mut fingerprints: Vec<String> = strings(entry.get("fingerprints"))
            .into_iter()
            .filter(|f| f.starts_with("SHA256:") && f.len() <= 64)
            .collect();
        fingerprints.sort();
        fingerprints.dedup();
        out.installed.insert(
            user.clone(),
            InstalledKeys {
                fingerprints,
                at: unix_secs(entry.get("at")),
                state: entry
                    .get("state")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            },
        );
    }
    Some(out)
}

fn node_summary(row: &PartialRow, now: SystemTime) -> Option<NodeSummary> {
    let name = row.data.get("name")?.as_str()?.to_owned();
    Some(NodeSummary {
        name,
        run_list: strings(row.data.get("run_list")),
        recipes: strings(first_non_null(row, &["recipes", "automatic_recipes"])),
        last_check_in: check_in(
            first_non_null(row, &["ohai_time", "automatic_ohai_time"]),
            now,
        ),
        proof: node_proof(first_non_null(row, &["user_setup", "normal_user_setup"])),
    })
}

impl ChefNodes {
    async fn search(
        &self,
        query: &str,
        start: u64,
        rows: u64,
        proof: bool,
    ) -> PortResult<NodePage> {
        let rows32 = u32::try_from(rows.max(1)).unwrap_or(u32::MAX);
        let mut keys = vec![
            ("name", vec!["name"]),
            ("run_list", vec!["run_list"]),
            ("recipes", vec!["recipes"]),
            ("automatic_recipes", vec!["automatic", "recipes"]),
            ("ohai_time", vec!["ohai_time"]),
            ("automatic_ohai_time", vec!["automatic", "ohai_time"]),
        ];
        if proof {
            // Issue #23: the proof the user_setup recipe records (normal level).
            keys.push(("user_setup", vec!["user_setup"]));
            keys.push(("normal_user_setup", vec!["normal", "user_setup"]));
        }
        let mut pager = self
            .client
            .search()
            .partial("node", query, keys)
            .start(start)
            .rows(rows32);
        if let Some(sort) = &self.sort {
            pager = pager.sort(sort.clone());
        }
        let what = || format!("search nodes `{query}` from row {start}");
        let page = match pager.next_page().await {
            None => Vec::new(),
            Some(r) => r.map_err(|e| port_error(&what(), Op::Read, e))?,
        };
        let reported = pager.total().unwrap_or(0);
        let n = page.len() as u64;
        let total = if n >= u64::from(rows32) && reported <= start + n {
            start + n + 1
        } else {
            reported.max(start + n)
        };
        let mut nodes = Vec::with_capacity(page.len());
        let now = SystemTime::now();
        for row in &page {
            match node_summary(row, now) {
                Some(s) => nodes.push(s),
                None => tracing::warn!(url = ?row.url, "partial search row without a node name"),
            }
        }
        Ok(NodePage { nodes, total })
    }
}

#[async_trait]
impl NodeInventory for ChefNodes {
    async fn search_nodes(&self, query: &str, start: u64, rows: u64) -> PortResult<NodePage> {
        self.search(query, start, rows, false).await
    }

    /// The reports make pages large (about 120 bytes per user a node reports): a page the
    /// client refuses as larger than its response limit is read again in halves, down to
    /// single nodes, so an audit of a big fleet never fails on its page size. Reads only:
    /// safe to repeat.
    async fn search_nodes_with_proof(
        &self,
        query: &str,
        start: u64,
        rows: u64,
    ) -> PortResult<NodePage> {
        let end = start.saturating_add(rows.max(1));
        let mut size = rows.max(1);
        let mut at = start;
        let mut nodes = Vec::new();
        loop {
            match self.search(query, at, size.min(end - at), true).await {
                Ok(page) => {
                    let n = page.nodes.len() as u64;
                    nodes.extend(page.nodes);
                    at += n;
                    if n == 0 || at >= end || at >= page.total {
                        return Ok(NodePage {
                            nodes,
                            total: page.total,
                        });
                    }
                }
                Err(e) if size > 1 && too_large(&e) => {
                    size /= 2;
                    tracing::debug!(
                        rows = size,
                        "node page over the response limit: smaller pages"
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn cookbook_versions(&self, name: &str) -> PortResult<Option<Vec<String>>> {
        match self
            .client
            .cookbooks()
            .get(name, chef_client::NumVersions::All)
            .await
        {
            Ok(cb) => Ok(Some(cb.versions.into_iter().map(|v| v.version).collect())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(port_error(
                &format!("list versions of cookbook `{name}`"),
                Op::Read,
                e,
            )),
        }
    }

    async fn add_to_run_list(&self, node: &str, entry: &str) -> PortResult<()> {
        self.client
            .nodes()
            .add_to_run_list(node, &[entry])
            .await
            .map(|_| ())
            .map_err(|e| port_error(&format!("add `{entry}` to node `{node}`"), Op::Write, e))
    }
}

/// Whether a port error comes from an answer over the Chef client's response limit.
fn too_large(e: &PortError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if matches!(
            s.downcast_ref::<chef_client::Error>(),
            Some(chef_client::Error::ResponseTooLarge { .. })
        ) {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Strategy as _;
    use serde_json::json;

    /// The auditor's clock in these tests.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_611_171)
    }

    /// Issue #16: a node whose `ohai_time` lies in the future (a broken clock, a forged
    /// value) looked converged after every key change until then; it is "unknown" now, so
    /// the audit lists it as not converged. A little skew is still a check-in.
    #[test]
    fn a_check_in_time_far_in_the_future_is_unknown_not_converged() {
        let at = |secs: f64| check_in(Some(&json!(secs)), now());
        assert_eq!(
            at(1_795_611_171.0 + 3600.0),
            Some(now() + Duration::from_secs(3600))
        );
        assert_eq!(at(1_795_611_171.0 + 2.0 * 86_400.0), None);
        assert_eq!(at(253_402_300_799.0), None);
        assert_eq!(at(1e11), None);
    }

    /// Issue #16: `ohai_time` is whatever a node wrote; 1e19 and 1e20 used to panic.
    #[test]
    fn any_check_in_time_is_a_time_or_unknown_never_a_panic() {
        for v in [
            json!(1e19),
            json!(1e20),
            json!(-1.0),
            json!(f64::MAX),
            json!("1e20"),
            json!("NaN"),
            json!("inf"),
            json!("-0"),
        ] {
            let t = check_in(Some(&v), now());
            assert!(
                t.is_none_or(|t| t.duration_since(UNIX_EPOCH).is_ok()),
                "{v}"
            );
        }
        assert_eq!(
            check_in(Some(&json!(1_700_000_000.5)), now()),
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_500))
        );
    }

    /// Partial-search pages of nodes, as goiardi and Chef Infra Server answer them.
    fn node_pages() -> Vec<Value> {
        vec![
            json!({"total": 2, "start": 0, "rows": [
                {"url": "https://chef/organizations/acme/nodes/web1",
                 "data": {"name": "web1", "run_list": ["role[base]", "recipe[users::sysadmins]"],
                          "recipes": ["users::sysadmins", "base"], "ohai_time": 1795611000.125,
                          "automatic_recipes": null, "automatic_ohai_time": null}},
                {"url": "https://chef/organizations/acme/nodes/db1",
                 "data": {"name": "db1", "run_list": [], "recipes": null,
                          "automatic_recipes": ["users::sysadmins"], "ohai_time": null,
                          "automatic_ohai_time": "1795600000"}}
            ]}),
            json!({"total": 0, "start": 0, "rows": []}),
        ]
    }

    /// Data bag search rows of the `users` bag (wrapped items) and a plain item.
    fn user_rows() -> Vec<Value> {
        vec![
            json!({"name": "data_bag_item_users_alice", "data_bag": "users", "json_class": "Chef::DataBagItem",
                   "chef_type": "data_bag_item",
                   "raw_data": {"id": "alice", "ssh_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE alice@laptop"],
                                "groups": ["sysadmin", "ops"], "shell": "/bin/bash", "uid": 2001,
                                "comment": "Alice"}}),
            json!({"id": "bob", "ssh_keys": "ssh-rsa AAAAB3NzaC1yc2E bob", "groups": "sysadmin",
                   "action": "remove"}),
        ]
    }

    fn state_items() -> Vec<Value> {
        vec![
            json!({"id": "state", "chef_type": "data_bag_item", "data_bag": "ops_key_sync",
                    "digest": "sha256:00ff", "keys_changed_at": 1795611171u64,
                    "applied_at": 1795611172u64,
                    "revoked": [{"id": "carol", "at": 1795611100u64}]}),
        ]
    }

    proptest::proptest! {
        #![proptest_config(ops_proptest::config())]

        /// Issue #15: partial-search rows from any server (mutated, or made of the field
        /// names) give a node summary or none; a check-in is never a time after now + skew.
        #[test]
        fn proptest_node_rows_summarise_or_are_skipped(body in proptest::prop_oneof![
            ops_proptest::json_mutated_bytes(node_pages()),
            ops_proptest::bytes_mutated(
                node_pages().iter().map(|v| serde_json::to_vec(v).unwrap()).collect()
            ),
            ops_proptest::json_arbitrary(&["rows", "total", "start", "url", "data", "name",
                "run_list", "recipes", "automatic_recipes", "ohai_time", "automatic_ohai_time",
                "user_setup", "normal_user_setup", "installed", "fingerprints", "checked_at", "at"])
                .prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ]) {
            let Ok(page) = serde_json::from_slice::<chef_client::SearchPage<PartialRow>>(&body)
            else {
                return Ok(());
            };
            for row in &page.rows {
                if let Some(s) = node_summary(row, now()) {
                    proptest::prop_assert!(
                        s.last_check_in.is_none_or(|t| t <= now() + CHECK_IN_SKEW)
                    );
                }
            }
        }

        /// Issue #15: users bag items and the key-sync state item from any server decode to
        /// a typed value or a typed error; a decoded item writes back as JSON.
        #[test]
        fn proptest_user_items_and_state_decode_or_fail_typed(
            row in ops_proptest::json_mutated(user_rows()),
            state in ops_proptest::json_mutated(state_items()),
            arbitrary in ops_proptest::json_arbitrary(&["id", "ssh_keys", "groups", "shell",
                "action", "raw_data", "digest", "keys_changed_at", "applied_at", "revoked"]),
        ) {
            for v in [row, arbitrary.clone()] {
                let raw = v.get("raw_data").cloned().unwrap_or(v);
                match user_item(raw) {
                    Ok(item) => {
                        let _ = item.is_present();
                        item_json(&item).unwrap();
                    }
                    Err(e) => {
                        let _ = e.to_string();
                    }
                }
            }
            for v in [state, arbitrary] {
                if let Ok(s) = state_item(v) {
                    let _ = s.keys_changed_at
                        .and_then(|k| UNIX_EPOCH.checked_add(Duration::from_secs(k)));
                    serde_json::to_value(&s).unwrap();
                }
            }
        }
    }

    #[test]
    fn items_are_unwrapped_and_server_fields_dropped() {
        let item = user_item(json!({
            "name": "data_bag_item_users_alice",
            "raw_data": {"id": "alice", "ssh_keys": "ssh-ed25519 AAAA a", "groups": ["ops"],
                         "chef_type": "data_bag_item", "data_bag": "users", "uid": 1001}
        }))
        .unwrap();
        assert_eq!(item.id, "alice");
        assert_eq!(
            item.ssh_keys.as_deref(),
            Some(&["ssh-ed25519 AAAA a".to_owned()][..])
        );
        assert_eq!(item.extra.keys().collect::<Vec<_>>(), ["uid"]);
        assert!(user_item(json!({"groups": []})).is_err());
    }

    /// Issue #23: the `user_setup` proof, as the recipe writes it, and whatever else a node
    /// may have written there.
    #[test]
    fn node_rows_carry_the_user_setup_proof() {
        let row: PartialRow = serde_json::from_value(json!({
            "data": {"name": "web1", "run_list": ["recipe[user_setup]"], "user_setup": null,
                     "normal_user_setup": {
                         "installed": {
                             "alice": {"fingerprints": ["SHA256:b", "SHA256:a", "SHA256:a", "md5:x", 7],
                                       "at": 1717000000, "state": "present"},
                             "carol": {"fingerprints": [], "at": "1717000000", "state": "locked"},
                             "junk": "not an object"
                         },
                         "checked_at": 1717000000.5}}
        }))
        .unwrap();
        let p = node_summary(&row, now()).unwrap().proof.unwrap();
        assert_eq!(p.checked_at, Some(1_717_000_000));
        assert_eq!(p.installed.len(), 2);
        assert_eq!(p.installed["alice"].fingerprints, ["SHA256:a", "SHA256:b"]);
        assert_eq!(p.installed["carol"].state, "locked");
        assert_eq!(p.installed["carol"].at, Some(1_717_000_000));
        for v in [json!(null), json!({}), json!({"installed": []}), json!("x")] {
            let row: PartialRow =
                serde_json::from_value(json!({"data": {"name": "n", "user_setup": v}})).unwrap();
            assert_eq!(node_summary(&row, now()).unwrap().proof, None, "{v}");
        }
    }

    #[test]
    fn node_rows_prefer_top_level_paths_and_parse_ohai_time() {
        let row: PartialRow = serde_json::from_value(json!({
            "url": "http://x/nodes/web1",
            "data": {"name": "web1", "run_list": ["recipe[user_setup]"], "recipes": null,
                     "automatic_recipes": ["user_setup", "base"], "ohai_time": null,
                     "automatic_ohai_time": 1750000000.25}
        }))
        .unwrap();
        let s = node_summary(&row, now()).unwrap();
        assert_eq!(s.recipes, ["user_setup", "base"]);
        assert_eq!(
            s.last_check_in,
            Some(UNIX_EPOCH + Duration::from_millis(1_750_000_000_250))
        );
        let row: PartialRow =
            serde_json::from_value(json!({"data": {"name": "db1", "run_list": null}})).unwrap();
        let s = node_summary(&row, now()).unwrap();
        assert!(s.run_list.is_empty() && s.recipes.is_empty() && s.last_check_in.is_none());
        let row: PartialRow = serde_json::from_value(json!({"data": {"run_list": []}})).unwrap();
        assert!(node_summary(&row, now()).is_none());
        assert_eq!(
            check_in(Some(&json!("12.5")), now()),
            Some(UNIX_EPOCH + Duration::from_millis(12_500))
        );
        assert_eq!(check_in(Some(&json!(-1)), now()), None);
    }

    #[test]
    fn error_mapping() {
        let e = port_error(
            "create client `web1`",
            Op::Write,
            chef_client::Error::UnexpectedStatus {
                status: reqwest_status(503),
                body_snippet: "<html>".into(),
                retry_after: None,
            },
        );
        assert_eq!(e.kind(), PortErrorKind::Unavailable);
        assert!(e.is_ambiguous());
        assert_eq!(e.service(), Service::ConfigMgmt);
        assert_eq!(e.message(), "create client `web1`");
        // The source says what went wrong, once (issue #18: messages never repeat it).
        let chain = chain_of(&e);
        assert_eq!(chain.matches("503").count(), 1, "{chain}");
        let e = port_error(
            "get node `x`",
            Op::Read,
            chef_client::Error::UnexpectedStatus {
                status: reqwest_status(503),
                body_snippet: String::new(),
                retry_after: None,
            },
        );
        assert!(!e.is_ambiguous());
        for (status, kind) in [
            (404, PortErrorKind::NotFound),
            (409, PortErrorKind::AlreadyExists),
            (400, PortErrorKind::Rejected),
            (413, PortErrorKind::Rejected),
            (401, PortErrorKind::Unauthorized),
            (403, PortErrorKind::Unauthorized),
            (429, PortErrorKind::RateLimited),
        ] {
            let e = port_error(
                "w",
                Op::Write,
                chef_client::Error::UnexpectedStatus {
                    status: reqwest_status(status),
                    body_snippet: String::new(),
                    retry_after: Some(Duration::from_secs(2)),
                },
            );
            assert_eq!(e.kind(), kind, "{status}");
            assert!(!e.is_ambiguous(), "{status}");
            assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        }
        let e = port_error(
            "w",
            Op::Write,
            chef_client::Error::InvalidRequest("empty name".into()),
        );
        assert_eq!(e.kind(), PortErrorKind::Other);
        assert!(!e.is_ambiguous());
        let e = port_error(
            "w",
            Op::Write,
            chef_client::Error::Decode {
                what: "client creation",
                source: serde_json::from_str::<Value>("{").unwrap_err(),
            },
        );
        assert!(e.is_ambiguous());
        assert!(std::error::Error::source(&e).is_some());
        // The server answered a write with more than the client reads: it may have acted.
        let too_large = || chef_client::Error::ResponseTooLarge {
            limit: 1024,
            content_length: None,
        };
        let e = port_error("w", Op::Write, too_large());
        assert!(e.is_ambiguous());
        assert!(chain_of(&e).contains("1024"), "{}", chain_of(&e));
        assert!(!port_error("r", Op::Read, too_large()).is_ambiguous());
        let e = port_error(
            "search",
            Op::Read,
            chef_client::Error::TooManyPages {
                what: "search",
                limit: 5,
            },
        );
        assert!(!e.is_ambiguous());
        assert!(chain_of(&e).contains('5'), "{}", chain_of(&e));
    }

    fn chain_of(e: &PortError) -> String {
        let mut chain = e.to_string();
        let mut cur = std::error::Error::source(e);
        while let Some(c) = cur {
            chain.push_str(": ");
            chain.push_str(&c.to_string());
            cur = c.source();
        }
        chain
    }

    fn reqwest_status(s: u16) -> reqwest::StatusCode {
        reqwest::StatusCode::from_u16(s).unwrap()
    }
}

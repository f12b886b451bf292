//! Recording in-memory fakes of the key-sync ports, deterministic test keys and fixtures.
//! Shared by the key-sync tests and the key-sync benchmark.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use ops_core::key_sync::{
    AccountKey, AccountKeys, NewAccountKey, NodeInventory, NodePage, NodeSummary, SyncState,
    UserItem, UserSpec, UserState, UsersBag,
};
use ops_core::ports::{PortError, PortErrorKind, PortResult, Service};
use sha2::{Digest, Sha256};
use ssh_key::public::{DsaPublicKey, Ed25519PublicKey, KeyData, RsaPublicKey};
use ssh_key::{Mpint, PublicKey};

/// One recorded port call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub port: &'static str,
    pub method: &'static str,
    pub write: bool,
    /// HTTP requests the real adapter would make for it.
    pub http: usize,
}

/// The call log shared by the three fakes.
#[derive(Debug, Clone, Default)]
pub struct Log(Arc<Mutex<Vec<Call>>>);

impl Log {
    fn push(&self, port: &'static str, method: &'static str, write: bool, http: usize) {
        self.0.lock().unwrap().push(Call {
            port,
            method,
            write,
            http,
        });
    }
    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub fn writes(&self) -> usize {
        self.0.lock().unwrap().iter().filter(|c| c.write).count()
    }
    pub fn reads(&self) -> usize {
        self.0.lock().unwrap().iter().filter(|c| !c.write).count()
    }
    pub fn http(&self) -> usize {
        self.0.lock().unwrap().iter().map(|c| c.http).sum()
    }
    pub fn count(&self, method: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.method == method)
            .count()
    }
}

fn pages(n: usize, per: usize) -> usize {
    n.div_ceil(per).max(1)
}

/// The users data bag (search pages of 1000) and the state item.
#[derive(Debug, Default)]
pub struct FakeBag {
    pub items: Mutex<BTreeMap<String, UserItem>>,
    pub state: Mutex<Option<SyncState>>,
    pub log: Log,
    /// Fail every `update_item` with a 503 (ambiguous) when set.
    pub fail_updates: AtomicBool,
}

#[async_trait]
impl UsersBag for FakeBag {
    async fn list_items(&self) -> PortResult<Vec<UserItem>> {
        let items: Vec<UserItem> = self.items.lock().unwrap().values().cloned().collect();
        self.log
            .push("bag", "list_items", false, pages(items.len(), 1000));
        Ok(items)
    }
    async fn get_item(&self, id: &str) -> PortResult<Option<UserItem>> {
        self.log.push("bag", "get_item", false, 1);
        Ok(self.items.lock().unwrap().get(id).cloned())
    }
    async fn create_item(&self, item: &UserItem) -> PortResult<()> {
        self.log.push("bag", "create_item", true, 1);
        let mut items = self.items.lock().unwrap();
        if items.contains_key(&item.id) {
            return Err(PortError::new(
                Service::ConfigMgmt,
                "fake",
                PortErrorKind::AlreadyExists,
                "exists",
            ));
        }
        items.insert(item.id.clone(), item.clone());
        Ok(())
    }
    async fn update_item(&self, item: &UserItem) -> PortResult<()> {
        self.log.push("bag", "update_item", true, 1);
        if self.fail_updates.load(Ordering::SeqCst) {
            return Err(PortError::new(
                Service::ConfigMgmt,
                "fake",
                PortErrorKind::Unavailable,
                "503",
            )
            .ambiguous());
        }
        let mut items = self.items.lock().unwrap();
        if !items.contains_key(&item.id) {
            return Err(PortError::not_found(
                Service::ConfigMgmt,
                "fake",
                "no such item",
            ));
        }
        items.insert(item.id.clone(), item.clone());
        Ok(())
    }
    async fn get_state(&self) -> PortResult<Option<SyncState>> {
        self.log.push("bag", "get_state", false, 1);
        Ok(self.state.lock().unwrap().clone())
    }
    async fn put_state(&self, state: &SyncState) -> PortResult<()> {
        self.log.push("bag", "put_state", true, 1);
        *self.state.lock().unwrap() = Some(state.clone());
        Ok(())
    }
}

/// DigitalOcean account keys (pages of 200).
#[derive(Debug, Default)]
pub struct FakeAccount {
    pub keys: Mutex<Vec<AccountKey>>,
    /// SHA-256 fingerprints on the account (DO refuses a duplicate key).
    pub fingerprints: Mutex<std::collections::BTreeSet<String>>,
    pub next_id: AtomicU64,
    pub log: Log,
}

impl FakeAccount {
    pub fn add_unmanaged(&self, name: &str, public_key: &str) -> u64 {
        let id = 900_000 + self.next_id.fetch_add(1, Ordering::SeqCst);
        if let Some(fp) = ops_core::key_sync::fingerprint_of(public_key) {
            self.fingerprints.lock().unwrap().insert(fp);
        }
        self.keys.lock().unwrap().push(AccountKey {
            id,
            name: name.to_owned(),
            fingerprint: format!("md5:{id}"),
            public_key: public_key.to_owned(),
        });
        id
    }
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .keys
            .lock()
            .unwrap()
            .iter()
            .map(|k| k.name.clone())
            .collect();
        v.sort();
        v
    }
}

#[async_trait]
impl AccountKeys for FakeAccount {
    async fn list_keys(&self) -> PortResult<Vec<AccountKey>> {
        let keys = self.keys.lock().unwrap().clone();
        self.log
            .push("account", "list_keys", false, pages(keys.len(), 200));
        Ok(keys)
    }
    async fn create_key(&self, key: &NewAccountKey) -> PortResult<AccountKey> {
        self.log.push("account", "create_key", true, 1);
        let mut keys = self.keys.lock().unwrap();
        let fp = ops_core::key_sync::fingerprint_of(&key.public_key).unwrap_or_default();
        if !self.fingerprints.lock().unwrap().insert(fp) {
            return Err(PortError::new(
                Service::Compute,
                "fake",
                PortErrorKind::Rejected,
                "SSH Key is already in use",
            ));
        }
        let id = 1 + self.next_id.fetch_add(1, Ordering::SeqCst);
        let k = AccountKey {
            id,
            name: key.name.clone(),
            fingerprint: format!("md5:{id}"),
            public_key: key.public_key.clone(),
        };
        keys.push(k.clone());
        Ok(k)
    }
    async fn delete_key(&self, id: u64) -> PortResult<()> {
        self.log.push("account", "delete_key", true, 1);
        let mut keys = self.keys.lock().unwrap();
        let Some(pos) = keys.iter().position(|k| k.id == id) else {
            return Err(PortError::not_found(
                Service::Compute,
                "fake",
                "no such key",
            ));
        };
        let gone = keys.remove(pos);
        if let Some(fp) = ops_core::key_sync::fingerprint_of(&gone.public_key) {
            self.fingerprints.lock().unwrap().remove(&fp);
        }
        Ok(())
    }
}

/// Chef nodes behind a partial search, and the cookbooks on that server (by default
/// `user_setup` at the version key-sync was written against).
#[derive(Debug)]
pub struct FakeNodes {
    pub nodes: Mutex<Vec<NodeSummary>>,
    pub cookbooks: Mutex<std::collections::BTreeMap<String, Vec<String>>>,
    pub log: Log,
}

impl Default for FakeNodes {
    fn default() -> Self {
        FakeNodes {
            nodes: Mutex::default(),
            cookbooks: Mutex::new(
                [(
                    "user_setup".to_owned(),
                    vec![ops_core::key_sync::USER_SETUP_VERSION.to_owned()],
                )]
                .into(),
            ),
            log: Log::default(),
        }
    }
}

impl FakeNodes {
    pub fn missing(&self, entry: &str) -> Vec<String> {
        self.nodes
            .lock()
            .unwrap()
            .iter()
            .filter(|n| !n.run_list.iter().any(|e| e == entry))
            .map(|n| n.name.clone())
            .collect()
    }
    /// Every node checks in now (a converge).
    pub fn converge_all(&self, at: SystemTime) {
        for n in self.nodes.lock().unwrap().iter_mut() {
            n.last_check_in = Some(at);
        }
    }
    /// Every node with the recipe reports `installed` at `at` (Unix seconds), as the
    /// `user_setup` recipe does at the end of a converge.
    pub fn report_all(
        &self,
        at: u64,
        installed: &std::collections::BTreeMap<String, ops_core::key_sync::InstalledKeys>,
    ) {
        for n in self.nodes.lock().unwrap().iter_mut() {
            if n.run_list.iter().any(|e| e == "recipe[user_setup]") {
                n.proof = Some(ops_core::key_sync::NodeProof {
                    installed: installed.clone(),
                    checked_at: Some(at),
                });
            }
        }
    }
}

#[async_trait]
impl NodeInventory for FakeNodes {
    async fn search_nodes(&self, _query: &str, start: u64, rows: u64) -> PortResult<NodePage> {
        self.log.push("nodes", "search_nodes", false, 1);
        let nodes = self.nodes.lock().unwrap();
        let page = nodes
            .iter()
            .skip(start as usize)
            .take(rows as usize)
            .cloned()
            .collect();
        Ok(NodePage {
            nodes: page,
            total: nodes.len() as u64,
        })
    }
    async fn cookbook_versions(&self, name: &str) -> PortResult<Option<Vec<String>>> {
        self.log.push("nodes", "cookbook_versions", false, 1);
        Ok(self.cookbooks.lock().unwrap().get(name).cloned())
    }
    async fn add_to_run_list(&self, node: &str, entry: &str) -> PortResult<()> {
        self.log.push("nodes", "add_to_run_list", true, 2);
        let mut nodes = self.nodes.lock().unwrap();
        let Some(n) = nodes.iter_mut().find(|n| n.name == node) else {
            return Err(PortError::not_found(
                Service::ConfigMgmt,
                "fake",
                "no such node",
            ));
        };
        if !n.run_list.iter().any(|e| e == entry) {
            n.run_list.push(entry.to_owned());
        }
        Ok(())
    }
}

/// The three fakes sharing one log.
pub struct World {
    pub bag: FakeBag,
    pub account: FakeAccount,
    pub nodes: FakeNodes,
    pub log: Log,
}

pub const T0: u64 = 1_750_000_000;

pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

impl World {
    /// `n_nodes` nodes; every `missing_every`-th lacks the recipe (0: none lacks it); the
    /// others carry it. All checked in at `T0 - 600`.
    pub fn new(n_nodes: usize, missing_every: usize) -> Self {
        let log = Log::default();
        let nodes = (0..n_nodes)
            .map(|i| {
                let lacks = missing_every > 0 && i % missing_every == 0;
                let mut run_list = vec!["role[base]".to_owned()];
                if !lacks {
                    run_list.push("recipe[user_setup]".to_owned());
                }
                NodeSummary {
                    name: format!("node-{i:05}"),
                    run_list,
                    recipes: Vec::new(),
                    last_check_in: Some(at(T0 - 600)),
                    proof: None,
                }
            })
            .collect();
        World {
            bag: FakeBag {
                log: log.clone(),
                ..FakeBag::default()
            },
            account: FakeAccount {
                log: log.clone(),
                ..FakeAccount::default()
            },
            nodes: FakeNodes {
                nodes: Mutex::new(nodes),
                log: log.clone(),
                ..FakeNodes::default()
            },
            log,
        }
    }
}

/// Deterministic Ed25519 public key (32 bytes from SHA-256 of the seed).
pub fn ed_key(seed: &str) -> String {
    let bytes: [u8; 32] = Sha256::digest(seed.as_bytes()).into();
    PublicKey::new(
        KeyData::Ed25519(Ed25519PublicKey(bytes)),
        format!("{seed}@test"),
    )
    .to_openssh()
    .unwrap()
}

fn stream(seed: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut block: [u8; 32] = Sha256::digest(seed.as_bytes()).into();
    while out.len() < len {
        out.extend_from_slice(&block);
        block = Sha256::digest(block).into();
    }
    out.truncate(len);
    out
}

/// Deterministic RSA-shaped public key of exactly `bits` bits (not a real key pair; parsing
/// and size checks only need the shape).
pub fn rsa_key(seed: &str, bits: usize) -> String {
    let mut n = stream(seed, bits / 8);
    n[0] |= 0x80;
    let last = n.len() - 1;
    n[last] |= 1;
    let key = RsaPublicKey {
        e: Mpint::from_positive_bytes(&[1, 0, 1]).unwrap(),
        n: Mpint::from_positive_bytes(&n).unwrap(),
    };
    PublicKey::new(KeyData::Rsa(key), format!("{seed}@rsa"))
        .to_openssh()
        .unwrap()
}

/// Deterministic DSA-shaped public key.
pub fn dsa_key(seed: &str) -> String {
    let m = |s: &str, len| {
        let mut b = stream(s, len);
        b[0] |= 0x80;
        Mpint::from_positive_bytes(&b).unwrap()
    };
    let key = DsaPublicKey {
        p: m(&format!("{seed}p"), 128),
        q: m(&format!("{seed}q"), 20),
        g: m(&format!("{seed}g"), 128),
        y: m(&format!("{seed}y"), 128),
    };
    PublicKey::new(KeyData::Dsa(key), "old@dsa")
        .to_openssh()
        .unwrap()
}

/// `n` users: user-000 … ; the first `admins` are in `sysadmin`, every user is in `ops`;
/// each has one Ed25519 key, every 5th also an RSA-3072 key.
pub fn users(n: usize, admins: usize) -> Vec<UserSpec> {
    (0..n)
        .map(|i| {
            let id = format!("user-{i:03}");
            let mut ssh_keys = vec![ed_key(&id)];
            if i % 5 == 0 {
                ssh_keys.push(rsa_key(&id, 3072));
            }
            let mut groups = vec!["ops".to_owned()];
            if i < admins {
                groups.push("sysadmin".to_owned());
            }
            UserSpec {
                id,
                ssh_keys,
                groups,
                shell: Some("/bin/bash".to_owned()),
                state: UserState::Present,
            }
        })
        .collect()
}

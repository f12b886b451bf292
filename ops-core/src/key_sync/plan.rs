//! The pure part of key-sync: desired state, digest, diff against live, lockout guard, and
//! the printable [`Plan`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::KeySyncOptions;
use super::keys::fingerprint_of;
use super::ports::{AccountKey, NewAccountKey, NodeSummary, RevokedUser, SyncState, UserItem};
use super::source::{KeySource, UserState};

/// What the source of truth (with pending revocations applied) asks for.
#[derive(Debug, Clone)]
pub(crate) struct Desired {
    /// Managed fields of every user item of the source, by id (no `extra`).
    pub(crate) items: BTreeMap<String, UserItem>,
    /// Account keys wanted on DigitalOcean, by SHA-256 fingerprint.
    pub(crate) account_keys: BTreeMap<String, NewAccountKey>,
    /// Fingerprints of every key of a present user of the source.
    pub(crate) present_fingerprints: BTreeSet<String>,
    /// Revocations still pending after this source (the source still lists them present).
    pub(crate) revoked: Vec<RevokedUser>,
    /// Remarks for the plan.
    pub(crate) warnings: Vec<String>,
}

pub(crate) fn desired(
    source: &KeySource,
    state: Option<&SyncState>,
    opts: &KeySyncOptions,
) -> Desired {
    let mut warnings = Vec::new();
    let mut revoked = Vec::new();
    let pending: BTreeMap<&str, &RevokedUser> = state
        .map(|s| s.revoked.iter().map(|r| (r.id.as_str(), r)).collect())
        .unwrap_or_default();
    for (id, r) in &pending {
        match source.get(id) {
            Some(u) if u.state == UserState::Removed => {} // the source caught up: drop it
            Some(_) => {
                warnings.push(format!(
                    "`{id}` was revoked but the source still lists them as present: kept removed until the source says `removed`"
                ));
                revoked.push((*r).clone());
            }
            None => revoked.push((*r).clone()),
        }
    }
    let mut items = BTreeMap::new();
    let mut account_keys = BTreeMap::new();
    let mut present_fingerprints = BTreeSet::new();
    for u in source.users() {
        let removed = u.state == UserState::Removed
            || pending.contains_key(u.id.as_str()) && u.state == UserState::Present;
        let mut item = UserItem::new(u.id.clone());
        item.groups = u.groups.clone();
        item.shell = u.shell.clone();
        if removed {
            item.action = Some("remove".to_owned());
            item.ssh_keys = Some(Vec::new());
        } else {
            item.ssh_keys = Some(u.keys.iter().map(|k| k.key.openssh.clone()).collect());
            let in_scope = opts
                .account_key_groups
                .as_ref()
                .is_none_or(|gs| u.groups.iter().any(|g| gs.contains(g)));
            for k in &u.keys {
                present_fingerprints.insert(k.key.fingerprint.clone());
                if opts.sync_account_keys && in_scope {
                    let short: String = k
                        .key
                        .fingerprint
                        .trim_start_matches("SHA256:")
                        .chars()
                        .take(12)
                        .collect();
                    account_keys.insert(
                        k.key.fingerprint.clone(),
                        NewAccountKey {
                            name: format!("{}{}:{short}", opts.key_name_prefix, u.id),
                            public_key: k.key.openssh.clone(),
                        },
                    );
                }
            }
        }
        items.insert(u.id.clone(), item);
    }
    Desired {
        items,
        account_keys,
        present_fingerprints,
        revoked,
        warnings,
    }
}

/// The digest of everything a run would converge to, `sha256:<hex>`.
pub(crate) fn digest(d: &Desired, opts: &KeySyncOptions) -> String {
    #[derive(Serialize)]
    struct Input<'a> {
        v: u32,
        items: Vec<&'a UserItem>,
        account_keys: Vec<&'a NewAccountKey>,
        recipe: &'a str,
        node_query: &'a str,
        fix_run_lists: bool,
        sync_account_keys: bool,
        key_name_prefix: &'a str,
        revoked: Vec<&'a str>,
    }
    let input = Input {
        v: 1,
        items: d.items.values().collect(),
        account_keys: d.account_keys.values().collect(),
        recipe: &opts.recipe,
        node_query: &opts.node_query,
        fix_run_lists: opts.fix_run_lists,
        sync_account_keys: opts.sync_account_keys,
        key_name_prefix: &opts.key_name_prefix,
        revoked: d.revoked.iter().map(|r| r.id.as_str()).collect(),
    };
    // Struct fields and BTreeMap values serialize in a fixed order: canonical bytes.
    let bytes = serde_json::to_vec(&input).unwrap_or_default();
    let hash = Sha256::digest(&bytes);
    let mut hex = String::with_capacity(64);
    for b in hash {
        hex.push_str(&format!("{b:02x}"));
    }
    format!("sha256:{hex}")
}

/// A write to the users data bag.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemChange {
    /// The item id.
    pub id: String,
    /// True when the item does not exist yet.
    pub create: bool,
    /// Human summary of the changed fields (fingerprints, never whole keys).
    pub summary: Vec<String>,
    /// The full item to write (unmanaged fields of the live item kept).
    pub item: UserItem,
}

fn norm_key(k: &str) -> String {
    k.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

fn fp_label(k: &str) -> String {
    fingerprint_of(k).unwrap_or_else(|| "<unparsable key>".to_owned())
}

/// Compares the managed fields of `live` with `want` and returns what differs.
pub(crate) fn item_change(live: Option<&UserItem>, want: &UserItem) -> Option<ItemChange> {
    let mut summary = Vec::new();
    let Some(live) = live else {
        let mut s = vec![format!(
            "{} key(s), groups [{}]",
            want.key_count(),
            want.groups.join(", ")
        )];
        if want.action.is_some() {
            s.push("action: remove".to_owned());
        }
        return Some(ItemChange {
            id: want.id.clone(),
            create: true,
            summary: s,
            item: want.clone(),
        });
    };
    let live_keys: Vec<String> = live
        .ssh_keys
        .iter()
        .flatten()
        .map(|k| norm_key(k))
        .collect();
    let want_keys: Vec<String> = want
        .ssh_keys
        .iter()
        .flatten()
        .map(|k| norm_key(k))
        .collect();
    if sorted(&live_keys) != sorted(&want_keys)
        || live.ssh_keys.is_none() != want.ssh_keys.is_none()
    {
        let added: Vec<String> = want_keys
            .iter()
            .filter(|k| !live_keys.contains(k))
            .map(|k| format!("+{}", fp_label(k)))
            .collect();
        let removed: Vec<String> = live_keys
            .iter()
            .filter(|k| !want_keys.contains(k))
            .map(|k| format!("-{}", fp_label(k)))
            .collect();
        let mut parts = added;
        parts.extend(removed);
        if parts.is_empty() {
            parts.push(format!(
                "{} → {} key(s)",
                live.key_count(),
                want.key_count()
            ));
        }
        summary.push(format!("keys {}", parts.join(" ")));
    }
    if sorted(&live.groups) != sorted(&want.groups) {
        summary.push(format!(
            "groups [{}] → [{}]",
            live.groups.join(", "),
            want.groups.join(", ")
        ));
    }
    if want.shell.is_some() && live.shell != want.shell {
        summary.push(format!(
            "shell {} → {}",
            live.shell.as_deref().unwrap_or("-"),
            want.shell.as_deref().unwrap_or("-")
        ));
    }
    if live.action != want.action {
        summary.push(format!(
            "action {} → {}",
            live.action.as_deref().unwrap_or("-"),
            want.action.as_deref().unwrap_or("-")
        ));
    }
    if summary.is_empty() {
        return None;
    }
    let mut item = live.clone();
    item.ssh_keys = want.ssh_keys.clone();
    item.groups = want.groups.clone();
    if want.shell.is_some() {
        item.shell = want.shell.clone();
    }
    item.action = want.action.clone();
    Some(ItemChange {
        id: want.id.clone(),
        create: false,
        summary,
        item,
    })
}

/// Owner of a managed account key name, `None` for unmanaged keys.
pub(crate) fn managed_owner<'n>(name: &'n str, prefix: &str) -> Option<&'n str> {
    let rest = name.strip_prefix(prefix)?;
    Some(rest.rsplit_once(':').map_or(rest, |(owner, _)| owner))
}

/// Account keys to add and to delete.
pub(crate) fn account_key_changes(
    live: &[AccountKey],
    d: &Desired,
    prefix: &str,
    warnings: &mut Vec<String>,
) -> (Vec<NewAccountKey>, Vec<AccountKey>) {
    let live_fps: BTreeMap<String, &AccountKey> = live
        .iter()
        .filter_map(|k| fingerprint_of(&k.public_key).map(|fp| (fp, k)))
        .collect();
    let mut adds = Vec::new();
    for (fp, want) in &d.account_keys {
        match live_fps.get(fp) {
            None => adds.push(want.clone()),
            Some(k) if managed_owner(&k.name, prefix).is_none() => warnings.push(format!(
                "account key {fp} is already on DigitalOcean as unmanaged key `{}` (id {}): left alone",
                k.name, k.id
            )),
            Some(_) => {}
        }
    }
    let mut deletes = Vec::new();
    for k in live {
        if managed_owner(&k.name, prefix).is_none() {
            continue;
        }
        let wanted =
            fingerprint_of(&k.public_key).is_some_and(|fp| d.account_keys.contains_key(&fp));
        if !wanted {
            deletes.push(k.clone());
        }
    }
    (adds, deletes)
}

/// Strips `recipe[...]`, a version and `::default` so spellings compare equal.
fn recipe_name(entry: &str) -> Option<&str> {
    let e = entry.trim();
    let inner = if let Some(r) = e.strip_prefix("recipe[") {
        r.strip_suffix(']')?
    } else if e.contains('[') {
        return None; // role[...] and other kinds
    } else {
        e
    };
    let inner = inner.split('@').next().unwrap_or(inner);
    Some(inner.strip_suffix("::default").unwrap_or(inner))
}

/// Whether a node runs the key recipe: in its run-list, or (recipes only) in the recipes
/// expanded at its last converge (pulled in by a role).
pub(crate) fn has_recipe(node: &NodeSummary, entry: &str) -> bool {
    let Some(want) = recipe_name(entry) else {
        return node.run_list.iter().any(|e| e.trim() == entry.trim());
    };
    node.run_list.iter().any(|e| recipe_name(e) == Some(want))
        || node.recipes.iter().any(|r| recipe_name(r) == Some(want))
}

/// The lockout guard: what would go wrong if `changes` were written over `live`.
pub(crate) fn lockout_problems(
    live: &BTreeMap<String, UserItem>,
    changes: &[ItemChange],
    admin_group: Option<&str>,
) -> Vec<String> {
    let mut next = live.clone();
    for c in changes {
        next.insert(c.id.clone(), c.item.clone());
    }
    let group_keys = |items: &BTreeMap<String, UserItem>| {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for it in items.values() {
            for g in &it.groups {
                let n = m.entry(g.clone()).or_default();
                if it.is_present() {
                    *n += it.key_count();
                }
            }
        }
        m
    };
    let before = group_keys(live);
    let after = group_keys(&next);
    let mut problems = Vec::new();
    for (g, n) in &before {
        if *n > 0 && after.get(g).copied().unwrap_or(0) == 0 {
            problems.push(format!("group `{g}` would be left with no keys"));
        }
    }
    if let Some(admin) = admin_group {
        let admins = next
            .values()
            .filter(|i| i.is_present() && i.key_count() > 0 && i.groups.iter().any(|g| g == admin))
            .count();
        if admins == 0 {
            problems.push(format!(
                "no member of the admin group `{admin}` would keep a key"
            ));
        }
    }
    for c in changes {
        if c.item.is_present() && c.item.key_count() == 0 {
            problems.push(format!(
                "would write an empty key list for present user `{}`",
                c.id
            ));
        }
    }
    problems
}

/// What a run would change, computed before any write. Print it with `Display`.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Digest of the desired state this plan converges to.
    pub digest: String,
    /// Digest stored by the last complete run, if any.
    pub stored_digest: Option<String>,
    /// Writes to the users data bag.
    pub item_changes: Vec<ItemChange>,
    /// DigitalOcean account keys to add.
    pub keys_to_add: Vec<NewAccountKey>,
    /// Managed DigitalOcean account keys to delete (revoked or removed users).
    pub keys_to_delete: Vec<AccountKey>,
    /// Nodes whose run-list lacks the key recipe.
    pub run_list_fixes: Vec<String>,
    /// Nodes seen by the node search.
    pub nodes_seen: usize,
    /// Remarks (unmanaged items, revocations the source has not caught up with…).
    pub warnings: Vec<String>,
    /// Lockout-guard findings: the plan is refused unless forced when this is not empty.
    pub lockout: Vec<String>,
    /// Why the recipe cannot be added to run-lists: the server lacks a compatible version
    /// of its cookbook ([`KeySyncOptions::cookbook`](super::KeySyncOptions::cookbook)).
    /// [`KeySync::apply`](super::KeySync::apply) refuses such a plan.
    pub cookbook_problem: Option<String>,
    /// The recipe entry enforced on run-lists.
    pub recipe: String,
    pub(crate) next_state: SyncState,
    pub(crate) state_write: bool,
}

impl Plan {
    /// Number of provider writes the plan makes, not counting the state item.
    pub fn write_count(&self) -> usize {
        self.item_changes.len()
            + self.keys_to_add.len()
            + self.keys_to_delete.len()
            + self.run_list_fixes.len()
    }

    /// True when nothing needs to change (the state item may still be refreshed).
    pub fn is_converged(&self) -> bool {
        self.write_count() == 0
    }

    /// The state stored after a successful apply.
    pub fn next_state(&self) -> &SyncState {
        &self.next_state
    }
}

const LIST_CAP: usize = 20;

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "key-sync plan for {}", self.digest)?;
        match &self.stored_digest {
            Some(d) if *d == self.digest => writeln!(f, "  stored digest: up to date")?,
            Some(d) if d.is_empty() => writeln!(f, "  stored digest: cleared by a revoke")?,
            Some(d) => writeln!(f, "  stored digest: {d} (changed)")?,
            None => writeln!(f, "  stored digest: none (first run)")?,
        }
        let creates = self.item_changes.iter().filter(|c| c.create).count();
        writeln!(
            f,
            "users data bag: {creates} to create, {} to update",
            self.item_changes.len() - creates
        )?;
        for c in &self.item_changes {
            let sign = if c.create { '+' } else { '~' };
            writeln!(f, "  {sign} {}: {}", c.id, c.summary.join("; "))?;
        }
        writeln!(
            f,
            "DigitalOcean account keys: {} to add, {} to delete",
            self.keys_to_add.len(),
            self.keys_to_delete.len()
        )?;
        for k in &self.keys_to_add {
            writeln!(f, "  + {}", k.name)?;
        }
        for k in &self.keys_to_delete {
            writeln!(f, "  - {} (id {})", k.name, k.id)?;
        }
        writeln!(
            f,
            "run-lists: {} of {} node(s) missing {}",
            self.run_list_fixes.len(),
            self.nodes_seen,
            self.recipe
        )?;
        for n in self.run_list_fixes.iter().take(LIST_CAP) {
            writeln!(f, "  + {n}")?;
        }
        if self.run_list_fixes.len() > LIST_CAP {
            writeln!(f, "  … and {} more", self.run_list_fixes.len() - LIST_CAP)?;
        }
        if let Some(p) = &self.cookbook_problem {
            writeln!(f, "REFUSED: {p}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        if !self.lockout.is_empty() {
            writeln!(f, "LOCKOUT GUARD: this plan is refused unless forced:")?;
            for p in &self.lockout {
                writeln!(f, "  ! {p}")?;
            }
        }
        if self.is_converged() {
            writeln!(f, "nothing to change")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(run_list: &[&str], recipes: &[&str]) -> NodeSummary {
        NodeSummary {
            name: "n".into(),
            run_list: run_list.iter().map(|s| s.to_string()).collect(),
            recipes: recipes.iter().map(|s| s.to_string()).collect(),
            last_check_in: None,
            proof: None,
        }
    }

    #[test]
    fn recipe_spellings_match() {
        let e = "recipe[user_setup]";
        assert!(has_recipe(&node(&["recipe[user_setup]"], &[]), e));
        assert!(has_recipe(
            &node(&["recipe[user_setup::default@1.2.0]"], &[]),
            e
        ));
        assert!(has_recipe(&node(&["user_setup"], &[]), e));
        assert!(has_recipe(
            &node(&["role[base]"], &["user_setup::default"]),
            e
        ));
        assert!(!has_recipe(
            &node(&["recipe[user_setup::sudo]", "role[user_setup]"], &[]),
            e
        ));
        assert!(has_recipe(&node(&["role[base]"], &[]), "role[base]"));
    }

    #[test]
    fn managed_owner_parses_names() {
        assert_eq!(
            managed_owner("key-sync:alice:abc", "key-sync:"),
            Some("alice")
        );
        assert_eq!(managed_owner("key-sync:alice", "key-sync:"), Some("alice"));
        assert_eq!(managed_owner("laptop", "key-sync:"), None);
    }
}

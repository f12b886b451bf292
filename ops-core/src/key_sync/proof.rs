//! Comparing what the nodes report they installed (the `user_setup` recipe's proof,
//! [`NodeProof`]) with what the users bag says (issue #23). Pure functions, no port.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::keys::fingerprint_of;
use super::ports::{NodeProof, UserItem};

/// One key on one node that differs from the source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyFinding {
    /// Node name.
    pub node: String,
    /// User (the `authorized_keys` owner).
    pub user: String,
    /// SHA-256 fingerprint (`SHA256:…`).
    pub fingerprint: String,
}

/// Per user of the source: `None` when the user is removed (no key may stay), else the
/// fingerprints of the keys the item lists.
pub(crate) fn wanted(
    items: &BTreeMap<String, UserItem>,
) -> BTreeMap<&str, Option<BTreeSet<String>>> {
    items
        .iter()
        .map(|(id, item)| {
            let fps = item.is_present().then(|| {
                item.ssh_keys
                    .iter()
                    .flatten()
                    .filter_map(|k| fingerprint_of(k))
                    .collect()
            });
            (id.as_str(), fps)
        })
        .collect()
}

/// What one node's proof says against the source: keys still installed that should be
/// gone, and (when `fresh`, i.e. reported after the last key change) keys of present users
/// missing from their `authorized_keys`. Users the source does not mention are not judged
/// (the recipe leaves them alone); a present user without an entry is not served there.
pub(crate) fn compare(
    node: &str,
    proof: &NodeProof,
    wanted: &BTreeMap<&str, Option<BTreeSet<String>>>,
    fresh: bool,
) -> (Vec<KeyFinding>, Vec<KeyFinding>) {
    let mut gone = Vec::new();
    let mut missing = Vec::new();
    let finding = |user: &str, fp: &str| KeyFinding {
        node: node.to_owned(),
        user: user.to_owned(),
        fingerprint: fp.to_owned(),
    };
    for (user, entry) in &proof.installed {
        let Some(want) = wanted.get(user.as_str()) else {
            continue;
        };
        let installed: BTreeSet<&str> = entry.fingerprints.iter().map(String::as_str).collect();
        match want {
            None => gone.extend(installed.iter().map(|fp| finding(user, fp))),
            Some(want) => {
                gone.extend(
                    installed
                        .iter()
                        .filter(|fp| !want.contains(**fp))
                        .map(|fp| finding(user, fp)),
                );
                if fresh && entry.state == "present" {
                    missing.extend(
                        want.iter()
                            .filter(|fp| !installed.contains(fp.as_str()))
                            .map(|fp| finding(user, fp)),
                    );
                }
            }
        }
    }
    (gone, missing)
}

/// Whether a node's proof still lists a key for `user` (any key: a revoked user keeps none).
pub(crate) fn holds_keys_of(proof: &NodeProof, user: &str) -> bool {
    proof
        .installed
        .get(user)
        .is_some_and(|e| !e.fingerprints.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_sync::ports::InstalledKeys;

    const ALICE: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBeWCdqgTHkMwwiXNHKPGKc95MkBGbrhAnMZ8fJb2Vrh alice@laptop";
    const BOB: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAxQsMBt80t6AAc7q16+iVlm2MWVPWtP1LmH9LKGhg6m bob@laptop";

    fn item(id: &str, keys: &[&str], remove: bool) -> (String, UserItem) {
        let mut i = UserItem::new(id);
        i.ssh_keys = Some(keys.iter().map(|k| (*k).to_owned()).collect());
        if remove {
            i.action = Some("remove".into());
        }
        (id.to_owned(), i)
    }

    fn entry(fps: &[String], state: &str) -> InstalledKeys {
        InstalledKeys {
            fingerprints: fps.to_vec(),
            at: Some(1),
            state: state.into(),
        }
    }

    #[test]
    fn revoked_keys_still_installed_and_present_keys_missing() {
        let a = fingerprint_of(ALICE).unwrap();
        let b = fingerprint_of(BOB).unwrap();
        let items: BTreeMap<_, _> = [
            item("alice", &[ALICE], false),
            item("bob", &[], true),
            item("carol", &[BOB], false),
        ]
        .into();
        let w = wanted(&items);
        let proof = NodeProof {
            installed: [
                ("alice".to_owned(), entry(&[], "present")),
                ("bob".to_owned(), entry(std::slice::from_ref(&b), "locked")),
                ("carol".to_owned(), entry(&[a.clone(), b], "present")),
                (
                    "dave".to_owned(),
                    entry(std::slice::from_ref(&a), "unmanaged"),
                ),
            ]
            .into(),
            checked_at: Some(1),
        };
        let (gone, missing) = compare("web1", &proof, &w, true);
        let show = |v: &[KeyFinding]| {
            v.iter()
                .map(|f| format!("{}:{}", f.user, f.fingerprint == a))
                .collect::<Vec<_>>()
        };
        assert_eq!(show(&gone), ["bob:false", "carol:true"]);
        assert_eq!(show(&missing), ["alice:true"]);
        // A stale report: keys that should be gone still count, missing ones do not.
        let (gone, missing) = compare("web1", &proof, &w, false);
        assert_eq!(gone.len(), 2);
        assert!(missing.is_empty());
        assert!(holds_keys_of(&proof, "bob") && !holds_keys_of(&proof, "alice"));
        assert!(!holds_keys_of(&proof, "erin"));
    }

    /// The fingerprint is OpenSSH's (what the cookbook records): checked against this
    /// machine's `ssh-keygen -lf` when it is installed (Debian `openssh-client`), and against
    /// its recorded output otherwise.
    #[test]
    fn fingerprints_match_ssh_keygen() {
        // Recorded with `ssh-keygen -l -E sha256 -f alice.pub` (OpenSSH 9.2).
        let recorded = "SHA256:NcipIaZFWLAfy48V8xL4Zg3EHIHse9OOTyfPJfUxTcM";
        assert_eq!(fingerprint_of(ALICE).unwrap(), recorded);
        if std::process::Command::new("ssh-keygen")
            .arg("-?")
            .output()
            .is_err()
        {
            return; // not installed: the recorded output above stands in
        }
        let dir = tempfile::tempdir().unwrap();
        for (i, key) in [ALICE, BOB].iter().enumerate() {
            let path = dir.path().join(format!("k{i}.pub"));
            std::fs::write(&path, format!("{key}\n")).unwrap();
            let out = std::process::Command::new("ssh-keygen")
                .args(["-l", "-E", "sha256", "-f"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let theirs = text.split_whitespace().nth(1).unwrap();
            assert_eq!(fingerprint_of(key).unwrap(), theirs, "{key}");
        }
    }
}

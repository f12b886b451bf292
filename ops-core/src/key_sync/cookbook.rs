//! Which version of the `user_setup` cookbook key-sync can rely on (issue #23).
//!
//! key-sync puts `recipe[user_setup]` on run-lists and reads the proof that cookbook records
//! (`node['user_setup']['installed']`). Before it adds the recipe to any run-list it checks
//! that the Chef server holds a **compatible** version of the cookbook: a run-list naming a
//! cookbook the server lacks fails every chef-client run of that node, and an incompatible
//! version would record its proof in another shape (or none).
//!
//! Compatible means the semver caret range of [`USER_SETUP_VERSION`] (the version in
//! `cookbooks/user_setup/metadata.rb`, checked by a test): the same major version and at
//! least that version; before 1.0, the same minor version too (`^0.1.0` is `>= 0.1.0,
//! < 0.2.0`). A breaking change to the cookbook's bag format or proof attributes must bump
//! the major version (the minor one before 1.0), and key-sync with it.

use std::fmt;

/// The `user_setup` cookbook version this key-sync was written against
/// (`cookbooks/user_setup/metadata.rb`).
pub const USER_SETUP_VERSION: &str = "0.1.0";

/// A cookbook key-sync needs on the server, and the versions it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookbookRequirement {
    /// Cookbook name (`user_setup`).
    pub name: String,
    /// The lowest accepted version; the caret range of it is accepted.
    pub min_version: [u64; 3],
}

impl Default for CookbookRequirement {
    fn default() -> Self {
        CookbookRequirement {
            name: "user_setup".to_owned(),
            min_version: parse_version(USER_SETUP_VERSION).unwrap_or([0, 1, 0]),
        }
    }
}

impl CookbookRequirement {
    /// Whether `version` (`MAJOR.MINOR[.PATCH]`, as Chef lists it) is in the caret range.
    pub fn accepts(&self, version: &str) -> bool {
        let Some(v) = parse_version(version) else {
            return false;
        };
        let [major, minor, _] = self.min_version;
        v >= self.min_version && v[0] == major && (major > 0 || v[1] == minor)
    }

    /// The range in words: `>= 0.1.0, < 0.2.0`.
    pub fn range(&self) -> String {
        let [major, minor, patch] = self.min_version;
        let upper = if major > 0 {
            format!("{}.0.0", major + 1)
        } else {
            format!("0.{}.0", minor + 1)
        };
        format!(">= {major}.{minor}.{patch}, < {upper}")
    }

    /// Why the server's `versions` (`None`: the cookbook is not there) do not satisfy the
    /// requirement, or `None` when one of them does.
    pub fn problem(&self, versions: Option<&[String]>) -> Option<String> {
        match versions {
            None => Some(format!(
                "the Chef server has no `{}` cookbook; upload it (`knife cookbook upload {}` from \
                 cookbooks/, version {}) before key-sync puts its recipe on run-lists",
                self.name,
                self.name,
                self.range()
            )),
            Some(vs) if vs.iter().any(|v| self.accepts(v)) => None,
            Some(vs) => Some(format!(
                "the Chef server has `{}` cookbook version(s) {} but key-sync needs {}; upload a \
                 compatible version (cookbooks/{}) before key-sync puts its recipe on run-lists",
                self.name,
                if vs.is_empty() {
                    "(none)".to_owned()
                } else {
                    vs.join(", ")
                },
                self.range(),
                self.name
            )),
        }
    }
}

impl fmt::Display for CookbookRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.range())
    }
}

/// `1.2.3` → `[1, 2, 3]`; `1.2` → `[1, 2, 0]`; `None` otherwise.
pub(crate) fn parse_version(v: &str) -> Option<[u64; 3]> {
    let parts: Vec<&str> = v.trim().split('.').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let mut out = [0u64; 3];
    for (slot, p) in out.iter_mut().zip(&parts) {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = p.parse().ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constant_is_the_cookbooks_metadata_version() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../cookbooks/user_setup/metadata.rb"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("version "))
            .expect("metadata.rb has a version line");
        let version = line.split('\'').nth(1).expect("version '…'");
        assert_eq!(
            version, USER_SETUP_VERSION,
            "bump USER_SETUP_VERSION (and check compatibility) with metadata.rb"
        );
    }

    #[test]
    fn caret_range() {
        let r = CookbookRequirement::default();
        assert_eq!(r.range(), ">= 0.1.0, < 0.2.0");
        for ok in ["0.1.0", "0.1.7", "0.1"] {
            assert!(r.accepts(ok), "{ok}");
        }
        for bad in ["0.0.9", "0.2.0", "1.0.0", "0.1.x", "", "0.1.0.1"] {
            assert!(!r.accepts(bad), "{bad}");
        }
        let r = CookbookRequirement {
            name: "user_setup".into(),
            min_version: [1, 2, 0],
        };
        assert!(r.accepts("1.9.0") && r.accepts("1.2.0"));
        assert!(!r.accepts("1.1.9") && !r.accepts("2.0.0"));
        assert_eq!(r.range(), ">= 1.2.0, < 2.0.0");
    }

    #[test]
    fn problems_name_the_cookbook_and_the_range() {
        let r = CookbookRequirement::default();
        assert_eq!(r.problem(Some(&["0.1.3".to_owned()])), None);
        let p = r.problem(None).unwrap();
        assert!(
            p.contains("no `user_setup` cookbook") && p.contains(">= 0.1.0"),
            "{p}"
        );
        let p = r
            .problem(Some(&["0.2.0".to_owned(), "0.0.1".to_owned()]))
            .unwrap();
        assert!(p.contains("0.2.0, 0.0.1") && p.contains("< 0.2.0"), "{p}");
    }
}

//! Host and service groups as component members (`group:NAME`, `servicegroup:NAME`).
//!
//! nagios-api 1.2.2 does not expose groups, so they are read from the file Nagios writes
//! them to at every start: `objects.cache` (its `object_cache_file`), whose blocks look like
//! this (Nagios separates keys and values with tabs):
//!
//! ```text
//! define hostgroup {
//!     hostgroup_name    web
//!     alias    Web servers
//!     members    web01,web02
//!     }
//!
//! define servicegroup {
//!     servicegroup_name    payments
//!     members    web01,HTTP,db01,PostgreSQL
//!     }
//! ```
//!
//! Nagios writes the members resolved (nested groups and wildcards expanded), so a group
//! here is a plain list. The parser never fails: what it cannot read is left out, and a
//! group it did not find is an unknown member of the page, with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Host and service groups as Nagios's `objects.cache` lists them, or why they are not known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Groups {
    /// Host names by hostgroup name.
    pub hostgroups: BTreeMap<String, Vec<String>>,
    /// `(host, service)` pairs by servicegroup name.
    pub servicegroups: BTreeMap<String, Vec<(String, String)>>,
    /// Why the groups could not be read (then both maps are empty): shown as the reason of
    /// every group member. Never holds the file's path or content.
    pub unavailable: Option<String>,
}

impl Groups {
    /// Parse the text of an `objects.cache` (only its `hostgroup` and `servicegroup` blocks).
    pub fn parse(text: &str) -> Groups {
        #[derive(PartialEq)]
        enum Block {
            None,
            Host,
            Service,
            Other,
        }
        let mut groups = Groups::default();
        let mut block = Block::None;
        let mut name: Option<String> = None;
        let mut members: Option<String> = None;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line
                .strip_prefix("define")
                .filter(|r| r.starts_with(char::is_whitespace))
            {
                let kind = rest.trim().trim_end_matches('{').trim();
                block = match kind {
                    "hostgroup" => Block::Host,
                    "servicegroup" => Block::Service,
                    _ => Block::Other,
                };
                name = None;
                members = None;
                continue;
            }
            if line == "}" {
                if let Some(n) = name.take() {
                    let list = members.take().unwrap_or_default();
                    match block {
                        Block::Host => {
                            let hosts = list
                                .split(',')
                                .map(str::trim)
                                .filter(|h| !h.is_empty())
                                .map(str::to_owned)
                                .collect();
                            groups.hostgroups.insert(n, hosts);
                        }
                        Block::Service => {
                            let items: Vec<&str> = list.split(',').map(str::trim).collect();
                            let pairs = items
                                .chunks(2)
                                .filter_map(|p| match p {
                                    [h, s] if !h.is_empty() && !s.is_empty() => {
                                        Some(((*h).to_owned(), (*s).to_owned()))
                                    }
                                    _ => None,
                                })
                                .collect();
                            groups.servicegroups.insert(n, pairs);
                        }
                        Block::None | Block::Other => {}
                    }
                }
                block = Block::None;
                members = None;
                continue;
            }
            if block != Block::Host && block != Block::Service {
                continue;
            }
            let (key, value) = line
                .split_once(|c: char| c.is_whitespace())
                .map_or((line, ""), |(k, v)| (k, v.trim()));
            match (key, &block) {
                ("hostgroup_name", Block::Host) | ("servicegroup_name", Block::Service) => {
                    name = Some(value.to_owned());
                }
                ("members", _) => members = Some(value.to_owned()),
                _ => {}
            }
        }
        groups
    }

    /// Groups that could not be read, and why (shown on the page).
    pub fn unavailable(why: impl Into<String>) -> Groups {
        Groups {
            unavailable: Some(why.into()),
            ..Groups::default()
        }
    }
}

/// Reads `objects.cache` again only when its size or modification time changed.
#[derive(Debug, Clone, Default)]
pub(crate) struct GroupsReader {
    last: Option<(PathBuf, u64, Option<SystemTime>, Groups)>,
}

impl GroupsReader {
    /// The groups in `path` (re-read when its size or mtime changed); an unreadable file
    /// gives [`Groups::unavailable`] with the reason.
    pub(crate) fn read(&mut self, path: &Path) -> Groups {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.last = None;
                return Groups::unavailable(format!(
                    "Nagios's objects.cache (objects_cache in the status config) cannot be read: {}",
                    e.kind()
                ));
            }
        };
        let (len, mtime) = (meta.len(), meta.modified().ok());
        if let Some((p, l, m, g)) = &self.last {
            if p == path && *l == len && *m == mtime {
                return g.clone();
            }
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                let groups = Groups::parse(&String::from_utf8_lossy(&bytes));
                self.last = Some((path.to_owned(), len, mtime, groups.clone()));
                groups
            }
            Err(e) => {
                self.last = None;
                Groups::unavailable(format!(
                    "Nagios's objects.cache (objects_cache in the status config) cannot be read: {}",
                    e.kind()
                ))
            }
        }
    }
}

//! Issue #16: every documented and recorded Chef Server (and goiardi) answer this crate
//! decodes, and every odd-but-valid variant of it, goes through the crate's models.
//!
//! The bodies below are the shapes of the Chef Server API documentation and of goiardi's
//! answers (`shared/reference/chef/NOTES.md`, `tests/goiardi.rs`, `tests/it/resources.rs`):
//! nodes with their four attribute levels, clients, users, roles, environments, name
//! listings, search pages (full and partial, data bags) and `_status`. Chef Server and
//! goiardi leave out or null several fields (`run_list`, attribute levels, `json_class`,
//! `chef_type`, `chef_environment`, flags), so for **every object field** the walk tries it
//! **omitted** and **`null`**, every array **empty**, every object with an **unknown
//! field**; objects keyed by data (attributes, listings) are tried empty instead.
//!
//! A variant that does not decode fails the test unless it is listed in [`EXCEPTIONS`] with
//! the reason it is deliberate; an exception that no longer fails fails the test too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::resources::clients::ApiClient;
use crate::resources::environments::Environment;
use crate::resources::nodes::Node;
use crate::resources::roles::Role;
use crate::resources::search::{DataBagSearchRow, PartialRow, SearchPage};
use crate::resources::status::ServerStatus;
use crate::resources::users::User;

const ON: &[Mutation] = &[Mutation::Omit, Mutation::Null];

/// Variants allowed to fail: `(body glob, JSON path glob, mutations, why)`. `*` in a glob
/// matches any text within one name or path segment; `a|b` either.
const EXCEPTIONS: &[(&str, &str, &[Mutation], &str)] = &[
    (
        "node|role|environment",
        "/name",
        ON,
        "identity: the object's name is its address on the server",
    ),
    (
        "search_node",
        "/rows/*/name",
        ON,
        "identity: a node row without its name cannot be addressed",
    ),
    (
        "user",
        "/username|name",
        ON,
        "identity: the user's name; fails only when the other key is missing too, which \
         the single-key bodies below exercise",
    ),
    (
        "search_*",
        "/rows",
        ON,
        "the payload: a page without rows read as empty would end the search and report \
         every node gone",
    ),
    (
        "search_data_bag",
        "/rows/*/raw_data",
        &[Mutation::Omit],
        "the item itself",
    ),
];

type Decoder = fn(&Value) -> Result<(), String>;

fn de<T: DeserializeOwned>(v: &Value) -> Result<(), String> {
    serde_json::from_value::<T>(v.clone())
        .map(drop)
        .map_err(|e| e.to_string())
}

fn node() -> Value {
    json!({"name": "web-01", "chef_environment": "_default", "json_class": "Chef::Node",
        "chef_type": "node", "run_list": ["recipe[base]", "role[web]"],
        "normal": {"tags": ["a"], "users": ["alice"]}, "default": {"x": 1},
        "override": {"y": {"z": true}}, "automatic": {"ipaddress": "10.0.0.5",
        "fqdn": "web-01.example.com", "platform": "debian"},
        "policy_name": null, "policy_group": null})
}

/// Every body, its decoder and the objects in it keyed by data.
fn bodies() -> Vec<(&'static str, Value, Decoder, &'static [&'static str])> {
    const ATTRS: &[&str] = &[
        "/normal",
        "/default",
        "/override",
        "/automatic",
        "/normal/*",
        "/default/*",
        "/override/*",
        "/automatic/*",
        "/override/*/*",
    ];
    const ROW_ATTRS: &[&str] = &[
        "/rows/*/normal",
        "/rows/*/default",
        "/rows/*/override",
        "/rows/*/automatic",
        "/rows/*/normal/*",
        "/rows/*/override/*",
        "/rows/*/override/*/*",
        "/rows/*/default/*",
        "/rows/*/automatic/*",
    ];
    vec![
        ("node", node(), de::<Node>, ATTRS),
        (
            "client",
            json!({"name": "web-01", "clientname": "web-01", "validator": false,
            "admin": false, "orgname": "acme", "json_class": "Chef::ApiClient",
            "chef_type": "client", "public_key": "-----BEGIN PUBLIC KEY-----"}),
            de::<ApiClient>,
            &[],
        ),
        (
            "user",
            json!({"username": "alice", "display_name": "Alice",
            "email": "alice@example.com", "admin": true, "public_key": "k"}),
            de::<User>,
            &[],
        ),
        (
            "user_both_names",
            json!({"username": "alice", "name": "alice", "display_name": "Alice",
            "email": "alice@example.com", "admin": true, "public_key": "k"}),
            de::<User>,
            &[],
        ),
        (
            "role",
            json!({"name": "web", "description": "web servers", "json_class":
            "Chef::Role", "chef_type": "role", "run_list": ["recipe[nginx]"],
            "env_run_lists": {"prod": ["recipe[nginx]"]}, "default_attributes": {"a": 1},
            "override_attributes": {"b": 2}}),
            de::<Role>,
            &[
                "/env_run_lists",
                "/default_attributes",
                "/override_attributes",
            ],
        ),
        (
            "environment",
            json!({"name": "prod", "description": "", "json_class":
            "Chef::Environment", "chef_type": "environment",
            "cookbook_versions": {"nginx": "= 1.0.0"}, "default_attributes": {"a": 1},
            "override_attributes": {"b": 2}}),
            de::<Environment>,
            &[
                "/cookbook_versions",
                "/default_attributes",
                "/override_attributes",
            ],
        ),
        (
            "listing",
            json!({"web-01": "https://chef.example.com/nodes/web-01"}),
            de::<BTreeMap<String, String>>,
            &[""],
        ),
        (
            "search_node",
            json!({"total": 1, "start": 0, "rows": [node()]}),
            de::<SearchPage<Node>>,
            ROW_ATTRS,
        ),
        (
            "search_partial",
            json!({"total": 1, "start": 0, "rows": [{"url":
            "https://chef.example.com/nodes/web-01", "data": {"name": "web-01",
            "ip": "10.0.0.5", "missing": null}}]}),
            de::<SearchPage<PartialRow>>,
            &["/rows/*/data"],
        ),
        (
            "search_data_bag",
            json!({"total": 1, "start": 0, "rows": [{"name":
            "data_bag_item_users_alice", "data_bag": "users", "json_class":
            "Chef::DataBagItem", "chef_type": "data_bag_item", "raw_data": {"id": "alice",
            "ssh_keys": ["ssh-ed25519 AAAA"]}}]}),
            de::<SearchPage<DataBagSearchRow>>,
            &["/rows/*/raw_data"],
        ),
        (
            "status",
            json!({"status": "pong", "upstreams": {"chef_solr": "pong",
            "chef_sql": "pong"}, "keygen": {"keys": 10}}),
            de::<ServerStatus>,
            &["/upstreams"],
        ),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mutation {
    Omit,
    Null,
    EmptyArray,
    EmptyMap,
    UnknownField,
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mutation::Omit => "omitted",
            Mutation::Null => "null",
            Mutation::EmptyArray => "empty array",
            Mutation::EmptyMap => "empty map",
            Mutation::UnknownField => "with an unknown field",
        })
    }
}

// ---- the walk (the same in the three clients' shape walks) ----

fn esc(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// `maps`: paths (globs) of objects keyed by data (host names, ids), not by field names:
/// their entries are not fields, so they are not omitted, nulled or joined by an unknown
/// field (an empty map is tried instead); what is inside them is walked.
fn variants(v: &Value, path: &str, maps: &[&str], out: &mut Vec<(String, Mutation)>) {
    match v {
        Value::Object(m) => {
            let is_map = maps.iter().any(|p| path_glob(p, path));
            if is_map {
                if !m.is_empty() {
                    out.push((path.to_owned(), Mutation::EmptyMap));
                }
            } else {
                out.push((path.to_owned(), Mutation::UnknownField));
            }
            for (k, c) in m {
                let p = format!("{path}/{}", esc(k));
                if !is_map {
                    out.push((p.clone(), Mutation::Omit));
                    if !c.is_null() {
                        out.push((p.clone(), Mutation::Null));
                    }
                }
                variants(c, &p, maps, out);
            }
        }
        Value::Array(a) => {
            if !a.is_empty() {
                out.push((path.to_owned(), Mutation::EmptyArray));
            }
            for (i, c) in a.iter().enumerate() {
                variants(c, &format!("{path}/{i}"), maps, out);
            }
        }
        _ => {}
    }
}

fn apply(base: &Value, path: &str, m: Mutation) -> Value {
    let mut v = base.clone();
    match m {
        Mutation::UnknownField => {
            v.pointer_mut(path)
                .and_then(Value::as_object_mut)
                .unwrap()
                .insert("x_field_not_documented".into(), json!({"a": [1, null]}));
        }
        Mutation::Null => *v.pointer_mut(path).unwrap() = Value::Null,
        Mutation::EmptyArray => *v.pointer_mut(path).unwrap() = json!([]),
        Mutation::EmptyMap => *v.pointer_mut(path).unwrap() = json!({}),
        Mutation::Omit => {
            let (parent, key) = path.rsplit_once('/').unwrap();
            let key = key.replace("~1", "/").replace("~0", "~");
            v.pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .unwrap()
                .remove(&key)
                .unwrap();
        }
    }
    v
}

/// `*` matches any run of characters.
fn glob(pat: &str, s: &str) -> bool {
    match pat.split_once('*') {
        None => pat == s,
        Some((head, tail)) => {
            let Some(rest) = s.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

/// `a|b`: either glob.
fn alt_glob(pat: &str, s: &str) -> bool {
    pat.split('|').any(|p| glob(p, s))
}

/// Segment by segment, so a `*` never spans a `/`.
fn path_glob(pat: &str, path: &str) -> bool {
    let (p, s): (Vec<_>, Vec<_>) = (pat.split('/').collect(), path.split('/').collect());
    p.len() == s.len() && p.iter().zip(&s).all(|(p, s)| alt_glob(p, s))
}

#[derive(Default)]
struct Report {
    checked: usize,
    failures: Vec<String>,
    excepted: BTreeSet<(usize, Mutation)>,
}

impl Report {
    fn walk(&mut self, name: &str, base: &Value, maps: &[&str], d: Decoder) {
        self.checked += 1;
        if let Err(e) = d(base) {
            self.failures
                .push(format!("{name}: the body as recorded: {e}"));
        }
        let mut vs = Vec::new();
        variants(base, "", maps, &mut vs);
        for (path, m) in vs {
            self.checked += 1;
            let Err(e) = d(&apply(base, &path, m)) else {
                continue;
            };
            match EXCEPTIONS.iter().position(|(b, p, ms, _)| {
                ms.contains(&m) && alt_glob(b, name) && path_glob(p, &path)
            }) {
                Some(i) => {
                    self.excepted.insert((i, m));
                }
                None => self.failures.push(format!("{name} {path}: {m}: {e}")),
            }
        }
    }

    fn assert_clean(&self, min_checked: usize) {
        let stale: Vec<_> = EXCEPTIONS
            .iter()
            .enumerate()
            .flat_map(|(i, (b, p, ms, why))| ms.iter().map(move |m| (i, b, p, *m, why)))
            .filter(|(i, _, _, m, _)| !self.excepted.contains(&(*i, *m)))
            .map(|(_, b, p, m, why)| format!("{b} {p}: {m} (listed because: {why})"))
            .collect();
        assert!(
            self.checked >= min_checked,
            "the walk checked only {} variants: are the fixtures there?",
            self.checked
        );
        assert!(
            self.failures.is_empty() && stale.is_empty(),
            "{} of {} variants do not decode:\n  {}\n\nexceptions that no longer fail (remove them):\n  {}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n  "),
            stale.join("\n  ")
        );
    }
}

#[test]
fn every_documented_answer_and_its_odd_variants_decode() {
    let mut report = Report::default();
    for (name, body, d, maps) in bodies() {
        report.walk(name, &body, maps, d);
    }
    report.assert_clean(150);
}

#[test]
fn the_walk_catches_a_strict_struct() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        run_list: Vec<String>,
    }
    let mut report = Report::default();
    report.walk("strict", &json!({"run_list": ["recipe[a]"]}), &[], |v| {
        serde_json::from_value::<Strict>(v.clone())
            .map(drop)
            .map_err(|e| e.to_string())
    });
    assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
    assert!(
        report.failures[0].contains("/run_list: omitted"),
        "{:?}",
        report.failures
    );
    assert!(
        report.failures[1].contains("/run_list: null"),
        "{:?}",
        report.failures
    );
}

#[test]
fn nulls_read_as_chef_defaults() {
    let n: Node = serde_json::from_value(json!({"name": "a", "chef_environment": null,
        "run_list": null, "automatic": null, "json_class": null}))
    .unwrap();
    assert_eq!(n.chef_environment, "_default");
    assert!(n.run_list.is_empty() && n.automatic.is_empty());
    assert_eq!(n.json_class, "Chef::Node");
}

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
//! the reason it is deliberate; an exception that no longer fails fails the test too. The
//! walk itself is `ops_proptest::shape`, shared with the other clients.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use ops_proptest::shape::{Decoder, Exception, Mutation, Walk, decode};
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
const EXCEPTIONS: &[Exception] = &[
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
        ("node", node(), decode::<Node>, ATTRS),
        (
            "client",
            json!({"name": "web-01", "clientname": "web-01", "validator": false,
            "admin": false, "orgname": "acme", "json_class": "Chef::ApiClient",
            "chef_type": "client", "public_key": "-----BEGIN PUBLIC KEY-----"}),
            decode::<ApiClient>,
            &[],
        ),
        (
            "user",
            json!({"username": "alice", "display_name": "Alice",
            "email": "alice@example.com", "admin": true, "public_key": "k"}),
            decode::<User>,
            &[],
        ),
        (
            "user_both_names",
            json!({"username": "alice", "name": "alice", "display_name": "Alice",
            "email": "alice@example.com", "admin": true, "public_key": "k"}),
            decode::<User>,
            &[],
        ),
        (
            "role",
            json!({"name": "web", "description": "web servers", "json_class":
            "Chef::Role", "chef_type": "role", "run_list": ["recipe[nginx]"],
            "env_run_lists": {"prod": ["recipe[nginx]"]}, "default_attributes": {"a": 1},
            "override_attributes": {"b": 2}}),
            decode::<Role>,
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
            decode::<Environment>,
            &[
                "/cookbook_versions",
                "/default_attributes",
                "/override_attributes",
            ],
        ),
        (
            "listing",
            json!({"web-01": "https://chef.example.com/nodes/web-01"}),
            decode::<BTreeMap<String, String>>,
            &[""],
        ),
        (
            "search_node",
            json!({"total": 1, "start": 0, "rows": [node()]}),
            decode::<SearchPage<Node>>,
            ROW_ATTRS,
        ),
        (
            "search_partial",
            json!({"total": 1, "start": 0, "rows": [{"url":
            "https://chef.example.com/nodes/web-01", "data": {"name": "web-01",
            "ip": "10.0.0.5", "missing": null}}]}),
            decode::<SearchPage<PartialRow>>,
            &["/rows/*/data"],
        ),
        (
            "search_data_bag",
            json!({"total": 1, "start": 0, "rows": [{"name":
            "data_bag_item_users_alice", "data_bag": "users", "json_class":
            "Chef::DataBagItem", "chef_type": "data_bag_item", "raw_data": {"id": "alice",
            "ssh_keys": ["ssh-ed25519 AAAA"]}}]}),
            decode::<SearchPage<DataBagSearchRow>>,
            &["/rows/*/raw_data"],
        ),
        (
            "status",
            json!({"status": "pong", "upstreams": {"chef_solr": "pong",
            "chef_sql": "pong"}, "keygen": {"keys": 10}}),
            decode::<ServerStatus>,
            &["/upstreams"],
        ),
    ]
}

#[test]
fn every_documented_answer_and_its_odd_variants_decode() {
    let mut walk = Walk::new(EXCEPTIONS);
    for (name, body, d, maps) in bodies() {
        walk.walk(name, &body, maps, d);
    }
    walk.assert_clean(150);
}

#[test]
fn the_walk_catches_a_strict_struct() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        run_list: Vec<String>,
    }
    let mut walk = Walk::new(&[]);
    walk.walk(
        "strict",
        &json!({"run_list": ["recipe[a]"]}),
        &[],
        decode::<Strict>,
    );
    walk.assert_failures(&["/run_list: omitted", "/run_list: null"]);
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

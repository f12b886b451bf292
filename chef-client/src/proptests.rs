//! Issue #15: every decoder of outside data in this crate returns `Ok` or a typed error,
//! whatever the input, and what reads a decoded value never panics: the credentials file
//! (TOML) and its profiles, PEM keys, Chef JSON objects (nodes, clients, roles, environments,
//! data bag items, users, key answers), search and partial-search pages, `/_status`, error
//! bodies, and the request-signature check (`verify`) and its timestamp. Inputs: arbitrary
//! bytes and JSON with Chef's field names, and mutations of Chef-shaped bodies, of the
//! mixlib-authentication test vectors (`shared/reference/chef/vectors/`) and of a
//! credentials file. `PROPTEST_CASES` raises the case count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::auth::{SigningRequest, parse_timestamp, sign, verify};
use crate::resources::clients::KeyResponse;
use crate::resources::status::ServerStatus;
use crate::{
    ApiClient, Credentials, DataBagSearchRow, Environment, Error, Node, PartialRow, ProfileKey,
    ProtocolVersion, Role, SearchPage, SigningKey, User,
};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/chef/vectors"
);

fn private_pem() -> String {
    String::from_utf8(ops_proptest::fixture(&format!("{VECTORS}/private_key.pem"))).unwrap()
}

fn public_pem() -> String {
    String::from_utf8(ops_proptest::fixture(&format!("{VECTORS}/public_key.pem"))).unwrap()
}

/// Chef Server API answers, in the shapes Chef Infra Server and goiardi send.
fn objects() -> Vec<Value> {
    let node = json!({
        "name": "web1", "chef_environment": "prod", "json_class": "Chef::Node",
        "chef_type": "node", "run_list": ["role[base]", "recipe[users::sysadmins]"],
        "normal": {"tags": ["web"]}, "default": {"ntp": {"servers": ["a"]}},
        "override": {}, "automatic": {"ohai_time": 1795611000.5, "ipaddress": "192.0.2.1",
        "recipes": ["users::sysadmins"], "platform": "ubuntu"},
        "policy_name": null, "policy_group": null
    });
    vec![
        node.clone(),
        json!({"name": "web1", "clientname": "web1", "validator": false, "admin": false,
               "orgname": "acme", "public_key": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
               "json_class": "Chef::ApiClient", "chef_type": "client"}),
        json!({"uri": "https://chef/organizations/acme/clients/web1",
               "chef_key": {"name": "default", "expiration_date": "infinity",
                            "public_key": "-----BEGIN PUBLIC KEY-----\n", "private_key": "-----BEGIN RSA PRIVATE KEY-----\n"}}),
        json!({"uri": "https://chef/clients/web1", "private_key": "-----BEGIN RSA PRIVATE KEY-----\n"}),
        json!({"name": "base", "description": "Base role", "json_class": "Chef::Role",
               "chef_type": "role", "run_list": ["recipe[ntp]"],
               "env_run_lists": {"prod": ["recipe[ntp]", "recipe[audit]"]},
               "default_attributes": {"ntp": {}}, "override_attributes": {}}),
        json!({"name": "prod", "description": "", "cookbook_versions": {"users": "= 8.1.0"},
               "json_class": "Chef::Environment", "chef_type": "environment",
               "default_attributes": {}, "override_attributes": {"x": 1}}),
        json!({"username": "alice", "display_name": "Alice", "email": "alice@example.com",
               "first_name": "Alice", "admin": true}),
        json!({"id": "alice", "ssh_keys": ["ssh-ed25519 AAAA alice"], "groups": ["sysadmin"]}),
        json!({"web1": "https://chef/nodes/web1", "db1": "https://chef/nodes/db1"}),
        json!({"total": 2, "start": 0, "rows": [node.clone(), node]}),
        json!({"total": 1, "start": 0, "rows": [{"url": "https://chef/nodes/web1",
               "data": {"name": "web1", "ip": "192.0.2.1", "ohai_time": null}}]}),
        json!({"total": 1, "start": 0, "rows": [{"name": "data_bag_item_users_alice",
               "data_bag": "users", "json_class": "Chef::DataBagItem", "chef_type": "data_bag_item",
               "raw_data": {"id": "alice", "groups": ["sysadmin"]}}]}),
        json!({"status": "pong", "upstreams": {"chef_solr": "pong", "chef_sql": "pong"},
               "keygen": {"keys": 10}}),
        json!({"error": ["node 'x' not found"]}),
        json!({"error": "invalid-x-ops-server-api-version", "message": "Specified version 9 not supported",
               "min_version": 0, "max_version": 2}),
        json!({"error": ["Failed to authenticate as 'web1'. Synchronize the clock on your host."]}),
    ]
}

fn corpus_bytes() -> &'static [Vec<u8>] {
    static C: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    C.get_or_init(|| {
        let mut out: Vec<Vec<u8>> = objects()
            .iter()
            .map(|v| serde_json::to_vec(v).unwrap())
            .collect();
        for name in ["misc.json", "v1_0.json", "v1_1.json", "v1_3.json"] {
            out.push(ops_proptest::fixture(&format!("{VECTORS}/{name}")));
        }
        out
    })
}

const FIELDS: &[&str] = &[
    "name",
    "clientname",
    "chef_environment",
    "json_class",
    "chef_type",
    "run_list",
    "normal",
    "default",
    "override",
    "automatic",
    "policy_name",
    "policy_group",
    "validator",
    "admin",
    "orgname",
    "public_key",
    "private_key",
    "uri",
    "chef_key",
    "description",
    "env_run_lists",
    "default_attributes",
    "override_attributes",
    "cookbook_versions",
    "username",
    "display_name",
    "email",
    "id",
    "total",
    "start",
    "rows",
    "url",
    "data",
    "raw_data",
    "data_bag",
    "status",
    "upstreams",
    "error",
    "message",
    "min_version",
    "max_version",
];

fn touch_error(e: &Error) {
    let _ = (e.to_string(), format!("{e:?}"), e.status(), e.messages());
    let _ = (
        e.is_not_found(),
        e.is_conflict(),
        e.is_unauthorized(),
        e.is_clock_skew(),
    );
    let _ = (e.is_forbidden(), e.is_rate_limited(), e.retry_after());
}

fn touch_node(n: &mut Node) {
    let _ = n.attribute(&["ohai_time"]);
    let _ = n.attribute(&["ntp", "servers"]);
    let _ = n.add_to_run_list("recipe[users::sysadmins]");
    let _ = n.remove_from_run_list("role[base]");
    n.set_normal(&["a", "b"], json!(1));
    let _ = n.remove_normal(&["tags"]);
    serde_json::to_vec(n).unwrap();
}

/// Every JSON decoder of the client over one body (as `Client::json` decodes it).
fn decode_all(body: &[u8]) {
    let de = |what| move |source| Error::Decode { what, source };
    match serde_json::from_slice::<Node>(body).map_err(de("node")) {
        Ok(mut n) => touch_node(&mut n),
        Err(e) => touch_error(&e),
    }
    if let Ok(c) = serde_json::from_slice::<ApiClient>(body) {
        let _ = format!("{c:?}");
    }
    if let Ok(k) = serde_json::from_slice::<KeyResponse>(body) {
        let k = k.into_key("web1");
        assert!(!format!("{k:?}").contains("BEGIN RSA PRIVATE"));
    }
    let _ = serde_json::from_slice::<Role>(body).map(|r| serde_json::to_vec(&r).unwrap());
    let _ = serde_json::from_slice::<Environment>(body).map(|e| serde_json::to_vec(&e).unwrap());
    let _ = serde_json::from_slice::<User>(body);
    if let Ok(m) = serde_json::from_slice::<BTreeMap<String, Value>>(body) {
        let _ = crate::resources::names(m);
    }
    if let Ok(page) = serde_json::from_slice::<SearchPage<Node>>(body) {
        for mut n in page.rows {
            touch_node(&mut n);
        }
    }
    if let Ok(page) = serde_json::from_slice::<SearchPage<PartialRow>>(body) {
        for r in page.rows {
            let _ = r.data.get("name").and_then(Value::as_str);
        }
    }
    let _ = serde_json::from_slice::<SearchPage<DataBagSearchRow>>(body);
    let _ = serde_json::from_slice::<SearchPage<Value>>(body);
    match ServerStatus::from_body(body) {
        Ok(s) => {
            let _ = s.is_healthy();
        }
        Err(e) => touch_error(&e),
    }
    for status in [400u16, 401, 403, 404, 406, 409, 412, 429, 500, 503] {
        let e = Error::from_response(StatusCode::from_u16(status).unwrap(), None, body);
        touch_error(&e);
        if let Error::Api { body, .. } = &e {
            let _ = (body.summary(), body.mentions_time());
        }
    }
}

const CREDENTIALS: &str = r#"
[default]
client_name = "alice"
client_key = "keys/alice.pem"
chef_server_url = "https://chef.example.com/organizations/acme"

[prod]
node_name = "deploy"
client_key = """
-----BEGIN RSA PRIVATE KEY-----
SECRETLINE
-----END RSA PRIVATE KEY-----
"""
chef_server_url = "https://chef.prod.example.com/organizations/acme/"

[abs]
client_name = "bob"
client_key = "~/.chef/bob.pem"
chef_server_url = "http://127.0.0.1:4545"
"#;

fn credentials_corpus() -> Vec<String> {
    let inline = format!(
        "[real]\nclient_name = \"spec-user\"\nchef_server_url = \"https://chef/organizations/clownco\"\nclient_key = \"\"\"\n{}\"\"\"\n",
        private_pem()
    );
    vec![CREDENTIALS.to_owned(), inline]
}

/// Parse a credentials file and resolve every profile (and an inline key), as a caller does.
fn read_credentials(text: &str) {
    let path = "/home/u/.chef/credentials";
    match Credentials::parse(text, path) {
        Ok(c) => {
            let names: Vec<String> = c.profile_names().map(str::to_owned).collect();
            for name in names
                .iter()
                .map(String::as_str)
                .chain(["default", "", "missing"])
            {
                match c.named_profile(name) {
                    Ok(p) => {
                        assert!(!format!("{p:?}").contains("SECRETLINE"));
                        if let ProfileKey::Inline(pem) = &p.client_key {
                            if let Ok(k) = SigningKey::from_pem(pem.clone()) {
                                let _ = (k.bits(), k.public_key_pem());
                            }
                        }
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        assert!(msg.contains(path), "{msg}");
                        assert!(!msg.contains("SECRETLINE"), "{msg}");
                    }
                }
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains(path), "{msg}");
            assert!(!msg.contains("SECRETLINE"), "{msg}");
        }
    }
}

/// A request signed with the vectors' key, as header pairs.
fn signed_headers(version: ProtocolVersion) -> Vec<(String, String)> {
    let key = SigningKey::from_pem(private_pem()).unwrap();
    let req = SigningRequest {
        method: "POST",
        path: "/organizations/clownco",
        body: b"Spec Body",
        user_id: "spec-user",
        timestamp: "2009-01-01T12:00:00Z",
        server_api_version: "1",
        version,
    };
    sign(&key, &req).unwrap().pairs()
}

fn signed_corpus() -> &'static [Vec<(String, String)>] {
    static C: OnceLock<Vec<Vec<(String, String)>>> = OnceLock::new();
    C.get_or_init(|| {
        [
            ProtocolVersion::V1_0,
            ProtocolVersion::V1_1,
            ProtocolVersion::V1_3,
        ]
        .into_iter()
        .map(signed_headers)
        .collect()
    })
}

#[derive(Debug, Clone)]
enum HeaderEdit {
    Replace(proptest::sample::Index, String),
    Drop(proptest::sample::Index),
    Add(String, String),
}

fn header_edit() -> impl Strategy<Value = HeaderEdit> {
    let value = prop_oneof![
        proptest::sample::select(vec![
            "",
            "version=9",
            "algorithm=sha1;version=1.3",
            "version=1.0;version=1.3",
            "=",
            "2009-13-01T12:00:00Z",
            "9999-12-31T23:59:60Z",
            "0000-00-00T00:00:00Z",
            "2009-01-01T12:00:00",
            "====",
            "AAAA",
            "\u{7f}",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,64}",
    ];
    prop_oneof![
        3 => (any::<proptest::sample::Index>(), value.clone()).prop_map(|(i, v)| HeaderEdit::Replace(i, v)),
        2 => any::<proptest::sample::Index>().prop_map(HeaderEdit::Drop),
        1 => (prop_oneof![Just("x-ops-authorization-7".to_owned()), "x-ops-[a-z-]{1,12}"], value)
            .prop_map(|(n, v)| HeaderEdit::Add(n, v)),
    ]
}

#[test]
fn the_corpus_decodes_and_the_signatures_verify() {
    for b in corpus_bytes() {
        decode_all(b);
    }
    for text in credentials_corpus() {
        read_credentials(&text);
    }
    for pairs in signed_corpus() {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        verify(
            &public_pem(),
            "POST",
            "/organizations/clownco",
            b"Spec Body",
            &h,
        )
        .unwrap();
    }
}

proptest! {
    #![proptest_config(ops_proptest::config())]

    #[test]
    fn proptest_arbitrary_bytes_decode_or_fail_typed(b in ops_proptest::bytes_arbitrary()) {
        decode_all(&b);
    }

    #[test]
    fn proptest_mutated_chef_bodies_decode_or_fail_typed(b in prop_oneof![
        ops_proptest::bytes_mutated(corpus_bytes().to_vec()),
        ops_proptest::json_mutated_bytes(objects()),
        ops_proptest::json_arbitrary(FIELDS).prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ]) {
        decode_all(&b);
    }

    #[test]
    fn proptest_credentials_files_parse_or_fail_naming_the_file(text in prop_oneof![
        3 => ops_proptest::toml_mutated(credentials_corpus()),
        1 => ops_proptest::text_mutated(credentials_corpus()),
    ]) {
        read_credentials(&text);
    }

    #[test]
    fn proptest_signatures_verify_or_are_refused(
        pick in any::<proptest::sample::Index>(),
        edits in proptest::collection::vec(header_edit(), 1..=3),
        body in prop_oneof![Just(b"Spec Body".to_vec()), ops_proptest::bytes_arbitrary()],
        public in prop_oneof![
            4 => Just(public_pem()),
            1 => ops_proptest::text_mutated(vec![public_pem()]),
        ],
    ) {
        let mut pairs = signed_corpus()[pick.index(3)].clone();
        for e in edits {
            match e {
                HeaderEdit::Replace(i, v) => {
                    let n = i.index(pairs.len().max(1));
                    if let Some(p) = pairs.get_mut(n) {
                        p.1 = v;
                    }
                }
                HeaderEdit::Drop(i) if !pairs.is_empty() => {
                    pairs.remove(i.index(pairs.len()));
                }
                HeaderEdit::Add(k, v) => pairs.push((k, v)),
                HeaderEdit::Drop(_) => {}
            }
        }
        let mut h = HeaderMap::new();
        for (k, v) in &pairs {
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                h.insert(k, v);
            }
        }
        if let Ok(v) = verify(&public, "POST", "/organizations/clownco", &body, &h) {
            let _ = parse_timestamp(&v.timestamp);
        }
    }

    #[test]
    fn proptest_timestamps_parse_or_are_none(s in prop_oneof![
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
        "[-+0-9]{4}-[-+0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
        "\\PC{0,24}",
    ]) {
        if let Some(t) = parse_timestamp(&s) {
            let _ = t.duration_since(std::time::UNIX_EPOCH);
        }
    }
}

proptest! {
    #![proptest_config(ops_proptest::config_scaled(4))]

    /// RSA key checks cost milliseconds each: a quarter of the cases.
    #[test]
    fn proptest_pem_keys_load_or_fail_typed(pem in prop_oneof![
        ops_proptest::text_mutated(vec![private_pem()]),
        "\\PC{0,200}",
    ]) {
        match SigningKey::from_pem(pem) {
            Ok(k) => {
                let _ = (k.bits(), k.public_key_pem(), format!("{k:?}"));
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(!msg.contains("MII"), "the error quotes the key: {msg}");
            }
        }
    }
}

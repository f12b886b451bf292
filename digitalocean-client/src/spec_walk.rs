//! Issue #16: decoding follows the official OpenAPI spec, mechanically.
//!
//! For every operation this crate implements, the walk takes the spec's schema of each
//! answer it decodes (success and error), builds a complete instance of it (every property
//! present, values from the spec's `example`s or made from the declared type), checks that
//! instance decodes with the decoder the client really uses, and then checks every variant
//! a server may send while staying within the spec:
//!
//! - a property that is not `required` is **omitted**;
//! - a property marked `nullable` is **`null`**;
//! - an array is **empty**;
//! - an object carries an **unknown field** (the spec's objects are open).
//!
//! A variant that does not decode fails the test with the operation, the JSON path and
//! serde's message, unless it is listed in [`EXCEPTIONS`] with the reason it is deliberate;
//! an exception that no longer fails fails the test too, so the list stays true. The
//! variants come from the spec here; the mutations, the exceptions and the verdict are
//! `ops_proptest::shape`, the engine of the other clients' shape walks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use ops_proptest::shape::{Decoder, Exception, Mutation, Walk, apply, decode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::client::error_from_response;
use crate::pagination::decode_page;
use crate::{
    AccountInfo, Action, AlertPolicy, Balance, Certificate, CreatedDroplet, CreatedDroplets,
    Domain, DomainRecord, Droplet, Error, Firewall, Image, LoadBalancer, Project, ProjectResource,
    Region, ReservedIp, Size, Snapshot, SshKey, Tag, Volume, Vpc, VpcMember,
};

const SPEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/digitalocean/openapi.yaml"
);

/// Variants that are allowed to fail, each with its reason. Format:
/// `(operation id, JSON path, mutations, why)`; `*` in either matches any text within one
/// name or path segment, `a|b` either.
const EXCEPTIONS: &[Exception] = &[];

/// One class of deliberate exception, documented here rather than listed per operation:
/// the spec marks no envelope key `required` (`{"droplet": …}`, `{"action": …}`, …), but
/// a single-resource answer without its resource has nothing to return. The client fails
/// with a typed decode error naming the missing key; the walk checks that it does.
fn is_missing_envelope(path: &str, m: Mutation, status: &str, err: &str) -> bool {
    m == Mutation::Omit
        && status.starts_with('2')
        && path.matches('/').count() == 1
        && err == format!("no `{}` in the answer", &path[1..])
}

fn spec() -> &'static Value {
    static SPEC_JSON: OnceLock<Value> = OnceLock::new();
    SPEC_JSON.get_or_init(|| {
        let text = std::fs::read_to_string(SPEC).unwrap_or_else(|e| {
            panic!("{SPEC}: {e} (the spec-walk test needs ../shared/reference/digitalocean)")
        });
        // A few database limits in the spec (`maximum: 18446744073709552000`) exceed 64-bit
        // integers; read such a literal as the float it was written from.
        let text: String = text
            .lines()
            .map(|l| match l.rsplit_once(": ") {
                Some((k, n)) if n.len() > 19 && n.bytes().all(|b| b.is_ascii_digit()) => {
                    format!("{k}: {n}.0\n")
                }
                _ => format!("{l}\n"),
            })
            .collect();
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{SPEC}: not YAML: {e}"))
    })
}

fn one<T: DeserializeOwned>(v: &Value, key: &str) -> Result<(), String> {
    let inner = v
        .get(key)
        .ok_or_else(|| format!("no `{key}` in the answer"))?;
    decode::<T>(inner)
}

fn page<T: DeserializeOwned>(v: &Value, key: &str) -> Result<(), String> {
    let bytes = serde_json::to_vec(v).unwrap();
    decode_page::<T>(&bytes, key, "spec walk")
        .map(drop)
        .map_err(|e| format!("{e}: {:?}", std::error::Error::source(&e)))
}

/// A create answer decoded whole (the resource and its `links`), whose resource sits under
/// `key`: a missing `key` is the missing envelope of [`is_missing_envelope`].
fn enveloped<T: DeserializeOwned>(v: &Value, key: &str) -> Result<(), String> {
    if v.get(key).is_none() {
        return Err(format!("no `{key}` in the answer"));
    }
    decode::<T>(v)
}

fn created(v: &Value) -> Result<(), String> {
    // The client decodes the answer of the request it sent; the walk decides by shape.
    if v.get("droplets").is_some() {
        decode::<CreatedDroplets>(v)
    } else {
        decode::<CreatedDroplet>(v)
    }
}

/// Every operation the client implements, and the decoder of its success answer
/// ([`no_body`] where the client reads none). The README's coverage table is checked
/// against this list (`the_readme_coverage_table_is_true`): a new method joins it.
const OPERATIONS: &[(&str, Decoder)] = &[
    ("account_get", |v| one::<AccountInfo>(v, "account")),
    ("sshKeys_list", |v| page::<SshKey>(v, "ssh_keys")),
    ("sshKeys_create", |v| one::<SshKey>(v, "ssh_key")),
    ("sshKeys_get", |v| one::<SshKey>(v, "ssh_key")),
    ("sshKeys_update", |v| one::<SshKey>(v, "ssh_key")),
    ("sshKeys_delete", no_body),
    ("actions_get", |v| one::<Action>(v, "action")),
    ("domains_list", |v| page::<Domain>(v, "domains")),
    ("domains_create", |v| one::<Domain>(v, "domain")),
    ("domains_get", |v| one::<Domain>(v, "domain")),
    ("domains_delete", no_body),
    ("domains_delete_record", no_body),
    ("domains_list_records", |v| {
        page::<DomainRecord>(v, "domain_records")
    }),
    ("domains_create_record", |v| {
        one::<DomainRecord>(v, "domain_record")
    }),
    ("domains_get_record", |v| {
        one::<DomainRecord>(v, "domain_record")
    }),
    ("domains_update_record", |v| {
        one::<DomainRecord>(v, "domain_record")
    }),
    ("droplets_list", |v| page::<Droplet>(v, "droplets")),
    ("droplets_create", created),
    ("droplets_get", |v| one::<Droplet>(v, "droplet")),
    ("droplets_destroy", no_body),
    ("droplets_destroy_byTag", no_body),
    ("dropletActions_post", |v| one::<Action>(v, "action")),
    ("dropletActions_get", |v| one::<Action>(v, "action")),
    ("images_list", |v| page::<Image>(v, "images")),
    ("images_get", |v| one::<Image>(v, "image")),
    ("regions_list", |v| page::<Region>(v, "regions")),
    ("sizes_list", |v| page::<Size>(v, "sizes")),
    ("tags_list", |v| page::<Tag>(v, "tags")),
    ("tags_create", |v| one::<Tag>(v, "tag")),
    ("tags_get", |v| one::<Tag>(v, "tag")),
    ("tags_delete", no_body),
    ("tags_assign_resources", no_body),
    ("tags_unassign_resources", no_body),
    // Issue #22.
    ("firewalls_list", |v| page::<Firewall>(v, "firewalls")),
    ("firewalls_create", |v| one::<Firewall>(v, "firewall")),
    ("firewalls_get", |v| one::<Firewall>(v, "firewall")),
    ("firewalls_update", |v| one::<Firewall>(v, "firewall")),
    // Answers without a body (204), walked for their error answers only.
    ("firewalls_delete", no_body),
    ("firewalls_assign_droplets", no_body),
    ("firewalls_delete_droplets", no_body),
    ("firewalls_add_tags", no_body),
    ("firewalls_delete_tags", no_body),
    ("firewalls_add_rules", no_body),
    ("firewalls_delete_rules", no_body),
    ("reservedIPs_list", |v| {
        page::<ReservedIp>(v, "reserved_ips")
    }),
    ("reservedIPs_create", |v| {
        enveloped::<crate::CreatedReservedIp>(v, "reserved_ip")
    }),
    ("reservedIPs_get", |v| one::<ReservedIp>(v, "reserved_ip")),
    ("reservedIPs_delete", no_body),
    ("reservedIPsActions_post", |v| one::<Action>(v, "action")),
    ("reservedIPsActions_get", |v| one::<Action>(v, "action")),
    ("vpcs_list", |v| page::<Vpc>(v, "vpcs")),
    ("vpcs_create", |v| one::<Vpc>(v, "vpc")),
    ("vpcs_get", |v| one::<Vpc>(v, "vpc")),
    ("vpcs_update", |v| one::<Vpc>(v, "vpc")),
    ("vpcs_delete", no_body),
    ("vpcs_list_members", |v| page::<VpcMember>(v, "members")),
    ("volumes_list", |v| page::<Volume>(v, "volumes")),
    ("volumes_create", |v| one::<Volume>(v, "volume")),
    ("volumes_get", |v| one::<Volume>(v, "volume")),
    ("volumes_delete", no_body),
    ("volumes_delete_byName", no_body),
    ("volumeActions_post_byId", |v| one::<Action>(v, "action")),
    ("volumeActions_get", |v| one::<Action>(v, "action")),
    ("volumeSnapshots_list", |v| page::<Snapshot>(v, "snapshots")),
    ("volumeSnapshots_create", |v| one::<Snapshot>(v, "snapshot")),
    ("volumeSnapshots_get_byId", |v| {
        one::<Snapshot>(v, "snapshot")
    }),
    ("volumeSnapshots_delete_byId", no_body),
    ("projects_list", |v| page::<Project>(v, "projects")),
    ("projects_create", |v| one::<Project>(v, "project")),
    ("projects_get", |v| one::<Project>(v, "project")),
    ("projects_get_default", |v| one::<Project>(v, "project")),
    ("projects_update", |v| one::<Project>(v, "project")),
    ("projects_update_default", |v| one::<Project>(v, "project")),
    ("projects_delete", no_body),
    ("projects_list_resources", |v| {
        page::<ProjectResource>(v, "resources")
    }),
    ("projects_list_resources_default", |v| {
        page::<ProjectResource>(v, "resources")
    }),
    ("projects_assign_resources", |v| {
        page::<ProjectResource>(v, "resources")
    }),
    ("projects_assign_resources_default", |v| {
        page::<ProjectResource>(v, "resources")
    }),
    ("monitoring_list_alertPolicy", |v| {
        page::<AlertPolicy>(v, "policies")
    }),
    ("monitoring_create_alertPolicy", |v| {
        one::<AlertPolicy>(v, "policy")
    }),
    ("monitoring_get_alertPolicy", |v| {
        one::<AlertPolicy>(v, "policy")
    }),
    ("monitoring_update_alertPolicy", |v| {
        one::<AlertPolicy>(v, "policy")
    }),
    ("monitoring_delete_alertPolicy", no_body),
    ("snapshots_list", |v| page::<Snapshot>(v, "snapshots")),
    ("snapshots_get", |v| one::<Snapshot>(v, "snapshot")),
    ("snapshots_delete", no_body),
    ("loadBalancers_list", |v| {
        page::<LoadBalancer>(v, "load_balancers")
    }),
    ("loadBalancers_create", |v| {
        one::<LoadBalancer>(v, "load_balancer")
    }),
    ("loadBalancers_get", |v| {
        one::<LoadBalancer>(v, "load_balancer")
    }),
    ("loadBalancers_update", |v| {
        one::<LoadBalancer>(v, "load_balancer")
    }),
    ("loadBalancers_delete", no_body),
    ("loadBalancers_add_droplets", no_body),
    ("loadBalancers_remove_droplets", no_body),
    ("loadBalancers_add_forwardingRules", no_body),
    ("loadBalancers_remove_forwardingRules", no_body),
    ("certificates_list", |v| {
        page::<Certificate>(v, "certificates")
    }),
    ("certificates_create", |v| {
        one::<Certificate>(v, "certificate")
    }),
    ("certificates_get", |v| one::<Certificate>(v, "certificate")),
    ("certificates_delete", no_body),
    ("balance_get", decode::<Balance>),
];

/// For an operation whose success answer has no body: the walk only reaches its error
/// answers, which go through [`error_body`]; a JSON success body would be a spec change
/// worth a look.
fn no_body(v: &Value) -> Result<(), String> {
    Err(format!("a body where the client reads none: {v}"))
}

/// Error answers go through the client's own error path, which must keep the server's
/// message (`Error::Api`), not fall back to a raw snippet.
fn error_body(v: &Value) -> Result<(), String> {
    let body = serde_json::to_vec(v).unwrap();
    match error_from_response(StatusCode::BAD_REQUEST, &HeaderMap::new(), &body) {
        Error::Api { .. } => Ok(()),
        other => Err(format!("not read as the API's error: {other}")),
    }
}

/// How a failure names its variant: why the spec allows it.
fn described(m: Mutation) -> String {
    match m {
        Mutation::Omit => "omitted (not required)".into(),
        Mutation::Null => "null (nullable)".into(),
        other => other.to_string(),
    }
}

/// A schema with `$ref` resolved and `allOf` merged (properties, required, nullable).
#[derive(Debug, Default, Clone)]
struct Flat {
    ty: Option<String>,
    nullable: bool,
    properties: BTreeMap<String, Value>,
    required: BTreeSet<String>,
    items: Option<Value>,
    example: Option<Value>,
    enumeration: Option<Vec<Value>>,
    format: Option<String>,
    /// `oneOf`/`anyOf` alternatives, each walked on its own.
    alternatives: Vec<Value>,
}

fn resolve(schema: &Value) -> &Value {
    let mut s = schema;
    for _ in 0..32 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let ptr = r
                    .strip_prefix('#')
                    .expect("only local $refs in the bundled spec");
                s = spec()
                    .pointer(ptr)
                    .unwrap_or_else(|| panic!("dangling $ref {r}"));
            }
            None => return s,
        }
    }
    panic!("$ref cycle at {schema}")
}

fn flatten(schema: &Value) -> Flat {
    let s = resolve(schema);
    let mut f = Flat::default();
    if let Some(parts) = s.get("allOf").and_then(Value::as_array) {
        for p in parts {
            let pf = flatten(p);
            f.ty = f.ty.or(pf.ty);
            f.nullable |= pf.nullable;
            f.properties.extend(pf.properties);
            f.required.extend(pf.required);
            f.items = f.items.or(pf.items);
            f.example = f.example.or(pf.example);
            f.enumeration = f.enumeration.or(pf.enumeration);
            f.format = f.format.or(pf.format);
            f.alternatives.extend(pf.alternatives);
        }
    }
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        f.ty = Some(t.to_string());
    }
    if s.get("nullable").and_then(Value::as_bool) == Some(true) {
        f.nullable = true;
    }
    if let Some(p) = s.get("properties").and_then(Value::as_object) {
        f.properties
            .extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(r) = s.get("required").and_then(Value::as_array) {
        f.required
            .extend(r.iter().filter_map(Value::as_str).map(String::from));
    }
    if let Some(i) = s.get("items") {
        f.items = Some(i.clone());
    }
    if let Some(e) = s.get("example") {
        f.example = Some(e.clone());
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        f.enumeration = Some(e.clone());
    }
    if let Some(fm) = s.get("format").and_then(Value::as_str) {
        f.format = Some(fm.to_string());
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            f.alternatives.extend(alts.iter().cloned());
        }
    }
    if f.ty.is_none() && !f.properties.is_empty() {
        f.ty = Some("object".into());
    }
    f
}

/// A complete instance: every property present. `pick` chooses among `oneOf` alternatives.
fn instance(schema: &Value, depth: usize) -> Value {
    let f = flatten(schema);
    if let Some(alt) = f.alternatives.first()
        && f.properties.is_empty()
    {
        return instance(alt, depth + 1);
    }
    if depth > 8 {
        return Value::Null;
    }
    match f.ty.as_deref() {
        Some("object") => {
            let mut m = Map::new();
            for (k, ps) in &f.properties {
                m.insert(k.clone(), instance(ps, depth + 1));
            }
            if m.is_empty()
                && let Some(ex @ Value::Object(_)) = &f.example
            {
                return ex.clone();
            }
            Value::Object(m)
        }
        Some("array") => match &f.items {
            Some(items) => Value::Array(vec![instance(items, depth + 1)]),
            None => json!([]),
        },
        other => {
            if let Some(ex) = &f.example
                && !ex.is_null()
                && matches_type(ex, other)
            {
                return ex.clone();
            }
            if let Some(first) = f.enumeration.as_ref().and_then(|e| e.first()) {
                return first.clone();
            }
            match other {
                Some("integer") => json!(1),
                Some("number") => json!(1.5),
                Some("boolean") => json!(true),
                _ => match f.format.as_deref() {
                    Some("date-time") => json!("2020-07-21T18:37:44Z"),
                    Some("uri") => json!("https://api.digitalocean.com/v2/x"),
                    _ => json!("x"),
                },
            }
        }
    }
}

fn matches_type(v: &Value, ty: Option<&str>) -> bool {
    match ty {
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        Some("string") => v.is_string(),
        _ => !v.is_object() && !v.is_array(),
    }
}

/// Every variant of `instance` the schema allows, as (JSON pointer, mutation).
fn variants(schema: &Value, path: &str, depth: usize, out: &mut Vec<(String, Mutation)>) {
    let f = flatten(schema);
    if depth > 8 {
        return;
    }
    if f.ty.as_deref() == Some("object") || !f.properties.is_empty() {
        out.push((path.to_string(), Mutation::UnknownField));
        for (k, ps) in &f.properties {
            let p = format!("{path}/{k}");
            let pf = flatten(ps);
            if !f.required.contains(k) {
                out.push((p.clone(), Mutation::Omit));
            }
            if pf.nullable {
                out.push((p.clone(), Mutation::Null));
            }
            variants(ps, &p, depth + 1, out);
        }
    } else if f.ty.as_deref() == Some("array") {
        out.push((path.to_string(), Mutation::EmptyArray));
        if let Some(items) = &f.items {
            variants(items, &format!("{path}/0"), depth + 1, out);
        }
    }
}

/// The answer schemas of `op`: (status, schema) for every status with a JSON body.
fn answers(op: &str) -> Vec<(String, Value)> {
    let paths = spec()["paths"].as_object().unwrap();
    let operation = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .find(|o| o.get("operationId").and_then(Value::as_str) == Some(op))
        .unwrap_or_else(|| panic!("operation {op} is not in the spec"));
    let mut out = Vec::new();
    for (status, resp) in operation["responses"].as_object().unwrap() {
        let resp = resolve(resp);
        if let Some(schema) = resp.pointer("/content/application~1json/schema") {
            out.push((status.clone(), schema.clone()));
        }
    }
    out
}

/// One decode: failures are labelled with the answer's status and say why the spec allows
/// the variant; the missing envelope key is checked here (see [`is_missing_envelope`]).
fn check(
    walk: &mut Walk,
    (op, status): (&str, &str),
    path: &str,
    m: Option<Mutation>,
    v: &Value,
    d: Decoder,
) {
    let result = match d(v) {
        Err(e) if m.is_some_and(|m| is_missing_envelope(path, m, status, &e)) => Ok(()),
        other => other,
    };
    if let Some(e) = walk.judge(op, m.map(|m| (path, m)), result) {
        let what = m.map_or("the complete instance".to_string(), described);
        walk.fail(format!("{op} {status} {path}: {what}: {e}"));
    }
}

fn walk_schema(walk: &mut Walk, op: &str, status: &str, schema: &Value, d: Decoder) {
    let roots: Vec<Value> = {
        let f = flatten(schema);
        if f.properties.is_empty() && !f.alternatives.is_empty() {
            f.alternatives
        } else {
            vec![schema.clone()]
        }
    };
    for root in roots {
        let base = instance(&root, 0);
        check(walk, (op, status), "", None, &base, d);
        let mut vs = Vec::new();
        variants(&root, "", 0, &mut vs);
        for (path, m) in vs {
            if let Some(v) = apply(&base, &path, m) {
                check(walk, (op, status), &path, Some(m), &v, d);
            }
        }
    }
}

#[test]
fn every_answer_the_spec_allows_decodes() {
    let mut walk = Walk::new(EXCEPTIONS);
    for (op, decoder) in OPERATIONS {
        for (status, schema) in answers(op) {
            let d: Decoder = if status.starts_with('2') {
                *decoder
            } else {
                error_body
            };
            walk_schema(&mut walk, op, &status, &schema, d);
        }
    }
    walk.assert_clean(1001);
}

#[test]
fn the_walk_catches_a_required_field_the_spec_leaves_optional() {
    // The walk itself must be able to fail: a model that requires `name` where the spec
    // does not is caught.
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        name: String,
    }
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
    let mut walk = Walk::new(&[]);
    walk_schema(&mut walk, "strict", "200", &schema, decode::<Strict>);
    walk.assert_failures(&["/name: omitted"]);
}

#[test]
fn an_interface_without_a_type_is_never_taken_for_public() {
    // `type` is not required in `network_v4`/`v6`: one left out is unknown, not public (the
    // old default), so a private address is never handed out as the public one.
    let d: Droplet = serde_json::from_value(json!({
        "id": 1, "name": "a", "status": "active", "networks": {
            "v4": [{"ip_address": "10.0.0.5"}, {"type": "public"}],
            "v6": [{"ip_address": "2001:db8::5"}]
        }
    }))
    .unwrap();
    assert_eq!(d.public_ipv4(), None);
    assert_eq!(d.private_ipv4(), None);
    assert_eq!(d.public_ipv6(), None);
}

/// The spec's resource groups (its `tags`), each with its operation ids, in the spec's order.
fn groups() -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = spec()["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), Vec::new()))
        .collect();
    for item in spec()["paths"].as_object().unwrap().values() {
        for o in item.as_object().unwrap().values() {
            let Some(id) = o.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            for tag in o["tags"].as_array().into_iter().flatten() {
                let tag = tag.as_str().unwrap();
                match out.iter_mut().find(|(name, _)| name == tag) {
                    Some((_, ops)) => ops.push(id.to_string()),
                    None => out.push((tag.to_string(), vec![id.to_string()])),
                }
            }
        }
    }
    out.retain(|(_, ops)| !ops.is_empty());
    out
}

/// The README's coverage table says, per resource group of the spec, how many of its
/// operations the client implements (counted from [`OPERATIONS`]): every group has a row,
/// and every row's figures are today's.
#[test]
fn the_readme_coverage_table_is_true() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let rows: Vec<(String, String)> = readme
        .split("## Coverage")
        .nth(1)
        .expect("a `## Coverage` section in README.md")
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].to_string(), cells[2].to_string())
        })
        .collect();
    let implemented: BTreeSet<&str> = OPERATIONS.iter().map(|(op, _)| *op).collect();
    let mut wrong = Vec::new();
    let groups = groups();
    for (group, ops) in &groups {
        let covered = ops
            .iter()
            .filter(|o| implemented.contains(o.as_str()))
            .count();
        let want = format!("{covered} / {}", ops.len());
        match rows.iter().find(|(g, _)| g == group) {
            Some((_, got)) if *got == want => {}
            Some((_, got)) => wrong.push(format!("{group}: README says `{got}`, is `{want}`")),
            None => wrong.push(format!("{group}: no row (add `| {group} | {want} | … |`)")),
        }
    }
    for (g, _) in &rows {
        if !groups.iter().any(|(name, _)| name == g) {
            wrong.push(format!("{g}: a row for a group the spec does not have"));
        }
    }
    assert!(
        wrong.is_empty(),
        "README coverage table:\n{}",
        wrong.join("\n")
    );
}

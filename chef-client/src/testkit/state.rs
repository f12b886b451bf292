//! The fake server's data and its Chef-shaped answers.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::resources::environments::Environment;
use crate::resources::nodes::Node;
use crate::resources::roles::Role;

use super::ADMIN;

pub(crate) type Answer = (StatusCode, Value);

fn err(status: StatusCode, msg: impl Into<String>) -> Answer {
    (status, json!({ "error": [msg.into()] }))
}

#[derive(Debug, Clone)]
pub(crate) struct ClientRecord {
    public_key: String,
    admin: bool,
    validator: bool,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    clients: BTreeMap<String, ClientRecord>,
    nodes: BTreeMap<String, Value>,
    roles: BTreeMap<String, Value>,
    environments: BTreeMap<String, Value>,
    data_bags: BTreeMap<String, BTreeMap<String, Value>>,
    /// Cookbook name → version → the uploaded version document.
    cookbooks: BTreeMap<String, BTreeMap<String, Value>>,
    /// While set, what search can find: per index, the object names indexed when
    /// [`State::freeze_search_index`] ran (a bag missing here has no index yet).
    frozen_index: Option<BTreeMap<String, BTreeSet<String>>>,
}

/// A fresh RSA-2048 key pair: (private PKCS#1 PEM, public SPKI PEM).
pub(crate) fn generate_key() -> Result<(SecretString, String), String> {
    let rsa = openssl::rsa::Rsa::generate(2048).map_err(|e| format!("RSA key generation: {e}"))?;
    let private = String::from_utf8(rsa.private_key_to_pem().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let public = String::from_utf8(rsa.public_key_to_pem().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    Ok((SecretString::from(private), public))
}

/// The admin key pair, generated once per process so that fakes start in milliseconds.
pub(crate) fn admin_key_pair() -> Result<(SecretString, String), String> {
    static KEY: std::sync::OnceLock<Result<(SecretString, String), String>> =
        std::sync::OnceLock::new();
    KEY.get_or_init(generate_key).clone()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Answer> {
    serde_json::from_slice(body)
        .map_err(|e| err(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")))
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn listing(map: impl Iterator<Item = String>, base: &str, kind: &str) -> Answer {
    let out: Map<String, Value> = map
        .map(|n| {
            let uri = json!(format!("{base}/{kind}/{n}"));
            (n, uri)
        })
        .collect();
    (StatusCode::OK, Value::Object(out))
}

/// What a typed collection needs to be served with generic CRUD.
trait Kind: DeserializeOwned + serde::Serialize {
    const KIND: &'static str;
    const LABEL: &'static str;
    fn name(&self) -> &str;
}
impl Kind for Node {
    const KIND: &'static str = "nodes";
    const LABEL: &'static str = "node";
    fn name(&self) -> &str {
        &self.name
    }
}
impl Kind for Role {
    const KIND: &'static str = "roles";
    const LABEL: &'static str = "role";
    fn name(&self) -> &str {
        &self.name
    }
}
impl Kind for Environment {
    const KIND: &'static str = "environments";
    const LABEL: &'static str = "environment";
    fn name(&self) -> &str {
        &self.name
    }
}

fn crud<T: Kind>(
    store: &mut BTreeMap<String, Value>,
    method: &Method,
    name: Option<&str>,
    body: &[u8],
    base: &str,
) -> Answer {
    let label = T::LABEL;
    match (method.as_str(), name) {
        ("GET", None) => listing(store.keys().cloned(), base, T::KIND),
        ("POST", None) => {
            let obj: T = match parse(body) {
                Ok(o) => o,
                Err(a) => return a,
            };
            let n = obj.name().to_owned();
            if !valid_name(&n) {
                return err(StatusCode::BAD_REQUEST, "Field 'name' invalid");
            }
            if store.contains_key(&n) {
                let mut cap = label.to_owned();
                cap[..1].make_ascii_uppercase();
                return err(StatusCode::CONFLICT, format!("{cap} already exists"));
            }
            store.insert(n.clone(), to_value(&obj));
            (
                StatusCode::CREATED,
                json!({ "uri": format!("{base}/{}/{n}", T::KIND) }),
            )
        }
        ("GET" | "HEAD", Some(n)) => match store.get(n) {
            Some(v) => (StatusCode::OK, v.clone()),
            None => err(StatusCode::NOT_FOUND, format!("{label} '{n}' not found")),
        },
        ("PUT", Some(n)) => {
            let obj: T = match parse(body) {
                Ok(o) => o,
                Err(a) => return a,
            };
            if obj.name() != n {
                return err(StatusCode::BAD_REQUEST, format!("{label} name mismatch."));
            }
            match store.get_mut(n) {
                Some(slot) => {
                    *slot = to_value(&obj);
                    (StatusCode::OK, slot.clone())
                }
                None => err(StatusCode::NOT_FOUND, format!("{label} '{n}' not found")),
            }
        }
        ("DELETE", Some(n)) => match store.remove(n) {
            Some(v) => (StatusCode::OK, v),
            None => err(StatusCode::NOT_FOUND, format!("{label} '{n}' not found")),
        },
        _ => err(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
    }
}

impl State {
    pub(crate) fn new() -> Result<(Self, SecretString), String> {
        let (private, public) = admin_key_pair()?;
        let mut s = State::default();
        s.register_client(ADMIN, &public, true);
        s.environments.insert(
            "_default".into(),
            to_value(&Environment {
                description: "The default Chef environment".into(),
                ..Environment::new("_default")
            }),
        );
        Ok((s, private))
    }

    /// From now on search finds only the objects that exist now (see
    /// [`FakeChefServer::freeze_search_index`](super::FakeChefServer::freeze_search_index)).
    pub(crate) fn freeze_search_index(&mut self) {
        let names = |m: &BTreeMap<String, Value>| m.keys().cloned().collect::<BTreeSet<_>>();
        let mut frozen = BTreeMap::new();
        frozen.insert("node".to_owned(), names(&self.nodes));
        frozen.insert("role".to_owned(), names(&self.roles));
        frozen.insert("environment".to_owned(), names(&self.environments));
        frozen.insert(
            "client".to_owned(),
            self.clients.keys().cloned().collect::<BTreeSet<_>>(),
        );
        for (bag, items) in &self.data_bags {
            frozen.insert(bag.clone(), names(items));
        }
        self.frozen_index = Some(frozen);
    }

    /// Search sees every object again.
    pub(crate) fn thaw_search_index(&mut self) {
        self.frozen_index = None;
    }

    pub(crate) fn register_client(&mut self, name: &str, public_key: &str, admin: bool) {
        self.clients.insert(
            name.to_owned(),
            ClientRecord {
                public_key: public_key.to_owned(),
                admin,
                validator: false,
            },
        );
    }

    pub(crate) fn public_key(&self, name: &str) -> Option<(String, bool)> {
        self.clients
            .get(name)
            .map(|c| (c.public_key.clone(), c.admin))
    }

    pub(crate) fn node(&self, name: &str) -> Option<Node> {
        self.nodes
            .get(name)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Serve one authenticated request. `segments` are decoded and org-relative.
    pub(crate) fn handle(
        &mut self,
        method: &Method,
        segments: &[String],
        query: &BTreeMap<String, String>,
        body: &[u8],
        base: &str,
        admin: bool,
    ) -> Answer {
        let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
        let writes = !matches!(*method, Method::GET | Method::HEAD);
        // Non-admin clients may read everything and write nodes (their own run data).
        if writes && !admin && seg.first() != Some(&"nodes") && seg.first() != Some(&"search") {
            return err(
                StatusCode::FORBIDDEN,
                "You are not allowed to perform this action",
            );
        }
        match seg.as_slice() {
            ["_status"] => (
                StatusCode::OK,
                json!({"status": "pong", "upstreams": {"chef_solr": "pong", "chef_sql": "pong"}}),
            ),
            ["users"] if *method == Method::GET => {
                listing(std::iter::once(ADMIN.to_owned()), base, "users")
            }
            ["users", ADMIN] if *method == Method::GET => (
                StatusCode::OK,
                json!({"username": ADMIN, "display_name": "Admin", "admin": true}),
            ),
            ["users", n] => err(StatusCode::NOT_FOUND, format!("user '{n}' not found")),
            ["nodes"] => crud::<Node>(&mut self.nodes, method, None, body, base),
            ["nodes", n] => crud::<Node>(&mut self.nodes, method, Some(n), body, base),
            ["roles"] => crud::<Role>(&mut self.roles, method, None, body, base),
            ["roles", n] => crud::<Role>(&mut self.roles, method, Some(n), body, base),
            ["environments"] => {
                crud::<Environment>(&mut self.environments, method, None, body, base)
            }
            ["environments", "_default"] if writes => err(
                StatusCode::METHOD_NOT_ALLOWED,
                "The '_default' environment cannot be modified.",
            ),
            ["environments", n] => {
                crud::<Environment>(&mut self.environments, method, Some(n), body, base)
            }
            ["environments", n, "nodes"] if *method == Method::GET => {
                if !self.environments.contains_key(*n) {
                    return err(
                        StatusCode::NOT_FOUND,
                        format!("environment '{n}' not found"),
                    );
                }
                let names = self
                    .nodes
                    .iter()
                    .filter(|(_, v)| v["chef_environment"] == json!(n))
                    .map(|(k, _)| k.clone());
                listing(names, base, "nodes")
            }
            ["clients"] => self.clients_root(method, body, base),
            ["clients", n] => self.client_one(method, n, body),
            ["data"] => self.data_root(method, body, base),
            ["data", b] => self.data_bag(method, b, body, base),
            ["data", b, id] => self.data_item(method, b, id, body),
            ["cookbooks"] if *method == Method::GET => self.cookbook_list(None, query, base),
            ["cookbooks", n] if *method == Method::GET => {
                if self.cookbooks.contains_key(*n) {
                    self.cookbook_list(Some(n), query, base)
                } else {
                    err(
                        StatusCode::NOT_FOUND,
                        format!("Cannot find a cookbook named {n}"),
                    )
                }
            }
            ["cookbooks", n, v] => self.cookbook_version(method, n, v, body),
            ["search"] if *method == Method::GET => {
                let idx = ["node", "role", "client", "environment"]
                    .into_iter()
                    .map(str::to_owned)
                    .chain(self.data_bags.keys().cloned());
                listing(idx, base, "search")
            }
            ["search", index] if matches!(*method, Method::GET | Method::POST) => self.search(
                index,
                query,
                (*method == Method::POST).then_some(body),
                base,
            ),
            _ => err(StatusCode::NOT_FOUND, "No routes match the request"),
        }
    }

    /// `GET /cookbooks` and `GET /cookbooks/NAME`: the documented shape, newest version
    /// first; `num_versions` a count or `all` (default: 1 for the listing, all for one).
    fn cookbook_list(
        &self,
        only: Option<&str>,
        query: &BTreeMap<String, String>,
        base: &str,
    ) -> Answer {
        let limit = match query.get("num_versions").map(String::as_str) {
            None if only.is_none() => Some(1),
            None | Some("all") => None,
            Some(n) => match n.parse::<usize>() {
                Ok(n) => Some(n),
                Err(_) => {
                    return err(
                        StatusCode::BAD_REQUEST,
                        "You have requested an invalid number of versions (x >= 0 || 'all')",
                    );
                }
            },
        };
        let mut out = Map::new();
        for (name, versions) in &self.cookbooks {
            if only.is_some_and(|o| o != name) {
                continue;
            }
            let mut vs: Vec<&String> = versions.keys().collect();
            vs.sort_by_key(|v| std::cmp::Reverse(version_key(v)));
            let vs: Vec<Value> = vs
                .into_iter()
                .take(limit.unwrap_or(usize::MAX))
                .map(|v| json!({"url": format!("{base}/cookbooks/{name}/{v}"), "version": v}))
                .collect();
            out.insert(
                name.clone(),
                json!({"url": format!("{base}/cookbooks/{name}"), "versions": vs}),
            );
        }
        (StatusCode::OK, Value::Object(out))
    }

    /// `GET`, `PUT` (create or replace) and `DELETE /cookbooks/NAME/VERSION`.
    fn cookbook_version(
        &mut self,
        method: &Method,
        name: &str,
        version: &str,
        body: &[u8],
    ) -> Answer {
        match *method {
            Method::GET | Method::HEAD => {
                match self.cookbooks.get(name).and_then(|v| v.get(version)) {
                    Some(doc) => (StatusCode::OK, doc.clone()),
                    None => err(
                        StatusCode::NOT_FOUND,
                        format!("Cannot find a cookbook named {name} with version {version}"),
                    ),
                }
            }
            Method::PUT => {
                let doc: Value = match parse(body) {
                    Ok(v) => v,
                    Err(a) => return a,
                };
                if !valid_name(name) || version_key(version).is_none() {
                    return err(StatusCode::BAD_REQUEST, "Invalid cookbook name or version");
                }
                let created = !self
                    .cookbooks
                    .get(name)
                    .is_some_and(|v| v.contains_key(version));
                self.cookbooks
                    .entry(name.to_owned())
                    .or_default()
                    .insert(version.to_owned(), doc.clone());
                (
                    if created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    },
                    doc,
                )
            }
            Method::DELETE => {
                let Some(versions) = self.cookbooks.get_mut(name) else {
                    return err(
                        StatusCode::NOT_FOUND,
                        format!("Cannot find a cookbook named {name}"),
                    );
                };
                let Some(doc) = versions.remove(version) else {
                    return err(
                        StatusCode::NOT_FOUND,
                        format!("Cannot find a cookbook named {name} with version {version}"),
                    );
                };
                if versions.is_empty() {
                    self.cookbooks.remove(name);
                }
                (StatusCode::OK, doc)
            }
            _ => err(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
        }
    }

    /// Adds a cookbook version (metadata only), as an upload would.
    pub(crate) fn add_cookbook(&mut self, name: &str, version: &str) {
        self.cookbooks.entry(name.to_owned()).or_default().insert(
            version.to_owned(),
            json!({"cookbook_name": name, "version": version,
                   "metadata": {"name": name, "version": version}}),
        );
    }

    fn client_json(&self, name: &str) -> Option<Value> {
        self.clients.get(name).map(|c| {
            json!({
                "name": name, "clientname": name, "admin": c.admin, "validator": c.validator,
                "public_key": c.public_key, "json_class": "Chef::ApiClient", "chef_type": "client",
                "orgname": super::ORG,
            })
        })
    }

    fn clients_root(&mut self, method: &Method, body: &[u8], base: &str) -> Answer {
        if *method == Method::GET {
            return listing(self.clients.keys().cloned(), base, "clients");
        }
        if *method != Method::POST {
            return err(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
        }
        let req: Value = match parse(body) {
            Ok(v) => v,
            Err(a) => return a,
        };
        let Some(name) = req["name"]
            .as_str()
            .filter(|n| valid_name(n))
            .map(str::to_owned)
        else {
            return err(StatusCode::BAD_REQUEST, "Field 'name' invalid");
        };
        if self.clients.contains_key(&name) {
            return err(StatusCode::CONFLICT, "Client already exists");
        }
        let (private, public) = match req["public_key"].as_str() {
            Some(pk) => (None, pk.to_owned()),
            None => match generate_key() {
                Ok((private, public)) => (Some(private), public),
                Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, e),
            },
        };
        self.clients.insert(
            name.clone(),
            ClientRecord {
                public_key: public.clone(),
                admin: req["admin"].as_bool().unwrap_or(false),
                validator: req["validator"].as_bool().unwrap_or(false),
            },
        );
        let mut answer = json!({"uri": format!("{base}/clients/{name}"), "public_key": public});
        if let Some(private) = private {
            use secrecy::ExposeSecret;
            answer["private_key"] = json!(private.expose_secret());
            answer["chef_key"] = json!({
                "name": "default", "public_key": public,
                "private_key": private.expose_secret(), "expiration_date": "infinity",
            });
        }
        (StatusCode::CREATED, answer)
    }

    fn client_one(&mut self, method: &Method, name: &str, body: &[u8]) -> Answer {
        let missing = || err(StatusCode::NOT_FOUND, format!("client '{name}' not found"));
        match method.as_str() {
            "GET" | "HEAD" => self
                .client_json(name)
                .map_or_else(missing, |v| (StatusCode::OK, v)),
            "DELETE" => match self.client_json(name) {
                Some(v) => {
                    self.clients.remove(name);
                    (StatusCode::OK, v)
                }
                None => missing(),
            },
            "PUT" => {
                let req: Value = match parse(body) {
                    Ok(v) => v,
                    Err(a) => return a,
                };
                let Some(rec) = self.clients.get_mut(name) else {
                    return missing();
                };
                if let Some(a) = req["admin"].as_bool() {
                    rec.admin = a;
                }
                let regenerate = req["private_key"].as_bool().unwrap_or(false)
                    || req["create_key"].as_bool().unwrap_or(false);
                let mut answer = json!({"name": name});
                if regenerate {
                    let (private, public) = match generate_key() {
                        Ok(k) => k,
                        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, e),
                    };
                    use secrecy::ExposeSecret;
                    rec.public_key = public.clone();
                    answer["private_key"] = json!(private.expose_secret());
                    answer["public_key"] = json!(public);
                    answer["chef_key"] = json!({"name": "default", "public_key": public,
                        "private_key": private.expose_secret(), "expiration_date": "infinity"});
                }
                (StatusCode::OK, answer)
            }
            _ => err(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
        }
    }

    fn data_root(&mut self, method: &Method, body: &[u8], base: &str) -> Answer {
        match method.as_str() {
            "GET" => listing(self.data_bags.keys().cloned(), base, "data"),
            "POST" => {
                let req: Value = match parse(body) {
                    Ok(v) => v,
                    Err(a) => return a,
                };
                let Some(name) = req["name"].as_str().filter(|n| valid_name(n)) else {
                    return err(StatusCode::BAD_REQUEST, "Field 'name' invalid");
                };
                if self.data_bags.contains_key(name) {
                    return err(StatusCode::CONFLICT, "Data bag already exists");
                }
                self.data_bags.insert(name.to_owned(), BTreeMap::new());
                (
                    StatusCode::CREATED,
                    json!({"uri": format!("{base}/data/{name}")}),
                )
            }
            _ => err(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
        }
    }

    fn data_bag(&mut self, method: &Method, bag: &str, body: &[u8], base: &str) -> Answer {
        let missing = || err(StatusCode::NOT_FOUND, format!("Cannot load data bag {bag}"));
        match method.as_str() {
            "GET" => match self.data_bags.get(bag) {
                Some(items) => listing(items.keys().cloned(), base, &format!("data/{bag}")),
                None => missing(),
            },
            "DELETE" => match self.data_bags.remove(bag) {
                Some(_) => (
                    StatusCode::OK,
                    json!({"name": bag, "json_class": "Chef::DataBag", "chef_type": "data_bag"}),
                ),
                None => missing(),
            },
            "POST" => {
                let item: Value = match parse(body) {
                    Ok(v) => v,
                    Err(a) => return a,
                };
                let Some(id) = item["id"]
                    .as_str()
                    .filter(|n| valid_name(n))
                    .map(str::to_owned)
                else {
                    return err(StatusCode::BAD_REQUEST, "Field 'id' missing");
                };
                let Some(items) = self.data_bags.get_mut(bag) else {
                    return missing();
                };
                if items.contains_key(&id) {
                    return err(StatusCode::CONFLICT, "Data Bag Item already exists");
                }
                items.insert(id, item.clone());
                (StatusCode::CREATED, wrapped_answer(bag, item))
            }
            _ => err(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
        }
    }

    fn data_item(&mut self, method: &Method, bag: &str, id: &str, body: &[u8]) -> Answer {
        let Some(items) = self.data_bags.get_mut(bag) else {
            return err(StatusCode::NOT_FOUND, format!("Cannot load data bag {bag}"));
        };
        let missing = || {
            err(
                StatusCode::NOT_FOUND,
                format!("Cannot load data bag item {id} for data bag {bag}"),
            )
        };
        match method.as_str() {
            "GET" | "HEAD" => items
                .get(id)
                .map_or_else(missing, |v| (StatusCode::OK, v.clone())),
            "PUT" => {
                let item: Value = match parse(body) {
                    Ok(v) => v,
                    Err(a) => return a,
                };
                if item["id"].as_str().is_some_and(|i| i != id) {
                    return err(StatusCode::BAD_REQUEST, "DataBagItem name mismatch.");
                }
                match items.get_mut(id) {
                    Some(slot) => {
                        *slot = item.clone();
                        (StatusCode::OK, wrapped_answer(bag, item))
                    }
                    None => missing(),
                }
            }
            "DELETE" => match items.remove(id) {
                Some(v) => (
                    StatusCode::OK,
                    json!({"name": format!("data_bag_item_{bag}_{id}"), "raw_data": v, "chef_type": "data_bag_item", "data_bag": bag}),
                ),
                None => missing(),
            },
            _ => err(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
        }
    }

    fn search(
        &self,
        index: &str,
        query: &BTreeMap<String, String>,
        partial: Option<&[u8]>,
        base: &str,
    ) -> Answer {
        let q = query.get("q").map_or("*:*", String::as_str);
        let expr = match super::server::Query::parse(q) {
            Ok(e) => e,
            Err(e) => {
                return err(
                    StatusCode::BAD_REQUEST,
                    format!("invalid search query: '{q}' ({e})"),
                );
            }
        };
        let start: usize = query.get("start").and_then(|s| s.parse().ok()).unwrap_or(0);
        let rows: usize = query
            .get("rows")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1000);
        // (name, row as returned, object used for matching and partial paths)
        let docs: Vec<(String, Value, Value)> = match index {
            "node" => self
                .nodes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), v.clone()))
                .collect(),
            "role" => self
                .roles
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), v.clone()))
                .collect(),
            "environment" => self
                .environments
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), v.clone()))
                .collect(),
            "client" => self
                .clients
                .keys()
                .filter_map(|k| self.client_json(k).map(|v| (k.clone(), v.clone(), v)))
                .collect(),
            bag => match self.data_bags.get(bag) {
                Some(items) => items
                    .iter()
                    .map(|(id, item)| {
                        let row = json!({
                            "name": format!("data_bag_item_{bag}_{id}"), "data_bag": bag,
                            "chef_type": "data_bag_item", "json_class": "Chef::DataBagItem",
                            "raw_data": item,
                        });
                        (id.clone(), row, item.clone())
                    })
                    .collect(),
                None => {
                    return err(
                        StatusCode::NOT_FOUND,
                        format!("I don't know how to search for {bag} data objects."),
                    );
                }
            },
        };
        // An index that has not caught up: only what it held at the freeze, as it is now.
        let docs: Vec<(String, Value, Value)> = match &self.frozen_index {
            None => docs,
            Some(frozen) => match frozen.get(index) {
                Some(indexed) => docs
                    .into_iter()
                    .filter(|(name, _, _)| indexed.contains(name))
                    .collect(),
                None => {
                    return err(
                        StatusCode::NOT_FOUND,
                        format!("I don't know how to search for {index} data objects."),
                    );
                }
            },
        };
        let keys: Option<BTreeMap<String, Vec<String>>> = match partial {
            Some(b) => match parse(b) {
                Ok(k) => Some(k),
                Err(a) => return a,
            },
            None => None,
        };
        let matching: Vec<&(String, Value, Value)> = docs
            .iter()
            .filter(|(_, _, obj)| expr.matches(&super::server::fields(index, obj)))
            .collect();
        let total = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(start)
            .take(rows)
            .map(|(name, row, obj)| match &keys {
                None => row.clone(),
                Some(keys) => {
                    let data: Map<String, Value> = keys
                        .iter()
                        .map(|(k, path)| (k.clone(), partial_value(obj, path)))
                        .collect();
                    json!({"url": format!("{base}/{index}s/{name}"), "data": data})
                }
            })
            .collect();
        (
            StatusCode::OK,
            json!({"rows": page, "start": start, "total": total}),
        )
    }
}

/// `1.2.3` → `[1, 2, 3]`, `1.2` → `[1, 2, 0]`; `None` for anything else.
fn version_key(v: &str) -> Option<[u64; 3]> {
    let mut out = [0u64; 3];
    let parts: Vec<&str> = v.split('.').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    for (slot, p) in out.iter_mut().zip(&parts) {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = p.parse().ok()?;
    }
    Some(out)
}

fn wrapped_answer(bag: &str, mut item: Value) -> Value {
    if let Value::Object(m) = &mut item {
        m.insert("chef_type".into(), json!("data_bag_item"));
        m.insert("data_bag".into(), json!(bag));
    }
    item
}

/// A partial-search path: first in the object as stored, then in its merged attributes.
fn partial_value(obj: &Value, path: &[String]) -> Value {
    let walk = |root: &Value| {
        path.iter()
            .try_fold(root, |cur, key| cur.get(key.as_str()))
            .cloned()
    };
    if let Some(v) = walk(obj) {
        return v;
    }
    for level in ["automatic", "override", "normal", "default"] {
        if let Some(v) = obj.get(level).and_then(walk) {
            return v;
        }
    }
    Value::Null
}

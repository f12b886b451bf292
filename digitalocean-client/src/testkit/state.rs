//! The fake's in-memory world and its router.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::validate;

mod cloud;

/// An answer before it is turned into HTTP.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Option<Value>,
    pub(super) retry_after: Option<u64>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            retry_after: None,
        }
    }

    fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            retry_after: None,
        }
    }

    pub(super) fn error(status: u16, id: &str, message: &str) -> Self {
        Self::json(status, json!({"id": id, "message": message}))
    }

    pub(super) fn fault(status: u16, retry_after: Option<u64>) -> Self {
        let (id, message) = match status {
            429 => ("too_many_requests", "API Rate limit exceeded."),
            500 => ("server_error", "Server was unable to give you a response."),
            502 => ("bad_gateway", "Bad gateway."),
            503 => ("service_unavailable", "Service unavailable."),
            504 => ("gateway_timeout", "Gateway timeout."),
            _ => ("error", "Injected fault."),
        };
        let mut r = Self::error(status, id, message);
        r.retry_after = retry_after;
        r
    }

    fn not_found() -> Self {
        Self::error(
            404,
            "not_found",
            "The resource you were accessing could not be found.",
        )
    }

    fn unprocessable(message: impl AsRef<str>) -> Self {
        Self::error(422, "unprocessable_entity", message.as_ref())
    }
}

const REGIONS: &[(&str, &str)] = &[
    ("nyc3", "New York 3"),
    ("ams3", "Amsterdam 3"),
    ("fra1", "Frankfurt 1"),
];
const SIZES: &[(&str, u64, u64, u64, f64)] = &[
    ("s-1vcpu-1gb", 1024, 1, 25, 6.0),
    ("s-2vcpu-2gb", 2048, 2, 60, 18.0),
    ("s-4vcpu-8gb", 8192, 4, 160, 48.0),
];
const IMAGES: &[(u64, &str, &str, &str, &str)] = &[
    (
        1001,
        "ubuntu-24-04-x64",
        "24.04 (LTS) x64",
        "Ubuntu",
        "distribution",
    ),
    (1002, "debian-12-x64", "12 x64", "Debian", "distribution"),
    (
        1003,
        "docker-20-04",
        "Docker on Ubuntu 20.04",
        "Ubuntu",
        "application",
    ),
];

#[derive(Debug)]
struct DropletRec {
    name: String,
    region: String,
    size: String,
    image: u64,
    tags: Vec<String>,
    ipv6: bool,
    created_at: String,
    /// When it was created, for the listing lag.
    created: Instant,
    active_at: Instant,
    powered_on: bool,
    vpc_uuid: Option<String>,
}

#[derive(Debug)]
struct ActionRec {
    kind: String,
    /// `droplet`, `reserved_ip` or `volume`.
    resource_type: &'static str,
    /// Numeric resource id when the API gives one (a droplet's id, a reserved IP as an
    /// integer); `None` for volumes, whose ids are UUIDs.
    resource_id: Option<u64>,
    /// The resource's id as its path names it, for `…/{id}/actions/{action_id}`.
    owner: String,
    region: String,
    started_at: String,
    done_at: Instant,
}

#[derive(Debug)]
struct KeyRec {
    name: String,
    public_key: String,
    fingerprint: String,
}

#[derive(Debug)]
struct DomainRec {
    records: BTreeMap<u64, Value>,
}

/// The fake's world.
#[derive(Debug)]
pub(super) struct State {
    delay: Duration,
    /// How long a new droplet stays out of `GET /v2/droplets` listings (by tag, by name or
    /// all), as DigitalOcean's listing can lag a create. `GET /v2/droplets/{id}` sees it at once.
    pub(super) list_lag: Duration,
    pub(super) edge_values: Vec<super::EdgeValue>,
    next_id: u64,
    droplets: BTreeMap<u64, DropletRec>,
    actions: BTreeMap<u64, ActionRec>,
    keys: BTreeMap<u64, KeyRec>,
    tags: BTreeMap<String, String>,
    domains: BTreeMap<String, DomainRec>,
    /// Firewalls, VPCs, reserved IPs, projects, volumes, alert policies.
    cloud: cloud::Cloud,
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant), valid for dates after 1970.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn now_str() -> String {
    rfc3339(SystemTime::now())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn query_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn region_json(slug: &str) -> Value {
    let name = REGIONS
        .iter()
        .find(|(s, _)| *s == slug)
        .map_or(slug, |(_, n)| n);
    json!({
        "name": name, "slug": slug,
        "features": ["backups", "ipv6", "metadata", "install_agent", "storage"],
        "available": true,
        "sizes": SIZES.iter().map(|s| s.0).collect::<Vec<_>>(),
    })
}

fn size_json(slug: &str) -> Value {
    let (slug, memory, vcpus, disk, monthly) = SIZES
        .iter()
        .copied()
        .find(|s| s.0 == slug)
        .unwrap_or((SIZES[0].0, SIZES[0].1, SIZES[0].2, SIZES[0].3, SIZES[0].4));
    json!({
        "slug": slug, "memory": memory, "vcpus": vcpus, "disk": disk, "transfer": 1.0,
        "price_monthly": monthly, "price_hourly": monthly / 672.0,
        "regions": REGIONS.iter().map(|r| r.0).collect::<Vec<_>>(),
        "available": true, "description": "Basic",
    })
}

fn image_json(id: u64) -> Value {
    // `kind` (distribution/application) is only a list filter; the wire `type` is `base`.
    let (id, slug, name, distribution, _kind) = IMAGES
        .iter()
        .copied()
        .find(|i| i.0 == id)
        .unwrap_or(IMAGES[0]);
    json!({
        "id": id, "name": name, "distribution": distribution, "slug": slug, "public": true,
        "regions": REGIONS.iter().map(|r| r.0).collect::<Vec<_>>(),
        "created_at": "2024-04-25T00:00:00Z", "type": "base", "min_disk_size": 15,
        "size_gigabytes": 2.5, "description": name, "tags": [], "status": "available",
        "error_message": "",
    })
}

fn fingerprint(public_key: &str) -> String {
    let mut parts = Vec::with_capacity(16);
    for salt in 0u8..2 {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        public_key.hash(&mut h);
        parts.extend(h.finish().to_be_bytes());
    }
    parts
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Slice `items` per `page`/`per_page` and add DigitalOcean's `links`/`meta`.
fn paginate(
    base: &str,
    path: &str,
    pairs: &[(String, String)],
    key: &str,
    items: Vec<Value>,
) -> Reply {
    let per_page = match query_get(pairs, "per_page").map(str::parse::<usize>) {
        None => 20,
        Some(Ok(n)) if (1..=200).contains(&n) => n,
        Some(_) => return Reply::unprocessable("per_page must be between 1 and 200"),
    };
    let page = match query_get(pairs, "page").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => return Reply::unprocessable("page must be at least 1"),
    };
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let link = |p: usize| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs.iter().filter(|(k, _)| k != "page" && k != "per_page") {
            ser.append_pair(k, v);
        }
        ser.append_pair("page", &p.to_string());
        ser.append_pair("per_page", &per_page.to_string());
        format!("{base}{path}?{}", ser.finish())
    };
    let mut pages = serde_json::Map::new();
    if page > 1 {
        pages.insert("first".into(), json!(link(1)));
        pages.insert("prev".into(), json!(link(page - 1)));
    }
    if page < last {
        pages.insert("next".into(), json!(link(page + 1)));
        pages.insert("last".into(), json!(link(last)));
    }
    let links = if pages.is_empty() {
        json!({})
    } else {
        json!({ "pages": pages })
    };
    Reply::json(
        200,
        json!({ key: slice, "links": links, "meta": {"total": total} }),
    )
}

fn str_field<'a>(body: Option<&'a Value>, key: &str) -> Option<&'a str> {
    body?.get(key)?.as_str()
}

impl State {
    pub(super) fn new(delay: Duration) -> Self {
        Self {
            delay,
            list_lag: Duration::ZERO,
            edge_values: Vec::new(),
            next_id: 100,
            droplets: BTreeMap::new(),
            actions: BTreeMap::new(),
            keys: BTreeMap::new(),
            tags: BTreeMap::new(),
            domains: BTreeMap::new(),
            cloud: cloud::Cloud::new(),
        }
    }

    /// Firewalls, VPCs, reserved IPs, projects (not the default one), volumes and alert
    /// policies that exist now.
    pub(super) fn cloud_counts(&self) -> [usize; 6] {
        self.cloud.counts()
    }

    pub(super) fn droplet_count(&self) -> usize {
        self.droplets.len()
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Dispatch one request.
    pub(super) fn route(
        &mut self,
        base: &str,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let pairs = query_pairs(query);
        let Some(rest) = path.strip_prefix("/v2/") else {
            return Reply::not_found();
        };
        let segs: Vec<String> = rest.split('/').map(percent_decode).collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        match (method, segs.as_slice()) {
            ("GET", ["account"]) => Reply::json(
                200,
                json!({"account": {
                "droplet_limit": 25, "floating_ip_limit": 3, "email": "ops@example.test",
                "name": "Fake Ops", "uuid": "b6fc48dbf6d9906cace5f3c78dc9851e757381ef",
                "email_verified": true, "status": "active", "status_message": "",
                "team": {"uuid": "5df3e3004a17e242b7c20ca6c9fc25b701a47ece", "name": "Fake Team"}}}),
            ),
            ("GET", ["regions"]) => {
                let items = REGIONS.iter().map(|(s, _)| region_json(s)).collect();
                paginate(base, path, &pairs, "regions", items)
            }
            ("GET", ["sizes"]) => {
                let items = SIZES.iter().map(|s| size_json(s.0)).collect();
                paginate(base, path, &pairs, "sizes", items)
            }
            ("GET", ["images"]) => self.list_images(base, path, &pairs),
            ("GET", ["images", id]) => IMAGES
                .iter()
                .find(|i| i.1 == *id || i.0.to_string() == *id)
                .map_or_else(Reply::not_found, |i| {
                    Reply::json(200, json!({"image": image_json(i.0)}))
                }),

            ("GET", ["droplets"]) => self.list_droplets(base, path, &pairs),
            ("POST", ["droplets"]) => self.create_droplets(base, body),
            ("DELETE", ["droplets"]) => match query_get(&pairs, "tag_name") {
                Some(tag) => {
                    let gone: Vec<u64> = self
                        .droplets
                        .iter()
                        .filter(|(_, d)| d.tags.iter().any(|t| t == tag))
                        .map(|(id, _)| *id)
                        .collect();
                    for id in gone {
                        self.droplets.remove(&id);
                        self.droplet_gone(id);
                    }
                    Reply::no_content()
                }
                None => Reply::unprocessable("tag_name is required"),
            },
            ("GET", ["droplets", id]) => match self.droplet_id(id) {
                Some(id) => Reply::json(200, json!({"droplet": self.droplet_json(id)})),
                None => Reply::not_found(),
            },
            ("DELETE", ["droplets", id]) => match self.droplet_id(id) {
                Some(id) => {
                    self.droplets.remove(&id);
                    self.droplet_gone(id);
                    Reply::no_content()
                }
                None => Reply::not_found(),
            },
            ("POST", ["droplets", id, "actions"]) => self.droplet_action(id, body),
            ("GET", ["droplets", id, "actions", aid]) => {
                match (self.droplet_id(id), aid.parse::<u64>()) {
                    (Some(did), Ok(aid))
                        if self.actions.get(&aid).is_some_and(|a| {
                            a.resource_type == "droplet" && a.resource_id == Some(did)
                        }) =>
                    {
                        Reply::json(200, json!({"action": self.action_json(aid)}))
                    }
                    _ => Reply::not_found(),
                }
            }
            ("GET", ["actions", id]) => match id.parse::<u64>() {
                Ok(id) if self.actions.contains_key(&id) => {
                    Reply::json(200, json!({"action": self.action_json(id)}))
                }
                _ => Reply::not_found(),
            },

            ("GET", ["account", "keys"]) => {
                let items = self.keys.keys().map(|id| self.key_json(*id)).collect();
                paginate(base, path, &pairs, "ssh_keys", items)
            }
            ("POST", ["account", "keys"]) => self.create_key(body),
            ("GET", ["account", "keys", k]) => match self.key_id(k) {
                Some(id) => Reply::json(200, json!({"ssh_key": self.key_json(id)})),
                None => Reply::not_found(),
            },
            ("PUT", ["account", "keys", k]) => match (self.key_id(k), str_field(body, "name")) {
                (None, _) => Reply::not_found(),
                (Some(_), None) => Reply::unprocessable("name is required"),
                (Some(id), Some(name)) => {
                    if let Some(key) = self.keys.get_mut(&id) {
                        key.name = name.to_owned();
                    }
                    Reply::json(200, json!({"ssh_key": self.key_json(id)}))
                }
            },
            ("DELETE", ["account", "keys", k]) => match self.key_id(k) {
                Some(id) => {
                    self.keys.remove(&id);
                    Reply::no_content()
                }
                None => Reply::not_found(),
            },

            ("GET", ["tags"]) => {
                let items = self.tags.keys().map(|t| self.tag_json(t)).collect();
                paginate(base, path, &pairs, "tags", items)
            }
            ("POST", ["tags"]) => match str_field(body, "name") {
                Some(name) if validate::tag_name(name).is_ok() => {
                    self.tags.entry(name.to_owned()).or_insert_with(now_str);
                    Reply::json(201, json!({"tag": self.tag_json(name)}))
                }
                _ => Reply::error(
                    400,
                    "bad_request",
                    "tag name is missing or contains invalid characters",
                ),
            },
            ("GET", ["tags", name]) if self.tags.contains_key(*name) => {
                Reply::json(200, json!({"tag": self.tag_json(name)}))
            }
            ("DELETE", ["tags", name]) if self.tags.contains_key(*name) => {
                self.tags.remove(*name);
                for d in self.droplets.values_mut() {
                    d.tags.retain(|t| t != name);
                }
                Reply::no_content()
            }
            ("POST" | "DELETE", ["tags", name, "resources"]) if self.tags.contains_key(*name) => {
                self.tag_resources(name, method == "POST", body)
            }

            ("GET", ["domains"]) => {
                let items = self
                    .domains
                    .keys()
                    .map(|d| self.domain_json(d, false))
                    .collect();
                paginate(base, path, &pairs, "domains", items)
            }
            ("POST", ["domains"]) => self.create_domain(body),
            ("GET", ["domains", d]) if self.domains.contains_key(*d) => {
                Reply::json(200, json!({"domain": self.domain_json(d, true)}))
            }
            ("DELETE", ["domains", d]) if self.domains.contains_key(*d) => {
                self.domains.remove(*d);
                Reply::no_content()
            }
            ("GET", ["domains", d, "records"]) if self.domains.contains_key(*d) => {
                self.list_records(base, path, d, &pairs)
            }
            ("POST", ["domains", d, "records"]) if self.domains.contains_key(*d) => {
                self.create_record(d, body)
            }
            (m @ ("GET" | "PUT" | "PATCH" | "DELETE"), ["domains", d, "records", id]) => {
                self.record(m, d, id, body)
            }
            _ => self
                .route_cloud(base, method, path, &segs, &pairs, body)
                .unwrap_or_else(Reply::not_found),
        }
    }

    fn list_images(&self, base: &str, path: &str, pairs: &[(String, String)]) -> Reply {
        if query_get(pairs, "private") == Some("true") {
            return paginate(base, path, pairs, "images", Vec::new());
        }
        let kind = query_get(pairs, "type");
        if kind.is_some_and(|k| k != "distribution" && k != "application") {
            return Reply::unprocessable("type must be distribution or application");
        }
        let items = IMAGES
            .iter()
            .filter(|i| kind.is_none_or(|k| k == i.4))
            .map(|i| image_json(i.0))
            .collect();
        paginate(base, path, pairs, "images", items)
    }

    fn droplet_id(&self, raw: &str) -> Option<u64> {
        raw.parse::<u64>()
            .ok()
            .filter(|id| self.droplets.contains_key(id))
    }

    fn droplet_json(&self, id: u64) -> Value {
        let Some(d) = self.droplets.get(&id) else {
            return Value::Null;
        };
        let active = Instant::now() >= d.active_at;
        let status = match (active, d.powered_on) {
            (false, _) => "new",
            (true, true) => "active",
            (true, false) => "off",
        };
        let n = id % 250 + 1;
        let (v4, v6) = if active {
            let v4 = json!([
                {"ip_address": format!("10.10.0.{n}"), "netmask": "255.255.0.0", "gateway": "nil", "type": "private"},
                {"ip_address": format!("203.0.113.{n}"), "netmask": "255.255.255.0", "gateway": "203.0.113.254", "type": "public"},
            ]);
            let v6 = if d.ipv6 {
                json!([{"ip_address": format!("2001:db8::{n:x}"), "netmask": 64, "gateway": "2001:db8::1", "type": "public"}])
            } else {
                json!([])
            };
            (v4, v6)
        } else {
            (json!([]), json!([]))
        };
        let size = size_json(&d.size);
        json!({
            "id": id, "name": d.name,
            "memory": size["memory"], "vcpus": size["vcpus"], "disk": size["disk"],
            "locked": false, "status": status, "kernel": null, "created_at": d.created_at,
            "features": if d.ipv6 { json!(["ipv6", "droplet_agent"]) } else { json!(["droplet_agent"]) },
            "backup_ids": [], "next_backup_window": null, "snapshot_ids": [],
            "image": image_json(d.image), "volume_ids": self.volume_ids_of(id), "size": size, "size_slug": d.size,
            "networks": {"v4": v4, "v6": v6}, "region": region_json(&d.region),
            "tags": d.tags, "vpc_uuid": d.vpc_uuid.clone().unwrap_or_else(|| "5a4981aa-9653-4bd1-bef5-d6bff52042e4".to_owned()),
        })
    }

    fn list_droplets(&self, base: &str, path: &str, pairs: &[(String, String)]) -> Reply {
        let tag = query_get(pairs, "tag_name");
        let name = query_get(pairs, "name");
        if tag.is_some() && name.is_some() {
            return Reply::unprocessable("tag_name cannot be combined with name");
        }
        let items = self
            .droplets
            .iter()
            .filter(|(_, d)| tag.is_none_or(|t| d.tags.iter().any(|x| x == t)))
            .filter(|(_, d)| name.is_none_or(|n| d.name.eq_ignore_ascii_case(n)))
            .filter(|(_, d)| d.created.elapsed() >= self.list_lag)
            .map(|(id, _)| self.droplet_json(*id))
            .collect();
        paginate(base, path, pairs, "droplets", items)
    }

    fn create_droplets(&mut self, base: &str, body: Option<&Value>) -> Reply {
        let Some(body) = body else {
            return Reply::unprocessable("request body is required");
        };
        let (names, multi): (Vec<String>, bool) = match (body.get("name"), body.get("names")) {
            (Some(Value::String(n)), None) => (vec![n.clone()], false),
            (None, Some(Value::Array(ns))) => (
                ns.iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect(),
                true,
            ),
            _ => return Reply::unprocessable("exactly one of name or names is required"),
        };
        if multi && validate::droplet_names(&names).is_err() {
            return Reply::unprocessable("names must hold 1 to 10 valid droplet names");
        }
        if let Some(bad) = names.iter().find(|n| validate::droplet_name(n).is_err()) {
            return Reply::unprocessable(format!(
                "Name {bad} is invalid: only letters, digits, '.' and '-' are allowed"
            ));
        }
        let region = str_field(Some(body), "region").unwrap_or("nyc3").to_owned();
        if !REGIONS.iter().any(|r| r.0 == region) {
            return Reply::unprocessable("Region is not available");
        }
        let Some(size) = str_field(Some(body), "size").filter(|s| SIZES.iter().any(|x| x.0 == *s))
        else {
            return Reply::unprocessable("You specified an invalid size for Droplet creation.");
        };
        let image = match body.get("image") {
            Some(Value::String(slug)) => IMAGES.iter().find(|i| i.1 == slug).map(|i| i.0),
            Some(Value::Number(n)) => n.as_u64().filter(|id| IMAGES.iter().any(|i| i.0 == *id)),
            _ => None,
        };
        let Some(image) = image else {
            return Reply::unprocessable("You specified an invalid image for Droplet creation.");
        };
        if str_field(Some(body), "user_data")
            .is_some_and(|u| u.len() > validate::MAX_USER_DATA_BYTES)
        {
            return Reply::unprocessable("user_data is larger than 64 KiB");
        }
        let tags: Vec<String> = body
            .get("tags")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for t in &tags {
            self.tags.entry(t.clone()).or_insert_with(now_str);
        }
        let ipv6 = body.get("ipv6").and_then(Value::as_bool).unwrap_or(false);
        let vpc_uuid = str_field(Some(body), "vpc_uuid").map(str::to_owned);
        if let Some(refused) = self.check_droplet_vpc(vpc_uuid.as_deref(), &region) {
            return refused;
        }
        let volumes: Vec<String> = body
            .get("volumes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(refused) = self.check_droplet_volumes(&volumes, &region, names.len()) {
            return refused;
        }
        let mut droplets = Vec::new();
        let mut links = Vec::new();
        for name in names {
            let id = self.id();
            self.droplets.insert(
                id,
                DropletRec {
                    name,
                    region: region.clone(),
                    size: size.to_owned(),
                    image,
                    tags: tags.clone(),
                    ipv6,
                    created_at: now_str(),
                    created: Instant::now(),
                    active_at: Instant::now() + self.delay,
                    powered_on: true,
                    vpc_uuid: vpc_uuid.clone(),
                },
            );
            self.attach_volumes(&volumes, id);
            let action_id = self.start_action("create", id, &region);
            droplets.push(self.droplet_json(id));
            links.push(json!({
                "id": action_id,
                "rel": if multi { "multiple_create" } else { "create" },
                "href": format!("{base}/v2/actions/{action_id}"),
            }));
        }
        if multi {
            Reply::json(
                202,
                json!({"droplets": droplets, "links": {"actions": links}}),
            )
        } else {
            let droplet = droplets.pop().unwrap_or(Value::Null);
            Reply::json(
                202,
                json!({"droplet": droplet, "links": {"actions": links}}),
            )
        }
    }

    fn start_action(&mut self, kind: &str, resource_id: u64, region: &str) -> u64 {
        self.start_action_on(
            kind,
            "droplet",
            Some(resource_id),
            resource_id.to_string(),
            region,
        )
    }

    fn start_action_on(
        &mut self,
        kind: &str,
        resource_type: &'static str,
        resource_id: Option<u64>,
        owner: String,
        region: &str,
    ) -> u64 {
        let id = self.id();
        self.actions.insert(
            id,
            ActionRec {
                kind: kind.to_owned(),
                resource_type,
                resource_id,
                owner,
                region: region.to_owned(),
                started_at: now_str(),
                done_at: Instant::now() + self.delay,
            },
        );
        id
    }

    fn action_json(&self, id: u64) -> Value {
        let Some(a) = self.actions.get(&id) else {
            return Value::Null;
        };
        let done = Instant::now() >= a.done_at;
        json!({
            "id": id, "status": if done { "completed" } else { "in-progress" }, "type": a.kind,
            "started_at": a.started_at, "completed_at": if done { json!(now_str()) } else { Value::Null },
            "resource_id": a.resource_id, "resource_type": a.resource_type,
            "region": region_json(&a.region), "region_slug": a.region,
        })
    }

    fn droplet_action(&mut self, raw_id: &str, body: Option<&Value>) -> Reply {
        let Some(id) = self.droplet_id(raw_id) else {
            return Reply::not_found();
        };
        let kind = str_field(body, "type").unwrap_or_default();
        let powered_on = match kind {
            "power_on" | "reboot" | "power_cycle" => true,
            "power_off" | "shutdown" => false,
            _ => {
                return Reply::unprocessable(format!(
                    "action type {kind:?} is not supported by the fake"
                ));
            }
        };
        let region = match self.droplets.get_mut(&id) {
            Some(d) => {
                d.powered_on = powered_on;
                d.region.clone()
            }
            None => return Reply::not_found(),
        };
        let aid = self.start_action(kind, id, &region);
        Reply::json(201, json!({"action": self.action_json(aid)}))
    }

    fn key_id(&self, raw: &str) -> Option<u64> {
        match raw.parse::<u64>() {
            Ok(id) => self.keys.contains_key(&id).then_some(id),
            Err(_) => self
                .keys
                .iter()
                .find(|(_, k)| k.fingerprint == raw)
                .map(|(id, _)| *id),
        }
    }

    fn key_json(&self, id: u64) -> Value {
        match self.keys.get(&id) {
            Some(k) => {
                json!({"id": id, "fingerprint": k.fingerprint, "public_key": k.public_key, "name": k.name})
            }
            None => Value::Null,
        }
    }

    fn create_key(&mut self, body: Option<&Value>) -> Reply {
        let (Some(name), Some(public_key)) =
            (str_field(body, "name"), str_field(body, "public_key"))
        else {
            return Reply::unprocessable("name and public_key are required");
        };
        if !public_key.starts_with("ssh-") && !public_key.starts_with("ecdsa-") {
            return Reply::unprocessable(
                "Key invalid, key should be of the format `type key [comment]`",
            );
        }
        let fingerprint = fingerprint(public_key);
        if self.keys.values().any(|k| k.fingerprint == fingerprint) {
            return Reply::unprocessable("SSH Key is already in use on your account");
        }
        let id = self.id();
        self.keys.insert(
            id,
            KeyRec {
                name: name.to_owned(),
                public_key: public_key.to_owned(),
                fingerprint,
            },
        );
        Reply::json(201, json!({"ssh_key": self.key_json(id)}))
    }

    fn tag_json(&self, name: &str) -> Value {
        let tagged: Vec<u64> = self
            .droplets
            .iter()
            .filter(|(_, d)| d.tags.iter().any(|t| t == name))
            .map(|(id, _)| *id)
            .collect();
        let mut droplets = json!({"count": tagged.len()});
        let mut resources = json!({"count": tagged.len(), "droplets": droplets.clone()});
        if let Some(last) = tagged.last() {
            let uri = json!(format!("https://api.digitalocean.com/v2/droplets/{last}"));
            droplets["last_tagged_uri"] = uri.clone();
            resources["last_tagged_uri"] = uri;
            resources["droplets"] = droplets;
        }
        json!({"name": name, "resources": resources})
    }

    fn tag_resources(&mut self, name: &str, add: bool, body: Option<&Value>) -> Reply {
        let Some(resources) = body
            .and_then(|b| b.get("resources"))
            .and_then(Value::as_array)
        else {
            return Reply::unprocessable("resources is required");
        };
        for r in resources {
            let kind = r.get("resource_type").and_then(Value::as_str);
            let id = r.get("resource_id").and_then(Value::as_str);
            if kind != Some("droplet") {
                continue; // the fake only models droplets
            }
            let Some(droplet) = id
                .and_then(|i| i.parse::<u64>().ok())
                .and_then(|i| self.droplets.get_mut(&i))
            else {
                return Reply::not_found();
            };
            if add {
                if !droplet.tags.iter().any(|t| t == name) {
                    droplet.tags.push(name.to_owned());
                }
            } else {
                droplet.tags.retain(|t| t != name);
            }
        }
        Reply::no_content()
    }

    fn domain_json(&self, name: &str, with_zone: bool) -> Value {
        let zone = with_zone.then(|| {
            let mut z = format!("$ORIGIN {name}.\n$TTL 1800\n");
            if let Some(d) = self.domains.get(name) {
                for r in d.records.values() {
                    z.push_str(&format!(
                        "{} 1800 IN {} {}\n",
                        r["name"].as_str().unwrap_or("@"),
                        r["type"].as_str().unwrap_or("A"),
                        r["data"].as_str().unwrap_or("")
                    ));
                }
            }
            z
        });
        json!({"name": name, "ttl": 1800, "zone_file": zone})
    }

    fn create_domain(&mut self, body: Option<&Value>) -> Reply {
        let Some(name) = str_field(body, "name").filter(|n| n.contains('.')) else {
            return Reply::unprocessable("name must be a domain name");
        };
        if self.domains.contains_key(name) {
            return Reply::unprocessable("Name already in use");
        }
        let name = name.to_owned();
        let mut records = BTreeMap::new();
        for ns in [
            "ns1.digitalocean.com",
            "ns2.digitalocean.com",
            "ns3.digitalocean.com",
        ] {
            let id = self.id();
            records.insert(id, record_json(id, "NS", "@", ns, None, 1800));
        }
        if let Some(ip) = str_field(body, "ip_address") {
            let id = self.id();
            records.insert(id, record_json(id, "A", "@", ip, None, 1800));
        }
        self.domains.insert(name.clone(), DomainRec { records });
        Reply::json(
            201,
            json!({"domain": {"name": name, "ttl": 1800, "zone_file": null}}),
        )
    }

    fn list_records(
        &self,
        base: &str,
        path: &str,
        domain: &str,
        pairs: &[(String, String)],
    ) -> Reply {
        let kind = query_get(pairs, "type");
        let fqdn = query_get(pairs, "name");
        let items = self
            .domains
            .get(domain)
            .map(|d| {
                d.records
                    .values()
                    .filter(|r| kind.is_none_or(|k| r["type"] == k))
                    .filter(|r| {
                        fqdn.is_none_or(|f| {
                            let n = r["name"].as_str().unwrap_or("@");
                            let full = if n == "@" {
                                domain.to_owned()
                            } else {
                                format!("{n}.{domain}")
                            };
                            full.eq_ignore_ascii_case(f)
                        })
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        paginate(base, path, pairs, "domain_records", items)
    }

    fn create_record(&mut self, domain: &str, body: Option<&Value>) -> Reply {
        let Some(kind) = str_field(body, "type") else {
            return Reply::unprocessable("type is required");
        };
        let (Some(name), Some(data)) = (str_field(body, "name"), str_field(body, "data")) else {
            return Reply::unprocessable("name and data are required");
        };
        let priority = body.and_then(|b| b.get("priority")).and_then(Value::as_u64);
        if kind == "MX" && priority.is_none() {
            return Reply::unprocessable("priority is required for MX records");
        }
        let ttl = body
            .and_then(|b| b.get("ttl"))
            .and_then(Value::as_u64)
            .unwrap_or(1800);
        if ttl < 30 {
            return Reply::unprocessable("ttl must be at least 30");
        }
        let id = self.id();
        let rec = record_json(id, kind, name, data, priority, ttl);
        if let Some(d) = self.domains.get_mut(domain) {
            d.records.insert(id, rec.clone());
        }
        Reply::json(201, json!({"domain_record": rec}))
    }

    fn record(&mut self, method: &str, domain: &str, raw_id: &str, body: Option<&Value>) -> Reply {
        let Some(d) = self.domains.get_mut(domain) else {
            return Reply::not_found();
        };
        let Some(id) = raw_id
            .parse::<u64>()
            .ok()
            .filter(|id| d.records.contains_key(id))
        else {
            return Reply::not_found();
        };
        match method {
            "DELETE" => {
                d.records.remove(&id);
                Reply::no_content()
            }
            "GET" => Reply::json(200, json!({"domain_record": d.records[&id]})),
            _ => {
                let Some(Value::Object(changes)) = body else {
                    return Reply::unprocessable("a JSON object body is required");
                };
                if method == "PUT" && !changes.contains_key("type") {
                    return Reply::unprocessable("type is required");
                }
                let Some(rec) = d.records.get_mut(&id) else {
                    return Reply::not_found();
                };
                for (k, v) in changes {
                    if k != "id" {
                        rec[k] = v.clone();
                    }
                }
                Reply::json(200, json!({"domain_record": rec}))
            }
        }
    }
}

fn record_json(
    id: u64,
    kind: &str,
    name: &str,
    data: &str,
    priority: Option<u64>,
    ttl: u64,
) -> Value {
    json!({"id": id, "type": kind, "name": name, "data": data, "priority": priority,
           "port": null, "ttl": ttl, "weight": null, "flags": null, "tag": null})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(percent_decode("a%3Ab%2Fc"), "a:b/c");
        assert_eq!(percent_decode("bad%zz%4"), "bad%zz%4");
    }
}

//! The fake's networking, storage, project and monitoring resources (issue #22): cloud
//! firewalls, VPCs, reserved IPs, projects (and the resources assigned to them by URN),
//! block storage volumes (attach/detach/resize actions) and monitoring alert policies.
//!
//! Objects are kept as the JSON the API answers with; what ties them together (a droplet's
//! VPC, a firewall's droplets, a volume's droplet, an IP's droplet, a URN's project) is
//! checked on every write, and a deleted droplet leaves every firewall, volume and
//! reserved IP, as on DigitalOcean.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{REGIONS, Reply, State, now_str, paginate, query_get, region_json, str_field};

/// The id of the project every account has, which holds whatever is not assigned elsewhere.
pub(super) const DEFAULT_PROJECT_ID: &str = "4e1bfbc3-dc3e-41f2-a18f-1b4d7ba71679";
/// The account's owner, as `owner_uuid` of its projects.
const OWNER_UUID: &str = "b6fc48dbf6d9906cace5f3c78dc9851e757381ef";
/// `floating_ip_limit` of the fake account (`GET /v2/account`).
pub(super) const RESERVED_IP_LIMIT: usize = 3;
const MAX_VOLUME_GIB: u64 = 16 * 1024;

#[derive(Debug)]
pub(super) struct ReservedIpRec {
    region: String,
    droplet: Option<u64>,
}

/// The resources of this module, held by [`State`].
#[derive(Debug)]
pub(super) struct Cloud {
    firewalls: BTreeMap<String, Value>,
    vpcs: BTreeMap<String, Value>,
    reserved_ips: BTreeMap<String, ReservedIpRec>,
    projects: BTreeMap<String, Value>,
    /// URN → (project id, assigned at). A resource not listed is in the default project.
    assigned: BTreeMap<String, (String, String)>,
    volumes: BTreeMap<String, Value>,
    policies: BTreeMap<String, Value>,
}

impl Cloud {
    pub(super) fn new() -> Self {
        let mut projects = BTreeMap::new();
        projects.insert(
            DEFAULT_PROJECT_ID.to_owned(),
            json!({
                "id": DEFAULT_PROJECT_ID, "owner_uuid": OWNER_UUID, "owner_id": 258_992,
                "name": "Default", "description": "The account's default project",
                "purpose": "Service or API", "environment": "Production", "is_default": true,
                "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            }),
        );
        Self {
            firewalls: BTreeMap::new(),
            vpcs: BTreeMap::new(),
            reserved_ips: BTreeMap::new(),
            projects,
            assigned: BTreeMap::new(),
            volumes: BTreeMap::new(),
            policies: BTreeMap::new(),
        }
    }

    /// How many firewalls, VPCs, reserved IPs, non-default projects, volumes and alert
    /// policies exist, for tests that tear down to zero.
    pub(super) fn counts(&self) -> [usize; 6] {
        [
            self.firewalls.len(),
            self.vpcs.len(),
            self.reserved_ips.len(),
            self.projects.len() - 1,
            self.volumes.len(),
            self.policies.len(),
        ]
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn ids(v: Option<&Value>) -> Option<Vec<u64>> {
    match v {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(Value::as_u64).collect(),
        Some(_) => None,
    }
}

fn ipv4_int(ip: &str) -> Option<u64> {
    ip.parse::<std::net::Ipv4Addr>()
        .ok()
        .map(|a| u64::from(u32::from(a)))
}

/// DigitalOcean's rule for volume names: lowercase letters, digits and `-`, starting with
/// a letter, at most 64 characters.
fn volume_name_ok(name: &str) -> bool {
    name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Names of firewalls, VPCs: letters, digits, `.`, `-` and `_`, 1 to 255 characters.
fn plain_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn remove_all<T: PartialEq>(list: &mut Vec<T>, gone: &[T]) {
    list.retain(|x| !gone.contains(x));
}

impl State {
    fn uuid(&mut self) -> String {
        let n = self.id();
        format!("fa4e{:04x}-0000-4000-8000-{n:012x}", n >> 48)
    }

    /// A droplet was deleted: it leaves firewalls, volumes, reserved IPs and its project.
    pub(super) fn droplet_gone(&mut self, id: u64) {
        for fw in self.cloud.firewalls.values_mut() {
            if let Some(Value::Array(ids)) = fw.get_mut("droplet_ids") {
                ids.retain(|x| x.as_u64() != Some(id));
            }
        }
        for v in self.cloud.volumes.values_mut() {
            if let Some(Value::Array(ids)) = v.get_mut("droplet_ids") {
                ids.retain(|x| x.as_u64() != Some(id));
            }
        }
        for ip in self.cloud.reserved_ips.values_mut() {
            if ip.droplet == Some(id) {
                ip.droplet = None;
            }
        }
        self.cloud.assigned.remove(&format!("do:droplet:{id}"));
    }

    /// Checks a droplet create's `volumes`: each must exist, be in the droplet's region and
    /// be attached to nothing, and a volume goes to one droplet only.
    pub(super) fn check_droplet_volumes(
        &self,
        volumes: &[String],
        region: &str,
        droplets: usize,
    ) -> Option<Reply> {
        if !volumes.is_empty() && droplets > 1 {
            return Some(Reply::unprocessable(
                "volumes can only be attached to a single Droplet create",
            ));
        }
        for id in volumes {
            let Some(v) = self.cloud.volumes.get(id) else {
                return Some(Reply::unprocessable(format!("volume {id} not found")));
            };
            if v["region"]["slug"] != region {
                return Some(Reply::unprocessable(format!(
                    "volume {id} is in region {}, not {region}",
                    v["region"]["slug"].as_str().unwrap_or_default()
                )));
            }
            if v["droplet_ids"].as_array().is_some_and(|a| !a.is_empty()) {
                return Some(Reply::unprocessable(format!(
                    "volume {id} is already attached to a Droplet"
                )));
            }
        }
        None
    }

    /// Attaches `volumes` (checked by [`check_droplet_volumes`](Self::check_droplet_volumes))
    /// to a new droplet.
    pub(super) fn attach_volumes(&mut self, volumes: &[String], droplet: u64) {
        for id in volumes {
            if let Some(v) = self.cloud.volumes.get_mut(id) {
                v["droplet_ids"] = json!([droplet]);
            }
        }
    }

    /// The ids of the volumes attached to `droplet`.
    pub(super) fn volume_ids_of(&self, droplet: u64) -> Vec<String> {
        self.cloud
            .volumes
            .iter()
            .filter(|(_, v)| {
                v["droplet_ids"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x.as_u64() == Some(droplet)))
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Checks a droplet create's `vpc_uuid` against the VPCs the fake knows: an unknown
    /// UUID is taken as the region's default VPC; a known one must be in the region.
    pub(super) fn check_droplet_vpc(&self, vpc: Option<&str>, region: &str) -> Option<Reply> {
        let v = self.cloud.vpcs.get(vpc?)?;
        (v["region"] != region).then(|| {
            Reply::unprocessable(format!(
                "VPC {} is in region {}, not {region}",
                v["id"].as_str().unwrap_or_default(),
                v["region"].as_str().unwrap_or_default()
            ))
        })
    }

    /// The routes of this module; `None` when the path is none of them.
    pub(super) fn route_cloud(
        &mut self,
        base: &str,
        method: &str,
        path: &str,
        segs: &[&str],
        pairs: &[(String, String)],
        body: Option<&Value>,
    ) -> Option<Reply> {
        let reply = match (method, segs) {
            ("GET", ["firewalls"]) => {
                let items = self.cloud.firewalls.values().cloned().collect();
                paginate(base, path, pairs, "firewalls", items)
            }
            ("POST", ["firewalls"]) => self.firewall_write(None, body),
            ("GET", ["firewalls", id]) => match self.cloud.firewalls.get(*id) {
                Some(fw) => Reply::json(200, json!({"firewall": fw})),
                None => Reply::not_found(),
            },
            ("PUT", ["firewalls", id]) => self.firewall_write(Some(id), body),
            ("DELETE", ["firewalls", id]) => match self.cloud.firewalls.remove(*id) {
                Some(_) => Reply::no_content(),
                None => Reply::not_found(),
            },
            (m @ ("POST" | "DELETE"), ["firewalls", id, what]) => {
                self.firewall_edit(id, what, m == "POST", body)
            }

            ("GET", ["vpcs"]) => {
                let items = self.cloud.vpcs.values().cloned().collect();
                paginate(base, path, pairs, "vpcs", items)
            }
            ("POST", ["vpcs"]) => self.create_vpc(body),
            ("GET", ["vpcs", id]) => match self.cloud.vpcs.get(*id) {
                Some(v) => Reply::json(200, json!({"vpc": v})),
                None => Reply::not_found(),
            },
            (m @ ("PUT" | "PATCH"), ["vpcs", id]) => self.update_vpc(id, m == "PUT", body),
            ("DELETE", ["vpcs", id]) => self.delete_vpc(id),
            ("GET", ["vpcs", id, "members"]) => match self.vpc_members(id, pairs) {
                Some(items) => paginate(base, path, pairs, "members", items),
                None => Reply::not_found(),
            },

            ("GET", ["reserved_ips"]) => {
                let ips: Vec<String> = self.cloud.reserved_ips.keys().cloned().collect();
                let items = ips.iter().map(|ip| self.reserved_ip_json(ip)).collect();
                paginate(base, path, pairs, "reserved_ips", items)
            }
            ("POST", ["reserved_ips"]) => self.create_reserved_ip(base, body),
            ("GET", ["reserved_ips", ip]) if self.cloud.reserved_ips.contains_key(*ip) => {
                Reply::json(200, json!({"reserved_ip": self.reserved_ip_json(ip)}))
            }
            ("DELETE", ["reserved_ips", ip]) => match self.cloud.reserved_ips.remove(*ip) {
                Some(_) => {
                    self.cloud.assigned.remove(&format!("do:floatingip:{ip}"));
                    Reply::no_content()
                }
                None => Reply::not_found(),
            },
            ("POST", ["reserved_ips", ip, "actions"]) => self.reserved_ip_action(ip, body),
            ("GET", ["reserved_ips", ip, "actions", aid]) => {
                self.owned_action("reserved_ip", ip, aid)
            }

            ("GET", ["projects"]) => {
                let items = self.cloud.projects.values().cloned().collect();
                paginate(base, path, pairs, "projects", items)
            }
            ("POST", ["projects"]) => self.create_project(body),
            ("GET", ["projects", id]) => match self.project_id(id) {
                Some(id) => Reply::json(200, json!({"project": self.cloud.projects[&id]})),
                None => Reply::not_found(),
            },
            (m @ ("PUT" | "PATCH"), ["projects", id]) => self.update_project(id, m == "PUT", body),
            ("DELETE", ["projects", id]) => self.delete_project(id),
            ("GET", ["projects", id, "resources"]) => match self.project_id(id) {
                Some(id) => {
                    let items = self.project_resources(base, &id);
                    paginate(base, path, pairs, "resources", items)
                }
                None => Reply::not_found(),
            },
            ("POST", ["projects", id, "resources"]) => self.assign_resources(base, id, body),

            ("GET", ["volumes"]) => self.list_volumes(base, path, pairs),
            ("POST", ["volumes"]) => self.create_volume(body),
            ("DELETE", ["volumes"]) => {
                let (Some(name), Some(region)) =
                    (query_get(pairs, "name"), query_get(pairs, "region"))
                else {
                    return Some(Reply::unprocessable("name and region are required"));
                };
                let found = self
                    .cloud
                    .volumes
                    .iter()
                    .find(|(_, v)| v["name"] == name && v["region"]["slug"] == region)
                    .map(|(id, _)| id.clone());
                match found {
                    Some(id) => self.delete_volume(&id),
                    None => Reply::not_found(),
                }
            }
            ("GET", ["volumes", id]) => match self.cloud.volumes.get(*id) {
                Some(v) => Reply::json(200, json!({"volume": v})),
                None => Reply::not_found(),
            },
            ("DELETE", ["volumes", id]) => self.delete_volume(id),
            ("POST", ["volumes", id, "actions"]) => self.volume_action(id, body),
            ("GET", ["volumes", id, "actions", aid]) => self.owned_action("volume", id, aid),

            ("GET", ["monitoring", "alerts"]) => {
                let items = self.cloud.policies.values().cloned().collect();
                paginate(base, path, pairs, "policies", items)
            }
            ("POST", ["monitoring", "alerts"]) => self.policy_write(None, body),
            ("GET", ["monitoring", "alerts", id]) => match self.cloud.policies.get(*id) {
                Some(p) => Reply::json(200, json!({"policy": p})),
                None => Reply::not_found(),
            },
            ("PUT", ["monitoring", "alerts", id]) => self.policy_write(Some(id), body),
            ("DELETE", ["monitoring", "alerts", id]) => match self.cloud.policies.remove(*id) {
                Some(_) => Reply::no_content(),
                None => Reply::not_found(),
            },
            _ => return None,
        };
        Some(reply)
    }

    fn owned_action(&self, resource_type: &str, owner: &str, raw_aid: &str) -> Reply {
        match raw_aid.parse::<u64>() {
            Ok(aid)
                if self
                    .actions
                    .get(&aid)
                    .is_some_and(|a| a.resource_type == resource_type && a.owner == owner) =>
            {
                Reply::json(200, json!({"action": self.action_json(aid)}))
            }
            _ => Reply::not_found(),
        }
    }

    fn missing_droplet(&self, ids: &[u64]) -> Option<u64> {
        ids.iter()
            .copied()
            .find(|id| !self.droplets.contains_key(id))
    }

    // ------------------------------------------------------------------ firewalls

    fn firewall_write(&mut self, id: Option<&str>, body: Option<&Value>) -> Reply {
        if id.is_some_and(|id| !self.cloud.firewalls.contains_key(id)) {
            return Reply::not_found();
        }
        let Some(name) = str_field(body, "name") else {
            return Reply::error(400, "bad_request", "name is required");
        };
        if !plain_name_ok(name) {
            return Reply::error(
                400,
                "bad_request",
                "name must be 1 to 255 letters, digits, '.', '-' or '_'",
            );
        }
        let body = body.unwrap_or(&Value::Null);
        let Some(droplet_ids) = ids(body.get("droplet_ids")) else {
            return Reply::error(400, "bad_request", "droplet_ids must be integers");
        };
        if let Some(missing) = self.missing_droplet(&droplet_ids) {
            return Reply::error(400, "bad_request", &format!("Droplet {missing} not found"));
        }
        let rules = |key: &str| match body.get(key) {
            Some(Value::Array(a)) => Value::Array(a.clone()),
            _ => json!([]),
        };
        let (inbound, outbound) = (rules("inbound_rules"), rules("outbound_rules"));
        let id = match id {
            Some(id) => id.to_owned(),
            None => self.uuid(),
        };
        let created_at = self
            .cloud
            .firewalls
            .get(&id)
            .and_then(|f| f.get("created_at").cloned())
            .unwrap_or_else(|| json!(now_str()));
        let fw = json!({
            "id": id, "name": name, "status": "succeeded", "created_at": created_at,
            "pending_changes": [], "droplet_ids": droplet_ids, "tags": strings(body.get("tags")),
            "inbound_rules": inbound, "outbound_rules": outbound,
        });
        let status = if self.cloud.firewalls.contains_key(&id) {
            200
        } else {
            202
        };
        self.cloud.firewalls.insert(id, fw.clone());
        Reply::json(status, json!({"firewall": fw}))
    }

    fn firewall_edit(&mut self, id: &str, what: &str, add: bool, body: Option<&Value>) -> Reply {
        if !matches!(what, "droplets" | "tags" | "rules") {
            return Reply::not_found();
        }
        if !self.cloud.firewalls.contains_key(id) {
            return Reply::not_found();
        }
        let body = body.unwrap_or(&Value::Null);
        match what {
            "droplets" => {
                let Some(list) = ids(body.get("droplet_ids")).filter(|l| !l.is_empty()) else {
                    return Reply::error(400, "bad_request", "droplet_ids is required");
                };
                if let Some(missing) = self.missing_droplet(&list) {
                    return Reply::error(
                        400,
                        "bad_request",
                        &format!("Droplet {missing} not found"),
                    );
                }
                let Some(fw) = self.cloud.firewalls.get_mut(id) else {
                    return Reply::not_found();
                };
                let mut now: Vec<u64> = ids(fw.get("droplet_ids")).unwrap_or_default();
                if add {
                    for d in list {
                        if !now.contains(&d) {
                            now.push(d);
                        }
                    }
                } else {
                    remove_all(&mut now, &list);
                }
                fw["droplet_ids"] = json!(now);
            }
            "tags" => {
                let list = strings(body.get("tags"));
                if list.is_empty() {
                    return Reply::error(400, "bad_request", "tags is required");
                }
                let Some(fw) = self.cloud.firewalls.get_mut(id) else {
                    return Reply::not_found();
                };
                let mut now = strings(fw.get("tags"));
                if add {
                    for t in list {
                        if !now.contains(&t) {
                            now.push(t);
                        }
                    }
                } else {
                    remove_all(&mut now, &list);
                }
                fw["tags"] = json!(now);
            }
            _ => {
                let Some(fw) = self.cloud.firewalls.get_mut(id) else {
                    return Reply::not_found();
                };
                for key in ["inbound_rules", "outbound_rules"] {
                    let Some(Value::Array(given)) = body.get(key) else {
                        continue;
                    };
                    let mut now = match fw.get(key) {
                        Some(Value::Array(a)) => a.clone(),
                        _ => Vec::new(),
                    };
                    if add {
                        now.extend(
                            given
                                .iter()
                                .filter(|r| !now.contains(r))
                                .cloned()
                                .collect::<Vec<_>>(),
                        );
                    } else {
                        remove_all(&mut now, given);
                    }
                    fw[key] = Value::Array(now);
                }
            }
        }
        Reply::no_content()
    }

    // ------------------------------------------------------------------ VPCs

    fn create_vpc(&mut self, body: Option<&Value>) -> Reply {
        let (Some(name), Some(region)) = (str_field(body, "name"), str_field(body, "region"))
        else {
            return Reply::unprocessable("name and region are required");
        };
        if !plain_name_ok(name) {
            return Reply::unprocessable("name must be 1 to 255 letters, digits, '.', '-' or '_'");
        }
        if !REGIONS.iter().any(|r| r.0 == region) {
            return Reply::unprocessable("Region is not available");
        }
        if self.cloud.vpcs.values().any(|v| v["name"] == name) {
            return Reply::unprocessable(format!("A VPC named {name} already exists"));
        }
        let n = self.cloud.vpcs.len() as u64 + 1;
        let ip_range = match str_field(body, "ip_range") {
            Some(r) => r.to_owned(),
            None => format!("10.{}.0.0/20", 100 + n % 100),
        };
        if self
            .cloud
            .vpcs
            .values()
            .any(|v| v["ip_range"] == ip_range.as_str())
        {
            return Reply::unprocessable(format!("ip_range {ip_range} overlaps another VPC"));
        }
        let id = self.uuid();
        let vpc = json!({
            "id": id, "urn": format!("do:vpc:{id}"), "name": name,
            "description": str_field(body, "description").unwrap_or(""),
            "region": region, "ip_range": ip_range, "default": false, "created_at": now_str(),
        });
        self.cloud.vpcs.insert(id, vpc.clone());
        Reply::json(201, json!({"vpc": vpc}))
    }

    fn update_vpc(&mut self, id: &str, put: bool, body: Option<&Value>) -> Reply {
        let Some(vpc) = self.cloud.vpcs.get_mut(id) else {
            return Reply::not_found();
        };
        let name = str_field(body, "name");
        if put && name.is_none() {
            return Reply::unprocessable("name is required");
        }
        if let Some(name) = name {
            if !plain_name_ok(name) {
                return Reply::unprocessable(
                    "name must be 1 to 255 letters, digits, '.', '-' or '_'",
                );
            }
            vpc["name"] = json!(name);
        }
        if let Some(d) = str_field(body, "description") {
            vpc["description"] = json!(d);
        }
        if let Some(d) = body.and_then(|b| b.get("default")).and_then(Value::as_bool) {
            vpc["default"] = json!(d);
        }
        Reply::json(200, json!({"vpc": vpc}))
    }

    fn delete_vpc(&mut self, id: &str) -> Reply {
        let Some(vpc) = self.cloud.vpcs.get(id) else {
            return Reply::not_found();
        };
        if vpc["default"] == true {
            return Reply::error(
                409,
                "conflict",
                "The default VPC of a region cannot be deleted",
            );
        }
        if self
            .droplets
            .values()
            .any(|d| d.vpc_uuid.as_deref() == Some(id))
        {
            return Reply::error(
                409,
                "conflict",
                "Can not delete VPC with members: delete or move its resources first",
            );
        }
        self.cloud.vpcs.remove(id);
        Reply::no_content()
    }

    fn vpc_members(&self, id: &str, pairs: &[(String, String)]) -> Option<Vec<Value>> {
        self.cloud.vpcs.get(id)?;
        if query_get(pairs, "resource_type").is_some_and(|t| t != "droplet") {
            return Some(Vec::new());
        }
        Some(
            self.droplets
                .iter()
                .filter(|(_, d)| d.vpc_uuid.as_deref() == Some(id))
                .map(|(did, d)| {
                    json!({"name": d.name, "urn": format!("do:droplet:{did}"), "created_at": d.created_at})
                })
                .collect(),
        )
    }

    // ------------------------------------------------------------------ reserved IPs

    fn reserved_ip_json(&self, ip: &str) -> Value {
        let Some(r) = self.cloud.reserved_ips.get(ip) else {
            return Value::Null;
        };
        let urn = format!("do:floatingip:{ip}");
        json!({
            "ip": ip, "region": region_json(&r.region),
            "droplet": r.droplet.map_or(Value::Null, |d| self.droplet_json(d)),
            "locked": false, "project_id": self.project_of(&urn),
        })
    }

    fn create_reserved_ip(&mut self, base: &str, body: Option<&Value>) -> Reply {
        if self.cloud.reserved_ips.len() >= RESERVED_IP_LIMIT {
            return Reply::unprocessable(format!(
                "You have reached your reserved IP limit of {RESERVED_IP_LIMIT}"
            ));
        }
        let droplet = body
            .and_then(|b| b.get("droplet_id"))
            .and_then(Value::as_u64);
        let (region, droplet) = match (droplet, str_field(body, "region")) {
            (Some(d), None) => match self.droplets.get(&d) {
                Some(rec) => (rec.region.clone(), Some(d)),
                None => return Reply::unprocessable(format!("Droplet {d} not found")),
            },
            (None, Some(r)) if REGIONS.iter().any(|x| x.0 == r) => (r.to_owned(), None),
            (None, Some(_)) => return Reply::unprocessable("Region is not available"),
            _ => return Reply::unprocessable("exactly one of droplet_id or region is required"),
        };
        let project = str_field(body, "project_id").map(str::to_owned);
        if let Some(p) = &project
            && !self.cloud.projects.contains_key(p)
        {
            return Reply::unprocessable(format!("project {p} not found"));
        }
        let Some(ip) = (1..=254)
            .map(|n| format!("198.51.100.{n}"))
            .find(|ip| !self.cloud.reserved_ips.contains_key(ip))
        else {
            return Reply::unprocessable("no reserved IP left in the fake's range");
        };
        self.cloud.reserved_ips.insert(
            ip.clone(),
            ReservedIpRec {
                region: region.clone(),
                droplet,
            },
        );
        if let Some(p) = project {
            self.cloud
                .assigned
                .insert(format!("do:floatingip:{ip}"), (p, now_str()));
        }
        let links = match droplet {
            Some(d) => {
                let aid = self.start_action_on(
                    "assign_ip",
                    "reserved_ip",
                    ipv4_int(&ip),
                    ip.clone(),
                    &region,
                );
                json!({
                    "droplets": [{"id": d, "rel": "droplet", "href": format!("{base}/v2/droplets/{d}")}],
                    "actions": [{"id": aid, "rel": "assign_ip", "href": format!("{base}/v2/actions/{aid}")}],
                })
            }
            None => json!({}),
        };
        Reply::json(
            202,
            json!({"reserved_ip": self.reserved_ip_json(&ip), "links": links}),
        )
    }

    fn reserved_ip_action(&mut self, ip: &str, body: Option<&Value>) -> Reply {
        let Some(rec) = self.cloud.reserved_ips.get(ip) else {
            return Reply::not_found();
        };
        let region = rec.region.clone();
        let assigned = rec.droplet;
        let kind = match str_field(body, "type") {
            Some("assign") => {
                let Some(d) = body
                    .and_then(|b| b.get("droplet_id"))
                    .and_then(Value::as_u64)
                else {
                    return Reply::unprocessable("droplet_id is required to assign");
                };
                let Some(drec) = self.droplets.get(&d) else {
                    return Reply::unprocessable(format!("Droplet {d} not found"));
                };
                if drec.region != region {
                    return Reply::unprocessable(format!(
                        "Droplet {d} is in {}, the reserved IP in {region}",
                        drec.region
                    ));
                }
                if let Some(other) = self
                    .cloud
                    .reserved_ips
                    .iter()
                    .find(|(k, r)| r.droplet == Some(d) && k.as_str() != ip)
                {
                    return Reply::unprocessable(format!(
                        "Droplet {d} already has reserved IP {}",
                        other.0
                    ));
                }
                if let Some(r) = self.cloud.reserved_ips.get_mut(ip) {
                    r.droplet = Some(d);
                }
                "assign_ip"
            }
            Some("unassign") => {
                if assigned.is_none() {
                    return Reply::unprocessable("The reserved IP is not assigned to a Droplet");
                }
                if let Some(r) = self.cloud.reserved_ips.get_mut(ip) {
                    r.droplet = None;
                }
                "unassign_ip"
            }
            _ => return Reply::unprocessable("type must be assign or unassign"),
        };
        let aid = self.start_action_on(kind, "reserved_ip", ipv4_int(ip), ip.to_owned(), &region);
        Reply::json(201, json!({"action": self.action_json(aid)}))
    }

    // ------------------------------------------------------------------ projects

    fn project_id(&self, raw: &str) -> Option<String> {
        if raw == "default" {
            return Some(DEFAULT_PROJECT_ID.to_owned());
        }
        self.cloud
            .projects
            .contains_key(raw)
            .then(|| raw.to_owned())
    }

    fn project_of(&self, urn: &str) -> String {
        self.cloud
            .assigned
            .get(urn)
            .map_or_else(|| DEFAULT_PROJECT_ID.to_owned(), |(p, _)| p.clone())
    }

    fn urn_exists(&self, urn: &str) -> bool {
        let mut parts = urn.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("do"), Some("droplet"), Some(id)) => id
                .parse::<u64>()
                .is_ok_and(|i| self.droplets.contains_key(&i)),
            (Some("do"), Some("volume"), Some(id)) => self.cloud.volumes.contains_key(id),
            (Some("do"), Some("floatingip" | "reservedip"), Some(ip)) => {
                self.cloud.reserved_ips.contains_key(ip)
            }
            (Some("do"), Some("domain"), Some(name)) => self.domains.contains_key(name),
            _ => false,
        }
    }

    fn all_urns(&self) -> Vec<(String, String)> {
        let mut urns: Vec<(String, String)> = self
            .droplets
            .keys()
            .map(|id| (format!("do:droplet:{id}"), format!("v2/droplets/{id}")))
            .collect();
        urns.extend(
            self.cloud
                .volumes
                .keys()
                .map(|id| (format!("do:volume:{id}"), format!("v2/volumes/{id}"))),
        );
        urns.extend(self.cloud.reserved_ips.keys().map(|ip| {
            (
                format!("do:floatingip:{ip}"),
                format!("v2/reserved_ips/{ip}"),
            )
        }));
        urns.extend(
            self.domains
                .keys()
                .map(|d| (format!("do:domain:{d}"), format!("v2/domains/{d}"))),
        );
        urns
    }

    fn project_resources(&self, base: &str, project: &str) -> Vec<Value> {
        self.all_urns()
            .into_iter()
            .filter(|(urn, _)| self.project_of(urn) == project)
            .map(|(urn, link)| {
                let at = self
                    .cloud
                    .assigned
                    .get(&urn)
                    .map_or_else(|| "2024-01-01T00:00:00Z".to_owned(), |(_, at)| at.clone());
                json!({"urn": urn, "assigned_at": at, "links": {"self": format!("{base}/{link}")}, "status": "ok"})
            })
            .collect()
    }

    fn assign_resources(&mut self, base: &str, raw: &str, body: Option<&Value>) -> Reply {
        let Some(project) = self.project_id(raw) else {
            return Reply::not_found();
        };
        let urns = strings(body.and_then(|b| b.get("resources")));
        if urns.is_empty() {
            return Reply::unprocessable("resources must list at least one URN");
        }
        let mut out = Vec::new();
        for urn in urns {
            let at = now_str();
            let status = if !self.urn_exists(&urn) {
                "not_found"
            } else if self.project_of(&urn) == project {
                "already_assigned"
            } else {
                self.cloud
                    .assigned
                    .insert(urn.clone(), (project.clone(), at.clone()));
                "assigned"
            };
            let link = self
                .all_urns()
                .into_iter()
                .find(|(u, _)| *u == urn)
                .map_or_else(|| format!("{base}/v2"), |(_, l)| format!("{base}/{l}"));
            out.push(
                json!({"urn": urn, "assigned_at": at, "links": {"self": link}, "status": status}),
            );
        }
        Reply::json(200, json!({"resources": out}))
    }

    fn create_project(&mut self, body: Option<&Value>) -> Reply {
        let (Some(name), Some(purpose)) = (str_field(body, "name"), str_field(body, "purpose"))
        else {
            return Reply::unprocessable("name and purpose are required");
        };
        if name.is_empty() || name.len() > 175 {
            return Reply::unprocessable("name must be 1 to 175 characters");
        }
        if self.cloud.projects.values().any(|p| p["name"] == name) {
            return Reply::error(
                409,
                "conflict",
                &format!("a project named {name} already exists"),
            );
        }
        let id = self.uuid();
        let now = now_str();
        let mut p = json!({
            "id": id, "owner_uuid": OWNER_UUID, "owner_id": 258_992, "name": name,
            "description": str_field(body, "description").unwrap_or(""), "purpose": purpose,
            "is_default": false, "created_at": now, "updated_at": now,
        });
        if let Some(env) = str_field(body, "environment") {
            p["environment"] = json!(env);
        }
        self.cloud.projects.insert(id, p.clone());
        Reply::json(201, json!({"project": p}))
    }

    fn update_project(&mut self, raw: &str, put: bool, body: Option<&Value>) -> Reply {
        let Some(id) = self.project_id(raw) else {
            return Reply::not_found();
        };
        let Some(Value::Object(changes)) = body else {
            return Reply::unprocessable("a JSON object body is required");
        };
        let fields = [
            "name",
            "description",
            "purpose",
            "environment",
            "is_default",
        ];
        if put && let Some(missing) = fields.iter().find(|f| !changes.contains_key(**f)) {
            return Reply::unprocessable(format!("{missing} is required"));
        }
        let becomes_default = changes.get("is_default") == Some(&json!(true));
        if changes.get("is_default") == Some(&json!(false)) && id == self.default_project() {
            return Reply::unprocessable("set another project as default instead");
        }
        if becomes_default {
            for p in self.cloud.projects.values_mut() {
                p["is_default"] = json!(false);
            }
        }
        let Some(p) = self.cloud.projects.get_mut(&id) else {
            return Reply::not_found();
        };
        let changes: Map<String, Value> = changes.clone();
        for f in fields {
            if let Some(v) = changes.get(f) {
                p[f] = v.clone();
            }
        }
        p["updated_at"] = json!(now_str());
        Reply::json(200, json!({"project": p}))
    }

    fn default_project(&self) -> String {
        self.cloud
            .projects
            .iter()
            .find(|(_, p)| p["is_default"] == true)
            .map_or_else(|| DEFAULT_PROJECT_ID.to_owned(), |(id, _)| id.clone())
    }

    fn delete_project(&mut self, raw: &str) -> Reply {
        let Some(id) = self.project_id(raw) else {
            return Reply::not_found();
        };
        if id == self.default_project() {
            return Reply::unprocessable("the default project cannot be deleted");
        }
        let held = self
            .all_urns()
            .iter()
            .any(|(urn, _)| self.project_of(urn) == id);
        if held {
            return Reply::error(
                412,
                "precondition_failed",
                "cannot delete a project with resources. Move or remove the resources first",
            );
        }
        self.cloud.projects.remove(&id);
        self.cloud.assigned.retain(|_, (p, _)| *p != id);
        Reply::no_content()
    }

    // ------------------------------------------------------------------ volumes

    fn list_volumes(&self, base: &str, path: &str, pairs: &[(String, String)]) -> Reply {
        let name = query_get(pairs, "name");
        let region = query_get(pairs, "region");
        let items = self
            .cloud
            .volumes
            .values()
            .filter(|v| name.is_none_or(|n| v["name"] == n))
            .filter(|v| region.is_none_or(|r| v["region"]["slug"] == r))
            .cloned()
            .collect();
        paginate(base, path, pairs, "volumes", items)
    }

    fn create_volume(&mut self, body: Option<&Value>) -> Reply {
        let (Some(name), Some(region)) = (str_field(body, "name"), str_field(body, "region"))
        else {
            return Reply::error(400, "bad_request", "name and region are required");
        };
        if !volume_name_ok(name) {
            return Reply::error(
                400,
                "bad_request",
                "name must be lowercase letters, digits and '-', start with a letter, at most 64 characters",
            );
        }
        if !REGIONS.iter().any(|r| r.0 == region) {
            return Reply::unprocessable("Region is not available");
        }
        let size = body
            .and_then(|b| b.get("size_gigabytes"))
            .and_then(Value::as_u64);
        let Some(size) = size.filter(|s| (1..=MAX_VOLUME_GIB).contains(s)) else {
            return Reply::error(
                400,
                "bad_request",
                &format!("size_gigabytes must be between 1 and {MAX_VOLUME_GIB}"),
            );
        };
        if self
            .cloud
            .volumes
            .values()
            .any(|v| v["name"] == name && v["region"]["slug"] == region)
        {
            return Reply::error(
                409,
                "conflict",
                &format!("a volume named {name} already exists in {region}"),
            );
        }
        let fs = str_field(body, "filesystem_type").unwrap_or("");
        if !matches!(fs, "" | "ext4" | "xfs") {
            return Reply::unprocessable("filesystem_type must be ext4 or xfs");
        }
        let id = self.uuid();
        let v = json!({
            "id": id, "region": region_json(region), "droplet_ids": [], "name": name,
            "description": str_field(body, "description").unwrap_or(""),
            "size_gigabytes": size, "created_at": now_str(),
            "filesystem_type": fs, "filesystem_label": str_field(body, "filesystem_label").unwrap_or(""),
            "tags": strings(body.and_then(|b| b.get("tags"))),
        });
        self.cloud.volumes.insert(id, v.clone());
        Reply::json(201, json!({"volume": v}))
    }

    fn delete_volume(&mut self, id: &str) -> Reply {
        let Some(v) = self.cloud.volumes.get(id) else {
            return Reply::not_found();
        };
        if v["droplet_ids"].as_array().is_some_and(|a| !a.is_empty()) {
            return Reply::error(
                409,
                "conflict",
                "the volume is attached to a Droplet: detach it before deleting it",
            );
        }
        self.cloud.volumes.remove(id);
        self.cloud.assigned.remove(&format!("do:volume:{id}"));
        Reply::no_content()
    }

    fn volume_action(&mut self, id: &str, body: Option<&Value>) -> Reply {
        let Some(v) = self.cloud.volumes.get(id) else {
            return Reply::not_found();
        };
        let region = v["region"]["slug"].as_str().unwrap_or_default().to_owned();
        let attached: Vec<u64> = ids(v.get("droplet_ids")).unwrap_or_default();
        let size = v["size_gigabytes"].as_u64().unwrap_or(0);
        let droplet = body
            .and_then(|b| b.get("droplet_id"))
            .and_then(Value::as_u64);
        let kind = str_field(body, "type").unwrap_or_default();
        let change: Value = match kind {
            "attach" => {
                let Some(d) = droplet else {
                    return Reply::unprocessable("droplet_id is required to attach");
                };
                let Some(drec) = self.droplets.get(&d) else {
                    return Reply::not_found();
                };
                if drec.region != region {
                    return Reply::unprocessable(format!(
                        "Droplet {d} is in {}, the volume in {region}",
                        drec.region
                    ));
                }
                if attached.contains(&d) {
                    return Reply::unprocessable(format!(
                        "the volume is already attached to Droplet {d}"
                    ));
                }
                if !attached.is_empty() {
                    return Reply::unprocessable("the volume is attached to another Droplet");
                }
                json!([d])
            }
            "detach" => {
                let Some(d) = droplet else {
                    return Reply::unprocessable("droplet_id is required to detach");
                };
                if !attached.contains(&d) {
                    return Reply::unprocessable(format!(
                        "the volume is not attached to Droplet {d}"
                    ));
                }
                json!([])
            }
            "resize" => {
                let Some(new) = body
                    .and_then(|b| b.get("size_gigabytes"))
                    .and_then(Value::as_u64)
                else {
                    return Reply::unprocessable("size_gigabytes is required to resize");
                };
                if new <= size || new > MAX_VOLUME_GIB {
                    return Reply::unprocessable(format!(
                        "a volume can only grow: {new} GiB is not above {size} GiB (max {MAX_VOLUME_GIB})"
                    ));
                }
                if let Some(v) = self.cloud.volumes.get_mut(id) {
                    v["size_gigabytes"] = json!(new);
                }
                Value::Null
            }
            _ => return Reply::unprocessable("type must be attach, detach or resize"),
        };
        if !change.is_null()
            && let Some(v) = self.cloud.volumes.get_mut(id)
        {
            v["droplet_ids"] = change;
        }
        let action_kind = match kind {
            "attach" => "attach_volume",
            "detach" => "detach_volume",
            _ => "resize_volume",
        };
        let aid = self.start_action_on(action_kind, "volume", None, id.to_owned(), &region);
        Reply::json(202, json!({"action": self.action_json(aid)}))
    }

    // ------------------------------------------------------------------ alert policies

    fn policy_write(&mut self, id: Option<&str>, body: Option<&Value>) -> Reply {
        if id.is_some_and(|id| !self.cloud.policies.contains_key(id)) {
            return Reply::not_found();
        }
        let Some(b) = body.and_then(Value::as_object) else {
            return Reply::unprocessable("a JSON object body is required");
        };
        for f in [
            "type",
            "description",
            "compare",
            "value",
            "window",
            "entities",
            "tags",
            "enabled",
            "alerts",
        ] {
            if !b.contains_key(f) {
                return Reply::unprocessable(format!("{f} is required"));
            }
        }
        let kind = b["type"].as_str().unwrap_or_default();
        if !kind.starts_with("v1/insights/droplet/") {
            return Reply::unprocessable(format!("type {kind:?} is not a droplet metric"));
        }
        if !matches!(b["compare"].as_str(), Some("GreaterThan" | "LessThan")) {
            return Reply::unprocessable("compare must be GreaterThan or LessThan");
        }
        if !matches!(b["window"].as_str(), Some("5m" | "10m" | "30m" | "1h")) {
            return Reply::unprocessable("window must be 5m, 10m, 30m or 1h");
        }
        let Some(entities) = b["entities"].as_array() else {
            return Reply::unprocessable("entities must be an array");
        };
        if let Some(bad) = entities.iter().find(|e| {
            !e.as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .is_some_and(|d| self.droplets.contains_key(&d))
        }) {
            return Reply::unprocessable(format!("entity {bad} is not a Droplet of this account"));
        }
        if !b["alerts"].is_object() {
            return Reply::unprocessable(
                "alerts must be an object of email and slack destinations",
            );
        }
        let id = match id {
            Some(id) => id.to_owned(),
            None => self.uuid(),
        };
        let mut p = Value::Object(b.clone());
        p["uuid"] = json!(id);
        self.cloud.policies.insert(id, p.clone());
        Reply::json(200, json!({"policy": p}))
    }
}

//! The fake's state machine: pure request → response logic, no I/O.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{FakeRecord, Fault, FaultRule, LoggedRequest};

/// A response the server writes.
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Resp {
    fn new(status: u16, body: String) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
        }
    }
}

/// What the fault check decided before routing.
#[derive(Debug)]
pub(crate) enum Plan {
    /// Route normally after `delay`.
    Route { delay: Duration, wrap: Wrap },
    /// Answer this instead, after `delay`.
    Answer { delay: Duration, resp: Resp },
    /// Close the connection without an answer.
    Drop { delay: Duration },
}

/// How to wrap a routed answer (job faults).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wrap {
    None,
    Redirect { polls: u32 },
    Incomplete { polls: u32 },
}

#[derive(Debug)]
struct Account {
    customer: String,
    user: String,
    password: SecretString,
}

#[derive(Debug)]
struct Session {
    changes: Vec<Change>,
}

#[derive(Debug, Clone)]
enum Op {
    Add,
    Update(u64),
    Delete(u64),
}

#[derive(Debug, Clone)]
struct Change {
    id: u64,
    zone: String,
    fqdn: String,
    rtype: String,
    rdata: Value,
    ttl: u32,
    op: Op,
}

#[derive(Debug, Default)]
struct ZoneState {
    serial: u64,
    records: Vec<FakeRecord>,
}

#[derive(Debug)]
struct Job {
    token: String,
    polls_left: u32,
    resp: Resp,
}

#[derive(Debug)]
struct TaskState {
    zone: String,
    polls_left: u32,
}

#[derive(Debug)]
pub(crate) struct State {
    accounts: Vec<Account>,
    sessions: HashMap<String, Session>,
    zones: BTreeMap<String, ZoneState>,
    jobs: HashMap<u64, Job>,
    tasks: HashMap<u64, TaskState>,
    pub(crate) faults: Vec<FaultRule>,
    pub(crate) log: Vec<LoggedRequest>,
    next_id: u64,
    pub(crate) task_polls: u32,
    rate_limit: Option<(u32, Duration)>,
    window: VecDeque<Instant>,
}

type Msg<'a> = (&'a str, Option<&'a str>, &'a str);

fn envelope(status: &str, data: Value, job_id: u64, msgs: &[Msg<'_>]) -> String {
    let msgs: Vec<Value> = msgs
        .iter()
        .map(|(info, code, lvl)| json!({"INFO": info, "SOURCE": "BLL", "ERR_CD": code, "LVL": lvl}))
        .collect();
    let mut m = serde_json::Map::new();
    m.insert("status".into(), Value::from(status));
    m.insert("data".into(), data);
    m.insert("job_id".into(), Value::from(job_id));
    m.insert("msgs".into(), Value::Array(msgs));
    Value::Object(m).to_string()
}

impl State {
    pub(crate) fn new(customer: &str, user: &str, password: &str) -> Self {
        Self {
            accounts: vec![Account {
                customer: customer.to_owned(),
                user: user.to_owned(),
                password: SecretString::from(password.to_owned()),
            }],
            sessions: HashMap::new(),
            zones: BTreeMap::new(),
            jobs: HashMap::new(),
            tasks: HashMap::new(),
            faults: Vec::new(),
            log: Vec::new(),
            next_id: 1000,
            task_polls: 0,
            rate_limit: None,
            window: VecDeque::new(),
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn ok(&mut self, data: Value, info: &str) -> Resp {
        let job = self.id();
        Resp::new(200, envelope("success", data, job, &[(info, None, "INFO")]))
    }

    fn fail(&mut self, status: u16, msgs: &[Msg<'_>]) -> Resp {
        let job = self.id();
        Resp::new(status, envelope("failure", json!({}), job, msgs))
    }

    fn not_found(&mut self, info: &str) -> Resp {
        self.fail(404, &[(info, Some("NOT_FOUND"), "ERROR")])
    }

    fn invalid(&mut self, info: &str) -> Resp {
        self.fail(400, &[(info, Some("INVALID_DATA"), "ERROR")])
    }

    fn bad_credentials(&mut self, info: &str) -> Resp {
        self.fail(
            400,
            &[
                (info, Some("INVALID_DATA"), "ERROR"),
                (
                    "login: There was a problem with your credentials",
                    None,
                    "INFO",
                ),
            ],
        )
    }

    pub(crate) fn add_account(&mut self, customer: &str, user: &str, password: &str) {
        self.accounts.push(Account {
            customer: customer.to_owned(),
            user: user.to_owned(),
            password: SecretString::from(password.to_owned()),
        });
    }

    pub(crate) fn add_zone(&mut self, zone: &str) {
        self.zones
            .entry(zone.to_ascii_lowercase())
            .or_insert_with(|| ZoneState {
                serial: 1,
                records: Vec::new(),
            });
    }

    pub(crate) fn set_rate_limit(&mut self, limit: Option<(u32, Duration)>) {
        self.rate_limit = limit;
        self.window.clear();
    }

    pub(crate) fn records(&self, zone: &str) -> Vec<FakeRecord> {
        self.zones
            .get(&zone.to_ascii_lowercase())
            .map(|z| z.records.clone())
            .unwrap_or_default()
    }

    pub(crate) fn serial(&self, zone: &str) -> Option<u64> {
        self.zones.get(&zone.to_ascii_lowercase()).map(|z| z.serial)
    }

    pub(crate) fn pending_changes(&self) -> usize {
        self.sessions.values().map(|s| s.changes.len()).sum()
    }

    pub(crate) fn active_sessions(&self) -> usize {
        self.sessions.len()
    }

    pub(crate) fn expire_all_sessions(&mut self) {
        self.sessions.clear();
    }

    /// Decide faults and the account rate limit for a request.
    pub(crate) fn plan(&mut self, method: &str, path: &str, token: Option<&str>) -> Plan {
        let mut delay = Duration::ZERO;
        let mut chosen = None;
        for rule in self.faults.iter_mut() {
            if rule.remaining == 0 || !rule.matches(method, path) {
                continue;
            }
            if let Fault::Latency(d) = rule.fault {
                rule.remaining -= 1;
                delay += d;
                continue;
            }
            rule.remaining -= 1;
            chosen = Some(rule.fault.clone());
            break;
        }
        self.faults.retain(|r| r.remaining > 0);

        if let Some((limit, window)) = self.rate_limit {
            let now = Instant::now();
            while self
                .window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                self.window.pop_front();
            }
            if self.window.len() >= limit as usize {
                let secs = window.as_secs() + u64::from(window.subsec_nanos() > 0);
                let resp = self.rate_limited(Some(secs));
                return Plan::Answer { delay, resp };
            }
            self.window.push_back(now);
        }

        match chosen {
            None => Plan::Route {
                delay,
                wrap: Wrap::None,
            },
            Some(Fault::Latency(_)) => Plan::Route {
                delay,
                wrap: Wrap::None,
            },
            Some(Fault::RateLimited { retry_after }) => Plan::Answer {
                delay,
                resp: self.rate_limited(retry_after),
            },
            Some(Fault::ServerError(status)) => Plan::Answer {
                delay,
                resp: Resp::new(
                    status,
                    format!("<html><body><h1>{status} Server Error</h1></body></html>"),
                ),
            },
            Some(Fault::DropConnection) => Plan::Drop { delay },
            Some(Fault::ExpireSession) => {
                if let Some(t) = token {
                    self.sessions.remove(t);
                }
                Plan::Answer {
                    delay,
                    resp: self.bad_credentials("login: inactivity logout"),
                }
            }
            Some(Fault::Blocked) => {
                let task = self.id();
                let task_line = format!("task_id: {task}");
                Plan::Answer {
                    delay,
                    resp: self.fail(
                        400,
                        &[
                            (
                                "zone: Operation blocked by current task",
                                Some("ILLEGAL_OPERATION"),
                                "ERROR",
                            ),
                            ("task_name: ProvisionZone", None, "INFO"),
                            (&task_line, None, "INFO"),
                        ],
                    ),
                }
            }
            Some(Fault::Job { polls }) => Plan::Route {
                delay,
                wrap: Wrap::Redirect { polls },
            },
            Some(Fault::Incomplete { polls }) => Plan::Route {
                delay,
                wrap: Wrap::Incomplete { polls },
            },
        }
    }

    fn rate_limited(&mut self, retry_after: Option<u64>) -> Resp {
        let mut resp = self.fail(
            429,
            &[(
                "API rate limit exceeded",
                Some("RATE_LIMIT_EXCEEDED"),
                "ERROR",
            )],
        );
        if let Some(s) = retry_after {
            resp.headers.push(("Retry-After", s.to_string()));
        }
        resp
    }

    /// Turn a routed answer into a job when a job fault asked for it.
    pub(crate) fn wrap(&mut self, wrap: Wrap, token: Option<&str>, resp: Resp) -> Resp {
        let (polls, redirect) = match wrap {
            Wrap::None => return resp,
            Wrap::Redirect { polls } => (polls, true),
            Wrap::Incomplete { polls } => (polls, false),
        };
        let Some(token) = token.filter(|t| self.sessions.contains_key(*t)) else {
            return resp;
        };
        let job_id = self.id();
        self.jobs.insert(
            job_id,
            Job {
                token: token.to_owned(),
                polls_left: polls,
                resp,
            },
        );
        if redirect {
            let mut r = Resp::new(307, String::new());
            r.headers.push(("Location", format!("/REST/Job/{job_id}/")));
            r
        } else {
            Resp::new(
                200,
                envelope(
                    "incomplete",
                    json!({}),
                    job_id,
                    &[("job: Job is still running", None, "INFO")],
                ),
            )
        }
    }

    /// Route a request. `segs` are the non-empty path segments.
    pub(crate) fn route(
        &mut self,
        method: &str,
        segs: &[&str],
        token: Option<&str>,
        body: &[u8],
    ) -> Resp {
        let body: Value = if body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => return self.invalid("request: Could not parse the request body"),
            }
        };
        if segs.first() != Some(&"REST") {
            return Resp::new(404, "<html>Not Found</html>".into());
        }
        if let (["REST", "Session"], "POST") = (segs, method) {
            return self.login(&body);
        }
        let token = match token {
            Some(t) if self.sessions.contains_key(t) => t.to_owned(),
            _ => return self.bad_credentials("login: Bad or expired credentials"),
        };
        match (segs, method) {
            (["REST", "Session"], "GET") => {
                self.ok(json!({}), "isalive: User session is still active")
            }
            (["REST", "Session"], "PUT") => {
                self.ok(json!({}), "keepalive: Session is still active")
            }
            (["REST", "Session"], "DELETE") => {
                self.sessions.remove(&token);
                self.ok(json!({}), "logout: Logout successful")
            }
            (["REST", "Job", id], "GET") => self.job(&token, id),
            (["REST", "Task", id], "GET") => self.task(id),
            (["REST", "Zone"], "GET") => {
                let uris: Vec<String> = self
                    .zones
                    .keys()
                    .map(|z| format!("/REST/Zone/{z}/"))
                    .collect();
                let info = format!("get: Your {} zones", uris.len());
                self.ok(json!(uris), &info)
            }
            (["REST", "Zone", zone], "GET") => self.zone_get(zone),
            (["REST", "Zone", zone], "PUT") => self.zone_put(&token, zone, &body),
            (["REST", "ZoneChanges", zone], "GET") => self.changes(&token, zone),
            (["REST", "ZoneChanges", zone], "DELETE") => {
                let zone = zone.to_ascii_lowercase();
                if let Some(s) = self.sessions.get_mut(&token) {
                    s.changes.retain(|c| c.zone != zone);
                }
                self.ok(json!({}), "remove: Changeset removed")
            }
            (["REST", "AllRecord", zone], "GET") => self.all_records(zone, None),
            (["REST", "AllRecord", zone, fqdn], "GET") => self.all_records(zone, Some(fqdn)),
            ([_, kind, zone, fqdn], _) if kind.ends_with("Record") => {
                let rtype = kind.trim_end_matches("Record").to_owned();
                match method {
                    "GET" => self.list_node(&rtype, zone, fqdn),
                    "POST" => self.create(&token, &rtype, zone, fqdn, &body),
                    _ => self.invalid("request: Method not supported on this resource"),
                }
            }
            ([_, kind, zone, fqdn, id], _) if kind.ends_with("Record") => {
                let rtype = kind.trim_end_matches("Record").to_owned();
                let Ok(id) = id.parse::<u64>() else {
                    return self.invalid("record_id: Invalid record id");
                };
                match method {
                    "GET" => self.get_record(&rtype, zone, fqdn, id),
                    "PUT" => self.update(&token, &rtype, zone, fqdn, id, &body),
                    "DELETE" => self.delete(&token, &rtype, zone, fqdn, id),
                    _ => self.invalid("request: Method not supported on this resource"),
                }
            }
            _ => self.fail(
                404,
                &[("request: No such resource", Some("NOT_FOUND"), "ERROR")],
            ),
        }
    }

    fn login(&mut self, body: &Value) -> Resp {
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
        let (customer, user, password) = (
            field("customer_name"),
            field("user_name"),
            field("password"),
        );
        let ok = self.accounts.iter().any(|a| {
            a.customer == customer && a.user == user && a.password.expose_secret() == password
        });
        if !ok {
            return self.bad_credentials("login: Bad or expired credentials");
        }
        let n = self.id();
        let token = format!("fake+{n}/TkN{:x}=", n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        self.sessions.insert(
            token.clone(),
            Session {
                changes: Vec::new(),
            },
        );
        self.ok(
            json!({"token": token, "version": "3.7.9"}),
            "login: Login successful",
        )
    }

    fn job(&mut self, token: &str, id: &str) -> Resp {
        let Ok(id) = id.parse::<u64>() else {
            return self.not_found("job: No such job");
        };
        match self.jobs.get_mut(&id) {
            Some(job) if job.token == token => {
                if job.polls_left > 0 {
                    job.polls_left -= 1;
                    return Resp::new(
                        200,
                        envelope(
                            "incomplete",
                            json!({}),
                            id,
                            &[("job: Job is still running", None, "INFO")],
                        ),
                    );
                }
                match self.jobs.remove(&id) {
                    Some(job) => job.resp,
                    None => self.not_found("job: No such job"),
                }
            }
            _ => self.not_found("job: No such job"),
        }
    }

    fn task(&mut self, id: &str) -> Resp {
        let Some((id, task)) = id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.tasks.get_mut(&id).map(|t| (id, t)))
        else {
            return self.not_found("task: No such task");
        };
        let status = if task.polls_left > 0 {
            task.polls_left -= 1;
            "running"
        } else {
            "complete"
        };
        let zone = task.zone.clone();
        self.ok(
            json!({"task_id": id.to_string(), "name": "ProvisionZone", "zone_name": zone,
                   "status": status, "blocking": if status == "complete" { "N" } else { "Y" },
                   "step_count": if status == "complete" { 3 } else { 1 }, "total_steps": 3,
                   "message": status, "created_ts": 1_513_771_200u64, "modified_ts": 1_513_771_201u64}),
            "get: Task found",
        )
    }

    fn zone_exists(&mut self, zone: &str) -> Result<String, Resp> {
        let z = zone.to_ascii_lowercase();
        if self.zones.contains_key(&z) {
            Ok(z)
        } else {
            Err(self.fail(404, &[("zone: No such zone", Some("NOT_FOUND"), "ERROR")]))
        }
    }

    fn zone_get(&mut self, zone: &str) -> Resp {
        let z = match self.zone_exists(zone) {
            Ok(z) => z,
            Err(r) => return r,
        };
        let serial = self.zones.get(&z).map(|s| s.serial).unwrap_or_default();
        let info = format!("get: Your zone, {z}");
        self.ok(
            json!({"zone_type": "Primary", "serial_style": "increment", "serial": serial, "zone": z}),
            &info,
        )
    }

    fn zone_put(&mut self, token: &str, zone: &str, body: &Value) -> Resp {
        let z = match self.zone_exists(zone) {
            Ok(z) => z,
            Err(r) => return r,
        };
        if body.get("publish").and_then(Value::as_bool) != Some(true) {
            return self.invalid("zone: Only publish is supported by the fake");
        }
        let mut changes = Vec::new();
        if let Some(s) = self.sessions.get_mut(token) {
            let (mine, rest): (Vec<Change>, Vec<Change>) =
                s.changes.drain(..).partition(|c| c.zone == z);
            s.changes = rest;
            changes = mine;
        }
        let mut new_ids = Vec::new();
        for _ in &changes {
            new_ids.push(self.id());
        }
        let task_id = self.id();
        let polls = self.task_polls;
        let Some(state) = self.zones.get_mut(&z) else {
            return self.not_found("zone: No such zone");
        };
        for (c, new_id) in changes.into_iter().zip(new_ids) {
            match c.op {
                Op::Add => state.records.push(FakeRecord {
                    record_id: new_id,
                    fqdn: c.fqdn,
                    record_type: c.rtype,
                    rdata: c.rdata,
                    ttl: c.ttl,
                }),
                Op::Update(id) => {
                    if let Some(r) = state.records.iter_mut().find(|r| r.record_id == id) {
                        r.rdata = c.rdata;
                        r.ttl = c.ttl;
                    }
                }
                Op::Delete(id) => state.records.retain(|r| r.record_id != id),
            }
        }
        state.serial += 1;
        let serial = state.serial;
        self.tasks.insert(
            task_id,
            TaskState {
                zone: z.clone(),
                polls_left: polls,
            },
        );
        let info = format!("publish: {z} published");
        self.ok(
            json!({"zone_type": "Primary", "task_id": task_id.to_string(), "serial": serial,
                   "serial_style": "increment", "zone": z}),
            &info,
        )
    }

    fn changes(&mut self, token: &str, zone: &str) -> Resp {
        let z = match self.zone_exists(zone) {
            Ok(z) => z,
            Err(r) => return r,
        };
        let serial = self.zones.get(&z).map(|s| s.serial).unwrap_or_default();
        let list: Vec<Value> = self
            .sessions
            .get(token)
            .map(|s| {
                s.changes
                    .iter()
                    .filter(|c| c.zone == z)
                    .map(|c| {
                        let key = format!("rdata_{}", c.rtype.to_ascii_lowercase());
                        json!({"id": c.id, "user_id": 1, "zone": c.zone, "fqdn": c.fqdn,
                               "serial": serial, "ttl": c.ttl, "rdata_type": c.rtype,
                               "rdata": {key: c.rdata}})
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.ok(json!(list), "get: Your changeset")
    }

    fn node_check(&mut self, zone: &str, fqdn: &str) -> Result<(String, String), Resp> {
        let z = self.zone_exists(zone)?;
        let f = fqdn.to_ascii_lowercase();
        if f != z && !f.ends_with(&format!(".{z}")) {
            return Err(self.not_found("node: Node is not in the zone"));
        }
        Ok((z, f))
    }

    fn uri(z: &str, r: &FakeRecord) -> String {
        format!(
            "/REST/{}Record/{z}/{}/{}",
            r.record_type, r.fqdn, r.record_id
        )
    }

    fn all_records(&mut self, zone: &str, fqdn: Option<&str>) -> Resp {
        let (z, f) = match fqdn {
            Some(f) => match self.node_check(zone, f) {
                Ok((z, f)) => (z, Some(f)),
                Err(r) => return r,
            },
            None => match self.zone_exists(zone) {
                Ok(z) => (z, None),
                Err(r) => return r,
            },
        };
        let uris: Vec<String> = self
            .zones
            .get(&z)
            .map(|s| {
                s.records
                    .iter()
                    .filter(|r| {
                        f.as_ref()
                            .is_none_or(|f| r.fqdn == *f || r.fqdn.ends_with(&format!(".{f}")))
                    })
                    .map(|r| Self::uri(&z, r))
                    .collect()
            })
            .unwrap_or_default();
        if uris.is_empty() && f.as_ref().is_some_and(|f| *f != z) {
            return self.fail(
                404,
                &[
                    ("node: Node is not in the zone", Some("NOT_FOUND"), "ERROR"),
                    (
                        "get_tree: Node name not found within the zone",
                        None,
                        "INFO",
                    ),
                ],
            );
        }
        self.ok(json!(uris), "get_tree: Here is your zone tree")
    }

    fn list_node(&mut self, rtype: &str, zone: &str, fqdn: &str) -> Resp {
        let (z, f) = match self.node_check(zone, fqdn) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let uris: Vec<String> = self
            .zones
            .get(&z)
            .map(|s| {
                s.records
                    .iter()
                    .filter(|r| r.fqdn == f && r.record_type == rtype)
                    .map(|r| Self::uri(&z, r))
                    .collect()
            })
            .unwrap_or_default();
        if uris.is_empty() {
            return self.not_found("node: Not in zone");
        }
        let info = format!("get: Found {} record", uris.len());
        self.ok(json!(uris), &info)
    }

    fn get_record(&mut self, rtype: &str, zone: &str, fqdn: &str, id: u64) -> Resp {
        let (z, f) = match self.node_check(zone, fqdn) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let found = self.zones.get(&z).and_then(|s| {
            s.records
                .iter()
                .find(|r| r.record_id == id && r.fqdn == f && r.record_type == rtype)
                .cloned()
        });
        match found {
            Some(r) => self.ok(record_json(&z, &r), "get: Found the record"),
            None => self.not_found("get: Record not found"),
        }
    }

    /// Check `{"rdata": {...}, "ttl": "N"}` for a type; returns (rdata, ttl).
    fn check_body(&mut self, rtype: &str, body: &Value) -> Result<(Value, u32), Resp> {
        let rdata = body.get("rdata").cloned().unwrap_or(Value::Null);
        if !rdata.is_object() {
            return Err(self.fail(
                400,
                &[("rdata: Missing rdata", Some("MISSING_DATA"), "ERROR")],
            ));
        }
        let ttl = match body.get("ttl") {
            None | Some(Value::Null) => Some(0),
            Some(Value::String(s)) => s.parse::<u32>().ok(),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Some(_) => None,
        };
        let Some(ttl) = ttl else {
            return Err(self.invalid("ttl: Invalid TTL"));
        };
        let s = |k: &str| rdata.get(k).and_then(Value::as_str);
        let n = |k: &str| {
            rdata
                .get(k)
                .and_then(Value::as_u64)
                .is_some_and(|v| v <= 65535)
        };
        let valid = match rtype {
            "A" => s("address").is_some_and(|a| a.parse::<Ipv4Addr>().is_ok()),
            "AAAA" => s("address").is_some_and(|a| a.parse::<Ipv6Addr>().is_ok()),
            "CNAME" => s("cname").is_some_and(|c| !c.is_empty()),
            "TXT" | "SPF" => s("txtdata").is_some(),
            "MX" => s("exchange").is_some() && n("preference"),
            "SRV" => s("target").is_some() && n("priority") && n("weight") && n("port"),
            _ => true,
        };
        if !valid {
            return Err(self.invalid("rdata: Invalid data for this record type"));
        }
        Ok((rdata, ttl))
    }

    fn push_change(&mut self, token: &str, change: Change) {
        if let Some(s) = self.sessions.get_mut(token) {
            s.changes.push(change);
        }
    }

    fn create(&mut self, token: &str, rtype: &str, zone: &str, fqdn: &str, body: &Value) -> Resp {
        let (z, f) = match self.node_check(zone, fqdn) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let (rdata, ttl) = match self.check_body(rtype, body) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let id = self.id();
        let rec = FakeRecord {
            record_id: 0,
            fqdn: f.clone(),
            record_type: rtype.to_owned(),
            rdata: rdata.clone(),
            ttl,
        };
        self.push_change(
            token,
            Change {
                id,
                zone: z.clone(),
                fqdn: f,
                rtype: rtype.to_owned(),
                rdata,
                ttl,
                op: Op::Add,
            },
        );
        self.ok(record_json(&z, &rec), "add: Record added")
    }

    fn find_published(&self, z: &str, rtype: &str, f: &str, id: u64) -> Option<FakeRecord> {
        self.zones.get(z).and_then(|s| {
            s.records
                .iter()
                .find(|r| r.record_id == id && r.fqdn == f && r.record_type == rtype)
                .cloned()
        })
    }

    fn update(
        &mut self,
        token: &str,
        rtype: &str,
        zone: &str,
        fqdn: &str,
        id: u64,
        body: &Value,
    ) -> Resp {
        let (z, f) = match self.node_check(zone, fqdn) {
            Ok(v) => v,
            Err(r) => return r,
        };
        if self.find_published(&z, rtype, &f, id).is_none() {
            return self.not_found("update: Record not found");
        }
        let (rdata, ttl) = match self.check_body(rtype, body) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let change_id = self.id();
        self.push_change(
            token,
            Change {
                id: change_id,
                zone: z.clone(),
                fqdn: f.clone(),
                rtype: rtype.to_owned(),
                rdata: rdata.clone(),
                ttl,
                op: Op::Update(id),
            },
        );
        let rec = FakeRecord {
            record_id: id,
            fqdn: f,
            record_type: rtype.to_owned(),
            rdata,
            ttl,
        };
        self.ok(record_json(&z, &rec), "update: Record updated")
    }

    fn delete(&mut self, token: &str, rtype: &str, zone: &str, fqdn: &str, id: u64) -> Resp {
        let (z, f) = match self.node_check(zone, fqdn) {
            Ok(v) => v,
            Err(r) => return r,
        };
        let Some(rec) = self.find_published(&z, rtype, &f, id) else {
            return self.not_found("delete: Record not found");
        };
        let change_id = self.id();
        self.push_change(
            token,
            Change {
                id: change_id,
                zone: z,
                fqdn: f,
                rtype: rtype.to_owned(),
                rdata: rec.rdata,
                ttl: rec.ttl,
                op: Op::Delete(id),
            },
        );
        self.ok(json!({}), "delete: Record will be deleted on zone publish")
    }
}

fn record_json(zone: &str, r: &FakeRecord) -> Value {
    json!({"zone": zone, "ttl": r.ttl, "fqdn": r.fqdn, "record_type": r.record_type,
           "rdata": r.rdata, "record_id": r.record_id})
}

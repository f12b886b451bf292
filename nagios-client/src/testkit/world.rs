//! The fake's in-memory Nagios and nagios-api's command semantics.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::ApiVersion;
use crate::model::Timestamp;

#[derive(Debug, Clone, Default)]
pub(super) struct World {
    pub(super) hosts: BTreeMap<String, Host>,
    pub(super) hostgroups: BTreeMap<String, Vec<String>>,
    pub(super) log: Vec<String>,
    next_downtime_id: u64,
    next_comment_id: u64,
}

#[derive(Debug, Clone)]
pub(super) struct Host {
    pub(super) obj: Obj,
    pub(super) services: BTreeMap<String, Obj>,
}

#[derive(Debug, Clone)]
pub(super) struct Obj {
    state: u8,
    last_hard_state: u8,
    output: String,
    perf: String,
    checked: bool,
    last_check: i64,
    last_state_change: i64,
    notifications: bool,
    active_checks: bool,
    ack: u8,
    downtimes: BTreeMap<u64, Dt>,
    comments: BTreeMap<u64, Cm>,
}

#[derive(Debug, Clone)]
struct Dt {
    entry_time: i64,
    start: i64,
    end: i64,
    fixed: bool,
    duration: i64,
    author: String,
    comment: String,
    comment_id: u64,
}

#[derive(Debug, Clone)]
struct Cm {
    entry_type: u8,
    source: u8,
    persistent: bool,
    entry_time: i64,
    author: String,
    data: String,
}

fn b(v: bool) -> &'static str {
    if v { "1" } else { "0" }
}

impl Obj {
    fn new(state: u8, output: &str, active: bool, checked: bool) -> Obj {
        let now = Timestamp::now().0;
        let mut o = Obj {
            state,
            last_hard_state: state,
            output: String::new(),
            perf: String::new(),
            checked,
            last_check: if checked { now } else { 0 },
            last_state_change: 0,
            notifications: true,
            active_checks: active,
            ack: 0,
            downtimes: BTreeMap::new(),
            comments: BTreeMap::new(),
        };
        o.set_output(output);
        o
    }

    fn set_output(&mut self, output: &str) {
        let (out, perf) = output.split_once('|').unwrap_or((output, ""));
        self.output = out.trim_end().to_owned();
        self.perf = perf.trim().to_owned();
    }

    /// A check result (every object has `max_attempts` 1: states are HARD).
    pub(super) fn check_result(&mut self, state: u8, output: &str, _is_host: bool) {
        let now = Timestamp::now().0;
        if state != self.state {
            self.last_state_change = now;
            // Nagios clears a normal acknowledgement on any state change and
            // a sticky one only on recovery.
            if self.ack == 1 || (self.ack == 2 && state == 0) {
                self.ack = 0;
                self.comments
                    .retain(|_, c| c.entry_type != 4 || c.persistent);
            }
        }
        self.state = state;
        self.last_hard_state = state;
        self.set_output(output);
        self.checked = true;
        self.last_check = now;
    }

    fn depth(&self, now: i64) -> usize {
        self.downtimes
            .values()
            .filter(|d| d.start <= now && now < d.end)
            .count()
    }

    fn perf_json(&self) -> Value {
        // nagios-api: split on spaces, keep the value before the first ';',
        // a number when it parses.
        let mut m = Map::new();
        for chunk in self.perf.split(' ') {
            let first = chunk.split(';').next().unwrap_or_default();
            if let Some((k, v)) = first.split_once('=') {
                let val = match v.parse::<f64>() {
                    Ok(x) if x.fract() == 0.0 && x.abs() < 9e15 => json!(x as i64),
                    Ok(x) => json!(x),
                    Err(_) => json!(v),
                };
                m.insert(k.to_owned(), val);
            }
        }
        Value::Object(m)
    }

    fn state_json(&self, now: i64) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        put("current_state", json!(self.state.to_string()));
        put("last_hard_state", json!(self.last_hard_state.to_string()));
        put("plugin_output", json!(self.output));
        put("notifications_enabled", json!(b(self.notifications)));
        put("active_checks_enabled", json!(b(self.active_checks)));
        put("problem_has_been_acknowledged", json!(b(self.ack > 0)));
        put(
            "scheduled_downtime_depth",
            json!(self.depth(now).to_string()),
        );
        put("performance_data", self.perf_json());
        put("last_check", json!(self.last_check.to_string()));
        put("last_notification", json!("0"));
        put(
            "last_state_change",
            json!(self.last_state_change.to_string()),
        );
        put("current_attempt", json!("1"));
        put("max_attempts", json!("1"));
        m
    }

    fn comments_json(&self) -> Vec<(u64, Value)> {
        self.comments
            .iter()
            .map(|(id, c)| {
                (
                    *id,
                    json!({
                        "comment_id": id, "entry_type": c.entry_type.to_string(),
                        "source": c.source.to_string(), "persistent": b(c.persistent),
                        "entry_time": c.entry_time.to_string(), "expires": "0",
                        "expire_time": "0", "author": c.author, "comment_data": c.data,
                    }),
                )
            })
            .collect()
    }

    fn downtimes_json(&self) -> Vec<(u64, Value)> {
        self.downtimes
            .iter()
            .map(|(id, d)| {
                (
                    *id,
                    json!({
                        "downtime_id": id, "entry_time": d.entry_time.to_string(),
                        "start_time": d.start.to_string(), "end_time": d.end.to_string(),
                        "triggered_by": "0", "fixed": b(d.fixed),
                        "duration": d.duration.to_string(), "author": d.author,
                        "comment": d.comment,
                    }),
                )
            })
            .collect()
    }

    fn full_json(&self, now: i64) -> Value {
        let mut m = self.state_json(now);
        m.insert(
            "comments".into(),
            Value::Object(
                self.comments_json()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            ),
        );
        m.insert(
            "downtimes".into(),
            Value::Object(
                self.downtimes_json()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            ),
        );
        Value::Object(m)
    }

    /// The flat string fields of a status.dat block (`/host`, `/service`).
    fn detail_json(&self, now: i64, host: &str) -> Map<String, Value> {
        let mut m = self.state_json(now);
        m.remove("performance_data");
        let mut put = |k: &str, v: &str| {
            m.insert(k.to_owned(), json!(v));
        };
        put("host_name", host);
        put("host", host);
        put("state_type", "1");
        put("has_been_checked", b(self.checked));
        put("long_plugin_output", "");
        put("check_command", "check_dummy");
        put(
            "next_check",
            &if self.active_checks { now + 5 } else { 0 }.to_string(),
        );
        put(
            "last_hard_state_change",
            &self.last_state_change.to_string(),
        );
        put("last_update", &now.to_string());
        put("passive_checks_enabled", "1");
        put("is_flapping", "0");
        put("percent_state_change", "0.00");
        put("acknowledgement_type", &self.ack.to_string());
        put("check_interval", "5.000000");
        put("retry_interval", "1.000000");
        m
    }
}

impl World {
    pub(super) fn add_host(&mut self, name: &str, state: u8) {
        let out = ["UP", "DOWN", "UNREACHABLE"]
            .get(usize::from(state))
            .copied()
            .unwrap_or("UNKNOWN");
        self.hosts.insert(
            name.to_owned(),
            Host {
                obj: Obj::new(state, &format!("{out} - fake"), true, true),
                services: BTreeMap::new(),
            },
        );
    }

    pub(super) fn add_service(
        &mut self,
        host: &str,
        service: &str,
        state: u8,
        output: &str,
        active: bool,
    ) {
        if !self.hosts.contains_key(host) {
            self.add_host(host, 0);
        }
        if let Some(h) = self.hosts.get_mut(host) {
            h.services
                .insert(service.to_owned(), Obj::new(state, output, active, active));
        }
    }

    pub(super) fn log(&mut self, msg: &str) {
        self.log.push(format!("[{}] {msg}", Timestamp::now().0));
    }

    fn obj(&self, host: &str, service: Option<&str>) -> Option<&Obj> {
        let h = self.hosts.get(host)?;
        match service {
            None => Some(&h.obj),
            Some(s) => h.services.get(s),
        }
    }

    fn obj_mut(&mut self, host: &str, service: Option<&str>) -> Option<&mut Obj> {
        let h = self.hosts.get_mut(host)?;
        match service {
            None => Some(&mut h.obj),
            Some(s) => h.services.get_mut(s),
        }
    }

    /// Every downtime id with its owner.
    fn downtime_owner(&self, id: u64) -> Option<(String, Option<String>)> {
        for (hn, h) in &self.hosts {
            if h.obj.downtimes.contains_key(&id) {
                return Some((hn.clone(), None));
            }
            for (sn, s) in &h.services {
                if s.downtimes.contains_key(&id) {
                    return Some((hn.clone(), Some(sn.clone())));
                }
            }
        }
        None
    }

    pub(super) fn state_json(&self, problems_only: bool) -> Value {
        let now = Timestamp::now().0;
        let mut out = Map::new();
        for (name, h) in &self.hosts {
            let services: Map<String, Value> = h
                .services
                .iter()
                .filter(|(_, s)| !problems_only || s.state != 0)
                .map(|(n, s)| (n.clone(), s.full_json(now)))
                .collect();
            if problems_only && services.is_empty() {
                continue;
            }
            let mut v = h.obj.full_json(now);
            if let Value::Object(m) = &mut v {
                m.insert("services".into(), Value::Object(services));
            }
            out.insert(name.clone(), v);
        }
        Value::Object(out)
    }

    pub(super) fn objects_json(&self) -> Value {
        let m: Map<String, Value> = self
            .hosts
            .iter()
            .map(|(n, h)| (n.clone(), json!(h.services.keys().collect::<Vec<_>>())))
            .collect();
        Value::Object(m)
    }

    pub(super) fn host_detail_json(&self, host: &str) -> Option<Value> {
        let now = Timestamp::now().0;
        let h = self.hosts.get(host)?;
        let mut m = h.obj.detail_json(now, host);
        m.insert("type".into(), json!("hoststatus"));
        m.insert(
            "comment".into(),
            json!(
                h.obj
                    .comments_json()
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect::<Vec<_>>()
            ),
        );
        m.insert(
            "downtime".into(),
            json!(
                h.obj
                    .downtimes_json()
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect::<Vec<_>>()
            ),
        );
        if !h.services.is_empty() {
            m.insert(
                "services".into(),
                json!(h.services.keys().collect::<Vec<_>>()),
            );
        }
        Some(Value::Object(m))
    }

    pub(super) fn services_detail_json(&self, host: &str) -> Option<Value> {
        let now = Timestamp::now().0;
        let h = self.hosts.get(host)?;
        if h.services.is_empty() {
            return None;
        }
        let mut out = Map::new();
        for (name, s) in &h.services {
            let mut m = s.detail_json(now, host);
            m.insert("type".into(), json!("servicestatus"));
            m.insert("service_description".into(), json!(name));
            m.insert("service".into(), json!(name));
            let ok = if s.state == 0 { s.last_check } else { 0 };
            m.insert("last_time_ok".into(), json!(ok.to_string()));
            out.insert(name.clone(), Value::Object(m));
        }
        Some(Value::Object(out))
    }

    pub(super) fn status_json(&self) -> Value {
        let now = Timestamp::now().0;
        json!({
            "info": {"created": now.to_string(), "version": "4.4.6", "last_update_check": "0",
                     "update_available": "0", "last_version": "", "new_version": ""},
            "program": {"nagios_pid": "4242", "daemon_mode": "1", "program_start": now.to_string(),
                        "enable_notifications": "1", "active_service_checks_enabled": "1",
                        "passive_service_checks_enabled": "1", "active_host_checks_enabled": "1",
                        "passive_host_checks_enabled": "1", "enable_event_handlers": "1",
                        "enable_flap_detection": "1",
                        "next_comment_id": (self.next_comment_id + 1).to_string(),
                        "next_downtime_id": (self.next_downtime_id + 1).to_string()},
        })
    }

    fn add_comment(
        &mut self,
        host: &str,
        service: Option<&str>,
        entry_type: u8,
        persistent: bool,
        author: &str,
        data: &str,
    ) -> u64 {
        self.next_comment_id += 1;
        let id = self.next_comment_id;
        if let Some(o) = self.obj_mut(host, service) {
            o.comments.insert(
                id,
                Cm {
                    entry_type,
                    source: if entry_type == 1 || entry_type == 4 {
                        1
                    } else {
                        0
                    },
                    persistent,
                    entry_time: Timestamp::now().0,
                    author: author.to_owned(),
                    data: data.to_owned(),
                },
            );
        }
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn add_downtime(
        &mut self,
        host: &str,
        service: Option<&str>,
        start: i64,
        end: i64,
        fixed: bool,
        duration: i64,
        author: &str,
        comment: &str,
    ) {
        if self.obj(host, service).is_none() {
            return;
        }
        let what = if service.is_some() { "service" } else { "host" };
        let kind = if fixed { "fixed" } else { "flexible" };
        let text = format!(
            "This {what} has been scheduled for {kind} downtime from {start} to {end}.  \
             Notifications for the {what} will not be sent out during that time period."
        );
        let comment_id = self.add_comment(host, service, 2, false, author, &text);
        self.next_downtime_id += 1;
        let id = self.next_downtime_id;
        if let Some(o) = self.obj_mut(host, service) {
            o.downtimes.insert(
                id,
                Dt {
                    entry_time: Timestamp::now().0,
                    start,
                    end,
                    fixed,
                    duration: if fixed { end - start } else { duration },
                    author: author.to_owned(),
                    comment: comment.to_owned(),
                    comment_id,
                },
            );
        }
    }

    fn delete_downtime(&mut self, id: u64) {
        let Some((h, s)) = self.downtime_owner(id) else {
            return;
        };
        if let Some(o) = self.obj_mut(&h, s.as_deref()) {
            if let Some(d) = o.downtimes.remove(&id) {
                o.comments.remove(&d.comment_id);
            }
        }
    }
}

// ----- nagios-api command semantics -------------------------------------

fn get_str(req: &Map<String, Value>, k: &str) -> Option<String> {
    match req.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Python's `int(x)` on a JSON value.
fn py_int(v: &Value) -> Option<i64> {
    match v {
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn get_int(req: &Map<String, Value>, k: &str, default: i64) -> Option<i64> {
    match req.get(k) {
        None => Some(default),
        Some(v) => py_int(v),
    }
}

fn truthy(req: &Map<String, Value>, k: &str) -> bool {
    match req.get(k) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

type CmdResult = Result<String, String>;

/// Apply one nagios-api command. `published` is the state nagios-api
/// validates against (its last parse of status.dat).
pub(super) fn command(
    w: &mut World,
    published: &World,
    version: ApiVersion,
    verb: &str,
    objid: Option<&str>,
    req: &Map<String, Value>,
    now: i64,
) -> CmdResult {
    let host = get_str(req, "host").unwrap_or_default();
    let service = get_str(req, "service");
    let svc = service.as_deref();
    let exists = published.obj(&host, svc).is_some();
    let author = get_str(req, "author").unwrap_or_else(|| "nagios-api".into());
    let latest = version == ApiVersion::Latest;
    let unexpected_id = || Err("Unexpected object ID.".to_owned());
    let (kind, name) = match svc {
        Some(s) => ("SVC", format!("{host};{s}")),
        None => ("HOST", host.clone()),
    };
    match verb {
        "schedule_downtime" | "schedule_hostgroup_downtime" => {
            if objid.is_some() {
                return unexpected_id();
            }
            let comment = get_str(req, "comment").unwrap_or_else(|| "schedule downtime".into());
            let dur = get_int(req, "duration", 0).unwrap_or(0);
            let services_too = truthy(req, "services_too");
            let (start, end, fixed) = if latest {
                let start = get_int(req, "start_time", now).unwrap_or(now);
                let end = get_int(req, "end_time", start + dur).unwrap_or(start + dur);
                (start, end, get_int(req, "fixed", 1).unwrap_or(1) != 0)
            } else {
                (now, now + dur, true)
            };
            let hosts: Vec<String> = if verb == "schedule_hostgroup_downtime" {
                let group = get_str(req, "hostgroup").unwrap_or_default();
                w.log(&format!(
                    "EXTERNAL COMMAND: SCHEDULE_HOSTGROUP_HOST_DOWNTIME;{group};{start};{end};{};0;{dur};{author};{comment}",
                    u8::from(fixed)
                ));
                w.hostgroups.get(&group).cloned().unwrap_or_default()
            } else {
                if !exists {
                    return Err("Host or service not found.".into());
                }
                if !latest && !(60..=604_800).contains(&dur) {
                    return Err("Downtime must be between 60 seconds and a week.".into());
                }
                if latest && !fixed && !(1..=4_294_967_295).contains(&dur) {
                    return Err(
                        "Flexible dowtime duration must be between 1 and 4,294,967,295 seconds"
                            .into(),
                    );
                }
                w.log(&format!(
                    "EXTERNAL COMMAND: SCHEDULE_{kind}_DOWNTIME;{name};{start};{end};{};0;{};{author};{comment}",
                    u8::from(fixed),
                    if fixed { 0 } else { dur }
                ));
                if let Some(s) = svc {
                    w.add_downtime(&host, Some(s), start, end, fixed, dur, &author, &comment);
                    return Ok("scheduled".into());
                }
                vec![host.clone()]
            };
            for h in hosts {
                w.add_downtime(&h, None, start, end, fixed, dur, &author, &comment);
                if services_too {
                    let names: Vec<String> = w
                        .hosts
                        .get(&h)
                        .map(|x| x.services.keys().cloned().collect())
                        .unwrap_or_default();
                    for s in names {
                        w.add_downtime(&h, Some(&s), start, end, fixed, dur, &author, &comment);
                    }
                }
            }
            Ok("scheduled".into())
        }
        "cancel_downtime" => {
            let ids: Vec<u64> = if let Some(id) = objid {
                match id
                    .parse::<u64>()
                    .ok()
                    .filter(|i| published.downtime_owner(*i).is_some())
                {
                    Some(i) => vec![i],
                    None => return Err("Downtime ID does not seem valid.".into()),
                }
            } else {
                let Some(o) = published.obj(&host, svc) else {
                    return Err("Failed to get host or service for downtime.".into());
                };
                let mut ids: Vec<u64> = o.downtimes.keys().copied().collect();
                if svc.is_none() && truthy(req, "services_too") {
                    if let Some(h) = published.hosts.get(&host) {
                        for s in h.services.values() {
                            ids.extend(s.downtimes.keys().copied());
                        }
                    }
                }
                ids
            };
            if ids.is_empty() {
                return Ok("none found".into());
            }
            for id in ids {
                let kind = match published.downtime_owner(id) {
                    Some((_, Some(_))) => "SVC",
                    _ => "HOST",
                };
                w.log(&format!("EXTERNAL COMMAND: DEL_{kind}_DOWNTIME;{id}"));
                w.delete_downtime(id);
            }
            Ok("cancelled".into())
        }
        "acknowledge_problem" => {
            if !exists {
                return Err("Failed to find host or service to update.".into());
            }
            let comment = match get_str(req, "comment") {
                Some(c) => c,
                None if latest => {
                    return Err("Required parameter \"comment\" not found.".into());
                }
                None => "None".into(),
            };
            let (Some(sticky), Some(notify), Some(persistent)) = (
                get_int(req, "sticky", 1),
                get_int(req, "notify", 1),
                get_int(req, "persistent", 0),
            ) else {
                return Err(
                    "Invalid value provided for one or more of sticky, notify or persistent".into(),
                );
            };
            w.log(&format!(
                "EXTERNAL COMMAND: ACKNOWLEDGE_{kind}_PROBLEM;{name};{sticky};{notify};{persistent};{author};{comment}"
            ));
            let is_problem = w.obj(&host, svc).is_some_and(|o| o.state != 0);
            if is_problem {
                w.add_comment(&host, svc, 4, persistent != 0, &author, &comment);
                if let Some(o) = w.obj_mut(&host, svc) {
                    o.ack = if sticky == 2 { 2 } else { 1 };
                }
            }
            Ok("submitted".into())
        }
        "remove_acknowledgement" => {
            if !exists {
                return Err("Failed to find host or service to update.".into());
            }
            w.log(&format!(
                "EXTERNAL COMMAND: REMOVE_{kind}_ACKNOWLEDGEMENT;{name}"
            ));
            if let Some(o) = w.obj_mut(&host, svc) {
                o.ack = 0;
                o.comments.retain(|_, c| c.entry_type != 4 || c.persistent);
            }
            Ok("submitted".into())
        }
        "enable_notifications" | "disable_notifications" | "enable_checks" | "disable_checks" => {
            if objid.is_some() {
                return unexpected_id();
            }
            if !exists {
                return Err("Host or service not found.".into());
            }
            let enable = verb.starts_with("enable");
            let checks = verb.ends_with("checks");
            let services_too = svc.is_none() && truthy(req, "services_too");
            let op = if enable { "ENABLE" } else { "DISABLE" };
            let what = if checks { "CHECK" } else { "NOTIFICATIONS" };
            w.log(&format!("EXTERNAL COMMAND: {op}_{kind}_{what};{name}"));
            if services_too {
                let what = if checks { "CHECKS" } else { "NOTIFICATIONS" };
                w.log(&format!("EXTERNAL COMMAND: {op}_HOST_SVC_{what};{host}"));
            }
            let set = |o: &mut Obj| {
                if checks {
                    o.active_checks = enable;
                } else {
                    o.notifications = enable;
                }
            };
            if let Some(o) = w.obj_mut(&host, svc) {
                set(o);
            }
            if services_too {
                if let Some(h) = w.hosts.get_mut(&host) {
                    h.services.values_mut().for_each(set);
                }
            }
            Ok(if enable { "enabled" } else { "disabled" }.into())
        }
        "submit_result" => {
            if !exists {
                return Err("Failed to find host or service to update.".into());
            }
            let Some(status) = req.get("status") else {
                return Err("Required parameter \"status\" not found.".into());
            };
            let Some(output) = get_str(req, "output") else {
                return Err("Required parameter \"output\" not found.".into());
            };
            let Some(status) = py_int(status) else {
                return Err("Invalid status provided.".into());
            };
            let max = if svc.is_some() { 3 } else { 2 };
            let code = u8::try_from(status.clamp(0, max)).unwrap_or(0);
            let kind = if kind == "SVC" { "SERVICE" } else { "HOST" };
            w.log(&format!(
                "EXTERNAL COMMAND: PROCESS_{kind}_CHECK_RESULT;{name};{status};{output}"
            ));
            if let Some(o) = w.obj_mut(&host, svc) {
                o.check_result(code, &output, svc.is_none());
            }
            Ok("submitted".into())
        }
        "add_comment" => {
            if !exists {
                return Err("Failed to find host or service to update.".into());
            }
            let Some(comment) = get_str(req, "comment") else {
                return Err("Required parameter \"comment\" not found.".into());
            };
            let Some(persistent) = get_int(req, "persistent", 0) else {
                return Err("Invalid value provided for persistent".into());
            };
            w.log(&format!(
                "EXTERNAL COMMAND: ADD_{kind}_COMMENT;{name};{persistent};{author};{comment}"
            ));
            w.add_comment(&host, svc, 1, persistent != 0, &author, &comment);
            Ok("submitted".into())
        }
        "delete_comment" => {
            if !exists {
                return Err("Failed to find host or service to update.".into());
            }
            let Some(id) = req.get("comment_id").and_then(py_int) else {
                return Err("Invalid value provided for comment_id".into());
            };
            if id == -1 {
                w.log(&format!("EXTERNAL COMMAND: DEL_ALL_{kind}_COMMENTS;{name}"));
                if let Some(o) = w.obj_mut(&host, svc) {
                    o.comments.clear();
                }
            } else {
                w.log(&format!("EXTERNAL COMMAND: DEL_{kind}_COMMENT;{id}"));
                let id = u64::try_from(id).unwrap_or(0);
                for h in w.hosts.values_mut() {
                    h.obj.comments.remove(&id);
                    for s in h.services.values_mut() {
                        s.comments.remove(&id);
                    }
                }
            }
            Ok("submitted".into())
        }
        "schedule_check" => {
            if !exists {
                return Err("Failed to find host or service to update.".into());
            }
            let (Some(at), Some(forced), Some(all)) = (
                get_int(req, "check_time", now),
                get_int(req, "forced", 0),
                get_int(req, "all_services", 0),
            ) else {
                return Err("Invalid value provided for check_time, all_services or forced".into());
            };
            let f = if forced != 0 { "FORCED_" } else { "" };
            w.log(&format!(
                "EXTERNAL COMMAND: SCHEDULE_{f}{kind}_CHECK;{name};{at}"
            ));
            if svc.is_none() && all != 0 {
                w.log(&format!(
                    "EXTERNAL COMMAND: SCHEDULE_{f}HOST_SVC_CHECKS;{host};{at}"
                ));
            }
            Ok("submitted".into())
        }
        "raw_command" => {
            let Some(cmd) = get_str(req, "command") else {
                return Err("Required parameter \"command\" not found.".into());
            };
            w.log(&format!("EXTERNAL COMMAND: {cmd}"));
            Ok("Nagios command succeeded".into())
        }
        _ => Err(format!("Verb {verb} (method POST) not supported")),
    }
}

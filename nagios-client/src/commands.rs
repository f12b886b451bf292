//! Typed requests for nagios-api's command endpoints (`POST`).
//!
//! Required fields are constructor arguments, so they cannot be left out;
//! optional fields are builder methods. A field that would corrupt the
//! Nagios external-command line (a newline anywhere; a `;` in a host,
//! service, hostgroup or author) is rejected with
//! [`Error::InvalidRequest`] before anything is sent.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::{HostStatus, ServiceStatus, Timestamp};

/// A host, or a service on a host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    host: String,
    service: Option<String>,
}

impl Target {
    /// A host.
    pub fn host(host: impl Into<String>) -> Self {
        Target {
            host: host.into(),
            service: None,
        }
    }

    /// A service on a host.
    pub fn service(host: impl Into<String>, service: impl Into<String>) -> Self {
        Target {
            host: host.into(),
            service: Some(service.into()),
        }
    }

    /// The host name.
    pub fn host_name(&self) -> &str {
        &self.host
    }

    /// The service description, for a service.
    pub fn service_description(&self) -> Option<&str> {
        self.service.as_deref()
    }

    pub(crate) fn wire(&self) -> Result<Wire> {
        let mut w = Wire::default();
        self.write(&mut w)?;
        Ok(w)
    }

    fn write(&self, w: &mut Wire) -> Result<()> {
        w.name("host", &self.host)?;
        if let Some(s) = &self.service {
            w.name("service", s)?;
        }
        Ok(())
    }
}

/// A JSON body under construction, with the checks that keep the external
/// command line intact.
#[derive(Default)]
pub(crate) struct Wire {
    map: Map<String, Value>,
    pub(crate) named_service: bool,
}

impl Wire {
    /// A name that becomes a `;`-separated field.
    fn name(&mut self, field: &'static str, v: &str) -> Result<()> {
        if v.is_empty() {
            return Err(Error::InvalidRequest {
                field,
                reason: "must not be empty",
            });
        }
        if v.contains(';') {
            return Err(Error::InvalidRequest {
                field,
                reason: "must not contain ';' (Nagios command field separator)",
            });
        }
        if field == "service" {
            self.named_service = true;
        }
        self.text(field, v)
    }

    /// Free text that ends up last on the command line (may hold `;`).
    fn text(&mut self, field: &'static str, v: &str) -> Result<()> {
        if v.contains(['\n', '\r']) {
            return Err(Error::InvalidRequest {
                field,
                reason: "must not contain a line break (it would start a new Nagios command)",
            });
        }
        self.map.insert(field.to_owned(), Value::from(v));
        Ok(())
    }

    /// Free text that nagios-api must not receive empty (1.2.2 does not
    /// check and would send the literal text `None` to Nagios).
    fn required_text(&mut self, field: &'static str, v: &str) -> Result<()> {
        if v.trim().is_empty() {
            return Err(Error::InvalidRequest {
                field,
                reason: "must not be empty",
            });
        }
        self.text(field, v)
    }

    fn int(&mut self, field: &'static str, v: i64) {
        self.map.insert(field.to_owned(), Value::from(v));
    }

    fn flag(&mut self, field: &'static str, v: bool) {
        self.map.insert(field.to_owned(), Value::from(i64::from(v)));
    }

    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.map)
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Options shared by host/service and hostgroup downtime.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct DowntimeOptions {
    services_too: bool,
    author: Option<String>,
    comment: Option<String>,
    start_time: Option<Timestamp>,
    end_time: Option<Timestamp>,
    flexible: bool,
}

impl DowntimeOptions {
    fn write(&self, w: &mut Wire, duration: Duration) -> Result<()> {
        w.int("duration", secs(duration));
        if self.services_too {
            w.flag("services_too", true);
        }
        if let Some(a) = &self.author {
            w.name("author", a)?;
        }
        if let Some(c) = &self.comment {
            w.text("comment", c)?;
        }
        if let Some(t) = self.start_time {
            w.int("start_time", t.0);
        }
        if let Some(t) = self.end_time {
            w.int("end_time", t.0);
        }
        if self.flexible {
            w.flag("fixed", false);
        }
        Ok(())
    }
}

/// nagios-api's default downtime author.
pub const DEFAULT_AUTHOR: &str = "nagios-api";
/// nagios-api's default downtime comment.
pub const DEFAULT_DOWNTIME_COMMENT: &str = "schedule downtime";

/// `POST /schedule_downtime`: a downtime for a host (optionally with all
/// its services) or a service.
///
/// nagios-api 1.2.2 always schedules a **fixed** downtime from *now* to
/// *now + duration*, ignores `start_at`/`end_at`/`flexible`, and accepts
/// durations from 60 seconds to one week. Later versions honour them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDowntime {
    target: Target,
    duration: Duration,
    opts: DowntimeOptions,
}

impl ScheduleDowntime {
    /// A downtime of `duration` (whole seconds) for `target`.
    pub fn new(target: Target, duration: Duration) -> Self {
        ScheduleDowntime {
            target,
            duration,
            opts: DowntimeOptions::default(),
        }
    }

    /// For a host target: also schedule downtime for all its services.
    pub fn services_too(mut self, yes: bool) -> Self {
        self.opts.services_too = yes;
        self
    }

    /// Author (default `"nagios-api"`).
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.opts.author = Some(author.into());
        self
    }

    /// Comment (default `"schedule downtime"`).
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.opts.comment = Some(comment.into());
        self
    }

    /// Start of the window (default now; not in 1.2.2).
    pub fn start_at(mut self, t: Timestamp) -> Self {
        self.opts.start_time = Some(t);
        self
    }

    /// End of the window (default start + duration; not in 1.2.2).
    pub fn end_at(mut self, t: Timestamp) -> Self {
        self.opts.end_time = Some(t);
        self
    }

    /// A flexible downtime: starts when the object goes down within the
    /// window and lasts `duration` (not in 1.2.2).
    pub fn flexible(mut self) -> Self {
        self.opts.flexible = true;
        self
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The author nagios-api will record.
    pub fn effective_author(&self) -> &str {
        self.opts.author.as_deref().unwrap_or(DEFAULT_AUTHOR)
    }

    /// The comment nagios-api will record.
    pub fn effective_comment(&self) -> &str {
        self.opts
            .comment
            .as_deref()
            .unwrap_or(DEFAULT_DOWNTIME_COMMENT)
    }

    pub(crate) fn includes_services(&self) -> bool {
        self.opts.services_too && self.target.service.is_none()
    }

    pub(crate) fn wire(&self) -> Result<Wire> {
        let mut w = Wire::default();
        self.target.write(&mut w)?;
        self.opts.write(&mut w, self.duration)?;
        Ok(w)
    }
}

/// `POST /schedule_hostgroup_downtime` (nagios-api after 1.2.2). nagios-api
/// does not check that the hostgroup exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleHostgroupDowntime {
    hostgroup: String,
    duration: Duration,
    opts: DowntimeOptions,
}

impl ScheduleHostgroupDowntime {
    /// A downtime of `duration` for every host of `hostgroup`.
    pub fn new(hostgroup: impl Into<String>, duration: Duration) -> Self {
        ScheduleHostgroupDowntime {
            hostgroup: hostgroup.into(),
            duration,
            opts: DowntimeOptions::default(),
        }
    }

    /// Also schedule downtime for the services of those hosts.
    pub fn services_too(mut self, yes: bool) -> Self {
        self.opts.services_too = yes;
        self
    }

    /// Author (default `"nagios-api"`).
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.opts.author = Some(author.into());
        self
    }

    /// Comment (default `"schedule downtime"`).
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.opts.comment = Some(comment.into());
        self
    }

    /// Start of the window (default now).
    pub fn start_at(mut self, t: Timestamp) -> Self {
        self.opts.start_time = Some(t);
        self
    }

    /// End of the window (default start + duration).
    pub fn end_at(mut self, t: Timestamp) -> Self {
        self.opts.end_time = Some(t);
        self
    }

    /// A flexible downtime.
    pub fn flexible(mut self) -> Self {
        self.opts.flexible = true;
        self
    }

    pub(crate) fn wire(&self) -> Result<Wire> {
        let mut w = Wire::default();
        w.name("hostgroup", &self.hostgroup)?;
        self.opts.write(&mut w, self.duration)?;
        Ok(w)
    }
}

/// `POST /cancel_downtime[/<id>]`: by id, or every downtime of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelDowntime {
    by: CancelBy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CancelBy {
    Id(u64),
    Target { target: Target, services_too: bool },
}

impl CancelDowntime {
    /// The downtime with this id (from [`Downtime::downtime_id`](crate::Downtime)).
    pub fn id(downtime_id: u64) -> Self {
        CancelDowntime {
            by: CancelBy::Id(downtime_id),
        }
    }

    /// Every downtime of a host or service.
    pub fn target(target: Target) -> Self {
        CancelDowntime {
            by: CancelBy::Target {
                target,
                services_too: false,
            },
        }
    }

    /// For a host target: also cancel the downtimes of its services.
    pub fn services_too(mut self, yes: bool) -> Self {
        if let CancelBy::Target { services_too, .. } = &mut self.by {
            *services_too = yes;
        }
        self
    }

    pub(crate) fn downtime_id(&self) -> Option<u64> {
        match self.by {
            CancelBy::Id(id) => Some(id),
            CancelBy::Target { .. } => None,
        }
    }

    pub(crate) fn wire(&self) -> Result<Wire> {
        let mut w = Wire::default();
        if let CancelBy::Target {
            target,
            services_too,
        } = &self.by
        {
            target.write(&mut w)?;
            if *services_too {
                w.flag("services_too", true);
            }
        }
        Ok(w)
    }
}

/// What [`Client::cancel_downtime`](crate::Client::cancel_downtime) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// At least one cancellation was written (`"cancelled"`).
    Cancelled,
    /// The target had no downtime (`"none found"`).
    NoneFound,
}

/// `POST /acknowledge_problem`.
///
/// nagios-api sends its `sticky` field to Nagios as is, and Nagios treats
/// only `2` as sticky: nagios-api's own default (`1`) is a *normal*
/// acknowledgement that the next state change clears. This type always
/// sends an explicit value: `1` (normal, the default) or `2` when
/// [`sticky(true)`](Acknowledge::sticky).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledge {
    target: Target,
    comment: String,
    sticky: bool,
    notify: Option<bool>,
    persistent: Option<bool>,
    author: Option<String>,
    expire: Option<Timestamp>,
}

impl Acknowledge {
    /// Acknowledge the current problem of `target` with a comment.
    pub fn new(target: Target, comment: impl Into<String>) -> Self {
        Acknowledge {
            target,
            comment: comment.into(),
            sticky: false,
            notify: None,
            persistent: None,
            author: None,
            expire: None,
        }
    }

    /// Keep the acknowledgement until the object recovers (sends `2`).
    pub fn sticky(mut self, yes: bool) -> Self {
        self.sticky = yes;
        self
    }

    /// Send an acknowledgement notification (nagios-api default: yes).
    pub fn notify(mut self, yes: bool) -> Self {
        self.notify = Some(yes);
        self
    }

    /// Keep the comment across Nagios restarts (default: no).
    pub fn persistent(mut self, yes: bool) -> Self {
        self.persistent = Some(yes);
        self
    }

    /// Author (default `"nagios-api"`).
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }

    /// Expire the acknowledgement at this time (nagios-api after 1.2.2).
    pub fn expire_at(mut self, t: Timestamp) -> Self {
        self.expire = Some(t);
        self
    }

    pub(crate) fn wire(&self) -> Result<Wire> {
        let mut w = Wire::default();
        self.target.write(&mut w)?;
        w.required_text("comment", &self.comment)?;
        w.int("sticky", if self.sticky { 2 } else { 1 });
        if let Some(n) = self.notify {
            w.flag("notify", n);
        }
        if let Some(p) = self.persistent {
            w.flag("persistent", p);
        }
        if let Some(a) = &self.author {
            w.name("author", a)?;
        }
        if let Some(t) = self.expire {
            w.int("expire", t.0);
        }
        Ok(w)
    }
}

/// A target for enabling or disabling notifications or checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    target: Target,
    services_too: bool,
}

impl Scope {
    /// Just `target`.
    pub fn new(target: Target) -> Self {
        Scope {
            target,
            services_too: false,
        }
    }

    /// For a host target: its services as well.
    pub fn services_too(mut self, yes: bool) -> Self {
        self.services_too = yes;
        self
    }

    pub(crate) fn wire(&self) -> Result<Wire> {
        let mut w = Wire::default();
        self.target.write(&mut w)?;
        if self.services_too {
            w.flag("services_too", true);
        }
        Ok(w)
    }
}

impl From<Target> for Scope {
    fn from(target: Target) -> Self {
        Scope::new(target)
    }
}

/// `POST /submit_result`: a passive check result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveResult {
    target: Target,
    status: u8,
    output: String,
}

impl PassiveResult {
    /// A host check result. `output` may carry performance data after `|`.
    pub fn host(host: impl Into<String>, status: HostStatus, output: impl Into<String>) -> Self {
        PassiveResult {
            target: Target::host(host),
            status: status.code(),
            output: output.into(),
        }
    }

    /// A service check result. `output` may carry performance data after `|`.
    pub fn service(
        host: impl Into<String>,
        service: impl Into<String>,
        status: ServiceStatus,
        output: impl Into<String>,
    ) -> Self {
        PassiveResult {
            target: Target::service(host, service),
            status: status.code(),
            output: output.into(),
        }
    }

    pub(crate) fn wire(&self) -> Result<Wire> {
        let mut w = Wire::default();
        self.target.write(&mut w)?;
        w.int("status", i64::from(self.status));
        w.text("output", &self.output)?;
        Ok(w)
    }
}

/// `POST /add_comment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddComment {
    target: Target,
    comment: String,
    persistent: Option<bool>,
    author: Option<String>,
}

impl AddComment {
    /// Add `comment` to `target`.
    pub fn new(target: Target, comment: impl Into<String>) -> Self {
        AddComment {
            target,
            comment: comment.into(),
            persistent: None,
            author: None,
        }
    }

    /// Keep it across Nagios restarts (default: no).
    pub fn persistent(mut self, yes: bool) -> Self {
        self.persistent = Some(yes);
        self
    }

    /// Author (default `"nagios-api"`).
    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }

    pub(crate) fn wire(&self) -> Result<Wire> {
        let mut w = Wire::default();
        self.target.write(&mut w)?;
        w.required_text("comment", &self.comment)?;
        if let Some(p) = self.persistent {
            w.flag("persistent", p);
        }
        if let Some(a) = &self.author {
            w.name("author", a)?;
        }
        Ok(w)
    }
}

/// `POST /delete_comment`: one comment by id, or all comments of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteComment {
    target: Target,
    comment_id: Option<u64>,
}

impl DeleteComment {
    /// The comment with this id. The target must be the object it is
    /// attached to (nagios-api picks the host or service command from it).
    pub fn one(target: Target, comment_id: u64) -> Self {
        DeleteComment {
            target,
            comment_id: Some(comment_id),
        }
    }

    /// Every comment of `target` (sends `comment_id: -1`).
    pub fn all(target: Target) -> Self {
        DeleteComment {
            target,
            comment_id: None,
        }
    }

    pub(crate) fn wire(&self) -> Result<Wire> {
        let mut w = Wire::default();
        self.target.write(&mut w)?;
        let id = match self.comment_id {
            Some(id) => i64::try_from(id).map_err(|_| Error::InvalidRequest {
                field: "comment_id",
                reason: "out of range",
            })?,
            None => -1,
        };
        w.int("comment_id", id);
        Ok(w)
    }
}

/// `POST /schedule_check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleCheck {
    target: Target,
    check_time: Option<Timestamp>,
    forced: bool,
    all_services: bool,
}

impl ScheduleCheck {
    /// Check `target` now.
    pub fn new(target: Target) -> Self {
        ScheduleCheck {
            target,
            check_time: None,
            forced: false,
            all_services: false,
        }
    }

    /// Check at this time instead of now (the server's clock).
    pub fn at(mut self, t: Timestamp) -> Self {
        self.check_time = Some(t);
        self
    }

    /// Force the check even if checks are disabled or a check is already
    /// scheduled earlier.
    pub fn forced(mut self, yes: bool) -> Self {
        self.forced = yes;
        self
    }

    /// For a host target: also check all its services.
    pub fn all_services(mut self, yes: bool) -> Self {
        self.all_services = yes;
        self
    }

    pub(crate) fn wire(&self) -> Result<Wire> {
        let mut w = Wire::default();
        self.target.write(&mut w)?;
        if let Some(t) = self.check_time {
            w.int("check_time", t.0);
        }
        if self.forced {
            w.flag("forced", true);
        }
        if self.all_services {
            w.flag("all_services", true);
        }
        Ok(w)
    }
}

pub(crate) fn raw_command_wire(command: &str) -> Result<Wire> {
    let mut w = Wire::default();
    if command.trim().is_empty() {
        return Err(Error::InvalidRequest {
            field: "command",
            reason: "must not be empty",
        });
    }
    w.text("command", command)?;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sticky_ack_sends_two() {
        let w = Acknowledge::new(Target::service("web01", "Disk"), "known")
            .sticky(true)
            .notify(false)
            .wire()
            .unwrap();
        assert!(w.named_service);
        assert_eq!(
            w.into_value(),
            json!({"host": "web01", "service": "Disk", "comment": "known", "sticky": 2, "notify": 0})
        );
        let w = Acknowledge::new(Target::host("db01"), "x").wire().unwrap();
        assert_eq!(w.into_value()["sticky"], 1);
    }

    #[test]
    fn downtime_wire() {
        let v = ScheduleDowntime::new(Target::host("db01"), Duration::from_secs(600))
            .services_too(true)
            .author("ops")
            .comment("maint; really")
            .wire()
            .unwrap()
            .into_value();
        assert_eq!(
            v,
            json!({"host": "db01", "duration": 600, "services_too": 1, "author": "ops", "comment": "maint; really"})
        );
    }

    #[test]
    fn command_line_breakers_are_rejected() {
        let e = AddComment::new(Target::host("web01"), "a\nSHUTDOWN_PROGRAM")
            .wire()
            .err()
            .unwrap();
        assert!(matches!(
            e,
            Error::InvalidRequest {
                field: "comment",
                ..
            }
        ));
        let e = Scope::new(Target::service("web01", "a;b"))
            .wire()
            .err()
            .unwrap();
        assert!(matches!(
            e,
            Error::InvalidRequest {
                field: "service",
                ..
            }
        ));
        let e = ScheduleDowntime::new(Target::host("x"), Duration::from_secs(60))
            .author("a;b")
            .wire()
            .err()
            .unwrap();
        assert!(matches!(
            e,
            Error::InvalidRequest {
                field: "author",
                ..
            }
        ));
        assert!(raw_command_wire("A\nB").is_err());
        assert!(raw_command_wire("").is_err());
    }

    #[test]
    fn delete_all_comments_sends_minus_one() {
        let v = DeleteComment::all(Target::host("web01"))
            .wire()
            .unwrap()
            .into_value();
        assert_eq!(v, json!({"host": "web01", "comment_id": -1}));
    }
}

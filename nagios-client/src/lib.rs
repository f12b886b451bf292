//! Typed async client for [nagios-api](https://github.com/zorkian/nagios-api),
//! the REST-like JSON API over a Nagios host.
//!
//! It covers every endpoint of nagios-api **1.2.2** (the PyPI release:
//! `state`, `objects`, `host`, `service`, `log`, `schedule_downtime`,
//! `cancel_downtime`, `acknowledge_problem`, `remove_acknowledgement`,
//! `enable_notifications`, `disable_notifications`, `submit_result`,
//! `add_comment`, `delete_comment`, `schedule_check`) and the endpoints added
//! after it (`status`, `problems`, `schedule_hostgroup_downtime`,
//! `enable_checks`, `disable_checks`, `raw_command`, `restart_nagios`).
//! `update_host`, which writes Nagios configuration files on the server, is
//! deliberately left out.
//!
//! # Quickstart
//!
//! ```no_run
//! use std::time::Duration;
//! use nagios_client::{Acknowledge, Client, ScheduleDowntime, ServiceStatus, Target};
//!
//! # async fn run() -> Result<(), nagios_client::Error> {
//! let client = Client::builder("http://nagios.example:6315/").build()?;
//!
//! // Read the whole state, typed.
//! let state = client.state().await?;
//! for (host, h) in &state {
//!     for (name, svc) in &h.services {
//!         if svc.current_state != ServiceStatus::Ok && !svc.problem_has_been_acknowledged {
//!             println!("{host}/{name}: {} {}", svc.current_state, svc.plugin_output);
//!         }
//!     }
//! }
//!
//! // A really sticky acknowledgement.
//! client
//!     .acknowledge_problem(&Acknowledge::new(Target::service("web01", "Disk"), "known").sticky(true))
//!     .await?;
//!
//! // One hour of downtime for a host and its services, and the new ids.
//! let req = ScheduleDowntime::new(Target::host("db01"), Duration::from_secs(3600))
//!     .services_too(true)
//!     .comment("kernel upgrade");
//! let found = client.schedule_downtime_and_wait(&req, Duration::from_secs(30)).await?;
//! for d in found {
//!     println!("downtime {} on {} {:?}", d.downtime.downtime_id, d.host, d.service);
//! }
//! # Ok(()) }
//! ```
//!
//! # The wire format, and what this crate does about it
//!
//! * Every answer is HTTP 200 with `{"success": bool, "content": …}`;
//!   `success: false` becomes [`Error::Api`] carrying the server's message,
//!   with predicates such as [`Error::is_unknown_host`],
//!   [`Error::is_unknown_service`] and [`Error::is_unsupported_endpoint`]
//!   (an endpoint newer than the server). A non-200 status can only come
//!   from a proxy: [`Error::UnexpectedStatus`].
//! * Values are strings (`"0"`, `"1795611171"`): the [`model`]
//!   decodes them into enums ([`HostStatus`], [`ServiceStatus`],
//!   [`StateType`]), booleans, numbers and [`Timestamp`]s; downtimes and
//!   comments are maps keyed by their numeric id. Unknown fields are
//!   ignored; an unparseable value is an [`Error::Decode`] naming the field.
//! * `sticky: true` in nagios-api is not sticky in Nagios (which wants `2`):
//!   [`Acknowledge::sticky`] sends `2`.
//! * `schedule_downtime` does not return the id:
//!   [`Client::schedule_downtime_and_wait`] finds it in the next `/state`.
//! * Responses may be gzip-compressed (reqwest's `gzip` feature handles it),
//!   and the status line is literally `HTTP/1.1 200 200 OK`, which hyper
//!   accepts.
//! * Command fields that would break the Nagios command line (line breaks;
//!   `;` in names) are rejected before sending ([`Error::InvalidRequest`]).
//!
//! # Authentication
//!
//! nagios-api has none; deployments put it behind a proxy.
//! [`ClientBuilder::basic_auth`] sends HTTP basic auth with the password held
//! as a [`secrecy::SecretString`]; it never appears in `Debug` output or
//! errors.
//!
//! # Retries and timeouts
//!
//! See [`retry`] for the policy: reads and commands that are
//! idempotent in effect (enable/disable notifications and checks, remove an
//! acknowledgement, cancel a downtime, delete a comment) are retried on
//! timeouts and 5xx; commands that would be applied twice (schedule a
//! downtime or check, acknowledge, submit a result, add a comment, raw
//! command, restart) only when the connection was never made or a proxy
//! answered 429. Defaults: 3 attempts, 1–20 s jittered backoff,
//! `Retry-After` (seconds or an HTTP date) honoured up to the cap, 5 s connect and 30 s per-attempt
//! timeouts (nagios-api blocks on the command pipe while Nagios is down).
//!
//! # Features
//!
//! * `rustls` (default) / `native-tls`: the TLS stack for `https` base URLs.
//! * `testkit`: `testkit::FakeNagios`, a stateful fake nagios-api served
//!   over HTTP on loopback (hosts and services with states, downtime,
//!   acknowledgements, comments, passive results, fault injection and a
//!   request log), for tests of code that uses this client. Pulls in `axum`.
#![forbid(unsafe_code)]

mod api;
mod body;
mod client;
mod commands;
mod de;
mod error;
pub mod model;
#[cfg(test)]
mod proptests;
pub mod retry;
#[cfg(test)]
mod shape_walk;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use api::{FoundDowntime, all_downtime_ids, find_new_downtimes};
pub use body::DEFAULT_MAX_RESPONSE_BYTES;
pub use client::{Client, ClientBuilder, DEFAULT_PORT};
pub use commands::{
    Acknowledge, AddComment, CancelDowntime, CancelOutcome, DEFAULT_AUTHOR,
    DEFAULT_DOWNTIME_COMMENT, DeleteComment, PassiveResult, ScheduleCheck, ScheduleDowntime,
    ScheduleHostgroupDowntime, Scope, Target,
};
pub use error::{Error, Result};
pub use model::{
    AcknowledgementType, Comment, CommentEntryType, CommentSource, Downtime, HostDetail, HostState,
    HostStatus, LogEntry, NagiosStatus, Objects, PerfData, PerfValue, ProgramStatus, ServiceDetail,
    ServiceState, ServiceStatus, State, StateType, StatusInfo, Timestamp,
};
pub use retry::RetryConfig;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

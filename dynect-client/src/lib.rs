//! Typed async client for the Dyn Managed DNS ("DynECT") REST API.
//!
//! Covers the REST API as last documented (API version 3.7.x): sessions, records (A, AAAA,
//! CNAME, TXT, MX, SRV), zones (get, publish, pending changes), jobs and tasks. Dyn Managed
//! DNS was retired by its owner in 2023; this crate is tested offline against recorded
//! exchanges and keeps its base URL configurable.
//!
//! # Quickstart
//!
//! (The same example is in the README.)
//!
//! ```no_run
//! use dynect_client::{Client, RecordData};
//!
//! # async fn run() -> dynect_client::Result<()> {
//! let client = Client::builder("acme", "ops-bot", std::env::var("DYN_PASSWORD").unwrap_or_default())
//!     .rate_limit_per_minute(240)
//!     .build()?;
//! let records = client.records();
//! records
//!     .create("example.com", "www.example.com", &RecordData::a("192.0.2.10")?, 300)
//!     .await?;
//! client.zones().publish("example.com", Some("add www")).await?;
//! client.logout().await?;
//! # Ok(()) }
//! ```
//!
//! # Sessions
//!
//! The first call logs in (`POST /REST/Session`) with the customer name, user name and
//! password; [`Client::login`], [`Client::keep_alive`], [`Client::verify_session`] and
//! [`Client::logout`] are also available. The password and the session token are
//! [`secrecy::SecretString`]s: they never appear in `Debug` output, errors or logs, and the
//! `Auth-Token` header is marked sensitive.
//!
//! Dyn keeps unpublished zone changes **per session**. The client tracks the zones it changed
//! in the current session ([`Client::pending_zones`]). When the server reports an expired
//! session (`login: Bad or expired credentials`, `login: inactivity logout`, `login: IP
//! address does not match current session`), the client logs in again and repeats the request
//! once, for GET/PUT/DELETE requests, if there were no unpublished changes. If there were,
//! it returns [`Error::SessionExpiredWithPendingChanges`] naming the zones, since they are
//! lost and must be redone.
//!
//! # Jobs and tasks
//!
//! Calls that take longer than a few seconds become jobs: the server answers `307` to
//! `/REST/Job/<id>/` or `200` with `"status": "incomplete"`. The client polls the job with
//! the session token (redirects are never followed automatically) until it finishes or the
//! [`PollConfig`] deadline passes ([`Error::JobTimeout`]). [`Zones::publish`] also waits for
//! the publish task to complete.
//!
//! # Errors, retries, rate limits
//!
//! Every failed envelope becomes [`Error::Api`] with all its messages ([`ApiErrorBody`]);
//! predicates such as [`Error::is_not_found`], [`Error::is_rate_limited`],
//! [`Error::is_blocked`] and [`Error::is_session_expired`] classify it. Requests refused
//! before being processed (HTTP 429 or rate-limit messages, "Operation blocked by current
//! task", "This session already has a job running", connect errors) are retried with
//! jittered, bounded backoff ([`RetryConfig`]); timeouts and 5xx only for GET/PUT/DELETE.
//! [`ClientBuilder::rate_limit_per_minute`] keeps a client under the account-wide limit of
//! 300 requests per minute.
//!
//! Input is validated before any request: zone and FQDN syntax, FQDN inside its zone, TTL
//! range ([`MAX_TTL`]), and record data types.
//!
//! # Features
//!
//! - `rustls` (default): TLS through rustls.
//! - `native-tls`: TLS through the platform library.
//! - `testkit`: `testkit::FakeDyn`, a stateful fake of the API over HTTP on loopback, with
//!   fault injection and a request log, for downstream tests.
#![forbid(unsafe_code)]

mod auth;
mod body;
mod client;
pub mod envelope;
mod error;
mod ratelimit;
pub mod resources;
mod retry;
#[cfg(feature = "testkit")]
pub mod testkit;
mod validate;

pub use auth::SessionInfo;
pub use body::DEFAULT_MAX_RESPONSE_BYTES;
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL};
pub use envelope::{ErrorCode, Message, MessageLevel, ResponseStatus};
pub use error::{ApiErrorBody, Error, Result};
pub use resources::records::{Record, RecordData, RecordRef, RecordType, Records};
pub use resources::zones::{PublishedZone, Task, TaskStatus, Zone, ZoneChange, Zones};
pub use retry::{PollConfig, RetryConfig};
pub use secrecy::SecretString;
pub use validate::MAX_TTL;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

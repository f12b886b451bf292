//! Typed async client for the Chef Infra Server API (and goiardi), with Chef's signed-header
//! authentication.
//!
//! Covered: nodes (with run-list and attribute helpers), API clients (create and
//! regenerate keys), cookbook listings and versions, roles, environments, data bags and items, search with pagination,
//! partial search, users (global endpoint) and the `/_status` health check. Requests are
//! signed with protocol 1.3 by default (1.0 and 1.1 for old servers) and send
//! `X-Ops-Server-API-Version: 1` unless configured otherwise; a server that refuses that
//! version (`406`) is asked once more with one both support, which the client then keeps
//! ([`api_version`]).
//!
//! # Quickstart
//!
//! ```no_run
//! use chef_client::{Client, Node};
//!
//! # async fn run() -> chef_client::Result<()> {
//! let client = Client::builder("https://chef.example.com/organizations/acme", "deploy")
//!     .key_file("/etc/chef/deploy.pem")
//!     .build()?;
//!
//! let mut node = Node::new("web1");
//! node.add_to_run_list("role[web]");
//! node.set_normal(&["app", "port"], 8080.into());
//! client.nodes().create(&node).await?;
//!
//! let web = client.search().nodes("role:web").rows(100).collect_all().await?;
//! println!("{} web nodes", web.len());
//! # Ok(()) }
//! ```
//!
//! Or load a profile from `~/.chef/credentials` (honours `CHEF_PROFILE`):
//! `Client::from_credentials(None)?`. See [`credentials`].
//!
//! # URLs
//!
//! The server URL carries the organization (`https://chef/organizations/acme`); a trailing
//! slash is optional and makes no difference. Organization endpoints are appended to it;
//! global endpoints (`/users`, `/_status`) go to the server root, i.e. the URL without its
//! `/organizations/ORG` suffix. goiardi has no organizations: use its root URL.
//!
//! # Authentication and the choice of RSA implementation
//!
//! [`auth`] implements mixlib-authentication 1.0, 1.1 and 1.3 byte for byte (the reference
//! vectors are unit tests; requests are verified by the Ruby reference implementation and
//! accepted by goiardi in the conformance suite). Every attempt, retries included, is signed
//! afresh with a new timestamp.
//!
//! The RSA private-key operations use **OpenSSL** through the `openssl` crate. The
//! alternatives were weighed:
//!
//! * the pure-Rust `rsa` crate reproduces the vectors too, but every released version
//!   carries RUSTSEC-2023-0071 (Marvin: non-constant-time private-key operations that can
//!   leak the key through timing). A Chef client key is often an admin credential, and this
//!   library signs thousands of requests on demand, so an attacker who can trigger and time
//!   requests is a realistic threat; `cargo audit` would also flag every downstream user;
//! * `ring` and `aws-lc-rs` are constant time but only offer standard signatures: they
//!   cannot do the raw PKCS#1 "private encrypt" that protocols 1.0 and 1.1 need;
//! * OpenSSL 3 provides both operations with blinding and constant-time exponentiation,
//!   and is about twice as fast. The cost is a build dependency: `libssl-dev` and
//!   `pkg-config` (Debian/Ubuntu; `openssl-devel` on Fedora) must be installed to build.
//!
//! The key is a [`secrecy::SecretString`] until it is parsed into a [`SigningKey`], whose
//! `Debug` prints only its size. Keys never appear in errors, logs or `Debug` output; the
//! `X-Ops-Authorization-N` headers are marked sensitive.
//!
//! # Errors
//!
//! One [`Error`] type. API errors carry the status and the server's `error` messages (an
//! array or a string); non-JSON error bodies (goiardi's plain-text 413, proxy pages) become
//! [`Error::UnexpectedStatus`]. Predicates: [`Error::is_not_found`], [`Error::is_conflict`],
//! [`Error::is_unauthorized`] (with [`Error::is_clock_skew`] and a hint in the message when
//! the server blames the timestamp), [`Error::is_forbidden`].
//!
//! # Untrusted input and hostile servers
//!
//! * A name that cannot be exactly one URL path segment (empty, `.`, `..`, or containing
//!   `/`, `\`, `?`, `#` or a control character; Chef names allow only `A-Z a-z 0-9 _ - . :`)
//!   is refused with [`Error::InvalidRequest`] before anything is sent, so
//!   `data_bags().delete_item("users", "..")` can never become `DELETE /data/users`.
//!   Other characters are percent-encoded.
//! * Response bodies are read chunk by chunk up to [`ClientBuilder::max_response_bytes`]
//!   (default [`DEFAULT_MAX_RESPONSE_BYTES`], 32 MiB); a longer body is
//!   [`Error::ResponseTooLarge`]. A body cut off mid-way is [`Error::Transport`].
//! * Search fetches at most [`SearchPager::max_pages`] pages, then fails with
//!   [`Error::TooManyPages`].
//!
//! # Retries
//!
//! [`RetryConfig`] (default 3 attempts, 1 s → 20 s jittered backoff, honouring
//! `Retry-After`, in seconds or as an HTTP date): connection failures and 429 are retried for every method; 500/502/503/504
//! and timeouts only for GET, HEAD, PUT and DELETE. 4xx are never retried, except a `406`
//! refusing the server API version, repeated once with a renegotiated version (the server
//! did not process it; see [`api_version`]).
//!
//! # Features
//!
//! * `rustls` (default): TLS through rustls.
//! * `native-tls`: TLS through the platform library.
//! * `testkit`: `testkit::FakeChefServer`, a stateful fake Chef server
//!   on loopback that verifies signatures, for tests of code built on this crate.
#![forbid(unsafe_code)]

pub mod api_version;
pub mod auth;
mod body;
mod client;
pub mod credentials;
mod error;
#[cfg(test)]
mod proptests;
pub mod resources;
mod retry;
#[cfg(test)]
mod shape_walk;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use api_version::{SUPPORTED_SERVER_API_VERSIONS, ServerApiVersions};
pub use auth::{ProtocolVersion, SigningKey};
pub use body::DEFAULT_MAX_RESPONSE_BYTES;
pub use client::{Client, ClientBuilder, DEFAULT_CHEF_VERSION, DEFAULT_SERVER_API_VERSION};
pub use credentials::{Credentials, Profile, ProfileKey};
pub use error::{ApiErrorBody, Error, Result};
pub use resources::clients::{ApiClient, ClientKey, CreateClient};
pub use resources::cookbooks::{Cookbook, CookbookVersionRef, NumVersions};
pub use resources::environments::Environment;
pub use resources::nodes::Node;
pub use resources::roles::Role;
pub use resources::search::{DataBagSearchRow, PartialRow, SearchPage, SearchPager};
pub use resources::status::ServerStatus;
pub use resources::users::User;
pub use retry::RetryConfig;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

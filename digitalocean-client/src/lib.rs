#![doc = include_str!("../README.md")]
//!
//! ## Crate layout
//!
//! - [`Client`] / [`ClientBuilder`]: configuration and the single send path.
//! - Resource handlers ([`Droplets`], [`DropletActions`], [`Actions`], [`SshKeys`], [`Tags`],
//!   [`Domains`], [`DomainRecords`], [`Regions`], [`Sizes`], [`Images`], [`Account`],
//!   [`Firewalls`], [`ReservedIps`], [`Vpcs`], [`Volumes`], [`Projects`],
//!   [`AlertPolicies`], [`Snapshots`], [`LoadBalancers`], [`Certificates`]),
//!   each next to its types.
//! - [`Pager`]: lazily walks `links.pages.next`.
//! - [`Error`]: one error type with predicates such as [`Error::is_not_found`].
#![forbid(unsafe_code)]

mod body;
mod client;
mod error;
mod pagination;
mod resources;
mod retry;
#[cfg(test)]
mod spec_walk;
#[cfg(feature = "testkit")]
pub mod testkit;
mod validate;

pub use body::DEFAULT_MAX_RESPONSE_BYTES;
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, RateLimit};
pub use error::{ApiErrorBody, Error, Result};
pub use pagination::{DEFAULT_MAX_PAGES, DEFAULT_PER_PAGE, Pager};
pub use resources::*;
pub use retry::RetryConfig;
pub use validate::{MAX_DROPLET_NAMES, MAX_NAME_LEN, MAX_PER_PAGE, MAX_USER_DATA_BYTES};

/// Re-exported HTTP types that appear in this crate's API.
pub use reqwest::{Method, StatusCode};
/// Re-exported so callers can pass a [`secrecy::SecretString`] without adding the crate.
pub use secrecy::SecretString;

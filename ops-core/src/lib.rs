//! Ops workflows over the DigitalOcean, Dyn, Chef and Nagios clients.
//!
//! The workflows (provision and teardown hosts, sync SSH keys, restore a
//! production Postgres dump into QA, a status page) are generic over small
//! async traits, the *ports*, so they can be tested over in-memory fakes and
//! run against the real providers through adapters built on the client crates.
#![forbid(unsafe_code)]

pub mod adapters;
pub mod error;
pub mod key_sync;
pub mod ports;
pub mod provision;
pub mod restore;
pub mod status;

pub use error::{Error, Result};

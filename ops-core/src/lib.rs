#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod adapters;
pub mod dry_run;
pub mod error;
pub mod key_sync;
pub mod ports;
pub mod provision;
pub mod redact;
pub mod restore;
pub mod state;
pub mod status;

pub use error::{Error, Result};

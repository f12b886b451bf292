//! Typed async client for the Dyn Managed DNS REST API.
//!
//! Work in progress: sessions, records, zone publish and async jobs.
#![forbid(unsafe_code)]

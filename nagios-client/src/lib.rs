//! Typed async client for the nagios-api HTTP API over Nagios.
//!
//! Work in progress: state, hosts, services, downtime, acknowledgements, notifications.
#![forbid(unsafe_code)]

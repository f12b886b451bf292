//! Typed async client for the Chef Infra Server API.
//!
//! Work in progress: signed requests (protocol 1.0, 1.1, 1.3), nodes, clients, roles, environments, data bags and search.
#![forbid(unsafe_code)]

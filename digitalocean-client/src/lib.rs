//! Typed async client for the DigitalOcean API v2.
//!
//! Work in progress: droplets, actions, account SSH keys, tags, domains and the catalog (regions, sizes, images, account).
#![forbid(unsafe_code)]

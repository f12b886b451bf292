//! The sandbox: in-process fakes of the providers and a throwaway PostgreSQL cluster.
//!
//! Nothing here talks to a real provider; everything listens on loopback or a private unix
//! socket directory and disappears when the process exits.
//!
//! The fakes (the clients' `testkit` features) are compiled only with the `sandbox` cargo
//! feature, on by default so that `cargo run -p ops-examples --bin demo` works as the README
//! says; production builds leave them out (`--no-default-features`), and `--sandbox` then
//! says so. The built-in specs and configurations are plain text and always present.

pub mod nagios;
pub mod postgres;
pub mod providers;

//! The sandbox: in-process fakes of the providers and a throwaway PostgreSQL cluster.
//!
//! Nothing here talks to a real provider; everything listens on loopback or a private unix
//! socket directory and disappears when the process exits.

pub mod nagios;
pub mod postgres;
pub mod providers;

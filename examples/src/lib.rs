//! Shared helpers for the example binaries (filled by the examples issue).
#![forbid(unsafe_code)]

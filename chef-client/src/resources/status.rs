//! Server health (`GET /_status`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// The answer of `GET /_status`.
///
/// Chef Infra Server: `{"status":"pong","upstreams":{"chef_solr":"pong",…},…}`.
/// goiardi has no health endpoint: its catch-all answers 200 with an empty body, which
/// gives `status: None` and no upstreams.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ServerStatus {
    /// `pong` when everything is up.
    #[serde(default)]
    pub status: Option<String>,
    /// Upstream name → `pong` or `fail`.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub upstreams: BTreeMap<String, String>,
    /// Everything else the server reported (e.g. `keygen`, `analytics_queue`).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl ServerStatus {
    pub(crate) fn from_body(body: &[u8]) -> Result<Self> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        serde_json::from_slice(body).map_err(|source| Error::Decode {
            what: "status",
            source,
        })
    }

    /// Whether the server reported itself healthy (the request itself succeeded, so a
    /// missing `status` counts as healthy).
    pub fn is_healthy(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "pong")
            && self.upstreams.values().all(|u| u == "pong")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let s = ServerStatus::from_body(b"").unwrap();
        assert!(s.is_healthy() && s.status.is_none());
        let s = ServerStatus::from_body(
            br#"{"status":"pong","upstreams":{"chef_solr":"pong","chef_sql":"pong"},"keygen":{"keys":10}}"#,
        )
        .unwrap();
        assert!(s.is_healthy());
        assert!(s.other.contains_key("keygen"));
        let s = ServerStatus::from_body(br#"{"status":"fail","upstreams":{"chef_solr":"fail"}}"#)
            .unwrap();
        assert!(!s.is_healthy());
        assert!(ServerStatus::from_body(b"<html>").is_err());
    }
}

//! Server API version negotiation (Chef RFC 41).
//!
//! Every request sends (and, with protocol 1.3, signs) `X-Ops-Server-API-Version: N`. A
//! server that does not support `N` answers `406` with the error
//! `invalid-x-ops-server-api-version`, a body carrying `min_api_version`/`max_api_version`
//! (some servers say `min_version`/`max_version`), and the response header
//!
//! ```text
//! X-Ops-Server-API-Version: {"min_version":"0","max_version":"2","request_version":"3","response_version":"-1"}
//! ```
//!
//! (JSON, the numbers as strings; `response_version` `-1` means the request was not
//! processed). Chef Infra Server sends that header on every answer.
//!
//! The client then **renegotiates once**: it picks the version closest to the configured
//! one ([`ClientBuilder::server_api_version`](crate::ClientBuilder::server_api_version))
//! that both the server and this client support ([`SUPPORTED_SERVER_API_VERSIONS`], plus the
//! configured version), repeats the same request once with it, and keeps it for every later
//! request of that client (and its clones). Repeating is safe for every method, `POST`
//! included: RFC 41 has the server check the version before it looks at the request, so a
//! `406` for the version means nothing was done. A `406` without that error (or with a
//! `response_version` other than `-1`) is never repeated. When no version fits, or the
//! server refuses the renegotiated version too, the `406` is returned as
//! [`Error::Api`](crate::Error::Api), carrying both ranges.

use std::ops::RangeInclusive;

use serde::Deserialize;

/// The server API versions whose answers this crate's models decode: 0 (the `POST /clients`
/// key at the top level), 1 (the key under `chef_key`) and 2.
pub const SUPPORTED_SERVER_API_VERSIONS: RangeInclusive<u32> = 0..=2;

/// The `406` error Chef servers send for an unsupported `X-Ops-Server-API-Version`.
pub(crate) const INVALID_VERSION_ERROR: &str = "invalid-x-ops-server-api-version";

/// The `X-Ops-Server-API-Version` response header (RFC 41): which versions the server
/// supports and which one it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerApiVersions {
    /// Lowest version the server supports.
    pub min_version: u32,
    /// Highest version the server supports.
    pub max_version: u32,
    /// The version the request asked for (`-1`: not an integer), when the server said.
    pub request_version: Option<i64>,
    /// The version the server answered with; `-1` when it refused the request (406).
    pub response_version: Option<i64>,
}

impl ServerApiVersions {
    /// Parses the header value. `None` when it is not that JSON (missing, garbled, or a
    /// minimum above the maximum). Numbers may be strings (what Chef Infra Server sends) or
    /// JSON numbers.
    pub fn from_header(value: &str) -> Option<Self> {
        #[derive(Deserialize)]
        struct Raw {
            min_version: Option<serde_json::Value>,
            max_version: Option<serde_json::Value>,
            request_version: Option<serde_json::Value>,
            response_version: Option<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_str(value.trim()).ok()?;
        let int = |v: Option<serde_json::Value>| -> Option<i64> {
            match v? {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        };
        let min_version = u32::try_from(int(raw.min_version)?).ok()?;
        let max_version = u32::try_from(int(raw.max_version)?).ok()?;
        (min_version <= max_version).then_some(ServerApiVersions {
            min_version,
            max_version,
            request_version: int(raw.request_version),
            response_version: int(raw.response_version),
        })
    }
}

/// The version to retry with after the server refused `sent`, given the server's range:
/// the one closest to `preferred` in the intersection of the server's range and what this
/// client supports (`SUPPORTED_SERVER_API_VERSIONS` widened to include `preferred`).
/// `None` when the ranges do not meet or the only fit is `sent` itself.
pub(crate) fn renegotiate(preferred: u32, sent: u32, server: (u32, u32)) -> Option<u32> {
    let (server_min, server_max) = server;
    let lo = server_min.max((*SUPPORTED_SERVER_API_VERSIONS.start()).min(preferred));
    let hi = server_max.min((*SUPPORTED_SERVER_API_VERSIONS.end()).max(preferred));
    if lo > hi {
        return None;
    }
    let pick = preferred.clamp(lo, hi);
    (pick != sent).then_some(pick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_in_the_rfc_format_and_variants() {
        let h = ServerApiVersions::from_header(
            r#"{"min_version":"0","max_version":"2","request_version":"3", "response_version":"-1"}"#,
        )
        .unwrap();
        assert_eq!(
            h,
            ServerApiVersions {
                min_version: 0,
                max_version: 2,
                request_version: Some(3),
                response_version: Some(-1)
            }
        );
        let h = ServerApiVersions::from_header(r#"{"min_version":1,"max_version":1}"#).unwrap();
        assert_eq!(
            (h.min_version, h.max_version, h.response_version),
            (1, 1, None)
        );
        for bad in [
            "",
            "1",
            "{}",
            r#"{"min_version":"2","max_version":"1"}"#,
            r#"{"min_version":"-1","max_version":"1"}"#,
            r#"{"min_version":"x","max_version":"1"}"#,
            r#"{"min_version":"1"}"#,
        ] {
            assert_eq!(ServerApiVersions::from_header(bad), None, "{bad}");
        }
    }

    #[test]
    fn renegotiation_picks_the_closest_common_version() {
        // Too new for the server: its maximum.
        assert_eq!(renegotiate(2, 2, (0, 1)), Some(1));
        // Too old for the server: its minimum, when this client supports it.
        assert_eq!(renegotiate(1, 1, (2, 5)), Some(2));
        // The server only has versions this client cannot decode.
        assert_eq!(renegotiate(1, 1, (3, 5)), None);
        // A configured version outside the built-in range is still "supported".
        assert_eq!(renegotiate(4, 4, (3, 5)), None);
        assert_eq!(renegotiate(4, 4, (0, 3)), Some(3));
        // The server's range holds what was sent: it is lying, do not loop.
        assert_eq!(renegotiate(1, 1, (0, 2)), None);
        // Back towards the preferred version after an earlier renegotiation.
        assert_eq!(renegotiate(1, 2, (0, 1)), Some(1));
    }
}

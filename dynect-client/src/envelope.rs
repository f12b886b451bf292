//! The response envelope every Dyn REST call answers with.
//!
//! ```json
//! {"status": "success", "data": {...}, "job_id": 4340980452,
//!  "msgs": [{"INFO": "login: Login successful", "SOURCE": "BLL", "ERR_CD": null, "LVL": "INFO"}]}
//! ```

use serde::{Deserialize, Deserializer};

/// The `status` field of the envelope.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseStatus {
    /// The call succeeded.
    Success,
    /// The call failed; `msgs` says why.
    Failure,
    /// The call became a job that is still running; poll `/REST/Job/{job_id}/`.
    Incomplete,
    /// Seen with "This session already has a job running".
    Running,
    /// Any other value.
    #[serde(other)]
    Unknown,
}

/// The `LVL` of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageLevel {
    /// `FATAL`
    Fatal,
    /// `ERROR`
    Error,
    /// `WARN`
    Warn,
    /// `INFO`
    Info,
    /// Missing or unrecognised.
    Unknown,
}

/// The documented `ERR_CD` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// `DEPRECATED_REQUEST`
    DeprecatedRequest,
    /// `ILLEGAL_OPERATION` (also used for "Operation blocked by current task")
    IllegalOperation,
    /// `INTERNAL_ERROR`
    InternalError,
    /// `INVALID_DATA` (also used for expired sessions)
    InvalidData,
    /// `INVALID_REQUEST`
    InvalidRequest,
    /// `INVALID_VERSION`
    InvalidVersion,
    /// `MISSING_DATA`
    MissingData,
    /// `NOT_FOUND`
    NotFound,
    /// `OPERATION_FAILED`
    OperationFailed,
    /// `PERMISSION_DENIED`
    PermissionDenied,
    /// `SERVICE_UNAVAILABLE`
    ServiceUnavailable,
    /// `TARGET_EXISTS`
    TargetExists,
    /// `UNKNOWN_ERROR`
    UnknownError,
    /// `RATE_LIMIT_EXCEEDED`
    RateLimitExceeded,
    /// A code this crate does not know; the raw text stays in [`Message::err_cd`].
    Other,
}

/// One entry of `msgs[]`. Every message of a response is kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    /// `INFO`: `"<subsystem>: <text>"`, e.g. `"login: Login successful"`.
    #[serde(rename = "INFO", default, deserialize_with = "null_as_empty")]
    pub info: String,
    /// `SOURCE` (`BLL`, `API-B`, …): for debugging only.
    #[serde(rename = "SOURCE", default)]
    pub source: Option<String>,
    /// `ERR_CD`, raw; see [`Message::code`].
    #[serde(rename = "ERR_CD", default)]
    pub err_cd: Option<String>,
    /// `LVL`, raw; see [`Message::level`].
    #[serde(rename = "LVL", default)]
    pub lvl: Option<String>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

impl Message {
    /// The parsed `LVL`.
    pub fn level(&self) -> MessageLevel {
        match self.lvl.as_deref() {
            Some("FATAL") => MessageLevel::Fatal,
            Some("ERROR") => MessageLevel::Error,
            Some("WARN") => MessageLevel::Warn,
            Some("INFO") => MessageLevel::Info,
            _ => MessageLevel::Unknown,
        }
    }

    /// The parsed `ERR_CD`, `None` when it is null.
    pub fn code(&self) -> Option<ErrorCode> {
        let code = self.err_cd.as_deref()?;
        Some(match code {
            "DEPRECATED_REQUEST" => ErrorCode::DeprecatedRequest,
            "ILLEGAL_OPERATION" => ErrorCode::IllegalOperation,
            "INTERNAL_ERROR" => ErrorCode::InternalError,
            "INVALID_DATA" => ErrorCode::InvalidData,
            "INVALID_REQUEST" => ErrorCode::InvalidRequest,
            "INVALID_VERSION" => ErrorCode::InvalidVersion,
            "MISSING_DATA" => ErrorCode::MissingData,
            "NOT_FOUND" => ErrorCode::NotFound,
            "OPERATION_FAILED" => ErrorCode::OperationFailed,
            "PERMISSION_DENIED" => ErrorCode::PermissionDenied,
            "SERVICE_UNAVAILABLE" => ErrorCode::ServiceUnavailable,
            "TARGET_EXISTS" => ErrorCode::TargetExists,
            "UNKNOWN_ERROR" => ErrorCode::UnknownError,
            "RATE_LIMIT_EXCEEDED" => ErrorCode::RateLimitExceeded,
            _ => ErrorCode::Other,
        })
    }

    /// True for `LVL` `ERROR` or `FATAL`.
    pub fn is_error(&self) -> bool {
        matches!(self.level(), MessageLevel::Error | MessageLevel::Fatal)
    }
}

/// A decoded envelope. `data` is kept as JSON until the caller's type is known.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    /// `status`.
    pub status: ResponseStatus,
    /// `data`: object, array, `{}` or null.
    #[serde(default)]
    pub data: serde_json::Value,
    /// `job_id`.
    #[serde(default, deserialize_with = "crate::envelope::lenient_u64_opt")]
    pub job_id: Option<u64>,
    /// `msgs[]`, in order.
    #[serde(default, deserialize_with = "null_as_default_vec")]
    pub msgs: Vec<Message>,
}

fn null_as_default_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Message>, D::Error> {
    Ok(Option::<Vec<Message>>::deserialize(d)?.unwrap_or_default())
}

impl Envelope {
    /// Parse a body; accepts the historical `[ {...} ]` wrapping of error bodies.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrArray {
            One(Envelope),
            Array(Vec<Envelope>),
        }
        match serde_json::from_slice::<OneOrArray>(bytes) {
            Ok(OneOrArray::One(e)) => Ok(e),
            Ok(OneOrArray::Array(mut v)) if v.len() == 1 => Ok(v.remove(0)),
            // Re-parse as a single object to get a meaningful error.
            _ => serde_json::from_slice::<Envelope>(bytes),
        }
    }
}

/// Deserialize an integer sent either as a number or as a string (`task_id` is a string on the wire).
pub(crate) fn lenient_u64_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }
    match Option::<NumOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrStr::Num(n)) => Ok(Some(n)),
        Some(NumOrStr::Str(s)) if s.is_empty() => Ok(None),
        Some(NumOrStr::Str(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got {s:?}"))),
    }
}

/// Like [`lenient_u64_opt`] but required.
pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    lenient_u64_opt(d)?.ok_or_else(|| serde::de::Error::custom("missing integer"))
}

/// An optional `u32` sent as a number or a string (TTLs).
pub(crate) fn lenient_u32_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match lenient_u64_opt(d)? {
        None => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{n} does not fit in u32"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_login_envelope() {
        let e = Envelope::parse(br#"{"status": "success", "data": {"token": "x", "version": "3.7.9"}, "job_id": 4340980452,
   "msgs": [{"INFO": "login: Login successful", "SOURCE": "BLL", "ERR_CD": null, "LVL": "INFO"}]}"#).unwrap();
        assert_eq!(e.status, ResponseStatus::Success);
        assert_eq!(e.job_id, Some(4340980452));
        assert_eq!(e.msgs[0].level(), MessageLevel::Info);
        assert_eq!(e.msgs[0].code(), None);
    }

    #[test]
    fn parses_array_wrapped_error() {
        let e = Envelope::parse(br#"[{"status": "failure", "data": {}, "job_id": "7", "msgs": [{"INFO": "x: y", "SOURCE": "BLL", "ERR_CD": "NOT_FOUND", "LVL": "ERROR"}]}]"#).unwrap();
        assert_eq!(e.status, ResponseStatus::Failure);
        assert_eq!(e.job_id, Some(7));
        assert_eq!(e.msgs[0].code(), Some(ErrorCode::NotFound));
        assert!(e.msgs[0].is_error());
    }

    #[test]
    fn rejects_non_envelope() {
        assert!(Envelope::parse(b"<html>").is_err());
        assert!(Envelope::parse(br#"{"foo": 1}"#).is_err());
    }
}

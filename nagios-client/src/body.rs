//! Reading response bodies without trusting the server about their size.
//!
//! A body is read chunk by chunk and reading stops at a limit, so a hostile or broken server
//! cannot make the client buffer more than [`ClientBuilder::max_response_bytes`]
//! (`Content-Length` is checked first when the server sends one). A connection closed
//! mid-body is an error, never a shorter body. The reading itself is
//! [`ops_http_retry::body`] (its `reqwest` feature reads a `reqwest::Response` as it is); this
//! module holds this crate's limits and maps the outcome to this crate's [`Error`].
//!
//! [`ClientBuilder::max_response_bytes`]: crate::ClientBuilder::max_response_bytes

use ops_http_retry::body::{self, BodyError};
use reqwest::Response;

use crate::error::{Error, Result};

/// Default [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes):
/// 32 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Read a whole success body, or fail with [`Error::ResponseTooLarge`] as soon as it is
/// known to be larger than `limit` (from `Content-Length`, or while reading).
pub(crate) async fn read_limited(resp: &mut Response, limit: usize) -> Result<Vec<u8>> {
    body::read_limited(resp, limit).await.map_err(|e| match e {
        BodyError::TooLarge {
            limit,
            content_length,
        } => Error::ResponseTooLarge {
            limit,
            content_length,
        },
        BodyError::Read(e) => Error::Transport(e),
    })
}

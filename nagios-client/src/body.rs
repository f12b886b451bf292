//! Reading response bodies without trusting the server about their size.
//!
//! A body is read chunk by chunk and reading stops at a limit, so a hostile or broken server
//! cannot make the client buffer more than [`ClientBuilder::max_response_bytes`]
//! (`Content-Length` is checked first when the server sends one). A connection closed
//! mid-body is an error, never a shorter body.
//!
//! [`ClientBuilder::max_response_bytes`]: crate::ClientBuilder::max_response_bytes

use reqwest::Response;

use crate::error::{Error, Result};

/// Default [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes):
/// 32 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Largest buffer reserved up front, whatever `Content-Length` claims.
const INITIAL_CAPACITY: usize = 64 * 1024;

/// A body read up to a limit.
pub(crate) struct Limited {
    /// At most `limit` bytes.
    pub(crate) bytes: Vec<u8>,
    /// False when the body was longer than the limit and reading stopped.
    pub(crate) complete: bool,
}

/// Read at most `limit` bytes of the body, chunk by chunk.
pub(crate) async fn read_at_most(
    resp: &mut Response,
    limit: usize,
) -> Result<Limited, reqwest::Error> {
    let declared = resp.content_length();
    let reserve = declared
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(limit)
        .min(INITIAL_CAPACITY);
    let mut bytes = Vec::with_capacity(reserve);
    while let Some(chunk) = resp.chunk().await? {
        let room = limit - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Limited {
                bytes,
                complete: false,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Limited {
        bytes,
        complete: true,
    })
}

/// Read a whole success body, or fail with [`Error::ResponseTooLarge`] as soon as it is
/// known to be larger than `limit` (from `Content-Length`, or while reading).
pub(crate) async fn read_limited(resp: &mut Response, limit: usize) -> Result<Vec<u8>> {
    let declared = resp.content_length();
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Error::ResponseTooLarge {
            limit,
            content_length: declared,
        });
    }
    let body = read_at_most(resp, limit).await?;
    if body.complete {
        Ok(body.bytes)
    } else {
        Err(Error::ResponseTooLarge {
            limit,
            content_length: declared,
        })
    }
}

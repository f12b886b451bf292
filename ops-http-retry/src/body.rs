//! Bounded body reads: a response body is read chunk by chunk and reading stops at a limit,
//! so a hostile or broken server cannot make a client buffer more than it allows.
//!
//! The functions here need no HTTP library: a client hands them its response as a
//! [`ChunkSource`] (the declared length, its `Content-Length` when the server sent one, and
//! the next chunk: `Ok(None)` at the end, `Err` when the connection broke). With the
//! `reqwest` feature, a `reqwest::Response` is one (its `content_length()` and `chunk()`):
//!
//! ```ignore
//! // features = ["reqwest"]
//! let body = ops_http_retry::body::read_limited(&mut resp, limit).await;
//! ```
//!
//! A read error is returned as it is (a body cut off mid-way is an error, never a shorter
//! body); what it becomes, and what "too large" becomes, is the client's business.
//!
//! ```
//! use ops_http_retry::body::{BodyError, ChunkSource, read_limited};
//!
//! /// A body already in memory, in pieces.
//! struct Pieces(std::vec::IntoIter<&'static [u8]>);
//!
//! impl ChunkSource for Pieces {
//!     type Error = std::convert::Infallible;
//!     fn declared_len(&self) -> Option<u64> {
//!         None
//!     }
//!     async fn next_chunk(&mut self) -> Result<Option<impl AsRef<[u8]>>, Self::Error> {
//!         Ok(self.0.next())
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut body = Pieces(vec![&b"{\"id\":"[..], &b" 7}"[..]].into_iter());
//! assert_eq!(read_limited(&mut body, 64).await.unwrap(), b"{\"id\": 7}");
//!
//! let mut body = Pieces(vec![&b"0123456789"[..]].into_iter());
//! let too_large = read_limited(&mut body, 4).await;
//! assert!(matches!(too_large, Err(BodyError::TooLarge { limit: 4, content_length: None })));
//! # });
//! ```

use std::future::Future;

/// A response body, read one chunk at a time.
pub trait ChunkSource {
    /// What a failed read reports (a connection closed mid-body, a timeout).
    type Error;

    /// The length the server declared (`Content-Length`), if it declared one.
    fn declared_len(&self) -> Option<u64>;

    /// The next chunk of the body; `Ok(None)` at its end.
    fn next_chunk(
        &mut self,
    ) -> impl Future<Output = Result<Option<impl AsRef<[u8]>>, Self::Error>> + Send;
}

/// With the `reqwest` feature: the response's `Content-Length`
/// ([`reqwest::Response::content_length`]) and its body chunk by chunk
/// ([`reqwest::Response::chunk`]); a read error is the `reqwest::Error`.
#[cfg(feature = "reqwest")]
impl ChunkSource for reqwest::Response {
    type Error = reqwest::Error;

    fn declared_len(&self) -> Option<u64> {
        self.content_length()
    }

    async fn next_chunk(&mut self) -> Result<Option<impl AsRef<[u8]>>, reqwest::Error> {
        self.chunk().await
    }
}

/// Largest buffer reserved up front, whatever the declared length claims.
const INITIAL_CAPACITY: usize = 64 * 1024;

/// A body read up to a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// At most `limit` bytes.
    pub bytes: Vec<u8>,
    /// False when the body was longer than the limit and reading stopped.
    pub complete: bool,
}

/// Why [`read_limited`] returned no body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError<E> {
    /// The body is larger than `limit`: known from the declared length before anything was
    /// read, or found while reading (then `content_length` is what the server declared, if
    /// anything).
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
        /// The length the server declared (`Content-Length`), when it declared one.
        content_length: Option<u64>,
    },
    /// Reading a chunk failed (a connection closed mid-body, a timeout).
    Read(E),
}

/// Read at most `limit` bytes of a body, chunk by chunk, and stop there: a longer body comes
/// back cut at `limit` with `complete: false`. The declared length only sizes the first
/// buffer, never more than 64 KiB; it is not trusted otherwise.
pub async fn read_at_most<S>(body: &mut S, limit: usize) -> Result<Limited, S::Error>
where
    S: ChunkSource + ?Sized,
{
    let reserve = body
        .declared_len()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(limit)
        .min(INITIAL_CAPACITY);
    let mut bytes = Vec::with_capacity(reserve);
    while let Some(chunk) = body.next_chunk().await? {
        let chunk = chunk.as_ref();
        let room = limit - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Limited {
                bytes,
                complete: false,
            });
        }
        bytes.extend_from_slice(chunk);
    }
    Ok(Limited {
        bytes,
        complete: true,
    })
}

/// Read a whole body of at most `limit` bytes, or fail with [`BodyError::TooLarge`] as soon
/// as it is known to be larger: from the declared length before any chunk is read, else
/// while reading. A body of exactly `limit` bytes is read whole.
pub async fn read_limited<S>(body: &mut S, limit: usize) -> Result<Vec<u8>, BodyError<S::Error>>
where
    S: ChunkSource + ?Sized,
{
    let declared = body.declared_len();
    let too_large = || BodyError::TooLarge {
        limit,
        content_length: declared,
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let read = read_at_most(body, limit).await.map_err(BodyError::Read)?;
    if read.complete {
        Ok(read.bytes)
    } else {
        Err(too_large())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body served in the given chunks, then an end, or an error where a chunk is `None`
    /// (the connection broke there). Counts the chunks handed out.
    struct Source {
        declared: Option<u64>,
        chunks: std::vec::IntoIter<Option<Vec<u8>>>,
        pulled: usize,
    }

    fn source(declared: Option<u64>, chunks: &[Option<&[u8]>]) -> Source {
        Source {
            declared,
            chunks: chunks
                .iter()
                .map(|c| c.map(<[u8]>::to_vec))
                .collect::<Vec<_>>()
                .into_iter(),
            pulled: 0,
        }
    }

    impl ChunkSource for Source {
        type Error = &'static str;

        fn declared_len(&self) -> Option<u64> {
            self.declared
        }

        async fn next_chunk(&mut self) -> Result<Option<impl AsRef<[u8]>>, Self::Error> {
            tokio::task::yield_now().await;
            match self.chunks.next() {
                None => Ok(None),
                Some(Some(c)) => {
                    self.pulled += 1;
                    Ok(Some(c))
                }
                Some(None) => Err("connection closed mid-body"),
            }
        }
    }

    const TEN: &[u8] = b"0123456789";

    fn too_large(limit: usize, content_length: Option<u64>) -> BodyError<&'static str> {
        BodyError::TooLarge {
            limit,
            content_length,
        }
    }

    fn whole(bytes: &[u8], complete: bool) -> Limited {
        Limited {
            bytes: bytes.to_vec(),
            complete,
        }
    }

    #[tokio::test]
    async fn exactly_the_limit_is_read_whole() {
        let mut src = source(Some(10), &[Some(b"01234"), Some(b"56789")]);
        assert_eq!(read_limited(&mut src, 10).await.as_deref(), Ok(TEN));
        let mut src = source(None, &[Some(b"0123"), Some(b"456789")]);
        assert_eq!(read_limited(&mut src, 10).await.as_deref(), Ok(TEN));
        let mut src = source(None, &[Some(b"0123"), Some(b"456789")]);
        assert_eq!(read_at_most(&mut src, 10).await, Ok(whole(TEN, true)));
    }

    #[tokio::test]
    async fn one_byte_over_the_limit_is_too_large() {
        // No Content-Length: found while reading, and reading stops there.
        let mut src = source(
            None,
            &[Some(b"01234"), Some(b"56789"), Some(b"x"), Some(b"more")],
        );
        assert_eq!(read_limited(&mut src, 10).await, Err(too_large(10, None)));
        assert_eq!(src.pulled, 3, "read past the first byte over the limit");
        // read_at_most keeps what fits.
        let mut src = source(None, &[Some(b"0123456789x")]);
        assert_eq!(read_at_most(&mut src, 10).await, Ok(whole(TEN, false)));
        // Declared one byte over: refused before reading.
        let mut src = source(Some(11), &[Some(b"0123456789x")]);
        assert_eq!(
            read_limited(&mut src, 10).await,
            Err(too_large(10, Some(11)))
        );
        assert_eq!(src.pulled, 0);
        // A Content-Length that lies (within the limit) is not trusted.
        let mut src = source(Some(3), &[Some(b"0123456789x")]);
        assert_eq!(
            read_limited(&mut src, 10).await,
            Err(too_large(10, Some(3)))
        );
    }

    #[tokio::test]
    async fn declared_length_over_the_limit_reads_nothing() {
        let mut src = source(Some(1 << 40), &[Some(b"01")]);
        assert_eq!(
            read_limited(&mut src, 1 << 20).await,
            Err(too_large(1 << 20, Some(1 << 40)))
        );
        assert_eq!(src.pulled, 0);
        let mut src = source(Some(u64::MAX), &[]);
        assert_eq!(
            read_limited(&mut src, 1 << 20).await,
            Err(too_large(1 << 20, Some(u64::MAX)))
        );
        // read_at_most only sizes its buffer from it (capped: no huge allocation).
        let mut src = source(Some(u64::MAX), &[Some(b"01")]);
        assert_eq!(
            read_at_most(&mut src, usize::MAX).await,
            Ok(whole(b"01", true))
        );
    }

    #[tokio::test]
    async fn an_error_mid_body_is_the_error_never_a_shorter_body() {
        let err = "connection closed mid-body";
        let mut src = source(Some(10), &[Some(b"01234"), None, Some(b"56789")]);
        assert_eq!(read_limited(&mut src, 10).await, Err(BodyError::Read(err)));
        let mut src = source(None, &[Some(b"01234"), None]);
        assert_eq!(read_at_most(&mut src, 10).await, Err(err));
        // An error before the first chunk too.
        let mut src = source(None, &[None]);
        assert_eq!(read_limited(&mut src, 10).await, Err(BodyError::Read(err)));
    }

    #[cfg(feature = "reqwest")]
    #[tokio::test]
    async fn a_reqwest_response_is_read_as_it_is() {
        let response = |body: &'static str| {
            reqwest::Response::from(http::Response::new(reqwest::Body::from(body)))
        };
        let mut resp = response("0123456789");
        assert_eq!(resp.declared_len(), Some(10));
        assert_eq!(read_limited(&mut resp, 10).await.unwrap(), TEN);
        let mut resp = response("0123456789");
        assert!(matches!(
            read_limited(&mut resp, 4).await,
            Err(BodyError::TooLarge {
                limit: 4,
                content_length: Some(10)
            })
        ));
        let mut resp = response("0123456789");
        let head = read_at_most(&mut resp, 4).await.unwrap();
        assert_eq!(
            (head.bytes.as_slice(), head.complete),
            (&b"0123"[..], false)
        );
    }

    #[tokio::test]
    async fn empty_body_and_zero_limit() {
        let mut src = source(Some(0), &[]);
        assert_eq!(read_limited(&mut src, 0).await, Ok(Vec::new()));
        let mut src = source(None, &[Some(b""), Some(b"x")]);
        assert_eq!(read_limited(&mut src, 0).await, Err(too_large(0, None)));
    }
}

//! A raw HTTP/1.1 server that misbehaves on purpose, for the clients' `hostile_server` tests
//! (issue #16 item 6): bodies far over any sane limit, bodies cut off mid-way. One answer per
//! connection, written by hand on a thread, so nothing between the test and the socket
//! (a framework, a proxy) tidies the answer up. [`serve`] runs one client call against such
//! an answer and reports what the server saw; [`UNSAFE_NAMES`] are the names no client may
//! put into a URL path. With the `wiremock` feature, `EchoRefusal` is a server that echoes
//! every request into its refusal (issue #17), and [`error_texts`] is everything an error
//! shows, to search for a leaked secret.
//!
//! ```
//! use std::sync::atomic::Ordering;
//! use ops_proptest::hostile::{chunked, raw_server};
//!
//! // Streams up to 1 MiB of `x` without a Content-Length; stops when the client hangs up.
//! let (uri, hits, _sent) = raw_server(|stream, _request_line| chunked(stream, "200 OK", 1 << 20));
//! assert!(uri.starts_with("http://127.0.0.1:"));
//! assert_eq!(hits.load(Ordering::SeqCst), 0);
//! ```

use std::fmt::Debug;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The body-limit tests every client passes (issue #16 item 6), written once: a limit of 0 is
/// a configuration error, a chunked body
/// with no `Content-Length` far over the limit stops the read (`ResponseTooLarge`, the client
/// hangs up long before the end), an endless error body keeps a 512-byte snippet
/// (`UnexpectedStatus`) and the client hangs up there too, a body cut off mid-way is
/// `Transport` for each of the given statuses. Expands to four tests in the
/// calling module, where `Error` must name the client's error enum (the four clients share
/// those three variants).
///
/// - `client`: `fn(&str, usize) -> Client`, a client of the base URL with that response
///   limit and no retries;
/// - `call`: one request with that client (`|c| c.droplets().get(1)`);
/// - `answer`: how the server answers a request, given the hostile answer: [`every_request`],
///   or one that answers a login first;
/// - `requests`: how many requests the endless body takes (a login counts);
/// - `cut_short`: the start of the cut-off body, then the statuses to send it with;
/// - `builder`: a `ClientBuilder` that builds: with a limit of 0 it must be `Error::Config`.
///
/// ```ignore
/// ops_proptest::body_limit_tests! {
///     client: small_client,
///     call: |c| c.droplets().get(1),
///     answer: every_request,
///     requests: 1,
///     cut_short: "{\"droplet\": {\"id\": 1, \"pad\": \"", "200 OK", "502 Bad Gateway";
///     builder: Client::builder(TOKEN),
/// }
/// ```
#[macro_export]
macro_rules! body_limit_tests {
    (
        client: $client:path,
        call: |$c:ident| $call:expr,
        answer: $answer:path,
        requests: $requests:expr,
        cut_short: $start:expr, $($status:literal),+;
        builder: $builder:expr $(,)?
    ) => {
        #[test]
        fn zero_limit_is_a_config_error() {
            let err = $builder.max_response_bytes(0).build().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err:?}");
        }

        #[tokio::test]
        async fn chunked_body_over_the_limit_stops_reading() {
            use $crate::hostile::{ENDLESS, chunked, serve};
            // No Content-Length: the server streams up to 8 MiB; the client must stop at
            // 64 KiB.
            let (err, served) = serve($answer(|s| chunked(s, "200 OK", ENDLESS)), |uri| async move {
                let $c = $client(&uri, 64 * 1024);
                $call.await
            })
            .await;
            assert!(
                matches!(err, Error::ResponseTooLarge { limit: 65536, content_length: None }),
                "{err:?}"
            );
            assert_eq!(served.requests, $requests);
            // It hung up long before the end (socket buffers hold a few MiB at most).
            assert!(served.written < ENDLESS);
        }

        #[tokio::test]
        async fn huge_error_body_keeps_a_snippet() {
            use $crate::hostile::{ENDLESS, chunked, serve};
            let (err, served) =
                serve($answer(|s| chunked(s, "502 Bad Gateway", ENDLESS)), |uri| async move {
                    let $c = $client(&uri, 32 << 20);
                    $call.await
                })
                .await;
            let Error::UnexpectedStatus { status, body_snippet, .. } = &err else {
                panic!("{err:?}")
            };
            assert_eq!(status.as_u16(), 502);
            assert_eq!(body_snippet.len(), 512);
            assert!(served.written < ENDLESS, "read the whole error body");
        }

        #[tokio::test]
        async fn body_cut_mid_way_is_a_transport_error() {
            use $crate::hostile::{cut_short, serve};
            for status in [$($status),+] {
                let (err, _) = serve($answer(move |s| cut_short(s, status, $start)), |uri| async move {
                    let $c = $client(&uri, 1 << 20);
                    $call.await
                })
                .await;
                assert!(matches!(err, Error::Transport(_)), "{status}: {err:?}");
            }
        }
    };
}

/// An answer to every request alike: `then` ignores the request line (see
/// [`body_limit_tests!`]).
pub fn every_request(
    then: impl Fn(&mut TcpStream) -> usize + Send + Sync + 'static,
) -> impl Fn(&mut TcpStream, &str) -> usize + Send + Sync + 'static {
    move |stream, _| then(stream)
}

/// Pages from an endless pager until it fails, each page within 20 s: the items it gave and
/// its error. Panics when a page takes 20 s or the pages end without an error.
pub async fn pages_until_error<T, E>(
    mut next_page: impl AsyncFnMut() -> Option<Result<Vec<T>, E>>,
) -> (usize, E) {
    let mut items = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(20), next_page())
            .await
            .expect("the pager did not stop")
        {
            Some(Ok(page)) => items += page.len(),
            Some(Err(e)) => return (items, e),
            None => panic!("stopped silently after {items} items"),
        }
    }
}

/// Names that are not one URL path segment (or none at all): every client refuses each of
/// them before it sends anything.
pub const UNSAFE_NAMES: [&str; 9] = ["..", ".", "a/b", "a\tb", "a\\b", "a?b", "a#b", "a\r\nb", ""];

/// The body [`serve`]'s callers stream with [`chunked`]: far over any limit a test sets, far
/// under what a client that never hangs up would take 20 s to read.
pub const ENDLESS: usize = 8 << 20;

/// What the server of [`serve`] saw.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    /// Requests read.
    pub requests: usize,
    /// What the last answer returned: for [`chunked`], the body bytes written before the
    /// client hung up.
    pub written: usize,
}

/// Answer every request with `respond` (see [`raw_server`]), make one client call with
/// `call(base_url)` and return its error and what the server saw, once every answer has
/// finished (a login answered first does not count as the end of the hostile one). Panics
/// when the call takes 20 s (the client read an endless body) or succeeds, or when an answer
/// is still being written 10 s later.
pub async fn serve<T, E, F>(
    respond: impl Fn(&mut TcpStream, &str) -> usize + Send + Sync + 'static,
    call: impl FnOnce(String) -> F,
) -> (E, Served)
where
    T: Debug,
    F: Future<Output = Result<T, E>>,
{
    let finished = Arc::new(AtomicUsize::new(0));
    let last = Arc::new(AtomicUsize::new(0));
    let (f, l) = (finished.clone(), last.clone());
    let (uri, hits, _) = raw_server(move |stream, line| {
        let written = respond(stream, line);
        l.store(written, Ordering::SeqCst);
        f.fetch_add(1, Ordering::SeqCst);
        written
    });
    let result = tokio::time::timeout(Duration::from_secs(20), call(uri))
        .await
        .expect("the client read the whole endless body");
    let err = match result {
        Ok(taken) => panic!("a hostile answer was taken: {taken:?}"),
        Err(err) => err,
    };
    let mut waited = 0;
    while finished.load(Ordering::SeqCst) < hits.load(Ordering::SeqCst) {
        assert!(waited < 400, "the server kept writing");
        tokio::time::sleep(Duration::from_millis(25)).await;
        waited += 1;
    }
    let served = Served {
        requests: hits.load(Ordering::SeqCst),
        written: last.load(Ordering::SeqCst),
    };
    (err, served)
}

/// Serve every connection on a thread: read one request, then `respond(stream, request_line)`
/// (the request line is `GET /v2/droplets/1 HTTP/1.1`, for a server that answers a login
/// differently) and close the connection. Returns the base URL (`http://127.0.0.1:PORT`), the
/// number of requests read and what the last `respond` returned (`usize::MAX` until one has
/// finished): the number of body bytes [`chunked`] managed to write.
pub fn raw_server(
    respond: impl Fn(&mut TcpStream, &str) -> usize + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(usize::MAX));
    let (h, w) = (hits.clone(), sent.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let line = read_request(&mut stream);
            h.fetch_add(1, Ordering::SeqCst);
            w.store(respond(&mut stream, &line), Ordering::SeqCst);
            let _ = stream.shutdown(Shutdown::Both);
        }
    });
    (format!("http://{addr}"), hits, sent)
}

/// Read one request (head and `Content-Length` body); returns its request line.
fn read_request(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut len = 0usize;
    let mut request_line = String::new();
    let _ = reader.read_line(&mut request_line);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    request_line
}

/// A whole, well-formed JSON answer with its `Content-Length` (a login before the hostile
/// part, say). Returns 0.
pub fn json_answer(stream: &mut TcpStream, status: &str, body: &str) -> usize {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    0
}

/// A JSON answer that declares `Content-Length: 1000` and sends only `start` before the
/// connection closes: a body cut off mid-way. Returns 0.
pub fn cut_short(stream: &mut TcpStream, status: &str, start: &str) -> usize {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\
         Connection: close\r\n\r\n{start}"
    );
    let _ = stream.write_all(head.as_bytes());
    0
}

/// A chunked body of up to `total` bytes of `x`; stops when the client hangs up. Returns the
/// bytes written.
pub fn chunked(stream: &mut TcpStream, status: &str, total: usize) -> usize {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).is_err() {
        return 0;
    }
    let chunk = [b'x'; 16 * 1024];
    let mut sent = 0;
    while sent < total {
        let frame = [
            format!("{:x}\r\n", chunk.len()).as_bytes(),
            &chunk[..],
            b"\r\n",
        ]
        .concat();
        if stream.write_all(&frame).is_err() {
            return sent;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    sent
}

/// Everything an error shows: its `Display`, its `Debug` and the `Display` of every source,
/// one per line, to search for a secret that must not be there.
pub fn error_texts(err: &dyn std::error::Error) -> String {
    let mut texts = vec![err.to_string(), format!("{err:?}")];
    let mut source = err.source();
    while let Some(s) = source {
        texts.push(s.to_string());
        source = s.source();
    }
    texts.join("\n")
}

/// Mount on `server` the expectation that no request at all reaches it (checked when the
/// server is dropped).
#[cfg(feature = "wiremock")]
pub async fn expect_no_request(server: &wiremock::MockServer) {
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200))
        .expect(0)
        .mount(server)
        .await;
}

/// A server (or proxy) that refuses every request and echoes it back (issue #17): the
/// closure makes the refusal (status and body) from the echo, `refused METHOD PATH [NAME:
/// VALUE; …] BODY` — every header and the body, where a client's credentials travel.
///
/// ```
/// use ops_proptest::hostile::EchoRefusal;
/// use wiremock::ResponseTemplate;
///
/// let _dyn_like = EchoRefusal(|echo: String| {
///     ResponseTemplate::new(401).set_body_json(serde_json::json!({"msgs": [{"INFO": echo}]}))
/// });
/// ```
#[cfg(feature = "wiremock")]
pub struct EchoRefusal<F>(pub F);

#[cfg(feature = "wiremock")]
impl<F> wiremock::Respond for EchoRefusal<F>
where
    F: Fn(String) -> wiremock::ResponseTemplate + Send + Sync + 'static,
{
    fn respond(&self, req: &wiremock::Request) -> wiremock::ResponseTemplate {
        let headers: Vec<String> = req
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
            .collect();
        (self.0)(format!(
            "refused {} {} [{}] {}",
            req.method,
            req.url.path(),
            headers.join("; "),
            String::from_utf8_lossy(&req.body)
        ))
    }
}

//! A raw HTTP/1.1 server that misbehaves on purpose, for the clients' `hostile_server` tests
//! (issue #16 item 6): bodies far over any sane limit, bodies cut off mid-way. One answer per
//! connection, written by hand on a thread, so nothing between the test and the socket
//! (a framework, a proxy) tidies the answer up.
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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

/// Wait (without blocking the runtime, which has to close the socket) until the server's
/// writer has finished; panics after 10 s.
pub async fn wait_for_writer(sent: &AtomicUsize) {
    for _ in 0..400 {
        if sent.load(Ordering::SeqCst) != usize::MAX {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server kept writing");
}

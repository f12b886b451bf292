//! HTTP/1.1 glue (hyper) around the fake's state machine.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::LoggedRequest;
use super::state::{Plan, Resp, State};

/// Returned by the service to make hyper close the connection without answering.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    match state.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

pub(super) async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(Arc::clone(&state), req));
            // A dropped connection or a client hang-up ends here; nothing to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let token = req
        .headers()
        .get("auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(DropConnection),
    };
    let at = std::time::Instant::now();
    let log = |state: &mut State, status: u16| {
        state.log.push(LoggedRequest {
            method: method.clone(),
            path: path.clone(),
            had_token: token.is_some(),
            status,
            at,
        });
    };

    let plan = lock(&state).plan(&method, &path, token.as_deref());
    let resp = match plan {
        Plan::Drop { delay } => {
            tokio::time::sleep(delay).await;
            log(&mut lock(&state), 0);
            return Err(DropConnection);
        }
        Plan::Answer { delay, resp } => {
            tokio::time::sleep(delay).await;
            resp
        }
        Plan::Route { delay, wrap } => {
            tokio::time::sleep(delay).await;
            let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let mut st = lock(&state);
            let resp = st.route(&method, &segs, token.as_deref(), &body);
            st.wrap(wrap, token.as_deref(), resp)
        }
    };
    log(&mut lock(&state), resp.status);
    build(resp)
}

fn build(resp: Resp) -> Result<Response<Full<Bytes>>, DropConnection> {
    let content_type = if resp.body.starts_with('<') {
        "text/html"
    } else {
        "application/json"
    };
    let mut b = Response::builder()
        .status(resp.status)
        .header("Content-Type", content_type);
    for (k, v) in resp.headers {
        b = b.header(k, v);
    }
    b.body(Full::new(Bytes::from(resp.body)))
        .map_err(|_| DropConnection)
}

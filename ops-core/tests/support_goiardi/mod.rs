//! A real Chef server for the key-sync end-to-end tests and benchmark: goiardi (Debian package
//! `goiardi`), started by `chef_client::testkit::Goiardi` exactly as chef-client's conformance
//! suite starts it (authentication on, in memory, free loopback port), plus a counting
//! HTTP proxy in front of it, so a test can count the requests (and the writes) a workflow
//! makes.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout
)]

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chef_client::{Client, Node};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;

/// A running goiardi (chef-client's testkit launcher) with the admin clients these tests use;
/// killed on drop.
pub struct Goiardi {
    inner: chef_client::testkit::Goiardi,
    /// `http://127.0.0.1:PORT` (goiardi has no organizations: its root is the server URL).
    pub url: String,
}

impl Goiardi {
    /// Starts goiardi; panics with an install hint when it is missing.
    pub fn start() -> Self {
        let inner = chef_client::testkit::Goiardi::start()
            .unwrap_or_else(|e| panic!("{e} (scripts/ci/keysync.sh installs it)"));
        let url = inner.url().to_owned();
        Goiardi { inner, url }
    }

    /// The PEM file goiardi wrote for `name` (`admin`, `chef-validator`).
    pub fn key_path(&self, name: &str) -> PathBuf {
        self.inner.key_path(name)
    }

    /// An admin client talking to `url` (goiardi itself, or a proxy in front of it).
    pub fn admin_at(&self, url: &str) -> Client {
        self.inner
            .client_builder(url, "admin", "admin")
            .build()
            .unwrap()
    }

    /// An admin client talking to goiardi directly (for set-up and checks: not counted).
    pub fn admin(&self) -> Client {
        self.admin_at(&self.url)
    }
}

/// One request that went through the [`CountingProxy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub status: u16,
}

impl Seen {
    /// A write: anything but GET/HEAD, except partial search (a POST that only reads).
    pub fn is_write(&self) -> bool {
        !(self.method == "GET"
            || self.method == "HEAD"
            || (self.method == "POST" && self.path.starts_with("/search/")))
    }
}

/// An HTTP/1 proxy on loopback that forwards every request to `upstream` and records it.
/// Chef signatures cover method, path, body and time, not the host, so signed requests pass
/// through unchanged.
pub struct CountingProxy {
    pub url: String,
    log: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CountingProxy {
    /// Starts the proxy (needs a Tokio runtime).
    pub async fn start(upstream: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let http = reqwest::Client::new();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (http, upstream, log) = (http.clone(), upstream.clone(), task_log.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let (http, upstream, log) = (http.clone(), upstream.clone(), log.clone());
                        async move { Ok::<_, Infallible>(forward(&http, &upstream, &log, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        CountingProxy { url, log, task }
    }

    /// Everything seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// Number of requests so far.
    pub fn requests(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Number of writes so far.
    pub fn writes(&self) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.is_write())
            .count()
    }

    /// Forgets what was seen.
    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
}

async fn forward(
    http: &reqwest::Client,
    upstream: &str,
    log: &Mutex<Vec<Seen>>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path_q = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).unwrap();
    let mut out = http.request(method, format!("{upstream}{path_q}"));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
            out = out.header(name.as_str(), value.as_bytes());
        }
    }
    let (status, headers, bytes) = match out.body(body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let headers: Vec<(String, Vec<u8>)> = resp
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect();
            (status, headers, resp.bytes().await.unwrap_or_default())
        }
        Err(_) => (
            502,
            Vec::new(),
            Bytes::from_static(b"proxy: upstream failed"),
        ),
    };
    log.lock().unwrap().push(Seen {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        status,
    });
    let mut resp = Response::builder().status(status);
    for (k, v) in headers {
        if k != "content-length" && k != "transfer-encoding" && k != "connection" {
            resp = resp.header(k, v);
        }
    }
    resp.body(Full::new(bytes)).unwrap()
}

/// How [`populate_nodes`] shapes node `i`.
#[derive(Debug, Clone, Copy)]
pub struct NodeShape {
    /// Every `missing_every`-th node lacks `recipe[user_setup]` (0: none lacks it).
    pub missing_every: usize,
    /// Every `via_role_every`-th node gets it through `role[base]` (its expanded recipes list
    /// it) instead of its run-list.
    pub via_role_every: usize,
    /// `ohai_time` of node `i`: `ohai(i)`; `None` leaves it unset (never converged).
    pub ohai: fn(usize) -> Option<f64>,
}

pub fn node_name(i: usize) -> String {
    format!("node-{i:05}")
}

/// Creates `n` nodes (`node-00000`…) directly on goiardi, `concurrency` at a time.
pub async fn populate_nodes(goiardi: &Goiardi, n: usize, shape: NodeShape, concurrency: usize) {
    let admin = &goiardi.admin();
    use futures_util::StreamExt;
    let futs = (0..n).map(|i| {
        let admin = admin.clone();
        async move {
            let mut node = Node::new(node_name(i));
            node.chef_environment = "_default".into();
            node.add_to_run_list("recipe[base]");
            let missing = shape.missing_every > 0 && i % shape.missing_every == 0;
            let via_role = !missing && shape.via_role_every > 0 && i % shape.via_role_every == 1;
            let mut recipes = vec!["base".to_owned()];
            if via_role {
                node.add_to_run_list("role[base]");
                recipes.push("user_setup".to_owned());
            } else if !missing {
                node.add_to_run_list("recipe[user_setup]");
                recipes.push("user_setup".to_owned());
            }
            node.automatic.insert("recipes".into(), json!(recipes));
            node.automatic.insert(
                "ipaddress".into(),
                json!(format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256)),
            );
            if let Some(t) = (shape.ohai)(i) {
                node.automatic.insert("ohai_time".into(), json!(t));
            }
            admin.nodes().create(&node).await.unwrap();
        }
    });
    futures_util::stream::iter(futs)
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<()>>()
        .await;
    goiardi
        .inner
        .wait_indexed(admin, "node", "*:*", n)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Sets node `name`'s `ohai_time` (a converge, as far as the audit can tell).
pub async fn check_in(admin: &Client, name: &str, at: f64) {
    let mut node = admin.nodes().get(name).await.unwrap();
    node.automatic.insert("ohai_time".into(), json!(at));
    admin.nodes().update(&node).await.unwrap();
}

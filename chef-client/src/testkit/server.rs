//! HTTP plumbing of the fake: authentication, fault injection, the request log, and the
//! search query language.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Fault, ORG, RecordedRequest, Shared, lock};
use crate::auth;

const MAX_BODY: usize = 1_000_000;
const SKEW: Duration = Duration::from_secs(15 * 60);

pub(crate) fn router(shared: Arc<Shared>, addr: SocketAddr) -> Router {
    Router::new().fallback(move |req: Request| {
        let shared = Arc::clone(&shared);
        async move { handle(&shared, addr, req).await }
    })
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn text_response(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

fn take_fault(shared: &Shared, path: &str) -> Option<Fault> {
    let mut faults = lock(&shared.faults);
    let pos = faults
        .iter()
        .position(|f| f.path_contains.as_deref().is_none_or(|p| path.contains(p)))?;
    let inj = faults.get_mut(pos)?;
    let fault = inj.fault.clone();
    inj.remaining = inj.remaining.saturating_sub(1);
    if inj.remaining == 0 {
        faults.remove(pos);
    }
    Some(fault)
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(shared: &Shared, addr: SocketAddr, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let query_str = parts.uri.query().map(str::to_owned);
    let mut record = RecordedRequest {
        method: method.as_str().to_owned(),
        path: path.clone(),
        query: query_str.clone(),
        user: None,
        version: None,
        status: 0,
    };
    let resp = respond(shared, addr, &parts, body, &mut record).await;
    record.status = resp.status().as_u16();
    lock(&shared.log).push(record);
    resp
}

async fn respond(
    shared: &Shared,
    addr: SocketAddr,
    parts: &axum::http::request::Parts,
    body: Body,
    record: &mut RecordedRequest,
) -> Response {
    let path = parts.uri.path();
    match take_fault(shared, path) {
        Some(Fault::Latency(d)) => tokio::time::sleep(d).await,
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = json_response(status, &json!({"error": [format!("injected {status}")]}));
            if let Some(s) = retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(s));
            }
            return resp;
        }
        Some(Fault::Text { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return text_response(status, body);
        }
        Some(Fault::DropConnection) => {
            let stream = futures_util::stream::iter([
                Ok(Bytes::from_static(b"{\"rows\":")),
                Err(std::io::Error::other(
                    "connection dropped by fault injection",
                )),
            ]);
            let mut resp = Response::new(Body::from_stream(stream));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            return resp;
        }
        None => {}
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY * 2).await else {
        return text_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Content-length too long!".into(),
        );
    };
    if bytes.len() > MAX_BODY {
        return text_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Content-length too long!".into(),
        );
    }

    // Authentication, as a Chef server does it.
    let user = parts
        .headers
        .get("x-ops-userid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let unauthorized =
        |msg: String| json_response(StatusCode::UNAUTHORIZED, &json!({"error": [msg]}));
    let Some((public_key, admin)) = lock(&shared.state).public_key(&user) else {
        return unauthorized(format!(
            "Failed to authenticate as '{user}'. Ensure that your node_name and client key are correct."
        ));
    };
    let verified = match auth::verify(
        &public_key,
        parts.method.as_str(),
        path,
        &bytes,
        &parts.headers,
    ) {
        Ok(v) => v,
        Err(auth::VerifyError::UnsupportedVersion(v)) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": [format!("Unsupported X-Ops-Sign {v}")]}),
            );
        }
        Err(e) => {
            return unauthorized(format!(
                "Failed to authenticate as '{user}': {e}. Ensure that your node_name and client key are correct."
            ));
        }
    };
    let fresh = auth::parse_timestamp(&verified.timestamp).is_some_and(|t| {
        let now = SystemTime::now();
        let diff = now.duration_since(t).or_else(|_| t.duration_since(now));
        diff.is_ok_and(|d| d <= SKEW)
    });
    if !fresh {
        return unauthorized("Authentication failed. Please check your system's clock.".into());
    }
    record.user = Some(verified.user_id.clone());
    record.version = Some(verified.version);

    // Routing: `/organizations/ORG/...` or the root.
    let mut segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    if segments.first().map(String::as_str) == Some("organizations") {
        if segments.get(1).map(String::as_str) != Some(ORG) {
            return json_response(
                StatusCode::NOT_FOUND,
                &json!({"error": ["organization not found"]}),
            );
        }
        segments.drain(..2);
    }
    let query: BTreeMap<String, String> = query_pairs(parts.uri.query().unwrap_or_default());
    let base = format!("http://{addr}/organizations/{ORG}");
    let (status, value) =
        lock(&shared.state).handle(&parts.method, &segments, &query, &bytes, &base, admin);
    if parts.method == Method::HEAD {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = status;
        return resp;
    }
    json_response(status, &value)
}

fn query_pairs(q: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A parsed search query: OR of ANDs of (possibly negated) terms.
#[derive(Debug)]
pub(crate) struct Query {
    any_of: Vec<Vec<Term>>,
}

#[derive(Debug)]
struct Term {
    negated: bool,
    field: String,
    pattern: String,
}

impl Query {
    pub(crate) fn parse(q: &str) -> Result<Self, String> {
        let mut any_of = vec![Vec::new()];
        let mut negate = false;
        let mut expect_term = true;
        for tok in q.split_whitespace() {
            match tok {
                "AND" | "&&" if !expect_term => expect_term = true,
                "OR" | "||" if !expect_term => {
                    any_of.push(Vec::new());
                    expect_term = true;
                }
                "NOT" | "!" if expect_term => negate = !negate,
                _ => {
                    // Juxtaposition (no operator) means AND, Solr's default in Chef.
                    if tok.contains(['(', ')', '[', ']', '{', '}', '"']) {
                        return Err(format!("unsupported syntax in {tok:?}"));
                    }
                    let (field, pattern) = tok
                        .split_once(':')
                        .filter(|(f, p)| !f.is_empty() && !p.is_empty())
                        .ok_or_else(|| format!("expected field:value, got {tok:?}"))?;
                    let (negated, field) = match field.strip_prefix('-') {
                        Some(f) => (!negate, f),
                        None => (negate, field),
                    };
                    if let Some(group) = any_of.last_mut() {
                        group.push(Term {
                            negated,
                            field: field.to_owned(),
                            pattern: pattern.replace('\\', ""),
                        });
                    }
                    negate = false;
                    expect_term = false;
                }
            }
        }
        if expect_term || any_of.iter().any(Vec::is_empty) {
            return Err("incomplete query".into());
        }
        Ok(Self { any_of })
    }

    pub(crate) fn matches(&self, fields: &[(String, String)]) -> bool {
        self.any_of.iter().any(|all| {
            all.iter().all(|t| {
                let hit = fields.iter().any(|(f, v)| {
                    glob(&t.field, f) && glob(&t.pattern.to_lowercase(), &v.to_lowercase())
                });
                let hit = hit || (t.field == "*" && t.pattern == "*");
                hit != t.negated
            })
        })
    }
}

/// `*` and `?` wildcards.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The searchable (field, value) pairs of an object.
pub(crate) fn fields(index: &str, obj: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if index == "node" {
        for key in ["name", "chef_environment", "policy_name", "policy_group"] {
            if let Some(v) = obj.get(key).and_then(Value::as_str) {
                out.push((key.to_owned(), v.to_owned()));
            }
        }
        for item in obj["run_list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            out.push(("run_list".into(), item.to_owned()));
            if let Some(r) = item.strip_prefix("role[").and_then(|r| r.strip_suffix(']')) {
                out.push(("role".into(), r.to_owned()));
                out.push(("roles".into(), r.to_owned()));
            }
            if let Some(r) = item
                .strip_prefix("recipe[")
                .and_then(|r| r.strip_suffix(']'))
            {
                out.push(("recipe".into(), r.to_owned()));
                out.push(("recipes".into(), r.to_owned()));
            }
        }
        for level in ["default", "normal", "override", "automatic"] {
            if let Some(v) = obj.get(level) {
                flatten(v, &mut Vec::new(), &mut out);
            }
        }
    } else {
        flatten(obj, &mut Vec::new(), &mut out);
    }
    out
}

fn flatten(v: &Value, path: &mut Vec<String>, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                path.push(k.clone());
                flatten(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for item in items {
                flatten(item, path, out);
            }
        }
        Value::Null => {}
        scalar => {
            let text = match scalar {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if let Some(leaf) = path.last() {
                out.push((leaf.clone(), text.clone()));
            }
            if path.len() > 1 {
                out.push((path.join("_"), text));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globbing() {
        assert!(glob("web*", "web01"));
        assert!(glob("*", ""));
        assert!(glob("w?b*1", "web01"));
        assert!(!glob("web*", "db01"));
        assert!(glob("*.example.com", "a.b.example.com"));
    }

    #[test]
    fn queries() {
        let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        let web = f(&[
            ("name", "web1"),
            ("role", "web"),
            ("chef_environment", "prod"),
        ]);
        let db = f(&[
            ("name", "db1"),
            ("role", "db"),
            ("chef_environment", "prod"),
        ]);
        let q = Query::parse("role:web AND chef_environment:prod").unwrap();
        assert!(q.matches(&web) && !q.matches(&db));
        let q = Query::parse("role:db OR name:web*").unwrap();
        assert!(q.matches(&web) && q.matches(&db));
        let q = Query::parse("chef_environment:prod AND NOT role:db").unwrap();
        assert!(q.matches(&web) && !q.matches(&db));
        let q = Query::parse("*:*").unwrap();
        assert!(q.matches(&web) && q.matches(&[]));
        assert!(Query::parse("name:(").is_err());
        assert!(Query::parse("web").is_err());
        assert!(Query::parse("name:a AND").is_err());
        assert_eq!(percent_decode("a%20b%zz%"), "a b%zz%");
        let obj = json!({"name": "n", "run_list": ["role[web]"], "automatic": {"kernel": {"release": "6.1"}, "ipaddress": "10.0.0.1"}});
        let fs = fields("node", &obj);
        assert!(fs.contains(&("kernel_release".into(), "6.1".into())));
        assert!(fs.contains(&("ipaddress".into(), "10.0.0.1".into())));
        assert!(fs.contains(&("role".into(), "web".into())));
    }
}

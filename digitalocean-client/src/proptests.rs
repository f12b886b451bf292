//! Issue #15: every decoder of DigitalOcean answers returns `Ok` or a typed error, whatever
//! the bytes, and what reads a decoded value (addresses, pagination links and totals, error
//! predicates, the `RateLimit-*`/`Retry-After` headers) never panics. Inputs: arbitrary
//! bytes and JSON with the API's field names, and byte and JSON mutations of the official
//! spec's examples (`shared/reference/digitalocean/fixtures/`), this crate's fixtures and the
//! bodies its testkit fake serves. `PROPTEST_CASES` raises the case count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Client, RateLimit, decode, error_from_response, rate_limit_reset_wait};
use crate::pagination::{DEFAULT_MAX_PAGES, decode_page, page_limit};
use crate::{
    AccountInfo, Action, CreatedDroplet, CreatedDroplets, Domain, DomainRecord, Droplet, Error,
    Image, Region, Size, SshKey, Tag,
};

const SPEC_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/reference/digitalocean/fixtures"
);
const OWN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn read_dir_json(dir: &str) -> Vec<Vec<u8>> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".json") && n != "INDEX.json" && !n.contains(".request.")
        })
        .collect();
    names.sort();
    names.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// What the testkit fake answers to every GET it serves, after a droplet, a key, a tag, a
/// domain and a record were created through the client.
fn testkit_bodies() -> Vec<Vec<u8>> {
    use crate::testkit::FakeDigitalOcean;
    use crate::{CreateDomain, CreateDroplet, CreateSshKey, DomainRecordRequest, DropletSpec};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let fake = FakeDigitalOcean::start().await.unwrap();
        let c = fake.client().unwrap();
        let spec = DropletSpec::new("nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64");
        let created = c
            .droplets()
            .create(&CreateDroplet::new("web-1", spec))
            .await
            .unwrap();
        let id = created.droplet.id;
        let key = CreateSshKey {
            name: "ops".into(),
            public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops@bastion".into(),
        };
        let key = c.ssh_keys().create(&key).await.unwrap();
        c.tags().create("web").await.unwrap();
        c.domains()
            .create(&CreateDomain {
                name: "example.com".into(),
                ip_address: None,
            })
            .await
            .unwrap();
        let rec = c
            .domain_records("example.com")
            .create(&DomainRecordRequest::new("A", "www", "192.0.2.1"))
            .await
            .unwrap();
        let mut out = Vec::new();
        for path in [
            "v2/account".to_owned(),
            "v2/regions".to_owned(),
            "v2/sizes".to_owned(),
            "v2/images".to_owned(),
            "v2/images/1001".to_owned(),
            "v2/droplets?per_page=1".to_owned(),
            format!("v2/droplets/{id}"),
            "v2/account/keys".to_owned(),
            format!("v2/account/keys/{}", key.id.unwrap()),
            "v2/tags".to_owned(),
            "v2/tags/web".to_owned(),
            "v2/domains".to_owned(),
            "v2/domains/example.com".to_owned(),
            "v2/domains/example.com/records".to_owned(),
            format!("v2/domains/example.com/records/{}", rec.id.unwrap()),
            "v2/droplets/999999".to_owned(),
        ] {
            let url = c.base_url.join(&path).unwrap();
            match c.execute(Method::GET, url, None).await {
                Ok(raw) => out.push(raw.body),
                Err(Error::Api { body, .. }) => {
                    out.push(serde_json::to_vec(&serde_json::json!({
                        "id": body.id, "message": body.message
                    })).unwrap());
                }
                Err(e) => panic!("{path}: {e}"),
            }
        }
        out
    })
}

fn corpus() -> &'static [Vec<u8>] {
    static C: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    C.get_or_init(|| {
        let mut out = read_dir_json(SPEC_FIXTURES);
        out.extend(read_dir_json(OWN));
        out.extend(testkit_bodies());
        assert!(out.len() > 100, "only {} bodies", out.len());
        out
    })
}

fn corpus_json() -> Vec<Value> {
    corpus()
        .iter()
        .filter_map(|b| serde_json::from_slice(b).ok())
        .collect()
}

const FIELDS: &[&str] = &[
    "droplet",
    "droplets",
    "action",
    "actions",
    "ssh_key",
    "ssh_keys",
    "tag",
    "tags",
    "domain",
    "domains",
    "domain_record",
    "domain_records",
    "image",
    "images",
    "size",
    "sizes",
    "region",
    "regions",
    "account",
    "links",
    "pages",
    "next",
    "last",
    "meta",
    "total",
    "id",
    "name",
    "status",
    "networks",
    "v4",
    "v6",
    "ip_address",
    "type",
    "netmask",
    "gateway",
    "memory",
    "vcpus",
    "disk",
    "created_at",
    "completed_at",
    "started_at",
    "resource_id",
    "message",
    "request_id",
    "error",
    "fingerprint",
    "public_key",
    "ttl",
    "priority",
    "port",
    "weight",
    "data",
    "resources",
    "count",
    "volume_snapshots",
    "slug",
    "href",
    "rel",
];

/// A client whose base URL the links resolve against; it never sends anything here.
fn client() -> &'static Client {
    static C: OnceLock<Client> = OnceLock::new();
    C.get_or_init(|| {
        Client::builder("dop_v1_test")
            .base_url("http://127.0.0.1:9/")
            .build()
            .unwrap()
    })
}

fn touch_error(e: &Error) {
    let _ = (e.to_string(), format!("{e:?}"));
    let _ = (e.status(), e.request_id(), e.retry_after());
    let _ = (e.is_not_found(), e.is_rate_limited(), e.is_unauthorized());
    let _ = (e.is_unprocessable(), e.is_server_error(), e.is_timeout());
    let _ = e.is_client_side();
    for m in [Method::GET, Method::POST, Method::DELETE] {
        let _ = crate::retry::should_retry(e, &m);
    }
}

fn touch_droplet(d: &Droplet) {
    let _ = (d.public_ipv4(), d.private_ipv4(), d.public_ipv6());
}

/// One-object answers: `{"<key>": {...}}`, as each resource's private envelope decodes it.
fn one<T: DeserializeOwned>(body: &[u8], key: &str) -> Option<T> {
    #[derive(Deserialize)]
    struct Any(serde_json::Map<String, Value>);
    let Any(mut m) = decode(body, "one").ok()?;
    serde_json::from_value(m.remove(key)?).ok()
}

fn page<T: DeserializeOwned>(body: &[u8], key: &'static str, per_page: u32) -> Option<Vec<T>> {
    match decode_page::<T>(body, key, key) {
        Ok(p) => {
            // What the pager does with a page: the next link, the page limit from the total.
            if let Some(href) = &p.next {
                let _ = client().resolve_link(href);
            }
            let total = p.meta_total.flatten();
            let size = Some(p.items.len() as u64);
            let limit = page_limit(DEFAULT_MAX_PAGES, per_page, total, size);
            assert!((1..=DEFAULT_MAX_PAGES).contains(&limit), "{limit}");
            Some(p.items)
        }
        Err(e) => {
            touch_error(&e);
            None
        }
    }
}

/// Every decode path of the client over one body.
fn decode_all(body: &[u8]) {
    if let Err(e) = decode::<Value>(body, "any") {
        touch_error(&e);
    }
    for d in [one::<Droplet>(body, "droplet")].into_iter().flatten() {
        touch_droplet(&d);
    }
    for d in page::<Droplet>(body, "droplets", 200).into_iter().flatten() {
        touch_droplet(&d);
    }
    if let Ok(c) = decode::<CreatedDroplet>(body, "create") {
        touch_droplet(&c.droplet);
    }
    if let Ok(c) = decode::<CreatedDroplets>(body, "create") {
        c.droplets.iter().for_each(touch_droplet);
    }
    let _ = one::<Action>(body, "action");
    let _ = page::<Action>(body, "actions", 1);
    let _ = one::<SshKey>(body, "ssh_key");
    let _ = page::<SshKey>(body, "ssh_keys", 20);
    let _ = one::<Tag>(body, "tag");
    let _ = page::<Tag>(body, "tags", 200);
    let _ = one::<Domain>(body, "domain");
    let _ = page::<Domain>(body, "domains", 200);
    let _ = one::<DomainRecord>(body, "domain_record");
    let _ = page::<DomainRecord>(body, "domain_records", 200);
    let _ = one::<Image>(body, "image");
    let _ = page::<Image>(body, "images", 200);
    let _ = page::<Size>(body, "sizes", 200);
    let _ = page::<Region>(body, "regions", 200);
    let _ = one::<AccountInfo>(body, "account");
    for status in [400, 404, 422, 429, 500, 503] {
        let e = error_from_response(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body,
        );
        touch_error(&e);
    }
}

/// Header values a server may send: numbers at every limit, dates, junk.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        proptest::sample::select(vec![
            "0",
            "-1",
            "-5",
            "1e20",
            "253402300800",
            "253402300799",
            "18446744073709551615",
            "18446744073709551616",
            " 7 ",
            "",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,40}",
    ]
}

fn headers(pairs: &[(&'static str, Option<String>)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, v) in pairs {
        if let Some(v) = v {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.insert(HeaderName::from_static(name), v);
            }
        }
    }
    h
}

#[test]
fn every_recorded_body_goes_through_every_decoder() {
    for b in corpus() {
        decode_all(b);
    }
}

proptest! {
    #![proptest_config(ops_proptest::config())]

    #[test]
    fn proptest_arbitrary_bytes_decode_or_fail_typed(b in ops_proptest::bytes_arbitrary()) {
        decode_all(&b);
    }

    #[test]
    fn proptest_mutated_recorded_bytes_decode_or_fail_typed(
        b in ops_proptest::bytes_mutated(corpus().to_vec())
    ) {
        decode_all(&b);
    }

    #[test]
    fn proptest_mutated_recorded_json_decodes_or_fails_typed(
        b in ops_proptest::json_mutated_bytes(corpus_json())
    ) {
        decode_all(&b);
    }

    #[test]
    fn proptest_arbitrary_api_shaped_json_decodes_or_fails_typed(
        v in ops_proptest::json_arbitrary(FIELDS)
    ) {
        decode_all(&serde_json::to_vec(&v).unwrap());
    }

    /// `RateLimit-*`, `Retry-After`, `Date` and `x-request-id` as any server may send them.
    #[test]
    fn proptest_rate_limit_and_retry_headers_never_panic(
        limit in proptest::option::of(header_value()),
        remaining in proptest::option::of(prop_oneof![Just("0".to_owned()), header_value()]),
        reset in proptest::option::of(header_value()),
        retry_after in proptest::option::of(header_value()),
        date in proptest::option::of(header_value()),
        request_id in proptest::option::of("[ -~]{0,40}"),
        status in 100u16..600,
    ) {
        let h = headers(&[
            ("ratelimit-limit", limit),
            ("ratelimit-remaining", remaining),
            ("ratelimit-reset", reset),
            ("retry-after", retry_after),
            ("date", date),
            ("x-request-id", request_id),
        ]);
        if let Some(rl) = RateLimit::from_headers(&h) {
            let _ = rl.reset_at();
        }
        let _ = rate_limit_reset_wait(&h);
        let status = StatusCode::from_u16(status).unwrap();
        touch_error(&error_from_response(status, &h, br#"{"id":"too_many_requests","message":"slow down"}"#));
        touch_error(&error_from_response(status, &h, b"<html>502</html>"));
    }
}

//! The client's whole surface against the stateful fake (feature `testkit`).

use std::time::{Duration, Instant};

use dynect_client::testkit::{FakeDyn, Fault, FaultRule};
use dynect_client::{Error, RecordData, RecordType};

const ZONE: &str = "example.test";

#[allow(clippy::unwrap_used)]
async fn fake() -> (FakeDyn, dynect_client::Client) {
    let fake = FakeDyn::start().await.unwrap();
    fake.add_zone(ZONE);
    let client = fake.client().unwrap();
    (fake, client)
}

#[tokio::test]
async fn full_surface_roundtrip() {
    let (fake, client) = fake().await;
    let info = client.login().await.unwrap();
    assert_eq!(info.version.as_deref(), Some("3.7.9"));
    client.keep_alive().await.unwrap();
    assert!(client.verify_session().await.unwrap());

    let r = client.records();
    let www = "www.example.test";
    let created = r
        .create(ZONE, www, &RecordData::a("192.0.2.1").unwrap(), 0)
        .await
        .unwrap();
    assert_eq!(created.record_id, None, "unpublished records have no id");
    r.create(ZONE, www, &RecordData::aaaa("2001:db8::1").unwrap(), 300)
        .await
        .unwrap();
    r.create(
        ZONE,
        "alias.example.test",
        &RecordData::Cname {
            cname: "www.example.test.".into(),
        },
        300,
    )
    .await
    .unwrap();
    r.create(
        ZONE,
        ZONE,
        &RecordData::Txt {
            txtdata: "v=spf1 -all".into(),
        },
        300,
    )
    .await
    .unwrap();
    r.create(
        ZONE,
        ZONE,
        &RecordData::Mx {
            preference: 10,
            exchange: "mx.example.test.".into(),
        },
        300,
    )
    .await
    .unwrap();
    r.create(
        ZONE,
        "_sip._tcp.example.test",
        &RecordData::Srv {
            priority: 1,
            weight: 2,
            port: 5060,
            target: "sip.example.test.".into(),
        },
        300,
    )
    .await
    .unwrap();

    let changes = client.zones().changes(ZONE).await.unwrap();
    assert_eq!(changes.len(), 6);
    assert_eq!(changes[0].data(), Some(RecordData::a("192.0.2.1").unwrap()));
    assert_eq!(client.pending_zones(), [ZONE]);
    assert!(fake.records(ZONE).is_empty(), "nothing published yet");

    let serial_before = fake.serial(ZONE).unwrap();
    fake.set_publish_task_polls(2);
    let published = client.zones().publish(ZONE, Some("initial")).await.unwrap();
    assert_eq!(published.serial, Some(serial_before + 1));
    assert!(client.pending_zones().is_empty());
    assert_eq!(fake.records(ZONE).len(), 6);
    assert_eq!(
        client.zones().get(ZONE).await.unwrap().serial,
        published.serial
    );
    assert_eq!(client.zones().list().await.unwrap(), [ZONE]);

    let ids = r.list(RecordType::A, ZONE, www).await.unwrap();
    assert_eq!(ids.len(), 1);
    let a = r
        .get(RecordType::A, ZONE, www, ids[0].record_id)
        .await
        .unwrap();
    assert_eq!(a.ttl, Some(0));
    assert_eq!(a.record_id, Some(ids[0].record_id));
    assert_eq!(r.list_zone(ZONE).await.unwrap().len(), 6);
    assert_eq!(r.list_under(ZONE, www).await.unwrap().len(), 2);
    assert_eq!(
        r.list_detailed(RecordType::Aaaa, ZONE, www)
            .await
            .unwrap()
            .len(),
        1
    );

    r.update(
        ZONE,
        www,
        a.record_id.unwrap(),
        &RecordData::a("192.0.2.2").unwrap(),
        60,
    )
    .await
    .unwrap();
    r.delete(
        RecordType::Txt,
        ZONE,
        ZONE,
        r.list(RecordType::Txt, ZONE, ZONE).await.unwrap()[0].record_id,
    )
    .await
    .unwrap();
    client.zones().publish(ZONE, None).await.unwrap();
    let a = r
        .get(RecordType::A, ZONE, www, a.record_id.unwrap())
        .await
        .unwrap();
    assert_eq!(a.data, RecordData::a("192.0.2.2").unwrap());
    assert_eq!(a.ttl, Some(60));
    assert_eq!(fake.records(ZONE).len(), 5);

    // Discard.
    r.create(
        ZONE,
        "tmp.example.test",
        &RecordData::a("192.0.2.9").unwrap(),
        0,
    )
    .await
    .unwrap();
    client.zones().discard_changes(ZONE).await.unwrap();
    assert_eq!(fake.pending_changes(), 0);
    assert!(client.zones().changes(ZONE).await.unwrap().is_empty());

    // Not found.
    let err = r.list_under(ZONE, "nope.example.test").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.messages().len(), 2);
    assert!(
        client
            .zones()
            .get("missing.test")
            .await
            .unwrap_err()
            .is_not_found()
    );

    client.logout().await.unwrap();
    assert_eq!(fake.active_sessions(), 0);
    let log = fake.requests();
    assert!(
        log.iter()
            .all(|l| l.path != "/REST/Session" || l.method != "POST" || !l.had_token)
    );
    assert!(
        log.iter()
            .filter(|l| l.path.starts_with("/REST/Task/"))
            .count()
            >= 3
    );
}

#[tokio::test]
async fn jobs_redirect_and_incomplete() {
    let (fake, client) = fake().await;
    fake.inject(FaultRule::new(Fault::Job { polls: 2 }).method("POST"));
    fake.inject(FaultRule::new(Fault::Incomplete { polls: 1 }).path_prefix("/REST/Zone/"));
    client
        .records()
        .create(
            ZONE,
            "www.example.test",
            &RecordData::a("192.0.2.1").unwrap(),
            0,
        )
        .await
        .unwrap();
    client.zones().publish(ZONE, None).await.unwrap();
    assert_eq!(fake.records(ZONE).len(), 1);
    let log = fake.requests();
    let job_polls: Vec<_> = log
        .iter()
        .filter(|l| l.path.starts_with("/REST/Job/"))
        .collect();
    assert_eq!(
        job_polls.len(),
        3 + 2,
        "2+1 incomplete polls and 2 final answers"
    );
    assert!(
        job_polls.iter().all(|l| l.had_token),
        "job polls carry the token"
    );
    assert_eq!(log.iter().filter(|l| l.status == 307).count(), 1);
}

#[tokio::test]
async fn session_expiry_is_renewed_or_reported() {
    let (fake, client) = fake().await;
    client.zones().get(ZONE).await.unwrap();
    fake.expire_all_sessions();
    // No pending changes: renewed transparently.
    client.zones().get(ZONE).await.unwrap();
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|l| l.path == "/REST/Session")
            .count(),
        2
    );

    // Pending changes, then the session ends (inactivity): typed error, fake lost them too.
    client
        .records()
        .create(
            ZONE,
            "www.example.test",
            &RecordData::a("192.0.2.1").unwrap(),
            0,
        )
        .await
        .unwrap();
    fake.inject(FaultRule::new(Fault::ExpireSession).path_prefix("/REST/Zone/"));
    let err = client.zones().publish(ZONE, None).await.unwrap_err();
    assert!(
        matches!(&err, Error::SessionExpiredWithPendingChanges { zones, .. } if zones == &[ZONE]),
        "{err:?}"
    );
    assert_eq!(fake.pending_changes(), 0);
    // Redo and publish in the new session.
    client
        .records()
        .create(
            ZONE,
            "www.example.test",
            &RecordData::a("192.0.2.1").unwrap(),
            0,
        )
        .await
        .unwrap();
    client.zones().publish(ZONE, None).await.unwrap();
    assert_eq!(fake.records(ZONE).len(), 1);
}

#[tokio::test]
async fn faults_rate_limit_5xx_blocked_drop_latency() {
    let (fake, client) = fake().await;
    client.login().await.unwrap();

    fake.inject(
        FaultRule::new(Fault::RateLimited {
            retry_after: Some(0),
        })
        .times(2),
    );
    client.zones().get(ZONE).await.unwrap();

    fake.inject(FaultRule::new(Fault::ServerError(503)).method("GET"));
    client.zones().get(ZONE).await.unwrap();

    fake.inject(FaultRule::new(Fault::ServerError(503)).method("POST"));
    let err = client
        .records()
        .create(
            ZONE,
            "www.example.test",
            &RecordData::a("192.0.2.1").unwrap(),
            0,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnexpectedStatus { .. }), "{err:?}");

    fake.inject(
        FaultRule::new(Fault::Blocked)
            .times(2)
            .path_prefix("/REST/Zone/"),
    );
    client.zones().publish(ZONE, None).await.unwrap();

    fake.inject(
        FaultRule::new(Fault::Blocked)
            .times(5)
            .path_prefix("/REST/Zone/"),
    );
    let err = client.zones().publish(ZONE, None).await.unwrap_err();
    assert!(err.is_blocked() && err.blocked_task_id().is_some());

    fake.inject(FaultRule::new(Fault::DropConnection).method("POST"));
    let err = client
        .records()
        .create(
            ZONE,
            "www.example.test",
            &RecordData::a("192.0.2.1").unwrap(),
            0,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(fake.requests().last().map(|l| l.status), Some(0));

    fake.inject(FaultRule::new(Fault::Latency(Duration::from_millis(150))));
    let t = Instant::now();
    client.zones().get(ZONE).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(150));

    fake.inject(FaultRule::new(Fault::RateLimited {
        retry_after: Some(3600),
    }));
    let err = client.zones().get(ZONE).await.unwrap_err();
    assert!(err.is_rate_limited());
}

#[tokio::test]
async fn account_rate_limit_and_client_limiter() {
    let fake = FakeDyn::start().await.unwrap();
    fake.add_zone(ZONE);
    fake.set_rate_limit_per_minute(Some(3));
    let client = fake.client().unwrap();
    client.login().await.unwrap();
    client.zones().get(ZONE).await.unwrap();
    client.zones().get(ZONE).await.unwrap();
    let err = client.zones().get(ZONE).await.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    // Any window (the provision bench scales time with a short one): Retry-After says it.
    fake.set_rate_limit(Some((1, Duration::from_secs(3600))));
    client.zones().get(ZONE).await.unwrap();
    let err = client.zones().get(ZONE).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(fake.requests().windows(2).all(|w| w[0].at <= w[1].at));

    // With the client-side limiter at 600/min, 4 calls take at least 300 ms.
    let fake = FakeDyn::start().await.unwrap();
    fake.add_zone(ZONE);
    let client = fake
        .client_builder()
        .rate_limit_per_minute(600)
        .build()
        .unwrap();
    let t = Instant::now();
    client.login().await.unwrap();
    for _ in 0..3 {
        client.zones().get(ZONE).await.unwrap();
    }
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn bad_credentials_and_server_side_validation() {
    let fake = FakeDyn::start().await.unwrap();
    fake.add_zone(ZONE);
    let client = dynect_client::Client::builder("testkit", "tester", "wrong".to_string())
        .base_url(fake.uri())
        .build()
        .unwrap();
    let err = client.login().await.unwrap_err();
    assert!(matches!(err, Error::Login { .. }), "{err:?}");
    assert_eq!(fake.requests().len(), 1, "a failed login is not retried");

    fake.add_account("other", "ops", "pw2");
    let other = dynect_client::Client::builder("other", "ops", "pw2".to_string())
        .base_url(fake.uri())
        .build()
        .unwrap();
    other.login().await.unwrap();
}

/// Many fakes in parallel, each isolated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_fakes_are_isolated() {
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..8 {
        handles.push(tokio::spawn(async move {
            let fake = FakeDyn::start().await.unwrap();
            fake.add_zone(ZONE);
            let client = fake.client().unwrap();
            let fqdn = format!("host{i}.example.test");
            client
                .records()
                .create(ZONE, &fqdn, &RecordData::a("192.0.2.1").unwrap(), 0)
                .await
                .unwrap();
            client.zones().publish(ZONE, None).await.unwrap();
            let recs = fake.records(ZONE);
            assert_eq!(recs.len(), 1);
            assert_eq!(recs[0].fqdn, fqdn);
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    // How fast is for benchmarks; here only that they all worked side by side.
    eprintln!("fakes side by side took {:?}", started.elapsed());
}

/// The fake answers with the same envelope shapes as the recorded exchanges the wiremock
/// tests replay, and accepts the recorded request bodies byte for byte.
#[tokio::test]
async fn fake_matches_recorded_wire_format() {
    use serde_json::Value;

    fn shape(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
            }
            Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
            Value::String(_) => "string".into(),
            Value::Number(_) => "number".into(),
            Value::Bool(_) => "bool".into(),
            Value::Null => "null".into(),
        }
    }
    fn fixture(name: &str) -> Value {
        let p = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    let fake = FakeDyn::start().await.unwrap();
    fake.add_zone("go-dynect.test");
    fake.add_account("go-dynect", "dynect-user", "p@55w0rd");
    let http = reqwest::Client::new();
    let base = fake.uri();
    let call =
        |method: reqwest::Method, path: &str, token: Option<&str>, body: Option<&'static str>| {
            let mut req = http
                .request(method, format!("{base}{path}"))
                .header("Content-Type", "application/json");
            if let Some(t) = token {
                req = req.header("Auth-Token", t);
            }
            if let Some(b) = body {
                req = req.body(b);
            }
            async move {
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.unwrap())
            }
        };
    use reqwest::Method;

    let (st, login) = call(
        Method::POST,
        "REST/Session",
        None,
        Some(r#"{"user_name":"dynect-user","password":"p@55w0rd","customer_name":"go-dynect"}"#),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(shape(&login), shape(&fixture("session_login.json")));
    assert_eq!(login["msgs"], fixture("session_login.json")["msgs"]);
    let token = login["data"]["token"].as_str().unwrap().to_owned();
    let t = Some(token.as_str());

    let (st, mx) = call(
        Method::POST,
        "REST/MXRecord/go-dynect.test/go-dynect.test",
        t,
        Some(r#"{"rdata":{"exchange":"mx.example.com.","preference":123},"ttl":"12345"}"#),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(shape(&mx), shape(&fixture("mxrecord_create.json")));
    assert_eq!(mx["data"], fixture("mxrecord_create.json")["data"]);
    assert_eq!(mx["msgs"], fixture("mxrecord_create.json")["msgs"]);

    let (st, _) = call(
        Method::POST,
        "REST/ARecord/go-dynect.test/foobar.go-dynect.test",
        t,
        Some(r#"{"rdata":{"address":"10.9.8.7"},"ttl":"3600"}"#),
    )
    .await;
    assert_eq!(st, 200);

    let (st, publish) = call(
        Method::PUT,
        "REST/Zone/go-dynect.test",
        t,
        Some(r#"{"publish":true}"#),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(shape(&publish), shape(&fixture("zone_publish.json")));
    assert_eq!(publish["msgs"], fixture("zone_publish.json")["msgs"]);

    let (st, tree) = call(
        Method::GET,
        "REST/AllRecord/go-dynect.test/foobar.go-dynect.test",
        t,
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(shape(&tree), shape(&fixture("allrecord_node.json")));
    assert_eq!(tree["msgs"], fixture("allrecord_node.json")["msgs"]);
    let uri = tree["data"][0].as_str().unwrap().to_owned();
    assert!(uri.starts_with("/REST/ARecord/go-dynect.test/foobar.go-dynect.test/"));

    let (st, rec) = call(Method::GET, &uri[1..], t, None).await;
    assert_eq!(st, 200);
    assert_eq!(shape(&rec), shape(&fixture("arecord_get.json")));
    let mut expected = fixture("arecord_get.json")["data"].clone();
    expected["record_id"] = rec["data"]["record_id"].clone();
    assert_eq!(rec["data"], expected);

    let (st, missing) = call(
        Method::GET,
        "REST/AllRecord/go-dynect.test/unknown.go-dynect.test",
        t,
        None,
    )
    .await;
    assert_eq!(st, 404);
    assert_eq!(shape(&missing), shape(&fixture("allrecord_not_found.json")));
    assert_eq!(missing["msgs"], fixture("allrecord_not_found.json")["msgs"]);

    let (st, bad) = call(
        Method::GET,
        "REST/Zone/go-dynect.test",
        Some("not-a-token"),
        None,
    )
    .await;
    assert_eq!(st, 400);
    assert_eq!(bad["msgs"], fixture("session_expired.json")["msgs"]);

    let (st, out) = call(Method::DELETE, "REST/Session", t, None).await;
    assert_eq!(st, 200);
    assert_eq!(shape(&out), shape(&fixture("session_logout.json")));
    assert_eq!(out["msgs"], fixture("session_logout.json")["msgs"]);
}

/// Concurrent requests that all hit an expired session trigger exactly one new login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_expiry_logs_in_once() {
    let (fake, client) = fake().await;
    client.login().await.unwrap();
    assert_eq!(client.server_version().as_deref(), Some("3.7.9"));
    fake.expire_all_sessions();
    fake.clear_requests();
    let mut handles = Vec::new();
    for _ in 0..6 {
        let c = client.clone();
        handles.push(tokio::spawn(async move { c.zones().get(ZONE).await }));
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let logins = fake
        .requests()
        .iter()
        .filter(|l| l.method == "POST" && l.path == "/REST/Session")
        .count();
    assert_eq!(logins, 1);
    assert_eq!(fake.active_sessions(), 1);
}

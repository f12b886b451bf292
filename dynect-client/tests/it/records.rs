//! Record CRUD, replaying the go-dynect recordings where the notes give them.
use crate::common;

use std::net::Ipv4Addr;

use common::*;
use dynect_client::{Error, RecordData, RecordType};
use wiremock::matchers::{body_string, path_regex};
use wiremock::{Mock, MockServer};

/// Replays `GET /REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321` → 200.
#[tokio::test]
async fn get_a_record_replays_recording() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed(
        "GET",
        "/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321",
    )
    .and(empty_body)
    .respond_with(json(200, fixture!("arecord_get.json")))
    .expect(1)
    .mount(&server)
    .await;
    let rec = client
        .records()
        .get(
            RecordType::A,
            "go-dynect.test",
            "foobar.go-dynect.test",
            318905321,
        )
        .await
        .unwrap();
    assert_eq!(rec.zone, "go-dynect.test");
    assert_eq!(rec.fqdn, "foobar.go-dynect.test");
    assert_eq!(rec.ttl, Some(3600));
    assert_eq!(rec.record_id, Some(318905321));
    assert_eq!(
        rec.data,
        RecordData::A {
            address: Ipv4Addr::new(10, 9, 8, 7)
        }
    );
}

/// Replays `GET /REST/CNAMERecord/go-dynect.test/foo.go-dynect.test/318905322` (trailing dot kept).
#[tokio::test]
async fn get_cname_record_replays_recording() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed(
        "GET",
        "/REST/CNAMERecord/go-dynect.test/foo.go-dynect.test/318905322",
    )
    .respond_with(json(200, fixture!("cnamerecord_get.json")))
    .expect(1)
    .mount(&server)
    .await;
    let rec = client
        .records()
        .get(
            RecordType::Cname,
            "go-dynect.test",
            "foo.go-dynect.test",
            318905322,
        )
        .await
        .unwrap();
    assert_eq!(
        rec.data,
        RecordData::Cname {
            cname: "foobar.go-dynect.test.".into()
        }
    );
    assert_eq!(rec.record_type(), Some(RecordType::Cname));
}

/// Replays `POST /REST/MXRecord/go-dynect.test/go-dynect.test` with the exact recorded body
/// `{"rdata":{"exchange":"mx.example.com.","preference":123},"ttl":"12345"}`; the response
/// has `record_id: 0` (unpublished) and an integer TTL.
#[tokio::test]
async fn create_mx_replays_recording_byte_for_byte() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("POST", "/REST/MXRecord/go-dynect.test/go-dynect.test")
        .and(body_string(
            r#"{"rdata":{"exchange":"mx.example.com.","preference":123},"ttl":"12345"}"#,
        ))
        .respond_with(json(200, fixture!("mxrecord_create.json")))
        .expect(1)
        .mount(&server)
        .await;
    let rec = client
        .records()
        .create(
            "go-dynect.test",
            "go-dynect.test",
            &RecordData::Mx {
                preference: 123,
                exchange: "mx.example.com.".into(),
            },
            12345,
        )
        .await
        .unwrap();
    assert_eq!(rec.record_id, None);
    assert_eq!(rec.ttl, Some(12345));
    assert_eq!(client.pending_zones(), vec!["go-dynect.test".to_string()]);
}

/// A create with TTL 0 sends `"ttl":"0"` (zone default); the A body shape is the documented one.
#[tokio::test]
async fn create_a_with_zone_default_ttl() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("POST", "/REST/ARecord/go-dynect.test/foobar.go-dynect.test")
        .and(body_string(r#"{"rdata":{"address":"10.9.8.7"},"ttl":"0"}"#))
        .respond_with(json(200, fixture!("arecord_get.json")))
        .expect(1)
        .mount(&server)
        .await;
    client
        .records()
        .create(
            "go-dynect.test",
            "foobar.go-dynect.test",
            &RecordData::a("10.9.8.7").unwrap(),
            0,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn create_aaaa_txt_srv_bodies() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    let ok = r#"{"status": "success", "data": {"zone": "go-dynect.test", "ttl": 60, "fqdn": "x.go-dynect.test", "record_type": "TXT", "rdata": {"txtdata": "v=spf1 -all"}, "record_id": 0}, "job_id": 1, "msgs": []}"#;
    authed("POST", "/REST/AAAARecord/go-dynect.test/x.go-dynect.test")
        .and(body_string(
            r#"{"rdata":{"address":"2001:db8::1"},"ttl":"60"}"#,
        ))
        .respond_with(json(200, ok))
        .expect(1)
        .mount(&server)
        .await;
    authed("POST", "/REST/TXTRecord/go-dynect.test/x.go-dynect.test")
        .and(body_string(
            r#"{"rdata":{"txtdata":"v=spf1 -all"},"ttl":"60"}"#,
        ))
        .respond_with(json(200, ok))
        .expect(1)
        .mount(&server)
        .await;
    authed("POST", "/REST/SRVRecord/go-dynect.test/_sip._tcp.go-dynect.test")
        .and(body_string(
            r#"{"rdata":{"priority":10,"weight":5,"port":5060,"target":"sip.go-dynect.test."},"ttl":"60"}"#,
        ))
        .respond_with(json(200, ok))
        .expect(1)
        .mount(&server)
        .await;
    let r = client.records();
    r.create(
        "go-dynect.test",
        "x.go-dynect.test",
        &RecordData::aaaa("2001:db8::1").unwrap(),
        60,
    )
    .await
    .unwrap();
    r.create(
        "go-dynect.test",
        "x.go-dynect.test",
        &RecordData::Txt {
            txtdata: "v=spf1 -all".into(),
        },
        60,
    )
    .await
    .unwrap();
    r.create(
        "go-dynect.test",
        "_sip._tcp.go-dynect.test",
        &RecordData::Srv {
            priority: 10,
            weight: 5,
            port: 5060,
            target: "sip.go-dynect.test.".into(),
        },
        60,
    )
    .await
    .unwrap();
}

/// Replays `GET /REST/AllRecord/go-dynect.test/foobar.go-dynect.test` → list of URIs.
#[tokio::test]
async fn list_under_node_replays_recording() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed(
        "GET",
        "/REST/AllRecord/go-dynect.test/foobar.go-dynect.test",
    )
    .respond_with(json(200, fixture!("allrecord_node.json")))
    .expect(1)
    .mount(&server)
    .await;
    let refs = client
        .records()
        .list_under("go-dynect.test", "foobar.go-dynect.test")
        .await
        .unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].record_type, "A");
    assert_eq!(refs[0].typed(), Some(RecordType::A));
    assert_eq!(refs[0].record_id, 318905321);
}

/// Replays the recorded 404 for `GET /REST/AllRecord/go-dynect.test/unknown.go-dynect.test`:
/// both messages are kept and `is_not_found()` holds.
#[tokio::test]
async fn not_found_replays_recording_and_keeps_every_message() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed(
        "GET",
        "/REST/AllRecord/go-dynect.test/unknown.go-dynect.test",
    )
    .respond_with(json(404, fixture!("allrecord_not_found.json")))
    .expect(1)
    .mount(&server)
    .await;
    let err = client
        .records()
        .list_under("go-dynect.test", "unknown.go-dynect.test")
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.job_id(), Some(4342199445));
    let msgs = err.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].info, "node: Node is not in the zone");
    assert_eq!(msgs[0].err_cd.as_deref(), Some("NOT_FOUND"));
    assert_eq!(
        msgs[1].info,
        "get_tree: Node name not found within the zone"
    );
    assert_eq!(
        err.to_string(),
        "Dyn API error 404 Not Found: node: Node is not in the zone"
    );
}

#[tokio::test]
async fn list_zone_and_node_then_detail() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed("GET", "/REST/AllRecord/go-dynect.test")
        .respond_with(json(
            200,
            r#"{"status": "success", "data": ["/REST/SOARecord/go-dynect.test/go-dynect.test/1", "/REST/NSRecord/go-dynect.test/go-dynect.test/2", "/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321"], "job_id": 1, "msgs": []}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    authed("GET", "/REST/ARecord/go-dynect.test/foobar.go-dynect.test")
        .respond_with(json(
            200,
            r#"{"status": "success", "data": ["/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321"], "job_id": 2, "msgs": []}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    authed(
        "GET",
        "/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321",
    )
    .respond_with(json(200, fixture!("arecord_get.json")))
    .expect(1)
    .mount(&server)
    .await;
    let all = client.records().list_zone("go-dynect.test").await.unwrap();
    assert_eq!(
        all.iter()
            .map(|r| r.record_type.as_str())
            .collect::<Vec<_>>(),
        ["SOA", "NS", "A"]
    );
    let detailed = client
        .records()
        .list_detailed(RecordType::A, "go-dynect.test", "foobar.go-dynect.test")
        .await
        .unwrap();
    assert_eq!(detailed.len(), 1);
}

#[tokio::test]
async fn update_and_delete() {
    let (server, client) = setup().await;
    login_mock(1).mount(&server).await;
    authed(
        "PUT",
        "/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321",
    )
    .and(body_string(
        r#"{"rdata":{"address":"10.9.8.7"},"ttl":"3600"}"#,
    ))
    .respond_with(json(200, fixture!("arecord_get.json")))
    .expect(1)
    .mount(&server)
    .await;
    authed(
        "DELETE",
        "/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321",
    )
    .and(empty_body)
    .respond_with(json(200, fixture!("record_delete.json")))
    .expect(1)
    .mount(&server)
    .await;
    let rec = client
        .records()
        .update(
            "go-dynect.test",
            "foobar.go-dynect.test",
            318905321,
            &RecordData::a("10.9.8.7").unwrap(),
            3600,
        )
        .await
        .unwrap();
    assert_eq!(rec.ttl, Some(3600));
    client
        .records()
        .delete(
            RecordType::A,
            "go-dynect.test",
            "foobar.go-dynect.test",
            318905321,
        )
        .await
        .unwrap();
    assert_eq!(client.pending_zones(), vec!["go-dynect.test".to_string()]);
}

/// Bad input never reaches the server (not even the login).
#[tokio::test]
async fn invalid_input_is_rejected_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(path_regex(".*"))
        .respond_with(json(500, "{}"))
        .expect(0)
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let r = client.records();
    let a = RecordData::a("10.0.0.1").unwrap();

    let cases: Vec<(&str, Error)> = vec![
        (
            "malformed zone",
            r.create("bad zone.test", "www.bad zone.test", &a, 60)
                .await
                .unwrap_err(),
        ),
        (
            "single-label zone",
            r.create("test", "www.test", &a, 60).await.unwrap_err(),
        ),
        (
            "malformed fqdn",
            r.create("go-dynect.test", "a..go-dynect.test", &a, 60)
                .await
                .unwrap_err(),
        ),
        (
            "fqdn outside zone",
            r.create("go-dynect.test", "www.example.com", &a, 60)
                .await
                .unwrap_err(),
        ),
        (
            "suffix but not subdomain",
            r.create("go-dynect.test", "xgo-dynect.test", &a, 60)
                .await
                .unwrap_err(),
        ),
        (
            "ttl out of range",
            r.create("go-dynect.test", "www.go-dynect.test", &a, u32::MAX)
                .await
                .unwrap_err(),
        ),
        (
            "ipv4-mapped in AAAA",
            r.create(
                "go-dynect.test",
                "www.go-dynect.test",
                &RecordData::Aaaa {
                    address: "::ffff:10.0.0.1".parse().unwrap(),
                },
                60,
            )
            .await
            .unwrap_err(),
        ),
        (
            "bad cname target",
            r.create(
                "go-dynect.test",
                "www.go-dynect.test",
                &RecordData::Cname {
                    cname: "not a host".into(),
                },
                60,
            )
            .await
            .unwrap_err(),
        ),
        (
            "unmodelled type",
            r.create(
                "go-dynect.test",
                "www.go-dynect.test",
                &RecordData::Other {
                    record_type: "NS".into(),
                    rdata: serde_json::json!({}),
                },
                60,
            )
            .await
            .unwrap_err(),
        ),
        (
            "get outside zone",
            r.get(RecordType::A, "go-dynect.test", "go-dynect.org", 1)
                .await
                .unwrap_err(),
        ),
        (
            "publish bad zone",
            client.zones().publish("-x.test", None).await.unwrap_err(),
        ),
    ];
    for (what, err) in cases {
        assert!(matches!(err, Error::InvalidInput(_)), "{what}: {err:?}");
    }
    // Text constructors refuse the wrong address family.
    assert!(matches!(
        RecordData::a("2001:db8::1"),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        RecordData::aaaa("10.0.0.1"),
        Err(Error::InvalidInput(_))
    ));
    assert!(!client.has_session());
}

//! Certificates (issue #22): each method's request shape, the private key kept out of
//! `Debug` and errors, error paths, and the checks made before sending.

use crate::common;

use common::{error_paths, no_content, ok_json, on, on_json, refused, setup};
use digitalocean_client::{CertificateState, CertificateType, CreateCertificate};
use ops_proptest::hostile::{EchoRefusal, error_texts};
use serde_json::{Value, json};
use wiremock::matchers::{method, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

const ID: &str = "892071a0-bb95-49bc-8021-3afd67a210bf";
const PATH: &str = "/v2/certificates/892071a0-bb95-49bc-8021-3afd67a210bf";
const KEY_LINE_1: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDBIZMz8pnK6V52";
const KEY_LINE_2: &str = "SVf+CYssOfCQHAx5f0Ou5rYbq3xNh8VWHIYJCQ1QxQIxKSP6+uODSYrb2KWyurP1";
const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIFFjCCA/6gAwIBAgISA0AznUJmXhu08/89ZuSPC/kRMA0GCSqGSIb3DQEBCwUA\n-----END CERTIFICATE-----\n";

fn key() -> String {
    format!("-----BEGIN PRIVATE KEY-----\n{KEY_LINE_1}\n{KEY_LINE_2}\n-----END PRIVATE KEY-----\n")
}

fn custom() -> CreateCertificate {
    CreateCertificate::custom("web-cert-01", key(), CERT, Some(CERT.to_owned()))
}

fn certificate(kind: &str, state: &str) -> Value {
    json!({
        "id": ID, "name": "web-cert-01", "not_after": "2017-02-22T00:23:00Z",
        "sha1_fingerprint": "dfcc9f57d86bf58e321c2c6c31c7a971be244ac7",
        "created_at": "2017-02-08T16:02:37Z", "dns_names": ["example.com"],
        "state": state, "type": kind
    })
}

#[tokio::test]
async fn list_get_create_delete() {
    let (server, client) = setup().await;
    on("GET", "/v2/certificates")
        .and(query_param_is_missing("name"))
        .and(query_param("per_page", "200"))
        .respond_with(ok_json(json!({
            "certificates": [certificate("custom", "verified"), certificate("lets_encrypt", "pending")],
            "links": {}, "meta": {"total": 2}
        })))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", "/v2/certificates")
        .and(query_param("name", "web-cert-01"))
        .respond_with(ok_json(json!({
            "certificates": [certificate("custom", "verified")], "links": {}, "meta": {"total": 1}
        })))
        .expect(1)
        .mount(&server)
        .await;
    on("GET", PATH)
        .respond_with(ok_json(
            json!({"certificate": certificate("custom", "verified")}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    on_json(
        "POST",
        "/v2/certificates",
        json!({"name": "web-cert-02", "type": "lets_encrypt", "dns_names": ["www.example.com", "example.com"]}),
    )
    .respond_with(ResponseTemplate::new(201).set_body_json(
        json!({"certificate": certificate("lets_encrypt", "pending")}),
    ))
    .expect(1)
    .mount(&server)
    .await;
    on_json(
        "POST",
        "/v2/certificates",
        json!({"name": "web-cert-01", "type": "custom", "private_key": key(),
               "leaf_certificate": CERT, "certificate_chain": CERT}),
    )
    .respond_with(
        ResponseTemplate::new(201)
            .set_body_json(json!({"certificate": certificate("custom", "verified")})),
    )
    .expect(1)
    .mount(&server)
    .await;
    on("DELETE", PATH)
        .respond_with(no_content())
        .expect(1)
        .mount(&server)
        .await;

    let c = client.certificates();
    let all = c.list().collect_all().await.unwrap();
    assert_eq!(all[1].kind, Some(CertificateType::LetsEncrypt));
    assert_eq!(all[1].state, CertificateState::Pending);
    assert_eq!(
        c.list_by_name("web-cert-01")
            .collect_all()
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(c.get(ID).await.unwrap().state, CertificateState::Verified);
    let le = CreateCertificate::lets_encrypt("web-cert-02", ["www.example.com", "example.com"]);
    assert_eq!(
        c.create(&le).await.unwrap().state,
        CertificateState::Pending
    );
    c.create(&custom()).await.unwrap();
    c.delete(ID).await.unwrap();
}

#[tokio::test]
async fn the_private_key_never_reaches_debug_or_an_error() {
    let req = custom();
    let dbg = format!("{req:?}");
    assert!(
        !dbg.contains(KEY_LINE_1) && !dbg.contains(KEY_LINE_2),
        "{dbg}"
    );
    // A server (or proxy) that echoes the refused request, key and all, in its error.
    for status in [400, 422, 500] {
        let (server, client) = setup().await;
        Mock::given(method("POST"))
            .respond_with(EchoRefusal(move |echo: String| {
                ResponseTemplate::new(status)
                    .set_body_json(json!({"id": "unprocessable_entity", "message": echo}))
            }))
            .mount(&server)
            .await;
        let err = client.certificates().create(&req).await.unwrap_err();
        let all = error_texts(&err);
        assert!(
            !all.contains(KEY_LINE_1) && !all.contains(KEY_LINE_2),
            "{status}: {all}"
        );
        assert!(
            all.contains("[REDACTED]"),
            "{status}: the echo is kept: {all}"
        );
        // The same echo as a non-JSON body (a proxy's page).
        let (server, client) = setup().await;
        Mock::given(method("POST"))
            .respond_with(EchoRefusal(move |echo: String| {
                ResponseTemplate::new(status).set_body_string(echo)
            }))
            .mount(&server)
            .await;
        let err = client.certificates().create(&req).await.unwrap_err();
        let all = error_texts(&err);
        assert!(
            !all.contains(KEY_LINE_1) && !all.contains(KEY_LINE_2),
            "{status}: {all}"
        );
        drop(server);
    }
}

#[tokio::test]
async fn every_method_keeps_the_error_paths() {
    error_paths("GET", "/v2/certificates", |c| async move {
        c.certificates().list().collect_all().await
    })
    .await;
    error_paths(
        "GET",
        PATH,
        |c| async move { c.certificates().get(ID).await },
    )
    .await;
    error_paths("POST", "/v2/certificates", |c| async move {
        c.certificates()
            .create(&CreateCertificate::lets_encrypt("web", ["example.com"]))
            .await
    })
    .await;
    error_paths("POST", "/v2/certificates", |c| async move {
        c.certificates().create(&custom()).await
    })
    .await;
    error_paths("DELETE", PATH, |c| async move {
        c.certificates().delete(ID).await
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    refused("certificate_id", |c| async move {
        c.certificates().get("web-cert-01").await
    })
    .await;
    refused("dns_names", |c| async move {
        c.certificates()
            .create(&CreateCertificate::lets_encrypt(
                "web",
                Vec::<String>::new(),
            ))
            .await
    })
    .await;
    refused("private_key", |c| async move {
        c.certificates()
            .create(&CreateCertificate::custom("web", KEY_LINE_1, CERT, None))
            .await
    })
    .await;
    refused("leaf_certificate", |c| async move {
        c.certificates()
            .create(&CreateCertificate::custom("web", key(), "cert", None))
            .await
    })
    .await;
    refused("name", |c| async move {
        c.certificates().list_by_name("").collect_all().await
    })
    .await;
}

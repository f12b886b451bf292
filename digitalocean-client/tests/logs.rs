//! The token never reaches tracing output, even at TRACE level with retries.
//! (Its own binary, because it installs a global subscriber.)

mod common;

use common::{TOKEN, setup};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[derive(Clone, Default)]
struct SharedBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn token_never_reaches_logs() {
    let buf = SharedBuf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Global, in its own test binary: a thread-local default races with the callsite
    // interest cache when other tests run in parallel.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/account"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"id": "service_unavailable", "message": "later"})),
        )
        .expect(3)
        .mount(&server)
        .await;
    assert!(client.account().get().await.is_err());
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying DigitalOcean request"), "{logs}");
    assert!(logs.contains("digitalocean.request"), "{logs}");
    assert!(
        !logs.contains(TOKEN) && !logs.contains("SECRET"),
        "token in logs: {logs}"
    );
}

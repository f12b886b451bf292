//! key-sync tracing: events are emitted and never carry key material. In its own test binary:
//! a thread-local subscriber can miss events whose callsite another test thread registers
//! at the same moment.
#![allow(clippy::unwrap_used)]

mod key_sync_support;

use key_sync_support::*;
use ops_core::key_sync::{KeyPolicy, KeySource, KeySync, KeySyncOptions, RunOptions};

fn opts() -> KeySyncOptions {
    KeySyncOptions {
        now: Some(at(T0)),
        ..KeySyncOptions::default()
    }
}

#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tracing_events_name_users_and_fingerprints_never_keys() {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let w = World::new(20, 4);
    let specs = users(6, 2);
    let src = KeySource::from_specs(specs.clone(), &KeyPolicy::default()).unwrap();
    KeySync::new(&w.bag, &w.account, &w.nodes, opts())
        .sync(&src, RunOptions::default())
        .await
        .unwrap();
    KeySync::new(&w.bag, &w.account, &w.nodes, opts())
        .revoke("user-004", false)
        .await
        .unwrap();
    KeySync::new(&w.bag, &w.account, &w.nodes, opts())
        .audit(&src)
        .await
        .unwrap();
    let bad = "id = \"x\"\nssh_keys = [\"-----BEGIN OPENSSH PRIVATE KEY----- c2VjcmV0\"]\n";
    assert!(
        KeySource::parse_str(
            bad,
            ops_core::key_sync::SourceFormat::Toml,
            "x.toml",
            &KeyPolicy::default()
        )
        .is_err()
    );

    let logs = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    for needle in [
        "key-sync plan computed",
        "data bag item written",
        "account key added",
        "run-list fixed",
        "user revoked",
        "key-sync audit done",
        "key source rejected",
    ] {
        assert!(logs.contains(needle), "missing `{needle}` in:\n{logs}");
    }
    for spec in &specs {
        for k in &spec.ssh_keys {
            let b64 = k.split_whitespace().nth(1).unwrap();
            assert!(!logs.contains(b64), "a public key body reached the logs");
        }
    }
    assert!(
        !logs.contains("c2VjcmV0"),
        "private key material reached the logs"
    );
}

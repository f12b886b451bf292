//! Issue #15: the key-sync users source (TOML or JSON files people edit) is read into a
//! validated source or a typed error naming the file, whatever the text; keys are parsed by
//! the same code, so mutated key lines exercise the OpenSSH key decoder too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use ssh_key::public::{Ed25519PublicKey, KeyData};

use super::{KeyPolicy, KeySource, SourceFormat};

fn key(seed: u8, comment: &str) -> String {
    ssh_key::PublicKey::new(KeyData::Ed25519(Ed25519PublicKey([seed; 32])), comment)
        .to_openssh()
        .unwrap()
}

fn toml_corpus() -> Vec<String> {
    vec![
        format!(
            "[[users]]\nid = \"alice\"\nssh_keys = [\"{}\", \"{}\"]\ngroups = [\"sysadmin\", \"ops\"]\nshell = \"/bin/bash\"\n\n[[users]]\nid = \"bob\"\nssh_keys = [\"{}\"]\ngroups = [\"sysadmin\"]\nstate = \"removed\"\n",
            key(1, "alice@laptop"),
            key(2, "alice@desk"),
            key(3, "bob@laptop"),
        ),
        format!(
            "id = \"carol\"\nssh_keys = [\"{}\"]\ngroups = [\"sysadmin\"]\n",
            key(4, "carol")
        ),
    ]
}

fn json_corpus() -> Vec<serde_json::Value> {
    vec![
        serde_json::json!({"users": [
            {"id": "alice", "ssh_keys": [key(1, "alice@laptop")], "groups": ["sysadmin"],
             "shell": "/bin/zsh"},
            {"id": "bob", "ssh_keys": [], "groups": ["sysadmin"], "state": "removed"}
        ]}),
        serde_json::json!([{"id": "dave", "ssh_keys": [key(5, "dave")], "groups": ["ops"]}]),
        serde_json::json!({"id": "erin", "ssh_keys": [key(6, "erin")]}),
    ]
}

const FIELDS: &[&str] = &["users", "id", "ssh_keys", "groups", "shell", "state"];

fn read(text: &str, format: SourceFormat) {
    match KeySource::parse_str(text, format, "users.src", &KeyPolicy::default()) {
        Ok(src) => {
            for u in src.users() {
                let _ = (
                    &u.id,
                    u.keys.len(),
                    &u.groups,
                    u.state,
                    u.location.to_string(),
                );
            }
            let _ = (src.len(), src.is_empty());
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("users.src"), "{msg} does not name the file");
        }
    }
}

#[test]
fn the_sample_sources_are_read() {
    for t in toml_corpus() {
        KeySource::parse_str(&t, SourceFormat::Toml, "u.toml", &KeyPolicy::default()).unwrap();
    }
    for v in json_corpus() {
        KeySource::parse_str(
            &v.to_string(),
            SourceFormat::Json,
            "u.json",
            &KeyPolicy::default(),
        )
        .unwrap();
    }
}

proptest! {
    #![proptest_config(ops_proptest::config())]

    #[test]
    fn proptest_users_toml_reads_or_fails_naming_the_file(text in prop_oneof![
        3 => ops_proptest::toml_mutated(toml_corpus()),
        1 => ops_proptest::text_mutated(toml_corpus()),
    ]) {
        read(&text, SourceFormat::Toml);
    }

    #[test]
    fn proptest_users_json_reads_or_fails_naming_the_file(text in prop_oneof![
        ops_proptest::json_mutated(json_corpus()).prop_map(|v| v.to_string()),
        ops_proptest::text_mutated(json_corpus().iter().map(|v| v.to_string()).collect()),
        ops_proptest::json_arbitrary(FIELDS).prop_map(|v| v.to_string()),
    ]) {
        read(&text, SourceFormat::Json);
    }
}

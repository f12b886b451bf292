//! key-sync source of truth: loading and validation; invalid input writes nothing.

use crate::key_sync_support;

use key_sync_support::*;
use ops_core::Error;
use ops_core::key_sync::{
    KeyPolicy, KeySource, KeySync, KeySyncOptions, RunOptions, SourceFormat, UserState,
};

fn problems(err: Error) -> Vec<String> {
    match err {
        Error::Validation { problems, .. } => problems,
        other => panic!("expected a validation error, got {other}"),
    }
}

#[test]
fn loads_a_directory_of_toml_and_json_users() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ed_key("alice");
    let bob = rsa_key("bob", 2048);
    std::fs::write(
        dir.path().join("alice.toml"),
        format!("id = \"alice\"\nssh_keys = [\"{alice}\"]\ngroups = [\"sysadmin\", \"ops\", \"ops\"]\nshell = \"/bin/zsh\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("team.json"),
        serde_json::json!([
            {"id": "bob", "ssh_keys": [bob], "groups": ["ops"]},
            {"id": "carol", "state": "removed", "groups": ["ops"]}
        ])
        .to_string(),
    )
    .unwrap();
    std::fs::write(dir.path().join("README.md"), "ignored").unwrap();
    let src = KeySource::load(dir.path(), &KeyPolicy::default()).unwrap();
    assert_eq!(src.len(), 3);
    let a = src.get("alice").unwrap();
    assert_eq!(a.groups, vec!["sysadmin", "ops"]);
    assert_eq!(a.shell.as_deref(), Some("/bin/zsh"));
    assert_eq!(a.keys[0].key.algorithm, "ssh-ed25519");
    assert!(a.keys[0].key.fingerprint.starts_with("SHA256:"));
    assert_eq!(a.keys[0].location.line, Some(2));
    assert!(a.keys[0].location.file.ends_with("alice.toml"));
    assert_eq!(src.get("bob").unwrap().keys[0].key.bits, Some(2048));
    assert_eq!(src.get("carol").unwrap().state, UserState::Removed);
}

#[test]
fn loads_one_toml_file_with_many_users() {
    let text = format!(
        "[[users]]\nid = \"alice\"\nssh_keys = [\"{}\"]\ngroups = [\"sysadmin\"]\n\n[[users]]\nid = \"bob\"\nssh_keys = [\n  \"{}\",\n]\n",
        ed_key("a"),
        ed_key("b")
    );
    let src = KeySource::parse_str(
        &text,
        SourceFormat::Toml,
        "users.toml",
        &KeyPolicy::default(),
    )
    .unwrap();
    assert_eq!(src.len(), 2);
    assert_eq!(
        src.get("bob").unwrap().keys[0].location.to_string(),
        "users.toml:9"
    );
    let json = serde_json::json!({"users": [{"id": "dan", "ssh_keys": [ed_key("d")]}]}).to_string();
    let src =
        KeySource::parse_str(&json, SourceFormat::Json, "u.json", &KeyPolicy::default()).unwrap();
    assert_eq!(src.get("dan").unwrap().state, UserState::Present);
}

#[test]
fn bad_keys_and_duplicates_are_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let shared = ed_key("shared");
    let text = format!(
        "[[users]]\nid = \"alice\"\nssh_keys = [\n  \"{dsa}\",\n  \"{weak}\",\n  \"ssh-ed25519 AAAAnotbase64!!\",\n  \"{shared}\",\n  \"{shared}\",\n]\n\n[[users]]\nid = \"bob\"\nssh_keys = [\"{shared}\"]\n",
        dsa = dsa_key("old"),
        weak = rsa_key("weak", 1024),
    );
    std::fs::write(dir.path().join("users.toml"), text).unwrap();
    std::fs::write(
        dir.path().join("zz-more.json"),
        "{\n  \"id\": \"alice\",\n  \"ssh_keys\": [\"-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjE\"]\n}\n",
    )
    .unwrap();
    let err = KeySource::load(dir.path(), &KeyPolicy::default()).unwrap_err();
    let p = problems(err);
    let file = dir.path().join("users.toml").display().to_string();
    let more = dir.path().join("zz-more.json").display().to_string();
    let has = |prefix: &str, needle: &str| {
        p.iter()
            .any(|m| m.starts_with(prefix) && m.contains(needle))
    };
    assert!(
        has(&format!("{file}:4:"), "DSA (ssh-dss) keys are not accepted"),
        "{p:#?}"
    );
    assert!(has(&format!("{file}:5:"), "RSA key of 1024 bits"), "{p:#?}");
    assert!(
        has(&format!("{file}:6:"), "not an OpenSSH public key"),
        "{p:#?}"
    );
    assert!(
        has(&format!("{file}:8:"), "duplicate key SHA256:"),
        "{p:#?}"
    );
    assert!(
        has(
            &format!("{file}:13:"),
            &format!("also listed for `alice` at {file}:7")
        ),
        "{p:#?}"
    );
    assert!(
        has(
            &format!("{more}:2:"),
            &format!("`alice` is defined twice (first at {file}:2)")
        ),
        "{p:#?}"
    );
    assert!(
        has(&format!("{more}:3:"), "this is a private key"),
        "{p:#?}"
    );
    assert!(
        !p.iter().any(|m| m.contains("b3BlbnNzaC1rZXktdjE")),
        "private key material never echoed"
    );
}

#[test]
fn typos_and_bad_names_are_rejected() {
    let text = "id = \"Alice Smith\"\nssh_key = [\"x\"]\n";
    let p = problems(
        KeySource::parse_str(text, SourceFormat::Toml, "a.toml", &KeyPolicy::default())
            .unwrap_err(),
    );
    assert!(
        p.iter()
            .any(|m| m.starts_with("a.toml:1:") && m.contains("unknown field `ssh_key`")),
        "{p:#?}"
    );

    let text = format!(
        "id = \"Alice\"\nssh_keys = [\"{}\"]\nshell = \"bash\"\ngroups = [\"Ops Team\"]\n",
        ed_key("a")
    );
    let p = problems(
        KeySource::parse_str(&text, SourceFormat::Toml, "a.toml", &KeyPolicy::default())
            .unwrap_err(),
    );
    assert!(p.iter().any(|m| m.contains("invalid user id")), "{p:#?}");
    assert!(
        p.iter()
            .any(|m| m.contains("shell must be an absolute path")),
        "{p:#?}"
    );
    assert!(p.iter().any(|m| m.contains("invalid group name")), "{p:#?}");

    let p = problems(
        KeySource::parse_str(
            "{\"id\": ",
            SourceFormat::Json,
            "b.json",
            &KeyPolicy::default(),
        )
        .unwrap_err(),
    );
    assert!(p[0].starts_with("b.json:1: invalid JSON"), "{p:#?}");
    let p = problems(
        KeySource::parse_str(
            "id = \n",
            SourceFormat::Toml,
            "c.toml",
            &KeyPolicy::default(),
        )
        .unwrap_err(),
    );
    assert!(p[0].starts_with("c.toml:1: invalid TOML"), "{p:#?}");

    let url = "id = \"gh\"\nssh_keys = [\"https://github.com/gh.keys\"]\n";
    let p = problems(
        KeySource::parse_str(url, SourceFormat::Toml, "d.toml", &KeyPolicy::default()).unwrap_err(),
    );
    assert!(p[0].contains("URL keys are not supported"), "{p:#?}");
}

#[test]
fn an_empty_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = problems(KeySource::load(dir.path(), &KeyPolicy::default()).unwrap_err());
    assert!(p[0].contains("no .toml or .json user file found"));
}

#[test]
fn the_policy_is_configurable() {
    let strict = KeyPolicy {
        min_rsa_bits: 4096,
        allow_ecdsa: false,
        allow_security_keys: false,
    };
    let text = format!("id = \"a\"\nssh_keys = [\"{}\"]\n", rsa_key("a", 3072));
    let p =
        problems(KeySource::parse_str(&text, SourceFormat::Toml, "a.toml", &strict).unwrap_err());
    assert!(p[0].contains("at least 4096 bits"), "{p:#?}");
}

#[tokio::test]
async fn invalid_input_is_rejected_before_any_port_is_called() {
    let w = World::new(20, 2);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("u.toml"),
        format!(
            "id = \"eve\"\nssh_keys = [\"{}\"]\ngroups = [\"sysadmin\"]\n",
            rsa_key("eve", 1024)
        ),
    )
    .unwrap();
    let result = async {
        let src = KeySource::load(dir.path(), &KeyPolicy::default())?;
        KeySync::new(&w.bag, &w.account, &w.nodes, KeySyncOptions::default())
            .sync(&src, RunOptions::default())
            .await
    }
    .await;
    assert!(matches!(result, Err(Error::Validation { .. })));
    assert_eq!(w.log.len(), 0, "no port call at all");
    assert!(w.bag.items.lock().unwrap().is_empty());
}

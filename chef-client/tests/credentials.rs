//! Loading a client from a Chef credentials file, with `CHEF_PROFILE` honoured.
//!
//! The environment is process-global (and `set_var` is unsafe), so the env-dependent part
//! runs in a child process: this test binary re-executed with `HOME` and `CHEF_PROFILE` set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use chef_client::{Client, Credentials, ProfileKey};

const CHILD: &str = "CHEF_CLIENT_CREDENTIALS_CHILD";

fn write_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let chef = home.path().join(".chef");
    std::fs::create_dir_all(&chef).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/reference/chef/vectors/private_key.pem"
        ),
        chef.join("deploy.pem"),
    )
    .unwrap();
    std::fs::write(
        chef.join("credentials"),
        r#"
[default]
client_name = "alice"
client_key = "~/.chef/deploy.pem"
chef_server_url = "https://chef.example.com/organizations/acme"

[prod]
client_name = "deploy"
client_key = "deploy.pem"
chef_server_url = "https://chef.prod.example.com/organizations/ops/"
"#,
    )
    .unwrap();
    home
}

/// In the child: the profile comes from the environment.
fn child_checks() {
    let expected = std::env::var("EXPECT_PROFILE").unwrap();
    let creds = Credentials::load_default().unwrap();
    let profile = creds.profile(None).unwrap();
    assert_eq!(profile.name, expected);
    let client = Client::from_credentials(None).unwrap();
    match expected.as_str() {
        "prod" => {
            assert_eq!(client.client_name(), "deploy");
            assert_eq!(
                client.base_url().as_str(),
                "https://chef.prod.example.com/organizations/ops/"
            );
            assert_eq!(
                client.server_root().as_str(),
                "https://chef.prod.example.com/"
            );
        }
        "default" => {
            assert_eq!(client.client_name(), "alice");
            assert!(
                matches!(profile.client_key, ProfileKey::Path(ref p) if p.ends_with(".chef/deploy.pem"))
            );
        }
        other => panic!("unexpected {other}"),
    }
    // An explicit name beats the environment.
    assert_eq!(creds.profile(Some("default")).unwrap().client_name, "alice");
}

#[test]
fn chef_profile_is_honoured() {
    if std::env::var_os(CHILD).is_some() {
        child_checks();
        return;
    }
    let home = write_home();
    for (env_profile, expected) in [(Some("prod"), "prod"), (None, "default")] {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["chef_profile_is_honoured", "--exact", "--nocapture"])
            .env(CHILD, "1")
            .env("HOME", home.path())
            .env("EXPECT_PROFILE", expected)
            .env_remove("CHEF_PROFILE");
        if let Some(p) = env_profile {
            cmd.env("CHEF_PROFILE", p);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "child failed for CHEF_PROFILE={env_profile:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn missing_key_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    std::fs::write(
        &path,
        "[default]\nclient_name = \"a\"\nclient_key = \"missing.pem\"\nchef_server_url = \"https://chef\"\n",
    )
    .unwrap();
    let creds = Credentials::load(&path).unwrap();
    let profile = creds.named_profile("default").unwrap();
    let err = chef_client::ClientBuilder::from_profile(&profile)
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&dir.path().join("missing.pem").display().to_string()),
        "{err}"
    );
}

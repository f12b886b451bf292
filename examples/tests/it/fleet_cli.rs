//! `provision`, `teardown`, `key-sync` and `sandbox` run as processes against the sandbox fakes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub(crate) const PROVISION: &str = env!("CARGO_BIN_EXE_provision");
pub(crate) const TEARDOWN: &str = env!("CARGO_BIN_EXE_teardown");
pub(crate) const KEY_SYNC: &str = env!("CARGO_BIN_EXE_key-sync");
pub(crate) const SANDBOX: &str = env!("CARGO_BIN_EXE_sandbox");
pub(crate) const STATUS: &str = env!("CARGO_BIN_EXE_status");

pub(crate) const PROVIDER_ENV: [&str; 17] = [
    "OPS_STATE_URL",
    "OPS_LEASE_TTL",
    "OPS_PROVISION_TEST_PAUSE",
    "OPS_KEY_SYNC_TEST_PAUSE",
    "DIGITALOCEAN_TOKEN",
    "DIGITALOCEAN_ACCESS_TOKEN",
    "DIGITALOCEAN_API_URL",
    "DYN_CUSTOMER_NAME",
    "DYN_USER_NAME",
    "DYN_PASSWORD",
    "DYN_API_URL",
    "CHEF_PROFILE",
    "NAGIOS_API_URL",
    "OPS_STATE_DIR",
    "RUST_LOG",
    "HOME",
    "QA_DATABASE_URL",
];

pub(crate) fn cmd(bin: &str, state: &Path) -> Command {
    let mut c = Command::new(bin);
    for v in PROVIDER_ENV {
        c.env_remove(v);
    }
    c.env("OPS_STATE_DIR", state).env("HOME", state);
    c
}

/// `bin` with the environment a `sandbox` server process wrote (see [`start_sandbox`]).
pub(crate) fn sandboxed(bin: &str, state: &Path, env: &[(String, String)]) -> Command {
    let mut c = cmd(bin, state);
    c.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    c
}

/// Asserts the process succeeded, showing its stderr when it did not.
pub(crate) fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts the process succeeded and returns its stdout as JSON.
pub(crate) fn json_ok(out: &Output) -> serde_json::Value {
    assert_ok(out);
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

pub(crate) fn one_line_error(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert_eq!(err.lines().last().unwrap(), errors[0], "{err}");
    errors[0].to_owned()
}

#[test]
fn provision_sandbox_json_carries_ids() {
    let state = tempfile::tempdir().unwrap();
    let out = cmd(PROVISION, state.path())
        .args(["--sandbox", "--json"])
        .output()
        .unwrap();
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    assert!(v["batch_id"].is_string(), "{v}");
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 3);
    for h in hosts {
        assert_eq!(h["ok"], true, "{h}");
        assert!(h["droplet_id"].as_u64().unwrap() > 0);
        let run = h["run_id"].as_str().unwrap();
        assert!(
            state.path().join(format!("{run}.json")).exists(),
            "journal of {run}"
        );
        assert!(
            h["ipv4"]
                .as_str()
                .unwrap()
                .parse::<std::net::Ipv4Addr>()
                .is_ok()
        );
        assert!(h["fqdn"].as_str().unwrap().ends_with(".example.com"));
    }
}

#[test]
fn provision_dry_run_plans_and_writes_nothing() {
    let state = tempfile::tempdir().unwrap();
    let out = cmd(PROVISION, state.path())
        .args(["--sandbox", "--dry-run", "--json"])
        .output()
        .unwrap();
    let v = json_ok(&out);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["valid"], true);
    assert_eq!(
        std::fs::read_dir(state.path()).unwrap().count(),
        0,
        "no journal on a dry run"
    );
}

#[test]
fn missing_token_is_bad_input() {
    let state = tempfile::tempdir().unwrap();
    let spec = state.path().join("fleet.toml");
    std::fs::write(&spec, ONE_HOST).unwrap();
    let out = cmd(PROVISION, state.path())
        .arg("--spec")
        .arg(&spec)
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(line.contains("DIGITALOCEAN_TOKEN is not set"), "{line}");
}

#[test]
fn token_never_printed_when_other_credentials_are_missing() {
    let state = tempfile::tempdir().unwrap();
    let token = "dop_v1_do-not-print-this-token-0123456789";
    let out = cmd(TEARDOWN, state.path())
        .args(["--zone", "example.com", "web-01"])
        .env("DIGITALOCEAN_TOKEN", token)
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(line.contains("Chef credentials"), "{line}");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(token));
}

#[test]
fn malformed_spec_is_bad_input_naming_the_file() {
    let state = tempfile::tempdir().unwrap();
    let spec = state.path().join("fleet.toml");
    std::fs::write(&spec, "[[hosts]]\nname = \"web-01\nregion = 3\n").unwrap();
    let out = cmd(PROVISION, state.path())
        .arg("--sandbox")
        .arg("--spec")
        .arg(&spec)
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(line.contains("fleet.toml is invalid: fix it"), "{line}");

    std::fs::write(&spec, ONE_HOST.replace("app-01", "Not A Hostname!")).unwrap();
    let out = cmd(PROVISION, state.path())
        .arg("--sandbox")
        .arg("--spec")
        .arg(&spec)
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(line.contains("Not A Hostname!"), "{line}");
}

// Issue #17 item 5: a spec error says what and where, never the file's values (a spec can
// carry secrets in user_data): a syntax error, a type error on a secret-looking value, in
// TOML and JSON.
#[test]
fn a_spec_error_never_echoes_the_file() {
    let state = tempfile::tempdir().unwrap();
    let canary = "tok_canary_in_the_spec_17";
    let cases = [
        (
            "fleet.toml",
            format!(
                "[[hosts]]\nname = \"web-01\"\nuser_data = {{ runcmd = \"curl -H {canary}\" }}\n"
            ),
        ),
        (
            "bad.toml",
            format!("[[hosts]]\nname = \"{canary}\nregion = 3\n"),
        ),
        (
            "fleet.json",
            format!(
                "{{\"hosts\": [{{\"name\": \"web-01\", \"region\": 3, \"size\": \"{canary}\", \"image\": 7}}]}}"
            ),
        ),
    ];
    for (name, text) in cases {
        let spec = state.path().join(name);
        std::fs::write(&spec, &text).unwrap();
        let out = cmd(PROVISION, state.path())
            .arg("--sandbox")
            .arg("--spec")
            .arg(&spec)
            .output()
            .unwrap();
        let line = one_line_error(&out, 2);
        assert!(!line.contains(canary), "{name}: {line}");
        assert!(line.contains("line "), "{name}: says where: {line}");
    }
}

#[test]
fn key_sync_converges_and_rejects_an_invalid_key() {
    let state = tempfile::tempdir().unwrap();
    let out = cmd(KEY_SYNC, state.path())
        .args(["--sandbox", "--json"])
        .output()
        .unwrap();
    let v = json_ok(&out);
    assert_eq!(v["result"], "applied");
    assert!(v["items_written"].as_u64().unwrap() >= 2, "{v}");

    let out = cmd(KEY_SYNC, state.path())
        .args(["--sandbox", "--dry-run", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "dry_run");

    let users = state.path().join("users.toml");
    std::fs::write(
        &users,
        "[[users]]\nid = \"carol\"\ngroups = [\"sysadmin\"]\nssh_keys = [\"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC carol@x\"]\n",
    )
    .unwrap();
    let out = cmd(KEY_SYNC, state.path())
        .arg("--sandbox")
        .arg("--users")
        .arg(&users)
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(line.contains("users.toml"), "{line}");
    assert!(line.contains("nothing was written"), "{line}");
}

// Issue #17: a name that matches nothing (a misspelling) used to exit 0. Each `--sandbox`
// run starts from an empty world, and no journal names these hosts.
#[test]
fn teardown_of_a_name_that_matches_nothing_is_bad_input() {
    let state = tempfile::tempdir().unwrap();
    let out = cmd(TEARDOWN, state.path())
        .args(["--sandbox", "--json", "web-01", "web-02"])
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(line.contains("nothing matched web-01, web-02"), "{line}");
    assert!(out.stdout.is_empty(), "nothing reported as torn down");
}

/// A `sandbox` server process; killed (SIGKILL: no destructor runs in it) and waited for on
/// drop.
pub(crate) struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a `sandbox` server writing its files under `dir` (a folder the test owns). The
/// environment returned points the other binaries at it, and gives them and the server a
/// temp folder (`TMPDIR`) in `dir` too: the server is killed, and a binary interrupted, by a
/// signal, and whatever they leave there goes with `dir`.
pub(crate) fn start_sandbox(dir: &Path, boot_ms: u64) -> (Server, Vec<(String, String)>) {
    let env_file = dir.join("sandbox.env");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut child = Command::new(SANDBOX)
        .arg("--env-file")
        .arg(&env_file)
        .arg("--home")
        .arg(dir.join("home"))
        .args(["--boot-ms", &boot_ms.to_string()])
        .env_remove("RUST_LOG")
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("sandbox ready"), "{line}");
    let mut env: Vec<(String, String)> = std::fs::read_to_string(&env_file)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    env.push(("TMPDIR".to_owned(), tmp.display().to_string()));
    (Server(child), env)
}

pub(crate) const ONE_HOST: &str = r#"
[[hosts]]
name = "app-01"
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["ops"]
dns = { zone = "example.com" }
chef = { environment = "_default", run_list = ["role[base]"] }
"#;

#[test]
fn real_configuration_path_against_the_sandbox_server() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 300);
    let spec = dir.path().join("one.toml");
    std::fs::write(&spec, ONE_HOST).unwrap();
    let state = dir.path().join("state");
    let out = sandboxed(PROVISION, &state, &env)
        .arg("--spec")
        .arg(&spec)
        .arg("--json")
        .output()
        .unwrap();
    let v = json_ok(&out);
    assert_eq!(v["hosts"][0]["ok"], true, "{v}");
    let out = sandboxed(TEARDOWN, &state, &env)
        .args(["--zone", "example.com", "--json", "app-01"])
        .output()
        .unwrap();
    assert_ok(&out);
}

pub(crate) const TWO_HOSTS: &str = r#"
[defaults]
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["ops"]
chef = { environment = "_default", run_list = ["role[base]"] }

[[hosts]]
name = "app-01"
dns = { zone = "example.com" }

[[hosts]]
name = "app-02"
dns = { zone = "example.com", record = "api" }
"#;

#[test]
fn teardown_spec_removes_every_host_of_the_spec_with_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 300);
    let spec = dir.path().join("two.toml");
    std::fs::write(&spec, TWO_HOSTS).unwrap();
    let state = dir.path().join("state");
    let run = |bin: &str, args: &[&str]| sandboxed(bin, &state, &env).args(args).output().unwrap();
    let spec_arg = spec.to_str().unwrap();
    let out = run(PROVISION, &["--spec", spec_arg, "--json"]);
    assert_ok(&out);

    // Names and --spec together are refused before anything is touched.
    let out = run(TEARDOWN, &["--spec", spec_arg, "app-01"]);
    assert!(one_line_error(&out, 2).contains("not both"));

    let out = run(TEARDOWN, &["--spec", spec_arg, "--json"]);
    let v = json_ok(&out);
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "{v}");
    for (host, fqdn) in [
        (&hosts[0], "app-01.example.com"),
        (&hosts[1], "api.example.com"),
    ] {
        assert_eq!(host["complete"], true, "{v}");
        let removed: Vec<&str> = host["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["outcome"] == "removed")
            .map(|a| a["resource"].as_str().unwrap())
            .collect();
        assert!(
            removed
                .iter()
                .any(|r| r.starts_with("dns A ") && r.contains(fqdn)),
            "{v}"
        );
        assert!(removed.iter().any(|r| r.starts_with("droplet ")), "{v}");
        assert!(removed.iter().any(|r| r.starts_with("chef node")), "{v}");
    }

    // Re-runnable: everything is already gone.
    let out = run(TEARDOWN, &["--spec", spec_arg, "--json"]);
    let v = json_ok(&out);
    let again = v["hosts"].as_array().unwrap();
    assert!(
        again.iter().all(|h| h["complete"] == true
            && h["actions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["outcome"] != "removed")),
        "{v}"
    );
}

/// Writes `spec_toml` to a file in `dir` and runs `provision --spec` against a sandbox whose
/// droplets take 8 s to boot, interrupting it with SIGINT while it waits for them. Returns the
/// spec's path and the one error line printed.
fn interrupted_provision(
    dir: &Path,
    env: &[(String, String)],
    state: &Path,
    spec_toml: &str,
) -> (std::path::PathBuf, String) {
    let spec = dir.join("spec.toml");
    std::fs::write(&spec, spec_toml).unwrap();
    let child = sandboxed(PROVISION, state, env)
        .arg("--spec")
        .arg(&spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt mid-wait: once every host's journal shows its droplet created and the boot
    // wait started (the sandbox boots in seconds), never after a fixed sleep, which on a
    // loaded machine can land before the first write or after the boot.
    let hosts = spec_toml.matches("[[hosts]]").count();
    wait_for_journals(state, hosts, "wait_active");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    (spec, one_line_error(&out, 1))
}

/// Waits (up to 120 s, polling every 20 ms) until `hosts` run journals under `state` record
/// `step` as started. Journals are written atomically (rename), so a parse error only
/// means a file that is not a journal.
pub(crate) fn wait_for_journals(state: &Path, hosts: usize, step: &str) {
    fn journals(dir: &Path, out: &mut Vec<serde_json::Value>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                journals(&p, out);
            } else if p.extension().is_some_and(|x| x == "json") {
                if let Ok(v) = serde_json::from_slice(&std::fs::read(&p).unwrap_or_default()) {
                    out.push(v);
                }
            }
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let mut found = Vec::new();
        journals(state, &mut found);
        let at = found
            .iter()
            .filter(|j| {
                j["steps"].as_array().is_some_and(|steps| {
                    steps
                        .iter()
                        .any(|s| s["step"] == step && s["state"] == "started")
                })
            })
            .count();
        if at >= hosts {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after 120 s, {at} of {hosts} journals under {} show `{step}` started",
            state.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_mid_wait_then_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 8000);
    let state = dir.path().join("state");
    let (_spec, line) = interrupted_provision(dir.path(), &env, &state, ONE_HOST);
    assert!(line.contains("provision --resume RUN"), "{line}");
    let run = line
        .split("app-01=")
        .nth(1)
        .and_then(|s| s.split([')', ',']).next())
        .expect("run id in the message")
        .to_owned();
    let out = sandboxed(PROVISION, &state, &env)
        .args(["--resume", &run, "--json"])
        .output()
        .unwrap();
    let v = json_ok(&out);
    assert_eq!(v["hosts"][0]["ok"], true, "{v}");
    assert_eq!(v["hosts"][0]["run_id"], run.as_str());
}

#[test]
fn key_sync_audit_and_fast_revoke_against_the_sandbox_server() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 300);
    let state = dir.path().join("state");
    let users = dir.path().join("users.toml");
    std::fs::write(
        &users,
        "[[users]]\nid = \"alice\"\ngroups = [\"sysadmin\"]\nssh_keys = [\"ssh-ed25519 \
         AAAAC3NzaC1lZDI1NTE5AAAAIBeWCdqgTHkMwwiXNHKPGKc95MkBGbrhAnMZ8fJb2Vrh alice@laptop\"]\n\n\
         [[users]]\nid = \"bob\"\ngroups = [\"sysadmin\"]\nssh_keys = [\"ssh-ed25519 \
         AAAAC3NzaC1lZDI1NTE5AAAAIAxQsMBt80t6AAc7q16+iVlm2MWVPWtP1LmH9LKGhg6m bob@laptop\"]\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = sandboxed(KEY_SYNC, &state, &env)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let users = users.to_str().unwrap();
    let v = run(&["--users", users, "--json"]);
    assert_eq!(v["result"], "applied", "{v}");

    let v = run(&["--users", users, "--audit", "--json"]);
    assert_eq!(v["result"], "audit", "{v}");
    assert_eq!(v["digest_up_to_date"], true, "{v}");
    // The sandbox account has one hand-made key (`ops`): reported, and not ours to delete.
    let foreign = v["account_keys_not_in_source"].as_array().unwrap();
    assert_eq!(foreign.len(), 1, "{v}");
    assert_eq!(foreign[0]["name"], "ops", "{v}");
    assert_eq!(foreign[0]["managed"], false, "{v}");

    // Issue #17: `--dry-run` used to revoke for real. Now it reports, and writes nothing: the
    // audit that follows still finds the digest up to date.
    let v = run(&["--revoke", "bob", "--dry-run", "--json"]);
    assert_eq!(v["result"], "would_revoke", "{v}");
    assert_eq!(v["dry_run"], true, "{v}");
    assert_eq!(v["keys_deleted"].as_array().unwrap().len(), 1, "{v}");
    let v = run(&["--users", users, "--audit", "--json"]);
    assert_eq!(
        v["digest_up_to_date"], true,
        "the dry run wrote nothing: {v}"
    );

    let v = run(&["--revoke", "bob", "--json"]);
    assert_eq!(v["result"], "revoked", "{v}");
    assert_eq!(v["user"], "bob");
    assert_eq!(v["item_written"], true, "{v}");
    assert_eq!(v["keys_deleted"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["nodes_with_key"], serde_json::json!([]), "{v}");

    // Issue #23: `--wait` polls the nodes' reports; no node holds bob's key (this world has
    // no node), so it ends at the first poll with exit 0. (Exit 6 is in exit_codes.rs.)
    let out = sandboxed(KEY_SYNC, &state, &env)
        .args(["--revoke", "bob", "--wait", "10m", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two JSON documents: the revoke, then the wait.
    let last: serde_json::Value = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<serde_json::Value>()
        .last()
        .unwrap()
        .unwrap();
    assert_eq!(last["result"], "revoke_reached_every_node", "{last}");
    assert_eq!(last["polls"], 1, "{last}");

    // The source still lists bob as present: the audit says so, and exits 5 (drift, for cron;
    // issue #17), with one error line.
    let out = sandboxed(KEY_SYNC, &state, &env)
        .args(["--users", users, "--audit", "--json"])
        .output()
        .unwrap();
    let line = one_line_error(&out, 5);
    assert!(line.contains("the audit found drift"), "{line}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["digest_up_to_date"], false, "{v}");
    assert!(!v["drift"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn sigint_mid_fleet_then_resume_batch_finishes_every_host() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 8000);
    let state = dir.path().join("state");
    let (spec, line) = interrupted_provision(dir.path(), &env, &state, TWO_HOSTS);
    let batch = line
        .split("provision --resume-batch ")
        .nth(1)
        .and_then(|s| s.split('`').next())
        .unwrap_or_else(|| panic!("batch id in the message: {line}"))
        .to_owned();
    assert!(
        line.contains("app-01=") && line.contains("app-02="),
        "{line}"
    );

    let resume = |extra: &[&str]| {
        sandboxed(PROVISION, &state, &env)
            .args(extra)
            .output()
            .unwrap()
    };
    // Not together with a run id or a spec.
    let out = resume(&["--resume-batch", &batch, "--resume", "x"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = resume(&["--resume-batch", &batch, "--json"]);
    let v = json_ok(&out);
    assert_eq!(v["batch_id"], batch.as_str(), "{v}");
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "{v}");
    assert!(hosts.iter().all(|h| h["ok"] == true), "{v}");
    // Nothing was created twice: tearing the spec down removes exactly one droplet per host.
    let out = sandboxed(TEARDOWN, &state, &env)
        .arg("--spec")
        .arg(&spec)
        .arg("--json")
        .output()
        .unwrap();
    let v = json_ok(&out);
    for h in v["hosts"].as_array().unwrap() {
        let droplets = h["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| {
                a["outcome"] == "removed" && a["resource"].as_str().unwrap().starts_with("droplet ")
            })
            .count();
        assert_eq!(droplets, 1, "{v}");
    }

    // An unknown batch is a clear error.
    let out = resume(&["--resume-batch", "0123456789abcdef"]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot resume batch"), "{err}");
}

/// A provider (or a debugging proxy in front of one) that refuses every request and echoes
/// it whole — request line, every header, the body — in an error body each provider's
/// client reads: DigitalOcean's `id`/`message`, Dyn's `msgs`, Chef's `error`, and as plain
/// text for nagios-api. Serves until the test process ends.
pub(crate) fn start_echo_provider() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then as much body as Content-Length says.
            let body_len = loop {
                let Ok(n) = s.read(&mut buf) else { break None };
                if n == 0 {
                    break None;
                }
                req.extend_from_slice(&buf[..n]);
                if let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break Some(end + 4 + len);
                }
            };
            while body_len.is_some_and(|want| req.len() < want) {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let echo = format!("refused: {}", String::from_utf8_lossy(&req));
            let body = serde_json::json!({
                "id": "unauthorized", "message": echo,
                "status": "failure", "data": {}, "job_id": 1,
                "msgs": [{"INFO": echo, "SOURCE": "BLL", "ERR_CD": "INVALID_DATA", "LVL": "ERROR"}],
                "error": [echo],
            })
            .to_string();
            let _ = write!(
                s,
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/")
}

/// Every file below `dir`, as text.
pub(crate) fn files_below(dir: &Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_below(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// Runs `cmd` (plain and `--json`, at `RUST_LOG=trace`) and asserts `canaries` appear in
/// none of stdout, stderr and the files under `state`; with `echoed`, that the provider's
/// echo of them reached the output scrubbed (a Chef server never sees the key: only its
/// signatures, so there is nothing of it to scrub).
fn assert_no_canary(
    mut make: impl FnMut() -> Command,
    state: &Path,
    canaries: &[&str],
    echoed: bool,
) {
    for json in [false, true] {
        let mut c = make();
        c.env("RUST_LOG", "trace");
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        assert!(!out.status.success(), "the echoing provider refuses");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for canary in canaries {
            assert!(!stdout.contains(canary), "stdout holds {canary}:\n{stdout}");
            assert!(!stderr.contains(canary), "stderr holds {canary}:\n{stderr}");
            for (path, text) in files_below(state) {
                assert!(!text.contains(canary), "{} holds {canary}", path.display());
            }
        }
        assert!(
            !echoed || stderr.contains("[REDACTED]") || stdout.contains("[REDACTED]"),
            "the echo reached the output, scrubbed:\n{stderr}"
        );
    }
}

pub(crate) fn with_env(env: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    let mut env: Vec<_> = env.iter().filter(|(k, _)| k != key).cloned().collect();
    env.push((key.to_owned(), value.to_owned()));
    env
}

// Issue #17 item 3: a provider that echoes the refused request puts no secret anywhere:
// stdout (plain and --json), stderr at trace level, the journals.
/// `provision --spec` of one host against the sandbox, with `setup` pointing one provider
/// at an echoing server (it gets the sandbox's folder and environment and returns the
/// canaries); asserts no canary anywhere.
fn provision_with_an_echoing_provider(
    setup: impl FnOnce(&Path, &mut Vec<(String, String)>) -> Vec<String>,
    echoed: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let (_server, mut env) = start_sandbox(dir.path(), 300);
    let spec = dir.path().join("one.toml");
    std::fs::write(&spec, ONE_HOST).unwrap();
    let state = dir.path().join("state");
    let canaries = setup(dir.path(), &mut env);
    let canaries: Vec<&str> = canaries.iter().map(String::as_str).collect();
    assert_no_canary(
        || {
            let mut c = sandboxed(PROVISION, &state, &env);
            c.arg("--spec").arg(&spec);
            c
        },
        &state,
        &canaries,
        echoed,
    );
}

#[test]
fn an_echoing_digitalocean_puts_the_token_nowhere() {
    provision_with_an_echoing_provider(
        |_, env| {
            let canary = "dop_v1_canary0123456789abcdef";
            *env = with_env(env, "DIGITALOCEAN_TOKEN", canary);
            *env = with_env(env, "DIGITALOCEAN_API_URL", &start_echo_provider());
            vec![canary.to_owned()]
        },
        true,
    );
}

#[test]
fn an_echoing_dyn_puts_the_password_nowhere() {
    provision_with_an_echoing_provider(
        |_, env| {
            let canary = "dyn-canary-password-17";
            *env = with_env(env, "DYN_PASSWORD", canary);
            *env = with_env(env, "DYN_API_URL", &start_echo_provider());
            vec![canary.to_owned()]
        },
        true,
    );
}

#[test]
fn an_echoing_chef_server_puts_the_key_nowhere() {
    // Point the sandbox's Chef profile at the echoing server; the canaries are the key's
    // body lines (the key is never sent, its signature is: nothing of it to see scrubbed).
    provision_with_an_echoing_provider(
        |dir, _| {
            let home = dir.join("home");
            let creds = home.join(".chef/credentials");
            let echo = start_echo_provider();
            let text: String = std::fs::read_to_string(&creds)
                .unwrap()
                .lines()
                .map(|l| {
                    if l.starts_with("chef_server_url") {
                        format!("chef_server_url = \"{echo}\"\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            std::fs::write(&creds, text).unwrap();
            let pem = std::fs::read_to_string(home.join(".chef/sandbox-admin.pem")).unwrap();
            let lines: Vec<String> = pem
                .lines()
                .filter(|l| !l.starts_with("-----") && l.len() > 40)
                .map(str::to_owned)
                .collect();
            assert!(!lines.is_empty());
            lines
        },
        false,
    );
}

#[test]
fn an_echoing_nagios_api_puts_the_password_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let canary = "nagios-canary-password-17";
    let config = dir.path().join("status.toml");
    std::fs::write(
        &config,
        "page_name = \"x\"\n[[components]]\nname = \"Web\"\nmembers = [\"web-01\"]\n",
    )
    .unwrap();
    let url = start_echo_provider();
    let basic = {
        // `ops:<canary>` in base64, as the Authorization header carries it.
        let out = Command::new("base64")
            .arg("-w0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut ch| {
                use std::io::Write as _;
                ch.stdin
                    .take()
                    .unwrap()
                    .write_all(format!("ops:{canary}").as_bytes())?;
                ch.wait_with_output()
            })
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_no_canary(
        || {
            let mut c = cmd(STATUS, &state);
            c.arg("--config").arg(&config);
            c.env("NAGIOS_API_URL", &url)
                .env("NAGIOS_API_USER", "ops")
                .env("NAGIOS_API_PASSWORD", canary);
            c
        },
        &state,
        &[canary, &basic],
        // nagios-client keeps the body only in `Debug` (never printed by the binaries).
        false,
    );
}

/// Issue #17 item 6, as a process: a fleet with one invalid host name (`web_32`) beside a
/// valid one is refused as a whole before the first write — exit 2, one line naming the bad
/// host, no run journal (before the fix `web-31` was created and the run exited 4).
#[test]
fn a_fleet_with_one_invalid_host_is_refused_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 300);
    let spec = dir.path().join("fleet.toml");
    std::fs::write(
        &spec,
        TWO_HOSTS
            .replace("app-01", "web-31")
            .replace("app-02", "web_32"),
    )
    .unwrap();
    let state = dir.path().join("state");
    let out = sandboxed(PROVISION, &state, &env)
        .arg("--spec")
        .arg(&spec)
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(line.contains("web_32"), "{line}");
    let journals = std::fs::read_dir(&state).map_or(0, |d| d.count());
    assert_eq!(journals, 0, "nothing was journaled, so nothing was created");
}

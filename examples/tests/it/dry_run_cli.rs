//! Issue #17: `--dry-run` is a guarantee, not a flag each command remembers. Every binary
//! and subcommand that takes `--dry-run` (and the audit, which only reads) runs against one
//! `sandbox` server after real writes gave it something to look at; the fakes' own request
//! logs (`sandbox --request-log`, dumped on SIGUSR1) then hold no write from any of them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::fleet_cli::{KEY_SYNC, ONE_HOST, PROVISION, SANDBOX, STATUS, TEARDOWN, sandboxed};

/// The sandbox server, stopped with SIGKILL and waited for on drop (also when the test fails).
pub(crate) struct Server {
    child: std::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(dir: &Path, log: &Path) -> (Server, Vec<(String, String)>) {
    let env_file = dir.join("sandbox.env");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut child = Command::new(SANDBOX)
        .arg("--env-file")
        .arg(&env_file)
        .arg("--home")
        .arg(dir.join("home"))
        .arg("--request-log")
        .arg(log)
        .args(["--boot-ms", "0"])
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
    (Server { child }, env)
}

/// Asks the server for dump `n` of its request log (SIGUSR1) and waits for it (a deadline
/// for a condition, not a duration the test relies on): per provider, `(method, path)`.
pub(crate) fn dump(server: &Server, log: &Path, n: u64) -> BTreeMap<String, Vec<(String, String)>> {
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-USR1", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().next() == Some(format!("# dump {n}").as_str()) {
            let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
            for l in text.lines().skip(1) {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                out.entry(v["provider"].as_str().unwrap().to_owned())
                    .or_default()
                    .push((
                        v["method"].as_str().unwrap().to_owned(),
                        v["path"].as_str().unwrap().to_owned(),
                    ));
            }
            return out;
        }
        assert!(Instant::now() < deadline, "no dump {n} of the request log");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A request that changes nothing: a read, or one of the few non-GET calls that only read
/// or only open and close a session, each with its reason.
fn is_read(provider: &str, method: &str, path: &str) -> bool {
    match (provider, method) {
        (_, "GET" | "HEAD") => true,
        // Dyn's session login and logout: a session, no change to any zone.
        ("dyn", "POST" | "DELETE") => path.trim_end_matches('/') == "/REST/Session",
        // Chef's partial search is a POST by design: it reads.
        ("chef", "POST") => path.contains("/search/"),
        _ => false,
    }
}

fn run(c: &mut Command, what: &str, codes: &[i32]) -> Output {
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some_and(|c| codes.contains(&c)),
        "{what}: exit {:?}, expected one of {codes:?}: {err}",
        out.status.code()
    );
    // A workflow that tried to write through the read-only ports says so: that is a bug.
    assert!(
        !err.contains("dry run: refused")
            && !String::from_utf8_lossy(&out.stdout).contains("dry run: refused"),
        "{what} tried to write in a dry run: {err}"
    );
    out
}

#[test]
fn every_dry_run_and_the_audit_send_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let (server, env) = start(dir.path(), &log);
    let state = dir.path().join("state");
    let spec = dir.path().join("one.toml");
    std::fs::write(&spec, ONE_HOST).unwrap();
    let new_spec = dir.path().join("new.toml");
    std::fs::write(&new_spec, ONE_HOST.replace("app-01", "app-09")).unwrap();
    let users = dir.path().join("users.toml");
    std::fs::write(&users, ops_examples::sandbox::providers::SANDBOX_USERS_TOML).unwrap();
    let status_toml = dir.path().join("status.toml");
    std::fs::write(
        &status_toml,
        ops_examples::sandbox::nagios::SANDBOX_STATUS_TOML,
    )
    .unwrap();

    // Real writes first, so the dry runs have something to tear down, revoke and audit.
    run(
        sandboxed(PROVISION, &state, &env).arg("--spec").arg(&spec),
        "provision",
        &[0],
    );
    run(
        sandboxed(KEY_SYNC, &state, &env).arg("--users").arg(&users),
        "key-sync",
        &[0],
    );
    let before = dump(&server, &log, 1);
    assert!(
        before
            .iter()
            .any(|(p, rs)| rs.iter().any(|(m, path)| !is_read(p, m, path))),
        "the real runs wrote nothing? {before:?}"
    );

    // Every dry run the binaries offer, and the read-only commands.
    run(
        sandboxed(PROVISION, &state, &env)
            .arg("--spec")
            .arg(&spec)
            .arg("--dry-run"),
        "provision --dry-run (existing host)",
        &[0, 2],
    );
    run(
        sandboxed(PROVISION, &state, &env)
            .arg("--spec")
            .arg(&new_spec)
            .arg("--dry-run"),
        "provision --dry-run (new host)",
        &[0],
    );
    run(
        sandboxed(TEARDOWN, &state, &env).args(["--dry-run", "app-01"]),
        "teardown --dry-run",
        &[0],
    );
    run(
        sandboxed(TEARDOWN, &state, &env)
            .arg("--dry-run")
            .arg("--spec")
            .arg(&spec),
        "teardown --spec --dry-run",
        &[0],
    );
    run(
        sandboxed(KEY_SYNC, &state, &env)
            .arg("--users")
            .arg(&users)
            .arg("--dry-run"),
        "key-sync --dry-run",
        &[0],
    );
    run(
        sandboxed(KEY_SYNC, &state, &env).args(["--revoke", "alice", "--dry-run"]),
        "key-sync --revoke --dry-run",
        &[0],
    );
    run(
        sandboxed(KEY_SYNC, &state, &env)
            .arg("--users")
            .arg(&users)
            .arg("--audit"),
        "key-sync --audit",
        &[0, 5],
    );
    run(
        sandboxed(STATUS, &state, &env)
            .arg("--config")
            .arg(&status_toml),
        "status",
        &[0],
    );
    let after = dump(&server, &log, 2);

    let mut writes = Vec::new();
    let mut reads = 0;
    for (provider, rs) in &after {
        let old = before.get(provider).map_or(0, Vec::len);
        for (m, path) in rs.iter().skip(old) {
            if is_read(provider, m, path) {
                reads += 1;
            } else {
                writes.push(format!("{provider} {m} {path}"));
            }
        }
    }
    assert!(reads > 0, "the dry runs read nothing?");
    assert!(writes.is_empty(), "dry runs wrote: {writes:#?}");

    // And the world is as the real runs left it: the host is still there.
    let out = run(
        sandboxed(TEARDOWN, &state, &env).args(["--dry-run", "--json", "app-01"]),
        "teardown --dry-run again",
        &[0],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("would_remove"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

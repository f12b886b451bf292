//! Issue #21: the state in Postgres (`OPS_STATE_URL`) and the leases, with real processes
//! against one `sandbox` server (one fake world) and a real Postgres (a throwaway cluster
//! from the installed server binaries). Each runner has its own `OPS_STATE_DIR`: only the
//! state database is shared, as between two machines. Nothing waits on the clock: the
//! runners stop at a test hook (`OPS_PROVISION_TEST_PAUSE`, `OPS_KEY_SYNC_TEST_PAUSE`) until
//! a file exists, and every wait is for a condition, under a generous deadline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use ops_examples::sandbox::postgres::Cluster;

use crate::dry_run_cli::{Server, dump, start};
use crate::fleet_cli::{KEY_SYNC, PROVISION, TWO_HOSTS, sandboxed};

/// A throwaway Postgres for the state database.
fn state_db() -> (Cluster, String) {
    let c = Cluster::start()
        .unwrap_or_else(|e| panic!("these tests need the PostgreSQL server binaries: {e}"));
    let url = c.conninfo("postgres");
    (c, url)
}

/// A runner process: killed and waited for on drop (also when the test fails); its stdout
/// and stderr in files.
struct Runner {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Runner {
    fn spawn(c: &mut Command, dir: &Path, name: &str) -> Runner {
        let out = dir.join(format!("{name}.out"));
        let err = dir.join(format!("{name}.err"));
        let child = c
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Runner { child, out, err }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits for the process to exit (a deadline for the condition, not a duration).
    fn wait(&mut self, what: &str) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not finish within 5 minutes: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until its stderr holds `text`.
    fn wait_for(&mut self, text: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if self.stderr().contains(text) {
                return;
            }
            if let Some(s) = self.child.try_wait().unwrap() {
                panic!("{what} exited ({s}) before `{text}`: {}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "{what}: no `{text}` within 5 minutes: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Waits until one of `runners` has exited; returns its index.
fn first_to_exit(runners: &mut [Runner]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        for (i, r) in runners.iter_mut().enumerate() {
            if r.child.try_wait().unwrap().is_some() {
                return i;
            }
        }
        assert!(
            Instant::now() < deadline,
            "neither runner finished within 5 minutes: {} / {}",
            runners[0].stderr(),
            runners[1].stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The droplet creates the fake DigitalOcean served, by the request log.
fn droplet_creates(server: &Server, log: &Path, n: u64) -> usize {
    dump(server, log, n)
        .get("digitalocean")
        .map(|rs| {
            rs.iter()
                .filter(|(m, p)| m == "POST" && p.trim_end_matches('/') == "/v2/droplets")
                .count()
        })
        .unwrap_or(0)
}

/// The one error line of a refused runner.
fn error_line(r: &Runner) -> String {
    let err = r.stderr();
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    lines[0].to_owned()
}

/// Two `provision` processes on the same spec, started at the same moment, two "machines"
/// (state folders) sharing one state database and one fake world: one holds every host's
/// lease and provisions, the other is refused before it writes anything (exit 7, naming
/// the run and host that hold it); each host gets exactly one droplet.
#[test]
fn two_provisions_of_one_spec_at_once_make_each_host_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, url) = state_db();
    let log = dir.path().join("requests.log");
    let (server, env) = start(dir.path(), &log);
    let spec = dir.path().join("two.toml");
    std::fs::write(&spec, TWO_HOSTS).unwrap();
    let release = dir.path().join("release");
    let mut runners: Vec<Runner> = (0..2)
        .map(|i| {
            let state = dir.path().join(format!("machine-{i}"));
            Runner::spawn(
                sandboxed(PROVISION, &state, &env)
                    .env("OPS_STATE_URL", &url)
                    // The winner stops before its first droplet, holding the leases.
                    .env("OPS_PROVISION_TEST_PAUSE", "create_droplet")
                    .env("OPS_PROVISION_TEST_RELEASE", &release)
                    .arg("--spec")
                    .arg(&spec)
                    .arg("--json"),
                dir.path(),
                &format!("provision-{i}"),
            )
        })
        .collect();
    let loser = first_to_exit(&mut runners);
    let winner = 1 - loser;
    let status = runners[loser].wait("the refused provision");
    assert_eq!(status.code(), Some(7), "{}", runners[loser].stderr());
    let line = error_line(&runners[loser]);
    assert!(
        line.contains("is held by run") && line.contains("on host"),
        "the refusal names the holder: {line}"
    );
    assert!(
        line.contains("`host:app-01`"),
        "the first name in order: {line}"
    );
    assert!(
        !url.is_empty() && !line.contains(&url),
        "never the state URL: {line}"
    );
    // The winner is paused before creating anything: nothing created yet by either.
    runners[winner].wait_for("test hook: paused before step create_droplet", "the winner");
    assert_eq!(droplet_creates(&server, &log, 1), 0);
    std::fs::write(&release, "").unwrap();
    let status = runners[winner].wait("the winning provision");
    assert!(status.success(), "{}", runners[winner].stderr());
    let v: serde_json::Value = serde_json::from_str(&runners[winner].stdout()).unwrap();
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "{v}");
    assert!(hosts.iter().all(|h| h["ok"] == true), "{v}");
    assert_eq!(
        droplet_creates(&server, &log, 2),
        2,
        "exactly one droplet per host"
    );
    // The loser wrote no journal anywhere; the leases are given back.
    assert!(
        !dir.path().join(format!("machine-{loser}")).exists()
            || std::fs::read_dir(dir.path().join(format!("machine-{loser}")))
                .unwrap()
                .next()
                .is_none(),
        "the refused runner wrote nothing locally"
    );
}

/// A runner killed with SIGKILL mid-run (after its droplet exists) holds its host's lease
/// until it expires; another machine's `provision --resume RUN --wait` (its own state
/// folder, the same state database) waits for that, takes the lease over and finishes the
/// run with the droplet the dead runner made.
#[test]
fn a_killed_runner_is_taken_over_by_another_machine_after_its_lease_expires() {
    let dir = tempfile::tempdir().unwrap();
    let (db, url) = state_db();
    let log = dir.path().join("requests.log");
    let (server, env) = start(dir.path(), &log);
    let spec = dir.path().join("one.toml");
    std::fs::write(&spec, crate::fleet_cli::ONE_HOST).unwrap();
    let release = dir.path().join("never-released");
    let mut a = Runner::spawn(
        sandboxed(PROVISION, &dir.path().join("machine-a"), &env)
            .env("OPS_STATE_URL", &url)
            // A short lease, so the takeover comes soon after the kill (renewed every
            // third of it while A lives).
            .env("OPS_LEASE_TTL", "6s")
            .env("OPS_PROVISION_TEST_PAUSE", "dns_records")
            .env("OPS_PROVISION_TEST_RELEASE", &release)
            .arg("--spec")
            .arg(&spec),
        dir.path(),
        "provision-a",
    );
    a.wait_for("test hook: paused before step dns_records", "runner A");
    a.child.kill().unwrap();
    let status = a.wait("the killed runner");
    assert!(!status.success());
    assert_eq!(droplet_creates(&server, &log, 1), 1);
    let run = one_journal_key(&db);

    let mut b = Runner::spawn(
        sandboxed(PROVISION, &dir.path().join("machine-b"), &env)
            .env("OPS_STATE_URL", &url)
            .args(["--resume", &run, "--wait", "10m", "--json"]),
        dir.path(),
        "provision-b",
    );
    let status = b.wait("the resume on machine B");
    assert!(status.success(), "{}", b.stderr());
    let v: serde_json::Value = serde_json::from_str(&b.stdout()).unwrap();
    assert_eq!(v["hosts"][0]["ok"], true, "{v}");
    assert_eq!(v["resumed"], run.as_str());
    assert_eq!(
        droplet_creates(&server, &log, 2),
        1,
        "the resumed run kept the dead runner's droplet"
    );
    assert!(
        !dir.path()
            .join("machine-b")
            .join(format!("{run}.json"))
            .exists(),
        "the journal lives in the state database, not in B's folder"
    );
}

/// The key of the one journal in the state database.
fn one_journal_key(db: &Cluster) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(db.query_one(
        "postgres",
        "SELECT string_agg(key, ',') FROM ops_state_doc WHERE kind = 'journal'",
    ))
    .unwrap()
}

/// Two key-sync runs at once on two machines: one holds the users bag's lease and applies,
/// the other reports "already running" (exit 7) and writes nothing.
#[test]
fn two_key_syncs_at_once_one_applies_one_is_already_running() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, url) = state_db();
    let log = dir.path().join("requests.log");
    let (_server, env) = start(dir.path(), &log);
    let users = dir.path().join("users.toml");
    std::fs::write(&users, ops_examples::sandbox::providers::SANDBOX_USERS_TOML).unwrap();
    let release = dir.path().join("release");
    let mut runners: Vec<Runner> = (0..2)
        .map(|i| {
            let state = dir.path().join(format!("machine-{i}"));
            Runner::spawn(
                sandboxed(KEY_SYNC, &state, &env)
                    .env("OPS_STATE_URL", &url)
                    .env("OPS_KEY_SYNC_TEST_PAUSE", &release)
                    .arg("--users")
                    .arg(&users)
                    .arg("--json"),
                dir.path(),
                &format!("key-sync-{i}"),
            )
        })
        .collect();
    let loser = first_to_exit(&mut runners);
    let winner = 1 - loser;
    let status = runners[loser].wait("the refused key-sync");
    assert_eq!(status.code(), Some(7), "{}", runners[loser].stderr());
    let line = error_line(&runners[loser]);
    assert!(
        line.contains("key-sync is already running") && line.contains("held by run key-sync-"),
        "{line}"
    );
    assert!(runners[loser].stdout().is_empty(), "no report from it");
    runners[winner].wait_for(
        "test hook: paused holding the users bag lease",
        "the winner",
    );
    std::fs::write(&release, "").unwrap();
    let status = runners[winner].wait("the winning key-sync");
    assert!(status.success(), "{}", runners[winner].stderr());
    let v: serde_json::Value = serde_json::from_str(&runners[winner].stdout()).unwrap();
    assert_eq!(v["result"], "applied", "{v}");
    // The lease was given back: the next run is not refused (and has nothing to do).
    let mut again = Runner::spawn(
        sandboxed(KEY_SYNC, &dir.path().join("machine-0"), &env)
            .env("OPS_STATE_URL", &url)
            .arg("--users")
            .arg(&users)
            .arg("--json"),
        dir.path(),
        "key-sync-again",
    );
    let status = again.wait("the next key-sync");
    assert!(status.success(), "{}", again.stderr());
    let v: serde_json::Value = serde_json::from_str(&again.stdout()).unwrap();
    assert_eq!(v["result"], "up_to_date", "{v}");
}

/// `OPS_STATE_URL` is a secret: a state database that cannot be reached is a provider
/// failure (exit 3) whose one error line names the server, never the password, and nothing
/// the binaries print holds it (also at debug level).
#[test]
fn the_state_url_password_never_appears() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let canary = "state-db-pw-canary-21";
    let url = format!("postgres://ops:{canary}@127.0.0.1:{port}/ops_state");
    let users = dir.path().join("users.toml");
    std::fs::write(&users, ops_examples::sandbox::providers::SANDBOX_USERS_TOML).unwrap();
    for (bin, args) in [
        (PROVISION, vec!["--sandbox", "-v"]),
        (KEY_SYNC, vec!["--sandbox", "-v"]),
        (
            crate::fleet_cli::TEARDOWN,
            vec!["--sandbox", "-v", "--zone", "example.com", "app-01"],
        ),
    ] {
        let out = crate::fleet_cli::cmd(bin, &dir.path().join("state"))
            .env("OPS_STATE_URL", &url)
            .args(&args)
            .output()
            .unwrap();
        let line = crate::fleet_cli::one_line_error(&out, 3);
        assert!(
            line.contains("cannot open the state database (127.0.0.1"),
            "{bin}: {line}"
        );
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(canary), "{bin}: {all}");
    }
}

/// A key-sync whose state folder cannot be written (the read-only root of a hardened unit or
/// container) still runs, without the users bag's lease, and says so in a warning; the
/// folder backend's lease only ever kept apart runs of one machine.
#[test]
fn key_sync_without_a_writable_state_folder_runs_without_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let out = crate::fleet_cli::cmd(KEY_SYNC, &blocker.join("state"))
        .args(["--sandbox", "--json"])
        .output()
        .unwrap();
    let v = crate::fleet_cli::json_ok(&out);
    assert_eq!(v["result"], "applied", "{v}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without the users bag's lease"),
        "a warning says so: {err}"
    );
}

/// Sends SIGINT (Ctrl-C) to a runner.
fn interrupt(r: &Runner) {
    let status = Command::new("kill")
        .args(["-INT", &r.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Ctrl-C during `provision --resume` and `--resume-batch` stops the run (exit 1, one line
/// naming the command that continues it, the lease given back) instead of being ignored:
/// the binary replaces the default exit by signal with its own handler, so every path must
/// listen. Then a plain resume finishes the host with the droplet it already has.
#[test]
fn ctrl_c_stops_a_resume_and_a_resume_batch_and_the_next_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.log");
    let (server, env) = start(dir.path(), &log);
    let state = dir.path().join("state");
    let spec = dir.path().join("one.toml");
    std::fs::write(&spec, crate::fleet_cli::ONE_HOST).unwrap();
    let release = dir.path().join("never-released");
    let paused = |name: &str, args: &[&str]| {
        let mut r = Runner::spawn(
            sandboxed(PROVISION, &state, &env)
                .env("OPS_PROVISION_TEST_PAUSE", "dns_records")
                .env("OPS_PROVISION_TEST_RELEASE", &release)
                .args(args),
            dir.path(),
            name,
        );
        r.wait_for("test hook: paused before step dns_records", name);
        interrupt(&r);
        let status = r.wait(name);
        assert_eq!(status.code(), Some(1), "{name}: {}", r.stderr());
        error_line(&r)
    };

    let line = paused("first", &["--spec", spec.to_str().unwrap()]);
    let run = line
        .split("app-01=")
        .nth(1)
        .and_then(|s| s.split([')', ',']).next())
        .unwrap_or_else(|| panic!("run id in: {line}"))
        .to_owned();
    let batch = line
        .split("provision --resume-batch ")
        .nth(1)
        .and_then(|s| s.split('`').next())
        .unwrap_or_else(|| panic!("batch id in: {line}"))
        .to_owned();

    let line = paused("resume", &["--resume", &run]);
    assert!(
        line.contains("interrupted") && line.contains(&format!("provision --resume {run}")),
        "{line}"
    );
    let line = paused("resume-batch", &["--resume-batch", &batch]);
    assert!(
        line.contains("interrupted") && line.contains(&format!("provision --resume-batch {batch}")),
        "{line}"
    );

    // The leases were given back: the next resume is not refused, and finishes.
    let mut done = Runner::spawn(
        sandboxed(PROVISION, &state, &env).args(["--resume", &run, "--json"]),
        dir.path(),
        "finish",
    );
    let status = done.wait("the last resume");
    assert!(status.success(), "{}", done.stderr());
    let v: serde_json::Value = serde_json::from_str(&done.stdout()).unwrap();
    assert_eq!(v["hosts"][0]["ok"], true, "{v}");
    assert_eq!(droplet_creates(&server, &log, 1), 1, "one droplet in all");
}

//! The README's exit-code table (`examples/README.md`, "Exit codes of each binary") against
//! the binaries (issue #17): every row of the table has a case here that runs the binary and
//! gets that code (or names the test that does), and every case's code is a row of the
//! table. A row the code does not keep, or a code the table does not list, fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::contract_cli::{Mode, Proxy, Reaped, chef_home, closed_port_url, env_value};
use crate::fleet_cli::{
    KEY_SYNC, ONE_HOST, PROVISION, SANDBOX, STATUS, TEARDOWN, TWO_HOSTS, cmd, sandboxed,
    start_sandbox, with_env,
};

const DEMO: &str = env!("CARGO_BIN_EXE_demo");
const RESTORE: &str = env!("CARGO_BIN_EXE_restore");

/// What a case needs: a folder of its own and, when asked for, a `sandbox` server.
struct Ctx<'a> {
    dir: &'a Path,
    env: &'a [(String, String)],
}

impl Ctx<'_> {
    fn state(&self) -> std::path::PathBuf {
        self.dir.join("state")
    }

    fn file(&self, name: &str, text: &str) -> std::path::PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn run(&self, bin: &str, args: &[&str]) -> Output {
        cmd(bin, &self.state()).args(args).output().unwrap()
    }

    /// `bin` against the sandbox server, with `vars` changed.
    fn served(&self, bin: &str, vars: &[(&str, &str)], args: &[&str]) -> Output {
        let mut env = self.env.to_vec();
        for (k, v) in vars {
            env = with_env(&env, k, v);
        }
        sandboxed(bin, &self.state(), &env)
            .args(args)
            .output()
            .unwrap()
    }
}

/// How a row is checked.
enum Check {
    /// Run here: the code the process exits with.
    Run(fn(&Ctx<'_>) -> Output),
    /// Run by another test: `(file under tests/, function name)`.
    Elsewhere(&'static str, &'static str),
}

struct Case {
    binary: &'static str,
    code: i32,
    what: &'static str,
    check: Check,
}

fn run(binary: &'static str, code: i32, what: &'static str, f: fn(&Ctx<'_>) -> Output) -> Case {
    Case {
        binary,
        code,
        what,
        check: Check::Run(f),
    }
}

const A_RUN: &str = "1796000000-0badc0de";

/// `name`'s lease in the state folder `state`, held by another (made-up) run for an hour.
fn hold_lease(state: &Path, name: &str) {
    use ops_core::state::{FileStore, Holder, StateStore};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let holder = Holder {
        run: A_RUN.into(),
        host: "another-machine".into(),
        pid: 1,
    };
    rt.block_on(FileStore::new(state).acquire(name, &holder, std::time::Duration::from_secs(3600)))
        .unwrap();
}

/// A journal that does not decode, under the case's state folder.
fn corrupt_journal(c: &Ctx<'_>) {
    std::fs::create_dir_all(c.state()).unwrap();
    std::fs::write(c.state().join(format!("{A_RUN}.json")), "{\"version\": 1,").unwrap();
}

const PARTIAL_FLEET: &str = r#"
[defaults]
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["ops"]
dns = { zone = "example.com" }
chef = { environment = "_default", run_list = ["role[base]"] }

[[hosts]]
name = "app-01"

[[hosts]]
name = "app-02"
ssh_keys = ["no-such-key"]
"#;

const STATUS_OK: &str =
    "page_name = \"x\"\n[[components]]\nname = \"Web\"\nmembers = [\"web-01\"]\n";

fn cases() -> Vec<Case> {
    vec![
        // provision
        run("provision", 0, "a valid dry run", |c| {
            c.run(PROVISION, &["--sandbox", "--dry-run"])
        }),
        run("provision", 1, "a journal that does not decode", |c| {
            corrupt_journal(c);
            c.run(PROVISION, &["--sandbox", "--resume", A_RUN])
        }),
        Case {
            binary: "provision",
            code: 7,
            what: "another run holds a host's lease",
            check: Check::Elsewhere(
                "it/state_cli.rs",
                "two_provisions_of_one_spec_at_once_make_each_host_once",
            ),
        },
        run("provision", 2, "an unknown run", |c| {
            c.run(PROVISION, &["--sandbox", "--resume", "1796000000-00000000"])
        }),
        run(
            "provision",
            3,
            "DigitalOcean unreachable while validating",
            |c| {
                let spec = c.file("one.toml", ONE_HOST);
                c.served(
                    PROVISION,
                    &[("DIGITALOCEAN_API_URL", &closed_port_url())],
                    &["--spec", spec.to_str().unwrap()],
                )
            },
        ),
        run("provision", 4, "one host of two fails", |c| {
            let spec = c.file("partial.toml", PARTIAL_FLEET);
            c.run(PROVISION, &["--sandbox", "--spec", spec.to_str().unwrap()])
        }),
        // teardown
        run("teardown", 0, "every host of a spec (already gone)", |c| {
            let spec = c.file("one.toml", ONE_HOST);
            c.run(TEARDOWN, &["--sandbox", "--spec", spec.to_str().unwrap()])
        }),
        run(
            "teardown",
            1,
            "journals that cannot be read, no --zone",
            |c| {
                corrupt_journal(c);
                c.run(TEARDOWN, &["web-01"])
            },
        ),
        run("teardown", 2, "a name that matches nothing", |c| {
            c.run(TEARDOWN, &["--sandbox", "web-0l"])
        }),
        run("teardown", 3, "DigitalOcean unreachable", |c| {
            let spec = c.file("one.toml", ONE_HOST);
            c.served(
                TEARDOWN,
                &[("DIGITALOCEAN_API_URL", &closed_port_url())],
                &["--spec", spec.to_str().unwrap()],
            )
        }),
        run(
            "teardown",
            4,
            "one host's lookup refused, the other's not",
            |c| {
                let spec = c.file("two.toml", TWO_HOSTS);
                let proxy = Proxy::start(
                    Some(&env_value(c.env, "DIGITALOCEAN_API_URL")),
                    Mode::Refuse("name=app-02".into()),
                );
                c.served(
                    TEARDOWN,
                    &[("DIGITALOCEAN_API_URL", proxy.url())],
                    &["--spec", spec.to_str().unwrap()],
                )
            },
        ),
        run("teardown", 7, "another run holds the host's lease", |c| {
            hold_lease(&c.state(), "host:app-01");
            let spec = c.file("one.toml", ONE_HOST);
            c.served(TEARDOWN, &[], &["--spec", spec.to_str().unwrap()])
        }),
        // key-sync
        run("key-sync", 0, "a dry run", |c| {
            c.run(KEY_SYNC, &["--sandbox", "--dry-run"])
        }),
        run(
            "key-sync",
            1,
            "Ctrl-C while Chef holds the first request",
            |c| {
                let held = Proxy::start(None, Mode::Hold);
                let home = chef_home(c.env, c.dir, Some(held.url()), None);
                let env = with_env(c.env, "HOME", home.to_str().unwrap());
                let child = Reaped::spawn({
                    let mut k = sandboxed(KEY_SYNC, &c.state(), &env);
                    k.args(["--revoke", "alice"]);
                    k
                });
                held.wait_for_a_connection();
                child.interrupt();
                child.output()
            },
        ),
        run(
            "key-sync",
            2,
            "--revoke of a user that matches nothing",
            |c| c.run(KEY_SYNC, &["--sandbox", "--revoke", "nobody-such"]),
        ),
        run("key-sync", 3, "DigitalOcean unreachable", |c| {
            let users = c.file("users.toml", ops_examples::formats::USERS_EXAMPLE);
            c.served(
                KEY_SYNC,
                &[("DIGITALOCEAN_API_URL", &closed_port_url())],
                &["--full", "--users", users.to_str().unwrap()],
            )
        }),
        run("key-sync", 5, "an audit of a fresh world (drift)", |c| {
            c.run(KEY_SYNC, &["--sandbox", "--audit"])
        }),
        run(
            "key-sync",
            6,
            "--revoke --wait 0s while a node with the recipe has not reported",
            |c| {
                let spec = c.file("one.toml", ONE_HOST);
                let out = c.served(PROVISION, &[], &["--spec", spec.to_str().unwrap()]);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let users = c.file("users.toml", ops_examples::formats::USERS_EXAMPLE);
                let out = c.served(KEY_SYNC, &[], &["--users", users.to_str().unwrap()]);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let user = ops_examples::formats::USERS_EXAMPLE
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("id = \""))
                    .and_then(|l| l.split('"').next())
                    .unwrap();
                c.served(KEY_SYNC, &[], &["--revoke", user, "--wait", "0s"])
            },
        ),
        Case {
            binary: "key-sync",
            code: 7,
            what: "already running (another key-sync holds the users bag's lease)",
            check: Check::Elsewhere(
                "it/state_cli.rs",
                "two_key_syncs_at_once_one_applies_one_is_already_running",
            ),
        },
        // status
        run("status", 0, "the sandbox's summary", |c| {
            c.run(STATUS, &["--sandbox"])
        }),
        run("status", 1, "--html not writable", |c| {
            let html = c.dir.join("no/such/folder/page.html");
            c.run(STATUS, &["--sandbox", "--html", html.to_str().unwrap()])
        }),
        run("status", 2, "an unknown config field", |c| {
            let config = c.file("status.toml", &format!("{STATUS_OK}colour = \"red\"\n"));
            c.run(STATUS, &["--sandbox", "--config", config.to_str().unwrap()])
        }),
        run("status", 3, "nagios-api unreachable", |c| {
            let config = c.file("status.toml", STATUS_OK);
            c.run(
                STATUS,
                &[
                    "--config",
                    config.to_str().unwrap(),
                    "--nagios-url",
                    &closed_port_url(),
                ],
            )
        }),
        // sandbox
        run("sandbox", 0, "Ctrl-C once ready", |c| {
            let mut s = Command::new(SANDBOX);
            s.arg("--env-file")
                .arg(c.dir.join("s.env"))
                .arg("--home")
                .arg(c.dir.join("s-home"))
                .env_remove("RUST_LOG");
            let mut child = Reaped::spawn(s);
            let line = child.first_line();
            assert!(line.starts_with("sandbox ready"), "{line}");
            child.interrupt();
            child.output()
        }),
        run("sandbox", 1, "the env file cannot be written", |c| {
            let folder = c.dir.join("env-is-a-folder");
            std::fs::create_dir_all(folder.join("x")).unwrap();
            Command::new(SANDBOX)
                .arg("--env-file")
                .arg(&folder)
                .arg("--home")
                .arg(c.dir.join("s-home"))
                .env_remove("RUST_LOG")
                .output()
                .unwrap()
        }),
        run("sandbox", 2, "a missing flag", |_| {
            Command::new(SANDBOX).output().unwrap()
        }),
        // demo
        Case {
            binary: "demo",
            code: 0,
            what: "every part",
            check: Check::Elsewhere("it/demo_cli.rs", "demo_runs_every_part_in_under_a_minute"),
        },
        run("demo", 1, "no temp folder: no part can run", |c| {
            Command::new(DEMO)
                .args(["--customers", "100"])
                .env_remove("RUST_LOG")
                .env("TMPDIR", c.dir.join("no-such-folder"))
                .output()
                .unwrap()
        }),
        run(
            "demo",
            4,
            "PostgreSQL cannot start (socket path too long)",
            |c| {
                // A unix socket path is at most 107 bytes: the restore part fails, the others
                // do not need one.
                use std::os::unix::fs::PermissionsExt;
                let tmp = c.dir.join("d".repeat(100));
                std::fs::create_dir_all(&tmp).unwrap();
                for d in [c.dir, tmp.as_path()] {
                    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
                }
                Command::new(DEMO)
                    .args(["--customers", "100"])
                    .env_remove("RUST_LOG")
                    .env("TMPDIR", &tmp)
                    .output()
                    .unwrap()
            },
        ),
        // restore
        Case {
            binary: "restore",
            code: 0,
            what: "a sandbox restore",
            check: Check::Elsewhere(
                "restore_cli.rs",
                "sandbox_restore_json_carries_the_databases",
            ),
        },
        run("restore", 1, "the sandbox cluster cannot start", |c| {
            restore()
                .arg("--sandbox")
                .env("TMPDIR", c.dir.join("no-such-folder"))
                .output()
                .unwrap()
        }),
        Case {
            binary: "restore",
            code: 130,
            what: "SIGINT at every step",
            check: Check::Elsewhere(
                "restore_cli.rs",
                "sigint_to_the_process_group_at_every_step",
            ),
        },
        Case {
            binary: "restore",
            code: 143,
            what: "SIGTERM at every step",
            check: Check::Elsewhere("restore_cli.rs", "sigterm_at_every_step"),
        },
        run("restore", 2, "no server configured", |_| {
            restore()
                .args(["--dump", "/nonexistent.dump"])
                .output()
                .unwrap()
        }),
        run("restore", 3, "the server is unreachable", |c| {
            let dump = c.file("prod.dump", "PGDMP");
            let port = closed_port_url()
                .trim_end_matches('/')
                .rsplit(':')
                .next()
                .unwrap()
                .to_owned();
            restore()
                .arg("--dump")
                .arg(dump)
                .env(
                    "QA_DATABASE_URL",
                    format!("host=127.0.0.1 port={port} user=qa"),
                )
                .output()
                .unwrap()
        }),
    ]
}

fn restore() -> Command {
    let mut c = Command::new(RESTORE);
    for v in [
        "QA_DATABASE_URL",
        "SOURCE_DATABASE_URL",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGPASSWORD",
        "PGSSLMODE",
        "PGSSLROOTCERT",
        "RUST_LOG",
    ] {
        c.env_remove(v);
    }
    c.stdin(Stdio::null());
    c
}

/// The rows of the per-binary table: `(binary, code)`.
fn readme_rows() -> Vec<(String, i32)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme
        .split("### Exit codes of each binary")
        .nth(1)
        .expect("the README has the per-binary exit-code table");
    let mut rows = Vec::new();
    for line in table.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let (Some(bin), Some(code)) = (cells.get(1), cells.get(2)) {
            if let (Some(bin), Ok(code)) = (
                bin.strip_prefix('`').and_then(|b| b.strip_suffix('`')),
                code.parse::<i32>(),
            ) {
                rows.push((bin.to_owned(), code));
            }
        }
    }
    rows
}

/// The table and the cases name the same `(binary, code)` pairs, once each.
#[test]
fn the_readme_table_and_the_cases_agree() {
    let rows = readme_rows();
    assert!(rows.len() >= 20, "the table was read: {rows:?}");
    let pairs: Vec<(String, i32)> = cases()
        .iter()
        .map(|c| (c.binary.to_owned(), c.code))
        .collect();
    for r in &rows {
        assert_eq!(
            rows.iter().filter(|x| *x == r).count(),
            1,
            "README row {r:?} appears twice"
        );
        assert!(pairs.contains(r), "README row {r:?} has no case here");
    }
    for c in &pairs {
        assert!(
            rows.contains(c),
            "the binaries exit {} for `{}` but the README's table has no such row",
            c.1,
            c.0
        );
    }
    // A row checked elsewhere names a test that exists.
    for c in cases() {
        if let Check::Elsewhere(file, name) = c.check {
            let text = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests")
                    .join(file),
            )
            .unwrap();
            assert!(
                text.contains(&format!("fn {name}(")),
                "{} {}: tests/{file} has no `{name}`",
                c.binary,
                c.code
            );
        }
    }
}

/// Runs every case of `binary` and checks its exit code (a sandbox server when `served`).
fn check_binary(binary: &str, served: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = if served {
        let (s, e) = start_sandbox(dir.path(), 300);
        (Some(s), e)
    } else {
        (None, Vec::new())
    };
    for (i, case) in cases().into_iter().enumerate() {
        if case.binary != binary {
            continue;
        }
        let Check::Run(f) = case.check else { continue };
        let own = dir.path().join(format!("case-{i}"));
        std::fs::create_dir_all(&own).unwrap();
        let out = f(&Ctx {
            dir: &own,
            env: &env,
        });
        assert_eq!(
            out.status.code(),
            Some(case.code),
            "{binary} {} ({}):\n{}{}",
            case.code,
            case.what,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        // clap's own usage errors end with a hint, not an `error:` line.
        if case.code != 0 && !err.contains("Usage:") {
            assert!(
                err.lines().last().is_some_and(|l| l.starts_with("error: ")),
                "{binary} {} ({}): ends with one error line:\n{err}",
                case.code,
                case.what
            );
        }
    }
}

#[test]
fn provision_exits_as_the_table_says() {
    check_binary("provision", true);
}

#[test]
fn teardown_exits_as_the_table_says() {
    check_binary("teardown", true);
}

#[test]
fn key_sync_exits_as_the_table_says() {
    check_binary("key-sync", true);
}

#[test]
fn status_exits_as_the_table_says() {
    check_binary("status", false);
}

#[test]
fn sandbox_exits_as_the_table_says() {
    check_binary("sandbox", false);
}

#[test]
fn demo_exits_as_the_table_says() {
    check_binary("demo", false);
}

#[test]
fn restore_exits_as_the_table_says() {
    check_binary("restore", false);
}

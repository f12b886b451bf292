//! Issue #17: the binaries keep what their README says — exit codes and messages (item 8),
//! a resume after an incomplete rollback (item 7), and what a newcomer tried (the doctl
//! token variable, teardown without `--zone`, names that match nothing, the progress bar, the
//! file formats, the audit's exit code, the Chef client version and license).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ops_examples::formats;

use crate::fleet_cli::{
    KEY_SYNC, ONE_HOST, PROVISION, SANDBOX, STATUS, TEARDOWN, assert_ok, cmd, json_ok,
    one_line_error, sandboxed, start_echo_provider, start_sandbox, wait_for_journals, with_env,
};

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

/// A child process killed (SIGKILL) and reaped on drop, unless its output was taken.
pub(crate) struct Reaped(Option<Child>);

impl Reaped {
    pub(crate) fn spawn(mut c: Command) -> Reaped {
        Reaped(Some(
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        ))
    }

    /// The first line the process writes on stdout.
    pub(crate) fn first_line(&mut self) -> String {
        use std::io::BufRead as _;
        let out = self.0.as_mut().unwrap().stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(out).read_line(&mut line).unwrap();
        line
    }

    pub(crate) fn id(&self) -> u32 {
        self.0.as_ref().unwrap().id()
    }

    /// Sends SIGINT (what Ctrl-C sends).
    pub(crate) fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub(crate) fn output(mut self) -> Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What [`Proxy`] does with the next requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Forward to the upstream, one request per connection.
    Forward,
    /// Answer 422 (a DigitalOcean-shaped error) to a request whose request line contains
    /// the text; forward the others.
    Refuse(String),
    /// Close every connection without an answer (the provider went away).
    Cut,
    /// Accept and never answer; each connection is announced on the proxy's channel.
    Hold,
}

/// An HTTP proxy in front of a provider that the test steers: forward, refuse some
/// requests, cut every connection, or hold them. Serves until the test process ends.
pub(crate) struct Proxy {
    url: String,
    mode: Arc<Mutex<Mode>>,
    accepted: Mutex<mpsc::Receiver<()>>,
}

impl Proxy {
    pub(crate) fn start(upstream: Option<&str>, mode: Mode) -> Proxy {
        let upstream = upstream.map(|u| {
            u.trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned()
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let mode = Arc::new(Mutex::new(mode));
        let (tx, rx) = mpsc::channel();
        let m = Arc::clone(&mode);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(s) = stream else { continue };
                let mode = m.lock().unwrap().clone();
                match mode {
                    Mode::Hold => {
                        held.push(s);
                        let _ = tx.send(());
                    }
                    Mode::Cut => drop(s),
                    mode => {
                        let upstream = upstream.clone();
                        std::thread::spawn(move || serve_one(s, upstream.as_deref(), &mode));
                    }
                }
            }
        });
        Proxy {
            url,
            mode,
            accepted: Mutex::new(rx),
        }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Waits until a connection was accepted in [`Mode::Hold`] (120 s at most: a failure,
    /// never a synchronisation).
    pub(crate) fn wait_for_a_connection(&self) {
        self.accepted
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(120))
            .expect("a connection to the held provider within 120 s");
    }
}

/// Reads one request (head and `Content-Length` body).
fn read_request(s: &mut TcpStream) -> Vec<u8> {
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let mut req = Vec::new();
    let mut buf = [0u8; 8192];
    let want = loop {
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
    while want.is_some_and(|w| req.len() < w) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    req
}

fn serve_one(mut s: TcpStream, upstream: Option<&str>, mode: &Mode) {
    let req = read_request(&mut s);
    let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") else {
        return;
    };
    let head = String::from_utf8_lossy(&req[..end]).into_owned();
    let first = head.lines().next().unwrap_or_default().to_owned();
    if let Mode::Refuse(text) = mode {
        if first.contains(text.as_str()) {
            let body = r#"{"id":"unprocessable_entity","message":"refused by the test proxy"}"#;
            let _ = write!(
                s,
                "HTTP/1.1 422 Unprocessable Entity\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            return;
        }
    }
    let Some(up) = upstream else { return };
    let Ok(mut u) = TcpStream::connect(up) else {
        return;
    };
    // One request per connection: ask the upstream to close, then relay its answer whole.
    let mut out: String = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&req[end + 4..]);
    if u.write_all(&bytes).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = u.read_to_end(&mut answer);
    let _ = s.write_all(&answer);
}

/// A loopback port nobody listens on.
pub(crate) fn closed_port_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/")
}

/// The value of `key` in a sandbox environment.
pub(crate) fn env_value(env: &[(String, String)], key: &str) -> String {
    env.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap()
}

/// A copy of the sandbox's Chef credentials under `dir`, with the server URL and/or client
/// name replaced; returns the new HOME.
pub(crate) fn chef_home(
    env: &[(String, String)],
    dir: &Path,
    url: Option<&str>,
    client: Option<&str>,
) -> PathBuf {
    let home = PathBuf::from(env_value(env, "HOME"));
    let text = std::fs::read_to_string(home.join(".chef/credentials")).unwrap();
    let text: String = text
        .lines()
        .map(|l| match (url, client) {
            (Some(u), _) if l.starts_with("chef_server_url") => {
                format!("chef_server_url = \"{u}\"\n")
            }
            (_, Some(c)) if l.starts_with("client_name") => format!("client_name = \"{c}\"\n"),
            _ => format!("{l}\n"),
        })
        .collect();
    let new = dir.join("home2");
    std::fs::create_dir_all(new.join(".chef")).unwrap();
    std::fs::write(new.join(".chef/credentials"), text).unwrap();
    new
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The status of the one run journal under `state`, and its run id.
fn journal_status(state: &Path, run: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join(format!("{run}.json"))).unwrap()).unwrap();
    v["status"].as_str().unwrap().to_owned()
}

const STATUS_OK: &str =
    "page_name = \"x\"\n[[components]]\nname = \"Web\"\nmembers = [\"web-01\"]\n";

/// Rust `Debug` forms that must never reach a user: enum variants with their payload, step
/// and status names as the compiler spells them, `Option`s.
const DEBUG_MARKERS: [&str; 16] = [
    "Failed(",
    "Skipped(",
    "AlreadyGone",
    "WouldRemove",
    "Some(",
    "Validate",
    "ChefClient",
    "ChefNode",
    "CreateDroplet",
    "WaitActive",
    "DnsRecords",
    "PublishZone",
    "RolledBack",
    "RollbackIncomplete",
    "InProgress",
    "event=",
];

fn assert_no_debug(what: &str, out: &Output) {
    let all = format!("{}{}", stdout(out), stderr(out));
    for m in DEBUG_MARKERS {
        assert!(!all.contains(m), "{what}: `{m}` in the output:\n{all}");
    }
}

// ---------------------------------------------------------------------------------------
// item 8: exit codes and messages
// ---------------------------------------------------------------------------------------

/// An unknown `--resume` run exited 1 ("provisioning failed for every host; : …", an empty
/// name) while an unknown batch exited 2: both are bad input now, said plainly.
#[test]
fn an_unknown_run_or_batch_is_bad_input_said_plainly() {
    let state = tempfile::tempdir().unwrap();
    for json in [false, true] {
        let mut c = cmd(PROVISION, state.path());
        c.args(["--sandbox", "--resume", "1796000000-0badc0de"]);
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        let line = one_line_error(&out, 2);
        assert!(
            line.contains("cannot resume run 1796000000-0badc0de: there is no journal of it"),
            "{line}"
        );
        assert!(!line.contains("; :"), "{line}");
        assert!(out.stdout.is_empty(), "{}", stdout(&out));
    }
    let out = cmd(PROVISION, state.path())
        .args(["--sandbox", "--resume-batch", "1796000000-0badc0de"])
        .output()
        .unwrap();
    assert!(one_line_error(&out, 2).contains("cannot resume batch"));
}

/// A journal that cannot be decoded is named, for `--resume` and `--resume-batch` (exit 1).
#[test]
fn a_journal_that_cannot_be_decoded_is_named() {
    let state = tempfile::tempdir().unwrap();
    let journal = state.path().join("1796000000-0badc0de.json");
    std::fs::write(&journal, "{\"version\": 1, \"run_id\": ").unwrap();
    for args in [
        ["--resume", "1796000000-0badc0de"],
        ["--resume-batch", "1796000000-00000000"],
    ] {
        let out = cmd(PROVISION, state.path())
            .arg("--sandbox")
            .args(args)
            .output()
            .unwrap();
        let line = one_line_error(&out, 1);
        assert!(
            line.contains(&journal.display().to_string()),
            "{args:?}: {line}"
        );
    }
}

/// Credentials a provider refuses (HTTP 401) are bad input (2) in `teardown` (DigitalOcean,
/// Dyn, Chef) and `status` (nagios-api), as the README says; they were 3. Reports show no
/// Rust `Debug` (`Failed("…")`).
#[test]
fn rejected_credentials_are_bad_input_in_teardown_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 300);
    let state = dir.path().join("state");
    let wrong_chef = chef_home(&env, dir.path(), None, Some("nobody-such"));
    let cases = [
        (
            "DigitalOcean",
            with_env(&env, "DIGITALOCEAN_TOKEN", "wrong-token"),
        ),
        ("Dyn", with_env(&env, "DYN_PASSWORD", "wrong-password")),
        ("Chef", with_env(&env, "HOME", wrong_chef.to_str().unwrap())),
    ];
    for (provider, env) in &cases {
        for json in [false, true] {
            let mut c = sandboxed(TEARDOWN, &state, env);
            c.args(["--zone", "example.com", "app-01"]);
            if json {
                c.arg("--json");
            }
            let out = c.output().unwrap();
            let line = one_line_error(&out, 2);
            assert!(
                line.contains("rejected the credentials"),
                "{provider}: {line}"
            );
            assert_no_debug(provider, &out);
            if json {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                assert_eq!(v["hosts"][0]["credentials_rejected"], true, "{v}");
                assert!(
                    v["hosts"][0]["actions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a["outcome"] == "failed" && a["detail"].is_string()),
                    "{v}"
                );
            }
        }
    }
    // nagios-api (or its proxy) refusing the credentials.
    let config = dir.path().join("status.toml");
    std::fs::write(&config, STATUS_OK).unwrap();
    let out = cmd(STATUS, &state)
        .arg("--config")
        .arg(&config)
        .env("NAGIOS_API_URL", start_echo_provider())
        .env("NAGIOS_API_USER", "ops")
        .env("NAGIOS_API_PASSWORD", "wrong")
        .output()
        .unwrap();
    let line = one_line_error(&out, 2);
    assert!(line.contains("401"), "{line}");
}

/// A bad character in `DIGITALOCEAN_TOKEN` said "check DIGITALOCEAN_API_URL".
#[test]
fn a_bad_character_in_the_token_names_the_token() {
    let state = tempfile::tempdir().unwrap();
    for (token, what) in [
        ("dop_v1_abc\u{1}def", "a control character"),
        ("dop_v1_abc def", "a space"),
        ("dop_v1_abc\u{e9}def", "a non-ASCII character"),
    ] {
        let out = cmd(TEARDOWN, state.path())
            .args(["--zone", "example.com", "web-01"])
            .env("DIGITALOCEAN_TOKEN", token)
            .output()
            .unwrap();
        let line = one_line_error(&out, 2);
        assert!(line.contains("DIGITALOCEAN_TOKEN holds"), "{line}");
        assert!(line.contains(what), "{line}");
        assert!(!line.contains("DIGITALOCEAN_API_URL"), "{line}");
        assert!(!line.contains("abc"), "the token is never shown: {line}");
    }
}

/// A missing `--users` path said "unknown format" (a path without an extension).
#[test]
fn a_missing_users_path_is_named_as_missing() {
    let state = tempfile::tempdir().unwrap();
    for path in ["/nonexistent/users", "/nonexistent/users.toml"] {
        let out = cmd(KEY_SYNC, state.path())
            .args(["--sandbox", "--users", path])
            .output()
            .unwrap();
        let line = one_line_error(&out, 2);
        assert!(line.contains("cannot be read"), "{line}");
        assert!(line.contains("No such file"), "{line}");
        assert!(!line.contains("unknown format"), "{line}");
    }
}

/// The status config accepted unknown fields (a typo was silently ignored).
#[test]
fn the_status_config_refuses_unknown_fields() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("status.toml");
    for (text, field, at) in [
        (
            "page_name = \"x\"\nrefresh_secs = 3\n[[components]]\nname = \"Web\"\nmembers = [\"web-01\"]\n",
            "`refresh_secs`",
            "line 2, column 1",
        ),
        (
            "page_name = \"x\"\n[[components]]\nname = \"Web\"\nmember = [\"web-01\"]\n",
            "`member` in [[components]]",
            "line 4, column 1",
        ),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = cmd(STATUS, dir.path())
            .arg("--sandbox")
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let line = one_line_error(&out, 2);
        assert!(line.contains(&format!("unknown field {field}")), "{line}");
        assert!(line.contains(at), "{line}");
        assert!(line.contains("status.toml"), "{line}");
    }
}

/// `teardown` (and `key-sync`) had no Ctrl-C handler: the shell saw 130, no message. Now
/// 1 and one line saying to run it again. Interrupted while a provider holds its first
/// request (the handler is installed before any request).
#[test]
fn teardown_and_key_sync_handle_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 300);
    let state = dir.path().join("state");
    let held = Proxy::start(None, Mode::Hold);
    let teardown_env = with_env(&env, "DIGITALOCEAN_API_URL", held.url());
    let mut c = sandboxed(TEARDOWN, &state, &teardown_env);
    c.args(["--zone", "example.com", "app-01"]);
    let child = Reaped::spawn(c);
    held.wait_for_a_connection();
    child.interrupt();
    let out = child.output();
    let line = one_line_error(&out, 1);
    assert!(line.starts_with("error: interrupted: teardown"), "{line}");
    assert!(line.contains("run the same command again"), "{line}");

    let home = chef_home(&env, dir.path(), Some(held.url()), None);
    let key_env = with_env(&env, "HOME", home.to_str().unwrap());
    let mut c = sandboxed(KEY_SYNC, &state, &key_env);
    c.args(["--revoke", "alice"]);
    let child = Reaped::spawn(c);
    held.wait_for_a_connection();
    child.interrupt();
    let out = child.output();
    let line = one_line_error(&out, 1);
    assert!(line.starts_with("error: interrupted: key-sync"), "{line}");
}

/// `sandbox` wrote `<env-file>.tmp` (readable by all, holding the Dyn password) and left it
/// when the rename failed. Now: a 0600 temporary file, removed whatever fails; the env file
/// itself 0600.
#[test]
fn sandbox_leaves_no_env_values_behind() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // The env file's path is a folder: the final rename fails.
    let env_file = dir.path().join("sandbox.env");
    std::fs::create_dir(&env_file).unwrap();
    std::fs::write(env_file.join("keep"), "").unwrap();
    let out = Command::new(SANDBOX)
        .arg("--env-file")
        .arg(&env_file)
        .arg("--home")
        .arg(dir.path().join("home"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let line = one_line_error(&out, 1);
    assert!(line.contains("cannot write the env file"), "{line}");
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["home", "sandbox.env"], "nothing else left behind");
    for (path, text) in crate::fleet_cli::files_below(dir.path()) {
        assert!(
            !text.contains("testkit-password"),
            "{} holds the Dyn password",
            path.display()
        );
    }

    // The env file of a sandbox that started: owner only.
    let dir = tempfile::tempdir().unwrap();
    let (_server, _env) = start_sandbox(dir.path(), 300);
    let mode = std::fs::metadata(dir.path().join("sandbox.env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// User output showed Rust `Debug` (`Failed("…")`, step and status names, `event=…`).
#[test]
fn user_output_shows_no_rust_debug() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 300);
    let state = dir.path().join("state");
    let spec = dir.path().join("one.toml");
    std::fs::write(&spec, ONE_HOST).unwrap();
    // A failing provision (Dyn refuses), then its teardown, plain and JSON.
    let bad_dyn = with_env(&env, "DYN_PASSWORD", "wrong-password");
    for json in [false, true] {
        let mut c = sandboxed(PROVISION, &state, &bad_dyn);
        c.arg("--spec").arg(&spec);
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        assert!(!out.status.success());
        assert_no_debug("provision", &out);
        let mut c = sandboxed(TEARDOWN, &state, &bad_dyn);
        c.args(["--zone", "example.com", "app-01"]);
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        assert!(!out.status.success());
        assert_no_debug("teardown", &out);
    }
    // A provision that succeeds, at debug level (every progress event is logged).
    let out = sandboxed(PROVISION, &state, &env)
        .arg("--spec")
        .arg(&spec)
        .arg("-v")
        .output()
        .unwrap();
    assert_ok(&out);
    assert_no_debug("provision -v", &out);
    let out = sandboxed(TEARDOWN, &state, &env)
        .args(["app-01", "-v"])
        .output()
        .unwrap();
    assert_ok(&out);
    assert_no_debug("teardown -v", &out);
}

// ---------------------------------------------------------------------------------------
// item 7: a resume after an incomplete rollback
// ---------------------------------------------------------------------------------------

/// The README's advice for exit 3 works for a run whose rollback was incomplete: DigitalOcean
/// goes away while the droplet boots, the run fails and cannot remove its droplet (exit 3,
/// `rollback incomplete`); `provision --resume RUN` finishes the rollback (it used to refuse:
/// "was rolled back; start a new run"), and a new run of the spec is no longer refused.
#[test]
fn a_resume_after_an_incomplete_rollback_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    // Droplets never boot during the test: the run is cut while it waits, whatever the load.
    let (_server, env) = start_sandbox(dir.path(), 3_600_000);
    let proxy = Proxy::start(
        Some(&env_value(&env, "DIGITALOCEAN_API_URL")),
        Mode::Forward,
    );
    let env = with_env(&env, "DIGITALOCEAN_API_URL", proxy.url());
    let state = dir.path().join("state");
    let spec = dir.path().join("one.toml");
    std::fs::write(&spec, ONE_HOST).unwrap();

    let mut c = sandboxed(PROVISION, &state, &env);
    c.arg("--spec").arg(&spec).arg("--json");
    let child = Reaped::spawn(c);
    wait_for_journals(&state, 1, "wait_active");
    proxy.set(Mode::Cut);
    let out = child.output();
    let line = one_line_error(&out, 3);
    assert!(line.contains("app-01"), "{line}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = v["hosts"][0]["run_id"].as_str().unwrap().to_owned();
    assert_eq!(v["hosts"][0]["rolled_back"], false, "{v}");
    assert_eq!(journal_status(&state, &run), "rollback_incomplete");

    // DigitalOcean is back: the resume finishes the rollback (exit 3: the run had failed).
    proxy.set(Mode::Forward);
    let out = sandboxed(PROVISION, &state, &env)
        .args(["--resume", &run, "--json"])
        .output()
        .unwrap();
    let line = one_line_error(&out, 3);
    assert!(line.contains("the rollback is now finished"), "{line}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hosts"][0]["rolled_back"], true, "{v}");
    assert_eq!(journal_status(&state, &run), "rolled_back");

    // A new run is not refused ("droplet exists"), and nothing of the old one is left.
    let out = sandboxed(PROVISION, &state, &env)
        .arg("--spec")
        .arg(&spec)
        .args(["--dry-run", "--json"])
        .output()
        .unwrap();
    let v = json_ok(&out);
    assert_eq!(v["valid"], true, "{v}");
    let out = sandboxed(TEARDOWN, &state, &env)
        .args(["app-01", "--dry-run", "--json"])
        .output()
        .unwrap();
    let v = json_ok(&out);
    assert!(
        v["hosts"][0]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["outcome"] == "already_gone"),
        "{v}"
    );
}

// ---------------------------------------------------------------------------------------
// newcomer items
// ---------------------------------------------------------------------------------------

/// `DIGITALOCEAN_ACCESS_TOKEN` (what doctl reads) is accepted; `DIGITALOCEAN_TOKEN` wins
/// when both are set, with a warning when they differ.
#[test]
fn the_doctl_token_variable_is_accepted_and_the_precedence_holds() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 300);
    let state = dir.path().join("state");
    let spec = dir.path().join("one.toml");
    std::fs::write(&spec, ONE_HOST).unwrap();
    let token = env_value(&env, "DIGITALOCEAN_TOKEN");
    let base: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "DIGITALOCEAN_TOKEN")
        .cloned()
        .collect();
    let plan = |vars: &[(&str, &str)]| {
        sandboxed(PROVISION, &state, &base)
            .arg("--spec")
            .arg(&spec)
            .args(["--dry-run", "--json"])
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    };
    let out = plan(&[("DIGITALOCEAN_ACCESS_TOKEN", &token)]);
    assert_eq!(json_ok(&out)["valid"], true);
    let out = plan(&[
        ("DIGITALOCEAN_TOKEN", &token),
        ("DIGITALOCEAN_ACCESS_TOKEN", "other-token"),
    ]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("are both set and differ: using DIGITALOCEAN_TOKEN"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("other-token"));
    let out = plan(&[
        ("DIGITALOCEAN_TOKEN", "other-token"),
        ("DIGITALOCEAN_ACCESS_TOKEN", &token),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = plan(&[]);
    let line = one_line_error(&out, 2);
    assert!(line.contains("DIGITALOCEAN_ACCESS_TOKEN"), "{line}");
}

/// `teardown NAME` without `--zone` silently left the DNS records: it takes the zone (and
/// record name) from the host's journal, or refuses; a name that matches nothing is refused
/// (it exited 0), a torn-down host with a journal is a clean re-run; `key-sync --revoke` of
/// an unknown user is refused too.
#[test]
fn teardown_takes_the_zone_from_the_journal_and_names_that_match_nothing_fail() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, env) = start_sandbox(dir.path(), 300);
    let state = dir.path().join("state");
    let spec = dir.path().join("api.toml");
    std::fs::write(
        &spec,
        ONE_HOST.replace(
            "dns = { zone = \"example.com\" }",
            "dns = { zone = \"example.com\", record = \"api\" }",
        ),
    )
    .unwrap();
    let run = |bin: &str, args: &[&str]| sandboxed(bin, &state, &env).args(args).output().unwrap();
    assert_ok(&run(PROVISION, &["--spec", spec.to_str().unwrap()]));

    // No --zone and no journal: refused before anything is touched.
    let out = run(TEARDOWN, &["app-02"]);
    let line = one_line_error(&out, 2);
    assert!(line.contains("no --zone, and no run journal"), "{line}");
    // A misspelled name with --zone: nothing matched.
    let out = run(TEARDOWN, &["--zone", "example.com", "app-0l"]);
    let line = one_line_error(&out, 2);
    assert!(line.contains("nothing matched app-0l"), "{line}");
    // The real one, without --zone: its record (api.example.com) goes too.
    let out = run(TEARDOWN, &["app-01", "--json"]);
    let v = json_ok(&out);
    let actions = v["hosts"][0]["actions"].as_array().unwrap();
    assert!(
        actions.iter().any(|a| a["outcome"] == "removed"
            && a["resource"]
                .as_str()
                .unwrap()
                .starts_with("dns A api.example.com")),
        "{v}"
    );
    // Again: already gone, and the journal says it was there: a clean re-run.
    let out = run(TEARDOWN, &["app-01", "--json"]);
    assert_eq!(json_ok(&out)["hosts"][0]["complete"], true);

    // key-sync --revoke of a user nobody knows.
    let out = run(KEY_SYNC, &["--revoke", "nobody-such"]);
    let line = one_line_error(&out, 2);
    assert!(line.contains("nothing matched `nobody-such`"), "{line}");
}

/// The terminal progress bar started full at `0/0`. Run under a pseudo-terminal (`script`):
/// a spinner until the first count, never a bar of unknown length.
#[test]
fn the_progress_bar_never_starts_full() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("typescript");
    let out = Command::new("script")
        .arg("-qfec")
        .arg(format!("{PROVISION} --sandbox"))
        .arg(&log)
        .env_remove("RUST_LOG")
        .env("OPS_STATE_DIR", dir.path().join("state"))
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("`script` (util-linux) runs the binary under a pseudo-terminal");
    assert!(out.status.success(), "{}", stderr(&out));
    let screen = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    assert!(
        screen.contains("provisioned 3 of 3 hosts"),
        "the run finished: {screen}"
    );
    assert!(screen.contains("] 0/"), "a bar was drawn once counts came");
    assert!(!screen.contains("] 0/0"), "a full bar at 0/0: {screen}");
    assert!(!screen.contains("=] 0/"), "a full bar at 0: {screen}");
}

/// The file formats were only in rustdoc: complete commented examples are in the README and
/// at the end of `--help`, the same text, and every one is accepted as it stands; the
/// sandbox's built-in values listed there are what the sandbox has.
#[test]
fn the_file_formats_and_sandbox_values_are_documented_and_true() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (name, text) in [
        ("fleet spec", formats::FLEET_SPEC_EXAMPLE),
        ("users", formats::USERS_EXAMPLE),
        ("status config", formats::STATUS_EXAMPLE),
    ] {
        assert!(
            readme.contains(&format!("```toml\n{text}```")),
            "README lacks the {name} example verbatim"
        );
    }
    assert!(
        readme.contains(&format!("```text\n{}```", formats::SANDBOX_VALUES)),
        "README lacks the sandbox values verbatim"
    );
    for (bin, example) in [
        (PROVISION, Some(formats::FLEET_SPEC_EXAMPLE)),
        (KEY_SYNC, Some(formats::USERS_EXAMPLE)),
        (STATUS, Some(formats::STATUS_EXAMPLE)),
        (TEARDOWN, None),
        (SANDBOX, None),
    ] {
        let out = Command::new(bin).arg("--help").output().unwrap();
        let help = stdout(&out);
        assert!(help.contains(formats::SANDBOX_VALUES), "{bin}: {help}");
        if let Some(e) = example {
            assert!(help.contains(e), "{bin}: {help}");
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let fleet = file("fleet.toml", formats::FLEET_SPEC_EXAMPLE);
    let out = cmd(PROVISION, &state)
        .args(["--sandbox", "--dry-run", "--json", "--spec"])
        .arg(&fleet)
        .output()
        .unwrap();
    let v = json_ok(&out);
    assert_eq!(v["valid"], true, "{v}");
    let plan = v.to_string();
    assert!(
        plan.contains("chef-client 18.4.12, chef_license accept"),
        "{plan}"
    );
    let users = file("users.toml", formats::USERS_EXAMPLE);
    let out = cmd(KEY_SYNC, &state)
        .args(["--sandbox", "--dry-run", "--users"])
        .arg(&users)
        .output()
        .unwrap();
    assert_ok(&out);
    let status = file("status.toml", formats::STATUS_EXAMPLE);
    let out = cmd(STATUS, &state)
        .args(["--sandbox", "--config"])
        .arg(&status)
        .output()
        .unwrap();
    assert_ok(&out);

    // The built-in values: every region, size and image listed is accepted by the sandbox
    // (the fleet example already uses the key `ops` and the zone example.com).
    for (field, from, to) in [
        ("region", "\"nyc3\"", ["\"ams3\"", "\"fra1\""].as_slice()),
        (
            "size",
            "\"s-1vcpu-1gb\"",
            ["\"s-2vcpu-2gb\"", "\"s-4vcpu-8gb\""].as_slice(),
        ),
        (
            "image",
            "\"ubuntu-24-04-x64\"",
            ["\"debian-12-x64\""].as_slice(),
        ),
    ] {
        for value in to {
            assert!(formats::SANDBOX_VALUES.contains(value.trim_matches('"')));
            let spec = file(
                "one.toml",
                &ONE_HOST.replacen(
                    &format!("{field} = {from}"),
                    &format!("{field} = {value}"),
                    1,
                ),
            );
            let out = cmd(PROVISION, &state)
                .args(["--sandbox", "--dry-run", "--json", "--spec"])
                .arg(&spec)
                .output()
                .unwrap();
            assert_eq!(json_ok(&out)["valid"], true, "{field} {value}");
        }
    }
    // The provider sandbox's Nagios hosts: the built-in fleet waits for none of them to be
    // unknown; the status sandbox shows its four hosts, none unknown.
    let out = cmd(STATUS, &state)
        .args(["--sandbox", "--json"])
        .output()
        .unwrap();
    let v = json_ok(&out);
    assert!(
        v["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] != "unknown"),
        "{v}"
    );
}

/// `chef_license` and `chef_version` could not be set: the spec's `chef.version` and
/// `chef.license` (defaults or per host), and `--chef-version`/`--chef-license` over them;
/// they are checked with the spec and journaled with it.
#[test]
fn the_chef_client_version_and_license_come_from_the_spec_or_flags() {
    let state = tempfile::tempdir().unwrap();
    let spec = state.path().join("one.toml");
    std::fs::write(
        &spec,
        ONE_HOST.replace(
            "run_list = [\"role[base]\"] }",
            "run_list = [\"role[base]\"], version = \"18.4.12\", license = \"accept-no-persist\" }",
        ),
    )
    .unwrap();
    let plan = |extra: &[&str]| {
        cmd(PROVISION, state.path())
            .args(["--sandbox", "--dry-run", "--spec"])
            .arg(&spec)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = plan(&[]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("(chef-client 18.4.12, chef_license accept-no-persist)"),
        "{}",
        stdout(&out)
    );
    let out = plan(&["--chef-version", "17.10.3", "--chef-license", "accept"]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("(chef-client 17.10.3, chef_license accept)"),
        "{}",
        stdout(&out)
    );
    let out = plan(&["--chef-license", "accept; rm -rf /"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stdout(&out).contains("chef.license"), "{}", stdout(&out));

    // Journaled with the spec (a --resume installs the same).
    let out = cmd(PROVISION, state.path())
        .args(["--sandbox", "--json", "--chef-version", "17.10.3", "--spec"])
        .arg(&spec)
        .output()
        .unwrap();
    let v = json_ok(&out);
    let run = v["hosts"][0]["run_id"].as_str().unwrap();
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.path().join(format!("{run}.json"))).unwrap())
            .unwrap();
    assert_eq!(j["spec"]["chef"]["version"], "17.10.3", "{j}");
    assert_eq!(j["spec"]["chef"]["license"], "accept-no-persist", "{j}");
    // Not with --resume: the journal keeps the spec.
    let out = cmd(PROVISION, state.path())
        .args(["--sandbox", "--resume", run, "--chef-version", "1.0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

//! The `status` binary run as a process against the sandbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_status");

fn status() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("NAGIOS_API_URL").env_remove("RUST_LOG");
    c
}

#[test]
fn sandbox_text_summary() {
    let out = status().arg("--sandbox").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Sandbox Status: Minor Service Outage"),
        "{text}"
    );
    assert!(
        text.contains("Background jobs      Degraded performance"),
        "{text}"
    );
}

#[test]
fn sandbox_json_parses_and_carries_ids() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("page.html");
    let out = status()
        .args(["--sandbox", "--json", "--html"])
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is only JSON");
    let ids: Vec<&str> = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["website", "database", "background-jobs"]);
    assert_eq!(v["status"]["indicator"], "minor");
    assert_eq!(v["stale"], false);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Background jobs") && !page.contains("<script"));
}

/// A process killed (SIGKILL: no destructor runs in it) and waited for on drop, also when the
/// test fails first.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_answers_on_loopback_and_refuses_other_addresses() {
    // The server is killed by a signal: whatever it leaves in its temp folder goes with this.
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Killed(
        status()
            .args(["--sandbox", "--serve", "127.0.0.1:0", "--refresh-secs", "1"])
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("serving line names the URL")
        .trim_end_matches('/')
        .trim_start_matches("http://")
        .to_owned();
    let mut conn = std::net::TcpStream::connect(&url).unwrap();
    write!(
        conn,
        "GET /summary.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    drop(child);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"indicator\": \"minor\""), "{resp}");

    let out = status()
        .args(["--sandbox", "--serve", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--allow-remote"), "{err}");
}

#[test]
fn missing_url_and_malformed_config_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("status.toml");
    std::fs::write(
        &cfg,
        "page_name = \"x\"\n[[components]]\nname = \"Web\"\nmembers = [\"web-01\"]\n",
    )
    .unwrap();
    let out = status().arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: no nagios-api URL: set NAGIOS_API_URL"),
        "{err}"
    );

    std::fs::write(&cfg, "page_name = \"x\"\n[[components]\nname = \"Web\"\n").unwrap();
    let out = status()
        .arg("--sandbox")
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn unreachable_nagios_is_a_provider_error_and_hides_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("status.toml");
    std::fs::write(
        &cfg,
        "page_name = \"x\"\n[[components]]\nname = \"Web\"\nmembers = [\"web-01\"]\n",
    )
    .unwrap();
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = status()
        .arg("--config")
        .arg(&cfg)
        .env("NAGIOS_API_URL", format!("http://127.0.0.1:{port}/"))
        .env("NAGIOS_API_USER", "ops")
        .env("NAGIOS_API_PASSWORD", "pa55-w0rd-never-shown")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("pa55-w0rd-never-shown"), "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("error: could not read the state from nagios-api"),
        "{err}"
    );
}

/// What a cron job mails: a failure after retries (connection refused is retried) shows no
/// retry lines at the default level, and with `--quiet` stderr is exactly the error line.
#[test]
fn retries_are_silent_and_quiet_failure_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("status.toml");
    std::fs::write(
        &cfg,
        "page_name = \"x\"\n[[components]]\nname = \"Web\"\nmembers = [\"web-01\"]\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = |extra: &[&str]| {
        let out = status()
            .arg("--config")
            .arg(&cfg)
            .args(extra)
            .env("NAGIOS_API_URL", format!("http://127.0.0.1:{port}/"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        String::from_utf8(out.stderr).unwrap()
    };
    let err = run(&[]);
    assert!(!err.contains("retrying"), "{err}");
    assert!(err.lines().last().unwrap().starts_with("error: "), "{err}");
    let err = run(&["--quiet"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: could not read the state"), "{err}");
    // The retries happened, and -v shows them.
    let err = run(&["-v"]);
    assert!(err.contains("retrying nagios-api request"), "{err}");
}

/// Issue #17: a password in `NAGIOS_API_URL` was printed in the error line.
#[test]
fn a_password_in_the_nagios_url_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("status.toml");
    std::fs::write(
        &cfg,
        "page_name = \"x\"\n[[components]]\nname = \"Web\"\nmembers = [\"web-01\"]\n",
    )
    .unwrap();
    for url in [
        "http://opsuser:pa55-in-url-CANARY@127.0.0.1:9/",
        "ftp://opsuser:pa55-in-url-CANARY@127.0.0.1:9/",
    ] {
        let out = status()
            .arg("--config")
            .arg(&cfg)
            .env("NAGIOS_API_URL", url)
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("CANARY"), "{all}");
        assert!(all.contains("127.0.0.1"), "{all}");
    }
}

// Issue #17 item 5: a config type error says what and where, not the value.
#[test]
fn a_config_type_error_never_echoes_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("status.toml");
    std::fs::write(
        &cfg,
        "page_name = \"x\"\nstale_after_secs = \"canary-value-17\"\n[[components]]\nname = \"Web\"\nmembers = [\"web-01\"]\n",
    )
    .unwrap();
    let out = status()
        .arg("--config")
        .arg(&cfg)
        .env("NAGIOS_API_URL", "http://127.0.0.1:9/")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("canary-value-17"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

/// One HTTP/1.1 GET on `addr` (host:port): status line and body.
fn get(addr: &str, path: &str) -> (String, String) {
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

/// Issue #20: `--serve` used to keep the last page green forever once nagios-api died. The
/// page must go stale on the clock alone, say that its refreshes fail, and tell a supervisor.
#[test]
fn a_served_page_goes_stale_when_nagios_api_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let (sandbox, env) = crate::fleet_cli::start_sandbox(dir.path(), 0);
    let config = dir.path().join("status.toml");
    std::fs::write(
        &config,
        "page_name = \"Served\"\nstale_after_secs = 3\n\n[[components]]\nname = \"Website\"\nmembers = [\"web-01\"]\n",
    )
    .unwrap();
    let mut child = Killed(
        status()
            .args(["--serve", "127.0.0.1:0", "--refresh-secs", "1", "--config"])
            .arg(&config)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("serving line names the URL")
        .trim_end_matches('/')
        .trim_start_matches("http://")
        .to_owned();
    // The first refresh reached nagios-api (whether the data is already 3 s old depends
    // on how busy the machine is, so freshness is not asserted here; the library's tests
    // pin the clock).
    let (status_line, body) = get(&addr, "/summary.json");
    assert!(status_line.contains(" 200 "), "{status_line}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["refresh"]["last_success"].is_string(), "{v:#}");
    assert_eq!(v["refresh"]["consecutive_failures"], 0, "{v:#}");

    // nagios-api goes away.
    drop(sandbox);

    // Nothing but the clock and the failing refreshes can turn the page: poll until it
    // has (a deadline, not a duration the test relies on).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let health = loop {
        let (status_line, body) = get(&addr, "/healthz");
        // Stale (3 s after the fake's checks) and saying its refreshes fail.
        if body.starts_with("stale") && body.contains("Last update failed") {
            assert!(status_line.contains(" 503 "), "{status_line}");
            break body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the served page never went stale after nagios-api died: {status_line} {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(health.contains("Last update failed"), "{health}");

    let (_, body) = get(&addr, "/summary.json");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["stale"], true, "{v:#}");
    assert_eq!(v["components"][0]["status"], "unknown", "{v:#}");
    assert_ne!(v["status"]["description"], "All Systems Operational");
    assert!(
        v["refresh"]["consecutive_failures"].as_u64().unwrap() >= 1,
        "{v:#}"
    );

    let (_, html) = get(&addr, "/");
    assert!(html.contains("Monitoring data is stale"), "{html}");
    assert!(html.contains("Last update failed"), "{html}");

    let (status_line, metrics) = get(&addr, "/metrics");
    assert!(status_line.contains(" 200 "), "{status_line}");
    assert!(
        metrics.lines().any(|l| l == "status_page_stale 1"),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(
            |l| l == "status_page_component_status{component=\"website\",status=\"unknown\"} 1"
        ),
        "{metrics}"
    );
    drop(child);
}

/// `(year, month, day)` of a day number since 1970-01-01 (H. Hinnant's algorithm).
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Issue #20: the history read from Nagios's archived logs (`log_archive_path`) and group
/// members resolved from `objects.cache`, in the JSON and the HTML of a one-shot run.
#[test]
fn history_from_archived_logs_and_group_members_from_objects_cache() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archives");
    std::fs::create_dir(&archive).unwrap();
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 86_400;
    // Two days ago, in the file rotated at yesterday's midnight: web-01's HTTP down 30 min.
    let day = today - 2;
    let (y, m, d) = civil(day + 1);
    let at = |secs: i64| day * 86_400 + secs;
    std::fs::write(
        archive.join(format!("nagios-{m:02}-{d:02}-{y}-00.log")),
        format!(
            "[{t0}] LOG ROTATION: DAILY\n\
             [{t0}] LOG VERSION: 2.0\n\
             [{t0}] CURRENT HOST STATE: web-01;UP;HARD;1;up\n\
             [{t0}] CURRENT HOST STATE: web-02;UP;HARD;1;up\n\
             [{t0}] CURRENT SERVICE STATE: web-01;HTTP;OK;HARD;1;ok\n\
             [{t0}] CURRENT SERVICE STATE: web-02;HTTP;OK;HARD;1;ok\n\
             [{t1}] SERVICE ALERT: web-01;HTTP;CRITICAL;HARD;3;CRITICAL - timeout\n\
             this line is not Nagios's\n\
             [{t2}] SERVICE ALERT: web-01;HTTP;OK;HARD;1;OK\n",
            t0 = at(0),
            t1 = at(3600),
            t2 = at(5400),
        ),
    )
    .unwrap();
    let objects = dir.path().join("objects.cache");
    std::fs::write(
        &objects,
        "define hostgroup {\n\thostgroup_name\tweb\n\tmembers\tweb-01,web-02\n\t}\n",
    )
    .unwrap();
    let cfg = dir.path().join("status.toml");
    std::fs::write(
        &cfg,
        format!(
            "page_name = \"History\"\nlog_archive_path = {archive:?}\nobjects_cache = {objects:?}\n\
             [[components]]\nname = \"Web fleet\"\nmembers = [\"group:web\"]\n\
             [[components]]\nname = \"Ghosts\"\nmembers = [\"group:ghosts\"]\n"
        ),
    )
    .unwrap();
    let html = dir.path().join("page.html");
    let out = status()
        .args(["--sandbox", "--json", "--config"])
        .arg(&cfg)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["components"][0]["status"], "operational", "{v:#}");
    assert_eq!(v["components"][1]["status"], "unknown", "{v:#}");
    assert!(
        v["components"][1]["problems"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("hostgroup `ghosts` is not in Nagios's objects.cache"),
        "{v:#}"
    );
    let h = &v["history"];
    assert_eq!(h["days"], 90);
    assert_eq!(h["sources"]["archive_files"], 1, "{h:#}");
    assert_eq!(h["sources"]["malformed_lines"], 1, "{h:#}");
    let web = &h["components"][0];
    assert_eq!(web["uptime"].as_array().unwrap().len(), 90);
    let (y, m, d) = civil(day);
    let date = format!("{y:04}-{m:02}-{d:02}");
    let that_day = web["uptime"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["date"] == date.as_str())
        .unwrap_or_else(|| panic!("no {date} in {web:#}"));
    // One of the group's two hosts out for 30 minutes: a partial outage.
    assert_eq!(that_day["partial_outage_secs"], 1800, "{that_day:#}");
    assert_eq!(that_day["status"], "partial_outage");
    assert_eq!(that_day["percent"], 97.916);
    let incident = &web["incidents"][0];
    assert_eq!(incident["worst"], "partial_outage");
    assert_eq!(incident["members"], serde_json::json!(["web-01:HTTP"]));
    assert_eq!(incident["duration_secs"], 1800);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<li class=\"partial_outage\" title=\""),
        "{page}"
    );
    assert!(page.contains("1 incident in this period"), "{page}");
    assert!(!page.contains("<script"));
}

//! A throwaway Nagios 4 and the real nagios-api 1.2.2 (PyPI, Python 2.7) on loopback,
//! started by `scripts/nagios-harness/start.sh`, for nagios-client's `tests/conformance.rs`
//! (run by `scripts/ci/nagios.sh`) and ops-core's `tests/status_nagios.rs` (run by
//! `scripts/ci/status.sh`).
//!
//! `NAGIOS_API_PYTHON` (default `/root/.pyenv/versions/2.7.18/bin/python`) and
//! `NAGIOS_API_HOME` (default `<repo>/.tools/nagios-api`) say where nagios-api is;
//! `scripts/ci/nagios.sh --install-only` installs everything. A failed start panics with the
//! script's output and how to install.
//!
//! [`log_line`] and [`log_lines`] are the strategies of `nagios.log` lines (the status
//! page's history reads them from nagios-api's `/log` and from Nagios's archived logs).

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;

use crate::repo_root;

/// A running Nagios + nagios-api in a temporary folder; stopped (by PID, with
/// `scripts/nagios-harness/stop.sh`) and the folder removed on drop.
pub struct Harness {
    dir: tempfile::TempDir,
    port: u16,
}

impl Harness {
    /// Start Nagios and nagios-api on a free loopback port, in a temporary folder whose name
    /// starts with `prefix`.
    pub fn start(prefix: &str) -> Harness {
        let root = repo_root();
        let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let python = std::env::var("NAGIOS_API_PYTHON")
            .unwrap_or_else(|_| "/root/.pyenv/versions/2.7.18/bin/python".into());
        let home = std::env::var("NAGIOS_API_HOME")
            .unwrap_or_else(|_| root.join(".tools/nagios-api").display().to_string());
        let out = Command::new("bash")
            .arg(root.join("scripts/nagios-harness/start.sh"))
            .arg(dir.path())
            .arg(port.to_string())
            .env("NAGIOS_API_PYTHON", python)
            .env("NAGIOS_API_HOME", home)
            .output()
            .expect("run scripts/nagios-harness/start.sh");
        // Stop whatever started even if we panic below.
        let h = Harness { dir, port };
        assert!(
            out.status.success(),
            "could not start Nagios + nagios-api (needs Nagios 4 + nagios-api 1.2.2; install \
             with `scripts/ci/nagios.sh --install-only`):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        h
    }

    /// nagios-api's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// nagios-api's base URL, `http://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The folder Nagios runs in (`etc/`, `var/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Nagios's `var/status.dat` as it is now (it is replaced by rename: read afresh each
    /// time); empty before Nagios first writes it.
    pub fn status_dat(&self) -> String {
        std::fs::read_to_string(self.dir().join("var/status.dat")).unwrap_or_default()
    }

    /// Nagios's `var/nagios.log` as it is now.
    pub fn nagios_log(&self) -> String {
        std::fs::read_to_string(self.dir().join("var/nagios.log")).unwrap_or_default()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo_root().join("scripts/nagios-harness/stop.sh"))
            .arg(self.dir.path())
            .status();
    }
}

/// Hosts and services the log strategies name (a small set, so that lines about the same
/// object follow each other).
pub const LOG_HOSTS: &[&str] = &["web01", "db01", "app01"];
/// See [`LOG_HOSTS`].
pub const LOG_SERVICES: &[&str] = &["HTTP", "Disk", "passive_check"];

/// Timestamps of log lines: mostly within ten days after `base` (in order or not), and now
/// and then what Nagios's log may hold after a broken clock or a broken line: 0, negative,
/// year 9999 and beyond, `i64` limits.
pub fn log_time(base: i64) -> BoxedStrategy<i64> {
    prop_oneof![
        8 => (0i64..864_000).prop_map(move |d| base.saturating_add(d)),
        1 => prop_oneof![
            Just(0i64),
            Just(-1i64),
            Just(253_402_300_799i64),
            Just(253_402_300_800i64),
            Just(i64::MAX),
            Just(i64::MIN),
            any::<i64>(),
        ],
    ]
    .boxed()
}

/// One `nagios.log` line as Nagios 4 writes it (`[epoch] HOST ALERT: …`, `SERVICE ALERT`,
/// `CURRENT`/`INITIAL` states, downtime alerts, acknowledgements, start and stop, other
/// noise), or, now and then, a broken one: a field missing, an unknown state or state
/// type, no timestamp, arbitrary text.
pub fn log_line(base: i64) -> BoxedStrategy<String> {
    let host = proptest::sample::select(LOG_HOSTS);
    let svc = proptest::sample::select(LOG_SERVICES);
    let host_state = proptest::sample::select(&["UP", "DOWN", "UNREACHABLE", "PENDING", ""][..]);
    let svc_state =
        proptest::sample::select(&["OK", "WARNING", "CRITICAL", "UNKNOWN", "(unknown)", "ok"][..]);
    let ty = proptest::sample::select(&["HARD", "SOFT", "HARD", "SOFT", "MEDIUM"][..]);
    let host_kind =
        proptest::sample::select(&["HOST ALERT", "CURRENT HOST STATE", "INITIAL HOST STATE"][..]);
    let svc_kind = proptest::sample::select(
        &[
            "SERVICE ALERT",
            "CURRENT SERVICE STATE",
            "INITIAL SERVICE STATE",
        ][..],
    );
    let dt = proptest::sample::select(&["STARTED", "STOPPED", "CANCELLED", "PAUSED"][..]);
    let message = prop_oneof![
        4 => (host_kind, host.clone(), host_state, ty.clone(), 0u32..5)
            .prop_map(|(k, h, s, t, a)| format!("{k}: {h};{s};{t};{a};output {h}")),
        6 => (svc_kind, host.clone(), svc.clone(), svc_state, ty, 0u32..5)
            .prop_map(|(k, h, v, s, t, a)| format!("{k}: {h};{v};{s};{t};{a};out;put")),
        2 => (host.clone(), svc.clone(), dt, any::<bool>()).prop_map(|(h, v, d, is_svc)| {
            if is_svc {
                format!("SERVICE DOWNTIME ALERT: {h};{v};{d}; Service has entered a period")
            } else {
                format!("HOST DOWNTIME ALERT: {h};{d}; Host has entered a period")
            }
        }),
        1 => (host.clone(), svc.clone(), 0u8..4, any::<bool>()).prop_map(|(h, v, st, is_svc)| {
            if is_svc {
                format!("EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;{h};{v};{st};1;0;me;looking")
            } else {
                format!("EXTERNAL COMMAND: ACKNOWLEDGE_HOST_PROBLEM;{h};{st};1;0;me;looking")
            }
        }),
        1 => (host, svc).prop_map(|(h, v)| format!("EXTERNAL COMMAND: REMOVE_SVC_ACKNOWLEDGEMENT;{h};{v}")),
        1 => proptest::sample::select(&[
            "Nagios 4.4.6 starting... (PID=4242)",
            "Caught SIGTERM, shutting down...",
            "Successfully shutdown... (PID=4242)",
            "Caught SIGHUP, restarting...",
            "LOG ROTATION: DAILY",
            "LOG VERSION: 2.0",
            "PASSIVE SERVICE CHECK: web01;passive_check;0;(null)",
            "SERVICE ALERT: web01",
            "HOST ALERT: ;DOWN;HARD;1;no name",
            "SERVICE ALERT: web01;HTTP;CRITICAL;HARD;x;attempt is not a number",
            "EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01",
        ][..]).prop_map(str::to_owned),
    ];
    prop_oneof![
        12 => (log_time(base), message).prop_map(|(t, m)| format!("[{t}] {m}")),
        1 => "[ -~]{0,80}",
        1 => (log_time(base), "[ -~]{0,40}").prop_map(|(t, m)| format!("{t} {m}")),
    ]
    .boxed()
}

/// A run of [`log_line`]s (up to `max` lines): now and then sorted by time, as a real log
/// mostly is.
pub fn log_lines(base: i64, max: usize) -> BoxedStrategy<Vec<String>> {
    (
        proptest::collection::vec(log_line(base), 0..=max),
        any::<bool>(),
    )
        .prop_map(|(mut lines, sort)| {
            if sort {
                lines.sort_by_key(|l| {
                    l.strip_prefix('[')
                        .and_then(|r| r.split_once(']'))
                        .and_then(|(t, _)| t.parse::<i64>().ok())
                        .unwrap_or(0)
                });
            }
            lines
        })
        .boxed()
}

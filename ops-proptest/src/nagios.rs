//! A throwaway Nagios 4 and the real nagios-api 1.2.2 (PyPI, Python 2.7) on loopback,
//! started by `scripts/nagios-harness/start.sh`, for nagios-client's `tests/conformance.rs`
//! (run by `scripts/ci/nagios.sh`) and ops-core's `tests/status_nagios.rs` (run by
//! `scripts/ci/status.sh`).
//!
//! `NAGIOS_API_PYTHON` (default `/root/.pyenv/versions/2.7.18/bin/python`) and
//! `NAGIOS_API_HOME` (default `<repo>/.tools/nagios-api`) say where nagios-api is;
//! `scripts/ci/nagios.sh --install-only` installs everything. A failed start panics with the
//! script's output and how to install.

use std::path::Path;
use std::process::Command;

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

//! Prism 5.14.2 with DigitalOcean's official OpenAPI spec, for the suites that check requests
//! and answers against the spec: digitalocean-client's `tests/prism.rs` (`prism mock`, and
//! `prism proxy` in front of its testkit fake; run by `scripts/ci/digitalocean.sh`) and
//! ops-core's `tests/e2e_provision_prism.rs` (the provision workflow through `prism proxy`;
//! run by `scripts/ci/provision-prism.sh`). Both scripts install Node.js and Prism with
//! `scripts/ci/lib/prism.sh`.
//!
//! Needs `../shared/reference/digitalocean/openapi.yaml` next to the repository and Prism in
//! `<repo>/.tools/prism` (or `PRISM_BIN`); a missing one panics with how to install it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::repo_root;

/// The Prism version the suites and `scripts/ci/lib/prism.sh` use (5.16+ needs Node >= 24;
/// 5.14.2 runs on Node >= 18.20).
pub const PRISM_VERSION: &str = "5.14.2";

/// How long Prism may take to load the 3 MB spec and listen (it takes 6–30 s; more on a
/// loaded CI machine).
const LISTEN_TIMEOUT: Duration = Duration::from_secs(180);

/// Where a suite keeps the logs of the tools it starts, for CI to show when a suite fails:
/// `$CARGO_TARGET_DIR/ci-artifacts`, else `<repo>/target/ci-artifacts`; never the system temp
/// folder.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("ci-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// DigitalOcean's official OpenAPI spec, from the `shared/` reference folder next to the
/// repository.
pub fn spec_path() -> PathBuf {
    let p = repo_root().join("../shared/reference/digitalocean/openapi.yaml");
    assert!(
        p.is_file(),
        "DigitalOcean OpenAPI spec not found at {}: the shared/ reference folder must sit next to the repo",
        p.display()
    );
    p
}

/// `PRISM_BIN`, else `<repo>/.tools/prism/node_modules/.bin/prism`.
pub fn prism_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PRISM_BIN") {
        return PathBuf::from(bin);
    }
    let bin = repo_root().join(".tools/prism/node_modules/.bin/prism");
    assert!(
        bin.is_file(),
        "Prism not found at {}: install Node.js >= 18.20 and run \
         `npm install --prefix .tools/prism @stoplight/prism-cli@{PRISM_VERSION}` \
         (scripts/ci/digitalocean.sh and scripts/ci/provision-prism.sh do), or set PRISM_BIN",
        bin.display()
    );
    bin
}

/// A running `prism mock` or `prism proxy`, with `--errors` (request validation on, and for
/// a proxy the upstream's answers validated too), on a free loopback port; killed on drop.
///
/// Starting blocks until Prism listens (up to 180 s): from async code, start it in
/// `tokio::task::spawn_blocking`.
pub struct Prism {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Prism {
    /// `prism mock --errors` over the spec: answers from the spec's examples. Its log is
    /// `<artifacts>/<log_prefix>-<port>.log`.
    pub fn mock(log_prefix: &str) -> Prism {
        Self::launch(None, log_prefix)
    }

    /// `prism proxy --errors` in front of `upstream`: validates requests *and* the upstream's
    /// answers (a request violation is a 422, an answer violation a 500, and both are logged).
    pub fn proxy(upstream: &str, log_prefix: &str) -> Prism {
        Self::launch(Some(upstream), log_prefix)
    }

    fn launch(upstream: Option<&str>, log_prefix: &str) -> Prism {
        let spec = spec_path();
        let bin = prism_bin();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = artifacts_dir().join(format!("{log_prefix}-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(&bin);
        cmd.arg(if upstream.is_some() { "proxy" } else { "mock" })
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--errors"])
            .arg(&spec);
        if let Some(upstream) = upstream {
            cmd.arg(upstream);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start {}: {e} (is Node.js >= 18.20 installed? \
                     scripts/ci/lib/prism.sh installs it)",
                    bin.display()
                )
            });
        let mut prism = Prism { child, addr, log };
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(status) = prism.child.try_wait().unwrap() {
                panic!("prism exited early ({status}); log:\n{}", prism.log_text());
            }
            assert!(
                started.elapsed() < LISTEN_TIMEOUT,
                "prism did not listen within {} s; log:\n{}",
                LISTEN_TIMEOUT.as_secs(),
                prism.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "prism {} listening on {addr} after {:?}",
            if upstream.is_some() { "proxy" } else { "mock" },
            started.elapsed()
        );
        prism
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything Prism logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every line of Prism's log that reports a spec violation.
    pub fn violations(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.to_ascii_lowercase().contains("violation"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A real Chef server for conformance tests: goiardi (the Debian package `goiardi`).

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{ClientBuilder, RetryConfig};

/// How long [`Goiardi::start`] waits for the server.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Goiardi::wait_indexed`] waits for the search index.
const INDEX_TIMEOUT: Duration = Duration::from_secs(60);

/// A goiardi server started for a test: authentication on (`-A`), data in memory, on a free
/// loopback port, configuration and keys in a temporary directory. Killed on drop.
///
/// goiardi has no organizations (its root is the server URL) and writes the `admin` and
/// `chef-validator` keys into its configuration directory ([`key_path`](Self::key_path)).
/// Its search index is updated in the background after each save, so search lags writes by
/// a fraction of a second, as on Chef Infra Server.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use chef_client::testkit::Goiardi;
/// let goiardi = Goiardi::start()?;
/// let admin = goiardi.client_builder(goiardi.url(), "admin", "admin").build()?;
/// assert!(admin.nodes().list().await?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Goiardi {
    child: Child,
    dir: tempfile::TempDir,
    url: String,
}

impl Goiardi {
    /// Starts goiardi and waits (up to 60 s) until it listens and has written its admin key.
    /// Blocks the calling thread. The error says to install the Debian package `goiardi` when
    /// the command is missing, and carries goiardi's log when it exits early.
    pub fn start() -> std::io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let conf = dir.path().join("conf");
        std::fs::create_dir_all(&conf)?;
        // goiardi's `-P 0` is not an ephemeral port: ask the kernel for a free one.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("goiardi")
            .args(["-A", "-I", "127.0.0.1", "-H", "127.0.0.1", "-g", "warning"])
            .arg("-P")
            .arg(port.to_string())
            .arg(format!("--conf-root={}", conf.display()))
            .arg("-L")
            .arg(dir.path().join("goiardi.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot start `goiardi` ({e}): install the Debian package `goiardi`"),
                )
            })?;
        let mut g = Goiardi {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        // Generous: goiardi starts in well under a second on a quiet machine, but CI runs it
        // beside compilers and other suites (load 8 on 2 cores has been seen).
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            // goiardi writes admin.pem before it listens, but the file may be visible before
            // it is complete: ready once the PEM's end line is there and the port answers.
            let key = conf.join("admin.pem");
            let ready = std::fs::read_to_string(&key)
                .is_ok_and(|pem| pem.contains("-----END") && pem.trim_end().ends_with("-----"))
                && TcpStream::connect(("127.0.0.1", port)).is_ok();
            if ready {
                break;
            }
            if let Some(status) = g.child.try_wait()? {
                let log =
                    std::fs::read_to_string(g.dir.path().join("goiardi.log")).unwrap_or_default();
                return Err(std::io::Error::other(format!(
                    "goiardi exited early ({status}): {log}"
                )));
            }
            if Instant::now() >= deadline {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("goiardi did not start within {} s", START_TIMEOUT.as_secs()),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(g)
    }

    /// Waits until a search of `index` for `query` finds at least `n` objects, and returns how
    /// long that took.
    ///
    /// goiardi indexes every saved object in a background goroutine (`indexer.IndexObj`), so
    /// its search is eventually consistent, as Chef Infra Server's is (Solr or Elasticsearch
    /// behind a queue): right after a bulk load on a busy machine a search has been seen to
    /// miss most of 250 just-created nodes. Tests that assert on search results call this
    /// after their writes, with a query that only matches once every write is indexed (for an
    /// update, a query on the new value), and never retry their own assertions.
    ///
    /// Polls every 50 ms for up to 60 s; the error says how many were found.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use chef_client::testkit::Goiardi;
    /// let goiardi = Goiardi::start()?;
    /// let admin = goiardi.client_builder(goiardi.url(), "admin", "admin").build()?;
    /// // ... create 250 nodes ...
    /// goiardi.wait_indexed(&admin, "node", "*:*", 250).await?;
    /// # Ok(()) }
    /// ```
    pub async fn wait_indexed(
        &self,
        client: &crate::Client,
        index: &str,
        query: &str,
        n: usize,
    ) -> std::io::Result<Duration> {
        let started = Instant::now();
        let rows = u32::try_from(n.saturating_add(100)).unwrap_or(u32::MAX);
        let mut seen = 0;
        let mut last_error = None;
        while started.elapsed() < INDEX_TIMEOUT {
            let mut pager = client
                .search()
                .query::<serde_json::Value>(index, query)
                .rows(rows);
            match pager.next_page().await {
                Some(Ok(page)) => seen = page.len(),
                None => seen = 0,
                Some(Err(e)) => last_error = Some(e.to_string()),
            }
            if seen >= n {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "goiardi: after {} s a search of `{index}` for `{query}` finds {seen} of {n} \
                 objects{}",
                INDEX_TIMEOUT.as_secs(),
                last_error
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default()
            ),
        ))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PEM file goiardi wrote for `name` (`admin`, `chef-validator`).
    pub fn key_path(&self, name: &str) -> PathBuf {
        self.dir.path().join("conf").join(format!("{name}.pem"))
    }

    /// A client builder for `url` (goiardi itself, or a proxy in front of it) signing as
    /// `user` with goiardi's key file `key`, with fast retries (10 ms to 50 ms, 2 attempts).
    pub fn client_builder(&self, url: &str, user: &str, key: &str) -> ClientBuilder {
        crate::Client::builder(url, user)
            .key_file(self.key_path(key))
            .retry(RetryConfig {
                max_attempts: 2,
                initial_backoff: Duration::from_millis(10),
                max_backoff: Duration::from_millis(50),
            })
    }
}

impl Drop for Goiardi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! A throwaway local PostgreSQL cluster from the installed server binaries: to try the restore
//! workflow without a server of your own (the examples' sandbox and demo), and for tests and
//! benchmarks (ops-core's restore suites). One launcher for all of them (issue #18).
//!
//! `initdb` + `pg_ctl` from `pg_config --bindir` or the newest `/usr/lib/postgresql/*/bin`, in
//! a fresh temp folder (also the unix socket folder), on a free loopback port, local `trust`
//! authentication and `scram-sha-256` over TCP. Run as root, the server runs as the `postgres`
//! (else `nobody`) user, since Postgres refuses to run as root. Dropping the [`Cluster`] stops
//! the server and deletes its folder; a watchdog does the same if this process dies first (a
//! Ctrl-C, a CI timeout: no destructor runs then); a start that fails deletes what it made.
//!
//! Why not a crate: `pgtemp` and `postgresql_embedded` either download binaries (not possible
//! on machines that reach only package registries) or cannot start a server when the caller
//! is root, which CI is. This is the ~200 lines that do both.
//!
//! ```no_run
//! use ops_core::restore::local::{Cluster, Options};
//!
//! let cluster = Cluster::start(&Options { prefix: "try-restore-".into(), ..Default::default() })?;
//! let conninfo = format!("host={} port={} user=postgres dbname=postgres",
//!     cluster.dir().display(), cluster.port());
//! # let _ = conninfo;
//! # Ok::<(), ops_core::restore::local::Error>(())
//! ```

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why a cluster could not be started.
#[derive(Debug)]
pub struct Error {
    what: String,
    source: Option<std::io::Error>,
}

impl Error {
    fn new(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            source: None,
        }
    }

    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |e| Self {
            what,
            source: Some(e),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Where the server binaries are.
pub fn find_bin() -> Result<PathBuf, Error> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && p.join("initdb").exists() && p.join("pg_ctl").exists() {
            return Ok(p);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).ok_or_else(|| {
        Error::new(
            "PostgreSQL server binaries (initdb, pg_ctl, pg_dump, pg_restore) not found via \
             `pg_config --bindir` or /usr/lib/postgresql/*/bin: install them (Debian/Ubuntu: \
             `apt-get install postgresql`)",
        )
    })
}

/// `(uid, gid)` to run the server as when this process is root (`postgres`, else `nobody`).
pub fn server_user() -> Result<Option<(u32, u32)>, Error> {
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    if uid != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(Error::io("read /etc/passwd"))?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() > 3 && f[0] == wanted {
                if let (Ok(u), Ok(g)) = (f[2].parse(), f[3].parse()) {
                    return Ok(Some((u, g)));
                }
            }
        }
    }
    Err(Error::new(
        "running as root but there is no `postgres` or `nobody` user to run the server as",
    ))
}

/// Removes `path` once this process has exited, if it is still there: the safety net for a
/// process killed before its destructors ran (they normally remove it first).
pub fn remove_after_exit(path: &Path) -> Result<(), Error> {
    let script = "while [ -d \"/proc/$0\" ]; do sleep 0.3; done; rm -rf \"$1\"";
    // Nobody waits for the watcher: it outlives this process on purpose.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(std::process::id().to_string())
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/")
        .spawn()
        .map_err(Error::io("spawn the temp folder watcher"))?;
    Ok(())
}

/// How to start a cluster.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Prefix of the temp folder's name.
    pub prefix: String,
    /// The folder to make it in (default: the system temp folder).
    pub parent: Option<PathBuf>,
    /// The server binaries (default: [`find_bin`]).
    pub bin: Option<PathBuf>,
    /// Lines appended to `postgresql.conf` (after port, addresses and socket folder).
    pub extra_conf: String,
    /// Serve TLS only over TCP (`ssl = on`, unencrypted TCP rejected in `pg_hba.conf`; the
    /// unix socket stays plain), with a new CA and a server certificate for `127.0.0.1` and
    /// `localhost` made by the `openssl` command: [`Cluster::ca_file`] verifies it.
    pub tls: bool,
    /// More addresses to listen on, besides `127.0.0.1` and the unix socket (e.g. `::1`,
    /// `127.0.0.2`: every `127.x` address is loopback on Linux), each let in by
    /// `pg_hba.conf` like `127.0.0.1` (`scram-sha-256`): one server reached under several
    /// spellings.
    pub extra_listen: Vec<String>,
}

/// A running throwaway cluster: stopped, and its folder deleted, on drop.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    user: Option<(u32, u32)>,
    tls: bool,
    /// Owns `dir`: removed after [`Drop`] has stopped the server (fields drop afterwards).
    _root: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), Error> {
    run(
        Command::new("openssl").args(args).current_dir(dir),
        "openssl (Debian package `openssl`)",
    )
}

/// A CA (`ca.pem`) and a server certificate for 127.0.0.1 / localhost signed by it
/// (`server.crt`, `server.key`) in `dir`.
fn make_certificates(dir: &Path) -> Result<(), Error> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=ops-core local cluster CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    )?;
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    )?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(Error::io("write server.ext"))?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ],
    )
}

fn run(cmd: &mut Command, what: &str) -> Result<(), Error> {
    let out = cmd
        .output()
        .map_err(Error::io(format!("could not run {what}")))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(3).collect();
    Err(Error::new(format!(
        "{what} failed ({}): {}",
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
    )))
}

impl Cluster {
    /// Starts a cluster (1–3 s).
    pub fn start(opts: &Options) -> Result<Cluster, Error> {
        let bin = match &opts.bin {
            Some(b) => b.clone(),
            None => find_bin()?,
        };
        let user = server_user()?;
        let parent = opts.parent.clone().unwrap_or_else(std::env::temp_dir);
        // Owned until the cluster is: any failure below removes it.
        let root = tempfile::Builder::new()
            .prefix(if opts.prefix.is_empty() {
                "ops-pg-"
            } else {
                &opts.prefix
            })
            .tempdir_in(&parent)
            .map_err(Error::io("create the cluster's temp folder"))?;
        let dir = root.path().to_path_buf();
        if let Some((u, g)) = user {
            std::os::unix::fs::chown(&dir, Some(u), Some(g))
                .map_err(Error::io("chown the cluster's folder"))?;
        }
        let as_user = |cmd: &mut Command| {
            if let Some((u, g)) = user {
                cmd.uid(u).gid(g);
            }
        };
        let data = dir.join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .args(["-E", "UTF8", "--locale=C", "--no-sync"])
            .current_dir(&dir);
        as_user(&mut initdb);
        run(&mut initdb, "initdb")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(Error::io("find a free port"))?
            .port();
        let mut tls_conf = String::new();
        if opts.tls {
            let certs = dir.join("tls");
            std::fs::create_dir(&certs).map_err(Error::io("create the certificate folder"))?;
            make_certificates(&certs)?;
            let key = certs.join("server.key");
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
                    .map_err(Error::io("restrict the server key"))?;
                std::fs::set_permissions(&certs, std::fs::Permissions::from_mode(0o755))
                    .map_err(Error::io("open the certificate folder"))?;
            }
            if let Some((u, g)) = user {
                std::os::unix::fs::chown(&key, Some(u), Some(g))
                    .map_err(Error::io("chown the server key"))?;
            }
            tls_conf = format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
                certs.join("server.crt").display(),
                key.display()
            );
            // Unencrypted TCP is refused; the unix socket (trust) stays plain.
            let hba = data.join("pg_hba.conf");
            let text = std::fs::read_to_string(&hba).map_err(Error::io("read pg_hba.conf"))?;
            std::fs::write(&hba, format!("hostnossl all all all reject\n{text}"))
                .map_err(Error::io("write pg_hba.conf"))?;
        }
        if !opts.extra_listen.is_empty() {
            let hba = data.join("pg_hba.conf");
            let mut text = std::fs::read_to_string(&hba).map_err(Error::io("read pg_hba.conf"))?;
            for addr in &opts.extra_listen {
                let bits = if addr.contains(':') { 128 } else { 32 };
                text.push_str(&format!("host all all {addr}/{bits} scram-sha-256\n"));
            }
            std::fs::write(&hba, text).map_err(Error::io("write pg_hba.conf"))?;
        }
        let listen: Vec<&str> = std::iter::once("127.0.0.1")
            .chain(opts.extra_listen.iter().map(String::as_str))
            .collect();
        let conf = format!(
            "\nport = {port}\nlisten_addresses = '{}'\nunix_socket_directories = '{}'\n{tls_conf}{}\n",
            listen.join(","),
            dir.display(),
            opts.extra_conf
        );
        let conf_path = data.join("postgresql.conf");
        let mut text =
            std::fs::read_to_string(&conf_path).map_err(Error::io("read postgresql.conf"))?;
        text.push_str(&conf);
        std::fs::write(&conf_path, text).map_err(Error::io("write postgresql.conf"))?;
        // From here on, dropping the cluster stops the server (if it started) and removes it.
        let cluster = Cluster {
            dir,
            port,
            bin,
            user,
            tls: opts.tls,
            _root: root,
        };
        // If this process dies without dropping the cluster, stop and delete it anyway.
        let script = "while [ -d \"/proc/$0\" ]; do sleep 0.3; done; [ -d \"$2/data\" ] || exit 0; \
                      \"$1/pg_ctl\" -D \"$2/data\" -m immediate -w stop >/dev/null 2>&1; rm -rf \"$2\"";
        let mut watchdog = Command::new("sh");
        watchdog
            .arg("-c")
            .arg(script)
            .arg(std::process::id().to_string())
            .arg(&cluster.bin)
            .arg(&cluster.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/");
        as_user(&mut watchdog);
        // Nobody waits for the watchdog: it outlives this process on purpose.
        #[allow(clippy::zombie_processes)]
        watchdog
            .spawn()
            .map_err(Error::io("spawn the cluster watchdog"))?;
        let mut start = Command::new(cluster.bin.join("pg_ctl"));
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(cluster.dir.join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .current_dir(&cluster.dir);
        as_user(&mut start);
        run(&mut start, "pg_ctl start")?;
        Ok(cluster)
    }

    /// The cluster's folder: its unix socket folder; the data is in `data/`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server and client binaries' folder (`psql`, `pg_dump`, `pg_restore`…).
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The CA that verifies the server's certificate, when started with [`Options::tls`].
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.then(|| self.dir.join("tls").join("ca.pem"))
    }

    /// `(uid, gid)` the server runs as, when this process is root.
    pub fn server_user(&self) -> Option<(u32, u32)> {
        self.user
    }

    /// `cmd` set to run as the server's user (when this process is root).
    pub fn as_server_user<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        if let Some((u, g)) = self.user {
            cmd.uid(u).gid(g);
        }
        cmd
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Immediate: the data is disposable. `-w` waits until the server is gone, so nothing
        // writes into the folder while `_root` removes it.
        let mut stop = Command::new(self.bin.join("pg_ctl"));
        stop.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "-t", "60", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir("/");
        self.as_server_user(&mut stop);
        let _ = stop.status();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A start that fails (here: an `initdb` that exits 1) leaves no folder behind.
    #[test]
    fn a_failed_start_leaves_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        let initdb = bin.path().join("initdb");
        std::fs::write(
            &initdb,
            "#!/bin/sh\necho 'initdb: no space left' >&2\nexit 1\n",
        )
        .unwrap();
        // Readable and searchable by the server user a root process switches to.
        std::fs::set_permissions(&initdb, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let parent = tempfile::tempdir().unwrap();
        std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = Cluster::start(&Options {
            prefix: "ops-pg-test-".into(),
            parent: Some(parent.path().to_path_buf()),
            bin: Some(bin.path().to_path_buf()),
            extra_conf: String::new(),
            tls: false,
            extra_listen: Vec::new(),
        })
        .unwrap_err();
        assert!(err.to_string().contains("initdb"), "{err}");
        let left: Vec<_> = std::fs::read_dir(parent.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}

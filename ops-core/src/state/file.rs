//! The local state folder: documents as files, leases as files under an exclusive `flock`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{BudgetKey, Holder, Kind, Lease, Limit, StateError, StateStore, check_key};

/// The state folder backend; see the [module docs](super).
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

/// A lease as its file holds it.
#[derive(Debug, Serialize, Deserialize)]
struct LeaseFile {
    run: String,
    host: String,
    pid: u32,
    token: u64,
    since_ms: u64,
    expires_ms: u64,
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or(UNIX_EPOCH)
}

impl FileStore {
    /// A store in `dir` (created 0700 on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileStore { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a document. A run journal keeps the path it always had,
    /// `<dir>/<run id>.json`; other kinds live in a subfolder named after the kind.
    pub fn path(&self, kind: Kind, key: &str) -> PathBuf {
        self.kind_dir(kind).join(format!("{key}.json"))
    }

    fn kind_dir(&self, kind: Kind) -> PathBuf {
        match kind {
            Kind::Journal => self.dir.clone(),
            other => self.dir.join(other.as_str()),
        }
    }

    fn leases_dir(&self) -> PathBuf {
        self.dir.join("leases")
    }

    /// Runs `f` with the leases folder's lock held (exclusive `flock` on `leases/.lock`:
    /// released by the kernel if the process dies).
    fn with_lease_lock<T>(
        &self,
        f: impl FnOnce(&Path) -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let dir = self.leases_dir();
        mkdir(&dir)?;
        let lock_path = dir.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io_err(&lock_path, "open the lease lock"))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io_err(&lock_path, "lock the leases")(e.into()))?;
        let out = f(&dir);
        drop(lock); // unlocks
        out
    }

    fn read_lease(path: &Path) -> Result<Option<LeaseFile>, StateError> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io_err(path, "decode a lease (edited by hand?)")(io::Error::from(e))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(path, "read a lease")(e)),
        }
    }

    /// The next fencing token of the folder (a counter file under the lease lock).
    fn next_token(dir: &Path) -> Result<u64, StateError> {
        let path = dir.join(".token");
        let last = match fs::read_to_string(&path) {
            Ok(s) => s.trim().parse::<u64>().unwrap_or(0),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io_err(&path, "read the lease token counter")(e)),
        };
        let next = last.saturating_add(1);
        write_atomic(dir, &path, next.to_string().as_bytes())?;
        Ok(next)
    }
}

fn io_err(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> StateError {
    let path = path.to_path_buf();
    move |source| StateError::Io {
        path,
        action,
        source,
    }
}

fn mkdir(dir: &Path) -> Result<(), StateError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_err(dir, "create the folder"))
}

/// Temp file (0600) + fsync + rename + folder fsync: a reader sees the old or the new
/// document, never half of one, also after a crash.
fn write_atomic(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    mkdir(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per write, not only per process: two writes of one document may overlap in
    // one process (a run dropped mid-write by a timeout or Ctrl-C leaves its write going
    // while the same process writes again); with one name per process, one write removed or
    // renamed the other's half-written file.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let res = (|| {
        // A file of this name is left only by a process that died mid-write with our pid.
        let _ = fs::remove_file(&tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable (some file systems refuse a folder fsync: then
        // the rename stands as the file system keeps it).
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.map_err(io_err(path, "write a document"))
}

/// How old a write's temporary file must be before a listing removes it: a write takes
/// milliseconds, so one this old was left by a process that died mid-write.
const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

/// A temporary file of [`write_atomic`] (`.<doc>.<pid>.<n>.tmp`) not touched for
/// [`STALE_TEMPORARY`].
async fn is_stale_temporary(name: &str, entry: &tokio::fs::DirEntry) -> bool {
    if !(name.starts_with('.') && name.ends_with(".tmp")) {
        return false;
    }
    let Ok(meta) = entry.metadata().await else {
        return false;
    };
    meta.is_file()
        && meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age >= STALE_TEMPORARY)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StateError> + Send + 'static,
) -> Result<T, StateError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|join| {
        Err(StateError::Io {
            path: PathBuf::new(),
            action: "finish a state operation",
            source: io::Error::other(join.to_string()),
        })
    })
}

#[async_trait]
impl StateStore for FileStore {
    fn describe(&self) -> String {
        format!("state folder {}", self.dir.display())
    }

    async fn put(
        &self,
        kind: Kind,
        key: &str,
        doc: &[u8],
        fence: Option<&Lease>,
    ) -> Result<(), StateError> {
        check_key(key)?;
        let this = self.clone();
        let (dir, path) = (self.kind_dir(kind), self.path(kind, key));
        let doc = doc.to_vec();
        let fence = fence.cloned();
        blocking(move || match fence {
            // The check and the write under the lease lock: no takeover in between.
            Some(lease) => this.with_lease_lock(|ldir| {
                let current = Self::read_lease(&ldir.join(format!("{}.json", lease.name)))?;
                match current {
                    Some(l) if l.token == lease.token && l.expires_ms > ms(SystemTime::now()) => {
                        write_atomic(&dir, &path, &doc)
                    }
                    _ => Err(StateError::LeaseLost {
                        name: lease.name.clone(),
                        token: lease.token,
                    }),
                }
            }),
            None => write_atomic(&dir, &path, &doc),
        })
        .await
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        check_key(key)?;
        let path = self.path(kind, key);
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, "read a document")(e)),
        }
    }

    async fn list(&self, kind: Kind) -> Result<Vec<(String, Vec<u8>)>, StateError> {
        let dir = self.kind_dir(kind);
        let mut out = Vec::new();
        let mut rd = match tokio::fs::read_dir(&dir).await {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_err(&dir, "list the folder")(e)),
        };
        while let Some(entry) = rd
            .next_entry()
            .await
            .map_err(io_err(&dir, "list the folder"))?
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(key) = name.strip_suffix(".json") else {
                if is_stale_temporary(&name, &entry).await {
                    // A write's temporary file whose process died mid-write (`kill -9`, a
                    // power cut): the document it was for is intact, this is garbage.
                    let _ = tokio::fs::remove_file(entry.path()).await;
                }
                continue;
            };
            if check_key(key).is_err() {
                continue;
            }
            match tokio::fs::read(entry.path()).await {
                Ok(b) => out.push((key.to_owned(), b)),
                // Removed while listing.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&entry.path(), "read a document")(e)),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    async fn delete(&self, kind: Kind, key: &str) -> Result<bool, StateError> {
        check_key(key)?;
        let path = self.path(kind, key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(&path, "delete a document")(e)),
        }
    }

    async fn acquire(
        &self,
        name: &str,
        holder: &Holder,
        ttl: Duration,
    ) -> Result<Lease, StateError> {
        check_key(name)?;
        let this = self.clone();
        let (name, holder) = (name.to_owned(), holder.clone());
        blocking(move || {
            this.with_lease_lock(|dir| {
                let path = dir.join(format!("{name}.json"));
                let now = ms(SystemTime::now());
                if let Some(l) = Self::read_lease(&path)? {
                    let same = l.run == holder.run && l.host == holder.host && l.pid == holder.pid;
                    if l.expires_ms > now && !same {
                        return Err(StateError::Held {
                            name,
                            holder: Holder {
                                run: l.run,
                                host: l.host,
                                pid: l.pid,
                            },
                            since: at(l.since_ms),
                            expires_at: at(l.expires_ms),
                        });
                    }
                }
                let token = Self::next_token(dir)?;
                let expires_ms =
                    now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
                let file = LeaseFile {
                    run: holder.run.clone(),
                    host: holder.host.clone(),
                    pid: holder.pid,
                    token,
                    since_ms: now,
                    expires_ms,
                };
                let bytes = serde_json::to_vec(&file)
                    .map_err(|e| io_err(&path, "encode a lease")(io::Error::from(e)))?;
                write_atomic(dir, &path, &bytes)?;
                Ok(Lease {
                    name,
                    holder,
                    token,
                    expires_at: at(expires_ms),
                })
            })
        })
        .await
    }

    async fn renew(&self, lease: &Lease, ttl: Duration) -> Result<Lease, StateError> {
        let this = self.clone();
        let lease = lease.clone();
        blocking(move || {
            this.with_lease_lock(|dir| {
                let path = dir.join(format!("{}.json", lease.name));
                let now = ms(SystemTime::now());
                match Self::read_lease(&path)? {
                    Some(mut l) if l.token == lease.token && l.expires_ms > now => {
                        l.expires_ms =
                            now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
                        let bytes = serde_json::to_vec(&l)
                            .map_err(|e| io_err(&path, "encode a lease")(io::Error::from(e)))?;
                        write_atomic(dir, &path, &bytes)?;
                        Ok(Lease {
                            expires_at: at(l.expires_ms),
                            ..lease
                        })
                    }
                    _ => Err(StateError::LeaseLost {
                        name: lease.name,
                        token: lease.token,
                    }),
                }
            })
        })
        .await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StateError> {
        let this = self.clone();
        let lease = lease.clone();
        blocking(move || {
            this.with_lease_lock(|dir| {
                let path = dir.join(format!("{}.json", lease.name));
                if Self::read_lease(&path)?.is_some_and(|l| l.token == lease.token) {
                    fs::remove_file(&path).map_err(io_err(&path, "remove a lease"))?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn take_budget(
        &self,
        _key: &BudgetKey,
        _limits: &[Limit],
    ) -> Result<Option<Duration>, StateError> {
        // One operator on one machine: each process's own budget applies (module docs).
        Ok(None)
    }
}

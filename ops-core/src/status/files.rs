//! What a status page reads from Nagios's own files, beside nagios-api: the archived logs
//! (`log_archive_path`) for the history and `objects.cache` for group members, each cached
//! by path, size and modification time so a refresh reads only what changed.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::groups::GroupsReader;
use super::history::{self, History, LogEvents, days_from_civil};
use super::{Groups, StatusConfig};

const DAY: i64 = 86_400;

/// One archived file as last read.
struct Cached {
    len: u64,
    mtime: Option<SystemTime>,
    events: LogEvents,
}

/// Nagios's files a page reads (archived logs, `objects.cache`), cached across refreshes.
/// Cloning is cheap (the parsed files are shared); a [`Feed`](super::Feed) keeps one.
#[derive(Clone, Default)]
pub struct NagiosFiles {
    archive: BTreeMap<PathBuf, Arc<Cached>>,
    groups: GroupsReader,
}

impl fmt::Debug for NagiosFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NagiosFiles")
            .field("archived_files_cached", &self.archive.len())
            .finish_non_exhaustive()
    }
}

/// The time in an archived log's name, `nagios-MM-DD-YYYY-HH.log` (Nagios names the file
/// by the local time of the rotation that closed it), read as if it were UTC.
pub(crate) fn archive_name_time(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("nagios-")?.strip_suffix(".log")?;
    let f: Vec<&str> = rest.split('-').collect();
    let [m, d, y, h] = f.as_slice() else {
        return None;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(m, 2) && digits(d, 2) && digits(y, 4) && digits(h, 2)) {
        return None;
    }
    let hour: i64 = h.parse().ok()?;
    if hour > 23 {
        return None;
    }
    let day = days_from_civil(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some(day * DAY + hour * 3600)
}

impl NagiosFiles {
    /// The groups for `config`'s group members: `None` without `objects_cache`, else what
    /// the file lists (read again only when it changed), or why it cannot be read.
    pub fn groups(&mut self, config: &StatusConfig) -> Option<Groups> {
        config
            .objects_cache
            .as_deref()
            .map(|path| self.groups.read(path))
    }

    /// The history as of `now` (`None` when `history_days` is 0): the archived files of the
    /// period (read when new or changed, else from the cache; files that left the period or
    /// the folder are forgotten) and `recent`, nagios-api's `/log` (or why it could not be
    /// read). Blocking file I/O: call it off an async runtime's worker threads.
    pub fn history(
        &mut self,
        config: &StatusConfig,
        groups: Option<&Groups>,
        recent: Result<&LogEvents, String>,
        now: SystemTime,
    ) -> Option<History> {
        if config.history_days == 0 {
            return None;
        }
        let from = history::window_start(config.history_days, now);
        let (files, read, error) = match &config.log_archive_path {
            Some(dir) => self.read_archive(dir, from),
            None => (Vec::new(), 0, None),
        };
        let refs: Vec<&LogEvents> = files.iter().map(|c| &c.events).collect();
        let mut h = history::history(config, groups, &refs, recent.as_ref().ok().copied(), now);
        h.sources.archive_files_read = read;
        h.sources.archive_files_cached = files.len().saturating_sub(read);
        h.sources.archive_error = error;
        h.sources.recent_log_error = recent.err();
        Some(h)
    }

    /// The archived files that may hold the period from `from` on, oldest first: those
    /// named at or after `from` less two days (a file holds the lines *before* the rotation
    /// it is named by; its name is in Nagios's local time), with how many were read now and
    /// what could not be read.
    fn read_archive(&mut self, dir: &Path, from: i64) -> (Vec<Arc<Cached>>, usize, Option<String>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.archive.clear();
                return (
                    Vec::new(),
                    0,
                    Some(format!(
                        "the log archive folder (log_archive_path) cannot be read: {}",
                        e.kind()
                    )),
                );
            }
        };
        let mut wanted: Vec<(i64, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let t = archive_name_time(e.file_name().to_str()?)?;
                (t >= from.saturating_sub(2 * DAY)).then(|| (t, e.path()))
            })
            .collect();
        wanted.sort();
        let mut kept = BTreeMap::new();
        let mut out = Vec::with_capacity(wanted.len());
        let mut read = 0;
        let mut failed = 0;
        let mut why = None;
        for (_, path) in wanted {
            let meta = match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => m,
                Ok(_) => continue,
                Err(e) => {
                    failed += 1;
                    why.get_or_insert(e.kind());
                    continue;
                }
            };
            let (len, mtime) = (meta.len(), meta.modified().ok());
            let hit = self
                .archive
                .get(&path)
                .filter(|c| c.len == len && c.mtime == mtime)
                .cloned();
            let cached = match hit {
                Some(c) => c,
                None => match read_log(&path) {
                    Ok(events) => {
                        read += 1;
                        Arc::new(Cached { len, mtime, events })
                    }
                    Err(e) => {
                        failed += 1;
                        why.get_or_insert(e.kind());
                        continue;
                    }
                },
            };
            kept.insert(path, Arc::clone(&cached));
            out.push(cached);
        }
        self.archive = kept;
        let error = why.map(|kind| {
            format!("{failed} archived log file(s) could not be read ({kind}); the history goes on without them")
        });
        (out, read, error)
    }
}

/// Parse one log file line by line (invalid UTF-8 replaced: plugin output can hold anything).
fn read_log(path: &Path) -> std::io::Result<LogEvents> {
    let mut reader = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut events = LogEvents::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        events.push_line(&String::from_utf8_lossy(&line));
    }
    Ok(events)
}

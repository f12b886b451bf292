//! Room for the working copy: before anything is written, the restore estimates how much
//! the working copy will take and, when it can see the QA server's data directory, refuses
//! to start if that file system has less free space ([`RestoreError::InsufficientSpace`]).
//!
//! **Estimate.** A live source: its `pg_database_size` × [`LIVE_SOURCE_PERCENT`] % (the
//! copy has no bloat, but the restore writes WAL while it loads; what is left over is
//! margin). A dump: its size on disk (the file, or every file of a directory-format dump) ×
//! [`DUMP_FACTOR`]: a dump holds the data compressed and no index contents, so the restored
//! database is several times larger. Measured on PostgreSQL 15 with the test fixture's
//! shape (30,000 customers, 300,000 orders, hex text, three indexes): the `-Fc -Z1` dump is
//! 9.2 MB and restores to 48.5 MB (5.3×, 7.5 MB of it the empty database); an uncompressed
//! (`-Z0`) dump of it is 19.7 MB (2.5×). Data that compresses better than hex makes the
//! ratio larger, so 5 is a floor for compressed dumps, and an uncompressed dump is
//! overestimated about 2×: on a tight disk give the free space yourself
//! ([`SpaceCheck::Available`]) or turn the check off ([`SpaceCheck::Off`]). The live
//! source's copy measured the same size as the source (48.5 MB both).
//!
//! **Local server.** The check runs when the server's `data_directory` (readable by a
//! superuser or a member of `pg_read_all_settings`) is a folder on this machine **of that
//! server**: its `global/pg_control` is readable by this process and carries the server's
//! system identifier (a path that exists here but belongs to another cluster, e.g. behind an
//! SSH tunnel, is not taken for it). Otherwise the check is skipped and the plan says why.

use std::path::Path;

use super::error::RestoreError;

/// A live source's size is multiplied by this percentage.
pub const LIVE_SOURCE_PERCENT: u64 = 120;

/// A dump's size on disk is multiplied by this.
pub const DUMP_FACTOR: u64 = 5;

/// How the free-space check finds what is available.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpaceCheck {
    /// Measure the data directory's file system when the server is local; else skip.
    #[default]
    Auto,
    /// The caller knows the free bytes where the working copy will go (a remote server's
    /// monitoring): compare with them.
    Available(u64),
    /// No check.
    Off,
}

/// What the free-space check found ([`Plan::space`](super::Plan::space)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpaceOutcome {
    /// There is room.
    Enough {
        /// Where it was measured (the data directory, or the figure given).
        location: String,
        /// Estimated size of the working copy, bytes.
        needed: u64,
        /// Free bytes there.
        available: u64,
    },
    /// Not checked, and why.
    Skipped(String),
}

impl std::fmt::Display for SpaceOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Enough {
                location,
                needed,
                available,
            } => write!(
                f,
                "about {} needed, {} free on {location}",
                human(*needed),
                human(*available)
            ),
            Self::Skipped(why) => write!(f, "not checked: {why}"),
        }
    }
}

/// A size in bytes (keeps estimates and free space from being mixed up with counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Bytes(pub(crate) u64);

/// What the working copy's size is estimated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Estimate {
    /// `pg_database_size` of the live source.
    LiveSource(Bytes),
    /// The dump's size on disk.
    Dump(Bytes),
}

impl Estimate {
    /// The estimated size of the working copy.
    pub(crate) fn needed(self) -> Bytes {
        match self {
            Self::LiveSource(Bytes(b)) => Bytes(b.saturating_mul(LIVE_SOURCE_PERCENT) / 100),
            Self::Dump(Bytes(b)) => Bytes(b.saturating_mul(DUMP_FACTOR)),
        }
    }

    fn describe(self) -> String {
        match self {
            Self::LiveSource(Bytes(b)) => format!(
                "the source database's size ({}) × {LIVE_SOURCE_PERCENT} %",
                human(b)
            ),
            Self::Dump(Bytes(b)) => format!("the dump's size ({}) × {DUMP_FACTOR}", human(b)),
        }
    }
}

/// Refuse when `available` at `location` is less than the estimate.
pub(crate) fn decide(
    estimate: Estimate,
    available: Bytes,
    location: &str,
    next: &str,
) -> Result<SpaceOutcome, RestoreError> {
    let needed = estimate.needed();
    if needed > available {
        return Err(RestoreError::InsufficientSpace {
            working_copy: next.to_owned(),
            location: location.to_owned(),
            needed: needed.0,
            available: available.0,
            estimated_from: estimate.describe(),
        });
    }
    Ok(SpaceOutcome::Enough {
        location: location.to_owned(),
        needed: needed.0,
        available: available.0,
    })
}

/// Bytes on disk of a dump file or directory-format dump folder.
pub(crate) fn dump_size(path: &Path) -> std::io::Result<u64> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0u64;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let m = entry.metadata()?;
        total = total.saturating_add(if m.is_dir() {
            dump_size(&entry.path())?
        } else {
            m.len()
        });
    }
    Ok(total)
}

/// Free bytes (for an unprivileged user) on the file system of `data_dir`, when it is the
/// data directory of the server whose system identifier is `system_identifier`; else why
/// not.
pub(crate) fn local_available(data_dir: &Path, system_identifier: &str) -> Result<Bytes, String> {
    let control = data_dir.join("global").join("pg_control");
    let mut head = [0u8; 8];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(&control).map_err(|e| {
            format!(
                "the server's data directory {} is not readable from this process ({e}): \
                 the server is remote, or run as its owner or root to have the check",
                data_dir.display()
            )
        })?;
        f.read_exact(&mut head)
            .map_err(|e| format!("{} is not a pg_control file ({e})", control.display()))?;
    }
    // pg_control begins with the system identifier, in the server's byte order.
    let here = i64::from_ne_bytes(head).to_string();
    if here != system_identifier {
        return Err(format!(
            "{} on this machine belongs to another cluster (system identifier {here}, the \
             server's is {system_identifier}): the server is remote",
            data_dir.display()
        ));
    }
    let st = rustix::fs::statvfs(data_dir)
        .map_err(|e| format!("statvfs {} failed ({e})", data_dir.display()))?;
    Ok(Bytes(st.f_bavail.saturating_mul(st.f_frsize)))
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub(crate) fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut v = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit} ({bytes} bytes)")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn the_estimate_is_the_documented_factor() {
        assert_eq!(
            Estimate::LiveSource(Bytes(10 * GIB)).needed(),
            Bytes(12 * GIB)
        );
        assert_eq!(Estimate::Dump(Bytes(GIB)).needed(), Bytes(5 * GIB));
        assert_eq!(
            Estimate::Dump(Bytes(u64::MAX)).needed(),
            Bytes(u64::MAX),
            "saturates"
        );
    }

    #[test]
    fn refuses_with_both_figures_when_the_copy_does_not_fit() {
        let err = decide(
            Estimate::LiveSource(Bytes(10 * GIB)),
            Bytes(11 * GIB),
            "/var/lib/postgresql/15/main",
            "qa_next",
        )
        .unwrap_err();
        let RestoreError::InsufficientSpace {
            needed, available, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*needed, *available), (12 * GIB, 11 * GIB));
        let text = err.to_string();
        for part in [
            "qa_next",
            "12.0 GiB",
            "11.0 GiB",
            "/var/lib/postgresql/15/main",
            "× 120 %",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
    }

    #[test]
    fn accepts_when_it_fits_exactly_or_better() {
        for available in [5 * GIB, 100 * GIB] {
            let ok = decide(
                Estimate::Dump(Bytes(GIB)),
                Bytes(available),
                "/d",
                "qa_next",
            );
            assert_eq!(
                ok.unwrap(),
                SpaceOutcome::Enough {
                    location: "/d".into(),
                    needed: 5 * GIB,
                    available
                }
            );
        }
        assert!(decide(Estimate::Dump(Bytes(GIB)), Bytes(5 * GIB - 1), "/d", "n").is_err());
    }

    #[test]
    fn a_folder_that_is_no_data_directory_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let why = local_available(dir.path(), "42").unwrap_err();
        assert!(why.contains("not readable"), "{why}");
        std::fs::create_dir(dir.path().join("global")).unwrap();
        std::fs::write(
            dir.path().join("global").join("pg_control"),
            7i64.to_ne_bytes(),
        )
        .unwrap();
        let why = local_available(dir.path(), "42").unwrap_err();
        assert!(why.contains("another cluster"), "{why}");
        let free = local_available(dir.path(), "7").unwrap();
        assert!(free.0 > 0);
    }

    #[test]
    fn dump_sizes_add_up_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("toc.dat"), [0u8; 100]).unwrap();
        std::fs::write(dir.path().join("3000.dat.gz"), [0u8; 28]).unwrap();
        assert_eq!(dump_size(dir.path()).unwrap(), 128);
        assert_eq!(dump_size(&dir.path().join("toc.dat")).unwrap(), 100);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(3 * GIB / 2), "1.5 GiB (1610612736 bytes)");
    }
}

//! Running `pg_restore` and `pg_dump` as child processes.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::Command;

use rustix::process::{Pid, Signal};

use super::cancel::{CancelToken, PauseFn};
use super::error::RestoreError;
use super::server::PgServer;
use super::toc::is_chatter;
use super::{RestoreOptions, Step};

/// Path of a client program: `<bin_dir>/<name>` or `<name>` looked up on `PATH`.
pub(crate) fn program(bin_dir: Option<&Path>, name: &str) -> PathBuf {
    bin_dir.map_or_else(|| PathBuf::from(name), |d| d.join(name))
}

/// A libpq connection string naming only the database (quoted for libpq),
/// so that any database name is taken literally by `-d`.
pub(crate) fn dbname_conninfo(database: &str) -> String {
    format!(
        "dbname='{}'",
        database.replace('\\', "\\\\").replace('\'', "\\'")
    )
}

fn status_text(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => status.to_string(),
    }
}

/// Longest line of a child's output kept, in bytes. The rest of a longer line is read
/// and dropped, and the kept part ends with a truncation marker: a tool that writes
/// megabytes without a newline cannot make us buffer them.
pub(crate) const MAX_LINE_BYTES: usize = 64 * 1024;

/// Read one line into `buf` (without its `\n`), keeping at most `max` bytes of it and
/// reading past the rest. Returns `None` at end of input, else the line's full length in
/// bytes without the `\n`, so `len > buf.len()` means the line was cut.
pub(crate) async fn read_line_bounded<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<usize>> {
    let mut total = 0usize;
    let mut any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(any.then_some(total));
        }
        any = true;
        let newline = available.iter().position(|&b| b == b'\n');
        let content = newline.unwrap_or(available.len());
        let keep = content.min(max.saturating_sub(buf.len()));
        buf.extend_from_slice(&available[..keep]);
        total = total.saturating_add(content);
        reader.consume(newline.map_or(content, |i| i + 1));
        if newline.is_some() {
            return Ok(Some(total));
        }
    }
}

/// The text of a line read by [`read_line_bounded`]: lossy UTF-8 without trailing
/// whitespace, with a marker when it was cut.
fn line_text(buf: &[u8], len: usize) -> String {
    let text = String::from_utf8_lossy(buf);
    let text = text.trim_end();
    if len > buf.len() {
        format!(
            "{text} … [line truncated: {len} bytes, first {} kept]",
            buf.len()
        )
    } else {
        text.to_owned()
    }
}

/// How a running tool can be stopped: the run's [`CancelToken`] and the test pause.
#[derive(Default, Clone)]
pub(crate) struct Control {
    pub(crate) cancel: Option<CancelToken>,
    /// The step the tool runs in and the hook, when the hook pauses there.
    pub(crate) pause: Option<(Step, PauseFn)>,
}

/// Kills a tool's process group (the tool and its `-j` workers) with `SIGKILL` when dropped
/// armed: the path of a run abandoned without its cleanup (a second interrupt, a panic).
struct GroupKill(Option<Pid>);

impl GroupKill {
    fn kill(&self, sig: Signal) {
        if let Some(p) = self.0 {
            // ESRCH: nothing left in the group.
            let _ = rustix::process::kill_process_group(p, sig);
        }
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        self.kill(Signal::KILL);
    }
}

/// Wait (bounded) until no process of group `pgid` is left to signal: after `SIGKILL`, the
/// workers of a tool are reparented and may take a moment to go. Zombies that nobody reaps
/// still count, hence the bound.
async fn group_gone(pgid: Pid) {
    for _ in 0..200 {
        if rustix::process::test_kill_process_group(pgid).is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tracing::debug!(
        pgid = pgid.as_raw_nonzero().get(),
        "processes of a killed tool's group remain (unreaped zombies?)"
    );
}

/// Run a command in a process group of its own, feeding each stderr line to `on_line`;
/// fail with the last problem lines if it exits unsuccessfully. When `ctl.cancel` is
/// cancelled, the whole group is killed and reaped (the leader; its workers get a bounded
/// wait) and the result is [`RestoreError::Interrupted`] (its step filled in by the
/// runner). If the returned future is dropped, the group is killed too. Lines longer than
/// [`MAX_LINE_BYTES`] are cut.
pub(crate) async fn run_streaming(
    mut cmd: Command,
    name: &str,
    mut on_line: impl FnMut(&str),
    ctl: &Control,
) -> Result<(), RestoreError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let program = cmd.as_std().get_program().to_string_lossy().into_owned();
    tracing::debug!(program = %program, "spawning");
    let mut child = cmd.spawn().map_err(|source| RestoreError::Spawn {
        program: program.clone(),
        source,
    })?;
    let pid = child.id();
    let mut group = GroupKill(pid.and_then(|p| Pid::from_raw(i32::try_from(p).ok()?)));
    let mut tail: Vec<String> = Vec::new();
    let stderr = child.stderr.take();
    let work = async {
        if let Some((step, pause)) = &ctl.pause {
            group.kill(Signal::STOP);
            pause(*step, pid).await;
            group.kill(Signal::CONT);
        }
        if let Some(stderr) = stderr {
            let mut reader = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                let Some(n) = read_line_bounded(&mut reader, &mut buf, MAX_LINE_BYTES)
                    .await
                    .map_err(|e| RestoreError::io(format!("read the output of {name}"), e))?
                else {
                    break;
                };
                let line = line_text(&buf, n);
                let line = line.as_str();
                on_line(line);
                if !is_chatter(line) {
                    tracing::warn!(program = name, "{line}");
                    tail.push(line.to_owned());
                    if tail.len() > 8 {
                        tail.remove(0);
                    }
                }
            }
        }
        child
            .wait()
            .await
            .map_err(|e| RestoreError::io(format!("wait for {name}"), e))
    };
    let finished = match &ctl.cancel {
        Some(c) => tokio::select! {
            biased;
            () = c.cancelled() => None,
            r = work => Some(r),
        },
        None => Some(work.await),
    };
    let Some(status) = finished else {
        tracing::info!(program = name, "interrupted: killing its process group");
        group.kill(Signal::KILL);
        let _ = child.wait().await;
        if let Some(p) = group.0.take() {
            group_gone(p).await;
        }
        return Err(RestoreError::Interrupted {
            step: Step::Preflight,
            swapped: false,
            left_behind: Vec::new(),
        });
    };
    // An error reading its output or waiting for it: the group is killed on return.
    let status = status?;
    // Reaped: the group id may be reused from now on.
    group.0 = None;
    if status.success() {
        Ok(())
    } else {
        Err(RestoreError::Tool {
            program: name.to_owned(),
            status: status_text(status),
            stderr_tail: if tail.is_empty() {
                "no error output".to_owned()
            } else {
                tail.join(" | ")
            },
        })
    }
}

/// `pg_restore -l <dump>`: the archive's table of contents.
pub(crate) async fn list_toc(bin_dir: Option<&Path>, dump: &Path) -> Result<String, RestoreError> {
    let prog = program(bin_dir, "pg_restore");
    let out = Command::new(&prog)
        .arg("-l")
        .arg(dump)
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| RestoreError::Spawn {
            program: prog.display().to_string(),
            source,
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(RestoreError::InvalidDump(format!(
            "`pg_restore -l {}` failed ({}): {}",
            dump.display(),
            status_text(out.status),
            err.trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Build the `pg_restore` command for the new database.
#[cfg(test)]
pub(crate) fn restore_command(
    server: &PgServer,
    database: &str,
    dump: &Path,
    opts: &RestoreOptions,
) -> Command {
    restore_section_command(server, database, dump, opts, None, None)
}

/// [`restore_command`] for one section of the archive (`pre-data`, `post-data`), or all,
/// and only the items of the list file `list` (`pg_restore -L`), if given.
pub(crate) fn restore_section_command(
    server: &PgServer,
    database: &str,
    dump: &Path,
    opts: &RestoreOptions,
    section: Option<&str>,
    list: Option<&Path>,
) -> Command {
    let (jobs, no_owner, no_acl, extra) = (
        opts.jobs,
        opts.no_owner,
        opts.no_acl,
        &opts.extra_restore_args,
    );
    let mut cmd = Command::new(program(opts.bin_dir.as_deref(), "pg_restore"));
    server.configure_child(&mut cmd);
    cmd.arg("--exit-on-error").arg("--verbose");
    cmd.arg(format!("--jobs={}", jobs.max(1)));
    if no_owner {
        cmd.arg("--no-owner");
    }
    if no_acl {
        cmd.arg("--no-acl");
    }
    if let Some(s) = section {
        cmd.arg(format!("--section={s}"));
    }
    if let Some(l) = list {
        cmd.arg("-L").arg(l);
    }
    cmd.args(extra);
    cmd.arg("-d").arg(dbname_conninfo(database)).arg(dump);
    cmd
}

/// Build `pg_dump -Fc -Z0 --section=pre-data --section=post-data --snapshot=S -f <file>`:
/// the schema of a live source (no table data, no sequence values, large objects created
/// empty), for the stream engine. Small: written uncompressed.
pub(crate) fn schema_dump_command(
    bin_dir: Option<&Path>,
    server: &PgServer,
    database: &str,
    file: &Path,
    snapshot: &str,
) -> Command {
    let mut cmd = Command::new(program(bin_dir, "pg_dump"));
    server.configure_child(&mut cmd);
    cmd.arg("--format=custom")
        .arg("--compress=0")
        .arg("--section=pre-data")
        .arg("--section=post-data")
        .arg(format!("--snapshot={snapshot}"))
        .arg("-f")
        .arg(file)
        .arg("-d")
        .arg(dbname_conninfo(database));
    cmd
}

/// Build `pg_dump -Fd -Z1 -j N --snapshot=S -f <dir>` for a source database.
pub(crate) fn dump_command(
    bin_dir: Option<&Path>,
    server: &PgServer,
    database: &str,
    dir: &Path,
    jobs: u32,
    compress: u8,
    snapshot: Option<&str>,
) -> Command {
    let mut cmd = Command::new(program(bin_dir, "pg_dump"));
    server.configure_child(&mut cmd);
    cmd.arg("--format=directory")
        .arg(format!("--compress={compress}"))
        .arg(format!("--jobs={}", jobs.max(1)));
    if let Some(s) = snapshot {
        cmd.arg(format!("--snapshot={s}"));
    }
    cmd.arg("-f")
        .arg(dir)
        .arg("-d")
        .arg(dbname_conninfo(database));
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_cut_not_buffered() {
        let long = "x".repeat(200_000);
        let input = format!("short\n{long}\nafter\nno newline at the end");
        let mut reader = input.as_bytes();
        let mut lines = Vec::new();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let Some(n) = read_line_bounded(&mut reader, &mut buf, 1000)
                .await
                .unwrap()
            else {
                break;
            };
            assert!(buf.len() <= 1000);
            lines.push((line_text(&buf, n), n));
        }
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], ("short".to_owned(), 5));
        assert!(lines[1].0.starts_with(&"x".repeat(1000)));
        assert!(
            lines[1]
                .0
                .ends_with(" … [line truncated: 200000 bytes, first 1000 kept]"),
            "{}",
            &lines[1].0[1000..]
        );
        assert_eq!(lines[1].1, 200_000);
        assert_eq!(lines[2], ("after".to_owned(), 5));
        assert_eq!(lines[3].0, "no newline at the end");
        // A line of exactly `max` bytes is not marked as cut; an empty line is a line.
        let mut reader = &b"abcd\n\n"[..];
        buf.clear();
        let n = read_line_bounded(&mut reader, &mut buf, 4).await.unwrap();
        assert_eq!(line_text(&buf, n.unwrap()), "abcd");
        buf.clear();
        let n = read_line_bounded(&mut reader, &mut buf, 4).await.unwrap();
        assert_eq!(n, Some(0));
        assert_eq!(
            read_line_bounded(&mut reader, &mut buf, 4).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_child_writing_a_huge_line_is_bounded() {
        // 4 MiB without a newline on stderr, then a normal line, then failure.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("head -c 4194304 /dev/zero | tr '\\0' y >&2; echo >&2; echo 'pg_restore: error: boom' >&2; exit 3");
        let mut seen = Vec::new();
        let err = run_streaming(
            cmd,
            "tool",
            |l| seen.push(l.to_owned()),
            &Control::default(),
        )
        .await
        .unwrap_err();
        assert!(seen.iter().all(|l| l.len() < MAX_LINE_BYTES + 100));
        let cut = seen.iter().find(|l| l.starts_with('y')).unwrap();
        assert!(
            cut.contains("[line truncated: 4194304 bytes"),
            "{}",
            &cut[MAX_LINE_BYTES..]
        );
        assert!(
            seen.iter().any(|l| l == "pg_restore: error: boom"),
            "{seen:?}"
        );
        let RestoreError::Tool { stderr_tail, .. } = err else {
            panic!("{err:?}")
        };
        assert!(stderr_tail.contains("boom"));
        assert!(stderr_tail.len() < 8 * (MAX_LINE_BYTES + 100));
    }

    /// Processes of group `pgid` that are not zombies (`/proc/<pid>/stat`: state, ppid, pgrp).
    fn live_members(pgid: u32) -> Vec<u32> {
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
                .split_whitespace()
                .collect();
            if rest[2].parse::<u32>().ok() == Some(pgid) && rest[0] != "Z" {
                out.push(pid);
            }
        }
        out
    }

    /// An interrupt kills the tool's whole process group (the tool and the workers it
    /// started), reaps it, and says so; the tool is stopped (`SIGSTOP`) by the pause, so it
    /// is surely running when the token fires.
    #[tokio::test]
    async fn an_interrupt_kills_the_whole_group() {
        let token = CancelToken::new();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
        let (t, s) = (token.clone(), std::sync::Arc::clone(&seen));
        let pause: PauseFn = std::sync::Arc::new(move |_, pid| {
            *s.lock().unwrap() = pid;
            t.cancel();
            Box::pin(std::future::pending())
        });
        let ctl = Control {
            cancel: Some(token),
            pause: Some((Step::Restore, pause)),
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("sleep 300 & sleep 300 & wait");
        let err = run_streaming(cmd, "tool", |_| {}, &ctl).await.unwrap_err();
        assert!(matches!(err, RestoreError::Interrupted { .. }), "{err:?}");
        let pgid = seen.lock().unwrap().expect("the pause saw the tool's pid");
        assert_eq!(live_members(pgid), Vec::<u32>::new());
    }

    #[test]
    fn conninfo_quotes_names() {
        assert_eq!(dbname_conninfo("qa"), "dbname='qa'");
        assert_eq!(dbname_conninfo("a'b\\c"), "dbname='a\\'b\\\\c'");
    }

    #[test]
    fn password_never_in_argv() {
        let s = PgServer::new("host=h user=u password=hunter2").unwrap();
        let cmd = restore_command(&s, "qa_next", Path::new("/d"), &RestoreOptions::default());
        let argv: Vec<String> = cmd
            .as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(!argv.iter().any(|a| a.contains("hunter2")), "{argv:?}");
        assert!(argv.contains(&"--exit-on-error".to_owned()));
        let env: Vec<_> = cmd.as_std().get_envs().collect();
        assert!(
            env.iter()
                .any(|(k, v)| *k == "PGPASSWORD" && v.is_some_and(|v| v == "hunter2"))
        );
    }
}

//! Running `pg_restore` and `pg_dump` as child processes.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::RestoreOptions;
use super::error::RestoreError;
use super::server::PgServer;
use super::toc::is_chatter;

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

/// Run a command, feeding each stderr line to `on_line`; fail with the last
/// problem lines if it exits unsuccessfully. The child is killed if the
/// returned future is dropped.
pub(crate) async fn run_streaming(
    mut cmd: Command,
    name: &str,
    mut on_line: impl FnMut(&str),
) -> Result<(), RestoreError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let program = cmd.as_std().get_program().to_string_lossy().into_owned();
    tracing::debug!(program = %program, "spawning");
    let mut child = cmd.spawn().map_err(|source| RestoreError::Spawn {
        program: program.clone(),
        source,
    })?;
    let mut tail: Vec<String> = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        let mut reader = BufReader::new(stderr);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .await
                .map_err(|e| RestoreError::io(format!("read the output of {name}"), e))?;
            if n == 0 {
                break;
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end();
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
    let status = child
        .wait()
        .await
        .map_err(|e| RestoreError::io(format!("wait for {name}"), e))?;
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
pub(crate) fn restore_command(
    server: &PgServer,
    database: &str,
    dump: &Path,
    opts: &RestoreOptions,
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
    cmd.args(extra);
    cmd.arg("-d").arg(dbname_conninfo(database)).arg(dump);
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

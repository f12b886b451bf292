//! The README's first command, run as a process: every part runs and succeeds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Instant;

#[test]
fn demo_runs_every_part_in_under_a_minute() {
    // Its own temp folder: the demo's state and sandbox cluster go there (searchable by all:
    // as root, the cluster's server runs as the `postgres` user).
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--customers", "1000"])
        .env_remove("RUST_LOG")
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for part in [
        "provision a small fleet",
        "sync SSH keys",
        "status summary",
        "teardown",
        "restore into QA",
    ] {
        assert!(
            text.contains(&format!("   ok      {part}")),
            "{part}:\n{text}"
        );
    }
    assert!(text.contains("second run: up_to_date"), "{text}");
    assert!(text.contains("droplets left on the account: 0"), "{text}");
    // Nothing left behind: the state folder and the sandbox cluster went with the run.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in the temp folder: {left:?}");
    // Speed is a benchmark figure (scripts/ci/examples.sh prints the wall
    // time), never a pass/fail condition of a test.
    eprintln!("demo took {:?}", started.elapsed());
}

//! The README's first command, run as a process: every part runs and succeeds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Instant;

#[test]
fn demo_runs_every_part_in_under_a_minute() {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--customers", "1000"])
        .env_remove("RUST_LOG")
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
    // Speed is a benchmark figure (scripts/ci/examples.sh prints the wall
    // time), never a pass/fail condition of a test.
    eprintln!("demo took {:?}", started.elapsed());
}

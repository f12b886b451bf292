//! `promtool check metrics`, for the tests that check a Prometheus text exposition (the
//! status page's `/metrics`, the binaries' `--metrics-file`).

use std::io::Write as _;
use std::process::{Command, Stdio};

/// `promtool check metrics` on `text`: its lint findings (empty when clean). A refusal, or a
/// missing `promtool` (Debian package `prometheus`, installed by scripts/ci/status.sh),
/// fails the calling test.
#[allow(clippy::expect_used, clippy::unwrap_used)]
pub fn check(text: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(
            "promtool (Debian package `prometheus`) must be installed: run scripts/ci/status.sh",
        );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool refused the metrics: {findings}\n{text}"
    );
    findings
}

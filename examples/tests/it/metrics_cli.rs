//! `--metrics-file` (issue #21): every workflow binary writes a Prometheus textfile when it
//! ends, on success and on failure, and `promtool check metrics` accepts each one.
//! The promtool check is `#[ignore]`d here and run by `scripts/ci/status.sh`, which installs
//! promtool (Debian's `prometheus`); without promtool it fails, it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use crate::fleet_cli::{KEY_SYNC, ONE_HOST, PROVISION, TEARDOWN, cmd};

const RESTORE: &str = env!("CARGO_BIN_EXE_restore");

/// Runs `bin` with `args` and `--metrics-file <dir>/<file>`; returns the output and the file.
fn run(dir: &Path, bin: &str, args: &[&str], file: &str) -> (Output, String) {
    let path = dir.join(file);
    let out = cmd(bin, &dir.join("state"))
        .args(args)
        .arg("--metrics-file")
        .arg(&path)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{bin} {args:?} wrote no metrics file {} ({e}); stderr: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, text)
}

/// The value of `metric{workflow="wf"}` in `text`.
fn value(text: &str, metric: &str, wf: &str) -> Option<f64> {
    let prefix = format!("{metric}{{workflow=\"{wf}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.parse().unwrap())
}

/// Every run this file checks: `(binary, args, file, exit code)`.
fn runs(dir: &Path) -> Vec<(String, i32, String)> {
    let spec = dir.join("one.toml");
    std::fs::write(&spec, ONE_HOST).unwrap();
    let spec = spec.to_str().unwrap();
    let cases: [(&str, Vec<&str>, &str, i32); 6] = [
        (
            PROVISION,
            vec!["--sandbox", "--spec", spec],
            "provision.prom",
            0,
        ),
        (
            TEARDOWN,
            vec!["--sandbox", "--spec", spec],
            "teardown.prom",
            0,
        ),
        (KEY_SYNC, vec!["--sandbox"], "key-sync.prom", 0),
        (KEY_SYNC, vec!["--sandbox", "--audit"], "key-audit.prom", 5),
        (RESTORE, vec!["--sandbox"], "restore.prom", 0),
        // A failure: a spec that does not exist is bad input (2).
        (
            PROVISION,
            vec!["--sandbox", "--spec", "/nonexistent/fleet.toml"],
            "provision.prom",
            2,
        ),
    ];
    cases
        .into_iter()
        .map(|(bin, args, file, code)| {
            let (out, text) = run(dir, bin, &args, file);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{bin} {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            (file.to_string(), code, text)
        })
        .collect()
}

#[test]
fn a_metrics_file_is_written_on_success_and_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("one.toml");
    std::fs::write(&spec, ONE_HOST).unwrap();
    let spec = spec.to_str().unwrap();
    let (out, ok) = run(
        dir.path(),
        PROVISION,
        &["--sandbox", "--spec", spec],
        "p.prom",
    );
    assert_eq!(out.status.code(), Some(0), "{ok}");
    assert_eq!(
        value(&ok, "ops_workflow_failed", "provision"),
        Some(0.0),
        "{ok}"
    );
    assert_eq!(
        value(&ok, "ops_workflow_hosts", "provision"),
        Some(1.0),
        "{ok}"
    );
    assert_eq!(
        value(&ok, "ops_workflow_hosts_failed", "provision"),
        Some(0.0),
        "{ok}"
    );
    let success = value(
        &ok,
        "ops_workflow_last_success_timestamp_seconds",
        "provision",
    )
    .unwrap();
    assert_eq!(
        value(&ok, "ops_workflow_last_run_timestamp_seconds", "provision"),
        Some(success)
    );
    // The same job fails: the failure gauge is up, the last success is carried forward.
    let (out, bad) = run(
        dir.path(),
        PROVISION,
        &["--sandbox", "--spec", "/nonexistent/fleet.toml"],
        "p.prom",
    );
    assert_eq!(out.status.code(), Some(2), "{bad}");
    assert_eq!(
        value(&bad, "ops_workflow_failed", "provision"),
        Some(1.0),
        "{bad}"
    );
    assert_eq!(
        value(&bad, "ops_workflow_exit_code", "provision"),
        Some(2.0),
        "{bad}"
    );
    assert_eq!(
        value(
            &bad,
            "ops_workflow_last_success_timestamp_seconds",
            "provision"
        ),
        Some(success),
        "{bad}"
    );
    // Nothing but the files the runs wrote: the temp file was renamed, not left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "state")
        .collect();
    names.sort();
    assert_eq!(names, ["one.toml", "p.prom"]);
    // A path the collector would never read is refused before any work.
    let out = cmd(PROVISION, &dir.path().join("state"))
        .args(["--sandbox", "--spec", spec, "--metrics-file"])
        .arg(dir.path().join("p.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".prom"));
}

#[test]
#[ignore = "needs promtool (Debian's `prometheus`); run by scripts/ci/status.sh"]
fn every_workflow_binary_writes_metrics_promtool_accepts() {
    let dir = tempfile::tempdir().unwrap();
    for (file, code, text) in runs(dir.path()) {
        let findings = promtool(&text);
        assert!(
            findings.is_empty(),
            "promtool refused {file} (exit {code}): {findings}\n{text}"
        );
    }
}

/// `promtool check metrics` on `text` (the shared helper in ops-proptest).
fn promtool(text: &str) -> String {
    ops_proptest::promtool::check(text)
}

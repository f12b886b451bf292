//! The status page in a real browser: headless Chromium loads the rendered
//! HTML, every component shows up in its DOM, and a phone-sized screenshot
//! is written for CI's output. Run by `scripts/ci/status.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ops_core::status::{
    HostHealth, HostState, ServiceHealth, ServiceState, Snapshot, StateType, StatusConfig,
    render_html, summarize,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn chromium() -> PathBuf {
    if let Ok(p) = std::env::var("CHROMIUM_BIN") {
        return PathBuf::from(p);
    }
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "Chromium not found: install Debian's `chromium` package (scripts/ci/status.sh does) \
         or set CHROMIUM_BIN"
    );
}

fn headless(extra: &[&str], url: &str) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn sample() -> (StatusConfig, Snapshot) {
    let config: StatusConfig = serde_json::from_str(
        r#"{
            "page_name": "Acme Production",
            "stale_after_secs": 600,
            "components": [
                {"name": "Website", "description": "www and the API", "members": ["web01:HTTP"]},
                {"name": "Storage", "members": ["web01:Disk"]},
                {"name": "Database", "members": ["db01"]},
                {"name": "Batch jobs", "members": ["batch01"]}
            ]
        }"#,
    )
    .unwrap();
    let mut web = HostHealth::up();
    web.services.insert("HTTP".into(), ServiceHealth::ok());
    web.services.insert(
        "Disk".into(),
        ServiceHealth {
            state: ServiceState::Critical,
            state_type: StateType::Hard,
            last_hard_state: ServiceState::Critical,
            acknowledged: true,
            output: "DISK CRITICAL".into(),
            ..ServiceHealth::ok()
        },
    );
    let db = HostHealth {
        state: HostState::Down,
        last_hard_state: HostState::Down,
        ..HostHealth::up()
    };
    let batch = HostHealth {
        in_downtime: true,
        ..HostHealth::up()
    };
    let now = SystemTime::now();
    let snapshot = Snapshot {
        data_as_of: Some(now),
        hosts: [("web01", web), ("db01", db), ("batch01", batch)]
            .into_iter()
            .map(|(n, mut h)| {
                // Checked just now (a never-checked member is unknown).
                h.last_check = Some(now);
                for s in h.services.values_mut() {
                    s.last_check = Some(now);
                }
                (n.to_owned(), h)
            })
            .collect(),
    };
    (config, snapshot)
}

#[test]
#[ignore = "needs Chromium; run by scripts/ci/status.sh"]
fn page_loads_in_chromium_and_shows_every_component() {
    let (config, snapshot) = sample();
    let summary = summarize(&config, &snapshot, SystemTime::now());
    let html = render_html(&summary, Some(60));
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("status.html");
    std::fs::write(&page, html).unwrap();
    let url = format!("file://{}", page.display());

    let dom = headless(&["--dump-dom"], &url);
    let dom = String::from_utf8_lossy(&dom.stdout);
    for c in &summary.components {
        assert!(
            dom.contains(&c.name),
            "component {} missing from the DOM",
            c.name
        );
        assert!(
            dom.contains(&format!("id=\"component-{}\"", c.id)),
            "component {} has no element",
            c.id
        );
    }
    assert!(dom.contains("Major outage"));
    assert!(dom.contains("Under maintenance"));
    assert!(dom.contains("identified"));

    // A phone-sized screenshot, kept where CI prints it from.
    let out_dir = std::env::var_os("STATUS_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
                .join("ci-artifacts")
        });
    std::fs::create_dir_all(&out_dir).unwrap();
    let shot = out_dir.join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    headless(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=412,915",
            "--hide-scrollbars",
        ],
        &url,
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 2_000, "suspiciously small screenshot");
    eprintln!(
        "status page screenshot: {} ({} bytes)",
        shot.display(),
        png.len()
    );
}

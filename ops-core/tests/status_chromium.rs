//! The status page in a real browser: headless Chromium loads the rendered
//! HTML with 90 days of history (uptime bars built from Nagios log lines), every
//! component and every day's bar shows up in its DOM with its text, and phone-sized
//! and desktop-sized screenshots are written for CI's output. Run by
//! `scripts/ci/status.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ops_core::status::{
    HostHealth, HostState, LogEvents, ServiceHealth, ServiceState, Snapshot, StateType,
    StatusConfig, history, render_html, summarize,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

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
        groups: None,
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

/// 90 days of `nagios.log` for the sample: the log starts 80 days ago; the website had a
/// few short outages, storage a long one and a degraded spell, the database went down
/// yesterday and stays down, the batch host has a weekly maintenance window, and Nagios
/// was stopped for an hour 30 days ago.
fn sample_log(now: SystemTime) -> LogEvents {
    let now = now.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let day = 86_400;
    let today = now / day * day;
    let start = today - 80 * day;
    let mut l = vec![format!("[{start}] Nagios 4.4.6 starting... (PID=1)")];
    for (h, svc) in [("web01", "HTTP"), ("web01", "Disk")] {
        l.push(format!(
            "[{start}] INITIAL SERVICE STATE: {h};{svc};OK;HARD;1;ok"
        ));
    }
    for h in ["web01", "db01", "batch01"] {
        l.push(format!("[{start}] INITIAL HOST STATE: {h};UP;HARD;1;ok"));
    }
    for (d, secs) in [(70, 600), (52, 3600), (33, 180), (12, 7200), (3, 900)] {
        let t = today - d * day + 40_000;
        l.push(format!(
            "[{t}] SERVICE ALERT: web01;HTTP;CRITICAL;HARD;3;timeout"
        ));
        l.push(format!(
            "[{}] SERVICE ALERT: web01;HTTP;OK;HARD;1;ok",
            t + secs
        ));
    }
    let t = today - 45 * day + 30_000;
    l.push(format!(
        "[{t}] SERVICE ALERT: web01;Disk;CRITICAL;HARD;1;full"
    ));
    l.push(format!(
        "[{}] EXTERNAL COMMAND: ACKNOWLEDGE_SVC_PROBLEM;web01;Disk;2;1;0;ops;cleaning",
        t + 600
    ));
    l.push(format!(
        "[{}] SERVICE ALERT: web01;Disk;WARNING;HARD;1;90%",
        t + day
    ));
    l.push(format!(
        "[{}] SERVICE ALERT: web01;Disk;OK;HARD;1;ok",
        t + 2 * day
    ));
    for d in (5..80).step_by(7) {
        let t = today - d * day + 7_200;
        l.push(format!(
            "[{t}] HOST DOWNTIME ALERT: batch01;STARTED; window"
        ));
        l.push(format!(
            "[{}] HOST DOWNTIME ALERT: batch01;STOPPED; window",
            t + 14_400
        ));
    }
    let t = today - 30 * day + 50_000;
    l.push(format!("[{t}] Caught SIGTERM, shutting down..."));
    l.push(format!("[{}] Nagios 4.4.6 starting... (PID=2)", t + 3600));
    let t = today - day + 60_000;
    l.push(format!("[{t}] HOST ALERT: db01;DOWN;HARD;3;no answer"));
    l.push("[garbage] a malformed line".to_owned());
    LogEvents::parse(l.iter().map(String::as_str))
}

fn screenshot(url: &str, name: &str, size: &str) -> PathBuf {
    // Kept where CI prints them from.
    let out_dir = std::env::var_os("STATUS_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
                .join("ci-artifacts")
        });
    std::fs::create_dir_all(&out_dir).unwrap();
    let shot = out_dir.join(name);
    let _ = std::fs::remove_file(&shot);
    headless(
        &[
            &format!("--screenshot={}", shot.display()),
            &format!("--window-size={size}"),
            "--hide-scrollbars",
        ],
        url,
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 2_000, "suspiciously small screenshot");
    eprintln!(
        "status page screenshot ({size}): {} ({} bytes)",
        shot.display(),
        png.len()
    );
    shot
}

#[test]
#[ignore = "needs Chromium; run by scripts/ci/status.sh"]
fn page_loads_in_chromium_and_shows_every_component() {
    let (config, snapshot) = sample();
    let now = SystemTime::now();
    let mut summary = summarize(&config, &snapshot, now);
    summary.history = Some(history::history(
        &config,
        None,
        &[],
        Some(&sample_log(now)),
        now,
    ));
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
    // The history: 90 bars per component, each with its day in words (title and text).
    let history = summary.history.as_ref().unwrap();
    assert_eq!(dom.matches("<ol class=\"bars\"").count(), 4);
    assert_eq!(
        dom.matches("<li class=\"").count() - 4,
        4 * 90,
        "one bar per day"
    );
    let website = &history.components[0];
    let outage_day = website
        .uptime
        .iter()
        .find(|d| d.major_outage_secs == 3600)
        .unwrap();
    assert!(
        dom.contains(&format!(
            "title=\"{}: 95.83% uptime; major outage 1h\"",
            outage_day.date
        )),
        "{dom}"
    );
    assert_eq!(website.incidents_total, 5);
    assert!(dom.contains("5 incidents in this period"));
    assert!(dom.contains("Uptime per day,"));
    assert!(!dom.contains("<script"));

    // A phone (Pixel 7 viewport: the newest 30 bars) and a desktop (all 90).
    screenshot(&url, "status-page.png", "412,1400");
    screenshot(&url, "status-page-desktop.png", "1280,1100");
}

//! Progress on long waits: an `indicatif` bar on a terminal, log lines otherwise.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress display for one long wait.
#[derive(Debug)]
pub enum Progress {
    /// A bar on stderr (stderr is a terminal).
    Bar(ProgressBar),
    /// `info` log lines, at most one per interval (stderr is a file or a pipe).
    Plain {
        /// What is progressing.
        label: String,
        /// When the last line was written.
        last: Mutex<Option<Instant>>,
        /// Minimum time between lines.
        every: Duration,
    },
}

impl Progress {
    /// A bar when stderr is a terminal (and not `--quiet`), else plain log lines every 2 s.
    pub fn new(label: &str) -> Self {
        if crate::logging::progress_bars() {
            Self::bar(label)
        } else {
            Self::plain(label, Duration::from_secs(2))
        }
    }

    /// Always plain log lines.
    pub fn plain(label: &str, every: Duration) -> Self {
        Progress::Plain {
            label: label.to_owned(),
            last: Mutex::new(None),
            every,
        }
    }

    /// A spinner until the first count arrives, then a bar: a bar of unknown length would be
    /// drawn full at `0/0` (issue #17).
    fn bar(label: &str) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{prefix:>10} {spinner} {msg} ({elapsed})")
        {
            bar.set_style(style);
        }
        bar.set_prefix(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress::Bar(bar)
    }

    /// The bar style, once a length is known.
    fn counted(bar: &ProgressBar) {
        if let Ok(style) =
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
    }

    /// Report `done` of `total` with a short message.
    pub fn update(&self, done: u64, total: u64, msg: &str) {
        match self {
            Progress::Bar(b) => {
                if total > 0 {
                    if b.length().is_none() {
                        Self::counted(b);
                    }
                    b.set_length(total);
                    b.set_position(done.min(total));
                }
                b.set_message(msg.to_owned());
            }
            Progress::Plain { label, last, every } => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if last.is_none_or(|t| t.elapsed() >= *every) || (total > 0 && done >= total) {
                    *last = Some(Instant::now());
                    tracing::info!("{label}: {done}/{total} {msg}");
                }
            }
        }
    }

    /// A status line without counts (e.g. "waiting for droplet: new").
    pub fn message(&self, msg: &str) {
        match self {
            Progress::Bar(b) => b.set_message(msg.to_owned()),
            Progress::Plain { label, last, every } => {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if last.is_none_or(|t| t.elapsed() >= *every) {
                    *last = Some(Instant::now());
                    tracing::info!("{label}: {msg}");
                }
            }
        }
    }

    /// Finish and clear the bar (plain mode logs `msg`).
    pub fn finish(&self, msg: &str) {
        match self {
            Progress::Bar(b) => b.finish_and_clear(),
            Progress::Plain { label, .. } => tracing::info!("{label}: {msg}"),
        }
    }
}

/// `12.3 MB` style byte counts.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    #[allow(clippy::cast_precision_loss)]
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

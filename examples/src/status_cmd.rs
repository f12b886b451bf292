//! The `status` command: a status summary and page from nagios-api.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use ops_core::adapters::NagiosStatusSource;
use ops_core::ports::PortResult;
use ops_core::status::{
    Feed, FeedHealth, History, LogEvents, NagiosFiles, Snapshot, StatusConfig, StatusSource,
    Summary, render_html, summarize,
};
use secrecy::SecretString;

use crate::cli::{CliError, Secrets};

/// Flags of `status`.
#[derive(Debug, Args, Clone, Default)]
pub struct StatusArgs {
    /// nagios-api base URL.
    #[arg(long, env = "NAGIOS_API_URL")]
    pub nagios_url: Option<String>,
    /// User for HTTP basic auth in front of nagios-api (password from `NAGIOS_API_PASSWORD`).
    #[arg(long, env = "NAGIOS_API_USER")]
    pub nagios_user: Option<String>,
    /// The page's configuration (TOML). Keys: `page_name`; `stale_after_secs` (600);
    /// `member_stale_after_secs`; `history_days` (90: days of uptime bars and past
    /// incidents, read from nagios-api's /log; 0 turns the history off, 366 at most);
    /// `log_archive_path` (Nagios's archived logs, e.g. "/var/log/nagios4/archives": the
    /// history beyond /log's last 1000 lines); `objects_cache` (Nagios's objects.cache, e.g.
    /// "/var/cache/nagios4/objects.cache": needed by group members); and `[[components]]`
    /// with `name`, `description`, `stale_after_secs` and `members` ("host",
    /// "host:service", "group:HOSTGROUP", "servicegroup:SERVICEGROUP").
    #[arg(long, value_name = "status.toml")]
    pub config: Option<PathBuf>,
    /// Print the Statuspage-shaped summary JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write the HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Serve the page on ADDR, refreshing from nagios-api: `/` (HTML), `/summary.json`,
    /// `/healthz` (200 ok; 503 failing or stale) and `/metrics` (Prometheus).
    #[arg(long, value_name = "127.0.0.1:PORT")]
    pub serve: Option<SocketAddr>,
    /// Allow `--serve` on a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Refresh interval of `--serve`, in seconds.
    #[arg(long, default_value_t = 30)]
    pub refresh_secs: u32,
    /// Run against an in-process fake nagios-api with a few hosts and services.
    #[arg(long)]
    pub sandbox: bool,
}

/// What `status` needs, resolved from flags, environment and files.
pub struct StatusTarget {
    /// Client for nagios-api.
    pub client: nagios_client::Client,
    /// The page configuration.
    pub config: StatusConfig,
    /// Keeps the sandbox fake alive (`--sandbox`).
    pub fake: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for StatusTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusTarget")
            .field(
                "nagios",
                &crate::cli::redact_url(self.client.base_url().as_str()),
            )
            .field("page", &self.config.page_name)
            .finish_non_exhaustive()
    }
}

/// Resolve the target (starting the fake in `--sandbox` mode).
pub async fn target(args: &StatusArgs, secrets: &mut Secrets) -> Result<StatusTarget, CliError> {
    let config = match (&args.config, args.sandbox) {
        (Some(path), _) => crate::config::load_toml::<StatusConfig>(path, "status config")?,
        (None, true) => crate::sandbox::nagios::sandbox_status_config()?,
        (None, false) => {
            return Err(CliError::bad_input(
                "no status configuration: pass --config status.toml (components to show), or --sandbox",
            ));
        }
    };
    config
        .validate()
        .map_err(|e| CliError::from_workflow("the status config is invalid", e))?;
    if args.sandbox {
        #[cfg(feature = "sandbox")]
        {
            let fake = crate::sandbox::nagios::start_fake_nagios().await?;
            let client = fake
                .client()
                .map_err(|e| CliError::other("fake nagios-api client").with_source(e))?;
            tracing::info!(url = %fake.uri(), "sandbox: fake nagios-api started");
            return Ok(StatusTarget {
                client,
                config,
                fake: Some(Box::new(fake)),
            });
        }
        #[cfg(not(feature = "sandbox"))]
        return Err(crate::cli::sandbox_not_built());
    }
    let Some(url) = &args.nagios_url else {
        return Err(CliError::bad_input(
            "no nagios-api URL: set NAGIOS_API_URL or pass --nagios-url http://nagios:8080/ (or use --sandbox)",
        ));
    };
    secrets.add_url(url);
    let mut builder = nagios_client::Client::builder(url.clone());
    if let Some(user) = &args.nagios_user {
        let password = crate::cli::env_secret("NAGIOS_API_PASSWORD").unwrap_or_else(|| {
            tracing::warn!(
                "NAGIOS_API_USER is set but NAGIOS_API_PASSWORD is not: using an empty password"
            );
            SecretString::from(String::new())
        });
        secrets.add(&password);
        builder = builder.basic_auth(user.clone(), password);
    }
    let client = builder.build().map_err(|e| {
        CliError::bad_input(format!(
            "the nagios-api URL `{}` is not usable: fix --nagios-url / NAGIOS_API_URL",
            crate::cli::redact_url(url)
        ))
        .with_source(e)
    })?;
    Ok(StatusTarget {
        client,
        config,
        fake: None,
    })
}

/// One refresh's reads: the state from nagios-api, and for the history its `/log` and
/// Nagios's own files (archived logs, objects.cache) through `files`' cache, which comes back
/// updated. The files are read on a blocking thread.
async fn read(
    target: &StatusTarget,
    config: &StatusConfig,
    files: NagiosFiles,
) -> (PortResult<Snapshot>, NagiosFiles, Option<History>) {
    let source = NagiosStatusSource::new(target.client.clone());
    let history_on = config.history_days > 0;
    let (snapshot, log) = tokio::join!(source.snapshot(), async {
        if history_on {
            Some(target.client.log().await)
        } else {
            None
        }
    });
    let recent = match log {
        Some(Ok(entries)) => Ok(LogEvents::from_nagios(&entries)),
        Some(Err(e)) => Err(format!("nagios-api's /log could not be read: {e}")),
        None => Ok(LogEvents::default()),
    };
    let config = config.clone();
    let now = SystemTime::now();
    let job = tokio::task::spawn_blocking(move || {
        let mut files = files;
        let started = Instant::now();
        let groups = files.groups(&config);
        let history = files.history(
            &config,
            groups.as_ref(),
            recent.as_ref().map_err(Clone::clone),
            now,
        );
        (files, groups, history, started.elapsed())
    });
    let (files, groups, history) = match job.await {
        Ok((files, groups, history, took)) => {
            if let Some(h) = &history {
                let s = &h.sources;
                tracing::debug!(
                    archive_files = s.archive_files,
                    archive_files_read = s.archive_files_read,
                    archive_files_cached = s.archive_files_cached,
                    recent_log_lines = s.recent_log_lines,
                    malformed_lines = s.malformed_lines,
                    took_ms = took.as_millis(),
                    "status history computed"
                );
                // Said on the page (and in its JSON) beside the history.
                for why in [&s.archive_error, &s.recent_log_error]
                    .into_iter()
                    .flatten()
                {
                    tracing::debug!(reason = %why, "status history incomplete");
                }
            }
            (files, groups, history)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the status history could not be computed");
            (NagiosFiles::default(), None, None)
        }
    };
    let snapshot = snapshot.map(|mut s| {
        s.groups = groups;
        s
    });
    (snapshot, files, history)
}

fn state_error(target: &StatusTarget, e: ops_core::ports::PortError) -> CliError {
    CliError::from_workflow(
        format!(
            "could not read the state from nagios-api at {}",
            crate::cli::redact_url(target.client.base_url().as_str())
        ),
        ops_core::Error::Port(e),
    )
}

/// Fetch the state (and the history) and compute the summary.
pub async fn summary(target: &StatusTarget) -> Result<Summary, CliError> {
    let (snapshot, _, history) = read(target, &target.config, NagiosFiles::default()).await;
    let snapshot = snapshot.map_err(|e| state_error(target, e))?;
    let mut summary = summarize(&target.config, &snapshot, SystemTime::now());
    summary.history = history;
    Ok(summary)
}

/// The summary as a few human lines.
pub fn text(summary: &Summary) -> Vec<String> {
    let mut lines = vec![format!(
        "{}: {}{}",
        summary.page.name,
        summary.status.description,
        summary
            .data_as_of
            .as_deref()
            .map(|t| format!(" (data as of {t})"))
            .unwrap_or_default()
    )];
    let uptime = |id: &str| {
        summary
            .history
            .as_ref()
            .and_then(|h| {
                let c = h.components.iter().find(|c| c.id == id)?;
                // Floored: any down time keeps it below 100.00%.
                Some(format!(
                    "  ({}-day uptime {:.2}%, {} incident{})",
                    h.days,
                    (c.uptime_percent? * 100.0).floor() / 100.0,
                    c.incidents_total,
                    if c.incidents_total == 1 { "" } else { "s" }
                ))
            })
            .unwrap_or_default()
    };
    for c in &summary.components {
        lines.push(format!(
            "  {:<20} {}{}",
            c.name,
            c.status.label(),
            uptime(&c.id)
        ));
        for p in &c.problems {
            lines.push(format!(
                "      {} {}{}: {}",
                p.severity,
                p.member,
                if p.acknowledged { " (identified)" } else { "" },
                p.output
            ));
        }
    }
    lines
}

/// Run the `status` command.
pub async fn run(args: StatusArgs, secrets: &mut Secrets) -> Result<(), CliError> {
    if let Some(addr) = args.serve {
        if !addr.ip().is_loopback() && !args.allow_remote {
            return Err(CliError::bad_input(format!(
                "--serve {addr} is not a loopback address: use 127.0.0.1:PORT, or add --allow-remote \
                 if the page should be reachable from other machines"
            )));
        }
    }
    let target = target(&args, secrets).await?;
    let s = summary(&target).await?;
    if let Some(path) = &args.html {
        let html = render_html(&s, None);
        let html = crate::cli::redactor().redact(&html);
        std::fs::write(path, html.as_bytes()).map_err(|e| {
            CliError::other(format!("cannot write {}", path.display())).with_source(e)
        })?;
        tracing::info!(file = %path.display(), "status page written");
    }
    if args.json {
        crate::emit_json(
            &serde_json::to_value(&s)
                .map_err(|e| CliError::other("encode summary").with_source(e))?,
        );
    } else if args.serve.is_none() {
        for l in text(&s) {
            crate::emit(l);
        }
    }
    if let Some(addr) = args.serve {
        serve(target, addr, args.refresh_secs).await?;
    }
    Ok(())
}

/// Fetch the state (and the history) once, into the feed. The feed's file cache is cloned
/// (cheap) and handed back, so no file is read while the page is locked.
async fn refresh(target: &StatusTarget, feed: &RwLock<Feed>) {
    let (config, files) = match feed.read() {
        Ok(f) => (f.config().clone(), f.files().clone()),
        Err(p) => {
            let f = p.into_inner();
            (f.config().clone(), f.files().clone())
        }
    };
    let (result, files, history) = read(target, &config, files).await;
    let now = SystemTime::now();
    let Ok(mut feed) = feed.write() else {
        return;
    };
    feed.record_history(files, history);
    match result {
        Ok(snapshot) => {
            feed.record_success(snapshot, now);
            tracing::debug!("status refreshed");
        }
        Err(e) => {
            let e = state_error(target, e);
            let text = crate::cli::render_error(&e, &Secrets::new());
            tracing::warn!(error = %text, "refresh from nagios-api failed; the page says so and ages into stale");
            feed.record_failure(crate::cli::redactor().redact(&text).into_owned(), now);
        }
    }
}

/// Serves the page from a [`Feed`]: every request recomputes the summary from the last
/// good snapshot and the clock, so a page whose source died goes stale on time.
async fn serve(target: StatusTarget, addr: SocketAddr, refresh_secs: u32) -> Result<(), CliError> {
    use axum::http::{StatusCode, header};
    use axum::routing::get;
    let refresh_secs = refresh_secs.max(1);
    let feed = Arc::new(RwLock::new(Feed::new(target.config.clone())));
    refresh(&target, &feed).await;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        CliError::bad_input(format!("cannot listen on {addr}: pick another port")).with_source(e)
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| CliError::other("local address").with_source(e))?;
    let read = |feed: &Arc<RwLock<Feed>>| {
        let now = SystemTime::now();
        feed.read()
            .map(|f| f.health(now))
            .unwrap_or_else(|p| p.into_inner().health(now))
    };
    let (f1, f2, f3, f4) = (
        Arc::clone(&feed),
        Arc::clone(&feed),
        Arc::clone(&feed),
        Arc::clone(&feed),
    );
    let app = axum::Router::new()
        .route(
            "/",
            get(move || {
                let (_, s) = read(&f1);
                let html = crate::cli::redactor()
                    .redact(&render_html(&s, Some(refresh_secs)))
                    .into_owned();
                async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html) }
            }),
        )
        .route(
            "/summary.json",
            get(move || {
                let (_, s) = read(&f2);
                let json = serde_json::to_string_pretty(&s).unwrap_or_else(|_| "{}".to_owned());
                let json = crate::cli::redactor().redact(&json).into_owned();
                async move { ([(header::CONTENT_TYPE, "application/json")], json) }
            }),
        )
        .route(
            // For a supervisor: 200 `ok`; 503 `failing` (the last refresh failed, the data
            // is still fresh) or `stale` (past stale_after_secs: the page shows unknown).
            "/healthz",
            get(move || {
                let (h, s) = read(&f3);
                let code = if h == FeedHealth::Ok {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                let detail = s
                    .refresh
                    .and_then(|r| r.notice)
                    .unwrap_or_else(|| s.status.description.clone());
                let body = crate::cli::redactor()
                    .redact(&format!("{}: {detail}\n", h.as_str()))
                    .into_owned();
                async move {
                    (
                        code,
                        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                        body,
                    )
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let now = SystemTime::now();
                let text = f4
                    .read()
                    .map(|f| f.metrics(now))
                    .unwrap_or_else(|p| p.into_inner().metrics(now));
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        text,
                    )
                }
            }),
        );
    let refresher = {
        let feed = Arc::clone(&feed);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(u64::from(refresh_secs)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                refresh(&target, &feed).await;
            }
        })
    };
    crate::emit(format!(
        "serving the status page on http://{bound}/ (Ctrl-C to stop)"
    ));
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    refresher.abort();
    result.map_err(|e| CliError::other("the status server failed").with_source(e))
}

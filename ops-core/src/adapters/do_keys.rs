//! [`AccountKeys`] over the DigitalOcean account SSH keys (`/v2/account/keys`).
//!
//! DigitalOcean allows about ten listings of the account keys a minute. key-sync lists once
//! per run and diffs locally; on top of that, [`DoAccountKeys`] keeps a client-side budget
//! (default 10 listings per 60 s per adapter): a listing that would exceed it waits for the
//! oldest one to leave the window, with a `tracing` event, instead of drawing a 429.
//!
//! # Error mapping
//!
//! Service [`Service::Compute`], provider `"digitalocean"`, the client error kept as source:
//! 404 → `NotFound`; 422 "already in use" → `AlreadyExists`, other 400/422 → `Rejected`;
//! 401/403 → `Unauthorized`; 429 → `RateLimited` (with `Retry-After`); 5xx, timeouts and
//! dropped connections → `Unavailable`, **ambiguous** for a create or delete; connect
//! failures → `Unavailable`, never ambiguous; client-side validation → `Rejected`. The
//! client never retries a POST, and neither does the adapter.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use digitalocean_client::{Client, CreateSshKey, SshKey};
use tokio::sync::Mutex;

use crate::key_sync::{AccountKey, AccountKeys, NewAccountKey};
use crate::ports::{PortError, PortErrorKind, PortResult, Service};

const PROVIDER: &str = "digitalocean";

fn port_error(what: &str, write: bool, e: digitalocean_client::Error) -> PortError {
    use digitalocean_client::Error as E;
    let (kind, ambiguous, detail) = match &e {
        E::Api { status, .. } | E::UnexpectedStatus { status, .. } => {
            let s = status.as_u16();
            let kind = match s {
                404 => PortErrorKind::NotFound,
                409 => PortErrorKind::AlreadyExists,
                422 if e
                    .api_message()
                    .is_some_and(|m| m.to_ascii_lowercase().contains("already")) =>
                {
                    PortErrorKind::AlreadyExists
                }
                401 | 403 => PortErrorKind::Unauthorized,
                429 => PortErrorKind::RateLimited,
                500..=599 => PortErrorKind::Unavailable,
                400..=499 => PortErrorKind::Rejected,
                _ => PortErrorKind::Other,
            };
            (
                kind,
                write && kind == PortErrorKind::Unavailable,
                format!("HTTP {s}"),
            )
        }
        E::Transport(t) if t.is_connect() => (
            PortErrorKind::Unavailable,
            false,
            "connection failed".to_owned(),
        ),
        E::Transport(t) if t.is_timeout() => {
            (PortErrorKind::Unavailable, write, "timed out".to_owned())
        }
        E::Transport(_) => (
            PortErrorKind::Unavailable,
            write,
            "transport failure".to_owned(),
        ),
        E::Decode { .. } => (PortErrorKind::Other, write, "undecodable answer".to_owned()),
        E::InvalidInput { .. } => (
            PortErrorKind::Rejected,
            false,
            "rejected before sending".to_owned(),
        ),
        _ => (PortErrorKind::Other, false, "request not sent".to_owned()),
    };
    let retry_after = e.retry_after();
    let mut err = PortError::new(
        Service::Compute,
        PROVIDER,
        kind,
        format!("{what}: {detail}"),
    )
    .with_source(e);
    if ambiguous {
        err = err.ambiguous();
    }
    if let Some(d) = retry_after {
        err = err.with_retry_after(d);
    }
    err
}

fn account_key(k: SshKey) -> AccountKey {
    AccountKey {
        id: k.id,
        name: k.name,
        fingerprint: k.fingerprint,
        public_key: k.public_key,
    }
}

/// [`AccountKeys`] over a DigitalOcean client, with a client-side listing budget.
#[derive(Debug)]
pub struct DoAccountKeys {
    client: Client,
    budget: Option<(usize, Duration)>,
    listings: Mutex<VecDeque<Instant>>,
}

impl DoAccountKeys {
    /// The account keys of the account `client`'s token belongs to, with a budget of 10
    /// listings per 60 s.
    pub fn new(client: Client) -> Self {
        DoAccountKeys {
            client,
            budget: Some((10, Duration::from_secs(60))),
            listings: Mutex::new(VecDeque::new()),
        }
    }

    /// Allows at most `max` listings per `window` (0 disables the budget).
    #[must_use]
    pub fn list_budget(mut self, max: usize, window: Duration) -> Self {
        self.budget = (max > 0).then_some((max, window));
        self
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Waits until one more listing fits the budget, and records it.
    async fn take_listing_slot(&self) {
        let Some((max, window)) = self.budget else {
            return;
        };
        let mut log = self.listings.lock().await;
        loop {
            let now = Instant::now();
            while log
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                log.pop_front();
            }
            if log.len() < max {
                log.push_back(now);
                return;
            }
            let wait = log.front().map_or(Duration::ZERO, |t| {
                window.saturating_sub(now.duration_since(*t))
            });
            tracing::info!(
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                max,
                "DigitalOcean key listing budget used up: waiting"
            );
            tokio::time::sleep(wait).await;
        }
    }
}

#[async_trait]
impl AccountKeys for DoAccountKeys {
    async fn list_keys(&self) -> PortResult<Vec<AccountKey>> {
        self.take_listing_slot().await;
        let keys = self
            .client
            .ssh_keys()
            .list()
            .collect_all()
            .await
            .map_err(|e| port_error("list account keys", false, e))?;
        Ok(keys.into_iter().map(account_key).collect())
    }

    async fn create_key(&self, key: &NewAccountKey) -> PortResult<AccountKey> {
        let req = CreateSshKey {
            name: key.name.clone(),
            public_key: key.public_key.clone(),
        };
        self.client
            .ssh_keys()
            .create(&req)
            .await
            .map(account_key)
            .map_err(|e| port_error(&format!("add account key `{}`", key.name), true, e))
    }

    async fn delete_key(&self, id: u64) -> PortResult<()> {
        self.client
            .ssh_keys()
            .delete(id)
            .await
            .map_err(|e| port_error(&format!("delete account key {id}"), true, e))
    }
}

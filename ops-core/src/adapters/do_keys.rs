//! [`AccountKeys`] over the DigitalOcean account SSH keys (`/v2/account/keys`).
//!
//! DigitalOcean allows about ten listings of the account keys a minute. key-sync lists once
//! per run and diffs locally; on top of that, [`DoAccountKeys`] keeps a client-side budget
//! (default 10 listings per 60 s per adapter): a listing that would exceed it waits for the
//! oldest one to leave the window, with a `tracing` event, instead of drawing a 429.
//!
//! # Error mapping
//!
//! The droplet adapters' mapping ([`super::digitalocean`]), as service [`Service::Compute`]:
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

use super::digitalocean::{Op, PROVIDER, map_error};
use crate::key_sync::{AccountKey, AccountKeys, NewAccountKey};
use crate::ports::{PortError, PortErrorKind, PortResult, Service};

fn account_key((id, k): (u64, SshKey)) -> AccountKey {
    AccountKey {
        id,
        name: k.name,
        fingerprint: k.fingerprint,
        public_key: k.public_key,
    }
}

/// Pairs each key with its id. The spec does not require `id` in a key: a key listed
/// without one is fetched once more by its fingerprint (which also addresses it); a key
/// that still has no id cannot be referred to by a droplet or deleted by id, so it is left
/// out with a warning rather than failing the whole listing.
pub(super) async fn with_ids(
    client: &Client,
    keys: Vec<SshKey>,
    what: &str,
) -> PortResult<Vec<(u64, SshKey)>> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        if let Some(id) = k.id {
            out.push((id, k));
            continue;
        }
        let again = if k.fingerprint.is_empty() {
            None
        } else {
            let got = client
                .ssh_keys()
                .get(k.fingerprint.as_str())
                .await
                .map_err(|e| map_error(Service::Compute, what, Op::Read, e))?;
            got.id.map(|id| (id, got))
        };
        match again {
            Some(pair) => out.push(pair),
            None => tracing::warn!(
                key = %k.name,
                fingerprint = %k.fingerprint,
                "DigitalOcean listed an SSH key without an id; it is left out"
            ),
        }
    }
    Ok(out)
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
            .map_err(|e| map_error(Service::Compute, "list account keys", Op::Read, e))?;
        let keys = with_ids(&self.client, keys, "list account keys").await?;
        Ok(keys.into_iter().map(account_key).collect())
    }

    async fn create_key(&self, key: &NewAccountKey) -> PortResult<AccountKey> {
        let req = CreateSshKey {
            name: key.name.clone(),
            public_key: key.public_key.clone(),
        };
        let what = format!("add account key `{}`", key.name);
        let created = self
            .client
            .ssh_keys()
            .create(&req)
            .await
            .map_err(|e| map_error(Service::Compute, &what, Op::Write, e))?;
        let fingerprint = created.fingerprint.clone();
        with_ids(&self.client, vec![created], &what)
            .await?
            .pop()
            .map(account_key)
            .ok_or_else(|| {
                PortError::new(
                    Service::Compute,
                    PROVIDER,
                    PortErrorKind::Other,
                    format!(
                        "{what}: DigitalOcean created the key (fingerprint {fingerprint}) but gave no id for it; \
                         check the account's keys"
                    ),
                )
            })
    }

    async fn delete_key(&self, id: u64) -> PortResult<()> {
        self.client.ssh_keys().delete(id).await.map_err(|e| {
            map_error(
                Service::Compute,
                &format!("delete account key {id}"),
                Op::Write,
                e,
            )
        })
    }
}

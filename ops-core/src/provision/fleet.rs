//! Shared state of one batch of host runs: catalog caches, the API-work semaphore, the batch
//! droplet-status cache and the per-zone publish coordinator.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OnceCell, Semaphore};
use tokio::time::Instant;

use crate::ports::{DnsRecord, Droplet, Image, PortErrorKind, Published, Region, Size, SshKey};

type Cells<T> = Mutex<HashMap<String, Arc<OnceCell<T>>>>;

pub(crate) fn cell<T>(map: &Cells<T>, key: &str) -> Arc<OnceCell<T>> {
    match map.lock() {
        Ok(mut m) => m.entry(key.to_string()).or_default().clone(),
        Err(_) => Arc::new(OnceCell::new()),
    }
}

pub(crate) struct Batch {
    /// More than one host: list whole zones / all droplets once instead of per host.
    pub(crate) fleet: bool,
    pub(crate) regions: OnceCell<Vec<Region>>,
    pub(crate) sizes: OnceCell<Vec<Size>>,
    pub(crate) keys: OnceCell<Vec<SshKey>>,
    pub(crate) all_droplets: OnceCell<Vec<Droplet>>,
    pub(crate) images: Cells<Option<Image>>,
    pub(crate) zones: Cells<bool>,
    pub(crate) zone_records: Cells<Vec<DnsRecord>>,
    pub(crate) status: tokio::sync::Mutex<Option<(Instant, HashMap<u64, Droplet>)>>,
    pub(crate) permits: Semaphore,
    pub(crate) publish: PublishCoordinator,
}

impl Batch {
    pub(crate) fn new(hosts: usize, concurrency: usize, linger: Duration) -> Self {
        Batch {
            fleet: hosts > 1,
            regions: OnceCell::new(),
            sizes: OnceCell::new(),
            keys: OnceCell::new(),
            all_droplets: OnceCell::new(),
            images: Mutex::default(),
            zones: Mutex::default(),
            zone_records: Mutex::default(),
            status: tokio::sync::Mutex::new(None),
            permits: Semaphore::new(concurrency.max(1)),
            publish: PublishCoordinator::new(linger),
        }
    }
}

/// A publish failure as seen by every host of the wave.
pub(crate) type PublishResult = Result<Published, (PortErrorKind, String)>;

#[derive(Default)]
struct ZoneState {
    outstanding: usize,
    arrived: u64,
    published: u64,
    last: Option<PublishResult>,
    publishes: u32,
}

/// Publishes each zone once for all hosts of a batch that have their records in place.
///
/// Every host that will create records in a zone is registered up front. A host that has
/// created its records *arrives* (and gets a ticket); a host that fails before that
/// *withdraws*. The zone is published when no registered host is still on its way, or when
/// an arrived host has waited `linger` — later arrivals then get another publish.
pub(crate) struct PublishCoordinator {
    zones: Mutex<HashMap<String, ZoneState>>,
    notify: Notify,
    publishing: tokio::sync::Mutex<()>,
    linger: Duration,
}

impl PublishCoordinator {
    fn new(linger: Duration) -> Self {
        PublishCoordinator {
            zones: Mutex::default(),
            notify: Notify::new(),
            publishing: tokio::sync::Mutex::new(()),
            linger,
        }
    }

    fn with<R>(&self, zone: &str, f: impl FnOnce(&mut ZoneState) -> R) -> Option<R> {
        let mut g = self.zones.lock().ok()?;
        Some(f(g.entry(zone.to_string()).or_default()))
    }

    pub(crate) fn register(&self, zone: &str) {
        self.with(zone, |z| z.outstanding += 1);
    }

    pub(crate) fn withdraw(&self, zone: &str) {
        self.with(zone, |z| z.outstanding = z.outstanding.saturating_sub(1));
        self.notify.notify_waiters();
    }

    pub(crate) fn arrive(&self, zone: &str) -> u64 {
        let t = self
            .with(zone, |z| {
                z.outstanding = z.outstanding.saturating_sub(1);
                z.arrived += 1;
                z.arrived
            })
            .unwrap_or(0);
        self.notify.notify_waiters();
        t
    }

    pub(crate) fn publishes(&self) -> u32 {
        self.zones
            .lock()
            .map(|g| g.values().map(|z| z.publishes).sum())
            .unwrap_or(0)
    }

    /// Waits until a publish covering `ticket` happened, making it if this host's turn has
    /// come. `publish` is called at most once per wave, by exactly one host.
    pub(crate) async fn wait<F, Fut>(&self, zone: &str, ticket: u64, publish: F) -> PublishResult
    where
        F: FnOnce(u64) -> Fut,
        Fut: Future<Output = PublishResult>,
    {
        let arrived_at = Instant::now();
        let mut publish = Some(publish);
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let state = self.with(zone, |z| {
                if z.published >= ticket {
                    Err(z.last.clone())
                } else {
                    Ok(z.outstanding == 0)
                }
            });
            let ready = match state {
                Some(Err(Some(last))) => return last,
                Some(Err(None)) | None => return Ok(Published::default()),
                Some(Ok(none_outstanding)) => {
                    none_outstanding || Instant::now() >= arrived_at + self.linger
                }
            };
            if ready {
                let _g = self.publishing.lock().await;
                let target = self.with(zone, |z| {
                    if z.published >= ticket {
                        Err(z.last.clone())
                    } else {
                        Ok(z.arrived)
                    }
                });
                let target = match target {
                    Some(Ok(t)) => t,
                    Some(Err(Some(last))) => return last,
                    Some(Err(None)) | None => return Ok(Published::default()),
                };
                let Some(f) = publish.take() else {
                    return Ok(Published::default());
                };
                let hosts = self.with(zone, |z| target - z.published).unwrap_or(0);
                let r = f(hosts).await;
                self.with(zone, |z| {
                    z.published = target;
                    z.last = Some(r.clone());
                    z.publishes += 1;
                });
                self.notify.notify_waiters();
                return r;
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(arrived_at + self.linger) => {}
            }
        }
    }
}

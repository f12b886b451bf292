//! Shared state of one batch of host runs: catalog caches, the API-work semaphore, the batch
//! droplet-status cache and the per-zone publish coordinator.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OnceCell, Semaphore};
use tokio::time::Instant;

use crate::ports::{
    DnsRecord, Droplet, Image, PortErrorKind, ProjectMember, Published, Region, Size, SshKey,
};

type Cells<T> = Mutex<HashMap<String, Arc<OnceCell<T>>>>;

pub(crate) fn cell<T>(map: &Cells<T>, key: &str) -> Arc<OnceCell<T>> {
    match map.lock() {
        Ok(mut m) => m.entry(key.to_string()).or_default().clone(),
        Err(_) => Arc::new(OnceCell::new()),
    }
}

/// Which pool of API-work permits a step draws from: one per provider it calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permits {
    /// DigitalOcean's compute API (catalog reads, droplets, VPCs, volumes, IPs, alerts).
    Compute = 0,
    /// The DNS provider (Dyn, or DigitalOcean Domains: its calls still share the compute
    /// rate budget, which is what bounds them).
    Dns = 1,
    /// Chef.
    ConfigMgmt = 2,
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
    /// API-work permits, one pool per provider (see [`Step::permit`]): hosts waiting for
    /// DigitalOcean's budget to create their droplets do not hold up the hosts whose
    /// droplets are up and whose DNS records could be written meanwhile.
    permits: [Semaphore; 3],
    pub(crate) publish: PublishCoordinator,
    /// Droplets to add to an existing firewall, by firewall name: one call per firewall.
    pub(crate) firewall_adds: Gather<u64>,
    /// Resources to assign to a project, by project name: one call per project.
    pub(crate) project_assigns: Gather<ProjectMember>,
    /// One lock per shared resource name (`vpc:<name>`, `firewall:<name>`,
    /// `project:<name>`): the hosts of a batch look such a resource up and create it one at
    /// a time, so the first creates it and the others find it (one create per batch, and
    /// no two firewalls of one name — DigitalOcean does not refuse those).
    name_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
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
            permits: std::array::from_fn(|_| Semaphore::new(concurrency.max(1))),
            publish: PublishCoordinator::new(linger),
            firewall_adds: Gather::new(linger),
            project_assigns: Gather::new(linger),
            name_locks: Mutex::default(),
        }
    }

    /// Waits for a permit of `pool`'s provider (`None` when the semaphore was closed, which
    /// this batch never does).
    pub(crate) async fn permit(&self, pool: Permits) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.permits[pool as usize].acquire().await.ok()
    }

    /// Waits for this batch's lock on `key` (see `name_locks`).
    pub(crate) async fn lock_name(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let m = match self.name_locks.lock() {
            Ok(mut g) => g.entry(key.to_string()).or_default().clone(),
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        };
        m.lock_owned().await
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

/// The outcome of a gathered call as every host of it sees it.
pub(crate) type GatherResult = Result<(), (PortErrorKind, String)>;

struct GatherState<T> {
    outstanding: usize,
    pending: Vec<T>,
    arrived: u64,
    sent: u64,
    last: Option<GatherResult>,
    calls: u32,
}

impl<T> Default for GatherState<T> {
    fn default() -> Self {
        GatherState {
            outstanding: 0,
            pending: Vec::new(),
            arrived: 0,
            sent: 0,
            last: None,
            calls: 0,
        }
    }
}

/// Sends what many hosts of a batch want written to one resource in one call: the droplets
/// to add to a firewall, the resources to assign to a project (issue #22: one call per
/// resource per batch where the API takes a list).
///
/// The same protocol as [`PublishCoordinator`]: every host that will need the call is
/// registered up front under the resource's name; a host with its items ready *arrives*
/// (and gets a ticket), a host that fails first *withdraws*. The call is made, by one of
/// the arrived hosts, with every item that arrived, when no registered host is still on
/// its way or an arrived host has waited `linger`; later arrivals get another call.
pub(crate) struct Gather<T> {
    keys: Mutex<HashMap<String, GatherState<T>>>,
    notify: Notify,
    sending: tokio::sync::Mutex<()>,
    linger: Duration,
}

impl<T: Clone> Gather<T> {
    fn new(linger: Duration) -> Self {
        Gather {
            keys: Mutex::default(),
            notify: Notify::new(),
            sending: tokio::sync::Mutex::new(()),
            linger,
        }
    }

    fn with<R>(&self, key: &str, f: impl FnOnce(&mut GatherState<T>) -> R) -> Option<R> {
        let mut g = self.keys.lock().ok()?;
        Some(f(g.entry(key.to_string()).or_default()))
    }

    pub(crate) fn register(&self, key: &str) {
        self.with(key, |z| z.outstanding += 1);
    }

    pub(crate) fn withdraw(&self, key: &str) {
        self.with(key, |z| z.outstanding = z.outstanding.saturating_sub(1));
        self.notify.notify_waiters();
    }

    /// Calls made for `key` so far.
    #[cfg(test)]
    pub(crate) fn calls(&self, key: &str) -> u32 {
        self.with(key, |z| z.calls).unwrap_or(0)
    }

    /// Arrives with `items` and waits until a call carrying them was made, making it with
    /// every item that arrived when this host's turn comes. `send` is called at most once.
    pub(crate) async fn send<F, Fut>(&self, key: &str, items: Vec<T>, send: F) -> GatherResult
    where
        F: FnOnce(Vec<T>) -> Fut,
        Fut: Future<Output = GatherResult>,
    {
        let Some(ticket) = self.with(key, |z| {
            z.outstanding = z.outstanding.saturating_sub(1);
            z.pending.extend(items.iter().cloned());
            z.arrived += 1;
            z.arrived
        }) else {
            // A poisoned lock: send alone rather than not at all.
            return send(items).await;
        };
        self.notify.notify_waiters();
        let arrived_at = Instant::now();
        let mut send = Some(send);
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let state = self.with(key, |z| {
                if z.sent >= ticket {
                    Err(z.last.clone())
                } else {
                    Ok(z.outstanding == 0)
                }
            });
            let ready = match state {
                Some(Err(Some(last))) => return last,
                Some(Err(None)) | None => return Ok(()),
                Some(Ok(none_outstanding)) => {
                    none_outstanding || Instant::now() >= arrived_at + self.linger
                }
            };
            if ready {
                let _g = self.sending.lock().await;
                let taken = self.with(key, |z| {
                    if z.sent >= ticket {
                        Err(z.last.clone())
                    } else {
                        Ok((z.arrived, std::mem::take(&mut z.pending)))
                    }
                });
                let (target, batch) = match taken {
                    Some(Ok(t)) => t,
                    Some(Err(Some(last))) => return last,
                    Some(Err(None)) | None => return Ok(()),
                };
                let Some(f) = send.take() else {
                    return Ok(());
                };
                let r = f(batch).await;
                self.with(key, |z| {
                    z.sent = target;
                    z.last = Some(r.clone());
                    z.calls += 1;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Three hosts registered for one firewall: one withdraws (it failed), two arrive with
    /// their droplets; one call carries both, and both hosts see its outcome. No clock: the
    /// linger is far longer than the test may take.
    #[tokio::test]
    async fn a_gather_makes_one_call_for_every_host_that_arrives() {
        let g: Gather<u64> = Gather::new(Duration::from_secs(3600));
        for _ in 0..3 {
            g.register("fw");
        }
        let made = AtomicUsize::new(0);
        let sent = Mutex::new(Vec::new());
        let call = |ids: Vec<u64>| {
            made.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut s) = sent.lock() {
                s.extend(ids);
            }
            async { Ok(()) }
        };
        g.withdraw("fw");
        let (a, b) = tokio::join!(g.send("fw", vec![1], call), g.send("fw", vec![2], call));
        assert_eq!((a, b), (Ok(()), Ok(())));
        assert_eq!(made.load(Ordering::SeqCst), 1);
        assert_eq!(g.calls("fw"), 1);
        let mut s = sent.lock().map(|s| s.clone()).unwrap_or_default();
        s.sort_unstable();
        assert_eq!(s, [1, 2]);
        // A failed call is every arrived host's failure.
        g.register("fw");
        let r = g
            .send("fw", vec![3], |_| async {
                Err((PortErrorKind::Unavailable, "down".to_string()))
            })
            .await;
        assert_eq!(r, Err((PortErrorKind::Unavailable, "down".to_string())));
        assert_eq!(g.calls("fw"), 2);
    }
}

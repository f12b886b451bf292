//! A small token-bucket limiter shared by every host of a run (and by anything else that
//! holds the same `Arc`).
//!
//! DigitalOcean allows 250 requests per minute per token (a sliding window; plus 5,000 per
//! hour), Dyn 300 per minute per account (breaching it locks the whole account out for up to
//! 60 s). A bucket of capacity `C` refilled at `r` per second grants at most `C + 60·r`
//! requests in **any** 60-second window, so [`RateBudget::per_minute`] picks
//! `C = limit / 5` and `r = (limit − C) / 60`: bursts stay quick and the provider's window
//! is never exceeded.
//!
//! Waiters reserve a token (the count may go negative) and sleep outside the lock, so they are
//! served in arrival order and no lock is held across an await.
//!
//! The refill rate is validated ([`RateBudget::new`] refuses NaN, infinite and negative
//! rates), and a lock poisoned by a panicking holder is recovered rather than treated as
//! "no limit": the budget stays enforced.
//!
//! ## One budget across processes (issue #21)
//!
//! Provider limits count per **credential**, not per process: three `provision` runs with
//! one DigitalOcean token share 250 requests a minute. [`RateBudget::shared`] adds a budget
//! kept in a [`StateStore`] ([`PgStore`](crate::state::PgStore): one row per limit,
//! updated in one transaction by every runner) under a [`BudgetKey`], a digest of the token
//! or account (never the secret). Every call then takes a token there first — waiting as
//! long as the store says — and from the process's own bucket second (which, with the
//! folder backend, whose `take_budget` always grants, is the one that limits). If the store
//! cannot be reached the call falls back to the process's bucket, with a warning.
//!
//! The store's buckets are shaped like the in-process one so that a documented limit of
//! `N` per window `W` is never exceeded in **any** window `W` ([`window_safe`]), with 2% to
//! spare for the network between a grant and its request's arrival: for `N' = 0.98 N`, a
//! bucket of `C` tokens refilled at `(N' − C) / W`, with `C = N / 5` for windows up to a minute (bursts
//! stay short) and `C = 4N / 5` for longer ones (the hourly limit must not throttle a run
//! the per-minute limit already paces: DigitalOcean's 5,000 an hour (4,900 spared) lets a run
//! make 3,920 calls at 245 a minute, then 980 an hour).
//!
//! A token is one port call. A listing that pages, or a retry the client makes after a 429
//! or a 5xx, is more than one request on the wire; the provision fleet lists whole
//! accounts once per batch (`per_page=200`), so with thousands of droplets keep the
//! limit's edge in mind (the provision bench counts requests at the fake, not tokens).
//!
//! ## The server's own count
//!
//! DigitalOcean sends `RateLimit-Remaining` and `RateLimit-Reset` with every answer (the
//! client keeps the last ones: [`Client::last_rate_limit`](digitalocean_client::Client::last_rate_limit)).
//! Other users of the token (the web console, Terraform) spend the same budget, so a budget
//! given a [`ServerHint`] ([`RateBudget::with_server_hint`]) waits, before every call,
//! until `Reset` whenever the server last said `Remaining: 0` (at most an hour).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::state::{BudgetKey, Limit, StateStore};

/// Tells a budget, before each call, until when the provider itself asked to be left
/// alone: `Some(t)` when its last answer said no request is left before `t`.
pub type ServerHint = Arc<dyn Fn() -> Option<SystemTime> + Send + Sync>;

/// The longest a [`ServerHint`] makes a call wait: DigitalOcean's longest window.
const MAX_SERVER_WAIT: Duration = Duration::from_secs(3600);

/// The shared part of a budget.
struct Shared {
    store: Arc<dyn StateStore>,
    key: BudgetKey,
    limits: Vec<Limit>,
}

/// `limits`, each "at most `N` per `W`" as a provider documents it, as the store's token
/// buckets that never grant more than 98% of `N` in any window `W` (see the module docs).
pub fn window_safe(limits: &[Limit]) -> Vec<Limit> {
    limits
        .iter()
        .filter(|l| l.requests > 0 && !l.per.is_zero())
        .map(|l| {
            // A margin of 2% (at least one request) for the time between a grant and the
            // request's arrival: grants made exactly `N` per `W` arrive a few milliseconds
            // apart from when they were granted, and a server counting arrivals then saw
            // `N + 2` in one window (the 1,000-host bench: 252 of 250, two 429s).
            let n = l.requests.saturating_sub((l.requests / 50).max(1)).max(1);
            let burst = if l.per <= Duration::from_secs(60) {
                n / 5
            } else {
                n / 5 * 4
            }
            .max(1);
            if burst >= n {
                // One (or a few) per window: the whole window is the refill period.
                return Limit {
                    requests: n,
                    per: l.per,
                };
            }
            // Capacity `burst`, refilled at (n − burst) / W: a bucket refills `requests`
            // tokens every `per`, so per = W · burst / (n − burst).
            Limit {
                requests: burst,
                per: Duration::try_from_secs_f64(
                    l.per.as_secs_f64() * f64::from(burst) / f64::from(n - burst),
                )
                .unwrap_or(l.per),
            }
        })
        .collect()
}

/// A token bucket, optionally backed by a budget shared across processes and told by the
/// server when its own count ran out (see the module docs).
pub struct RateBudget {
    name: &'static str,
    capacity: f64,
    per_sec: f64,
    state: std::sync::Mutex<(f64, Instant)>,
    granted: AtomicU64,
    shared: Option<Shared>,
    server: Option<ServerHint>,
}

impl std::fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateBudget")
            .field("name", &self.name)
            .field("capacity", &self.capacity)
            .field("per_sec", &self.per_sec)
            .field("granted", &self.granted())
            .field("shared", &self.shared.as_ref().map(|s| s.key.as_str()))
            .field("server_hint", &self.server.is_some())
            .finish()
    }
}

impl RateBudget {
    /// A bucket with `capacity` tokens (at least 1) refilled at `per_sec` tokens per second;
    /// `per_sec == 0` means unlimited.
    ///
    /// A rate that is NaN, infinite or negative is [`Error::Precondition`](crate::Error):
    /// such a budget would either panic on its first wait or silently limit nothing.
    pub fn new(name: &'static str, capacity: u32, per_sec: f64) -> crate::Result<Self> {
        if !per_sec.is_finite() || per_sec < 0.0 {
            return Err(crate::Error::Precondition(format!(
                "rate budget `{name}`: the refill rate must be a finite number of requests per \
                 second, 0 (unlimited) or more; got {per_sec}"
            )));
        }
        Ok(Self::with_valid_rate(name, capacity, per_sec))
    }

    /// [`RateBudget::new`] for a rate known to be finite and ≥ 0.
    fn with_valid_rate(name: &'static str, capacity: u32, per_sec: f64) -> Self {
        let capacity = f64::from(capacity.max(1));
        RateBudget {
            name,
            capacity,
            per_sec,
            state: std::sync::Mutex::new((capacity, Instant::now())),
            granted: AtomicU64::new(0),
            shared: None,
            server: None,
        }
    }

    /// This budget, also drawn from the budget `key` in `store` under `limits` (each as the
    /// provider documents it, "`N` per `W`"; shaped by [`window_safe`]), shared by every
    /// process that uses the same store and key.
    ///
    /// ```no_run
    /// # async fn demo(store: std::sync::Arc<dyn ops_core::state::StateStore>) {
    /// use ops_core::provision::RateBudget;
    /// use ops_core::state::{BudgetKey, Limit};
    ///
    /// let key = BudgetKey::new("digitalocean", b"the token");
    /// let budget = RateBudget::digitalocean().shared(store, key, &Limit::DIGITALOCEAN);
    /// budget.acquire().await; // never more than 250 a minute, whoever else holds the key
    /// # }
    /// ```
    #[must_use]
    pub fn shared(mut self, store: Arc<dyn StateStore>, key: BudgetKey, limits: &[Limit]) -> Self {
        self.shared = Some(Shared {
            store,
            key,
            limits: window_safe(limits),
        });
        self
    }

    /// Before each call, waits until the time `hint` returns (when it is in the future; at
    /// most an hour): the provider said it has no request left before then.
    #[must_use]
    pub fn with_server_hint(mut self, hint: ServerHint) -> Self {
        self.server = Some(hint);
        self
    }

    /// The shared budget's key, when there is one.
    pub fn shared_key(&self) -> Option<&BudgetKey> {
        self.shared.as_ref().map(|s| &s.key)
    }

    /// Never exceeds `limit` requests in any 60-second window (see the module docs).
    pub fn per_minute(name: &'static str, limit: u32) -> Self {
        let limit = limit.max(2);
        let burst = (limit / 5).max(1);
        // limit ≥ 2 and burst ≤ limit / 5: a finite rate > 0.
        Self::with_valid_rate(name, burst, f64::from(limit - burst) / 60.0)
    }

    /// No limit (counts calls only).
    pub fn unlimited(name: &'static str) -> Self {
        Self::with_valid_rate(name, 1, 0.0)
    }

    /// DigitalOcean's API: 250 per minute.
    pub fn digitalocean() -> Self {
        Self::per_minute("digitalocean", 250)
    }

    /// Dyn's API: 300 per minute, account-wide.
    pub fn dyn_dns() -> Self {
        Self::per_minute("dyn", 300)
    }

    /// The name given at construction.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How many calls were granted so far.
    pub fn granted(&self) -> u64 {
        self.granted.load(Ordering::Relaxed)
    }

    /// Waits for a token: the server's own count, the shared budget, then this process's
    /// bucket.
    pub async fn acquire(&self) {
        self.granted.fetch_add(1, Ordering::Relaxed);
        self.wait_for_server().await;
        self.take_shared().await;
        self.take_local().await;
    }

    async fn wait_for_server(&self) {
        let Some(hint) = &self.server else {
            return;
        };
        let Some(until) = hint() else {
            return;
        };
        if let Ok(wait) = until.duration_since(SystemTime::now()) {
            let wait = wait.min(MAX_SERVER_WAIT);
            tracing::info!(
                budget = self.name,
                wait_ms = wait.as_millis() as u64,
                "the provider reports no request left (RateLimit-Remaining: 0): waiting for its reset"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn take_shared(&self) {
        let Some(shared) = &self.shared else {
            return;
        };
        loop {
            match shared.store.take_budget(&shared.key, &shared.limits).await {
                Ok(None) => return,
                Ok(Some(wait)) => {
                    tracing::debug!(
                        budget = self.name,
                        key = shared.key.as_str(),
                        wait_ms = wait.as_millis() as u64,
                        "shared rate budget: waiting"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    tracing::warn!(
                        budget = self.name,
                        key = shared.key.as_str(),
                        error = %e,
                        "shared rate budget unavailable: this call counts against this process's budget only"
                    );
                    return;
                }
            }
        }
    }

    async fn take_local(&self) {
        if self.per_sec <= 0.0 {
            return;
        }
        let wait = {
            // A panic elsewhere while holding the lock must not switch the budget off: the
            // state is two numbers, still meaningful, so take it back.
            let mut st = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            if !st.0.is_finite() {
                // Cannot happen with a validated rate; never let it turn into a panic.
                st.0 = 0.0;
            }
            let elapsed = now.saturating_duration_since(st.1).as_secs_f64();
            st.0 = (st.0 + elapsed * self.per_sec).min(self.capacity);
            st.1 = now;
            st.0 -= 1.0;
            if st.0 >= 0.0 {
                None
            } else {
                // A tiny rate can ask for more than `Duration` holds: wait "for ever".
                Some(Duration::try_from_secs_f64(-st.0 / self.per_sec).unwrap_or(Duration::MAX))
            }
        };
        if let Some(w) = wait {
            tracing::debug!(
                budget = self.name,
                wait_ms = w.as_millis() as u64,
                "rate budget: waiting"
            );
            tokio::time::sleep(w).await;
        }
    }
}

/// The budgets a run draws from, one per port.
#[derive(Debug, Clone)]
pub struct Budgets {
    /// Compute calls.
    pub compute: Arc<RateBudget>,
    /// DNS calls. For DigitalOcean Domains, use the same `Arc` as `compute`
    /// ([`Budgets::digitalocean_dns`]). Unlimited by default: Dyn's limit is kept by the
    /// dynect client's own limiter, which counts every request (one limiter per provider).
    pub dns: Arc<RateBudget>,
    /// Chef calls (no documented limit).
    pub config_mgmt: Arc<RateBudget>,
    /// Monitoring calls.
    pub monitoring: Arc<RateBudget>,
}

impl Default for Budgets {
    /// DigitalOcean compute (250 a minute); DNS, Chef and monitoring uncounted here (Dyn's
    /// limit is the dynect client's).
    fn default() -> Self {
        Budgets {
            compute: Arc::new(RateBudget::digitalocean()),
            dns: Arc::new(RateBudget::unlimited("dns")),
            config_mgmt: Arc::new(RateBudget::unlimited("chef")),
            monitoring: Arc::new(RateBudget::unlimited("nagios")),
        }
    }
}

impl Budgets {
    /// The budgets of a run over DigitalOcean compute (`digitalocean`) and `dns`: DigitalOcean
    /// 250 a minute (and, shared, 5,000 an hour) per token, waiting for the reset when the
    /// server says none is left; DigitalOcean Domains share that budget; Dyn, shared, 240 a
    /// minute per account ([`DYN_RATE_LIMIT_PER_MINUTE`](crate::adapters::DYN_RATE_LIMIT_PER_MINUTE):
    /// a fifth of the 300 stays for the portal, other tools and session calls; in each
    /// process the Dyn client's own limiter also counts every request).
    ///
    /// With `store` (a [`PgStore`](crate::state::PgStore)), every process with the same
    /// token or account draws from one budget ([`RateBudget::shared`]); keys are digests,
    /// never the secret.
    ///
    /// ```no_run
    /// # fn demo(
    /// #     client: digitalocean_client::Client,
    /// #     dns: ops_core::adapters::DnsAdapter,
    /// #     store: std::sync::Arc<dyn ops_core::state::StateStore>,
    /// # ) {
    /// use ops_core::provision::Budgets;
    ///
    /// let budgets = Budgets::for_providers(&client, &dns, Some(&store));
    /// # }
    /// ```
    pub fn for_providers(
        digitalocean: &digitalocean_client::Client,
        dns: &crate::adapters::DnsAdapter,
        store: Option<&Arc<dyn StateStore>>,
    ) -> Self {
        use secrecy::ExposeSecret as _;
        let do_key = BudgetKey::new(
            "digitalocean",
            digitalocean.token().expose_secret().as_bytes(),
        );
        let c = digitalocean.clone();
        let hint: ServerHint = Arc::new(move || {
            let rl = c.last_rate_limit()?;
            (rl.remaining == 0).then(|| rl.reset_at())
        });
        let mut compute = RateBudget::digitalocean().with_server_hint(hint);
        if let Some(s) = store {
            compute = compute.shared(s.clone(), do_key, &Limit::DIGITALOCEAN);
        }
        let compute = Arc::new(compute);
        let dns = match dns {
            crate::adapters::DnsAdapter::DigitalOcean(_) => compute.clone(),
            crate::adapters::DnsAdapter::Dyn(d) => {
                let mut b = RateBudget::unlimited("dyn");
                if let Some(s) = store {
                    let key = BudgetKey::new("dyn", d.client().customer_name().as_bytes());
                    b = b.shared(
                        s.clone(),
                        key,
                        &[Limit {
                            requests: crate::adapters::DYN_RATE_LIMIT_PER_MINUTE,
                            per: Duration::from_secs(60),
                        }],
                    );
                }
                Arc::new(b)
            }
        };
        Budgets {
            compute,
            dns,
            ..Budgets::default()
        }
    }

    /// DigitalOcean compute and DigitalOcean Domains DNS share one budget (one token).
    pub fn digitalocean_dns() -> Self {
        let d = Arc::new(RateBudget::digitalocean());
        Budgets {
            compute: d.clone(),
            dns: d,
            ..Budgets::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_that_would_panic_or_limit_nothing_are_refused() {
        for bad in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.0,
            -f64::MIN_POSITIVE,
        ] {
            let err = RateBudget::new("dyn", 10, bad).unwrap_err();
            assert!(
                matches!(err, crate::Error::Precondition(_)),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains("rate budget `dyn`"), "{err}");
        }
        assert!(RateBudget::new("t", 10, 0.0).is_ok());
        assert!(RateBudget::new("t", 10, 5.0).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn zero_is_unlimited_and_a_tiny_rate_waits_without_panicking() {
        let b = RateBudget::new("t", 1, 0.0).unwrap();
        let start = Instant::now();
        for _ in 0..1000 {
            b.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        // One token, then a wait longer than `Duration` can hold (used to panic).
        let b = RateBudget::new("t", 1, f64::MIN_POSITIVE).unwrap();
        b.acquire().await;
        let second = tokio::time::timeout(Duration::from_secs(3600), b.acquire()).await;
        assert!(second.is_err(), "the second call must wait");
    }

    /// A budget of one token refilled once a second (on paused time): of three calls, the
    /// 2nd and 3rd wait.
    async fn three_calls_take_two_seconds(b: &RateBudget) {
        let start = Instant::now();
        for _ in 0..3 {
            b.acquire().await;
        }
        assert!(
            start.elapsed() >= Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_poisoned_lock_keeps_the_budget_enforced() {
        let b = Arc::new(RateBudget::new("t", 1, 1.0).unwrap());
        let holder = b.clone();
        let poisoner = std::thread::spawn(move || {
            let _guard = holder.state.lock();
            panic!("a panic while holding the budget's lock");
        });
        assert!(poisoner.join().is_err());
        assert!(b.state.is_poisoned());
        three_calls_take_two_seconds(&b).await;
        assert_eq!(b.granted(), 3);
    }

    #[test]
    fn window_safe_buckets_never_grant_more_than_the_documented_limit() {
        for limits in [&Limit::DIGITALOCEAN[..], &Limit::DYN[..]] {
            for (doc, bucket) in limits.iter().zip(window_safe(limits)) {
                // A bucket of C refilled at C per `per` grants at most C + W·C/per in any W.
                let c = f64::from(bucket.requests);
                let most = c + doc.per.as_secs_f64() * c / bucket.per.as_secs_f64();
                let spared = f64::from(doc.requests - doc.requests / 50);
                assert!(most <= spared + 1e-6, "{doc:?} -> {bucket:?}: {most}");
                assert!(most >= spared - 1e-6, "{doc:?} -> {bucket:?}: {most}");
            }
        }
        let w = window_safe(&Limit::DIGITALOCEAN);
        assert_eq!(w[0].requests, 49, "bursts of a fifth of the minute's 245");
        assert_eq!(
            w[1].requests, 3920,
            "the hour's limit lets 3,920 through at 245 a minute"
        );
        assert_eq!(
            window_safe(&[Limit {
                requests: 1,
                per: Duration::from_secs(5)
            }])[0]
                .requests,
            1
        );
        assert!(
            window_safe(&[Limit {
                requests: 0,
                per: Duration::from_secs(5)
            }])
            .is_empty()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_server_saying_none_is_left_makes_the_budget_wait_for_its_reset() {
        let reset = SystemTime::now() + Duration::from_secs(30);
        let said = Arc::new(std::sync::Mutex::new(Some(reset)));
        let hint_said = said.clone();
        let b = RateBudget::unlimited("digitalocean")
            .with_server_hint(Arc::new(move || *hint_said.lock().unwrap()));
        let start = Instant::now();
        b.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_secs(29),
            "{:?}",
            start.elapsed()
        );
        // Remaining above 0 (no hint): no wait.
        *said.lock().unwrap() = None;
        let again = Instant::now();
        b.acquire().await;
        assert_eq!(again.elapsed(), Duration::ZERO);
        // A reset in the past (an old answer): no wait either.
        *said.lock().unwrap() = Some(SystemTime::now() - Duration::from_secs(5));
        b.acquire().await;
        assert_eq!(again.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn with_the_folder_store_the_process_budget_still_limits() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn StateStore> =
            Arc::new(crate::state::FileStore::new(dir.path().to_path_buf()));
        let b = RateBudget::new("t", 1, 1.0).unwrap().shared(
            store,
            BudgetKey::new("t", b"x"),
            &Limit::DYN,
        );
        three_calls_take_two_seconds(&b).await;
        assert!(format!("{b:?}").contains("t:"), "{b:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn never_exceeds_the_window() {
        let b = RateBudget::per_minute("t", 250);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..600 {
            b.acquire().await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(60))
                .count();
            assert!(in_window <= 250, "{in_window} in a 60 s window");
        }
        // and it is not needlessly slow: 600 calls in about (600-50)/3.33 s
        assert!(start.elapsed() < Duration::from_secs(170));
    }
}

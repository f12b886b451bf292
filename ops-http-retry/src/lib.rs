#![doc = include_str!("../README.md")]

pub mod body;
mod scrub;
pub use scrub::{REDACTED, json_escaped, scrub};

use std::future::Future;
use std::hash::BuildHasher;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use http::header::{DATE, RETRY_AFTER};

/// How many times, and how patiently, a request is retried.
///
/// Which failures are retried is decided per error by the client's classifier (see
/// [`Verdict`]); this says how often and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Total attempts, including the first. `1` disables retries.
    pub max_attempts: u32,
    /// First backoff; doubled on each attempt and jittered.
    pub initial_backoff: Duration,
    /// Upper bound for one backoff. A `Retry-After` longer than this is not waited for: the
    /// error is returned at once (the caller can see the server's wish in the error).
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    /// Three attempts, 1 s initial backoff, 20 s cap.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryConfig {
    /// No retries at all: every request is attempted exactly once.
    pub fn disabled() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// Delay before the next attempt (`attempt` counts from 0 for the first retry), or `None`
/// when the server asks for a longer wait than `max_backoff`.
///
/// Without `Retry-After`: `initial_backoff · 2^attempt`, capped at `max_backoff`, then
/// jittered into `[½, 1]` of that ("equal jitter"), so many clients hit by one outage do not
/// come back in step.
pub fn next_delay(
    cfg: &RetryConfig,
    attempt: u32,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    match retry_after {
        Some(d) if d > cfg.max_backoff => None,
        Some(d) => Some(d),
        None => {
            let exp = cfg
                .initial_backoff
                .saturating_mul(1u32 << attempt.min(16))
                .min(cfg.max_backoff);
            // A uniform sample in [0, 1] from the std hasher's random keys: no RNG dependency.
            let r = std::collections::hash_map::RandomState::new().hash_one(attempt) as f64
                / u64::MAX as f64;
            // `exp · (½ + r/2)`, computed in nanoseconds with checked conversions: never a panic.
            let nanos = exp.as_nanos() as f64 * (0.5 + r / 2.0);
            Some(Duration::try_from_secs_f64(nanos / 1e9).unwrap_or(exp))
        }
    }
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date (IMF-fixdate, RFC 850 or
/// asctime). A date is measured against the response's own `Date` header when it has one
/// (the server's clock, so local clock skew does not matter), else against the local clock;
/// a date already past means "retry now". Anything else is ignored (normal backoff).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    let value = text(RETRY_AFTER)?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let now = text(DATE)
        .and_then(|d| httpdate::parse_http_date(d.trim()).ok())
        .unwrap_or_else(SystemTime::now);
    Some(at.duration_since(now).unwrap_or_default())
}

/// Whether `method` may be repeated without changing the outcome (RFC 9110 §9.2.2), as far
/// as HTTP knows. A client may know better for its provider (a `POST` that only sets a flag).
pub fn is_idempotent(method: &http::Method) -> bool {
    matches!(
        *method,
        http::Method::GET
            | http::Method::HEAD
            | http::Method::PUT
            | http::Method::DELETE
            | http::Method::OPTIONS
            | http::Method::TRACE
    )
}

/// The client's judgement of one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Not safe, or not useful, to retry: the error is returned.
    Stop,
    /// Safe to retry: after the server's `retry_after` when it gave one (unless longer than
    /// the cap: then the error is returned at once), else after the backoff — and never
    /// sooner than `at_least` (itself capped by `max_backoff`), for providers that punish
    /// quick retries (Dyn locks an account out for up to a minute).
    Retry {
        /// The server's own wish (`Retry-After`, a rate-limit reset).
        retry_after: Option<Duration>,
        /// A floor for this retry's delay.
        at_least: Duration,
    },
}

impl Verdict {
    /// Retry, after `retry_after` if the server gave one.
    pub fn retry(retry_after: Option<Duration>) -> Self {
        Verdict::Retry {
            retry_after,
            at_least: Duration::ZERO,
        }
    }
}

/// The retry loop with its settings; [`retry_loop`] is the common case.
#[derive(Debug, Clone)]
pub struct RetryLoop<'c> {
    config: &'c RetryConfig,
    max_total_wait: Option<Duration>,
}

impl<'c> RetryLoop<'c> {
    /// A loop following `config`.
    pub fn new(config: &'c RetryConfig) -> Self {
        RetryLoop {
            config,
            max_total_wait: None,
        }
    }

    /// An overall deadline on the time spent waiting between attempts: a retry whose delay
    /// would take the total past it is not made, the last error is returned instead.
    #[must_use]
    pub fn max_total_wait(mut self, d: Duration) -> Self {
        self.max_total_wait = Some(d);
        self
    }

    /// Runs `op` (given the attempt number, from 0) until it succeeds, the classifier says
    /// [`Verdict::Stop`], the attempts are spent, the server asks for a wait beyond the cap,
    /// or the total wait would pass the deadline. Between attempts it awaits
    /// `sleep(delay, &error, attempt)` — the caller's sleep (and the place to log the retry).
    pub async fn run<T, E, Op, OpFut, Cl, Sl, SlFut>(
        &self,
        mut op: Op,
        classify: Cl,
        mut sleep: Sl,
    ) -> Result<T, E>
    where
        Op: FnMut(u32) -> OpFut,
        OpFut: Future<Output = Result<T, E>>,
        Cl: Fn(&E) -> Verdict,
        Sl: FnMut(Duration, &E, u32) -> SlFut,
        SlFut: Future<Output = ()>,
    {
        let mut attempt: u32 = 0;
        let mut waited = Duration::ZERO;
        loop {
            let err = match op(attempt).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            attempt = attempt.saturating_add(1);
            if attempt >= self.config.max_attempts {
                return Err(err);
            }
            let (retry_after, at_least) = match classify(&err) {
                Verdict::Stop => return Err(err),
                Verdict::Retry {
                    retry_after,
                    at_least,
                } => (retry_after, at_least),
            };
            let Some(delay) = next_delay(self.config, attempt - 1, retry_after) else {
                return Err(err);
            };
            let delay = delay.max(at_least.min(self.config.max_backoff));
            if let Some(limit) = self.max_total_wait {
                if waited.saturating_add(delay) > limit {
                    return Err(err);
                }
            }
            sleep(delay, &err, attempt).await;
            waited = waited.saturating_add(delay);
        }
    }
}

/// [`RetryLoop::run`] with `config` and no overall deadline.
pub async fn retry_loop<T, E, Op, OpFut, Cl, Sl, SlFut>(
    config: &RetryConfig,
    op: Op,
    classify: Cl,
    sleep: Sl,
) -> Result<T, E>
where
    Op: FnMut(u32) -> OpFut,
    OpFut: Future<Output = Result<T, E>>,
    Cl: Fn(&E) -> Verdict,
    Sl: FnMut(Duration, &E, u32) -> SlFut,
    SlFut: Future<Output = ()>,
{
    RetryLoop::new(config).run(op, classify, sleep).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::cell::RefCell;

    fn cfg() -> RetryConfig {
        RetryConfig {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        assert_eq!(
            next_delay(&cfg(), 0, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1))
        );
        assert_eq!(next_delay(&cfg(), 0, Some(Duration::from_secs(3600))), None);
        assert_eq!(
            next_delay(&cfg(), 0, Some(Duration::ZERO)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        for attempt in 0..40 {
            let d = next_delay(&cfg(), attempt, None).unwrap();
            let exp = Duration::from_millis(100)
                .saturating_mul(1 << attempt.min(16))
                .min(Duration::from_secs(2));
            assert!(
                d >= exp / 2 && d <= exp,
                "attempt {attempt}: {d:?} vs {exp:?}"
            );
        }
    }

    #[test]
    fn huge_settings_never_panic() {
        let c = RetryConfig {
            max_attempts: u32::MAX,
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
        };
        for attempt in [0, 1, 31, 32, u32::MAX] {
            assert!(next_delay(&c, attempt, None).is_some());
        }
    }

    #[test]
    fn disabled_means_one_attempt() {
        assert_eq!(RetryConfig::disabled().max_attempts, 1);
        assert_eq!(RetryConfig::default().max_attempts, 3);
    }

    #[test]
    fn idempotent_methods() {
        assert!(is_idempotent(&http::Method::GET));
        assert!(is_idempotent(&http::Method::DELETE));
        assert!(!is_idempotent(&http::Method::POST));
        assert!(!is_idempotent(&http::Method::PATCH));
    }

    fn h(pairs: &[(http::HeaderName, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(k.clone(), http::HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let secs = Duration::from_secs;
        assert_eq!(retry_after(&h(&[(RETRY_AFTER, " 7 ")])), Some(secs(7)));
        assert_eq!(
            retry_after(&h(&[
                (RETRY_AFTER, "Wed, 21 Oct 2015 07:28:30 GMT"),
                (DATE, "Wed, 21 Oct 2015 07:28:00 GMT"),
            ])),
            Some(secs(30))
        );
        assert_eq!(
            retry_after(&h(&[
                (RETRY_AFTER, "Wednesday, 21-Oct-15 07:28:10 GMT"),
                (DATE, "Wed Oct 21 07:28:00 2015"),
            ])),
            Some(secs(10))
        );
        assert_eq!(
            retry_after(&h(&[(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT")])),
            Some(secs(0))
        );
        assert_eq!(retry_after(&h(&[(RETRY_AFTER, "soon")])), None);
        assert_eq!(retry_after(&h(&[(RETRY_AFTER, "-5")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    proptest::proptest! {
        #![proptest_config(ops_proptest::config())]
        #[test]
        fn retry_after_never_panics(value in "\\PC{0,60}", date in "\\PC{0,40}") {
            let mut m = HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(&value) { m.insert(RETRY_AFTER, v); }
            if let Ok(v) = http::HeaderValue::from_str(&date) { m.insert(DATE, v); }
            let _ = retry_after(&m);
        }

        #[test]
        fn next_delay_stays_within_its_bounds(
            initial in 0u64..10_000_000, cap in 0u64..10_000_000, attempt in 0u32..100,
            ra in proptest::option::of(0u64..10_000_000),
        ) {
            let c = RetryConfig {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(initial),
                max_backoff: Duration::from_millis(cap),
            };
            match next_delay(&c, attempt, ra.map(Duration::from_millis)) {
                Some(d) => proptest::prop_assert!(d <= c.max_backoff.max(Duration::from_millis(ra.unwrap_or(0)))),
                None => proptest::prop_assert!(ra.is_some_and(|r| Duration::from_millis(r) > c.max_backoff)),
            }
        }
    }

    /// A fake operation failing `fails` times with `verdict`, and a sleep that records.
    async fn run_with(
        config: &RetryConfig,
        fails: u32,
        verdict: Verdict,
        budget: Option<Duration>,
    ) -> (Result<u32, &'static str>, u32, Vec<Duration>) {
        let calls = RefCell::new(0u32);
        let slept = RefCell::new(Vec::new());
        let mut l = RetryLoop::new(config);
        if let Some(b) = budget {
            l = l.max_total_wait(b);
        }
        let r = l
            .run(
                |attempt| {
                    *calls.borrow_mut() += 1;
                    let n = attempt;
                    async move { if n < fails { Err("boom") } else { Ok(n) } }
                },
                |_| verdict,
                |d, _e, _n| {
                    slept.borrow_mut().push(d);
                    async {}
                },
            )
            .await;
        (r, calls.into_inner(), slept.into_inner())
    }

    #[tokio::test]
    async fn the_loop_retries_until_success_within_the_attempts() {
        let (r, calls, slept) = run_with(&cfg(), 2, Verdict::retry(None), None).await;
        assert_eq!(r, Ok(2));
        assert_eq!(calls, 3);
        assert_eq!(slept.len(), 2);
        let (r, calls, _) = run_with(&cfg(), 10, Verdict::retry(None), None).await;
        assert_eq!(r, Err("boom"));
        assert_eq!(calls, 5, "max_attempts");
    }

    #[tokio::test]
    async fn the_classifier_stops_it_and_retry_after_is_obeyed_or_refused() {
        let (r, calls, slept) = run_with(&cfg(), 3, Verdict::Stop, None).await;
        assert_eq!((r, calls, slept.len()), (Err("boom"), 1, 0));
        let ra = Verdict::retry(Some(Duration::from_millis(1500)));
        let (r, _, slept) = run_with(&cfg(), 1, ra, None).await;
        assert_eq!(r, Ok(1));
        assert_eq!(slept, [Duration::from_millis(1500)]);
        // Beyond the cap: returned at once, no sleep.
        let far = Verdict::retry(Some(Duration::from_secs(3600)));
        let (r, calls, slept) = run_with(&cfg(), 1, far, None).await;
        assert_eq!((r, calls, slept.len()), (Err("boom"), 1, 0));
    }

    #[tokio::test]
    async fn a_floor_and_an_overall_deadline() {
        let floor = Verdict::Retry {
            retry_after: None,
            at_least: Duration::from_secs(5),
        };
        let (_, _, slept) = run_with(&cfg(), 1, floor, None).await;
        assert_eq!(
            slept,
            [Duration::from_secs(2)],
            "floor capped by max_backoff"
        );
        let ra = Verdict::retry(Some(Duration::from_secs(1)));
        let (r, calls, slept) = run_with(&cfg(), 4, ra, Some(Duration::from_millis(2500))).await;
        assert_eq!(r, Err("boom"));
        assert_eq!(calls, 3, "a third wait would pass 2.5 s");
        assert_eq!(slept.len(), 2);
    }
}

//! Cancelling a run: the token a caller (a signal handler) trips, and what the workflow
//! does with it (see the [module docs](super#interrupts)).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::Step;

/// Asks a running [`RestoreJob`](super::RestoreJob) to stop. Clones share one state.
///
/// The workflow checks it between steps, races every step against it (the swap excepted:
/// it finishes first) and watches it while `pg_dump`/`pg_restore` run; then it kills the
/// tools' process groups, drops the working copy over a fresh connection, removes the
/// dump folder and returns [`RestoreError::Interrupted`](super::RestoreError::Interrupted).
///
/// ```
/// use ops_core::restore::CancelToken;
/// let token = CancelToken::new();
/// let for_the_handler = token.clone();
/// for_the_handler.cancel();
/// assert!(token.is_cancelled());
/// ```
#[derive(Debug, Clone)]
pub struct CancelToken {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::channel(false).0),
        }
    }

    /// Ask the run to stop (idempotent).
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once [`cancel`](Self::cancel) is called (at once if it was).
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we wait.
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// A test hook (hidden): awaited where a step can be interrupted, with the step and, in
/// `dump`/`restore`, the tool's process id (the tool is stopped with `SIGSTOP` meanwhile,
/// so that a signal is sure to find it running).
pub(crate) type PauseFn = Arc<dyn Fn(Step, Option<u32>) -> BoxFuture<'static, ()> + Send + Sync>;

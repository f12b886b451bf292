use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::validate;

/// An asynchronous operation DigitalOcean runs for you (create, power_on, …).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Action {
    /// Action id; `None` when the server left it out (the spec does not require it).
    #[serde(default)]
    pub id: Option<u64>,
    /// Current state; [`ActionStatus::Unknown`] when the server left it out.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub status: ActionStatus,
    /// Action type, e.g. `create`, `power_on`, `reboot`.
    #[serde(rename = "type", default, deserialize_with = "super::null_as_default")]
    pub kind: String,
    /// When it started (RFC 3339).
    #[serde(default)]
    pub started_at: Option<String>,
    /// When it completed (RFC 3339), `None` while in progress.
    #[serde(default)]
    pub completed_at: Option<String>,
    /// Id of the resource the action applies to.
    #[serde(default)]
    pub resource_id: Option<u64>,
    /// Type of that resource, e.g. `droplet`.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// Region slug, if the action is regional.
    #[serde(default)]
    pub region_slug: Option<String>,
}

/// The state of an [`Action`].
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ActionStatus {
    /// Still running.
    InProgress,
    /// Finished successfully.
    Completed,
    /// Failed.
    Errored,
    /// A state this crate does not know about, or none given.
    #[default]
    #[serde(other)]
    Unknown,
}

/// A link to an action, as returned by create calls (`links.actions[]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ActionLink {
    /// Action id; `None` when the server left it out (the spec does not require it): the
    /// `href` still addresses the action.
    #[serde(default)]
    pub id: Option<u64>,
    /// Relation, e.g. `create` or `multiple_create`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub rel: String,
    /// Absolute URL of the action; only its path is ever followed.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub href: String,
}

/// How long and how often a `wait_*` helper polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Pause between two polls.
    pub poll_interval: Duration,
}

impl Default for WaitOptions {
    /// Five minutes, polling every 5 s (godo's interval).
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            poll_interval: Duration::from_secs(5),
        }
    }
}

impl WaitOptions {
    /// Wait up to `timeout`, polling every `poll_interval`.
    pub fn new(timeout: Duration, poll_interval: Duration) -> Self {
        Self {
            timeout,
            poll_interval,
        }
    }
}

#[derive(Deserialize)]
struct ActionEnvelope {
    action: Action,
}

/// Handler for `/v2/actions`; see [`Client::actions`].
#[derive(Debug, Clone, Copy)]
pub struct Actions<'c> {
    client: &'c Client,
}

impl<'c> Actions<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `GET /v2/actions/{id}`.
    pub async fn get(&self, id: u64) -> Result<Action> {
        validate::id("action_id", id)?;
        let url = self.client.url(&["v2", "actions", &id.to_string()], &[])?;
        let env: ActionEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "action")
            .await?;
        Ok(env.action)
    }

    /// Fetch an action by the `href` of an [`ActionLink`]. Only the path of `href` is
    /// used, resolved against the configured base URL.
    pub async fn get_by_href(&self, href: &str) -> Result<Action> {
        let url = self.client.resolve_link(href)?;
        let env: ActionEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "action")
            .await?;
        Ok(env.action)
    }

    /// Poll `GET /v2/actions/{id}` until the action is `completed`.
    ///
    /// Fails with [`Error::ActionErrored`] if it errors, and with
    /// [`Error::WaitTimedOut`] when `opts.timeout` elapses first. This is not a retry:
    /// each poll is a normal request (with the client's own retry policy).
    pub async fn wait(&self, id: u64, opts: WaitOptions) -> Result<Action> {
        validate::id("action_id", id)?;
        let url = self.client.url(&["v2", "actions", &id.to_string()], &[])?;
        self.poll(url, Some(id), format!("action {id}"), opts).await
    }

    /// Wait for an action a call returned (an action `POST` answers with one): at once
    /// when it is already `completed` (or `errored`: [`Error::ActionErrored`]), else like
    /// [`Actions::wait`] on its id. An action without an id (the spec does not require one)
    /// cannot be polled: [`Error::InvalidInput`], nothing is sent.
    pub async fn wait_for(&self, action: &Action, opts: WaitOptions) -> Result<Action> {
        match action.status {
            ActionStatus::Completed => return Ok(action.clone()),
            ActionStatus::Errored => {
                return Err(Error::ActionErrored {
                    action_id: action.id,
                    action_type: action.kind.clone(),
                });
            }
            ActionStatus::InProgress | ActionStatus::Unknown => {}
        }
        let id = action.id.ok_or_else(|| Error::InvalidInput {
            field: "action_id",
            reason: format!(
                "the {} action has no id to poll (the server left it out)",
                action.kind
            ),
        })?;
        self.wait(id, opts).await
    }

    /// Like [`Actions::wait`], starting from an [`ActionLink`] `href` (path only).
    pub async fn wait_for_href(&self, href: &str, opts: WaitOptions) -> Result<Action> {
        let url = self.client.resolve_link(href)?;
        self.poll(url, None, format!("action at {href}"), opts)
            .await
    }

    async fn poll(
        &self,
        url: url::Url,
        known_id: Option<u64>,
        what: String,
        opts: WaitOptions,
    ) -> Result<Action> {
        let started = Instant::now();
        let deadline = started + opts.timeout;
        loop {
            let env: ActionEnvelope = self
                .client
                .send(Method::GET, url.clone(), None::<&()>, "action")
                .await?;
            let action = env.action;
            match action.status {
                ActionStatus::Completed => return Ok(action),
                ActionStatus::Errored => {
                    return Err(Error::ActionErrored {
                        action_id: action.id.or(known_id),
                        action_type: action.kind,
                    });
                }
                ActionStatus::InProgress | ActionStatus::Unknown => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::WaitTimedOut {
                    what,
                    waited: now.duration_since(started),
                    last_status: Some(format!("{:?}", action.status)),
                });
            }
            tracing::debug!(
                action_id = action.id.or(known_id),
                "action still in progress; polling again"
            );
            // The last poll happens at the deadline, never after it.
            tokio::time::sleep(opts.poll_interval.min(deadline - now)).await;
        }
    }
}

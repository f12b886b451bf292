//! Session authentication: `POST/GET/PUT/DELETE /REST/Session`.
//!
//! The password and the session token are [`SecretString`]s. The token only leaves its secret
//! wrapper in [`token_header`], as a header value marked sensitive; the password only in
//! [`login_body`], whose bytes are sent and never logged.

use reqwest::Method;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::client::{Call, Client};
use crate::error::{Error, Result};

/// The session token header.
pub(crate) const AUTH_TOKEN: &str = "Auth-Token";

/// Login credentials. `Debug` prints the password as `[REDACTED]`.
#[derive(Debug)]
pub(crate) struct Credentials {
    pub(crate) customer: String,
    pub(crate) user: String,
    pub(crate) password: SecretString,
}

/// What a successful login returns (the token stays inside the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// API version reported by the server, e.g. `"3.7.9"`.
    pub version: Option<String>,
}

/// The `Auth-Token` header value, marked sensitive so it is redacted from `Debug` output.
pub(crate) fn token_header(token: &SecretString) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(token.expose_secret())
        .map_err(|_| Error::Config("session token is not a valid header value".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// `{"user_name":…,"password":…,"customer_name":…}` (the field order of the recorded exchange).
fn login_body(c: &Credentials) -> Result<Vec<u8>> {
    #[derive(Serialize)]
    struct LoginBody<'a> {
        user_name: &'a str,
        password: &'a str,
        customer_name: &'a str,
    }
    serde_json::to_vec(&LoginBody {
        user_name: &c.user,
        password: c.password.expose_secret(),
        customer_name: &c.customer,
    })
    .map_err(|_| Error::InvalidInput("could not encode the login request".into()))
}

#[derive(Deserialize)]
pub(crate) struct LoginData {
    token: String,
    #[serde(default)]
    version: Option<String>,
}

/// Log in; the caller holds the login lock.
pub(crate) async fn login_locked(client: &Client) -> Result<SessionInfo> {
    let call = Call {
        body: Some(login_body(client.credentials())?),
        ..Call::new(Method::POST, &["REST", "Session"], "login").no_renew()
    };
    tracing::debug!("logging in to Dyn");
    let reply = match client.execute_with_retries(&call, None).await {
        Ok(r) => r,
        Err(Error::Api { body, .. }) if !body.is_rate_limited() => {
            return Err(Error::Login { body });
        }
        Err(e) => return Err(e),
    };
    let data: LoginData = reply.decode("login")?;
    let token = SecretString::from(data.token);
    let mut st = client.state();
    st.token = Some(token);
    st.generation = st.generation.wrapping_add(1);
    st.pending.clear();
    st.version.clone_from(&data.version);
    tracing::debug!(version = data.version.as_deref(), "Dyn session opened");
    Ok(SessionInfo {
        version: data.version,
    })
}

impl Client {
    /// Open a new session (`POST /REST/Session`), replacing any current one.
    ///
    /// Other calls log in on demand, so calling this is optional; it is useful to check
    /// credentials early. A failed login is [`Error::Login`] and is never retried.
    /// Unpublished changes of a replaced session are forgotten.
    ///
    /// ```no_run
    /// # async fn run(client: dynect_client::Client) -> dynect_client::Result<()> {
    /// let info = client.login().await?;
    /// println!("API version {:?}", info.version);
    /// # Ok(()) }
    /// ```
    pub async fn login(&self) -> Result<SessionInfo> {
        let _guard = self.login_lock().lock().await;
        login_locked(self).await
    }

    /// Keep the session alive (`PUT /REST/Session`). Logs in when there is no session.
    /// An expired session is reported (with [`Error::is_session_expired`]), not renewed.
    pub async fn keep_alive(&self) -> Result<()> {
        let call = Call::new(Method::PUT, &["REST", "Session"], "keep-alive").no_renew();
        self.execute(&call).await.map(|_| ())
    }

    /// Check that the session is still active (`GET /REST/Session`).
    ///
    /// `Ok(false)` when there is no session or it expired (the token is dropped; the next call
    /// logs in). If it expired with unpublished changes, returns
    /// [`Error::SessionExpiredWithPendingChanges`].
    pub async fn verify_session(&self) -> Result<bool> {
        if !self.has_session() {
            return Ok(false);
        }
        let call = Call::new(Method::GET, &["REST", "Session"], "verify").no_renew();
        match self.execute(&call).await {
            Ok(_) => Ok(true),
            Err(Error::Api { body, .. }) if body.is_session_expired() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Log out (`DELETE /REST/Session`) and forget the token and any unpublished changes.
    /// Does nothing without a session; an already expired session counts as logged out.
    pub async fn logout(&self) -> Result<()> {
        if !self.has_session() {
            return Ok(());
        }
        let call = Call::new(Method::DELETE, &["REST", "Session"], "logout").no_renew();
        let result = self.execute(&call).await;
        {
            let mut st = self.state();
            st.token = None;
            st.pending.clear();
        }
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.is_session_expired() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

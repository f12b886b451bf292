//! Connection settings for a Postgres server, kept secret-safe.

use std::ffi::OsString;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, NoTls};

use super::error::RestoreError;

/// One Postgres server and the role to act as, parsed from a libpq connection
/// string (`host=… port=… user=… password=… dbname=…`) or a `postgres://` URL.
///
/// The `dbname` of the connection string is the *maintenance* database the
/// workflow connects to for administrative SQL (default `postgres`); it must
/// not be the QA database, which gets renamed.
///
/// The password stays inside the driver configuration: `Debug` never shows it,
/// errors never contain it, and child processes (`pg_restore`, `pg_dump`) get
/// it through `PGPASSWORD` in their environment, never on the command line.
/// TLS is not supported yet (the driver connects with `NoTls`); use a unix
/// socket or a trusted network.
#[derive(Clone)]
pub struct PgServer {
    config: Arc<tokio_postgres::Config>,
    maintenance_db: String,
}

impl fmt::Debug for PgServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgServer")
            .field("host", &self.host_label())
            .field("user", &self.config.get_user())
            .field("maintenance_db", &self.maintenance_db)
            .field(
                "password",
                &self.config.get_password().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

impl PgServer {
    /// Parse a connection string; the password in it is treated as a secret.
    ///
    /// ```
    /// use ops_core::restore::PgServer;
    /// let server = PgServer::new("host=/var/run/postgresql user=qa_admin password=s3cret")?;
    /// assert!(!format!("{server:?}").contains("s3cret"));
    /// # Ok::<(), ops_core::restore::RestoreError>(())
    /// ```
    pub fn new(conn: impl Into<SecretString>) -> Result<Self, RestoreError> {
        let conn: SecretString = conn.into();
        // The parse error never echoes option values, but do not forward it
        // anyway: a malformed string may have the password in an odd place.
        let mut config = tokio_postgres::Config::from_str(conn.expose_secret()).map_err(|_| {
            RestoreError::Config(
                "the connection string could not be parsed (libpq key=value or postgres:// URL expected)"
                    .to_owned(),
            )
        })?;
        if config.get_hosts().is_empty() {
            return Err(RestoreError::Config(
                "the connection string names no host".to_owned(),
            ));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("ops-core restore");
        }
        let maintenance_db = config.get_dbname().unwrap_or("postgres").to_owned();
        Ok(Self {
            config: Arc::new(config),
            maintenance_db,
        })
    }

    /// Use another maintenance database for administrative connections.
    #[must_use]
    pub fn with_maintenance_db(mut self, database: impl Into<String>) -> Self {
        self.maintenance_db = database.into();
        self
    }

    /// The maintenance database administrative SQL runs in.
    pub fn maintenance_db(&self) -> &str {
        &self.maintenance_db
    }

    /// The role name, if the connection string sets one.
    pub fn user(&self) -> Option<&str> {
        self.config.get_user()
    }

    /// `host:port` (comma-separated when several), for logs and guards; never a secret.
    pub fn host_label(&self) -> String {
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(s) => s.clone(),
                Host::Unix(p) => p.display().to_string(),
            })
            .collect();
        let ports: Vec<String> = self
            .config
            .get_ports()
            .iter()
            .map(ToString::to_string)
            .collect();
        format!(
            "{}:{}",
            hosts.join(","),
            if ports.is_empty() {
                "5432".to_owned()
            } else {
                ports.join(",")
            }
        )
    }

    /// The host names (or socket directories), for the production guard.
    pub(crate) fn host_names(&self) -> Vec<String> {
        self.config
            .get_hosts()
            .iter()
            .map(|h| match h {
                Host::Tcp(s) => s.clone(),
                Host::Unix(p) => p.display().to_string(),
            })
            .collect()
    }

    /// Connect to `database` and drive the connection on the runtime.
    pub(crate) async fn connect(&self, database: &str) -> Result<Client, RestoreError> {
        let mut config = (*self.config).clone();
        config.dbname(database);
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| RestoreError::pg(format!("connect to database `{database}`"), e))?;
        let db = database.to_owned();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(database = %db, error = %e, "connection closed with an error");
            }
        });
        Ok(client)
    }

    /// Connect to the maintenance database.
    pub(crate) async fn connect_admin(&self) -> Result<Client, RestoreError> {
        self.connect(&self.maintenance_db).await
    }

    /// libpq environment for a child process (`PGHOST`, `PGPORT`, `PGUSER`,
    /// `PGPASSWORD`, …). The database is passed with `-d <name>`.
    pub(crate) fn child_env(&self) -> Vec<(&'static str, OsString)> {
        use std::os::unix::ffi::OsStringExt;
        let mut env = Vec::new();
        let hosts = self.host_names();
        env.push(("PGHOST", OsString::from(hosts.join(","))));
        let ports: Vec<String> = self
            .config
            .get_ports()
            .iter()
            .map(ToString::to_string)
            .collect();
        if !ports.is_empty() {
            env.push(("PGPORT", OsString::from(ports.join(","))));
        }
        if let Some(user) = self.config.get_user() {
            env.push(("PGUSER", OsString::from(user)));
        }
        if let Some(pw) = self.config.get_password() {
            env.push(("PGPASSWORD", OsString::from_vec(pw.to_vec())));
        }
        let sslmode = match self.config.get_ssl_mode() {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            _ => "prefer",
        };
        env.push(("PGSSLMODE", OsString::from(sslmode)));
        if let Some(t) = self.config.get_connect_timeout() {
            env.push((
                "PGCONNECT_TIMEOUT",
                OsString::from(t.as_secs().max(1).to_string()),
            ));
        }
        env.push(("PGAPPNAME", OsString::from("ops-core restore")));
        env
    }

    /// Apply [`Self::child_env`] to a command and remove libpq variables that could redirect it.
    pub(crate) fn configure_child(&self, cmd: &mut tokio::process::Command) {
        for var in [
            "PGDATABASE",
            "PGSERVICE",
            "PGSERVICEFILE",
            "PGHOSTADDR",
            "PGOPTIONS",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in self.child_env() {
            cmd.env(k, v);
        }
    }
}

/// Quote an SQL identifier (`"` doubled).
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quote an SQL string literal; works whatever `standard_conforming_strings` is.
pub(crate) fn literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 3);
    if value.contains('\\') {
        out.push_str(" E");
    }
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_env_do_not_leak_into_debug() {
        let s =
            PgServer::new("host=db.qa port=5433 user=qa password=hunter2 dbname=admin").unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("REDACTED"));
        assert_eq!(s.maintenance_db(), "admin");
        assert_eq!(s.host_label(), "db.qa:5433");
        let env = s.child_env();
        assert!(
            env.iter()
                .any(|(k, v)| *k == "PGPASSWORD" && v == "hunter2")
        );
    }

    #[test]
    fn url_form_and_bad_strings() {
        let s = PgServer::new("postgres://qa:pw%20x@127.0.0.1:6000/postgres").unwrap();
        assert_eq!(s.host_label(), "127.0.0.1:6000");
        assert!(!format!("{s:?}").contains("pw"));
        let err = PgServer::new("host=x password=topsecret port=notaport").unwrap_err();
        assert!(!err.to_string().contains("topsecret"));
        assert!(!format!("{err:?}").contains("topsecret"));
    }

    #[test]
    fn quoting() {
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\\b"), " E'a\\\\b'");
    }
}

//! Connection settings for a Postgres server, kept secret-safe.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
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
///
/// # TLS
///
/// As with libpq: `sslmode=prefer` (the default) encrypts when the server offers TLS,
/// `require` insists on it, `disable` never uses it, and without a root certificate the
/// server's certificate is **not** verified (encryption without authentication, what `psql`
/// and `pg_dump` do). [`verify_tls_with`](Self::verify_tls_with) turns on libpq's
/// `verify-full`: the chain is checked against a CA file and the certificate must name the
/// host. Unix sockets never use TLS. The child processes get the same settings through
/// `PGSSLMODE` and `PGSSLROOTCERT`. `sslmode=verify-ca|verify-full` and `sslrootcert` are not
/// read from the connection string (the driver does not parse them): use
/// `verify_tls_with`. TLS needs the `rustls` feature (on by default).
#[derive(Clone)]
pub struct PgServer {
    config: Arc<tokio_postgres::Config>,
    maintenance_db: String,
    /// Set by [`Self::verify_tls_with`]: the CA file and the verifying TLS configuration.
    verify: Option<Verify>,
}

#[derive(Clone)]
struct Verify {
    root_cert: PathBuf,
    #[cfg(feature = "rustls")]
    tls: Arc<rustls::ClientConfig>,
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
            .field("sslmode", &self.sslmode())
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
            let text = conn.expose_secret();
            RestoreError::Config(
                if ["verify-ca", "verify-full", "sslrootcert"]
                    .iter()
                    .any(|k| text.contains(k))
                {
                    "the connection string could not be parsed: sslmode=verify-ca/verify-full and \
                     sslrootcert are not read from it; use sslmode=require and \
                     PgServer::verify_tls_with(<CA file>) (the restore binary: PGSSLROOTCERT)"
                } else {
                    "the connection string could not be parsed (libpq key=value or postgres:// URL expected)"
                }
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
            verify: None,
        })
    }

    /// Verify the server like libpq's `sslmode=verify-full` with `sslrootcert=<root_cert>`:
    /// TLS is required, the certificate chain must lead to a CA in `root_cert` (PEM, one or
    /// more certificates) and the certificate must name the host connected to (DNS name or
    /// IP address). The file is read now: a missing or empty file is an error here, not at
    /// the first connection.
    pub fn verify_tls_with(mut self, root_cert: impl AsRef<Path>) -> Result<Self, RestoreError> {
        let root_cert = root_cert.as_ref().to_path_buf();
        #[cfg(feature = "rustls")]
        {
            let tls = Arc::new(tls::verifying(&root_cert)?);
            self.verify = Some(Verify { root_cert, tls });
            Ok(self)
        }
        #[cfg(not(feature = "rustls"))]
        {
            let _ = &mut self;
            Err(RestoreError::Config(format!(
                "cannot verify Postgres TLS with {}: TLS needs the `rustls` feature of ops-workflows",
                root_cert.display()
            )))
        }
    }

    /// The libpq `sslmode` in effect: `disable`, `prefer`, `require` or `verify-full`.
    pub fn sslmode(&self) -> &'static str {
        if self.verify.is_some() {
            return "verify-full";
        }
        match self.config.get_ssl_mode() {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            _ => "prefer",
        }
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

    /// The TCP host names and addresses (unix socket directories left out), for the
    /// production guard.
    pub(crate) fn tcp_host_names(&self) -> Vec<String> {
        self.config
            .get_hosts()
            .iter()
            .filter_map(|h| match h {
                Host::Tcp(s) => Some(s.clone()),
                Host::Unix(_) => None,
            })
            .collect()
    }

    /// Connect to `database` and drive the connection on the runtime (TLS as the type docs
    /// say).
    pub(crate) async fn connect(&self, database: &str) -> Result<Client, RestoreError> {
        let mut config = (*self.config).clone();
        config.dbname(database);
        let what = || format!("connect to database `{database}`");
        let unix_only = config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, Host::Unix(_)));
        if unix_only || (self.verify.is_none() && config.get_ssl_mode() == SslMode::Disable) {
            let (client, connection) = config
                .connect(NoTls)
                .await
                .map_err(|e| RestoreError::pg(what(), e))?;
            drive(connection, database);
            return Ok(client);
        }
        #[cfg(feature = "rustls")]
        {
            let tls = match &self.verify {
                Some(v) => {
                    config.ssl_mode(SslMode::Require);
                    (*v.tls).clone()
                }
                None => tls::unverified(),
            };
            let (client, connection) = config
                .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
                .await
                .map_err(|e| RestoreError::pg(what(), e))?;
            drive(connection, database);
            Ok(client)
        }
        #[cfg(not(feature = "rustls"))]
        {
            if config.get_ssl_mode() == SslMode::Require {
                return Err(RestoreError::Config(
                    "sslmode=require: TLS to Postgres needs the `rustls` feature of ops-workflows"
                        .to_owned(),
                ));
            }
            let (client, connection) = config
                .connect(NoTls)
                .await
                .map_err(|e| RestoreError::pg(what(), e))?;
            drive(connection, database);
            Ok(client)
        }
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
        env.push(("PGSSLMODE", OsString::from(self.sslmode())));
        if let Some(v) = &self.verify {
            env.push(("PGSSLROOTCERT", v.root_cert.clone().into_os_string()));
        }
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

/// Drives a connection on the runtime until it closes.
fn drive<F>(connection: F, database: &str)
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    let db = database.to_owned();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(database = %db, error = %e, "connection closed with an error");
        }
    });
}

#[cfg(feature = "rustls")]
mod tls {
    //! rustls configurations for libpq's TLS modes.

    use std::path::Path;
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

    use super::RestoreError;

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::aws_lc_rs::default_provider())
    }

    fn builder() -> rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier> {
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| unreachable!("the default provider supports TLS 1.2 and 1.3"))
    }

    /// `verify-full` against the CA certificates in `path`.
    pub(super) fn verifying(path: &Path) -> Result<ClientConfig, RestoreError> {
        let shown = path.display();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| {
                RestoreError::Config(format!(
                    "cannot read the Postgres root certificate file {shown} ({e}): check the path"
                ))
            })?
            .collect::<Result<_, _>>()
            .map_err(|e| {
                RestoreError::Config(format!(
                    "the Postgres root certificate file {shown} is not valid PEM ({e})"
                ))
            })?;
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(RestoreError::Config(format!(
                "the Postgres root certificate file {shown} holds no usable CA certificate"
            )));
        }
        Ok(builder()
            .with_root_certificates(roots)
            .with_no_client_auth())
    }

    /// libpq `prefer`/`require` without a root certificate: encrypted, the certificate not
    /// verified (the handshake signatures still are).
    pub(super) fn unverified() -> ClientConfig {
        builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCertificateCheck(
                provider().signature_verification_algorithms,
            )))
            .with_no_client_auth()
    }

    #[derive(Debug)]
    struct NoCertificateCheck(WebPkiSupportedAlgorithms);

    impl ServerCertVerifier for NoCertificateCheck {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_schemes()
        }
    }
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
}

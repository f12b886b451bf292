//! TLS certificates for load balancers: `/v2/certificates`.

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::pagination::Pager;
use crate::validate;

/// A certificate (DigitalOcean never returns the private key).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Certificate {
    /// Certificate id (a UUID); `None` when the server left it out (the spec does not
    /// require it).
    #[serde(default)]
    pub id: Option<String>,
    /// Name (unique on the account).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
    /// `custom` or `lets_encrypt`.
    #[serde(rename = "type", default)]
    pub kind: Option<CertificateType>,
    /// Issuance progress (Let's Encrypt certificates start `pending`).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub state: CertificateState,
    /// The names it covers.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub dns_names: Vec<String>,
    /// Expiry (RFC 3339).
    #[serde(default)]
    pub not_after: Option<String>,
    /// SHA-1 fingerprint.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub sha1_fingerprint: String,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
}

/// Where a certificate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateType {
    /// Uploaded by the user.
    Custom,
    /// Issued and renewed by DigitalOcean through Let's Encrypt.
    LetsEncrypt,
    /// A type this crate does not know about.
    #[serde(other)]
    Unknown,
}

/// The issuance state of a [`Certificate`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertificateState {
    /// Being issued.
    Pending,
    /// Ready for use.
    Verified,
    /// Issuance failed.
    Error,
    /// A state this crate does not know about, or none given.
    #[default]
    #[serde(other)]
    Unknown,
}

/// `POST /v2/certificates`: a Let's Encrypt certificate, or an uploaded one.
///
/// `Debug` never shows a custom certificate's private key (a [`SecretString`]); the key is
/// exposed only to serialize the request body, and scrubbed out of any error body that
/// echoes it.
#[derive(Debug, Clone)]
pub enum CreateCertificate {
    /// Issued by Let's Encrypt for domains managed in DigitalOcean DNS.
    LetsEncrypt {
        /// Name (unique on the account).
        name: String,
        /// The names to cover (at least one; `*.example.com` for a wildcard).
        dns_names: Vec<String>,
    },
    /// An uploaded certificate.
    Custom {
        /// Name (unique on the account).
        name: String,
        /// The PEM private key. Secret: never in `Debug`, errors or logs.
        private_key: SecretString,
        /// The PEM certificate.
        leaf_certificate: String,
        /// The PEM intermediate chain, if any.
        certificate_chain: Option<String>,
    },
}

impl CreateCertificate {
    /// A Let's Encrypt certificate for `dns_names`.
    pub fn lets_encrypt<I, S>(name: impl Into<String>, dns_names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::LetsEncrypt {
            name: name.into(),
            dns_names: dns_names.into_iter().map(Into::into).collect(),
        }
    }

    /// An uploaded certificate: PEM private key, leaf certificate and optional chain.
    pub fn custom(
        name: impl Into<String>,
        private_key: impl Into<SecretString>,
        leaf_certificate: impl Into<String>,
        certificate_chain: Option<String>,
    ) -> Self {
        Self::Custom {
            name: name.into(),
            private_key: private_key.into(),
            leaf_certificate: leaf_certificate.into(),
            certificate_chain,
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            Self::LetsEncrypt { name, dns_names } => {
                validate::non_empty("name", name)?;
                if dns_names.is_empty() {
                    return Err(Error::InvalidInput {
                        field: "dns_names",
                        reason: "at least one DNS name is required".to_owned(),
                    });
                }
                dns_names
                    .iter()
                    .try_for_each(|d| validate::non_empty("dns_names", d))
            }
            Self::Custom {
                name,
                private_key,
                leaf_certificate,
                certificate_chain,
            } => {
                validate::non_empty("name", name)?;
                pem("private_key", private_key.expose_secret())?;
                pem("leaf_certificate", leaf_certificate)?;
                match certificate_chain {
                    Some(c) => pem("certificate_chain", c),
                    None => Ok(()),
                }
            }
        }
    }

    /// What an error body must not keep: the private key, and each of its lines (a server
    /// may echo part of it).
    fn secrets(&self) -> Vec<&str> {
        match self {
            Self::LetsEncrypt { .. } => Vec::new(),
            Self::Custom { private_key, .. } => {
                let key = private_key.expose_secret();
                let mut out = vec![key.trim()];
                out.extend(
                    key.lines()
                        .map(str::trim)
                        .filter(|l| l.len() >= 16 && !l.starts_with("-----")),
                );
                out
            }
        }
    }
}

/// A PEM block: says so without ever quoting the value (it may be a key).
fn pem(field: &'static str, value: &str) -> Result<()> {
    if value.trim_start().starts_with("-----BEGIN ") {
        return Ok(());
    }
    Err(Error::InvalidInput {
        field,
        reason: "must be PEM (starting with `-----BEGIN `)".to_owned(),
    })
}

impl Serialize for CreateCertificate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::LetsEncrypt { name, dns_names } => {
                let mut st = s.serialize_struct("CreateCertificate", 3)?;
                st.serialize_field("name", name)?;
                st.serialize_field("type", "lets_encrypt")?;
                st.serialize_field("dns_names", dns_names)?;
                st.end()
            }
            Self::Custom {
                name,
                private_key,
                leaf_certificate,
                certificate_chain,
            } => {
                let mut st = s.serialize_struct("CreateCertificate", 5)?;
                st.serialize_field("name", name)?;
                st.serialize_field("type", "custom")?;
                st.serialize_field("private_key", private_key.expose_secret())?;
                st.serialize_field("leaf_certificate", leaf_certificate)?;
                if let Some(chain) = certificate_chain {
                    st.serialize_field("certificate_chain", chain)?;
                }
                st.end()
            }
        }
    }
}

#[derive(Deserialize)]
struct CertificateEnvelope {
    certificate: Certificate,
}

impl Client {
    /// TLS certificates (for load balancers): list, get, create, delete.
    pub fn certificates(&self) -> Certificates<'_> {
        Certificates { client: self }
    }
}

/// Handler for `/v2/certificates`; see [`Client::certificates`].
///
/// ```no_run
/// use digitalocean_client::{Client, CreateCertificate, SecretString};
///
/// # async fn demo(client: Client, key_pem: SecretString, cert_pem: String) -> digitalocean_client::Result<()> {
/// let le = CreateCertificate::lets_encrypt("web", ["example.com", "www.example.com"]);
/// client.certificates().create(&le).await?;
/// // The private key stays a SecretString: never in Debug, errors or logs.
/// let custom = CreateCertificate::custom("web-custom", key_pem, cert_pem, None);
/// let cert = client.certificates().create(&custom).await?;
/// println!("{:?} {:?}", cert.id, cert.state);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Certificates<'c> {
    client: &'c Client,
}

impl<'c> Certificates<'c> {
    fn url(&self, id: &str) -> Result<url::Url> {
        validate::uuid("certificate_id", id)?;
        self.client.url(&["v2", "certificates", id], &[])
    }

    /// `GET /v2/certificates`, every page.
    pub fn list(&self) -> Pager<'c, Certificate> {
        let url = self.client.url(&["v2", "certificates"], &[]);
        Pager::new(self.client, "certificates", "certificate list", url)
    }

    /// `GET /v2/certificates?name=…`: the certificate of that name, if any.
    pub fn list_by_name(&self, name: &str) -> Pager<'c, Certificate> {
        let url = validate::non_empty("name", name)
            .and_then(|()| self.client.url(&["v2", "certificates"], &[("name", name)]));
        Pager::new(self.client, "certificates", "certificate list", url)
    }

    /// `GET /v2/certificates/{id}`.
    pub async fn get(&self, id: &str) -> Result<Certificate> {
        let url = self.url(id)?;
        let env: CertificateEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "certificate")
            .await?;
        Ok(env.certificate)
    }

    /// `POST /v2/certificates` (201). A Let's Encrypt certificate starts `pending`.
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`). Names are unique on the account,
    /// so after an ambiguous failure ([`Error::is_ambiguous`]) look the name up with
    /// [`Certificates::list_by_name`] rather than creating again.
    pub async fn create(&self, req: &CreateCertificate) -> Result<Certificate> {
        req.validate()?;
        let url = self.client.url(&["v2", "certificates"], &[])?;
        let env: CertificateEnvelope = self
            .client
            .send_scrubbing(
                Method::POST,
                url,
                Some(req),
                "certificate create",
                &req.secrets(),
            )
            .await?;
        Ok(env.certificate)
    }

    /// `DELETE /v2/certificates/{id}` (204).
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout; once gone, a repeat answers 404.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let url = self.url(id)?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "certificate delete")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDBIZMz8pnK6V52\nSVf+CYssOfCQHAx5f0Ou5rYbq3xNh8VWHIYJCQ1QxQIxKSP6+uODSYrb2KWyurP1\n-----END PRIVATE KEY-----\n";
    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIFFjCCA/6gAwIBAgISA0AznUJmXhu08/89ZuSPC/kRMA0GCSqGSIb3DQEBCwUA\n-----END CERTIFICATE-----\n";

    #[test]
    fn the_private_key_never_reaches_debug() {
        let req = CreateCertificate::custom("web", KEY, CERT, None);
        let dbg = format!("{req:?}");
        assert!(!dbg.contains("MIIEvQIBADAN"), "{dbg}");
        let body = serde_json::to_value(&req).unwrap();
        assert_eq!(body["private_key"], KEY);
        assert_eq!(body["type"], "custom");
        assert!(body.get("certificate_chain").is_none());
        // The whole key and each of its base64 lines are scrubbed out of error bodies.
        let secrets = req.secrets();
        assert_eq!(secrets.len(), 3);
        assert!(
            secrets
                .iter()
                .all(|s| !s.starts_with("-----") || s.contains('\n'))
        );
    }

    #[test]
    fn requests_are_checked_without_quoting_the_key() {
        CreateCertificate::custom("web", KEY, CERT, Some(CERT.into()))
            .validate()
            .unwrap();
        let bad = CreateCertificate::custom("web", "MIIEvQIBADANsecret", CERT, None);
        let err = bad.validate().unwrap_err();
        assert!(!format!("{err} {err:?}").contains("MIIEvQIBADANsecret"));
        assert!(
            CreateCertificate::custom("web", KEY, "not pem", None)
                .validate()
                .is_err()
        );
        assert!(
            CreateCertificate::lets_encrypt("web", Vec::<String>::new())
                .validate()
                .is_err()
        );
        assert!(
            CreateCertificate::lets_encrypt("", ["example.com"])
                .validate()
                .is_err()
        );
        CreateCertificate::lets_encrypt("web", ["example.com"])
            .validate()
            .unwrap();
    }
}

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::Result;
use crate::pagination::Pager;
use crate::validate;

/// An SSH public key registered on the account.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct SshKey {
    /// Key id; `None` when the server left it out (the spec does not require it): address
    /// the key by its fingerprint then.
    #[serde(default)]
    pub id: Option<u64>,
    /// MD5 fingerprint (`3b:16:…`).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub fingerprint: String,
    /// The public key in OpenSSH format.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub public_key: String,
    /// Display name.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
}

/// A key reference: numeric id or fingerprint. Both address the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SshKeyId {
    /// Key id.
    Id(u64),
    /// MD5 fingerprint.
    Fingerprint(String),
}

impl SshKeyId {
    fn segment(&self) -> Result<String> {
        match self {
            SshKeyId::Id(id) => {
                validate::id("ssh_key_id", *id)?;
                Ok(id.to_string())
            }
            SshKeyId::Fingerprint(f) => {
                validate::non_empty("fingerprint", f)?;
                Ok(f.clone())
            }
        }
    }
}

impl From<u64> for SshKeyId {
    fn from(id: u64) -> Self {
        SshKeyId::Id(id)
    }
}

impl From<&str> for SshKeyId {
    fn from(f: &str) -> Self {
        SshKeyId::Fingerprint(f.to_owned())
    }
}

impl From<String> for SshKeyId {
    fn from(f: String) -> Self {
        SshKeyId::Fingerprint(f)
    }
}

/// `POST /v2/account/keys` body.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CreateSshKey {
    /// Display name.
    pub name: String,
    /// The public key in OpenSSH format.
    pub public_key: String,
}

#[derive(Serialize)]
struct RenameSshKey<'a> {
    name: &'a str,
}

#[derive(Deserialize)]
struct SshKeyEnvelope {
    ssh_key: SshKey,
}

/// Handler for `/v2/account/keys`; see [`Client::ssh_keys`].
#[derive(Debug, Clone, Copy)]
pub struct SshKeys<'c> {
    client: &'c Client,
}

impl<'c> SshKeys<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `GET /v2/account/keys`, every page.
    pub fn list(&self) -> Pager<'c, SshKey> {
        let url = self.client.url(&["v2", "account", "keys"], &[]);
        Pager::new(self.client, "ssh_keys", "ssh key list", url)
    }

    /// `GET /v2/account/keys/{id or fingerprint}`.
    pub async fn get(&self, key: impl Into<SshKeyId>) -> Result<SshKey> {
        let segment = key.into().segment()?;
        let url = self.client.url(&["v2", "account", "keys", &segment], &[])?;
        let env: SshKeyEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "ssh key")
            .await?;
        Ok(env.ssh_key)
    }

    /// `POST /v2/account/keys` (201).
    pub async fn create(&self, req: &CreateSshKey) -> Result<SshKey> {
        validate::non_empty("name", &req.name)?;
        validate::non_empty("public_key", &req.public_key)?;
        let url = self.client.url(&["v2", "account", "keys"], &[])?;
        let env: SshKeyEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "ssh key create")
            .await?;
        Ok(env.ssh_key)
    }

    /// `PUT /v2/account/keys/{id or fingerprint}` with a new name.
    pub async fn rename(&self, key: impl Into<SshKeyId>, name: &str) -> Result<SshKey> {
        validate::non_empty("name", name)?;
        let segment = key.into().segment()?;
        let url = self.client.url(&["v2", "account", "keys", &segment], &[])?;
        let env: SshKeyEnvelope = self
            .client
            .send(
                Method::PUT,
                url,
                Some(&RenameSshKey { name }),
                "ssh key rename",
            )
            .await?;
        Ok(env.ssh_key)
    }

    /// `DELETE /v2/account/keys/{id or fingerprint}` (204).
    pub async fn delete(&self, key: impl Into<SshKeyId>) -> Result<()> {
        let segment = key.into().segment()?;
        let url = self.client.url(&["v2", "account", "keys", &segment], &[])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "ssh key delete")
            .await
    }
}

//! API clients (`/clients`).

use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::names;
use crate::client::{Client, Scope};
use crate::error::Result;

/// An API client as the server describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawApiClient")]
pub struct ApiClient {
    /// Client name (`name`, or `clientname`; Chef Infra Server sends both).
    pub name: String,
    /// Whether this is a validator client.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub validator: bool,
    /// Whether the client is an admin (open-source Chef 11 and goiardi).
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub admin: bool,
    /// The public key, when the server returns it.
    #[serde(default)]
    pub public_key: Option<String>,
    /// Organization, on Chef Infra Server.
    #[serde(default)]
    pub orgname: Option<String>,
}

/// The wire shape: Chef Infra Server sends `name` *and* `clientname`, older
/// servers one of them, so both are optional here and [`ApiClient`] takes
/// whichever is present.
#[derive(Deserialize)]
struct RawApiClient {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    clientname: Option<String>,
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    validator: bool,
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    admin: bool,
    #[serde(default)]
    public_key: Option<String>,
    #[serde(default)]
    orgname: Option<String>,
}

impl TryFrom<RawApiClient> for ApiClient {
    type Error = &'static str;
    fn try_from(raw: RawApiClient) -> std::result::Result<Self, Self::Error> {
        let name = raw
            .name
            .or(raw.clientname)
            .ok_or("a client object without `name` or `clientname`")?;
        Ok(ApiClient {
            name,
            validator: raw.validator,
            admin: raw.admin,
            public_key: raw.public_key,
            orgname: raw.orgname,
        })
    }
}

/// Body of `POST /clients`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateClient {
    /// Client name.
    pub name: String,
    /// Create a validator client.
    pub validator: bool,
    /// Create an admin client (ignored by servers with ACLs).
    pub admin: bool,
    /// Register this public key instead of having the server generate a pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Ask the server to generate a key pair (API v1); `false` when `public_key` is set.
    pub create_key: bool,
}

impl CreateClient {
    /// A plain (non-admin, non-validator) client with a server-generated key.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            validator: false,
            admin: false,
            public_key: None,
            create_key: true,
        }
    }
}

/// Keys returned when a client is created or its key regenerated.
///
/// `private_key` is only known at this moment: the server does not keep it. `Debug`
/// redacts it.
#[derive(Debug, Clone)]
pub struct ClientKey {
    /// Client name.
    pub name: String,
    /// URL of the client object, when returned.
    pub uri: Option<String>,
    /// The new private key (PEM), when the server generated one.
    pub private_key: Option<SecretString>,
    /// The public key (PEM), when returned.
    pub public_key: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct KeyResponse {
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    private_key: Option<SecretString>,
    #[serde(default)]
    public_key: Option<String>,
    /// API v1 shape.
    #[serde(default)]
    chef_key: Option<ChefKey>,
}

#[derive(Deserialize)]
struct ChefKey {
    #[serde(default)]
    private_key: Option<SecretString>,
    #[serde(default)]
    public_key: Option<String>,
}

impl KeyResponse {
    pub(crate) fn into_key(self, name: &str) -> ClientKey {
        let (mut private_key, mut public_key) = (self.private_key, self.public_key);
        if let Some(k) = self.chef_key {
            private_key = private_key.or(k.private_key);
            public_key = public_key.or(k.public_key);
        }
        ClientKey {
            name: name.to_owned(),
            uri: self.uri,
            private_key,
            public_key,
        }
    }
}

/// Handler for `/clients`. Get one with [`Client::clients`].
#[derive(Debug, Clone, Copy)]
pub struct Clients<'c> {
    client: &'c Client,
}

impl<'c> Clients<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// All client names (`GET /clients`), sorted.
    pub async fn list(&self) -> Result<Vec<String>> {
        let url = self.client.url(Scope::Org, &["clients"])?;
        Ok(names(
            self.client
                .json(Method::GET, url, None, "client list")
                .await?,
        ))
    }

    /// One client (`GET /clients/NAME`).
    pub async fn get(&self, name: &str) -> Result<ApiClient> {
        let url = self.client.url(Scope::Org, &["clients", name])?;
        self.client.json(Method::GET, url, None, "client").await
    }

    /// Create a client (`POST /clients`) and return its new private key.
    ///
    /// ```no_run
    /// # async fn run(client: chef_client::Client) -> chef_client::Result<()> {
    /// use chef_client::CreateClient;
    /// let created = client.clients().create(&CreateClient::new("web1")).await?;
    /// let pem = created.private_key.expect("server generated a key");
    /// let web1 = chef_client::Client::builder(client.base_url().as_str(), "web1")
    ///     .key_pem(pem)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, req: &CreateClient) -> Result<ClientKey> {
        let url = self.client.url(Scope::Org, &["clients"])?;
        let body = Client::encode("client", req)?;
        let resp: KeyResponse = self
            .client
            .json(Method::POST, url, Some(body), "client creation")
            .await?;
        Ok(resp.into_key(&req.name))
    }

    /// Generate a new key pair for an existing client (`PUT /clients/NAME` with
    /// `private_key: true` (API v0) and `create_key: true` (API v1)); the old key stops
    /// working.
    pub async fn regenerate_key(&self, name: &str) -> Result<ClientKey> {
        let url = self.client.url(Scope::Org, &["clients", name])?;
        let body = Client::encode(
            "client key regeneration",
            &serde_json::json!({"name": name, "private_key": true, "create_key": true}),
        )?;
        let resp: KeyResponse = self
            .client
            .json(Method::PUT, url, Some(body), "client key regeneration")
            .await?;
        Ok(resp.into_key(name))
    }

    /// Delete a client (`DELETE /clients/NAME`).
    pub async fn delete(&self, name: &str) -> Result<()> {
        let url = self.client.url(Scope::Org, &["clients", name])?;
        self.client.execute(Method::DELETE, url, None).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ApiClient;

    #[test]
    fn client_object_with_both_name_fields_decodes() {
        // Chef Infra Server's GET /clients/NAME sends both.
        let c: ApiClient = serde_json::from_str(
            r#"{"name":"web01","clientname":"web01","validator":false,"orgname":"acme",
                "json_class":"Chef::ApiClient","chef_type":"client"}"#,
        )
        .unwrap();
        assert_eq!(c.name, "web01");
        assert_eq!(c.orgname.as_deref(), Some("acme"));
        let only_clientname: ApiClient =
            serde_json::from_str(r#"{"clientname":"db01","admin":true}"#).unwrap();
        assert_eq!(only_clientname.name, "db01");
        assert!(only_clientname.admin);
        let err = serde_json::from_str::<ApiClient>(r#"{"validator":true}"#).unwrap_err();
        assert!(err.to_string().contains("clientname"), "{err}");
    }
}

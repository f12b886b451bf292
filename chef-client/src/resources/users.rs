//! Users (`/users`): a global endpoint, resolved against the server root, not the
//! organization.

use reqwest::Method;
use serde::Deserialize;

use super::names;
use crate::client::{Client, Scope};
use crate::error::Result;

/// A user, as `GET /users/NAME` returns it (field sets differ between servers).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct User {
    /// Login name (`username` on Chef Infra Server, `name` on Chef 11/goiardi).
    #[serde(alias = "name")]
    pub username: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Admin flag (Chef 11 and goiardi).
    #[serde(default)]
    pub admin: bool,
    /// Public key, when returned.
    #[serde(default)]
    pub public_key: Option<String>,
}

/// Handler for `/users`. Get one with [`Client::users`].
#[derive(Debug, Clone, Copy)]
pub struct Users<'c> {
    client: &'c Client,
}

impl<'c> Users<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// All user names (`GET /users` on the server root), sorted.
    pub async fn list(&self) -> Result<Vec<String>> {
        let url = self.client.url(Scope::Root, &["users"])?;
        Ok(names(
            self.client
                .json(Method::GET, url, None, "user list")
                .await?,
        ))
    }

    /// One user (`GET /users/NAME` on the server root).
    pub async fn get(&self, name: &str) -> Result<User> {
        let url = self.client.url(Scope::Root, &["users", name])?;
        self.client.json(Method::GET, url, None, "user").await
    }
}

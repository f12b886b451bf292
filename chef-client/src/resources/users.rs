//! Users (`/users`): a global endpoint, resolved against the server root, not the
//! organization.

use reqwest::Method;
use serde::Deserialize;

use super::names;
use crate::client::{Client, Scope};
use crate::error::Result;

/// A user, as `GET /users/NAME` returns it (field sets differ between servers).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawUser")]
pub struct User {
    /// Login name (`username` on Chef Infra Server, `name` on Chef 11/goiardi; a server
    /// that sends both is read too, `username` first).
    pub username: String,
    /// Display name.
    pub display_name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Admin flag (Chef 11 and goiardi).
    pub admin: bool,
    /// Public key, when returned.
    pub public_key: Option<String>,
}

/// The wire shape: `username`, `name` or both (a serde alias refused both as a duplicate).
#[derive(Deserialize)]
struct RawUser {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    admin: bool,
    #[serde(default)]
    public_key: Option<String>,
}

impl TryFrom<RawUser> for User {
    type Error = &'static str;
    fn try_from(raw: RawUser) -> std::result::Result<Self, Self::Error> {
        Ok(User {
            username: raw
                .username
                .or(raw.name)
                .ok_or("a user object without `username` or `name`")?,
            display_name: raw.display_name,
            email: raw.email,
            admin: raw.admin,
            public_key: raw.public_key,
        })
    }
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

//! Roles (`/roles`).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::names;
use crate::client::{Client, Scope};
use crate::error::Result;

/// A role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// Role name.
    pub name: String,
    /// Free text.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub description: String,
    /// Run list used in every environment without its own entry.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub run_list: Vec<String>,
    /// Per-environment run lists.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub env_run_lists: BTreeMap<String, Vec<String>>,
    /// Default attributes.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub default_attributes: Map<String, Value>,
    /// Override attributes.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub override_attributes: Map<String, Value>,
    /// Always `Chef::Role`.
    #[serde(
        default = "role_json_class",
        deserialize_with = "role_json_class_or_null"
    )]
    pub json_class: String,
    /// Always `role`.
    #[serde(
        default = "role_chef_type",
        deserialize_with = "role_chef_type_or_null"
    )]
    pub chef_type: String,
}

fn role_json_class() -> String {
    "Chef::Role".to_owned()
}
fn role_chef_type() -> String {
    "role".to_owned()
}

impl Role {
    /// An empty role.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: String::new(),
            run_list: Vec::new(),
            env_run_lists: BTreeMap::new(),
            default_attributes: Map::new(),
            override_attributes: Map::new(),
            json_class: role_json_class(),
            chef_type: role_chef_type(),
        }
    }
}

/// Handler for `/roles`. Get one with [`Client::roles`].
#[derive(Debug, Clone, Copy)]
pub struct Roles<'c> {
    client: &'c Client,
}

impl<'c> Roles<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// All role names (`GET /roles`), sorted.
    pub async fn list(&self) -> Result<Vec<String>> {
        let url = self.client.url(Scope::Org, &["roles"])?;
        Ok(names(
            self.client
                .json(Method::GET, url, None, "role list")
                .await?,
        ))
    }

    /// One role (`GET /roles/NAME`).
    pub async fn get(&self, name: &str) -> Result<Role> {
        let url = self.client.url(Scope::Org, &["roles", name])?;
        self.client.json(Method::GET, url, None, "role").await
    }

    /// Create a role (`POST /roles`).
    pub async fn create(&self, role: &Role) -> Result<()> {
        let url = self.client.url(Scope::Org, &["roles"])?;
        let body = Client::encode("role", role)?;
        self.client.execute(Method::POST, url, Some(body)).await?;
        Ok(())
    }

    /// Replace a role (`PUT /roles/NAME`); returns the stored role.
    pub async fn update(&self, role: &Role) -> Result<Role> {
        let url = self.client.url(Scope::Org, &["roles", &role.name])?;
        let body = Client::encode("role", role)?;
        self.client.json(Method::PUT, url, Some(body), "role").await
    }

    /// Delete a role (`DELETE /roles/NAME`).
    pub async fn delete(&self, name: &str) -> Result<()> {
        let url = self.client.url(Scope::Org, &["roles", name])?;
        self.client.execute(Method::DELETE, url, None).await?;
        Ok(())
    }
}

crate::resources::null_or!(role_json_class_or_null, role_json_class, String);
crate::resources::null_or!(role_chef_type_or_null, role_chef_type, String);

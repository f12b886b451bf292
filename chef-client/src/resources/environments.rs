//! Environments (`/environments`).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::names;
use crate::client::{Client, Scope};
use crate::error::Result;

/// An environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Environment name.
    pub name: String,
    /// Free text.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub description: String,
    /// Cookbook version constraints (`"apache2": "~> 1.2"`).
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub cookbook_versions: BTreeMap<String, String>,
    /// Default attributes.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub default_attributes: Map<String, Value>,
    /// Override attributes.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub override_attributes: Map<String, Value>,
    /// Always `Chef::Environment`.
    #[serde(
        default = "env_json_class",
        deserialize_with = "env_json_class_or_null"
    )]
    pub json_class: String,
    /// Always `environment`.
    #[serde(default = "env_chef_type", deserialize_with = "env_chef_type_or_null")]
    pub chef_type: String,
}

fn env_json_class() -> String {
    "Chef::Environment".to_owned()
}
fn env_chef_type() -> String {
    "environment".to_owned()
}

impl Environment {
    /// An empty environment.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: String::new(),
            cookbook_versions: BTreeMap::new(),
            default_attributes: Map::new(),
            override_attributes: Map::new(),
            json_class: env_json_class(),
            chef_type: env_chef_type(),
        }
    }
}

/// Handler for `/environments`. Get one with [`Client::environments`].
#[derive(Debug, Clone, Copy)]
pub struct Environments<'c> {
    client: &'c Client,
}

impl<'c> Environments<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// All environment names (`GET /environments`), sorted; includes `_default`.
    pub async fn list(&self) -> Result<Vec<String>> {
        let url = self.client.url(Scope::Org, &["environments"])?;
        Ok(names(
            self.client
                .json(Method::GET, url, None, "environment list")
                .await?,
        ))
    }

    /// One environment (`GET /environments/NAME`).
    pub async fn get(&self, name: &str) -> Result<Environment> {
        let url = self.client.url(Scope::Org, &["environments", name])?;
        self.client
            .json(Method::GET, url, None, "environment")
            .await
    }

    /// Create an environment (`POST /environments`).
    pub async fn create(&self, env: &Environment) -> Result<()> {
        let url = self.client.url(Scope::Org, &["environments"])?;
        let body = Client::encode("environment", env)?;
        self.client.execute(Method::POST, url, Some(body)).await?;
        Ok(())
    }

    /// Replace an environment (`PUT /environments/NAME`); `_default` cannot be changed.
    pub async fn update(&self, env: &Environment) -> Result<Environment> {
        let url = self.client.url(Scope::Org, &["environments", &env.name])?;
        let body = Client::encode("environment", env)?;
        self.client
            .json(Method::PUT, url, Some(body), "environment")
            .await
    }

    /// Delete an environment (`DELETE /environments/NAME`).
    pub async fn delete(&self, name: &str) -> Result<()> {
        let url = self.client.url(Scope::Org, &["environments", name])?;
        self.client.execute(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// Names of the nodes in an environment (`GET /environments/NAME/nodes`), sorted.
    pub async fn nodes(&self, name: &str) -> Result<Vec<String>> {
        let url = self
            .client
            .url(Scope::Org, &["environments", name, "nodes"])?;
        Ok(names(
            self.client
                .json(Method::GET, url, None, "environment node list")
                .await?,
        ))
    }
}

crate::resources::null_or!(env_json_class_or_null, env_json_class, String);
crate::resources::null_or!(env_chef_type_or_null, env_chef_type, String);

//! Data bags and data bag items (`/data`).

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::names;
use crate::client::{Client, Scope};
use crate::error::{Error, Result};

/// Handler for `/data`. Get one with [`Client::data_bags`].
///
/// Items are any JSON object with a string `id`; use your own serde types or
/// [`serde_json::Value`]. Servers add `chef_type`/`data_bag` to some answers, so item types
/// should not deny unknown fields.
#[derive(Debug, Clone, Copy)]
pub struct DataBags<'c> {
    client: &'c Client,
}

impl<'c> DataBags<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// All data bag names (`GET /data`), sorted.
    pub async fn list(&self) -> Result<Vec<String>> {
        let url = self.client.url(Scope::Org, &["data"])?;
        Ok(names(
            self.client
                .json(Method::GET, url, None, "data bag list")
                .await?,
        ))
    }

    /// Create an empty data bag (`POST /data`).
    pub async fn create(&self, bag: &str) -> Result<()> {
        let url = self.client.url(Scope::Org, &["data"])?;
        let body = Client::encode("data bag", &serde_json::json!({ "name": bag }))?;
        self.client.execute(Method::POST, url, Some(body)).await?;
        Ok(())
    }

    /// Delete a data bag and all its items (`DELETE /data/BAG`).
    pub async fn delete(&self, bag: &str) -> Result<()> {
        let url = self.client.url(Scope::Org, &["data", bag])?;
        self.client.execute(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// Item ids of a data bag (`GET /data/BAG`), sorted.
    pub async fn items(&self, bag: &str) -> Result<Vec<String>> {
        let url = self.client.url(Scope::Org, &["data", bag])?;
        Ok(names(
            self.client
                .json(Method::GET, url, None, "data bag item list")
                .await?,
        ))
    }

    /// One item (`GET /data/BAG/ID`).
    pub async fn get_item<T: DeserializeOwned>(&self, bag: &str, id: &str) -> Result<T> {
        let url = self.client.url(Scope::Org, &["data", bag, id])?;
        self.client
            .json(Method::GET, url, None, "data bag item")
            .await
    }

    /// Create an item (`POST /data/BAG`); the item must have a string `id`.
    pub async fn create_item<T: Serialize + ?Sized>(&self, bag: &str, item: &T) -> Result<()> {
        let body = Client::encode("data bag item", item)?;
        item_id(&body)?;
        let url = self.client.url(Scope::Org, &["data", bag])?;
        self.client.execute(Method::POST, url, Some(body)).await?;
        Ok(())
    }

    /// Replace an item (`PUT /data/BAG/ID`, the id taken from the item).
    pub async fn update_item<T: Serialize + ?Sized>(&self, bag: &str, item: &T) -> Result<()> {
        let body = Client::encode("data bag item", item)?;
        let id = item_id(&body)?;
        let url = self.client.url(Scope::Org, &["data", bag, &id])?;
        self.client.execute(Method::PUT, url, Some(body)).await?;
        Ok(())
    }

    /// Delete an item (`DELETE /data/BAG/ID`).
    pub async fn delete_item(&self, bag: &str, id: &str) -> Result<()> {
        let url = self.client.url(Scope::Org, &["data", bag, id])?;
        self.client.execute(Method::DELETE, url, None).await?;
        Ok(())
    }
}

fn item_id(body: &[u8]) -> Result<String> {
    let v: Value = serde_json::from_slice(body).map_err(|source| Error::Encode {
        what: "data bag item",
        source,
    })?;
    match v.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        _ => Err(Error::InvalidRequest(
            "a data bag item must be a JSON object with a non-empty string `id`".into(),
        )),
    }
}

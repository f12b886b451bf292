//! Cookbooks and their versions (`/cookbooks`).
//!
//! Listing only, plus a metadata-only upload: uploading a cookbook's files needs the
//! sandbox and checksum endpoints, which this crate does not cover (use `knife cookbook
//! upload` or `knife upload`).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{Client, Scope};
use crate::error::{Error, Result};

/// How many versions per cookbook a listing returns (the `num_versions` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumVersions {
    /// The server's default: the latest version only (`GET /cookbooks` without the
    /// parameter).
    #[default]
    Default,
    /// The `n` latest versions (`num_versions=n`; `0` lists names with no versions).
    Latest(u32),
    /// Every version (`num_versions=all`).
    All,
}

impl NumVersions {
    fn query(self) -> Option<String> {
        match self {
            NumVersions::Default => None,
            NumVersions::Latest(n) => Some(n.to_string()),
            NumVersions::All => Some("all".to_owned()),
        }
    }
}

/// One version of a cookbook in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CookbookVersionRef {
    /// The version, `MAJOR.MINOR.PATCH` (Chef also allows `MAJOR.MINOR`).
    pub version: String,
    /// Where the full version document is (`…/cookbooks/NAME/VERSION`).
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub url: String,
}

/// A cookbook and its versions, newest first as the server lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookbook {
    /// Cookbook name.
    pub name: String,
    /// `…/cookbooks/NAME`.
    pub url: String,
    /// The versions the listing asked for ([`NumVersions`]).
    pub versions: Vec<CookbookVersionRef>,
}

/// The documented answer of both listings: `{"NAME": {"url": …, "versions": [{"url": …,
/// "version": "1.2.3"}]}}`.
#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    url: String,
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    versions: Vec<CookbookVersionRef>,
}

fn cookbooks(map: BTreeMap<String, Entry>) -> Vec<Cookbook> {
    map.into_iter()
        .map(|(name, e)| Cookbook {
            name,
            url: e.url,
            versions: e.versions,
        })
        .collect()
}

/// Handler for `/cookbooks`. Get one with [`Client::cookbooks`].
#[derive(Debug, Clone, Copy)]
pub struct Cookbooks<'c> {
    client: &'c Client,
}

impl<'c> Cookbooks<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Every cookbook with its latest version(s) (`GET /cookbooks[?num_versions=…]`),
    /// sorted by name.
    ///
    /// ```no_run
    /// # async fn run(client: &chef_client::Client) -> chef_client::Result<()> {
    /// use chef_client::NumVersions;
    /// for cb in client.cookbooks().list(NumVersions::All).await? {
    ///     let versions: Vec<&str> = cb.versions.iter().map(|v| v.version.as_str()).collect();
    ///     println!("{}: {}", cb.name, versions.join(", "));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, num_versions: NumVersions) -> Result<Vec<Cookbook>> {
        let mut url = self.client.url(Scope::Org, &["cookbooks"])?;
        if let Some(n) = num_versions.query() {
            url.query_pairs_mut().append_pair("num_versions", &n);
        }
        let map: BTreeMap<String, Entry> = self
            .client
            .json(Method::GET, url, None, "cookbook list")
            .await?;
        Ok(cookbooks(map))
    }

    /// One cookbook's versions (`GET /cookbooks/NAME[?num_versions=…]`; Chef Infra Server
    /// lists every version unless told otherwise). A missing cookbook is a 404
    /// ([`Error::is_not_found`]).
    pub async fn get(&self, name: &str, num_versions: NumVersions) -> Result<Cookbook> {
        let mut url = self.client.url(Scope::Org, &["cookbooks", name])?;
        if let Some(n) = num_versions.query() {
            url.query_pairs_mut().append_pair("num_versions", &n);
        }
        let map: BTreeMap<String, Entry> = self
            .client
            .json(Method::GET, url, None, "cookbook versions")
            .await?;
        // The answer is keyed by the cookbook's name; a server that keys it otherwise
        // still answered about this cookbook.
        let entry = match map.into_iter().next() {
            Some((_, e)) => e,
            None => Entry {
                url: String::new(),
                versions: Vec::new(),
            },
        };
        Ok(Cookbook {
            name: name.to_owned(),
            url: entry.url,
            versions: entry.versions,
        })
    }

    /// Uploads a cookbook version **without files** (`PUT /cookbooks/NAME/VERSION` with only
    /// the metadata): enough for the version to be listed and resolved, e.g. to stand in for
    /// a cookbook in tests. `version` must be `MAJOR.MINOR.PATCH` or `MAJOR.MINOR` (digits);
    /// anything else is refused before sending. The server's answer is returned as is.
    pub async fn put_metadata_only(&self, name: &str, version: &str) -> Result<Value> {
        let valid = {
            let parts: Vec<&str> = version.split('.').collect();
            (2..=3).contains(&parts.len())
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()))
        };
        if !valid {
            return Err(Error::InvalidRequest(format!(
                "invalid cookbook version {version:?}: expected MAJOR.MINOR.PATCH; nothing was sent"
            )));
        }
        let url = self.client.url(Scope::Org, &["cookbooks", name, version])?;
        let body = json!({
            "name": format!("{name}-{version}"),
            "cookbook_name": name,
            "version": version,
            "json_class": "Chef::CookbookVersion",
            "chef_type": "cookbook_version",
            "frozen?": false,
            "metadata": {
                "name": name,
                "version": version,
                "description": "",
                "long_description": "",
                "maintainer": "",
                "maintainer_email": "",
                "license": "",
                "platforms": {},
                "dependencies": {},
                "recipes": {},
                "attributes": {},
                "providing": {},
            },
        });
        let body = Client::encode("cookbook version", &body)?;
        self.client
            .json(Method::PUT, url, Some(body), "cookbook version upload")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_listing_shape_decodes() {
        let map: BTreeMap<String, Entry> = serde_json::from_value(json!({
            "apache2": {"url": "https://chef/organizations/o/cookbooks/apache2",
                        "versions": [{"url": "https://chef/organizations/o/cookbooks/apache2/5.1.0",
                                      "version": "5.1.0"},
                                     {"url": "https://chef/organizations/o/cookbooks/apache2/4.2.0",
                                      "version": "4.2.0"}]},
            "nginx": {"url": "https://chef/organizations/o/cookbooks/nginx", "versions": null},
        }))
        .unwrap();
        let list = cookbooks(map);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "apache2");
        assert_eq!(list[0].versions[0].version, "5.1.0");
        assert!(list[1].versions.is_empty());
    }
}

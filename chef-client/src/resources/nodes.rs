//! Nodes (`/nodes`).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{lookup, names, remove_path, set_path};
use crate::client::{Client, Scope};
use crate::error::Result;

/// A Chef node.
///
/// Attributes are kept as JSON objects at their four precedence levels; use
/// [`Node::attribute`] for the merged view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Node name.
    pub name: String,
    /// Environment (default `_default`).
    #[serde(
        default = "default_environment",
        deserialize_with = "default_environment_or_null"
    )]
    pub chef_environment: String,
    /// Run list (`recipe[x]`, `role[y]`).
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub run_list: Vec<String>,
    /// `normal` attributes (persisted, set by users and recipes).
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub normal: Map<String, Value>,
    /// `default` attributes.
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub default: Map<String, Value>,
    /// `override` attributes.
    #[serde(
        default,
        rename = "override",
        deserialize_with = "crate::resources::null_as_default"
    )]
    pub override_attributes: Map<String, Value>,
    /// `automatic` attributes (Ohai data: `ipaddress`, `fqdn`, `platform`…).
    #[serde(default, deserialize_with = "crate::resources::null_as_default")]
    pub automatic: Map<String, Value>,
    /// Policyfile name, when the node uses policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    /// Policy group, when the node uses policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_group: Option<String>,
    /// Always `Chef::Node`.
    #[serde(
        default = "node_json_class",
        deserialize_with = "node_json_class_or_null"
    )]
    pub json_class: String,
    /// Always `node`.
    #[serde(
        default = "node_chef_type",
        deserialize_with = "node_chef_type_or_null"
    )]
    pub chef_type: String,
}

fn default_environment() -> String {
    "_default".to_owned()
}
fn node_json_class() -> String {
    "Chef::Node".to_owned()
}
fn node_chef_type() -> String {
    "node".to_owned()
}

/// Normalise a run-list entry: a bare name `foo` means `recipe[foo]`.
pub fn run_list_item(item: &str) -> String {
    let item = item.trim();
    if item.ends_with(']') && (item.starts_with("recipe[") || item.starts_with("role[")) {
        item.to_owned()
    } else {
        format!("recipe[{item}]")
    }
}

impl Node {
    /// A new node in `_default` with an empty run list and no attributes.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            chef_environment: default_environment(),
            run_list: Vec::new(),
            normal: Map::new(),
            default: Map::new(),
            override_attributes: Map::new(),
            automatic: Map::new(),
            policy_name: None,
            policy_group: None,
            json_class: node_json_class(),
            chef_type: node_chef_type(),
        }
    }

    /// The effective value of an attribute path, with Chef's precedence
    /// (automatic, then override, then normal, then default). Nested objects are not
    /// deep-merged: the highest level holding the path wins.
    ///
    /// ```
    /// # use chef_client::Node;
    /// let mut node = Node::new("web1");
    /// node.set_normal(&["app", "port"], 8080.into());
    /// assert_eq!(node.attribute(&["app", "port"]), Some(&8080.into()));
    /// ```
    pub fn attribute(&self, path: &[&str]) -> Option<&Value> {
        [
            &self.automatic,
            &self.override_attributes,
            &self.normal,
            &self.default,
        ]
        .into_iter()
        .find_map(|level| lookup(level, path))
    }

    /// Set a `normal` attribute, creating intermediate objects.
    pub fn set_normal(&mut self, path: &[&str], value: Value) {
        set_path(&mut self.normal, path, value);
    }

    /// Remove a `normal` attribute; returns what was there.
    pub fn remove_normal(&mut self, path: &[&str]) -> Option<Value> {
        remove_path(&mut self.normal, path)
    }

    /// Append an entry (bare names become `recipe[name]`) unless present; returns whether the
    /// run list changed.
    pub fn add_to_run_list(&mut self, item: &str) -> bool {
        let item = run_list_item(item);
        if self.run_list.contains(&item) {
            false
        } else {
            self.run_list.push(item);
            true
        }
    }

    /// Remove an entry; returns whether the run list changed.
    pub fn remove_from_run_list(&mut self, item: &str) -> bool {
        let item = run_list_item(item);
        let before = self.run_list.len();
        self.run_list.retain(|i| *i != item);
        before != self.run_list.len()
    }
}

/// Handler for `/nodes`. Get one with [`Client::nodes`].
#[derive(Debug, Clone, Copy)]
pub struct Nodes<'c> {
    client: &'c Client,
}

impl<'c> Nodes<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// All node names (`GET /nodes`), sorted.
    ///
    /// ```no_run
    /// # async fn run(client: chef_client::Client) -> chef_client::Result<()> {
    /// for name in client.nodes().list().await? {
    ///     println!("{name}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self) -> Result<Vec<String>> {
        let url = self.client.url(Scope::Org, &["nodes"])?;
        Ok(names(
            self.client
                .json(Method::GET, url, None, "node list")
                .await?,
        ))
    }

    /// One node (`GET /nodes/NAME`).
    pub async fn get(&self, name: &str) -> Result<Node> {
        let url = self.client.url(Scope::Org, &["nodes", name])?;
        self.client.json(Method::GET, url, None, "node").await
    }

    /// Whether a node exists (`HEAD /nodes/NAME`).
    pub async fn exists(&self, name: &str) -> Result<bool> {
        self.client
            .exists(self.client.url(Scope::Org, &["nodes", name])?)
            .await
    }

    /// Create a node (`POST /nodes`). A duplicate fails with `is_conflict()`.
    pub async fn create(&self, node: &Node) -> Result<()> {
        let url = self.client.url(Scope::Org, &["nodes"])?;
        let body = Client::encode("node", node)?;
        self.client.execute(Method::POST, url, Some(body)).await?;
        Ok(())
    }

    /// Replace a node (`PUT /nodes/NAME`); returns the stored node.
    pub async fn update(&self, node: &Node) -> Result<Node> {
        let url = self.client.url(Scope::Org, &["nodes", &node.name])?;
        let body = Client::encode("node", node)?;
        self.client.json(Method::PUT, url, Some(body), "node").await
    }

    /// Delete a node (`DELETE /nodes/NAME`).
    pub async fn delete(&self, name: &str) -> Result<()> {
        let url = self.client.url(Scope::Org, &["nodes", name])?;
        self.client.execute(Method::DELETE, url, None).await?;
        Ok(())
    }

    /// Read-modify-write: fetch the node, apply `f`, and save it when `f` returns `true`.
    /// Returns the node as stored (or as read when nothing changed).
    pub async fn modify(&self, name: &str, f: impl FnOnce(&mut Node) -> bool) -> Result<Node> {
        let mut node = self.get(name).await?;
        if f(&mut node) {
            self.update(&node).await
        } else {
            Ok(node)
        }
    }

    /// Append run-list entries that are not present yet (one GET, and a PUT if needed).
    pub async fn add_to_run_list(&self, name: &str, items: &[&str]) -> Result<Node> {
        self.modify(name, |n| {
            items
                .iter()
                .fold(false, |changed, i| n.add_to_run_list(i) | changed)
        })
        .await
    }

    /// Remove run-list entries (one GET, and a PUT if needed).
    pub async fn remove_from_run_list(&self, name: &str, items: &[&str]) -> Result<Node> {
        self.modify(name, |n| {
            items
                .iter()
                .fold(false, |changed, i| n.remove_from_run_list(i) | changed)
        })
        .await
    }

    /// Set a `normal` attribute (one GET and one PUT).
    pub async fn set_attribute(&self, name: &str, path: &[&str], value: Value) -> Result<Node> {
        self.modify(name, |n| {
            if lookup(&n.normal, path) == Some(&value) {
                false
            } else {
                n.set_normal(path, value);
                true
            }
        })
        .await
    }
}

crate::resources::null_or!(default_environment_or_null, default_environment, String);
crate::resources::null_or!(node_json_class_or_null, node_json_class, String);
crate::resources::null_or!(node_chef_type_or_null, node_chef_type, String);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn precedence_and_run_list() {
        let mut n: Node = serde_json::from_value(json!({
            "name": "web1",
            "default": {"a": 1, "b": 1},
            "normal": {"a": 2},
            "override": {"c": 3},
            "automatic": {"ipaddress": "10.0.0.5", "c": 4},
            "unknown_field": true
        }))
        .unwrap();
        assert_eq!(n.chef_environment, "_default");
        assert_eq!(n.attribute(&["a"]), Some(&json!(2)));
        assert_eq!(n.attribute(&["b"]), Some(&json!(1)));
        assert_eq!(n.attribute(&["c"]), Some(&json!(4)));
        assert_eq!(n.attribute(&["ipaddress"]), Some(&json!("10.0.0.5")));
        assert!(n.add_to_run_list("base"));
        assert!(!n.add_to_run_list("recipe[base]"));
        assert!(n.add_to_run_list("role[web]"));
        assert_eq!(n.run_list, ["recipe[base]", "role[web]"]);
        assert!(n.remove_from_run_list("base"));
        assert!(!n.remove_from_run_list("base"));
        let v = serde_json::to_value(&n).unwrap();
        assert_eq!(v["override"], json!({"c": 3}));
        assert_eq!(v["json_class"], "Chef::Node");
        assert_eq!(v["chef_type"], "node");
        assert!(v.get("policy_name").is_none());
    }
}

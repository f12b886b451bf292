//! Projects: `/v2/projects`, the default project, and resources assigned by URN.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::pagination::Pager;
use crate::validate;

/// Longest project name the spec allows.
pub const MAX_PROJECT_NAME_LEN: usize = 175;
/// Longest project description or purpose the spec allows.
pub const MAX_PROJECT_TEXT_LEN: usize = 255;

/// A project: a group of resources.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Project {
    /// Project id (a UUID); `None` when the server left it out (the spec does not require
    /// it).
    #[serde(default)]
    pub id: Option<String>,
    /// Name (at most 175 characters).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
    /// Description (at most 255 characters).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub description: String,
    /// What it is for, e.g. `Web Application` (at most 255 characters).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub purpose: String,
    /// Development, staging or production, if set.
    #[serde(default)]
    pub environment: Option<ProjectEnvironment>,
    /// Whether new resources go here unless told otherwise.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub is_default: bool,
    /// The owner's UUID.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub owner_uuid: String,
    /// The owner's id.
    #[serde(default)]
    pub owner_id: Option<u64>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update (RFC 3339).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A project's environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectEnvironment {
    /// `Development`.
    Development,
    /// `Staging`.
    Staging,
    /// `Production`.
    Production,
    /// An environment this crate does not know about (decoding only: refused when sent).
    #[serde(other)]
    Unknown,
}

/// A resource in a project, and how its assignment went.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ProjectResource {
    /// Its URN, e.g. `do:droplet:13457723`.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub urn: String,
    /// When it was assigned (RFC 3339).
    #[serde(default)]
    pub assigned_at: Option<String>,
    /// The outcome of the assignment for this resource.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub status: ProjectResourceStatus,
}

/// The outcome of assigning one resource to a project. An assignment answers 200 even when
/// some resources were not assigned: check each one.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProjectResourceStatus {
    /// In the project.
    Ok,
    /// Just assigned.
    Assigned,
    /// It was in the project already (a repeated assignment).
    AlreadyAssigned,
    /// No such resource.
    NotFound,
    /// The service owning the resource did not answer: try again.
    ServiceDown,
    /// A status this crate does not know about, or none given.
    #[default]
    #[serde(other)]
    Unknown,
}

impl ProjectResourceStatus {
    /// True when the resource is in the project (`ok`, `assigned`, `already_assigned`).
    pub fn is_in_project(self) -> bool {
        matches!(self, Self::Ok | Self::Assigned | Self::AlreadyAssigned)
    }
}

/// `POST /v2/projects` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateProject {
    /// Name, 1 to 175 characters.
    pub name: String,
    /// What it is for, 1 to 255 characters.
    pub purpose: String,
    /// Description, at most 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<ProjectEnvironment>,
}

impl CreateProject {
    /// A project called `name` for `purpose`.
    pub fn new(name: impl Into<String>, purpose: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            purpose: purpose.into(),
            description: None,
            environment: None,
        }
    }

    fn validate(&self) -> Result<()> {
        texts(&self.name, &self.purpose, self.description.as_deref())?;
        environment(self.environment)
    }
}

/// `PUT /v2/projects/{id}` (and `/default`) body: every field, replacing the project's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateProject {
    /// Name, 1 to 175 characters.
    pub name: String,
    /// Description, at most 255 characters.
    pub description: String,
    /// What it is for, 1 to 255 characters.
    pub purpose: String,
    /// Environment.
    pub environment: ProjectEnvironment,
    /// Make it the default project.
    pub is_default: bool,
}

impl UpdateProject {
    fn validate(&self) -> Result<()> {
        texts(&self.name, &self.purpose, Some(&self.description))?;
        environment(Some(self.environment))
    }
}

fn texts(name: &str, purpose: &str, description: Option<&str>) -> Result<()> {
    validate::non_empty("name", name)?;
    validate::max_len("name", name, MAX_PROJECT_NAME_LEN)?;
    validate::non_empty("purpose", purpose)?;
    validate::max_len("purpose", purpose, MAX_PROJECT_TEXT_LEN)?;
    match description {
        Some(d) => validate::max_len("description", d, MAX_PROJECT_TEXT_LEN),
        None => Ok(()),
    }
}

fn environment(env: Option<ProjectEnvironment>) -> Result<()> {
    if env == Some(ProjectEnvironment::Unknown) {
        return Err(Error::InvalidInput {
            field: "environment",
            reason: "must be Development, Staging or Production".to_owned(),
        });
    }
    Ok(())
}

/// The resource kinds the spec's URN pattern allows:
/// `do:(dbaas|domain|droplet|floatingip|loadbalancer|space|volume|kubernetes|vpc):…`.
const URN_KINDS: &[&str] = &[
    "dbaas",
    "domain",
    "droplet",
    "floatingip",
    "loadbalancer",
    "space",
    "volume",
    "kubernetes",
    "vpc",
];

fn urn(value: &str) -> Result<()> {
    let ok = value
        .strip_prefix("do:")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(kind, id)| URN_KINDS.contains(&kind) && !id.trim().is_empty());
    if ok {
        return Ok(());
    }
    Err(Error::InvalidInput {
        field: "resources",
        reason: format!(
            "{value:?} is not a resource URN `do:<kind>:<id>` with kind one of {}",
            URN_KINDS.join(", ")
        ),
    })
}

/// The URN of a droplet: `do:droplet:<id>`.
pub fn droplet_urn(id: u64) -> String {
    format!("do:droplet:{id}")
}

/// The URN of a volume: `do:volume:<id>`.
pub fn volume_urn(id: &str) -> String {
    format!("do:volume:{id}")
}

/// The URN of a reserved IP: `do:floatingip:<ip>` (the kind the spec's URN pattern has for
/// reserved IPs, under their former name).
pub fn reserved_ip_urn(ip: &str) -> String {
    format!("do:floatingip:{ip}")
}

/// The URN of a load balancer: `do:loadbalancer:<id>`.
pub fn load_balancer_urn(id: &str) -> String {
    format!("do:loadbalancer:{id}")
}

/// The URN of a domain: `do:domain:<name>`.
pub fn domain_urn(name: &str) -> String {
    format!("do:domain:{name}")
}

#[derive(Serialize)]
struct AssignBody<'a> {
    resources: &'a [String],
}

#[derive(Deserialize)]
struct ProjectEnvelope {
    project: Project,
}

#[derive(Deserialize)]
struct ResourcesEnvelope {
    #[serde(default, deserialize_with = "super::null_as_default")]
    resources: Vec<ProjectResource>,
}

impl Client {
    /// Projects: CRUD, the default project, and assigning resources by URN.
    pub fn projects(&self) -> Projects<'_> {
        Projects { client: self }
    }
}

/// Handler for `/v2/projects`; see [`Client::projects`].
///
/// Names (≤ 175), purposes and descriptions (≤ 255), environments, UUIDs and URNs (the
/// spec's pattern) are checked before sending. `"default"` addresses the default project
/// through the `*_default` methods.
///
/// ```no_run
/// use digitalocean_client::{Client, CreateProject, ProjectEnvironment, droplet_urn, reserved_ip_urn};
///
/// # async fn demo(client: Client) -> digitalocean_client::Result<()> {
/// let mut req = CreateProject::new("web", "Web Application");
/// req.environment = Some(ProjectEnvironment::Production);
/// let project = client.projects().create(&req).await?;
/// let id = project.id.unwrap_or_default();
/// let urns = [droplet_urn(3164444), reserved_ip_urn("45.55.96.47")];
/// for r in client.projects().assign_resources(&id, &urns).await? {
///     assert!(r.status.is_in_project(), "{} not assigned: {:?}", r.urn, r.status);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Projects<'c> {
    client: &'c Client,
}

impl<'c> Projects<'c> {
    /// `/v2/projects/{id}[/sub]`; `id` is a UUID or (for the `*_default` methods) `default`.
    fn url(&self, id: &str, sub: Option<&str>) -> Result<url::Url> {
        if id != "default" {
            validate::uuid("project_id", id)?;
        }
        match sub {
            Some(sub) => self.client.url(&["v2", "projects", id, sub], &[]),
            None => self.client.url(&["v2", "projects", id], &[]),
        }
    }

    async fn get_at(&self, id: &str) -> Result<Project> {
        let url = self.url(id, None)?;
        let env: ProjectEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "project")
            .await?;
        Ok(env.project)
    }

    async fn update_at(&self, id: &str, req: &UpdateProject) -> Result<Project> {
        req.validate()?;
        let url = self.url(id, None)?;
        let env: ProjectEnvelope = self
            .client
            .send(Method::PUT, url, Some(req), "project update")
            .await?;
        Ok(env.project)
    }

    async fn assign_at(&self, id: &str, urns: &[String]) -> Result<Vec<ProjectResource>> {
        if urns.is_empty() {
            return Err(Error::InvalidInput {
                field: "resources",
                reason: "at least one resource URN is required".to_owned(),
            });
        }
        urns.iter().try_for_each(|u| urn(u))?;
        let url = self.url(id, Some("resources"))?;
        let env: ResourcesEnvelope = self
            .client
            .send(
                Method::POST,
                url,
                Some(&AssignBody { resources: urns }),
                "project assign resources",
            )
            .await?;
        Ok(env.resources)
    }

    fn resources_at(&self, id: &str) -> Pager<'c, ProjectResource> {
        let url = self.url(id, Some("resources"));
        Pager::new(self.client, "resources", "project resource list", url)
    }

    /// `GET /v2/projects`, every page.
    pub fn list(&self) -> Pager<'c, Project> {
        let url = self.client.url(&["v2", "projects"], &[]);
        Pager::new(self.client, "projects", "project list", url)
    }

    /// `GET /v2/projects/{id}`.
    pub async fn get(&self, id: &str) -> Result<Project> {
        validate::uuid("project_id", id)?;
        self.get_at(id).await
    }

    /// `GET /v2/projects/default`.
    pub async fn get_default(&self) -> Result<Project> {
        self.get_at("default").await
    }

    /// `POST /v2/projects` (201).
    ///
    /// # Retries
    /// Not safe to repeat: never retried after a 5xx or a timeout. After such an error
    /// ([`Error::is_ambiguous`]), look for the name in [`Projects::list`] and adopt it.
    pub async fn create(&self, req: &CreateProject) -> Result<Project> {
        req.validate()?;
        let url = self.client.url(&["v2", "projects"], &[])?;
        let env: ProjectEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "project create")
            .await?;
        Ok(env.project)
    }

    /// `PUT /v2/projects/{id}`: replace every field.
    ///
    /// # Retries
    /// Safe to repeat (a replacement): retried after a 5xx or a timeout.
    pub async fn update(&self, id: &str, req: &UpdateProject) -> Result<Project> {
        validate::uuid("project_id", id)?;
        self.update_at(id, req).await
    }

    /// `PUT /v2/projects/default`: replace every field of the default project.
    ///
    /// # Retries
    /// Safe to repeat (a replacement): retried after a 5xx or a timeout.
    pub async fn update_default(&self, req: &UpdateProject) -> Result<Project> {
        self.update_at("default", req).await
    }

    /// `DELETE /v2/projects/{id}` (204). DigitalOcean refuses (412) while it has
    /// resources or is the default project.
    ///
    /// # Retries
    /// Safe to repeat: retried after a 5xx or a timeout; once gone, a repeat answers 404.
    pub async fn delete(&self, id: &str) -> Result<()> {
        validate::uuid("project_id", id)?;
        let url = self.url(id, None)?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "project delete")
            .await
    }

    /// `GET /v2/projects/{id}/resources`, every page.
    pub fn list_resources(&self, id: &str) -> Pager<'c, ProjectResource> {
        if let Err(e) = validate::uuid("project_id", id) {
            return Pager::new(self.client, "resources", "project resource list", Err(e));
        }
        self.resources_at(id)
    }

    /// `GET /v2/projects/default/resources`, every page.
    pub fn list_default_resources(&self) -> Pager<'c, ProjectResource> {
        self.resources_at("default")
    }

    /// `POST /v2/projects/{id}/resources` (200): move resources (by URN, e.g.
    /// [`droplet_urn`]) into the project. The answer has one entry per resource with its
    /// [`ProjectResourceStatus`]: a 200 does not mean every one was assigned.
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`), but safe to repeat: a resource
    /// already in the project comes back `already_assigned`.
    pub async fn assign_resources(
        &self,
        id: &str,
        urns: &[String],
    ) -> Result<Vec<ProjectResource>> {
        validate::uuid("project_id", id)?;
        self.assign_at(id, urns).await
    }

    /// `POST /v2/projects/default/resources` (200): move resources into the default
    /// project. See [`Projects::assign_resources`].
    ///
    /// # Retries
    /// Never retried after a 5xx or a timeout (a `POST`), but safe to repeat.
    pub async fn assign_default_resources(&self, urns: &[String]) -> Result<Vec<ProjectResource>> {
        self.assign_at("default", urns).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns_follow_the_spec_pattern() {
        for ok in [
            droplet_urn(1),
            volume_urn("506f78a4-e098-11e5-ad9f-000f53306ae1"),
            reserved_ip_urn("45.55.96.47"),
            load_balancer_urn("4de7ac8b-495b-4884-9a69-1050c6793cd6"),
            domain_urn("example.com"),
            "do:vpc:5a4981aa".to_owned(),
        ] {
            urn(&ok).unwrap();
        }
        for bad in [
            "",
            "droplet:1",
            "do:droplet:",
            "do:server:1",
            "do:droplet",
            "DO:droplet:1",
        ] {
            assert!(urn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_are_checked() {
        CreateProject::new("web", "Web Application")
            .validate()
            .unwrap();
        assert!(CreateProject::new("", "x").validate().is_err());
        assert!(CreateProject::new("x", "").validate().is_err());
        assert!(CreateProject::new("x".repeat(176), "x").validate().is_err());
        let mut long = CreateProject::new("x", "x");
        long.description = Some("d".repeat(256));
        assert!(long.validate().is_err());
        let mut unknown = CreateProject::new("x", "x");
        unknown.environment = Some(ProjectEnvironment::Unknown);
        assert!(unknown.validate().is_err());
    }
}

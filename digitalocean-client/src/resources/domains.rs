use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::Result;
use crate::pagination::Pager;
use crate::validate;

/// A DNS zone hosted by DigitalOcean.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Domain {
    /// Zone name, e.g. `example.com`; `None` when the server left it out (the spec does
    /// not require it).
    #[serde(default)]
    pub name: Option<String>,
    /// Default TTL in seconds.
    #[serde(default)]
    pub ttl: Option<u64>,
    /// The whole zone file (only on get/list).
    #[serde(default)]
    pub zone_file: Option<String>,
}

/// `POST /v2/domains` body.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CreateDomain {
    /// Zone name.
    pub name: String,
    /// If set, an `A` record for the apex pointing at this address is created too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// One DNS record.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct DomainRecord {
    /// Record id; `None` when the server left it out (the spec does not require it), and
    /// then the record cannot be addressed by id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Record type: `A`, `AAAA`, `CAA`, `CNAME`, `MX`, `NS`, `SOA`, `SRV`, `TXT`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// Host name relative to the zone (`@` for the apex).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub name: String,
    /// Value (address, target host, text, …).
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub data: String,
    /// Priority (MX, SRV).
    #[serde(default)]
    pub priority: Option<u32>,
    /// Port (SRV).
    #[serde(default)]
    pub port: Option<u32>,
    /// TTL in seconds.
    #[serde(default)]
    pub ttl: Option<u32>,
    /// Weight (SRV).
    #[serde(default)]
    pub weight: Option<u32>,
    /// Flags (CAA).
    #[serde(default)]
    pub flags: Option<u32>,
    /// Tag (CAA: `issue`, `issuewild`, `iodef`).
    #[serde(default)]
    pub tag: Option<String>,
}

/// Body of a record create (`POST`) or full update (`PUT`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DomainRecordRequest {
    /// Record type, e.g. `A`.
    #[serde(rename = "type")]
    pub record_type: String,
    /// Host name relative to the zone (`@` for the apex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Priority (MX, SRV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Port (SRV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// TTL in seconds (minimum 30).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// Weight (SRV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Flags (CAA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u32>,
    /// Tag (CAA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

impl DomainRecordRequest {
    /// A record of `record_type` named `name` with value `data`.
    pub fn new(
        record_type: impl Into<String>,
        name: impl Into<String>,
        data: impl Into<String>,
    ) -> Self {
        Self {
            record_type: record_type.into(),
            name: Some(name.into()),
            data: Some(data.into()),
            ..Self::default()
        }
    }

    /// Set the TTL.
    pub fn ttl(mut self, ttl: u32) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Set the priority.
    pub fn priority(mut self, priority: u32) -> Self {
        self.priority = Some(priority);
        self
    }
}

/// Filters for [`DomainRecords::list_filtered`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// Only records of this type, e.g. `A`.
    pub record_type: Option<String>,
    /// Only records with this **fully qualified** name, e.g. `www.example.com`.
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct DomainEnvelope {
    domain: Domain,
}

#[derive(Deserialize)]
struct RecordEnvelope {
    domain_record: DomainRecord,
}

/// Handler for `/v2/domains`; see [`Client::domains`].
#[derive(Debug, Clone, Copy)]
pub struct Domains<'c> {
    client: &'c Client,
}

impl<'c> Domains<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// `GET /v2/domains`, every page.
    pub fn list(&self) -> Pager<'c, Domain> {
        let url = self.client.url(&["v2", "domains"], &[]);
        Pager::new(self.client, "domains", "domain list", url)
    }

    /// `GET /v2/domains/{name}`.
    pub async fn get(&self, name: &str) -> Result<Domain> {
        validate::non_empty("domain", name)?;
        let url = self.client.url(&["v2", "domains", name], &[])?;
        let env: DomainEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "domain")
            .await?;
        Ok(env.domain)
    }

    /// `POST /v2/domains` (201).
    pub async fn create(&self, req: &CreateDomain) -> Result<Domain> {
        validate::non_empty("domain", &req.name)?;
        let url = self.client.url(&["v2", "domains"], &[])?;
        let env: DomainEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "domain create")
            .await?;
        Ok(env.domain)
    }

    /// `DELETE /v2/domains/{name}` (204).
    pub async fn delete(&self, name: &str) -> Result<()> {
        validate::non_empty("domain", name)?;
        let url = self.client.url(&["v2", "domains", name], &[])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "domain delete")
            .await
    }
}

/// Handler for `/v2/domains/{domain}/records`; see [`Client::domain_records`].
#[derive(Debug, Clone)]
pub struct DomainRecords<'c> {
    client: &'c Client,
    domain: String,
}

impl<'c> DomainRecords<'c> {
    pub(crate) fn new(client: &'c Client, domain: &str) -> Self {
        Self {
            client,
            domain: domain.to_owned(),
        }
    }

    fn url(&self, id: Option<u64>, query: &[(&str, &str)]) -> Result<url::Url> {
        validate::non_empty("domain", &self.domain)?;
        match id {
            Some(id) => {
                validate::id("record_id", id)?;
                self.client.url(
                    &["v2", "domains", &self.domain, "records", &id.to_string()],
                    query,
                )
            }
            None => self
                .client
                .url(&["v2", "domains", &self.domain, "records"], query),
        }
    }

    /// `GET /v2/domains/{domain}/records`, every page.
    pub fn list(&self) -> Pager<'c, DomainRecord> {
        self.list_filtered(&RecordFilter::default())
    }

    /// `GET /v2/domains/{domain}/records?type=…&name=…`.
    pub fn list_filtered(&self, filter: &RecordFilter) -> Pager<'c, DomainRecord> {
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = &filter.record_type {
            query.push(("type", t));
        }
        if let Some(n) = &filter.name {
            query.push(("name", n));
        }
        let url = self.url(None, &query);
        Pager::new(self.client, "domain_records", "domain record list", url)
    }

    /// `GET /v2/domains/{domain}/records/{id}`.
    pub async fn get(&self, id: u64) -> Result<DomainRecord> {
        let url = self.url(Some(id), &[])?;
        let env: RecordEnvelope = self
            .client
            .send(Method::GET, url, None::<&()>, "domain record")
            .await?;
        Ok(env.domain_record)
    }

    /// `POST /v2/domains/{domain}/records` (201).
    pub async fn create(&self, req: &DomainRecordRequest) -> Result<DomainRecord> {
        validate::non_empty("type", &req.record_type)?;
        let url = self.url(None, &[])?;
        let env: RecordEnvelope = self
            .client
            .send(Method::POST, url, Some(req), "domain record create")
            .await?;
        Ok(env.domain_record)
    }

    /// `PUT /v2/domains/{domain}/records/{id}`: replace the record's fields.
    pub async fn update(&self, id: u64, req: &DomainRecordRequest) -> Result<DomainRecord> {
        validate::non_empty("type", &req.record_type)?;
        let url = self.url(Some(id), &[])?;
        let env: RecordEnvelope = self
            .client
            .send(Method::PUT, url, Some(req), "domain record update")
            .await?;
        Ok(env.domain_record)
    }

    /// `DELETE /v2/domains/{domain}/records/{id}` (204).
    pub async fn delete(&self, id: u64) -> Result<()> {
        let url = self.url(Some(id), &[])?;
        self.client
            .send_no_content(Method::DELETE, url, None::<&()>, "domain record delete")
            .await
    }
}

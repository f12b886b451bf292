//! [`Dns`] over `dynect-client` (Dyn Managed DNS).
//!
//! Dyn keeps record changes in a changeset **per session** until the zone is published. The
//! adapter holds one [`dynect_client::Client`], hence one session, for every call: the
//! records a batch creates and the single publish that follows them travel in the same
//! session. If that session expires in between, the client reports
//! [`dynect_client::Error::SessionExpiredWithPendingChanges`]; the adapter turns it into a
//! [`PortError`] of kind [`PortErrorKind::Other`] whose message says that the unpublished
//! record changes of the named zones were **lost** and must be redone before publishing (it is
//! not ambiguous: nothing of them reached the zone).
//!
//! Reads: records are listed with `GET /REST/AllRecord/<zone>[/<fqdn>]` and the A, AAAA and
//! CNAME ones fetched one by one for their data (other types are reported by type only, with
//! empty data). A record created in this session and not yet published has no id yet
//! (Dyn answers `record_id: 0`, which the client reads as no id); [`Dns::delete_record`]
//! then finds the record by zone, name, type and data after publishing.
//!
//! Error mapping: `NOT_FOUND` → [`PortErrorKind::NotFound`], `TARGET_EXISTS` →
//! `AlreadyExists`, rate limits → `RateLimited`, blocked zone / running job / 5xx / transport
//! failures / job and task deadlines → `Unavailable`, a failed login → `Unauthorized`, other
//! refusals and inputs refused before sending → `Rejected`. A failed write (record create,
//! delete, publish) is ambiguous after a transport failure other than a refused connection,
//! a 5xx, an undecodable 2xx, or a job/task that did not finish in time.

use std::net::{Ipv4Addr, Ipv6Addr};

use async_trait::async_trait;
use dynect_client as dyn_api;

use crate::ports::{
    Dns, DnsRecord, NewRecord, PortError, PortErrorKind, PortResult, ProviderError, Published,
    RecordType, Service,
};

/// Provider name used in [`PortError`]s and reports.
pub const PROVIDER: &str = "dyn";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Write,
}

impl ProviderError for dyn_api::Error {
    fn http_status(&self) -> Option<u16> {
        self.status().map(|s| s.as_u16())
    }
    fn retry_after(&self) -> Option<std::time::Duration> {
        dyn_api::Error::retry_after(self)
    }
    fn maybe_sent(&self) -> bool {
        use dyn_api::Error as E;
        match self {
            E::Transport(t) => !t.is_connect(),
            E::Decode { .. }
            | E::ResponseTooLarge { .. }
            | E::JobTimeout { .. }
            | E::TaskTimeout { .. } => true,
            _ => self.status().is_some_and(|s| s.is_server_error()),
        }
    }
    fn kind_hint(&self) -> Option<PortErrorKind> {
        use dyn_api::Error as E;
        Some(match self {
            E::SessionExpiredWithPendingChanges { .. } => PortErrorKind::Other,
            E::Login { .. } => PortErrorKind::Unauthorized,
            _ if self.is_not_found() => PortErrorKind::NotFound,
            _ if self.is_target_exists() => PortErrorKind::AlreadyExists,
            _ if self.is_rate_limited() => PortErrorKind::RateLimited,
            _ if self.is_blocked() || self.is_job_running() => PortErrorKind::Unavailable,
            E::Transport(_) | E::JobTimeout { .. } | E::TaskTimeout { .. } => {
                PortErrorKind::Unavailable
            }
            E::InvalidInput(_) | E::Config(_) => PortErrorKind::Rejected,
            // Dyn reports a failed call in its envelope, often with a 200.
            E::Api { .. } if self.status().is_none_or(|s| s.is_success()) => {
                PortErrorKind::Rejected
            }
            _ => return None,
        })
    }
}

/// Maps a Dyn client error (see [`PortError::from_provider`]). A session that expired with
/// unpublished changes says which zones lost them.
fn map_error(what: &str, op: Op, e: dyn_api::Error) -> PortError {
    let what = match &e {
        dyn_api::Error::SessionExpiredWithPendingChanges { zones, .. } => format!(
            "{what}: the Dyn session expired before publishing; the unpublished record changes \
             of zone(s) {} were lost and must be redone, then published",
            zones.join(", ")
        ),
        _ => what.to_owned(),
    };
    PortError::from_provider(Service::Dns, PROVIDER, what, op == Op::Write, e)
}

fn err(what: &str, op: Op) -> impl FnOnce(dyn_api::Error) -> PortError + '_ {
    move |e| map_error(what, op, e)
}

fn port_type(t: &str) -> RecordType {
    super::digitalocean::record_type(t)
}

fn rdata_text(d: &dyn_api::RecordData) -> String {
    match d {
        dyn_api::RecordData::A { address } => address.to_string(),
        dyn_api::RecordData::Aaaa { address } => address.to_string(),
        dyn_api::RecordData::Cname { cname } => cname.trim_end_matches('.').to_owned(),
        dyn_api::RecordData::Txt { txtdata } => txtdata.clone(),
        dyn_api::RecordData::Mx { exchange, .. } => exchange.clone(),
        dyn_api::RecordData::Srv { target, .. } => target.clone(),
        dyn_api::RecordData::Other { rdata, .. } => rdata.to_string(),
    }
}

fn port_record(r: &dyn_api::Record) -> DnsRecord {
    DnsRecord {
        zone: r.zone.clone(),
        fqdn: r.fqdn.clone(),
        rtype: r
            .record_type()
            .map_or(RecordType::Other(String::new()), |t| port_type(t.as_str())),
        data: rdata_text(&r.data),
        // `Some(0)` is the zone default, reported like no TTL; `None` (not sent) too.
        ttl: r.ttl.filter(|&t| t > 0),
        // No id: created in this session and not yet published, or not sent.
        id: r.record_id.map(|id| id.to_string()),
    }
}

fn client_type(t: &RecordType) -> Option<dyn_api::RecordType> {
    match t {
        RecordType::A => Some(dyn_api::RecordType::A),
        RecordType::AAAA => Some(dyn_api::RecordType::Aaaa),
        RecordType::CNAME => Some(dyn_api::RecordType::Cname),
        RecordType::Other(s) => s.parse().ok(),
    }
}

/// [`Dns`] over Dyn Managed DNS; changes go live on [`Dns::publish`].
#[derive(Debug, Clone)]
pub struct DynDns {
    client: dyn_api::Client,
}

impl DynDns {
    /// An adapter over `client`. Share one adapter (one session) between the hosts of a
    /// batch so their record changes and the zone publish use the same session.
    pub fn new(client: dyn_api::Client) -> Self {
        Self { client }
    }

    /// The client in use.
    pub fn client(&self) -> &dyn_api::Client {
        &self.client
    }

    async fn details(&self, refs: Vec<dyn_api::RecordRef>) -> PortResult<Vec<DnsRecord>> {
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            let typed = r.typed().filter(|t| {
                matches!(
                    t,
                    dyn_api::RecordType::A | dyn_api::RecordType::Aaaa | dyn_api::RecordType::Cname
                )
            });
            match typed {
                Some(t) if r.record_id > 0 => {
                    match self
                        .client
                        .records()
                        .get(t, &r.zone, &r.fqdn, r.record_id)
                        .await
                    {
                        Ok(rec) => out.push(port_record(&rec)),
                        // Deleted between the list and the get.
                        Err(e) if e.is_not_found() => {}
                        Err(e) => return Err(map_error("get record", Op::Read, e)),
                    }
                }
                _ => out.push(DnsRecord {
                    zone: r.zone.clone(),
                    fqdn: r.fqdn.clone(),
                    rtype: port_type(&r.record_type),
                    data: String::new(),
                    ttl: None,
                    id: (r.record_id > 0).then(|| r.record_id.to_string()),
                }),
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Dns for DynDns {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn needs_publish(&self) -> bool {
        true
    }

    async fn owns_zone(&self, zone: &str) -> PortResult<bool> {
        match self.client.zones().get(zone).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(map_error("get zone", Op::Read, e)),
        }
    }

    async fn records(&self, zone: &str, fqdn: Option<&str>) -> PortResult<Vec<DnsRecord>> {
        let listed = match fqdn {
            None => self.client.records().list_zone(zone).await,
            Some(f) => self.client.records().list_under(zone, f).await,
        };
        let refs = match listed {
            Ok(r) => r,
            // No such node: nothing there.
            Err(e) if e.is_not_found() && fqdn.is_some() => return Ok(Vec::new()),
            Err(e) => return Err(map_error("list records", Op::Read, e)),
        };
        let refs: Vec<_> = refs
            .into_iter()
            .filter(|r| fqdn.is_none_or(|f| r.fqdn.eq_ignore_ascii_case(f.trim_end_matches('.'))))
            .collect();
        self.details(refs).await
    }

    async fn create_record(&self, rec: &NewRecord) -> PortResult<DnsRecord> {
        let data = match rec.rtype {
            RecordType::A => dyn_api::RecordData::a(&rec.data),
            RecordType::AAAA => dyn_api::RecordData::aaaa(&rec.data),
            _ => {
                return Err(PortError::new(
                    Service::Dns,
                    PROVIDER,
                    PortErrorKind::Rejected,
                    format!("the workflows only write A/AAAA records, not {}", rec.rtype),
                ));
            }
        }
        .map_err(err("create record", Op::Read))?;
        let created = self
            .client
            .records()
            .create(&rec.zone, &rec.fqdn, &data, rec.ttl.unwrap_or(0))
            .await
            .map_err(err("create record", Op::Write))?;
        Ok(port_record(&created))
    }

    async fn delete_record(&self, rec: &DnsRecord) -> PortResult<()> {
        let Some(t) = client_type(&rec.rtype) else {
            return Err(PortError::new(
                Service::Dns,
                PROVIDER,
                PortErrorKind::Rejected,
                format!("unsupported record type {}", rec.rtype),
            ));
        };
        let id = match rec.id.as_deref().and_then(|i| i.parse::<u64>().ok()) {
            Some(id) if id > 0 => id,
            _ => {
                let found = self.records(&rec.zone, Some(&rec.fqdn)).await?;
                let wanted = normalize(&rec.rtype, &rec.data);
                let hit = found
                    .iter()
                    .find(|r| r.rtype == rec.rtype && normalize(&r.rtype, &r.data) == wanted)
                    .and_then(|r| r.id.as_deref())
                    .and_then(|i| i.parse::<u64>().ok());
                match hit {
                    Some(id) => id,
                    None => {
                        return Err(PortError::not_found(
                            Service::Dns,
                            PROVIDER,
                            format!("{} record {} → {}", rec.rtype, rec.fqdn, rec.data),
                        ));
                    }
                }
            }
        };
        self.client
            .records()
            .delete(t, &rec.zone, &rec.fqdn, id)
            .await
            .map_err(err("delete record", Op::Write))
    }

    async fn publish(&self, zone: &str, note: &str) -> PortResult<Published> {
        let p = self
            .client
            .zones()
            .publish(zone, Some(note))
            .await
            .map_err(err("publish zone", Op::Write))?;
        Ok(Published { serial: p.serial })
    }
}

/// Addresses compare by value (`2001:db8::1` = `2001:0db8:0:0::1`), names without the dot.
fn normalize(t: &RecordType, data: &str) -> String {
    match t {
        RecordType::A => data
            .parse::<Ipv4Addr>()
            .map_or_else(|_| data.to_owned(), |a| a.to_string()),
        RecordType::AAAA => data
            .parse::<Ipv6Addr>()
            .map_or_else(|_| data.to_owned(), |a| a.to_string()),
        _ => data.trim_end_matches('.').to_ascii_lowercase(),
    }
}

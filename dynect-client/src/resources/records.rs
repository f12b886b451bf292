//! Records: `/REST/<TYPE>Record/<zone>/<fqdn>/[<record_id>/]` and `/REST/AllRecord/<zone>/`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Call, Client};
use crate::envelope::lenient_u64;
use crate::error::{Error, Result};
use crate::validate;

/// The record types this crate models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    /// IPv4 address.
    A,
    /// IPv6 address.
    Aaaa,
    /// Canonical name.
    Cname,
    /// Text.
    Txt,
    /// Mail exchanger.
    Mx,
    /// Service locator.
    Srv,
}

impl RecordType {
    /// All modelled types.
    pub const ALL: [RecordType; 6] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Txt,
        RecordType::Mx,
        RecordType::Srv,
    ];

    /// The DNS mnemonic as Dyn writes it in `record_type`: `"A"`, `"AAAA"`, `"CNAME"`, …
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Txt => "TXT",
            RecordType::Mx => "MX",
            RecordType::Srv => "SRV",
        }
    }

    /// The REST resource name: `"ARecord"`, `"AAAARecord"`, …
    pub fn resource(self) -> &'static str {
        match self {
            RecordType::A => "ARecord",
            RecordType::Aaaa => "AAAARecord",
            RecordType::Cname => "CNAMERecord",
            RecordType::Txt => "TXTRecord",
            RecordType::Mx => "MXRecord",
            RecordType::Srv => "SRVRecord",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        RecordType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::InvalidInput(format!("unsupported record type {s:?}")))
    }
}

/// Typed record data (`rdata`). The address types make an IPv6 address in an A record (or
/// the reverse) impossible; use [`RecordData::a`]/[`RecordData::aaaa`] to parse text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// `{"address": "10.9.8.7"}`
    A {
        /// IPv4 address.
        address: Ipv4Addr,
    },
    /// `{"address": "2001:db8::1"}`
    Aaaa {
        /// IPv6 address (IPv4-mapped addresses are rejected).
        address: Ipv6Addr,
    },
    /// `{"cname": "target.example.com."}`
    Cname {
        /// Target host name (Dyn returns it with the trailing dot).
        cname: String,
    },
    /// `{"txtdata": "…"}`
    Txt {
        /// The text.
        txtdata: String,
    },
    /// `{"exchange": "mx.example.com.", "preference": 10}`
    Mx {
        /// Preference (lower wins).
        preference: u16,
        /// Mail server host name.
        exchange: String,
    },
    /// `{"priority": 10, "weight": 5, "port": 5060, "target": "sip.example.com."}`
    Srv {
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// Port.
        port: u16,
        /// Target host name.
        target: String,
    },
    /// A type this crate does not model (NS, SOA, … from zone-wide listings). Read only.
    Other {
        /// The `record_type` as sent.
        record_type: String,
        /// The raw `rdata`.
        rdata: serde_json::Value,
    },
}

impl RecordData {
    /// An A record from text; an IPv6 address is rejected.
    pub fn a(address: &str) -> Result<Self> {
        match address.trim().parse::<IpAddr>() {
            Ok(IpAddr::V4(address)) => Ok(RecordData::A { address }),
            Ok(IpAddr::V6(_)) => Err(Error::InvalidInput(format!(
                "{address:?} is an IPv6 address; use an AAAA record"
            ))),
            Err(_) => Err(Error::InvalidInput(format!(
                "{address:?} is not an IPv4 address"
            ))),
        }
    }

    /// An AAAA record from text; an IPv4 (or IPv4-mapped) address is rejected.
    pub fn aaaa(address: &str) -> Result<Self> {
        match address.trim().parse::<IpAddr>() {
            Ok(IpAddr::V6(address)) if address.to_ipv4_mapped().is_none() => {
                Ok(RecordData::Aaaa { address })
            }
            Ok(_) => Err(Error::InvalidInput(format!(
                "{address:?} is an IPv4 address; use an A record"
            ))),
            Err(_) => Err(Error::InvalidInput(format!(
                "{address:?} is not an IPv6 address"
            ))),
        }
    }

    /// The record type, `None` for [`RecordData::Other`].
    pub fn record_type(&self) -> Option<RecordType> {
        Some(match self {
            RecordData::A { .. } => RecordType::A,
            RecordData::Aaaa { .. } => RecordType::Aaaa,
            RecordData::Cname { .. } => RecordType::Cname,
            RecordData::Txt { .. } => RecordType::Txt,
            RecordData::Mx { .. } => RecordType::Mx,
            RecordData::Srv { .. } => RecordType::Srv,
            RecordData::Other { .. } => return None,
        })
    }

    /// Decode `rdata` for a `record_type` as the API sends them.
    pub fn from_wire(
        record_type: &str,
        rdata: serde_json::Value,
    ) -> std::result::Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Addr<T> {
            address: T,
        }
        #[derive(Deserialize)]
        struct Cname {
            cname: String,
        }
        #[derive(Deserialize)]
        struct Txt {
            txtdata: String,
        }
        #[derive(Deserialize)]
        struct Mx {
            #[serde(deserialize_with = "lenient_u16")]
            preference: u16,
            exchange: String,
        }
        #[derive(Deserialize)]
        struct Srv {
            #[serde(deserialize_with = "lenient_u16")]
            priority: u16,
            #[serde(deserialize_with = "lenient_u16")]
            weight: u16,
            #[serde(deserialize_with = "lenient_u16")]
            port: u16,
            target: String,
        }
        let Ok(t) = record_type.parse::<RecordType>() else {
            return Ok(RecordData::Other {
                record_type: record_type.to_owned(),
                rdata,
            });
        };
        Ok(match t {
            RecordType::A => {
                let a: Addr<Ipv4Addr> = serde_json::from_value(rdata)?;
                RecordData::A { address: a.address }
            }
            RecordType::Aaaa => {
                let a: Addr<Ipv6Addr> = serde_json::from_value(rdata)?;
                RecordData::Aaaa { address: a.address }
            }
            RecordType::Cname => {
                let c: Cname = serde_json::from_value(rdata)?;
                RecordData::Cname { cname: c.cname }
            }
            RecordType::Txt => {
                let c: Txt = serde_json::from_value(rdata)?;
                RecordData::Txt { txtdata: c.txtdata }
            }
            RecordType::Mx => {
                let m: Mx = serde_json::from_value(rdata)?;
                RecordData::Mx {
                    preference: m.preference,
                    exchange: m.exchange,
                }
            }
            RecordType::Srv => {
                let s: Srv = serde_json::from_value(rdata)?;
                RecordData::Srv {
                    priority: s.priority,
                    weight: s.weight,
                    port: s.port,
                    target: s.target,
                }
            }
        })
    }

    /// Check host names inside the data; returns the record type.
    fn validate(&self) -> Result<RecordType> {
        match self {
            RecordData::A { .. } | RecordData::Txt { .. } => {}
            RecordData::Aaaa { address } => {
                if address.to_ipv4_mapped().is_some() {
                    return Err(Error::InvalidInput(format!(
                        "{address} is an IPv4-mapped address; use an A record"
                    )));
                }
            }
            RecordData::Cname { cname } => {
                validate::dns_name("CNAME target", cname, false)?;
            }
            RecordData::Mx { exchange, .. } => {
                validate::dns_name("MX exchange", exchange, false)?;
            }
            RecordData::Srv { target, .. } => {
                if target != "." {
                    validate::dns_name("SRV target", target, false)?;
                }
            }
            RecordData::Other { record_type, .. } => {
                return Err(Error::InvalidInput(format!(
                    "record type {record_type:?} cannot be written with this client"
                )));
            }
        }
        self.record_type()
            .ok_or_else(|| Error::InvalidInput("unsupported record type".into()))
    }
}

fn lenient_u16<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u16, D::Error> {
    let n = lenient_u64(d)?;
    u16::try_from(n).map_err(|_| serde::de::Error::custom(format!("{n} does not fit in u16")))
}

/// The wire form of `rdata` for writes (field order as in the recorded exchanges).
#[derive(Serialize)]
#[serde(untagged)]
enum RdataOut<'a> {
    Addr {
        address: String,
    },
    Cname {
        cname: &'a str,
    },
    Txt {
        txtdata: &'a str,
    },
    Mx {
        exchange: &'a str,
        preference: u16,
    },
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: &'a str,
    },
}

impl<'a> RdataOut<'a> {
    fn from_data(d: &'a RecordData) -> Result<Self> {
        Ok(match d {
            RecordData::A { address } => RdataOut::Addr {
                address: address.to_string(),
            },
            RecordData::Aaaa { address } => RdataOut::Addr {
                address: address.to_string(),
            },
            RecordData::Cname { cname } => RdataOut::Cname { cname },
            RecordData::Txt { txtdata } => RdataOut::Txt { txtdata },
            RecordData::Mx {
                preference,
                exchange,
            } => RdataOut::Mx {
                exchange,
                preference: *preference,
            },
            RecordData::Srv {
                priority,
                weight,
                port,
                target,
            } => RdataOut::Srv {
                priority: *priority,
                weight: *weight,
                port: *port,
                target,
            },
            RecordData::Other { record_type, .. } => {
                return Err(Error::InvalidInput(format!(
                    "record type {record_type:?} cannot be written with this client"
                )));
            }
        })
    }
}

/// `{"rdata": {...}, "ttl": "3600"}`: the TTL goes as a string of seconds, `"0"` = zone default.
#[derive(Serialize)]
struct RecordBody<'a> {
    rdata: RdataOut<'a>,
    ttl: String,
}

/// One record as the API returns it. `ttl` is an integer in responses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawRecord")]
pub struct Record {
    /// Zone name.
    pub zone: String,
    /// Node name.
    pub fqdn: String,
    /// TTL in seconds (`Some(0)` = zone default); `None` when the answer carried no TTL
    /// (never read as the zone default).
    pub ttl: Option<u32>,
    /// Record id; **`None` for a record created in this session and not yet published**
    /// (Dyn answers `record_id: 0` then: the real id exists only after publishing, so list
    /// the node), and when the answer carried no id.
    pub record_id: Option<u64>,
    /// Typed `rdata`.
    pub data: RecordData,
}

impl Record {
    /// The record type (`None` for unmodelled types).
    pub fn record_type(&self) -> Option<RecordType> {
        self.data.record_type()
    }
}

#[derive(Deserialize)]
struct RawRecord {
    zone: String,
    fqdn: String,
    #[serde(default, deserialize_with = "crate::envelope::lenient_u32_opt")]
    ttl: Option<u32>,
    record_type: String,
    rdata: serde_json::Value,
    #[serde(default, deserialize_with = "crate::envelope::lenient_u64_opt")]
    record_id: Option<u64>,
}

impl TryFrom<RawRecord> for Record {
    type Error = serde_json::Error;
    fn try_from(r: RawRecord) -> std::result::Result<Self, Self::Error> {
        Ok(Record {
            data: RecordData::from_wire(&r.record_type, r.rdata)?,
            zone: r.zone,
            fqdn: r.fqdn,
            ttl: r.ttl,
            record_id: r.record_id.filter(|&id| id > 0),
        })
    }
}

/// A record reference parsed from a URI such as
/// `/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordRef {
    /// Record type as in the URI without `Record` (`"A"`, `"SOA"`, `"NS"`, …).
    pub record_type: String,
    /// Zone.
    pub zone: String,
    /// Node.
    pub fqdn: String,
    /// Record id.
    pub record_id: u64,
}

impl RecordRef {
    /// Parse a record URI; `None` if it is not one.
    pub fn parse(uri: &str) -> Option<Self> {
        let segs: Vec<&str> = uri.split('/').filter(|s| !s.is_empty()).collect();
        match segs.as_slice() {
            [.., "REST", kind, zone, fqdn, id] => Some(RecordRef {
                record_type: kind.strip_suffix("Record")?.to_owned(),
                zone: (*zone).to_owned(),
                fqdn: (*fqdn).to_owned(),
                record_id: id.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// The modelled type, if any.
    pub fn typed(&self) -> Option<RecordType> {
        self.record_type.parse().ok()
    }
}

pub(crate) fn parse_refs(uris: &[String]) -> Result<Vec<RecordRef>> {
    uris.iter()
        .map(|u| {
            RecordRef::parse(u).ok_or_else(|| Error::Decode {
                what: "record list",
                source: serde::de::Error::custom(format!("not a record URI: {u:?}")),
            })
        })
        .collect()
}

/// Record operations. Obtain with [`Client::records`].
#[derive(Debug, Clone, Copy)]
pub struct Records<'c> {
    client: &'c Client,
}

impl<'c> Records<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Self { client }
    }

    /// Create a record (`POST /REST/<T>Record/<zone>/<fqdn>`). The change is pending until
    /// [`Zones::publish`](crate::Zones::publish) in the same session; the returned record has
    /// no `record_id` until then. `ttl` 0 means the zone default.
    ///
    /// A POST is not repeated after a session renewal: an expired session is returned as an
    /// error with [`Error::is_session_expired`] (the record was not created).
    ///
    /// ```no_run
    /// # async fn run(client: dynect_client::Client) -> dynect_client::Result<()> {
    /// use dynect_client::RecordData;
    /// let rec = client.records()
    ///     .create("example.com", "www.example.com", &RecordData::a("192.0.2.10")?, 300)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create(
        &self,
        zone: &str,
        fqdn: &str,
        data: &RecordData,
        ttl: u32,
    ) -> Result<Record> {
        let (zone, fqdn) = validate::zone_and_fqdn(zone, fqdn)?;
        validate::ttl(ttl)?;
        let t = data.validate()?;
        let body = RecordBody {
            rdata: RdataOut::from_data(data)?,
            ttl: ttl.to_string(),
        };
        let call = Call::new(
            Method::POST,
            &["REST", t.resource(), &zone, &fqdn],
            "record",
        )
        .json(&body)?
        .writes(&zone);
        self.client.execute(&call).await?.decode("record")
    }

    /// Get one record (`GET /REST/<T>Record/<zone>/<fqdn>/<id>`).
    pub async fn get(
        &self,
        record_type: RecordType,
        zone: &str,
        fqdn: &str,
        record_id: u64,
    ) -> Result<Record> {
        let (zone, fqdn) = validate::zone_and_fqdn(zone, fqdn)?;
        let id = record_id.to_string();
        let call = Call::new(
            Method::GET,
            &["REST", record_type.resource(), &zone, &fqdn, &id],
            "record",
        );
        self.client.execute(&call).await?.decode("record")
    }

    /// List the records of one type at a node (`GET /REST/<T>Record/<zone>/<fqdn>`).
    pub async fn list(
        &self,
        record_type: RecordType,
        zone: &str,
        fqdn: &str,
    ) -> Result<Vec<RecordRef>> {
        let (zone, fqdn) = validate::zone_and_fqdn(zone, fqdn)?;
        let call = Call::new(
            Method::GET,
            &["REST", record_type.resource(), &zone, &fqdn],
            "record list",
        );
        let uris: Vec<String> = self.client.execute(&call).await?.decode("record list")?;
        parse_refs(&uris)
    }

    /// Get every record of one type at a node (list, then get each).
    pub async fn list_detailed(
        &self,
        record_type: RecordType,
        zone: &str,
        fqdn: &str,
    ) -> Result<Vec<Record>> {
        let refs = self.list(record_type, zone, fqdn).await?;
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            out.push(self.get(record_type, zone, fqdn, r.record_id).await?);
        }
        Ok(out)
    }

    /// List all records of a zone, every type (`GET /REST/AllRecord/<zone>`).
    pub async fn list_zone(&self, zone: &str) -> Result<Vec<RecordRef>> {
        let zone = validate::zone(zone)?;
        let call = Call::new(Method::GET, &["REST", "AllRecord", &zone], "record list");
        let uris: Vec<String> = self.client.execute(&call).await?.decode("record list")?;
        parse_refs(&uris)
    }

    /// List all records at and below a node, every type (`GET /REST/AllRecord/<zone>/<fqdn>`).
    pub async fn list_under(&self, zone: &str, fqdn: &str) -> Result<Vec<RecordRef>> {
        let (zone, fqdn) = validate::zone_and_fqdn(zone, fqdn)?;
        let call = Call::new(
            Method::GET,
            &["REST", "AllRecord", &zone, &fqdn],
            "record list",
        );
        let uris: Vec<String> = self.client.execute(&call).await?.decode("record list")?;
        parse_refs(&uris)
    }

    /// Replace one record's data and TTL (`PUT /REST/<T>Record/<zone>/<fqdn>/<id>`).
    /// The type of `data` must be the record's type. Pending until published.
    pub async fn update(
        &self,
        zone: &str,
        fqdn: &str,
        record_id: u64,
        data: &RecordData,
        ttl: u32,
    ) -> Result<Record> {
        let (zone, fqdn) = validate::zone_and_fqdn(zone, fqdn)?;
        validate::ttl(ttl)?;
        let t = data.validate()?;
        let body = RecordBody {
            rdata: RdataOut::from_data(data)?,
            ttl: ttl.to_string(),
        };
        let id = record_id.to_string();
        let call = Call::new(
            Method::PUT,
            &["REST", t.resource(), &zone, &fqdn, &id],
            "record",
        )
        .json(&body)?
        .writes(&zone);
        self.client.execute(&call).await?.decode("record")
    }

    /// Delete one record (`DELETE /REST/<T>Record/<zone>/<fqdn>/<id>`). Pending until published.
    pub async fn delete(
        &self,
        record_type: RecordType,
        zone: &str,
        fqdn: &str,
        record_id: u64,
    ) -> Result<()> {
        let (zone, fqdn) = validate::zone_and_fqdn(zone, fqdn)?;
        let id = record_id.to_string();
        let call = Call::new(
            Method::DELETE,
            &["REST", record_type.resource(), &zone, &fqdn, &id],
            "delete record",
        )
        .writes(&zone);
        self.client.execute(&call).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_types_are_enforced() {
        assert!(RecordData::a("10.9.8.7").is_ok());
        assert!(RecordData::a("2001:db8::1").is_err());
        assert!(RecordData::aaaa("2001:db8::1").is_ok());
        assert!(RecordData::aaaa("10.9.8.7").is_err());
        assert!(RecordData::aaaa("::ffff:10.9.8.7").is_err());
        assert!(RecordData::a("nope").is_err());
    }

    #[test]
    fn writes_mx_like_the_recording() {
        let d = RecordData::Mx {
            preference: 123,
            exchange: "mx.example.com.".into(),
        };
        let body = RecordBody {
            rdata: RdataOut::from_data(&d).unwrap(),
            ttl: "12345".into(),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"rdata":{"exchange":"mx.example.com.","preference":123},"ttl":"12345"}"#
        );
    }

    #[test]
    fn parses_record_uris() {
        let r = RecordRef::parse("/REST/ARecord/go-dynect.test/foobar.go-dynect.test/318905321")
            .unwrap();
        assert_eq!(r.record_type, "A");
        assert_eq!(r.typed(), Some(RecordType::A));
        assert_eq!(r.record_id, 318905321);
        assert!(RecordRef::parse("/REST/Zone/x.test/").is_none());
    }
}

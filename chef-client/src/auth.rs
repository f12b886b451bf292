//! Chef signed-header authentication (mixlib-authentication protocol 1.0, 1.1 and 1.3).
//!
//! Every request to a Chef Infra Server carries a set of `X-Ops-*` headers and an RSA
//! signature over a *canonical request* built from the method, the path, a hash of the
//! body, the timestamp and the user id. [`Client`](crate::Client) signs each attempt
//! afresh; this module is public so callers (and test doubles) can sign or inspect requests
//! themselves.
//!
//! | version | hash | canonical path / user id | RSA operation |
//! |---|---|---|---|
//! | 1.0 | SHA-1 | hashed path, plain user id | raw PKCS#1 v1.5 type-1 "private encrypt", no DigestInfo |
//! | 1.1 | SHA-1 | hashed path, hashed user id | same as 1.0 |
//! | 1.3 | SHA-256 | plain path and user id, plus `X-Ops-Sign` and `X-Ops-Server-API-Version` | RSASSA-PKCS1-v1_5 with SHA-256 |
//!
//! ```
//! use chef_client::auth::{sign, ProtocolVersion, SigningKey, SigningRequest};
//! # fn main() -> Result<(), chef_client::Error> {
//! # let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"),
//! #     "/../../shared/reference/chef/vectors/private_key.pem")).unwrap();
//! let key = SigningKey::from_pem(pem)?;
//! let signed = sign(&key, &SigningRequest {
//!     method: "POST",
//!     path: "/organizations/clownco",
//!     body: b"Spec Body",
//!     user_id: "spec-user",
//!     timestamp: "2009-01-01T12:00:00Z",
//!     server_api_version: "1",
//!     version: ProtocolVersion::V1_3,
//! })?;
//! assert_eq!(signed.authorization.len(), 6);
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};
use sha2::Sha256;

use crate::error::{Error, Result};

/// Length of one `X-Ops-Authorization-N` header line.
pub const AUTHORIZATION_LINE_LEN: usize = 60;

/// The signing protocol version (`X-Ops-Sign: version=…`).
///
/// The default is 1.3 (SHA-256, a standard RSASSA-PKCS1-v1_5 signature). 1.0 and 1.1 exist
/// for old servers; Chef Infra Client itself still defaults to 1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProtocolVersion {
    /// SHA-1, hashed path, plain user id, raw RSA private-key encryption.
    V1_0,
    /// SHA-1, hashed path and hashed user id, raw RSA private-key encryption.
    V1_1,
    /// SHA-256 signature that also covers `X-Ops-Sign` and `X-Ops-Server-API-Version`.
    #[default]
    V1_3,
}

impl ProtocolVersion {
    /// All versions this crate can sign with.
    pub const ALL: [ProtocolVersion; 3] = [Self::V1_0, Self::V1_1, Self::V1_3];

    /// The version number as sent on the wire (`"1.0"`, `"1.1"`, `"1.3"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_0 => "1.0",
            Self::V1_1 => "1.1",
            Self::V1_3 => "1.3",
        }
    }

    /// The `X-Ops-Sign` header value mixlib-authentication sends for this version.
    pub fn sign_header(self) -> &'static str {
        match self {
            Self::V1_0 => "algorithm=sha1;version=1.0;",
            Self::V1_1 => "algorithm=sha1;version=1.1;",
            Self::V1_3 => "algorithm=sha256;version=1.3;",
        }
    }

    fn hash(self, data: &[u8]) -> String {
        match self {
            Self::V1_0 | Self::V1_1 => BASE64.encode(Sha1::digest(data)),
            Self::V1_3 => BASE64.encode(Sha256::digest(data)),
        }
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProtocolVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "1.0" => Ok(Self::V1_0),
            "1.1" => Ok(Self::V1_1),
            "1.3" => Ok(Self::V1_3),
            other => Err(Error::Config(format!(
                "unsupported Chef authentication protocol version {other:?} (expected 1.0, 1.1 or 1.3)"
            ))),
        }
    }
}

/// An RSA private key used to sign requests.
///
/// It is parsed once from PEM (PKCS#1 `BEGIN RSA PRIVATE KEY` or PKCS#8 `BEGIN PRIVATE KEY`).
/// `Debug` prints only the key size; the key never appears in errors or logs. Cloning is
/// cheap (reference counted).
#[derive(Clone)]
pub struct SigningKey {
    pkey: PKey<Private>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parse an unencrypted RSA private key from PEM text.
    ///
    /// Returns [`Error::Config`] when the text is not an RSA private key; the message never
    /// contains any of the input.
    pub fn from_pem(pem: impl Into<SecretString>) -> Result<Self> {
        let pem: SecretString = pem.into();
        Self::parse(pem.expose_secret().as_bytes(), "the PEM text")
    }

    /// Read and parse an RSA private key from a PEM file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let pem = SecretString::from(std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "cannot read Chef client key {}: {}",
                path.display(),
                e.kind()
            ))
        })?);
        Self::parse(
            pem.expose_secret().as_bytes(),
            &format!("the file {}", path.display()),
        )
    }

    fn parse(pem: &[u8], origin: &str) -> Result<Self> {
        let bad = || {
            Error::Config(format!(
                "invalid Chef client key in {origin}: expected an unencrypted RSA private key in PEM \
                 format (PKCS#1 \"BEGIN RSA PRIVATE KEY\" or PKCS#8 \"BEGIN PRIVATE KEY\")"
            ))
        };
        // A password callback that supplies no password: an encrypted key fails instead of
        // OpenSSL prompting on the terminal.
        let pkey = PKey::private_key_from_pem_callback(pem, |_| Ok(0)).map_err(|_| bad())?;
        let rsa = pkey.rsa().map_err(|_| bad())?;
        if rsa.check_key().ok() != Some(true) {
            return Err(bad());
        }
        Ok(Self { pkey })
    }

    /// Key size in bits (2048 for keys generated by Chef servers).
    pub fn bits(&self) -> u32 {
        self.pkey.bits()
    }

    /// The public half as SPKI PEM (`BEGIN PUBLIC KEY`), e.g. to register the key with a server.
    pub fn public_key_pem(&self) -> Result<String> {
        let der = self
            .pkey
            .public_key_to_pem()
            .map_err(|_| Error::Signing("cannot encode the public key".into()))?;
        String::from_utf8(der).map_err(|_| Error::Signing("cannot encode the public key".into()))
    }

    /// `RSA_private_encrypt` with PKCS#1 v1.5 type-1 padding over `data` (protocol 1.0/1.1).
    fn private_encrypt(&self, data: &[u8]) -> Result<Vec<u8>> {
        let rsa = self
            .pkey
            .rsa()
            .map_err(|_| Error::Signing("the key is not an RSA key".into()))?;
        let size = rsa.size() as usize;
        if data.len() + 11 > size {
            return Err(Error::Signing(format!(
                "the canonical request is {} bytes, more than a {}-bit key can sign with protocol \
                 1.0 ({} bytes); use protocol 1.1 or 1.3",
                data.len(),
                self.bits(),
                size - 11
            )));
        }
        let mut out = vec![0u8; size];
        let n = rsa
            .private_encrypt(data, &mut out, Padding::PKCS1)
            .map_err(|_| Error::Signing("RSA private-key operation failed".into()))?;
        // OpenSSL always writes a full k-byte block; keep the guard anyway (go-chef once
        // emitted short signatures).
        out.truncate(n);
        if n < size {
            let mut padded = vec![0u8; size - n];
            padded.extend_from_slice(&out);
            out = padded;
        }
        Ok(out)
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `data` (protocol 1.3).
    fn sign_sha256(&self, data: &[u8]) -> Result<Vec<u8>> {
        let fail = |_| Error::Signing("RSA SHA-256 signature failed".into());
        let mut signer =
            openssl::sign::Signer::new(MessageDigest::sha256(), &self.pkey).map_err(fail)?;
        signer.set_rsa_padding(Padding::PKCS1).map_err(fail)?;
        signer.sign_oneshot_to_vec(data).map_err(fail)
    }
}

/// Everything that goes into a signature.
#[derive(Debug, Clone, Copy)]
pub struct SigningRequest<'a> {
    /// HTTP method; upper-cased when signing.
    pub method: &'a str,
    /// Request path as sent (may include a query string, which is not signed).
    pub path: &'a str,
    /// Exact body bytes (empty for GET/DELETE/HEAD).
    pub body: &'a [u8],
    /// Client or user name (`X-Ops-Userid`).
    pub user_id: &'a str,
    /// `YYYY-MM-DDTHH:MM:SSZ`; sent exactly as signed. See [`timestamp_now`].
    pub timestamp: &'a str,
    /// `X-Ops-Server-API-Version` value; signed by 1.3, sent by every version.
    pub server_api_version: &'a str,
    /// Protocol version.
    pub version: ProtocolVersion,
}

/// The headers of a signed request.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `X-Ops-Sign`.
    pub sign: String,
    /// `X-Ops-Userid`.
    pub userid: String,
    /// `X-Ops-Timestamp`.
    pub timestamp: String,
    /// `X-Ops-Content-Hash`.
    pub content_hash: String,
    /// `X-Ops-Server-API-Version`.
    pub server_api_version: String,
    /// `X-Ops-Authorization-1..N`, 60 characters each (the last may be shorter).
    pub authorization: Vec<String>,
}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedHeaders")
            .field("sign", &self.sign)
            .field("userid", &self.userid)
            .field("timestamp", &self.timestamp)
            .field("content_hash", &self.content_hash)
            .field("server_api_version", &self.server_api_version)
            .field("authorization", &"[REDACTED]")
            .finish()
    }
}

impl SignedHeaders {
    /// Header name/value pairs in the order they are sent.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("X-Ops-Sign".to_owned(), self.sign.clone()),
            ("X-Ops-Userid".to_owned(), self.userid.clone()),
            ("X-Ops-Timestamp".to_owned(), self.timestamp.clone()),
            ("X-Ops-Content-Hash".to_owned(), self.content_hash.clone()),
            (
                "X-Ops-Server-API-Version".to_owned(),
                self.server_api_version.clone(),
            ),
        ];
        for (i, line) in self.authorization.iter().enumerate() {
            out.push((format!("X-Ops-Authorization-{}", i + 1), line.clone()));
        }
        out
    }

    /// Convert to a [`HeaderMap`]. The authorization lines are marked sensitive so that
    /// reqwest/hyper never log them.
    pub fn to_header_map(&self) -> Result<HeaderMap> {
        let mut map = HeaderMap::with_capacity(5 + self.authorization.len());
        for (name, value) in self.pairs() {
            let sensitive = name.starts_with("X-Ops-Authorization");
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Signing(format!("invalid header name {name}")))?;
            let mut value = HeaderValue::from_str(&value)
                .map_err(|_| Error::Signing(format!("invalid value for header {name}")))?;
            value.set_sensitive(sensitive);
            map.insert(name, value);
        }
        Ok(map)
    }
}

/// Canonical path: no query string, runs of `/` collapsed, one trailing `/` removed
/// (except for `/` itself). No percent-decoding.
pub fn canonical_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// `X-Ops-Content-Hash` of a body: base64 SHA-1 (1.0/1.1) or SHA-256 (1.3).
pub fn content_hash(version: ProtocolVersion, body: &[u8]) -> String {
    version.hash(body)
}

/// The exact string that is signed (lines joined with `\n`, no trailing newline).
pub fn canonical_request(req: &SigningRequest<'_>) -> String {
    let method = req.method.to_ascii_uppercase();
    let path = canonical_path(req.path);
    let body_hash = content_hash(req.version, req.body);
    match req.version {
        ProtocolVersion::V1_0 | ProtocolVersion::V1_1 => {
            let user = if req.version == ProtocolVersion::V1_1 {
                req.version.hash(req.user_id.as_bytes())
            } else {
                req.user_id.to_owned()
            };
            format!(
                "Method:{method}\nHashed Path:{}\nX-Ops-Content-Hash:{body_hash}\nX-Ops-Timestamp:{}\nX-Ops-UserId:{user}",
                req.version.hash(path.as_bytes()),
                req.timestamp
            )
        }
        ProtocolVersion::V1_3 => format!(
            "Method:{method}\nPath:{path}\nX-Ops-Content-Hash:{body_hash}\nX-Ops-Sign:version=1.3\nX-Ops-Timestamp:{}\nX-Ops-UserId:{}\nX-Ops-Server-API-Version:{}",
            req.timestamp, req.user_id, req.server_api_version
        ),
    }
}

/// Sign a request and return every header to send.
///
/// Fails with [`Error::Signing`] when protocol 1.0 is asked to sign a canonical request that
/// does not fit the key (long user ids or paths; 1.1 and 1.3 have no such limit).
pub fn sign(key: &SigningKey, req: &SigningRequest<'_>) -> Result<SignedHeaders> {
    let canonical = canonical_request(req);
    let signature = match req.version {
        ProtocolVersion::V1_0 | ProtocolVersion::V1_1 => {
            key.private_encrypt(canonical.as_bytes())?
        }
        ProtocolVersion::V1_3 => key.sign_sha256(canonical.as_bytes())?,
    };
    let b64 = BASE64.encode(signature);
    let authorization = b64
        .as_bytes()
        .chunks(AUTHORIZATION_LINE_LEN)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    Ok(SignedHeaders {
        sign: req.version.sign_header().to_owned(),
        userid: req.user_id.to_owned(),
        timestamp: req.timestamp.to_owned(),
        content_hash: content_hash(req.version, req.body),
        server_api_version: req.server_api_version.to_owned(),
        authorization,
    })
}

/// Why [`verify`] rejected a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header is missing or not valid text.
    #[error("missing or invalid header {0}")]
    MissingHeader(String),
    /// `X-Ops-Sign` names a version this crate does not implement.
    #[error("unsupported X-Ops-Sign {0:?}")]
    UnsupportedVersion(String),
    /// `X-Ops-Content-Hash` does not match the body.
    #[error("content hash does not match the body")]
    ContentHash,
    /// The signature does not match the canonical request and key.
    #[error("signature verification failed")]
    Signature,
    /// The public key could not be parsed.
    #[error("invalid public key")]
    BadKey,
}

/// What [`verify`] established about a valid request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Protocol version used.
    pub version: ProtocolVersion,
    /// `X-Ops-Userid`.
    pub user_id: String,
    /// `X-Ops-Timestamp` as sent; check it against the clock with [`parse_timestamp`].
    pub timestamp: String,
}

/// Verify a signed request the way a Chef server does (for test doubles and proxies).
///
/// `public_key_pem` is a `BEGIN PUBLIC KEY` (SPKI) or `BEGIN RSA PUBLIC KEY` PEM; `path` is
/// the request path as received (a query string is ignored). The timestamp is returned,
/// not checked.
pub fn verify(
    public_key_pem: &str,
    method: &str,
    path: &str,
    body: &[u8],
    headers: &HeaderMap,
) -> std::result::Result<Verified, VerifyError> {
    let header = |name: &str| -> std::result::Result<String, VerifyError> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| VerifyError::MissingHeader(name.to_owned()))
    };
    let sign_header = header("x-ops-sign")?;
    let version = sign_header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == "version")
        .and_then(|(_, v)| v.parse::<ProtocolVersion>().ok())
        .ok_or_else(|| VerifyError::UnsupportedVersion(sign_header.clone()))?;
    let user_id = header("x-ops-userid")?;
    let timestamp = header("x-ops-timestamp")?;
    if header("x-ops-content-hash")? != content_hash(version, body) {
        return Err(VerifyError::ContentHash);
    }
    // Servers differ on a missing API version header (erchef "0", goiardi ""): use "".
    let server_api_version = header("x-ops-server-api-version").unwrap_or_default();
    let mut b64 = String::new();
    for n in 1.. {
        match headers.get(format!("x-ops-authorization-{n}")) {
            Some(v) => b64.push_str(v.to_str().map_err(|_| VerifyError::Signature)?),
            None => break,
        }
    }
    if b64.is_empty() {
        return Err(VerifyError::MissingHeader("x-ops-authorization-1".into()));
    }
    let signature = BASE64.decode(b64).map_err(|_| VerifyError::Signature)?;
    let canonical = canonical_request(&SigningRequest {
        method,
        path,
        body,
        user_id: &user_id,
        timestamp: &timestamp,
        server_api_version: &server_api_version,
        version,
    });
    let pkey = PKey::public_key_from_pem(public_key_pem.as_bytes())
        .or_else(|_| {
            openssl::rsa::Rsa::public_key_from_pem_pkcs1(public_key_pem.as_bytes())
                .and_then(PKey::from_rsa)
        })
        .map_err(|_| VerifyError::BadKey)?;
    let ok = match version {
        ProtocolVersion::V1_0 | ProtocolVersion::V1_1 => {
            let rsa = pkey.rsa().map_err(|_| VerifyError::BadKey)?;
            let mut out = vec![0u8; rsa.size() as usize];
            rsa.public_decrypt(&signature, &mut out, Padding::PKCS1)
                .map(|n| &out[..n] == canonical.as_bytes())
                .unwrap_or(false)
        }
        ProtocolVersion::V1_3 => openssl::sign::Verifier::new(MessageDigest::sha256(), &pkey)
            .and_then(|mut v| v.verify_oneshot(&signature, canonical.as_bytes()))
            .unwrap_or(false),
    };
    if ok {
        Ok(Verified {
            version,
            user_id,
            timestamp,
        })
    } else {
        Err(VerifyError::Signature)
    }
}

/// Parse a `YYYY-MM-DDTHH:MM:SSZ` timestamp (the format this crate signs).
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    let secs = u64::try_from(secs).ok()?;
    UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs))
}

/// Proleptic Gregorian date to days since 1970-01-01 (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn timestamp_now() -> String {
    format_timestamp(SystemTime::now())
}

/// Format a time as `YYYY-MM-DDTHH:MM:SSZ` (UTC, no fractional seconds).
pub fn format_timestamp(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const VECTORS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/chef/vectors"
    );

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{VECTORS}/{name}")).unwrap()
    }

    fn vector(version: ProtocolVersion) -> serde_json::Value {
        let file = match version {
            ProtocolVersion::V1_0 => "v1_0.json",
            ProtocolVersion::V1_1 => "v1_1.json",
            ProtocolVersion::V1_3 => "v1_3.json",
        };
        serde_json::from_str(&read(file)).unwrap()
    }

    fn key() -> SigningKey {
        SigningKey::from_pem(read("private_key.pem")).unwrap()
    }

    fn spec_request(version: ProtocolVersion) -> SigningRequest<'static> {
        SigningRequest {
            method: "POST",
            path: "/organizations/clownco",
            body: b"Spec Body",
            user_id: "spec-user",
            timestamp: "2009-01-01T12:00:00Z",
            server_api_version: "1",
            version,
        }
    }

    #[test]
    fn vectors_reproduce_byte_for_byte() {
        let key = key();
        for version in ProtocolVersion::ALL {
            let v = vector(version);
            let req = spec_request(version);
            let canonical_file = v["canonical_request_file"].as_str().unwrap();
            assert_eq!(canonical_request(&req), read(canonical_file), "{version}");
            assert_eq!(
                canonical_request(&req),
                v["canonical_request"].as_str().unwrap()
            );
            let signed = sign(&key, &req).unwrap();
            let lines_file = canonical_file.replace("canonical_request", "authorization_lines");
            let expected_lines: Vec<String> =
                read(&lines_file).lines().map(str::to_owned).collect();
            assert_eq!(signed.authorization, expected_lines, "{version}");
            assert_eq!(signed.authorization.len(), 6);
            let expected = v["expected_headers"].as_object().unwrap();
            for (name, value) in signed.pairs() {
                if name == "X-Ops-Server-API-Version" && !expected.contains_key(&name) {
                    continue;
                }
                assert_eq!(
                    expected[&name].as_str().unwrap(),
                    value,
                    "{version} header {name}"
                );
            }
            for name in expected.keys() {
                assert!(
                    signed.pairs().iter().any(|(n, _)| n == name),
                    "{version}: missing {name}"
                );
            }
            assert_eq!(signed.content_hash, v["content_hash"].as_str().unwrap());
        }
    }

    #[test]
    fn intermediate_hashes() {
        let misc: serde_json::Value = serde_json::from_str(&read("misc.json")).unwrap();
        assert_eq!(
            content_hash(ProtocolVersion::V1_0, b"hello"),
            misc["digester_sha1_hello"]["base64_sha1"].as_str().unwrap()
        );
        assert_eq!(
            content_hash(ProtocolVersion::V1_1, b""),
            misc["empty_body_sha1"].as_str().unwrap()
        );
        assert_eq!(
            content_hash(ProtocolVersion::V1_3, b""),
            misc["empty_body_sha256"].as_str().unwrap()
        );
        assert_eq!(
            ProtocolVersion::V1_0.hash(b"/organizations/clownco"),
            "YtBWDn1blGGuFIuKksdwXzHU9oE="
        );
        assert_eq!(
            ProtocolVersion::V1_1.hash(b"spec-user"),
            "EAF7Wv/hbAudWV5ZkwKz40Z/lO0="
        );
    }

    #[test]
    fn canonical_path_rules() {
        assert_eq!(canonical_path("//a//b/"), "/a/b");
        assert_eq!(canonical_path("/"), "/");
        assert_eq!(canonical_path("//"), "/");
        assert_eq!(canonical_path(""), "/");
        assert_eq!(canonical_path("/nodes?q=a/b"), "/nodes");
        assert_eq!(canonical_path("/search/node/?q=x&rows=1"), "/search/node");
        assert_eq!(
            canonical_path("/organizations/acme//nodes/web%201"),
            "/organizations/acme/nodes/web%201"
        );
        assert_eq!(canonical_path("/nodes/"), "/nodes");
    }

    #[test]
    fn method_is_upper_cased_and_get_signs_empty_body() {
        let mut req = spec_request(ProtocolVersion::V1_3);
        req.method = "get";
        req.body = b"";
        let c = canonical_request(&req);
        assert!(c.starts_with("Method:GET\n"));
        assert!(c.contains("X-Ops-Content-Hash:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
    }

    #[test]
    fn v1_3_signs_the_server_api_version() {
        let key = key();
        let mut a = spec_request(ProtocolVersion::V1_3);
        a.server_api_version = "2";
        let sa = sign(&key, &a).unwrap();
        assert_eq!(sa.server_api_version, "2");
        assert!(canonical_request(&a).ends_with("X-Ops-Server-API-Version:2"));
        let sb = sign(&key, &spec_request(ProtocolVersion::V1_3)).unwrap();
        assert_ne!(sa.authorization, sb.authorization);
        // 1.0/1.1 do not sign it but still send it.
        let mut c = spec_request(ProtocolVersion::V1_1);
        c.server_api_version = "2";
        assert!(!canonical_request(&c).contains("API-Version"));
        assert_eq!(sign(&key, &c).unwrap().server_api_version, "2");
    }

    #[test]
    fn v1_0_rejects_oversized_canonical_request_but_1_1_and_1_3_sign() {
        let key = key();
        let user = "u".repeat(200);
        let path = format!("/{}", "p".repeat(250));
        for version in ProtocolVersion::ALL {
            let mut req = spec_request(version);
            req.user_id = &user;
            req.path = &path;
            let res = sign(&key, &req);
            if version == ProtocolVersion::V1_0 {
                let err = res.unwrap_err();
                assert!(matches!(err, Error::Signing(_)));
                assert!(err.to_string().contains("protocol 1.1 or 1.3"), "{err}");
            } else {
                let s = res.unwrap();
                assert_eq!(s.authorization.concat().len(), 344);
            }
        }
    }

    #[test]
    fn signatures_are_always_full_length() {
        let key = key();
        for i in 0..40 {
            let path = format!("/nodes/n{i}");
            for version in ProtocolVersion::ALL {
                let mut req = spec_request(version);
                req.path = &path;
                let s = sign(&key, &req).unwrap();
                let raw = BASE64.decode(s.authorization.concat()).unwrap();
                assert_eq!(raw.len(), 256);
                assert!(s.authorization[..5].iter().all(|l| l.len() == 60));
            }
        }
    }

    #[test]
    fn pkcs8_and_pkcs1_give_the_same_signature() {
        let pkcs1 = key();
        let pkcs8_pem = String::from_utf8(pkcs1.pkey.private_key_to_pem_pkcs8().unwrap()).unwrap();
        assert!(pkcs8_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let pkcs8 = SigningKey::from_pem(pkcs8_pem).unwrap();
        for version in ProtocolVersion::ALL {
            let req = spec_request(version);
            assert_eq!(sign(&pkcs1, &req).unwrap(), sign(&pkcs8, &req).unwrap());
        }
    }

    #[test]
    fn bad_keys_are_config_errors_without_key_material() {
        let pem = read("private_key.pem");
        let truncated = pem[..pem.len() / 2].to_owned();
        let secretish = truncated.lines().nth(3).unwrap().to_owned();
        for input in [
            truncated,
            "not a key".to_owned(),
            read("public_key.pem"),
            String::new(),
        ] {
            let err = SigningKey::from_pem(input).unwrap_err();
            assert!(matches!(err, Error::Config(_)));
            let msg = format!("{err} {err:?}");
            assert!(msg.contains("RSA private key"), "{msg}");
            assert!(!msg.contains(&secretish));
            assert!(!msg.contains("MII"));
        }
        let err = SigningKey::from_file("/nonexistent/dir/key.pem").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/dir/key.pem"));
        // An encrypted key fails instead of prompting.
        let enc = key()
            .pkey
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"pw")
            .unwrap();
        let err = SigningKey::from_pem(String::from_utf8(enc).unwrap()).unwrap_err();
        assert!(matches!(err, Error::Config(_)));
    }

    #[test]
    fn debug_output_is_redacted() {
        let key = key();
        let dbg = format!("{key:?}");
        assert_eq!(dbg, "SigningKey { bits: 2048, .. }");
        let s = sign(&key, &spec_request(ProtocolVersion::V1_3)).unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains(&s.authorization[0]));
        let map = s.to_header_map().unwrap();
        assert!(map["x-ops-authorization-1"].is_sensitive());
        assert_eq!(map.len(), 11);
    }

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_timestamp(UNIX_EPOCH + Duration::from_secs(1_230_811_200)),
            "2009-01-01T12:00:00Z"
        );
        assert_eq!(
            format_timestamp(UNIX_EPOCH + Duration::from_secs(951_825_599)),
            "2000-02-29T11:59:59Z"
        );
        assert_eq!(
            format_timestamp(UNIX_EPOCH + Duration::from_secs(4_102_444_799)),
            "2099-12-31T23:59:59Z"
        );
        let now = timestamp_now();
        assert_eq!(now.len(), 20);
        assert!(now.ends_with('Z'));
    }

    #[test]
    fn verify_round_trip_and_rejections() {
        let key = key();
        let public = read("public_key.pem");
        for version in ProtocolVersion::ALL {
            let req = spec_request(version);
            let map = sign(&key, &req).unwrap().to_header_map().unwrap();
            let ok = verify(
                &public,
                "POST",
                "/organizations/clownco/?x=1",
                b"Spec Body",
                &map,
            )
            .unwrap();
            assert_eq!(ok.version, version);
            assert_eq!(ok.user_id, "spec-user");
            assert_eq!(
                verify(
                    &public,
                    "POST",
                    "/organizations/clownco",
                    b"Spec Body!",
                    &map
                ),
                Err(VerifyError::ContentHash)
            );
            assert_eq!(
                verify(&public, "PUT", "/organizations/clownco", b"Spec Body", &map),
                Err(VerifyError::Signature)
            );
            assert_eq!(
                verify(&public, "POST", "/organizations/other", b"Spec Body", &map),
                Err(VerifyError::Signature)
            );
            let mut other = map.clone();
            other.remove("x-ops-authorization-6");
            assert_eq!(
                verify(
                    &public,
                    "POST",
                    "/organizations/clownco",
                    b"Spec Body",
                    &other
                ),
                Err(VerifyError::Signature)
            );
            assert_eq!(
                verify("nope", "POST", "/organizations/clownco", b"Spec Body", &map),
                Err(VerifyError::BadKey)
            );
        }
    }

    #[test]
    fn timestamp_round_trip() {
        for secs in [0u64, 951_825_599, 1_230_811_200, 4_102_444_799] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t));
        }
        assert_eq!(parse_timestamp("2009-01-01T12:00:00+00:00"), None);
        assert_eq!(parse_timestamp("2009-13-01T12:00:00Z"), None);
    }

    #[test]
    fn protocol_version_parsing() {
        assert_eq!(
            "1.0".parse::<ProtocolVersion>().unwrap(),
            ProtocolVersion::V1_0
        );
        assert_eq!(
            "1.1".parse::<ProtocolVersion>().unwrap(),
            ProtocolVersion::V1_1
        );
        assert_eq!(
            " 1.3".parse::<ProtocolVersion>().unwrap(),
            ProtocolVersion::V1_3
        );
        assert!("1.2".parse::<ProtocolVersion>().is_err());
        assert_eq!(ProtocolVersion::default(), ProtocolVersion::V1_3);
    }
}

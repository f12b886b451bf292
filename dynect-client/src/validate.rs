//! Input checks done before any request is sent.

use crate::error::{Error, Result};

/// Largest TTL accepted (RFC 2181: 2^31 - 1 seconds). `0` means "use the zone default".
pub const MAX_TTL: u32 = i32::MAX as u32;

fn invalid(msg: String) -> Error {
    Error::InvalidInput(msg)
}

/// Check a DNS name (zone, FQDN or target): 1..=253 chars without the trailing dot,
/// labels of 1..=63 letters, digits, `-` or `_`, not starting or ending with `-`. A single
/// leading `*` label is allowed when `allow_wildcard`. Returns the name lower-cased without
/// a trailing dot.
pub(crate) fn dns_name(what: &str, name: &str, allow_wildcard: bool) -> Result<String> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(invalid(format!("{what} is empty")));
    }
    if trimmed.len() > 253 {
        return Err(invalid(format!(
            "{what} {name:?} is longer than 253 characters"
        )));
    }
    for (i, label) in trimmed.split('.').enumerate() {
        if label.is_empty() {
            return Err(invalid(format!("{what} {name:?} has an empty label")));
        }
        if label == "*" && i == 0 && allow_wildcard {
            continue;
        }
        if label.len() > 63 {
            return Err(invalid(format!(
                "{what} {name:?} has a label longer than 63 characters"
            )));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(format!(
                "{what} {name:?} contains a character that is not a letter, digit, '-' or '_'"
            )));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid(format!(
                "{what} {name:?} has a label starting or ending with '-'"
            )));
        }
    }
    Ok(trimmed.to_ascii_lowercase())
}

/// Check a zone name: a DNS name with at least two labels and no wildcard.
pub(crate) fn zone(zone: &str) -> Result<String> {
    let z = dns_name("zone", zone, false)?;
    if !z.contains('.') {
        return Err(invalid(format!(
            "zone {zone:?} must have at least two labels"
        )));
    }
    Ok(z)
}

/// Check that `fqdn` is a valid name inside `zone` (or the apex). Returns both normalised.
pub(crate) fn zone_and_fqdn(zone_name: &str, fqdn: &str) -> Result<(String, String)> {
    let z = zone(zone_name)?;
    let f = dns_name("FQDN", fqdn, true)?;
    if f != z && !f.ends_with(&format!(".{z}")) {
        return Err(invalid(format!(
            "FQDN {fqdn:?} is not inside zone {zone_name:?}"
        )));
    }
    Ok((z, f))
}

/// Check a TTL.
pub(crate) fn ttl(ttl: u32) -> Result<()> {
    if ttl > MAX_TTL {
        return Err(invalid(format!("TTL {ttl} is larger than {MAX_TTL}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(zone("Example.COM.").unwrap(), "example.com");
        assert!(zone("com").is_err());
        assert!(zone("exa mple.com").is_err());
        assert!(zone("-bad.com").is_err());
        assert!(zone("a..com").is_err());
        assert!(zone("*.example.com").is_err());
        assert!(zone(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(zone(&format!("{}.com", "a.".repeat(130))).is_err());
        assert!(zone_and_fqdn("example.com", "*.example.com").is_ok());
        assert!(zone_and_fqdn("example.com", "_sip._tcp.example.com").is_ok());
        assert!(zone_and_fqdn("example.com", "example.com").is_ok());
        assert!(zone_and_fqdn("example.com", "www.example.org").is_err());
        assert!(zone_and_fqdn("example.com", "badexample.com").is_err());
    }

    #[test]
    fn ttls() {
        assert!(ttl(0).is_ok());
        assert!(ttl(MAX_TTL).is_ok());
        assert!(ttl(MAX_TTL + 1).is_err());
    }
}

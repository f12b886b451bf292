//! Client-side checks run before any request is sent.

use crate::error::{Error, Result};

/// Largest page DigitalOcean serves.
pub const MAX_PER_PAGE: u32 = 200;
/// Most droplets one multi-create request may name.
pub const MAX_DROPLET_NAMES: usize = 10;
/// Largest `user_data` DigitalOcean accepts, in bytes.
pub const MAX_USER_DATA_BYTES: usize = 64 * 1024;
/// Longest droplet or tag name.
pub const MAX_NAME_LEN: usize = 255;

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidInput {
        field,
        reason: reason.into(),
    }
}

/// Droplet names follow `^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$`, at most 255 characters
/// (so no underscores and no spaces).
pub(crate) fn droplet_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid("name", "droplet name is empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid(
            "name",
            format!(
                "droplet name is {} characters, at most {MAX_NAME_LEN} allowed",
                name.len()
            ),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-'))
    {
        return Err(invalid(
            "name",
            format!(
                "droplet name {name:?} contains {c:?}; only letters, digits, '.' and '-' are allowed"
            ),
        ));
    }
    if !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(invalid(
            "name",
            format!("droplet name {name:?} must end with a letter or digit"),
        ));
    }
    Ok(())
}

pub(crate) fn droplet_names(names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Err(invalid("names", "at least one droplet name is required"));
    }
    if names.len() > MAX_DROPLET_NAMES {
        return Err(invalid(
            "names",
            format!(
                "{} names given, at most {MAX_DROPLET_NAMES} per request",
                names.len()
            ),
        ));
    }
    names.iter().try_for_each(|n| droplet_name(n))
}

pub(crate) fn user_data(data: Option<&str>) -> Result<()> {
    match data {
        Some(d) if d.len() > MAX_USER_DATA_BYTES => Err(invalid(
            "user_data",
            format!("{} bytes, at most {MAX_USER_DATA_BYTES} allowed", d.len()),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn per_page(n: u32) -> Result<()> {
    if n == 0 || n > MAX_PER_PAGE {
        return Err(invalid(
            "per_page",
            format!("{n} is outside 1..={MAX_PER_PAGE}"),
        ));
    }
    Ok(())
}

/// Tag names follow `^[a-zA-Z0-9_\-\:]+$`, at most 255 characters.
pub(crate) fn tag_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(invalid(
            "tag",
            format!("tag name must be 1..={MAX_NAME_LEN} characters"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':')))
    {
        return Err(invalid(
            "tag",
            format!(
                "tag name {name:?} contains {c:?}; only letters, digits, '_', '-' and ':' are allowed"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn id(field: &'static str, id: u64) -> Result<()> {
    if id == 0 {
        return Err(invalid(field, "ids start at 1"));
    }
    Ok(())
}

pub(crate) fn non_empty(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    Ok(())
}

/// A UUID in its canonical text form (`8-4-4-4-12` hex digits), as the spec's
/// `format: uuid` path parameters want it.
pub(crate) fn uuid(field: &'static str, value: &str) -> Result<()> {
    let groups: Vec<&str> = value.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let ok = groups.len() == lengths.len()
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{value:?} is not a UUID (8-4-4-4-12 hex digits)"),
        ))
    }
}

/// Names that follow `^[a-zA-Z0-9][a-zA-Z0-9\.-]+$` (firewalls): at least two characters,
/// starting with a letter or digit, then letters, digits, `.` and `-`.
pub(crate) fn dotted_name(field: &'static str, kind: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok =
        name.len() >= 2 && chars.all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if first_ok && rest_ok {
        return Ok(());
    }
    Err(invalid(
        field,
        format!(
            "{kind} name {name:?} must be at least 2 characters: a letter or digit, then \
             letters, digits, '.' and '-'"
        ),
    ))
}

/// Names that follow `^[a-zA-Z0-9\-\.]+$` (VPCs): letters, digits, `-` and `.`.
pub(crate) fn plain_name(field: &'static str, kind: &str, name: &str) -> Result<()> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return Ok(());
    }
    Err(invalid(
        field,
        format!("{kind} name {name:?} must be letters, digits, '.' and '-' (at least one)"),
    ))
}

/// At most `max` characters (the spec's `maxLength`).
pub(crate) fn max_len(field: &'static str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n > max {
        return Err(invalid(
            field,
            format!("{n} characters, at most {max} allowed"),
        ));
    }
    Ok(())
}

/// A CIDR block (`10.10.10.0/24`).
pub(crate) fn cidr(field: &'static str, value: &str) -> Result<()> {
    if !value.contains('/') {
        return Err(invalid(
            field,
            format!("{value:?} is not a CIDR block (address/prefix)"),
        ));
    }
    ip_or_cidr(field, value)
}

/// Every id in `ids` is at least 1, and there is at least one.
pub(crate) fn ids(field: &'static str, ids: &[u64]) -> Result<()> {
    if ids.is_empty() {
        return Err(invalid(field, "at least one id is required"));
    }
    ids.iter().try_for_each(|i| id(field, *i))
}

/// At least one tag, each a valid tag name.
pub(crate) fn tag_names(tags: &[String]) -> Result<()> {
    if tags.is_empty() {
        return Err(invalid("tags", "at least one tag is required"));
    }
    tags.iter().try_for_each(|t| tag_name(t))
}

/// An IPv4 or IPv6 address, or a CIDR block of either (`10.0.0.0/8`, `::/0`).
pub(crate) fn ip_or_cidr(field: &'static str, value: &str) -> Result<()> {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (value, None),
    };
    let bad = || {
        invalid(
            field,
            format!("{value:?} is not an IP address or CIDR block"),
        )
    };
    let ip: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
    if let Some(p) = prefix {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        match p.parse::<u8>() {
            Ok(n) if n <= max && !p.starts_with('+') => {}
            _ => return Err(bad()),
        }
    }
    Ok(())
}

/// An IPv4 address in dotted form (the spec's `format: ipv4`).
pub(crate) fn ipv4(field: &'static str, value: &str) -> Result<()> {
    value
        .parse::<std::net::Ipv4Addr>()
        .map(drop)
        .map_err(|_| invalid(field, format!("{value:?} is not an IPv4 address")))
}

/// A port (`"0"` for every port, else 1..=65535) or a range `"8000-9000"` (low ≤ high).
pub(crate) fn ports(field: &'static str, value: &str) -> Result<()> {
    let port = |p: &str| -> Option<u16> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let ok = match value.split_once('-') {
        None => port(value).is_some(),
        Some((lo, hi)) => matches!((port(lo), port(hi)), (Some(l), Some(h)) if 1 <= l && l <= h),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!(
                "{value:?} is not a port (1-65535, or \"0\" for all) or a range like \"8000-9000\""
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn droplet_names_follow_the_spec_pattern() {
        for ok in [
            "web-1",
            "a",
            "example.com",
            "A1",
            "-x",
            "sub-01.example.com",
        ] {
            droplet_name(ok).unwrap();
        }
        for bad in ["", "web_1", "bad name", "trailing-", "trailing.", "é", "a!"] {
            assert!(droplet_name(bad).is_err(), "{bad}");
        }
        droplet_name(&"a".repeat(255)).unwrap();
        assert!(droplet_name(&"a".repeat(256)).is_err());
    }

    #[test]
    fn limits() {
        assert!(droplet_names(&[]).is_err());
        assert!(droplet_names(&vec!["a".to_owned(); 11]).is_err());
        droplet_names(&vec!["a".to_owned(); 10]).unwrap();
        user_data(Some(&"x".repeat(MAX_USER_DATA_BYTES))).unwrap();
        assert!(user_data(Some(&"x".repeat(MAX_USER_DATA_BYTES + 1))).is_err());
        per_page(200).unwrap();
        assert!(per_page(201).is_err());
        assert!(per_page(0).is_err());
        tag_name("env:prod_1-a").unwrap();
        assert!(tag_name("bad tag").is_err());
        assert!(id("droplet_id", 0).is_err());
    }

    #[test]
    fn uuids_names_addresses_and_ports() {
        uuid("id", "bb4b2611-3d72-467b-8602-280330ecd65c").unwrap();
        uuid("id", "BB4B2611-3D72-467B-8602-280330ECD65C").unwrap();
        for bad in [
            "",
            "bb4b2611",
            "bb4b2611-3d72-467b-8602-280330ecd65",
            "gb4b2611-3d72-467b-8602-280330ecd65c",
            "bb4b26113d72-467b-8602-280330ecd65c-",
        ] {
            assert!(uuid("id", bad).is_err(), "{bad}");
        }
        for ok in ["fw", "web-fw.1", "9a"] {
            dotted_name("name", "firewall", ok).unwrap();
        }
        for bad in ["", "a", "-fw", ".fw", "fw_1", "fw 1", "fé"] {
            assert!(dotted_name("name", "firewall", bad).is_err(), "{bad}");
        }
        for ok in [
            "1.2.3.4",
            "18.0.0.0/8",
            "0.0.0.0/0",
            "::/0",
            "2001:db8::/32",
            "::1",
        ] {
            ip_or_cidr("addresses", ok).unwrap();
        }
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4/33",
            "::/129",
            "1.2.3.4/",
            "1.2.3.4/+8",
            "example.com",
            "10.0.0.0/8/8",
        ] {
            assert!(ip_or_cidr("addresses", bad).is_err(), "{bad}");
        }
        ipv4("reserved_ip", "192.0.2.1").unwrap();
        plain_name("name", "vpc", "env.prod-1").unwrap();
        for bad in ["", "a b", "a_b", "ä"] {
            assert!(plain_name("name", "vpc", bad).is_err(), "{bad}");
        }
        max_len("description", &"é".repeat(255), 255).unwrap();
        assert!(max_len("description", &"x".repeat(256), 255).is_err());
        cidr("ip_range", "10.10.10.0/24").unwrap();
        assert!(cidr("ip_range", "10.10.10.0").is_err());
        for bad in ["192.0.2.1/32", "2001:db8::1", "192.0.2", ""] {
            assert!(ipv4("reserved_ip", bad).is_err(), "{bad}");
        }
        for ok in ["0", "22", "65535", "8000-9000", "1-65535", "80-80"] {
            ports("ports", ok).unwrap();
        }
        for bad in [
            "",
            "all",
            "65536",
            "-1",
            "9000-8000",
            "0-10",
            "22-",
            "+22",
            "2 2",
            "1-2-3",
        ] {
            assert!(ports("ports", bad).is_err(), "{bad}");
        }
        assert!(ids("droplet_ids", &[]).is_err());
        assert!(ids("droplet_ids", &[1, 0]).is_err());
        ids("droplet_ids", &[1, 2]).unwrap();
        assert!(tag_names(&[]).is_err());
        assert!(tag_names(&["ok".into(), "not ok".into()]).is_err());
    }
}

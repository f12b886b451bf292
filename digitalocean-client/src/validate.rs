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
}

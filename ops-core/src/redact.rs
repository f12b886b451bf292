//! One redaction layer for everything a process writes (issue #17).
//!
//! A [`Redactor`] holds every secret the process knows — tokens, passwords, the password of
//! a URL's userinfo, key bodies — and scrubs them out of text and bytes, raw and in their
//! JSON-escaped form. The clients already keep their own credentials out of their errors;
//! this is the process-wide layer on top, for what a client cannot know (a secret of one
//! provider echoed by another, a key body in a cloud-init document, a URL password in a
//! message). Clones share one set of secrets, so a binary makes one, registers secrets as
//! it reads them, and hands clones to every output path: its stdout and `tracing` writers,
//! the journals ([`ProvisionConfig::redactor`](crate::provision::ProvisionConfig::redactor)),
//! HTML.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, RwLock};

use secrecy::{ExposeSecret, SecretString};

pub use ops_http_retry::REDACTED;

/// The secrets of a process; see the [module docs](self).
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<SecretString>>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.len())
            .finish()
    }
}

impl Redactor {
    /// A redactor that knows no secret yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers `secret` (trimmed). Values shorter than 4 bytes are ignored: scrubbing them
    /// would mangle ordinary words and they protect nothing.
    pub fn add(&self, secret: &SecretString) {
        let s = secret.expose_secret().trim();
        if s.len() < 4 {
            return;
        }
        let mut all = self.secrets.write().unwrap_or_else(|p| p.into_inner());
        if !all.iter().any(|k| k.expose_secret() == s) {
            all.push(SecretString::from(s.to_owned()));
        }
    }

    /// Remembers the password of `url`'s userinfo (`http://user:password@host/`), if any,
    /// and its percent-decoded form.
    ///
    /// Read leniently by hand rather than with `url::Url`: a URL the parser refuses (a space,
    /// a bad port, libpq's `host1,host2` lists) is still echoed in the error that refuses it,
    /// and its password must not be.
    pub fn add_url_password(&self, url: &str) {
        let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
            return;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let Some((userinfo, _host)) = authority.rsplit_once('@') else {
            return;
        };
        if let Some((_user, password)) = userinfo.split_once(':') {
            self.add(&SecretString::from(password.to_owned()));
            if let Ok(decoded) = percent_decode(password) {
                self.add(&SecretString::from(decoded));
            }
        }
    }

    /// How many secrets are known.
    pub fn len(&self) -> usize {
        self.secrets.read().map_or(0, |s| s.len())
    }

    /// Whether no secret is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `text` with every known secret replaced by [`REDACTED`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Only whole secrets (valid UTF-8) were replaced by ASCII: still UTF-8.
            Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
        }
    }

    /// `bytes` with every known secret (raw and JSON-escaped) replaced by [`REDACTED`].
    pub fn redact_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let all = self.secrets.read().unwrap_or_else(|p| p.into_inner());
        if all.is_empty() {
            return Cow::Borrowed(bytes);
        }
        let plain: Vec<&str> = all.iter().map(|s| s.expose_secret()).collect();
        match ops_http_retry::scrub(bytes, &plain) {
            Cow::Borrowed(_) => Cow::Borrowed(bytes),
            Cow::Owned(b) => Cow::Owned(b),
        }
    }
}

fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_no_parser_accepts_still_has_its_password_kept() {
        let r = Redactor::new();
        for (url, password) in [
            ("http://ops:pa ss@host:99999/", "pa ss"),
            ("postgres://qa:s3cr%2Ft@db1,db2:5433/qa", "s3cr/t"),
            ("nagios://u:pw-1234@[::1/", "pw-1234"),
        ] {
            r.add_url_password(url);
            let line = format!("error: `{url}` is not usable ({password})");
            let out = r.redact(&line);
            assert!(!out.contains(password), "{out}");
        }
    }

    #[test]
    fn clones_share_secrets_and_every_form_is_scrubbed() {
        let r = Redactor::new();
        let out = r.clone();
        r.add(&SecretString::from("  tok-123456 ".to_owned()));
        r.add(&SecretString::from("abc".to_owned()));
        r.add_url_password("http://ops:p%40ss-word@127.0.0.1:9/x@y");
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(
            out.redact("a tok-123456 b p%40ss-word c p@ss-word abc"),
            "a [REDACTED] b [REDACTED] c [REDACTED] abc"
        );
        assert_eq!(
            &*out.redact_bytes(br#"{"e":"tok-123456"}"#),
            br#"{"e":"[REDACTED]"}"#
        );
        assert!(matches!(out.redact("nothing"), Cow::Borrowed(_)));
        assert!(!format!("{out:?}").contains("tok-"));
    }
}

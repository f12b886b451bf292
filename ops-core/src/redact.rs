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

use aho_corasick::AhoCorasick;
use secrecy::{ExposeSecret, SecretString};

pub use ops_http_retry::REDACTED;

/// The secrets of a process; see the [module docs](self).
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Secrets>>,
}

/// How many secrets one sealed search automaton covers.
const SEAL: usize = 64;

/// The known secrets, and how they are searched: text is scanned once per sealed group of
/// [`SEAL`] secrets (an Aho-Corasick automaton over both forms of each), and once per form
/// of the few not yet sealed. A fleet registers a client key per host, and every journal
/// write and log line is redacted: searching secret by secret made each write cost
/// O(hosts), a 1,000-host fleet O(hosts²) (issue #21 measured it as the fleet's bound).
///
/// The automata hold copies of the secrets' bytes for the process's lifetime, as the
/// secrets themselves are; they are never printed (no `Debug`).
#[derive(Default)]
struct Secrets {
    all: Vec<SecretString>,
    sealed: Vec<AhoCorasick>,
}

impl Secrets {
    /// Every form a secret is searched in: raw, and as it reads inside a JSON string.
    fn forms(s: &str) -> [String; 2] {
        [s.to_owned(), ops_http_retry::json_escaped(s)]
    }

    fn push(&mut self, s: &str) {
        self.all.push(SecretString::from(s.to_owned()));
        let done = self.sealed.len() * SEAL;
        if self.all.len() - done == SEAL {
            let forms = self.all[done..]
                .iter()
                .flat_map(|k| Self::forms(k.expose_secret()));
            // Building fails only beyond the automaton's size limits; the group then stays
            // unsealed and is searched form by form.
            if let Ok(ac) = AhoCorasick::new(forms) {
                self.sealed.push(ac);
            }
        }
    }

    /// The byte ranges of every occurrence of every form of every secret (overlaps kept).
    fn matches(&self, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        for ac in &self.sealed {
            found.extend(ac.find_overlapping_iter(hay).map(|m| (m.start(), m.end())));
        }
        for k in &self.all[self.sealed.len() * SEAL..] {
            for form in Self::forms(k.expose_secret()) {
                found.extend(
                    memchr::memmem::find_iter(hay, form.as_bytes()).map(|at| (at, at + form.len())),
                );
            }
        }
        found
    }
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
        if !all.all.iter().any(|k| k.expose_secret() == s) {
            all.push(s);
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
        self.secrets.read().map_or(0, |s| s.all.len())
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
        let mut found = {
            let all = self.secrets.read().unwrap_or_else(|p| p.into_inner());
            if all.all.is_empty() {
                return Cow::Borrowed(bytes);
            }
            all.matches(bytes)
        };
        if found.is_empty() {
            return Cow::Borrowed(bytes);
        }
        // Overlapping or touching occurrences become one replacement.
        found.sort_unstable();
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        let mut i = 0;
        while i < found.len() {
            let (start, mut end) = found[i];
            while i + 1 < found.len() && found[i + 1].0 <= end {
                i += 1;
                end = end.max(found[i].1);
            }
            out.extend_from_slice(&bytes[at..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            at = end;
            i += 1;
        }
        out.extend_from_slice(&bytes[at..]);
        Cow::Owned(out)
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

    /// More secrets than one sealed group (several groups and an unsealed tail), with
    /// overlapping and JSON-escaped occurrences: every one is gone, the text between stays.
    #[test]
    fn many_secrets_are_all_scrubbed_in_one_pass_each() {
        let r = Redactor::new();
        let keys: Vec<String> = (0..SEAL * 3 + 7)
            .map(|i| format!("-----BEGIN KEY-----\nkey-{i:04}-body\n-----END KEY-----"))
            .collect();
        for k in &keys {
            r.add(&SecretString::from(k.clone()));
        }
        r.add(&SecretString::from(
            "key-0001-body\n-----END KEY-----tail".to_owned(),
        ));
        assert_eq!(r.len(), keys.len() + 1);
        for (i, k) in keys.iter().enumerate() {
            let json = ops_http_retry::json_escaped(k);
            let text = format!("a {k} b {json} c {i}");
            let out = r.redact(&text);
            assert_eq!(out, format!("a {REDACTED} b {REDACTED} c {i}"), "key {i}");
        }
        // Two secrets that overlap make one replacement covering both.
        let text = format!("x {}tail y", keys[1]);
        assert_eq!(r.redact(&text), format!("x {REDACTED} y"));
        assert!(matches!(r.redact("key-0001 alone"), Cow::Borrowed(_)));
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

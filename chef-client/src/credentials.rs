//! The Chef credentials file (`~/.chef/credentials`), as Chef Workstation and knife use it.
//!
//! ```toml
//! [default]
//! client_name = "alice"
//! client_key = "~/.chef/alice.pem"          # a path (~ and relative paths are resolved)
//! chef_server_url = "https://chef.example.com/organizations/acme"
//!
//! [prod]
//! client_name = "deploy"
//! client_key = """
//! -----BEGIN RSA PRIVATE KEY-----
//! ...inline keys work too...
//! -----END RSA PRIVATE KEY-----
//! """
//! chef_server_url = "https://chef.prod.example.com/organizations/acme"
//! ```
//!
//! The profile is chosen by the caller, else the `CHEF_PROFILE` environment variable, else
//! the first line of `~/.chef/context`, else `default`. Every error names the file and the
//! profile/setting at fault, and never quotes the file's contents.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::error::{Error, Result};

/// A parsed credentials file.
#[derive(Clone)]
pub struct Credentials {
    path: PathBuf,
    profiles: BTreeMap<String, toml::Table>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("path", &self.path)
            .field("profiles", &self.profiles.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// One resolved profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Profile name (`default`, `prod`, …).
    pub name: String,
    /// `client_name` (or knife's `node_name`).
    pub client_name: String,
    /// `client_key`: a path or an inline PEM.
    pub client_key: ProfileKey,
    /// `chef_server_url`, usually with `/organizations/ORG`.
    pub chef_server_url: String,
    /// The file the profile came from.
    pub source: PathBuf,
}

/// Where a profile's key lives.
#[derive(Debug, Clone)]
pub enum ProfileKey {
    /// A PEM file (already resolved: `~` expanded, relative to the credentials file).
    Path(PathBuf),
    /// A PEM key written inline in the credentials file.
    Inline(SecretString),
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

impl Credentials {
    /// The default location, `~/.chef/credentials`.
    pub fn default_path() -> Result<PathBuf> {
        home_dir()
            .map(|h| h.join(".chef").join("credentials"))
            .ok_or_else(|| {
                Error::Config("cannot locate ~/.chef/credentials: HOME is not set".into())
            })
    }

    /// Load `~/.chef/credentials`.
    pub fn load_default() -> Result<Self> {
        Self::load(Self::default_path()?)
    }

    /// Load a credentials file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "cannot read credentials file {}: {}",
                path.display(),
                e.kind()
            ))
        })?;
        Self::parse(&text, path)
    }

    /// Parse credentials text; `path` is only used to resolve relative key paths and in
    /// error messages.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            Error::Config(format!(
                "cannot parse credentials file {}{}: invalid TOML ({})",
                path.display(),
                line.map(|l| format!(" at line {l}")).unwrap_or_default(),
                e.message()
            ))
        })?;
        let mut profiles = BTreeMap::new();
        for (name, value) in table {
            match value {
                toml::Value::Table(t) => {
                    profiles.insert(name, t);
                }
                _ => {
                    return Err(Error::Config(format!(
                        "credentials file {}: top-level key `{name}` is not a [profile] table",
                        path.display()
                    )));
                }
            }
        }
        Ok(Self { path, profiles })
    }

    /// The file this was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Profile names in the file.
    pub fn profile_names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// Resolve a profile: `name`, else `CHEF_PROFILE`, else `~/.chef/context`, else `default`.
    pub fn profile(&self, name: Option<&str>) -> Result<Profile> {
        let env = std::env::var("CHEF_PROFILE").ok();
        let context = home_dir().map(|h| h.join(".chef").join("context"));
        let chosen = select_profile_name(name, env.as_deref(), context.as_deref());
        self.named_profile(&chosen)
    }

    /// A profile by its exact name, ignoring the environment.
    pub fn named_profile(&self, name: &str) -> Result<Profile> {
        let file = self.path.display();
        let table = self.profiles.get(name).ok_or_else(|| {
            let available: Vec<&str> = self.profile_names().collect();
            Error::Config(format!(
                "credentials file {file}: no profile [{name}] (available: {})",
                if available.is_empty() {
                    "none".to_owned()
                } else {
                    available.join(", ")
                }
            ))
        })?;
        let get = |key: &str| -> Result<Option<String>> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
                Some(_) => Err(Error::Config(format!(
                    "credentials file {file}: profile [{name}] setting `{key}` must be a non-empty string"
                ))),
            }
        };
        let missing = |key: &str| {
            Error::Config(format!(
                "credentials file {file}: profile [{name}] is missing `{key}`"
            ))
        };
        let client_name = match get("client_name")? {
            Some(n) => n,
            None => get("node_name")?.ok_or_else(|| missing("client_name"))?,
        };
        let chef_server_url = get("chef_server_url")?.ok_or_else(|| missing("chef_server_url"))?;
        crate::client::parse_server_url(&chef_server_url).map_err(|_| {
            Error::Config(format!(
                "credentials file {file}: profile [{name}] setting `chef_server_url` is not an http(s) URL"
            ))
        })?;
        let raw_key = get("client_key")?.ok_or_else(|| missing("client_key"))?;
        // Anything that looks like key material is inline, never a path: a path would be
        // printed by `Debug` and by "cannot read key file" errors. A PEM with a stray first
        // line (or any multi-line value) used to be taken for a path.
        let client_key = if raw_key.contains("-----BEGIN") || raw_key.contains(['\n', '\r']) {
            ProfileKey::Inline(SecretString::from(raw_key))
        } else {
            ProfileKey::Path(self.resolve_path(&raw_key))
        };
        Ok(Profile {
            name: name.to_owned(),
            client_name,
            client_key,
            chef_server_url,
            source: self.path.clone(),
        })
    }

    fn resolve_path(&self, raw: &str) -> PathBuf {
        if let Some(rest) = raw.strip_prefix("~/") {
            if let Some(home) = home_dir() {
                return home.join(rest);
            }
        }
        let p = PathBuf::from(raw);
        if p.is_absolute() {
            p
        } else {
            self.path.parent().map(|d| d.join(&p)).unwrap_or(p)
        }
    }
}

/// Profile precedence: explicit, `CHEF_PROFILE`, the context file, `default`.
fn select_profile_name(
    explicit: Option<&str>,
    env: Option<&str>,
    context: Option<&Path>,
) -> String {
    let nonempty = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_owned())
    };
    explicit
        .and_then(nonempty)
        .or_else(|| env.and_then(nonempty))
        .or_else(|| {
            context
                .and_then(|p| std::fs::read_to_string(p).ok())
                .and_then(|t| t.lines().next().and_then(nonempty))
        })
        .unwrap_or_else(|| "default".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const FILE: &str = r#"
[default]
client_name = "alice"
client_key = "keys/alice.pem"
chef_server_url = "https://chef.example.com/organizations/acme"

[prod]
node_name = "deploy"
client_key = """
-----BEGIN RSA PRIVATE KEY-----
SECRETLINE
-----END RSA PRIVATE KEY-----
"""
chef_server_url = "https://chef.prod.example.com/organizations/acme/"

[abs]
client_name = "bob"
client_key = "/etc/chef/bob.pem"
chef_server_url = "https://chef"

[broken]
client_name = "x"
client_key = 42
chef_server_url = "https://chef"

[nourl]
client_name = "x"
client_key = "/k.pem"
"#;

    /// Found by the property tests (issue #15): an inline key whose first line is not the
    /// `-----BEGIN` line was taken for a file path, so `Debug` of the profile (and the
    /// "cannot read Chef client key <path>" error) printed the private key.
    #[test]
    fn an_inline_key_with_a_stray_first_line_is_never_taken_for_a_path() {
        let text = "[p]\nclient_name = \"x\"\nchef_server_url = \"https://chef\"\n\
                    client_key = \"\"\"\n[\n-----BEGIN RSA PRIVATE KEY-----\nSECRETLINE\n\
                    -----END RSA PRIVATE KEY-----\n\"\"\"\n";
        let p = Credentials::parse(text, "/c")
            .unwrap()
            .named_profile("p")
            .unwrap();
        assert!(matches!(p.client_key, ProfileKey::Inline(_)));
        assert!(!format!("{p:?}").contains("SECRETLINE"));
    }

    fn creds() -> Credentials {
        Credentials::parse(FILE, "/home/u/.chef/credentials").unwrap()
    }

    #[test]
    fn profiles_resolve() {
        let c = creds();
        let p = c.named_profile("default").unwrap();
        assert_eq!(p.client_name, "alice");
        assert!(
            matches!(&p.client_key, ProfileKey::Path(k) if k == Path::new("/home/u/.chef/keys/alice.pem"))
        );
        let p = c.named_profile("prod").unwrap();
        assert_eq!(p.client_name, "deploy");
        let ProfileKey::Inline(pem) = &p.client_key else {
            panic!()
        };
        assert!(pem.expose_secret().contains("SECRETLINE"));
        assert!(!format!("{p:?}").contains("SECRETLINE"));
        assert!(!format!("{c:?}").contains("SECRETLINE"));
        let p = c.named_profile("abs").unwrap();
        assert!(
            matches!(&p.client_key, ProfileKey::Path(k) if k == Path::new("/etc/chef/bob.pem"))
        );
    }

    #[test]
    fn errors_name_file_and_key() {
        let c = creds();
        let e = c.named_profile("broken").unwrap_err().to_string();
        assert!(
            e.contains("/home/u/.chef/credentials")
                && e.contains("client_key")
                && e.contains("[broken]"),
            "{e}"
        );
        let e = c.named_profile("nourl").unwrap_err().to_string();
        assert!(
            e.contains("/home/u/.chef/credentials") && e.contains("chef_server_url"),
            "{e}"
        );
        let e = c.named_profile("nope").unwrap_err().to_string();
        assert!(
            e.contains("no profile [nope]") && e.contains("default, nourl, prod"),
            "{e}"
        );
        let e = Credentials::parse(
            "[default]\nclient_key = \"-----BEGIN SECRET\nx",
            "/tmp/creds",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/tmp/creds") && e.contains("line"), "{e}");
        assert!(!e.contains("BEGIN SECRET"), "{e}");
        let e = Credentials::load("/nonexistent/credentials")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/credentials"), "{e}");
    }

    #[test]
    fn profile_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = dir.path().join("context");
        assert_eq!(select_profile_name(None, None, None), "default");
        assert_eq!(select_profile_name(None, None, Some(&ctx)), "default");
        std::fs::write(&ctx, "staging\n").unwrap();
        assert_eq!(select_profile_name(None, None, Some(&ctx)), "staging");
        assert_eq!(select_profile_name(None, Some("prod"), Some(&ctx)), "prod");
        assert_eq!(select_profile_name(None, Some(""), Some(&ctx)), "staging");
        assert_eq!(
            select_profile_name(Some("abs"), Some("prod"), Some(&ctx)),
            "abs"
        );
    }
}

//! cloud-init user data that turns a fresh droplet into a converged Chef node.
//!
//! The generated `#cloud-config` document:
//! 1. installs the extra packages of the spec, and mounts the spec's volumes that have a
//!    `mount` (cloud-init `mounts`: by the device DigitalOcean gives an attached volume);
//! 2. writes `/etc/chef/client.pem` (the node's own API client key, mode 0600),
//!    `/etc/chef/client.rb` and `/etc/chef/first-boot.json` (run list + attributes);
//! 3. optionally blocks non-root processes from the metadata service (see below);
//! 4. installs the Chef client (`install.sh`, optionally a pinned version) and runs the first
//!    converge: `chef-client -j /etc/chef/first-boot.json -E <environment>`;
//! 5. runs the spec's extra commands.
//!
//! # Trade-off: the client key travels in user data
//!
//! This is the validatorless flow of `knife bootstrap`, except that the key reaches the host
//! through user data instead of over SSH. That removes the SSH round trip (and the
//! "SSH is not ready yet" failures) and lets the first converge start as soon as the droplet
//! boots, which is what makes "a new host in under 2 minutes" possible. The cost:
//!
//! - **User data stays readable on the droplet**: any process on the host can fetch it from
//!   `http://169.254.169.254/metadata/v1/user-data` for the droplet's lifetime, and it is kept
//!   by DigitalOcean. By default ([`BootstrapConfig::restrict_metadata`]) the first boot adds a
//!   firewall rule that only lets root reach the metadata service; it does not protect against
//!   root or against anything that runs before cloud-init's `runcmd`.
//! - **What leaks is small**: the key is the node's *own* client key (a per-node identity
//!   with the node's ACLs), never the organisation's validator key, so a leak cannot register
//!   new clients or touch other nodes. Teardown deletes the client, which revokes the key.
//! - To close the window completely, rotate the client key after the first converge (the Chef
//!   API can re-key a client) — left to operators today.
//!
//! The key is only ever held as a [`SecretString`]; the rendered document is one too, so it
//! cannot reach a log, a journal or `Debug` output. DigitalOcean accepts at most 64 KiB of
//! user data ([`MAX_USER_DATA`]); larger documents are refused before any write.

use secrecy::{ExposeSecret, SecretString};

use super::spec::HostSpec;
use crate::error::{Error, Result};

/// DigitalOcean's user data limit (64 KiB).
pub const MAX_USER_DATA: usize = 64 * 1024;

/// How hosts reach the Chef server and install the Chef client.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BootstrapConfig {
    /// Chef server URL including the organisation, e.g.
    /// `https://chef.example.com/organizations/ops`.
    pub chef_server_url: String,
    /// Installer script URL.
    #[serde(default = "default_install_url")]
    pub install_url: String,
    /// Pin a Chef client version (`-v`), e.g. `18.4.12`.
    #[serde(default)]
    pub chef_version: Option<String>,
    /// Value of `chef_license` in `client.rb` (`accept`, `accept-no-persist`), if needed.
    #[serde(default)]
    pub chef_license: Option<String>,
    /// Only root may reach the metadata service after first boot (default true).
    #[serde(default = "default_true")]
    pub restrict_metadata: bool,
}

fn default_install_url() -> String {
    "https://omnitruck.chef.io/install.sh".to_string()
}

fn default_true() -> bool {
    true
}

impl BootstrapConfig {
    /// A config for `chef_server_url` with the defaults.
    pub fn new(chef_server_url: impl Into<String>) -> Self {
        BootstrapConfig {
            chef_server_url: chef_server_url.into(),
            install_url: default_install_url(),
            chef_version: None,
            chef_license: None,
            restrict_metadata: true,
        }
    }

    /// Problems with the config (checked before any write).
    pub fn check(&self) -> Vec<String> {
        let mut p = Vec::new();
        for (field, v) in [
            ("chef_server_url", &self.chef_server_url),
            ("install_url", &self.install_url),
        ] {
            if !v.starts_with("https://") && !v.starts_with("http://") {
                p.push(format!("bootstrap.{field}: must be an http(s) URL"));
            }
            if !is_plain(v) {
                p.push(format!(
                    "bootstrap.{field}: contains quotes, spaces or control characters"
                ));
            }
        }
        for (field, v) in [
            ("chef_version", &self.chef_version),
            ("chef_license", &self.chef_license),
        ] {
            if let Some(v) = v {
                if v.is_empty()
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
                {
                    p.push(format!("bootstrap.{field}: unexpected characters"));
                }
            }
        }
        p
    }
}

fn is_plain(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_control() || c.is_whitespace() || "'\"\\`$".contains(c))
}

/// A YAML double-quoted scalar (JSON string syntax is a subset of it).
fn yq(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A Ruby single-quoted string literal.
fn rq(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A POSIX shell single-quoted word.
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn block(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        out.push_str(indent);
        out.push_str(line);
        out.push('\n');
    }
}

/// The first-boot JSON: run list plus the spec's attributes.
pub fn first_boot_json(spec: &HostSpec) -> String {
    let mut attrs = spec.chef.attributes.clone();
    attrs.insert("run_list".into(), serde_json::json!(spec.chef.run_list));
    serde_json::Value::Object(attrs).to_string()
}

/// Renders the user data for `spec` with the node's client key.
///
/// Fails (before any write) when the result would exceed [`MAX_USER_DATA`] or the key is not
/// a PEM document.
pub fn render(
    spec: &HostSpec,
    client_key: &SecretString,
    cfg: &BootstrapConfig,
) -> Result<SecretString> {
    let key = client_key.expose_secret();
    if !key.trim_start().starts_with("-----BEGIN") {
        return Err(Error::Validation {
            target: spec.name.clone(),
            problems: vec!["the Chef client key is not a PEM document".into()],
        });
    }
    let node = spec.node_name();
    let mut out = String::with_capacity(4096 + key.len());
    out.push_str("#cloud-config\n");
    out.push_str(&format!("# generated by ops-core for {node}\n"));
    if !spec.user_data.packages.is_empty() {
        out.push_str("packages:\n");
        for p in &spec.user_data.packages {
            out.push_str(&format!("  - {}\n", yq(p)));
        }
    }
    let mounted: Vec<_> = spec
        .volumes
        .iter()
        .filter_map(|v| v.mount.as_ref().map(|m| (v, m)))
        .collect();
    if !mounted.is_empty() {
        // The volumes are attached when the droplet is created, so they are there at first
        // boot; DigitalOcean formats a volume it creates with the spec's filesystem.
        // `nofail`: a volume that is not there does not stop the boot.
        out.push_str("mounts:\n");
        for (v, m) in mounted {
            out.push_str(&format!(
                "  - [{}, {}, {}, \"defaults,nofail,discard,noatime\", \"0\", \"2\"]\n",
                yq(&v.device()),
                yq(m),
                yq(v.filesystem())
            ));
        }
    }
    out.push_str("write_files:\n");
    out.push_str("  - path: /etc/chef/client.pem\n    owner: root:root\n    permissions: '0600'\n    content: |\n");
    block(&mut out, "      ", key);
    let mut client_rb = String::new();
    client_rb.push_str(&format!("chef_server_url {}\n", rq(&cfg.chef_server_url)));
    client_rb.push_str(&format!("node_name {}\n", rq(node)));
    client_rb.push_str("client_key '/etc/chef/client.pem'\n");
    client_rb.push_str(&format!("environment {}\n", rq(&spec.chef.environment)));
    client_rb.push_str("log_location STDOUT\n");
    if let Some(l) = spec.chef.license.as_ref().or(cfg.chef_license.as_ref()) {
        client_rb.push_str(&format!("chef_license {}\n", rq(l)));
    }
    out.push_str("  - path: /etc/chef/client.rb\n    owner: root:root\n    permissions: '0644'\n    content: |\n");
    block(&mut out, "      ", &client_rb);
    out.push_str("  - path: /etc/chef/first-boot.json\n    owner: root:root\n    permissions: '0600'\n    content: |\n");
    block(&mut out, "      ", &first_boot_json(spec));
    out.push_str("runcmd:\n");
    if cfg.restrict_metadata {
        out.push_str(&format!(
            "  - {}\n",
            yq("iptables -A OUTPUT -d 169.254.169.254 -m owner ! --uid-owner 0 -j REJECT || true")
        ));
    }
    let version = spec
        .chef
        .version
        .as_deref()
        .or(cfg.chef_version.as_deref())
        .map(|v| format!(" -v {}", sq(v)))
        .unwrap_or_default();
    out.push_str(&format!(
        "  - {}\n",
        yq(&format!(
            "command -v chef-client >/dev/null || curl -fsSL {} | bash -s --{version}",
            sq(&cfg.install_url)
        ))
    ));
    out.push_str(&format!(
        "  - {}\n",
        yq(&format!(
            "chef-client -j /etc/chef/first-boot.json -E {}",
            sq(&spec.chef.environment)
        ))
    ));
    for c in &spec.user_data.runcmd {
        out.push_str(&format!("  - {}\n", yq(c)));
    }
    if out.len() > MAX_USER_DATA {
        return Err(Error::Validation {
            target: spec.name.clone(),
            problems: vec![format!(
                "user data is {} bytes; DigitalOcean accepts at most {MAX_USER_DATA}",
                out.len()
            )],
        });
    }
    Ok(SecretString::from(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::provision::spec::VolumeSpec;

    const KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";

    fn spec(chef: &str) -> HostSpec {
        HostSpec::from_toml_str(&format!(
            "name = \"web-01\"\nregion = \"nyc3\"\nsize = \"s\"\nimage = \"i\"\n\
             ssh_keys = [\"ops\"]\ndns = {{ zone = \"example.com\" }}\n\
             chef = {{ environment = \"_default\", run_list = [\"role[base]\"]{chef} }}\n"
        ))
        .unwrap()
    }

    fn render_text(spec: &HostSpec, cfg: &BootstrapConfig) -> String {
        render(spec, &SecretString::from(KEY), cfg)
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    /// Issue #17: the Chef client version and license come from the spec (host or
    /// defaults), else from the bootstrap configuration.
    #[test]
    fn the_spec_sets_the_chef_client_version_and_license() {
        let mut cfg = BootstrapConfig::new("https://chef.example.com/organizations/ops");
        let plain = render_text(&spec(""), &cfg);
        assert!(!plain.contains("chef_license"), "{plain}");
        assert!(plain.contains("| bash -s --\""), "no -v: {plain}");

        cfg.chef_version = Some("17.0.0".into());
        cfg.chef_license = Some("accept".into());
        let from_cfg = render_text(&spec(""), &cfg);
        assert!(from_cfg.contains("chef_license 'accept'"), "{from_cfg}");
        assert!(from_cfg.contains("bash -s -- -v '17.0.0'"), "{from_cfg}");

        let s = spec(", version = \"18.4.12\", license = \"accept-no-persist\"");
        let from_spec = render_text(&s, &cfg);
        assert!(
            from_spec.contains("chef_license 'accept-no-persist'"),
            "{from_spec}"
        );
        assert!(from_spec.contains("bash -s -- -v '18.4.12'"), "{from_spec}");
        assert!(s.check().is_empty(), "{:?}", s.check());
        let bad = spec(", license = \"accept; rm -rf /\"");
        assert!(
            bad.check().iter().any(|p| p.starts_with("chef.license")),
            "{:?}",
            bad.check()
        );
    }

    /// Issue #22: a volume with `mount` is mounted by the user data, by the device an
    /// attached DigitalOcean volume shows up as, with its filesystem; one without is not.
    #[test]
    fn volumes_with_a_mount_are_mounted_at_first_boot() {
        let cfg = BootstrapConfig::new("https://chef.example.com/organizations/ops");
        let mut s = spec("");
        assert!(!render_text(&s, &cfg).contains("mounts:"));
        s.volumes = vec![
            VolumeSpec {
                name: "web-01-data".into(),
                size_gib: 20,
                filesystem: Some("xfs".into()),
                mount: Some("/srv/data".into()),
            },
            VolumeSpec {
                name: "web-01-raw".into(),
                size_gib: 5,
                filesystem: None,
                mount: None,
            },
        ];
        assert!(s.check().is_empty(), "{:?}", s.check());
        let text = render_text(&s, &cfg);
        assert!(
            text.contains(
                "mounts:\n  - [\"/dev/disk/by-id/scsi-0DO_Volume_web-01-data\", \"/srv/data\", \"xfs\", \"defaults,nofail,discard,noatime\", \"0\", \"2\"]\n"
            ),
            "{text}"
        );
        assert!(!text.contains("web-01-raw"), "{text}");
        s.volumes[0].mount = Some("/srv/../etc".into());
        s.volumes[1].name = "Bad_Name".into();
        let p = s.check();
        assert!(p.iter().any(|p| p.starts_with("volumes[0].mount")), "{p:?}");
        assert!(p.iter().any(|p| p.starts_with("volumes[1].name")), "{p:?}");
    }
}

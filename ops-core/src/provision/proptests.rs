//! Issue #15: host and fleet specs (TOML and JSON, read from files people edit) decode to a
//! spec or a typed error whatever the text, and what a decoded spec feeds (the merge of
//! fleet defaults, the static checks, the FQDN, the cloud-init user data and first-boot
//! JSON) never panics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use secrecy::SecretString;

use super::cloud_init::{BootstrapConfig, first_boot_json, render};
use super::spec::{FleetSpec, HostSpec};

const FLEET_TOML: &str = r#"
[defaults]
region = "nyc3"
size = "s-1vcpu-1gb"
image = "ubuntu-24-04-x64"
ssh_keys = ["ops@bastion"]
tags = ["web"]
ipv6 = true
dns = { zone = "example.com", ttl = 300 }
chef = { environment = "prod", run_list = ["role[base]"], attributes = { ntp = { servers = ["a", "b"] } } }
user_data = { packages = ["htop"], runcmd = ["echo hi"] }

[[hosts]]
name = "web-01"
chef = { run_list = ["role[base]", "role[web]"] }

[[hosts]]
name = "web-02"
dns = { record = "www2" }
wait_for_monitoring = true
"#;

const HOST_TOML: &str = r#"
name = "db-01"
region = "fra1"
size = "s-2vcpu-2gb"
image = "debian-12-x64"
ssh_keys = ["aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99"]
monitoring_agent = true

[dns]
zone = "example.com."
record = "db"

[chef]
environment = "prod"
run_list = ["recipe[postgresql::server]"]

[chef.attributes.postgresql]
version = 16
"#;

const HOST_JSON: &str = r#"{
  "name": "worker-01", "region": "ams3", "size": "s-4vcpu-8gb", "image": "12345",
  "tags": ["jobs"], "ssh_keys": ["ops@bastion"], "ipv6": false,
  "dns": {"zone": "example.org", "ttl": 60},
  "chef": {"environment": "staging", "run_list": ["role[worker]"], "attributes": {"queue": {"size": 5}}},
  "user_data": {"packages": ["jq"], "runcmd": []}
}"#;

const FLEET_JSON: &str = r#"{
  "defaults": {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64",
               "ssh_keys": ["ops@bastion"], "dns": {"zone": "example.com"},
               "chef": {"environment": "prod", "run_list": ["role[base]"]}},
  "hosts": [{"name": "app-01"}, {"name": "app-02", "ipv6": true, "tags": ["x"]}]
}"#;

const FIELDS: &[&str] = &[
    "defaults",
    "hosts",
    "name",
    "region",
    "size",
    "image",
    "tags",
    "ssh_keys",
    "ipv6",
    "monitoring_agent",
    "dns",
    "zone",
    "record",
    "ttl",
    "chef",
    "environment",
    "run_list",
    "attributes",
    "user_data",
    "packages",
    "runcmd",
    "wait_for_monitoring",
];

const KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n";

/// What the workflow does with a host spec before and while it provisions.
fn use_host(h: &HostSpec) {
    let _ = h.check();
    let _ = (h.fqdn(), h.record_name(), h.node_name());
    let _ = first_boot_json(h);
    let cfg = BootstrapConfig::new("https://chef.example.com/organizations/acme");
    let _ = render(h, &SecretString::from(KEY), &cfg).map_err(|e| e.to_string());
}

fn use_fleet(f: &FleetSpec) {
    match f.hosts() {
        Ok(hosts) => hosts.iter().for_each(use_host),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn json_corpus() -> Vec<serde_json::Value> {
    [HOST_JSON, FLEET_JSON]
        .iter()
        .map(|t| serde_json::from_str(t).unwrap())
        .collect()
}

#[test]
fn the_sample_specs_decode() {
    use_fleet(&FleetSpec::from_toml_str(FLEET_TOML).unwrap());
    use_fleet(&FleetSpec::from_json_str(FLEET_JSON).unwrap());
    use_host(&HostSpec::from_toml_str(HOST_TOML).unwrap());
    use_host(&HostSpec::from_json_str(HOST_JSON).unwrap());
}

proptest! {
    #![proptest_config(ops_proptest::config())]

    #[test]
    fn proptest_spec_toml_decodes_or_fails_typed(text in prop_oneof![
        3 => ops_proptest::toml_mutated(vec![FLEET_TOML.to_owned(), HOST_TOML.to_owned()]),
        1 => ops_proptest::text_mutated(vec![FLEET_TOML.to_owned(), HOST_TOML.to_owned()]),
    ]) {
        match FleetSpec::from_toml_str(&text) {
            Ok(f) => use_fleet(&f),
            Err(e) => prop_assert!(matches!(e, crate::Error::SpecParse { .. }), "{e:?}"),
        }
        if let Ok(h) = HostSpec::from_toml_str(&text) {
            use_host(&h);
        }
    }

    #[test]
    fn proptest_spec_json_decodes_or_fails_typed(text in prop_oneof![
        ops_proptest::json_mutated(json_corpus()).prop_map(|v| v.to_string()),
        ops_proptest::text_mutated(vec![FLEET_JSON.to_owned(), HOST_JSON.to_owned()]),
        ops_proptest::json_arbitrary(FIELDS).prop_map(|v| v.to_string()),
    ]) {
        match FleetSpec::from_json_str(&text) {
            Ok(f) => use_fleet(&f),
            Err(e) => prop_assert!(matches!(e, crate::Error::SpecParse { format: "JSON", .. }), "{e:?}"),
        }
        if let Ok(h) = HostSpec::from_json_str(&text) {
            use_host(&h);
        }
    }
}

//! The file formats the binaries read, as complete commented examples, and the sandbox's
//! built-in values: shown at the end of `--help` and in `examples/README.md` (a test checks
//! that the README carries these texts verbatim and that each example is valid).

/// A fleet spec (`provision --spec`, `teardown --spec`), every field shown.
pub const FLEET_SPEC_EXAMPLE: &str = r#"# fleet.toml: `provision --spec fleet.toml`, `teardown --spec fleet.toml` (or .json, same shape).
# Any host field may be set in [defaults] or on the host: the host wins, tags add up.
# Unknown fields are refused.
[defaults]
region = "nyc3"                 # DigitalOcean region slug
size = "s-1vcpu-1gb"            # droplet size slug
image = "ubuntu-24-04-x64"      # image slug or numeric id
ssh_keys = ["ops"]              # account SSH keys by name or MD5 fingerprint; at least one
tags = ["web"]                  # extra droplet tags (the tool adds ops-core, ops-run:RUN, ops-batch:BATCH)
ipv6 = false                    # a public IPv6 address and an AAAA record
monitoring_agent = false        # DigitalOcean's monitoring agent
wait_for_monitoring = false     # last step: wait until nagios-api (NAGIOS_API_URL) reports the host UP

[defaults.dns]
zone = "example.com"            # a zone of the DNS provider (--dns dyn|digitalocean)
ttl = 300                       # optional; default: the zone's

[defaults.chef]
environment = "_default"
run_list = ["role[base]", "recipe[user_setup]"]
version = "18.4.12"             # optional: Chef Infra Client to install (default: latest); --chef-version overrides
license = "accept"              # optional: chef_license in client.rb; --chef-license overrides
attributes = { ntp = { servers = ["0.pool.ntp.org"] } }   # first-boot (normal) attributes

[defaults.user_data]
packages = ["htop"]             # installed before Chef
runcmd = ["touch /etc/provisioned"]   # run after the first converge

[defaults.vpc]                  # optional: the droplets' private network (default: the region's default VPC)
name = "prod-net"               # used when the account has a VPC of that name in the host's region, else created
ip_range = "10.20.0.0/20"       # optional: the range of a created VPC (default: DigitalOcean's choice)

[[defaults.firewalls]]          # optional, repeatable: cloud firewalls applied to each droplet, by name
name = "web-fw"                 # used if the account has it; else created with these rules (teardown removes it once unused)
inbound = [                     # addresses: CIDR ranges (default: anywhere); ports: a port, a range 8000-9000, or all
  { protocol = "tcp", ports = "22", addresses = ["192.0.2.0/24"] },
  { protocol = "tcp", ports = "443" },
]
outbound = [{ protocol = "tcp", ports = "all" }, { protocol = "icmp" }]   # no rules at all: the firewall must exist

[[defaults.volumes]]            # optional, repeatable: block storage attached at droplet create, by name in the host's region
name = "{host}-data"            # {host}: the host name; used if the account has it unattached, else created (tagged ops-core, ops-run:RUN)
size_gib = 20                   # size of a created volume, 1 to 16384
filesystem = "ext4"             # ext4 (default) or xfs: DigitalOcean formats a created volume with it
mount = "/srv/data"             # optional: mounted there at first boot by the cloud-init user data (nofail)

[defaults.project]              # optional: the project of the droplet, its volumes and reserved IP (default: the account's default)
name = "web"                    # used if the account has a project of that name, else created (teardown removes it once empty)
purpose = "Web Application"     # optional: the purpose of a created project

[defaults.alerts]               # optional: monitoring alert policies on each droplet, removed with the host
cpu_percent = 90                # CPU above 90% for `window`; disk_percent = 85 too (needs monitoring_agent = true)
window = "5m"                   # 5m (default), 10m, 30m or 1h
emails = ["ops@example.com"]    # who is told: addresses verified on the DigitalOcean account

[[hosts]]
name = "web-01"                 # droplet, Chef node and Chef client name; record web-01.example.com
reserved_ip = {}                # optional: reserve a new static IP for the droplet, or { address = "203.0.113.7" } to assign one the account has

[[hosts]]
name = "web-02"
dns = { record = "www" }        # record name relative to the zone (default: the host name)
chef = { run_list = ["role[base]", "recipe[user_setup]", "recipe[nginx]"] }
"#;

/// A users source (`key-sync --users`), every field shown.
pub const USERS_EXAMPLE: &str = r#"# users.toml: `key-sync --users users.toml`, or a directory of *.toml / *.json files
# (one user per file: the same fields without [[users]]). Unknown fields are refused.
[[users]]
id = "alice"                    # user name, and the id of the `users` data bag item
groups = ["sysadmin"]           # sysadmin is the admin group: it must keep a member with a key
shell = "/bin/bash"             # optional: left as it is when omitted
state = "present"               # default; "removed" removes the account on every host
ssh_keys = [                    # OpenSSH public key lines (RSA of 2048+ bits, ECDSA, Ed25519, FIDO)
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBeWCdqgTHkMwwiXNHKPGKc95MkBGbrhAnMZ8fJb2Vrh alice@laptop",
]

[[users]]
id = "bob"
groups = ["sysadmin", "deploy"]
ssh_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAxQsMBt80t6AAc7q16+iVlm2MWVPWtP1LmH9LKGhg6m bob@laptop"]

[[users]]
id = "carol"                    # left the company: her account goes, her managed keys too
state = "removed"
"#;

/// A status page configuration (`status --config`), every field shown.
pub const STATUS_EXAMPLE: &str = r#"# status.toml: `status --config status.toml`. Unknown fields are refused.
page_name = "Example Status"    # the page's title
stale_after_secs = 600          # nagios-api data older than this: the whole page says stale (default 600)
member_stale_after_secs = 900   # optional: a member last checked longer ago is unknown (default: stale_after_secs)
history_days = 90               # days of uptime bars and incidents from Nagios's log (default 90; 0: none)
log_archive_path = "/var/log/nagios4/archives"   # optional: older days from Nagios's archived logs
objects_cache = "/var/cache/nagios4/objects.cache"   # optional: resolves group: members

[[components]]
name = "Website"                # shown on the page; unique
description = "The public web servers"   # optional
members = ["web-01", "web-02"]  # Nagios host names: the host check and all its services...

[[components]]
name = "Database"
members = ["db-01:PostgreSQL"]  # ...or "host:service": that one service (and its host)

[[components]]
name = "Web fleet"
members = ["group:web-servers"]   # a hostgroup ("servicegroup:NAME" too), from objects_cache

[[components]]
name = "Backups"
members = ["db-01:Backup"]
stale_after_secs = 90000        # optional, per component: above its members' longest check interval
"#;

/// What `--sandbox` provides (and the `sandbox` binary serves).
pub const SANDBOX_VALUES: &str = "\
--sandbox starts fakes of DigitalOcean, Dyn, Chef Server and nagios-api on loopback, empty
at every run (the `sandbox` binary serves one world to several runs). What they hold:
  DigitalOcean  token `sandbox-token` (no other); one account SSH key, `ops`;
                regions nyc3, ams3, fra1; sizes s-1vcpu-1gb, s-2vcpu-2gb, s-4vcpu-8gb;
                images ubuntu-24-04-x64, debian-12-x64; droplets boot in 1.5 s
                (`sandbox --boot-ms`)
  Dyn           zone example.com (customer testkit, user tester)
  Chef Server   organization testorg, admin client `admin` (its key is in the env file's HOME)
  nagios-api    hosts web-01, web-02, db-01 (UP); service db-01:PostgreSQL (OK)
  provision     without --spec: hosts web-01, web-02, db-01 in nyc3, s-1vcpu-1gb,
                ubuntu-24-04-x64, key ops, zone example.com, run-list role[base]
  teardown      without --zone and no journal of the host: zone example.com
  key-sync      without --users: alice and bob (group sysadmin)
  status        its own nagios-api: web-01, web-02, db-01, worker-01 (Queue depth WARNING)
";

/// A `--help` epilogue: `intro`, the commented `example` (if any), the sandbox's values.
pub fn help(intro: &str, example: Option<&str>) -> String {
    match example {
        Some(e) => format!("{intro}\n\n{e}\n{SANDBOX_VALUES}"),
        None => format!("{intro}\n\n{SANDBOX_VALUES}"),
    }
}

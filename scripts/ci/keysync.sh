#!/usr/bin/env bash
# ops-core key-sync end to end: the Chef adapters against a real Chef server (goiardi, started
# by each test on a free loopback port behind a counting proxy) and the DigitalOcean adapter
# against the digitalocean-client testkit fake; 300 nodes and 40 users per test.
# Note: chef-client links OpenSSL, so libssl-dev and pkg-config must be present before any
# cargo step (.ci/run installs them); they are checked here too for standalone runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

need=()
command -v goiardi >/dev/null || need+=(goiardi)
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "keysync.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo test --workspace --locked --test e2e_key_sync_goiardi -- --ignored
echo "keysync.sh: done in $(( $(date +%s) - start ))s"

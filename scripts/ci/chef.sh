#!/usr/bin/env bash
# chef-client conformance: requests signed by the crate are verified by the reference Ruby
# implementation (mixlib-authentication), and every resource is exercised against a real
# goiardi server (auth on) that the tests start themselves on a free loopback port.
# Note: the crate links OpenSSL, so libssl-dev and pkg-config must be present before any
# cargo step (.ci/run installs them); they are checked here too for standalone runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

need=()
command -v goiardi >/dev/null || need+=(goiardi)
command -v ruby >/dev/null || need+=(ruby)
# The Debian package does not pull in ruby itself; check the library separately.
if ! { command -v ruby >/dev/null && ruby -e 'require "openssl"; require "mixlib/authentication/signatureverification"' 2>/dev/null; }; then
  need+=(ruby-mixlib-authentication)
fi
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "chef.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The testkit on its own (no workspace feature unification): it must build and lint with
# only the features it declares. Its tests run in the workspace test step (tests/it).
# target/ci-lint: the folder .ci/run's clippy and rustdoc use (beside the tests), so
# this reuses their checked dependencies.
cargo clippy --target-dir target/ci-lint -p chef-client --locked --features testkit \
  --all-targets -- -D warnings
# `--workspace`: the features of the workspace test step, so its build is reused.
cargo test --workspace --locked --test mixlib -- --ignored
cargo test --workspace --locked --test goiardi -- --ignored
echo "chef.sh: done in $(( $(date +%s) - start ))s"

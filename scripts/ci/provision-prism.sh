#!/usr/bin/env bash
# The provision workflow (issue 7) and the DigitalOcean client surface it uses, end to end
# through `prism proxy --errors` (Prism 5.14.2, DigitalOcean's official OpenAPI spec from
# ../shared/reference/digitalocean/openapi.yaml) in front of the DigitalOcean testkit fake.
# Fails on any request or response that violates the spec (issue 6 and issue 7).
# Installs Node.js (apt) and Prism (npm, into the git-ignored .tools/) if missing:
# scripts/ci/lib/prism.sh, shared with digitalocean.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

# shellcheck source=scripts/ci/lib/prism.sh
. scripts/ci/lib/prism.sh

PRISM_BIN="$PWD/$PRISM_BIN" cargo test --workspace --locked --test e2e_provision_prism -- --ignored
echo "provision-prism.sh: done in $(( $(date +%s) - start ))s"

#!/usr/bin/env bash
# Contract tests for digitalocean-client: drive every implemented endpoint through
# Prism (mock mode, request validation on) loaded with DigitalOcean's official
# OpenAPI spec from ../shared/reference/digitalocean/openapi.yaml.
# Installs Node.js (apt) and Prism (npm, into the git-ignored .tools/) if missing:
# scripts/ci/lib/prism.sh, shared with provision-prism.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

# shellcheck source=scripts/ci/lib/prism.sh
. scripts/ci/lib/prism.sh

PRISM_BIN="$PWD/$PRISM_BIN" cargo test --workspace --locked --test prism -- --ignored
echo "digitalocean.sh: done in $(( $(date +%s) - start ))s"

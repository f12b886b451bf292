#!/usr/bin/env bash
# The provision workflow (issue 7) and the DigitalOcean client surface it uses, end to end
# through `prism proxy --errors` (Prism 5.14.2, DigitalOcean's official OpenAPI spec from
# ../shared/reference/digitalocean/openapi.yaml) in front of the DigitalOcean testkit fake.
# Fails on any request or response that violates the spec (issue 6 and issue 7).
# Installs Node.js (apt) and Prism (npm, into the git-ignored .tools/) if missing — the same
# install as scripts/ci/digitalocean.sh, so the two share one copy.
set -euo pipefail
cd "$(dirname "$0")/../.."

PRISM_VERSION=5.14.2 # 5.16+ needs Node >= 24; 5.14.2 runs on Node >= 18.20
PRISM_DIR=.tools/prism
PRISM_BIN="$PRISM_DIR/node_modules/.bin/prism"
SPEC=../shared/reference/digitalocean/openapi.yaml
start=$(date +%s)

if [ ! -f "$SPEC" ]; then
  echo "provision-prism.sh: $SPEC is missing (the shared/ reference folder must sit next to the repo)" >&2
  exit 1
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "provision-prism.sh: Prism $PRISM_VERSION needs Node.js >= 18.20, found $(node --version)" >&2
  exit 1
fi

if [ ! -x "$PRISM_BIN" ] || [ "$("$PRISM_BIN" --version 2>/dev/null)" != "$PRISM_VERSION" ]; then
  mkdir -p "$PRISM_DIR"
  npm install --prefix "$PRISM_DIR" --no-audit --no-fund --loglevel=error \
    "@stoplight/prism-cli@$PRISM_VERSION"
fi
echo "prism $("$PRISM_BIN" --version) ready after $(( $(date +%s) - start ))s"

PRISM_BIN="$PWD/$PRISM_BIN" cargo test -p ops-workflows --locked --test e2e_provision_prism -- --ignored
echo "provision-prism.sh: done in $(( $(date +%s) - start ))s"

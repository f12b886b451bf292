# Sourced (not run) by scripts/ci/digitalocean.sh and scripts/ci/provision-prism.sh: checks
# DigitalOcean's official OpenAPI spec is there (../shared/reference/digitalocean/openapi.yaml)
# and installs Node.js (apt) and Prism (npm, into the git-ignored .tools/) if missing.
# Expects the repository root as the working folder and `set -euo pipefail`; `start` (the
# script's start time, `date +%s`) is used for the timing line when set. Sets PRISM_VERSION,
# PRISM_DIR, PRISM_BIN (relative to the root) and SPEC. It sits in lib/ so that .ci/run, which
# runs every scripts/ci/*.sh, does not run it on its own. The Rust side of the same launcher
# is ops-proptest's `prism` module.

PRISM_VERSION=5.14.2 # 5.16+ needs Node >= 24; 5.14.2 runs on Node >= 18.20
PRISM_DIR=.tools/prism
PRISM_BIN="$PRISM_DIR/node_modules/.bin/prism"
SPEC=../shared/reference/digitalocean/openapi.yaml
prism_me=$(basename "$0")
start=${start:-$(date +%s)}

if [ ! -f "$SPEC" ]; then
  echo "$prism_me: $SPEC is missing (the shared/ reference folder must sit next to the repo)" >&2
  exit 1
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "$prism_me: Prism $PRISM_VERSION needs Node.js >= 18.20, found $(node --version)" >&2
  exit 1
fi

if [ ! -x "$PRISM_BIN" ] || [ "$("$PRISM_BIN" --version 2>/dev/null)" != "$PRISM_VERSION" ]; then
  mkdir -p "$PRISM_DIR"
  npm install --prefix "$PRISM_DIR" --no-audit --no-fund --loglevel=error \
    "@stoplight/prism-cli@$PRISM_VERSION"
fi
echo "prism $("$PRISM_BIN" --version) ready after $(( $(date +%s) - start ))s"

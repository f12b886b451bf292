#!/usr/bin/env bash
# Conformance suite for nagios-client: a throwaway Nagios 4 plus the real
# nagios-api 1.2.2 (PyPI, Python 2.7) on loopback, driven through the client.
# Installs what is missing (idempotently), then runs the ignored tests.
# Usage: scripts/ci/nagios.sh [--install-only]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

# 1. Nagios 4 and check_dummy (Debian packages).
if ! command -v /usr/sbin/nagios4 >/dev/null || [ ! -x /usr/lib/nagios/plugins/check_dummy ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    nagios4-core monitoring-plugins-basic
fi

# 2. Python 2.7: nagios-api 1.2.2 is Python 2 only (see the crate README).
PY27=${NAGIOS_API_PYTHON:-}
if [ -z "$PY27" ]; then
  for c in /root/.pyenv/versions/2.7.18/bin/python "${PYENV_ROOT:-/nonexistent}"/versions/2.7.18/bin/python python2.7; do
    if command -v "$c" >/dev/null 2>&1; then PY27=$(command -v "$c"); break; fi
  done
fi
if [ -z "$PY27" ]; then
  echo "nagios.sh: no Python 2.7 interpreter found; install one (pyenv install 2.7.18) or set NAGIOS_API_PYTHON" >&2
  exit 1
fi

# 3. nagios-api 1.2.2 and its Python 2 dependencies, into the git-ignored .tools/.
TOOLS=$ROOT/.tools/nagios-api
if [ ! -f "$TOOLS/.installed-1.2.2" ]; then
  rm -rf "$TOOLS"
  mkdir -p "$TOOLS"
  "$PY27" -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$TOOLS" nagios-api==1.2.2 diesel==3.0.24 "greenlet<2" "requests<2.28"
  touch "$TOOLS/.installed-1.2.2"
fi

[ "${1:-}" = "--install-only" ] && exit 0

export NAGIOS_API_PYTHON=$PY27
export NAGIOS_API_HOME=$TOOLS
# `--workspace`: the features of the workspace test step, so its build is reused (the
# testkit's own tests and doc tests run there, in tests/it and the doc-test step).
cargo test --workspace --locked --test conformance -- --ignored --test-threads=1

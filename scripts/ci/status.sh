#!/usr/bin/env bash
# The status page: end to end against a real Nagios 4 + nagios-api 1.2.2
# (the harness in scripts/nagios-harness/, installed by nagios.sh), and in
# headless Chromium (Debian's `chromium`), and its metrics through promtool; the history is
# read from the real Nagios's log (nagios-api /log) and from 89 days of archived logs the test
# writes in Nagios's format. Chromium leaves a phone-sized and a desktop-sized screenshot of
# the page with 90 days of uptime bars in target/ci-artifacts/status-page.png and
# status-page-desktop.png ($CARGO_TARGET_DIR/ci-artifacts if set).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/ci/nagios.sh --install-only
# promtool (Debian's `prometheus`, not started) checks the page's /metrics text and the
# workflow binaries' --metrics-file textfiles.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
PY27=/root/.pyenv/versions/2.7.18/bin/python
[ -n "${NAGIOS_API_PYTHON:-}" ] || { [ -x "$PY27" ] && export NAGIOS_API_PYTHON=$PY27; }
export NAGIOS_API_HOME="$PWD/.tools/nagios-api"
export STATUS_SCREENSHOT_DIR="${CARGO_TARGET_DIR:-$PWD/target}/ci-artifacts"
cargo test --workspace --locked --test status_nagios --test status_chromium -- --ignored --nocapture
# Every workflow binary's --metrics-file through promtool (issue #21).
# `--workspace`: the features of the workspace test step, so its build is reused (with
# `-p ops-examples` alone cargo would build ops-examples and its binaries again).
cargo test --workspace --locked --test it metrics_cli -- --ignored --nocapture
ls -l "$STATUS_SCREENSHOT_DIR/status-page.png" "$STATUS_SCREENSHOT_DIR/status-page-desktop.png"

#!/usr/bin/env bash
# The status page in headless Chromium (Debian's `chromium`); leaves a
# phone-sized screenshot in target/ci-artifacts/status-page.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export STATUS_SCREENSHOT_DIR="$PWD/target/ci-artifacts"
cargo test -p ops-workflows --locked --test status_chromium -- --ignored --nocapture
ls -l "$STATUS_SCREENSHOT_DIR/status-page.png"

#!/usr/bin/env bash
# Runs CI (.ci/run) from a fresh clone of this repository's HEAD while CPU hogs keep the
# machine busy: a test that passes only on a quiet machine is a failing test (issue #15).
#
#   scripts/ci-under-load.sh            # 2 hogs (load ~4 on 2 cores, beside the build)
#   HOGS=4 scripts/ci-under-load.sh     # more
#   KEEP=1 scripts/ci-under-load.sh     # keep the clone (path printed) for a post-mortem
#
# The hogs are plain `yes > /dev/null` loops, stopped by PID when CI ends, fails or is
# interrupted. The clone lives in a temporary folder (with ../shared linked beside it, as
# CI expects) and is removed at the end unless KEEP=1. The log goes to
# target/ci-artifacts/ci-under-load-<timestamp>.log of this checkout; the last line of
# output is PASS or FAIL with the wall time and the load average seen.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$repo/../shared" && pwd)
hogs=${HOGS:-2}
stamp=$(date +%Y%m%d-%H%M%S)
artifacts="${CARGO_TARGET_DIR:-$repo/target}/ci-artifacts"
mkdir -p "$artifacts"
log="$artifacts/ci-under-load-$stamp.log"

work=$(mktemp -d "${TMPDIR:-/tmp}/ci-under-load.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then
    echo "ci-under-load: clone kept at $work/main"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

git clone --quiet --no-hardlinks "$repo" "$work/main"
ln -s "$shared" "$work/shared"
echo "ci-under-load: $(git -C "$work/main" log --oneline -1) in $work/main, $hogs hogs, log $log"

for _ in $(seq "$hogs"); do
  yes > /dev/null &
  pids+=($!)
done

# Sample the load average once a minute into the log's companion file.
( while sleep 60; do cut -d' ' -f1-3 /proc/loadavg; done ) > "$log.load" &
pids+=($!)

start=$(date +%s)
status=0
bash "$work/main/.ci/run" > "$log" 2>&1 || status=$?
elapsed=$(( $(date +%s) - start ))
loads=$(tr '\n' ' ' < "$log.load" 2>/dev/null || true)
peak=$(cut -d' ' -f1 "$log.load" 2>/dev/null | sort -n | tail -1)
if [ "$status" -eq 0 ]; then
  echo "ci-under-load: PASS in ${elapsed}s (1-min load peak ${peak:-n/a}; samples: $loads)"
else
  tail -40 "$log"
  echo "ci-under-load: FAIL (exit $status) after ${elapsed}s (1-min load peak ${peak:-n/a}); log $log"
fi
exit "$status"

#!/usr/bin/env bash
# Runs CI (.ci/run) from a fresh clone of this repository's HEAD while CPU hogs keep the
# machine busy: a test that passes only on a quiet machine is a failing test (issue #15).
#
#   scripts/ci-under-load.sh            # 2 hogs (load ~4 on 2 cores, beside the build)
#   HOGS=4 scripts/ci-under-load.sh     # more
#   KEEP=1 scripts/ci-under-load.sh     # keep the clone (path printed) for a post-mortem
#   MIN_FREE_GB=30 scripts/ci-under-load.sh  # disk it insists on before starting (default 25)
#
# The hogs are plain `yes > /dev/null` loops, stopped by PID when CI ends, fails or is
# interrupted. The clone lives in a folder under /var/tmp (with ../shared linked beside it,
# as CI expects) and is removed at the end unless KEEP=1. CI runs with a /tmp of its own (a
# private mount namespace, `unshare -m`, /tmp bound to a folder of the run), as on a CI
# machine: on a shared machine other processes' files in /tmp would otherwise fail CI's
# temp-folder check (seen: a helper's logs), and CI's own leftovers are still caught. The log goes to
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

# A fresh clone's build needs ~20 GB; two runs that filled the disk failed at link time with
# no test at fault. Refuse up front, saying how much is free (MIN_FREE_GB to change it).
min_free_gb=${MIN_FREE_GB:-25}
base=${CI_UNDER_LOAD_DIR:-/var/tmp}
free_gb=$(df -Pk "$base" | awk 'NR==2 {print int($4 / 1048576)}')
if [ "$free_gb" -lt "$min_free_gb" ]; then
  echo "ci-under-load: only ${free_gb} GB free in $base; a run needs ~${min_free_gb} GB (free some, e.g. target/debug/incremental, or set MIN_FREE_GB)" >&2
  exit 2
fi
command -v unshare >/dev/null || { echo "ci-under-load: needs unshare (util-linux) for CI's private /tmp" >&2; exit 2; }

work=$(mktemp -d "$base/ci-under-load.XXXXXX")
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
mkdir -m 1777 "$work/tmp"
unshare --mount --propagation private \
  bash -c 'mount --bind "$1" /tmp && exec bash "$2/.ci/run"' _ "$work/tmp" "$work/main" \
  > "$log" 2>&1 || status=$?
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

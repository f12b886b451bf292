#!/usr/bin/env bash
# Tests leave nothing behind (issue #15).
#
#   eval "$(scripts/ci-tmp-check.sh before)"   # prints `export TMPDIR=…`: a fresh, empty folder
#   … run the tests …
#   scripts/ci-tmp-check.sh after               # fails, listing them, if anything is left in it
#
# Everything the tests (and the binaries, servers and tools they start) put in the system
# temp folder goes under that TMPDIR (std::env::temp_dir, tempfile, mktemp, Postgres, goiardi
# and Nagios harnesses all honour it), so the check sees only what this run made, even on a
# machine where other jobs use /tmp at the same time. `after` also lists the system temp
# folder (the one TMPDIR pointed at before) for entries with the tests' own prefixes made
# during the run, in case something ignored TMPDIR. Listings go to target/ci-artifacts/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
art="${CARGO_TARGET_DIR:-$repo/target}/ci-artifacts"
mkdir -p "$art"
state="$art/tmp-check.env"
# Prefixes of what the tests make; anything else in the system folder is not ours.
ours='^(ops-|prism-|nagios-|status-e2e-|goiardi|\.tmp)'
# Not the tests': other CI runs on the same machine (scripts/ci-under-load.sh runs several at
# once) make their own clone and run folder.
theirs='^(ops-ci-tmp\.|ci-under-load\.)'

case "${1:-}" in
  before)
    sys="${TMPDIR:-/tmp}"
    run=$(mktemp -d "$sys/ops-ci-tmp.XXXXXX")
    chmod 0777 "$run" # the Postgres clusters run as the postgres user and make folders here
    ls -A "$sys" | sort > "$art/tmp-system-before.txt"
    printf 'SYSTEM_TMP=%q\nRUN_TMP=%q\n' "$sys" "$run" > "$state"
    echo "export TMPDIR=$run"
    ;;
  after)
    # shellcheck disable=SC1090
    . "$state"
    # Give watchers of exited test processes (they remove shared clusters and dumps a moment
    # after the process is gone) a few seconds.
    for _ in $(seq 1 50); do
      [ -z "$(ls -A "$RUN_TMP")" ] && break
      sleep 0.2
    done
    left=$(ls -A "$RUN_TMP" | sort || true)
    ls -A "$SYSTEM_TMP" | sort > "$art/tmp-system-after.txt"
    escaped=$(comm -13 "$art/tmp-system-before.txt" "$art/tmp-system-after.txt" \
      | grep -E "$ours" | grep -Ev "$theirs" || true)
    status=0
    if [ -n "$left" ]; then
      echo "ci-tmp-check: the tests left these in their temp folder ($RUN_TMP):"
      printf '  %s\n' $left
      (cd "$RUN_TMP" && du -sh -- * .[!.]* 2>/dev/null || true) | sed 's/^/    /'
      status=1
    fi
    if [ -n "$escaped" ]; then
      echo "ci-tmp-check: these appeared in the system temp folder ($SYSTEM_TMP) during the run:"
      printf '  %s\n' $escaped
      status=1
    fi
    if [ "$status" -eq 0 ]; then
      echo "ci-tmp-check: nothing left behind"
      rm -rf "$RUN_TMP"
    fi
    exit "$status"
    ;;
  *)
    echo "usage: $0 before|after" >&2
    exit 2
    ;;
esac

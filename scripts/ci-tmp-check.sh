#!/usr/bin/env bash
# Tests leave nothing behind (issue #15): after CI, the system temp folder holds nothing the
# tests (or the servers, tools and binaries they start) made.
#
#   eval "$(scripts/ci-tmp-check.sh before)"   # lists the temp folder; prints `export TMPDIR=…`
#   … run the tests and the conformance scripts …
#   scripts/ci-tmp-check.sh after               # fails, naming them, on entries that are new
#   scripts/ci-tmp-check.sh cleanup             # removes the run's TMPDIR (an EXIT trap: CI
#                                               # failed before `after`)
#
# `before` lists the temp folder (`ls -A "${TMPDIR:-/tmp}"`, sorted) into
# target/ci-artifacts/tmp-before.txt ($CARGO_TARGET_DIR/ci-artifacts if set), then makes a
# fresh, empty folder in it for the run (ops-ci-tmp.*) and prints the `export TMPDIR=` line
# that points everything at it (std::env::temp_dir, tempfile, mktemp, Postgres, goiardi,
# Nagios, Chromium, npm and pip all honour TMPDIR). `after` fails on
#   1. anything left in the run's folder: it was made during the run, so no exceptions;
#   2. any entry of the system temp folder that was not in the `before` listing (listed again
#      into tmp-after.txt): what ignored TMPDIR. The only entries ignored, as not the tests':
#        ops-ci-tmp.*      the run folders of this run and of other CI runs on the machine at
#                          the same time (scripts/ci-under-load.sh starts several); each run's
#                          `after` checks its own
#        ci-under-load.*   the clones scripts/ci-under-load.sh runs CI in (it removes them)
#      and only names of the kinds tests and their tools make are looked at (`ours` below):
#      the system folder is shared with whatever else runs on the machine. cargo, rustc,
#      npm, pip and apt put their temporary files under TMPDIR and remove them (checked on
#      this project's conformance scripts, with an npm install of Prism and a pip install
#      of nagios-api in the run).
# Either way the run's folder is then removed (its listing, with sizes, stays in
# tmp-left.txt), so a failing run does not leave it behind either.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
art="${CARGO_TARGET_DIR:-$repo/target}/ci-artifacts"
mkdir -p "$art"
state="$art/tmp-check.env"
ignored='^(ops-ci-tmp\.|ci-under-load\.)'
# In the system folder, only names of the kinds the tests and their tools make count: the
# folder is shared with whatever else runs on the machine (an operator's shell, a tool
# harness, another job), whose files are not this run's to judge. What honours TMPDIR —
# everything the tests start — is checked without exception in the run's own folder.
ours='^(ops-|prism|nagios|status-|goiardi|restore-|sandbox|tmp|\.tmp|rust|cargo|npm|pip|pg_|\.s\.PGSQL)'

remove_run_folder() {
  # shellcheck disable=SC1090
  . "$state"
  if [ -n "${RUN_TMP:-}" ] && [ -d "$RUN_TMP" ]; then
    rm -rf -- "$RUN_TMP"
  fi
}

case "${1:-}" in
  before)
    sys="${TMPDIR:-/tmp}"
    ls -A "$sys" | sort > "$art/tmp-before.txt"
    run=$(mktemp -d "$sys/ops-ci-tmp.XXXXXX")
    chmod 0777 "$run" # the Postgres clusters run as the postgres user and make folders here
    printf 'SYSTEM_TMP=%q\nRUN_TMP=%q\n' "$sys" "$run" > "$state"
    printf 'export TMPDIR=%q\n' "$run"
    ;;
  after)
    # shellcheck disable=SC1090
    . "$state"
    # A watchdog of a test process that was killed (not the normal way out: destructors
    # clean up) stops its server and removes the folder a moment after: give it a few seconds.
    for _ in $(seq 1 25); do
      [ -z "$(ls -A "$RUN_TMP")" ] && break
      sleep 0.2
    done
    ls -A "$RUN_TMP" | sort > "$art/tmp-left.txt"
    ls -A "$SYSTEM_TMP" | sort > "$art/tmp-after.txt"
    new=$(comm -13 "$art/tmp-before.txt" "$art/tmp-after.txt" | grep -Ev "$ignored" \
      | grep -E "$ours" || true)
    status=0
    if [ -s "$art/tmp-left.txt" ]; then
      echo "ci-tmp-check: the run left these in its temp folder ($RUN_TMP):"
      (cd "$RUN_TMP" && du -sh -- * .[!.]* 2>/dev/null || true) | tee -a "$art/tmp-left.txt" \
        | sed 's/^/  /'
      status=1
    fi
    if [ -n "$new" ]; then
      echo "ci-tmp-check: new in the system temp folder ($SYSTEM_TMP) since the run began:"
      printf '%s\n' "$new" | sed 's/^/  /'
      status=1
    fi
    rm -rf -- "$RUN_TMP"
    if [ "$status" -eq 0 ]; then
      echo "ci-tmp-check: nothing left behind"
    fi
    exit "$status"
    ;;
  cleanup)
    [ -f "$state" ] && remove_run_folder
    exit 0
    ;;
  *)
    echo "usage: $0 before|after|cleanup" >&2
    exit 2
    ;;
esac

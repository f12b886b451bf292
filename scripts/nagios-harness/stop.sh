#!/usr/bin/env bash
# Usage: stop.sh DIR — stops what start.sh DIR started (by PID, SIGTERM,
# then SIGKILL after 5 s). Safe to call twice.
set -uo pipefail
D=$1
# Running and not a zombie (an orphan may not be reaped at once).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
for f in nagios-api.pid nagios.pid; do
  [ -f "$D/$f" ] || continue
  pid=$(cat "$D/$f")
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$D/$f"
done
exit 0

#!/usr/bin/env bash
# Usage: start.sh DIR PORT
# Starts a throwaway Nagios 4 (config from make-config.sh, rooted in DIR)
# and nagios-api on 127.0.0.1:PORT, both in the background, and returns
# once status.dat shows every active check done and nagios-api answers.
# PIDs: DIR/nagios.pid, DIR/nagios-api.pid (stop.sh DIR ends both).
# Logs: DIR/nagios.stdout, DIR/var/nagios.log, DIR/nagios-api.log.
#
# Needs: /usr/sbin/nagios4 (Debian nagios4-core), check_dummy
# (monitoring-plugins-basic), Python 2.7 in $NAGIOS_API_PYTHON and
# nagios-api 1.2.2 installed with `pip install --target $NAGIOS_API_HOME`
# (scripts/ci/nagios.sh --install-only does all of that).
#
# Nagios will not run as root without care, so as root it runs as the
# `nagios` user (created by nagios4-common) and DIR is chowned to it;
# otherwise as the current user. nagios-api runs as the caller (the pyenv
# Python under /root is not readable by other users) and writes to the
# command pipe, which root may do.
set -euo pipefail
D=$1; PORT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
NAGIOS_BIN=${NAGIOS_BIN:-/usr/sbin/nagios4}
PY=${NAGIOS_API_PYTHON:-}
API_HOME=${NAGIOS_API_HOME:-}
# Running and not a zombie (an orphan may not be reaped at once).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
die() { echo "start.sh: $*" >&2; exit 1; }
[ -x "$NAGIOS_BIN" ] || die "$NAGIOS_BIN not found: apt-get install nagios4-core monitoring-plugins-basic (or run scripts/ci/nagios.sh)"
[ -x "${NAGIOS_PLUGINS:-/usr/lib/nagios/plugins}/check_dummy" ] || die "check_dummy not found: apt-get install monitoring-plugins-basic"
[ -n "$PY" ] && [ -x "$PY" ] || die "set NAGIOS_API_PYTHON to a Python 2.7 interpreter (scripts/ci/nagios.sh finds one)"
[ -f "$API_HOME/bin/nagios-api" ] || die "set NAGIOS_API_HOME to a 'pip install --target' dir with nagios-api==1.2.2 (scripts/ci/nagios.sh --install-only)"

mkdir -p "$D"
# On any failure, stop what was started so nothing is left running.
trap 'rc=$?; if [ "$rc" -ne 0 ]; then "$HERE/stop.sh" "$D"; fi' EXIT
if [ "$(id -u)" = 0 ]; then
  id nagios >/dev/null 2>&1 || die "user nagios missing (it comes with nagios4-common)"
  U=nagios; G=$(id -gn nagios)
  "$HERE/make-config.sh" "$D" "$U" "$G"
  chown -R "$U:$G" "$D"
  chmod 755 "$D"
  RUNAS=(setpriv --reuid="$U" --regid="$G" --init-groups)
else
  U=$(id -un); G=$(id -gn)
  "$HERE/make-config.sh" "$D" "$U" "$G"
  RUNAS=()
fi

"${RUNAS[@]}" "$NAGIOS_BIN" -v "$D/etc/nagios.cfg" > "$D/verify.log" 2>&1 \
  || die "nagios config check failed: $(tail -n 20 "$D/verify.log")"

# Foreground mode (no -d). A simple command (not a function) so bash execs
# it directly and setpriv execs Nagios: $! is the Nagios PID.
"${RUNAS[@]}" "$NAGIOS_BIN" "$D/etc/nagios.cfg" > "$D/nagios.stdout" 2>&1 &
echo $! > "$D/nagios.pid"

for _ in $(seq 1 300); do
  if [ -f "$D/var/status.dat" ] && [ -p "$D/var/nagios.cmd" ]; then
    # Hosts (3) and active services (4) have been checked.
    n=$(grep -c 'has_been_checked=1' "$D/var/status.dat" || true)
    [ "$n" -ge 7 ] && break
  fi
  alive "$(cat "$D/nagios.pid")" || die "nagios exited: $(tail -n 20 "$D/nagios.stdout")"
  sleep 0.1
done
[ -f "$D/var/status.dat" ] || die "status.dat never appeared: $(tail -n 20 "$D/nagios.stdout")"

PYTHONPATH="$API_HOME" "$PY" "$API_HOME/bin/nagios-api" -b 127.0.0.1 -p "$PORT" \
  -s "$D/var/status.dat" -c "$D/var/nagios.cmd" -l "$D/var/nagios.log" \
  -f "$D/nagios-api.pidfile" > "$D/nagios-api.log" 2>&1 &
echo $! > "$D/nagios-api.pid"

for _ in $(seq 1 150); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "nagios pid=$(cat "$D/nagios.pid") nagios-api pid=$(cat "$D/nagios-api.pid") on 127.0.0.1:$PORT"
    exit 0
  fi
  alive "$(cat "$D/nagios-api.pid")" || die "nagios-api exited: $(tail -n 30 "$D/nagios-api.log")"
  sleep 0.1
done
die "nagios-api did not listen on $PORT: $(tail -n 30 "$D/nagios-api.log")"

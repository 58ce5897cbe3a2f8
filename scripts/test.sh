#!/usr/bin/env bash
# Usage: scripts/test.sh [SWIFT TEST ARGS...]     e.g. scripts/test.sh --filter PostgresTests
#
# Runs the test suite against real, throwaway servers:
#   1. installs missing Debian packages (scripts/lib.sh: ensure_packages, plus SMSCRM_TEST_PACKAGES) and
#      the admin UI's third-party assets (scripts/web-assets.sh),
#      then checks and unit-tests the Prometheus alert rules (scripts/check-alerts.sh; fails the run);
#   2. starts PostgreSQL + Redis on free ports in a temporary directory, plus a second pair that
#      only the tests which restart servers use (so restarts don't disturb tests running in parallel);
#   3. swift build --build-tests, then swift test --skip-build "$@", then (on a whole run) the admin
#      UI's browser tests (tests/ui/run.sh; also with SMSCRM_UI_TESTS=1) and scripts/schemathesis.sh
#      against docs/openapi.yaml (also with SMSCRM_SCHEMATHESIS=1), then scripts/scan-logs.sh over
#      every log the API/worker processes wrote (fails the run on a full phone number or secret);
#   4. always stops every server and removes the temporary directory (failure, Ctrl-C, TERM too);
#   5. exits with the tests' status and prints the wall time.
#
# Exported to the tests:
#   DATABASE_URL, REDIS_URL                        shared servers (each test makes its own database/keys)
#   SMSCRM_TEST_RESTARTABLE_DATABASE_URL           the second PostgreSQL
#   SMSCRM_TEST_RESTARTABLE_REDIS_URL              the second Redis
#   SMSCRM_TEST_RESTART_POSTGRES, _REDIS           executables: `$X` (= restart) | `$X stop` | `$X start`;
#                                                  they return once the server is down / answering again
#   SMSCRM_TEST_POSTGRES_BIN                       /usr/lib/postgresql/15/bin
#   SMSCRM_BIN_DIR                                 `swift build --show-bin-path` (the built executables)
#   MIGRATIONS_DIR                                 <repo>/migrations
#   WEB_DIR                                        <repo>/web (templates, and the assets scripts/web-assets.sh installs)
#   SMSCRM_TEST_LOG_DIR                            where child processes' logs go (scanned afterwards)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SMSCRM_LOG_TAG=test.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

TMP=""
CHILD=""   # pid (= process group id) of the running build/test step

# shellcheck disable=SC2317 # elapsed, stop_child and cleanup run from traps
elapsed() { printf '%dm%02ds' $((SECONDS / 60)) $((SECONDS % 60)); }

# shellcheck disable=SC2317
# Stops the running step's whole process group (swift, the test runner, anything the tests spawned).
stop_child() {
  local pgid=$CHILD i
  CHILD=""
  [[ -n $pgid ]] || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 -- "-$pgid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 -- "-$pgid" 2>/dev/null; then
    say "step still running 10s after TERM; sending KILL"
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
  wait "$pgid" 2>/dev/null || true
}

# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  trap '' INT TERM # a second Ctrl-C must not interrupt the teardown
  trap - EXIT
  stop_child
  if [[ -n $TMP && -d $TMP ]]; then
    say "tearing down test servers"
    # Subshells: a failing stop must not skip the others or the rm.
    (stop_postgres "$TMP/pg") || true
    (stop_postgres "$TMP/pg-restartable") || true
    (stop_redis "$TMP/redis") || true
    (stop_redis "$TMP/redis-restartable") || true
    rm -rf "$TMP"
    say "removed $TMP"
  fi
  say "finished with status $rc in $(elapsed)"
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# Runs a step in the background, in its own process group, and waits for it: a signal then
# interrupts the wait at once (bash would otherwise wait for a foreground child to finish first)
# and cleanup can stop the whole group.
run_step() {
  setsid "$@" &
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

# Writes an executable that stops/starts/restarts one of the restartable servers, serialised by a lock.
write_restart_script() {
  local path=$1 kind=$2 dir=$3 port=$4 start_cmd stop_cmd name
  name=${path##*/}
  if [[ $kind == postgres ]]; then
    start_cmd="start_postgres $(printf '%q' "$dir") $port fast"
    stop_cmd="stop_postgres $(printf '%q' "$dir")"
  else
    start_cmd="start_redis $(printf '%q' "$dir") $port"
    stop_cmd="stop_redis $(printf '%q' "$dir")"
  fi
  cat >"$path" <<EOF
#!/usr/bin/env bash
# Usage: $name [restart|stop|start]   (default: restart)
# Written by scripts/test.sh: controls the restartable test $kind on 127.0.0.1:$port.
set -euo pipefail
SMSCRM_LOG_TAG=$name
source $(printf '%q' "$ROOT/scripts/lib.sh")
exec 9>$(printf '%q' "$path.lock")
flock 9
# 9>&-: the servers started here must not inherit (and so hold forever) the lock.
case "\${1:-restart}" in
  restart) $stop_cmd 9>&-; $start_cmd 9>&- ;;
  stop) $stop_cmd 9>&- ;;
  start) $start_cmd 9>&- ;;
  *) echo "usage: \$0 [restart|stop|start]" >&2; exit 2 ;;
esac
EOF
  chmod 755 "$path"
}

say "repository: $ROOT"
ensure_packages "${SMSCRM_TEST_PACKAGES[@]}"

say "scripts/web-assets.sh"
"$ROOT/scripts/web-assets.sh" "$ROOT/web" || die "the admin UI's assets could not be installed (scripts/web-assets.sh)"

say "scripts/check-alerts.sh"
"$ROOT/scripts/check-alerts.sh" || die "the alert rules in infra/prometheus/ failed their checks (scripts/check-alerts.sh)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smscrm-test.XXXXXX")
chmod 755 "$TMP" # the postgres user must reach its data directories inside
say "temporary directory: $TMP"

PGPORT=$(free_port)
REDISPORT=$(free_port "$PGPORT")
RPGPORT=$(free_port "$PGPORT" "$REDISPORT")
RREDISPORT=$(free_port "$PGPORT" "$REDISPORT" "$RPGPORT")

start_postgres "$TMP/pg" "$PGPORT" fast
start_redis "$TMP/redis" "$REDISPORT"
start_postgres "$TMP/pg-restartable" "$RPGPORT" fast
start_redis "$TMP/redis-restartable" "$RREDISPORT"
write_restart_script "$TMP/restart-postgres" postgres "$TMP/pg-restartable" "$RPGPORT"
write_restart_script "$TMP/restart-redis" redis "$TMP/redis-restartable" "$RREDISPORT"

export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
export REDIS_URL="redis://127.0.0.1:$REDISPORT/0"
export SMSCRM_TEST_RESTARTABLE_DATABASE_URL="postgres://postgres@127.0.0.1:$RPGPORT/postgres"
export SMSCRM_TEST_RESTARTABLE_REDIS_URL="redis://127.0.0.1:$RREDISPORT/0"
export SMSCRM_TEST_RESTART_POSTGRES="$TMP/restart-postgres"
export SMSCRM_TEST_RESTART_REDIS="$TMP/restart-redis"
export SMSCRM_TEST_POSTGRES_BIN="$PG_BIN"
export MIGRATIONS_DIR="$ROOT/migrations"
export WEB_DIR="$ROOT/web"
export SMSCRM_TEST_LOG_DIR="$TMP/process-logs"
mkdir -p "$SMSCRM_TEST_LOG_DIR"
say "DATABASE_URL=$DATABASE_URL"
say "REDIS_URL=$REDIS_URL"
say "SMSCRM_TEST_RESTARTABLE_DATABASE_URL=$SMSCRM_TEST_RESTARTABLE_DATABASE_URL"
say "SMSCRM_TEST_RESTARTABLE_REDIS_URL=$SMSCRM_TEST_RESTARTABLE_REDIS_URL"

say "swift build --build-tests"
run_step swift build --build-tests
SMSCRM_BIN_DIR=$(swift build --show-bin-path)
export SMSCRM_BIN_DIR
say "SMSCRM_BIN_DIR=$SMSCRM_BIN_DIR"

say "swift test --skip-build $*"
status=0
run_step swift test --skip-build "$@" || status=$?
if ((status == 0)); then say "tests passed"; else say "tests FAILED (status $status)"; fi

# The admin UI in a real browser (Selenium + Debian's chromium) against a real smscrm-api: on a
# whole run (no arguments), or when SMSCRM_UI_TESTS=1 asks for it beside a --filter.
if (($# == 0)) || [[ ${SMSCRM_UI_TESTS:-} == 1 ]]; then
  ui_started=$SECONDS
  say "tests/ui/run.sh (browser tests)"
  if run_step "$ROOT/tests/ui/run.sh"; then
    say "browser tests passed in $((SECONDS - ui_started)) s"
  else
    say "browser tests FAILED"
    status=1
  fi
else
  say "browser tests skipped (a filtered run; SMSCRM_UI_TESTS=1 runs them too)"
fi

# Property-based testing against docs/openapi.yaml on a whole run (or SMSCRM_SCHEMATHESIS=1):
# no server error, no response outside the spec (scripts/schemathesis.sh, about 3 minutes).
if (($# == 0)) || [[ ${SMSCRM_SCHEMATHESIS:-} == 1 ]]; then
  say "scripts/schemathesis.sh"
  run_step "$ROOT/scripts/schemathesis.sh" || { say "schemathesis FAILED"; status=1; }
fi

# The log-scan test: nothing the API and worker processes logged during the run may contain a
# full phone number or a secret (the tests' auth tokens, password and message bodies included).
say "scripts/scan-logs.sh $SMSCRM_TEST_LOG_DIR"
"$ROOT/scripts/scan-logs.sh" "$SMSCRM_TEST_LOG_DIR" e2e-token test-token "correct horse battery staple" "Hi N1" " Stop. " ||
  { say "log scan FAILED"; status=1; }
exit "$status"

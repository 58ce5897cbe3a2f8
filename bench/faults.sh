#!/usr/bin/env bash
# Usage: bench/faults.sh [RECIPIENTS]     (default 20000)
#
# The fault run: one campaign to RECIPIENTS contacts through three workers while everything that
# can go wrong does, then a check that every message went out exactly once. It starts its own
# PostgreSQL, Redis, Twilio sandbox, API and workers on free loopback ports in a temporary
# directory (nothing of scripts/dev.sh is touched), and removes them when it ends.
#
# During the run (seconds after the launch):
#   every 5 s   a worker is SIGKILLed and started again;
#   12          PostgreSQL restarts (callbacks meanwhile get 503 and are not retried by Twilio);
#   24          Redis restarts without persistence: its data is gone, the queue must be restored;
#   36          the API is SIGKILLed and comes back 5 s later (callbacks cannot connect);
#   44          the sandbox stops hanging answers (a pause must wait for a live worker's hung
#               request, up to TWILIO_TIMEOUT_SECONDS + 5 s, by design);
#   50          a worker is SIGKILLed mid-send; 54: the tenant is paused, 58: resumed.
# The sandbox answers 5 % of creates with 429, 2 % with 500 and holds 1 % past the 5 s timeout.
#
# It prints duplicates, lost messages, jobs still `sent` after the drain, the seconds from the
# Redis wipe until every pending job was back in Redis, the pause's answer time and how many
# messages reached the sandbox after the pause answered; it exits 1 if any goal is missed
# (duplicates 0, lost 0, stale sent 0, restoration <= 60 s, pause <= 1 s, nothing after the pause).
# SMSCRM_BUILD=release bench/faults.sh runs optimised builds. Bounded: it gives up after 10 minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SMSCRM_LOG_TAG=faults.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
N=${1:-20000}
[[ $N =~ ^[0-9]+$ ]] && ((N >= 100 && N <= 1000000)) || die "RECIPIENTS must be a whole number from 100 to 1000000"

ensure_packages "${SMSCRM_TEST_PACKAGES[@]}"
CONFIG=${SMSCRM_BUILD:-debug}
say "building ($CONFIG)"
swift build -c "$CONFIG" >/dev/null
BIN=$(swift build -c "$CONFIG" --show-bin-path)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smscrm-faults.XXXXXX")
chmod 755 "$TMP"
cleanup() {
  local rc=$?
  trap - EXIT
  for pid in $(cat "$TMP"/pids/* 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  (stop_postgres "$TMP/pg") || true
  (stop_redis "$TMP/redis") || true
  if [[ -n ${SMSCRM_KEEP:-} ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$TMP/pids" "$TMP/logs"

PGPORT=$(free_port)
REDISPORT=$(free_port "$PGPORT")
start_postgres "$TMP/pg" "$PGPORT" fast
start_redis "$TMP/redis" "$REDISPORT"

export FAULTS_TMP=$TMP FAULTS_BIN=$BIN FAULTS_ROOT=$ROOT FAULTS_N=$N FAULTS_PG_PORT=$PGPORT FAULTS_REDIS_PORT=$REDISPORT
export FAULTS_PSQL=$PG_BIN/psql
python3 "$ROOT/bench/faults.py"

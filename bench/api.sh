#!/usr/bin/env bash
# Usage: bench/api.sh [SECONDS]     (default 10 per measurement)
#
# How fast the API answers authenticated reads compared with the machine's own ceiling for it,
# GET /health, measured in the same run: wrk (Debian) with 2 threads and 32 connections against
#   GET /health                                   (no dependency touched)
#   GET /tenants/{id}/contacts?limit=20            with an API key
#   GET /tenants/{id}/contacts?limit=20            with a session cookie
#   GET /tenants/{id}                              with an API key (one row: what a read costs apart from the list)
# and prints req/s, p50 and p99 for each and the ratios to /health. It builds and starts its own
# release smscrm-api (rate limits off) on PostgreSQL and Redis in a temporary directory, on free
# loopback ports, and removes everything when it ends. SMSCRM_BUILD=debug measures a debug build.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SMSCRM_LOG_TAG=api.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
DURATION=${1:-10}
[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 120)) || die "SECONDS must be a whole number from 1 to 120"

ensure_packages "${SMSCRM_TEST_PACKAGES[@]}" wrk
CONFIG=${SMSCRM_BUILD:-release}
say "building smscrm-api and smscrm ($CONFIG)"
swift build -c "$CONFIG" --product smscrm-api >/dev/null
swift build -c "$CONFIG" --product smscrm >/dev/null
BIN=$(swift build -c "$CONFIG" --show-bin-path)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/smscrm-api-bench.XXXXXX")
chmod 755 "$TMP"
API_PID=""
cleanup() {
  local rc=$?
  trap - EXIT
  [[ -n $API_PID ]] && kill -TERM "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null
  (stop_postgres "$TMP/pg") || true
  (stop_redis "$TMP/redis") || true
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
PGPORT=$(free_port)
REDISPORT=$(free_port "$PGPORT")
APIPORT=$(free_port "$PGPORT" "$REDISPORT")
start_postgres "$TMP/pg" "$PGPORT" fast
start_redis "$TMP/redis" "$REDISPORT"

export DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres" REDIS_URL="redis://127.0.0.1:$REDISPORT/0"
export PORT=$APIPORT API_HOST=127.0.0.1 PUBLIC_BASE_URL="http://127.0.0.1:$APIPORT" MIGRATIONS_DIR="$ROOT/migrations"
export TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000 TWILIO_AUTH_TOKEN=bench TWILIO_API_BASE=http://127.0.0.1:1
export RATE_LIMIT_PER_MINUTE_KEY=0 RATE_LIMIT_PER_MINUTE_IP=0 LOG_LEVEL=warning DATABASE_POOL_SIZE=16
"$BIN/smscrm" migrate >/dev/null
tenant=$("$BIN/smscrm" tenant create --name bench-api --timezone UTC --country AU --quiet)
key=$("$BIN/smscrm" apikey create --tenant "$tenant" --name bench --role viewer --quiet)
email="bench-$(date +%s)@example.com"
SMSCRM_PASSWORD='bench password long enough' "$BIN/smscrm" user create --email "$email" --tenant "$tenant" --role viewer --quiet >/dev/null
"$PG_BIN/psql" "$DATABASE_URL" -qAt -c "INSERT INTO contacts (tenant_id, phone_e164, first_name)
  SELECT '$tenant', '+614' || lpad(g::text, 8, '0'), 'Name' || g FROM generate_series(1, 1000) g"
"$BIN/smscrm-api" >"$TMP/api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$APIPORT/health" >/dev/null && break; sleep 0.1; done
cookie=$(curl -sf -D - -o /dev/null -X POST "http://127.0.0.1:$APIPORT/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$email\", \"password\": \"bench password long enough\"}" | awk -F'[ ;]' 'tolower($1) == "set-cookie:" {print $2}')
[[ -n $cookie ]] || die "login failed: $(tail -5 "$TMP/api.log")"

# Runs wrk and prints "req/s p50_ms p99_ms".
measure() {
  local out
  out=$(wrk -t2 -c32 -d"${DURATION}s" --latency "$@")
  python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
def ms(label):
    m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{rate:.0f} {ms(50):.2f} {ms(99):.2f} {errors.group(1) if errors else 0}")
PY
}
base="http://127.0.0.1:$APIPORT"
say "measuring, ${DURATION} s each"
read -r h_rate h_p50 h_p99 h_err < <(measure "$base/health")
read -r k_rate k_p50 k_p99 k_err < <(measure -H "Authorization: Bearer $key" "$base/tenants/$tenant/contacts?limit=20")
read -r s_rate s_p50 s_p99 s_err < <(measure -H "Cookie: $cookie" "$base/tenants/$tenant/contacts?limit=20")
read -r t_rate t_p50 t_p99 t_err < <(measure -H "Authorization: Bearer $key" "$base/tenants/$tenant")
ratio() { python3 -c "print(f'{$1 / $2 * 100:.0f} %')"; }
echo
echo "API on $(nproc) cores, $CONFIG build, wrk -t2 -c32 -d${DURATION}s (same machine):"
printf '  %-40s %8s req/s  p50 %6s ms  p99 %6s ms  errors %s\n' "GET /health (the ceiling)" "$h_rate" "$h_p50" "$h_p99" "$h_err"
printf '  %-40s %8s req/s  p50 %6s ms  p99 %6s ms  errors %s  (%s of /health)\n' "contacts?limit=20, API key" "$k_rate" "$k_p50" "$k_p99" "$k_err" "$(ratio "$k_rate" "$h_rate")"
printf '  %-40s %8s req/s  p50 %6s ms  p99 %6s ms  errors %s  (%s of /health)\n' "contacts?limit=20, session" "$s_rate" "$s_p50" "$s_p99" "$s_err" "$(ratio "$s_rate" "$h_rate")"
printf '  %-40s %8s req/s  p50 %6s ms  p99 %6s ms  errors %s  (%s of /health)\n' "GET /tenants/{id} (one row), API key" "$t_rate" "$t_p50" "$t_p99" "$t_err" "$(ratio "$t_rate" "$h_rate")"

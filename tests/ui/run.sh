#!/usr/bin/env bash
# Usage: tests/ui/run.sh        (scripts/test.sh runs it after swift test, with its servers up)
#
# The admin UI's browser tests: a real smscrm-api (the build in SMSCRM_BIN_DIR) on a free port,
# on its own migrated database in the PostgreSQL test.sh started, with a tenant and a member,
# a viewer and an admin made by the smscrm CLI; then tests/ui/browser_test.py drives Debian's
# chromium through chromium-driver with Selenium (tests/ui/requirements.txt pins it and its
# dependencies; installed from PyPI into a venv under .data/).
# Needs DATABASE_URL, REDIS_URL, SMSCRM_BIN_DIR, MIGRATIONS_DIR, WEB_DIR and SMSCRM_TEST_LOG_DIR.
# Prints 'N passed, N failed'; exits non-zero on any failure. Screenshots: .data/ui-screenshots/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SMSCRM_LOG_TAG=ui-tests
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

REQUIREMENTS=$ROOT/tests/ui/requirements.txt
VENV=$ROOT/.data/ui-venv
SHOTS=$ROOT/.data/ui-screenshots

# Debian keeps chromium and chromium-driver at the same version; Selenium downloads nothing.
ensure_packages chromium chromium-driver python3-venv
# The venv is rebuilt when tests/ui/requirements.txt changes (its sha256 is kept beside it).
want=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [[ ! -x $VENV/bin/python || $(cat "$VENV/requirements.sha256" 2>/dev/null) != "$want" ]]; then
  say "creating $VENV from tests/ui/requirements.txt"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$REQUIREMENTS"
  echo "$want" >"$VENV/requirements.sha256"
fi

API_PID=""
# shellcheck disable=SC2317 # runs from the trap
stop_api() {
  if [[ -n $API_PID ]] && kill -0 "$API_PID" 2>/dev/null; then
    kill -TERM "$API_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
  fi
}
trap stop_api EXIT

# Our own database in the test PostgreSQL: postgres://…/postgres → …/smscrm_ui_<random>.
DB_NAME=smscrm_ui_$RANDOM$RANDOM
psql "$DATABASE_URL" -qAtc "CREATE DATABASE $DB_NAME" >/dev/null
export DATABASE_URL=${DATABASE_URL%/*}/$DB_NAME
"$SMSCRM_BIN_DIR/smscrm" migrate >/dev/null

PORT=$(free_port)
export PORT PUBLIC_BASE_URL="http://127.0.0.1:$PORT" TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000
export TWILIO_AUTH_TOKEN=ui-test-token TWILIO_API_BASE=http://127.0.0.1:1 LOG_FORMAT=json WEB_UI=on
export SMSCRM_PASSWORD="correct horse battery staple"

TENANT=$("$SMSCRM_BIN_DIR/smscrm" tenant create --name "Browser Test Co" --timezone UTC --country US --quiet)
for role in member viewer admin; do
  "$SMSCRM_BIN_DIR/smscrm" user create --email "$role@ui.test" --tenant "$TENANT" --role "$role" --quiet >/dev/null
done

mkdir -p "$SMSCRM_TEST_LOG_DIR"
"$SMSCRM_BIN_DIR/smscrm-api" >"$SMSCRM_TEST_LOG_DIR/ui-smscrm-api.log" 2>&1 &
API_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  kill -0 "$API_PID" 2>/dev/null || { cat "$SMSCRM_TEST_LOG_DIR/ui-smscrm-api.log" >&2; die "smscrm-api exited at start-up"; }
  sleep 0.1
done
say "smscrm-api on $PUBLIC_BASE_URL (tenant $TENANT)"

rm -rf "$SHOTS"
mkdir -p "$SHOTS"
UI_BASE_URL=$PUBLIC_BASE_URL UI_TENANT_ID=$TENANT UI_PASSWORD=$SMSCRM_PASSWORD \
  UI_MEMBER_EMAIL=member@ui.test UI_VIEWER_EMAIL=viewer@ui.test UI_ADMIN_EMAIL=admin@ui.test \
  UI_AXE_JS=$WEB_DIR/vendor/axe.min.js SMSCRM_UI_SCREENSHOTS=$SHOTS \
  "$VENV/bin/python" "$ROOT/tests/ui/browser_test.py"

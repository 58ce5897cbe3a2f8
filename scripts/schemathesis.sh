#!/usr/bin/env bash
# Usage: scripts/schemathesis.sh     (scripts/test.sh runs it; it needs the test run's DATABASE_URL and REDIS_URL)
#
# Property-based testing of the API against docs/openapi.yaml with schemathesis (pinned, from PyPI,
# in a virtual environment under .data/): a database of its own is migrated and seeded with a
# tenant and an owner key, a smscrm-api (the build test.sh made) is started on a free loopback
# port with rate limits off, and every operation gets generated cases with every check on. The run
# is bounded (SCHEMATHESIS_MAX_EXAMPLES per operation, SCHEMATHESIS_MAX_TIME seconds) and fails on
# any server error or response outside the spec. The API's log stays in SMSCRM_TEST_LOG_DIR.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SMSCRM_LOG_TAG=schemathesis.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
: "${DATABASE_URL:?run me from scripts/test.sh (DATABASE_URL)}" "${REDIS_URL:?run me from scripts/test.sh (REDIS_URL)}"
VERSION=4.32.5
VENV="$ROOT/.data/venv-schemathesis"
if [[ ! -x $VENV/bin/schemathesis ]] || [[ $("$VENV/bin/pip" show schemathesis 2>/dev/null | awk '/^Version:/ {print $2}') != "$VERSION" ]]; then
  say "installing schemathesis $VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi
BIN=${SMSCRM_BIN_DIR:-$(swift build --show-bin-path)}
LOGS=${SMSCRM_TEST_LOG_DIR:-$(mktemp -d)}
PORT=$(free_port)
DB=schemathesis_$$
"$PG_BIN/psql" "$DATABASE_URL" -qAt -c "CREATE DATABASE $DB" >/dev/null
URL="${DATABASE_URL%/*}/$DB"
export DATABASE_URL=$URL PORT API_HOST=127.0.0.1 PUBLIC_BASE_URL="http://127.0.0.1:$PORT" MIGRATIONS_DIR="$ROOT/migrations"
export TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000 TWILIO_AUTH_TOKEN=schemathesis TWILIO_API_BASE=http://127.0.0.1:1
export RATE_LIMIT_PER_MINUTE_KEY=0 RATE_LIMIT_PER_MINUTE_IP=0 LOG_FORMAT=json WEB_UI=off
"$BIN/smscrm" migrate >/dev/null
tenant=$("$BIN/smscrm" tenant create --name schemathesis --timezone UTC --country AU --quiet)
key=$("$BIN/smscrm" apikey create --tenant "$tenant" --name schemathesis --role owner --quiet)
"$BIN/smscrm-api" >"$LOGS/schemathesis-api.log" 2>&1 &
API_PID=$!
cleanup() {
  kill -TERM "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null
  "$PG_BIN/psql" "${URL%/*}/postgres" -qAt -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
say "schemathesis against http://127.0.0.1:$PORT (tenant $tenant)"
# Path ids other than the tenant are generated at random and mostly answer 404, which the spec documents.
# 422 is the API's answer to rules a schema cannot state (a phone number that is no number, quiet
# hours given by halves, an empty upload): accepted for schema-valid data; 400 is not. NUL is
# refused by design (400 naming the field), so it is not generated as "valid" data.
# The owner key goes with every request, so ignored_auth would read a request that also carries a
# made-up cookie as "invalid auth accepted": it is left out here, and AccessMatrixTests proves route
# by route that no credential, or a wrong one, is refused. The coverage phase is left out: on this
# machine's Python 3.11 it fails at random inside hypothesis's lambda introspection ("AST constructor
# recursion depth mismatch", a CPython 3.11 bug), an error of the tool, not of the API. The CSV
# upload is left out: a multipart part is text, so a JSON null generated as a type violation
# arrives as the string "null", a valid consent source (ImportTests covers the upload).
cat >"$LOGS/schemathesis.toml" <<TOML
generation.allow-x00 = false
generation.database = "none"

[parameters]
"path.tenantId" = "$tenant"

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", 401, 403, 404, 409, 422, 429]
TOML
"$VENV/bin/schemathesis" --config-file "$LOGS/schemathesis.toml" run "$ROOT/docs/openapi.yaml" \
  --url "http://127.0.0.1:$PORT" --header "Authorization: Bearer $key" --checks all --exclude-checks ignored_auth \
  --phases examples,fuzzing,stateful --exclude-operation-id createImport \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-8}" --max-time "${SCHEMATHESIS_MAX_TIME:-170}" --workers 2 \
  --seed "${SCHEMATHESIS_SEED:-20261208}" --no-color --output-truncate true --request-timeout 10

#!/usr/bin/env bash
# Usage: bench/launch.sh [RECIPIENTS]     (default 1000000)
#
# Launches a campaign to RECIPIENTS contacts against the stack that scripts/dev.sh runs and
# prints how long POST …/launch took and how many jobs it created. The contacts, list, number
# and campaign are made with SQL and the smscrm CLI in a fresh tenant; everything stays in the
# dev database afterwards (scripts/dev.sh stop && rm -rf .data to start over).
# For a release figure: SMSCRM_BUILD=release scripts/dev.sh restart, then SMSCRM_BUILD=release bench/launch.sh.
# Stop the worker first (kill "$(cat .data/pids/smscrm-worker.pid)") or it starts sending the
# million jobs at once and competes with the launch for the CPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-1000000}
[[ -f .data/dev.env ]] || { echo "no .data/dev.env: run scripts/dev.sh first" >&2; exit 1; }
set -a; source .data/dev.env; set +a
BIN=$(swift build -c "${SMSCRM_BUILD:-debug}" --show-bin-path)
PSQL=(/usr/lib/postgresql/15/bin/psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qAt)
API="http://127.0.0.1:${PORT:-3000}"

tenant=$("$BIN/smscrm" tenant create --name "bench-launch-$(date +%s)" --timezone Australia/Sydney --country AU --quiet)
key=$("$BIN/smscrm" apikey create --tenant "$tenant" --name bench --role owner --quiet)
echo "tenant $tenant; generating $N contacts"
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
t0=$(now)
"${PSQL[@]}" <<SQL
INSERT INTO contacts (tenant_id, phone_e164, first_name, consent_at, consent_source)
SELECT '$tenant', '+614' || lpad(g::text, 8, '0'), 'Name' || g, now(), 'bench' FROM generate_series(1, $N) g;
INSERT INTO contact_lists (tenant_id, name) VALUES ('$tenant', 'everyone');
INSERT INTO contact_list_members (tenant_id, list_id, contact_id)
SELECT '$tenant', l.id, c.id FROM contacts c, contact_lists l WHERE c.tenant_id = '$tenant' AND l.tenant_id = '$tenant';
INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps)
SELECT '$tenant', '+6149' || lpad((floor(random() * 1e7))::bigint::text, 7, '0') || g, 'short_code', 100 FROM generate_series(1, 4) g;
ANALYZE contacts; ANALYZE contact_list_members;
SQL
t1=$(now)
echo "seeded in $(elapsed "$t0" "$t1") s"
list=$("${PSQL[@]}" -c "SELECT id FROM contact_lists WHERE tenant_id = '$tenant'")
numbers=$("${PSQL[@]}" -c "SELECT string_agg('\"' || id || '\"', ',') FROM sending_numbers WHERE tenant_id = '$tenant'")
campaign=$(curl -sf -X POST "$API/tenants/$tenant/campaigns" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d "{\"name\": \"bench\", \"body_template\": \"Hi {{first_name}}, our sale starts today\", \"list_ids\": [\"$list\"], \"sending_number_ids\": [$numbers]}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "launching campaign $campaign"
t2=$(now)
result=$(curl -sf -m 600 -X POST "$API/tenants/$tenant/campaigns/$campaign/launch" -H "Authorization: Bearer $key")
t3=$(now)
echo "launch answered: $result"
secs=$(elapsed "$t2" "$t3")
echo "launch: $N recipients in $secs s ($(python3 -c "print(round($N / $secs))") jobs/s)"
t4=$(now)
again=$(curl -sf -m 600 -X POST "$API/tenants/$tenant/campaigns/$campaign/launch" -H "Authorization: Bearer $key")
t5=$(now)
echo "relaunch (adds nothing): $again in $(elapsed "$t4" "$t5") s"

#!/usr/bin/env bash
# Usage: bench/pipeline.sh [JOBS]     (default 100000)
#
# Runs JOBS messages through the whole send path — launch, the paced queue, every gate, the
# Twilio client and the sandbox — on the stack that scripts/dev.sh runs, and prints msgs/s and
# the worker's peak RSS. The tenant is in UTC with a campaign quiet window twelve hours away, 20
# numbers at 1,000 segments/s each and no budget cap, so the gates pass and pacing is not the
# limit. For a release figure: SMSCRM_BUILD=release scripts/dev.sh restart (API, worker and sandbox
# all optimised), then SMSCRM_BUILD=release bench/pipeline.sh. Everything stays in the dev database.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-100000}
[[ -f .data/dev.env ]] || { echo "no .data/dev.env: run scripts/dev.sh first" >&2; exit 1; }
set -a; source .data/dev.env; set +a
BIN=$(swift build -c "${SMSCRM_BUILD:-debug}" --show-bin-path)
PSQL=(/usr/lib/postgresql/15/bin/psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qAt)
API="http://127.0.0.1:${PORT:-3000}"
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

tenant=$("$BIN/smscrm" tenant create --name "bench-pipeline-$(date +%s)" --timezone UTC --country AU --quiet)
key=$("$BIN/smscrm" apikey create --tenant "$tenant" --name bench --role owner --quiet)
quiet_start=$(( ( $(date -u +%H) + 12 ) % 24 ))
echo "tenant $tenant; seeding $N contacts"
"${PSQL[@]}" <<SQL
INSERT INTO contacts (tenant_id, phone_e164, first_name, timezone, consent_at, consent_source)
SELECT '$tenant', '+614' || lpad(g::text, 8, '0'), 'Name' || g, 'UTC', now(), 'bench' FROM generate_series(1, $N) g;
INSERT INTO contact_lists (tenant_id, name) VALUES ('$tenant', 'everyone');
INSERT INTO contact_list_members (tenant_id, list_id, contact_id)
SELECT '$tenant', l.id, c.id FROM contacts c, contact_lists l WHERE c.tenant_id = '$tenant' AND l.tenant_id = '$tenant';
INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps)
SELECT '$tenant', '+6148' || lpad((floor(random() * 1e6))::bigint::text, 6, '0') || lpad(g::text, 2, '0'), 'short_code', 1000
FROM generate_series(1, 20) g;
SQL
list=$("${PSQL[@]}" -c "SELECT id FROM contact_lists WHERE tenant_id = '$tenant'")
numbers=$("${PSQL[@]}" -c "SELECT string_agg('\"' || id || '\"', ',') FROM sending_numbers WHERE tenant_id = '$tenant'")
campaign=$(curl -sf -X POST "$API/tenants/$tenant/campaigns" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d "{\"name\": \"bench\", \"body_template\": \"Hi {{first_name}}, our sale starts today\", \"list_ids\": [\"$list\"],
       \"sending_number_ids\": [$numbers], \"quiet_hours_start\": \"$(printf '%02d' "$quiet_start"):00\",
       \"quiet_hours_end\": \"$(printf '%02d' "$quiet_start"):01\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
t0=$(now)
curl -sf -m 600 -X POST "$API/tenants/$tenant/campaigns/$campaign/launch" -H "Authorization: Bearer $key" >/dev/null
t1=$(now)
echo "launched in $(elapsed "$t0" "$t1") s; waiting for the workers"
while :; do
  done_count=$("${PSQL[@]}" -c "SELECT count(*) FROM send_jobs WHERE campaign_id = '$campaign' AND status NOT IN ('queued', 'sending')")
  [[ $done_count -ge $N ]] && break
  sleep 0.5
done
t2=$(now)
secs=$(elapsed "$t1" "$t2")
"${PSQL[@]}" -c "SELECT status, count(*) FROM send_jobs WHERE campaign_id = '$campaign' GROUP BY status"
echo "pipeline: $N jobs through every gate to the sandbox in $secs s ($(python3 -c "print(round($N / $secs))") msgs/s)"
worker_pid=$(cat .data/pids/smscrm-worker.pid)
echo "worker peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$worker_pid/status")"

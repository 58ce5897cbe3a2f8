#!/usr/bin/env bash
# Usage: bench/import.sh [ROWS]     (default 1000000)
#
# Imports a generated CSV of ROWS contacts through POST /tenants/{id}/imports into a fresh tenant
# of the stack that scripts/dev.sh runs, polls GET …/imports/{id} until the import is finished, and
# prints rows, seconds (upload to completed), rows/s and the API process's peak RSS (VmHWM of the
# pid in .data/pids/smscrm-api.pid). It starts nothing itself: run scripts/dev.sh first.
#
# The file is realistic: AU mobiles in several national and international spellings, some US
# numbers in +1 form, names, emails on half the rows, a consent column, a lists column on 5% of
# the rows, and a few bad rows (impossible phones, bad emails) and repeated phones. It stays under
# the 50 MB upload limit (about 45 bytes a row). The tenant and its contacts stay in the dev database.
#
# For a release figure, run the stack from release builds: SMSCRM_BUILD=release scripts/dev.sh restart
# (then run this with SMSCRM_BUILD=release too, so it uses the release CLI).
# Another stack (e.g. a release API on its own database and port): SMSCRM_ENV_FILE=its env file,
# SMSCRM_API_PID_FILE=its pid file; SMSCRM_BIN_DIR picks the smscrm CLI (default: the SMSCRM_BUILD build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${1:-1000000}
if ! [[ $ROWS =~ ^[0-9]+$ ]] || ((ROWS == 0)); then
  echo "usage: bench/import.sh [ROWS]" >&2
  exit 2
fi
# Another stack: SMSCRM_ENV_FILE (its DATABASE_URL and PORT) and SMSCRM_API_PID_FILE.
ENV_FILE=${SMSCRM_ENV_FILE:-.data/dev.env}
[[ -f $ENV_FILE ]] || { echo "no $ENV_FILE: start the stack with scripts/dev.sh first" >&2; exit 1; }
set -a
# shellcheck disable=SC1090
source "$ENV_FILE"
set +a
API="http://127.0.0.1:${PORT:-3000}"
[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$API/ready" || true) == 200 ]] ||
  { echo "the API at $API is not ready: start the stack with scripts/dev.sh" >&2; exit 1; }
PIDFILE=${SMSCRM_API_PID_FILE:-.data/pids/smscrm-api.pid}
[[ -f $PIDFILE ]] || { echo "no $PIDFILE: was the API started by scripts/dev.sh?" >&2; exit 1; }
API_PID=$(<"$PIDFILE")
BIN=${SMSCRM_BIN_DIR:-$(swift build -c "${SMSCRM_BUILD:-debug}" --show-bin-path)}
[[ -x $BIN/smscrm ]] || { echo "$BIN/smscrm is not built: run swift build" >&2; exit 1; }

CSV=$(mktemp --suffix=.csv)
trap 'rm -f "$CSV"' EXIT

echo "generating $ROWS rows"
python3 - "$ROWS" "$CSV" <<'PY'
import random, sys
rows, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20261125)
first = ["Olivia", "Jack", "Charlotte", "Noah", "Amelia", "Oliver", "Isla", "William", "Mia", "Leo", "Ava",
         "Henry", "Grace", "Lucas", "Chloe", "Thomas", "Emily", "James", "Ruby", "Ethan", "Zoë", "Mateo", "Aroha", "Wei"]
last = ["Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Johnson", "Martin", "White",
        "Anderson", "Walker", "Thompson", "Harris", "Lee", "Ryan", "O'Brien", "Kelly", "Chen", "García"]
domains = ["gmail.com", "outlook.com", "bigpond.com", "icloud.com", "yahoo.com"]
us_areas = [212, 213, 305, 312, 415, 512, 617, 646, 702, 718, 917, 206]
with open(path, "w", encoding="utf-8", newline="") as f:
    f.write("phone,first_name,last_name,email,consent,lists\n")
    recent = []
    for i in range(rows):
        r = rng.random()
        if r < 0.0005:
            phone = rng.choice(["12345", "call me", "0412 34", "+999 1234"])
        elif r < 0.001 and recent:
            phone = rng.choice(recent)  # a repeated phone: the later row wins
        elif r < 0.8:
            # unique AU mobiles, 0400-0439: ranges libphonenumber knows as assigned (0445…, 0471… are not)
            n = 400000000 + (i * 7919) % 40000000
            s = f"0{n:09d}"
            style = i % 4
            phone = (s if style == 0 else f"{s[:4]} {s[4:7]} {s[7:]}" if style == 1
                     else f"+61{s[1:]}" if style == 2 else f"+61 {s[1:4]} {s[4:7]} {s[7:]}")
        else:
            line = (i * 7919) % 8000000  # unique exchange (200-999) and line per area code
            phone = f"+1{us_areas[i % len(us_areas)]}{200 + line // 10000}{line % 10000:04d}"
        if i % 1000 == 0:
            recent = recent[-50:] + [phone]
        fn, ln = rng.choice(first), rng.choice(last)
        email = ""
        if rng.random() < 0.5:
            email = f"{fn.lower()}.{ln.lower().replace(chr(39), '')}{i % 100}@{rng.choice(domains)}"
            if rng.random() < 0.001:
                email = email.replace("@", " at ")
        consent = "yes" if rng.random() < 0.7 else "no"
        lists = "VIP;Newsletter" if rng.random() < 0.05 else ""
        f.write(f"{phone},{fn},{ln},{email},{consent},{lists}\n")
PY
SIZE=$(stat -c %s "$CSV")
echo "file: $SIZE bytes"

tenant=$("$BIN/smscrm" tenant create --name "bench-import-$(date +%s)" --timezone Australia/Sydney --country AU --quiet)
key=$("$BIN/smscrm" apikey create --tenant "$tenant" --name bench --role owner --quiet)
echo "tenant $tenant"

now() { date +%s.%N; }
t0=$(now)
created=$(curl -sf -m 300 -X POST "$API/tenants/$tenant/imports?filename=bench.csv" -H "Authorization: Bearer $key" \
  -H 'Content-Type: text/csv' --data-binary "@$CSV")
t1=$(now)
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$created")
echo "uploaded in $(python3 -c "print(f'{$t1 - $t0:.2f}')") s; import $id"

# Polling stays cheap (curl and bash regexes, no interpreter per poll) so the
# benchmark does not take CPU from what it measures.
status=""
processed=0
while true; do
  detail=$(curl -sf -m 30 "$API/tenants/$tenant/imports/$id?limit=1" -H "Authorization: Bearer $key")
  [[ $detail =~ \"status\":\"([a-z]+)\" ]] && status=${BASH_REMATCH[1]}
  [[ $detail =~ \"processed_rows\":([0-9]+) ]] && processed=${BASH_REMATCH[1]}
  [[ $status == completed || $status == failed ]] && break
  printf '\r  %s %s rows ' "$status" "$processed"
  sleep 0.25
done
t2=$(now)
printf '\r'
python3 - "$detail" "$ROWS" "$t0" "$t2" "$(grep VmHWM "/proc/$API_PID/status" | awk '{print $2}')" <<'PY'
import json, sys
d = json.loads(sys.argv[1]); rows = int(sys.argv[2]); seconds = float(sys.argv[4]) - float(sys.argv[3])
print(f"status:    {d['status']}" + (f" ({d['error']})" if d.get("error") else ""))
print(f"counts:    {json.dumps(d['counts'])}")
print(f"rows:      {rows}")
print(f"seconds:   {seconds:.2f} (upload to completed)")
print(f"rows/s:    {rows / seconds:,.0f}")
print(f"API peak RSS (VmHWM): {int(sys.argv[5]) / 1024:.0f} MB")
PY
[[ $status == completed ]]

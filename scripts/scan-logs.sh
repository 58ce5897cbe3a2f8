#!/usr/bin/env bash
# Usage: scripts/scan-logs.sh DIR [FORBIDDEN...]
#   Scans every file in DIR (the logs the API and worker processes wrote during a test run;
#   scripts/test.sh points SMSCRM_TEST_LOG_DIR there) for what must never be logged:
#     - a full phone number: "+" and 8 to 15 digits (masked ones look like +61412***678);
#     - an API key secret (sk_ followed by its random part), a bcrypt hash, a session cookie value;
#     - each FORBIDDEN literal (the tests' auth tokens, passwords, message bodies).
#   Prints every offending line (cut to 200 characters) and exits 1 if any; 0 otherwise.
set -euo pipefail

say() { printf '[scan-logs.sh] %s\n' "$*" >&2; }
(($# >= 1)) || { echo "usage: scripts/scan-logs.sh DIR [FORBIDDEN...]" >&2; exit 2; }
DIR=$1
shift
[[ -d $DIR ]] || { say "no log directory $DIR"; exit 2; }

mapfile -d '' files < <(find "$DIR" -type f -print0)
lines=0
for file in "${files[@]}"; do lines=$((lines + $(wc -l <"$file"))); done
say "scanning ${#files[@]} log files, $lines lines"

found=0
report() {
  local what=$1 pattern=$2 mode=$3 hits
  hits=$(grep -r -n "$mode" -e "$pattern" -- "$DIR" 2>/dev/null | cut -c1-300 | head -20 || true)
  if [[ -n $hits ]]; then
    say "LEAK ($what):"
    printf '%s\n' "$hits" >&2
    found=1
  fi
}
# A "+" then 8-15 digits not followed by more digits or a mask; JSON escapes a "+" as itself.
report "full phone number" '\+[1-9][0-9]{7,14}([^0-9*]|$)' -E
report "API key secret" 'sk_[A-Za-z0-9_-]{16,}' -E
report "bcrypt hash" '\$2[aby]\$[0-9]{2}\$' -E
report "session cookie" 'session_id=[A-Za-z0-9_-]{16,}' -E
for literal in "$@"; do report "forbidden text" "$literal" -F; done

if ((found)); then
  say "logs leak phone numbers or secrets (see above)"
  exit 1
fi
say "no phone numbers or secrets in the logs"

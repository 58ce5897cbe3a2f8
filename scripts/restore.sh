#!/usr/bin/env bash
# Usage: scripts/restore.sh [--yes] FILE          (or CONFIRM=yes scripts/restore.sh FILE)
#   Replaces the whole database at $DATABASE_URL with the backup FILE (.sql.gz from
#   scripts/backup.sh, or plain .sql): drops and recreates schema public, then replays the dump
#   with psql ON_ERROR_STOP — all in one transaction, so a failed restore leaves the database as
#   it was — and verifies that every table holds as many rows as the dump carried. Stop the API
#   and workers first. Asks you to type the database name, or takes --yes / CONFIRM=yes.
#   Without DATABASE_URL in the environment it uses .data/dev.env (the scripts/dev.sh stack).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '[restore.sh] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { echo "usage: scripts/restore.sh [--yes] FILE   (or CONFIRM=yes scripts/restore.sh FILE)" >&2; exit 2; }

FILE="" YES=0
for arg in "$@"; do
  case $arg in
  --yes | -y) YES=1 ;;
  -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) usage ;;
  *) [[ -z $FILE ]] || usage; FILE=$arg ;;
  esac
done
[[ -n $FILE ]] || usage
[[ -f $FILE && -r $FILE ]] || die "backup file not found or unreadable: $FILE"
if [[ ${CONFIRM:-} == yes ]]; then YES=1; fi

if [[ -z ${DATABASE_URL:-} && -f $ROOT/.data/dev.env ]]; then
  # shellcheck disable=SC1091
  DATABASE_URL=$(set -a && source "$ROOT/.data/dev.env" && printf '%s' "$DATABASE_URL")
  say "DATABASE_URL not set; using the dev stack's ($ROOT/.data/dev.env)"
fi
[[ -n ${DATABASE_URL:-} ]] || die "DATABASE_URL is not set"
REDACTED_URL=$(sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$DATABASE_URL")

DBNAME=$(sed -E 's#^[a-z]+://[^/]*/([^?]*).*#\1#' <<<"$DATABASE_URL")
if ((!YES)); then
  if [[ -t 0 ]]; then
    say "this REPLACES every table in $REDACTED_URL with the contents of $FILE. Stop the API and workers first."
    read -r -p "Type the database name ($DBNAME) to go on: " typed
    [[ $typed == "$DBNAME" ]] || die "not confirmed; nothing changed"
  else
    die "this REPLACES every table in $REDACTED_URL with the contents of $FILE.
    Stop the API and workers, then run again with --yes (or CONFIRM=yes)."
  fi
fi

PSQL=/usr/lib/postgresql/15/bin/psql
[[ -x $PSQL ]] || PSQL=$(command -v psql) || die "psql not found (apt-get install postgresql-client-15)"

case $FILE in
*.gz) READ=(gzip -dc -- "$FILE") ;;
*) READ=(cat -- "$FILE") ;;
esac
# Check the archive before touching the database.
if [[ $FILE == *.gz ]]; then gzip -t -- "$FILE" || die "$FILE is not a valid gzip file"; fi

say "restoring $FILE into $REDACTED_URL"
{
  echo "DROP SCHEMA IF EXISTS public CASCADE;"
  echo "CREATE SCHEMA public;"
  "${READ[@]}"
} | PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -v ON_ERROR_STOP=1 --single-transaction --dbname="$DATABASE_URL" >/dev/null
say "restore complete; verifying row counts"

# What the dump carried: the data lines of each table's COPY block.
EXPECTED=$("${READ[@]}" | awk '
  /^COPY [^ ]+ .* FROM stdin;$/ { table = $2; rows[table] = 0; inside = 1; next }
  inside && /^\\\.$/ { inside = 0; next }
  inside { rows[table]++ }
  END { for (t in rows) print t, rows[t] }' | sort)
mismatches=0
checked=0
while read -r table want; do
  [[ -n $table ]] || continue
  have=$("$PSQL" -X -q -t -A --dbname="$DATABASE_URL" -c "SELECT count(*) FROM $table") || die "cannot count $table"
  checked=$((checked + 1))
  if [[ $have != "$want" ]]; then
    say "MISMATCH: $table has $have rows, the backup has $want"
    mismatches=$((mismatches + 1))
  fi
done <<<"$EXPECTED"
((mismatches == 0)) || die "$mismatches tables do not match the backup"
say "verified: $checked tables, every row count matches the backup"

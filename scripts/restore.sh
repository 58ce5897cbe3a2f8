#!/usr/bin/env bash
# Usage: scripts/restore.sh [--yes] FILE          (or CONFIRM=yes scripts/restore.sh FILE)
#   Replaces the whole database at $DATABASE_URL with the backup FILE (.sql.gz from
#   scripts/backup.sh, or plain .sql): drops and recreates schema public, then replays the dump
#   with psql ON_ERROR_STOP — all in one transaction, so a failed restore leaves the database as
#   it was. Stop the API and workers first. Refuses to run without --yes or CONFIRM=yes.
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

if ((!YES)); then
  die "this REPLACES every table in $REDACTED_URL with the contents of $FILE.
    Stop the API and workers, then run again with --yes (or CONFIRM=yes)."
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
} | "$PSQL" -X -q -v ON_ERROR_STOP=1 --single-transaction --dbname="$DATABASE_URL" >/dev/null
say "restore complete"

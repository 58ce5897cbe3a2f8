#!/usr/bin/env bash
# Usage: scripts/backup.sh [DIR]
#   pg_dump of $DATABASE_URL, gzipped, to DIR/smscrm_YYYYmmdd_HHMMSS.sql.gz
#   (DIR defaults to $BACKUP_DIR, else /backups); then deletes backups in DIR older than 7 days.
#   Without DATABASE_URL in the environment it uses .data/dev.env (the scripts/dev.sh stack).
#   Prints the path of the new backup on stdout. Cron example (daily at 02:00):
#     0 2 * * *  DATABASE_URL=postgres://... /opt/smscrm/scripts/backup.sh /backups
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '[backup.sh] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

case "${1:-}" in -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
(($# <= 1)) || die "usage: scripts/backup.sh [DIR]"
DIR=${1:-${BACKUP_DIR:-/backups}}
RETENTION_DAYS=7

if [[ -z ${DATABASE_URL:-} && -f $ROOT/.data/dev.env ]]; then
  # shellcheck disable=SC1091
  DATABASE_URL=$(set -a && source "$ROOT/.data/dev.env" && printf '%s' "$DATABASE_URL")
  say "DATABASE_URL not set; using the dev stack's ($ROOT/.data/dev.env)"
fi
[[ -n ${DATABASE_URL:-} ]] || die "DATABASE_URL is not set"

PG_DUMP=/usr/lib/postgresql/15/bin/pg_dump
[[ -x $PG_DUMP ]] || PG_DUMP=$(command -v pg_dump) || die "pg_dump not found (apt-get install postgresql-client-15)"

# The URL without its password, for messages.
REDACTED_URL=$(sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$DATABASE_URL")

mkdir -p "$DIR"
FILE=$DIR/smscrm_$(date +%Y%m%d_%H%M%S).sql.gz
PARTIAL=$FILE.partial
trap 'rm -f "$PARTIAL"' EXIT

say "dumping $REDACTED_URL"
# Written under another name first, so a failed dump never looks like a backup.
"$PG_DUMP" --no-owner --no-privileges --dbname="$DATABASE_URL" | gzip -c >"$PARTIAL"
mv "$PARTIAL" "$FILE"
say "wrote $FILE ($(du -h "$FILE" | cut -f1))"

# Retention: older than 7 days (by modification time).
while IFS= read -r -d '' old; do
  rm -f -- "$old"
  say "deleted old backup $old"
done < <(find "$DIR" -maxdepth 1 -type f -name 'smscrm_*.sql.gz' -mmin +$((RETENTION_DAYS * 24 * 60)) -print0)

echo "$FILE"

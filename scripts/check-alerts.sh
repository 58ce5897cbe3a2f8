#!/usr/bin/env bash
# Usage: scripts/check-alerts.sh
#   Checks the Prometheus alerting rules in infra/prometheus/: `promtool check rules alerts.yml`
#   (syntax, PromQL, templates), then `promtool test rules alerts_test.yml` (the unit tests).
#   Exits non-zero if either fails or promtool is missing. scripts/test.sh runs it first.
#   promtool comes with Debian's prometheus package (/usr/bin/promtool); $PROMTOOL overrides it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf '[check-alerts.sh] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

case "${1:-}" in -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
(($# == 0)) || die "usage: scripts/check-alerts.sh"

RULES=infra/prometheus/alerts.yml
TESTS=infra/prometheus/alerts_test.yml
PROMTOOL=${PROMTOOL:-promtool}

command -v "$PROMTOOL" >/dev/null 2>&1 ||
  die "promtool not found ($PROMTOOL); install it as root:  apt-get install -y --no-install-recommends prometheus"
[[ -f $RULES ]] || die "$RULES not found"
[[ -f $TESTS ]] || die "$TESTS not found"
say "$("$PROMTOOL" --version 2>&1 | head -n 1)"

say "promtool check rules $RULES"
"$PROMTOOL" check rules "$RULES" || die "promtool check rules failed for $RULES"

say "promtool test rules $TESTS"
"$PROMTOOL" test rules "$TESTS" || die "promtool test rules failed for $TESTS"

say "alert rules OK"

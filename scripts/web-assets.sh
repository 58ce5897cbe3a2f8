#!/usr/bin/env bash
# Usage: scripts/web-assets.sh [WEB_DIR]      (default: <repo>/web)
#
# Puts the admin UI's third-party assets into WEB_DIR/vendor/ (git-ignored; nothing third-party is
# committed), each checked against its sha256 in WEB_DIR/vendor.lock (committed; the API checks the
# same file at start-up, so the hashes live in one place):
#   chart.min.js      Chart.js 3.9.1 from Debian's libjs-chart.js (installed here if missing)
#   htmx.min.js       htmx 2.0.3, from the PyPI wheel django-js-lib-htmx 2.0.3.1 (Debian has no htmx)
#   pico.min.css      Pico CSS 1.5.10, from the PyPI wheel lona-picocss 0.4.4
#   axe.min.js        axe-core 4.12.1, from the PyPI wheel axe-playwright-python 0.1.8 (browser tests only)
# Wheels are fetched once with `pip download --no-deps` into .data/web-wheels/ and checked by the
# sha256 below. Idempotent: files whose hash already matches are left alone.
#
# What was compared with upstream (once, when these pins were chosen):
#   htmx.min.js: its sha384 in base64, 0895/pl2MU10Hqc6jd4RvrthNlDiE9U1tWmX7WRESftEDRosgxNsQG/Ze9YMRzHq,
#     is the SRI hash htmx's own docs (www/content/docs.md at tag v2.0.3) publish for 2.0.3.
#   pico.min.css and axe.min.js: their banners say "Pico CSS v1.5.10" and "axe v4.12.1"; no upstream
#     hash for these files was at hand to compare, so the sha256 below pins what the wheels carry.
#   chart.min.js: Debian's package is signed by its archive; the hash pins bookworm's 3.9.1 build.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SMSCRM_LOG_TAG=web-assets.sh
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

WEB_DIR=$(abs_path "${1:-${WEB_DIR:-$ROOT/web}}")
VENDOR=$WEB_DIR/vendor
WHEELS=$ROOT/.data/web-wheels

# wheel file name | sha256 of the wheel
WHEEL_PINS=(
  "django_js_lib_htmx-2.0.3.1-py2.py3-none-any.whl|438bb3c92842008e9deaa46b7d896dedd2a08babc7c4574f3223d207c7292ff0"
  "lona_picocss-0.4.4-py3-none-any.whl|8d640dbe393a650f3e90b9339dff0b4cae4087fc9e2ba917386d6f51d92071a1"
  "axe_playwright_python-0.1.8-py3-none-any.whl|fdd263c998388f1a8e67cad02677e612d946248bd44d163be5e8650ea31f95f8"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

[[ -f /usr/share/javascript/chart.js/chart.min.js ]] || ensure_packages libjs-chart.js
command -v unzip >/dev/null || ensure_packages unzip
python3 -m pip --version >/dev/null 2>&1 || ensure_packages python3-pip

mkdir -p "$WHEELS" "$VENDOR"
for pin in "${WHEEL_PINS[@]}"; do
  IFS='|' read -r wheel want <<<"$pin"
  if [[ ! -f $WHEELS/$wheel || $(sha "$WHEELS/$wheel") != "$want" ]]; then
    rm -f "$WHEELS/$wheel"
    name=${wheel%%-*} version=${wheel#*-}
    version=${version%%-*}
    say "pip download ${name//_/-}==$version"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$WHEELS" "${name//_/-}==$version" ||
      die "could not download ${name//_/-}==$version from PyPI"
    [[ $(sha "$WHEELS/$wheel") == "$want" ]] || die "$wheel does not have the pinned sha256 $want"
  fi
done

LOCK=$WEB_DIR/vendor.lock
[[ -f $LOCK ]] || die "$LOCK is missing"
count=0
while read -r file want source; do
  [[ -z $file || $file == \#* ]] && continue
  target=$VENDOR/$file
  if [[ ! -f $target || $(sha "$target") != "$want" ]]; then
    if [[ $source == *.whl:* ]]; then
      unzip -p "$WHEELS/${source%%:*}" "${source#*:}" >"$target.tmp"
    else
      cp "$source" "$target.tmp"
    fi
    got=$(sha "$target.tmp")
    [[ $got == "$want" ]] || { rm -f "$target.tmp"; die "$file from $source has sha256 $got, expected $want"; }
    mv "$target.tmp" "$target"
    say "installed $target"
  fi
  count=$((count + 1))
done <"$LOCK"
say "$count web assets in $VENDOR are present and match $LOCK"

#!/usr/bin/env bash
# Usage: bench/phone-parse.sh [NUMBERS] [GIT_REV]     (default 200000; GIT_REV: also time that revision's parser)
#
# Times PhoneNumber.parse alone, in a small release (-O) program built with swiftc from
# Sources/SMSCore/Phone/{PhoneNumber,LibPhoneNumber,PhoneNumberType}.swift and the CPhoneNumber shim
# (clang++ -O2), over NUMBERS phones spelt as bench/import.sh spells them (AU mobiles in four
# spellings, US numbers in +1 form, a few bad ones), default country AU, on 1 and 2 threads.
# With GIT_REV (e.g. 44a9d29, before libphonenumber) it also times that revision's PhoneNumber.swift,
# for a before/after figure. Needs swiftc, clang++ and libphonenumber-dev; builds in a temp dir.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NUMBERS=${1:-200000}
REV=${2:-}
if ! [[ $NUMBERS =~ ^[0-9]+$ ]] || ((NUMBERS == 0)); then
  echo "usage: bench/phone-parse.sh [NUMBERS] [GIT_REV]" >&2
  exit 2
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

python3 - "$NUMBERS" "$TMP/phones.txt" <<'PY'
import random, sys
count, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20261125)
us_areas = [212, 213, 305, 312, 415, 512, 617, 646, 702, 718, 917, 206]
with open(path, "w") as f:
    for i in range(count):
        r = rng.random()
        if r < 0.0005:
            phone = rng.choice(["12345", "call me", "0412 34", "+999 1234"])
        elif r < 0.8:
            s = f"0{400000000 + (i * 7919) % 40000000:09d}"  # 0400-0439, as bench/import.sh
            style = i % 4
            phone = (s if style == 0 else f"{s[:4]} {s[4:7]} {s[7:]}" if style == 1
                     else f"+61{s[1:]}" if style == 2 else f"+61 {s[1:4]} {s[4:7]} {s[7:]}")
        else:
            line = (i * 7919) % 8000000
            phone = f"+1{us_areas[i % len(us_areas)]}{200 + line // 10000}{line % 10000:04d}"
        f.write(phone + "\n")
PY

mkdir -p "$TMP/cmod"
cp Sources/CPhoneNumber/include/cphonenumber.h "$TMP/cmod/"
printf 'module CPhoneNumber {\n  header "cphonenumber.h"\n  export *\n}\n' >"$TMP/cmod/module.modulemap"
clang++ -std=c++17 -O2 -c Sources/CPhoneNumber/cphonenumber.cpp -I "$TMP/cmod" -o "$TMP/cphonenumber.o"
swiftc -O -I "$TMP/cmod" Sources/SMSCore/Phone/{PhoneNumber,LibPhoneNumber,PhoneNumberType}.swift bench/phone-parse/main.swift \
  "$TMP/cphonenumber.o" -lphonenumber -lprotobuf -lstdc++ -o "$TMP/parse-now"
echo "this tree (libphonenumber):"
"$TMP/parse-now" "$TMP/phones.txt"

if [[ -n $REV ]]; then
  git show "$REV:Sources/SMSCore/Phone/PhoneNumber.swift" >"$TMP/PhoneNumber-$REV.swift"
  swiftc -O "$TMP/PhoneNumber-$REV.swift" bench/phone-parse/main.swift -o "$TMP/parse-rev"
  echo "$REV:"
  "$TMP/parse-rev" "$TMP/phones.txt"
fi

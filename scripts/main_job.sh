#!/usr/bin/env bash
# The main job, on a fresh machine: install elfaudit, fetch real Debian libvirt0 packages
# (private apt setup under .cache/), compare bookworm's release with sid's, judge sid's
# libraries against every release in the shipped graph, audit bookworm -> sid across every
# section of libvirt's support page (`elfaudit guarantees` on the two suites' whole package
# sets, `fetch_debian.py --set full`: about 5 MB each), then judge sid's whole package set,
# every section, against every release in the shipped graph (`graph check DIR`). Exits with
# that last verdict (abidiff's bitmask: 0 clean, 4 additions/warnings only, 12
# incompatible, 1 could not audit), or 1 when any step could not audit.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q --disable-pip-version-check . >/dev/null
fetched=$(python3 scripts/fetch_debian.py --package libvirt0 --suite bookworm --suite sid)
old=$(awk -F'\t' '$1 == "bookworm" && $2 == "amd64" {print $4}' <<<"$fetched")
new=$(awk -F'\t' '$1 == "sid" && $2 == "amd64" {print $4}' <<<"$fetched")

echo "== elfaudit compare $(basename "$old") $(basename "$new")"
elfaudit compare "$old" "$new" || true
echo
echo "== elfaudit graph check $(basename "$new")  (against the shipped release graph)"
rc=0
elfaudit graph check "$new" || rc=$?

full=$(python3 scripts/fetch_debian.py --set full --suite bookworm --suite sid)
old_set=$(dirname "$(awk -F'\t' '$1 == "bookworm" && $2 == "amd64" {print $4; exit}' <<<"$full")")
new_set=$(dirname "$(awk -F'\t' '$1 == "sid" && $2 == "amd64" {print $4; exit}' <<<"$full")")
echo
echo "== elfaudit guarantees bookworm sid  (every section of the support page; whole package sets)"
grc=0
elfaudit guarantees "$old_set" "$new_set" || grc=$?
echo
echo "== elfaudit graph check $new_set  (sid's whole package set: every section, against every release in the shipped graph)"
src=0
elfaudit graph check "$new_set" || src=$?
if (( rc & 1 || grc & 1 || src & 1 )); then
    exit 1
fi
exit "$src"

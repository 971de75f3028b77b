#!/usr/bin/env bash
# The main job, on a fresh machine: install elfaudit, fetch real Debian libvirt0 packages
# (private apt setup under .cache/), compare bookworm's release with sid's, then judge
# sid's build against every release in the shipped graph. Exits with that verdict's code
# (abidiff's bitmask: 0 clean, 4 additions/warnings only, 12 incompatible, 1 could not audit).
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
elfaudit graph check "$new"

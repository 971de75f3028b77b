#!/usr/bin/env python3
"""Rebuild the shipped release graph from Debian's real libvirt packages.

    python scripts/record_debian_graph.py [--graph PATH] [--cache DIR]

Fetches every libvirt binary package elfaudit reads (amd64, ``fetch_debian.py --set
full``) for every suite in data/debian-releases.json and records each suite's package set
with elfaudit itself (``graph record DIR``: the libraries, and the facts of every section of
libvirt's support page), in this shape:

    7.0.0 (bullseye) -> 9.0.0 (bookworm) -> 11.3.0 (trixie) -> <sid's release>
                                         \\-> debian/<bookworm-backports version>

The backport is a branch: trixie's libvirt rebuilt for bookworm. Sid floats; when it
carries the same upstream release as trixie it is recorded as debian/<version> after
trixie. Anyone can rerun this to extend the history; the file is deterministic JSON,
so `git diff` shows what a run changed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from elfaudit.commands.graph import load_build, shipped_graph_path  # noqa: E402
from elfaudit.graph.dag import ReleaseGraph  # noqa: E402
from elfaudit.policy.profiles import builtin  # noqa: E402
from elfaudit.readers.packages import deb_metadata, debian_upstream  # noqa: E402

# suite -> (how the release is named, which suite's release it follows)
SHAPE = {
    "bullseye": ("upstream", None),
    "bookworm": ("upstream", "bullseye"),
    "trixie": ("upstream", "bookworm"),
    "bookworm-backports": ("debian", "bookworm"),
    "sid": ("upstream", "trixie"),
}


def fetch(cache: str | None) -> dict[str, Path]:
    """suite -> its cached libvirt0 .deb (the full package set is the folder holding it)."""
    cmd = [sys.executable, str(ROOT / "scripts" / "fetch_debian.py"), "--set", "full"]
    for suite in SHAPE:
        cmd += ["--suite", suite]
    if cache:
        cmd += ["--cache", cache]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    debs: dict[str, Path] = {}
    for line in out.splitlines():
        suite, arch, _version, path = line.split("\t")
        if arch == "amd64" and Path(path).name.startswith("libvirt0_"):
            debs[suite] = Path(path)
    return debs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--graph", default=shipped_graph_path(), help="graph file to (re)write")
    ap.add_argument("--cache", help="fetch cache (see scripts/fetch_debian.py)")
    args = ap.parse_args()
    debs = fetch(args.cache)
    graph = ReleaseGraph(args.graph)
    names: dict[str, str] = {}
    for suite, (style, after) in SHAPE.items():
        deb = debs.get(suite)
        if deb is None:
            print(f"skipped {suite}: no package fetched", file=sys.stderr)
            continue
        version = deb_metadata(str(deb))["Version"]
        name = debian_upstream(version) if style == "upstream" else f"debian/{version}"
        if name in graph:  # sid carrying trixie's release: record the Debian build
            name = f"debian/{version}"
        parents = [names[after]] if after in names else []
        build = load_build([str(deb.parent)])
        packages = sorted(p.name for p in deb.parent.iterdir() if p.suffix == ".deb")
        graph.add_release(
            name,
            build.libs,
            parents,
            source=f"{deb.name} and {len(packages) - 1} more packages of libvirt {version}",
            note=f"Debian {suite} libvirt {version} (amd64), every binary package",
            is_private=builtin("libvirt").is_private,
            sections=build.sections,
        )
        names[suite] = name
        print(
            f"recorded {name} from {len(packages)} packages with "
            f"{', '.join(sorted(build.sections))}" + (f" after {parents[0]}" if parents else "")
        )
    Path(args.graph).parent.mkdir(parents=True, exist_ok=True)
    graph.save(args.graph)
    print(f"wrote {args.graph}: {len(graph)} releases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

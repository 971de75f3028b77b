"""``needs``: the newest node a program binds to, and whether a library or release has it."""

from __future__ import annotations

import os
from collections.abc import Sequence

from elfaudit.base.errors import InputError
from elfaudit.commands.graph import late_additions, load_default_graph
from elfaudit.model.abi import LibraryABI
from elfaudit.model.tables import Table
from elfaudit.policy.profiles import profile_for
from elfaudit.readers.inputs import kind_of, load_libraries

# Where a package or tree keeps programs (besides its shared libraries).
_PROGRAM_DIRS = ("bin/", "sbin/", "libexec/")
CELL_ITEMS = 3  # a cell lists this many items, then "and N more"


def summarise(items: Sequence[str], limit: int = CELL_ITEMS) -> str:
    """``a, b, c and 4,995 more``: a bounded cell for a long list."""
    if len(items) <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit:,} more"


def _program_name(name: str) -> bool:
    from elfaudit.readers.packages import is_library_name

    return is_library_name(name) or any(
        name.startswith(d) or f"/{d}" in name for d in _PROGRAM_DIRS
    )


def load_programs(path: str) -> list[LibraryABI]:
    """The ELF programs and libraries a path stands for: one file (an executable or a
    library), a snapshot, or every dynamically linked executable and shared library of a
    .deb, .rpm or tree (programs from ``bin``, ``sbin`` and ``libexec`` directories)."""
    kind = kind_of(path)
    if kind in ("elf", "snapshot"):
        return load_libraries(path)
    from elfaudit.readers.elf import read_library_bytes
    from elfaudit.readers.packages import read_members

    out = []
    for m in read_members(path, want=_program_name, elf_only=False):
        data = m.data
        # ELF, and ET_EXEC or ET_DYN (either byte order): programs (PIE or not), libraries
        if data is None or data[:4] != b"\x7fELF" or len(data) < 18:
            continue
        etype = int.from_bytes(data[16:18], "little" if data[5] == 1 else "big")
        if etype not in (2, 3):
            continue
        origin = f"{path}/{m.name}" if kind == "dir" else f"{os.path.basename(path)}:/{m.name}"
        try:
            abi = read_library_bytes(data, origin, digest=False)
        except InputError:
            continue  # a damaged member among many: the others still answer
        if abi.needed or abi.version_needs:
            out.append(abi)
    if not out:
        what = "directory" if kind == "dir" else "package"
        raise InputError(path, f"no dynamically linked programs or libraries in this {what}")
    return sorted(out, key=lambda a: a.path)


def run_needs(
    program_paths: Sequence[str],
    *,
    library: str | None,
    release: str | None,
    graph_path: str | None,
) -> Table:
    """Which release a program needs at least, and whether a library or release has it
    (``ok``: everything the programs bind to is there).

    A node maps to a release only under a profile whose node names carry one
    (``release_named_nodes``: libvirt's ``LIBVIRT_9.0.0`` -> 9.0.0); elsewhere
    (``GNUTLS_3_4`` under the generic profile) the node alone is reported.
    """
    from elfaudit.analysis import needs
    from elfaudit.graph.judge import upstream_version
    from elfaudit.model.tags import VersionTag, release_key

    graph = load_default_graph(graph_path) if (release or graph_path) else None
    targets: dict[str, LibraryABI] = {}
    if library is not None:
        targets = {a.name: a for a in load_libraries(library)}
    elif release is not None:
        assert graph is not None
        graph.release(release)  # GraphError if unknown
        for soname in graph.release(release).library_names:
            abi = graph.library(release, soname)
            assert abi is not None
            targets[soname] = abi

    def node_to_release(soname: str, node: str) -> str | None:
        if not getattr(profile_for(soname), "release_named_nodes", False):
            return None
        tag = VersionTag.parse(node)
        return ".".join(map(str, tag.numbers)) if tag.numbers else None

    rows = []
    ok = True
    programs = [p for path in program_paths for p in load_programs(path)]
    for program in programs:
        result = needs.minimum_release(program, node_to_release=node_to_release)
        for lib in result.libraries:
            prof = profile_for(lib.soname)
            named = bool(getattr(prof, "release_named_nodes", False))
            release_needed = lib.release
            if named:
                late = late_additions(graph, prof)
                imported = {i.name for i in program.imports if i.file == lib.soname}
                for sym in imported:
                    rel = late.get((lib.soname, sym))
                    if rel and (
                        release_needed is None or release_key(rel) > release_key(release_needed)
                    ):
                        release_needed = upstream_version(rel)
            verdict = "-"
            target = targets.get(lib.soname)
            if target is not None:
                lacking = needs.satisfies(program, target)
                verdict = "satisfied" if not lacking else "MISSING: " + summarise(lacking, 2)
                ok = ok and not lacking
            elif targets:
                verdict = "not in the given library set"
            rows.append(
                (
                    program.name,
                    lib.soname,
                    lib.newest,
                    (release_needed or "?") if named else "-",
                    len(lib.nodes),
                    verdict,
                )
            )
    headers = ("Program", "Library", "Newest node", "Minimum release", "Nodes", "Satisfied")
    notes: tuple[str, ...] = ()
    if rows and any(r[3] == "-" for r in rows):
        notes = (
            "Minimum release '-': the library's profile does not say that its node names "
            "carry release numbers, so only the node is reported",
        )
    return Table("elfaudit-needs", headers, tuple(rows), notes=notes, ok=ok)

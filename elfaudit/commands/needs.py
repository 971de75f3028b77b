"""``needs``: the newest node a program binds to, and whether a library or release has it."""

from __future__ import annotations

from collections.abc import Sequence

from elfaudit.commands.dump import run_dump
from elfaudit.commands.graph import late_additions, load_default_graph
from elfaudit.model.abi import LibraryABI
from elfaudit.model.tables import Table
from elfaudit.policy.profiles import profile_for
from elfaudit.readers.inputs import load_libraries


def run_needs(
    program_paths: Sequence[str],
    *,
    library: str | None,
    release: str | None,
    graph_path: str | None,
) -> Table:
    """Which release a program needs at least, and whether a library or release has it
    (``ok``: everything the programs bind to is there)."""
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
    rows = []
    ok = True
    for program in run_dump(program_paths):

        def node_to_release(soname: str, node: str) -> str | None:
            tag = VersionTag.parse(node)
            return ".".join(map(str, tag.numbers)) if tag.numbers else None

        result = needs.minimum_release(program, node_to_release=node_to_release)
        for lib in result.libraries:
            prof = profile_for(lib.soname)
            late = late_additions(graph, prof)
            release_needed = lib.release
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
                verdict = "satisfied" if not lacking else "MISSING: " + ", ".join(lacking)
                ok = ok and not lacking
            elif targets:
                verdict = "not in the given library set"
            rows.append(
                (
                    program.name,
                    lib.soname,
                    lib.newest,
                    release_needed or "?",
                    len(lib.nodes),
                    verdict,
                )
            )
    headers = ("Program", "Library", "Newest node", "Minimum release", "Nodes", "Satisfied")
    return Table("elfaudit-needs", headers, tuple(rows), ok=ok)

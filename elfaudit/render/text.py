"""Plain-text rendering for terminals: reports and dumps (the only importer of tabulate).

Small tables go through tabulate's ``simple`` format. tabulate needs ~0.3 s for a
7000-row table, so tables longer than :data:`TABULATE_MAX_ROWS` go through
:func:`fixed_table`, which lays out the very same ``simple`` format itself.

Report tables fit the terminal: the message (and waiver) column is wrapped onto
continuation lines when a row would be wider than :func:`terminal_width`.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections import Counter
from collections.abc import Sequence

from elfaudit.base.errors import terminal_safe
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding, Report, Severity
from elfaudit.model.tags import node_key
from elfaudit.render.common import library_order, sorted_findings, verdict_line

TABULATE_MAX_ROWS = 200
_MIN_PADDING = 2  # tabulate's: a header is at least this narrower than its column
_SEP = "  "
#: The width of text reports when it cannot be asked (not a terminal, no ``$COLUMNS``).
DEFAULT_WIDTH = 120
#: A wrapped column is never made narrower than this (the row then overflows).
MIN_WRAP = 16


def terminal_width() -> int:
    """``$COLUMNS`` if set, else the terminal's width when stdout is one, else
    :data:`DEFAULT_WIDTH` (a pipe or a file: stable output)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        if sys.stdout.isatty():
            return os.get_terminal_size(sys.stdout.fileno()).columns or DEFAULT_WIDTH
    except (AttributeError, OSError, ValueError):
        pass
    return DEFAULT_WIDTH


def fit_rows(
    headers: Sequence[str], rows: Sequence[Sequence[str]], wrap: frozenset[int], width: int
) -> list[list[str]]:
    """Rows whose ``wrap`` columns are wrapped so that a line fits ``width`` when it can.

    A wrapped cell continues on the following lines, the other cells of which are empty.
    The wrapped columns share the room the others leave (one narrower than its share
    keeps its width), and keep at least :data:`MIN_WRAP` characters.
    """
    n = len(headers)
    widths = [len(h) + _MIN_PADDING for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    total = sum(widths) + len(_SEP) * (n - 1)
    cols = sorted(i for i in wrap if i < n)
    if total <= width or not cols:
        return [list(r) for r in rows]
    room = width - (total - sum(widths[i] for i in cols))
    # Water-filling: a column narrower than its fair share keeps its width, the others
    # share what is left.
    limits: dict[int, int] = {}
    todo = sorted(cols, key=lambda i: widths[i])
    while todo:
        share = room // len(todo)
        if widths[todo[0]] <= share:
            limits[todo[0]] = widths[todo[0]]
            room -= widths[todo.pop(0)]
            continue
        limits.update((i, max(MIN_WRAP, share)) for i in todo)
        break
    out: list[list[str]] = []
    for row in rows:
        pieces = {
            i: textwrap.wrap(row[i], limits[i], break_on_hyphens=False) or [row[i]]
            for i in cols
            if len(row[i]) > limits[i]
        }
        if not pieces:
            out.append(list(row))
            continue
        for k in range(max(len(p) for p in pieces.values())):
            line = []
            for i in range(n):
                if i in pieces:
                    line.append(pieces[i][k] if k < len(pieces[i]) else "")
                else:
                    line.append(row[i] if k == 0 else "")
            out.append(line)
    return out


def _cell(value: object) -> str:
    """A table cell on one line: None -> ``-``, newlines and tabs -> spaces, trimmed."""
    if value is None:
        return "-"
    text = value if isinstance(value, str) else str(value)
    if "\n" in text or "\r" in text or "\t" in text:
        text = " ".join(text.replace("\t", " ").splitlines())
    return terminal_safe(text.strip()) or "-"


def fixed_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int]
) -> str:
    """tabulate's ``simple`` format (disable_numparse, trailing spaces trimmed), computed here.

    ``right`` holds the indexes of right-aligned columns. Cells must already be clean
    single-line strings (see :func:`_cell`); widths count code points.
    """
    widths = [len(h) + _MIN_PADDING for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            if len(cell) > widths[i]:
                widths[i] = len(cell)
    last = len(headers) - 1

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            if i in right:
                out.append(cell.rjust(widths[i]))
            elif i == last:
                out.append(cell)
            else:
                out.append(cell.ljust(widths[i]))
        return _SEP.join(out).rstrip()

    lines = [line(headers), _SEP.join("-" * w for w in widths)]
    lines.extend(line(row) for row in rows)
    return "\n".join(lines)


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    right: frozenset[int] = frozenset(),
    *,
    wrap: frozenset[int] = frozenset(),
    width: int | None = None,
) -> str:
    """A ``simple`` table: tabulate for small ones, :func:`fixed_table` for long ones.

    With ``wrap`` and ``width``, those columns are wrapped to fit (:func:`fit_rows`).
    """
    cells = [[_cell(v) for v in row] for row in rows]
    if wrap and width is not None:
        cells = fit_rows(headers, cells, wrap, width)
    if len(cells) > TABULATE_MAX_ROWS:
        return fixed_table(headers, cells, right)
    colalign = tuple("right" if i in right else "left" for i in range(len(headers)))
    # Imported here: tabulate (with wcwidth) costs ~40 ms to import, and most reports
    # print no table at all.
    from tabulate import tabulate  # noqa: TID251 - tabulate's home module

    out = tabulate(
        cells,
        headers=list(headers),
        tablefmt="simple",
        disable_numparse=True,
        colalign=colalign,
    )
    return "\n".join(ln.rstrip() for ln in out.split("\n"))


# --------------------------------------------------------------------------- reports


def _findings_table(findings: Sequence[Finding], *, waived: bool, width: int) -> str:
    headers = ["severity", "rule", "symbol", "version", "message"]
    with_where = any(f.location is not None for f in findings)
    if with_where:
        headers.append("where")
    if waived:
        headers.append("waiver")
    rows = []
    for f in findings:
        row: list[object] = [
            f.severity.value,
            f.rule,
            f.symbol and terminal_safe(f.symbol),
            f.version and terminal_safe(f.version),
            f.message,
        ]
        if with_where:
            row.append(f.location)
        if waived:
            row.append(f.waived)
        rows.append(row)
    wrap = {2, 4} | ({len(headers) - 1} if waived else set())
    return table(headers, rows, wrap=frozenset(wrap), width=width)


def _nodes(nodes: Sequence[str]) -> str:
    return ", ".join(map(terminal_safe, nodes)) if nodes else "(none)"


def _scan_summary(libraries: list[str], findings: list[Finding]) -> str:
    counts: dict[str, Counter[str]] = {lib: Counter() for lib in libraries}
    for f in findings:
        key = "waived" if f.waived is not None else f.severity.value
        counts.setdefault(f.library, Counter())[key] += 1
    rows = [(lib, c["error"], c["warning"], c["info"], c["waived"]) for lib, c in counts.items()]
    return table(("library", "errors", "warnings", "info", "waived"), rows, frozenset({1, 2, 3, 4}))


class TextRenderer:
    """The human report. Info findings are counted unless ``verbose`` lists them.

    Tables fit ``width`` columns (default: :func:`terminal_width`, asked at each render).
    """

    def __init__(self, *, verbose: bool = False, width: int | None = None) -> None:
        self.verbose = verbose
        self.width = width

    def render(self, report: Report) -> str:
        self._width = self.width if self.width is not None else terminal_width()
        blocks: list[str] = []
        libs = (
            ", ".join(map(terminal_safe, report.libraries)) if report.libraries else "no libraries"
        )
        if report.command == "scan" and report.libraries:
            n = len(report.libraries)
            libs = f"{n} {'library' if n == 1 else 'libraries'}"
        blocks.append(f"elfaudit {report.command}: {libs}")
        if report.guarantees:
            blocks.append(self._sections(report))
        findings = sorted_findings(report)
        libraries = library_order(report)
        if report.command == "scan" and libraries:
            # Many libraries: one summary row each, details only where there is something.
            blocks.append(_scan_summary(libraries, findings))
            with_findings = {f.library for f in findings}
            libraries = [lib for lib in libraries if lib in with_findings]
        blocks.extend(
            self._library(report, lib, [f for f in findings if f.library == lib])
            for lib in libraries
        )
        if report.problems:
            lines = ["problems:"]
            lines += [
                terminal_safe(f"could not audit {p.path}: {p.message}") for p in report.problems
            ]
            blocks.append("\n".join(lines))
        if report.unused_waivers:
            lines = ["unused waivers:"]
            lines += [f"  {terminal_safe(w)}" for w in report.unused_waivers]
            blocks.append("\n".join(lines))
        blocks.append(verdict_line(report))
        return "\n\n".join(blocks) + "\n"

    def _sections(self, report: Report) -> str:
        """One row per section of the support page: status, findings, why, evidence."""
        from elfaudit.render.common import evidence_summary, section_verdict

        rows = [
            [
                terminal_safe(s.section),
                terminal_safe(section_verdict(s)),
                terminal_safe("; ".join(x for x in (s.reason, evidence_summary(s)) if x)),
            ]
            for s in report.guarantees
        ]
        headers = ["section", "verdict", "reason and evidence"]
        return "support page sections:\n" + table(
            headers, rows, wrap=frozenset({2}), width=self._width
        )

    def _library(self, report: Report, lib: str, findings: list[Finding]) -> str:
        parts = [f"== {terminal_safe(lib)} =="]
        active = [f for f in findings if f.waived is None]
        shown: list[Finding] = []
        hidden: list[Finding] = []
        for f in active:
            (hidden if f.severity is Severity.INFO and not self.verbose else shown).append(f)
        waived = [f for f in findings if f.waived is not None]
        if shown:
            parts.append(_findings_table(shown, waived=False, width=self._width))
        if hidden:
            per_rule = Counter(f.rule for f in hidden)
            detail = ", ".join(f"{rule}: {n}" for rule, n in sorted(per_rule.items()))
            noun = "finding" if len(hidden) == 1 else "findings"
            parts.append(f"{len(hidden)} info {noun} not listed ({detail}); --verbose lists them")
        if waived:
            parts.append("waived:\n" + _findings_table(waived, waived=True, width=self._width))
        private = sorted(
            (p for p in report.private if p.library == lib),
            key=lambda p: ([node_key(n) for n in p.old_nodes], [node_key(n) for n in p.new_nodes]),
        )
        for p in private:
            if not p.added and not p.removed and p.old_nodes == p.new_nodes and not p.symbols:
                continue  # nothing changed in the private nodes: a line would be noise
            line = (
                f"private: {_nodes(p.old_nodes)} -> {_nodes(p.new_nodes)}: "
                f"{p.added} added, {p.removed} removed"
            )
            if p.symbols:
                line += "\n" + "\n".join(f"  {terminal_safe(s)}" for s in sorted(p.symbols))
            parts.append(line)
        if len(parts) == 1:
            parts.append("no findings")
        return parts[0] + "\n" + "\n\n".join(parts[1:])


# --------------------------------------------------------------------------- dumps


def _library_dump(abi: LibraryABI, *, imports: bool) -> str:
    head = [
        ("path", abi.path),
        ("soname", abi.soname or "-"),
        ("machine", abi.machine),
        ("class", f"ELF{abi.elf_class}"),
        ("byte order", f"{abi.byte_order}-endian"),
        ("needed", ", ".join(abi.needed) if abi.needed else "-"),
    ]
    if abi.version_needs:
        by_file: dict[str, list[str]] = {}
        for n in abi.version_needs:
            by_file.setdefault(n.file, []).append(n.name)
        head.append(
            (
                "version needs",
                "; ".join(f"{f}: {', '.join(sorted(ns))}" for f, ns in sorted(by_file.items())),
            )
        )
    if abi.sha256:
        head.append(("sha256", abi.sha256))
    width = max(len(k) for k, _ in head) + 2
    parts = [
        f"== {terminal_safe(abi.name)} ==\n"
        + "\n".join(f"{k + ':':<{width}}{terminal_safe(v)}" for k, v in head)
    ]

    if abi.versions:
        vrows = [
            (
                v.index,
                terminal_safe(v.name),
                ", ".join(map(terminal_safe, v.parents)) if v.parents else None,
                "yes" if v.base else "",
            )
            for v in sorted(abi.versions, key=lambda v: v.index)
        ]
        parts.append(
            f"versions ({len(vrows)}):\n"
            + table(("index", "name", "parents", "base"), vrows, frozenset({0}))
        )
    else:
        parts.append("versions: none")

    if abi.symbols:
        syms = sorted(abi.symbols, key=lambda s: (s.name, node_key(s.version), not s.default))
        srows = [(terminal_safe(s.label), s.type, s.binding, s.visibility, s.size) for s in syms]
        parts.append(
            f"symbols ({len(srows)}):\n"
            + table(("symbol", "type", "binding", "visibility", "size"), srows, frozenset({4}))
        )
    else:
        parts.append("symbols: none")

    if imports:
        if abi.imports:
            imps = sorted(abi.imports, key=lambda i: (i.name, i.version or "", i.file or ""))
            irows = [
                (
                    terminal_safe(i.name if i.version is None else f"{i.name}@{i.version}"),
                    i.file and terminal_safe(i.file),
                    "WEAK" if i.weak else "GLOBAL",
                )
                for i in imps
            ]
            parts.append(f"imports ({len(irows)}):\n" + table(("symbol", "from", "binding"), irows))
        else:
            parts.append("imports: none")
    return "\n\n".join(parts)


def render_dump_text(abis: Sequence[LibraryABI], *, imports: bool = False) -> str:
    """Per library: a header, a versions table and a symbols table sorted by name, version."""
    if not abis:
        return "no libraries\n"
    return "\n\n".join(_library_dump(a, imports=imports) for a in abis) + "\n"

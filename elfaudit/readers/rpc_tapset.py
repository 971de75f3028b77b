"""libvirt's systemtap tapset ``libvirt_functions.stp``: the RPC programs and procedures.

libvirt generates the tapset from its XDR protocol files (``src/rpc/gensystemtap.py``); two of
its functions name the protocol's numbers::

    function libvirt_rpc_program_name(program, verbose)
    {
      if (program == 110102160) {
          programstr = "admin"
      } else if (program == 1801807216) {
      ...
    }
    function libvirt_rpc_procedure_name(program, version, proc, verbose)
    {
      if (program == 110102160 && version == 1) {
          if (proc == 1) {
              procstr = "connect_open";
          } else if (proc == 2) {
      ...

:func:`read_tapset` reads exactly that generated shape (indentation, blank lines and a
statement's final ``;`` aside) into an :class:`~elfaudit.model.rpc.RpcProtocol`
(``messages`` None: the tapset has none). The other functions of the file
(``libvirt_rpc_auth_name``...) are skipped to their closing ``}``. Anything else is
:class:`~elfaudit.base.errors.InputError` naming the file and the line: text outside a
function, a truncated file, a number out of range (program, version and procedure numbers
are XDR unsigned ints), a duplicate program (number or name), program block, procedure
number or name, a procedure block for a program ``libvirt_rpc_program_name`` does not name,
text that is not UTF-8. Every loop advances over the file's lines, so the work is bounded by
its size (at most :data:`MAX_TAPSET_BYTES`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from elfaudit.base.errors import InputError
from elfaudit.base.fileio import decode_text
from elfaudit.model.rpc import RpcProcedure, RpcProtocol

__all__ = ["MAX_TAPSET_BYTES", "TAPSET_NAME", "read_tapset"]

TAPSET_NAME = "libvirt_functions.stp"
MAX_TAPSET_BYTES = 4 << 20  # libvirt 12.8.0's is 42 KB
MAX_NUMBER = 0xFFFFFFFF  # XDR unsigned int

PROGRAM_FUNCTION = "libvirt_rpc_program_name"
PROCEDURE_FUNCTION = "libvirt_rpc_procedure_name"
_ARGS = {
    PROGRAM_FUNCTION: "program, verbose",
    PROCEDURE_FUNCTION: "program, version, proc, verbose",
}

_NUM = r"([0-9]{1,20})"
_NAME = r'"([A-Za-z_][A-Za-z0-9_]*)"'
_FUNCTION = re.compile(r"function\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(([^()]*)\)")
_PROGRAM_IF = re.compile(rf"(\}} else )?if \(program == {_NUM}\) \{{")
_PROGRAM_NAME = re.compile(rf"programstr = {_NAME}")
_BLOCK_IF = re.compile(rf"(\}} else )?if \(program == {_NUM} && version == {_NUM}\) \{{")
_PROC_IF = re.compile(rf"(\}} else )?if \(proc == {_NUM}\) \{{")
_PROC_NAME = re.compile(rf"procstr = {_NAME}")

#: The generated tail of each function, after its last case (statements without their ``;``).
_PROGRAM_TAIL = (
    "} else {",
    'programstr = "unknown"',
    "verbose = 1",
    "}",
    "if (verbose) {",
    'programstr = programstr . sprintf(":%d", program)',
    "}",
    "return programstr",
)
_INNER_TAIL = ("} else {", 'procstr = "unknown"', "verbose = 1", "}")
_PROCEDURE_TAIL = (
    "} else {",
    'procstr = "unknown"',
    "verbose = 1",
    "}",
    "if (verbose) {",
    'procstr = procstr . sprintf(":%d", proc)',
    "}",
    "return procstr",
)


class _Lines:
    """The file's lines, stripped (and a statement's final ``;`` dropped), with numbers."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.raw = text.split("\n")
        self.i = 0  # index of the next line
        # the last line's number (a final newline ends it, it starts none)
        self.last = max(1, len(self.raw) - (1 if self.raw[-1] == "" else 0))

    def fail(self, why: str, line: int | None = None) -> InputError:
        return InputError(self.path, why, self.i if line is None else line)

    def at_end(self) -> bool:
        while self.i < len(self.raw) and not self.raw[self.i].strip():
            self.i += 1
        return self.i >= len(self.raw)

    def next(self, inside: str) -> str:
        """The next non-blank line (its number is then ``self.i``)."""
        if self.at_end():
            raise InputError(self.path, f"truncated: the file ends inside {inside}", self.last)
        text = self.raw[self.i]
        self.i += 1
        return _statement(text)

    def expect(self, wanted: str, inside: str) -> None:
        got = self.next(inside)
        if got != wanted:
            raise self.fail(f"in {inside}: expected {wanted!r}, found {_shown(got)}")


def _statement(line: str) -> str:
    s = line.strip()
    return s[:-1].rstrip() if s.endswith(";") else s


def _shown(text: str) -> str:
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


def _number(lines: _Lines, text: str, what: str) -> int:
    n = int(text)
    if n > MAX_NUMBER:
        raise lines.fail(f"{what} number {text} is out of range (at most {MAX_NUMBER})")
    return n


def _function_header(lines: _Lines) -> tuple[str, int]:
    text = lines.next("the file")
    m = _FUNCTION.fullmatch(text)
    if m is None:
        raise lines.fail(f"expected a 'function NAME(...)' line, found {_shown(text)}")
    name, args = m.group(1), " ".join(m.group(2).split())
    start = lines.i
    wanted = _ARGS.get(name)
    if wanted is not None and args.replace(" ,", ",") != wanted:
        raise lines.fail(f"function {name} takes ({wanted}), not ({m.group(2).strip()})")
    lines.expect("{", f"function {name}")
    return name, start


def _skip_body(lines: _Lines, name: str) -> None:
    """Another function: its body ends at the first unindented ``}``."""
    while True:
        if lines.i >= len(lines.raw):
            raise InputError(
                lines.path, f"truncated: the file ends inside function {name}", lines.i
            )
        raw = lines.raw[lines.i]
        lines.i += 1
        if raw.rstrip() == "}":
            return


def _programs(lines: _Lines) -> dict[str, int]:
    inside = f"function {PROGRAM_FUNCTION}"
    programs: dict[str, int] = {}
    numbers: dict[int, str] = {}
    first = True
    while True:
        text = lines.next(inside)
        m = _PROGRAM_IF.fullmatch(text)
        if m is None:
            if first:
                raise lines.fail(
                    f"in {inside}: expected 'if (program == N) {{', found {_shown(text)}"
                )
            lines.i -= 1
            break
        if bool(m.group(1)) == first:
            raise lines.fail(f"in {inside}: unexpected {_shown(text)}")
        first = False
        number = _number(lines, m.group(2), "program")
        if number in numbers:
            raise lines.fail(f"duplicate program number {number} ({numbers[number]})")
        text = lines.next(inside)
        n = _PROGRAM_NAME.fullmatch(text)
        if n is None:
            raise lines.fail(f"in {inside}: expected 'programstr = \"NAME\"', found {_shown(text)}")
        name = n.group(1)
        if name in programs:
            raise lines.fail(f"duplicate program name {name} ({programs[name]} and {number})")
        programs[name] = number
        numbers[number] = name
    for wanted in _PROGRAM_TAIL:
        lines.expect(wanted, inside)
    lines.expect("}", inside)
    return programs


def _procedures(lines: _Lines) -> list[tuple[int, int, int, str, int]]:
    """(program number, version, procedure number, name, line) per case."""
    inside = f"function {PROCEDURE_FUNCTION}"
    out: list[tuple[int, int, int, str, int]] = []
    blocks: set[tuple[int, int]] = set()
    first = True
    while True:
        text = lines.next(inside)
        m = _BLOCK_IF.fullmatch(text)
        if m is None:
            if first:
                raise lines.fail(
                    f"in {inside}: expected 'if (program == N && version == N) {{', "
                    f"found {_shown(text)}"
                )
            lines.i -= 1
            break
        if bool(m.group(1)) == first:
            raise lines.fail(f"in {inside}: unexpected {_shown(text)}")
        first = False
        program = _number(lines, m.group(2), "program")
        version = _number(lines, m.group(3), "version")
        if (program, version) in blocks:
            raise lines.fail(f"duplicate block for program {program} version {version}")
        blocks.add((program, version))
        block_line = lines.i
        numbers: set[int] = set()
        names: set[str] = set()
        inner_first = True
        while True:
            text = lines.next(inside)
            p = _PROC_IF.fullmatch(text)
            if p is None:
                if inner_first:
                    raise lines.fail(
                        f"in {inside}: expected 'if (proc == N) {{', found {_shown(text)}"
                    )
                lines.i -= 1
                break
            if bool(p.group(1)) == inner_first:
                raise lines.fail(f"in {inside}: unexpected {_shown(text)}")
            inner_first = False
            number = _number(lines, p.group(2), "procedure")
            if number in numbers:
                raise lines.fail(
                    f"duplicate procedure number {number} of program {program} version {version}"
                )
            numbers.add(number)
            text = lines.next(inside)
            n = _PROC_NAME.fullmatch(text)
            if n is None:
                raise lines.fail(
                    f"in {inside}: expected 'procstr = \"NAME\"', found {_shown(text)}"
                )
            name = n.group(1)
            if name in names:
                raise lines.fail(
                    f"duplicate procedure name {name} of program {program} version {version}"
                )
            names.add(name)
            out.append((program, version, number, name, block_line))
        for wanted in _INNER_TAIL:
            lines.expect(wanted, inside)
    for wanted in _PROCEDURE_TAIL:
        lines.expect(wanted, inside)
    lines.expect("}", inside)
    return out


def _functions(lines: _Lines) -> Iterator[tuple[str, int]]:
    while not lines.at_end():
        yield _function_header(lines)


def read_tapset(data: bytes, path: str) -> RpcProtocol:
    """The programs and procedures ``libvirt_functions.stp`` names (``path``: for errors and
    the protocol's ``source``)."""
    if len(data) > MAX_TAPSET_BYTES:
        raise InputError(path, f"too large ({len(data):,} bytes; at most {MAX_TAPSET_BYTES:,})")
    lines = _Lines(decode_text(data, path), path)
    programs: dict[str, int] | None = None
    cases: list[tuple[int, int, int, str, int]] | None = None
    seen: set[str] = set()
    for name, start in _functions(lines):
        if name in seen:
            raise lines.fail(f"function {name} is defined twice", start)
        seen.add(name)
        if name == PROGRAM_FUNCTION:
            programs = _programs(lines)
        elif name == PROCEDURE_FUNCTION:
            cases = _procedures(lines)
        else:
            _skip_body(lines, name)
    for fn, got in ((PROGRAM_FUNCTION, programs), (PROCEDURE_FUNCTION, cases)):
        if got is None:
            raise InputError(path, f"no function {fn} (truncated, or not libvirt's tapset)")
    assert programs is not None and cases is not None
    name_of = {number: name for name, number in programs.items()}
    procedures = []
    for program, version, number, name, line in cases:
        prog = name_of.get(program)
        if prog is None:
            raise InputError(
                path,
                f"a procedure block for program {program}, which {PROGRAM_FUNCTION} does not name",
                line,
            )
        procedures.append(RpcProcedure(prog, version, number, name))
    return RpcProtocol(path, "tapset", dict(sorted(programs.items())), tuple(sorted(procedures)))

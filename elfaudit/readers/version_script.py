"""GNU ld version scripts, and libvirt's private symbol fragments, read into a VersionScript.

The grammar and the checks mirror GNU ld (binutils 2.40, ``ld/ldlex.l``, ``ld/ldgram.y`` and
``lang_register_vers_node``) so that a script is accepted here if and only if ``ld
--version-script`` accepts it:

* Outside a node, version names are ``[.$_a-zA-Z][._a-zA-Z0-9]*``; inside a node, symbol
  patterns are ``[*?.$_a-zA-Z[]\\-!^\\\\]([*?.$_a-zA-Z0-9[]\\-!^\\\\]|::)*`` or a ``"quoted"``
  name. ``#`` comments run to the end of the line; ``/* */`` comments may span lines.
* Any other character is skipped with a warning, exactly as ld does ("ignoring invalid
  character"); pass a list as ``warnings`` to collect those warnings.
* A node body is empty, or ``syms;``, or ``global: syms;``, or ``local: syms;``, or
  ``global: syms; local: syms;`` (once each, in that order). Symbols before any label are
  global. ``global``, ``local`` and ``extern`` not followed by ``:`` / a quoted language are
  plain symbol names. ``extern "C" { ... };``, ``extern "C++"`` and ``extern "Java"`` blocks
  (language case-insensitive) may nest; the last ``;`` inside the block is optional.
* ``NAME { ... } PARENT PARENT;``: parents are separated by spaces, and each must be a node
  defined *earlier* (ld: "unable to find version dependency"). An anonymous node ``{ ... };``
  must be the only node; node names are unique; a name may not be listed as global in one node
  and local in another (ld: "duplicate expression in version information"); an empty script
  is rejected.

Which node a symbol lands in (:class:`ScriptMatcher`, :func:`match_symbol`) follows
``bfd_find_version_for_sym``: nodes are scanned in file order; the first node naming the symbol
literally decides (its ``global:`` before its ``local:``); among wildcard matches seen before
that, a global non-``*`` pattern wins over a local one (the last such node wins), then ``local:``
patterns, and ``*`` alone is weakest (global ``*`` only when nothing else matched, then local
``*``). Globs are glibc ``fnmatch`` patterns (``*``, ``?``, ``[...]``, ``\\`` escapes).

Limitation: ld matches ``extern "C++"``/``"Java"`` patterns against *demangled* names. Without
a demangler, such entries here match a non-mangled name as ld does (ld falls back to the raw
name when demangling fails), but a mangled name (``_Z...``) only if it equals a literal entry.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from elfaudit.base import fileio
from elfaudit.base.errors import InputError, ScriptSyntaxError
from elfaudit.model.script import Location, ScriptEntry, ScriptNode, VersionScript

__all__ = [
    "MAX_MATCH_WORK",
    "MAX_TOKEN_LENGTH",
    "MatchBudgetError",
    "ScriptMatcher",
    "SymbolMatch",
    "find_entry",
    "is_private_fragment",
    "load_scripts",
    "match_symbol",
    "parse_private_fragment",
    "parse_script",
    "parse_script_text",
]

# --------------------------------------------------------------------------- lexer

# Token kinds.
_TAG = "tag"  # version node name (outside braces)
_ID = "id"  # symbol pattern (inside braces)
_NAME = "name"  # "quoted" name (inside braces)
_GLOBAL = "global"
_LOCAL = "local"
_EXTERN = "extern"
_EOF = "eof"
_ERR = "error"  # a lexical error (unterminated comment): raised when the parser reaches it

_KEYWORDS = {"global": _GLOBAL, "local": _LOCAL, "extern": _EXTERN}

# A token: (kind, text, line, column, note). ``note`` says which invalid characters ld skipped
# right before the token, to explain a syntax error they cause.
_Tok = tuple[str, str, int, int, str | None]

# Whitespace and ``#`` comments are skipped together; the last alternative catches any other
# character (ld skips it with a warning), so matches are contiguous.
_SKIP = r"(?:[ \t\r\n]+|#[^\n]*)+"
# ld: [*?.$_a-zA-Z\[\]\-\!\^\\]([*?.$_a-zA-Z0-9\[\]\-\!\^\\]|::)*  (same language, faster)
_IDENT = r"[*?.$_a-zA-Z\[\]\-!^\\][*?.$_a-zA-Z0-9\[\]\-!^\\]*(?:::[*?.$_a-zA-Z0-9\[\]\-!^\\]*)*"
_SCRIPT_RE = re.compile(
    rf"(?P<ws>{_SKIP})|(?P<cmt>/\*)|(?P<tag>[.$_a-zA-Z][._a-zA-Z0-9]*)|(?P<p>[:,;{{}}])"
    r"|(?P<bad>[\s\S])"
)
# ``sym`` is a fast path for the common "blanks, symbol, ';'" (one match instead of three).
# ``(?=(?P<x>...))(?P=x)`` is an atomic group: no backtracking into the blanks or the name.
_NODE_RE = re.compile(
    r"(?=(?P<lead>(?:[ \t\r\n]+|#[^\n]*)*))(?P=lead)"
    rf"(?=(?P<sym>{_IDENT}))(?P=sym)[ \t\r]*;"
    rf"|(?P<id>{_IDENT})|(?P<ws>{_SKIP})"
    r'|(?P<cmt>/\*)|(?P<p>[:,;{}])|(?P<name>"[^"]*")|(?P<bad>[\s\S])'
)
# Private fragments are thousands of "symbol;" lines: scanned by _fast_fragment when the whole
# text is such lines, blanks and "#" comments (anything else goes through the lexer).
_FRAG_ITEM = re.compile(
    rf"(?=(?P<lead>(?:[ \t\r\n]+|#[^\n]*)*))(?P=lead)(?=(?P<sym>{_IDENT}))(?P=sym)[ \t\r]*;"
)
_FRAG_END = re.compile(r"(?=(?P<t>(?:[ \t\r\n]+|#[^\n]*)*))(?P=t)\Z")
_PAD = 3  # copies of the final token, so the parser may look ahead without bounds checks

MAX_TOKEN_LENGTH = 64 * 1024
"""The longest symbol name, pattern or node name accepted, in characters. GNU ld has no such
limit; real names stay far below it (C++ mangled names run to a few thousand characters).
A longer token is a syntax error: a 20 MB name would otherwise cost gigabytes downstream
(every message and table that shows it)."""


def _too_long(size: int, line: int, col: int) -> list[_Tok]:
    reason = (
        f"a name of {size} characters (elfaudit's limit is {MAX_TOKEN_LENGTH}: see "
        "MAX_TOKEN_LENGTH in elfaudit.readers.version_script)"
    )
    return [(_ERR, reason, line, col, None)] * (_PAD + 1)


def _lex(
    text: str, path: str, pending: list[tuple[int, str]] | None, node_mode: bool = False
) -> list[_Tok]:
    """Split ``text`` like ld's flex scanner (VERS_SCRIPT / VERS_NODE start conditions).

    Braces switch the mode as in ld: ``{`` at top level enters a node, nested ``{`` (extern
    blocks) count, and the ``}`` that closes the node returns to top level (``node_mode``
    lexes everything as inside a node). Stops after an unterminated comment, leaving an error
    token. The list ends with the end-of-file (or error) token repeated ``_PAD + 1`` times.
    Warnings about skipped characters go to ``pending`` with the index of the next token.
    """
    toks: list[_Tok] = []
    append = toks.append
    line = 1
    line_start = 0  # index of the first character of the current line
    pos = 0
    end = len(text)
    nesting = 0
    in_node = node_mode
    note: str | None = None
    while pos < end:
        regex = _NODE_RE if in_node else _SCRIPT_RE
        for m in regex.finditer(text, pos):
            kind = m.lastgroup
            if kind == "ws":
                s, e = m.span()
                nl = text.count("\n", s, e)
                if nl:
                    line += nl
                    line_start = text.rfind("\n", s, e) + 1
                continue
            if kind == "sym":
                start, e = m.span("sym")
                s = m.start()
                if s != start:
                    nl = text.count("\n", s, start)
                    if nl:
                        line += nl
                        line_start = text.rfind("\n", s, start) + 1
                if e - start > MAX_TOKEN_LENGTH:
                    toks.extend(_too_long(e - start, line, start - line_start + 1))
                    return toks
                value = text[start:e]
                append((_KEYWORDS.get(value, _ID), value, line, start - line_start + 1, note))
                append((";", ";", line, m.end() - line_start, None))
                note = None
                continue
            start = m.start()
            if m.end() - start > MAX_TOKEN_LENGTH and kind in ("id", "name", "tag"):
                size = m.end() - start - (2 if kind == "name" else 0)
                toks.extend(_too_long(size, line, start - line_start + 1))
                return toks
            if kind == "id":
                value = m.group()
                append((_KEYWORDS.get(value, _ID), value, line, start - line_start + 1, note))
                note = None
                continue
            if kind == "p":
                value = m.group()
                append((value, value, line, start - line_start + 1, note))
                note = None
                if value == "{":
                    if not in_node:
                        in_node = True
                        nesting = 0
                        pos = m.end()
                        break
                    nesting += 1
                elif value == "}" and in_node:
                    nesting -= 1
                    if nesting < 0 and not node_mode:
                        in_node = False
                        pos = m.end()
                        break
                continue
            col = start - line_start + 1
            if kind == "tag":
                append((_TAG, m.group(), line, col, note))
                note = None
            elif kind == "name":  # "quoted"; may span lines
                value = m.group()
                append((_NAME, value[1:-1], line, col, note))
                note = None
                nl = value.count("\n")
                if nl:
                    line += nl
                    line_start = text.rfind("\n", start, m.end()) + 1
            elif kind == "cmt":
                close = text.find("*/", start + 2)
                if close < 0:
                    toks.extend([(_ERR, "unterminated comment", line, col, None)] * (_PAD + 1))
                    return toks
                pos = close + 2
                nl = text.count("\n", start, pos)
                if nl:
                    line += nl
                    line_start = text.rfind("\n", start, pos) + 1
                break
            else:  # a character ld ignores with a warning
                ch = text[start]
                shown = ch if ch.isprintable() else repr(ch)[1:-1]
                msg = f"GNU ld skips the invalid character '{shown}' at {line}:{col}"
                note = msg if note is None else f"{note}; {msg}"
                if pending is not None:
                    warning = f"{path}:{line}:{col}: ignoring invalid character '{shown}'"
                    pending.append((len(toks), warning))
        else:
            pos = end
    toks.extend([(_EOF, "", line, end - line_start + 1, note)] * (_PAD + 1))
    return toks


def _describe(tok: _Tok, nxt: _Tok | None = None) -> str:
    """How an error message names a token."""
    kind, text = tok[0], tok[1]
    if kind == _EOF:
        return "end of file"
    if kind in (_GLOBAL, _LOCAL) and nxt is not None and nxt[0] == ":":
        return f"'{text}:' label"
    if kind == _NAME:
        return f'"{text}"'
    return f"'{text}'"


# --------------------------------------------------------------------------- entries


def _realsymbol(pattern: str) -> str | None:
    """ld's realsymbol(): the literal name with ``\\`` escapes removed, or None for a glob."""
    if "\\" not in pattern:
        return None if ("*" in pattern or "?" in pattern or "[" in pattern) else pattern
    out: list[str] = []
    backslash = False
    for ch in pattern:
        if backslash:
            out[-1] = ch
            backslash = False
        else:
            if ch in "*?[":
                return None
            out.append(ch)
            backslash = ch == "\\"
    return "".join(out)


def _make_entry(text: str, quoted: bool, language: str | None, loc: Location) -> ScriptEntry:
    if not quoted and "\\" not in text:
        return ScriptEntry(text, loc, language)
    if quoted:
        return ScriptEntry(text, loc, language, exact=True)
    literal = _realsymbol(text)
    if literal is None or literal == text:
        return ScriptEntry(text, loc, language)
    return ScriptEntry(literal, loc, language, exact=True)  # escapes removed: a literal name


_LANGUAGES = {"c": "C", "c++": "C++", "java": "Java"}


def _is_wild(e: ScriptEntry) -> bool:
    """``e.is_wildcard``, faster."""
    p = e.pattern
    return not e.exact and ("*" in p or "?" in p or "[" in p)


# --------------------------------------------------------------------------- parser


class _Registry:
    """What ld has registered so far: nodes plus the data for its duplicate checks."""

    def __init__(self) -> None:
        self.nodes: list[ScriptNode] = []
        self.by_name: dict[str, ScriptNode] = {}
        # (literal?, pattern, mask) -> (node, entry) of the first occurrence
        self.globals: dict[tuple[bool, str, str], tuple[ScriptNode, ScriptEntry]] = {}
        self.locals: dict[tuple[bool, str, str], tuple[ScriptNode, ScriptEntry]] = {}

    def register(self, node: ScriptNode) -> None:
        """Add ``node`` after ld's checks (lang_register_vers_node); raise on a rejection."""
        loc = node.location
        if self.nodes and (node.name is None or self.nodes[0].name is None):
            raise ScriptSyntaxError(
                loc.path,
                loc.line,
                loc.column,
                "an anonymous version node cannot be combined with other version nodes",
            )
        label = node.name or ""
        if node.name is not None and node.name in self.by_name:
            first = self.by_name[node.name].location
            where = f"line {first.line}" if first.path == loc.path else str(first)
            raise ScriptSyntaxError(
                loc.path,
                loc.line,
                loc.column,
                f"duplicate version node '{label}' (first defined at {where})",
            )
        keyed = [
            [((not _is_wild(e)), e.pattern, e.language or "C") for e in entries]
            for entries in (node.globals, node.locals)
        ]
        for mine, keys, theirs, kind, other in (
            (node.globals, keyed[0], self.locals, "global", "local"),
            (node.locals, keyed[1], self.globals, "local", "global"),
        ):
            if not theirs:
                continue
            for e, key in zip(mine, keys, strict=True):
                hit = theirs.get(key)
                if hit is not None:
                    onode, oentry = hit
                    what = "symbol" if key[0] else "pattern"
                    oname = f"'{onode.name}'" if onode.name else "(anonymous)"
                    where = (
                        f"line {oentry.location.line}"
                        if oentry.location.path == e.location.path
                        else str(oentry.location)
                    )
                    raise ScriptSyntaxError(
                        e.location.path,
                        e.location.line,
                        e.location.column,
                        f"{what} '{e.pattern}' is {kind} in node '{label}' but {other} in "
                        f"node {oname} ({where}); GNU ld rejects this duplicate expression",
                    )
        for entries, keys, table in (
            (node.globals, keyed[0], self.globals),
            (node.locals, keyed[1], self.locals),
        ):
            for e, key in zip(entries, keys, strict=True):
                if key not in table:
                    table[key] = (node, e)
        self.nodes.append(node)
        if node.name is not None:
            self.by_name[node.name] = node


_MAX_EXTERN_DEPTH = 64


class _Parser:
    def __init__(self, toks: list[_Tok], path: str, registry: _Registry) -> None:
        self.toks = toks
        self.i = 0
        self.path = path
        self.reg = registry
        self.node_label = ""
        self.error_index: int | None = None  # the token a syntax error is reported at

    # -- helpers

    def peek(self, k: int = 0) -> _Tok:
        return self.toks[self.i + k]  # k <= _PAD: the final token is repeated

    def error_at(self, tok: _Tok, reason: str) -> ScriptSyntaxError:
        self.error_index = self.i if tok is self.toks[self.i] else self.i + 1
        if tok[0] == _ERR:
            return ScriptSyntaxError(self.path, tok[2], tok[3], tok[1])
        if tok[4]:
            reason = f"{reason} (note: {tok[4]})"
        return ScriptSyntaxError(self.path, tok[2], tok[3], reason)

    def unexpected(self, expected: str) -> ScriptSyntaxError:
        tok = self.peek()
        if tok[0] == _EOF and self.node_label:
            return self.error_at(
                tok, f"unexpected end of file inside {self.node_label}: expected {expected}"
            )
        return self.error_at(tok, f"expected {expected}, found {_describe(tok, self.peek(1))}")

    def loc(self, tok: _Tok) -> Location:
        return Location(self.path, tok[2], tok[3])

    def is_label(self, k: int = 0) -> bool:
        return self.peek(k)[0] in (_GLOBAL, _LOCAL) and self.peek(k + 1)[0] == ":"

    def starts_item(self) -> bool:
        kind = self.peek()[0]
        if kind in (_ID, _NAME, _EXTERN):
            return True
        return kind in (_GLOBAL, _LOCAL) and not self.is_label()

    # -- grammar

    def script(self) -> None:
        if self.peek()[0] == _EOF:
            raise self.error_at(
                self.peek(), "no version node: GNU ld rejects an empty version script"
            )
        while self.peek()[0] != _EOF:
            self.node()

    def node(self) -> None:
        tok = first = self.peek()
        if tok[0] == "{":
            name = None
            self.node_label = "anonymous node"
        elif tok[0] == _TAG:
            name = tok[1]
            self.node_label = f"node '{name}'"
            self.i += 1
            if self.peek()[0] != "{":
                nxt = self.peek()
                if nxt[0] == _EOF:
                    raise self.error_at(
                        nxt, f"unexpected end of file after version node name '{name}'"
                    )
                raise self.error_at(
                    nxt,
                    f"expected '{{' after version node name '{name}', found {_describe(nxt)}",
                )
        else:
            self.node_label = ""
            raise self.unexpected("a version node name or '{'")
        self.i += 1  # '{'
        globals_, locals_ = self.body()
        # body() stops at the closing brace
        self.i += 1
        label = self.node_label
        self.node_label = ""
        parents: list[str] = []
        while self.peek()[0] == _TAG:
            ptok = self.peek()
            parent = ptok[1]
            if name is None:
                raise self.error_at(ptok, "an anonymous version node cannot have parents")
            if parent not in self.reg.by_name:
                toks = self.toks
                later = next(
                    (
                        t
                        for j, t in enumerate(toks[self.i + 1 :], self.i + 1)
                        if t[0] == _TAG and t[1] == parent and toks[j + 1][0] == "{"
                    ),
                    None,
                )
                if parent == name:
                    reason = f"parent '{parent}' of node '{name}' is the node itself"
                elif later is not None:
                    reason = (
                        f"parent '{parent}' of node '{name}' is defined only later (line "
                        f"{later[2]}); GNU ld needs a parent defined before its children"
                    )
                else:
                    reason = f"parent '{parent}' of node '{name}' is not a defined version node"
                raise self.error_at(ptok, reason)
            parents.append(parent)
            self.i += 1
        if self.peek()[0] != ";":
            tok = self.peek()
            what = f"after the parents of {label}" if parents else f"after '}}' of {label}"
            hint = ""
            if tok[0] == ",":
                hint = " (parents are separated by spaces, not commas)"
            if tok[0] == _EOF:
                raise self.error_at(tok, f"unexpected end of file: expected ';' {what}")
            raise self.error_at(tok, f"expected ';' {what}, found {_describe(tok)}{hint}")
        self.i += 1
        self.reg.register(
            ScriptNode(name, tuple(parents), tuple(globals_), tuple(locals_), self.loc(first))
        )

    def body(self) -> tuple[list[ScriptEntry], list[ScriptEntry]]:
        globals_: list[ScriptEntry] = []
        locals_: list[ScriptEntry] = []
        if self.peek()[0] == "}":
            return globals_, locals_
        if self.is_label():
            first = self.peek()[0]
            self.i += 2
            self.defns(locals_ if first == _LOCAL else globals_, first)
            if first == _GLOBAL and self.is_label() and self.peek()[0] == _LOCAL:
                self.i += 2
                self.defns(locals_, _LOCAL)
                first = _LOCAL
            if self.peek()[0] == "}":
                return globals_, locals_
            if self.is_label():
                lab = self.peek()[1]
                if first == _LOCAL and lab == "global":
                    reason = f"'global:' after 'local:' in {self.node_label}: GNU ld only "
                    reason += "accepts 'global:' then 'local:'"
                else:
                    reason = f"second '{lab}:' label in {self.node_label}"
                raise self.error_at(self.peek(), reason)
            raise self.unexpected("'}' or a symbol")
        if not self.starts_item():
            if self.peek()[0] == ";":
                raise self.error_at(
                    self.peek(), f"expected a symbol or '}}' in {self.node_label}, found ';'"
                )
            raise self.unexpected(f"a symbol, 'global:', 'local:' or '}}' in {self.node_label}")
        self.defns(globals_, None)
        if self.peek()[0] == "}":
            return globals_, locals_
        if self.is_label():
            lab = self.peek()[1]
            raise self.error_at(
                self.peek(),
                f"'{lab}:' label after symbols in {self.node_label}: symbols listed before "
                "any label are global, and GNU ld accepts no label after them",
            )
        raise self.unexpected("'}' or a symbol")

    def defns(self, out: list[ScriptEntry], label: str | None) -> None:
        """``item ; item ; ... ;`` (at least one item, each followed by ';')."""
        if not self.starts_item():
            if label is not None:
                raise self.unexpected(f"a symbol after '{label}:'")
            raise self.unexpected("a symbol")
        toks = self.toks
        path = self.path
        while True:
            tok = toks[self.i]
            if tok[0] == _ID and toks[self.i + 1][0] == ";":  # the common case, fast
                out.append(_make_entry(tok[1], False, None, Location(path, tok[2], tok[3])))
                self.i += 2
            else:
                what = self.item(out, None, 0)
                if toks[self.i][0] != ";":
                    raise self.expected_semicolon(what)
                self.i += 1
            if not self.starts_item():
                return

    def expected_semicolon(self, what: tuple[str, int]) -> ScriptSyntaxError:
        tok = self.peek()
        desc, line = what
        at = f" on line {line}" if line != tok[2] else ""
        if tok[0] == _EOF:
            return self.error_at(
                tok, f"unexpected end of file inside {self.node_label}: expected ';' after {desc}"
            )
        return self.error_at(
            tok, f"expected ';' after {desc}{at}, found {_describe(tok, self.peek(1))}"
        )

    def item(self, out: list[ScriptEntry], language: str | None, depth: int) -> tuple[str, int]:
        """One entry or extern block; returns a description of it for error messages."""
        tok = self.peek()
        if tok[0] == _EXTERN and self.peek(1)[0] == _NAME:
            return self.extern_block(out, depth)
        self.i += 1
        out.append(_make_entry(tok[1], tok[0] == _NAME, language, self.loc(tok)))
        return (f"symbol {_describe(tok)}", tok[2])

    def extern_block(self, out: list[ScriptEntry], depth: int) -> tuple[str, int]:
        ltok = self.peek(1)
        language = _LANGUAGES.get(ltok[1].lower())
        if language is None:
            raise self.error_at(
                ltok,
                f'unknown language "{ltok[1]}" in extern block (GNU ld knows "C", "C++" '
                'and "Java")',
            )
        if depth >= _MAX_EXTERN_DEPTH:
            raise self.error_at(self.peek(), "extern blocks nested too deeply")
        self.i += 2
        desc = f'extern "{ltok[1]}" block'
        if self.peek()[0] != "{":
            raise self.unexpected(f"'{{' after extern \"{ltok[1]}\"")
        self.i += 1
        if not self.starts_item():
            raise self.unexpected(f"a symbol in the {desc}")
        while True:
            what = self.item(out, language, depth + 1)
            kind = self.peek()[0]
            if kind == ";":
                self.i += 1
                if self.peek()[0] == "}":
                    break
                if not self.starts_item():
                    raise self.unexpected(f"a symbol or '}}' in the {desc}")
            elif kind == "}":
                break
            else:
                raise self.expected_semicolon(what)
        self.i += 1  # '}'
        return (f"the {desc}", ltok[2])


def _flush(
    pending: list[tuple[int, str]] | None, warnings: list[str] | None, bound: int | None
) -> None:
    """Hand over the warnings ld would have printed: on a syntax error, ld stops reading at
    the offending token (``bound``), so later characters draw no warning."""
    if warnings is not None and pending:
        warnings.extend(msg for index, msg in pending if bound is None or index <= bound)


def _parse(text: str, path: str, registry: _Registry, warnings: list[str] | None) -> VersionScript:
    start = len(registry.nodes)
    pending: list[tuple[int, str]] | None = [] if warnings is not None else None
    parser = _Parser(_lex(text, path, pending), path, registry)
    try:
        parser.script()
    except ScriptSyntaxError:
        _flush(pending, warnings, parser.error_index)
        raise
    _flush(pending, warnings, None)
    return VersionScript((path,), tuple(registry.nodes[start:]))


def parse_script_text(text: str, path: str, *, warnings: list[str] | None = None) -> VersionScript:
    """Parse the text of a GNU ld version script; ``path`` is used in locations and errors.

    Raises :class:`ScriptSyntaxError` (file, line, column, reason) wherever GNU ld would
    reject the script. Characters ld skips with a warning are skipped here too; their
    warnings are appended to ``warnings`` when a list is given.
    """
    return _parse(text, path, _Registry(), warnings)


def read_text(path: str) -> str:
    """A script file as text; unreadable or non-UTF-8 files are InputError."""
    return fileio.read_text(path)


def parse_script(
    path: str | os.PathLike[str], *, warnings: list[str] | None = None
) -> VersionScript:
    """Read and parse a version script file (see :func:`parse_script_text`)."""
    return parse_script_text(read_text(str(path)), str(path), warnings=warnings)


# --------------------------------------------------------------------------- private fragments


def is_private_fragment(text: str) -> bool:
    """True for a libvirt private symbol fragment rather than a version script.

    A fragment (``libvirt_private.syms``) lists ``symbol;`` lines and ``#`` comments with no
    braces and no ``global:``/``local:`` labels; it is only meaningful once wrapped in a node.
    A file with nothing but comments counts as an (empty) fragment.
    """
    if _fast_fragment(text, "") is not None:
        return True
    return _is_fragment(_lex(text, "", None, node_mode=True))


def parse_private_fragment(
    text: str, path: str, *, warnings: list[str] | None = None
) -> tuple[ScriptEntry, ...]:
    """Entries of a private fragment, in file order, duplicates kept (language None)."""
    fast = _fast_fragment(text, path)
    if fast is not None:
        return fast
    pending: list[tuple[int, str]] | None = [] if warnings is not None else None
    toks = _lex(text, path, pending, node_mode=True)
    return _fragment_entries(toks, path, pending, warnings)


def _fast_fragment(text: str, path: str) -> tuple[ScriptEntry, ...] | None:
    """The entries when ``text`` is only ``symbol;`` items, blanks and ``#`` comments."""
    out: list[ScriptEntry] = []
    append = out.append
    match = _FRAG_ITEM.match
    count = text.count
    rfind = text.rfind
    pos = 0
    line = 1
    line_start = 0
    m = match(text)
    while m is not None:
        start, end = m.span("sym")
        nl = count("\n", pos, start)
        if nl:
            line += nl
            line_start = rfind("\n", pos, start) + 1
        name = text[start:end]
        if "\\" in name or end - start > MAX_TOKEN_LENGTH:
            return None  # the lexer decides
        append(ScriptEntry(name, Location(path, line, start - line_start + 1)))
        pos = m.end()
        m = match(text, pos)
    if _FRAG_END.match(text, pos) is None:
        return None
    return tuple(out)


def _fragment_entries(
    toks: list[_Tok],
    path: str,
    pending: list[tuple[int, str]] | None = None,
    warnings: list[str] | None = None,
) -> tuple[ScriptEntry, ...]:
    parser = _Parser(toks, path, _Registry())
    try:
        entries = _fragment_parse(parser)
    except ScriptSyntaxError:
        _flush(pending, warnings, parser.error_index)
        raise
    _flush(pending, warnings, None)
    return entries


def _fragment_parse(parser: _Parser) -> tuple[ScriptEntry, ...]:
    toks = parser.toks
    path = parser.path
    parser.node_label = "private symbol fragment"
    out: list[ScriptEntry] = []
    while True:
        tok = toks[parser.i]
        kind = tok[0]
        if kind == _ID and toks[parser.i + 1][0] == ";":  # the common case, fast
            out.append(_make_entry(tok[1], False, None, Location(path, tok[2], tok[3])))
            parser.i += 2
            continue
        if kind == _EOF:
            return tuple(out)
        if kind == _ERR:
            raise parser.error_at(tok, "")
        if kind in ("{", "}") or (kind == _EXTERN and parser.peek(1)[0] == _NAME):
            raise parser.error_at(
                tok,
                f"unexpected {_describe(tok)} in a private symbol fragment (fragments list "
                "'symbol;' lines only)",
            )
        if parser.is_label():
            raise parser.error_at(
                tok,
                f"unexpected '{tok[1]}:' label in a private symbol fragment (fragments list "
                "'symbol;' lines only)",
            )
        if not parser.starts_item():
            raise parser.unexpected("a symbol")
        what = parser.item(out, None, 0)
        nxt = parser.peek()
        if nxt[0] != ";":
            if nxt[0] == _EOF:
                raise parser.error_at(nxt, f"unexpected end of file: expected ';' after {what[0]}")
            raise parser.expected_semicolon(what)
        parser.i += 1


def _is_fragment(toks: list[_Tok]) -> bool:
    for j, tok in enumerate(toks):
        kind = tok[0]
        if kind == "{" or kind == "}":
            return False
        if kind in (_GLOBAL, _LOCAL) and toks[j + 1][0] == ":":
            return False
    return True


def load_scripts(
    paths: Sequence[str | os.PathLike[str]],
    private_node: str | None,
    *,
    warnings: list[str] | None = None,
) -> VersionScript:
    """Read a library's version script(s) and private fragments the way libvirt's build does.

    Version scripts contribute their nodes in order (as several ``--version-script`` options
    would: a parent may be a node of an earlier file, names must stay unique). All private
    fragments are wrapped, in order, in one generated node ``private_node`` with no parent
    whose ``local: *;`` hides everything else; it comes after the scripts' nodes.
    Duplicate entries are kept.
    """
    registry = _Registry()
    fragments: list[tuple[str, tuple[ScriptEntry, ...]]] = []
    for p in paths:
        path = str(p)
        text = read_text(path)
        fast = _fast_fragment(text, path)
        if fast is not None:
            fragments.append((path, fast))
            continue
        pending: list[tuple[int, str]] | None = [] if warnings is not None else None
        toks = _lex(text, path, pending, node_mode=True)
        if _is_fragment(toks):
            fragments.append((path, _fragment_entries(toks, path, pending, warnings)))
        else:
            _parse(text, path, registry, warnings)
    if fragments:
        if private_node is None:
            names = ", ".join(p for p, _ in fragments)
            raise InputError(
                fragments[0][0],
                f"private symbol fragment(s) {names} need the name of the private version "
                "node that wraps them (e.g. LIBVIRT_PRIVATE_9.6.0)",
            )
        if not re.fullmatch(r"[.$_a-zA-Z][._a-zA-Z0-9]*", private_node):
            raise InputError(
                fragments[0][0], f"'{private_node}' is not a valid version node name for GNU ld"
            )
        loc = Location(fragments[0][0], 1, 1)
        entries = tuple(e for _, frag in fragments for e in frag)
        registry.register(ScriptNode(private_node, (), entries, (ScriptEntry("*", loc),), loc))
    return VersionScript(tuple(str(p) for p in paths), tuple(registry.nodes))


# --------------------------------------------------------------------------- lookups


def find_entry(script: VersionScript, symbol: str) -> list[tuple[ScriptNode, ScriptEntry]]:
    """Every literal (non-wildcard) entry naming ``symbol``: file order, globals first."""
    return [
        (node, e)
        for node in script.nodes
        for e in (*node.globals, *node.locals)
        if e.pattern == symbol and not _is_wild(e)
    ]


_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "xdigit": "0-9A-Fa-f",
    "space": " \\t\\n\\r\\f\\v",
    "blank": " \\t",
    "punct": "".join("\\" + c for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "cntrl": "\\x00-\\x1f\\x7f",
    "print": "\\x20-\\x7e",
    "graph": "\\x21-\\x7e",
}
_NEVER = "(?!)"


def _class_char(c: str) -> str:
    return "\\" + c if c in "\\]^-[" else c


def _bracket(pat: str, i: int) -> tuple[str, int] | None:
    """Translate a glibc bracket expression starting after '['; None if unterminated."""
    n = len(pat)
    negate = i < n and pat[i] in "!^"
    if negate:
        i += 1
    parts: list[str] = []
    first = True
    while True:
        if i >= n:
            return None
        c = pat[i]
        if c == "]" and not first:
            i += 1
            break
        first = False
        if c == "\\":
            if i + 1 >= n:
                return None
            lo = pat[i + 1]
            i += 2
        elif c == "[" and i + 1 < n and pat[i + 1] == ":":
            close = pat.find(":]", i + 2)
            if close < 0:
                return None
            cls = _CLASSES.get(pat[i + 2 : close])
            if cls is None:
                return (_NEVER, close + 2)  # glibc: an unknown class never matches
            parts.append(cls)
            i = close + 2
            continue
        else:
            lo = c
            i += 1
        if i + 1 < n and pat[i] == "-" and pat[i + 1] != "]":
            hi = pat[i + 1]
            i += 2
            if hi == "\\" and i < n:
                hi = pat[i]
                i += 1
            if ord(lo) <= ord(hi):
                parts.append(f"{_class_char(lo)}-{_class_char(hi)}")
            continue
        parts.append(_class_char(lo))
    if not parts:
        return ("[\\s\\S]" if negate else _NEVER, i)
    return (f"[{'^' if negate else ''}{''.join(parts)}]", i)


def _is_mangled(name: str) -> bool:
    return name.startswith(("_Z", "_GLOBAL_"))


@dataclass(frozen=True, slots=True)
class SymbolMatch:
    """What a version script makes of one symbol name.

    ``node`` is the node that decides (``None`` when no entry matches: ld then leaves a
    defined symbol global and unversioned); ``entry`` the deciding entry (for a wildcard
    decision, the first matching pattern of that node in file order); ``local`` is True when
    the decision hides the symbol (``local:``).
    """

    node: ScriptNode | None
    entry: ScriptEntry | None
    local: bool

    @property
    def exported_node(self) -> ScriptNode | None:
        """The node the symbol is exported in, None when it is hidden or unmatched."""
        return None if self.local else self.node


_UNMATCHED = SymbolMatch(None, None, False)


MAX_MATCH_WORK = 2_000_000
"""How much glob matching one :class:`ScriptMatcher` (one script against one library) may do.

The unit is one wildcard pattern tested against one symbol name (a test of a long name
against a long pattern counts ``1 + len(name) * len(pattern) // 4096``, and the index
look-ups of a name count too). libvirt's scripts need none (their only glob is ``*``); a
hostile script (50,000 patterns every name is a candidate for) would need hundreds of
millions against libvirt.so.0. Exceeding it is an
:class:`InputError` naming the script. About two seconds of matching."""

_WILD_RUN = re.compile(r"[*?]+")
_STARS = re.compile(r"\*+")
_KEY = 8  # characters of a pattern's literal prefix, suffix or infix used as its index key

# One item of a compiled glob: ("*", "") a star, ("c", ch) a literal character, ("?", "")
# any character, ("[", regex) a bracket expression (one character).
_Part = tuple[str, str]


def _glob_parts(pat: str) -> list[_Part] | None:
    """glibc ``fnmatch(pat, name, 0)`` as items of one character or a star; None when the
    pattern can never match (a trailing backslash, an unknown ``[:class:]``)."""
    out: list[_Part] = []
    i, n = 0, len(pat)
    while i < n:
        c = pat[i]
        i += 1
        if c == "*":
            if not out or out[-1][0] != "*":
                out.append(("*", ""))
        elif c == "?":
            out.append(("?", ""))
        elif c == "\\":
            if i >= n:
                return None  # a trailing backslash never matches
            out.append(("c", pat[i]))
            i += 1
        elif c == "[":
            res = _bracket(pat, i)
            if res is None:
                out.append(("c", "["))
            elif res[0] == _NEVER:
                return None
            else:
                out.append(("[", res[0]))
                i = res[1]
        else:
            out.append(("c", c))
    return out


# A run of one-character items between stars: a literal string (searched with str.find; the
# regular expression None), or a regular expression of fixed length without quantifiers (no
# backtracking), and the run's length in characters.
_Seg = tuple[str, re.Pattern[str] | None, int]


def _segment(parts: list[_Part]) -> _Seg:
    if all(kind == "c" for kind, _ in parts):
        return ("".join(ch for _, ch in parts), None, len(parts))
    rx = "".join(
        re.escape(x) if kind == "c" else "[\\s\\S]" if kind == "?" else x for kind, x in parts
    )
    return ("", re.compile(rx, re.DOTALL), len(parts))


def _literal_runs(parts: list[_Part]) -> list[str]:
    runs: list[str] = []
    cur: list[str] = []
    for kind, ch in (*parts, ("*", "")):
        if kind == "c":
            cur.append(ch)
        elif cur:
            runs.append("".join(cur))
            cur = []
    return runs


class _Glob:
    """One non-``*`` wildcard entry, compiled for matching in linear time.

    ``first*mid*mid*last``: the first and last runs are anchored, each middle run is found
    leftmost after the previous one (every item is one character, so the leftmost place is
    always the best one: no backtracking is ever needed). Worst case O(len(name) *
    len(pattern)), linear for literal runs.
    """

    __slots__ = (
        "cxx",
        "entry",
        "exact",
        "first",
        "index",
        "key",
        "last",
        "middle",
        "minlen",
        "never",
        "node",
        "ntok",
        "order",
        "parts",
    )

    def __init__(self, entry: ScriptEntry, node: int, order: int) -> None:
        self.entry = entry
        self.node = node
        self.order = order
        self.cxx = entry.language not in (None, "C")
        self.index = 0  # position in the matcher's priority order, set by _GlobIndex
        pat = entry.pattern
        parts: list[_Part] | None
        if "[" in pat or "\\" in pat:
            found = _glob_parts(pat)
            self.never = found is None  # ScriptMatcher drops those
            parts = found or []
            runs = _literal_runs(parts)
            self.ntok = len(parts)
            self.minlen = sum(1 for kind, _ in parts if kind != "*")
            self.exact = not any(kind == "*" for kind, _ in parts)
            starts = bool(parts) and parts[0][0] == "c"
            ends = bool(parts) and parts[-1][0] == "c"
        else:  # only '*' and '?': the same, with string methods (50,000 patterns in 0.2 s)
            parts = None
            self.never = False
            runs = [r for r in _WILD_RUN.split(pat) if r]
            self.ntok = len(pat)
            self.minlen = len(pat) - pat.count("*")
            self.exact = "*" not in pat
            starts = pat[:1] not in ("*", "?", "")
            ends = pat[-1:] not in ("*", "?", "")
        self.parts = parts
        # The index key: a literal prefix ("^"), suffix ("$") or infix ("") of every match,
        # the longest of the three; ("", "") when the pattern has no literal character.
        p = runs[0] if starts else ""
        s = runs[-1] if ends else ""
        inner = max(runs, key=len, default="")
        if p and len(p) >= len(s) and len(p) >= len(inner):
            self.key = ("^", p[:_KEY])
        elif s and len(s) >= len(inner):
            self.key = ("$", s[-_KEY:])
        else:
            self.key = ("", inner[:_KEY])
        # compiled on first use (most patterns of a big script are never tested)
        self.first: _Seg | None = None
        self.last: _Seg | None = None
        self.middle: tuple[_Seg, ...] | None = None

    def _compile(self) -> tuple[_Seg, ...]:
        parts = self.parts
        if parts is None:
            parts = [
                ("*", "") if c == "*" else ("?", "") if c == "?" else ("c", c)
                for c in _STARS.sub("*", self.entry.pattern)
            ]
        segs: list[list[_Part]] = [[]]
        for part in parts:
            if part[0] == "*":
                segs.append([])
            else:
                segs[-1].append(part)
        self.first = _segment(segs[0]) if segs[0] else None
        self.last = _segment(segs[-1]) if segs[-1] and not self.exact else None
        self.middle = tuple(_segment(seg) for seg in segs[1:-1] if seg)
        return self.middle

    def matches(self, name: str) -> bool:
        n = len(name)
        if n < self.minlen:
            return False
        middle = self.middle
        if middle is None:
            middle = self._compile()
        first = self.first
        if self.exact:  # no star: one run, the whole name
            assert first is not None
            lit, rx, _ = first
            return n == self.minlen and (name == lit if rx is None else bool(rx.match(name)))
        pos = 0
        if first is not None:
            lit, rx, pos = first
            if rx is None:
                if not name.startswith(lit):
                    return False
            elif rx.match(name) is None:
                return False
        end = n
        last = self.last
        if last is not None:
            lit, rx, size = last
            end = n - size  # >= pos, as n >= minlen
            if rx is None:
                if not name.endswith(lit):
                    return False
            elif rx.match(name, end) is None:
                return False
        for lit, rx, size in middle:
            if rx is None:
                i = name.find(lit, pos, end)
                if i < 0:
                    return False
            else:
                m = rx.search(name, pos, end)
                if m is None:
                    return False
                i = m.start()
            pos = i + size
        return True


class _GlobIndex:
    """The wildcard entries of one kind (``global:`` or ``local:``) of every node, indexed by
    a literal part every matching name must have: the pattern's literal prefix, else its
    literal suffix, else its longest literal run (the longest of the three, up to ``_KEY``
    characters). A name is tested only against the patterns its own prefixes, suffixes or
    substrings select, plus the patterns with no literal character at all."""

    def __init__(self, globs: list[_Glob]) -> None:
        # Priority: the last node first (ld: the last matching node wins), then file order
        # within a node (the first matching entry is the one reported).
        globs.sort(key=lambda g: (-g.node, g.order))
        for i, g in enumerate(globs):
            g.index = i
        self.globs = globs
        self.always: list[int] = []
        self.prefix: dict[str, list[int]] = {}
        self.suffix: dict[str, list[int]] = {}
        self.infix: dict[str, list[int]] = {}
        tables = {"^": self.prefix, "$": self.suffix, "": self.infix}
        for g in globs:
            kind, key = g.key
            if key:
                tables[kind].setdefault(key, []).append(g.index)
            else:
                self.always.append(g.index)
        self.prefix_lengths = sorted({len(k) for k in self.prefix})
        self.suffix_lengths = sorted({len(k) for k in self.suffix})
        self.infix_lengths = sorted({len(k) for k in self.infix})

    def scan_cost(self, size: int) -> int:
        """What looking up a name of ``size`` characters costs, in MAX_MATCH_WORK units
        (about a microsecond each: one dict look-up per substring for infix keys)."""
        return 1 + (size * len(self.infix_lengths) // 8 if self.infix else 0)

    def candidates(self, name: str) -> tuple[list[int], int]:
        """The patterns ``name`` could match, in priority order, and what sorting them cost
        (the look-ups themselves are :meth:`scan_cost`)."""
        found = list(self.always)
        cost = 0
        if self.prefix:
            get = self.prefix.get
            for n in self.prefix_lengths:
                hit = get(name[:n])
                if hit is not None:
                    found += hit
        if self.suffix:
            get = self.suffix.get
            for n in self.suffix_lengths:
                hit = get(name[-n:])
                if hit is not None:
                    found += hit
        if self.infix:
            get = self.infix.get
            size = len(name)
            for n in self.infix_lengths:
                for i in range(size - n + 1):
                    hit = get(name[i : i + n])
                    if hit is not None:
                        found += hit
        cost += len(found) // 16
        if len(found) > 1:
            found = sorted(set(found))
        return found, cost


class MatchBudgetError(InputError):
    """A version script whose wildcards would take too long to match (``MAX_MATCH_WORK``)."""


class ScriptMatcher:
    """Precompiled GNU ld symbol-to-node assignment for one VersionScript.

    Literal entries go into one dict; wildcard entries into an index by their literal
    prefix, suffix or infix (:class:`_GlobIndex`), and each is matched without backtracking
    (:class:`_Glob`), so looking up thousands of names stays cheap whatever the patterns.
    The matching work is bounded by ``max_work`` (:data:`MAX_MATCH_WORK`): going over it
    raises :class:`MatchBudgetError` naming the script.
    """

    def __init__(self, script: VersionScript, *, max_work: int = MAX_MATCH_WORK) -> None:
        self.script = script
        nodes = script.nodes
        self._nodes = nodes
        self.max_work = max_work
        self.work = 0
        # name -> (node index, is global, entry): the first node naming it (globals first)
        self._literal: dict[str, tuple[int, bool, ScriptEntry]] = {}
        # the last node with a global / local "*" entry, and that entry
        self._star: dict[bool, tuple[int, ScriptEntry]] = {}
        kinds: dict[bool, list[_Glob]] = {True: [], False: []}
        for idx, node in enumerate(nodes):
            for is_global, entries in ((True, node.globals), (False, node.locals)):
                first_star: ScriptEntry | None = None
                for order, e in enumerate(entries):
                    if not _is_wild(e):
                        if e.pattern not in self._literal:
                            self._literal[e.pattern] = (idx, is_global, e)
                    elif e.pattern == "*":
                        first_star = first_star or e
                    else:
                        g = _Glob(e, idx, order)
                        if not g.never:
                            kinds[is_global].append(g)
                if first_star is not None:
                    self._star[is_global] = (idx, first_star)
        self._globals = _GlobIndex(kinds[True]) if kinds[True] else None
        self._locals = _GlobIndex(kinds[False]) if kinds[False] else None

    def _over(self) -> NoReturn:
        globs = [g for ix in (self._globals, self._locals) if ix is not None for g in ix.globs]
        paths: dict[str, int] = {}
        for g in globs:
            paths[g.entry.location.path] = paths.get(g.entry.location.path, 0) + 1
        path = max(paths, key=lambda p: paths[p]) if paths else ", ".join(self.script.paths)
        raise MatchBudgetError(
            path,
            f"matching its {len(globs)} wildcard patterns against the library's symbols "
            f"takes more than {self.max_work} glob tests (a hostile script?); see "
            "MAX_MATCH_WORK in elfaudit.readers.version_script",
        )

    def _search(self, index: _GlobIndex | None, name: str, mangled: bool) -> _Glob | None:
        """The deciding pattern: of the last node with a match, its first matching entry."""
        if index is None:
            return None
        limit = self.max_work
        work = self.work + index.scan_cost(len(name))
        if work > limit:  # before the scan: a hostile library may have huge names
            self.work = work
            self._over()
        found, cost = index.candidates(name)
        work += cost
        globs = index.globs
        weight = len(name)
        try:
            for i in found:
                g = globs[i]
                if mangled and g.cxx:
                    continue
                work += 1 + weight * g.ntok // 4096
                if work > limit:
                    break
                if g.matches(name):
                    return g
        finally:
            self.work = work
        if work > limit:
            self._over()
        return None

    def lookup(self, name: str) -> SymbolMatch:
        """The node and entry GNU ld picks for the symbol ``name`` (see the module doc)."""
        hit = self._literal.get(name)
        if hit is not None:  # the first node naming it literally decides
            return SymbolMatch(self._nodes[hit[0]], hit[2], not hit[1])
        mangled = _is_mangled(name)
        g = self._search(self._globals, name, mangled)
        if g is not None:
            return SymbolMatch(self._nodes[g.node], g.entry, False)
        g = self._search(self._locals, name, mangled)
        if g is not None:
            return SymbolMatch(self._nodes[g.node], g.entry, True)
        for is_global in (True, False):
            star = self._star.get(is_global)
            if star is not None:
                return SymbolMatch(self._nodes[star[0]], star[1], not is_global)
        return _UNMATCHED

    def node_for(self, name: str) -> ScriptNode | None:
        """The node ``name`` is exported in; None when hidden by ``local:`` or unmatched."""
        return self.lookup(name).exported_node


_MATCHERS: dict[int, tuple[VersionScript, ScriptMatcher]] = {}
_MATCHER_CACHE_SIZE = 8


def match_symbol(script: VersionScript, name: str) -> ScriptNode | None:
    """The node GNU ld exports ``name`` in, or None when hidden (``local:``) or unmatched.

    The anonymous node (``name`` None) is returned for a symbol it exports. Use
    :class:`ScriptMatcher` ``.lookup`` to tell hidden from unmatched. The compiled matcher
    of the last few scripts is cached.
    """
    cached = _MATCHERS.get(id(script))
    if cached is None or cached[0] is not script:
        if len(_MATCHERS) >= _MATCHER_CACHE_SIZE:
            _MATCHERS.pop(next(iter(_MATCHERS)))
        cached = (script, ScriptMatcher(script))
        _MATCHERS[id(script)] = cached
    return cached[1].node_for(name)

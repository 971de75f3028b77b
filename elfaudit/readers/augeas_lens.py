"""Augeas lenses (``.aug``): which parameters a lens reads and which files it covers.

Enough of the augeas language is parsed to read libvirt's lenses (and ones written like
them): the module header (``module Name =``, ``autoload xfm``), ``let`` definitions with
typed parameters (``let str_entry (kw:string) = [ key kw . value_sep . str_val ]``), local
``let ... in``, string and regular-expression literals, comments ``(* ... *)`` (nested),
``|`` alternatives, ``.`` concatenation, ``-`` difference, ``*``/``+``/``?`` repetition,
parentheses, subtrees ``[ ... ]`` and application by juxtaposition (``str_entry "user"``,
``incl "/etc/libvirt/qemu.conf"``, ``transform lns filter``).

The lens is then walked symbolically from the ``lens`` of its ``transform`` (else ``lns``):
every subtree ``[ key K . ... ]`` whose key resolves to a string is a parameter; its kind is
the helper it was reached through, less ``_entry`` (``str_entry "user"`` -> ``str``), and its
forms the value lenses it ends in (``str_val``; ``limits_entry`` gives ``unlimited_val`` and
``int_val``). Subtrees nested in a parameter (array elements) and ``label`` subtrees
(``#comment``) are no parameters. The ``filter`` of the transform gives the files: ``incl``
and ``excl`` globs (qualified names such as ``Util.stdexcl`` are other modules' and add
only exclusions, so they are not followed).

Anything that does not parse raises :class:`~elfaudit.base.errors.InputError` naming the file
and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from elfaudit.base.errors import InputError
from elfaudit.model.config import Lens, LensParameter

MAX_LENS_BYTES = 4 << 20  # libvirt's biggest lens is 9 KB
MAX_DEPTH = 200  # nesting of expressions and of expansions

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\(\*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<regex>/(?:[^/\\\n]|\\.)*/)
  | (?P<qident>[A-Z][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9]+)
  | (?P<punct>->|[=()\[\]{}|.*?+:;,-])
    """,
    re.VERBOSE | re.DOTALL,
)
_STOP = {"let", "test", "autoload", "in", "module", ")", "]", "}", "=", "|", ".", "-", ";"}
_BUILTINS = {"key", "label", "del", "store", "seq", "counter", "incl", "excl", "transform"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    line: int


# The syntax tree: tuples, first element the node type.
#   ("str", s) ("re", s) ("id", name) ("app", f, arg) ("alt", [e...]) ("cat", [e...])
#   ("minus", a, b) ("rep", e, op) ("sub", e) ("let", name, params, value, body)
Node = tuple[object, ...]


def _tokens(text: str, path: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos, line, n = 0, 1, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise InputError(path, f"unexpected character {text[pos]!r} in a lens", line)
        kind = m.lastgroup or ""
        if kind == "comment":
            depth, i = 1, m.end()
            while depth and i < n:
                if text.startswith("(*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*)", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            if depth:
                raise InputError(path, "unterminated comment (* ... *)", line)
            line += text.count("\n", pos, i)
            pos = i
            continue
        if kind != "ws":
            out.append(_Tok(kind, m.group(), line))
        line += m.group().count("\n")
        pos = m.end()
    return out


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class _Parser:
    def __init__(self, toks: list[_Tok], path: str) -> None:
        self.toks = toks
        self.i = 0
        self.path = path

    def error(self, what: str) -> InputError:
        tok = self.peek()
        line = tok.line if tok else (self.toks[-1].line if self.toks else 1)
        found = f"{tok.text!r}" if tok else "end of file"
        return InputError(self.path, f"{what}, found {found}", line)

    def peek(self, k: int = 0) -> _Tok | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self, text: str | None = None, kind: str | None = None) -> _Tok:
        tok = self.peek()
        if (
            tok is None
            or (text is not None and tok.text != text)
            or (kind is not None and tok.kind != kind)
        ):
            raise self.error(f"expected {text or kind}")
        self.i += 1
        return tok

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.text == text and tok.kind in ("punct", "ident")

    # module Name = (autoload x | let ... | test ...)*
    def module(self) -> tuple[str, dict[str, tuple[list[str], Node]], list[str]]:
        self.take("module")
        name = self.take(kind="ident").text
        self.take("=")
        lets: dict[str, tuple[list[str], Node]] = {}
        autoload: list[str] = []
        while self.peek() is not None:
            if self.at("autoload"):
                self.i += 1
                autoload.append(self.take(kind="ident").text)
            elif self.at("let"):
                self.i += 1
                if self.at("rec"):
                    self.i += 1
                lname = self.take(kind="ident").text
                params = self.params()
                self.take("=")
                lets[lname] = (params, self.expr(0))
            elif self.at("test"):
                raise self.error("tests are not read here (a test module?)")
            else:
                raise self.error("expected let or autoload")
        return name, lets, autoload

    def params(self) -> list[str]:
        out = []
        while self.at("("):
            self.i += 1
            out.append(self.take(kind="ident").text)
            self.take(":")
            depth = 0
            while True:  # the type: string, regexp, lens, (string -> lens)...
                tok = self.peek()
                if tok is None:
                    raise self.error("unterminated parameter")
                if tok.text == "(":
                    depth += 1
                elif tok.text == ")":
                    if depth == 0:
                        break
                    depth -= 1
                self.i += 1
            self.take(")")
        return out

    def expr(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error("expression nested too deeply")
        if self.at("let"):
            self.i += 1
            name = self.take(kind="ident").text
            params = self.params()
            self.take("=")
            value = self.expr(depth + 1)
            self.take("in")
            return ("let", name, params, value, self.expr(depth + 1))
        alts = [self.cat(depth)]
        while self.at("|"):
            self.i += 1
            alts.append(self.cat(depth))
        return alts[0] if len(alts) == 1 else ("alt", alts)

    def cat(self, depth: int) -> Node:
        items = [self.minus(depth)]
        while self.at("."):
            self.i += 1
            items.append(self.minus(depth))
        return items[0] if len(items) == 1 else ("cat", items)

    def minus(self, depth: int) -> Node:
        node = self.rep(depth)
        while self.at("-"):
            self.i += 1
            node = ("minus", node, self.rep(depth))
        return node

    def rep(self, depth: int) -> Node:
        node = self.app(depth)
        while True:
            if self.at("*") or self.at("+") or self.at("?"):
                node = ("rep", node, self.take().text)
            elif self.at("{") and (nxt := self.peek(1)) is not None and nxt.kind == "number":
                self.i += 1
                while not self.at("}"):
                    self.take()
                self.take("}")
                node = ("rep", node, "{}")
            else:
                return node

    def app(self, depth: int) -> Node:
        node = self.atom(depth)
        while True:
            tok = self.peek()
            if tok is None or tok.text in _STOP or tok.text in ("*", "+", "?", "{"):
                return node
            if tok.kind == "punct" and tok.text not in ("(", "["):
                return node
            node = ("app", node, self.atom(depth))

    def atom(self, depth: int) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.error("expected an expression")
        if tok.kind == "string":
            self.i += 1
            return ("str", _unquote(tok.text))
        if tok.kind == "regex":
            self.i += 1
            return ("re", tok.text[1:-1])
        if tok.kind in ("ident", "qident") and tok.text not in _STOP:
            self.i += 1
            return ("id", tok.text)
        if tok.kind == "number":
            self.i += 1
            return ("str", tok.text)
        if tok.text == "(":
            self.i += 1
            if self.at(")"):  # the unit value ()
                self.i += 1
                return ("cat", [])
            inner = self.expr(depth + 1)
            self.take(")")
            return inner
        if tok.text == "[":
            self.i += 1
            inner = self.expr(depth + 1)
            self.take("]")
            return ("sub", inner)
        raise self.error("expected an expression")


# ---------------------------------------------------------------- the symbolic walk

Env = dict[str, tuple[Node, "Env"]]  # a parameter bound to its argument and that one's scope


class _Walker:
    def __init__(self, lets: dict[str, tuple[list[str], Node]], path: str) -> None:
        self.lets = lets
        self.path = path
        self.params: dict[str, LensParameter] = {}
        self.patterns: list[str] = []
        self.includes: list[str] = []
        self.excludes: list[str] = []
        self.expanding: list[str] = []

    def string(self, node: Node, env: Env, depth: int = 0) -> str | None:
        """The string a node denotes, if it denotes one."""
        if depth > MAX_DEPTH:
            return None
        kind = node[0]
        if kind == "str":
            return str(node[1])
        if kind == "id":
            name = str(node[1])
            if name in env:
                bound, scope = env[name]
                return self.string(bound, scope, depth + 1)
            let = self.lets.get(name)
            if let and not let[0]:
                return self.string(let[1], {}, depth + 1)
        if kind == "cat":
            parts = [self.string(n, env, depth + 1) for n in node[1]]  # type: ignore[attr-defined]
            if all(p is not None for p in parts):
                return "".join(p for p in parts if p is not None)
        return None

    def head(self, node: Node) -> tuple[Node, list[Node]]:
        args: list[Node] = []
        while node[0] == "app":
            args.append(node[2])  # type: ignore[arg-type]
            node = node[1]  # type: ignore[assignment]
        return node, args[::-1]

    def walk(self, node: Node, env: Env, helper: str | None, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise InputError(self.path, "lens expands too deeply (recursive definitions?)")
        kind = node[0]
        if kind in ("alt", "cat"):
            for n in node[1]:  # type: ignore[attr-defined]
                self.walk(n, env, helper, depth + 1)
        elif kind in ("rep", "minus"):
            self.walk(node[1], env, helper, depth + 1)  # type: ignore[arg-type]
        elif kind == "let":
            _, name, params, value, body = node
            inner = dict(env)
            if not params:
                inner[str(name)] = (value, env)  # type: ignore[assignment]
            self.walk(body, inner, helper, depth + 1)  # type: ignore[arg-type]
        elif kind == "sub":
            self.subtree(node[1], env, helper, depth + 1)  # type: ignore[arg-type]
        elif kind in ("id", "app"):
            self.apply(node, env, helper, depth)

    def apply(self, node: Node, env: Env, helper: str | None, depth: int) -> None:
        head, args = self.head(node)
        if head[0] != "id":
            self.walk(head, env, helper, depth + 1)
            return
        name = str(head[1])
        if name in env and not args:
            bound, scope = env[name]
            self.walk(bound, scope, helper, depth + 1)
            return
        let = self.lets.get(name)
        if let is None or name in self.expanding:
            return  # a builtin, another module's lens, or a parameter of a string
        params, body = let
        scope_of: Env = {p: (a, env) for p, a in zip(params, args, strict=False)}
        self.expanding.append(name)
        try:
            self.walk(body, scope_of, name if params else helper, depth + 1)
        finally:
            self.expanding.pop()

    def subtree(self, node: Node, env: Env, helper: str | None, depth: int) -> None:
        items = list(node[1]) if node[0] == "cat" else [node]  # type: ignore[call-overload]
        for i, item in enumerate(items):
            head, args = self.head(item)
            if head != ("id", "key") or len(args) != 1:
                continue
            rest = items[i + 1 :]
            forms = tuple(str(r[1]) for r in rest[-1:] if r[0] == "id")
            arg = args[0]
            name = self.string(arg, env)
            if name is None:
                if arg[0] == "re":
                    self.patterns.append(str(arg[1]))
                return
            kind = (helper or (forms[0] if forms else "value")).removesuffix("_entry")
            kind = kind.removesuffix("_val")
            old = self.params.get(name)
            if old is not None:
                merged = old.forms + tuple(f for f in forms if f not in old.forms)
                self.params[name] = LensParameter(name, old.kind, merged)
            else:
                self.params[name] = LensParameter(name, kind, forms)
            return
        # no key: a label or seq subtree (#comment, array elements): no parameter here,
        # but it may hold keyed subtrees of its own (sections)
        for item in items:
            head, _ = self.head(item)
            if head in (("id", "label"), ("id", "seq")):
                return
        self.walk(node, env, helper, depth + 1)

    def filter(self, node: Node, env: Env, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise InputError(self.path, "filter expands too deeply")
        head, args = self.head(node)
        if node[0] == "cat":
            for n in node[1]:  # type: ignore[attr-defined]
                self.filter(n, env, depth + 1)
        elif head in (("id", "incl"), ("id", "excl")) and len(args) == 1:
            glob = self.string(args[0], env)
            if glob is None:
                raise InputError(self.path, f"{head[1]} of something that is not a string")
            (self.includes if head[1] == "incl" else self.excludes).append(glob.lstrip("/"))
        elif node[0] == "id":
            name = str(node[1])
            if name in env:
                bound, scope = env[name]
                self.filter(bound, scope, depth + 1)
            elif name in self.lets and not self.lets[name][0]:
                self.filter(self.lets[name][1], {}, depth + 1)


def _transforms(lets: dict[str, tuple[list[str], Node]]) -> Iterator[tuple[Node, Node]]:
    """(lens, filter) of every ``transform LENS FILTER`` a top-level let makes."""
    for params, body in lets.values():
        if params or body[0] != "app":
            continue
        w = _Walker(lets, "")
        head, args = w.head(body)
        if head == ("id", "transform") and len(args) == 2:
            yield args[0], args[1]


def parse_lens(data: bytes, path: str) -> Lens:
    """The :class:`Lens` of a ``.aug`` file's bytes; ``path`` names it in errors."""
    if len(data) > MAX_LENS_BYTES:
        raise InputError(path, f"too large ({len(data)} bytes) for a lens")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line) from None
    toks = _tokens(text, path)
    if not toks or toks[0].text != "module":
        line = toks[0].line if toks else 1
        raise InputError(path, "not an augeas module (no 'module Name =' header)", line)
    module, lets, _ = _Parser(toks, path).module()
    walker = _Walker(lets, path)
    found = list(_transforms(lets))
    if found:
        for lens, filt in found:
            walker.walk(lens, {}, None)
            walker.filter(filt, {})
    elif "lns" in lets:
        walker.walk(("id", "lns"), {}, None)
    return Lens(
        path=path,
        module=module,
        parameters=dict(sorted(walker.params.items())),
        includes=tuple(walker.includes),
        excludes=tuple(walker.excludes),
        patterns=tuple(walker.patterns),
    )

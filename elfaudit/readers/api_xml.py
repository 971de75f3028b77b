"""Read libvirt's shipped API description (``libvirt-api.xml`` and friends) into the model.

``libvirt-dev`` installs ``/usr/share/libvirt/api/libvirt{,-qemu,-lxc,-admin}-api.xml``,
written by libvirt's ``apibuild.py``::

    <api name='libvirt'>
      <files> ... </files>                      (ignored: per-header export lists)
      <symbols>
        <macro name= file= [params=] [raw=|string=] [version=]/>
        <enum name= file= value= type= [version=]/>      (one element per enum *value*)
        <typedef name= file= type= [version=]/>
        <struct name= file= type='struct _virX' [version=]>
          <field name= type=> [<union> <field name= type=/>... </union>] </field>...
        <functype name= ...> <return type=/> <arg name= type=/>... </functype>
        <function name= ...> <return type=/> <arg name= type=/>... </function>
        <variable name= file= type= [version=]/>
      </symbols>
    </api>

``version`` attributes appeared between 7.0.0 (none) and 9.0.0 (on every item). In
9.0.0 .. 12.8.0 every function's version equals the node it is exported under. Text
content (``<info>`` CDATA) is not read.

The reader drives :mod:`xml.parsers.expat` (standard library) itself rather than going
through :mod:`xml.etree.ElementTree`, for two reasons:

* line numbers: every item keeps the line of its start tag, for SARIF and text reports;
* safety without ``defusedxml``: any ``<!DOCTYPE`` is refused, so no entity can be
  declared and neither entity expansion ("billion laughs", quadratic blow-up) nor
  external entities are possible; libvirt's files never carry a DTD. Elements nested
  deeper than the format uses are skipped without being stored, and the input size is
  capped, so memory stays bounded by what the file can hold.

Anything unusable raises :class:`~elfaudit.base.errors.InputError` with one line naming the
file (and the line when known).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from elfaudit.base.errors import InputError
from elfaudit.model.guarantees import ReleaseFiles
from elfaudit.model.script import Location

#: Where ``libvirt-dev`` installs the API descriptions, inside a package or a root tree.
API_DIR = "usr/share/libvirt/api/"


def is_api_description(path: str) -> bool:
    """``usr/share/libvirt/api/libvirt-qemu-api.xml``: an API description's path in a package."""
    return path.startswith(API_DIR) and path.endswith("-api.xml")


def api_descriptions(rf: ReleaseFiles) -> list[ApiDescription]:
    """Every API description a release ships, each named ``<package>:/<path>``."""
    return [
        load_api(data, f"{rf.origin.get(path, rf.label)}:/{path}")
        for path, data in rf.files.items()
        if is_api_description(path)
    ]


__all__ = [
    "API_DIR",
    "LIBRARY_OF_API",
    "MAX_XML_BYTES",
    "ApiArg",
    "ApiDescription",
    "ApiEnumValue",
    "ApiField",
    "ApiFunction",
    "ApiMacro",
    "ApiStruct",
    "ApiTypedef",
    "ApiVariable",
    "api_descriptions",
    "description_facts",
    "description_from_facts",
    "load_api",
    "normalize_type",
    "parse_api",
]

#: The SONAME each ``<api name=...>`` describes. Other names map to ``<name>.so``.
LIBRARY_OF_API: dict[str, str] = {
    "libvirt": "libvirt.so.0",
    "libvirt-qemu": "libvirt-qemu.so.0",
    "libvirt-lxc": "libvirt-lxc.so.0",
    "libvirt-admin": "libvirt-admin.so.0",
}

#: Refuse larger inputs: the real libvirt-api.xml is ~1.2 MB (12.8.0).
MAX_XML_BYTES = 64 * 1024 * 1024

# Depth of the deepest element read: api(1)/symbols(2)/struct(3)/field(4)/union(5)/field(6).
_MAX_DEPTH = 6
_ITEM_TAGS = frozenset(
    {"macro", "enum", "typedef", "struct", "functype", "function", "variable", "union"}
)
_CHILD_TAGS = frozenset({"return", "arg", "field", "union"})


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class ApiArg:
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class ApiFunction:
    """A ``<function>`` (an exported entry point) or a ``<functype>`` (a callback typedef).

    ``returns`` is None when the element has no ``<return>`` child.
    """

    name: str
    returns: str | None
    args: tuple[ApiArg, ...]
    version: str | None
    file: str | None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class ApiEnumValue:
    """One enumeration value (libvirt writes one ``<enum>`` element per value).

    ``value`` is the text as written (a number, or another value's name); ``number`` is
    the resolved integer, or None when it cannot be resolved. ``enum`` is the ``type``
    attribute: the enumeration's typedef name.
    """

    name: str
    value: str
    number: int | None
    enum: str
    version: str | None
    file: str | None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class ApiMacro:
    """A ``#define``. ``params`` is None for object-like macros.

    ``value`` is the ``string`` attribute (string constants) or ``raw`` (anything else);
    ``is_string`` tells which. None when the XML gives neither.
    """

    name: str
    params: tuple[str, ...] | None
    value: str | None
    is_string: bool
    version: str | None
    file: str | None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class ApiField:
    """A struct or union field; ``union`` holds the choices of an anonymous union field."""

    name: str
    type: str
    union: tuple[ApiField, ...] | None = None


@dataclass(frozen=True, slots=True)
class ApiStruct:
    """A struct typedef. ``fields`` is None for opaque structs (no field info)."""

    name: str
    tag: str  # the C tag as written, e.g. "struct _virConnectAuth"
    fields: tuple[ApiField, ...] | None
    version: str | None
    file: str | None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class ApiTypedef:
    name: str
    type: str
    version: str | None
    file: str | None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class ApiVariable:
    """An exported data object (libvirt has one: ``virConnectAuthPtrDefault``)."""

    name: str
    type: str
    version: str | None
    file: str | None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class ApiDescription:
    """One API description file. Items keep document order; names are unique per kind
    (a repeated name keeps its first definition)."""

    name: str  # the <api name=...> attribute, e.g. "libvirt-qemu"
    path: str
    functions: tuple[ApiFunction, ...] = ()
    functypes: tuple[ApiFunction, ...] = ()
    enums: tuple[ApiEnumValue, ...] = ()
    macros: tuple[ApiMacro, ...] = ()
    structs: tuple[ApiStruct, ...] = ()
    typedefs: tuple[ApiTypedef, ...] = ()
    variables: tuple[ApiVariable, ...] = ()
    versioned: bool = False  # any item carries a version attribute

    @property
    def library(self) -> str:
        """The SONAME of the library this description documents."""
        return LIBRARY_OF_API.get(self.name, f"{self.name}.so")

    @property
    def node_prefix(self) -> str:
        """Version-node prefix of the library: ``libvirt-qemu`` -> ``LIBVIRT_QEMU_``."""
        return re.sub(r"[^A-Za-z0-9]", "_", self.name).upper() + "_"

    def items(self) -> Iterator[ApiItem]:
        yield from self.functions
        yield from self.functypes
        yield from self.enums
        yield from self.macros
        yield from self.structs
        yield from self.typedefs
        yield from self.variables


ApiItem = ApiFunction | ApiEnumValue | ApiMacro | ApiStruct | ApiTypedef | ApiVariable


_SPACE_RE = re.compile(r"\s+")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STAR_RE = re.compile(r"\s*\*\s*")
_STARS_RE = re.compile(r"\*+")


def normalize_type(text: str) -> str:
    """A C type spelled canonically: ``const char  * *`` and ``const char**`` agree."""
    t = _STAR_RE.sub("*", _SPACE_RE.sub(" ", text.strip()))
    return _STARS_RE.sub(r" \g<0>", t).strip()


# --------------------------------------------------------------------------- the reader


class _Node:
    __slots__ = ("attrs", "children", "column", "line", "tag")

    def __init__(self, tag: str, attrs: dict[str, str], line: int, column: int) -> None:
        self.tag = tag
        self.attrs = attrs
        self.line = line
        self.column = column
        self.children: list[_Node] = []


class _Refused(Exception):
    """Raised from an expat handler to stop parsing."""


def _parse_tree(data: bytes, path: str) -> _Node:
    """The elements that matter, with start-tag lines; DTDs refused."""
    parser = expat.ParserCreate()
    stack: list[_Node | None] = []
    root: list[_Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth = len(stack) + 1
        parent = stack[-1] if stack else None
        node: _Node | None = None
        if depth == 1:
            node = _Node(tag, attrs, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
            root.append(node)
        elif parent is not None and depth <= _MAX_DEPTH and _wanted(depth, parent.tag, tag):
            node = _Node(tag, attrs, parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
            parent.children.append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    def doctype(*_args: object) -> None:
        raise _Refused("a DOCTYPE is not allowed in an API description (entity expansion risk)")

    def entity_decl(*_args: object) -> None:
        raise _Refused("entity declarations are not allowed in an API description")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity_decl
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise InputError(path, f"line {parser.CurrentLineNumber}: {exc}") from None
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise InputError(path, f"line {exc.lineno}: malformed XML: {reason}") from None
    if not root:
        raise InputError(path, "empty XML document")
    return root[0]


def _wanted(depth: int, parent_tag: str, tag: str) -> bool:
    if depth == 2:
        return tag == "symbols"
    if depth == 3:
        return parent_tag == "symbols" and tag in _ITEM_TAGS
    if depth == 4:
        return tag in _CHILD_TAGS
    if depth == 5:
        return parent_tag == "field" and tag == "union"
    return parent_tag == "union" and tag == "field"  # depth 6


def load_api(source: str | os.PathLike[str] | bytes, name: str | None = None) -> ApiDescription:
    """Read an API description from a file path, or from bytes (``name`` labels them).

    ``name`` overrides the path reported in messages and locations (for bytes taken out
    of a package, pass e.g. ``"libvirt-dev_12.8.0-1_amd64.deb:/usr/share/.../libvirt-api.xml"``).
    """
    if isinstance(source, bytes):
        return parse_api(source, name or "<bytes>")
    path = os.fspath(source)
    label = name or path
    try:
        mode = os.stat(path).st_mode  # before open: opening a FIFO would block
        if stat.S_ISDIR(mode):
            raise InputError(label, "is a directory, not an API description")
        if not stat.S_ISREG(mode):
            raise InputError(label, "not a regular file, cannot be an API description")
        with open(path, "rb") as fh:
            data = fh.read(MAX_XML_BYTES + 1)
    except OSError as exc:
        raise InputError(label, exc.strerror or str(exc)) from None
    return parse_api(data, label)


def parse_api(data: bytes, path: str) -> ApiDescription:
    """Parse the bytes of an API description; ``path`` names it in messages."""
    if len(data) > MAX_XML_BYTES:
        raise InputError(path, f"larger than {MAX_XML_BYTES} bytes: not an API description")
    root = _parse_tree(data, path)
    if root.tag != "api":
        raise InputError(
            path, f"not a libvirt API description (root element <{root.tag}>, expected <api>)"
        )
    api_name = root.attrs.get("name", "").strip()
    if not api_name:
        raise InputError(path, f"line {root.line}: <api> has no name attribute")
    symbols = [c for c in root.children if c.tag == "symbols"]
    if not symbols:
        raise InputError(path, "no <symbols> element: not a libvirt API description")
    return _Builder(path).build(api_name, symbols[0])


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path

    def _loc(self, node: _Node) -> Location:
        return Location(self.path, node.line, node.column)

    def _name(self, node: _Node) -> str:
        name = node.attrs.get("name", "").strip()
        if not name:
            raise InputError(self.path, f"line {node.line}: <{node.tag}> without a name")
        if _IDENT_RE.match(name) is None:
            shown = name[:80]
            raise InputError(
                self.path, f"line {node.line}: <{node.tag}> name {shown!r} is not a C identifier"
            )
        return name

    def _attr(self, node: _Node, attr: str) -> str:
        value = node.attrs.get(attr)
        if value is None:
            raise InputError(
                self.path,
                f"line {node.line}: <{node.tag} name={self._name(node)!r}> has no {attr} attribute",
            )
        return value

    def build(self, api_name: str, symbols: _Node) -> ApiDescription:
        seen: dict[str, set[str]] = {}
        out: dict[str, list[object]] = {}
        versioned = False
        for node in symbols.children:
            kind = node.tag
            if kind == "union":  # apibuild never emits a top-level union; nothing to key on
                continue
            name = self._name(node)
            names = seen.setdefault(kind, set())
            if name in names:
                continue
            names.add(name)
            versioned = versioned or "version" in node.attrs
            out.setdefault(kind, []).append(self._item(kind, name, node))
        raw_enums = [e for e in out.get("enum", []) if isinstance(e, ApiEnumValue)]
        return ApiDescription(
            name=api_name,
            path=self.path,
            functions=tuple(f for f in out.get("function", []) if isinstance(f, ApiFunction)),
            functypes=tuple(f for f in out.get("functype", []) if isinstance(f, ApiFunction)),
            enums=_resolve_enums(raw_enums),
            macros=tuple(m for m in out.get("macro", []) if isinstance(m, ApiMacro)),
            structs=tuple(s for s in out.get("struct", []) if isinstance(s, ApiStruct)),
            typedefs=tuple(t for t in out.get("typedef", []) if isinstance(t, ApiTypedef)),
            variables=tuple(v for v in out.get("variable", []) if isinstance(v, ApiVariable)),
            versioned=versioned,
        )

    def _item(self, kind: str, name: str, node: _Node) -> object:
        a = node.attrs
        version = a.get("version") or None
        file = a.get("file")
        loc = self._loc(node)
        if kind in ("function", "functype"):
            returns: str | None = None
            args: list[ApiArg] = []
            for c in node.children:
                if c.tag == "return" and returns is None:
                    returns = self._attr(c, "type")
                elif c.tag == "arg":
                    args.append(ApiArg(c.attrs.get("name", ""), self._attr(c, "type")))
            return ApiFunction(name, returns, tuple(args), version, file, loc)
        if kind == "enum":
            value = self._attr(node, "value").strip()
            return ApiEnumValue(name, value, None, a.get("type", ""), version, file, loc)
        if kind == "macro":
            params = a.get("params")
            ptuple = None if params is None else tuple(p.strip() for p in params.split(","))
            if "string" in a:
                return ApiMacro(name, ptuple, a["string"], True, version, file, loc)
            return ApiMacro(name, ptuple, a.get("raw"), False, version, file, loc)
        if kind == "struct":
            fields = [self._field(c) for c in node.children if c.tag == "field"]
            return ApiStruct(name, a.get("type", ""), tuple(fields) or None, version, file, loc)
        if kind == "typedef":
            return ApiTypedef(name, self._attr(node, "type"), version, file, loc)
        return ApiVariable(name, self._attr(node, "type"), version, file, loc)

    def _field(self, node: _Node) -> ApiField:
        union: tuple[ApiField, ...] | None = None
        for c in node.children:
            if c.tag == "union":
                union = tuple(
                    ApiField(self._name(f), self._attr(f, "type"))
                    for f in c.children
                    if f.tag == "field"
                )
                break
        return ApiField(self._name(node), self._attr(node, "type"), union)


# Bounded: an enum value is at most 64 bits, and a longer run of digits is no literal (it
# would cost int() quadratic time, or exceed Python's digit limit).
_INT_RE = re.compile(r"^([-+]?)(0[xX][0-9a-fA-F]{1,32}|\d{1,40})[uUlL]*$")
_SHIFT_RE = re.compile(r"^(\d{1,40})\s*<<\s*(\d{1,3})$")


def _literal(text: str) -> int | None:
    """The integer an enum ``value`` spells: decimal (libvirt's form), hex or ``a << b``."""
    t = text.strip()
    if t.startswith("(") and t.endswith(")"):
        t = t[1:-1].strip()
    m = _INT_RE.match(t)
    if m is not None:
        digits = m.group(2)
        n = int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits, 10)
        return -n if m.group(1) == "-" else n
    m = _SHIFT_RE.match(t)
    if m is not None and int(m.group(2)) < 128:
        return int(m.group(1)) << int(m.group(2))
    return None


def _resolve_enums(values: list[ApiEnumValue]) -> tuple[ApiEnumValue, ...]:
    """Give each value its integer: literals directly, aliases (``value='VIR_X'``) by lookup.

    Alias chains are followed at most ``len(values)`` steps, so cycles end.
    """
    raw = {v.name: v.value for v in values}
    out = []
    for v in values:
        text, n = v.value, _literal(v.value)
        for _ in range(len(values)):
            if n is not None or text not in raw:
                break
            text = raw[text]
            n = _literal(text)
        out.append(ApiEnumValue(v.name, v.value, n, v.enum, v.version, v.file, v.location))
    return tuple(out)


# --------------------------------------------------------------------------- facts
#
# An API description as JSON items, what the release graph stores for a release so that
# ``compare_api`` can judge it against every ancestor without the XML:
#
#   "api"               {"name": "libvirt", "path": ..., "versioned": true}
#   "<kind> <name>"     one per item, kind one of function, functype, enum, macro, struct,
#                       typedef, variable: its members, None ones left out
#   "lines <kind>"      {name: [line, column]}: where each item of that kind starts
#
# The start lines move with every edit above them, so they are items of their own: an API
# item's facts change only when the item does. Items come back in document order (their
# lines give it).

#: The facts' kind of each ApiDescription member, in the model's order.
FACT_KINDS = (
    ("functions", "function"),
    ("functypes", "functype"),
    ("enums", "enum"),
    ("macros", "macro"),
    ("structs", "struct"),
    ("typedefs", "typedef"),
    ("variables", "variable"),
)
_BIG = 10**18  # enum numbers beyond this are written as text (JSON inputs hold 20 digits)


def _field_facts(f: ApiField) -> list[object]:
    out: list[object] = [f.name, f.type]
    if f.union is not None:
        out.append([_field_facts(c) for c in f.union])
    return out


def _item_facts(item: ApiItem) -> dict[str, object]:
    out: dict[str, object] = {}
    if isinstance(item, ApiFunction):
        if item.returns is not None:
            out["returns"] = item.returns
        out["args"] = [[a.name, a.type] for a in item.args]
    elif isinstance(item, ApiEnumValue):
        out["enum"] = item.enum
        out["value"] = item.value
        if item.number is not None:
            out["number"] = item.number if abs(item.number) < _BIG else str(item.number)
    elif isinstance(item, ApiMacro):
        if item.params is not None:
            out["params"] = list(item.params)
        if item.value is not None:
            out["value"] = item.value
        if item.is_string:
            out["string"] = True
    elif isinstance(item, ApiStruct):
        out["tag"] = item.tag
        if item.fields is not None:
            out["fields"] = [_field_facts(f) for f in item.fields]
    else:
        out["type"] = item.type
    if item.version is not None:
        out["version"] = item.version
    if item.file is not None:
        out["file"] = item.file
    return out


def description_facts(d: ApiDescription) -> dict[str, object]:
    """``d`` as facts (JSON values by item, see above); :func:`description_from_facts`
    gives ``d`` back, equal."""
    out: dict[str, object] = {"api": {"name": d.name, "path": d.path, "versioned": d.versioned}}
    for attr, kind in FACT_KINDS:
        lines: dict[str, list[int]] = {}
        for item in getattr(d, attr):
            out[f"{kind} {item.name}"] = _item_facts(item)
            if item.location is not None:
                lines[item.name] = [item.location.line, item.location.column]
        if lines:
            out[f"lines {kind}"] = lines
    return out


class _BadFacts(Exception):
    pass


def _str(value: object, optional: bool = False) -> str | None:
    if isinstance(value, str) or (optional and value is None):
        return value
    raise _BadFacts


def _s(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _BadFacts


def _list(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    raise _BadFacts


def _field_of(value: object, depth: int = 0) -> ApiField:
    v = _list(value)
    if len(v) not in (2, 3) or depth > 1:
        raise _BadFacts
    union = None if len(v) == 2 else tuple(_field_of(c, depth + 1) for c in _list(v[2]))
    return ApiField(_s(v[0]), _s(v[1]), union)


def _number_of(value: object) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and len(value) <= 45:
        return int(value)
    raise _BadFacts


def _item_of(kind: str, name: str, v: dict[str, object], loc: Location | None) -> ApiItem:
    version, file = _str(v.get("version"), True), _str(v.get("file"), True)
    if kind in ("function", "functype"):
        args = []
        for a in _list(v.get("args", [])):
            pair = _list(a)
            if len(pair) != 2:
                raise _BadFacts
            args.append(ApiArg(_s(pair[0]), _s(pair[1])))
        return ApiFunction(name, _str(v.get("returns"), True), tuple(args), version, file, loc)
    if kind == "enum":
        return ApiEnumValue(
            name,
            _s(v.get("value")),
            _number_of(v.get("number")),
            _s(v.get("enum")),
            version,
            file,
            loc,
        )
    if kind == "macro":
        params = v.get("params")
        ptuple = None if params is None else tuple(_s(p) for p in _list(params))
        is_string = v.get("string", False)
        if not isinstance(is_string, bool):
            raise _BadFacts
        return ApiMacro(name, ptuple, _str(v.get("value"), True), is_string, version, file, loc)
    if kind == "struct":
        fields = v.get("fields")
        ftuple = None if fields is None else tuple(_field_of(f) for f in _list(fields))
        return ApiStruct(name, _s(v.get("tag")), ftuple, version, file, loc)
    if kind == "typedef":
        return ApiTypedef(name, _s(v.get("type")), version, file, loc)
    return ApiVariable(name, _s(v.get("type")), version, file, loc)


def description_from_facts(name: str, facts: Mapping[str, object]) -> ApiDescription:
    """The API description ``name`` (``libvirt-qemu``) again from its
    :func:`description_facts`. InputError naming it when an item is not what
    :func:`description_facts` writes."""
    key = "api"
    try:
        head = facts.get("api")
        if not isinstance(head, Mapping) or head.get("name") != name:
            raise _BadFacts
        path, versioned = _s(head.get("path")), head.get("versioned", False)
        if not isinstance(versioned, bool):
            raise _BadFacts
        kinds = {k: a for a, k in FACT_KINDS}
        items: dict[str, list[tuple[tuple[int, int, str], ApiItem]]] = {
            a: [] for a in kinds.values()
        }
        lines_of = {kind: facts.get(f"lines {kind}", {}) for kind in kinds}
        for key, value in facts.items():
            kind, _, item_name = key.partition(" ")
            if key == "api" or kind == "lines":
                if kind == "lines" and item_name not in kinds:
                    raise _BadFacts
                continue
            if kind not in kinds or not item_name or not isinstance(value, dict):
                raise _BadFacts
            lines = lines_of[kind]
            if not isinstance(lines, Mapping):
                raise _BadFacts
            where = lines.get(item_name)
            loc = None
            order = (1 << 62, 0, item_name)  # items without a line come last, by name
            if where is not None:
                at = _list(where)
                if len(at) != 2 or not all(isinstance(n, int) for n in at):
                    raise _BadFacts
                line, column = int(str(at[0])), int(str(at[1]))
                loc, order = Location(path, line, column), (line, column, item_name)
            items[kinds[kind]].append((order, _item_of(kind, item_name, value, loc)))
    except (_BadFacts, ValueError):
        raise InputError(f"{name} (API description facts)", f"bad item {key[:80]!r}") from None

    def ordered(attr: str) -> tuple[Any, ...]:
        return tuple(item for _, item in sorted(items[attr], key=lambda p: p[0]))

    return ApiDescription(
        name=name,
        path=path,
        functions=ordered("functions"),
        functypes=ordered("functypes"),
        enums=ordered("enums"),
        macros=ordered("macros"),
        structs=ordered("structs"),
        typedefs=ordered("typedefs"),
        variables=ordered("variables"),
        versioned=versioned,
    )

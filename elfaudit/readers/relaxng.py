"""RELAX NG schemas (libvirt's ``usr/share/libvirt/schemas/*.rng``) into
:class:`~elfaudit.model.schema.SchemaModel`: the only lxml user.

A :class:`SchemaSet` holds one release's schema files (path inside the packages -> bytes)
and models each schema the way a document sees it: from each ``<start>``, every element path
with its attributes, their enumerated values, its children and its text. It resolves
``<include>`` (relative to the including file, within the set only: never the filesystem,
never the network; an include's own ``<define>``/``<start>`` override the included ones),
``<externalRef>``, ``combine="choice|interleave"``, ``<div>``, nested ``<grammar>``\\ s and
``<parentRef>`` (libvirt's snapshot and checkpoint schemas embed the domain schema so),
``<ref>``/``<define>``, recursion (an element pattern met again among its own ancestors is
listed as a child but not entered again), every pattern (``interleave``, ``choice``,
``optional``, ``zeroOrMore``, ``oneOrMore``, ``group``, ``mixed``, ``list``, ``data``,
``value``, ``text``, ``empty``, ``notAllowed``) and name classes (``anyName`` is ``*``,
``nsName`` is ``prefix:*``; namespaced names keep their URI, shown with the schema's own
prefix for it or one derived from the URI: ``http://libvirt.org/schemas/domain/qemu/1.0``
is ``qemu``).

Parsing is defused: no entities are resolved, no DTD is loaded (a document with a DOCTYPE is
refused), no network, libxml2's huge-tree mode off, files of at most :data:`MAX_FILE_SIZE`
bytes nested at most :data:`MAX_DEPTH` levels, at most :data:`MAX_ELEMENTS` element paths
per schema. Malformed XML, a dangling ``<ref>``, an include loop, a missing include, a ref
cycle without an element: one :class:`~elfaudit.base.errors.InputError` naming the file.

:meth:`SchemaSet.example` builds, from the grammar itself, a small document that reaches an
element path (optionally with an attribute set to a value): every required pattern filled in
group order, a required choice taking the branch that leads there, values their data types
accept (:func:`example_document` sketches one from the model instead). It is the evidence a
user can check with :meth:`Validator.validates` (lxml's own RELAX NG validator).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from lxml import etree  # noqa: TID251 - lxml's home module

from elfaudit.base.errors import InputError, one_line
from elfaudit.model.schema import TEXT, AttributeInfo, DataType, ElementInfo, SchemaModel

RNG = "http://relaxng.org/ns/structure/1.0"
MAX_FILE_SIZE = 8 << 20  # bytes per schema file (libvirt's largest, domaincommon.rng: 0.3 MB)
MAX_DEPTH = 200  # XML nesting levels per file (libvirt's: about 30)
MAX_ELEMENTS = 100_000  # element paths per schema (libvirt's domainsnapshot.rng: about 5,000)
MAX_FILES = 1_000  # files read for one schema

_NAME_CLASSES = frozenset({"name", "anyName", "nsName", "choice"})
_VERSIONISH = re.compile(r"^v?[0-9][0-9.]*$")


_PATTERNS = (
    "attribute",
    "anyName",
    "choice",
    "data",
    "define",
    "div",
    "element",
    "empty",
    "except",
    "externalRef",
    "grammar",
    "group",
    "include",
    "interleave",
    "list",
    "mixed",
    "name",
    "notAllowed",
    "nsName",
    "oneOrMore",
    "optional",
    "param",
    "parentRef",
    "ref",
    "start",
    "text",
    "value",
    "zeroOrMore",
)
_TAGS: dict[object, str] = {f"{{{RNG}}}{t}": t for t in _PATTERNS}


def _local(el: etree._Element) -> str | None:
    """The RELAX NG local name of ``el``; None for comments and foreign (annotation)
    elements."""
    return _TAGS.get(el.tag)


def _rng_children(el: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    get = _TAGS.get
    for child in el:
        tag = get(child.tag)
        if tag is not None:
            yield tag, child


def parse_xml(path: str, data: bytes) -> etree._Element:
    """One XML file, defused and bounded; its root element."""
    if len(data) > MAX_FILE_SIZE:
        raise InputError(path, f"too large ({len(data):,} bytes; at most {MAX_FILE_SIZE:,})")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(path, f"malformed XML: {one_line(exc)}") from None
    except ValueError as exc:  # e.g. a str with an encoding declaration
        raise InputError(path, f"malformed XML: {one_line(exc)}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise InputError(path, "has a DOCTYPE (DTDs and entities are not allowed)")
    stack = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(path, f"nested more than {MAX_DEPTH} levels")
        stack.extend((c, depth + 1) for c in el)
    return root


class _Grammar:
    """One ``<grammar>`` with its includes merged: defines (name -> the ``<define>``s,
    combined) and starts, and the grammar it is nested in (for ``<parentRef>``)."""

    __slots__ = ("defines", "file", "files", "key", "parent", "starts", "uses_parent")

    def __init__(self, parent: _Grammar | None, file: str) -> None:
        self.parent = parent
        self.file = file
        self.defines: dict[str, list[tuple[etree._Element, str]]] = {}
        self.starts: list[tuple[etree._Element, str]] = []
        self.files: set[str] = {file}
        self.uses_parent = False
        self.key = 0  # grammars with the same defines (and parent) share a key

    def signature(self) -> tuple[object, ...]:
        """What makes two grammars the same: their components (the same elements of the
        same parsed files) and, if they use ``<parentRef>``, their parent."""
        return (
            tuple(sorted((n, tuple(id(d) for d, _ in es)) for n, es in self.defines.items())),
            tuple(id(s) for s, _ in self.starts),
            id(self.parent) if self.uses_parent else None,
        )


@dataclass
class _Attr:
    values: set[str] = field(default_factory=set)
    types: set[DataType] = field(default_factory=set)
    optional: bool = False
    seen: int = 0  # variants of the element that have it


@dataclass
class _Local:
    """What one element pattern holds directly: attributes, child element patterns, text."""

    attrs: dict[str, _Attr] = field(default_factory=dict)
    # (name, namespace, element pattern, its grammar, repeatable, optional)
    children: list[tuple[str, str, etree._Element, _Grammar, bool, bool]] = field(
        default_factory=list
    )
    values: set[str] = field(default_factory=set)
    types: set[DataType] = field(default_factory=set)


# (path, namespace, element pattern, its grammar, repeatable, ancestors' patterns)
_Frame = tuple[str, str, etree._Element, _Grammar, bool, frozenset[tuple[etree._Element, int]]]


@dataclass
class _Acc:
    ns: str = ""
    variants: int = 0
    attrs: dict[str, _Attr] = field(default_factory=dict)
    children: set[str] = field(default_factory=set)
    required: dict[str, int] = field(default_factory=dict)  # child -> variants requiring it
    values: set[str] = field(default_factory=set)
    types: set[DataType] = field(default_factory=set)
    repeatable: bool = False


@dataclass(frozen=True)
class _Subtree:
    """A grammar start element's paths, relative to it (``""``, ``/child``...), the element
    patterns met below it (to tell whether a context's ancestors would cut it otherwise)
    and the files read for it."""

    accs: dict[str, _Acc]
    heres: frozenset[tuple[etree._Element, int]]
    files: frozenset[str]


def _copy_acc(a: _Acc) -> _Acc:
    return _Acc(
        ns=a.ns,
        variants=a.variants,
        attrs={
            n: _Attr(set(b.values), set(b.types), b.optional, b.seen) for n, b in a.attrs.items()
        },
        children=set(a.children),
        required=dict(a.required),
        values=set(a.values),
        types=set(a.types),
        repeatable=a.repeatable,
    )


def _merge_acc(a: _Acc, b: _Acc) -> None:
    """Add ``b``'s variants to ``a`` (a variant counted twice changes no verdict: required
    and always-present mean in every variant)."""
    a.variants += b.variants
    a.repeatable = a.repeatable or b.repeatable
    for n, bb in b.attrs.items():
        x = a.attrs.setdefault(n, _Attr())
        x.values |= bb.values
        x.types |= bb.types
        x.optional = x.optional or bb.optional
        x.seen += bb.seen
    a.children |= b.children
    for n, k in b.required.items():
        a.required[n] = a.required.get(n, 0) + k
    a.values |= b.values
    a.types |= b.types


def _info(a: _Acc) -> ElementInfo:
    attrs = {
        n: AttributeInfo(
            values=frozenset(b.values) if b.values else None,
            types=frozenset(b.types),
            optional=b.optional or b.seen < a.variants,
        )
        for n, b in sorted(a.attrs.items())
    }
    return ElementInfo(
        attributes=attrs,
        children=frozenset(a.children),
        required=tuple(n for n, k in a.required.items() if k == a.variants),
        text=frozenset(a.values) if a.values else None,
        text_types=frozenset(a.types),
        namespace=a.ns,
        repeatable=a.repeatable,
    )


def derive_prefix(uri: str) -> str:
    """A short prefix for a namespace URI: its last path segment that is not a version
    (``http://libvirt.org/schemas/domain/qemu/1.0`` -> ``qemu``)."""
    parts = [p for p in re.split(r"[/:#]", uri) if p and not _VERSIONISH.match(p)]
    word = re.sub(r"[^A-Za-z0-9_.-]", "", parts[-1]) if parts else ""
    return word or "ns"


class SchemaSet:
    """One release's schema files; :meth:`model` models one of them. A grammar's start
    element (libvirt's ``<domain>``, also in the snapshot and checkpoint schemas) is
    expanded once per set and its paths shared (``share_subtrees``: False walks each
    occurrence again, the same model, slower)."""

    share_subtrees = True

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self._parsed: dict[str, etree._Element] = {}
        self._prefix_of_uri: dict[str, str] = {}
        self._declared: dict[str, str] = {}  # uri -> prefix the schemas declare for it
        self._inherit_cache: dict[tuple[etree._Element, str], str] = {}
        self._interned: dict[tuple[object, ...], _Grammar] = {}
        self._parent_refs: dict[str, bool] = {}
        self._keys: dict[tuple[object, ...], int] = {}
        self._nested: dict[tuple[etree._Element, int], _Grammar] = {}
        self._locals: dict[tuple[etree._Element, int], _Local] = {}
        self._el_file: dict[etree._Element, str] = {}
        self._generator: _Generator | None = None
        self._roots: set[tuple[etree._Element, int]] = set()  # grammars' start elements
        self._subtrees: dict[tuple[etree._Element, int], _Subtree] = {}
        self._building_sub: set[tuple[etree._Element, int]] = set()
        self._infos: dict[int, ElementInfo] = {}  # id of a subtree's _Acc -> its element

    # ---- files
    def root(self, path: str) -> etree._Element:
        root = self._parsed.get(path)
        if root is None:
            data = self.files.get(path)
            if data is None:
                raise InputError(path, "no such file in the schema set")
            root = self._parsed[path] = parse_xml(path, data)
            for prefix, uri in root.nsmap.items():
                if prefix and uri != RNG:
                    self._declared.setdefault(uri, prefix)
            for el in root.iter():
                self._el_file[el] = path
        return root

    def _resolve(self, file: str, href: str | None, what: str) -> str:
        if not href or not href.strip():
            raise InputError(file, f"<{what}> without href")
        href = href.strip()
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", href) or href.startswith("/"):
            raise InputError(file, f"<{what} href='{href}'> points outside the schema set")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(file), href))
        if target.startswith("../") or target == ".." or target not in self.files:
            raise InputError(file, f"<{what} href='{href}'>: {target} is missing")
        return target

    # ---- grammars
    def _grammar(self, el: etree._Element, parent: _Grammar | None, file: str) -> _Grammar:
        g = _Grammar(parent, file)
        self._load(g, el, file, (file,), frozenset(), False)
        g.uses_parent = any(self._has_parent_ref(f) for f in g.files)
        sig = g.signature()
        same = self._interned.get(sig)
        if same is not None:
            return same
        self._check_refs(g)
        self._interned[sig] = g
        g.key = self._keys.setdefault((sig[0], sig[2]), len(self._keys) + 1)
        return g

    def _has_parent_ref(self, file: str) -> bool:
        hit = self._parent_refs.get(file)
        if hit is None:
            root = self.root(file)
            hit = self._parent_refs[file] = next(root.iter(f"{{{RNG}}}parentRef"), None) is not None
        return hit

    def _load(
        self,
        g: _Grammar,
        container: etree._Element,
        file: str,
        chain: tuple[str, ...],
        overridden: frozenset[str],
        start_overridden: bool,
    ) -> None:
        for tag, child in _rng_children(container):
            if tag == "start":
                if not start_overridden and all(child is not s for s, _ in g.starts):
                    g.starts.append((child, file))
            elif tag == "define":
                name = (child.get("name") or "").strip()
                if not name:
                    raise InputError(file, "<define> without a name")
                if name in overridden:
                    continue
                entries = g.defines.setdefault(name, [])
                if all(child is not d for d, _ in entries):
                    entries.append((child, file))
            elif tag == "div":
                self._load(g, child, file, chain, overridden, start_overridden)
            elif tag == "include":
                target = self._resolve(file, child.get("href"), "include")
                if target in chain:
                    loop = " -> ".join((*chain[chain.index(target) :], target))
                    raise InputError(file, f"include loop: {loop}")
                root = self.root(target)
                g.files.add(target)
                if _local(root) != "grammar":
                    raise InputError(target, "an included schema must be a <grammar>")
                names, has_start = _components(child)
                self._load(
                    g,
                    root,
                    target,
                    (*chain, target),
                    overridden | names,
                    start_overridden or has_start,
                )
                self._load(g, child, file, chain, overridden, start_overridden)

    def _check_refs(self, g: _Grammar) -> None:
        """Every ``<ref>`` of the grammar names a define (of its parent for
        ``<parentRef>``), reachable or not; combines are consistent."""
        for name, entries in g.defines.items():
            plain = [f for d, f in entries if not d.get("combine")]
            if len(plain) > 1:
                raise InputError(plain[1], f"define '{name}' is defined twice without combine")
            combines = {d.get("combine") for d, _ in entries if d.get("combine")}
            if len(combines) > 1 or combines - {"choice", "interleave"}:
                raise InputError(entries[0][1], f"define '{name}' mixes or misspells combine")
        ref_tags = (f"{{{RNG}}}ref", f"{{{RNG}}}parentRef")
        for el, file in [e for es in g.defines.values() for e in es] + g.starts:
            if next(el.iter(f"{{{RNG}}}grammar"), None) is None:
                for node in el.iter(*ref_tags):
                    name = (node.get("name") or "").strip()
                    if node.tag == ref_tags[0]:
                        if name not in g.defines:
                            raise InputError(file, f"<ref name='{name}'> refers to no define")
                    elif g.parent is None:
                        raise InputError(
                            file, f"<parentRef name='{name}'> outside a nested grammar"
                        )
                    elif name not in g.parent.defines:
                        raise InputError(file, f"<parentRef name='{name}'> refers to no define")
                continue
            stack = list(el)
            while stack:
                node = stack.pop()
                tag = _local(node)
                if tag == "grammar":
                    continue  # a nested grammar is checked when it is built
                if tag in ("ref", "parentRef"):
                    name = (node.get("name") or "").strip()
                    target = g if tag == "ref" else g.parent
                    if target is None:
                        raise InputError(
                            file, f"<parentRef name='{name}'> outside a nested grammar"
                        )
                    if name not in target.defines:
                        raise InputError(file, f"<{tag} name='{name}'> refers to no define")
                stack.extend(node)

    def _start_patterns(self, g: _Grammar) -> list[tuple[etree._Element, str, bool]]:
        """(pattern, its tag, whether it is one of several combined starts)."""
        return [(s, _local(s) or "start", len(g.starts) > 1) for s, _ in g.starts]

    # ---- names
    def _inherited(self, el: etree._Element, attr: str) -> str:
        key = (el, attr)
        hit = self._inherit_cache.get(key)
        if hit is None:
            value = el.get(attr)
            if value is None:
                parent = el.getparent()
                value = self._inherited(parent, attr) if parent is not None else ""
            hit = self._inherit_cache[key] = value
        return hit

    def prefix(self, uri: str) -> str:
        p = self._prefix_of_uri.get(uri)
        if p is None:
            base = self._declared.get(uri) or derive_prefix(uri)
            p, n = base, 1
            taken = set(self._prefix_of_uri.values())
            while p in taken:
                n += 1
                p = f"{base}{n}"
            self._prefix_of_uri[uri] = p
        return p

    def _show(self, ns: str, local: str) -> str:
        return f"{self.prefix(ns)}:{local}" if ns else local

    def _names(self, el: etree._Element, attribute: bool) -> list[tuple[str, str]]:
        """(namespace, shown name) of the element or attribute pattern ``el``."""
        name = el.get("name")
        if name is not None:
            name = name.strip()
            if ":" in name:
                prefix, local = name.split(":", 1)
                ns = el.nsmap.get(prefix)
                if ns is None:
                    raise InputError(self._el_file.get(el, "?"), f"undeclared prefix in '{name}'")
                return [(ns, self._show(ns, local))]
            ns = (el.get("ns") or "") if attribute else self._inherited(el, "ns")
            return [(ns, self._show(ns, name))]
        for tag, child in _rng_children(el):
            if tag in _NAME_CLASSES:
                return self._name_class(child)
            break
        raise InputError(self._el_file.get(el, "?"), f"<{_local(el)}> without a name")

    def _name_class(self, el: etree._Element) -> list[tuple[str, str]]:
        tag = _local(el)
        if tag == "name":
            text = (el.text or "").strip()
            if ":" in text:
                prefix, local = text.split(":", 1)
                ns = el.nsmap.get(prefix, "")
                return [(ns, self._show(ns, local))]
            ns = self._inherited(el, "ns")
            return [(ns, self._show(ns, text))]
        if tag == "anyName":
            return [("", "*")]
        if tag == "nsName":
            ns = self._inherited(el, "ns")
            return [(ns, f"{self.prefix(ns)}:*" if ns else "*")]
        out: list[tuple[str, str]] = []
        for _t, child in _rng_children(el):
            out.extend(self._name_class(child))
        return out

    # ---- content
    def _local_of(self, el: etree._Element, g: _Grammar) -> _Local:
        key = (el, g.key)
        local = self._locals.get(key)
        if local is None:
            local = _Local()
            skip = el.get("name") is None
            for tag, child in _rng_children(el):
                if skip and tag in _NAME_CLASSES:
                    skip = False
                    continue
                self._walk(child, tag, g, local, False, False, set())
            self._locals[key] = local
        return local

    def _walk(
        self,
        el: etree._Element,
        tag: str,
        g: _Grammar,
        local: _Local,
        opt: bool,
        rep: bool,
        active: set[tuple[int, str]],
    ) -> None:
        if tag == "element":
            local.children.extend((n, ns, el, g, rep, opt) for ns, n in self._names(el, False))
        elif tag == "attribute":
            values: set[str] = set()
            types: set[DataType] = set()
            content = list(_rng_children(el))
            if el.get("name") is None:
                content = content[1:]  # the name class
            if not content:
                types.add(TEXT)
            for t, c in content:
                self._values(c, t, g, values, types, set())
            for _ns, n in self._names(el, True):
                a = local.attrs.setdefault(n, _Attr())
                a.values |= values
                a.types |= types
                a.optional = a.optional or opt
                a.seen = 1
        elif tag in ("group", "interleave", "define", "start"):
            for t, c in _rng_children(el):
                self._walk(c, t, g, local, opt, rep, active)
        elif tag == "mixed":
            local.types.add(TEXT)
            for t, c in _rng_children(el):
                self._walk(c, t, g, local, opt, rep, active)
        elif tag in ("choice", "optional"):
            for t, c in _rng_children(el):
                self._walk(c, t, g, local, True, rep, active)
        elif tag == "zeroOrMore":
            for t, c in _rng_children(el):
                self._walk(c, t, g, local, True, True, active)
        elif tag == "oneOrMore":
            for t, c in _rng_children(el):
                self._walk(c, t, g, local, opt, True, active)
        elif tag in ("ref", "parentRef"):
            target = g if tag == "ref" else g.parent
            name = (el.get("name") or "").strip()
            assert target is not None  # _check_refs
            key = (id(target), name)
            if key in active:
                raise InputError(
                    self._el_file.get(el, target.file),
                    f"define '{name}' refers to itself with no element in between",
                )
            active.add(key)
            entries = target.defines[name]
            combine = {d.get("combine") for d, _f in entries} - {None}
            choice = len(entries) > 1 and combine != {"interleave"}
            for d, _f in entries:
                self._walk(d, "define", target, local, opt or choice, rep, active)
            active.discard(key)
        elif tag in ("grammar", "externalRef"):
            ng = self._nested_grammar(el, g) if tag == "grammar" else self._external(el)
            before = len(local.children)
            for s, t, alt in self._start_patterns(ng):
                self._walk(s, t, ng, local, opt or alt, rep, active)
            self._roots.update((c[2], id(c[3])) for c in local.children[before:])
        elif tag in ("text", "value", "data", "list"):
            self._values(el, tag, g, local.values, local.types, active)
        # empty, notAllowed, name classes: nothing a document holds

    def _nested_grammar(self, el: etree._Element, g: _Grammar) -> _Grammar:
        key = (el, id(g))
        ng = self._nested.get(key)
        if ng is None:
            ng = self._nested[key] = self._grammar(el, g, self._el_file.get(el, g.file))
        return ng

    def _external(self, el: etree._Element) -> _Grammar:
        file = self._el_file.get(el, "?")
        target = self._resolve(file, el.get("href"), "externalRef")
        key = (el, 0)
        eg = self._nested.get(key)
        if eg is None:
            root = self.root(target)
            if _local(root) == "grammar":
                eg = self._grammar(root, None, target)
            else:
                eg = _Grammar(None, target)
                eg.starts.append((root, target))
            self._nested[key] = eg
        return eg

    def _values(
        self,
        el: etree._Element,
        tag: str,
        g: _Grammar,
        values: set[str],
        types: set[DataType],
        active: set[tuple[int, str]],
    ) -> None:
        """The values a text or attribute pattern allows."""
        if tag == "value":
            text = el.text or ""
            vtype = el.get("type", "token")
            values.add(text if vtype == "string" else " ".join(text.split()))
        elif tag == "text":
            types.add(TEXT)
        elif tag == "data":
            params = tuple(
                (c.get("name", ""), c.text or "") for t, c in _rng_children(el) if t == "param"
            )
            types.add(DataType(self._inherited(el, "datatypeLibrary"), el.get("type", ""), params))
        elif tag in ("ref", "parentRef"):
            target = g if tag == "ref" else g.parent
            name = (el.get("name") or "").strip()
            assert target is not None
            key = (id(target), name)
            if key in active:
                raise InputError(
                    self._el_file.get(el, target.file),
                    f"define '{name}' refers to itself with no element in between",
                )
            active.add(key)
            for d, _f in target.defines[name]:
                for t, c in _rng_children(d):
                    self._values(c, t, target, values, types, active)
            active.discard(key)
        elif tag in ("choice", "group", "interleave", "optional", "zeroOrMore", "oneOrMore"):
            for t, c in _rng_children(el):
                self._values(c, t, g, values, types, active)
        elif tag == "list":
            sub: set[str] = set()
            subtypes: set[DataType] = set()
            for t, c in _rng_children(el):
                self._values(c, t, g, sub, subtypes, active)
            types.add(DataType("", "list", tuple(("item", v) for v in sorted(sub))))
        # empty, notAllowed, element (in text context: not text)

    # ---- the model
    def is_schema(self, path: str) -> bool:
        """Whether ``path`` is a schema of its own (it has a ``<start>``), rather than a
        library of defines that others include."""
        root = self.root(path)
        if _local(root) != "grammar":
            return _local(root) is not None
        return any(t == "start" for t, _ in _rng_children(root)) or any(
            t == "include" and self._includes_start(c, path, (path,))
            for t, c in _rng_children(root)
        )

    def _includes_start(self, inc: etree._Element, file: str, chain: tuple[str, ...]) -> bool:
        target = self._resolve(file, inc.get("href"), "include")
        if target in chain:
            return False
        root = self.root(target)
        return any(t == "start" for t, _ in _rng_children(root)) or any(
            t == "include" and self._includes_start(c, target, (*chain, target))
            for t, c in _rng_children(root)
        )

    def _top(self, path: str) -> _Grammar:
        root = self.root(path)
        tag = _local(root)
        if tag == "grammar":
            g = self._grammar(root, None, path)
            if not g.starts:
                raise InputError(path, "a grammar without <start> (a library of defines)")
        elif tag is not None:
            g = _Grammar(None, path)
            g.starts.append((root, path))
        else:
            raise InputError(path, f"not a RELAX NG schema (root <{root.tag}>)")
        return g

    def example(
        self, path: str, element_path: str, attr: str | None = None, value: str | None = None
    ) -> bytes | None:
        """A small document for the schema ``path``, generated from its patterns, that holds
        ``element_path`` (``domain/devices/disk``; names as in the model), with ``attr`` set
        to ``value`` on its last element (``value`` None: any accepted value); None when none
        is found. Best effort: check it with :meth:`Validator.validates`."""
        g = self._top(path)
        if self._generator is None:
            self._generator = _Generator(self)
        gen = self._generator
        gen.budget = _GEN_BUDGET
        want: _Want = (tuple(element_path.split("/")), attr, value)
        parts = [(s, t, g) for s, t, _alt in self._start_patterns(g)]
        r = gen._pick(parts, want) if len(parts) > 1 else gen._seq(parts, want)
        if r is None or not r[1] or len(r[0][1]) != 1 or not isinstance(r[0][1][0], tuple):
            return None
        return _to_xml(r[0][1][0], self._prefix_of_uri)

    def model(self, path: str) -> SchemaModel:
        """The document view of the schema file ``path``."""
        g = self._top(path)
        top = _Local()
        for s, t, alt in self._start_patterns(g):
            self._walk(s, t, g, top, alt, False, set())
        self._roots.update((c[2], id(c[3])) for c in top.children)
        files: set[str] = set()
        elements = self._expand(path, top, files)
        uris = {p: u for u, p in self._prefix_of_uri.items()}
        used = {
            part.split(":", 1)[0]
            for p, info in elements.items()
            for part in (*p.split("/"), *info.attributes)
            if ":" in part
        }
        return SchemaModel(
            file=posixpath.basename(path),
            path=path,
            roots=tuple(sorted({c[0] for c in top.children})),
            elements=elements,
            namespaces={p: uris[p] for p in sorted(used) if p in uris},
            files=(path, *sorted((files | g.files) - {path})),
        )

    def _expand(self, path: str, top: _Local, files: set[str]) -> dict[str, ElementInfo]:
        acc: dict[str, _Acc] = {}
        frames: list[_Frame] = [
            (n, ns, el, g, rep, frozenset()) for n, ns, el, g, rep, _opt in top.children
        ]
        borrowed = self._run(path, acc, frames, files, None, set())
        out: dict[str, ElementInfo] = {}
        for p in sorted(acc):
            a = acc[p]
            if id(a) in borrowed:  # a shared subtree's element, alone at its path
                info = self._infos.get(id(a))
                if info is None:
                    info = self._infos[id(a)] = _info(a)
                out[p] = info
            else:
                out[p] = _info(a)
        return out

    def _run(
        self,
        path: str,
        acc: dict[str, _Acc],
        frames: list[_Frame],
        files: set[str],
        root: tuple[etree._Element, int] | None,
        heres: set[tuple[etree._Element, int]],
    ) -> set[int]:
        """Expand ``frames`` (element patterns at their paths) into ``acc``, path by path.
        A grammar's start element (but ``root``, the subtree being built) comes from
        :meth:`_subtree`, walked once per schema set, when none of its elements is an
        ancestor here; its paths are borrowed (copied only when another variant adds to
        them). ``heres`` gathers the element patterns met. The ids of the borrowed accumulators
        still in ``acc`` are returned."""
        seen: set[tuple[str, etree._Element, int]] = set()
        borrowed: set[int] = set()
        stack = list(reversed(frames))

        def own(p: str, ns: str) -> _Acc:
            a = acc.get(p)
            if a is None:
                if len(acc) >= MAX_ELEMENTS:
                    raise InputError(path, f"more than {MAX_ELEMENTS:,} element paths")
                a = acc[p] = _Acc(ns=ns)
            elif id(a) in borrowed:
                borrowed.discard(id(a))
                a = acc[p] = _copy_acc(a)
            return a

        while stack:
            p, ns, el, g, rep, ancestors = stack.pop()
            key = (p, el, id(g))
            if key in seen:
                continue
            seen.add(key)
            here = (el, id(g))
            if (
                self.share_subtrees
                and here in self._roots
                and here != root
                and here not in self._building_sub
            ):
                sub = self._subtree(path, el, g, ns)
                if not (sub.heres & ancestors):
                    files |= sub.files
                    heres |= sub.heres
                    for rel, sa in sub.accs.items():
                        target = p + rel
                        if target not in acc:
                            if len(acc) >= MAX_ELEMENTS:
                                raise InputError(path, f"more than {MAX_ELEMENTS:,} element paths")
                            acc[target] = sa
                            borrowed.add(id(sa))
                        else:
                            _merge_acc(own(target, ns), sa)
                    if rep and not acc[p].repeatable:
                        own(p, ns).repeatable = True
                    continue
            heres.add(here)
            a = own(p, ns)
            local = self._local_of(el, g)
            files |= g.files
            a.variants += 1
            a.repeatable = a.repeatable or rep
            for n, la in local.attrs.items():
                b = a.attrs.setdefault(n, _Attr())
                b.values |= la.values
                b.types |= la.types
                b.optional = b.optional or la.optional
                b.seen += 1
            a.values |= local.values
            a.types |= local.types
            inner = ancestors | {here}
            needed = dict.fromkeys(c[0] for c in local.children if not c[5])
            for n in needed:
                a.required[n] = a.required.get(n, 0) + 1
            for n, cns, cel, cg, crep, _opt in reversed(local.children):
                a.children.add(n)
                if (cel, id(cg)) in inner:
                    continue  # recursion: listed, not entered again
                stack.append((f"{p}/{n}", cns, cel, cg, crep, inner))
        return borrowed

    def _subtree(self, path: str, el: etree._Element, g: _Grammar, ns: str) -> _Subtree:
        """The paths below (and at, ``""``) a grammar's start element, expanded on their
        own, once per schema set (libvirt's domain tree is also the snapshot's and the
        checkpoint's)."""
        here = (el, id(g))
        sub = self._subtrees.get(here)
        if sub is None:
            acc: dict[str, _Acc] = {}
            files: set[str] = set()
            self._building_sub.add(here)
            heres: set[tuple[etree._Element, int]] = set()
            try:
                self._run(path, acc, [("", ns, el, g, False, frozenset())], files, here, heres)
            finally:
                self._building_sub.discard(here)
            sub = self._subtrees[here] = _Subtree(acc, frozenset(heres), frozenset(files))
        return sub


def _components(include: etree._Element) -> tuple[frozenset[str], bool]:
    """The define names and whether a start are given inside an ``<include>`` (they
    replace the included grammar's)."""
    names: set[str] = set()
    has_start = False
    stack = [include]
    while stack:
        node = stack.pop()
        for tag, child in _rng_children(node):
            if tag == "define":
                names.add((child.get("name") or "").strip())
            elif tag == "start":
                has_start = True
            elif tag == "div":
                stack.append(child)
    return frozenset(names), has_start


def read_schemas(files: Mapping[str, bytes]) -> dict[str, SchemaModel]:
    """Every schema of a set (files with a ``<start>``), by path."""
    ss = SchemaSet(files)
    return {p: ss.model(p) for p in sorted(files) if ss.is_schema(p)}


# ---- evidence: small documents, and lxml's own validator


_SAMPLES = {
    "boolean": "true",
    "anyURI": "http://example.org/",
    "dateTime": "2000-01-01T00:00:00Z",
    "date": "2000-01-01",
    "time": "00:00:00",
    "hexBinary": "00",
    "base64Binary": "AA==",
    "language": "en",
}
_NUMERIC = re.compile(r"(?i)(int|long|short|byte|decimal|double|float|integer)$")


def sample_value(types: frozenset[DataType], values: frozenset[str] | None) -> str:
    """A value that the enumeration or one of the data types accepts (best effort)."""
    if values:
        return sorted(values)[0]
    for t in sorted(types):
        params = dict(t.params)
        if "pattern" in params:
            made = _from_pattern(params["pattern"])
            if made is not None:
                return made
        if t.name in _SAMPLES:
            return _SAMPLES[t.name]
        if _NUMERIC.search(t.name):
            low = params.get("minInclusive") or params.get("minExclusive")
            if low is not None and low.lstrip("-").isdigit():
                return str(int(low) + (1 if "minExclusive" in params else 0))
            return "1"
    return "x"


def _from_pattern(pattern: str) -> str | None:
    """The shortest string the regular expression matches, for the common forms
    (XSD patterns are anchored; their classes are Python's for these)."""
    try:
        import re._parser as sre  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # Python 3.10
        import sre_parse as sre  # type: ignore[no-redef,unused-ignore]
    try:
        tree = sre.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None

    def gen(items: object) -> str | None:
        out = []
        for op, arg in items:  # type: ignore[attr-defined]
            name = str(op)
            if name == "LITERAL":
                out.append(chr(arg))
            elif name == "ANY":
                out.append("a")
            elif name == "IN":
                first = arg[0]
                kind = str(first[0])
                if kind == "NEGATE":
                    out.append("a" if all(str(k) != "LITERAL" or v != 97 for k, v in arg) else "b")
                elif kind == "LITERAL":
                    out.append(chr(first[1]))
                elif kind == "RANGE":
                    out.append(chr(first[1][0]))
                elif kind == "CATEGORY":
                    out.append("0" if "DIGIT" in str(first[1]) else "a")
                else:
                    return None
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, _high, sub = arg
                part = gen(sub)
                if part is None:
                    return None
                out.append(part * max(low, 1 if not part else low))
            elif name == "SUBPATTERN":
                part = gen(arg[-1])
                if part is None:
                    return None
                out.append(part)
            elif name == "BRANCH":
                part = gen(arg[1][0])
                if part is None:
                    return None
                out.append(part)
            elif name == "CATEGORY":
                out.append("0" if "DIGIT" in str(arg) else "a")
            elif name == "AT":
                continue
            else:
                return None
        return "".join(out)

    made = gen(tree)
    if made is None or len(made) > 1000 or re.fullmatch(pattern, made) is None:
        return None
    return made


def example_document(
    model: SchemaModel, path: str, attr: str | None = None, value: str | None = None
) -> bytes:
    """A small document reaching ``path`` (``domain/devices/disk``): along the path each
    element with its required attributes and children (enumerations: their first value;
    data types: a sample), ``attr`` set to ``value`` on the last one. Best effort: check it
    with :func:`Validator.validates`."""
    parts = path.split("/")
    nsmap = dict(model.namespaces)
    budget = [200]

    def qname(p: str, name: str) -> str:
        if ":" in name:
            prefix, local = name.split(":", 1)
            return f"{{{nsmap[prefix]}}}{local}" if prefix in nsmap else local
        return name

    def fill(el: etree._Element, p: str, info: ElementInfo, depth: int) -> None:
        for n, a in info.attributes.items():
            if not a.optional and "*" not in n:
                el.set(qname(p, n), sample_value(a.types, a.values))
        for child in info.required:
            cp = f"{p}/{child}"
            cinfo = model.elements.get(cp)
            if cinfo is None or "*" in child or depth > 30 or budget[0] <= 0:
                continue
            budget[0] -= 1
            sub = etree.SubElement(el, qname(cp, child))
            fill(sub, cp, cinfo, depth + 1)
        if info.text_types or info.text:
            el.text = sample_value(info.text_types, info.text) if not len(el) else None

    root: etree._Element | None = None
    parent: etree._Element | None = None
    for i in range(len(parts)):
        p = "/".join(parts[: i + 1])
        info = model.elements.get(p)
        if info is None:
            raise KeyError(p)
        name = qname(p, parts[i])
        if parent is None:
            el = etree.Element(name, nsmap=dict(nsmap))
            root = el
        else:
            existing = [c for c in parent if c.tag == name]
            el = existing[0] if existing else etree.SubElement(parent, name)
            if existing:
                for c in list(el):
                    el.remove(c)
        fill(el, p, info, i)
        parent = el
    assert root is not None and parent is not None
    if attr is not None:
        parent.set(qname(path, attr), value if value is not None else "x")
    return bytes(etree.tostring(root, pretty_print=True))


# ---- evidence from the grammar itself

# A generated node: (namespace, local name, attributes ((ns, name, value), ...), children
# (nodes or text)). Immutable, so generated content is shared, never copied.
_Node = tuple[str, str, tuple[tuple[str, str, str], ...], tuple[object, ...]]
# What a pattern contributes to its element: attributes, then children and text in order.
_Items = tuple[tuple[tuple[str, str, str], ...], tuple[object, ...]]
# What a document must reach: the element names still below, the attribute and its value.
_Want = tuple[tuple[str, ...], str | None, str | None]
_EMPTY: _Items = ((), ())
_GEN_BUDGET = 100_000  # patterns generated per document (libvirt's domain: about 2,000)
_TEXT_TRIES = ("x", "1", "0", "a", "true", "yes", "on", "00:00:00:00:00:00", "1.0")


class _Generator:
    """Builds, from the patterns themselves, the smallest document (best effort) that a
    schema accepts and that holds a wanted element path (and attribute value): every
    required pattern filled, group order kept, a required ``<choice>`` taking a branch that
    leads to the wanted path (else its smallest), ``oneOrMore`` once, ``optional`` and
    ``zeroOrMore`` only on the way to the wanted path, values from their enumeration or a
    sample that lxml confirms its data type accepts."""

    def __init__(self, ss: SchemaSet) -> None:
        self.ss = ss
        self._done: dict[tuple[int, int, _Want | None], tuple[_Items, bool]] = {}
        self._building: set[tuple[int, int]] = set()
        self._samples: dict[DataType, str | None] = {}
        self.budget = _GEN_BUDGET

    def sample(self, t: DataType) -> str | None:
        if t.free:
            return "x"
        if t not in self._samples:
            params = dict(t.params)
            bounds = [params.get("minInclusive"), params.get("maxInclusive")]
            for k, step in (("minExclusive", 1), ("maxExclusive", -1)):
                if params.get(k, "").lstrip("-").isdigit():
                    bounds.append(str(int(params[k]) + step))
            tries = (sample_value(frozenset({t}), None), *(b for b in bounds if b), *_TEXT_TRIES)
            self._samples[t] = next((v for v in tries if datatype_accepts(t, v)), None)
        return self._samples[t]

    def value_of(self, el: etree._Element, tag: str, g: _Grammar) -> str | None:
        """A value the text pattern ``el`` accepts (None: none found)."""
        if tag == "value":
            return el.text or ""
        if tag == "text":
            return "x"
        if tag == "data":
            params = tuple(
                (c.get("name", ""), c.text or "") for t, c in _rng_children(el) if t == "param"
            )
            return self.sample(
                DataType(self.ss._inherited(el, "datatypeLibrary"), el.get("type", ""), params)
            )
        if tag == "list":
            parts = [self.value_of(c, t, g) for t, c in _rng_children(el)]
            return None if None in parts else " ".join(p for p in parts if p)
        if tag in ("ref", "parentRef"):
            target = g if tag == "ref" else g.parent
            assert target is not None
            for d, _f in target.defines[(el.get("name") or "").strip()]:
                v = self.value_of(d, "group", target)
                if v is not None:
                    return v
            return None
        if tag in ("choice",):
            for t, c in _rng_children(el):
                v = self.value_of(c, t, g)
                if v is not None:
                    return v
            return None
        if tag in ("group", "interleave", "oneOrMore", "define"):
            parts = [self.value_of(c, t, g) for t, c in _rng_children(el)]
            return None if None in parts else "".join(p for p in parts if p)
        if tag in ("optional", "zeroOrMore", "empty"):
            return ""
        return None  # notAllowed, element

    def _seq_value(self, content: list[tuple[str, etree._Element]], g: _Grammar) -> str | None:
        parts = [self.value_of(c, t, g) for t, c in content]
        return None if None in parts else "".join(p for p in parts if p)

    def accepts(self, el: etree._Element, tag: str, g: _Grammar, value: str) -> bool:
        values: set[str] = set()
        types: set[DataType] = set()
        self.ss._values(el, tag, g, values, types, set())
        if value in values or " ".join(value.split()) in values:
            return True
        return any(t.free or (t.name != "list" and datatype_accepts(t, value)) for t in types)

    def items(
        self, el: etree._Element, tag: str, g: _Grammar, want: _Want | None
    ) -> tuple[_Items, bool] | None:
        """What the pattern ``el`` contributes, and whether it reached ``want``; None: it
        cannot be generated here (notAllowed, or recursion)."""
        key = (id(el), id(g), want)
        hit = self._done.get(key)
        if hit is not None:
            return hit
        self.budget -= 1
        if self.budget < 0:
            return None
        out = self._items(el, tag, g, want)
        if out is not None:
            self._done[key] = out  # a success holds anywhere; a failure may be recursion
        return out

    def _seq(
        self, parts: list[tuple[etree._Element, str, _Grammar]], want: _Want | None
    ) -> tuple[_Items, bool] | None:
        attrs: list[tuple[str, str, str]] = []
        kids: list[object] = []
        got = False
        for c, t, cg in parts:
            r = self.items(c, t, cg, None if got else want)
            if r is None:
                return None
            (a, k), hit = r
            attrs.extend(a)
            kids.extend(k)
            got = got or hit
        return ((tuple(attrs), tuple(kids)), got)

    def _pick(
        self, parts: list[tuple[etree._Element, str, _Grammar]], want: _Want | None
    ) -> tuple[_Items, bool] | None:
        best: tuple[_Items, bool] | None = None
        for c, t, cg in parts:
            r = self.items(c, t, cg, want)
            if r is None:
                continue
            if want is not None and r[1]:
                return r
            if best is None or _size(r[0]) < _size(best[0]):
                best = (r[0], False)
        return best

    def _items(
        self, el: etree._Element, tag: str, g: _Grammar, want: _Want | None
    ) -> tuple[_Items, bool] | None:
        kids = [(c, t, g) for t, c in _rng_children(el)]
        if tag == "element":
            return self.element(el, g, want)
        if tag == "attribute":
            content = list(_rng_children(el))
            if el.get("name") is None:
                content = content[1:]
            names = self.ss._names(el, True)
            if not names or "*" in names[0][1]:
                return None
            ns, shown = names[0]
            local = shown.split(":", 1)[1] if ns else shown
            wanted = want is not None and not want[0] and want[1] == shown
            if (
                wanted
                and want is not None
                and want[2] is not None
                and all(self.accepts(c, t, g, want[2]) for t, c in content)
            ):
                return (((ns, local, want[2]),), ()), True
            value = self._seq_value(content, g) if content else "x"
            if value is None:
                return None
            hit = want is not None and not want[0] and want[1] == shown and want[2] is None
            return (((ns, local, value),), ()), hit
        if tag in ("group", "interleave", "define", "start", "mixed", "oneOrMore"):
            return self._seq(kids, want)
        if tag == "choice":
            return self._pick(kids, want)
        if tag in ("optional", "zeroOrMore"):
            if want is not None:
                r = self._seq(kids, want)
                if r is not None and r[1]:
                    return r
            return _EMPTY, False
        if tag in ("ref", "parentRef"):
            target = g if tag == "ref" else g.parent
            assert target is not None
            entries = target.defines[(el.get("name") or "").strip()]
            combine = {d.get("combine") for d, _f in entries} - {None}
            parts = [(d, "define", target) for d, _f in entries]
            if len(entries) > 1 and combine != {"interleave"}:
                return self._pick(parts, want)
            return self._seq(parts, want)
        if tag in ("grammar", "externalRef"):
            ng = self.ss._nested_grammar(el, g) if tag == "grammar" else self.ss._external(el)
            parts = [(s, t, ng) for s, t, _alt in self.ss._start_patterns(ng)]
            return self._pick(parts, want) if len(parts) > 1 else self._seq(parts, want)
        if tag in ("text", "value", "data", "list"):
            v = self.value_of(el, tag, g)
            if v is None:
                return None
            return ((), (v,) if v else ()), False
        if tag == "empty":
            return _EMPTY, False
        return None  # notAllowed

    def element(
        self, el: etree._Element, g: _Grammar, want: _Want | None
    ) -> tuple[_Items, bool] | None:
        names = self.ss._names(el, False)
        inner: _Want | None = None
        chosen = names[0] if names else None
        if want is not None and want[0]:
            match = [n for n in names if n[1] == want[0][0]]
            if match:
                chosen = match[0]
                inner = (want[0][1:], want[1], want[2])
        if chosen is None or "*" in chosen[1]:
            return None
        here = (id(el), id(g))
        if here in self._building and inner is None:
            return None  # recursion: take another branch
        self._building.add(here)
        try:
            content = list(_rng_children(el))
            if el.get("name") is None:
                content = content[1:]
            r = self._seq(
                [(c, t, g) for t, c in content], inner if inner and (inner[0] or inner[1]) else None
            )
        finally:
            self._building.discard(here)
        if r is None:
            return None
        (attrs, kids), hit = r
        reached = inner is not None and (hit or not (inner[0] or inner[1]))
        if inner is not None and not reached:
            return None
        ns, shown = chosen
        node: _Node = (ns, shown.split(":", 1)[1] if ns else shown, attrs, _merge_text(kids))
        return ((), (node,)), reached


def _merge_text(kids: tuple[object, ...]) -> tuple[object, ...]:
    out: list[object] = []
    for k in kids:
        if isinstance(k, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + k
        else:
            out.append(k)
    return tuple(out)


def _size(items: _Items) -> int:
    total = len(items[0])
    stack = list(items[1])
    while stack:
        k = stack.pop()
        total += 1
        if isinstance(k, tuple):
            total += len(k[2])
            stack.extend(k[3])
    return total


def _to_xml(node: _Node, prefixes: Mapping[str, str]) -> bytes:
    used: dict[str | None, str] = {}

    def build(n: _Node, parent: etree._Element | None) -> etree._Element:
        ns, local, attrs, kids = n
        tag = f"{{{ns}}}{local}" if ns else local
        if ns:
            used.setdefault(prefixes.get(ns) or derive_prefix(ns), ns)
        el = (
            etree.Element(tag, nsmap=dict(used))
            if parent is None
            else etree.SubElement(parent, tag)
        )
        for ans, aname, value in attrs:
            el.set(f"{{{ans}}}{aname}" if ans else aname, value)
        last: etree._Element | None = None
        for k in kids:
            if isinstance(k, str):
                if last is None:
                    el.text = (el.text or "") + k
                else:
                    last.tail = (last.tail or "") + k
            else:
                last = build(k, el)  # type: ignore[arg-type]
        return el

    nsmap: dict[str | None, str] = {}
    stack = [node]
    while stack:
        ns, _l, attrs, kids = stack.pop()
        for u in (ns, *(a[0] for a in attrs)):
            if u:
                nsmap.setdefault(prefixes.get(u) or derive_prefix(u), u)
        stack.extend(k for k in kids if isinstance(k, tuple))
    used.update(nsmap)
    root = build(node, None)
    if all(isinstance(k, tuple) for k in node[3]):
        etree.indent(root)
    return bytes(etree.tostring(root))


def document_holds(doc: bytes, path: str, name: str, namespaces: Mapping[str, str]) -> bool:
    """Whether an element at ``path`` of ``doc`` has the attribute or child ``name``
    (model names, ``prefix:local``; ``namespaces``: prefix -> URI)."""

    def qname(n: str) -> str:
        if ":" in n:
            prefix, local = n.split(":", 1)
            return f"{{{namespaces.get(prefix, '')}}}{local}"
        return n

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    parts = path.split("/")
    found = [etree.fromstring(doc, parser)]
    if found[0].tag != qname(parts[0]):
        return False
    for part in parts[1:]:
        found = [c for el in found for c in el if c.tag == qname(part)]
    want = qname(name)
    return any(want in el.attrib or any(c.tag == want for c in el) for el in found)


class Validator:
    """lxml's RELAX NG validator over a schema set (written to a private temporary
    directory, since libxml2 resolves includes by file name), compiled once per schema."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self._dir: str | None = None
        self._compiled: dict[str, etree.RelaxNG | None] = {}

    def _schema(self, path: str) -> etree.RelaxNG | None:
        if path not in self._compiled:
            import os
            import tempfile

            if self._dir is None:
                self._dir = tempfile.mkdtemp(prefix="elfaudit-rng-")
                for p, data in self.files.items():
                    if p.endswith(".rng") and not p.startswith(("/", "../")):
                        target = os.path.join(self._dir, p)
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        with open(target, "wb") as f:
                            f.write(data)
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            try:
                doc = etree.parse(os.path.join(self._dir, path), parser)
                self._compiled[path] = etree.RelaxNG(doc)
            except (etree.XMLSyntaxError, etree.RelaxNGParseError, OSError):
                self._compiled[path] = None
        return self._compiled[path]

    def validates(self, path: str, document: bytes) -> bool | None:
        """Whether ``document`` is valid for the schema ``path`` (None: lxml cannot compile
        that schema)."""
        schema = self._schema(path)
        if schema is None:
            return None
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        return bool(schema.validate(etree.fromstring(document, parser)))

    def close(self) -> None:
        if self._dir is not None:
            import shutil

            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Validator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def datatype_accepts(t: DataType, value: str) -> bool:
    """Whether the data type ``t`` accepts ``value``, asked of lxml's validator."""
    schema = etree.Element(f"{{{RNG}}}element", name="v", nsmap={None: RNG})
    data = etree.SubElement(schema, f"{{{RNG}}}data", type=t.name)
    if t.library:
        data.set("datatypeLibrary", t.library)
    for name, text in t.params:
        param = etree.SubElement(data, f"{{{RNG}}}param", name=name)
        param.text = text
    try:
        rng = etree.RelaxNG(schema)
    except etree.RelaxNGParseError:
        return False
    doc = etree.Element("v")
    doc.text = value
    return bool(rng.validate(doc))

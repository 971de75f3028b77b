"""``schema-*`` rules: libvirt's XML schemas (section ``xmlschema`` of the support page).

"Attributes defined on an XML element will never be removed or renamed ... the permitted
values will never be removed or renamed, only new values defined"; "Elements defined will
never be removed or renamed". Each release's ``*.rng`` files are modelled by
:mod:`elfaudit.readers.relaxng` (the way a document sees them: element paths, attributes,
values) and compared schema by schema:

* ``schema-file-removed`` / ``schema-file-added``: a ``.rng`` file (by its name under the
  schemas directory) gone or new;
* ``schema-element-removed`` / ``-added``: an element path (only the topmost one of a
  removed or added subtree; a wildcard in NEW that still accepts the name is no removal);
* ``schema-attribute-removed`` / ``-added``: ``path@attr``;
* ``schema-value-removed`` / ``-added``: ``path@attr=value`` or ``path=value`` (text), a
  value no longer accepted (NEW's data types are asked too: a value a pattern still accepts
  is no removal), or free text that became an enumeration;
* ``schema-attribute-required`` / ``schema-element-required`` (errors): ``path@attr`` /
  ``path/child`` that OLD let a document leave out (optional, or not there at all) and
  every form of the element in NEW requires: the documents without it no longer validate.

Not violations (the page's own caveats): an element that newly accepts several instances,
a childless element gaining children, new elements and attributes anywhere, an attribute
becoming optional. Findings in a hypervisor-specific namespace (``qemu:``, ``lxc:``...)
carry ``api="schema-ns:<prefix>"``, which libvirt's profile makes weak (warnings); the
library is the schema file's name and the symbol the path. Raw findings: the command weighs.

Evidence: for each removal, a small document generated from OLD's grammar itself
(:meth:`~elfaudit.readers.relaxng.SchemaSet.example`: required patterns filled in group
order, a required choice taking the branch that leads to the removed path, values their
data types accept; the model's :func:`~elfaudit.readers.relaxng.example_document` when the
grammar gives none) checked with lxml's RELAX NG validator against both releases' schemas;
when it validates against OLD and not NEW it is quoted in the finding's message, and every
removal's document and verdict are in the section's evidence (``documents``).

Facts (what the release graph keeps, issue 13): :func:`facts` gives a release's schema
models as JSON items (see the comment above it), :func:`compare_facts` judges two releases
from them with the same :class:`_Judge`; its findings are :func:`check_schemas`' less the
quoted documents (:func:`without_evidence`), which only the grammar can generate.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import posixpath
from collections.abc import Mapping

from elfaudit.base.errors import InputError
from elfaudit.model.guarantees import ReleaseFiles, SectionFacts, SectionResult, SectionStatus
from elfaudit.model.report import Finding
from elfaudit.model.schema import AttributeInfo, DataType, ElementInfo, SchemaModel, prefix_of
from elfaudit.policy.rules import Rule
from elfaudit.readers import relaxng

SECTION = "xmlschema"
MAX_EVIDENCE = 200  # documents checked with lxml per comparison (each is cheap)


def schema_files(release: ReleaseFiles) -> dict[str, bytes]:
    """The ``.rng`` files of a release, by path inside the packages."""
    return {p: d for p, d in release.files.items() if p.endswith(".rng")}


def schema_name(path: str) -> str:
    """``usr/share/libvirt/schemas/domain.rng`` -> ``domain.rng`` (a deeper file keeps its
    subdirectory)."""
    marker = "/schemas/"
    if marker in f"/{path}":
        return f"/{path}".rsplit(marker, 1)[1]
    return posixpath.basename(path)


def _api(path: str, name: str | None = None) -> str | None:
    prefix = prefix_of(path)
    if prefix is None and name is not None and ":" in name:
        prefix = name.split(":", 1)[0]
    return f"schema-ns:{prefix}" if prefix else None


class _Witness:
    """What only the files give: documents generated from OLD's grammar and validated with
    lxml against both releases' schemas (the evidence of a removal)."""

    def __init__(self, old: Mapping[str, bytes], new: Mapping[str, bytes]) -> None:
        self.old_set = relaxng.SchemaSet(old)
        self.new_set = relaxng.SchemaSet(new)
        self.old_v = relaxng.Validator(old)
        self.new_v = relaxng.Validator(new)
        self.documents: list[dict[str, object]] = []

    def evidence(
        self,
        old_m: SchemaModel,
        new_path: str,
        path: str,
        attr: str | None = None,
        value: str | None = None,
        without: str | None = None,
    ) -> str:
        """A document valid for OLD and not for NEW, as a message suffix (empty when the
        generated document does not show it). ``without``: an attribute or child the
        document's element at ``path`` must not hold (a newly required one)."""
        if len(self.documents) >= MAX_EVIDENCE:
            return ""
        doc = self.old_set.example(old_m.path, path, attr, value)
        if (
            doc is not None
            and without is not None
            and relaxng.document_holds(doc, path, without, old_m.namespaces)
        ):
            return ""
        if doc is None:  # the grammar gave none: the model's sketch, checked all the same
            try:
                doc = relaxng.example_document(old_m, path, attr, value)
            except KeyError:
                return ""
        valid_old = self.old_v.validates(old_m.path, doc)
        valid_new = self.new_v.validates(new_path, doc)
        shown = doc.decode("utf-8", "replace")
        self.documents.append(
            {
                "schema": old_m.file,
                "path": path
                + (f"@{attr}" if attr else "")
                + (f"={value}" if value else "")
                + (f" without {without}" if without else ""),
                "document": shown,
                "valid_old": valid_old,
                "valid_new": valid_new,
            }
        )
        if valid_old and valid_new is False:
            return f"{EVIDENCE}{' '.join(shown.split())}"
        return ""

    def close(self) -> None:
        self.old_v.close()
        self.new_v.close()


class _Judge:
    """OLD's schema models against NEW's; with a :class:`_Witness`, removals carry the
    evidence of a generated document (``check_schemas``), without it the findings are those
    the models alone give (``compare_facts``)."""

    def __init__(self, witness: _Witness | None = None) -> None:
        self.witness = witness
        self.findings: list[Finding] = []
        self._type_cache: dict[tuple[DataType, str], bool] = {}

    def add(self, rule: Rule, file: str, symbol: str | None, message: str, api: str | None) -> None:
        self.findings.append(rule.finding(file, None, message, symbol, api=api))

    def evidence(
        self,
        old_m: SchemaModel,
        new_path: str,
        path: str,
        attr: str | None = None,
        value: str | None = None,
        without: str | None = None,
    ) -> str:
        if self.witness is None:
            return ""
        return self.witness.evidence(old_m, new_path, path, attr, value, without)

    def accepts(self, types: frozenset[DataType], value: str) -> bool:
        """Whether one of the data types accepts ``value`` (lxml decides for XSD types)."""
        for t in types:
            if t.free:
                return True
            if t.name == "list":
                continue
            key = (t, value)
            hit = self._type_cache.get(key)
            if hit is None:
                hit = self._type_cache[key] = relaxng.datatype_accepts(t, value)
            if hit:
                return True
        return False

    # ---- one schema
    def compare(self, old_m: SchemaModel, new_m: SchemaModel) -> None:
        file = old_m.file
        old_e, new_e = old_m.elements, new_m.elements
        for path, info in old_e.items():
            parent = path.rsplit("/", 1)[0] if "/" in path else None
            if path not in new_e:
                if parent is not None and parent not in old_e:
                    continue
                if parent is not None and parent not in new_e:
                    continue  # the topmost removed element is reported
                name = path.rsplit("/", 1)[-1]
                if parent is not None and _wildcard_accepts(new_e[parent].children, name):
                    continue
                below = sum(1 for p in old_e if p.startswith(path + "/"))
                more = f" (and the {below} element paths below it)" if below else ""
                self.add(
                    Rule.SCHEMA_ELEMENT_REMOVED,
                    file,
                    path,
                    f"element {path} is no longer allowed{more}"
                    + self.evidence(old_m, new_m.path, path),
                    _api(path),
                )
                continue
            self.compare_element(old_m, new_m, path, info, new_e[path])
        for path in new_e:
            if path in old_e:
                continue
            parent = path.rsplit("/", 1)[0] if "/" in path else None
            if parent is not None and parent not in old_e:
                continue
            self.add(Rule.SCHEMA_ELEMENT_ADDED, file, path, f"element {path} is new", _api(path))

    def compare_element(
        self, old_m: SchemaModel, new_m: SchemaModel, path: str, old: ElementInfo, new: ElementInfo
    ) -> None:
        file = old_m.file
        for name, a in old.attributes.items():
            b = new.attributes.get(name)
            symbol = f"{path}@{name}"
            if b is None:
                if _wildcard_accepts(frozenset(new.attributes), name):
                    continue
                value = relaxng.sample_value(a.types, a.values)
                self.add(
                    Rule.SCHEMA_ATTRIBUTE_REMOVED,
                    file,
                    symbol,
                    f"attribute {name} of {path} is no longer allowed"
                    + self.evidence(old_m, new_m.path, path, name, value),
                    _api(path, name),
                )
                continue
            self.compare_values(old_m, new_m, path, symbol, a, b, name)
        for name, nb in new.attributes.items():
            oa = old.attributes.get(name)
            if oa is None:
                self.add(
                    Rule.SCHEMA_ATTRIBUTE_ADDED,
                    file,
                    f"{path}@{name}",
                    f"attribute {name} of {path} is new",
                    _api(path, name),
                )
            if (oa is None or oa.optional) and not nb.optional and "*" not in name:
                was = "optional" if oa is not None else "not there"
                self.add(
                    Rule.SCHEMA_ATTRIBUTE_REQUIRED,
                    file,
                    f"{path}@{name}",
                    f"attribute {name} of {path} is required (it was {was}): documents "
                    "without it are rejected"
                    + self.evidence(old_m, new_m.path, path, without=name),
                    _api(path, name),
                )
        for child in new.required:
            if child in old.required or "*" in child:
                continue
            was = "optional" if child in old.children else "not there"
            self.add(
                Rule.SCHEMA_ELEMENT_REQUIRED,
                file,
                f"{path}/{child}",
                f"element {path} requires a child {child} (it was {was}): documents without "
                "it are rejected" + self.evidence(old_m, new_m.path, path, without=child),
                _api(f"{path}/{child}"),
            )
        if old.text is not None or new.text is not None or old.text_types:
            a = AttributeInfo(old.text, old.text_types)
            b = AttributeInfo(new.text, new.text_types)
            if old.text_types or old.text:
                self.compare_values(old_m, new_m, path, path, a, b, None)

    def compare_values(
        self,
        old_m: SchemaModel,
        new_m: SchemaModel,
        path: str,
        symbol: str,
        a: AttributeInfo,
        b: AttributeInfo,
        attr: str | None,
    ) -> None:
        file = old_m.file
        what = f"attribute {attr} of {path}" if attr else f"the text of {path}"
        new_values = b.values or frozenset()
        for v in sorted(a.values or ()):
            if v in new_values or self.accepts(b.types, v):
                continue
            self.add(
                Rule.SCHEMA_VALUE_REMOVED,
                file,
                f"{symbol}={v}",
                f"{what} no longer accepts '{v}'"
                + (self.evidence(old_m, new_m.path, path, attr, v) if attr else ""),
                _api(path, attr),
            )
        old_free = any(t.free for t in a.types)
        if old_free and not any(t.free for t in b.types) and (b.values or b.types):
            kinds = ", ".join(sorted(str(t) for t in b.types)) or "none"
            self.add(
                Rule.SCHEMA_VALUE_REMOVED,
                file,
                f"{symbol}=*",
                f"{what} accepted any text, now only {len(new_values)} values and data types "
                f"({kinds})",
                _api(path, attr),
            )
        for v in sorted(new_values - (a.values or frozenset())):
            if old_free:
                continue
            self.add(
                Rule.SCHEMA_VALUE_ADDED,
                file,
                f"{symbol}={v}",
                f"{what} accepts the new value '{v}'",
                _api(path, attr),
            )


def _wildcard_accepts(names: frozenset[str], name: str) -> bool:
    if "*" in names:
        return True
    return ":" in name and f"{name.split(':', 1)[0]}:*" in names


#: What a removal's message ends with when a generated document shows it (only
#: ``check_schemas`` has the grammar to generate and validate one).
EVIDENCE = "; evidence (valid for OLD, invalid for NEW): "

#: One side's schemas by name (:func:`schema_name`): where the file is, and its model (None
#: for a file that is no schema of its own: a library of defines).
_Side = Mapping[str, tuple[str, SchemaModel | None]]


def without_evidence(finding: Finding) -> Finding:
    """``finding`` less the evidence document ``check_schemas`` quotes in a removal's
    message: what ``compare_facts`` gives for it."""
    head, sep, _ = finding.message.partition(EVIDENCE)
    return dataclasses.replace(finding, message=head) if sep else finding


def _judge_sides(judge: _Judge, old: _Side, new: _Side) -> dict[str, object]:
    """Compare schema by schema (findings into ``judge``); the evidence the models give."""
    for name in sorted(old.keys() - new.keys()):
        judge.add(Rule.SCHEMA_FILE_REMOVED, name, None, f"schema {name} is gone from NEW", None)
    for name in sorted(new.keys() - old.keys()):
        judge.add(Rule.SCHEMA_FILE_ADDED, name, None, f"schema {name} is new", None)
    compared = []
    element_paths = {"old": 0, "new": 0}
    for name in sorted(old.keys() & new.keys()):
        old_m = old[name][1]
        if old_m is None:
            continue  # a library of defines: what it gives shows in the schemas using it
        np, new_model = new[name]
        new_m = new_model or SchemaModel(name, np, (), {})
        element_paths["old"] += len(old_m.elements)
        element_paths["new"] += len(new_m.elements)
        judge.compare(old_m, new_m)
        compared.append(name)
    return {"schemas_compared": compared, "element_paths": element_paths}


def _side(
    files: Mapping[str, bytes], ss: relaxng.SchemaSet
) -> dict[str, tuple[str, SchemaModel | None]]:
    """Every schema of a release modelled (bad input anywhere is an error), by name."""
    models = {p: ss.model(p) for p in sorted(files) if ss.is_schema(p)}
    by = {schema_name(p): p for p in files}
    return {name: (p, models.get(p)) for name, p in sorted(by.items())}


def _not_checked(missing: list[str]) -> SectionResult:
    return SectionResult(
        SECTION, SectionStatus.NOT_CHECKED, reason=f"no schemas in {' and '.join(missing)}"
    )


def check_schemas(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
    """Section ``xmlschema``: OLD's schemas against NEW's. Bad schema input raises
    :class:`~elfaudit.base.errors.InputError` (one line naming the file). The findings are
    :func:`compare_facts`'s of both releases' :func:`facts`, a removal's message quoting the
    document that shows it (:func:`without_evidence` takes it off)."""
    old_files, new_files = schema_files(old), schema_files(new)
    if not old_files or not new_files:
        return _not_checked([r.label for r, f in ((old, old_files), (new, new_files)) if not f])
    witness = _Witness(old_files, new_files)
    judge = _Judge(witness)
    try:
        sides = _side(old_files, witness.old_set), _side(new_files, witness.new_set)
        shown = _judge_sides(judge, *sides)
        documents = witness.documents
        evidence: dict[str, object] = {
            "old_files": len(old_files),
            "new_files": len(new_files),
            **shown,
            "packages": sorted(
                {old.origin[p] for p in old_files if p in old.origin}
                | {new.origin[p] for p in new_files if p in new.origin}
            ),
            "documents": documents,
            "documents_confirmed": sum(
                1 for d in documents if d["valid_old"] and d["valid_new"] is False
            ),
        }
    finally:
        witness.close()
    return SectionResult(
        SECTION, SectionStatus.CHECKED, evidence=evidence, findings=tuple(judge.findings)
    )


# --------------------------------------------------------------------------- facts
#
# A release's schemas as JSON items, one per schema file and one per element path, so that
# the release graph's delta (item by item) holds what changed and no more:
#
#   "schema <name>"          {"path": "usr/share/libvirt/schemas/domain.rng", "schema": true,
#                             "roots": [...], "namespaces": {prefix: uri}, "files": [...]}
#                            (``"schema": false`` and the path only: a library of defines)
#   "element <name> <path>"  {"attributes": {name: ATTRIBUTE}, "children": [...],
#                             "required": [...], "text": [...], "text_types": [TYPE...],
#                             "namespace": uri, "repeatable": true}
#   ATTRIBUTE                {"values": [...], "types": [TYPE...], "optional": true}
#   TYPE                     [name] (the library is empty: ``text``), [name, library] or
#                            [name, library, [[param, value]...]]
#
# Members at their default (no values, no types, not optional, ...) are left out; sets are
# sorted lists; ``required`` keeps the schema's order. A data type keeps its parameters, so
# that ``compare_facts`` asks it (lxml's datatype library) whether it still accepts a value
# exactly as ``check_schemas`` does.


def facts(rf: ReleaseFiles) -> dict[str, object] | None:
    """The ``xmlschema`` facts of a release (None: it ships no ``.rng`` file). InputError
    (one line naming the file) on a bad schema."""
    files = schema_files(rf)
    if not files:
        return None
    return side_facts(_side(files, relaxng.SchemaSet(files)))


def side_facts(side: _Side) -> dict[str, object]:
    """The facts of a release's schemas, by name, as modelled (:func:`facts`; values may be
    shared between items: read-only).

    A subtree (an element path and every path below it, at least :data:`MIN_SHARED` of
    them) that a schema holds exactly as another one does (``domainsnapshot.rng`` holds
    ``domain.rng``'s whole ``domain``) is one item, ``{"as": "<schema> <path>"}``: the
    schemas are taken smallest first and a subtree is given as the first one met (which may
    hold such items itself: they are expanded first). So an element changed in
    ``domain.rng`` is one item changed, not one per schema embedding it."""
    out: dict[str, object] = {}
    models = {name: model for name, (_, model) in side.items() if model is not None}
    donors: dict[bytes, tuple[str, str]] = {}
    # The reader shares an ElementInfo between the schemas holding one subtree: each is
    # encoded (and its text written for the signatures) once.
    encoded: dict[int, tuple[ElementInfo, dict[str, object], bytes]] = {}
    for name in sorted(models, key=lambda n: (len(models[n].elements), n)):
        elements: dict[str, dict[str, object]] = {}
        texts: dict[str, bytes] = {}
        for p, info in models[name].elements.items():
            hit = encoded.get(id(info))
            if hit is None:
                ef = _element_facts(info)
                hit = encoded[id(info)] = (info, ef, json.dumps(ef, sort_keys=True).encode())
            elements[p], texts[p] = hit[1], hit[2]
        sig, whole = _subtrees(texts)
        refs: set[str] = set()
        for epath in sorted(elements, key=lambda x: (x.count("/"), x)):
            if any(a in refs for a in _ancestors(epath)):
                continue
            donor = donors.get(sig[epath]) if epath in whole else None
            if donor is not None:
                out[f"element {name} {epath}"] = {"as": f"{donor[0]} {donor[1]}"}
                refs.add(epath)
            else:
                out[f"element {name} {epath}"] = elements[epath]
        for epath in sorted(whole):
            donors.setdefault(sig[epath], (name, epath))
    for name, (path, model) in side.items():
        if model is None:
            out[f"schema {name}"] = {"path": path, "schema": False}
            continue
        out[f"schema {name}"] = {
            "path": path,
            "schema": True,
            "roots": list(model.roots),
            "namespaces": dict(model.namespaces),
            "files": list(model.files),
        }
    return {k: out[k] for k in sorted(out)}


#: Element paths a subtree must hold to be given as another schema's (a leaf is its own item).
MIN_SHARED = 2


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _subtrees(elements: Mapping[str, bytes]) -> tuple[dict[str, bytes], set[str]]:
    """Each path's subtree signature (its facts' text and its children's, by name), and the paths
    whose subtree is whole (every path below it hangs from it path by path) and holds at
    least :data:`MIN_SHARED` paths."""
    kids: dict[str, list[str]] = {}
    for p in elements:
        parent = p.rsplit("/", 1)[0] if "/" in p else None
        if parent is not None and parent in elements:
            kids.setdefault(parent, []).append(p)
    ordered = sorted(elements)
    sig: dict[str, bytes] = {}
    size: dict[str, int] = {}
    for p in sorted(elements, key=lambda x: -x.count("/")):
        h = hashlib.blake2b(elements[p], digest_size=20)
        n = 1
        for c in sorted(kids.get(p, ())):
            h.update(b"\0" + c.rsplit("/", 1)[1].encode() + b"\0" + sig[c])
            n += size[c]
        sig[p], size[p] = h.digest(), n
    whole = set()
    for p in ordered:
        below = bisect.bisect_left(ordered, p + "0") - bisect.bisect_left(ordered, p + "/")
        if size[p] >= MIN_SHARED and size[p] == below + 1:
            whole.add(p)
    return sig, whole


#: The datatype library nearly every ``<data>`` of libvirt's schemas names, ``xsd`` in facts.
XSD = "http://www.w3.org/2001/XMLSchema-datatypes"


def _library_facts(library: str) -> str:
    """``xsd`` for :data:`XSD`; another library without ``:`` (no URI, so never ``xsd``'s
    own spelling) is marked with a leading ``=``."""
    if library == XSD:
        return "xsd"
    return f"={library}" if library and ":" not in library else library


def _library_of(text: str) -> str:
    if text == "xsd":
        return XSD
    return text[1:] if text.startswith("=") and ":" not in text else text


def _type_facts(t: DataType) -> list[object]:
    library = _library_facts(t.library)
    if t.params:
        return [t.name, library, [[k, v] for k, v in t.params]]
    return [t.name, library] if library else [t.name]


def _types_facts(types: frozenset[DataType]) -> list[object]:
    return [_type_facts(t) for t in sorted(types)]


def _element_facts(e: ElementInfo) -> dict[str, object]:
    out: dict[str, object] = {}
    if e.attributes:
        attrs: dict[str, object] = {}
        for name, a in sorted(e.attributes.items()):
            one: dict[str, object] = {}
            if a.values is not None:
                one["values"] = sorted(a.values)
            if a.types:
                one["types"] = _types_facts(a.types)
            if a.optional:
                one["optional"] = True
            attrs[name] = one
        out["attributes"] = attrs
    if e.children:
        out["children"] = sorted(e.children)
    if e.required:
        out["required"] = list(e.required)
    if e.text is not None:
        out["text"] = sorted(e.text)
    if e.text_types:
        out["text_types"] = _types_facts(e.text_types)
    if e.namespace:
        out["namespace"] = e.namespace
    if e.repeatable:
        out["repeatable"] = True
    return out


class _BadFacts(Exception):
    pass


def _strs(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _BadFacts
    return value


def _dict(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _BadFacts
    return value


def _type_of(value: object) -> DataType:
    if not isinstance(value, list) or not 1 <= len(value) <= 3:
        raise _BadFacts
    name, library = value[0], value[1] if len(value) > 1 else ""
    if not isinstance(name, str) or not isinstance(library, str):
        raise _BadFacts
    params: list[tuple[str, str]] = []
    if len(value) == 3:
        raw = value[2]
        if not isinstance(raw, list):
            raise _BadFacts
        for kv in raw:
            k, v = _strs(kv)
            params.append((k, v))
    return DataType(_library_of(library), name, tuple(params))


def _types_of(value: object) -> frozenset[DataType]:
    if not isinstance(value, list):
        raise _BadFacts
    return frozenset(_type_of(t) for t in value)


def _element_of(value: object) -> ElementInfo:
    d = _dict(value)
    attrs: dict[str, AttributeInfo] = {}
    for name, a in sorted(_dict(d.get("attributes", {})).items()):
        one = _dict(a)
        values = one.get("values")
        attrs[name] = AttributeInfo(
            values=None if values is None else frozenset(_strs(values)),
            types=_types_of(one.get("types", [])),
            optional=one.get("optional", False) is True,
        )
    text = d.get("text")
    namespace = d.get("namespace", "")
    if not isinstance(namespace, str):
        raise _BadFacts
    return ElementInfo(
        attributes=attrs,
        children=frozenset(_strs(d.get("children", []))),
        required=tuple(_strs(d.get("required", []))),
        text=None if text is None else frozenset(_strs(text)),
        text_types=_types_of(d.get("text_types", [])),
        namespace=namespace,
        repeatable=d.get("repeatable", False) is True,
    )


def side_of(facts: SectionFacts, label: str = "facts") -> dict[str, tuple[str, SchemaModel | None]]:
    """A release's schemas by name again from its :func:`facts`: the models equal those
    :func:`check_schemas` builds from the files. InputError naming ``label`` when an item is
    not what :func:`facts` writes (or would rebuild more than ``MAX_ELEMENTS`` paths)."""
    heads: dict[str, Mapping[str, object]] = {}
    elements: dict[str, dict[str, ElementInfo]] = {}
    refs: list[tuple[str, str, str, str]] = []
    key = ""
    try:
        for key, value in facts.items():
            kind, _, rest = key.partition(" ")
            if kind == "schema" and rest:
                heads[rest] = _dict(value)
            elif kind == "element" and " " in rest:
                name, epath = rest.rsplit(" ", 1)
                ref = _dict(value).get("as")
                if ref is None:
                    elements.setdefault(name, {})[epath] = _element_of(value)
                elif isinstance(ref, str) and " " in ref:
                    refs.append((key, name, epath, ref))
                else:
                    raise _BadFacts
            else:
                raise _BadFacts
        _expand(elements, refs)
        out: dict[str, tuple[str, SchemaModel | None]] = {}
        for name, head in sorted(heads.items()):
            key = f"schema {name}"
            path = head.get("path")
            if not isinstance(path, str):
                raise _BadFacts
            if head.get("schema") is not True:
                out[name] = (path, None)
                continue
            namespaces = _dict(head.get("namespaces", {}))
            els = elements.pop(name, {})
            out[name] = (
                path,
                SchemaModel(
                    file=posixpath.basename(path),
                    path=path,
                    roots=tuple(_strs(head.get("roots", []))),
                    elements={p: els[p] for p in sorted(els)},
                    namespaces={p: str(namespaces[p]) for p in sorted(namespaces)},
                    files=tuple(_strs(head.get("files", []))),
                ),
            )
        if elements:
            key = f"element {min(elements)} ..."
            raise _BadFacts
    except (_BadFacts, ValueError):
        raise InputError(f"{label} (xmlschema facts)", f"bad item {key[:80]!r}") from None
    return out


def _expand(
    elements: dict[str, dict[str, ElementInfo]], refs: list[tuple[str, str, str, str]]
) -> None:
    """Copy each ``{"as": ...}`` item's subtree into its schema, a schema once every schema
    it copies from is complete (a cycle or a missing source is bad facts)."""
    pending: dict[str, list[tuple[str, str, str, str]]] = {}
    for r in refs:
        pending.setdefault(r[1], []).append(r)
    ordered: dict[str, list[str]] = {}  # a complete schema's paths, sorted
    while pending:
        ready = [
            n for n, rs in pending.items() if all(r[3].rsplit(" ", 1)[0] not in pending for r in rs)
        ]
        if not ready:
            raise _BadFacts  # the schemas copy from each other in a cycle
        for name in sorted(ready):
            mine = elements.setdefault(name, {})
            for _key, _, epath, ref in sorted(pending.pop(name)):
                donor, dpath = ref.rsplit(" ", 1)
                source = elements.get(donor, {})
                if dpath not in source:
                    raise _BadFacts
                keys = ordered.get(donor)
                if keys is None:
                    keys = ordered[donor] = sorted(source)
                lo = bisect.bisect_left(keys, dpath + "/")
                below = keys[lo : bisect.bisect_left(keys, dpath + "0", lo)]
                if len(mine) + len(below) + 1 > relaxng.MAX_ELEMENTS:
                    raise _BadFacts
                for p in (dpath, *below):
                    target = epath + p[len(dpath) :]
                    if target in mine:
                        raise _BadFacts
                    mine[target] = source[p]


def compare_facts(
    old: SectionFacts | None,
    new: SectionFacts | None,
    old_label: str = "OLD",
    new_label: str = "NEW",
) -> SectionResult:
    """The ``xmlschema`` verdict from both releases' :func:`facts`: the findings of
    :func:`check_schemas` on their files, less the generated documents only the grammar
    gives (:func:`without_evidence`)."""
    if not old or not new:
        return _not_checked([label for label, f in ((old_label, old), (new_label, new)) if not f])
    judge = _Judge()
    shown = _judge_sides(judge, side_of(old, old_label), side_of(new, new_label))
    return SectionResult(
        SECTION, SectionStatus.CHECKED, evidence=shown, findings=tuple(judge.findings)
    )

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
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from elfaudit.model.guarantees import ReleaseFiles, SectionResult, SectionStatus
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


class _Judge:
    def __init__(self, old: Mapping[str, bytes], new: Mapping[str, bytes]) -> None:
        self.old_set = relaxng.SchemaSet(old)
        self.new_set = relaxng.SchemaSet(new)
        self.old_v = relaxng.Validator(old)
        self.new_v = relaxng.Validator(new)
        self.findings: list[Finding] = []
        self.documents: list[dict[str, object]] = []
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
            return f"; evidence (valid for OLD, invalid for NEW): {' '.join(shown.split())}"
        return ""

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

    def close(self) -> None:
        self.old_v.close()
        self.new_v.close()


def _wildcard_accepts(names: frozenset[str], name: str) -> bool:
    if "*" in names:
        return True
    return ":" in name and f"{name.split(':', 1)[0]}:*" in names


def check_schemas(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
    """Section ``xmlschema``: OLD's schemas against NEW's. Bad schema input raises
    :class:`~elfaudit.base.errors.InputError` (one line naming the file)."""
    old_files, new_files = schema_files(old), schema_files(new)
    if not old_files or not new_files:
        missing = [r.label for r, f in ((old, old_files), (new, new_files)) if not f]
        return SectionResult(
            SECTION,
            SectionStatus.NOT_CHECKED,
            reason=f"no schemas in {' and '.join(missing)}",
        )
    judge = _Judge(old_files, new_files)
    try:
        old_by = {schema_name(p): p for p in old_files}
        new_by = {schema_name(p): p for p in new_files}
        for name in sorted(old_by.keys() - new_by.keys()):
            judge.add(Rule.SCHEMA_FILE_REMOVED, name, None, f"schema {name} is gone from NEW", None)
        for name in sorted(new_by.keys() - old_by.keys()):
            judge.add(Rule.SCHEMA_FILE_ADDED, name, None, f"schema {name} is new", None)
        # Every schema of both releases is modelled: bad input anywhere is an error.
        old_models = {
            p: judge.old_set.model(p) for p in sorted(old_files) if judge.old_set.is_schema(p)
        }
        new_models = {
            p: judge.new_set.model(p) for p in sorted(new_files) if judge.new_set.is_schema(p)
        }
        compared = []
        element_paths = {"old": 0, "new": 0}
        for name in sorted(old_by.keys() & new_by.keys()):
            op, np = old_by[name], new_by[name]
            if op not in old_models:
                continue  # a library of defines: what it gives shows in the schemas using it
            old_m = old_models[op]
            new_m = new_models.get(np) or SchemaModel(name, np, (), {})
            element_paths["old"] += len(old_m.elements)
            element_paths["new"] += len(new_m.elements)
            judge.compare(old_m, new_m)
            compared.append(name)
        documents = judge.documents
        evidence: dict[str, object] = {
            "old_files": len(old_files),
            "new_files": len(new_files),
            "schemas_compared": compared,
            "element_paths": element_paths,
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
        judge.close()
    return SectionResult(
        SECTION, SectionStatus.CHECKED, evidence=evidence, findings=tuple(judge.findings)
    )

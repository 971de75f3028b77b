"""``api-*`` rules: what libvirt's shipped API description promises.

The description is read by :mod:`elfaudit.readers.api_xml`.

Two checks:

* :func:`compare_api` — one release's description against an earlier one's, enforcing
  libvirt's support guarantees for functions, structs, unions, typedefs, enums, constants
  and the "since" version of every item;
* :func:`check_api_against_library` — a description against the library built with it:
  every documented function exported, under the node its version names, and nothing
  public exported without documentation.

Findings are raw and name their API module (``Finding.api``, the description's name):
hypervisor-specific descriptions (``libvirt-qemu``, ``libvirt-lxc``) "are not guaranteed to
be preserved forever", which the libvirt profile says as data (``"apis"``) and the weighing
pass (:mod:`elfaudit.policy.weigh`) applies: errors there become warnings.

Exemptions, each from the guarantees text or from what changes by design:

* an enum value whose name ends in ``_LAST`` may change its number ("Every enumeration
  will have a '_LAST' value which ... may increase with new releases");
* names starting with an underscore may be renamed (struct/union/enum tags): a struct's
  ``struct _virX`` tag may change, and items (typedefs, macros such as
  ``#define _virBlkioParameter _virTypedParameter``) named ``_*`` may go away or change;
* :data:`VERSION_MACROS` change value every release by design;
* only object-like macros have a value compared: a function-like macro's expansion is
  not a constant (and apibuild writes ``raw=''`` for multi-line bodies); C comments and
  blank space in a ``raw`` value are ignored;
* an enum value whose ``type`` (owning enumeration) changes is not reported: the name and
  number are the ABI; a removed enumeration typedef is reported by itself;
* argument names are not part of a signature.

What each kind of item falls under:

============== ============================== ==================================
item           gone                           changed
============== ============================== ==================================
function       api-function-removed           api-function-signature-changed
variable       api-function-removed           api-function-signature-changed (type)
functype       api-typedef-removed            api-function-signature-changed
struct         api-typedef-removed            api-struct-changed / api-union-changed
typedef        api-typedef-removed            api-typedef-removed (underlying type)
enum value     api-enum-removed               api-enum-value-changed
macro          api-macro-removed              api-macro-value-changed
any            \\-                             api-version-changed
============== ============================== ==================================

Additions are ``api-added`` info findings: one per added function, variable, functype,
struct and typedef; enum values and macros (dozens per release) are summarised in one
finding per kind, with ``symbol=None`` and a count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from elfaudit.base.errors import InputError
from elfaudit.model.abi import LibraryABI
from elfaudit.model.guarantees import (
    LIBRARIES,
    ReleaseFiles,
    SectionFacts,
    SectionResult,
    SectionStatus,
)
from elfaudit.model.report import Finding
from elfaudit.model.script import Location
from elfaudit.policy.rules import Rule
from elfaudit.readers.api_xml import (
    ApiDescription,
    ApiEnumValue,
    ApiField,
    ApiFunction,
    ApiItem,
    ApiMacro,
    ApiStruct,
    ApiTypedef,
    ApiVariable,
    normalize_type,
)

__all__ = [
    "VERSION_MACROS",
    "check_api_against_library",
    "compare_api",
]

#: Macros whose value is the release itself and changes every release by design.
#: ``LIBVIR_VERSION_NUMBER`` (libvirt-common.h, ``major * 1000000 + minor * 1000 + micro``)
#: is the only one in libvirt 7.0.0 .. 12.8.0: the only object-like macro whose value
#: changed between those releases.
VERSION_MACROS = frozenset({"LIBVIR_VERSION_NUMBER"})

_PREVIEW = 8  # names listed in a summary message before "and N more"
_COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_SPACE_RE = re.compile(r"\s+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True, slots=True)
class _Ctx:
    library: str
    api: str  # the description's name, e.g. libvirt-qemu
    out: list[Finding]

    def add(
        self,
        rule: Rule,
        symbol: str | None,
        message: str,
        *,
        version: str | None = None,
        location: Location | None = None,
        hidden: bool = False,
    ) -> None:
        message = _CONTROL_RE.sub(" ", message)
        self.out.append(
            rule.finding(
                self.library,
                version,
                message,
                symbol,
                location=location,
                api=self.api,
                hidden=hidden,
            )
        )


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.rule, f.symbol or "", f.message))


def _by_name(items: Iterable[ApiItem]) -> dict[str, ApiItem]:
    return {i.name: i for i in items}


def _exempt_name(name: str) -> bool:
    """Names starting with an underscore may be renamed (struct/union/enum tags)."""
    return name.startswith("_")


# --------------------------------------------------------------------------- release to release


def compare_api(old: ApiDescription, new: ApiDescription) -> list[Finding]:
    """Every change from ``old`` to ``new`` that libvirt's guarantees forbid, plus additions.

    Raises :class:`InputError` when the two files describe different libraries.
    """
    if old.name != new.name:
        raise InputError(
            new.path, f"describes the {new.name} API, but {old.path} describes {old.name}"
        )
    ctx = _Ctx(new.library, new.name, [])
    _compare_functions(old.functions, new.functions, ctx, kind="function")
    _compare_functions(old.functypes, new.functypes, ctx, kind="functype")
    _compare_variables(old.variables, new.variables, ctx)
    _compare_structs(old.structs, new.structs, ctx)
    _compare_typedefs(old.typedefs, new.typedefs, ctx)
    _compare_enums(old.enums, new.enums, ctx)
    _compare_macros(old.macros, new.macros, ctx)
    _compare_versions(old, new, ctx)
    return _sorted(ctx.out)


def _added(ctx: _Ctx, kind: str, item: ApiItem) -> None:
    since = f" (since {item.version})" if item.version else ""
    ctx.add(
        Rule.API_ADDED,
        item.name,
        f"{kind} {item.name} was added{since}",
        version=item.version,
        location=item.location,
    )


def _summary(ctx: _Ctx, kind: str, plural: str, items: list[ApiItem], extra: str = "") -> None:
    if not items:
        return
    names = [i.name for i in items]
    shown = ", ".join(names[:_PREVIEW])
    more = f" and {len(names) - _PREVIEW} more" if len(names) > _PREVIEW else ""
    noun = kind if len(names) == 1 else plural
    ctx.add(
        Rule.API_ADDED,
        None,
        f"{len(names)} {noun} added{extra}: {shown}{more}",
        location=items[0].location,
    )


def _signature(fn: ApiFunction) -> str:
    args = ", ".join(a.type for a in fn.args) or "void"
    return f"{fn.returns or '?'} ({args})"


def _signature_changes(old: ApiFunction, new: ApiFunction) -> list[str]:
    changes = []
    if (
        old.returns is not None
        and new.returns is not None
        and normalize_type(old.returns) != normalize_type(new.returns)
    ):
        changes.append(f"return type '{old.returns}' is now '{new.returns}'")
    if len(old.args) != len(new.args):
        changes.append(f"{len(old.args)} parameters are now {len(new.args)}")
    for i, (a, b) in enumerate(zip(old.args, new.args, strict=False), start=1):
        if normalize_type(a.type) != normalize_type(b.type):
            changes.append(f"parameter {i} ({a.name or '?'}) '{a.type}' is now '{b.type}'")
    return changes


_Item = TypeVar("_Item", ApiFunction, ApiVariable, ApiStruct, ApiTypedef)


def _matched(
    old_items: tuple[_Item, ...],
    new_items: tuple[_Item, ...],
    ctx: _Ctx,
    what: str,
    removed: Rule,
    *,
    exempt: Callable[[str], bool] = lambda name: False,
) -> Iterator[tuple[_Item, _Item]]:
    """The walk every kind shares: report what went (unless ``exempt``), yield the pairs
    present on both sides for the caller to compare, then report what was added."""
    new_by = {i.name: i for i in new_items}
    old_names = {i.name for i in old_items}
    for o in old_items:
        n = new_by.get(o.name)
        if n is not None:
            yield o, n
        elif not exempt(o.name):
            ctx.add(
                removed,
                o.name,
                f"{what} {o.name} was removed",
                version=o.version,
                location=o.location,
            )
    for n in new_items:
        if n.name not in old_names:
            _added(ctx, what, n)


def _compare_functions(
    old_items: tuple[ApiFunction, ...], new_items: tuple[ApiFunction, ...], ctx: _Ctx, *, kind: str
) -> None:
    if kind == "function":
        pairs = _matched(old_items, new_items, ctx, "function", Rule.API_FUNCTION_REMOVED)
    else:
        pairs = _matched(
            old_items,
            new_items,
            ctx,
            "callback type",
            Rule.API_TYPEDEF_REMOVED,
            exempt=_exempt_name,
        )
    what = "function" if kind == "function" else "callback type"
    for o, n in pairs:
        changes = _signature_changes(o, n)
        if changes:
            ctx.add(
                Rule.API_FUNCTION_SIGNATURE_CHANGED,
                o.name,
                f"{what} {o.name}: {'; '.join(changes)} (was {_signature(o)}, now {_signature(n)})",
                version=n.version,
                location=n.location,
            )


def _compare_variables(
    old_items: tuple[ApiVariable, ...], new_items: tuple[ApiVariable, ...], ctx: _Ctx
) -> None:
    what = "exported variable"
    for o, n in _matched(old_items, new_items, ctx, what, Rule.API_FUNCTION_REMOVED):
        if normalize_type(o.type) != normalize_type(n.type):
            ctx.add(
                Rule.API_FUNCTION_SIGNATURE_CHANGED,
                o.name,
                f"{what} {o.name}: type '{o.type}' is now '{n.type}'",
                version=n.version,
                location=n.location,
            )


def _field_text(f: ApiField) -> str:
    return f"{f.type} {f.name}"


def _compare_structs(
    old_items: tuple[ApiStruct, ...], new_items: tuple[ApiStruct, ...], ctx: _Ctx
) -> None:
    for o, n in _matched(
        old_items, new_items, ctx, "struct type", Rule.API_TYPEDEF_REMOVED, exempt=_exempt_name
    ):
        _compare_struct(o, n, ctx)


def _tag_name(tag: str) -> str:
    parts = tag.split()
    return parts[-1] if parts else ""


def _compare_struct(o: ApiStruct, n: ApiStruct, ctx: _Ctx) -> None:
    changes: list[str] = []
    if o.tag and n.tag and o.tag != n.tag and not _exempt_name(_tag_name(o.tag)):
        changes.append(f"tag '{o.tag}' is now '{n.tag}'")
    if o.fields is not None:
        if n.fields is None:
            changes.append(f"its {len(o.fields)} fields are no longer described")
        else:
            changes.extend(_field_changes(o.fields, n.fields))
            _compare_unions(o, n, ctx)
    if changes:
        ctx.add(
            Rule.API_STRUCT_CHANGED,
            o.name,
            f"struct {o.name}: {'; '.join(changes)}",
            version=n.version,
            location=n.location,
        )


def _field_changes(old: tuple[ApiField, ...], new: tuple[ApiField, ...]) -> list[str]:
    """Positional: layout is what matters, so a field moved is a field changed."""
    changes = []
    for i, (a, b) in enumerate(zip(old, new, strict=False), start=1):
        if a.name != b.name or normalize_type(a.type) != normalize_type(b.type):
            changes.append(f"field {i} '{_field_text(a)}' is now '{_field_text(b)}'")
    changes.extend(f"field '{_field_text(b)}' was added" for b in new[len(old) :])
    changes.extend(f"field '{_field_text(a)}' was removed" for a in old[len(new) :])
    return changes


def _compare_unions(o: ApiStruct, n: ApiStruct, ctx: _Ctx) -> None:
    """Union choices nested in struct fields: removed or changed choices break, added don't."""
    new_fields = {f.name: f for f in n.fields or ()}
    for of in o.fields or ():
        nf = new_fields.get(of.name)
        if of.union is None or nf is None or nf.union is None:
            continue  # a field gone or no longer a union is already a struct change
        choices = {c.name: c for c in nf.union}
        changes = []
        for c in of.union:
            d = choices.get(c.name)
            if d is None:
                changes.append(f"choice '{_field_text(c)}' was removed")
            elif normalize_type(c.type) != normalize_type(d.type):
                changes.append(f"choice '{_field_text(c)}' is now '{_field_text(d)}'")
        if changes:
            ctx.add(
                Rule.API_UNION_CHANGED,
                f"{o.name}.{of.name}",
                f"union {o.name}.{of.name}: {'; '.join(changes)}",
                version=n.version,
                location=n.location,
            )


def _compare_typedefs(
    old_items: tuple[ApiTypedef, ...], new_items: tuple[ApiTypedef, ...], ctx: _Ctx
) -> None:
    pairs = _matched(
        old_items, new_items, ctx, "typedef", Rule.API_TYPEDEF_REMOVED, exempt=_exempt_name
    )
    for o, n in pairs:
        if not _exempt_name(o.name) and normalize_type(o.type) != normalize_type(n.type):
            ctx.add(
                Rule.API_TYPEDEF_REMOVED,
                o.name,
                f"typedef {o.name} '{o.type}' is now '{n.type}': the old type is gone",
                version=n.version,
                location=n.location,
            )


def _compare_enums(
    old_items: tuple[ApiEnumValue, ...], new_items: tuple[ApiEnumValue, ...], ctx: _Ctx
) -> None:
    new_by = {e.name: e for e in new_items}
    old_names = {e.name for e in old_items}
    for o in old_items:
        n = new_by.get(o.name)
        if n is None:
            if not _exempt_name(o.name):
                ctx.add(
                    Rule.API_ENUM_REMOVED,
                    o.name,
                    f"enum value {o.name} ({o.enum}) was removed or renamed",
                    version=o.version,
                    location=o.location,
                )
            continue
        if o.name.endswith("_LAST"):
            continue
        if o.number is not None and n.number is not None:
            changed = o.number != n.number
        else:
            changed = _SPACE_RE.sub("", o.value) != _SPACE_RE.sub("", n.value)
        if changed:
            ctx.add(
                Rule.API_ENUM_VALUE_CHANGED,
                o.name,
                f"enum value {o.name} ({n.enum}) was {_enum_text(o)}, now {_enum_text(n)}",
                version=n.version,
                location=n.location,
            )
    added: list[ApiItem] = [n for n in new_items if n.name not in old_names]
    enums = {e.enum for e in added if isinstance(e, ApiEnumValue)}
    _summary(ctx, "enum value", "enum values", added, f" to {len(enums)} enumerations")


def _enum_text(e: ApiEnumValue) -> str:
    if e.number is None or e.value == str(e.number):
        return e.value
    return f"{e.value} = {e.number}"


def _macro_value(m: ApiMacro) -> str | None:
    if m.value is None:
        return None
    if m.is_string:
        return '"' + m.value + '"'
    return _SPACE_RE.sub(" ", _COMMENT_RE.sub(" ", m.value)).strip()


def _compare_macros(
    old_items: tuple[ApiMacro, ...], new_items: tuple[ApiMacro, ...], ctx: _Ctx
) -> None:
    new_by = {m.name: m for m in new_items}
    old_names = {m.name for m in old_items}
    for o in old_items:
        if _exempt_name(o.name):
            continue
        n = new_by.get(o.name)
        if n is None:
            ctx.add(
                Rule.API_MACRO_REMOVED,
                o.name,
                f"macro {o.name} was removed",
                version=o.version,
                location=o.location,
            )
            continue
        if o.params is not None or n.params is not None or o.name in VERSION_MACROS:
            continue
        ov, nv = _macro_value(o), _macro_value(n)
        if ov is not None and nv is not None and ov != nv:
            ctx.add(
                Rule.API_MACRO_VALUE_CHANGED,
                o.name,
                f"macro {o.name} was {ov}, now {nv}",
                version=n.version,
                location=n.location,
            )
    added: list[ApiItem] = [n for n in new_items if n.name not in old_names]
    _summary(ctx, "macro", "macros", added)


_KINDS: tuple[tuple[str, str], ...] = (
    ("functions", "function"),
    ("functypes", "callback type"),
    ("variables", "exported variable"),
    ("structs", "struct type"),
    ("typedefs", "typedef"),
    ("enums", "enum value"),
    ("macros", "macro"),
)


def _compare_versions(old: ApiDescription, new: ApiDescription, ctx: _Ctx) -> None:
    for attr, kind in _KINDS:
        new_by: Mapping[str, ApiItem] = _by_name(getattr(new, attr))
        for o in getattr(old, attr):
            n = new_by.get(o.name)
            if n is None or o.version is None or n.version is None or o.version == n.version:
                continue
            ctx.add(
                Rule.API_VERSION_CHANGED,
                o.name,
                f"{kind} {o.name} was documented as introduced in {o.version}, now in {n.version}",
                version=n.version,
                location=n.location,
            )


# --------------------------------------------------------------------------- description vs binary


def check_api_against_library(api: ApiDescription, abi: LibraryABI) -> list[Finding]:
    """The description against the library built with it.

    * api-not-exported: a documented function or variable the library does not export;
    * api-node-mismatch: exported, but not under ``<PREFIX><version>`` (``LIBVIRT_1.2.3``,
      ``LIBVIRT_QEMU_1.2.3``...) where ``version`` is the item's documented version
      (checked only when the description carries versions);
    * api-undocumented: an exported symbol, not an ABS version marker, that the description
      does not list as function or variable (in a private node: exempt when weighed).

    Raises :class:`InputError` when the library is not the one the description documents.
    """
    if abi.soname is not None and abi.soname != api.library:
        raise InputError(abi.path, f"is {abi.soname}, but {api.path} documents {api.library}")
    ctx = _Ctx(api.library, api.name, [])
    exported: dict[str, list[str | None]] = {}
    for s in abi.symbols:
        if s.default:
            exported.setdefault(s.name, []).append(s.version)
    documented: list[ApiFunction | ApiVariable] = [*api.functions, *api.variables]
    for item in documented:
        kind = "function" if isinstance(item, ApiFunction) else "variable"
        nodes = exported.get(item.name)
        if nodes is None:
            ctx.add(
                Rule.API_NOT_EXPORTED,
                item.name,
                f"documented {kind} {item.name} is not exported by {abi.name}",
                version=item.version,
                location=item.location,
            )
            continue
        if item.version is None:
            continue
        expected = api.node_prefix + item.version
        if expected not in nodes:
            got = ", ".join(n or "no version" for n in nodes)
            ctx.add(
                Rule.API_NODE_MISMATCH,
                item.name,
                f"{kind} {item.name} is documented as introduced in {item.version} "
                f"but exported as {item.name}@@{got}, not @@{expected}",
                version=item.version,
                location=item.location,
            )
    names = {i.name for i in documented}
    markers = set(abi.markers) | set(abi.node_names)
    for s in abi.symbols:
        if s.name in names or s.name in markers:
            continue
        ctx.add(
            Rule.API_UNDOCUMENTED,
            s.name,
            f"{s.label} is exported but {api.path} does not describe it",
            version=s.version,
            hidden=not s.default,
        )
    return _sorted(ctx.out)


# --------------------------------------------------------------------------- facts


def _api_facts(rf: ReleaseFiles, section: str) -> dict[str, object] | None:
    """The API descriptions of the section's libraries in one release as facts:
    ``"<api name> <item>"`` -> :func:`~elfaudit.readers.api_xml.description_facts`'s
    value, less the items' line numbers (``lines <kind>``: three quarters of what changes
    between releases, and only where an old finding points in the old file); None when
    the release ships none of them."""
    from elfaudit.readers.api_xml import api_descriptions, description_facts

    out: dict[str, object] = {}
    for d in api_descriptions(rf):
        if d.library in LIBRARIES[section]:
            out.update(
                (f"{d.name} {k}", v)
                for k, v in description_facts(d).items()
                if not k.startswith("lines ")
            )
    return {k: out[k] for k in sorted(out)} or None


def public_api_facts(rf: ReleaseFiles) -> dict[str, object] | None:
    """``publicAPI``'s facts: ``libvirt-api.xml`` and ``libvirt-admin-api.xml``."""
    return _api_facts(rf, "publicAPI")


def hv_api_facts(rf: ReleaseFiles) -> dict[str, object] | None:
    """``hvAPI``'s facts: ``libvirt-qemu-api.xml`` and ``libvirt-lxc-api.xml``."""
    return _api_facts(rf, "hvAPI")


def _descriptions(facts: SectionFacts, label: str) -> dict[str, ApiDescription]:
    from elfaudit.readers.api_xml import description_from_facts

    by_name: dict[str, dict[str, object]] = {}
    for key, value in facts.items():
        name, _, item = key.partition(" ")
        if not item:
            raise InputError(f"{label} (API description facts)", f"bad item {key[:80]!r}")
        by_name.setdefault(name, {})[item] = value
    try:
        return {
            name: description_from_facts(name, items) for name, items in sorted(by_name.items())
        }
    except InputError as exc:
        raise InputError(f"{label} (API description facts)", exc.reason) from None


def _compare_api_facts(
    section: str, old: SectionFacts, new: SectionFacts, old_label: str, new_label: str
) -> SectionResult:
    o, n = _descriptions(old, old_label), _descriptions(new, new_label)
    findings: list[Finding] = []
    for name, d in n.items():
        if name in o:
            findings.extend(compare_api(o[name], d))
    findings.extend(
        Rule.API_FUNCTION_REMOVED.finding(d.library, None, f"the API description {name} is gone")
        for name, d in o.items()
        if name not in n
    )
    evidence = {
        side: {
            name: {"functions": len(d.functions), "enums": len(d.enums)} for name, d in v.items()
        }
        for side, v in (("old", o), ("new", n))
    }
    return SectionResult(section, SectionStatus.CHECKED, "", evidence, tuple(findings))


def compare_public_api_facts(
    old: SectionFacts, new: SectionFacts, old_label: str = "OLD", new_label: str = "NEW"
) -> SectionResult:
    """``publicAPI``'s API descriptions, OLD's facts to NEW's, as :func:`compare_api`
    judges them (NEW's description against NEW's libraries needs the build, not history)."""
    return _compare_api_facts("publicAPI", old, new, old_label, new_label)


def compare_hv_api_facts(
    old: SectionFacts, new: SectionFacts, old_label: str = "OLD", new_label: str = "NEW"
) -> SectionResult:
    """``hvAPI``'s, likewise."""
    return _compare_api_facts("hvAPI", old, new, old_label, new_label)

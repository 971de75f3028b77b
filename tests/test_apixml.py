"""apixml (reader of libvirt-api.xml) and apicheck (the api-* rules).

Handcrafted XML pairs, one per rule, with exact rule sets; malformed and hostile XML;
a gcc-built library checked against a description; and the real libvirt descriptions and
binaries of Debian's libvirt-dev and libvirt0, fetched and extracted through ``realdebs``
(skipped, loudly, when the archive cannot be reached), or taken from ``$ELFAUDIT_REAL_DIR``.

The ``$ELFAUDIT_REAL_DIR`` layout (what ``dpkg-deb -x`` of libvirt-dev and libvirt0 into one
directory per release gives): ``$ELFAUDIT_REAL_DIR/<dir>/usr/share/libvirt/api/*-api.xml``
and ``$ELFAUDIT_REAL_DIR/<dir>/usr/lib/<triplet>/libvirt*.so.0``, where ``<dir>`` is the
release (``12.8.0``), or starts with ``<release>-``, or contains ``_<release>-`` (a package
file stem such as ``libvirt-dev_12.8.0-1_amd64``).
"""

from __future__ import annotations

import itertools
import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import binutils
import pytest
import realdebs
from conftest import BuildLib
from weighing import weighed

from elfaudit.analysis import api_checks
from elfaudit.analysis.api_checks import VERSION_MACROS
from elfaudit.base.errors import InputError
from elfaudit.model.abi import LibraryABI, Symbol, VersionDef
from elfaudit.model.report import Finding, NodeClass, Severity
from elfaudit.policy.profiles import Profile, builtin
from elfaudit.readers import api_xml as apixml
from elfaudit.readers.api_xml import ApiDescription, load_api, normalize_type, parse_api

# --------------------------------------------------------------------------- handcrafted data

BASE_SYMBOLS = """\
    <macro name='LIBVIR_VERSION_NUMBER' file='libvirt-common' raw='7000000' version='0.0.1'/>
    <macro name='VIR_UUID_BUFLEN' file='libvirt-host' raw='(16)' version='0.2.0'/>
    <macro name='VIR_BIG' file='libvirt-domain' raw='99LL /* = big */' version='0.8.8'/>
    <macro name='VIR_USE_CPU' file='libvirt-domain' params='cpumap,cpu' raw='((m)[(c) / 8])'/>
    <macro name='VIR_DOMAIN_X' file='libvirt-domain' string='x' version='1.0.0'>
      <info>the x parameter</info>
    </macro>
    <macro name='_virOldName' file='libvirt-domain' raw='_virTypedParameter' version='0.9.0'/>
    <enum name='VIR_A_ZERO' file='libvirt-domain' value='0' type='virA' version='1.0.0'/>
    <enum name='VIR_A_ONE' file='libvirt-domain' value='1' type='virA' version='1.0.0'/>
    <enum name='VIR_A_ALIAS' file='libvirt-domain' value='VIR_A_ONE' type='virA' version='1.0.0'/>
    <enum name='VIR_A_LAST' file='libvirt-domain' value='2' type='virA' version='1.0.0'/>
    <typedef name='virA' file='libvirt-domain' type='enum' version='1.0.0'/>
    <typedef name='virDomainPtr' file='libvirt-domain' type='virDomain *' version='0.0.1'/>
    <struct name='virDomain' file='libvirt-domain' type='struct _virDomain' version='0.0.1'/>
    <struct name='virParam' file='libvirt-common' type='struct _virTypedParameter' version='0.9.2'>
      <field name='field' type='char field[80]' info='name'/>
      <field name='type' type='int' info='type'/>
      <field name='value' type='union' info='value'>
        <union>
          <field name='i' type='int' info='x'/>
          <field name='s' type='char *' info='x'/>
        </union>
      </field>
    </struct>
    <functype name='virFreeCallback' file='libvirt-common' module='libvirt-common' version='0.5.0'>
      <info><![CDATA[free <it> & go]]></info>
      <return type='void'/>
      <arg name='opaque' type='void *' info='x'/>
    </functype>
    <function name='virDomainFoo' file='libvirt-domain' module='libvirt-domain' version='1.2.3'>
      <info><![CDATA[Do foo.]]></info>
      <return type='int' info='0 or -1'/>
      <arg name='dom' type='virDomainPtr' info='x'/>
      <arg name='names' type='char ** *' info='x'/>
      <arg name='flags' type='unsigned int' info='x'/>
      <acls><check object='domain' perm='read'/></acls>
    </function>
    <function name='virDomainBar' file='libvirt-domain' module='libvirt-domain' version='0.0.3'>
      <return type='const char *' info='x'/>
      <arg name='dom' type='virDomainPtr' info='x'/>
    </function>
    <variable name='virDefaultThing' file='libvirt-host' type='virDomainPtr' version='0.4.0'/>
"""


def xml(symbols: str = BASE_SYMBOLS, name: str = "libvirt") -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        f"<api name='{name}'>\n"
        "  <files>\n    <file name='libvirt-domain'><exports symbol='virDomainFoo' "
        "type='function'/></file>\n  </files>\n"
        f"  <symbols>\n{symbols}  </symbols>\n</api>\n"
    ).encode()


def api(
    symbols: str = BASE_SYMBOLS, name: str = "libvirt", path: str = "new.xml"
) -> ApiDescription:
    return parse_api(xml(symbols, name), path)


def block(start: str, end: str, text: str = BASE_SYMBOLS) -> str:
    """The lines of ``text`` from the one holding ``start`` up to the one holding ``end``."""
    return text[text.index(start) : text.index(end)]


def compare_api(
    old: ApiDescription, new: ApiDescription, profile: Profile | None = None
) -> list[Finding]:
    """The analyser's raw findings, weighed as api-compare does (by the library's profile)."""
    return weighed(api_checks.compare_api(old, new), profile)


def check_api_against_library(
    d: ApiDescription, abi: LibraryABI, profile: Profile | None = None
) -> list[Finding]:
    return weighed(api_checks.check_api_against_library(d, abi), profile)


def edit(old: str, new: str, text: str = BASE_SYMBOLS) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def rules(findings: list[Finding], *, infos: bool = False) -> set[str]:
    return {f.rule for f in findings if infos or f.severity is not Severity.INFO}


def diff(new_symbols: str, old_symbols: str = BASE_SYMBOLS) -> list[Finding]:
    return compare_api(api(old_symbols, path="old.xml"), api(new_symbols))


def line_of(text: str, needle: str) -> int:
    """Oracle for locations: 1-based line of the unique ``needle`` in the document."""
    lines = [i for i, ln in enumerate(text.splitlines(), start=1) if needle in ln]
    assert len(lines) == 1, needle
    return lines[0]


# --------------------------------------------------------------------------- reader


def test_reader_builds_every_kind_of_item() -> None:
    d = api()
    assert d.name == "libvirt" and d.library == "libvirt.so.0" and d.node_prefix == "LIBVIRT_"
    assert d.versioned
    assert [f.name for f in d.functions] == ["virDomainFoo", "virDomainBar"]
    foo = d.functions[0]
    assert foo.returns == "int" and foo.version == "1.2.3"
    assert [(a.name, a.type) for a in foo.args] == [
        ("dom", "virDomainPtr"),
        ("names", "char ** *"),
        ("flags", "unsigned int"),
    ]
    assert [f.name for f in d.functypes] == ["virFreeCallback"]
    assert d.functypes[0].returns == "void"
    macros = {m.name: m for m in d.macros}
    assert macros["VIR_USE_CPU"].params == ("cpumap", "cpu")
    assert macros["VIR_UUID_BUFLEN"].params is None and macros["VIR_UUID_BUFLEN"].value == "(16)"
    assert macros["VIR_DOMAIN_X"].is_string and macros["VIR_DOMAIN_X"].value == "x"
    enums = {e.name: e for e in d.enums}
    assert enums["VIR_A_ONE"].number == 1 and enums["VIR_A_ONE"].enum == "virA"
    assert enums["VIR_A_ALIAS"].value == "VIR_A_ONE" and enums["VIR_A_ALIAS"].number == 1
    structs = {s.name: s for s in d.structs}
    assert structs["virDomain"].fields is None  # opaque
    param = structs["virParam"]
    assert param.tag == "struct _virTypedParameter"
    assert param.fields is not None
    assert [(f.name, f.type) for f in param.fields] == [
        ("field", "char field[80]"),
        ("type", "int"),
        ("value", "union"),
    ]
    union = param.fields[2].union
    assert union is not None and [(c.name, c.type) for c in union] == [
        ("i", "int"),
        ("s", "char *"),
    ]
    assert {t.name for t in d.typedefs} == {"virA", "virDomainPtr"}
    assert [(v.name, v.type) for v in d.variables] == [("virDefaultThing", "virDomainPtr")]


def test_reader_keeps_line_numbers() -> None:
    text = xml().decode()
    d = parse_api(text.encode(), "f.xml")
    foo = d.functions[0]
    assert foo.location is not None
    assert foo.location.path == "f.xml"
    assert foo.location.line == line_of(text, "<function name='virDomainFoo'")
    enum = next(e for e in d.enums if e.name == "VIR_A_LAST")
    assert enum.location is not None and enum.location.line == line_of(text, "'VIR_A_LAST'")
    assert enum.location.column == 5  # four spaces of indentation


def test_reader_without_versions() -> None:
    d = api(BASE_SYMBOLS.replace(" version='", " since='"))
    assert not d.versioned
    assert all(i.version is None for i in d.items())


@pytest.mark.parametrize(
    ("name", "library", "prefix"),
    [
        ("libvirt-qemu", "libvirt-qemu.so.0", "LIBVIRT_QEMU_"),
        ("libvirt-lxc", "libvirt-lxc.so.0", "LIBVIRT_LXC_"),
        ("libvirt-admin", "libvirt-admin.so.0", "LIBVIRT_ADMIN_"),
        ("libfoo", "libfoo.so", "LIBFOO_"),
    ],
)
def test_library_and_node_prefix(name: str, library: str, prefix: str) -> None:
    d = api(name=name)
    assert (d.library, d.node_prefix) == (library, prefix)


def test_enum_alias_cycle_and_unknown_names_stay_unresolved() -> None:
    d = api(
        "    <enum name='VIR_P' file='f' value='VIR_Q' type='t'/>\n"
        "    <enum name='VIR_Q' file='f' value='VIR_P' type='t'/>\n"
        "    <enum name='VIR_R' file='f' value='VIR_ELSEWHERE' type='t'/>\n"
        "    <enum name='VIR_S' file='f' value='0x10' type='t'/>\n"
        "    <enum name='VIR_T' file='f' value='-3' type='t'/>\n"
        "    <enum name='VIR_U' file='f' value='(1 &lt;&lt; 4)' type='t'/>\n"
    )
    assert [(e.name, e.number) for e in d.enums] == [
        ("VIR_P", None),
        ("VIR_Q", None),
        ("VIR_R", None),
        ("VIR_S", 16),
        ("VIR_T", -3),
        ("VIR_U", 16),
    ]


def test_repeated_name_keeps_first_definition() -> None:
    d = api(
        "    <typedef name='virX' file='f' type='int'/>\n"
        "    <typedef name='virX' file='f' type='long'/>\n"
    )
    assert [(t.name, t.type) for t in d.typedefs] == [("virX", "int")]


def test_normalize_type() -> None:
    assert normalize_type("char ** *") == normalize_type("char***") == "char ***"
    assert normalize_type(" const  char*") == "const char *"
    assert normalize_type("char * const *") == normalize_type("char*const*")
    assert normalize_type("unsigned int") != normalize_type("int")


def test_load_api_from_file_and_bytes(tmp_path: Path) -> None:
    p = tmp_path / "libvirt-api.xml"
    p.write_bytes(xml())
    from_file = load_api(p)
    assert from_file.path == str(p)
    assert from_file.functions[0].location is not None
    assert from_file.functions[0].location.path == str(p)
    from_bytes = load_api(xml(), "pkg.deb:/usr/share/libvirt/api/libvirt-api.xml")
    assert from_bytes.path == "pkg.deb:/usr/share/libvirt/api/libvirt-api.xml"
    assert from_bytes.functions == tuple(
        type(f)(f.name, f.returns, f.args, f.version, f.file, from_bytes.functions[i].location)
        for i, f in enumerate(from_file.functions)
    )


# --------------------------------------------------------------------------- bad input

BAD_INPUTS: dict[str, tuple[bytes, str]] = {
    "truncated": (xml()[: len(xml()) // 2], "malformed XML"),
    "empty": (b"", "malformed XML"),
    "not xml": (b"\x7fELF\x02\x01\x01\x00garbage", "malformed XML"),
    "wrong root": (b"<domain type='kvm'><name>x</name></domain>", "root element <domain>"),
    "no api name": (b"<api><symbols/></api>", "no name attribute"),
    "no symbols": (b"<api name='libvirt'><files/></api>", "no <symbols> element"),
    "item without name": (
        b"<api name='libvirt'><symbols><function file='x'/></symbols></api>",
        "without a name",
    ),
    "name not an identifier": (
        b"<api name='libvirt'><symbols><macro name='a&#10;b' raw='1'/></symbols></api>",
        "not a C identifier",
    ),
    "enum without value": (
        b"<api name='libvirt'><symbols><enum name='VIR_X' type='t'/></symbols></api>",
        "no value attribute",
    ),
    "arg without type": (
        b"<api name='libvirt'><symbols><function name='f'><arg name='a'/></function>"
        b"</symbols></api>",
        "no type attribute",
    ),
    "billion laughs": (
        b"<?xml version='1.0'?>\n<!DOCTYPE api [\n <!ENTITY a 'aaaaaaaaaa'>\n"
        + b"".join(
            f" <!ENTITY {chr(98 + i)} '{('&' + chr(97 + i) + ';') * 10}'>\n".encode()
            for i in range(9)
        )
        + b"]>\n<api name='libvirt'><symbols><macro name='X' string='&j;'/></symbols></api>",
        "DOCTYPE is not allowed",
    ),
    "external entity": (
        b"<?xml version='1.0'?>\n<!DOCTYPE api [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>\n"
        b"<api name='libvirt'><symbols><macro name='X' string='&e;'/></symbols></api>",
        "DOCTYPE is not allowed",
    ),
    "undeclared entity": (
        b"<api name='libvirt'><symbols><macro name='X' string='&e;'/></symbols></api>",
        "malformed XML",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_input_error(case: str) -> None:
    data, expected = BAD_INPUTS[case]
    with pytest.raises(InputError) as err:
        parse_api(data, "bad.xml")
    msg = str(err.value)
    assert msg.startswith("bad.xml: ")
    assert expected in msg
    assert "\n" not in msg


def test_deeply_nested_input_is_read_without_recursion() -> None:
    depth = 200_000
    data = b"<api name='libvirt'><symbols>" + b"<x>" * depth + b"</x>" * depth + b"</symbols></api>"
    d = parse_api(data, "deep.xml")
    assert d.functions == () and d.enums == ()


def test_file_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="No such file"):
        load_api(tmp_path / "missing.xml")
    with pytest.raises(InputError, match="is a directory"):
        load_api(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        load_api(fifo)  # would block forever if it were opened
    big = tmp_path / "big.xml"
    big.write_bytes(xml())
    monkeypatch.setattr(apixml, "MAX_XML_BYTES", 100)
    with pytest.raises(InputError, match="larger than 100 bytes"):
        load_api(big)


# --------------------------------------------------------------------------- compare_api

FOO_OPEN = "<function name='virDomainFoo' file='libvirt-domain' module='libvirt-domain'"

# case -> (new symbols, expected rule set, error/warning findings only)
COMPARE_CASES: dict[str, tuple[str, set[str]]] = {
    "identical": (BASE_SYMBOLS, set()),
    "function removed": (
        edit(
            block("    <function name='virDomainBar'", "    <variable"),
            "",
        ),
        {"api-function-removed"},
    ),
    "return type changed": (
        edit("<return type='int' info='0 or -1'/>", "<return type='long' info='0 or -1'/>"),
        {"api-function-signature-changed"},
    ),
    "argument added": (
        edit(
            "<arg name='flags' type='unsigned int' info='x'/>",
            "<arg name='flags' type='unsigned int' info='x'/><arg name='more' type='int'/>",
        ),
        {"api-function-signature-changed"},
    ),
    "argument type changed": (
        edit("<arg name='flags' type='unsigned int'", "<arg name='flags' type='int'"),
        {"api-function-signature-changed"},
    ),
    "callback signature changed": (
        edit("<arg name='opaque' type='void *' info='x'/>", "<arg name='opaque' type='int'/>"),
        {"api-function-signature-changed"},
    ),
    "callback type removed": (
        edit(
            block("    <functype", "    <function name='virDomainFoo'"),
            "",
        ),
        {"api-typedef-removed"},
    ),
    "variable removed": (
        edit(
            "    <variable name='virDefaultThing' file='libvirt-host' type='virDomainPtr' "
            "version='0.4.0'/>\n",
            "",
        ),
        {"api-function-removed"},
    ),
    "variable type changed": (
        edit(
            "<variable name='virDefaultThing' file='libvirt-host' type='virDomainPtr'",
            "<variable name='virDefaultThing' file='libvirt-host' type='int'",
        ),
        {"api-function-signature-changed"},
    ),
    "enum value removed": (
        edit(
            "    <enum name='VIR_A_ZERO' file='libvirt-domain' value='0' type='virA' "
            "version='1.0.0'/>\n",
            "",
        ),
        {"api-enum-removed"},
    ),
    "enum value renamed": (
        edit("name='VIR_A_ZERO'", "name='VIR_A_NONE'"),
        {"api-enum-removed"},
    ),
    "enum value changed": (
        edit(
            "name='VIR_A_ONE' file='libvirt-domain' value='1'",
            "name='VIR_A_ONE' file='libvirt-domain' value='3'",
        ),
        {"api-enum-value-changed"},  # VIR_A_ALIAS follows it: two findings, one rule
    ),
    "enum alias retargeted": (
        edit("value='VIR_A_ONE'", "value='VIR_A_ZERO'"),
        {"api-enum-value-changed"},
    ),
    "macro removed": (
        edit(
            "    <macro name='VIR_UUID_BUFLEN' file='libvirt-host' raw='(16)' version='0.2.0'/>\n",
            "",
        ),
        {"api-macro-removed"},
    ),
    "function-like macro removed": (
        edit(block("    <macro name='VIR_USE_CPU'", "    <macro name='VIR_DOMAIN_X'"), ""),
        {"api-macro-removed"},
    ),
    "macro value changed": (
        edit("raw='(16)'", "raw='(32)'"),
        {"api-macro-value-changed"},
    ),
    "string macro value changed": (
        edit("string='x'", "string='y'"),
        {"api-macro-value-changed"},
    ),
    "struct field added": (
        edit(
            "<field name='type' type='int' info='type'/>",
            "<field name='type' type='int' info='type'/><field name='extra' type='int'/>",
        ),
        {"api-struct-changed"},
    ),
    "struct field removed": (
        edit("<field name='type' type='int' info='type'/>", ""),
        {"api-struct-changed"},
    ),
    "struct field type changed": (
        edit("type='char field[80]'", "type='char field[64]'"),
        {"api-struct-changed"},
    ),
    "struct field renamed": (
        edit("<field name='type' type='int'", "<field name='kind' type='int'"),
        {"api-struct-changed"},
    ),
    "struct lost its fields": (
        edit(
            block("    <struct name='virParam'", "    <functype"),
            "    <struct name='virParam' file='libvirt-common' "
            "type='struct _virTypedParameter' version='0.9.2'/>\n",
        ),
        {"api-struct-changed"},
    ),
    "struct removed": (
        edit(
            "    <struct name='virDomain' file='libvirt-domain' type='struct _virDomain' "
            "version='0.0.1'/>\n",
            "",
        ),
        {"api-typedef-removed"},
    ),
    "union choice removed": (
        edit("<field name='s' type='char *' info='x'/>", ""),
        {"api-union-changed"},
    ),
    "union choice changed": (
        edit("<field name='i' type='int' info='x'/>", "<field name='i' type='long' info='x'/>"),
        {"api-union-changed"},
    ),
    "typedef removed": (
        edit(
            "    <typedef name='virDomainPtr' file='libvirt-domain' type='virDomain *' "
            "version='0.0.1'/>\n",
            "",
        ),
        {"api-typedef-removed"},
    ),
    "typedef retargeted": (
        edit("type='virDomain *'", "type='virDomain **'"),
        {"api-typedef-removed"},
    ),
    "version changed": (
        edit(FOO_OPEN + " version='1.2.3'>", FOO_OPEN + " version='1.2.4'>"),
        {"api-version-changed"},
    ),
    # ---- allowed changes
    "argument renamed": (edit("<arg name='flags'", "<arg name='fl'"), set()),
    "pointer spelling": (edit("type='char ** *'", "type='char***'"), set()),
    "_LAST grows": (
        edit(
            "name='VIR_A_LAST' file='libvirt-domain' value='2'",
            "name='VIR_A_LAST' file='libvirt-domain' value='7'",
        ),
        set(),
    ),
    "version macro": (edit("raw='7000000'", "raw='12008000'"), set()),
    "macro comment": (edit("raw='99LL /* = big */'", "raw='99LL /* = INT64_MAX */'"), set()),
    "function-like macro body": (edit("raw='((m)[(c) / 8])'", "raw=''"), set()),
    "underscore macro removed": (
        edit(
            "    <macro name='_virOldName' file='libvirt-domain' raw='_virTypedParameter' "
            "version='0.9.0'/>\n",
            "",
        ),
        set(),
    ),
    "underscore struct tag renamed": (
        edit("type='struct _virTypedParameter'", "type='struct _virTypedParam'"),
        set(),
    ),
    "union choice added": (
        edit(
            "<field name='s' type='char *' info='x'/>",
            "<field name='s' type='char *' info='x'/><field name='d' type='double'/>",
        ),
        set(),
    ),
    "enum alias to same number": (edit("value='VIR_A_ONE'", "value='1'"), set()),
    "enum value moved to another enum": (
        edit("value='0' type='virA'", "value='0' type='virB'"),
        set(),
    ),
    "version attributes appear": (BASE_SYMBOLS, set()),  # old side has none, see below
}


@pytest.mark.parametrize("case", sorted(COMPARE_CASES))
def test_compare_rules(case: str) -> None:
    new, expected = COMPARE_CASES[case]
    old = BASE_SYMBOLS
    if case == "version attributes appear":
        old = BASE_SYMBOLS.replace(" version='", " since='")
    findings = diff(new, old)
    assert rules(findings) == expected
    assert all(f.library == "libvirt.so.0" for f in findings)
    assert all(f.severity is Severity.ERROR for f in findings if f.severity is not Severity.INFO)


def test_compare_reports_old_location_for_removals_and_new_for_changes() -> None:
    removed = diff(edit("name='VIR_A_ZERO'", "name='VIR_A_NONE'"))
    f = next(f for f in removed if f.rule == "api-enum-removed")
    assert (f.symbol, f.version) == ("VIR_A_ZERO", "1.0.0")
    assert f.location is not None and f.location.path == "old.xml"
    assert f.location.line == line_of(xml().decode(), "'VIR_A_ZERO'")
    new_symbols = edit("<return type='int' info='0 or -1'/>", "<return type='long'/>")
    changed = diff(new_symbols)
    g = next(f for f in changed if f.rule == "api-function-signature-changed")
    assert g.symbol == "virDomainFoo" and g.location is not None
    assert g.location.path == "new.xml"
    assert g.location.line == line_of(xml(new_symbols).decode(), "<function name='virDomainFoo'")
    assert "'int'" in g.message and "'long'" in g.message


def test_enum_value_change_names_both_numbers() -> None:
    findings = diff(
        edit(
            "name='VIR_A_ONE' file='libvirt-domain' value='1'",
            "name='VIR_A_ONE' file='libvirt-domain' value='3'",
        )
    )
    assert sorted(f.symbol or "" for f in findings) == ["VIR_A_ALIAS", "VIR_A_ONE"]
    alias = next(f for f in findings if f.symbol == "VIR_A_ALIAS")
    assert "= 1" in alias.message and "= 3" in alias.message


def test_weak_lowers_errors_to_warnings() -> None:
    """The libvirt profile says (as data) that libvirt-qemu's description is weak; generic
    does not know it."""
    new = edit("<return type='int' info='0 or -1'/>", "<return type='long'/>")
    new = edit("name='VIR_A_ZERO'", "name='VIR_A_NONE'", new)
    old_d = api(name="libvirt-qemu", path="old.xml")
    new_d = api(new, name="libvirt-qemu")
    raw = api_checks.compare_api(old_d, new_d)
    assert {f.api for f in raw} == {"libvirt-qemu"}
    strong = compare_api(old_d, new_d, builtin("generic"))
    weak = compare_api(old_d, new_d)  # libvirt-qemu.so.0: the libvirt profile
    assert weak == compare_api(old_d, new_d, builtin("libvirt"))
    assert rules(strong) == rules(weak) == {"api-function-signature-changed", "api-enum-removed"}
    assert {f.severity for f in strong if f.rule != "api-added"} == {Severity.ERROR}
    assert {f.severity for f in weak if f.rule != "api-added"} == {Severity.WARNING}
    assert {f.library for f in weak} == {"libvirt-qemu.so.0"}


def test_additions_are_info_functions_listed_enums_and_macros_summarised() -> None:
    extra = (
        "    <function name='virNew1' file='f' module='m' version='2.0.0'><return type='int'/>"
        "</function>\n"
        "    <function name='virNew2' file='f' module='m' version='2.0.0'><return type='int'/>"
        "</function>\n"
        "    <macro name='VIR_M1' file='f' string='m1' version='2.0.0'/>\n"
        "    <macro name='VIR_M2' file='f' string='m2' version='2.0.0'/>\n"
        "    <macro name='VIR_M3' file='f' string='m3' version='2.0.0'/>\n"
        "    <enum name='VIR_A_TWO' file='f' value='2' type='virA' version='2.0.0'/>\n"
        "    <enum name='VIR_B_ONE' file='f' value='1' type='virB' version='2.0.0'/>\n"
        "    <typedef name='virB' file='f' type='enum' version='2.0.0'/>\n"
    )
    findings = diff(BASE_SYMBOLS + extra)
    assert {f.severity for f in findings} == {Severity.INFO}
    assert rules(findings, infos=True) == {"api-added"}
    named = sorted(f.symbol for f in findings if f.symbol is not None)
    assert named == ["virB", "virNew1", "virNew2"]
    assert all(f.version == "2.0.0" for f in findings if f.symbol is not None)
    summaries = sorted(f.message for f in findings if f.symbol is None)
    assert len(summaries) == 2
    assert summaries[0].startswith("2 enum values added to 2 enumerations")
    assert summaries[1].startswith("3 macros added") and "VIR_M3" in summaries[1]


def test_summary_preview_is_bounded() -> None:
    extra = "".join(
        f"    <macro name='VIR_M{i}' file='f' string='m' version='2.0.0'/>\n" for i in range(50)
    )
    (summary,) = [f for f in diff(BASE_SYMBOLS + extra) if f.symbol is None]
    assert summary.message.startswith("50 macros added")
    assert summary.message.endswith("and 42 more")


def test_comparing_different_apis_is_an_input_error() -> None:
    with pytest.raises(InputError, match="describes the libvirt-qemu API"):
        compare_api(api(path="old.xml"), api(name="libvirt-qemu"))


def test_version_macros_are_documented() -> None:
    assert "LIBVIR_VERSION_NUMBER" in VERSION_MACROS


# --------------------------------------------------------------------------- against the library

LIB_SYMBOLS = """\
    <function name='tOld' file='t' module='t' version='1.0'><return type='int'/></function>
    <function name='tNew' file='t' module='t' version='2.0'><return type='int'/></function>
    <function name='tMoved' file='t' module='t' version='2.0'><return type='int'/></function>
    <function name='tMissing' file='t' module='t' version='2.0'><return type='int'/></function>
    <variable name='tData' file='t' type='int' version='1.0'/>
"""

LIB_C = """
int tOld(void) { return 1; }
int tNew(void) { return 2; }
int tMoved(void) { return 3; }
int tData = 4;
int tExtra(void) { return 5; }
int tPrivate(void) { return 6; }
"""

LIB_MAP = """
LIBT_1.0 { global: tOld; tData; tMoved; local: *; };
LIBT_2.0 { global: tNew; tExtra; } LIBT_1.0;
LIBT_PRIVATE_2.0 { global: tPrivate; };
"""


def _sym(name: str, version: str | None, type_: str = "FUNC") -> Symbol:
    return Symbol(name, version, True, type_, "GLOBAL", "DEFAULT", 8)


def _abi(symbols: tuple[Symbol, ...], soname: str = "libt.so") -> LibraryABI:
    nodes = sorted({s.version for s in symbols if s.version})
    return LibraryABI(
        path="/x/libt.so",
        soname=soname,
        needed=(),
        machine="x86_64",
        elf_class=64,
        byte_order="little",
        versions=(
            VersionDef(soname, 1, base=True),
            *(VersionDef(n, i) for i, n in enumerate(nodes, start=2)),
        ),
        symbols=symbols,
        markers=tuple(nodes),
    )


def _check_map(findings: list[Finding]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in findings:
        out.setdefault(f.rule, set()).add(f.symbol or "")
    return out


def test_check_against_handmade_abi() -> None:
    d = api(LIB_SYMBOLS, name="libt")
    abi = _abi(
        (
            _sym("tOld", "LIBT_1.0"),
            _sym("tNew", "LIBT_2.0"),
            _sym("tMoved", "LIBT_1.0"),
            _sym("tData", "LIBT_1.0", "OBJECT"),
            _sym("tExtra", "LIBT_2.0"),
            _sym("tPrivate", "LIBT_PRIVATE_2.0"),
            _sym("tUnversioned", None),
        )
    )
    findings = check_api_against_library(d, abi)
    assert _check_map(findings) == {
        "api-not-exported": {"tMissing"},
        "api-node-mismatch": {"tMoved"},
        "api-undocumented": {"tExtra", "tUnversioned"},
    }
    moved = next(f for f in findings if f.rule == "api-node-mismatch")
    assert moved.version == "2.0" and "LIBT_1.0" in moved.message and "LIBT_2.0" in moved.message
    assert moved.location is not None and moved.location.line == line_of(
        xml(LIB_SYMBOLS, "libt").decode(), "'tMoved'"
    )
    sev = {f.rule: f.severity for f in findings}
    assert sev == {
        "api-not-exported": Severity.ERROR,
        "api-node-mismatch": Severity.ERROR,
        "api-undocumented": Severity.WARNING,
    }
    libt_weak = replace(builtin("generic"), apis=(("libt", NodeClass.WEAK),))
    weak = check_api_against_library(d, abi, libt_weak)
    assert {f.severity for f in weak} == {Severity.WARNING}


def test_check_hidden_only_symbol_counts_as_not_exported() -> None:
    d = api(LIB_SYMBOLS, name="libt")
    hidden = Symbol("tOld", "LIBT_1.0", False, "FUNC", "GLOBAL", "DEFAULT", 8)
    abi = _abi(
        (
            hidden,
            _sym("tNew", "LIBT_2.0"),
            _sym("tMoved", "LIBT_2.0"),
            _sym("tMissing", "LIBT_2.0"),
            _sym("tData", "LIBT_1.0", "OBJECT"),
        )
    )
    assert _check_map(check_api_against_library(d, abi)) == {"api-not-exported": {"tOld"}}


def test_check_without_versions_skips_node_comparison() -> None:
    d = api(LIB_SYMBOLS.replace(" version='", " since='"), name="libt")
    abi = _abi(
        (
            _sym("tOld", "LIBT_1.0"),
            _sym("tNew", "LIBT_9.9"),
            _sym("tMoved", "LIBT_1.0"),
            _sym("tMissing", "LIBT_2.0"),
            _sym("tData", "LIBT_1.0", "OBJECT"),
        )
    )
    assert check_api_against_library(d, abi) == []


def test_check_wrong_library_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"is libvirt-qemu\.so\.0, but .* documents libt\.so"):
        check_api_against_library(api(LIB_SYMBOLS, name="libt"), _abi((), "libvirt-qemu.so.0"))


def test_check_against_gcc_built_library(build_lib: BuildLib) -> None:
    from elfaudit.readers.elf import read_library

    lib = build_lib(LIB_C, LIB_MAP, soname="libt.so")
    findings = check_api_against_library(api(LIB_SYMBOLS, name="libt"), read_library(lib))
    # oracle: nm's view of which node each symbol landed in
    node_of = binutils.default_nodes(lib)
    assert node_of["tMoved"] == "LIBT_1.0"
    expected_undocumented = {
        n
        for n, node in node_of.items()
        if "PRIVATE" not in node and n != node and n not in {"tOld", "tNew", "tMoved", "tData"}
    }
    assert _check_map(findings) == {
        "api-not-exported": {"tMissing"},
        "api-node-mismatch": {"tMoved"},
        "api-undocumented": expected_undocumented,
    }
    assert expected_undocumented == {"tExtra"}


# --------------------------------------------------------------------------- real libvirt data

# The fixed suites' releases, then "sid": whatever unstable carries today (suites move).
RELEASES = ("7.0.0", "9.0.0", "11.3.0", "sid")
APIS = ("libvirt", "libvirt-qemu", "libvirt-lxc", "libvirt-admin")


def _upstream(release: str) -> str:
    """``sid`` -> the upstream release sid's libvirt0 carries now (itself if unreachable)."""
    if release != "sid" or os.environ.get("ELFAUDIT_REAL_DIR"):
        return release
    deb = realdebs.fetch("sid")
    return realdebs.upstream_of(deb) if deb is not None else release


def _real_dir(release: str) -> Path | None:
    """The extracted libvirt-dev + libvirt0 of ``release``.

    ``$ELFAUDIT_REAL_DIR`` (see the module docstring) overrides; otherwise the packages
    are fetched from Debian through ``realdebs`` and extracted into a session folder.
    """
    release = _upstream(release)
    root = os.environ.get("ELFAUDIT_REAL_DIR")
    if not root:
        return realdebs.release_tree(release)
    if not Path(root).is_dir():
        return None
    for d in sorted(Path(root).iterdir()):
        n = d.name
        named = n == release or n.startswith(f"{release}-") or f"_{release}-" in n
        if named and ((d / "usr/share/libvirt/api").is_dir() or (d / "usr/lib").is_dir()):
            return d
    return None


def _skip_real(release: str, what: str) -> NoReturn:
    release = _upstream(release)
    if os.environ.get("ELFAUDIT_REAL_DIR"):
        pytest.skip(f"no extracted {what} {release} under $ELFAUDIT_REAL_DIR")
    if realdebs.release_tree(release) is None:
        realdebs.skip_release(release)
    pytest.fail(f"the extracted packages of {release} hold no {what}")


def real_api_xml(release: str, name: str = "libvirt") -> Path | None:
    """``<name>-api.xml`` of ``release``, extracted (see ``_real_dir``), if there."""
    d = _real_dir(release)
    if d is None:
        return None
    p = d / "usr/share/libvirt/api" / f"{name}-api.xml"
    return p if p.is_file() else None


def real_library(release: str, soname: str) -> Path | None:
    d = _real_dir(release)
    if d is None:
        return None
    found = sorted((d / "usr/lib").glob(f"*/{soname}")) + sorted((d / "usr/lib").glob(soname))
    return found[0] if found else None


def _need_xml(release: str, name: str = "libvirt") -> Path:
    p = real_api_xml(release, name)
    if p is None:
        _skip_real(release, f"{name}-api.xml")
    return p


def _oracle_items(path: Path) -> dict[str, set[str]]:
    """ElementTree's view: names per item kind."""
    root = ET.parse(path).getroot()
    symbols = root.find("symbols")
    assert symbols is not None
    out: dict[str, set[str]] = {}
    for e in symbols:
        out.setdefault(e.tag, set()).add(e.get("name", ""))
    return out


@pytest.mark.real
@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", APIS)
def test_real_description_matches_elementtree(release: str, name: str) -> None:
    path = _need_xml(release, name)
    d = load_api(path)
    oracle = _oracle_items(path)
    assert d.name == name
    assert {f.name for f in d.functions} == oracle.get("function", set())
    assert {f.name for f in d.functypes} == oracle.get("functype", set())
    assert {e.name for e in d.enums} == oracle.get("enum", set())
    assert {m.name for m in d.macros} == oracle.get("macro", set())
    assert {s.name for s in d.structs} == oracle.get("struct", set())
    assert {t.name for t in d.typedefs} == oracle.get("typedef", set())
    assert all(f.returns is not None for f in d.functions)
    root = ET.parse(path).getroot()
    n_versions = sum(1 for e in root.iter() if e.get("version") is not None)
    assert d.versioned == (n_versions > 0)


@pytest.mark.real
@pytest.mark.parametrize(("old", "new"), list(itertools.pairwise(RELEASES)))
@pytest.mark.parametrize("name", APIS)
def test_real_consecutive_releases_have_no_breaks(old: str, new: str, name: str) -> None:
    """Verified by hand on 7.0.0 .. 12.8.0: only _LAST values and LIBVIR_VERSION_NUMBER change."""
    old_path, new_path = _need_xml(old, name), _need_xml(new, name)
    findings = compare_api(load_api(old_path), load_api(new_path))
    assert [f for f in findings if f.severity is not Severity.INFO] == []
    old_fn, new_fn = _oracle_items(old_path), _oracle_items(new_path)
    added = {f.symbol for f in findings if f.rule == "api-added" and f.symbol is not None}
    for kind in ("function", "functype", "typedef", "struct", "variable"):
        assert new_fn.get(kind, set()) - old_fn.get(kind, set()) <= added
    if name == "libvirt":  # the version macro really changed and was exempted
        values = [
            {e.get("name"): e.get("raw") for e in ET.parse(p).getroot().iter("macro")}
            for p in (old_path, new_path)
        ]
        assert values[0]["LIBVIR_VERSION_NUMBER"] != values[1]["LIBVIR_VERSION_NUMBER"]


@pytest.mark.real
@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", APIS)
def test_real_description_against_binary(release: str, name: str) -> None:
    from elfaudit.readers.elf import read_library

    path = _need_xml(release, name)
    soname = f"{name}.so.0"
    lib = real_library(release, soname)
    if lib is None:
        _skip_real(release, soname)
    d = load_api(path)
    findings = check_api_against_library(d, read_library(lib))
    # oracle: nm's node per exported symbol, ElementTree's version per documented item
    node_of = binutils.default_nodes(lib)
    prefix = name.upper().replace("-", "_") + "_"
    root = ET.parse(path).getroot()
    documented = {
        e.get("name"): e.get("version")
        for e in root.iter()
        if e.tag in ("function", "variable") and e.get("name")
    }
    expect_missing = {n for n in documented if n not in node_of}
    expect_mismatch = {
        n
        for n, v in documented.items()
        if v is not None and n in node_of and node_of[n] != prefix + v
    }
    expect_undocumented = {
        n
        for n, node in node_of.items()
        if n not in documented and "PRIVATE" not in node and n != node
    }
    got = _check_map(findings)
    assert got.get("api-not-exported", set()) == expect_missing
    assert got.get("api-node-mismatch", set()) == expect_mismatch
    assert got.get("api-undocumented", set()) == expect_undocumented

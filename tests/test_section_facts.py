"""Section facts (issue 13): what the release graph stores per section, and the verdicts
judged from them.

For ``xmlschema``, ``configfiles``, ``apierrors`` and ``hvdrivers``, ``compare_facts`` of two
releases' ``facts`` gives the findings the checker gives on their files (for ``xmlschema``
less the generated documents quoted in removals, which need the grammar), and the facts
survive a JSON round trip; an API description comes back from its facts equal, so
``compare_api`` judges it the same. Shown on hand-made releases and on every ordered pair of
the cached real Debian releases (bullseye 7.0.0 ... sid 12.8.0, reverse ones too).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from elfaudit.analysis import api_errors, config_files, schemas
from elfaudit.analysis.api_checks import compare_api
from elfaudit.base.errors import InputError
from elfaudit.model.guarantees import ReleaseFiles, SectionStatus
from elfaudit.readers import relaxng
from elfaudit.readers.api_xml import (
    ApiDescription,
    description_facts,
    description_from_facts,
    is_api_description,
    load_api,
    parse_api,
)
from elfaudit.readers.release_files import read_release

DIR = "usr/share/libvirt/schemas/"
HEAD = (
    '<grammar xmlns="http://relaxng.org/ns/structure/1.0" '
    'datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes">'
)


def _json(facts: object) -> object:
    return json.loads(json.dumps(facts, sort_keys=True))


def _schema_rel(label: str, **schemas_: str) -> ReleaseFiles:
    files = {
        f"{DIR}{n.replace('_', '.')}": f"{HEAD}{t}</grammar>".encode() for n, t in schemas_.items()
    }
    return ReleaseFiles(label, files, dict.fromkeys(files, f"{label}-common.deb"))


DISK = """
  <define name="disk"><element name="disk">
    <attribute name="device"><choice><value>disk</value><value>cdrom</value>{extra}</choice>
    </attribute>
    <optional><attribute name="unit"><data type="unsignedInt">
      <param name="maxInclusive">7</param></data></attribute></optional>
    <element name="target"><attribute name="dev"><data type="string">
      <param name="pattern">[a-z]+</param></data></attribute></element>
    <optional><element name="driver"><attribute name="cache"><text/></attribute></element>
    </optional>
  </element></define>"""


def _domain(extra: str = "<value>floppy</value>", serial: bool = True) -> str:
    serial_el = '<optional><element name="serial"><text/></element></optional>' if serial else ""
    return (
        '<start><element name="domain"><attribute name="type"><choice><value>kvm</value>'
        '<value>qemu</value></choice></attribute><element name="devices">'
        f'<zeroOrMore><ref name="disk"/></zeroOrMore>{serial_el}</element></element></start>'
        + DISK.format(extra=extra)
    )


def _snapshot(extra: str = "<value>floppy</value>") -> str:
    """A schema holding domain.rng's whole devices subtree, as domainsnapshot.rng does."""
    return (
        '<start><element name="domainsnapshot"><element name="name"><text/></element>'
        '<element name="domain"><element name="devices"><zeroOrMore><ref name="disk"/>'
        '</zeroOrMore><optional><element name="serial"><text/></element></optional></element>'
        "</element></element></start>" + DISK.format(extra=extra)
    )


@pytest.fixture
def schema_pair() -> tuple[ReleaseFiles, ReleaseFiles]:
    """NEW drops a value (floppy) and an element (serial) from domain.rng, and adds a
    library of defines; snapshot.rng holds domain's devices in both."""
    old = _schema_rel("old", domain_rng=_domain(), snapshot_rng=_snapshot())
    new = _schema_rel(
        "new",
        domain_rng=_domain(extra="", serial=False),
        snapshot_rng=_snapshot(),
        lib_rng='<define name="x"><element name="x"><empty/></element></define>',
    )
    return old, new


def test_schema_facts_judge_as_the_files(schema_pair: tuple[ReleaseFiles, ReleaseFiles]) -> None:
    old, new = schema_pair
    fo, fn = schemas.facts(old), schemas.facts(new)
    assert fo is not None and fn is not None
    assert _json(fo) == fo and _json(fn) == fn
    assert schemas.facts(old) == fo  # deterministic
    got = schemas.compare_facts(_json(fo), _json(fn), "old", "new")  # type: ignore[arg-type]
    want = schemas.check_schemas(old, new)
    assert got.status is want.status is SectionStatus.CHECKED
    assert tuple(schemas.without_evidence(f) for f in want.findings) == got.findings
    assert {(f.rule, f.symbol) for f in got.findings} >= {
        ("schema-value-removed", "domain/devices/disk@device=floppy"),
        ("schema-element-removed", "domain/devices/serial"),
        ("schema-file-added", None),
    }
    # the documents quoted in check_schemas' messages are the confirmed ones, and only those
    quoted = [f for f in want.findings if schemas.EVIDENCE in f.message]
    assert quoted and len(quoted) == want.evidence["documents_confirmed"]
    assert all(schemas.EVIDENCE not in f.message for f in got.findings)
    assert got.evidence["schemas_compared"] == want.evidence["schemas_compared"]
    assert got.evidence["element_paths"] == want.evidence["element_paths"]


def test_schema_facts_give_the_models_back(
    schema_pair: tuple[ReleaseFiles, ReleaseFiles],
) -> None:
    _, new = schema_pair
    facts = schemas.facts(new)
    assert facts is not None
    side = schemas.side_of(_json(facts))  # type: ignore[arg-type]
    ss = relaxng.SchemaSet(schemas.schema_files(new))
    for name, (path, model) in side.items():
        assert path == f"{DIR}{name}"
        if name == "lib.rng":
            assert model is None and facts["schema lib.rng"] == {"path": path, "schema": False}
        else:
            assert model == ss.model(path)
    # a data type keeps its library and parameters
    unit = facts["element domain.rng domain/devices/disk"]["attributes"]["unit"]  # type: ignore[index]
    assert unit == {"types": [["unsignedInt", "xsd", [["maxInclusive", "7"]]]], "optional": True}


def test_shared_subtree_is_one_item() -> None:
    """snapshot.rng's devices are domain.rng's: one item; a change of a disk value in both
    schemas changes the domain.rng items only."""
    a = schemas.facts(_schema_rel("a", domain_rng=_domain(), snapshot_rng=_snapshot()))
    b = schemas.facts(
        _schema_rel("b", domain_rng=_domain(extra=""), snapshot_rng=_snapshot(extra=""))
    )
    assert a is not None and b is not None
    assert a["element snapshot.rng domainsnapshot/domain/devices"] == {
        "as": "domain.rng domain/devices"
    }
    assert not any(k.startswith("element snapshot.rng domainsnapshot/domain/devices/") for k in a)
    changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    assert changed == ["element domain.rng domain/devices/disk"]
    # and the verdict from facts is the files' one: floppy removed from both schemas
    old = _schema_rel("a", domain_rng=_domain(), snapshot_rng=_snapshot())
    new = _schema_rel("b", domain_rng=_domain(extra=""), snapshot_rng=_snapshot(extra=""))
    got = schemas.compare_facts(a, b)
    assert {(f.library, f.symbol) for f in got.findings} == {
        ("domain.rng", "domain/devices/disk@device=floppy"),
        ("snapshot.rng", "domainsnapshot/domain/devices/disk@device=floppy"),
    }
    assert got.findings == tuple(
        schemas.without_evidence(f) for f in schemas.check_schemas(old, new).findings
    )


def test_schema_side_without_schemas_is_not_checked(
    schema_pair: tuple[ReleaseFiles, ReleaseFiles],
) -> None:
    old, _ = schema_pair
    empty = ReleaseFiles("empty", {})
    assert schemas.facts(empty) is None
    want = schemas.check_schemas(old, empty)
    got = schemas.compare_facts(schemas.facts(old), None, "old", "empty")
    assert got.status is want.status is SectionStatus.NOT_CHECKED
    assert got.reason == want.reason == "no schemas in empty"


@pytest.mark.parametrize(
    "item",
    [
        {"element domain.rng domain": {"as": "missing.rng x"}},
        {"element domain.rng domain": {"attributes": {"type": {"types": [[1]]}}}},
        {"element domain.rng domain": []},
        {"bogus": {}},
        {"schema domain.rng": {"schema": True}},
        {"element other.rng x": {}},  # an element of no schema
    ],
)
def test_bad_schema_facts_are_one_line(
    item: dict[str, object], schema_pair: tuple[ReleaseFiles, ReleaseFiles]
) -> None:
    facts = dict(schemas.facts(schema_pair[0]) or {})
    facts.update(item)
    with pytest.raises(InputError) as e:
        schemas.compare_facts(facts, facts, "graph:7.0.0")
    assert str(e.value).startswith("graph:7.0.0 (xmlschema facts): bad item")
    assert "\n" not in str(e.value)


def test_schema_facts_copying_in_a_cycle_is_bad() -> None:
    facts = {
        "schema a.rng": {"path": "a.rng", "schema": True, "roots": ["a"]},
        "schema b.rng": {"path": "b.rng", "schema": True, "roots": ["b"]},
        "element a.rng a": {"as": "b.rng b"},
        "element b.rng b": {"as": "a.rng a"},
    }
    with pytest.raises(InputError, match="xmlschema facts"):
        schemas.side_of(facts)


# --------------------------------------------------------------------------- configfiles

LENS = """module Test =
  autoload xfm
  let value_sep   = del /[ \\t]*=[ \\t]*/  " = "
  let indent = del /[ \\t]*/ ""
  let str_val = del /\\"/ "\\"" . store /[^\\"]*/ . del /\\"/ "\\""
  let int_val = store /-?[0-9]+/
  let str_entry (kw:string) = [ key kw . value_sep . str_val ]
  let int_entry (kw:string) = [ key kw . value_sep . int_val ]
  let entry = {entries}
  let comment = [ label "#comment" . del /#[ \\t]*/ "# "
    . store /([^ \\t\\n].*[^ \\t\\n]|[^ \\t\\n])/ . del /[ \\t]*\\n/ "\\n" ]
  let empty = [ label "#empty" . del /[ \\t]*\\n/ "\\n" ]
  let record = indent . entry . del /[ \\t]*\\n/ "\\n"
  let lns = ( record | comment | empty ) *
  let filter = incl "/etc/libvirt/t.conf" . Util.stdexcl
  let xfm = transform lns filter
"""


def _conf_rel(label: str, entries: str, conf: str) -> ReleaseFiles:
    files = {
        "usr/share/augeas/lenses/test.aug": LENS.replace("{entries}", entries).encode(),
        "etc/libvirt/t.conf": conf.encode(),
    }
    return ReleaseFiles(label, files, dict.fromkeys(files, f"{label}.deb"))


def test_config_facts_judge_as_the_files() -> None:
    old = _conf_rel("old", 'str_entry "a" | int_entry "b" | str_entry "c"', '#a = "x"\n#b = 1\n')
    new = _conf_rel("new", 'str_entry "a" | str_entry "b"', '#a = "y"\nb = "2"\n')
    fo, fn = config_files.facts(old), config_files.facts(new)
    assert fo is not None and fn is not None and _json(fo) == fo
    assert fo["file etc/libvirt/t.conf"] == {"parameters": ["a", "b"], "active": {}}
    assert fo["packages"] == {
        "etc/libvirt/t.conf": "old.deb",
        "usr/share/augeas/lenses/test.aug": "old.deb",
    }
    want = config_files.check_config_files(old, new)
    got = config_files.compare_facts(_json(fo), _json(fn), "old", "new")  # type: ignore[arg-type]
    assert got == want  # findings, status and evidence
    assert {(f.rule, f.symbol) for f in got.findings} == {
        ("config-parameter-unreadable", "b"),  # int_val lost
        ("config-parameter-unreadable", "c"),
        ("config-parameter-active", "b"),
    }
    active = next(f for f in got.findings if f.rule == "config-parameter-active")
    assert active.location is not None and active.location.line == 2
    # a comment's value edited changes no item
    edited = _conf_rel("old", 'str_entry "a" | int_entry "b" | str_entry "c"', '#a = "z"\n#b = 9\n')
    assert config_files.facts(edited) == fo
    none = ReleaseFiles("none", {})
    assert config_files.facts(none) is None
    assert config_files.compare_facts(fo, None, "old", "none") == (
        config_files.check_config_files(old, none)
    )
    with pytest.raises(InputError, match=r"^old \(configfiles facts\): bad item 'lens "):
        config_files.compare_facts({"lens x.aug": {"module": "X"}}, fn, "old")


# --------------------------------------------------------------------------- apierrors, hvdrivers


def _errors_rel(label: str, values: dict[str, tuple[str, str]], drivers: list[str]) -> ReleaseFiles:
    enums = "".join(
        f"<enum name='{n}' file='virterror' value='{v}' type='{e}'/>"
        for n, (e, v) in values.items()
    )
    xml = f"<api name='libvirt'><symbols>{enums}</symbols></api>".encode()
    files = {api_errors.API_XML_PATH: xml}
    for d in drivers:
        files[f"usr/lib/x86_64-linux-gnu/libvirt/connection-driver/{d}"] = b"\x7fELF"
    return ReleaseFiles(label, files, {api_errors.API_XML_PATH: f"libvirt-dev_{label}.deb"})


def test_error_and_driver_facts_judge_as_the_files() -> None:
    old = _errors_rel(
        "1",
        {"VIR_ERR_OK": ("virErrorNumber", "0"), "VIR_ERR_X": ("virErrorNumber", "1"),
         "VIR_FROM_A": ("virErrorDomain", "0"), "VIR_FROM_B": ("virErrorDomain", "VIR_FROM_A")},
        ["libvirt_driver_qemu.so", "libvirt_driver_vbox.so"],
    )  # fmt: skip
    new = _errors_rel(
        "2",
        {"VIR_ERR_OK": ("virErrorNumber", "0"), "VIR_ERR_Y": ("virErrorNumber", "1"),
         "VIR_FROM_A": ("virErrorDomain", "1"), "VIR_FROM_B": ("virErrorDomain", "0")},
        ["libvirt_driver_qemu.so", "libvirt_driver_ch.so"],
    )  # fmt: skip
    fo, fn = api_errors.error_facts(old), api_errors.error_facts(new)
    assert fo == {
        "virErrorDomain VIR_FROM_A": "0",
        "virErrorDomain VIR_FROM_B": "0",  # an alias: its number
        "virErrorNumber VIR_ERR_OK": "0",
        "virErrorNumber VIR_ERR_X": "1",
    }
    want = api_errors.check_api_errors(old, new)
    got = api_errors.compare_error_facts(_json(fo), _json(fn))  # type: ignore[arg-type]
    assert got.findings == want.findings
    # X gone, Y new, A renumbered; B (an alias of 0 before, 0 now) is no finding
    assert [f.symbol for f in got.findings] == ["VIR_ERR_X", "VIR_FROM_A", "VIR_ERR_Y"]
    assert got.status is want.status and got.reason == want.reason
    assert got.evidence == {
        side: {k: v for k, v in ev.items() if k not in ("file", "package")}  # type: ignore[attr-defined]
        for side, ev in want.evidence.items()
    }
    none = ReleaseFiles("none", {})
    assert api_errors.error_facts(none) is None
    nc = api_errors.compare_error_facts(fo, None)
    assert nc.reason == api_errors.check_api_errors(old, none).reason
    assert nc.status is SectionStatus.NOT_CHECKED
    do, dn = api_errors.driver_facts(old), api_errors.driver_facts(new)
    assert do is not None and sorted(do) == ["libvirt_driver_qemu.so", "libvirt_driver_vbox.so"]
    assert api_errors.compare_driver_facts(_json(do), _json(dn)) == api_errors.check_drivers(  # type: ignore[arg-type]
        old, new
    )
    assert api_errors.driver_facts(none) is None
    assert api_errors.compare_driver_facts(None, dn) == api_errors.check_drivers(none, new)
    with pytest.raises(InputError, match=r"^graph \(apierrors facts\): bad item"):
        api_errors.compare_error_facts({"VIR_ERR_OK": 0}, fn, "graph")


# --------------------------------------------------------------------------- API descriptions

API = b"""<?xml version="1.0"?>
<api name='libvirt'>
  <symbols>
    <macro name='LIBVIR_X' file='libvirt-common' params='a, b' raw='(a + b)'/>
    <macro name='VIR_S' file='libvirt' string='s' version='1.0.0'/>
    <enum name='VIR_A' file='libvirt-domain' value='1' type='virA' version='1.0.0'/>
    <enum name='VIR_B' file='libvirt-domain' value='VIR_A' type='virA'/>
    <enum name='VIR_HUGE' file='libvirt-domain' value='0xffffffffffffffffffff' type='virA'/>
    <typedef name='virConnectPtr' file='libvirt-host' type='virConnect *'/>
    <struct name='virT' file='libvirt-domain' type='struct _virT'>
      <field name='a' type='int'/>
      <field name='u' type='union'><union><field name='i' type='int'/></union></field>
    </struct>
    <struct name='virOpaque' file='libvirt-host' type='struct _virOpaque'/>
    <functype name='virCb' file='libvirt-host'><return type='int'/>
      <arg name='x' type='void *'/></functype>
    <function name='virF' file='libvirt-host' version='1.0.0'><return type='int'/>
      <arg name='conn' type='virConnectPtr'/><arg name='' type='unsigned int'/></function>
    <function name='virG' file='libvirt-host'/>
    <variable name='virV' file='libvirt-host' type='virConnectAuthPtr'/>
  </symbols>
</api>
"""


def test_description_comes_back_equal() -> None:
    d = parse_api(API, "libvirt-dev_1.deb:/usr/share/libvirt/api/libvirt-api.xml")
    facts = description_facts(d)
    assert _json(facts) == facts
    assert description_from_facts("libvirt", _json(facts)) == d  # type: ignore[arg-type]
    assert facts["enum VIR_HUGE"]["number"] == str(0xFFFFFFFFFFFFFFFFFFFF)  # type: ignore[index]
    assert "returns" not in facts["function virG"]  # type: ignore[operator]
    assert facts["lines function"] == {"virF": [17, 5], "virG": [19, 5]}
    # an item moved down a line changes only the lines item
    moved = description_facts(parse_api(API.replace(b"<symbols>", b"<symbols>\n"), d.path))
    assert sorted(k for k in facts if facts[k] != moved[k]) == [
        f"lines {k}"
        for k in ("enum", "function", "functype", "macro", "struct", "typedef", "variable")
    ]
    with pytest.raises(InputError, match=r"^libvirt-qemu \(API description facts\)"):
        description_from_facts("libvirt-qemu", facts)  # the facts of another API
    bad = dict(facts, **{"function virF": {"args": [["x"]]}})
    with pytest.raises(InputError, match=r"bad item 'function virF'"):
        description_from_facts("libvirt", bad)


# --------------------------------------------------------------------------- real releases

SUITES = ("bullseye", "bookworm", "bookworm-backports", "trixie", "sid")


def _need(suite: str) -> ReleaseFiles:
    import realdebs

    d = realdebs.full_set(suite, needs=("libvirt-daemon-system", "libvirt-dev"))
    return read_release(str(d)).files


_cache: dict[str, tuple[ReleaseFiles, dict[str, dict[str, object] | None]]] = {}


def _real(suite: str) -> tuple[ReleaseFiles, dict[str, dict[str, object] | None]]:
    """A suite's files and its facts per section, through JSON."""
    if suite not in _cache:
        rf = _need(suite)
        facts = {
            "xmlschema": schemas.facts(rf),
            "configfiles": config_files.facts(rf),
            "apierrors": api_errors.error_facts(rf),
            "hvdrivers": api_errors.driver_facts(rf),
        }
        for name, f in facts.items():
            assert f is not None, f"{suite} ships nothing for {name}"
            assert _json(f) == f
            facts[name] = _json(f)  # type: ignore[assignment]  # as a graph gives them back
        _cache[suite] = rf, facts
    return _cache[suite]


def _pairs() -> Iterator[tuple[str, str]]:
    yield from itertools.pairwise(SUITES)  # bullseye -> bookworm -> ... -> sid
    yield from (("sid", "bullseye"), ("trixie", "bookworm"), ("bookworm", "sid"))


@pytest.mark.real
@pytest.mark.parametrize("old, new", list(_pairs()))
def test_real_facts_judge_as_the_files(old: str, new: str) -> None:
    o, fo = _real(old)
    n, fn = _real(new)
    want = schemas.check_schemas(o, n)
    got = schemas.compare_facts(fo["xmlschema"], fn["xmlschema"], o.label, n.label)
    assert want.status is got.status is SectionStatus.CHECKED
    assert tuple(schemas.without_evidence(f) for f in want.findings) == got.findings
    quoted = sum(1 for f in want.findings if schemas.EVIDENCE in f.message)
    assert quoted == want.evidence["documents_confirmed"]
    assert got.evidence["element_paths"] == want.evidence["element_paths"]

    want = config_files.check_config_files(o, n)
    got = config_files.compare_facts(fo["configfiles"], fn["configfiles"], o.label, n.label)
    assert got == want and want.status is SectionStatus.CHECKED

    want = api_errors.check_api_errors(o, n)
    got = api_errors.compare_error_facts(fo["apierrors"], fn["apierrors"], o.label, n.label)
    assert got.findings == want.findings and got.status is want.status is SectionStatus.CHECKED

    want = api_errors.check_drivers(o, n)
    assert api_errors.compare_driver_facts(fo["hvdrivers"], fn["hvdrivers"]) == want


@pytest.mark.real
@pytest.mark.parametrize("suite", SUITES)
def test_real_schema_models_come_back(suite: str) -> None:
    rf, facts = _real(suite)
    files = schemas.schema_files(rf)
    ss = relaxng.SchemaSet(files)
    side = schemas.side_of(facts["xmlschema"] or {})
    assert {path for path, _ in side.values()} == set(files)
    for path, model in side.values():
        assert model == (ss.model(path) if ss.is_schema(path) else None), path
    # domainsnapshot.rng holds domain.rng's devices: given as shared subtrees, not copied
    shared = [k for k, v in (facts["xmlschema"] or {}).items() if "as" in v]  # type: ignore[operator]
    assert any(k.startswith("element domainsnapshot.rng ") for k in shared)


def _descriptions(rf: ReleaseFiles) -> dict[str, ApiDescription]:
    return {
        d.name: d
        for d in (
            load_api(data, f"{rf.origin.get(p, rf.label)}:/{p}")
            for p, data in rf.files.items()
            if is_api_description(p)
        )
    }


@pytest.mark.real
def test_real_api_descriptions_judge_as_the_xml() -> None:
    apis = {s: _descriptions(_real(s)[0]) for s in SUITES}
    for suite, ds in apis.items():
        assert {"libvirt", "libvirt-qemu", "libvirt-lxc", "libvirt-admin"} <= set(ds), suite
        for name, d in ds.items():
            assert description_from_facts(name, _json(description_facts(d))) == d  # type: ignore[arg-type]
    compared = 0
    for a, b in itertools.product(SUITES, SUITES):
        for name in sorted(apis[a].keys() & apis[b].keys()):
            o, n = apis[a][name], apis[b][name]
            rebuilt = (
                description_from_facts(name, _json(description_facts(d)))  # type: ignore[arg-type]
                for d in (o, n)
            )
            assert compare_api(*rebuilt) == compare_api(o, n), (a, b, name)
            compared += 1
    assert compared == len(SUITES) ** 2 * 4


# --------------------------------------------------------------------------- hostile facts

_ODD: list[object] = [None, 0, -1, 10**30, "", "x", [], {}, [1], ["a"], {"a": 1}, True, 1.5]


def _mutate(rnd: random.Random, o: object) -> object:
    """``o`` with one member dropped, renamed or replaced by an odd JSON value."""
    if isinstance(o, dict) and o and rnd.random() < 0.7:
        out = dict(o)
        k = rnd.choice(sorted(out))
        r = rnd.random()
        if r < 0.2:
            del out[k]
        elif r < 0.4:
            out[k + rnd.choice([" x", "", "/y"])] = out[k]
        else:
            out[k] = _mutate(rnd, out[k])
        return out
    if isinstance(o, list) and o and rnd.random() < 0.7:
        items = list(o)
        i = rnd.randrange(len(items))
        if rnd.random() < 0.3:
            del items[i]
        else:
            items[i] = _mutate(rnd, items[i])
        return items
    return json.loads(json.dumps(rnd.choice(_ODD)))


def test_mutated_facts_are_a_verdict_or_one_line() -> None:
    """Facts a corrupt graph could hold: a verdict or an InputError, never a traceback."""
    rnd = random.Random(13)
    sf = schemas.facts(_schema_rel("a", domain_rng=_domain(), snapshot_rng=_snapshot()))
    cf = config_files.facts(_conf_rel("a", 'str_entry "a" | int_entry "b"', '#a = "x"\nb = 1\n'))
    d = parse_api(API, "libvirt-api.xml")
    ef = {"virErrorNumber VIR_ERR_OK": "0", "virErrorDomain VIR_FROM_A": "1"}
    df = {"libvirt_driver_qemu.so": ["usr/lib/libvirt/connection-driver/libvirt_driver_qemu.so"]}
    assert sf is not None and cf is not None
    cases: list[tuple[dict[str, object], Callable[[Any], object]]] = [
        (dict(sf), lambda f: (schemas.compare_facts(f, sf), schemas.compare_facts(sf, f))),
        (
            dict(cf),
            lambda f: (config_files.compare_facts(f, cf), config_files.compare_facts(cf, f)),
        ),
        (description_facts(d), lambda f: compare_api(description_from_facts("libvirt", f), d)),
        (dict(ef), lambda f: api_errors.compare_error_facts(f, ef)),
        (dict(df), lambda f: api_errors.compare_driver_facts(f, df)),
    ]
    for base, judge in cases:
        outcomes = {"verdict": 0, "error": 0}
        for _ in range(300):
            f: object = base
            for _ in range(rnd.randint(1, 3)):
                f = _mutate(rnd, f)
            if not isinstance(f, dict):
                continue
            try:
                judge(f)
                outcomes["verdict"] += 1
            except InputError as e:
                assert "\n" not in str(e) and "facts" in str(e)
                outcomes["error"] += 1
        assert outcomes["verdict"] and outcomes["error"], outcomes

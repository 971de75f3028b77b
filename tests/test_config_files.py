"""Configuration files and augeas lenses (issue 12, section ``configfiles``).

Hand-written lenses for the parser; one scenario per rule; bad input; Debian's real augeas
(``augtool``) as the oracle of what each real lens reads; every pair of real Debian releases
judged, both directions, with the real findings pinned.
"""

# ruff: noqa: E501  (the lens texts are augeas, written as libvirt writes them)
from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from elfaudit.analysis.config_files import check_config_files, confs_of, lenses_of
from elfaudit.base.errors import InputError
from elfaudit.model.config import Lens
from elfaudit.model.guarantees import ReleaseFiles, SectionStatus
from elfaudit.readers.augeas_lens import parse_lens
from elfaudit.readers.libvirt_conf import parse_conf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

LENS = "usr/share/augeas/lenses/"

HEADER = """\
(* /etc/libvirt/t.conf *)
module T =
   autoload xfm

   let eol   = del /[ \\t]*\\n/ "\\n"
   let value_sep   = del /[ \\t]*=[ \\t]*/  " = "
   let indent = del /[ \\t]*/ ""
   let array_sep  = del /,[ \\t\\n]*/ ", "
   let array_start = del /\\[[ \\t\\n]*/ "[ "
   let array_end = del /\\]/ "]"
   let str_val = del /\\"/ "\\"" . store /[^\\"]*/ . del /\\"/ "\\""
   let bool_val = store /0|1/
   let int_val = store /[0-9]+/
   let str_array_element = [ seq "el" . str_val ] . del /[ \\t\\n]*/ ""
   let str_array_val = counter "el" . array_start . ( str_array_element . ( array_sep . str_array_element ) * ) ? . array_end
   let unlimited_val =  del /\\"/ "\\"" . store /unlimited/ . del /\\"/ "\\""

   let str_entry       (kw:string) = [ key kw . value_sep . str_val ]
   let bool_entry      (kw:string) = [ key kw . value_sep . bool_val ]
   let int_entry       (kw:string) = [ key kw . value_sep . int_val ]
   let str_array_entry (kw:string) = [ key kw . value_sep . str_array_val ]
   let limits_entry (kw:string) = [ key kw . value_sep . unlimited_val ] |  [ key kw . value_sep . int_val ]
"""
FOOTER = """
   let comment = [ label "#comment" . del /#[ \\t]*/ "# " .  store /([^ \\t\\n][^\\n]*)?/ . del /\\n/ "\\n" ]
   let empty = [ label "#empty" . eol ]
   let record = indent . entry . eol
   let lns = ( record | comment | empty ) *
   let filter = incl "/etc/libvirt/t.conf"
              . incl "/etc/libvirt/t-*.conf"
              . Util.stdexcl
   let xfm = transform lns filter
"""


def lens_text(entries: str) -> str:
    return HEADER + entries + FOOTER


def release(label: str, lens: str | None, conf: str | None, name: str = "t.conf") -> ReleaseFiles:
    files: dict[str, bytes] = {}
    if lens is not None:
        files[LENS + "t.aug"] = lens.encode()
        files[LENS + "tests/test_t.aug"] = b"module Test_t = test T.lns get ... (* not a lens *)"
    if conf is not None:
        files["etc/libvirt/" + name] = conf.encode()
    return ReleaseFiles(label=label, files=files, origin=dict.fromkeys(files, "pkg"))


ENTRIES = """
   (* grouped, as libvirt writes them *)
   let net_entry = bool_entry "listen_tls"
                 | str_entry "listen_addr"
   let misc_entry = int_entry "max_clients" | str_array_entry "access_drivers"
                  | limits_entry "max_core"
   let obsolete_entry = bool_entry "gone_option"  (* (* nested *) comment *)
   let entry = net_entry | misc_entry | obsolete_entry
"""
CONF = """\
# Master configuration file
#listen_tls = 0
# listen_addr = "192.168.0.1"
#max_clients = 5000
#access_drivers = [ "polkit" ]
#   audit_level == 0  -> prose, not a parameter
# type=address but prose again
#       user = "qemu"   # an example inside prose
#max_core = "unlimited"
"""


# --------------------------------------------------------------------------- the lens reader


def test_lens_parameters_kinds_and_files() -> None:
    lens = parse_lens(lens_text(ENTRIES).encode(), "t.aug")
    assert lens.module == "T"
    kinds = {n: p.kind for n, p in lens.parameters.items()}
    assert kinds == {
        "access_drivers": "str_array",
        "gone_option": "bool",
        "listen_addr": "str",
        "listen_tls": "bool",
        "max_clients": "int",
        "max_core": "limits",
    }
    assert lens.parameters["max_core"].forms == ("unlimited_val", "int_val")
    assert lens.includes == ("etc/libvirt/t.conf", "etc/libvirt/t-*.conf")
    assert lens.covers("etc/libvirt/t.conf") and lens.covers("etc/libvirt/t-lockd.conf")
    assert not lens.covers("etc/libvirt/other.conf")
    # array elements ([ seq "el" ... ]) and #comment labels are no parameters
    assert "el" not in lens.parameters and "#comment" not in lens.parameters


def test_lens_local_let_in_direct_keys_and_regex_keys() -> None:
    text = lens_text(
        """
   let entry = let kw = "local_one" in [ key kw . value_sep . str_val ]
             | [ key "direct" . value_sep . int_val ]
             | [ key /x_[a-z]+/ . value_sep . int_val ]
"""
    )
    lens = parse_lens(text.encode(), "t.aug")
    assert {n: p.kind for n, p in lens.parameters.items()} == {"direct": "int", "local_one": "str"}
    assert lens.patterns == ("x_[a-z]+",)


def test_conf_documented_and_active() -> None:
    conf = parse_conf((CONF + 'listen_addr = "0.0.0.0"\n').encode(), "etc/libvirt/t.conf")
    assert sorted(conf.parameters) == [
        "access_drivers",
        "listen_addr",
        "listen_tls",
        "max_clients",
        "max_core",
    ]
    assert [(p.name, p.line) for p in conf.active] == [("listen_addr", 10)]


@pytest.mark.parametrize(
    "text, why",
    [
        ("let x = 1", "not an augeas module"),
        ('module T =\n  let x = (del /a/ "a"', "expected )"),
        ("module T =\n  (* never closed", "unterminated comment"),
        ('module T =\n  let x = "open', "unexpected character"),
        ('module T =\n  let x = del /a/ "a" @', "unexpected character"),
        ("module T =\n  x = 1", "expected let or autoload"),
    ],
)
def test_bad_lens_is_one_input_error(text: str, why: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_lens(text.encode(), "usr/share/augeas/lenses/bad.aug")
    assert exc.value.message.startswith("usr/share/augeas/lenses/bad.aug")
    assert why in exc.value.message and "\n" not in exc.value.message


def test_bad_bytes_are_input_errors() -> None:
    with pytest.raises(InputError, match=r"bad.aug:1: not UTF-8"):
        parse_lens(b"module \xff", "bad.aug")
    with pytest.raises(InputError, match=r"t.conf:2: not UTF-8"):
        parse_conf(b"#a = 1\n\xfe", "t.conf")


def test_a_lens_that_does_not_parse_fails_the_check() -> None:
    bad = release("new", "module T =\n  let = 1", CONF)
    with pytest.raises(InputError, match=r"usr/share/augeas/lenses/t.aug:2: "):
        check_config_files(release("old", lens_text(ENTRIES), CONF), bad)


def test_no_evidence_is_not_checked() -> None:
    empty = ReleaseFiles(label="libvirt0-only", files={"usr/lib/x.so": b"\x7fELF"})
    got = check_config_files(empty, release("new", lens_text(ENTRIES), CONF))
    assert got.section == "configfiles" and got.status is SectionStatus.NOT_CHECKED
    assert "libvirt0-only" in got.reason and not got.findings


# --------------------------------------------------------------------------- the rules


def rules(old: ReleaseFiles, new: ReleaseFiles) -> dict[str, set[str | None]]:
    got = check_config_files(old, new)
    assert got.status is SectionStatus.CHECKED
    out: dict[str, set[str | None]] = {}
    for f in got.findings:
        assert f.library.startswith("etc/libvirt/")
        out.setdefault(f.rule, set()).add(f.symbol)
    return out


def test_same_release_is_clean() -> None:
    r = release("r", lens_text(ENTRIES), CONF)
    assert rules(r, r) == {}


def test_parameter_removed_from_lens_is_unreadable() -> None:
    old = release("old", lens_text(ENTRIES), CONF)
    new = release("new", lens_text(ENTRIES.replace('| str_entry "listen_addr"', "")), CONF)
    got = rules(old, new)
    assert got == {"config-parameter-unreadable": {"listen_addr"}}


def test_parameter_changed_kind_is_unreadable() -> None:
    old = release("old", lens_text(ENTRIES), CONF)
    new = release(
        "new",
        lens_text(ENTRIES.replace('int_entry "max_clients"', 'str_entry "max_clients"')),
        CONF,
    )
    got = check_config_files(old, new)
    [f] = got.findings
    assert (f.rule, f.symbol) == ("config-parameter-unreadable", "max_clients")
    assert "int_val no longer parses" in f.message


def test_documented_but_never_read_is_unreadable() -> None:
    conf = CONF + "#new_knob = 1\n"
    got = rules(release("old", lens_text(ENTRIES), CONF), release("new", lens_text(ENTRIES), conf))
    assert got == {"config-parameter-unreadable": {"new_knob"}}


def test_dropped_from_file_but_still_read_is_info() -> None:
    conf = CONF.replace("#max_clients = 5000\n", "")
    got = check_config_files(
        release("old", lens_text(ENTRIES), CONF), release("new", lens_text(ENTRIES), conf)
    )
    [f] = got.findings
    assert (f.rule, f.symbol, f.severity.value) == (
        "config-parameter-dropped",
        "max_clients",
        "info",
    )


def test_active_parameter() -> None:
    new = release("new", lens_text(ENTRIES), CONF + "listen_tls = 1\n")
    got = check_config_files(release("old", lens_text(ENTRIES), CONF), new)
    [f] = got.findings
    assert (f.rule, f.symbol, f.severity.value) == (
        "config-parameter-active",
        "listen_tls",
        "warning",
    )
    assert f.location is not None and f.location.line == 10


def test_file_no_lens_covers() -> None:
    old = release("old", lens_text(ENTRIES), CONF)
    new = release("new", lens_text(ENTRIES), CONF, name="other.conf")
    got = rules(old, new)
    # t.conf is gone but its lens still reads what it documented: dropped, info
    assert got["config-lens-missing"] == {None}
    assert got["config-parameter-dropped"] == {
        "access_drivers", "listen_addr", "listen_tls", "max_clients", "max_core",
    }  # fmt: skip
    assert "config-parameter-unreadable" not in got


def test_lens_gone_makes_every_parameter_unreadable() -> None:
    got = rules(release("old", lens_text(ENTRIES), CONF), release("new", None, CONF))
    assert got["config-parameter-unreadable"] == {
        "access_drivers", "gone_option", "listen_addr", "listen_tls", "max_clients", "max_core",
    }  # fmt: skip
    assert got["config-lens-missing"] == {None}


# --------------------------------------------------------------------------- real data

SUITES = ("bullseye", "bookworm", "trixie", "sid")


@functools.cache
def real(suite: str) -> ReleaseFiles | None:
    """The cached full package set of ``suite`` (``fetch_debian.py --set full``), read the
    way ``elfaudit guarantees`` reads it; None when it is not cached."""
    import realdebs

    from elfaudit.base.errors import InputError
    from elfaudit.readers.release_files import read_release

    d = realdebs.cache_dir() / "debs" / suite / "amd64"
    if not list(d.glob("libvirt-daemon*_*.deb")):
        return None
    try:
        files = read_release(str(d)).files
    except InputError:
        return None
    if not any(p.startswith(LENS) for p in files.files):
        return None
    return ReleaseFiles(label=suite, files=files.files, origin=files.origin)


def need(suite: str) -> ReleaseFiles:
    r = real(suite)
    if r is None:
        pytest.skip(
            f"no cached {suite} package set (python3 scripts/fetch_debian.py --set full "
            f"--suite {suite})"
        )
    return r


VALUES = {
    "str_val": '"x"',
    "bool_val": "1",
    "int_val": "1",
    "str_array_val": '[ "a", "b" ]',
    "unlimited_val": '"unlimited"',
    "bytes_val": '"1G"',
}


def augtool_read(root: Path, lensdir: Path, lens: Lens, path: str, text: str) -> set[str] | None:
    """The top-level nodes augeas reads from ``text`` as ``path`` with ``lens`` loaded
    explicitly (no autoload), or None when augeas fails to parse it."""
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    script = (
        f"set /augeas/load/T/lens {lens.module}.lns\n"
        f"set /augeas/load/T/incl /{path}\n"
        "load\n"
        f"match /augeas/files/{path}/error\n"
        f"match /files/{path}/*\n"
    )
    done = subprocess.run(
        ["augtool", "-r", str(root), "--noautoload", "-I", str(lensdir)],
        input=script, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    if any("/error" in ln for ln in lines):
        return None
    return {ln.split(" = ")[0].rsplit("/", 1)[1] for ln in lines if ln.startswith("/files/")}


def sample(lens: Lens, names: list[str]) -> str:
    return "".join(f"{n} = {VALUES[lens.parameters[n].forms[0]]}\n" for n in names)


@pytest.fixture
def augtool() -> None:
    if shutil.which("augtool") is None:
        pytest.skip("augtool is not installed (apt-get install augeas-tools)")


@pytest.mark.real
@pytest.mark.parametrize("suite", SUITES)
def test_augtool_oracle_on_real_lenses(suite: str, augtool: None, tmp_path: Path) -> None:
    rel = need(suite)
    lensdir = tmp_path / "lenses"
    lensdir.mkdir()
    for p, data in rel.under(LENS).items():
        if "/tests/" not in p:
            (lensdir / Path(p).name).write_bytes(data)
    lenses, confs = lenses_of(rel), confs_of(rel)
    checked = 0
    for lens in lenses.values():
        for path in lens.includes:
            root = tmp_path / f"root-{checked}"
            names = sorted(lens.parameters)
            # every parameter the reader says the lens reads, in each of its value forms
            for form in range(max(len(p.forms) for p in lens.parameters.values())):
                text = "".join(
                    f"{n} = {VALUES[p.forms[min(form, len(p.forms) - 1)]]}\n"
                    for n, p in sorted(lens.parameters.items())
                )
                assert augtool_read(root, lensdir, lens, path, text) == set(names), (lens, form)
            # every parameter the shipped file documents, uncommented
            conf = confs.get(path)
            if conf is not None:
                documented = sorted(conf.parameters)
                assert set(documented) <= set(names), (path, set(documented) - set(names))
                got = augtool_read(root, lensdir, lens, path, "# kept\n" + sample(lens, documented))
                assert got == {"#comment", *documented}
            # and one the lens does not read makes augeas fail
            bogus = sample(lens, names[:1]) + "elfaudit_not_a_parameter = 1\n"
            assert augtool_read(root, lensdir, lens, path, bogus) is None
            checked += 1
    assert checked >= 8


PAIRS = [(a, b) for a in SUITES for b in SUITES if a != b]

# The real history, pinned: each pair's findings by rule -> {file: parameters}.
LENS_MISSING_ALWAYS = {
    "etc/libvirt/libvirt.conf",  # libvirt-clients / libvirt-common: uri_aliases, uri_default
    "etc/libvirt/libvirt-admin.conf",
    "etc/libvirt/virt-login-shell.conf",  # libvirt-login-shell
    "etc/libvirt/libxl-lockd.conf",  # libvirt_lockd.aug includes qemu-lockd.conf only
}
# libxl-sanlock.conf: no lens until libvirt_sanlock.aug included it (sid's 12.8.0)
LENS_MISSING = {
    "bullseye": LENS_MISSING_ALWAYS | {"etc/libvirt/libxl-sanlock.conf"},
    "bookworm": LENS_MISSING_ALWAYS | {"etc/libvirt/libxl-sanlock.conf"},
    "trixie": LENS_MISSING_ALWAYS | {"etc/libvirt/libxl-sanlock.conf"},
    "sid": LENS_MISSING_ALWAYS,
}


# (old, new) -> unreadable parameters of the downgrade, and one of them
DOWNGRADES = {
    ("bookworm", "bullseye"): (3, "etc/libvirt/libvirtd.conf:tcp_min_ssf"),
    ("trixie", "bullseye"): (20, "etc/libvirt/virtlogd.conf:max_age_days"),
    ("trixie", "bookworm"): (17, "etc/libvirt/network.conf:firewall_backend"),
    ("sid", "bullseye"): (49, "etc/libvirt/secret.conf:secrets_encryption_key"),
    ("sid", "bookworm"): (46, "etc/libvirt/libvirtd.conf:key_files"),
    ("sid", "trixie"): (29, "etc/libvirt/virtlogd.conf:max_size"),
}


@pytest.mark.real
@pytest.mark.parametrize("old, new", PAIRS)
def test_real_pairs(old: str, new: str) -> None:
    a, b = need(old), need(new)
    got = check_config_files(a, b)
    assert got.status is SectionStatus.CHECKED
    by_rule: dict[str, dict[str, set[str | None]]] = {}
    for f in got.findings:
        by_rule.setdefault(f.rule, {}).setdefault(f.library, set()).add(f.symbol)
    assert set(by_rule.get("config-lens-missing", {})) == LENS_MISSING[new]
    assert "config-parameter-active" not in by_rule  # every shipped file comments all out
    forward = SUITES.index(old) < SUITES.index(new)
    unreadable = by_rule.get("config-parameter-unreadable", {})
    if forward:
        # upgrades keep the promise: every parameter read before is still read
        assert unreadable == {}
    else:
        # a downgrade cannot read what the newer lens added: the rule sees it
        count, example = DOWNGRADES[(old, new)]
        assert sum(len(v) for v in unreadable.values()) == count
        assert example in {f"{p}:{s}" for p, names in unreadable.items() for s in names}


@pytest.mark.real
def test_real_downgrade_sid_to_bookworm_evidence(augtool: None, tmp_path: Path) -> None:
    """sid's libvirtd.conf documents key_files/cert_files (new in 12.x); bookworm's lens
    cannot read them: augeas itself fails on a file that sets one."""
    sid, bookworm = need("sid"), need("bookworm")
    got = check_config_files(sid, bookworm)
    unreadable = {
        (f.library, f.symbol) for f in got.findings if f.rule == "config-parameter-unreadable"
    }
    assert ("etc/libvirt/libvirtd.conf", "key_files") in unreadable
    assert ("etc/libvirt/virtlogd.conf", "max_size") in unreadable  # bytes_entry -> int_entry
    lensdir = tmp_path / "lenses"
    lensdir.mkdir()
    for p, data in bookworm.under(LENS).items():
        if "/tests/" not in p:
            (lensdir / Path(p).name).write_bytes(data)
    lens = lenses_of(bookworm)[LENS + "libvirtd.aug"]
    path = "etc/libvirt/libvirtd.conf"
    assert augtool_read(tmp_path / "r", lensdir, lens, path, 'key_files = [ "a" ]\n') is None
    vl = lenses_of(bookworm)[LENS + "virtlogd.aug"]
    assert (
        augtool_read(tmp_path / "r", lensdir, vl, "etc/libvirt/virtlogd.conf", 'max_size = "1G"\n')
        is None
    )


@pytest.mark.real
def test_real_libxl_lockd_has_no_lens(augtool: None) -> None:
    """Every release ships libxl-lockd.conf (5 parameters) but libvirt_lockd.aug includes
    only qemu-lockd.conf: augeas loads nothing for it."""
    for suite in SUITES:
        rel = need(suite)
        lenses = lenses_of(rel)
        assert "etc/libvirt/libxl-lockd.conf" in rel.files
        assert not [ls for ls in lenses.values() if ls.covers("etc/libvirt/libxl-lockd.conf")]
        lockd = lenses[LENS + "libvirt_lockd.aug"]
        assert lockd.includes == ("etc/libvirt/qemu-lockd.conf",)

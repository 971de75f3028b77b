"""Fuzz campaign: mutated inputs of every kind elfaudit reads, fed to its real readers.

Usage::

    python3 scripts/fuzz.py --inputs 100000 --json fuzz.json     # the campaign (README)
    python3 scripts/fuzz.py --inputs 600 --seed 1                # a quick run (the tests)

Kinds: ``elf`` (shared libraries), ``script`` (GNU ld version scripts, matched against the
seed library's symbols), ``snapshot`` (``dump --format json``), ``graph`` (release graph
files), ``apixml`` (libvirt-api.xml), ``deb`` (Debian packages), ``symbols`` (Debian symbols
files), ``profile`` and ``waivers`` (JSON policy files), ``wireshark`` (libvirt's dissector
plugin), ``tapset`` (libvirt's systemtap ``libvirt_functions.stp``), ``virsh`` (virsh's command
and option tables, as 10.x lays them out). Seeds are built here: a small
library with gcc (nodes, parents, compat symbols, an IFUNC, data objects, TLS), its
snapshot, a graph recorded from it, a .deb holding it (dpkg-deb), a symbols file, an API
description; real libvirt version scripts from ``../shared`` join the script seeds when
present.

Each input is written to a file and read through the loader the CLI uses, in one of two
worker processes whose address space is capped (``--memory-mib``, RLIMIT_AS). An input
ends in one of:

* ``ok``: read;
* ``refused``: an :class:`~elfaudit.base.errors.ElfauditError` (a clean, one-line error);
* ``crash``: any other exception (an internal error), the input is saved under ``--save``;
* ``hang``: not done within ``--timeout`` seconds (SIGALRM), saved too;
* ``memory``: ``MemoryError`` under the cap, saved too.

The table at the end gives the counts per kind, the workers' peak RSS and the time taken;
``--json`` keeps them. The exit status is 1 when any input crashed, hung or blew memory.

``--engine atheris --kinds KIND --seconds N`` runs one kind coverage-guided instead
(atheris, libFuzzer's engine for Python: ``pip install '.[fuzz]'``), with elfaudit's modules
instrumented, starting from the same seeds; a crash stops it with libFuzzer's report and
the input saved as ``crash-*`` in the current folder, a hang after ``--timeout``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = (
    "elf",
    "script",
    "snapshot",
    "graph",
    "apixml",
    "deb",
    "symbols",
    "profile",
    "waivers",
    "wireshark",
    "tapset",
    "virsh",
)
OUTCOMES = ("ok", "refused", "crash", "hang", "memory")
BAD = ("crash", "hang", "memory")

LIB_C = r"""
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
__asm__(".symver foo_v1, foo@LIBF_1.0");
__asm__(".symver foo_v2, foo@@LIBF_2.0");
int base_fn(void) { return 0; }
int table[10] = {1};
__thread int tls_counter;
__attribute__((weak)) int weak_fn(void) { return 3; }
static int impl(void) { return 5; }
static void *resolve(void) { return (void *)impl; }
int ifn(void) __attribute__((ifunc("resolve")));
int newer(void) { return 6; }
int private_helper(void) { return 7; }
"""
# libvirt's wireshark plugin in miniature: hf_register_info entries (a program, its
# procedures, a message with a struct-typed member and an array), value_strings, and x86-64
# code that loads the fields' hf variables and calls a member type's dissector.
PLUGIN_C = r"""
typedef struct { unsigned int value; const char *strptr; } value_string;
typedef struct {
    const char *name; const char *abbrev; int type; int display; const void *strings;
    unsigned long long bitmask; const char *blurb;
    int id; int parent; int ref_type; int same_name_prev_id; void *same_name_next;
} header_field_info;
typedef struct { int *p_id; header_field_info hfinfo; } hf_register_info;
#define F(var, abbrev, type, strings) \
    { &var, { abbrev, "libvirt." abbrev, type, 1, strings, 0, 0, -1, 0, 0, -1, 0 } }
static const value_string program_strings[] = { { 0x20008086, "REMOTE" }, { 0, 0 } };
static const value_string remote_procedure_strings[] = {
    { 1, "CONNECT_OPEN" }, { 16, "DOMAIN_GET_INFO" }, { 0, 0 } };
static int h[16];
hf_register_info hf[] = {
    F(h[0], "program", 7, program_strings), F(h[1], "serial", 7, 0),
    F(h[2], "procedure", 15, remote_procedure_strings),
    F(h[3], "remote_nonnull_domain.name", 26, 0), F(h[4], "remote_nonnull_domain", 0, 0),
    F(h[5], "remote_x_args.dom", 0, 0), F(h[6], "remote_x_args.names.names", 26, 0),
    F(h[7], "remote_x_args.names", 0, 0), F(h[8], "remote_x_args", 0, 0),
};
int plugin_want_major = 4, plugin_want_minor = 6;
extern int use(int a, int b);
static __attribute__((noinline)) int dissect_dom(int hf) { return use(h[4], hf) + use(h[3], 0); }
static __attribute__((noinline)) int dissect_array(int hf, const char *name) { return hf + *name; }
int dissect_x(void) { return dissect_dom(h[5]) + dissect_array(h[6], "remote_nonnull_string"); }
"""
# virsh in miniature (a PIE): two command groups, an option table with a required bare
# word, a flag, a string with a completer and an alias of it, an argv, a command alias;
# laid out as libvirt 10.x's tools/vsh.h lays them out (the reader finds the layout).
VIRSH_C = r"""
#include <stdbool.h>
#include <stddef.h>
typedef char **(*Completer)(void *, const void *, unsigned int);
typedef struct { const char *name; int type; bool required; bool positional;
    bool unwanted_positional; bool allowEmpty; const char *help; Completer completer;
    unsigned int completer_flags; } OptDef;
typedef struct { const char *help; const char *desc; } Info;
typedef struct { const char *name; bool (*handler)(void *, const void *); const OptDef *opts;
    const void *info; unsigned int flags; const char *alias; } CmdDef;
typedef struct { const char *name; const char *keyword; const CmdDef *commands; } Grp;
static bool handler(void *c, const void *d) { return c != d; }
static char **completer(void *c, const void *d, unsigned int f)
{ (void)c; (void)d; (void)f; return NULL; }
static const OptDef opts_start[] = {
    {"domain", 2, 1, 1, 0, 0, "domain name", completer, 0},
    {"console", 1, 0, 0, 0, 0, "attach to console", NULL, 0},
    {"pass-fds", 2, 0, 0, 1, 1, "file descriptors", completer, 0},
    {"fds", 5, 0, 0, 0, 0, "pass-fds", NULL, 0}, {NULL} };
static const Info info_start = {"start a domain", ""};
static const OptDef opts_echo[] = {
    {"shell", 1, 0, 0, 0, 0, "escape for shell use", NULL, 0},
    {"string", 4, 0, 1, 0, 0, "arguments to echo", NULL, 0}, {NULL} };
static const Info info_echo = {"echo arguments", ""};
static const CmdDef cmds_domain[] = { {"start", handler, opts_start, &info_start, 0, NULL},
    {NULL} };
static const CmdDef cmds_virsh[] = { {"echo", handler, opts_echo, &info_echo, 1, NULL},
    {"say", NULL, NULL, NULL, 0, "echo"}, {NULL} };
const Grp cmdGroups[] = { {"Domain Management", "domain", cmds_domain},
    {"Virsh itself", "virsh", cmds_virsh}, {NULL, NULL, NULL} };
int main(void) { return cmdGroups[0].name == NULL; }
"""
# libvirt_functions.stp in miniature: the two functions the tapset reader reads, and another.
TAPSET = """function libvirt_rpc_status_name(status, verbose)
{
  if (status == 0) {
      statusstr = "ok"
  } else {
      statusstr = "unknown";
      verbose = 1;
  }
  return statusstr;
}
function libvirt_rpc_program_name(program, verbose)
{
  if (program == 536903815) {
      programstr = "qemu"
  } else if (program == 536903814) {
      programstr = "remote"
  } else {
      programstr = "unknown";
      verbose = 1;
  }
  if (verbose) {
      programstr = programstr . sprintf(":%d", program)
  }
  return programstr;
}
function libvirt_rpc_procedure_name(program, version, proc, verbose)
{
  if (program == 536903815 && version == 1) {
      if (proc == 1) {
          procstr = "domain_monitor_command";
      } else {
          procstr = "unknown";
          verbose = 1;
      }
  } else if (program == 536903814 && version == 1) {
      if (proc == 1) {
          procstr = "connect_open";
      } else if (proc == 2) {
          procstr = "connect_close";
      } else {
          procstr = "unknown";
          verbose = 1;
      }
  } else {
      procstr = "unknown";
      verbose = 1;
  }
  if (verbose) {
      procstr = procstr . sprintf(":%d", proc)
  }
  return procstr;
}
"""
LIB_MAP = """LIBF_1.0 { global: base_fn; table; tls_counter; weak_fn; local: *; };
LIBF_2.0 { global: ifn; } LIBF_1.0;
LIBF_3.0 { global: newer; } LIBF_2.0;
LIBF_PRIVATE_3.0 { global: private_helper; };
"""
SCRIPT_EXTRA = """/* comment */ LIBF_4.0 { global: "quoted"; extern "C" { ma*; }; ba?e_[fn]*; }; """
API_XML = """<?xml version="1.0"?>
<api name="libvirt">
  <files>
    <file name="libvirt-domain"><exports symbol="virDomainCreate" type="function"/></file>
  </files>
  <symbols>
    <macro name="LIBVIR_VERSION_NUMBER" file="libvirt-common"><info>v</info></macro>
    <enum name="VIR_DOMAIN_NONE" file="libvirt-domain" value="0" type="virDomainState"/>
    <enum name="VIR_DOMAIN_RUNNING" file="libvirt-domain" value="1" type="virDomainState"/>
    <struct name="virDomainInfo" file="libvirt-domain" type="struct _virDomainInfo">
      <field name="state" type="unsigned char" info="the running state"/>
    </struct>
    <typedef name="virDomainPtr" file="libvirt-domain" type="virDomain *"/>
    <function name="virDomainCreate" file="libvirt-domain" module="libvirt-domain" version="0.1.1">
      <info>Launch a defined domain.</info>
      <return type="int" info="0 in case of success"/>
      <arg name="domain" type="virDomainPtr" info="pointer to a defined domain"/>
    </function>
  </symbols>
</api>
"""
WAIVERS = {
    "format": "elfaudit-waivers",
    "format_version": 1,
    "waivers": [
        {"rule": "symbol-removed", "symbol": "foo", "node": "LIBF_1.0", "reason": "seed"},
        {"rule": "node-removed", "library": "libf.so.1", "release": "1.*", "reason": "seed"},
    ],
}
INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)
TOKENS = (
    "*", "?", "[", "]", "!", "^", "\\", "{", "}", ";", ":", "\"", "local:", "global:",
    "extern \"C++\" {", "*?*?*?*?*?!", "[!a-z]", "\n", "\x00", "\udc80", "\u202e", "\x1b[31m",
    "9" * 400, "LIBF_1.0", "LIBVIRT_PRIVATE_", "#", "/*", "*/",
)  # fmt: skip
JSON_VALUES: tuple[Any, ...] = (
    None, True, 0, -1, 10**400, 1.5e308, "", "\udc80", "x" * 10_000, [], {}, [[[[[]]]]],
    "LIBF_1.0", "\x1b]0;title\x07", "../../etc/passwd",
)  # fmt: skip


# --------------------------------------------------------------------------- seeds


def build_seeds(work: Path) -> dict[str, list[bytes]]:
    """One or more valid inputs per kind, built with gcc, dpkg-deb and elfaudit itself."""
    from elfaudit.readers.elf import read_library
    from elfaudit.readers.snapshot import dump_document

    (work / "libf.c").write_text(LIB_C)
    (work / "libf.map").write_text(LIB_MAP)
    lib = work / "libf.so.1"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", "-o", str(lib), str(work / "libf.c"),
         f"-Wl,--version-script={work / 'libf.map'}", "-Wl,-soname,libf.so.1"],
        check=True,
    )  # fmt: skip
    plugin = work / "libvirt.so"
    (work / "plugin.c").write_text(PLUGIN_C)
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", "-o", str(plugin), str(work / "plugin.c")], check=True
    )
    HOT[plugin.read_bytes()] = hot_ranges(plugin, _PLUGIN_SECTIONS)
    virsh = work / "virsh"
    (work / "virsh.c").write_text(VIRSH_C)
    subprocess.run(
        ["gcc", "-O0", "-fPIE", "-pie", "-o", str(virsh), str(work / "virsh.c")], check=True
    )
    HOT[virsh.read_bytes()] = hot_ranges(virsh, _VIRSH_SECTIONS)
    abi = read_library(lib)
    snapshot = json.dumps(dump_document([abi]), indent=1).encode()
    HOT[lib.read_bytes()] = hot_ranges(lib)
    seeds: dict[str, list[bytes]] = {
        "elf": [lib.read_bytes()],
        "script": [LIB_MAP.encode(), (LIB_MAP + SCRIPT_EXTRA).encode()],
        "snapshot": [snapshot],
        "apixml": [API_XML.encode()],
        "waivers": [json.dumps(WAIVERS, indent=1).encode()],
        "profile": [(ROOT / "elfaudit/data/profiles/libvirt.json").read_bytes()],
        "wireshark": [plugin.read_bytes()],
        "tapset": [TAPSET.encode()],
        "virsh": [virsh.read_bytes()],
    }
    shared = ROOT.parent / "shared" / "data"
    if shared.is_dir():
        scripts = sorted(shared.rglob("*.syms"))[:4]
        seeds["script"] += [p.read_bytes() for p in scripts if p.stat().st_size < 200_000]
    graph = work / "graph.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for release in ("1.0", "2.0"):
        subprocess.run(
            [sys.executable, "-m", "elfaudit", "graph", "record", str(lib), "--release",
             release, "--graph", str(graph)],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
    seeds["graph"] = [graph.read_bytes(), _sections_graph()]
    symbols = subprocess.run(
        [sys.executable, "-m", "elfaudit", "symbols-file", str(lib), "--package", "libf1",
         "--minver-fallback", "3.0"],
        check=True, env=env, capture_output=True,
    ).stdout  # fmt: skip
    seeds["symbols"] = [symbols]
    root = work / "deb"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/lib/x86_64-linux-gnu").mkdir(parents=True)
    shutil.copy(lib, root / "usr/lib/x86_64-linux-gnu/libf.so.1.0.0")
    os.symlink("libf.so.1.0.0", root / "usr/lib/x86_64-linux-gnu/libf.so.1")
    (root / "DEBIAN/control").write_text(
        "Package: libf1\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: x <x@example.org>\n"
        "Description: fuzz seed\n"
    )
    seeds["deb"] = []
    for comp in ("gzip", "xz", "none"):
        deb = work / f"libf1-{comp}.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", f"-Z{comp}", "-b", str(root), str(deb)],
            check=True, capture_output=True,
        )  # fmt: skip
        seeds["deb"].append(deb.read_bytes())
    return seeds


# --------------------------------------------------------------------------- mutators


#: Byte ranges of an ELF seed's dynamic tables (``.dynsym``, ``.dynstr``, the version
#: sections, ``.dynamic``, the headers): half of an ELF input's mutations land there, where
#: the reader's bounds checks are, instead of in code bytes it never reads.
HOT: dict[bytes, list[tuple[int, int]]] = {}
_HOT_SECTIONS = (".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".gnu.version_r",
                 ".dynamic", ".gnu.hash", ".hash")  # fmt: skip
# the wireshark plugin reader's: relocations, the tables they fix up, the strings, the code
_PLUGIN_SECTIONS = (".rela.dyn", ".data", ".data.rel.ro", ".rodata", ".dynamic", ".dynsym",
                    ".dynstr", ".eh_frame_hdr", ".text")  # fmt: skip
# the virsh reader's: relocations, the tables they fix up, the strings they point to
_VIRSH_SECTIONS = (".rela.dyn", ".data.rel.ro", ".rodata", ".dynamic", ".data")


def hot_ranges(path: Path, sections: tuple[str, ...] = _HOT_SECTIONS) -> list[tuple[int, int]]:
    """The file ranges of ``sections`` (by default those the ELF reader decodes), per
    ``readelf -SW``."""
    out = [(0, 64)]  # the ELF header
    listing = subprocess.run(["readelf", "-SW", str(path)], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        parts = line.replace("[ ", "[").split()
        if len(parts) > 5 and parts[1] in sections:
            off, size = int(parts[4], 16), int(parts[5], 16)
            out.append((off, off + max(size, 1)))
    return out


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    hot = HOT.get(data, [])
    for _ in range(rng.choice((1, 1, 2, 4, 16))):
        op = rng.randrange(7)
        if not b:
            b.extend(rng.randbytes(rng.randrange(1, 64)))
            continue
        i = rng.randrange(len(b))
        if hot and rng.random() < 0.5:
            lo, hi = rng.choice(hot)
            i = min(rng.randrange(lo, hi), len(b) - 1)
        if op == 0:  # flip a bit
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # an interesting little-endian value
            v = rng.choice(INTERESTING).to_bytes(8, "little")[: rng.choice((1, 2, 4, 8))]
            b[i : i + len(v)] = v
        elif op == 2:  # truncate
            del b[rng.randrange(len(b)) :]
        elif op == 3:  # insert random bytes
            b[i:i] = rng.randbytes(rng.randrange(1, 32))
        elif op == 4:  # duplicate a chunk
            j = rng.randrange(len(b))
            b[i:i] = b[j : j + rng.randrange(1, 256)]
        elif op == 5:  # delete a chunk
            del b[i : i + rng.randrange(1, 64)]
        else:  # a random byte
            b[i] = rng.randrange(256)
    return bytes(b)


def mutate_text(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", "surrogatepass")
    for _ in range(rng.choice((1, 2, 3, 8))):
        i = rng.randrange(len(text) + 1)
        op = rng.randrange(4)
        if op == 0:
            text = text[:i] + rng.choice(TOKENS) + text[i:]
        elif op == 1:
            text = text[:i] + text[i + rng.randrange(1, 20) :]
        elif op == 2:
            j = rng.randrange(len(text) + 1)
            text = text[:i] + text[j : j + rng.randrange(1, 200)] + text[i:]
        else:
            text = text[:i] + rng.choice(TOKENS) * rng.randrange(1, 50) + text[i:]
    return text.encode("utf-8", "surrogatepass")


def _walk_replace(doc: Any, rng: random.Random) -> Any:
    """Replace one random node of a JSON document with an odd value (or nest it deeply)."""
    if isinstance(doc, dict) and doc and rng.random() < 0.8:
        key = rng.choice(list(doc))
        out = dict(doc)
        if rng.random() < 0.1:
            del out[key]
        else:
            out[key] = _walk_replace(doc[key], rng)
        return out
    if isinstance(doc, list) and doc and rng.random() < 0.8:
        i = rng.randrange(len(doc))
        return [*doc[:i], _walk_replace(doc[i], rng), *doc[i + 1 :]]
    if rng.random() < 0.05:
        deep: Any = doc
        for _ in range(rng.choice((100, 1000, 50_000))):
            deep = [deep]
        return deep
    return rng.choice(JSON_VALUES)


def mutate_json(data: bytes, rng: random.Random) -> bytes:
    if rng.random() < 0.3:
        return mutate_text(data, rng)
    doc = json.loads(data)
    for _ in range(rng.choice((1, 1, 2, 3))):
        doc = _walk_replace(doc, rng)
    try:
        return json.dumps(doc).encode("utf-8", "surrogatepass")
    except RecursionError:  # json's encoder: nest by text instead
        return b"[" * 100_000 + b"]" * 100_000


MUTATORS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "elf": mutate_bytes,
    "script": mutate_text,
    "snapshot": mutate_json,
    "graph": mutate_json,
    "apixml": mutate_text,
    "deb": mutate_bytes,
    "symbols": mutate_text,
    "profile": mutate_json,
    "waivers": mutate_json,
    "wireshark": mutate_bytes,
    "tapset": mutate_text,
    "virsh": mutate_bytes,
}


# --------------------------------------------------------------------------- readers


def _read_elf(path: str) -> object:
    from elfaudit.readers.elf import read_library

    return read_library(path)


_SEED_NAMES: list[str] = []


def _read_script(path: str) -> object:
    from elfaudit.readers.version_script import ScriptMatcher, parse_script_text, read_text

    matcher = ScriptMatcher(parse_script_text(read_text(path), path))
    return [matcher.lookup(name) for name in _SEED_NAMES]


def _read_snapshot(path: str) -> object:
    from elfaudit.readers.snapshot import read_snapshot

    return read_snapshot(path)


def _sections_graph() -> bytes:
    """A graph of two releases holding every section's facts, from the shipped graph's
    7.0.0 and 9.0.0: whole for the small sections, one API description (libvirt-admin's)
    and one schema (``storagepool.rng``) for the large ones, so that mutated facts reach
    every section's ``compare_facts`` through the judge."""
    from elfaudit.commands.graph import shipped_graph_path
    from elfaudit.graph.dag import ReleaseGraph

    keep = {
        "publicAPI": lambda k: k.startswith("libvirt-admin "),
        "xmlschema": lambda k: k.split(" ")[1:2] == ["storagepool.rng"],
    }
    shipped = ReleaseGraph.load(shipped_graph_path())
    small = ReleaseGraph()
    parents: list[str] = []
    for name in ("7.0.0", "9.0.0"):
        rec = shipped.release(name)
        facts = {
            sec: {k: v for k, v in f.items() if keep.get(sec, lambda _k: True)(k)}
            for sec, f in rec.sections.items()
        }
        small.add_records(name, [], parents, recorded_at=rec.recorded_at, sections=facts)
        parents = [name]
    return small.dumps().encode()


def _read_graph(path: str) -> object:
    from elfaudit.graph.dag import ReleaseGraph
    from elfaudit.graph.sections import judge_sections

    graph = ReleaseGraph.load(path)
    for name in graph.releases():  # use what was decoded
        graph.ancestors(name)
    newest = graph.releases()[-1:]
    for name in newest:  # its facts judged against its ancestors, as graph check does
        facts = graph.release(name).sections
        if facts:
            judge_sections(graph, facts, "next", [name], [*graph.ancestors(name), name])
    return graph.dumps()


def _read_apixml(path: str) -> object:
    from elfaudit.readers.api_xml import load_api

    return load_api(path)


def _read_deb(path: str) -> object:
    from elfaudit.readers.inputs import load_libraries

    return load_libraries(path)


def _read_symbols(path: str) -> object:
    from elfaudit.readers.debian_symbols import load_symbols_file

    return load_symbols_file(path)


def _read_profile(path: str) -> object:
    from elfaudit.policy.profiles import load_profile

    return load_profile(path)


def _read_waivers(path: str) -> object:
    from elfaudit.policy.waivers import load_waivers

    return load_waivers(path)


def _read_wireshark(path: str) -> object:
    from elfaudit.readers.wireshark_plugin import read_plugin

    with open(path, "rb") as f:
        return read_plugin(f.read(), path)


def _read_tapset(path: str) -> object:
    from elfaudit.readers.rpc_tapset import read_tapset

    with open(path, "rb") as f:
        return read_tapset(f.read(), path)


def _read_virsh(path: str) -> object:
    from elfaudit.readers.virsh_tables import read_virsh

    with open(path, "rb") as f:
        return read_virsh(f.read(), path)


READERS: dict[str, Callable[[str], object]] = {
    "elf": _read_elf,
    "script": _read_script,
    "snapshot": _read_snapshot,
    "graph": _read_graph,
    "apixml": _read_apixml,
    "deb": _read_deb,
    "symbols": _read_symbols,
    "profile": _read_profile,
    "waivers": _read_waivers,
    "wireshark": _read_wireshark,
    "tapset": _read_tapset,
    "virsh": _read_virsh,
}
SUFFIX = {"deb": ".deb", "profile": ".json", "waivers": ".json", "snapshot": ".json"}


# --------------------------------------------------------------------------- running


class _Hang(Exception):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise _Hang


def run_one(kind: str, data: bytes, workdir: str, timeout: float) -> tuple[str, str]:
    """Read one input of ``kind``; returns (outcome, detail). Used in the workers."""
    from elfaudit.base.errors import ElfauditError

    path = os.path.join(workdir, f"input-{os.getpid()}{SUFFIX.get(kind, '')}")
    with open(path, "wb") as fh:
        fh.write(data)
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        READERS[kind](path)
        return "ok", ""
    except ElfauditError:
        return "refused", ""
    except _Hang:
        return "hang", f"over {timeout} s"
    except MemoryError:
        return "memory", "MemoryError"
    except Exception as exc:  # the point of the campaign: any other exception is a bug
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?"
        return "crash", f"{type(exc).__name__}: {exc} at {where}"[:400]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


@dataclass
class Batch:
    kind: str
    seed: int
    count: int
    seeds: list[bytes]
    workdir: str
    timeout: float
    save: str | None
    names: list[str] = field(default_factory=list)
    hot: dict[bytes, list[tuple[int, int]]] = field(default_factory=dict)


def _init_worker(memory_mib: int) -> None:
    limit = memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_batch(batch: Batch) -> dict[str, Any]:
    """Generate and read ``batch.count`` inputs of one kind, deterministically per seed."""
    _SEED_NAMES[:] = batch.names
    HOT.update(batch.hot)
    rng = random.Random(f"{batch.kind}:{batch.seed}")
    counts: Counter[str] = Counter()
    bad: list[dict[str, str]] = []
    mutate = MUTATORS[batch.kind]
    for i in range(batch.count):
        data = mutate(rng.choice(batch.seeds), rng)
        outcome, detail = run_one(batch.kind, data, batch.workdir, batch.timeout)
        counts[outcome] += 1
        if outcome in BAD:
            saved = ""
            if batch.save:
                os.makedirs(batch.save, exist_ok=True)
                saved = os.path.join(batch.save, f"{batch.kind}-{batch.seed}-{i}-{outcome}")
                with open(saved, "wb") as fh:
                    fh.write(data)
            bad.append({"kind": batch.kind, "outcome": outcome, "detail": detail, "saved": saved})
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"kind": batch.kind, "counts": dict(counts), "bad": bad, "rss_kib": rss_kib}


def campaign(
    inputs: int,
    *,
    seed: int = 0,
    kinds: tuple[str, ...] = KINDS,
    jobs: int = 2,
    timeout: float = 10.0,
    memory_mib: int = 2048,
    save: str | None = None,
    batch_size: int = 500,
) -> dict[str, Any]:
    """Run the campaign; returns the per-kind counts, the bad inputs and the peak RSS."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="elfaudit-fuzz-") as tmp:
        seeds = build_seeds(Path(tmp))
        from elfaudit.readers.elf import read_library

        names = sorted({s.name for s in read_library(os.path.join(tmp, "libf.so.1")).symbols})
        names += ["virDomainCreate", "vir" + "x" * 300, "ma_thing"]
        _SEED_NAMES[:] = names
        for kind in kinds:  # the harness is only as good as its seeds: each must read
            for i, data in enumerate(seeds[kind]):
                outcome, detail = run_one(kind, data, tmp, timeout)
                if outcome != "ok":
                    raise SystemExit(f"fuzz: seed {i} of {kind} does not read: {outcome} {detail}")
        per_kind = max(1, inputs // len(kinds))
        extra = max(0, inputs - per_kind * len(kinds))  # the remainder, one each to the first
        batches: list[Batch] = []
        for j, kind in enumerate(kinds):
            left, n = per_kind + (j < extra), 0
            while left > 0:
                count = min(batch_size, left)
                batches.append(
                    Batch(
                        kind,
                        seed * 100_000 + n,
                        count,
                        seeds[kind],
                        tmp,
                        timeout,
                        save,
                        names,
                        {s: HOT[s] for s in seeds[kind] if s in HOT},
                    )
                )
                left -= count
                n += 1
        totals: dict[str, Counter[str]] = {k: Counter() for k in kinds}
        bad: list[dict[str, str]] = []
        rss = 0
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(memory_mib,)) as pool:
            for result in pool.map(run_batch, batches):
                totals[result["kind"]].update(result["counts"])
                bad.extend(result["bad"])
                rss = max(rss, result["rss_kib"])
    return {
        "inputs": sum(sum(c.values()) for c in totals.values()),
        "per_kind": {k: {o: totals[k][o] for o in OUTCOMES} for k in kinds},
        "bad": bad,
        "peak_rss_mib": round(rss / 1024, 1),
        "seconds": round(time.monotonic() - started, 1),
        "seed": seed,
        "timeout_s": timeout,
        "memory_cap_mib": memory_mib,
    }


def table(result: dict[str, Any]) -> str:
    rows: list[list[str]] = [["kind", *OUTCOMES]]
    rows += [[k, *(str(v[o]) for o in OUTCOMES)] for k, v in result["per_kind"].items()]
    total = {o: sum(v[o] for v in result["per_kind"].values()) for o in OUTCOMES}
    rows.append(["all", *(str(total[o]) for o in OUTCOMES)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.append(
        f"{result['inputs']} inputs in {result['seconds']} s; workers' peak RSS "
        f"{result['peak_rss_mib']} MiB (cap {result['memory_cap_mib']} MiB, "
        f"timeout {result['timeout_s']} s per input)"
    )
    lines += [f"{b['outcome']}: {b['kind']}: {b['detail']} {b['saved']}" for b in result["bad"]]
    return "\n".join(lines)


def atheris_campaign(kind: str, seconds: int, timeout: float, memory_mib: int) -> int:
    """Coverage-guided: libFuzzer mutates the seeds of ``kind`` by what reaches new code."""
    import atheris  # the optional [fuzz] extra

    with atheris.instrument_imports(include=["elfaudit"]):  # every module a reader uses
        import elfaudit.graph.dag
        import elfaudit.policy.profiles
        import elfaudit.policy.waivers
        import elfaudit.readers.api_xml
        import elfaudit.readers.debian_symbols
        import elfaudit.readers.elf
        import elfaudit.readers.inputs
        import elfaudit.readers.packages
        import elfaudit.readers.snapshot
        import elfaudit.readers.version_script  # noqa: F401
        from elfaudit.base.errors import ElfauditError
    tmp = tempfile.mkdtemp(prefix="elfaudit-atheris-")
    seeds = build_seeds(Path(tmp))
    corpus_dir = os.path.join(tmp, "corpus")
    os.makedirs(corpus_dir)
    for i, data in enumerate(seeds[kind]):
        Path(corpus_dir, f"seed-{i}").write_bytes(data)
    from elfaudit.readers.elf import read_library

    _SEED_NAMES[:] = sorted({s.name for s in read_library(os.path.join(tmp, "libf.so.1")).symbols})
    path = os.path.join(tmp, f"input{SUFFIX.get(kind, '')}")

    def one_input(data: bytes) -> None:
        with open(path, "wb") as fh:
            fh.write(data)
        with contextlib.suppress(ElfauditError):  # anything else propagates: a crash
            READERS[kind](path)

    args = [
        sys.argv[0],
        corpus_dir,
        f"-max_total_time={seconds}",
        f"-timeout={max(1, int(timeout))}",
        f"-rss_limit_mb={memory_mib}",
        "-print_final_stats=1",
    ]
    atheris.Setup(args, one_input)
    atheris.Fuzz()  # exits the process; libFuzzer prints the statistics
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inputs", type=int, default=100_000, help="inputs in all (split by kind)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per input")
    p.add_argument("--memory-mib", type=int, default=2048, help="address-space cap per worker")
    p.add_argument("--save", help="folder for inputs that crashed, hung or blew memory")
    p.add_argument("--json", help="write the result here")
    p.add_argument("--engine", choices=("mutate", "atheris"), default="mutate")
    p.add_argument("--seconds", type=int, default=300, help="atheris: how long")
    args = p.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        p.error(f"unknown kind(s): {', '.join(sorted(unknown))}")
    if args.engine == "atheris":
        if len(kinds) != 1:
            p.error("--engine atheris fuzzes one kind: give --kinds KIND")
        return atheris_campaign(kinds[0], args.seconds, args.timeout, args.memory_mib)
    result = campaign(
        args.inputs,
        seed=args.seed,
        kinds=kinds,
        jobs=args.jobs,
        timeout=args.timeout,
        memory_mib=args.memory_mib,
        save=args.save,
    )
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 1 if result["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())

"""A release's shipped files, as ``elfaudit guarantees`` needs them: from a directory of its
packages (.deb, .rpm), an unpacked root tree (``usr/``, ``etc/``) or a single package.

Only the files some section of libvirt's support page reads are kept (:func:`wanted`): the
RELAX NG schemas, the configuration files and their augeas lenses (and the lenses' tests), the
systemtap tapsets, the wireshark dissector plugin, ``virsh`` and its man page, the API XML,
the libvirt libraries and the connection-driver modules. Packages are streamed by
:func:`elfaudit.readers.packages.read_members` (its hostile-input limits hold: every other
member is skipped without being kept), several at once on worker threads (decompression
runs without the GIL).

Which package carries which file is not assumed (it changed between releases): every package
of the directory is read and each kept file remembers the package it came from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from elfaudit.base.errors import InputError
from elfaudit.model.guarantees import ReleaseFiles
from elfaudit.readers.api_xml import API_DIR
from elfaudit.readers.packages import DEFAULT_LIMITS, Kind, Limits, read_members

if TYPE_CHECKING:
    from elfaudit.model.abi import LibraryABI

PACKAGE_SUFFIXES = (".deb", ".rpm")

SCHEMAS = "usr/share/libvirt/schemas/"
API_XML = API_DIR
LENSES = "usr/share/augeas/lenses/"
LENS_TESTS = "usr/share/augeas/lenses/tests/"
CONFIG = "etc/libvirt/"
TAPSETS = "usr/share/systemtap/tapset/"
VIRSH = "usr/bin/virsh"

_MULTIARCH = r"usr/lib(?:64|32)?/(?:[^/]+/)?"
_WANTED = re.compile(
    "|".join(
        (
            re.escape(SCHEMAS) + r"[^/]+\.rng",
            re.escape(API_XML) + r"[^/]+\.xml",
            re.escape(LENSES) + r"[^/]+\.aug",
            re.escape(LENS_TESTS) + r"[^/]+",
            re.escape(CONFIG) + r"(?:[^/]+/)*[^/]+\.conf",
            re.escape(TAPSETS) + r"libvirt[^/]*\.stp",
            _MULTIARCH + r"wireshark/plugins/(?:[^/]+/)*libvirt\.so",
            re.escape(VIRSH),
            r"usr/share/man/man1/virsh\.1(?:\.[a-z0-9]+)?",
            _MULTIARCH + r"libvirt(?:-[a-z]+)?\.so\.[0-9][0-9.]*",
            _MULTIARCH + r"libvirt/connection-driver/[^/]+\.so",
        )
    )
)


def wanted(name: str) -> bool:
    """Is ``name`` (a member path: no leading slash) a file some section reads?"""
    return _WANTED.fullmatch(name) is not None


_LIBRARY = re.compile(_MULTIARCH + r"(libvirt(?:-[a-z]+)?\.so\.[0-9]+)[0-9.]*")


def library_soname(path: str) -> str | None:
    """``usr/lib/x86_64-linux-gnu/libvirt-qemu.so.0.9000.0`` -> ``libvirt-qemu.so.0``; None
    for any other path (the name's first number is the SONAME's, as libtool names them)."""
    m = _LIBRARY.fullmatch(path)
    return m.group(1) if m else None


@dataclass(frozen=True, slots=True)
class Release:
    """What was read: the files (by path inside the packages) and the packages read, in order
    (file names; for a tree, the tree's path)."""

    files: ReleaseFiles
    packages: tuple[str, ...]
    kind: str  # "packages", "package" or "tree"


def libraries(
    rel: Release, sonames: Collection[str] | None = None, *, digest: bool = False
) -> list[LibraryABI]:
    """The libvirt libraries of a release (``libvirt*.so.N``), or only those of
    ``sonames``, read by the ELF reader (``digest``: with their sha256, as the release
    graph records them); each named ``<package>:/<path>`` in results."""
    from elfaudit.readers.elf import read_library_bytes

    rf = rel.files
    out = []
    for path, data in rf.files.items():
        soname = library_soname(path)
        if soname is not None and (sonames is None or soname in sonames):
            origin = f"{rf.origin.get(path, rf.label)}:/{path}"
            out.append(read_library_bytes(data, origin, digest=digest))
    return sorted(out, key=lambda a: a.name)


def _package_name(filename: str) -> str:
    """``libvirt0_9.0.0-4_amd64.deb`` -> ``libvirt0``; an rpm's name less version-release.arch."""
    if filename.endswith(".deb"):
        return filename.split("_", 1)[0]
    stem = filename.removesuffix(".rpm")
    parts = stem.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else stem


def _read_one(path: str, limits: Limits) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for m in read_members(path, want=wanted, elf_only=False, limits=limits):
        if m.kind is Kind.FILE and m.data is not None:
            out[m.name] = m.data
    return out


def _read_many(paths: Sequence[str], limits: Limits) -> list[dict[str, bytes]]:
    """Each package's wanted files, read on up to ``os.cpu_count()`` threads; the first error
    (in the order given) is raised."""
    if len(paths) <= 1:
        return [_read_one(p, limits) for p in paths]
    from concurrent.futures import ThreadPoolExecutor

    workers = min(len(paths), os.cpu_count() or 1, 8)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="elfaudit-release") as pool:
        futures = [pool.submit(_read_one, p, limits) for p in paths]
        return [f.result() for f in futures]


def _packages_in(directory: str) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise InputError(directory, exc.strerror or str(exc)) from None
    return [
        os.path.join(directory, n)
        for n in names
        if n.endswith(PACKAGE_SUFFIXES) and os.path.isfile(os.path.join(directory, n))
    ]


def is_release_set(path: str) -> bool:
    """A directory holding packages (``.deb``, ``.rpm``) or a root tree (``usr/``, ``etc/``):
    what :func:`read_release` reads as one release's whole package set."""
    if not os.path.isdir(path):
        return False
    if any(os.path.isdir(os.path.join(path, top)) for top in ("usr", "etc")):
        return True
    try:
        return bool(_packages_in(path))
    except InputError:
        return False


def read_release(
    path: str, *, limits: Limits = DEFAULT_LIMITS, allow_empty: bool = False
) -> Release:
    """The files of the release at ``path``: a directory of packages (every ``.deb`` and
    ``.rpm`` directly in it), a root tree (a directory with ``usr/`` or ``etc/``) or one package.

    Raises :class:`InputError` (one line naming the path) for a missing path, a directory that
    holds neither packages nor a tree, two packages of the same name in one directory (two
    releases mixed), two packages shipping one path with different contents, or an input with
    none of the files any section reads.
    """
    if not os.path.lexists(path):
        raise InputError(path, "no such file or directory")
    if os.path.isdir(path):
        packages = _packages_in(path)
        if packages:
            kind = "packages"
            names: dict[str, str] = {}
            for p in packages:
                base = os.path.basename(p)
                name = _package_name(base)
                if name in names:
                    raise InputError(
                        path,
                        f"two packages named {name} ({names[name]}, {base}): "
                        "one release per directory",
                    )
                names[name] = base
            contents = _read_many(packages, limits)
            labels = [os.path.basename(p) for p in packages]
        elif any(os.path.isdir(os.path.join(path, top)) for top in ("usr", "etc")):
            kind = "tree"
            contents = [_read_one(path, limits)]
            labels = [path]
        else:
            raise InputError(
                path, "no packages (.deb, .rpm) and no root tree (usr/, etc/) in this directory"
            )
    else:
        if not path.endswith(PACKAGE_SUFFIXES):
            with open(path, "rb") as f:
                head = f.read(8)
            if not head.startswith((b"!<arch>\n", b"\xed\xab\xee\xdb")):
                raise InputError(path, "not a package (.deb, .rpm) or a directory")
        kind = "package"
        contents = [_read_one(path, limits)]
        labels = [os.path.basename(path)]
    files: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    for label, found in zip(labels, contents, strict=True):
        for name, data in found.items():
            if name in files and files[name] != data:
                raise InputError(
                    path, f"{origin[name]} and {label} both ship /{name}, with different contents"
                )
            if name not in files:
                files[name] = data
                origin[name] = label
    if not files and not allow_empty:
        raise InputError(
            path,
            "none of the files elfaudit guarantees reads (libvirt libraries, API XML, schemas, "
            "configuration files, lenses, tapsets, virsh) is in it",
        )
    ordered = dict(sorted(files.items()))
    return Release(
        ReleaseFiles(label=path, files=ordered, origin={p: origin[p] for p in ordered}),
        tuple(labels),
        kind,
    )

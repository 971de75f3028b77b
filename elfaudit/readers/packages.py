"""Find versioned shared libraries in packages and trees: .deb, .rpm, directories, ELF files.

Everything is read in memory; nothing from a package is ever written to disk, and links
are resolved only inside the package's (or tree's) own namespace, never on the real
filesystem. A package is untrusted input:

* members whose path is absolute or climbs with ``..`` are ignored, so are symlinks
  that lead outside the package root, and link chains longer than ``max_link_depth``;
* the decompressed bytes read from one archive, the size of a member kept in memory and of
  all of them together, the number of members and the size of tar meta headers are capped
  (:class:`Limits`);
  going over a cap, a truncated or corrupt archive raises :class:`PackageError` with one
  line naming the file and the problem.

Memory is bounded by what is kept, not by what an archive decompresses to: members are
streamed, a member is kept only once its first bytes say it can be a shared library (ELF
magic, a known class, byte order and version, type ``ET_DYN``), it is read in pieces of
1 MiB (never twice in memory), a library-named member over ``max_member`` is refused at
its header before any of it is read, and the members kept from one archive or tree may add
up to ``max_kept`` bytes.

Which files count as libraries follows the SONAME symlink convention: a regular ELF file
is returned when its own name is versioned (``libfoo.so.1``, ``libfoo.so.1.2.3``) or when
a symlink or hardlink with a versioned name leads to it (``libfoo.so.1 -> libfoo-1.2.so``).
Development links (``libfoo.so -> ...``) do not count, nor do unversioned plugins
(``foo.so``) or detached debug files under ``usr/lib/debug/``. Only regular files whose
name contains ``.so`` are read at all, and only the 18 header bytes of those that are not
shared libraries.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import stat
import struct
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import IO, Any, NoReturn, Protocol

from elfaudit.base.errors import PackageError, one_line
from elfaudit.readers import ELF_MAGIC

AR_MAGIC = b"!<arch>\n"
RPM_MAGIC = b"\xed\xab\xee\xdb"
RPM_HEADER_MAGIC = b"\x8e\xad\xe8\x01"

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

_VERSIONED = re.compile(r".+\.so(\.[0-9][0-9A-Za-z_+~-]*)+")
_SO_LIKE = re.compile(r".+\.so(\.[^/]*)?")
_DEBUG_DIR = "usr/lib/debug/"
#: ``libnss3.so`` directly in a library directory: a shared library whose SONAME carries no
#: version (NSS, some vendor libraries), not a plugin in a subdirectory of its own.
_UNVERSIONED_LIBRARY = re.compile(
    r"(?:usr/)?lib(?:32|64|x32)?(?:/[a-z0-9_]+-linux-[a-z0-9_]+)?/lib[^/]+\.so"
)


@dataclass(frozen=True)
class Limits:
    """Caps that keep a hostile package from eating the machine."""

    max_total: int = 2 * GiB  # decompressed bytes read from one archive
    max_member: int = 256 * MiB  # one member kept in memory (a library): refused at its header
    max_kept: int = 384 * MiB  # the members kept in memory from one archive or tree, together
    max_control: int = 64 * MiB  # one control-archive file (symbols, shlibs, control)
    max_members: int = 500_000  # entries in one archive or tree
    max_meta: int = 1 * MiB  # one tar pax/GNU long-name header
    max_link_depth: int = 40  # symlinks followed while resolving one path (as Linux)
    max_link_length: int = 4096  # characters in one symlink target (PATH_MAX)


DEFAULT_LIMITS = Limits()


class Kind(str, Enum):
    FILE = "file"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    DIR = "dir"
    OTHER = "other"  # devices, fifos, sockets


@dataclass(frozen=True)
class Member:
    """One entry of a package or tree.

    ``name`` is normalised: relative to the package root, ``/``-separated, without
    ``./``, e.g. ``usr/lib/x86_64-linux-gnu/libvirt.so.0``. ``link`` is the symlink
    target as stored, or for a hardlink the normalised name of the file it shares.
    ``data`` is the content of the regular files that were asked for, else ``None``.
    """

    name: str
    kind: Kind
    size: int = 0
    link: str | None = None
    data: bytes | None = None


@dataclass(frozen=True)
class LibraryInput:
    """A shared library found in a package, a tree, or given directly.

    ``name`` is the member path inside the package or tree (``/usr/lib/.../libvirt.so.0.9000.0``;
    for a single file, its file name); ``origin`` says where it came from for messages
    (``libvirt0_9.0.0-4_amd64.deb:/usr/lib/...``, or the real path for trees and files);
    ``soname_hint`` is the versioned name of the link that points to it, if any.
    """

    name: str
    data: bytes
    origin: str
    soname_hint: str | None = None


class _Refused(Exception):
    """Internal: the input breaks a rule; the message becomes PackageError's reason."""


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


# Exceptions the decompressors and tarfile raise on corrupt or truncated data.
_CORRUPT: tuple[type[BaseException], ...] = (
    tarfile.TarError,
    EOFError,
    OSError,
    lzma.LZMAError,
    zlib.error,
    struct.error,
    ValueError,
)
_CAUGHT: tuple[type[BaseException], ...] = (_Refused, *_CORRUPT)


def _norm(path: str | os.PathLike[str]) -> str:
    """A path spelled as pathlib spells it (repeated slashes, ``.`` parts and a trailing
    slash dropped, ``..`` kept), without importing pathlib."""
    s = os.fspath(path)
    parts = [x for x in s.split("/") if x not in ("", ".")]
    return ("/" if s.startswith("/") else "") + "/".join(parts) or "."


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return one_line(exc.strerror, empty="unreadable")
    if isinstance(exc, EOFError):
        return one_line(exc, empty="unexpected end of data")
    return one_line(exc)


def _raise_package_error(path: str | os.PathLike[str], exc: BaseException) -> NoReturn:
    if isinstance(exc, _Refused):
        raise PackageError(os.fspath(path), one_line(exc, empty="unreadable")) from None
    raise PackageError(os.fspath(path), _describe(exc)) from None


# --------------------------------------------------------------------------- names


def normalise(name: str) -> str | None:
    """``./usr/lib/x`` -> ``usr/lib/x``; ``None`` for absolute or ``..`` paths.

    The root itself (``./``) normalises to ``""``.
    """
    if name.startswith("/") or "\0" in name:
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return "/".join(parts)


def _basename(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def is_library_name(name: str) -> bool:
    """Could this member be a shared library? (its name has ``.so``; not a debug file)"""
    return not name.startswith(_DEBUG_DIR) and _SO_LIKE.fullmatch(_basename(name)) is not None


def is_versioned_name(name: str) -> bool:
    """``libfoo.so.1``, ``libfoo.so.1.2.3``: a name the SONAME convention gives."""
    return _VERSIONED.fullmatch(_basename(name)) is not None


# --------------------------------------------------------------------------- streams


class _Budget:
    """Decompressed bytes one archive may still produce."""

    def __init__(self, limit: int, what: str, verb: str = "decompresses to") -> None:
        self.left = limit
        self.limit = limit
        self.what = what
        self.verb = verb

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            bomb = " (a compression bomb?)" if self.verb == "decompresses to" else ""
            raise _Refused(
                f"{self.what} {self.verb} more than {self.limit} bytes{bomb};"
                " see elfaudit.readers.packages.Limits"
            )


class _Section(io.RawIOBase):
    """Bytes ``[offset, offset + size)`` of a seekable file."""

    def __init__(self, f: IO[bytes], offset: int, size: int) -> None:
        super().__init__()
        self._f = f
        self._pos = offset
        self._end = offset + size

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        n = min(len(view), self._end - self._pos)
        if n <= 0:
            return 0
        self._f.seek(self._pos)
        data = self._f.read(n)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


class _Capped(io.RawIOBase):
    """Counts what a decompressor yields against a :class:`_Budget`."""

    def __init__(self, inner: _Reader, budget: _Budget) -> None:
        super().__init__()
        self._inner = inner
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        data = self._inner.read(len(view))
        self._budget.spend(len(data))
        view[: len(data)] = data
        return len(data)


class _Decompressor(Protocol):
    """What lzma.LZMADecompressor and bz2.BZ2Decompressor have in common."""

    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Blocks:
    """xz, lzma or bz2 decompressed in big blocks, one stream after another.

    Why not ``LZMAFile``/``BZ2File``: a stream may be followed by another one or, in xz,
    by null stream padding, which ``xz -d`` accepts and ``LZMAFile`` refuses ("Compressed
    file ended before the end-of-stream marker"); here what follows a finished stream is
    read as the next stream, and if it is not one (padding, trailing bytes), the data
    ends there.

    Each call into the C decompressor releases the GIL once, for up to ``block`` bytes of
    output, where ``LZMAFile`` makes one call per 8 KiB of input (with two packages
    unpacking on two threads, no difference in wall time was measurable here). ``block``
    also bounds the memory one call can produce, as a bomb must not get far.
    """

    def __init__(
        self,
        src: _Reader,
        new: Callable[[], _Decompressor],
        *,
        block: int = 8 * MiB,
        chunk: int = MiB,
    ) -> None:
        self._src = src
        self._new = new
        self._dec = new()
        self._block = block
        self._chunk = chunk
        self._buf = b""
        self._pos = 0
        self._done = False

    def read(self, size: int = -1, /) -> bytes:
        if self._pos >= len(self._buf):
            self._buf, self._pos = self._fill(), 0
        end = len(self._buf) if size < 0 else self._pos + size
        out = self._buf[self._pos : end]
        self._pos += len(out)
        return out

    def _fill(self) -> bytes:
        while not self._done:
            dec = self._dec
            if dec.eof:  # another stream may follow (xz and bz2 allow concatenation)
                data = dec.unused_data or self._src.read(self._chunk)
                if not data:
                    self._done = True
                    break
                self._dec = self._new()
                try:
                    out = self._dec.decompress(data, max_length=self._block)
                except (lzma.LZMAError, OSError):  # trailing padding or garbage, as LZMAFile
                    self._done = True
                    break
            else:
                data = self._src.read(self._chunk) if dec.needs_input else b""
                if not data and dec.needs_input:
                    raise EOFError("compressed data ends before the end-of-stream marker")
                out = dec.decompress(data, max_length=self._block)
            if out:
                return out
        return b""


def _decompressor(raw: io.RawIOBase, method: str) -> _Reader:
    """Wrap raw compressed bytes; ``method`` is gz, xz, lzma, bz2, zst or ''."""
    src = io.BufferedReader(raw, 64 * KiB)
    if method == "":
        return src
    if method == "gz":
        return gzip.GzipFile(fileobj=src, mode="rb")
    if method in ("xz", "lzma"):
        return _Blocks(src, lzma.LZMADecompressor)
    if method == "bz2":
        return _Blocks(src, bz2.BZ2Decompressor)
    if method == "zst":
        import zstandard  # noqa: TID251 - its home; imported only for the packages that need it (7 ms)

        reader = zstandard.ZstdDecompressor().stream_reader(
            src, read_across_frames=True, closefd=False
        )
        return _Translated(reader, zstandard.ZstdError)
    raise _Refused(f"unsupported compression {method!r}")


class _Translated:
    """A reader whose own error type (zstandard's, imported lazily) becomes ValueError,
    one of the corrupt-data errors every reader of a package catches."""

    def __init__(self, inner: _Reader, error: type[Exception]) -> None:
        self._inner = inner
        self._error = error

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._inner.read(size)
        except self._error as exc:
            raise ValueError(str(exc) or type(exc).__name__) from exc


def _capped(raw: io.RawIOBase, method: str, budget: _Budget) -> IO[bytes]:
    """Decompressed, counted against the budget, buffered."""
    return io.BufferedReader(_Capped(_decompressor(raw, method), budget), 64 * KiB)


def _read_exact(f: IO[bytes], n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _Refused(f"truncated {what}")
    return data


def _skip(f: IO[bytes], n: int, what: str) -> None:
    while n > 0:
        chunk = f.read(min(n, MiB))
        if not chunk:
            raise _Refused(f"truncated {what}")
        n -= len(chunk)


# --------------------------------------------------------------------------- tar


_TAR_META_TYPES = frozenset(
    {tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE}
    | {b"X"}  # Solaris extended header, read like pax
)


class _StrictTarInfo(tarfile.TarInfo):
    """tarfile would end the listing quietly at a corrupt header; refuse instead.

    Also refuses meta headers (pax, GNU long names) bigger than ``_max_meta``: tarfile
    reads those into memory in one piece.
    """

    _max_meta = DEFAULT_LIMITS.max_meta

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> _StrictTarInfo:
        try:
            info = super().frombuf(buf, encoding, errors)
        except tarfile.HeaderError as exc:
            # EOFHeaderError / EmptyHeaderError end the archive and pass through;
            # the subclasses are not in typeshed, hence the names.
            kind = type(exc).__name__
            if kind == "InvalidHeaderError":
                raise _Refused(f"corrupt tar header ({exc})") from None
            if kind == "TruncatedHeaderError":
                raise _Refused("truncated tar archive") from None
            raise
        if info.type in _TAR_META_TYPES and info.size > cls._max_meta:
            raise _Refused(f"tar meta header of {info.size} bytes (limit {cls._max_meta})")
        return info


def _tarinfo_class(max_meta: int) -> type[tarfile.TarInfo]:
    class _Strict(_StrictTarInfo):
        _max_meta = max_meta

    return _Strict


@dataclass(frozen=True)
class _Want:
    """Which regular files to read: a name test, shared libraries only or not, a size cap,
    and the budget of bytes kept in memory."""

    name: Callable[[str], bool]
    elf_only: bool
    max_size: int
    kept: _Budget


def _want(name: Callable[[str], bool], elf_only: bool, max_size: int, limits: Limits) -> _Want:
    budget = _Budget(limits.max_kept, "the files kept in memory", "add up to")
    return _Want(name, elf_only, max_size, budget)


def _keep(want: _Want, name: str, size: int, where: str) -> bool:
    if not want.name(name):
        return False
    if size > want.max_size:
        at = f"{where}: " if where else ""  # a tree's members are named from its root
        raise _Refused(f"{at}{name} is {size} bytes (limit {want.max_size})")
    return True


_HEAD = 18  # the bytes of an ELF header that say whether it can be a shared library
_ET_DYN = 3


def is_shared_library_header(head: bytes) -> bool:
    """Can a file starting with ``head`` (at least 18 bytes) be a shared library? ELF magic,
    class 32/64-bit, byte order, version 1 and type ``ET_DYN``."""
    if len(head) < _HEAD or not head.startswith(ELF_MAGIC):
        return False
    if head[4] not in (1, 2) or head[5] not in (1, 2) or head[6] != 1:
        return False
    return int.from_bytes(head[16:18], "little" if head[5] == 1 else "big") == _ET_DYN


def _read_wanted(f: _Reader, size: int, want: _Want, name: str, where: str) -> bytes | None:
    """A member ``want`` asked for, in one copy: None, once ``min(size, 18)`` bytes are read,
    when it cannot be a shared library (``want.elf_only``); else all ``size`` bytes, read in
    pieces of 1 MiB and counted against the kept budget before they are read."""
    head = f.read(min(size, _HEAD))
    if len(head) != min(size, _HEAD):
        raise _Refused(f"{where}: {name} is truncated")
    if want.elf_only and not is_shared_library_header(head):
        return None
    want.kept.spend(size)
    if len(head) == size:
        return head
    buf = io.BytesIO()
    buf.write(head)
    left = size - len(head)
    while left > 0:
        chunk = f.read(min(left, MiB))
        if not chunk:
            raise _Refused(f"{where}: {name} is truncated")
        buf.write(chunk)
        left -= len(chunk)
    return buf.getvalue()  # the buffer itself, not a copy


def _tar_members(stream: IO[bytes], where: str, limits: Limits, want: _Want) -> Iterator[Member]:
    tf = tarfile.open(fileobj=stream, mode="r|", tarinfo=_tarinfo_class(limits.max_meta))  # noqa: SIM115
    # Stream mode keeps every TarInfo in tf.members; nothing here needs them back.
    seen: list[tarfile.TarInfo] | None = getattr(tf, "members", None)
    count = 0
    while (ti := tf.next()) is not None:
        if seen is not None:
            seen.clear()
        count += 1
        if count > limits.max_members:
            raise _Refused(f"{where}: more than {limits.max_members} members")
        name = normalise(ti.name)
        if not name:
            continue  # the root, or an absolute / '..' path: ignored
        if ti.isreg():
            data = None
            if _keep(want, name, ti.size, where):
                fobj = tf.extractfile(ti)
                if fobj is None:  # pragma: no cover - isreg() members always have data
                    continue
                data = _read_wanted(fobj, ti.size, want, name, where)
            yield Member(name, Kind.FILE, ti.size, None, data)
        elif ti.issym():
            if 0 < len(ti.linkname) <= limits.max_link_length and "\0" not in ti.linkname:
                yield Member(name, Kind.SYMLINK, 0, ti.linkname)
        elif ti.islnk():
            target = normalise(ti.linkname)
            if target:
                yield Member(name, Kind.HARDLINK, 0, target)
        elif ti.isdir():
            yield Member(name, Kind.DIR)
        else:
            yield Member(name, Kind.OTHER)


# --------------------------------------------------------------------------- .deb


@dataclass(frozen=True)
class _ArMember:
    name: str
    offset: int
    size: int


def _ar_members(f: IO[bytes], size: int) -> list[_ArMember]:
    f.seek(0)
    if f.read(len(AR_MAGIC)) != AR_MAGIC:
        raise _Refused("not a Debian package (no '!<arch>' header)")
    out: list[_ArMember] = []
    pos = len(AR_MAGIC)
    while pos < size:
        if len(out) >= 64:
            raise _Refused("more than 64 ar members: not a Debian package")
        f.seek(pos)
        hdr = f.read(60)
        if len(hdr) == 1 and hdr == b"\n":
            break  # final padding byte
        if len(hdr) < 60:
            raise _Refused(f"truncated ar header at byte {pos}")
        if hdr[58:60] != b"`\n":
            raise _Refused(f"corrupt ar header at byte {pos}")
        name = hdr[:16].decode("ascii", "replace").rstrip(" ")
        field = hdr[48:58].strip()
        if not field.isdigit():
            raise _Refused(f"corrupt ar header at byte {pos} (size {field!r})")
        total = int(field)
        start, length = pos + 60, total
        if name.startswith("#1/") and name[3:].isdigit():  # BSD long name
            n = int(name[3:])
            if n > total or n > 4096:
                raise _Refused(f"corrupt ar header at byte {pos}")
            name = f.read(n).rstrip(b"\0").decode("utf-8", "replace")
            start, length = start + n, total - n
        name = name.rstrip("/") if name not in ("/", "//") else name
        if pos + 60 + total > size:
            raise _Refused(
                f"truncated: ar member {name!r} needs {total} bytes,"
                f" the file ends {size - pos - 60} bytes after its header"
            )
        out.append(_ArMember(name, start, length))
        pos += 60 + total + (total & 1)
    return out


_TAR_SUFFIXES = {"": "", ".gz": "gz", ".xz": "xz", ".zst": "zst", ".bz2": "bz2", ".lzma": "lzma"}


def _deb_part(members: list[_ArMember], prefix: str) -> tuple[_ArMember, str]:
    for m in members:
        if m.name.startswith(prefix):
            suffix = m.name[len(prefix) :]
            if suffix not in _TAR_SUFFIXES:
                raise _Refused(f"{m.name}: unsupported compression")
            return m, _TAR_SUFFIXES[suffix]
    raise _Refused(f"no {prefix}.* member: not a Debian binary package")


def _deb_layout(f: IO[bytes], size: int) -> list[_ArMember]:
    members = _ar_members(f, size)
    if not members or members[0].name != "debian-binary":
        first = members[0].name if members else "nothing"
        raise _Refused(
            f"not a Debian binary package (ar archive starting with {first!r}; a static library?)"
        )
    f.seek(members[0].offset)
    if not f.read(min(members[0].size, 16)).startswith(b"2."):
        raise _Refused("unsupported Debian package format (debian-binary is not 2.x)")
    return members


def _deb_tar(f: IO[bytes], size: int, prefix: str, limits: Limits, want: _Want) -> Iterator[Member]:
    part, method = _deb_part(_deb_layout(f, size), prefix)
    budget = _Budget(limits.max_total, part.name)
    stream = _capped(_Section(f, part.offset, part.size), method, budget)
    try:
        yield from _tar_members(stream, part.name, limits, want)
    except _Refused:
        raise
    except _CORRUPT as exc:
        raise _Refused(f"{part.name}: {_describe(exc)}") from None


# --------------------------------------------------------------------------- .rpm

_RPMTAG_NAME = 1000
_RPMTAG_VERSION = 1001
_RPMTAG_RELEASE = 1002
_RPMTAG_EPOCH = 1003
_RPMTAG_ARCH = 1022
_RPMTAG_PAYLOADFORMAT = 1124
_RPMTAG_PAYLOADCOMPRESSOR = 1125
_RPM_TAGS = {
    _RPMTAG_NAME: "Name",
    _RPMTAG_EPOCH: "Epoch",
    _RPMTAG_VERSION: "Version",
    _RPMTAG_RELEASE: "Release",
    _RPMTAG_ARCH: "Arch",
    _RPMTAG_PAYLOADFORMAT: "PayloadFormat",
    _RPMTAG_PAYLOADCOMPRESSOR: "PayloadCompressor",
}


def _rpm_header(f: IO[bytes], offset: int, size: int, what: str) -> tuple[dict[int, str], int]:
    """Parse one header structure; return its string/int32 values of interest and its end."""
    f.seek(offset)
    intro = f.read(16)
    if len(intro) < 16:
        raise _Refused(f"truncated rpm {what}")
    if intro[:4] != RPM_HEADER_MAGIC:
        raise _Refused(f"corrupt rpm {what} (bad magic)")
    count, store_size = struct.unpack(">II", intro[8:16])
    if count > 0xFFFF or store_size > 0x0FFFFFFF:
        raise _Refused(f"corrupt rpm {what} ({count} tags, {store_size} bytes)")
    end = offset + 16 + 16 * count + store_size
    if end > size:
        raise _Refused(f"truncated rpm {what}")
    index = f.read(16 * count)
    store = f.read(store_size)
    values: dict[int, str] = {}
    for i in range(count):
        tag, typ, off, n = struct.unpack_from(">IIII", index, 16 * i)
        if tag not in _RPM_TAGS or off >= store_size or n == 0:
            continue
        if typ in (6, 8, 9):  # STRING, STRING_ARRAY, I18NSTRING: first string
            stop = store.find(b"\0", off)
            if stop < 0:
                raise _Refused(f"corrupt rpm {what} (unterminated string)")
            values[tag] = store[off:stop].decode("utf-8", "replace")
        elif typ == 4 and off + 4 <= store_size:  # INT32
            values[tag] = str(struct.unpack_from(">I", store, off)[0])
    return values, end


def _rpm_layout(f: IO[bytes], size: int) -> tuple[dict[int, str], int]:
    f.seek(0)
    lead = f.read(96)
    if len(lead) < 96 or lead[:4] != RPM_MAGIC:
        raise _Refused("not an rpm package (bad lead)")
    _, sig_end = _rpm_header(f, 96, size, "signature header")
    sig_end += (-sig_end) % 8
    header, payload = _rpm_header(f, sig_end, size, "header")
    return header, payload


_PAYLOAD_MAGIC = (
    (b"\x1f\x8b", "gz"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zst"),
    (b"BZh", "bz2"),
    (b"\x5d\x00\x00", "lzma"),
    (b"0707", ""),
)


def _cpio_members(stream: IO[bytes], where: str, limits: Limits, want: _Want) -> Iterator[Member]:
    """newc/crc cpio, as rpm writes it; hardlinks carry their data on the last link."""
    pending: dict[tuple[int, int, int], list[str]] = {}
    count = 0
    while True:
        hdr = _read_exact(stream, 110, f"{where} (cpio header)")
        magic = hdr[:6]
        if magic == b"07070X":
            raise _Refused(f"{where}: stripped cpio (rpm large-file format) is not supported")
        if magic not in (b"070701", b"070702"):
            raise _Refused(f"{where}: corrupt cpio header (magic {magic!r})")
        try:
            fields = [int(hdr[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            raise _Refused(f"{where}: corrupt cpio header") from None
        ino, mode, _uid, _gid, nlink, _mtime, fsize, major, minor, _rmaj, _rmin, nsize, _chk = (
            fields
        )
        if not 1 <= nsize <= 4097:
            raise _Refused(f"{where}: corrupt cpio header (name of {nsize} bytes)")
        raw = _read_exact(stream, nsize, f"{where} (cpio name)")
        _skip(stream, (-(110 + nsize)) % 4, where)
        raw_name = raw.rstrip(b"\0").decode("utf-8", "surrogateescape")
        if raw_name == "TRAILER!!!":
            break
        count += 1
        if count > limits.max_members:
            raise _Refused(f"{where}: more than {limits.max_members} members")
        name = normalise(raw_name)
        pad = (-fsize) % 4
        if not name:
            _skip(stream, fsize + pad, where)
            continue
        if stat.S_ISREG(mode):
            key = (ino, major, minor)
            if nlink > 1 and fsize == 0:
                pending.setdefault(key, []).append(name)  # data comes with the last link
                continue
            aliases = pending.pop(key, []) if nlink > 1 else []
            data = None
            if any(_keep(want, n, fsize, where) for n in [name, *aliases]):
                data = _read_wanted(stream, fsize, want, name, where)
                if data is None:
                    _skip(stream, fsize - min(fsize, _HEAD), where)
            else:
                _skip(stream, fsize, where)
            yield Member(name, Kind.FILE, fsize, None, data)
            for alias in aliases:
                yield Member(alias, Kind.HARDLINK, 0, name)
        elif stat.S_ISLNK(mode):
            if fsize > limits.max_link_length:
                raise _Refused(f"{where}: symlink {name} has a {fsize}-byte target")
            target = _read_exact(stream, fsize, where).decode("utf-8", "surrogateescape")
            if target and "\0" not in target:
                yield Member(name, Kind.SYMLINK, 0, target)
        else:
            _skip(stream, fsize, where)
            yield Member(name, Kind.DIR if stat.S_ISDIR(mode) else Kind.OTHER)
        _skip(stream, pad, where)
    for names in pending.values():
        for n in names:
            yield Member(n, Kind.FILE, 0)


def _rpm_members(f: IO[bytes], size: int, limits: Limits, want: _Want) -> Iterator[Member]:
    header, payload = _rpm_layout(f, size)
    fmt = header.get(_RPMTAG_PAYLOADFORMAT, "cpio")
    if fmt != "cpio":
        raise _Refused(f"unsupported rpm payload format {fmt!r}")
    f.seek(payload)
    head = f.read(8)
    methods = [method for magic, method in _PAYLOAD_MAGIC if head.startswith(magic)]
    if not methods:
        raise _Refused(f"unknown rpm payload compression (starts with {head[:6]!r})")
    method = methods[0]
    where = f"payload ({method or 'uncompressed'})"
    budget = _Budget(limits.max_total, "rpm payload")
    stream = _capped(_Section(f, payload, size - payload), method, budget)
    try:
        yield from _cpio_members(stream, where, limits, want)
    except _Refused:
        raise
    except _CORRUPT as exc:
        raise _Refused(f"{where}: {_describe(exc)}") from None


# --------------------------------------------------------------------------- trees


def _read_tree_file(path: str, st: os.stat_result, want: _Want, budget: _Budget) -> bytes | None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None  # vanished or replaced by a link since the listing
    with os.fdopen(fd, "rb") as f:
        now = os.fstat(f.fileno())
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return None
        if now.st_size > want.max_size:  # grown since the listing
            raise _Refused(f"{path} is over {want.max_size} bytes")
        data = _read_wanted(f, now.st_size, want, os.path.basename(path), os.path.dirname(path))
    if data is not None:
        budget.spend(len(data))
    return data


def _tree_members(root: str, limits: Limits, want: _Want) -> Iterator[Member]:
    """Walk a directory without following symlinks; never leaves the tree."""
    budget = _Budget(limits.max_total, "the libraries of this tree", "add up to")
    stack = [""]
    first_link: dict[tuple[int, int], str] = {}
    count = 0
    while stack:
        rel_dir = stack.pop()
        where = f"{root}/{rel_dir}" if rel_dir else root
        try:
            with os.scandir(where) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise _Refused(f"cannot read {rel_dir or '.'}: {_describe(exc)}") from None
        count += len(entries)
        if count > limits.max_members:
            raise _Refused(f"more than {limits.max_members} entries")
        for e in entries:
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            try:
                if e.is_symlink():
                    target = os.readlink(e.path)
                    if 0 < len(target) <= limits.max_link_length:
                        yield Member(rel, Kind.SYMLINK, 0, target)
                elif e.is_dir(follow_symlinks=False):
                    stack.append(rel)
                    yield Member(rel, Kind.DIR)
                elif e.is_file(follow_symlinks=False):
                    st = e.stat(follow_symlinks=False)
                    if st.st_nlink > 1:
                        key = (st.st_dev, st.st_ino)
                        if key in first_link:
                            yield Member(rel, Kind.HARDLINK, 0, first_link[key])
                            continue
                        first_link[key] = rel
                    data = None
                    if _keep(want, rel, st.st_size, ""):
                        data = _read_tree_file(e.path, st, want, budget)
                    yield Member(rel, Kind.FILE, st.st_size, None, data)
                else:
                    yield Member(rel, Kind.OTHER)
            except FileNotFoundError:
                continue  # vanished while walking


# --------------------------------------------------------------------------- dispatch


def _detect(path: str) -> str:
    """'dir', 'deb', 'rpm' or 'elf' (by content, not by name)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise PackageError(os.fspath(path), _describe(exc)) from None
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if not stat.S_ISREG(st.st_mode):
        raise PackageError(os.fspath(path), "not a regular file or directory")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise PackageError(os.fspath(path), _describe(exc)) from None
    if head.startswith(ELF_MAGIC):
        return "elf"
    if head.startswith(AR_MAGIC):
        return "deb"
    if head.startswith(RPM_MAGIC):
        return "rpm"
    if not head:
        raise PackageError(os.fspath(path), "empty file")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".deb":
        raise PackageError(os.fspath(path), "not a Debian package (no '!<arch>' header)")
    if suffix == ".rpm":
        raise PackageError(os.fspath(path), "not an rpm package (bad lead)")
    raise PackageError(os.fspath(path), "not an ELF file, a .deb, an .rpm or a directory")


def _members(path: str, kind: str, limits: Limits, want: _Want) -> Iterator[Member]:
    if kind == "dir":
        yield from _tree_members(path, limits, want)
        return
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if kind == "deb":
            yield from _deb_tar(f, size, "data.tar", limits, want)
        elif kind == "rpm":
            yield from _rpm_members(f, size, limits, want)
        else:
            raise _Refused("not a package or a directory")


def read_members(
    path: str | os.PathLike[str],
    *,
    limits: Limits = DEFAULT_LIMITS,
    want: Callable[[str], bool] = is_library_name,
    elf_only: bool = True,
) -> Iterator[Member]:
    """The entries of a .deb's data.tar, an .rpm payload or a directory tree.

    Regular files named so that ``want(name)`` holds are read into ``Member.data``
    (only ELF files when ``elf_only``); everything else is skipped without being kept.
    Raises :class:`PackageError` for anything unreadable or over a limit.
    """
    p = _norm(path)
    kind = _detect(p)
    if kind == "elf":
        raise PackageError(p, "an ELF file, not a package or a directory")
    try:
        yield from _members(p, kind, limits, _want(want, elf_only, limits.max_member, limits))
    except _CAUGHT as exc:
        _raise_package_error(p, exc)


# --------------------------------------------------------------------------- resolution


class _Namespace:
    """The members of one package, with links resolved inside it only."""

    def __init__(self, members: Iterable[Member], limits: Limits) -> None:
        self.entries: dict[str, Member] = {}
        for m in members:
            self.entries[m.name] = m  # a later entry replaces an earlier one, as tar does
        self.limits = limits

    def resolve(self, name: str) -> str | None:
        """Follow symlinks in every component; ``None`` if it escapes, loops or dangles."""
        todo = list(reversed(name.split("/")))
        done: list[str] = []
        hops = 0
        while todo:
            part = todo.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not done:
                    return None  # above the package root
                done.pop()
                continue
            m = self.entries.get("/".join([*done, part]))
            if m is not None and m.kind is Kind.SYMLINK and m.link is not None:
                hops += 1
                if hops > self.limits.max_link_depth:
                    return None
                if m.link.startswith("/"):
                    done = []  # absolute: the package root, never the real filesystem
                todo.extend(reversed(m.link.split("/")))
                continue
            done.append(part)
        return "/".join(done)

    def file_of(self, name: str) -> str | None:
        """The regular file a path leads to through symlinks and hardlinks, if any."""
        path = self.resolve(name)
        for _ in range(self.limits.max_link_depth):
            if path is None:
                return None
            m = self.entries.get(path)
            if m is None:
                return None
            if m.kind is Kind.FILE:
                return path
            if m.kind is not Kind.HARDLINK:
                return None
            path = m.link
        return None

    def libraries(self) -> Iterator[tuple[str, Member, str | None]]:
        """(name, member, soname hint) of every shared library: versioned names
        (``libfoo.so.1``, or a file such a name links to), and regular files named
        ``libfoo.so`` directly in a library directory (a development symlink of that name
        is a link, never a file, so it is not counted twice)."""
        aliases: dict[str, list[str]] = {}
        for name, m in self.entries.items():
            if m.kind in (Kind.SYMLINK, Kind.HARDLINK):
                target = self.file_of(name)
                if target is not None and target != name:
                    aliases.setdefault(target, []).append(name)
        for name in sorted(self.entries):
            m = self.entries[name]
            if m.kind is not Kind.FILE or m.data is None or not m.data.startswith(ELF_MAGIC):
                continue
            hints = sorted(
                {_basename(a) for a in aliases.get(name, ()) if is_versioned_name(a)},
                key=lambda b: (b.count("."), len(b), b),
            )
            if hints or is_versioned_name(name) or _UNVERSIONED_LIBRARY.fullmatch(name):
                yield name, m, hints[0] if hints else None


def find_libraries(
    path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS
) -> list[LibraryInput]:
    """The versioned shared libraries in an ELF file, a directory, a .deb or an .rpm.

    A single ELF file is returned as is, whatever its name (its hint is its own name
    when the path given is a versioned symlink). Results are sorted by name.
    """
    p = _norm(path)
    kind = _detect(p)
    if kind == "elf":
        try:
            with open(p, "rb") as f:
                data = f.read(limits.max_member + 1)
        except OSError as exc:
            raise PackageError(p, _describe(exc)) from None
        if len(data) > limits.max_member:
            raise PackageError(p, f"over {limits.max_member} bytes")
        base = os.path.basename(p)
        hint = base if os.path.islink(p) and is_versioned_name(base) else None
        return [LibraryInput(base, data, p, hint)]
    ns = _Namespace(read_members(p, limits=limits), limits)
    out = []
    for name, member, hint in ns.libraries():
        assert member.data is not None
        origin = f"{p}/{name}" if kind == "dir" else f"{os.path.basename(p)}:/{name}"
        out.append(LibraryInput(f"/{name}", member.data, origin, hint))
    return out


# --------------------------------------------------------------------------- metadata


def debian_upstream(version: str) -> str:
    """The upstream part of a Debian version: ``1:9.0.0-4+deb12u2`` -> ``9.0.0``
    (epoch, Debian revision and ``+``/``~`` suffixes dropped)."""
    v = version.split(":", 1)[-1]
    if "-" in v:
        v = v.rsplit("-", 1)[0]
    return re.split(r"[+~]", v, maxsplit=1)[0]


def read_deb_control_file(
    path: str | os.PathLike[str], name: str, *, limits: Limits = DEFAULT_LIMITS
) -> bytes | None:
    """A file of a .deb's control archive (``symbols``, ``shlibs``, ``control``...), or None."""
    p = _norm(path)
    wanted = normalise(name)
    if not wanted:
        raise ValueError(f"not a control member name: {name!r}")
    if _detect(p) != "deb":
        raise PackageError(p, "not a Debian package (no '!<arch>' header)")
    want = _want(lambda n: n == wanted, False, limits.max_control, limits)
    found: bytes | None = None
    try:
        with open(p, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            for m in _deb_tar(f, size, "control.tar", limits, want):
                if m.name == wanted and m.kind is Kind.FILE:
                    found = m.data
    except _CAUGHT as exc:
        _raise_package_error(p, exc)
    return found


def parse_control(text: str) -> dict[str, str]:
    """The first paragraph of a deb822 file; continuation lines joined with newlines."""
    fields: dict[str, str] = {}
    key: str | None = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        if line[0] in " \t":
            if key is not None:
                fields[key] += "\n" + line.strip()
            continue
        if ":" in line:
            key, value = line.split(":", 1)
            key = key.strip()
            fields[key] = value.strip()
    return fields


def deb_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The fields of a .deb's ``control`` file (Package, Version, Architecture, ...)."""
    raw = read_deb_control_file(path, "control")
    if raw is None:
        raise PackageError(os.fspath(path), "control.tar has no ./control file")
    fields = parse_control(raw.decode("utf-8", "replace"))
    for key in ("Package", "Version", "Architecture"):
        if key not in fields:
            raise PackageError(os.fspath(path), f"./control has no {key} field")
    return fields


def rpm_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """Name, Version, Release, Arch (and Epoch, payload details when present) of an .rpm."""
    p = _norm(path)
    if _detect(p) != "rpm":
        raise PackageError(p, "not an rpm package (bad lead)")
    try:
        with open(p, "rb") as f:
            header, _ = _rpm_layout(f, os.fstat(f.fileno()).st_size)
    except _CAUGHT as exc:
        _raise_package_error(p, exc)
    return {_RPM_TAGS[tag]: value for tag, value in sorted(header.items())}

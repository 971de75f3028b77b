"""The one home of file I/O (stdlib only): reading inputs, atomic writes, locks.

Reading. Every text or JSON input (release graph, profile, waivers, snapshot, symbols
file, version script) is read by :func:`read_bytes` / :func:`read_text` /
:func:`read_json`, so a problem is worded one way whichever loader met it:

============================  ================================================
``<file>: no such file``      missing
``<file>: is a directory``    a directory where a file was expected
``<file>: permission denied`` not readable
``<file>: too large ...``     more than ``limit`` bytes (default 512 MiB)
``<file>: cannot read: ...``  any other OS error (its strerror)
``<file>:<line>: not UTF-8 text (byte 0x..)``
``<file>:<line>: invalid JSON: <what>``
============================  ================================================

Each loader passes its own error class (``error=GraphError``, ``ProfileError``...; any
:class:`~elfaudit.base.errors.InputError`), so callers and exit codes stay the same.

Writing. :func:`atomic_write` replaces a regular file atomically (temp file in the same
directory, fsync, rename) or not at all; it never replaces anything else: a FIFO or a
device is written into as a shell redirection would (``-o /dev/null`` works), a symlink
is followed, a directory is an error. :func:`file_lock` holds an exclusive ``flock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import stat
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from elfaudit.base.errors import ElfauditError, InputError, OutputError, one_line

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_JSON_INT_DIGITS",
    "MISSING",
    "atomic_write",
    "decode_text",
    "file_lock",
    "parse_json",
    "read_bytes",
    "read_json",
    "read_problem",
    "read_text",
]

MAX_INPUT_BYTES = 512 * 1024 * 1024
"""The default size limit of one text or JSON input (the shipped graph is 73 kB)."""

WriteError = Callable[[str, str], ElfauditError]

# --------------------------------------------------------------------------- reading


def read_problem(exc: OSError) -> str:
    """The one wording of an OS error met while reading a file."""
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read: {one_line(exc.strerror or exc)}"


def _too_large(limit: int) -> str:
    return f"too large (more than {limit} bytes)"


def _read_at_most(fh: BinaryIO, expected: int, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of ``fh``, in pieces: ``read(n)`` reserves ``n`` bytes up
    front, so one ``read(limit + 1)`` would cost every small input the whole limit
    (512 MiB). A regular file is read at its size (one piece, plus one byte to notice a
    file that grew); a FIFO or a device in 1 MiB pieces."""
    first = fh.read(min(expected, limit) + 1) if expected else b""
    if expected and len(first) <= expected:
        return first
    pieces = [first]
    have = len(first)
    while have <= limit:
        piece = fh.read(min(1 << 20, limit + 1 - have))
        if not piece:
            break
        pieces.append(piece)
        have += len(piece)
    return b"".join(pieces)


def read_bytes(
    path: str | os.PathLike[str],
    *,
    error: type[InputError] = InputError,
    limit: int = MAX_INPUT_BYTES,
) -> bytes:
    """The whole file, at most ``limit`` bytes; any problem is an ``error``."""
    p = os.fspath(path)
    try:
        with open(p, "rb") as fh:
            st = os.fstat(fh.fileno())
            if stat.S_ISDIR(st.st_mode):  # not on Linux (open fails), but elsewhere
                raise error(p, "is a directory")
            if stat.S_ISREG(st.st_mode) and st.st_size > limit:
                raise error(p, _too_large(limit))
            data = _read_at_most(fh, st.st_size if stat.S_ISREG(st.st_mode) else 0, limit)
    except OSError as exc:
        raise error(p, read_problem(exc)) from None
    if len(data) > limit:
        raise error(p, _too_large(limit))
    return data


def decode_text(data: bytes, path: str, *, error: type[InputError] = InputError) -> str:
    """``data`` as UTF-8; otherwise ``<path>:<line>: not UTF-8 text (byte 0x..)``."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(path, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line) from None


def read_text(
    path: str | os.PathLike[str],
    *,
    error: type[InputError] = InputError,
    limit: int = MAX_INPUT_BYTES,
) -> str:
    """A UTF-8 text file (:func:`read_bytes` then :func:`decode_text`)."""
    p = os.fspath(path)
    return decode_text(read_bytes(p, error=error, limit=limit), p, error=error)


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


MAX_JSON_DEPTH = 64
"""How deeply arrays and objects may nest in a JSON input (elfaudit's own documents
nest at most 7 levels; the json module itself gives up near 1,000)."""

MAX_JSON_INT_DIGITS = 20
"""The most digits an integer in a JSON input may have (2**64 has 20)."""

_CONTAINERS = frozenset((dict, list))
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _BadNumber(ValueError):
    pass


def _bounded_int(text: str) -> int:
    if len(text) > MAX_JSON_INT_DIGITS and len(text.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise _BadNumber(f"an integer with more than {MAX_JSON_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(f"a number too large ({text[:20]}...)")
    return value


def _no_constant(name: str) -> Any:
    raise _BadNumber(f"{name} is not JSON")


def _too_deep(doc: Any) -> bool:
    """True if ``doc`` nests more than :data:`MAX_JSON_DEPTH` levels; level by level, a
    container holding only scalars costs one C-level pass."""
    level = [doc] if type(doc) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return True
        below: list[Any] = []
        for x in level:
            items = x.values() if type(x) is dict else x
            if not _CONTAINERS.isdisjoint(map(type, items)):
                below.extend([v for v in items if type(v) in _CONTAINERS])
        level = below
    return False


def _lone_surrogate(doc: Any) -> str | None:
    """The first lone surrogate (``\\udc80``) in a string or key of ``doc``, if any: the
    json module accepts one as an escape, but no UTF-8 output can hold it."""
    stack = [doc]
    while stack:
        x = stack.pop()
        if type(x) is str:
            m = _SURROGATE.search(x)
            if m:
                return f"\\u{ord(m.group()):04x}"
        elif type(x) is dict:
            stack.extend(x.keys())
            stack.extend(x.values())
        elif type(x) is list:
            stack.extend(x)
    return None


def parse_json(
    text: str, path: str, *, error: type[InputError] = InputError, unique_keys: bool = False
) -> Any:
    """``text`` as JSON; otherwise ``<path>:<line>: invalid JSON: <what>``.

    With ``unique_keys`` a key given twice in one object is an error too (the json
    module would keep the last one silently). Every input is held to the same bounds,
    whichever loader reads it: at most :data:`MAX_JSON_DEPTH` levels of nesting, integers
    of at most :data:`MAX_JSON_INT_DIGITS` digits, finite numbers only (no ``NaN``,
    ``Infinity`` or ``1e999``), and no lone surrogate (``"\\udc80"``) in a string.
    """
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_unique_keys if unique_keys else None,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as exc:
        raise error(path, f"invalid JSON: {exc.msg}", exc.lineno) from None
    except _DuplicateKey as exc:
        key = exc.args[0][:80]
        raise error(path, f"invalid JSON: key {key!r} appears twice in one object") from None
    except RecursionError:
        raise error(path, f"invalid JSON: nested more than {MAX_JSON_DEPTH} levels") from None
    except _BadNumber as exc:
        raise error(path, f"invalid JSON: {exc}") from None
    except ValueError as exc:  # nothing else is known to raise one; still bad input
        raise error(path, f"invalid JSON: {one_line(exc)}") from None
    if _too_deep(doc):
        raise error(path, f"invalid JSON: nested more than {MAX_JSON_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(text):  # only then can a string hold a lone surrogate
        found = _lone_surrogate(doc)
        if found is not None:
            raise error(path, f"invalid JSON: a lone surrogate ({found}) in a string")
    return doc


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What :func:`read_json` returns with ``missing_ok`` for a file that does not exist
(``None`` would be a file holding ``null``)."""


def read_json(
    path: str | os.PathLike[str],
    *,
    error: type[InputError] = InputError,
    limit: int = MAX_INPUT_BYTES,
    unique_keys: bool = False,
    missing_ok: bool = False,
) -> Any:
    """A JSON file, parsed; any problem is an ``error`` worded as the module says.

    With ``missing_ok`` a file that does not exist is :data:`MISSING`, not an error.
    """
    p = os.fspath(path)
    try:
        data = read_bytes(p, error=error, limit=limit)
    except InputError:
        if missing_ok and not os.path.lexists(p):
            return MISSING
        raise
    return parse_json(decode_text(data, p, error=error), p, error=error, unique_keys=unique_keys)


# --------------------------------------------------------------------------- writing


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _cannot_write(exc: OSError) -> str:
    return f"cannot write: {one_line(exc.strerror or exc)}"


_TEMP_RE = re.compile(r"\.([0-9]{1,10})\.[0-9a-f]{12}\.tmp\Z")
_TEMP_BASE = 160
"""At most this many characters of the target's name go into a temp file's name, so
that ``.<name>.<pid>.<random>.tmp`` stays within the 255 bytes a name may have."""


def _temp_prefix(base: str) -> str:
    return f".{base[:_TEMP_BASE]}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, another user's; anything else: assume alive
        return True
    return True


def _remove_stale_temps(directory: str, base: str) -> None:
    """Remove the temp files a killed writer of the same target left behind: names
    ``.<base>.<pid>.<random>.tmp`` whose process is gone (a reused PID keeps its file
    until that process is gone too)."""
    prefix = _temp_prefix(base)
    me = os.getpid()
    try:
        with os.scandir(directory or ".") as entries:
            names = [e.name for e in entries if e.name.startswith(prefix)]
    except OSError:
        return
    for name in names:
        m = _TEMP_RE.fullmatch(name, len(prefix))
        if m is None or int(m.group(1)) == me or _pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, name))


def _temp_in(directory: str, base: str) -> tuple[str, int]:
    """Create ``.<base>.<pid>.<random>.tmp`` exclusively, mode 0666 less the umask, after
    removing the ones dead writers of the same target left (:func:`_remove_stale_temps`)."""
    _remove_stale_temps(directory, base)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    prefix = _temp_prefix(base)
    for _ in range(100):
        tmp = os.path.join(directory, f"{prefix}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {directory}")


def atomic_write(
    path: str | os.PathLike[str], data: bytes | str, *, error: WriteError = OutputError
) -> None:
    """Write ``data`` (``str`` is UTF-8) to ``path``; any problem is an ``error``
    worded ``<path>: cannot write: <why>`` (or ``<path>: is a directory``).

    * a regular file (or a new one) is replaced atomically: a temp file in the same
      directory, fsync, rename over, fsync the directory. On any failure, even an
      exception that is not an OSError (KeyboardInterrupt), the temp file is removed
      and the old file is untouched. A process killed outright (``SIGKILL``) cannot
      clean up: its temp file, named after its PID, is removed by the next write of the
      same target once that PID is gone. A new file gets 0666 less the umask (and the
      directory's default ACL); an existing one keeps its mode (and owner, when allowed);
    * a symlink is followed: its target is replaced, the link stays;
    * a FIFO, a character or block device is opened and written into, never replaced
      (``-o /dev/null`` leaves the device node as it was);
    * a directory is an error.
    """
    p = os.fspath(path)
    blob = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    target = os.path.realpath(p)
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise error(p, _cannot_write(exc)) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise error(p, "is a directory")
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_into(p, target, blob, error)
        return
    directory, base = os.path.split(target)
    tmp: str | None = None
    try:
        tmp, fd = _temp_in(directory, base)
        try:
            if st is not None:
                os.fchmod(fd, stat.S_IMODE(st.st_mode))
                if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(OSError):
                        os.fchown(fd, st.st_uid, st.st_gid)
            _write_all(fd, blob)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        tmp = None
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise error(p, _cannot_write(exc)) from None
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(directory or ".", os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _write_into(path: str, target: str, blob: bytes, error: WriteError) -> None:
    """Write into a FIFO or a device the way ``> path`` would: no temp file, no rename."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            _write_all(fd, blob)
        finally:
            os.close(fd)
    except OSError as exc:
        raise error(path, _cannot_write(exc)) from None


# --------------------------------------------------------------------------- locks


@contextlib.contextmanager
def file_lock(lock_path: str, *, error: WriteError = OutputError) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if needed) for the block."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise error(lock_path, f"cannot lock: {one_line(exc.strerror or exc)}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

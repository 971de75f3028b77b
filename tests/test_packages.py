"""elfaudit.readers.packages: libraries out of .deb, .rpm, trees and ELF files; the fetch script."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import importlib.util
import io
import lzma
import os
import shutil
import struct
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import realdebs
import zstandard

from elfaudit.base.errors import PackageError
from elfaudit.readers.inputs import load_libraries
from elfaudit.readers.packages import (
    Kind,
    LibraryInput,
    Limits,
    deb_metadata,
    find_libraries,
    read_deb_control_file,
    read_members,
    rpm_metadata,
)

ROOT = Path(__file__).resolve().parent.parent
LIBDIR = "usr/lib/x86_64-linux-gnu"
C_SOURCE = "int t_alpha(void) { return 1; }\nint t_beta(void) { return 2; }\n"
MAP = "T_1.0 { global: t_alpha; local: *; };\nT_1.2 { global: t_beta; } T_1.0;\n"
CONTROL = (
    "Package: libt1\nVersion: 1.2.3-4\nArchitecture: amd64\n"
    "Maintainer: Nobody <nobody@example.org>\nDescription: test library\n"
    " second line of the description\n"
)
SYMBOLS = "libt.so.1 libt1 #MINVER#\n t_alpha@T_1.0 1.2.3\n t_beta@T_1.2 1.2.3\n"


@pytest.fixture(scope="module")
def libt(build_lib: Callable[..., Path]) -> Path:
    return build_lib(C_SOURCE, MAP, soname="libt.so.1", name="libt.so.1.2.3")


@pytest.fixture(scope="module")
def libu(build_lib: Callable[..., Path]) -> Path:
    return build_lib("int u(void) { return 3; }\n", None, soname="libu.so.2", name="libu-2.0.so")


def names(libs: list[LibraryInput]) -> dict[str, str | None]:
    return {lib.name: lib.soname_hint for lib in libs}


def one_line(exc: pytest.ExceptionInfo[PackageError], path: Path) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: ")
    return msg


# --------------------------------------------------------------------------- builders


def ar_archive(members: list[tuple[str, bytes]]) -> bytes:
    out = [b"!<arch>\n"]
    for name, data in members:
        hdr = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        assert len(hdr) == 60
        out += [hdr, data, b"\n" if len(data) % 2 else b""]
    return b"".join(out)


Entry = tuple[tarfile.TarInfo, bytes | None]


def tar_entry(name: str, data: bytes | None = None, **attrs: object) -> Entry:
    info = tarfile.TarInfo(name)
    for key, value in attrs.items():
        setattr(info, key, value)
    if data is not None:
        info.size = len(data)
    return info, data


def tar_archive(entries: list[Entry], compression: str = "gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for info, data in entries:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    if compression == "gz":
        return gzip.compress(raw, compresslevel=1)
    if compression == "xz":
        return lzma.compress(raw)
    if compression == "bz2":
        return bz2.compress(raw)
    if compression == "zst":
        return zstandard.ZstdCompressor(write_checksum=True).compress(raw)  # as zstd(1) does
    assert compression == ""
    return raw


def hand_deb(path: Path, data_tar: bytes, suffix: str = ".gz", control: str = CONTROL) -> Path:
    ctrl = tar_archive([tar_entry("./control", control.encode())])
    path.write_bytes(
        ar_archive(
            [
                ("debian-binary", b"2.0\n"),
                ("control.tar.gz", ctrl),
                (f"data.tar{suffix}", data_tar),
            ]
        )
    )
    return path


def lib_entries(lib: bytes, stem: str = "libok") -> list[Entry]:
    return [
        tar_entry(f"./usr/lib/{stem}.so.1.0", lib),
        tar_entry(f"./usr/lib/{stem}.so.1", type=tarfile.SYMTYPE, linkname=f"{stem}.so.1.0"),
    ]


def dpkg_deb(tmp: Path, libt: Path, compression: str) -> Path:
    root = tmp / f"pkg-{compression}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(CONTROL)
    (root / "DEBIAN" / "symbols").write_text(SYMBOLS)
    lib = root / LIBDIR
    lib.mkdir(parents=True)
    shutil.copy(libt, lib / "libt.so.1.2.3")
    (lib / "libt.so.1").symlink_to("libt.so.1.2.3")
    (lib / "libt.so").symlink_to("libt.so.1")
    (lib / "libt1").mkdir()
    shutil.copy(libt, lib / "libt1" / "plugin.so")  # an unversioned module: not a library
    (lib / "libfake.so.1").write_text("not an ELF file\n")
    debug = root / "usr/lib/debug" / LIBDIR
    debug.mkdir(parents=True)
    shutil.copy(libt, debug / "libt.so.1.2.3")  # a detached debug file: ignored
    out = tmp / f"libt1_1.2.3-4_amd64.{compression}.deb"
    subprocess.run(
        ["dpkg-deb", f"-Z{compression}", "--root-owner-group", "--build", str(root), str(out)],
        check=True,
        capture_output=True,
    )
    return out


# --------------------------------------------------------------------------- .deb


@pytest.mark.parametrize(("compression", "suffix"), [("gzip", "gz"), ("xz", "xz"), ("zstd", "zst")])
def test_deb_from_dpkg_deb(tmp_path: Path, libt: Path, compression: str, suffix: str) -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    deb = dpkg_deb(tmp_path, libt, compression)
    members = subprocess.run(["ar", "t", str(deb)], capture_output=True, text=True, check=True)
    assert f"data.tar.{suffix}" in members.stdout.split()  # the compression under test
    libs = find_libraries(deb)
    assert names(libs) == {f"/{LIBDIR}/libt.so.1.2.3": "libt.so.1"}
    assert libs[0].data == libt.read_bytes()
    assert libs[0].origin == f"{deb.name}:/{LIBDIR}/libt.so.1.2.3"
    assert read_deb_control_file(deb, "symbols") == SYMBOLS.encode()
    assert read_deb_control_file(deb, "./symbols") == SYMBOLS.encode()
    assert read_deb_control_file(deb, "shlibs") is None
    meta = deb_metadata(deb)
    assert (meta["Package"], meta["Version"], meta["Architecture"]) == ("libt1", "1.2.3-4", "amd64")
    assert meta["Description"] == "test library\nsecond line of the description"


def test_read_members_lists_everything_but_keeps_only_elf(tmp_path: Path, libt: Path) -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    deb = dpkg_deb(tmp_path, libt, "xz")
    listing = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(listing)) as tf:
        expected = {m.name.removeprefix("./") for m in tf.getmembers()} - {"."}
    members = {m.name: m for m in read_members(deb)}
    assert set(members) == expected
    assert members[f"{LIBDIR}/libt.so"].kind is Kind.SYMLINK
    assert members[f"{LIBDIR}/libt.so"].link == "libt.so.1"
    assert members[f"{LIBDIR}/libt1/plugin.so"].data == libt.read_bytes()
    assert members[f"{LIBDIR}/libfake.so.1"].data is None  # not ELF
    assert members["usr/lib/debug"].kind is Kind.DIR


def test_hand_made_deb_uncompressed_and_bz2(tmp_path: Path, libt: Path) -> None:
    for comp, suffix in (("", ""), ("bz2", ".bz2"), ("xz", ".xz")):
        deb = hand_deb(
            tmp_path / f"t{suffix}.deb", tar_archive(lib_entries(libt.read_bytes()), comp), suffix
        )
        assert names(find_libraries(deb)) == {"/usr/lib/libok.so.1.0": "libok.so.1"}


def test_malicious_members_are_ignored(tmp_path: Path, libt: Path) -> None:
    elf = libt.read_bytes()
    entries = [
        tar_entry("./usr/lib/libok.so.1.0", elf),
        tar_entry("../../evil/libe.so.1", elf),
        tar_entry("./usr/lib/../../../libe2.so.1", elf),
        tar_entry("/abs/liba.so.1", elf),
        tar_entry("./usr/lib/libp.so.1", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
        tar_entry("./usr/lib/libq.so.1", type=tarfile.SYMTYPE, linkname="../../../../etc/passwd"),
        tar_entry(
            "./usr/lib/libc.so.6", type=tarfile.SYMTYPE, linkname="/lib/x86_64-linux-gnu/libc.so.6"
        ),
        tar_entry("./usr/lib/libl.so.1", type=tarfile.SYMTYPE, linkname="libl.so.1"),
        tar_entry("./usr/lib/libm.so.1", type=tarfile.SYMTYPE, linkname="libn.so.1"),
        tar_entry("./usr/lib/libn.so.1", type=tarfile.SYMTYPE, linkname="libm.so.1"),
        tar_entry("./usr/lib/libh.so.1", type=tarfile.LNKTYPE, linkname="../../etc/passwd"),
        tar_entry(
            "./usr/lib/libd.so.1", type=tarfile.SYMTYPE, linkname="sub/../../lib/./libok.so.1.0"
        ),
        tar_entry("./dev/libnull.so.1", type=tarfile.CHRTYPE),
    ]
    deb = hand_deb(tmp_path / "evil.deb", tar_archive(entries))
    before = sorted(p.name for p in tmp_path.iterdir())
    libs = find_libraries(deb)
    # The only link that reaches libok: libd.so.1 -> sub/../../lib/./libok.so.1.0.
    assert names(libs) == {"/usr/lib/libok.so.1.0": "libd.so.1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    listed = {m.name for m in read_members(deb)}
    assert not any("evil" in n or "libe" in n or "abs/" in n for n in listed)
    assert "usr/lib/libh.so.1" not in listed  # hardlink climbing out


def test_hardlinks_in_tar_give_hints(tmp_path: Path, libt: Path, libu: Path) -> None:
    entries = [
        tar_entry("./usr/lib/libu-2.0.so", libu.read_bytes()),
        tar_entry("./usr/lib/libu.so.2", type=tarfile.LNKTYPE, linkname="./usr/lib/libu-2.0.so"),
        tar_entry("./usr/lib/libt.so.1.2.3", libt.read_bytes()),
        tar_entry("./usr/lib/libt.so.1", type=tarfile.LNKTYPE, linkname="usr/lib/libt.so.1.2.3"),
        tar_entry("./usr/lib/libt.so.1.2", type=tarfile.SYMTYPE, linkname="/usr/lib/libt.so.1.2.3"),
    ]
    deb = hand_deb(tmp_path / "links.deb", tar_archive(entries, "xz"), ".xz")
    assert names(find_libraries(deb)) == {
        "/usr/lib/libt.so.1.2.3": "libt.so.1",  # the shortest versioned alias wins
        "/usr/lib/libu-2.0.so": "libu.so.2",  # unversioned file, versioned hardlink
    }


def test_symlinked_directories_inside_the_package(tmp_path: Path, libt: Path) -> None:
    entries = [
        tar_entry("./opt/real/libr.so.5.0", libt.read_bytes()),
        tar_entry("./usr/lib64", type=tarfile.SYMTYPE, linkname="../opt/real"),
        tar_entry("./usr/lib/libr.so.5", type=tarfile.SYMTYPE, linkname="../lib64/libr.so.5.0"),
    ]
    deb = hand_deb(tmp_path / "dirs.deb", tar_archive(entries))
    assert names(find_libraries(deb)) == {"/opt/real/libr.so.5.0": "libr.so.5"}


def test_compression_bomb_is_refused(tmp_path: Path) -> None:
    zeros = bytes(32 * 1024 * 1024)
    data = tar_archive([tar_entry("./usr/share/zeros", zeros)])
    assert len(data) < len(zeros) // 200  # highly compressible
    deb = hand_deb(tmp_path / "bomb.deb", data)
    assert find_libraries(deb) == []  # within the default limits: read and skipped
    with pytest.raises(PackageError) as exc:
        find_libraries(deb, limits=Limits(max_total=8 * 1024 * 1024))
    assert "compression bomb" in one_line(exc, deb)


def test_member_claiming_a_huge_size_is_refused(tmp_path: Path) -> None:
    info = tarfile.TarInfo("./usr/lib/libbig.so.1")
    info.size = 5 << 30  # 5 GiB announced, 16 bytes present
    raw = info.tobuf(format=tarfile.GNU_FORMAT) + b"\x7fELF" + bytes(12)
    deb = hand_deb(tmp_path / "big.deb", gzip.compress(raw), ".gz")
    with pytest.raises(PackageError) as exc:
        find_libraries(deb)
    msg = one_line(exc, deb)
    assert "libbig.so.1" in msg
    assert str(5 << 30) in msg


def test_huge_pax_header_is_refused(tmp_path: Path) -> None:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = 200 << 20
    raw = info.tobuf(format=tarfile.GNU_FORMAT) + bytes(1024)
    deb = hand_deb(tmp_path / "pax.deb", gzip.compress(raw), ".gz")
    with pytest.raises(PackageError) as exc:
        find_libraries(deb)
    assert "meta header" in one_line(exc, deb)


def test_member_count_limit(tmp_path: Path) -> None:
    data = tar_archive([tar_entry(f"./f{i}", b"x") for i in range(30)])
    deb = hand_deb(tmp_path / "many.deb", data)
    assert find_libraries(deb, limits=Limits(max_members=30)) == []
    with pytest.raises(PackageError) as exc:
        find_libraries(deb, limits=Limits(max_members=29))
    assert "more than 29 members" in one_line(exc, deb)


def test_truncated_deb_at_every_cut(tmp_path: Path, libt: Path) -> None:
    data = tar_archive(lib_entries(libt.read_bytes()), "xz")
    whole = hand_deb(tmp_path / "whole.deb", data, ".xz").read_bytes()
    cut = tmp_path / "cut.deb"
    end = len(whole) - len(data) % 2  # a missing final ar padding byte is harmless
    step = max(1, end // 120)
    for size in [*range(1, end, step), end - 1]:
        cut.write_bytes(whole[:size])
        with pytest.raises(PackageError) as exc:
            find_libraries(cut)
        one_line(exc, cut)
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(PackageError) as exc:
        find_libraries(cut)
    assert "truncated" in one_line(exc, cut)


@pytest.mark.parametrize("compression", ["gz", "xz", "bz2", "zst"])
def test_corrupt_data_is_a_package_error(tmp_path: Path, libt: Path, compression: str) -> None:
    data = bytearray(tar_archive(lib_entries(libt.read_bytes()), compression))
    data[len(data) // 2] ^= 0xFF
    deb = hand_deb(tmp_path / "flip.deb", bytes(data), f".{compression}")
    with pytest.raises(PackageError) as exc:
        find_libraries(deb)
    assert f"data.tar.{compression}" in one_line(exc, deb)


@pytest.mark.parametrize(
    ("compression", "compress"), [("xz", lzma.compress), ("bz2", bz2.compress)]
)
def test_concatenated_streams_and_xz_padding_are_read_whole(
    tmp_path: Path, libt: Path, compression: str, compress: Callable[[bytes], bytes]
) -> None:
    """xz and bzip2 allow several streams in a row (and xz null padding after one), as
    pxz/pbzip2 write them; every stream is read, as xz -d and bunzip2 do."""
    raw = tar_archive(lib_entries(libt.read_bytes()), "")
    cut = len(raw) // 3
    data = compress(raw[:cut]) + compress(raw[cut:])
    if compression == "xz":
        data += bytes(8)
    deb = hand_deb(tmp_path / f"multi.{compression}.deb", data, f".{compression}")
    (lib,) = find_libraries(deb)
    assert lib.data == libt.read_bytes()


def test_corrupt_tar_header_is_not_a_silent_end(tmp_path: Path, libt: Path) -> None:
    raw = bytearray(
        tar_archive([tar_entry("./a", b"x" * 600), *lib_entries(libt.read_bytes())], "")
    )
    raw[1536 + 148 : 1536 + 156] = b"0000000\0"  # checksum of the second header
    deb = hand_deb(tmp_path / "hdr.deb", gzip.compress(bytes(raw)), ".gz")
    with pytest.raises(PackageError) as exc:
        find_libraries(deb)
    assert "corrupt tar header" in one_line(exc, deb)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (os.urandom(4096), "not a Debian package"),
        (b"", "empty file"),
        (
            b"!<arch>\nrandom garbage that is not an ar header at all, padding......",
            "corrupt ar header",
        ),
        (ar_archive([("debian-binary", b"2.0\n"), ("control.tar.gz", b"")]), "no data.tar"),
        (ar_archive([("debian-binary", b"3.0\n")]), "not 2.x"),
    ],
)
def test_not_a_deb(tmp_path: Path, content: bytes, expected: str) -> None:
    deb = tmp_path / "bad.deb"
    deb.write_bytes(content)
    with pytest.raises(PackageError) as exc:
        find_libraries(deb)
    assert expected in one_line(exc, deb)


def test_static_library_is_not_a_deb(tmp_path: Path) -> None:
    if shutil.which("ar") is None or shutil.which("gcc") is None:
        pytest.skip("binutils/gcc missing")
    (tmp_path / "s.c").write_text("int s(void) { return 0; }\n")
    subprocess.run(["gcc", "-c", "-o", str(tmp_path / "s.o"), str(tmp_path / "s.c")], check=True)
    lib = tmp_path / "libs.a"
    subprocess.run(["ar", "rcs", str(lib), str(tmp_path / "s.o")], check=True)
    with pytest.raises(PackageError) as exc:
        find_libraries(lib)
    assert "static library" in one_line(exc, lib)


def test_missing_and_special_paths(tmp_path: Path) -> None:
    with pytest.raises(PackageError) as exc:
        find_libraries(tmp_path / "nope.deb")
    assert "No such file" in one_line(exc, tmp_path / "nope.deb")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(PackageError) as exc:
        find_libraries(text)
    assert "not an ELF file" in one_line(exc, text)
    with pytest.raises(PackageError):
        read_deb_control_file(text, "symbols")


# --------------------------------------------------------------------------- trees, files


def test_directory_tree(tmp_path: Path, libt: Path, libu: Path) -> None:
    root = tmp_path / "tree"
    lib = root / "usr" / "lib"
    lib.mkdir(parents=True)
    shutil.copy(libt, lib / "libt.so.1.2.3")
    (lib / "libt.so.1").symlink_to("libt.so.1.2.3")
    (lib / "libt.so").symlink_to("libt.so.1")
    shutil.copy(libu, lib / "libu-2.0.so")
    (lib / "libu.so.2").symlink_to("/usr/lib/libu-2.0.so")  # absolute: inside the tree
    shutil.copy(libt, lib / "libv.so.3")  # versioned file, no link
    shutil.copy(libt, lib / "plugin.so")  # unversioned, no link: not a library
    (lib / "libfake.so.1").write_text("text\n")
    (lib / "libc.so.6").symlink_to("/lib/x86_64-linux-gnu/libc.so.6")  # real fs only
    (lib / "libup.so.9").symlink_to("../../../outside.so.9")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(libt, outside / "libout.so.1")
    (outside / "libout2.so.1").symlink_to("libout.so.1")
    (tmp_path / "outside.so.9").write_bytes(libt.read_bytes())
    (root / "escape").symlink_to(outside)  # a symlinked directory: never walked
    os.link(lib / "libu-2.0.so", lib / "libu-hard.so")  # a hardlink: still one library
    libs = find_libraries(root)
    assert names(libs) == {
        "/usr/lib/libt.so.1.2.3": "libt.so.1",
        "/usr/lib/libu-2.0.so": "libu.so.2",
        "/usr/lib/libv.so.3": None,
    }
    by_name = {x.name: x for x in libs}
    assert by_name["/usr/lib/libt.so.1.2.3"].origin == str(lib / "libt.so.1.2.3")
    assert by_name["/usr/lib/libu-2.0.so"].data == libu.read_bytes()
    listed = {m.name for m in read_members(root)}
    assert "escape" in listed
    assert not any(n.startswith("escape/") for n in listed)


def test_directory_tree_limits(tmp_path: Path, libt: Path) -> None:
    for i in range(5):
        shutil.copy(libt, tmp_path / f"lib{i}.so.1")
    assert len(find_libraries(tmp_path)) == 5
    with pytest.raises(PackageError) as exc:
        find_libraries(tmp_path, limits=Limits(max_members=4))
    assert "more than 4 entries" in one_line(exc, tmp_path)
    with pytest.raises(PackageError) as exc:
        find_libraries(tmp_path, limits=Limits(max_total=3 * libt.stat().st_size))
    assert "more than" in one_line(exc, tmp_path)


def test_single_elf_file(tmp_path: Path, libt: Path) -> None:
    libs = find_libraries(libt)
    assert names(libs) == {"libt.so.1.2.3": None}
    assert libs[0].data == libt.read_bytes()
    link = tmp_path / "libt.so.1"
    link.symlink_to(libt)
    assert names(find_libraries(link)) == {"libt.so.1": "libt.so.1"}
    with pytest.raises(PackageError):
        list(read_members(libt))


# --------------------------------------------------------------------------- .rpm


def rpm_header(tags: list[tuple[int, int, bytes, int]]) -> bytes:
    index, store = b"", b""
    for tag, typ, data, count in tags:
        if typ == 4:
            store += bytes(-len(store) % 4)
        index += struct.pack(">IIII", tag, typ, len(store), count)
        store += data
    return (
        b"\x8e\xad\xe8\x01" + bytes(4) + struct.pack(">II", len(tags), len(store)) + index + store
    )


def hand_rpm(payload: bytes, compressor: bytes = b"gzip") -> bytes:
    lead = b"\xed\xab\xee\xdb\x03\x00" + struct.pack(">hh", 0, 1) + b"t".ljust(66, b"\0")
    lead += struct.pack(">hh", 1, 5) + bytes(16)
    sig = rpm_header([(1000, 7, b"\x01\x02\x03", 3)])  # 35 bytes: padded to 40
    sig += bytes(-len(sig) % 8)
    main = rpm_header(
        [
            (1000, 6, b"libt\0", 1),
            (1001, 6, b"1.2.3\0", 1),
            (1002, 6, b"4.fc40\0", 1),
            (1003, 4, struct.pack(">I", 2), 1),
            (1022, 6, b"x86_64\0", 1),
            (1124, 6, b"cpio\0", 1),
            (1125, 6, compressor + b"\0", 1),
        ]
    )
    return lead + sig + main + payload


def cpio(entries: list[tuple[str, int, bytes, int, int]], magic: bytes = b"070701") -> bytes:
    out = b""
    for name, mode, data, ino, nlink in [*entries, ("TRAILER!!!", 0, b"", 0, 1)]:
        raw = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, nlink, 0, len(data), 8, 1, 0, 0, len(raw), 0]
        out += magic + b"".join(b"%08x" % v for v in fields) + raw
        out += bytes(-(110 + len(raw)) % 4) + data + bytes(-len(data) % 4)
    return out


REG, LNK, DIR = 0o100755, 0o120777, 0o040755


def test_hand_made_rpm_with_hardlinks(tmp_path: Path, libt: Path, libu: Path) -> None:
    elf = libt.read_bytes()
    payload = cpio(
        [
            ("./usr", DIR, b"", 1, 2),
            ("./usr/lib64/libt.so.1.2.3", REG, elf, 2, 1),
            ("./usr/lib64/libt.so.1", LNK, b"libt.so.1.2.3", 3, 1),
            ("./usr/lib64/libu.so.2", REG, b"", 4, 2),  # hardlink: data on the last link
            ("./usr/lib64/libu-impl.so", REG, libu.read_bytes(), 4, 2),
            ("../../etc/libx.so.1", REG, elf, 5, 1),
            ("./usr/lib64/libp.so.1", LNK, b"/etc/passwd", 6, 1),
        ]
    )
    rpm = tmp_path / "libt-1.2.3-4.fc40.x86_64.rpm"
    rpm.write_bytes(hand_rpm(gzip.compress(payload)))
    libs = find_libraries(rpm)
    assert names(libs) == {
        "/usr/lib64/libt.so.1.2.3": "libt.so.1",
        "/usr/lib64/libu-impl.so": "libu.so.2",
    }
    assert {x.name: x.data for x in libs}["/usr/lib64/libu-impl.so"] == libu.read_bytes()
    assert libs[0].origin == f"{rpm.name}:/usr/lib64/libt.so.1.2.3"
    meta = rpm_metadata(rpm)
    assert (meta["Name"], meta["Version"], meta["Release"], meta["Epoch"], meta["Arch"]) == (
        "libt",
        "1.2.3",
        "4.fc40",
        "2",
        "x86_64",
    )


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (gzip.compress(cpio([("./a", REG, b"x", 1, 1)], magic=b"07070X")), "stripped cpio"),
        (gzip.compress(cpio([("./a", REG, b"x", 1, 1)], magic=b"070707")), "corrupt cpio header"),
        (
            gzip.compress(cpio([("./usr/lib/libq.so.1", REG, b"\x7fELF" + bytes(64), 1, 1)])[:150]),
            "truncated",
        ),
        (gzip.compress(cpio([("./a", REG, bytes(range(256)) * 8, 1, 1)]))[:200], "end-of-stream"),
        (b"PK\x03\x04 not a known compression", "unknown rpm payload compression"),
    ],
)
def test_bad_rpm_payloads(tmp_path: Path, payload: bytes, expected: str) -> None:
    rpm = tmp_path / "bad.rpm"
    rpm.write_bytes(hand_rpm(payload))
    with pytest.raises(PackageError) as exc:
        find_libraries(rpm)
    assert expected in one_line(exc, rpm)


def test_bad_rpm_headers(tmp_path: Path) -> None:
    good = hand_rpm(gzip.compress(cpio([])))
    rpm = tmp_path / "bad.rpm"
    for cut in range(1, 200, 7):
        rpm.write_bytes(good[:cut])
        with pytest.raises(PackageError) as exc:
            find_libraries(rpm)
        one_line(exc, rpm)
    rpm.write_bytes(good[:96] + b"\x00" * 16 + good[112:])
    with pytest.raises(PackageError) as exc:
        rpm_metadata(rpm)
    assert "bad magic" in one_line(exc, rpm)
    rpm.write_bytes(good)
    assert find_libraries(rpm) == []


@pytest.mark.parametrize("payload", ["w9.gzdio", "w6.xzdio", "w19.zstdio"])
def test_rpm_from_rpmbuild(tmp_path: Path, libt: Path, payload: str) -> None:
    if shutil.which("rpmbuild") is None:
        pytest.skip("rpmbuild is not installed (apt-get install rpm)")
    spec = tmp_path / "libt.spec"
    spec.write_text(
        "Name: libt\nVersion: 1.2.3\nRelease: 4\nSummary: test\nLicense: MIT\n"
        "%description\ntest\n%install\nmkdir -p %{buildroot}/usr/lib64\n"
        f"cp {libt} %{{buildroot}}/usr/lib64/libt.so.1.2.3\n"
        "ln -s libt.so.1.2.3 %{buildroot}/usr/lib64/libt.so.1\n"
        "ln -s libt.so.1 %{buildroot}/usr/lib64/libt.so\n"
        "%files\n/usr/lib64/libt.so.1.2.3\n/usr/lib64/libt.so.1\n/usr/lib64/libt.so\n"
    )
    defines = {
        "_topdir": str(tmp_path / "top"),
        "__os_install_post": "%{nil}",  # keep the library unstripped: byte-for-byte oracle
        "debug_package": "%{nil}",
        "_build_id_links": "none",
        "_binary_payload": payload,
    }
    cmd = ["rpmbuild", "-bb", "--quiet"]
    for key, value in defines.items():
        cmd += ["--define", f"{key} {value}"]
    subprocess.run([*cmd, str(spec)], check=True, capture_output=True)
    (rpm,) = (tmp_path / "top" / "RPMS").rglob("*.rpm")
    libs = find_libraries(rpm)
    assert names(libs) == {"/usr/lib64/libt.so.1.2.3": "libt.so.1"}
    assert libs[0].data == libt.read_bytes()
    query = subprocess.run(
        [
            "rpm",
            "-qp",
            "--qf",
            "%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{PAYLOADCOMPRESSOR}",
            str(rpm),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    meta = rpm_metadata(rpm)
    assert [
        meta["Name"],
        meta["Version"],
        meta["Release"],
        meta["Arch"],
        meta["PayloadCompressor"],
    ] == query


# --------------------------------------------------------------------------- fetch script


def fetch_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fetch_debian", ROOT / "scripts" / "fetch_debian.py"
    )
    assert spec is not None and spec.loader is not None
    module = sys.modules.get("fetch_debian")
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules["fetch_debian"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return module


MADISON = """\
  libvirt0 |   12.8.0-1 | http://deb.debian.org/debian sid/main amd64 Packages
  libvirt0 | 11.3.0-2~bpo12+1 | http://deb.debian.org/debian bookworm-backports/main amd64 Packages
  libvirt0 | 9.0.0-4+deb12u2 | http://deb.debian.org/debian bookworm/main amd64 Packages
libvirt-dev | 9.0.0-4+deb12u2 | http://deb.debian.org/debian bookworm/main amd64 Packages
libvirt-dev | 9.0.0-4+deb12u2 | http://deb.debian.org/debian bookworm/main Sources
"""


@pytest.mark.parametrize(
    ("suite", "expected"),
    [
        ("bookworm", {"libvirt0": "9.0.0-4+deb12u2", "libvirt-dev": "9.0.0-4+deb12u2"}),
        ("bookworm-backports", {"libvirt0": "11.3.0-2~bpo12+1"}),
        ("sid", {"libvirt0": "12.8.0-1"}),
        ("trixie", {}),
    ],
)
def test_madison_picks_the_exact_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suite: str, expected: dict[str, str]
) -> None:
    fd = fetch_script()
    state = fd.AptState(tmp_path, suite, "amd64", "http://deb.debian.org/debian", "main", "k")
    monkeypatch.setattr(state, "run", lambda *a, **k: MADISON)
    assert state.madison(["libvirt0", "libvirt-dev"]) == expected


def test_upstream_of() -> None:
    fd = fetch_script()
    assert fd.upstream_of("9.0.0-4+deb12u2") == "9.0.0"
    assert fd.upstream_of("1:11.3.0-2~bpo12+1") == "11.3.0"
    assert fd.upstream_of("7.0.0") == "7.0.0"


def test_fetch_script_unreachable_archive(tmp_path: Path) -> None:
    if shutil.which("apt-get") is None:
        pytest.skip("apt-get is not installed")
    if not Path("/usr/share/keyrings/debian-archive-keyring.gpg").is_file():
        pytest.skip("debian-archive-keyring is not installed")
    cmd = [sys.executable, str(ROOT / "scripts" / "fetch_debian.py"), "--cache", str(tmp_path)]
    cmd += ["--mirror", "http://127.0.0.1:9/debian", "--suite", "bookworm"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("fetch_debian: error: apt-get update failed for bookworm/amd64")
    assert "127.0.0.1" in last
    sources = (tmp_path / "apt" / "bookworm" / "amd64" / "sources.list").read_text()
    assert sources.startswith("deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ")


# --------------------------------------------------------------------------- real packages

LIBVIRT_SONAMES = {"libvirt.so.0", "libvirt-qemu.so.0", "libvirt-lxc.so.0", "libvirt-admin.so.0"}


def _dpkg_extract(deb: Path, dest: Path) -> Path:
    subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
    return dest


@pytest.mark.real
def test_real_bookworm_libvirt0(tmp_path: Path) -> None:
    deb = realdebs.require("bookworm", "amd64", "libvirt0")
    libs = find_libraries(deb)
    assert {x.soname_hint for x in libs} == LIBVIRT_SONAMES
    assert len(libs) == 4
    symbols = read_deb_control_file(deb, "symbols")
    assert symbols is not None
    assert b"libvirt.so.0 libvirt0 " in symbols
    meta = deb_metadata(deb)
    assert meta["Package"] == "libvirt0"
    assert meta["Architecture"] == "amd64"
    assert deb.name.startswith(f"libvirt0_{meta['Version']}_")
    if shutil.which("dpkg-deb") is not None:
        root = _dpkg_extract(deb, tmp_path / "x")
        for lib in libs:
            assert lib.data == (root / lib.name.lstrip("/")).read_bytes()
            assert (root / lib.name.lstrip("/")).with_name(str(lib.soname_hint)).resolve() == (
                root / lib.name.lstrip("/")
            )
    extracted = realdebs.extract_libs(deb, tmp_path / "libs")
    assert set(extracted) == LIBVIRT_SONAMES
    assert all(p.read_bytes()[:4] == b"\x7fELF" for p in extracted.values())


@pytest.mark.real
@pytest.mark.parametrize("suite", [s["suite"] for s in realdebs.releases()["suites"]])
def test_real_corpus_suites(suite: str) -> None:
    """Each suite of data/debian-releases.json carries the upstream release it records."""
    deb = realdebs.require(suite, "amd64", "libvirt0")
    assert {x.soname_hint for x in find_libraries(deb)} == LIBVIRT_SONAMES
    expected = {s["suite"]: s["upstream"] for s in realdebs.releases()["suites"]}[suite]
    version = deb_metadata(deb)["Version"]
    if expected is not None:
        upstream = version.split(":")[-1].rsplit("-", 1)[0]
        assert upstream.split(".")[:2] == expected.split(".")[:2], (suite, version, expected)


@pytest.mark.real
def test_real_libvirt_dev_has_only_dev_links() -> None:
    deb = realdebs.require("bookworm", "amd64", "libvirt-dev")
    assert find_libraries(deb) == []
    links = {m.name: m.link for m in read_members(deb) if m.kind is Kind.SYMLINK}
    assert links[f"{LIBDIR}/libvirt.so"] == "libvirt.so.0"


@pytest.mark.real
def test_real_big_endian_package() -> None:
    deb = realdebs.require("bookworm", "s390x", "libvirt0")
    libs = find_libraries(deb)
    assert {x.soname_hint for x in libs} == LIBVIRT_SONAMES
    assert all(x.name.startswith("/usr/lib/s390x-linux-gnu/") for x in libs)
    assert all(x.data[5] == 2 for x in libs)  # EI_DATA: ELFDATA2MSB
    digest = {hashlib.sha256(x.data).hexdigest() for x in libs}
    amd64 = realdebs.require("bookworm", "amd64", "libvirt0")
    assert digest.isdisjoint(hashlib.sha256(x.data).hexdigest() for x in find_libraries(amd64))


@pytest.mark.parametrize(
    ("version", "upstream"),
    [
        ("1:9.0.0-4+deb12u2", "9.0.0"),
        ("11.3.0-2~bpo12+1", "11.3.0"),
        ("12.8.0-1", "12.8.0"),
        ("7.0.0", "7.0.0"),
        ("3.2.0~rc1-1", "3.2.0"),
    ],
)
def test_debian_upstream(version: str, upstream: str) -> None:
    from elfaudit.readers.packages import debian_upstream

    assert debian_upstream(version) == upstream


def test_unversioned_library_names_like_libnss3_are_libraries(
    tmp_path: Path, build_lib: Callable[..., Path]
) -> None:
    """NSS ships ``libnss3.so`` (SONAME ``libnss3.so``) with no version suffix: a library
    directly in a library directory is one, a plugin in a subdirectory and a development
    symlink are not (the corpus found 27 NSS pairs elfaudit could not read)."""
    lib = build_lib("int n(void) { return 3; }\n", None, soname="libn3.so", name="libn3.so")
    root = tmp_path / "tree"
    libdir = root / "usr/lib/x86_64-linux-gnu"
    (libdir / "nss").mkdir(parents=True)
    shutil.copy(lib, libdir / "libn3.so")
    shutil.copy(lib, libdir / "nss" / "libplugin3.so")  # a module: not a library
    (libdir / "libdev.so").symlink_to("libn3.so")  # a -dev style link: not counted twice
    found = names(find_libraries(root))
    assert found == {"/usr/lib/x86_64-linux-gnu/libn3.so": None}
    [abi] = load_libraries(root)
    assert abi.soname == "libn3.so"
